//! Property tests: the bounded, CI-sized part of the fuzzing described in `docs/FUZZING.md`.
//!
//! Each property runs a fixed number of cases (256 by default, fewer for the slow ones); set
//! `PROPTEST_CASES` to run more. Failing cases are shrunk and printed, never written to disk.
//!
//! - every response type (`ContainerPage`, `PeerPage`, `models::Container`, `models::Peer`,
//!   `PrivateIpMode`, `ApiError`) on arbitrary JSON, on fixture bodies mutated
//!   byte by byte and on fixture bodies with a JSON value swapped: no panic, and whatever
//!   decodes encodes and decodes back to an equal value (and encodes to the same bytes);
//! - `Challenge::parse` on arbitrary text never panics, reads back what a challenge says, and
//!   reads back the Authorization header built from what it accepted;
//! - `parse_retry_after` on arbitrary text never panics; any number of seconds is that many
//!   seconds, saturating at `u64::MAX`; an HTTP date is the time left until it;
//! - the path of a decode error (`Error::Decode`, from `serde_path_to_error`) is exactly the
//!   value that made a page fail to decode, compact or pretty;
//! - the listing streams against a local server, against the documented paging rules
//!   (`fuzz/harness/paging.rs`, shared with the `paging` fuzz target; it checks the count rule
//!   the code follows, see `listings_read_the_count_of_the_first_page_only`).
//!
//! - the id and account-number checks typify generates from the spec's patterns (Atlas's own
//!   `^([a-f0-9]{24})$`) accept exactly what the regex matches, on any text and near-misses.
//!
//! Two tests pin issues these properties found (docs/FUZZING.md), both fixed: floats
//! round-trip exactly, only the first totalCount counts.

use std::fmt::Debug;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atlas_network_peering::auth::digest::{
    Algorithm, Challenge, Credentials, DigestError, MAX_HEADER_LEN, Qop,
};
use atlas_network_peering::models::{Container, Peer, decode};
use atlas_network_peering::retry::parse_retry_after;
use atlas_network_peering::types::{
    ApiError, CloudProvider, ContainerPage, PeerPage, PrivateIpMode,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

#[path = "../../fuzz/harness/paging.rs"]
mod paging;

/// `cases` cases, unless `PROPTEST_CASES` says otherwise; no regression files.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- Fixtures -----------------------------------------------------------------------------

/// Every JSON body of `fixtures/` (requests and responses), by file.
fn fixture_bodies() -> &'static [(String, Value)] {
    static BODIES: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut files = Vec::new();
        for folder in std::fs::read_dir(&root).expect("fixtures/").flatten() {
            if folder.path().is_dir() {
                files.extend(std::fs::read_dir(folder.path()).expect("folder").flatten());
            }
        }
        let mut bodies = Vec::new();
        for file in files {
            let path = file.path();
            let text = std::fs::read_to_string(&path).expect("fixture");
            let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
            for pointer in ["/request/body", "/response/body"] {
                if let Some(body) = fixture.pointer(pointer) {
                    bodies.push((format!("{}{pointer}", path.display()), body.clone()));
                }
            }
        }
        bodies.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(bodies.len() > 40, "fixtures hold bodies");
        bodies
    })
}

// ---- Decoders -----------------------------------------------------------------------------

/// Decodes `data` as `T`; when it decodes, checks that it encodes, decodes back to an equal
/// value and encodes to the same bytes again. Returns whether it decoded.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> bool {
    let Ok(first) = serde_json::from_slice::<T>(data) else {
        return false;
    };
    let name = std::any::type_name::<T>();
    let encoded = serde_json::to_vec(&first).expect("a decoded value encodes");
    let second: T = serde_json::from_slice(&encoded).unwrap_or_else(|e| {
        panic!(
            "{name}: its own encoding does not decode: {e}\n{}",
            String::from_utf8_lossy(&encoded)
        )
    });
    let again = serde_json::to_vec(&second).expect("encodes");
    // Exact, floats included: the workspace builds serde_json with `float_roundtrip`
    // (see `floats_round_trip_exactly`).
    assert_eq!(first, second, "{name}: decode(encode(x)) != x");
    assert_eq!(
        encoded, again,
        "{name}: encode(decode(encode(x))) != encode(x)"
    );
    true
}

/// Every response decoder on `data`; panics on a broken round trip. Returns how many decoded.
fn decode_all(data: &[u8]) -> usize {
    let decoded = [
        round_trip::<ContainerPage>(data),
        round_trip::<PeerPage>(data),
        round_trip::<Container>(data),
        round_trip::<Peer>(data),
        round_trip::<PrivateIpMode>(data),
        round_trip::<ApiError>(data),
    ];
    if let Ok(peer) = serde_json::from_slice::<Peer>(data) {
        // The provider-independent views read any entry.
        assert_eq!(peer.status().is_some(), peer.raw_status().is_some());
        let _ = (
            peer.error_detail(),
            peer.is_terminal_failure(),
            peer.provider(),
        );
    }
    decoded.iter().filter(|&&d| d).count()
}

const KEYS: &[&str] = &[
    "id",
    "providerName",
    "results",
    "links",
    "rel",
    "href",
    "totalCount",
    "statusName",
    "status",
    "errorStateName",
    "errorMessage",
    "errorState",
    "containerId",
    "atlasCidrBlock",
    "regionName",
    "region",
    "regions",
    "provisioned",
    "enabled",
    "error",
    "errorCode",
    "detail",
    "parameters",
    "reason",
    "badRequestDetail",
];

const STRINGS: &[&str] = &[
    "AWS",
    "GCP",
    "AZURE",
    "TENANT",
    "aws",
    "",
    "self",
    "next",
    "AVAILABLE",
    "QUARANTINED",
    "65a3f1c27b9e4d0a8c6b2e14",
    "65A3F1C27B9E4D0A8C6B2E14",
    "10.12.0.0/21",
    "EU_CENTRAL_1",
    "PEER_NOT_FOUND",
    "123456789012",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3i64..600).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Arbitrary JSON, biased towards the names and values the sdk's types read.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One fixture body, as compact or pretty JSON.
fn fixture_body() -> impl Strategy<Value = (usize, bool)> {
    (0..fixture_bodies().len(), any::<bool>())
}

fn encode(value: &Value, pretty: bool) -> Vec<u8> {
    if pretty {
        serde_json::to_vec_pretty(value).expect("encodes")
    } else {
        serde_json::to_vec(value).expect("encodes")
    }
}

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Splice(usize, &'static str),
}

const SPLICES: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "-0",
    "1e999",
    "\"\\u",
    "\u{e9}",
    "\u{1f600}",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), prop::sample::select(SPLICES)).prop_map(|(at, s)| Edit::Splice(at, s)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match *edit {
        Edit::Flip(at, bit) if len > 0 => bytes[at % len] ^= 1 << bit,
        Edit::Insert(at, byte) => bytes.insert(at % (len + 1), byte),
        Edit::Delete(at) if len > 0 => {
            bytes.remove(at % len);
        }
        Edit::Splice(at, text) => {
            let at = at % (len + 1);
            bytes.splice(at..at, text.bytes());
        }
        _ => {}
    }
}

/// Every node of `value` in pre-order, as JSON pointers.
fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{here}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn decoders_take_any_json(value in json_value()) {
        decode_all(&encode(&value, false));
    }

    #[test]
    fn decoders_take_byte_mutated_fixtures(
        (index, pretty) in fixture_body(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut bytes = encode(&fixture_bodies()[index].1, pretty);
        for e in &edits {
            apply(&mut bytes, e);
        }
        decode_all(&bytes);
    }

    #[test]
    fn decoders_take_fixtures_with_a_value_swapped(
        (index, pretty) in fixture_body(),
        pick in any::<prop::sample::Index>(),
        replacement in json_value(),
        remove in any::<bool>(),
    ) {
        let mut body = fixture_bodies()[index].1.clone();
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        if !all.is_empty() {
            let target = &all[pick.index(all.len())];
            let (parent, last) = target.rsplit_once('/').expect("a pointer has a slash");
            match body.pointer_mut(parent) {
                Some(Value::Object(map)) if remove => {
                    map.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(items)) if remove => {
                    items.remove(last.parse::<usize>().expect("index"));
                }
                _ => *body.pointer_mut(target).expect("exists") = replacement,
            }
        }
        decode_all(&encode(&body, pretty));
    }

}

// ---- Decode errors name the failing value ---------------------------------------------------

/// A value of another JSON type than `value`.
fn wrong_type(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::from(5),
        Value::Number(_) => Value::from("five"),
        Value::Bool(_) => Value::from("true"),
        Value::Null | Value::Array(_) | Value::Object(_) => Value::from(false),
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// When a list page stops decoding because one value has the wrong type, the path of the
    /// decode error is that value's JSON pointer, in a compact body as in a pretty one.
    #[test]
    fn decode_errors_name_the_failing_value(
        index in 0..fixture_bodies().len(),
        pick in any::<prop::sample::Index>(),
        pretty in any::<bool>(),
    ) {
        let (name, body) = &fixture_bodies()[index];
        let peers = name.contains("/list_peers/");
        // Only the bodies that are pages: every failure then comes from the changed value.
        let pages = if peers {
            serde_json::from_value::<PeerPage>(body.clone()).is_ok()
        } else {
            serde_json::from_value::<ContainerPage>(body.clone()).is_ok()
        };
        if pages && name.contains("/list_") {
            let mut body = body.clone();
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            let target = all[pick.index(all.len())].clone();
            let slot = body.pointer_mut(&target).expect("exists");
            *slot = wrong_type(slot);
            let bytes = encode(&body, pretty);
            let error = if peers {
                decode::<PeerPage>(&bytes).err()
            } else {
                decode::<ContainerPage>(&bytes).err()
            };
            if let Some(error) = error {
                let atlas_network_peering::Error::Decode { path, .. } = &error else {
                    panic!("{error:?}")
                };
                prop_assert_eq!(path, &target, "{}", error);
            }
        }
    }
}

/// Found by `decoders_take_any_json`: serde_json reads some floats one unit in the last place
/// off unless its `float_roundtrip` feature is on, so a float in an unknown provider's entry or
/// in `ApiError::parameters` changed on a decode-encode-decode trip. The workspace enables the
/// feature; these two cases pin it.
#[test]
fn floats_round_trip_exactly() {
    let container = br#"{"providerName":"TENANT","x":-2.7616761788382417e-304}"#;
    let first: Container = serde_json::from_slice(container).expect("decodes");
    let second: Container =
        serde_json::from_slice(&serde_json::to_vec(&first).expect("encodes")).expect("decodes");
    assert_eq!(first, second);
    let error = br#"{"error":400,"errorCode":"X","parameters":[6.4175955447303835e+187]}"#;
    let first: ApiError = serde_json::from_slice(error).expect("decodes");
    let second: ApiError =
        serde_json::from_slice(&serde_json::to_vec(&first).expect("encodes")).expect("decodes");
    assert_eq!(first, second);
}

#[test]
fn every_fixture_body_round_trips() {
    let mut decoded = 0;
    for (name, body) in fixture_bodies() {
        for bytes in [encode(body, false), encode(body, true)] {
            let n = decode_all(&bytes);
            if name.ends_with("/response/body") && body.as_object().is_some_and(|o| !o.is_empty()) {
                assert!(n > 0, "{name}: no response type decodes it");
            }
            decoded += n;
        }
    }
    assert!(decoded > 80, "{decoded}");
}

// ---- WWW-Authenticate -----------------------------------------------------------------------

/// Checks what the parser accepted: a nonce, and a signed header that reads back the same.
fn check_accepted(challenge: &Challenge) -> Result<(), TestCaseError> {
    prop_assert!(!challenge.nonce().is_empty());
    let header = challenge
        .authorization(
            &Credentials::new("public-key", "private-key"),
            "GET",
            "/api/atlas/v1.0/groups/x/peers?pageNum=2",
            7,
            "0a1b2c3d4e5f6a7b",
        )
        .map_err(|e| TestCaseError::fail(format!("does not sign: {e}")))?;
    if header.len() <= MAX_HEADER_LEN {
        let back = Challenge::parse(&header)
            .map_err(|e| TestCaseError::fail(format!("{header}: does not read back: {e}")))?;
        prop_assert_eq!(back.realm(), challenge.realm());
        prop_assert_eq!(back.nonce(), challenge.nonce());
        prop_assert_eq!(back.opaque(), challenge.opaque());
        prop_assert_eq!(back.algorithm(), challenge.algorithm());
        prop_assert_eq!(back.qop(), challenge.qop());
    }
    Ok(())
}

/// Text shaped like a WWW-Authenticate value: schemes, parameters, quotes, escapes, commas.
fn header_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Digest ".to_owned()),
        Just("Basic ".to_owned()),
        Just("realm=".to_owned()),
        Just("nonce=".to_owned()),
        Just("qop=".to_owned()),
        Just("algorithm=".to_owned()),
        Just("opaque=".to_owned()),
        Just("stale=true".to_owned()),
        Just("MD5-sess".to_owned()),
        Just("SHA-256".to_owned()),
        Just("\"auth,auth-int\"".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(", ".to_owned()),
        Just("=".to_owned()),
        Just("\t".to_owned()),
        "[a-zA-Z0-9+/=._~-]{1,8}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

/// A string without control characters (the only kind a header value can carry).
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.chars().filter(|c| !c.is_control()).take(24).collect())
}

fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn challenge_parse_takes_any_text(value in any::<String>()) {
        if let Ok(challenge) = Challenge::parse(&value) {
            check_accepted(&challenge)?;
        }
    }

    #[test]
    fn challenge_parse_takes_header_like_text(value in header_like()) {
        match Challenge::parse(&value) {
            Ok(challenge) => check_accepted(&challenge)?,
            Err(error) => prop_assert!(error.to_string().len() < 400, "{error}"),
        }
    }

    /// A challenge written from known parts reads back as those parts.
    #[test]
    fn challenge_parse_reads_what_a_challenge_says(
        other_first in any::<bool>(),
        realm in text(),
        nonce in text(),
        opaque in proptest::option::of(text()),
        algorithm in proptest::option::of(prop::sample::select(&[
            "MD5", "md5", "MD5-sess", "SHA-256", "sha-256", "SHA-256-sess", "SHA-512",
        ][..])),
        qop in proptest::option::of(prop::sample::select(&[
            "auth", "auth,auth-int", "auth-int, auth", "auth-int", "AUTH",
        ][..])),
        stale in any::<bool>(),
        bare_nonce in any::<bool>(),
    ) {
        let mut params = vec![format!("realm={}", quoted(&realm))];
        // A nonce of token characters may be sent unquoted.
        let nonce_is_token = !nonce.is_empty()
            && nonce.chars().all(|c| c.is_ascii_graphic() && c != ',' && c != '"');
        if bare_nonce && nonce_is_token {
            params.push(format!("nonce={nonce}"));
        } else {
            params.push(format!("nonce={}", quoted(&nonce)));
        }
        if let Some(o) = &opaque {
            params.push(format!("opaque={}", quoted(o)));
        }
        if let Some(a) = algorithm {
            params.push(format!("algorithm={a}"));
        }
        if let Some(q) = qop {
            params.push(format!("qop={}", quoted(q)));
        }
        params.push(format!("stale={stale}"));
        let digest = format!("Digest {}", params.join(", "));
        let header = if other_first {
            format!("Basic realm=\"elsewhere\", {digest}")
        } else {
            digest
        };

        let expected_alg = match algorithm.map(str::to_ascii_lowercase).as_deref() {
            None | Some("md5") => Some(Algorithm::Md5),
            Some("md5-sess") => Some(Algorithm::Md5Sess),
            Some("sha-256") => Some(Algorithm::Sha256),
            Some("sha-256-sess") => Some(Algorithm::Sha256Sess),
            Some(_) => None,
        };
        let offers_auth = qop.is_none_or(|q| q.split(',').any(|i| i.trim().eq_ignore_ascii_case("auth")));
        let result = Challenge::parse(&header);
        match (result, expected_alg) {
            (Err(DigestError::EmptyParameter("nonce")), _) => prop_assert!(nonce.is_empty()),
            (Err(DigestError::UnsupportedAlgorithm(_)), None) => {}
            (Err(DigestError::UnsupportedQop(_)), Some(_)) => prop_assert!(!offers_auth),
            (Err(DigestError::SessionWithoutQop(a)), Some(b)) => {
                prop_assert_eq!(a, b);
                prop_assert!(qop.is_none() && a.is_session());
            }
            (Ok(c), Some(alg)) => {
                prop_assert!(!nonce.is_empty() && offers_auth);
                prop_assert_eq!(c.realm(), realm.as_str());
                prop_assert_eq!(c.nonce(), nonce.as_str());
                prop_assert_eq!(c.opaque(), opaque.as_deref());
                prop_assert_eq!(c.algorithm(), alg);
                prop_assert_eq!(c.qop(), qop.map(|_| Qop::Auth));
                prop_assert_eq!(c.stale(), stale);
                check_accepted(&c)?;
            }
            (other, alg) => prop_assert!(false, "{header}: {other:?} (algorithm {alg:?})"),
        }
    }
}

// ---- Retry-After --------------------------------------------------------------------------

fn clock() -> impl Strategy<Value = SystemTime> {
    (0u64..300_000_000_000).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// The last second HTTP dates can name: 9999-12-31T23:59:59Z.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn retry_after_takes_any_text(value in any::<String>(), now in clock()) {
        let _ = parse_retry_after(&value, now);
    }

    #[test]
    fn retry_after_takes_date_like_text(
        value in "[A-Za-z]{0,9},? ?[0-9]{0,4}[ -][A-Za-z]{0,4}[ -][0-9]{0,4} [0-9:]{0,9}( GMT)?",
        now in clock(),
    ) {
        let _ = parse_retry_after(&value, now);
    }

    #[test]
    fn retry_after_seconds_are_that_many_seconds(
        secs in any::<u64>(),
        zeros in 0usize..3,
        before in "[ \t]{0,2}",
        after in "[ \t]{0,2}",
        now in clock(),
    ) {
        let value = format!("{before}{}{secs}{after}", "0".repeat(zeros));
        prop_assert_eq!(parse_retry_after(&value, now), Some(Duration::from_secs(secs)));
    }

    #[test]
    fn retry_after_saturates(digits in "[0-9]{1,60}", now in clock()) {
        let significant = digits.trim_start_matches('0');
        let expected = if significant.len() > 20 {
            u64::MAX
        } else {
            u64::try_from(significant.parse::<u128>().unwrap_or(0)).unwrap_or(u64::MAX)
        };
        prop_assert_eq!(parse_retry_after(&digits, now), Some(Duration::from_secs(expected)));
    }

    #[test]
    fn retry_after_dates_are_the_time_left(at in 0..=LAST_HTTP_DATE, now in clock()) {
        let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(at));
        let now_secs = now.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        prop_assert_eq!(
            parse_retry_after(&date, now),
            Some(Duration::from_secs(at.saturating_sub(now_secs)))
        );
    }
}

// ---- Paging -------------------------------------------------------------------------------

fn link() -> impl Strategy<Value = paging::LinkSpec> {
    (
        proptest::option::weighted(0.9, 0..paging::RELS.len()),
        proptest::option::weighted(0.9, 0..paging::HREFS.len()),
    )
        .prop_map(|(rel, href)| paging::LinkSpec { rel, href })
}

fn page() -> impl Strategy<Value = paging::PageSpec> {
    let entry = (
        any::<usize>(),
        prop_oneof![
            2 => Just(paging::IdSpec::Keep),
            4 => (0..paging::ID_POOL.len()).prop_map(paging::IdSpec::Pool),
            1 => Just(paging::IdSpec::Remove),
            1 => Just(paging::IdSpec::NotHex),
        ],
    )
        .prop_map(|(template, id)| paging::EntrySpec { template, id });
    let links = prop_oneof![
        1 => Just(paging::LinksSpec::Absent),
        1 => Just(paging::LinksSpec::Null),
        4 => prop::collection::vec(link(), 0..4).prop_map(paging::LinksSpec::List),
    ];
    let total_count = proptest::option::of(prop_oneof![
        6 => -1i64..12,
        1 => any::<i32>().prop_map(i64::from),
        1 => Just(i64::from(i32::MAX) + 1),
    ]);
    (prop::collection::vec(entry, 0..6), links, total_count).prop_map(
        |(entries, links, total_count)| paging::PageSpec {
            entries,
            links,
            total_count,
        },
    )
}

fn reply() -> impl Strategy<Value = paging::Reply> {
    let status = prop::sample::select(&[400u16, 401, 404, 409, 429, 500, 502, 503][..]);
    prop_oneof![
        12 => page().prop_map(paging::Reply::Page),
        1 => (status, prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(s, body)| paging::Reply::Status(s, body)),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(paging::Reply::Body),
    ]
}

fn scenario() -> impl Strategy<Value = paging::Scenario> {
    let listing = prop_oneof![
        Just(paging::Listing::AllContainers),
        Just(paging::Listing::Containers),
        Just(paging::Listing::Peers),
    ];
    let items_per_page = prop_oneof![
        12 => 1u32..6,
        1 => Just(0u32),
        1 => Just(500u32),
        1 => Just(501u32),
    ];
    let provider = proptest::option::weighted(
        0.3,
        prop_oneof![
            Just(CloudProvider::Aws),
            Just(CloudProvider::Gcp),
            Just(CloudProvider::Azure),
            Just(CloudProvider::Unknown("TENANT".into())),
        ],
    );
    (
        listing,
        any::<bool>(),
        items_per_page,
        prop::bool::weighted(0.75),
        provider,
        prop::bool::weighted(0.03),
        prop::collection::vec(reply(), 0..6),
    )
        .prop_map(
            |(listing, items, items_per_page, include_count, provider, bad_group_id, replies)| {
                paging::Scenario {
                    listing,
                    items,
                    items_per_page,
                    include_count,
                    provider,
                    bad_group_id,
                    replies,
                }
            },
        )
}

proptest! {
    #![proptest_config(config(128))]

    /// The listing streams follow the documented rules against any server, and always end.
    #[test]
    fn listings_follow_the_documented_paging_rules(s in scenario()) {
        paging::run(&s);
    }
}

/// Known issue (found by `listings_follow_the_documented_paging_rules` with the documented
/// count rule): the module documentation says a listing ends when the entries reach "the
/// `totalCount` of the first page", and that with `include_count(false)` it "ends on the other
/// signals only"; the code ends it on a `totalCount` that a later page carries unasked. Here the
/// second page says `totalCount: 0` and the listing stops there instead of reading page 3.
#[test]
fn listings_read_the_count_of_the_first_page_only() {
    use paging::{EntrySpec, IdSpec, LinksSpec, PageSpec, Reply};
    let page = |id, total_count| {
        Reply::Page(PageSpec {
            entries: vec![EntrySpec {
                template: 0,
                id: IdSpec::Pool(id),
            }],
            links: LinksSpec::Absent,
            total_count,
        })
    };
    let s = paging::Scenario {
        listing: paging::Listing::Containers,
        items: false,
        items_per_page: 1,
        include_count: false,
        provider: None,
        bad_group_id: false,
        replies: vec![page(0, None), page(1, Some(0)), page(2, None)],
    };
    paging::run_with(&s, paging::CountRule::FirstPage);
}

/// Near-misses of a 24-hex id or a 12-digit number: the right shape with edits.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-f0-9]{20,28}",
        "[a-f0-9]{11,13}",
        "[0-9]{10,14}",
        "[a-fA-F0-9g/?#. é-]{0,26}",
        "[a-f0-9]{0,12}[^a-f0-9][a-f0-9]{0,12}",
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// The id checks typify generates from the spec's patterns (Atlas's own `^([a-f0-9]{24})$`)
    /// agree with the regex, on every way in: `FromStr`, `TryFrom<String>` and decoding.
    #[test]
    fn generated_pattern_checks_agree_with_the_regex(
        value in prop_oneof![any::<String>(), id_like()],
    ) {
        let object_id = regress::Regex::new("^([a-f0-9]{24})$").unwrap();
        let account = regress::Regex::new("^[0-9]{12}$").unwrap();
        let json = serde_json::Value::String(value.clone());
        let expected = object_id.find(&value).is_some();
        let parsed = value.parse::<atlas_network_peering::types::ObjectId>();
        let owned = atlas_network_peering::types::ObjectId::try_from(value.clone());
        let decoded = serde_json::from_value::<atlas_network_peering::types::ObjectId>(json.clone());
        prop_assert_eq!(parsed.is_ok(), expected, "ObjectId::from_str on {:?}", value);
        prop_assert_eq!(owned.is_ok(), expected, "ObjectId::try_from(String) on {:?}", value);
        prop_assert_eq!(decoded.is_ok(), expected, "ObjectId decoded from {:?}", value);
        if let (Ok(parsed), Ok(owned), Ok(decoded)) = (parsed, owned, decoded) {
            prop_assert_eq!(parsed.as_str(), value.as_str());
            prop_assert_eq!(owned.as_str(), value.as_str());
            prop_assert_eq!(decoded.as_str(), value.as_str());
        }
        let expected = account.find(&value).is_some();
        prop_assert_eq!(
            value.parse::<atlas_network_peering::types::AwsPeerAwsAccountId>().is_ok(),
            expected,
            "AwsPeerAwsAccountId on {:?}", value
        );
        prop_assert_eq!(
            atlas_network_peering::types::AwsPeerAwsAccountId::try_from(value.clone()).is_ok(),
            expected,
            "AwsPeerAwsAccountId::try_from(String) on {:?}", value
        );
        prop_assert_eq!(
            serde_json::from_value::<atlas_network_peering::types::AwsPeerAwsAccountId>(json).is_ok(),
            expected,
            "AwsPeerAwsAccountId decoded from {:?}", value
        );
    }
}
