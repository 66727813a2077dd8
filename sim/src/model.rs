//! The state of the simulated Atlas and its rules: projects, containers, peering connections,
//! Connect-via-Peering-Only mode, and how peerings move through their states on the
//! simulator's clock. No I/O: `http` turns requests into calls here and results into answers.
//!
//! Each rule names its source, a section of `shared/reference/atlas-network-peering.md` of this
//! project (`§9.2`, or "decision N" for its Part 1); the README has the table.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// An answer the API gives instead of a success: status, Atlas `errorCode`, `detail` and the
/// values substituted into it.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// Atlas's `errorCode`.
    pub code: &'static str,
    /// Atlas's `detail` sentence.
    pub detail: String,
    /// Atlas's `parameters`.
    pub parameters: Vec<Value>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            parameters: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, parameters: impl IntoIterator<Item = Value>) -> Self {
        self.parameters = parameters.into_iter().collect();
        self
    }

    /// Atlas's error object (§8.1).
    pub fn body(&self) -> Value {
        json!({
            "detail": self.detail,
            "error": self.status,
            "errorCode": self.code,
            "parameters": self.parameters,
            "reason": reason(self.status),
        })
    }
}

/// The HTTP reason phrase of `status`.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

type Result<T> = std::result::Result<T, ApiError>;

/// A cloud provider of network peering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl Provider {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "AWS",
            Provider::Gcp => "GCP",
            Provider::Azure => "AZURE",
        }
    }

    /// `providerName` as given: absent or `null` is AWS (decision 3, §3.2, §5.2); an unknown
    /// name is `INVALID_PROVIDER` (§8.2).
    pub(crate) fn parse(value: Option<&Value>) -> Result<Self> {
        match value {
            None | Some(Value::Null) => Ok(Provider::Aws),
            Some(Value::String(s)) => match s.as_str() {
                "AWS" => Ok(Provider::Aws),
                "GCP" => Ok(Provider::Gcp),
                "AZURE" => Ok(Provider::Azure),
                other => Err(ApiError::new(
                    400,
                    "INVALID_PROVIDER",
                    format!("No provider {other} exists."),
                )
                .with([json!(other)])),
            },
            Some(other) => Err(invalid_attribute("providerName", other)),
        }
    }
}

/// Where a peering connection stands, with the provider's own status names (§5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// AWS `INITIATING`, GCP and Azure `ADDING_PEER`.
    Adding,
    /// AWS `PENDING_ACCEPTANCE`, GCP `WAITING_FOR_USER`: the customer must act.
    WaitingForUser,
    /// AWS `FINALIZING`.
    Finalizing,
    /// `AVAILABLE`.
    Available,
    /// `FAILED`.
    Failed,
    /// AWS `TERMINATING`, GCP and Azure `DELETING`.
    Deleting,
}

/// One peering connection.
#[derive(Clone, Debug)]
pub struct Peer {
    pub(crate) id: String,
    pub(crate) provider: Provider,
    pub(crate) container_id: String,
    /// The writable fields as the request gave them (provider-specific names).
    pub(crate) fields: Map<String, Value>,
    pub(crate) stage: Stage,
    /// Virtual time the stage was entered.
    pub(crate) since: Duration,
    /// AWS `errorStateName`, GCP `errorMessage`, Azure `errorState`.
    pub(crate) error: Option<String>,
    /// AWS `connectionId`, once AWS made the connection.
    pub(crate) connection_id: Option<String>,
}

impl Peer {
    /// The status as the provider spells it (§5.6).
    pub fn status(&self) -> &'static str {
        match (self.provider, self.stage) {
            (Provider::Aws, Stage::Adding) => "INITIATING",
            (_, Stage::Adding) => "ADDING_PEER",
            (Provider::Aws, Stage::WaitingForUser) => "PENDING_ACCEPTANCE",
            (_, Stage::WaitingForUser) => "WAITING_FOR_USER",
            (_, Stage::Finalizing) => "FINALIZING",
            (_, Stage::Available) => "AVAILABLE",
            (_, Stage::Failed) => "FAILED",
            (Provider::Aws, Stage::Deleting) => "TERMINATING",
            (_, Stage::Deleting) => "DELETING",
        }
    }

    /// The entry as Atlas sends it (§5.2–§5.4).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("providerName".into(), json!(self.provider.as_str()));
        out.insert("containerId".into(), json!(self.container_id));
        out.extend(self.fields.clone());
        let error = json!(self.error);
        match self.provider {
            Provider::Aws => {
                out.insert("connectionId".into(), json!(self.connection_id));
                out.insert("statusName".into(), json!(self.status()));
                out.insert("errorStateName".into(), error);
            }
            Provider::Gcp => {
                out.insert("status".into(), json!(self.status()));
                out.insert("errorMessage".into(), error);
            }
            Provider::Azure => {
                out.insert("status".into(), json!(self.status()));
                out.insert("errorState".into(), error);
            }
        }
        Value::Object(out)
    }
}

/// One peering container.
#[derive(Clone, Debug)]
pub struct Container {
    pub(crate) id: String,
    pub(crate) provider: Provider,
    pub(crate) cidr: Cidr,
    /// AWS `regionName`, Azure `region`.
    pub(crate) region: Option<String>,
    /// GCP `regions`.
    pub(crate) regions: Option<Vec<String>>,
    pub(crate) provisioned: bool,
    /// AWS `vpcId`, GCP `gcpProjectId` and `networkName`, Azure `azureSubscriptionId` and
    /// `vnetName`: what Atlas fills in.
    pub(crate) filled: Map<String, Value>,
}

impl Container {
    /// The entry as Atlas sends it (§3.2–§3.4).
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("providerName".into(), json!(self.provider.as_str()));
        out.insert("atlasCidrBlock".into(), json!(self.cidr.to_string()));
        out.insert("provisioned".into(), json!(self.provisioned));
        match self.provider {
            Provider::Aws => {
                out.insert("regionName".into(), json!(self.region));
            }
            Provider::Azure => {
                out.insert("region".into(), json!(self.region));
            }
            Provider::Gcp => {
                if let Some(regions) = &self.regions {
                    out.insert("regions".into(), json!(regions));
                }
            }
        }
        out.extend(self.filled.clone());
        Value::Object(out)
    }
}

/// An IPv4 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Self {
            addr: addr.parse().ok()?,
            prefix,
        })
    }

    fn mask(self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    fn canonical(self) -> Self {
        Self {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    fn is_private(self) -> bool {
        let inside = |net: [u8; 4], prefix: u8| {
            let net = Cidr {
                addr: Ipv4Addr::from(net),
                prefix,
            };
            self.prefix >= prefix && u32::from(self.addr) & net.mask() == u32::from(net.addr)
        };
        inside([10, 0, 0, 0], 8) || inside([172, 16, 0, 0], 12) || inside([192, 168, 0, 0], 16)
    }

    fn overlaps(self, other: Cidr) -> bool {
        let mask = self.mask() & other.mask();
        u32::from(self.addr) & mask == u32::from(other.addr) & mask
    }
}

/// One project ("group").
#[derive(Clone, Debug, Default)]
pub struct Project {
    pub(crate) containers: Vec<Container>,
    pub(crate) peers: Vec<Peer>,
    pub(crate) private_ip_mode: bool,
}

/// How long each automatic step of a peering's lifecycle takes on the simulator's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// `INITIATING`/`ADDING_PEER` until the next state.
    pub adding: Duration,
    /// AWS `FINALIZING` until `AVAILABLE`.
    pub finalizing: Duration,
    /// `TERMINATING`/`DELETING` until the connection is gone.
    pub deleting: Duration,
    /// When set, the customer accepts a pending peering this long after it started waiting.
    pub auto_accept: Option<Duration>,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            adding: Duration::from_secs(30),
            finalizing: Duration::from_secs(30),
            deleting: Duration::from_secs(30),
            auto_accept: None,
        }
    }
}

/// The whole simulated Atlas.
#[derive(Debug)]
pub struct World {
    pub(crate) projects: BTreeMap<String, Project>,
    pub(crate) timings: Timings,
    next_id: u64,
    seed: u64,
}

fn invalid_attribute(name: &str, value: &Value) -> ApiError {
    ApiError::new(
        400,
        "INVALID_ATTRIBUTE",
        format!("Invalid attribute {name} specified."),
    )
    .with([json!(name), value.clone()])
}

fn missing_attribute(name: &str) -> ApiError {
    ApiError::new(
        400,
        "MISSING_ATTRIBUTE",
        format!("The required attribute {name} was not specified."),
    )
    .with([json!(name)])
}

/// A string field of a request body: required or optional.
fn string(body: &Map<String, Value>, name: &str, required: bool) -> Result<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) if required => Err(missing_attribute(name)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid_attribute(name, other)),
    }
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The regions each provider knows (§3.2–§3.4). A region outside them is `INVALID_REGION`.
#[rustfmt::skip]
const AWS_REGIONS: &[&str] = &[
    "US_EAST_1", "US_EAST_2", "US_WEST_1", "US_WEST_2", "CA_CENTRAL_1", "EU_NORTH_1",
    "EU_WEST_1", "EU_WEST_2", "EU_WEST_3", "EU_CENTRAL_1", "EU_CENTRAL_2", "SA_EAST_1",
    "AP_EAST_1", "AP_EAST_2", "AP_SOUTHEAST_2", "AP_SOUTHEAST_3", "AP_SOUTHEAST_4",
    "AP_SOUTHEAST_5", "AP_SOUTHEAST_6", "AP_SOUTHEAST_7", "AP_NORTHEAST_1", "AP_NORTHEAST_2",
    "AP_NORTHEAST_3", "AP_SOUTHEAST_1", "AP_SOUTH_1", "AP_SOUTH_2", "CN_NORTH_1",
    "CN_NORTHWEST_1", "ME_CENTRAL_1", "ME_SOUTH_1", "AF_SOUTH_1", "EU_SOUTH_1", "EU_SOUTH_2",
    "IL_CENTRAL_1", "CA_WEST_1", "MX_CENTRAL_1", "GLOBAL", "US_GOV_WEST_1", "US_GOV_EAST_1",
];
#[rustfmt::skip]
const GCP_REGIONS: &[&str] = &[
    "AFRICA_SOUTH_1", "ASIA_EAST_2", "ASIA_NORTHEAST_2", "ASIA_NORTHEAST_3", "ASIA_SOUTH_1",
    "ASIA_SOUTH_2", "ASIA_SOUTHEAST_2", "AUSTRALIA_SOUTHEAST_1", "AUSTRALIA_SOUTHEAST_2",
    "CENTRAL_US", "EASTERN_ASIA_PACIFIC", "EASTERN_US", "EUROPE_CENTRAL_2", "EUROPE_NORTH_1",
    "EUROPE_WEST_2", "EUROPE_WEST_3", "EUROPE_WEST_4", "EUROPE_WEST_6", "EUROPE_WEST_10",
    "EUROPE_WEST_12", "MIDDLE_EAST_CENTRAL_1", "MIDDLE_EAST_CENTRAL_2", "MIDDLE_EAST_WEST_1",
    "NORTH_AMERICA_NORTHEAST_1", "NORTH_AMERICA_NORTHEAST_2", "NORTH_AMERICA_SOUTH_1",
    "NORTHEASTERN_ASIA_PACIFIC", "SOUTH_AMERICA_EAST_1", "SOUTH_AMERICA_WEST_1",
    "SOUTHEASTERN_ASIA_PACIFIC", "US_EAST_4", "US_EAST_5", "US_WEST_2", "US_WEST_3",
    "US_WEST_4", "US_SOUTH_1", "WESTERN_EUROPE", "WESTERN_US",
];
#[rustfmt::skip]
const AZURE_REGIONS: &[&str] = &[
    "US_CENTRAL", "US_EAST", "US_EAST_2", "US_EAST_2_EUAP", "US_NORTH_CENTRAL", "US_WEST",
    "US_SOUTH_CENTRAL", "EUROPE_NORTH", "EUROPE_WEST", "US_WEST_CENTRAL", "US_WEST_2",
    "US_WEST_3", "CANADA_EAST", "CANADA_CENTRAL", "BRAZIL_SOUTH", "BRAZIL_SOUTHEAST",
    "AUSTRALIA_EAST", "AUSTRALIA_SOUTH_EAST", "AUSTRALIA_CENTRAL", "AUSTRALIA_CENTRAL_2",
    "UAE_NORTH", "GERMANY_WEST_CENTRAL", "GERMANY_NORTH", "SWITZERLAND_NORTH",
    "SWITZERLAND_WEST", "SWEDEN_CENTRAL", "SWEDEN_SOUTH", "UK_SOUTH", "UK_WEST",
    "INDIA_CENTRAL", "INDIA_WEST", "INDIA_SOUTH", "CHINA_EAST", "CHINA_NORTH", "ASIA_EAST",
    "JAPAN_EAST", "JAPAN_WEST", "ASIA_SOUTH_EAST", "KOREA_CENTRAL", "KOREA_SOUTH",
    "FRANCE_CENTRAL", "FRANCE_SOUTH", "SOUTH_AFRICA_NORTH", "SOUTH_AFRICA_WEST", "NORWAY_EAST",
    "NORWAY_WEST", "UAE_CENTRAL", "QATAR_CENTRAL", "POLAND_CENTRAL", "ISRAEL_CENTRAL",
    "ITALY_NORTH", "SPAIN_CENTRAL", "MEXICO_CENTRAL", "NEW_ZEALAND_NORTH", "INDONESIA_CENTRAL",
    "MALAYSIA_WEST", "CHILE_CENTRAL", "US_GOV_VIRGINIA", "US_GOV_ARIZONA", "US_GOV_TEXAS",
];

fn region(provider: Provider, value: &str) -> Result<String> {
    let known = match provider {
        Provider::Aws => AWS_REGIONS,
        Provider::Gcp => GCP_REGIONS,
        Provider::Azure => AZURE_REGIONS,
    };
    if known.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::new(
            400,
            "INVALID_REGION",
            format!(
                "No region {value} exists for provider {}.",
                provider.as_str()
            ),
        )
        .with([json!(value), json!(provider.as_str())]))
    }
}

/// `atlasCidrBlock` by Atlas's rules (§9.2): IPv4 syntax, canonical, private, and the size
/// each provider allows; GCP regions each take a /24.
fn atlas_cidr(provider: Provider, text: &str, regions: Option<usize>) -> Result<Cidr> {
    let cidr = Cidr::parse(text).ok_or_else(|| {
        ApiError::new(
            400,
            "INVALID_CIDR_BLOCK",
            format!("The CIDR block {text} is not a valid IPv4 CIDR block."),
        )
        .with([json!(text)])
    })?;
    if cidr.canonical() != cidr {
        let canonical = cidr.canonical().to_string();
        return Err(ApiError::new(
            400,
            "ATLAS_NON_CANONICAL_CIDR_BLOCK",
            format!("The canonical form for the specified Atlas CIDR {text} is {canonical}."),
        )
        .with([json!(text), json!(canonical)]));
    }
    if !cidr.is_private() {
        return Err(ApiError::new(
            400,
            "ATLAS_INVALID_CIDR_RANGE",
            format!("Atlas CIDR {text} must be in private range."),
        )
        .with([json!(text)]));
    }
    let (allowed, wanted) = match (provider, regions) {
        (Provider::Gcp, None) => (cidr.prefix <= 18, "18 or larger".to_owned()),
        (Provider::Gcp, Some(n)) => (
            (21..=24).contains(&cidr.prefix) && n <= 1usize << (24 - cidr.prefix),
            format!("21 to /24 block with room for a /24 per region ({n})"),
        ),
        _ => ((21..=24).contains(&cidr.prefix), "21 to /24".to_owned()),
    };
    if !allowed {
        return Err(ApiError::new(
            400,
            "ATLAS_INVALID_CIDR_BLOCK",
            format!(
                "Atlas CIDR {text} must be a /{wanted} block for {}.",
                provider.as_str()
            ),
        )
        .with([json!(text), json!(wanted), json!(provider.as_str())]));
    }
    Ok(cidr)
}

/// The writable fields of each provider's peering connection, and which are required (§5.2–
/// §5.4 and our spec).
fn peer_fields(provider: Provider) -> &'static [(&'static str, bool)] {
    match provider {
        Provider::Aws => &[
            ("awsAccountId", true),
            ("vpcId", true),
            ("routeTableCidrBlock", true),
            ("accepterRegionName", false),
        ],
        Provider::Gcp => &[("gcpProjectId", true), ("networkName", true)],
        Provider::Azure => &[
            ("azureDirectoryId", true),
            ("azureSubscriptionId", true),
            ("resourceGroupName", true),
            ("vnetName", true),
            ("atlasCidrBlock", false),
        ],
    }
}

/// The fields that make a peering a duplicate of another, and the code Atlas answers (§8.2).
fn duplicate_key(provider: Provider) -> (&'static [&'static str], &'static str) {
    match provider {
        Provider::Aws => (&["awsAccountId", "vpcId"], "PEER_ALREADY_EXISTS"),
        Provider::Gcp => (&["gcpProjectId", "networkName"], "PEER_ALREADY_EXISTS_GCP"),
        Provider::Azure => (
            &["azureSubscriptionId", "vnetName"],
            "PEER_ALREADY_EXISTS_AZURE",
        ),
    }
}

/// Which page of a list to answer.
#[derive(Clone, Copy, Debug)]
pub struct PageQuery {
    /// 1-based.
    pub page_num: usize,
    /// 1 to 500.
    pub items_per_page: usize,
    /// Whether `totalCount` is sent.
    pub include_count: bool,
}

impl World {
    pub(crate) fn new(seed: u64, timings: Timings) -> Self {
        Self {
            projects: BTreeMap::new(),
            timings,
            next_id: 0,
            seed,
        }
    }

    /// A new 24-hex id: a per-simulator prefix and a counter, so ids are unique and ordered.
    pub(crate) fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!(
            "{:08x}{:016x}",
            (self.seed >> 32) as u32,
            self.seed.wrapping_add(self.next_id)
        )
    }

    fn hex(&mut self, len: usize) -> String {
        let id = self.new_id();
        id.chars().rev().cycle().take(len).collect()
    }

    /// The project, after moving its peerings forward to `now`; `GROUP_NOT_FOUND` or
    /// `INVALID_GROUP_ID` (§8.2) when there is none.
    pub(crate) fn project(&mut self, group: &str, now: Duration) -> Result<&mut Project> {
        if !is_object_id(group) {
            return Err(ApiError::new(
                404,
                "INVALID_GROUP_ID",
                format!("An invalid group ID {group} was specified."),
            )
            .with([json!(group)]));
        }
        let timings = self.timings;
        let project = self.projects.get_mut(group).ok_or_else(|| {
            ApiError::new(
                404,
                "GROUP_NOT_FOUND",
                format!("No group with ID {group} exists."),
            )
            .with([json!(group)])
        })?;
        settle(project, timings, now);
        Ok(project)
    }

    // ---- containers ------------------------------------------------------------------------

    pub(crate) fn create_container(
        &mut self,
        group: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let provider = Provider::parse(body.get("providerName"))?;
        let (cidr, region_value, regions) = self.container_fields(provider, body)?;
        let seed_hex = self.hex(17);
        let guid = self.hex(32);
        let id = self.new_id();
        let project = self.project(group, now)?;
        // One container per region for AWS and Azure, one per project for GCP (§2.3).
        let clash = project.containers.iter().any(|c| {
            c.provider == provider && (provider == Provider::Gcp || c.region == region_value)
        });
        if clash {
            return Err(ApiError::new(
                409,
                "CONTAINER_ALREADY_EXISTS",
                format!("A container already exists for group {group}."),
            )
            .with([json!(group)]));
        }
        overlap_check(project, cidr, None)?;
        let mut filled = Map::new();
        match provider {
            Provider::Aws => {
                filled.insert("vpcId".into(), json!(format!("vpc-{seed_hex}")));
            }
            Provider::Gcp => {
                filled.insert("gcpProjectId".into(), Value::Null);
                filled.insert("networkName".into(), Value::Null);
            }
            Provider::Azure => {
                let g = &guid;
                filled.insert(
                    "azureSubscriptionId".into(),
                    json!(format!(
                        "{}-{}-{}-{}-{}",
                        &g[..8],
                        &g[8..12],
                        &g[12..16],
                        &g[16..20],
                        &g[20..32]
                    )),
                );
                filled.insert("vnetName".into(), Value::Null);
            }
        }
        let container = Container {
            id,
            provider,
            cidr,
            region: region_value,
            regions,
            provisioned: false,
            filled,
        };
        let answer = container.to_json();
        project.containers.push(container);
        Ok(answer)
    }

    /// The writable fields of a container body: the block, the AWS/Azure region, the GCP
    /// regions.
    #[allow(clippy::type_complexity)]
    fn container_fields(
        &self,
        provider: Provider,
        body: &Map<String, Value>,
    ) -> Result<(Cidr, Option<String>, Option<Vec<String>>)> {
        let text = string(body, "atlasCidrBlock", true)?.unwrap_or_default();
        let (region_value, regions) = match provider {
            Provider::Aws => (
                Some(region(
                    provider,
                    &string(body, "regionName", true)?.unwrap_or_default(),
                )?),
                None,
            ),
            Provider::Azure => (
                Some(region(
                    provider,
                    &string(body, "region", true)?.unwrap_or_default(),
                )?),
                None,
            ),
            Provider::Gcp => match body.get("regions") {
                None | Some(Value::Null) => (None, None),
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        let Value::String(s) = item else {
                            return Err(invalid_attribute("regions", item));
                        };
                        out.push(region(provider, s)?);
                    }
                    (None, Some(out))
                }
                Some(other) => return Err(invalid_attribute("regions", other)),
            },
        };
        let cidr = atlas_cidr(provider, &text, regions.as_ref().map(Vec::len))?;
        Ok((cidr, region_value, regions))
    }

    fn container<'p>(project: &'p mut Project, id: &str) -> Result<&'p mut Container> {
        project
            .containers
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| container_not_found(id))
    }

    pub(crate) fn get_container(&mut self, group: &str, id: &str, now: Duration) -> Result<Value> {
        let project = self.project(group, now)?;
        Ok(Self::container(project, id)?.to_json())
    }

    pub(crate) fn update_container(
        &mut self,
        group: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let provider = Provider::parse(body.get("providerName"))?;
        let (cidr, region_value, regions) = self.container_fields(provider, body)?;
        let project = self.project(group, now)?;
        let existing = Self::container(project, id)?.clone();
        if existing.provider != provider {
            return Err(invalid_attribute("providerName", &json!(provider.as_str())));
        }
        // An in-use container cannot change (§2.5, §9.2).
        if in_use(project, id) {
            return Err(containers_in_use(id));
        }
        if region_value.is_some() && region_value != existing.region {
            return Err(ApiError::new(
                400,
                "CANNOT_CHANGE_CONTAINER_REGION",
                "The region of a cloud provider container cannot be changed.",
            ));
        }
        overlap_check(project, cidr, Some(id))?;
        let container = Self::container(project, id)?;
        container.cidr = cidr;
        if provider == Provider::Gcp {
            container.regions = regions;
        }
        Ok(container.to_json())
    }

    pub(crate) fn delete_container(&mut self, group: &str, id: &str, now: Duration) -> Result<()> {
        let project = self.project(group, now)?;
        Self::container(project, id)?;
        // A container with peerings or clusters cannot be deleted (§2.6, §8.2).
        if in_use(project, id) {
            return Err(containers_in_use(id));
        }
        project.containers.retain(|c| c.id != id);
        Ok(())
    }

    pub(crate) fn list_containers(
        &mut self,
        group: &str,
        provider: Option<Provider>,
        now: Duration,
    ) -> Result<Vec<Value>> {
        let project = self.project(group, now)?;
        Ok(project
            .containers
            .iter()
            .filter(|c| provider.is_none_or(|p| c.provider == p))
            .map(Container::to_json)
            .collect())
    }

    // ---- peering connections ---------------------------------------------------------------

    /// The writable fields of a peering body for `provider`, checked.
    fn peer_body(provider: Provider, body: &Map<String, Value>) -> Result<Map<String, Value>> {
        let mut fields = Map::new();
        for (name, required) in peer_fields(provider) {
            match body.get(*name) {
                Some(Value::Null) if *name == "accepterRegionName" => {
                    fields.insert((*name).into(), Value::Null);
                }
                _ => {
                    if let Some(value) = string(body, name, *required)? {
                        fields.insert((*name).into(), json!(value));
                    } else if *name == "accepterRegionName" {
                        // Required by the spec, null when it is the container's region (§5.2).
                        fields.insert((*name).into(), Value::Null);
                    }
                }
            }
        }
        if provider == Provider::Aws {
            let account = fields["awsAccountId"].as_str().unwrap_or_default();
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid_attribute("awsAccountId", &json!(account)));
            }
            // The customer's block must be private (§5.2, INVALID_ROUTE_TABLE_CIDR).
            let block = fields["routeTableCidrBlock"].as_str().unwrap_or_default();
            if !Cidr::parse(block).is_some_and(Cidr::is_private) {
                return Err(ApiError::new(
                    400,
                    "INVALID_ROUTE_TABLE_CIDR",
                    format!(
                        "The address {block} must be within the private ranges [\"10.0.0.0/8\", \"172.16.0.0/12\", \"192.168.0.0/16\"]."
                    ),
                )
                .with([json!(block)]));
            }
        }
        Ok(fields)
    }

    pub(crate) fn create_peer(
        &mut self,
        group: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let provider = Provider::parse(body.get("providerName"))?;
        let container_id = string(body, "containerId", true)?.unwrap_or_default();
        if !is_object_id(&container_id) {
            return Err(invalid_attribute("containerId", &json!(container_id)));
        }
        let fields = Self::peer_body(provider, body)?;
        let id = self.new_id();
        let project_id = format!("p-{}", self.hex(24));
        let network = format!("nt-{container_id}-{}", &self.hex(8));
        let project = self.project(group, now)?;
        if !project
            .containers
            .iter()
            .any(|c| c.id == container_id && c.provider == provider)
        {
            return Err(container_not_found(&container_id));
        }
        let (key, code) = duplicate_key(provider);
        let duplicate = project.peers.iter().any(|p| {
            p.provider == provider
                && p.stage != Stage::Deleting
                && key.iter().all(|k| p.fields.get(*k) == fields.get(*k))
        });
        if duplicate {
            let values: Vec<Value> = key.iter().map(|k| fields[*k].clone()).collect();
            return Err(ApiError::new(
                409,
                code,
                format!(
                    "The peer with {} {} already exists.",
                    key.join(" and "),
                    values
                        .iter()
                        .map(|v| v.as_str().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )
            .with(values));
        }
        // The GCP container's project and network are named with its first peering (§3.3).
        if provider == Provider::Gcp
            && let Some(c) = project.containers.iter_mut().find(|c| c.id == container_id)
            && c.filled.get("gcpProjectId") == Some(&Value::Null)
        {
            c.filled.insert("gcpProjectId".into(), json!(project_id));
            c.filled.insert("networkName".into(), json!(network));
        }
        let peer = Peer {
            id,
            provider,
            container_id,
            fields,
            stage: Stage::Adding,
            since: now,
            error: None,
            connection_id: None,
        };
        let answer = peer.to_json();
        project.peers.push(peer);
        Ok(answer)
    }

    fn peer<'p>(project: &'p mut Project, group: &str, id: &str) -> Result<&'p mut Peer> {
        if !is_object_id(id) {
            return Err(ApiError::new(
                404,
                "INVALID_PEER_ID",
                format!("An invalid peer ID {id} was specified."),
            )
            .with([json!(id)]));
        }
        project
            .peers
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "PEER_NOT_FOUND",
                    format!("No peer with ID {id} exists in project {group}."),
                )
                .with([json!(id), json!(group)])
            })
    }

    pub(crate) fn get_peer(&mut self, group: &str, id: &str, now: Duration) -> Result<Value> {
        let project = self.project(group, now)?;
        Ok(Self::peer(project, group, id)?.to_json())
    }

    pub(crate) fn update_peer(
        &mut self,
        group: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let provider = Provider::parse(body.get("providerName"))?;
        let fields = Self::peer_body(provider, body)?;
        let project = self.project(group, now)?;
        let peer = Self::peer(project, group, id)?;
        // A connection being deleted cannot change (§2.10, PEER_INVALID_STATE).
        if peer.provider != provider || peer.stage == Stage::Deleting {
            return Err(ApiError::new(
                409,
                "PEER_INVALID_STATE",
                format!(
                    "The peer with ID {id} in group {group} cannot be updated in its current state."
                ),
            )
            .with([json!(id), json!(group)]));
        }
        peer.fields = fields;
        Ok(peer.to_json())
    }

    pub(crate) fn delete_peer(&mut self, group: &str, id: &str, now: Duration) -> Result<()> {
        let project = self.project(group, now)?;
        let peer = Self::peer(project, group, id)?;
        if peer.stage == Stage::Deleting {
            return Err(ApiError::new(
                409,
                "PEER_ALREADY_REQUESTED_DELETION",
                format!("The peer with ID {id} has already been requested for deletion."),
            )
            .with([json!(id)]));
        }
        peer.stage = Stage::Deleting;
        peer.since = now;
        Ok(())
    }

    pub(crate) fn list_peers(
        &mut self,
        group: &str,
        provider: Provider,
        now: Duration,
    ) -> Result<Vec<Value>> {
        let project = self.project(group, now)?;
        Ok(project
            .peers
            .iter()
            .filter(|p| p.provider == provider)
            .map(Peer::to_json)
            .collect())
    }

    // ---- Connect via Peering Only ------------------------------------------------------------

    pub(crate) fn private_ip_mode(&mut self, group: &str, now: Duration) -> Result<Value> {
        Ok(json!({"enabled": self.project(group, now)?.private_ip_mode}))
    }

    pub(crate) fn set_private_ip_mode(
        &mut self,
        group: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let enabled = match body.get("enabled") {
            None | Some(Value::Null) => return Err(missing_attribute("enabled")),
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(invalid_attribute("enabled", other)),
        };
        let project = self.project(group, now)?;
        // The mode cannot change while clusters or peering connections exist (§6).
        let busy = project.containers.iter().any(|c| c.provisioned) || !project.peers.is_empty();
        if busy && enabled != project.private_ip_mode {
            return Err(ApiError::new(
                400,
                "CANNOT_UPDATE_PRIVATE_IP_MODE",
                format!(
                    "Group {group} has dedicated clusters, so private IP mode cannot be updated."
                ),
            )
            .with([json!(group)]));
        }
        project.private_ip_mode = enabled;
        Ok(json!({"enabled": enabled}))
    }
}

fn container_not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        "CLOUD_PROVIDER_CONTAINER_NOT_FOUND",
        format!("An invalid cloud provider container ID {id} was specified."),
    )
    .with([json!(id)])
}

fn containers_in_use(id: &str) -> ApiError {
    ApiError::new(
        409,
        "CONTAINERS_IN_USE",
        format!("Cannot modify in use containers. The container {id} has peering connections or clusters."),
    )
    .with([json!(id)])
}

fn in_use(project: &Project, id: &str) -> bool {
    project
        .containers
        .iter()
        .any(|c| c.id == id && c.provisioned)
        || project.peers.iter().any(|p| p.container_id == id)
}

/// Another container of the project whose block overlaps `cidr` (§8.2,
/// `OVERLAPPING_ATLAS_CIDR_BLOCK`).
fn overlap_check(project: &Project, cidr: Cidr, except: Option<&str>) -> Result<()> {
    if project
        .containers
        .iter()
        .any(|c| Some(c.id.as_str()) != except && c.cidr.overlaps(cidr))
    {
        let text = cidr.to_string();
        return Err(ApiError::new(
            409,
            "OVERLAPPING_ATLAS_CIDR_BLOCK",
            format!("The CIDR block {text} overlaps with an Atlas CIDR block."),
        )
        .with([json!(text)]));
    }
    Ok(())
}

/// How long an AWS peering request waits for the customer before AWS expires it: a week (AWS
/// VPC peering documentation, "VPC peering connection lifecycle": a request not accepted
/// within 7 days expires).
pub(crate) const AWS_REQUEST_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);

/// The automatic step a peering takes next, if any: when (virtual time), to which stage, with
/// which error. AWS `INITIATING → PENDING_ACCEPTANCE`, GCP `ADDING_PEER → WAITING_FOR_USER`,
/// Azure `ADDING_PEER → AVAILABLE`, AWS `FINALIZING → AVAILABLE`, an auto-accepted wait, an
/// AWS request that expires (`FAILED`, `EXPIRED`), and the end of a deletion (`None` stage:
/// the connection is gone). A model of Atlas's documented states, not a recording.
pub(crate) fn next_step(peer: &Peer, timings: Timings) -> Option<(Duration, Option<Stage>)> {
    let after = |d: Duration| peer.since + d;
    match (peer.provider, peer.stage) {
        (Provider::Azure, Stage::Adding) => Some((after(timings.adding), Some(Stage::Available))),
        (_, Stage::Adding) => Some((after(timings.adding), Some(Stage::WaitingForUser))),
        (provider, Stage::WaitingForUser) => {
            let accept = timings
                .auto_accept
                .map(|d| (after(d), Some(accepted(provider))));
            let expire = (provider == Provider::Aws)
                .then(|| (after(AWS_REQUEST_EXPIRES), Some(Stage::Failed)));
            match (accept, expire) {
                (Some(a), Some(e)) if e.0 < a.0 => Some(e),
                (Some(a), _) => Some(a),
                (None, e) => e,
            }
        }
        (_, Stage::Finalizing) => Some((after(timings.finalizing), Some(Stage::Available))),
        (_, Stage::Deleting) => Some((after(timings.deleting), None)),
        (_, Stage::Available | Stage::Failed) => None,
    }
}

/// Moves every peering of the project through the automatic steps due at `now`
/// ([`next_step`]); a deletion that ended removes the connection.
pub(crate) fn settle(project: &mut Project, timings: Timings, now: Duration) {
    project.peers.retain_mut(|peer| {
        while let Some((at, stage)) = next_step(peer, timings).filter(|(at, _)| *at <= now) {
            let Some(stage) = stage else {
                return false;
            };
            if stage == Stage::Failed {
                peer.error = Some("EXPIRED".to_owned());
            }
            move_to(peer, stage, at);
        }
        true
    });
}

/// What a pending peering becomes once the customer accepts it.
fn accepted(provider: Provider) -> Stage {
    match provider {
        Provider::Aws => Stage::Finalizing,
        _ => Stage::Available,
    }
}

/// Enters `stage` at `at`. An AWS peering gets its `connectionId` (the AWS peering request,
/// `pcx-` and 17 hexadecimal digits) when it starts waiting for the customer, and keeps it.
pub(crate) fn move_to(peer: &mut Peer, stage: Stage, at: Duration) {
    if peer.provider == Provider::Aws && stage == Stage::WaitingForUser {
        peer.connection_id = Some(pcx(&peer.id));
    }
    peer.stage = stage;
    peer.since = at;
}

/// The AWS peering request of the peering `id`: `pcx-` and the id's last 17 hexadecimal
/// digits (unique in one simulator, whose ids share their first 8 digits).
pub(crate) fn pcx(id: &str) -> String {
    format!("pcx-{}", &id[7..24])
}

/// The customer's answer to a pending peering, or the provider's failure.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Accept it (AWS: accept the VPC peering request; GCP: create the reciprocal peering).
    Accept,
    /// Reject it (AWS `errorStateName` `REJECTED`).
    Reject,
    /// Fail it with the provider's error state or message.
    Fail(String),
}

impl World {
    pub(crate) fn decide(&mut self, id: &str, verdict: Verdict, now: Duration) -> Option<()> {
        let timings = self.timings;
        for project in self.projects.values_mut() {
            settle(project, timings, now);
            let found = project
                .peers
                .iter_mut()
                .find(|p| p.id == id || p.connection_id.as_deref() == Some(id));
            if let Some(peer) = found {
                match verdict {
                    Verdict::Accept if peer.stage == Stage::WaitingForUser => {
                        move_to(peer, accepted(peer.provider), now);
                    }
                    Verdict::Accept => return None,
                    Verdict::Reject => {
                        peer.error = Some(match peer.provider {
                            Provider::Aws => "REJECTED".to_owned(),
                            _ => "The peering request was rejected.".to_owned(),
                        });
                        move_to(peer, Stage::Failed, now);
                    }
                    Verdict::Fail(reason) => {
                        peer.error = Some(reason);
                        move_to(peer, Stage::Failed, now);
                    }
                }
                return Some(());
            }
        }
        None
    }

    pub(crate) fn provision(&mut self, id: &str) -> Option<()> {
        for project in self.projects.values_mut() {
            if let Some(c) = project.containers.iter_mut().find(|c| c.id == id) {
                c.provisioned = true;
                if c.provider == Provider::Azure {
                    c.filled
                        .insert("vnetName".into(), json!(format!("vnet-{}", &id[16..])));
                }
                return Some(());
            }
        }
        None
    }

    pub(crate) fn peer_status(&mut self, id: &str, now: Duration) -> Option<&'static str> {
        let timings = self.timings;
        self.projects.values_mut().find_map(|project| {
            settle(project, timings, now);
            project.peers.iter().find(|p| p.id == id).map(Peer::status)
        })
    }
}

/// One page of `items` with Atlas's paging envelope (§4): `results`, `links` (`self`, and
/// `previous`/`next` when there are such pages) and `totalCount` unless `includeCount=false`.
pub(crate) fn page(items: Vec<Value>, query: PageQuery, href: impl Fn(usize) -> String) -> Value {
    let total = items.len();
    let start = (query.page_num - 1).saturating_mul(query.items_per_page);
    let results: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(query.items_per_page)
        .collect();
    let mut links = vec![json!({"href": href(query.page_num), "rel": "self"})];
    if query.page_num > 1 {
        links.insert(
            0,
            json!({"href": href(query.page_num - 1), "rel": "previous"}),
        );
    }
    if start + results.len() < total {
        links.push(json!({"href": href(query.page_num + 1), "rel": "next"}));
    }
    let mut out = json!({"links": links, "results": results});
    if query.include_count {
        out["totalCount"] = json!(total);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_rules() {
        let ok = |p, t, r| atlas_cidr(p, t, r).map(|c| c.to_string());
        assert_eq!(
            ok(Provider::Aws, "10.8.0.0/21", None),
            Ok("10.8.0.0/21".into())
        );
        assert_eq!(
            ok(Provider::Aws, "10.8.0.1/21", None).unwrap_err().code,
            "ATLAS_NON_CANONICAL_CIDR_BLOCK"
        );
        assert_eq!(
            ok(Provider::Aws, "8.8.0.0/21", None).unwrap_err().code,
            "ATLAS_INVALID_CIDR_RANGE"
        );
        assert_eq!(
            ok(Provider::Aws, "10.8.0.0/20", None).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK"
        );
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/18", None),
            Ok("10.64.0.0/18".into())
        );
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/21", None).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK"
        );
        assert!(ok(Provider::Gcp, "10.64.0.0/22", Some(4)).is_ok());
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/22", Some(5)).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK"
        );
        assert_eq!(
            ok(Provider::Azure, "nonsense", None).unwrap_err().code,
            "INVALID_CIDR_BLOCK"
        );
        let a = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(a.overlaps(Cidr::parse("10.0.8.0/21").unwrap()));
        assert!(!a.overlaps(Cidr::parse("10.1.0.0/21").unwrap()));
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let query = PageQuery {
            page_num: 2,
            items_per_page: 2,
            include_count: true,
        };
        let page = page(items, query, |n| format!("p{n}"));
        assert_eq!(page["results"], json!([2, 3]));
        assert_eq!(page["totalCount"], 5);
        assert_eq!(
            page["links"],
            json!([{"href": "p1", "rel": "previous"}, {"href": "p2", "rel": "self"}, {"href": "p3", "rel": "next"}])
        );
    }
}
