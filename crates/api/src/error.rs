//! The REST surface's error type, rendered in GitLab's v4 bodies.

use crate::views::Message;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::collections::BTreeMap;
use tinforge_gate::GateError;
use tinforge_gate::branches::BranchWriteError;
use tinforge_gate::issue::IssueError;
use tinforge_store::StoreError;
use tinforge_store::git::merging::MergeError;
use tinforge_store::git::objects::{self, ObjError};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `{"error": "<what>"}`: a parameter is missing or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `{"message": {"field": ["problem"]}}`: model validation.
    #[error("validation failed")]
    Validation(Vec<(String, String)>),
    /// 401 with GitLab's body.
    #[error("401 Unauthorized")]
    Unauthorized,
    /// 403 `{"message":"403 Forbidden"}`, with an optional reason.
    #[error("403 Forbidden")]
    Forbidden(Option<String>),
    /// 404 `{"message":"404 <Label> Not Found"}`.
    #[error("404 {0} Not Found")]
    NotFound(&'static str),
    /// 409 `{"message": "<text>"}`.
    #[error("{0}")]
    Conflict(String),
    /// 405 `{"error": "<text>"}` (an unsupported combination, such as keyset pagination).
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("413 Request Entity Too Large")]
    TooLarge,
    /// `{"message": "<text>"}` at `status`, the text exactly as GitLab words it (`404 Not found`,
    /// `Branch cannot be merged` with 406, `405 Method Not Allowed`, a protected branch's 403).
    #[error("{1}")]
    Message(StatusCode, String),
    /// 500 `{"message":"500 Internal Server Error"}`; the cause is logged, not shown.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Store(StoreError),
}

impl ApiError {
    /// Maps a store error; a missing row becomes GitLab's `404 <label> Not Found`.
    pub fn missing_as(label: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::NotFound => ApiError::NotFound(label),
            other => other.into(),
        }
    }
}

impl ApiError {
    /// `{"message": "<text>"}` at `status`.
    pub fn message(status: StatusCode, text: impl Into<String>) -> ApiError {
        ApiError::Message(status, text.into())
    }

    /// 400 `{"message": "<text>"}` (where GitLab words a bad request as a message, not an
    /// `error`: `Branch already exists`, `Tag name invalid`).
    pub fn invalid(text: impl Into<String>) -> ApiError {
        ApiError::message(StatusCode::BAD_REQUEST, text)
    }

    /// A file or blob above [`objects::MAX_FILE_BYTES`]: `413 File is larger than … bytes`.
    pub fn file_too_large() -> ApiError {
        ApiError::message(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("413 File is larger than {} bytes", objects::MAX_FILE_BYTES),
        )
    }
}

impl From<ObjError> for ApiError {
    fn from(e: ObjError) -> Self {
        match e {
            ObjError::NotFound(m) => ApiError::message(StatusCode::NOT_FOUND, m),
            ObjError::BadRequest(m) => ApiError::invalid(m),
            ObjError::Conflict(m) => ApiError::Conflict(m),
            ObjError::TooLarge => ApiError::file_too_large(),
            ObjError::Git(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<git2::Error> for ApiError {
    fn from(e: git2::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<MergeError> for ApiError {
    fn from(e: MergeError) -> Self {
        let text = e.to_string();
        match e {
            MergeError::BranchMissing => ApiError::message(StatusCode::METHOD_NOT_ALLOWED, text),
            MergeError::ShaMismatch(_) => ApiError::Conflict(text),
            MergeError::CannotMerge => ApiError::message(StatusCode::NOT_ACCEPTABLE, text),
            MergeError::Git(e) => e.into(),
        }
    }
}

impl From<BranchWriteError> for ApiError {
    fn from(e: BranchWriteError) -> Self {
        match e {
            BranchWriteError::Forbidden(m) => ApiError::message(StatusCode::FORBIDDEN, m),
            BranchWriteError::Store(e) => e.into(),
            BranchWriteError::Gate(e) => ApiError::Gate(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Store(other),
        }
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(m) => ApiError::BadRequest(m),
            IssueError::Escalation(m) => ApiError::Forbidden(Some(m)),
            IssueError::Store(s) => s.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Message(status, _) => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Gate(g) => g.status_code(),
            ApiError::Store(s) => GateError::Store(clone_store(s)).status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::BadRequest(m) | ApiError::MethodNotAllowed(m) => {
                res.json(ErrorBody { error: m.clone() })
            }
            ApiError::Validation(fields) => {
                let mut message: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (field, problem) in fields {
                    message
                        .entry(field.clone())
                        .or_default()
                        .push(problem.clone());
                }
                res.json(ValidationBody { message })
            }
            ApiError::Unauthorized => res.json(Message::new("401 Unauthorized")),
            ApiError::Forbidden(None) => res.json(Message::new("403 Forbidden")),
            ApiError::Forbidden(Some(reason)) => {
                res.json(Message::new(format!("403 Forbidden - {reason}")))
            }
            ApiError::NotFound(_) => res.json(Message::new(self.to_string())),
            ApiError::Conflict(m) => res.json(Message::new(m.clone())),
            ApiError::TooLarge => res.json(Message::new("413 Request Entity Too Large")),
            ApiError::Message(_, m) => res.json(Message::new(m.clone())),
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "REST handler failure");
                res.json(Message::new("500 Internal Server Error"))
            }
            ApiError::Gate(g) => g.error_response(),
            ApiError::Store(s) => GateError::Store(clone_store(s)).error_response(),
        }
    }
}

/// `{"error": "<what>"}`: GitLab's body for bad parameters and unsupported combinations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// `{"message": {"field": ["problem", …]}}`: GitLab's model validation body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationBody {
    pub message: BTreeMap<String, Vec<String>>,
}

fn clone_store(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Invalid(other.to_string()),
    }
}
