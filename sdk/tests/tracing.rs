//! The `atlas_request` span names the operation, method, status and attempt, and nothing a
//! trace captures ever holds the private key, the client secret or a token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use atlas_network_peering::{Client, Config};
use httpmock::prelude::*;
use serde_json::json;

mod common;
use common::GROUP;

const PRIVATE_KEY: &str = "priv-3c9d1e7a-trace-secret";
const CLIENT_SECRET: &str = "mdb_sa_sk_trace_0a1b2c3d";
const TOKEN: &str = "tok-trace-5e6f7a8b9c";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn subscriber(out: Captured) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || out.clone())
        .finish()
}

async fn exercise(server: &MockServer) {
    let page = json!({"results": [], "totalCount": 0});
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/api/atlas/v1.0/groups/{GROUP}/peers")).header_missing("authorization");
            then.status(401)
                .header("www-authenticate", r#"Digest realm="MMS Public API", nonce="trace-nonce", algorithm=MD5, qop="auth""#)
                .json_body(json!({"error": 401, "errorCode": "USER_UNAUTHORIZED"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/peers"))
                .header_exists("authorization");
            then.status(200).json_body(page.clone());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/oauth/token");
            then.status(200).json_body(
                json!({"access_token": TOKEN, "expires_in": 600, "token_type": "Bearer"}),
            );
        })
        .await;

    let base = Config::new().with_base_url(&server.base_url()).unwrap();
    let digest =
        Client::from_config(base.clone().with_api_key("trace-public", PRIVATE_KEY)).unwrap();
    digest.list_peers().group_id(GROUP).send().await.unwrap();
    digest.list_peers().group_id(GROUP).send().await.unwrap();
    let service =
        Client::from_config(base.with_service_account("trace-client", CLIENT_SECRET)).unwrap();
    service.list_peers().group_id(GROUP).send().await.unwrap();
    // Debug output of the clients and their config is part of what could end up in logs.
    tracing::info!(client = ?digest, service = ?service, "clients");
}

#[tokio::test]
async fn spans_carry_the_call_and_never_a_secret() {
    let out = Captured::default();
    let server = MockServer::start_async().await;
    {
        let _guard = tracing::subscriber::set_default(subscriber(out.clone()));
        exercise(&server).await;
    }
    let text = out.text();
    assert!(text.contains("atlas_request"), "{text}");
    assert!(text.contains("operation=\"list_peers\""), "{text}");
    assert!(text.contains("method=GET"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("attempt=1"), "{text}");
    for secret in [PRIVATE_KEY, CLIENT_SECRET, TOKEN, "response=\"", "cnonce"] {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked into the trace:\n{text}"
        );
    }
}
