//! Throughput of the item stream `client.peers(..)` over full pages (500 entries) from a
//! local server on 127.0.0.1: 10, 20 and 40 pages (5,000 to 20,000 items), and the same 40
//! pages fetched and decoded into `serde_json::Value` by a hand-written reqwest loop.
//!
//! Run: `cargo bench -p atlas-network-peering --bench stream`. Peak memory of the same listings is measured by
//! `cargo bench -p atlas-network-peering --bench stream_memory`. Results: docs/PERFORMANCE.md.

mod common;

use std::time::Duration;

use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;

use common::{PAGE_SIZE, PageServer};

const LENGTHS: [usize; 3] = [10, 20, 40];

fn stream(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = PageServer::start(&LENGTHS);
    let client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url)
            .unwrap()
            .with_retry_policy(atlas_network_peering::retry::RetryPolicy::none()),
    )
    .unwrap();
    let raw = reqwest::Client::builder().build().unwrap();

    // Once, untimed: the listing ends exactly after its last page.
    for pages in LENGTHS {
        let before = server.requests();
        let n = rt.block_on(count_items(&client, pages));
        assert_eq!(n, pages * PAGE_SIZE);
        assert_eq!(server.requests() - before, pages as u64);
    }
    assert_eq!(server.past_end(), 0);

    let mut group = c.benchmark_group("stream_peers");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for pages in LENGTHS {
        group.throughput(Throughput::Elements((pages * PAGE_SIZE) as u64));
        group.bench_with_input(
            BenchmarkId::new("sdk peers()", pages),
            &pages,
            |b, &pages| {
                b.to_async(&rt).iter(|| async {
                    let n = count_items(&client, pages).await;
                    assert_eq!(n, pages * PAGE_SIZE);
                })
            },
        );
    }
    let pages = 40;
    group.throughput(Throughput::Elements((pages * PAGE_SIZE) as u64));
    group.bench_with_input(
        BenchmarkId::new("reqwest+serde_json::Value", pages),
        &pages,
        |b, &pages| {
            b.to_async(&rt).iter(|| async {
                let n = raw_count_items(&raw, &server.base_url, pages).await;
                assert_eq!(n, pages * PAGE_SIZE);
            })
        },
    );
    group.finish();
}

/// Reads the whole listing one item at a time, keeping nothing.
async fn count_items(client: &atlas_network_peering::Client, pages: usize) -> usize {
    let mut items = client.peers(
        &PageServer::group(pages),
        Paging::new().items_per_page(PAGE_SIZE as u32),
    );
    let mut n = 0;
    while let Some(peer) = items.next().await {
        std::hint::black_box(peer.unwrap());
        n += 1;
    }
    n
}

/// The same listing by hand: page after page until `totalCount` is reached, each page decoded
/// into a `serde_json::Value`.
async fn raw_count_items(raw: &reqwest::Client, base_url: &str, pages: usize) -> usize {
    let url = format!(
        "{base_url}/api/atlas/v1.0/groups/{}/peers",
        PageServer::group(pages)
    );
    let mut n = 0;
    let mut total = None;
    for page in 1.. {
        let page_num = page.to_string();
        let include_count = if page == 1 { "true" } else { "false" };
        let response = raw
            .get(&url)
            .query(&[
                ("pageNum", page_num.as_str()),
                ("itemsPerPage", "500"),
                ("includeCount", include_count),
            ])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let bytes = response.bytes().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if page == 1 {
            total = body["totalCount"].as_u64();
        }
        let results = body["results"].as_array().unwrap();
        for entry in results {
            std::hint::black_box(entry);
        }
        n += results.len();
        if results.len() < PAGE_SIZE || total.is_some_and(|t| n as u64 >= t) {
            break;
        }
    }
    n
}

criterion_group!(benches, stream);
criterion_main!(benches);
