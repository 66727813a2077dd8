#![deny(missing_docs)]
//! The sdk's one public error type.
//!
//! Every generated operation returns `progenitor_client::Error<ErrorBody>`; `?` turns it into
//! [`Error`] through `From`. Atlas error responses become [`Error::Api`], which exposes the
//! status, the typed `errorCode`, `detail`, `reason` and `parameters`, and always keeps the raw
//! body, so an HTML page from a proxy or an empty body still gives the status and the text.

use std::fmt;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

pub use crate::deadline::AttemptTimedOut;
use crate::types::{ApiError, ApiErrorCode};

/// The body of an error response as the generated code hands it over: the raw text, exactly as
/// received (lossily decoded if it was not UTF-8). The runtime wraps every error body in this
/// envelope before the generated code reads it, so decoding an error response never fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// The response body as sent by the server.
    #[serde(rename = "sdkRawErrorBody")]
    pub raw: String,
    /// Whether the runtime cut the body at its size limit.
    #[serde(rename = "sdkTruncated", default)]
    pub truncated: bool,
}

/// An error status from Atlas, or from something in front of it.
#[derive(Clone)]
pub struct ApiFailure {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<ApiError>,
    raw: String,
    truncated: bool,
}

impl ApiFailure {
    /// Builds a failure from a status, headers and raw body; the body is parsed as an Atlas
    /// error object when it is one.
    pub fn new(status: StatusCode, headers: HeaderMap, raw: String, truncated: bool) -> Self {
        let body = serde_json::from_str::<ApiError>(&raw).ok();
        Self {
            status,
            headers,
            body,
            raw,
            truncated,
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

    /// The raw body as received.
    pub fn raw_body(&self) -> &str {
        &self.raw
    }

    /// Whether the raw body was cut at the runtime's size limit.
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
            .finish()
    }
}

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx or 5xx).
    #[error("{}", api_message(.0))]
    Api(Box<ApiFailure>),
    /// An argument was refused before anything was sent (an id that is not 24 hex characters,
    /// a missing required parameter, `envelope(true)`, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A success response whose body did not decode. `path` is the JSON path that failed.
    #[error("the response body does not decode at `{path}`: {message}")]
    Decode {
        /// JSON path of the failure inside the body (`/results/3/statusName`).
        path: String,
        /// What was wrong there.
        message: String,
        /// The body as received.
        raw: Bytes,
    },
    /// The server could not be reached, or the exchange broke (connect, TLS, timeout, reset).
    /// `is_timeout()` is true when an attempt ran out of time; the runtime's own limits
    /// (`Config::with_timeout`, `Config::with_read_timeout`) then have an [`AttemptTimedOut`]
    /// among the error's sources, naming the limit.
    #[error("transport error: {}", transport_message(.0))]
    Transport(#[source] reqwest::Error),
    /// Authentication could not be carried out (the token endpoint refused, ...).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The configuration is incomplete or contradictory.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A success body longer than the configured limit (`Config::with_max_response_body`,
    /// 64 MiB by default); reading stopped there.
    #[error(
        "the response body is larger than the configured limit (Config::with_max_response_body)"
    )]
    BodyTooLarge,
    /// A status the API does not use (1xx, 3xx).
    #[error("unexpected response status {status}")]
    UnexpectedStatus {
        /// The status received.
        status: StatusCode,
    },
}

fn api_message(f: &ApiFailure) -> String {
    match &f.body {
        Some(e) => format!(
            "Atlas answered {} {}: {}",
            f.status.as_u16(),
            e.error_code,
            e.detail.as_deref().unwrap_or("(no detail)")
        ),
        None if f.raw.trim().is_empty() => {
            format!("Atlas answered {} with an empty body", f.status.as_u16())
        }
        None => format!(
            "Atlas answered {} with a body that is not an Atlas error: {}",
            f.status.as_u16(),
            snippet(&f.raw)
        ),
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

impl Error {
    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(f) => Some(f.status),
            Error::UnexpectedStatus { status } => Some(*status),
            Error::Transport(e) => e.status(),
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

    /// 404: the project, container or peering connection does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
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

    /// Whether the same call could succeed later: 429, 502, 503, 504, or a transport failure
    /// (the runtime has already retried these within its policy when they reach the caller).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) => true,
            _ => matches!(
                self.status().map(|s| s.as_u16()),
                Some(429 | 502 | 503 | 504)
            ),
        }
    }
}

impl From<progenitor_client::Error<ErrorBody>> for Error {
    fn from(e: progenitor_client::Error<ErrorBody>) -> Self {
        use progenitor_client::Error as P;
        match e {
            P::ErrorResponse(rv) => {
                let status = rv.status();
                let headers = rv.headers().clone();
                let body = rv.into_inner();
                Error::Api(Box::new(ApiFailure::new(
                    status,
                    headers,
                    body.raw,
                    body.truncated,
                )))
            }
            P::InvalidRequest(message) => Error::InvalidArgument(message),
            P::ResponseBodyError(e) | P::CommunicationError(e) if is_length_limit(&e) => {
                Error::BodyTooLarge
            }
            P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
                Error::Transport(e)
            }
            P::InvalidResponsePayload(raw, e) => {
                let path = json_path_at(&raw, e.line(), e.column());
                Error::Decode {
                    path,
                    message: e.to_string(),
                    raw,
                }
            }
            P::UnexpectedResponse(response) => Error::UnexpectedStatus {
                status: response.status(),
            },
            P::Custom(message) => Error::Auth(message),
        }
    }
}

/// Whether `e` comes from reading past the success-body limit.
pub(crate) fn is_length_limit(e: &reqwest::Error) -> bool {
    source_of::<crate::runtime::BodyOverLimit>(e).is_some()
}

/// The first error of type `T` in the chain that starts at `e`, looking inside `io::Error`s as
/// well (whose `source()` skips the error they wrap).
pub(crate) fn source_of<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<T>())
        {
            return Some(inner);
        }
        source = s.source();
    }
    None
}

/// The message of [`Error::Transport`]: reqwest's, except for a time limit of the runtime's,
/// which reqwest can only describe as a body error.
fn transport_message(e: &reqwest::Error) -> String {
    match source_of::<AttemptTimedOut>(e) {
        Some(limit) => match e.url() {
            Some(url) => format!("timed out: {limit} (url {url})"),
            None => format!("timed out: {limit}"),
        },
        None => e.to_string(),
    }
}

/// The JSON path (a JSON pointer) of the value at `line`/`column` (1-based, as serde_json
/// reports them) in `raw`. Best effort: text that is not JSON up to that point gives the path
/// reached so far.
pub fn json_path_at(raw: &[u8], line: usize, column: usize) -> String {
    enum Frame {
        Object { key: Option<String>, want_key: bool },
        Array { index: usize, started: bool },
    }
    // The byte offset serde_json's line/column point at.
    let mut end = raw.len();
    let (mut l, mut c) = (1usize, 0usize);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' {
            l += 1;
            c = 0;
        } else {
            c += 1;
        }
        if l > line || (l == line && c >= column) {
            end = i;
            break;
        }
    }
    // serde_json reports a failed value at the position after it has looked past the value, the
    // separator and the white space that follow; back up over those, or the path would name
    // the next entry.
    while end > 0 && matches!(raw[end - 1], b',' | b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let b = raw[i];
        match b {
            b'{' => {
                mark_array_value(&mut stack);
                stack.push(Frame::Object {
                    key: None,
                    want_key: true,
                });
            }
            b'[' => {
                mark_array_value(&mut stack);
                stack.push(Frame::Array {
                    index: 0,
                    started: false,
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { want_key, .. }) => *want_key = true,
                Some(Frame::Array { index, .. }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < raw.len() && raw[j] != b'"' {
                    j += if raw[j] == b'\\' { 2 } else { 1 };
                }
                let text = String::from_utf8_lossy(&raw[start..j.min(raw.len())]).into_owned();
                i = j;
                match stack.last_mut() {
                    Some(Frame::Object { key, want_key }) if *want_key => {
                        *key = Some(text);
                        *want_key = false;
                    }
                    _ => mark_array_value(&mut stack),
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' | b':' => {}
            _ => mark_array_value(&mut stack),
        }
        i += 1;
    }
    fn mark_array_value(stack: &mut [Frame]) {
        if let Some(Frame::Array { started, .. }) = stack.last_mut() {
            *started = true;
        }
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
            }
            Frame::Array {
                index,
                started: true,
            } => path.push_str(&format!("/{index}")),
            _ => {}
        }
    }
    if path.is_empty() {
        "/".to_owned()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_points_at_the_failing_value() {
        let raw = br#"{"links": [], "results": [{"id": "a"}, {"id": "b", "statusName": 5}]}"#;
        let e = serde_json::from_slice::<serde_json::Value>(raw).err();
        assert!(e.is_none());
        // Position of `5`, column counted from 1.
        let col = raw.iter().position(|&b| b == b'5').unwrap() + 1;
        assert_eq!(json_path_at(raw, 1, col), "/results/1/statusName");
        assert_eq!(json_path_at(b"<html>", 1, 1), "/");
        // After a failing entry serde_json may report past the separator and white space.
        let pretty = b"{\"results\": [\n  {\"a\": 5},\n  {\"a\": 6}\n]}";
        let after_first = pretty.iter().position(|&b| b == b'}').unwrap() + 1;
        let line2_col = after_first - pretty.iter().position(|&b| b == b'\n').unwrap() + 3;
        assert_eq!(json_path_at(pretty, 2, line2_col), "/results/0");
    }

    #[test]
    fn non_json_error_body_keeps_status_and_text() {
        let f = ApiFailure::new(
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            "<html>bad gateway</html>".into(),
            false,
        );
        let e = Error::Api(Box::new(f));
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(e.raw_body(), Some("<html>bad gateway</html>"));
        assert!(e.error_code().is_none());
        assert!(e.is_retryable());
        assert!(
            e.to_string().contains("502") && e.to_string().contains("bad gateway"),
            "{e}"
        );
    }

    #[test]
    fn atlas_error_body_is_typed() {
        let raw = r#"{"detail":"No peer with ID 65c1d2e3f4a5b6c7d8e9f0ff exists.","error":404,"errorCode":"PEER_NOT_FOUND","parameters":["65c1d2e3f4a5b6c7d8e9f0ff"],"reason":"Not Found"}"#;
        let e = Error::Api(Box::new(ApiFailure::new(
            StatusCode::NOT_FOUND,
            HeaderMap::new(),
            raw.into(),
            false,
        )));
        assert!(e.is_not_found() && !e.is_conflict() && !e.is_retryable());
        assert_eq!(e.error_code(), Some(&ApiErrorCode::PeerNotFound));
        assert_eq!(e.reason(), Some("Not Found"));
        assert_eq!(
            e.parameters(),
            [serde_json::json!("65c1d2e3f4a5b6c7d8e9f0ff")]
        );
        let unknown = raw.replace("PEER_NOT_FOUND", "SOMETHING_NEW");
        let e = Error::Api(Box::new(ApiFailure::new(
            StatusCode::NOT_FOUND,
            HeaderMap::new(),
            unknown,
            false,
        )));
        assert_eq!(
            e.error_code(),
            Some(&ApiErrorCode::Unknown("SOMETHING_NEW".into()))
        );
    }
}
