//! `Pipeline` and `CiJob` as GitLab's GraphQL shows them (`gid://gitlab/Ci::Pipeline/N`,
//! `gid://gitlab/Ci::Build/N`, UPPERCASE status enums), `Project.pipelines` / `Project.pipeline`
//! (declared in [`super::project`]) and the work of the `pipelineCreate`, `pipelineCancel`,
//! `pipelineRetry` and `pipelineDestroy` mutations (declared in [`crate::mutation`]).
//!
//! The declarations are the REST twins': reading `pipeline:read` (Reporter+), running
//! `pipeline:create` and cancel/retry `pipeline:update` (Developer+), destroying
//! `pipeline:delete` (Owner). A pipeline's jobs are part of reading it. What a pipeline does is
//! the engine's business (`tinforge_ci::service`); jobs that became pending ring the job queue.

use super::connection::{IdCursor, List, ListCount, MAX_PAGE_SIZE, PageArgs, page};
use super::scalars::{Time, gid, parse_gid};
use super::user::User;
use crate::scope::RequestScope;
use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, InputValueError, InputValueResult, Result,
    Scalar, ScalarType, SimpleObject, Value,
};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use tinforge_authz::TokenKind;
use tinforge_ci::PipelineSource;
use tinforge_ci::queue::JobQueue;
use tinforge_ci::service::progress::{self, Settled};
use tinforge_ci::service::{CiError, Created, PipelineRequest, create_pipeline};
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::pipelines::{self, PipelineFilter, PipelineRow};
use tinforge_store::{DbConnection, StoreError, projects, users};

/// GitLab's message when `rules` leave a pipeline without jobs.
const FILTERED: &str = "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.";

/// Declares a GraphQL status enum with GitLab's UPPERCASE names and the store's lowercase ones.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The status as the store spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value for a stored status (an unknown one reads as failed).
            pub fn of(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)+
                    _ => $name::Failed,
                }
            }
        }
    };
}

status_enum! {
    /// The status of a pipeline.
    PipelineStatusEnum {
        /// Pipeline has been created.
        Created => "created",
        /// A resource (for example, a runner) that the pipeline requires to run is unavailable.
        WaitingForResource => "waiting_for_resource",
        /// Pipeline is preparing to run.
        Preparing => "preparing",
        /// Pipeline has not started running yet.
        Pending => "pending",
        /// Pipeline is running.
        Running => "running",
        /// At least one stage of the pipeline failed.
        Failed => "failed",
        /// Pipeline completed successfully.
        Success => "success",
        /// Pipeline is in the process of canceling.
        Canceling => "canceling",
        /// Pipeline was canceled before completion.
        Canceled => "canceled",
        /// Pipeline was skipped.
        Skipped => "skipped",
        /// Pipeline needs to be manually started.
        Manual => "manual",
        /// Pipeline is scheduled to run.
        Scheduled => "scheduled",
    }
}

status_enum! {
    /// The status of a job.
    CiJobStatus {
        /// A job that is created.
        Created => "created",
        /// A job that is waiting for resource.
        WaitingForResource => "waiting_for_resource",
        /// A job that is preparing.
        Preparing => "preparing",
        /// A job that is waiting for callback.
        WaitingForCallback => "waiting_for_callback",
        /// A job that is pending.
        Pending => "pending",
        /// A job that is running.
        Running => "running",
        /// A job that is success.
        Success => "success",
        /// A job that is failed.
        Failed => "failed",
        /// A job that is canceling.
        Canceling => "canceling",
        /// A job that is canceled.
        Canceled => "canceled",
        /// A job that is skipped.
        Skipped => "skipped",
        /// A job that is manual.
        Manual => "manual",
        /// A job that is scheduled.
        Scheduled => "scheduled",
    }
}

/// Which pipelines `Project.pipelines` lists besides its status filter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineScopeEnum {
    /// Pipeline is running.
    Running,
    /// Pipeline has not started running yet.
    Pending,
    /// Pipeline has completed.
    Finished,
    /// Branches.
    Branches,
    /// Tags.
    Tags,
}

/// A `CiPipelineID`: `gid://gitlab/Ci::Pipeline/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiPipelineId(pub i64);

/// A `CiPipelineID` is a global ID. It is encoded as a string, for example
/// "gid://gitlab/Ci::Pipeline/1".
#[Scalar(name = "CiPipelineID")]
impl ScalarType for CiPipelineId {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_gid("Ci::Pipeline", s)
                .map(CiPipelineId)
                .ok_or_else(|| {
                    InputValueError::custom(format!(
                        "\"{s}\" does not represent an instance of Ci::Pipeline"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(gid("Ci::Pipeline", self.0).0)
    }
}

/// A pipeline of a project.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Pipeline {
    /// ID of the pipeline (`gid://gitlab/Ci::Pipeline/1`).
    pub id: ID,
    /// Internal ID of the pipeline, unique within its project.
    pub iid: String,
    /// SHA of the pipeline's commit.
    pub sha: Option<String>,
    /// SHA of the commit before the pipeline's (all zeros when there is none).
    pub before_sha: Option<String>,
    /// Reference to the branch or tag the pipeline runs for.
    #[graphql(name = "ref")]
    pub ref_name: Option<String>,
    /// Whether the pipeline runs for a tag.
    pub tag: bool,
    /// Status of the pipeline.
    pub status: PipelineStatusEnum,
    /// How the pipeline was started (`push`, `web`, `api`, `merge_request_event`, …).
    pub source: Option<String>,
    /// Whether the pipeline's CI file has errors.
    pub yaml_errors: bool,
    /// The errors of the pipeline's CI file.
    pub yaml_error_messages: Option<String>,
    /// Timestamp of the pipeline's creation.
    pub created_at: Time,
    /// Timestamp of the pipeline's last activity.
    pub updated_at: Time,
    /// Timestamp when the pipeline was started.
    pub started_at: Option<Time>,
    /// Timestamp of the pipeline's completion.
    pub finished_at: Option<Time>,
    /// Duration of the pipeline in seconds.
    pub duration: Option<i32>,
    /// Relative path to the pipeline's page.
    pub path: Option<String>,
    /// Pipeline user.
    pub user: Option<User>,
    #[graphql(skip)]
    pub row: PipelineRow,
    #[graphql(skip)]
    pub project_path: String,
}

impl Pipeline {
    fn new(row: PipelineRow, project_path: &str, user: Option<User>) -> Pipeline {
        Pipeline {
            id: gid("Ci::Pipeline", row.id),
            iid: row.iid.to_string(),
            sha: Some(row.sha.clone()),
            before_sha: Some(row.before_sha.clone()),
            ref_name: Some(row.ref_name.clone()),
            tag: row.tag,
            status: PipelineStatusEnum::of(&row.status),
            source: Some(row.source.clone()),
            yaml_errors: row.yaml_errors.is_some(),
            yaml_error_messages: row.yaml_errors.clone(),
            created_at: Time(row.created_at),
            updated_at: Time(row.updated_at),
            started_at: row.started_at.map(Time),
            finished_at: row.finished_at.map(Time),
            duration: row.duration_seconds().map(|d| d as i32),
            path: Some(format!("/{project_path}/-/pipelines/{}", row.id)),
            user,
            project_path: project_path.to_string(),
            row,
        }
    }

    /// Pipelines of one project with their users (each loaded once).
    fn with_users(
        c: &mut DbConnection,
        rows: Vec<PipelineRow>,
        project_path: &str,
        base: &str,
    ) -> Result<Vec<Pipeline>, StoreError> {
        let mut seen: HashMap<i64, Option<User>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let user = match row.user_id {
                Some(id) => match seen.entry(id) {
                    Entry::Occupied(hit) => hit.get().clone(),
                    Entry::Vacant(slot) => slot
                        .insert(users::find(c, id)?.map(|u| User::from_row(&u, base)))
                        .clone(),
                },
                None => None,
            };
            out.push(Pipeline::new(row, project_path, user));
        }
        Ok(out)
    }

    /// The pipeline with this id and its project's full path; None when there is none.
    fn find(c: &mut DbConnection, id: i64, base: &str) -> Result<Option<Pipeline>, StoreError> {
        let Some(row) = pipelines::find(c, id)? else {
            return Ok(None);
        };
        let Some(project) = projects::find(c, row.project_id)? else {
            return Ok(None);
        };
        Ok(Pipeline::with_users(c, vec![row], &project.full_path, base)?.pop())
    }
}

#[ComplexObject]
impl Pipeline {
    /// Jobs of the pipeline, by id (part of reading the pipeline). `retried: false` leaves out
    /// jobs that were retried, `true` lists only those; absent lists all.
    // GraphQL arguments (filters, `first`/`after`/`last`/`before`) are parameters.
    #[allow(clippy::too_many_arguments)]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filter jobs by status.")] statuses: Option<Vec<CiJobStatus>>,
        #[graphql(desc = "Filter jobs by retry-status.")] retried: Option<bool>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Option<List<CiJob>>> {
        let scope = RequestScope::of(ctx)?;
        let id = self.row.id;
        let rows = scope.run(move |c| jobs::for_pipeline(c, id, true)).await?;
        let wanted: Option<Vec<&str>> = statuses.map(|s| s.iter().map(|x| x.as_str()).collect());
        let items = rows
            .into_iter()
            .filter(|j| retried.is_none_or(|r| j.retried == r))
            .filter(|j| {
                wanted
                    .as_ref()
                    .is_none_or(|w| w.contains(&j.status.as_str()))
            })
            .map(|j| (j.id, CiJob::new(&j, &self.project_path)))
            .collect();
        page(items, &PageArgs::new(after, before, first, last)).map(Some)
    }
}

/// A stage of a pipeline.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "CiStage")]
pub struct CiStage {
    /// Name of the stage.
    pub name: Option<String>,
}

/// A job of a pipeline.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "CiJob")]
pub struct CiJob {
    /// ID of the job (`gid://gitlab/Ci::Build/1`).
    pub id: ID,
    /// Name of the job.
    pub name: Option<String>,
    /// Status of the job.
    pub status: Option<CiJobStatus>,
    /// Stage of the job.
    pub stage: Option<CiStage>,
    /// Whether the job is allowed to fail.
    pub allow_failure: bool,
    /// Whether the job runs only when played (`when: manual`).
    pub manual_job: Option<bool>,
    /// Whether the job was retried (a newer job replaced it).
    pub retried: Option<bool>,
    /// Runner tags the job asks for.
    pub tags: Option<Vec<String>>,
    /// When the job was created.
    pub created_at: Time,
    /// When the job was queued.
    pub queued_at: Option<Time>,
    /// When the job was started.
    pub started_at: Option<Time>,
    /// When the job finished.
    pub finished_at: Option<Time>,
    /// When the job's log and artifacts were erased.
    pub erased_at: Option<Time>,
    /// Duration of the job in seconds.
    pub duration: Option<i32>,
    /// Why the job failed (only for failed jobs).
    pub failure_message: Option<String>,
    /// Web path of the job.
    pub web_path: Option<String>,
}

impl CiJob {
    fn new(j: &JobRow, project_path: &str) -> CiJob {
        CiJob {
            id: gid("Ci::Build", j.id),
            name: Some(j.name.clone()),
            status: Some(CiJobStatus::of(&j.status)),
            stage: Some(CiStage {
                name: Some(j.stage.clone()),
            }),
            allow_failure: j.allow_failure,
            manual_job: Some(j.when_condition == "manual"),
            retried: Some(j.retried),
            tags: Some(j.tags()),
            created_at: Time(j.created_at),
            queued_at: j.queued_at.map(Time),
            started_at: j.started_at.map(Time),
            finished_at: j.finished_at.map(Time),
            erased_at: j.erased_at.map(Time),
            duration: j.duration_seconds().map(|d| d as i32),
            failure_message: j.failure_reason.clone().filter(|_| j.status == "failed"),
            web_path: Some(format!("/{project_path}/-/jobs/{}", j.id)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Project fields

/// The filters of `Project.pipelines`.
#[derive(Debug, Clone, Default)]
pub struct PipelineArgs {
    pub status: Option<PipelineStatusEnum>,
    pub scope: Option<PipelineScopeEnum>,
    pub ref_name: Option<String>,
    pub sha: Option<String>,
    pub source: Option<String>,
    pub username: Option<String>,
    pub updated_after: Option<Time>,
    pub updated_before: Option<Time>,
}

/// A status no pipeline has: filters that contradict each other match nothing.
const NO_STATUS: &str = "-";

impl PipelineArgs {
    fn filter(&self) -> PipelineFilter {
        let mut filter = PipelineFilter::default();
        let scoped: Option<Vec<&str>> = match self.scope {
            None => None,
            Some(PipelineScopeEnum::Running) => Some(vec!["running"]),
            Some(PipelineScopeEnum::Pending) => Some(vec!["pending"]),
            Some(PipelineScopeEnum::Finished) => {
                Some(vec!["success", "failed", "canceled", "skipped"])
            }
            Some(PipelineScopeEnum::Branches) => {
                filter.tag = Some(false);
                None
            }
            Some(PipelineScopeEnum::Tags) => {
                filter.tag = Some(true);
                None
            }
        };
        let status = self.status.map(|s| s.as_str());
        filter.statuses = match (scoped, status) {
            (None, None) => Vec::new(),
            (Some(list), None) => list.into_iter().map(str::to_string).collect(),
            (None, Some(s)) => vec![s.to_string()],
            (Some(list), Some(s)) if list.contains(&s) => vec![s.to_string()],
            (Some(_), Some(_)) => vec![NO_STATUS.to_string()],
        };
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        filter.ref_name = given(&self.ref_name);
        filter.sha = given(&self.sha);
        filter.source = given(&self.source);
        filter.updated_after = self.updated_after.map(|t| t.0);
        filter.updated_before = self.updated_before.map(|t| t.0);
        filter
    }
}

/// A project's pipelines, newest first (GitLab's order), paged by id with GitLab's cursors.
pub async fn project_pipelines(
    scope: &RequestScope,
    project_id: i64,
    project_path: &str,
    args: PipelineArgs,
    paging: PageArgs,
) -> Result<List<Pipeline>> {
    let mut filter = args.filter();
    let username = args.username.filter(|u| !u.is_empty());
    let (path, base) = (project_path.to_string(), scope.external_url.clone());
    let found = scope
        .run(move |c| {
            if let Some(name) = username {
                filter.user_id = Some(users::find_by_username(c, &name)?.map_or(-1, |u| u.id));
            }
            let (rows, _) = pipelines::list(c, project_id, &filter, 0, i64::MAX)?;
            Pipeline::with_users(c, rows, &path, &base)
        })
        .await?;
    newest_first(found.into_iter().map(|p| (p.row.id, p)).collect(), &paging)
}

/// One pipeline of a project by iid, id or commit (the newest for that commit).
pub async fn project_pipeline(
    scope: &RequestScope,
    project_id: i64,
    project_path: &str,
    iid: Option<ID>,
    id: Option<CiPipelineId>,
    sha: Option<String>,
) -> Result<Option<Pipeline>> {
    let (path, base) = (project_path.to_string(), scope.external_url.clone());
    scope
        .run(move |c| {
            let row = if let Some(iid) = iid {
                match iid.trim().parse::<i64>() {
                    Ok(n) => pipelines::find_by_iid(c, project_id, n)?,
                    Err(_) => None,
                }
            } else if let Some(id) = id {
                pipelines::find_in_project(c, project_id, id.0)?
            } else if let Some(sha) = sha.filter(|s| !s.is_empty()) {
                pipelines::latest_for_sha(c, project_id, &sha)?
            } else {
                None
            };
            match row {
                Some(row) => Ok(Pipeline::with_users(c, vec![row], &path, &base)?.pop()),
                None => Ok(None),
            }
        })
        .await
}

/// One page of `items` by descending id: `after` continues towards older ones.
fn newest_first<T: async_graphql::OutputType>(
    mut items: Vec<(i64, T)>,
    args: &PageArgs,
) -> Result<List<T>> {
    let size = |n: Option<i32>, name: &str| -> Result<Option<usize>> {
        match n {
            Some(n) if n < 0 => Err(crate::error::with_code(
                format!("`{name}` must not be negative"),
                "invalid_argument",
            )),
            Some(n) => Ok(Some((n as usize).min(MAX_PAGE_SIZE))),
            None => Ok(None),
        }
    };
    let (first, last) = (size(args.first, "first")?, size(args.last, "last")?);
    let cursor = |c: &Option<String>| -> Result<Option<i64>> {
        c.as_deref()
            .map(|s| {
                IdCursor::decode_cursor(s)
                    .map(|c| c.0)
                    .map_err(|e| crate::error::with_code(e, "invalid_argument"))
            })
            .transpose()
    };
    let (after, before) = (cursor(&args.after)?, cursor(&args.before)?);
    items.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let count = items.len() as i64;
    let mut has_previous = after.is_some_and(|a| items.iter().any(|(id, _)| *id >= a));
    let mut has_next = before.is_some_and(|b| items.iter().any(|(id, _)| *id <= b));
    items.retain(|(id, _)| after.is_none_or(|a| *id < a) && before.is_none_or(|b| *id > b));
    let first = match (first, last) {
        (None, None) => Some(MAX_PAGE_SIZE),
        (f, _) => f,
    };
    if let Some(n) = first
        && items.len() > n
    {
        items.truncate(n);
        has_next = true;
    }
    if let Some(n) = last
        && items.len() > n
    {
        items.drain(..items.len() - n);
        has_previous = true;
    }
    let mut connection =
        Connection::with_additional_fields(has_previous, has_next, ListCount { count });
    connection.edges.extend(
        items
            .into_iter()
            .map(|(id, node)| Edge::new(IdCursor(id), node)),
    );
    Ok(connection)
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// The type of a CI/CD variable.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiVariableType {
    /// Env var type.
    EnvVar,
    /// File type.
    File,
}

/// A variable given to a new pipeline.
#[derive(InputObject, Debug, Clone)]
pub struct CiVariableInput {
    /// Name of the variable.
    pub key: String,
    /// Value of the variable.
    pub value: String,
    /// Type of the variable (default: ENV_VAR).
    pub variable_type: Option<CiVariableType>,
}

/// Input of `pipelineCreate`.
#[derive(InputObject)]
pub struct PipelineCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Full path of the project that is triggering the pipeline.
    pub project_path: ID,
    /// Ref on which to run the pipeline.
    #[graphql(name = "ref")]
    pub ref_name: String,
    /// Variables for the pipeline.
    pub variables: Option<Vec<CiVariableInput>>,
}

/// Payload of `pipelineCreate`.
#[derive(SimpleObject)]
pub struct PipelineCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new pipeline; null when there are errors.
    pub pipeline: Option<Pipeline>,
}

/// Input of `pipelineCancel`.
#[derive(InputObject)]
pub struct PipelineCancelInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// ID of the pipeline to mutate.
    pub id: CiPipelineId,
}

/// Payload of `pipelineCancel`.
#[derive(SimpleObject)]
pub struct PipelineCancelPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The pipeline after the cancellation.
    pub pipeline: Option<Pipeline>,
}

/// Input of `pipelineRetry`.
#[derive(InputObject)]
pub struct PipelineRetryInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// ID of the pipeline to mutate.
    pub id: CiPipelineId,
}

/// Payload of `pipelineRetry`.
#[derive(SimpleObject)]
pub struct PipelineRetryPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The pipeline after the mutation.
    pub pipeline: Option<Pipeline>,
}

/// Input of `pipelineDestroy`.
#[derive(InputObject)]
pub struct PipelineDestroyInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// ID of the pipeline to mutate.
    pub id: CiPipelineId,
}

/// Payload of `pipelineDestroy`.
#[derive(SimpleObject)]
pub struct PipelineDestroyPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
}

fn not_available() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "not_visible")
}

fn unauthenticated() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "unauthenticated")
}

/// Rings the job queue (when the server shares one with this request) after jobs became
/// pending.
fn ring(ctx: &Context<'_>, released: bool) {
    if released && let Some(queue) = ctx.data_opt::<Arc<JobQueue>>() {
        queue.bump();
    }
}

/// An engine refusal as the payload's `errors`; a storage failure stays an error.
fn refusal(e: CiError) -> Result<String, StoreError> {
    match e {
        CiError::Store(s) => Err(s),
        other => Ok(other.to_string()),
    }
}

/// Runs a pipeline for a ref of the project the guard judged.
pub async fn create(
    ctx: &Context<'_>,
    input: PipelineCreateInput,
) -> Result<PipelineCreatePayload> {
    let scope = RequestScope::of(ctx)?;
    let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
    let project = scope
        .project(&input.project_path)
        .await?
        .ok_or_else(not_available)?;
    let source = if caller.kind == TokenKind::Session {
        PipelineSource::Web
    } else {
        PipelineSource::Api
    };
    let mut request = PipelineRequest::new(project.row.id, &input.ref_name, source, caller.user_id);
    request.variables = input
        .variables
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let kind = match v.variable_type {
                Some(CiVariableType::File) => "file",
                _ => "env_var",
            };
            (v.key, v.value, kind.to_string())
        })
        .collect();
    let repos = scope.repositories.clone();
    let (path, base) = (project.row.full_path.clone(), scope.external_url.clone());
    let outcome = scope
        .run(move |c| match create_pipeline(c, &repos, &request) {
            Ok(Created::Filtered) => Ok(Err(FILTERED.to_string())),
            Ok(Created::Pipeline(row)) => match row.yaml_errors.clone() {
                Some(errors) => Ok(Err(errors)),
                None => Ok(Ok(Pipeline::with_users(c, vec![row], &path, &base)?.pop())),
            },
            Err(e) => refusal(e).map(Err),
        })
        .await?;
    Ok(match outcome {
        Ok(pipeline) => {
            if let Some(p) = &pipeline {
                tracing::info!(
                    project.id = p.row.project_id,
                    pipeline.id = p.row.id,
                    "pipeline created"
                );
            }
            ring(ctx, true);
            PipelineCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors: Vec::new(),
                pipeline,
            }
        }
        Err(message) => PipelineCreatePayload {
            client_mutation_id: input.client_mutation_id,
            errors: vec![message],
            pipeline: None,
        },
    })
}

/// Cancels the pipeline whose project the guard judged (its unfinished jobs).
pub async fn cancel(
    ctx: &Context<'_>,
    input: PipelineCancelInput,
) -> Result<PipelineCancelPayload> {
    let (errors, pipeline) = change(ctx, input.id, false).await?;
    Ok(PipelineCancelPayload {
        client_mutation_id: input.client_mutation_id,
        errors,
        pipeline,
    })
}

/// Retries the pipeline whose project the guard judged (its failed and canceled jobs).
pub async fn retry(ctx: &Context<'_>, input: PipelineRetryInput) -> Result<PipelineRetryPayload> {
    let (errors, pipeline) = change(ctx, input.id, true).await?;
    Ok(PipelineRetryPayload {
        client_mutation_id: input.client_mutation_id,
        errors,
        pipeline,
    })
}

/// Cancels or retries a pipeline: the payload's errors and the pipeline afterwards.
async fn change(
    ctx: &Context<'_>,
    id: CiPipelineId,
    retry: bool,
) -> Result<(Vec<String>, Option<Pipeline>)> {
    let scope = RequestScope::of(ctx)?;
    let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
    let (id, base) = (id.0, scope.external_url.clone());
    let outcome = scope
        .run(move |c| {
            if pipelines::find(c, id)?.is_none() {
                return Ok(None);
            }
            let result: Result<Settled, CiError> = if retry {
                progress::retry_pipeline(c, id, caller.user_id)
            } else {
                progress::cancel_pipeline(c, id)
            };
            let outcome = match result {
                Ok(settled) => Ok(settled.released),
                Err(e) => Err(refusal(e)?),
            };
            Ok(Some((outcome, Pipeline::find(c, id, &base)?)))
        })
        .await?
        .ok_or_else(not_available)?;
    let (result, pipeline) = outcome;
    let errors = match result {
        Ok(released) => {
            ring(ctx, released);
            Vec::new()
        }
        Err(message) => vec![message],
    };
    Ok((errors, pipeline))
}

/// Deletes the pipeline whose project the guard judged, with its jobs, logs and artifact rows
/// (artifact blobs are left to the blob store's collection).
pub async fn destroy(
    ctx: &Context<'_>,
    input: PipelineDestroyInput,
) -> Result<PipelineDestroyPayload> {
    let scope = RequestScope::of(ctx)?;
    let id = input.id.0;
    let deleted = scope
        .run(move |c| {
            let Some(row) = pipelines::find(c, id)? else {
                return Ok(None);
            };
            pipelines::delete(c, row.id)?;
            Ok(Some(row))
        })
        .await?
        .ok_or_else(not_available)?;
    tracing::info!(
        project.id = deleted.project_id,
        pipeline.id = deleted.id,
        "pipeline deleted"
    );
    Ok(PipelineDestroyPayload {
        client_mutation_id: input.client_mutation_id,
        errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_statuses_and_order() {
        assert_eq!(
            <CiPipelineId as ScalarType>::parse(Value::String(
                "gid://gitlab/Ci::Pipeline/7".into()
            ))
            .unwrap(),
            CiPipelineId(7)
        );
        assert!(
            <CiPipelineId as ScalarType>::parse(Value::String("gid://gitlab/Ci::Build/7".into()))
                .is_err()
        );
        assert_eq!(
            PipelineStatusEnum::of("canceling"),
            PipelineStatusEnum::Canceling
        );
        assert_eq!(CiJobStatus::Manual.as_str(), "manual");
        let items = (1..=5).map(|i| (i as i64, i)).collect::<Vec<_>>();
        let p = newest_first(items.clone(), &PageArgs::new(None, None, Some(2), None)).unwrap();
        assert_eq!(
            p.edges.iter().map(|e| e.node).collect::<Vec<_>>(),
            vec![5, 4]
        );
        assert!(p.has_next_page);
        let after = Some(IdCursor(4).encode_cursor());
        let p = newest_first(items, &PageArgs::new(after, None, Some(10), None)).unwrap();
        assert_eq!(
            p.edges.iter().map(|e| e.node).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        assert!(p.has_previous_page && !p.has_next_page);
    }
}
