//! The runner protocol's job calls, as gitlab-runner 19.x speaks them: `POST /jobs/request` (a
//! long poll that hands out the oldest job the runner may take, with GitLab's payload), `PUT
//! /jobs/:id` (state and keepalive), `PATCH /jobs/:id/trace` (the log, appended at the start the
//! runner names), and the job's artifacts archive (`POST` while it runs, `GET` by a running job of
//! the same project for `dependencies`).
//!
//! The runner token is checked against the body's `token`; a job call is authenticated by the
//! job's own token (`JOB-TOKEN` header or `token` parameter), which must be the token of the job
//! in the path while that job runs. A job token's permissions (the CI file's `permissions:`) do
//! not bear on these calls: it authenticates "this job", nothing more.
//!
//! Settings (environment): `TINFORGE_RUNNER_LONG_POLL_SECONDS` (how long a poll is held open
//! when no job is there, default 20), `TINFORGE_TRACE_UPDATE_INTERVAL` (seconds, the runner's
//! log update interval, default 3), `TINFORGE_TRACE_MAX_BYTES` (a job's log, default 64 MiB;
//! beyond it the job fails and the runner is told to stop), `TINFORGE_ARTIFACTS_MAX_BYTES` (one
//! archive, default 100 MiB), `TINFORGE_STALE_JOB_SECONDS` (a running job whose runner is silent
//! this long is failed, default 900), `TINFORGE_STALE_SWEEP_SECONDS` (how often polls look for
//! such jobs, at most once per this many seconds per instance, default 60).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::params::Params;
use crate::runners::{
    RUNNER_READ, RunnerInfo, forbidden, peer_ip, presented_runner_token, runner_by_token,
};
use crate::views::Message;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{Authenticates, Requirement, require};
use tinforge_ci::plan::PlannedJob;
use tinforge_ci::service::assign::{self, Assigned, RunnerReach};
use tinforge_ci::service::job_variables::{JobVariable, ServerUrls, job_variables};
use tinforge_ci::service::{CiError, progress};
use tinforge_ci::{FailureReason, JobStatus};
use tinforge_gate::Authorized;
use tinforge_gate::authorized::state_of;
use tinforge_store::ci::artifacts::{self, NewArtifact};
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::runners::{self as runner_store, RunnerRow};
use tinforge_store::ci::traces;
use tinforge_store::{DbConnection, StoreError, projects};
use utoipa::ToSchema;

/// A job's own calls that change it (state, log, artifacts upload).
pub const JOB_UPDATE: Requirement =
    require!(pipeline:update).authenticated_by(Authenticates::JobToken);
/// A running job reading another job's artifacts (`dependencies`).
pub const JOB_READ: Requirement = require!(pipeline:read).authenticated_by(Authenticates::JobToken);

pub fn declare(r: &mut tinforge_gate::RestRoutes) {
    r.route("POST", "/api/v4/jobs/request", RUNNER_READ)
        .summary("A runner asks for a job (long poll; 201 with the job, 204 when none)")
        .returns::<Payload>()
        .to(request_job);
    r.route("PUT", "/api/v4/jobs/{job_id}", JOB_UPDATE)
        .summary("The runner reports a job's state (job token of that job)")
        .returns::<JobState>()
        .to(update_job);
    r.route("PATCH", "/api/v4/jobs/{job_id}/trace", JOB_UPDATE)
        .summary(
            "The runner appends to a job's log at Content-Range's start (job token of that job)",
        )
        .returns::<JobState>()
        .to(patch_trace);
    r.route("POST", "/api/v4/jobs/{job_id}/artifacts", JOB_UPDATE)
        .summary("The runner uploads a job's artifacts archive, multipart field `file` (job token of that job, while it runs)")
        .returns::<StoredArtifacts>()
        .to(upload_artifacts);
    r.route("GET", "/api/v4/jobs/{job_id}/artifacts", JOB_READ)
        .summary("A job's artifacts archive for a running job of the same project (its job token)")
        .to(download_artifacts);
}

// ---------------------------------------------------------------------------------------------
// Settings

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn long_poll() -> Duration {
    Duration::from_secs(env_number("TINFORGE_RUNNER_LONG_POLL_SECONDS", 20).min(300))
}

fn trace_interval() -> u64 {
    env_number("TINFORGE_TRACE_UPDATE_INTERVAL", 3).max(1)
}

fn trace_max_bytes() -> u64 {
    env_number("TINFORGE_TRACE_MAX_BYTES", 64 * 1024 * 1024)
}

fn artifacts_max_bytes() -> u64 {
    env_number("TINFORGE_ARTIFACTS_MAX_BYTES", 100 * 1024 * 1024)
}

fn stale_job_seconds() -> i64 {
    env_number("TINFORGE_STALE_JOB_SECONDS", 900) as i64
}

/// The largest single trace patch read (gitlab-runner sends far smaller ones).
const PATCH_LIMIT: usize = 16 * 1024 * 1024;

/// Prefixes of this forge's tokens, for the runner's log masking.
const TOKEN_PREFIXES: [&str; 3] = ["tfpat-", "tfjob-", "tfrun-"];

// ---------------------------------------------------------------------------------------------
// POST /jobs/request

/// Unix seconds of the last stale-job sweep on this instance.
static LAST_SWEEP: AtomicI64 = AtomicI64::new(0);

fn sweep_due() -> bool {
    let now = chrono::Utc::now().timestamp();
    let last = LAST_SWEEP.load(Ordering::Relaxed);
    now - last >= env_number("TINFORGE_STALE_SWEEP_SECONDS", 60) as i64
        && LAST_SWEEP
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// What a runner may take.
fn reach_of(conn: &mut DbConnection, runner: &RunnerRow) -> Result<RunnerReach, StoreError> {
    let project_ids = match runner.runner_type.as_str() {
        "instance_type" => None,
        "group_type" => Some(match runner.group_id {
            Some(g) => runner_store::group_project_ids(conn, g)?,
            None => Vec::new(),
        }),
        _ => Some(runner_store::project_ids(conn, runner.id)?),
    };
    Ok(RunnerReach {
        runner_id: runner.id,
        tags: runner.tags(),
        run_untagged: runner.run_untagged,
        project_ids,
    })
}

fn no_job(generation: u64) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("X-GitLab-Last-Update", generation.to_string()))
        .finish()
}

fn ci_error(e: CiError) -> ApiError {
    match e {
        CiError::Store(s) => s.into(),
        CiError::NotFound => ApiError::Store(StoreError::NotFound),
        other => ApiError::Forbidden(Some(other.to_string())),
    }
}

async fn request_job(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = presented_runner_token(&req, &params).ok_or_else(forbidden)?;
    let contact = RunnerInfo::of(&params).contact(peer_ip(&req));
    let resolver = state_of(&req)?.resolver.clone();
    let queue = cfg.job_queue.clone();
    let (runner, reach) = auth
        .run(move |c| -> Result<_, ApiError> {
            let runner = runner_by_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
            runner_store::record_contact(c, runner.id, &contact)?;
            let reach = reach_of(c, &runner)?;
            Ok((runner, reach))
        })
        .await?;
    if runner.paused {
        return Ok(no_job(queue.generation()));
    }
    let deadline = Instant::now() + long_poll();
    let mut seen = queue.generation();
    loop {
        if let Some(payload) = try_assign(&auth, &req, &cfg, &runner, &reach).await? {
            return Ok(HttpResponse::Created()
                .content_type("application/json")
                .json(payload));
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Wake on this instance's doorbell, and look again now and then for jobs released by
        // another instance.
        let wait = (deadline - now).min(Duration::from_secs(5));
        seen = queue.wait_for_change(seen, wait).await;
    }
    Ok(no_job(queue.generation()))
}

/// One assignment attempt: the oldest job this runner may take, with its payload.
async fn try_assign(
    auth: &Authorized,
    req: &HttpRequest,
    cfg: &web::Data<ApiConfig>,
    runner: &RunnerRow,
    reach: &RunnerReach,
) -> Result<Option<Payload>, ApiError> {
    let resolver = state_of(req)?.resolver.clone();
    let config = cfg.get_ref().clone();
    let runner = runner.clone();
    let reach = reach.clone();
    let sweep = sweep_due();
    let queue = cfg.job_queue.clone();
    auth.run(move |c| -> Result<_, ApiError> {
        if sweep {
            match progress::fail_stale_jobs(c, stale_job_seconds()) {
                Ok(n) if n > 0 => {
                    tracing::info!(jobs = n, "stale jobs failed");
                    queue.bump();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "stale job sweep failed"),
            }
        }
        let assigned = assign::assign_next(c, &reach, &|t| resolver.digest(t)).map_err(ci_error)?;
        let Some(assigned) = assigned else {
            return Ok(None);
        };
        let job_id = assigned.job.id;
        match payload_of(c, &config, &runner, &assigned) {
            Ok(p) => {
                tracing::info!(job.id = job_id, runner.id = runner.id, "job assigned");
                Ok(Some(p))
            }
            Err(e) => {
                tracing::error!(job.id = job_id, error = %e, "job payload failed; job dropped");
                if let Ok(s) = progress::finish_job(
                    c,
                    job_id,
                    false,
                    Some(FailureReason::RunnerSystemFailure),
                    None,
                ) && s.released
                {
                    queue.bump();
                }
                Err(e)
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The job payload (201 body), GitLab's field names

#[derive(Debug, Serialize, ToSchema)]
pub struct Payload {
    pub id: i64,
    pub token: String,
    pub allow_git_fetch: bool,
    pub job_info: JobInfo,
    pub git_info: GitInfo,
    pub runner_info: RunnerInfoOut,
    #[schema(value_type = Vec<Object>)]
    pub variables: Vec<JobVariable>,
    pub steps: Vec<StepOut>,
    pub image: Option<ImageOut>,
    pub services: Vec<ImageOut>,
    pub artifacts: Vec<ArtifactOut>,
    /// Caches are not supported: always empty.
    #[schema(value_type = Vec<Object>)]
    pub cache: Vec<Value>,
    pub credentials: Vec<CredentialOut>,
    pub dependencies: Vec<DependencyOut>,
    pub features: FeaturesOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobInfo {
    pub id: i64,
    pub name: String,
    pub stage: String,
    pub project_id: i64,
    pub project_name: String,
    pub project_full_path: String,
    pub pipeline_id: i64,
    pub namespace_id: Option<i64>,
    pub root_namespace_id: Option<i64>,
    pub user_id: Option<i64>,
    pub time_in_queue_seconds: f64,
    pub project_jobs_running_on_instance_runners_count: String,
    pub queue_size: i64,
    pub queue_depth: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GitInfo {
    pub repo_url: String,
    pub repo_object_format: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: String,
    pub before_sha: String,
    pub ref_type: String,
    pub refspecs: Vec<String>,
    pub depth: i64,
    pub protected: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunnerInfoOut {
    pub timeout: i64,
    pub runner_session_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub name: String,
    pub script: Vec<String>,
    pub timeout: i64,
    pub when: String,
    pub allow_failure: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageOut {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactOut {
    pub name: String,
    pub untracked: bool,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub when: String,
    pub artifact_type: String,
    pub artifact_format: String,
    pub expire_in: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyOut {
    pub id: i64,
    pub name: String,
    pub token: String,
    pub artifacts_file: ArtifactsFileOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactsFileOut {
    pub filename: String,
    pub size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeaturesOut {
    pub trace_sections: bool,
    pub token_mask_prefixes: Vec<String>,
    pub failure_reasons: Vec<String>,
}

/// A job's state after an update or a trace append (`size`: the trace's length, on appends).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobState {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// 416 for a trace chunk that does not start where the trace ends.
#[derive(Debug, Serialize, ToSchema)]
pub struct RangeRefusal {
    pub message: &'static str,
    pub size: i64,
}

/// What an artifacts upload stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredArtifacts {
    pub id: i64,
    pub artifacts_file: ArtifactsFileOut,
    pub file_type: String,
    pub file_format: String,
    pub expire_at: Option<String>,
}

/// `http://host:port` + job token + project → `http://gitlab-ci-token:<t>@host:port/<path>.git`.
fn repo_url(external_url: &str, token: &str, full_path: &str) -> String {
    let server = external_url.trim_end_matches('/');
    let (scheme, rest) = server.split_once("://").unwrap_or(("http", server));
    format!("{scheme}://gitlab-ci-token:{token}@{rest}/{full_path}.git")
}

/// GitLab's refspecs: the persistent ref, then the ref itself (or every branch and tag for a
/// full clone, depth 0).
fn refspecs(pipeline_id: i64, sha: &str, ref_name: &str, tag: bool, depth: i64) -> Vec<String> {
    let mut out = vec![format!("+{sha}:refs/pipelines/{pipeline_id}")];
    if depth > 0 {
        if tag {
            out.push(format!("+refs/tags/{ref_name}:refs/tags/{ref_name}"));
        } else {
            out.push(format!(
                "+refs/heads/{ref_name}:refs/remotes/origin/{ref_name}"
            ));
        }
    } else {
        out.push("+refs/heads/*:refs/remotes/origin/*".into());
        out.push("+refs/tags/*:refs/tags/*".into());
    }
    out
}

/// The jobs whose artifacts this job downloads: `dependencies:`, else `needs:` with artifacts,
/// else every job of earlier stages.
fn dependency_jobs(
    conn: &mut DbConnection,
    job: &JobRow,
    spec: Option<&PlannedJob>,
) -> Result<Vec<JobRow>, StoreError> {
    let others: Vec<JobRow> = jobs::for_pipeline(conn, job.pipeline_id, false)?
        .into_iter()
        .filter(|j| j.id != job.id)
        .collect();
    let named = |names: Vec<String>| -> Vec<JobRow> {
        others
            .iter()
            .filter(|j| names.contains(&j.name))
            .cloned()
            .collect()
    };
    Ok(match spec {
        Some(s) if s.dependencies.is_some() => named(s.dependencies.clone().unwrap_or_default()),
        Some(s) if s.needs.is_some() => named(
            s.needs
                .iter()
                .flatten()
                .filter(|n| n.artifacts)
                .map(|n| n.job.clone())
                .collect(),
        ),
        _ => others
            .iter()
            .filter(|j| j.stage_idx < job.stage_idx)
            .cloned()
            .collect(),
    })
}

fn payload_of(
    conn: &mut DbConnection,
    cfg: &ApiConfig,
    runner: &RunnerRow,
    assigned: &Assigned,
) -> Result<Payload, ApiError> {
    let job = &assigned.job;
    let pipeline = &assigned.pipeline;
    let token = &assigned.token;
    let project = projects::find(conn, job.project_id)?.ok_or(ApiError::NotFound("Project"))?;
    let spec: Option<PlannedJob> = serde_json::from_str(&job.spec).ok();
    let urls = ServerUrls {
        external_url: cfg.external_url.clone(),
        registry_host: cfg.registry_host.clone(),
    };
    let variables = job_variables(conn, job, pipeline, token, &urls).map_err(ci_error)?;

    let mut timeout = spec
        .as_ref()
        .and_then(|s| s.timeout_seconds)
        .filter(|t| *t > 0)
        .unwrap_or(3600);
    if let Some(max) = runner.maximum_timeout.filter(|m| *m > 0) {
        timeout = timeout.min(max);
    }

    let depth = variables
        .iter()
        .rev()
        .find(|v| v.key == "GIT_DEPTH")
        .and_then(|v| v.value.trim().parse::<i64>().ok())
        .map(Ok)
        .unwrap_or_else(|| runner_store::project_git_depth(conn, project.id).map(i64::from))?
        .max(0);
    // The persistent ref is sent only when it exists in the repository.
    let persistent = match runner_store::ensure_pipeline_ref(
        &cfg.repositories.path(project.id),
        pipeline.id,
        &pipeline.sha,
    ) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(pipeline.id = pipeline.id, error = %e, "pipeline ref not made; not sent");
            false
        }
    };

    let steps = spec
        .as_ref()
        .map(|s| {
            s.steps
                .iter()
                .map(|step| StepOut {
                    name: step.name.clone(),
                    script: step.script.clone(),
                    timeout: step
                        .timeout_seconds
                        .filter(|t| *t > 0)
                        .unwrap_or(timeout)
                        .min(timeout),
                    when: step.when.as_str().to_string(),
                    allow_failure: step.allow_failure,
                })
                .collect()
        })
        .unwrap_or_default();

    let artifacts = spec
        .as_ref()
        .and_then(|s| s.artifacts.as_ref())
        .filter(|a| a.untracked || !a.paths.is_empty())
        .map(|a| {
            vec![ArtifactOut {
                name: a.name.clone().unwrap_or_else(|| "artifacts".into()),
                untracked: a.untracked,
                paths: a.paths.clone(),
                exclude: a.exclude.clone(),
                when: a.when.as_str().to_string(),
                artifact_type: "archive".into(),
                artifact_format: "zip".into(),
                expire_in: a.expire_in_seconds.map(|s| format!("{s} seconds")),
            }]
        })
        .unwrap_or_default();

    let deps = dependency_jobs(conn, job, spec.as_ref())?;
    let dep_ids: Vec<i64> = deps.iter().map(|j| j.id).collect();
    let now = tinforge_store::now();
    let archives = artifacts::for_jobs(conn, &dep_ids)?;
    let dependencies = deps
        .iter()
        .filter_map(|d| {
            let a = archives.iter().find(|a| {
                a.job_id == d.id && a.file_type == "archive" && a.expire_at.is_none_or(|t| t > now)
            })?;
            Some(DependencyOut {
                id: d.id,
                name: d.name.clone(),
                token: token.clone(),
                artifacts_file: ArtifactsFileOut {
                    filename: a.filename.clone(),
                    size: a.size,
                },
            })
        })
        .collect();

    let root_namespace_id = match project.group_id {
        Some(g) => tinforge_store::groups::self_and_ancestors(conn, g)?
            .last()
            .copied(),
        None => None,
    };
    Ok(Payload {
        id: job.id,
        token: token.clone(),
        allow_git_fetch: true,
        job_info: JobInfo {
            id: job.id,
            name: job.name.clone(),
            stage: job.stage.clone(),
            project_id: project.id,
            project_name: project.name.clone(),
            project_full_path: project.full_path.clone(),
            pipeline_id: pipeline.id,
            namespace_id: project.group_id,
            root_namespace_id,
            user_id: job.user_id,
            time_in_queue_seconds: job.queued_seconds().unwrap_or(0.0).max(0.0),
            project_jobs_running_on_instance_runners_count: "+Inf".into(),
            queue_size: 0,
            queue_depth: 0,
        },
        git_info: GitInfo {
            repo_url: repo_url(&cfg.external_url, token, &project.full_path),
            repo_object_format: "sha1".into(),
            ref_name: pipeline.ref_name.clone(),
            sha: pipeline.sha.clone(),
            before_sha: pipeline.before_sha.clone(),
            ref_type: if pipeline.tag { "tag" } else { "branch" }.into(),
            refspecs: refspecs(
                pipeline.id,
                &pipeline.sha,
                &pipeline.ref_name,
                pipeline.tag,
                depth,
            )
            .into_iter()
            .filter(|r| persistent || !r.contains(":refs/pipelines/"))
            .collect(),
            depth,
            protected: None,
        },
        runner_info: RunnerInfoOut {
            timeout,
            runner_session_url: None,
        },
        variables,
        steps,
        image: spec
            .as_ref()
            .and_then(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .map(|name| ImageOut { name }),
        services: Vec::new(),
        artifacts,
        cache: Vec::new(),
        credentials: vec![CredentialOut {
            kind: "registry".into(),
            url: cfg.registry_host.clone(),
            username: "gitlab-ci-token".into(),
            password: token.clone(),
        }],
        dependencies,
        features: FeaturesOut {
            trace_sections: true,
            token_mask_prefixes: TOKEN_PREFIXES.iter().map(|s| s.to_string()).collect(),
            failure_reasons: FailureReason::accepted()
                .into_iter()
                .map(str::to_string)
                .collect(),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Job-token authentication

/// Why a job call was refused: 403, with the path job's status when it exists.
struct JobDenied {
    status: Option<String>,
    message: &'static str,
}

impl JobDenied {
    fn response(&self) -> HttpResponse {
        let mut b = HttpResponse::Forbidden();
        if let Some(s) = &self.status {
            b.insert_header(("Job-Status", s.as_str()));
        }
        b.json(Message::new(format!("403 Forbidden - {}", self.message)))
    }
}

fn job_id_of(req: &HttpRequest) -> Option<i64> {
    req.match_info().get("job_id").and_then(|s| s.parse().ok())
}

/// The job token of a job call: the `JOB-TOKEN` header, else `token` (body or query) or
/// `job_token` (query).
fn presented_job_token(req: &HttpRequest, params: Option<&Params>) -> Option<String> {
    let header = req
        .headers()
        .get("job-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let param = params.and_then(|p| p.get("token").and_then(Value::as_str).map(str::to_string));
    let query = || {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == "token" || k == "job_token")
            .map(|(_, v)| v)
    };
    header
        .or(param)
        .or_else(query)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The running job whose token was presented, when it is the job in the path.
fn job_of_token(
    conn: &mut DbConnection,
    digest: Option<String>,
    path_job: Option<i64>,
) -> Result<Result<JobRow, JobDenied>, StoreError> {
    let path_status = |conn: &mut DbConnection| -> Result<Option<String>, StoreError> {
        Ok(match path_job {
            Some(id) => jobs::find(conn, id)?.map(|j| j.status),
            None => None,
        })
    };
    let by_token = match &digest {
        Some(d) => jobs::find_by_token_digest(conn, d)?,
        None => None,
    };
    match by_token {
        Some(job) if Some(job.id) == path_job => {
            if matches!(job.status.as_str(), "running" | "canceling") {
                Ok(Ok(job))
            } else {
                Ok(Err(JobDenied {
                    status: Some(job.status),
                    message: "Job is not processing on runner",
                }))
            }
        }
        Some(_) => Ok(Err(JobDenied {
            status: path_status(conn)?,
            message: "Job token does not belong to this job",
        })),
        None => {
            let status = path_status(conn)?;
            let message = if status
                .as_deref()
                .is_some_and(|s| JobStatus::from_str(s).is_ok_and(|s| s.is_finished()))
            {
                "Job is not processing on runner"
            } else {
                "Job token is invalid"
            };
            Ok(Err(JobDenied { status, message }))
        }
    }
}

fn job_token_digest(req: &HttpRequest, token: Option<&str>) -> Result<Option<String>, ApiError> {
    let resolver = state_of(req)?.resolver.clone();
    Ok(token
        .filter(|t| token_format::check(t) == Some(TokenPrefix::Job))
        .map(|t| resolver.digest(t)))
}

/// A job call's answer headers: the job's status and the log update interval.
fn job_reply(status: StatusCode, job_status: &str) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header(("Job-Status", job_status.to_string()))
        .insert_header((
            "X-GitLab-Trace-Update-Interval",
            trace_interval().to_string(),
        ));
    b
}

// ---------------------------------------------------------------------------------------------
// PUT /jobs/:id

#[derive(Debug, Deserialize)]
struct UpdateBody {
    state: Option<String>,
    failure_reason: Option<String>,
    #[serde(default, deserialize_with = "crate::params::flex::opt_i64")]
    exit_code: Option<i64>,
}

async fn update_job(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let path_job = job_id_of(&req);
    let digest = job_token_digest(&req, presented_job_token(&req, Some(&params)).as_deref())?;
    let body: UpdateBody = params.parse()?;
    let state = body.state.clone().unwrap_or_else(|| "running".into());
    if !["running", "pending", "success", "failed"].contains(&state.as_str()) {
        return Err(ApiError::BadRequest(
            "state does not have a valid value".into(),
        ));
    }
    let repositories = cfg.repositories.clone();
    let outcome = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = match job_of_token(c, digest, path_job)? {
                Ok(job) => job,
                Err(denied) => return Ok(Err(denied)),
            };
            match state.as_str() {
                "success" | "failed" => {
                    let reason = body.failure_reason.as_deref().map(|r| {
                        FailureReason::from_str(r).unwrap_or(FailureReason::UnknownFailure)
                    });
                    let exit_code = body.exit_code.and_then(|e| i32::try_from(e).ok());
                    let settled =
                        progress::finish_job(c, job.id, state == "success", reason, exit_code)
                            .map_err(ci_error)?;
                    let after = jobs::find(c, job.id)?.map(|j| j.status).unwrap_or_default();
                    tracing::info!(job.id = job.id, status = %after, "job finished by its runner");
                    if settled.finished
                        && let Err(e) = runner_store::remove_pipeline_ref(
                            &repositories.path(job.project_id),
                            job.pipeline_id,
                        )
                    {
                        tracing::warn!(pipeline.id = job.pipeline_id, error = %e, "pipeline ref not removed");
                    }
                    // Merge requests set to merge when this pipeline succeeds.
                    if settled.finished
                        && let Err(e) = tinforge_ci::service::auto_merge::after_pipeline(
                            c,
                            &repositories,
                            job.pipeline_id,
                        )
                    {
                        tracing::warn!(pipeline.id = job.pipeline_id, error = %e, "automatic merge");
                    }
                    Ok(Ok((after, settled.released)))
                }
                _ => {
                    jobs::touch(c, job.id)?;
                    Ok(Ok((job.status, false)))
                }
            }
        })
        .await?;
    match outcome {
        Ok((status, released)) => {
            if released {
                cfg.job_queue.bump();
            }
            Ok(job_reply(StatusCode::OK, &status).json(JobState { status, size: None }))
        }
        Err(denied) => Ok(denied.response()),
    }
}

// ---------------------------------------------------------------------------------------------
// PATCH /jobs/:id/trace

/// The start of `Content-Range: <start>-<end>` (only the start is trusted).
fn range_start(value: &str) -> Option<i64> {
    let v = value.trim();
    let v = v.strip_prefix("bytes").map(str::trim_start).unwrap_or(v);
    let v = v.strip_prefix('=').unwrap_or(v).trim();
    let start = v.split('-').next()?.trim();
    start.parse::<i64>().ok().filter(|s| *s >= 0)
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::BadRequest("request body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

enum TraceOutcome {
    Denied(JobDenied),
    MissingRange,
    Appended(String, i64),
    BadStart(String, i64),
    TooLarge(String),
}

async fn patch_trace(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let path_job = job_id_of(&req);
    let digest = job_token_digest(&req, presented_job_token(&req, None).as_deref())?;
    let start = req
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(range_start);
    let data = read_body(payload, PATCH_LIMIT).await?;
    let max = trace_max_bytes() as i64;
    let outcome = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = match job_of_token(c, digest, path_job)? {
                Ok(job) => job,
                Err(denied) => return Ok((TraceOutcome::Denied(denied), false)),
            };
            let Some(start) = start else {
                return Ok((TraceOutcome::MissingRange, false));
            };
            let Some(start) = start else {
                return Ok((TraceOutcome::BadStart(job.status, job.trace_size), false));
            };
            if start + data.len() as i64 > max {
                let settled = progress::finish_job(
                    c,
                    job.id,
                    false,
                    Some(FailureReason::UnknownFailure),
                    None,
                )
                .map_err(ci_error)?;
                tracing::warn!(
                    job.id = job.id,
                    max,
                    "job log over the size limit; job failed"
                );
                let status = jobs::find(c, job.id)?.map(|j| j.status).unwrap_or_default();
                return Ok((TraceOutcome::TooLarge(status), settled.released));
            }
            Ok((
                match traces::append(c, job.id, start, &data)? {
                    Ok(size) => TraceOutcome::Appended(job.status, size),
                    Err(size) => TraceOutcome::BadStart(job.status, size),
                },
                false,
            ))
        })
        .await?;
    let (outcome, released) = outcome;
    if released {
        cfg.job_queue.bump();
    }
    Ok(match outcome {
        TraceOutcome::Denied(d) => d.response(),
        TraceOutcome::MissingRange => {
            HttpResponse::BadRequest().json(Message::new("400 Missing header Content-Range"))
        }
        TraceOutcome::Appended(status, size) => job_reply(StatusCode::ACCEPTED, &status)
            .insert_header(("Range", format!("0-{size}")))
            .json(JobState {
                status,
                size: Some(size),
            }),
        TraceOutcome::BadStart(status, size) => {
            job_reply(StatusCode::RANGE_NOT_SATISFIABLE, &status)
                .insert_header(("Range", format!("0-{size}")))
                .json(RangeRefusal {
                    message: "416 Range Not Satisfiable",
                    size,
                })
        }
        TraceOutcome::TooLarge(status) => job_reply(StatusCode::FORBIDDEN, &status)
            .json(Message::new("403 Forbidden - Trace size exceeded")),
    })
}

// ---------------------------------------------------------------------------------------------
// Artifacts

#[derive(Debug, Default, Deserialize)]
struct UploadQuery {
    artifact_type: Option<String>,
    artifact_format: Option<String>,
    expire_in: Option<String>,
}

static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

fn staging_id(job_id: i64) -> String {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let n = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{job_id:x}-{nanos:x}-{n:x}")
}

fn blob_error(e: tinforge_store::blobstore::BlobError) -> ApiError {
    ApiError::Store(StoreError::Unavailable(e.to_string()))
}

/// Removes a staging file when dropped, unless it was committed.
struct Staged(Option<PathBuf>);

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn upload_artifacts(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let path_job = job_id_of(&req);
    let digest = job_token_digest(&req, presented_job_token(&req, None).as_deref())?;
    let query: UploadQuery = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let file_type = query
        .artifact_type
        .clone()
        .unwrap_or_else(|| "archive".into());
    let file_format = query
        .artifact_format
        .clone()
        .unwrap_or_else(|| "zip".into());
    if file_type != "archive" {
        return Err(ApiError::BadRequest(
            "artifact_type does not have a valid value".into(),
        ));
    }
    if !["zip", "gzip", "raw"].contains(&file_format.as_str()) {
        return Err(ApiError::BadRequest(
            "artifact_format does not have a valid value".into(),
        ));
    }
    let expire_override =
        match query.expire_in.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(text) => Some(tinforge_ci::duration::parse_expire_in(text).map_err(|_| {
                ApiError::BadRequest("expire_in does not have a valid value".into())
            })?),
            None => None,
        };
    let job = auth
        .run(move |c| -> Result<_, ApiError> { Ok(job_of_token(c, digest, path_job)?) })
        .await?;
    let job = match job {
        Ok(job) => job,
        Err(denied) => return Ok(denied.response()),
    };
    let max = artifacts_max_bytes();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(ApiError::TooLarge);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = multipart::boundary_of(&content_type)
        .ok_or_else(|| ApiError::BadRequest("file is missing".into()))?;
    let staged_path = cfg
        .artifacts
        .staging_path(&staging_id(job.id))
        .map_err(blob_error)?;
    let mut staged = Staged(Some(staged_path.clone()));
    let received = multipart::receive_file(payload, &boundary, "file", &staged_path, max).await?;
    let Some(received) = received else {
        return Err(ApiError::BadRequest("file is missing".into()));
    };
    let blob_digest = format!("sha256:{}", received.sha256_hex);
    cfg.artifacts
        .commit(&blob_digest, &staged_path)
        .await
        .map_err(blob_error)?;
    staged.0 = None;
    let spec_expiry = serde_json::from_str::<PlannedJob>(&job.spec)
        .ok()
        .and_then(|s| s.artifacts)
        .map(|a| a.expire_in_seconds);
    let expire_seconds = match expire_override.or(spec_expiry) {
        Some(e) => e,
        None => Some(30 * 24 * 3600),
    };
    let expire_at = expire_seconds.map(|s| tinforge_store::now() + chrono::Duration::seconds(s));
    let filename = received
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "artifacts.zip".into());
    let row = NewArtifact {
        job_id: job.id,
        file_type,
        file_format,
        filename,
        size: received.size as i64,
        digest: blob_digest,
        expire_at,
    };
    let (row, orphan) = auth
        .run(move |c| -> Result<_, ApiError> {
            // The job may have finished while the bytes came in: it must still be running.
            let current = jobs::find(c, row.job_id)?.ok_or(ApiError::NotFound("Job"))?;
            if !matches!(current.status.as_str(), "running" | "canceling") {
                return Err(ApiError::Forbidden(Some(
                    "Job is not processing on runner".into(),
                )));
            }
            let (saved, old) = artifacts::replace(c, &row)?;
            let orphan = match old {
                Some(d) if d != saved.digest && !artifacts::digest_in_use(c, &d)? => Some(d),
                _ => None,
            };
            Ok((saved, orphan))
        })
        .await?;
    if let Some(d) = orphan
        && let Err(e) = cfg.artifacts.delete(&d).await
    {
        tracing::warn!(error = %e, "replaced artifacts blob not deleted");
    }
    tracing::info!(job.id = row.job_id, size = row.size, "artifacts stored");
    Ok(
        job_reply(StatusCode::CREATED, &job.status).json(StoredArtifacts {
            id: row.job_id,
            artifacts_file: ArtifactsFileOut {
                filename: row.filename,
                size: row.size,
            },
            file_type: row.file_type,
            file_format: row.file_format,
            expire_at: row.expire_at.map(crate::views::time),
        }),
    )
}

async fn download_artifacts(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
) -> Result<HttpResponse, ApiError> {
    let path_job = job_id_of(&req).ok_or(ApiError::Forbidden(None))?;
    let digest = job_token_digest(&req, presented_job_token(&req, None).as_deref())?
        .ok_or(ApiError::Unauthorized)?;
    let found = auth
        .run(move |c| -> Result<_, ApiError> {
            let reader = jobs::find_by_token_digest(c, &digest)?
                .filter(|j| matches!(j.status.as_str(), "running" | "canceling"))
                .ok_or(ApiError::Unauthorized)?;
            let Some(target) = jobs::find(c, path_job)? else {
                return Ok(None);
            };
            if target.project_id != reader.project_id {
                return Err(ApiError::Forbidden(None));
            }
            let now = tinforge_store::now();
            Ok(artifacts::find_for_job(c, target.id)?
                .filter(|a| a.expire_at.is_none_or(|t| t > now)))
        })
        .await?;
    let Some(archive) = found else {
        return Ok(HttpResponse::NotFound().json(Message::new("404 Not Found")));
    };
    let stream = match cfg.artifacts.read(&archive.digest, None).await {
        Ok(s) => s,
        Err(tinforge_store::blobstore::BlobError::NotFound) => {
            return Ok(HttpResponse::NotFound().json(Message::new("404 Not Found")));
        }
        Err(e) => return Err(blob_error(e)),
    };
    let content_type = match archive.file_format.as_str() {
        "zip" => "application/zip",
        "gzip" => "application/gzip",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}\"",
                archive.filename.replace('"', "")
            ),
        ))
        .no_chunking(archive.size as u64)
        .streaming(stream))
}

/// Streaming `multipart/form-data`: one named part goes to a file (hashed with SHA-256 as it is
/// written), the others are read and dropped.
mod multipart {
    use super::sha256::Sha256;
    use crate::error::ApiError;
    use actix_web::web;
    use futures_util::StreamExt;
    use std::fs::File;
    use std::io::Write;
    use std::path::Path;

    /// The `boundary` parameter of a multipart content type.
    pub fn boundary_of(content_type: &str) -> Option<String> {
        let mut parts = content_type.split(';');
        let kind = parts.next()?.trim().to_ascii_lowercase();
        if kind != "multipart/form-data" {
            return None;
        }
        parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim().eq_ignore_ascii_case("boundary"))
                .then(|| v.trim().trim_matches('"').to_string())
                .filter(|b| !b.is_empty() && b.len() <= 200)
        })
    }

    /// The file part as received.
    pub struct Received {
        pub filename: Option<String>,
        pub size: u64,
        pub sha256_hex: String,
    }

    /// Where the bytes of the current part go.
    enum Sink {
        File {
            file: Option<File>,
            hasher: Sha256,
            pending: Vec<u8>,
            size: u64,
            filename: Option<String>,
        },
        Discard,
    }

    enum State {
        Preamble,
        Headers,
        Body,
        Done,
    }

    const FLUSH_AT: usize = 1024 * 1024;
    const HEADER_LIMIT: usize = 16 * 1024;

    fn bad(what: &str) -> ApiError {
        ApiError::BadRequest(format!("malformed multipart body: {what}"))
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        if needle.is_empty() || hay.len() < needle.len() {
            return None;
        }
        let first = needle[0];
        let mut i = 0;
        while i + needle.len() <= hay.len() {
            match hay[i..hay.len() - needle.len() + 1]
                .iter()
                .position(|b| *b == first)
            {
                Some(p) => {
                    let at = i + p;
                    if &hay[at..at + needle.len()] == needle {
                        return Some(at);
                    }
                    i = at + 1;
                }
                None => return None,
            }
        }
        None
    }

    /// `name="file"; filename="a.zip"` out of a part's headers.
    fn disposition(headers: &str) -> (Option<String>, Option<String>) {
        let mut name = None;
        let mut filename = None;
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';').skip(1) {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"').to_string();
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
        }
        (name, filename)
    }

    /// Writes what has collected to the file off the executor.
    async fn flush(sink: &mut Sink) -> Result<(), ApiError> {
        if let Sink::File {
            file,
            hasher,
            pending,
            ..
        } = sink
        {
            if pending.is_empty() {
                return Ok(());
            }
            let data = std::mem::take(pending);
            let mut f = file.take().ok_or_else(|| bad("file closed"))?;
            let mut h = std::mem::take(hasher);
            let (f, h, result) = web::block(move || {
                h.update(&data);
                let r = f.write_all(&data);
                (f, h, r)
            })
            .await
            .map_err(|_| bad("write interrupted"))?;
            *file = Some(f);
            *hasher = h;
            result.map_err(|e| {
                ApiError::Store(tinforge_store::StoreError::Unavailable(e.to_string()))
            })?;
        }
        Ok(())
    }

    fn push(sink: &mut Sink, data: &[u8], max: u64) -> Result<(), ApiError> {
        if let Sink::File { pending, size, .. } = sink {
            *size += data.len() as u64;
            if *size > max {
                return Err(ApiError::TooLarge);
            }
            pending.extend_from_slice(data);
        }
        Ok(())
    }

    /// Streams the body; the part named `field` goes to `dest`. None when there was no such part.
    pub async fn receive_file(
        mut payload: web::Payload,
        boundary: &str,
        field: &str,
        dest: &Path,
        max: u64,
    ) -> Result<Option<Received>, ApiError> {
        let delimiter = format!("\r\n--{boundary}").into_bytes();
        let mut buf: Vec<u8> = b"\r\n".to_vec();
        let mut state = State::Preamble;
        let mut sink = Sink::Discard;
        let mut received: Option<Received> = None;
        let mut ended = false;
        let mut discarded: u64 = 0;
        loop {
            let mut progressed = true;
            while progressed {
                progressed = false;
                match state {
                    State::Preamble => {
                        if let Some(at) = find(&buf, &delimiter) {
                            buf.drain(..at + delimiter.len());
                            state = State::Headers;
                            progressed = true;
                        } else if buf.len() > delimiter.len() {
                            let keep = buf.split_off(buf.len() - delimiter.len());
                            buf = keep;
                        }
                    }
                    State::Headers => {
                        if buf.len() >= 2 && &buf[..2] == b"--" {
                            state = State::Done;
                            progressed = true;
                        } else if let Some(at) = find(&buf, b"\r\n\r\n") {
                            let headers = String::from_utf8_lossy(&buf[..at]).to_string();
                            buf.drain(..at + 4);
                            let (name, filename) = disposition(&headers);
                            sink = if name.as_deref() == Some(field) && received.is_none() {
                                let file = File::create(dest).map_err(|e| {
                                    ApiError::Store(tinforge_store::StoreError::Unavailable(
                                        e.to_string(),
                                    ))
                                })?;
                                Sink::File {
                                    file: Some(file),
                                    hasher: Sha256::new(),
                                    pending: Vec::new(),
                                    size: 0,
                                    filename,
                                }
                            } else {
                                Sink::Discard
                            };
                            state = State::Body;
                            progressed = true;
                        } else if buf.len() > HEADER_LIMIT {
                            return Err(bad("part headers too long"));
                        }
                    }
                    State::Body => {
                        if let Some(at) = find(&buf, &delimiter) {
                            push(&mut sink, &buf[..at], max)?;
                            discarded += at as u64;
                            buf.drain(..at + delimiter.len());
                            flush(&mut sink).await?;
                            if let Sink::File {
                                file,
                                hasher,
                                size,
                                filename,
                                ..
                            } = std::mem::replace(&mut sink, Sink::Discard)
                            {
                                if let Some(f) = file {
                                    web::block(move || f.sync_all())
                                        .await
                                        .map_err(|_| bad("write interrupted"))?
                                        .map_err(|e| {
                                            ApiError::Store(
                                                tinforge_store::StoreError::Unavailable(
                                                    e.to_string(),
                                                ),
                                            )
                                        })?;
                                }
                                received = Some(Received {
                                    filename,
                                    size,
                                    sha256_hex: hasher.finish_hex(),
                                });
                            }
                            // What follows the delimiter: `\r\n` (another part) or `--` (end);
                            // the Headers state tells them apart once both bytes are here.
                            if buf.len() >= 2 && &buf[..2] == b"\r\n" {
                                buf.drain(..2);
                            }
                            state = State::Headers;
                            progressed = true;
                        } else if buf.len() > delimiter.len() {
                            let cut = buf.len() - delimiter.len();
                            push(&mut sink, &buf[..cut], max)?;
                            discarded += cut as u64;
                            buf.drain(..cut);
                            if discarded > max + 1024 * 1024 {
                                return Err(ApiError::TooLarge);
                            }
                            if let Sink::File { pending, .. } = &sink
                                && pending.len() >= FLUSH_AT
                            {
                                flush(&mut sink).await?;
                            }
                        }
                    }
                    State::Done => {}
                }
            }
            if matches!(state, State::Done) || ended {
                break;
            }
            match payload.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                Some(Err(_)) => return Err(bad("the body could not be read")),
                None => ended = true,
            }
        }
        // Drain the rest (an epilogue) without keeping it.
        while let Some(chunk) = payload.next().await {
            if chunk.is_err() {
                break;
            }
        }
        if !matches!(state, State::Done) && received.is_none() {
            return Err(bad("unexpected end"));
        }
        Ok(received)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn boundaries_and_dispositions() {
            assert_eq!(
                boundary_of("multipart/form-data; boundary=\"abc\"").as_deref(),
                Some("abc")
            );
            assert_eq!(
                boundary_of("Multipart/Form-Data;boundary=x-1").as_deref(),
                Some("x-1")
            );
            assert!(boundary_of("application/json").is_none());
            let (n, f) = disposition(
                "Content-Disposition: form-data; name=\"file\"; filename=\"artifacts.zip\"\r\nContent-Type: application/zip",
            );
            assert_eq!(n.as_deref(), Some("file"));
            assert_eq!(f.as_deref(), Some("artifacts.zip"));
            assert_eq!(find(b"abcabd", b"abd"), Some(3));
            assert_eq!(find(b"ab", b"abd"), None);
        }
    }
}

/// SHA-256 (FIPS 180-4), streaming; the API crate's only hash for content addresses.
mod sha256 {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    const H0: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];

    pub struct Sha256 {
        state: [u32; 8],
        block: [u8; 64],
        filled: usize,
        length: u64,
    }

    impl Default for Sha256 {
        fn default() -> Self {
            Sha256::new()
        }
    }

    impl Sha256 {
        pub fn new() -> Sha256 {
            Sha256 {
                state: H0,
                block: [0; 64],
                filled: 0,
                length: 0,
            }
        }

        pub fn update(&mut self, mut data: &[u8]) {
            self.length = self.length.wrapping_add(data.len() as u64);
            if self.filled > 0 {
                let take = (64 - self.filled).min(data.len());
                self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
                self.filled += take;
                data = &data[take..];
                if self.filled < 64 {
                    return;
                }
                let block = self.block;
                compress(&mut self.state, &block);
                self.filled = 0;
            }
            let mut chunks = data.chunks_exact(64);
            for chunk in &mut chunks {
                let mut block = [0u8; 64];
                block.copy_from_slice(chunk);
                compress(&mut self.state, &block);
            }
            let rest = chunks.remainder();
            self.block[..rest.len()].copy_from_slice(rest);
            self.filled = rest.len();
        }

        pub fn finish_hex(mut self) -> String {
            let bits = self.length.wrapping_mul(8);
            let mut tail = vec![0x80u8];
            let pad = (119 - self.filled % 64) % 64;
            tail.extend(std::iter::repeat_n(0u8, pad));
            tail.extend_from_slice(&bits.to_be_bytes());
            let length = self.length;
            self.update(&tail);
            self.length = length;
            self.state.iter().map(|w| format!("{w:08x}")).collect()
        }
    }

    fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn hex(data: &[u8]) -> String {
            let mut h = Sha256::new();
            h.update(data);
            h.finish_hex()
        }

        #[test]
        fn known_vectors() {
            assert_eq!(
                hex(b""),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            );
            assert_eq!(
                hex(b"abc"),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!(
                hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            );
            let million = vec![b'a'; 1_000_000];
            assert_eq!(
                hex(&million),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
            );
            // Fed in odd pieces, the same digest.
            let mut h = Sha256::new();
            for piece in million.chunks(7777) {
                h.update(piece);
            }
            assert_eq!(
                h.finish_hex(),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_trust_only_the_start() {
        assert_eq!(range_start("0-99"), Some(0));
        assert_eq!(range_start("100-"), Some(100));
        assert_eq!(range_start("bytes 5-9"), Some(5));
        assert_eq!(range_start("bytes=7-8"), Some(7));
        assert_eq!(range_start("x-1"), None);
        assert_eq!(range_start("-1"), None);
    }

    #[test]
    fn refspecs_follow_gitlab() {
        assert_eq!(
            refspecs(7, "abc", "main", false, 20),
            vec![
                "+abc:refs/pipelines/7",
                "+refs/heads/main:refs/remotes/origin/main"
            ]
        );
        assert_eq!(
            refspecs(7, "abc", "v1", true, 20)[1],
            "+refs/tags/v1:refs/tags/v1"
        );
        assert_eq!(refspecs(7, "abc", "main", false, 0).len(), 3);
        assert_eq!(
            repo_url("https://forge.example:8443", "tfjob-x", "g/p"),
            "https://gitlab-ci-token:tfjob-x@forge.example:8443/g/p.git"
        );
    }
}
