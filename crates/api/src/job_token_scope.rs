//! A project's CI/CD job token scope, as python-gitlab's `project.job_token_scope` uses it:
//! whether the project limits which job tokens may reach it (`inbound_enabled`; GitLab removed
//! the outbound limit, so `outbound_enabled` is always false), and its allowlist of the other
//! projects and groups whose jobs' tokens may reach it. Reading needs `project:read` and
//! Maintainer (judged as if the project were private: it names who can reach the project);
//! changing it `project:update` and Maintainer. Adding a project or group the caller cannot see
//! is a 404, exactly like adding one that does not exist.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::pipeline_views::message;
use crate::views;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tinforge_authz::decide::visible_to;
use tinforge_authz::{Principal, Requirement, Role, Target, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::ci::job_token_scope::{
    self as scope, AllowlistEntry, SOURCE_GROUP, SOURCE_PROJECT, Source,
};
use tinforge_store::groups::{self, GroupTree};
use tinforge_store::projects;
use tinforge_store::{DbConnection, StoreError, namespaces};

const READ: Requirement = require!(project:read)
    .min_role(Role::Maintainer)
    .members_only();
const WRITE: Requirement = require!(project:update).min_role(Role::Maintainer);

pub fn declare(r: &mut RestRoutes) {
    let settings = "/api/v4/projects/{id}/job_token_scope";
    let projects = "/api/v4/projects/{id}/job_token_scope/allowlist";
    let project = "/api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}";
    let groups = "/api/v4/projects/{id}/job_token_scope/groups_allowlist";
    let group = "/api/v4/projects/{id}/job_token_scope/groups_allowlist/{target_group_id}";
    r.route("GET", settings, READ)
        .project("id")
        .summary(
            "Whether the project limits job tokens to its allowlist (project:read, Maintainer+)",
        )
        .returns::<ScopeView>()
        .to(get_settings);
    r.route("PATCH", settings, WRITE)
        .project("id")
        .summary("Limit job tokens to the allowlist, or accept any (project:update, Maintainer+)")
        .to(patch_settings);
    r.route("GET", projects, READ)
        .project("id")
        .summary("Projects whose job tokens may reach this project (project:read, Maintainer+)")
        .returns_list::<views::ProjectView>()
        .to(list_projects);
    r.route("POST", projects, WRITE)
        .project("id")
        .summary("Let a project's job tokens reach this project (project:update, Maintainer+)")
        .returns::<ProjectLinkView>()
        .to(add_project);
    r.route("DELETE", project, WRITE)
        .project("id")
        .summary("Remove a project from the job token allowlist (project:update, Maintainer+)")
        .to(remove_project);
    r.route("GET", groups, READ)
        .project("id")
        .summary(
            "Groups whose projects' job tokens may reach this project (project:read, Maintainer+)",
        )
        .returns_list::<views::GroupView>()
        .to(list_groups);
    r.route("POST", groups, WRITE)
        .project("id")
        .summary(
            "Let a group's projects' job tokens reach this project (project:update, Maintainer+)",
        )
        .returns::<GroupLinkView>()
        .to(add_group);
    r.route("DELETE", group, WRITE)
        .project("id")
        .summary("Remove a group from the job token allowlist (project:update, Maintainer+)")
        .to(remove_group);
}

// ---------------------------------------------------------------------------------------------
// Views

/// `GET /projects/:id/job_token_scope`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScopeView {
    pub inbound_enabled: bool,
    pub outbound_enabled: bool,
}

/// A project added to the allowlist (GitLab's `ProjectScopeLink`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectLinkView {
    pub source_project_id: i64,
    pub target_project_id: i64,
}

/// A group added to the allowlist (GitLab's `GroupScopeLink`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupLinkView {
    pub source_project_id: i64,
    pub target_group_id: i64,
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn project_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// A numeric id from the body or the path; anything else names nothing.
fn id_param(params: &Params, key: &'static str) -> Result<i64, ApiError> {
    let value = params.map()?.get(key).cloned().unwrap_or(Value::Null);
    flex::opt_i64(value)
        .map_err(|_| ApiError::BadRequest(format!("{key} is invalid")))?
        .ok_or_else(|| ApiError::BadRequest(format!("{key} is missing")))
}

fn path_id(req: &HttpRequest, name: &str) -> Option<i64> {
    req.match_info().get(name)?.trim().parse().ok()
}

/// Can the caller see project `id` (with the token's eyes)? None: no such project for them.
fn visible_project(
    c: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<Option<i64>, StoreError> {
    let Some(p) = projects::find(c, id)? else {
        return Ok(None);
    };
    let target = projects::project_target(c, &p, Some(principal.user_id))?;
    Ok(visible_to(principal, principal.in_admin_mode(), &target).then_some(p.id))
}

fn visible_group(
    c: &mut DbConnection,
    principal: &Principal,
    id: i64,
) -> Result<Option<i64>, StoreError> {
    let Some(g) = groups::find(c, id)? else {
        return Ok(None);
    };
    let target = projects::group_target(c, &g, Some(principal.user_id))?;
    Ok(visible_to(principal, principal.in_admin_mode(), &target).then_some(g.id))
}

/// The store's refusals (already listed, the project itself, a full list) as GitLab answers
/// them: `400 {"message":"400 Bad request - Target project is already in the job token scope"}`.
fn added(
    result: Result<AllowlistEntry, StoreError>,
) -> Result<Result<AllowlistEntry, String>, ApiError> {
    match result {
        Ok(entry) => Ok(Ok(entry)),
        Err(StoreError::Conflict(m) | StoreError::Invalid(m)) => {
            Ok(Err(format!("400 Bad request - {m}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// GitLab's answer for removing what the allowlist does not hold: `400 {"message":"400 Bad
/// request - Target project is not in the job token scope"}`.
fn not_listed(kind: &str) -> HttpResponse {
    message(
        StatusCode::BAD_REQUEST,
        format!("400 Bad request - Target {kind} is not in the job token scope"),
    )
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn get_settings(auth: Authorized) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let enabled = auth
        .run(move |c| scope::scope_enabled(c, project_id))
        .await?;
    Ok(HttpResponse::Ok().json(ScopeView {
        inbound_enabled: enabled,
        outbound_enabled: false,
    }))
}

#[derive(Deserialize)]
struct PatchBody {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    enabled: Option<bool>,
}

async fn patch_settings(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let b: PatchBody = params.parse()?;
    let enabled = b
        .enabled
        .ok_or_else(|| ApiError::BadRequest("enabled is missing".into()))?;
    auth.run(move |c| scope::set_scope_enabled(c, project_id, enabled))
        .await?;
    tracing::info!(
        project.id = project_id,
        job_token_scope.enabled = enabled,
        "job token scope changed"
    );
    Ok(HttpResponse::NoContent().finish())
}

async fn list_projects(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let page = Page::from_params(&params)?;
    let config = cfg.get_ref().clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let ids: Vec<i64> = scope::allowlist(c, project_id, SOURCE_PROJECT)?
                .into_iter()
                .map(|e| e.source_id)
                .collect();
            // In the order they were added; projects deleted since are gone from the list.
            let mut ordered = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(p) = projects::find(c, id)? {
                    ordered.push(p);
                }
            }
            let (total, chosen) = page.cut(ordered);
            let tree = GroupTree::load(c, chosen.iter().filter_map(|p| p.group_id))?;
            let ns = namespaces::for_projects(c, &chosen, &tree)?;
            let items: Vec<views::ProjectView> = chosen
                .iter()
                .map(|p| views::project(p, ns.get(&p.id), &config, true))
                .collect();
            Ok((total, items))
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

async fn add_project(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let target_id = id_param(&params, "target_project_id")?;
    let principal = auth.principal()?.clone();
    let entry = auth
        .run(move |c| -> Result<_, ApiError> {
            let id =
                visible_project(c, &principal, target_id)?.ok_or(ApiError::NotFound("Project"))?;
            added(scope::add(c, project_id, Source::Project(id)))
        })
        .await?;
    let entry = match entry {
        Ok(entry) => entry,
        Err(refusal) => return Ok(message(StatusCode::BAD_REQUEST, refusal)),
    };
    tracing::info!(
        project.id = project_id,
        allowed.project_id = entry.source_id,
        "project added to the job token allowlist"
    );
    Ok(HttpResponse::Created().json(ProjectLinkView {
        source_project_id: entry.project_id,
        target_project_id: entry.source_id,
    }))
}

async fn remove_project(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let Some(target_id) = path_id(&req, "target_project_id") else {
        return Ok(not_listed("project"));
    };
    let removed = auth
        .run(move |c| scope::remove(c, project_id, Source::Project(target_id)))
        .await?;
    if !removed {
        return Ok(not_listed("project"));
    }
    tracing::info!(
        project.id = project_id,
        allowed.project_id = target_id,
        "project removed from the job token allowlist"
    );
    Ok(HttpResponse::NoContent().finish())
}

async fn list_groups(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let page = Page::from_params(&params)?;
    let config = cfg.get_ref().clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let ids: Vec<i64> = scope::allowlist(c, project_id, SOURCE_GROUP)?
                .into_iter()
                .map(|e| e.source_id)
                .collect();
            let tree = GroupTree::load(c, ids.iter().copied())?;
            // In the order they were added; groups deleted since are gone from the list.
            let present: Vec<i64> = ids
                .into_iter()
                .filter(|id| tree.get(*id).is_some())
                .collect();
            let (total, chosen) = page.cut(present);
            let items: Vec<views::GroupView> = chosen
                .iter()
                .filter_map(|id| tree.get(*id))
                .map(|g| views::group(g, &tree, &config))
                .collect();
            Ok((total, items))
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

async fn add_group(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let target_id = id_param(&params, "target_group_id")?;
    let principal = auth.principal()?.clone();
    let entry = auth
        .run(move |c| -> Result<_, ApiError> {
            let id = visible_group(c, &principal, target_id)?.ok_or(ApiError::NotFound("Group"))?;
            added(scope::add(c, project_id, Source::Group(id)))
        })
        .await?;
    let entry = match entry {
        Ok(entry) => entry,
        Err(refusal) => return Ok(message(StatusCode::BAD_REQUEST, refusal)),
    };
    tracing::info!(
        project.id = project_id,
        allowed.group_id = entry.source_id,
        "group added to the job token allowlist"
    );
    Ok(HttpResponse::Created().json(GroupLinkView {
        source_project_id: entry.project_id,
        target_group_id: entry.source_id,
    }))
}

async fn remove_group(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let project_id = project_of(&auth)?.id;
    let Some(target_id) = path_id(&req, "target_group_id") else {
        return Ok(not_listed("group"));
    };
    let removed = auth
        .run(move |c| scope::remove(c, project_id, Source::Group(target_id)))
        .await?;
    if !removed {
        return Ok(not_listed("group"));
    }
    tracing::info!(
        project.id = project_id,
        allowed.group_id = target_id,
        "group removed from the job token allowlist"
    );
    Ok(HttpResponse::NoContent().finish())
}
