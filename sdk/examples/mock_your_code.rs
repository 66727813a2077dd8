//! Testing your own code that takes an `&atlas_network_peering::Client`, with the typed mocks of
//! `atlas-network-peering-httpmock`:
//! no network, no Atlas account.
//!
//! ```sh
//! cargo run -p atlas-network-peering --example mock_your_code
//! ```
//!
//! In your project these checks would be `#[tokio::test]` functions, with these
//! dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! atlas-network-peering-httpmock = "0.2"
//! httpmock = { version = "0.9", default-features = false }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Here they run from `main`, each against its own mock server on 127.0.0.1, and panic on the
//! first failed assertion. This example never talks to Atlas, whatever the environment holds.
//!
//! `server.list_peers(|when, then| ...)` is `httpmock`'s `server.mock(...)` narrowed to one
//! operation: `when` already matches its method and path and has one method per parameter,
//! `then` has one method per response the spec declares, and both take the sdk's own types.

use std::process::ExitCode;

use atlas_network_peering::models::{Peer, PeerStatus};
use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{
    ApiError, ApiErrorCode, AwsPeer, AwsPeerErrorState, AwsPeerProviderName, AwsPeerStatus,
    CloudProvider, GcpPeer, GcpPeerProviderName, GcpPeerStatus, ObjectId, PeerPage,
};
use atlas_network_peering_httpmock::MockServerExt;
use futures_util::StreamExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ----- Your code: what the checks below test. --------------------------------------------------

/// A peering connection someone has to look at, and why.
#[derive(Debug, PartialEq)]
struct NeedsAttention {
    peer_id: String,
    why: String,
}

/// The project's peering connections, of every provider, that failed or wait for the
/// customer to act.
async fn needs_attention(
    client: &atlas_network_peering::Client,
    project: &str,
) -> Result<Vec<NeedsAttention>, atlas_network_peering::Error> {
    let mut found = Vec::new();
    for provider in [CloudProvider::Aws, CloudProvider::Gcp, CloudProvider::Azure] {
        let mut peers = client.peers(project, Paging::new().provider(provider));
        while let Some(peer) = peers.next().await {
            let peer = peer?;
            let why = if peer.is_terminal_failure() {
                format!(
                    "failed: {}",
                    peer.error_detail().unwrap_or("no reason given")
                )
            } else if peer.status() == Some(PeerStatus::WaitingForUser) {
                "waits for the customer to accept it".to_owned()
            } else {
                continue;
            };
            found.push(NeedsAttention {
                peer_id: peer.id().unwrap_or("?").to_owned(),
                why,
            });
        }
    }
    Ok(found)
}

// ----- The checks. ----------------------------------------------------------------------------

const PROJECT: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
const AWS_CONTAINER: &str = "65a3f1c27b9e4d0a8c6b2e14";
const GCP_CONTAINER: &str = "65b2c9e03f7a1d4b6e8c0f52";

fn id(value: &str) -> ObjectId {
    value.parse().expect("24 lower-case hex characters")
}

/// A client for the mock. `RetryPolicy::none()`: a mocked 429 or 503 is answered once, not
/// retried with waits.
fn client_for(server: &httpmock::MockServer) -> Result<atlas_network_peering::Client, BoxError> {
    let config = atlas_network_peering::Config::new()
        .with_base_url(&server.base_url())?
        .with_retry_policy(RetryPolicy::none());
    Ok(atlas_network_peering::Client::from_config(config)?)
}

fn aws_peer(peer_id: &str, status: AwsPeerStatus, error: Option<AwsPeerErrorState>) -> Peer {
    Peer::Aws(AwsPeer {
        id: Some(id(peer_id)),
        container_id: id(AWS_CONTAINER),
        aws_account_id: "730418265093".parse().expect("12 digits"),
        vpc_id: "vpc-0b7d19e4c2a86f351".into(),
        accepter_region_name: None,
        route_table_cidr_block: "172.20.0.0/16".into(),
        provider_name: Some(AwsPeerProviderName::Aws),
        status_name: Some(status),
        // Tri-state: `Some(None)` is an explicit `null`, as Atlas sends it.
        connection_id: Some(None),
        error_state_name: Some(error),
    })
}

fn gcp_peer(peer_id: &str, status: GcpPeerStatus, error: Option<&str>) -> Peer {
    Peer::Gcp(GcpPeer {
        id: Some(id(peer_id)),
        container_id: id(GCP_CONTAINER),
        gcp_project_id: "harbor-analytics-418203".into(),
        network_name: "core-services".into(),
        provider_name: GcpPeerProviderName::Gcp,
        status: Some(status),
        error_message: Some(error.map(str::to_owned)),
    })
}

fn page(results: Vec<Peer>) -> PeerPage {
    PeerPage {
        links: None,
        total_count: Some(results.len() as i32),
        results,
    }
}

/// Failed and waiting connections are reported with their reason, available ones are not,
/// and each provider is asked exactly once.
async fn reports_failed_and_waiting_connections() -> Result<(), BoxError> {
    let server = httpmock::MockServer::start_async().await;
    let aws = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT))
            .provider_name(&CloudProvider::Aws);
        then.ok(&page(vec![
            aws_peer("66011a4c8e3b7d2f5a9c0e61", AwsPeerStatus::Available, None),
            aws_peer(
                "66023b5d9f4c8e3a6b0d1f72",
                AwsPeerStatus::PendingAcceptance,
                None,
            ),
            aws_peer(
                "66034c6e0a5d9f4b7c1e2a83",
                AwsPeerStatus::Failed,
                Some(AwsPeerErrorState::Expired),
            ),
        ]));
    });
    let gcp = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT))
            .provider_name(&CloudProvider::Gcp);
        then.ok(&page(vec![gcp_peer(
            "66056e8a2c7f1b6d9e3a4ca5",
            GcpPeerStatus::Failed,
            Some("network batch-jobs was not found"),
        )]));
    });
    let azure = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT))
            .provider_name(&CloudProvider::Azure);
        then.ok(&page(vec![]));
    });

    let found = needs_attention(&client_for(&server)?, PROJECT).await?;

    aws.assert_async().await;
    gcp.assert_async().await;
    azure.assert_async().await;
    assert_eq!(
        found,
        [
            NeedsAttention {
                peer_id: "66023b5d9f4c8e3a6b0d1f72".into(),
                why: "waits for the customer to accept it".into(),
            },
            NeedsAttention {
                peer_id: "66034c6e0a5d9f4b7c1e2a83".into(),
                why: "failed: EXPIRED".into(),
            },
            NeedsAttention {
                peer_id: "66056e8a2c7f1b6d9e3a4ca5".into(),
                why: "failed: network batch-jobs was not found".into(),
            },
        ]
    );
    Ok(())
}

/// A rate limit is not swallowed: it reaches the caller as an `atlas_network_peering::Error` it can recognise,
/// and nothing is asked after it.
async fn passes_a_rate_limit_on() -> Result<(), BoxError> {
    let server = httpmock::MockServer::start_async().await;
    let limited = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT))
            .provider_name(&CloudProvider::Aws);
        then.too_many_requests(&ApiError {
            error: 429,
            error_code: ApiErrorCode::RateLimited,
            detail: Some(
                "Resource groups/.../peers is limited to 60 requests every 1 minutes.".into(),
            ),
            reason: Some("Too Many Requests".into()),
            parameters: None,
            bad_request_detail: None,
        });
    });
    // Any other provider: must not be asked once AWS failed.
    let others = server.list_peers(|when, then| {
        when.group_id(&id(PROJECT));
        then.ok(&page(vec![]));
    });

    let e = needs_attention(&client_for(&server)?, PROJECT)
        .await
        .expect_err("the rate limit reaches the caller");

    assert!(e.is_rate_limited() && e.is_retryable(), "{e}");
    assert_eq!(e.error_code(), Some(&ApiErrorCode::RateLimited));
    limited.assert_calls_async(1).await;
    others.assert_calls_async(0).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    println!(
        "Checking your code against local mock servers on 127.0.0.1 (atlas-network-peering-httpmock).\n"
    );
    let results = [
        (
            "reports failed and waiting connections",
            reports_failed_and_waiting_connections().await,
        ),
        ("passes a rate limit on", passes_a_rate_limit_on().await),
    ];
    let mut passed = true;
    for (name, result) in &results {
        match result {
            Ok(()) => println!("ok      {name}"),
            Err(e) => {
                println!("FAILED  {name}: {e}");
                passed = false;
            }
        }
    }
    if !passed {
        return ExitCode::FAILURE;
    }
    println!("\nAll checks passed against the local mock servers; nothing left this machine.");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn reports_failed_and_waiting_connections() {
        super::reports_failed_and_waiting_connections()
            .await
            .expect("the check passes");
    }

    #[tokio::test]
    async fn passes_a_rate_limit_on() {
        super::passes_a_rate_limit_on()
            .await
            .expect("the check passes");
    }
}
