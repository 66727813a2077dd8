//! Contract tests: every recorded exchange in `fixtures/` is replayed through the sdk's public
//! API against a local mock server.
//!
//! For each fixture a mock answers the recorded response only to a request equal to the recorded
//! one (method, path, every query parameter and no other, the recorded headers, the JSON body),
//! and the sdk makes the call the fixture's operation stands for, with the fixture's arguments.
//! The test then checks that the mock was hit exactly once (the sdk sent the recorded request)
//! and that the sdk's answer is the recorded one: the decoded body encodes back to the recorded
//! JSON, or the error carries the recorded status, `errorCode` and raw body.
//!
//! Fixtures are discovered, not listed: a new file in `fixtures/` is replayed with no new code.
//! The run fails when a spec operation has no fixture or a fixture is replayed by nothing.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use contract_tests::fixtures::{self, Loaded, Operation};
use contract_tests::{root, spec_json};
use httpmock::{HttpMockRequest, Mock, MockServer, Then, When};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Every fixture, or a panic listing the files that do not load.
fn load() -> Vec<Loaded> {
    let (loaded, problems) = fixtures::load_all(&root(), "fixtures");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!loaded.is_empty(), "no fixtures found under fixtures/");
    loaded
}

fn find<'a>(loaded: &'a [Loaded], file: &str) -> &'a Loaded {
    loaded
        .iter()
        .find(|l| l.file == file)
        .unwrap_or_else(|| panic!("{file} is missing"))
}

// ---------------------------------------------------------------------------------------------
// The mock side: a recorded request to match, a recorded response to serve.

/// A request as the mock server saw it, for failure messages.
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn of(r: &HttpMockRequest) -> Self {
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(name, _)| {
                // The headers a fixture can record; others (host, user-agent) are noise here.
                matches!(name.as_str(), "accept" | "content-type" | "authorization")
            })
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                // Enough to tell a Digest answer from none; the rest is of no help.
                let value = if name == "authorization" {
                    value.split(',').next().unwrap_or_default().to_owned() + ", ..."
                } else {
                    value
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        headers.sort();
        Seen {
            method: r.method().to_string(),
            path: r.uri().path().to_owned(),
            query: r.query_params(),
            headers,
            body: r.body_string(),
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        for (name, value) in &self.headers {
            write!(f, "\n        {name}: {value}")?;
        }
        if !self.body.is_empty() {
            write!(f, "\n        body: {}", self.body)?;
        }
        Ok(())
    }
}

/// The recorded request, written like [`Seen`].
fn recorded(request: &fixtures::Request) -> String {
    let mut out = format!("{} {}", request.method, request.path);
    let query: Vec<String> = request
        .query
        .iter()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    if !query.is_empty() {
        out += &format!("?{}", query.join("&"));
    }
    let headers: BTreeMap<&String, String> =
        request.headers.iter().map(|(k, v)| (k, text(v))).collect();
    for (name, value) in headers {
        out += &format!("\n        {name}: {value}");
    }
    if let Some(body) = &request.body {
        out += &format!("\n        body: {body}");
    }
    out
}

/// A fixture value that should be a string (query values, header values).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Makes `when` match exactly the recorded request: method, path, each query parameter and no
/// other, each recorded header (no `content-type` without a body), and the body as JSON (no
/// body when none was recorded).
fn match_recorded(when: When, request: &fixtures::Request) -> When {
    let mut when = when
        .method(request.method.as_str())
        .path(request.path.as_str());
    for (name, value) in &request.query {
        when = when.query_param(name.as_str(), text(value));
    }
    let count = request.query.len();
    when = when.is_true(move |r: &HttpMockRequest| r.query_params().len() == count);
    for (name, value) in &request.headers {
        when = when.header(name.as_str(), text(value));
    }
    match &request.body {
        Some(body) => when.json_body(body.clone()),
        None => when
            .header_missing("content-type")
            .is_true(|r: &HttpMockRequest| r.body_ref().is_empty()),
    }
}

/// The body text a fixture's response is served with (and an error's raw body must equal).
fn served_body(response: &fixtures::Response) -> String {
    match (&response.body, &response.body_text) {
        (Some(body), _) => serde_json::to_string(body).expect("JSON encodes"),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    }
}

/// Makes `then` serve the recorded response: status, headers and body as recorded.
fn serve_recorded(then: Then, response: &fixtures::Response) -> Then {
    let mut then = then.status(response.status);
    for (name, value) in &response.headers {
        then = then.header(name.as_str(), text(value));
    }
    let body = served_body(response);
    if body.is_empty() {
        then
    } else {
        then.body(body)
    }
}

/// A mock registered after every other one: it takes each request nothing else matched, keeps
/// it for the failure message and answers 418 so that no such request can pass for a recorded
/// exchange. (httpmock tries mocks in the order they were made.)
async fn catch_all(server: &MockServer) -> Arc<Mutex<Vec<Seen>>> {
    let unmatched = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&unmatched);
    server
        .mock_async(move |when, then| {
            when.is_true(move |r: &HttpMockRequest| {
                keep.lock().expect("not poisoned").push(Seen::of(r));
                true
            });
            then.status(418)
                .body("no recorded exchange matches this request");
        })
        .await;
    unmatched
}

/// `None` when `mock` was hit exactly once and nothing went unmatched, else the problem, with
/// the recorded request and what the sdk sent instead.
async fn hit_once(
    mock: &Mock<'_>,
    unmatched: &Mutex<Vec<Seen>>,
    request: &fixtures::Request,
    what: &str,
) -> Option<String> {
    let calls = mock.calls_async().await;
    let unmatched = unmatched.lock().expect("not poisoned");
    if calls == 1 && unmatched.is_empty() {
        return None;
    }
    let mut message = format!(
        "{what}: the mock of the recorded request was hit {calls} times (expected once)\n    \
         recorded: {}",
        recorded(request)
    );
    for seen in unmatched.iter() {
        message += &format!("\n    sdk sent: {seen}");
    }
    Some(message)
}

// ---------------------------------------------------------------------------------------------
// The sdk side: a fixture's request turned into a call through the public API.

/// The arguments of a call, taken from a recorded request.
struct Args<'a> {
    path: BTreeMap<String, String>,
    request: &'a fixtures::Request,
    /// The query parameters the call passed on; any other one is a fixture the test cannot
    /// replay faithfully.
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Args<'a> {
    /// Splits `request.path` along the operation's template: `{groupId}` takes its segment.
    fn new(op: &Operation, request: &'a fixtures::Request) -> Result<Self, String> {
        let template: Vec<&str> = op.template.split('/').collect();
        let path: Vec<&str> = request.path.split('/').collect();
        if template.len() != path.len() {
            return Err(format!(
                "`{}` does not fit the template `{}`",
                request.path, op.template
            ));
        }
        let mut params = BTreeMap::new();
        for (t, p) in template.iter().zip(&path) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) => {
                    params.insert(name.to_owned(), (*p).to_owned());
                }
                None if t == p => {}
                None => {
                    return Err(format!(
                        "`{}` does not fit the template `{}`",
                        request.path, op.template
                    ));
                }
            }
        }
        Ok(Self {
            path: params,
            request,
            used: RefCell::default(),
        })
    }

    fn path(&self, name: &str) -> Result<&str, String> {
        self.path
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("the path has no `{{{name}}}`"))
    }

    fn query(&self, name: &str) -> Option<String> {
        let value = self.request.query.get(name)?;
        self.used.borrow_mut().insert(name.to_owned());
        Some(text(value))
    }

    fn provider(&self) -> Option<atlas_network_peering::types::CloudProvider> {
        self.query("providerName")
            .map(|p| atlas_network_peering::types::CloudProvider::from(p.as_str()))
    }

    fn count(&self, name: &str) -> Result<Option<NonZeroU32>, String> {
        self.query(name)
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("query `{name}={v}` is not a positive count: {e}"))
            })
            .transpose()
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, String> {
        self.query(name)
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("query `{name}={v}` is not a boolean: {e}"))
            })
            .transpose()
    }

    fn body<T: DeserializeOwned>(&self, type_name: &str) -> Result<T, String> {
        let body = self
            .request
            .body
            .clone()
            .ok_or("the request has no body, and the operation needs one")?;
        serde_json::from_value(body)
            .map_err(|e| format!("the request body does not decode as {type_name}: {e}"))
    }

    /// Query parameters of the recording that the call did not pass on.
    fn unused_query(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.request
            .query
            .keys()
            .filter(|k| !used.contains(*k))
            .cloned()
            .collect()
    }
}

/// What a call gave back.
enum Outcome {
    /// A success with a body, encoded back to JSON.
    Body(Value),
    /// A success the operation declares without a body.
    Empty,
    /// An error, through the sdk's one error type.
    Failed(atlas_network_peering::Error),
}

fn with_body<T: Serialize>(result: Result<T, atlas_network_peering::Error>) -> Outcome {
    match result {
        Ok(value) => {
            Outcome::Body(serde_json::to_value(value).expect("an sdk value encodes to JSON"))
        }
        Err(e) => Outcome::Failed(e),
    }
}

fn without_body(result: Result<(), atlas_network_peering::Error>) -> Outcome {
    match result {
        Ok(()) => Outcome::Empty,
        Err(e) => Outcome::Failed(e),
    }
}

/// Sets the paging parameters a list call takes, when the recording has them.
macro_rules! paged {
    ($builder:expr, $args:expr) => {{
        let mut b = $builder;
        if let Some(v) = $args.flag("includeCount")? {
            b = b.include_count(v);
        }
        if let Some(v) = $args.count("itemsPerPage")? {
            b = b.items_per_page(v);
        }
        if let Some(v) = $args.count("pageNum")? {
            b = b.page_num(v);
        }
        b
    }};
}

/// Makes the call that `operation` stands for, through the sdk's builders.
async fn call(
    client: &atlas_network_peering::Client,
    operation: &str,
    a: &Args<'_>,
) -> Result<Outcome, String> {
    use atlas_network_peering::models::{Container, Peer};
    use atlas_network_peering::types::PrivateIpMode;
    Ok(match operation {
        "listAllContainers" => {
            let b = paged!(client.list_all_containers().group_id(a.path("groupId")?), a);
            with_body(b.send().await)
        }
        "listContainers" => {
            let mut b = paged!(client.list_containers().group_id(a.path("groupId")?), a);
            if let Some(p) = a.provider() {
                b = b.provider_name(p);
            }
            with_body(b.send().await)
        }
        "createContainer" => with_body(
            client
                .create_container()
                .group_id(a.path("groupId")?)
                .body(a.body::<Container>("atlas_network_peering::models::Container")?)
                .send()
                .await,
        ),
        "getContainer" => with_body(
            client
                .get_container()
                .group_id(a.path("groupId")?)
                .container_id(a.path("containerId")?)
                .send()
                .await,
        ),
        "updateContainer" => with_body(
            client
                .update_container()
                .group_id(a.path("groupId")?)
                .container_id(a.path("containerId")?)
                .body(a.body::<Container>("atlas_network_peering::models::Container")?)
                .send()
                .await,
        ),
        "deleteContainer" => without_body(
            client
                .delete_container()
                .group_id(a.path("groupId")?)
                .container_id(a.path("containerId")?)
                .send()
                .await,
        ),
        "listPeers" => {
            let mut b = paged!(client.list_peers().group_id(a.path("groupId")?), a);
            if let Some(p) = a.provider() {
                b = b.provider_name(p);
            }
            with_body(b.send().await)
        }
        "createPeer" => with_body(
            client
                .create_peer()
                .group_id(a.path("groupId")?)
                .body(a.body::<Peer>("atlas_network_peering::models::Peer")?)
                .send()
                .await,
        ),
        "getPeer" => with_body(
            client
                .get_peer()
                .group_id(a.path("groupId")?)
                .peer_id(a.path("peerId")?)
                .send()
                .await,
        ),
        "updatePeer" => with_body(
            client
                .update_peer()
                .group_id(a.path("groupId")?)
                .peer_id(a.path("peerId")?)
                .body(a.body::<Peer>("atlas_network_peering::models::Peer")?)
                .send()
                .await,
        ),
        "deletePeer" => without_body(
            client
                .delete_peer()
                .group_id(a.path("groupId")?)
                .peer_id(a.path("peerId")?)
                .send()
                .await,
        ),
        "getPrivateIpMode" => with_body(
            client
                .get_private_ip_mode()
                .group_id(a.path("groupId")?)
                .send()
                .await,
        ),
        "setPrivateIpMode" => with_body(
            client
                .set_private_ip_mode()
                .group_id(a.path("groupId")?)
                .body(a.body::<PrivateIpMode>("atlas_network_peering::types::PrivateIpMode")?)
                .send()
                .await,
        ),
        other => return Err(format!("no sdk call is mapped for operation `{other}`")),
    })
}

/// A client of `server` with no retries (a recorded 429 or 503 is the answer, not a reason to
/// ask again) and, when given, an API key.
fn client(server: &MockServer, api_key: Option<(&str, &str)>) -> atlas_network_peering::Client {
    let mut config = atlas_network_peering::Config::new()
        .with_base_url(&server.base_url())
        .expect("the mock server's URL is a base URL")
        .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none());
    if let Some((public, private)) = api_key {
        config = config.with_api_key(public, private);
    }
    atlas_network_peering::Client::from_config(config).expect("a client for the mock server")
}

/// Every way the outcome differs from the recorded response.
fn compare(outcome: &Outcome, response: &fixtures::Response) -> Vec<String> {
    let status = response.status;
    let mut problems = Vec::new();
    match outcome {
        Outcome::Failed(e) if status < 400 => {
            problems.push(format!("recorded status {status}, the sdk failed: {e}"));
        }
        Outcome::Failed(e) => {
            if e.status().map(|s| s.as_u16()) != Some(status) {
                problems.push(format!(
                    "recorded status {status}, the sdk's error has {:?}: {e}",
                    e.status()
                ));
            }
            let code = response
                .body
                .as_ref()
                .and_then(|b| b.get("errorCode"))
                .and_then(Value::as_str);
            let got = e.error_code().map(|c| c.as_str());
            if got != code {
                problems.push(format!(
                    "recorded errorCode {code:?}, the sdk's error_code() is {got:?}"
                ));
            }
            let raw = served_body(response);
            if e.raw_body() != Some(raw.as_str()) {
                problems.push(format!(
                    "the sdk's raw_body() is {:?}, recorded {raw:?}",
                    e.raw_body()
                ));
            }
        }
        Outcome::Body(_) | Outcome::Empty if status >= 400 => {
            problems.push(format!("recorded status {status}, the sdk succeeded"));
        }
        Outcome::Body(got) => match &response.body {
            Some(body) => problems.extend(
                fixtures::json_diff(body, got)
                    .into_iter()
                    .map(|d| format!("the decoded body differs from the recording: {d}")),
            ),
            None => problems.push(format!(
                "the sdk decoded {got} from a response recorded without a JSON body"
            )),
        },
        Outcome::Empty => match &response.body {
            None => {}
            // `{}` is "nothing" for an operation that declares no body: a peering's DELETE answers
            // 202 and its body is ignored (spec/network-peering.yaml, `deletePeer`).
            Some(Value::Object(o)) if o.is_empty() => {}
            Some(body) => problems.push(format!(
                "the recording has the body {body}, the sdk's call returns none"
            )),
        },
    }
    problems
}

/// Replays one fixture: `Ok(problems)` when it was replayed (the sdk made its call), `Err`
/// when it could not be.
async fn replay(ops: &[Operation], loaded: &Loaded) -> Result<Vec<String>, String> {
    let Loaded { file, fixture } = loaded;
    let op = fixtures::match_operation(file, ops, &fixture.request)?;
    let args = Args::new(op, &fixture.request).map_err(|e| format!("{file}: {e}"))?;

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            match_recorded(when, &fixture.request);
            serve_recorded(then, &fixture.response);
        })
        .await;
    let unmatched = catch_all(&server).await;

    let outcome = call(&client(&server, None), &op.id, &args)
        .await
        .map_err(|e| format!("{file}: {e}"))?;

    let mut problems = Vec::new();
    let unused = args.unused_query();
    if !unused.is_empty() {
        problems.push(format!(
            "the call does not pass the recorded query parameters {unused:?} to the sdk"
        ));
    }
    problems.extend(hit_once(&mock, &unmatched, &fixture.request, &op.id).await);
    problems.extend(compare(&outcome, &fixture.response));
    Ok(problems
        .into_iter()
        .map(|p| format!("{file}: {p}"))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test]
async fn every_fixture_replays_through_the_sdk() {
    let loaded = load();
    let spec = spec_json();
    let ops = fixtures::spec_operations(&spec);

    let mut problems = Vec::new();
    let mut replayed: BTreeSet<&str> = BTreeSet::new();
    let mut operations_replayed: BTreeSet<&str> = BTreeSet::new();
    for l in &loaded {
        match replay(&ops, l).await {
            Ok(p) => {
                problems.extend(p);
                replayed.insert(l.file.as_str());
                if let Ok(op) = fixtures::match_operation(&l.file, &ops, &l.fixture.request) {
                    operations_replayed.insert(op.id.as_str());
                }
            }
            Err(e) => problems.push(e),
        }
    }
    for l in &loaded {
        if !replayed.contains(l.file.as_str()) {
            problems.push(format!("{}: replayed by no test", l.file));
        }
    }
    for op in &ops {
        if !operations_replayed.contains(op.id.as_str()) {
            problems.push(format!(
                "operation `{}` ({} {}) has no replayed fixture",
                op.id, op.method, op.template
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} fixtures replayed; problems:\n{}",
        replayed.len(),
        loaded.len(),
        problems.join("\n")
    );
    eprintln!(
        "replayed {} fixtures covering {} operations",
        replayed.len(),
        operations_replayed.len()
    );
}

/// The Digest handshake under contract: with an API key, the sdk's first request goes out
/// unsigned and gets the recorded 401 challenge; the sdk answers it with a request signed
/// `Digest username=...` that gets the recorded success.
#[tokio::test]
async fn the_digest_challenge_is_answered() {
    let loaded = load();
    let challenge = &find(
        &loaded,
        "fixtures/get_private_ip_mode/unauthorized_401.json",
    )
    .fixture;
    let success = &find(&loaded, "fixtures/get_private_ip_mode/enabled_200.json").fixture;
    assert!(
        challenge
            .response
            .headers
            .get("www-authenticate")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("Digest ")),
        "the 401 fixture carries no Digest challenge"
    );

    let server = MockServer::start_async().await;
    let unsigned = server
        .mock_async(|when, then| {
            match_recorded(when, &challenge.request).header_missing("authorization");
            serve_recorded(then, &challenge.response);
        })
        .await;
    let signed = server
        .mock_async(|when, then| {
            match_recorded(when, &success.request).is_true(|r: &HttpMockRequest| {
                r.headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("Digest username="))
            });
            serve_recorded(then, &success.response);
        })
        .await;
    let unmatched = catch_all(&server).await;

    let group = "6f1c2a9e4b7d3e0a1c5f8b21";
    assert!(success.request.path.contains(group) && challenge.request.path.contains(group));
    let client = client(
        &server,
        Some(("ykbqzjcw", "4c8e1f0a-7d2b-4e9c-a3f6-5b1d8e2c7a90")),
    );
    let result = client.get_private_ip_mode().group_id(group).send().await;
    let outcome = with_body(result);

    let mut problems = Vec::new();
    problems.extend(
        hit_once(
            &unsigned,
            &unmatched,
            &challenge.request,
            "unsigned request",
        )
        .await,
    );
    problems.extend(hit_once(&signed, &unmatched, &success.request, "signed request").await);
    problems.extend(compare(&outcome, &success.response));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(client.exchanges(), 2);
}

/// The replay machinery itself: a request that differs from the recording fails with both
/// requests written out, and nothing the sdk sends can pass for a recorded exchange.
#[tokio::test]
async fn a_request_unlike_the_recording_is_reported_with_both_requests() {
    let loaded = load();
    let spec = spec_json();
    let ops = fixtures::spec_operations(&spec);
    let mut altered = find(&loaded, "fixtures/list_peers/gcp_200.json").clone();
    altered
        .fixture
        .request
        .query
        .insert("pageNum".into(), Value::String("2".into()));
    // The sdk is called with pageNum=2 but the mock still expects the original request.
    let original = find(&loaded, "fixtures/list_peers/gcp_200.json");
    let op = fixtures::match_operation(&original.file, &ops, &original.fixture.request).unwrap();
    let args = Args::new(op, &altered.fixture.request).unwrap();

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            match_recorded(when, &original.fixture.request);
            serve_recorded(then, &original.fixture.response);
        })
        .await;
    let unmatched = catch_all(&server).await;
    let outcome = call(&client(&server, None), &op.id, &args).await.unwrap();

    let problem = hit_once(&mock, &unmatched, &original.fixture.request, &op.id)
        .await
        .expect("a mismatch");
    assert!(
        problem.contains("recorded: GET /api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/peers?providerName=GCP")
            && problem.contains(
                "sdk sent: GET /api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/peers?pageNum=2&providerName=GCP"
            ),
        "{problem}"
    );
    assert!(
        matches!(&outcome, Outcome::Failed(e) if e.status().map(|s| s.as_u16()) == Some(418)),
        "an unmatched request must not succeed"
    );
}
