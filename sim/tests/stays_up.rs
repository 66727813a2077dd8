//! The simulator stays up under abuse: a flood of unauthenticated requests leaves nothing
//! behind, expired tokens are forgotten, a connection that stalls or idles is closed after the
//! request timeout, and connections beyond the cap wait their turn. On tokio's paused clock:
//! the timeouts pass in virtual time.

use std::time::Duration;

use atlas_network_peering_sim::Simulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

fn address(sim: &Simulator) -> String {
    sim.base_url().trim_start_matches("http://").to_owned()
}

/// Reads until the simulator closes the connection (end of stream or reset); what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn ten_thousand_401s_leave_no_nonce_behind() {
    let sim = Simulator::start().await.unwrap();
    let mut stream = TcpStream::connect(address(&sim)).await.unwrap();
    let request = format!(
        "GET /api/atlas/v1.0/groups/{}/peers HTTP/1.1\r\nhost: x\r\n\r\n",
        sim.project_id()
    );
    let mut buf = vec![0u8; 4096];
    for _ in 0..10_000 {
        stream.write_all(request.as_bytes()).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("nonce=\""), "{answer}");
    }
    assert_eq!(sim.requests(), 10_000);
    assert_eq!(sim.remembered_credentials(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn expired_tokens_are_forgotten() {
    let sim = Simulator::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(address(&sim)).await.unwrap();
    let request = {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            sim.client_id(),
            sim.client_secret()
        ));
        format!(
            "POST /api/oauth/token HTTP/1.1\r\nhost: x\r\nauthorization: Basic {basic}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 29\r\n\r\n\
             grant_type=client_credentials"
        )
    };
    let mut buf = vec![0u8; 4096];
    let mut token = async || {
        stream.write_all(request.as_bytes()).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    };
    for _ in 0..1024 {
        token().await;
    }
    assert_eq!(sim.remembered_credentials(), (0, 1024));
    tokio::time::sleep(Duration::from_secs(61)).await;
    token().await;
    assert_eq!(
        sim.remembered_credentials(),
        (0, 1),
        "the expired ones are gone"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_head_and_an_idle_connection_are_closed_after_the_timeout() {
    let timeout = Duration::from_secs(10);
    let sim = Simulator::builder()
        .request_timeout(timeout)
        .start()
        .await
        .unwrap();

    let mut stalled = TcpStream::connect(address(&sim)).await.unwrap();
    stalled.write_all(b"GET /api/atlas/v1.0/gro").await.unwrap();
    let started = Instant::now();
    until_closed(&mut stalled).await;
    let held = started.elapsed();
    assert!(held >= timeout && held < timeout * 2, "held {held:?}");

    // A body that never comes.
    let mut no_body = TcpStream::connect(address(&sim)).await.unwrap();
    no_body
        .write_all(b"POST /api/oauth/token HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    until_closed(&mut no_body).await;
    assert!(started.elapsed() >= timeout, "held {:?}", started.elapsed());

    let mut idle = TcpStream::connect(address(&sim)).await.unwrap();
    idle.write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 404"));
    let started = Instant::now();
    let rest = until_closed(&mut idle).await;
    assert!(rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"));
    let held = started.elapsed();
    assert!(held >= timeout && held < timeout * 2, "held {held:?}");
    // Still serving.
    let mut fresh = TcpStream::connect(address(&sim)).await.unwrap();
    fresh
        .write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(until_closed(&mut fresh).await.starts_with(b"HTTP/1.1 404"));
}

#[tokio::test(start_paused = true)]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let sim = Simulator::builder()
        .max_connections(2)
        .request_timeout(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(address(&sim)).await.unwrap();
        s.write_all(b"GET /api/atlas").await.unwrap();
        held.push(s);
    }
    let mut third = TcpStream::connect(address(&sim)).await.unwrap();
    third
        .write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "answered while two connections held the cap"
    );
    drop(held.pop());
    assert!(until_closed(&mut third).await.starts_with(b"HTTP/1.1 404"));
}
