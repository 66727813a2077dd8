//! HTTP Digest for API keys (RFC 7616): the public key is the username, the private key the
//! password. The `http-auth` crate reads the challenge and computes each response (MD5 and
//! `qop=auth` as Atlas sends them, with the nonce count it keeps per challenge); this module
//! keeps only what is the client's own around it:
//!
//! - one cached challenge per client, signed with the next nonce count by every call, so a call
//!   costs one exchange once a challenge is cached;
//! - the first calls of a fresh client share one challenge: the first takes it (two
//!   exchanges), those started meanwhile wait for it and then sign with it;
//! - a 401 brings a fresh challenge (a stale nonce, or a server that forgot it), which replaces
//!   the cached one; the call is answered once with it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use http_auth::{DigestClient, PasswordParams};
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

use crate::config::Secret;

/// An API key's Digest state, shared by the calls of one client.
pub(crate) struct Digest {
    username: String,
    password: Secret,
    /// Whether requests are signed ahead of time with the cached challenge.
    pub(crate) preemptive: bool,
    /// The latest challenge, with its nonce count.
    current: Mutex<Option<DigestClient>>,
    /// Held by the one call that takes a fresh client's first challenge.
    probe: tokio::sync::Mutex<()>,
    /// The server answered without challenging: calls need not wait for a first challenge.
    unchallenged: AtomicBool,
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

impl Digest {
    pub(crate) fn new(username: String, password: Secret, preemptive: bool) -> Self {
        Self {
            username,
            password,
            preemptive,
            current: Mutex::new(None),
            probe: tokio::sync::Mutex::new(()),
            unchallenged: AtomicBool::new(false),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<DigestClient>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has_challenge(&self) -> bool {
        self.current().is_some()
    }

    /// Before a call's attempt on a client that has no challenge yet: the first caller gets
    /// the probe's guard (hold it until its 401 stored the challenge); the others wait for it,
    /// then sign with the stored challenge.
    pub(crate) async fn first_challenge(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if !self.preemptive || self.has_challenge() || self.unchallenged.load(Ordering::Relaxed) {
            return None;
        }
        let guard = self.probe.lock().await;
        (!self.has_challenge()).then_some(guard)
    }

    /// The probe's attempt was answered without a challenge: later first calls need not wait.
    pub(crate) fn answered_unchallenged(&self) {
        self.unchallenged.store(true, Ordering::Relaxed);
    }

    /// The `Authorization` value for `method` and `uri` (path and query) with the cached
    /// challenge and its next nonce count; `None` without a challenge.
    pub(crate) fn sign(&self, method: &str, uri: &str) -> Option<String> {
        let mut current = self.current();
        let client = current.as_mut()?;
        let params = PasswordParams {
            username: &self.username,
            password: self.password.expose(),
            uri,
            method,
            body: None,
        };
        client.respond(&params).ok()
    }

    /// Stores the Digest challenge of a 401, replacing the cached one; `false` when the 401
    /// holds no usable Digest challenge.
    pub(crate) fn store_challenge(&self, headers: &HeaderMap) -> bool {
        let fresh = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| http_auth::parse_challenges(value).ok())
            .flatten()
            .filter(|challenge| challenge.scheme.eq_ignore_ascii_case("Digest"))
            .find_map(|challenge| DigestClient::try_from(&challenge).ok());
        match fresh {
            Some(client) => {
                *self.current() = Some(client);
                true
            }
            None => {
                tracing::warn!("401 without a usable Digest challenge");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = r#"Digest realm="MMS Public API", domain="", nonce="n0nce", algorithm=MD5, qop="auth", stale=false"#;

    fn field<'h>(header: &'h str, name: &str) -> &'h str {
        let start = header.find(&format!("{name}=")).unwrap() + name.len() + 1;
        let rest = header[start..].trim_start_matches('"');
        rest.split(['"', ',']).next().unwrap()
    }

    #[test]
    fn signs_with_the_next_nonce_count_and_restarts_on_a_fresh_challenge() {
        let digest = Digest::new("pub".into(), Secret::new("priv"), true);
        assert!(digest.sign("GET", "/p").is_none(), "no challenge yet");
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, CHALLENGE.parse().unwrap());
        assert!(digest.store_challenge(&headers));
        let first = digest.sign("GET", "/p?x=1").unwrap();
        let second = digest.sign("GET", "/p").unwrap();
        assert_eq!(field(&first, "nc"), "00000001");
        assert_eq!(field(&second, "nc"), "00000002");
        assert_eq!(field(&first, "uri"), "/p?x=1");
        assert_eq!(field(&first, "username"), "pub");
        assert!(!first.contains("priv"));
        assert!(digest.store_challenge(&headers));
        assert_eq!(field(&digest.sign("GET", "/p").unwrap(), "nc"), "00000001");
    }

    #[test]
    fn a_401_without_a_digest_challenge_is_not_answered() {
        let digest = Digest::new("pub".into(), Secret::new("priv"), true);
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, r#"Basic realm="x""#.parse().unwrap());
        assert!(!digest.store_challenge(&headers));
        assert!(!digest.store_challenge(&HeaderMap::new()));
        assert!(!format!("{digest:?}").contains("priv"));
    }
}
