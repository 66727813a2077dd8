//! `cargo xtask record` run as a child process against an httpmock server on 127.0.0.1 acting as
//! Atlas (Digest challenge, or a service-account token endpoint). The credentials are set on
//! the child process only. Checks the files written, their format, the scrubbing of secrets
//! and challenge nonces, `--anonymize`, failed calls, never overwriting, and bad arguments.
//! Last, the same against the local Atlas (`atlas-network-peering-sim`, in-process) with a few
//! containers and peerings in it: what it records passes `cargo xtask regen`'s verification.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use httpmock::When;
use httpmock::prelude::*;
use serde_json::{Value, json};

const GROUP: &str = "6f1c2a9e4b7d3e0a1c5f8b21";
const PUBLIC_KEY: &str = "qzkvnwhe";
const PRIVATE_KEY: &str = "5f3c9a2e-71b4-4d08-9e6a-c2b18f04d7e3";
const CLIENT_ID: &str = "mdb_sa_id_6a1f0c9d2b7e4a8f";
const CLIENT_SECRET: &str = "mdb_sa_sk_Zq8Xv2Lp9Rt4Wm7Ks1NdYc3B";
const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.c2VydmljZS1hY2NvdW50.Q29uZmlkZW50aWFsVG9rZW4";
const NONCE: &str = "qT7vXk2mRz9BwL4pHs0NcYe6Ja1Ud8Gf";
const OPAQUE: &str = "5ccc069c403ebaf9f0171e9517f40e41";
const COOKIE: &str = "mmsa-session-7d1e0c4b9a";

// What identifies the account in the mock's answers.
const AWS_ACCOUNT: &str = "583920174635";
const AZURE_SUB_ATLAS: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const AZURE_SUB_CUSTOMER: &str = "3f2e1d0c-9b8a-4796-a5b4-c3d2e1f0a9b8";
const AZURE_DIRECTORY: &str = "b7e4a1c9-2d6f-4e83-9a05-6c1d8f2e4b7a";
const GCP_ATLAS_PROJECT: &str = "p-q7w8e9r0t1y2u3i4o5p6a7s8";
const GCP_CUSTOMER_PROJECT: &str = "orbit-ledger-771203";

const AWS_CONTAINER: &str = "65a3f1c27b9e4d0a8c6b2e14";
const GCP_CONTAINER: &str = "65b2c9e03f7a1d4b6e8c0f52";
const AZURE_CONTAINER: &str = "65c41e8a7d2f9b3c5a0e6d77";
const AWS_PEER: &str = "66023b5d9f4c8e3a6b0d1f72";
const GCP_PEER: &str = "66045d7f1b6e0a5c8d2f3b94";
const AZURE_PEER: &str = "66067f9b3d8a2c7e0f4b5db6";

const GROUP_PLACEHOLDER: &str = "000000000000000000000001";

/// Every variable the sdk reads, and the proxy variables: removed from the child first.
const CLEARED_ENV: [&str; 16] = [
    "MONGODB_ATLAS_PUBLIC_API_KEY",
    "MONGODB_ATLAS_PRIVATE_API_KEY",
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "MONGODB_ATLAS_CLIENT_ID",
    "MONGODB_ATLAS_CLIENT_SECRET",
    "MONGODB_ATLAS_BASE_URL",
    "MONGODB_ATLAS_OPS_MANAGER_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

const API_KEY_ENV: [(&str, &str); 2] = [
    ("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY),
    ("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY),
];
const SERVICE_ACCOUNT_ENV: [(&str, &str); 2] = [
    ("MONGODB_ATLAS_CLIENT_ID", CLIENT_ID),
    ("MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET),
];

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "xtask-record-{name}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Where the fixtures go: `<temp>/fixtures`.
    fn out(&self) -> PathBuf {
        self.0.join("fixtures")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn xtask_record(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.arg("record").args(args);
    for name in CLEARED_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Every file under `out`, as `<operation>/<name>` -> text.
fn written_files(out: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let Ok(groups) = std::fs::read_dir(out) else {
        return files;
    };
    for group in groups.flatten() {
        for entry in std::fs::read_dir(group.path()).unwrap().flatten() {
            let name = format!(
                "{}/{}",
                group.file_name().to_string_lossy(),
                entry.file_name().to_string_lossy()
            );
            files.insert(name, std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    files
}

fn json_of(files: &BTreeMap<String, String>, name: &str) -> Value {
    let text = files
        .get(name)
        .unwrap_or_else(|| panic!("{name} was not written; files: {:?}", files.keys()));
    serde_json::from_str(text).unwrap()
}

// ------------------------------------------------------------------------------------------
// The mock Atlas

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Digest,
    ServiceAccount,
}

fn authorized(when: When, auth: Auth) -> When {
    match auth {
        Auth::Digest => when.header_prefix("authorization", "Digest "),
        Auth::ServiceAccount => when.header("authorization", format!("Bearer {ACCESS_TOKEN}")),
    }
}

fn group_path(rest: &str) -> String {
    format!("/api/atlas/v1.0/groups/{GROUP}{rest}")
}

fn page(rest: &str, results: Vec<Value>) -> Value {
    let total = results.len();
    json!({
        "links": [{
            "rel": "self",
            "href": format!("https://cloud.mongodb.com/api/atlas/v1.0/groups/{GROUP}{rest}&pageNum=1&itemsPerPage=100"),
        }],
        "results": results,
        "totalCount": total,
    })
}

fn aws_container() -> Value {
    json!({"id": AWS_CONTAINER, "providerName": "AWS", "provisioned": true,
        "atlasCidrBlock": "10.12.0.0/21", "regionName": "EU_CENTRAL_1", "vpcId": "vpc-03c9e1a7f5b2d8460"})
}

fn gcp_container() -> Value {
    json!({"id": GCP_CONTAINER, "providerName": "GCP", "provisioned": true,
        "atlasCidrBlock": "10.24.0.0/22", "regions": ["EUROPE_WEST_3", "EUROPE_WEST_4"],
        "gcpProjectId": GCP_ATLAS_PROJECT, "networkName": "nt-65b2c9e03f7a1d4b6e8c0f52-h4k8n2p6"})
}

fn azure_container() -> Value {
    json!({"id": AZURE_CONTAINER, "providerName": "AZURE", "provisioned": true,
        "atlasCidrBlock": "192.168.64.0/21", "region": "UK_SOUTH",
        "azureSubscriptionId": AZURE_SUB_ATLAS, "vnetName": "vnet_65c41e8a7d2f9b3c5a0e6d77_uksouth"})
}

fn aws_peer() -> Value {
    json!({"id": AWS_PEER, "providerName": "AWS", "containerId": AWS_CONTAINER,
        "accepterRegionName": null, "awsAccountId": AWS_ACCOUNT, "vpcId": "vpc-06f2c8a4e1d7b3905",
        "routeTableCidrBlock": "10.80.0.0/16", "connectionId": "pcx-03b8d6f1a4e2c9570",
        "statusName": "PENDING_ACCEPTANCE", "errorStateName": null})
}

fn gcp_peer() -> Value {
    json!({"id": GCP_PEER, "providerName": "GCP", "containerId": GCP_CONTAINER,
        "gcpProjectId": GCP_CUSTOMER_PROJECT, "networkName": "core-services",
        "status": "AVAILABLE", "errorMessage": null})
}

fn azure_peer() -> Value {
    json!({"id": AZURE_PEER, "providerName": "AZURE", "containerId": AZURE_CONTAINER,
        "azureDirectoryId": AZURE_DIRECTORY, "azureSubscriptionId": AZURE_SUB_CUSTOMER,
        "resourceGroupName": "rg-ledger-uksouth", "vnetName": "vnet-ledger-uksouth",
        "status": "AVAILABLE", "errorState": null})
}

/// Serves the read-only endpoints of one project behind `auth`. With `failing_gcp_peers`, the
/// GCP peer listing answers 500.
fn serve_atlas(server: &MockServer, auth: Auth, failing_gcp_peers: bool) {
    match auth {
        Auth::Digest => {
            server.mock(|when, then| {
                when.header_missing("authorization");
                then.status(401)
                    .header("content-type", "application/json")
                    .header(
                        "www-authenticate",
                        format!(r#"Digest realm="MMS Public API", domain="", nonce="{NONCE}", opaque="{OPAQUE}", algorithm=MD5, qop="auth", stale=false"#),
                    )
                    .json_body(json!({
                        "detail": "You are not authorized for this resource.",
                        "error": 401,
                        "errorCode": "USER_UNAUTHORIZED",
                        "reason": "Unauthorized",
                    }));
            });
        }
        Auth::ServiceAccount => {
            server.mock(|when, then| {
                when.method(POST).path("/api/oauth/token");
                then.status(200)
                    .header("content-type", "application/json")
                    .json_body(json!({
                        "access_token": ACCESS_TOKEN,
                        "expires_in": 3600,
                        "token_type": "Bearer",
                    }));
            });
        }
    }
    let serve = |path: String, query: Option<&str>, body: Value| {
        server.mock(|when, then| {
            let mut when = authorized(when.method(GET).path(path), auth);
            if let Some(provider) = query {
                when = when.query_param("providerName", provider);
            }
            let _ = when;
            then.status(200)
                .header("content-type", "application/json")
                .header(
                    "set-cookie",
                    format!("mms-session={COOKIE}; Path=/; HttpOnly"),
                )
                .json_body(body);
        });
    };
    serve(
        group_path("/privateIpMode"),
        None,
        json!({"enabled": false}),
    );
    serve(
        group_path("/containers/all"),
        None,
        page(
            "/containers/all?includeCount=true",
            vec![aws_container(), gcp_container(), azure_container()],
        ),
    );
    for (provider, container, peer, container_id, peer_id) in [
        ("AWS", aws_container(), aws_peer(), AWS_CONTAINER, AWS_PEER),
        ("GCP", gcp_container(), gcp_peer(), GCP_CONTAINER, GCP_PEER),
        (
            "AZURE",
            azure_container(),
            azure_peer(),
            AZURE_CONTAINER,
            AZURE_PEER,
        ),
    ] {
        serve(
            group_path("/containers"),
            Some(provider),
            page(
                &format!("/containers?providerName={provider}"),
                vec![container.clone()],
            ),
        );
        serve(
            group_path(&format!("/containers/{container_id}")),
            None,
            container,
        );
        serve(group_path(&format!("/peers/{peer_id}")), None, peer.clone());
        if provider == "GCP" && failing_gcp_peers {
            server.mock(|when, then| {
                authorized(
                    when.method(GET)
                        .path(group_path("/peers"))
                        .query_param("providerName", provider),
                    auth,
                );
                then.status(500)
                    .header("content-type", "application/json")
                    .json_body(json!({
                        "detail": "Unexpected error.",
                        "error": 500,
                        "errorCode": "UNEXPECTED_ERROR",
                        "reason": "Internal Server Error",
                    }));
            });
        } else {
            serve(
                group_path("/peers"),
                Some(provider),
                page(&format!("/peers?providerName={provider}"), vec![peer]),
            );
        }
    }
}

/// Strings that must appear in no written file, whatever the run.
fn assert_no_secrets(files: &BTreeMap<String, String>, extra: &[&str]) {
    let always = [
        PRIVATE_KEY,
        CLIENT_SECRET,
        ACCESS_TOKEN,
        "Digest username",
        "response=",
        "cnonce",
        NONCE,
        OPAQUE,
        COOKIE,
        "cookie",
        "authorization",
        "Authorization",
        "Bearer",
    ];
    for (name, text) in files {
        for needle in always.iter().chain(extra) {
            assert!(
                !text.contains(needle),
                "{name} contains {needle:?}:\n{text}"
            );
        }
    }
}

fn spec_json() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(codegen::SPEC_PATH);
    let text = std::fs::read_to_string(path).unwrap();
    codegen::spec::parse(codegen::SPEC_PATH, &text)
        .unwrap()
        .json
}

/// Loads the files as the contract tests do, and verifies them against the spec and the sdk.
fn assert_valid_fixtures(dir: &TempDir, expected: usize) {
    let (loaded, problems) = contract_tests::fixtures::load_all(dir.path(), "fixtures");
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(loaded.len(), expected);
    let problems = contract_tests::fixtures::verify(&spec_json(), &loaded);
    assert!(problems.is_empty(), "{problems:#?}");
}

fn is_date(s: &str) -> bool {
    s.len() == 10
        && s.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn is_guid_placeholder(s: &str) -> bool {
    s.starts_with("00000000-0000-4000-8000-")
        && s.len() == 36
        && s[24..].bytes().all(|b| b.is_ascii_digit())
}

const OPERATION_FILES: [&str; 15] = [
    "get_private_ip_mode/recorded_mode_200.json",
    "list_all_containers/recorded_all_200.json",
    "list_containers/recorded_aws_200.json",
    "list_containers/recorded_gcp_200.json",
    "list_containers/recorded_azure_200.json",
    "get_container/recorded_aws_200.json",
    "get_container/recorded_gcp_200.json",
    "get_container/recorded_azure_200.json",
    "list_peers/recorded_aws_200.json",
    "list_peers/recorded_gcp_200.json",
    "list_peers/recorded_azure_200.json",
    "get_peer/recorded_aws_200.json",
    "get_peer/recorded_gcp_200.json",
    "get_peer/recorded_azure_200.json",
    "get_private_ip_mode/recorded_unauthorized_401.json",
];

// ------------------------------------------------------------------------------------------
// Tests

#[test]
fn digest_run_records_every_operation_scrubbed_and_anonymized() {
    let server = MockServer::start();
    serve_atlas(&server, Auth::Digest, false);
    let dir = TempDir::new("digest");
    let out = dir.out();
    let output = xtask_record(
        &[
            "--base-url",
            &server.base_url(),
            "--group-id",
            GROUP,
            "--out",
            out.to_str().unwrap(),
            "--anonymize",
        ],
        // A proxy that does not exist, with loopback exempted as the command asks, and a stale
        // base URL variable (--base-url replaces it) change nothing.
        &[
            API_KEY_ENV[0],
            API_KEY_ENV[1],
            ("HTTP_PROXY", "http://127.0.0.1:1"),
            ("NO_PROXY", "127.0.0.1"),
            ("MONGODB_ATLAS_BASE_URL", "ftp://stale.example"),
        ],
    );
    assert!(output.status.success(), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(
        !text(&output.stderr).contains("warning"),
        "{}",
        show(&output)
    );

    // One file per exchange: the Digest challenge, then one 200 for each of the 14 calls.
    let files = written_files(&out);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut expected = OPERATION_FILES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("wrote ")).count(),
        files.len(),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("record: ")
            && l.contains("(0 failed)")
            && l.contains("15 exchanges")
            && l.contains("15 files")),
        "{stdout}"
    );

    assert_valid_fixtures(&dir, 15);
    assert_no_secrets(
        &files,
        &[
            PUBLIC_KEY,
            GROUP,
            AWS_ACCOUNT,
            AZURE_SUB_ATLAS,
            AZURE_SUB_CUSTOMER,
            AZURE_DIRECTORY,
            GCP_ATLAS_PROJECT,
            GCP_CUSTOMER_PROJECT,
        ],
    );

    // The format: only the headers a fixture keeps, a description saying when it was recorded.
    for (name, text) in &files {
        let f: Value = serde_json::from_str(text).unwrap();
        let description = f["description"].as_str().unwrap();
        let date = description
            .strip_prefix("Recorded by `cargo xtask record` on ")
            .map(|rest| &rest[..10])
            .unwrap_or_default();
        assert!(is_date(date), "{name}: {description}");
        assert_eq!(f["request"]["method"], "GET", "{name}");
        assert_eq!(
            f["request"]["headers"],
            json!({"accept": "application/json"}),
            "{name}"
        );
        let path = f["request"]["path"].as_str().unwrap();
        assert!(
            path.starts_with(&format!("/api/atlas/v1.0/groups/{GROUP_PLACEHOLDER}/")),
            "{name}: {path}"
        );
        for header in f["response"]["headers"].as_object().unwrap().keys() {
            assert!(
                ["content-type", "retry-after", "www-authenticate"].contains(&header.as_str()),
                "{name}: {header}"
            );
        }
        if let Some(links) = f["response"]["body"]["links"].as_array() {
            let href = links[0]["href"].as_str().unwrap();
            assert!(
                href.contains(&format!("/groups/{GROUP_PLACEHOLDER}/")),
                "{name}: {href}"
            );
        }
    }
    assert_eq!(
        json_of(&files, "list_peers/recorded_gcp_200.json")["request"]["query"],
        json!({"providerName": "GCP"})
    );

    // The challenge keeps its shape, not its nonce and opaque.
    let challenge = json_of(&files, "get_private_ip_mode/recorded_unauthorized_401.json");
    assert_eq!(challenge["response"]["status"], 401);
    assert_eq!(
        challenge["response"]["headers"]["www-authenticate"],
        r#"Digest realm="MMS Public API", domain="", nonce="nonce-placeholder-1", opaque="opaque-placeholder-1", algorithm=MD5, qop="auth", stale=false"#
    );
    assert_eq!(
        challenge["response"]["body"]["errorCode"],
        "USER_UNAUTHORIZED"
    );

    // Placeholders: valid, and the same value gets the same one in every file.
    let aws = json_of(&files, "get_peer/recorded_aws_200.json")["response"]["body"]["awsAccountId"]
        .clone();
    assert_eq!(aws, "000000000001");
    assert_eq!(
        json_of(&files, "list_peers/recorded_aws_200.json")["response"]["body"]["results"][0]["awsAccountId"],
        aws
    );

    let atlas_sub = json_of(&files, "get_container/recorded_azure_200.json")["response"]["body"]
        ["azureSubscriptionId"]
        .clone();
    let atlas_sub = atlas_sub.as_str().unwrap();
    assert!(is_guid_placeholder(atlas_sub), "{atlas_sub}");
    let all = json_of(&files, "list_all_containers/recorded_all_200.json");
    assert_eq!(
        all["response"]["body"]["results"][2]["azureSubscriptionId"],
        atlas_sub
    );
    assert_eq!(
        json_of(&files, "list_containers/recorded_azure_200.json")["response"]["body"]["results"]
            [0]["azureSubscriptionId"],
        atlas_sub
    );
    let azure_peer =
        json_of(&files, "get_peer/recorded_azure_200.json")["response"]["body"].clone();
    let customer_sub = azure_peer["azureSubscriptionId"].as_str().unwrap();
    let directory = azure_peer["azureDirectoryId"].as_str().unwrap();
    assert!(is_guid_placeholder(customer_sub) && is_guid_placeholder(directory));
    assert!(customer_sub != atlas_sub && directory != atlas_sub && directory != customer_sub);
    let listed =
        &json_of(&files, "list_peers/recorded_azure_200.json")["response"]["body"]["results"][0];
    assert_eq!(listed["azureSubscriptionId"], customer_sub);
    assert_eq!(listed["azureDirectoryId"], directory);

    let atlas_project = json_of(&files, "get_container/recorded_gcp_200.json")["response"]["body"]
        ["gcpProjectId"]
        .clone();
    let atlas_project = atlas_project.as_str().unwrap();
    assert!(
        atlas_project.starts_with("p-") && atlas_project.len() == 26,
        "{atlas_project}"
    );
    assert_eq!(
        all["response"]["body"]["results"][1]["gcpProjectId"],
        atlas_project
    );
    let customer_project =
        json_of(&files, "get_peer/recorded_gcp_200.json")["response"]["body"]["gcpProjectId"]
            .clone();
    assert_ne!(customer_project, atlas_project);
    assert_eq!(
        json_of(&files, "list_peers/recorded_gcp_200.json")["response"]["body"]["results"][0]["gcpProjectId"],
        customer_project
    );
}

#[test]
fn service_account_run_keeps_the_secret_and_the_token_out() {
    let server = MockServer::start();
    serve_atlas(&server, Auth::ServiceAccount, false);
    let dir = TempDir::new("service-account");
    let out = dir.out();
    let output = xtask_record(
        &[
            "--base-url",
            &format!("{}/", server.base_url()),
            "--group-id",
            GROUP,
            "--out",
            out.to_str().unwrap(),
        ],
        &SERVICE_ACCOUNT_ENV,
    );
    assert!(output.status.success(), "{}", show(&output));

    let files = written_files(&out);
    // No challenge with a bearer token, and the token exchange itself is never recorded.
    let mut expected: Vec<&str> = OPERATION_FILES[..14].to_vec();
    expected.sort_unstable();
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
    assert_valid_fixtures(&dir, 14);
    assert_no_secrets(&files, &[CLIENT_ID, "access_token", "oauth"]);

    // Without --anonymize, the account's own values stay.
    let peer = json_of(&files, "get_peer/recorded_aws_200.json");
    assert_eq!(
        peer["request"]["path"],
        group_path(&format!("/peers/{AWS_PEER}"))
    );
    assert_eq!(peer["response"]["body"]["awsAccountId"], AWS_ACCOUNT);
}

#[test]
fn a_failed_call_is_reported_the_others_recorded_and_nothing_overwritten() {
    let server = MockServer::start();
    serve_atlas(&server, Auth::Digest, true);
    let dir = TempDir::new("failure");
    let out = dir.out();
    let args = [
        "--base-url",
        &server.base_url(),
        "--group-id",
        GROUP,
        "--out",
        out.to_str().unwrap(),
        "--anonymize",
    ];

    let first = xtask_record(&args, &API_KEY_ENV);
    assert!(!first.status.success(), "{}", show(&first));
    let stderr = text(&first.stderr);
    assert!(
        stderr.contains(
            "list_peers with providerName=GCP failed: Atlas answered 500 UNEXPECTED_ERROR"
        ),
        "{}",
        show(&first)
    );
    assert_eq!(stderr.matches(" failed: ").count(), 1, "{}", show(&first));
    let files = written_files(&out);
    assert!(files.contains_key("list_peers/recorded_gcp_500.json"));
    assert!(files.contains_key("get_peer/recorded_azure_200.json"));
    assert!(!files.keys().any(|f| f.starts_with("get_peer/recorded_gcp")));
    assert_valid_fixtures(&dir, 14);
    assert_no_secrets(&files, &[GROUP, AWS_ACCOUNT]);

    let second = xtask_record(&args, &API_KEY_ENV);
    assert!(!second.status.success(), "{}", show(&second));
    let after = written_files(&out);
    assert_eq!(after.len(), 2 * files.len());
    for (name, text) in &files {
        assert_eq!(&after[name], text, "{name} was changed");
        let again = name.replace(".json", "_2.json");
        assert!(
            after.contains_key(&again),
            "{again} missing: {:?}",
            after.keys()
        );
    }
}

#[test]
fn an_unreachable_target_fails_every_call_and_writes_nothing() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("unreachable");
    let out = dir.out();
    let output = xtask_record(
        &[
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
            "--group-id",
            GROUP,
            "--out",
            out.to_str().unwrap(),
        ],
        &API_KEY_ENV,
    );
    assert!(!output.status.success(), "{}", show(&output));
    let stderr = text(&output.stderr);
    // The four lists that the others depend on, and the three of each kind.
    assert_eq!(stderr.matches(" failed: ").count(), 8, "{}", show(&output));
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port} did not answer")),
        "{}",
        show(&output)
    );
    assert!(written_files(&out).is_empty());
}

#[test]
fn bad_arguments_name_the_argument() {
    let dir = TempDir::new("arguments");
    let out = dir.out();
    let out = out.to_str().unwrap();
    let url = "http://127.0.0.1:9";
    let cases: [(&[&str], &str); 5] = [
        (&["--group-id", GROUP, "--out", out], "missing --base-url"),
        (
            &[
                "--base-url",
                url,
                "--group-id",
                "6F1C2A9E4B7D3E0A1C5F8B21",
                "--out",
                out,
            ],
            "--group-id `6F1C2A9E4B7D3E0A1C5F8B21` is not a project id",
        ),
        (
            &[
                "--base-url",
                url,
                "--group-id",
                GROUP,
                "--out",
                out,
                "--frobnicate",
            ],
            "unknown argument `--frobnicate`",
        ),
        (
            &[
                "--base-url",
                "ftp://example.test",
                "--group-id",
                GROUP,
                "--out",
                out,
            ],
            "--base-url `ftp://example.test` is not a usable base URL",
        ),
        (&["--base-url", url, "--out", out], "missing --group-id"),
    ];
    for (args, message) in cases {
        let output = xtask_record(args, &API_KEY_ENV);
        assert!(!output.status.success(), "{args:?}: {}", show(&output));
        let stderr = text(&output.stderr);
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("error: ") && l.contains(message)),
            "{args:?}: {}",
            show(&output)
        );
    }

    // Missing credentials name the variables.
    let output = xtask_record(&["--base-url", url, "--group-id", GROUP, "--out", out], &[]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("MONGODB_ATLAS_PUBLIC_API_KEY"),
        "{}",
        show(&output)
    );
    assert!(written_files(&dir.out()).is_empty());
}

#[test]
fn a_secret_echoed_by_the_server_is_never_written() {
    let server = MockServer::start();
    let echo = json!({
        "detail": format!("Key {PRIVATE_KEY} is not valid here."),
        "error": 404,
        "errorCode": "RESOURCE_NOT_FOUND",
        "reason": "Not Found",
    });
    server.mock(|when, then| {
        when.header_missing("authorization");
        then.status(401)
            .header("content-type", "application/json")
            .header(
                "www-authenticate",
                format!(
                    r#"Digest realm="MMS Public API", nonce="{NONCE}", algorithm=MD5, qop="auth""#
                ),
            )
            .json_body(echo.clone());
    });
    server.mock(|when, then| {
        when.header_prefix("authorization", "Digest ");
        then.status(404)
            .header("content-type", "application/json")
            .json_body(echo.clone());
    });
    let dir = TempDir::new("echo");
    let out = dir.out();
    let output = xtask_record(
        &[
            "--base-url",
            &server.base_url(),
            "--group-id",
            GROUP,
            "--out",
            out.to_str().unwrap(),
        ],
        &API_KEY_ENV,
    );
    assert!(!output.status.success(), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("get_private_ip_mode/recorded_unauthorized_401: not written, it would contain the private API key"),
        "{}",
        show(&output)
    );
    assert!(
        stderr.contains("list_peers/recorded_azure_404: not written"),
        "{}",
        show(&output)
    );
    assert!(written_files(&out).is_empty());
}

// ------------------------------------------------------------------------------------------
// Against the local Atlas

/// Creates an AWS, a GCP and an Azure container and a peering in each, through the sdk.
async fn populate(sim: &atlas_network_peering_sim::Simulator) {
    use atlas_network_peering::models::{Container, Peer};
    let config = atlas_network_peering::Config::new()
        .with_base_url(sim.base_url())
        .unwrap()
        .with_api_key(sim.public_key(), sim.private_key());
    let client = atlas_network_peering::Client::from_config(config).unwrap();
    let project = sim.project_id();
    let containers = [
        json!({"providerName": "AWS", "atlasCidrBlock": "10.8.0.0/21", "regionName": "US_EAST_1"}),
        json!({"providerName": "GCP", "atlasCidrBlock": "10.64.0.0/18"}),
        json!({"providerName": "AZURE", "atlasCidrBlock": "10.12.0.0/21", "region": "US_EAST_2"}),
    ];
    for body in containers {
        let body: Container = serde_json::from_value(body).unwrap();
        let created = client.create_container().group_id(project).body(body);
        let container = created.send().await.unwrap();
        let id = container.id().unwrap().to_owned();
        let peer = match container.provider_name() {
            Some("AWS") => json!({"providerName": "AWS", "containerId": id,
                "accepterRegionName": "us-east-1", "awsAccountId": AWS_ACCOUNT,
                "routeTableCidrBlock": "172.31.0.0/16", "vpcId": "vpc-07e3c5a9b1d2f4e68"}),
            Some("GCP") => json!({"providerName": "GCP", "containerId": id,
                "gcpProjectId": GCP_CUSTOMER_PROJECT, "networkName": "orbit-vpc"}),
            _ => json!({"providerName": "AZURE", "containerId": id,
                "azureDirectoryId": AZURE_DIRECTORY, "azureSubscriptionId": AZURE_SUB_CUSTOMER,
                "resourceGroupName": "orbit-rg", "vnetName": "orbit-vnet"}),
        };
        let peer: Peer = serde_json::from_value(peer).unwrap();
        client
            .create_peer()
            .group_id(project)
            .body(peer)
            .send()
            .await
            .unwrap();
    }
}

#[test]
fn recording_the_local_atlas_gives_fixtures_that_regen_accepts() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime.block_on(async {
        let sim = atlas_network_peering_sim::Simulator::start().await.unwrap();
        populate(&sim).await;
        sim
    });
    let (key, secret) = (sim.private_key(), sim.client_secret());
    let digest = TempDir::new("sim-digest");
    let service = TempDir::new("sim-service-account");
    // The simulator serves on the runtime's threads while the child processes run.
    let runs = [
        (
            &digest,
            "--anonymize",
            15,
            [
                ("MONGODB_ATLAS_PUBLIC_API_KEY", sim.public_key()),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", key.clone()),
            ],
        ),
        (
            &service,
            "",
            14,
            [
                ("MONGODB_ATLAS_CLIENT_ID", sim.client_id()),
                ("MONGODB_ATLAS_CLIENT_SECRET", secret.clone()),
            ],
        ),
    ];
    for (dir, flag, expected, env) in runs {
        let out = dir.out();
        let mut args = vec!["--base-url", sim.base_url(), "--group-id", sim.project_id()];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(Some(flag).filter(|f| !f.is_empty()));
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let output = xtask_record(&args, &env);
        assert!(output.status.success(), "{}", show(&output));

        // Regen's verification: every file matches one operation, bodies valid against the
        // spec, unchanged by a round trip through the sdk's types.
        let files = written_files(&out);
        // The mode, the listings (all, 3 providers x containers and peers), the first
        // container and peer of each provider, and with an API key the Digest challenge.
        assert_eq!(files.len(), expected, "{:?}", files.keys());
        assert_valid_fixtures(dir, files.len());
        let operations: std::collections::BTreeSet<&str> = files
            .keys()
            .filter_map(|name| name.split('/').next())
            .collect();
        assert_eq!(
            operations.into_iter().collect::<Vec<_>>(),
            [
                "get_container",
                "get_peer",
                "get_private_ip_mode",
                "list_all_containers",
                "list_containers",
                "list_peers"
            ]
        );
        assert_no_secrets(&files, &[&key, &secret]);
    }
    // --anonymize: the project and the accounts are placeholders in every file.
    for text in written_files(&digest.out()).values() {
        for original in [
            sim.project_id(),
            AWS_ACCOUNT,
            GCP_CUSTOMER_PROJECT,
            AZURE_DIRECTORY,
        ] {
            assert!(!text.contains(original), "{original} in {text}");
        }
    }
    let peers = written_files(&digest.out());
    let aws = peers
        .iter()
        .find(|(name, _)| name.starts_with("get_peer/recorded_aws_200"))
        .map(|(_, text)| serde_json::from_str::<Value>(text).unwrap())
        .expect("the AWS peering was fetched");
    assert_eq!(aws["response"]["body"]["awsAccountId"], "000000000001");
    drop(sim);
}
