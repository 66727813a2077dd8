//! Creates per second as a project fills up: 21,000 AWS peerings created one after another in
//! one container of an in-process simulator (over HTTP, with a service-account token), timed
//! per block of 1,000; printed for the blocks starting at 0, 10,000 and 20,000 peerings, with
//! a get and a one-item list at 20,000.
//!
//! Run: `cargo bench -p atlas-network-peering-sim --bench creates`.

use std::time::Instant;

use atlas_network_peering_sim::Simulator;
use serde_json::{Value, json};

#[path = "../tests/common/mod.rs"]
mod common;

const TOTAL: usize = 21_000;
const BLOCK: usize = 1_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let sim = Simulator::builder()
            .max_peers(TOTAL)
            .start()
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token = common::sim_token(&http, &sim).await;
        let group = common::group_url(&sim);
        let container = common::json_of(
            http.post(format!("{group}/containers"))
                .bearer_auth(&token)
                .json(&json!({"atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"})),
        )
        .await;
        let mut rates = Vec::new();
        let mut last_id = String::new();
        for block in 0..TOTAL / BLOCK {
            let started = Instant::now();
            for i in block * BLOCK..(block + 1) * BLOCK {
                // A /28 each from 10.128.0.0 on: distinct VPCs, routes that never overlap.
                let route = std::net::Ipv4Addr::from(0x0a80_0000u32 + 16 * i as u32);
                let response = http
                    .post(format!("{group}/peers"))
                    .bearer_auth(&token)
                    .json(&json!({"containerId": container["id"], "awsAccountId": "418273645091",
                        "vpcId": format!("vpc-{i:017x}"), "routeTableCidrBlock": format!("{route}/28"),
                        "accepterRegionName": null}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "peering {i}");
                let peer: Value = response.json().await.unwrap();
                last_id = peer["id"].as_str().unwrap().to_owned();
            }
            rates.push(BLOCK as f64 / started.elapsed().as_secs_f64());
        }
        let time = |path: String| {
            let (http, token) = (http.clone(), token.clone());
            async move {
                let started = Instant::now();
                let response = http.get(path).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                started.elapsed()
            }
        };
        let get = time(format!("{group}/peers/{last_id}")).await;
        let list = time(format!("{group}/peers?itemsPerPage=1&pageNum=20000")).await;
        println!(
            "creates: {:.0}/s at 0 peerings, {:.0}/s at 10,000, {:.0}/s at 20,000; at 21,000: get {:?}, one-item list {:?}",
            rates[0],
            rates[10],
            rates[20],
            get,
            list
        );
    });
}
