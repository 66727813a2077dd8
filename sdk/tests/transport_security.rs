//! Credentials never travel in clear text, and a request never goes where the caller did not
//! send it: plain `http` is refused off this machine unless the caller opts in, and redirects
//! are not followed.

use atlas_network_peering::config::ConfigError;
use atlas_network_peering::retry::RetryPolicy;
use atlas_network_peering::{Client, Config, Error};
use httpmock::prelude::*;
use serde_json::json;

mod common;
use common::{GROUP, get_peer};

fn refused(config: Config) -> ConfigError {
    match Client::from_config(config) {
        Err(Error::Config(e)) => e,
        Err(other) => panic!("expected a ConfigError, got {other:?}"),
        Ok(_) => panic!("a client was built"),
    }
}

#[test]
fn plain_http_to_another_machine_is_refused_naming_the_url() {
    let url = "http://10.255.255.1:9";
    let config = Config::new()
        .with_base_url(url)
        .unwrap()
        .with_service_account("mdb_sa_id_1", "mdb_sa_sk_secret");
    let error = refused(config);
    assert_eq!(
        error,
        ConfigError::InsecureUrl {
            setting: "base_url",
            url: url.to_owned()
        }
    );
    let message = error.to_string();
    assert!(message.contains("http://10.255.255.1:9"), "{message}");
    assert!(message.contains("allow_insecure_http"), "{message}");
    assert!(!message.contains("mdb_sa_sk_secret"));

    // The token URL too, even with an https base URL; and with no credentials at all.
    let config = Config::new()
        .with_service_account("mdb_sa_id_1", "s")
        .with_token_url("http://auth.example.com/token")
        .unwrap();
    assert!(matches!(
        refused(config),
        ConfigError::InsecureUrl {
            setting: "token_url",
            ..
        }
    ));
    let from_env = Config::from_lookup(|name| match name {
        "MONGODB_ATLAS_PUBLIC_API_KEY" => Some("pub".into()),
        "MONGODB_ATLAS_PRIVATE_API_KEY" => Some("priv".into()),
        "MONGODB_ATLAS_BASE_URL" => Some("http://atlas.internal.example".into()),
        _ => None,
    })
    .unwrap();
    assert!(matches!(refused(from_env), ConfigError::InsecureUrl { .. }));
}

#[test]
fn loopback_and_an_explicit_opt_in_are_allowed() {
    for url in [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://localhost:3000",
        "http://LOCALHOST",
        "http://[::1]:8080",
        "https://10.255.255.1",
    ] {
        let config = Config::new()
            .with_base_url(url)
            .unwrap()
            .with_api_key("p", "s");
        assert!(Client::from_config(config).is_ok(), "{url}");
    }
    for url in [
        "http://127.0.0.1.example.com",
        "http://[::2]",
        "http://10.0.0.1",
    ] {
        let config = Config::new().with_base_url(url).unwrap();
        assert!(Client::from_config(config).is_err(), "{url}");
    }
    let opted_in = Config::new()
        .with_base_url("http://10.255.255.1:9")
        .unwrap()
        .with_api_key("p", "s")
        .allow_insecure_http(true);
    assert!(Client::from_config(opted_in).is_ok());
}

#[tokio::test]
async fn a_redirect_is_an_error_naming_its_location_and_nothing_follows_it() {
    let elsewhere = MockServer::start_async().await;
    let target = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({}));
        })
        .await;
    let location = format!("{}/collect", elsewhere.base_url());
    let server = MockServer::start_async().await;
    let moved = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(302).header("location", &location);
        })
        .await;
    let client = Client::from_config(
        Config::new()
            .with_base_url(&server.base_url())
            .unwrap()
            .with_api_key("pub", "priv")
            .with_retry_policy(RetryPolicy::default()),
    )
    .unwrap();
    let error = get_peer(&client).await.unwrap_err();
    match &error {
        Error::UnexpectedStatus {
            status,
            location: Some(to),
        } => {
            assert_eq!(status.as_u16(), 302);
            assert_eq!(to, &location);
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains(&location), "{error}");
    assert!(!error.is_retryable());
    // A body is not re-sent elsewhere either.
    let error = client
        .set_private_ip_mode()
        .group_id(GROUP)
        .body(atlas_network_peering::types::PrivateIpMode { enabled: true })
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(302));
    moved.assert_calls_async(2).await;
    target.assert_calls_async(0).await;
}
