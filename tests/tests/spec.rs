//! The spec is a valid OpenAPI 3.0 document and holds exactly the 13 operations of the resource.

use contract_tests::{oas_schema_violations, operations, root, spec_json};
use serde_json::Value;

#[test]
fn spec_validates_against_the_openapi_3_0_schema() {
    let violations = oas_schema_violations(&spec_json()).expect("the vendored schema compiles");
    assert!(
        violations.is_empty(),
        "the spec violates the OpenAPI 3.0 schema:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_validator_catches_an_invalid_document() {
    // Guards the test above: a validator that accepted everything would pass it.
    let mut spec = spec_json();
    spec["paths"]["/api/atlas/v1.0/groups/{groupId}/peers"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    spec["info"].as_object_mut().unwrap().remove("title");
    let violations = oas_schema_violations(&spec).expect("the vendored schema compiles");
    assert!(!violations.is_empty());
    assert!(
        violations.iter().any(|v| v.starts_with("/info")),
        "{violations:?}"
    );
}

/// The 13 operations: operationId, method, path, success status.
const EXPECTED: [(&str, &str, &str, &str); 13] = [
    (
        "listAllContainers",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/containers/all",
        "200",
    ),
    (
        "listContainers",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/containers",
        "200",
    ),
    (
        "createContainer",
        "POST",
        "/api/atlas/v1.0/groups/{groupId}/containers",
        "200",
    ),
    (
        "getContainer",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/containers/{containerId}",
        "200",
    ),
    (
        "updateContainer",
        "PATCH",
        "/api/atlas/v1.0/groups/{groupId}/containers/{containerId}",
        "200",
    ),
    (
        "deleteContainer",
        "DELETE",
        "/api/atlas/v1.0/groups/{groupId}/containers/{containerId}",
        "204",
    ),
    (
        "listPeers",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/peers",
        "200",
    ),
    (
        "createPeer",
        "POST",
        "/api/atlas/v1.0/groups/{groupId}/peers",
        "200",
    ),
    (
        "getPeer",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/peers/{peerId}",
        "200",
    ),
    (
        "updatePeer",
        "PATCH",
        "/api/atlas/v1.0/groups/{groupId}/peers/{peerId}",
        "200",
    ),
    (
        "deletePeer",
        "DELETE",
        "/api/atlas/v1.0/groups/{groupId}/peers/{peerId}",
        "202",
    ),
    (
        "getPrivateIpMode",
        "GET",
        "/api/atlas/v1.0/groups/{groupId}/privateIpMode",
        "200",
    ),
    (
        "setPrivateIpMode",
        "PATCH",
        "/api/atlas/v1.0/groups/{groupId}/privateIpMode",
        "200",
    ),
];

#[test]
fn all_13_operations_have_their_method_path_and_success_status() {
    let spec = spec_json();
    let found = operations(&spec);
    assert_eq!(found.len(), 13, "operations in the spec: {found:?}");
    for (id, method, path, status) in EXPECTED {
        let op = &spec["paths"][path][method.to_lowercase()];
        assert_eq!(op["operationId"], id, "{method} {path} is not `{id}`");
        let responses = op["responses"].as_object().unwrap();
        let successes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(
            successes.first().map(|s| s.as_str()),
            Some(status),
            "{id}: success statuses {successes:?}"
        );
        // Only the two creates also take 201 (their spec descriptions say why); nothing else has a
        // second success.
        let extra: Vec<&&String> = successes.iter().skip(1).collect();
        if id.starts_with("create") {
            assert_eq!(extra, [&&"201".to_string()], "{id}");
        } else {
            assert!(extra.is_empty(), "{id}: {extra:?}");
        }
    }
}

/// (Examples on bodies are one of `cargo xtask regen`'s rules, checked there only.)
#[test]
fn every_operation_has_its_error_responses() {
    let spec = spec_json();
    for (id, method, path) in operations(&spec) {
        let op = &spec["paths"][&path][method.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        for code in ["401", "403", "404", "429", "500"] {
            assert!(responses.contains_key(code), "{id} lacks {code}");
        }
    }
}

#[test]
fn id_parameters_are_24_hex_object_ids() {
    let spec = spec_json();
    let pattern = spec
        .pointer("/components/schemas/ObjectId/pattern")
        .and_then(Value::as_str);
    assert_eq!(pattern, Some("^([a-f0-9]{24})$"));
    for name in ["groupId", "containerId", "peerId"] {
        let param = &spec["components"]["parameters"][name];
        assert_eq!(param["in"], "path");
        assert_eq!(
            param["schema"]["$ref"], "#/components/schemas/ObjectId",
            "{name}"
        );
    }
    let per_page = &spec["components"]["parameters"]["itemsPerPage"]["schema"];
    assert_eq!(
        (
            per_page["minimum"].as_i64(),
            per_page["maximum"].as_i64(),
            per_page["default"].as_i64()
        ),
        (Some(1), Some(500), Some(100))
    );
}

#[test]
fn operations_table_maps_every_operation_once() {
    let table = std::fs::read_to_string(root().join("spec/OPERATIONS.md")).unwrap();
    for (id, _, _) in operations(&spec_json()) {
        let rows = table
            .lines()
            .filter(|l| l.starts_with(&format!("| `{id}` |")))
            .count();
        assert_eq!(rows, 1, "spec/OPERATIONS.md has {rows} rows for `{id}`");
    }
}
