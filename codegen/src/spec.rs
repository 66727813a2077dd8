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

/// Every `$ref` in the document with the pointer of the object that holds it.
pub fn refs(json: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push((at.clone(), r.clone()));
                }
                for (k, child) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&pointer_token(k));
                    walk(child, at, out);
                    at.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(child, at, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(json, &mut String::new(), &mut out);
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
