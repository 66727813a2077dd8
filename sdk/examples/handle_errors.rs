//! Handling failures: a 404, a 409, a rate limit (429), a service that stays unavailable (503)
//! and an id refused before sending, each matched on `atlas_network_peering::Error` and its
//! helpers.
//!
//! ```sh
//! cargo run -p atlas-network-peering --example handle_errors
//! ```
//!
//! With `MONGODB_ATLAS_*` credentials and `MONGODB_ATLAS_GROUP_ID` in the environment, the 404
//! is asked of Atlas (a read of a peering connection that does not exist). The 409, the 429 and
//! the 503 always come from the local Atlas of `sim/`: provoking them on a real project would
//! mean creating resources or flooding the API.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use atlas_network_peering::models::Peer;
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::types::{ApiErrorCode, AwsContainer, AwsRegion, CloudProvider};
use atlas_network_peering_sim::Fault;
use support::{BoxError, Session};

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
    let session = support::connect().await?;
    not_found(&session).await?;
    refused_before_sending(&session).await?;

    let local_only = if session.is_local() {
        None
    } else {
        Some(support::local("the 409, 429 and 503 are not provoked on a real project").await?)
    };
    let local = local_only.as_ref().unwrap_or(&session);
    conflict(local).await?;
    rate_limited(local).await?;
    unavailable(local).await?;

    if let Some(local) = &local_only {
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

/// Creating something that may exist already: a 409 that `is_already_exists()` means the
/// work is done; carry on with the existing one. Any other conflict needs a person.
async fn conflict(session: &Session) -> Result<(), BoxError> {
    println!("\n409: creating the AWS container of a region twice");
    let create = || {
        session
            .client
            .create_container()
            .group_id(session.group_id.as_str())
            .body(AwsContainer::new("10.20.0.0/21", AwsRegion::UsWest2))
            .send()
    };
    let first = create().await?;
    println!("   created {}", first.id().unwrap_or("?"));
    match create().await {
        Ok(again) => println!("   created another: {:?}", again.id()),
        Err(e) if e.is_already_exists() => {
            describe(&e);
            println!(
                "   carrying on with the existing container {}",
                first.id().unwrap_or("?")
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// A client that makes one attempt, so that the failures below reach this example at once.
fn one_attempt_client(session: &Session) -> Result<atlas_network_peering::Client, BoxError> {
    let sim = session.sim.as_ref().ok_or("the local Atlas")?;
    let config = atlas_network_peering::Config::new()
        .with_base_url(&session.base_url)?
        .with_api_key(sim.public_key(), sim.private_key())
        .with_retry_policy(RetryPolicy::none());
    Ok(atlas_network_peering::Client::from_config(config)?)
}

/// A rate limit reaches the caller only after the client's own retries (a `Retry-After` is
/// waited in full, or the call stops at once when it would pass the time budget); then it is
/// the caller's turn to back off, for as long as `Retry-After` says.
async fn rate_limited(session: &Session) -> Result<(), BoxError> {
    println!("\n429: listing Azure peering connections too often");
    let sim = session.sim.as_ref().ok_or("the local Atlas")?;
    sim.set_rate_limit(Some((1, Duration::from_secs(120))));
    let client = one_attempt_client(session)?;
    let list = || {
        client
            .list_peers()
            .group_id(session.group_id.as_str())
            .provider_name(CloudProvider::Azure)
            .send()
    };
    let mut outcome = list().await;
    if outcome.is_ok() {
        outcome = list().await;
    }
    sim.set_rate_limit(None);
    match outcome {
        Ok(page) => println!("   {} connections", page.results.len()),
        Err(e) if e.is_rate_limited() => {
            describe(&e);
            let retry_after = e
                .api_failure()
                .and_then(|f| f.headers().get("retry-after"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            println!(
                "   the server asks to wait {} s before the next try",
                retry_after.map_or_else(|| "an unknown number of".to_owned(), |s| s.to_string())
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// A service that stays unavailable: the client retries (4 attempts by default, with backoff),
/// then the last 503 reaches the caller.
async fn unavailable(session: &Session) -> Result<(), BoxError> {
    println!("\n503: the service stays unavailable");
    let sim = session.sim.as_ref().ok_or("the local Atlas")?;
    sim.fail_next(4, Fault::Unavailable);
    let before = session.client.exchanges();
    match find_peer(&session.client, &session.group_id, MISSING_PEER).await {
        Ok(peer) => println!("   found: {:?}", peer.as_ref().and_then(Peer::id)),
        Err(e) => {
            describe(&e);
            println!("   after {} attempts", session.client.exchanges() - before);
        }
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
        atlas_network_peering::Error::Transport { .. } => {
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
    /// The example, run against the local Atlas whatever the environment holds.
    #[tokio::test]
    async fn runs_against_the_local_atlas() {
        let session = super::support::local("test").await.unwrap();
        super::not_found(&session).await.expect("404");
        super::refused_before_sending(&session)
            .await
            .expect("bad id");
        super::conflict(&session).await.expect("409");
        super::rate_limited(&session).await.expect("429");
        super::unavailable(&session).await.expect("503");
    }
}
