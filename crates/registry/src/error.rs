//! The registry's errors in the OCI shape, `{"errors":[{"code","message","detail"}]}`, with the
//! spec's codes and distribution's statuses; a 401 carries the Bearer challenge that sends the
//! client to the token service.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;
use tinforge_store::StoreError;
use tinforge_store::blobstore::BlobError;

/// Every registry response says which API it speaks.
pub const API_VERSION_HEADER: (&str, &str) = ("Docker-Distribution-API-Version", "registry/2.0");

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A 4xx with a spec code.
    #[error("{code}: {message}")]
    Oci {
        status: StatusCode,
        code: &'static str,
        message: String,
        detail: Option<Value>,
    },
    /// 401 with `WWW-Authenticate: <challenge>`.
    #[error("UNAUTHORIZED: {message}")]
    Unauthorized { challenge: String, message: String },
    /// 416 with `Content-Range: bytes */<size>` for blob reads.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

fn oci(status: StatusCode, code: &'static str, message: impl Into<String>) -> RegistryError {
    RegistryError::Oci {
        status,
        code,
        message: message.into(),
        detail: None,
    }
}

impl RegistryError {
    pub fn with_detail(self, value: Value) -> RegistryError {
        match self {
            RegistryError::Oci {
                status,
                code,
                message,
                ..
            } => RegistryError::Oci {
                status,
                code,
                message,
                detail: Some(value),
            },
            other => other,
        }
    }

    pub fn name_unknown(name: &str) -> Self {
        oci(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        )
        .with_detail(serde_json::json!({ "name": name }))
    }
    pub fn name_invalid(name: &str) -> Self {
        oci(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!(
                "invalid repository name {:?}",
                name.chars().take(300).collect::<String>()
            ),
        )
    }
    pub fn blob_unknown(digest: &str) -> Self {
        oci(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(serde_json::json!({ "digest": digest }))
    }
    pub fn upload_unknown() -> Self {
        oci(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }
    pub fn upload_invalid(status: StatusCode, message: impl Into<String>) -> Self {
        oci(status, "BLOB_UPLOAD_INVALID", message)
    }
    pub fn digest_invalid(message: impl Into<String>) -> Self {
        oci(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }
    pub fn size_invalid(status: StatusCode, message: impl Into<String>) -> Self {
        oci(status, "SIZE_INVALID", message)
    }
    pub fn manifest_unknown(reference: &str) -> Self {
        oci(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown to registry",
        )
        .with_detail(serde_json::json!({ "reference": reference }))
    }
    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        oci(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", message)
    }
    pub fn manifest_blob_unknown(digest: &str) -> Self {
        oci(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            "manifest references a blob unknown to this repository",
        )
        .with_detail(serde_json::json!({ "digest": digest }))
    }
    pub fn tag_invalid(tag: &str) -> Self {
        oci(
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            format!(
                "invalid tag {:?}: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}",
                tag.chars().take(200).collect::<String>()
            ),
        )
    }
    pub fn denied(message: impl Into<String>) -> Self {
        oci(StatusCode::FORBIDDEN, "DENIED", message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        oci(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        oci(StatusCode::BAD_REQUEST, code, message)
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => RegistryError::Unavailable(m),
            other => RegistryError::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for RegistryError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::InvalidDigest(d) => {
                RegistryError::digest_invalid(format!("invalid digest {d}"))
            }
            BlobError::NotFound => {
                RegistryError::Internal("blob missing from the blob store".into())
            }
            other => RegistryError::Unavailable(other.to_string()),
        }
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(e: std::io::Error) -> Self {
        RegistryError::Unavailable(format!("storage: {e}"))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a Value>,
}

impl ResponseError for RegistryError {
    fn status_code(&self) -> StatusCode {
        match self {
            RegistryError::Oci { status, .. } => *status,
            RegistryError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            RegistryError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            RegistryError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header(API_VERSION_HEADER)
            .insert_header((CONTENT_TYPE, "application/json"));
        let (code, message, detail) = match self {
            RegistryError::Oci {
                code,
                message,
                detail,
                ..
            } => (*code, message.clone(), detail.as_ref()),
            RegistryError::Unauthorized { challenge, message } => {
                res.insert_header((WWW_AUTHENTICATE, challenge.as_str()));
                ("UNAUTHORIZED", message.clone(), None)
            }
            RegistryError::RangeNotSatisfiable { size } => {
                res.insert_header(("Content-Range", format!("bytes */{size}")));
                (
                    "RANGE_INVALID",
                    "requested range not satisfiable".into(),
                    None,
                )
            }
            RegistryError::Unavailable(m) => {
                tracing::error!(error = %m, "registry unavailable");
                ("UNAVAILABLE", "service unavailable, try again".into(), None)
            }
            RegistryError::Internal(m) => {
                tracing::error!(error = %m, "registry failure");
                ("UNKNOWN", "internal server error".into(), None)
            }
        };
        res.json(ErrorBody {
            errors: [ErrorEntry {
                code,
                message: &message,
                detail,
            }],
        })
    }
}
