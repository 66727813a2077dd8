//! Authentication.

pub mod digest;
