//! The sdk against the simulator: every operation, the paging streams and the waiters, with
//! both kinds of credentials, and a consumer's whole peering lifecycle. On tokio's paused
//! clock: the sdk's retry and poll delays and the simulator's clock all move with it.

use std::sync::Arc;
use std::time::Duration;

use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{
    AwsContainer, AwsPeer, AwsRegion, AzureContainer, AzurePeer, AzureRegion, CloudProvider,
    GcpContainer, GcpPeer, PrivateIpMode,
};
use atlas_network_peering::waiter::{WaitOptions, WaiterExt};
use atlas_network_peering::{Client, Error};
use atlas_network_peering_sim::{Fault, Simulator, Verdict};
use futures_util::StreamExt;

mod common;
use common::config;

const S: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test(start_paused = true)]
async fn create_accept_wait_and_tear_down_an_aws_peering() {
    let started = std::time::Instant::now();
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();

    let container = client
        .create_container()
        .group_id(project)
        .body(AwsContainer::new("10.8.0.0/21", AwsRegion::UsEast1))
        .send()
        .await
        .unwrap();
    let container_id = container.id().unwrap().to_owned();
    let peer = client
        .create_peer()
        .group_id(project)
        .body(
            AwsPeer::new(
                &container_id,
                "418273645091",
                "vpc-07e3c5a9b1d2f4e68",
                "172.31.0.0/16",
                Some("eu-west-1"),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let peer_id = peer.id().unwrap().to_owned();
    assert_eq!(peer.raw_status(), Some("INITIATING"));

    sim.advance(S(30));
    assert_eq!(sim.peer_status(&peer_id), Some("PENDING_ACCEPTANCE"));
    assert!(sim.accept_peer(&peer_id));
    sim.advance(S(30));
    let peer = client
        .wait_peer_available(project, &peer_id, WaitOptions::new())
        .await
        .unwrap();
    let Peer::Aws(aws) = &peer else {
        panic!("{peer:?}")
    };
    assert!(
        aws.connection_id
            .clone()
            .flatten()
            .is_some_and(|c| c.starts_with("pcx-"))
    );

    client
        .delete_peer()
        .group_id(project)
        .peer_id(&peer_id)
        .send()
        .await
        .unwrap();
    sim.advance(S(30));
    client
        .wait_peer_deleted(project, &peer_id, WaitOptions::new())
        .await
        .unwrap();
    client
        .delete_container()
        .group_id(project)
        .container_id(&container_id)
        .send()
        .await
        .unwrap();
    let gone = client
        .get_container()
        .group_id(project)
        .container_id(&container_id)
        .send()
        .await
        .unwrap_err();
    assert!(gone.is_gone(), "{gone}");
    eprintln!(
        "create, accept, wait, delete peer and container: {:?} wall time",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_waiter_sees_each_state_and_a_rejection_with_its_reason() {
    let (sim, client) = common::start_with_client().await;
    let project = sim.project_id();
    let container = client
        .create_container()
        .group_id(project)
        .body(GcpContainer::new("10.64.0.0/18"))
        .send()
        .await
        .unwrap();
    let peer = client
        .create_peer()
        .group_id(project)
        .body(
            GcpPeer::new(
                container.id().unwrap(),
                "orbital-ledger-204817",
                "shared-services",
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let peer_id = peer.id().unwrap().to_owned();
    // The GCP container is named with its first peering.
    let container = client
        .get_container()
        .group_id(project)
        .container_id(container.id().unwrap())
        .send()
        .await
        .unwrap();
    let Container::Gcp(gcp) = container else {
        panic!()
    };
    assert!(gcp.network_name.flatten().is_some());

    sim.advance(S(60));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = WaitOptions::new()
        .with_timeout(S(600))
        .on_poll(move |poll| log.lock().unwrap().push(poll.seen.map(ToString::to_string)));
    sim.decide(
        &peer_id,
        Verdict::Fail("The peer network's IP ranges overlap.".into()),
    );
    let err = client
        .wait_peer_available(project, &peer_id, options)
        .await
        .unwrap_err();
    let wait = err.wait_error().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(wait.last_status(), Some("FAILED"));
    assert_eq!(wait.detail(), Some("The peer network's IP ranges overlap."));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_operation_with_a_service_account_and_the_paging_streams() {
    let sim = Simulator::start().await.unwrap();
    let client = Client::from_config(
        config(&sim).with_service_account(sim.client_id(), sim.client_secret()),
    )
    .unwrap();
    let project = sim.project_id();

    // Three AWS containers, one Azure.
    let mut ids = Vec::new();
    for (block, region) in [
        ("10.0.0.0/21", AwsRegion::UsEast1),
        ("10.0.8.0/21", AwsRegion::EuWest1),
        ("10.0.16.0/21", AwsRegion::ApSoutheast2),
    ] {
        let c = client
            .create_container()
            .group_id(project)
            .body(AwsContainer::new(block, region))
            .send()
            .await
            .unwrap();
        ids.push(c.id().unwrap().to_owned());
    }
    let azure = client
        .create_container()
        .group_id(project)
        .body(AzureContainer::new(
            "192.168.208.0/21",
            AzureRegion::SwedenCentral,
        ))
        .send()
        .await
        .unwrap();
    // A second container in a region is refused; the update of an unused one goes through.
    let again = client
        .create_container()
        .group_id(project)
        .body(AwsContainer::new("10.1.0.0/21", AwsRegion::UsEast1))
        .send()
        .await
        .unwrap_err();
    assert!(again.is_already_exists(), "{again}");
    let updated = client
        .update_container()
        .group_id(project)
        .container_id(&ids[0])
        .body(AwsContainer::new("10.2.0.0/21", AwsRegion::UsEast1))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.atlas_cidr_block(), Some("10.2.0.0/21"));

    // Two pages of one, then the end.
    let listed: Vec<Container> = client
        .containers(
            project,
            Paging::new().items_per_page(1).provider(CloudProvider::Aws),
        )
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(listed.len(), 3);
    let all = client
        .all_containers(project, Paging::new().items_per_page(2))
        .count()
        .await;
    assert_eq!(all, 4);

    // Azure peerings come up by themselves.
    let peer = client
        .create_peer()
        .group_id(project)
        .body(
            AzurePeer::new(
                azure.id().unwrap(),
                "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
                "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
                "rg-payments",
                "vnet-payments",
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let peer_id = peer.id().unwrap().to_owned();
    let updated = client
        .update_peer()
        .group_id(project)
        .peer_id(&peer_id)
        .body(
            AzurePeer::new(
                azure.id().unwrap(),
                "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
                "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
                "rg-payments",
                "vnet-payments",
            )
            .unwrap()
            .with_atlas_cidr_block("192.168.208.0/21"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.id(), Some(peer_id.as_str()));
    sim.advance(S(30));
    let peers: Vec<Peer> = client
        .peers(project, Paging::new().provider(CloudProvider::Azure))
        .map(|p| p.unwrap())
        .collect()
        .await;
    assert_eq!(peers.len(), 1);
    assert!(peers[0].is_available());
    let in_use = client
        .delete_container()
        .group_id(project)
        .container_id(azure.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        in_use.error_code().map(|c| c.as_str()),
        Some("CONTAINERS_IN_USE")
    );

    // Connect-via-Peering-Only cannot change while peerings exist.
    let mode = client
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await
        .unwrap();
    assert!(!mode.enabled);
    let refused = client
        .set_private_ip_mode()
        .group_id(project)
        .body(PrivateIpMode { enabled: true })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.error_code().map(|c| c.as_str()),
        Some("CANNOT_UPDATE_PRIVATE_IP_MODE")
    );
    assert_eq!(client.token_fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn faults_and_rate_limits_are_retried_by_the_sdk() {
    let sim = Simulator::start().await.unwrap();
    let client =
        Client::from_config(config(&sim).with_api_key(sim.public_key(), sim.private_key()))
            .unwrap();
    let project = sim.project_id();
    sim.fail_next(1, Fault::Unavailable);
    sim.fail_next(1, Fault::Reset);
    let mode = client
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await
        .unwrap();
    assert!(!mode.enabled);
    // The challenge, the 503, the reset and the answer.
    assert_eq!(sim.requests(), 4);

    sim.set_rate_limit(Some((1, Duration::from_secs(60))));
    let limited = client.get_private_ip_mode().group_id(project).send().await;
    // The first request of the window passes (the challenge was taken before); a second is
    // refused with Retry-After, which the sdk waits on the paused clock, then retries.
    assert!(limited.is_ok());
    let (before, started) = (sim.requests(), tokio::time::Instant::now());
    let retried = client.get_private_ip_mode().group_id(project).send().await;
    assert!(retried.is_ok(), "{retried:?}");
    assert_eq!(sim.requests() - before, 2, "the 429, then the retry");
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    // A retry policy that does not retry stops on the 429.
    let impatient = Client::from_config(
        config(&sim)
            .with_api_key(sim.public_key(), sim.private_key())
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap();
    impatient
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await
        .unwrap_err();
    let err = impatient
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    sim.set_rate_limit(None);

    // The wrong key is Atlas's 401.
    let wrong = Client::from_config(
        config(&sim)
            .with_api_key(sim.public_key(), "nope")
            .with_retry_policy(RetryPolicy::none()),
    )
    .unwrap();
    let err = wrong
        .get_private_ip_mode()
        .group_id(project)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(
        err.error_code().map(|c| c.as_str()),
        Some("USER_UNAUTHORIZED")
    );
    let missing: Error = client
        .get_peer()
        .group_id(project)
        .peer_id("65c1d2e3f4a5b6c7d8e9f0a1")
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_gone());
}
