//! App-wide middleware: `X-Accepted-Permissions` on every response to a request that carried a
//! credential, and a request log line that never contains the query string (tokens live there).

use crate::authorized::{CallerIds, GateState};
use crate::credential;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use std::time::Instant;

pub const ACCEPTED_PERMISSIONS: &str = "x-accepted-permissions";

/// Adds `X-Accepted-Permissions: <resource:action,…>` from the matched endpoint's declaration.
pub async fn accepted_permissions(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let has_credential = credential::is_present(req.request());
    let mut res = next.call(req).await?;
    if has_credential {
        let request = res.request().clone();
        let declared = request
            .app_data::<web::Data<GateState>>()
            .and_then(|state| {
                let pattern = request.match_pattern()?;
                state
                    .registry
                    .lookup(request.method().as_str(), &pattern)
                    .map(|e| e.requirement.permission_list())
            });
        if let Some(value) = declared.and_then(|v| HeaderValue::from_str(&v).ok()) {
            res.headers_mut()
                .insert(HeaderName::from_static(ACCEPTED_PERMISSIONS), value);
        }
    }
    Ok(res)
}

/// One log line per request: method, path (no query), status, duration, user and token ids.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    let caller = res.request().extensions().get::<CallerIds>().copied();
    tracing::info!(
        http.method = %method,
        http.path = %path,
        http.status = res.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        user.id = caller.map(|c| c.user_id),
        token.id = caller.and_then(|c| c.token_id),
        "request"
    );
    Ok(res)
}
