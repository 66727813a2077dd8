//! The typed mocks against the real client: what a mock is told to match is what the sdk
//! sends, and what it is told to answer is what the sdk decodes.

use atlas_network_peering::types::{ApiError, ApiErrorCode, CloudProvider, ObjectId};
use atlas_network_peering_httpmock::MockServerExt;
use serde_json::json;

const GROUP: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
const CONTAINER: &str = "65a3f1c27b9e4d0a8c6b2e14";

fn client(server: &httpmock::MockServer) -> atlas_network_peering::Client {
    let config = atlas_network_peering::Config::new()
        .with_base_url(&server.base_url())
        .expect("the mock server's URL is a base URL")
        .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none());
    atlas_network_peering::Client::from_config(config).expect("a client for the mock server")
}

fn id(s: &str) -> ObjectId {
    s.parse().expect("a 24-hex id")
}

#[tokio::test]
async fn a_list_mock_matches_the_query_and_serves_a_typed_page() {
    let server = httpmock::MockServer::start_async().await;
    let page: atlas_network_peering::types::ContainerPage = serde_json::from_value(json!({
        "results": [{
            "id": CONTAINER, "providerName": "AWS", "provisioned": true,
            "atlasCidrBlock": "10.12.0.0/21", "regionName": "EU_CENTRAL_1",
            "vpcId": "vpc-0f3a9c1e7b5d24680"
        }],
        "totalCount": 1
    }))
    .unwrap();
    let mock = server.list_containers(|when, then| {
        when.group_id(&id(GROUP))
            .provider_name(&CloudProvider::Aws)
            .page_num(None);
        then.ok(&page);
    });

    let got = client(&server)
        .list_containers()
        .group_id(GROUP)
        .provider_name(CloudProvider::Aws)
        .send()
        .await
        .expect("the mocked page");

    mock.assert_async().await;
    assert_eq!(got, page);
}

#[tokio::test]
async fn a_body_mock_matches_the_json_the_sdk_sends() {
    let server = httpmock::MockServer::start_async().await;
    let request: atlas_network_peering::models::Container = serde_json::from_value(json!({
        "providerName": "GCP", "atlasCidrBlock": "10.24.0.0/18"
    }))
    .unwrap();
    let created: atlas_network_peering::models::Container = serde_json::from_value(json!({
        "id": "65b2c9e03f7a1d4b6e8c0f52", "providerName": "GCP", "provisioned": false,
        "atlasCidrBlock": "10.24.0.0/18", "gcpProjectId": null, "networkName": null
    }))
    .unwrap();
    let mock = server.create_container(|when, then| {
        when.group_id(&id(GROUP)).body(&request);
        then.created(&created);
    });

    let got = client(&server)
        .create_container()
        .group_id(GROUP)
        .body(request.clone())
        .send()
        .await
        .expect("the created container");

    mock.assert_async().await;
    assert_eq!(got, created);
}

#[tokio::test]
async fn an_error_mock_serves_an_atlas_error_the_sdk_reads() {
    let server = httpmock::MockServer::start_async().await;
    let not_found = ApiError {
        bad_request_detail: None,
        detail: Some(format!("No container with ID {CONTAINER} exists.")),
        error: 404,
        error_code: ApiErrorCode::CloudProviderContainerNotFound,
        parameters: Some(vec![json!(CONTAINER)]),
        reason: Some("Not Found".into()),
    };
    let mock = server.get_container(|when, then| {
        when.group_id(&id(GROUP)).container_id(&id(CONTAINER));
        then.not_found(&not_found);
    });

    let e: atlas_network_peering::Error = client(&server)
        .get_container()
        .group_id(GROUP)
        .container_id(CONTAINER)
        .send()
        .await
        .expect_err("a 404");

    mock.assert_async().await;
    assert!(e.is_not_found(), "{e}");
    assert_eq!(
        e.error_code(),
        Some(&ApiErrorCode::CloudProviderContainerNotFound)
    );
    assert_eq!(
        e.api_failure().and_then(|f| f.api_error()),
        Some(&not_found)
    );
}

#[tokio::test]
async fn a_mock_for_another_id_is_not_hit() {
    let server = httpmock::MockServer::start_async().await;
    let mock = server.delete_peer(|when, then| {
        when.group_id(&id(GROUP))
            .peer_id(&id("66011a4c8e3b7d2f5a9c0e61"));
        then.accepted();
    });

    let e: atlas_network_peering::Error = client(&server)
        .delete_peer()
        .group_id(GROUP)
        .peer_id("66023b5d9f4c8e3a6b0d1f72")
        .send()
        .await
        .expect_err("no mock for this peer");

    assert_eq!(mock.calls_async().await, 0);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{e}");
}
