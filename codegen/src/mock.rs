//! Typed httpmock helpers generated from the spec.
