//! The state of the simulated Atlas and its rules: projects, containers, peering connections,
//! Connect-via-Peering-Only mode, and how peerings move through their states on the
//! simulator's clock. No I/O: `http` turns requests into calls here and results into answers.
//!
//! Error codes, statuses and message templates are Atlas's, from the public page "Atlas
//! Administration API Error Codes" (<https://www.mongodb.com/docs/atlas/reference/api-errors/>)
//! and the v1.0 OpenAPI document (`openapi/v1-deprecated/v1.json` in `mongodb/openapi`); the
//! sim README's rule table gives the source of each rule. Every peering, container and
//! project lookup is a map lookup, and automatic steps wait in a queue ordered by time, so
//! the cost of a request does not grow with the number of peerings (lists cost their page).

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

    /// Atlas's error object (`ApiError` of the spec).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// `providerName` as given: absent or `null` is AWS (Atlas's create pages: "If omitted,
    /// Atlas sets this parameter to AWS"); an unknown name is `INVALID_PROVIDER`.
    pub(crate) fn parse(value: Option<&Value>) -> Result<Self> {
        match value {
            None | Some(Value::Null) => Ok(Provider::Aws),
            Some(Value::String(s)) => match s.as_str() {
                "AWS" => Ok(Provider::Aws),
                "GCP" => Ok(Provider::Gcp),
                "AZURE" => Ok(Provider::Azure),
                other => Err(INVALID_PROVIDER.error([json!(other)])),
            },
            Some(other) => Err(invalid_attribute("providerName", other)),
        }
    }
}

/// Where a peering connection stands, with the provider's own status names.
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
    /// A deletion that failed: Azure `DELETION_FAILED`, AWS and GCP `FAILED`.
    DeletionFailed,
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
    /// AWS `connectionId`, from `PENDING_ACCEPTANCE` on.
    pub(crate) connection_id: Option<String>,
    /// When its next automatic step is due (its entry in `Project::due`).
    pub(crate) due: Option<Duration>,
}

impl Peer {
    /// The status as the provider spells it (the spec's `AwsPeerStatus`, `GcpPeerStatus`,
    /// `AzurePeerStatus`).
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
            (Provider::Azure, Stage::DeletionFailed) => "DELETION_FAILED",
            (_, Stage::DeletionFailed) => "FAILED",
        }
    }

    /// The entry as Atlas sends it.
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
    /// The entry as Atlas sends it.
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

/// The regions each provider knows (the v1.0 spec's enums). Another is `INVALID_REGION`.
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

impl Cidr {
    /// The first and last addresses of the block.
    fn range(self) -> (u32, u32) {
        let start = u32::from(self.addr) & self.mask();
        (start, start | !self.mask())
    }
}

fn region(provider: Provider, value: &str) -> Result<String> {
    let known = match provider {
        Provider::Aws => AWS_REGIONS,
        Provider::Gcp => GCP_REGIONS,
        Provider::Azure => AZURE_REGIONS,
    };
    if known.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(INVALID_REGION.error([json!(value), json!(provider.as_str())]))
    }
}

fn invalid_attribute(name: &str, value: &Value) -> ApiError {
    INVALID_ATTRIBUTE.error([json!(name), value.clone()])
}

fn missing_attribute(name: &str) -> ApiError {
    MISSING_ATTRIBUTE.error([json!(name)])
}

fn read_only(name: &str) -> ApiError {
    ATTRIBUTE_READ_ONLY.error([json!(name)])
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

/// `atlasCidrBlock` by Atlas's rules (Atlas docs, "Set Up a Network Peering Connection", and the
/// v1.0 spec's descriptions): IPv4 syntax, canonical, RFC 1918, AWS and Azure /21 to /24, GCP
/// /18 or larger, or /21 to /24 for a small container (one created with `regions`).
fn atlas_cidr(provider: Provider, text: &str, small: bool) -> Result<Cidr> {
    let cidr = Cidr::parse(text).ok_or_else(|| INVALID_CIDR_BLOCK.error([json!(text)]))?;
    if cidr.canonical() != cidr {
        let canonical = cidr.canonical().to_string();
        return Err(ATLAS_NON_CANONICAL_CIDR_BLOCK.error([json!(text), json!(canonical)]));
    }
    if !cidr.is_private() {
        return Err(ATLAS_INVALID_CIDR_RANGE.error([json!(text)]));
    }
    if provider == Provider::Gcp && small && !(21..=24).contains(&cidr.prefix) {
        return Err(ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER.error([json!(text)]));
    }
    let (allowed, wanted) = match provider {
        Provider::Gcp if !small => (cidr.prefix <= 18, "18 or larger"),
        Provider::Gcp => (true, ""),
        _ => ((21..=24).contains(&cidr.prefix), "21 to /24"),
    };
    if !allowed {
        return Err(ATLAS_INVALID_CIDR_BLOCK.error([
            json!(text),
            json!(wanted),
            json!(provider.as_str()),
        ]));
    }
    Ok(cidr)
}

/// A small GCP container's `regions`: at least one, no duplicates, at most one per /24 of the
/// block (a /21 holds 8, a /22 4, a /23 2, a /24 1: Atlas docs, "Set Up a Network Peering
/// Connection", Google Cloud: each region takes a /24). Otherwise `INVALID_ATTRIBUTE`
/// `regions`: Atlas publishes no code of its own for it (this model's assumption).
fn check_regions(regions: &[String], cidr: Cidr) -> Result<()> {
    let room = 1usize << (24 - cidr.prefix.clamp(21, 24));
    let distinct: BTreeSet<&String> = regions.iter().collect();
    if regions.is_empty() || distinct.len() != regions.len() || regions.len() > room {
        return Err(invalid_attribute("regions", &json!(regions)));
    }
    Ok(())
}

/// The writable fields of each provider's peering connection, and which are required (the
/// spec's `AwsPeer`, `GcpPeer`, `AzurePeer`).
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

/// The fields that make a peering a duplicate of another, the code Atlas answers and the words
/// of its message ("Atlas Administration API Error Codes").
fn duplicate_key(provider: Provider) -> ([&'static str; 2], &'static str, [&'static str; 2]) {
    match provider {
        Provider::Aws => (
            ["awsAccountId", "vpcId"],
            "PEER_ALREADY_EXISTS",
            ["AWS Account ID", "VPC ID"],
        ),
        Provider::Gcp => (
            ["gcpProjectId", "networkName"],
            "PEER_ALREADY_EXISTS_GCP",
            ["GCP Project ID", "network name"],
        ),
        Provider::Azure => (
            ["azureSubscriptionId", "vnetName"],
            "PEER_ALREADY_EXISTS_AZURE",
            ["Azure Subscription ID", "Virtual Network name"],
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

impl PageQuery {
    /// The page's items out of `items`, and how many there are in all.
    fn take<T>(self, items: impl Iterator<Item = T>) -> (Vec<T>, usize) {
        let start = (self.page_num - 1).saturating_mul(self.items_per_page);
        let mut total = 0;
        let mut page = Vec::new();
        for item in items {
            if total >= start && page.len() < self.items_per_page {
                page.push(item);
            }
            total += 1;
        }
        (page, total)
    }
}

/// One project ("group") and its indexes.
#[derive(Clone, Debug, Default)]
pub struct Project {
    pub(crate) containers: Vec<Container>,
    /// By id; ids grow, so this is creation order.
    peers: BTreeMap<String, Peer>,
    /// Provider and duplicate-key values of every peering not being deleted → its id.
    keys: HashMap<(Provider, String, String), String>,
    /// Per AWS container, the route blocks of its peerings not being deleted: first address →
    /// (last address, peering id). They never overlap each other.
    routes: HashMap<String, BTreeMap<u32, (u32, String)>>,
    /// How many peerings each container has (any state).
    counts: HashMap<String, usize>,
    /// The automatic steps waiting: (when, peering id); an entry whose time is no longer the
    /// peering's `due` is stale and skipped.
    due: BTreeSet<(Duration, String)>,
    pub(crate) private_ip_mode: bool,
}

fn route_block(peer: &Peer) -> Option<(u32, u32)> {
    (peer.provider == Provider::Aws)
        .then(|| peer.fields.get("routeTableCidrBlock")?.as_str())
        .flatten()
        .and_then(Cidr::parse)
        .map(Cidr::range)
}

fn key_of(provider: Provider, fields: &Map<String, Value>) -> (Provider, String, String) {
    let ([a, b], _, _) = duplicate_key(provider);
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (provider, text(a), text(b))
}

impl Project {
    /// Refuses a peering that would duplicate another (`PEER_ALREADY_EXISTS...`) or whose AWS
    /// route block overlaps another peering's in the same container (`OVERLAPPING_CIDR_BLOCK`:
    /// they would share the Atlas VPC's route table; this model's reading of the code).
    fn check_unique(&self, candidate: &Peer) -> Result<()> {
        let key = key_of(candidate.provider, &candidate.fields);
        if self.keys.get(&key).is_some_and(|id| *id != candidate.id) {
            let (_, code, [a, b]) = duplicate_key(candidate.provider);
            return Err(ApiError::new(
                409,
                code,
                format!(
                    "The peer with {a} {} and {b} {} already exists.",
                    key.1, key.2
                ),
            )
            .with([json!(key.1), json!(key.2)]));
        }
        if let Some((start, end)) = route_block(candidate) {
            let clash = self
                .routes
                .get(&candidate.container_id)
                .and_then(|blocks| blocks.range(..=end).next_back())
                .is_some_and(|(_, (last, id))| *last >= start && *id != candidate.id);
            if clash {
                let block = candidate.fields["routeTableCidrBlock"].clone();
                return Err(OVERLAPPING_CIDR_BLOCK.error([block]));
            }
        }
        Ok(())
    }

    /// Adds the peering `id` to (`on`) or removes it from the duplicate and route indexes.
    fn index(&mut self, id: &str, on: bool) {
        let Some(peer) = self.peers.get(id) else {
            return;
        };
        let key = key_of(peer.provider, &peer.fields);
        let route = route_block(peer);
        let container = peer.container_id.clone();
        if on {
            self.keys.insert(key, id.to_owned());
        } else if self.keys.get(&key).is_some_and(|k| k == id) {
            self.keys.remove(&key);
        }
        if let Some((start, end)) = route {
            let blocks = self.routes.entry(container).or_default();
            if on {
                blocks.insert(start, (end, id.to_owned()));
            } else if blocks.get(&start).is_some_and(|(_, k)| k == id) {
                blocks.remove(&start);
            }
        }
    }

    /// Queues the next automatic step of the peering `id`, if it has one.
    fn schedule(&mut self, id: &str, timings: Timings) {
        let Some(peer) = self.peers.get_mut(id) else {
            return;
        };
        peer.due = next_step(peer, timings).map(|(at, _)| at);
        if let Some(at) = peer.due {
            self.due.insert((at, id.to_owned()));
        }
    }

    /// Takes every automatic step due at `now`, in time order. The ids of the peerings whose
    /// deletion ended (they are gone).
    fn settle(&mut self, timings: Timings, now: Duration) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some((at, id)) = self.due.first().cloned().filter(|(at, _)| *at <= now) {
            self.due.pop_first();
            let Some(peer) = self.peers.get_mut(&id).filter(|p| p.due == Some(at)) else {
                continue;
            };
            match next_step(peer, timings) {
                Some((_, Some(stage))) => {
                    if stage == Stage::Failed {
                        peer.error = Some("EXPIRED".to_owned());
                    }
                    move_to(peer, stage, at);
                    self.schedule(&id, timings);
                }
                Some((_, None)) => {
                    if let Some(peer) = self.peers.remove(&id)
                        && let Some(n) = self.counts.get_mut(&peer.container_id)
                    {
                        *n = n.saturating_sub(1);
                    }
                    gone.push(id);
                }
                None => {}
            }
        }
        gone
    }

    fn in_use(&self, id: &str) -> bool {
        self.containers.iter().any(|c| c.id == id && c.provisioned)
            || self.counts.get(id).is_some_and(|n| *n > 0)
    }
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
    projects: HashMap<String, Project>,
    /// Every peering's project.
    peer_project: HashMap<String, String>,
    pub(crate) timings: Timings,
    /// The most peerings one container may have (`PEER_MAXIMUM_REACHED`).
    pub(crate) max_peers: usize,
    next_id: u64,
    seed: u64,
}

/// Which page of a list, and how to link to another page of it.
pub(crate) struct Listing<'a> {
    pub(crate) query: PageQuery,
    pub(crate) href: &'a dyn Fn(usize) -> String,
}

/// One page of a list with Atlas's paging envelope: `results`, `links` (`self`, and
/// `previous`/`next` when there are such pages) and `totalCount` unless `includeCount=false`.
fn page(results: Vec<Value>, total: usize, listing: &Listing<'_>) -> Value {
    let query = listing.query;
    let href = listing.href;
    let start = (query.page_num - 1).saturating_mul(query.items_per_page);
    let mut links = vec![json!({"href": href(query.page_num), "rel": "self"})];
    if query.page_num > 1 {
        links.insert(
            0,
            json!({"href": href(query.page_num - 1), "rel": "previous"}),
        );
    }
    if start.saturating_add(results.len()) < total {
        links.push(json!({"href": href(query.page_num + 1), "rel": "next"}));
    }
    let mut out = json!({"links": links, "results": results});
    if query.include_count {
        out["totalCount"] = json!(total);
    }
    out
}

impl World {
    pub(crate) fn new(seed: u64, timings: Timings, max_peers: usize) -> Self {
        Self {
            projects: HashMap::new(),
            peer_project: HashMap::new(),
            timings,
            max_peers,
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

    /// A new, empty project; its id.
    pub(crate) fn add_project(&mut self) -> String {
        let id = self.new_id();
        self.projects.insert(id.clone(), Project::default());
        id
    }

    /// Forgets everything but the project `keep`, which is left empty. Ids keep growing.
    pub(crate) fn reset(&mut self, keep: &str) {
        self.projects.clear();
        self.peer_project.clear();
        self.projects.insert(keep.to_owned(), Project::default());
    }

    /// The project, after its due steps up to `now`; `GROUP_NOT_FOUND` or `INVALID_GROUP_ID`
    /// when there is none.
    pub(crate) fn project(&mut self, group: &str, now: Duration) -> Result<&mut Project> {
        if !is_object_id(group) {
            return Err(INVALID_GROUP_ID.error([json!(group)]));
        }
        let timings = self.timings;
        let project = self
            .projects
            .get_mut(group)
            .ok_or_else(|| GROUP_NOT_FOUND.error([json!(group)]))?;
        for id in project.settle(timings, now) {
            self.peer_project.remove(&id);
        }
        self.projects
            .get_mut(group)
            .ok_or_else(|| ApiError::new(500, "UNEXPECTED_ERROR", "Unexpected error."))
    }

    // ---- containers ------------------------------------------------------------------------

    pub(crate) fn create_container(
        &mut self,
        group: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let provider = Provider::parse(body.get("providerName"))?;
        let (cidr, region_value, regions) = container_fields(provider, body)?;
        let seed_hex = self.hex(17);
        let guid = self.hex(32);
        let id = self.new_id();
        let project = self.project(group, now)?;
        // One container per region for AWS and Azure, one per project for GCP (Atlas docs,
        // "Create One Network Peering Container").
        let clash = project.containers.iter().any(|c| {
            c.provider == provider && (provider == Provider::Gcp || c.region == region_value)
        });
        if clash {
            return Err(CONTAINER_ALREADY_EXISTS.error([json!(group)]));
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

    pub(crate) fn get_container(&mut self, group: &str, id: &str, now: Duration) -> Result<Value> {
        let project = self.project(group, now)?;
        Ok(container(project, id)?.to_json())
    }

    pub(crate) fn update_container(
        &mut self,
        group: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let project = self.project(group, now)?;
        let existing = container(project, id)?.clone();
        let provider = Provider::parse(body.get("providerName"))?;
        if existing.provider != provider {
            return Err(invalid_attribute("providerName", &json!(provider.as_str())));
        }
        // A small GCP container cannot change ("Atlas Administration API Error Codes").
        if existing.regions.is_some() {
            return Err(CANNOT_UPDATE_SMALL_CONTAINER.error([json!(id)]));
        }
        let (cidr, region_value, regions) = container_fields(provider, body)?;
        // An in-use container cannot change (the v1.0 spec: the block is locked once a
        // cluster or a peering exists), nor can its region.
        if project.in_use(id) {
            return Err(containers_in_use(id));
        }
        if region_value.is_some() && region_value != existing.region {
            return Err(ApiError::new(
                400,
                "CANNOT_CHANGE_CONTAINER_REGION",
                "The region of a cloud provider container cannot be changed.",
            ));
        }
        // A container is small from its creation on, or never (model).
        if let Some(regions) = regions {
            return Err(invalid_attribute("regions", &json!(regions)));
        }
        overlap_check(project, cidr, Some(id))?;
        let container = container(project, id)?;
        container.cidr = cidr;
        Ok(container.to_json())
    }

    pub(crate) fn delete_container(&mut self, group: &str, id: &str, now: Duration) -> Result<()> {
        let project = self.project(group, now)?;
        container(project, id)?;
        if project.in_use(id) {
            return Err(containers_in_use(id));
        }
        project.containers.retain(|c| c.id != id);
        project.counts.remove(id);
        project.routes.remove(id);
        Ok(())
    }

    pub(crate) fn list_containers(
        &mut self,
        group: &str,
        provider: Option<Provider>,
        listing: &Listing<'_>,
        now: Duration,
    ) -> Result<Value> {
        let project = self.project(group, now)?;
        let matching = project
            .containers
            .iter()
            .filter(|c| provider.is_none_or(|p| c.provider == p));
        let (items, total) = listing.query.take(matching);
        let items = items.into_iter().map(Container::to_json).collect();
        Ok(page(items, total, listing))
    }

    // ---- peering connections ---------------------------------------------------------------

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
        let fields = peer_body(provider, body)?;
        let id = self.new_id();
        let gcp_project = format!("p-{}", self.hex(24));
        let network = format!("nt-{container_id}-{}", &self.hex(8));
        let (timings, max_peers) = (self.timings, self.max_peers);
        let project = self.project(group, now)?;
        let Some(atlas_block) = project
            .containers
            .iter()
            .find(|c| c.id == container_id && c.provider == provider)
            .map(|c| c.cidr)
        else {
            return Err(container_not_found(&container_id));
        };
        if project.counts.get(&container_id).copied().unwrap_or(0) >= max_peers {
            return Err(PEER_MAXIMUM_REACHED.error([json!(max_peers)]));
        }
        // Azure peerings live in one Azure container of a project ("Atlas Administration API
        // Error Codes", AZURE_PEERING_MULTIPLE_REGIONS_NOT_ALLOWED).
        if provider == Provider::Azure {
            let elsewhere = project.containers.iter().any(|c| {
                c.provider == Provider::Azure && c.id != container_id && project.in_use(&c.id)
            });
            if elsewhere {
                return Err(ApiError::new(
                    400,
                    "AZURE_PEERING_MULTIPLE_REGIONS_NOT_ALLOWED",
                    "Azure peering is only allowed in one Atlas Azure container per project.",
                ));
            }
        }
        let peer = Peer {
            id: id.clone(),
            provider,
            container_id: container_id.clone(),
            fields,
            stage: Stage::Adding,
            since: now,
            error: None,
            connection_id: None,
            due: None,
        };
        check_route_against_atlas(&peer, atlas_block)?;
        project.check_unique(&peer)?;
        // The GCP container's project and network are named with its first peering (Atlas
        // docs: null until then).
        if provider == Provider::Gcp
            && let Some(c) = project.containers.iter_mut().find(|c| c.id == container_id)
            && c.filled.get("gcpProjectId") == Some(&Value::Null)
        {
            c.filled.insert("gcpProjectId".into(), json!(gcp_project));
            c.filled.insert("networkName".into(), json!(network));
        }
        let answer = peer.to_json();
        project.peers.insert(id.clone(), peer);
        *project.counts.entry(container_id).or_default() += 1;
        project.index(&id, true);
        project.schedule(&id, timings);
        self.peer_project.insert(id, group.to_owned());
        Ok(answer)
    }

    pub(crate) fn get_peer(&mut self, group: &str, id: &str, now: Duration) -> Result<Value> {
        let project = self.project(group, now)?;
        Ok(peer(project, group, id)?.to_json())
    }

    /// A PATCH replaces the writable fields. `containerId` and `providerName` cannot change
    /// (`ATTRIBUTE_READ_ONLY`): a peering belongs to its container for good, as Terraform's
    /// `mongodbatlas_network_peering` replaces a peering whose `container_id` or
    /// `provider_name` changes instead of updating it.
    pub(crate) fn update_peer(
        &mut self,
        group: &str,
        id: &str,
        body: &Map<String, Value>,
        now: Duration,
    ) -> Result<Value> {
        let project = self.project(group, now)?;
        let existing = peer(project, group, id)?;
        let provider = Provider::parse(body.get("providerName"))?;
        if existing.provider != provider {
            return Err(read_only("providerName"));
        }
        match string(body, "containerId", false)? {
            Some(c) if c != existing.container_id => return Err(read_only("containerId")),
            _ => {}
        }
        // A connection being deleted cannot change.
        if existing.stage == Stage::Deleting {
            return Err(PEER_INVALID_STATE.error([json!(id), json!(group)]));
        }
        let mut candidate = existing.clone();
        candidate.fields = peer_body(provider, body)?;
        let atlas_block = container(project, &candidate.container_id)?.cidr;
        check_route_against_atlas(&candidate, atlas_block)?;
        project.check_unique(&candidate)?;
        project.index(id, false);
        let answer = candidate.to_json();
        project.peers.insert(id.to_owned(), candidate);
        project.index(id, true);
        Ok(answer)
    }

    pub(crate) fn delete_peer(&mut self, group: &str, id: &str, now: Duration) -> Result<()> {
        let timings = self.timings;
        let project = self.project(group, now)?;
        let peer = peer(project, group, id)?;
        if peer.stage == Stage::Deleting {
            return Err(PEER_ALREADY_REQUESTED_DELETION.error([json!(id)]));
        }
        move_to(peer, Stage::Deleting, now);
        // Its network may be peered again while this connection is torn down.
        project.index(id, false);
        project.schedule(id, timings);
        Ok(())
    }

    pub(crate) fn list_peers(
        &mut self,
        group: &str,
        provider: Provider,
        listing: &Listing<'_>,
        now: Duration,
    ) -> Result<Value> {
        let project = self.project(group, now)?;
        let matching = project.peers.values().filter(|p| p.provider == provider);
        let (items, total) = listing.query.take(matching);
        let items = items.into_iter().map(Peer::to_json).collect();
        Ok(page(items, total, listing))
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
        // The mode cannot change while clusters or peering connections exist.
        let busy = project.containers.iter().any(|c| c.provisioned) || !project.peers.is_empty();
        if busy && enabled != project.private_ip_mode {
            return Err(CANNOT_UPDATE_PRIVATE_IP_MODE.error([json!(group)]));
        }
        project.private_ip_mode = enabled;
        Ok(json!({"enabled": enabled}))
    }

    // ---- what the customer and the providers do (controls) ---------------------------------

    /// The project and id of a peering named by Atlas's id or its AWS `pcx-` id.
    fn locate(&self, id: &str) -> Option<(String, String)> {
        let id = match id.strip_prefix("pcx-") {
            Some(tail) if tail.len() == 17 => {
                format!("{:08x}", (self.seed >> 32) as u32)[..7].to_owned() + tail
            }
            _ => id.to_owned(),
        };
        let group = self.peer_project.get(&id)?.clone();
        Some((group, id))
    }

    /// Applies `verdict` to the peering `id` (or `pcx-` id); its status after.
    pub(crate) fn decide(
        &mut self,
        id: &str,
        verdict: Verdict,
        now: Duration,
    ) -> Result<&'static str> {
        let timings = self.timings;
        let (group, id) = self.locate(id).ok_or_else(|| no_such_peer(id))?;
        let project = self.project(&group, now)?;
        let peer = peer(project, &group, &id)?;
        match verdict {
            Verdict::Accept if peer.stage == Stage::WaitingForUser => {
                move_to(peer, accepted(peer.provider), now);
            }
            Verdict::Accept => return Err(not_waiting(peer)),
            Verdict::Reject | Verdict::Fail(_) if peer.stage == Stage::Deleting => {
                return Err(not_waiting(peer));
            }
            Verdict::Reject => {
                peer.error = Some(match peer.provider {
                    Provider::Aws => "REJECTED".to_owned(),
                    _ => "The peering request was rejected.".to_owned(),
                });
                move_to(peer, Stage::Failed, now);
            }
            Verdict::Fail(reason) => {
                peer.error = Some(provider_error(peer.provider, reason)?);
                move_to(peer, Stage::Failed, now);
            }
        }
        let status = peer.status();
        project.schedule(&id, timings);
        Ok(status)
    }

    /// The deletion of the peering `id` fails with `reason`: Azure `DELETION_FAILED`, AWS and
    /// GCP `FAILED`. The peering stays, and may be deleted again.
    pub(crate) fn fail_deletion(
        &mut self,
        id: &str,
        reason: String,
        now: Duration,
    ) -> Result<&'static str> {
        let timings = self.timings;
        let (group, id) = self.locate(id).ok_or_else(|| no_such_peer(id))?;
        let project = self.project(&group, now)?;
        let peer = peer(project, &group, &id)?;
        if peer.stage != Stage::Deleting {
            return Err(ApiError::new(
                409,
                "PEER_INVALID_STATE",
                format!("The peer with ID {id} is not being deleted."),
            ));
        }
        peer.error = Some(provider_error(peer.provider, reason)?);
        move_to(peer, Stage::DeletionFailed, now);
        let status = peer.status();
        let candidate = peer.clone();
        project.schedule(&id, timings);
        // Back in the indexes, unless another peering took its place meanwhile.
        if project.check_unique(&candidate).is_ok() {
            project.index(&id, true);
        }
        Ok(status)
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
        let (group, id) = self.locate(id)?;
        let project = self.project(&group, now).ok()?;
        project.peers.get(&id).map(Peer::status)
    }
}

/// The writable fields of a container body: the block, the AWS/Azure region, the GCP regions.
#[allow(clippy::type_complexity)]
fn container_fields(
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
    let cidr = atlas_cidr(provider, &text, regions.is_some())?;
    if let Some(regions) = &regions {
        check_regions(regions, cidr)?;
    }
    Ok((cidr, region_value, regions))
}

fn container<'p>(project: &'p mut Project, id: &str) -> Result<&'p mut Container> {
    project
        .containers
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(|| container_not_found(id))
}

fn peer<'p>(project: &'p mut Project, group: &str, id: &str) -> Result<&'p mut Peer> {
    if !is_object_id(id) {
        return Err(INVALID_PEER_ID.error([json!(id)]));
    }
    project
        .peers
        .get_mut(id)
        .ok_or_else(|| PEER_NOT_FOUND_IN_PROJECT.error([json!(id), json!(group)]))
}

fn no_such_peer(id: &str) -> ApiError {
    PEER_NOT_FOUND.error([json!(id)])
}

fn not_waiting(peer: &Peer) -> ApiError {
    ApiError::new(
        409,
        "PEER_INVALID_STATE",
        format!(
            "The peer with ID {} is {}, not waiting for the customer.",
            peer.id,
            peer.status()
        ),
    )
}

/// The error a provider reports: AWS `errorStateName` is one of `REJECTED`, `EXPIRED`,
/// `INVALID_ARGUMENT` (the spec's `AwsPeerErrorState`); GCP and Azure take any message.
fn provider_error(provider: Provider, reason: String) -> Result<String> {
    const AWS_STATES: [&str; 3] = ["REJECTED", "EXPIRED", "INVALID_ARGUMENT"];
    if provider == Provider::Aws && !AWS_STATES.contains(&reason.as_str()) {
        return Err(ApiError::new(
            400,
            "INVALID_ATTRIBUTE",
            format!("An AWS errorStateName is one of {AWS_STATES:?}, not {reason}."),
        ));
    }
    Ok(reason)
}

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
                    // Null when it is the container's region (the v1.0 spec).
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
        // The customer's block must be private (INVALID_ROUTE_TABLE_CIDR).
        let block = fields["routeTableCidrBlock"].as_str().unwrap_or_default();
        if !Cidr::parse(block).is_some_and(Cidr::is_private) {
            return Err(INVALID_ROUTE_TABLE_CIDR.error([json!(block)]));
        }
    }
    Ok(fields)
}

/// An AWS route block may not overlap the container's Atlas block (`OVERLAPPING_ATLAS_CIDR_BLOCK`).
fn check_route_against_atlas(peer: &Peer, atlas: Cidr) -> Result<()> {
    match route_block(peer) {
        Some((start, end)) if start <= atlas.range().1 && atlas.range().0 <= end => {
            Err(overlapping_atlas(&peer.fields["routeTableCidrBlock"]))
        }
        _ => Ok(()),
    }
}

fn overlapping_atlas(block: &Value) -> ApiError {
    OVERLAPPING_ATLAS_CIDR_BLOCK.error([block.clone()])
}

fn container_not_found(id: &str) -> ApiError {
    CLOUD_PROVIDER_CONTAINER_NOT_FOUND.error([json!(id)])
}

fn containers_in_use(id: &str) -> ApiError {
    CONTAINERS_IN_USE.error([json!(id)])
}

/// Another container of the project whose block overlaps `cidr`.
fn overlap_check(project: &Project, cidr: Cidr, except: Option<&str>) -> Result<()> {
    if project
        .containers
        .iter()
        .any(|c| Some(c.id.as_str()) != except && c.cidr.overlaps(cidr))
    {
        return Err(overlapping_atlas(&json!(cidr.to_string())));
    }
    Ok(())
}

/// How long an AWS peering request waits for the customer before AWS expires it: a week (AWS
/// docs, "VPC peering connection lifecycle": a request not accepted within 7 days expires).
pub(crate) const AWS_REQUEST_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);

/// The automatic step a peering takes next, if any: when (virtual time), and to which stage
/// (`None`: the connection is gone). AWS `INITIATING → PENDING_ACCEPTANCE`, GCP `ADDING_PEER →
/// WAITING_FOR_USER`, Azure `ADDING_PEER → AVAILABLE`, AWS `FINALIZING → AVAILABLE`, an
/// auto-accepted wait, an AWS request that expires (`FAILED`, `EXPIRED`), the end of a
/// deletion. A model of Atlas's documented states, not a recording.
pub(crate) fn next_step(peer: &Peer, timings: Timings) -> Option<(Duration, Option<Stage>)> {
    let after = |d: Duration| peer.since.saturating_add(d);
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
        (_, Stage::Available | Stage::Failed | Stage::DeletionFailed) => None,
    }
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
fn move_to(peer: &mut Peer, stage: Stage, at: Duration) {
    if peer.provider == Provider::Aws && stage == Stage::WaitingForUser {
        peer.connection_id = Some(format!("pcx-{}", &peer.id[7..24]));
    }
    peer.stage = stage;
    peer.since = at;
}

/// The customer's answer to a pending peering, or the provider's failure.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Accept it (AWS: accept the VPC peering request; GCP: create the reverse peering).
    Accept,
    /// Reject it (AWS `errorStateName` `REJECTED`).
    Reject,
    /// Fail it with the provider's error: AWS `errorStateName` (`REJECTED`, `EXPIRED` or
    /// `INVALID_ARGUMENT`), GCP `errorMessage`, Azure `errorState`.
    Fail(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fill_their_templates_with_the_first_parameters_in_order() {
        let e = ATLAS_INVALID_CIDR_BLOCK.error([
            json!("10.8.0.0/20"),
            json!("21 to /24"),
            json!("AWS"),
        ]);
        assert_eq!((e.status, e.code), (400, "ATLAS_INVALID_CIDR_BLOCK"));
        assert_eq!(
            e.detail,
            "Atlas CIDR 10.8.0.0/20 must be a /21 to /24 block for AWS."
        );
        assert_eq!(e.parameters.len(), 3);
        let e = PEER_MAXIMUM_REACHED.error([json!(25)]);
        assert_eq!(
            e.detail,
            "The maximum number of peering connections (25) has been reached."
        );
        let e = INVALID_ATTRIBUTE.error([json!("regions"), json!(["US_EAST_1"])]);
        assert_eq!(e.detail, "Invalid attribute regions specified.");
        assert_eq!(e.parameters[1], json!(["US_EAST_1"]));
        let e = OVERLAPPING_ATLAS_CIDR_BLOCK.error([Value::Null]);
        assert_eq!(
            e.detail,
            "The CIDR block  overlaps with an Atlas CIDR block."
        );
        let e = ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER.error([json!("10.0.0.0/20")]);
        assert!(e.detail.starts_with("Atlas CIDR must be between /21 and /24 for small Google Cloud network peering containers. Either"));
    }

    #[test]
    fn cidr_rules() {
        let ok = |p, t, small| atlas_cidr(p, t, small).map(|c| c.to_string());
        assert_eq!(
            ok(Provider::Aws, "10.8.0.0/21", false),
            Ok("10.8.0.0/21".into())
        );
        assert_eq!(
            ok(Provider::Aws, "10.8.0.1/21", false).unwrap_err().code,
            "ATLAS_NON_CANONICAL_CIDR_BLOCK"
        );
        assert_eq!(
            ok(Provider::Aws, "8.8.0.0/21", false).unwrap_err().code,
            "ATLAS_INVALID_CIDR_RANGE"
        );
        assert_eq!(
            ok(Provider::Aws, "10.8.0.0/20", false).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK"
        );
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/18", false),
            Ok("10.64.0.0/18".into())
        );
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/21", false).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK"
        );
        assert!(ok(Provider::Gcp, "10.64.0.0/22", true).is_ok());
        assert_eq!(
            ok(Provider::Gcp, "10.64.0.0/18", true).unwrap_err().code,
            "ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER"
        );
        assert_eq!(
            ok(Provider::Azure, "nonsense", false).unwrap_err().code,
            "INVALID_CIDR_BLOCK"
        );
        let a = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(a.overlaps(Cidr::parse("10.0.8.0/21").unwrap()));
        assert!(!a.overlaps(Cidr::parse("10.1.0.0/21").unwrap()));
    }

    #[test]
    fn a_small_container_holds_one_to_its_room_of_distinct_regions() {
        let block = |t| Cidr::parse(t).unwrap();
        let regions = |n: usize| {
            (0..n)
                .map(|i| GCP_REGIONS[i].to_owned())
                .collect::<Vec<_>>()
        };
        for (text, room) in [
            ("10.0.0.0/21", 8),
            ("10.0.0.0/22", 4),
            ("10.0.0.0/23", 2),
            ("10.0.0.0/24", 1),
        ] {
            assert!(check_regions(&regions(room), block(text)).is_ok(), "{text}");
            assert!(
                check_regions(&regions(room + 1), block(text)).is_err(),
                "{text}"
            );
        }
        assert!(check_regions(&[], block("10.0.0.0/21")).is_err());
        let twice = vec!["US_EAST_4".to_owned(), "US_EAST_4".to_owned()];
        assert!(check_regions(&twice, block("10.0.0.0/21")).is_err());
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        let query = PageQuery {
            page_num: 2,
            items_per_page: 2,
            include_count: true,
        };
        let (items, total) = query.take((0..5).map(|i| json!(i)));
        let href = |n: usize| format!("p{n}");
        let page = page(items, total, &Listing { query, href: &href });
        assert_eq!(page["results"], json!([2, 3]));
        assert_eq!(page["totalCount"], 5);
        assert_eq!(
            page["links"],
            json!([{"href": "p1", "rel": "previous"}, {"href": "p2", "rel": "self"}, {"href": "p3", "rel": "next"}])
        );
    }
}

// ---- error rules ---------------------------------------------------------------------------

/// One of Atlas's error answers: status, `errorCode` and the `detail` template, whose `{}` take the
/// first parameters in order (the sim README's rule table gives the source of each rule).
struct Rule {
    status: u16,
    code: &'static str,
    detail: &'static str,
}

impl Rule {
    fn error<const N: usize>(&self, parameters: [Value; N]) -> ApiError {
        let mut shown = parameters.iter().map(|value| match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        });
        let mut pieces = self.detail.split("{}");
        let mut detail = pieces.next().unwrap_or_default().to_owned();
        for piece in pieces {
            detail.push_str(&shown.next().unwrap_or_default());
            detail.push_str(piece);
        }
        ApiError::new(self.status, self.code, detail).with(parameters)
    }
}

/// `NAME = status "errorCode" "detail template";`, one line a rule.
macro_rules! rules {
    ($($name:ident = $status:literal $code:literal $detail:literal;)*) => {
        $(const $name: Rule = Rule { status: $status, code: $code, detail: $detail };)*
    };
}

rules! {
    INVALID_PROVIDER = 400 "INVALID_PROVIDER"
        "No provider {} exists.";
    INVALID_ATTRIBUTE = 400 "INVALID_ATTRIBUTE"
        "Invalid attribute {} specified.";
    MISSING_ATTRIBUTE = 400 "MISSING_ATTRIBUTE"
        "The required attribute {} was not specified.";
    ATTRIBUTE_READ_ONLY = 400 "ATTRIBUTE_READ_ONLY"
        "The attribute {} is read-only and cannot be changed by the user.";
    INVALID_CIDR_BLOCK = 400 "INVALID_CIDR_BLOCK"
        "The CIDR block {} is not a valid IPv4 CIDR block.";
    ATLAS_NON_CANONICAL_CIDR_BLOCK = 400 "ATLAS_NON_CANONICAL_CIDR_BLOCK"
        "The canonical form for the specified Atlas CIDR {} is {}.";
    ATLAS_INVALID_CIDR_RANGE = 400 "ATLAS_INVALID_CIDR_RANGE"
        "Atlas CIDR {} must be in private range.";
    INVALID_GROUP_ID = 404 "INVALID_GROUP_ID"
        "An invalid group ID {} was specified.";
    GROUP_NOT_FOUND = 404 "GROUP_NOT_FOUND"
        "No group with ID {} exists.";
    CONTAINER_ALREADY_EXISTS = 409 "CONTAINER_ALREADY_EXISTS"
        "A container already exists for group {}.";
    CANNOT_UPDATE_SMALL_CONTAINER = 400 "CANNOT_UPDATE_SMALL_CONTAINER"
        "Google Cloud network peering container {} is small and can't be updated.";
    PEER_MAXIMUM_REACHED = 409 "PEER_MAXIMUM_REACHED"
        "The maximum number of peering connections ({}) has been reached.";
    PEER_INVALID_STATE = 409 "PEER_INVALID_STATE"
        "The peer with ID {} in group {} cannot be updated in its current state.";
    PEER_ALREADY_REQUESTED_DELETION = 409 "PEER_ALREADY_REQUESTED_DELETION"
        "The peer with ID {} has already been requested for deletion.";
    CANNOT_UPDATE_PRIVATE_IP_MODE = 400 "CANNOT_UPDATE_PRIVATE_IP_MODE"
        "Group {} has dedicated clusters, so private IP mode cannot be updated.";
    INVALID_PEER_ID = 404 "INVALID_PEER_ID"
        "An invalid peer ID {} was specified.";
    PEER_NOT_FOUND_IN_PROJECT = 404 "PEER_NOT_FOUND"
        "No peer with ID {} exists in project {}.";
    PEER_NOT_FOUND = 404 "PEER_NOT_FOUND"
        "No peer with ID {} exists.";
    INVALID_ROUTE_TABLE_CIDR = 400 "INVALID_ROUTE_TABLE_CIDR"
        "The address {} must be within the private ranges [\"10.0.0.0/8\", \"172.16.0.0/12\", \"192.168.0.0/16\"].";
    CLOUD_PROVIDER_CONTAINER_NOT_FOUND = 404 "CLOUD_PROVIDER_CONTAINER_NOT_FOUND"
        "An invalid cloud provider container ID {} was specified.";
    CONTAINERS_IN_USE = 409 "CONTAINERS_IN_USE"
        "Cannot modify in use containers. The container {} has peering connections or clusters.";
    INVALID_REGION = 400 "INVALID_REGION"
        "No region {} exists for provider {}.";
    ATLAS_INVALID_CIDR_BLOCK = 400 "ATLAS_INVALID_CIDR_BLOCK"
        "Atlas CIDR {} must be a /{} block for {}.";
    OVERLAPPING_CIDR_BLOCK = 409 "OVERLAPPING_CIDR_BLOCK"
        "The CIDR block {} overlaps with another peer's CIDR block.";
    OVERLAPPING_ATLAS_CIDR_BLOCK = 409 "OVERLAPPING_ATLAS_CIDR_BLOCK"
        "The CIDR block {} overlaps with an Atlas CIDR block.";
    ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER = 400 "ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER"
        "Atlas CIDR must be between /21 and /24 for small Google Cloud network peering \
         containers. Either omit the regions array to create a network peering container \
         with a larger CIDR block, or choose a block between /21 and /24.";
}
