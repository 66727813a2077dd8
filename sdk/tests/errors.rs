//! The crate's one error as a caller meets it: through `?` into anyhow or a boxed error, and
//! transport failures that say why (and are not retried when they cannot heal).

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{ApiError, ApiErrorCode};
use atlas_network_peering::{Client, Config};
use httpmock::prelude::*;

mod common;
use common::{GROUP, PEER, get_peer, peer_path};

/// A client for `base_url` whose retries back off from 1 ms.
fn client(base_url: &str) -> (Client, ()) {
    let policy = RetryPolicy::default().with_base_delay(Duration::from_millis(1));
    let config = Config::new()
        .with_base_url(base_url)
        .unwrap()
        .with_retry_policy(policy);
    (Client::from_config(config).unwrap(), ())
}

async fn missing_peer_server() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(peer_path());
            then.status(404).json_body_obj(&ApiError::new(
                404,
                ApiErrorCode::PeerNotFound,
                format!("No peer with ID {PEER} exists in project {GROUP}."),
            ));
        })
        .await;
    server
}

#[tokio::test]
async fn question_mark_into_anyhow_or_a_boxed_error_keeps_the_crates_error() {
    let server = missing_peer_server().await;
    let (client, _) = client(&server.base_url());

    async fn with_anyhow(client: &Client) -> anyhow::Result<()> {
        get_peer(client).await?;
        Ok(())
    }
    async fn boxed(client: &Client) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        get_peer(client).await?;
        Ok(())
    }

    let expected = format!(
        "Atlas answered 404 PEER_NOT_FOUND: No peer with ID {PEER} exists in project {GROUP}."
    );
    let err = with_anyhow(&client).await.unwrap_err();
    assert_eq!(err.to_string(), expected);
    let ours = err
        .downcast_ref::<atlas_network_peering::Error>()
        .expect("anyhow holds the crate's Error");
    assert!(ours.is_gone() && !ours.is_retryable());

    let err = boxed(&client).await.unwrap_err();
    assert_eq!(err.to_string(), expected);
    assert!(
        err.downcast_ref::<atlas_network_peering::Error>()
            .is_some_and(atlas_network_peering::Error::is_not_found)
    );
}

/// A TLS server on 127.0.0.1 whose certificate is self-signed (`tests/data`, for localhost and
/// 127.0.0.1, issuer found in no root store): it counts connections and attempts each handshake.
fn self_signed_tls_server() -> (String, Arc<AtomicUsize>) {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let cert = std::fs::read(data.join("self-signed-cert.der")).unwrap();
    let key = std::fs::read(data.join("self-signed-key.der")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert)],
            rustls::pki_types::PrivateKeyDer::try_from(key).unwrap(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            count.fetch_add(1, Ordering::SeqCst);
            let mut tls = rustls::ServerConnection::new(config.clone()).unwrap();
            // The client refuses the certificate; the handshake ends with its alert.
            while tls.is_handshaking() {
                if tls.complete_io(&mut stream).is_err() {
                    break;
                }
            }
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn an_untrusted_certificate_says_why_and_is_not_retried() {
    let (url, accepted) = self_signed_tls_server();
    let (client, _) = client(&url);
    let err = get_peer(&client)
        .await
        .expect_err("the certificate is not trusted");
    assert!(err.is_tls(), "{err:?}");
    assert!(!err.is_retryable());
    let message = err.to_string();
    assert!(
        message.starts_with("transport error: error sending request for url (https://127.0.0.1:")
            && message.ends_with("invalid peer certificate: UnknownIssuer"),
        "{message}"
    );
    // One connection: a certificate does not heal between attempts.
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_says_so_and_is_retried() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (client, _) = client(&format!("http://127.0.0.1:{port}"));
    let err = get_peer(&client).await.expect_err("nothing listens");
    assert!(
        matches!(err, atlas_network_peering::Error::Transport { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable() && !err.is_tls());
    assert!(err.to_string().contains("Connection refused"), "{err}");
    assert!(
        err.to_string()
            .starts_with("transport error (after 4 attempts over "),
        "{err}"
    );
    assert_eq!(client.exchanges(), 4);
}
