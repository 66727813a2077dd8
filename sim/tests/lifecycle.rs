//! The peering lifecycle on tokio's clock: under a paused test runtime the simulator's clock
//! moves as the test sleeps, with no call to `advance`. The customer's step per provider: AWS
//! `PENDING_ACCEPTANCE` with its `pcx-` request (accepted by either id, expired after 7 days),
//! GCP `WAITING_FOR_USER` with the container's project and network, Azure none.

use std::time::Duration;

use atlas_network_peering_sim::Simulator;
use serde_json::{Value, json};

mod common;

/// A plain HTTP client of the simulator, with a service-account token.
struct Wire {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Wire {
    async fn new(sim: &Simulator) -> Self {
        let http = reqwest::Client::new();
        let token = common::sim_token(&http, sim).await;
        Self {
            http,
            base: common::group_url(sim),
            token,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let response = common::send(&self.http, method, &url, &self.token, body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call("POST", path, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    async fn get(&self, path: &str) -> Value {
        let (status, answer) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A simulator whose service-account tokens outlive the weeks these tests sleep.
async fn start() -> Simulator {
    Simulator::builder()
        .token_lifetime(SECS(60 * 24 * 3600))
        .start()
        .await
        .unwrap()
}

fn status(peer: &Value) -> &str {
    peer.get("statusName")
        .or_else(|| peer.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Polls every 10 s of the paused clock until the peering is in `wanted`; the statuses seen.
async fn poll_until(w: &Wire, peer_id: &str, wanted: &str) -> (Value, Vec<String>) {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let peer = w.get(&format!("/peers/{peer_id}")).await;
        seen.push(status(&peer).to_owned());
        if status(&peer) == wanted {
            return (peer, seen);
        }
        tokio::time::sleep(SECS(10)).await;
    }
    panic!("never {wanted}: {seen:?}");
}

fn is_pcx(text: &str) -> bool {
    text.len() == 21
        && text.starts_with("pcx-")
        && text[4..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn aws_peer(w: &Wire, vpc: &str) -> String {
    let container = w
        .create(
            "/containers",
            json!({"providerName": "AWS", "atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"}),
        )
        .await;
    let peer = w
        .create(
            "/peers",
            json!({"providerName": "AWS", "containerId": container["id"], "awsAccountId": "418273645091",
                   "vpcId": vpc, "routeTableCidrBlock": "172.31.0.0/16", "accepterRegionName": "us-east-1"}),
        )
        .await;
    assert_eq!(status(&peer), "INITIATING");
    assert_eq!(peer["connectionId"], Value::Null, "no AWS request yet");
    peer["id"].as_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn an_aws_peering_waits_for_its_pcx_request_to_be_accepted_on_the_paused_clock() {
    let sim = start().await;
    let w = Wire::new(&sim).await;
    let peer_id = aws_peer(&w, "vpc-07e3c5a9b1d2f4e68").await;

    let (pending, seen) = poll_until(&w, &peer_id, "PENDING_ACCEPTANCE").await;
    assert_eq!(seen.first().map(String::as_str), Some("INITIATING"));
    let pcx = pending["connectionId"].as_str().unwrap().to_owned();
    assert!(is_pcx(&pcx), "{pcx}");
    // It waits for the customer, however long the test sleeps (short of AWS's week).
    tokio::time::sleep(SECS(3600)).await;
    assert_eq!(sim.peer_status(&peer_id), Some("PENDING_ACCEPTANCE"));

    assert!(sim.accept_peer(&pcx), "accepted by its pcx- id");
    let finalizing = w.get(&format!("/peers/{peer_id}")).await;
    assert_eq!(status(&finalizing), "FINALIZING");
    assert_eq!(finalizing["connectionId"], json!(pcx));
    let (available, _) = poll_until(&w, &peer_id, "AVAILABLE").await;
    assert_eq!(available["connectionId"], json!(pcx), "the id is kept");
    assert_eq!(available["errorStateName"], Value::Null);
    assert!(!sim.accept_peer(&pcx), "nothing left to accept");
}

#[tokio::test(start_paused = true)]
async fn an_aws_peering_is_accepted_by_its_atlas_id_too() {
    let sim = start().await;
    let w = Wire::new(&sim).await;
    let peer_id = aws_peer(&w, "vpc-0a1b2c3d4e5f60718").await;
    assert!(
        !sim.accept_peer(&peer_id),
        "INITIATING is not the customer's step"
    );
    poll_until(&w, &peer_id, "PENDING_ACCEPTANCE").await;
    assert!(sim.accept_peer(&peer_id));
    assert_eq!(sim.peer_status(&peer_id), Some("FINALIZING"));
    assert!(
        !sim.accept_peer("pcx-0123456789abcdef0"),
        "an unknown request"
    );
}

#[tokio::test(start_paused = true)]
async fn an_aws_request_not_accepted_within_7_days_expires() {
    let sim = start().await;
    let w = Wire::new(&sim).await;
    let peer_id = aws_peer(&w, "vpc-07e3c5a9b1d2f4e68").await;
    let (pending, _) = poll_until(&w, &peer_id, "PENDING_ACCEPTANCE").await;
    let pcx = pending["connectionId"].clone();

    tokio::time::sleep(SECS(7 * 24 * 3600 - 60)).await;
    assert_eq!(sim.peer_status(&peer_id), Some("PENDING_ACCEPTANCE"));
    tokio::time::sleep(SECS(60)).await;
    let expired = w.get(&format!("/peers/{peer_id}")).await;
    assert_eq!(status(&expired), "FAILED");
    assert_eq!(expired["errorStateName"], "EXPIRED");
    assert_eq!(expired["connectionId"], pcx);
    assert!(
        !sim.accept_peer(pcx.as_str().unwrap()),
        "too late to accept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_gcp_peering_waits_for_the_customers_reverse_peering() {
    let sim = start().await;
    let w = Wire::new(&sim).await;
    let container = w
        .create(
            "/containers",
            json!({"providerName": "GCP", "atlasCidrBlock": "10.64.0.0/18"}),
        )
        .await;
    let container_id = container["id"].as_str().unwrap();
    let peer = w
        .create(
            "/peers",
            json!({"providerName": "GCP", "containerId": container_id,
                   "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"}),
        )
        .await;
    let peer_id = peer["id"].as_str().unwrap();
    assert_eq!(status(&peer), "ADDING_PEER");

    let (waiting, _) = poll_until(&w, peer_id, "WAITING_FOR_USER").await;
    assert_eq!(waiting["errorMessage"], Value::Null);
    // What the customer needs for the reverse peering: Atlas's project and network.
    let container = w.get(&format!("/containers/{container_id}")).await;
    assert!(
        container["gcpProjectId"]
            .as_str()
            .is_some_and(|p| p.starts_with("p-"))
    );
    assert!(
        container["networkName"]
            .as_str()
            .is_some_and(|n| n.starts_with("nt-"))
    );
    // No expiry on GCP: it waits.
    tokio::time::sleep(SECS(30 * 24 * 3600)).await;
    assert_eq!(sim.peer_status(peer_id), Some("WAITING_FOR_USER"));

    assert!(sim.accept_peer(peer_id));
    let available = w.get(&format!("/peers/{peer_id}")).await;
    assert_eq!(status(&available), "AVAILABLE");
}

#[tokio::test(start_paused = true)]
async fn an_azure_peering_has_no_customer_step() {
    let sim = start().await;
    let w = Wire::new(&sim).await;
    let container = w
        .create(
            "/containers",
            json!({"providerName": "AZURE", "atlasCidrBlock": "192.168.208.0/21", "region": "SWEDEN_CENTRAL"}),
        )
        .await;
    let peer = w
        .create(
            "/peers",
            json!({"providerName": "AZURE", "containerId": container["id"],
                   "azureDirectoryId": "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048",
                   "azureSubscriptionId": "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90",
                   "resourceGroupName": "rg-payments", "vnetName": "vnet-payments"}),
        )
        .await;
    let peer_id = peer["id"].as_str().unwrap();
    let (_, seen) = poll_until(&w, peer_id, "AVAILABLE").await;
    assert!(
        seen.iter().all(|s| s == "ADDING_PEER" || s == "AVAILABLE"),
        "{seen:?}"
    );
    assert!(!sim.accept_peer(peer_id));

    // A deletion Azure fails: DELETION_FAILED with its error, and the peering stays.
    assert!(!sim.fail_deletion(peer_id, "not being deleted"));
    let (deleting, _) = w.call("DELETE", &format!("/peers/{peer_id}"), None).await;
    assert_eq!(deleting, 202);
    assert!(sim.fail_deletion(peer_id, "The virtual network is locked."));
    tokio::time::sleep(SECS(3600)).await;
    let failed = w.get(&format!("/peers/{peer_id}")).await;
    assert_eq!(status(&failed), "DELETION_FAILED");
    assert_eq!(failed["errorState"], "The virtual network is locked.");
}
