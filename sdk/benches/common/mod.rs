//! What the benches share: realistic list pages (`decode`, `stream`, `stream_memory`), mixed
//! AWS / GCP / Azure entries with the values and nulls Atlas sends, built deterministically so
//! every run decodes the same bytes; and the one-peer server and runtime of the per-call
//! benches (`overhead`, `call_instructions`).

// Each bench uses part of this module.
#![allow(dead_code)]

use serde_json::{Value, json};

// The ids, the peer's path and the sdk's `get_peer` call, as the tests have them.
#[path = "../../tests/common/mod.rs"]
mod shared;
pub use shared::{GROUP, PEER, peer_path};

/// `get_peer` of [`PEER`] through the sdk, decoded.
pub async fn sdk_get_peer(
    client: &atlas_network_peering::Client,
) -> atlas_network_peering::models::Peer {
    shared::get_peer(client).await.unwrap()
}

/// Atlas's largest page.
pub const PAGE_SIZE: usize = 500;

/// A small deterministic generator (SplitMix64), so the data does not depend on a crate.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

/// A 24-hex-digit id, unique per (page, index, kind).
fn object_id(page: usize, index: usize, kind: u8) -> String {
    format!(
        "6{kind:01x}{page:06x}{index:06x}{:010x}",
        (page * 7919 + index) as u64 * 2_654_435_761 % (1 << 40)
    )
}

const AWS_ACCEPTER_REGIONS: &[&str] = &[
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-2",
];
const AWS_REGIONS: &[&str] = &[
    "EU_WEST_1",
    "EU_CENTRAL_1",
    "US_EAST_1",
    "US_WEST_2",
    "AP_SOUTHEAST_2",
];
const GCP_REGIONS: &[&str] = &[
    "EUROPE_WEST_3",
    "EUROPE_WEST_4",
    "CENTRAL_US",
    "EASTERN_US",
    "WESTERN_EUROPE",
];
const AZURE_REGIONS: &[&str] = &[
    "EUROPE_WEST",
    "UK_SOUTH",
    "US_EAST_2",
    "GERMANY_WEST_CENTRAL",
];
const TEAMS: &[&str] = &[
    "ledger",
    "billing",
    "reporting",
    "core-services",
    "batch-jobs",
    "search",
    "ingest",
];

/// One peering connection: half AWS, three tenths GCP, one fifth Azure, in a fixed mix.
pub fn peer(page: usize, index: usize) -> Value {
    let mut r = Mix((page as u64) << 32 | index as u64);
    let id = object_id(page, index, 6);
    let container = object_id(0, index % 12, 5);
    let team = r.pick(TEAMS);
    match index % 10 {
        0..=4 => {
            let status = r.pick(&[
                "AVAILABLE",
                "AVAILABLE",
                "AVAILABLE",
                "PENDING_ACCEPTANCE",
                "INITIATING",
                "FAILED",
            ]);
            json!({
                "id": id,
                "providerName": "AWS",
                "containerId": container,
                // Null when the VPC is in the container's own region.
                "accepterRegionName": if r.next().is_multiple_of(3) { Value::Null } else { json!(r.pick(AWS_ACCEPTER_REGIONS)) },
                "awsAccountId": r.digits(12),
                "vpcId": format!("vpc-{}", r.hex(17)),
                "routeTableCidrBlock": format!("10.{}.0.0/16", r.next() % 250),
                "connectionId": if status == "INITIATING" { Value::Null } else { json!(format!("pcx-{}", r.hex(17))) },
                "statusName": status,
                "errorStateName": if status == "FAILED" { json!(r.pick(&["EXPIRED", "REJECTED"])) } else { Value::Null },
            })
        }
        5..=7 => {
            let status = r.pick(&[
                "AVAILABLE",
                "AVAILABLE",
                "WAITING_FOR_USER",
                "ADDING_PEER",
                "FAILED",
            ]);
            let project = format!("{team}-{}", r.digits(6));
            let network = format!("{team}-vpc");
            json!({
                "id": id,
                "providerName": "GCP",
                "containerId": container,
                "gcpProjectId": project,
                "networkName": network,
                "status": status,
                "errorMessage": if status == "FAILED" {
                    json!(format!("Peering could not be set up: network {network} was not found in Google Cloud project {project}."))
                } else {
                    Value::Null
                },
            })
        }
        _ => {
            let status = r.pick(&[
                "AVAILABLE",
                "AVAILABLE",
                "ADDING_PEER",
                "FAILED",
                "DELETION_FAILED",
            ]);
            let mut entry = json!({
                "id": id,
                "providerName": "AZURE",
                "containerId": container,
                "azureDirectoryId": format!("{}-{}-4{}-a{}-{}", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12)),
                "azureSubscriptionId": format!("{}-{}-4{}-b{}-{}", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12)),
                "resourceGroupName": format!("rg-{team}-uksouth"),
                "vnetName": format!("vnet-{team}-uksouth"),
                "status": status,
                "errorState": if status.contains("FAILED") {
                    json!(format!("The Atlas service principal lacks the AtlasPeering role on vnet-{team}-uksouth."))
                } else {
                    Value::Null
                },
            });
            if r.next().is_multiple_of(2) {
                entry["atlasCidrBlock"] = json!("192.168.248.0/21");
            }
            entry
        }
    }
}

/// One network peering container, in the same provider mix as [`peer`].
pub fn container(page: usize, index: usize) -> Value {
    let mut r = Mix(!((page as u64) << 32 | index as u64));
    let id = object_id(page, index, 5);
    let provisioned = !r.next().is_multiple_of(5);
    let cidr = format!("10.{}.{}.0/21", r.next() % 250, (r.next() % 32) * 8);
    match index % 10 {
        0..=4 => {
            let mut entry = json!({
                "id": id,
                "providerName": "AWS",
                "provisioned": provisioned,
                "atlasCidrBlock": cidr,
                "regionName": r.pick(AWS_REGIONS),
            });
            if provisioned {
                entry["vpcId"] = json!(format!("vpc-{}", r.hex(17)));
            }
            entry
        }
        5..=7 => json!({
            "id": id,
            "providerName": "GCP",
            "provisioned": provisioned,
            "atlasCidrBlock": cidr,
            "regions": [r.pick(GCP_REGIONS), r.pick(GCP_REGIONS)],
            "gcpProjectId": if provisioned { json!(format!("p-{}", r.hex(24))) } else { Value::Null },
            "networkName": if provisioned { json!(format!("nt-{id}-{}", r.hex(8))) } else { Value::Null },
        }),
        _ => json!({
            "id": id,
            "providerName": "AZURE",
            "provisioned": provisioned,
            "atlasCidrBlock": cidr,
            "region": r.pick(AZURE_REGIONS),
            "azureSubscriptionId": format!("{}-{}-4{}-8{}-{}", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12)),
            "vnetName": if provisioned { json!(format!("vnet_{}", r.hex(24))) } else { Value::Null },
        }),
    }
}

fn links(resource: &str, page: usize, per_page: usize, next: bool) -> Value {
    let href = |n: usize| {
        format!(
            "https://cloud.mongodb.com/api/atlas/v1.0/groups/{GROUP}/{resource}?pageNum={n}&itemsPerPage={per_page}"
        )
    };
    let mut links = vec![json!({"rel": "self", "href": href(page)})];
    if next {
        links.push(json!({"rel": "next", "href": href(page + 1)}));
    }
    Value::Array(links)
}

/// The JSON text of page `page` (from 1) of the peers listing: `len` entries, links `self`
/// and (when `next`) `next`, and `totalCount` when given.
pub fn peer_page(page: usize, len: usize, next: bool, total_count: Option<usize>) -> Vec<u8> {
    let results: Vec<Value> = (0..len).map(|i| peer(page, i)).collect();
    page_json("peers", page, results, next, total_count)
}

/// The JSON text of page `page` of the containers listing, like [`peer_page`].
pub fn container_page(page: usize, len: usize, next: bool, total_count: Option<usize>) -> Vec<u8> {
    let results: Vec<Value> = (0..len).map(|i| container(page, i)).collect();
    page_json("containers/all", page, results, next, total_count)
}

fn page_json(
    resource: &str,
    page: usize,
    results: Vec<Value>,
    next: bool,
    total_count: Option<usize>,
) -> Vec<u8> {
    let mut body = json!({
        "links": links(resource, page, PAGE_SIZE, next),
        "results": results,
    });
    if let Some(total) = total_count {
        body["totalCount"] = json!(total);
    }
    serde_json::to_vec(&body).expect("a Value always encodes")
}

// ---- A local server of peer pages -----------------------------------------------------------

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A minimal HTTP/1.1 server on 127.0.0.1 answering `GET .../groups/{groupId}/peers` with
/// pre-rendered pages, on plain threads so it needs no async runtime and allocates almost
/// nothing per request (the bodies are rendered before it starts).
///
/// The listing's length is chosen by the group id: the group `{pages:024x}` (for example
/// `000000000000000000000028` for 40 pages) lists `pages` full pages of [`PAGE_SIZE`]
/// entries. Page 1 carries `totalCount`, which is what ends the listing; every page has a
/// `self` and a `next` link. A page past the end is served empty and counted in
/// [`PageServer::past_end`].
pub struct PageServer {
    pub base_url: String,
    requests: Arc<AtomicU64>,
    past_end: Arc<AtomicU64>,
}

impl PageServer {
    /// Serves listings of each length in `lengths` (in pages).
    pub fn start(lengths: &[usize]) -> Self {
        let max = lengths.iter().copied().max().unwrap_or(1);
        let mut pages: Vec<Arc<Vec<u8>>> = vec![Arc::new(Vec::new())]; // index 0 unused
        for page in 1..=max {
            pages.push(Arc::new(peer_page(page, PAGE_SIZE, true, None)));
        }
        let firsts: HashMap<usize, Arc<Vec<u8>>> = lengths
            .iter()
            .map(|&n| {
                (
                    n,
                    Arc::new(peer_page(1, PAGE_SIZE, true, Some(n * PAGE_SIZE))),
                )
            })
            .collect();
        let empty = Arc::new(br#"{"results":[]}"#.to_vec());
        let content = Arc::new(Content {
            pages,
            firsts,
            empty,
        });

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let past_end = Arc::new(AtomicU64::new(0));
        let (r, p) = (requests.clone(), past_end.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (content, r, p) = (content.clone(), r.clone(), p.clone());
                std::thread::spawn(move || serve(stream, &content, &r, &p));
            }
        });
        Self {
            base_url,
            requests,
            past_end,
        }
    }

    /// The group id whose listing has `pages` pages.
    pub fn group(pages: usize) -> String {
        format!("{pages:024x}")
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn past_end(&self) -> u64 {
        self.past_end.load(Ordering::Relaxed)
    }
}

struct Content {
    pages: Vec<Arc<Vec<u8>>>,
    firsts: HashMap<usize, Arc<Vec<u8>>>,
    empty: Arc<Vec<u8>>,
}

/// The listing length and page number of a request target, if it is a peers listing.
fn parse_target(target: &str) -> Option<(usize, usize)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let group = path
        .strip_prefix("/api/atlas/v1.0/groups/")?
        .strip_suffix("/peers")?;
    let pages = usize::from_str_radix(group, 16).ok()?;
    let page = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("pageNum="))
        .map_or(Some(1), |n| n.parse().ok())?;
    Some((pages, page))
}

fn serve(stream: TcpStream, content: &Content, requests: &AtomicU64, past_end: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split(' ').nth(1).unwrap_or("").to_owned();
        // The headers; a GET has no body.
        let mut header = String::new();
        loop {
            header.clear();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        requests.fetch_add(1, Ordering::Relaxed);
        let (status, body) = match parse_target(&target) {
            Some((pages, 1)) => match content.firsts.get(&pages) {
                Some(first) => ("200 OK", first),
                None => ("404 Not Found", &content.empty),
            },
            Some((pages, page)) if page <= pages && page < content.pages.len() => {
                ("200 OK", &content.pages[page])
            }
            Some(_) => {
                past_end.fetch_add(1, Ordering::Relaxed);
                ("200 OK", &content.empty)
            }
            None => ("404 Not Found", &content.empty),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body).is_err() {
            return;
        }
    }
}

/// The body of [`PEER`]: one AWS peering connection, as Atlas sends it (~300 bytes).
pub fn peer_body() -> Value {
    json!({"id": PEER, "providerName": "AWS", "containerId": "64b0c1d2e3f4a5b6c7d8e9f0",
        "accepterRegionName": "eu-west-1", "awsAccountId": "418273645091", "vpcId": "vpc-07e3c5a9b1d2f4e68",
        "routeTableCidrBlock": "172.31.0.0/16", "connectionId": "pcx-0c4e6a8b2d1f3e5a7", "statusName": "AVAILABLE",
        "errorStateName": null})
}

/// The hand-written call: `GET url` with `Accept: application/json`, the whole body read, then
/// decoded as `T`.
pub async fn raw_get<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> T {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// reqwest as `atlas_network_peering::Client::from_config` builds it: the sdk's user agent and connect timeout
/// (it enforces the read and total timeouts itself), HTTP/1.1 only, reqwest's own retry layer
/// off.
pub fn reqwest_as_in_sdk() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(atlas_network_peering::config::USER_AGENT)
        .connect_timeout(atlas_network_peering::config::DEFAULT_CONNECT_TIMEOUT)
        .http1_only()
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .unwrap()
}

/// The runtime the per-call benches poll on: the caller on the bench thread (`block_on`), one
/// worker for the connections and the in-process mock server.
pub fn one_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A mock server answering `GET` [`peer_path`] with [`peer_body`], whatever the credentials.
pub fn peer_server(rt: &tokio::runtime::Runtime) -> httpmock::MockServer {
    let server = rt.block_on(httpmock::MockServer::start_async());
    rt.block_on(server.mock_async(|when, then| {
        when.method(httpmock::Method::GET).path(peer_path());
        then.status(200).json_body(peer_body());
    }));
    server
}

/// The two mocks of a Digest-protected [`peer_path`]: a 401 challenge for a request without
/// `Authorization`, the peer for one with it. Their hit counts give exchanges per call.
pub fn digest_mocks<'a>(
    rt: &tokio::runtime::Runtime,
    server: &'a httpmock::MockServer,
) -> (httpmock::Mock<'a>, httpmock::Mock<'a>) {
    let challenge = rt.block_on(server.mock_async(|when, then| {
        when.method(httpmock::Method::GET)
            .path(peer_path())
            .header_missing("authorization");
        then.status(401)
            .header(
                "www-authenticate",
                r#"Digest realm="MMS Public API", nonce="bench-nonce", algorithm=MD5, qop="auth""#,
            )
            .json_body(json!({"error": 401, "errorCode": "USER_UNAUTHORIZED"}));
    }));
    let ok = rt.block_on(server.mock_async(|when, then| {
        when.method(httpmock::Method::GET)
            .path(peer_path())
            .header_exists("authorization");
        then.status(200).json_body(peer_body());
    }));
    (challenge, ok)
}
