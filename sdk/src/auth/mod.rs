#![deny(missing_docs)]
//! Authentication: HTTP Digest for API keys, OAuth 2.0 client credentials for service accounts.

pub mod digest;
pub mod service_account;
