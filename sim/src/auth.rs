//! Authentication as Atlas does it (§7): HTTP Digest with the API key (realm `MMS Public API`,
//! MD5, `qop=auth`), and bearer tokens from the service-account token endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use md5::{Digest, Md5};

/// Atlas's Digest realm (§7.2).
pub const REALM: &str = "MMS Public API";

/// A nonce the simulator issued.
#[derive(Debug)]
struct Nonce {
    issued: Duration,
    /// The nonce counts already accepted with it: a replay is refused, an out-of-order count
    /// (concurrent requests) is not.
    seen: BTreeSet<u32>,
}

/// What authentication concluded about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The request may proceed.
    Allowed,
    /// 401: challenge again (`stale`: the nonce had expired, the credentials were right).
    Challenge { stale: bool },
}

/// The credentials that work against the simulator, and what it issued.
#[derive(Debug)]
pub struct Keys {
    pub(crate) public_key: String,
    pub(crate) private_key: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    nonce_lifetime: Duration,
    token_lifetime: Duration,
    nonces: BTreeMap<String, Nonce>,
    tokens: BTreeMap<String, Duration>,
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
            nonce_lifetime,
            token_lifetime,
            nonces: BTreeMap::new(),
            tokens: BTreeMap::new(),
        }
    }

    /// A fresh challenge for `WWW-Authenticate` (§7.2), with a new nonce.
    pub(crate) fn challenge(&mut self, nonce: String, now: Duration, stale: bool) -> String {
        self.nonces.insert(
            nonce.clone(),
            Nonce {
                issued: now,
                seen: BTreeSet::new(),
            },
        );
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
            let valid = self.tokens.get(token).is_some_and(|expires| now < *expires);
            return if valid {
                Verdict::Allowed
            } else {
                Verdict::Challenge { stale: false }
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
        let Some(issued) = self.nonces.get_mut(nonce) else {
            return Verdict::Challenge { stale: true };
        };
        if now >= issued.issued + lifetime {
            self.nonces.remove(nonce);
            return Verdict::Challenge { stale: true };
        }
        // A nonce count already used with this nonce is a replay.
        if issued.seen.insert(nc) {
            Verdict::Allowed
        } else {
            Verdict::Challenge { stale: false }
        }
    }

    /// The token endpoint (§7.1): HTTP Basic with the client id and secret, each form-encoded
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
        self.tokens.insert(token.clone(), now + self.token_lifetime);
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
        keys.challenge("n1".into(), now, false);
        let sign = |keys: &Keys, nc: &str| {
            let ha1 = md5_hex(&[&keys.public_key, REALM, &keys.private_key]);
            let ha2 = md5_hex(&["GET", "/p"]);
            let response = md5_hex(&[&ha1, "n1", nc, "c", "auth", &ha2]);
            format!(
                r#"Digest username="{}", realm="{REALM}", nonce="n1", uri="/p", response="{response}", qop=auth, nc={nc}, cnonce="c", algorithm=MD5"#,
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
    }
}
