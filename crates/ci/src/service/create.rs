//! Creating a pipeline: resolve the ref, read `.gitlab-ci.yml` at the commit, parse and plan it
//! with the pipeline's variables, and store the pipeline with its jobs in one transaction. A CI
//! file that cannot be read still makes a pipeline: `failed`, with `yaml_errors` saying why.

use super::CiError;
use super::progress::settle_pipeline;
use crate::config;
use crate::plan::{self, PipelineContext, PlanResult};
use crate::status::{JobStatus, PipelineSource, PipelineStatus};
use std::collections::BTreeMap;
use tinforge_authz::{Action, Permission, Resource};
use tinforge_store::ci::pipelines::{self, NewPipeline, PipelineRow};
use tinforge_store::ci::{jobs, variables};
use tinforge_store::git::{Repositories, objects};
use tinforge_store::{DbConnection, projects, protected_branches, write_transaction};

/// The CI file's name, as GitLab has it.
pub const CI_FILE: &str = ".gitlab-ci.yml";
/// A CI file larger than this is refused unread.
pub const MAX_CI_FILE_BYTES: usize = 1024 * 1024;

/// What a new pipeline runs for.
#[derive(Debug, Clone)]
pub struct PipelineRequest {
    pub project_id: i64,
    /// A branch or tag name.
    pub ref_name: String,
    pub source: PipelineSource,
    /// Who the pipeline runs as (its job tokens never exceed this user's role).
    pub user_id: i64,
    /// `(key, value, variable_type)` given with the request.
    pub variables: Vec<(String, String, String)>,
    pub merge_request_id: Option<i64>,
    /// The commit to run (None: the ref's tip).
    pub sha: Option<String>,
    /// The ref's previous commit, for push pipelines.
    pub before_sha: Option<String>,
}

impl PipelineRequest {
    /// A request for the ref's tip with no variables.
    pub fn new(project_id: i64, ref_name: &str, source: PipelineSource, user_id: i64) -> Self {
        PipelineRequest {
            project_id,
            ref_name: ref_name.to_string(),
            source,
            user_id,
            variables: Vec::new(),
            merge_request_id: None,
            sha: None,
            before_sha: None,
        }
    }
}

/// The outcome of a pipeline request (made once per pipeline: boxing the row buys nothing).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Created {
    /// A pipeline was stored (possibly `failed` with `yaml_errors`).
    Pipeline(PipelineRow),
    /// `workflow:rules` or every job's rules kept the pipeline from being created.
    Filtered,
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// Creates the pipeline `req` asks for. Returns whether jobs became pending via the pipeline's
/// status; callers ring the job queue when the result is a pipeline.
pub fn create_pipeline(
    conn: &mut DbConnection,
    repos: &Repositories,
    req: &PipelineRequest,
) -> Result<Created, CiError> {
    let project = projects::find(conn, req.project_id)?.ok_or(CiError::NotFound)?;
    let (sha, tag, ci_file) = read_commit(repos, req)?;
    let ci_file = ci_file.ok_or(CiError::NoConfig)?;
    let protected_ref = !tag
        && protected_branches::list(conn, project.id)?
            .iter()
            .any(|p| protected_branches::matches(&p.name, &req.ref_name));
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for v in variables::for_pipeline(conn, project.id, protected_ref)? {
        vars.insert(v.key, v.value);
    }
    for (k, v, _) in &req.variables {
        vars.insert(k.clone(), v.clone());
    }
    let context = PipelineContext {
        source: req.source,
        ref_name: req.ref_name.clone(),
        is_tag: tag,
        sha: sha.clone(),
        default_branch: Some(project.default_branch.clone()),
        variables: vars,
    };
    let new = |status: PipelineStatus, yaml_errors: Option<String>| NewPipeline {
        project_id: project.id,
        sha: sha.clone(),
        before_sha: req
            .before_sha
            .clone()
            .unwrap_or_else(|| ZERO_SHA.to_string()),
        ref_name: req.ref_name.clone(),
        tag,
        source: req.source.as_str().to_string(),
        status: status.as_str().to_string(),
        user_id: Some(req.user_id),
        merge_request_id: req.merge_request_id,
        yaml_errors,
        variables: req.variables.clone(),
    };
    let parsed = if ci_file.len() > MAX_CI_FILE_BYTES {
        Err(format!(
            "The CI file is too large ({} bytes; the maximum is {MAX_CI_FILE_BYTES})",
            ci_file.len()
        ))
    } else {
        match std::str::from_utf8(&ci_file) {
            Ok(text) => config::parse(text).map_err(|e| e.to_string()),
            Err(_) => Err("The CI file is not valid UTF-8".to_string()),
        }
    };
    let planned = parsed.and_then(|config| match plan::plan(&config, &context) {
        PlanResult::Planned(p) => Ok(Some(p)),
        PlanResult::Filtered => Ok(None),
        PlanResult::Invalid(e) => Err(e.to_string()),
    });
    write_transaction(conn, |conn| {
        let plan = match planned {
            Err(errors) => {
                let row = pipelines::insert(conn, &new(PipelineStatus::Failed, Some(errors)))?;
                pipelines::set_status(conn, row.id, PipelineStatus::Failed.as_str(), false, true)?;
                return Ok(Created::Pipeline(
                    pipelines::find(conn, row.id)?.ok_or(CiError::NotFound)?,
                ));
            }
            Ok(None) => return Ok(Created::Filtered),
            Ok(Some(plan)) => plan,
        };
        let row = pipelines::insert(conn, &new(PipelineStatus::Created, None))?;
        for job in &plan.jobs {
            let spec = serde_json::to_string(job)
                .map_err(|e| CiError::Invalid(format!("planned job: {e}")))?;
            jobs::insert(
                conn,
                &jobs::NewJob {
                    pipeline_id: row.id,
                    project_id: project.id,
                    name: job.name.clone(),
                    stage: job.stage.clone(),
                    stage_idx: job.stage_idx,
                    status: JobStatus::Created.as_str().to_string(),
                    when_condition: job.when.as_str().to_string(),
                    allow_failure: job.allow_failure,
                    spec,
                    permissions: token_permissions(&job.permissions),
                    tag_list: job.tags.join(","),
                    user_id: Some(req.user_id),
                },
            )?;
        }
        settle_pipeline(conn, row.id)?;
        Ok(Created::Pipeline(
            pipelines::find(conn, row.id)?.ok_or(CiError::NotFound)?,
        ))
    })
}

/// The job token's grants: the CI file's, plus `repository:read` always — the runner fetches
/// the job's own code with the token, so a job without it could not start.
fn token_permissions(declared: &crate::permissions::PermissionSet) -> String {
    let mut set = declared.0.clone();
    set.insert(Permission::new(Resource::Repository, Action::Read));
    set.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The commit a request runs, whether its ref is a tag, and the CI file there.
fn read_commit(
    repos: &Repositories,
    req: &PipelineRequest,
) -> Result<(String, bool, Option<Vec<u8>>), CiError> {
    let repo = objects::open(&repos.path(req.project_id)).map_err(|_| CiError::UnknownRef)?;
    let branch = format!("refs/heads/{}", req.ref_name);
    let tag_ref = format!("refs/tags/{}", req.ref_name);
    let valid = |r: &str| git2::Reference::is_valid_name(r);
    let (tip, tag) = if valid(&branch) && repo.find_reference(&branch).is_ok() {
        (repo.find_reference(&branch).ok(), false)
    } else if valid(&tag_ref) && repo.find_reference(&tag_ref).is_ok() {
        (repo.find_reference(&tag_ref).ok(), true)
    } else {
        (None, false)
    };
    let commit = match (&req.sha, tip) {
        (Some(sha), _) => git2::Oid::from_str(sha)
            .ok()
            .and_then(|oid| repo.find_commit(oid).ok()),
        (None, Some(r)) => r.peel_to_commit().ok(),
        (None, None) => None,
    }
    .ok_or(CiError::UnknownRef)?;
    if req.sha.is_none() && !(valid(&branch) || valid(&tag_ref)) {
        return Err(CiError::UnknownRef);
    }
    let file = commit
        .tree()
        .ok()
        .and_then(|t| t.get_path(std::path::Path::new(CI_FILE)).ok())
        .and_then(|entry| entry.to_object(&repo).ok())
        .and_then(|o| o.into_blob().ok())
        .map(|b| b.content().to_vec());
    Ok((commit.id().to_string(), tag, file))
}
