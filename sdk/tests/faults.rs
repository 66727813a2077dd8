//! Fault injection: the sdk against a hand-written HTTP/1.1 server on 127.0.0.1 that misbehaves
//! at the byte level on command (storms of 503s, resets before and after the response head,
//! truncated and HTML bodies, endless and trickling bodies, answers slower than the timeout,
//! connections closed on accept).
//!
//! Every case checks the same invariants: the call returns a typed result and nothing panics, a
//! POST reaches the server at most once, and nothing waits past the configured deadlines. Every
//! case runs on a paused tokio clock (the server runs in the test's own runtime, so its answers
//! are there without real time passing): the backoff, `Retry-After` and every time limit take
//! virtual time only, and the server notes the virtual instant each connection arrives, so a
//! case sees each wait between attempts. `docs/faults.md` has the table of cases and outcomes.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::{Client, Config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

mod common;
use common::{GROUP, PEER, get_peer};

const MS: fn(u64) -> Duration = Duration::from_millis;
/// No call in this file may take longer than this; a call that does has hung.
const HANG: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The fault server
// ---------------------------------------------------------------------------------------------

/// What the server does with one connection.
#[derive(Clone, Debug)]
enum Step {
    /// Close the socket as soon as it is accepted, before reading anything.
    CloseOnAccept,
    /// Read the request, then reset the connection (`SO_LINGER` 0) without writing a byte.
    Reset,
    /// Read the request and answer `status` with these headers and this body (a correct
    /// `Content-Length`), then close.
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Read the request, write these bytes as they are, then close (FIN).
    Raw(Vec<u8>),
    /// Read the request, wait this long, then do the inner step.
    Delay(Duration, Box<Step>),
    /// Read the request, answer `status` with `Content-Length: len` and stream `len` bytes in
    /// chunks of one fixed buffer until done or until the client goes away.
    Stream { status: u16, len: u64 },
    /// Read the request, answer `status` with `Content-Length: len`, write `first` body bytes,
    /// then one more byte every `every`.
    Trickle {
        status: u16,
        len: usize,
        first: usize,
        every: Duration,
    },
}

/// What the server saw.
#[derive(Debug, Default)]
struct Log {
    /// Connections accepted.
    connections: AtomicUsize,
    /// When each connection was accepted.
    accepted_at: Mutex<Vec<tokio::time::Instant>>,
    /// Requests read in full, by method.
    requests: Mutex<HashMap<String, usize>>,
    /// Body bytes the server managed to write in `Step::Stream` / `Step::Trickle`.
    body_bytes_sent: AtomicU64,
    /// `Step::Stream`s that ended (finished, or the client went away).
    streams_ended: AtomicUsize,
}

/// A server on 127.0.0.1 that answers connection `n` (0-based) with `script(n)`. Dropping it
/// (or the end of the test's runtime) stops the accept loop and every connection task.
struct FaultServer {
    url: String,
    log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FaultServer {
    async fn start(script: impl Fn(usize) -> Step + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let log = Arc::new(Log::default());
        let accept = tokio::spawn({
            let log = log.clone();
            async move {
                // Owned by the accept task: aborting it drops the set, which aborts every
                // connection task.
                let mut connections = JoinSet::new();
                let mut n = 0;
                loop {
                    // An accept error ends the server; the client then sees refused connections.
                    let Ok((stream, _)) = listener.accept().await else {
                        break;
                    };
                    log.connections.fetch_add(1, Ordering::SeqCst);
                    log.accepted_at
                        .lock()
                        .unwrap()
                        .push(tokio::time::Instant::now());
                    let step = script(n);
                    n += 1;
                    connections.spawn(serve(stream, step, log.clone()));
                    while connections.try_join_next().is_some() {}
                }
            }
        });
        Self { url, log, accept }
    }

    /// The same step for every connection.
    async fn always(step: Step) -> Self {
        Self::start(move |_| step.clone()).await
    }

    /// `first` for the first `n` connections, `then` afterwards.
    async fn first_then(n: usize, first: Step, then: Step) -> Self {
        Self::start(move |i| if i < n { first.clone() } else { then.clone() }).await
    }

    fn requests(&self, method: &str) -> usize {
        let requests = self.log.requests.lock().unwrap();
        requests.get(method).copied().unwrap_or(0)
    }

    fn all_requests(&self) -> usize {
        self.log.requests.lock().unwrap().values().sum()
    }

    /// The waits between consecutive connections (each attempt opens one: the server closes
    /// every connection after its answer).
    fn waits(&self) -> Vec<Duration> {
        let at = self.log.accepted_at.lock().unwrap();
        at.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    /// Waits (5 s at most) until `n` streamed bodies have ended; returns the body bytes the
    /// server managed to write.
    async fn streamed_bytes_once_ended(&self, n: usize) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.log.streams_ended.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "the server is still streaming: the client kept the connection open"
            );
            tokio::time::sleep(MS(10)).await;
        }
        self.log.body_bytes_sent.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, step: Step, log: Arc<Log>) -> io::Result<()> {
    if let Step::CloseOnAccept = step {
        drop(stream);
        return Ok(());
    }
    let method = read_request(&mut stream).await?;
    *log.requests.lock().unwrap().entry(method).or_default() += 1;
    let step = match step {
        Step::Delay(wait, inner) => {
            tokio::time::sleep(wait).await;
            *inner
        }
        step => step,
    };
    match step {
        Step::CloseOnAccept | Step::Delay(..) => Ok(()),
        Step::Reset => {
            stream.set_zero_linger()?;
            drop(stream);
            Ok(())
        }
        Step::Respond {
            status,
            headers,
            body,
        } => {
            let mut out = head(status, body.len() as u64, &headers);
            out.extend_from_slice(&body);
            stream.write_all(&out).await?;
            stream.shutdown().await
        }
        Step::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        }
        Step::Stream { status, len } => {
            let result = stream_body(&mut stream, status, len, &log).await;
            log.streams_ended.fetch_add(1, Ordering::SeqCst);
            result
        }
        Step::Trickle {
            status,
            len,
            first,
            every,
        } => {
            let filler = vec![b' '; len];
            let mut out = head(status, len as u64, &[]);
            out.extend_from_slice(&filler[..first]);
            stream.write_all(&out).await?;
            log.body_bytes_sent
                .fetch_add(first as u64, Ordering::SeqCst);
            for byte in filler[first..].chunks(1) {
                tokio::time::sleep(every).await;
                stream.write_all(byte).await?;
                log.body_bytes_sent.fetch_add(1, Ordering::SeqCst);
            }
            stream.shutdown().await
        }
    }
}

/// Writes a head announcing `len` bytes, then the body from one fixed 64 KiB buffer, so the
/// test never holds the body in memory.
async fn stream_body(stream: &mut TcpStream, status: u16, len: u64, log: &Log) -> io::Result<()> {
    static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
    stream.write_all(&head(status, len, &[])).await?;
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK.len() as u64) as usize;
        stream.write_all(&CHUNK[..n]).await?;
        log.body_bytes_sent.fetch_add(n as u64, Ordering::SeqCst);
        left -= n as u64;
    }
    stream.shutdown().await
}

/// Reads one request (head and `Content-Length` body); returns its method.
async fn read_request(stream: &mut TcpStream) -> io::Result<String> {
    const MAX_HEAD: usize = 64 * 1024;
    const MAX_BODY: usize = 1024 * 1024;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("request head too long"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("head not UTF-8"))?;
    let method = head.split(' ').next().unwrap_or_default().to_owned();
    let body_len = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if body_len > MAX_BODY {
        return Err(bad("request body too long"));
    }
    let mut have = buf.len() - head_end;
    while have < body_len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
    }
    Ok(method)
}

/// A response head: status line, `Content-Length`, `Connection: close`, extra headers.
fn head(status: u16, content_length: u64, headers: &[(&'static str, String)]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {content_length}\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn respond(status: u16, headers: &[(&'static str, &str)], body: impl Into<Vec<u8>>) -> Step {
    Step::Respond {
        status,
        headers: headers
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect(),
        body: body.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

fn gcp_peer() -> serde_json::Value {
    json!({"id": PEER, "providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1",
           "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services",
           "status": "AVAILABLE", "errorMessage": null})
}

fn new_peer() -> atlas_network_peering::models::Peer {
    serde_json::from_value(
        json!({"providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1",
        "gcpProjectId": "orbital-ledger-204817", "networkName": "shared-services"}),
    )
    .unwrap()
}

/// A client for `url` with the default retry policy (four attempts, 200 ms base delay),
/// adjusted by `tweak`.
fn client(url: &str, tweak: impl FnOnce(Config) -> Config) -> Client {
    let config = Config::new().with_base_url(url).unwrap();
    Client::from_config(tweak(config)).unwrap()
}

/// Checks the waits the server saw between `n + 1` attempts that each took `attempt` (of the
/// paused clock): each is that time plus a backoff up to its ceiling, 200, 400, 800 ms (tokio's
/// timers round a deadline up to the next millisecond).
fn assert_backoff(server: &FaultServer, attempt: Duration, n: usize) {
    let waits = server.waits();
    assert_eq!(waits.len(), n, "{n} waits, {} attempts: {waits:?}", n + 1);
    for (i, wait) in waits.iter().enumerate() {
        let ceiling = MS(200) * 2u32.pow(i as u32);
        assert!(
            *wait >= attempt && *wait <= attempt + ceiling + MS(1),
            "wait {i}: {wait:?}, not {attempt:?} plus at most {ceiling:?}"
        );
    }
}

/// Runs `call` and returns its outcome and elapsed time (of the paused clock); fails the test if
/// it hangs.
async fn timed<T>(call: impl Future<Output = T>) -> (T, Duration) {
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(HANG, call)
        .await
        .expect("the call hung past every configured deadline");
    (outcome, started.elapsed())
}

async fn create_peer(
    client: &Client,
) -> Result<atlas_network_peering::models::Peer, atlas_network_peering::Error> {
    client
        .create_peer()
        .group_id(GROUP)
        .body(new_peer())
        .send()
        .await
}

async fn delete_peer(client: &Client) -> Result<(), atlas_network_peering::Error> {
    client
        .delete_peer()
        .group_id(GROUP)
        .peer_id(PEER)
        .send()
        .await
        .map(|_| ())
}

/// The `reqwest::Error` inside a `Transport` error; fails the test on any other variant.
fn transport(err: &atlas_network_peering::Error) -> &reqwest::Error {
    match err {
        atlas_network_peering::Error::Transport { source, .. } => source,
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases (numbered as in docs/faults.md)
// ---------------------------------------------------------------------------------------------

/// 1. A 503 storm without Retry-After: every attempt is made, with exponential backoff.
#[tokio::test(start_paused = true)]
async fn c01_503_storm_exhausts_the_attempts_with_backoff() {
    let server = FaultServer::always(respond(503, &[], "")).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, atlas_network_peering::Error::Api(_)),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        server.requests("GET"),
        RetryPolicy::DEFAULT_MAX_ATTEMPTS as usize
    );
    assert_backoff(&server, Duration::ZERO, 3);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 2. A 503 storm with `Retry-After: 2`: every wait is the 2 s asked for (longer than any
/// backoff), and the error gives the server's wait and the attempts.
#[tokio::test(start_paused = true)]
async fn c02_503_storm_honours_retry_after() {
    let server = FaultServer::always(respond(503, &[("retry-after", "2")], "busy")).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.raw_body(), Some("busy"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(
        err.to_string()
            .ends_with("(after 4 attempts over 6.0 s): busy"),
        "{err}"
    );
    assert_eq!(server.requests("GET"), 4);
    // Each wait is the 2 s asked for (tokio's timers round a deadline up to the millisecond).
    let waits = server.waits();
    assert_eq!(waits.len(), 3);
    for wait in &waits {
        assert!(
            *wait >= Duration::from_secs(2) && *wait <= Duration::from_millis(2001),
            "{waits:?}"
        );
    }
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed <= MS(6003),
        "{elapsed:?}"
    );
}

/// 3. One 429, then the answer: the call succeeds on the second attempt.
#[tokio::test(start_paused = true)]
async fn c03_429_then_200_succeeds() {
    let ok = respond(
        200,
        &[("content-type", "application/json")],
        gcp_peer().to_string(),
    );
    let server = FaultServer::first_then(1, respond(429, &[], ""), ok).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    let peer = result.unwrap();
    assert!(
        matches!(peer, atlas_network_peering::models::Peer::Gcp(_)),
        "{peer:?}"
    );
    assert_eq!(server.requests("GET"), 2);
    assert_backoff(&server, Duration::ZERO, 1);
}

/// 4. A 503 answering a POST: the POST is not sent again.
#[tokio::test(start_paused = true)]
async fn c04_503_for_a_post_is_not_retried() {
    let server = FaultServer::always(respond(503, &[("retry-after", "1")], "")).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(create_peer(&client)).await;
    let err = result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.requests("POST"), 1);
    assert_eq!(server.connections(), 1);
    assert!(server.waits().is_empty(), "one attempt");
}

/// 5a. Reset before the response head, every time, for a GET: retried, then Transport.
#[tokio::test(start_paused = true)]
async fn c05a_reset_before_the_head_retries_a_get_then_fails() {
    let server = FaultServer::always(Step::Reset).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let e = transport(&err);
    assert!(!e.is_connect() && !e.is_timeout(), "{e:?}");
    assert!(err.is_retryable());
    assert_eq!(server.requests("GET"), 4);
    assert_backoff(&server, Duration::ZERO, 3);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 5b. Reset before the head twice, then the answer: the GET succeeds on the third attempt.
#[tokio::test(start_paused = true)]
async fn c05b_reset_before_the_head_then_recovery_succeeds() {
    let ok = respond(
        200,
        &[("content-type", "application/json")],
        gcp_peer().to_string(),
    );
    let server = FaultServer::first_then(2, Step::Reset, ok).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    assert!(
        matches!(result, Ok(atlas_network_peering::models::Peer::Gcp(_))),
        "{result:?}"
    );
    assert_eq!(server.requests("GET"), 3);
    assert_backoff(&server, Duration::ZERO, 2);
}

/// 5c. Reset before the head after the server read a POST: sent exactly once.
#[tokio::test(start_paused = true)]
async fn c05c_reset_before_the_head_never_resends_a_post() {
    let server = FaultServer::always(Step::Reset).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(create_peer(&client)).await;
    let err = result.unwrap_err();
    transport(&err);
    assert_eq!(server.requests("POST"), 1);
    assert_eq!(server.connections(), 1);
    assert!(server.waits().is_empty(), "one attempt");
}

/// 6. The head announces 1000 bytes, 10 arrive, then the connection closes. The runtime reads
/// success bodies inside its retry loop, so a GET is retried like any broken exchange and ends
/// as Transport once the attempts are spent.
#[tokio::test(start_paused = true)]
async fn c06_close_after_the_head_is_retried_then_a_transport_error() {
    let mut bytes = head(200, 1000, &[("content-type", "application/json".into())]);
    bytes.extend_from_slice(br#"{"id": "65"#);
    let server = FaultServer::always(Step::Raw(bytes)).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let e = transport(&err);
    assert!(e.is_body() || e.is_decode(), "{e:?}");
    assert_eq!(server.requests("GET"), 4);
    assert_backoff(&server, Duration::ZERO, 3);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 6b. The same cut for an error status, on every attempt: the three first 503s are retried
/// without reading their bodies; the last one's body breaks off while being read, and the call
/// still ends as `Api` 503 with what arrived, marked truncated: the status is what matters.
#[tokio::test(start_paused = true)]
async fn c06b_error_head_then_close_keeps_the_status_after_retries() {
    let mut bytes = head(503, 1000, &[("content-type", "text/html".into())]);
    bytes.extend_from_slice(b"<html><bo");
    let server = FaultServer::always(Step::Raw(bytes)).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let failure = err
        .api_failure()
        .unwrap_or_else(|| panic!("expected Api, got {err:?}"));
    assert_eq!(failure.status().as_u16(), 503);
    assert_eq!(failure.raw_body(), "<html><bo");
    assert!(failure.is_truncated());
    assert_eq!(server.requests("GET"), 4);
    assert_backoff(&server, Duration::ZERO, 3);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 6c. A body that breaks after the head is a Transport error that names the request's URL,
/// like every other transport error (the runtime re-wraps success bodies to bound their size;
/// the URL must survive that).
#[tokio::test(start_paused = true)]
async fn c06c_a_broken_body_names_the_request_url() {
    let mut bytes = head(200, 1000, &[("content-type", "application/json".into())]);
    bytes.extend_from_slice(br#"{"id": "65"#);
    let server = FaultServer::always(Step::Raw(bytes)).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let url = transport(&err).url().map(|u| u.as_str().to_owned());
    assert_eq!(
        url,
        Some(format!(
            "{}/api/atlas/v1.0/groups/{GROUP}/peers/{PEER}",
            server.url
        )),
        "{err}"
    );
}

/// 7. A JSON body cut short, with the Content-Length of the cut text: Decode with a path.
#[tokio::test(start_paused = true)]
async fn c07_truncated_json_is_a_decode_error_with_a_path() {
    let full = gcp_peer().to_string();
    let cut = &full[..full.find("shared-services").unwrap() + "shared-".len()];
    let server =
        FaultServer::always(respond(200, &[("content-type", "application/json")], cut)).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let atlas_network_peering::Error::Decode { path, raw, message } = &err else {
        panic!("expected Error::Decode, got {err:?}")
    };
    assert_eq!(path, "/networkName", "{message}");
    assert_eq!(&raw[..], cut.as_bytes());
    assert!(message.contains("EOF"), "{message}");
    assert_eq!(server.requests("GET"), 1);
}

/// 8a. A proxy's HTML 502 for a GET: retried, then Api 502 with the raw HTML.
#[tokio::test(start_paused = true)]
async fn c08a_html_502_is_an_api_error_with_the_raw_page() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = FaultServer::always(respond(502, &[("content-type", "text/html")], page)).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, atlas_network_peering::Error::Api(_)),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(err.raw_body(), Some(page));
    assert!(err.error_code().is_none());
    assert_eq!(server.requests("GET"), 4);
    assert_backoff(&server, Duration::ZERO, 3);
}

/// 8b. An HTML page with status 200: Decode, not retried.
#[tokio::test(start_paused = true)]
async fn c08b_html_200_is_a_decode_error() {
    let page = "<html><body>Maintenance</body></html>";
    let server = FaultServer::always(respond(200, &[("content-type", "text/html")], page)).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let atlas_network_peering::Error::Decode { path, raw, .. } = &err else {
        panic!("expected Error::Decode, got {err:?}")
    };
    assert_eq!(path, "/");
    assert_eq!(&raw[..], page.as_bytes());
    assert_eq!(server.requests("GET"), 1);
    assert!(server.waits().is_empty(), "one attempt");
}

/// 9. A 100 MiB body against a 1 MiB limit: BodyTooLarge, and the client stops reading (the
/// server cannot write more than the limit plus what the two sockets' buffers hold).
#[tokio::test(start_paused = true)]
async fn c09_huge_body_is_body_too_large_and_reading_stops() {
    const LEN: u64 = 100 * 1024 * 1024;
    let server = FaultServer::always(Step::Stream {
        status: 200,
        len: LEN,
    })
    .await;
    let client = client(&server.url, |c| c.with_max_response_body(1024 * 1024));
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            atlas_network_peering::Error::BodyTooLarge { limit: 1048576 }
        ),
        "{err:?}"
    );
    assert_eq!(server.requests("GET"), 1);
    assert!(server.waits().is_empty(), "one attempt");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The server's writes fail once the client has dropped the connection.
    let sent = server.streamed_bytes_once_ended(1).await;
    assert!(sent < 32 * 1024 * 1024, "{sent} bytes went out");
}

/// 9b. A 100 MiB HTML 502 page: retried without reading, then Api 502 with the first MiB of
/// the page, marked truncated; reading stops there.
#[tokio::test(start_paused = true)]
async fn c09b_huge_error_page_is_truncated_and_reading_stops() {
    const LEN: u64 = 100 * 1024 * 1024;
    let server = FaultServer::always(Step::Stream {
        status: 502,
        len: LEN,
    })
    .await;
    let client = client(&server.url, |c| {
        c.with_retry_policy(RetryPolicy::default().with_max_attempts(2))
    });
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let failure = err.api_failure().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(failure.status().as_u16(), 502);
    assert!(failure.is_truncated());
    assert_eq!(
        failure.raw_body().len(),
        atlas_network_peering::error::MAX_ERROR_BODY
    );
    assert_eq!(server.requests("GET"), 2);
    assert_backoff(&server, Duration::ZERO, 1);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let sent = server.streamed_bytes_once_ended(2).await;
    assert!(sent < 2 * 32 * 1024 * 1024, "{sent} bytes went out");
}

/// 10a. An answer slower than the per-attempt timeout: each attempt gives up at 300 ms, the GET
/// is retried once, and the whole call ends long before the server would have answered.
#[tokio::test(start_paused = true)]
async fn c10a_slow_answer_times_out_per_attempt() {
    let slow = Step::Delay(
        Duration::from_secs(5),
        Box::new(respond(200, &[], gcp_peer().to_string())),
    );
    let server = FaultServer::always(slow).await;
    let client = client(&server.url, |c| {
        c.with_timeout(MS(300))
            .with_retry_policy(RetryPolicy::default().with_max_attempts(2))
    });
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        matches!(
            err,
            atlas_network_peering::Error::Timeout {
                limit: atlas_network_peering::error::TimeLimit::Attempt(limit),
                ..
            } if limit == MS(300)
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("took longer than its timeout of 300ms"),
        "{err}"
    );
    assert_eq!(server.requests("GET"), 2);
    assert_backoff(&server, MS(300), 1);
    // A bound, not a benchmark: two 300 ms attempts, and nothing waited for the server.
    assert!(
        elapsed >= MS(600) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

/// 10b. The same slow answer for a POST: one attempt, Transport (timeout), never resent.
#[tokio::test(start_paused = true)]
async fn c10b_slow_answer_to_a_post_is_not_resent() {
    let slow = Step::Delay(
        Duration::from_secs(5),
        Box::new(respond(201, &[], gcp_peer().to_string())),
    );
    let server = FaultServer::always(slow).await;
    let client = client(&server.url, |c| {
        c.with_timeout(MS(300))
            .with_retry_policy(RetryPolicy::default().with_max_attempts(2))
    });
    let (result, elapsed) = timed(create_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.requests("POST"), 1);
    assert!(server.waits().is_empty(), "one attempt");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 11. Slow loris: the head and 10 bytes at once, then one byte a second; the read timeout
/// (200 ms) ends each attempt with a Transport timeout whose message names the limit.
#[tokio::test(start_paused = true)]
async fn c11_trickling_body_hits_the_read_timeout() {
    let server = FaultServer::always(Step::Trickle {
        status: 200,
        len: 1000,
        first: 10,
        every: Duration::from_secs(1),
    })
    .await;
    let client = client(&server.url, |c| c.with_read_timeout(MS(200)));
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "timed out: nothing arrived for the read timeout of 200ms, 4 attempts over "
        ) && message.ends_with(&format!(
            " s (url {}/api/atlas/v1.0/groups/{GROUP}/peers/{PEER})",
            server.url
        )),
        "{message}"
    );
    // A stalled body is a timed-out attempt: the GET is retried, each attempt bounded by the
    // read timeout.
    assert_eq!(server.requests("GET"), 4);
    assert_backoff(&server, MS(200), 3);
    // Four read timeouts and three waits below 200, 400 and 800 ms.
    assert!(elapsed < MS(4 * 200 + 1400), "{elapsed:?}");
    assert!(server.log.body_bytes_sent.load(Ordering::SeqCst) < 80);
}

/// 11b. An error status whose body trickles: the status is retried, and the last attempt's body
/// is read only as long as the read timeout allows. The caller gets the status with the bytes
/// that arrived, marked truncated, instead of waiting for the whole body.
#[tokio::test(start_paused = true)]
async fn c11b_trickling_error_body_is_cut_at_the_read_timeout() {
    let server = FaultServer::always(Step::Trickle {
        status: 503,
        len: 1000,
        first: 10,
        every: Duration::from_secs(1),
    })
    .await;
    let client = client(&server.url, |c| {
        c.with_read_timeout(MS(200))
            .with_retry_policy(RetryPolicy::default().with_max_attempts(2))
    });
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    let failure = err.api_failure().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(failure.status().as_u16(), 503);
    assert!(failure.is_truncated());
    assert_eq!(failure.raw_body(), " ".repeat(10));
    assert_eq!(server.requests("GET"), 2);
    assert_backoff(&server, MS(200), 1);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

/// 12a. Every connection closed on accept, for a DELETE: retried, then Transport.
#[tokio::test(start_paused = true)]
async fn c12a_close_on_accept_retries_a_delete_then_fails() {
    let server = FaultServer::always(Step::CloseOnAccept).await;
    let client = client(&server.url, |c| c);
    let (result, elapsed) = timed(delete_peer(&client)).await;
    let err = result.unwrap_err();
    let e = transport(&err);
    assert!(!e.is_timeout(), "{e:?}");
    assert_eq!(server.connections(), 4);
    assert_eq!(server.all_requests(), 0);
    assert_backoff(&server, Duration::ZERO, 3);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 12b. Closed on accept, for a POST: the connection was made, so the request may have gone
/// out; one connection, no retry.
#[tokio::test(start_paused = true)]
async fn c12b_close_on_accept_never_resends_a_post() {
    let server = FaultServer::always(Step::CloseOnAccept).await;
    let client = client(&server.url, |c| c);
    let (result, _) = timed(create_peer(&client)).await;
    let err = result.unwrap_err();
    transport(&err);
    assert_eq!(server.connections(), 1);
    assert!(server.waits().is_empty(), "one attempt");
}

/// 13. Connection refused (nothing listens): nothing was sent, so even a POST is retried, and
/// the call ends as a connect error.
#[tokio::test(start_paused = true)]
async fn c13_connection_refused_retries_even_a_post() {
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = client(&url, |c| c);
    let (result, elapsed) = timed(create_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(transport(&err).is_connect(), "{err:?}");
    assert!(err.to_string().contains("(after 4 attempts over "), "{err}");
    assert_eq!(client.exchanges(), 4);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// 14. The time budget (`max_elapsed`) decides whether another attempt may start; the attempt
/// in flight runs to its own timeout. With a 400 ms timeout and a 650 ms budget: the first
/// attempt ends at ~400 ms, 400 + at most 200 ms of backoff fits, the second ends past 800 ms,
/// beyond the budget. The call ends within budget + one attempt timeout, and says so.
#[tokio::test(start_paused = true)]
async fn c14_the_time_budget_stops_further_attempts() {
    let slow = Step::Delay(
        Duration::from_secs(5),
        Box::new(respond(200, &[], gcp_peer().to_string())),
    );
    let server = FaultServer::always(slow).await;
    let (budget, timeout) = (MS(650), MS(400));
    let client = client(&server.url, |c| {
        c.with_timeout(timeout).with_retry_policy(
            RetryPolicy::default()
                .with_max_attempts(10)
                .with_max_elapsed(budget),
        )
    });
    let (result, elapsed) = timed(get_peer(&client)).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("2 attempts over "), "{err}");
    assert_eq!(server.requests("GET"), 2);
    assert_backoff(&server, MS(400), 1);
    assert!(elapsed < budget + timeout + MS(500), "{elapsed:?}");
}
