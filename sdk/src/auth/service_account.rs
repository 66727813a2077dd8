#![deny(missing_docs)]
//! Service accounts: OAuth 2.0 client credentials traded for a bearer token at the token
//! endpoint, cached until shortly before it expires. One refresh at a time: concurrent callers
//! that find the token missing or stale wait for the one fetch in flight.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::Secret;
use crate::deadline::{self, Limits, Progress};

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
    fetches: std::sync::atomic::AtomicU64,
    limits: Limits,
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
    /// A source for this service account at `token_url`.
    pub fn new(client_id: String, client_secret: Secret, token_url: String) -> Self {
        Self {
            client_id,
            client_secret,
            token_url,
            cache: Mutex::new(None),
            fetches: Default::default(),
            limits: Limits::default(),
        }
    }

    /// The time limits of a token request (the client's, as for every other request).
    pub(crate) fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many times a token was fetched (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a new one fetched with `http`.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, String> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *cache = Some(token);
        Ok(value)
    }

    /// Forgets `used` if it is still the cached token (the server refused it); a token some
    /// other caller already renewed is kept.
    pub async fn invalidate(&self, used: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|t| &t.value == used) {
            *cache = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, String> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let request = http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body("grant_type=client_credentials");
        let progress = Progress::start();
        let exchange = async {
            let mut response = request
                .send()
                .await
                .map_err(|e| format!("token request to {} failed: {e}", self.token_url))?;
            progress.mark();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("token response from {} broke: {e}", self.token_url))?
            {
                progress.mark();
                if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                    return Err(format!(
                        "token response from {} is longer than {MAX_TOKEN_RESPONSE} bytes",
                        self.token_url
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, String>((response.status(), body))
        };
        let (status, body) = deadline::within(self.limits, &progress, std::pin::pin!(exchange))
            .await
            .map_err(|limit| format!("token request to {} timed out: {limit}", self.token_url))??;
        if !status.is_success() {
            // OAuth error bodies carry `error`/`error_description`, never the secret; show a
            // bounded excerpt.
            let text = String::from_utf8_lossy(&body);
            let excerpt: String = text.chars().take(300).collect();
            return Err(format!(
                "token endpoint {} answered {}: {}",
                self.token_url,
                status.as_u16(),
                excerpt.trim()
            ));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "token endpoint {} sent a body that is not a token response: {e}",
                self.token_url
            )
        })?;
        if parsed
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(format!(
                "token endpoint {} sent a token of type {:?}, not bearer",
                self.token_url, parsed.token_type
            ));
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
