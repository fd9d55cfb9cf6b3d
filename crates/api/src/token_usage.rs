//! Least privilege over REST: a token's usage record (what it used, where, how often), "trim to
//! used" (rotate into a token holding only that), and the audit log of token events. Readable
//! by the token's owner and by admins in admin mode, like the token itself.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::tokens::{NOT_FOUND, visible};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tinforge_authz::require;
use tinforge_gate::least_privilege::{self, UseTarget};
use tinforge_gate::{Authorized, RestRoutes, TokenResolver, usage};
use tinforge_store::token_events::{self, EventRow};
use tinforge_store::token_usage::NO_TARGET;
use tinforge_store::tokens::{self, TokenRecord};
use tinforge_store::{DbConnection, StoreError, groups, projects};
use utoipa::ToSchema;

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/personal_access_tokens";
    r.route(
        "GET",
        &format!("{base}/events"),
        require!(personal_access_token:read),
    )
    .summary("Token events of your tokens (admins: everyone's, or one user's with user_id)")
    .returns_list::<EventView>()
    .to(list_events);
    r.route(
        "GET",
        &format!("{base}/{{token_id}}/usage"),
        require!(personal_access_token:read),
    )
    .summary("What a token used: permission, project or group, day and requests")
    .returns::<UsageView>()
    .to(get_usage);
    r.route(
        "GET",
        &format!("{base}/{{token_id}}/events"),
        require!(personal_access_token:read),
    )
    .summary("The audit log of a token's rotation family")
    .returns_list::<EventView>()
    .to(token_events);
    r.route(
        "POST",
        &format!("{base}/{{token_id}}/trim"),
        require!(personal_access_token:update),
    )
    .summary("Rotate a token into one holding only what it used in the last 30 days")
    .returns::<TrimmedTokenView>()
    .to(trim_token);
}

/// One day's use of one permission on one target.
#[derive(Serialize, ToSchema)]
struct UsageRecordView {
    day: String,
    permission: String,
    project_id: Option<i64>,
    group_id: Option<i64>,
    requests: i64,
    last_used_at: String,
}

/// A permission the token holds, with its use.
#[derive(Serialize, ToSchema)]
struct PermissionUsageView {
    permission: String,
    requests: i64,
    requests_last_30_days: i64,
    last_used_at: Option<String>,
    projects: Vec<views::PathRef>,
    groups: Vec<views::PathRef>,
    /// Used without a project or group (lists, user-level resources).
    untargeted: bool,
}

#[derive(Serialize, ToSchema)]
struct UsageView {
    token_id: i64,
    window_days: i64,
    retention_days: i64,
    permissions: Vec<PermissionUsageView>,
    /// Held permissions not used in the last 30 days.
    unused: Vec<String>,
    /// Over-privilege findings, in words.
    flags: Vec<String>,
    records: Vec<UsageRecordView>,
}

fn token_id(path: &str) -> Result<i64, ApiError> {
    path.parse().map_err(|_| NOT_FOUND)
}

/// The token, if the caller may see it (owner, or admin in admin mode).
fn visible_token(
    c: &mut DbConnection,
    auth: &tinforge_authz::Principal,
    id: i64,
) -> Result<TokenRecord, ApiError> {
    tokens::get(c, id)?
        .filter(|t| visible(auth, t))
        .ok_or(NOT_FOUND)
}

async fn get_usage(auth: Authorized, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            usage::flush()?;
            let t = visible_token(c, &p, id)?;
            Ok(usage_view(c, &t)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn usage_view(c: &mut DbConnection, t: &TokenRecord) -> Result<UsageView, StoreError> {
    let today = Utc::now().date_naive();
    let assessment = least_privilege::assess(c, t, today)?;
    let rows = least_privilege::load_uses(c, t, today)?;
    let mut names: BTreeMap<UseTarget, Option<String>> = BTreeMap::new();
    let mut permissions = Vec::new();
    for (permission, u) in &assessment.uses {
        let mut projects_out = Vec::new();
        let mut groups_out = Vec::new();
        let mut untargeted = false;
        for target in &u.recent_targets {
            let name = match names.get(target) {
                Some(n) => n.clone(),
                None => {
                    let n = target_name(c, *target)?;
                    names.insert(*target, n.clone());
                    n
                }
            };
            match (target, name) {
                (UseTarget::Project(id), Some(full_path)) => {
                    projects_out.push(views::PathRef { id: *id, full_path })
                }
                (UseTarget::Group(id), Some(full_path)) => {
                    groups_out.push(views::PathRef { id: *id, full_path })
                }
                (UseTarget::None, _) => untargeted = true,
                _ => {}
            }
        }
        permissions.push(PermissionUsageView {
            permission: permission.to_string(),
            requests: u.requests,
            requests_last_30_days: u.recent_requests,
            last_used_at: u.last_used_at.map(views::time),
            projects: projects_out,
            groups: groups_out,
            untargeted,
        });
    }
    let unused = assessment
        .held
        .iter()
        .filter(|p| !assessment.recently_used(**p))
        .map(|p| p.to_string())
        .collect();
    let records = rows
        .into_iter()
        .map(|r| UsageRecordView {
            day: r.day.format("%Y-%m-%d").to_string(),
            permission: r.permission,
            project_id: (r.project_id != NO_TARGET).then_some(r.project_id),
            group_id: (r.group_id != NO_TARGET).then_some(r.group_id),
            requests: r.requests,
            last_used_at: views::time(r.last_used_at),
        })
        .collect();
    Ok(UsageView {
        token_id: t.row.id,
        window_days: least_privilege::WINDOW_DAYS,
        retention_days: tinforge_store::token_usage::RETENTION_DAYS,
        permissions,
        unused,
        flags: assessment.flags,
        records,
    })
}

fn target_name(c: &mut DbConnection, t: UseTarget) -> Result<Option<String>, StoreError> {
    Ok(match t {
        UseTarget::Project(id) => projects::find(c, id)?.map(|p| p.full_path),
        UseTarget::Group(id) => groups::find(c, id)?.map(|g| g.full_path),
        UseTarget::None => None,
    })
}

async fn trim_token(
    auth: Authorized,
    resolver: web::Data<TokenResolver>,
    cfg: web::Data<ApiConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let policy = cfg.token_policy;
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            usage::flush()?;
            let old = visible_token(c, &p, id)?;
            let today = Utc::now().date_naive();
            let (new_id, secret, plan) =
                least_privilege::trim(c, &resolver, &policy, Some(&p), &old, today)?;
            tracing::info!(token.id = id, token.successor = new_id, "token trimmed");
            let new = tokens::get(c, new_id)?.ok_or(StoreError::NotFound)?;
            Ok(TrimmedTokenView {
                token: views::token(c, &new, Some(&secret))?,
                trim: TrimView {
                    kept: plan.kept,
                    removed: plan.removed,
                },
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The successor of a trimmed token, and what the trim kept and removed.
#[derive(Serialize, ToSchema)]
struct TrimmedTokenView {
    #[serde(flatten)]
    token: views::TokenView,
    trim: TrimView,
}

/// Permissions a trim kept and removed.
#[derive(Serialize, ToSchema)]
struct TrimView {
    kept: Vec<String>,
    removed: Vec<String>,
}

/// One audit event, as REST returns it.
#[derive(Serialize, ToSchema)]
struct EventView {
    id: i64,
    token_id: i64,
    user_id: i64,
    actor_id: Option<i64>,
    event: String,
    detail: String,
    created_at: String,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        EventView {
            id: e.id,
            token_id: e.token_id,
            user_id: e.user_id,
            actor_id: e.actor_id,
            event: e.event,
            detail: e.detail,
            created_at: views::time(e.created_at),
        }
    }
}

async fn token_events(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let page = Page::from_params(&params)?;
    let p = auth.principal()?.clone();
    let (items, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            usage::flush()?;
            let t = visible_token(c, &p, id)?;
            let (rows, total) =
                token_events::of_family(c, t.row.family(), page.offset(), page.limit())?;
            Ok((
                rows.into_iter().map(EventView::from).collect::<Vec<_>>(),
                total,
            ))
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

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default, deserialize_with = "flex::opt_i64")]
    user_id: Option<i64>,
}

async fn list_events(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: EventsQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let p = auth.principal()?.clone();
    let owner = match q.user_id {
        Some(u) if u != p.user_id && !p.in_admin_mode() => return Err(ApiError::Forbidden(None)),
        Some(u) => Some(u),
        None if p.in_admin_mode() => None,
        None => Some(p.user_id),
    };
    let (items, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            usage::flush()?;
            let (rows, total) = token_events::list(c, owner, page.offset(), page.limit())?;
            Ok((
                rows.into_iter().map(EventView::from).collect::<Vec<_>>(),
                total,
            ))
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
