//! Pipelines: creation with a per-project `iid`, look-ups, GitLab's list filters, status
//! updates, deletion, and the variables a pipeline was created with.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{ci_pipeline_iid_counters, ci_pipeline_variables, ci_pipelines};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ci_pipelines)]
pub struct PipelineRow {
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
    pub sha: String,
    pub before_sha: String,
    pub ref_name: String,
    pub tag: bool,
    pub source: String,
    pub status: String,
    pub user_id: Option<i64>,
    pub merge_request_id: Option<i64>,
    pub yaml_errors: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
}

impl PipelineRow {
    /// Seconds between start and finish (GitLab's `duration`), when both are known.
    pub fn duration_seconds(&self) -> Option<i64> {
        Some((self.finished_at? - self.started_at?).num_seconds())
    }
}

/// What a new pipeline is made of.
#[derive(Debug, Clone)]
pub struct NewPipeline {
    pub project_id: i64,
    pub sha: String,
    pub before_sha: String,
    pub ref_name: String,
    pub tag: bool,
    pub source: String,
    pub status: String,
    pub user_id: Option<i64>,
    pub merge_request_id: Option<i64>,
    pub yaml_errors: Option<String>,
    /// `(key, value, variable_type)`.
    pub variables: Vec<(String, String, String)>,
}

/// Inserts a pipeline with the project's next `iid` (call inside the caller's transaction with
/// its jobs, so a pipeline never exists half-made).
pub fn insert(conn: &mut DbConnection, new: &NewPipeline) -> Result<PipelineRow, StoreError> {
    write_transaction(conn, |conn| {
        let iid = next_iid(conn, new.project_id)?;
        let now = crate::now();
        let id: i64 = diesel::insert_into(ci_pipelines::table)
            .values((
                ci_pipelines::project_id.eq(new.project_id),
                ci_pipelines::iid.eq(iid),
                ci_pipelines::sha.eq(&new.sha),
                ci_pipelines::before_sha.eq(&new.before_sha),
                ci_pipelines::ref_name.eq(&new.ref_name),
                ci_pipelines::tag.eq(new.tag),
                ci_pipelines::source.eq(&new.source),
                ci_pipelines::status.eq(&new.status),
                ci_pipelines::user_id.eq(new.user_id),
                ci_pipelines::merge_request_id.eq(new.merge_request_id),
                ci_pipelines::yaml_errors.eq(&new.yaml_errors),
                ci_pipelines::created_at.eq(now),
                ci_pipelines::updated_at.eq(now),
            ))
            .returning(ci_pipelines::id)
            .get_result(conn)?;
        for (key, value, kind) in &new.variables {
            diesel::insert_into(ci_pipeline_variables::table)
                .values((
                    ci_pipeline_variables::pipeline_id.eq(id),
                    ci_pipeline_variables::key.eq(key),
                    ci_pipeline_variables::value.eq(value),
                    ci_pipeline_variables::variable_type.eq(kind),
                ))
                .execute(conn)?;
        }
        find(conn, id)?.ok_or(StoreError::NotFound)
    })
}

fn next_iid(conn: &mut DbConnection, project_id: i64) -> Result<i64, StoreError> {
    let bumped: Option<i64> = diesel::update(ci_pipeline_iid_counters::table.find(project_id))
        .set(ci_pipeline_iid_counters::last_iid.eq(ci_pipeline_iid_counters::last_iid + 1))
        .returning(ci_pipeline_iid_counters::last_iid)
        .get_result(conn)
        .optional()?;
    if let Some(last) = bumped {
        return Ok(last);
    }
    let highest: Option<i64> = ci_pipelines::table
        .filter(ci_pipelines::project_id.eq(project_id))
        .select(diesel::dsl::max(ci_pipelines::iid))
        .first(conn)?;
    let last = highest.unwrap_or(0) + 1;
    // In a savepoint: when a concurrent first pipeline of the project made the counter row,
    // this insert fails alone and the counter is bumped instead.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(ci_pipeline_iid_counters::table)
            .values((
                ci_pipeline_iid_counters::project_id.eq(project_id),
                ci_pipeline_iid_counters::last_iid.eq(last),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(last),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(
            diesel::update(ci_pipeline_iid_counters::table.find(project_id))
                .set(ci_pipeline_iid_counters::last_iid.eq(ci_pipeline_iid_counters::last_iid + 1))
                .returning(ci_pipeline_iid_counters::last_iid)
                .get_result(conn)?,
        ),
        Err(e) => Err(e.into()),
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<PipelineRow>, StoreError> {
    Ok(ci_pipelines::table
        .find(id)
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?)
}

/// A pipeline of a project by id (None when it belongs to another project).
pub fn find_in_project(
    conn: &mut DbConnection,
    project_id: i64,
    id: i64,
) -> Result<Option<PipelineRow>, StoreError> {
    Ok(find(conn, id)?.filter(|p| p.project_id == project_id))
}

pub fn find_by_iid(
    conn: &mut DbConnection,
    project_id: i64,
    iid: i64,
) -> Result<Option<PipelineRow>, StoreError> {
    Ok(ci_pipelines::table
        .filter(ci_pipelines::project_id.eq(project_id))
        .filter(ci_pipelines::iid.eq(iid))
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?)
}

/// The newest pipeline of `ref_name` (GitLab's `pipelines/latest`).
pub fn latest_for_ref(
    conn: &mut DbConnection,
    project_id: i64,
    ref_name: &str,
) -> Result<Option<PipelineRow>, StoreError> {
    Ok(ci_pipelines::table
        .filter(ci_pipelines::project_id.eq(project_id))
        .filter(ci_pipelines::ref_name.eq(ref_name))
        .order(ci_pipelines::id.desc())
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?)
}

/// The newest pipeline for a commit (head pipelines of merge requests, commit `last_pipeline`).
pub fn latest_for_sha(
    conn: &mut DbConnection,
    project_id: i64,
    sha: &str,
) -> Result<Option<PipelineRow>, StoreError> {
    Ok(ci_pipelines::table
        .filter(ci_pipelines::project_id.eq(project_id))
        .filter(ci_pipelines::sha.eq(sha))
        .order(ci_pipelines::id.desc())
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?)
}

/// GitLab's pipeline list filters.
#[derive(Debug, Clone, Default)]
pub struct PipelineFilter {
    pub statuses: Vec<String>,
    pub ref_name: Option<String>,
    pub sha: Option<String>,
    pub source: Option<String>,
    /// `branches` / `tags` (the `scope` values that are not statuses).
    pub tag: Option<bool>,
    pub yaml_errors: Option<bool>,
    pub user_id: Option<i64>,
    pub merge_request_id: Option<i64>,
    pub updated_after: Option<NaiveDateTime>,
    pub updated_before: Option<NaiveDateTime>,
    /// `id`, `status`, `ref`, `updated_at`, `user_id`.
    pub order_by: PipelineOrder,
    pub ascending: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PipelineOrder {
    #[default]
    Id,
    Status,
    Ref,
    UpdatedAt,
    UserId,
}

/// One page of a project's pipelines and the total count.
pub fn list(
    conn: &mut DbConnection,
    project_id: i64,
    filter: &PipelineFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<PipelineRow>, i64), StoreError> {
    let query = || {
        let mut q = ci_pipelines::table
            .filter(ci_pipelines::project_id.eq(project_id))
            .into_boxed();
        if !filter.statuses.is_empty() {
            q = q.filter(ci_pipelines::status.eq_any(filter.statuses.clone()));
        }
        if let Some(r) = &filter.ref_name {
            q = q.filter(ci_pipelines::ref_name.eq(r.clone()));
        }
        if let Some(s) = &filter.sha {
            q = q.filter(ci_pipelines::sha.eq(s.clone()));
        }
        if let Some(s) = &filter.source {
            q = q.filter(ci_pipelines::source.eq(s.clone()));
        }
        if let Some(t) = filter.tag {
            q = q.filter(ci_pipelines::tag.eq(t));
        }
        match filter.yaml_errors {
            Some(true) => q = q.filter(ci_pipelines::yaml_errors.is_not_null()),
            Some(false) => q = q.filter(ci_pipelines::yaml_errors.is_null()),
            None => {}
        }
        if let Some(u) = filter.user_id {
            q = q.filter(ci_pipelines::user_id.eq(u));
        }
        if let Some(m) = filter.merge_request_id {
            q = q.filter(ci_pipelines::merge_request_id.eq(m));
        }
        if let Some(t) = filter.updated_after {
            q = q.filter(ci_pipelines::updated_at.gt(t));
        }
        if let Some(t) = filter.updated_before {
            q = q.filter(ci_pipelines::updated_at.lt(t));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let mut q = query();
    q = match (filter.order_by, filter.ascending) {
        (PipelineOrder::Id, true) => q.order(ci_pipelines::id.asc()),
        (PipelineOrder::Id, false) => q.order(ci_pipelines::id.desc()),
        (PipelineOrder::Status, true) => {
            q.order((ci_pipelines::status.asc(), ci_pipelines::id.asc()))
        }
        (PipelineOrder::Status, false) => {
            q.order((ci_pipelines::status.desc(), ci_pipelines::id.desc()))
        }
        (PipelineOrder::Ref, true) => {
            q.order((ci_pipelines::ref_name.asc(), ci_pipelines::id.asc()))
        }
        (PipelineOrder::Ref, false) => {
            q.order((ci_pipelines::ref_name.desc(), ci_pipelines::id.desc()))
        }
        (PipelineOrder::UpdatedAt, true) => {
            q.order((ci_pipelines::updated_at.asc(), ci_pipelines::id.asc()))
        }
        (PipelineOrder::UpdatedAt, false) => {
            q.order((ci_pipelines::updated_at.desc(), ci_pipelines::id.desc()))
        }
        (PipelineOrder::UserId, true) => {
            q.order((ci_pipelines::user_id.asc(), ci_pipelines::id.asc()))
        }
        (PipelineOrder::UserId, false) => {
            q.order((ci_pipelines::user_id.desc(), ci_pipelines::id.desc()))
        }
    };
    let rows = q
        .offset(offset)
        .limit(limit)
        .select(PipelineRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Sets a pipeline's status with GitLab's timestamps: `started_at` on the first active status,
/// `finished_at` on a finished one (cleared again when a retry makes it active).
pub fn set_status(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    active: bool,
    finished: bool,
) -> Result<(), StoreError> {
    let now = crate::now();
    let current = find(conn, id)?.ok_or(StoreError::NotFound)?;
    let started_at = match current.started_at {
        Some(t) => Some(t),
        None if active || finished => Some(now),
        None => None,
    };
    let finished_at = if finished { Some(now) } else { None };
    if current.status == status && (current.finished_at.is_some() == finished) {
        return Ok(());
    }
    diesel::update(ci_pipelines::table.find(id))
        .set((
            ci_pipelines::status.eq(status),
            ci_pipelines::updated_at.eq(now),
            ci_pipelines::started_at.eq(started_at),
            ci_pipelines::finished_at.eq(finished_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a pipeline with its jobs, logs and artifact rows (the blobs are collected later).
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::delete(ci_pipelines::table.find(id)).execute(conn)?;
    Ok(())
}

/// The variables a pipeline was created with: `(key, value, variable_type)`.
pub fn variables(
    conn: &mut DbConnection,
    pipeline_id: i64,
) -> Result<Vec<(String, String, String)>, StoreError> {
    Ok(ci_pipeline_variables::table
        .filter(ci_pipeline_variables::pipeline_id.eq(pipeline_id))
        .order(ci_pipeline_variables::key.asc())
        .select((
            ci_pipeline_variables::key,
            ci_pipeline_variables::value,
            ci_pipeline_variables::variable_type,
        ))
        .load(conn)?)
}

/// Pipelines of a merge request (its `merge_request_event` pipelines), newest first.
pub fn for_merge_request(
    conn: &mut DbConnection,
    merge_request_id: i64,
) -> Result<Vec<PipelineRow>, StoreError> {
    Ok(ci_pipelines::table
        .filter(ci_pipelines::merge_request_id.eq(merge_request_id))
        .order(ci_pipelines::id.desc())
        .select(PipelineRow::as_select())
        .load(conn)?)
}
