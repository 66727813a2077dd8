//! The HTTP side: one hyper service per connection that hands `/__sim/` to the controls,
//! applies the faults and the rate limit, authenticates, routes the 13 operations to
//! [`crate::model`], and writes Atlas's answers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::auth::Verdict;
use crate::model::{ApiError, Listing, PageQuery, Provider};
use crate::{Fault, Shared};

/// The largest request body read (a peering body is a few hundred bytes).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// A Mutex that a panic elsewhere does not poison for good.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a request comes to: an answer, or a connection closed without one.
enum Outcome {
    Answer(Response<Full<Bytes>>),
    Reset,
}

pub(crate) fn json_response(status: u16, body: &Value, pretty: bool) -> Response<Full<Bytes>> {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(e: &ApiError) -> Response<Full<Bytes>> {
    json_response(e.status, &e.body(), false)
}

/// Serves one request; a closed connection is the service's error.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    if request.uri().path().starts_with(crate::control::PREFIX) {
        return Ok(crate::control::handle(&shared, remote, request).await);
    }
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let fault = shared.next_fault();
    match fault {
        Some(Fault::Reset) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "a fault: the connection is reset",
            ));
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Unavailable) => {
            let e = ApiError::new(
                503,
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable.",
            );
            return Ok(error_response(&e));
        }
        None => {}
    }
    match handle(&shared, request).await {
        Outcome::Answer(response) => Ok(response),
        Outcome::Reset => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the request could not be read",
        )),
    }
}

/// A configurable limit of `limit` requests in every `window` of tokio's clock
/// (`RATE_LIMITED`).
#[derive(Debug)]
pub(crate) struct RateLimit {
    pub(crate) limit: usize,
    pub(crate) window: Duration,
    pub(crate) hits: VecDeque<Instant>,
}

impl RateLimit {
    /// `Some(seconds to wait)` when this request is over the limit.
    fn refuse(&mut self, now: Instant) -> Option<u64> {
        while self
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.hits.pop_front();
        }
        if self.hits.len() < self.limit {
            self.hits.push_back(now);
            return None;
        }
        let left = match self.hits.front() {
            Some(oldest) => self.window.saturating_sub(now.duration_since(*oldest)),
            None => self.window,
        };
        Some(left.as_secs() + u64::from(left.subsec_nanos() > 0))
    }
}

/// The request's body, read within the request timeout: `Err` is the answer instead (`413`),
/// `Ok(None)` a body that did not arrive in time or at all.
pub(crate) async fn read_body(
    shared: &Shared,
    body: Incoming,
) -> Result<Option<Bytes>, Response<Full<Bytes>>> {
    let reading = Limited::new(body, MAX_REQUEST_BODY).collect();
    match tokio::time::timeout(shared.request_timeout, reading).await {
        Ok(Ok(collected)) => Ok(Some(collected.to_bytes())),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            let e = ApiError::new(
                413,
                "PAYLOAD_TOO_LARGE",
                format!("The request body is longer than {MAX_REQUEST_BODY} bytes."),
            );
            Err(error_response(&e))
        }
        _ => Ok(None),
    }
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Outcome {
    let (parts, body) = request.into_parts();
    let body = match read_body(shared, body).await {
        Ok(Some(body)) => body,
        Ok(None) => return Outcome::Reset,
        Err(answer) => return Outcome::Answer(answer),
    };
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let now = shared.clock.now();

    if let Some(limit) = lock(&shared.rate_limit).as_mut()
        && let Some(wait) = limit.refuse(Instant::now())
    {
        let e = ApiError::new(
            429,
            "RATE_LIMITED",
            format!(
                "Resource {path} is limited to {} requests every {} minutes. Please retry after {wait} seconds.",
                limit.limit,
                limit.window.as_secs().div_ceil(60).max(1)
            ),
        )
        .with([json!(path), json!(limit.limit), json!(limit.window.as_secs().div_ceil(60).max(1))]);
        let mut response = error_response(&e);
        response.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(wait),
        );
        return Outcome::Answer(response);
    }

    if path == "/api/oauth/token" {
        return Outcome::Answer(token(
            shared,
            &parts.method,
            header(hyper::header::AUTHORIZATION),
            &body,
            now,
        ));
    }
    let Some(rest) = path.strip_prefix("/api/atlas/v1.0/groups/") else {
        return Outcome::Answer(not_found(&path));
    };

    let target = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let verdict = lock(&shared.keys).check(
        header(hyper::header::AUTHORIZATION).as_deref(),
        parts.method.as_str(),
        &target,
        now,
    );
    if let Verdict::Challenge { stale } = verdict {
        let challenge = lock(&shared.keys).challenge(now, stale);
        let e = ApiError::new(
            401,
            "USER_UNAUTHORIZED",
            "You are not authorized for this resource.",
        );
        let mut response = error_response(&e);
        if let Ok(value) = hyper::header::HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(hyper::header::WWW_AUTHENTICATE, value);
        }
        return Outcome::Answer(response);
    }

    let pretty = flag(&query, "pretty").ok().flatten().unwrap_or(false);
    let answer = route(shared, &parts.method, rest, &query, &body, now);
    Outcome::Answer(match answer {
        Ok((status, Some(body))) => json_response(status, &body, pretty),
        Ok((status, None)) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
        }
        Err(e) => error_response(&e),
    })
}

fn not_found(path: &str) -> Response<Full<Bytes>> {
    error_response(
        &ApiError::new(
            404,
            "RESOURCE_NOT_FOUND",
            format!("Cannot find resource {path}."),
        )
        .with([json!(path)]),
    )
}

fn token(
    shared: &Shared,
    method: &Method,
    authorization: Option<String>,
    body: &[u8],
    now: Duration,
) -> Response<Full<Bytes>> {
    if method != Method::POST {
        return method_not_allowed();
    }
    let form = String::from_utf8_lossy(body);
    let issued =
        lock(&shared.keys).issue_token(authorization.as_deref(), &form, crate::random_hex(40), now);
    match issued {
        Some((token, lifetime)) => json_response(
            200,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime.as_secs()}),
            false,
        ),
        None => json_response(
            401,
            &json!({"error": "invalid_client", "error_description": "The client credentials are not valid."}),
            false,
        ),
    }
}

fn method_not_allowed() -> Response<Full<Bytes>> {
    error_response(&ApiError::new(
        405,
        "METHOD_NOT_ALLOWED",
        "The method is not allowed on this resource.",
    ))
}

fn invalid_query(name: &str, value: &str) -> ApiError {
    ApiError::new(
        400,
        "INVALID_QUERY_PARAMETER",
        format!("Invalid query parameter {name} specified: {value}."),
    )
    .with([json!(name), json!(value)])
}

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn flag(query: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    match param(query, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(invalid_query(name, other)),
    }
}

/// `pageNum`, `itemsPerPage` (1 to 500, default 100) and `includeCount` (default true), as
/// the v1.0 spec's common parameters.
fn page_query(query: &[(String, String)]) -> Result<PageQuery, ApiError> {
    let number = |name: &str, default: usize, max: usize| match param(query, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid_query(name, text)),
    };
    Ok(PageQuery {
        page_num: number("pageNum", 1, usize::MAX)?,
        items_per_page: number("itemsPerPage", 100, 500)?,
        include_count: flag(query, "includeCount")?.unwrap_or(true),
    })
}

pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            400,
            "INVALID_JSON",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::new(
            400,
            "MALFORMED_JSON",
            format!("Received JSON is malformed: {e}."),
        )),
    }
}

/// The answer of one of the 13 operations: status and body (none for 204).
fn route(
    shared: &Shared,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    body: &[u8],
    now: Duration,
) -> Result<(u16, Option<Value>), ApiError> {
    // `envelope=true` asks Atlas to wrap the answer; the simulator does not (README).
    if flag(query, "envelope")? == Some(true) {
        return Err(invalid_query(
            "envelope",
            "true (the simulator does not wrap answers)",
        ));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let group = segments[0];
    // Links start at the simulator's own address, whatever the request's `Host` says.
    let link = |kind: &str| {
        let provider = param(query, "providerName")
            .map(|p| {
                format!(
                    "providerName={}&",
                    form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                )
            })
            .unwrap_or_default();
        let base = format!(
            "{}/api/atlas/v1.0/groups/{group}/{kind}?{provider}",
            shared.base_url
        );
        move |per: usize| move |n: usize| format!("{base}pageNum={n}&itemsPerPage={per}")
    };
    let provider_param = |default: Provider| -> Result<Provider, ApiError> {
        match param(query, "providerName") {
            None => Ok(default),
            Some(p) => Provider::parse(Some(&json!(p))),
        }
    };
    let not_allowed = || {
        Err(ApiError::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!("The method {method} is not allowed on this resource."),
        ))
    };
    let mut world = lock(&shared.world);
    match (method, &segments[1..]) {
        (&Method::GET, ["containers", "all"]) => {
            let query = page_query(query)?;
            let href = link("containers/all")(query.items_per_page);
            let listing = Listing { query, href: &href };
            Ok((
                200,
                Some(world.list_containers(group, None, &listing, now)?),
            ))
        }
        (_, ["containers", "all"]) => not_allowed(),
        (&Method::GET, ["containers"]) => {
            let provider = provider_param(Provider::Aws)?;
            let query = page_query(query)?;
            let href = link("containers")(query.items_per_page);
            let listing = Listing { query, href: &href };
            Ok((
                200,
                Some(world.list_containers(group, Some(provider), &listing, now)?),
            ))
        }
        (&Method::POST, ["containers"]) => {
            world.project(group, now)?;
            Ok((
                200,
                Some(world.create_container(group, &json_object(body)?, now)?),
            ))
        }
        (&Method::GET, ["containers", id]) => Ok((200, Some(world.get_container(group, id, now)?))),
        (&Method::PATCH, ["containers", id]) => {
            world.project(group, now)?;
            Ok((
                200,
                Some(world.update_container(group, id, &json_object(body)?, now)?),
            ))
        }
        (&Method::DELETE, ["containers", id]) => {
            world.delete_container(group, id, now)?;
            Ok((204, None))
        }
        (&Method::GET, ["peers"]) => {
            let provider = provider_param(Provider::Aws)?;
            let query = page_query(query)?;
            let href = link("peers")(query.items_per_page);
            let listing = Listing { query, href: &href };
            Ok((200, Some(world.list_peers(group, provider, &listing, now)?)))
        }
        (&Method::POST, ["peers"]) => {
            world.project(group, now)?;
            Ok((
                200,
                Some(world.create_peer(group, &json_object(body)?, now)?),
            ))
        }
        (&Method::GET, ["peers", id]) => Ok((200, Some(world.get_peer(group, id, now)?))),
        (&Method::PATCH, ["peers", id]) => {
            world.project(group, now)?;
            Ok((
                200,
                Some(world.update_peer(group, id, &json_object(body)?, now)?),
            ))
        }
        (&Method::DELETE, ["peers", id]) => {
            world.delete_peer(group, id, now)?;
            Ok((202, Some(json!({}))))
        }
        (&Method::GET, ["privateIpMode"]) => Ok((200, Some(world.private_ip_mode(group, now)?))),
        (&Method::PATCH, ["privateIpMode"]) => {
            world.project(group, now)?;
            Ok((
                200,
                Some(world.set_private_ip_mode(group, &json_object(body)?, now)?),
            ))
        }
        (_, ["containers"] | ["containers", _] | ["peers"] | ["peers", _] | ["privateIpMode"]) => {
            not_allowed()
        }
        _ => Err(ApiError::new(
            404,
            "RESOURCE_NOT_FOUND",
            format!("Cannot find resource /api/atlas/v1.0/groups/{rest}."),
        )),
    }
}
