//! Rewrites of progenitor's output that take work off every call without changing what goes
//! on the wire:
//!
//! - **No `api-version` header.** progenitor adds `api-version: <info.version>` to every
//!   request. Atlas v1.0 does not read it (its versioned API uses `Accept` media types), so the
//!   header is not built at all, rather than built and then removed by the runtime.
//! - **Absent query parameters cost nothing.** progenitor adds every query parameter with
//!   `.query(..)`, which for an absent (`None`) optional one still takes the URL's query apart
//!   and puts it back. Each such call is made only when the value is present.
//! - **Ids are not percent-encoded.** A path parameter whose pattern admits only unreserved
//!   characters (RFC 3986: letters, digits, `-`, `.`, `_`, `~`), like the 24-hex ids, encodes to
//!   itself; `encode_path(&id.to_string())` (two copies and a scan) becomes `id.as_str()`.
//! - **Bodies the runtime has read are not read again.** Every JSON response is decoded by a
//!   hand-written function (`Settings::with_response_decoder`) instead of
//!   `ResponseValue::from_response`, which copies the headers and reads the body anew.
//! - **A checked id is allocated once.** A pattern-checked string newtype decodes by checking
//!   the decoded `String` and keeping it, not by `FromStr`, which copies it.
//! - **The URL is not parsed from scratch.** Every request is started by a hand-written
//!   function (`Settings::with_request_builder`) instead of `client.client.get(url)`, so that the
//!   runtime can build the URL from the base URL it parsed once.
//! - **Patterns checked by hand.** typify checks a string schema's `pattern` with a `regress`
//!   regex on every conversion and every decode. A pattern made only of fixed-width runs of
//!   ASCII character classes (`^[a-f0-9]{24}$`, `^[0-9]{12}$`) is a length check and a byte
//!   check; such patterns are compiled to that, and the generated crate needs no regex engine.
//!   The generator refuses any other pattern ([`compiles`]), naming where it is, rather than
//!   leave a dependency the sdk does not carry.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;

/// Removes every `header_map.append(HeaderName::from_static("api-version"), ...)` statement;
/// returns how many were removed (one per operation).
pub fn drop_api_version_header(file: &mut syn::File) -> usize {
    struct Dropper(usize);
    impl VisitMut for Dropper {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            block.stmts.retain(|stmt| !is_api_version_append(stmt));
            let dropped = before - block.stmts.len();
            if dropped > 0 {
                // progenitor sized the map for the header it no longer holds.
                block
                    .stmts
                    .iter_mut()
                    .for_each(|stmt| shrink_header_map(stmt, dropped));
            }
            self.0 += dropped;
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    let mut dropper = Dropper(0);
    dropper.visit_file_mut(file);
    dropper.0
}

/// In `let mut header_map = HeaderMap::with_capacity(N);`, makes the capacity `N - by` (a map
/// of capacity 0 does not allocate).
fn shrink_header_map(stmt: &mut syn::Stmt, by: usize) {
    let syn::Stmt::Local(local) = stmt else {
        return;
    };
    let syn::Pat::Ident(name) = &local.pat else {
        return;
    };
    if name.ident != "header_map" {
        return;
    }
    let Some(syn::Expr::Call(call)) = local.init.as_mut().map(|init| &mut *init.expr) else {
        return;
    };
    let is_with_capacity = matches!(&*call.func, syn::Expr::Path(p)
        if p.path.segments.last().is_some_and(|s| s.ident == "with_capacity"));
    if let (
        true,
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(n),
            ..
        })),
    ) = (is_with_capacity, call.args.first_mut())
        && let Ok(value) = n.base10_parse::<usize>()
    {
        *n = syn::LitInt::new(&value.saturating_sub(by).to_string(), n.span());
    }
}

fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    if call.method != "append" {
        return false;
    }
    let Some(syn::Expr::Call(name)) = call.args.first() else {
        return false;
    };
    matches!(
        name.args.first(),
        Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) if s.value() == "api-version"
    )
}

/// Wraps every `R.query(&progenitor_client::QueryParam::new("name", &value))` whose `name` is in
/// `optional` as `{ let builder = R; if value.is_some() { builder.query(..) } else { builder } }`;
/// returns how many calls were wrapped. A parameter named in `optional` must be an `Option` in
/// the generated code (the build fails otherwise), so only never-required parameters belong
/// there.
pub fn skip_absent_query_params(
    file: &mut syn::File,
    optional: &std::collections::BTreeSet<String>,
) -> usize {
    struct Wrapper<'a>(&'a std::collections::BTreeSet<String>, usize);
    impl VisitMut for Wrapper<'_> {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            // Receivers first: a chain of `.query(..)` calls nests inside out.
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::MethodCall(call) = expr else {
                return;
            };
            if call.method != "query" || call.args.len() != 1 {
                return;
            }
            let Some(value) = optional_query_value(&call.args[0], self.0) else {
                return;
            };
            let receiver = &call.receiver;
            let arg = &call.args[0];
            *expr = syn::parse_quote! {
                {
                    let builder = #receiver;
                    if #value.is_some() { builder.query(#arg) } else { builder }
                }
            };
            self.1 += 1;
        }
    }
    let mut wrapper = Wrapper(optional, 0);
    wrapper.visit_file_mut(file);
    wrapper.1
}

/// For `&progenitor_client::QueryParam::new("name", &value)` with `name` in `optional`, the
/// expression `value`.
fn optional_query_value(
    arg: &syn::Expr,
    optional: &std::collections::BTreeSet<String>,
) -> Option<syn::Expr> {
    let syn::Expr::Reference(reference) = arg else {
        return None;
    };
    let syn::Expr::Call(new) = &*reference.expr else {
        return None;
    };
    let syn::Expr::Path(function) = &*new.func else {
        return None;
    };
    let names: Vec<String> = function
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !names.ends_with(&["QueryParam".to_owned(), "new".to_owned()]) || new.args.len() != 2 {
        return None;
    }
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(name),
        ..
    }) = &new.args[0]
    else {
        return None;
    };
    if !optional.contains(&name.value()) {
        return None;
    }
    match &new.args[1] {
        syn::Expr::Reference(value) => Some((*value.expr).clone()),
        _ => None,
    }
}

/// Whether every string `pattern` admits is made of unreserved URL characters only, so that
/// percent-encoding it changes nothing. `false` for a pattern [`compiles`] refuses.
pub fn pattern_is_url_safe(pattern: &str) -> bool {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    parse(pattern).is_some_and(|runs| {
        runs.iter()
            .flat_map(|run| &run.bytes)
            .all(|&(lo, hi)| (lo..=hi).all(unreserved))
    })
}

/// Replaces every `encode_path(&name.to_string())` whose `name` is in `safe` (path parameters
/// whose values [`pattern_is_url_safe`] vouches for) with `name.as_str()`; returns how many.
pub fn skip_path_encoding(
    file: &mut syn::File,
    safe: &std::collections::BTreeSet<String>,
) -> usize {
    struct Skipper<'a>(&'a std::collections::BTreeSet<String>, usize);
    impl VisitMut for Skipper<'_> {
        // progenitor builds the URL with `format!`, whose arguments syn keeps as raw tokens.
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            if !mac.path.is_ident("format") {
                return;
            }
            type Args = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
            let Ok(mut args) = mac.parse_body_with(Args::parse_terminated) else {
                return;
            };
            for arg in &mut args {
                self.visit_expr_mut(arg);
            }
            mac.tokens = quote!(#args);
        }

        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::Call(call) = expr else {
                return;
            };
            let is_encode_path = matches!(&*call.func, syn::Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == "encode_path"));
            if !is_encode_path || call.args.len() != 1 {
                return;
            }
            let syn::Expr::Reference(reference) = &call.args[0] else {
                return;
            };
            let syn::Expr::MethodCall(to_string) = &*reference.expr else {
                return;
            };
            let syn::Expr::Path(name) = &*to_string.receiver else {
                return;
            };
            if to_string.method != "to_string"
                || !name
                    .path
                    .get_ident()
                    .is_some_and(|i| self.0.contains(&i.to_string()))
            {
                return;
            }
            let name = name.clone();
            *expr = syn::parse_quote!(#name.as_str());
            self.1 += 1;
        }
    }
    let mut skipper = Skipper(safe, 0);
    skipper.visit_file_mut(file);
    skipper.1
}

/// One run of a pattern: a set of ASCII bytes, repeated between `min` and `max` times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    bytes: Vec<(u8, u8)>,
    min: usize,
    max: usize,
}

/// A run's `max` for `+` and `*`.
const UNBOUNDED: usize = usize::MAX;

/// Whether the generator can compile `pattern` (see [`parse`]).
pub fn compiles(pattern: &str) -> bool {
    parse(pattern).is_some()
}

/// Reads a pattern of the form `^` run+ `$`, where a run is a class `[...]` or a single ASCII
/// letter, digit, `-` or `_`, followed by nothing, `{n}`, `{m,n}`, `+` or `*`; a class holds
/// ASCII letters, digits, `-` and `_` and ranges of them. Only the last run may vary in length,
/// so that matching needs no backtracking. Anything else gives `None`.
fn parse(pattern: &str) -> Option<Vec<Run>> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let bytes = body.as_bytes();
    let literal = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let set = if bytes[i] == b'[' {
            let end = i + 1 + body[i + 1..].find(']')?;
            let class = &bytes[i + 1..end];
            i = end + 1;
            parse_class(class, literal)?
        } else if literal(bytes[i]) {
            i += 1;
            vec![(bytes[i - 1], bytes[i - 1])]
        } else {
            return None;
        };
        let (min, max) = if bytes.get(i) == Some(&b'+') {
            i += 1;
            (1, UNBOUNDED)
        } else if bytes.get(i) == Some(&b'*') {
            i += 1;
            (0, UNBOUNDED)
        } else if bytes.get(i) == Some(&b'{') {
            let end = i + 1 + body[i + 1..].find('}')?;
            let counts = &body[i + 1..end];
            i = end + 1;
            match counts.split_once(',') {
                Some((m, n)) => (m.parse().ok()?, n.parse().ok()?),
                None => {
                    let n = counts.parse().ok()?;
                    (n, n)
                }
            }
        } else {
            (1, 1)
        };
        if min > max || max == 0 || (max > 4096 && max != UNBOUNDED) {
            return None;
        }
        runs.push(Run {
            bytes: set,
            min,
            max,
        });
    }
    let varying = runs.iter().filter(|r| r.min != r.max).count();
    let last_varies = runs.last().is_some_and(|r| r.min != r.max);
    if runs.is_empty() || varying > 1 || (varying == 1 && !last_varies) {
        return None;
    }
    Some(runs)
}

fn parse_class(class: &[u8], literal: impl Fn(u8) -> bool) -> Option<Vec<(u8, u8)>> {
    if class.is_empty() || class[0] == b'^' {
        return None;
    }
    let mut set = Vec::new();
    let mut j = 0;
    while j < class.len() {
        let lo = class[j];
        if !literal(lo) {
            return None;
        }
        if class.get(j + 1) == Some(&b'-') && j + 2 < class.len() {
            let hi = class[j + 2];
            if !literal(hi) || hi < lo || lo == b'-' || hi == b'-' {
                return None;
            }
            set.push((lo, hi));
            j += 3;
        } else {
            set.push((lo, lo));
            j += 1;
        }
    }
    Some(set)
}

/// The expression `true` exactly when the `&str` named `value` matches `runs`.
fn check(runs: &[Run]) -> TokenStream {
    use proc_macro2::Literal;
    let fixed: usize = runs.iter().map(|r| r.min).sum();
    let extra = runs.last().map_or(0, |r| r.max.saturating_sub(r.min));
    let mut parts = Vec::new();
    let mut at = 0usize;
    for run in runs {
        let ranges = run.bytes.iter().map(|&(lo, hi)| {
            let (lo_lit, hi_lit) = (Literal::byte_character(lo), Literal::byte_character(hi));
            if lo == hi {
                quote!(#lo_lit)
            } else {
                quote!(#lo_lit..=#hi_lit)
            }
        });
        let start = Literal::usize_unsuffixed(at);
        let class = quote!(|b: &u8| matches!(*b, #(#ranges)|*));
        if run.min == run.max {
            at += run.min;
            let end = Literal::usize_unsuffixed(at);
            parts.push(quote!(bytes[#start..#end].iter().all(#class)));
        } else {
            parts.push(quote!(bytes[#start..].iter().all(#class)));
        }
    }
    let length = if extra == 0 {
        let fixed = Literal::usize_unsuffixed(fixed);
        quote!(bytes.len() == #fixed)
    } else if runs.last().is_some_and(|r| r.max == UNBOUNDED) {
        let min = Literal::usize_unsuffixed(fixed);
        quote!(bytes.len() >= #min)
    } else {
        let (min, max) = (
            Literal::usize_unsuffixed(fixed),
            Literal::usize_unsuffixed(fixed + extra),
        );
        quote!((#min..=#max).contains(&bytes.len()))
    };
    quote! {
        {
            let bytes = value.as_bytes();
            #length #(&& #parts)*
        }
    }
}

/// Replaces typify's `regress` check in every `FromStr` whose pattern [`parse`] can read with
/// the equivalent byte check; returns the patterns compiled (by type name) and those left to
/// `regress`.
pub fn compile_patterns(file: &mut syn::File) -> (Vec<String>, Vec<String>) {
    struct Compiler {
        compiled: Vec<String>,
        kept: Vec<String>,
    }
    impl VisitMut for Compiler {
        fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
            let is_from_str = item
                .trait_
                .as_ref()
                .and_then(|(path, _)| path.segments.last())
                .is_some_and(|s| s.ident == "FromStr");
            if !is_from_str {
                return syn::visit_mut::visit_item_impl_mut(self, item);
            }
            let name = match &*item.self_ty {
                syn::Type::Path(p) => p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            for impl_item in &mut item.items {
                let syn::ImplItem::Fn(f) = impl_item else {
                    continue;
                };
                let Some(pattern) = regex_static(&f.block) else {
                    continue;
                };
                match parse(&pattern) {
                    Some(runs) => {
                        let check = check(&runs);
                        f.block.stmts.retain(|s| !is_pattern_static(s));
                        let mut swap = SwapFind(check, 0);
                        swap.visit_block_mut(&mut f.block);
                        if swap.1 == 1 {
                            self.compiled.push(name.clone());
                        } else {
                            self.kept.push(format!("{name} (unexpected shape)"));
                        }
                    }
                    None => self.kept.push(name.clone()),
                }
            }
        }
    }
    let mut compiler = Compiler {
        compiled: Vec::new(),
        kept: Vec::new(),
    };
    compiler.visit_file_mut(file);
    (compiler.compiled, compiler.kept)
}

/// The regex text of a `static PATTERN: ... = ... Regex::new("...") ...;` in `block`.
fn regex_static(block: &syn::Block) -> Option<String> {
    block.stmts.iter().find_map(|stmt| {
        if !is_pattern_static(stmt) {
            return None;
        }
        let syn::Stmt::Item(syn::Item::Static(s)) = stmt else {
            return None;
        };
        let mut finder = StrLit(None);
        syn::visit_mut::VisitMut::visit_expr_mut(&mut finder, &mut (*s.expr).clone());
        finder.0
    })
}

fn is_pattern_static(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Item(syn::Item::Static(s)) if s.ident == "PATTERN")
}

/// The first string literal inside an expression.
struct StrLit(Option<String>);
impl VisitMut for StrLit {
    fn visit_lit_str_mut(&mut self, lit: &mut syn::LitStr) {
        self.0.get_or_insert_with(|| lit.value());
    }
}

/// Replaces `PATTERN.find(value).is_none()` with `!(check)`; counts replacements.
struct SwapFind(TokenStream, usize);
impl VisitMut for SwapFind {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::MethodCall(outer) = expr
            && outer.method == "is_none"
            && let syn::Expr::MethodCall(find) = &*outer.receiver
            && find.method == "find"
            && matches!(&*find.receiver, syn::Expr::Path(p) if p.path.is_ident("PATTERN"))
        {
            let check = &self.0;
            *expr = syn::parse_quote!(!#check);
            self.1 += 1;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// For each type in `checked` (a pattern-checked string newtype whose `FromStr` starts with
/// the compiled check), makes `TryFrom<String>` check the string and keep it, instead of going
/// through `FromStr` (which copies it), and makes `Deserialize` use that `TryFrom<String>`:
/// a decoded id is then allocated once, not twice. Returns how many impls were rewritten (two
/// per type).
pub fn keep_checked_strings(file: &mut syn::File, checked: &[String]) -> usize {
    /// The check statement (`if !{..} { return Err(..) }`) at the top of each type's `FromStr`.
    struct Checks<'a>(&'a [String], Vec<(String, syn::Stmt)>);
    impl VisitMut for Checks<'_> {
        fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
            if let Some(name) = impl_of(item, "FromStr").filter(|n| self.0.contains(n))
                && let Some(syn::ImplItem::Fn(f)) = item
                    .items
                    .iter()
                    .find(|i| matches!(i, syn::ImplItem::Fn(_)))
                && let Some(stmt @ syn::Stmt::Expr(syn::Expr::If(_), _)) = f.block.stmts.first()
            {
                self.1.push((name, stmt.clone()));
            }
            syn::visit_mut::visit_item_impl_mut(self, item);
        }
    }
    struct Rewrite(Vec<(String, syn::Stmt)>, usize);
    impl VisitMut for Rewrite {
        fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
            let check = |name: &str| self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s);
            let from_string = impl_of(item, "TryFrom").filter(|_| {
                item.trait_
                    .as_ref()
                    .is_some_and(|(path, _)| quote!(#path).to_string().contains("String"))
            });
            if let Some(stmt) = from_string.as_deref().and_then(check).cloned()
                && let Some(syn::ImplItem::Fn(f)) = item
                    .items
                    .iter_mut()
                    .find(|i| matches!(i, syn::ImplItem::Fn(_)))
            {
                f.block = syn::parse_quote!({
                    #stmt
                    Ok(Self(value))
                });
                self.1 += 1;
                return;
            }
            if impl_of(item, "Deserialize")
                .as_deref()
                .and_then(check)
                .is_some()
            {
                let mut swap = SwapParse(0);
                swap.visit_item_impl_mut(item);
                self.1 += swap.0;
                return;
            }
            syn::visit_mut::visit_item_impl_mut(self, item);
        }
    }
    /// `String::deserialize(deserializer)?.parse()` becomes a `TryFrom<String>`.
    struct SwapParse(usize);
    impl VisitMut for SwapParse {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            if let syn::Expr::MethodCall(call) = expr
                && call.method == "parse"
                && call.args.is_empty()
            {
                let receiver = &call.receiver;
                *expr = syn::parse_quote!(
                    <Self as ::std::convert::TryFrom<::std::string::String>>::try_from(#receiver)
                );
                self.0 += 1;
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut checks = Checks(checked, Vec::new());
    checks.visit_file_mut(file);
    let mut rewrite = Rewrite(checks.1, 0);
    rewrite.visit_file_mut(file);
    rewrite.1
}

/// The name of the type `item` implements the trait `trait_name` for.
fn impl_of(item: &syn::ItemImpl, trait_name: &str) -> Option<String> {
    let (path, _) = item.trait_.as_ref()?;
    if path.segments.last()?.ident != trait_name {
        return None;
    }
    match &*item.self_ty {
        syn::Type::Path(p) => Some(p.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

/// Replaces every `client.client.get(url)` (and `post`, `put`, `patch`, `delete`) with
/// `builder(client, ::reqwest::Method::GET, url)`; returns how many were replaced.
pub fn swap_request_builder(file: &mut syn::File, builder: &syn::Path) -> usize {
    struct Swap<'a>(&'a syn::Path, usize);
    impl VisitMut for Swap<'_> {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            if let syn::Expr::MethodCall(call) = expr
                && let Some(method) = match call.method.to_string().as_str() {
                    "get" => Some(quote!(GET)),
                    "post" => Some(quote!(POST)),
                    "put" => Some(quote!(PUT)),
                    "patch" => Some(quote!(PATCH)),
                    "delete" => Some(quote!(DELETE)),
                    _ => None,
                }
                && call.args.len() == 1
                && matches!(&call.args[0], syn::Expr::Path(p) if p.path.is_ident("url"))
                && let syn::Expr::Field(field) = &*call.receiver
                && matches!(&field.member, syn::Member::Named(m) if m == "client")
                && matches!(&*field.base, syn::Expr::Path(p) if p.path.is_ident("client"))
            {
                let builder = self.0;
                *expr = syn::parse_quote!(#builder(client, ::reqwest::Method::#method, url));
                self.1 += 1;
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut swap = Swap(builder, 0);
    swap.visit_file_mut(file);
    swap.1
}

/// Turns the usage snippets progenitor writes into each operation's docs (```` ```ignore ````
/// blocks, which rustdoc lists as ignored tests: they name variables nothing defines) into
/// ```` ```text ```` blocks, which are shown the same and are not tests; returns how many.
pub fn snippets_as_text(file: &mut syn::File) -> usize {
    struct Snippets(usize);
    impl VisitMut for Snippets {
        fn visit_attribute_mut(&mut self, attr: &mut syn::Attribute) {
            if let syn::Meta::NameValue(doc) = &mut attr.meta
                && doc.path.is_ident("doc")
                && let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) = &mut doc.value
                && text.value().contains("```ignore")
            {
                let value = text.value();
                self.0 += value.matches("```ignore").count();
                *text = syn::LitStr::new(&value.replace("```ignore", "```text"), text.span());
            }
        }
    }
    let mut snippets = Snippets(0);
    snippets.visit_file_mut(file);
    snippets.0
}

/// Replaces every `ResponseValue::from_response(response)` call with `decoder(response)`;
/// returns how many were replaced.
pub fn swap_response_decoder(file: &mut syn::File, decoder: &syn::Path) -> usize {
    struct Swap<'a>(&'a syn::Path, usize);
    impl VisitMut for Swap<'_> {
        fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
            if let syn::Expr::Path(f) = &*call.func
                && f.path.segments.len() == 2
                && f.path.segments[0].ident == "ResponseValue"
                && f.path.segments[1].ident == "from_response"
            {
                let decoder = self.0;
                *call.func = syn::parse_quote!(#decoder);
                self.1 += 1;
            }
            syn::visit_mut::visit_expr_call_mut(self, call);
        }
    }
    let mut swap = Swap(decoder, 0);
    swap.visit_file_mut(file);
    swap.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[(u8, u8)], min: usize, max: usize) -> Run {
        Run {
            bytes: bytes.to_vec(),
            min,
            max,
        }
    }

    #[test]
    fn reads_fixed_width_class_patterns() {
        assert_eq!(
            parse("^[a-f0-9]{24}$"),
            Some(vec![run(&[(b'a', b'f'), (b'0', b'9')], 24, 24)])
        );
        assert_eq!(
            parse("^[0-9]{12}$"),
            Some(vec![run(&[(b'0', b'9')], 12, 12)])
        );
        assert_eq!(
            parse("^vpc-[a-f0-9]{8,17}$"),
            Some(vec![
                run(&[(b'v', b'v')], 1, 1),
                run(&[(b'p', b'p')], 1, 1),
                run(&[(b'c', b'c')], 1, 1),
                run(&[(b'-', b'-')], 1, 1),
                run(&[(b'a', b'f'), (b'0', b'9')], 8, 17),
            ])
        );
    }

    #[test]
    fn leaves_other_patterns_to_the_regex() {
        for pattern in [
            "[a-f0-9]{24}",         // not anchored
            "^[a-f0-9]{24}",        // no end anchor
            "^[a-f]+[0-9]$",        // unbounded run not last
            "^[^a-f]{3}$",          // negated class
            "^[a-f0-9]{3,2}$",      // empty range
            "^[a-f]{2,3}[0-9]{4}$", // varying run not last
            "^(ab){2}$",            // group
            "^a|b$",                // alternation
            "^[\\d]{3}$",           // escape
            "^[z-a]{3}$",           // reversed range
            "^$",                   // nothing to match
            "^[a-f]{0}$",           // zero width
        ] {
            assert_eq!(parse(pattern), None, "{pattern}");
        }
    }

    /// The compiled check accepts and refuses what the regex does, on strings around the edges.
    #[test]
    fn compiled_check_agrees_with_the_regex() {
        for pattern in [
            "^[a-f0-9]{24}$",
            "^[0-9]{12}$",
            "^vpc-[a-f0-9]{8,17}$",
            "^[A-Z_]{1,3}$",
            "^pcx-[a-z0-9]+$",
            "^g[a-z0-9-]*$",
        ] {
            let runs = parse(pattern).unwrap();
            let regex = regress::Regex::new(pattern).unwrap();
            let mut samples = vec![String::new()];
            for len in 0..30 {
                for fill in ["a", "0", "f", "g", "A", "_", "-", "9", "é", "/"] {
                    samples.push(fill.repeat(len));
                    samples.push(format!("vpc-{}", fill.repeat(len)));
                    samples.push(format!("pcx-{}", fill.repeat(len)));
                    samples.push(format!("g{}", fill.repeat(len)));
                    samples.push(format!("{}x", "0".repeat(len)));
                }
            }
            samples.push("65c1d2e3f4a5b6c7d8e9f0a1".into());
            samples.push("65C1D2E3F4A5B6C7D8E9F0A1".into());
            samples.push("418273645091".into());
            samples.push("vpc-07e3c5a9b1d2f4e68".into());
            for value in &samples {
                assert_eq!(
                    matches(&runs, value),
                    regress::Regex::find(&regex, value).is_some(),
                    "{pattern} on {value:?}"
                );
            }
        }
    }

    /// What the generated check computes, evaluated here on `runs` directly.
    fn matches(runs: &[Run], value: &str) -> bool {
        let bytes = value.as_bytes();
        let fixed: usize = runs.iter().map(|r| r.min).sum();
        let extra = runs.last().map_or(0, |r| r.max.saturating_sub(r.min));
        if !(fixed..=fixed.saturating_add(extra)).contains(&bytes.len()) {
            return false;
        }
        let mut at = 0;
        runs.iter().all(|run| {
            let slice = if run.min == run.max {
                &bytes[at..at + run.min]
            } else {
                &bytes[at..]
            };
            at += run.min;
            slice
                .iter()
                .all(|b| run.bytes.iter().any(|&(lo, hi)| (lo..=hi).contains(b)))
        })
    }

    #[test]
    fn usage_snippets_become_text_blocks() {
        let mut file: syn::File = syn::parse_quote! {
            impl Client {
                #[doc = "Gets a peer\n\n```ignore\nlet response = client.get_peer()\n    .send()\n    .await;\n```"]
                pub fn get_peer(&self) {}
                /// Not a snippet: `ignore` alone stays.
                pub fn other(&self) {}
            }
        };
        assert_eq!(snippets_as_text(&mut file), 1);
        let text = prettyplease::unparse(&file);
        assert!(!text.contains("```ignore"), "{text}");
        assert!(
            text.contains("```text\nlet response = client.get_peer()"),
            "{text}"
        );
        assert!(text.contains("`ignore` alone stays"), "{text}");
    }

    #[test]
    fn rewrites_the_from_str_of_a_generated_newtype() {
        let mut file: syn::File = syn::parse_quote! {
            impl ::std::str::FromStr for ObjectId {
                type Err = self::error::ConversionError;
                fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                    static PATTERN: ::std::sync::LazyLock<::regress::Regex> =
                        ::std::sync::LazyLock::new(|| { ::regress::Regex::new("^[a-f0-9]{24}$").unwrap() });
                    if PATTERN.find(value).is_none() {
                        return Err("doesn't match pattern \"^[a-f0-9]{24}$\"".into());
                    }
                    Ok(Self(value.to_string()))
                }
            }
            impl ::std::str::FromStr for Odd {
                type Err = self::error::ConversionError;
                fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                    static PATTERN: ::std::sync::LazyLock<::regress::Regex> =
                        ::std::sync::LazyLock::new(|| { ::regress::Regex::new("^(a|b)+$").unwrap() });
                    if PATTERN.find(value).is_none() {
                        return Err("no".into());
                    }
                    Ok(Self(value.to_string()))
                }
            }
        };
        let (compiled, kept) = compile_patterns(&mut file);
        assert_eq!(compiled, ["ObjectId"]);
        assert_eq!(kept, ["Odd"]);
        let text = prettyplease::unparse(&file);
        let object_id = &text[..text.find("for Odd").unwrap()];
        assert!(!object_id.contains("regress"), "{object_id}");
        assert!(object_id.contains("doesn't match pattern"), "{object_id}");
        assert!(text[text.find("for Odd").unwrap()..].contains("regress"));
    }

    #[test]
    fn checked_strings_are_kept_not_copied() {
        let mut file: syn::File = syn::parse_quote! {
            impl ::std::str::FromStr for ObjectId {
                type Err = self::error::ConversionError;
                fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                    if !{ value.as_bytes().len() == 24 } {
                        return Err("doesn't match pattern".into());
                    }
                    Ok(Self(value.to_string()))
                }
            }
            impl ::std::convert::TryFrom<::std::string::String> for ObjectId {
                type Error = self::error::ConversionError;
                fn try_from(value: ::std::string::String) -> ::std::result::Result<Self, self::error::ConversionError> {
                    value.parse()
                }
            }
            impl ::std::convert::TryFrom<&str> for ObjectId {
                type Error = self::error::ConversionError;
                fn try_from(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                    value.parse()
                }
            }
            impl<'de> ::serde::Deserialize<'de> for ObjectId {
                fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
                where D: ::serde::Deserializer<'de> {
                    ::std::string::String::deserialize(deserializer)?
                        .parse()
                        .map_err(|e: self::error::ConversionError| <D::Error as ::serde::de::Error>::custom(e.to_string()))
                }
            }
            impl<'de> ::serde::Deserialize<'de> for Unchecked {
                fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
                where D: ::serde::Deserializer<'de> {
                    ::std::string::String::deserialize(deserializer)?.parse().map_err(|e| todo!())
                }
            }
        };
        assert_eq!(keep_checked_strings(&mut file, &["ObjectId".to_owned()]), 2);
        let text = prettyplease::unparse(&file);
        let impl_text = |header: &str| {
            let start = text.find(header).unwrap();
            let end = text[start + 1..]
                .find("impl")
                .map_or(text.len(), |e| start + 1 + e);
            text[start..end].to_owned()
        };
        let owned = impl_text("impl ::std::convert::TryFrom<::std::string::String> for ObjectId");
        assert!(owned.contains("Ok(Self(value))"), "{owned}");
        assert!(owned.contains("doesn't match pattern"), "{owned}");
        assert!(!owned.contains("parse"), "{owned}");
        // `TryFrom<&str>` must copy; it keeps going through `FromStr`.
        assert!(impl_text("TryFrom<&str> for ObjectId").contains("value.parse()"));
        let de = impl_text("impl<'de> ::serde::Deserialize<'de> for ObjectId");
        let compact: String = de.split_whitespace().collect();
        assert!(
            compact.contains("TryFrom<::std::string::String,>>::try_from"),
            "{de}"
        );
        assert!(!de.contains(".parse()"), "{de}");
        assert!(impl_text("for Unchecked").contains(".parse()"));
    }

    #[test]
    fn requests_start_from_the_builder() {
        let mut file: syn::File = syn::parse_quote! {
            async fn send() {
                let a = client.client.get(url).header(ACCEPT, json);
                let b = client.client.patch(url);
                let c = client.client.delete(url).build()?;
                let d = other.client.get(url);
                let e = client.client.get(other_url);
                let f = client.get(url);
            }
        };
        let builder: syn::Path =
            syn::parse_quote!(::atlas_network_peering::runtime::request_builder);
        assert_eq!(swap_request_builder(&mut file, &builder), 3);
        let text: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(
            text.contains("leta=::atlas_network_peering::runtime::request_builder(client,::reqwest::Method::GET,url).header(ACCEPT,json)"),
            "{text}"
        );
        assert!(text.contains("::reqwest::Method::PATCH,url)"), "{text}");
        assert!(
            text.contains("::reqwest::Method::DELETE,url).build()?"),
            "{text}"
        );
        assert!(text.contains("letd=other.client.get(url)"), "{text}");
        assert!(text.contains("lete=client.client.get(other_url)"), "{text}");
        assert!(text.contains("letf=client.get(url)"), "{text}");
    }

    #[test]
    fn json_responses_go_through_the_decoder() {
        let mut file: syn::File = syn::parse_quote! {
            async fn send() {
                match response.status().as_u16() {
                    200u16 => ResponseValue::from_response(response).await,
                    204u16 => Ok(ResponseValue::empty(response)),
                    400u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                    _ => Err(Error::UnexpectedResponse(response)),
                }
            }
        };
        let decoder: syn::Path =
            syn::parse_quote!(::atlas_network_peering::runtime::response_value);
        assert_eq!(swap_response_decoder(&mut file, &decoder), 2);
        let text = prettyplease::unparse(&file);
        assert_eq!(
            text.matches("::atlas_network_peering::runtime::response_value(response)")
                .count(),
            2
        );
        assert!(!text.contains("from_response"), "{text}");
        assert!(text.contains("ResponseValue::empty(response)"), "{text}");
    }

    #[test]
    fn absent_optional_query_parameters_are_not_added() {
        let mut file: syn::File = syn::parse_quote! {
            fn send() {
                let request = client
                    .get(url)
                    .query(&progenitor_client::QueryParam::new("pageNum", &page_num))
                    .query(&progenitor_client::QueryParam::new("needed", &needed))
                    .query(&progenitor_client::QueryParam::new("pretty", &pretty))
                    .build()?;
            }
        };
        let optional = ["pageNum".to_owned(), "pretty".to_owned()].into();
        assert_eq!(skip_absent_query_params(&mut file, &optional), 2);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("if page_num.is_some()"), "{text}");
        assert!(text.contains("if pretty.is_some()"), "{text}");
        assert!(!text.contains("needed.is_some()"), "{text}");
        // The chain keeps its order: pageNum, then needed, then pretty.
        let at = |s: &str| text.find(s).unwrap();
        assert!(at("\"pageNum\"") < at("\"needed\"") && at("\"needed\"") < at("\"pretty\""));
    }

    #[test]
    fn url_safe_patterns() {
        assert!(pattern_is_url_safe("^[a-f0-9]{24}$"));
        assert!(pattern_is_url_safe("^vpc-[a-z0-9_-]+$"));
        assert!(!pattern_is_url_safe("^[a-f0-9]{1,30}$x"));
        assert!(!pattern_is_url_safe("^(a|b)$"));
        // `+` or `/` would need encoding; `parse` refuses them as class members anyway.
        assert!(!pattern_is_url_safe("^[a-z+/]{4}$"));
    }

    #[test]
    fn safe_path_parameters_are_not_encoded() {
        let mut file: syn::File = syn::parse_quote! {
            fn send() {
                let url = format!(
                    "{}/groups/{}/peers/{}/{}",
                    client.baseurl,
                    encode_path(&group_id.to_string()),
                    encode_path(&peer_id.to_string()),
                    encode_path(&name.to_string()),
                );
            }
        };
        let safe = ["group_id".to_owned(), "peer_id".to_owned()].into();
        assert_eq!(skip_path_encoding(&mut file, &safe), 2);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("group_id.as_str()"), "{text}");
        assert!(text.contains("peer_id.as_str()"), "{text}");
        assert!(text.contains("encode_path(& name.to_string())"), "{text}");
    }

    #[test]
    fn drops_only_the_api_version_append() {
        let mut file: syn::File = syn::parse_quote! {
            fn send() {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("x-other"),
                    value.to_string().try_into()?,
                );
            }
        };
        assert_eq!(drop_api_version_header(&mut file), 1);
        let text = prettyplease::unparse(&file);
        assert!(!text.contains("api-version"), "{text}");
        assert!(text.contains("HeaderMap::with_capacity(1)"), "{text}");
        assert!(text.contains("x-other"), "{text}");
    }
}
