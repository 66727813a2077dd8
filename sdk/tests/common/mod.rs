//! What the sdk's test files share, and the benches with them (`benches/common` includes this
//! file): the test project's ids, the path of its peering connection, and one well-formed
//! `get_peer` call. Each test file is its own crate and uses part of this.
#![allow(dead_code)]

/// The project (Atlas "group") every test and bench works in.
pub const GROUP: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
/// The peering connection the single-peer tests and the per-call benches fetch.
pub const PEER: &str = "65c1d2e3f4a5b6c7d8e9f0a1";
/// The peering container the container tests and the test peers point at.
pub const CONTAINER: &str = "64b0c1d2e3f4a5b6c7d8e9f1";

/// The path of `GET` one peering connection, for [`PEER`] in [`GROUP`].
pub fn peer_path() -> String {
    format!("/api/atlas/v1.0/groups/{GROUP}/peers/{PEER}")
}

/// `get_peer` of [`PEER`] on `client`, decoded, with any failure as the sdk's one error type.
pub async fn get_peer(
    client: &atlas_network_peering::Client,
) -> Result<atlas_network_peering::models::Peer, atlas_network_peering::Error> {
    client.get_peer().group_id(GROUP).peer_id(PEER).send().await
}
