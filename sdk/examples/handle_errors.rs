//! Handling failures: a 404, a 409, a rate limit (429), an HTML page from a proxy (503) and an
//! id refused before sending, each matched on `atlas_network_peering::Error` and its helpers.
//!
//! ```sh
//! cargo run -p atlas-network-peering --example handle_errors
//! ```
//!
//! With `MONGODB_ATLAS_*` credentials and `MONGODB_ATLAS_GROUP_ID` in the environment, the 404
//! is asked of Atlas (a read of a peering connection that does not exist). The 409, the 429 and
//! the 503 always come from a local mock serving the recorded exchanges of `fixtures/`:
//! provoking them on a real project would mean creating resources or flooding the API.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering::models::Peer;
use atlas_network_peering::pagination::{ClientPaginationExt, MAX_ITEMS_PER_PAGE, Paging};
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{ApiErrorCode, CloudProvider};
use futures_util::StreamExt;
use support::{BoxError, Fixture, Session};

/// What the local mock answers with.
const RECORDED: &[&str] = &[
    "get_peer/not_found_404",
    "create_peer/peer_already_exists_409",
    "list_peers/aws_200",
    "list_peers/rate_limited_429",
    "get_peer/service_unavailable_503",
];

/// A peering connection id that exists neither in the recordings nor, most likely, on Atlas.
const MISSING_PEER: &str = "660899aabbccddeeff001122";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let session = support::connect(RECORDED).await?;
    not_found(&session).await?;
    refused_before_sending(&session).await?;

    let mock_only = if session.is_mock() {
        None
    } else {
        Some(
            support::local(
                RECORDED,
                "the 409, 429 and 503 are not provoked on a real project",
            )
            .await?,
        )
    };
    let local = mock_only.as_ref().unwrap_or(&session);
    conflict(local).await?;
    rate_limited(local).await?;
    proxy_error_page(local).await?;

    if let Some(local) = &mock_only {
        local.finish();
    }
    session.finish();
    Ok(())
}

/// A read that may find nothing: `Ok(None)` for a 404 about the connection itself. A 404 about
/// the project (`GROUP_NOT_FOUND`) is a mistake of the caller and stays an error.
async fn find_peer(
    client: &atlas_network_peering::Client,
    project: &str,
    peer_id: &str,
) -> Result<Option<Peer>, atlas_network_peering::Error> {
    match client
        .get_peer()
        .group_id(project)
        .peer_id(peer_id)
        .send()
        .await
    {
        Ok(peer) => Ok(Some(peer)),
        Err(e) if e.is_gone() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn not_found(session: &Session) -> Result<(), BoxError> {
    println!("404: reading peering connection {MISSING_PEER}");
    match find_peer(&session.client, &session.group_id, MISSING_PEER).await? {
        Some(peer) => println!("   it exists after all: {:?}", peer.status()),
        None => println!("   no such connection: find_peer gave Ok(None)"),
    }
    // The same answer, looked at directly.
    let sent = session
        .client
        .get_peer()
        .group_id(session.group_id.as_str())
        .peer_id(MISSING_PEER)
        .send()
        .await;
    if let Err(e) = sent {
        describe(&e);
    }
    Ok(())
}

async fn refused_before_sending(session: &Session) -> Result<(), BoxError> {
    println!("\nBad id: a project id that is not 24 hex characters");
    let before = session.client.exchanges();
    if let Err(e) = find_peer(&session.client, "my-project", MISSING_PEER).await {
        describe(&e);
    }
    println!("   requests sent: {}", session.client.exchanges() - before);
    Ok(())
}

/// Creating something that may exist already: a 409 with `PEER_ALREADY_EXISTS` means the
/// work is done; carry on with the existing connection.
async fn conflict(session: &Session) -> Result<(), BoxError> {
    println!("\n409: requesting an AWS peering that exists already");
    // The recorded request, sent again.
    let request: Peer = serde_json::from_value(
        Fixture::load("create_peer/peer_already_exists_409")?
            .request
            .get("body")
            .cloned()
            .ok_or("the recording has no request body")?,
    )?;
    let Peer::Aws(aws) = &request else {
        return Err("the recorded request is not an AWS peering".into());
    };
    let vpc_id = aws.vpc_id.clone();
    let sent = session
        .client
        .create_peer()
        .group_id(session.group_id.as_str())
        .body(request)
        .send()
        .await;
    match sent {
        Ok(created) => println!("   created {:?}", created.id()),
        Err(e) if e.is_conflict() => {
            describe(&e);
            match e.error_code() {
                Some(ApiErrorCode::PeerAlreadyExists) => {
                    let paging = Paging::new()
                        .items_per_page(MAX_ITEMS_PER_PAGE)
                        .provider(CloudProvider::Aws);
                    let mut peers = session.client.peers(&session.group_id, paging);
                    while let Some(peer) = peers.next().await {
                        let peer = peer?;
                        if matches!(&peer, Peer::Aws(p) if p.vpc_id == vpc_id) {
                            println!(
                                "   carrying on with the existing connection {} ({})",
                                peer.id().unwrap_or("?"),
                                peer.raw_status().unwrap_or("no status")
                            );
                        }
                    }
                }
                // Other conflicts (PEER_ALREADY_REQUESTED_DELETION, CONTAINERS_IN_USE, ...)
                // need a person.
                _ => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// A client whose retries do not wait long, so that this example does not sit through the
/// 37 s the recorded 429 asks for. `Retry-After` is honoured up to `max_delay`.
fn impatient_client(session: &Session) -> Result<atlas_network_peering::Client, BoxError> {
    let policy = RetryPolicy::default().with_max_delay(Duration::from_millis(200));
    let config = atlas_network_peering::Config::new()
        .with_base_url(&session.base_url)?
        .with_retry_policy(policy);
    Ok(atlas_network_peering::Client::from_config(config)?)
}

/// A rate limit reaches the caller only after the client's own retries; then it is the
/// caller's turn to back off, for as long as `Retry-After` says.
async fn rate_limited(session: &Session) -> Result<(), BoxError> {
    println!("\n429: listing Azure peering connections too often");
    let client = impatient_client(session)?;
    let sent = client
        .list_peers()
        .group_id(session.group_id.as_str())
        .provider_name(CloudProvider::Azure)
        .send()
        .await;
    match sent {
        Ok(page) => println!("   {} connections", page.results.len()),
        Err(e) if e.is_rate_limited() => {
            describe(&e);
            let retry_after = e
                .api_failure()
                .and_then(|f| f.headers().get("retry-after"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            println!(
                "   the client tried {} times; the server asks to wait {} s before the next try",
                client.exchanges(),
                retry_after.map_or_else(|| "an unknown number of".to_owned(), |s| s.to_string())
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Something in front of Atlas answered with an HTML page: no Atlas error object, but the
/// status and the text still reach the caller.
async fn proxy_error_page(session: &Session) -> Result<(), BoxError> {
    println!("\n503: a proxy answers with an HTML page");
    let client = impatient_client(session)?;
    match find_peer(&client, &session.group_id, "66045d7f1b6e0a5c8d2f3b94").await {
        Ok(peer) => println!("   found: {:?}", peer.as_ref().and_then(Peer::id)),
        Err(e) => describe(&e),
    }
    Ok(())
}

/// What a caller can learn from any `atlas_network_peering::Error`.
fn describe(e: &atlas_network_peering::Error) {
    println!("   error: {e}");
    match e {
        atlas_network_peering::Error::Api(failure) => {
            println!(
                "   Api: status {}, errorCode {}, retryable: {}",
                failure.status().as_u16(),
                e.error_code()
                    .map_or("(not an Atlas error object)", ApiErrorCode::as_str),
                e.is_retryable(),
            );
            if let Some(detail) = e.detail() {
                println!("   detail: {detail}");
            }
            if e.error_code().is_none() {
                let raw = e.raw_body().unwrap_or_default();
                println!(
                    "   raw body: {}",
                    raw.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
        }
        atlas_network_peering::Error::InvalidArgument(why) => println!("   InvalidArgument: {why}"),
        atlas_network_peering::Error::Transport(_) => {
            println!("   Transport: retryable: {}", e.is_retryable())
        }
        atlas_network_peering::Error::Decode { path, .. } => {
            println!("   Decode: the body breaks the spec at {path}")
        }
        // `atlas_network_peering::Error` is non-exhaustive; Auth, Config, BodyTooLarge, UnexpectedStatus, ...
        other => println!("   other: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    /// The example, run against the recorded exchanges whatever the environment holds.
    #[tokio::test]
    async fn runs_against_the_recorded_exchanges() {
        let session = super::support::local(super::RECORDED, "test")
            .await
            .expect("the local mock starts");
        super::not_found(&session).await.expect("404");
        super::refused_before_sending(&session)
            .await
            .expect("bad id");
        super::conflict(&session).await.expect("409");
        super::rate_limited(&session).await.expect("429");
        super::proxy_error_page(&session).await.expect("503");
    }
}
