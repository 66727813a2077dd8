//! `cargo xtask record --base-url URL --group-id ID [--out DIR] [--anonymize]`: records real
//! exchanges of the read-only Network Peering operations into new fixture files (the format of
//! `fixtures/README.md`).
//!
//! # Flow
//!
//! 1. The arguments are checked (one line per problem). The credentials come from the
//!    environment exactly as for any user of the sdk, through the same variables and rules as
//!    [`atlas_network_peering::Config::from_env`]: an API key (HTTP Digest) or a service account (OAuth client
//!    credentials); `--base-url` replaces the base URL (the base URL variables are ignored).
//!    Behind a proxy (`HTTP_PROXY`, `ALL_PROXY`) the run is refused unless `NO_PROXY` names
//!    127.0.0.1: the sdk's client would send its calls for the forwarder to the proxy.
//! 2. A forwarder starts on `127.0.0.1` (an ephemeral port): a small hyper HTTP/1 server that
//!    sends every request on to the target with reqwest, unchanged (the `Authorization` header
//!    included, redirects not followed), and hands the answer back unchanged. While doing so it
//!    keeps a copy of each exchange under `/api/atlas/`, and of that copy only what a fixture may
//!    hold: method, path, query, the `accept` and `content-type` request headers, the request
//!    body, the status, the `content-type`, `retry-after` and `www-authenticate` response headers
//!    and the response body. Nothing else of the request (the `Authorization` header above all)
//!    is ever copied. The token endpoint of a service account (`/api/oauth/token`) is forwarded
//!    but never recorded; the tokens it hands out are only noted so that the final check can
//!    look for them. A request that cannot reach the target gets a `502` and is not recorded.
//!
//!    Why not httpmock's forwarding and recording (`forward_to`, `record`): its `proxy` and
//!    `record` features bring HTTP/2 (`h2`) and `serde_yaml` into every build of httpmock in
//!    this workspace (features unify, and the sdk's and the contract tests' httpmock is the
//!    same), so every CI run would compile them; its recording keeps every header of every
//!    answer (`set-cookie` included) and writes mock definitions in its own YAML, which would
//!    have to be parsed back into fixtures; and the tokens of the token endpoint could only be
//!    noted by recording that endpoint. The guarantees above are simplest to keep by copying
//!    only the allowed parts at the one place an exchange passes.
//! 3. An [`atlas_network_peering::Client`] built from that configuration, with its base URL pointed at the
//!    forwarder (plus the path of `--base-url`, if any), calls through the sdk's public API, one
//!    call at a time: `get_private_ip_mode`, `list_all_containers`, `list_containers` and
//!    `list_peers` for AWS, GCP and Azure, then `get_container` / `get_peer` for the first result
//!    of each list (an entry already fetched is not fetched again). The exchanges a call caused
//!    (the Digest `401` challenge, retries) belong to that call. A call that fails is reported
//!    with the sdk's error, and the run goes on with the others.
//! 4. Each recorded exchange becomes one file, `<DIR>/<operation>/recorded_<what>_<status>.json`
//!    (`<what>`: `mode`, `all`, the provider, or `unauthorized` for a `401`), never overwriting a
//!    file: an existing name gets `_2`, `_3`, ... The description says that it was recorded, when
//!    (UTC date) and by which call.
//!
//! # Scrubbing
//!
//! - Secrets never reach a fixture in the first place: the `Authorization` header (Digest
//!   `username`/`response`/`cnonce`, bearer tokens), cookies and `set-cookie`, and any other header
//!   outside the lists above are not copied; the token endpoint is not recorded.
//! - In `www-authenticate` (a Digest challenge holds no secret), the `nonce` and `opaque` values
//!   are replaced by stable placeholders (`nonce-placeholder-1`, ...).
//! - `--anonymize` replaces account-identifying values by stable placeholders that still validate
//!   against the spec, the same value getting the same placeholder in every file: AWS account ids
//!   (`awsAccountId`, `000000000001`, ...), Azure subscription and directory ids
//!   (`azureSubscriptionId`, `azureDirectoryId`, GUIDs `00000000-0000-4000-8000-000000000001`,
//!   ...), Google Cloud project ids (`gcpProjectId`: `p-000000000000000000000001` for Atlas's
//!   `p-...` projects, `gcp-project-000001` for a customer's) and the `--group-id` value
//!   (`000000000000000000000001`). The values are learned from those fields in every recorded
//!   body, then replaced wherever they occur as a whole word in a string: paths, query values,
//!   `href`s, error details.
//! - Each file's text is checked before it is written, and every written file is read back
//!   afterwards: if it holds the private key, the client secret, a token handed out during the
//!   run, `Digest username=` or `cnonce=`, it is not written (before) or reported and left in
//!   place for inspection (after), and the command fails.
//!
//! Finally the written files are verified against the spec and the sdk's types as `cargo xtask
//! regen` will verify them; a recorded answer the spec does not describe is printed as a warning
//! (the file is kept: it may be the spec that is wrong).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use contract_tests::fixtures::{Fixture, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use regex::{Captures, Regex};
use serde::Serialize;
use serde_json::{Map, Value};

/// Request headers a fixture keeps.
const REQUEST_HEADERS: [&str; 2] = ["accept", "content-type"];
/// Response headers a fixture keeps.
const RESPONSE_HEADERS: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];
/// Headers that belong to one connection and are not forwarded (`host` is set anew for the
/// target).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];
/// Where the recorded operations live.
const API_PREFIX: &str = "/api/atlas/";
/// The service-account token endpoint (forwarded, never recorded).
const OAUTH_PREFIX: &str = "/api/oauth/";
/// The placeholder of the `--group-id` value under `--anonymize`.
const GROUP_PLACEHOLDER: &str = "000000000000000000000001";

/// Runs the command with the arguments after `record`.
pub fn run(args: &[String]) -> Result<(), Vec<String>> {
    let options = parse_args(args)?;
    if options.help {
        println!("{}", crate::USAGE);
        return Ok(());
    }
    // The sdk's variables, as `atlas_network_peering::Config::from_env` reads them; the base URL variables are
    // left out since --base-url replaces them (a stale one must not stop the run).
    let config = atlas_network_peering::Config::from_lookup(|name| match name {
        atlas_network_peering::config::env::BASE_URL
        | atlas_network_peering::config::env::OPS_MANAGER_URL => None,
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| {
        vec![format!(
            "cannot read the credentials from the environment: {e}"
        )]
    })?;
    if let Some(problem) = proxy_problem(|name| std::env::var(name).ok()) {
        return Err(vec![problem]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| vec![format!("cannot start the async runtime: {e}")])?;
    runtime.block_on(record(options, config))
}

/// The sdk's HTTP client honours `HTTP_PROXY` and friends with no exception for loopback:
/// behind a proxy, its requests to the forwarder on 127.0.0.1 would go to the proxy. Such a run
/// is refused, naming the fix (the forwarder's own requests to the target still use the proxy).
/// `var` reads the environment.
fn proxy_problem(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let proxy = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .find(|name| var(name).is_some_and(|v| !v.trim().is_empty()))?;
    let exempt = ["NO_PROXY", "no_proxy"]
        .iter()
        .filter_map(|n| var(n))
        .any(|list| {
            list.split(',')
                .any(|host| matches!(host.trim(), "127.0.0.1" | "*"))
        });
    (!exempt).then(|| {
        format!(
            "{proxy} is set, so the sdk would send its calls for the recording forwarder on \
             127.0.0.1 to that proxy: add 127.0.0.1 to NO_PROXY (NO_PROXY=127.0.0.1) and run again"
        )
    })
}

// ------------------------------------------------------------------------------------------
// Arguments

#[derive(Debug, Default)]
struct Options {
    /// The normalized base URL, without a trailing slash.
    base_url: String,
    group_id: String,
    out: PathBuf,
    anonymize: bool,
    help: bool,
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `--flag value` or `--flag=value`; every problem is one line, all of them reported.
fn parse_args(args: &[String]) -> Result<Options, Vec<String>> {
    let mut problems = Vec::new();
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    let mut options = Options::default();
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "--anonymize" | "--help" | "-h" if inline.is_some() => {
                problems.push(format!("{flag} takes no value (got `{arg}`)"));
            }
            "--anonymize" => options.anonymize = true,
            "--help" | "-h" => options.help = true,
            "--base-url" | "--group-id" | "--out" => {
                let value = inline.or_else(|| args.next_if(|v| !v.starts_with("--")).cloned());
                match value {
                    None => problems.push(format!("{flag} needs a value")),
                    Some(_) if values.contains_key(flag) => {
                        problems.push(format!("{flag} is given more than once"));
                    }
                    Some(value) => drop(values.insert(flag, value)),
                }
            }
            _ => problems.push(format!(
                "unknown argument `{arg}` (expected --base-url, --group-id, --out or --anonymize)"
            )),
        }
    }
    if options.help && problems.is_empty() {
        return Ok(options);
    }
    match values.get("--base-url").map(|url| check_base_url(url)) {
        None => problems.push(
            "missing --base-url URL: the Atlas base URL to record from (e.g. https://cloud.mongodb.com)"
                .to_owned(),
        ),
        Some(Ok(url)) => options.base_url = url,
        Some(Err(problem)) => problems.push(problem),
    }
    match values.remove("--group-id") {
        None => problems.push(
            "missing --group-id ID: the project to record, 24 lower-case hex characters".to_owned(),
        ),
        Some(id) if !is_object_id(&id) => problems.push(format!(
            "--group-id `{id}` is not a project id: it must be 24 lower-case hex characters (0-9, a-f)"
        )),
        Some(id) => options.group_id = id,
    }
    options.out = match values.remove("--out") {
        Some(out) if out.trim().is_empty() => {
            problems.push("--out needs a non-empty directory".to_owned());
            PathBuf::new()
        }
        Some(out) => PathBuf::from(out),
        None => crate::root().join("fixtures"),
    };
    if problems.is_empty() {
        Ok(options)
    } else {
        Err(problems)
    }
}

/// The base URL as the sdk normalizes it; refused when the sdk would refuse it or when it
/// carries credentials.
fn check_base_url(url: &str) -> Result<String, String> {
    let normalized = match atlas_network_peering::Config::new().with_base_url(url) {
        Ok(config) => config.base_url().to_owned(),
        Err(atlas_network_peering::config::ConfigError::Invalid { reason, .. }) => {
            return Err(format!(
                "--base-url `{url}` is not a usable base URL: {reason}"
            ));
        }
        Err(e) => return Err(format!("--base-url `{url}`: {e}")),
    };
    let parsed = reqwest::Url::parse(&normalized)
        .map_err(|e| format!("--base-url `{url}` is not a usable base URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "--base-url must not carry a user name or password; credentials come from the environment"
                .to_owned(),
        );
    }
    Ok(normalized)
}

// ------------------------------------------------------------------------------------------
// The forwarder

/// One exchange as the forwarder kept it: only what a fixture may hold.
#[derive(Clone, Debug)]
struct Exchange {
    method: String,
    /// The path without the `--base-url` path prefix.
    path: String,
    query: Option<String>,
    request_headers: Vec<(String, String)>,
    request_body: Bytes,
    status: u16,
    response_headers: Vec<(String, String)>,
    response_body: Bytes,
}

#[derive(Default)]
struct Tape {
    exchanges: Vec<Exchange>,
    /// Tokens the token endpoint handed out: looked for in the written files, never written.
    tokens: Vec<String>,
    /// Requests that did not reach the target, and why.
    unreached: Vec<String>,
}

struct Forwarder {
    /// `scheme://host[:port]` of the target.
    origin: String,
    /// The path of `--base-url` (`""` for `https://cloud.mongodb.com`).
    prefix: String,
    http: reqwest::Client,
    tape: Mutex<Tape>,
}

impl Forwarder {
    fn tape(&self) -> std::sync::MutexGuard<'_, Tape> {
        self.tape.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keep(&self, parts: &http::request::Parts, body: &Bytes, response: Kept) {
        let path = parts.uri.path();
        let path = path.strip_prefix(self.prefix.as_str()).unwrap_or(path);
        let mut tape = self.tape();
        if path.starts_with(API_PREFIX) {
            tape.exchanges.push(Exchange {
                method: parts.method.as_str().to_owned(),
                path: path.to_owned(),
                query: parts.uri.query().map(str::to_owned),
                request_headers: allowed_headers(&parts.headers, &REQUEST_HEADERS),
                request_body: body.clone(),
                status: response.status,
                response_headers: response.headers,
                response_body: response.body,
            });
        } else if path.starts_with(OAUTH_PREFIX)
            && let Ok(Value::Object(token)) = serde_json::from_slice(&response.body)
        {
            for key in ["access_token", "refresh_token", "id_token"] {
                if let Some(Value::String(t)) = token.get(key)
                    && !t.trim().is_empty()
                {
                    tape.tokens.push(t.clone());
                }
            }
        }
    }
}

/// The part of a response the forwarder keeps.
struct Kept {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

fn allowed_headers(headers: &http::HeaderMap, allowed: &[&str]) -> Vec<(String, String)> {
    allowed
        .iter()
        .filter_map(|name| {
            let values: Vec<String> = headers
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!values.is_empty()).then(|| ((*name).to_owned(), values.join(", ")))
        })
        .collect()
}

/// An error and its sources, on one line.
fn causes(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(http::header::CONTENT_LENGTH);
}

fn text_response(status: u16, text: String) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn forward(
    fw: Arc<Forwarder>,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return Ok(text_response(
                400,
                format!("cargo xtask record: cannot read the request: {e}"),
            ));
        }
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("{}{path_and_query}", fw.origin);
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    let mut upstream = fw.http.request(parts.method.clone(), &url).headers(headers);
    if !body.is_empty() {
        upstream = upstream.body(body.clone());
    }
    let unreached = |e: reqwest::Error| {
        fw.tape()
            .unreached
            .push(format!("{} did not answer: {}", fw.origin, causes(&e)));
        Ok(text_response(
            502,
            "cargo xtask record: no answer from the target".to_owned(),
        ))
    };
    let response = match upstream.send().await {
        Ok(response) => response,
        Err(e) => return unreached(e),
    };
    let status = response.status();
    let mut response_headers = response.headers().clone();
    let response_body = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return unreached(e),
    };
    fw.keep(
        &parts,
        &body,
        Kept {
            status: status.as_u16(),
            headers: allowed_headers(&response_headers, &RESPONSE_HEADERS),
            body: response_body.clone(),
        },
    );
    strip_hop_by_hop(&mut response_headers);
    let mut answer = http::Response::new(Full::new(response_body));
    *answer.status_mut() = status;
    *answer.headers_mut() = response_headers;
    Ok(answer)
}

async fn serve(listener: tokio::net::TcpListener, fw: Arc<Forwarder>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let fw = fw.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| forward(fw.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn start_forwarder(
    base_url: &str,
) -> Result<(SocketAddr, Arc<Forwarder>, tokio::task::JoinHandle<()>), String> {
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("--base-url: {e}"))?;
    let origin = url.origin().ascii_serialization();
    let prefix = url.path().trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(atlas_network_peering::config::DEFAULT_CONNECT_TIMEOUT)
        .timeout(atlas_network_peering::config::DEFAULT_TIMEOUT * 2)
        .build()
        .map_err(|e| format!("cannot build the forwarder's HTTP client: {e}"))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot start the recording forwarder on 127.0.0.1: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot start the recording forwarder on 127.0.0.1: {e}"))?;
    let fw = Arc::new(Forwarder {
        origin,
        prefix,
        http,
        tape: Mutex::new(Tape::default()),
    });
    let task = tokio::spawn(serve(listener, fw.clone()));
    Ok((addr, fw, task))
}

// ------------------------------------------------------------------------------------------
// The calls

/// One exchange and the call it belongs to.
struct Recorded {
    operation: &'static str,
    what: String,
    label: String,
    exchange: Exchange,
}

struct Recorder {
    fw: Arc<Forwarder>,
    recorded: Vec<Recorded>,
    failures: Vec<String>,
    calls: usize,
}

impl Recorder {
    /// Makes one call; its exchanges are recorded whatever its outcome.
    async fn call<T>(
        &mut self,
        operation: &'static str,
        what: &str,
        label: String,
        call: impl Future<Output = Result<T, atlas_network_peering::Error>>,
    ) -> Option<T> {
        // The calls are made one at a time: what the tape holds afterwards is this call's.
        let result = call.await;
        self.calls += 1;
        let (new, unreached) = {
            let mut tape = self.fw.tape();
            (
                std::mem::take(&mut tape.exchanges),
                std::mem::take(&mut tape.unreached),
            )
        };
        let reached = !new.is_empty();
        for exchange in new {
            self.recorded.push(Recorded {
                operation,
                what: what.to_owned(),
                label: label.clone(),
                exchange,
            });
        }
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                // When the target did not answer, the sdk only saw the forwarder's 502: the
                // forwarder's own error comes first.
                let line = match unreached.last() {
                    Some(why) => format!("{label} failed: {why} (the sdk reported: {e})"),
                    None if !reached => {
                        format!("{label} failed: {e} (nothing reached the target)")
                    }
                    None => format!("{label} failed: {e}"),
                };
                self.failures.push(line);
                None
            }
        }
    }
}

/// The id and lower-case provider of the first entry of a page.
fn first_entry<T: Serialize>(results: &[T]) -> Option<(String, String)> {
    let entry = serde_json::to_value(results.first()?).ok()?;
    let id = entry.get("id")?.as_str()?.to_owned();
    // Atlas leaves providerName out of AWS containers at times: AWS is implied.
    let provider = entry
        .get("providerName")
        .and_then(Value::as_str)
        .unwrap_or("AWS")
        .to_ascii_lowercase();
    Some((id, provider))
}

/// Fetches the first entry of a page by its id with `fetch`, unless an earlier call did.
async fn get_first<T: Serialize, R>(
    rec: &mut Recorder,
    operation: &'static str,
    (results, source): (&[T], &str),
    seen: &mut BTreeSet<String>,
    fetch: impl AsyncFnOnce(&str) -> Result<R, atlas_network_peering::Error>,
) {
    let Some((id, provider)) = first_entry(results) else {
        return;
    };
    if seen.insert(id.clone()) {
        let label = format!("{operation} of the first entry of {source}");
        rec.call(operation, &provider, label, fetch(&id)).await;
    }
}

async fn make_calls(rec: &mut Recorder, client: &atlas_network_peering::Client, group: &str) {
    use atlas_network_peering::types::CloudProvider;
    let get_container = async |id: &str| {
        let request = client.get_container().group_id(group).container_id(id);
        request.send().await
    };
    let get_peer = async |id: &str| client.get_peer().group_id(group).peer_id(id).send().await;

    let label = "get_private_ip_mode".to_owned();
    let mode = async { client.get_private_ip_mode().group_id(group).send().await };
    rec.call("get_private_ip_mode", "mode", label, mode).await;

    let mut containers_seen = BTreeSet::new();
    let source = "list_all_containers";
    let all = async { client.list_all_containers().group_id(group).send().await };
    if let Some(page) = rec.call(source, "all", source.to_owned(), all).await {
        let page = (page.results.as_slice(), source);
        get_first(
            rec,
            "get_container",
            page,
            &mut containers_seen,
            get_container,
        )
        .await;
    }
    let mut peers_seen = BTreeSet::new();
    for listing in ["list_containers", "list_peers"] {
        for provider in [CloudProvider::Aws, CloudProvider::Gcp, CloudProvider::Azure] {
            let source = format!("{listing} with providerName={}", provider.as_str());
            let what = provider.as_str().to_ascii_lowercase();
            if listing == "list_containers" {
                let call = client
                    .list_containers()
                    .group_id(group)
                    .provider_name(provider);
                if let Some(page) = rec.call(listing, &what, source.clone(), call.send()).await {
                    let page = (page.results.as_slice(), source.as_str());
                    get_first(
                        rec,
                        "get_container",
                        page,
                        &mut containers_seen,
                        get_container,
                    )
                    .await;
                }
            } else {
                let call = client.list_peers().group_id(group).provider_name(provider);
                if let Some(page) = rec.call(listing, &what, source.clone(), call.send()).await {
                    let page = (page.results.as_slice(), source.as_str());
                    get_first(rec, "get_peer", page, &mut peers_seen, get_peer).await;
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Scrubbing

/// Stable placeholders: the same value always gets the same placeholder.
#[derive(Default)]
struct Placeholders {
    values: BTreeMap<String, String>,
    next: BTreeMap<&'static str, u64>,
}

impl Placeholders {
    fn get(&mut self, kind: &'static str, value: &str, make: impl Fn(u64) -> String) -> String {
        if let Some(p) = self.values.get(value) {
            return p.clone();
        }
        let n = self.next.entry(kind).or_insert(0);
        *n += 1;
        let placeholder = make(*n);
        self.values.insert(value.to_owned(), placeholder.clone());
        placeholder
    }
}

/// Replaces the `nonce` and `opaque` values of a challenge (quoted or not) by placeholders.
/// Quoted strings are matched whole first, so that `realm="a nonce=b"` stays as it is.
fn scrub_challenge(value: &str, placeholders: &mut Placeholders) -> String {
    static PARAM: OnceLock<Regex> = OnceLock::new();
    let param = PARAM.get_or_init(|| {
        Regex::new(
            r#""(?:[^"\\]|\\.)*"|(?i)(?P<lead>^|[ \t,])(?P<name>nonce|opaque)=(?P<value>"(?:[^"\\]|\\.)*"|[^, \t]*)"#,
        )
        .expect("the challenge pattern compiles")
    });
    param
        .replace_all(value, |c: &Captures<'_>| {
            let (Some(name), Some(v)) = (c.name("name"), c.name("value")) else {
                return c[0].to_owned();
            };
            let v = v.as_str();
            let quoted = v.len() >= 2 && v.starts_with('"') && v.ends_with('"');
            let original = if quoted { &v[1..v.len() - 1] } else { v };
            let kind = name.as_str().to_ascii_lowercase();
            let placeholder = placeholders.get(
                if kind == "nonce" { "nonce" } else { "opaque" },
                &format!("{kind}\u{0}{original}"),
                |n| format!("{kind}-placeholder-{n}"),
            );
            let placeholder = if quoted {
                format!("\"{placeholder}\"")
            } else {
                placeholder
            };
            format!("{}{}={placeholder}", &c["lead"], name.as_str())
        })
        .into_owned()
}

/// The JSON fields whose values identify an account.
const ACCOUNT_FIELDS: [&str; 4] = [
    "awsAccountId",
    "azureSubscriptionId",
    "azureDirectoryId",
    "gcpProjectId",
];

/// `--anonymize`: learns account-identifying values, then replaces them wherever they occur.
struct Anonymizer {
    placeholders: Placeholders,
}

impl Anonymizer {
    fn new(group_id: &str) -> Self {
        let mut placeholders = Placeholders::default();
        placeholders
            .values
            .insert(group_id.to_owned(), GROUP_PLACEHOLDER.to_owned());
        Self { placeholders }
    }

    fn learn(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        (field, Value::String(s))
                            if ACCOUNT_FIELDS.contains(&field) && !s.trim().is_empty() =>
                        {
                            self.learn_field(field, s);
                        }
                        _ => self.learn(v),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            _ => {}
        }
    }

    fn learn_field(&mut self, field: &str, value: &str) {
        let p = &mut self.placeholders;
        match field {
            "awsAccountId" => p.get("aws", value, |n| format!("{n:012}")),
            "gcpProjectId" if value.starts_with("p-") => {
                p.get("gcp", value, |n| format!("p-{n:024}"))
            }
            "gcpProjectId" => p.get("gcp", value, |n| format!("gcp-project-{n:06}")),
            // Subscription and directory ids share a counter: two different GUIDs never get
            // the same placeholder.
            _ => p.get("azure", value, |n| {
                format!("00000000-0000-4000-8000-{n:012}")
            }),
        };
    }

    fn apply_str(&self, s: &str) -> String {
        let mut pairs: Vec<(&String, &String)> = self.placeholders.values.iter().collect();
        pairs.sort_by_key(|(original, _)| std::cmp::Reverse(original.len()));
        pairs
            .into_iter()
            .fold(s.to_owned(), |s, (from, to)| replace_word(&s, from, to))
    }

    fn apply(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.apply_str(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.apply(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.apply(v)),
            _ => {}
        }
    }
}

/// Replaces `from` where it is not part of a longer word of letters and digits.
fn replace_word(s: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut search = 0;
    while let Some(pos) = s[search..].find(from) {
        let at = search + pos;
        let end = at + from.len();
        let alone = s[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric())
            && s[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
        if alone {
            out.push_str(&s[last..at]);
            out.push_str(to);
            last = end;
            search = end;
        } else {
            search = at + s[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push_str(&s[last..]);
    out
}

/// What must never appear in a written file: (what it is, the text).
fn forbidden(config: &atlas_network_peering::Config, tokens: &[String]) -> Vec<(String, String)> {
    let mut list = Vec::new();
    match config.credentials() {
        Some(atlas_network_peering::config::Credentials::ApiKey { private_key, .. }) => {
            list.push((
                "the private API key".to_owned(),
                private_key.expose().to_owned(),
            ));
        }
        Some(atlas_network_peering::config::Credentials::ServiceAccount {
            client_secret, ..
        }) => list.push((
            "the service-account client secret".to_owned(),
            client_secret.expose().to_owned(),
        )),
        _ => {}
    }
    for token in tokens {
        list.push(("a service-account token".to_owned(), token.clone()));
    }
    list.push((
        "a Digest Authorization header".to_owned(),
        "Digest username=".to_owned(),
    ));
    list.push(("a Digest cnonce".to_owned(), "cnonce=".to_owned()));
    list.retain(|(_, value)| !value.trim().is_empty());
    list
}

/// The names of the forbidden values `text` contains.
fn leaks(text: &str, forbidden: &[(String, String)]) -> Vec<String> {
    let mut found: Vec<String> = forbidden
        .iter()
        .filter(|(_, value)| text.contains(value.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    found.dedup();
    found
}

// ------------------------------------------------------------------------------------------
// Fixtures

fn json_body(bytes: &Bytes) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

fn build_fixture(
    rec: &Recorded,
    date: &str,
    anonymizer: Option<&Anonymizer>,
    challenges: &mut Placeholders,
) -> Fixture {
    let e = &rec.exchange;
    let text = |s: &str| anonymizer.map_or_else(|| s.to_owned(), |a| a.apply_str(s));
    let json = |bytes: &Bytes| {
        json_body(bytes).map(|mut v| {
            if let Some(a) = anonymizer {
                a.apply(&mut v);
            }
            v
        })
    };

    let mut query = Map::new();
    if let Some(q) = &e.query
        && let Ok(url) = reqwest::Url::parse(&format!("http://query.invalid/?{q}"))
    {
        for (name, value) in url.query_pairs() {
            query
                .entry(name.into_owned())
                .or_insert_with(|| Value::String(text(&value)));
        }
    }
    let request_headers: Map<String, Value> = e
        .request_headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();

    let body = json(&e.response_body);
    let body_text = match (&body, e.response_body.iter().all(u8::is_ascii_whitespace)) {
        (None, false) => Some(text(&String::from_utf8_lossy(&e.response_body))),
        _ => None,
    };
    let has_body = body.is_some() || body_text.is_some();
    let mut response_headers = Map::new();
    let mut challenged = false;
    for (name, value) in &e.response_headers {
        let value = match name.as_str() {
            "content-type" if !has_body => continue,
            "www-authenticate" => {
                challenged = true;
                scrub_challenge(value, challenges)
            }
            _ => value.clone(),
        };
        response_headers.insert(name.clone(), Value::String(value));
    }

    let mut description = format!(
        "Recorded by `cargo xtask record` on {date} (UTC): {}, answered {}",
        rec.label, e.status
    );
    if challenged {
        description.push_str(
            " with a challenge in www-authenticate (its nonce and opaque values are placeholders)",
        );
    }
    description.push('.');
    if anonymizer.is_some() {
        description.push_str(" Account ids and the project id are placeholders.");
    }

    Fixture {
        description,
        deliberately_violates_spec: false,
        request: Request {
            method: e.method.clone(),
            path: text(&e.path),
            query,
            headers: request_headers,
            body: json(&e.request_body),
        },
        response: Response {
            status: e.status,
            headers: response_headers,
            body,
            body_text,
        },
    }
}

/// `recorded_<what>_<status>`, `recorded_unauthorized_401` for a 401.
fn stem(rec: &Recorded) -> String {
    let what = if rec.exchange.status == 401 {
        "unauthorized"
    } else {
        rec.what.as_str()
    };
    let what: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("recorded_{what}_{}", rec.exchange.status)
}

/// Writes `text` to `<dir>/<stem>.json`, or `<stem>_2.json`, ...: never over an existing file.
fn write_new(dir: &Path, stem: &str, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.json")
        } else {
            format!("{stem}_{n}.json")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// `YYYY-MM-DD` of a UTC instant, read off its HTTP date (`Mon, 07 Dec 2026 04:50:17 GMT`).
fn utc_date(at: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let http_date = httpdate::fmt_http_date(at);
    let words: Vec<&str> = http_date.split(' ').collect();
    let month = MONTHS
        .iter()
        .position(|m| words.get(2) == Some(m))
        .map_or(0, |i| i + 1);
    format!(
        "{}-{month:02}-{}",
        words.get(3).unwrap_or(&"0000"),
        words.get(1).unwrap_or(&"00")
    )
}

/// Warnings for written files the spec or the sdk's types do not accept.
fn spec_warnings(written: &[(PathBuf, String)]) -> Vec<String> {
    let path = crate::root().join(codegen::SPEC_PATH);
    let spec = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| codegen::spec::parse(codegen::SPEC_PATH, &t).map_err(|e| e.to_string()))
    {
        Ok(spec) => spec,
        Err(e) => return vec![format!("cannot verify the files against the spec: {e}")],
    };
    let mut warnings = Vec::new();
    let mut loaded = Vec::new();
    for (path, text) in written {
        let file = path.display().to_string();
        match serde_json::from_str(text) {
            Ok(fixture) => loaded.push(contract_tests::fixtures::Loaded { file, fixture }),
            Err(e) => warnings.push(format!("{file}: not a fixture: {e}")),
        }
    }
    warnings.extend(contract_tests::fixtures::verify(&spec.json, &loaded));
    warnings
}

// ------------------------------------------------------------------------------------------
// The run

async fn record(
    options: Options,
    config: atlas_network_peering::Config,
) -> Result<(), Vec<String>> {
    let (addr, fw, forwarder_task) = start_forwarder(&options.base_url)
        .await
        .map_err(|e| vec![e])?;
    let client_url = format!("http://{addr}{}", fw.prefix);
    let client = config
        .clone()
        .with_base_url(&client_url)
        .map_err(|e| e.to_string())
        .and_then(|c| atlas_network_peering::Client::from_config(c).map_err(|e| e.to_string()))
        .map_err(|e| vec![format!("cannot build the sdk client: {e}")])?;

    let mut rec = Recorder {
        fw: fw.clone(),
        recorded: Vec::new(),
        failures: Vec::new(),
        calls: 0,
    };
    make_calls(&mut rec, &client, &options.group_id).await;
    forwarder_task.abort();
    let tokens = fw.tape().tokens.clone();

    let anonymizer = options.anonymize.then(|| {
        let mut a = Anonymizer::new(&options.group_id);
        for r in &rec.recorded {
            for body in [&r.exchange.request_body, &r.exchange.response_body] {
                if let Some(v) = json_body(body) {
                    a.learn(&v);
                }
            }
        }
        a
    });

    let forbidden = forbidden(&config, &tokens);
    let date = utc_date(SystemTime::now());
    let mut challenges = Placeholders::default();
    let failed_calls = rec.failures.len();
    let mut problems = rec.failures;
    let mut written: Vec<(PathBuf, String)> = Vec::new();
    for r in &rec.recorded {
        let fixture = build_fixture(r, &date, anonymizer.as_ref(), &mut challenges);
        let stem = stem(r);
        let text = match serde_json::to_string_pretty(&fixture) {
            Ok(text) => text + "\n",
            Err(e) => {
                problems.push(format!("{}/{stem}: cannot encode: {e}", r.operation));
                continue;
            }
        };
        let found = leaks(&text, &forbidden);
        if !found.is_empty() {
            problems.push(format!(
                "{}/{stem}: not written, it would contain {}",
                r.operation,
                found.join(", ")
            ));
            continue;
        }
        match write_new(&options.out.join(r.operation), &stem, &text) {
            Ok(path) => {
                println!("wrote {}", path.display());
                written.push((path, text));
            }
            Err(e) => problems.push(format!(
                "cannot write {}/{stem}.json under {}: {e}",
                r.operation,
                options.out.display()
            )),
        }
    }

    // Read every written file back: what is on disk is what counts.
    for (path, _) in &written {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let found = leaks(&text, &forbidden);
                if !found.is_empty() {
                    problems.push(format!(
                        "{} contains {}; it was left in place: inspect and delete it",
                        path.display(),
                        found.join(", ")
                    ));
                }
            }
            Err(e) => problems.push(format!("cannot read back {}: {e}", path.display())),
        }
    }
    let warnings = spec_warnings(&written);
    for w in &warnings {
        eprintln!("warning: {w}");
    }

    println!(
        "record: {} calls to {} ({} failed), {} exchanges recorded, {} files written under {}{}{}",
        rec.calls,
        options.base_url,
        failed_calls,
        rec.recorded.len(),
        written.len(),
        options.out.display(),
        if options.anonymize {
            ", anonymized"
        } else {
            ""
        },
        if warnings.is_empty() {
            String::new()
        } else {
            format!(
                "; {} warning(s): `cargo xtask regen` will refuse what the spec does not describe",
                warnings.len()
            )
        }
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        use std::time::UNIX_EPOCH;
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(utc_date(at), "2023-11-14");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(utc_date(leap), "2000-02-29");
    }

    #[test]
    fn challenges_lose_their_nonce_and_opaque() {
        let mut p = Placeholders::default();
        let one = r#"Digest realm="MMS Public API", domain="", nonce="abc\"def", opaque="xyz", algorithm=MD5, qop="auth", stale=false"#;
        assert_eq!(
            scrub_challenge(one, &mut p),
            r#"Digest realm="MMS Public API", domain="", nonce="nonce-placeholder-1", opaque="opaque-placeholder-1", algorithm=MD5, qop="auth", stale=false"#
        );
        // Same nonce, same placeholder; unquoted values and odd case too.
        let two = r#"Digest NONCE=zzz, realm="x nonce=inside""#;
        assert_eq!(
            scrub_challenge(two, &mut p),
            r#"Digest NONCE=nonce-placeholder-2, realm="x nonce=inside""#
        );
        assert_eq!(
            scrub_challenge(r#"Digest nonce="abc\"def""#, &mut p),
            r#"Digest nonce="nonce-placeholder-1""#
        );
    }

    #[test]
    fn anonymizing_is_stable_and_whole_word() {
        let group = "6f1c2a9e4b7d3e0a1c5f8b21";
        let mut a = Anonymizer::new(group);
        a.learn(&serde_json::json!({
            "results": [
                {"awsAccountId": "730418265093", "gcpProjectId": "p-abcdefghijklmnopqrstuvwx"},
                {"awsAccountId": "730418265093", "gcpProjectId": "harbor-418203",
                 "azureSubscriptionId": "7e1d9c3b-5a2f-4b8e-a6d4-0c9f8e7d6b5a",
                 "azureDirectoryId": "a4c2e8f1-6b3d-4e7a-9c05-1d2f3b4a5c6e"}
            ]
        }));
        assert_eq!(
            a.apply_str(&format!("/groups/{group}/peers 730418265093 1730418265093")),
            "/groups/000000000000000000000001/peers 000000000001 1730418265093"
        );
        let mut v = serde_json::json!({"x": ["p-abcdefghijklmnopqrstuvwx", "harbor-418203",
            "7e1d9c3b-5a2f-4b8e-a6d4-0c9f8e7d6b5a", "a4c2e8f1-6b3d-4e7a-9c05-1d2f3b4a5c6e"]});
        a.apply(&mut v);
        // Keys are visited in sorted order: the directory id comes before the subscription id.
        assert_eq!(
            v,
            serde_json::json!({"x": ["p-000000000000000000000001", "gcp-project-000002",
                "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001"]})
        );
    }

    #[test]
    fn arguments_are_checked_one_line_each() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let problems = parse_args(&args(&["--group-id", "ABC", "--frob", "--out"])).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("--frob")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("--out needs a value"))
        );
        assert!(problems.iter().any(|p| p.starts_with("missing --base-url")));
        assert!(problems.iter().any(|p| p.starts_with("--group-id `ABC`")));
        let ok = parse_args(&args(&[
            "--base-url=https://cloud.mongodb.com/",
            "--group-id",
            "6f1c2a9e4b7d3e0a1c5f8b21",
            "--anonymize",
        ]))
        .unwrap();
        assert_eq!(ok.base_url, "https://cloud.mongodb.com");
        assert!(ok.anonymize);
        assert!(
            parse_args(&args(&[
                "--base-url",
                "https://u:p@x.test",
                "--group-id",
                "6f1c2a9e4b7d3e0a1c5f8b21"
            ]))
            .unwrap_err()[0]
                .contains("user name or password")
        );
    }

    #[test]
    fn a_proxy_without_a_loopback_exception_is_refused() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(proxy_problem(env(&[])), None);
        let refused = proxy_problem(env(&[("HTTP_PROXY", "http://proxy.test:3128")])).unwrap();
        assert!(refused.starts_with("HTTP_PROXY is set"), "{refused}");
        assert!(refused.contains("NO_PROXY=127.0.0.1"), "{refused}");
        let refused = proxy_problem(env(&[
            ("all_proxy", "socks5://p"),
            ("NO_PROXY", "localhost"),
        ]));
        assert!(refused.is_some());
        for exempt in ["127.0.0.1", "localhost, 127.0.0.1", "*"] {
            let pairs: &'static [(&str, &str)] = match exempt {
                "127.0.0.1" => &[("HTTP_PROXY", "http://p"), ("no_proxy", "127.0.0.1")],
                "*" => &[("HTTP_PROXY", "http://p"), ("NO_PROXY", "*")],
                _ => &[
                    ("HTTP_PROXY", "http://p"),
                    ("NO_PROXY", "localhost, 127.0.0.1"),
                ],
            };
            assert_eq!(proxy_problem(env(pairs)), None, "{exempt}");
        }
    }

    #[test]
    fn leaks_name_what_they_found() {
        let forbidden = vec![
            ("the private API key".to_owned(), "s3cr3t".to_owned()),
            ("a Digest cnonce".to_owned(), "cnonce=".to_owned()),
        ];
        assert_eq!(
            leaks("{\"x\": \"s3cr3t\"}", &forbidden),
            ["the private API key"]
        );
        assert!(leaks("{}", &forbidden).is_empty());
    }
}
