//! A test written the way a team that uses the sdk would write it: their own function, which
//! takes an `&atlas_network_peering::Client`, tested against the typed mocks of
//! `atlas-network-peering-httpmock` (folder `sdk-httpmock/`), with no network and no Atlas
//! account. The README shows this file.

use atlas_network_peering::models::Peer;
use atlas_network_peering::types::{
    ApiError, ApiErrorCode, AwsPeerStatus, AzurePeerStatus, CloudProvider, GcpPeer,
    GcpPeerProviderName, GcpPeerStatus, ObjectId, PeerPage,
};
use atlas_network_peering_httpmock::MockServerExt;

// ----- The team's code under test. -----

/// The Atlas ids of the project's peering connections with `provider` that are AVAILABLE.
async fn available_peer_ids(
    client: &atlas_network_peering::Client,
    project: &str,
    provider: CloudProvider,
) -> Result<Vec<String>, atlas_network_peering::Error> {
    let page = client
        .list_peers()
        .group_id(project)
        .provider_name(provider)
        .send()
        .await?;
    Ok(page
        .results
        .iter()
        .filter_map(|peer| match peer {
            Peer::Aws(p) if p.status_name == Some(AwsPeerStatus::Available) => p.id.as_ref(),
            Peer::Gcp(p) if p.status == Some(GcpPeerStatus::Available) => p.id.as_ref(),
            Peer::Azure(p) if p.status == Some(AzurePeerStatus::Available) => p.id.as_ref(),
            _ => None,
        })
        .map(|id| id.to_string())
        .collect())
}

// ----- Their tests. -----

const PROJECT: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
const CONTAINER: &str = "65b2c9e03f7a1d4b6e8c0f52";

fn id(s: &str) -> ObjectId {
    s.parse().expect("a 24-hex id")
}

fn gcp_peer(peer_id: &str, network: &str, status: GcpPeerStatus) -> Peer {
    Peer::Gcp(GcpPeer {
        container_id: id(CONTAINER),
        error_message: None,
        gcp_project_id: "harbor-analytics-418203".into(),
        id: Some(id(peer_id)),
        network_name: network.into(),
        provider_name: GcpPeerProviderName::Gcp,
        status: Some(status),
    })
}

fn client_of(server: &httpmock::MockServer) -> atlas_network_peering::Client {
    atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url())
            .expect("a base URL")
            .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none()),
    )
    .expect("a client")
}

#[tokio::test]
async fn only_available_peers_are_returned() {
    let server = httpmock::MockServer::start_async().await;
    let page = PeerPage {
        links: None,
        results: vec![
            gcp_peer(
                "66045d7f1b6e0a5c8d2f3b94",
                "core-services",
                GcpPeerStatus::Available,
            ),
            gcp_peer(
                "66056e8a2c7f1b6d9e3a4ca5",
                "batch-jobs",
                GcpPeerStatus::Failed,
            ),
            gcp_peer(
                "66067f9b3d8a2c7e0f4b5db6",
                "reporting",
                GcpPeerStatus::Available,
            ),
        ],
        total_count: Some(3),
    };
    let mock = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT))
            .provider_name(&CloudProvider::Gcp);
        then.ok(&page);
    });

    let ids = available_peer_ids(&client_of(&server), PROJECT, CloudProvider::Gcp)
        .await
        .expect("the mocked page");

    mock.assert_async().await;
    assert_eq!(
        ids,
        ["66045d7f1b6e0a5c8d2f3b94", "66067f9b3d8a2c7e0f4b5db6"]
    );
}

#[tokio::test]
async fn a_rate_limited_listing_is_an_error_the_caller_can_retry() {
    let server = httpmock::MockServer::start_async().await;
    let mock = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT));
        then.too_many_requests(&ApiError {
            bad_request_detail: None,
            detail: Some("Too many requests.".into()),
            error: 429,
            error_code: ApiErrorCode::RateLimited,
            parameters: None,
            reason: Some("Too Many Requests".into()),
        });
    });

    let e = available_peer_ids(&client_of(&server), PROJECT, CloudProvider::Azure)
        .await
        .expect_err("a 429");

    mock.assert_async().await;
    assert!(e.is_rate_limited() && e.is_retryable(), "{e}");
}
