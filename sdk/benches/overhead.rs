//! Per-call overhead of the sdk against a hand-written reqwest + serde_json call of the same
//! endpoint on the same local server, and the cost of Digest with a cached challenge against a
//! challenge on every call.
//!
//! Run: `cargo bench -p sdk --bench overhead`. Results and how to read them: docs/PERFORMANCE.md.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use httpmock::prelude::*;
use serde_json::json;

const GROUP: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
const PEER: &str = "65c1d2e3f4a5b6c7d8e9f0a1";

fn peer_body() -> serde_json::Value {
    json!({"id": PEER, "providerName": "AWS", "containerId": "64b0c1d2e3f4a5b6c7d8e9f0",
        "accepterRegionName": "eu-west-1", "awsAccountId": "418273645091", "vpcId": "vpc-07e3c5a9b1d2f4e68",
        "routeTableCidrBlock": "172.31.0.0/16", "connectionId": "pcx-0c4e6a8b2d1f3e5a7", "statusName": "AVAILABLE",
        "errorStateName": null})
}

fn overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start_async());
    let path = format!("/api/atlas/v1.0/groups/{GROUP}/peers/{PEER}");
    rt.block_on(server.mock_async(|when, then| {
        when.method(GET).path(path.clone());
        then.status(200).json_body(peer_body());
    }));
    let url = server.url(&path);

    let sdk_client = sdk::Client::from_config(
        sdk::Config::new()
            .with_base_url(&server.base_url())
            .unwrap(),
    )
    .unwrap();
    let raw_client = reqwest::Client::builder().build().unwrap();

    let mut group = c.benchmark_group("get_peer");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("reqwest+serde_json", |b| {
        b.to_async(&rt).iter(|| async {
            let response = raw_client
                .get(&url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            let bytes = response.bytes().await.unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            std::hint::black_box(value);
        })
    });
    group.bench_function("sdk", |b| {
        b.to_async(&rt).iter(|| async {
            let peer = sdk_client
                .get_peer()
                .group_id(GROUP)
                .peer_id(PEER)
                .send()
                .await
                .unwrap();
            std::hint::black_box(peer.into_inner());
        })
    });
    group.finish();
}

fn digest(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start_async());
    let path = format!("/api/atlas/v1.0/groups/{GROUP}/peers/{PEER}");
    rt.block_on(server.mock_async(|when, then| {
        when.method(GET)
            .path(path.clone())
            .header_missing("authorization");
        then.status(401)
            .header(
                "www-authenticate",
                r#"Digest realm="MMS Public API", nonce="bench-nonce", algorithm=MD5, qop="auth""#,
            )
            .json_body(json!({"error": 401, "errorCode": "USER_UNAUTHORIZED"}));
    }));
    rt.block_on(server.mock_async(|when, then| {
        when.method(GET)
            .path(path.clone())
            .header_exists("authorization");
        then.status(200).json_body(peer_body());
    }));
    let config = sdk::Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_api_key("bench-public", "bench-private");

    let mut group = c.benchmark_group("digest_get_peer");
    group.measurement_time(Duration::from_secs(8));
    let cached = sdk::Client::from_config(config.clone()).unwrap();
    group.bench_function("cached_challenge", |b| {
        b.to_async(&rt).iter(|| async {
            cached
                .get_peer()
                .group_id(GROUP)
                .peer_id(PEER)
                .send()
                .await
                .unwrap();
        })
    });
    let calls_before = cached.runtime().exchanges();
    // A fresh client per call has no cached challenge: every call pays the 401 round trip, as
    // clients that do not reuse nonces do.
    group.bench_function("challenge_every_call", |b| {
        b.to_async(&rt).iter(|| async {
            let fresh = sdk::Client::from_config(config.clone()).unwrap();
            fresh
                .get_peer()
                .group_id(GROUP)
                .peer_id(PEER)
                .send()
                .await
                .unwrap();
            assert_eq!(fresh.runtime().exchanges(), 2);
        })
    });
    group.finish();
    let _ = calls_before;
}

criterion_group!(benches, overhead, digest);
criterion_main!(benches);
