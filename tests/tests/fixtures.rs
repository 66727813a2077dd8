//! Every recorded fixture matches one spec operation, its bodies conform to the spec, and they
//! round-trip through the sdk's types; broken fixtures give one clear line each.

use contract_tests::fixtures::{self, Loaded};
use contract_tests::{root, spec_json};
use serde_json::json;

fn all() -> Vec<Loaded> {
    let (loaded, problems) = fixtures::load_all(&root(), "fixtures");
    assert!(problems.is_empty(), "{problems:#?}");
    loaded
}

#[test]
fn every_fixture_verifies() {
    let loaded = all();
    assert!(loaded.len() >= 40, "only {} fixtures", loaded.len());
    let problems = fixtures::verify(&spec_json(), &loaded);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_operation_has_a_success_fixture() {
    let loaded = all();
    let spec = spec_json();
    let ops = fixtures::spec_operations(&spec);
    for op in &ops {
        let n = loaded
            .iter()
            .filter(|l| (200..300).contains(&l.fixture.response.status))
            .filter(|l| {
                fixtures::match_operation(&l.file, &ops, &l.fixture.request)
                    .is_ok_and(|o| o.id == op.id)
            })
            .count();
        assert!(n >= 1, "no success fixture for {}", op.id);
    }
}

fn one(file: &str, fixture: serde_json::Value) -> Vec<String> {
    let fixture = serde_json::from_value(fixture).unwrap();
    fixtures::verify(
        &spec_json(),
        &[Loaded {
            file: file.into(),
            fixture,
        }],
    )
}

#[test]
fn a_fixture_matching_no_operation_is_named() {
    let problems = one(
        "fixtures/x/nowhere.json",
        json!({
            "description": "d", "request": {"method": "GET", "path": "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/nowhere"},
            "response": {"status": 200}
        }),
    );
    assert_eq!(
        problems,
        [
            "fixtures/x/nowhere.json: `GET /api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/nowhere` matches no operation of the spec"
        ]
    );
}

#[test]
fn a_body_violating_its_schema_names_file_and_path() {
    let problems = one(
        "fixtures/get_peer/bad.json",
        json!({
            "description": "d", "request": {"method": "GET", "path": "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/peers/65c1d2e3f4a5b6c7d8e9f0a1"},
            "response": {"status": 200, "body": {"providerName": "GCP", "containerId": "64b0c1d2e3f4a5b6c7d8e9f1",
                "gcpProjectId": "p", "networkName": 5}}
        }),
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("fixtures/get_peer/bad.json: response body")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("`/networkName`")),
        "{problems:#?}"
    );
}

#[test]
fn a_body_that_does_not_round_trip_reports_each_path() {
    // An unknown field is valid JSON Schema-wise (no additionalProperties: false) but the sdk
    // drops it: the round trip must say where.
    let problems = one(
        "fixtures/get_private_ip_mode/extra.json",
        json!({
            "description": "d", "request": {"method": "GET", "path": "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/privateIpMode"},
            "response": {"status": 200, "body": {"enabled": true, "since": "2024-01-01", "by": "ops"}}
        }),
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("`/by` was \"ops\" and came back absent"),
        "{problems:#?}"
    );
    assert!(problems[1].contains("`/since`"), "{problems:#?}");
}

#[test]
fn a_malformed_fixture_names_file_and_field() {
    let dir = std::env::temp_dir().join(format!("fixtures-malformed-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("fixtures/get_peer")).unwrap();
    std::fs::write(
        dir.join("fixtures/get_peer/a.json"),
        r#"{"description": "d", "request": {"method": 5}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("fixtures/get_peer/b.json"), "{ not json").unwrap();
    let (loaded, problems) = fixtures::load_all(&dir, "fixtures");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(loaded.is_empty());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("fixtures/get_peer/a.json: malformed fixture at `request.method`"),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("fixtures/get_peer/b.json: malformed fixture"),
        "{problems:#?}"
    );
}

#[test]
fn a_deliberate_violation_that_conforms_is_flagged() {
    let problems = one(
        "fixtures/get_private_ip_mode/fine.json",
        json!({
            "description": "d", "deliberately_violates_spec": true,
            "request": {"method": "GET", "path": "/api/atlas/v1.0/groups/6f1c2a9e4b7d3e0a1c5f8b21/privateIpMode"},
            "response": {"status": 200, "body": {"enabled": true}}
        }),
    );
    assert_eq!(
        problems,
        [
            "fixtures/get_private_ip_mode/fine.json: marked deliberately_violates_spec but conforms to the spec"
        ]
    );
}
