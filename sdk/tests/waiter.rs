//! Waiters against a scripted Atlas the test starts on 127.0.0.1, on tokio's paused clock:
//! backoff and deadline in virtual time, the customer's step of each provider, terminal
//! failures with the provider's reason, timeouts with the last status, deletion.
//!
//! The scripted server runs on the test's own runtime. A server on another thread (httpmock's)
//! would not do here: while the client waits for its answer the runtime is idle, and a paused
//! clock jumps to the next timer, the client's own read timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_network_peering::models::Peer;
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::waiter::{CustomerStep, Observed, WaitError, WaitOptions, WaiterExt};
use atlas_network_peering::{Client, Config, Error};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::Instant;

mod common;
use common::{CONTAINER, GROUP, PEER, peer_path};

const S: fn(u64) -> Duration = Duration::from_secs;
const PCX: &str = "pcx-0a1b2c3d4e5f60718";

/// Why a wait ended without the wanted state: the [`WaitError`] in the crate's error.
/// The `WaitError` a wait ended with; a success or another error fails the test.
fn wait_error<T: std::fmt::Debug>(result: Result<T, Error>) -> WaitError {
    match result {
        Err(Error::Wait(w)) => *w,
        other => panic!("not a wait error: {other:?}"),
    }
}

/// A wait that failed on `status`, with the provider's `detail` when there is one.
fn assert_failed(error: &WaitError, status: &str, detail: Option<&str>) {
    assert!(matches!(error, WaitError::Failed { .. }), "{error:?}");
    assert_eq!(
        (error.last_status(), error.detail()),
        (Some(status), detail)
    );
}

fn container_path() -> String {
    format!("/api/atlas/v1.0/groups/{GROUP}/containers/{CONTAINER}")
}

/// A route's answers (status and body) in order, its last one for every later request.
type Answers = Vec<(u16, Value)>;

/// Answers per `"METHOD /path"`; an unscripted route gets 599.
type Routes = HashMap<String, Answers>;

/// A scripted Atlas on the current runtime, and how often each route was asked.
struct Atlas {
    client: Client,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Atlas {
    async fn start(routes: &[(&str, String, Answers)]) -> Self {
        let routes: Routes = routes
            .iter()
            .map(|(method, path, answers)| (format!("{method} {path}"), answers.clone()))
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let (routes, counts) = (Arc::new(routes), hits.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, routes.clone(), counts.clone()));
            }
        });
        let config = Config::new()
            .with_base_url(&base)
            .unwrap()
            .with_retry_policy(RetryPolicy::none());
        Self {
            client: Client::from_config(config).unwrap(),
            hits,
        }
    }

    fn calls(&self, method: &str, path: &str) -> usize {
        let hits = self.hits.lock().unwrap();
        hits.get(&format!("{method} {path}")).copied().unwrap_or(0)
    }
}

/// One keep-alive connection: each request (none has a body) gets its route's next answer.
async fn serve(
    socket: tokio::net::TcpStream,
    routes: Arc<Routes>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
) {
    let mut socket = BufReader::new(socket);
    loop {
        let mut head = String::new();
        if socket.read_line(&mut head).await.unwrap_or(0) == 0 {
            return;
        }
        let mut line = String::new();
        while socket.read_line(&mut line).await.unwrap_or(0) > 2 {
            line.clear();
        }
        let mut words = head.split_whitespace();
        let method = words.next().unwrap_or_default();
        let path = words
            .next()
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default();
        let route = format!("{method} {path}");
        let n = {
            let mut hits = hits.lock().unwrap();
            let n = hits.entry(route.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let (status, body) = routes
            .get(&route)
            .map(|answers| answers[(n - 1).min(answers.len() - 1)].clone())
            .unwrap_or((599, json!({"detail": format!("unscripted {route}")})));
        let body = if status == 204 {
            String::new()
        } else {
            body.to_string()
        };
        let answer = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if socket.get_mut().write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A scripted Atlas that answers `GET` of the test peer with `answers`.
async fn peer_script(answers: Vec<(u16, Value)>) -> Atlas {
    Atlas::start(&[("GET", peer_path(), answers)]).await
}

fn ok(bodies: impl IntoIterator<Item = Value>) -> Vec<(u16, Value)> {
    bodies.into_iter().map(|body| (200, body)).collect()
}

fn aws(status: &str, connection: Value, error: Value) -> Value {
    json!({"id": PEER, "containerId": CONTAINER, "accepterRegionName": null,
        "awsAccountId": "123456789012", "routeTableCidrBlock": "172.31.0.0/16",
        "vpcId": "vpc-07e3c5a9b1d2f4e68", "connectionId": connection,
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

/// The sleeps of the default backoff before poll `n + 1`: each is the backoff step less up to
/// a quarter (jitter), so the time to reach a poll lies between three quarters of the sum of
/// the steps and the sum.
fn between(elapsed: Duration, steps: &[u64]) {
    let full: u64 = steps.iter().sum();
    assert!(
        elapsed >= S(full) * 3 / 4 && elapsed <= S(full),
        "{elapsed:?} not within 3/4 of {full} s and {full} s"
    );
}

/// Every poll's status and connection id, as `on_poll` saw them.
fn recorder() -> (WaitOptions, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = WaitOptions::new().on_poll(move |poll| {
        let entry = match (poll.seen, poll.error) {
            (Some(seen), _) => seen.to_string(),
            (None, Some(error)) => format!("error: {error}"),
            (None, None) => "nothing".into(),
        };
        log.lock().unwrap().push(entry);
    });
    (options, seen)
}

#[tokio::test(start_paused = true)]
async fn pending_pending_available_takes_three_polls_with_doubling_waits() {
    let atlas = peer_script(ok([
        aws("INITIATING", Value::Null, Value::Null),
        aws("FINALIZING", json!(PCX), Value::Null),
        aws("AVAILABLE", json!(PCX), Value::Null),
    ]))
    .await;
    let start = Instant::now();
    let peer = atlas
        .client
        .wait_peer_available(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap();
    assert!(matches!(peer, Peer::Aws(_)) && peer.is_available());
    between(start.elapsed(), &[5, 10]);
    assert_eq!(atlas.calls("GET", &peer_path()), 3);
}

#[tokio::test(start_paused = true)]
async fn the_backoff_is_configurable_and_capped() {
    let atlas = peer_script(ok([
        gcp("ADDING_PEER", Value::Null),
        gcp("ADDING_PEER", Value::Null),
        gcp("WAITING_FOR_USER", Value::Null),
        gcp("WAITING_FOR_USER", Value::Null),
        gcp("AVAILABLE", Value::Null),
    ]))
    .await;
    let start = Instant::now();
    let options = WaitOptions::new()
        .with_initial_delay(Duration::from_millis(2000))
        .with_max_delay(S(4));
    atlas
        .client
        .wait_peer_available(GROUP, PEER, options)
        .await
        .unwrap();
    between(start.elapsed(), &[2, 4, 4, 4]);
    assert_eq!(atlas.calls("GET", &peer_path()), 5);
}

#[tokio::test(start_paused = true)]
async fn a_half_hour_wait_polls_at_the_default_pace_in_virtual_time() {
    let atlas = peer_script(ok([aws("PENDING_ACCEPTANCE", json!(PCX), Value::Null)])).await;
    let (options, seen) = recorder();
    let start = Instant::now();
    let error = wait_error(
        atlas
            .client
            .wait_peer_available(GROUP, PEER, options.with_timeout(S(30 * 60)))
            .await,
    );
    // The last sleep is cut short: the last poll is right at the deadline.
    assert_eq!(start.elapsed(), S(30 * 60));
    let WaitError::TimedOut { elapsed, polls, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*elapsed, S(30 * 60));
    // Sleeps of 5, 10, 20 s, then 30 s, each less up to a quarter: between 63 and 83 polls.
    assert!((63..=83).contains(polls), "{polls}");
    assert_eq!(atlas.calls("GET", &peer_path()), *polls as usize);
    assert_eq!(seen.lock().unwrap().len(), *polls as usize);
    assert_eq!(
        error.to_string(),
        format!(
            "gave up after 1800s and {polls} polls; last seen: PENDING_ACCEPTANCE, connection {PCX}"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn aws_customer_step_returns_the_connection_id_once_there_is_one() {
    let atlas = peer_script(ok([
        aws("INITIATING", Value::Null, Value::Null),
        aws("PENDING_ACCEPTANCE", Value::Null, Value::Null),
        aws("PENDING_ACCEPTANCE", json!(PCX), Value::Null),
    ]))
    .await;
    let (options, seen) = recorder();
    let step = atlas
        .client
        .wait_for_customer_step(GROUP, PEER, options)
        .await
        .unwrap();
    match step {
        CustomerStep::AcceptAwsPeering {
            connection_id,
            peer,
        } => {
            assert_eq!(connection_id, PCX);
            assert_eq!(peer.raw_status(), Some("PENDING_ACCEPTANCE"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "INITIATING".to_owned(),
            "PENDING_ACCEPTANCE".to_owned(),
            format!("PENDING_ACCEPTANCE, connection {PCX}"),
        ]
    );
    assert_eq!(atlas.calls("GET", &peer_path()), 3);
}

#[tokio::test(start_paused = true)]
async fn gcp_customer_step_names_atlas_project_and_network_from_the_container() {
    let container = json!({"id": CONTAINER, "providerName": "GCP", "atlasCidrBlock": "10.64.0.0/18",
        "provisioned": false, "gcpProjectId": "p-0a1b2c3d4e5f6a7b8c9d0e1f", "networkName": "nt-64b0c1d2e3f4a5b6c7d8e9f1-abcd1234"});
    let atlas = Atlas::start(&[
        (
            "GET",
            peer_path(),
            ok([
                gcp("ADDING_PEER", Value::Null),
                gcp("WAITING_FOR_USER", Value::Null),
            ]),
        ),
        ("GET", container_path(), ok([container])),
    ])
    .await;
    let step = atlas
        .client
        .wait_for_customer_step(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap();
    let CustomerStep::CreateGcpPeering {
        gcp_project_id,
        network_name,
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(gcp_project_id, "p-0a1b2c3d4e5f6a7b8c9d0e1f");
    assert_eq!(network_name, "nt-64b0c1d2e3f4a5b6c7d8e9f1-abcd1234");
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
    assert_eq!(
        atlas.calls("GET", &container_path()),
        1,
        "only once waiting"
    );
}

#[tokio::test(start_paused = true)]
async fn an_available_peering_has_no_customer_step() {
    let atlas = peer_script(ok([
        azure("ADDING_PEER", Value::Null),
        azure("AVAILABLE", Value::Null),
    ]))
    .await;
    let step = atlas
        .client
        .wait_for_customer_step(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap();
    assert!(
        matches!(&step, CustomerStep::AlreadyAvailable(Peer::Azure(_))),
        "{step:?}"
    );
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
    assert_eq!(atlas.calls("GET", &container_path()), 0);
}

#[tokio::test(start_paused = true)]
async fn the_customer_step_wait_fails_at_once_with_the_provider_reason() {
    for (body, status, reason) in [
        (
            aws("FAILED", json!(PCX), json!("EXPIRED")),
            "FAILED",
            "EXPIRED",
        ),
        (
            aws("FAILED", json!(PCX), json!("REJECTED")),
            "FAILED",
            "REJECTED",
        ),
        (
            gcp("FAILED", json!("The peer network's IP ranges overlap.")),
            "FAILED",
            "The peer network's IP ranges overlap.",
        ),
    ] {
        let atlas = peer_script(ok([body])).await;
        let start = Instant::now();
        let error = wait_error(
            atlas
                .client
                .wait_for_customer_step(GROUP, PEER, WaitOptions::new())
                .await,
        );
        assert_failed(&error, status, Some(reason));
        assert!(
            error.to_string().ends_with(&format!("{status} ({reason})")),
            "{error}"
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "no sleep before failing");
        assert_eq!(atlas.calls("GET", &peer_path()), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn aws_error_state_fails_even_before_the_status_says_failed() {
    let atlas = peer_script(ok([
        aws("PENDING_ACCEPTANCE", json!(PCX), Value::Null),
        aws("PENDING_ACCEPTANCE", json!(PCX), json!("EXPIRED")),
    ]))
    .await;
    let start = Instant::now();
    let error = wait_error(
        atlas
            .client
            .wait_peer_available(GROUP, PEER, WaitOptions::new())
            .await,
    );
    assert_eq!(error.last_status(), Some("PENDING_ACCEPTANCE"));
    assert_eq!(error.detail(), Some("EXPIRED"));
    assert!(matches!(error, WaitError::Failed { .. }));
    between(start.elapsed(), &[5]);
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
}

#[tokio::test(start_paused = true)]
async fn azure_deletion_failed_ends_both_peer_waiters_with_the_error_state() {
    let body = azure("DELETION_FAILED", json!("the virtual network is locked"));
    let atlas = peer_script(ok([body])).await;
    let client = &atlas.client;
    for error in [
        wait_error(
            client
                .wait_peer_available(GROUP, PEER, WaitOptions::new())
                .await,
        ),
        wait_error(
            client
                .wait_peer_deleted(GROUP, PEER, WaitOptions::new())
                .await,
        ),
    ] {
        assert_failed(
            &error,
            "DELETION_FAILED",
            Some("the virtual network is locked"),
        );
    }
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
}

#[tokio::test(start_paused = true)]
async fn passing_the_deadline_times_out_with_the_last_status() {
    let atlas = peer_script(ok([gcp("ADDING_PEER", Value::Null)])).await;
    let error = wait_error(
        atlas
            .client
            .wait_peer_available(GROUP, PEER, WaitOptions::new().with_timeout(S(60)))
            .await,
    );
    let WaitError::TimedOut {
        elapsed,
        polls,
        last,
        last_error,
    } = &error
    else {
        panic!("{error:?}")
    };
    // Polls at 0, about 5, 15, 35 (and maybe 60 less a quarter of 30), then at 60 exactly.
    assert_eq!(*elapsed, S(60));
    assert!((5..=6).contains(polls), "{polls}");
    assert_eq!(
        last,
        &Some(Observed::Peer {
            status: Some("ADDING_PEER".into()),
            connection_id: None,
            detail: None
        })
    );
    assert!(last_error.is_none());
    assert!(error.is_timeout());
    assert_eq!(
        error.to_string(),
        format!("gave up after 60s and {polls} polls; last seen: ADDING_PEER")
    );
    assert_eq!(atlas.calls("GET", &peer_path()), *polls as usize);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_wait_is_cleaned_up_in_one_call() {
    let atlas = Atlas::start(&[
        (
            "GET",
            peer_path(),
            ok([aws("PENDING_ACCEPTANCE", json!(PCX), Value::Null)]),
        ),
        ("DELETE", peer_path(), vec![(202, json!({}))]),
    ])
    .await;
    let (client, project, peer_id) = (&atlas.client, GROUP, PEER);
    // The snippet of the waiter module's documentation.
    let result = match client
        .wait_peer_available(project, peer_id, WaitOptions::new().with_timeout(S(120)))
        .await
    {
        Err(e) if e.wait_error().is_some_and(|w| w.is_timeout()) => {
            client
                .delete_peer()
                .group_id(project)
                .peer_id(peer_id)
                .send()
                .await
                .unwrap();
            Err(e)
        }
        other => other,
    };
    assert!(result.unwrap_err().wait_error().unwrap().is_timeout());
    assert_eq!(atlas.calls("DELETE", &peer_path()), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_status_keeps_polling_and_is_reported_on_timeout() {
    let atlas = peer_script(ok([aws("QUARANTINED", Value::Null, Value::Null)])).await;
    let error = wait_error(
        atlas
            .client
            .wait_peer_available(GROUP, PEER, WaitOptions::new().with_timeout(S(20)))
            .await,
    );
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.last_status(), Some("QUARANTINED"));
    assert!(
        error.to_string().ends_with("last seen: QUARANTINED"),
        "{error}"
    );
    // Polls at 0, about 5 and 15 s, then at 20 s.
    assert_eq!(atlas.calls("GET", &peer_path()), 4);
}

#[tokio::test(start_paused = true)]
async fn delete_waiter_succeeds_on_404() {
    let atlas = peer_script(vec![
        (200, azure("DELETING", Value::Null)),
        (200, aws("TERMINATING", json!(PCX), Value::Null)),
        (404, not_found()),
    ])
    .await;
    let start = Instant::now();
    atlas
        .client
        .wait_peer_deleted(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap();
    between(start.elapsed(), &[5, 10]);
    assert_eq!(atlas.calls("GET", &peer_path()), 3);
}

#[tokio::test(start_paused = true)]
async fn delete_waiter_times_out_reporting_deleting() {
    let atlas = peer_script(ok([gcp("DELETING", Value::Null)])).await;
    let error = wait_error(
        atlas
            .client
            .wait_peer_deleted(GROUP, PEER, WaitOptions::new().with_timeout(S(5)))
            .await,
    );
    assert!(error.is_timeout());
    assert_eq!(error.last_status(), Some("DELETING"));
    // At 0, after 5 s less up to a quarter, and (when that was less) at 5 s.
    assert!((2..=3).contains(&atlas.calls("GET", &peer_path())));
}

#[tokio::test(start_paused = true)]
async fn a_missing_peer_ends_the_waits_at_once() {
    let atlas = peer_script(vec![(404, not_found())]).await;
    let error = atlas
        .client
        .wait_peer_available(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap_err();
    assert!(error.is_gone(), "{error:?}");
    let error = atlas
        .client
        .wait_for_customer_step(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap_err();
    assert!(error.is_gone(), "{error:?}");
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
}

#[tokio::test(start_paused = true)]
async fn a_peer_being_deleted_cannot_become_available() {
    let atlas = peer_script(ok([aws("TERMINATING", json!(PCX), Value::Null)])).await;
    let error = wait_error(
        atlas
            .client
            .wait_peer_available(GROUP, PEER, WaitOptions::new())
            .await,
    );
    assert_failed(&error, "TERMINATING", None);
    assert_eq!(atlas.calls("GET", &peer_path()), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_is_polled_through_and_reported_on_timeout() {
    let unavailable =
        json!({"error": 503, "errorCode": "UNEXPECTED_ERROR", "reason": "Service Unavailable"});
    let atlas = peer_script(vec![
        (503, unavailable.clone()),
        (200, gcp("AVAILABLE", Value::Null)),
    ])
    .await;
    let (options, seen) = recorder();
    atlas
        .client
        .wait_peer_available(GROUP, PEER, options)
        .await
        .unwrap();
    assert_eq!(atlas.calls("GET", &peer_path()), 2);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen[0].starts_with("error: ") && seen[0].contains("503"),
        "{seen:?}"
    );
    assert_eq!(seen[1], "AVAILABLE");

    // Always 503: the timeout carries the error and no status.
    let down = peer_script(vec![(503, unavailable)]).await;
    let error = wait_error(
        down.client
            .wait_peer_available(GROUP, PEER, WaitOptions::new().with_timeout(S(10)))
            .await,
    );
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

#[tokio::test(start_paused = true)]
async fn container_waiter_waits_for_provisioned() {
    let container = |provisioned: bool| {
        json!({"id": CONTAINER, "providerName": "GCP", "atlasCidrBlock": "10.64.0.0/18",
            "provisioned": provisioned, "gcpProjectId": null, "networkName": null})
    };
    let atlas = Atlas::start(&[(
        "GET",
        container_path(),
        ok([container(false), container(true)]),
    )])
    .await;
    let c = atlas
        .client
        .wait_container_provisioned(GROUP, CONTAINER, WaitOptions::new())
        .await
        .unwrap();
    assert!(c.is_provisioned());
    assert_eq!(c.id(), Some(CONTAINER));
    assert_eq!(atlas.calls("GET", &container_path()), 2);

    // Never provisioned: times out saying so.
    let idle = Atlas::start(&[("GET", container_path(), ok([container(false)]))]).await;
    let error = wait_error(
        idle.client
            .wait_container_provisioned(GROUP, CONTAINER, WaitOptions::new().with_timeout(S(5)))
            .await,
    );
    assert!(matches!(
        error,
        WaitError::TimedOut {
            last: Some(Observed::Container { provisioned: false }),
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn bad_ids_and_options_send_nothing() {
    let atlas = Atlas::start(&[]).await;
    let bad_id = atlas
        .client
        .wait_for_customer_step(GROUP, "nope", WaitOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(bad_id, Error::InvalidArgument(_)), "{bad_id:?}");
    let bad_options = atlas
        .client
        .wait_peer_deleted(
            GROUP,
            PEER,
            WaitOptions::new().with_initial_delay(Duration::ZERO),
        )
        .await
        .unwrap_err();
    assert!(bad_options.to_string().contains("initial_delay"));
    let too_short = WaitOptions::new().with_max_delay(S(1));
    let bad_cap = atlas
        .client
        .wait_peer_available(GROUP, PEER, too_short)
        .await
        .unwrap_err();
    assert!(
        bad_cap
            .to_string()
            .contains("max_delay (1s) must be at least initial_delay (5s)"),
        "{bad_cap}"
    );
    assert!(atlas.hits.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_missing_project_is_not_taken_for_a_deleted_peer() {
    let atlas = peer_script(vec![(
        404,
        json!({"error": 404, "errorCode": "GROUP_NOT_FOUND", "reason": "Not Found",
            "detail": "No group with id 6f1c2a9e4b7d3e0a1c5f8b21 exists."}),
    )])
    .await;
    let error = atlas
        .client
        .wait_peer_deleted(GROUP, PEER, WaitOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.error_code(),
        Some(&atlas_network_peering::types::ApiErrorCode::GroupNotFound)
    );
    assert_eq!(atlas.calls("GET", &peer_path()), 1);
}
