#![deny(missing_docs)]
//! Pagination streams over the list operations.
//!
//! [`ClientPaginationExt`] gives [`Client`] two streams per list operation: one of whole
//! pages ([`Pages`]) and one of the entries on them ([`Items`]).
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
//!   when the stream is polled past the previous one. [`Items`] hands out every entry of a
//!   page before it requests the next, so at most one page is held in memory.
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
//! A server that ignores `pageNum` would otherwise make the listing loop forever. The stream
//! remembers a 64-bit fingerprint of every page it has seen (not the page itself) and treats a
//! page as *repeated* when
//!
//! - its `rel: self` link is the same `href` as an earlier page's, or
//! - its entries have the same ids, in the same order, as an earlier page's (an entry without
//!   an id is compared by its whole JSON).
//!
//! An empty page is never taken for a repeat: it ends the listing anyway.
//!
//! A repeated page is **not** yielded: the stream yields one error and ends. The error is an
//! [`Error::Decode`] (the sdk's one error type has no pagination variant) whose `path` is
//! `/links` or `/results`, whose `message` starts with [`REPEATED_PAGE`] and names both page
//! numbers, and whose `raw` is the repeated page re-encoded as JSON; [`is_repeated_page`] tells
//! it apart from other errors. Entries yielded before it are correct: the error only means the
//! rest of the listing could not be read.
//!
//! With `itemsPerPage = 1`, an entry inserted in front of the listing between two requests
//! shifts the same entry onto the next page, which then looks repeated; use larger pages when
//! the listing changes while it is read.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use serde::Serialize;

use crate::types::{CloudProvider, ContainerPage, Link, PeerPage};
use crate::{Client, Error, models};

/// The largest `itemsPerPage` Atlas accepts.
pub const MAX_ITEMS_PER_PAGE: u32 = 500;

/// The `itemsPerPage` of [`Paging::new`], Atlas's own default.
pub const DEFAULT_ITEMS_PER_PAGE: u32 = 100;

/// How every repeated-page error's message starts; see [`is_repeated_page`].
pub const REPEATED_PAGE: &str = "repeated page: ";

/// Whether `error` is the error a stream of this module ends with when the server repeated a
/// page (see the [module documentation](self#a-server-that-repeats-a-page)).
pub fn is_repeated_page(error: &Error) -> bool {
    matches!(error, Error::Decode { message, .. } if message.starts_with(REPEATED_PAGE))
}

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

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// A stream of whole pages of one list operation, the first page first.
///
/// Yields `Ok(page)` for every page fetched, the last one included (an empty first page is
/// yielded too, so its `total_count` can be read), then ends; or yields one `Err` and ends.
/// See the [module documentation](self) for when the listing ends.
#[must_use = "streams do nothing unless polled"]
pub struct Pages<P> {
    inner: BoxStream<P>,
    done: bool,
}

impl<P> fmt::Debug for Pages<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages").field("done", &self.done).finish()
    }
}

// `Pages` never pins its fields in place: the inner stream is boxed.
impl<P> Unpin for Pages<P> {}

impl<P> Stream for Pages<P> {
    type Item = Result<P, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let next = ready!(this.inner.as_mut().poll_next(cx));
        if !matches!(next, Some(Ok(_))) {
            this.done = true;
        }
        Poll::Ready(next)
    }
}

impl<P> FusedStream for Pages<P> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// A stream of the entries of one list operation, in the server's order, across pages.
///
/// Every entry of a page is handed out before the next page is requested. A failed request
/// yields its [`Error`] after the entries of the pages before it; the stream then ends.
#[must_use = "streams do nothing unless polled"]
pub struct Items<T> {
    pages: BoxStream<Vec<T>>,
    current: std::vec::IntoIter<T>,
    done: bool,
}

impl<T> fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("buffered", &self.current.len())
            .field("done", &self.done)
            .finish()
    }
}

// `Items` never pins its fields in place: the page stream is boxed, the entries are moved out.
impl<T> Unpin for Items<T> {}

impl<T> Stream for Items<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(this.pages.as_mut().poll_next(cx)) {
                Some(Ok(items)) => this.current = items.into_iter(),
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.current.len();
        (buffered, if self.done { Some(buffered) } else { None })
    }
}

impl<T> FusedStream for Items<T> {
    fn is_terminated(&self) -> bool {
        self.done && self.current.len() == 0
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
pub trait ClientPaginationExt: sealed::Sealed {
    /// The pages of `list_all_containers`: every container of the project, all providers.
    /// [`Paging::provider`] must be left unset.
    fn all_containers_pages(&self, group_id: &str, paging: Paging) -> Pages<ContainerPage>;

    /// The containers of `list_all_containers`, across pages.
    fn all_containers(&self, group_id: &str, paging: Paging) -> Items<models::Container>;

    /// The pages of `list_containers`: the containers of [`Paging::provider`] (AWS when unset,
    /// as Atlas decides).
    fn containers_pages(&self, group_id: &str, paging: Paging) -> Pages<ContainerPage>;

    /// The containers of `list_containers`, across pages.
    fn containers(&self, group_id: &str, paging: Paging) -> Items<models::Container>;

    /// The pages of `list_peers`: the peering connections of [`Paging::provider`] (AWS when
    /// unset, as Atlas decides).
    fn peers_pages(&self, group_id: &str, paging: Paging) -> Pages<PeerPage>;

    /// The peering connections of `list_peers`, across pages.
    fn peers(&self, group_id: &str, paging: Paging) -> Items<models::Peer>;
}

impl ClientPaginationExt for Client {
    fn all_containers_pages(&self, group_id: &str, paging: Paging) -> Pages<ContainerPage> {
        pages(self, group_id, paging, AllContainers)
    }

    fn all_containers(&self, group_id: &str, paging: Paging) -> Items<models::Container> {
        items(self.all_containers_pages(group_id, paging))
    }

    fn containers_pages(&self, group_id: &str, paging: Paging) -> Pages<ContainerPage> {
        pages(self, group_id, paging, Containers)
    }

    fn containers(&self, group_id: &str, paging: Paging) -> Items<models::Container> {
        items(self.containers_pages(group_id, paging))
    }

    fn peers_pages(&self, group_id: &str, paging: Paging) -> Pages<PeerPage> {
        pages(self, group_id, paging, Peers)
    }

    fn peers(&self, group_id: &str, paging: Paging) -> Items<models::Peer> {
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

/// One list operation.
trait Lister: Send + 'static {
    type Page: ListPage;
    /// Whether the operation takes `providerName`.
    const TAKES_PROVIDER: bool;
    fn fetch(
        client: &Client,
        group_id: &str,
        provider: Option<&CloudProvider>,
        query: Query,
    ) -> impl Future<Output = Result<Self::Page, Error>> + Send;
}

struct AllContainers;
struct Containers;
struct Peers;

impl Lister for AllContainers {
    type Page = ContainerPage;
    const TAKES_PROVIDER: bool = false;
    async fn fetch(
        client: &Client,
        group_id: &str,
        _provider: Option<&CloudProvider>,
        query: Query,
    ) -> Result<ContainerPage, Error> {
        client
            .list_all_containers()
            .group_id(group_id)
            .page_num(query.page_num)
            .items_per_page(query.items_per_page)
            .include_count(query.include_count)
            .send()
            .await
    }
}

/// A list operation that takes `providerName` (its generated builder has the same setters as
/// the others, plus that one).
macro_rules! provider_lister {
    ($lister:ty, $page:ty, $operation:ident) => {
        impl Lister for $lister {
            type Page = $page;
            const TAKES_PROVIDER: bool = true;
            async fn fetch(
                client: &Client,
                group_id: &str,
                provider: Option<&CloudProvider>,
                query: Query,
            ) -> Result<$page, Error> {
                let mut request = client
                    .$operation()
                    .group_id(group_id)
                    .page_num(query.page_num)
                    .items_per_page(query.items_per_page)
                    .include_count(query.include_count);
                if let Some(provider) = provider {
                    request = request.provider_name(provider.clone());
                }
                request.send().await
            }
        }
    };
}

provider_lister!(Containers, ContainerPage, list_containers);
provider_lister!(Peers, PeerPage, list_peers);

/// The state of one listing between pages.
struct Walk<L: Lister> {
    client: Client,
    group_id: String,
    provider: Option<CloudProvider>,
    items_per_page: NonZeroU32,
    include_count: bool,
    /// The page to request next; `None` once the listing is over.
    next: Option<NonZeroU32>,
    /// An argument error to yield instead of the first request.
    refused: Option<Error>,
    seen_items: u64,
    total_count: Option<u64>,
    /// Fingerprints of the self links and of the contents seen so far, with their page number.
    seen_self: HashMap<u64, NonZeroU32>,
    seen_content: HashMap<u64, NonZeroU32>,
    lister: std::marker::PhantomData<fn() -> L>,
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

fn pages<L: Lister>(client: &Client, group_id: &str, paging: Paging, _: L) -> Pages<L::Page> {
    let (items_per_page, refused) = match check(&paging, L::TAKES_PROVIDER) {
        Ok(n) => (n, None),
        Err(e) => (NonZeroU32::MIN, Some(e)),
    };
    let walk = Walk::<L> {
        client: client.clone(),
        group_id: group_id.to_owned(),
        provider: paging.provider,
        items_per_page,
        include_count: paging.include_count,
        next: Some(NonZeroU32::MIN),
        refused,
        seen_items: 0,
        total_count: None,
        seen_self: HashMap::new(),
        seen_content: HashMap::new(),
        lister: std::marker::PhantomData,
    };
    let inner = futures_util::stream::unfold(walk, |mut walk| async move {
        let item = walk.step().await?;
        Some((item, walk))
    });
    Pages {
        inner: Box::pin(inner),
        done: false,
    }
}

fn items<P: ListPage>(pages: Pages<P>) -> Items<P::Item> {
    let pages = futures_util::StreamExt::map(pages, |page| page.map(ListPage::into_results));
    Items {
        pages: Box::pin(pages),
        current: Vec::new().into_iter(),
        done: false,
    }
}

impl<L: Lister> Walk<L> {
    /// Fetches the next page; `None` once the listing is over.
    async fn step(&mut self) -> Option<Result<L::Page, Error>> {
        if let Some(error) = self.refused.take() {
            self.next = None;
            return Some(Err(error));
        }
        // Taken: a failed request leaves `next` empty, which ends the listing.
        let page_num = self.next.take()?;
        let query = Query {
            page_num,
            items_per_page: self.items_per_page,
            include_count: self.include_count && page_num == NonZeroU32::MIN,
        };
        let page = match L::fetch(&self.client, &self.group_id, self.provider.as_ref(), query).await
        {
            Ok(page) => page,
            Err(error) => return Some(Err(error)),
        };
        if let Some(error) = self.repeated(&page, page_num) {
            return Some(Err(error));
        }
        if !self.is_last(&page) {
            self.next = page_num.checked_add(1);
        }
        Some(Ok(page))
    }

    /// Records the page and decides whether it ends the listing.
    fn is_last(&mut self, page: &L::Page) -> bool {
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
        let no_next = !links.is_empty()
            && !links.iter().any(|l| {
                l.rel
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case("next"))
            });
        len == 0
            || len < self.items_per_page.get() as usize
            || no_next
            || self
                .total_count
                .is_some_and(|total| self.seen_items >= total)
    }

    /// The error to end with if `page` repeats an earlier page; records its fingerprints.
    fn repeated(&mut self, page: &L::Page, page_num: NonZeroU32) -> Option<Error> {
        if page.results().is_empty() {
            // An empty page ends the listing anyway.
            return None;
        }
        let self_link = page
            .links()
            .iter()
            .find(|l| {
                l.rel
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case("self"))
            })
            .and_then(|l| l.href.as_deref());
        if let Some(href) = self_link {
            let key = fingerprint(|h| href.hash(h));
            if let Some(&earlier) = self.seen_self.get(&key) {
                return Some(repeated_page_error(
                    page,
                    "/links",
                    format!("page {page_num} has the same `self` link as page {earlier} ({href})"),
                ));
            }
            self.seen_self.insert(key, page_num);
        }
        let key = fingerprint(|h| {
            for item in page.results() {
                match L::Page::item_id(item) {
                    Some(id) => (0u8, id).hash(h),
                    None => (1u8, serde_json::to_string(item).unwrap_or_default()).hash(h),
                }
            }
        });
        if let Some(&earlier) = self.seen_content.get(&key) {
            return Some(repeated_page_error(
                page,
                "/results",
                format!(
                    "page {page_num} holds the same {} entries as page {earlier}",
                    page.results().len()
                ),
            ));
        }
        self.seen_content.insert(key, page_num);
        None
    }
}

fn fingerprint(feed: impl FnOnce(&mut DefaultHasher)) -> u64 {
    // `DefaultHasher::new` uses fixed keys: fingerprints are stable within the process.
    let mut hasher = DefaultHasher::new();
    feed(&mut hasher);
    hasher.finish()
}

fn repeated_page_error(page: &impl Serialize, path: &str, what: String) -> Error {
    tracing::warn!(target: "atlas_network_peering::pagination", "{what}; the listing stops");
    Error::Decode {
        path: path.to_owned(),
        message: format!(
            "{REPEATED_PAGE}{what}: the server seems to ignore `pageNum`, so the listing stops \
             instead of looping"
        ),
        raw: serde_json::to_vec(page)
            .map(Bytes::from)
            .unwrap_or_default(),
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
    fn repeated_page_errors_are_recognized() {
        let e = repeated_page_error(&serde_json::json!({"results": []}), "/links", "x".into());
        assert!(is_repeated_page(&e));
        assert!(!is_repeated_page(&Error::InvalidArgument(
            REPEATED_PAGE.into()
        )));
        assert!(!is_repeated_page(&Error::Decode {
            path: "/links".into(),
            message: "other".into(),
            raw: Bytes::new(),
        }));
    }

    #[test]
    fn streams_are_send_and_static() {
        fn assert_send_static<T: Send + 'static>() {}
        assert_send_static::<Pages<PeerPage>>();
        assert_send_static::<Items<models::Peer>>();
        assert_send_static::<Items<models::Container>>();
    }
}
