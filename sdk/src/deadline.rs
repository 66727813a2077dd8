//! The time limits of one attempt (`Config::with_timeout`, `Config::with_read_timeout`),
//! enforced by the runtime with one alarm per attempt.
//!
//! reqwest can enforce both limits itself, but it arms up to three tokio timers per request (the
//! total limit, the read limit while waiting for the head, the read limit again per body frame)
//! and boxes two of them. Here an attempt sets one alarm, at the earlier of the two limits.
//! Progress (the head, a body frame) only records the time; when the alarm rings, the limit
//! that really applies is worked out and the alarm is set again if it has not passed yet. The
//! alarms are kept by one thread for the whole process ([`Watchdog`]) rather than by tokio's
//! timer wheel, which the runtime's worker threads share: a fast exchange costs a few clock reads
//! and two uncontended locks.
//!
//! A limit that runs out becomes a `reqwest::Error` (the runtime answers progenitor's `exec`
//! hook, which must return one) whose `is_timeout()` is true and whose source is an
//! [`AttemptTimedOut`] naming the limit.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

/// The two limits of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// From sending the request to the last byte of the body.
    pub total: Duration,
    /// Without any progress: before the response head, or between two body frames.
    pub read: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            total: crate::config::DEFAULT_TIMEOUT,
            read: crate::config::DEFAULT_READ_TIMEOUT,
        }
    }
}

/// Which limit of an attempt ran out; the source of the timeout's `reqwest::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptTimedOut {
    /// The attempt as a whole took longer than `Config::with_timeout`.
    Total(Duration),
    /// Nothing arrived for `Config::with_read_timeout`.
    Read(Duration),
}

impl fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptTimedOut::Total(limit) => {
                write!(f, "the attempt took longer than its timeout of {limit:?}")
            }
            AttemptTimedOut::Read(limit) => {
                write!(f, "nothing arrived for the read timeout of {limit:?}")
            }
        }
    }
}

impl std::error::Error for AttemptTimedOut {}

impl AttemptTimedOut {
    /// The limit that ended an attempt, if `error` or one of its sources is one. The runtime's
    /// timeouts reach the caller as [`crate::Error::Transport`]; this finds the limit inside.
    pub fn find_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        crate::error::source_of::<Self>(error)
    }
}

/// The clock of one attempt: when it started and when something last arrived.
#[derive(Debug)]
pub(crate) struct Progress {
    started: Instant,
    /// Nanoseconds from `started` to the last progress (an atomic so that the attempt's future
    /// stays `Send` while it borrows this).
    last: AtomicU64,
}

impl Progress {
    /// Starts the clock now.
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// Records that data arrived now: the read limit counts from here.
    pub fn mark(&self) {
        let since = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(since, Ordering::Relaxed);
    }

    /// The moment the first limit runs out, and which one that is.
    fn due(&self, limits: Limits) -> (Instant, AttemptTimedOut) {
        let total = after(self.started, limits.total);
        let last = after(
            self.started,
            Duration::from_nanos(self.last.load(Ordering::Relaxed)),
        );
        let read = after(last, limits.read);
        if read < total {
            (read, AttemptTimedOut::Read(limits.read))
        } else {
            (total, AttemptTimedOut::Total(limits.total))
        }
    }
}

/// `at + d`, or a moment a century away when that does not fit in an `Instant` (a limit of
/// `Duration::MAX` means none).
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(at)
}

/// Runs `work` within `limits`, counted on `progress` (which `work` marks as data arrives).
/// `work` is polled first, so an exchange that completes is never cut off by a limit that ran
/// out at the same moment. `work` comes pinned by the caller: taken by value, it would be held
/// twice in this future (as the argument and as the pinned local).
///
/// The wake-up at the limit comes from the process's [`Watchdog`]: arming it is a few
/// uncontended instructions under a lock, where a tokio timer per attempt is measurably more
/// (its wheel is shared with the runtime's worker threads). The alarm is set once, for the
/// limit due when the work first waits; when it rings the limit that really applies is worked
/// out (progress may have moved it) and the alarm is set again for it.
pub(crate) async fn within<F: Future>(
    limits: Limits,
    progress: &Progress,
    mut work: std::pin::Pin<&mut F>,
) -> Result<F::Output, AttemptTimedOut> {
    let mut alarm: Option<Alarm> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let now = Instant::now();
        let (due, which) = progress.due(limits);
        if due <= now {
            return Poll::Ready(Err(which));
        }
        match &mut alarm {
            None => alarm = Some(Watchdog::global().arm(due, cx.waker())),
            // Rung (or about to): set again for the limit that applies now.
            Some(armed) if armed.due <= now => armed.set(due, cx.waker()),
            Some(armed) if !armed.wakes(cx.waker()) => armed.set(due, cx.waker()),
            Some(_) => {}
        }
        Poll::Pending
    })
    .await
}

/// One thread for the whole process that wakes attempts whose limit has come. It sleeps until
/// the earliest limit it holds; an attempt that finishes takes its alarm back. As every attempt
/// gets the same limits, a new alarm is almost always later than the one the thread waits for,
/// so setting it wakes nobody: the thread runs about once per read timeout while calls are in
/// flight, and not at all when none are.
pub(crate) struct Watchdog {
    state: std::sync::Mutex<Alarms>,
    ring: std::sync::Condvar,
}

#[derive(Default)]
struct Alarms {
    /// Alarm slots; a free one has no waker and is listed in `free`.
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// When the thread wakes next on its own (`None`: only when notified).
    wakes_at: Option<Instant>,
    /// Whether the thread runs (it is started by the first alarm).
    running: bool,
}

struct Slot {
    due: Instant,
    waker: Option<std::task::Waker>,
}

/// An alarm set on the [`Watchdog`]; dropping it takes the alarm back.
pub(crate) struct Alarm {
    key: usize,
    due: Instant,
    /// Which waker the alarm's slot holds, to tell whether a poll brought another one (what
    /// `Waker::will_wake` compares). Only compared: the slot's own clone keeps that waker
    /// alive, so the address cannot be another waker's meanwhile. A second clone here would
    /// cost two more atomic operations per attempt on a counter the waking thread also
    /// writes.
    waker: (usize, usize),
}

/// What identifies a waker for `Waker::will_wake`: the addresses of its data and its vtable,
/// kept as numbers (they are only compared, never followed).
fn identity(waker: &std::task::Waker) -> (usize, usize) {
    (waker.data() as usize, waker.vtable() as *const _ as usize)
}

impl Watchdog {
    /// The process's watchdog.
    pub(crate) fn global() -> &'static Watchdog {
        static WATCHDOG: std::sync::OnceLock<Watchdog> = std::sync::OnceLock::new();
        WATCHDOG.get_or_init(|| Watchdog {
            state: std::sync::Mutex::new(Alarms::default()),
            ring: std::sync::Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Alarms> {
        // No code under this lock can panic; should one ever, the alarms are still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes `waker` at `due` (or soon after), unless the returned alarm is dropped first.
    fn arm(&'static self, due: Instant, waker: &std::task::Waker) -> Alarm {
        let mut alarms = self.lock();
        let slot = Slot {
            due,
            waker: Some(waker.clone()),
        };
        let key = match alarms.free.pop() {
            Some(key) => {
                alarms.slots[key] = slot;
                key
            }
            None => {
                alarms.slots.push(slot);
                alarms.slots.len() - 1
            }
        };
        self.wake_by(&mut alarms, due);
        Alarm {
            key,
            due,
            waker: identity(waker),
        }
    }

    /// Makes sure the thread wakes by `due`: starts it, or rings it when it would wake later.
    fn wake_by(&'static self, alarms: &mut Alarms, due: Instant) {
        if !alarms.running {
            // Without a thread no alarm rings; a limit then ends the attempt the next time it
            // is polled, as `within` checks the time on every poll. That is the best left.
            alarms.running = std::thread::Builder::new()
                .name("sdk-deadlines".into())
                .spawn(move || self.run())
                .is_ok();
        }
        if alarms.wakes_at.is_none_or(|at| due < at) {
            alarms.wakes_at = Some(due);
            self.ring.notify_one();
        }
    }

    /// The thread: rings every alarm that is due, then sleeps until the earliest one left.
    fn run(&self) {
        let mut alarms = self.lock();
        loop {
            let now = Instant::now();
            let mut ringing = Vec::new();
            let mut next: Option<Instant> = None;
            for slot in &mut alarms.slots {
                if slot.waker.is_some() {
                    if slot.due <= now {
                        ringing.extend(slot.waker.take());
                    } else if next.is_none_or(|at| slot.due < at) {
                        next = Some(slot.due);
                    }
                }
            }
            alarms.wakes_at = next;
            if !ringing.is_empty() {
                drop(alarms);
                ringing.into_iter().for_each(std::task::Waker::wake);
                alarms = self.lock();
                // Alarms set meanwhile have updated `wakes_at`.
            }
            alarms = match alarms.wakes_at {
                None => self
                    .ring
                    .wait(alarms)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.ring
                        .wait_timeout(alarms, wait)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }
}

impl Alarm {
    /// Sets the alarm again, for `due`, waking `waker`.
    fn set(&mut self, due: Instant, waker: &std::task::Waker) {
        let watchdog = Watchdog::global();
        let mut alarms = watchdog.lock();
        let replaced = alarms.slots.get_mut(self.key).and_then(|slot| {
            slot.due = due;
            slot.waker.replace(waker.clone())
        });
        watchdog.wake_by(&mut alarms, due);
        drop(alarms);
        // A waker is dropped outside the lock: what its drop runs is not ours to know.
        drop(replaced);
        self.due = due;
        self.waker = identity(waker);
    }

    /// Whether the alarm wakes `waker`'s task.
    fn wakes(&self, waker: &std::task::Waker) -> bool {
        self.waker == identity(waker)
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let mut alarms = Watchdog::global().lock();
        let taken = alarms.slots.get_mut(self.key).map(|slot| slot.waker.take());
        if taken.is_some() {
            alarms.free.push(self.key);
        }
        drop(alarms);
        drop(taken);
    }
}

/// The `reqwest::Error` for a limit that ran out on a request to `url`: `is_timeout()` is true,
/// `url()` names the request and the source is `which`.
pub(crate) fn timeout_error(url: &reqwest::Url, which: AttemptTimedOut) -> reqwest::Error {
    body_error(
        url,
        std::io::Error::new(std::io::ErrorKind::TimedOut, which).into(),
    )
}

/// A `reqwest::Error` for the request to `url` whose source is `cause`.
///
/// reqwest has no public constructor for its errors; the one way to make one that carries a
/// given cause is to read a body that fails with it, which is what this does. The body fails
/// on its first frame, so the read completes on its first poll: it is polled here, once, in
/// place (an `async fn` would add its whole state to every future that awaits it).
pub(crate) fn body_error(
    url: &reqwest::Url,
    cause: Box<dyn std::error::Error + Send + Sync>,
) -> reqwest::Error {
    let body = reqwest::Body::wrap(FailingBody(Some(cause)));
    let read = reqwest::Response::from(http::Response::new(body)).bytes();
    let mut read = pin!(read);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match read.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => e.with_url(url.clone()),
        // Neither can happen with a body whose first frame is an error; should reqwest ever
        // change that, a request that cannot even be built still gives an error to return.
        Poll::Ready(Ok(_)) | Poll::Pending => fallback_error(url),
    }
}

/// An error naming `url` from a request that cannot be built: `/` is not an absolute URL.
fn fallback_error(url: &reqwest::Url) -> reqwest::Error {
    match reqwest::Request::try_from(http::Request::new(reqwest::Body::from(""))) {
        Err(e) => e.with_url(url.clone()),
        Ok(_) => unreachable!("a request without a scheme and host is refused"),
    }
}

/// A response body whose only frame is an error.
struct FailingBody(Option<Box<dyn std::error::Error + Send + Sync>>);

impl http_body::Body for FailingBody {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total_ms: u64, read_ms: u64) -> Limits {
        Limits {
            total: Duration::from_millis(total_ms),
            read: Duration::from_millis(read_ms),
        }
    }

    #[test]
    fn the_earlier_limit_is_due_first() {
        let p = Progress::start();
        let (due, which) = p.due(limits(1000, 200));
        assert_eq!(which, AttemptTimedOut::Read(Duration::from_millis(200)));
        assert_eq!(due, p.started + Duration::from_millis(200));
        let (due, which) = p.due(limits(100, 200));
        assert_eq!(which, AttemptTimedOut::Total(Duration::from_millis(100)));
        assert_eq!(due, p.started + Duration::from_millis(100));
    }

    #[test]
    fn progress_moves_the_read_limit_but_not_the_total() {
        let p = Progress::start();
        p.last.store(150_000_000, Ordering::Relaxed); // data arrived at +150 ms
        let (due, which) = p.due(limits(1000, 200));
        assert_eq!(due, p.started + Duration::from_millis(350));
        assert_eq!(which, AttemptTimedOut::Read(Duration::from_millis(200)));
        p.last.store(900_000_000, Ordering::Relaxed);
        let (due, which) = p.due(limits(1000, 200));
        assert_eq!(due, p.started + Duration::from_millis(1000));
        assert_eq!(which, AttemptTimedOut::Total(Duration::from_millis(1000)));
    }

    #[test]
    fn unbounded_limits_do_not_overflow() {
        let p = Progress::start();
        p.mark();
        let (due, _) = p.due(Limits {
            total: Duration::MAX,
            read: Duration::MAX,
        });
        assert!(due > p.started + Duration::from_secs(365 * 24 * 3600));
    }

    #[tokio::test]
    async fn work_that_finishes_in_time_is_returned() {
        let p = Progress::start();
        let out = within(limits(5000, 5000), &p, pin!(async { 7 })).await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test]
    async fn a_stall_ends_at_the_read_limit() {
        let p = Progress::start();
        let out = within(limits(10_000, 100), &p, pin!(std::future::pending::<()>())).await;
        assert_eq!(out, Err(AttemptTimedOut::Read(Duration::from_millis(100))));
        assert!(p.started.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn steady_progress_runs_until_the_total_limit() {
        let p = Progress::start();
        let trickle = async {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                p.mark();
            }
        };
        // The read limit is far above the gaps between frames: only the total limit can end
        // this.
        let out = within(limits(300, 1000), &p, pin!(trickle)).await;
        assert_eq!(out, Err(AttemptTimedOut::Total(Duration::from_millis(300))));
        assert!(p.started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn progress_keeps_a_slow_but_steady_exchange_alive() {
        let p = Progress::start();
        // 10 frames 30 ms apart: 300 ms in all, past the 250 ms read limit counted from the
        // start, but never 250 ms without a frame. The timer, first set for 250 ms, fires once
        // and is moved on.
        let frames = async {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                p.mark();
            }
            "done"
        };
        let out = within(limits(10_000, 250), &p, pin!(frames)).await;
        assert_eq!(out, Ok("done"));
    }

    /// A waker that counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);
    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn counter() -> (std::sync::Arc<Counter>, std::task::Waker) {
        let counter = std::sync::Arc::new(Counter(Default::default()));
        (counter.clone(), counter.into())
    }

    #[test]
    fn an_alarm_rings_once_at_its_time_and_a_taken_back_one_never() {
        let (rung, waker) = counter();
        let (kept, kept_waker) = counter();
        let start = Instant::now();
        let alarm = Watchdog::global().arm(start + Duration::from_millis(60), &waker);
        let taken_back = Watchdog::global().arm(start + Duration::from_millis(30), &kept_waker);
        drop(taken_back);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(rung.0.load(Ordering::SeqCst), 0, "rang early");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(rung.0.load(Ordering::SeqCst), 1);
        assert_eq!(kept.0.load(Ordering::SeqCst), 0, "a dropped alarm rang");
        // The thread went back to sleep with nothing to wait for; a new alarm still rings.
        let (again, again_waker) = counter();
        let _second =
            Watchdog::global().arm(Instant::now() + Duration::from_millis(20), &again_waker);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(again.0.load(Ordering::SeqCst), 1);
        assert_eq!(rung.0.load(Ordering::SeqCst), 1, "an alarm rang twice");
        drop(alarm);
    }

    #[test]
    fn an_attempt_polled_with_another_waker_wakes_that_one() {
        let (first, first_waker) = counter();
        let (second, second_waker) = counter();
        let p = Progress::start();
        let work = pin!(std::future::pending::<()>());
        let mut attempt = pin!(within(limits(10_000, 80), &p, work));
        let mut cx = std::task::Context::from_waker(&first_waker);
        assert!(attempt.as_mut().poll(&mut cx).is_pending());
        // Moved to another task before the limit: the alarm must follow.
        let mut cx = std::task::Context::from_waker(&second_waker);
        assert!(attempt.as_mut().poll(&mut cx).is_pending());
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            second.0.load(Ordering::SeqCst),
            1,
            "the new waker was not woken"
        );
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "the old waker was woken");
        assert_eq!(
            attempt.as_mut().poll(&mut cx),
            Poll::Ready(Err(AttemptTimedOut::Read(Duration::from_millis(80))))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_attempts_each_end_at_their_own_limit() {
        let tasks: Vec<_> = (0..20u64)
            .map(|i| {
                tokio::spawn(async move {
                    let limit = Duration::from_millis(50 + 10 * i);
                    let p = Progress::start();
                    let limits = Limits {
                        total: Duration::from_secs(30),
                        read: limit,
                    };
                    let out = within(limits, &p, pin!(std::future::pending::<()>())).await;
                    (limit, out, p.started.elapsed())
                })
            })
            .collect();
        for task in tasks {
            let (limit, out, elapsed) = task.await.unwrap();
            assert_eq!(out, Err(AttemptTimedOut::Read(limit)));
            assert!(elapsed >= limit, "{elapsed:?} < {limit:?}");
            assert!(
                elapsed < limit + Duration::from_secs(2),
                "{elapsed:?} for {limit:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_timeout_error_is_a_timeout_for_the_request() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/api/atlas/v1.0/groups").unwrap();
        let which = AttemptTimedOut::Read(Duration::from_secs(30));
        let e = timeout_error(&url, which);
        assert!(e.is_timeout(), "{e:?}");
        assert!(!e.is_connect(), "{e:?}");
        assert_eq!(e.url(), Some(&url));
        let found = crate::error::source_of::<AttemptTimedOut>(&e);
        assert_eq!(found, Some(&which));
    }

    #[test]
    fn the_fallback_error_names_the_request() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        assert_eq!(fallback_error(&url).url(), Some(&url));
    }
}
