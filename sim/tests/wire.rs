//! The simulator on the wire, with plain HTTP: every answer it gives validates against the spec
//! (checked by the validator `cargo xtask regen` uses), Atlas's authentication, and bad input
//! answered as Atlas does while the simulator keeps serving.

use std::time::Duration;

use atlas_network_peering_sim::{Simulator, Timings};
use contract_tests::fixtures::{Fixture, Loaded, Request, Response, verify};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

mod common;

/// A plain reqwest client.
fn plain_http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A plain client of the simulator, with a service-account token.
struct Wire {
    http: reqwest::Client,
    base: String,
    token: String,
    project: String,
    /// Every exchange, as a fixture, for the spec check.
    log: Vec<Loaded>,
}

impl Wire {
    async fn new(sim: &Simulator) -> Self {
        let http = plain_http();
        let token = common::sim_token(&http, sim).await;
        Self {
            http,
            base: sim.base_url().to_owned(),
            token,
            project: sim.project_id().to_owned(),
            log: Vec::new(),
        }
    }

    /// Sends `method path?query` with `body`, records the exchange, returns status and body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = path.replace("{g}", &self.project);
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.parse().unwrap(), &url)
            .query(query)
            .bearer_auth(&self.token)
            .header("accept", "application/json");
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        self.log.push(Loaded {
            file: format!("sim: {method} {path} {query:?} -> {status}"),
            fixture: Fixture {
                description: String::new(),
                deliberately_violates_spec: false,
                request: Request {
                    method: method.to_owned(),
                    path,
                    query: query
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), json!(v)))
                        .collect(),
                    headers: Map::new(),
                    body,
                },
                response: Response {
                    status,
                    headers: Map::new(),
                    body: (!value.is_null()).then(|| value.clone()),
                    body_text: None,
                },
            },
        });
        (status, value)
    }
}

fn code(body: &Value) -> &str {
    body["errorCode"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_answer_validates_against_the_spec() {
    let sim = Simulator::start().await.unwrap();
    let mut w = Wire::new(&sim).await;
    let containers = "/api/atlas/v1.0/groups/{g}/containers";
    let peers = "/api/atlas/v1.0/groups/{g}/peers";

    let (s, aws) = w.call("POST", containers, &[], Some(json!({"providerName": "AWS", "atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"}))).await;
    assert_eq!(s, 200, "{aws}");
    let aws_id = aws["id"].as_str().unwrap().to_owned();
    let (s, gcp) = w.call("POST", containers, &[], Some(json!({"providerName": "GCP", "atlasCidrBlock": "10.64.0.0/22", "regions": ["EUROPE_WEST_3", "US_EAST_4"]}))).await;
    assert_eq!(s, 200, "{gcp}");
    let gcp_id = gcp["id"].as_str().unwrap().to_owned();
    let (s, azure) = w.call("POST", containers, &[], Some(json!({"providerName": "AZURE", "atlasCidrBlock": "192.168.208.0/21", "region": "SWEDEN_CENTRAL"}))).await;
    assert_eq!(s, 200, "{azure}");
    let azure_id = azure["id"].as_str().unwrap().to_owned();
    let (s, e) = w
        .call(
            "POST",
            containers,
            &[],
            Some(json!({"atlasCidrBlock": "10.12.0.0/21", "regionName": "US_EAST_1"})),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "CONTAINER_ALREADY_EXISTS"));
    let (s, e) = w
        .call(
            "POST",
            containers,
            &[],
            Some(json!({"atlasCidrBlock": "10.8.4.0/22", "regionName": "EU_WEST_1"})),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "OVERLAPPING_ATLAS_CIDR_BLOCK"));
    for (block, expected) in [
        ("10.9.0.0/20", "ATLAS_INVALID_CIDR_BLOCK"),
        ("8.8.8.0/24", "ATLAS_INVALID_CIDR_RANGE"),
        ("10.9.0.1/21", "ATLAS_NON_CANONICAL_CIDR_BLOCK"),
    ] {
        let (s, e) = w
            .call(
                "POST",
                containers,
                &[],
                Some(json!({"atlasCidrBlock": block, "regionName": "EU_WEST_1"})),
            )
            .await;
        assert_eq!((s, code(&e)), (400, expected));
    }
    let (s, e) = w
        .call(
            "POST",
            containers,
            &[],
            Some(json!({"atlasCidrBlock": "10.9.0.0/21", "regionName": "MOON_BASE_1"})),
        )
        .await;
    assert_eq!((s, code(&e)), (400, "INVALID_REGION"));
    // The spec lists the regions: this request breaks it on purpose.
    w.log.last_mut().unwrap().fixture.deliberately_violates_spec = true;

    let (s, page) = w
        .call(
            "GET",
            &format!("{containers}/all"),
            &[("itemsPerPage", "2")],
            None,
        )
        .await;
    assert_eq!((s, page["totalCount"].as_u64()), (200, Some(3)));
    assert_eq!(page["links"][1]["rel"], "next");
    let (s, _) = w
        .call(
            "GET",
            &format!("{containers}/all"),
            &[
                ("itemsPerPage", "2"),
                ("pageNum", "2"),
                ("includeCount", "false"),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, page) = w
        .call("GET", containers, &[("providerName", "GCP")], None)
        .await;
    assert_eq!(
        (s, page["results"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (s, page) = w.call("GET", containers, &[], None).await;
    assert_eq!(page["results"][0]["providerName"], "AWS", "{s}");
    let (s, e) = w
        .call("GET", containers, &[("providerName", "ORACLE")], None)
        .await;
    assert_eq!((s, code(&e)), (400, "INVALID_PROVIDER"));
    let (s, e) = w
        .call(
            "GET",
            &format!("{containers}/all"),
            &[("itemsPerPage", "501")],
            None,
        )
        .await;
    assert_eq!((s, code(&e)), (400, "INVALID_QUERY_PARAMETER"));

    let (s, _) = w
        .call("GET", &format!("{containers}/{aws_id}"), &[], None)
        .await;
    assert_eq!(s, 200);
    let (s, e) = w
        .call(
            "GET",
            &format!("{containers}/65c1d2e3f4a5b6c7d8e9f0a1"),
            &[],
            None,
        )
        .await;
    assert_eq!((s, code(&e)), (404, "CLOUD_PROVIDER_CONTAINER_NOT_FOUND"));
    let (s, _) = w.call("PATCH", &format!("{containers}/{aws_id}"), &[], Some(json!({"providerName": "AWS", "atlasCidrBlock": "10.10.0.0/21", "regionName": "US_EAST_1"}))).await;
    assert_eq!(s, 200);
    let (s, e) = w.call("PATCH", &format!("{containers}/{aws_id}"), &[], Some(json!({"providerName": "AWS", "atlasCidrBlock": "10.10.0.0/21", "regionName": "US_WEST_2"}))).await;
    assert_eq!((s, code(&e)), (400, "CANNOT_CHANGE_CONTAINER_REGION"));

    let aws_peer = json!({"providerName": "AWS", "containerId": aws_id, "awsAccountId": "418273645091", "vpcId": "vpc-07e3c5a9b1d2f4e68", "routeTableCidrBlock": "172.31.0.0/16", "accepterRegionName": "eu-west-1"});
    let (s, peer) = w.call("POST", peers, &[], Some(aws_peer.clone())).await;
    assert_eq!((s, peer["statusName"].as_str()), (200, Some("INITIATING")));
    let peer_id = peer["id"].as_str().unwrap().to_owned();
    let (s, e) = w.call("POST", peers, &[], Some(aws_peer.clone())).await;
    assert_eq!((s, code(&e)), (409, "PEER_ALREADY_EXISTS"));
    let mut public = aws_peer.clone();
    public["routeTableCidrBlock"] = json!("8.8.0.0/16");
    public["vpcId"] = json!("vpc-0a1b2c3d4e5f60718");
    let (s, e) = w.call("POST", peers, &[], Some(public)).await;
    assert_eq!((s, code(&e)), (400, "INVALID_ROUTE_TABLE_CIDR"));
    let (s, e) = w.call("POST", peers, &[], Some(json!({"providerName": "GCP", "containerId": "65c1d2e3f4a5b6c7d8e9f0a1", "gcpProjectId": "p", "networkName": "n"}))).await;
    assert_eq!((s, code(&e)), (404, "CLOUD_PROVIDER_CONTAINER_NOT_FOUND"));
    let (s, gcp_peer) = w.call("POST", peers, &[], Some(json!({"providerName": "GCP", "containerId": gcp_id, "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"}))).await;
    assert_eq!((s, gcp_peer["status"].as_str()), (200, Some("ADDING_PEER")));
    let (s, e) = w.call("POST", peers, &[], Some(json!({"providerName": "GCP", "containerId": gcp_id, "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"}))).await;
    assert_eq!((s, code(&e)), (409, "PEER_ALREADY_EXISTS_GCP"));
    let (s, _) = w.call("POST", peers, &[], Some(json!({"providerName": "AZURE", "containerId": azure_id, "azureDirectoryId": "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048", "azureSubscriptionId": "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90", "resourceGroupName": "rg-a", "vnetName": "vnet-a"}))).await;
    assert_eq!(s, 200);
    sim.advance(Duration::from_secs(30));
    for provider in ["AWS", "GCP", "AZURE"] {
        let (s, page) = w
            .call("GET", peers, &[("providerName", provider)], None)
            .await;
        assert_eq!(
            (s, page["results"].as_array().map(Vec::len)),
            (200, Some(1))
        );
    }
    let (s, peer) = w
        .call("GET", &format!("{peers}/{peer_id}"), &[], None)
        .await;
    assert_eq!(
        (s, peer["statusName"].as_str()),
        (200, Some("PENDING_ACCEPTANCE"))
    );
    let (s, _) = w
        .call(
            "PATCH",
            &format!("{peers}/{peer_id}"),
            &[],
            Some(aws_peer.clone()),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = w
        .call("DELETE", &format!("{containers}/{aws_id}"), &[], None)
        .await;
    assert_eq!((s, code(&e)), (409, "CONTAINERS_IN_USE"));
    let (s, e) = w
        .call(
            "PATCH",
            "/api/atlas/v1.0/groups/{g}/privateIpMode",
            &[],
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!((s, code(&e)), (400, "CANNOT_UPDATE_PRIVATE_IP_MODE"));
    let (s, _) = w
        .call("DELETE", &format!("{peers}/{peer_id}"), &[], None)
        .await;
    assert_eq!(s, 202);
    let (s, e) = w
        .call("DELETE", &format!("{peers}/{peer_id}"), &[], None)
        .await;
    assert_eq!((s, code(&e)), (409, "PEER_ALREADY_REQUESTED_DELETION"));
    let (s, e) = w
        .call("PATCH", &format!("{peers}/{peer_id}"), &[], Some(aws_peer))
        .await;
    assert_eq!((s, code(&e)), (409, "PEER_INVALID_STATE"));
    sim.advance(Duration::from_secs(30));
    let (s, e) = w
        .call("GET", &format!("{peers}/{peer_id}"), &[], None)
        .await;
    assert_eq!((s, code(&e)), (404, "PEER_NOT_FOUND"));
    let (s, _) = w
        .call("DELETE", &format!("{containers}/{aws_id}"), &[], None)
        .await;
    assert_eq!(s, 204);

    let (s, mode) = w
        .call("GET", "/api/atlas/v1.0/groups/{g}/privateIpMode", &[], None)
        .await;
    assert_eq!((s, &mode), (200, &json!({"enabled": false})));
    let other = sim.add_project();
    let (s, _) = w
        .call(
            "PATCH",
            &format!("/api/atlas/v1.0/groups/{other}/privateIpMode"),
            &[],
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = w
        .call(
            "GET",
            "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/peers",
            &[],
            None,
        )
        .await;
    assert_eq!((s, code(&e)), (404, "GROUP_NOT_FOUND"));

    sim.set_rate_limit(Some((0, Duration::from_secs(60))));
    let (s, e) = w.call("GET", peers, &[], None).await;
    assert_eq!((s, code(&e)), (429, "RATE_LIMITED"));
    sim.set_rate_limit(None);

    let spec = contract_tests::spec_json();
    let problems = verify(&spec, &w.log);
    assert!(
        problems.is_empty(),
        "{} exchanges, problems:\n{}",
        w.log.len(),
        problems.join("\n")
    );
    assert_eq!(w.log.len(), 42);
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of a `key="..."` parameter of a challenge.
fn param(challenge: &str, key: &str) -> String {
    let at = challenge.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
    challenge[at..].split('"').next().unwrap().to_owned()
}

fn sign(sim: &Simulator, nonce: &str, nc: u32, method: &str, uri: &str) -> String {
    let ha1 = md5_hex(&format!(
        "{}:MMS Public API:{}",
        sim.public_key(),
        sim.private_key()
    ));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let nc = format!("{nc:08x}");
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:0a4f113b:auth:{ha2}"));
    format!(
        r#"Digest username="{}", realm="MMS Public API", nonce="{nonce}", uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc={nc}, cnonce="0a4f113b""#,
        sim.public_key()
    )
}

#[tokio::test]
async fn digest_as_atlas_does_it() {
    let sim = Simulator::builder()
        .nonce_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let http = plain_http();
    let uri = format!("/api/atlas/v1.0/groups/{}/privateIpMode", sim.project_id());
    let url = format!("{}{uri}", sim.base_url());
    let first = http.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 401);
    let challenge = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"Digest realm="MMS Public API", domain="", nonce=""#),
        "{challenge}"
    );
    assert!(
        challenge.contains("algorithm=MD5, qop=\"auth\", stale=false"),
        "{challenge}"
    );
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["errorCode"], "USER_UNAUTHORIZED");
    let nonce = param(&challenge, "nonce");

    let get = |auth: String| http.get(&url).header("authorization", auth).send();
    // nc 1 and 3 pass, 2 out of order too; 2 again is a replay; a signature for another uri
    // is refused.
    for (nc, signed_uri, expected) in [
        (1, uri.as_str(), 200),
        (3, &uri, 200),
        (2, &uri, 200),
        (2, &uri, 401),
        (4, "/elsewhere", 401),
    ] {
        let status = get(sign(&sim, &nonce, nc, "GET", signed_uri))
            .await
            .unwrap()
            .status();
        assert_eq!(status, expected, "nc {nc}, uri {signed_uri}");
    }
    // An expired nonce: 401 with stale=true and a new nonce.
    sim.advance(Duration::from_secs(61));
    let stale = get(sign(&sim, &nonce, 5, "GET", &uri)).await.unwrap();
    assert_eq!(stale.status(), 401);
    let renewed = stale.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(renewed.ends_with("stale=true"), "{renewed}");
    let nonce = param(&renewed, "nonce");
    assert_eq!(
        get(sign(&sim, &nonce, 1, "GET", &uri))
            .await
            .unwrap()
            .status(),
        200
    );

    // The token endpoint refuses a wrong secret.
    let refused = http
        .post(format!("{}/api/oauth/token", sim.base_url()))
        .basic_auth(sim.client_id(), Some("not-the-secret"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn bad_input_gets_atlas_answers_and_the_simulator_keeps_serving() {
    let sim = Simulator::builder()
        .timings(Timings {
            auto_accept: Some(Duration::from_secs(5)),
            ..Timings::default()
        })
        .start()
        .await
        .unwrap();
    let mut w = Wire::new(&sim).await;
    let raw = |w: &Wire, method: &str, path: &str, body: &'static str| {
        w.http
            .request(
                method.parse().unwrap(),
                format!("{}{}", w.base, path.replace("{g}", &w.project)),
            )
            .bearer_auth(&w.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: [(&str, &str, &'static str, u16, &str); 10] = [
        (
            "POST",
            "/api/atlas/v1.0/groups/{g}/peers",
            "{not json",
            400,
            "MALFORMED_JSON",
        ),
        (
            "POST",
            "/api/atlas/v1.0/groups/{g}/peers",
            "[1, 2]",
            400,
            "INVALID_JSON",
        ),
        (
            "POST",
            "/api/atlas/v1.0/groups/{g}/containers",
            r#"{"providerName": "ORACLE", "atlasCidrBlock": "10.0.0.0/21"}"#,
            400,
            "INVALID_PROVIDER",
        ),
        (
            "POST",
            "/api/atlas/v1.0/groups/{g}/containers",
            r#"{"providerName": "AWS", "regionName": "US_EAST_1"}"#,
            400,
            "MISSING_ATTRIBUTE",
        ),
        (
            "POST",
            "/api/atlas/v1.0/groups/{g}/containers",
            r#"{"atlasCidrBlock": 10, "regionName": "US_EAST_1"}"#,
            400,
            "INVALID_ATTRIBUTE",
        ),
        (
            "GET",
            "/api/atlas/v1.0/groups/not-hex/peers",
            "",
            404,
            "INVALID_GROUP_ID",
        ),
        (
            "GET",
            "/api/atlas/v1.0/groups/{g}/peers/xyz",
            "",
            404,
            "INVALID_PEER_ID",
        ),
        (
            "GET",
            "/api/atlas/v1.0/groups/{g}/nonsense",
            "",
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "PUT",
            "/api/atlas/v1.0/groups/{g}/peers",
            "{}",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "DELETE",
            "/api/atlas/v1.0/groups/{g}/containers/all",
            "",
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (method, path, body, status, expected) in cases {
        let response = raw(&w, method, path, body).await.unwrap();
        assert_eq!(response.status(), status, "{method} {path} {body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            (answer["error"].as_u64(), code(&answer)),
            (Some(u64::from(status)), expected),
            "{method} {path}"
        );
    }
    let huge = "x".repeat(100 * 1024);
    let response = w
        .http
        .post(format!(
            "{}/api/atlas/v1.0/groups/{}/peers",
            w.base, w.project
        ))
        .bearer_auth(&w.token)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Still serving, and a pending peering is accepted by the customer after 5 s.
    let (s, c) = w
        .call(
            "POST",
            "/api/atlas/v1.0/groups/{g}/containers",
            &[],
            Some(json!({"atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, p) = w.call("POST", "/api/atlas/v1.0/groups/{g}/peers", &[], Some(json!({"containerId": c["id"], "awsAccountId": "418273645091", "vpcId": "vpc-1", "routeTableCidrBlock": "10.80.0.0/16", "accepterRegionName": null}))).await;
    let id = p["id"].as_str().unwrap();
    sim.advance(Duration::from_secs(35));
    assert_eq!(sim.peer_status(id), Some("FINALIZING"));
    sim.advance(Duration::from_secs(30));
    assert_eq!(sim.peer_status(id), Some("AVAILABLE"));
    // The token, ten bad requests, the oversized one and the two good ones.
    assert_eq!(sim.requests(), 14);
}

#[tokio::test]
async fn the_rules_of_peerings_and_small_containers_answer_with_atlas_codes() {
    let sim = Simulator::builder().max_peers(2).start().await.unwrap();
    let mut w = Wire::new(&sim).await;
    let containers = "/api/atlas/v1.0/groups/{g}/containers";
    let peers = "/api/atlas/v1.0/groups/{g}/peers";
    let (s, aws) = w.call("POST", containers, &[], Some(json!({"providerName": "AWS", "atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"}))).await;
    assert_eq!(s, 200, "{aws}");
    let aws_id = aws["id"].as_str().unwrap().to_owned();
    let peer = |vpc: &str, block: &str| json!({"providerName": "AWS", "containerId": aws_id, "awsAccountId": "418273645091", "vpcId": vpc, "routeTableCidrBlock": block, "accepterRegionName": "us-east-1"});

    let (s, a) = w
        .call("POST", peers, &[], Some(peer("vpc-0a", "172.31.0.0/16")))
        .await;
    assert_eq!(s, 200, "{a}");
    // Routes of one Atlas VPC may not overlap each other nor the Atlas block.
    let (s, e) = w
        .call("POST", peers, &[], Some(peer("vpc-0b", "172.31.128.0/20")))
        .await;
    assert_eq!((s, code(&e)), (409, "OVERLAPPING_CIDR_BLOCK"));
    assert_eq!(
        e["detail"],
        "The CIDR block 172.31.128.0/20 overlaps with another peer's CIDR block."
    );
    let (s, e) = w
        .call("POST", peers, &[], Some(peer("vpc-0b", "172.16.0.0/12")))
        .await;
    assert_eq!(
        (s, code(&e)),
        (409, "OVERLAPPING_CIDR_BLOCK"),
        "a block around another"
    );
    let (s, e) = w
        .call("POST", peers, &[], Some(peer("vpc-0b", "10.8.4.0/22")))
        .await;
    assert_eq!((s, code(&e)), (409, "OVERLAPPING_ATLAS_CIDR_BLOCK"));
    let (s, b) = w
        .call("POST", peers, &[], Some(peer("vpc-0b", "172.30.0.0/16")))
        .await;
    assert_eq!(s, 200, "{b}");
    let b_path = format!("{peers}/{}", b["id"].as_str().unwrap());

    // A PATCH that would duplicate another peering is refused as a create is.
    let (s, e) = w
        .call("PATCH", &b_path, &[], Some(peer("vpc-0a", "172.30.0.0/16")))
        .await;
    assert_eq!((s, code(&e)), (409, "PEER_ALREADY_EXISTS"));
    assert_eq!(
        e["detail"],
        "The peer with AWS Account ID 418273645091 and VPC ID vpc-0a already exists."
    );
    let (s, e) = w
        .call("PATCH", &b_path, &[], Some(peer("vpc-0b", "172.31.0.0/24")))
        .await;
    assert_eq!((s, code(&e)), (409, "OVERLAPPING_CIDR_BLOCK"));
    // Its own block and VPC are not a clash with itself.
    let (s, same) = w
        .call("PATCH", &b_path, &[], Some(peer("vpc-0b", "172.30.0.0/16")))
        .await;
    assert_eq!(s, 200, "{same}");
    // containerId and providerName cannot change.
    let mut moved = peer("vpc-0b", "172.30.0.0/16");
    moved["containerId"] = json!("65c1d2e3f4a5b6c7d8e9f0a1");
    let (s, e) = w.call("PATCH", &b_path, &[], Some(moved)).await;
    assert_eq!((s, code(&e)), (400, "ATTRIBUTE_READ_ONLY"));
    assert_eq!(e["parameters"], json!(["containerId"]));
    let (s, e) = w.call("PATCH", &b_path, &[], Some(json!({"providerName": "GCP", "containerId": aws_id, "gcpProjectId": "p", "networkName": "n"}))).await;
    assert_eq!((s, code(&e)), (400, "ATTRIBUTE_READ_ONLY"));
    assert_eq!(e["parameters"], json!(["providerName"]));

    // The third peering of a container over a limit of two.
    let (s, e) = w
        .call("POST", peers, &[], Some(peer("vpc-0c", "192.168.0.0/16")))
        .await;
    assert_eq!((s, code(&e)), (409, "PEER_MAXIMUM_REACHED"));
    assert_eq!(
        e["detail"],
        "The maximum number of peering connections (2) has been reached."
    );

    // Small GCP containers: /21 to /24, one to the block's room of distinct regions, and
    // they cannot be updated.
    let gcp = |block: &str, regions: Value| {
        Some(json!({"providerName": "GCP", "atlasCidrBlock": block, "regions": regions}))
    };
    let (s, e) = w
        .call(
            "POST",
            containers,
            &[],
            gcp("10.64.0.0/18", json!(["US_EAST_4"])),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (400, "ATLAS_INVALID_CIDR_BLOCK_FOR_SMALL_CONTAINER")
    );
    for regions in [
        json!([]),
        json!(["US_EAST_4", "US_EAST_4"]),
        json!([
            "US_EAST_4",
            "US_WEST_2",
            "US_WEST_3",
            "US_WEST_4",
            "US_SOUTH_1"
        ]),
    ] {
        let (s, e) = w
            .call(
                "POST",
                containers,
                &[],
                gcp("10.64.0.0/22", regions.clone()),
            )
            .await;
        assert_eq!((s, code(&e)), (400, "INVALID_ATTRIBUTE"), "{regions}");
    }
    let four = json!(["US_EAST_4", "US_WEST_2", "US_WEST_3", "US_WEST_4"]);
    let (s, small) = w
        .call("POST", containers, &[], gcp("10.64.0.0/22", four.clone()))
        .await;
    assert_eq!(s, 200, "{small}");
    let small_id = small["id"].as_str().unwrap();
    let (s, e) = w
        .call(
            "PATCH",
            &format!("{containers}/{small_id}"),
            &[],
            gcp("10.64.0.0/22", four),
        )
        .await;
    assert_eq!((s, code(&e)), (400, "CANNOT_UPDATE_SMALL_CONTAINER"));
    assert_eq!(
        e["detail"],
        format!("Google Cloud network peering container {small_id} is small and can't be updated.")
    );

    // Azure peerings live in one Azure container of a project.
    let mut azure_ids = Vec::new();
    for (block, region) in [
        ("192.168.208.0/21", "SWEDEN_CENTRAL"),
        ("192.168.216.0/21", "UK_SOUTH"),
    ] {
        let (s, c) = w
            .call(
                "POST",
                containers,
                &[],
                Some(json!({"providerName": "AZURE", "atlasCidrBlock": block, "region": region})),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        azure_ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let azure = |container: &str, vnet: &str| json!({"providerName": "AZURE", "containerId": container, "azureDirectoryId": "5b2c9e71-0f4d-4a83-b6e2-91c7d3a5f048", "azureSubscriptionId": "0d7e5c3a-9f21-4b8e-a6c4-2f1e3d5b7a90", "resourceGroupName": "rg-a", "vnetName": vnet});
    let (s, _) = w
        .call("POST", peers, &[], Some(azure(&azure_ids[0], "vnet-a")))
        .await;
    assert_eq!(s, 200);
    let (s, e) = w
        .call("POST", peers, &[], Some(azure(&azure_ids[1], "vnet-b")))
        .await;
    assert_eq!(
        (s, code(&e)),
        (400, "AZURE_PEERING_MULTIPLE_REGIONS_NOT_ALLOWED")
    );
    let (s, _) = w
        .call("POST", peers, &[], Some(azure(&azure_ids[0], "vnet-b")))
        .await;
    assert_eq!(s, 200, "the same container takes more");

    let spec = contract_tests::spec_json();
    let problems = verify(&spec, &w.log);
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
}

#[tokio::test]
async fn links_start_at_the_simulators_url_whatever_the_host_header_says() {
    let sim = Simulator::start().await.unwrap();
    let w = Wire::new(&sim).await;
    let page = common::json_of(
        w.http
            .get(format!("{}/peers", common::group_url(&sim)))
            .bearer_auth(&w.token)
            .header("host", "evil.example:666"),
    )
    .await;
    let href = page["links"][0]["href"].as_str().unwrap();
    assert!(
        href.starts_with(&format!("{}/api/atlas/v1.0/groups/", sim.base_url())),
        "{href}"
    );
}
