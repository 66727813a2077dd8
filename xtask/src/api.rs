//! The hand-written part of the sdk's public surface, read from `sdk/src` with `syn`, as lines
//! of the same record as the generated client (`surface.rs`), so that `diff` tells additive from
//! breaking changes there too.
//!
//! One line per item a consumer can name, keyed by its path from the crate root:
//!
//! ```text
//! api config::Config: struct
//! api config::Config::with_timeout: fn(mut self, timeout: Duration) -> Self
//! api error::Error: enum (non_exhaustive)
//! api error::Error::Timeout: variant { limit: TimeLimit, source: Option<reqwest::Error> }
//! api error::Error@From<crate::waiter::WaitError>: impl
//! api crate::Response: use runtime::Response
//! ```
//!
//! Modules are followed from `lib.rs` (`pub mod x;`, and `pub use` of items of private
//! modules); `pub(crate)`, private and `#[cfg(test)]` items are left out. The items a
//! `macro_rules!` of the same file writes (one arm, no repetition) are expanded by substituting
//! the invocation's arguments, so `models::Peer` is recorded like any enum.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use regex::Regex;
use syn::{Attribute, Fields, ImplItem, Item, TraitItem, UseTree, Visibility};

/// The lines of the hand-written surface of the crate whose sources are in `src` (`lib.rs` and
/// its modules). A file that cannot be read or parsed is an error naming it.
pub fn record(src: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let lib = parse(&src.join("lib.rs"))?;
    // Private modules whose items `lib.rs` re-exports (`pub use runtime::Response;`), and every
    // name the crate root re-exports (`Client`, `Config`, ...): a private module's impls on
    // those are public API too (`impl Client { pub fn from_config .. }` in `runtime`).
    let (mut private_reexports, mut root_names) = (Vec::new(), Vec::new());
    for item in &lib.items {
        if let Item::Use(u) = item
            && is_pub(&u.vis)
        {
            for (path, name) in use_leaves(&u.tree) {
                out.push(format!("api crate::{name}: use {path}"));
                root_names.push(name);
                private_reexports.extend(path.split("::").next().map(str::to_owned));
            }
        }
    }
    for item in &lib.items {
        let Item::Mod(m) = item else { continue };
        let name = m.ident.to_string();
        if m.content.is_some() || is_test(&m.attrs) {
            continue;
        }
        if is_pub(&m.vis) {
            module(src, &name, &name, &mut out)?;
        } else if private_reexports.contains(&name) {
            let mut lines = Vec::new();
            items(&module_file(src, &name)?.items, "", &mut lines, &[]);
            out.extend(lines.into_iter().filter(|l| {
                let owner = l["api ".len()..].split([':', '.', '@']).next();
                root_names.iter().any(|n| Some(n.as_str()) == owner)
            }));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse(path: &Path) -> Result<syn::File, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    syn::parse_file(&text).map_err(|e| format!("{} does not parse: {e}", path.display()))
}

/// `src/name.rs` or `src/name/mod.rs`.
fn module_file(dir: &Path, name: &str) -> Result<syn::File, String> {
    let flat = dir.join(format!("{name}.rs"));
    let nested = dir.join(name).join("mod.rs");
    parse(if flat.exists() { &flat } else { &nested })
}

/// Records the public module `name` (in `dir`), reached as `path`, and its public submodules.
fn module(dir: &Path, name: &str, path: &str, out: &mut Vec<String>) -> Result<(), String> {
    let file = module_file(dir, name)?;
    items(&file.items, path, out, &[]);
    for item in &file.items {
        if let Item::Mod(m) = item
            && m.content.is_none()
            && is_pub(&m.vis)
            && !is_test(&m.attrs)
        {
            let child = m.ident.to_string();
            module(&dir.join(name), &child, &format!("{path}::{child}"), out)?;
        }
    }
    Ok(())
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

fn is_test(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && one_line(&a.meta).contains("test"))
}

/// ` (non_exhaustive)` for an item so marked.
fn non_exhaustive(attrs: &[Attribute]) -> &'static str {
    let marked = attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
    if marked { " (non_exhaustive)" } else { "" }
}

/// Tokens on one line, spaces only where Rust needs them (`fn with_timeout(mut self, timeout:
/// Duration) -> Self`): none before `, ; ) ] < > . ? :` (so none around `::`), none after
/// `( [ < & # ! ::`, none between a name and `(` (a call or a parameter list).
pub fn one_line(tokens: &impl ToTokens) -> String {
    static TIGHT: OnceLock<[Regex; 3]> = OnceLock::new();
    let [before, after, call] = TIGHT.get_or_init(|| {
        [r" ([,;)\]<>.?:])", r"([(\[<&#!]|::) ", r"(\w) \("]
            .map(|p| Regex::new(p).expect("compiles"))
    });
    let text = tokens.to_token_stream().to_string();
    let text = before.replace_all(&text, "$1");
    let text = after.replace_all(&text, "$1");
    call.replace_all(&text, "$1(").into_owned()
}

/// The names a `use` tree brings in, each with the path it stands for:
/// `use crate::a::{B, c::D as E}` gives (`crate::a::B`, `B`) and (`crate::a::c::D`, `E`).
/// `self` in a group names the module itself; globs bring no name of their own.
fn use_leaves(tree: &UseTree) -> Vec<(String, String)> {
    fn walk(tree: &UseTree, prefix: &str, out: &mut Vec<(String, String)>) {
        match tree {
            UseTree::Path(p) => walk(&p.tree, &key(prefix, &p.ident.to_string()), out),
            UseTree::Name(n) if n.ident == "self" => {
                let name = prefix.rsplit("::").next().unwrap_or(prefix);
                out.push((prefix.to_owned(), name.to_owned()));
            }
            UseTree::Name(n) => out.push((key(prefix, &n.ident.to_string()), n.ident.to_string())),
            UseTree::Rename(r) => {
                out.push((key(prefix, &r.ident.to_string()), r.rename.to_string()));
            }
            UseTree::Glob(_) => {}
            UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, prefix, out)),
        }
    }
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

/// `path::name`, or `name` at the crate root (`path` empty).
fn key(path: &str, name: &str) -> String {
    format!("{path}::{name}").trim_start_matches(':').to_owned()
}

/// The public items among `items`, reached under `path`; `outer`: the private names of the
/// module around them (for a macro's expansion).
fn items(list: &[Item], path: &str, out: &mut Vec<String>, outer: &[String]) {
    // What the module's `use` declarations bring in (`ApiError` -> `types::ApiError`), and the
    // names a consumer cannot reach (private structs, enums, traits and modules; the runtime
    // state is public only to satisfy progenitor's trait bounds).
    let mut imports = BTreeMap::new();
    let mut private = outer.to_vec();
    private.push("Runtime".to_owned());
    let mut macros = BTreeMap::new();
    for item in list {
        let (vis, ident) = match item {
            Item::Use(u) => {
                for (path, name) in use_leaves(&u.tree) {
                    if let Some(path) = path.strip_prefix("crate::") {
                        imports.insert(name, path.to_owned());
                    }
                }
                continue;
            }
            Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {
                macros.extend(m.ident.as_ref().map(|id| (id.to_string(), m)));
                continue;
            }
            Item::Struct(s) => (&s.vis, &s.ident),
            Item::Enum(e) => (&e.vis, &e.ident),
            Item::Trait(t) => (&t.vis, &t.ident),
            Item::Mod(m) => (&m.vis, &m.ident),
            _ => continue,
        };
        if !is_pub(vis) {
            private.push(ident.to_string());
        }
    }
    // Whether `text` (a type or trait path) names one of `private`.
    let names_private = |text: &str| {
        text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| private.iter().any(|p| p == word))
    };
    let line = |name: &str, value: String| format!("api {name}: {value}");
    for item in list {
        match item {
            Item::Fn(_) | Item::Const(_) | Item::Static(_) | Item::Type(_) => {
                let (vis, ident, value) = match item {
                    Item::Fn(f) => (&f.vis, &f.sig.ident, one_line(&f.sig)),
                    Item::Const(c) => (&c.vis, &c.ident, format!("const {}", one_line(&c.ty))),
                    Item::Static(s) => (&s.vis, &s.ident, format!("static {}", one_line(&s.ty))),
                    Item::Type(t) => (&t.vis, &t.ident, format!("type = {}", one_line(&t.ty))),
                    _ => continue,
                };
                if is_pub(vis) {
                    out.push(line(&key(path, &ident.to_string()), value));
                }
            }
            Item::Struct(s) if is_pub(&s.vis) => {
                let name = key(path, &s.ident.to_string());
                let generics = one_line(&s.generics);
                out.push(line(
                    &name,
                    format!("struct{generics}{}", non_exhaustive(&s.attrs)),
                ));
                derives(&name, &s.attrs, out);
                for (i, field) in s.fields.iter().enumerate().filter(|(_, f)| is_pub(&f.vis)) {
                    let field_name = field
                        .ident
                        .as_ref()
                        .map_or(i.to_string(), ToString::to_string);
                    out.push(line(&format!("{name}.{field_name}"), one_line(&field.ty)));
                }
            }
            Item::Enum(e) if is_pub(&e.vis) => {
                let name = key(path, &e.ident.to_string());
                let marker = non_exhaustive(&e.attrs);
                out.push(line(
                    &name,
                    format!("enum{}{marker}", one_line(&e.generics)),
                ));
                derives(&name, &e.attrs, out);
                // A variant added to an exhaustive enum breaks a caller's `match`.
                let required = if marker.is_empty() {
                    crate::surface::REQUIRED
                } else {
                    ""
                };
                for v in &e.variants {
                    // Fields without their attributes (doc comments are not part of the surface).
                    let mut fields = v.fields.clone();
                    fields.iter_mut().for_each(|f| f.attrs.clear());
                    let fields = match fields {
                        Fields::Unit => String::new(),
                        other => format!(" {}", one_line(&other)),
                    };
                    out.push(line(
                        &format!("{name}::{}", v.ident),
                        format!("variant{fields}{required}"),
                    ));
                }
            }
            Item::Trait(t) if is_pub(&t.vis) => {
                let name = key(path, &t.ident.to_string());
                let supertraits = one_line(&t.supertraits);
                let colon = if supertraits.is_empty() { "" } else { ": " };
                out.push(line(&name, format!("trait{colon}{supertraits}")));
                for ti in &t.items {
                    if let TraitItem::Fn(f) = ti {
                        out.push(line(&format!("{name}::{}", f.sig.ident), one_line(&f.sig)));
                    }
                }
            }
            Item::Impl(imp) if !is_test(&imp.attrs) => {
                let ty = one_line(&imp.self_ty);
                let ty = ty.strip_prefix("crate::").unwrap_or(&ty);
                // `Response<T>`: the impl is on `Response`.
                let ty = ty.split('<').next().unwrap_or(ty);
                let trait_path = imp.trait_.as_ref().map(|(t, _)| one_line(t));
                if names_private(ty) || names_private(trait_path.as_deref().unwrap_or_default()) {
                    continue;
                }
                let owner = match imports.get(ty) {
                    Some(full) => full.clone(),
                    None if ty.contains("::") || path.is_empty() => ty.to_owned(),
                    None => key(path, ty),
                };
                if let Some(trait_path) = trait_path {
                    out.push(line(
                        &format!("{owner}@{}", trait_path.replace(' ', "")),
                        "impl".to_owned(),
                    ));
                    continue;
                }
                for ii in &imp.items {
                    match ii {
                        ImplItem::Fn(f) if is_pub(&f.vis) => {
                            out.push(line(&format!("{owner}::{}", f.sig.ident), one_line(&f.sig)));
                        }
                        ImplItem::Const(c) if is_pub(&c.vis) => {
                            out.push(line(
                                &format!("{owner}::{}", c.ident),
                                format!("const {}", one_line(&c.ty)),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            Item::Macro(call) => {
                let id = call.mac.path.get_ident().map(ToString::to_string);
                let Some((name, def)) = id.and_then(|id| macros.get_key_value(&id)) else {
                    continue;
                };
                match expand(def, &call.mac.tokens) {
                    Some(expanded) => items(&expanded.items, path, out, &private),
                    None => out.push(line(
                        &key(path, name),
                        format!("macro {} (not expanded)", one_line(&call.mac.tokens)),
                    )),
                }
            }
            _ => {}
        }
    }
}

/// `#[derive(A, B)]` as `api NAME@A: derive` lines: removing one breaks callers too.
fn derives(name: &str, attrs: &[Attribute], out: &mut Vec<String>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            out.push(format!("api {name}@{}: derive", one_line(&meta.path)));
            Ok(())
        });
    }
}

/// The items `def` (a `macro_rules!` of one arm whose pattern has no repetition) writes for
/// the invocation `args`; `None` when it cannot tell.
fn expand(def: &syn::ItemMacro, args: &TokenStream) -> Option<syn::File> {
    let arm: Vec<TokenTree> = def.mac.tokens.clone().into_iter().collect();
    let [
        TokenTree::Group(pattern),
        TokenTree::Punct(eq),
        TokenTree::Punct(gt),
        TokenTree::Group(body),
        ..,
    ] = &arm[..]
    else {
        return None;
    };
    if (eq.as_char(), gt.as_char()) != ('=', '>') {
        return None;
    }
    let pattern: Vec<TokenTree> = pattern.stream().into_iter().collect();
    let args: Vec<TokenTree> = args.clone().into_iter().collect();
    let mut bound: BTreeMap<String, TokenStream> = BTreeMap::new();
    let (mut p, mut a) = (0, 0);
    while p < pattern.len() {
        let text = |t: Option<&TokenTree>| t.map(ToString::to_string);
        match (&pattern[p], pattern.get(p + 1)) {
            (TokenTree::Punct(dollar), Some(TokenTree::Ident(var))) if dollar.as_char() == '$' => {
                // `$var:fragment`: everything up to the pattern's next literal token.
                let next = text(pattern.get(p + 4));
                let end = (a..args.len())
                    .find(|&i| text(args.get(i)) == next)
                    .unwrap_or(args.len());
                bound.insert(var.to_string(), args[a..end].iter().cloned().collect());
                (p, a) = (p + 4, end);
            }
            // A literal token (a repetition `$(...)` is not one the arguments can match).
            (literal, _) if text(args.get(a)) == text(Some(literal)) => (p, a) = (p + 1, a + 1),
            _ => return None,
        }
    }
    syn::parse2(substitute(body.stream(), &bound)).ok()
}

fn substitute(tokens: TokenStream, bound: &BTreeMap<String, TokenStream>) -> TokenStream {
    let mut out = TokenStream::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '$' => {
                if let Some(TokenTree::Ident(var)) = tokens.peek()
                    && let Some(value) = bound.get(&var.to_string())
                {
                    out.extend([TokenTree::Group(Group::new(Delimiter::None, value.clone()))]);
                    tokens.next();
                } else {
                    out.extend([TokenTree::Punct(p)]);
                }
            }
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), substitute(g.stream(), bound));
                inner.set_span(g.span());
                out.extend([TokenTree::Group(inner)]);
            }
            other => out.extend([other]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk_src() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/src")
    }

    #[test]
    fn the_hand_written_surface_is_recorded() {
        let lines = record(&sdk_src()).unwrap();
        let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
        for prefix in [
            "api crate::Config: use config::Config",
            "api crate::Response: use runtime::Response",
            "api Response: struct<T>",
            "api Response::status: fn status(&self) -> StatusCode",
            "api config::Config::with_timeout: fn with_timeout(mut self, timeout: Duration) -> Self",
            "api error::Error: enum (non_exhaustive)",
            "api error::Error::Timeout: variant {",
            "api error::Error::is_gone: fn is_gone(&self) -> bool",
            "api error::Error@From<crate::waiter::WaitError>: impl",
            "api error::Error@Debug: derive",
            "api types::ApiError::new: fn new(",
            "api error::Error::retry_after: fn retry_after(&self) -> Option<Duration>",
            "api error::Error::RepeatedPage: variant {",
            "api Client::from_config: fn from_config(config: Config) -> Result<Self, Error>",
            "api error::MAX_ERROR_BODY: const usize",
            "api pagination::ClientPaginationExt::peers: fn peers(",
            "api waiter::WaitOptions::on_poll: fn on_poll(",
            "api models::Peer: enum (non_exhaustive)",
            "api models::Peer::Unknown: variant (UnknownProvider)",
            "api models::Peer::provider_name: fn provider_name(&self) -> Option<&str>",
            "api types::AwsPeer::new: fn new(",
            "api types::ObjectId@std::fmt::Display: impl",
            "api retry::RetryPolicy::with_max_delay: fn with_max_delay(",
            "api config::Config::allow_insecure_http: fn allow_insecure_http(",
        ] {
            assert!(
                has(prefix),
                "no line starting `{prefix}`:\n{}",
                lines.join("\n")
            );
        }
        for absent in [
            "api runtime::",
            "api Runtime",
            "Runtime>",
            "@Lister",
            "@ListPage",
            "error::ApiError",
            "///",
            "api Call",
            "api error::Error::decode:",
            "auth::service_account",
            "api models::tests",
        ] {
            assert!(
                !lines.iter().any(|l| l.contains(absent)),
                "`{absent}` recorded"
            );
        }
    }

    #[test]
    fn use_trees_are_flattened_whatever_their_shape() {
        let tree: syn::ItemUse =
            syn::parse_str("use crate::a::{B, c::{self, D as E}, f::*};").unwrap();
        assert_eq!(
            use_leaves(&tree.tree),
            [
                ("crate::a::B".to_owned(), "B".to_owned()),
                ("crate::a::c".to_owned(), "c".to_owned()),
                ("crate::a::c::D".to_owned(), "E".to_owned()),
            ]
        );
    }

    #[test]
    fn a_grouped_reexport_of_a_private_module_keeps_its_impls() {
        let dir = std::env::temp_dir().join(format!("xtask-api-use-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("lib.rs"),
            "pub use inner::{Client, Other};\nmod inner;\n",
        )
        .unwrap();
        let inner = "pub struct Client;\npub struct Other;\nimpl Client {\n    pub fn from_env() -> Self { Client }\n}\n";
        std::fs::write(dir.join("inner.rs"), inner).unwrap();
        let lines = record(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for line in [
            "api crate::Client: use inner::Client",
            "api crate::Other: use inner::Other",
            "api Client::from_env: fn from_env() -> Self",
        ] {
            assert!(lines.iter().any(|l| l == line), "no `{line}` in {lines:#?}");
        }
    }

    #[test]
    fn a_removed_method_is_breaking_and_an_added_one_additive() {
        let dir = std::env::temp_dir().join(format!("xtask-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lib = "pub mod config;\n";
        let config = "pub struct Config;\nimpl Config {\n    pub fn with_timeout(self) -> Self { self }\n    pub(crate) fn hidden(&self) {}\n}\n#[cfg(test)]\nmod tests { pub fn t() {} }\n";
        std::fs::write(dir.join("lib.rs"), lib).unwrap();
        std::fs::write(dir.join("config.rs"), config).unwrap();
        let before = record(&dir).unwrap().join("\n");
        assert!(
            !before.contains("hidden") && !before.contains("api config::t"),
            "{before}"
        );
        std::fs::write(
            dir.join("config.rs"),
            config.replace("with_timeout", "with_deadline"),
        )
        .unwrap();
        let after = record(&dir).unwrap().join("\n");
        let changes = crate::surface::diff(&before, &after);
        assert_eq!(changes.len(), 2, "{changes:?}");
        let removed = changes
            .iter()
            .find(|c| c.line.contains("with_timeout"))
            .unwrap();
        assert!(removed.is_breaking());
        let added = changes
            .iter()
            .find(|c| c.line.contains("with_deadline"))
            .unwrap();
        assert!(!added.is_breaking());
        std::fs::write(dir.join("config.rs"), "not rust {").unwrap();
        let err = record(&dir).unwrap_err();
        assert!(err.contains("config.rs does not parse"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
