//! Every response type the sdk decodes, on any bytes: decoding never panics, whatever decodes
//! encodes, decodes back to an equal value and encodes to the same bytes again, and whatever
//! does not decode is a decode error whose path is a JSON pointer.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::types::{ApiError, ContainerPage, PeerPage, PrivateIpMode};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let first: T = match atlas_network_peering::fuzzing::decode(data) {
        Ok(first) => first,
        Err(atlas_network_peering::Error::Decode { path, raw, .. }) => {
            assert!(path.starts_with('/'), "{path:?}");
            assert_eq!(&raw[..], data);
            return None;
        }
        Err(other) => panic!("a decode failure is Error::Decode, not {other:?}"),
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
    // Exact, floats included: the workspace builds serde_json with `float_roundtrip`.
    assert_eq!(first, second, "{name}: decode(encode(x)) != x");
    assert_eq!(
        encoded, again,
        "{name}: encode(decode(encode(x))) != encode(x)"
    );
    Some(first)
}

fn touch_container(c: &Container) {
    let _ = (
        c.id(),
        c.provider_name(),
        c.provider(),
        c.atlas_cidr_block(),
        c.is_provisioned(),
    );
}

fn touch_peer(p: &Peer) {
    let status = p.status();
    assert_eq!(status.is_some(), p.raw_status().is_some());
    if let Some(s) = &status {
        let _ = (s.is_available(), s.is_terminal_failure());
    }
    let _ = (
        p.id(),
        p.container_id(),
        p.provider_name(),
        p.provider(),
        p.error_detail(),
    );
    let _ = (p.is_available(), p.is_terminal_failure());
}

fuzz_target!(|data: &[u8]| {
    if let Some(page) = round_trip::<ContainerPage>(data) {
        page.results.iter().for_each(touch_container);
    }
    if let Some(page) = round_trip::<PeerPage>(data) {
        page.results.iter().for_each(touch_peer);
    }
    if let Some(container) = round_trip::<Container>(data) {
        touch_container(&container);
    }
    if let Some(peer) = round_trip::<Peer>(data) {
        touch_peer(&peer);
    }
    round_trip::<PrivateIpMode>(data);
    round_trip::<ApiError>(data);
    // An error response with this body, as the sdk reports it.
    let error = atlas_network_peering::fuzzing::api_error(
        reqwest_status(data),
        data,
        data.first().is_some_and(|b| b & 1 == 1),
    );
    let message = error.to_string();
    if error.api_failure().is_some_and(|f| f.api_error().is_none()) {
        // A body that is not an Atlas error is quoted, shortened to 200 characters.
        assert!(message.chars().count() <= 300, "{message}");
    }
    let _ = (
        error.error_code(),
        error.parameters(),
        error.is_retryable(),
        error.is_rate_limited(),
    );
});

fn reqwest_status(data: &[u8]) -> http::StatusCode {
    let code = 400 + u16::from(data.last().copied().unwrap_or(0)) % 200;
    http::StatusCode::from_u16(code).expect("400 to 599")
}
