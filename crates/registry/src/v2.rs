//! `/v2/…`: reads the route from the path, sends it to its handler, and adds the headers every
//! registry response carries (`Docker-Distribution-API-Version`, and `X-Accepted-Permissions`
//! for callers with a credential). Also the base check and the catalog.

use crate::access::{self, Caller};
use crate::declare::{self, Key};
use crate::error::{API_VERSION_HEADER, RegistryError};
use crate::route::{self, Route};
use crate::{RegistryConfig, blobs, listing, manifests, uploads};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use tinforge_gate::GateState;
use tinforge_gate::authorized::enforce;

/// The request's shared state.
pub struct Ctx {
    pub config: web::Data<RegistryConfig>,
    pub state: web::Data<GateState>,
}

fn ctx(req: &HttpRequest) -> Result<Ctx, RegistryError> {
    let config = req
        .app_data::<web::Data<RegistryConfig>>()
        .cloned()
        .ok_or_else(|| RegistryError::Internal("the registry is not configured".into()))?;
    let state = req
        .app_data::<web::Data<GateState>>()
        .cloned()
        .ok_or_else(|| RegistryError::Internal("the gate is not configured".into()))?;
    Ok(Ctx { config, state })
}

/// The declared action a method and route stand for (before a manifest PUT finds out whether it
/// moves a tag).
fn key_of(method: &Method, route: &Route) -> Option<Key> {
    let read = method == Method::GET || method == Method::HEAD;
    Some(match route {
        Route::Base if read => declare::BASE,
        Route::Catalog if read => declare::CATALOG,
        Route::Tags { .. } if read => declare::TAGS,
        Route::Manifest { .. } if read => declare::MANIFEST_GET,
        Route::Manifest { .. } if method == Method::PUT => declare::MANIFEST_PUT,
        Route::Manifest { .. } if method == Method::DELETE => declare::MANIFEST_DELETE,
        Route::Blob { .. } if read => declare::BLOB_GET,
        Route::Blob { .. } if method == Method::DELETE => declare::BLOB_DELETE,
        Route::Referrers { .. } if read => declare::REFERRERS,
        Route::Uploads { .. } if method == Method::POST => declare::UPLOAD_START,
        Route::Upload { .. } if method == Method::PATCH => declare::UPLOAD_CHUNK,
        Route::Upload { .. } if method == Method::PUT => declare::UPLOAD_FINISH,
        Route::Upload { .. } if method == Method::GET => declare::UPLOAD_STATUS,
        Route::Upload { .. } if method == Method::DELETE => declare::UPLOAD_CANCEL,
        _ => return None,
    })
}

/// Every `/v2/` request.
pub async fn dispatch(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let has_credential = tinforge_gate::credential::is_present(&req);
    let route = route::parse(req.path());
    let key = route.as_ref().and_then(|r| key_of(req.method(), r));
    let result = match (route, key) {
        (Some(route), Some(key)) => handle(&req, payload, route, key).await,
        (Some(_), None) => Err(RegistryError::unsupported(format!(
            "{} is not supported here",
            req.method()
        ))),
        (None, _) => Err(RegistryError::Oci {
            status: actix_web::http::StatusCode::NOT_FOUND,
            code: "NAME_UNKNOWN",
            message: "no such registry route".into(),
            detail: None,
        }),
    };
    let mut res = result.unwrap_or_else(|e| e.error_response());
    let headers = res.headers_mut();
    headers.insert(
        HeaderName::from_static("docker-distribution-api-version"),
        HeaderValue::from_static(API_VERSION_HEADER.1),
    );
    // The declaration the request was judged by (a manifest PUT that moved a tag says so).
    let declared = res.extensions().get::<Declared>().map(|d| d.0).or(key);
    let permissions = declared.and_then(|key| {
        let state = req.app_data::<web::Data<GateState>>()?;
        let endpoint = state.registry.lookup(key.0, key.1)?;
        HeaderValue::from_str(&endpoint.requirement.permission_list()).ok()
    });
    if has_credential && let Some(value) = permissions {
        res.headers_mut()
            .insert(HeaderName::from_static("x-accepted-permissions"), value);
    }
    res
}

/// The declared action a handler ended up performing, when it is not the route's own.
#[derive(Debug, Clone, Copy)]
pub struct Declared(pub Key);

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    route: Route,
    key: Key,
) -> Result<HttpResponse, RegistryError> {
    let ctx = ctx(req)?;
    let head = req.method() == Method::HEAD;
    match route {
        Route::Base => base(req, &ctx).await,
        Route::Catalog => listing::catalog(req, &ctx).await,
        Route::Tags { name } => listing::tags(req, &ctx, &name).await,
        Route::Referrers { name, digest } => listing::referrers(req, &ctx, &name, &digest).await,
        Route::Manifest { name, reference } => match key {
            declare::MANIFEST_GET => manifests::get(req, &ctx, &name, &reference, head).await,
            declare::MANIFEST_PUT => manifests::put(req, &ctx, &name, &reference, payload).await,
            _ => manifests::delete(req, &ctx, &name, &reference).await,
        },
        Route::Blob { name, digest } => match key {
            declare::BLOB_GET => blobs::get(req, &ctx, &name, &digest, head).await,
            _ => blobs::delete(req, &ctx, &name, &digest).await,
        },
        Route::Uploads { name } => uploads::start(req, &ctx, &name, payload).await,
        Route::Upload { name, session } => match key {
            declare::UPLOAD_CHUNK => uploads::chunk(req, &ctx, &name, &session, payload).await,
            declare::UPLOAD_FINISH => uploads::finish(req, &ctx, &name, &session, payload).await,
            declare::UPLOAD_STATUS => uploads::status(req, &ctx, &name, &session).await,
            _ => uploads::cancel(req, &ctx, &name, &session).await,
        },
    }
}

/// `GET /v2/`: 200 for any registry token (it was issued after authentication); a personal
/// access token presented directly needs `container_registry:read`; nothing is the challenge.
async fn base(req: &HttpRequest, ctx: &Ctx) -> Result<HttpResponse, RegistryError> {
    match access::caller(req, &ctx.config, &ctx.state).await? {
        Caller::Anonymous => Err(access::unauthorized(
            &ctx.config,
            None,
            None,
            "authentication required",
        )),
        Caller::Registry(_) => Ok(empty_json()),
        Caller::Token(p) => {
            let endpoint = access::endpoint(&ctx.state, declare::BASE)?;
            enforce(Some(&p), &endpoint, None)
                .map_err(|e| access::denial(&ctx.config, "", "pull", e))?;
            Ok(empty_json())
        }
    }
}

/// A 200 with an empty JSON object, as distribution answers the base check.
fn empty_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}
