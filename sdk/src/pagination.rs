#![deny(missing_docs)]
//! Pagination streams over the list operations.
//!
//! [`ClientPaginationExt`] gives [`Client`] two streams per list operation: one of whole
//! pages and one of the entries on them. Both are built from `futures-util`'s combinators
//! (`try_unfold` over the pages, `try_flatten` into the entries), boxed: `Unpin`, `Send`,
//! `'static` and fused.
//!
//! | operation             | pages                                            | entries                                        |
//! |-----------------------|--------------------------------------------------|------------------------------------------------|
//! | `list_all_containers` | [`all_containers_pages`](ClientPaginationExt::all_containers_pages) | [`all_containers`](ClientPaginationExt::all_containers) |
//! | `list_containers`     | [`containers_pages`](ClientPaginationExt::containers_pages) | [`containers`](ClientPaginationExt::containers) |
//! | `list_peers`          | [`peers_pages`](ClientPaginationExt::peers_pages) | [`peers`](ClientPaginationExt::peers)          |
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
//! use atlas_network_peering::types::CloudProvider;
//!
//! # async fn run(client: atlas_network_peering::Client) -> Result<(), atlas_network_peering::Error> {
//! let mut peers = client.peers(
//!     "6f1c2a9e4b7d3e0a1c5f8b21",
//!     Paging::new().items_per_page(100).provider(CloudProvider::Gcp),
//! );
//! while let Some(peer) = peers.next().await {
//!     let peer = peer?;
//!     println!("{:?} {:?}", peer.id(), peer.status());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How a listing proceeds
//!
//! - **Lazily, one page at a time.** Creating a stream sends nothing; each page is requested
//!   when the stream is polled past the previous one. The entries' stream hands out every
//!   entry of a page before it requests the next, so at most one page is held in memory.
//! - **By page number.** Pages are requested with `pageNum` = 1, 2, 3, ... against the
//!   client's own base URL. The `next` link's `href` is read only as a signal; it is never
//!   followed, so a server cannot send the client to another host.
//! - **Page size.** `itemsPerPage` is the caller's [`Paging::items_per_page`], 1 to
//!   [`MAX_ITEMS_PER_PAGE`] (default [`DEFAULT_ITEMS_PER_PAGE`]). A value outside that range
//!   makes the stream yield one [`Error::InvalidArgument`] naming `items_per_page`, and nothing
//!   is sent.
//! - **`includeCount`.** The first page is requested with `includeCount=true` (unless
//!   [`Paging::include_count`] turned it off) and every later page with `includeCount=false`:
//!   the count is needed once, to know where the listing ends, and Atlas computes it on every
//!   page that asks for it. So only the first page's `total_count` is filled in.
//! - **The last page** is the first page for which any of these holds:
//!   1. it is empty;
//!   2. it holds fewer entries than `itemsPerPage`;
//!   3. it has links, and none of them is `rel: next` (a page without any link says nothing
//!      either way);
//!   4. the entries seen so far, this page's included, reach the `totalCount` of the first
//!      page (Atlas calls the count an estimate: a count below the real number ends the listing
//!      early).
//! - **Errors end the stream.** A failed request yields its [`Error`]; the stream then ends
//!   (returns `None`) and sends nothing more. Both streams are fused: polling after the end
//!   keeps returning `None`.
//!
//! # A server that repeats a page
//!
//! A server that ignores `pageNum` would otherwise make the listing loop forever. A page is
//! *repeated* when it is not empty and the page before it had the same `rel: self` link, or
//! the same entries (by id, or by their whole JSON for an entry without one) in the same order.
//! A repeated page is **not** yielded: the stream yields one [`Error::RepeatedPage`] naming the
//! page number, and ends. Entries yielded before it are correct: the error only means the rest
//! of the listing could not be read.
//!
//! With `itemsPerPage = 1`, an entry inserted in front of the listing between two requests
//! shifts the same entry onto the next page, which then looks repeated; use larger pages when
//! the listing changes while it is read.

use std::num::NonZeroU32;

use futures_core::stream::FusedStream;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::types::{CloudProvider, ContainerPage, Link, PeerPage};
use crate::{Client, Error, models};

/// The largest `itemsPerPage` Atlas accepts.
pub const MAX_ITEMS_PER_PAGE: u32 = 500;

/// The `itemsPerPage` of [`Paging::new`], Atlas's own default.
pub const DEFAULT_ITEMS_PER_PAGE: u32 = 100;

/// What to list and how: page size, provider, and whether to ask for the count.
///
/// ```
/// use atlas_network_peering::pagination::Paging;
/// use atlas_network_peering::types::CloudProvider;
///
/// let paging = Paging::new().items_per_page(500).provider(CloudProvider::Azure);
/// assert_eq!(paging.get_items_per_page(), 500);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paging {
    items_per_page: u32,
    provider: Option<CloudProvider>,
    include_count: bool,
}

impl Default for Paging {
    fn default() -> Self {
        Self::new()
    }
}

impl Paging {
    /// [`DEFAULT_ITEMS_PER_PAGE`] entries a page, no provider (Atlas then lists AWS), and the
    /// count requested on the first page.
    #[must_use]
    pub fn new() -> Self {
        Self {
            items_per_page: DEFAULT_ITEMS_PER_PAGE,
            provider: None,
            include_count: true,
        }
    }

    /// Entries per page (`itemsPerPage`), 1 to [`MAX_ITEMS_PER_PAGE`]. Checked when the stream
    /// is first polled: a value outside the range makes it yield [`Error::InvalidArgument`].
    #[must_use]
    pub fn items_per_page(mut self, items_per_page: u32) -> Self {
        self.items_per_page = items_per_page;
        self
    }

    /// The provider to list (`providerName`). Accepted by the `containers` and `peers`
    /// streams; the `all_containers` streams list every provider and yield
    /// [`Error::InvalidArgument`] naming `provider` when one is set.
    #[must_use]
    pub fn provider(mut self, provider: CloudProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Whether to ask for `totalCount` on the first page (default `true`). Later pages never
    /// ask for it. Without the count, the listing ends on the other signals only.
    #[must_use]
    pub fn include_count(mut self, include_count: bool) -> Self {
        self.include_count = include_count;
        self
    }

    /// The page size set, checked or not.
    pub fn get_items_per_page(&self) -> u32 {
        self.items_per_page
    }

    /// The provider set, if any.
    pub fn get_provider(&self) -> Option<&CloudProvider> {
        self.provider.as_ref()
    }

    /// Whether the first page asks for `totalCount`.
    pub fn get_include_count(&self) -> bool {
        self.include_count
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Client {}
}

/// Streams over the list operations of [`Client`]; see the [module documentation](self).
///
/// Every method returns at once without sending anything; `group_id` and the [`Paging`] are
/// checked when the stream is first polled, and a bad value is the stream's one item
/// ([`Error::InvalidArgument`]). The streams own a clone of the client (cheap: it shares the
/// connection pool and runtime), so they are `'static` and `Send`.
///
/// A pages stream yields `Ok(page)` for every page fetched, the last one included (an empty
/// first page is yielded too, so its `total_count` can be read), then ends; or yields one
/// `Err` and ends. An entries stream yields the entries in the server's order, across pages,
/// and a failed request's [`Error`] after the entries of the pages before it. Both are fused
/// (`FusedStream`), `Unpin` (no pinning needed to poll them), `Send` and `'static`.
pub trait ClientPaginationExt: sealed::Sealed {
    /// The pages of `list_all_containers`: every container of the project, all providers.
    /// [`Paging::provider`] must be left unset.
    fn all_containers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<ContainerPage, Error>> + Unpin + Send + 'static;

    /// The containers of `list_all_containers`, across pages.
    fn all_containers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Container, Error>> + Unpin + Send + 'static;

    /// The pages of `list_containers`: the containers of [`Paging::provider`] (AWS when unset,
    /// as Atlas decides).
    fn containers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<ContainerPage, Error>> + Unpin + Send + 'static;

    /// The containers of `list_containers`, across pages.
    fn containers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Container, Error>> + Unpin + Send + 'static;

    /// The pages of `list_peers`: the peering connections of [`Paging::provider`] (AWS when
    /// unset, as Atlas decides).
    fn peers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<PeerPage, Error>> + Unpin + Send + 'static;

    /// The peering connections of `list_peers`, across pages.
    fn peers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Peer, Error>> + Unpin + Send + 'static;
}

impl ClientPaginationExt for Client {
    fn all_containers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<ContainerPage, Error>> + Unpin + Send + 'static {
        pages(
            self,
            group_id,
            paging,
            false,
            |client, group_id, _, query| {
                Box::pin(
                    client
                        .list_all_containers()
                        .group_id(group_id)
                        .page_num(query.page_num)
                        .items_per_page(query.items_per_page)
                        .include_count(query.include_count)
                        .send(),
                )
            },
        )
    }

    fn all_containers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Container, Error>> + Unpin + Send + 'static {
        items(self.all_containers_pages(group_id, paging))
    }

    fn containers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<ContainerPage, Error>> + Unpin + Send + 'static {
        pages(
            self,
            group_id,
            paging,
            true,
            |client, group_id, provider, query| {
                let mut request = client
                    .list_containers()
                    .group_id(group_id)
                    .page_num(query.page_num)
                    .items_per_page(query.items_per_page)
                    .include_count(query.include_count);
                if let Some(provider) = provider {
                    request = request.provider_name(provider.clone());
                }
                Box::pin(request.send())
            },
        )
    }

    fn containers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Container, Error>> + Unpin + Send + 'static {
        items(self.containers_pages(group_id, paging))
    }

    fn peers_pages(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<PeerPage, Error>> + Unpin + Send + 'static {
        pages(
            self,
            group_id,
            paging,
            true,
            |client, group_id, provider, query| {
                let mut request = client
                    .list_peers()
                    .group_id(group_id)
                    .page_num(query.page_num)
                    .items_per_page(query.items_per_page)
                    .include_count(query.include_count);
                if let Some(provider) = provider {
                    request = request.provider_name(provider.clone());
                }
                Box::pin(request.send())
            },
        )
    }

    fn peers(
        &self,
        group_id: &str,
        paging: Paging,
    ) -> impl FusedStream<Item = Result<models::Peer, Error>> + Unpin + Send + 'static {
        items(self.peers_pages(group_id, paging))
    }
}

// ---- The listing itself -------------------------------------------------------------------

/// One page of a list operation, as the walk needs to see it.
trait ListPage: Serialize + Send + 'static {
    type Item: Serialize + Send + 'static;
    fn results(&self) -> &[Self::Item];
    fn into_results(self) -> Vec<Self::Item>;
    fn links(&self) -> &[Link];
    fn total_count(&self) -> Option<i32>;
    fn item_id(item: &Self::Item) -> Option<&str>;
}

impl ListPage for ContainerPage {
    type Item = models::Container;
    fn results(&self) -> &[models::Container] {
        &self.results
    }
    fn into_results(self) -> Vec<models::Container> {
        self.results
    }
    fn links(&self) -> &[Link] {
        self.links.as_deref().unwrap_or_default()
    }
    fn total_count(&self) -> Option<i32> {
        self.total_count
    }
    fn item_id(item: &models::Container) -> Option<&str> {
        item.id()
    }
}

impl ListPage for PeerPage {
    type Item = models::Peer;
    fn results(&self) -> &[models::Peer] {
        &self.results
    }
    fn into_results(self) -> Vec<models::Peer> {
        self.results
    }
    fn links(&self) -> &[Link] {
        self.links.as_deref().unwrap_or_default()
    }
    fn total_count(&self) -> Option<i32> {
        self.total_count
    }
    fn item_id(item: &models::Peer) -> Option<&str> {
        item.id()
    }
}

/// The query parameters of one page request.
#[derive(Clone, Copy, Debug)]
struct Query {
    page_num: NonZeroU32,
    items_per_page: NonZeroU32,
    include_count: bool,
}

/// One page request of a list operation.
type Fetch<P> = for<'a> fn(
    &'a Client,
    &'a str,
    Option<&'a CloudProvider>,
    Query,
) -> BoxFuture<'a, Result<P, Error>>;

/// The state of one listing between pages.
struct Walk<P> {
    client: Client,
    group_id: String,
    provider: Option<CloudProvider>,
    fetch: Fetch<P>,
    /// The page size, or the argument error to yield instead of the first request.
    items_per_page: Result<NonZeroU32, Error>,
    include_count: bool,
    /// The page to request next; `None` once the listing is over.
    next: Option<NonZeroU32>,
    seen_items: u64,
    total_count: Option<u64>,
    /// What the previous page was, to tell a repeated page.
    previous: Option<Seen>,
}

fn check(paging: &Paging, takes_provider: bool) -> Result<NonZeroU32, Error> {
    let items_per_page = NonZeroU32::new(paging.items_per_page)
        .filter(|n| n.get() <= MAX_ITEMS_PER_PAGE)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "items_per_page must be 1 to {MAX_ITEMS_PER_PAGE}, not {}",
                paging.items_per_page
            ))
        })?;
    if !takes_provider && paging.provider.is_some() {
        return Err(Error::InvalidArgument(
            "provider: list_all_containers lists every provider and takes none".into(),
        ));
    }
    Ok(items_per_page)
}

fn pages<P: ListPage>(
    client: &Client,
    group_id: &str,
    paging: Paging,
    takes_provider: bool,
    fetch: Fetch<P>,
) -> impl FusedStream<Item = Result<P, Error>> + Unpin + Send + 'static {
    let walk = Walk {
        client: client.clone(),
        group_id: group_id.to_owned(),
        items_per_page: check(&paging, takes_provider),
        provider: paging.provider,
        fetch,
        include_count: paging.include_count,
        next: Some(NonZeroU32::MIN),
        seen_items: 0,
        total_count: None,
        previous: None,
    };
    Box::pin(stream::try_unfold(walk, Walk::step)).fuse()
}

fn items<P: ListPage>(
    pages: impl FusedStream<Item = Result<P, Error>> + Unpin + Send + 'static,
) -> impl FusedStream<Item = Result<P::Item, Error>> + Unpin + Send + 'static {
    let entries = pages.map_ok(|page| stream::iter(page.into_results().into_iter().map(Ok)));
    Box::pin(entries.try_flatten()).fuse()
}

impl<P: ListPage> Walk<P> {
    /// Fetches the next page; `Ok(None)` once the listing is over. An error ends the stream.
    async fn step(mut self) -> Result<Option<(P, Self)>, Error> {
        let items_per_page = std::mem::replace(&mut self.items_per_page, Ok(NonZeroU32::MIN))?;
        self.items_per_page = Ok(items_per_page);
        let Some(page_num) = self.next.take() else {
            return Ok(None);
        };
        let query = Query {
            page_num,
            items_per_page,
            include_count: self.include_count && page_num == NonZeroU32::MIN,
        };
        let page =
            (self.fetch)(&self.client, &self.group_id, self.provider.as_ref(), query).await?;
        let seen = Seen::of(&page);
        if let Some(by) = self
            .previous
            .as_ref()
            .and_then(|previous| seen.repeats(previous))
        {
            tracing::warn!(
                page = page_num.get(),
                by,
                "a repeated page; the listing stops"
            );
            return Err(Error::RepeatedPage {
                page: page_num.get(),
                by,
            });
        }
        self.previous = Some(seen);
        if !self.is_last(&page, items_per_page) {
            self.next = page_num.checked_add(1);
        }
        Ok(Some((page, self)))
    }

    /// Counts the page and decides whether it ends the listing.
    fn is_last(&mut self, page: &P, items_per_page: NonZeroU32) -> bool {
        let len = page.results().len();
        // Every page before a non-empty one was non-empty (an empty page ends the listing), so
        // nothing seen yet means this is the first page.
        let first_page = self.seen_items == 0;
        self.seen_items = self.seen_items.saturating_add(len as u64);
        // Only the first page's count is used (later pages ask for none; a count a later page
        // sends anyway is ignored, so a stray `0` cannot end the listing early).
        if let Some(count) = page.total_count().and_then(|c| u64::try_from(c).ok())
            && first_page
        {
            self.total_count = Some(count);
        }
        let links = page.links();
        let no_next = !links.is_empty() && !links.iter().any(|l| has_rel(l, "next"));
        len == 0
            || len < items_per_page.get() as usize
            || no_next
            || self
                .total_count
                .is_some_and(|total| self.seen_items >= total)
    }
}

fn has_rel(link: &Link, rel: &str) -> bool {
    link.rel
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case(rel))
}

/// What a page is compared by: its `self` link and its entries (ids, or the JSON of an entry
/// without one).
struct Seen {
    self_link: Option<String>,
    entries: Vec<String>,
}

impl Seen {
    fn of<P: ListPage>(page: &P) -> Self {
        let self_link = page
            .links()
            .iter()
            .find(|l| has_rel(l, "self"))
            .and_then(|l| l.href.clone());
        let entries = page
            .results()
            .iter()
            .map(|item| match P::item_id(item) {
                Some(id) => id.to_owned(),
                None => serde_json::to_string(item).unwrap_or_default(),
            })
            .collect();
        Self { self_link, entries }
    }

    /// How this page repeats `previous`, if it does. An empty page never does: it ends the
    /// listing anyway.
    fn repeats(&self, previous: &Seen) -> Option<&'static str> {
        if self.entries.is_empty() {
            None
        } else if self.self_link.is_some() && self.self_link == previous.self_link {
            Some("the same self link")
        } else if self.entries == previous.entries {
            Some("the same entries")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_checks() {
        let p = Paging::default();
        assert_eq!(p, Paging::new());
        assert_eq!(p.get_items_per_page(), DEFAULT_ITEMS_PER_PAGE);
        assert!(p.get_include_count() && p.get_provider().is_none());
        for (n, ok) in [
            (0, false),
            (1, true),
            (100, true),
            (500, true),
            (501, false),
        ] {
            let r = check(&Paging::new().items_per_page(n), true);
            assert_eq!(r.is_ok(), ok, "{n}");
            if let Err(Error::InvalidArgument(m)) = r {
                assert!(m.contains("items_per_page"), "{m}");
            }
        }
        let with_provider = Paging::new().provider(CloudProvider::Gcp);
        assert!(check(&with_provider, true).is_ok());
        assert!(matches!(
            check(&with_provider, false),
            Err(Error::InvalidArgument(m)) if m.starts_with("provider")
        ));
    }

    #[test]
    fn a_page_repeats_the_previous_one_by_self_link_or_entries() {
        let seen = |link: Option<&str>, entries: &[&str]| Seen {
            self_link: link.map(str::to_owned),
            entries: entries.iter().map(|e| e.to_string()).collect(),
        };
        let first = seen(Some("/p?pageNum=1"), &["a", "b"]);
        assert_eq!(
            seen(Some("/p?pageNum=1"), &["c"]).repeats(&first),
            Some("the same self link")
        );
        assert_eq!(
            seen(None, &["a", "b"]).repeats(&first),
            Some("the same entries")
        );
        assert_eq!(
            seen(Some("/p?pageNum=2"), &["b", "a"]).repeats(&first),
            None
        );
        assert_eq!(
            seen(Some("/p?pageNum=1"), &[]).repeats(&first),
            None,
            "empty"
        );
    }
}
