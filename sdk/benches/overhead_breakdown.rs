//! Where the per-call time of `overhead.rs` goes, and what Digest costs per call on one
//! client. Complements `overhead.rs` (which it does not replace):
//!
//! - `get_peer_breakdown`: the hand-written call with reqwest's defaults; the same with the
//!   sdk's limits as reqwest enforces them (user agent, connect / read / total timeouts: what a
//!   careful hand-written client sets); that again decoding into `atlas_network_peering::models::Peer` instead of
//!   `serde_json::Value`; the sdk; and the sdk with a `tracing` subscriber enabled at INFO (the
//!   span `atlas_request` then records its fields).
//! - `digest_exchanges`: on one reused client, Digest with the cached challenge (one exchange
//!   per call) against `with_preemptive_digest(false)` (every call is challenged: two
//!   exchanges), and `Client::from_config` alone, which is most of what
//!   `overhead.rs`'s `challenge_every_call` measures.
//!
//! - First, before criterion, an interleaved run (`interleaved`): the same calls in blocks of
//!   1,000, alternating the variants within every round (ABCD, then DCBA, ...), reporting per
//!   call the median wall time and the median *process CPU time* (the sum of every thread's
//!   on-CPU time from `/proc/self/task/*/schedstat`, client and in-process server alike). On a
//!   machine shared with other work, interleaving lets both sides see the same load. CPU time
//!   is less sensitive to that load than wall time, but where the kernel accounts it per tick
//!   (4 ms on the machine of docs/PERFORMANCE.md) each block's figure is coarse; the medians
//!   of the ratios are still usable, the single figures less so. One more variant rebuilds the
//!   sdk's path by hand: reqwest with only the sdk's own settings (user agent and connect
//!   timeout; the sdk enforces the other limits itself), the request built as the generated
//!   builder builds it (ids checked, URL formatted, a copy sent), the body read in chunks and
//!   decoded into `models::Peer`. The last runs the sdk with a `tracing` subscriber enabled at
//!   INFO, as above. Where the remaining instructions go: `call_instructions`.
//!
//! Exchanges per call are counted both by the sdk (`runtime().exchanges()`) and by the server
//! (hits on the 401 and 200 mocks) and printed after each function.
//!
//! Run: `cargo bench -p atlas-network-peering --bench overhead_breakdown`. Results: docs/PERFORMANCE.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group};

mod common;
use common::{GROUP, PEER, one_worker_runtime as runtime};

/// reqwest enforcing the sdk's default limits itself, as a careful hand-written client would.
fn reqwest_like_sdk() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(atlas_network_peering::config::USER_AGENT)
        .connect_timeout(atlas_network_peering::config::DEFAULT_CONNECT_TIMEOUT)
        .read_timeout(atlas_network_peering::config::DEFAULT_READ_TIMEOUT)
        .timeout(atlas_network_peering::config::DEFAULT_TIMEOUT)
        .build()
        .unwrap()
}

/// The sdk's path rebuilt by hand, without its timer, retry loop, span or response plumbing:
/// both ids checked as `types::ObjectId`, the URL formatted with them (hex: not
/// percent-encoded), a copy of the request sent (made as the sdk makes it), the body read in
/// chunks, and decoded into `models::Peer`.
async fn by_hand_like_sdk(
    client: &reqwest::Client,
    base: &str,
) -> atlas_network_peering::models::Peer {
    let group_id: atlas_network_peering::types::ObjectId = GROUP.parse().unwrap();
    let peer_id: atlas_network_peering::types::ObjectId = PEER.parse().unwrap();
    let url = format!(
        "{base}/api/atlas/v1.0/groups/{}/peers/{}",
        group_id.as_str(),
        peer_id.as_str(),
    );
    let request = client
        .get(url)
        .header(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        )
        .build()
        .unwrap();
    // The copy as the sdk makes it: no per-request timeout, room for the headers added later.
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    copy.headers_mut().reserve(request.headers().len() + 4);
    for (name, value) in request.headers() {
        copy.headers_mut().append(name.clone(), value.clone());
    }
    let mut response = client.execute(copy).await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).unwrap()
}

fn breakdown(c: &mut Criterion) {
    let rt = runtime();
    let server = common::peer_server(&rt);
    let url = server.url(common::peer_path());
    let sdk_client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url())
            .unwrap(),
    )
    .unwrap();
    let raw_default = reqwest::Client::builder().build().unwrap();
    let raw_like_sdk = reqwest_like_sdk();

    let mut group = c.benchmark_group("get_peer_breakdown");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("reqwest default + Value", |b| {
        b.to_async(&rt)
            .iter(|| async { common::raw_get::<serde_json::Value>(&raw_default, &url).await })
    });
    group.bench_function("reqwest sdk settings + Value", |b| {
        b.to_async(&rt)
            .iter(|| async { common::raw_get::<serde_json::Value>(&raw_like_sdk, &url).await })
    });
    group.bench_function("reqwest sdk settings + models::Peer", |b| {
        b.to_async(&rt).iter(|| async {
            common::raw_get::<atlas_network_peering::models::Peer>(&raw_like_sdk, &url).await
        })
    });
    group.bench_function("sdk", |b| {
        b.to_async(&rt)
            .iter(|| async { common::sdk_get_peer(&sdk_client).await })
    });
    {
        // Scoped to this thread, which is where `block_on` polls the call (and the span).
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        group.bench_function("sdk, tracing INFO subscriber", |b| {
            b.to_async(&rt)
                .iter(|| async { common::sdk_get_peer(&sdk_client).await })
        });
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    let rt = runtime();
    let server = rt.block_on(httpmock::MockServer::start_async());
    let (challenge, ok) = common::digest_mocks(&rt, &server);
    let config = atlas_network_peering::Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_api_key("bench-public", "bench-private");

    let mut group = c.benchmark_group("digest_exchanges");
    group.measurement_time(Duration::from_secs(8));
    for (name, preemptive) in [
        ("reused client, cached challenge", true),
        ("reused client, challenged every call", false),
    ] {
        let client = atlas_network_peering::Client::from_config(
            config.clone().with_preemptive_digest(preemptive),
        )
        .unwrap();
        // The first call takes the challenge; count from the second on.
        rt.block_on(common::sdk_get_peer(&client));
        let calls = AtomicU64::new(0);
        let (exchanges, hits_401, hits_200) = (client.exchanges(), challenge.calls(), ok.calls());
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                calls.fetch_add(1, Ordering::Relaxed);
                common::sdk_get_peer(&client).await
            })
        });
        let calls = calls.load(Ordering::Relaxed) as f64;
        if calls == 0.0 {
            continue; // filtered out
        }
        println!(
            "{name}: {calls} calls; exchanges per call: sdk counter {:.3}, server 401 {:.3} + 200 {:.3}",
            (client.exchanges() - exchanges) as f64 / calls,
            (challenge.calls() - hits_401) as f64 / calls,
            (ok.calls() - hits_200) as f64 / calls,
        );
    }
    group.bench_function("Client::from_config alone", |b| {
        b.iter(|| atlas_network_peering::Client::from_config(config.clone()).unwrap())
    });
    group.finish();
}

/// The process's on-CPU time so far, all threads, in nanoseconds (0 where unavailable).
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
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

/// Interleaved blocks of calls; prints wall and CPU microseconds per call, and the sdk's ratio
/// to the hand-written call with reqwest's defaults.
fn interleaved() {
    const ROUNDS: usize = 41;
    const BLOCK: usize = 1000;
    let rt = runtime();
    let server = common::peer_server(&rt);
    let url = server.url(common::peer_path());
    let base_url = server.base_url();
    let sdk_client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url())
            .unwrap(),
    )
    .unwrap();
    let raw_default = reqwest::Client::builder().build().unwrap();
    let raw_like_sdk = reqwest_like_sdk();
    let raw_as_in_sdk = common::reqwest_as_in_sdk();

    let names = [
        "reqwest default + Value",
        "reqwest sdk settings + Value",
        "reqwest sdk settings + models::Peer",
        "the sdk's path by hand, no timer/retry/span",
        "sdk",
        "sdk, tracing INFO subscriber",
    ];
    let run = |variant: usize| {
        // The last variant runs with a subscriber on this thread, where `block_on` polls.
        let _guard = (variant == 5).then(|| {
            tracing::subscriber::set_default(
                tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::INFO)
                    .with_writer(std::io::sink)
                    .finish(),
            )
        });
        rt.block_on(async {
            for _ in 0..BLOCK {
                match variant {
                    0 => drop(std::hint::black_box(
                        common::raw_get::<serde_json::Value>(&raw_default, &url).await,
                    )),
                    1 => drop(std::hint::black_box(
                        common::raw_get::<serde_json::Value>(&raw_like_sdk, &url).await,
                    )),
                    2 => drop(std::hint::black_box(
                        common::raw_get::<atlas_network_peering::models::Peer>(&raw_like_sdk, &url)
                            .await,
                    )),
                    3 => drop(std::hint::black_box(
                        by_hand_like_sdk(&raw_as_in_sdk, &base_url).await,
                    )),
                    _ => drop(std::hint::black_box(
                        common::sdk_get_peer(&sdk_client).await,
                    )),
                }
            }
        })
    };
    // Warm-up: connections, lazily built statics.
    for variant in 0..names.len() {
        run(variant);
    }
    let mut wall = vec![Vec::new(); names.len()];
    let mut cpu = vec![Vec::new(); names.len()];
    for round in 0..ROUNDS {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..names.len()).collect()
        } else {
            (0..names.len()).rev().collect()
        };
        for variant in order {
            let (t, c) = (std::time::Instant::now(), process_cpu_ns());
            run(variant);
            wall[variant].push(t.elapsed().as_secs_f64() * 1e6 / BLOCK as f64);
            cpu[variant].push((process_cpu_ns() - c) as f64 / 1e3 / BLOCK as f64);
        }
    }
    println!("interleaved: {ROUNDS} rounds x {BLOCK} calls per variant; medians per call");
    // Every `async fn` layer holds and moves its callee's future: its size is part of the cost.
    let send = sdk_client.get_peer().group_id(GROUP).peer_id(PEER).send();
    println!(
        "  (the sdk's get_peer().send() future: {} bytes)",
        std::mem::size_of_val(&send)
    );
    drop(send);
    let ratio = |v: &Vec<Vec<f64>>, i: usize| {
        median(v[i].iter().zip(&v[0]).map(|(x, base)| x / base).collect())
    };
    for (i, name) in names.iter().enumerate() {
        println!(
            "  {name:38} wall {:7.2} us (x{:.3})   cpu {:7.2} us (x{:.3})",
            median(wall[i].clone()),
            ratio(&wall, i),
            median(cpu[i].clone()),
            ratio(&cpu, i),
        );
    }
}

criterion_group!(benches, breakdown, digest);

fn main() {
    interleaved();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
