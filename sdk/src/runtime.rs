#![deny(missing_docs)]
//! The runtime: what happens to every call, top to bottom.
//!
//! 1. The generated `send()` makes a [`Call`]: a copy of the client whose runtime state carries
//!    this call's notes (its method, how to sign the next attempt, the token it used).
//! 2. [`Call::run`] makes attempts until one succeeds or the retry policy stops:
//!    1. [`Auth::before_attempt`]: a service account's token is fetched if none is cached (a
//!       failure is [`Error::Auth`]); the first Digest call of a fresh client takes the server's
//!       challenge while concurrent first calls wait for it, so they sign with it too.
//!    2. The attempt, bounded as a whole by `Config::with_timeout` (`tokio::time::timeout`):
//!       progenitor's own `send` builds the request and calls the hooks of this module, `pre`
//!       (refuse `envelope=true`, drop progenitor's `api-version` header, sign) and `exec` (count
//!       the exchange, send it with reqwest, whose connect and read timeouts apply, and bound the
//!       body by `Config::with_max_response_body`); then progenitor decodes the body.
//!    3. A failed attempt becomes the crate's [`Error`] (built in `crate::error`). A 401 is
//!       answered once with a fresh challenge or token; otherwise [`retry::decide`] says whether
//!       to wait and try again.
//! 3. The caller gets [`Response`] (status, headers, body) or the [`Error`].
//!
//! A `tracing` span `atlas_request` covers each call with the operation, method, path, attempt,
//! status and elapsed time; headers and bodies are never recorded.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use progenitor_client::{ByteStream, ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::Client;
use crate::auth::digest::{self, DigestSession};
use crate::auth::service_account::TokenSource;
use crate::config::{Config, ConfigError, Credentials, Secret};
use crate::error::{Error, MAX_ERROR_BODY};
use crate::retry::{self, Attempt, Decision, Jitter, RetryPolicy, Sleep};

/// An answer, for the callers that need more than its body (`send_with_response()`): the HTTP
/// status, the headers and the decoded body.
#[derive(Clone, Debug)]
pub struct Response<T> {
    status: StatusCode,
    headers: HeaderMap,
    body: T,
}

impl<T> Response<T> {
    /// The HTTP status (200, 201, 202, 204).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The decoded body.
    pub fn body(&self) -> &T {
        &self.body
    }

    /// Takes the decoded body.
    pub fn into_body(self) -> T {
        self.body
    }

    /// Takes status, headers and body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, T) {
        (self.status, self.headers, self.body)
    }
}

impl<T> Response<T> {
    fn from_progenitor(value: ResponseValue<T>) -> Self {
        let status = value.status();
        let headers = value.headers().clone();
        Self {
            status,
            headers,
            body: value.into_inner(),
        }
    }
}

/// The runtime state of a client (the generated client's `inner` field). Cheap to clone; the
/// copy a [`Call`] makes carries that call's notes.
#[derive(Clone, Debug)]
pub struct Runtime {
    shared: Arc<Shared>,
    call: Option<Arc<CallState>>,
}

/// What every call of a client shares.
#[derive(Debug)]
struct Shared {
    auth: Auth,
    retry: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    jitter: Arc<dyn Jitter>,
    connect_timeout: Duration,
    read_timeout: Duration,
    attempt_timeout: Duration,
    max_response_body: usize,
    exchanges: AtomicU64,
}

/// One call's notes, written by the hooks and read by [`Call::run`].
#[derive(Debug, Default)]
struct CallState(Mutex<Notes>);

#[derive(Debug, Default)]
struct Notes {
    method: Option<Method>,
    signing: Signing,
    /// The bearer token the last attempt sent, to drop it if the server refuses it.
    bearer: Option<Secret>,
}

/// How `pre` signs the next attempt of a call with Digest credentials.
#[derive(Debug, Default)]
enum Signing {
    /// With the client's cached challenge, if it has one.
    #[default]
    Cached,
    /// Not at all (`Config::with_preemptive_digest(false)`: the server challenges every call).
    Unsigned,
    /// With the challenge (a `WWW-Authenticate` value) of this call's own 401.
    Answer(String),
}

impl CallState {
    fn notes(&self) -> MutexGuard<'_, Notes> {
        // Nothing panics while the lock is held, but a poisoned lock still holds valid data.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the client authenticates, with what it keeps between calls.
enum Auth {
    None,
    Digest {
        session: DigestSession,
        preemptive: bool,
        /// Held by the one call that takes a fresh client's first challenge.
        probe: tokio::sync::Mutex<()>,
        /// The server answered a call without challenging it: calls need not wait for a probe.
        unchallenged: AtomicBool,
    },
    ServiceAccount(TokenSource),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Digest { session, .. } => f.debug_tuple("Digest").field(session).finish(),
            Auth::ServiceAccount(t) => f.debug_tuple("ServiceAccount").field(t).finish(),
        }
    }
}

impl Auth {
    /// Before an attempt: a service account's token in the cache; for the first Digest call of
    /// a fresh client, the probe's guard (hold it until the challenge is stored), while other
    /// first calls wait for that challenge.
    async fn before_attempt(
        &self,
        http: &reqwest::Client,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, Error> {
        match self {
            Auth::Digest {
                session,
                preemptive: true,
                probe,
                unchallenged,
            } if !session.has_challenge() && !unchallenged.load(Ordering::Relaxed) => {
                let guard = probe.lock().await;
                Ok((!session.has_challenge()).then_some(guard))
            }
            Auth::ServiceAccount(source) => source.token(http).await.map(|_| None),
            _ => Ok(None),
        }
    }

    /// The `Authorization` value for a request, and the bearer token in it, if any.
    fn authorization(
        &self,
        signing: &Signing,
        request: &reqwest::Request,
    ) -> Option<(HeaderValue, Option<Secret>)> {
        let value = match self {
            Auth::None => return None,
            Auth::Digest { session, .. } => {
                let url = request.url();
                let uri = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_owned(),
                };
                let method = request.method().as_str();
                match signing {
                    Signing::Unsigned => return None,
                    // No challenge cached yet: the request goes out unsigned, the 401 brings one.
                    Signing::Cached => session.authorization(method, &uri).ok()?,
                    Signing::Answer(challenge) => {
                        session.answer_challenge(challenge, method, &uri).ok()?
                    }
                }
            }
            Auth::ServiceAccount(source) => {
                let token = source.cached()?;
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
                value.set_sensitive(true);
                return Some((value, Some(token)));
            }
        };
        let mut value = HeaderValue::from_str(&value).ok()?;
        value.set_sensitive(true);
        Some((value, None))
    }

    /// After a 401: prepares the one re-authenticated attempt and says whether to make it.
    /// Digest stores the 401's challenge (so that waiting first calls sign with it) and signs
    /// the retry with it; a service account drops the refused token.
    fn unauthorized(&self, headers: &HeaderMap, call: &CallState) -> bool {
        match self {
            Auth::None => false,
            Auth::Digest { session, .. } => {
                let challenge = headers
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find(|v| digest::Challenge::parse(v).is_ok());
                let Some(challenge) = challenge else {
                    tracing::warn!("401 without a usable Digest challenge");
                    return false;
                };
                // Parsed just above: storing it cannot fail.
                let _ = session.set_challenge_from_header(challenge);
                call.notes().signing = Signing::Answer(challenge.to_owned());
                true
            }
            Auth::ServiceAccount(source) => {
                if let Some(used) = call.notes().bearer.take() {
                    source.invalidate(&used);
                }
                true
            }
        }
    }

    /// The probe's attempt was answered without a challenge: the server does not ask this
    /// client to authenticate, so later first calls need not wait for one.
    fn answered_unchallenged(&self) {
        if let Auth::Digest { unchallenged, .. } = self {
            unchallenged.store(true, Ordering::Relaxed);
        }
    }
}

/// One call: a copy of the client that carries the call's notes into the hooks.
pub(crate) struct Call {
    client: Client,
    state: Arc<CallState>,
}

impl Call {
    /// Starts a call on `client`.
    pub(crate) fn new(client: &Client) -> Self {
        let state = Arc::new(CallState::default());
        if let Auth::Digest {
            preemptive: false, ..
        } = client.inner.shared.auth
        {
            state.notes().signing = Signing::Unsigned;
        }
        let mut client = client.clone();
        client.inner.call = Some(Arc::clone(&state));
        Self { client, state }
    }

    /// Makes attempts with `attempt` (progenitor's `send` on a copy of the builder that holds
    /// this call's client) until one succeeds or the retry policy stops.
    pub(crate) async fn run<'c, T, F, Fut>(&'c self, mut attempt: F) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: FnMut(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        let span = tracing::info_span!(
            "atlas_request",
            operation = tracing::field::Empty,
            method = tracing::field::Empty,
            path = tracing::field::Empty,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        self.attempts(&mut attempt, &span)
            .instrument(span.clone())
            .await
    }

    async fn attempts<'c, T, F, Fut>(
        &'c self,
        attempt: &mut F,
        span: &tracing::Span,
    ) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: FnMut(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        let shared = &self.client.inner.shared;
        let started = Instant::now();
        let mut reauthenticated = false;
        let mut number: u32 = 0;
        loop {
            number += 1;
            span.record("attempt", number);
            let probe = shared.auth.before_attempt(&self.client.client).await?;
            let result = self.attempt(attempt).await;
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            if let Some(status) = match &result {
                Ok(response) => Some(response.status),
                Err(e) => e.status(),
            } {
                span.record("status", status.as_u16());
                if probe.is_some() && status != StatusCode::UNAUTHORIZED {
                    shared.auth.answered_unchallenged();
                }
            }
            let error = match result {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            if let Error::Api(failure) = &error
                && failure.status() == StatusCode::UNAUTHORIZED
            {
                if !reauthenticated && shared.auth.unauthorized(failure.headers(), &self.state) {
                    reauthenticated = true;
                    continue;
                }
                return Err(error);
            }
            drop(probe);
            let Some(outcome) = retry_outcome(&error) else {
                return Err(error);
            };
            let method = self.state.notes().method.clone().unwrap_or(Method::GET);
            let decision = retry::decide(
                &shared.retry,
                &method,
                &outcome,
                number,
                started.elapsed(),
                SystemTime::now(),
                shared.jitter.next(),
            );
            match decision {
                Decision::Retry { after } => {
                    tracing::debug!(attempt = number, wait_ms = after.as_millis() as u64, error = %error, "retrying");
                    shared.sleep.sleep(after).await;
                }
                Decision::Stop(reason) => {
                    tracing::debug!(attempt = number, ?reason, error = %error, "not retrying");
                    return Err(error);
                }
            }
        }
    }

    /// One attempt, within the attempt's time limit.
    async fn attempt<'c, T, F, Fut>(&'c self, attempt: &mut F) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: FnMut(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        let shared = &self.client.inner.shared;
        let deadline = Instant::now() + shared.attempt_timeout;
        match tokio::time::timeout_at(deadline, attempt(&self.client)).await {
            Err(_) => Err(Error::attempt_timed_out(shared.attempt_timeout)),
            Ok(Ok(value)) => Ok(Response::from_progenitor(value)),
            Ok(Err(e)) => Err(self.error::<T>(e, deadline).await),
        }
    }

    /// progenitor's error as the crate's; an error response's body is read here, up to
    /// [`MAX_ERROR_BODY`] and within what is left of the attempt's time.
    async fn error<T: serde::de::DeserializeOwned>(
        &self,
        e: progenitor_client::Error<ByteStream>,
        deadline: Instant,
    ) -> Error {
        use progenitor_client::Error as P;
        let shared = &self.client.inner.shared;
        match e {
            P::InvalidRequest(message) => Error::InvalidArgument(message),
            P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
                Error::from_reqwest(
                    e,
                    shared.connect_timeout,
                    shared.read_timeout,
                    shared.max_response_body,
                )
            }
            P::InvalidResponsePayload(raw, _) => Error::decode::<T>(raw),
            P::ErrorResponse(value) => {
                let (status, headers) = (value.status(), value.headers().clone());
                let (raw, truncated) = read_error_body(value.into_inner(), deadline).await;
                Error::api(status, headers, &raw, truncated)
            }
            P::UnexpectedResponse(response) => Error::UnexpectedStatus {
                status: response.status(),
            },
            P::Custom(message) => Error::Auth(message),
        }
    }
}

/// Reads an error body: at most [`MAX_ERROR_BODY`] bytes, until `deadline`. A body that is cut
/// there, or breaks off, keeps what arrived and is marked truncated: the status and headers are
/// what matter.
async fn read_error_body(mut body: ByteStream, deadline: Instant) -> (Vec<u8>, bool) {
    use futures_util::StreamExt;
    let mut raw = Vec::new();
    let read = async {
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                return true;
            };
            let room = MAX_ERROR_BODY - raw.len();
            if chunk.len() > room {
                raw.extend_from_slice(&chunk[..room]);
                return true;
            }
            raw.extend_from_slice(&chunk);
        }
        false
    };
    let truncated = tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or(true);
    (raw, truncated)
}

/// What [`retry::decide`] needs to know of a failed attempt; `None` for a failure no retry can
/// mend (a decode error, a refused argument, a TLS failure, a body over the limit, ...).
fn retry_outcome(error: &Error) -> Option<Attempt<'_>> {
    match error {
        Error::Api(failure) => Some(Attempt::Response {
            status: failure.status().as_u16(),
            headers: failure.headers(),
        }),
        Error::Timeout {
            limit: crate::error::TimeLimit::Connect(_),
            ..
        } => Some(Attempt::ConnectFailed),
        Error::Timeout { .. } => Some(Attempt::TimedOut),
        Error::Transport(_) if error.is_tls() => None,
        Error::Transport(e) if e.is_connect() => Some(Attempt::ConnectFailed),
        Error::Transport(_) => Some(Attempt::SendFailed {
            request_may_have_reached_server: true,
        }),
        _ => None,
    }
}

/// Why a request with `envelope=true` is refused before it is sent.
const ENVELOPE_REFUSED: &str = "envelope=true is refused: Atlas would wrap the answer, with \
     its status, in a body the sdk's types do not decode, so even a request that worked (a \
     peering created, say) would end in an error; the sdk reads the HTTP status itself, so \
     leave `envelope` unset";

/// Whether a request's query asks Atlas to wrap its answer (`envelope` with any value but
/// `false`, the default), read as Atlas reads it: percent-decoded.
fn asks_for_envelope(url: &reqwest::Url) -> bool {
    url.query().is_some()
        && url
            .query_pairs()
            .any(|(name, value)| name == "envelope" && value != "false")
}

impl ClientHooks<Runtime> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if asks_for_envelope(request.url()) {
            return Err(progenitor_client::Error::InvalidRequest(
                ENVELOPE_REFUSED.to_owned(),
            ));
        }
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record("operation", info.operation_id);
            span.record("method", tracing::field::display(request.method()));
            span.record("path", tracing::field::display(request.url().path()));
        }
        let headers = request.headers_mut();
        // progenitor sends the spec's `info.version` as `api-version`; Atlas v1.0 has no such
        // header, and the wire stays what the fixtures record.
        headers.remove("api-version");
        // An operation whose success has no body (the deletes) still asks for JSON, as Atlas's
        // own clients do: its error body is JSON.
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        let runtime = self.inner();
        let Some(call) = &runtime.call else {
            return Ok(());
        };
        let mut notes = call.notes();
        notes.method = Some(request.method().clone());
        if let Some((value, bearer)) = runtime.shared.auth.authorization(&notes.signing, request) {
            request.headers_mut().insert(AUTHORIZATION, value);
            notes.bearer = bearer;
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &self.inner().shared;
        shared.exchanges.fetch_add(1, Ordering::Relaxed);
        let response = self.client().execute(request).await?;
        Ok(limit_body(response, shared.max_response_body))
    }
}

/// The response with its body bounded by `max` bytes: reading past it fails with
/// `http_body_util`'s `LengthLimitError` (which becomes [`Error::BodyTooLarge`]).
fn limit_body(response: reqwest::Response, max: usize) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    let url = response.url().clone();
    let (mut parts, body) = http::Response::from(response).into_parts();
    // reqwest keeps the URL in an extension that the round trip through `http` drops.
    if let Ok(tagged) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(tagged.into_parts().0.extensions);
    }
    let limited = reqwest::Body::wrap(http_body_util::Limited::new(body, max));
    reqwest::Response::from(http::Response::from_parts(parts, limited))
}

impl Runtime {
    fn from_config(config: &Config) -> Self {
        let auth = match &config.credentials {
            None => Auth::None,
            Some(Credentials::ApiKey {
                public_key,
                private_key,
            }) => Auth::Digest {
                session: DigestSession::new(digest::Credentials::new(
                    public_key.clone(),
                    private_key.expose(),
                )),
                preemptive: config.preemptive_digest,
                probe: tokio::sync::Mutex::new(()),
                unchallenged: AtomicBool::new(false),
            },
            Some(Credentials::ServiceAccount {
                client_id,
                client_secret,
            }) => Auth::ServiceAccount(TokenSource::new(
                client_id.clone(),
                client_secret.clone(),
                config.token_url(),
                config,
            )),
        };
        Self {
            shared: Arc::new(Shared {
                auth,
                retry: config.retry,
                sleep: config.sleep(),
                jitter: config.jitter(),
                connect_timeout: config.connect_timeout,
                read_timeout: config.read_timeout,
                attempt_timeout: config.timeout,
                max_response_body: config.max_response_body,
                exchanges: AtomicU64::new(0),
            }),
            call: None,
        }
    }
}

impl Client {
    /// A client for `config`: rustls with certificate verification, the configured timeouts,
    /// user agent, credentials and retry policy.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider to keep the build lean (ring, not
        // aws-lc); install ring unless the application already installed one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            // HTTP/1.1 only, whatever reqwest features the application's other dependencies
            // turn on: the protocol every test here speaks. reqwest's own retry layer only
            // replays HTTP/2 and HTTP/3 refusals; retries are the sdk's alone (decision 0006).
            .http1_only()
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        let runtime = Runtime::from_config(&config);
        Ok(Client::new_with_client(&config.base_url, http, runtime))
    }

    /// A client configured from the environment; see [`Config::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_config(Config::from_env()?)
    }

    /// How many HTTP exchanges this client has made (requests sent, retries and
    /// authentication round trips included, token requests not). Lets a caller see what a
    /// call cost.
    pub fn exchanges(&self) -> u64 {
        self.inner.shared.exchanges.load(Ordering::Relaxed)
    }

    /// How many service-account tokens this client has fetched (0 for other credentials).
    pub fn token_fetches(&self) -> u64 {
        match &self.inner.shared.auth {
            Auth::ServiceAccount(t) => t.fetches(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_envelope_other_than_false_is_asked_for() {
        let asks = |url: &str| asks_for_envelope(&reqwest::Url::parse(url).unwrap());
        for url in [
            "https://h/p?envelope=true",
            "https://h/p?pageNum=2&envelope=true&pretty=false",
            "https://h/p?envelope=1",
            "https://h/p?envelope",
            "https://h/p?%65nvelope=true",
            "https://h/p?envelope=false&envelope=true",
        ] {
            assert!(asks(url), "{url}");
        }
        for url in [
            "https://h/p",
            "https://h/p?envelope=false",
            "https://h/p?pretty=true&includeCount=false",
            "https://h/envelope?pretty=true",
            "https://h/p?envelopes=true",
        ] {
            assert!(!asks(url), "{url}");
        }
    }

    #[tokio::test]
    async fn an_error_body_is_capped_and_marked() {
        use futures_util::stream;
        let chunk = bytes::Bytes::from(vec![b'x'; 700 * 1024]);
        let body = ByteStream::new(Box::pin(stream::iter([
            Ok(chunk.clone()),
            Ok(chunk.clone()),
        ])));
        let far = Instant::now() + Duration::from_secs(60);
        let (raw, truncated) = read_error_body(body, far).await;
        assert_eq!(raw.len(), MAX_ERROR_BODY);
        assert!(truncated);
        let body = ByteStream::new(Box::pin(stream::iter([Ok(chunk.clone())])));
        let (raw, truncated) = read_error_body(body, far).await;
        assert_eq!((raw.len(), truncated), (chunk.len(), false));
    }
}
