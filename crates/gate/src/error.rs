//! The gate's error type and its HTTP form: GitLab's bodies for 401/403/404, per permissions.md.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tinforge_authz::{DenyReason, Requirement, Target, TargetKind};
use tinforge_store::StoreError;

use crate::resolve::ResolveError;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No usable credential where one is needed, or more than one.
    #[error("401 Unauthorized")]
    Unauthorized,
    /// A well-formed token that cannot be used any more.
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// 403 `{"message":"403 Forbidden - <reason>"}`.
    #[error("403 Forbidden - {0}")]
    Forbidden(&'static str),
    /// `sudo` named a user that does not exist.
    #[error("404 User with ID or username '{0}' Not Found")]
    SudoTargetNotFound(String),
    /// `decide()` said no.
    #[error("denied: {}", reason.code())]
    Denied {
        reason: DenyReason,
        requirement: Requirement,
        target: Option<DeniedTarget>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the denial was about, for the message ("on project acme/anvil") and the 404 label.
#[derive(Debug, Clone)]
pub struct DeniedTarget {
    pub kind: TargetKind,
    pub full_path: String,
}

impl DeniedTarget {
    pub fn of(target: &Target) -> Self {
        DeniedTarget {
            kind: target.kind,
            full_path: target.full_path.clone(),
        }
    }

    fn label(&self) -> &'static str {
        match self.kind {
            TargetKind::Project => "Project",
            TargetKind::Group => "Group",
        }
    }

    fn noun(&self) -> &'static str {
        match self.kind {
            TargetKind::Project => "project",
            TargetKind::Group => "group",
        }
    }
}

impl From<ResolveError> for GateError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Malformed | ResolveError::Unknown | ResolveError::Blocked => {
                GateError::Unauthorized
            }
            ResolveError::Expired => GateError::InvalidToken(
                "Token is expired. You can either do re-authorization or token refresh.",
            ),
            ResolveError::Revoked => GateError::InvalidToken(
                "Token was revoked. You have to re-authorize from the user.",
            ),
            ResolveError::Store(s) => GateError::Store(s),
        }
    }
}

/// `{"message":"404 Project Not Found"}`-style body for a target that does not exist for the caller.
pub fn not_found_body(label: &str) -> serde_json::Value {
    json!({ "message": format!("404 {label} Not Found") })
}

impl ResponseError for GateError {
    fn status_code(&self) -> StatusCode {
        match self {
            GateError::Unauthorized | GateError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            GateError::Forbidden(_) => StatusCode::FORBIDDEN,
            GateError::SudoTargetNotFound(_) => StatusCode::NOT_FOUND,
            GateError::Denied { reason, .. } => match reason {
                DenyReason::Unauthenticated => StatusCode::UNAUTHORIZED,
                DenyReason::NotVisible => StatusCode::NOT_FOUND,
                _ => StatusCode::FORBIDDEN,
            },
            GateError::Store(StoreError::NotFound) => StatusCode::NOT_FOUND,
            GateError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            GateError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut res = HttpResponse::build(status);
        let body = match self {
            GateError::Unauthorized => {
                res.insert_header((
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tinforge\""),
                ));
                json!({ "message": "401 Unauthorized" })
            }
            GateError::InvalidToken(description) => {
                res.insert_header((
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tinforge\", error=\"invalid_token\""),
                ));
                json!({ "error": "invalid_token", "error_description": description })
            }
            GateError::Forbidden(_) | GateError::SudoTargetNotFound(_) => {
                json!({ "message": self.to_string() })
            }
            GateError::Denied {
                reason,
                requirement,
                target,
            } => {
                if matches!(reason, DenyReason::Unauthenticated) {
                    res.insert_header((
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"tinforge\""),
                    ));
                }
                deny_body(reason, requirement, target.as_ref())
            }
            GateError::Store(StoreError::NotFound) => json!({ "message": "404 Not found" }),
            GateError::Store(StoreError::Unavailable(e)) => {
                tracing::error!(error = %e, "database unavailable");
                json!({ "message": "503 Service Unavailable" })
            }
            GateError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                json!({ "message": "500 Internal Server Error" })
            }
        };
        res.json(body)
    }
}

fn deny_body(
    reason: &DenyReason,
    requirement: &Requirement,
    target: Option<&DeniedTarget>,
) -> serde_json::Value {
    let on = target
        .map(|t| format!(" on {} {}", t.noun(), t.full_path))
        .unwrap_or_default();
    match reason {
        DenyReason::Unauthenticated => json!({ "message": "401 Unauthorized" }),
        DenyReason::NotVisible => not_found_body(target.map(|t| t.label()).unwrap_or("")),
        DenyReason::InsufficientScope { missing } => {
            let required: Vec<String> = requirement
                .permissions
                .iter()
                .map(|p| p.to_string())
                .collect();
            let mut scope: Vec<String> = requirement
                .satisfying_scopes()
                .iter()
                .map(|s| s.to_string())
                .collect();
            scope.extend(missing.iter().cloned());
            json!({
                "error": "insufficient_scope",
                "error_description": format!("This operation needs {}{on}", missing.join(" and ")),
                "scope": scope.join(" "),
                "required": required,
                "missing": missing,
            })
        }
        DenyReason::OutsideBoundary => json!({
            "error": "outside_boundary",
            "error_description": format!("This token's boundary does not reach{on}"),
            "required": requirement.permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        }),
        DenyReason::NotCovered => json!({
            "error": "not_covered",
            "error_description": "This endpoint does not accept fine-grained tokens yet",
        }),
        DenyReason::RoleTooLow { .. } | DenyReason::AdminRequired => {
            json!({ "message": "403 Forbidden" })
        }
    }
}

/// A readable sentence for a denial of `what` (`create refs/heads/x`), for surfaces whose
/// clients show one line of text (git, the registry).
pub fn deny_text(reason: &DenyReason, what: &str) -> String {
    match reason {
        DenyReason::InsufficientScope { missing } => format!(
            "insufficient_scope: the token needs {} to {what}",
            missing.join(" and ")
        ),
        DenyReason::NotCovered => {
            format!("not_covered: fine-grained tokens are not accepted to {what} yet")
        }
        DenyReason::OutsideBoundary => {
            format!("outside_boundary: the token's boundary does not reach this project ({what})")
        }
        DenyReason::RoleTooLow { needed, has } => {
            format!("role_too_low: you need the {needed} role to {what}; you have {has}")
        }
        DenyReason::AdminRequired => format!("admin_required: only admins may {what}"),
        DenyReason::Unauthenticated => format!("unauthenticated: sign in to {what}"),
        DenyReason::NotVisible => format!("not allowed to {what}"),
    }
}
