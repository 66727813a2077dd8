//! Reading the spec text: YAML syntax, `$ref` resolution, and the OpenAPI shape, each failure
//! located in the file.

use crate::error::{Error, Location};
use serde_json::Value;

/// A parsed spec: the raw JSON tree (for checks the OpenAPI model does not keep) and the model.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The name the caller gave the file; it prefixes every error.
    pub file: String,
    /// The document as plain JSON.
    pub json: Value,
    /// The document as the `openapiv3` model.
    pub openapi: openapiv3::OpenAPI,
}

fn yaml_location(e: &serde_yaml::Error) -> Location {
    match e.location() {
        Some(l) => Location::LineColumn {
            line: l.line(),
            column: l.column(),
        },
        None => Location::Document,
    }
}

/// Escapes one JSON-pointer token (RFC 6901).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Parses spec text. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Spec, Error> {
    let json: Value = serde_yaml::from_str(text).map_err(|e| Error::Yaml {
        file: file.to_owned(),
        location: yaml_location(&e),
        message: e.to_string(),
    })?;
    if !json.is_object() {
        return Err(Error::NotOpenApi {
            file: file.to_owned(),
            location: Location::Document,
            message: "the top level is not a mapping".into(),
        });
    }
    check_refs(file, &json)?;
    let openapi: openapiv3::OpenAPI =
        serde_yaml::from_str(text).map_err(|e| Error::NotOpenApi {
            file: file.to_owned(),
            location: yaml_location(&e),
            message: e.to_string(),
        })?;
    if !openapi.openapi.starts_with("3.0.") {
        return Err(Error::NotOpenApi {
            file: file.to_owned(),
            location: Location::Pointer("/openapi".into()),
            message: format!("version `{}` is not 3.0.x", openapi.openapi),
        });
    }
    Ok(Spec {
        file: file.to_owned(),
        json,
        openapi,
    })
}

/// Calls `visit` with the JSON pointer and the members of every object in `json`, depth first,
/// not descending into members whose key `descend` refuses (examples, extensions, ...).
pub fn walk_objects(
    json: &Value,
    descend: &dyn Fn(&str) -> bool,
    visit: &mut dyn FnMut(&str, &serde_json::Map<String, Value>),
) {
    fn walk(
        v: &Value,
        at: &mut String,
        descend: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(&str, &serde_json::Map<String, Value>),
    ) {
        let children: Box<dyn Iterator<Item = (String, &Value)> + '_> = match v {
            Value::Object(map) => {
                visit(at, map);
                Box::new(
                    map.iter()
                        .filter(|(k, _)| descend(k))
                        .map(|(k, c)| (pointer_token(k), c)),
                )
            }
            Value::Array(items) => {
                Box::new(items.iter().enumerate().map(|(i, c)| (i.to_string(), c)))
            }
            _ => return,
        };
        for (token, child) in children {
            let len = at.len();
            at.push('/');
            at.push_str(&token);
            walk(child, at, descend, visit);
            at.truncate(len);
        }
    }
    walk(json, &mut String::new(), descend, visit);
}

/// Every `$ref` in the document with the pointer of the object that holds it.
pub fn refs(json: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_objects(json, &|_| true, &mut |at, map| {
        if let Some(Value::String(r)) = map.get("$ref") {
            out.push((at.to_owned(), r.clone()));
        }
    });
    out
}

/// Resolves a local `$ref` (`#/...`) against the document.
pub fn resolve<'a>(json: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    json.pointer(pointer)
}

/// Follows `$ref`s from `value` (at `pointer`) to the object they name, with its pointer;
/// `None` when one does not resolve or they loop.
pub fn follow<'a>(
    json: &'a Value,
    pointer: String,
    value: &'a Value,
) -> Option<(String, &'a Value)> {
    let (mut pointer, mut value) = (pointer, value);
    for _ in 0..16 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                value = resolve(json, reference)?;
                pointer = reference.trim_start_matches('#').to_owned();
            }
            None => return Some((pointer, value)),
        }
    }
    None
}

/// One operation of a spec, as plain JSON.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// Its pointer, `/paths/<escaped path>/<method>` (or where a `$ref`'d path item lies).
    pub pointer: String,
    /// The path template, `/api/atlas/v1.0/groups/{groupId}/peers`.
    pub path: &'a str,
    /// The lower-case method, `get`.
    pub method: &'static str,
    /// The path item's own `parameters`, shared by its operations.
    pub shared_parameters: Option<&'a Value>,
    /// The operation object.
    pub value: &'a Value,
}

/// The operations under `paths`, in document order; a path item given by `$ref` is followed
/// (one that does not resolve is left out: [`parse`] refuses it).
pub fn operations(json: &Value) -> Vec<Operation<'_>> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut out = Vec::new();
    let paths = json.get("paths").and_then(Value::as_object);
    for (path, item) in paths
        .into_iter()
        .flatten()
        .filter(|(p, _)| p.starts_with('/'))
    {
        let Some((base, item)) = follow(json, format!("/paths/{}", pointer_token(path)), item)
        else {
            continue;
        };
        for method in METHODS {
            if let Some(value) = item.get(method) {
                out.push(Operation {
                    pointer: format!("{base}/{method}"),
                    path,
                    method,
                    shared_parameters: item.get("parameters"),
                    value,
                });
            }
        }
    }
    out
}

fn check_refs(file: &str, json: &Value) -> Result<(), Error> {
    for (at, reference) in refs(json) {
        if !reference.starts_with("#/") {
            return Err(Error::Unsupported {
                file: file.to_owned(),
                location: Location::Pointer(at),
                message: format!(
                    "`$ref: {reference}` points outside this file; keep the spec in one file"
                ),
            });
        }
        if resolve(json, &reference).is_none() {
            return Err(Error::UnresolvedRef {
                file: file.to_owned(),
                location: Location::Pointer(at),
                reference,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_follow_path_items_given_by_ref_and_follow_stops_at_loops() {
        let doc = json!({
            "paths": {
                "/a/{id}": {"parameters": [{"name": "id"}], "get": {"operationId": "getA"},
                            "delete": {"operationId": "deleteA"}},
                "/b": {"$ref": "#/components/x-items/b"},
                "/gone": {"$ref": "#/components/x-items/missing"},
                "x-note": {"get": {}}
            },
            "components": {"x-items": {"b": {"post": {"operationId": "createB"}}},
                           "schemas": {"L": {"$ref": "#/components/schemas/L"}}}
        });
        let ops: Vec<(String, &str, &str)> = operations(&doc)
            .into_iter()
            .map(|o| (o.pointer, o.path, o.method))
            .collect();
        assert_eq!(
            ops,
            [
                ("/paths/~1a~1{id}/get".to_owned(), "/a/{id}", "get"),
                ("/paths/~1a~1{id}/delete".to_owned(), "/a/{id}", "delete"),
                ("/components/x-items/b/post".to_owned(), "/b", "post"),
            ]
        );
        assert!(operations(&doc)[0].shared_parameters.is_some());
        let looped = &doc["components"]["schemas"]["L"];
        assert!(follow(&doc, String::new(), looped).is_none());
    }
}
