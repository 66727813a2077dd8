#![deny(missing_docs)]
//! Client configuration: credentials, base URL, timeouts and retries, from code or from the
//! environment.

use std::fmt;
use std::time::Duration;

use crate::retry::RetryPolicy;

/// The Atlas control plane.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";
/// How long to wait for a TCP + TLS connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the next bytes of a response once connected.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one attempt (request and whole response) may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest success body the client reads (64 MiB); a 500-item page is well under 1 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 64 * 1024 * 1024;
/// The user agent: this crate's name and version.
pub const USER_AGENT: &str = concat!(
    env!("CARGO_PKG_NAME"),
    "/",
    env!("CARGO_PKG_VERSION"),
    " (rust)"
);

/// A secret string (private key, client secret, token). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the code that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A programmatic API key: HTTP Digest with the public key as user and the private key as
    /// password.
    ApiKey {
        /// The public key.
        public_key: String,
        /// The private key.
        private_key: Secret,
    },
    /// A service account: OAuth 2.0 client credentials traded for a bearer token.
    ServiceAccount {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
}

/// A setting that is missing, incomplete, contradictory or malformed. Names the variable or
/// setting at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No credentials were given.
    #[error(
        "no credentials: set {public_key} and {private_key} (API key) or {client_id} and {client_secret} (service account)"
    )]
    MissingCredentials {
        /// The public-key variable.
        public_key: &'static str,
        /// The private-key variable.
        private_key: &'static str,
        /// The client-id variable.
        client_id: &'static str,
        /// The client-secret variable.
        client_secret: &'static str,
    },
    /// One half of a pair is set without the other.
    #[error("{set} is set but {missing} is not")]
    Incomplete {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// Two settings exclude each other.
    #[error("{first} and {second} are both set; use an API key or a service account, not both")]
    Conflict {
        /// One setting.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A value does not parse.
    #[error("{setting} is invalid ({value:?}): {reason}")]
    Invalid {
        /// The variable or setting.
        setting: &'static str,
        /// The value given (never a secret).
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A URL that would send credentials in clear text: plain `http` to a host other than
    /// this machine (`127.0.0.0/8`, `::1`, `localhost`), without
    /// [`Config::allow_insecure_http`].
    #[error(
        "{setting} {url} is plain http to a host other than this machine: credentials would cross the network unencrypted; use https, or opt in with Config::allow_insecure_http(true)"
    )]
    InsecureUrl {
        /// The setting (`base_url`, `token_url`, or the environment variable).
        setting: &'static str,
        /// The URL refused.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Environment variable names, as MongoDB's own tools read them: the Atlas CLI's
/// (`MONGODB_ATLAS_PUBLIC_API_KEY`, `MONGODB_ATLAS_PRIVATE_API_KEY`,
/// `MONGODB_ATLAS_OPS_MANAGER_URL`; the Atlas CLI documentation, "Atlas CLI Environment
/// Variables"), the Terraform provider's (`MONGODB_ATLAS_PUBLIC_KEY`,
/// `MONGODB_ATLAS_PRIVATE_KEY`, `MONGODB_ATLAS_BASE_URL`; the `mongodbatlas` provider's
/// documentation, "Environment Variables"), and the service-account pair both take
/// (`MONGODB_ATLAS_CLIENT_ID`, `MONGODB_ATLAS_CLIENT_SECRET`).
pub mod env {
    /// API public key.
    pub const PUBLIC_API_KEY: &str = "MONGODB_ATLAS_PUBLIC_API_KEY";
    /// API private key.
    pub const PRIVATE_API_KEY: &str = "MONGODB_ATLAS_PRIVATE_API_KEY";
    /// API public key, older name, read when the first is unset.
    pub const PUBLIC_KEY: &str = "MONGODB_ATLAS_PUBLIC_KEY";
    /// API private key, older name, read when the first is unset.
    pub const PRIVATE_KEY: &str = "MONGODB_ATLAS_PRIVATE_KEY";
    /// Service-account client id.
    pub const CLIENT_ID: &str = "MONGODB_ATLAS_CLIENT_ID";
    /// Service-account client secret.
    pub const CLIENT_SECRET: &str = "MONGODB_ATLAS_CLIENT_SECRET";
    /// Base URL.
    pub const BASE_URL: &str = "MONGODB_ATLAS_BASE_URL";
    /// Base URL, Atlas CLI name, read when the first is unset.
    pub const OPS_MANAGER_URL: &str = "MONGODB_ATLAS_OPS_MANAGER_URL";
}

/// Everything a [`crate::Client`] needs. Private fields, finite documented defaults, `with_*`
/// setters; [`Config::from_env`] reads the environment.
#[derive(Clone)]
pub struct Config {
    pub(crate) base_url: String,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) token_url: Option<String>,
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_body: usize,
    pub(crate) preemptive_digest: bool,
    pub(crate) allow_insecure_http: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("token_url", &self.token_url)
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_response_body", &self.max_response_body)
            .field("preemptive_digest", &self.preemptive_digest)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            credentials: None,
            token_url: None,
            user_agent: USER_AGENT.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            preemptive_digest: true,
            allow_insecure_http: false,
        }
    }
}

fn normalize_base_url(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        setting,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(value.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(
            "the scheme must be https (or http for a local server)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Config {
    /// The defaults: no credentials, `https://cloud.mongodb.com`, the documented timeouts and
    /// [`RetryPolicy::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the environment, with the variable names of the Atlas CLI: API key from
    /// `MONGODB_ATLAS_PUBLIC_API_KEY`/`MONGODB_ATLAS_PRIVATE_API_KEY` (else
    /// `MONGODB_ATLAS_PUBLIC_KEY`/`MONGODB_ATLAS_PRIVATE_KEY`), or a service account from
    /// `MONGODB_ATLAS_CLIENT_ID`/`MONGODB_ATLAS_CLIENT_SECRET`, never both; base URL from
    /// `MONGODB_ATLAS_BASE_URL` (else `MONGODB_ATLAS_OPS_MANAGER_URL`). Empty values count as
    /// unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any source of variables (for tests and embedding).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        };
        let first = |a: &'static str, b: &'static str| get(a).or_else(|| get(b));

        let public = first(env::PUBLIC_API_KEY, env::PUBLIC_KEY);
        let private = first(env::PRIVATE_API_KEY, env::PRIVATE_KEY);
        let client_id = get(env::CLIENT_ID);
        let client_secret = get(env::CLIENT_SECRET);

        let api_key = match (public, private) {
            (Some((_, public)), Some((_, private))) => Some((public, private)),
            (Some((set, _)), None) => {
                return Err(ConfigError::Incomplete {
                    set,
                    missing: env::PRIVATE_API_KEY,
                });
            }
            (None, Some((set, _))) => {
                return Err(ConfigError::Incomplete {
                    set,
                    missing: env::PUBLIC_API_KEY,
                });
            }
            (None, None) => None,
        };
        let service = match (client_id, client_secret) {
            (Some((_, id)), Some((_, secret))) => Some((id, secret)),
            (Some((set, _)), None) => {
                return Err(ConfigError::Incomplete {
                    set,
                    missing: env::CLIENT_SECRET,
                });
            }
            (None, Some((set, _))) => {
                return Err(ConfigError::Incomplete {
                    set,
                    missing: env::CLIENT_ID,
                });
            }
            (None, None) => None,
        };
        let credentials = match (api_key, service) {
            (Some(_), Some(_)) => {
                let first = if lookup(env::PUBLIC_API_KEY).is_some_and(|v| !v.trim().is_empty()) {
                    env::PUBLIC_API_KEY
                } else {
                    env::PUBLIC_KEY
                };
                return Err(ConfigError::Conflict {
                    first,
                    second: env::CLIENT_ID,
                });
            }
            (Some((public_key, private)), None) => Credentials::ApiKey {
                public_key,
                private_key: Secret::new(private),
            },
            (None, Some((client_id, secret))) => Credentials::ServiceAccount {
                client_id,
                client_secret: Secret::new(secret),
            },
            (None, None) => {
                return Err(ConfigError::MissingCredentials {
                    public_key: env::PUBLIC_API_KEY,
                    private_key: env::PRIVATE_API_KEY,
                    client_id: env::CLIENT_ID,
                    client_secret: env::CLIENT_SECRET,
                });
            }
        };
        let mut config = Config {
            credentials: Some(credentials),
            ..Config::default()
        };
        if let Some((setting, url)) = first(env::BASE_URL, env::OPS_MANAGER_URL) {
            config.base_url = normalize_base_url(setting, &url)?;
        }
        Ok(config)
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The credentials, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Sets the base URL (`https://cloud.mongodb.com` by default).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, ConfigError> {
        self.base_url = normalize_base_url("base_url", url)?;
        Ok(self)
    }

    /// Authenticates with an API key (HTTP Digest), replacing other credentials.
    pub fn with_api_key(
        mut self,
        public_key: impl Into<String>,
        private_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::ApiKey {
            public_key: public_key.into(),
            private_key: Secret::new(private_key),
        });
        self
    }

    /// Authenticates as a service account (OAuth 2.0 client credentials), replacing other
    /// credentials.
    pub fn with_service_account(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::ServiceAccount {
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
        });
        self
    }

    /// The service-account token endpoint; `{base_url}/api/oauth/token` by default.
    pub fn with_token_url(mut self, url: &str) -> Result<Self, ConfigError> {
        self.token_url = Some(normalize_base_url("token_url", url)?);
        Ok(self)
    }

    /// The token endpoint in use.
    pub fn token_url(&self) -> String {
        self.token_url
            .clone()
            .unwrap_or_else(|| format!("{}/api/oauth/token", self.base_url))
    }

    /// Sets the user agent (default [`USER_AGENT`]).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets the connect timeout (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout (default [`DEFAULT_READ_TIMEOUT`]): the longest an attempt waits
    /// with nothing arriving, before the response head or between two parts of a body.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the timeout of one attempt (default [`DEFAULT_TIMEOUT`]): from sending the request
    /// to the last byte of the response.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy (default [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the largest success body the client reads (default [`DEFAULT_MAX_RESPONSE_BODY`]);
    /// a larger one fails the call with [`crate::Error::BodyTooLarge`] instead of filling memory.
    pub fn with_max_response_body(mut self, bytes: usize) -> Self {
        self.max_response_body = bytes;
        self
    }

    /// Whether Digest signs requests ahead of time with the cached challenge (default `true`:
    /// one exchange per call once a challenge is cached). `false` sends every request unsigned
    /// first and answers its own challenge (two exchanges per call), as Atlas's official clients
    /// do, for a server that refuses reused nonces outright.
    pub fn with_preemptive_digest(mut self, enabled: bool) -> Self {
        self.preemptive_digest = enabled;
        self
    }

    /// Allows a plain-`http` base URL or token URL to a host other than this machine
    /// (default `false`). Without it, [`crate::Client::from_config`] refuses such a URL with
    /// [`ConfigError::InsecureUrl`]: the API key's Digest exchange, the service account's id
    /// and secret and its bearer token would cross the network unencrypted. `http` to
    /// `127.0.0.0/8`, `::1` or `localhost` (a local Atlas, a test server) is always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Refuses a plain-`http` base URL or token URL to another machine, unless allowed.
    pub(crate) fn check_transport_security(&self) -> Result<(), ConfigError> {
        if self.allow_insecure_http {
            return Ok(());
        }
        let token_url = self.token_url();
        for (setting, url) in [
            ("base_url", self.base_url.as_str()),
            ("token_url", &token_url),
        ] {
            if let Ok(parsed) = reqwest::Url::parse(url)
                && parsed.scheme() == "http"
                && !is_loopback(&parsed)
            {
                return Err(ConfigError::InsecureUrl {
                    setting,
                    url: url.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Whether `url` points at this machine: `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn api_key_from_the_primary_names() {
        let c = from(&[
            (env::PUBLIC_API_KEY, "pub"),
            (env::PRIVATE_API_KEY, "priv-secret"),
        ])
        .unwrap();
        assert_eq!(
            c.credentials(),
            Some(&Credentials::ApiKey {
                public_key: "pub".into(),
                private_key: Secret::new("priv-secret")
            })
        );
        assert_eq!(c.base_url(), DEFAULT_BASE_URL);
        assert!(!format!("{c:?}").contains("priv-secret"));
    }

    #[test]
    fn api_key_falls_back_to_the_older_names() {
        let c = from(&[(env::PUBLIC_KEY, "pub"), (env::PRIVATE_KEY, "priv")]).unwrap();
        assert!(matches!(c.credentials(), Some(Credentials::ApiKey { .. })));
    }

    #[test]
    fn service_account_and_base_url_fallback() {
        let c = from(&[
            (env::CLIENT_ID, "mdb_sa_id"),
            (env::CLIENT_SECRET, "mdb_sa_sk"),
            (env::OPS_MANAGER_URL, "http://127.0.0.1:8080/"),
        ])
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        assert_eq!(c.token_url(), "http://127.0.0.1:8080/api/oauth/token");
        assert!(!format!("{c:?}").contains("mdb_sa_sk"));
    }

    #[test]
    fn both_kinds_of_credentials_conflict() {
        let e = from(&[
            (env::PUBLIC_API_KEY, "p"),
            (env::PRIVATE_API_KEY, "k"),
            (env::CLIENT_ID, "i"),
            (env::CLIENT_SECRET, "s"),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::Conflict {
                first: env::PUBLIC_API_KEY,
                second: env::CLIENT_ID
            }
        );
        assert!(
            e.to_string()
                .contains("MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_CLIENT_ID are both set")
        );
    }

    #[test]
    fn half_a_pair_names_the_missing_variable() {
        let e = from(&[(env::PUBLIC_API_KEY, "p")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Incomplete {
                set: env::PUBLIC_API_KEY,
                missing: env::PRIVATE_API_KEY
            }
        );
        let e = from(&[(env::CLIENT_SECRET, "s")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Incomplete {
                set: env::CLIENT_SECRET,
                missing: env::CLIENT_ID
            }
        );
    }

    #[test]
    fn nothing_set_is_missing_credentials() {
        let e = from(&[(env::PUBLIC_API_KEY, "  ")]).unwrap_err();
        assert!(matches!(e, ConfigError::MissingCredentials { .. }));
        assert!(e.to_string().contains(env::PUBLIC_API_KEY));
    }

    #[test]
    fn a_bad_base_url_names_the_variable() {
        let e = from(&[
            (env::PUBLIC_API_KEY, "p"),
            (env::PRIVATE_API_KEY, "k"),
            (env::BASE_URL, "ftp://x"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    setting: env::BASE_URL,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "\"<redacted>\"");
        let c = Config::new().with_api_key("pub", "very-private");
        assert!(!format!("{c:?}").contains("very-private"));
    }
}
