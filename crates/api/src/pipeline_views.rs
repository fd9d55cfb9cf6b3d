//! JSON shapes of pipelines and jobs as GitLab's v4 API writes them (`Entities::Ci::PipelineBasic`,
//! `Pipeline`, `Job`, `JobBasic`, `Variable`), and the loaders that gather what a job's JSON
//! embeds (its pipeline, user, commit, artifacts and runner) with a fixed number of queries per
//! list and one repository open per request.

use crate::ApiConfig;
use crate::views::{self, UserBasic};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tinforge_store::ci::artifacts::{self, ArtifactRow};
use tinforge_store::ci::jobs::JobRow;
use tinforge_store::ci::pipelines::{self, PipelineRow};
use tinforge_store::ci::{job_token_scope, runners};
use tinforge_store::git::objects;
use tinforge_store::{DbConnection, StoreError, users};
use utoipa::ToSchema;

/// Where a project's pipelines and jobs live on the web, and how to render its users.
#[derive(Debug, Clone)]
pub struct Site {
    pub cfg: ApiConfig,
    pub project_id: i64,
    /// The project's full path (`group/project`).
    pub project_path: String,
}

impl Site {
    pub fn new(cfg: &ApiConfig, project_id: i64, project_path: &str) -> Site {
        Site {
            cfg: cfg.clone(),
            project_id,
            project_path: project_path.to_string(),
        }
    }

    fn project_url(&self) -> String {
        format!("{}/{}", self.cfg.external_url, self.project_path)
    }

    pub fn pipeline_url(&self, id: i64) -> String {
        format!("{}/-/pipelines/{id}", self.project_url())
    }

    pub fn job_url(&self, id: i64) -> String {
        format!("{}/-/jobs/{id}", self.project_url())
    }

    /// The list's base URL for pagination links.
    pub fn base(&self) -> &str {
        &self.cfg.external_url
    }
}

use crate::views::Message;

/// A [`Message`] with a status: GitLab's `render_api_error!` bodies that the shared error type
/// does not spell (`400 Bad request - Unplayable Job`, `404 Not Found`).
pub fn message(status: StatusCode, text: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(Message::new(text))
}

// ---------------------------------------------------------------------------------------------
// Pipelines

/// `Entities::Ci::PipelineBasic`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineBasic {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub status: String,
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    pub web_url: String,
    /// Pipeline names (`workflow:name`) are not supported: always null.
    pub name: Option<String>,
}

/// GitLab's `detailed_status` of a pipeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetailedStatus {
    pub icon: String,
    pub text: &'static str,
    pub label: &'static str,
    pub group: String,
    pub tooltip: &'static str,
    pub has_details: bool,
    pub details_path: String,
    pub illustration: Option<String>,
    pub favicon: String,
}

/// `Entities::Ci::Pipeline`: the basic fields and the details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineView {
    #[serde(flatten)]
    pub basic: PipelineBasic,
    pub before_sha: String,
    pub tag: bool,
    pub yaml_errors: Option<String>,
    pub user: Option<UserBasic>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub committed_at: Option<String>,
    pub duration: Option<i64>,
    pub queued_duration: Option<i64>,
    /// Coverage reports are not parsed: always null.
    pub coverage: Option<String>,
    pub detailed_status: DetailedStatus,
}

/// A pipeline variable (`Entities::Ci::Variable` as `GET …/pipelines/:id/variables` lists it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineVariableView {
    pub variable_type: String,
    pub key: String,
    pub value: String,
}

pub fn pipeline_basic(p: &PipelineRow, site: &Site) -> PipelineBasic {
    PipelineBasic {
        id: p.id,
        iid: p.iid,
        project_id: p.project_id,
        sha: p.sha.clone(),
        ref_name: p.ref_name.clone(),
        status: p.status.clone(),
        source: p.source.clone(),
        created_at: views::time(p.created_at),
        updated_at: views::time(p.updated_at),
        web_url: site.pipeline_url(p.id),
        name: None,
    }
}

/// (icon, text, label, group) of a status, GitLab's `Gitlab::Ci::Status` presenters.
fn status_words(status: &str) -> (&'static str, &'static str, &'static str) {
    match status {
        "created" => ("Created", "created", "created"),
        "pending" => ("Pending", "pending", "pending"),
        "running" => ("Running", "running", "running"),
        "success" => ("Passed", "passed", "success"),
        "failed" => ("Failed", "failed", "failed"),
        "canceling" => ("Canceling", "canceling", "canceling"),
        "canceled" => ("Canceled", "canceled", "canceled"),
        "skipped" => ("Skipped", "skipped", "skipped"),
        "manual" => ("Blocked", "waiting for manual action", "manual"),
        _ => ("Unknown", "unknown", "unknown"),
    }
}

pub fn detailed_status(p: &PipelineRow, site: &Site) -> DetailedStatus {
    let (text, label, group) = status_words(&p.status);
    let icon_status = if p.status == "canceling" {
        "canceled"
    } else {
        group
    };
    DetailedStatus {
        icon: format!("status_{icon_status}"),
        text,
        label,
        group: group.to_string(),
        tooltip: label,
        has_details: true,
        details_path: format!("/{}/-/pipelines/{}", site.project_path, p.id),
        illustration: None,
        favicon: format!("/assets/ci_favicons/favicon_status_{icon_status}.png"),
    }
}

/// Seconds between two optional times.
fn seconds(from: Option<chrono::NaiveDateTime>, to: Option<chrono::NaiveDateTime>) -> Option<i64> {
    Some((to? - from?).num_seconds())
}

/// The full pipeline: its user and its commit's time are read here (one query, one commit).
pub fn pipeline_view(
    c: &mut DbConnection,
    p: &PipelineRow,
    site: &Site,
) -> Result<PipelineView, StoreError> {
    let user = match p.user_id {
        Some(id) => users::find(c, id)?.map(|u| views::user_basic(&u, &site.cfg)),
        None => None,
    };
    let committed_at = Commits::open(site)
        .get(&p.sha)
        .map(|commit| commit.committed_date.clone());
    Ok(PipelineView {
        basic: pipeline_basic(p, site),
        before_sha: p.before_sha.clone(),
        tag: p.tag,
        yaml_errors: p.yaml_errors.clone(),
        user,
        started_at: p.started_at.map(views::time),
        finished_at: p.finished_at.map(views::time),
        committed_at,
        duration: p.duration_seconds(),
        queued_duration: seconds(Some(p.created_at), p.started_at),
        coverage: None,
        detailed_status: detailed_status(p, site),
    })
}

pub fn variable_views(vars: Vec<(String, String, String)>) -> Vec<PipelineVariableView> {
    vars.into_iter()
        .map(|(key, value, variable_type)| PipelineVariableView {
            variable_type,
            key,
            value,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Commits

/// `Entities::Commit`, as a job embeds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitView {
    pub id: String,
    pub short_id: String,
    pub created_at: String,
    pub parent_ids: Vec<String>,
    pub title: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub authored_date: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committed_date: String,
    pub trailers: BTreeMap<String, String>,
    pub extended_trailers: BTreeMap<String, Vec<String>>,
    pub web_url: String,
}

/// A git time with its offset, as GitLab writes commit dates (`2026-11-25T10:00:00.000+01:00`).
fn git_time(t: git2::Time) -> String {
    let offset = FixedOffset::east_opt(t.offset_minutes() * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    DateTime::from_timestamp(t.seconds(), 0)
        .map(|d| {
            d.with_timezone(&offset)
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// Commits of one project's repository, each read once.
struct Commits {
    repo: Option<git2::Repository>,
    project_url: String,
    seen: HashMap<String, Option<CommitView>>,
}

impl Commits {
    fn open(site: &Site) -> Commits {
        Commits {
            repo: objects::open(&site.cfg.repositories.path(site.project_id)).ok(),
            project_url: site.project_url(),
            seen: HashMap::new(),
        }
    }

    fn get(&mut self, sha: &str) -> Option<CommitView> {
        if let Some(hit) = self.seen.get(sha) {
            return hit.clone();
        }
        let view = self.read(sha);
        self.seen.insert(sha.to_string(), view.clone());
        view
    }

    fn read(&self, sha: &str) -> Option<CommitView> {
        let repo = self.repo.as_ref()?;
        let commit = repo.find_commit(git2::Oid::from_str(sha).ok()?).ok()?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let title = message.lines().next().unwrap_or_default().to_string();
        let (author, committer) = (commit.author(), commit.committer());
        let id = commit.id().to_string();
        Some(CommitView {
            short_id: id.chars().take(8).collect(),
            created_at: git_time(committer.when()),
            parent_ids: commit.parent_ids().map(|p| p.to_string()).collect(),
            title,
            message,
            author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            authored_date: git_time(author.when()),
            committer_name: String::from_utf8_lossy(committer.name_bytes()).into_owned(),
            committer_email: String::from_utf8_lossy(committer.email_bytes()).into_owned(),
            committed_date: git_time(committer.when()),
            trailers: BTreeMap::new(),
            extended_trailers: BTreeMap::new(),
            web_url: format!("{}/-/commit/{id}", self.project_url),
            id,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// The pipeline a job belongs to, as the job's JSON embeds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobPipeline {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub status: String,
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    pub web_url: String,
}

/// One file of a job (`artifacts[]`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobArtifact {
    pub file_type: String,
    pub size: i64,
    pub filename: String,
    pub file_format: Option<String>,
}

/// The job's archive (`artifacts_file`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArtifactsFile {
    pub filename: String,
    pub size: i64,
}

/// The runner that ran a job (`Entities::Ci::Runner`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerView {
    pub id: i64,
    pub description: String,
    pub ip_address: Option<String>,
    pub active: bool,
    pub paused: bool,
    pub is_shared: bool,
    pub runner_type: String,
    pub name: Option<String>,
    pub online: bool,
    pub status: &'static str,
}

/// What a job's JSON says about its project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobProject {
    pub ci_job_token_scope_enabled: bool,
}

/// `Entities::Ci::Job`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub status: String,
    pub stage: String,
    pub name: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub tag: bool,
    /// Coverage is not parsed from logs: always null.
    pub coverage: Option<f64>,
    pub allow_failure: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub erased_at: Option<String>,
    pub duration: Option<f64>,
    pub queued_duration: Option<f64>,
    pub user: Option<UserBasic>,
    pub commit: Option<CommitView>,
    pub pipeline: JobPipeline,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub web_url: String,
    pub project: JobProject,
    pub artifacts: Vec<JobArtifact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_file: Option<ArtifactsFile>,
    pub artifacts_expire_at: Option<String>,
    pub runner: Option<RunnerView>,
    pub tag_list: Vec<String>,
    pub archived: bool,
}

/// A job with what its token may do (`GET /job`): GitLab's job, plus `permissions` as
/// `{"resource": ["action", …]}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnJobView {
    #[serde(flatten)]
    pub job: JobView,
    pub permissions: BTreeMap<String, Vec<String>>,
}

fn runner_view(r: &runners::RunnerRow) -> RunnerView {
    let now = tinforge_store::now();
    let online = r
        .contacted_at
        .is_some_and(|t| now - t < chrono::Duration::hours(2));
    RunnerView {
        id: r.id,
        description: r.description.clone(),
        ip_address: r.ip_address.clone(),
        active: !r.paused,
        paused: r.paused,
        is_shared: r.is_instance(),
        runner_type: r.runner_type.clone(),
        name: Some("gitlab-runner".to_string()).filter(|_| r.version.is_some()),
        online,
        status: match (r.contacted_at, online) {
            (None, _) => "never_contacted",
            (Some(_), true) => "online",
            (Some(_), false) => "offline",
        },
    }
}

/// The JSON of jobs of one project, in the order given. Pipelines, users, artifacts and runners
/// are loaded once for the whole list; commits are read once per sha.
pub fn job_views(
    c: &mut DbConnection,
    site: &Site,
    jobs: &[JobRow],
) -> Result<Vec<JobView>, StoreError> {
    let mut pipelines_by_id: HashMap<i64, PipelineRow> = HashMap::new();
    for job in jobs {
        if !pipelines_by_id.contains_key(&job.pipeline_id)
            && let Some(p) = pipelines::find(c, job.pipeline_id)?
        {
            pipelines_by_id.insert(p.id, p);
        }
    }
    let mut users_by_id: HashMap<i64, Option<UserBasic>> = HashMap::new();
    for id in jobs.iter().filter_map(|j| j.user_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = users_by_id.entry(id) {
            let user = users::find(c, id)?;
            slot.insert(user.map(|u| views::user_basic(&u, &site.cfg)));
        }
    }
    let mut runners_by_id: HashMap<i64, Option<RunnerView>> = HashMap::new();
    for id in jobs.iter().filter_map(|j| j.runner_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = runners_by_id.entry(id) {
            slot.insert(runners::find(c, id)?.as_ref().map(runner_view));
        }
    }
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let mut artifacts_by_job: HashMap<i64, Vec<ArtifactRow>> = HashMap::new();
    for a in artifacts::for_jobs(c, &ids)? {
        artifacts_by_job.entry(a.job_id).or_default().push(a);
    }
    let scope_enabled = job_token_scope::scope_enabled(c, site.project_id)?;
    let mut commits = Commits::open(site);
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let Some(p) = pipelines_by_id.get(&job.pipeline_id) else {
            continue;
        };
        let files = artifacts_by_job.remove(&job.id).unwrap_or_default();
        out.push(job_view(
            job,
            p,
            site,
            JobExtras {
                user: job
                    .user_id
                    .and_then(|id| users_by_id.get(&id).cloned().flatten()),
                runner: job
                    .runner_id
                    .and_then(|id| runners_by_id.get(&id).cloned().flatten()),
                commit: commits.get(&p.sha),
                files,
                scope_enabled,
            },
        ));
    }
    Ok(out)
}

/// One job's JSON (see [`job_views`]).
pub fn one_job_view(
    c: &mut DbConnection,
    site: &Site,
    job: &JobRow,
) -> Result<JobView, StoreError> {
    job_views(c, site, std::slice::from_ref(job))?
        .pop()
        .ok_or(StoreError::NotFound)
}

struct JobExtras {
    user: Option<UserBasic>,
    runner: Option<RunnerView>,
    commit: Option<CommitView>,
    files: Vec<ArtifactRow>,
    scope_enabled: bool,
}

fn job_view(job: &JobRow, p: &PipelineRow, site: &Site, extras: JobExtras) -> JobView {
    let archive = extras.files.iter().find(|a| a.file_type == "archive");
    let mut files: Vec<JobArtifact> = extras
        .files
        .iter()
        .map(|a| JobArtifact {
            file_type: a.file_type.clone(),
            size: a.size,
            filename: a.filename.clone(),
            file_format: Some(a.file_format.clone()),
        })
        .collect();
    if job.trace_size > 0 {
        files.push(JobArtifact {
            file_type: "trace".to_string(),
            size: job.trace_size + job.trace_preamble.len() as i64,
            filename: "job.log".to_string(),
            file_format: None,
        });
    }
    JobView {
        id: job.id,
        status: job.status.clone(),
        stage: job.stage.clone(),
        name: job.name.clone(),
        ref_name: p.ref_name.clone(),
        tag: p.tag,
        coverage: None,
        allow_failure: job.allow_failure,
        created_at: views::time(job.created_at),
        started_at: job.started_at.map(views::time),
        finished_at: job.finished_at.map(views::time),
        erased_at: job.erased_at.map(views::time),
        duration: job.duration_seconds(),
        queued_duration: job.queued_seconds(),
        user: extras.user,
        commit: extras.commit,
        pipeline: JobPipeline {
            id: p.id,
            iid: p.iid,
            project_id: p.project_id,
            sha: p.sha.clone(),
            ref_name: p.ref_name.clone(),
            status: p.status.clone(),
            source: p.source.clone(),
            created_at: views::time(p.created_at),
            updated_at: views::time(p.updated_at),
            web_url: site.pipeline_url(p.id),
        },
        failure_reason: job
            .failure_reason
            .clone()
            .filter(|_| job.status == "failed"),
        web_url: site.job_url(job.id),
        project: JobProject {
            ci_job_token_scope_enabled: extras.scope_enabled,
        },
        artifacts: files,
        artifacts_file: archive.map(|a| ArtifactsFile {
            filename: a.filename.clone(),
            size: a.size,
        }),
        artifacts_expire_at: archive.and_then(|a| a.expire_at).map(views::time),
        runner: extras.runner,
        tag_list: job.tags(),
        archived: false,
    }
}
