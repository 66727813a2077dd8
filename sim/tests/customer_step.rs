//! The customer's step through the sdk, on tokio's paused clock: the simulator's clock and the
//! waiters' both read it, so a test sleeps minutes or days of virtual time in milliseconds,
//! with no bridge between clocks and no call to `advance`.

use std::time::Duration;

use atlas_network_peering::Client;
use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::types::{AwsContainer, AwsPeer, AwsRegion, GcpContainer, GcpPeer};
use atlas_network_peering::waiter::{CustomerStep, WaitOptions, WaiterExt};
use atlas_network_peering_sim::Simulator;
use tokio::time::{Instant, sleep};

mod common;

const MIN: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A new AWS container and a peering request on it; the peering's id.
async fn request_aws_peering(sim: &Simulator, client: &Client) -> String {
    let project = sim.project_id();
    let container = client
        .create_container()
        .group_id(project)
        .body(AwsContainer::new("10.8.0.0/21", AwsRegion::EuCentral1))
        .send()
        .await
        .unwrap();
    let request = AwsPeer::new(
        container.id().unwrap(),
        "418273645091",
        "vpc-07e3c5a9b1d2f4e68",
        "172.31.0.0/16",
        AwsRegion::EuWest1.provider_name().as_deref(),
    )
    .unwrap();
    let peer = client
        .create_peer()
        .group_id(project)
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(peer.raw_status(), Some("INITIATING"));
    peer.id().unwrap().to_owned()
}

/// A new AWS peering request and the customer's step the waiter reports for it.
async fn aws_step(sim: &Simulator, client: &Client) -> (String, CustomerStep) {
    let peer_id = request_aws_peering(sim, client).await;
    let step = client
        .wait_for_customer_step(sim.project_id(), &peer_id, WaitOptions::new())
        .await
        .unwrap();
    (peer_id, step)
}

fn connection_id(peer: &Peer) -> Option<String> {
    match peer {
        Peer::Aws(aws) => aws.connection_id.clone().flatten(),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn aws_poll_to_pending_acceptance_accept_by_pcx_then_wait_until_available() {
    let wall = std::time::Instant::now();
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();
    let peer_id = request_aws_peering(&sim, &client).await;
    let virtual_start = Instant::now();

    // A hand-written loop, as a team would write one: poll every 10 s of tokio's clock.
    let pcx = loop {
        let peer = client
            .get_peer()
            .group_id(project)
            .peer_id(&peer_id)
            .send()
            .await
            .unwrap();
        if peer.raw_status() == Some("PENDING_ACCEPTANCE") {
            break connection_id(&peer).expect("a pcx- id at PENDING_ACCEPTANCE");
        }
        assert_eq!(peer.raw_status(), Some("INITIATING"));
        sleep(Duration::from_secs(10)).await;
    };
    assert!(pcx.starts_with("pcx-") && pcx.len() == 21, "{pcx}");

    // The customer takes an hour, then accepts the request in their AWS account.
    sleep(60 * MIN).await;
    assert_eq!(sim.peer_status(&peer_id), Some("PENDING_ACCEPTANCE"));
    assert!(sim.accept_peer(&pcx));

    let peer = client
        .wait_peer_available(project, &peer_id, WaitOptions::new())
        .await
        .unwrap();
    assert!(peer.is_available());
    assert_eq!(connection_id(&peer).as_deref(), Some(pcx.as_str()), "kept");
    let virtual_elapsed = virtual_start.elapsed();
    assert!(
        virtual_elapsed > 61 * MIN && virtual_elapsed < 63 * MIN,
        "{virtual_elapsed:?}"
    );
    println!(
        "AWS request -> PENDING_ACCEPTANCE -> accepted -> AVAILABLE: {virtual_elapsed:?} of tokio's paused clock in {:?} of wall time",
        wall.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_waiters_run_the_whole_aws_flow() {
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();
    let (peer_id, step) = aws_step(&sim, &client).await;
    let CustomerStep::AcceptAwsPeering { connection_id, .. } = step else {
        panic!("{step:?}")
    };
    assert!(sim.accept_peer(&connection_id));
    let peer = client
        .wait_peer_available(project, &peer_id, WaitOptions::new())
        .await
        .unwrap();
    assert_eq!(peer.raw_status(), Some("AVAILABLE"));
}

#[tokio::test(start_paused = true)]
async fn gcp_step_names_atlas_project_and_network() {
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();
    let container = client
        .create_container()
        .group_id(project)
        .body(GcpContainer::new("10.64.0.0/18"))
        .send()
        .await
        .unwrap();
    let container_id = container.id().unwrap();
    let peer = client
        .create_peer()
        .group_id(project)
        .body(GcpPeer::new(container_id, "orbital-ledger-204817", "shared-services").unwrap())
        .send()
        .await
        .unwrap();
    let step = client
        .wait_for_customer_step(project, peer.id().unwrap(), WaitOptions::new())
        .await
        .unwrap();
    let CustomerStep::CreateGcpPeering {
        gcp_project_id,
        network_name,
        peer,
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(peer.raw_status(), Some("WAITING_FOR_USER"));
    let Container::Gcp(container) = client
        .get_container()
        .group_id(project)
        .container_id(container_id)
        .send()
        .await
        .unwrap()
    else {
        panic!("not a GCP container")
    };
    assert!(gcp_project_id.starts_with("p-"), "{gcp_project_id}");
    assert!(network_name.starts_with("nt-"), "{network_name}");
    assert_eq!(container.gcp_project_id.flatten(), Some(gcp_project_id));
    assert_eq!(container.network_name.flatten(), Some(network_name));
}

#[tokio::test(start_paused = true)]
async fn an_aws_request_nobody_accepts_fails_as_expired_after_7_days() {
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();
    let (peer_id, step) = aws_step(&sim, &client).await;
    assert!(matches!(step, CustomerStep::AcceptAwsPeering { .. }));
    let start = Instant::now();
    // Polls at most hourly, up to 8 days: AWS expires the request after 7.
    let options = WaitOptions::new()
        .with_timeout(8 * DAY)
        .with_max_delay(60 * MIN);
    let error = client
        .wait_peer_available(project, &peer_id, options)
        .await
        .unwrap_err();
    let wait = error.wait_error().unwrap_or_else(|| panic!("{error:?}"));
    assert!(!wait.is_timeout(), "{error}");
    assert_eq!(wait.last_status(), Some("FAILED"));
    assert_eq!(wait.detail(), Some("EXPIRED"));
    assert!(error.to_string().contains("FAILED (EXPIRED)"), "{error}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= 7 * DAY - MIN && elapsed <= 7 * DAY + 60 * MIN,
        "{elapsed:?}"
    );
}
