#![deny(missing_docs)]
//! When a call is tried again, and how long it waits first.
//!
//! [`RetryPolicy`] is the configuration. The rules, applied by the one retry loop that serves
//! API calls and service-account token requests alike:
//!
//! 1. **What may be retried** (one classifier, which [`Error::is_retryable`] uses too): a 429
//!    for every method (Atlas's rate limiter refuses before acting) and a connection never
//!    made (nothing was sent); a 502, 503, 504, a timeout or a connection that broke after the
//!    request went out only for idempotent methods: GET, HEAD, OPTIONS, DELETE, and PATCH when
//!    [`RetryPolicy::with_retry_patch`] opted in. Nothing else (other statuses, TLS failures,
//!    bodies that do not decode, refused arguments).
//! 2. **How long to wait**: exponential backoff with full jitter, a random wait up to
//!    `min(max_delay, base_delay * 2^(attempt - 1))`; a `Retry-After` (seconds or an HTTP
//!    date, RFC 9110 §10.2.3) is waited in full when it is longer.
//! 3. **When to stop**: after `max_attempts` attempts, or at once when the wait would end past
//!    `max_elapsed` since the call started. The error then says how many attempts it took and
//!    over how long.
//!
//! Every wait is `tokio::time::sleep`: a paused tokio clock drives it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use crate::error::{Error, TimeLimit};

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

    /// Whether a request with `method` may be repeated after it could have reached the server.
    pub(crate) fn is_idempotent(&self, method: &Method) -> bool {
        matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
        ) || (self.retry_patch && *method == Method::PATCH)
    }

    /// The ceiling of the backoff after attempt `attempt` (1 for the first):
    /// `min(max_delay, base_delay * 2^(attempt - 1))`, saturating.
    fn ceiling(&self, attempt: u32) -> Duration {
        2u32.checked_pow(attempt.saturating_sub(1))
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }
}

/// A random wait in `[0, max)` (full jitter), from the operating system's random numbers.
pub(crate) fn jittered(max: Duration) -> Duration {
    // The top 53 bits of a random u64, scaled to [0, 1). Without randomness, half the wait.
    let unit = getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64);
    max.mul_f64(unit)
}

/// Whether a failure may be tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retryable {
    /// Never: the same request would fail the same way.
    No,
    /// For every method: the server did not act on it.
    Always,
    /// Only for an idempotent method: the server may have acted on it.
    IfIdempotent,
}

/// The one classifier of failures (rule 1 of the [module documentation](self)).
pub(crate) fn classify(error: &Error) -> Retryable {
    match error {
        Error::Api(failure) => match failure.status().as_u16() {
            429 => Retryable::Always,
            502..=504 => Retryable::IfIdempotent,
            _ => Retryable::No,
        },
        Error::Timeout {
            limit: TimeLimit::Connect(_),
            ..
        } => Retryable::Always,
        Error::Timeout { .. } => Retryable::IfIdempotent,
        Error::Transport { .. } if error.is_tls() => Retryable::No,
        Error::Transport { source, .. } if source.is_connect() => Retryable::Always,
        Error::Transport { .. } => Retryable::IfIdempotent,
        // A wait that ended on a failure is as retryable as that failure.
        Error::Wait(wait) => wait.last_error().map_or(Retryable::No, classify),
        _ => Retryable::No,
    }
}

/// The wait a `Retry-After` header asks for: delta-seconds, or an HTTP date (a date already
/// past asks for no wait). `None` when there is none or it does not parse.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    // An HTTP date is wall-clock time: only the system clock can read it.
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, SystemTime::now())
}

/// A `Retry-After` value read at `now`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: parsing fails only by overflow.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The one retry loop: makes attempts with `attempt` (given the attempt's number, 1 for the
/// first) until one succeeds or the policy stops; the last error then says how many attempts
/// it took over how long.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    method: &Method,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let idempotent = policy.is_idempotent(method);
    let mut number = 0;
    loop {
        number += 1;
        let error = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let retryable = match classify(&error) {
            Retryable::Always => true,
            Retryable::IfIdempotent => idempotent,
            Retryable::No => false,
        };
        let wait = jittered(policy.ceiling(number)).max(error.retry_after().unwrap_or_default());
        let in_budget = started.elapsed().saturating_add(wait) <= policy.max_elapsed;
        if !retryable || number >= policy.max_attempts || !in_budget {
            tracing::debug!(attempt = number, retryable, error = %error, "not retrying");
            return Err(error.after_attempts(number, started.elapsed()));
        }
        tracing::debug!(attempt = number, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn answered(status: u16, retry_after: Option<&str>) -> Error {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, value.parse().unwrap());
        }
        Error::api(
            StatusCode::from_u16(status).unwrap(),
            headers,
            b"",
            false,
            "h",
        )
    }

    /// Runs the loop over answers that all fail with `status`, on the paused clock, and
    /// returns the error and the instants of the attempts.
    async fn attempts_of(
        policy: RetryPolicy,
        method: Method,
        status: u16,
        retry_after: Option<&str>,
    ) -> (Error, Vec<Duration>) {
        let start = Instant::now();
        let mut at = Vec::new();
        let error = run(&policy, &method, |_| {
            at.push(start.elapsed());
            std::future::ready(Err::<(), _>(answered(status, retry_after)))
        })
        .await
        .unwrap_err();
        (error, at)
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_within_its_ceilings_on_the_paused_clock() {
        let policy = RetryPolicy::default()
            .with_max_attempts(6)
            .with_max_elapsed(Duration::from_secs(600));
        let (error, at) = attempts_of(policy, Method::GET, 503, None).await;
        assert_eq!(at.len(), 6);
        let ceilings = [200, 400, 800, 1600, 3200].map(Duration::from_millis);
        for (gap, ceiling) in at.windows(2).map(|w| w[1] - w[0]).zip(ceilings) {
            // tokio's timers round a deadline up to the next millisecond.
            assert!(
                gap <= ceiling + Duration::from_millis(1),
                "{gap:?} > {ceiling:?}"
            );
        }
        assert!(
            error.to_string().contains("after 6 attempts over"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_in_full_and_past_the_budget_stops_at_once() {
        let (_, at) = attempts_of(RetryPolicy::default(), Method::GET, 503, Some("3")).await;
        let gaps: Vec<_> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.len(), 3);
        assert!(
            gaps.iter().all(|g| *g >= Duration::from_secs(3)),
            "{gaps:?}"
        );

        let policy = RetryPolicy::default().with_max_elapsed(Duration::from_secs(30));
        let (error, at) = attempts_of(policy, Method::GET, 429, Some("55")).await;
        assert_eq!(at, [Duration::ZERO]);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(55)));
    }

    #[tokio::test(start_paused = true)]
    async fn only_what_may_be_repeated_is_repeated() {
        // A 429 for any method; a 503 not for a POST, nor a PATCH unless opted in; a 404 never.
        let cases = [
            (RetryPolicy::default(), Method::POST, 429, 4),
            (RetryPolicy::default(), Method::POST, 503, 1),
            (RetryPolicy::default(), Method::PATCH, 503, 1),
            (
                RetryPolicy::default().with_retry_patch(true),
                Method::PATCH,
                503,
                4,
            ),
            (RetryPolicy::default(), Method::DELETE, 504, 4),
            (RetryPolicy::default(), Method::GET, 404, 1),
            (RetryPolicy::none(), Method::GET, 503, 1),
        ];
        for (policy, method, status, expected) in cases {
            let (_, at) = attempts_of(policy, method.clone(), status, None).await;
            assert_eq!(at.len(), expected, "{method} {status}");
        }
    }

    #[test]
    fn ceilings_saturate_and_jitter_stays_below_them() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.ceiling(40), policy.max_delay());
        assert_eq!(policy.ceiling(u32::MAX), policy.max_delay());
        let huge = RetryPolicy::default()
            .with_base_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        assert_eq!(huge.ceiling(2), Duration::MAX);
        for _ in 0..100 {
            assert!(jittered(Duration::from_secs(1)) < Duration::from_secs(1));
        }
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }

    proptest::proptest! {
        #[test]
        fn retry_after_takes_any_text_and_reads_any_seconds_or_date(
            text in ".{0,40}",
            secs in proptest::prelude::any::<u64>(),
            at in 0u64..=253_402_300_799,
            now in 0u64..300_000_000_000,
        ) {
            let now = std::time::UNIX_EPOCH + Duration::from_secs(now);
            let _ = parse_retry_after(&text, now);
            proptest::prop_assert_eq!(
                parse_retry_after(&format!(" 0{secs}\t"), now),
                Some(Duration::from_secs(secs))
            );
            let date = std::time::UNIX_EPOCH + Duration::from_secs(at);
            proptest::prop_assert_eq!(
                parse_retry_after(&httpdate::fmt_http_date(date), now),
                Some(date.duration_since(now).unwrap_or(Duration::ZERO))
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let read = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(read("3"), Some(Duration::from_secs(3)));
        assert_eq!(read(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            read("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(read("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        assert!(read(&later).is_some_and(|d| d > Duration::from_secs(3500)));
        for bad in ["", "-1", "1.5", "soon", "3 s"] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
