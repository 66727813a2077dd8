//! The typed mocks of the packaged `atlas-network-peering-httpmock`, as a consumer's test uses
//! them.

use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{ApiError, ApiErrorCode, ObjectId};
use atlas_network_peering::{Client, Config};
use atlas_network_peering_httpmock::MockServerExt;

#[tokio::test]
async fn a_mocked_404_is_a_not_found_error() {
    let server = httpmock::MockServer::start_async().await;
    let group: ObjectId = "6f1c2a9e4b7d3e0a1c5f8b21".parse().expect("an id");
    let peer: ObjectId = "66045d7f1b6e0a5c8d2f3b94".parse().expect("an id");
    let mock = server.get_peer(|when, then| {
        when.group_id(&group).peer_id(&peer);
        then.not_found(&ApiError::new(
            404,
            ApiErrorCode::PeerNotFound,
            "No such peer.",
        ));
    });
    let client = Client::from_config(
        Config::new()
            .with_base_url(&server.base_url())
            .expect("a loopback base URL")
            .with_retry_policy(RetryPolicy::none()),
    )
    .expect("a client");

    let error = client
        .get_peer()
        .group_id(group)
        .peer_id(peer)
        .send()
        .await
        .expect_err("a 404");

    mock.assert_async().await;
    assert!(error.is_not_found(), "{error}");
}
