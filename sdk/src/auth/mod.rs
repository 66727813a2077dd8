//! Authentication: HTTP Digest for API keys, OAuth 2.0 client credentials for service accounts.

pub(crate) mod digest;
pub(crate) mod service_account;
