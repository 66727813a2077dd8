//! Open enums: every named string enum of the spec becomes a Rust enum with one variant per
//! listed value and an `Unknown(String)` variant that keeps any other value as sent, so a value
//! the server adds later never fails a response.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::error::{Error, Location};

/// A named string enum of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnum {
    /// The component name, also the Rust type name.
    pub name: String,
    /// The schema's description.
    pub description: Option<String>,
    /// The listed values, in spec order.
    pub values: Vec<String>,
}

/// The Rust variant name for a wire value: `US_EAST_1` -> `UsEast1`.
pub fn variant_name(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase()).into_iter();
            first
                .chain(cs.map(|c| c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect()
}

/// Finds the named string enums under `components.schemas`.
pub fn collect(file: &str, json: &Value) -> Result<Vec<OpenEnum>, Error> {
    let mut out = Vec::new();
    let Some(schemas) = json
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Ok(out);
    };
    for (name, schema) in schemas {
        let Some(values) = schema.get("enum").and_then(Value::as_array) else {
            continue;
        };
        if schema.get("type").and_then(Value::as_str) != Some("string") {
            continue;
        }
        let at = format!("/components/schemas/{}", crate::spec::pointer_token(name));
        let unsupported = |message: String| Error::Unsupported {
            file: file.to_owned(),
            location: Location::Pointer(at.clone()),
            message,
        };
        let mut strings = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        // `null` in a nullable enum is the property's absence of a value, not a variant: the
        // property that uses the enum is `Option<Option<..>>` (see `nullable`).
        for v in values.iter().filter(|v| !v.is_null()) {
            let s = v
                .as_str()
                .ok_or_else(|| unsupported(format!("enum value {v} is not a string")))?;
            let variant = variant_name(s);
            if variant.is_empty()
                || variant == "Unknown"
                || variant.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(unsupported(format!(
                    "enum value `{s}` gives no usable Rust variant name"
                )));
            }
            if let Some(other) = seen.insert(variant.clone(), s.to_owned()) {
                return Err(unsupported(format!(
                    "enum values `{other}` and `{s}` give the same variant `{variant}`"
                )));
            }
            strings.push(s.to_owned());
        }
        out.push(OpenEnum {
            name: name.clone(),
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            values: strings,
        });
    }
    Ok(out)
}

/// The Rust code of one open enum.
pub fn emit(e: &OpenEnum, json_schema: bool) -> TokenStream {
    let name = format_ident!("{}", e.name);
    let name_str = &e.name;
    let doc = e
        .description
        .clone()
        .unwrap_or_else(|| format!("The `{}` values.", e.name));
    let variants: Vec<_> = e
        .values
        .iter()
        .map(|v| format_ident!("{}", variant_name(v)))
        .collect();
    let values = &e.values;
    let variant_docs: Vec<_> = e.values.iter().map(|v| format!("`{v}`")).collect();
    let json_schema_impl = json_schema.then(|| {
        quote! {
        impl ::schemars::JsonSchema for #name {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#name_str)
                }
                fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                    ::schemars::json_schema!({
                        "type": "string",
                        "description": #doc,
                        "examples": [ #( #values ),* ]
                    })
                }
            }
        }
    });
    quote! {
        #[doc = #doc]
        ///
        /// Open: a value this version of the spec does not list decodes into `Unknown` and is
        /// sent back exactly as received.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #( #[doc = #variant_docs] #variants, )*
            /// A value the spec does not list, kept as it was sent.
            Unknown(::std::string::String),
        }

        impl #name {
            /// Every value the spec lists, in its order.
            pub const KNOWN: &'static [&'static str] = &[ #( #values ),* ];

            /// The value as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#variants => #values, )*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Whether the spec lists this value.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::convert::From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #( #values => Self::#variants, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for #name {
            fn from(value: ::std::string::String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Unknown(_) => Self::Unknown(value),
                    known => known,
                }
            }
        }

        impl ::std::convert::From<&::std::string::String> for #name {
            fn from(value: &::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }

        #json_schema_impl
    }
}
