#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod auth;
mod control;
mod http;
mod model;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};

pub use model::{Timings, Verdict};

use crate::http::lock;

/// What the simulator does to one coming request instead of answering it normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `503 Service Unavailable` with an Atlas error body.
    Unavailable,
    /// The connection is reset (`SO_LINGER` 0) without an answer.
    Reset,
    /// The answer comes after this long (on tokio's clock).
    Slow(Duration),
}

/// The simulator's clock: virtual time since the start. It reads tokio's clock, so under a
/// paused test runtime (`#[tokio::test(start_paused = true)]`) it moves as that clock does:
/// `scale` virtual seconds per second of tokio's clock, plus what [`Simulator::advance`] added.
#[derive(Debug)]
struct Clock {
    started: tokio::time::Instant,
    scale: f64,
    offset: Mutex<Duration>,
}

impl Clock {
    fn now(&self) -> Duration {
        let running = self.started.elapsed().as_secs_f64() * self.scale;
        let running = Duration::try_from_secs_f64(running).unwrap_or(Duration::MAX);
        lock(&self.offset).saturating_add(running)
    }
}

/// What the server tasks share with the handle.
#[derive(Debug)]
struct Shared {
    world: Mutex<model::World>,
    keys: Mutex<auth::Keys>,
    clock: Clock,
    /// Faults to play, each with how many requests it still takes.
    faults: Mutex<VecDeque<(Fault, usize)>>,
    rate_limit: Mutex<Option<http::RateLimit>>,
    requests: AtomicU64,
    /// `http://127.0.0.1:<port>`: the root of the links the simulator sends.
    base_url: String,
    /// The project created at the start (kept by a reset).
    project_id: String,
    /// How long a request's head and body may take to arrive.
    request_timeout: Duration,
}

impl Shared {
    fn decide(&self, peer_id: &str, verdict: Verdict) -> Result<&'static str, model::ApiError> {
        let now = self.clock.now();
        lock(&self.world).decide(peer_id, verdict, now)
    }

    fn fail_deletion(
        &self,
        peer_id: &str,
        reason: String,
    ) -> Result<&'static str, model::ApiError> {
        let now = self.clock.now();
        lock(&self.world).fail_deletion(peer_id, reason, now)
    }

    fn queue_fault(&self, fault: Fault, count: usize) {
        if count > 0 {
            lock(&self.faults).push_back((fault, count));
        }
    }

    /// The fault the next request gets, if any.
    fn next_fault(&self) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let (fault, left) = faults.front_mut()?;
        let fault = fault.clone();
        *left -= 1;
        if *left == 0 {
            faults.pop_front();
        }
        Some(fault)
    }

    fn set_rate_limit(&self, limit: Option<(usize, Duration)>) {
        *lock(&self.rate_limit) = limit.map(|(limit, window)| http::RateLimit {
            limit,
            window,
            hits: VecDeque::new(),
        });
    }

    fn reset(&self) {
        lock(&self.world).reset(&self.project_id);
        lock(&self.faults).clear();
        *lock(&self.rate_limit) = None;
    }
}

/// `n` random hexadecimal characters (from the operating system; if it has none, from the
/// standard library's randomly seeded hasher).
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n.div_ceil(2)];
    if getrandom::fill(&mut bytes).is_err() {
        use std::hash::{BuildHasher, Hasher};
        for (i, b) in bytes.iter_mut().enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            *b = h.finish() as u8;
        }
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex[..n].to_owned()
}

/// How to start a [`Simulator`].
#[derive(Clone, Debug)]
pub struct Builder {
    port: u16,
    time_scale: f64,
    timings: Timings,
    nonce_lifetime: Duration,
    token_lifetime: Duration,
    request_timeout: Duration,
    max_connections: usize,
    max_peers: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            port: 0,
            time_scale: 1.0,
            timings: Timings::default(),
            nonce_lifetime: Duration::from_secs(300),
            token_lifetime: Duration::from_secs(3600),
            // Not a round number: under a paused clock, a test that sleeps a round number of
            // seconds between requests never has its pooled connection closed at the very
            // instant it reuses it.
            request_timeout: Duration::from_secs(127),
            max_connections: 256,
            max_peers: 125,
        }
    }
}

impl Builder {
    /// The port on 127.0.0.1 (default 0: any free port).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How fast the simulator's clock runs: `scale` virtual seconds per second of tokio's
    /// clock (default 1; a value that is not a positive number is ignored). Under a paused
    /// tokio clock, virtual time moves only as the paused clock does.
    #[must_use]
    pub fn time_scale(mut self, scale: f64) -> Self {
        if scale.is_finite() && scale > 0.0 {
            self.time_scale = scale;
        }
        self
    }

    /// How long each automatic step of a peering takes, and whether the customer accepts
    /// pending peerings by themselves ([`Timings::auto_accept`]).
    #[must_use]
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// How long a Digest nonce stays valid on the simulator's clock (default 5 min); an older
    /// one is answered `401` with `stale=true`.
    #[must_use]
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// How long a service-account token is valid on the simulator's clock (default 1 h).
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// How long (on tokio's clock) a request's head, and then its body, may take to arrive,
    /// and how long an idle keep-alive connection stays open (default 127 s); then the
    /// connection is closed.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many connections are served at once (default 256); more wait to be accepted.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How many peerings one container may have; one more is `409 PEER_MAXIMUM_REACHED`
    /// (default 125, the most AWS allows a VPC: Atlas does not publish its own limit).
    #[must_use]
    pub fn max_peers(mut self, max: usize) -> Self {
        self.max_peers = max;
        self
    }

    /// Starts the simulator on 127.0.0.1, on the current tokio runtime, with one project.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let address = listener.local_addr()?;
        let seed = random_hex(32);
        let mut world = model::World::new(
            u64::from_str_radix(&seed[..16], 16).unwrap_or(1),
            self.timings,
            self.max_peers,
        );
        let project_id = world.add_project();
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            keys: Mutex::new(auth::Keys::new(
                &seed,
                self.nonce_lifetime,
                self.token_lifetime,
            )),
            clock: Clock {
                started: tokio::time::Instant::now(),
                scale: self.time_scale,
                offset: Mutex::new(Duration::ZERO),
            },
            faults: Mutex::new(VecDeque::new()),
            rate_limit: Mutex::new(None),
            requests: AtomicU64::new(0),
            base_url: format!("http://{address}"),
            project_id,
            request_timeout: self.request_timeout,
        });
        let server = tokio::spawn(accept(listener, Arc::clone(&shared), self.max_connections));
        Ok(Simulator { shared, server })
    }
}

/// Accepts connections until the simulator is dropped, at most `max` at a time; each is
/// served on its own task. An accept error (out of file descriptors, ...) is reported and
/// retried after a pause rather than at once.
async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>, max: usize) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("atlas-network-peering-sim: accept failed: {e}; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A connection the simulator closes is reset (RST), so a `Fault::Reset` reaches the
        // client as one; answers leave at once (no Nagle delay between pipelined answers).
        let _ = stream.set_zero_linger();
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let timeout = shared.request_timeout;
            let service = hyper::service::service_fn(move |request| {
                http::serve(Arc::clone(&shared), remote, request)
            });
            // The header timeout also runs while a keep-alive connection waits for its next
            // request, so an idle connection closes after it too.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
        // Reap the finished ones, so a long-running simulator does not keep them.
        while connections.try_join_next().is_some() {}
    }
}

/// A running simulator; dropping it stops the server and every connection.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Simulator {
    /// Starts a simulator with the defaults on a free port: see [`Builder`].
    pub async fn start() -> std::io::Result<Self> {
        Builder::default().start().await
    }

    /// A simulator to configure before it starts.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `http://127.0.0.1:<port>`: the base URL a client uses (`MONGODB_ATLAS_BASE_URL`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The id of the project the simulator created.
    pub fn project_id(&self) -> &str {
        &self.shared.project_id
    }

    /// Another, empty project; its id.
    pub fn add_project(&self) -> String {
        lock(&self.shared.world).add_project()
    }

    /// The API key's public half (the Digest username).
    pub fn public_key(&self) -> String {
        lock(&self.shared.keys).public_key.clone()
    }

    /// The API key's private half (the Digest password).
    pub fn private_key(&self) -> String {
        lock(&self.shared.keys).private_key.clone()
    }

    /// The service account's client id.
    pub fn client_id(&self) -> String {
        lock(&self.shared.keys).client_id.clone()
    }

    /// The service account's client secret.
    pub fn client_secret(&self) -> String {
        lock(&self.shared.keys).client_secret.clone()
    }

    /// The simulator's clock: virtual time since it started.
    pub fn now(&self) -> Duration {
        self.shared.clock.now()
    }

    /// Moves the clock forward by `by` on top of tokio's clock: due steps of every peering
    /// happen (a peering requested becomes pending, a deletion ends, ...).
    pub fn advance(&self, by: Duration) {
        let mut offset = lock(&self.shared.clock.offset);
        *offset = offset.saturating_add(by);
    }

    /// What the customer does with a pending peering in their cloud ([`Verdict::Accept`]
    /// moves it on; `Reject` and `Fail` fail it with the provider's error). `peer_id` is
    /// Atlas's id of the peering or, for AWS, its `connectionId` (`pcx-...`). `false` when
    /// there is no such peering, it is not pending and the verdict is `Accept`, it is being
    /// deleted, or an AWS error state is not one of AWS's.
    pub fn decide(&self, peer_id: &str, verdict: Verdict) -> bool {
        self.shared.decide(peer_id, verdict).is_ok()
    }

    /// Accepts a pending peering, as the customer would in their cloud: by Atlas's id of the
    /// peering or by its AWS `connectionId` (`pcx-...`).
    pub fn accept_peer(&self, peer_id: &str) -> bool {
        self.decide(peer_id, Verdict::Accept)
    }

    /// The deletion of a peering fails with the provider's error (`reason`, as for
    /// [`Verdict::Fail`]): Azure `DELETION_FAILED`, AWS and GCP `FAILED`. `false` when there is
    /// no such peering being deleted.
    pub fn fail_deletion(&self, peer_id: &str, reason: &str) -> bool {
        self.shared
            .fail_deletion(peer_id, reason.to_owned())
            .is_ok()
    }

    /// The status of a peering as Atlas spells it (`PENDING_ACCEPTANCE`, ...), at the
    /// simulator's clock; `None` when there is none (never was, or deleted).
    pub fn peer_status(&self, peer_id: &str) -> Option<&'static str> {
        let now = self.now();
        lock(&self.shared.world).peer_status(peer_id, now)
    }

    /// Marks a container provisioned, as the first cluster deployed in it would. `false`
    /// when there is no such container.
    pub fn provision_container(&self, container_id: &str) -> bool {
        lock(&self.shared.world).provision(container_id).is_some()
    }

    /// The next `count` requests get `fault` instead of their answer.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        self.shared.queue_fault(fault, count);
    }

    /// At most `limit` requests in every `window` (on tokio's clock); the rest get `429
    /// RATE_LIMITED` with `Retry-After`. `None` lifts the limit.
    pub fn set_rate_limit(&self, limit: Option<(usize, Duration)>) {
        self.shared.set_rate_limit(limit);
    }

    /// Forgets every container, peering and project but the first (left empty), the faults
    /// and the rate limit. Credentials, ids already issued and the clock stay.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// How many requests the simulator has received.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// How many Digest nonces and service-account tokens the simulator remembers: only the
    /// nonces that signed a request and the tokens it issued, until they expire (a `401`
    /// remembers nothing).
    pub fn remembered_credentials(&self) -> (usize, usize) {
        lock(&self.shared.keys).stored()
    }

    /// The environment a client reads (`MONGODB_ATLAS_BASE_URL`, the API key, the
    /// project id as `MONGODB_ATLAS_GROUP_ID`), one `NAME=value` a line. A service account's
    /// credentials are [`client_id`](Self::client_id) and
    /// [`client_secret`](Self::client_secret).
    pub fn env(&self) -> String {
        format!(
            "MONGODB_ATLAS_BASE_URL={}\nMONGODB_ATLAS_PUBLIC_API_KEY={}\nMONGODB_ATLAS_PRIVATE_API_KEY={}\nMONGODB_ATLAS_GROUP_ID={}\n",
            self.base_url(),
            self.public_key(),
            self.private_key(),
            self.project_id()
        )
    }
}
