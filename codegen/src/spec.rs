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

/// Where a YAML error is: its line and column when the parser gives them.
pub fn yaml_location(e: &serde_yaml::Error) -> Location {
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
