//! Hand-written models that progenitor cannot express.
//!
//! Containers and peering connections are polymorphic on `providerName`. The spec models AWS,
//! GCP and AZURE; Atlas also knows other providers (`TENANT`, `SERVERLESS`, and whatever it adds
//! next). A generated `oneOf` would fail a whole page on such an entry, so [`Container`] and
//! [`Peer`] are written here and the generator is told to use them (see
//! `codegen::Settings::for_sdk`):
//!
//! - `providerName` picks the variant; an AWS entry may leave it out (Atlas's default).
//! - Any other provider decodes into `Unknown`, which keeps the entry's JSON exactly as sent and
//!   encodes back to it.
//! - An entry of a known provider that does not match its schema is an error that names the
//!   provider and the JSON path that failed.

use std::borrow::Cow;

use serde::de::Error as _;
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

/// Decodes `raw` as `T`, naming the provider and the JSON path inside the entry on failure.
fn decode_variant<'de, T, D>(
    provider: &str,
    kind: &str,
    raw: Map<String, Value>,
) -> Result<T, D::Error>
where
    T: serde::de::DeserializeOwned,
    D: Deserializer<'de>,
{
    serde_path_to_error::deserialize(Value::Object(raw)).map_err(|e| {
        let path = e.path().to_string();
        D::Error::custom(format_args!(
            "{provider} {kind} at `{path}`: {}",
            e.into_inner()
        ))
    })
}

macro_rules! polymorphic {
    (
        $(#[$doc:meta])*
        $name:ident, $kind:literal,
        aws: $aws:ty, gcp: $gcp:ty, azure: $azure:ty
    ) => {
        $(#[$doc])*
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
                let raw = Map::<String, Value>::deserialize(deserializer)?;
                match raw.get("providerName") {
                    None => decode_variant::<_, D>("AWS", $kind, raw).map(Self::Aws),
                    Some(Value::String(p)) if p == "AWS" => decode_variant::<_, D>("AWS", $kind, raw).map(Self::Aws),
                    Some(Value::String(p)) if p == "GCP" => decode_variant::<_, D>("GCP", $kind, raw).map(Self::Gcp),
                    Some(Value::String(p)) if p == "AZURE" => {
                        decode_variant::<_, D>("AZURE", $kind, raw).map(Self::Azure)
                    }
                    Some(_) => Ok(Self::Unknown(UnknownProvider { raw })),
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

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
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
    /// A network peering container of any cloud provider.
    Container, "container",
    aws: types::AwsContainer, gcp: types::GcpContainer, azure: types::AzureContainer
}

polymorphic! {
    /// A network peering connection of any cloud provider.
    Peer, "peering connection",
    aws: types::AwsPeer, gcp: types::GcpPeer, azure: types::AzurePeer
}
