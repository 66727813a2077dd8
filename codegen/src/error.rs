//! The one error type of the generator. Every variant names the spec file it came from.

use std::fmt;

/// Where in the spec file a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line and column, both counted from 1.
    #[allow(missing_docs)]
    LineColumn { line: usize, column: usize },
    /// A JSON pointer into the document (`/paths/~1api~1.../get`).
    Pointer(String),
    /// The problem concerns the whole document.
    Document,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::LineColumn { line, column } => write!(f, "line {line}, column {column}"),
            Location::Pointer(p) if p.is_empty() => f.write_str("document root"),
            Location::Pointer(p) => write!(f, "{p}"),
            Location::Document => f.write_str("document"),
        }
    }
}

/// Why generation failed. Fields: `file` is the spec's name as given, `location` where in it,
/// `message` what is wrong.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not well-formed YAML.
    #[error("{file}: malformed YAML at {location}: {message}")]
    Yaml {
        file: String,
        location: Location,
        message: String,
    },
    /// The YAML is well-formed but is not an OpenAPI 3.0 document.
    #[error("{file}: not a valid OpenAPI 3.0 document at {location}: {message}")]
    NotOpenApi {
        file: String,
        location: Location,
        message: String,
    },
    /// A `$ref` points at nothing in the document.
    #[error("{file}: unresolved $ref `{reference}` at {location}")]
    UnresolvedRef {
        file: String,
        location: Location,
        reference: String,
    },
    /// The document uses a construct the generator cannot turn into Rust.
    #[error("{file}: the generator cannot take what is at {location}: {message}")]
    Unsupported {
        file: String,
        location: Location,
        message: String,
    },
}

impl Error {
    /// The spec file the error is about.
    pub fn file(&self) -> &str {
        match self {
            Error::Yaml { file, .. }
            | Error::NotOpenApi { file, .. }
            | Error::UnresolvedRef { file, .. }
            | Error::Unsupported { file, .. } => file,
        }
    }

    /// Where in that file.
    pub fn location(&self) -> &Location {
        match self {
            Error::Yaml { location, .. }
            | Error::NotOpenApi { location, .. }
            | Error::UnresolvedRef { location, .. }
            | Error::Unsupported { location, .. } => location,
        }
    }
}
