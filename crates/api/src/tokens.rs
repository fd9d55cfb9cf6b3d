//! Personal access tokens over REST, GitLab v4 shapes: list, get, create (legacy scopes,
//! tinforge's `boundary` + `permissions`, `grants`, or GitLab's `granular_scopes`), rotate and
//! revoke. The secret appears only in the create and rotate responses; digests never do.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use tinforge_authz::{LegacyScope, Principal, require};
use tinforge_gate::issue::{self, GrantRequest, TokenRequest};
use tinforge_gate::{Authorized, RestRoutes, TokenResolver};
use tinforge_store::tokens::{self, TokenRecord, TokenRights};
use tinforge_store::users::{self, User};
use tinforge_store::{DbConnection, StoreError};

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/personal_access_tokens";
    r.route("GET", base, require!(personal_access_token:read))
        .summary("List your tokens (admins: anyone's, with user_id)")
        .returns_list::<views::TokenView>()
        .to(list_tokens);
    r.route(
        "GET",
        &format!("{base}/self"),
        require!(personal_access_token:read),
    )
    .summary("The token making the request")
    .returns::<views::TokenView>()
    .to(get_self);
    r.route(
        "GET",
        &format!("{base}/{{token_id}}"),
        require!(personal_access_token:read),
    )
    .summary("A single token")
    .returns::<views::TokenView>()
    .to(get_token);
    r.route(
        "POST",
        &format!("{base}/self/rotate"),
        require!(personal_access_token:update).also_scopes(&[LegacyScope::SelfRotate]),
    )
    .summary("Rotate the token making the request")
    .returns::<views::TokenView>()
    .to(rotate_self);
    r.route(
        "POST",
        &format!("{base}/{{token_id}}/rotate"),
        require!(personal_access_token:update),
    )
    .summary("Rotate a token: revoke it and return a successor with the same rights")
    .returns::<views::TokenView>()
    .to(rotate_token);
    r.route(
        "DELETE",
        &format!("{base}/self"),
        require!(personal_access_token:delete),
    )
    .summary("Revoke the token making the request")
    .to(revoke_self);
    r.route(
        "DELETE",
        &format!("{base}/{{token_id}}"),
        require!(personal_access_token:delete),
    )
    .summary("Revoke a token")
    .to(revoke_token);
    r.route(
        "POST",
        "/api/v4/user/personal_access_tokens",
        require!(personal_access_token:create),
    )
    .summary("Create a token for yourself")
    .returns::<views::TokenView>()
    .to(create_own_token);
    r.route(
        "POST",
        "/api/v4/users/{user_id}/personal_access_tokens",
        require!(personal_access_token:create).admin_only(),
    )
    .summary("Create a token for a user (admin)")
    .returns::<views::TokenView>()
    .to(create_user_token);
}

/// Tokens are visible to their owner and to admins in admin mode; to anyone else they do not exist.
pub(crate) fn visible(p: &Principal, t: &TokenRecord) -> bool {
    t.row.user_id == p.user_id || p.in_admin_mode()
}

pub(crate) const NOT_FOUND: ApiError = ApiError::NotFound("Personal Access Token");

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "flex::opt_i64")]
    user_id: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    revoked: Option<bool>,
    state: Option<String>,
    search: Option<String>,
}

async fn list_tokens(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = auth.principal()?.clone();
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let owner = match q.user_id {
        Some(u) if u != p.user_id && !p.in_admin_mode() => return Err(ApiError::Unauthorized),
        Some(u) => Some(u),
        None if p.in_admin_mode() => None,
        None => Some(p.user_id),
    };
    let today = Utc::now().date_naive();
    let search = q.search.map(|s| s.to_lowercase());
    let (items, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            let all: Vec<TokenRecord> = tokens::list(c, owner)?
                .into_iter()
                .filter(|t| q.revoked.is_none_or(|r| r == t.row.revoked_at.is_some()))
                .filter(|t| match q.state.as_deref() {
                    Some("active") => t.row.is_active(today),
                    Some("inactive") => !t.row.is_active(today),
                    _ => true,
                })
                .filter(|t| {
                    search
                        .as_ref()
                        .is_none_or(|s| t.row.name.to_lowercase().contains(s))
                })
                .collect();
            let total = all.len() as i64;
            let page_items = all
                .iter()
                .skip(page.offset() as usize)
                .take(page.limit() as usize)
                .map(|t| views::token(c, t, None))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((page_items, total))
        })
        .await?;
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn get_self(auth: Authorized) -> Result<HttpResponse, ApiError> {
    let id = self_id(&auth)?;
    show(auth, id).await
}

async fn get_token(auth: Authorized, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.parse().map_err(|_| NOT_FOUND)?;
    show(auth, id).await
}

async fn show(auth: Authorized, id: i64) -> Result<HttpResponse, ApiError> {
    let p = auth.principal()?.clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            let t = tokens::get(c, id)?
                .filter(|t| visible(&p, t))
                .ok_or(NOT_FOUND)?;
            views::token(c, &t, None)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The id of the token making the request (sessions have none).
fn self_id(auth: &Authorized) -> Result<i64, ApiError> {
    auth.principal()?.token_id.ok_or(NOT_FOUND)
}

#[derive(Deserialize)]
struct RotateBody {
    expires_at: Option<NaiveDate>,
}

async fn rotate_self(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let id = self_id(&auth)?;
    rotate(auth, resolver, cfg, params, id).await
}

async fn rotate_token(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.parse().map_err(|_| NOT_FOUND)?;
    rotate(auth, resolver, cfg, params, id).await
}

async fn rotate(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    let body: RotateBody = params.parse()?;
    let p = auth.principal()?.clone();
    let policy = cfg.token_policy;
    let json = auth
        .run(move |c| -> Result<_, ApiError> {
            let old = tokens::get(c, id)?
                .filter(|t| visible(&p, t))
                .ok_or(NOT_FOUND)?;
            let (new_id, secret) =
                issue::rotate(c, &resolver, &policy, Some(&p), &old, body.expires_at)?;
            let new = tokens::get(c, new_id)?.ok_or(StoreError::NotFound)?;
            tracing::info!(
                token.id = old.row.id,
                token.successor = new_id,
                "token rotated"
            );
            views::token(c, &new, Some(&secret))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json))
}

async fn revoke_self(auth: Authorized) -> Result<HttpResponse, ApiError> {
    let id = self_id(&auth)?;
    revoke(auth, id).await
}

async fn revoke_token(auth: Authorized, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.parse().map_err(|_| NOT_FOUND)?;
    revoke(auth, id).await
}

async fn revoke(auth: Authorized, id: i64) -> Result<HttpResponse, ApiError> {
    let p = auth.principal()?.clone();
    auth.run(move |c| -> Result<_, ApiError> {
        tokens::get(c, id)?
            .filter(|t| visible(&p, t))
            .ok_or(NOT_FOUND)?;
        if !issue::revoke(c, Some(&p), id)? {
            return Err(ApiError::BadRequest("Token already revoked".into()));
        }
        tracing::info!(token.id = id, "token revoked");
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    expires_at: Option<NaiveDate>,
}

async fn create_own_token(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let owner = auth.principal()?.user_id;
    create(auth, resolver, cfg, params, owner).await
}

async fn create_user_token(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = path.parse().map_err(|_| ApiError::NotFound("User"))?;
    create(auth, resolver, cfg, params, owner).await
}

async fn create(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    params: Params,
    owner_id: i64,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = params.parse()?;
    let rights = RightsRequest::from_params(params.map()?)?;
    let p = auth.principal()?.clone();
    let policy = cfg.token_policy;
    let json = auth
        .run(move |c| -> Result<_, ApiError> {
            let owner = users::find(c, owner_id)?.ok_or(ApiError::NotFound("User"))?;
            let rights = rights.resolve(c, &owner)?;
            let expires_at = body.expires_at.unwrap_or_else(|| policy.default_expiry());
            let (id, secret) = issue::issue(
                c,
                &resolver,
                &policy,
                Some(&p),
                &TokenRequest {
                    user_id: owner.id,
                    name: body.name.as_deref().unwrap_or(""),
                    description: body.description.as_deref().unwrap_or(""),
                    rights,
                    expires_at,
                },
            )?;
            tracing::info!(token.id = id, user.id = owner.id, "token created");
            let t = tokens::get(c, id)?.ok_or(StoreError::NotFound)?;
            views::token(c, &t, Some(&secret))
        })
        .await?;
    Ok(HttpResponse::Created().json(json))
}

/// The rights a create request asks for, in any of the accepted shapes.
enum RightsRequest {
    Legacy(Vec<LegacyScope>),
    FineGrained(Vec<GrantRequest>),
}

impl RightsRequest {
    fn from_params(m: &Map<String, Value>) -> Result<RightsRequest, ApiError> {
        let given = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
        let shorthand = given("boundary") || given("permissions");
        let shapes = [
            given("scopes"),
            shorthand,
            given("grants"),
            given("granular_scopes"),
        ];
        match shapes.iter().filter(|s| **s).count() {
            0 => return Err(ApiError::BadRequest("scopes is missing".into())),
            1 => {}
            _ => {
                return Err(ApiError::BadRequest(
                    "scopes, boundary/permissions, grants and granular_scopes are mutually exclusive"
                        .into(),
                ));
            }
        }
        if given("scopes") {
            let names = string_list(m.get("scopes"), "scopes")?;
            let scopes = LegacyScope::parse_list(&names.join(",")).map_err(|e| {
                ApiError::BadRequest(format!("scopes does not have a valid value: {e}"))
            })?;
            return Ok(RightsRequest::Legacy(scopes));
        }
        let grants = if shorthand {
            vec![grant_request(m)?]
        } else if given("grants") {
            object_list(m.get("grants"), "grants")?
                .iter()
                .map(|g| grant_request(g))
                .collect::<Result<_, _>>()?
        } else {
            object_list(m.get("granular_scopes"), "granular_scopes")?
                .iter()
                .map(|g| granular_scope_request(g))
                .collect::<Result<_, _>>()?
        };
        Ok(RightsRequest::FineGrained(grants))
    }

    fn resolve(self, conn: &mut DbConnection, owner: &User) -> Result<TokenRights, ApiError> {
        Ok(match self {
            RightsRequest::Legacy(scopes) => TokenRights::Legacy(scopes),
            RightsRequest::FineGrained(requests) => {
                TokenRights::FineGrained(issue::resolve_grants(conn, owner, &requests)?)
            }
        })
    }
}

/// tinforge's shape: `{boundary, projects, groups, permissions}`, permissions as a list of names or
/// as `{"issue": ["read", "create"]}`.
fn grant_request(m: &Map<String, Value>) -> Result<GrantRequest, ApiError> {
    let permissions = match m.get("permissions") {
        Some(Value::Object(by_resource)) => {
            let mut names = Vec::new();
            for (resource, actions) in by_resource {
                for action in string_list(Some(actions), "permissions")? {
                    names.push(format!("{resource}:{action}"));
                }
            }
            names
        }
        other => string_list(other, "permissions")?,
    };
    Ok(GrantRequest {
        boundary: m
            .get("boundary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        projects: string_list(m.get("projects"), "projects")?,
        groups: string_list(m.get("groups"), "groups")?,
        permissions,
    })
}

/// GitLab's shape: `{access, permissions: ["read_issue"], project_ids, group_ids}`.
fn granular_scope_request(m: &Map<String, Value>) -> Result<GrantRequest, ApiError> {
    Ok(GrantRequest {
        boundary: m
            .get("access")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        projects: string_list(m.get("project_ids"), "project_ids")?,
        groups: string_list(m.get("group_ids"), "group_ids")?,
        permissions: string_list(m.get("permissions"), "permissions")?,
    })
}

/// A list of strings or numbers, a comma-separated string, or absent (empty).
fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::BadRequest(format!("{field} is invalid"));
    let item = |v: &Value| match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(invalid()),
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(item).collect(),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()),
        Some(Value::Number(n)) => Ok(vec![n.to_string()]),
        Some(_) => Err(invalid()),
    }
}

fn object_list<'a>(
    v: Option<&'a Value>,
    field: &str,
) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    let invalid = || ApiError::BadRequest(format!("{field} is invalid"));
    match v {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_object().ok_or_else(invalid))
            .collect(),
        _ => Err(invalid()),
    }
}
