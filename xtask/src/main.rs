//! Maintainer commands. `cargo xtask regen` checks the spec, regenerates the client from it and
//! verifies the recorded fixtures against both.

mod spec_checks;
mod surface;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::Value;

const USAGE: &str = "usage: cargo xtask regen";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["regen"] => regen(),
        _ => Err(vec![USAGE.to_owned()]),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Every problem of the run is collected and reported, not only the first.
fn regen() -> Result<(), Vec<String>> {
    let started = Instant::now();
    let path = root().join(codegen::SPEC_PATH);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    let spec = codegen::spec::parse(codegen::SPEC_PATH, &text).map_err(|e| vec![e.to_string()])?;

    let mut problems = oas_schema_violations(&spec.json)
        .into_iter()
        .map(|v| {
            format!(
                "{}: violates the OpenAPI 3.0 schema at {v}",
                codegen::SPEC_PATH
            )
        })
        .collect::<Vec<_>>();

    let source = match codegen::generate_from(&spec, &codegen::Settings::for_sdk()) {
        Ok(source) => Some(source),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let (fixtures, load_problems) = contract_tests::fixtures::load_all(&root(), "fixtures");
    problems.extend(load_problems);
    problems.extend(contract_tests::fixtures::verify(&spec.json, &fixtures));
    if !problems.is_empty() {
        return Err(problems);
    }
    let operations = spec.openapi.operations().count();
    let lines = source.map(|s| s.lines().count()).unwrap_or(0);
    println!(
        "regen: {} is valid OpenAPI 3.0; {operations} operations generate {lines} lines of client; \
         {} fixtures match the spec and round-trip through the sdk ({:.2?})",
        codegen::SPEC_PATH,
        fixtures.len(),
        started.elapsed()
    );
    Ok(())
}

fn oas_schema_violations(document: &Value) -> Vec<String> {
    let path = root().join("spec/vendor/oas-3.0-schema-2021-09-28.json");
    let schema: Value = match std::fs::read_to_string(&path).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(schema)) => schema,
        Ok(Err(e)) => return vec![format!("{} is not JSON: {e}", path.display())],
        Err(e) => return vec![format!("cannot read {}: {e}", path.display())],
    };
    match jsonschema::draft4::new(&schema) {
        Ok(validator) => validator
            .iter_errors(document)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect(),
        Err(e) => vec![format!("{} does not compile: {e}", path.display())],
    }
}
