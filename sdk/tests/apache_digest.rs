//! The Digest client against a Digest server we did not write: Debian's apache2 with
//! mod_auth_digest, serving the recorded fixture bodies under the Atlas paths.
//!
//! Each test starts its own `/usr/sbin/apache2 -DFOREGROUND -f <httpd.conf>` on a free port of
//! 127.0.0.1, with every file it uses (configuration, `htdigest` password file, fixture bodies,
//! logs, pid file, runtime files) in a fresh temporary directory that is removed afterwards.
//! The access log records, per request, the method, the target, the status and the
//! `Authorization` header; the tests read it to count exchanges and nonce counts from the
//! server's side, and never print the header.
//!
//! apache2 must be installed (`scripts/install-test-deps.sh` does it); without it these tests
//! fail, they do not skip.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atlas_network_peering::{Client, Config};
use serde_json::Value;

mod common;
use common::{GROUP, get_peer, peer_path};

const APACHE: &str = "/usr/sbin/apache2";
const MODULES_DIR: &str = "/usr/lib/apache2/modules";
const INSTALL_HINT: &str =
    "apache2 with mod_auth_digest is required: run `scripts/install-test-deps.sh` (as root)";

const REALM: &str = "MMS Public API";
const PUBLIC_KEY: &str = "apache-pub-key";
const PRIVATE_KEY: &str = "priv-3c9a7e51-apache-digest-secret";
const WRONG_PRIVATE_KEY: &str = "priv-0000dead-not-the-right-secret";

/// The modules the configuration loads, unless the binary has them compiled in.
const MODULES: &[(&str, &str)] = &[
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authn_file_module", "mod_authn_file.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("auth_digest_module", "mod_auth_digest.so"),
    ("mime_module", "mod_mime.so"),
    ("alias_module", "mod_alias.so"),
    ("log_config_module", "mod_log_config.so"),
    ("unixd_module", "mod_unixd.so"),
    ("dir_module", "mod_dir.so"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sdk/ has a parent")
        .to_path_buf()
}

/// The `response.body` of a fixture under `fixtures/`.
fn fixture_body(name: &str) -> Value {
    let path = workspace_root().join("fixtures").join(name);
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let fixture: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()));
    fixture["response"]["body"].clone()
}

/// The Atlas paths the server answers, and the fixture whose body it serves for each.
fn routes() -> Vec<(String, &'static str)> {
    vec![
        (peer_path(), "get_peer/gcp_200.json"),
        (
            format!("/api/atlas/v1.0/groups/{GROUP}/privateIpMode"),
            "get_private_ip_mode/enabled_200.json",
        ),
        (
            format!("/api/atlas/v1.0/groups/{GROUP}/containers/all"),
            "list_all_containers/include_count_false_200.json",
        ),
    ]
}

/// How the test wants mod_auth_digest configured.
#[derive(Clone, Debug)]
struct DigestOptions {
    /// `AuthDigestAlgorithm`; `None` leaves the directive out (apache's default, MD5).
    algorithm: Option<&'static str>,
    /// `AuthDigestNcCheck On`: apache refuses a nonce count it has already seen.
    nc_check: bool,
    /// `AuthDigestNonceLifetime`, in seconds.
    nonce_lifetime: u32,
}

impl Default for DigestOptions {
    fn default() -> Self {
        Self {
            algorithm: None,
            nc_check: true,
            nonce_lifetime: 3600,
        }
    }
}

/// Fails the test, with the install hint, when apache2 or mod_auth_digest is missing.
fn require_apache() {
    let binary = Path::new(APACHE);
    let module = Path::new(MODULES_DIR).join("mod_auth_digest.so");
    assert!(
        binary.is_file(),
        "{APACHE} not found. {INSTALL_HINT} (Debian packages apache2 and apache2-utils)"
    );
    assert!(
        module.is_file(),
        "{} not found. {INSTALL_HINT}",
        module.display()
    );
}

/// Modules compiled into the apache2 binary (`apache2 -l`), which must not be loaded again.
fn built_in_modules() -> String {
    let output = Command::new(APACHE)
        .arg("-l")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {APACHE} -l: {e}. {INSTALL_HINT}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn running_as_root() -> bool {
    // The effective uid is the second field of the `Uid:` line.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A fresh directory under the system temp dir, readable by apache's `User` (www-data).
fn temp_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "sdk-apache-digest-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
    dir
}

fn write_readable(path: &Path, contents: &[u8]) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).expect("chmod file");
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// The password file line `htdigest` would write: `user:realm:md5(user:realm:password)`.
fn htdigest_line(user: &str, password: &str) -> String {
    use md5::Digest as _;
    let hash = md5::Md5::digest(format!("{user}:{REALM}:{password}").as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{user}:{REALM}:{hex}\n")
}

/// One line of the access log. The `Authorization` header itself is not kept: only what the
/// assertions need.
struct LogLine {
    method: String,
    target: String,
    status: u16,
    /// Whether the request carried an `Authorization` header.
    signed: bool,
    nonce: Option<String>,
    nc: Option<u32>,
    algorithm: Option<String>,
    uri: Option<String>,
}

impl LogLine {
    /// Parses `METHOD TARGET STATUS "AUTHORIZATION"` (apache escapes `"` inside as `\"`).
    fn parse(line: &str) -> Option<Self> {
        let mut parts = line.splitn(4, ' ');
        let method = parts.next()?.to_owned();
        let target = parts.next()?.to_owned();
        let status = parts.next()?.parse().ok()?;
        let auth = parts
            .next()?
            .strip_prefix('"')?
            .strip_suffix('"')?
            .replace("\\\"", "\"");
        let signed = auth != "-";
        let field = |name: &str| -> Option<String> {
            let rest = auth
                .split(", ")
                .map(|p| p.strip_prefix("Digest ").unwrap_or(p))
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))?;
            Some(rest.trim_matches('"').to_owned())
        };
        Some(Self {
            method,
            target,
            status,
            signed,
            nonce: field("nonce"),
            nc: field("nc").and_then(|nc| u32::from_str_radix(&nc, 16).ok()),
            algorithm: field("algorithm"),
            uri: field("uri"),
        })
    }
}

/// A running apache2 (the parent of its own process group), stopped and cleaned up on drop.
struct Apache {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Apache {
    /// Writes the configuration and starts apache2; a port taken in between is retried.
    fn start(options: &DigestOptions) -> Self {
        require_apache();
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(options, free_port()) {
                Ok(apache) => return apache,
                Err(e) if e.contains("Address already in use") => last_error = e,
                Err(e) => panic!("{e}"),
            }
        }
        panic!("apache2 could not get a free port: {last_error}");
    }

    fn try_start(options: &DigestOptions, port: u16) -> Result<Self, String> {
        let dir = temp_dir();
        let conf = Self::write_config(&dir, options, port);
        let stdout = fs::File::create(dir.join("stdout.log")).expect("create stdout.log");
        let stderr = fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
        let child = Command::new(APACHE)
            .arg("-DFOREGROUND")
            .arg("-f")
            .arg(&conf)
            // Its own process group, so that the children go with it on drop.
            .process_group(0)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {APACHE}: {e}. {INSTALL_HINT}"))?;
        let mut apache = Self { child, dir, port };
        apache.wait_until_listening()?;
        Ok(apache)
    }

    fn write_config(dir: &Path, options: &DigestOptions, port: u16) -> PathBuf {
        let built_in = built_in_modules();
        let mut conf = String::new();
        let d = dir.display();
        conf.push_str(&format!(
            "ServerRoot \"{d}\"\n\
             ServerName 127.0.0.1\n\
             DefaultRuntimeDir \"{d}\"\n\
             PidFile \"{d}/httpd.pid\"\n\
             ErrorLog \"{d}/error.log\"\n\
             LogLevel warn auth_digest:info\n\
             Listen 127.0.0.1:{port}\n"
        ));
        for (name, file) in MODULES {
            let source = file.trim_end_matches(".so").to_owned() + ".c";
            if built_in.contains(&source) {
                continue;
            }
            conf.push_str(&format!("LoadModule {name} \"{MODULES_DIR}/{file}\"\n"));
        }
        if running_as_root() {
            // apache refuses to serve as root; www-data must be able to read `dir`.
            conf.push_str("User www-data\nGroup www-data\n");
        }
        let www = dir.join("www");
        fs::create_dir(&www).expect("create www");
        fs::set_permissions(&www, fs::Permissions::from_mode(0o755)).expect("chmod www");
        write_readable(
            &dir.join("htdigest"),
            htdigest_line(PUBLIC_KEY, PRIVATE_KEY).as_bytes(),
        );
        // Threads for 100 concurrent connections, in processes that never come and go during
        // a test: apache closing a keep-alive connection under load makes the client resend
        // the request (a transport retry the access log never sees), which would blur the
        // count of exchanges.
        conf.push_str(&format!(
            "StartServers 2\n\
             ServerLimit 2\n\
             ThreadLimit 100\n\
             ThreadsPerChild 100\n\
             MaxRequestWorkers 200\n\
             MinSpareThreads 25\n\
             MaxSpareThreads 200\n\
             KeepAlive On\n\
             KeepAliveTimeout 30\n\
             MaxKeepAliveRequests 0\n\
             TypesConfig /dev/null\n\
             DocumentRoot \"{d}/www\"\n\
             DirectoryIndex disabled\n\
             LogFormat \"%m %U%q %>s \\\"%{{Authorization}}i\\\"\" sdk\n\
             CustomLog \"{d}/access.log\" sdk\n\
             <Directory \"{d}/www\">\n\
             \x20   Options None\n\
             \x20   AllowOverride None\n\
             \x20   ForceType application/json\n\
             </Directory>\n\
             <Location \"/\">\n\
             \x20   AuthType Digest\n\
             \x20   AuthName \"{REALM}\"\n\
             \x20   AuthDigestProvider file\n\
             \x20   AuthUserFile \"{d}/htdigest\"\n\
             \x20   AuthDigestNonceLifetime {}\n\
             \x20   AuthDigestNcCheck {}\n",
            options.nonce_lifetime,
            if options.nc_check { "On" } else { "Off" }
        ));
        if let Some(algorithm) = options.algorithm {
            conf.push_str(&format!("    AuthDigestAlgorithm {algorithm}\n"));
        }
        conf.push_str("    Require valid-user\n</Location>\n");
        for (i, (path, fixture)) in routes().into_iter().enumerate() {
            let file = www.join(format!("{i}.json"));
            let body = serde_json::to_vec_pretty(&fixture_body(fixture)).expect("serialize");
            write_readable(&file, &body);
            conf.push_str(&format!("Alias \"{path}\" \"{}\"\n", file.display()));
        }
        let path = dir.join("httpd.conf");
        write_readable(&path, conf.as_bytes());
        path
    }

    /// Waits (at most 10 s) until the port accepts connections.
    fn wait_until_listening(&mut self) -> Result<(), String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "apache2 exited during startup ({status}).\n{}",
                    self.diagnostics()
                ));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "apache2 did not listen on {address} within 10 s.\n{}",
                    self.diagnostics()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// apache2's stderr and error log, for failure messages (neither holds a secret).
    fn diagnostics(&self) -> String {
        let read = |name: &str| {
            let mut text = String::new();
            if let Ok(mut f) = fs::File::open(self.dir.join(name)) {
                let _ = f.read_to_string(&mut text);
            }
            text
        };
        format!(
            "--- apache2 stderr ---\n{}--- error.log ---\n{}",
            read("stderr.log"),
            read("error.log")
        )
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self, private_key: &str) -> Client {
        let config = Config::new()
            .with_base_url(&self.base_url())
            .expect("base url")
            .with_api_key(PUBLIC_KEY, private_key);
        Client::from_config(config).expect("client")
    }

    /// The access log, once it holds `expected_at_least` lines or 5 s have passed: apache
    /// writes a line after sending the response, so the last one may land a moment after the
    /// client has read it.
    fn access_log(&self, expected_at_least: usize) -> Vec<LogLine> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
            let lines: Vec<LogLine> = text
                .lines()
                .map(|l| {
                    LogLine::parse(l)
                        .unwrap_or_else(|| panic!("unexpected access log line ({} bytes)", l.len()))
                })
                .collect();
            if lines.len() >= expected_at_least || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops apache2 as `apache2ctl stop` would: SIGTERM to the parent, which stops its
    /// children and exits. After 10 s the whole process group is killed.
    fn stop(&mut self) {
        let pid = self.child.id();
        // dash's `kill` builtin (no `--`): `-PID` names the process group apache2 leads.
        let signal = |args: String| {
            let _ = Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("kill {args}"))
                .stderr(Stdio::null())
                .status();
        };
        signal(format!("-TERM {pid}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    signal(format!("-KILL -{pid}"));
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// How often each `AHnnnnn` message code appears in the error log (the messages hold
    /// nonces and user names, no secret; only the codes and counts are shown).
    fn error_codes(&self) -> String {
        let text = fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for line in text.lines() {
            if let Some(at) = line.find(" AH")
                && let Some(code) = line.get(at + 1..at + 8)
            {
                *counts.entry(code.to_owned()).or_default() += 1;
            }
        }
        counts
            .iter()
            .map(|(code, n)| format!("{n} x {code}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("SDK_APACHE_KEEP_DIR").is_some() {
            eprintln!("apache2 files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The call decoded into the GCP peer of the fixture.
fn assert_fixture_peer(peer: &atlas_network_peering::models::Peer) {
    let expected = fixture_body("get_peer/gcp_200.json");
    match peer {
        atlas_network_peering::models::Peer::Gcp(gcp) => {
            assert_eq!(gcp.network_name, expected["networkName"].as_str().unwrap());
            assert_eq!(
                gcp.gcp_project_id,
                expected["gcpProjectId"].as_str().unwrap()
            );
        }
        other => panic!("expected the GCP peer of the fixture, got {other:?}"),
    }
}

/// Status and signing of each line, for assertion messages (no header content).
fn summary(lines: &[LogLine]) -> String {
    let mut counts = std::collections::BTreeMap::<(u16, bool), usize>::new();
    for line in lines {
        *counts.entry((line.status, line.signed)).or_default() += 1;
    }
    counts
        .iter()
        .map(|((status, signed), n)| {
            let how = if *signed { "signed" } else { "unsigned" };
            format!("{n} x {status} {how}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_calls_reuse_the_nonce_with_increasing_nc() {
    let apache = Apache::start(&DigestOptions::default());
    let client = apache.client(PRIVATE_KEY);

    for i in 0..100 {
        let peer = get_peer(&client)
            .await
            .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
        assert_fixture_peer(&peer);
        if i == 0 {
            assert_eq!(
                client.exchanges(),
                2,
                "first call: unsigned 401 challenge, then the signed request"
            );
        }
    }
    let exchanges = client.exchanges();
    eprintln!("sequential: 100 calls, {exchanges} exchanges");

    let log = apache.access_log(usize::try_from(exchanges).unwrap());
    assert_eq!(
        log.len() as u64,
        exchanges,
        "the client's exchange count and apache's access log disagree: {}",
        summary(&log)
    );
    assert!(
        exchanges <= 200,
        "more than 2 exchanges per call: {exchanges}"
    );
    assert!(
        log.iter()
            .all(|l| l.method == "GET" && l.target == peer_path()),
        "every request is the GET of the peer"
    );
    assert!(
        !log[0].signed && log[0].status == 401,
        "the first request goes unsigned and is challenged"
    );
    assert!(log[1].signed && log[1].status == 200);

    // apache kept the nonce valid (1 hour) and checks nc (AuthDigestNcCheck On): every
    // pre-emptively signed request must be accepted, with one nonce and nc 1, 2, 3, ...
    assert_eq!(
        exchanges,
        101,
        "apache refused pre-emptively signed requests: {}",
        summary(&log)
    );
    let signed = &log[1..];
    let nonce = signed[0].nonce.as_deref().expect("nonce in Authorization");
    for (i, line) in signed.iter().enumerate() {
        assert_eq!(line.status, 200);
        assert_eq!(
            line.nonce.as_deref(),
            Some(nonce),
            "request {i}: same nonce"
        );
        assert_eq!(
            line.nc,
            Some(i as u32 + 1),
            "request {i}: nc counts up from 1"
        );
        assert_eq!(line.uri.as_deref(), Some(peer_path().as_str()));
    }
}

/// What 100 concurrent calls on clones of one warmed-up client did.
struct Concurrent {
    /// Exchanges made by the 100 calls (the warm-up call's 2 left out).
    exchanges: u64,
    /// The access log lines of the 100 calls.
    log: Vec<LogLine>,
    successes: usize,
    failures: Vec<atlas_network_peering::Error>,
}

async fn hundred_concurrent_calls(apache: &Apache) -> Concurrent {
    let client = apache.client(PRIVATE_KEY);
    assert_fixture_peer(&get_peer(&client).await.expect("warm-up call"));
    assert_eq!(client.exchanges(), 2, "warm-up: challenge + signed request");

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_peer(&client).await })
        })
        .collect();
    let mut successes = 0;
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(peer) => {
                assert_fixture_peer(&peer);
                successes += 1;
            }
            Err(e) => failures.push(e),
        }
    }
    let exchanges = client.exchanges() - 2;
    let mut log = apache.access_log(usize::try_from(exchanges + 2).unwrap());
    assert_eq!(
        log.len() as u64,
        exchanges + 2,
        "the client's exchange count and apache's access log disagree: {}",
        summary(&log)
    );
    log.drain(..2);
    Concurrent {
        exchanges,
        log,
        successes,
        failures,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_all_succeed_with_at_most_two_exchanges_each() {
    // apache's default: no nonce-count tracking, so requests signed with one nonce may arrive
    // in any order.
    let apache = Apache::start(&DigestOptions {
        nc_check: false,
        ..DigestOptions::default()
    });
    let run = hundred_concurrent_calls(&apache).await;
    eprintln!(
        "concurrent: 100 calls, {} exchanges; apache saw {}",
        run.exchanges,
        summary(&run.log)
    );
    let failures: Vec<String> = run.failures.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "{} of 100 concurrent calls failed; apache saw {}; error log: {}\n{}",
        failures.len(),
        summary(&run.log),
        apache.error_codes(),
        failures.join("\n")
    );
    assert_eq!(run.successes, 100);
    assert!(
        run.exchanges <= 200,
        "more than 2 exchanges per call: {}",
        run.exchanges
    );
    assert_eq!(
        run.log.iter().filter(|l| l.status == 200).count(),
        100,
        "one success per call: {}",
        summary(&run.log)
    );
    assert!(
        run.log.iter().all(|l| l.signed),
        "every call was signed pre-emptively"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_under_strict_nc_checking_take_at_most_two_exchanges_each() {
    // With `AuthDigestNcCheck On`, apache 2.4.69+ accepts a request only if its nonce is newer
    // than, or its nc above, the last one the client (opaque) used: concurrent requests
    // arriving out of order are refused with a new challenge, and so may the re-signed retry
    // (mod_auth_digest.c says as much). The client must still never loop: at most one
    // re-challenge per call, and a refused call ends as a 401 error.
    let apache = Apache::start(&DigestOptions {
        nc_check: true,
        ..DigestOptions::default()
    });
    let run = hundred_concurrent_calls(&apache).await;
    let refused = run.log.iter().filter(|l| l.status == 401).count();
    eprintln!(
        "concurrent, AuthDigestNcCheck On: 100 calls, {} exchanges, {} succeeded, {} refused \
         answers; apache saw {}; error log: {}",
        run.exchanges,
        run.successes,
        refused,
        summary(&run.log),
        apache.error_codes()
    );
    assert!(
        run.exchanges <= 200,
        "more than 2 exchanges per call: {}",
        run.exchanges
    );
    for err in &run.failures {
        assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    }
    assert_eq!(run.successes + run.failures.len(), 100);
    assert_eq!(
        run.log.iter().filter(|l| l.status == 200).count(),
        run.successes
    );
    assert_eq!(
        run.exchanges,
        100 + refused as u64 - run.failures.len() as u64,
        "each call: one signed request, plus one re-signed retry after a refusal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_private_key_fails_with_401_after_two_exchanges() {
    let apache = Apache::start(&DigestOptions::default());
    let client = apache.client(WRONG_PRIVATE_KEY);

    let err = get_peer(&client).await.expect_err("wrong key is refused");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    assert_eq!(client.exchanges(), 2);

    let log = apache.access_log(2);
    assert_eq!(log.len(), 2, "{}", summary(&log));
    assert!(!log[0].signed && log[0].status == 401);
    assert!(log[1].signed && log[1].status == 401);

    let shown = format!("{err} {err:?} {err:#?}");
    for secret in [WRONG_PRIVATE_KEY, PRIVATE_KEY] {
        assert!(
            !shown.contains(secret),
            "the private key appears in the error"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_operations_and_query_strings_are_signed_correctly() {
    let apache = Apache::start(&DigestOptions::default());
    let client = apache.client(PRIVATE_KEY);

    let mode = client
        .get_private_ip_mode()
        .group_id(GROUP)
        .send()
        .await
        .expect("get_private_ip_mode");
    assert!(mode.enabled);

    let page = client
        .list_all_containers()
        .group_id(GROUP)
        .include_count(false)
        .items_per_page(100)
        .page_num(1)
        .send()
        .await
        .expect("list_all_containers with a query string");
    assert_eq!(page.results.len(), 5);
    assert_eq!(page.total_count, None);

    assert_fixture_peer(&get_peer(&client).await.expect("get_peer"));

    let exchanges = client.exchanges();
    let log = apache.access_log(4);
    assert_eq!(
        exchanges,
        4,
        "one challenge, then one exchange per call: {}",
        summary(&log)
    );
    let list = &log[2];
    assert_eq!(list.status, 200);
    assert!(list.target.contains('?'), "the list request has a query");
    assert_eq!(
        list.uri.as_deref(),
        Some(list.target.as_str()),
        "the Digest uri is the request target, query included"
    );
    assert_eq!(
        log.iter().filter_map(|l| l.nc).collect::<Vec<_>>(),
        [1, 2, 3],
        "nc counts up across operations"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_nonce_is_renewed_with_one_extra_exchange() {
    let apache = Apache::start(&DigestOptions {
        nonce_lifetime: 2,
        ..DigestOptions::default()
    });
    let client = apache.client(PRIVATE_KEY);
    assert_fixture_peer(&get_peer(&client).await.expect("first call"));
    assert_fixture_peer(&get_peer(&client).await.expect("second call"));
    assert_eq!(client.exchanges(), 3);

    // Past the lifetime apache answers the pre-emptively signed request with 401 and
    // `stale=true`; the client takes the new nonce, starts nc over and resends.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_fixture_peer(
        &get_peer(&client)
            .await
            .expect("call after the nonce expired"),
    );
    assert_fixture_peer(&get_peer(&client).await.expect("next call, new nonce"));
    let exchanges = client.exchanges();
    let log = apache.access_log(6);
    eprintln!(
        "stale nonce: 4 calls, {exchanges} exchanges; apache saw {}",
        summary(&log)
    );
    assert_eq!(exchanges, 6, "{}", summary(&log));
    assert_eq!(log.len(), 6);
    let first_nonce = log[1].nonce.clone().expect("nonce");
    assert!(
        log[3].signed && log[3].status == 401,
        "expired nonce refused"
    );
    assert_eq!(log[3].nonce.as_deref(), Some(first_nonce.as_str()));
    assert_eq!(log[3].nc, Some(3));
    let second_nonce = log[4].nonce.clone().expect("nonce");
    assert_ne!(second_nonce, first_nonce, "the retry uses the new nonce");
    assert_eq!((log[4].status, log[4].nc), (200, Some(1)));
    assert_eq!(log[5].nonce.as_deref(), Some(second_nonce.as_str()));
    assert_eq!((log[5].status, log[5].nc), (200, Some(2)));
}

/// Whether `apache2 -t` accepts a configuration with `AuthDigestAlgorithm algorithm`; the
/// error text when it does not.
fn config_test(algorithm: &'static str) -> Result<(), String> {
    require_apache();
    let dir = temp_dir();
    let options = DigestOptions {
        algorithm: Some(algorithm),
        ..DigestOptions::default()
    };
    let conf = Apache::write_config(&dir, &options, free_port());
    let output = Command::new(APACHE)
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {APACHE} -t: {e}. {INSTALL_HINT}"));
    let _ = fs::remove_dir_all(&dir);
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_algorithm_apache_offers_is_the_one_the_sdk_signs_with() {
    // mod_auth_digest in Debian's apache 2.4 implements only MD5; should a later one accept
    // SHA-256, it is the algorithm to test.
    let algorithm = match config_test("SHA-256") {
        Ok(()) => "SHA-256",
        Err(refusal) => {
            assert!(
                refusal.contains("AuthDigestAlgorithm"),
                "unexpected apache2 -t failure: {refusal}"
            );
            eprintln!(
                "algorithm: this apache2 refuses SHA-256 ({}); testing MD5",
                refusal.trim()
            );
            "MD5"
        }
    };
    let apache = Apache::start(&DigestOptions {
        algorithm: Some(algorithm),
        ..DigestOptions::default()
    });
    let client = apache.client(PRIVATE_KEY);
    for _ in 0..3 {
        assert_fixture_peer(&get_peer(&client).await.expect("call"));
    }
    assert_eq!(client.exchanges(), 4);
    let log = apache.access_log(4);
    assert_eq!(log.len(), 4, "{}", summary(&log));
    for line in &log[1..] {
        assert_eq!(line.status, 200);
        assert_eq!(line.algorithm.as_deref(), Some(algorithm));
    }
    eprintln!("algorithm: {algorithm}, 3 calls in 4 exchanges");
}

/// Eight tasks of 13 calls each, started together on a fresh client: the first challenge is
/// taken once and shared, so the 104 calls cost 105 exchanges (MongoDB's own clients pay two
/// per call: 208).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_of_thirteen_calls_share_the_first_challenge() {
    // Concurrent requests signed with one nonce arrive in any order: apache's default, without
    // nonce-count tracking, takes them all.
    let apache = Apache::start(&DigestOptions {
        nc_check: false,
        ..DigestOptions::default()
    });
    let client = apache.client(PRIVATE_KEY);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for call in 0..13 {
                    match call % 3 {
                        0 => get_peer(&client).await.map(|_| ()),
                        1 => client
                            .get_private_ip_mode()
                            .group_id(GROUP)
                            .send()
                            .await
                            .map(|_| ()),
                        _ => client
                            .list_all_containers()
                            .group_id(GROUP)
                            .include_count(false)
                            .send()
                            .await
                            .map(|_| ()),
                    }
                    .unwrap_or_else(|e| panic!("call {call} failed: {e}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task finished");
    }
    let exchanges = client.exchanges();
    let log = apache.access_log(usize::try_from(exchanges).unwrap());
    eprintln!(
        "8 tasks x 13 calls started together: {exchanges} exchanges; apache saw {}",
        summary(&log)
    );
    assert_eq!(log.len() as u64, exchanges);
    assert_eq!(
        log.iter().filter(|l| l.status == 401).count(),
        1,
        "{}",
        summary(&log)
    );
    assert_eq!(exchanges, 105, "{}", summary(&log));
}
