//! The runtime against servers the test starts on 127.0.0.1: Digest and service-account auth,
//! retries, typed errors, ids checked before sending, and secrets kept out of traces.

use std::time::Duration;

use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::{Client, Config};
use httpmock::prelude::*;
use serde_json::json;

mod common;
use common::{GROUP, PEER, get_peer, peer_path};

const PRIVATE_KEY: &str = "priv-7d1e0b2c-secret-key";
const CLIENT_SECRET: &str = "mdb_sa_sk_9f8e7d6c5b4a";
const TOKEN: &str = "eyJ0b2tlbi1mb3ItdGVzdHMifQ.sig";
const CHALLENGE: &str = r#"Digest realm="MMS Public API", domain="", nonce="n0nce-one", algorithm=MD5, qop="auth", stale=false"#;

fn gcp_peer() -> serde_json::Value {
    json!({"id": PEER, "providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1",
           "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services", "status": "AVAILABLE", "errorMessage": null})
}

/// A configuration for `server` whose retries back off from 1 ms (the default policy
/// otherwise), so that retried calls take no noticeable time.
fn setup(server: &MockServer) -> (Config, ()) {
    let config = Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(1)));
    (config, ())
}

/// `get_peer` on `client`, which the test expects to fail.
async fn get_peer_error(client: &Client) -> atlas_network_peering::Error {
    get_peer(client).await.expect_err("the call fails")
}

async fn digest_server(server: &MockServer) -> (httpmock::Mock<'_>, httpmock::Mock<'_>) {
    let challenge = server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path()).header_missing("authorization");
            then.status(401).header("www-authenticate", CHALLENGE).json_body(json!({
                "error": 401, "errorCode": "USER_UNAUTHORIZED", "reason": "Unauthorized", "detail": "Authenticate first."}));
        })
        .await;
    let signed = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peer_path())
                .header_matches("authorization", r#"^Digest username="pub-key", realm="MMS Public API", uri="/api/atlas/v1\.0/groups/[0-9a-f]{24}/peers/[0-9a-f]{24}", nonce="n0nce-one", .*nc=[0-9a-f]{8}"#);
            then.status(200).json_body(gcp_peer());
        })
        .await;
    (challenge, signed)
}

#[tokio::test]
async fn digest_challenges_once_then_signs_pre_emptively() {
    let server = MockServer::start_async().await;
    let (challenge, signed) = digest_server(&server).await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_api_key("pub-key", PRIVATE_KEY)).unwrap();

    let first = get_peer(&client).await.unwrap();
    assert!(matches!(first, atlas_network_peering::models::Peer::Gcp(_)));
    assert_eq!(
        client.exchanges(),
        2,
        "first call: challenge + signed request"
    );
    for _ in 0..5 {
        get_peer(&client).await.unwrap();
    }
    assert_eq!(client.exchanges(), 7, "later calls: one exchange each");
    challenge.assert_calls_async(1).await;
    signed.assert_calls_async(6).await;
}

#[tokio::test]
async fn a_second_401_is_a_typed_error_after_two_exchanges() {
    let server = MockServer::start_async().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path());
            then.status(401).header("www-authenticate", CHALLENGE).json_body(json!({
                "error": 401, "errorCode": "USER_UNAUTHORIZED", "reason": "Unauthorized", "detail": "Wrong key."}));
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_api_key("pub-key", PRIVATE_KEY)).unwrap();
    let err = get_peer_error(&client).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(
        err.error_code(),
        Some(&atlas_network_peering::types::ApiErrorCode::UserUnauthorized)
    );
    assert_eq!(err.detail(), Some("Wrong key."));
    refused.assert_calls_async(2).await;
    assert!(!format!("{err:?} {err}").contains(PRIVATE_KEY));
}

#[tokio::test]
async fn concurrent_calls_each_take_one_exchange_once_challenged() {
    let server = MockServer::start_async().await;
    let _mocks = digest_server(&server).await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_api_key("pub-key", PRIVATE_KEY)).unwrap();
    get_peer(&client).await.unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_peer(&client).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(client.exchanges(), 2 + 20);
}

#[tokio::test]
async fn get_is_retried_on_503_honouring_retry_after() {
    let server = MockServer::start_async().await;
    let unavailable = server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path());
            then.status(503)
                .header("retry-after", "1")
                .body("<html><body>Service Unavailable</body></html>");
        })
        .await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_retry_policy(RetryPolicy::default().with_max_attempts(2)))
            .unwrap();
    let started = tokio::time::Instant::now();
    let err = get_peer_error(&client).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 1 s asked for was waited"
    );
    unavailable.assert_calls_async(2).await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    let host = server.address().to_string();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{host} answered 503 with a body that is not an Atlas error (after 2 attempts over "
        )) && message.ends_with(" s): <html><body>Service Unavailable</body></html>"),
        "{message}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        err.raw_body(),
        Some("<html><body>Service Unavailable</body></html>")
    );
    assert!(err.error_code().is_none() && err.is_retryable());
}

#[tokio::test]
async fn a_post_is_never_sent_twice_after_a_response() {
    let server = MockServer::start_async().await;
    let unavailable = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/peers"));
            then.status(503).header("retry-after", "1").body("");
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config).unwrap();
    let body: atlas_network_peering::models::Peer = serde_json::from_value(
        json!({"providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1",
        "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"}),
    )
    .unwrap();
    let err: atlas_network_peering::Error = client
        .create_peer()
        .group_id(GROUP)
        .body(body)
        .send()
        .await
        .unwrap_err();
    unavailable.assert_calls_async(1).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.raw_body(), Some(""));
    assert!(err.to_string().contains("empty body"), "{err}");
}

/// A client for `server`, which answers any request with the GCP peer: for the tests of what
/// is refused before sending, where the mock's calls show whether anything was sent.
async fn answer_anything(server: &MockServer) -> (Client, httpmock::Mock<'_>) {
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(gcp_peer());
        })
        .await;
    let (config, _) = setup(server);
    (Client::from_config(config).unwrap(), any)
}

#[tokio::test]
async fn bad_ids_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let (client, any) = answer_anything(&server).await;
    for bad in [
        "../../groups",
        "65c1d2e3f4a5b6c7d8e9f0a1/..",
        "65c1d2e3f4a5b6c7d8e9f0a?",
        "65c1d2e3f4a5b6c7d8e9f0#1",
        "65C1D2E3F4A5B6C7D8E9F0A1",
        "",
    ] {
        let err: atlas_network_peering::Error = client
            .get_peer()
            .group_id(GROUP)
            .peer_id(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, atlas_network_peering::Error::InvalidArgument(_)),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("peer_id"), "{err}");
        assert!(
            err.to_string().contains(&format!(
                "`{bad}` is not an Atlas id: 24 lowercase hexadecimal characters"
            )),
            "{err}"
        );
    }
    let upper = client
        .get_peer()
        .group_id(GROUP)
        .peer_id("65C1D2E3F4A5B6C7D8E9F0A1")
        .send()
        .await
        .unwrap_err();
    assert!(
        upper
            .to_string()
            .contains("(only the upper case is wrong: `65c1d2e3f4a5b6c7d8e9f0a1`)"),
        "{upper}"
    );
    let project = client
        .list_peers()
        .group_id("my-project")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        project.to_string(),
        "invalid argument: group_id: `my-project` is not an Atlas id: 24 lowercase hexadecimal characters"
    );
    let err: atlas_network_peering::Error =
        client.get_peer().peer_id(PEER).send().await.unwrap_err();
    assert!(err.to_string().contains("group_id"), "{err}");
    any.assert_calls_async(0).await;
    assert_eq!(client.exchanges(), 0);
}

#[tokio::test]
async fn envelope_true_is_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let (client, any) = answer_anything(&server).await;
    let read: atlas_network_peering::Error = client
        .get_peer()
        .group_id(GROUP)
        .peer_id(PEER)
        .envelope(true)
        .send()
        .await
        .unwrap_err();
    // A POST too: had it been sent, the peering would exist and the call would still fail.
    let create: atlas_network_peering::Error = client
        .create_peer()
        .group_id(GROUP)
        .envelope(true)
        .body(serde_json::from_value::<atlas_network_peering::models::Peer>(gcp_peer()).unwrap())
        .send()
        .await
        .unwrap_err();
    let list: atlas_network_peering::Error = client
        .list_peers()
        .group_id(GROUP)
        .page_num(std::num::NonZeroU32::new(2).unwrap())
        .envelope(true)
        .send()
        .await
        .unwrap_err();
    for err in [read, create, list] {
        assert!(
            matches!(err, atlas_network_peering::Error::InvalidArgument(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains("envelope=true"), "{err}");
    }
    any.assert_calls_async(0).await;
    assert_eq!(client.exchanges(), 0);

    // `envelope=false` is Atlas's default, asks for nothing, and goes through.
    let peer = client
        .get_peer()
        .group_id(GROUP)
        .peer_id(PEER)
        .envelope(false)
        .send()
        .await
        .unwrap();
    assert_eq!(peer.id(), Some(PEER));
    any.assert_calls_async(1).await;
}

#[tokio::test]
async fn broken_success_bodies_are_typed_errors_with_a_path() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/api/atlas/v1.0/groups/{GROUP}/peers"));
            then.status(200).body(
                r#"{"results": [{"providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1", "gcpProjectId": "p", "networkName": 7}]}"#,
            );
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config).unwrap();
    let err: atlas_network_peering::Error = client
        .list_peers()
        .group_id(GROUP)
        .send()
        .await
        .unwrap_err();
    let atlas_network_peering::Error::Decode { path, raw, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "/results/0/networkName");
    assert!(err.to_string().contains("networkName"), "{err}");
    assert!(raw.starts_with(b"{\"results\""));

    for (body, what) in [
        ("<html>oops</html>", "html"),
        (r#"{"results": [{"providerName": "#, "truncated"),
        ("", "empty"),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(200)
                    .header("content-type", "application/json")
                    .body(body);
            })
            .await;
        let (config, _) = setup(&server);
        let client = Client::from_config(config).unwrap();
        let err: atlas_network_peering::Error = client
            .list_peers()
            .group_id(GROUP)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, atlas_network_peering::Error::Decode { .. }),
            "{what}: {err:?}"
        );
    }
}

/// A token endpoint that grants [`TOKEN`] (to a request with this `Authorization`, when given)
/// and the peer, served to that token.
async fn token_endpoint_and_peer<'a>(
    server: &'a MockServer,
    authorization: Option<&str>,
) -> (httpmock::Mock<'a>, httpmock::Mock<'a>) {
    let token = server
        .mock_async(|when, then| {
            let when = when
                .method(POST)
                .path("/api/oauth/token")
                .body("grant_type=client_credentials");
            match authorization {
                Some(value) => when.header("authorization", value),
                None => when.header_exists("authorization"),
            };
            then.status(200).json_body(
                json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
            );
        })
        .await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peer_path())
                .header("authorization", format!("Bearer {TOKEN}"));
            then.status(200).json_body(gcp_peer());
        })
        .await;
    (token, api)
}

#[tokio::test]
async fn service_account_token_is_fetched_once_for_concurrent_calls() {
    let server = MockServer::start_async().await;
    let (token, api) = token_endpoint_and_peer(&server, None).await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_service_account("mdb_sa_id_1", CLIENT_SECRET)).unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_peer(&client).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    token.assert_calls_async(1).await;
    api.assert_calls_async(10).await;
    assert_eq!(client.token_fetches(), 1);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/oauth/token");
            then.status(200).json_body(
                json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
            );
        })
        .await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path());
            then.status(401).json_body(
                json!({"error": 401, "errorCode": "USER_UNAUTHORIZED", "reason": "Unauthorized"}),
            );
        })
        .await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_service_account("mdb_sa_id_1", CLIENT_SECRET)).unwrap();
    let err = get_peer_error(&client).await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    refused.assert_calls_async(2).await;
    token.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_failing_token_endpoint_is_an_auth_error_without_the_secret() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/oauth/token");
            then.status(401).json_body(
                json!({"error": "invalid_client", "error_description": "Bad client credentials"}),
            );
        })
        .await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_service_account("mdb_sa_id_1", CLIENT_SECRET)).unwrap();
    let err = get_peer_error(&client).await;
    assert!(
        matches!(err, atlas_network_peering::Error::Auth(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!format!("{err} {err:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn a_stalled_token_endpoint_is_retried_then_times_out_as_an_auth_error() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/oauth/token");
            then.status(200)
                .delay(Duration::from_secs(5))
                .json_body(json!({"access_token": TOKEN, "expires_in": 3600}));
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(
        config
            .with_service_account("mdb_sa_id_1", CLIENT_SECRET)
            .with_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = get_peer_error(&client).await;
    // Retried like a GET: four attempts of 300 ms, and the error says so.
    assert!(err.to_string().contains(", 4 attempts over "), "{err}");
    assert!(
        matches!(err, atlas_network_peering::Error::Auth(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("timed out: the attempt took longer than its timeout of 300ms"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains(CLIENT_SECRET));
    token.assert_calls_async(4).await;
    // Bounded by the timeout, not by the server's 5 s.
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_oversized_token_response_is_an_auth_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/oauth/token");
            then.status(200).body("x".repeat(200 * 1024));
        })
        .await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_service_account("mdb_sa_id_1", CLIENT_SECRET)).unwrap();
    let err = get_peer_error(&client).await;
    assert!(
        matches!(err, atlas_network_peering::Error::Auth(_)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("is longer than 65536 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn the_wire_request_is_exact() {
    let server = MockServer::start_async().await;
    let exact = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/peers"))
                .query_param("providerName", "AZURE")
                .query_param("itemsPerPage", "50")
                .header("accept", "application/json")
                .header_missing("content-type")
                .header_missing("api-version")
                .header_matches("user-agent", "^atlas-network-peering/[0-9.]+ ");
            then.status(200)
                .json_body(json!({"results": [], "totalCount": 0}));
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config).unwrap();
    let page = client
        .list_peers()
        .group_id(GROUP)
        .provider_name(atlas_network_peering::types::CloudProvider::Azure)
        .items_per_page(std::num::NonZeroU32::new(50).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_count, Some(0));
    exact.assert_calls_async(1).await;
}

#[tokio::test]
async fn peer_delete_takes_an_empty_body_and_an_empty_object() {
    for body in ["", "{}"] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(DELETE).path(peer_path());
                then.status(202).body(body);
            })
            .await;
        let (config, _) = setup(&server);
        let client = Client::from_config(config).unwrap();
        let r = client
            .delete_peer()
            .group_id(GROUP)
            .peer_id(PEER)
            .send_with_response()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
}

#[tokio::test]
async fn without_preemptive_digest_every_call_answers_its_own_challenge() {
    let server = MockServer::start_async().await;
    let (challenge, signed) = digest_server(&server).await;
    let (config, _) = setup(&server);
    let client = Client::from_config(
        config
            .with_api_key("pub-key", PRIVATE_KEY)
            .with_preemptive_digest(false),
    )
    .unwrap();
    for _ in 0..3 {
        get_peer(&client).await.unwrap();
    }
    assert_eq!(client.exchanges(), 6);
    challenge.assert_calls_async(3).await;
    signed.assert_calls_async(3).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_typed_error() {
    let server = MockServer::start_async().await;
    let results: Vec<serde_json::Value> = (0..2000).map(|_| gcp_peer()).collect();
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/peers"));
            then.status(200).json_body(json!({ "results": results }));
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_max_response_body(64 * 1024)).unwrap();
    let err: atlas_network_peering::Error = client
        .list_peers()
        .group_id(GROUP)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, atlas_network_peering::Error::BodyTooLarge { .. }),
        "{err:?}"
    );
    // The same page within the default limit decodes.
    let (config, _) = setup(&server);
    let page = Client::from_config(config)
        .unwrap()
        .list_peers()
        .group_id(GROUP)
        .send()
        .await
        .unwrap();
    assert_eq!(page.results.len(), 2000);
}

#[tokio::test]
async fn eight_concurrent_first_calls_share_one_challenge() {
    let server = MockServer::start_async().await;
    let (challenge, signed) = digest_server(&server).await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_api_key("pub-key", PRIVATE_KEY)).unwrap();
    // A fresh client: no challenge yet. One call takes it; the seven others wait for it.
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_peer(&client).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        client.exchanges(),
        9,
        "one challenge and eight signed requests"
    );
    challenge.assert_calls_async(1).await;
    signed.assert_calls_async(8).await;
}

#[tokio::test]
async fn a_post_is_retried_on_429_after_the_wait_asked_for() {
    let server = MockServer::start_async().await;
    let path = format!("/api/atlas/v1.0/groups/{GROUP}/privateIpMode");
    let limited = server
        .mock_async(|when, then| {
            when.method(PATCH).path(&path).header_missing("x-retried");
            then.status(429).header("retry-after", "1").json_body(json!({
                "error": 429, "errorCode": "RATE_LIMITED", "reason": "Too Many Requests",
                "detail": "Resource /groups is limited to 100 requests every 1 minutes. Please retry after 1 seconds."}));
        })
        .await;
    let (config, _) = setup(&server);
    let client =
        Client::from_config(config.with_retry_policy(RetryPolicy::default().with_max_attempts(2)))
            .unwrap();
    let started = tokio::time::Instant::now();
    let err = client
        .set_private_ip_mode()
        .group_id(GROUP)
        .body(atlas_network_peering::types::PrivateIpMode { enabled: false })
        .send()
        .await
        .expect_err("rate limited every time");
    // Retried (two attempts here), after the 1 s Atlas asked for.
    assert!(err.is_rate_limited(), "{err}");
    limited.assert_calls_async(2).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    // A 503 to the same PATCH is not sent again: it may have been acted on.
    let server = MockServer::start_async().await;
    let unavailable = server
        .mock_async(|when, then| {
            when.method(PATCH).path(&path);
            then.status(503).body("busy");
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config).unwrap();
    let err = client
        .set_private_ip_mode()
        .group_id(GROUP)
        .body(atlas_network_peering::types::PrivateIpMode { enabled: false })
        .send()
        .await
        .expect_err("503");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    unavailable.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_retry_after_past_the_budget_stops_at_once_with_the_answer() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path());
            then.status(429)
                .header("retry-after", "55")
                .json_body(json!({
                "error": 429, "errorCode": "RATE_LIMITED", "reason": "Too Many Requests"}));
        })
        .await;
    let (config, _) = setup(&server);
    let policy = RetryPolicy::default().with_max_elapsed(Duration::from_secs(30));
    let client = Client::from_config(config.with_retry_policy(policy)).unwrap();
    let err = get_peer_error(&client).await;
    assert!(err.is_rate_limited(), "{err}");
    // A 55 s wait is not cut to fit 30 s: the call stops at once, with the server's wait.
    limited.assert_calls_async(1).await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(55)));
}

/// RFC 4648 base64, for the expected `Authorization: Basic` value.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn the_token_request_form_encodes_id_and_secret_and_is_retried_like_a_get() {
    let (id, secret) = ("mdb_sa_id:7 ä", "s3cr%t+/=&x");
    // RFC 6749 §2.3.1: each form-encoded, then joined by `:` for Basic authentication.
    let expected = format!(
        "Basic {}",
        base64(b"mdb_sa_id%3A7+%C3%A4:s3cr%25t%2B%2F%3D%26x")
    );
    let server = MockServer::start_async().await;
    let busy = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/oauth/token")
                .header_missing("x-second");
            then.status(503).body("busy");
        })
        .await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_service_account(id, secret)).unwrap();
    let err = get_peer_error(&client).await;
    assert!(
        matches!(err, atlas_network_peering::Error::Auth(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("503"), "{err}");
    // Four attempts, like a GET, by the one retry loop.
    busy.assert_calls_async(4).await;
    assert!(err.to_string().contains("(after 4 attempts over "), "{err}");

    let server = MockServer::start_async().await;
    let (token, api) = token_endpoint_and_peer(&server, Some(&expected)).await;
    let (config, _) = setup(&server);
    let client = Client::from_config(config.with_service_account(id, secret)).unwrap();
    get_peer(&client).await.unwrap();
    token.assert_calls_async(1).await;
    api.assert_calls_async(1).await;
}

/// The sdk's time limits and waits are tokio's: a caller's paused clock drives them. Against a
/// server that never answers, the call ends on the read timeout in virtual time, at once in
/// real time.
#[tokio::test(start_paused = true)]
async fn a_paused_clock_drives_the_time_limits() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let client = Client::from_config(
        Config::new()
            .with_base_url(&base)
            .unwrap()
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap();
    let (real, virtual_) = (std::time::Instant::now(), tokio::time::Instant::now());
    let err = get_peer_error(&client).await;
    assert!(
        matches!(
            err,
            atlas_network_peering::Error::Timeout {
                limit: atlas_network_peering::error::TimeLimit::Read(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        virtual_.elapsed() >= Duration::from_secs(30),
        "{:?}",
        virtual_.elapsed()
    );
    assert!(
        real.elapsed() < Duration::from_secs(10),
        "{:?}",
        real.elapsed()
    );
    held.abort();
}
