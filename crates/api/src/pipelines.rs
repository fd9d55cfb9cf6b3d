//! Pipelines over REST, GitLab v4 shapes: a project's pipelines with GitLab's filters, running one
//! for a ref (`POST /pipeline`, singular, as GitLab has it), the latest one of a ref, one
//! pipeline, its jobs and variables, cancel, retry and delete; and a merge request's pipelines.
//!
//! The gate has authorized the route's permission on the project. Reading is `pipeline:read`
//! (Reporter on private projects, anyone on public ones), running `pipeline:create` and
//! cancel/retry `pipeline:update` (Developer), deleting `pipeline:delete` (Owner, as in GitLab).
//! What a pipeline does is the engine's business (`tinforge_ci::service`); these handlers turn
//! its answers into GitLab's statuses and bodies and ring the job queue when jobs became pending.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::pipeline_views::{
    self, JobView, PipelineBasic, PipelineVariableView, PipelineView, Site,
};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::Value;
use std::str::FromStr;
use tinforge_authz::{Principal, Requirement, Role, Target, TokenKind, require};
use tinforge_ci::service::progress::{self, Settled};
use tinforge_ci::service::{CiError, Created, PipelineRequest, create_pipeline};
use tinforge_ci::{JobStatus, PipelineSource, PipelineStatus};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::ci::artifacts;
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::pipelines::{self, PipelineFilter, PipelineOrder, PipelineRow};
use tinforge_store::{DbConnection, StoreError, merge_requests, projects, users};

/// Reading pipelines, jobs and job logs: Reporter+ (anyone on a public project).
pub const READ: Requirement = tinforge_authz::requirement::reads::PIPELINE;
/// A pipeline's variables may hold secrets: Developer+, as GitLab's `read_pipeline_variable`.
pub const READ_VARIABLES: Requirement = require!(pipeline:read).min_role(Role::Developer);
/// Running a pipeline: Developer+.
pub const CREATE: Requirement = require!(pipeline:create).min_role(Role::Developer);
/// Cancel, retry, play: Developer+.
pub const UPDATE: Requirement = require!(pipeline:update).min_role(Role::Developer);
/// Deleting a pipeline: Owner, as in GitLab.
pub const DELETE: Requirement = require!(pipeline:delete).min_role(Role::Owner);

/// GitLab's message when `rules` leave a pipeline without jobs.
pub const FILTERED: &str = "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.";

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/projects/{id}/pipelines";
    let one = "/api/v4/projects/{id}/pipelines/{pipeline_id}";
    let at = |tail: &str| format!("{one}/{tail}");
    r.route("GET", base, READ)
        .project("id")
        .summary(
            "A project's pipelines, newest first, with GitLab's filters (pipeline:read, Reporter+)",
        )
        .returns_list::<PipelineBasic>()
        .to(list_pipelines);
    r.route("POST", "/api/v4/projects/{id}/pipeline", CREATE)
        .project("id")
        .summary("Run a pipeline for a branch or tag, with variables (pipeline:create, Developer+)")
        .returns::<PipelineView>()
        .to(create);
    r.route("GET", "/api/v4/projects/{id}/pipelines/latest", READ)
        .project("id")
        .summary("The latest pipeline of a ref, the default branch by default (pipeline:read, Reporter+)")
        .returns::<PipelineView>()
        .to(latest);
    r.route("GET", one, READ)
        .project("id")
        .summary("One pipeline (pipeline:read, Reporter+)")
        .returns::<PipelineView>()
        .to(get_pipeline);
    r.route("DELETE", one, DELETE)
        .project("id")
        .summary("Delete a pipeline with its jobs, logs and artifacts (pipeline:delete, Owner)")
        .to(delete_pipeline);
    r.route("GET", &at("jobs"), READ)
        .project("id")
        .summary("A pipeline's jobs in stage order; retried ones with include_retried (pipeline:read, Reporter+)")
        .returns_list::<JobView>()
        .to(pipeline_jobs);
    r.route("GET", &at("variables"), READ_VARIABLES)
        .project("id")
        .summary("The variables a pipeline was run with (pipeline:read, Developer+)")
        .returns_list::<PipelineVariableView>()
        .to(pipeline_variables);
    r.route("POST", &at("retry"), UPDATE)
        .project("id")
        .summary("Retry a pipeline's failed and canceled jobs (pipeline:update, Developer+)")
        .returns::<PipelineView>()
        .to(retry_pipeline);
    r.route("POST", &at("cancel"), UPDATE)
        .project("id")
        .summary("Cancel a pipeline's unfinished jobs (pipeline:update, Developer+)")
        .returns::<PipelineView>()
        .to(cancel_pipeline);
    let mr = "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/pipelines";
    r.route("GET", mr, READ)
        .project("id")
        .summary("A merge request's pipelines, newest first (pipeline:read, Reporter+)")
        .returns_list::<PipelineBasic>()
        .to(merge_request_pipelines);
    r.route("POST", mr, CREATE)
        .project("id")
        .summary("Run a merge request pipeline for the source branch's head (pipeline:create, Developer+)")
        .returns::<PipelineView>()
        .to(create_merge_request_pipeline);
}

// ---------------------------------------------------------------------------------------------
// Shared with jobs

/// The route's project target (routes declared with `.project("id")` always have one).
pub(crate) fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// Where the target project's pipelines live on the web.
pub(crate) fn site_of(cfg: &ApiConfig, target: &Target) -> Site {
    Site::new(cfg, target.id, &target.full_path)
}

/// A numeric path parameter; anything else names nothing (404).
pub(crate) fn id_param(req: &HttpRequest, name: &str) -> Result<i64, ApiError> {
    req.match_info()
        .get(name)
        .and_then(|s| s.parse().ok())
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// GitLab's answers for what the engine refuses. Creation problems are validation errors on
/// `base`; an operation the state does not allow is a 403 naming why.
impl From<CiError> for ApiError {
    fn from(e: CiError) -> Self {
        match e {
            CiError::NotFound => ApiError::Store(StoreError::NotFound),
            CiError::UnknownRef | CiError::NoConfig => base_error(e.to_string()),
            CiError::NotAllowed(m) => ApiError::Forbidden(Some(m)),
            CiError::Invalid(m) => ApiError::BadRequest(m),
            CiError::Store(s) => s.into(),
        }
    }
}

/// `400 {"message": {"base": ["<text>"]}}`.
pub(crate) fn base_error(text: String) -> ApiError {
    ApiError::Validation(vec![("base".to_string(), text)])
}

/// Rings the job queue when an operation made jobs pending.
pub(crate) fn ring(cfg: &ApiConfig, settled: &Settled) {
    if settled.released {
        cfg.job_queue.bump();
    }
}

fn pipeline_in(c: &mut DbConnection, project_id: i64, id: i64) -> Result<PipelineRow, ApiError> {
    pipelines::find_in_project(c, project_id, id)?.ok_or(ApiError::Store(StoreError::NotFound))
}

fn invalid(param: &str) -> ApiError {
    ApiError::BadRequest(format!("{param} does not have a valid value"))
}

/// Statuses named by a `scope[]` of job statuses (a job list's filter); an unknown one is a 400.
pub(crate) fn job_statuses(scope: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let scope = scope.unwrap_or_default();
    for s in &scope {
        JobStatus::from_str(s).map_err(|_| invalid("scope"))?;
    }
    Ok(scope)
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Deserialize, Default)]
struct ListParams {
    scope: Option<String>,
    status: Option<String>,
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    sha: Option<String>,
    source: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    yaml_errors: Option<bool>,
    username: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
}

/// `2026-11-25T10:00:00Z` (any RFC 3339 time) or a date (its midnight, UTC).
fn time_param(name: &str, value: &Option<String>) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.naive_utc()));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Some(t));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(Some)
        .ok_or_else(|| invalid(name))
}

/// A status no pipeline has: filters that contradict each other match nothing.
const NO_STATUS: &str = "-";

/// GitLab's list parameters as a store filter (the username is resolved by the caller).
fn list_filter(q: &ListParams) -> Result<PipelineFilter, ApiError> {
    let mut filter = PipelineFilter::default();
    let scoped: Option<Vec<&str>> = match q.scope.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("running") => Some(vec!["running"]),
        Some("pending") => Some(vec!["pending"]),
        Some("finished") => Some(vec!["success", "failed", "canceled", "skipped"]),
        Some("branches") => {
            filter.tag = Some(false);
            None
        }
        Some("tags") => {
            filter.tag = Some(true);
            None
        }
        Some(_) => return Err(invalid("scope")),
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            PipelineStatus::from_str(s)
                .map_err(|_| invalid("status"))?
                .as_str(),
        ),
        None => None,
    };
    filter.statuses = match (scoped, status) {
        (None, None) => Vec::new(),
        (Some(list), None) => list.into_iter().map(str::to_string).collect(),
        (None, Some(s)) => vec![s.to_string()],
        (Some(list), Some(s)) if list.contains(&s) => vec![s.to_string()],
        (Some(_), Some(_)) => vec![NO_STATUS.to_string()],
    };
    filter.ref_name = q.ref_name.clone().filter(|s| !s.is_empty());
    filter.sha = q.sha.clone().filter(|s| !s.is_empty());
    filter.source = match q.source.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            PipelineSource::from_str(s)
                .map_err(|_| invalid("source"))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    filter.yaml_errors = q.yaml_errors;
    filter.updated_after = time_param("updated_after", &q.updated_after)?;
    filter.updated_before = time_param("updated_before", &q.updated_before)?;
    filter.order_by = match q.order_by.as_deref() {
        None | Some("id") => PipelineOrder::Id,
        Some("status") => PipelineOrder::Status,
        Some("ref") => PipelineOrder::Ref,
        Some("updated_at") => PipelineOrder::UpdatedAt,
        Some("user_id") => PipelineOrder::UserId,
        Some(_) => return Err(invalid("order_by")),
    };
    filter.ascending = match q.sort.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(invalid("sort")),
    };
    Ok(filter)
}

async fn list_pipelines(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: ListParams = params.parse()?;
    let mut filter = list_filter(&q)?;
    let page = Page::from_params(&params)?;
    let site = site_of(&cfg, &target);
    let username = q.username.filter(|u| !u.is_empty());
    let (items, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            if let Some(name) = username {
                // An unknown user has no pipelines.
                filter.user_id = Some(users::find_by_username(c, &name)?.map_or(-1, |u| u.id));
            }
            let (rows, total) =
                pipelines::list(c, target.id, &filter, page.offset(), page.limit())?;
            let items: Vec<_> = rows
                .iter()
                .map(|p| pipeline_views::pipeline_basic(p, &site))
                .collect();
            Ok((items, total))
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

// ---------------------------------------------------------------------------------------------
// Running pipelines

#[derive(Deserialize)]
struct CreateParams {
    #[serde(rename = "ref")]
    ref_name: String,
}

/// One variable given to a new pipeline.
#[derive(Deserialize)]
struct VariableParam {
    key: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    variable_type: Option<String>,
}

/// `variables` as a JSON list of `{key, value, variable_type}`, or as form fields
/// `variables[0][key]=…` / `variables[][key]=…`: `(key, value, variable_type)` in order.
fn variables_param(params: &Params) -> Result<Vec<(String, String, String)>, ApiError> {
    let map = params.map()?;
    let mut given: Vec<VariableParam> = match map.get("variables") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| serde_json::from_value(v.clone()).map_err(|_| invalid("variables")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("variables")),
    };
    // Form fields: `variables[<n>][<field>]`, `variables[][<field>]` (one variable).
    let mut form: std::collections::BTreeMap<String, serde_json::Map<String, Value>> =
        Default::default();
    for (k, v) in map {
        let Some(rest) = k.strip_prefix("variables[") else {
            continue;
        };
        let Some((index, field)) = rest.split_once("][") else {
            return Err(invalid("variables"));
        };
        let field = field.trim_end_matches(']');
        form.entry(index.to_string())
            .or_default()
            .insert(field.to_string(), v.clone());
    }
    let mut indexed: Vec<(i64, serde_json::Map<String, Value>)> = form
        .into_iter()
        .map(|(i, m)| (i.parse().unwrap_or(-1), m))
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    for (_, m) in indexed {
        given.push(serde_json::from_value(Value::Object(m)).map_err(|_| invalid("variables"))?);
    }
    given
        .into_iter()
        .map(|v| {
            if v.key.trim().is_empty() {
                return Err(ApiError::BadRequest("variables[key] is empty".into()));
            }
            let kind = v.variable_type.unwrap_or_else(|| "env_var".to_string());
            if kind != "env_var" && kind != "file" {
                return Err(invalid("variables[variable_type]"));
            }
            let value = match v.value {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
            };
            Ok((v.key, value, kind))
        })
        .collect()
}

/// `web` for a browser session, `api` for tokens.
fn source_for(principal: &Principal) -> PipelineSource {
    if principal.kind == TokenKind::Session {
        PipelineSource::Web
    } else {
        PipelineSource::Api
    }
}

/// Creates the pipeline `request` asks for and answers GitLab's way: 201 with the pipeline, or
/// 400 with why not (a CI file with errors still leaves its failed pipeline behind).
async fn run_pipeline(
    auth: &Authorized,
    cfg: &ApiConfig,
    site: Site,
    request: PipelineRequest,
) -> Result<HttpResponse, ApiError> {
    let repos = cfg.repositories.clone();
    let outcome = auth
        .run(move |c| -> Result<_, ApiError> {
            match create_pipeline(c, &repos, &request)? {
                Created::Filtered => Ok(Err(base_error(FILTERED.to_string()))),
                Created::Pipeline(row) => match row.yaml_errors.clone() {
                    Some(errors) => Ok(Err(base_error(errors))),
                    None => Ok(Ok(pipeline_views::pipeline_view(c, &row, &site)?)),
                },
            }
        })
        .await?;
    let view = outcome?;
    tracing::info!(
        project.id = view.basic.project_id,
        pipeline.id = view.basic.id,
        source = %view.basic.source,
        "pipeline created"
    );
    if view.basic.status != PipelineStatus::Failed.as_str() {
        cfg.job_queue.bump();
    }
    Ok(HttpResponse::Created().json(view))
}

async fn create(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let principal = auth.principal()?.clone();
    let q: CreateParams = params.parse()?;
    let mut request = PipelineRequest::new(
        target.id,
        &q.ref_name,
        source_for(&principal),
        principal.user_id,
    );
    request.variables = variables_param(&params)?;
    run_pipeline(&auth, &cfg, site_of(&cfg, &target), request).await
}

// ---------------------------------------------------------------------------------------------
// One pipeline

#[derive(Deserialize)]
struct LatestParams {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
}

async fn latest(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: LatestParams = params.parse()?;
    let site = site_of(&cfg, &target);
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let ref_name = match q.ref_name.filter(|r| !r.is_empty()) {
                Some(r) => r,
                None => {
                    projects::find(c, target.id)?
                        .ok_or(ApiError::Store(StoreError::NotFound))?
                        .default_branch
                }
            };
            let row = pipelines::latest_for_ref(c, target.id, &ref_name)?
                .ok_or(ApiError::Store(StoreError::NotFound))?;
            Ok(pipeline_views::pipeline_view(c, &row, &site)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "pipeline_id")?;
    let site = site_of(&cfg, &target);
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            Ok(pipeline_views::pipeline_view(c, &row, &site)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "pipeline_id")?;
    let orphaned = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            let job_ids: Vec<i64> = jobs::for_pipeline(c, row.id, true)?
                .iter()
                .map(|j| j.id)
                .collect();
            let digests: Vec<String> = artifacts::for_jobs(c, &job_ids)?
                .into_iter()
                .map(|a| a.digest)
                .collect();
            pipelines::delete(c, row.id)?;
            let mut orphaned = Vec::new();
            for d in digests {
                if !orphaned.contains(&d) && !artifacts::digest_in_use(c, &d)? {
                    orphaned.push(d);
                }
            }
            Ok(orphaned)
        })
        .await?;
    for digest in orphaned {
        if let Err(e) = cfg.artifacts.delete(&digest).await {
            tracing::warn!(error = %e, %digest, "artifact blob of a deleted pipeline");
        }
    }
    tracing::info!(project.id = target.id, pipeline.id = id, "pipeline deleted");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct JobsParams {
    #[serde(default, deserialize_with = "flex::opt_list")]
    scope: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    include_retried: Option<bool>,
}

async fn pipeline_jobs(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "pipeline_id")?;
    let q: JobsParams = params.parse()?;
    let statuses = job_statuses(q.scope)?;
    let page = Page::from_params(&params)?;
    let site = site_of(&cfg, &target);
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            let all: Vec<JobRow> =
                jobs::for_pipeline(c, row.id, q.include_retried.unwrap_or(false))?
                    .into_iter()
                    .filter(|j| statuses.is_empty() || statuses.contains(&j.status))
                    .collect();
            let (total, rows) = page.cut(all);
            Ok((total, pipeline_views::job_views(c, &site, &rows)?))
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

async fn pipeline_variables(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "pipeline_id")?;
    let vars = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            Ok(pipelines::variables(c, row.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pipeline_views::variable_views(vars)))
}

async fn retry_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let user_id = auth.principal()?.user_id;
    let id = id_param(&req, "pipeline_id")?;
    let site = site_of(&cfg, &target);
    let (settled, view) = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            let settled = progress::retry_pipeline(c, row.id, user_id)?;
            let row = pipeline_in(c, target.id, id)?;
            Ok((settled, pipeline_views::pipeline_view(c, &row, &site)?))
        })
        .await?;
    ring(&cfg, &settled);
    Ok(HttpResponse::Created().json(view))
}

async fn cancel_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "pipeline_id")?;
    let site = site_of(&cfg, &target);
    let (settled, view) = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = pipeline_in(c, target.id, id)?;
            let settled = progress::cancel_pipeline(c, row.id)?;
            let row = pipeline_in(c, target.id, id)?;
            Ok((settled, pipeline_views::pipeline_view(c, &row, &site)?))
        })
        .await?;
    ring(&cfg, &settled);
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Merge request pipelines

fn merge_request_in(
    c: &mut DbConnection,
    project_id: i64,
    iid: i64,
) -> Result<merge_requests::MergeRequestRow, ApiError> {
    merge_requests::find(c, project_id, iid)?.ok_or(ApiError::NotFound("Merge Request"))
}

fn mr_iid(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("merge_request_iid")
        .and_then(|s| s.parse().ok())
        .ok_or(ApiError::NotFound("Merge Request"))
}

async fn merge_request_pipelines(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let iid = mr_iid(&req)?;
    let page = Page::from_params(&params)?;
    let site = site_of(&cfg, &target);
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let mr = merge_request_in(c, target.id, iid)?;
            let rows = pipelines::for_merge_request(c, mr.id)?;
            let (total, rows) = page.cut(rows);
            let items: Vec<_> = rows
                .iter()
                .map(|p| pipeline_views::pipeline_basic(p, &site))
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

async fn create_merge_request_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let user_id = auth.principal()?.user_id;
    let iid = mr_iid(&req)?;
    let project_id = target.id;
    let mr = auth
        .run(move |c| merge_request_in(c, project_id, iid))
        .await?;
    let mut request = PipelineRequest::new(
        target.id,
        &mr.source_branch,
        PipelineSource::MergeRequestEvent,
        user_id,
    );
    request.merge_request_id = Some(mr.id);
    run_pipeline(&auth, &cfg, site_of(&cfg, &target), request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        Params::from_map(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn variables_come_as_json_or_form_fields() {
        let p = params(json!({"variables": [
            {"key": "A", "value": "1"},
            {"key": "B", "value": "x", "variable_type": "file"}
        ]}));
        assert_eq!(
            variables_param(&p).unwrap(),
            vec![
                ("A".into(), "1".into(), "env_var".into()),
                ("B".into(), "x".into(), "file".into())
            ]
        );
        let p = params(json!({
            "variables[1][key]": "B", "variables[1][value]": "2",
            "variables[0][key]": "A", "variables[0][value]": "1",
        }));
        let keys: Vec<String> = variables_param(&p)
            .unwrap()
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert_eq!(keys, vec!["A", "B"]);
        assert!(variables_param(&params(json!({"variables": "x"}))).is_err());
        assert!(
            variables_param(&params(
                json!({"variables": [{"key": "A", "variable_type": "nope"}]})
            ))
            .is_err()
        );
    }

    #[test]
    fn list_filters_follow_gitlab() {
        let q = ListParams {
            scope: Some("finished".into()),
            status: Some("running".into()),
            ..Default::default()
        };
        assert_eq!(list_filter(&q).unwrap().statuses, vec![NO_STATUS]);
        let q = ListParams {
            scope: Some("tags".into()),
            order_by: Some("ref".into()),
            sort: Some("asc".into()),
            ..Default::default()
        };
        let f = list_filter(&q).unwrap();
        assert_eq!(
            (f.tag, f.order_by, f.ascending),
            (Some(true), PipelineOrder::Ref, true)
        );
        for bad in [
            ListParams {
                scope: Some("nope".into()),
                ..Default::default()
            },
            ListParams {
                order_by: Some("name".into()),
                ..Default::default()
            },
            ListParams {
                status: Some("Running".into()),
                ..Default::default()
            },
            ListParams {
                source: Some("cron".into()),
                ..Default::default()
            },
        ] {
            assert!(list_filter(&bad).is_err());
        }
    }
}
