#![deny(missing_docs)]
//! The crate's one error type, and the one place where the errors the crate makes are built.
//!
//! Every call's `send()` returns [`Error`]. Atlas error responses become [`Error::Api`], which
//! exposes the status, the typed `errorCode`, `detail`, `reason` and `parameters`, and always
//! keeps the raw body, so an HTML page from a proxy or an empty body still gives the status and
//! the text. This module imports nothing from the runtime: the runtime calls the constructors
//! here.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::types::{ApiError, ApiErrorCode};

/// The most of an error body the crate keeps (1 MiB); the rest is dropped and
/// [`ApiFailure::is_truncated`] says so.
pub const MAX_ERROR_BODY: usize = 1024 * 1024;

/// An error status from Atlas, or from something in front of it.
#[derive(Clone)]
pub struct ApiFailure {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<ApiError>,
    raw: String,
    truncated: bool,
    /// The host (and port) that answered.
    host: String,
    tries: Tries,
}

/// How many attempts a failure took, and over how long (the retry loop fills it in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tries {
    attempts: u32,
    elapsed: Duration,
}

impl fmt::Display for Tries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts > 1 {
            let secs = self.elapsed.as_secs_f64();
            write!(f, " (after {} attempts over {secs:.1} s)", self.attempts)?;
        }
        Ok(())
    }
}

impl ApiFailure {
    /// Builds a failure from a status, headers and raw body from `host`; the body is parsed as
    /// an Atlas error object when it is one. `truncated`: the body was cut short (at the
    /// crate's limit for error bodies, or because the connection broke while it was read).
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        raw: String,
        truncated: bool,
        host: &str,
    ) -> Self {
        let body = serde_json::from_str::<ApiError>(&raw).ok();
        Self {
            status,
            headers,
            body,
            raw,
            truncated,
            host: host.to_owned(),
            tries: Tries::default(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers (`Retry-After`, `WWW-Authenticate`, ...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The Atlas error object, when the body was one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.body.as_ref()
    }

    /// The raw body as received (lossily decoded if it was not UTF-8).
    pub fn raw_body(&self) -> &str {
        &self.raw
    }

    /// Whether the raw body was cut short.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Debug for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers are left out: they are not needed to understand the failure and a proxy may
        // echo request headers back.
        f.debug_struct("ApiFailure")
            .field("status", &self.status)
            .field("body", &self.body)
            .field("raw", &self.raw)
            .field("truncated", &self.truncated)
            .field("host", &self.host)
            .finish()
    }
}

/// Which time limit ended an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeLimit {
    /// No connection (TCP and TLS) within `Config::with_connect_timeout`.
    Connect(Duration),
    /// Nothing arrived for `Config::with_read_timeout`: before the response head, or between
    /// two parts of a body.
    Read(Duration),
    /// The attempt as a whole (request and whole response) took longer than
    /// `Config::with_timeout`.
    Attempt(Duration),
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::Connect(limit) => write!(f, "no connection within {limit:?}"),
            TimeLimit::Read(limit) => {
                write!(f, "nothing arrived for the read timeout of {limit:?}")
            }
            TimeLimit::Attempt(limit) => {
                write!(f, "the attempt took longer than its timeout of {limit:?}")
            }
        }
    }
}

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx or 5xx).
    #[error("{}", api_message(.0))]
    Api(Box<ApiFailure>),
    /// An argument was refused before anything was sent (an id that is not 24 lower-case hex
    /// characters, a missing required parameter, `envelope(true)`, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A success response whose body did not decode.
    #[error("the response body does not decode at `{path}`: {message}")]
    Decode {
        /// JSON pointer of the failure inside the body (`/results/3/statusName`; `/` for the
        /// whole body).
        path: String,
        /// What was wrong there.
        message: String,
        /// The body as received.
        raw: Bytes,
    },
    /// An attempt ran out of time; [`TimeLimit`] says which limit, `attempts` how many were
    /// made.
    #[error("timed out: {limit}, {}{}", attempts_over(*.attempts, *.elapsed), url_of(.source.as_ref()))]
    Timeout {
        /// The limit that ran out.
        limit: TimeLimit,
        /// The attempts made, the last one included.
        attempts: u32,
        /// The time from the first attempt's start to the end of the last one.
        elapsed: Duration,
        /// reqwest's error, for the connect and read limits (reqwest enforces them).
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The server could not be reached, or the exchange broke (DNS, connect, TLS, reset). The
    /// message ends with the innermost cause (`connection refused`, `invalid peer certificate:
    /// UnknownIssuer`, ...).
    #[error("transport error{}: {}", Tries { attempts: *.attempts, elapsed: *.elapsed }, with_cause(.source))]
    Transport {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
        /// The attempts made, the last one included.
        attempts: u32,
        /// The time from the first attempt's start to the end of the last one.
        elapsed: Duration,
    },
    /// Authentication could not be carried out (the token endpoint refused or was unreachable).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The configuration is incomplete or contradictory.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A success body longer than the configured limit (`Config::with_max_response_body`,
    /// 64 MiB by default); reading stopped there.
    #[error(
        "the response body is longer than the limit of {limit} bytes (Config::with_max_response_body)"
    )]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A status the API does not use for this operation (1xx, 3xx, an undeclared 2xx). A
    /// redirect is not followed (Atlas's API does not redirect), so the request, its
    /// credentials and its body never go anywhere else; `location` says where it pointed.
    #[error("unexpected response status {status}{}", redirect_of(.location.as_deref()))]
    UnexpectedStatus {
        /// The status received.
        status: StatusCode,
        /// The `Location` header of a redirect.
        location: Option<String>,
    },
    /// A listing stopped because the server sent the same page again (it seems to ignore
    /// `pageNum`): page `page` repeated page `page - 1`, by the same `self` link or the same
    /// entries in the same order. The entries yielded before it are correct; the rest of the
    /// listing could not be read.
    #[error(
        "repeated page: page {page} repeats page {} ({by}); the server seems to ignore `pageNum`, so the listing stops instead of looping",
        .page - 1
    )]
    RepeatedPage {
        /// The page number that came back repeated (2 or more).
        page: u32,
        /// What was the same: `the same self link` or `the same entries`.
        by: &'static str,
    },
    /// A waiter stopped before the resource reached the state it waited for (see
    /// [`crate::waiter`]).
    #[error(transparent)]
    Wait(Box<crate::waiter::WaitError>),
}

fn api_message(f: &ApiFailure) -> String {
    let (status, host, tries) = (f.status.as_u16(), &f.host, f.tries);
    match &f.body {
        Some(e) => format!(
            "Atlas answered {status} {}: {}{tries}",
            e.error_code,
            e.detail.as_deref().unwrap_or("(no detail)")
        ),
        None if f.raw.trim().is_empty() => {
            format!("{host} answered {status} with an empty body, not an Atlas error{tries}")
        }
        None => format!(
            "{host} answered {status} with a body that is not an Atlas error{tries}: {}",
            snippet(&f.raw)
        ),
    }
}

fn redirect_of(location: Option<&str>) -> String {
    match location {
        Some(to) => format!(
            ": a redirect to {to}, not followed (Atlas's API does not redirect; check the base URL)"
        ),
        None => String::new(),
    }
}

/// `1 attempt` or `3 attempts over 1.4 s`.
fn attempts_over(attempts: u32, elapsed: Duration) -> String {
    match attempts {
        0 | 1 => "1 attempt".to_owned(),
        n => format!("{n} attempts over {:.1} s", elapsed.as_secs_f64()),
    }
}

fn snippet(raw: &str) -> String {
    const MAX: usize = 200;
    let one_line: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

fn url_of(source: Option<&reqwest::Error>) -> String {
    match source.and_then(reqwest::Error::url) {
        Some(url) => format!(" (url {url})"),
        None => String::new(),
    }
}

/// reqwest's message, then the innermost cause when reqwest's own message does not already
/// say it: `error sending request for url (...): invalid peer certificate: UnknownIssuer`.
fn with_cause(e: &reqwest::Error) -> String {
    let top = e.to_string();
    match chain(e).last().map(ToString::to_string) {
        Some(cause) if !cause.is_empty() && !top.contains(&cause) => format!("{top}: {cause}"),
        _ => top,
    }
}

/// The chain of errors that starts at `e`, looking inside `io::Error`s as well (whose
/// `source()` skips the error they wrap, and which hyper and rustls nest).
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |s| {
        match s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => s.source(),
        }
    })
}

/// The first error of type `T` in the chain that starts at `e`.
fn source_of<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    chain(e).find_map(|s| s.downcast_ref::<T>())
}

/// Whether `e` is a certificate or TLS failure: it will fail the same way on every attempt.
fn is_tls_failure(e: &reqwest::Error) -> bool {
    source_of::<rustls::Error>(e).is_some()
}

impl Error {
    /// A reqwest failure: a timeout of one of the limits reqwest enforces (connect, read), a
    /// success body over `max_body` bytes, or any other transport failure.
    pub(crate) fn from_reqwest(
        e: reqwest::Error,
        connect: Duration,
        read: Duration,
        max_body: usize,
    ) -> Self {
        if source_of::<http_body_util::LengthLimitError>(&e).is_some() {
            return Error::BodyTooLarge { limit: max_body };
        }
        if e.is_timeout() {
            let limit = if e.is_connect() {
                TimeLimit::Connect(connect)
            } else {
                TimeLimit::Read(read)
            };
            return Error::Timeout {
                limit,
                attempts: 1,
                elapsed: Duration::ZERO,
                source: Some(e),
            };
        }
        Error::Transport {
            source: e,
            attempts: 1,
            elapsed: Duration::ZERO,
        }
    }

    /// An attempt that took longer than `limit` in all.
    pub(crate) fn attempt_timed_out(limit: Duration) -> Self {
        Error::Timeout {
            limit: TimeLimit::Attempt(limit),
            attempts: 1,
            elapsed: Duration::ZERO,
            source: None,
        }
    }

    /// An error response from `host`: its status, headers and raw body.
    pub(crate) fn api(
        status: StatusCode,
        headers: HeaderMap,
        raw: &[u8],
        truncated: bool,
        host: &str,
    ) -> Self {
        let raw = String::from_utf8_lossy(raw).into_owned();
        Error::Api(Box::new(ApiFailure::new(
            status, headers, raw, truncated, host,
        )))
    }

    /// A success body that does not decode as `T`, with the JSON path of the failure.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(raw: Bytes) -> Self {
        let (path, message) = crate::models::decode_failure::<T>(&raw);
        Error::Decode { path, message, raw }
    }

    /// A response with a status the operation does not declare.
    pub(crate) fn unexpected(response: &reqwest::Response) -> Self {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        Error::UnexpectedStatus {
            status: response.status(),
            location,
        }
    }

    /// This error, as the last of `attempts` attempts that took `elapsed` in all.
    pub(crate) fn after_attempts(mut self, count: u32, over: Duration) -> Self {
        match &mut self {
            Error::Api(failure) => {
                failure.tries = Tries {
                    attempts: count,
                    elapsed: over,
                }
            }
            Error::Timeout {
                attempts, elapsed, ..
            }
            | Error::Transport {
                attempts, elapsed, ..
            } => {
                *attempts = count;
                *elapsed = over;
            }
            _ => {}
        }
        self
    }

    /// How long the server asked to wait before trying again (`Retry-After` of a 429 or 503),
    /// when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        crate::retry::retry_after(self.api_failure()?.headers())
    }

    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(f) => Some(f.status),
            Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::Wait(w) => w.last_error().and_then(Error::status),
            _ => None,
        }
    }

    /// The Atlas failure, for [`Error::Api`].
    pub fn api_failure(&self) -> Option<&ApiFailure> {
        match self {
            Error::Api(f) => Some(f),
            _ => None,
        }
    }

    /// Why a wait ended without the wanted state, for [`Error::Wait`]: the failed status and
    /// the provider's detail, or the last state seen before the timeout.
    pub fn wait_error(&self) -> Option<&crate::waiter::WaitError> {
        match self {
            Error::Wait(w) => Some(w),
            _ => None,
        }
    }

    /// Atlas's `errorCode`, when the body was an Atlas error object.
    pub fn error_code(&self) -> Option<&ApiErrorCode> {
        self.api_failure()?.body.as_ref().map(|b| &b.error_code)
    }

    /// Atlas's `detail` sentence.
    pub fn detail(&self) -> Option<&str> {
        self.api_failure()?.body.as_ref()?.detail.as_deref()
    }

    /// Atlas's `reason` (the HTTP reason phrase).
    pub fn reason(&self) -> Option<&str> {
        self.api_failure()?.body.as_ref()?.reason.as_deref()
    }

    /// Atlas's `parameters`, the values substituted into `detail`.
    pub fn parameters(&self) -> &[serde_json::Value] {
        self.api_failure()
            .and_then(|f| f.body.as_ref())
            .and_then(|b| b.parameters.as_deref())
            .unwrap_or(&[])
    }

    /// The raw body of an error response.
    pub fn raw_body(&self) -> Option<&str> {
        self.api_failure().map(|f| f.raw.as_str())
    }

    /// 404: the project, container or peering connection does not exist (or the id is not
    /// one). See [`is_gone`](Self::is_gone) for "the thing I asked about is not there".
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// A 404 about the container or peering connection itself (`PEER_NOT_FOUND`,
    /// `CLOUD_PROVIDER_CONTAINER_NOT_FOUND`): it is gone, or never was. A 404 about the project
    /// (`GROUP_NOT_FOUND`, `INVALID_GROUP_ID`, ...) or without an Atlas body is not: deleting
    /// something and treating `is_gone()` as success is safe.
    pub fn is_gone(&self) -> bool {
        self.is_not_found()
            && matches!(
                self.error_code(),
                Some(ApiErrorCode::PeerNotFound | ApiErrorCode::CloudProviderContainerNotFound)
            )
    }

    /// A 409 saying that what a create asked for exists already: `CONTAINER_ALREADY_EXISTS`,
    /// `PEER_ALREADY_EXISTS`, `PEER_ALREADY_EXISTS_GCP`, `PEER_ALREADY_EXISTS_AZURE`.
    pub fn is_already_exists(&self) -> bool {
        self.is_conflict()
            && matches!(
                self.error_code(),
                Some(
                    ApiErrorCode::ContainerAlreadyExists
                        | ApiErrorCode::PeerAlreadyExists
                        | ApiErrorCode::PeerAlreadyExistsGcp
                        | ApiErrorCode::PeerAlreadyExistsAzure
                )
            )
    }

    /// 409: the change clashes with the current state.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// 429, or an Atlas rate-limit error code.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
            || matches!(
                self.error_code(),
                Some(ApiErrorCode::RateLimited | ApiErrorCode::RateLimitedTokenBucket)
            )
    }

    /// An attempt ran out of time ([`Error::Timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// A certificate or TLS failure (an untrusted or expired certificate, a failed handshake):
    /// trying again will not help.
    pub fn is_tls(&self) -> bool {
        matches!(self, Error::Transport { source, .. } if is_tls_failure(source))
    }

    /// Whether the same call could succeed later, by the rule the runtime's own retries follow:
    /// 429, 502, 503, 504, a timeout, or a transport failure other than TLS (the runtime has
    /// already retried these within its policy when they reach the caller; 502 to 504, timeouts
    /// and broken connections only for idempotent methods).
    pub fn is_retryable(&self) -> bool {
        crate::retry::classify(self) != crate::retry::Retryable::No
    }
}

impl From<crate::waiter::WaitError> for Error {
    fn from(e: crate::waiter::WaitError) -> Self {
        Error::Wait(Box::new(e))
    }
}

impl ApiError {
    /// An Atlas error object, as a test serves it: `error` is `status`, `reason` its reason
    /// phrase, `parameters` empty.
    ///
    /// ```
    /// use atlas_network_peering::types::{ApiError, ApiErrorCode};
    /// let gone = ApiError::new(404, ApiErrorCode::PeerNotFound, "No peer with ID 65c1d2e3f4a5b6c7d8e9f0ff exists.");
    /// assert_eq!(gone.reason.as_deref(), Some("Not Found"));
    /// ```
    pub fn new(status: u16, error_code: ApiErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            bad_request_detail: None,
            detail: Some(detail.into()),
            error: i32::from(status),
            error_code,
            parameters: Some(Vec::new()),
            reason: StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, raw: &str) -> Error {
        Error::api(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            raw.as_bytes(),
            false,
            "proxy.example:8443",
        )
    }

    fn atlas(status: u16, code: &str) -> Error {
        api(
            status,
            &format!(r#"{{"error":{status},"errorCode":"{code}","detail":"d","reason":"r"}}"#),
        )
    }

    #[test]
    fn non_json_error_body_keeps_status_and_text() {
        let e = api(502, "<html>bad gateway</html>");
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(e.raw_body(), Some("<html>bad gateway</html>"));
        assert!(e.error_code().is_none());
        assert!(e.is_retryable());
        assert_eq!(
            e.to_string(),
            "proxy.example:8443 answered 502 with a body that is not an Atlas error: <html>bad gateway</html>"
        );
        let retried = e.after_attempts(4, Duration::from_millis(1420));
        assert_eq!(
            retried.to_string(),
            "proxy.example:8443 answered 502 with a body that is not an Atlas error (after 4 attempts over 1.4 s): <html>bad gateway</html>"
        );
    }

    #[test]
    fn retry_after_is_the_servers_and_errors_say_how_many_attempts() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let limited = Error::api(StatusCode::TOO_MANY_REQUESTS, headers, b"", false, "h");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(api(503, "").retry_after(), None);
        assert_eq!(Error::InvalidArgument("x".into()).retry_after(), None);
        let atlas = atlas(503, "SERVICE_UNAVAILABLE").after_attempts(3, Duration::from_secs(2));
        assert_eq!(
            atlas.to_string(),
            "Atlas answered 503 SERVICE_UNAVAILABLE: d (after 3 attempts over 2.0 s)"
        );
        assert_eq!(
            api(404, " ").to_string(),
            "proxy.example:8443 answered 404 with an empty body, not an Atlas error"
        );
    }

    #[test]
    fn atlas_error_body_is_typed() {
        let raw = r#"{"detail":"No peer with ID 65c1d2e3f4a5b6c7d8e9f0ff exists.","error":404,"errorCode":"PEER_NOT_FOUND","parameters":["65c1d2e3f4a5b6c7d8e9f0ff"],"reason":"Not Found"}"#;
        let e = api(404, raw);
        assert!(e.is_not_found() && !e.is_conflict() && !e.is_retryable());
        assert_eq!(e.error_code(), Some(&ApiErrorCode::PeerNotFound));
        assert_eq!(e.reason(), Some("Not Found"));
        assert_eq!(
            e.parameters(),
            [serde_json::json!("65c1d2e3f4a5b6c7d8e9f0ff")]
        );
        assert_eq!(
            e.to_string(),
            "Atlas answered 404 PEER_NOT_FOUND: No peer with ID 65c1d2e3f4a5b6c7d8e9f0ff exists."
        );
        let e = api(404, &raw.replace("PEER_NOT_FOUND", "SOMETHING_NEW"));
        assert_eq!(
            e.error_code(),
            Some(&ApiErrorCode::Unknown("SOMETHING_NEW".into()))
        );
    }

    #[test]
    fn gone_means_the_resource_itself() {
        assert!(atlas(404, "PEER_NOT_FOUND").is_gone());
        assert!(atlas(404, "CLOUD_PROVIDER_CONTAINER_NOT_FOUND").is_gone());
        for code in ["GROUP_NOT_FOUND", "INVALID_GROUP_ID", "RESOURCE_NOT_FOUND"] {
            assert!(!atlas(404, code).is_gone(), "{code}");
        }
        assert!(!api(404, "<html>not here</html>").is_gone());
        assert!(!atlas(409, "PEER_NOT_FOUND").is_gone());
    }

    #[test]
    fn already_exists_means_a_duplicate_create() {
        for code in [
            "CONTAINER_ALREADY_EXISTS",
            "PEER_ALREADY_EXISTS",
            "PEER_ALREADY_EXISTS_GCP",
            "PEER_ALREADY_EXISTS_AZURE",
        ] {
            assert!(atlas(409, code).is_already_exists(), "{code}");
        }
        assert!(!atlas(409, "CONTAINERS_IN_USE").is_already_exists());
        assert!(!atlas(400, "PEER_ALREADY_EXISTS").is_already_exists());
    }

    #[test]
    fn an_api_error_for_tests_in_one_line() {
        let e = ApiError::new(409, ApiErrorCode::PeerAlreadyExists, "exists");
        assert_eq!(e.error, 409);
        assert_eq!(e.reason.as_deref(), Some("Conflict"));
        let served = api(409, &serde_json::to_string(&e).unwrap());
        assert!(served.is_already_exists());
        assert_eq!(served.detail(), Some("exists"));
    }

    /// The list pages among the fixtures' response bodies: whether of peers, and the body.
    fn fixture_pages() -> Vec<(bool, serde_json::Value)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut pages = Vec::new();
        for folder in ["list_peers", "list_containers", "list_all_containers"] {
            for file in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
                let text = std::fs::read_to_string(file.path()).unwrap();
                let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
                let body = fixture["response"]["body"].clone();
                let peers = folder == "list_peers";
                let decodes = if peers {
                    serde_json::from_value::<crate::types::PeerPage>(body.clone()).is_ok()
                } else {
                    serde_json::from_value::<crate::types::ContainerPage>(body.clone()).is_ok()
                };
                if decodes {
                    pages.push((peers, body));
                }
            }
        }
        assert!(pages.len() >= 3, "fixtures hold list pages");
        pages
    }

    /// Every node of `value`, as JSON pointers.
    fn pointers(value: &serde_json::Value, here: &str, out: &mut Vec<String>) {
        let children: Vec<(String, &serde_json::Value)> = match value {
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
                .collect(),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Vec::new(),
        };
        for (key, child) in children {
            let at = format!("{here}/{key}");
            out.push(at.clone());
            pointers(child, &at, out);
        }
    }

    proptest::proptest! {
        /// When a list page stops decoding because one value has the wrong type, the path of
        /// the decode error is that value's JSON pointer, in a compact body as in a pretty one.
        #[test]
        fn decode_errors_name_the_failing_value(
            index in 0usize..64,
            pick in proptest::prelude::any::<proptest::sample::Index>(),
            pretty in proptest::prelude::any::<bool>(),
        ) {
            let pages = fixture_pages();
            let (peers, mut body) = pages[index % pages.len()].clone();
            let mut all = Vec::new();
            pointers(&body, "", &mut all);
            let target = all[pick.index(all.len())].clone();
            let slot = body.pointer_mut(&target).unwrap();
            *slot = match slot {
                serde_json::Value::String(_) => serde_json::json!(5),
                serde_json::Value::Number(_) => serde_json::json!("five"),
                serde_json::Value::Bool(_) => serde_json::json!("true"),
                _ => serde_json::json!(false),
            };
            let bytes = if pretty {
                serde_json::to_vec_pretty(&body).unwrap()
            } else {
                serde_json::to_vec(&body).unwrap()
            };
            let fails = if peers {
                serde_json::from_slice::<crate::types::PeerPage>(&bytes).is_err()
            } else {
                serde_json::from_slice::<crate::types::ContainerPage>(&bytes).is_err()
            };
            if fails {
                let error = if peers {
                    Error::decode::<crate::types::PeerPage>(Bytes::from(bytes))
                } else {
                    Error::decode::<crate::types::ContainerPage>(Bytes::from(bytes))
                };
                let Error::Decode { path, .. } = &error else { panic!("{error:?}") };
                proptest::prop_assert_eq!(path, &target, "{}", error);
            }
        }
    }

    #[test]
    fn time_limits_say_which_ran_out() {
        let e = Error::attempt_timed_out(Duration::from_secs(60));
        assert!(e.is_timeout() && e.is_retryable());
        assert_eq!(
            e.to_string(),
            "timed out: the attempt took longer than its timeout of 60s, 1 attempt"
        );
        let e = e.after_attempts(2, Duration::from_secs(120));
        assert_eq!(
            e.to_string(),
            "timed out: the attempt took longer than its timeout of 60s, 2 attempts over 120.0 s"
        );
    }
}
