#![deny(missing_docs)]
//! The runtime: what happens to one call, top to bottom, each phase a function of [`Call`].
//!
//! 1. [`Call::new`]: the generated `send()` starts the call with the operation's HTTP method
//!    and operationId, as the spec has them (the `codegen` crate puts them there).
//! 2. [`Call::run`]: the one retry loop ([`retry::run`]) makes attempts until one succeeds or
//!    the policy stops, within a `tracing` span `atlas_request` (operation, method, path,
//!    attempt, status, elapsed; never headers, bodies or secrets).
//! 3. [`Call::attempt`], one attempt:
//!    1. [`Call::authenticate`]: a service account's token from the cache or the token
//!       endpoint; the first Digest calls of a fresh client wait for one shared challenge.
//!       What the request is to carry goes into the call's [`Credential`], which only the call
//!       writes and the `pre` hook only reads.
//!    2. [`Call::exchange`]: progenitor's own `send` within the attempt's time limit
//!       (`tokio::time::timeout_at`); it builds the request and calls this module's hooks,
//!       `pre` (refuse `envelope=true`, drop progenitor's `api-version` header, add the
//!       credential) and `exec` (count the exchange, send it with reqwest, whose connect and
//!       read timeouts apply, and bound the body); then progenitor decodes the body. A failure
//!       becomes the crate's [`Error`] ([`Call::error`]).
//!    3. [`Call::reauthenticate`]: a 401 is answered once per call, with the 401's fresh
//!       Digest challenge or a new token.
//! 4. The caller gets [`Response`] (status, headers, body) or the [`Error`], which says how
//!    many attempts it took.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use progenitor_client::{ByteStream, ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::Client;
use crate::auth::digest::Digest;
use crate::auth::service_account::TokenSource;
use crate::config::{Config, ConfigError, Credentials, Secret};
use crate::error::{Error, MAX_ERROR_BODY};
use crate::retry::{self, RetryPolicy};

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
/// copy a [`Call`] makes carries that call's [`Credential`] to the `pre` hook.
#[derive(Clone, Debug)]
pub struct Runtime {
    shared: Arc<Shared>,
    call: Option<Arc<Mutex<Credential>>>,
}

/// What every call of a client shares.
#[derive(Debug)]
struct Shared {
    auth: Auth,
    retry: RetryPolicy,
    connect_timeout: Duration,
    read_timeout: Duration,
    attempt_timeout: Duration,
    max_response_body: usize,
    /// The host (and port) of the base URL, which answers every call (redirects are not
    /// followed): error messages name it.
    host: String,
    exchanges: AtomicU64,
}

/// How the client authenticates, with what it keeps between calls.
#[derive(Debug)]
enum Auth {
    None,
    Digest(Digest),
    ServiceAccount(TokenSource),
}

/// What the next request of a call carries; written by the call, read by the `pre` hook.
#[derive(Debug, Default)]
enum Credential {
    /// Nothing (no credentials, or a Digest request sent unsigned to be challenged).
    #[default]
    None,
    /// A Digest signature with the client's cached challenge, computed for the request.
    Digest,
    /// This bearer token.
    Bearer(Secret),
}

/// One call of one operation.
pub(crate) struct Call {
    /// A copy of the client whose runtime carries `credential`.
    client: Client,
    credential: Arc<Mutex<Credential>>,
    method: Method,
    /// Whether the call already answered a 401.
    reauthenticated: AtomicBool,
    span: tracing::Span,
}

impl Call {
    /// Starts a call of `operation` (its operationId), sent with `method`, on `client`.
    pub(crate) fn new(client: &Client, method: Method, operation: &'static str) -> Self {
        let credential = Arc::new(Mutex::new(Credential::None));
        let mut client = client.clone();
        client.inner.call = Some(Arc::clone(&credential));
        let span = tracing::info_span!(
            "atlas_request",
            operation,
            method = %method,
            path = tracing::field::Empty,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        Self {
            client,
            credential,
            method,
            reauthenticated: AtomicBool::new(false),
            span,
        }
    }

    fn shared(&self) -> &Shared {
        &self.client.inner.shared
    }

    fn set_credential(&self, credential: Credential) {
        *self
            .credential
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = credential;
    }

    /// Runs the call: attempts with `send` (progenitor's `send` on a copy of the builder that
    /// holds this call's client) until one succeeds or the retry policy stops.
    pub(crate) async fn run<'c, T, F, Fut>(&'c self, send: F) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        let started = Instant::now();
        let policy = self.shared().retry;
        let result = retry::run(&policy, &self.method, |number| {
            self.span.record("attempt", number);
            self.attempt(&send)
        })
        .instrument(self.span.clone())
        .await;
        self.span
            .record("elapsed_ms", started.elapsed().as_millis() as u64);
        result
    }

    /// One attempt: authenticate, exchange, and answer a 401 once per call.
    async fn attempt<'c, T, F, Fut>(&'c self, send: &F) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        loop {
            let probe = self.authenticate().await?;
            let result = self.exchange(send).await;
            let status = match &result {
                Ok(response) => Some(response.status),
                Err(error) => error.status(),
            };
            if let Some(status) = status {
                self.span.record("status", status.as_u16());
            }
            if let (Some(_), Auth::Digest(digest)) = (&probe, &self.shared().auth)
                && status.is_some_and(|s| s != StatusCode::UNAUTHORIZED)
            {
                digest.answered_unchallenged();
            }
            match result {
                Err(Error::Api(failure))
                    if failure.status() == StatusCode::UNAUTHORIZED
                        && !self.reauthenticated.swap(true, Ordering::Relaxed)
                        && self.reauthenticate(failure.headers()) => {}
                result => return result,
            }
        }
    }

    /// Phase 1: what the next request carries. A service account's token is fetched if none
    /// is cached (a failure is [`Error::Auth`]). The first Digest call of a fresh client gets
    /// the probe's guard (held until its 401 stored the challenge), while other first calls
    /// wait for that challenge.
    async fn authenticate(&self) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, Error> {
        match &self.shared().auth {
            Auth::None => Ok(None),
            Auth::Digest(digest) => {
                let probe = digest.first_challenge().await;
                if digest.preemptive || self.reauthenticated.load(Ordering::Relaxed) {
                    self.set_credential(Credential::Digest);
                }
                Ok(probe)
            }
            Auth::ServiceAccount(source) => {
                let token = source.token(&self.client.client).await?;
                self.set_credential(Credential::Bearer(token));
                Ok(None)
            }
        }
    }

    /// Phase 2: one exchange, within the attempt's time limit.
    async fn exchange<'c, T, F, Fut>(&'c self, send: &F) -> Result<Response<T>, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'c Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>>,
    {
        let limit = self.shared().attempt_timeout;
        let deadline = Instant::now() + limit;
        match tokio::time::timeout_at(deadline, send(&self.client)).await {
            Err(_) => Err(Error::attempt_timed_out(limit)),
            Ok(Ok(value)) => Ok(Response::from_progenitor(value)),
            Ok(Err(e)) => Err(self.error::<T>(e, deadline).await),
        }
    }

    /// Phase 3, after a 401: prepares the one re-authenticated attempt and says whether to make
    /// it. Digest stores the 401's challenge (waiting first calls sign with it too); a service
    /// account drops the refused token.
    fn reauthenticate(&self, headers: &reqwest::header::HeaderMap) -> bool {
        match &self.shared().auth {
            Auth::None => false,
            Auth::Digest(digest) => digest.store_challenge(headers),
            Auth::ServiceAccount(source) => {
                let used = std::mem::take(
                    &mut *self
                        .credential
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner),
                );
                if let Credential::Bearer(token) = used {
                    source.invalidate(&token);
                }
                true
            }
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
        let shared = self.shared();
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
                Error::api(status, headers, &raw, truncated, &shared.host)
            }
            P::UnexpectedResponse(response) => Error::unexpected(&response),
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
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if asks_for_envelope(request.url()) {
            return Err(progenitor_client::Error::InvalidRequest(
                ENVELOPE_REFUSED.to_owned(),
            ));
        }
        let span = tracing::Span::current();
        if !span.is_disabled() {
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
        let Some(credential) = &runtime.call else {
            return Ok(());
        };
        let value = match &*credential.lock().unwrap_or_else(PoisonError::into_inner) {
            Credential::None => None,
            Credential::Bearer(token) => Some(format!("Bearer {}", token.expose())),
            Credential::Digest => match &runtime.shared.auth {
                Auth::Digest(digest) => {
                    let url = request.url();
                    let uri = match url.query() {
                        Some(q) => format!("{}?{q}", url.path()),
                        None => url.path().to_owned(),
                    };
                    // No challenge cached yet: unsigned, and the 401 brings one.
                    digest.sign(request.method().as_str(), &uri)
                }
                _ => None,
            },
        };
        if let Some(mut value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
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
            }) => Auth::Digest(Digest::new(
                public_key.clone(),
                private_key.clone(),
                config.preemptive_digest,
            )),
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
        let host = reqwest::Url::parse(&config.base_url)
            .map(|url| url.authority().to_owned())
            .unwrap_or_else(|_| config.base_url.clone());
        Self {
            shared: Arc::new(Shared {
                auth,
                retry: config.retry,
                connect_timeout: config.connect_timeout,
                read_timeout: config.read_timeout,
                attempt_timeout: config.timeout,
                max_response_body: config.max_response_body,
                host,
                exchanges: AtomicU64::new(0),
            }),
            call: None,
        }
    }
}

impl Client {
    /// A client for `config`: rustls with certificate verification, the configured timeouts,
    /// user agent, credentials and retry policy; redirects are not followed.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        config.check_transport_security()?;
        let http = reqwest::Client::builder()
            // TLS: rustls with its default provider (aws-lc-rs, which has the post-quantum key
            // exchange that rustls now expects) and the platform's certificate verifier.
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            // Atlas's API does not redirect: a 3xx is an error naming its `Location`, and a
            // request (its credentials, its body) is never sent anywhere else.
            .redirect(reqwest::redirect::Policy::none())
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
