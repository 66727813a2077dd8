//! Typed [`httpmock`] mocks of the Atlas Network Peering API, for testing code that calls the
//! `sdk` crate without a network or an Atlas account.
//!
//! Add it as a dev-dependency next to `httpmock`:
//!
//! ```toml
//! [dev-dependencies]
//! sdk-httpmock = { path = "../sdk-httpmock" }
//! httpmock = { version = "0.9", default-features = false }
//! ```
//!
//! [`MockServerExt`] gives [`httpmock::MockServer`] one method per operation of the spec, named
//! like the client's (`list_peers`, `get_container`, ...). Its closure receives a typed `When`,
//! which already matches the operation's method and path and has one method per parameter, and
//! a typed `Then`, with one method per response the spec declares (`ok`, `created`,
//! `no_content`, `accepted`, `not_found`, `conflict`, `too_many_requests`, ...). Every value is
//! one of the sdk's own types, so a mock cannot drift from what the client sends and decodes:
//!
//! ```no_run
//! use atlas_network_peering_httpmock::MockServerExt;
//!
//! # async fn example() -> Result<(), atlas_network_peering::Error> {
//! let server = httpmock::MockServer::start_async().await;
//! let group: atlas_network_peering::types::ObjectId = "6f1c2a9e4b7d3e0a1c5f8b21".parse().unwrap();
//! let page = atlas_network_peering::types::PeerPage {
//!     links: None,
//!     results: vec![],
//!     total_count: Some(0),
//! };
//! let mock = server.list_peers(|when, then| {
//!     when.group_id(&group)
//!         .provider_name(&atlas_network_peering::types::CloudProvider::Gcp);
//!     then.ok(&page);
//! });
//!
//! let client = atlas_network_peering::Client::from_config(
//!     atlas_network_peering::Config::new()
//!         .with_base_url(&server.base_url())?
//!         .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none()),
//! )?;
//! let answer = client
//!     .list_peers()
//!     .group_id(group.clone())
//!     .provider_name(atlas_network_peering::types::CloudProvider::Gcp)
//!     .send()
//!     .await?;
//! assert!(answer.results.is_empty());
//! mock.assert_async().await;
//! # Ok(())
//! # }
//! ```
//!
//! Error statuses take the spec's error object, [`atlas_network_peering::types::ApiError`], as Atlas sends it:
//! `then.not_found(&api_error)`. To go beyond what the spec allows (an undeclared status, an HTML
//! body, a `Retry-After` header), call `into_inner()` on the `When` or `Then` and use httpmock's
//! own methods.
//!
//! Three things to know:
//!
//! - An optional query parameter method takes `Into<Option<_>>`: a value requires it, `None`
//!   requires its absence. Parameters you do not mention are not checked.
//! - The path of an operation with an id at its end (`/containers/{containerId}`) also matches
//!   a fixed segment there (`/containers/all`); give the id (`when.container_id(&id)`) when
//!   both operations are mocked on one server.
//! - A body matcher (`when.body(&container)`) compares the JSON the sdk sends with the JSON of
//!   the value given, exactly.
//!
//! The code is generated at build time from `spec/network-peering.yaml` by
//! `codegen::mock::generate_httpmock`, with the same type settings as the client.

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
