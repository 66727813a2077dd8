//! Checks of `spec/network-peering.yaml` that `cargo xtask regen` runs, npm nowhere needed.
//! Each rule is checked in one place:
//!
//! - what the generator refuses (YAML syntax, the OpenAPI shape, a `$ref` that resolves to
//!   nothing or leaves the file, a missing or repeated operationId, a `format` it does not take,
//!   a `nullable` without a `type`): `codegen`, with the file and the place; the sdk's build
//!   script reports these before `regen` runs (Redocly and Spectral refuse most of them in CI);
//! - the official OpenAPI 3.0 JSON Schema: `contract_tests::oas_schema_violations`;
//! - discriminator mappings and `security` requirement names that resolve: Redocly's
//!   `no-unresolved-refs` and `security-defined` (errors in `recommended`, `scripts/lint-spec.sh`);
//! - here, what no other checker says: [`round_trip_problems`], what the `openapiv3` parser (the
//!   generator's model) silently drops or changes: the schema refuses unknown keys in most
//!   objects, but not beside a `$ref` or in a discriminator, and valid OpenAPI the parser has no
//!   field for (`xml` on a schema), an extension it loses or a number it rounds pass it; and
//!   [`rule_problems`], the project's rules.
//!
//! Every problem is one line, `"{file}: {json pointer}: {what}"`, the pointer escaped per
//! RFC 6901 (`~0` for `~`, `~1` for `/`); a run reports all problems, not only the first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use codegen::spec::{Operation, Spec, follow, operations, pointer_token, refs};
use serde_json::{Map, Number, Value};

/// One problem line. The empty pointer (RFC 6901's whole document) reads as "document root".
fn problem(file: &str, pointer: &str, what: &str) -> String {
    let at = Some(pointer).filter(|p| !p.is_empty());
    format!("{file}: {}: {what}", at.unwrap_or("document root"))
}

/// A value for a message: compact JSON, cut to 60 characters.
fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(59) {
        Some((cut, _)) if text.chars().count() > 60 => format!("{}…", &text[..cut]),
        _ => text,
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip through openapiv3
// ---------------------------------------------------------------------------------------------

/// Serializes the spec's `openapiv3` model (what `codegen::spec::parse` read) back to JSON and
/// reports, one line per key, everything the parser dropped, changed or added compared with
/// the document as plain JSON, except the normalizations that do not change what the document
/// means (see [`means_absent`] and [`same_number`]).
pub fn round_trip_problems(spec: &Spec) -> Vec<String> {
    let mut walk = RoundTrip {
        file: spec.file.as_str(),
        path: Vec::new(),
        problems: Vec::new(),
    };
    match serde_json::to_value(&spec.openapi) {
        Ok(after) => walk.compare(&spec.json, &after, Context::Keywords),
        Err(e) => walk.report(&format!(
            "the OpenAPI model does not serialize back to JSON: {e}"
        )),
    }
    walk.problems
}

/// What the keys of an object are: whether a key on one side only can be a harmless default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// An OpenAPI object (schema, parameter, ...): `readOnly: false` on one side means absent.
    Keywords,
    /// Names chosen by the author (`properties`, `paths`, a security requirement, ...): every
    /// entry matters, whatever its value.
    Names,
    /// Data the parser must keep as is (`example`, `default`, `enum`, extensions).
    Verbatim,
}

/// Whether the space-separated `list` holds `word`.
fn has(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// Keywords whose value is data, where `null`, `{}` and `[]` are meaningful values.
const VALUE_KEYWORDS: &[&str] = &["example", "default", "value", "enum"];

/// Keywords whose (object) value is a map of author-chosen names.
const NAME_MAPS: &str = "paths properties schemas parameters responses securitySchemes requestBodies headers \
     content examples encoding links callbacks mapping scopes variables";

/// Boolean keywords whose OpenAPI 3.0 default is `false`.
const FALSE_BY_DEFAULT: &str = "required deprecated nullable readOnly writeOnly uniqueItems exclusiveMinimum \
     exclusiveMaximum allowReserved allowEmptyValue";

/// Keywords whose OpenAPI 3.0 default is `0`.
const ZERO_BY_DEFAULT: &[&str] = &["minLength", "minItems", "minProperties"];

/// Every fixed field name of OpenAPI 3.0.3, to tell a dropped keyword from a dropped typo.
const KEYWORDS: &str = "$ref additionalProperties allOf allowEmptyValue allowReserved anyOf attribute \
     authorizationUrl bearerFormat callbacks clientCredentials components contact content \
     contentType default delete deprecated description discriminator email encoding enum \
     example examples exclusiveMaximum exclusiveMinimum explode externalDocs externalValue \
     flows format get head headers identifier implicit in info items license links mapping \
     maxItems maxLength maxProperties maximum minItems minLength minProperties minimum \
     multipleOf name namespace not nullable oneOf openIdConnectUrl openapi operationId \
     operationRef options parameters password patch paths pattern post prefix properties \
     propertyName put readOnly refreshUrl requestBodies requestBody required responses \
     schema schemas scheme scopes security securitySchemes server servers style summary tags \
     termsOfService title tokenUrl trace type uniqueItems url value variables version \
     wrapped writeOnly xml";

/// The context of the value under `key` in an object of context `parent`.
fn child_context(parent: Context, key: &str, value: &Value) -> Context {
    match parent {
        Context::Verbatim => Context::Verbatim,
        Context::Names => Context::Keywords,
        _ if key.starts_with("x-") || VALUE_KEYWORDS.contains(&key) => Context::Verbatim,
        // `security` is a list of requirements, each a map of scheme names.
        _ if key == "security" || (has(NAME_MAPS, key) && value.is_object()) => Context::Names,
        Context::Keywords => Context::Keywords,
    }
}

/// Whether `key: value`, found on one side of the round trip only, in an OpenAPI object, says
/// the same as leaving the key out, so that its appearing or disappearing changes nothing.
/// Only OpenAPI keywords qualify (a misspelled key is reported whatever its value):
///
/// - `null` for a keyword that is not data (`description: null` is no description; openapiv3
///   writes `null` for some unset optional fields);
/// - `false` for the boolean keywords that default to `false` (`required`, `deprecated`,
///   `nullable`, `readOnly`, `writeOnly`, `uniqueItems`, `allowEmptyValue`, ...);
/// - `0` for `minLength`, `minItems`, `minProperties`; `true` for `additionalProperties`;
/// - `style` equal to the default for its place (`form` in query and cookie, `simple` in path
///   and header), and `explode` equal to its default (`true` exactly when the style is `form`);
/// - an empty map or list (`tags: []`, `scopes: {}`, `required: []`), except for `security`,
///   where `[]` switches security off, and for data keywords.
///
/// `styles`: the object's default `style` and the one it has (its own, else the default).
fn means_absent(key: &str, value: &Value, styles: (Option<&str>, Option<&str>)) -> bool {
    if !has(KEYWORDS, key) {
        return false;
    }
    let data = VALUE_KEYWORDS.contains(&key);
    match value {
        Value::Null => !data,
        Value::Bool(b) if key == "explode" => styles.1.is_some_and(|s| *b == (s == "form")),
        Value::Bool(b) => {
            (*b && key == "additionalProperties") || (!b && has(FALSE_BY_DEFAULT, key))
        }
        Value::Number(n) => ZERO_BY_DEFAULT.contains(&key) && n.as_f64() == Some(0.0),
        Value::String(s) => key == "style" && styles.0 == Some(s.as_str()),
        Value::Array(items) => items.is_empty() && !data && key != "security",
        Value::Object(map) => map.is_empty() && !data,
    }
}

/// Whether two JSON numbers are the same number, whatever their spelling (`1`, `1.0`). Integers
/// compare exactly, so a large integer that lost precision in a float counts as changed.
fn same_number(a: &Number, b: &Number) -> bool {
    // 2^126: well inside i128, so the cast is exact for an integral float.
    let exact = |n: &Number| match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => Some(i128::from(i)),
        (_, Some(u), _) => Some(i128::from(u)),
        (_, _, Some(f)) if f.is_finite() && f.fract() == 0.0 && f.abs() < 8.5e37 => Some(f as i128),
        _ => None,
    };
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

/// Walks the source document and its round-tripped copy side by side.
struct RoundTrip<'a> {
    file: &'a str,
    /// Unescaped tokens of the current position.
    path: Vec<String>,
    problems: Vec<String>,
}

impl RoundTrip<'_> {
    fn report(&mut self, what: &str) {
        let tokens = self.path.iter().map(|t| format!("/{}", pointer_token(t)));
        let pointer: String = tokens.collect();
        self.problems.push(problem(self.file, &pointer, what));
    }

    fn compare(&mut self, before: &Value, after: &Value, context: Context) {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => self.compare_objects(b, a, context),
            (Value::Array(b), Value::Array(a)) => {
                for i in 0..b.len().max(a.len()) {
                    self.path.push(i.to_string());
                    match (b.get(i), a.get(i)) {
                        (Some(item), Some(other)) => self.compare(item, other, context),
                        (Some(item), None) => self.report(&format!(
                            "dropped by the OpenAPI parser (was {})",
                            show(item)
                        )),
                        (None, item) => self.report(&format!(
                            "added by the OpenAPI parser: {}",
                            show(item.unwrap_or(&Value::Null))
                        )),
                    }
                    self.path.pop();
                }
            }
            (Value::Number(b), Value::Number(a)) if same_number(b, a) => {}
            _ if before == after => {}
            _ => self.report(&format!(
                "changed by the OpenAPI parser: {} became {}",
                show(before),
                show(after)
            )),
        }
    }

    fn compare_objects(
        &mut self,
        b: &Map<String, Value>,
        a: &Map<String, Value>,
        context: Context,
    ) {
        // The `style` an object has when it names none: by `in` for a parameter; for a header
        // object (in a `headers` map) `simple`, for an encoding `form`.
        let get = |key| b.get(key).or_else(|| a.get(key)).and_then(Value::as_str);
        let container = self.path.iter().rev().nth(1).map(String::as_str);
        let default_style = match (get("in"), container) {
            (Some("query" | "cookie"), _) | (None, Some("encoding")) => Some("form"),
            (Some("path" | "header"), _) | (None, Some("headers")) => Some("simple"),
            _ => None,
        };
        let styles = (default_style, get("style").or(default_style));
        let absent =
            |key: &str, value| context == Context::Keywords && means_absent(key, value, styles);
        for key in b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))) {
            self.path.push(key.clone());
            match (b.get(key), a.get(key)) {
                (Some(value), Some(other)) => {
                    self.compare(value, other, child_context(context, key, value));
                }
                (Some(value), None) | (None, Some(value)) if absent(key, value) => {}
                (Some(value), None) => self.report(&dropped(key, value, b, context)),
                (_, added) => self.report(&format!(
                    "added by the OpenAPI parser: {}",
                    show(added.unwrap_or(&Value::Null))
                )),
            }
            self.path.pop();
        }
    }
}

/// Why `key: value` of the source object `holder` is missing after the round trip.
fn dropped(key: &str, value: &Value, holder: &Map<String, Value>, context: Context) -> String {
    if context != Context::Keywords {
        format!("dropped by the OpenAPI parser (was {})", show(value))
    } else if key != "$ref" && holder.contains_key("$ref") {
        "ignored next to `$ref` and dropped by the OpenAPI parser (OpenAPI 3.0 ignores the \
         siblings of a `$ref`)"
            .to_owned()
    } else if key.starts_with("x-") {
        format!(
            "extension dropped by the OpenAPI parser, which must keep `x-` keys (was {})",
            show(value)
        )
    } else if has(KEYWORDS, key) {
        format!("dropped by the OpenAPI parser (was {})", show(value))
    } else {
        "dropped by the OpenAPI parser (not an OpenAPI keyword?)".to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The project's rules
// ---------------------------------------------------------------------------------------------

/// Every kind of reusable component of OpenAPI 3.0.
const COMPONENT_KINDS: &str = "schemas responses parameters examples requestBodies headers securitySchemes links \
     callbacks";

/// The kinds of component that must each be used.
const CHECKED_KINDS: &[&str] = &["schemas", "parameters", "responses", "securitySchemes"];

/// Checks the project's rules on the spec as plain JSON. `fixture_operations` maps each
/// operationId to the number of recorded fixtures matched to it. Rules:
///
/// - every JSON request body and every 2xx JSON response (after following `$ref`) has `example`
///   or `examples` on its media type (no linter of CI asks for one);
/// - every operation has at least one fixture (and no fixture counts for an unknown operation);
/// - every entry of `components/{schemas,parameters,responses,securitySchemes}` is used: reached
///   by `$ref`s (or discriminator mappings) from outside the components, directly or through
///   other used components; a security scheme is also used when a `security` requirement names
///   it. An entry referenced only by unused entries (or by itself) is unused too. Redocly's
///   `no-unused-components` and Spectral's `oas3-unused-component` only warn, and neither
///   names an entry reached only from unused ones.
pub fn rule_problems(
    file: &str,
    spec: &Value,
    fixture_operations: &BTreeMap<String, usize>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let operations = operations(spec);
    let mut ids = BTreeSet::new();
    for op in &operations {
        let Some(id) = op.value.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        ids.insert(id);
        if fixture_operations.get(id).copied().unwrap_or(0) == 0 {
            let dir = crate::surface::snake_case(id);
            let what = format!("operation `{id}` has no fixture (add one under fixtures/{dir}/)");
            problems.push(problem(file, &op.pointer, &what));
        }
    }
    for (id, count) in fixture_operations {
        if *count > 0 && !ids.contains(id.as_str()) {
            let what =
                format!("{count} fixture(s) matched to operationId `{id}`, which no operation has");
            problems.push(problem(file, "/paths", &what));
        }
    }
    example_problems(file, spec, &operations, &mut problems);
    unused_component_problems(file, spec, &operations, &mut problems);
    problems
}

/// The operationId, or the pointer when it has none, for messages.
fn label(op: &Operation<'_>) -> String {
    match op.value.get("operationId").and_then(Value::as_str) {
        Some(id) => format!("`{id}`"),
        None => format!("the operation at {}", op.pointer),
    }
}

/// A JSON media type: `application/json` or any `+json` type, parameters ignored.
fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default();
    let essence = essence.trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// A success status key: `200`..`299` or `2XX`.
fn is_success(status: &str) -> bool {
    let rest = status.strip_prefix('2').filter(|r| r.len() == 2);
    rest.is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()) || r.eq_ignore_ascii_case("XX"))
}

fn example_problems(
    file: &str,
    spec: &Value,
    operations: &[Operation<'_>],
    problems: &mut Vec<String>,
) {
    for op in operations {
        let mut holders = Vec::new();
        if let Some(body) = op.value.get("requestBody") {
            holders.push((
                "request body".to_owned(),
                format!("{}/requestBody", op.pointer),
                body,
            ));
        }
        let responses = op.value.get("responses").and_then(Value::as_object);
        let responses = responses.into_iter().flatten();
        for (status, response) in responses.filter(|(s, _)| is_success(s)) {
            let pointer = format!("{}/responses/{}", op.pointer, pointer_token(status));
            holders.push((format!("{status} response"), pointer, response));
        }
        for (what, pointer, holder) in holders {
            let Some((pointer, holder)) = follow(spec, pointer, holder) else {
                continue;
            };
            let content = holder.get("content").and_then(Value::as_object);
            for (media_type, media) in content.into_iter().flatten() {
                let examples = media.get("examples").and_then(Value::as_object);
                let example =
                    media.get("example").is_some() || examples.is_some_and(|e| !e.is_empty());
                if is_json(media_type) && !example {
                    let at = format!("{pointer}/content/{}", pointer_token(media_type));
                    let what = format!(
                        "the JSON {what} of {} has no `example` or `examples`",
                        label(op)
                    );
                    problems.push(problem(file, &at, &what));
                }
            }
        }
    }
}

/// The component a pointer lies in, as the pointer of its entry
/// (`/components/schemas/AwsPeer`), or `None` outside the components.
fn component_of(pointer: &str) -> Option<String> {
    let mut tokens = pointer.strip_prefix('/')?.split('/');
    match (tokens.next(), tokens.next(), tokens.next()) {
        (Some("components"), Some(kind), Some(name)) if has(COMPONENT_KINDS, kind) => {
            Some(format!("/components/{kind}/{name}"))
        }
        _ => None,
    }
}

fn unused_component_problems(
    file: &str,
    spec: &Value,
    operations: &[Operation<'_>],
    problems: &mut Vec<String>,
) {
    // What points at a component: `$ref`s, discriminator mappings (a bare name is a schema's)
    // and the scheme names of `security` requirements (the document's and each operation's).
    let mut references = refs(spec);
    let descend = |key: &str| key != "example" && key != "examples" && !key.starts_with("x-");
    codegen::spec::walk_objects(spec, &descend, &mut |at, map| {
        let mapping = map.get("discriminator").and_then(|d| d.get("mapping"));
        for (name, target) in mapping.and_then(Value::as_object).into_iter().flatten() {
            let Some(target) = target.as_str() else {
                continue;
            };
            let target = if target.starts_with('#') || target.contains('/') {
                target.to_owned()
            } else {
                format!("#/components/schemas/{}", pointer_token(target))
            };
            references.push((
                format!("{at}/discriminator/mapping/{}", pointer_token(name)),
                target,
            ));
        }
    });
    let holders = operations.iter().map(|op| op.value).chain([spec]);
    let requirements = holders
        .filter_map(|h| h.get("security")?.as_array())
        .flatten();
    for name in requirements
        .filter_map(Value::as_object)
        .flat_map(Map::keys)
    {
        let scheme = format!("#/components/securitySchemes/{}", pointer_token(name));
        references.push((String::new(), scheme));
    }
    // Edges from the component that holds a reference (`None`: outside the components) to the
    // component it reaches.
    let mut edges: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
    for (at, reference) in references {
        let Some(target) = reference.strip_prefix('#').and_then(component_of) else {
            continue;
        };
        let source = component_of(&at);
        if source.as_deref() != Some(target.as_str()) {
            edges.entry(source).or_default().insert(target);
        }
    }

    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = edges.get(&None).into_iter().flatten().cloned().collect();
    while let Some(node) = queue.pop_front() {
        if used.insert(node.clone()) {
            queue.extend(edges.get(&Some(node)).into_iter().flatten().cloned());
        }
    }

    for kind in CHECKED_KINDS {
        let entries = spec.pointer(&format!("/components/{kind}"));
        let names = entries
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(Map::keys);
        for name in names.filter(|n| !n.starts_with("x-")) {
            let node = format!("/components/{kind}/{}", pointer_token(name));
            let from = edges.iter().filter(|(_, targets)| targets.contains(&node));
            let from: Vec<&str> = from.filter_map(|(source, _)| source.as_deref()).collect();
            let what = match (from.is_empty(), *kind) {
                _ if used.contains(&node) => continue,
                (false, _) => format!(
                    "unused: referenced only from unused components ({})",
                    from.join(", ")
                ),
                (true, "securitySchemes") => {
                    "unused: no `security` requirement names it and no `$ref` points at it".into()
                }
                (true, _) => "unused: no `$ref` points at it".into(),
            };
            problems.push(problem(file, &node, &what));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "spec/network-peering.yaml";

    fn spec_text() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/network-peering.yaml");
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    /// The spec with the one occurrence of `from` replaced by `to`.
    fn variant(from: &str, to: &str) -> String {
        let text = spec_text();
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` must occur once in the spec"
        );
        text.replacen(from, to, 1)
    }

    /// The spec with every occurrence (at least one) of `from` replaced by `to`.
    fn variant_all(from: &str, to: &str) -> String {
        let text = spec_text();
        assert!(text.contains(from), "`{from}` must occur in the spec");
        text.replace(from, to)
    }

    /// The round trip of spec text (which must parse).
    fn round_trip(text: &str) -> Vec<String> {
        round_trip_problems(&codegen::spec::parse(FILE, text).expect("the variant parses"))
    }

    fn json(text: &str) -> Value {
        serde_yaml::from_str(text).expect("the variant is YAML")
    }

    /// Every operationId (as openapiv3 sees them) mapped to one fixture.
    fn one_fixture_each(text: &str) -> BTreeMap<String, usize> {
        let model: openapiv3::OpenAPI = serde_yaml::from_str(text).expect("the variant parses");
        model
            .operations()
            .filter_map(|(_, _, op)| op.operation_id.clone())
            .map(|id| (id, 1))
            .collect()
    }

    fn rules(text: &str) -> Vec<String> {
        rule_problems(FILE, &json(text), &one_fixture_each(text))
    }

    const PEER_PATH: &str = "/paths/~1api~1atlas~1v1.0~1groups~1{groupId}~1peers~1{peerId}";
    const MODE_PATH: &str = "/paths/~1api~1atlas~1v1.0~1groups~1{groupId}~1privateIpMode";

    // ----- round trip -----

    #[test]
    fn real_spec_round_trips_without_problems() {
        assert_eq!(round_trip(&spec_text()), Vec::<String>::new());
    }

    #[test]
    fn misspelled_keyword_is_reported_with_its_pointer() {
        let text = variant(
            "      required: [accepterRegionName, awsAccountId",
            "      requried: [accepterRegionName, awsAccountId",
        );
        assert_eq!(
            round_trip(&text),
            vec![
                "spec/network-peering.yaml: /components/schemas/AwsPeer/requried: dropped by the \
                 OpenAPI parser (not an OpenAPI keyword?)"
            ]
        );
    }

    #[test]
    fn unknown_keyword_is_reported() {
        // `const` is JSON Schema, not OpenAPI 3.0; openapiv3 drops it.
        let text = variant(
            "          enum: [GCP]\n          description: Always `GCP`.\n        containerId:",
            "          enum: [GCP]\n          const: GCP\n          description: Always `GCP`.\n        containerId:",
        );
        assert_eq!(
            round_trip(&text),
            vec![
                "spec/network-peering.yaml: /components/schemas/GcpPeer/properties/providerName/const: \
                 dropped by the OpenAPI parser (not an OpenAPI keyword?)"
            ]
        );
    }

    #[test]
    fn dropped_openapi_keyword_is_reported_with_its_value() {
        // openapiv3 has no `xml` on schemas.
        let text = variant(
            "    FieldViolation:\n      type: object\n",
            "    FieldViolation:\n      type: object\n      xml: {name: violation}\n",
        );
        assert_eq!(
            round_trip(&text),
            vec![
                "spec/network-peering.yaml: /components/schemas/FieldViolation/xml: dropped by the \
                 OpenAPI parser (was {\"name\":\"violation\"})"
            ]
        );
    }

    #[test]
    fn sibling_of_ref_is_reported() {
        let text = variant(
            "        regionName:\n          $ref: \"#/components/schemas/AwsRegion\"\n",
            "        regionName:\n          $ref: \"#/components/schemas/AwsRegion\"\n          description: The region.\n",
        );
        let problems = round_trip(&text);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].starts_with(
                "spec/network-peering.yaml: /components/schemas/AwsContainer/properties/regionName/description: \
                 ignored next to `$ref`"
            ),
            "{problems:#?}"
        );
    }

    #[test]
    fn changed_value_is_reported_with_both_values() {
        // A `number` keeps its bounds as f64, which cannot hold 2^53 + 1.
        let text = variant(
            "        type: integer\n        format: int32\n        minimum: 1\n        maximum: 500\n",
            "        type: number\n        minimum: 1\n        maximum: 9007199254740993\n",
        );
        assert_eq!(
            round_trip(&text),
            vec![
                "spec/network-peering.yaml: /components/parameters/itemsPerPage/schema/maximum: \
                 changed by the OpenAPI parser: 9007199254740993 became 9007199254740992.0"
            ]
        );
    }

    #[test]
    fn renamed_key_is_reported_as_dropped_and_added() {
        // openapiv3 reads the range `2xx` and writes it back as `2XX`.
        let text = variant(
            "        \"202\":\n          description: Accepted;",
            "        \"2xx\":\n          description: Accepted;",
        );
        let base = format!("spec/network-peering.yaml: {PEER_PATH}/delete/responses");
        assert_eq!(
            round_trip(&text),
            vec![
                format!(
                    "{base}/2xx: dropped by the OpenAPI parser (was {{\"description\":\"Accepted; the \
                     connection is being removed. …)"
                ),
                format!(
                    "{base}/2XX: added by the OpenAPI parser: {{\"description\":\"Accepted; the \
                     connection is being removed. …"
                ),
            ]
        );
    }

    #[test]
    fn extensions_are_kept_and_not_reported() {
        let mut text = spec_text();
        for (from, to) in [
            ("openapi: 3.0.3\n", "openapi: 3.0.3\nx-generator: hand\n"),
            ("  license:\n", "  x-audience: internal\n  license:\n"),
            (
                "      operationId: listAllContainers\n",
                "      operationId: listAllContainers\n      x-sdk-name: list_all\n",
            ),
            (
                "    ObjectId:\n      type: string\n",
                "    ObjectId:\n      type: string\n      x-rust-type: {name: ObjectId, nested: [1, null, {}]}\n",
            ),
            (
                "    envelope:\n      name: envelope\n",
                "    envelope:\n      name: envelope\n      x-hidden: true\n",
            ),
            (
                "    conflict:\n      description:",
                "    conflict:\n      x-retry: false\n      description:",
            ),
            (
                "        propertyName: providerName\n        mapping:\n          AWS: \"#/components/schemas/AwsPeer\"",
                "        propertyName: providerName\n        x-open: true\n        mapping:\n          AWS: \"#/components/schemas/AwsPeer\"",
            ),
            (
                "      type: http\n",
                "      type: http\n      x-realm: MMS Public API\n",
            ),
            ("paths:\n", "paths:\n  x-group: peering\n"),
        ] {
            assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
            text = text.replacen(from, to, 1);
        }
        assert_eq!(round_trip(&text), Vec::<String>::new());
    }

    #[test]
    fn explicit_defaults_and_number_spellings_are_not_reported() {
        let mut text = spec_text();
        for (from, to) in [
            // `deprecated: false` on an operation, `nullable`/`readOnly`/`writeOnly: false` on
            // a schema, `uniqueItems: false` on an array, `minItems: 0`, `1.0` for `1`.
            (
                "      operationId: getContainer\n",
                "      operationId: getContainer\n      deprecated: false\n",
            ),
            (
                "    FieldViolation:\n      type: object\n",
                "    FieldViolation:\n      type: object\n      nullable: false\n      readOnly: false\n      writeOnly: false\n",
            ),
            (
                "          description: One entry per refused field.\n",
                "          description: One entry per refused field.\n          uniqueItems: false\n          minItems: 0\n",
            ),
            (
                "        format: int32\n        minimum: 1\n        default: 1\n",
                "        format: int32\n        minimum: 1.0\n        default: 1\n",
            ),
            // `style`/`explode` at their defaults, `allowReserved: false`, an empty `examples`.
            (
                "    pretty:\n      name: pretty\n      in: query\n",
                "    pretty:\n      name: pretty\n      in: query\n      style: form\n      explode: true\n      allowReserved: false\n      examples: {}\n",
            ),
            (
                "    peerId:\n      name: peerId\n      in: path\n",
                "    peerId:\n      name: peerId\n      in: path\n      style: simple\n",
            ),
            // `required: false` on a header, a request body's `required` unchanged.
            (
                "          description: Seconds to wait, or an HTTP date, before retrying.\n",
                "          description: Seconds to wait, or an HTTP date, before retrying.\n          required: false\n",
            ),
            // An operation with empty `tags` and `parameters`.
            (
                "      summary: Get one peering container.\n      tags: [Network Peering]\n",
                "      summary: Get one peering container.\n      tags: []\n      callbacks: {}\n      externalDocs: null\n",
            ),
        ] {
            assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
            text = text.replacen(from, to, 1);
        }
        assert_eq!(round_trip(&text), Vec::<String>::new());
    }

    #[test]
    fn meaningful_empty_and_null_values_are_reported() {
        // `example: null` is an example (of a null value); openapiv3 reads it as no example.
        let text = variant(
            "              example:\n                enabled: true\n",
            "              example: null\n",
        );
        assert_eq!(
            round_trip(&text),
            vec![format!(
                "spec/network-peering.yaml: {MODE_PATH}/get/responses/200/content/application~1json/example: \
                 dropped by the OpenAPI parser (was null)"
            )]
        );
    }

    #[test]
    fn same_number_compares_values_not_spellings() {
        let n = |t: &str| serde_json::from_str::<Number>(t).unwrap();
        assert!(same_number(&n("1"), &n("1.0")));
        assert!(same_number(&n("-3"), &n("-3.0")));
        assert!(same_number(&n("0.5"), &n("0.5")));
        assert!(!same_number(&n("1"), &n("1.5")));
        assert!(!same_number(
            &n("9007199254740993"),
            &n("9007199254740992.0")
        ));
        assert!(same_number(
            &n("18446744073709551615"),
            &n("18446744073709551615")
        ));
    }

    // ----- rules -----

    #[test]
    fn real_spec_follows_the_rules() {
        let text = spec_text();
        let fixtures = one_fixture_each(&text);
        assert_eq!(fixtures.len(), 13, "{fixtures:?}");
        assert_eq!(
            rule_problems(FILE, &json(&text), &fixtures),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_examples_are_reported() {
        let mut text = spec_text();
        for from in [
            // The 200 of getPrivateIpMode and the request body of setPrivateIpMode.
            "              example:\n                enabled: true\n",
            "            example:\n              enabled: false\n",
        ] {
            assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
            text = text.replacen(from, "", 1);
        }
        assert_eq!(
            rules(&text),
            vec![
                format!(
                    "spec/network-peering.yaml: {MODE_PATH}/get/responses/200/content/application~1json: \
                     the JSON 200 response of `getPrivateIpMode` has no `example` or `examples`"
                ),
                format!(
                    "spec/network-peering.yaml: {MODE_PATH}/patch/requestBody/content/application~1json: \
                     the JSON request body of `setPrivateIpMode` has no `example` or `examples`"
                ),
            ]
        );
    }

    #[test]
    fn missing_example_behind_a_ref_and_errors_without_examples() {
        // A 2xx response given by `$ref` is checked where it is defined; an error response
        // needs no example.
        let text = variant(
            "        \"200\":\n          description: The project's mode.\n          content:\n            application/json:\n              schema:\n                $ref: \"#/components/schemas/PrivateIpMode\"\n              example:\n                enabled: true\n",
            "        \"200\": {$ref: \"#/components/responses/mode\"}\n",
        );
        let text = text.replacen(
            "  responses:\n    badRequest:\n",
            "  responses:\n    mode:\n      description: The mode.\n      content:\n        application/json:\n          schema: {$ref: \"#/components/schemas/PrivateIpMode\"}\n    badRequest:\n",
            1,
        );
        let text = text.replacen(
            "          example:\n            detail: Unexpected error.\n",
            "          x-example:\n            detail: Unexpected error.\n",
            1,
        );
        assert_eq!(
            rules(&text),
            vec![
                "spec/network-peering.yaml: /components/responses/mode/content/application~1json: \
                 the JSON 200 response of `getPrivateIpMode` has no `example` or `examples`"
            ]
        );
    }

    #[test]
    fn operation_without_fixture_is_reported() {
        let text = spec_text();
        let mut fixtures = one_fixture_each(&text);
        fixtures.insert("getPeer".into(), 0);
        fixtures.remove("setPrivateIpMode");
        fixtures.insert("renamedAway".into(), 2);
        assert_eq!(
            rule_problems(FILE, &json(&text), &fixtures),
            vec![
                format!(
                    "spec/network-peering.yaml: {PEER_PATH}/get: operation `getPeer` has no fixture \
                     (add one under fixtures/get_peer/)"
                ),
                format!(
                    "spec/network-peering.yaml: {MODE_PATH}/patch: operation `setPrivateIpMode` has no \
                     fixture (add one under fixtures/set_private_ip_mode/)"
                ),
                "spec/network-peering.yaml: /paths: 2 fixture(s) matched to operationId \
                 `renamedAway`, which no operation has"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn unused_schema_is_reported() {
        let text = variant(
            "  schemas:\n    ObjectId:\n",
            "  schemas:\n    Orphan:\n      type: array\n      items: {$ref: \"#/components/schemas/OrphanItem\"}\n    OrphanItem:\n      type: object\n      properties:\n        next: {$ref: \"#/components/schemas/OrphanItem\"}\n    ObjectId:\n",
        );
        assert_eq!(
            rules(&text),
            vec![
                "spec/network-peering.yaml: /components/schemas/Orphan: unused: no `$ref` points at it",
                "spec/network-peering.yaml: /components/schemas/OrphanItem: unused: referenced only \
                 from unused components (/components/schemas/Orphan)",
            ]
        );
    }

    #[test]
    fn unused_parameter_response_and_security_scheme_are_reported() {
        let text = variant_all("        - $ref: \"#/components/parameters/pretty\"\n", "");
        let text = text.replace("  - DigestAuth: []\n", "");
        let text = text.replace(
            "        \"409\": {$ref: \"#/components/responses/conflict\"}\n",
            "",
        );
        assert_eq!(
            rules(&text),
            vec![
                "spec/network-peering.yaml: /components/parameters/pretty: unused: no `$ref` points at it",
                "spec/network-peering.yaml: /components/responses/conflict: unused: no `$ref` points at it",
                "spec/network-peering.yaml: /components/securitySchemes/DigestAuth: unused: no \
                 `security` requirement names it and no `$ref` points at it",
            ]
        );
    }
}
