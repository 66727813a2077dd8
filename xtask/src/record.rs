//! `cargo xtask record --base-url URL --group-id ID [--out DIR] [--anonymize]`: records real
//! exchanges of the read-only Network Peering operations into new fixture files (the format of
//! `fixtures/README.md`).
//!
//! 1. The arguments are checked (one line per problem). The credentials come from the
//!    environment as for [`atlas_network_peering::Config::from_env`] (API key with Digest, or
//!    service account); `--base-url` replaces the base URL variables. Behind a proxy
//!    (`HTTP_PROXY`, `ALL_PROXY`) the run is refused unless `NO_PROXY` names 127.0.0.1.
//! 2. A forwarder on `127.0.0.1` (hyper HTTP/1, an ephemeral port) sends every request on to the
//!    target with reqwest, unchanged (`Authorization` included, redirects not followed), and
//!    hands the answer back unchanged. Of each exchange under `/api/atlas/` it keeps only what a
//!    fixture may hold: method, path, query, bodies, status, the `accept` and `content-type`
//!    request headers and the `content-type`, `retry-after` and `www-authenticate` response
//!    headers; the `Authorization` header, cookies and `set-cookie` are never copied. The token
//!    endpoint (`/api/oauth/token`) is forwarded, never recorded; the tokens it hands out are
//!    only noted for the final check. A request that cannot reach the target gets a `502`.
//!
//!    Not httpmock's `forward_to`/`record`: its `proxy` and `record` features would bring `h2`
//!    and `serde_yaml` into every build of httpmock in the workspace (features unify), its
//!    recording keeps every header (`set-cookie` included) in its own YAML, and it could note
//!    the tokens only by recording the token endpoint. Copying only the allowed parts at the one
//!    place an exchange passes keeps the guarantees simplest.
//! 3. An [`atlas_network_peering::Client`] pointed at the forwarder calls, one at a time:
//!    `get_private_ip_mode`, `list_all_containers`, `list_containers` and `list_peers` for AWS,
//!    GCP and Azure, each list followed by `get_container` / `get_peer` of its first entry
//!    (once per entry). The exchanges a call caused (a Digest `401` challenge, retries) belong
//!    to it; a call that fails is reported with the sdk's error and the run goes on.
//! 4. Each exchange becomes `<DIR>/<operation>/recorded_<what>_<status>.json` (`<what>`: `mode`,
//!    `all`, the provider, `unauthorized` for a `401`; `_2`, `_3`, ... rather than overwrite),
//!    described as recorded, when (UTC date) and by which call. In `www-authenticate` the
//!    `nonce` and `opaque` values get stable placeholders; `--anonymize` replaces account ids
//!    and the project id by stable placeholders that still validate (see `Anonymizer`).
//! 5. Each file's text is checked before it is written, and read back after: holding the
//!    private key, the client secret, a token handed out during the run, `Digest username=` or
//!    `cnonce=`, it is not written (before) or reported and left for inspection (after), and the
//!    command fails. The written files are verified as `cargo xtask regen` verifies fixtures; a
//!    recorded answer the spec does not describe is a warning (the spec may be wrong).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use atlas_network_peering::config::{self, Credentials};
use atlas_network_peering::{Client, Config, Error};
use bytes::Bytes;
use contract_tests::fixtures::{Fixture, Loaded, Request, Response};
use http_body_util::{BodyExt, Full};
use regex::{Captures, Regex};
use serde::Serialize;
use serde_json::{Map, Value};

/// Request headers a fixture keeps.
const REQUEST_HEADERS: [&str; 2] = ["accept", "content-type"];
/// Response headers a fixture keeps.
const RESPONSE_HEADERS: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];
/// Headers of one connection, not forwarded (`host` and the length are set anew).
const HOP_BY_HOP: &str = "connection keep-alive proxy-authenticate proxy-authorization te trailer \
     transfer-encoding upgrade host content-length";
/// The placeholder of the `--group-id` value under `--anonymize`.
const GROUP_PLACEHOLDER: &str = "000000000000000000000001";

/// Runs the command with the arguments after `record`.
pub fn run(args: &[String]) -> Result<(), Vec<String>> {
    let options = parse_args(args)?;
    if options.help {
        println!("{}", crate::USAGE);
        return Ok(());
    }
    // The sdk's variables, as `Config::from_env` reads them, less the base URL ones: --base-url
    // replaces them (a stale one must not stop the run).
    let config = Config::from_lookup(|name| match name {
        config::env::BASE_URL | config::env::OPS_MANAGER_URL => None,
        _ => std::env::var(name).ok(),
    });
    let why = "cannot read the credentials from the environment";
    let config = config.map_err(|e| vec![format!("{why}: {e}")])?;
    if let Some(problem) = proxy_problem(|name| std::env::var(name).ok()) {
        return Err(vec![problem]);
    }
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    let runtime = runtime.enable_all().build();
    let runtime = runtime.map_err(|e| vec![format!("cannot start the async runtime: {e}")])?;
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
    let loopback = |l: String| l.split(',').any(|h| matches!(h.trim(), "127.0.0.1" | "*"));
    let lists = ["NO_PROXY", "no_proxy"].map(&var);
    let exempt = lists.into_iter().flatten().any(loopback);
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

/// `--flag value` or `--flag=value`; every problem is one line, all of them reported.
fn parse_args(args: &[String]) -> Result<Options, Vec<String>> {
    let (mut problems, mut values) = (Vec::new(), BTreeMap::new());
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
                match inline.or_else(|| args.next_if(|v| !v.starts_with("--")).cloned()) {
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
    let object_id =
        |s: &str| s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match values.remove("--group-id") {
        None => problems.push(
            "missing --group-id ID: the project to record, 24 lower-case hex characters".to_owned(),
        ),
        Some(id) if !object_id(&id) => problems.push(format!(
            "--group-id `{id}` is not a project id: it must be 24 lower-case hex characters (0-9, a-f)"
        )),
        Some(id) => options.group_id = id,
    }
    match values.remove("--out") {
        Some(out) if out.trim().is_empty() => {
            problems.push("--out needs a non-empty directory".to_owned());
        }
        out => {
            options.out = out.map_or_else(|| contract_tests::root().join("fixtures"), PathBuf::from)
        }
    }
    problems.is_empty().then_some(options).ok_or(problems)
}

/// The base URL as the sdk normalizes it; refused when the sdk would refuse it or when it
/// carries credentials.
fn check_base_url(url: &str) -> Result<String, String> {
    let unusable = |reason: &dyn std::fmt::Display| {
        format!("--base-url `{url}` is not a usable base URL: {reason}")
    };
    let normalized = match Config::new().with_base_url(url) {
        Ok(config) => config.base_url().to_owned(),
        Err(config::ConfigError::Invalid { reason, .. }) => return Err(unusable(&reason)),
        Err(e) => return Err(format!("--base-url `{url}`: {e}")),
    };
    let parsed = reqwest::Url::parse(&normalized).map_err(|e| unusable(&e))?;
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

/// What the forwarder kept: a fixture (without its description) per exchange, the tokens the
/// token endpoint handed out (looked for in the written files, never written), and the
/// requests that did not reach the target, and why.
#[derive(Default)]
struct Tape {
    exchanges: Vec<Fixture>,
    tokens: Vec<String>,
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
    fn tape(&self) -> MutexGuard<'_, Tape> {
        self.tape.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` on to the target and hands back its answer, keeping the allowed parts of
    /// an exchange under `/api/atlas/` and the tokens the token endpoint (`/api/oauth/`) hands
    /// out.
    async fn forward(
        &self,
        request: http::Request<hyper::body::Incoming>,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return text_response(400, format!("cannot read the request: {e}")),
        };
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let url = format!("{}{path_and_query}", self.origin);
        let mut upstream = self.http.request(parts.method.clone(), url);
        upstream = upstream.headers(without_hop_by_hop(parts.headers.clone()));
        if !body.is_empty() {
            upstream = upstream.body(body.clone());
        }
        let answered = async {
            let response = upstream.send().await?;
            let (status, headers) = (response.status(), response.headers().clone());
            Ok::<_, reqwest::Error>((status, headers, response.bytes().await?))
        };
        let (status, headers, response_body) = match answered.await {
            Ok(answer) => answer,
            Err(e) => {
                let why = format!("{} did not answer: {}", self.origin, causes(&e));
                self.tape().unreached.push(why);
                return text_response(502, "no answer from the target".to_owned());
            }
        };
        let path = parts.uri.path();
        let path = path.strip_prefix(self.prefix.as_str()).unwrap_or(path);
        let json = serde_json::from_slice::<Value>(&response_body).ok();
        if path.starts_with("/api/atlas/") {
            let blank = response_body.iter().all(u8::is_ascii_whitespace);
            let text = (json.is_none() && !blank).then(|| String::from_utf8_lossy(&response_body));
            let mut response_headers = allowed_headers(&headers, &RESPONSE_HEADERS);
            if json.is_none() && text.is_none() {
                response_headers.remove("content-type");
            }
            // The query as the caller set it (the first value of a repeated name).
            let mut query = Map::new();
            let url = reqwest::Url::parse(&format!("http://query.invalid/{path_and_query}"));
            for (name, value) in url.iter().flat_map(reqwest::Url::query_pairs) {
                query
                    .entry(name)
                    .or_insert(Value::String(value.into_owned()));
            }
            self.tape().exchanges.push(Fixture {
                description: String::new(),
                deliberately_violates_spec: false,
                request: Request {
                    method: parts.method.as_str().to_owned(),
                    path: path.to_owned(),
                    query,
                    headers: allowed_headers(&parts.headers, &REQUEST_HEADERS),
                    body: serde_json::from_slice(&body).ok(),
                },
                response: Response {
                    status: status.as_u16(),
                    headers: response_headers,
                    body: json,
                    body_text: text.map(|t| t.into_owned()),
                },
            });
        } else if path.starts_with("/api/oauth/")
            && let Some(Value::Object(token)) = json
        {
            let tokens = ["access_token", "refresh_token", "id_token"]
                .iter()
                .filter_map(|key| token.get(*key)?.as_str())
                .filter(|t| !t.trim().is_empty());
            self.tape().tokens.extend(tokens.map(str::to_owned));
        }
        let mut answer = http::Response::new(Full::new(response_body));
        *answer.status_mut() = status;
        *answer.headers_mut() = without_hop_by_hop(headers);
        answer
    }
}

/// The `allowed` headers (lower-case names), a repeated one's values joined by `, `.
fn allowed_headers(headers: &http::HeaderMap, allowed: &[&str]) -> Map<String, Value> {
    let value = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    allowed
        .iter()
        .filter_map(|name| {
            let values: Vec<String> = headers.get_all(*name).iter().map(value).collect();
            (!values.is_empty()).then(|| ((*name).to_owned(), Value::String(values.join(", "))))
        })
        .collect()
}

fn without_hop_by_hop(mut headers: http::HeaderMap) -> http::HeaderMap {
    for name in HOP_BY_HOP.split_whitespace() {
        headers.remove(name);
    }
    headers
}

/// An error and its sources, on one line (a source its error already quotes is left out).
fn causes(e: &dyn std::error::Error) -> String {
    let texts = std::iter::successors(Some(e), |e| e.source()).map(|e| e.to_string());
    texts
        .reduce(|line, text| match line.contains(&text) {
            true => line,
            false => format!("{line}: {text}"),
        })
        .unwrap_or_default()
}

/// The forwarder's own answer: `text` as plain text, after `cargo xtask record: `.
fn text_response(status: u16, text: String) -> http::Response<Full<Bytes>> {
    let body = Full::new(Bytes::from(format!("cargo xtask record: {text}")));
    let response = http::Response::builder().status(status);
    let response = response.header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    response.body(body).unwrap_or_default()
}

/// Starts the forwarder to `base_url` on 127.0.0.1 (an ephemeral port), serving until the
/// runtime stops; the base URL that reaches the target through it, and itself.
async fn start_forwarder(base_url: &str) -> Result<(String, Arc<Forwarder>), Vec<String>> {
    let url = reqwest::Url::parse(base_url).map_err(|e| vec![format!("--base-url: {e}")])?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config::DEFAULT_CONNECT_TIMEOUT)
        .timeout(config::DEFAULT_TIMEOUT * 2)
        .build()
        .map_err(|e| vec![format!("cannot build the forwarder's HTTP client: {e}")])?;
    let fw = Arc::new(Forwarder {
        origin: url.origin().ascii_serialization(),
        prefix: url.path().trim_end_matches('/').to_owned(),
        http,
        tape: Mutex::default(),
    });
    let unstarted = |e| {
        vec![format!(
            "cannot start the recording forwarder on 127.0.0.1: {e}"
        )]
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await;
    let listener = listener.map_err(unstarted)?;
    let addr = listener.local_addr().map_err(unstarted)?;
    let served = fw.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let fw = served.clone();
            let service = hyper::service::service_fn(move |request| {
                let fw = fw.clone();
                async move { Ok::<_, Infallible>(fw.forward(request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::spawn(connection);
        }
    });
    Ok((format!("http://{addr}{}", fw.prefix), fw))
}

// ------------------------------------------------------------------------------------------
// The calls

/// One exchange and the call it belongs to.
struct Recorded {
    operation: &'static str,
    what: String,
    label: String,
    fixture: Fixture,
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
        (operation, what, label): (&'static str, &str, String),
        call: impl Future<Output = Result<T, Error>>,
    ) -> Option<T> {
        // The calls are made one at a time: what the tape holds afterwards is this call's.
        let result = call.await;
        self.calls += 1;
        let mut tape = self.fw.tape();
        let (new, unreached) = (std::mem::take(&mut tape.exchanges), tape.unreached.pop());
        tape.unreached.clear();
        drop(tape);
        let reached = !new.is_empty();
        self.recorded
            .extend(new.into_iter().map(|fixture| Recorded {
                operation,
                what: what.to_owned(),
                label: label.clone(),
                fixture,
            }));
        let e = match result {
            Ok(value) => return Some(value),
            Err(e) => e,
        };
        // When the target did not answer, the sdk only saw the forwarder's 502: the forwarder's
        // own error comes first.
        self.failures.push(match unreached {
            Some(why) => format!("{label} failed: {why} (the sdk reported: {e})"),
            None if !reached => format!("{label} failed: {e} (nothing reached the target)"),
            None => format!("{label} failed: {e}"),
        });
        None
    }
}

/// The id and lower-case provider of the first entry of a page.
fn first_entry<T: Serialize>(results: &[T]) -> Option<(String, String)> {
    let entry = serde_json::to_value(results.first()?).ok()?;
    let id = entry.get("id")?.as_str()?.to_owned();
    // Atlas leaves providerName out of AWS containers at times: AWS is implied.
    let provider = entry.get("providerName").and_then(Value::as_str);
    Some((id, provider.unwrap_or("AWS").to_ascii_lowercase()))
}

async fn make_calls(rec: &mut Recorder, client: &Client, group: &str) {
    use atlas_network_peering::types::CloudProvider;
    let mode = client.get_private_ip_mode().group_id(group).send();
    let name = "get_private_ip_mode";
    rec.call((name, "mode", name.to_owned()), mode).await;

    // Each list, then the first entry of each, unless an earlier call fetched it.
    let mut lists = vec![("list_all_containers", None)];
    for listing in ["list_containers", "list_peers"] {
        for provider in [CloudProvider::Aws, CloudProvider::Gcp, CloudProvider::Azure] {
            lists.push((listing, Some(provider)));
        }
    }
    let mut seen = BTreeSet::new();
    for (listing, provider) in lists {
        let source = match &provider {
            None => listing.to_owned(),
            Some(p) => format!("{listing} with providerName={}", p.as_str()),
        };
        let what = provider.as_ref().map_or("all", CloudProvider::as_str);
        let key = (listing, &*what.to_ascii_lowercase(), source.clone());
        let first = match provider {
            None => {
                let call = client.list_all_containers().group_id(group);
                let page = rec.call(key, call.send()).await;
                page.and_then(|p| first_entry(&p.results))
            }
            Some(p) if listing == "list_peers" => {
                let call = client.list_peers().group_id(group).provider_name(p);
                let page = rec.call(key, call.send()).await;
                page.and_then(|p| first_entry(&p.results))
            }
            Some(p) => {
                let call = client.list_containers().group_id(group).provider_name(p);
                let page = rec.call(key, call.send()).await;
                page.and_then(|p| first_entry(&p.results))
            }
        };
        let peer = listing == "list_peers";
        let operation = if peer { "get_peer" } else { "get_container" };
        let Some((id, provider)) = first.filter(|(id, _)| seen.insert((operation, id.clone())))
        else {
            continue;
        };
        let key = (
            operation,
            &*provider,
            format!("{operation} of the first entry of {source}"),
        );
        if peer {
            let call = client.get_peer().group_id(group).peer_id(&id);
            rec.call(key, call.send()).await;
        } else {
            let call = client.get_container().group_id(group).container_id(&id);
            rec.call(key, call.send()).await;
        }
    }
}

// ------------------------------------------------------------------------------------------
// Scrubbing

/// Stable placeholders: the same value always gets the same placeholder.
#[derive(Default)]
struct Placeholders {
    values: BTreeMap<String, String>,
    next: BTreeMap<String, u64>,
}

impl Placeholders {
    fn get(&mut self, kind: &str, value: &str, make: impl Fn(u64) -> String) -> String {
        if let Some(p) = self.values.get(value) {
            return p.clone();
        }
        let n = self.next.entry(kind.to_owned()).or_insert(0);
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
            let placeholder = placeholders.get(&kind, &format!("{kind}\u{0}{original}"), |n| {
                format!("{kind}-placeholder-{n}")
            });
            let quote = if quoted { "\"" } else { "" };
            format!(
                "{}{}={quote}{placeholder}{quote}",
                &c["lead"],
                name.as_str()
            )
        })
        .into_owned()
}

/// `--anonymize`: learns the values of the fields that identify an account (from every
/// recorded body), then replaces them wherever they occur as a whole word in a string (paths,
/// query values, `href`s, error details); the `--group-id` value too.
struct Anonymizer(Placeholders);

impl Anonymizer {
    fn new(group_id: &str) -> Self {
        let mut placeholders = Placeholders::default();
        let group = (group_id.to_owned(), GROUP_PLACEHOLDER.to_owned());
        placeholders.values.extend([group]);
        Self(placeholders)
    }

    /// Each value gets the placeholder of its kind, the same value the same placeholder.
    fn learn(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (field, v) in map {
                    let Some(s) = v.as_str().filter(|s| !s.trim().is_empty()) else {
                        self.learn(v);
                        continue;
                    };
                    let p = &mut self.0;
                    match field.as_str() {
                        "awsAccountId" => p.get("aws", s, |n| format!("{n:012}")),
                        "gcpProjectId" if s.starts_with("p-") => {
                            p.get("gcp", s, |n| format!("p-{n:024}"))
                        }
                        "gcpProjectId" => p.get("gcp", s, |n| format!("gcp-project-{n:06}")),
                        // Subscription and directory ids share a counter: two different GUIDs
                        // never get the same placeholder.
                        "azureSubscriptionId" | "azureDirectoryId" => {
                            p.get("azure", s, |n| format!("00000000-0000-4000-8000-{n:012}"))
                        }
                        _ => continue,
                    };
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            _ => {}
        }
    }

    fn apply_str(&self, s: &str) -> String {
        let mut pairs: Vec<(&String, &String)> = self.0.values.iter().collect();
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
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let (mut out, mut last, mut search) = (String::with_capacity(s.len()), 0, 0);
    while let Some(p) = s[search..].find(from).filter(|_| !from.is_empty()) {
        let (at, end) = (search + p, search + p + from.len());
        if word(s[..at].chars().next_back()) || word(s[end..].chars().next()) {
            search = at + s[at..].chars().next().map_or(1, char::len_utf8);
        } else {
            out.push_str(&s[last..at]);
            out.push_str(to);
            (last, search) = (end, end);
        }
    }
    out.push_str(&s[last..]);
    out
}

/// What must never appear in a written file: (what it is, the text).
fn forbidden(config: &Config, tokens: &[String]) -> Vec<(String, String)> {
    let secret = match config.credentials() {
        Some(Credentials::ApiKey { private_key, .. }) => {
            Some(("the private API key", private_key.expose()))
        }
        Some(Credentials::ServiceAccount { client_secret, .. }) => {
            Some(("the service-account client secret", client_secret.expose()))
        }
        _ => None,
    };
    let tokens = tokens
        .iter()
        .map(|t| ("a service-account token", t.as_str()));
    let digest = [
        ("a Digest Authorization header", "Digest username="),
        ("a Digest cnonce", "cnonce="),
    ];
    let list = secret.into_iter().chain(tokens).chain(digest);
    list.filter(|(_, value)| !value.trim().is_empty())
        .map(|(what, value)| (what.to_owned(), value.to_owned()))
        .collect()
}

/// The names of the forbidden values `text` contains, joined by `, ` (empty: none).
fn leaks(text: &str, forbidden: &[(String, String)]) -> String {
    let found = forbidden
        .iter()
        .filter(|(_, value)| text.contains(value.as_str()));
    let mut found: Vec<&str> = found.map(|(name, _)| name.as_str()).collect();
    found.dedup();
    found.join(", ")
}

// ------------------------------------------------------------------------------------------
// Fixtures

/// The recorded fixture with its description, the challenge's nonce and opaque values replaced
/// and, under `--anonymize`, the account ids.
fn finish(
    rec: &Recorded,
    date: &str,
    anonymizer: Option<&Anonymizer>,
    challenges: &mut Placeholders,
) -> Fixture {
    let mut f = rec.fixture.clone();
    let challenge = f.response.headers.get_mut("www-authenticate");
    let challenged = challenge.and_then(|v| {
        *v = Value::String(scrub_challenge(v.as_str()?, challenges));
        Some(())
    });
    let (req, res) = (&mut f.request, &mut f.response);
    if let Some(a) = anonymizer {
        req.path = a.apply_str(&req.path);
        let bodies = req.body.iter_mut().chain(&mut res.body);
        req.query
            .values_mut()
            .chain(bodies)
            .for_each(|v| a.apply(v));
        res.body_text = res.body_text.as_deref().map(|t| a.apply_str(t));
    }
    let challenge =
        " with a challenge in www-authenticate (its nonce and opaque values are placeholders)";
    let anonymized = " Account ids and the project id are placeholders.";
    f.description = format!(
        "Recorded by `cargo xtask record` on {date} (UTC): {}, answered {}{}.{}",
        rec.label,
        res.status,
        if challenged.is_some() { challenge } else { "" },
        if anonymizer.is_some() { anonymized } else { "" },
    );
    f
}

/// `recorded_<what>_<status>`, `recorded_unauthorized_401` for a 401.
fn stem(rec: &Recorded) -> String {
    let status = rec.fixture.response.status;
    let what = if status == 401 {
        "unauthorized"
    } else {
        &rec.what
    };
    let safe = |c: char| c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase());
    let what: String = what.chars().map(|c| safe(c).unwrap_or('_')).collect();
    format!("recorded_{what}_{status}")
}

/// Writes `text` to `<dir>/<stem>.json`, or `<stem>_2.json`, ...: never over an existing file.
fn write_new(dir: &Path, stem: &str, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("_{n}")
        };
        let path = dir.join(format!("{stem}{suffix}.json"));
        match std::fs::File::create_new(&path) {
            Ok(mut file) => return file.write_all(text.as_bytes()).map(|()| path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// `YYYY-MM-DD` of a UTC instant, read off its HTTP date (`Mon, 07 Dec 2026 04:50:17 GMT`).
fn utc_date(at: SystemTime) -> String {
    let http_date = httpdate::fmt_http_date(at);
    let words: Vec<&str> = http_date.split(' ').chain(["", "", "", ""]).collect();
    let months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    let month = (1..=12).find(|m| months.get(3 * m - 3..3 * m) == Some(words[2]));
    format!("{}-{:02}-{}", words[3], month.unwrap_or(0), words[1])
}

/// Warnings for written files the spec or the sdk's types do not accept.
fn spec_warnings(written: &[(PathBuf, String)]) -> Vec<String> {
    let path = contract_tests::root().join(codegen::SPEC_PATH);
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
    let spec =
        text.and_then(|t| codegen::spec::parse(codegen::SPEC_PATH, &t).map_err(|e| e.to_string()));
    let spec = match spec {
        Ok(spec) => spec,
        Err(e) => return vec![format!("cannot verify the files against the spec: {e}")],
    };
    let (mut warnings, mut loaded) = (Vec::new(), Vec::new());
    for (path, text) in written {
        let file = path.display().to_string();
        match serde_json::from_str(text) {
            Ok(fixture) => loaded.push(Loaded { file, fixture }),
            Err(e) => warnings.push(format!("{file}: not a fixture: {e}")),
        }
    }
    warnings.extend(contract_tests::fixtures::verify(&spec.json, &loaded));
    warnings
}

// ------------------------------------------------------------------------------------------
// The run

async fn record(options: Options, config: Config) -> Result<(), Vec<String>> {
    let (client_url, fw) = start_forwarder(&options.base_url).await?;
    let client = config.clone().with_base_url(&client_url);
    let client = client.map_err(|e| e.to_string());
    let client = client.and_then(|c| Client::from_config(c).map_err(|e| e.to_string()));
    let client = client.map_err(|e| vec![format!("cannot build the sdk client: {e}")])?;
    let (recorded, failures, calls) = (Vec::new(), Vec::new(), 0);
    let mut rec = Recorder {
        fw: fw.clone(),
        recorded,
        failures,
        calls,
    };
    make_calls(&mut rec, &client, &options.group_id).await;

    let anonymizer = options.anonymize.then(|| {
        let mut a = Anonymizer::new(&options.group_id);
        for f in rec.recorded.iter().map(|r| &r.fixture) {
            let bodies = f.request.body.iter().chain(&f.response.body);
            bodies.for_each(|v| a.learn(v));
        }
        a
    });
    let forbidden = forbidden(&config, &fw.tape().tokens);
    let date = utc_date(SystemTime::now());
    let mut challenges = Placeholders::default();
    let failed_calls = rec.failures.len();
    let mut problems = rec.failures;
    let mut written: Vec<(PathBuf, String)> = Vec::new();
    for r in &rec.recorded {
        let fixture = finish(r, &date, anonymizer.as_ref(), &mut challenges);
        let (operation, stem) = (r.operation, stem(r));
        let text = match serde_json::to_string_pretty(&fixture) {
            Ok(text) => text + "\n",
            Err(e) => {
                problems.push(format!("{operation}/{stem}: cannot encode: {e}"));
                continue;
            }
        };
        let found = leaks(&text, &forbidden);
        if !found.is_empty() {
            problems.push(format!(
                "{operation}/{stem}: not written, it would contain {found}"
            ));
            continue;
        }
        match write_new(&options.out.join(operation), &stem, &text) {
            Ok(path) => {
                println!("wrote {}", path.display());
                written.push((path, text));
            }
            Err(e) => problems.push(format!(
                "cannot write {operation}/{stem}.json under {}: {e}",
                options.out.display()
            )),
        }
    }
    // Read every written file back: what is on disk is what counts.
    for (path, _) in &written {
        match std::fs::read_to_string(path).map(|text| leaks(&text, &forbidden)) {
            Ok(found) if found.is_empty() => {}
            Ok(found) => problems.push(format!(
                "{} contains {found}; it was left in place: inspect and delete it",
                path.display(),
            )),
            Err(e) => problems.push(format!("cannot read back {}: {e}", path.display())),
        }
    }
    let warnings = spec_warnings(&written);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let anonymized = options.anonymize.then_some(", anonymized");
    let anonymized = anonymized.unwrap_or_default();
    let warned = match warnings.len() {
        0 => String::new(),
        n => format!(
            "; {n} warning(s): `cargo xtask regen` will refuse what the spec does not describe"
        ),
    };
    println!(
        "record: {} calls to {} ({failed_calls} failed), {} exchanges recorded, {} files written under {}{anonymized}{warned}",
        rec.calls,
        options.base_url,
        rec.recorded.len(),
        written.len(),
        options.out.display(),
    );
    problems.is_empty().then_some(()).ok_or(problems)
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
            "the private API key"
        );
        assert_eq!(
            leaks("s3cr3t cnonce=", &forbidden),
            "the private API key, a Digest cnonce"
        );
        assert!(leaks("{}", &forbidden).is_empty());
    }
}
