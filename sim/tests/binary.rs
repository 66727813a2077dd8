//! The simulator as a program: what it prints is enough for a client, and a bad flag is refused
//! with the usage and exit code 2.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use atlas_network_peering::{Client, Config};

const BINARY: &str = env!("CARGO_BIN_EXE_atlas-network-peering-sim");

/// The running program; killed when dropped so a failing test leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` and reads its `NAME=value` lines up to the last one it prints.
fn start(args: &[&str]) -> (Running, BTreeMap<String, String>) {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let running = Running(child);
    let mut printed = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of output");
        if let Some((name, value)) = line.split_once('=') {
            printed.insert(name.to_owned(), value.to_owned());
        }
        if printed.contains_key("MONGODB_ATLAS_CLIENT_SECRET") {
            break;
        }
    }
    (running, printed)
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn a_client_configured_from_the_printed_lines_alone_works_with_either_credential() {
    let (_running, printed) = start(&[]);
    for name in [
        "MONGODB_ATLAS_BASE_URL",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "MONGODB_ATLAS_GROUP_ID",
        "MONGODB_ATLAS_CLIENT_ID",
        "MONGODB_ATLAS_CLIENT_SECRET",
    ] {
        assert!(
            printed.contains_key(name),
            "{name} missing from {printed:?}"
        );
    }
    assert!(printed["MONGODB_ATLAS_BASE_URL"].starts_with("http://127.0.0.1:"));
    let project = &printed["MONGODB_ATLAS_GROUP_ID"];

    // As a consumer would export them: one kind of credential at a time.
    for kind in ["API_KEY", "CLIENT_"] {
        let lookup = |name: &str| {
            let wanted = name == "MONGODB_ATLAS_BASE_URL" || name.contains(kind);
            wanted.then(|| printed.get(name).cloned()).flatten()
        };
        let client = Client::from_config(Config::from_lookup(lookup).unwrap()).unwrap();
        let mode = client.get_private_ip_mode().group_id(project).send().await;
        assert!(mode.is_ok(), "with {kind}: {mode:?}");
        let page = client.list_peers().group_id(project).send().await.unwrap();
        assert_eq!(page.total_count, Some(0), "with {kind}");
    }
}

#[tokio::test]
async fn the_port_flag_is_the_port_it_listens_on() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_running, printed) = start(&["--port", &port.to_string(), "--time-scale", "60"]);
    assert_eq!(
        printed["MONGODB_ATLAS_BASE_URL"],
        format!("http://127.0.0.1:{port}")
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
}

#[test]
fn bad_flags_are_refused_with_the_usage_and_help_is_not_an_error() {
    for (args, why) in [
        (&["--port", "http"][..], "--port: `http` is not a port"),
        (
            &["--time-scale", "0"][..],
            "--time-scale: `0` is not a positive number",
        ),
        (&["--auto-accept"][..], "--auto-accept needs a value"),
        (&["--verbose"][..], "unknown argument `--verbose`"),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(
            stderr.contains("usage: atlas-network-peering-sim"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed settings");
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--auto-accept SECS"));
}
