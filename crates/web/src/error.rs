//! The web surface's one error type, answered as an HTML page, and the gate's denials as the
//! pages answer them: a signed-out browser goes to the sign-in page, a missing or hidden thing is
//! a 404 page, anything else refused a 403 page.

use crate::pages::{ErrorPage, Nav};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use tinforge_authz::DenyReason;
use tinforge_gate::GateError;
use tinforge_gate::issue::IssueError;
use tinforge_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(&'static str),
    /// A form without a valid authenticity token: nothing was changed.
    #[error("The form has expired or did not come from this site. Reload the page and try again.")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Render(#[from] askama::Error),
}

impl From<IssueError> for WebError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(m) | IssueError::Escalation(m) => WebError::Unprocessable(m),
            IssueError::Store(s) => WebError::Store(s),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Gate(g) => g.status_code(),
            WebError::Store(StoreError::NotFound) => StatusCode::NOT_FOUND,
            WebError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            WebError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
            WebError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Store(_) | WebError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            WebError::Store(StoreError::Database(_)) | WebError::Render(_) => {
                tracing::error!(error = %self, "web page failed");
                "Something went wrong on our side.".to_string()
            }
            WebError::Store(StoreError::NotFound) => "The page could not be found.".into(),
            WebError::Gate(_) => "You are not allowed to do this.".into(),
            other => other.to_string(),
        };
        error_page(status, &message)
    }
}

/// An error page with the status's own title.
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let page = ErrorPage {
        nav: Nav::default(),
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        message: message.to_string(),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{} {}", status.as_u16(), message));
    crate::session::html(HttpResponse::build(status), body)
}

/// The gate's denial on a web page.
pub fn render_denial(req: &HttpRequest, e: &GateError) -> HttpResponse {
    match e {
        GateError::Unauthorized
        | GateError::Denied {
            reason: DenyReason::Unauthenticated,
            ..
        } => sign_in_redirect(req),
        GateError::Denied {
            reason: DenyReason::NotVisible,
            ..
        }
        | GateError::Store(StoreError::NotFound) => {
            error_page(StatusCode::NOT_FOUND, "The page could not be found.")
        }
        GateError::Denied { .. } | GateError::Forbidden(_) => {
            error_page(StatusCode::FORBIDDEN, "Your role does not allow this here.")
        }
        other => {
            tracing::warn!(error = %other, "web page refused");
            error_page(other.status_code(), "The request could not be served.")
        }
    }
}

/// 303 to the sign-in page, coming back here afterwards.
pub fn sign_in_redirect(req: &HttpRequest) -> HttpResponse {
    let back = match req.uri().path_and_query() {
        Some(pq) if req.method() == actix_web::http::Method::GET => pq.as_str().to_string(),
        _ => "/".to_string(),
    };
    let location = format!(
        "/users/sign_in?redirect_to={}",
        percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC)
    );
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/users/sign_in")),
        ))
        .finish()
}
