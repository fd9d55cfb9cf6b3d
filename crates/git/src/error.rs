//! The git surface's errors, in git's own plain-text form: git shows a `text/plain` body of a
//! failed request to the user (as `remote: …`), and asks for credentials on a 401 with a Basic
//! challenge.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use tinforge_authz::DenyReason;
use tinforge_gate::GateError;
use tinforge_store::StoreError;

/// GitLab's words for a project that does not exist or is not visible, the same for both.
pub const NOT_FOUND_TEXT: &str =
    "The project you were looking for could not be found or you don't have permission to view it.";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// 401 with `WWW-Authenticate: Basic realm="tinforge"`: git then asks for credentials.
    #[error("HTTP Basic: Access denied{}", .0.map(|d| format!(". {d}")).unwrap_or_default())]
    Unauthorized(Option<&'static str>),
    /// 404, identical for a missing project and one the caller cannot read.
    #[error("{NOT_FOUND_TEXT}")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl GitError {
    /// A gate error (credential resolution, a denial) in git's terms. `anonymous`: the caller gave
    /// no credential, so every refusal is a request for one (401), never a hint that the project
    /// exists.
    pub fn from_gate(e: GateError, anonymous: bool) -> GitError {
        match e {
            GateError::Unauthorized => GitError::Unauthorized(None),
            GateError::InvalidToken(d) => GitError::Unauthorized(Some(d)),
            GateError::Denied { .. } if anonymous => GitError::Unauthorized(None),
            GateError::Denied { reason, .. } => match reason {
                DenyReason::Unauthenticated => GitError::Unauthorized(None),
                DenyReason::NotVisible => GitError::NotFound,
                other => GitError::Forbidden(deny_text(&other, "access this repository")),
            },
            GateError::Forbidden(m) => GitError::Forbidden(m.to_string()),
            GateError::SudoTargetNotFound(_) => GitError::NotFound,
            GateError::Store(e) => GitError::from(e),
        }
    }
}

impl From<StoreError> for GitError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => GitError::NotFound,
            StoreError::Unavailable(m) => GitError::Unavailable(m),
            other => GitError::Internal(other.to_string()),
        }
    }
}

pub use tinforge_gate::error::deny_text;

impl ResponseError for GitError {
    fn status_code(&self) -> StatusCode {
        match self {
            GitError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GitError::NotFound => StatusCode::NOT_FOUND,
            GitError::Forbidden(_) => StatusCode::FORBIDDEN,
            GitError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GitError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GitError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GitError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-cache"));
        if let GitError::Unauthorized(_) = self {
            res.insert_header((WWW_AUTHENTICATE, "Basic realm=\"tinforge\""));
        }
        let text = match self {
            GitError::Internal(m) => {
                tracing::error!(error = %m, "git surface failure");
                "Internal server error".to_string()
            }
            GitError::Unavailable(m) => {
                tracing::error!(error = %m, "git surface unavailable");
                "Service unavailable, try again".to_string()
            }
            other => other.to_string(),
        };
        res.body(text + "\n")
    }
}
