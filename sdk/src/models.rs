#![deny(missing_docs)]
//! Hand-written models that progenitor cannot express.
//!
//! Containers and peering connections are polymorphic on `providerName`. The spec models AWS,
//! GCP and AZURE; Atlas also knows other providers (`TENANT`, `SERVERLESS`, and whatever it adds
//! next). A generated `oneOf` would fail a whole page on such an entry, so [`Container`] and
//! [`Peer`] are written here and the generator is told to use them (see
//! `codegen::Settings::for_sdk`). One decode path serves both:
//!
//! - `providerName` picks the variant; an entry without it (or with `null`) is AWS, Atlas's
//!   default. A repeated `providerName` is refused.
//! - Any other provider decodes into `Unknown`, which keeps the entry's JSON exactly as sent and
//!   encodes back to it.
//! - An entry of a known provider that does not match its schema is an error naming the
//!   provider and the field, never an `Unknown`.
//!
//! A body that does not decode is [`crate::Error::Decode`] with the JSON path of the failure,
//! through `serde_path_to_error`, down into the entry (`/results/0/provisioned`).

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types;

/// An entry whose `providerName` this version of the SDK does not model, kept as sent.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownProvider {
    raw: Map<String, Value>,
}

impl UnknownProvider {
    /// The `providerName` the entry carried, if it was a string.
    pub fn provider_name(&self) -> Option<&str> {
        self.raw.get("providerName").and_then(Value::as_str)
    }

    /// The entry's JSON object, exactly as received.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Takes the entry's JSON object.
    pub fn into_raw(self) -> Map<String, Value> {
        self.raw
    }
}

/// The one field read before an entry is decoded. serde refuses it repeated.
#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "providerName", default)]
    provider_name: Option<Value>,
}

/// A `serde_path_to_error` path as a JSON pointer: `/results/0/provisioned`, `/` for the root.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

/// serde_json's message without its " at line N column M": the position is the entry's, or
/// the body's, and the path says where instead.
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() != 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// How an entry's own decode error gives the path inside the entry (`GCP peer, at
/// `/provisioned`: ...`): an entry is decoded from its own text, so the path
/// `serde_path_to_error` tracks over the whole body stops at the entry.
const INSIDE_ENTRY: &str = ", at `";

/// `text` decoded as the variant `T` of `provider`. On failure the error names the provider
/// and the path inside the entry, which [`decode_failure`] reads back.
fn decode_variant<T: DeserializeOwned, E: serde::de::Error>(
    provider: &str,
    kind: &str,
    text: &str,
) -> Result<T, E> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        E::custom(format_args!(
            "{provider} {kind}{INSIDE_ENTRY}{}`: {}",
            pointer(e.path()),
            message(e.inner())
        ))
    })
}

/// Decodes a response body as `send()` does: the value, or [`crate::Error::Decode`] naming the
/// JSON path that failed, exact for compact and pretty bodies alike, into an entry of a page
/// (`/results/0/provisioned`).
#[cfg(fuzzing)]
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, crate::Error> {
    serde_json::from_slice(body)
        .map_err(|_| crate::Error::decode::<T>(bytes::Bytes::copy_from_slice(body)))
}

/// Where and why a body does not decode as `T`: the JSON pointer of the failing value, inside
/// an entry when the failure is there, and serde's message. For a body that decodes, which the
/// caller does not pass, `("/", "")`.
pub(crate) fn decode_failure<T: DeserializeOwned>(raw: &[u8]) -> (String, String) {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let result = serde_path_to_error::deserialize::<_, T>(&mut de);
    if result.is_ok()
        && let Err(e) = de.end()
    {
        // Text after a well-formed body.
        return ("/".to_owned(), message(&e));
    }
    let Err(e) = result else {
        return ("/".to_owned(), String::new());
    };
    if matches!(
        e.inner().classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    ) {
        // Text that is not JSON (or is cut short) fails the same way whatever the type; read
        // as a plain JSON value, the path runs to the key being read, inside an entry too.
        let mut de = serde_json::Deserializer::from_slice(raw);
        if let Err(e) = serde_path_to_error::deserialize::<_, Value>(&mut de) {
            return (pointer(e.path()), message(e.inner()));
        }
    }
    let mut at = pointer(e.path());
    let text = message(e.inner());
    // An entry's own failure (see `decode_variant`): its path continues the body's.
    let inside = text
        .split_once(INSIDE_ENTRY)
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(inner, _)| inner);
    if let Some(inner) = inside.filter(|inner| *inner != "/") {
        if at == "/" {
            at.clear();
        }
        at.push_str(inner);
    }
    (at, text)
}

macro_rules! polymorphic {
    (
        $doc:literal, $name:ident, $kind:literal,
        aws: $aws:ty, gcp: $gcp:ty, azure: $azure:ty
    ) => {
        #[doc = $doc]
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            /// Amazon Web Services.
            Aws($aws),
            /// Google Cloud.
            Gcp($gcp),
            /// Microsoft Azure.
            Azure($azure),
            /// A provider this SDK does not model; its JSON is kept as sent.
            Unknown(UnknownProvider),
        }

        impl $name {
            /// The Atlas id, when the entry carries one (every entry Atlas returns does).
            pub fn id(&self) -> Option<&str> {
                match self {
                    Self::Aws(v) => v.id.as_deref().map(String::as_str),
                    Self::Gcp(v) => v.id.as_deref().map(String::as_str),
                    Self::Azure(v) => v.id.as_deref().map(String::as_str),
                    Self::Unknown(u) => u.str_field("id"),
                }
            }

            /// The provider as sent in `providerName` (`AWS` for an AWS entry that left it
            /// out); `None` only for an unknown entry whose `providerName` is not a string.
            pub fn provider_name(&self) -> Option<&str> {
                match self {
                    Self::Aws(_) => Some("AWS"),
                    Self::Gcp(_) => Some("GCP"),
                    Self::Azure(_) => Some("AZURE"),
                    Self::Unknown(u) => u.provider_name(),
                }
            }

            /// The provider, typed; an unmodelled provider is
            /// [`types::CloudProvider::Unknown`].
            pub fn provider(&self) -> Option<types::CloudProvider> {
                match self {
                    Self::Aws(_) => Some(types::CloudProvider::Aws),
                    Self::Gcp(_) => Some(types::CloudProvider::Gcp),
                    Self::Azure(_) => Some(types::CloudProvider::Azure),
                    Self::Unknown(u) => u.provider(),
                }
            }
        }

        impl From<$aws> for $name {
            fn from(value: $aws) -> Self {
                Self::Aws(value)
            }
        }

        impl From<$gcp> for $name {
            fn from(value: $gcp) -> Self {
                Self::Gcp(value)
            }
        }

        impl From<$azure> for $name {
            fn from(value: $azure) -> Self {
                Self::Azure(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
                let text = raw.get();
                let tag: Tag = serde_json::from_str(text)
                    .map_err(|e| D::Error::custom(format_args!("{}: {}", $kind, message(&e))))?;
                match tag.provider_name {
                    None | Some(Value::Null) => decode_variant::<_, D::Error>("AWS", $kind, text).map(Self::Aws),
                    Some(Value::String(name)) if name == "AWS" => decode_variant::<_, D::Error>("AWS", $kind, text).map(Self::Aws),
                    Some(Value::String(name)) if name == "GCP" => decode_variant::<_, D::Error>("GCP", $kind, text).map(Self::Gcp),
                    Some(Value::String(name)) if name == "AZURE" => decode_variant::<_, D::Error>("AZURE", $kind, text).map(Self::Azure),
                    Some(_) => serde_json::from_str(text)
                        .map(|raw| Self::Unknown(UnknownProvider { raw }))
                        .map_err(|e| D::Error::custom(message(&e))),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Aws(v) => v.serialize(serializer),
                    Self::Gcp(v) => v.serialize(serializer),
                    Self::Azure(v) => v.serialize(serializer),
                    Self::Unknown(v) => v.raw.serialize(serializer),
                }
            }
        }

        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let aws = generator.subschema_for::<$aws>();
                let gcp = generator.subschema_for::<$gcp>();
                let azure = generator.subschema_for::<$azure>();
                schemars::json_schema!({
                    "description": concat!("A ", $kind, " of any cloud provider, picked by `providerName`."),
                    "anyOf": [aws, gcp, azure, {
                        "type": "object",
                        "description": "A provider this SDK does not model, kept as sent."
                    }]
                })
            }
        }
    };
}

polymorphic! {
    "A network peering container of any cloud provider.",
    Container, "container",
    aws: types::AwsContainer, gcp: types::GcpContainer, azure: types::AzureContainer
}

polymorphic! {
    "A network peering connection of any cloud provider.",
    Peer, "peering connection",
    aws: types::AwsPeer, gcp: types::GcpPeer, azure: types::AzurePeer
}

// ---- Provider-independent views -----------------------------------------------------------

/// Where a peering connection stands, the same for every provider.
///
/// Each provider spells its states differently (AWS in `statusName`, GCP and Azure in
/// `status`); this enum maps them onto one set:
///
/// | `PeerStatus`       | AWS `statusName`          | GCP `status`        | Azure `status`     |
/// |--------------------|---------------------------|---------------------|--------------------|
/// | [`Pending`]        | `INITIATING`, `FINALIZING` | `ADDING_PEER`       | `ADDING_PEER`      |
/// | [`WaitingForUser`] | `PENDING_ACCEPTANCE`      | `WAITING_FOR_USER`  | —                  |
/// | [`Available`]      | `AVAILABLE`               | `AVAILABLE`         | `AVAILABLE`        |
/// | [`Failed`]         | `FAILED`                  | `FAILED`            | `FAILED`           |
/// | [`Deleting`]       | `TERMINATING`             | `DELETING`          | `DELETING`         |
/// | [`DeletionFailed`] | —                         | —                   | `DELETION_FAILED`  |
/// | [`Unknown`]        | anything else             | anything else       | anything else      |
///
/// [`WaitingForUser`] is kept apart from [`Pending`] because nothing happens until the
/// customer acts on their side: accepts the VPC peering request in AWS, or creates the
/// matching peering in their GCP project. Why a connection failed is not part of the status;
/// see [`Peer::error_detail`] (AWS `errorStateName`, GCP `errorMessage`, Azure `errorState`).
///
/// It is a category to match on, not a name to show: it has no `Display`, and every message
/// of this crate (errors, waiter progress) shows the status as Atlas spells it
/// ([`Peer::raw_status`]).
///
/// [`Pending`]: PeerStatus::Pending
/// [`WaitingForUser`]: PeerStatus::WaitingForUser
/// [`Available`]: PeerStatus::Available
/// [`Failed`]: PeerStatus::Failed
/// [`Deleting`]: PeerStatus::Deleting
/// [`DeletionFailed`]: PeerStatus::DeletionFailed
/// [`Unknown`]: PeerStatus::Unknown
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerStatus {
    /// Atlas or the provider is still setting the connection up.
    Pending,
    /// The customer must act on their side before the connection can come up.
    WaitingForUser,
    /// The connection carries traffic.
    Available,
    /// The connection failed; it will not become available by waiting.
    Failed,
    /// The connection is being removed.
    Deleting,
    /// Removing the connection failed (Azure).
    DeletionFailed,
    /// A status this version of the SDK does not know, exactly as sent.
    Unknown(String),
}

impl PeerStatus {
    /// Normalizes a status as any provider spells it on the wire (`statusName` or `status`).
    /// An unlisted value becomes [`PeerStatus::Unknown`] holding it unchanged.
    pub fn from_wire(value: &str) -> Self {
        match value {
            "INITIATING" | "FINALIZING" | "ADDING_PEER" => Self::Pending,
            "PENDING_ACCEPTANCE" | "WAITING_FOR_USER" => Self::WaitingForUser,
            "AVAILABLE" => Self::Available,
            "FAILED" => Self::Failed,
            "TERMINATING" | "DELETING" => Self::Deleting,
            "DELETION_FAILED" => Self::DeletionFailed,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// Whether the connection is up.
    pub fn is_available(&self) -> bool {
        matches!(self, Self::Available)
    }

    /// Whether the connection is in a failed state that waiting will not change
    /// ([`Failed`](Self::Failed) or [`DeletionFailed`](Self::DeletionFailed)).
    pub fn is_terminal_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::DeletionFailed)
    }
}

impl From<&types::AwsPeerStatus> for PeerStatus {
    fn from(value: &types::AwsPeerStatus) -> Self {
        Self::from_wire(value.as_str())
    }
}

impl From<&types::GcpPeerStatus> for PeerStatus {
    fn from(value: &types::GcpPeerStatus) -> Self {
        Self::from_wire(value.as_str())
    }
}

impl From<&types::AzurePeerStatus> for PeerStatus {
    fn from(value: &types::AzurePeerStatus) -> Self {
        Self::from_wire(value.as_str())
    }
}

impl UnknownProvider {
    fn str_field(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }

    fn provider(&self) -> Option<types::CloudProvider> {
        self.provider_name().map(types::CloudProvider::from)
    }
}

/// `Some(Some(s))` as `Some(s)`: a nullable optional string field, absent and `null` alike.
fn nullable(value: &Option<Option<String>>) -> Option<&str> {
    value.as_ref().and_then(Option::as_deref)
}

impl Container {
    /// The Atlas-side address block (`atlasCidrBlock`).
    pub fn atlas_cidr_block(&self) -> Option<&str> {
        match self {
            Self::Aws(c) => Some(c.atlas_cidr_block.as_str()),
            Self::Gcp(c) => Some(c.atlas_cidr_block.as_str()),
            Self::Azure(c) => Some(c.atlas_cidr_block.as_str()),
            Self::Unknown(u) => u.str_field("atlasCidrBlock"),
        }
    }

    /// Whether clusters already run in the container (`provisioned: true`). A missing or
    /// non-boolean flag counts as not provisioned.
    ///
    /// Atlas sets the flag once the first cluster is deployed in the container; creating a
    /// container, or peering it, does not.
    pub fn is_provisioned(&self) -> bool {
        match self {
            Self::Aws(c) => c.provisioned == Some(true),
            Self::Gcp(c) => c.provisioned == Some(true),
            Self::Azure(c) => c.provisioned == Some(true),
            Self::Unknown(u) => u.raw.get("provisioned").and_then(Value::as_bool) == Some(true),
        }
    }
}

impl Peer {
    /// The id of the Atlas container the connection belongs to.
    pub fn container_id(&self) -> Option<&str> {
        match self {
            Self::Aws(p) => Some(p.container_id.as_str()),
            Self::Gcp(p) => Some(p.container_id.as_str()),
            Self::Azure(p) => Some(p.container_id.as_str()),
            Self::Unknown(u) => u.str_field("containerId"),
        }
    }

    /// The status exactly as sent: AWS `statusName`, GCP and Azure `status`. For an unknown
    /// provider, `statusName` if it is a string, else `status`.
    pub fn raw_status(&self) -> Option<&str> {
        match self {
            Self::Aws(p) => p.status_name.as_ref().map(types::AwsPeerStatus::as_str),
            Self::Gcp(p) => p.status.as_ref().map(types::GcpPeerStatus::as_str),
            Self::Azure(p) => p.status.as_ref().map(types::AzurePeerStatus::as_str),
            Self::Unknown(u) => u.str_field("statusName").or_else(|| u.str_field("status")),
        }
    }

    /// The normalized status (see [`PeerStatus`]); `None` when the entry carries none.
    pub fn status(&self) -> Option<PeerStatus> {
        self.raw_status().map(PeerStatus::from_wire)
    }

    /// Why the connection failed, as the provider put it: AWS `errorStateName` (`REJECTED`,
    /// `EXPIRED`, `INVALID_ARGUMENT`, ...), GCP `errorMessage`, Azure `errorState`. `None`
    /// when the field is absent or `null`. For an unknown provider, the first of those three
    /// fields that is a string.
    pub fn error_detail(&self) -> Option<&str> {
        match self {
            Self::Aws(p) => p
                .error_state_name
                .as_ref()
                .and_then(Option::as_ref)
                .map(types::AwsPeerErrorState::as_str),
            Self::Gcp(p) => nullable(&p.error_message),
            Self::Azure(p) => nullable(&p.error_state),
            Self::Unknown(u) => u
                .str_field("errorStateName")
                .or_else(|| u.str_field("errorMessage"))
                .or_else(|| u.str_field("errorState")),
        }
    }

    /// Whether the connection is up ([`PeerStatus::Available`]).
    pub fn is_available(&self) -> bool {
        self.status().is_some_and(|s| s.is_available())
    }

    /// Whether the connection has failed for good: its status is a terminal failure
    /// ([`PeerStatus::is_terminal_failure`]), or it is an AWS connection that carries an
    /// `errorStateName` (`REJECTED`, `EXPIRED`, `INVALID_ARGUMENT`, or a value this SDK does
    /// not list), which AWS sets only on a connection that failed.
    pub fn is_terminal_failure(&self) -> bool {
        if self.status().is_some_and(|s| s.is_terminal_failure()) {
            return true;
        }
        match self {
            Self::Aws(p) => matches!(p.error_state_name, Some(Some(_))),
            _ => false,
        }
    }
}

// ---- Regions: Atlas's spelling and the provider's -----------------------------------------

// Atlas names regions its own way (`EU_CENTRAL_1`, `WESTERN_EUROPE`, `EUROPE_WEST`) in the
// container fields `regionName` (AWS), `regions` (GCP) and `region` (Azure), which the
// generated `AwsRegion`, `GcpRegion` and `AzureRegion` hold. A peering's AWS
// `accepterRegionName` takes AWS's own spelling (`eu-central-1`) as a plain string. The
// conversions below go between the two; the provider names are from each provider's region
// list as the Atlas documentation pairs them ("Amazon Web Services", "Google Cloud" and
// "Microsoft Azure" pages of "Cloud Providers and Regions").

/// GCP: Atlas's name and Google Cloud's.
const GCP_REGIONS: &[(&str, &str)] = &[
    ("AFRICA_SOUTH_1", "africa-south1"),
    ("ASIA_EAST_2", "asia-east2"),
    ("ASIA_NORTHEAST_2", "asia-northeast2"),
    ("ASIA_NORTHEAST_3", "asia-northeast3"),
    ("ASIA_SOUTH_1", "asia-south1"),
    ("ASIA_SOUTH_2", "asia-south2"),
    ("ASIA_SOUTHEAST_2", "asia-southeast2"),
    ("AUSTRALIA_SOUTHEAST_1", "australia-southeast1"),
    ("AUSTRALIA_SOUTHEAST_2", "australia-southeast2"),
    ("CENTRAL_US", "us-central1"),
    ("EASTERN_ASIA_PACIFIC", "asia-east1"),
    ("EASTERN_US", "us-east1"),
    ("EUROPE_CENTRAL_2", "europe-central2"),
    ("EUROPE_NORTH_1", "europe-north1"),
    ("EUROPE_WEST_2", "europe-west2"),
    ("EUROPE_WEST_3", "europe-west3"),
    ("EUROPE_WEST_4", "europe-west4"),
    ("EUROPE_WEST_6", "europe-west6"),
    ("EUROPE_WEST_10", "europe-west10"),
    ("EUROPE_WEST_12", "europe-west12"),
    ("MIDDLE_EAST_CENTRAL_1", "me-central1"),
    ("MIDDLE_EAST_CENTRAL_2", "me-central2"),
    ("MIDDLE_EAST_WEST_1", "me-west1"),
    ("NORTH_AMERICA_NORTHEAST_1", "northamerica-northeast1"),
    ("NORTH_AMERICA_NORTHEAST_2", "northamerica-northeast2"),
    ("NORTH_AMERICA_SOUTH_1", "northamerica-south1"),
    ("NORTHEASTERN_ASIA_PACIFIC", "asia-northeast1"),
    ("SOUTH_AMERICA_EAST_1", "southamerica-east1"),
    ("SOUTH_AMERICA_WEST_1", "southamerica-west1"),
    ("SOUTHEASTERN_ASIA_PACIFIC", "asia-southeast1"),
    ("US_EAST_4", "us-east4"),
    ("US_EAST_5", "us-east5"),
    ("US_WEST_2", "us-west2"),
    ("US_WEST_3", "us-west3"),
    ("US_WEST_4", "us-west4"),
    ("US_SOUTH_1", "us-south1"),
    ("WESTERN_EUROPE", "europe-west1"),
    ("WESTERN_US", "us-west1"),
];

/// Azure: Atlas's name and Azure's (the `name` of `az account list-locations`).
const AZURE_REGIONS: &[(&str, &str)] = &[
    ("US_CENTRAL", "centralus"),
    ("US_EAST", "eastus"),
    ("US_EAST_2", "eastus2"),
    ("US_EAST_2_EUAP", "eastus2euap"),
    ("US_NORTH_CENTRAL", "northcentralus"),
    ("US_WEST", "westus"),
    ("US_SOUTH_CENTRAL", "southcentralus"),
    ("EUROPE_NORTH", "northeurope"),
    ("EUROPE_WEST", "westeurope"),
    ("US_WEST_CENTRAL", "westcentralus"),
    ("US_WEST_2", "westus2"),
    ("US_WEST_3", "westus3"),
    ("CANADA_EAST", "canadaeast"),
    ("CANADA_CENTRAL", "canadacentral"),
    ("BRAZIL_SOUTH", "brazilsouth"),
    ("BRAZIL_SOUTHEAST", "brazilsoutheast"),
    ("AUSTRALIA_EAST", "australiaeast"),
    ("AUSTRALIA_SOUTH_EAST", "australiasoutheast"),
    ("AUSTRALIA_CENTRAL", "australiacentral"),
    ("AUSTRALIA_CENTRAL_2", "australiacentral2"),
    ("UAE_NORTH", "uaenorth"),
    ("GERMANY_WEST_CENTRAL", "germanywestcentral"),
    ("GERMANY_NORTH", "germanynorth"),
    ("SWITZERLAND_NORTH", "switzerlandnorth"),
    ("SWITZERLAND_WEST", "switzerlandwest"),
    ("SWEDEN_CENTRAL", "swedencentral"),
    ("SWEDEN_SOUTH", "swedensouth"),
    ("UK_SOUTH", "uksouth"),
    ("UK_WEST", "ukwest"),
    ("INDIA_CENTRAL", "centralindia"),
    ("INDIA_WEST", "westindia"),
    ("INDIA_SOUTH", "southindia"),
    ("CHINA_EAST", "chinaeast"),
    ("CHINA_NORTH", "chinanorth"),
    ("ASIA_EAST", "eastasia"),
    ("JAPAN_EAST", "japaneast"),
    ("JAPAN_WEST", "japanwest"),
    ("ASIA_SOUTH_EAST", "southeastasia"),
    ("KOREA_CENTRAL", "koreacentral"),
    ("KOREA_SOUTH", "koreasouth"),
    ("FRANCE_CENTRAL", "francecentral"),
    ("FRANCE_SOUTH", "francesouth"),
    ("SOUTH_AFRICA_NORTH", "southafricanorth"),
    ("SOUTH_AFRICA_WEST", "southafricawest"),
    ("NORWAY_EAST", "norwayeast"),
    ("NORWAY_WEST", "norwaywest"),
    ("UAE_CENTRAL", "uaecentral"),
    ("QATAR_CENTRAL", "qatarcentral"),
    ("POLAND_CENTRAL", "polandcentral"),
    ("ISRAEL_CENTRAL", "israelcentral"),
    ("ITALY_NORTH", "italynorth"),
    ("SPAIN_CENTRAL", "spaincentral"),
    ("MEXICO_CENTRAL", "mexicocentral"),
    ("NEW_ZEALAND_NORTH", "newzealandnorth"),
    ("INDONESIA_CENTRAL", "indonesiacentral"),
    ("MALAYSIA_WEST", "malaysiawest"),
    ("CHILE_CENTRAL", "chilecentral"),
    ("US_GOV_VIRGINIA", "usgovvirginia"),
    ("US_GOV_ARIZONA", "usgovarizona"),
    ("US_GOV_TEXAS", "usgovtexas"),
];

/// The error for a provider region name the SDK cannot place; says when `name` is Atlas's
/// own spelling, which the enum's `From<&str>` takes.
fn unknown_region(
    kind: &str,
    provider: &str,
    example: &str,
    name: &str,
    atlas: bool,
) -> crate::Error {
    let hint = if atlas {
        format!("; `{name}` is Atlas's spelling, which `{kind}::from` takes")
    } else {
        String::new()
    };
    crate::Error::InvalidArgument(format!(
        "`{name}` is not a region Atlas lists for {provider} in {provider}'s spelling (like `{example}`){hint}"
    ))
}

/// `(Atlas's name, the provider's)` of `table` whose side `pick` equals `name`.
fn region_row(
    table: &'static [(&str, &str)],
    name: &str,
    provider_side: bool,
) -> Option<(&'static str, &'static str)> {
    table
        .iter()
        .copied()
        .find(|(atlas, provider)| (if provider_side { *provider } else { *atlas }) == name)
}

impl types::AwsRegion {
    /// AWS's own name of the region (`eu-central-1` for [`EuCentral1`](Self::EuCentral1)),
    /// as a peering's `accepterRegionName` takes it: Atlas's name in lower case with `-` for
    /// `_`. `None` for `GLOBAL` (no AWS region) and for a value the spec does not list.
    pub fn provider_name(&self) -> Option<String> {
        (self.is_known() && *self != Self::Global)
            .then(|| self.as_str().to_ascii_lowercase().replace('_', "-"))
    }

    /// The region AWS calls `name` (`eu-central-1`), for a container's `regionName`. A name
    /// Atlas does not list is [`crate::Error::InvalidArgument`] naming it (where
    /// `AwsRegion::from` would keep it as `Unknown` and Atlas answer 400).
    ///
    /// ```
    /// use atlas_network_peering::types::AwsRegion;
    /// assert_eq!(AwsRegion::from_provider_name("eu-central-1")?, AwsRegion::EuCentral1);
    /// assert!(AwsRegion::from_provider_name("EU_CENTRAL_1").is_err()); // Atlas's spelling: `AwsRegion::from`
    /// # Ok::<(), atlas_network_peering::Error>(())
    /// ```
    pub fn from_provider_name(name: &str) -> Result<Self, crate::Error> {
        let region = Self::from(name.to_ascii_uppercase().replace('-', "_").as_str());
        match region.provider_name() {
            Some(spelled) if spelled == name => Ok(region),
            _ => Err(unknown_region(
                "AwsRegion",
                "AWS",
                "eu-central-1",
                name,
                Self::from(name).is_known(),
            )),
        }
    }
}

impl types::GcpRegion {
    /// Google Cloud's own name of the region (`europe-west1` for
    /// [`WesternEurope`](Self::WesternEurope)); `None` for a value the spec does not list.
    pub fn provider_name(&self) -> Option<&'static str> {
        region_row(GCP_REGIONS, self.as_str(), false).map(|(_, gcp)| gcp)
    }

    /// The region Google Cloud calls `name` (`europe-west1`), for a container's `regions`;
    /// an unlisted name is [`crate::Error::InvalidArgument`] naming it.
    pub fn from_provider_name(name: &str) -> Result<Self, crate::Error> {
        region_row(GCP_REGIONS, name, true)
            .map(|(atlas, _)| Self::from(atlas))
            .ok_or_else(|| {
                unknown_region(
                    "GcpRegion",
                    "GCP",
                    "europe-west1",
                    name,
                    Self::from(name).is_known(),
                )
            })
    }
}

impl types::AzureRegion {
    /// Azure's own name of the region (`westeurope` for [`EuropeWest`](Self::EuropeWest));
    /// `None` for a value the spec does not list.
    pub fn provider_name(&self) -> Option<&'static str> {
        region_row(AZURE_REGIONS, self.as_str(), false).map(|(_, azure)| azure)
    }

    /// The region Azure calls `name` (`westeurope`), for a container's `region`; an unlisted
    /// name is [`crate::Error::InvalidArgument`] naming it.
    pub fn from_provider_name(name: &str) -> Result<Self, crate::Error> {
        region_row(AZURE_REGIONS, name, true)
            .map(|(atlas, _)| Self::from(atlas))
            .ok_or_else(|| {
                unknown_region(
                    "AzureRegion",
                    "Azure",
                    "westeurope",
                    name,
                    Self::from(name).is_known(),
                )
            })
    }
}

// ---- Request bodies from what the caller knows ---------------------------------------------

/// `value` as an id, or the crate's error naming `field`.
fn object_id(field: &str, value: &str) -> Result<types::ObjectId, crate::Error> {
    value
        .parse()
        .map_err(|e| crate::Error::InvalidArgument(format!("{field}: {e}")))
}

/// Why `value` is not an Atlas id (24 lowercase hexadecimal characters), naming the value and
/// the rule; `None` when it is one. The generated `ObjectId` parsing (`FromStr`, `TryFrom`,
/// serde) and the builders' id setters give this message.
pub(crate) fn object_id_error(value: &str) -> Option<String> {
    const RULE: &str = "24 lowercase hexadecimal characters";
    let is_hex = |lower: bool| {
        value.len() == 24
            && value.bytes().all(|b| {
                b.is_ascii_digit()
                    || (b'a'..=b'f').contains(&if lower { b } else { b.to_ascii_lowercase() })
            })
    };
    if is_hex(true) {
        return None;
    }
    let shown: String = value.chars().take(64).collect();
    let shown = if shown.len() < value.len() {
        format!("{shown}...")
    } else {
        shown
    };
    Some(if is_hex(false) {
        format!(
            "`{shown}` is not an Atlas id: {RULE} (only the upper case is wrong: `{}`)",
            value.to_ascii_lowercase()
        )
    } else {
        format!("`{shown}` is not an Atlas id: {RULE}")
    })
}

impl types::AwsContainer {
    /// An AWS container to create (or the body of an update): its Atlas CIDR block (private,
    /// /21 to /24) and region. `providerName` is `AWS`; the fields Atlas fills in (`id`,
    /// `provisioned`, `vpcId`) are left out.
    pub fn new(atlas_cidr_block: impl Into<String>, region_name: types::AwsRegion) -> Self {
        Self {
            atlas_cidr_block: atlas_cidr_block.into(),
            region_name,
            provider_name: Some(types::AwsContainerProviderName::Aws),
            id: None,
            provisioned: None,
            vpc_id: None,
        }
    }
}

impl types::GcpContainer {
    /// The project's GCP container: its Atlas CIDR block (private, /18 or larger unless
    /// [`with_regions`](Self::with_regions) names the regions). `providerName` is `GCP`; the
    /// fields Atlas fills in are left out.
    pub fn new(atlas_cidr_block: impl Into<String>) -> Self {
        Self {
            atlas_cidr_block: atlas_cidr_block.into(),
            provider_name: types::GcpContainerProviderName::Gcp,
            regions: None,
            id: None,
            provisioned: None,
            gcp_project_id: None,
            network_name: None,
        }
    }

    /// The regions the container serves (each takes a /24 of the block, which may then be
    /// /21 to /24).
    #[must_use]
    pub fn with_regions(mut self, regions: impl IntoIterator<Item = types::GcpRegion>) -> Self {
        self.regions = Some(regions.into_iter().collect());
        self
    }
}

impl types::AzureContainer {
    /// An Azure container to create: its Atlas CIDR block (private, /21 to /24) and region.
    /// `providerName` is `AZURE`; the fields Atlas fills in are left out.
    pub fn new(atlas_cidr_block: impl Into<String>, region: types::AzureRegion) -> Self {
        Self {
            atlas_cidr_block: atlas_cidr_block.into(),
            region,
            provider_name: types::AzureContainerProviderName::Azure,
            id: None,
            provisioned: None,
            azure_subscription_id: None,
            vnet_name: None,
        }
    }
}

impl types::AwsPeer {
    /// An AWS peering request: the Atlas container, the customer's 12-digit AWS account, VPC,
    /// the VPC's CIDR block (or the subnet of it that reaches Atlas), and the VPC's region in
    /// AWS's own spelling (`"eu-west-1"`, which `AwsRegion::EuWest1.provider_name()` gives),
    /// or `None` when it is the container's region. The container itself takes Atlas's
    /// spelling ([`types::AwsRegion`], `EU_WEST_1`).
    /// `providerName` is `AWS`; the fields Atlas fills in (`id`, `statusName`, `connectionId`,
    /// `errorStateName`) are left out.
    ///
    /// Fails with [`crate::Error::InvalidArgument`] naming the field when `container_id` is not
    /// an Atlas id or `aws_account_id` not 12 digits.
    ///
    /// ```
    /// use atlas_network_peering::types::AwsPeer;
    /// let peer = AwsPeer::new("65b07d4e1a2c3f5e6d7b8a90", "418273645091", "vpc-07e3c5a9b1d2f4e68", "172.31.0.0/16", Some("eu-west-1"))?;
    /// assert_eq!(serde_json::to_value(&peer)?["providerName"], "AWS");
    /// assert!(AwsPeer::new("not-an-id", "418273645091", "vpc-1", "10.0.0.0/16", None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        container_id: &str,
        aws_account_id: &str,
        vpc_id: impl Into<String>,
        route_table_cidr_block: impl Into<String>,
        accepter_region_name: Option<&str>,
    ) -> Result<Self, crate::Error> {
        Ok(Self {
            container_id: object_id("container_id", container_id)?,
            aws_account_id: aws_account_id.parse().map_err(|_| {
                crate::Error::InvalidArgument(format!(
                    "aws_account_id: `{aws_account_id}` is not a 12-digit AWS account id"
                ))
            })?,
            vpc_id: vpc_id.into(),
            route_table_cidr_block: route_table_cidr_block.into(),
            accepter_region_name: accepter_region_name.map(str::to_owned),
            provider_name: Some(types::AwsPeerProviderName::Aws),
            id: None,
            connection_id: None,
            status_name: None,
            error_state_name: None,
        })
    }
}

impl types::GcpPeer {
    /// A GCP peering request: the Atlas container, and the customer's Google Cloud project id
    /// and VPC network name. `providerName` is `GCP`; the fields Atlas fills in are left out.
    /// Fails with [`crate::Error::InvalidArgument`] when `container_id` is not an Atlas id.
    pub fn new(
        container_id: &str,
        gcp_project_id: impl Into<String>,
        network_name: impl Into<String>,
    ) -> Result<Self, crate::Error> {
        Ok(Self {
            container_id: object_id("container_id", container_id)?,
            gcp_project_id: gcp_project_id.into(),
            network_name: network_name.into(),
            provider_name: types::GcpPeerProviderName::Gcp,
            id: None,
            status: None,
            error_message: None,
        })
    }
}

impl types::AzurePeer {
    /// An Azure peering request: the Atlas container, and the customer's Azure AD tenant
    /// (directory) id, subscription id, resource group and virtual network. `providerName` is
    /// `AZURE`; the fields Atlas fills in are left out. Fails with
    /// [`crate::Error::InvalidArgument`] when `container_id` is not an Atlas id.
    pub fn new(
        container_id: &str,
        azure_directory_id: impl Into<String>,
        azure_subscription_id: impl Into<String>,
        resource_group_name: impl Into<String>,
        vnet_name: impl Into<String>,
    ) -> Result<Self, crate::Error> {
        Ok(Self {
            container_id: object_id("container_id", container_id)?,
            azure_directory_id: azure_directory_id.into(),
            azure_subscription_id: azure_subscription_id.into(),
            resource_group_name: resource_group_name.into(),
            vnet_name: vnet_name.into(),
            atlas_cidr_block: None,
            provider_name: types::AzurePeerProviderName::Azure,
            id: None,
            status: None,
            error_state: None,
        })
    }

    /// The Atlas container's CIDR block, which older Atlas versions took here.
    #[must_use]
    pub fn with_atlas_cidr_block(mut self, atlas_cidr_block: impl Into<String>) -> Self {
        self.atlas_cidr_block = Some(atlas_cidr_block.into());
        self
    }
}

// ---- Ids ----------------------------------------------------------------------------------

macro_rules! checked_string {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self
            }
        }

        impl TryFrom<&String> for $ty {
            type Error = types::error::ConversionError;
            fn try_from(value: &String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }
    };
}

checked_string!(types::ObjectId);
checked_string!(types::AwsPeerAwsAccountId);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "65c1d2e3f4a5b6c7d8e9f0a1";
    const CONTAINER: &str = "64b0c1d2e3f4a5b6c7d8e9f1";

    fn peer(value: Value) -> Peer {
        serde_json::from_value(value).expect("peer decodes")
    }

    fn failure<T: DeserializeOwned>(body: &str) -> (String, String) {
        assert!(serde_json::from_str::<T>(body).is_err(), "{body} decodes");
        decode_failure::<T>(body.as_bytes())
    }

    #[test]
    fn ids_display_borrow_and_convert_from_every_string() {
        let text = "65c1d2e3f4a5b6c7d8e9f0a1".to_owned();
        let id = types::ObjectId::try_from(&text).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(AsRef::<str>::as_ref(&id), text);
        assert_eq!(types::ObjectId::try_from(text.as_str()).unwrap(), id);
        assert_eq!(types::ObjectId::try_from(text.clone()).unwrap(), id);
        assert_eq!(text.parse::<types::ObjectId>().unwrap(), id);
        for bad in [
            "65C1D2E3F4A5B6C7D8E9F0A1",
            "65c1d2e3f4a5b6c7d8e9f0a",
            "../65c1d2e3f4a5b6c7d8e9f0",
        ] {
            assert!(bad.parse::<types::ObjectId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn request_bodies_hold_only_what_the_caller_gives() {
        let aws =
            types::AwsPeer::new(CONTAINER, "418273645091", "vpc-1", "10.0.0.0/16", None).unwrap();
        assert_eq!(
            serde_json::to_value(Peer::from(aws)).unwrap(),
            json!({"providerName": "AWS", "containerId": CONTAINER, "awsAccountId": "418273645091",
                   "vpcId": "vpc-1", "routeTableCidrBlock": "10.0.0.0/16", "accepterRegionName": null})
        );
        let err = types::AwsPeer::new(CONTAINER, "4182", "vpc-1", "10.0.0.0/16", None).unwrap_err();
        assert!(err.to_string().contains("aws_account_id: `4182`"), "{err}");
        let err = types::GcpPeer::new("nope", "p", "n").unwrap_err();
        assert!(
            matches!(err, crate::Error::InvalidArgument(ref m) if m.starts_with("container_id: `nope`")),
            "{err}"
        );
        let azure = types::AzurePeer::new(CONTAINER, "d", "s", "rg", "vnet")
            .unwrap()
            .with_atlas_cidr_block("10.1.0.0/21");
        assert_eq!(
            serde_json::to_value(&azure).unwrap()["atlasCidrBlock"],
            "10.1.0.0/21"
        );
        let gcp =
            types::GcpContainer::new("10.64.0.0/21").with_regions([types::GcpRegion::EuropeWest3]);
        assert_eq!(
            serde_json::to_value(Container::from(gcp)).unwrap(),
            json!({"providerName": "GCP", "atlasCidrBlock": "10.64.0.0/21", "regions": ["EUROPE_WEST_3"]})
        );
        assert_eq!(
            serde_json::to_value(types::AwsContainer::new(
                "10.8.0.0/21",
                types::AwsRegion::UsEast1
            ))
            .unwrap(),
            json!({"providerName": "AWS", "atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"})
        );
    }

    #[test]
    fn the_provider_name_picks_the_variant_and_absent_or_null_is_aws() {
        let aws = json!({"containerId": CONTAINER, "accepterRegionName": null,
            "awsAccountId": "123456789012", "routeTableCidrBlock": "172.31.0.0/16",
            "vpcId": "vpc-07e3c5a9b1d2f4e68"});
        assert!(matches!(peer(aws.clone()), Peer::Aws(_)));
        let mut tagged = aws.clone();
        tagged["providerName"] = json!(null);
        assert!(matches!(peer(tagged.clone()), Peer::Aws(_)));
        tagged["providerName"] = json!("AWS");
        assert!(matches!(peer(tagged), Peer::Aws(_)));
        let gcp = json!({"providerName": "GCP", "containerId": CONTAINER,
            "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"});
        assert!(matches!(peer(gcp), Peer::Gcp(_)));
    }

    #[test]
    fn an_unmodelled_provider_keeps_its_json_as_sent() {
        for tag in [json!("TENANT"), json!(7), json!(["AWS"])] {
            let entry = json!({"providerName": tag, "id": ID, "anything": {"nested": [1, 2]}});
            let Peer::Unknown(unknown) = peer(entry.clone()) else {
                panic!("{entry}")
            };
            assert_eq!(Value::Object(unknown.raw().clone()), entry);
            assert_eq!(serde_json::to_value(Peer::Unknown(unknown)).unwrap(), entry);
        }
    }

    #[test]
    fn a_malformed_known_provider_is_an_error_naming_the_field() {
        let body = r#"{"providerName": "AWS", "regionName": "US_EAST_1",
            "atlasCidrBlock": "10.8.0.0/21", "provisioned": "yes"}"#;
        let e = serde_json::from_str::<Container>(body)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("AWS container, at `/provisioned`: invalid type"),
            "{e}"
        );
        let (path, message) = failure::<Container>(body);
        assert_eq!(path, "/provisioned");
        assert!(message.contains("expected a boolean"), "{message}");
    }

    #[test]
    fn a_repeated_provider_name_is_refused() {
        for body in [
            r#"{"providerName": "AWS", "providerName": "GCP"}"#,
            r#"{"providerName": "TENANT", "providerName": "TENANT"}"#,
        ] {
            let e = serde_json::from_str::<Peer>(body).unwrap_err().to_string();
            assert!(e.contains("duplicate field `providerName`"), "{e}");
        }
    }

    #[test]
    fn the_failure_path_reaches_into_the_entry_compact_or_pretty() {
        let entry = json!({"providerName": "GCP", "containerId": CONTAINER,
            "gcpProjectId": "p", "networkName": 7});
        let page = json!({"results": [peer(json!({"providerName": "GCP", "containerId": CONTAINER,
            "gcpProjectId": "p", "networkName": "n"})), entry], "totalCount": 2});
        for body in [
            page.to_string(),
            serde_json::to_string_pretty(&page).unwrap(),
        ] {
            let (path, message) = failure::<types::PeerPage>(&body);
            assert_eq!(path, "/results/1/networkName", "{body}");
            assert!(message.starts_with("GCP peering connection"), "{message}");
        }
        // A failure outside any entry, and one that is not JSON at all.
        let (path, _) = failure::<types::PeerPage>(r#"{"results": [], "totalCount": "two"}"#);
        assert_eq!(path, "/totalCount");
        assert_eq!(failure::<types::PeerPage>("<html>").0, "/");
        // A body cut short inside an entry: the key being read.
        let cut = r#"{"results": [{"providerName": "GCP", "networkName": "shared-"#;
        let (path, message) = failure::<types::PeerPage>(cut);
        assert_eq!(path, "/results/0/networkName");
        assert!(message.contains("EOF"), "{message}");
        // The slot of an earlier failure does not leak into the next.
        let (path, _) = failure::<types::PeerPage>(r#"{"results": 5}"#);
        assert_eq!(path, "/results");
    }

    fn container(value: Value) -> Container {
        serde_json::from_value(value).expect("container decodes")
    }

    fn aws(status: Value, error: Value) -> Peer {
        peer(
            json!({"id": ID, "containerId": CONTAINER, "accepterRegionName": null,
            "awsAccountId": "123456789012", "routeTableCidrBlock": "172.31.0.0/16",
            "vpcId": "vpc-07e3c5a9b1d2f4e68", "statusName": status, "errorStateName": error}),
        )
    }

    fn gcp(status: Value, error: Value) -> Peer {
        peer(
            json!({"id": ID, "providerName": "GCP", "containerId": CONTAINER,
            "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services",
            "status": status, "errorMessage": error}),
        )
    }

    fn azure(status: Value, error: Value) -> Peer {
        peer(
            json!({"id": ID, "providerName": "AZURE", "containerId": CONTAINER,
            "azureDirectoryId": "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
            "azureSubscriptionId": "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
            "resourceGroupName": "rg-payments-prod", "vnetName": "vnet-payments",
            "status": status, "errorState": error}),
        )
    }

    #[test]
    fn every_listed_status_of_every_provider_is_normalized() {
        use PeerStatus as S;
        let aws_table = [
            ("INITIATING", S::Pending),
            ("PENDING_ACCEPTANCE", S::WaitingForUser),
            ("FAILED", S::Failed),
            ("FINALIZING", S::Pending),
            ("AVAILABLE", S::Available),
            ("TERMINATING", S::Deleting),
        ];
        let gcp_table = [
            ("ADDING_PEER", S::Pending),
            ("WAITING_FOR_USER", S::WaitingForUser),
            ("AVAILABLE", S::Available),
            ("FAILED", S::Failed),
            ("DELETING", S::Deleting),
        ];
        let azure_table = [
            ("ADDING_PEER", S::Pending),
            ("AVAILABLE", S::Available),
            ("FAILED", S::Failed),
            ("DELETION_FAILED", S::DeletionFailed),
            ("DELETING", S::Deleting),
        ];
        // The tables cover every value the spec lists.
        assert_eq!(aws_table.len(), types::AwsPeerStatus::KNOWN.len());
        assert_eq!(gcp_table.len(), types::GcpPeerStatus::KNOWN.len());
        assert_eq!(azure_table.len(), types::AzurePeerStatus::KNOWN.len());
        for (wire, expected) in &aws_table {
            let p = aws(json!(wire), Value::Null);
            assert_eq!(p.status().as_ref(), Some(expected), "AWS {wire}");
            assert_eq!(p.raw_status(), Some(*wire));
            assert_eq!(
                PeerStatus::from(&types::AwsPeerStatus::from(*wire)),
                *expected
            );
        }
        for (wire, expected) in &gcp_table {
            let p = gcp(json!(wire), Value::Null);
            assert_eq!(p.status().as_ref(), Some(expected), "GCP {wire}");
            assert_eq!(
                PeerStatus::from(&types::GcpPeerStatus::from(*wire)),
                *expected
            );
        }
        for (wire, expected) in &azure_table {
            let p = azure(json!(wire), Value::Null);
            assert_eq!(p.status().as_ref(), Some(expected), "Azure {wire}");
            assert_eq!(
                PeerStatus::from(&types::AzurePeerStatus::from(*wire)),
                *expected
            );
        }
    }

    #[test]
    fn unknown_statuses_are_kept_and_are_neither_available_nor_terminal() {
        for p in [
            aws(json!("QUARANTINED"), Value::Null),
            gcp(json!("QUARANTINED"), Value::Null),
            azure(json!("QUARANTINED"), Value::Null),
        ] {
            let status = p.status().expect("a status");
            assert_eq!(status, PeerStatus::Unknown("QUARANTINED".into()));
            assert!(!status.is_available() && !status.is_terminal_failure());
            assert!(!p.is_available() && !p.is_terminal_failure());
        }
        // Case matters: the wire values are upper case.
        assert_eq!(
            PeerStatus::from_wire("available"),
            PeerStatus::Unknown("available".into())
        );
        assert_eq!(
            PeerStatus::from_wire(""),
            PeerStatus::Unknown(String::new())
        );
    }

    #[test]
    fn predicates() {
        use PeerStatus as S;
        let all = [
            S::Pending,
            S::WaitingForUser,
            S::Available,
            S::Failed,
            S::Deleting,
            S::DeletionFailed,
            S::Unknown("X".into()),
        ];
        for s in &all {
            assert_eq!(s.is_available(), *s == S::Available, "{s:?}");
            assert_eq!(
                s.is_terminal_failure(),
                matches!(s, S::Failed | S::DeletionFailed),
                "{s:?}"
            );
        }
    }

    #[test]
    fn every_listed_region_round_trips_through_the_provider_spelling() {
        let mut aws = 0;
        for atlas in types::AwsRegion::KNOWN {
            let region = types::AwsRegion::from(*atlas);
            let Some(name) = region.provider_name() else {
                assert_eq!(region, types::AwsRegion::Global);
                continue;
            };
            assert_eq!(name, atlas.to_ascii_lowercase().replace('_', "-"));
            assert_eq!(types::AwsRegion::from_provider_name(&name).unwrap(), region);
            aws += 1;
        }
        assert_eq!(aws, types::AwsRegion::KNOWN.len() - 1, "all but GLOBAL");
        // The tables list every value the spec does, once each side.
        for (table, known) in [
            (GCP_REGIONS, types::GcpRegion::KNOWN),
            (AZURE_REGIONS, types::AzureRegion::KNOWN),
        ] {
            let mut atlas: Vec<_> = table.iter().map(|(a, _)| *a).collect();
            let mut provider: Vec<_> = table.iter().map(|(_, p)| *p).collect();
            let mut listed = known.to_vec();
            atlas.sort_unstable();
            listed.sort_unstable();
            provider.sort_unstable();
            provider.dedup();
            assert_eq!(atlas, listed);
            assert_eq!(provider.len(), listed.len(), "a provider name twice");
        }
        for atlas in types::GcpRegion::KNOWN {
            let region = types::GcpRegion::from(*atlas);
            let name = region.provider_name().unwrap();
            assert_eq!(types::GcpRegion::from_provider_name(name).unwrap(), region);
        }
        for atlas in types::AzureRegion::KNOWN {
            let region = types::AzureRegion::from(*atlas);
            let name = region.provider_name().unwrap();
            assert_eq!(
                types::AzureRegion::from_provider_name(name).unwrap(),
                region
            );
        }
        assert_eq!(
            types::GcpRegion::from_provider_name("europe-west1").unwrap(),
            types::GcpRegion::WesternEurope
        );
        assert_eq!(
            types::AzureRegion::from_provider_name("westeurope").unwrap(),
            types::AzureRegion::EuropeWest
        );
        assert_eq!(
            types::AwsRegion::EuCentral1.provider_name().as_deref(),
            Some("eu-central-1")
        );
    }

    #[test]
    fn an_unknown_provider_region_is_an_error_naming_it() {
        let messages = [
            types::AwsRegion::from_provider_name("eu-central-9"),
            types::AwsRegion::from_provider_name("global"),
            types::AwsRegion::from_provider_name("Eu-Central-1"),
        ]
        .map(|r| r.unwrap_err().to_string());
        assert!(messages[0].contains("`eu-central-9` is not a region Atlas lists for AWS in AWS's spelling (like `eu-central-1`)"), "{}", messages[0]);
        assert!(messages[1].contains("`global`"), "{}", messages[1]);
        assert!(messages[2].contains("`Eu-Central-1`"), "{}", messages[2]);
        let atlas = types::AwsRegion::from_provider_name("EU_CENTRAL_1").unwrap_err();
        assert!(
            matches!(&atlas, crate::Error::InvalidArgument(m) if m.ends_with("`EU_CENTRAL_1` is Atlas's spelling, which `AwsRegion::from` takes")),
            "{atlas}"
        );
        let gcp = types::GcpRegion::from_provider_name("WESTERN_EUROPE").unwrap_err();
        assert!(gcp.to_string().contains("`GcpRegion::from`"), "{gcp}");
        let azure = types::AzureRegion::from_provider_name("West Europe").unwrap_err();
        assert!(azure.to_string().contains("`West Europe` is not a region Atlas lists for Azure in Azure's spelling (like `westeurope`)"), "{azure}");
        assert!(!azure.to_string().contains("Atlas's spelling"));
        // Values the spec does not list have no provider name.
        assert_eq!(types::AwsRegion::from("MARS_1").provider_name(), None);
        assert_eq!(types::GcpRegion::from("MARS_1").provider_name(), None);
        assert_eq!(types::AzureRegion::from("MARS_1").provider_name(), None);
    }

    #[test]
    fn error_detail_of_each_provider() {
        let rejected = aws(json!("FAILED"), json!("REJECTED"));
        assert_eq!(rejected.error_detail(), Some("REJECTED"));
        assert!(rejected.is_terminal_failure());

        // AWS sets errorStateName only on a failed connection: it counts even if the status
        // has not caught up yet, and an unlisted error state counts too.
        let expired = aws(json!("PENDING_ACCEPTANCE"), json!("EXPIRED"));
        assert_eq!(expired.status(), Some(PeerStatus::WaitingForUser));
        assert!(expired.is_terminal_failure());
        let odd = aws(json!("FAILED"), json!("QUOTA_EXCEEDED"));
        assert_eq!(odd.error_detail(), Some("QUOTA_EXCEEDED"));

        let gcp_failed = gcp(json!("FAILED"), json!("peering quota exceeded"));
        assert_eq!(gcp_failed.error_detail(), Some("peering quota exceeded"));
        assert!(gcp_failed.is_terminal_failure());

        let azure_failed = azure(json!("DELETION_FAILED"), json!("vnet locked"));
        assert_eq!(azure_failed.error_detail(), Some("vnet locked"));
        assert!(azure_failed.is_terminal_failure());

        // null and absent alike give no detail.
        for p in [
            aws(json!("AVAILABLE"), Value::Null),
            gcp(json!("AVAILABLE"), Value::Null),
            azure(json!("AVAILABLE"), Value::Null),
        ] {
            assert_eq!(p.error_detail(), None);
            assert!(p.is_available() && !p.is_terminal_failure());
        }
        let bare = peer(json!({"providerName": "GCP", "containerId": CONTAINER,
            "gcpProjectId": "p", "networkName": "n"}));
        assert_eq!(bare.error_detail(), None);
        assert_eq!(bare.status(), None);
        assert_eq!(bare.id(), None);
        assert!(!bare.is_available() && !bare.is_terminal_failure());
    }

    #[test]
    fn peer_accessors() {
        let p = aws(json!("AVAILABLE"), Value::Null);
        assert_eq!(p.id(), Some(ID));
        assert_eq!(p.container_id(), Some(CONTAINER));
        assert_eq!(p.provider_name(), Some("AWS"));
        assert_eq!(p.provider(), Some(types::CloudProvider::Aws));
        let g = gcp(json!("AVAILABLE"), Value::Null);
        assert_eq!(g.provider(), Some(types::CloudProvider::Gcp));
        assert_eq!(g.container_id(), Some(CONTAINER));
        let a = azure(json!("AVAILABLE"), Value::Null);
        assert_eq!(a.provider_name(), Some("AZURE"));
        assert_eq!(a.id(), Some(ID));
    }

    #[test]
    fn unknown_provider_peer_reads_the_raw_json() {
        let p = peer(json!({"id": ID, "providerName": "TENANT", "containerId": 7,
            "statusName": "AVAILABLE", "status": "FAILED", "errorMessage": "boom"}));
        assert_eq!(p.id(), Some(ID));
        assert_eq!(p.container_id(), None, "not a string");
        assert_eq!(p.provider_name(), Some("TENANT"));
        assert_eq!(
            p.provider(),
            Some(types::CloudProvider::Unknown("TENANT".into()))
        );
        assert_eq!(p.status(), Some(PeerStatus::Available), "statusName first");
        assert_eq!(p.error_detail(), Some("boom"));

        let odd = peer(json!({"providerName": 3, "status": ["AVAILABLE"], "errorState": "x"}));
        assert_eq!(odd.provider_name(), None);
        assert_eq!(odd.provider(), None);
        assert_eq!(odd.status(), None);
        assert_eq!(odd.error_detail(), Some("x"));
    }

    #[test]
    fn container_accessors() {
        let aws_c = container(json!({"id": CONTAINER, "provisioned": true,
            "atlasCidrBlock": "10.40.0.0/21", "regionName": "EU_WEST_1"}));
        assert_eq!(aws_c.id(), Some(CONTAINER));
        assert_eq!(
            aws_c.provider_name(),
            Some("AWS"),
            "absent providerName is AWS"
        );
        assert_eq!(aws_c.provider(), Some(types::CloudProvider::Aws));
        assert_eq!(aws_c.atlas_cidr_block(), Some("10.40.0.0/21"));
        assert!(aws_c.is_provisioned());

        let gcp_c = container(json!({"id": CONTAINER, "providerName": "GCP",
            "provisioned": false, "atlasCidrBlock": "10.64.0.0/18", "gcpProjectId": null}));
        assert_eq!(gcp_c.provider(), Some(types::CloudProvider::Gcp));
        assert!(!gcp_c.is_provisioned());

        let azure_c = container(
            json!({"providerName": "AZURE", "atlasCidrBlock": "10.8.0.0/21",
            "region": "US_EAST_2"}),
        );
        assert_eq!(azure_c.id(), None);
        assert_eq!(azure_c.provider_name(), Some("AZURE"));
        assert!(
            !azure_c.is_provisioned(),
            "absent counts as not provisioned"
        );

        let tenant = container(json!({"id": CONTAINER, "providerName": "TENANT",
            "provisioned": true}));
        assert_eq!(tenant.id(), Some(CONTAINER));
        assert_eq!(
            tenant.provider(),
            Some(types::CloudProvider::Unknown("TENANT".into()))
        );
        assert_eq!(tenant.atlas_cidr_block(), None);
        assert!(tenant.is_provisioned());
        let stringly = container(json!({"providerName": "TENANT", "provisioned": "true"}));
        assert!(!stringly.is_provisioned());
    }
}
