//! The binary driven over HTTP only, as a test in another language would drive it: its printed
//! settings, Atlas's API, and the `/__sim/` controls (clock, the customer's and the provider's
//! verdicts, a failed deletion, faults, the rate limit, containers, projects, reset).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

mod common;

/// The running program; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary with a service account: its `export` lines, read up to the project id.
fn start() -> (Running, BTreeMap<String, String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atlas-network-peering-sim"))
        .args(["--credentials", "service-account"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut printed = BTreeMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            printed.insert(name.to_owned(), value.to_owned());
            if name == "MONGODB_ATLAS_GROUP_ID" {
                break;
            }
        }
    }
    (Running(child), printed)
}

struct Http {
    client: reqwest::Client,
    base: String,
    group: String,
    token: String,
}

impl Http {
    /// `method path` with `body`: status, `Retry-After`, JSON answer (`Null` when none).
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let path = path.replace("{g}", &self.group);
        let url = format!("{}{path}", self.base);
        let response = common::send(&self.client, method, &url, &self.token, body).await;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (
            status,
            retry_after,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, _, answer) = self.send(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// `POST /__sim/{name}` with `body`, which must succeed.
    async fn control(&self, name: &str, body: Value) -> Value {
        self.ok("POST", &format!("/__sim/{name}"), Some(body)).await
    }

    async fn advance(&self, seconds: u64) {
        self.control("clock", json!({"advanceSeconds": seconds}))
            .await;
    }
}

#[tokio::test]
async fn the_binary_is_driven_through_its_http_controls() {
    let (_running, env) = start();
    let client = reqwest::Client::new();
    let base = env["MONGODB_ATLAS_BASE_URL"].clone();
    let token = common::token(
        &client,
        &base,
        &env["MONGODB_ATLAS_CLIENT_ID"],
        &env["MONGODB_ATLAS_CLIENT_SECRET"],
    )
    .await;
    let h = Http {
        client,
        base,
        group: env["MONGODB_ATLAS_GROUP_ID"].clone(),
        token,
    };
    let peers = "/api/atlas/v1.0/groups/{g}/peers";
    let container = h
        .ok(
            "POST",
            "/api/atlas/v1.0/groups/{g}/containers",
            Some(json!({"atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"})),
        )
        .await;
    let container_id = container["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (vpc, block) in [
        ("vpc-0a", "172.31.0.0/16"),
        ("vpc-0b", "172.30.0.0/16"),
        ("vpc-0c", "172.29.0.0/16"),
    ] {
        let peer = h
            .ok("POST", peers, Some(json!({"containerId": container_id, "awsAccountId": "418273645091", "vpcId": vpc, "routeTableCidrBlock": block, "accepterRegionName": null})))
            .await;
        ids.push(peer["id"].as_str().unwrap().to_owned());
    }
    // The clock: INITIATING for 30 s, then the customer's step.
    let status = |peer: &Value| peer["statusName"].as_str().unwrap_or_default().to_owned();
    h.advance(30).await;
    let pending = h.ok("GET", &format!("{peers}/{}", ids[0]), None).await;
    assert_eq!(status(&pending), "PENDING_ACCEPTANCE");

    // Rejected by the customer, through its pcx- id.
    let pcx = pending["connectionId"].as_str().unwrap();
    let answer = h
        .ok("POST", &format!("/__sim/peers/{pcx}/reject"), None)
        .await;
    assert_eq!(answer["status"], "FAILED");
    let rejected = h.ok("GET", &format!("{peers}/{}", ids[0]), None).await;
    assert_eq!(
        (status(&rejected).as_str(), &rejected["errorStateName"]),
        ("FAILED", &json!("REJECTED"))
    );

    // Failed by the provider; an error state AWS does not have is refused.
    let (s, _, e) = h
        .send(
            "POST",
            &format!("/__sim/peers/{}/fail", ids[1]),
            Some(json!({"reason": "ON_FIRE"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    h.ok(
        "POST",
        &format!("/__sim/peers/{}/fail", ids[1]),
        Some(json!({"reason": "INVALID_ARGUMENT"})),
    )
    .await;
    let failed = h.ok("GET", &format!("{peers}/{}", ids[1]), None).await;
    assert_eq!(
        (status(&failed).as_str(), &failed["errorStateName"]),
        ("FAILED", &json!("INVALID_ARGUMENT"))
    );

    // Accepted, available, then its deletion fails and it stays.
    let answer = h
        .ok("POST", &format!("/__sim/peers/{}/accept", ids[2]), None)
        .await;
    assert_eq!(answer["status"], "FINALIZING");
    let (s, _, _) = h
        .send("POST", &format!("/__sim/peers/{}/accept", ids[2]), None)
        .await;
    assert_eq!(s, 409, "not waiting any more");
    h.advance(30).await;
    assert_eq!(
        h.ok("GET", &format!("/__sim/peers/{}", ids[2]), None).await["status"],
        "AVAILABLE"
    );
    h.ok("DELETE", &format!("{peers}/{}", ids[2]), None).await;
    h.ok(
        "POST",
        &format!("/__sim/peers/{}/fail-deletion", ids[2]),
        Some(json!({"reason": "INVALID_ARGUMENT"})),
    )
    .await;
    h.advance(60).await;
    assert_eq!(
        status(&h.ok("GET", &format!("{peers}/{}", ids[2]), None).await),
        "FAILED"
    );

    // The rate limit: the second request of the window is a 429 with Retry-After.
    h.ok(
        "POST",
        "/__sim/rate-limit",
        Some(json!({"limit": 1, "windowSeconds": 60})),
    )
    .await;
    h.ok("GET", peers, None).await;
    let (s, retry_after, e) = h.send("GET", peers, None).await;
    assert_eq!((s, e["errorCode"].as_str()), (429, Some("RATE_LIMITED")));
    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    h.ok("POST", "/__sim/rate-limit", Some(json!({"limit": null})))
        .await;

    // Faults: the next request is a 503, the one after it is served.
    h.control("faults", json!({"fault": "unavailable", "count": 1}))
        .await;
    let (s, _, e) = h.send("GET", peers, None).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (503, Some("SERVICE_UNAVAILABLE"))
    );
    h.ok("GET", peers, None).await;
    h.control("faults", json!({"fault": "reset"})).await;
    let reset = h
        .client
        .get(format!(
            "{}/api/atlas/v1.0/groups/{}/peers",
            h.base, h.group
        ))
        .bearer_auth(&h.token)
        .send()
        .await;
    assert!(reset.is_err(), "{reset:?}");

    // A container provisioned, another project, and a reset.
    let answer = h
        .ok(
            "POST",
            &format!("/__sim/containers/{container_id}/provision"),
            None,
        )
        .await;
    assert_eq!(answer["provisioned"], true);
    let provisioned = h
        .ok(
            "GET",
            &format!("/api/atlas/v1.0/groups/{{g}}/containers/{container_id}"),
            None,
        )
        .await;
    assert_eq!(provisioned["provisioned"], true);
    let other = h.ok("POST", "/__sim/projects", None).await;
    let other = other["id"].as_str().unwrap();
    let empty = h
        .ok(
            "GET",
            &format!("/api/atlas/v1.0/groups/{other}/peers"),
            None,
        )
        .await;
    assert_eq!(empty["totalCount"], 0);
    // Absurd values are refused or bounded, never a crash: a clock jump too large for a
    // duration, and a quadrillion faults (which a reset clears).
    let (s, _, e) = h
        .send(
            "POST",
            "/__sim/clock",
            Some(json!({"advanceSeconds": 1e300})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    h.control("faults", json!({"fault": "unavailable", "count": 1e15}))
        .await;
    let (s, _, _) = h.send("GET", peers, None).await;
    assert_eq!(s, 503);
    let answer = h.ok("POST", "/__sim/reset", None).await;
    assert_eq!(answer["projectId"], json!(h.group));
    let (s, _, e) = h
        .send(
            "GET",
            &format!("/api/atlas/v1.0/groups/{{g}}/containers/{container_id}"),
            None,
        )
        .await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (404, Some("CLOUD_PROVIDER_CONTAINER_NOT_FOUND"))
    );
    let (s, _, _) = h
        .send(
            "GET",
            &format!("/api/atlas/v1.0/groups/{other}/peers"),
            None,
        )
        .await;
    assert_eq!(s, 404, "the other project is gone");
    h.ok("GET", peers, None).await;
    let (s, _, e) = h.send("POST", "/__sim/nonsense", None).await;
    assert_eq!(s, 404, "{e}");
}
