// The crate documentation is the crate's README, so that the registry, the repository and the
// doctests all show (and compile) the same text. The mocks are generated at build time from
// `spec/network-peering.yaml` by `codegen::mock::generate_httpmock`
// (package `atlas-network-peering-codegen`), with the same type settings as the client.
#![doc = include_str!("../README.md")]

pub use httpmock;

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    dead_code,
    unreachable_pub
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/network_peering_httpmock.rs"));
}

pub use generated::{MockServerExt, operations};
