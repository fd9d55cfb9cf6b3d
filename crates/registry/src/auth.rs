//! The token service at `/jwt/auth` (GitLab's path): Basic credentials with any username and a
//! personal access token as password, or none (anonymous). The access granted is the requested
//! scope intersected with what the caller may do there, each action judged by `enforce()`
//! against its declaration: `pull` = pulling a manifest (`container_registry:read`), `push` =
//! pushing new content (`container_registry:create`) or moving a tag
//! (`container_registry:update`), each judged again when it happens, `delete` = deleting a manifest
//! (`container_registry:delete`). Actions that are not allowed are left out, as the token
//! spec says; a login (no scope) with a token that may not use the registry at all is refused.
//! Also the OAuth2 form POST that containerd and BuildKit send first.

use crate::access::endpoint;
use crate::declare::{self, Key};
use crate::error::RegistryError;
use crate::scope::{ResourceScope, ScopeKind, parse_scopes, query_param};
use crate::token::Access;
use crate::{RegistryConfig, SERVICE};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use tinforge_authz::Principal;
use tinforge_gate::authorized::{RequestCredentials, enforce, run_blocking};
use tinforge_gate::{GateError, GateState};
use tinforge_store::DbConnection;
use tinforge_store::projects;
use tinforge_store::registry::names;

/// GitLab's words for refused credentials.
const ACCESS_DENIED: &str = "HTTP Basic: Access denied. If a token was provided, it was either incorrect, expired, or improperly scoped.";

fn state(
    req: &HttpRequest,
) -> Result<(web::Data<RegistryConfig>, web::Data<GateState>), RegistryError> {
    let config = req
        .app_data::<web::Data<RegistryConfig>>()
        .cloned()
        .ok_or_else(|| RegistryError::Internal("the registry is not configured".into()))?;
    let gate = req
        .app_data::<web::Data<GateState>>()
        .cloned()
        .ok_or_else(|| RegistryError::Internal("the gate is not configured".into()))?;
    Ok((config, gate))
}

fn refused() -> RegistryError {
    RegistryError::Unauthorized {
        challenge: "Basic realm=\"tinforge\"".into(),
        message: ACCESS_DENIED.into(),
    }
}

/// The declared actions behind a docker action; any one of them grants it (`push` covers
/// pushing new content and moving a tag, each judged again when it happens).
fn keys_of(action: &str) -> &'static [Key] {
    match action {
        "pull" => &[declare::MANIFEST_GET],
        "push" => &[declare::UPLOAD_START, declare::TAG_MOVE],
        "delete" => &[declare::MANIFEST_DELETE],
        _ => &[],
    }
}

/// Judges every requested scope for `principal`; returns the granted access.
fn grant(
    conn: &mut DbConnection,
    gate: &GateState,
    principal: Option<&Principal>,
    scopes: &[ResourceScope],
) -> Result<Vec<Access>, RegistryError> {
    let mut granted = Vec::new();
    for scope in scopes {
        let mut actions = Vec::new();
        match scope.kind {
            ScopeKind::Registry => {
                let catalog = endpoint(gate, declare::CATALOG)?;
                if scope.name == "catalog"
                    && principal.is_some()
                    && tinforge_gate::listing::open_list(principal, &catalog).is_ok()
                {
                    actions.push("*".to_string());
                }
            }
            ScopeKind::Repository => {
                let found = if names::is_valid_name(&scope.name) {
                    names::find_project(conn, &scope.name)?
                } else {
                    None
                };
                if let Some((project, _)) = found {
                    let target =
                        projects::project_target(conn, &project, principal.map(|p| p.user_id))?;
                    let wanted: Vec<&str> = if scope.actions.iter().any(|a| a == "*") {
                        vec!["pull", "push", "delete"]
                    } else {
                        scope.actions.iter().map(String::as_str).collect()
                    };
                    for action in wanted {
                        for key in keys_of(action) {
                            if enforce(principal, &endpoint(gate, *key)?, Some(&target)).is_ok() {
                                actions.push(action.to_string());
                                break;
                            }
                        }
                    }
                }
            }
        }
        granted.push(Access {
            kind: scope.kind.as_str().to_string(),
            name: scope.name.clone(),
            actions,
        });
    }
    Ok(granted)
}

/// Issues a token for what `principal` may do of `scopes`.
async fn issue(
    config: &RegistryConfig,
    gate: web::Data<GateState>,
    principal: Option<Principal>,
    scopes: Vec<ResourceScope>,
) -> Result<HttpResponse, RegistryError> {
    let base = endpoint(&gate, declare::BASE)?;
    if scopes.is_empty()
        && let Some(p) = &principal
        && let Err(e) = enforce(Some(p), &base, None)
    {
        // GitLab refuses a login with a token that may not use the registry at all.
        let detail = match e {
            GateError::Denied { reason, .. } => {
                serde_json::json!({ "reason": reason.code(), "required": ["container_registry:read"] })
            }
            _ => serde_json::Value::Null,
        };
        return Err(RegistryError::denied("access forbidden").with_detail(detail));
    }
    let store = gate.store.clone();
    let who = principal.clone();
    let access = run_blocking(&store, move |conn| {
        grant(conn, &gate, who.as_ref(), &scopes)
    })
    .await?;
    let (subject, user_id, token_id, job_id) = match &principal {
        Some(p) => (p.username.clone(), Some(p.user_id), p.token_id, p.job_id),
        None => (String::new(), None, None, None),
    };
    let issuer = config.issuer.clone();
    let token =
        web::block(move || issuer.issue_for_job(&subject, user_id, token_id, job_id, access))
            .await
            .map_err(|e| RegistryError::Unavailable(e.to_string()))?
            .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(token))
}

fn check_service(service: Option<&str>) -> Result<(), RegistryError> {
    match service {
        Some(s) if !s.is_empty() && s != SERVICE => Err(RegistryError::bad_request(
            "UNSUPPORTED",
            format!("unknown service {s:?}; this token service serves {SERVICE:?}"),
        )),
        _ => Ok(()),
    }
}

fn scopes_of(query: &str) -> Result<Vec<ResourceScope>, RegistryError> {
    parse_scopes(query).map_err(|e| RegistryError::bad_request("NAME_INVALID", e.to_string()))
}

/// `GET /jwt/auth?service=container_registry&scope=repository:<name>:pull,push`.
pub async fn token(req: HttpRequest) -> HttpResponse {
    respond(token_get(&req).await)
}

async fn token_get(req: &HttpRequest) -> Result<HttpResponse, RegistryError> {
    let (config, gate) = state(req)?;
    let query = req.query_string();
    check_service(query_param(query, "service").as_deref())?;
    let scopes = scopes_of(query)?;
    let credentials = RequestCredentials::of(req).map_err(|_| refused())?;
    let resolver = gate.resolver.clone();
    let principal = run_blocking(&gate.store, move |conn| {
        credentials.resolve(conn, &resolver)
    })
    .await
    .map_err(|e| match e {
        GateError::Store(s) => RegistryError::from(s),
        _ => refused(),
    })?;
    issue(&config, gate, principal, scopes).await
}

/// OAuth2's error body for the form POST.
#[derive(Serialize)]
struct OauthError {
    error: &'static str,
    error_description: String,
}

/// `POST /jwt/auth` with `grant_type=password&username=…&password=<token>&scope=…&service=…`.
pub async fn token_form(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = String::from_utf8_lossy(&body).into_owned();
    let grant_type = query_param(&form, "grant_type").unwrap_or_default();
    if grant_type != "password" {
        return HttpResponse::BadRequest().json(OauthError {
            error: "unsupported_grant_type",
            error_description:
                "only grant_type=password is supported; or GET this endpoint with Basic credentials"
                    .into(),
        });
    }
    respond(token_post(&req, &form).await)
}

async fn token_post(req: &HttpRequest, form: &str) -> Result<HttpResponse, RegistryError> {
    let (config, gate) = state(req)?;
    check_service(query_param(form, "service").as_deref())?;
    let scopes = scopes_of(form)?;
    let password = query_param(form, "password").unwrap_or_default();
    let resolver = gate.resolver.clone();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let principal = run_blocking(&gate.store, move |conn| {
        resolver
            .resolve(conn, &password, &ip)
            .map_err(GateError::from)
    })
    .await
    .map_err(|e| match e {
        GateError::Store(s) => RegistryError::from(s),
        _ => refused(),
    })?;
    issue(&config, gate, Some(principal), scopes).await
}

fn respond(result: Result<HttpResponse, RegistryError>) -> HttpResponse {
    match result {
        Ok(r) => r,
        Err(e) => {
            let mut res = e.error_response();
            if e.status_code() == StatusCode::UNAUTHORIZED {
                // Basic, not Bearer: the token service wants credentials, not a token.
                res.headers_mut().insert(
                    actix_web::http::header::WWW_AUTHENTICATE,
                    actix_web::http::header::HeaderValue::from_static("Basic realm=\"tinforge\""),
                );
            }
            res
        }
    }
}
