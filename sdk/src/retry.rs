#![deny(missing_docs)]
//! When to try a request again, and how long to wait first.
//!
//! This module is pure policy: it performs no I/O and reads no clock. The caller describes
//! what happened to one attempt ([`Attempt`]), how many attempts have been made, how long they
//! took in total, the current wall-clock time and a random number; [`decide`] answers with a
//! [`Decision`]: wait this long and try again, or stop (and why). Waiting and randomness sit
//! behind the small [`Sleep`] and [`Jitter`] traits so that tests can replace them
//! ([`RecordingSleep`], [`FixedJitter`]).
//!
//! # Rules, in the order [`decide`] applies them
//!
//! 1. **Outcome.** A response with a 2xx or 3xx status ends the loop with
//!    [`StopReason::Success`]: there is nothing a retry could improve. A response with 429
//!    (Too Many Requests), 502 (Bad Gateway), 503 (Service Unavailable) or 504 (Gateway
//!    Timeout) is *transient*. Every other status (any other 4xx or 5xx, 1xx, or a number
//!    outside the HTTP range) ends the loop with [`StopReason::NotRetryable`].
//! 2. **Idempotency.** A 429 is retried for every method, POST included: Atlas's rate
//!    limiter refuses a request before acting on it. Any other transient response, an I/O
//!    failure after connecting ([`Attempt::SendFailed`]) and a timeout ([`Attempt::TimedOut`])
//!    are retried only for idempotent methods: GET, HEAD, OPTIONS and DELETE, plus PATCH when
//!    [`RetryPolicy::with_retry_patch`] opted in. For any other method (POST, PUT, ...) the
//!    request may already have had its effect, so the loop ends with
//!    [`StopReason::NotIdempotent`]. A connection that was never established
//!    ([`Attempt::ConnectFailed`]) sent nothing, so it is retried for every method.
//! 3. **Delay.** Exponential backoff with full jitter:
//!    `min(max_delay, base_delay * 2^(attempt_number - 1)) * jitter`, with `jitter` in
//!    `[0, 1)`. When a retried response carries a usable `Retry-After` header
//!    ([`parse_retry_after`]), the delay is `max(retry_after, backoff)`: the server's wait is
//!    never cut short, `max_delay` included.
//! 4. **Attempt budget.** If `attempt_number >= max_attempts` the loop ends with
//!    [`StopReason::AttemptsExhausted`].
//! 5. **Time budget.** If `elapsed + delay > max_elapsed` the loop ends at once with
//!    [`StopReason::OutOfTime`]: there is no point waiting when the next attempt could not
//!    start within the budget (a `Retry-After` longer than what is left stops the call with the
//!    429 or 503 that asked for it).
//!
//! Otherwise the answer is [`Decision::Retry`] with the computed delay.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use reqwest::{Method, header::HeaderMap};
//! use atlas_network_peering::retry::{decide, Attempt, Decision, RetryPolicy, StopReason};
//!
//! let policy = RetryPolicy::default();
//! let headers = HeaderMap::new();
//! let unavailable = Attempt::Response { status: 503, headers: &headers };
//!
//! // First GET attempt answered 503: wait half of the 200 ms backoff ceiling (jitter 0.5).
//! let d = decide(&policy, &Method::GET, &unavailable, 1, Duration::ZERO, SystemTime::now(), 0.5);
//! assert_eq!(d, Decision::Retry { after: Duration::from_millis(100) });
//!
//! // The same answer to a POST is never retried.
//! let d = decide(&policy, &Method::POST, &unavailable, 1, Duration::ZERO, SystemTime::now(), 0.5);
//! assert_eq!(d, Decision::Stop(StopReason::NotIdempotent));
//! ```

use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How many times, and for how long, a request may be retried.
///
/// Built from [`RetryPolicy::default`] (or [`RetryPolicy::none`]) and adjusted with the
/// `with_*` setters. All limits are finite:
///
/// | setting        | default                                    | meaning                                   |
/// |----------------|--------------------------------------------|-------------------------------------------|
/// | `max_attempts` | [`DEFAULT_MAX_ATTEMPTS`](Self::DEFAULT_MAX_ATTEMPTS) = 4 | attempts in total, the first included (at least 1) |
/// | `base_delay`   | [`DEFAULT_BASE_DELAY`](Self::DEFAULT_BASE_DELAY) = 200 ms | backoff ceiling before the second attempt |
/// | `max_delay`    | [`DEFAULT_MAX_DELAY`](Self::DEFAULT_MAX_DELAY) = 20 s | longest backoff wait (a `Retry-After` may ask for longer) |
/// | `max_elapsed`  | [`DEFAULT_MAX_ELAPSED`](Self::DEFAULT_MAX_ELAPSED) = 60 s | total time budget across all attempts |
/// | `retry_patch`  | `false`                                    | treat PATCH as idempotent                 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_elapsed: Duration,
    retry_patch: bool,
}

impl Default for RetryPolicy {
    /// Four attempts, 200 ms base delay, 20 s cap per wait, 60 s in total, PATCH not retried.
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_delay: Self::DEFAULT_BASE_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
            max_elapsed: Self::DEFAULT_MAX_ELAPSED,
            retry_patch: false,
        }
    }
}

impl RetryPolicy {
    /// Default total number of attempts, the first one included: 4.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
    /// Default backoff ceiling before the second attempt (doubling after that): 200 ms.
    pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(200);
    /// Default cap on a single backoff wait: 20 s. A `Retry-After` is not capped.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(20);
    /// Default total time budget across all attempts and waits: 60 s.
    pub const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(60);

    /// A policy that never retries: one attempt, other settings as in [`Default`].
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the total number of attempts, the first one included. Values below 1 become 1.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// Sets the backoff ceiling before the second attempt; it doubles for each later attempt.
    #[must_use]
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets the cap on a single backoff wait. A wait that `Retry-After` asks for is not cut
    /// to it; only the time budget ([`with_max_elapsed`](Self::with_max_elapsed)) bounds it.
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets the total time budget: no retry is scheduled whose wait would end after it.
    #[must_use]
    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// Opts PATCH in (or out) of the idempotent methods. Only enable it when the PATCH
    /// requests sent with this policy can safely be applied twice.
    #[must_use]
    pub fn with_retry_patch(mut self, retry_patch: bool) -> Self {
        self.retry_patch = retry_patch;
        self
    }

    /// Total number of attempts, the first one included (always at least 1).
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Backoff ceiling before the second attempt.
    #[must_use]
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// Cap on a single backoff wait.
    #[must_use]
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Total time budget across all attempts and waits.
    #[must_use]
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// Whether PATCH counts as idempotent.
    #[must_use]
    pub fn retry_patch(&self) -> bool {
        self.retry_patch
    }

    /// Whether this policy may repeat `method` after the request could have reached the
    /// server: GET, HEAD, OPTIONS and DELETE always, PATCH only with
    /// [`with_retry_patch(true)`](Self::with_retry_patch), nothing else (POST, PUT, ...).
    #[must_use]
    pub fn is_idempotent(&self, method: &Method) -> bool {
        *method == Method::GET
            || *method == Method::HEAD
            || *method == Method::OPTIONS
            || *method == Method::DELETE
            || (self.retry_patch && *method == Method::PATCH)
    }

    /// The jittered exponential backoff after attempt `attempt_number` (1 for the first):
    /// `min(max_delay, base_delay * 2^(attempt_number - 1)) * jitter`.
    ///
    /// `jitter` should be uniform in `[0, 1)`; NaN and negative values count as 0, values
    /// above 1 as 1. The computation saturates instead of overflowing, for any input.
    #[must_use]
    pub fn backoff(&self, attempt_number: u32, jitter: f64) -> Duration {
        let doublings = attempt_number.saturating_sub(1);
        let base = self.base_delay.as_nanos();
        // base * 2^doublings, in nanoseconds; `None` when it does not fit in a u128.
        let grown = if base == 0 {
            Some(0)
        } else if doublings < base.leading_zeros() {
            Some(base << doublings)
        } else {
            None
        };
        let ceiling = match grown {
            Some(nanos) if nanos < self.max_delay.as_nanos() => from_nanos(nanos),
            _ => self.max_delay,
        };
        scale(ceiling, jitter)
    }
}

/// Multiplies `delay` by `jitter` clamped to `[0, 1]`, in integer nanoseconds (32 fractional
/// bits of precision), never panicking and never exceeding `delay`.
fn scale(delay: Duration, jitter: f64) -> Duration {
    const ONE: f64 = 4_294_967_296.0; // 2^32
    let jitter = if jitter.is_nan() || jitter <= 0.0 {
        0.0
    } else {
        jitter.min(1.0)
    };
    // `as` saturates; the value is in [0, 2^32].
    let factor = u128::from((jitter * ONE) as u64);
    // At most ~2^94 nanoseconds times 2^32: fits in u128; fall back to `delay` regardless.
    let Some(product) = delay.as_nanos().checked_mul(factor) else {
        return delay;
    };
    from_nanos(product >> 32).min(delay)
}

/// A `Duration` of `nanos` nanoseconds, saturating at [`Duration::MAX`].
fn from_nanos(nanos: u128) -> Duration {
    let Ok(secs) = u64::try_from(nanos / 1_000_000_000) else {
        return Duration::MAX;
    };
    let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    // `subsec` is below one second, so `new` cannot carry into (and overflow) `secs`.
    Duration::new(secs, subsec)
}

/// What happened to one attempt at a request. The method is passed to [`decide`] separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// The server answered with this status and these headers.
    Response {
        /// The HTTP status code.
        status: u16,
        /// The response headers; only `Retry-After` is consulted.
        headers: &'a HeaderMap,
    },
    /// The connection was never established (DNS, TCP connect or TLS handshake failed):
    /// nothing reached the server, so any method may be retried.
    ConnectFailed,
    /// An I/O error after the connection was established.
    SendFailed {
        /// Whether any part of the request may have been sent. It is informational: because a
        /// failure after connecting cannot prove that the server saw nothing, non-idempotent
        /// methods are not retried either way.
        request_may_have_reached_server: bool,
    },
    /// The attempt exceeded its own timeout; the server may have processed the request.
    TimedOut,
}

/// Why the retry loop ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The server answered with a 2xx or 3xx status.
    Success,
    /// The outcome is not one that a retry can fix (a status other than 429, 502, 503, 504).
    NotRetryable,
    /// The outcome could be transient, but the method is not idempotent and the request may
    /// have reached the server, so repeating it could apply it twice.
    NotIdempotent,
    /// The attempt was retryable, but it was the last one the policy allows.
    AttemptsExhausted,
    /// The attempt was retryable, but waiting would go past the policy's time budget.
    OutOfTime,
}

/// The answer of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Wait this long, then send the request again.
    Retry {
        /// How long to wait before the next attempt (possibly zero).
        after: Duration,
    },
    /// Do not retry; hand the last outcome to the caller.
    Stop(StopReason),
}

/// Decides whether to retry after an attempt, following the rules in the
/// [module documentation](self).
///
/// * `attempt_number` — the attempt that just finished, 1 for the first (0 is treated as 1).
/// * `elapsed` — time spent since the first attempt started, up to now.
/// * `now` — the current wall-clock time; only used to read an HTTP-date `Retry-After`.
/// * `jitter` — a random number uniform in `[0, 1)` (see [`Jitter`]); out-of-range values are
///   clamped as in [`RetryPolicy::backoff`].
///
/// Never panics.
#[must_use]
pub fn decide(
    policy: &RetryPolicy,
    method: &Method,
    attempt: &Attempt<'_>,
    attempt_number: u32,
    elapsed: Duration,
    now: SystemTime,
    jitter: f64,
) -> Decision {
    let idempotent = policy.is_idempotent(method);
    let retry_after = match *attempt {
        Attempt::Response { status, headers } => {
            if (200..400).contains(&status) {
                return Decision::Stop(StopReason::Success);
            }
            if !matches!(status, 429 | 502 | 503 | 504) {
                return Decision::Stop(StopReason::NotRetryable);
            }
            // Atlas's rate limiter refuses a request before it is acted on.
            if status != 429 && !idempotent {
                return Decision::Stop(StopReason::NotIdempotent);
            }
            headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, now))
        }
        Attempt::ConnectFailed => None,
        Attempt::SendFailed { .. } | Attempt::TimedOut => {
            if !idempotent {
                return Decision::Stop(StopReason::NotIdempotent);
            }
            None
        }
    };

    let backoff = policy.backoff(attempt_number, jitter);
    let delay = match retry_after {
        Some(requested) => requested.max(backoff),
        None => backoff,
    };

    if attempt_number >= policy.max_attempts {
        return Decision::Stop(StopReason::AttemptsExhausted);
    }
    match elapsed.checked_add(delay) {
        Some(resume_at) if resume_at <= policy.max_elapsed => Decision::Retry { after: delay },
        _ => Decision::Stop(StopReason::OutOfTime),
    }
}

/// Reads a `Retry-After` header value as a wait relative to `now`.
///
/// Accepts, after trimming surrounding whitespace:
/// * delta-seconds: ASCII digits only (no sign, no fraction, no unit); numbers too large for
///   a `u64` saturate to `u64::MAX` seconds;
/// * an HTTP-date in IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850
///   (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov  6 08:49:37 1994`) form; a date
///   at or before `now` gives [`Duration::ZERO`].
///
/// Anything else gives `None`. Never panics, whatever the input.
#[must_use]
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits and non-empty: parsing can fail only by overflow.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A boxed future that completes after a wait; returned by [`Sleep::sleep`].
type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Waits between attempts. Abstracted so that tests need not wait ([`RecordingSleep`]).
pub trait Sleep: Send + Sync + Debug {
    /// Returns a future that completes once `d` has passed.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// [`Sleep`] with [`tokio::time::sleep`]. The returned future must be polled inside a Tokio
/// runtime with the time driver enabled. Very long waits are capped by Tokio (about 2 years),
/// not rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> SleepFuture {
        // The timer is created on first poll, inside the caller's runtime.
        Box::pin(async move { tokio::time::sleep(d).await })
    }
}

/// [`Sleep`] for tests: completes immediately and records every requested wait, in order.
///
/// The wait is recorded when [`Sleep::sleep`] is called, whether or not the future is polled.
/// Share it through an `Arc` to inspect it after handing it to a client.
#[derive(Debug, Default)]
pub struct RecordingSleep {
    slept: Mutex<Vec<Duration>>,
}

impl RecordingSleep {
    /// An empty recorder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every wait requested so far, oldest first.
    #[must_use]
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, d: Duration) -> SleepFuture {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(d);
        Box::pin(std::future::ready(()))
    }
}

/// A source of the `jitter` argument of [`decide`].
pub trait Jitter: Send + Sync + Debug {
    /// The next number, uniform in `[0, 1)`.
    fn next(&self) -> f64;
}

/// The default [`Jitter`]: a SplitMix64 generator seeded from the operating system
/// (`getrandom`), or from [`RandomState`] and the clock if that fails. Not cryptographic; it
/// only spreads clients' retries apart. Safe to share between threads.
#[derive(Debug)]
pub struct RandomJitter {
    state: AtomicU64,
}

impl RandomJitter {
    /// A generator with a fresh random seed.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: AtomicU64::new(random_seed()),
        }
    }
}

impl Default for RandomJitter {
    fn default() -> Self {
        Self::new()
    }
}

fn random_seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        let mut hasher = RandomState::new().build_hasher();
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        hasher.write_u128(since_epoch.as_nanos());
        hasher.finish()
    })
}

impl Jitter for RandomJitter {
    fn next(&self) -> f64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, scaled to [0, 1): exactly representable, never 1.0.
        (z >> 11) as f64 / 9_007_199_254_740_992.0
    }
}

/// [`Jitter`] for tests: always returns the wrapped number (which [`decide`] clamps to
/// `[0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn next(&self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::sync::Arc;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const S: fn(u64) -> Duration = Duration::from_secs;

    /// A fixed "now": 2023-11-14T22:13:20Z.
    fn now() -> SystemTime {
        UNIX_EPOCH + S(1_700_000_000)
    }

    /// A policy whose budgets never interfere with the rule under test.
    fn roomy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(u32::MAX)
            .with_max_elapsed(S(1_000_000))
    }

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = retry_after {
            map.insert(
                RETRY_AFTER,
                HeaderValue::from_str(value).expect("valid header"),
            );
        }
        map
    }

    fn method(name: &str) -> Method {
        Method::from_bytes(name.as_bytes()).expect("valid method")
    }

    fn retry(after: Duration) -> Decision {
        Decision::Retry { after }
    }

    fn stop(reason: StopReason) -> Decision {
        Decision::Stop(reason)
    }

    /// `|a - b| <= 1 µs`, for products with a non-binary jitter such as 0.999.
    fn assert_close(actual: Duration, expected: Duration, context: &str) {
        let diff = actual.abs_diff(expected);
        assert!(
            diff <= Duration::from_micros(1),
            "{context}: {actual:?} is not close to {expected:?}"
        );
    }

    // ---- policy ------------------------------------------------------------------------

    #[test]
    fn defaults_are_the_documented_values() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.base_delay(), MS(200));
        assert_eq!(p.max_delay(), S(20));
        assert_eq!(p.max_elapsed(), S(60));
        assert!(!p.retry_patch());
        assert_eq!(p.max_attempts(), RetryPolicy::DEFAULT_MAX_ATTEMPTS);
        assert_eq!(p.base_delay(), RetryPolicy::DEFAULT_BASE_DELAY);
        assert_eq!(p.max_delay(), RetryPolicy::DEFAULT_MAX_DELAY);
        assert_eq!(p.max_elapsed(), RetryPolicy::DEFAULT_MAX_ELAPSED);
    }

    #[test]
    fn none_allows_one_attempt_and_keeps_other_defaults() {
        let p = RetryPolicy::none();
        assert_eq!(p.max_attempts(), 1);
        assert_eq!(p, RetryPolicy::default().with_max_attempts(1));
        let h = headers(None);
        for attempt in [
            Attempt::ConnectFailed,
            Attempt::TimedOut,
            Attempt::Response {
                status: 503,
                headers: &h,
            },
        ] {
            assert_eq!(
                decide(&p, &Method::GET, &attempt, 1, Duration::ZERO, now(), 0.5),
                stop(StopReason::AttemptsExhausted),
                "{attempt:?}"
            );
        }
    }

    #[test]
    fn setters_and_getters_round_trip() {
        let p = RetryPolicy::default()
            .with_max_attempts(7)
            .with_base_delay(MS(50))
            .with_max_delay(S(3))
            .with_max_elapsed(S(9))
            .with_retry_patch(true);
        assert_eq!(p.max_attempts(), 7);
        assert_eq!(p.base_delay(), MS(50));
        assert_eq!(p.max_delay(), S(3));
        assert_eq!(p.max_elapsed(), S(9));
        assert!(p.retry_patch());
        assert!(!p.with_retry_patch(false).retry_patch());
    }

    #[test]
    fn max_attempts_is_at_least_one() {
        for (requested, expected) in [(0, 1), (1, 1), (2, 2), (u32::MAX, u32::MAX)] {
            assert_eq!(
                RetryPolicy::default()
                    .with_max_attempts(requested)
                    .max_attempts(),
                expected,
                "with_max_attempts({requested})"
            );
        }
    }

    #[test]
    fn idempotent_methods() {
        // (method, retry_patch, idempotent)
        let table = [
            ("GET", false, true),
            ("HEAD", false, true),
            ("OPTIONS", false, true),
            ("DELETE", false, true),
            ("PATCH", false, false),
            ("PATCH", true, true),
            ("POST", false, false),
            ("POST", true, false),
            ("PUT", false, false),
            ("PUT", true, false),
            ("TRACE", false, false),
            ("CONNECT", false, false),
            ("PURGE", true, false),
            ("get", false, false), // methods are case-sensitive
        ];
        for (name, retry_patch, expected) in table {
            let p = RetryPolicy::default().with_retry_patch(retry_patch);
            assert_eq!(
                p.is_idempotent(&method(name)),
                expected,
                "{name} retry_patch={retry_patch}"
            );
        }
    }

    // ---- decide: outcome × method ------------------------------------------------------

    /// (method, retry_patch, idempotent) — the methods every outcome is checked against.
    const METHODS: [(&str, bool, bool); 9] = [
        ("GET", false, true),
        ("HEAD", false, true),
        ("OPTIONS", false, true),
        ("DELETE", false, true),
        ("PATCH", false, false),
        ("PATCH", true, true),
        ("POST", false, false),
        ("POST", true, false),
        ("PUT", false, false),
    ];

    #[derive(Debug, Clone, Copy)]
    enum Class {
        Success,
        Final,
        Transient,
        /// 429: refused before it was acted on, so retried for every method.
        RateLimited,
    }

    #[test]
    fn every_status_with_every_method() {
        let statuses = [
            (100, Class::Final),
            (101, Class::Final),
            (200, Class::Success),
            (201, Class::Success),
            (202, Class::Success),
            (204, Class::Success),
            (299, Class::Success),
            (301, Class::Success),
            (302, Class::Success),
            (304, Class::Success),
            (399, Class::Success),
            (400, Class::Final),
            (401, Class::Final),
            (403, Class::Final),
            (404, Class::Final),
            (408, Class::Final),
            (409, Class::Final),
            (422, Class::Final),
            (428, Class::Final),
            (429, Class::RateLimited),
            (430, Class::Final),
            (500, Class::Final),
            (501, Class::Final),
            (502, Class::Transient),
            (503, Class::Transient),
            (504, Class::Transient),
            (505, Class::Final),
            (599, Class::Final),
            (0, Class::Final),
            (999, Class::Final),
            (u16::MAX, Class::Final),
        ];
        let p = roomy();
        let h = headers(None);
        for (status, class) in statuses {
            for (name, retry_patch, idempotent) in METHODS {
                let p = p.with_retry_patch(retry_patch);
                let attempt = Attempt::Response {
                    status,
                    headers: &h,
                };
                let expected = match (class, idempotent) {
                    (Class::Success, _) => stop(StopReason::Success),
                    (Class::Final, _) => stop(StopReason::NotRetryable),
                    (Class::RateLimited, _) | (Class::Transient, true) => retry(MS(100)),
                    (Class::Transient, false) => stop(StopReason::NotIdempotent),
                };
                assert_eq!(
                    decide(&p, &method(name), &attempt, 1, Duration::ZERO, now(), 0.5),
                    expected,
                    "{status} {name} retry_patch={retry_patch}"
                );
            }
        }
    }

    #[test]
    fn transport_failures_with_every_method() {
        let p = roomy();
        for (name, retry_patch, idempotent) in METHODS {
            let p = p.with_retry_patch(retry_patch);
            let m = method(name);
            let table = [
                // Nothing was sent: retried whatever the method.
                (Attempt::ConnectFailed, retry(MS(100))),
                // Possibly processed: idempotent methods only.
                (
                    Attempt::SendFailed {
                        request_may_have_reached_server: true,
                    },
                    if idempotent {
                        retry(MS(100))
                    } else {
                        stop(StopReason::NotIdempotent)
                    },
                ),
                (
                    Attempt::SendFailed {
                        request_may_have_reached_server: false,
                    },
                    if idempotent {
                        retry(MS(100))
                    } else {
                        stop(StopReason::NotIdempotent)
                    },
                ),
                (
                    Attempt::TimedOut,
                    if idempotent {
                        retry(MS(100))
                    } else {
                        stop(StopReason::NotIdempotent)
                    },
                ),
            ];
            for (attempt, expected) in table {
                assert_eq!(
                    decide(&p, &m, &attempt, 1, Duration::ZERO, now(), 0.5),
                    expected,
                    "{attempt:?} {name} retry_patch={retry_patch}"
                );
            }
        }
    }

    #[test]
    fn post_is_retried_only_when_rate_limited_or_never_connected() {
        // The most permissive policy there is, and a server asking for a retry.
        let p = roomy().with_retry_patch(true);
        let asks_again = headers(Some("1"));
        let plain = headers(None);
        let table = [
            // Atlas's rate limiter refused it before acting on it.
            (
                Attempt::Response {
                    status: 429,
                    headers: &plain,
                },
                retry(MS(100)),
            ),
            (
                Attempt::Response {
                    status: 503,
                    headers: &asks_again,
                },
                stop(StopReason::NotIdempotent),
            ),
            (
                Attempt::Response {
                    status: 502,
                    headers: &plain,
                },
                stop(StopReason::NotIdempotent),
            ),
            (
                Attempt::Response {
                    status: 504,
                    headers: &plain,
                },
                stop(StopReason::NotIdempotent),
            ),
            (Attempt::TimedOut, stop(StopReason::NotIdempotent)),
            (
                Attempt::SendFailed {
                    request_may_have_reached_server: true,
                },
                stop(StopReason::NotIdempotent),
            ),
            (
                Attempt::SendFailed {
                    request_may_have_reached_server: false,
                },
                stop(StopReason::NotIdempotent),
            ),
            (Attempt::ConnectFailed, retry(MS(100))),
        ];
        for attempt_number in [1, 2, 3] {
            for (attempt, expected) in table {
                let expected = match expected {
                    Decision::Retry { .. } => retry(p.backoff(attempt_number, 0.5)),
                    stop => stop,
                };
                assert_eq!(
                    decide(
                        &p,
                        &Method::POST,
                        &attempt,
                        attempt_number,
                        Duration::ZERO,
                        now(),
                        0.5
                    ),
                    expected,
                    "POST {attempt:?} attempt {attempt_number}"
                );
            }
        }
    }

    #[test]
    fn outcome_is_judged_before_the_budgets() {
        // Even on the last attempt and out of time, a non-retryable outcome says so.
        let p = RetryPolicy::none().with_max_elapsed(Duration::ZERO);
        let h = headers(None);
        let table = [
            (Method::GET, 200, StopReason::Success),
            (Method::GET, 404, StopReason::NotRetryable),
            (Method::POST, 503, StopReason::NotIdempotent),
            (Method::GET, 503, StopReason::AttemptsExhausted),
        ];
        for (m, status, reason) in table {
            let attempt = Attempt::Response {
                status,
                headers: &h,
            };
            assert_eq!(
                decide(&p, &m, &attempt, 1, S(1), now(), 0.5),
                stop(reason),
                "{m} {status}"
            );
        }
    }

    // ---- backoff -----------------------------------------------------------------------

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default(); // 200 ms base, 20 s cap
        // (attempt_number, ceiling before jitter)
        let table = [
            (0, MS(200)), // treated as the first attempt
            (1, MS(200)),
            (2, MS(400)),
            (3, MS(800)),
            (4, MS(1_600)),
            (5, MS(3_200)),
            (6, MS(6_400)),
            (7, MS(12_800)),
            (8, S(20)), // 25.6 s, capped
            (9, S(20)),
            (31, S(20)),
            (32, S(20)), // 2^31 * 200 ms would still fit; capped
            (33, S(20)), // 2^32 does not fit in u32: saturates to the cap
            (64, S(20)),
            (u32::MAX, S(20)),
        ];
        for (attempt_number, ceiling) in table {
            assert_eq!(
                p.backoff(attempt_number, 0.0),
                Duration::ZERO,
                "attempt {attempt_number}, jitter 0"
            );
            assert_eq!(
                p.backoff(attempt_number, 0.5),
                ceiling / 2,
                "attempt {attempt_number}, jitter 0.5"
            );
            let high = p.backoff(attempt_number, 0.999);
            assert_close(
                high,
                ceiling.mul_f64(0.999),
                &format!("attempt {attempt_number}, jitter 0.999"),
            );
            assert!(high < ceiling, "attempt {attempt_number}: {high:?}");
        }
    }

    #[test]
    fn decide_uses_the_backoff_for_each_attempt() {
        let p = roomy();
        for (attempt_number, ceiling) in [(1, MS(200)), (2, MS(400)), (3, MS(800)), (8, S(20))] {
            for jitter in [0.0, 0.25, 0.5, 0.999] {
                let d = decide(
                    &p,
                    &Method::GET,
                    &Attempt::TimedOut,
                    attempt_number,
                    Duration::ZERO,
                    now(),
                    jitter,
                );
                let Decision::Retry { after } = d else {
                    panic!("attempt {attempt_number}, jitter {jitter}: {d:?}");
                };
                assert_close(
                    after,
                    ceiling.mul_f64(jitter),
                    &format!("attempt {attempt_number}, jitter {jitter}"),
                );
            }
        }
    }

    #[test]
    fn backoff_clamps_out_of_range_jitter() {
        let p = RetryPolicy::default();
        let table = [
            (f64::NAN, Duration::ZERO),
            (-0.5, Duration::ZERO),
            (-0.0, Duration::ZERO),
            (f64::NEG_INFINITY, Duration::ZERO),
            (1.0, MS(800)),
            (7.5, MS(800)),
            (f64::INFINITY, MS(800)),
        ];
        for (jitter, expected) in table {
            assert_eq!(p.backoff(3, jitter), expected, "jitter {jitter}");
        }
    }

    #[test]
    fn backoff_never_overflows() {
        let p = RetryPolicy::default()
            .with_base_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        for attempt_number in [1, 2, 40, u32::MAX] {
            assert_eq!(p.backoff(attempt_number, 1.0), Duration::MAX);
            assert!(p.backoff(attempt_number, 0.999) < Duration::MAX);
            assert_eq!(p.backoff(attempt_number, 0.0), Duration::ZERO);
        }
        // A tiny base keeps doubling past 2^32 without jumping to the cap.
        let tiny = RetryPolicy::default()
            .with_base_delay(Duration::from_nanos(1))
            .with_max_delay(S(3_600));
        // (attempt_number, ceiling)
        let table = [
            (1, Duration::from_nanos(1)),
            (31, Duration::from_nanos(1 << 30)),
            (34, Duration::from_nanos(1 << 33)), // 8.59 s
            (42, Duration::from_nanos(1 << 41)), // 36.6 min
            (43, S(3_600)),                      // 73 min: capped
            (200, S(3_600)),
        ];
        for (attempt_number, ceiling) in table {
            assert_eq!(
                tiny.backoff(attempt_number, 1.0),
                ceiling,
                "attempt {attempt_number}"
            );
        }
        let zero = RetryPolicy::default().with_base_delay(Duration::ZERO);
        assert_eq!(zero.backoff(u32::MAX, 0.999), Duration::ZERO);
        let no_wait = RetryPolicy::default().with_max_delay(Duration::ZERO);
        assert_eq!(no_wait.backoff(5, 0.999), Duration::ZERO);
    }

    // ---- Retry-After in decide ---------------------------------------------------------

    #[test]
    fn retry_after_raises_the_delay_and_is_never_cut_short() {
        let p = roomy(); // 200 ms base, 20 s cap
        let in_7s = httpdate::fmt_http_date(now() + S(7));
        let in_1h = httpdate::fmt_http_date(now() + S(3_600));
        let an_hour_ago = httpdate::fmt_http_date(now() - S(3_600));
        // (Retry-After, attempt_number, jitter, expected delay)
        let table: [(Option<&str>, u32, f64, Duration); 15] = [
            (None, 1, 0.5, MS(100)),
            (Some("3"), 1, 0.0, S(3)),
            (Some("3"), 1, 0.999, S(3)),
            (Some(" 3 "), 1, 0.5, S(3)),
            (Some("0"), 1, 0.5, MS(100)), // the backoff is larger
            (Some("0"), 3, 0.5, MS(400)),
            (Some("1"), 7, 0.5, MS(6_400)), // backoff 6.4 s beats 1 s
            (Some("120"), 1, 0.5, S(120)),  // above max_delay: waited in full
            (Some(in_7s.as_str()), 1, 0.5, S(7)),
            (Some(in_1h.as_str()), 1, 0.5, S(3_600)),
            (Some(an_hour_ago.as_str()), 2, 0.5, MS(200)), // past: zero, so the backoff
            (Some("soon"), 2, 0.5, MS(200)),               // garbage: ignored
            (Some("-5"), 2, 0.5, MS(200)),
            (Some("1.5"), 2, 0.5, MS(200)),
            (Some(""), 2, 0.5, MS(200)),
        ];
        for (value, attempt_number, jitter, expected) in table {
            let h = headers(value);
            for status in [429, 502, 503, 504] {
                let attempt = Attempt::Response {
                    status,
                    headers: &h,
                };
                assert_eq!(
                    decide(
                        &p,
                        &Method::GET,
                        &attempt,
                        attempt_number,
                        Duration::ZERO,
                        now(),
                        jitter
                    ),
                    retry(expected),
                    "{status} Retry-After {value:?}, attempt {attempt_number}, jitter {jitter}"
                );
            }
        }
    }

    #[test]
    fn retry_after_is_read_relative_to_now() {
        let p = roomy();
        let date = httpdate::fmt_http_date(now() + S(10));
        let h = headers(Some(&date));
        let attempt = Attempt::Response {
            status: 503,
            headers: &h,
        };
        for (now_offset, expected) in [
            (0, S(10)),
            (4, S(6)),
            (10, Duration::ZERO),
            (60, Duration::ZERO),
        ] {
            let later = now() + S(now_offset);
            assert_eq!(
                decide(&p, &Method::GET, &attempt, 1, Duration::ZERO, later, 0.0),
                retry(expected),
                "now + {now_offset} s"
            );
        }
    }

    #[test]
    fn retry_after_that_is_not_text_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_bytes(b"\xff5").expect("opaque header value"),
        );
        let attempt = Attempt::Response {
            status: 503,
            headers: &h,
        };
        assert_eq!(
            decide(
                &roomy(),
                &Method::GET,
                &attempt,
                1,
                Duration::ZERO,
                now(),
                0.5
            ),
            retry(MS(100))
        );
    }

    #[test]
    fn first_retry_after_header_wins() {
        let mut h = HeaderMap::new();
        h.append(RETRY_AFTER, HeaderValue::from_static("4"));
        h.append(RETRY_AFTER, HeaderValue::from_static("9"));
        let attempt = Attempt::Response {
            status: 429,
            headers: &h,
        };
        assert_eq!(
            decide(
                &roomy(),
                &Method::GET,
                &attempt,
                1,
                Duration::ZERO,
                now(),
                0.5
            ),
            retry(S(4))
        );
    }

    #[test]
    fn retry_after_does_not_make_a_stop_retryable() {
        let p = roomy().with_retry_patch(true);
        let h = headers(Some("1"));
        let table = [
            (Method::GET, 200, StopReason::Success),
            (Method::GET, 301, StopReason::Success),
            (Method::GET, 500, StopReason::NotRetryable),
            (Method::GET, 401, StopReason::NotRetryable),
            (Method::POST, 503, StopReason::NotIdempotent),
            (Method::PUT, 502, StopReason::NotIdempotent),
        ];
        for (m, status, reason) in table {
            let attempt = Attempt::Response {
                status,
                headers: &h,
            };
            assert_eq!(
                decide(&p, &m, &attempt, 1, Duration::ZERO, now(), 0.5),
                stop(reason),
                "{m} {status}"
            );
        }
    }

    /// A wait the server asks for that would end past the time budget stops the call at
    /// once, with the 429 or 503 that asked: it is not shortened to fit.
    #[test]
    fn retry_after_past_the_budget_stops_at_once() {
        let p = RetryPolicy::default(); // 60 s budget, 20 s max_delay
        for (elapsed, asked, expected) in [
            (S(0), "45", retry(S(45))),
            (S(10), "50", retry(S(50))),
            (S(10), "51", stop(StopReason::OutOfTime)),
            (S(0), "120", stop(StopReason::OutOfTime)),
        ] {
            let h = headers(Some(asked));
            for (status, m) in [(429, Method::POST), (503, Method::GET)] {
                let attempt = Attempt::Response {
                    status,
                    headers: &h,
                };
                assert_eq!(
                    decide(&p, &m, &attempt, 1, elapsed, now(), 0.5),
                    expected,
                    "{status} after {elapsed:?}, Retry-After {asked}"
                );
            }
        }
    }

    // ---- budgets -----------------------------------------------------------------------

    #[test]
    fn attempts_exhausted() {
        // (max_attempts, attempt_number, expected)
        let table = [
            (1, 1, stop(StopReason::AttemptsExhausted)),
            (1, 0, retry(MS(100))), // 0 < 1; only a confused caller passes 0
            (4, 1, retry(MS(100))),
            (4, 2, retry(MS(200))),
            (4, 3, retry(MS(400))),
            (4, 4, stop(StopReason::AttemptsExhausted)),
            (4, 5, stop(StopReason::AttemptsExhausted)),
            (4, u32::MAX, stop(StopReason::AttemptsExhausted)),
            (u32::MAX, u32::MAX - 1, retry(S(10))),
            (u32::MAX, u32::MAX, stop(StopReason::AttemptsExhausted)),
        ];
        for (max_attempts, attempt_number, expected) in table {
            let p = RetryPolicy::default()
                .with_max_attempts(max_attempts)
                .with_max_elapsed(Duration::MAX);
            for attempt in [Attempt::ConnectFailed, Attempt::TimedOut] {
                assert_eq!(
                    decide(
                        &p,
                        &Method::GET,
                        &attempt,
                        attempt_number,
                        Duration::ZERO,
                        now(),
                        0.5
                    ),
                    expected,
                    "max {max_attempts}, attempt {attempt_number}, {attempt:?}"
                );
            }
        }
    }

    #[test]
    fn out_of_time() {
        // Default budget: 60 s. (elapsed, Retry-After, jitter, expected)
        let table = [
            (Duration::ZERO, None, 0.5, retry(MS(100))),
            (S(59), None, 0.5, retry(MS(100))),
            (S(60) - MS(100), None, 0.5, retry(MS(100))), // ends exactly on the budget
            (S(60) - MS(99), None, 0.5, stop(StopReason::OutOfTime)),
            (S(60), None, 0.0, retry(Duration::ZERO)), // a zero wait still fits
            (S(60), None, 0.5, stop(StopReason::OutOfTime)),
            (S(61), None, 0.0, stop(StopReason::OutOfTime)),
            (S(59) + MS(900), None, 0.999, stop(StopReason::OutOfTime)),
            (S(40), Some("20"), 0.5, retry(S(20))),
            (S(41), Some("20"), 0.5, stop(StopReason::OutOfTime)),
            (S(50), Some("30"), 0.5, stop(StopReason::OutOfTime)), // 30 capped to 20: still over
            (Duration::MAX, None, 0.5, stop(StopReason::OutOfTime)), // overflow is out of time
        ];
        let p = RetryPolicy::default();
        for (elapsed, value, jitter, expected) in table {
            let h = headers(value);
            let attempt = Attempt::Response {
                status: 503,
                headers: &h,
            };
            assert_eq!(
                decide(&p, &Method::DELETE, &attempt, 1, elapsed, now(), jitter),
                expected,
                "elapsed {elapsed:?}, Retry-After {value:?}, jitter {jitter}"
            );
        }
    }

    #[test]
    fn attempts_are_checked_before_time() {
        let p = RetryPolicy::default().with_max_elapsed(Duration::ZERO);
        assert_eq!(
            decide(
                &p,
                &Method::GET,
                &Attempt::ConnectFailed,
                4,
                S(100),
                now(),
                0.5
            ),
            stop(StopReason::AttemptsExhausted)
        );
        assert_eq!(
            decide(
                &p,
                &Method::GET,
                &Attempt::ConnectFailed,
                3,
                S(100),
                now(),
                0.5
            ),
            stop(StopReason::OutOfTime)
        );
    }

    // ---- parse_retry_after -------------------------------------------------------------

    #[test]
    fn parse_delta_seconds() {
        let table: [(&str, Option<Duration>); 27] = [
            ("0", Some(Duration::ZERO)),
            ("1", Some(S(1))),
            ("120", Some(S(120))),
            ("000120", Some(S(120))),
            (" 120", Some(S(120))),
            ("120 ", Some(S(120))),
            ("\t 120 \t", Some(S(120))),
            ("\r\n5\r\n", Some(S(5))),
            ("18446744073709551615", Some(S(u64::MAX))),
            ("18446744073709551616", Some(S(u64::MAX))), // saturates
            (
                "99999999999999999999999999999999999999999",
                Some(S(u64::MAX)),
            ),
            ("", None),
            ("   ", None),
            ("+5", None),
            ("-5", None),
            ("-0", None),
            ("1.5", None),
            ("1e3", None),
            ("5s", None),
            ("0x10", None),
            ("1 2", None),
            ("1_000", None),
            ("five", None),
            ("١٢", None), // Arabic-Indic digits
            ("５", None), // full-width digit
            ("5\u{0}", None),
            ("NaN", None),
        ];
        for (value, expected) in table {
            assert_eq!(parse_retry_after(value, now()), expected, "{value:?}");
        }
    }

    #[test]
    fn parse_http_dates() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let date = UNIX_EPOCH + S(784_111_777);
        let forms = [
            "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850
            "Sun Nov  6 08:49:37 1994",       // asctime
            "  Sun, 06 Nov 1994 08:49:37 GMT\t",
        ];
        // (now, expected wait)
        let table = [
            (date - S(90), Some(S(90))),
            (date - MS(1_500), Some(MS(1_500))),
            (date, Some(Duration::ZERO)),
            (date + S(1), Some(Duration::ZERO)), // past
            (date + S(86_400 * 365), Some(Duration::ZERO)),
            (UNIX_EPOCH, Some(S(784_111_777))),
        ];
        for form in forms {
            for (now, expected) in table {
                assert_eq!(
                    parse_retry_after(form, now),
                    expected,
                    "{form:?} at {now:?}"
                );
            }
        }
        // Formatting a time and reading it back gives the difference.
        let later = httpdate::fmt_http_date(now() + S(42));
        assert_eq!(parse_retry_after(&later, now()), Some(S(42)));
    }

    #[test]
    fn parse_rejects_malformed_dates() {
        let table = [
            "Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:60:37 GMT",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
            "Thu, 01 Jan 1959 00:00:00 GMT", // before 1970
            "Sunday, 06-Nov-94 08:49:37",
            "Sun Nov 6 08:49:37 1994",
            "1994-11-06T08:49:37Z",
            "Sun, 06 Nov 1994 08:49:37 GMT garbage",
            "Sün, 06 Nov 1994 08:49:37 GMT",
        ];
        for value in table {
            assert_eq!(parse_retry_after(value, now()), None, "{value:?}");
        }
    }

    #[test]
    fn parse_never_panics() {
        let seeds = [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Wednesday, 09-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "18446744073709551616",
        ];
        let replacements = ['0', '9', ' ', '-', ':', ',', 'G', 'x', '\u{0}', 'é', '𝄞'];
        let mut inputs: Vec<String> = Vec::new();
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for cut in 0..=chars.len() {
                inputs.push(chars.iter().take(cut).collect());
                inputs.push(chars.iter().skip(cut).collect());
                for &r in &replacements {
                    let mut mutated = chars.clone();
                    if let Some(c) = mutated.get_mut(cut) {
                        *c = r;
                    }
                    inputs.push(mutated.iter().collect());
                    let mut inserted = chars.clone();
                    inserted.insert(cut, r);
                    inputs.push(inserted.iter().collect());
                }
            }
        }
        let alphabet = ['0', '5', ' ', '+', '-', '.', 'a', '\t', 'ß'];
        for &a in &alphabet {
            for &b in &alphabet {
                for &c in &alphabet {
                    inputs.push([a, b, c].iter().collect());
                }
            }
        }
        inputs.push("9".repeat(10_000));
        inputs.push(" ".repeat(10_000));
        let nows = [
            UNIX_EPOCH,
            now(),
            UNIX_EPOCH + S(253_402_300_799),
            UNIX_EPOCH + S(u32::MAX.into()) * 1_000,
        ];
        for input in &inputs {
            for &at in &nows {
                let _ = parse_retry_after(input, at);
            }
        }
        assert!(inputs.len() > 1_000);
    }

    // ---- Sleep and Jitter --------------------------------------------------------------

    #[tokio::test]
    async fn recording_sleep_records_and_returns_immediately() {
        let sleep = RecordingSleep::new();
        assert!(sleep.slept().is_empty());
        for d in [MS(5), Duration::ZERO, S(3_600), Duration::MAX] {
            sleep.sleep(d).await;
        }
        assert_eq!(
            sleep.slept(),
            vec![MS(5), Duration::ZERO, S(3_600), Duration::MAX]
        );
        // Recorded at call time, even if never awaited.
        drop(sleep.sleep(S(1)));
        assert_eq!(sleep.slept().last(), Some(&S(1)));
    }

    /// A miniature retry loop, as a client would write it, against a scripted server.
    async fn drive(
        policy: &RetryPolicy,
        method: &Method,
        outcomes: &[Attempt<'_>],
        sleep: &dyn Sleep,
        jitter: &dyn Jitter,
    ) -> (u32, StopReason) {
        let mut elapsed = Duration::ZERO;
        let mut attempt_number = 0;
        loop {
            attempt_number += 1;
            let Some(attempt) = outcomes.get(attempt_number as usize - 1) else {
                panic!("the loop made more attempts than scripted");
            };
            match decide(
                policy,
                method,
                attempt,
                attempt_number,
                elapsed,
                now(),
                jitter.next(),
            ) {
                Decision::Retry { after } => {
                    sleep.sleep(after).await;
                    elapsed += after;
                }
                Decision::Stop(reason) => return (attempt_number, reason),
            }
        }
    }

    #[tokio::test]
    async fn a_retry_loop_sleeps_as_decided() {
        let busy = headers(None);
        let slow_down = headers(Some("2"));
        let ok = headers(None);
        let unavailable = Attempt::Response {
            status: 503,
            headers: &busy,
        };
        let throttled = Attempt::Response {
            status: 429,
            headers: &slow_down,
        };
        let success = Attempt::Response {
            status: 200,
            headers: &ok,
        };
        let jitter = FixedJitter(0.5);

        // Persistent 503 on a GET: the default four attempts, three waits.
        let sleep = Arc::new(RecordingSleep::new());
        let outcome = drive(
            &RetryPolicy::default(),
            &Method::GET,
            &[unavailable; 4],
            sleep.as_ref(),
            &jitter,
        )
        .await;
        assert_eq!(outcome, (4, StopReason::AttemptsExhausted));
        assert_eq!(sleep.slept(), vec![MS(100), MS(200), MS(400)]);

        // Connection refused, throttled, then success.
        let sleep = RecordingSleep::new();
        let outcome = drive(
            &RetryPolicy::default(),
            &Method::GET,
            &[Attempt::ConnectFailed, throttled, success],
            &sleep,
            &jitter,
        )
        .await;
        assert_eq!(outcome, (3, StopReason::Success));
        assert_eq!(sleep.slept(), vec![MS(100), S(2)]);

        // POST: the refused connection is retried, the 503 is not.
        let sleep = RecordingSleep::new();
        let outcome = drive(
            &RetryPolicy::default(),
            &Method::POST,
            &[Attempt::ConnectFailed, unavailable],
            &sleep,
            &jitter,
        )
        .await;
        assert_eq!(outcome, (2, StopReason::NotIdempotent));
        assert_eq!(sleep.slept(), vec![MS(100)]);

        // A small time budget ends the loop before the attempts run out.
        let sleep = RecordingSleep::new();
        let outcome = drive(
            &RetryPolicy::default()
                .with_max_attempts(10)
                .with_max_elapsed(MS(350)),
            &Method::DELETE,
            &[Attempt::TimedOut; 10],
            &sleep,
            &jitter,
        )
        .await;
        assert_eq!(outcome, (3, StopReason::OutOfTime));
        assert_eq!(sleep.slept(), vec![MS(100), MS(200)]);

        // No retries at all.
        let sleep = RecordingSleep::new();
        let outcome = drive(
            &RetryPolicy::none(),
            &Method::GET,
            &[unavailable],
            &sleep,
            &jitter,
        )
        .await;
        assert_eq!(outcome, (1, StopReason::AttemptsExhausted));
        assert!(sleep.slept().is_empty());
    }

    #[tokio::test]
    async fn tokio_sleep_waits() {
        let start = tokio::time::Instant::now();
        TokioSleep.sleep(MS(20)).await;
        assert!(start.elapsed() >= MS(20));
        TokioSleep.sleep(Duration::ZERO).await;
    }

    #[test]
    fn tokio_sleep_future_can_be_created_outside_a_runtime() {
        // Creating (not polling) the future must not need a runtime.
        drop(TokioSleep.sleep(S(1)));
    }

    #[test]
    fn sleeps_and_jitters_are_shareable_trait_objects() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn Sleep>();
        assert_send_sync::<dyn Jitter>();
        let sleeps: Vec<Arc<dyn Sleep>> =
            vec![Arc::new(TokioSleep), Arc::new(RecordingSleep::new())];
        let jitters: Vec<Box<dyn Jitter>> =
            vec![Box::new(RandomJitter::new()), Box::new(FixedJitter(0.25))];
        assert_eq!(sleeps.len(), 2);
        assert_eq!(jitters.len(), 2);
        assert!(format!("{sleeps:?} {jitters:?}").contains("RecordingSleep"));
    }

    #[test]
    fn fixed_jitter_returns_its_value() {
        for value in [0.0, 0.25, 0.999, 5.0] {
            let j = FixedJitter(value);
            assert_eq!(j.next().to_bits(), value.to_bits());
            assert_eq!(j.next().to_bits(), value.to_bits());
        }
        assert!(FixedJitter(f64::NAN).next().is_nan());
    }

    #[test]
    fn random_jitter_is_uniform_enough_and_seeded_per_instance() {
        let j = RandomJitter::default();
        let samples: Vec<f64> = (0..10_000).map(|_| j.next()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
        let mut buckets = [0u32; 10];
        for x in &samples {
            if let Some(b) = buckets.get_mut((x * 10.0) as usize) {
                *b += 1;
            }
        }
        assert!(
            buckets.iter().all(|&n| (800..1_200).contains(&n)),
            "{buckets:?}"
        );
        let first: Vec<u64> = (0..4)
            .map(|_| RandomJitter::new().next().to_bits())
            .collect();
        assert!(first.windows(2).any(|w| w.first() != w.get(1)), "{first:?}");
    }

    #[test]
    fn random_jitter_is_shared_between_threads() {
        let j = Arc::new(RandomJitter::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let j = Arc::clone(&j);
                std::thread::spawn(move || (0..1_000).all(|_| (0.0..1.0).contains(&j.next())))
            })
            .collect();
        for h in handles {
            assert!(h.join().expect("thread"));
        }
    }
}
