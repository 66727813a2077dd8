//! Shared helpers of the contract tests: where the workspace is, the spec as JSON, and the
//! OpenAPI 3.0 schema validator.

pub mod fixtures;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The spec's text.
pub fn spec_text() -> String {
    let path = root().join(codegen::SPEC_PATH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The spec as a JSON tree.
pub fn spec_json() -> Value {
    serde_yaml::from_str(&spec_text()).expect("the spec is YAML")
}

/// The official OpenAPI 3.0 JSON Schema the spec is validated against (vendored).
pub const OAS_SCHEMA: &str = "spec/vendor/oas-3.0-schema-2021-09-28.json";

/// Every violation of the official OpenAPI 3.0 JSON Schema in `document`, one line each: the
/// JSON pointer of the offending value and what is wrong with it. This is the one place the
/// spec is validated against that schema: `cargo xtask regen` and the contract tests call it.
/// `Err` when the vendored schema cannot be read or compiled.
pub fn oas_schema_violations(document: &Value) -> Result<Vec<String>, String> {
    let path = root().join(OAS_SCHEMA);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {OAS_SCHEMA}: {e}"))?;
    let schema: Value =
        serde_json::from_str(&text).map_err(|e| format!("{OAS_SCHEMA} is not JSON: {e}"))?;
    let validator = jsonschema::draft4::new(&schema)
        .map_err(|e| format!("{OAS_SCHEMA} does not compile: {e}"))?;
    Ok(validator
        .iter_errors(document)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect())
}

/// `(operationId, METHOD, path)` of every operation in the spec.
pub fn operations(spec: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths is a mapping") {
        for (method, op) in item.as_object().expect("a path item is a mapping") {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                out.push((id.to_owned(), method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}
