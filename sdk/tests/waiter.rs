//! Waiters against servers the test starts on 127.0.0.1, on simulated time: backoff, terminal
//! failures of each provider with their detail, timeouts with the last status, deletion.

use std::sync::Arc;
use std::time::Duration;

use atlas_network_peering::models::{Peer, PeerStatus};
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::waiter::{Observed, SimulatedTime, WaitError, WaitOptions, WaiterExt};
use atlas_network_peering::{Client, Config};
use httpmock::prelude::*;
use serde_json::{Value, json};

mod common;
use common::{CONTAINER, GROUP, PEER, peer_path};

const S: fn(u64) -> Duration = Duration::from_secs;

/// Why a wait ended without the wanted state: the [`WaitError`] in the crate's error.
fn wait_error(e: atlas_network_peering::Error) -> WaitError {
    match e {
        atlas_network_peering::Error::Wait(w) => *w,
        other => panic!("not a wait error: {other:?}"),
    }
}

fn container_path() -> String {
    format!("/api/atlas/v1.0/groups/{GROUP}/containers/{CONTAINER}")
}

fn client(server: &MockServer) -> Client {
    let config = Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_retry_policy(RetryPolicy::none());
    Client::from_config(config).unwrap()
}

/// Default backoff (5 s doubling to 60 s) on simulated time.
fn options(time: &Arc<SimulatedTime>) -> WaitOptions {
    WaitOptions::new()
        .with_sleep(time.clone())
        .with_clock(time.clone())
}

fn aws(status: &str, error: Value) -> Value {
    json!({"id": PEER, "containerId": CONTAINER, "accepterRegionName": null,
        "awsAccountId": "123456789012", "routeTableCidrBlock": "172.31.0.0/16",
        "vpcId": "vpc-07e3c5a9b1d2f4e68", "connectionId": null,
        "statusName": status, "errorStateName": error})
}

fn gcp(status: &str, error: Value) -> Value {
    json!({"id": PEER, "providerName": "GCP", "containerId": CONTAINER,
        "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services",
        "status": status, "errorMessage": error})
}

fn azure(status: &str, error: Value) -> Value {
    json!({"id": PEER, "providerName": "AZURE", "containerId": CONTAINER,
        "azureDirectoryId": "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
        "azureSubscriptionId": "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
        "resourceGroupName": "rg-payments-prod", "vnetName": "vnet-payments",
        "status": status, "errorState": error})
}

fn not_found() -> Value {
    json!({"error": 404, "errorCode": "PEER_NOT_FOUND", "reason": "Not Found",
        "detail": "No peer with id 65c1d2e3f4a5b6c7d8e9f0a1 exists in group 6f1c2a9e4b7d3e0a1c5f8b21."})
}

/// Serves `bodies` in order, one poll each (the last one for every later poll), with `status`.
async fn script<'a>(
    server: &'a MockServer,
    path: &str,
    bodies: Vec<(u16, Value)>,
) -> Vec<httpmock::Mock<'a>> {
    let last = bodies.len() - 1;
    let mut mocks = Vec::new();
    for (i, (status, body)) in bodies.into_iter().enumerate() {
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path(path);
                let then = then.status(status).json_body(body);
                if i < last {
                    then.up_to_n_times(1);
                }
            })
            .await;
        mocks.push(mock);
    }
    mocks
}

#[tokio::test]
async fn pending_pending_available_takes_three_polls_with_doubling_waits() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (200, aws("INITIATING", Value::Null)),
            (200, aws("FINALIZING", Value::Null)),
            (200, aws("AVAILABLE", Value::Null)),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let peer = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .unwrap();
    assert!(matches!(peer, Peer::Aws(_)));
    assert_eq!(peer.status(), Some(PeerStatus::Available));
    assert_eq!(time.slept(), [S(5), S(10)]);
    assert_eq!(time.elapsed(), S(15));
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn the_backoff_is_configurable() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (200, gcp("ADDING_PEER", Value::Null)),
            (200, gcp("ADDING_PEER", Value::Null)),
            (200, gcp("WAITING_FOR_USER", Value::Null)),
            (200, gcp("WAITING_FOR_USER", Value::Null)),
            (200, gcp("AVAILABLE", Value::Null)),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    client(&server)
        .wait_peer_available(
            GROUP,
            PEER,
            options(&time)
                .with_initial_delay(Duration::from_millis(500))
                .with_max_delay(S(1)),
        )
        .await
        .unwrap();
    assert_eq!(time.slept(), [Duration::from_millis(500), S(1), S(1), S(1)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn aws_rejected_fails_at_once_with_the_error_state() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(200, aws("FAILED", json!("REJECTED")))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .map_err(wait_error)
        .unwrap_err();
    match &error {
        WaitError::Failed { status, detail } => {
            assert_eq!(status, &Some(PeerStatus::Failed));
            assert_eq!(detail.as_deref(), Some("REJECTED"));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("REJECTED"), "{error}");
    assert!(time.slept().is_empty(), "no wait before failing");
    mocks[0].assert_calls_async(1).await;
}

#[tokio::test]
async fn aws_error_state_fails_even_before_the_status_says_failed() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (200, aws("PENDING_ACCEPTANCE", Value::Null)),
            (200, aws("PENDING_ACCEPTANCE", json!("EXPIRED"))),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert_eq!(error.last_status(), Some(&PeerStatus::WaitingForUser));
    assert_eq!(error.detail(), Some("EXPIRED"));
    assert!(matches!(error, WaitError::Failed { .. }));
    assert_eq!(time.slept(), [S(5)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn azure_deletion_failed_ends_both_peer_waiters_with_the_error_state() {
    let server = MockServer::start_async().await;
    let body = azure("DELETION_FAILED", json!("the virtual network is locked"));
    let mocks = script(&server, &peer_path(), vec![(200, body)]).await;
    let client = client(&server);
    let time = Arc::new(SimulatedTime::new());
    for error in [
        client
            .wait_peer_available(GROUP, PEER, options(&time))
            .await
            .map_err(wait_error)
            .unwrap_err(),
        client
            .wait_peer_deleted(GROUP, PEER, options(&time))
            .await
            .map_err(wait_error)
            .unwrap_err(),
    ] {
        match error {
            WaitError::Failed { status, detail } => {
                assert_eq!(status, Some(PeerStatus::DeletionFailed));
                assert_eq!(detail.as_deref(), Some("the virtual network is locked"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(time.slept().is_empty());
    mocks[0].assert_calls_async(2).await;
}

#[tokio::test]
async fn gcp_failed_carries_the_error_message() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (200, gcp("ADDING_PEER", Value::Null)),
            (
                200,
                gcp("FAILED", json!("The peer network's IP ranges overlap.")),
            ),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert!(matches!(
        &error,
        WaitError::Failed { status: Some(PeerStatus::Failed), detail: Some(d) }
            if d == "The peer network's IP ranges overlap."
    ));
    assert_eq!(time.slept(), [S(5)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn passing_the_deadline_times_out_with_the_last_status() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(200, gcp("ADDING_PEER", Value::Null))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time).with_timeout(S(60)))
        .await
        .map_err(wait_error)
        .unwrap_err();
    // Polls at 0, 5, 15, 35 and, the last wait cut short, 60.
    assert_eq!(time.slept(), [S(5), S(10), S(20), S(25)]);
    match &error {
        WaitError::TimedOut {
            elapsed,
            polls,
            last,
            last_error,
        } => {
            assert_eq!((*elapsed, *polls), (S(60), 5));
            assert_eq!(
                last,
                &Some(Observed::Peer {
                    status: Some(PeerStatus::Pending),
                    raw_status: Some("ADDING_PEER".into()),
                    detail: None
                })
            );
            assert!(last_error.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_timeout());
    assert_eq!(
        error.to_string(),
        "gave up after 60s and 5 polls; last seen: status PENDING"
    );
    mocks[0].assert_calls_async(5).await;
}

#[tokio::test]
async fn an_unknown_status_keeps_polling_and_is_reported_on_timeout() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(200, aws("QUARANTINED", Value::Null))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time).with_timeout(S(20)))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(
        error.last_status(),
        Some(&PeerStatus::Unknown("QUARANTINED".into()))
    );
    assert!(error.to_string().contains("QUARANTINED"), "{error}");
    assert_eq!(time.slept(), [S(5), S(10), S(5)]);
    mocks[0].assert_calls_async(4).await;
}

#[tokio::test]
async fn delete_waiter_succeeds_on_404() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (200, azure("DELETING", Value::Null)),
            (200, aws("TERMINATING", Value::Null)),
            (404, not_found()),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    client(&server)
        .wait_peer_deleted(GROUP, PEER, options(&time))
        .await
        .unwrap();
    assert_eq!(time.slept(), [S(5), S(10)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn delete_waiter_times_out_reporting_deleting() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(200, gcp("DELETING", Value::Null))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_deleted(GROUP, PEER, options(&time).with_timeout(S(5)))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(error.last_status(), Some(&PeerStatus::Deleting));
    mocks[0].assert_calls_async(2).await;
}

#[tokio::test]
async fn a_missing_peer_ends_the_available_waiter_at_once() {
    let server = MockServer::start_async().await;
    let mocks = script(&server, &peer_path(), vec![(404, not_found())]).await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .unwrap_err();
    assert!(error.is_gone(), "{error:?}");
    assert!(time.slept().is_empty());
    mocks[0].assert_calls_async(1).await;
}

#[tokio::test]
async fn a_peer_being_deleted_cannot_become_available() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(200, aws("TERMINATING", Value::Null))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert!(matches!(
        error,
        WaitError::Failed {
            status: Some(PeerStatus::Deleting),
            detail: None
        }
    ));
    mocks[0].assert_calls_async(1).await;
}

#[tokio::test]
async fn a_retryable_failure_is_polled_through_and_reported_on_timeout() {
    let server = MockServer::start_async().await;
    let unavailable =
        json!({"error": 503, "errorCode": "UNEXPECTED_ERROR", "reason": "Service Unavailable"});
    let mocks = script(
        &server,
        &peer_path(),
        vec![
            (503, unavailable.clone()),
            (200, gcp("AVAILABLE", Value::Null)),
        ],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let client = client(&server);
    client
        .wait_peer_available(GROUP, PEER, options(&time))
        .await
        .unwrap();
    assert_eq!(time.slept(), [S(5)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }

    // Always 503: the timeout carries the error and no status.
    let down = MockServer::start_async().await;
    script(&down, &peer_path(), vec![(503, unavailable)]).await;
    let time = Arc::new(SimulatedTime::new());
    let error = self::client(&down)
        .wait_peer_available(GROUP, PEER, options(&time).with_timeout(S(10)))
        .await
        .map_err(wait_error)
        .unwrap_err();
    match error {
        WaitError::TimedOut {
            polls: 3,
            last: None,
            last_error: Some(e),
            ..
        } => assert_eq!(e.status().map(|s| s.as_u16()), Some(503)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn container_waiter_waits_for_provisioned() {
    let server = MockServer::start_async().await;
    let container = |provisioned: bool| {
        json!({"id": CONTAINER, "providerName": "GCP", "atlasCidrBlock": "10.64.0.0/18",
            "provisioned": provisioned, "gcpProjectId": null, "networkName": null})
    };
    let mocks = script(
        &server,
        &container_path(),
        vec![(200, container(false)), (200, container(true))],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let c = client(&server)
        .wait_container_provisioned(GROUP, CONTAINER, options(&time))
        .await
        .unwrap();
    assert!(c.is_provisioned());
    assert_eq!(c.id(), Some(CONTAINER));
    assert_eq!(time.slept(), [S(5)]);
    for mock in &mocks {
        mock.assert_calls_async(1).await;
    }

    // Never provisioned: times out saying so.
    let idle = MockServer::start_async().await;
    script(&idle, &container_path(), vec![(200, container(false))]).await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&idle)
        .wait_container_provisioned(GROUP, CONTAINER, options(&time).with_timeout(S(5)))
        .await
        .map_err(wait_error)
        .unwrap_err();
    assert!(matches!(
        error,
        WaitError::TimedOut {
            last: Some(Observed::Container { provisioned: false }),
            ..
        }
    ));
}

#[tokio::test]
async fn bad_ids_and_options_send_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(599);
        })
        .await;
    let client = client(&server);
    let time = Arc::new(SimulatedTime::new());
    let bad_id = client
        .wait_peer_available(GROUP, "nope", options(&time))
        .await
        .unwrap_err();
    assert!(matches!(
        bad_id,
        atlas_network_peering::Error::InvalidArgument(_)
    ));
    let bad_options = client
        .wait_peer_deleted(
            GROUP,
            PEER,
            options(&time).with_initial_delay(Duration::ZERO),
        )
        .await
        .unwrap_err();
    assert!(bad_options.to_string().contains("initial_delay"));
    any.assert_calls_async(0).await;
    assert!(time.slept().is_empty());
}

#[tokio::test]
async fn a_missing_project_is_not_taken_for_a_deleted_peer() {
    let server = MockServer::start_async().await;
    let mocks = script(
        &server,
        &peer_path(),
        vec![(
            404,
            json!({"error": 404, "errorCode": "GROUP_NOT_FOUND", "reason": "Not Found",
                "detail": "No group with id 6f1c2a9e4b7d3e0a1c5f8b21 exists."}),
        )],
    )
    .await;
    let time = Arc::new(SimulatedTime::new());
    let error = client(&server)
        .wait_peer_deleted(GROUP, PEER, options(&time))
        .await
        .unwrap_err();
    assert_eq!(
        error.error_code(),
        Some(&atlas_network_peering::types::ApiErrorCode::GroupNotFound)
    );
    mocks[0].assert_calls_async(1).await;
}
