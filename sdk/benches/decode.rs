//! Decoding one full page (500 entries, mixed AWS / GCP / Azure, nulls included) into the
//! sdk's types against decoding the same bytes into `serde_json::Value`.
//!
//! Run: `cargo bench -p atlas-network-peering --bench decode`. Results and how to read them: docs/PERFORMANCE.md.
//!
//! The JSON is built once, outside the timed loop; each iteration decodes the same bytes. A
//! third group isolates what the provider dispatch of `atlas_network_peering::models` costs: `Peer` first
//! buffers each entry as a `serde_json::Map` to read `providerName`, then decodes that map
//! into the provider's struct; the reference decodes the same (all-AWS) page straight into
//! `Vec<types::AwsPeer>`.
//!
//! Before criterion runs, an interleaved pass (`interleaved`) decodes each page in blocks of
//! 20, alternating the decoders within every round, and prints the median wall time per page
//! with the ratio to `serde_json::Value` taken round by round. On a machine shared with other
//! work the ratios from this pass are the steadier numbers; criterion's give the absolute
//! times.

mod common;

use std::hint::black_box;
use std::time::Duration;

use atlas_network_peering::models::{Container, Peer};
use atlas_network_peering::types::{AwsPeer, ContainerPage, PeerPage};
use criterion::{Criterion, Throughput, criterion_group};

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
    group.bench_function("atlas_network_peering::types::PeerPage", |b| {
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
    group.bench_function("atlas_network_peering::types::ContainerPage", |b| {
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
    let bytes = aws_only_page();
    let _: PeerPage = round_trips(&bytes);

    let mut group = c.benchmark_group("decode_aws_peer_page_500");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("atlas_network_peering::types::PeerPage", |b| {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A named decoder of one page.
type Decoder<'a> = (&'a str, fn(&[u8]));

/// Decodes `bytes` with each decoder in turn, `BLOCK` times per turn, for `ROUNDS` rounds
/// (the order reversed every other round); prints medians per page and ratios to the last
/// decoder, which is `serde_json::Value`.
fn interleave(title: &str, bytes: &[u8], decoders: &[Decoder]) {
    const ROUNDS: usize = 21;
    const BLOCK: usize = 20;
    let n = decoders.len();
    let mut wall = vec![Vec::new(); n];
    for (_, decode) in decoders {
        decode(bytes); // warm-up
    }
    for round in 0..ROUNDS {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for i in order {
            let t = std::time::Instant::now();
            for _ in 0..BLOCK {
                (decoders[i].1)(black_box(bytes));
            }
            wall[i].push(t.elapsed().as_secs_f64() * 1e6 / BLOCK as f64);
        }
    }
    println!(
        "interleaved {title} ({} bytes, {ROUNDS} rounds x {BLOCK}): median per page",
        bytes.len()
    );
    let ratio = |i: usize| {
        median(
            wall[i]
                .iter()
                .zip(&wall[n - 1])
                .map(|(x, b)| x / b)
                .collect(),
        )
    };
    for (i, (name, _)) in decoders.iter().enumerate() {
        println!(
            "  {name:36} {:8.1} us  x{:.2}",
            median(wall[i].clone()),
            ratio(i)
        );
    }
}

#[derive(serde::Deserialize)]
struct AwsOnlyPage {
    #[allow(dead_code)]
    results: Vec<AwsPeer>,
}

fn aws_only_page() -> Vec<u8> {
    // Entries 0..=4 of every ten are AWS; keep those.
    let results: Vec<serde_json::Value> = (0..1000)
        .filter(|i| i % 10 < 5)
        .map(|i| common::peer(1, i))
        .collect();
    assert_eq!(results.len(), 500);
    serde_json::to_vec(&serde_json::json!({"results": results, "totalCount": 500})).unwrap()
}

fn interleaved() {
    fn value(b: &[u8]) {
        black_box(serde_json::from_slice::<serde_json::Value>(b).unwrap());
    }
    fn peer_page(b: &[u8]) {
        black_box(serde_json::from_slice::<PeerPage>(b).unwrap());
    }
    fn container_page(b: &[u8]) {
        black_box(serde_json::from_slice::<ContainerPage>(b).unwrap());
    }
    fn aws_direct(b: &[u8]) {
        black_box(serde_json::from_slice::<AwsOnlyPage>(b).unwrap());
    }
    let peers = common::peer_page(1, common::PAGE_SIZE, true, Some(20_000));
    let containers = common::container_page(1, common::PAGE_SIZE, true, Some(20_000));
    let aws = aws_only_page();
    interleave(
        "peer page (500, mixed)",
        &peers,
        &[
            ("atlas_network_peering::types::PeerPage", peer_page),
            ("serde_json::Value", value),
        ],
    );
    interleave(
        "container page (500, mixed)",
        &containers,
        &[
            (
                "atlas_network_peering::types::ContainerPage",
                container_page,
            ),
            ("serde_json::Value", value),
        ],
    );
    interleave(
        "AWS peer page (500)",
        &aws,
        &[
            ("atlas_network_peering::types::PeerPage", peer_page),
            ("Vec<types::AwsPeer> (no dispatch)", aws_direct),
            ("serde_json::Value", value),
        ],
    );
}

criterion_group!(benches, peers, containers, dispatch);

fn main() {
    interleaved();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
