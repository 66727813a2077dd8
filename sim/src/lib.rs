#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod auth;
mod http;
mod model;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;

pub use model::{Timings, Verdict};

use crate::http::lock;

/// What the simulator does to one coming request instead of answering it normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `503 Service Unavailable` with an Atlas error body.
    Unavailable,
    /// The connection is reset (`SO_LINGER` 0) without an answer.
    Reset,
    /// The answer comes after this long (real time).
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
        *lock(&self.offset) + self.started.elapsed().mul_f64(self.scale)
    }
}

/// What the server tasks share with the handle.
#[derive(Debug)]
struct Shared {
    world: Mutex<model::World>,
    keys: Mutex<auth::Keys>,
    clock: Clock,
    faults: Mutex<VecDeque<Fault>>,
    rate_limit: Mutex<Option<http::RateLimit>>,
    requests: AtomicU64,
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
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            port: 0,
            time_scale: 1.0,
            timings: Timings::default(),
            nonce_lifetime: Duration::from_secs(300),
            token_lifetime: Duration::from_secs(3600),
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

    /// Starts the simulator on 127.0.0.1, on the current tokio runtime, with one project.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let address = listener.local_addr()?;
        let seed = random_hex(32);
        let mut world = model::World::new(
            u64::from_str_radix(&seed[..16], 16).unwrap_or(1),
            self.timings,
        );
        let project_id = world.new_id();
        world
            .projects
            .insert(project_id.clone(), model::Project::default());
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
        });
        let server = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Simulator {
            base_url: format!("http://{address}"),
            project_id,
            shared,
            server,
        })
    }
}

/// Accepts connections until the simulator is dropped; each is served on its own task.
async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // A connection the simulator closes is reset (RST), so a `Fault::Reset` reaches the
        // client as one.
        let _ = stream.set_zero_linger();
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                http::serve(Arc::clone(&shared), request)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap the finished ones, so a long-running simulator does not keep them.
        while connections.try_join_next().is_some() {}
    }
}

/// A running simulator; dropping it stops the server and every connection.
#[derive(Debug)]
pub struct Simulator {
    base_url: String,
    project_id: String,
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
        &self.base_url
    }

    /// The id of the project the simulator created.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// Another, empty project; its id.
    pub fn add_project(&self) -> String {
        let mut world = lock(&self.shared.world);
        let id = world.new_id();
        world.projects.insert(id.clone(), model::Project::default());
        id
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
        *lock(&self.shared.clock.offset) += by;
    }

    /// What the customer does with a pending peering in their cloud ([`Verdict::Accept`]
    /// moves it on; `Reject` and `Fail` fail it with the provider's error). `peer_id` is
    /// Atlas's id of the peering or, for AWS, its `connectionId` (`pcx-...`). `false` when
    /// there is no such peering, or it is not pending and the verdict is `Accept`.
    pub fn decide(&self, peer_id: &str, verdict: Verdict) -> bool {
        let now = self.now();
        lock(&self.shared.world)
            .decide(peer_id, verdict, now)
            .is_some()
    }

    /// Accepts a pending peering, as the customer would in their cloud: by Atlas's id of the
    /// peering or by its AWS `connectionId` (`pcx-...`).
    pub fn accept_peer(&self, peer_id: &str) -> bool {
        self.decide(peer_id, Verdict::Accept)
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
        lock(&self.shared.faults).extend(std::iter::repeat_n(fault, count));
    }

    /// At most `limit` requests in every `window` (real time); the rest get `429
    /// RATE_LIMITED` with `Retry-After`. `None` lifts the limit.
    pub fn set_rate_limit(&self, limit: Option<(usize, Duration)>) {
        *lock(&self.shared.rate_limit) = limit.map(|(limit, window)| http::RateLimit {
            limit,
            window,
            hits: VecDeque::new(),
        });
    }

    /// How many requests the simulator has received.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The environment a client reads (`MONGODB_ATLAS_BASE_URL`, the API key, the
    /// project id as `MONGODB_ATLAS_GROUP_ID`), one `NAME=value` a line. A service account's
    /// credentials are [`client_id`](Self::client_id) and
    /// [`client_secret`](Self::client_secret).
    pub fn env(&self) -> String {
        format!(
            "MONGODB_ATLAS_BASE_URL={}\nMONGODB_ATLAS_PUBLIC_API_KEY={}\nMONGODB_ATLAS_PRIVATE_API_KEY={}\nMONGODB_ATLAS_GROUP_ID={}\n",
            self.base_url,
            self.public_key(),
            self.private_key(),
            self.project_id
        )
    }
}
