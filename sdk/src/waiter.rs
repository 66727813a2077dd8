#![deny(missing_docs)]
//! Waiters: poll a peering connection or container until it reaches a wanted state.
//!
//! [`WaiterExt`] adds three methods to [`Client`]:
//!
//! | method | done when | fails at once when |
//! |---|---|---|
//! | [`wait_peer_available`](WaiterExt::wait_peer_available) | the status is [`PeerStatus::Available`] | the connection failed ([`Peer::is_terminal_failure`]: `FAILED`, `DELETION_FAILED`, or an AWS `errorStateName` such as `REJECTED`, `EXPIRED`, `INVALID_ARGUMENT`), is being deleted, or the request fails (404 included) |
//! | [`wait_peer_deleted`](WaiterExt::wait_peer_deleted) | Atlas answers 404 for the connection | the status is `DELETION_FAILED`, or the request fails otherwise |
//! | [`wait_container_provisioned`](WaiterExt::wait_container_provisioned) | `provisioned` is `true` | the request fails (404 included) |
//!
//! Any other status, [`PeerStatus::WaitingForUser`] and unknown values included, means "not
//! yet": the waiter polls again. A connection waiting for the user comes up only once the
//! customer acts on their side (accepts the AWS peering request, creates the GCP peering); if
//! nobody does, the wait ends with [`WaitError::TimedOut`] and that status as the last seen.
//!
//! # Timing
//!
//! The first poll is sent at once. Between polls the waiter sleeps with exponential backoff:
//! [`initial_delay`](WaitOptions::with_initial_delay) (5 s), doubled after each wait up to
//! [`max_delay`](WaitOptions::with_max_delay) (60 s), without jitter. The wait ends with
//! [`WaitError::TimedOut`] once [`timeout`](WaitOptions::with_timeout) (30 min by default)
//! has passed since the first poll; the last wait is shortened so that one last poll happens
//! right at the deadline. Time is read from a [`Clock`] and waits go through a
//! [`Sleep`], both replaceable: [`SimulatedTime`] is both, for tests that take no real time.
//!
//! # Errors and progress
//!
//! Waiters return the crate's one [`Error`], so a create and the wait that follows it share
//! one `?`. A poll that fails with an error waiting will not cure (404, 401, a bad id, ...)
//! ends the wait with that error, as the call itself would. A wait that cannot succeed ends
//! with [`Error::Wait`] holding a [`WaitError`]: [`Failed`](WaitError::Failed), with the
//! provider's status and error detail, or [`TimedOut`](WaitError::TimedOut), with the last
//! state seen. A poll failing with a retryable error ([`Error::is_retryable`]: 429, 502, 503,
//! 504, timeouts, transport), after the client's own retries, does not end the wait: the
//! waiter keeps polling, and a timeout reports that error as `last_error`.
//!
//! A wait can last half an hour: [`WaitOptions::on_poll`] sees every poll as it happens, with
//! the state it saw and the time since the first poll, so that a tool can say
//! "PENDING_ACCEPTANCE for 4 min: accept the peering request in your AWS account".
//!
//! ```no_run
//! use std::time::Duration;
//! use atlas_network_peering::waiter::{WaitOptions, WaiterExt};
//!
//! # async fn run(client: atlas_network_peering::Client) -> Result<(), atlas_network_peering::Error> {
//! let options = WaitOptions::new()
//!     .with_timeout(Duration::from_secs(15 * 60))
//!     .on_poll(|poll| println!("{:?} after {:?}", poll.seen, poll.elapsed));
//! let peer = client
//!     .wait_peer_available("6f1c2a9e4b7d3e0a1c5f8b21", "65c1d2e3f4a5b6c7d8e9f0a1", options)
//!     .await?;
//! println!("up: {:?}", peer.id());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::models::{Container, Peer, PeerStatus};
use crate::types::ApiErrorCode;
use crate::{Client, Error};

// ---- Time ---------------------------------------------------------------------------------

/// Waits between polls. Replace it in tests ([`SimulatedTime`]).
pub trait Sleep: Send + Sync + fmt::Debug {
    /// Returns a future that completes once `d` has passed.
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// [`Sleep`] with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Tells the time to a waiter. Replace it in tests ([`SimulatedTime`]).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant. Must never go backwards.
    fn now(&self) -> Instant;
}

/// [`Clock`] with [`Instant::now`], the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock and a sleep for tests: sleeping completes at once and moves the clock forward by
/// the requested time. Hand the same `Arc` to [`WaitOptions::with_sleep`] and
/// [`WaitOptions::with_clock`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use atlas_network_peering::waiter::{Clock, SimulatedTime, Sleep};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let time = Arc::new(SimulatedTime::new());
/// let start = time.now();
/// time.sleep(Duration::from_secs(5)).await;
/// assert_eq!(time.now() - start, Duration::from_secs(5));
/// assert_eq!(time.slept(), [Duration::from_secs(5)]);
/// # }
/// ```
#[derive(Debug)]
pub struct SimulatedTime {
    start: Instant,
    state: Mutex<Simulated>,
}

#[derive(Debug, Default)]
struct Simulated {
    elapsed: Duration,
    slept: Vec<Duration>,
}

impl Default for SimulatedTime {
    fn default() -> Self {
        Self::new()
    }
}

impl SimulatedTime {
    /// The longest the simulated clock moves away from its start (100 years); longer sleeps
    /// are recorded as asked but move the clock only up to this.
    pub const MAX_ELAPSED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

    /// A clock standing at the current instant, with nothing slept.
    #[must_use]
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Simulated> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.elapsed = state.elapsed.saturating_add(by).min(Self::MAX_ELAPSED);
    }

    /// How far the clock has moved since it was created.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.state().elapsed
    }

    /// Every sleep requested so far, oldest first.
    #[must_use]
    pub fn slept(&self) -> Vec<Duration> {
        self.state().slept.clone()
    }
}

impl Clock for SimulatedTime {
    fn now(&self) -> Instant {
        let elapsed = self.elapsed();
        // `MAX_ELAPSED` keeps this in range on every platform; fall back to the start rather
        // than panic if it were not.
        self.start.checked_add(elapsed).unwrap_or(self.start)
    }
}

impl Sleep for SimulatedTime {
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        self.advance(d);
        self.state().slept.push(d);
        Box::pin(std::future::ready(()))
    }
}

// ---- Options ------------------------------------------------------------------------------

/// How long to wait and how often to poll.
///
/// | setting         | default | meaning |
/// |-----------------|---------|---------|
/// | `timeout`       | [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) = 30 min | give up this long after the first poll |
/// | `initial_delay` | [`DEFAULT_INITIAL_DELAY`](Self::DEFAULT_INITIAL_DELAY) = 5 s | wait after the first poll; more than zero |
/// | `max_delay`     | [`DEFAULT_MAX_DELAY`](Self::DEFAULT_MAX_DELAY) = 60 s | longest single wait; at least `initial_delay` |
/// | `sleep`         | `tokio::time::sleep` | how to wait |
/// | `clock`         | [`SystemClock`] | how to tell the time |
/// | `on_poll`       | none | called after every poll ([`Poll`]) |
///
/// The delays are checked when a wait starts: a zero `initial_delay`, or a `max_delay`
/// below it, ends the wait with [`Error::InvalidArgument`] before anything is sent. A zero
/// `timeout` polls exactly once.
#[derive(Clone)]
pub struct WaitOptions {
    timeout: Duration,
    initial_delay: Duration,
    max_delay: Duration,
    sleep: Arc<dyn Sleep>,
    clock: Arc<dyn Clock>,
    on_poll: Option<Observer>,
}

/// What [`WaitOptions::on_poll`] keeps.
type Observer = Arc<dyn Fn(&Poll<'_>) + Send + Sync>;

impl fmt::Debug for WaitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOptions")
            .field("timeout", &self.timeout)
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("sleep", &self.sleep)
            .field("clock", &self.clock)
            .field("on_poll", &self.on_poll.as_ref().map(|_| "Fn(&Poll)"))
            .finish()
    }
}

/// One poll of a wait, as [`WaitOptions::on_poll`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Poll<'a> {
    /// 1 for the first poll.
    pub number: u32,
    /// Time since the first poll, by the waiter's clock.
    pub elapsed: Duration,
    /// What the poll saw; `None` when it failed.
    pub seen: Option<&'a Observed>,
    /// The error of a poll that failed with an error the waiter polls on through.
    pub error: Option<&'a Error>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitOptions {
    /// Default `timeout`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default `initial_delay`.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_secs(5);
    /// Default `max_delay`.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);

    /// The defaults of the table above.
    #[must_use]
    pub fn new() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
            sleep: Arc::new(TokioSleep),
            clock: Arc::new(SystemClock),
            on_poll: None,
        }
    }

    /// Calls `observer` after every poll, with what it saw and the time since the first poll
    /// (the last call sees the state the wait ended on).
    ///
    /// ```
    /// use atlas_network_peering::models::PeerStatus;
    /// use atlas_network_peering::waiter::{Observed, WaitOptions};
    ///
    /// let options = WaitOptions::new().on_poll(|poll| {
    ///     if let Some(Observed::Peer { status: Some(PeerStatus::WaitingForUser), raw_status, .. }) = poll.seen {
    ///         eprintln!(
    ///             "{} for {} min: accept the peering request in your cloud account",
    ///             raw_status.as_deref().unwrap_or("waiting"),
    ///             poll.elapsed.as_secs() / 60
    ///         );
    ///     }
    /// });
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn on_poll(mut self, observer: impl Fn(&Poll<'_>) + Send + Sync + 'static) -> Self {
        self.on_poll = Some(Arc::new(observer));
        self
    }

    /// Gives up this long after the first poll.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The wait after the first poll; each later wait doubles, up to `max_delay`.
    #[must_use]
    pub fn with_initial_delay(mut self, initial_delay: Duration) -> Self {
        self.initial_delay = initial_delay;
        self
    }

    /// The longest single wait.
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// How to wait between polls (tests: [`SimulatedTime`]).
    #[must_use]
    pub fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// How to tell the time (tests: [`SimulatedTime`]).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The timeout set.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The first wait set.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The longest wait set.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    fn check(&self) -> Result<(), Error> {
        if self.initial_delay.is_zero() {
            return Err(Error::InvalidArgument(
                "initial_delay must be more than zero".into(),
            ));
        }
        if self.max_delay < self.initial_delay {
            return Err(Error::InvalidArgument(format!(
                "max_delay ({:?}) must be at least initial_delay ({:?})",
                self.max_delay, self.initial_delay
            )));
        }
        Ok(())
    }
}

// ---- Errors -------------------------------------------------------------------------------

/// What a waiter last saw of the resource it polls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observed {
    /// A peering connection.
    Peer {
        /// Its normalized status; `None` when the entry carried no status.
        status: Option<PeerStatus>,
        /// The status as the provider spells it (`PENDING_ACCEPTANCE`, `WAITING_FOR_USER`).
        raw_status: Option<String>,
        /// The provider's error detail ([`Peer::error_detail`]), if any.
        detail: Option<String>,
    },
    /// A container.
    Container {
        /// Its `provisioned` flag.
        provisioned: bool,
    },
    /// Atlas answered 404 for the peering connection: it is gone.
    Gone,
}

impl Observed {
    fn of_peer(peer: &Peer) -> Self {
        Self::Peer {
            status: peer.status(),
            raw_status: peer.raw_status().map(str::to_owned),
            detail: peer.error_detail().map(str::to_owned),
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Peer { status, detail, .. } => {
                match status {
                    Some(status) => write!(f, "status {status}")?,
                    None => f.write_str("no status")?,
                }
                match detail {
                    Some(detail) => write!(f, " ({detail})"),
                    None => Ok(()),
                }
            }
            Self::Container { provisioned } => write!(f, "provisioned: {provisioned}"),
            Self::Gone => f.write_str("gone"),
        }
    }
}

/// Why a wait did not end in the wanted state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The resource reached a state from which the wanted one cannot follow: a failed
    /// connection (`FAILED`, `DELETION_FAILED`, an AWS `errorStateName`), or, when waiting
    /// for `AVAILABLE`, a connection being deleted. Returned at the first poll that sees it.
    #[error("the peering connection cannot reach the wanted state: {}", Observed::Peer { status: status.clone(), raw_status: None, detail: detail.clone() })]
    Failed {
        /// The normalized status seen; `None` if the entry carried none (an AWS connection
        /// with an `errorStateName` but no `statusName`).
        status: Option<PeerStatus>,
        /// The provider's error detail: AWS `errorStateName` (`REJECTED`, `EXPIRED`,
        /// `INVALID_ARGUMENT`), GCP `errorMessage`, Azure `errorState`.
        detail: Option<String>,
    },
    /// The timeout passed before the wanted state was seen.
    #[error("gave up after {elapsed:?} and {polls} polls; last seen: {}", last.as_ref().map_or_else(|| "nothing".to_owned(), ToString::to_string))]
    TimedOut {
        /// Time from the first poll to giving up, by the waiter's clock.
        elapsed: Duration,
        /// Polls sent.
        polls: u32,
        /// The state the last successful poll saw; `None` if none succeeded.
        last: Option<Observed>,
        /// The error of the last poll, if it failed (with a retryable error).
        last_error: Option<Box<Error>>,
    },
}

impl WaitError {
    /// The last peering-connection status seen: the failed one, or the last one before a
    /// timeout.
    pub fn last_status(&self) -> Option<&PeerStatus> {
        match self {
            Self::Failed { status, .. } => status.as_ref(),
            Self::TimedOut {
                last: Some(Observed::Peer { status, .. }),
                ..
            } => status.as_ref(),
            _ => None,
        }
    }

    /// The provider's error detail, for a failed connection (or the last one seen).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Failed { detail, .. } => detail.as_deref(),
            Self::TimedOut {
                last: Some(Observed::Peer { detail, .. }),
                ..
            } => detail.as_deref(),
            _ => None,
        }
    }

    /// Whether the wait timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::TimedOut { .. })
    }

    /// The error of the last poll, when a timed-out wait's last poll failed.
    pub fn last_error(&self) -> Option<&Error> {
        match self {
            Self::TimedOut { last_error, .. } => last_error.as_deref(),
            _ => None,
        }
    }
}

// ---- Waiters ------------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Client {}
}

/// Waiters on [`Client`]; see the [module documentation](self).
pub trait WaiterExt: sealed::Sealed {
    /// Polls the peering connection until its status is `AVAILABLE` and returns it.
    ///
    /// Fails at once with [`WaitError::Failed`] on a failed connection or one being deleted,
    /// and with the poll's own error if the connection does not exist (404).
    fn wait_peer_available(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> impl Future<Output = Result<Peer, Error>> + Send;

    /// Polls the peering connection until Atlas answers 404 (it is gone). A connection that
    /// is already gone succeeds at the first poll. A 404 whose `errorCode` says the project
    /// does not exist (`GROUP_NOT_FOUND`, `INVALID_GROUP_ID`) is not taken for a deletion: it
    /// ends the wait with that error ([`Error::is_gone`] tells them apart).
    ///
    /// Fails at once with [`WaitError::Failed`] on `DELETION_FAILED`. Every other status,
    /// `FAILED` and `AVAILABLE` included (Atlas may not have started on the deletion yet),
    /// means "not yet". Call it after `delete_peer`.
    fn wait_peer_deleted(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Polls the container until `provisioned` is `true` and returns it.
    ///
    /// Atlas sets `provisioned` once the first cluster is deployed in the container: creating
    /// the container or peering it does not. Use this after starting a cluster deployment in
    /// the container's provider and region, with a timeout that allows for the deployment
    /// (tens of minutes); on a container no cluster will use, it can only time out.
    fn wait_container_provisioned(
        &self,
        group_id: &str,
        container_id: &str,
        options: WaitOptions,
    ) -> impl Future<Output = Result<Container, Error>> + Send;
}

/// What one poll concluded.
enum Verdict<T> {
    Done(T, Observed),
    Fail(WaitError, Observed),
    NotYet(Observed),
}

impl WaitError {
    /// The failure a peer in a terminal state reports: its status and the provider's detail.
    fn failed(peer: &Peer) -> Self {
        WaitError::Failed {
            status: peer.status(),
            detail: peer.error_detail().map(str::to_owned),
        }
    }
}

impl WaiterExt for Client {
    async fn wait_peer_available(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> Result<Peer, Error> {
        poll_until(&options, move || async move {
            let peer = self
                .get_peer()
                .group_id(group_id)
                .peer_id(peer_id)
                .send()
                .await?;
            let seen = Observed::of_peer(&peer);
            Ok(if peer.is_available() {
                Verdict::Done(peer, seen)
            } else if peer.is_terminal_failure() || peer.status() == Some(PeerStatus::Deleting) {
                Verdict::Fail(WaitError::failed(&peer), seen)
            } else {
                Verdict::NotYet(seen)
            })
        })
        .await
    }

    async fn wait_peer_deleted(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> Result<(), Error> {
        poll_until(&options, move || async move {
            let peer = match self
                .get_peer()
                .group_id(group_id)
                .peer_id(peer_id)
                .send()
                .await
            {
                Ok(peer) => peer,
                Err(error) if is_peer_gone(&error) => {
                    return Ok(Verdict::Done((), Observed::Gone));
                }
                Err(error) => return Err(error),
            };
            let seen = Observed::of_peer(&peer);
            Ok(if peer.status() == Some(PeerStatus::DeletionFailed) {
                Verdict::Fail(WaitError::failed(&peer), seen)
            } else {
                Verdict::NotYet(seen)
            })
        })
        .await
    }

    async fn wait_container_provisioned(
        &self,
        group_id: &str,
        container_id: &str,
        options: WaitOptions,
    ) -> Result<Container, Error> {
        poll_until(&options, move || async move {
            let container = self
                .get_container()
                .group_id(group_id)
                .container_id(container_id)
                .send()
                .await?;
            let provisioned = container.is_provisioned();
            let seen = Observed::Container { provisioned };
            Ok(if provisioned {
                Verdict::Done(container, seen)
            } else {
                Verdict::NotYet(seen)
            })
        })
        .await
    }
}

/// A 404, unless Atlas says it is the project that does not exist: a wrong project id must
/// not pass for a deleted connection.
fn is_peer_gone(error: &Error) -> bool {
    error.is_not_found()
        && !matches!(
            error.error_code(),
            Some(ApiErrorCode::GroupNotFound | ApiErrorCode::InvalidGroupId)
        )
}

/// Polls with `poll` until it concludes, backing off between polls, up to the timeout.
async fn poll_until<T, F, Fut>(options: &WaitOptions, mut poll: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Verdict<T>, Error>>,
{
    options.check()?;
    let start = options.clock.now();
    let mut delay = options.initial_delay;
    let mut polls: u32 = 0;
    let mut last = None;
    loop {
        polls = polls.saturating_add(1);
        let outcome = poll().await;
        let elapsed = options.clock.now().saturating_duration_since(start);
        if let Some(observer) = &options.on_poll {
            let (seen, error) = match &outcome {
                Ok(Verdict::Done(_, seen) | Verdict::Fail(_, seen) | Verdict::NotYet(seen)) => {
                    (Some(seen), None)
                }
                Err(error) => (None, Some(error)),
            };
            observer(&Poll {
                number: polls,
                elapsed,
                seen,
                error,
            });
        }
        // The error of this poll, if it failed in a way that waiting may cure.
        let last_error = match outcome {
            Ok(Verdict::Done(value, _)) => return Ok(value),
            Ok(Verdict::Fail(error, _)) => return Err(error.into()),
            Ok(Verdict::NotYet(seen)) => {
                tracing::debug!(target: "atlas_network_peering::waiter", polls, %seen, "not yet");
                last = Some(seen);
                None
            }
            Err(error) if error.is_retryable() => {
                tracing::debug!(target: "atlas_network_peering::waiter", polls, %error, "poll failed; polling on");
                Some(Box::new(error))
            }
            Err(error) => return Err(error),
        };
        let remaining = options.timeout.saturating_sub(elapsed);
        if remaining.is_zero() {
            return Err(WaitError::TimedOut {
                elapsed,
                polls,
                last,
                last_error,
            }
            .into());
        }
        options.sleep.sleep(delay.min(remaining)).await;
        delay = delay.saturating_mul(2).min(options.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn wait_error(e: Error) -> WaitError {
        match e {
            Error::Wait(w) => *w,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn backoff_doubles_to_the_cap_and_the_last_wait_meets_the_deadline() {
        let time = Arc::new(SimulatedTime::new());
        let options = WaitOptions::new()
            .with_timeout(S(200))
            .with_sleep(time.clone())
            .with_clock(time.clone());
        let mut polls = 0;
        let result: Result<(), _> = poll_until(&options, || {
            polls += 1;
            async { Ok(Verdict::NotYet(Observed::Container { provisioned: false })) }
        })
        .await
        .map_err(wait_error);
        // Polls at 0, 5, 15, 35, 75, 135, 195, 200.
        assert_eq!(
            time.slept(),
            [S(5), S(10), S(20), S(40), S(60), S(60), S(5)]
        );
        assert_eq!(polls, 8);
        match result {
            Err(WaitError::TimedOut {
                elapsed,
                polls: 8,
                last: Some(Observed::Container { provisioned: false }),
                last_error: None,
            }) => assert_eq!(elapsed, S(200)),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn zero_timeout_polls_once() {
        let time = Arc::new(SimulatedTime::new());
        let options = WaitOptions::new()
            .with_timeout(Duration::ZERO)
            .with_sleep(time.clone())
            .with_clock(time.clone());
        let result: Result<(), _> = poll_until(&options, move || async move {
            Ok(Verdict::NotYet(Observed::Container { provisioned: false }))
        })
        .await
        .map_err(wait_error);
        assert!(matches!(result, Err(WaitError::TimedOut { polls: 1, .. })));
        assert!(time.slept().is_empty());
    }

    #[tokio::test]
    async fn bad_delays_are_refused_before_polling() {
        for options in [
            WaitOptions::new().with_initial_delay(Duration::ZERO),
            WaitOptions::new().with_max_delay(S(1)),
        ] {
            let result: Result<(), _> =
                poll_until(&options, move || async move { panic!("must not poll") }).await;
            assert!(matches!(result, Err(Error::InvalidArgument(_))));
        }
    }

    #[tokio::test]
    async fn simulated_time_saturates_instead_of_panicking() {
        let time = SimulatedTime::new();
        let start = time.now();
        time.sleep(Duration::MAX).await;
        time.sleep(Duration::MAX).await;
        assert_eq!(time.elapsed(), SimulatedTime::MAX_ELAPSED);
        assert_eq!(time.now() - start, SimulatedTime::MAX_ELAPSED);
        assert_eq!(time.slept(), [Duration::MAX, Duration::MAX]);
    }

    #[test]
    fn errors_display_what_was_seen() {
        let failed = WaitError::Failed {
            status: Some(PeerStatus::Failed),
            detail: Some("REJECTED".into()),
        };
        assert_eq!(
            failed.to_string(),
            "the peering connection cannot reach the wanted state: status FAILED (REJECTED)"
        );
        assert_eq!(failed.last_status(), Some(&PeerStatus::Failed));
        assert_eq!(failed.detail(), Some("REJECTED"));
        let timed_out = WaitError::TimedOut {
            elapsed: S(60),
            polls: 4,
            last: Some(Observed::Peer {
                status: Some(PeerStatus::Unknown("QUEUED".into())),
                raw_status: Some("QUEUED".into()),
                detail: None,
            }),
            last_error: None,
        };
        assert_eq!(
            timed_out.to_string(),
            "gave up after 60s and 4 polls; last seen: status \"QUEUED\" (unknown)"
        );
        assert!(timed_out.is_timeout());
        let nothing = WaitError::TimedOut {
            elapsed: S(1),
            polls: 1,
            last: None,
            last_error: None,
        };
        assert!(nothing.to_string().ends_with("last seen: nothing"));
        assert_eq!(nothing.last_status(), None);
    }

    #[test]
    fn waiter_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let client = Client::from_config(crate::Config::new()).expect("a client");
        let options = WaitOptions::new();
        assert_send(&client.wait_peer_available("a", "b", options.clone()));
        assert_send(&client.wait_peer_deleted("a", "b", options.clone()));
        assert_send(&client.wait_container_provisioned("a", "b", options));
    }
}
