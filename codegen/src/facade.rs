//! Passes that shape the API progenitor generates, without changing what goes on the wire. Each
//! finds its places by name and returns how many it changed; [`crate::generate_from`] checks the
//! count against the spec, so a progenitor whose output changed shape stops the build instead of
//! being skipped silently.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;

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

/// The paths the wrapped `send` methods name.
pub struct Facade {
    /// The type that runs one call: `Call::new(&Client, Method, "operation_id")`, then
    /// `run(|&Client| -> progenitor's send future)`.
    pub runner: syn::Path,
    /// The crate's error type.
    pub error: syn::Path,
    /// The crate's response type (`Response<T>`: status, headers, body).
    pub response: syn::Path,
}

/// In every operation builder (module `builder`), renames progenitor's `send` to a private
/// `send_attempt` (one attempt, progenitor's own error type) and adds the public methods in its
/// place: `send`, which returns the decoded body or the crate's error, and
/// `send_with_response`, which also keeps the status and headers. Both run the call through
/// `facade.runner`, given the operation's HTTP method and operationId as the spec has them
/// (read from progenitor's `send`), which makes each attempt with a clone of the builder.
/// Returns how many builders were wrapped.
pub fn wrap_sends(file: &mut syn::File, facade: &Facade) -> usize {
    let Some(builder) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut(),
        _ => None,
    }) else {
        return 0;
    };
    let mut wrapped = 0;
    for item in builder.1.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let Some(send) = imp.items.iter_mut().find_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
            _ => None,
        }) else {
            continue;
        };
        let Some(body) = response_body_type(&send.sig.output) else {
            continue;
        };
        let Some((method, operation)) = method_and_operation(send) else {
            continue;
        };
        send.sig.ident = syn::Ident::new("send_attempt", send.sig.ident.span());
        send.vis = syn::Visibility::Inherited;
        // progenitor's "Sends a `GET` request to `/path`" moves to the public `send`.
        let (docs, other): (Vec<_>, Vec<_>) = std::mem::take(&mut send.attrs)
            .into_iter()
            .partition(|a| a.path().is_ident("doc"));
        send.attrs = other;
        let mut added: syn::ItemImpl = syn::parse2(wrappers(&body, &method, &operation, facade))
            .expect("the send wrappers are an impl block");
        if let Some(syn::ImplItem::Fn(public)) = added.items.first_mut() {
            let blank: syn::Attribute = syn::parse_quote!(#[doc = ""]);
            let own = std::mem::take(&mut public.attrs);
            public.attrs = docs.into_iter().chain([blank]).chain(own).collect();
        }
        imp.items.extend(added.items);
        wrapped += 1;
    }
    wrapped
}

/// The HTTP method (`GET`, ...) and operationId of progenitor's `send`: the method from its
/// request builder call (`client.client.get(url)`), the operationId from its `OperationInfo`.
fn method_and_operation(send: &syn::ImplItemFn) -> Option<(syn::Ident, String)> {
    let block = &send.block;
    let text = quote!(#block).to_string();
    let operation = text
        .split_once("operation_id :")?
        .1
        .trim_start()
        .strip_prefix('"')?
        .split_once('"')?
        .0
        .to_owned();
    let method = ["get", "post", "put", "patch", "delete", "head", "options"]
        .into_iter()
        .find(|m| text.contains(&format!(". client . {m} (url)")))?;
    Some((
        syn::Ident::new(&method.to_uppercase(), proc_macro2::Span::call_site()),
        operation,
    ))
}

/// `T` in progenitor's `Result<ResponseValue<T>, Error<E>>`.
fn response_body_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let ok = first_generic(ty)?;
    let syn::Type::Path(p) = ok else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "ResponseValue" {
        return None;
    }
    first_generic(ok).cloned()
}

fn first_generic(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn wrappers(
    body: &syn::Type,
    method: &syn::Ident,
    operation: &str,
    facade: &Facade,
) -> TokenStream {
    let Facade {
        runner,
        error,
        response,
    } = facade;
    quote! {
        impl X {
            /// Sends the request and returns the decoded body, or the crate's one error type.
            ///
            /// Authentication, retries and time limits apply as the client was configured; an
            /// argument that is missing or malformed fails before anything is sent.
            pub async fn send(self) -> ::std::result::Result<#body, #error> {
                self.send_with_response().await.map(#response::into_body)
            }

            /// Like `send`, but keeps the HTTP status and headers of the answer.
            pub async fn send_with_response(
                self,
            ) -> ::std::result::Result<#response<#body>, #error> {
                let call = #runner::new(self.client, ::reqwest::Method::#method, #operation);
                call.run(|client| {
                    let mut attempt = self.clone();
                    attempt.client = client;
                    attempt.send_attempt()
                })
                .await
            }
        }
    }
}

/// Makes every id say why it is refused: `ObjectId`'s parsing (`FromStr`, and through it
/// `TryFrom` and serde) gives `check(value)`'s message, and each builder setter of an
/// `ObjectId` parameter keeps the conversion's message with the parameter's name
/// (`group_id: `my-project` is not an Atlas id: ...`) instead of progenitor's "conversion to
/// `ObjectId` for group_id failed". `check` is a `fn(&str) -> Option<String>`. Returns how
/// many places changed (the parsing, then one per id setter).
pub fn explain_ids(file: &mut syn::File, check: &syn::Path) -> usize {
    struct Ids<'a> {
        check: &'a syn::Path,
        changed: usize,
    }
    impl VisitMut for Ids<'_> {
        fn visit_item_impl_mut(&mut self, imp: &mut syn::ItemImpl) {
            let self_ty = &imp.self_ty;
            let is_object_id = quote!(#self_ty).to_string() == "ObjectId";
            let is_from_str = imp
                .trait_
                .as_ref()
                .is_some_and(|(path, _)| quote!(#path).to_string().ends_with("FromStr"));
            if is_object_id && is_from_str {
                let check = self.check;
                for item in imp.items.iter_mut() {
                    if let syn::ImplItem::Fn(f) = item
                        && f.sig.ident == "from_str"
                    {
                        f.block = syn::parse_quote!({
                            match #check(value) {
                                Some(why) => Err(why.into()),
                                None => Ok(Self(value.to_string())),
                            }
                        });
                        self.changed += 1;
                    }
                }
            }
            for item in imp.items.iter_mut() {
                let syn::ImplItem::Fn(f) = item else { continue };
                let generics = &f.sig.generics;
                let bound = quote!(#generics).to_string();
                let where_clause = &f.sig.generics.where_clause;
                let where_text = quote!(#where_clause).to_string();
                if bound != "< V >" || !where_text.contains("TryInto < types :: ObjectId >") {
                    continue;
                }
                let name = &f.sig.ident;
                let field = name.to_string();
                f.sig
                    .generics
                    .make_where_clause()
                    .predicates
                    .push(syn::parse_quote!(
                        V::Error: ::std::fmt::Display
                    ));
                f.block = syn::parse_quote!({
                    self.#name = value.try_into().map_err(|e| format!("{}: {}", #field, e));
                    self
                });
                self.changed += 1;
            }
            syn::visit_mut::visit_item_impl_mut(self, imp);
        }
    }
    let mut ids = Ids { check, changed: 0 };
    ids.visit_file_mut(file);
    ids.changed
}

/// Makes progenitor's `Client::new` and `Client::new_with_client` crate-private: the client is
/// built from a configuration (`Client::from_config`), and a constructor that bypasses it would
/// be public but not usable. Returns how many were changed (2).
pub fn hide_constructors(file: &mut syn::File) -> usize {
    let mut changed = 0;
    for item in file.items.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let is_client = matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if imp.trait_.is_some() || !is_client {
            continue;
        }
        for item in imp.items.iter_mut() {
            if let syn::ImplItem::Fn(f) = item
                && (f.sig.ident == "new" || f.sig.ident == "new_with_client")
            {
                f.vis = syn::parse_quote!(pub(crate));
                changed += 1;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facade() -> Facade {
        Facade {
            runner: syn::parse_quote!(crate::runtime::Call),
            error: syn::parse_quote!(crate::Error),
            response: syn::parse_quote!(crate::Response),
        }
    }

    #[test]
    fn send_is_wrapped_and_its_body_type_kept() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod builder {
                impl<'a> GetPeer<'a> {
                    ///Sends a `GET` request to `/peers/{peerId}`
                    pub async fn send(self) -> Result<ResponseValue<types::Peer>, Error<ByteStream>> {
                        let mut request = client.client.get(url).build()?;
                        let info = OperationInfo { operation_id: "get_peer" };
                        todo!()
                    }
                }
                impl<'a> Other<'a> {
                    pub fn group_id(self) -> Self { self }
                }
            }
        };
        assert_eq!(wrap_sends(&mut file, &facade()), 1);
        let text: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(text.contains("asyncfnsend_attempt(self"), "{text}");
        assert!(
            text.contains("pubasyncfnsend(self)->::std::result::Result<types::Peer,crate::Error>"),
            "{text}"
        );
        assert!(text.contains("crate::Response<types::Peer>"), "{text}");
        assert!(
            text.contains(
                "crate::runtime::Call::new(self.client,::reqwest::Method::GET,\"get_peer\",)"
            ),
            "{text}"
        );
        assert!(
            text.contains("///Sendsa`GET`requestto`/peers/{peerId}`//////Sendstherequest"),
            "{text}"
        );
    }

    #[test]
    fn ids_say_why_they_are_refused() {
        let mut file: syn::File = syn::parse_quote! {
            impl ::std::str::FromStr for ObjectId {
                type Err = self::error::ConversionError;
                fn from_str(value: &str) -> Result<Self, self::error::ConversionError> {
                    Err("doesn't match pattern".into())
                }
            }
            pub mod builder {
                impl<'a> GetPeer<'a> {
                    pub fn group_id<V>(mut self, value: V) -> Self
                    where
                        V: std::convert::TryInto<types::ObjectId>,
                    {
                        self.group_id = value.try_into().map_err(|_| "conversion to `ObjectId` for group_id failed".to_string());
                        self
                    }
                    pub fn pretty<V>(mut self, value: V) -> Self
                    where
                        V: std::convert::TryInto<bool>,
                    {
                        self
                    }
                }
            }
        };
        let check: syn::Path = syn::parse_quote!(crate::models::object_id_error);
        assert_eq!(explain_ids(&mut file, &check), 2);
        let text: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(
            text.contains("matchcrate::models::object_id_error(value)"),
            "{text}"
        );
        assert!(text.contains("V::Error:::std::fmt::Display"), "{text}");
        assert!(text.contains("format!(\"{}:{}\",\"group_id\",e)"), "{text}");
        assert!(!text.contains("conversionto"), "{text}");
    }

    #[test]
    fn only_the_client_constructors_are_hidden() {
        let mut file: syn::File = syn::parse_quote! {
            impl Client {
                pub fn new(baseurl: &str) -> Self { todo!() }
                pub fn new_with_client(baseurl: &str) -> Self { todo!() }
                pub fn get_peer(&self) {}
            }
            impl Other { pub fn new() -> Self { todo!() } }
        };
        assert_eq!(hide_constructors(&mut file), 2);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("pub(crate) fn new(") && text.contains("pub fn get_peer"));
        assert!(text.contains("impl Other {\n    pub fn new()"), "{text}");
    }
}
