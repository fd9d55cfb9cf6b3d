//! Moving a pipeline along: after every change (a job finished, canceled, retried or played)
//! the pipeline is settled — the state machine releases, skips or holds the jobs that wait, and
//! the pipeline's status is recomputed from its jobs. Each operation is one transaction.

use super::CiError;
use crate::state::{self, JobNode};
use crate::status::{FailureReason, JobStatus, PipelineStatus, When};
use std::str::FromStr;
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::pipelines::{self, PipelineRow};
use tinforge_store::{DbConnection, write_transaction};

/// What settling changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub status: PipelineStatus,
    /// Some job became pending (ring the job queue).
    pub released: bool,
    /// The pipeline reached a finished status with this change.
    pub finished: bool,
}

fn status_of(row: &JobRow) -> JobStatus {
    JobStatus::from_str(&row.status).unwrap_or(JobStatus::Failed)
}

fn node(row: &JobRow) -> JobNode {
    let spec: Option<crate::plan::PlannedJob> = serde_json::from_str(&row.spec).ok();
    JobNode {
        name: row.name.clone(),
        stage_idx: row.stage_idx,
        needs: spec
            .and_then(|s| s.needs)
            .map(|needs| needs.into_iter().map(|n| n.job).collect()),
        when: When::from_str(&row.when_condition).unwrap_or(When::OnSuccess),
        allow_failure: row.allow_failure,
        status: status_of(row),
    }
}

/// Applies the state machine to a pipeline's current jobs and stores the pipeline's status.
pub fn settle_pipeline(conn: &mut DbConnection, pipeline_id: i64) -> Result<Settled, CiError> {
    let before = pipelines::find(conn, pipeline_id)?.ok_or(CiError::NotFound)?;
    let rows = jobs::for_pipeline(conn, pipeline_id, false)?;
    let mut nodes: Vec<JobNode> = rows.iter().map(node).collect();
    let changes = state::settle(&mut nodes);
    let mut released = false;
    for (i, status) in &changes {
        released |= *status == JobStatus::Pending;
        jobs::set_status(conn, rows[*i].id, status.as_str(), status.is_finished())?;
    }
    let status = if rows.is_empty() {
        PipelineStatus::from_str(&before.status).unwrap_or(PipelineStatus::Failed)
    } else {
        state::pipeline_status(&nodes)
    };
    let finished = status.is_finished();
    let active = matches!(
        status,
        PipelineStatus::Pending | PipelineStatus::Running | PipelineStatus::Canceling
    );
    pipelines::set_status(conn, pipeline_id, status.as_str(), active, finished)?;
    let was_finished = PipelineStatus::from_str(&before.status).is_ok_and(|s| s.is_finished());
    Ok(Settled {
        status,
        released,
        finished: finished && !was_finished,
    })
}

/// The runner's final word on a job it holds (`success` or `failed`). A job being canceled
/// ends `canceled` whatever the runner says. The job token dies here.
pub fn finish_job(
    conn: &mut DbConnection,
    job_id: i64,
    succeeded: bool,
    reason: Option<FailureReason>,
    exit_code: Option<i32>,
) -> Result<Settled, CiError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, job_id)?.ok_or(CiError::NotFound)?;
        let status = match status_of(&job) {
            JobStatus::Canceling => JobStatus::Canceled,
            JobStatus::Running if succeeded => JobStatus::Success,
            JobStatus::Running => JobStatus::Failed,
            other => {
                return Err(CiError::NotAllowed(format!(
                    "Job is not running (it is {})",
                    other.as_str()
                )));
            }
        };
        if status == JobStatus::Failed {
            let reason = reason.unwrap_or(FailureReason::UnknownFailure);
            jobs::set_failure(conn, job_id, Some(reason.as_str()), exit_code)?;
        } else if exit_code.is_some() {
            jobs::set_failure(conn, job_id, None, exit_code)?;
        }
        jobs::set_status(conn, job_id, status.as_str(), true)?;
        settle_pipeline(conn, job.pipeline_id)
    })
}

/// Cancels one job: waiting ones at once, a running one through `canceling` (its runner is
/// told on its next trace or state update, kills the script and reports back).
pub fn cancel_job(conn: &mut DbConnection, job_id: i64) -> Result<Settled, CiError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, job_id)?.ok_or(CiError::NotFound)?;
        cancel_row(conn, &job)?;
        settle_pipeline(conn, job.pipeline_id)
    })
}

fn cancel_row(conn: &mut DbConnection, job: &JobRow) -> Result<bool, CiError> {
    match status_of(job) {
        JobStatus::Created | JobStatus::Pending | JobStatus::Manual => {
            jobs::set_status(conn, job.id, JobStatus::Canceled.as_str(), true)?;
            Ok(true)
        }
        JobStatus::Running => {
            jobs::set_status(conn, job.id, JobStatus::Canceling.as_str(), false)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Cancels every job of a pipeline that has not finished.
pub fn cancel_pipeline(conn: &mut DbConnection, pipeline_id: i64) -> Result<Settled, CiError> {
    write_transaction(conn, |conn| {
        for job in jobs::for_pipeline(conn, pipeline_id, false)? {
            cancel_row(conn, &job)?;
        }
        settle_pipeline(conn, pipeline_id)
    })
}

/// A fresh copy of `job` in `created`, the old one kept as retried.
fn clone_for_retry(conn: &mut DbConnection, job: &JobRow, user_id: i64) -> Result<JobRow, CiError> {
    jobs::mark_retried(conn, job.id)?;
    Ok(jobs::insert(
        conn,
        &jobs::NewJob {
            pipeline_id: job.pipeline_id,
            project_id: job.project_id,
            name: job.name.clone(),
            stage: job.stage.clone(),
            stage_idx: job.stage_idx,
            status: JobStatus::Created.as_str().to_string(),
            when_condition: job.when_condition.clone(),
            allow_failure: job.allow_failure,
            spec: job.spec.clone(),
            permissions: job.permissions.clone(),
            tag_list: job.tag_list.clone(),
            user_id: Some(user_id),
        },
    )?)
}

fn retryable(status: JobStatus) -> bool {
    matches!(
        status,
        JobStatus::Failed | JobStatus::Canceled | JobStatus::Success
    )
}

/// Retries one finished job as `user_id`; jobs it skipped are reset to wait again. Returns the
/// new job.
pub fn retry_job(
    conn: &mut DbConnection,
    job_id: i64,
    user_id: i64,
) -> Result<(JobRow, Settled), CiError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, job_id)?.ok_or(CiError::NotFound)?;
        if job.retried || !retryable(status_of(&job)) {
            return Err(CiError::NotAllowed("Job is not retryable".into()));
        }
        let fresh = clone_for_retry(conn, &job, user_id)?;
        reset_skipped(conn, job.pipeline_id, job.stage_idx, user_id)?;
        let settled = settle_pipeline(conn, job.pipeline_id)?;
        let fresh = jobs::find(conn, fresh.id)?.ok_or(CiError::NotFound)?;
        Ok((fresh, settled))
    })
}

fn reset_skipped(
    conn: &mut DbConnection,
    pipeline_id: i64,
    from_stage: i32,
    user_id: i64,
) -> Result<(), CiError> {
    for later in jobs::for_pipeline(conn, pipeline_id, false)? {
        if later.stage_idx >= from_stage && status_of(&later) == JobStatus::Skipped {
            clone_for_retry(conn, &later, user_id)?;
        }
    }
    Ok(())
}

/// Retries a pipeline: its failed and canceled jobs run again, and what they skipped waits
/// again (GitLab's `retry`).
pub fn retry_pipeline(
    conn: &mut DbConnection,
    pipeline_id: i64,
    user_id: i64,
) -> Result<Settled, CiError> {
    write_transaction(conn, |conn| {
        let current = jobs::for_pipeline(conn, pipeline_id, false)?;
        let mut any = false;
        for job in &current {
            if matches!(
                status_of(job),
                JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped
            ) {
                clone_for_retry(conn, job, user_id)?;
                any = true;
            }
        }
        if !any {
            return Err(CiError::NotAllowed("Pipeline is not retryable".into()));
        }
        settle_pipeline(conn, pipeline_id)
    })
}

/// Starts a manual job as `user_id` (its job token then carries this user's role).
pub fn play_job(
    conn: &mut DbConnection,
    job_id: i64,
    user_id: i64,
) -> Result<(JobRow, Settled), CiError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, job_id)?.ok_or(CiError::NotFound)?;
        if status_of(&job) != JobStatus::Manual {
            return Err(CiError::NotAllowed("Unplayable Job".into()));
        }
        jobs::set_user(conn, job.id, user_id)?;
        jobs::set_status(conn, job.id, JobStatus::Pending.as_str(), false)?;
        let mut settled = settle_pipeline(conn, job.pipeline_id)?;
        settled.released = true;
        Ok((jobs::find(conn, job.id)?.ok_or(CiError::NotFound)?, settled))
    })
}

/// Fails running jobs whose runner has gone quiet for `grace_seconds` or that outlived their
/// timeout by that much (a runner that died), and settles their pipelines. Returns how many.
pub fn fail_stale_jobs(conn: &mut DbConnection, grace_seconds: i64) -> Result<usize, CiError> {
    let now = tinforge_store::now();
    let grace = chrono::Duration::seconds(grace_seconds);
    let stale = jobs::running_started_before(conn, now - grace)?;
    let mut n = 0;
    for job in stale {
        let timeout = serde_json::from_str::<crate::plan::PlannedJob>(&job.spec)
            .ok()
            .and_then(|s| s.timeout_seconds)
            .unwrap_or(3600);
        let started = job.started_at.unwrap_or(job.updated_at);
        if now - started < chrono::Duration::seconds(timeout) + grace
            && now - job.updated_at < grace
        {
            continue;
        }
        write_transaction(conn, |conn| -> Result<(), CiError> {
            jobs::set_failure(
                conn,
                job.id,
                Some(FailureReason::StuckOrTimeoutFailure.as_str()),
                None,
            )?;
            jobs::set_status(conn, job.id, JobStatus::Failed.as_str(), true)?;
            settle_pipeline(conn, job.pipeline_id)?;
            Ok(())
        })?;
        n += 1;
    }
    Ok(n)
}

/// The pipeline of a job (for responses that embed it).
pub fn pipeline_of(conn: &mut DbConnection, job: &JobRow) -> Result<PipelineRow, CiError> {
    pipelines::find(conn, job.pipeline_id)?.ok_or(CiError::NotFound)
}
