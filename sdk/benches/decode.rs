//! Decoding one full page (500 entries, mixed AWS / GCP / Azure, nulls included) into the
//! sdk's types against decoding the same bytes into `serde_json::Value`.
//!
//! Run: `cargo bench -p sdk --bench decode`. Results and how to read them: docs/PERFORMANCE.md.
//!
//! The JSON is built once, outside the timed loop; each iteration decodes the same bytes. A
//! third group isolates what the provider dispatch of `sdk::models` costs: `Peer` first
//! buffers each entry as a `serde_json::Map` to read `providerName`, then decodes that map
//! into the provider's struct; the reference decodes the same (all-AWS) page straight into
//! `Vec<types::AwsPeer>`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sdk::models::{Container, Peer};
use sdk::types::{AwsPeer, ContainerPage, PeerPage};

/// Decodes `bytes` as `T` and checks that encoding gives back the same JSON (so the data
/// really is what the sdk's types model: nothing dropped, every null kept).
fn round_trips<T: serde::de::DeserializeOwned + serde::Serialize>(bytes: &[u8]) -> T {
    let decoded: T = serde_json::from_slice(bytes).expect("the bench data decodes");
    let again: serde_json::Value = serde_json::to_value(&decoded).unwrap();
    let original: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(again, original, "the bench data round-trips");
    decoded
}

fn peers(c: &mut Criterion) {
    let bytes = common::peer_page(1, common::PAGE_SIZE, true, Some(20_000));
    let page: PeerPage = round_trips(&bytes);
    let count = |f: fn(&Peer) -> bool| page.results.iter().filter(|p| f(p)).count();
    assert_eq!(page.results.len(), 500);
    assert_eq!(
        (
            count(|p| matches!(p, Peer::Aws(_))),
            count(|p| matches!(p, Peer::Gcp(_))),
            count(|p| matches!(p, Peer::Azure(_)))
        ),
        (250, 150, 100)
    );

    let mut group = c.benchmark_group("decode_peer_page_500");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("sdk::types::PeerPage", |b| {
        b.iter(|| serde_json::from_slice::<PeerPage>(black_box(&bytes)).unwrap())
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

fn containers(c: &mut Criterion) {
    let bytes = common::container_page(1, common::PAGE_SIZE, true, Some(20_000));
    let page: ContainerPage = round_trips(&bytes);
    assert_eq!(page.results.len(), 500);
    assert!(
        page.results
            .iter()
            .all(|c| !matches!(c, Container::Unknown(_)))
    );

    let mut group = c.benchmark_group("decode_container_page_500");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("sdk::types::ContainerPage", |b| {
        b.iter(|| serde_json::from_slice::<ContainerPage>(black_box(&bytes)).unwrap())
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

/// An all-AWS page, as `list_peers` with `providerName=AWS` returns it, decoded through the
/// provider dispatch and straight into the AWS struct.
fn dispatch(c: &mut Criterion) {
    #[derive(serde::Deserialize)]
    struct AwsOnlyPage {
        #[allow(dead_code)]
        results: Vec<AwsPeer>,
    }
    // Entries 0..=4 of every ten are AWS; keep those.
    let results: Vec<serde_json::Value> = (0..1000)
        .filter(|i| i % 10 < 5)
        .map(|i| common::peer(1, i))
        .collect();
    assert_eq!(results.len(), 500);
    let bytes =
        serde_json::to_vec(&serde_json::json!({"results": results, "totalCount": 500})).unwrap();
    let _: PeerPage = round_trips(&bytes);

    let mut group = c.benchmark_group("decode_aws_peer_page_500");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("sdk::types::PeerPage", |b| {
        b.iter(|| serde_json::from_slice::<PeerPage>(black_box(&bytes)).unwrap())
    });
    group.bench_function("Vec<types::AwsPeer> (no dispatch)", |b| {
        b.iter(|| serde_json::from_slice::<AwsOnlyPage>(black_box(&bytes)).unwrap())
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, peers, containers, dispatch);
criterion_main!(benches);
