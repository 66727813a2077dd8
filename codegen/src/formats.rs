//! Which schema constructs the generator takes, and what they become.
//!
//! Every `format` a schema may carry is either listed here or refused, with its place in the
//! spec, before progenitor sees it. Left to typify, `format: date-time` or `format: uuid` would
//! name the `chrono` or `uuid` crates, which the `sdk` crate does not depend on, and the build
//! would fail inside generated code.
//!
//! | `type`    | `format`                                                  | Rust type      |
//! |-----------|-----------------------------------------------------------|----------------|
//! | `string`  | `date-time`, `date`, `time`, `duration`, `uuid`, `email`, `hostname`, `ipv4`, `ipv6`, `uri`, `uri-reference`, `password`, `byte`, `binary`, ... ([`STRING_FORMATS`]) | `String`       |
//! | `integer` | `int8` ... `int64`, `uint8` ... `uint64`                  | `i8` ... `u64` (typify's own choice, `NonZero*` when `minimum: 1`) |
//! | `number`  | `float`, `double`                                         | `f64`          |
//!
//! String formats stay `String` on purpose: the sdk must give back exactly what Atlas sent,
//! and a parsed date, UUID or address is written back in its own canonical form
//! (`+00:00` becomes `Z`, an upper-case UUID becomes lower case), which would change the JSON.
//! `float` is read as `f64` for the same reason.
//!
//! A `nullable` schema must also name its `type` (OpenAPI 3.0.3 gives `nullable` no meaning
//! without it): write "an enum or null" as `type: string, nullable: true, enum: [..., null]`.

use serde_json::Value;

use crate::error::{Error, Location};

/// String formats generated as `String`.
pub const STRING_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "uuid",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "password",
    "byte",
    "binary",
];

/// Integer formats left to typify, which maps each to the Rust integer of that width.
pub const INTEGER_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
];

/// Number formats generated as `f64`.
pub const NUMBER_FORMATS: &[&str] = &["float", "double"];

/// Examples and extensions hold values, not schemas.
fn descend(key: &str) -> bool {
    key != "example" && key != "examples" && key != "default" && !key.starts_with("x-")
}

/// Every `format` the generator does not take and every `nullable` without a `type`, each
/// with its JSON pointer, in document order.
pub fn problems(file: &str, json: &Value) -> Vec<Error> {
    let mut out = Vec::new();
    let unsupported = |at: String, message: String| Error::Unsupported {
        file: file.to_owned(),
        location: Location::Pointer(at),
        message,
    };
    crate::spec::walk_objects(json, &descend, &mut |at, map| {
        let ty = map.get("type").and_then(Value::as_str);
        if let Some(Value::String(format)) = map.get("format") {
            let known = match ty {
                Some("string") => STRING_FORMATS.contains(&format.as_str()),
                Some("integer") => INTEGER_FORMATS.contains(&format.as_str()),
                Some("number") => NUMBER_FORMATS.contains(&format.as_str()),
                _ => false,
            };
            if !known {
                out.push(unsupported(
                    format!("{at}/format"),
                    format!(
                        "`format: {format}` on {} is not one the generator takes (see codegen::formats: \
                         string formats become String, integer formats int8..uint64, number formats \
                         float and double)",
                        ty.map_or("a schema without a type".to_owned(), |t| format!("type {t}"))
                    ),
                ));
            }
        }
        if map.get("nullable") == Some(&Value::Bool(true)) && ty.is_none() {
            out.push(unsupported(
                format!("{at}/nullable"),
                "`nullable` needs a `type` beside it (OpenAPI 3.0.3); for an enum or null write \
                 `type: string, nullable: true, enum: [..., null]`"
                    .into(),
            ));
        }
    });
    out
}

/// A copy of the document in which every string and number `format` is removed, so that
/// typify generates `String` and `f64` for them (see the module docs). Integer formats stay.
pub fn without_value_formats(json: &Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                let drop = matches!(
                    (map.get("type").and_then(Value::as_str), map.get("format")),
                    (Some("string" | "number"), Some(Value::String(_)))
                );
                if drop {
                    map.remove("format");
                }
                for (key, child) in map.iter_mut() {
                    if descend(key) {
                        strip(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut copy = json.clone();
    strip(&mut copy);
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_formats_and_untyped_nullables_are_named_by_pointer() {
        let doc = json!({"components": {"schemas": {
            "A": {"type": "string", "format": "date-time"},
            "B": {"type": "string", "format": "semver"},
            "C": {"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true},
            "D": {"type": "integer", "format": "date-time"},
            "E": {"type": "string", "nullable": true, "enum": ["X", null]},
            "F": {"type": "object", "example": {"format": "anything", "nullable": true}},
        }}});
        let found: Vec<String> = problems("s.yaml", &doc)
            .iter()
            .map(|e| e.location().to_string())
            .collect();
        assert_eq!(
            found,
            [
                "/components/schemas/B/format",
                "/components/schemas/C/nullable",
                "/components/schemas/D/format",
            ]
        );
    }

    #[test]
    fn value_formats_are_removed_and_integer_formats_kept() {
        let doc = json!({"a": {"type": "string", "format": "uuid", "example": {"type": "string", "format": "x"}},
                         "b": {"type": "integer", "format": "int64"},
                         "c": [{"type": "number", "format": "float"}]});
        assert_eq!(
            without_value_formats(&doc),
            json!({"a": {"type": "string", "example": {"type": "string", "format": "x"}},
                   "b": {"type": "integer", "format": "int64"},
                   "c": [{"type": "number"}]})
        );
    }
}
