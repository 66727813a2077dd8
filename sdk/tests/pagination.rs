//! Pagination streams against servers the test starts on 127.0.0.1: one request per page, in
//! order, lazily; every way a listing ends; bad arguments; errors; servers that repeat a page.

use atlas_network_peering::pagination::{ClientPaginationExt, Paging};
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::CloudProvider;
use atlas_network_peering::{Client, Config};
use futures_util::StreamExt;
use httpmock::prelude::*;
use serde_json::{Value, json};

mod common;
use common::{CONTAINER, GROUP};

fn peers_path() -> String {
    format!("/api/atlas/v1.0/groups/{GROUP}/peers")
}

fn client(server: &MockServer) -> Client {
    let config = Config::new()
        .with_base_url(&server.base_url())
        .unwrap()
        .with_retry_policy(RetryPolicy::none());
    Client::from_config(config).unwrap()
}

fn peer_id(n: u32) -> String {
    format!("65c1d2e3f4a5b6c7d8e9{n:04x}")
}

fn gcp_peer(n: u32) -> Value {
    json!({"id": peer_id(n), "providerName": "GCP", "containerId": CONTAINER,
           "gcpProjectId": "orbital-ledger-204817", "networkName": format!("net-{n}"),
           "status": "AVAILABLE", "errorMessage": null})
}

fn link(rel: &str, page: u32) -> Value {
    json!({"rel": rel, "href": format!(
        "https://cloud.mongodb.com/api/atlas/v1.0/groups/{GROUP}/peers?pageNum={page}&itemsPerPage=2")})
}

/// A page of peers `ids`, with a `self` link and, when `next`, a `next` link.
fn page(page_num: u32, ids: std::ops::Range<u32>, next: bool) -> Value {
    let mut links = vec![link("self", page_num)];
    if next {
        links.push(link("next", page_num + 1));
    }
    json!({"links": links, "results": ids.map(gcp_peer).collect::<Vec<_>>()})
}

fn ids(peers: &[atlas_network_peering::models::Peer]) -> Vec<String> {
    peers
        .iter()
        .map(|p| p.id().unwrap_or("?").to_owned())
        .collect()
}

/// A mock for `pageNum=page_num` that answers `body`.
async fn page_mock<'a>(
    server: &'a MockServer,
    page_num: u32,
    include_count: bool,
    body: Value,
) -> httpmock::Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peers_path())
                .query_param("pageNum", page_num.to_string())
                .query_param("itemsPerPage", "2")
                .query_param("includeCount", include_count.to_string());
            then.status(200).json_body(body);
        })
        .await
}

/// Matches any request to the peers list: must stay at zero calls.
async fn anything_else(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(599)
                .body("the stream sent a request it should not have");
        })
        .await
}

#[tokio::test]
async fn three_pages_are_fetched_once_each_in_order_and_lazily() {
    let server = MockServer::start_async().await;
    let mut first = page(1, 0..2, true);
    first["totalCount"] = json!(5);
    let p1 = page_mock(&server, 1, true, first).await;
    let p2 = page_mock(&server, 2, false, page(2, 2..4, true)).await;
    let p3 = page_mock(&server, 3, false, page(3, 4..5, false)).await;
    let other = anything_else(&server).await;
    let client = client(&server);

    let mut pages = client.peers_pages(GROUP, Paging::new().items_per_page(2));
    // Nothing is sent before the stream is polled.
    p1.assert_calls_async(0).await;

    let one = pages.next().await.unwrap().unwrap();
    assert_eq!(one.total_count, Some(5));
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(0).await;
    let two = pages.next().await.unwrap().unwrap();
    assert_eq!(
        two.total_count, None,
        "later pages do not ask for the count"
    );
    let three = pages.next().await.unwrap().unwrap();
    assert!(pages.next().await.is_none());
    assert!(pages.next().await.is_none(), "fused");
    assert_eq!(
        [one, two, three].map(|p| p.results.len()),
        [2, 2, 1],
        "pages in order"
    );
    for mock in [&p1, &p2, &p3] {
        mock.assert_calls_async(1).await;
    }
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_item_stream_yields_every_entry_in_order_one_page_at_a_time() {
    let server = MockServer::start_async().await;
    let p1 = page_mock(&server, 1, true, page(1, 0..2, true)).await;
    let p2 = page_mock(&server, 2, false, page(2, 2..4, true)).await;
    let p3 = page_mock(&server, 3, false, page(3, 4..5, false)).await;
    let other = anything_else(&server).await;
    let client = client(&server);

    let mut peers = client.peers(GROUP, Paging::new().items_per_page(2));
    let mut seen = Vec::new();
    // The next page is requested only once the current one is drained.
    for (expected_calls, _) in [(1, 0), (1, 1), (2, 2), (2, 3), (3, 4)] {
        seen.push(peers.next().await.unwrap().unwrap());
        assert_eq!(
            p1.calls_async().await + p2.calls_async().await + p3.calls_async().await,
            expected_calls
        );
    }
    assert!(peers.next().await.is_none());
    assert!(peers.next().await.is_none(), "fused");
    assert_eq!(ids(&seen), (0..5).map(peer_id).collect::<Vec<_>>());
    for mock in [&p1, &p2, &p3] {
        mock.assert_calls_async(1).await;
    }
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_short_page_is_the_last_even_with_a_next_link() {
    let server = MockServer::start_async().await;
    let p1 = page_mock(&server, 1, true, page(1, 0..2, true)).await;
    let p2 = page_mock(&server, 2, false, page(2, 2..3, true)).await;
    let other = anything_else(&server).await;
    let peers: Vec<_> = client(&server)
        .peers(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(Result::is_ok));
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_full_page_without_a_next_link_is_the_last() {
    let server = MockServer::start_async().await;
    let p1 = page_mock(&server, 1, true, page(1, 0..2, false)).await;
    let other = anything_else(&server).await;
    let peers: Vec<_> = client(&server)
        .peers(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(peers.len(), 2);
    p1.assert_calls_async(1).await;
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn pages_without_links_end_on_the_other_signals() {
    let server = MockServer::start_async().await;
    let bare =
        |ids: std::ops::Range<u32>| json!({"results": ids.map(gcp_peer).collect::<Vec<_>>()});
    let p1 = page_mock(&server, 1, true, bare(0..2)).await;
    let p2 = page_mock(&server, 2, false, bare(2..4)).await;
    let p3 = page_mock(&server, 3, false, bare(4..4)).await;
    let other = anything_else(&server).await;
    let pages: Vec<_> = client(&server)
        .peers_pages(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(pages.len(), 3, "the empty third page ends the listing");
    for mock in [&p1, &p2, &p3] {
        mock.assert_calls_async(1).await;
    }
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn reaching_total_count_ends_the_listing() {
    let server = MockServer::start_async().await;
    let mut first = page(1, 0..2, true);
    first["totalCount"] = json!(4);
    let p1 = page_mock(&server, 1, true, first).await;
    // The server still offers a next page: the count wins.
    let p2 = page_mock(&server, 2, false, page(2, 2..4, true)).await;
    let other = anything_else(&server).await;
    let peers: Vec<_> = client(&server)
        .peers(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(peers.len(), 4);
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn an_empty_first_page_is_yielded_and_ends_the_listing() {
    let server = MockServer::start_async().await;
    let empty = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peers_path())
                .query_param("pageNum", "1");
            then.status(200)
                .json_body(json!({"links": [link("self", 1)], "results": [], "totalCount": 0}));
        })
        .await;
    let client = client(&server);
    let pages: Vec<_> = client.peers_pages(GROUP, Paging::new()).collect().await;
    assert_eq!(pages.len(), 1);
    let page = pages.into_iter().next().unwrap().unwrap();
    assert!(page.results.is_empty());
    assert_eq!(page.total_count, Some(0));
    let peers: Vec<_> = client.peers(GROUP, Paging::new()).collect().await;
    assert!(peers.is_empty());
    empty.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_server_repeating_the_same_page_forever_ends_with_a_repeated_page_error() {
    let server = MockServer::start_async().await;
    // Ignores pageNum: always the first page, full, with a next link.
    let forever = server
        .mock_async(|when, then| {
            when.method(GET).path(peers_path());
            then.status(200).json_body(page(1, 0..2, true));
        })
        .await;
    let client = client(&server);

    let mut peers = client.peers(GROUP, Paging::new().items_per_page(2));
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..20 {
        match peers.next().await {
            Some(Ok(peer)) => items.push(peer),
            Some(Err(e)) => errors.push(e),
            None => break,
        }
    }
    assert!(peers.next().await.is_none(), "the stream ended");
    assert_eq!(ids(&items), [peer_id(0), peer_id(1)], "page 1 once");
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert!(
        matches!(
            error,
            atlas_network_peering::Error::RepeatedPage {
                page: 2,
                by: "the same self link"
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("page 2 repeats page 1 (the same self link)"),
        "{error}"
    );
    forever.assert_calls_async(2).await;
}

#[tokio::test]
async fn repeated_content_is_caught_without_self_links() {
    let server = MockServer::start_async().await;
    let bare = |ids: std::ops::Range<u32>, next: u32| json!({"links": [link("next", next)], "results": ids.map(gcp_peer).collect::<Vec<_>>()});
    // Pages 1, 2, then page 3 holds page 2's entries again.
    let p1 = page_mock(&server, 1, true, bare(0..2, 2)).await;
    let p2 = page_mock(&server, 2, false, bare(2..4, 3)).await;
    let p3 = page_mock(&server, 3, false, bare(2..4, 4)).await;
    let other = anything_else(&server).await;
    let pages: Vec<_> = client(&server)
        .peers_pages(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(pages.len(), 3);
    assert!(pages[0].is_ok() && pages[1].is_ok());
    let Err(error) = &pages[2] else {
        panic!("{:?}", pages[2])
    };
    assert!(
        matches!(
            error,
            atlas_network_peering::Error::RepeatedPage {
                page: 3,
                by: "the same entries"
            }
        ),
        "{error:?}"
    );
    for mock in [&p1, &p2, &p3] {
        mock.assert_calls_async(1).await;
    }
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn bad_arguments_are_one_invalid_argument_and_no_request() {
    let server = MockServer::start_async().await;
    let other = anything_else(&server).await;
    let client = client(&server);
    for n in [0, 501, u32::MAX] {
        let paging = Paging::new().items_per_page(n);
        let pages: Vec<_> = client.peers_pages(GROUP, paging.clone()).collect().await;
        let items: Vec<_> = client.containers(GROUP, paging).collect().await;
        fn only_error<T>(v: &[Result<T, atlas_network_peering::Error>]) -> String {
            assert_eq!(v.len(), 1, "one item, then the end");
            match &v[0] {
                Err(e @ atlas_network_peering::Error::InvalidArgument(_)) => e.to_string(),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("an item"),
            }
        }
        for message in [only_error(&pages), only_error(&items)] {
            assert!(message.contains("items_per_page"), "{message}");
            assert!(message.contains(&n.to_string()), "{message}");
        }
    }
    // Every provider at once takes no provider.
    let all: Vec<_> = client
        .all_containers(GROUP, Paging::new().provider(CloudProvider::Gcp))
        .collect()
        .await;
    assert!(
        matches!(&all[..], [Err(atlas_network_peering::Error::InvalidArgument(m))] if m.starts_with("provider"))
    );
    // A group id that is not 24 hex characters is refused before sending.
    let bad_group: Vec<_> = client.peers("not-a-group", Paging::new()).collect().await;
    assert!(matches!(
        &bad_group[..],
        [Err(atlas_network_peering::Error::InvalidArgument(_))]
    ));
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn an_error_page_mid_stream_is_yielded_then_the_stream_ends() {
    let server = MockServer::start_async().await;
    let p1 = page_mock(&server, 1, true, page(1, 0..2, true)).await;
    let failing = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peers_path())
                .query_param("pageNum", "2");
            then.status(500)
                .json_body(json!({"error": 500, "errorCode": "UNEXPECTED_ERROR",
                "reason": "Internal Server Error", "detail": "Something broke."}));
        })
        .await;
    let other = anything_else(&server).await;
    let client = client(&server);

    let items: Vec<_> = client
        .peers(GROUP, Paging::new().items_per_page(2))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    let error = items[2].as_ref().unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(error.detail(), Some("Something broke."));

    let mut pages = client.peers_pages(GROUP, Paging::new().items_per_page(2));
    assert!(pages.next().await.unwrap().is_ok());
    assert!(pages.next().await.unwrap().is_err());
    assert!(pages.next().await.is_none());
    assert!(pages.next().await.is_none());

    p1.assert_calls_async(2).await;
    failing.assert_calls_async(2).await;
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn each_operation_sends_its_path_provider_and_count_flag() {
    let server = MockServer::start_async().await;
    let container = json!({"id": CONTAINER, "providerName": "AZURE", "atlasCidrBlock": "10.8.0.0/21",
        "region": "US_EAST_2", "provisioned": false});
    let all = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/containers/all"))
                .query_param("pageNum", "1")
                .query_param("itemsPerPage", "500")
                .query_param("includeCount", "true")
                .query_param_missing("providerName");
            then.status(200)
                .json_body(json!({"results": [container], "totalCount": 1}));
        })
        .await;
    let azure = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/atlas/v1.0/groups/{GROUP}/containers"))
                .query_param("pageNum", "1")
                .query_param("itemsPerPage", "100")
                .query_param("includeCount", "false")
                .query_param("providerName", "AZURE");
            then.status(200).json_body(json!({"results": [container]}));
        })
        .await;
    let gcp = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(peers_path())
                .query_param("pageNum", "1")
                .query_param("itemsPerPage", "1")
                .query_param("providerName", "GCP");
            then.status(200)
                .json_body(json!({"results": [gcp_peer(7)], "totalCount": 1}));
        })
        .await;
    let other = anything_else(&server).await;
    let client = client(&server);

    let everything: Vec<_> = client
        .all_containers(GROUP, Paging::new().items_per_page(500))
        .collect()
        .await;
    assert_eq!(everything.len(), 1);
    assert_eq!(everything[0].as_ref().unwrap().id(), Some(CONTAINER));

    let azure_containers: Vec<_> = client
        .containers_pages(
            GROUP,
            Paging::new()
                .provider(CloudProvider::Azure)
                .include_count(false),
        )
        .collect()
        .await;
    assert_eq!(azure_containers.len(), 1, "a short page ends the listing");

    let peers: Vec<_> = client
        .peers(
            GROUP,
            Paging::new().items_per_page(1).provider(CloudProvider::Gcp),
        )
        .collect()
        .await;
    assert_eq!(peers.len(), 1, "totalCount 1 reached");
    assert_eq!(peers[0].as_ref().unwrap().id(), Some(peer_id(7).as_str()));

    all.assert_calls_async(1).await;
    azure.assert_calls_async(1).await;
    gcp.assert_calls_async(1).await;
    other.assert_calls_async(0).await;
}

#[tokio::test]
async fn streams_can_be_spawned() {
    let server = MockServer::start_async().await;
    let p1 = page_mock(&server, 1, true, page(1, 0..1, false)).await;
    let client = client(&server);
    let peers = client.peers(GROUP, Paging::new().items_per_page(2));
    let count = tokio::spawn(async move { peers.count().await })
        .await
        .unwrap();
    assert_eq!(count, 1);
    p1.assert_calls_async(1).await;
}
