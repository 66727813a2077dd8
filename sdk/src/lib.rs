// The crate documentation is the crate's README, so that docs.rs, the repository and the
// doctests all show (and compile) the same text. The client, its builders and the `types`
// module are generated at build time from `spec/network-peering.yaml` (see the `codegen`
// crate); the hand-written modules sit beside them.
#![doc = include_str!("../README.md")]
// Every public item of the hand-written modules is documented; the generated module opts out
// below (its documentation comes from the spec). Each hand-written module also denies the lint
// itself, so moving it keeps the rule.
#![deny(missing_docs)]

// Lets the generated code name this crate's items by one path, `::atlas_network_peering::...`,
// from inside the crate and from the mock crate alike.
extern crate self as atlas_network_peering;

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    unused_mut,
    dead_code,
    unreachable_patterns
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/network_peering.rs"));
}

/// The client: one method per operation of the spec.
pub use generated::Client;
/// The operation builders that [`Client`]'s methods return; each ends in `send()`.
pub use generated::builder;
/// The types of the spec's schemas: bodies, pages, enums, ids.
pub use generated::types;

pub use config::Config;
pub use error::Error;
pub use runtime::Response;

mod auth;
pub mod config;
pub mod error;
pub mod models;
pub mod pagination;
pub mod retry;
mod runtime;
pub mod waiter;

/// What the fuzz targets (`fuzz/`) drive: internals, compiled only under `--cfg fuzzing`
/// (which `cargo fuzz` sets), never part of the crate's API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::{Duration, SystemTime};

    /// A body decoded as `send()` decodes it.
    pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, crate::Error> {
        crate::models::decode(body)
    }

    /// A `Retry-After` value read at `now`.
    pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
        crate::retry::parse_retry_after(value, now)
    }

    /// An error response with this status and raw body, as the sdk reports it.
    pub fn api_error(status: reqwest::StatusCode, raw: &[u8], truncated: bool) -> crate::Error {
        crate::Error::api(status, Default::default(), raw, truncated, "fuzz.example")
    }

    /// Whether the sdk's Digest code takes `www_authenticate` as a challenge, and if so the
    /// `Authorization` value it answers with for `GET /p`.
    pub fn answer_challenge(www_authenticate: &str) -> Option<String> {
        let digest = crate::auth::digest::Digest::new(
            "user".into(),
            crate::config::Secret::new("password"),
            true,
        );
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::WWW_AUTHENTICATE,
            www_authenticate.parse().ok()?,
        );
        digest
            .store_challenge(&headers)
            .then(|| digest.sign("GET", "/p"))
            .flatten()
    }
}
