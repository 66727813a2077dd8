//! Turns the network-peering OpenAPI spec into the Rust source of the sdk's client.
//!
//! The core is [`generate`]: one pure, deterministic function from spec text to formatted Rust
//! source. It does no I/O; the caller (the sdk's build script, `cargo xtask regen`) reads the
//! file and writes the result. It runs progenitor (builder interface) as it is, and adds only
//! what changes what the client does or how it is called:
//!
//! - every named string enum becomes an *open* enum ([`open_enum`]) that keeps unknown values;
//! - optional nullable properties become `Option<Option<T>>` and optional arrays `Option<Vec<T>>`
//!   ([`nullable`]), so `null` and `[]` survive a round trip;
//! - schemas the caller replaces with hand-written types (the provider-polymorphic container and
//!   peer) are taken out of generation and referred to by path;
//! - every error status is routed to one raw body ([`Settings::with_raw_errors`]), so an error
//!   response always reaches the caller with its status and text, JSON or not;
//! - each operation's `send` returns the body or the crate's one error type, through the
//!   caller's call runner ([`facade`]); progenitor's usage snippets are shown as text.
//!
//! Before generation, [`formats`] refuses every `format` it does not take and every `nullable`
//! without a `type`, and string formats are generated as `String`. Errors name the spec file
//! and the place in it: malformed YAML by line and column, anything else by JSON pointer.

#![deny(missing_docs)]

mod error;
pub mod facade;
pub mod formats;
pub mod mock;
pub mod nullable;
pub mod open_enum;
pub mod spec;

use std::collections::BTreeSet;

pub use error::{Error, Location};
pub use spec::Spec;

/// What [`generate`] needs to know besides the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    crate_path: String,
    inner_type: Option<String>,
    replacements: Vec<(String, String)>,
    raw_errors: bool,
    call_runner: Option<String>,
    json_schema: bool,
}

impl Settings {
    /// Settings for code that will be reachable as `crate_path::types::...` (for the sdk:
    /// `::atlas_network_peering`, with `extern crate self as atlas_network_peering;` in its root
    /// so that the path works inside it too).
    pub fn new(crate_path: impl Into<String>) -> Self {
        Self {
            crate_path: crate_path.into(),
            inner_type: None,
            replacements: Vec::new(),
            raw_errors: false,
            call_runner: None,
            json_schema: false,
        }
    }

    /// The type of the client's `inner` field, which the hand-written runtime keeps its state in.
    pub fn with_inner_type(mut self, path: impl Into<String>) -> Self {
        self.inner_type = Some(path.into());
        self
    }

    /// Uses the hand-written type at `rust_path` wherever the spec names `schema`.
    pub fn with_replacement(
        mut self,
        schema: impl Into<String>,
        rust_path: impl Into<String>,
    ) -> Self {
        self.replacements.push((schema.into(), rust_path.into()));
        self
    }

    /// Routes every error response of every operation (each 4xx/5xx the spec declares, and any
    /// other 4xx/5xx) to one raw body (progenitor's `ByteStream`), so that no error status
    /// escapes unread and no error body has to be JSON to reach the caller. Only the model handed
    /// to progenitor changes; the spec is not touched.
    pub fn with_raw_errors(mut self) -> Self {
        self.raw_errors = true;
        self
    }

    /// Wraps each operation's `send` (see [`facade::wrap_sends`]): the public `send` and
    /// `send_with_response` run the call through the type at `rust_path`, and return
    /// `<crate_path>::Error` and `<crate_path>::Response<T>`. progenitor's `Client::new` and
    /// `new_with_client` become crate-private.
    pub fn with_call_runner(mut self, rust_path: impl Into<String>) -> Self {
        self.call_runner = Some(rust_path.into());
        self
    }

    /// Derives `schemars::JsonSchema` on the generated types and implements it on the open
    /// enums (the sdk's opt-in `schemars` feature).
    pub fn with_json_schema(mut self, enabled: bool) -> Self {
        self.json_schema = enabled;
        self
    }

    /// The settings the sdk crate is generated with: its runtime state type and call runner,
    /// raw error bodies, and the hand-written provider-polymorphic types that progenitor cannot
    /// express (a container or peer of a provider the spec does not model must decode into an
    /// `Unknown` variant).
    pub fn for_sdk() -> Self {
        Settings::new("::atlas_network_peering")
            .with_inner_type("crate::runtime::Runtime")
            .with_replacement("Container", "::atlas_network_peering::models::Container")
            .with_replacement("Peer", "::atlas_network_peering::models::Peer")
            .with_raw_errors()
            .with_call_runner("crate::runtime::Call")
    }
}

/// The path of the spec from the workspace root.
pub const SPEC_PATH: &str = "spec/network-peering.yaml";

/// The generated client: formatted Rust source, starting with a line that says it is generated.
pub fn generate(file: &str, text: &str, settings: &Settings) -> Result<String, Error> {
    let spec = spec::parse(file, text)?;
    generate_from(&spec, settings)
}

pub(crate) fn unsupported(file: &str, location: Location, message: impl Into<String>) -> Error {
    Error::Unsupported {
        file: file.to_owned(),
        location,
        message: message.into(),
    }
}

fn parse_path(file: &str, what: &str, text: &str) -> Result<syn::Path, Error> {
    syn::parse_str(text).map_err(|e| {
        unsupported(
            file,
            Location::Document,
            format!("the {what} `{text}` is not a Rust path: {e}"),
        )
    })
}

/// [`generate`] for a spec already parsed.
pub fn generate_from(spec: &Spec, settings: &Settings) -> Result<String, Error> {
    let file = spec.file.as_str();
    let (gen_settings, enums) = type_settings(spec, settings)?;
    let mut openapi = generation_model(spec)?;
    if settings.raw_errors {
        route_errors_to_raw(&mut openapi);
    }
    let operations = count_operations(&openapi);

    let mut generator = progenitor::Generator::new(&gen_settings);
    let tokens = run_generator(file, || generator.generate_tokens(&openapi))?;
    let mut ast: syn::File = syn::parse2(tokens).map_err(|e| {
        unsupported(
            file,
            Location::Document,
            format!("progenitor produced code that does not parse: {e}"),
        )
    })?;

    let replaced: BTreeSet<String> = settings
        .replacements
        .iter()
        .map(|(schema, _)| schema.clone())
        .collect();
    let targets = nullable::collect(&spec.json, &replaced);
    let expected: usize = targets.values().map(|p| p.len()).sum();
    // Each optional nullable property is one struct field plus one builder field.
    expect_count(
        file,
        "/components/schemas",
        "optional nullable field places made tri-state",
        expected * 2,
        nullable::apply(&mut ast, &targets),
    )?;
    expect_count(
        file,
        "/paths",
        "usage snippets shown as text, not ignored tests (one per operation)",
        operations,
        facade::snippets_as_text(&mut ast),
    )?;
    if let Some(runner) = &settings.call_runner {
        let crate_path = parse_path(file, "crate path", &settings.crate_path)?;
        let facade = facade::Facade {
            runner: parse_path(file, "call runner", runner)?,
            error: syn::parse_quote!(#crate_path::Error),
            response: syn::parse_quote!(#crate_path::Response),
        };
        expect_count(
            file,
            "/paths",
            "operation builders whose `send` returns the crate's error (one per operation)",
            operations,
            facade::wrap_sends(&mut ast, &facade),
        )?;
        expect_count(
            file,
            "/paths",
            "progenitor client constructors made crate-private",
            2,
            facade::hide_constructors(&mut ast),
        )?;
        let check = parse_path(
            file,
            "id check",
            &format!("{}::models::object_id_error", settings.crate_path),
        )?;
        expect_count(
            file,
            "/components/schemas/ObjectId",
            "id places that say why an id is refused (its parsing, then one setter per id parameter)",
            1 + count_id_parameters(&spec.json),
            facade::explain_ids(&mut ast, &check),
        )?;
    }

    let types_mod = ast
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| {
            unsupported(
                file,
                Location::Document,
                "progenitor produced no `types` module",
            )
        })?;
    let mut extra = nullable::helper();
    for e in &enums {
        extra.extend(open_enum::emit(e, settings.json_schema));
    }
    let extra: syn::File = syn::parse2(extra).map_err(|e| {
        unsupported(
            file,
            Location::Document,
            format!("open enum code does not parse: {e}"),
        )
    })?;
    // After the generated items, before the nested `builder`/`error` modules: order is stable.
    types_mod.1.extend(extra.items);

    let header = format!(
        "// @generated by the `codegen` crate from {file}; do not edit.\n\
         // Regenerated on every build of the sdk; `cargo xtask regen` records its public surface.\n\n"
    );
    Ok(header + &prettyplease::unparse(&ast))
}

/// The OpenAPI model progenitor is given: the spec after [`formats::problems`] found nothing,
/// with string and number formats removed ([`formats::without_value_formats`]).
pub(crate) fn generation_model(spec: &Spec) -> Result<openapiv3::OpenAPI, Error> {
    let file = spec.file.as_str();
    if let Some(problem) = formats::problems(file, &spec.json).into_iter().next() {
        return Err(problem);
    }
    serde_json::from_value(formats::without_value_formats(&spec.json)).map_err(|e| {
        Error::NotOpenApi {
            file: file.to_owned(),
            location: Location::Document,
            message: e.to_string(),
        }
    })
}

/// The progenitor settings that decide how the spec's schemas are named in Rust, shared by the
/// client ([`generate_from`]) and the typed mocks ([`mock::generate_httpmock`]) so the two can
/// never name a type differently: builder interface, merged tags, the derives, the inner type,
/// each hand-written replacement, and every named string enum replaced by its open enum at
/// `<crate_path>::types::<Name>` (with `Display` and `FromStr`). Returns the open enums too.
pub(crate) fn type_settings(
    spec: &Spec,
    settings: &Settings,
) -> Result<(progenitor::GenerationSettings, Vec<open_enum::OpenEnum>), Error> {
    let file = spec.file.as_str();
    let schemas = spec
        .json
        .pointer("/components/schemas")
        .and_then(|v| v.as_object());
    for (schema, _) in &settings.replacements {
        if !schemas.is_some_and(|s| s.contains_key(schema)) {
            return Err(unsupported(
                file,
                Location::Pointer("/components/schemas".into()),
                format!("the replacement for `{schema}` names a schema the spec does not have"),
            ));
        }
    }
    let enums = open_enum::collect(file, &spec.json)?;
    let mut gen_settings = progenitor::GenerationSettings::new();
    gen_settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("PartialEq");
    if settings.json_schema {
        gen_settings.with_derive("schemars::JsonSchema");
    }
    if let Some(inner) = &settings.inner_type {
        let tokens: proc_macro2::TokenStream = inner.parse().map_err(|_| {
            unsupported(
                file,
                Location::Document,
                format!("inner type `{inner}` is not a Rust path"),
            )
        })?;
        gen_settings.with_inner_type(tokens);
    }
    for (schema, path) in &settings.replacements {
        gen_settings.with_replacement(schema, path, std::iter::empty());
    }
    for e in &enums {
        let path = format!("{}::types::{}", settings.crate_path, e.name);
        let impls = [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr];
        gen_settings.with_replacement(&e.name, path, impls.into_iter());
    }
    Ok((gen_settings, enums))
}

/// Runs a progenitor entry point. progenitor reports most problems as errors but panics on some
/// (a path item given as a `$ref`, for one); neither may escape as a panic from here.
pub(crate) fn run_generator(
    file: &str,
    generate: impl FnOnce() -> Result<proc_macro2::TokenStream, progenitor::Error>,
) -> Result<proc_macro2::TokenStream, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(generate))
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the generator panicked".into());
            unsupported(file, Location::Document, message)
        })?
        .map_err(|e| unsupported(file, Location::Document, e.to_string()))
}

/// Fails unless a pass over the generated code changed exactly the places the spec implies: a
/// progenitor whose output changed shape must stop the build, not skip a pass silently.
fn expect_count(
    file: &str,
    at: &str,
    what: &str,
    expected: usize,
    done: usize,
) -> Result<(), Error> {
    if expected == done {
        return Ok(());
    }
    Err(unsupported(
        file,
        Location::Pointer(at.into()),
        format!("expected {expected} {what}, found {done}"),
    ))
}

/// How many operation parameters (path-level ones once per operation) are `ObjectId`s.
fn count_id_parameters(spec: &serde_json::Value) -> usize {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let resolve = |value: &'_ serde_json::Value| -> Option<serde_json::Value> {
        match value.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => spec.pointer(r.strip_prefix('#')?).cloned(),
            None => Some(value.clone()),
        }
    };
    let is_id = |p: &serde_json::Value| {
        resolve(p)
            .and_then(|p| p.pointer("/schema/$ref")?.as_str().map(str::to_owned))
            .is_some_and(|r| r.ends_with("/ObjectId"))
    };
    let params = |v: &serde_json::Value| {
        v.get("parameters")
            .and_then(|p| p.as_array())
            .map_or(0, |ps| ps.iter().filter(|p| is_id(p)).count())
    };
    let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) else {
        return 0;
    };
    paths
        .values()
        .map(|item| {
            let operations = METHODS.iter().filter_map(|m| item.get(*m));
            operations
                .map(|op| params(item) + params(op))
                .sum::<usize>()
        })
        .sum()
}

/// How many operations the document has (each gets one generated `send`).
fn count_operations(openapi: &openapiv3::OpenAPI) -> usize {
    openapi
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
        .map(|item| item.iter().count())
        .sum()
}

/// Points every error response at one raw body and adds `4XX`/`5XX` catch-alls (see
/// [`Settings::with_raw_errors`]).
fn route_errors_to_raw(openapi: &mut openapiv3::OpenAPI) {
    use openapiv3::{
        MediaType, ReferenceOr, Response, Schema, SchemaData, SchemaKind, StatusCode, StringType,
        Type, VariantOrUnknownOrEmpty,
    };
    let mut response = Response {
        description: "An error, its body read as it came.".into(),
        ..Default::default()
    };
    let binary = Schema {
        schema_data: SchemaData::default(),
        schema_kind: SchemaKind::Type(Type::String(StringType {
            format: VariantOrUnknownOrEmpty::Unknown("binary".into()),
            ..Default::default()
        })),
    };
    response.content.insert(
        "application/octet-stream".into(),
        MediaType {
            schema: Some(ReferenceOr::Item(binary)),
            ..Default::default()
        },
    );
    for item in openapi.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let responses = &mut op.responses.responses;
            for (code, value) in responses.iter_mut() {
                let is_error = match code {
                    StatusCode::Code(c) => *c >= 400,
                    StatusCode::Range(r) => *r >= 4,
                };
                if is_error {
                    *value = ReferenceOr::Item(response.clone());
                }
            }
            responses.insert(StatusCode::Range(4), ReferenceOr::Item(response.clone()));
            responses.insert(StatusCode::Range(5), ReferenceOr::Item(response.clone()));
        }
    }
}
