//! HTTP Digest access authentication (RFC 7616, plus the RFC 2617 mode without `qop`).
//!
//! Atlas programmatic API keys authenticate with HTTP Digest: the public key is the username
//! and the private key is the password. A request sent without credentials is answered with
//! `401 Unauthorized` and a `WWW-Authenticate: Digest ...` challenge; the client then repeats
//! the request with an `Authorization: Digest ...` header computed from that challenge.
//!
//! This module does no I/O. It provides:
//! - [`Challenge::parse`], which reads a `WWW-Authenticate` value (picking the Digest
//!   challenge when several are offered);
//! - [`Challenge::authorization`], which computes a header from an explicit nonce count and
//!   client nonce, so results are reproducible;
//! - [`DigestSession`], which remembers the latest challenge and hands out headers with a
//!   fresh client nonce and a nonce count that grows with every use of the same server nonce.
//!   It can be shared between threads: concurrent callers always get distinct nonce counts.
//!
//! Supported algorithms are `MD5` (the default when the challenge names none), `MD5-sess`,
//! `SHA-256` and `SHA-256-sess`. Supported protection is `qop=auth` and the legacy mode in
//! which the server offers no `qop`. `qop=auth-int` alone, `userhash=true` (ignored: the
//! username is always sent as is) and `username*` are not supported.

#![deny(missing_docs)]

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use md5::Md5;
use sha2::Sha256;

/// Longest `WWW-Authenticate` value, in bytes, that [`Challenge::parse`] accepts.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// Values taken from a challenge are cut to this many characters when an error quotes them.
const MAX_QUOTED_IN_ERROR: usize = 40;

/// Everything that can go wrong while reading a challenge or building an `Authorization` value.
///
/// No message ever contains the password. Values copied from a challenge are shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The header value is empty or holds only spaces and tabs.
    #[error("the WWW-Authenticate value is empty")]
    Empty,
    /// The header value is longer than [`MAX_HEADER_LEN`].
    #[error("the WWW-Authenticate value is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Length of the rejected value, in bytes.
        len: usize,
        /// The limit, [`MAX_HEADER_LEN`].
        max: usize,
    },
    /// A control character other than a tab appears in the header value.
    #[error("control character {found:?} at byte {position} of the WWW-Authenticate value")]
    ControlCharacter {
        /// Byte offset of the character in the header value.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A non-ASCII character appears outside a quoted string.
    #[error("non-ASCII character {found:?} at byte {position}, outside a quoted string")]
    NonAscii {
        /// Byte offset of the character in the header value.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A quoted string is still open at the end of the header value.
    #[error("the quoted string opened at byte {position} is never closed")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        position: usize,
    },
    /// The header value does not follow the `scheme name=value, ...` grammar.
    #[error("syntax error at byte {position} of the WWW-Authenticate value: expected {expected}")]
    Syntax {
        /// Byte offset where parsing stopped.
        position: usize,
        /// What the parser was looking for there.
        expected: &'static str,
    },
    /// None of the challenges in the header uses the Digest scheme.
    #[error("the WWW-Authenticate value holds no Digest challenge")]
    NotDigest,
    /// A parameter the Digest scheme requires is absent.
    #[error("the Digest challenge has no `{0}` parameter")]
    MissingParameter(&'static str),
    /// A parameter that must not be empty is empty.
    #[error("the Digest challenge has an empty `{0}` parameter")]
    EmptyParameter(&'static str),
    /// A parameter appears more than once in the Digest challenge.
    #[error("the Digest challenge has more than one `{0}` parameter")]
    DuplicateParameter(&'static str),
    /// The challenge asks for a hash algorithm this module does not implement.
    #[error("unsupported Digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The challenge's `qop` list does not offer `auth`.
    #[error("unsupported Digest qop {0:?}: only \"auth\" (or no qop at all) is supported")]
    UnsupportedQop(String),
    /// A `-sess` algorithm was offered without any `qop`, which leaves no client nonce to use.
    #[error("the Digest algorithm {0} needs a qop, but the challenge offers none")]
    SessionWithoutQop(Algorithm),
    /// An input to the `Authorization` computation cannot be put in a header.
    #[error("invalid {field} for a Digest Authorization header: {reason}")]
    InvalidInput {
        /// Which input: `username`, `method`, `uri` or `cnonce`.
        field: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// [`DigestSession::authorization`] was called before any challenge was received.
    #[error("no Digest challenge has been received yet")]
    NoChallenge,
    /// Every nonce count for the current server nonce has been used; a new challenge is needed.
    #[error("the nonce count for the current Digest nonce is exhausted")]
    NonceCountExhausted,
    /// The system random number generator failed while making a client nonce.
    #[error("could not generate a Digest client nonce: {0}")]
    Random(String),
}

/// The hash algorithm named by a challenge's `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `MD5`, also used when the challenge names no algorithm.
    Md5,
    /// `MD5-sess`: HA1 is rehashed with the server and client nonces.
    Md5Sess,
    /// `SHA-256` (RFC 7616).
    Sha256,
    /// `SHA-256-sess` (RFC 7616).
    Sha256Sess,
}

impl Algorithm {
    /// The name used in headers, such as `MD5` or `SHA-256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Reads an algorithm name, ignoring ASCII case; `None` when it is not supported.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether this is a `-sess` variant.
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Hashes the parts joined by `:` and returns the lower-case hex digest.
    fn hex_of(self, parts: &[&[u8]]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => joined_hex::<Md5>(parts),
            Self::Sha256 | Self::Sha256Sess => joined_hex::<Sha256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Feeds `parts` to a fresh hasher with `:` between them and hex-encodes the result.
fn joined_hex<D: sha2::Digest>(parts: &[&[u8]]) -> String {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
    to_hex(&hasher.finalize())
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The quality of protection the client will use, chosen from the challenge's `qop` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Qop {
    /// `auth`: authentication of the request line, with nonce count and client nonce.
    Auth,
}

/// A username and password pair: for Atlas, the API key's public and private keys.
///
/// `Debug` shows the username but never the password.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Pairs a username (Atlas public key) with its password (Atlas private key).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username (Atlas public key).
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A parsed Digest challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop: Option<Qop>,
    stale: bool,
    domain: Vec<String>,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value and returns its Digest challenge.
    ///
    /// When the value holds several challenges (for example `Basic realm="x", Digest ...`),
    /// the first Digest challenge this module supports is returned; if none is supported,
    /// the error about the first Digest challenge is. Parameter names and the scheme are
    /// matched without regard to ASCII case, and unknown parameters are ignored.
    ///
    /// # Errors
    ///
    /// A [`DigestError`] describing the first problem found: an empty or oversized value,
    /// control or misplaced non-ASCII characters, an unterminated quoted string, a syntax
    /// error, no Digest challenge, or a Digest challenge lacking `realm` or `nonce`, repeating
    /// a parameter, or asking for an unsupported `algorithm` or `qop`.
    pub fn parse(header_value: &str) -> Result<Self, DigestError> {
        let raw = parse_challenges(header_value)?;
        let mut first_error = None;
        for challenge in raw
            .iter()
            .filter(|c| c.scheme.eq_ignore_ascii_case("digest"))
        {
            match Self::from_params(&challenge.params) {
                Ok(parsed) => return Ok(parsed),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or(DigestError::NotDigest))
    }

    fn from_params(params: &[RawParam<'_>]) -> Result<Self, DigestError> {
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = None;
        let mut qop = None;
        let mut stale = None;
        let mut domain = None;
        for param in params {
            let slot = match param.name.to_ascii_lowercase().as_str() {
                "realm" => (&mut realm, "realm"),
                "nonce" => (&mut nonce, "nonce"),
                "opaque" => (&mut opaque, "opaque"),
                "algorithm" => (&mut algorithm, "algorithm"),
                "qop" => (&mut qop, "qop"),
                "stale" => (&mut stale, "stale"),
                "domain" => (&mut domain, "domain"),
                // Anything else (`charset`, `userhash`, a stray `op`, ...) is not needed.
                _ => continue,
            };
            let (value, name) = slot;
            if value.is_some() {
                return Err(DigestError::DuplicateParameter(name));
            }
            *value = Some(param.value.as_str());
        }

        let realm = realm.ok_or(DigestError::MissingParameter("realm"))?;
        let nonce = nonce.ok_or(DigestError::MissingParameter("nonce"))?;
        if nonce.is_empty() {
            return Err(DigestError::EmptyParameter("nonce"));
        }
        let algorithm = match algorithm {
            None => Algorithm::Md5,
            Some(name) => Algorithm::from_name(name.trim())
                .ok_or_else(|| DigestError::UnsupportedAlgorithm(shorten(name)))?,
        };
        let qop = match qop {
            None => None,
            Some(list) => {
                if list
                    .split(',')
                    .any(|item| item.trim().eq_ignore_ascii_case("auth"))
                {
                    Some(Qop::Auth)
                } else {
                    return Err(DigestError::UnsupportedQop(shorten(list)));
                }
            }
        };
        if qop.is_none() && algorithm.is_session() {
            return Err(DigestError::SessionWithoutQop(algorithm));
        }

        Ok(Self {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: opaque.map(str::to_owned),
            algorithm,
            qop,
            stale: stale.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            domain: domain
                .map(|d| d.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }

    /// The protection space (`realm`).
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The server nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The `opaque` value to echo back, if the server sent one.
    pub fn opaque(&self) -> Option<&str> {
        self.opaque.as_deref()
    }

    /// The hash algorithm (`MD5` when the challenge named none).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The protection that will be used: `Some(Qop::Auth)`, or `None` for the legacy mode.
    pub fn qop(&self) -> Option<Qop> {
        self.qop
    }

    /// Whether the server flagged the previous nonce as stale (`stale=true`): the credentials
    /// were right and the request can be retried with this new nonce.
    pub fn stale(&self) -> bool {
        self.stale
    }

    /// The URIs of the protection space listed in `domain`, if any.
    pub fn domain(&self) -> &[String] {
        &self.domain
    }

    /// Computes the `response` value: the lower-case hex digest proving knowledge of the
    /// password for this request.
    ///
    /// `nc` is the nonce count (the first use of a nonce is 1) and `cnonce` the client nonce;
    /// both are left out of the computation in the legacy mode without `qop`.
    pub fn response(
        &self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let alg = self.algorithm;
        let mut ha1 = alg.hex_of(&[
            credentials.username.as_bytes(),
            self.realm.as_bytes(),
            credentials.password.as_bytes(),
        ]);
        if alg.is_session() {
            ha1 = alg.hex_of(&[ha1.as_bytes(), self.nonce.as_bytes(), cnonce.as_bytes()]);
        }
        let ha2 = alg.hex_of(&[method.as_bytes(), uri.as_bytes()]);
        match self.qop {
            Some(Qop::Auth) => alg.hex_of(&[
                ha1.as_bytes(),
                self.nonce.as_bytes(),
                format_nc(nc).as_bytes(),
                cnonce.as_bytes(),
                b"auth",
                ha2.as_bytes(),
            ]),
            None => alg.hex_of(&[ha1.as_bytes(), self.nonce.as_bytes(), ha2.as_bytes()]),
        }
    }

    /// Builds the full `Authorization` header value for one request, from an explicit nonce
    /// count and client nonce. [`DigestSession::authorization`] picks both for you.
    ///
    /// `uri` is the request target as sent on the request line (path and query).
    ///
    /// # Errors
    ///
    /// [`DigestError::InvalidInput`] when the username or URI contains a control character,
    /// the URI is empty or contains whitespace, the method is not an HTTP token, or (when
    /// `qop=auth` is used) the client nonce is empty or contains a control character.
    pub fn authorization(
        &self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> Result<String, DigestError> {
        if credentials.username.chars().any(char::is_control) {
            return Err(invalid("username", "it contains a control character"));
        }
        if method.is_empty() || !method.chars().all(is_tchar) {
            return Err(invalid("method", "it is not an HTTP token"));
        }
        if uri.is_empty() || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "uri",
                "it is empty or contains whitespace or control characters",
            ));
        }
        if self.qop.is_some() && (cnonce.is_empty() || cnonce.chars().any(char::is_control)) {
            return Err(invalid(
                "cnonce",
                "it is empty or contains a control character",
            ));
        }

        let response = self.response(credentials, method, uri, nc, cnonce);
        let mut header = String::with_capacity(256);
        header.push_str("Digest username=");
        push_quoted(&mut header, &credentials.username);
        header.push_str(", realm=");
        push_quoted(&mut header, &self.realm);
        header.push_str(", nonce=");
        push_quoted(&mut header, &self.nonce);
        header.push_str(", uri=");
        push_quoted(&mut header, uri);
        header.push_str(", algorithm=");
        header.push_str(self.algorithm.as_str());
        header.push_str(", response=");
        push_quoted(&mut header, &response);
        if let Some(opaque) = &self.opaque {
            header.push_str(", opaque=");
            push_quoted(&mut header, opaque);
        }
        if self.qop == Some(Qop::Auth) {
            header.push_str(", qop=auth, nc=");
            header.push_str(&format_nc(nc));
            header.push_str(", cnonce=");
            push_quoted(&mut header, cnonce);
        }
        Ok(header)
    }
}

impl FromStr for Challenge {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn invalid(field: &'static str, reason: &'static str) -> DigestError {
    DigestError::InvalidInput { field, reason }
}

/// The nonce count as eight lower-case hex digits.
fn format_nc(nc: u32) -> String {
    format!("{nc:08x}")
}

/// Appends `value` as a quoted string, escaping `"` and `\`.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// At most [`MAX_QUOTED_IN_ERROR`] characters of `value`, for error messages.
fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let mut out: String = chars.by_ref().take(MAX_QUOTED_IN_ERROR).collect();
    if chars.next().is_some() {
        out.push_str("...");
    }
    out
}

/// Makes a client nonce: 8 random bytes as 16 lower-case hex digits.
fn random_cnonce() -> Result<String, DigestError> {
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).map_err(|err| DigestError::Random(err.to_string()))?;
    Ok(to_hex(&bytes))
}

/// Keeps the latest Digest challenge for one set of credentials and produces `Authorization`
/// header values from it.
///
/// The nonce count starts at 1 for each new server nonce and grows by one on every
/// [`authorization`](Self::authorization) call, under a lock, so threads sharing a session
/// (for example through an `Arc`) never send the same count twice. Each call also draws a
/// fresh 16-hex-digit client nonce from the operating system.
#[derive(Debug)]
pub struct DigestSession {
    credentials: Credentials,
    current: Mutex<Option<Current>>,
}

#[derive(Debug)]
struct Current {
    challenge: Arc<Challenge>,
    /// The last nonce count handed out for `challenge.nonce`; 0 before the first.
    last_nc: u32,
}

impl DigestSession {
    /// A session with no challenge yet.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            current: Mutex::new(None),
        }
    }

    /// The credentials this session authenticates with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Stores `challenge` for the following requests.
    ///
    /// When its nonce differs from the stored one, the nonce count restarts at 1. When the
    /// server repeats the current nonce, counting goes on, so that no count is ever sent
    /// twice with the same nonce.
    pub fn set_challenge(&self, challenge: Challenge) {
        let mut current = self.lock();
        let last_nc = match current.as_ref() {
            Some(old) if old.challenge.nonce == challenge.nonce => old.last_nc,
            _ => 0,
        };
        *current = Some(Current {
            challenge: Arc::new(challenge),
            last_nc,
        });
    }

    /// Parses a `WWW-Authenticate` value with [`Challenge::parse`] and stores the result with
    /// [`set_challenge`](Self::set_challenge). Returns whether the server marked the previous
    /// nonce as stale.
    ///
    /// # Errors
    ///
    /// The parse error; the stored challenge is then left as it was.
    pub fn set_challenge_from_header(&self, header_value: &str) -> Result<bool, DigestError> {
        let challenge = Challenge::parse(header_value)?;
        let stale = challenge.stale();
        self.set_challenge(challenge);
        Ok(stale)
    }

    /// Answers a 401: parses its `WWW-Authenticate` value, stores the challenge for the following
    /// requests, and signs the retry of *this* request with *this* challenge, in one step.
    ///
    /// Under concurrency another request's 401 may replace the stored challenge at any moment;
    /// signing the retry with the challenge its own 401 carried (and a nonce count taken under
    /// the same lock) keeps every retry valid for the nonce the server just issued to it.
    ///
    /// # Errors
    ///
    /// The parse error (nothing is stored then), and the errors of
    /// [`authorization`](Self::authorization).
    pub fn answer_challenge(
        &self,
        header_value: &str,
        method: &str,
        uri: &str,
    ) -> Result<String, DigestError> {
        let challenge = Challenge::parse(header_value)?;
        let cnonce = random_cnonce()?;
        let (challenge, nc) = {
            let mut current = self.lock();
            let last_nc = match current.as_ref() {
                Some(old) if old.challenge.nonce == challenge.nonce => old.last_nc,
                _ => 0,
            };
            let nc = last_nc
                .checked_add(1)
                .ok_or(DigestError::NonceCountExhausted)?;
            let challenge = Arc::new(challenge);
            *current = Some(Current {
                challenge: Arc::clone(&challenge),
                last_nc: nc,
            });
            (challenge, nc)
        };
        challenge.authorization(&self.credentials, method, uri, nc, &cnonce)
    }

    /// Whether a challenge is stored.
    pub fn has_challenge(&self) -> bool {
        self.lock().is_some()
    }

    /// A copy of the stored challenge, if any.
    pub fn challenge(&self) -> Option<Challenge> {
        self.lock().as_ref().map(|c| Challenge::clone(&c.challenge))
    }

    /// Forgets the stored challenge; [`authorization`](Self::authorization) then fails with
    /// [`DigestError::NoChallenge`] until a new one is set.
    pub fn clear_challenge(&self) {
        *self.lock() = None;
    }

    /// The `Authorization` header value for a request, using the next nonce count and a new
    /// random client nonce.
    ///
    /// `uri` is the request target as sent on the request line (path and query).
    ///
    /// # Errors
    ///
    /// [`DigestError::NoChallenge`] before any challenge was stored,
    /// [`DigestError::NonceCountExhausted`] after 2^32 - 1 uses of one nonce,
    /// [`DigestError::Random`] when the system random source fails, and the input errors of
    /// [`Challenge::authorization`].
    pub fn authorization(&self, method: &str, uri: &str) -> Result<String, DigestError> {
        let cnonce = random_cnonce()?;
        let (challenge, nc) = self.next_nc()?;
        challenge.authorization(&self.credentials, method, uri, nc, &cnonce)
    }

    /// Takes the next nonce count for the stored challenge.
    fn next_nc(&self) -> Result<(Arc<Challenge>, u32), DigestError> {
        let mut guard = self.lock();
        let current = guard.as_mut().ok_or(DigestError::NoChallenge)?;
        let nc = current
            .last_nc
            .checked_add(1)
            .ok_or(DigestError::NonceCountExhausted)?;
        current.last_nc = nc;
        Ok((Arc::clone(&current.challenge), nc))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Current>> {
        // Nothing panics while the lock is held, but a poisoned lock still holds valid data.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate grammar (RFC 7235 section 4.1):
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// Challenges and parameters share the comma as separator, so a comma followed by
// `token BWS "="` continues the current challenge and any other token starts a new one.

/// One challenge of any scheme, with its parameters in order of appearance.
struct RawChallenge<'a> {
    scheme: &'a str,
    params: Vec<RawParam<'a>>,
}

struct RawParam<'a> {
    name: &'a str,
    value: String,
}

/// Splits a `WWW-Authenticate` value into its challenges.
fn parse_challenges(src: &str) -> Result<Vec<RawChallenge<'_>>, DigestError> {
    if src.trim_matches([' ', '\t']).is_empty() {
        return Err(DigestError::Empty);
    }
    if src.len() > MAX_HEADER_LEN {
        return Err(DigestError::TooLong {
            len: src.len(),
            max: MAX_HEADER_LEN,
        });
    }
    if let Some((position, found)) = src
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        return Err(DigestError::ControlCharacter { position, found });
    }

    let mut cur = Cursor { src, pos: 0 };
    let mut challenges = Vec::new();
    cur.skip_separators();
    while !cur.at_end() {
        let scheme = cur.token("an authentication scheme")?;
        let mut params = Vec::new();
        let spaces = cur.skip_ows();
        match cur.peek() {
            None => {}
            Some(',') => {
                // `Scheme, name=value` is an empty list element before the first parameter.
                cur.skip_separators();
                if cur.param_ahead() {
                    parse_params(&mut cur, &mut params)?;
                }
            }
            Some(_) if spaces == 0 => {
                return Err(cur.unexpected("a space after the authentication scheme"));
            }
            Some(_) if cur.token68_ahead() => {
                cur.skip_token68();
                cur.skip_ows();
                if !matches!(cur.peek(), None | Some(',')) {
                    return Err(cur.unexpected("',' or the end after a token68 credential"));
                }
            }
            Some(_) => parse_params(&mut cur, &mut params)?,
        }
        challenges.push(RawChallenge { scheme, params });
        cur.skip_separators();
    }
    Ok(challenges)
}

/// Reads `name=value` pairs until the end or until the token after a comma starts a new
/// challenge (the cursor is then left on it).
fn parse_params<'a>(
    cur: &mut Cursor<'a>,
    params: &mut Vec<RawParam<'a>>,
) -> Result<(), DigestError> {
    loop {
        let name = cur.token("a parameter name")?;
        cur.skip_ows();
        if !cur.eat('=') {
            return Err(cur.unexpected("'=' after the parameter name"));
        }
        cur.skip_ows();
        let value = if cur.peek() == Some('"') {
            cur.quoted_string()?
        } else {
            cur.bare_value()?
        };
        params.push(RawParam { name, value });
        cur.skip_ows();
        match cur.peek() {
            None => return Ok(()),
            Some(',') => {}
            Some(_) => return Err(cur.unexpected("',' between parameters")),
        }
        cur.skip_separators();
        if !cur.param_ahead() {
            return Ok(());
        }
    }
}

/// Characters allowed in a token (RFC 7230 section 3.2.6).
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Characters allowed in the body of a token68 (RFC 7235 section 2.1), before its `=` padding.
fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

/// A read position in the header value. `pos` always sits on a character boundary.
struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.pos += expected.len_utf8();
            true
        } else {
            false
        }
    }

    /// Skips spaces and tabs; returns how many.
    fn skip_ows(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips spaces, tabs and commas (list separators and empty list elements).
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | ',')) {
            self.pos += 1;
        }
    }

    /// The error for the character under the cursor, given what was expected there.
    fn unexpected(&self, expected: &'static str) -> DigestError {
        match self.peek() {
            Some(found) if !found.is_ascii() => DigestError::NonAscii {
                position: self.pos,
                found,
            },
            _ => DigestError::Syntax {
                position: self.pos,
                expected,
            },
        }
    }

    fn token(&mut self, expected: &'static str) -> Result<&'a str, DigestError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected(expected));
        }
        Ok(self.src.get(start..self.pos).unwrap_or(""))
    }

    /// Whether a parameter (`token BWS "="`) starts here.
    fn param_ahead(&self) -> bool {
        let rest = self.rest();
        let len = rest.chars().take_while(|&c| is_tchar(c)).count();
        len > 0
            && rest
                .get(len..)
                .unwrap_or("")
                .trim_start_matches([' ', '\t'])
                .starts_with('=')
    }

    /// Whether a token68 (as used by `Basic` or `Negotiate`) followed by the end or a comma
    /// starts here.
    fn token68_ahead(&self) -> bool {
        let rest = self.rest();
        let len = rest.chars().take_while(|&c| is_token68_char(c)).count();
        if len == 0 {
            return false;
        }
        let after = rest
            .get(len..)
            .unwrap_or("")
            .trim_start_matches('=')
            .trim_start_matches([' ', '\t']);
        after.is_empty() || after.starts_with(',')
    }

    fn skip_token68(&mut self) {
        while self.peek().is_some_and(is_token68_char) {
            self.pos += 1;
        }
        while self.eat('=') {}
    }

    /// Reads a quoted string starting at the opening quote and returns it unescaped.
    /// Non-ASCII text (obs-text) is accepted inside the quotes.
    fn quoted_string(&mut self) -> Result<String, DigestError> {
        let open = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(DigestError::UnterminatedQuote { position: open }),
                Some('"') => return Ok(value),
                Some('\\') => match self.bump() {
                    None => return Err(DigestError::UnterminatedQuote { position: open }),
                    Some(escaped) => value.push(escaped),
                },
                Some(c) => value.push(c),
            }
        }
    }

    /// Reads an unquoted value. Besides tokens this also takes other visible ASCII (such as
    /// the `/` and `=` of a base64 nonce some servers leave unquoted), up to a space or comma.
    fn bare_value(&mut self) -> Result<String, DigestError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_graphic() && c != ',' && c != '"')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected("a parameter value"));
        }
        Ok(self.src.get(start..self.pos).unwrap_or("").to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::thread;

    const RFC2617_CHALLENGE: &str = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const ATLAS_CHALLENGE: &str = r#"Digest realm="MMS Public API", domain="", nonce="abc", algorithm=MD5, qop="auth", stale=false"#;
    const SECRET: &str = "s3cr3t-private-key-0f9e";

    fn rfc7616_challenge(algorithm: &str) -> Challenge {
        let header = format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}""#
        );
        Challenge::parse(&header).expect("RFC 7616 challenge parses")
    }

    /// The unquoted value of `name` in an Authorization header this module produced.
    fn field<'h>(header: &'h str, name: &str) -> Option<&'h str> {
        let body = header.strip_prefix("Digest ")?;
        body.split(", ").find_map(|part| {
            let (key, value) = part.split_once('=')?;
            (key == name).then(|| value.trim_matches('"'))
        })
    }

    fn nc_of(header: &str) -> u32 {
        let nc = field(header, "nc").expect("header has nc");
        u32::from_str_radix(nc, 16).expect("nc is hex")
    }

    fn atlas_session() -> DigestSession {
        let session = DigestSession::new(Credentials::new("public", SECRET));
        session.set_challenge(Challenge::parse(ATLAS_CHALLENGE).expect("parses"));
        session
    }

    // --- Published test vectors -------------------------------------------------------------

    #[test]
    fn rfc2617_section_3_5_example() {
        let challenge = Challenge::parse(RFC2617_CHALLENGE).expect("parses");
        let creds = Credentials::new("Mufasa", "Circle Of Life");
        let header = challenge
            .authorization(&creds, "GET", "/dir/index.html", 1, "0a4f113b")
            .expect("builds");
        assert_eq!(
            header,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
             algorithm=MD5, response=\"6629fae49393a05397450978507c4ef1\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, nc=00000001, \
             cnonce=\"0a4f113b\""
        );
    }

    #[test]
    fn rfc7616_section_3_9_1_md5() {
        let challenge = rfc7616_challenge("MD5");
        assert_eq!(challenge.algorithm(), Algorithm::Md5);
        let creds = Credentials::new("Mufasa", "Circle of Life");
        let header = challenge
            .authorization(&creds, "GET", "/dir/index.html", 1, RFC7616_CNONCE)
            .expect("builds");
        assert_eq!(
            field(&header, "response"),
            Some("8ca523f5e9506fed4657c9700eebdbec")
        );
        assert_eq!(field(&header, "algorithm"), Some("MD5"));
        assert_eq!(field(&header, "opaque"), Some(RFC7616_OPAQUE));
        assert_eq!(field(&header, "cnonce"), Some(RFC7616_CNONCE));
        assert_eq!(field(&header, "nc"), Some("00000001"));
        assert_eq!(field(&header, "qop"), Some("auth"));
    }

    #[test]
    fn rfc7616_section_3_9_1_sha256() {
        let challenge = rfc7616_challenge("SHA-256");
        assert_eq!(challenge.algorithm(), Algorithm::Sha256);
        let creds = Credentials::new("Mufasa", "Circle of Life");
        let header = challenge
            .authorization(&creds, "GET", "/dir/index.html", 1, RFC7616_CNONCE)
            .expect("builds");
        assert_eq!(
            field(&header, "response"),
            Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        );
        assert_eq!(field(&header, "algorithm"), Some("SHA-256"));
    }

    // Expected values for these were computed independently with Python's hashlib.
    #[test]
    fn session_algorithms_rehash_ha1_with_nonces() {
        let creds = Credentials::new("Mufasa", "Circle of Life");
        let md5 = rfc7616_challenge("MD5-sess");
        assert_eq!(
            md5.response(&creds, "GET", "/dir/index.html", 1, RFC7616_CNONCE),
            "e783283f46242139c486a698fec7211d"
        );
        let sha = rfc7616_challenge("sha-256-SESS");
        assert_eq!(sha.algorithm(), Algorithm::Sha256Sess);
        assert_eq!(
            sha.response(&creds, "GET", "/dir/index.html", 1, RFC7616_CNONCE),
            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"
        );
    }

    #[test]
    fn legacy_mode_without_qop() {
        let challenge = Challenge::parse(
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        )
        .expect("parses");
        assert_eq!(challenge.qop(), None);
        let creds = Credentials::new("Mufasa", "Circle Of Life");
        let header = challenge
            .authorization(&creds, "GET", "/dir/index.html", 7, "ignored")
            .expect("builds");
        assert_eq!(
            header,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
             algorithm=MD5, response=\"670fd8c2df070c60b045671b8b24ff02\""
        );
    }

    // --- Parser -----------------------------------------------------------------------------

    #[test]
    fn parses_atlas_challenge() {
        let c = Challenge::parse(ATLAS_CHALLENGE).expect("parses");
        assert_eq!(c.realm(), "MMS Public API");
        assert_eq!(c.nonce(), "abc");
        assert_eq!(c.opaque(), None);
        assert_eq!(c.algorithm(), Algorithm::Md5);
        assert_eq!(c.qop(), Some(Qop::Auth));
        assert!(!c.stale());
        assert!(c.domain().is_empty());
        assert_eq!(ATLAS_CHALLENGE.parse::<Challenge>(), Ok(c));
    }

    #[test]
    fn ignores_unknown_parameters_such_as_op() {
        let c = Challenge::parse(
            r#"Digest realm="MMS Public API", domain="", nonce="n1", algorithm=MD5, op="auth", stale=false, charset=UTF-8, userhash=false"#,
        )
        .expect("parses");
        assert_eq!(c.nonce(), "n1");
        // `op` is not `qop`: the challenge is in legacy mode.
        assert_eq!(c.qop(), None);
    }

    #[test]
    fn defaults_to_md5_and_reads_stale_and_domain() {
        let c = Challenge::parse(
            r#"Digest realm="r", nonce="n", stale=TRUE, domain="/api /other http://h/x""#,
        )
        .expect("parses");
        assert_eq!(c.algorithm(), Algorithm::Md5);
        assert!(c.stale());
        assert_eq!(c.domain(), ["/api", "/other", "http://h/x"]);
    }

    #[test]
    fn picks_digest_among_several_challenges() {
        let c = Challenge::parse(r#"Basic realm="x", Digest realm="d", nonce="n", qop="auth""#)
            .expect("parses");
        assert_eq!(c.realm(), "d");

        let c = Challenge::parse(
            r#"Negotiate YIIB9gYGKwYBBQUCoIIB6jCCAeY==, Bearer, Digest nonce="n", realm="d2", Basic realm="b""#,
        )
        .expect("parses");
        assert_eq!(c.realm(), "d2");

        // The first Digest challenge with a supported algorithm wins.
        let c = Challenge::parse(
            r#"Digest realm="a", nonce="n1", algorithm=SHA-512-256, qop="auth", Digest realm="a", nonce="n2", algorithm=SHA-256, qop="auth""#,
        )
        .expect("parses");
        assert_eq!(c.nonce(), "n2");
        assert_eq!(c.algorithm(), Algorithm::Sha256);
    }

    #[test]
    fn handles_escapes_commas_in_quotes_case_and_spacing() {
        let c = Challenge::parse(
            "  dIgEsT\tREALM = \"a \\\"quoted\\\", realm \\\\ here\" ,, Nonce=\"x,y=z\"\t, \
             ALGORITHM = sha-256 , QoP=\"auth-int , AUTH\", opaque=plain/token== ,",
        )
        .expect("parses");
        assert_eq!(c.realm(), r#"a "quoted", realm \ here"#);
        assert_eq!(c.nonce(), "x,y=z");
        assert_eq!(c.algorithm(), Algorithm::Sha256);
        assert_eq!(c.qop(), Some(Qop::Auth));
        assert_eq!(c.opaque(), Some("plain/token=="));
    }

    #[test]
    fn accepts_non_ascii_inside_quotes() {
        let c = Challenge::parse("Digest realm=\"caf\u{e9}\", nonce=\"n\"").expect("parses");
        assert_eq!(c.realm(), "caf\u{e9}");
    }

    #[test]
    fn malformed_inputs_give_typed_errors() {
        use DigestError as E;
        let huge = format!(
            r#"Digest realm="{}", nonce="n""#,
            "a".repeat(MAX_HEADER_LEN)
        );
        let cases: Vec<(&str, DigestError)> = vec![
            ("", E::Empty),
            (" \t ", E::Empty),
            (
                huge.as_str(),
                E::TooLong {
                    len: huge.len(),
                    max: MAX_HEADER_LEN,
                },
            ),
            (
                "Digest realm=\"a\nb\", nonce=\"n\"",
                E::ControlCharacter {
                    position: 15,
                    found: '\n',
                },
            ),
            (
                "Digest realm=\"x\", nonce=\"n\0\"",
                E::ControlCharacter {
                    position: 26,
                    found: '\0',
                },
            ),
            (
                "Digest realm=\"unterminated, nonce=n",
                E::UnterminatedQuote { position: 13 },
            ),
            (
                "Digest realm=\"x\", nonce=\"n\\",
                E::UnterminatedQuote { position: 24 },
            ),
            (
                "D\u{ef}gest realm=\"x\", nonce=\"n\"",
                E::NonAscii {
                    position: 1,
                    found: '\u{ef}',
                },
            ),
            (
                "Digest realm=\"x\", nonce=n\u{f1}",
                E::NonAscii {
                    position: 25,
                    found: '\u{f1}',
                },
            ),
            (
                "Digest realm=\"x\" nonce=\"n\"",
                E::Syntax {
                    position: 17,
                    expected: "',' between parameters",
                },
            ),
            (
                "Digest realm=\"x\", nonce=",
                E::Syntax {
                    position: 24,
                    expected: "a parameter value",
                },
            ),
            (
                "Digest=\"x\"",
                E::Syntax {
                    position: 6,
                    expected: "a space after the authentication scheme",
                },
            ),
            (
                "\"Digest\" realm=x",
                E::Syntax {
                    position: 0,
                    expected: "an authentication scheme",
                },
            ),
            ("Basic realm=\"x\"", E::NotDigest),
            ("Basic dXNlcjpwYXNz", E::NotDigest),
            ("Digest", E::MissingParameter("realm")),
            ("Digest realm=\"x\"", E::MissingParameter("nonce")),
            ("Digest nonce=\"n\"", E::MissingParameter("realm")),
            ("Digest realm=\"x\", nonce=\"\"", E::EmptyParameter("nonce")),
            (
                "Digest realm=\"x\", nonce=\"a\", NONCE=\"b\"",
                E::DuplicateParameter("nonce"),
            ),
            (
                "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256",
                E::UnsupportedAlgorithm("SHA-512-256".into()),
            ),
            (
                "Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"",
                E::UnsupportedQop("auth-int".into()),
            ),
            (
                "Digest realm=\"x\", nonce=\"n\", algorithm=MD5-sess",
                E::SessionWithoutQop(Algorithm::Md5Sess),
            ),
        ];
        for (input, expected) in cases {
            let shown: String = input.chars().take(60).collect();
            assert_eq!(Challenge::parse(input), Err(expected), "input {shown:?}");
        }
    }

    #[test]
    fn long_values_are_shortened_in_errors() {
        let header = format!(
            r#"Digest realm="x", nonce="n", algorithm="{}""#,
            "z".repeat(500)
        );
        let err = Challenge::parse(&header).expect_err("unsupported algorithm");
        assert!(err.to_string().len() < 120, "{err}");
    }

    #[test]
    fn never_panics_on_truncated_or_scrambled_input() {
        let sample = "Basic realm=\"b\", Digest realm=\"caf\u{e9} \\\"x\\\"\", nonce=\"n,=\", qop=\"auth\", opaque=o/p==, algorithm=SHA-256";
        for (i, _) in sample.char_indices() {
            let _ = Challenge::parse(sample.get(..i).unwrap_or(""));
            let _ = Challenge::parse(sample.get(i..).unwrap_or(""));
        }
        // A small deterministic generator of strings over the parser's interesting characters.
        let alphabet: Vec<char> = "Digest ,=\"\\\tabc/+\u{e9}\u{1F600}\r".chars().collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut input = String::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let index = usize::try_from(seed >> 33).unwrap_or(0) % alphabet.len();
                input.push(alphabet[index]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let _ = Challenge::parse(&input);
        }
    }

    // --- Header building --------------------------------------------------------------------

    #[test]
    fn quotes_and_escapes_username_and_realm() {
        let c =
            Challenge::parse(r#"Digest realm="r\"e\\alm", nonce="n", qop=auth"#).expect("parses");
        let creds = Credentials::new(r#"us"er\name"#, "pw");
        let header = c
            .authorization(&creds, "GET", "/x", 1, "abcd")
            .expect("builds");
        assert!(
            header.starts_with(r#"Digest username="us\"er\\name", realm="r\"e\\alm", "#),
            "{header}"
        );
        // The hash covers the unescaped values.
        assert_eq!(
            field(&header, "response"),
            Some(c.response(&creds, "GET", "/x", 1, "abcd").as_str())
        );
    }

    #[test]
    fn rejects_inputs_that_would_break_the_header() {
        let c = Challenge::parse(ATLAS_CHALLENGE).expect("parses");
        let good = Credentials::new("public", SECRET);
        let bad_user = Credentials::new("pub\r\nX-Injected: 1", SECRET);
        let cases = [
            c.authorization(&bad_user, "GET", "/a", 1, "c"),
            c.authorization(&good, "GET /a", "/a", 1, "c"),
            c.authorization(&good, "", "/a", 1, "c"),
            c.authorization(&good, "GET", "/a b", 1, "c"),
            c.authorization(&good, "GET", "/a\r\n", 1, "c"),
            c.authorization(&good, "GET", "", 1, "c"),
            c.authorization(&good, "GET", "/a", 1, ""),
        ];
        for result in cases {
            let err = result.expect_err("rejected");
            assert!(matches!(err, DigestError::InvalidInput { .. }), "{err:?}");
            assert!(!err.to_string().contains(SECRET));
        }
    }

    // --- Session ----------------------------------------------------------------------------

    #[test]
    fn session_without_challenge_fails() {
        let session = DigestSession::new(Credentials::new("public", SECRET));
        assert_eq!(
            session.authorization("GET", "/"),
            Err(DigestError::NoChallenge)
        );
        assert_eq!(session.challenge(), None);
    }

    #[test]
    fn nc_increments_and_resets_on_new_nonce() {
        let session = atlas_session();
        let first = session
            .authorization("GET", "/api/atlas/v1.0/groups")
            .expect("builds");
        assert_eq!(field(&first, "nc"), Some("00000001"));
        assert_eq!(
            nc_of(&session.authorization("GET", "/a").expect("builds")),
            2
        );
        assert_eq!(
            nc_of(&session.authorization("POST", "/b").expect("builds")),
            3
        );

        // The server repeats the same nonce: counting goes on, nothing is sent twice.
        session.set_challenge(Challenge::parse(ATLAS_CHALLENGE).expect("parses"));
        assert_eq!(
            nc_of(&session.authorization("GET", "/a").expect("builds")),
            4
        );

        // A new nonce starts over at 1.
        let stale = session
            .set_challenge_from_header(
                r#"Digest realm="MMS Public API", nonce="def", qop="auth", stale=true"#,
            )
            .expect("parses");
        assert!(stale);
        let header = session.authorization("GET", "/a").expect("builds");
        assert_eq!(field(&header, "nonce"), Some("def"));
        assert_eq!(nc_of(&header), 1);
        assert_eq!(
            nc_of(&session.authorization("GET", "/a").expect("builds")),
            2
        );

        // A bad header leaves the stored challenge alone.
        assert!(
            session
                .set_challenge_from_header("Digest realm=\"x")
                .is_err()
        );
        assert_eq!(
            nc_of(&session.authorization("GET", "/a").expect("builds")),
            3
        );

        session.clear_challenge();
        assert_eq!(
            session.authorization("GET", "/a"),
            Err(DigestError::NoChallenge)
        );
    }

    #[test]
    fn session_header_verifies_against_challenge_computation() {
        let session = atlas_session();
        let header = session
            .authorization("GET", "/api/atlas/v1.0/x?y=1")
            .expect("builds");
        let cnonce = field(&header, "cnonce").expect("cnonce");
        let expected = session.challenge().expect("challenge").response(
            session.credentials(),
            "GET",
            "/api/atlas/v1.0/x?y=1",
            1,
            cnonce,
        );
        assert_eq!(field(&header, "response"), Some(expected.as_str()));
        assert_eq!(field(&header, "uri"), Some("/api/atlas/v1.0/x?y=1"));
        assert_eq!(field(&header, "username"), Some("public"));
    }

    #[test]
    fn cnonce_is_fresh_16_hex_digits() {
        let session = atlas_session();
        let cnonces: BTreeSet<String> = (0..50)
            .map(|_| {
                let header = session.authorization("GET", "/").expect("builds");
                field(&header, "cnonce").expect("cnonce").to_owned()
            })
            .collect();
        assert_eq!(cnonces.len(), 50);
        for cnonce in &cnonces {
            assert_eq!(cnonce.len(), 16);
            assert!(
                cnonce
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn concurrent_callers_get_distinct_nc() {
        const THREADS: u32 = 8;
        const PER_THREAD: u32 = 100;
        let session = Arc::new(atlas_session());
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let session = Arc::clone(&session);
                thread::spawn(move || {
                    (0..PER_THREAD)
                        .map(|_| nc_of(&session.authorization("GET", "/").expect("builds")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.join().expect("thread finished"));
        }
        let distinct: BTreeSet<u32> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "duplicate nc values");
        assert_eq!(distinct, (1..=THREADS * PER_THREAD).collect());
    }

    #[test]
    fn session_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DigestSession>();
        assert_send_sync::<Challenge>();
        assert_send_sync::<DigestError>();
    }

    // --- Secrets ----------------------------------------------------------------------------

    #[test]
    fn answering_a_challenge_signs_with_that_challenge_even_if_another_is_stored_later() {
        let session = DigestSession::new(Credentials::new("user", "pw"));
        session
            .set_challenge_from_header(r#"Digest realm="r", nonce="first", qop="auth""#)
            .unwrap();
        let header = session
            .answer_challenge(
                r#"Digest realm="r", nonce="second", qop="auth""#,
                "GET",
                "/x",
            )
            .unwrap();
        assert!(
            header.contains(r#"nonce="second""#) && header.contains("nc=00000001"),
            "{header}"
        );
        // The session now continues the answered nonce's count.
        let next = session.authorization("GET", "/x").unwrap();
        assert!(
            next.contains(r#"nonce="second""#) && next.contains("nc=00000002"),
            "{next}"
        );
        // A malformed challenge stores nothing.
        assert!(
            session
                .answer_challenge("Basic realm=\"r\"", "GET", "/x")
                .is_err()
        );
        assert_eq!(session.challenge().unwrap().nonce(), "second");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let creds = Credentials::new("public", SECRET);
        let shown = format!("{creds:?} {creds:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("\"<redacted>\""), "{shown}");
        assert!(shown.contains("public"), "{shown}");

        let session = atlas_session();
        let shown = format!("{session:?}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn error_messages_never_show_the_password() {
        let session = DigestSession::new(Credentials::new("public", SECRET));
        let errors = [
            session.authorization("GET", "/").expect_err("no challenge"),
            Challenge::parse(SECRET).expect_err("not a challenge"),
            atlas_session()
                .authorization("BAD METHOD", "/")
                .expect_err("bad method"),
        ];
        for err in errors {
            assert!(!err.to_string().contains(SECRET), "{err}");
            assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
        }
    }
}
