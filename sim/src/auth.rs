//! Authentication as Atlas does it: HTTP Digest with the API key (realm `MMS Public API`, MD5,
//! `qop=auth`, RFC 7616), and bearer tokens from the service-account token endpoint (OAuth 2.0
//! client credentials, RFC 6749 §4.4).
//!
//! A 401 stores nothing: a nonce carries the time it was issued and a MAC of that time keyed by
//! a per-process secret (as Apache's `mod_auth_digest` does), so any nonce can be checked
//! without remembering it. Only a nonce that signed a request is remembered, for its replay
//! window, until it expires; expired tokens are dropped too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use md5::{Digest, Md5};

/// Atlas's Digest realm.
pub const REALM: &str = "MMS Public API";

/// How far below the highest nonce count a count may still arrive (concurrent requests
/// reorder them); one further below is refused as a replay.
const WINDOW: u32 = 1024;

/// The nonce counts a nonce has signed with, down to `WINDOW` below the highest. A count
/// seen before, or further below, is a replay.
#[derive(Debug, Default)]
struct Window {
    max: u32,
    seen: BTreeSet<u32>,
}

impl Window {
    fn accept(&mut self, nc: u32) -> bool {
        if nc.saturating_add(WINDOW) <= self.max || !self.seen.insert(nc) {
            return false;
        }
        self.max = self.max.max(nc);
        let floor = self.max.saturating_sub(WINDOW);
        while self.seen.first().is_some_and(|first| *first < floor) {
            self.seen.pop_first();
        }
        true
    }
}

/// What authentication concluded about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The request may proceed.
    Allowed,
    /// 401: challenge again (`stale`: the nonce had expired or is not ours, the credentials
    /// were right).
    Challenge { stale: bool },
}

/// The credentials that work against the simulator, and what it issued.
#[derive(Debug)]
pub struct Keys {
    pub(crate) public_key: String,
    pub(crate) private_key: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// Keys the nonces' MAC.
    secret: String,
    nonce_lifetime: Duration,
    token_lifetime: Duration,
    /// Nonces that signed a request, by nonce: issued when, and their replay window.
    used: HashMap<String, (Duration, Window)>,
    /// Tokens issued: when each expires.
    tokens: HashMap<String, Duration>,
}

/// Drops the entries of `map` that `keep` refuses once it holds a power of two of them (at
/// least 1,024), so that the cost is spread over the insertions.
fn prune<V>(map: &mut HashMap<String, V>, keep: impl Fn(&V) -> bool) {
    let n = map.len();
    if n >= 1024 && n.is_power_of_two() {
        map.retain(|_, v| keep(v));
    }
}

fn md5_hex(parts: &[&str]) -> String {
    let digest = Md5::digest(parts.join(":").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters of an `Authorization: Digest ...` value; `None` when it is not one.
fn digest_params(value: &str) -> Option<BTreeMap<String, String>> {
    let rest = value.trim().strip_prefix("Digest ")?;
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if name.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            loop {
                match chars.next()? {
                    '\\' => v.push(chars.next()?),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>()
        };
        params.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Some(params)
}

impl Keys {
    pub(crate) fn new(seed: &str, nonce_lifetime: Duration, token_lifetime: Duration) -> Self {
        Self {
            public_key: format!("simpub{}", &seed[..10]),
            private_key: format!("sim-private-{seed}"),
            client_id: format!("mdb_sa_id_{}", &seed[..16]),
            client_secret: format!("mdb_sa_sk_{seed}"),
            secret: crate::random_hex(32),
            nonce_lifetime,
            token_lifetime,
            used: HashMap::new(),
            tokens: HashMap::new(),
        }
    }

    /// How many nonces and tokens are remembered.
    pub(crate) fn stored(&self) -> (usize, usize) {
        (self.used.len(), self.tokens.len())
    }

    /// A nonce issued at `now`: the time in milliseconds (12 hex digits) and its MAC.
    fn nonce(&self, now: Duration) -> String {
        let time = format!("{:012x}", now.as_millis());
        let mac = md5_hex(&[&self.secret, &time, REALM]);
        format!("{time}{mac}")
    }

    /// When `nonce` was issued, if this simulator issued it.
    fn issued(&self, nonce: &str) -> Option<Duration> {
        let time = nonce.get(..12)?;
        let millis = u64::from_str_radix(time, 16).ok()?;
        (nonce.len() == 44 && self.nonce(Duration::from_millis(millis)) == nonce)
            .then(|| Duration::from_millis(millis))
    }

    /// A fresh challenge for `WWW-Authenticate`, with a nonce issued at `now`.
    pub(crate) fn challenge(&self, now: Duration, stale: bool) -> String {
        let nonce = self.nonce(now);
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\", stale={stale}"
        )
    }

    /// Checks a request's `Authorization` value: a Digest signature with the API key, or a
    /// bearer token the token endpoint issued.
    pub(crate) fn check(
        &mut self,
        authorization: Option<&str>,
        method: &str,
        target: &str,
        now: Duration,
    ) -> Verdict {
        let Some(value) = authorization else {
            return Verdict::Challenge { stale: false };
        };
        if let Some(token) = value.strip_prefix("Bearer ") {
            return match self.tokens.get(token) {
                Some(expires) if now < *expires => Verdict::Allowed,
                Some(_) => {
                    self.tokens.remove(token);
                    Verdict::Challenge { stale: false }
                }
                None => Verdict::Challenge { stale: false },
            };
        }
        let Some(p) = digest_params(value) else {
            return Verdict::Challenge { stale: false };
        };
        let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
        let (nonce, nc_text, cnonce) = (get("nonce"), get("nc"), get("cnonce"));
        let Ok(nc) = u32::from_str_radix(nc_text, 16) else {
            return Verdict::Challenge { stale: false };
        };
        let ha1 = md5_hex(&[&self.public_key, REALM, &self.private_key]);
        let ha2 = md5_hex(&[method, target]);
        let expected = md5_hex(&[&ha1, nonce, nc_text, cnonce, "auth", &ha2]);
        let signed_right = get("username") == self.public_key
            && get("realm") == REALM
            && get("uri") == target
            && get("qop") == "auth"
            && !get("algorithm").eq_ignore_ascii_case("SHA-256")
            && get("response") == expected;
        if !signed_right {
            return Verdict::Challenge { stale: false };
        }
        let lifetime = self.nonce_lifetime;
        let Some(issued) = self
            .issued(nonce)
            .filter(|t| now < t.saturating_add(lifetime))
        else {
            self.used.remove(nonce);
            return Verdict::Challenge { stale: true };
        };
        if !self.used.contains_key(nonce) {
            prune(&mut self.used, |(t, _)| now < t.saturating_add(lifetime));
        }
        let (_, window) = self
            .used
            .entry(nonce.to_owned())
            .or_insert((issued, Window::default()));
        if window.accept(nc) {
            Verdict::Allowed
        } else {
            Verdict::Challenge { stale: false }
        }
    }

    /// The token endpoint: HTTP Basic with the client id and secret, each form-encoded
    /// first (RFC 6749 §2.3.1), and `grant_type=client_credentials`. A new token, or `None`.
    pub(crate) fn issue_token(
        &mut self,
        authorization: Option<&str>,
        form: &str,
        token: String,
        now: Duration,
    ) -> Option<(String, Duration)> {
        use base64::Engine;
        let grant = form_urlencoded::parse(form.as_bytes())
            .any(|(k, v)| k == "grant_type" && v == "client_credentials");
        let basic = authorization?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unform = |s: &str| -> String {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        if !grant || unform(id) != self.client_id || unform(secret) != self.client_secret {
            return None;
        }
        prune(&mut self.tokens, |expires| now < *expires);
        self.tokens
            .insert(token.clone(), now.saturating_add(self.token_lifetime));
        Some((token, self.token_lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parameters_are_read_with_quotes_and_escapes() {
        let p = digest_params(r#"Digest username="a\"b", nc=00000001, qop=auth, uri="/x?a=1,2""#)
            .unwrap();
        assert_eq!(p["username"], "a\"b");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["uri"], "/x?a=1,2");
        assert!(digest_params("Basic abc").is_none());
    }

    #[test]
    fn a_signature_is_checked_and_a_replay_refused() {
        let mut keys = Keys::new(
            "0123456789abcdef0123",
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        let now = Duration::ZERO;
        let n1 = keys.nonce(now);
        let sign = |keys: &Keys, nc: &str| {
            let ha1 = md5_hex(&[&keys.public_key, REALM, &keys.private_key]);
            let ha2 = md5_hex(&["GET", "/p"]);
            let response = md5_hex(&[&ha1, &n1, nc, "c", "auth", &ha2]);
            format!(
                r#"Digest username="{}", realm="{REALM}", nonce="{n1}", uri="/p", response="{response}", qop=auth, nc={nc}, cnonce="c", algorithm=MD5"#,
                keys.public_key
            )
        };
        let one = sign(&keys, "00000001");
        assert_eq!(keys.check(Some(&one), "GET", "/p", now), Verdict::Allowed);
        assert_eq!(
            keys.check(Some(&one), "GET", "/p", now),
            Verdict::Challenge { stale: false }
        );
        let three = sign(&keys, "00000003");
        assert_eq!(
            keys.check(Some(&three), "GET", "/other", now),
            Verdict::Challenge { stale: false }
        );
        assert_eq!(keys.check(Some(&three), "GET", "/p", now), Verdict::Allowed);
        let two = sign(&keys, "00000002");
        let later = Duration::from_secs(61);
        assert_eq!(
            keys.check(Some(&two), "GET", "/p", later),
            Verdict::Challenge { stale: true }
        );
        assert_eq!(keys.stored(), (0, 0), "the expired nonce is forgotten");
    }

    #[test]
    fn a_nonce_is_ours_only_with_its_mac() {
        let keys = Keys::new(
            "0123456789abcdef0123",
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        let nonce = keys.nonce(Duration::from_millis(1234));
        assert_eq!(keys.issued(&nonce), Some(Duration::from_millis(1234)));
        let forged = format!("{:012x}{}", 99_999, &nonce[12..]);
        assert_eq!(keys.issued(&forged), None);
        assert_eq!(keys.issued("short"), None);
    }

    #[test]
    fn the_replay_window_takes_counts_out_of_order_once() {
        let mut w = Window::default();
        assert!(w.accept(1) && w.accept(3) && w.accept(2));
        assert!(!w.accept(2) && !w.accept(3));
        assert!(w.accept(2000));
        assert!(!w.accept(30), "too far below the highest");
        assert!(w.accept(1999) && w.accept(1000));
        assert!(w.seen.len() <= WINDOW as usize + 1);
    }
}
