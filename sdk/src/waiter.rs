#![deny(missing_docs)]
//! Waiters: poll a peering connection or container until it reaches a wanted state.
//!
//! [`WaiterExt`] adds four methods to [`Client`]:
//!
//! | method | done when | fails at once when |
//! |---|---|---|
//! | [`wait_for_customer_step`](WaiterExt::wait_for_customer_step) | the customer must act (AWS `PENDING_ACCEPTANCE` with its `connectionId`, GCP `WAITING_FOR_USER`), or the connection is already `AVAILABLE` | the connection failed or is being deleted, or the request fails (404 included) |
//! | [`wait_peer_available`](WaiterExt::wait_peer_available) | the status is `AVAILABLE` | the connection failed ([`Peer::is_terminal_failure`]: `FAILED`, `DELETION_FAILED`, or an AWS `errorStateName` such as `REJECTED`, `EXPIRED`, `INVALID_ARGUMENT`), is being deleted, or the request fails (404 included) |
//! | [`wait_peer_deleted`](WaiterExt::wait_peer_deleted) | Atlas answers 404 for the connection | the status is `DELETION_FAILED`, or the request fails otherwise |
//! | [`wait_container_provisioned`](WaiterExt::wait_container_provisioned) | `provisioned` is `true` | the request fails (404 included) |
//!
//! Any other status, unknown values included, means "not yet": the waiter polls again.
//!
//! # The customer's step
//!
//! A peering comes up only after the customer acts in their own cloud account: on AWS they
//! accept the VPC peering request whose id (`pcx-…`) Atlas shows in `connectionId` from
//! `PENDING_ACCEPTANCE` on; on GCP they create the peering from their network to Atlas's
//! project and network (the container's `gcpProjectId` and `networkName`). Azure has no such
//! step. Automation waits twice, as Terraform's `mongodbatlas_network_peering` does:
//! [`wait_for_customer_step`](WaiterExt::wait_for_customer_step) says what to do
//! ([`CustomerStep`]), then [`wait_peer_available`](WaiterExt::wait_peer_available). The
//! [crate documentation](crate) ("The AWS flow") shows both, and the cleanup of a wait that
//! timed out.
//!
//! # Timing, beside Terraform's
//!
//! The first poll is sent at once. Between polls the waiter sleeps with exponential backoff:
//! [`initial_delay`](WaitOptions::with_initial_delay) (5 s), doubled after each poll up to
//! [`max_delay`](WaitOptions::with_max_delay) (30 s), each sleep shortened by a random part
//! of up to a quarter so that many waiters do not poll in step. The wait ends with
//! [`WaitError::TimedOut`] once [`timeout`](WaitOptions::with_timeout) (1 h) has passed since
//! the first poll; the last sleep is cut short so that one last poll happens right at the
//! deadline. Time is tokio's (`tokio::time::Instant` and `sleep`): under a paused clock
//! (`#[tokio::test(start_paused = true)]`) an hour-long wait takes no real time.
//!
//! Terraform waits 1 h by default for a create, update or delete, polling about every 10 s;
//! the timeout is the same here, since a wait may span a human's step. The polls back off to
//! 30 s instead: an hour costs about 120 requests instead of 360, and a change is seen at
//! most 30 s late. Terraform also deletes a peering whose create wait timed out
//! (`delete_on_create_timeout`); the waiters delete nothing themselves: on
//! [`WaitError::is_timeout`], call `client.delete_peer()` with the ids the wait was given.
//!
//! # Errors and progress
//!
//! Waiters return the crate's one [`Error`], so a create and the wait that follows it share
//! one `?`. A poll that fails with an error waiting will not cure (404, 401, a bad id, ...)
//! ends the wait with that error, as the call itself would. A wait that cannot succeed ends
//! with [`Error::Wait`] holding a [`WaitError`]: [`Failed`](WaitError::Failed), with the
//! status and the provider's reason, or [`TimedOut`](WaitError::TimedOut), with the last
//! state seen. A poll failing with a retryable error ([`Error::is_retryable`]: 429, 502, 503,
//! 504, timeouts, transport), after the client's own retries, does not end the wait: the
//! waiter keeps polling, and a timeout reports that error as `last_error`.
//!
//! [`WaitOptions::on_poll`] sees every poll as it happens, with what it saw (the status as
//! Atlas spells it and, on AWS, the `connectionId`) and the time since the first poll.
//! Statuses in messages are always Atlas's own words (`PENDING_ACCEPTANCE`, `ADDING_PEER`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::models::{Container, Peer, PeerStatus};
use crate::types::ApiErrorCode;
use crate::{Client, Error};

// ---- Options ------------------------------------------------------------------------------

/// How long to wait and how often to poll.
///
/// | setting         | default | meaning |
/// |-----------------|---------|---------|
/// | `timeout`       | [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) = 1 h | give up this long after the first poll |
/// | `initial_delay` | [`DEFAULT_INITIAL_DELAY`](Self::DEFAULT_INITIAL_DELAY) = 5 s | sleep after the first poll; more than zero |
/// | `max_delay`     | [`DEFAULT_MAX_DELAY`](Self::DEFAULT_MAX_DELAY) = 30 s | longest single sleep; at least `initial_delay` |
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
    /// Time since the first poll, on tokio's clock.
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
    /// Default `timeout`: 1 h, as Terraform's `mongodbatlas_network_peering`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
    /// Default `initial_delay`.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_secs(5);
    /// Default `max_delay`.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

    /// The defaults of the table above.
    #[must_use]
    pub fn new() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
            on_poll: None,
        }
    }

    /// Calls `observer` after every poll, with what it saw and the time since the first poll
    /// (the last call sees the state the wait ended on).
    ///
    /// ```
    /// use atlas_network_peering::waiter::{Observed, WaitOptions};
    ///
    /// let options = WaitOptions::new().on_poll(|poll| {
    ///     if let Some(Observed::Peer { status: Some(status), connection_id, .. }) = poll.seen {
    ///         eprintln!("{status} after {} s ({connection_id:?})", poll.elapsed.as_secs());
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

    /// The sleep after the first poll; each later one doubles, up to `max_delay`.
    #[must_use]
    pub fn with_initial_delay(mut self, initial_delay: Duration) -> Self {
        self.initial_delay = initial_delay;
        self
    }

    /// The longest single sleep.
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// The timeout set.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The first sleep set.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The longest sleep set.
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

// ---- What a wait sees, and how it ends ----------------------------------------------------

/// What a waiter last saw of the resource it polls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observed {
    /// A peering connection.
    Peer {
        /// The status as Atlas spells it (`PENDING_ACCEPTANCE`, `WAITING_FOR_USER`, ...);
        /// `None` when the entry carried none.
        status: Option<String>,
        /// AWS `connectionId`, the `pcx-…` id of the peering request, once there is one.
        connection_id: Option<String>,
        /// The provider's reason for a failure ([`Peer::error_detail`]), if any.
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
            status: peer.raw_status().map(str::to_owned),
            connection_id: connection_id(peer).map(str::to_owned),
            detail: peer.error_detail().map(str::to_owned),
        }
    }
}

/// AWS `connectionId`, when set.
fn connection_id(peer: &Peer) -> Option<&str> {
    match peer {
        Peer::Aws(aws) => aws.connection_id.as_ref()?.as_deref(),
        _ => None,
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Peer {
                status,
                connection_id,
                detail,
            } => {
                f.write_str(status.as_deref().unwrap_or("no status"))?;
                if let Some(id) = connection_id {
                    write!(f, ", connection {id}")?;
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
    /// The connection reached a state the wanted one cannot follow: it failed (`FAILED`,
    /// `DELETION_FAILED`, an AWS `errorStateName`), or, when waiting for it to come up, it is
    /// being deleted. Returned at the first poll that sees it.
    #[error("the peering connection cannot reach the wanted state: {}", Observed::Peer { status: status.clone(), connection_id: None, detail: detail.clone() })]
    Failed {
        /// The status as Atlas spells it; `None` if the entry carried none (an AWS connection
        /// with an `errorStateName` but no `statusName`).
        status: Option<String>,
        /// The provider's reason: AWS `errorStateName` (`REJECTED`, `EXPIRED`,
        /// `INVALID_ARGUMENT`), GCP `errorMessage`, Azure `errorState`.
        detail: Option<String>,
    },
    /// The timeout passed before the wanted state was seen.
    #[error("gave up after {elapsed:?} and {polls} polls; last seen: {}", last.as_ref().map_or_else(|| "nothing".to_owned(), ToString::to_string))]
    TimedOut {
        /// Time from the first poll to giving up, on tokio's clock.
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
    /// The last peering-connection status seen, as Atlas spells it: the failed one, or the
    /// last one before a timeout.
    pub fn last_status(&self) -> Option<&str> {
        match self {
            Self::Failed { status, .. }
            | Self::TimedOut {
                last: Some(Observed::Peer { status, .. }),
                ..
            } => status.as_deref(),
            _ => None,
        }
    }

    /// The provider's reason, for a failed connection (or the last one seen).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Failed { detail, .. }
            | Self::TimedOut {
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

    fn failed(peer: &Peer) -> Self {
        Self::Failed {
            status: peer.raw_status().map(str::to_owned),
            detail: peer.error_detail().map(str::to_owned),
        }
    }
}

/// What the customer must do for a peering connection to come up, as
/// [`WaiterExt::wait_for_customer_step`] found it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CustomerStep {
    /// AWS `PENDING_ACCEPTANCE`: accept the VPC peering request `connection_id` (`pcx-…`) in
    /// the AWS account of the VPC (console, `aws ec2 accept-vpc-peering-connection`, or
    /// Terraform's `aws_vpc_peering_connection_accepter`). AWS lets it expire after 7 days.
    AcceptAwsPeering {
        /// The AWS peering connection id, `pcx-` and 17 hexadecimal digits.
        connection_id: String,
        /// The connection as polled.
        peer: Peer,
    },
    /// GCP `WAITING_FOR_USER`: create the peering from your VPC network to Atlas's network
    /// `network_name` in Atlas's project `gcp_project_id` (the container's `gcpProjectId` and
    /// `networkName`).
    CreateGcpPeering {
        /// Atlas's Google Cloud project.
        gcp_project_id: String,
        /// Atlas's VPC network in that project.
        network_name: String,
        /// The connection as polled.
        peer: Peer,
    },
    /// The connection is already `AVAILABLE`: nothing to do (always so on Azure, which has no
    /// customer step, and when the customer acted before the wait).
    AlreadyAvailable(Peer),
}

// ---- Waiters ------------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Client {}
}

/// Waiters on [`Client`]; see the [module documentation](self).
pub trait WaiterExt: sealed::Sealed {
    /// Polls the peering connection until the customer must act, and says what to do
    /// ([`CustomerStep`]); returns [`CustomerStep::AlreadyAvailable`] when it is already up.
    ///
    /// An AWS `PENDING_ACCEPTANCE` without a `connectionId` yet, and a GCP `WAITING_FOR_USER`
    /// whose container does not name its project and network yet, mean "not yet". Fails at
    /// once with [`WaitError::Failed`] on a failed connection (`FAILED`, or an AWS
    /// `errorStateName` such as `REJECTED` or `EXPIRED`) or one being deleted, and with the
    /// poll's own error if the connection does not exist (404).
    fn wait_for_customer_step(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> impl Future<Output = Result<CustomerStep, Error>> + Send;

    /// Polls the peering connection until its status is `AVAILABLE` and returns it.
    ///
    /// Fails at once with [`WaitError::Failed`] on a failed connection or one being deleted,
    /// and with the poll's own error if the connection does not exist (404). A connection
    /// waiting for the customer polls on until the timeout.
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

/// The verdict on a peering connection that is neither done nor failed for good yet: `Fail`
/// when it failed or is being deleted, else `None`.
fn failed<T>(peer: &Peer) -> Option<Verdict<T>> {
    (peer.is_terminal_failure() || peer.status() == Some(PeerStatus::Deleting))
        .then(|| Verdict::Fail(WaitError::failed(peer), Observed::of_peer(peer)))
}

impl Client {
    async fn poll_peer(&self, group_id: &str, peer_id: &str) -> Result<Peer, Error> {
        self.get_peer()
            .group_id(group_id)
            .peer_id(peer_id)
            .send()
            .await
    }

    /// The GCP container's `gcpProjectId` and `networkName`, when both are set.
    async fn gcp_network(
        &self,
        group_id: &str,
        peer: &Peer,
    ) -> Result<Option<(String, String)>, Error> {
        let Some(container_id) = peer.container_id() else {
            return Ok(None);
        };
        let container = self
            .get_container()
            .group_id(group_id)
            .container_id(container_id)
            .send()
            .await?;
        Ok(match container {
            Container::Gcp(gcp) => gcp.gcp_project_id.flatten().zip(gcp.network_name.flatten()),
            _ => None,
        })
    }
}

impl WaiterExt for Client {
    async fn wait_for_customer_step(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> Result<CustomerStep, Error> {
        poll_until(&options, move || async move {
            let peer = self.poll_peer(group_id, peer_id).await?;
            if let Some(fail) = failed(&peer) {
                return Ok(fail);
            }
            let seen = Observed::of_peer(&peer);
            let step = match (&peer, peer.status()) {
                (_, Some(PeerStatus::Available)) => Some(CustomerStep::AlreadyAvailable(peer)),
                (Peer::Aws(_), Some(PeerStatus::WaitingForUser)) => connection_id(&peer)
                    .map(str::to_owned)
                    .map(|connection_id| CustomerStep::AcceptAwsPeering {
                        connection_id,
                        peer,
                    }),
                (Peer::Gcp(_), Some(PeerStatus::WaitingForUser)) => {
                    self.gcp_network(group_id, &peer).await?.map(
                        |(gcp_project_id, network_name)| CustomerStep::CreateGcpPeering {
                            gcp_project_id,
                            network_name,
                            peer,
                        },
                    )
                }
                _ => None,
            };
            Ok(match step {
                Some(step) => Verdict::Done(step, seen),
                None => Verdict::NotYet(seen),
            })
        })
        .await
    }

    async fn wait_peer_available(
        &self,
        group_id: &str,
        peer_id: &str,
        options: WaitOptions,
    ) -> Result<Peer, Error> {
        poll_until(&options, move || async move {
            let peer = self.poll_peer(group_id, peer_id).await?;
            let seen = Observed::of_peer(&peer);
            Ok(if peer.is_available() {
                Verdict::Done(peer, seen)
            } else {
                failed(&peer).unwrap_or(Verdict::NotYet(seen))
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
            let peer = match self.poll_peer(group_id, peer_id).await {
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

/// `delay` less a random part of up to a quarter of it.
fn jittered(delay: Duration) -> Duration {
    delay - crate::retry::jittered(delay / 4)
}

/// Polls with `poll` until it concludes, backing off between polls, up to the timeout.
async fn poll_until<T, F, Fut>(options: &WaitOptions, mut poll: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Verdict<T>, Error>>,
{
    options.check()?;
    let start = Instant::now();
    let mut delay = options.initial_delay;
    let mut polls: u32 = 0;
    let mut last = None;
    loop {
        polls = polls.saturating_add(1);
        let outcome = poll().await;
        let elapsed = start.elapsed();
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
        tokio::time::sleep(jittered(delay).min(remaining)).await;
        delay = delay.saturating_mul(2).min(options.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_takes_off_at_most_a_quarter() {
        let delay = Duration::from_secs(40);
        let sleeps: Vec<_> = (0..200).map(|_| jittered(delay)).collect();
        assert!(sleeps.iter().all(|d| *d <= delay && *d >= delay * 3 / 4));
        assert!(sleeps.iter().any(|d| *d != sleeps[0]), "random");
    }

    #[test]
    fn errors_display_atlas_words() {
        let failed = WaitError::Failed {
            status: Some("FAILED".into()),
            detail: Some("REJECTED".into()),
        };
        assert_eq!(
            failed.to_string(),
            "the peering connection cannot reach the wanted state: FAILED (REJECTED)"
        );
        assert_eq!(failed.last_status(), Some("FAILED"));
        assert_eq!(failed.detail(), Some("REJECTED"));
        let timed_out = WaitError::TimedOut {
            elapsed: Duration::from_secs(60),
            polls: 4,
            last: Some(Observed::Peer {
                status: Some("PENDING_ACCEPTANCE".into()),
                connection_id: Some("pcx-0a1b2c3d4e5f60718".into()),
                detail: None,
            }),
            last_error: None,
        };
        assert_eq!(
            timed_out.to_string(),
            "gave up after 60s and 4 polls; last seen: PENDING_ACCEPTANCE, connection pcx-0a1b2c3d4e5f60718"
        );
        assert!(timed_out.is_timeout());
        let nothing = WaitError::TimedOut {
            elapsed: Duration::from_secs(1),
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
        assert_send(&client.wait_for_customer_step("a", "b", options.clone()));
        assert_send(&client.wait_peer_available("a", "b", options.clone()));
        assert_send(&client.wait_peer_deleted("a", "b", options.clone()));
        assert_send(&client.wait_container_provisioned("a", "b", options));
    }
}
