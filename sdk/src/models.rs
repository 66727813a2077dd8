#![deny(missing_docs)]
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
fn decode_variant<'de, T, D>(provider: &str, kind: &str, raw: &str) -> Result<T, D::Error>
where
    T: serde::de::DeserializeOwned,
    D: Deserializer<'de>,
{
    // The common case decodes once; only a failure is decoded again, tracking the path.
    if let Ok(value) = serde_json::from_str(raw) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_position(&e.into_inner());
        D::Error::custom(format_args!("{provider} {kind} at `{path}`: {inner}"))
    })
}

/// An inner error's message without its " at line N column M": serde_json would read that
/// suffix as the position of the outer error, which must be the entry's place in the body.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() != 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// What a `providerName` holds; a string is borrowed from the entry's text when it has no
/// escapes (always, in practice).
enum Tag<'a> {
    Str(Cow<'a, str>),
    /// `null`: read as if the field were absent.
    Null,
    /// A number, boolean, array or object: no provider this SDK models.
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Tag<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Tag<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Tag<'a>, E> {
                Ok(Tag::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Tag<'a>, E> {
                Ok(Tag::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<Tag<'a>, E> {
                Ok(Tag::Null)
            }
            fn visit_none<E>(self) -> Result<Tag<'a>, E> {
                Ok(Tag::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tag<'a>, E> {
                Ok(Tag::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tag<'a>, E> {
                Ok(Tag::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tag<'a>, E> {
                Ok(Tag::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tag<'a>, E> {
                Ok(Tag::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Tag<'a>, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Tag::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Tag<'a>, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Tag::Other)
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// Reads the `providerName` of an entry captured as text. Keeping the text (not a decoded
/// map) lets the chosen variant decode straight from it: about half the cost of a page.
fn provider_of<'a, E: serde::de::Error>(
    raw: &'a serde_json::value::RawValue,
) -> Result<Option<Tag<'a>>, E> {
    provider_in(raw.get()).map_err(|e| E::custom(without_position(&e)))
}

/// The `providerName` of the JSON object `text`, if it has one. The object is read only up
/// to that field: the variant's own decoding reads (and checks) all of it afterwards.
///
/// [`scan_provider`] answers for every well-formed object; what it cannot read is left to
/// serde_json, whose verdict (and error) then stands.
fn provider_in(text: &str) -> Result<Option<Tag<'_>>, serde_json::Error> {
    match scan_provider(text) {
        Some(found) => Ok(found),
        None => provider_in_by_serde(text),
    }
}

/// [`provider_in`] through serde_json: the keys read with `IsProviderKey`, the values skipped
/// as `IgnoredAny`. It costs more than [`scan_provider`] (most of it per key: for the one-peer
/// body of the `get_peer` bench it was ~3,200 instructions), and stopping inside the object
/// makes serde_json build an error to report what follows.
fn provider_in_by_serde(text: &str) -> Result<Option<Tag<'_>>, serde_json::Error> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let scanned = Deserializer::deserialize_map(&mut de, FindProvider(&mut found));
    match found {
        // Stopping inside the object makes serde_json report what follows; that is expected.
        Some(tag) => Ok(tag),
        None => scanned.map(|()| None),
    }
}

/// The `providerName` of the JSON object `text` (`Some(None)`: it has none), read without a
/// parser: keys are compared where they lie, values are stepped over by their brackets and
/// quotes (a key with an escape is unescaped to compare). `None` when the text is not an
/// object or is cut short, or the tag is not a plain string or `null`: the caller then asks
/// serde_json. The first `providerName` decides, as in the serde_json path; on
/// well-formed JSON both read the same tag. Malformed JSON may still get a tag here: the
/// variant's decoding, which reads the whole text, refuses it then.
fn scan_provider(text: &str) -> Option<Option<Tag<'_>>> {
    let bytes = text.as_bytes();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some(None);
    }
    loop {
        let key_start = at;
        let (key_end, key_escaped) = string_end(bytes, at)?;
        let is_provider = if key_escaped {
            // `provider\u004eame` is `providerName` too: such a key is unescaped to compare.
            serde_json::from_str::<Cow<'_, str>>(&text[key_start..key_end]).ok()? == "providerName"
        } else {
            &bytes[key_start..key_end] == b"\"providerName\""
        };
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let value_end = value_end(bytes, at)?;
        if is_provider {
            return match bytes[at] {
                b'"' => {
                    let (end, escaped) = string_end(bytes, at)?;
                    (!escaped).then(|| Some(Tag::Str(Cow::Borrowed(&text[at + 1..end - 1]))))
                }
                b'n' if &text[at..value_end] == "null" => Some(Some(Tag::Null)),
                _ => None,
            };
        }
        at = skip_space(bytes, value_end);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b'}') => return Some(None),
            _ => return None,
        }
    }
}

/// The first byte at or after `at` that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The end (one past the closing quote) of the string starting at `at`, and whether it holds
/// an escape; `None` when `at` is not a quote or the string is not closed.
fn string_end(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut escaped = false;
    let mut i = at + 1;
    loop {
        match bytes.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// The end of the JSON value starting at `at`: a string, an object or array (brackets counted,
/// strings stepped over), or a literal or number (up to the next delimiter).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        b',' | b'}' | b']' | b':' => None,
        _ => {
            let len = bytes[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(bytes.len() - at);
            Some(at + len)
        }
    }
}

/// The provider an entry most likely names, found without reading its structure: the one
/// `"providerName"` in `text`, when it is followed by `:` and a plain string (`AWS` when it is
/// `null`, or when the text has no `"providerName"` at all). `None` when it is there twice or
/// more, or followed by anything else. Only a guess: the occurrence may sit in a nested object
/// or inside a string. The caller keeps it only if that variant then decodes, which proves it
/// (see `decode_likely`).
fn likely_provider(text: &str) -> Option<&str> {
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"providerName\""));
    let bytes = text.as_bytes();
    let Some(found) = KEY.find(bytes) else {
        return Some("AWS");
    };
    let after = found + KEY.needle().len();
    if KEY.find(&bytes[after..]).is_some() {
        return None;
    }
    let mut at = skip_space(bytes, after);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    match bytes.get(at)? {
        b'"' => {
            let (end, escaped) = string_end(bytes, at)?;
            (!escaped).then(|| &text[at + 1..end - 1])
        }
        b'n' if bytes[at..].starts_with(b"null") => Some("AWS"),
        _ => None,
    }
}

/// An entry of an unmodelled provider, kept as a map. The `providerName` scan stopped at the
/// first tag; a map keeps the last of repeated keys, so a second `providerName` would give an
/// entry whose own encoding names another provider. Such an entry is refused, as the modelled
/// variants refuse a repeated field.
fn unknown_entry(text: &str) -> Result<Map<String, Value>, serde_json::Error> {
    #[derive(Deserialize)]
    struct OneTag<'a> {
        #[serde(rename = "providerName", default, borrow)]
        _provider: Option<Tag<'a>>,
    }
    serde_json::from_str::<OneTag<'_>>(text)?;
    serde_json::from_str(text)
}

/// Walks an object's keys until `providerName`, and stores its value (`Some(None)`: the
/// object has no such key).
struct FindProvider<'a, 's>(&'s mut Option<Option<Tag<'a>>>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for FindProvider<'a, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(IsProviderKey(is_provider)) = map.next_key()? {
            if is_provider {
                *self.0 = Some(Some(map.next_value::<Tag<'a>>()?));
                return Ok(());
            }
            map.next_value::<serde::de::IgnoredAny>()?;
        }
        *self.0 = Some(None);
        Ok(())
    }
}

/// Whether an object key is `providerName` (compared where it lies, never copied).
struct IsProviderKey(bool);

impl<'de> Deserialize<'de> for IsProviderKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IsProviderKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, key: &str) -> Result<IsProviderKey, E> {
                Ok(IsProviderKey(key == "providerName"))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The variant a `providerName` picks: an absent or `null` one is AWS (Atlas's default); a
/// value that is not a string picks none.
fn variant_name<'t>(provider: &'t Option<Tag<'_>>) -> Option<&'t str> {
    match provider {
        None | Some(Tag::Null) => Some("AWS"),
        Some(Tag::Str(name)) => Some(name.as_ref()),
        Some(Tag::Other) => None,
    }
}

/// A whole JSON document holding one [`Peer`] or one [`Container`] (`T`), decoded with one
/// pass fewer than through `Deserialize`, which must first capture the entry's text: the
/// document is that text already. `None` when `T` is neither type, and on any failure or
/// unmodelled provider; the caller then decodes the document the usual way, which gives the
/// same value or words the error.
pub(crate) fn decode_entry_document<T: 'static>(body: &[u8]) -> Option<T> {
    use std::any::{Any, TypeId};
    fn take<T: 'static, U: 'static>(value: Option<U>) -> Option<T> {
        let mut value = value;
        (&mut value as &mut dyn Any)
            .downcast_mut::<Option<T>>()?
            .take()
    }
    if TypeId::of::<T>() == TypeId::of::<Peer>() {
        take(Peer::from_document(body))
    } else if TypeId::of::<T>() == TypeId::of::<Container>() {
        take(Container::from_document(body))
    } else {
        None
    }
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

            /// See [`decode_entry_document`]: the entry that is the whole of `body`, for one of
            /// the modelled providers, decoded straight from it.
            fn from_document(body: &[u8]) -> Option<Self> {
                let text = std::str::from_utf8(body).ok()?;
                if let Some(entry) = Self::decode_likely(text) {
                    return Some(entry);
                }
                let provider = provider_in(text).ok()?;
                Self::decode_modelled(variant_name(&provider)?, text)
            }

            /// `text` decoded as the modelled variant `provider` names; `None` for another
            /// provider, or when that variant does not decode.
            fn decode_modelled(provider: &str, text: &str) -> Option<Self> {
                match provider {
                    "AWS" => serde_json::from_str(text).ok().map(Self::Aws),
                    "GCP" => serde_json::from_str(text).ok().map(Self::Gcp),
                    "AZURE" => serde_json::from_str(text).ok().map(Self::Azure),
                    _ => None,
                }
            }

            /// `text` decoded as the variant [`likely_provider`] guesses, if that succeeds.
            /// A success is the answer the `providerName` scan would give: each variant's own
            /// decoding accepts only its own top-level `providerName` (absent or `null` too, for
            /// AWS) and refuses it repeated, so the scan would pick that variant.
            fn decode_likely(text: &str) -> Option<Self> {
                Self::decode_modelled(likely_provider(text)?, text)
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
                if let Some(entry) = Self::decode_likely(text) {
                    return Ok(entry);
                }
                let provider = provider_of::<D::Error>(&raw)?;
                match variant_name(&provider) {
                    Some("AWS") => decode_variant::<_, D>("AWS", $kind, text).map(Self::Aws),
                    Some("GCP") => decode_variant::<_, D>("GCP", $kind, text).map(Self::Gcp),
                    Some("AZURE") => decode_variant::<_, D>("AZURE", $kind, text).map(Self::Azure),
                    _ => unknown_entry(text)
                        .map(|raw| Self::Unknown(UnknownProvider { raw }))
                        .map_err(|e| D::Error::custom(without_position(&e))),
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

    /// A short name for the normalized state (`PENDING`, `WAITING_FOR_USER`, ...); for
    /// [`Unknown`](Self::Unknown), the value as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::WaitingForUser => "WAITING_FOR_USER",
            Self::Available => "AVAILABLE",
            Self::Failed => "FAILED",
            Self::Deleting => "DELETING",
            Self::DeletionFailed => "DELETION_FAILED",
            Self::Unknown(other) => other,
        }
    }
}

impl std::fmt::Display for PeerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(other) => write!(f, "{other:?} (unknown)"),
            known => f.write_str(known.as_str()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;
    use serde_json::json;

    const ID: &str = "65c1d2e3f4a5b6c7d8e9f0a1";
    const CONTAINER: &str = "64b0c1d2e3f4a5b6c7d8e9f1";

    fn peer(value: Value) -> Peer {
        serde_json::from_value(value).expect("peer decodes")
    }

    /// Documents for the whole-document fast path: every provider, `providerName` absent,
    /// `null`, unmodelled or not a string, placed first, last and between other fields, nested
    /// inside another field, repeated, and bodies that are not entries at all.
    fn documents() -> Vec<String> {
        let aws = format!(
            r#""id":"{ID}","containerId":"{CONTAINER}","accepterRegionName":"eu-west-1","awsAccountId":"418273645091","routeTableCidrBlock":"10.8.0.0/21","vpcId":"vpc-0a1b2c3d4e5f60718","statusName":"PENDING_ACCEPTANCE""#
        );
        let gcp = format!(
            r#""id":"{ID}","containerId":"{CONTAINER}","gcpProjectId":"proj-alpha-7731","networkName":"core-net","status":"ADDED_TO_ATLAS""#
        );
        vec![
            format!(r#"{{"providerName":"AWS",{aws}}}"#),
            format!(r#"{{{aws},"providerName":"AWS"}}"#),
            format!(r#"{{{aws}}}"#),
            format!(r#"{{{aws},"providerName":null}}"#),
            format!(r#"{{"providerName":"GCP",{gcp}}}"#),
            format!(
                r#"  {{ "id" : "{ID}" , "providerName" : "GCP" , "containerId":"{CONTAINER}","gcpProjectId":"p-1","networkName":"n","status":"WAITING_FOR_USER" }}  "#
            ),
            format!(r#"{{"note":{{"providerName":"GCP"}},{aws}}}"#),
            format!(r#"{{"providerName":"AWS",{aws},"providerName":"GCP"}}"#),
            // Found by the fuzzer: an unmodelled first tag, then a modelled one.
            format!(r#"{{"providerName":"AW0/21",{aws},"providerName":"AWS"}}"#),
            format!(r#"{{"providerName":"ORACLE",{gcp}}}"#),
            format!(r#"{{"providerName":7,{gcp}}}"#),
            format!(r#"{{"providerName":"GCP",{aws}}}"#),
            format!(r#"{{"providerName":"GCP","id":"{ID}","gcpProjectId":"p","#),
            format!(r#"{{"providerName":"AWS",{aws}}} trailing"#),
            r#"["AWS"]"#.to_owned(),
            r#""AWS""#.to_owned(),
            String::new(),
        ]
    }

    #[test]
    fn the_whole_document_fast_path_agrees_with_deserialize() {
        let mut fast = 0;
        for doc in documents() {
            let general = serde_json::from_slice::<Peer>(doc.as_bytes());
            match decode_entry_document::<Peer>(doc.as_bytes()) {
                Some(value) => {
                    fast += 1;
                    assert_eq!(general.as_ref().ok(), Some(&value), "{doc}");
                }
                // Declined: the general path decides (an error, or an unmodelled provider).
                None => assert!(
                    general.is_err() || matches!(general, Ok(Peer::Unknown(_))),
                    "the fast path declined a document the general path decodes as {general:?}: {doc}"
                ),
            }
        }
        // AWS first, last, absent, null; both GCP; nested tag.
        assert_eq!(fast, 7);
    }

    #[test]
    fn a_repeated_provider_name_is_refused_whatever_comes_first() {
        for doc in [
            r#"{"id":"65a3f1c27b9e4d0a8c6b2e14","providerName":"AW0/21","regionName":"EU_CENTRAL_1","providerName":"AWS","provisioned":true}"#,
            r#"{"providerName":"ORACLE","providerName":"ORACLE"}"#,
            r#"{"providerName":"AWS","providerName":"AWS"}"#,
            r#"{"providerName":null,"providerName":"GCP"}"#,
        ] {
            for err in [
                serde_json::from_str::<Container>(doc)
                    .map(|_| ())
                    .unwrap_err(),
                serde_json::from_str::<Peer>(doc).map(|_| ()).unwrap_err(),
            ] {
                assert!(
                    err.to_string().contains("duplicate field `providerName`"),
                    "{doc}: {err}"
                );
            }
            assert!(decode_entry_document::<Container>(doc.as_bytes()).is_none());
        }
    }

    #[test]
    fn the_fast_path_covers_only_single_entries() {
        let doc = br#"{"results":[],"totalCount":0}"#;
        assert!(decode_entry_document::<Value>(doc).is_none());
        assert!(decode_entry_document::<String>(br#""AWS""#).is_none());
        let container_doc = format!(
            r#"{{"id":"{ID}","providerName":"GCP","atlasCidrBlock":"10.4.0.0/18","provisioned":false}}"#
        );
        let general: Container = serde_json::from_str(&container_doc).unwrap();
        assert_eq!(
            decode_entry_document::<Container>(container_doc.as_bytes()),
            Some(general)
        );
    }

    #[test]
    fn the_provider_scan_stops_at_the_tag_and_reads_only_top_level_keys() {
        // Everything after the tag is left unread: text that would not parse is not reached.
        let tag = provider_in(r#"{"providerName":"AZURE", this is not JSON"#).unwrap();
        assert!(matches!(tag, Some(Tag::Str(ref s)) if s == "AZURE"));
        let tag = provider_in(r#"{"a":{"providerName":"GCP"},"b":[{"providerName":1}]}"#).unwrap();
        assert!(tag.is_none());
        let tag = provider_in(r#"{"providerName":null}"#).unwrap();
        assert!(matches!(tag, Some(Tag::Null)));
        assert!(provider_in(r#"["providerName"]"#).is_err());
        assert!(provider_in(r#"{"id":"#).is_err());
    }

    /// A tag as something to compare: the provider's string, `null`, or another value.
    fn seen(found: &Option<Tag<'_>>) -> Option<Result<String, bool>> {
        found.as_ref().map(|tag| match tag {
            Tag::Str(name) => Ok(name.to_string()),
            Tag::Null => Err(true),
            Tag::Other => Err(false),
        })
    }

    /// When the parser-free scan answers, serde_json gives the same answer.
    fn scan_agrees(text: &str) -> bool {
        let Some(scanned) = scan_provider(text) else {
            return false;
        };
        let by_serde = provider_in_by_serde(text)
            .unwrap_or_else(|e| panic!("the scan read {text:?}, serde_json refused it: {e}"));
        assert_eq!(seen(&scanned), seen(&by_serde), "{text}");
        true
    }

    #[test]
    fn the_provider_scan_reads_what_serde_json_reads() {
        for doc in documents() {
            // A tag that is a number needs serde_json (below); every other document is read.
            let plain = !doc.contains(r#""providerName":7"#);
            if let Ok(Value::Object(_)) = serde_json::from_str::<Value>(&doc) {
                assert_eq!(scan_agrees(&doc), plain, "{doc}");
            }
        }
        // Brackets, quotes and escapes inside strings; every kind of value before the tag.
        for doc in [
            r#"{"a":"}{\"providerName\":\"GCP\"","providerName":"AZURE"}"#,
            r#"{"a":["]",{"b":"[{"}],"n":-1.5e3,"t":true,"f":false,"z":null,"providerName":"GCP"}"#,
            r#"{"a\u0062":1, "x" : { } , "y":[ ],"providerName" :
                "AWS"}"#,
            r#"{"a":"\\","providerName":"GCP"}"#,
            r#"{"a":"é ünïcode","providerName":"AWS"}"#,
            r#"{}"#,
            r#" { } "#,
            r#"{"a":1}"#,
        ] {
            assert!(scan_agrees(doc), "the scan declined {doc}");
        }
        assert!(matches!(
            scan_provider(r#"{"provider\u004eame":"GCP"}"#),
            Some(Some(Tag::Str(ref s))) if s == "GCP"
        ));
        // What needs a parser is left to serde_json, which then decides.
        for doc in [
            r#"{"providerName":"GC\u0050"}"#,
            r#"{"providerName":7}"#,
            r#"{"providerName":{"name":"GCP"}}"#,
            r#"{"providerName":nul}"#,
            r#"["providerName"]"#,
            r#"{"id":"#,
            r#"{"id" 1}"#,
            r#"{"id":1 "providerName":"GCP"}"#,
            r#"{"id":"abc"#,
            "",
        ] {
            assert!(scan_provider(doc).is_none(), "the scan read {doc}");
        }
        assert!(matches!(
            provider_in(r#"{"provider\u004eame":"GCP"}"#).unwrap(),
            Some(Tag::Str(ref s)) if s == "GCP"
        ));
        assert!(matches!(
            provider_in(r#"{"providerName":"GC\u0050"}"#).unwrap(),
            Some(Tag::Str(ref s)) if s == "GCP"
        ));
    }

    /// What the scan-first path decodes `text` to: the tag read by serde_json, then the
    /// variant it names (the oracle for `decode_likely`).
    fn by_scan<T, F: Fn(&str, &str) -> Option<T>>(text: &str, decode: F) -> Option<T> {
        let provider = provider_in_by_serde(text).ok()?;
        decode(variant_name(&provider)?, text)
    }

    /// Whenever the guessed variant decodes, it is what the scan would have decoded.
    fn likely_agrees(text: &str) -> bool {
        let peer = Peer::decode_likely(text);
        if peer.is_some() {
            assert_eq!(peer, by_scan(text, Peer::decode_modelled), "{text}");
        }
        let container = Container::decode_likely(text);
        if container.is_some() {
            assert_eq!(
                container,
                by_scan(text, Container::decode_modelled),
                "{text}"
            );
        }
        peer.is_some() || container.is_some()
    }

    #[test]
    fn a_guessed_variant_is_kept_only_when_the_scan_agrees() {
        let mut guessed = 0;
        for doc in documents() {
            guessed += usize::from(likely_agrees(&doc));
        }
        // AWS first, last, absent, null; both GCP (the nested tag and the repeats are not
        // guessed: two occurrences).
        assert_eq!(guessed, 6);
        let aws = format!(
            r#""id":"{ID}","containerId":"{CONTAINER}","accepterRegionName":"eu-west-1","awsAccountId":"418273645091","routeTableCidrBlock":"10.8.0.0/21","vpcId":"vpc-0a1b2c3d4e5f60718""#
        );
        for doc in [
            // The only occurrence is nested, or inside a string: the guess fails to decode.
            format!(r#"{{"note":{{"providerName":"GCP"}},{aws}}}"#),
            format!(r#"{{"note":"\"providerName\":\"GCP\"",{aws}}}"#),
            format!(r#"{{"note":"x\"providerName","providerName":"GCP",{aws}}}"#),
            // Escaped key: the text search does not see it, the variant's decoding does.
            format!(r#"{{"provider\u004eame":"GCP",{aws}}}"#),
            format!(r#"{{"provider\u004eame":"AWS",{aws}}}"#),
        ] {
            likely_agrees(&doc);
        }
    }

    /// Every field the peer and container variants of all three providers require, each
    /// with a value its variant accepts.
    fn entry_fields() -> Vec<(String, Value)> {
        [
            ("id", ID),
            ("containerId", CONTAINER),
            ("accepterRegionName", "eu-west-1"),
            ("awsAccountId", "418273645091"),
            ("routeTableCidrBlock", "10.8.0.0/21"),
            ("vpcId", "vpc-0a1b2c3d4e5f60718"),
            ("networkName", "core-vpc"),
            ("gcpProjectId", "harbor-analytics-77213"),
            ("azureDirectoryId", "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048"),
            (
                "azureSubscriptionId",
                "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
            ),
            ("resourceGroupName", "rg-core"),
            ("vnetName", "vnet-core"),
            ("atlasCidrBlock", "10.12.8.0/21"),
            ("regionName", "EU_WEST_1"),
            ("region", "SWEDEN_CENTRAL"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Value::from(value)))
        .collect()
    }

    #[test]
    fn every_variant_decodes_from_the_shared_entry_fields() {
        let body = |tag: &str| {
            let mut fields = entry_fields();
            fields.push(("providerName".to_owned(), Value::from(tag)));
            Value::Object(fields.into_iter().collect()).to_string()
        };
        for tag in ["AWS", "GCP", "AZURE"] {
            let text = body(tag);
            let peer = Peer::decode_modelled(tag, &text).expect("the peer decodes");
            let container = Container::decode_modelled(tag, &text).expect("the container decodes");
            assert_eq!(peer.provider_name(), Some(tag), "{text}");
            assert_eq!(container.provider_name(), Some(tag), "{text}");
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[\\PC\"\\\\{}\\[\\],:]{0,8}".prop_map(Value::String),
            prop_oneof![Just("providerName"), Just("AWS"), Just("GCP")]
                .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-zA-Z\"\\\\]{0,6}|providerName", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// On any JSON object, compact or pretty, the scan answers (unless the tag is not a
        /// plain string or `null`) and agrees with serde_json.
        #[test]
        fn the_provider_scan_agrees_with_serde_json_on_any_object(
            fields in proptest::collection::vec(("[a-zA-Z\"\\\\\n]{1,6}|providerName", json_value()), 0..6),
            pretty in proptest::prelude::any::<bool>(),
        ) {
            let mut text = String::from("{");
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&serde_json::to_string(key).unwrap());
                text.push(':');
                if pretty {
                    text.push_str(" \n ");
                    text.push_str(&serde_json::to_string_pretty(value).unwrap());
                } else {
                    text.push_str(&serde_json::to_string(value).unwrap());
                }
            }
            text.push('}');
            let answered = scan_agrees(&text);
            let first_tag = fields.iter().find(|(key, _)| key == "providerName").map(|(_, v)| v);
            let plain = match first_tag {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => !s.contains(['"', '\\']) && !s.chars().any(|c| c < ' '),
                Some(_) => false,
            };
            proptest::prop_assert_eq!(answered, plain, "{}", text);
        }

        /// Entries carrying every field any variant needs, in any order, with `providerName`
        /// absent, `null`, any provider or not a string, once or twice, and other fields
        /// holding a nested `providerName` or one inside a string: a guessed variant that
        /// decodes is always the one the scan picks.
        #[test]
        fn a_guessed_variant_agrees_with_the_scan_on_any_entry(
            fields in proptest::strategy::Just(entry_fields()).prop_shuffle(),
            tags in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::strategy::Just(Value::from("AWS")),
                        proptest::strategy::Just(Value::from("GCP")),
                        proptest::strategy::Just(Value::from("AZURE")),
                        proptest::strategy::Just(Value::from("ORACLE")),
                        proptest::strategy::Just(Value::Null),
                        proptest::strategy::Just(Value::from(3)),
                    ],
                    0..16usize,
                ),
                0..3,
            ),
            notes in proptest::collection::vec((json_value(), 0..16usize), 0..3),
        ) {
            let mut entry: Vec<(String, Value)> = fields;
            for (tag, at) in tags {
                entry.insert(at.min(entry.len()), ("providerName".to_owned(), tag));
            }
            for (note, at) in notes {
                entry.insert(at.min(entry.len()), ("note".to_owned(), note));
            }
            let body: Vec<String> = entry
                .iter()
                .map(|(key, value)| format!("{}:{value}", Value::from(key.as_str())))
                .collect();
            likely_agrees(&format!("{{{}}}", body.join(",")));
        }

        /// On any text at all, a scan that answers never contradicts serde_json.
        #[test]
        fn the_provider_scan_never_contradicts_serde_json(text in "[{}\\[\\]\",: a-zA-Z0-9\\\\]{0,40}|\\PC{0,40}") {
            if let (Some(scanned), Ok(by_serde)) = (scan_provider(&text), provider_in_by_serde(&text)) {
                proptest::prop_assert_eq!(seen(&scanned), seen(&by_serde), "{}", text);
            }
        }
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
            assert_eq!(status.to_string(), "\"QUARANTINED\" (unknown)");
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
            // Every name but PENDING (which stands for several wire values) reads back as itself.
            assert_eq!(
                PeerStatus::from_wire(s.as_str()) == *s,
                *s != S::Pending,
                "{s:?}"
            );
        }
        assert_eq!(S::WaitingForUser.to_string(), "WAITING_FOR_USER");
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
