//! Optional nullable properties keep `null` apart from "absent"; optional arrays keep `[]`
//! apart from "absent".
//!
//! typify turns a property that is neither required nor non-nullable into `Option<T>` and skips
//! it when `None`, so a `null` the server sent would come back as a missing key. This pass turns
//! such fields into `Option<Option<T>>`: `None` is absent, `Some(None)` is `null`, `Some(Some(v))`
//! is a value; each decodes and re-encodes to exactly what was on the wire.
//!
//! Likewise typify makes an optional array a `Vec<T>` skipped when empty, so `[]` would vanish;
//! this pass makes it `Option<Vec<T>>`, so `[]` and absent stay two values on the wire.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use syn::visit_mut::VisitMut;

/// What a rewritten field becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An optional nullable property: `Option<T>` becomes `Option<Option<T>>`.
    Nullable,
    /// An optional array: `Vec<T>` becomes `Option<Vec<T>>`.
    Array,
}

/// Wire property name to [`Kind`], by type name.
pub type Targets = BTreeMap<String, BTreeMap<String, Kind>>;

/// Every optional nullable property and optional array property of the object schemas.
pub fn collect(json: &Value, skip: &BTreeSet<String>) -> Targets {
    let mut out = Targets::new();
    let Some(schemas) = json
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (name, schema) in schemas.iter().filter(|(n, _)| !skip.contains(*n)) {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (prop, prop_schema) in props {
            if required.contains(prop.as_str()) {
                continue;
            }
            // A property that is a `$ref` to a nullable schema (a nullable enum) is nullable too.
            let referenced = prop_schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| crate::spec::resolve(json, r));
            let nullable = [Some(prop_schema), referenced]
                .into_iter()
                .flatten()
                .any(|s| s.get("nullable").and_then(Value::as_bool) == Some(true));
            let kind = if nullable {
                Kind::Nullable
            } else if prop_schema.get("type").and_then(Value::as_str) == Some("array") {
                Kind::Array
            } else {
                continue;
            };
            out.entry(name.clone())
                .or_default()
                .insert(prop.clone(), kind);
        }
    }
    out
}

fn wire_name(field: &syn::Field) -> Option<String> {
    let mut name = field.ident.as_ref()?.to_string();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                name = lit.value();
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    Some(name)
}

fn wrap_in_option(ty: &syn::Type) -> syn::Type {
    syn::parse_quote!(::std::option::Option<#ty>)
}

/// Generic argument `n` of the last path segment of `ty`, if any.
fn generic_arg(ty: &mut syn::Type, n: usize) -> Option<&mut syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last_mut()?;
    let syn::PathArguments::AngleBracketed(args) = &mut seg.arguments else {
        return None;
    };
    match args.args.iter_mut().nth(n)? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

struct Pass<'a> {
    targets: &'a Targets,
    /// Second round: change the builders to match what the first round changed.
    builders: bool,
    in_builder: bool,
    /// Field idents changed in the first round, by type.
    changed_fields: BTreeMap<String, BTreeSet<String>>,
    changed: usize,
}

impl VisitMut for Pass<'_> {
    fn visit_item_mod_mut(&mut self, m: &mut syn::ItemMod) {
        let was = self.in_builder;
        if m.ident == "builder" {
            self.in_builder = true;
        }
        syn::visit_mut::visit_item_mod_mut(self, m);
        self.in_builder = was;
    }

    fn visit_item_struct_mut(&mut self, s: &mut syn::ItemStruct) {
        let ty = s.ident.to_string();
        if self.builders {
            if !self.in_builder {
                return;
            }
            let Some(idents) = self.changed_fields.get(&ty) else {
                return;
            };
            for field in s.fields.iter_mut() {
                let Some(ident) = field.ident.as_ref().map(ToString::to_string) else {
                    continue;
                };
                // Result<Option<T>, String> -> Result<Option<Option<T>>, String>
                if idents.contains(&ident)
                    && let Some(ok) = generic_arg(&mut field.ty, 0)
                {
                    *ok = wrap_in_option(ok);
                    self.changed += 1;
                }
            }
            return;
        }
        if self.in_builder {
            return;
        }
        let Some(props) = self.targets.get(&ty) else {
            return;
        };
        for field in s.fields.iter_mut() {
            let Some(wire) = wire_name(field) else {
                continue;
            };
            let Some(kind) = props.get(&wire) else {
                continue;
            };
            if let Some(ident) = field.ident.as_ref() {
                self.changed_fields
                    .entry(ty.clone())
                    .or_default()
                    .insert(ident.to_string());
            }
            field.ty = wrap_in_option(&field.ty);
            field.attrs.retain(|a| !a.path().is_ident("serde"));
            field.attrs.push(match kind {
                Kind::Nullable => syn::parse_quote! {
                    #[serde(
                        rename = #wire,
                        default,
                        skip_serializing_if = "::std::option::Option::is_none",
                        deserialize_with = "deserialize_nullable"
                    )]
                },
                Kind::Array => syn::parse_quote! {
                    #[serde(rename = #wire, default, skip_serializing_if = "::std::option::Option::is_none")]
                },
            });
            self.changed += 1;
        }
    }

    fn visit_item_impl_mut(&mut self, imp: &mut syn::ItemImpl) {
        syn::visit_mut::visit_item_impl_mut(self, imp);
        if !self.builders || !self.in_builder || imp.trait_.is_some() {
            return;
        }
        let syn::Type::Path(p) = &*imp.self_ty else {
            return;
        };
        let Some(ty) = p.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        let Some(fields) = self.changed_fields.get(&ty).cloned() else {
            return;
        };
        for item in imp.items.iter_mut() {
            let syn::ImplItem::Fn(f) = item else { continue };
            if !fields.contains(&f.sig.ident.to_string()) {
                continue;
            }
            // where T: TryInto<Option<X>>  ->  where T: TryInto<Option<Option<X>>>
            if let Some(wc) = f.sig.generics.where_clause.as_mut() {
                for pred in wc.predicates.iter_mut() {
                    let syn::WherePredicate::Type(pt) = pred else {
                        continue;
                    };
                    for bound in pt.bounds.iter_mut() {
                        let syn::TypeParamBound::Trait(tb) = bound else {
                            continue;
                        };
                        let Some(seg) = tb.path.segments.last_mut() else {
                            continue;
                        };
                        if seg.ident != "TryInto" {
                            continue;
                        }
                        if let syn::PathArguments::AngleBracketed(args) = &mut seg.arguments
                            && let Some(syn::GenericArgument::Type(t)) = args.args.first_mut()
                        {
                            *t = wrap_in_option(t);
                        }
                    }
                }
            }
        }
    }
}

/// Rewrites the generated file; returns how many fields changed, which the caller checks
/// against what it expected so that a change in typify's output cannot go unnoticed.
pub fn apply(file: &mut syn::File, targets: &Targets) -> usize {
    let mut pass = Pass {
        targets,
        builders: false,
        in_builder: false,
        changed_fields: BTreeMap::new(),
        changed: 0,
    };
    pass.visit_file_mut(file);
    pass.builders = true;
    pass.visit_file_mut(file);
    pass.changed
}

/// The helper the rewritten fields name in `deserialize_with`: `null` becomes `Some(None)`.
pub fn helper() -> proc_macro2::TokenStream {
    quote::quote! {
        fn deserialize_nullable<'de, D, T>(deserializer: D) -> ::std::result::Result<::std::option::Option<::std::option::Option<T>>, D::Error>
        where
            D: ::serde::Deserializer<'de>,
            T: ::serde::Deserialize<'de>,
        {
            <::std::option::Option<T> as ::serde::Deserialize<'de>>::deserialize(deserializer).map(::std::option::Option::Some)
        }
    }
}
