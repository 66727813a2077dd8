//! Recorded fixtures: loading, matching to spec operations, schema validation of their bodies,
//! and round-tripping the bodies through the sdk's types. Every problem is one line naming the
//! file, the JSON path and what is wrong; a run reports all of them, not only the first.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One recorded exchange, as stored in `fixtures/<operation>/<name>.json` (and as
/// `cargo xtask record` writes it: empty members are left out).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the exchange shows.
    pub description: String,
    /// Set on fixtures that break the spec on purpose (an unknown provider, an HTML error page);
    /// verification then expects a violation instead of refusing one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deliberately_violates_spec: bool,
    /// What the client sent.
    pub request: Request,
    /// What the server answered.
    pub response: Response,
}

/// The request half of a fixture.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method, upper case.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query parameters the caller set.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub query: Map<String, Value>,
    /// Relevant headers, lower-case names.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
    /// JSON body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The response half of a fixture.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Relevant headers, lower-case names.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
    /// JSON body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A non-JSON body, instead of `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

/// A fixture and the file it came from (relative to the workspace root).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `fixtures/<operation>/<name>.json`.
    pub file: String,
    /// The parsed fixture.
    pub fixture: Fixture,
}

/// Loads every `*.json` under `dir` (sorted). Files that do not parse become problems.
pub fn load_all(root: &Path, dir: &str) -> (Vec<Loaded>, Vec<String>) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    match std::fs::read_dir(root.join(dir)) {
        Ok(groups) => {
            for group in groups.flatten() {
                if let Ok(entries) = std::fs::read_dir(group.path()) {
                    files.extend(
                        entries
                            .flatten()
                            .map(|e| e.path())
                            .filter(|p| p.extension().is_some_and(|x| x == "json")),
                    );
                }
            }
        }
        Err(e) => problems.push(format!("{dir}: cannot read the fixtures folder: {e}")),
    }
    files.sort();
    let mut loaded = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{file}: cannot read: {e}"));
                continue;
            }
        };
        let mut de = serde_json::Deserializer::from_str(&text);
        match serde_path_to_error::deserialize::<_, Fixture>(&mut de) {
            Ok(fixture) => loaded.push(Loaded { file, fixture }),
            Err(e) => {
                let path = e.path().to_string();
                problems.push(format!(
                    "{file}: malformed fixture at `{path}`: {}",
                    e.into_inner()
                ));
            }
        }
    }
    (loaded, problems)
}

/// A spec operation a fixture can match.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operationId.
    pub id: String,
    /// Upper-case method.
    pub method: String,
    /// The path template.
    pub template: String,
}

/// The operations of the spec.
pub fn spec_operations(spec: &Value) -> Vec<Operation> {
    crate::operations(spec)
        .into_iter()
        .map(|(id, method, template)| Operation {
            id,
            method,
            template,
        })
        .collect()
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// How many literal segments a template has: where two templates match a path
/// (`/containers/all` and `/containers/{containerId}`), the one with more literals wins, as in
/// any router.
fn literal_segments(template: &str) -> usize {
    template.split('/').filter(|s| !s.starts_with('{')).count()
}

/// The one operation a request matches, or a problem line.
pub fn match_operation<'a>(
    file: &str,
    ops: &'a [Operation],
    request: &Request,
) -> Result<&'a Operation, String> {
    let mut found: Vec<&Operation> = ops
        .iter()
        .filter(|o| o.method == request.method && template_matches(&o.template, &request.path))
        .collect();
    if let Some(best) = found.iter().map(|o| literal_segments(&o.template)).max() {
        found.retain(|o| literal_segments(&o.template) == best);
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "{file}: `{} {}` matches no operation of the spec",
            request.method, request.path
        )),
        many => Err(format!(
            "{file}: `{} {}` matches {} operations: {}",
            request.method,
            request.path,
            many.len(),
            many.iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Turns an OpenAPI 3.0 schema into JSON Schema (draft 7): `nullable` becomes a `null` type,
/// and a `oneOf` with a discriminator mapping becomes an `if`/`then` chain on the discriminator,
/// so that an error inside the chosen variant is reported at its own path rather than as "no
/// variant matched" at the object.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) if map.contains_key("discriminator") && map.contains_key("oneOf") => {
            let property = map["discriminator"]["propertyName"]
                .as_str()
                .unwrap_or_default();
            let mut chain = serde_json::json!({ "oneOf": to_json_schema(&map["oneOf"]) });
            if let Some(mapping) = map["discriminator"]["mapping"].as_object() {
                for (value, target) in mapping.iter().rev() {
                    chain = serde_json::json!({
                        "if": { "properties": { property: { "const": value } }, "required": [property] },
                        "then": { "$ref": target },
                        "else": chain,
                    });
                }
            }
            chain
        }
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "nullable" && *k != "discriminator")
                .map(|(k, v)| (k.clone(), to_json_schema(v)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), serde_json::json!([t, "null"]));
                    if let Some(Value::Array(e)) = out.get_mut("enum") {
                        e.push(Value::Null);
                    }
                } else {
                    return serde_json::json!({ "anyOf": [Value::Object(out), { "type": "null" }] });
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// Checks a body against the schema at `schema` (an OpenAPI schema object of the spec).
fn schema_problems(spec: &Value, schema: &Value, body: &Value) -> Vec<String> {
    let root = serde_json::json!({
        "components": { "schemas": to_json_schema(&spec["components"]["schemas"]) },
        "allOf": [to_json_schema(schema)],
    });
    match jsonschema::draft7::new(&root) {
        Ok(v) => v
            .iter_errors(body)
            .map(|e| format!("`{}`: {e}", e.instance_path()))
            .collect(),
        Err(e) => vec![format!("the schema does not compile: {e}")],
    }
}

/// Resolves a `$ref` object (or returns the object itself).
fn deref<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => spec.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// The JSON schema of a request or response media type, and its component name if a `$ref`.
fn media_schema<'a>(spec: &'a Value, holder: &'a Value) -> Option<(&'a Value, Option<&'a str>)> {
    let schema = deref(spec, holder).pointer("/content/application~1json/schema")?;
    let name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"));
    Some((schema, name))
}

/// Every path at which `a` and `b` differ, with both values.
pub fn json_diff(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: Option<&Value>, b: Option<&Value>, at: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    walk(x.get(k), y.get(k), &format!("{at}/{k}"), out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    walk(x.get(i), y.get(i), &format!("{at}/{i}"), out);
                }
            }
            (x, y) if x == y => {}
            (x, y) => {
                let show = |v: Option<&Value>| v.map_or("absent".to_owned(), Value::to_string);
                out.push(format!(
                    "`{}` was {} and came back {}",
                    if at.is_empty() { "/" } else { at },
                    show(x),
                    show(y)
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(Some(a), Some(b), "", &mut out);
    out
}

/// Decodes `body` as the sdk type of schema `name`, encodes it again, and reports what changed.
/// `None` when the sdk has no type by that name.
pub fn sdk_round_trip(name: &str, body: &Value) -> Option<Result<Vec<String>, String>> {
    fn run<T: serde::de::DeserializeOwned + serde::Serialize>(
        body: &Value,
    ) -> Result<Vec<String>, String> {
        let decoded: T = serde_path_to_error::deserialize(body.clone()).map_err(|e| {
            let path = e.path().to_string();
            format!("does not decode at `{path}`: {}", e.into_inner())
        })?;
        let encoded =
            serde_json::to_value(&decoded).map_err(|e| format!("does not encode: {e}"))?;
        Ok(json_diff(body, &encoded))
    }
    use atlas_network_peering::{models, types};
    Some(match name {
        "Container" => run::<models::Container>(body),
        "Peer" => run::<models::Peer>(body),
        "ContainerPage" => run::<types::ContainerPage>(body),
        "PeerPage" => run::<types::PeerPage>(body),
        "PrivateIpMode" => run::<types::PrivateIpMode>(body),
        "ApiError" => run::<types::ApiError>(body),
        _ => return None,
    })
}

/// Verifies fixtures against the spec and the sdk. Returns every problem, one line each.
pub fn verify(spec: &Value, fixtures: &[Loaded]) -> Vec<String> {
    let ops = spec_operations(spec);
    let mut problems = Vec::new();
    for Loaded { file, fixture } in fixtures {
        let op = match match_operation(file, &ops, &fixture.request) {
            Ok(op) => op,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let operation = &spec["paths"][&op.template][op.method.to_lowercase()];
        let mut violations = Vec::new();
        let check = |side: &str,
                     holder: Option<&Value>,
                     body: &Option<Value>,
                     problems: &mut Vec<String>,
                     violations: &mut Vec<String>| {
            let Some(body) = body else { return };
            // `{}` where no body is declared is "no content" in JSON (the spec's `deletePeer`:
            // Atlas may send an empty body or an empty JSON object); the sdk ignores it.
            let declares_body = holder.and_then(|h| media_schema(spec, h)).is_some();
            if !declares_body && body.as_object().is_some_and(|o| o.is_empty()) {
                return;
            }
            let Some((schema, name)) = holder.and_then(|h| media_schema(spec, h)) else {
                violations.push(format!(
                    "{file}: the {side} has a JSON body but `{}` declares none there",
                    op.id
                ));
                return;
            };
            for v in schema_problems(spec, schema, body) {
                violations.push(format!("{file}: {side} body {v}"));
            }
            if let Some(name) = name {
                match sdk_round_trip(name, body) {
                    Some(Ok(diffs)) => problems.extend(diffs.into_iter().map(|d| {
                        format!("{file}: {side} body does not round-trip through atlas_network_peering::{name}: {d}")
                    })),
                    Some(Err(e)) => problems.push(format!("{file}: {side} body {e} (atlas_network_peering::{name})")),
                    None => {
                        problems.push(format!("{file}: no sdk type is known for schema `{name}`"))
                    }
                }
            }
        };
        check(
            "request",
            operation.get("requestBody"),
            &fixture.request.body,
            &mut problems,
            &mut violations,
        );
        let status = fixture.response.status.to_string();
        let declared = operation["responses"].get(&status);
        if declared.is_none() {
            violations.push(format!(
                "{file}: status {status} is not declared for `{}`",
                op.id
            ));
        }
        check(
            "response",
            declared,
            &fixture.response.body,
            &mut problems,
            &mut violations,
        );
        if fixture.response.body.is_some() && fixture.response.body_text.is_some() {
            problems.push(format!(
                "{file}: `response` has both `body` and `body_text`"
            ));
        }
        match (fixture.deliberately_violates_spec, violations.is_empty()) {
            (false, _) => problems.extend(violations),
            (true, true) => problems.push(format!(
                "{file}: marked deliberately_violates_spec but conforms to the spec"
            )),
            (true, false) => {}
        }
    }
    problems
}
