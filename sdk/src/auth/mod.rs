#![deny(missing_docs)]
//! Authentication: HTTP Digest for API keys, OAuth 2.0 client credentials for service accounts
//! (the latter used by the runtime only).

pub mod digest;
pub(crate) mod service_account;
