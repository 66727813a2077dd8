//! Paging scenarios: the sdk's public listing streams against a tiny local HTTP server, checked
//! against a model written from the rules in `atlas_network_peering::pagination`'s documentation.
//!
//! The page-walking logic (`Walk::is_last`, `Seen::repeats`) is private to the sdk, so it is
//! exercised the only way an outside crate can: through `ClientPaginationExt`, with a server
//! that answers page number `n` with `replies[(n - 1) % replies.len()]`. A page is taken for a
//! repeat only when it repeats the page just before it, so a server cycling through two or
//! more different pages can go on forever: the model stops such a listing after
//! `2 * replies.len() + 2` pages, and the stream is then read exactly as far.
//!
//! Shared, through `#[path]`, by `fuzz/fuzz_targets/paging.rs` (cargo-fuzz builds a
//! [`Scenario`] from raw bytes) and `sdk/tests/fuzz_props.rs` (proptest builds it from
//! strategies). [`run`] panics, with the scenario and both outcomes, on any difference.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use atlas_network_peering::types::{CloudProvider, ContainerPage, PeerPage};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

/// The project every scenario lists.
pub const GROUP_ID: &str = "6f1c2a9e4b7d3e0a1c5f8b21";

/// Ids an entry may be given, so that pages share ids and repeats happen.
pub const ID_POOL: [&str; 4] = [
    "65a3f1c27b9e4d0a8c6b2e14",
    "65b07d4e1a2c3f5e6d7b8a90",
    "66045d7f1b6e0a5c8d2f3b94",
    "66056e8a2c7f1b6d9e3a4ca5",
];

/// `rel` values a link may carry (matching is case-insensitive, so some differ only by case).
pub const RELS: [&str; 6] = ["self", "next", "previous", "NEXT", "Self", "last"];

/// `href` values a link may carry.
pub const HREFS: [&str; 4] = [
    "http://127.0.0.1/p?pageNum=1",
    "http://127.0.0.1/p?pageNum=2",
    "http://127.0.0.1/p?pageNum=3",
    "http://127.0.0.1/p?pageNum=1&x",
];

/// Which list operation a scenario walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// `list_all_containers`.
    AllContainers,
    /// `list_containers`.
    Containers,
    /// `list_peers`.
    Peers,
}

/// One listing: how the caller asks, and what the server answers.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub listing: Listing,
    /// Walk the `Items` stream instead of the `Pages` stream.
    pub items: bool,
    pub items_per_page: u32,
    pub include_count: bool,
    pub provider: Option<CloudProvider>,
    /// Ask with a group id that is not 24 hex characters.
    pub bad_group_id: bool,
    /// Page number `n` is answered with `replies[(n - 1) % len]`; no reply means one empty page.
    pub replies: Vec<Reply>,
}

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with a page built from fixture entries.
    Page(PageSpec),
    /// Any status (an error one, in practice) with any body.
    Status(u16, Vec<u8>),
    /// 200 with any bytes.
    Body(Vec<u8>),
}

/// A page body.
#[derive(Clone, Debug, Default)]
pub struct PageSpec {
    pub entries: Vec<EntrySpec>,
    pub links: LinksSpec,
    /// Sent as a JSON number; outside `i32` the page does not decode.
    pub total_count: Option<i64>,
}

/// The page's `links`.
#[derive(Clone, Debug, Default)]
pub enum LinksSpec {
    #[default]
    Absent,
    Null,
    List(Vec<LinkSpec>),
}

/// One link: indexes into [`RELS`] and [`HREFS`] (taken modulo their length), or left out.
#[derive(Clone, Copy, Debug)]
pub struct LinkSpec {
    pub rel: Option<usize>,
    pub href: Option<usize>,
}

/// One entry: a fixture entry (index modulo the number of templates, containers then peers,
/// so a container may land on a peer page) with its id changed.
#[derive(Clone, Copy, Debug)]
pub struct EntrySpec {
    pub template: usize,
    pub id: IdSpec,
}

/// What happens to the template's `id`.
#[derive(Clone, Copy, Debug)]
pub enum IdSpec {
    Keep,
    Pool(usize),
    Remove,
    NotHex,
}

/// Which page's `totalCount` ends a listing.
///
/// The documentation of `atlas_network_peering::pagination` says "the `totalCount` of the first page" (and that
/// without `includeCount` "the listing ends on the other signals only"); the code takes the
/// latest non-negative `totalCount` that any page carries, asked for or not (the rule before the
/// fix). [`run`] checks the code's rule; [`run_with`] can check either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountRule {
    /// As documented and implemented: only the first page's count.
    FirstPage,
    /// The rule before the fix: the latest non-negative count of any page. Used by the fuzz
    /// target (`FUZZ_PAGING_COUNT=any`), not by the property tests.
    #[allow(dead_code)]
    AnyPage,
}

/// What a stream yielded, or what the model says it must yield.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// A page (`Pages`) or an entry (`Items`), as JSON.
    Yielded(Value),
    /// The repeated-page error.
    Repeated,
    /// An error of an answer: its status, `None` for a body that does not decode.
    Failed(Option<u16>),
    /// `Error::InvalidArgument`, with nothing sent.
    Refused,
    /// Any other error, described.
    Other(String),
    /// The stream went on past every bound the model allows.
    Overrun,
}

/// One request the server received: path and query parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Request {
    path: String,
    query: BTreeMap<String, String>,
}

#[derive(Default)]
struct ServerState {
    replies: Vec<(u16, Vec<u8>)>,
    log: Vec<Request>,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: atlas_network_peering::Client,
    state: Arc<Mutex<ServerState>>,
    /// Fixture entries: containers, then peering connections.
    templates: Vec<Value>,
    /// One scenario at a time (tests run on several threads).
    serial: Mutex<()>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let state = Arc::new(Mutex::new(ServerState::default()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        let config = atlas_network_peering::Config::new()
            .with_base_url(&base_url)
            .expect("local base URL")
            .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none())
            .with_timeout(std::time::Duration::from_secs(20));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        // reqwest wants a runtime around when the client is built.
        let client = {
            let _guard = runtime.enter();
            atlas_network_peering::Client::from_config(config).expect("client")
        };
        Harness {
            runtime,
            client,
            state,
            templates: templates(),
            serial: Mutex::new(()),
        }
    })
}

/// The entries of the fixtures' list pages: containers first, then peering connections.
fn templates() -> Vec<Value> {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut out = Vec::new();
    for folders in [
        &["list_all_containers", "list_containers"][..],
        &["list_peers"][..],
    ] {
        let mut entries = Vec::new();
        for folder in folders {
            let mut files: Vec<_> = std::fs::read_dir(fixtures.join(folder))
                .expect("fixtures folder")
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).expect("fixture");
                let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
                let results = fixture.pointer("/response/body/results");
                for entry in results.and_then(Value::as_array).into_iter().flatten() {
                    if !entries.contains(entry) {
                        entries.push(entry.clone());
                    }
                }
            }
        }
        out.extend(entries);
    }
    assert!(out.len() > 4, "fixtures hold list pages");
    out
}

/// Answers the requests of one connection (HTTP/1.1, keep-alive, GET only).
fn serve(stream: TcpStream, state: &Mutex<ServerState>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let target = request_line.split(' ').nth(1).unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: BTreeMap<String, String> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let (status, body) = {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let page_num = query.get("pageNum").and_then(|n| n.parse::<usize>().ok());
            let reply = match page_num {
                Some(n) if n >= 1 && !state.replies.is_empty() => {
                    state.replies[(n - 1) % state.replies.len()].clone()
                }
                _ => (400, b"no usable pageNum".to_vec()),
            };
            state.log.push(Request {
                path: path.to_owned(),
                query,
            });
            reply
        };
        // One write: a head and a body sent apart can meet Nagle's algorithm and a delayed
        // ACK, which costs 40 ms a request.
        let mut response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}

/// The body of a page reply.
fn render(page: &PageSpec, templates: &[Value]) -> Vec<u8> {
    let mut body = serde_json::Map::new();
    match &page.links {
        LinksSpec::Absent => {}
        LinksSpec::Null => {
            body.insert("links".into(), Value::Null);
        }
        LinksSpec::List(links) => {
            let links = links
                .iter()
                .map(|l| {
                    let mut link = serde_json::Map::new();
                    if let Some(r) = l.rel {
                        link.insert("rel".into(), RELS[r % RELS.len()].into());
                    }
                    if let Some(h) = l.href {
                        link.insert("href".into(), HREFS[h % HREFS.len()].into());
                    }
                    Value::Object(link)
                })
                .collect();
            body.insert("links".into(), Value::Array(links));
        }
    }
    let results = page
        .entries
        .iter()
        .map(|e| {
            let mut entry = templates[e.template % templates.len()].clone();
            if let Some(object) = entry.as_object_mut() {
                match e.id {
                    IdSpec::Keep => {}
                    IdSpec::Pool(i) => {
                        object.insert("id".into(), ID_POOL[i % ID_POOL.len()].into());
                    }
                    IdSpec::Remove => {
                        object.remove("id");
                    }
                    IdSpec::NotHex => {
                        object.insert("id".into(), "not-an-object-id".into());
                    }
                }
            }
            entry
        })
        .collect();
    body.insert("results".into(), Value::Array(results));
    if let Some(count) = page.total_count {
        body.insert("totalCount".into(), count.into());
    }
    serde_json::to_vec(&body).expect("a page encodes")
}

/// A decoded page, as the model needs to see it.
struct Seen {
    json: Value,
    entries: Vec<Value>,
    /// Per entry: its id, or its whole JSON.
    keys: Vec<(bool, String)>,
    links: Vec<(Option<String>, Option<String>)>,
    total_count: Option<i32>,
}

fn seen<P: Serialize>(
    page: &P,
    results: Vec<(Option<String>, Value)>,
    links: &[atlas_network_peering::types::Link],
    total_count: Option<i32>,
) -> Seen {
    Seen {
        json: serde_json::to_value(page).expect("a page encodes"),
        keys: results
            .iter()
            .map(|(id, v)| match id {
                Some(id) => (true, id.clone()),
                None => (false, v.to_string()),
            })
            .collect(),
        entries: results.into_iter().map(|(_, v)| v).collect(),
        links: links
            .iter()
            .map(|l| (l.rel.clone(), l.href.clone()))
            .collect(),
        total_count,
    }
}

fn decode(listing: Listing, body: &[u8]) -> Option<Seen> {
    let entry = |v: &dyn erased::Entry| (v.id(), v.json());
    if listing == Listing::Peers {
        let page: PeerPage = serde_json::from_slice(body).ok()?;
        let results = page.results.iter().map(|p| entry(p)).collect();
        Some(seen(
            &page,
            results,
            page.links.as_deref().unwrap_or_default(),
            page.total_count,
        ))
    } else {
        let page: ContainerPage = serde_json::from_slice(body).ok()?;
        let results = page.results.iter().map(|c| entry(c)).collect();
        Some(seen(
            &page,
            results,
            page.links.as_deref().unwrap_or_default(),
            page.total_count,
        ))
    }
}

mod erased {
    /// What the model reads of an entry, for containers and peering connections alike.
    pub trait Entry {
        fn id(&self) -> Option<String>;
        fn json(&self) -> serde_json::Value;
    }
    impl Entry for atlas_network_peering::models::Container {
        fn id(&self) -> Option<String> {
            atlas_network_peering::models::Container::id(self).map(str::to_owned)
        }
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("an entry encodes")
        }
    }
    impl Entry for atlas_network_peering::models::Peer {
        fn id(&self) -> Option<String> {
            atlas_network_peering::models::Peer::id(self).map(str::to_owned)
        }
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("an entry encodes")
        }
    }
}

fn rel_is(rel: &Option<String>, name: &str) -> bool {
    rel.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(name))
}

fn path_of(listing: Listing, group_id: &str) -> String {
    let tail = match listing {
        Listing::AllContainers => "containers/all",
        Listing::Containers => "containers",
        Listing::Peers => "peers",
    };
    format!("/api/atlas/v1.0/groups/{group_id}/{tail}")
}

/// What the documentation says the stream yields and which requests it sends.
fn model(
    s: &Scenario,
    replies: &[(u16, Vec<u8>)],
    count: CountRule,
) -> (Vec<Outcome>, Vec<Request>, bool) {
    let refused = s.bad_group_id
        || !(1..=atlas_network_peering::pagination::MAX_ITEMS_PER_PAGE).contains(&s.items_per_page)
        || (s.listing == Listing::AllContainers && s.provider.is_some());
    if refused {
        return (vec![Outcome::Refused], Vec::new(), false);
    }
    let mut outcomes = Vec::new();
    let mut requests = Vec::new();
    // The previous page's `self` href and entry keys.
    type Seen = (Option<String>, Vec<(bool, String)>);
    let mut previous: Option<Seen> = None;
    let mut truncated = false;
    let mut seen_items = 0u64;
    let mut total: Option<u64> = None;
    for page_num in 1usize.. {
        if page_num > 2 * replies.len() + 2 {
            truncated = true;
            break;
        }
        let mut query = BTreeMap::new();
        query.insert("pageNum".to_owned(), page_num.to_string());
        query.insert("itemsPerPage".to_owned(), s.items_per_page.to_string());
        query.insert(
            "includeCount".to_owned(),
            (s.include_count && page_num == 1).to_string(),
        );
        if let Some(provider) = &s.provider {
            query.insert("providerName".to_owned(), provider.to_string());
        }
        requests.push(Request {
            path: path_of(s.listing, GROUP_ID),
            query,
        });
        let (status, body) = &replies[(page_num - 1) % replies.len()];
        if *status != 200 {
            outcomes.push(Outcome::Failed(Some(*status)));
            break;
        }
        let Some(page) = decode(s.listing, body) else {
            outcomes.push(Outcome::Failed(None));
            break;
        };
        // A repeat of the page just before: same `self` href (of the first `self` link), or
        // same entry keys.
        let self_href = page
            .links
            .iter()
            .find(|(rel, _)| rel_is(rel, "self"))
            .and_then(|(_, href)| href.clone());
        if !page.entries.is_empty()
            && let Some((previous_href, previous_keys)) = &previous
            && ((self_href.is_some() && self_href == *previous_href) || page.keys == *previous_keys)
        {
            outcomes.push(Outcome::Repeated);
            break;
        }
        previous = Some((self_href, page.keys.clone()));
        let len = page.entries.len();
        if s.items {
            outcomes.extend(page.entries.into_iter().map(Outcome::Yielded));
        } else {
            outcomes.push(Outcome::Yielded(page.json));
        }
        seen_items += len as u64;
        let page_count = page.total_count.and_then(|c| u64::try_from(c).ok());
        match count {
            CountRule::FirstPage if page_num == 1 => total = page_count,
            CountRule::FirstPage => {}
            CountRule::AnyPage => total = page_count.or(total),
        }
        let no_next =
            !page.links.is_empty() && !page.links.iter().any(|(rel, _)| rel_is(rel, "next"));
        let last = len == 0
            || len < s.items_per_page as usize
            || no_next
            || total.is_some_and(|t| seen_items >= t);
        if last {
            break;
        }
    }
    (outcomes, requests, truncated)
}

fn classify(error: &atlas_network_peering::Error) -> Outcome {
    match error {
        atlas_network_peering::Error::RepeatedPage { .. } => Outcome::Repeated,
        atlas_network_peering::Error::InvalidArgument(_) => Outcome::Refused,
        atlas_network_peering::Error::Decode { .. } => Outcome::Failed(None),
        atlas_network_peering::Error::Api(_)
        | atlas_network_peering::Error::UnexpectedStatus { .. } => {
            Outcome::Failed(error.status().map(|s| s.as_u16()))
        }
        other => Outcome::Other(other.to_string()),
    }
}

/// The stream's outcomes, at most `limit` (an `Overrun` marks a stream still going past
/// `exact` + 2 outcomes; a stream read `exact` outcomes far stops there).
async fn collect<S, T>(mut stream: S, (exact, limit): (usize, usize)) -> Vec<Outcome>
where
    S: Stream<Item = Result<T, atlas_network_peering::Error>> + Unpin,
    T: Serialize,
{
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(match item {
            Ok(value) => Outcome::Yielded(serde_json::to_value(value).expect("encodes")),
            Err(error) => classify(&error),
        });
        if out.len() >= limit {
            if limit > exact {
                out.push(Outcome::Overrun);
            }
            return out;
        }
    }
    // Fused: once ended, it stays ended.
    if stream.next().await.is_some() {
        out.push(Outcome::Other("an item after the end".into()));
    }
    out
}

async fn walk(
    client: &atlas_network_peering::Client,
    s: &Scenario,
    limit: (usize, usize),
) -> Vec<Outcome> {
    let group_id = if s.bad_group_id { "6F1C2A9E" } else { GROUP_ID };
    let mut paging = Paging::new()
        .items_per_page(s.items_per_page)
        .include_count(s.include_count);
    if let Some(provider) = &s.provider {
        paging = paging.provider(provider.clone());
    }
    match (s.listing, s.items) {
        (Listing::AllContainers, false) => {
            collect(client.all_containers_pages(group_id, paging), limit).await
        }
        (Listing::AllContainers, true) => {
            collect(client.all_containers(group_id, paging), limit).await
        }
        (Listing::Containers, false) => {
            collect(client.containers_pages(group_id, paging), limit).await
        }
        (Listing::Containers, true) => collect(client.containers(group_id, paging), limit).await,
        (Listing::Peers, false) => collect(client.peers_pages(group_id, paging), limit).await,
        (Listing::Peers, true) => collect(client.peers(group_id, paging), limit).await,
    }
}

/// Runs one scenario and panics when the stream or its requests differ from the model, with
/// the count rule the code follows ([`CountRule::FirstPage`]).
pub fn run(s: &Scenario) {
    run_with(s, CountRule::FirstPage);
}

/// Runs one scenario and panics when the stream or its requests differ from the model.
pub fn run_with(s: &Scenario, count: CountRule) {
    let h = harness();
    let _serial = h.serial.lock().unwrap_or_else(PoisonError::into_inner);
    let mut replies: Vec<(u16, Vec<u8>)> = s
        .replies
        .iter()
        .map(|r| match r {
            Reply::Page(page) => (200, render(page, &h.templates)),
            Reply::Status(status, body) => (*status, body.clone()),
            Reply::Body(body) => (200, body.clone()),
        })
        .collect();
    if replies.is_empty() {
        replies.push((200, br#"{"results":[]}"#.to_vec()));
    }
    {
        let mut state = h.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.replies = replies.clone();
        state.log.clear();
    }
    let (expected, expected_requests, truncated) = model(s, &replies, count);
    // A listing the model cut short is read exactly that far; any other a little further, to
    // catch a stream that does not end.
    let limit = if truncated {
        (expected.len(), expected.len())
    } else {
        (expected.len(), expected.len() + 3)
    };
    let actual = h.runtime.block_on(walk(&h.client, s, limit));
    let requests = std::mem::take(&mut h.state.lock().unwrap_or_else(PoisonError::into_inner).log);
    if actual != expected || requests != expected_requests {
        let bodies: Vec<String> = replies
            .iter()
            .map(|(status, body)| format!("{status} {}", String::from_utf8_lossy(body)))
            .collect();
        panic!(
            "the stream differs from the documented paging rules\n\
             scenario: {s:#?}\nreplies: {bodies:#?}\n\
             expected: {expected:#?}\nactual: {actual:#?}\n\
             expected requests: {expected_requests:#?}\nrequests: {requests:#?}"
        );
    }
}
