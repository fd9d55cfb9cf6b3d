//! The one error type of the runner.

use std::path::Path;

/// Everything that can go wrong in the runner, from HTTP to the file system.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not be reached or the connection broke.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered with a status code the caller did not expect.
    #[error("unexpected status {status} from {what}")]
    Status { status: u16, what: &'static str },
    /// A 2xx answer that should carry JSON did not.
    #[error("response is not application/json")]
    NotJson,
    /// A JSON body could not be decoded.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// An artifact archive could not be read or written.
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Input that the runner refuses (a bad path, a bad pattern, a bad header).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// An I/O error with a short description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An I/O error about one path.
    pub fn io_path(what: &str, path: &Path, source: std::io::Error) -> Self {
        Error::io(format!("{what} {}", path.display()), source)
    }
}

/// The runner's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
