//! Instructions per call, counted by valgrind (callgrind): the one per-call figure on a shared,
//! noisy machine that does not move from run to run (the project's budget: at most 1.3 times
//! a bare reqwest call). Complements the wall time of `overhead.rs`.
//!
//! `GET /api/atlas/v1.0/groups/{groupId}/peers/{peerId}` against an in-process httpmock
//! server, in three variants:
//!
//! - `bare`: reqwest with its defaults, `send`, `bytes`, `serde_json::from_slice::<Value>`;
//! - `by hand, typed`: reqwest with the sdk's own settings (user agent, connect timeout),
//!   decoding into `atlas_network_peering::models::Peer`;
//! - `sdk`: `client.get_peer().group_id(..).peer_id(..).send()`.
//!
//! Each variant runs in its own process under `valgrind --tool=callgrind`, once with 1,000 and
//! once with 6,000 calls; the difference divided by 5,000 is the cost of one call, setup
//! (runtime, server, TLS roots) cancelled out. The count covers the whole process, the server's
//! side of each exchange included, as the wall-time ratios do. It still moves by a few hundred
//! instructions from run to run: how often a future is polled before its data is there depends
//! on timing.
//!
//! Run: `cargo bench -p atlas-network-peering --bench call_instructions` (needs `valgrind`; about a minute).
//! Results: docs/PERFORMANCE.md.

use std::process::Command;

mod common;
use common::one_worker_runtime as runtime;

const VARIANTS: [&str; 3] = ["bare", "by hand, typed", "sdk"];
const FEW: u64 = 1_000;
const MANY: u64 = 6_000;

/// Runs `calls` calls of `variant` (the child process, under valgrind).
fn child(variant: usize, calls: u64) {
    let rt = runtime();
    let server = common::peer_server(&rt);
    let url = server.url(common::peer_path());
    let bare = reqwest::Client::builder().build().unwrap();
    let as_in_sdk = common::reqwest_as_in_sdk();
    let sdk_client = atlas_network_peering::Client::from_config(
        atlas_network_peering::Config::new()
            .with_base_url(&server.base_url())
            .unwrap(),
    )
    .unwrap();
    rt.block_on(async {
        for _ in 0..calls {
            match variant {
                0 => {
                    let value: serde_json::Value = common::raw_get(&bare, &url).await;
                    std::hint::black_box(value);
                }
                1 => {
                    let peer: atlas_network_peering::models::Peer =
                        common::raw_get(&as_in_sdk, &url).await;
                    std::hint::black_box(peer);
                }
                _ => {
                    std::hint::black_box(common::sdk_get_peer(&sdk_client).await);
                }
            }
        }
    });
}

/// The instructions callgrind counted for `calls` calls of `variant`, or why there is no count.
fn count(variant: usize, calls: u64) -> Result<u64, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(me)
        .args(["--child", &variant.to_string(), &calls.to_string()])
        .output()
        .map_err(|e| format!("valgrind could not be started ({e}); install it to count"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the run under valgrind failed: {stderr}"));
    }
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no instruction count in valgrind's output: {stderr}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let variant = args[at + 1].parse().expect("a variant number");
        let calls = args[at + 2].parse().expect("a number of calls");
        return child(variant, calls);
    }
    let mut per_call = Vec::new();
    for (i, name) in VARIANTS.iter().enumerate() {
        let counted = count(i, FEW).and_then(|few| Ok((few, count(i, MANY)?)));
        match counted {
            Ok((few, many)) => per_call.push((many - few) as f64 / (MANY - FEW) as f64),
            Err(why) => {
                println!("call_instructions: {name}: {why}");
                return;
            }
        }
    }
    println!(
        "call_instructions: instructions per get_peer call (callgrind, {FEW} and {MANY} calls)"
    );
    for (name, n) in VARIANTS.iter().zip(&per_call) {
        println!(
            "  {name:16} {n:9.0}   {:+7.0} over bare   x{:.3}",
            n - per_call[0],
            n / per_call[0]
        );
    }
}
