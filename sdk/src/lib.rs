//! Rust client for the MongoDB Atlas Administration API v1.0 Network Peering resource.
//!
//! The client, its builders and the `types` module are generated at build time from
//! `spec/network-peering.yaml` (see the `codegen` crate). Hand-written modules sit beside them.

// Lets the generated code name this crate's items by one path, `::sdk::...`, from inside the
// crate and from the mock crate alike.
extern crate self as sdk;

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    dead_code,
    unreachable_patterns
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/network_peering.rs"));
}

pub use generated::*;

pub use config::Config;
pub use error::Error;

pub mod auth;
pub mod config;
pub mod error;
pub mod models;
pub mod pagination;
pub mod retry;
pub mod runtime;
pub mod waiter;
