//! Generates the typed mocks from the spec into `OUT_DIR` at build time. Nothing else happens
//! here.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    // `spec/network-peering.yaml` of this package: in the repository a symbolic link to the
    // top-level spec (the one file maintainers edit), in the packaged crate a copy of it
    // (`cargo package` stores the file the link points at).
    let spec = manifest_dir.join(codegen::SPEC_PATH);
    println!("cargo:rerun-if-changed={}", spec.display());
    println!("cargo:rerun-if-changed=build.rs");

    let text = match std::fs::read_to_string(&spec) {
        Ok(text) => text,
        Err(e) => fail(&format!("cannot read {}: {e}", spec.display())),
    };
    let settings = codegen::Settings::for_sdk();
    let source = match codegen::mock::generate_httpmock(codegen::SPEC_PATH, &text, &settings) {
        Ok(source) => source,
        Err(e) => fail(&e.to_string()),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("network_peering_httpmock.rs");
    if let Err(e) = std::fs::write(&out, source) {
        fail(&format!("cannot write {}: {e}", out.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    println!("cargo:warning={message}");
    std::process::exit(1);
}
