//! The controls of a running simulator over HTTP, for the binary and clients in any language:
//! under `/__sim/` (no Atlas path starts so), from loopback addresses only, JSON in and out.
//! Each does what a method of [`crate::Simulator`] does; the sim README lists them with curl
//! examples.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Map, Value, json};

use crate::http::{json_object, json_response, lock, read_body};
use crate::model::ApiError;
use crate::{Fault, Shared, Verdict};

/// The path prefix of the controls.
pub(crate) const PREFIX: &str = "/__sim/";

/// A control's answer: status and JSON body.
type Answer = (u16, Value);

fn refused(status: u16, why: impl Into<String>) -> Answer {
    (status, json!({"error": why.into()}))
}

fn from_api(e: ApiError) -> Answer {
    refused(e.status, e.detail)
}

/// A number field of a control's body; `None` when absent, `Err` when not a number of at
/// least 0.
fn number(body: &Map<String, Value>, name: &str) -> Result<Option<f64>, Answer> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(Some)
            .ok_or_else(|| refused(400, format!("`{name}` must be a number of at least 0"))),
    }
}

/// A duration field in seconds (`default` when absent).
fn seconds(body: &Map<String, Value>, name: &str, default: f64) -> Result<Duration, Answer> {
    let n = number(body, name)?.unwrap_or(default);
    Duration::try_from_secs_f64(n).map_err(|_| refused(400, format!("`{name}` is too large")))
}

fn text(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(str::to_owned)
}

pub(crate) async fn handle(
    shared: &Shared,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (status, body) = if !remote.ip().is_loopback() {
        refused(
            403,
            "the simulator's controls answer loopback addresses only",
        )
    } else {
        let (parts, body) = request.into_parts();
        match read_body(shared, body).await {
            Ok(Some(bytes)) => {
                let path = parts.uri.path().trim_start_matches(PREFIX).to_owned();
                let body = if bytes.is_empty() {
                    Ok(Map::new())
                } else {
                    json_object(&bytes).map_err(from_api)
                };
                match body {
                    Ok(body) => control(shared, &parts.method, &path, &body),
                    Err(answer) => answer,
                }
            }
            Ok(None) => refused(408, "the request body did not arrive in time"),
            Err(answer) => return answer,
        }
    };
    json_response(status, &body, false)
}

fn control(shared: &Shared, method: &Method, path: &str, body: &Map<String, Value>) -> Answer {
    let segments: Vec<&str> = path.split('/').collect();
    let outcome = match (method, &segments[..]) {
        (&Method::GET, ["clock"]) => {
            Ok((200, json!({"nowSeconds": shared.clock.now().as_secs_f64()})))
        }
        (&Method::POST, ["clock"]) => seconds(body, "advanceSeconds", 0.0).map(|by| {
            let mut offset = lock(&shared.clock.offset);
            *offset = offset.saturating_add(by);
            drop(offset);
            (200, json!({"nowSeconds": shared.clock.now().as_secs_f64()}))
        }),
        (&Method::GET, ["peers", id]) => {
            let now = shared.clock.now();
            Ok(match lock(&shared.world).peer_status(id, now) {
                Some(status) => (200, json!({"status": status})),
                None => refused(404, format!("no peering {id}")),
            })
        }
        (&Method::POST, ["peers", id, action]) => {
            let reason = text(body, "reason");
            let done = match *action {
                "accept" => shared.decide(id, Verdict::Accept),
                "reject" => shared.decide(id, Verdict::Reject),
                "fail" => shared.decide(id, Verdict::Fail(reason.unwrap_or_default())),
                "fail-deletion" => shared.fail_deletion(id, reason.unwrap_or_default()),
                _ => return refused(404, format!("no control {path}")),
            };
            Ok(done.map_or_else(from_api, |status| (200, json!({"status": status}))))
        }
        (&Method::POST, ["faults"]) => faults(shared, body),
        (&Method::POST, ["rate-limit"]) => rate_limit(shared, body),
        (&Method::POST, ["containers", id, "provision"]) => {
            Ok(match lock(&shared.world).provision(id) {
                Some(()) => (200, json!({"provisioned": true})),
                None => refused(404, format!("no container {id}")),
            })
        }
        (&Method::POST, ["projects"]) => {
            Ok((200, json!({"id": lock(&shared.world).add_project()})))
        }
        (&Method::POST, ["reset"]) => {
            shared.reset();
            Ok((200, json!({"projectId": shared.project_id})))
        }
        _ => Ok(refused(404, format!("no control {method} {PREFIX}{path}"))),
    };
    outcome.unwrap_or_else(|answer| answer)
}

/// `{"fault": "unavailable" | "reset" | "slow", "count": n, "seconds": s}`.
fn faults(shared: &Shared, body: &Map<String, Value>) -> Result<Answer, Answer> {
    let count = number(body, "count")?.unwrap_or(1.0) as usize;
    let fault = match text(body, "fault").as_deref() {
        Some("unavailable") => Fault::Unavailable,
        Some("reset") => Fault::Reset,
        Some("slow") => Fault::Slow(seconds(body, "seconds", 5.0)?),
        _ => return Err(refused(400, "`fault` is one of unavailable, reset, slow")),
    };
    shared.queue_fault(fault, count);
    Ok((200, json!({"queued": count})))
}

/// `{"limit": n, "windowSeconds": s}`; `{"limit": null}` lifts it.
fn rate_limit(shared: &Shared, body: &Map<String, Value>) -> Result<Answer, Answer> {
    let limit = number(body, "limit")?.map(|n| n as usize);
    let window = seconds(body, "windowSeconds", 60.0)?;
    shared.set_rate_limit(limit.map(|limit| (limit, window)));
    Ok((
        200,
        json!({"limit": limit, "windowSeconds": window.as_secs_f64()}),
    ))
}
