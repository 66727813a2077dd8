#![deny(missing_docs)]
//! The runtime: what happens to every request the generated client builds. It plugs in through
//! progenitor's one seam, `impl ClientHooks for Client`:
//!
//! - `pre`, for a service account, makes sure a bearer token is cached (a token failure is an
//!   [`crate::Error::Auth`]).
//! - `exec` signs the request (Digest with the cached challenge and the next nonce count, or the
//!   bearer token), sends it, answers one 401 with a fresh challenge or token, retries what
//!   [`crate::retry::decide`] allows after the wait it computes, and wraps the body of a final
//!   error response in [`crate::error::ErrorBody`] so that every error status reaches the caller
//!   with its raw text.
//!
//! A `tracing` span `atlas_request` covers each call with the operation, method, path, attempt,
//! status and elapsed time; headers and bodies are never recorded.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use futures_util::future::Either;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use tracing::Instrument;

use crate::Client;
use crate::auth::digest::{self, DigestSession};
use crate::auth::service_account::TokenSource;
use crate::config::{Config, ConfigError, Credentials, Secret};
use crate::deadline::{self, Limits, Progress};
use crate::retry::{self, Attempt, Decision, Jitter, RandomJitter, RetryPolicy, Sleep, TokioSleep};

/// The most of an error body the runtime keeps; the rest is dropped and the error says so.
pub const MAX_ERROR_BODY: usize = 1024 * 1024;

/// What the one re-authenticated attempt after a 401 sends.
enum Reauth {
    /// This `Authorization` value (Digest, signed with the 401's own challenge).
    Header(reqwest::header::HeaderValue),
    /// Whatever `authorize` produces now (a freshly fetched token).
    Fresh,
}

/// The Digest `uri`: the request target as sent on the request line.
fn request_uri(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

enum Auth {
    None,
    Digest(DigestSession),
    ServiceAccount(TokenSource),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Digest(s) => f.debug_tuple("Digest").field(s).finish(),
            Auth::ServiceAccount(t) => f.debug_tuple("ServiceAccount").field(t).finish(),
        }
    }
}

#[derive(Debug)]
struct State {
    preemptive_digest: bool,
    max_response_body: usize,
    limits: Limits,
    auth: Auth,
    retry: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    jitter: Arc<dyn Jitter>,
    exchanges: AtomicU64,
    /// The client's base URL as given and as parsed, the first time a request is built.
    base: std::sync::OnceLock<(String, Option<BaseUrl>)>,
}

/// A client's base URL, parsed once for [`Runtime::request_url`].
#[derive(Debug)]
struct BaseUrl {
    parsed: reqwest::Url,
    /// The same URL with a long placeholder path. `set_path` replaces the whole path, so a
    /// copy of this gives exactly what a copy of `parsed` gives, but its text already has room
    /// for a request's path: a copy of `parsed` has none, and grew three times per request.
    roomy: reqwest::Url,
}

impl BaseUrl {
    /// Room for request paths of up to this many bytes (this API's are under 100).
    const PATH_ROOM: usize = 192;

    fn parse(base: &str) -> Option<Self> {
        let parsed = reqwest::Url::parse(base).ok()?;
        let mut roomy = parsed.clone();
        roomy.set_path(&format!("/{}", "x".repeat(Self::PATH_ROOM - 1)));
        Some(Self { parsed, roomy })
    }
}

/// Per-client runtime state, held in the generated client's `inner` field. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runtime {
    state: Arc<State>,
}

impl Default for Runtime {
    /// No credentials, the default retry policy, real sleeps.
    fn default() -> Self {
        Self::from_parts(
            Auth::None,
            RetryPolicy::default(),
            None,
            None,
            crate::config::DEFAULT_MAX_RESPONSE_BODY,
            Limits::default(),
            true,
        )
    }
}

impl Runtime {
    fn from_parts(
        auth: Auth,
        retry: RetryPolicy,
        sleep: Option<Arc<dyn Sleep>>,
        jitter: Option<Arc<dyn Jitter>>,
        max_response_body: usize,
        limits: Limits,
        preemptive_digest: bool,
    ) -> Self {
        let sleep = sleep.unwrap_or_else(|| Arc::new(TokioSleep));
        let jitter = jitter.unwrap_or_else(|| Arc::new(RandomJitter::default()));
        Self {
            state: Arc::new(State {
                preemptive_digest,
                max_response_body,
                limits,
                auth,
                retry,
                sleep,
                jitter,
                exchanges: AtomicU64::new(0),
                base: std::sync::OnceLock::new(),
            }),
        }
    }

    fn from_config(config: &Config) -> Self {
        let limits = Limits {
            total: config.timeout,
            read: config.read_timeout,
        };
        let auth = match &config.credentials {
            None => Auth::None,
            Some(Credentials::ApiKey {
                public_key,
                private_key,
            }) => Auth::Digest(DigestSession::new(digest::Credentials::new(
                public_key.clone(),
                private_key.expose(),
            ))),
            Some(Credentials::ServiceAccount {
                client_id,
                client_secret,
            }) => Auth::ServiceAccount(
                TokenSource::new(client_id.clone(), client_secret.clone(), config.token_url())
                    .with_limits(limits),
            ),
        };
        Self::from_parts(
            auth,
            config.retry,
            config.sleep.clone(),
            config.jitter.clone(),
            config.max_response_body,
            limits,
            config.preemptive_digest,
        )
    }

    /// `formatted` (the generated code's `{base}{path}`) as a URL, built from the base URL
    /// parsed once and `path`, without parsing the whole text again; `None` (parse it) unless
    /// that gives exactly what parsing would: the text starts with the cached base, the base has
    /// no path of its own or one that ends in a segment, and `path` is plain `/segment`s of
    /// unreserved characters (nothing to percent-encode) none of which starts with `.` (no dot
    /// segment).
    fn request_url(&self, base: &str, formatted: &str) -> Option<reqwest::Url> {
        let path = formatted.strip_prefix(base)?;
        // A segment starting with `.` may be a dot segment: left to the parser.
        let plain = path.starts_with('/')
            && path.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'~' | b'.')
            })
            && !path.contains("/.");
        if !plain {
            return None;
        }
        let (cached, parsed) = self
            .state
            .base
            .get_or_init(|| (base.to_owned(), BaseUrl::parse(base)));
        let BaseUrl { parsed, roomy } = parsed.as_ref().filter(|_| cached == base)?;
        if parsed.cannot_be_a_base() || parsed.query().is_some() || parsed.fragment().is_some() {
            return None;
        }
        let mut url = roomy.clone();
        let own = parsed.path();
        if own == "/" && !base.ends_with('/') {
            url.set_path(path);
        } else if !own.ends_with('/') && base.ends_with(own) {
            url.set_path(&[own, path].concat());
        } else {
            return None;
        }
        Some(url)
    }

    /// How many HTTP exchanges this client has made (requests sent, retries and
    /// authentication round trips included). Lets a caller see what a call cost.
    pub fn exchanges(&self) -> u64 {
        self.state.exchanges.load(Ordering::Relaxed)
    }

    /// How many service-account tokens were fetched (0 for other credentials).
    pub fn token_fetches(&self) -> u64 {
        match &self.state.auth {
            Auth::ServiceAccount(t) => t.fetches(),
            _ => 0,
        }
    }

    /// Adds the credentials to `request`; returns the bearer token used, if any.
    async fn authorize(
        &self,
        http: &reqwest::Client,
        request: &mut reqwest::Request,
    ) -> Option<Secret> {
        let (value, used) = self.credentials(http, request).await?;
        request
            .headers_mut()
            .insert(reqwest::header::AUTHORIZATION, value);
        used
    }

    /// The `Authorization` value for `request` (which it only reads), and the bearer token in
    /// it, if any; `None` to send the request without one.
    async fn credentials(
        &self,
        http: &reqwest::Client,
        request: &reqwest::Request,
    ) -> Option<(reqwest::header::HeaderValue, Option<Secret>)> {
        match &self.state.auth {
            Auth::None => None,
            Auth::Digest(_) if !self.state.preemptive_digest => None,
            Auth::Digest(session) => {
                let uri = request_uri(request.url());
                // No challenge cached yet: the request goes out unsigned and the 401 brings one.
                let value = session
                    .authorization(request.method().as_str(), &uri)
                    .ok()?;
                let mut value = reqwest::header::HeaderValue::from_str(&value).ok()?;
                value.set_sensitive(true);
                Some((value, None))
            }
            Auth::ServiceAccount(source) => {
                // Boxed: the token fetch is a large future, awaited rarely.
                let token = match Box::pin(source.token(http)).await {
                    Ok(token) => token,
                    Err(e) => {
                        tracing::warn!(error = %e, "service-account token unavailable; sending unauthenticated");
                        return None;
                    }
                };
                let mut value =
                    reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                        .ok()?;
                value.set_sensitive(true);
                Some((value, Some(token)))
            }
        }
    }

    /// After a 401: what to send on the one re-authenticated attempt, or `None` when it is not
    /// worth making. For Digest, the retry is signed with the challenge this very 401 carried
    /// (and stored for later calls); for a service account, the refused token is dropped and a
    /// fresh one is fetched.
    async fn on_unauthorized(
        &self,
        response: &reqwest::Response,
        request: &reqwest::Request,
        used: Option<&Secret>,
    ) -> Option<Reauth> {
        match &self.state.auth {
            Auth::None => None,
            Auth::Digest(session) => {
                let uri = request_uri(request.url());
                let signed = response
                    .headers()
                    .get_all(reqwest::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|c| {
                        session
                            .answer_challenge(c, request.method().as_str(), &uri)
                            .ok()
                    });
                if signed.is_none() {
                    tracing::warn!("401 without a usable Digest challenge");
                }
                let mut value = reqwest::header::HeaderValue::from_str(&signed?).ok()?;
                value.set_sensitive(true);
                Some(Reauth::Header(value))
            }
            Auth::ServiceAccount(source) => {
                if let Some(used) = used {
                    source.invalidate(used).await;
                }
                Some(Reauth::Fresh)
            }
        }
    }

    /// The whole call: a plain function (not an `async fn`) so that it adds no layer of its
    /// own around the attempt loop's future, only the span.
    fn execute<'a>(
        &'a self,
        http: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'static str,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a {
        let span = tracing::info_span!(
            "atlas_request",
            operation,
            method = %request.method(),
            path = %request.url().path(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        // Without a subscriber the span is disabled: skip the `Instrumented` wrapper too.
        if span.is_disabled() {
            Either::Left(self.execute_in_span(http, request, span))
        } else {
            Either::Right(
                self.execute_in_span(http, request, span.clone())
                    .instrument(span),
            )
        }
    }

    /// The attempt loop. A plain function returning an `async move` block: an `async fn` would
    /// keep a second copy of the request and the span in its future.
    #[allow(clippy::manual_async_fn)]
    fn execute_in_span<'a>(
        &'a self,
        http: &'a reqwest::Client,
        request: reqwest::Request,
        span: tracing::Span,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a {
        async move {
            let started = Instant::now();
            let mut attempt: u32 = 1;
            let mut reauthenticated = false;
            let mut reauth: Option<Reauth> = None;
            // Every attempt sends a copy; a request whose body cannot be copied (never the case
            // for this API's JSON bodies) is sent once, as it is, with no retry.
            let body = match request.body().map(reqwest::Body::as_bytes) {
                None => None,
                Some(Some(bytes)) => Some(bytes::Bytes::copy_from_slice(bytes)),
                Some(None) => {
                    return Box::pin(self.send_once(http, request, started, &span)).await;
                }
            };
            loop {
                let (credentials, used) = match reauth.take() {
                    Some(Reauth::Header(value)) => (Some(value), None),
                    Some(Reauth::Fresh) | None => match self.credentials(http, &request).await {
                        Some((value, used)) => (Some(value), used),
                        None => (None, None),
                    },
                };
                self.state.exchanges.fetch_add(1, Ordering::Relaxed);
                let progress = Progress::start();
                // The copy is made and handed to reqwest inside a block, after every wait for
                // credentials: this future then keeps no slot for it.
                let sent = {
                    let mut copy = copy_request(&request, body.clone());
                    if let Some(value) = credentials {
                        copy.headers_mut()
                            .insert(reqwest::header::AUTHORIZATION, value);
                    }
                    http.execute(copy)
                };
                // Boxed: with it inline this loop's future passes 1 KB, past the allocator's
                // per-thread cache, and so does the box around it in `exec`.
                let result = Box::pin(self.exchange(sent, request.url(), &progress)).await;
                if let Ok(response) = &result
                    && response.status().is_success()
                {
                    // Nothing to retry or re-authenticate: the common case stops here.
                    if !span.is_disabled() {
                        span.record("attempt", attempt);
                    }
                    record_outcome(&result, started, &span);
                    return result;
                }
                span.record("attempt", attempt);
                if let Err(e) = &result
                    && crate::error::is_length_limit(e)
                {
                    return Box::pin(self.finish(result, started, &span, &progress)).await;
                }

                if let Ok(response) = &result
                    && response.status() == reqwest::StatusCode::UNAUTHORIZED
                    && !reauthenticated
                    && let Some(next) =
                        Box::pin(self.on_unauthorized(response, &request, used.as_ref())).await
                {
                    reauthenticated = true;
                    reauth = Some(next);
                    continue;
                }

                match self.decide(&request, &result, attempt, started) {
                    Decision::Retry { after } => {
                        tracing::debug!(attempt, wait_ms = after.as_millis() as u64, "retrying");
                        drop(result);
                        self.state.sleep.sleep(after).await;
                        attempt += 1;
                    }
                    Decision::Stop(_) => {
                        return Box::pin(self.finish(result, started, &span, &progress)).await;
                    }
                }
            }
        }
    }

    /// A request whose body cannot be copied: signed and sent once, as it is, with no retry
    /// (boxed by the caller: it never happens with this API's bodies).
    async fn send_once(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        started: Instant,
        span: &tracing::Span,
    ) -> reqwest::Result<reqwest::Response> {
        self.authorize(http, &mut request).await;
        self.state.exchanges.fetch_add(1, Ordering::Relaxed);
        let (url, progress) = (request.url().clone(), Progress::start());
        let result = self.exchange(http.execute(request), &url, &progress).await;
        self.finish(result, started, span, &progress).await
    }

    /// One exchange within the attempt's time limits: the request (`sent`, to `url`) and, for
    /// a success, its body read. A success body is read here, inside the retry loop, so that a
    /// connection that breaks or stalls mid-body is retried like one that broke before the head.
    /// The caller hands over reqwest's future rather than the request, which keeps this
    /// future free of another copy of the request.
    async fn exchange(
        &self,
        sent: impl Future<Output = reqwest::Result<reqwest::Response>>,
        url: &reqwest::Url,
        progress: &Progress,
    ) -> reqwest::Result<reqwest::Response> {
        let max_body = self.state.max_response_body;
        let attempt = pin!(async {
            // The response is handed on inside a block, so that this future does not keep a
            // slot for it beside the body read's own.
            let read = {
                let response = sent.await?;
                progress.mark();
                if !response.status().is_success() {
                    return Ok(response);
                }
                buffer_success_body(response, max_body, progress)
            };
            read.await
        });
        match deadline::within(self.state.limits, progress, attempt).await {
            Ok(result) => result,
            Err(which) => Err(deadline::timeout_error(url, which)),
        }
    }

    /// Records the outcome on the span, and wraps a final error response's body (read within
    /// what is left of the last attempt's time limits; boxed, as the success path never needs
    /// it).
    async fn finish(
        &self,
        result: reqwest::Result<reqwest::Response>,
        started: Instant,
        span: &tracing::Span,
        progress: &Progress,
    ) -> reqwest::Result<reqwest::Response> {
        record_outcome(&result, started, span);
        match result {
            Ok(response)
                if response.status().is_client_error() || response.status().is_server_error() =>
            {
                Ok(Box::pin(envelope_error_body(response, self.state.limits, progress)).await)
            }
            other => other,
        }
    }

    /// What [`retry::decide`] says of this attempt's outcome.
    fn decide(
        &self,
        request: &reqwest::Request,
        result: &reqwest::Result<reqwest::Response>,
        attempt: u32,
        started: Instant,
    ) -> Decision {
        let outcome = match result {
            Ok(response) => Attempt::Response {
                status: response.status().as_u16(),
                headers: response.headers(),
            },
            Err(e) if e.is_connect() => Attempt::ConnectFailed,
            Err(e) if e.is_timeout() => Attempt::TimedOut,
            Err(_) => Attempt::SendFailed {
                request_may_have_reached_server: true,
            },
        };
        retry::decide(
            &self.state.retry,
            request.method(),
            &outcome,
            attempt,
            started.elapsed(),
            SystemTime::now(),
            self.state.jitter.next(),
        )
    }
}

/// A copy of `request` to send, with `body` (the request's body, copied once per call).
///
/// `Request::try_clone` would do, but it costs more on every attempt: it sets the copy's
/// per-request timeout even when there is none (an extension map and two allocations), and
/// its headers are copied without room, so the ones added on the way out (credentials, the
/// user agent, `Host`) make the map grow. A request the generated code builds carries nothing
/// else: its method, URL, headers, HTTP version, and a body of bytes or none (the timeout is
/// copied when set).
fn copy_request(request: &reqwest::Request, body: Option<bytes::Bytes>) -> reqwest::Request {
    /// Headers added after the copy: `Authorization`, `User-Agent`, `Host`, and one spare.
    const ADDED_LATER: usize = 4;
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    let headers = copy.headers_mut();
    headers.reserve(request.headers().len() + ADDED_LATER);
    for (name, value) in request.headers() {
        headers.append(name.clone(), value.clone());
    }
    *copy.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    *copy.body_mut() = body.map(reqwest::Body::from);
    copy
}

/// Records a call's outcome on its span (nothing when the span is disabled: recording still
/// builds the values).
fn record_outcome(
    result: &reqwest::Result<reqwest::Response>,
    started: Instant,
    span: &tracing::Span,
) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "request failed");
    }
    if span.is_disabled() {
        return;
    }
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    if let Ok(response) = result {
        span.record("status", response.status().as_u16());
    }
}

/// A success body the runtime has read whole (inside the retry loop), kept in the response's
/// extensions for [`response_value`] to decode.
#[derive(Clone)]
struct Buffered(bytes::Bytes);

/// A success body longer than `Config::with_max_response_body`; the source of the
/// `reqwest::Error` that becomes [`crate::Error::BodyTooLarge`].
#[derive(Debug)]
pub(crate) struct BodyOverLimit {
    limit: usize,
}

impl fmt::Display for BodyOverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body is longer than {} bytes", self.limit)
    }
}

impl std::error::Error for BodyOverLimit {}

/// Reads a success body, at most `max_body` bytes, marking `progress` as it arrives, and keeps
/// it in the response for [`response_value`]. A body announced or found longer than `max_body`
/// stops the read with an error whose source is [`BodyOverLimit`]; a body that breaks off is
/// an error naming the request.
///
/// A plain function returning an `async move` block: as an `async fn` its future would hold
/// the response twice (the argument and the local it is moved to).
#[allow(clippy::manual_async_fn)]
fn buffer_success_body(
    mut response: reqwest::Response,
    max_body: usize,
    progress: &Progress,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + '_ {
    async move {
        let over_limit = || Box::new(BodyOverLimit { limit: max_body });
        let announced = response.content_length();
        if announced.is_some_and(|length| length > max_body as u64) {
            return Err(deadline::body_error(response.url(), over_limit()));
        }
        // One frame (the usual case for a page) is kept as it is; more are joined.
        let mut first: Option<bytes::Bytes> = None;
        let mut joined: Option<bytes::BytesMut> = None;
        let mut length = 0usize;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // Like every transport error, this one names the request.
                Err(e) if e.url().is_none() => return Err(e.with_url(response.url().clone())),
                Err(e) => return Err(e),
            };
            progress.mark();
            length += chunk.len();
            if length > max_body {
                return Err(deadline::body_error(response.url(), over_limit()));
            }
            match (&mut first, &mut joined) {
                (None, None) => first = Some(chunk),
                (Some(head), None) => {
                    let expected = announced.map_or(0, |n| n as usize).max(length);
                    let mut buffer = bytes::BytesMut::with_capacity(expected);
                    buffer.extend_from_slice(head);
                    buffer.extend_from_slice(&chunk);
                    first = None;
                    joined = Some(buffer);
                }
                (_, Some(buffer)) => buffer.extend_from_slice(&chunk),
            }
        }
        let body = match (first, joined) {
            (_, Some(buffer)) => buffer.freeze(),
            (Some(chunk), None) => chunk,
            (None, None) => bytes::Bytes::new(),
        };
        response.extensions_mut().insert(Buffered(body));
        Ok(response)
    }
}

/// Starts a request (the generated code calls this instead of `client.client.get(url)`): the
/// URL is built from the base URL parsed once, not parsed whole for every request, whenever
/// that gives the same URL ([`Runtime::request_url`]); any other URL is handed to reqwest as
/// text, which parses it (and reports it if it is not one).
#[doc(hidden)]
pub fn request_builder(
    client: &Client,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    match client.inner().request_url(client.baseurl(), &url) {
        Some(parsed) => client.client().request(method, parsed),
        None => client.client().request(method, url),
    }
}

/// Decodes a JSON response body into a `ResponseValue` (the generated code calls this instead
/// of progenitor's `ResponseValue::from_response`; see `codegen`'s `with_response_decoder`).
/// A body the runtime has already read is taken from the response; any other is read here.
/// The headers are moved into the value, not copied.
///
/// A plain function, not an `async fn`: the usual case (a body the runtime read) has nothing to
/// wait for, and its future holds only the status, headers and body until it is polled, where
/// an `async fn` would hold the response twice over. The rare case is boxed.
#[doc(hidden)]
// The error type is progenitor's, which the generated code returns as it is.
#[allow(clippy::result_large_err)]
pub fn response_value<T: serde::de::DeserializeOwned + 'static, E>(
    mut response: reqwest::Response,
) -> impl Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>
{
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    match response.extensions_mut().remove::<Buffered>() {
        Some(Buffered(body)) => Either::Left(futures_util::future::lazy(move |_| {
            decode_value(status, headers, body)
        })),
        // Only bodies the runtime has not read (error envelopes) come here.
        None => Either::Right(Box::pin(async move {
            let body = response
                .bytes()
                .await
                .map_err(progenitor_client::Error::ResponseBodyError)?;
            decode_value(status, headers, body)
        })),
    }
}

/// `body` decoded as `T`, with the response's status and headers.
#[allow(clippy::result_large_err)]
fn decode_value<T: serde::de::DeserializeOwned + 'static, E>(
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
) -> Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>> {
    if let Some(inner) = crate::models::decode_entry_document(&body) {
        return Ok(progenitor_client::ResponseValue::new(
            inner, status, headers,
        ));
    }
    match serde_json::from_slice(&body) {
        Ok(inner) => Ok(progenitor_client::ResponseValue::new(
            inner, status, headers,
        )),
        Err(e) => Err(progenitor_client::Error::InvalidResponsePayload(body, e)),
    }
}

/// reqwest keeps a response's URL in an extension that a round trip through `http` drops; put
/// it back so that errors name the real request.
fn restore_url(extensions: &mut http::Extensions, url: reqwest::Url) {
    use reqwest::ResponseBuilderExt;
    if let Ok(tagged) = http::Response::builder().url(url).body(()) {
        extensions.extend(tagged.into_parts().0.extensions);
    }
}

/// Reads an error response's body (up to [`MAX_ERROR_BODY`]) and hands the generated code a
/// response whose body is the JSON [`crate::error::ErrorBody`] envelope around it. A body that
/// breaks off keeps what arrived, marked truncated: the status and headers are what matter.
async fn envelope_error_body(
    mut response: reqwest::Response,
    limits: Limits,
    progress: &Progress,
) -> reqwest::Response {
    let url = response.url().clone();
    let status = response.status();
    let mut headers = response.headers().clone();
    let mut raw = Vec::new();
    let mut truncated = false;
    let read = async {
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "error body broke off");
                    truncated = true;
                    break;
                }
            };
            progress.mark();
            let room = MAX_ERROR_BODY - raw.len();
            if chunk.len() > room {
                raw.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            raw.extend_from_slice(&chunk);
        }
    };
    let timed_out = deadline::within(limits, progress, pin!(read)).await.err();
    if let Some(limit) = timed_out {
        tracing::debug!(%limit, "error body timed out");
        truncated = true;
    }
    let body = crate::error::ErrorBody {
        raw: String::from_utf8_lossy(&raw).into_owned(),
        truncated,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    headers.remove(reqwest::header::CONTENT_LENGTH);
    headers.remove(reqwest::header::CONTENT_ENCODING);
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    let mut rebuilt = http::Response::new(json);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    restore_url(rebuilt.extensions_mut(), url);
    reqwest::Response::from(rebuilt)
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
        if let Auth::ServiceAccount(source) = &self.inner().state.auth {
            Box::pin(source.token(self.client()))
                .await
                .map_err(progenitor_client::Error::Custom)?;
        }
        Ok(())
    }

    /// A plain function (the trait's `async fn` allows it): the generated `send` then holds
    /// only the box, where an `async fn` here would hold the request as well.
    fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
        // Boxed: the runtime's future is over 700 bytes, and every `async fn` layer above it
        // (the generated `send`, the caller's own future) would otherwise hold it and move
        // it; measured, the allocation costs less than the copies.
        Box::pin(
            self.inner()
                .execute(self.client(), request, info.operation_id),
        )
    }
}

impl Client {
    /// A client for `config`: rustls with certificate verification, the configured timeouts,
    /// user agent, credentials and retry policy.
    pub fn from_config(config: Config) -> Result<Self, crate::Error> {
        // reqwest is built without a default crypto provider to keep the build lean (ring, not
        // aws-lc); install ring unless the application already installed one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            // The total and read timeouts are the runtime's (`crate::deadline`): one alarm
            // per attempt instead of reqwest's three.
            //
            // HTTP/1.1 only, whatever reqwest features the application's other dependencies
            // turn on: the protocol every test here speaks. reqwest's own retry layer only
            // replays HTTP/2 and HTTP/3 refusals, so it can never fire here; switched off, it
            // no longer copies every request's URI and headers in case it would (the sdk's own
            // retry loop decides retries; decision 0006).
            .http1_only()
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        let runtime = Runtime::from_config(&config);
        Ok(Client::new_with_client(&config.base_url, http, runtime))
    }

    /// A client configured from the environment; see [`Config::from_env`].
    pub fn from_env() -> Result<Self, crate::Error> {
        Self::from_config(Config::from_env()?)
    }

    /// The runtime state: exchange and token counters.
    pub fn runtime(&self) -> &Runtime {
        self.inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASES: &[&str] = &[
        "http://127.0.0.1:8080",
        "https://cloud.mongodb.com",
        "https://cloud.mongodb.com/",
        "https://CLOUD.MongoDB.com:443",
        "http://localhost:1/prefix",
        "http://localhost:1/prefix/",
        "http://localhost:1/a/b%41",
        "http://[::1]:9/x",
        "http://h/a b",
        "http://h?q=1",
        "data:text/plain,x",
        "not a url",
    ];

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

    /// The URL the fast path builds, if it takes it; checked against parsing the whole text.
    fn built(base: &str, path: &str) -> Option<reqwest::Url> {
        let formatted = format!("{base}{path}");
        let url = Runtime::default().request_url(base, &formatted)?;
        assert_eq!(
            Some(&url),
            reqwest::Url::parse(&formatted).ok().as_ref(),
            "{formatted}"
        );
        Some(url)
    }

    #[test]
    fn the_usual_request_urls_are_built_from_the_parsed_base() {
        let path = "/api/atlas/v1.0/groups/65c1d2e3f4a5b6c7d8e9f0a1/peers/65c1d2e3f4a5b6c7d8e9f0a2";
        for base in [
            "http://127.0.0.1:8080",
            "https://cloud.mongodb.com",
            "http://localhost:1/prefix",
        ] {
            let url = built(base, path).unwrap_or_else(|| panic!("{base} took the slow path"));
            assert!(url.as_str().ends_with(path), "{url}");
        }
        // What the fast path cannot vouch for goes to the parser.
        assert!(built("http://127.0.0.1:8080", "/groups/a%20b").is_none());
        assert!(built("http://127.0.0.1:8080", "/groups/../peers").is_none());
        assert!(built("http://127.0.0.1:8080", "/groups/é").is_none());
        assert!(built("https://cloud.mongodb.com/", "/api").is_none());
        assert!(built("http://h?q=1", "/api").is_none());
        assert!(built("not a url", "/api").is_none());
        // A runtime shared by clients with different base URLs builds only the first one's.
        let runtime = Runtime::default();
        assert!(runtime.request_url("http://a", "http://a/x").is_some());
        assert!(runtime.request_url("http://b", "http://b/x").is_none());
    }

    #[test]
    fn a_copied_request_is_the_request() {
        let url =
            reqwest::Url::parse("https://cloud.mongodb.com/api/atlas/v1.0/groups/g/peers").unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        headers.insert(reqwest::header::ACCEPT, "application/json".parse().unwrap());
        headers.append("x-repeated", "one".parse().unwrap());
        headers.append("x-repeated", "two".parse().unwrap());
        *request.version_mut() = reqwest::Version::HTTP_11;
        *request.body_mut() = Some(reqwest::Body::from(r#"{"vpcId":"vpc-1"}"#));

        let body = bytes::Bytes::from_static(br#"{"vpcId":"vpc-1"}"#);
        let copy = copy_request(&request, Some(body.clone()));
        assert_eq!(copy.method(), reqwest::Method::POST);
        assert_eq!(copy.url(), &url);
        assert_eq!(copy.headers(), request.headers());
        assert_eq!(copy.version(), reqwest::Version::HTTP_11);
        assert_eq!(copy.timeout(), None);
        assert_eq!(
            copy.body().and_then(reqwest::Body::as_bytes),
            Some(&body[..])
        );
        // Room for the headers added on the way out.
        assert!(copy.headers().capacity() >= request.headers().len() + 4);

        *request.timeout_mut() = Some(std::time::Duration::from_secs(3));
        let copy = copy_request(&request, None);
        assert_eq!(copy.timeout(), Some(&std::time::Duration::from_secs(3)));
        assert!(copy.body().is_none());
    }

    /// A body that cannot be copied (a stream) cannot be sent twice: one exchange, even for a
    /// 503 that would otherwise be retried.
    #[tokio::test]
    async fn a_streamed_body_is_sent_once() {
        let server = httpmock::MockServer::start_async().await;
        let unavailable = server
            .mock_async(|when, then| {
                when.method(httpmock::Method::GET).path("/stream");
                then.status(503).body("busy");
            })
            .await;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = Runtime::default();
        let http = reqwest::Client::new();
        let mut request =
            reqwest::Request::new(reqwest::Method::GET, server.url("/stream").parse().unwrap());
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]);
        *request.body_mut() = Some(reqwest::Body::wrap_stream(stream));
        let response = runtime.execute(&http, request, "stream").await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(unavailable.calls_async().await, 1);
        assert_eq!(runtime.exchanges(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whenever the fast path builds a URL, it is the one parsing `{base}{path}` gives
        /// (`built` asserts it).
        #[test]
        fn the_built_url_is_the_parsed_url(
            base in proptest::sample::select(BASES),
            path in prop_oneof![
                "(/[a-zA-Z0-9._~-]{0,6}){1,5}",
                "(/[a-zA-Z0-9._~%é /?#-]{0,4}){0,4}",
                any::<String>(),
            ],
        ) {
            built(base, &path);
        }
    }
}
