//! Requests per second the simulator's binary serves for `get_peer` with Digest.
//!
//! Starts `atlas-network-peering-sim` (the binary) on a free port, reads its settings from its
//! output, creates one GCP peering through the sdk, then runs `get_peer` from `TASKS` concurrent
//! tasks of one sdk client for `SECONDS`: every call Digest-signed with the cached challenge
//! (one exchange a call), as a client that reuses its nonce does. Client and server share this
//! machine's cores, so the figure is a floor for the server alone.
//!
//! Run: `cargo bench -p atlas-network-peering-sim --bench serve`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atlas_network_peering::types::{GcpContainer, GcpPeer};

const TASKS: usize = 8;
const SECONDS: u64 = 5;

/// The simulator's process, killed when dropped (also when the bench panics).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atlas-network-peering-sim"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("the simulator's binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut settings = std::collections::BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            settings.insert(name.to_owned(), value.to_owned());
        }
        if settings.contains_key("MONGODB_ATLAS_GROUP_ID") {
            break;
        }
    }
    let get = |name: &str| settings.get(name).cloned().expect(name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (calls, elapsed) = runtime.block_on(async {
        let config = atlas_network_peering::Config::new()
            .with_base_url(&get("MONGODB_ATLAS_BASE_URL"))
            .unwrap()
            .with_api_key(
                get("MONGODB_ATLAS_PUBLIC_API_KEY"),
                get("MONGODB_ATLAS_PRIVATE_API_KEY"),
            );
        let client = atlas_network_peering::Client::from_config(config).unwrap();
        let project = get("MONGODB_ATLAS_GROUP_ID");
        let container = client
            .create_container()
            .group_id(&project)
            .body(GcpContainer::new("10.64.0.0/18"))
            .send()
            .await
            .unwrap();
        let peer = client
            .create_peer()
            .group_id(&project)
            .body(
                GcpPeer::new(
                    container.id().unwrap(),
                    "orbital-ledger-204817",
                    "shared-services",
                )
                .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let peer_id = peer.id().unwrap().to_owned();
        let until = Instant::now() + Duration::from_secs(SECONDS);
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (client, project, peer_id) = (client.clone(), project.clone(), peer_id.clone());
                tokio::spawn(async move {
                    let mut calls = 0u64;
                    while Instant::now() < until {
                        client
                            .get_peer()
                            .group_id(&project)
                            .peer_id(&peer_id)
                            .send()
                            .await
                            .unwrap();
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        let mut calls = 0;
        for task in tasks {
            calls += task.await.unwrap();
        }
        assert_eq!(
            client.exchanges() - 3,
            calls,
            "one exchange per call once challenged"
        );
        (calls, started.elapsed())
    });
    drop(running);
    println!(
        "serve: get_peer with Digest, {TASKS} tasks for {SECONDS} s: {calls} calls, {:.0} requests/s",
        calls as f64 / elapsed.as_secs_f64()
    );
}
