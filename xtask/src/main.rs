//! Maintainer commands.
//!
//! - `cargo xtask regen`: checks the spec (OpenAPI 3.0 schema, the openapiv3 round trip, the
//!   project's rules; what the generator itself refuses, the sdk's build script has reported by
//!   then, see `spec_checks`), regenerates the client, writes the record of the sdk's public
//!   surface (`sdk/surface.txt`) and prints what changed in it, refusing a breaking change the
//!   sdk's version does not announce, and verifies every recorded fixture against the spec and
//!   the sdk's types.
//! - `cargo xtask regen --check`: the same, writing nothing; fails when anything derived is
//!   stale, with the diff and the command that fixes it.
//! - `cargo xtask record ...`: records real exchanges into new fixtures (see `record.rs`).

mod api;
mod record;
mod spec_checks;
mod surface;
mod version;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use contract_tests::{fixtures, root};

const USAGE: &str = "usage: cargo xtask regen [--check]\n       cargo xtask record --base-url URL --group-id ID [--out DIR] [--anonymize]";

/// The committed record of the sdk's public surface.
const SURFACE_PATH: &str = "sdk/surface.txt";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["regen"] => regen(false),
        ["regen", "--check"] => regen(true),
        ["record", ..] => record::run(&args[1..]),
        _ => Err(vec![USAGE.to_owned()]),
    };
    let Err(problems) = result else {
        return ExitCode::SUCCESS;
    };
    for p in &problems {
        eprintln!("error: {p}");
    }
    if problems.len() > 1 {
        eprintln!("{} problems", problems.len());
    }
    ExitCode::FAILURE
}

/// Every problem of the run is collected and reported, not only the first.
fn regen(check: bool) -> Result<(), Vec<String>> {
    let started = Instant::now();
    let file = codegen::SPEC_PATH;
    let path = root().join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    // YAML syntax, the OpenAPI shape and every `$ref` (codegen's own checks, located).
    let spec = codegen::spec::parse(file, &text).map_err(|e| vec![e.to_string()])?;

    // 1. The spec: the OpenAPI 3.0 schema, the openapiv3 round trip, the project's rules.
    let mut problems: Vec<String> = match contract_tests::oas_schema_violations(&spec.json) {
        Ok(violations) => violations
            .into_iter()
            .map(|v| format!("{file}: violates the OpenAPI 3.0 schema at {v}"))
            .collect(),
        Err(e) => vec![e],
    };
    problems.extend(spec_checks::round_trip_problems(&spec));

    // 2. The fixtures, and how many each operation has.
    let verify_started = Instant::now();
    let (loaded, load_problems) = fixtures::load_all(&root(), "fixtures");
    problems.extend(load_problems);
    problems.extend(fixtures::verify(&spec.json, &loaded));
    let ops = fixtures::spec_operations(&spec.json);
    let mut per_operation: BTreeMap<String, usize> =
        ops.iter().map(|o| (o.id.clone(), 0)).collect();
    for f in &loaded {
        if let Ok(op) = fixtures::match_operation(&f.file, &ops, &f.fixture.request) {
            *per_operation.entry(op.id.clone()).or_default() += 1;
        }
    }
    let verify_time = verify_started.elapsed();
    problems.extend(spec_checks::rule_problems(file, &spec.json, &per_operation));

    // 3. Regenerate, and record the public surface.
    let source = codegen::generate_from(&spec, &codegen::Settings::for_sdk());
    let source = source.map_err(|e| problems.push(e.to_string())).ok();
    let hand_written = api::record(&root().join("sdk/src"))
        .map_err(|e| problems.push(format!("cannot record the sdk's hand-written surface: {e}")))
        .unwrap_or_default();
    let version = version::sdk_version(&root());
    let version = version.map_err(|e| problems.push(e)).ok();
    if let (Some(source), Some(version)) = (&source, &version) {
        match surface::record(&spec.json, source, &hand_written, version) {
            Ok(new) => problems.extend(update_surface(&new, version, check)),
            Err(e) => problems.push(format!("cannot record the sdk's public surface: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    println!(
        "regen: {file} is valid OpenAPI 3.0 and follows the project's rules; {} operations generate {} lines of client; \
         {} fixtures match the spec and round-trip through the sdk (verification {:.0?}, total {:.2?})",
        ops.len(),
        source.map(|s| s.lines().count()).unwrap_or(0),
        loaded.len(),
        verify_time,
        started.elapsed()
    );
    Ok(())
}

/// Prints what changed from the committed record to `new` and writes `new` (not with
/// `check`); the problem, if any: a breaking change `version` does not announce, a stale
/// record under `check`, a failed write.
fn update_surface(new: &str, version: &str, check: bool) -> Option<String> {
    let surface_path = root().join(SURFACE_PATH);
    let old = std::fs::read_to_string(&surface_path).unwrap_or_default();
    let changes = surface::diff(&old, new);
    if !changes.is_empty() {
        let breaking = changes.iter().filter(|c| c.is_breaking()).count();
        println!(
            "{SURFACE_PATH}: {} change(s) to the public surface, {breaking} breaking:\n{}",
            changes.len(),
            surface::render(&changes)
        );
    }
    if let Some(refusal) = version::refusal(surface::version(&old), version, &changes) {
        Some(format!("{SURFACE_PATH}: {refusal}"))
    } else if old == new {
        None
    } else if check {
        Some(format!("{SURFACE_PATH} is stale: run `cargo xtask regen`"))
    } else if let Err(e) = std::fs::write(&surface_path, new) {
        Some(format!("cannot write {}: {e}", surface_path.display()))
    } else {
        println!("wrote {SURFACE_PATH}");
        None
    }
}
