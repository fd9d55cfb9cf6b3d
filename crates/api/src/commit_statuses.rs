//! Commit statuses over REST, as external CI systems and bots use them: `POST
//! /projects/:id/statuses/:sha` sets a status (Developer+, `pipeline:create`), and `GET
//! /projects/:id/repository/commits/:sha/statuses` lists a commit's statuses (`pipeline:read`,
//! Reporter+ on private projects). A POST for the same sha, ref and name moves the pending or
//! running status along GitLab's state machine instead of adding another; a transition GitLab
//! refuses is its 400 `{"message":"Cannot transition status via :run from :running …"}`.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::pipeline_views::message;
use crate::views::{self, UserBasic};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use tinforge_authz::{Requirement, Role, Target, require};
use tinforge_gate::authorized::decode;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::ci::pipelines;
use tinforge_store::ci::statuses::{
    self, Posted, RequestedState, StatusFilter, StatusRow, StatusUpdate,
};
use tinforge_store::git::{Repositories, objects};
use tinforge_store::{DbConnection, StoreError, projects, users};
use utoipa::ToSchema;

const POST: Requirement = require!(pipeline:create).min_role(Role::Developer);
const READ: Requirement = require!(pipeline:read).min_role(Role::Reporter);

/// GitLab's limits on a status's name and target URL.
const MAX_NAME: usize = 255;
const MAX_URL: usize = 255;

pub fn declare(r: &mut RestRoutes) {
    r.route("POST", "/api/v4/projects/{id}/statuses/{sha}", POST)
        .project("id")
        .summary("Set the status of a commit; the same name and ref moves the existing status (pipeline:create, Developer+)")
        .returns::<CommitStatusView>()
        .to(post_status);
    r.route(
        "GET",
        "/api/v4/projects/{id}/repository/commits/{sha}/statuses",
        READ,
    )
    .project("id")
    .summary("Statuses of a commit (pipeline:read, Reporter+ on private projects)")
    .returns_list::<CommitStatusView>()
    .to(list_statuses);
}

const COMMIT_NOT_FOUND: ApiError = ApiError::NotFound("Commit");

// ---------------------------------------------------------------------------------------------
// Views

/// A status as GitLab's `Entities::CommitStatus` writes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitStatusView {
    pub id: i64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub ref_name: Option<String>,
    pub status: String,
    pub name: String,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// External statuses never allow failure.
    pub allow_failure: bool,
    pub coverage: Option<f64>,
    pub pipeline_id: Option<i64>,
    /// The user who set the status (`UserBasic`).
    pub author: Option<UserBasic>,
}

/// Views of statuses, with their authors (one query per distinct author).
fn status_views(
    c: &mut DbConnection,
    rows: &[StatusRow],
    cfg: &ApiConfig,
) -> Result<Vec<CommitStatusView>, StoreError> {
    let mut authors: HashMap<i64, Option<UserBasic>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for s in rows {
        let author = match s.user_id {
            Some(id) => {
                if let Entry::Vacant(slot) = authors.entry(id) {
                    slot.insert(users::find(c, id)?.map(|u| views::user_basic(&u, cfg)));
                }
                authors.get(&id).cloned().flatten()
            }
            None => None,
        };
        out.push(CommitStatusView {
            id: s.id,
            sha: s.sha.clone(),
            ref_name: s.ref_name.clone(),
            status: s.status.clone(),
            name: s.name.clone(),
            target_url: s.target_url.clone(),
            description: s.description.clone(),
            created_at: views::time(s.created_at),
            started_at: s.started_at.map(views::time),
            finished_at: s.finished_at.map(views::time),
            allow_failure: false,
            coverage: s.coverage,
            pipeline_id: s.pipeline_id,
            author,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Repository look-ups

/// The full id of the commit `reference` names in the project's repository (a sha, possibly
/// abbreviated, or a branch or tag), or None.
fn commit_id(repos: &Repositories, project_id: i64, reference: &str) -> Option<String> {
    let repo = objects::open(&repos.path(project_id)).ok()?;
    objects::resolve(&repo, reference).map(|c| c.id().to_string())
}

/// A branch that contains commit `sha`: the default branch when it does, else the first by name.
fn branch_containing(
    repos: &Repositories,
    project_id: i64,
    sha: &str,
    default_branch: &str,
) -> Option<String> {
    let repo = objects::open(&repos.path(project_id)).ok()?;
    let wanted = repo.revparse_single(sha).ok()?.id();
    let mut names: Vec<(String, bool)> = Vec::new();
    for r in repo.references_glob("refs/heads/*").ok()?.flatten() {
        let (Some(name), Some(tip)) = (r.name(), r.target()) else {
            continue;
        };
        let contains = tip == wanted || repo.graph_descendant_of(tip, wanted).unwrap_or(false);
        if contains {
            let short = name.trim_start_matches("refs/heads/").to_string();
            let is_default = short == default_branch;
            names.push((short, is_default));
        }
    }
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    names.into_iter().next().map(|(n, _)| n)
}

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

fn sha_param(req: &HttpRequest) -> String {
    decode(req.match_info().get("sha").unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A number as JSON or as a string.
fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a number")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a number")),
        Some(_) => Err(serde::de::Error::custom("not a number")),
    }
}

#[derive(Deserialize)]
struct PostBody {
    state: Option<String>,
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    name: Option<String>,
    context: Option<String>,
    target_url: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    coverage: Option<f64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    pipeline_id: Option<i64>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Field problems GitLab's model reports for a status.
fn problems(name: &str, target_url: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if name.chars().count() > MAX_NAME {
        out.push((
            "name".to_string(),
            format!("is too long (maximum is {MAX_NAME} characters)"),
        ));
    }
    if let Some(url) = target_url {
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            None => out.push((
                "target_url".to_string(),
                "is blocked: Only allowed schemes are http, https".to_string(),
            )),
            Some("") => out.push(("target_url".to_string(), "must be a valid URL".to_string())),
            Some(_) if url.chars().count() > MAX_URL => out.push((
                "target_url".to_string(),
                format!("is too long (maximum is {MAX_URL} characters)"),
            )),
            Some(_) if url.chars().any(char::is_whitespace) => {
                out.push(("target_url".to_string(), "must be a valid URL".to_string()))
            }
            Some(_) => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn post_status(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let user_id = auth.principal()?.user_id;
    let b: PostBody = params.parse()?;
    let state = match non_empty(b.state) {
        None => return Err(ApiError::BadRequest("state is missing".into())),
        Some(s) => RequestedState::parse(&s)
            .ok_or_else(|| ApiError::BadRequest("state does not have a valid value".into()))?,
    };
    let name = non_empty(b.name)
        .or(non_empty(b.context))
        .unwrap_or_else(|| "default".to_string());
    let target_url = non_empty(b.target_url);
    let found = problems(&name, target_url.as_deref());
    if !found.is_empty() {
        return Err(ApiError::Validation(found));
    }
    let reference = sha_param(&req);
    let given_ref = non_empty(b.ref_name);
    let config = cfg.get_ref().clone();
    let outcome = auth
        .run(
            move |c| -> Result<Result<CommitStatusView, String>, ApiError> {
                let repos = &config.repositories;
                let sha = commit_id(repos, target.id, &reference).ok_or(COMMIT_NOT_FOUND)?;
                let pipeline = match b.pipeline_id {
                    Some(id) => Some(
                        pipelines::find_in_project(c, target.id, id)?
                            .filter(|p| p.sha == sha)
                            .filter(|p| given_ref.as_ref().is_none_or(|r| *r == p.ref_name))
                            .ok_or(ApiError::NotFound("Pipeline for pipeline_id, sha and ref"))?,
                    ),
                    None => pipelines::latest_for_sha(c, target.id, &sha)?
                        .filter(|p| given_ref.as_ref().is_none_or(|r| *r == p.ref_name)),
                };
                let ref_name = match given_ref
                    .or_else(|| pipeline.as_ref().map(|p| p.ref_name.clone()))
                {
                    Some(r) => r,
                    None => {
                        let project = projects::find(c, target.id)?.ok_or(StoreError::NotFound)?;
                        branch_containing(repos, target.id, &sha, &project.default_branch)
                            .ok_or(ApiError::NotFound("References for commit"))?
                    }
                };
                let update = StatusUpdate {
                    project_id: target.id,
                    sha,
                    ref_name,
                    name,
                    state,
                    user_id,
                    target_url,
                    description: b.description,
                    coverage: b.coverage,
                    pipeline_id: pipeline.map(|p| p.id),
                };
                match statuses::post(c, &update)? {
                    Posted::Saved(row) => {
                        let mut views = status_views(c, std::slice::from_ref(&*row), &config)?;
                        views
                            .pop()
                            .map(Ok)
                            .ok_or(ApiError::Store(StoreError::NotFound))
                    }
                    Posted::Refused(m) => Ok(Err(m)),
                }
            },
        )
        .await?;
    match outcome {
        Ok(view) => {
            tracing::info!(
                project.id = target.id,
                commit_status.id = view.id,
                commit_status.status = %view.status,
                "commit status set"
            );
            Ok(HttpResponse::Created().json(view))
        }
        Err(refusal) => Ok(message(StatusCode::BAD_REQUEST, refusal)),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    stage: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    pipeline_id: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    all: Option<bool>,
    order_by: Option<String>,
    sort: Option<String>,
}

async fn list_statuses(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let by_pipeline = match q.order_by.as_deref() {
        None | Some("id") => false,
        Some("pipeline_id") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "order_by does not have a valid value".into(),
            ));
        }
    };
    let descending = match q.sort.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sort does not have a valid value".into(),
            ));
        }
    };
    let filter = StatusFilter {
        ref_name: non_empty(q.ref_name),
        name: non_empty(q.name),
        pipeline_id: q.pipeline_id,
        all: q.all.unwrap_or(false),
        by_pipeline,
        descending,
    };
    // External statuses all belong to GitLab's `external` stage.
    let other_stage = non_empty(q.stage).is_some_and(|s| s != "external");
    let reference = sha_param(&req);
    let config = cfg.get_ref().clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let sha =
                commit_id(&config.repositories, target.id, &reference).ok_or(COMMIT_NOT_FOUND)?;
            let rows = if other_stage {
                Vec::new()
            } else {
                statuses::list(c, target.id, &sha, &filter)?
            };
            let (total, chosen) = page.cut(rows);
            Ok((total, status_views(c, &chosen, &config)?))
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
