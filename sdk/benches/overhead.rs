//! Per-call overhead of the sdk against a hand-written reqwest + serde_json call of the same
//! endpoint on the same local server, and the cost of Digest with a cached challenge against a
//! challenge on every call.
//!
//! Run: `cargo bench -p atlas-network-peering --bench overhead`. Results and how to read them: docs/PERFORMANCE.md.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;

fn overhead(c: &mut Criterion) {
    let rt = common::one_worker_runtime();
    let server = common::peer_server(&rt);
    let url = server.url(common::peer_path());

    let sdk_client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url())
            .unwrap(),
    )
    .unwrap();
    let raw_client = reqwest::Client::builder().build().unwrap();

    let mut group = c.benchmark_group("get_peer");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("reqwest+serde_json", |b| {
        b.to_async(&rt)
            .iter(|| async { common::raw_get::<serde_json::Value>(&raw_client, &url).await })
    });
    group.bench_function("sdk", |b| {
        b.to_async(&rt)
            .iter(|| async { common::sdk_get_peer(&sdk_client).await })
    });
    group.finish();
}

fn digest(c: &mut Criterion) {
    let rt = common::one_worker_runtime();
    let server = rt.block_on(httpmock::MockServer::start_async());
    let _mocks = common::digest_mocks(&rt, &server);
    let config = atlas_network_peering::Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_api_key("bench-public", "bench-private");

    let mut group = c.benchmark_group("digest_get_peer");
    group.measurement_time(Duration::from_secs(8));
    let cached = atlas_network_peering::Client::from_config(config.clone()).unwrap();
    group.bench_function("cached_challenge", |b| {
        b.to_async(&rt)
            .iter(|| async { common::sdk_get_peer(&cached).await })
    });
    // A fresh client per call has no cached challenge: every call pays the 401 round trip, as
    // clients that do not reuse nonces do.
    group.bench_function("challenge_every_call", |b| {
        b.to_async(&rt).iter(|| async {
            let fresh = atlas_network_peering::Client::from_config(config.clone()).unwrap();
            let peer = common::sdk_get_peer(&fresh).await;
            assert_eq!(fresh.exchanges(), 2);
            peer
        })
    });
    group.finish();
}

criterion_group!(benches, overhead, digest);
criterion_main!(benches);
