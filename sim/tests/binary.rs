//! The simulator as a program: it prints `export` lines a shell or another program can use as
//! they are (one credential set, which the sdk's `Config::from_env` accepts), `--port 0` prints
//! the port it took, a bad flag is refused with the usage and exit code 2, and running out of
//! file descriptors makes it pause, not spin.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
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

/// Reads the program's output up to `MONGODB_ATLAS_GROUP_ID`, its last setting: every line is
/// a `# comment` or an `export NAME=value`.
fn settings(child: &mut Child) -> BTreeMap<String, String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut printed = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of output");
        if line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .unwrap_or_else(|| panic!("not an export line: {line}"));
        printed.insert(name.to_owned(), value.to_owned());
        if name == "MONGODB_ATLAS_GROUP_ID" {
            break;
        }
    }
    printed
}

fn start(args: &[&str]) -> (Running, BTreeMap<String, String>) {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let printed = settings(&mut child);
    (Running(child), printed)
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn the_printed_lines_configure_a_client_as_they_are_with_either_credential() {
    for (flags, names) in [
        (
            &[][..],
            [
                "MONGODB_ATLAS_PUBLIC_API_KEY",
                "MONGODB_ATLAS_PRIVATE_API_KEY",
            ],
        ),
        (
            &["--credentials", "service-account"][..],
            ["MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"],
        ),
    ] {
        let (_running, printed) = start(flags);
        let mut expected = vec!["MONGODB_ATLAS_BASE_URL", "MONGODB_ATLAS_GROUP_ID"];
        expected.extend(names);
        expected.sort_unstable();
        assert_eq!(printed.keys().collect::<Vec<_>>(), expected, "{flags:?}");
        assert!(printed["MONGODB_ATLAS_BASE_URL"].starts_with("http://127.0.0.1:"));

        // Every printed variable, as a shell that ran the lines would hold them.
        let client =
            Client::from_config(Config::from_lookup(|name| printed.get(name).cloned()).unwrap())
                .unwrap();
        let project = &printed["MONGODB_ATLAS_GROUP_ID"];
        let page = client.list_peers().group_id(project).send().await.unwrap();
        assert_eq!(page.total_count, Some(0), "{flags:?}");
    }
}

#[tokio::test]
async fn port_0_prints_the_port_taken_and_a_given_port_is_used() {
    let (_running, printed) = start(&["--port", "0"]);
    let url = &printed["MONGODB_ATLAS_BASE_URL"];
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_running, printed) = start(&["--port", &free.to_string(), "--time-scale", "60"]);
    assert_eq!(
        printed["MONGODB_ATLAS_BASE_URL"],
        format!("http://127.0.0.1:{free}")
    );
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
        (
            &["--credentials", "both"][..],
            "--credentials: `both` is not api-key or service-account",
        ),
        (
            &["--max-peers", "-1"][..],
            "--max-peers: `-1` is not a positive whole number",
        ),
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
    assert!(String::from_utf8_lossy(&help.stdout).contains("--credentials KIND"));
}

/// With 40 file descriptors and more connections than that, accepting fails with EMFILE: the
/// program reports it and waits 100 ms before trying again, so it reports it about ten times a
/// second (a spinning loop would report it thousands of times), and it serves again once the
/// connections are gone.
#[test]
fn out_of_file_descriptors_it_pauses_instead_of_spinning() {
    if Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 40")
        .status()
        .is_err()
    {
        panic!("this test needs a POSIX sh");
    }
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n 40 && exec '{BINARY}'"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts under sh");
    let printed = settings(&mut child);
    let mut stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let address = printed["MONGODB_ATLAS_BASE_URL"]
        .trim_start_matches("http://")
        .to_owned();

    let started = std::time::Instant::now();
    let target: std::net::SocketAddr = address.parse().unwrap();
    let held: Vec<_> = (0..200)
        .map_while(|_| {
            std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(300))
                .ok()
        })
        .collect();
    assert!(held.len() > 40, "only {} connections", held.len());
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let served = std::net::TcpStream::connect(&address).and_then(|mut s| {
        use std::io::Write;
        s.write_all(b"GET /api/oauth/token HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    });
    drop(running);
    // At most one failure per 100 ms pause (and a few to spare).
    let pauses = started.elapsed().as_millis() / 100 + 5;
    let mut reported = String::new();
    stderr.read_to_string(&mut reported).unwrap();
    let failures = reported.matches("accept failed").count();
    assert!(failures >= 1, "EMFILE was never reached: {reported}");
    assert!(
        failures as u128 <= pauses,
        "{failures} accept failures reported in {pauses} pauses: it spins"
    );
    assert!(
        served.as_ref().is_ok_and(|a| a.starts_with("HTTP/1.1 405")),
        "{served:?}"
    );
}
