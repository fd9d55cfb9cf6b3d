//! Jobs: the rows the pipeline engine plans and moves through its states, GitLab's job lists,
//! the atomic hand-out of a pending job to one runner, and the job token (its digest exists only
//! while the job runs).

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{ci_jobs, ci_pipelines};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ci_jobs)]
pub struct JobRow {
    pub id: i64,
    pub pipeline_id: i64,
    pub project_id: i64,
    pub name: String,
    pub stage: String,
    pub stage_idx: i32,
    pub status: String,
    pub when_condition: String,
    pub allow_failure: bool,
    /// The planned job as JSON (`tinforge_ci::PlannedJob`).
    pub spec: String,
    /// The job token's grants, `resource:action` separated by commas.
    pub permissions: String,
    /// Runner tags the job asks for, separated by commas.
    pub tag_list: String,
    pub user_id: Option<i64>,
    pub runner_id: Option<i64>,
    pub token_digest: Option<String>,
    pub failure_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub retried: bool,
    pub trace_size: i64,
    /// Written by the server in front of the runner's log (the job token's permissions).
    pub trace_preamble: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub queued_at: Option<NaiveDateTime>,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
}

impl JobRow {
    pub fn tags(&self) -> Vec<String> {
        split_list(&self.tag_list)
    }

    pub fn permission_names(&self) -> Vec<String> {
        split_list(&self.permissions)
    }

    /// Seconds between start and finish, when both are known.
    pub fn duration_seconds(&self) -> Option<f64> {
        Some((self.finished_at? - self.started_at?).num_milliseconds() as f64 / 1000.0)
    }

    /// Seconds the job waited between being queued and being started.
    pub fn queued_seconds(&self) -> Option<f64> {
        Some((self.started_at? - self.queued_at?).num_milliseconds() as f64 / 1000.0)
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A job to insert, as planned.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub pipeline_id: i64,
    pub project_id: i64,
    pub name: String,
    pub stage: String,
    pub stage_idx: i32,
    pub status: String,
    pub when_condition: String,
    pub allow_failure: bool,
    pub spec: String,
    pub permissions: String,
    pub tag_list: String,
    pub user_id: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, job: &NewJob) -> Result<JobRow, StoreError> {
    let now = crate::now();
    let id: i64 = diesel::insert_into(ci_jobs::table)
        .values((
            ci_jobs::pipeline_id.eq(job.pipeline_id),
            ci_jobs::project_id.eq(job.project_id),
            ci_jobs::name.eq(&job.name),
            ci_jobs::stage.eq(&job.stage),
            ci_jobs::stage_idx.eq(job.stage_idx),
            ci_jobs::status.eq(&job.status),
            ci_jobs::when_condition.eq(&job.when_condition),
            ci_jobs::allow_failure.eq(job.allow_failure),
            ci_jobs::spec.eq(&job.spec),
            ci_jobs::permissions.eq(&job.permissions),
            ci_jobs::tag_list.eq(&job.tag_list),
            ci_jobs::user_id.eq(job.user_id),
            ci_jobs::created_at.eq(now),
            ci_jobs::updated_at.eq(now),
        ))
        .returning(ci_jobs::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// A job of a project by id (None when it belongs to another project).
pub fn find_in_project(
    conn: &mut DbConnection,
    project_id: i64,
    id: i64,
) -> Result<Option<JobRow>, StoreError> {
    Ok(find(conn, id)?.filter(|j| j.project_id == project_id))
}

/// The running job whose token has this digest.
pub fn find_by_token_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .filter(ci_jobs::token_digest.eq(digest))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The jobs of a pipeline in stage order (retried ones only when asked for).
pub fn for_pipeline(
    conn: &mut DbConnection,
    pipeline_id: i64,
    include_retried: bool,
) -> Result<Vec<JobRow>, StoreError> {
    let mut q = ci_jobs::table
        .filter(ci_jobs::pipeline_id.eq(pipeline_id))
        .into_boxed();
    if !include_retried {
        q = q.filter(ci_jobs::retried.eq(false));
    }
    Ok(q.order((ci_jobs::stage_idx.asc(), ci_jobs::id.asc()))
        .select(JobRow::as_select())
        .load(conn)?)
}

/// The current jobs of several pipelines (lists embed them), by pipeline then stage.
pub fn for_pipelines(
    conn: &mut DbConnection,
    pipeline_ids: &[i64],
) -> Result<Vec<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .filter(ci_jobs::pipeline_id.eq_any(pipeline_ids))
        .filter(ci_jobs::retried.eq(false))
        .order((
            ci_jobs::pipeline_id.asc(),
            ci_jobs::stage_idx.asc(),
            ci_jobs::id.asc(),
        ))
        .select(JobRow::as_select())
        .load(conn)?)
}

/// One page of a project's jobs, newest first, optionally limited to statuses; with the total.
pub fn for_project(
    conn: &mut DbConnection,
    project_id: i64,
    statuses: &[String],
    offset: i64,
    limit: i64,
) -> Result<(Vec<JobRow>, i64), StoreError> {
    let query = || {
        let mut q = ci_jobs::table
            .filter(ci_jobs::project_id.eq(project_id))
            .into_boxed();
        if !statuses.is_empty() {
            q = q.filter(ci_jobs::status.eq_any(statuses.to_vec()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(ci_jobs::id.desc())
        .offset(offset)
        .limit(limit)
        .select(JobRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The newest successful job named `name` on `ref_name` (artifacts by ref).
pub fn latest_successful_by_name(
    conn: &mut DbConnection,
    project_id: i64,
    ref_name: &str,
    name: &str,
) -> Result<Option<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .inner_join(ci_pipelines::table)
        .filter(ci_jobs::project_id.eq(project_id))
        .filter(ci_pipelines::ref_name.eq(ref_name))
        .filter(ci_jobs::name.eq(name))
        .filter(ci_jobs::status.eq("success"))
        .order(ci_jobs::id.desc())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The oldest pending jobs (what runners are offered), at most `limit`.
pub fn pending(conn: &mut DbConnection, limit: i64) -> Result<Vec<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .filter(ci_jobs::status.eq("pending"))
        .order(ci_jobs::id.asc())
        .limit(limit)
        .select(JobRow::as_select())
        .load(conn)?)
}

/// The highest pending job id (a cheap change marker for runners' `last_update`).
pub fn pending_marker(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let n: Option<i64> = ci_jobs::table
        .filter(ci_jobs::status.eq("pending"))
        .select(diesel::dsl::max(ci_jobs::id))
        .first(conn)?;
    Ok(n.unwrap_or(0))
}

/// Hands a pending job to a runner: only one caller can win (the update is conditional on the
/// job still being pending). Sets the token digest; returns false when someone else won.
pub fn claim(
    conn: &mut DbConnection,
    job_id: i64,
    runner_id: i64,
    token_digest: &str,
    preamble: &str,
) -> Result<bool, StoreError> {
    let now = crate::now();
    let n = diesel::update(
        ci_jobs::table
            .filter(ci_jobs::id.eq(job_id))
            .filter(ci_jobs::status.eq("pending")),
    )
    .set((
        ci_jobs::status.eq("running"),
        ci_jobs::runner_id.eq(runner_id),
        ci_jobs::token_digest.eq(token_digest),
        ci_jobs::trace_preamble.eq(preamble),
        ci_jobs::started_at.eq(now),
        ci_jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves a job to `status`. Entering `pending` stamps `queued_at`; a finished status stamps
/// `finished_at` and drops the job token, so it dies with the job.
pub fn set_status(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    finished: bool,
) -> Result<(), StoreError> {
    let now = crate::now();
    if finished {
        diesel::update(ci_jobs::table.find(id))
            .set((
                ci_jobs::status.eq(status),
                ci_jobs::updated_at.eq(now),
                ci_jobs::finished_at.eq(now),
                ci_jobs::token_digest.eq(None::<String>),
            ))
            .execute(conn)?;
    } else if status == "pending" {
        diesel::update(ci_jobs::table.find(id))
            .set((
                ci_jobs::status.eq(status),
                ci_jobs::updated_at.eq(now),
                ci_jobs::queued_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(ci_jobs::table.find(id))
            .set((ci_jobs::status.eq(status), ci_jobs::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// Records why a job failed (GitLab's `failure_reason`) and the script's exit code.
pub fn set_failure(
    conn: &mut DbConnection,
    id: i64,
    reason: Option<&str>,
    exit_code: Option<i32>,
) -> Result<(), StoreError> {
    diesel::update(ci_jobs::table.find(id))
        .set((
            ci_jobs::failure_reason.eq(reason),
            ci_jobs::exit_code.eq(exit_code),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks a job as superseded by its retry.
pub fn mark_retried(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(ci_jobs::table.find(id))
        .set(ci_jobs::retried.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Erases a job's log (and, by the caller, its artifacts): GitLab's `erase`.
pub fn erase(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    use crate::schema::ci_job_trace_chunks;
    diesel::delete(ci_job_trace_chunks::table.filter(ci_job_trace_chunks::job_id.eq(id)))
        .execute(conn)?;
    diesel::update(ci_jobs::table.find(id))
        .set((
            ci_jobs::erased_at.eq(crate::now()),
            ci_jobs::trace_size.eq(0),
            ci_jobs::trace_preamble.eq(""),
        ))
        .execute(conn)?;
    Ok(())
}

/// Touches a running job (runner keepalives).
pub fn touch(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(ci_jobs::table.find(id))
        .set(ci_jobs::updated_at.eq(crate::now()))
        .execute(conn)?;
    Ok(())
}

/// Who a job runs as (a manual job takes the user who plays it).
pub fn set_user(conn: &mut DbConnection, id: i64, user_id: i64) -> Result<(), StoreError> {
    diesel::update(ci_jobs::table.find(id))
        .set(ci_jobs::user_id.eq(user_id))
        .execute(conn)?;
    Ok(())
}

/// Running or canceling jobs started before `before` (candidates for a dead runner).
pub fn running_started_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<Vec<JobRow>, StoreError> {
    Ok(ci_jobs::table
        .filter(ci_jobs::status.eq_any(["running", "canceling"]))
        .filter(ci_jobs::started_at.lt(before))
        .select(JobRow::as_select())
        .load(conn)?)
}
