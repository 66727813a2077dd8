#![deny(missing_docs)]
//! Service accounts: OAuth 2.0 client credentials traded for a bearer token at the token
//! endpoint, cached until shortly before it expires. One refresh at a time: concurrent callers
//! that find the token missing or stale wait for the one fetch in flight.
//!
//! The token request authenticates with HTTP Basic, client id and secret each form-encoded
//! first (RFC 6749 §2.3.1), and is retried like a GET (429, 5xx, a connection that failed or
//! broke) within the client's retry policy and time limits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use tokio::time::Instant;

use crate::config::{Config, Secret};
use crate::error::Error;
use crate::retry::{self, RetryPolicy};

/// A token is renewed this long before the server says it expires.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint gives none.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The longest token response read; a token response is a few hundred bytes.
pub const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

#[derive(Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

/// A cached bearer token and how to get a new one.
pub struct TokenSource {
    client_id: String,
    client_secret: Secret,
    token_url: String,
    cache: Mutex<Option<Token>>,
    refresh: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    retry: RetryPolicy,
    connect_timeout: Duration,
    read_timeout: Duration,
    attempt_timeout: Duration,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

impl TokenSource {
    /// A source for this service account at `token_url`; the token requests follow the
    /// retry policy of `config` (as a GET would) and its time limits.
    pub(crate) fn new(
        client_id: String,
        client_secret: Secret,
        token_url: String,
        config: &Config,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            token_url,
            cache: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            retry: config.retry,
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            attempt_timeout: config.timeout,
        }
    }

    /// How many times a token was fetched (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token, unless it is missing or due for renewal.
    pub fn cached(&self) -> Option<Secret> {
        self.cache()
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at)
            .map(|t| t.value.clone())
    }

    /// A valid token: the cached one, or a new one fetched with `http`.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, Error> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let _refreshing = self.refresh.lock().await;
        // Another caller may have refreshed it while this one waited.
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *self.cache() = Some(token);
        Ok(value)
    }

    /// Forgets `used` if it is still the cached token (the server refused it); a token some
    /// other caller already renewed is kept.
    pub fn invalidate(&self, used: &Secret) {
        let mut cache = self.cache();
        if cache.as_ref().is_some_and(|t| &t.value == used) {
            *cache = None;
        }
    }

    /// Fetches a token, retried as a GET would be (the one retry loop of [`retry::run`]).
    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, Error> {
        retry::run(&self.retry, &Method::GET, |_| async {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match tokio::time::timeout(self.attempt_timeout, self.request(http)).await {
                Ok(answer) => answer,
                Err(_) => Err(Error::attempt_timed_out(self.attempt_timeout)),
            }
        })
        .await
        .map_err(|e| match e {
            Error::Auth(_) => e,
            e => Error::Auth(format!(
                "the token request to {} failed: {e}",
                self.token_url
            )),
        })
    }

    /// One token request.
    async fn request(&self, http: &reqwest::Client) -> Result<Token, Error> {
        let started = Instant::now();
        // RFC 6749 §2.3.1: each is form-encoded before it goes into Basic authentication.
        let form = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let transport = |e| {
            Error::from_reqwest(
                e,
                self.connect_timeout,
                self.read_timeout,
                MAX_TOKEN_RESPONSE,
            )
        };
        let mut response = http
            .post(&self.token_url)
            .basic_auth(
                form(&self.client_id),
                Some(form(self.client_secret.expose())),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(transport)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                return Err(Error::Auth(format!(
                    "the token response from {} is longer than {MAX_TOKEN_RESPONSE} bytes",
                    self.token_url
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let status = response.status();
        if !status.is_success() {
            // OAuth error bodies carry `error`/`error_description`, never the secret.
            let host = response.url().authority().to_owned();
            let headers = response.headers().clone();
            return Err(Error::api(status, headers, &body, false, &host));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            Error::Auth(format!(
                "the token endpoint {} sent a body that is not a token response: {e}",
                self.token_url
            ))
        })?;
        if parsed
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(Error::Auth(format!(
                "the token endpoint {} sent a token of type {:?}, not bearer",
                self.token_url, parsed.token_type
            )));
        }
        let lifetime = parsed
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        let renew_at = started + lifetime.saturating_sub(EXPIRY_MARGIN.min(lifetime / 2));
        Ok(Token {
            value: Secret::new(parsed.access_token),
            renew_at,
        })
    }
}
