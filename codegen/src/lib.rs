//! Turns the network-peering OpenAPI spec into the Rust source of the `sdk` crate's client.
//!
//! The core is [`generate`]: one pure, deterministic function from spec text to formatted Rust
//! source. It does no I/O; the caller (the `sdk` build script, `cargo xtask regen`) reads the
//! file and writes the result. On top of progenitor (builder interface) it adds what the
//! project needs and progenitor does not do:
//!
//! - every named string enum becomes an *open* enum ([`open_enum`]) that keeps unknown values;
//! - optional nullable properties become `Option<Option<T>>` and optional arrays `Option<Vec<T>>`
//!   ([`nullable`]), so `null` and `[]` survive a round trip;
//! - schemas the caller replaces with hand-written types (the provider-polymorphic container and
//!   peer) are taken out of generation and referred to by path;
//! - per-call work that puts nothing on the wire is taken out ([`rewrite`]): no `api-version`
//!   header, no `.query(..)` call for an absent optional parameter, no percent-encoding of ids
//!   that cannot need it, and `pattern`s checked by
//!   compiled byte checks instead of a regex engine (a pattern it cannot compile is an error at
//!   its JSON pointer);
//! - progenitor's usage snippets in each operation's docs are shown as text, not listed by
//!   rustdoc as ignored tests.
//!
//! Errors name the spec file and the place in it: malformed YAML by line and column, a `$ref`
//! that resolves to nothing by JSON pointer, a construct the generator cannot take.

#![deny(missing_docs)]

mod error;
pub mod mock;
pub mod nullable;
pub mod open_enum;
pub mod rewrite;
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
    error_body: Option<String>,
    response_decoder: Option<String>,
    request_builder: Option<String>,
}

impl Settings {
    /// Settings for code that will be reachable as `crate_path::types::...` (for the `sdk`
    /// crate: `::sdk`, with `extern crate self as atlas_network_peering;` in its root so the path works inside it).
    pub fn new(crate_path: impl Into<String>) -> Self {
        Self {
            crate_path: crate_path.into(),
            inner_type: None,
            replacements: Vec::new(),
            error_body: None,
            response_decoder: None,
            request_builder: None,
        }
    }

    /// Starts every request with the hand-written function at `rust_path` instead of
    /// `client.client.get(url)` (or `post`, ...). It is called as
    /// `f(client, ::reqwest::Method::GET, url)`, with the URL progenitor formatted, and returns
    /// a `reqwest::RequestBuilder`.
    pub fn with_request_builder(mut self, rust_path: impl Into<String>) -> Self {
        self.request_builder = Some(rust_path.into());
        self
    }

    /// Decodes every JSON response body with the hand-written async function at `rust_path`
    /// instead of progenitor's `ResponseValue::from_response`. It must have the same signature
    /// (`fn(reqwest::Response) -> Result<ResponseValue<T>, Error<E>>`, async); the runtime can
    /// then hand over a body it has already read without rebuilding the response around it.
    pub fn with_response_decoder(mut self, rust_path: impl Into<String>) -> Self {
        self.response_decoder = Some(rust_path.into());
        self
    }

    /// The type of the client's `inner` field, which the hand-written runtime keeps its state in.
    pub fn with_inner_type(mut self, path: impl Into<String>) -> Self {
        self.inner_type = Some(path.into());
        self
    }

    /// Makes every error response of every operation (each 4xx/5xx the spec declares, and any
    /// other 4xx/5xx) decode into the hand-written type at `rust_path`, so that no error status
    /// escapes as an unread "unexpected response". Only the model handed to progenitor changes;
    /// the spec is not touched. The hand-written runtime turns that body into its error type.
    pub fn with_error_body(mut self, rust_path: impl Into<String>) -> Self {
        self.error_body = Some(rust_path.into());
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
}

/// The generated client: formatted Rust source, starting with a line that says it is generated.
pub fn generate(file: &str, text: &str, settings: &Settings) -> Result<String, Error> {
    let spec = spec::parse(file, text)?;
    generate_from(&spec, settings)
}

fn unsupported(file: &str, location: Location, message: impl Into<String>) -> Error {
    Error::Unsupported {
        file: file.to_owned(),
        location,
        message: message.into(),
    }
}

/// [`generate`] for a spec already parsed.
pub fn generate_from(spec: &Spec, settings: &Settings) -> Result<String, Error> {
    let file = spec.file.as_str();
    let (mut gen_settings, enums) = type_settings(spec, settings)?;
    let replaced: BTreeSet<String> = settings
        .replacements
        .iter()
        .map(|(schema, _)| schema.clone())
        .collect();

    if let Some((at, pattern)) = uncompiled_pattern(&spec.json) {
        return Err(unsupported(
            file,
            Location::Pointer(at),
            format!(
                "pattern `{pattern}` is not one the generator compiles: `^`, then runs of an ASCII \
                 class or character with `{{n}}`, `{{m,n}}`, `+` or `*` (only the last run may vary \
                 in length), then `$` (see codegen::rewrite)"
            ),
        ));
    }

    let mut openapi = spec.openapi.clone();
    if let Some(path) = &settings.error_body {
        route_errors_to(&mut openapi, ERROR_BODY_SCHEMA);
        gen_settings.with_replacement(ERROR_BODY_SCHEMA, path, std::iter::empty());
    }

    let mut generator = progenitor::Generator::new(&gen_settings);
    let tokens = run_generator(file, || generator.generate_tokens(&openapi))?;

    let mut ast: syn::File = syn::parse2(tokens).map_err(|e| {
        unsupported(
            file,
            Location::Document,
            format!("progenitor produced code that does not parse: {e}"),
        )
    })?;

    let targets = nullable::collect(&spec.json, &replaced);
    let expected: usize = targets.values().map(|p| p.len()).sum();
    let changed = nullable::apply(&mut ast, &targets);
    // Each optional nullable property is one struct field plus one builder field.
    expect_rewrites(
        file,
        "/components/schemas",
        "optional nullable field places made tri-state",
        expected * 2,
        changed,
    )?;

    let operations = count_operations(&openapi);
    let snippets = rewrite::snippets_as_text(&mut ast);
    expect_rewrites(
        file,
        "/paths",
        "usage snippets shown as text, not ignored tests (one per operation)",
        operations,
        snippets,
    )?;
    let dropped = rewrite::drop_api_version_header(&mut ast);
    expect_rewrites(
        file,
        "/paths",
        "`api-version` headers dropped (one per operation)",
        operations,
        dropped,
    )?;
    let (optional, expected) = optional_query_params(&openapi);
    let wrapped = rewrite::skip_absent_query_params(&mut ast, &optional);
    expect_rewrites(
        file,
        "/paths",
        "optional query parameters made conditional",
        expected,
        wrapped,
    )?;
    let (safe, expected) = url_safe_path_params(&openapi);
    let skipped = rewrite::skip_path_encoding(&mut ast, &safe);
    expect_rewrites(
        file,
        "/paths",
        "id path parameters left unencoded",
        expected,
        skipped,
    )?;
    // The hand-written functions the generated code calls instead of progenitor's.
    let hook = |what: &str, setting: &Option<String>| -> Result<Option<syn::Path>, Error> {
        setting
            .as_deref()
            .map(|text| {
                syn::parse_str(text).map_err(|e| {
                    unsupported(
                        file,
                        Location::Document,
                        format!("the {what} `{text}` is not a path: {e}"),
                    )
                })
            })
            .transpose()
    };
    if let Some(decoder) = hook("response decoder", &settings.response_decoder)? {
        let (expected, swapped) = (
            count_json_responses(&openapi),
            rewrite::swap_response_decoder(&mut ast, &decoder),
        );
        expect_rewrites(
            file,
            "/paths",
            "JSON responses decoded by the hand-written decoder",
            expected,
            swapped,
        )?;
    }
    if let Some(builder) = hook("request builder", &settings.request_builder)? {
        let swapped = rewrite::swap_request_builder(&mut ast, &builder);
        expect_rewrites(
            file,
            "/paths",
            "requests started by the hand-written builder (one per operation)",
            operations,
            swapped,
        )?;
    }
    let (compiled, kept) = rewrite::compile_patterns(&mut ast);
    if !kept.is_empty() {
        return Err(unsupported(
            file,
            Location::Document,
            format!(
                "the pattern checks of {} could not be compiled",
                kept.join(", ")
            ),
        ));
    }
    let kept_once = rewrite::keep_checked_strings(&mut ast, &compiled);
    expect_rewrites(
        file,
        "/components/schemas",
        "pattern-checked strings decoded without a copy (`TryFrom<String>` and `Deserialize`)",
        compiled.len() * 2,
        kept_once,
    )?;

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
        extra.extend(open_enum::emit(e));
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
         // Regenerated on every build of `sdk`; `cargo xtask regen` records its public surface.\n\n"
    );
    Ok(header + &prettyplease::unparse(&ast))
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
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq");
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

/// The first `pattern` (JSON pointer, text) that [`rewrite::compiles`] refuses.
fn uncompiled_pattern(json: &serde_json::Value) -> Option<(String, String)> {
    let mut found = None;
    let descend = |key: &str| key != "example" && key != "examples" && !key.starts_with("x-");
    spec::walk_objects(json, &descend, &mut |at, map| {
        if let Some(serde_json::Value::String(pattern)) = map.get("pattern")
            && found.is_none()
            && !rewrite::compiles(pattern)
        {
            found = Some((format!("{at}/pattern"), pattern.clone()));
        }
    });
    found
}

/// The names of the query parameters that no operation requires, and how many times
/// operations use them.
fn optional_query_params(openapi: &openapiv3::OpenAPI) -> (BTreeSet<String>, usize) {
    names_true_in_every_use(openapi, |parameter| match parameter {
        openapiv3::Parameter::Query { parameter_data, .. } => {
            Some((parameter_data.name.clone(), !parameter_data.required))
        }
        _ => None,
    })
}

/// The Rust names of the path parameters whose values never need percent-encoding (their
/// schema's pattern admits only unreserved characters, in every operation), and how many
/// times operations use them.
fn url_safe_path_params(openapi: &openapiv3::OpenAPI) -> (BTreeSet<String>, usize) {
    names_true_in_every_use(openapi, |parameter| {
        let openapiv3::Parameter::Path { parameter_data, .. } = parameter else {
            return None;
        };
        let url_safe = match &parameter_data.format {
            openapiv3::ParameterSchemaOrContent::Schema(schema) => {
                string_pattern(openapi, schema).is_some_and(rewrite::pattern_is_url_safe)
            }
            openapiv3::ParameterSchemaOrContent::Content(_) => false,
        };
        Some((snake_case(&parameter_data.name), url_safe))
    })
}

/// Goes through every parameter of every operation; `judge` names the ones of interest and
/// says whether each use qualifies. Returns the names for which every use qualified, and how
/// many uses those names have in all.
fn names_true_in_every_use(
    openapi: &openapiv3::OpenAPI,
    judge: impl Fn(&openapiv3::Parameter) -> Option<(String, bool)>,
) -> (BTreeSet<String>, usize) {
    let mut uses = Vec::new();
    for item in openapi
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
    {
        for (_, operation) in item.iter() {
            let parameters = item.parameters.iter().chain(&operation.parameters);
            uses.extend(
                parameters
                    .filter_map(|p| resolve_parameter(openapi, p))
                    .filter_map(&judge),
            );
        }
    }
    let failed: BTreeSet<&String> = uses.iter().filter(|(_, ok)| !ok).map(|(n, _)| n).collect();
    let names: BTreeSet<String> = uses
        .iter()
        .filter(|(name, _)| !failed.contains(name))
        .map(|(name, _)| name.clone())
        .collect();
    let count = uses.iter().filter(|(name, _)| names.contains(name)).count();
    (names, count)
}

/// The `pattern` of a string schema (or of the schema its `$ref` names).
fn string_pattern<'a>(
    openapi: &'a openapiv3::OpenAPI,
    schema: &'a openapiv3::ReferenceOr<openapiv3::Schema>,
) -> Option<&'a str> {
    let schema = match schema {
        openapiv3::ReferenceOr::Item(schema) => schema,
        openapiv3::ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/schemas/")?;
            openapi.components.as_ref()?.schemas.get(name)?.as_item()?
        }
    };
    match &schema.schema_kind {
        openapiv3::SchemaKind::Type(openapiv3::Type::String(s)) => s.pattern.as_deref(),
        _ => None,
    }
}

/// `groupId` → `group_id`: how progenitor names a parameter's variable (the caller checks the
/// count of rewrites, so a name this gets wrong is an error, not a silent miss).
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A parameter, or the one its `$ref` names in `components/parameters`.
fn resolve_parameter<'a>(
    openapi: &'a openapiv3::OpenAPI,
    parameter: &'a openapiv3::ReferenceOr<openapiv3::Parameter>,
) -> Option<&'a openapiv3::Parameter> {
    match parameter {
        openapiv3::ReferenceOr::Item(p) => Some(p),
        openapiv3::ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            openapi.components.as_ref()?.parameters.get(name)?.as_item()
        }
    }
}

/// Fails unless a rewrite of the generated code changed exactly the places the spec implies: a
/// progenitor whose output changed shape must stop the build, not skip a rewrite silently.
fn expect_rewrites(
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

/// How many responses of all operations have a body, each of which progenitor decodes with one
/// `ResponseValue::from_response` call (after [`route_errors_to`], which adds error bodies).
fn count_json_responses(openapi: &openapiv3::OpenAPI) -> usize {
    use openapiv3::ReferenceOr;
    let resolve = |r: &'_ ReferenceOr<openapiv3::Response>| -> Option<openapiv3::Response> {
        match r {
            ReferenceOr::Item(r) => Some(r.clone()),
            ReferenceOr::Reference { reference } => {
                let name = reference.strip_prefix("#/components/responses/")?;
                match openapi.components.as_ref()?.responses.get(name)? {
                    ReferenceOr::Item(r) => Some(r.clone()),
                    ReferenceOr::Reference { .. } => None,
                }
            }
        }
    };
    openapi
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .flat_map(|op| {
            op.responses
                .responses
                .values()
                .chain(op.responses.default.as_ref())
        })
        .filter_map(resolve)
        .filter(|r| !r.content.is_empty())
        .count()
}

/// The name of the synthetic schema that error responses are routed to (see
/// [`Settings::with_error_body`]).
const ERROR_BODY_SCHEMA: &str = "SdkErrorBody";

/// Points every error response at the synthetic `schema` and adds `4XX`/`5XX` catch-alls.
fn route_errors_to(openapi: &mut openapiv3::OpenAPI, schema: &str) {
    use openapiv3::{
        MediaType, ReferenceOr, Response, Schema, SchemaData, SchemaKind, StatusCode, Type,
    };
    let components = openapi.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        schema.to_owned(),
        ReferenceOr::Item(Schema {
            schema_data: SchemaData::default(),
            schema_kind: SchemaKind::Type(Type::Object(Default::default())),
        }),
    );
    let mut response = Response {
        description: "An error.".into(),
        ..Default::default()
    };
    response.content.insert(
        "application/json".into(),
        MediaType {
            schema: Some(ReferenceOr::ref_(&format!("#/components/schemas/{schema}"))),
            ..Default::default()
        },
    );
    for item in openapi.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
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

/// The path of the spec from the workspace root.
pub const SPEC_PATH: &str = "spec/network-peering.yaml";

impl Settings {
    /// The settings the `sdk` crate is generated with: its runtime state type, and the
    /// hand-written provider-polymorphic types that progenitor cannot express (a container or
    /// peer of a provider the spec does not model must decode into an `Unknown` variant).
    pub fn for_sdk() -> Self {
        Settings::new("::atlas_network_peering")
            .with_inner_type("::atlas_network_peering::runtime::Runtime")
            .with_replacement("Container", "::atlas_network_peering::models::Container")
            .with_replacement("Peer", "::atlas_network_peering::models::Peer")
            .with_error_body("::atlas_network_peering::error::ErrorBody")
            .with_response_decoder("::atlas_network_peering::runtime::response_value")
            .with_request_builder("::atlas_network_peering::runtime::request_builder")
    }
}
