//! Merge requests: per-project `iid`s from a counter row (never reused, also after a deletion),
//! source and target branch of the same project, the state (opened, closed, merged) and what a
//! merge produced, and approvals. Git objects live in the repository; this is only the record.
//! Closing, reopening and merging leave a system note ("closed", "reopened", "merged") in the
//! same transaction, as GitLab does; comments live in [`crate::notes`].

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::issues::LabelFilter;
use crate::notes;
use crate::schema::{
    labels, merge_request_approvals, merge_request_iid_counters, merge_request_labels,
    merge_requests,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub const OPENED: &str = "opened";
pub const CLOSED: &str = "closed";
pub const MERGED: &str = "merged";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = merge_requests)]
pub struct MergeRequestRow {
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub source_branch: String,
    pub target_branch: String,
    pub author_id: i64,
    pub merge_commit_sha: Option<String>,
    pub merged_by_id: Option<i64>,
    pub closed_by_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub merged_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    /// Merge once the head pipeline succeeds (set by `merge_when_pipeline_succeeds`).
    pub merge_when_pipeline_succeeds: bool,
    /// Who asked for the automatic merge.
    pub merge_user_id: Option<i64>,
}

impl MergeRequestRow {
    /// GitLab's `draft`: the title starts with `Draft:`, `[Draft]` or `(Draft)`.
    pub fn draft(&self) -> bool {
        let t = self.title.trim_start().to_ascii_lowercase();
        t.starts_with("draft:") || t.starts_with("[draft]") || t.starts_with("(draft)")
    }
}

pub struct NewMergeRequest<'a> {
    pub project_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub source_branch: &'a str,
    pub target_branch: &'a str,
    pub author_id: i64,
}

/// A title is required, 255 characters at most.
pub fn validate_title(title: &str) -> Result<String, StoreError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(StoreError::Invalid("title is missing".into()));
    }
    if t.chars().count() > 255 {
        return Err(StoreError::Invalid(
            "title is too long (maximum is 255 characters)".into(),
        ));
    }
    Ok(t.to_string())
}

/// Takes the next iid of the project: bumps the counter row, or creates it (from the highest iid
/// in use) in a savepoint; a concurrent creator of the row only makes us bump it instead.
fn next_iid(conn: &mut DbConnection, project_id: i64) -> Result<i64, StoreError> {
    for _ in 0..3 {
        let bumped: Option<i64> =
            diesel::update(merge_request_iid_counters::table.find(project_id))
                .set(
                    merge_request_iid_counters::last_iid
                        .eq(merge_request_iid_counters::last_iid + 1),
                )
                .returning(merge_request_iid_counters::last_iid)
                .get_result(conn)
                .optional()?;
        if let Some(iid) = bumped {
            return Ok(iid);
        }
        let highest: Option<i64> = merge_requests::table
            .filter(merge_requests::project_id.eq(project_id))
            .select(diesel::dsl::max(merge_requests::iid))
            .first(conn)?;
        let iid = highest.unwrap_or(0) + 1;
        let created = conn.transaction(|c| {
            diesel::insert_into(merge_request_iid_counters::table)
                .values((
                    merge_request_iid_counters::project_id.eq(project_id),
                    merge_request_iid_counters::last_iid.eq(iid),
                ))
                .execute(c)
        });
        match created {
            Ok(_) => return Ok(iid),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict(
        "could not reserve a merge request number".into(),
    ))
}

/// Opens a merge request; an open one for the same source and target is a conflict, as GitLab.
pub fn create(
    conn: &mut DbConnection,
    new: &NewMergeRequest<'_>,
) -> Result<MergeRequestRow, StoreError> {
    let title = validate_title(new.title)?;
    write_transaction(conn, |conn| {
        let existing: Option<i64> = merge_requests::table
            .filter(merge_requests::project_id.eq(new.project_id))
            .filter(merge_requests::source_branch.eq(new.source_branch))
            .filter(merge_requests::target_branch.eq(new.target_branch))
            .filter(merge_requests::state.eq(OPENED))
            .select(merge_requests::iid)
            .first(conn)
            .optional()?;
        if let Some(iid) = existing {
            return Err(StoreError::Conflict(format!(
                "Another open merge request already exists for this source branch: !{iid}"
            )));
        }
        let iid = next_iid(conn, new.project_id)?;
        let now = crate::now();
        let id: i64 = diesel::insert_into(merge_requests::table)
            .values((
                merge_requests::project_id.eq(new.project_id),
                merge_requests::iid.eq(iid),
                merge_requests::title.eq(&title),
                merge_requests::description.eq(new.description),
                merge_requests::state.eq(OPENED),
                merge_requests::source_branch.eq(new.source_branch),
                merge_requests::target_branch.eq(new.target_branch),
                merge_requests::author_id.eq(new.author_id),
                merge_requests::created_at.eq(now),
                merge_requests::updated_at.eq(now),
            ))
            .returning(merge_requests::id)
            .get_result(conn)?;
        find_by_id(conn, id)?.ok_or(StoreError::NotFound)
    })
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> Result<Option<MergeRequestRow>, StoreError> {
    Ok(merge_requests::table
        .find(id)
        .select(MergeRequestRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(
    conn: &mut DbConnection,
    project_id: i64,
    iid: i64,
) -> Result<Option<MergeRequestRow>, StoreError> {
    Ok(merge_requests::table
        .filter(merge_requests::project_id.eq(project_id))
        .filter(merge_requests::iid.eq(iid))
        .select(MergeRequestRow::as_select())
        .first(conn)
        .optional()?)
}

/// What lists filter on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// None: every project.
    pub project_ids: Option<Vec<i64>>,
    /// None: every state.
    pub state: Option<String>,
    pub source_branch: Option<String>,
    pub target_branch: Option<String>,
    pub author_id: Option<i64>,
    /// `labels=`: names that must all be present, `None` or `Any`.
    pub labels: LabelFilter,
}

/// Merge requests matching `filter`, newest first, with the total.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<MergeRequestRow>, i64), StoreError> {
    let query = || {
        let mut q = merge_requests::table.into_boxed();
        if let Some(ids) = &filter.project_ids {
            q = q.filter(merge_requests::project_id.eq_any(ids.clone()));
        }
        if let Some(s) = &filter.state {
            q = q.filter(merge_requests::state.eq(s.clone()));
        }
        if let Some(b) = &filter.source_branch {
            q = q.filter(merge_requests::source_branch.eq(b.clone()));
        }
        if let Some(b) = &filter.target_branch {
            q = q.filter(merge_requests::target_branch.eq(b.clone()));
        }
        if let Some(a) = filter.author_id {
            q = q.filter(merge_requests::author_id.eq(a));
        }
        let labelled =
            || merge_request_labels::table.select(merge_request_labels::merge_request_id);
        match &filter.labels {
            LabelFilter::Ignore => {}
            LabelFilter::NoLabels => q = q.filter(merge_requests::id.ne_all(labelled())),
            LabelFilter::AnyLabel => q = q.filter(merge_requests::id.eq_any(labelled())),
            LabelFilter::All(names) => {
                for name in names {
                    q = q.filter(
                        merge_requests::id.eq_any(
                            merge_request_labels::table
                                .inner_join(labels::table)
                                .filter(labels::name.eq(name.clone()))
                                .select(merge_request_labels::merge_request_id),
                        ),
                    );
                }
            }
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(merge_requests::id.desc())
        .offset(offset)
        .limit(limit)
        .select(MergeRequestRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The projects that have merge requests matching `filter` (its project list ignored).
pub fn project_ids(conn: &mut DbConnection, filter: &Filter) -> Result<Vec<i64>, StoreError> {
    let mut q = merge_requests::table.into_boxed();
    if let Some(s) = &filter.state {
        q = q.filter(merge_requests::state.eq(s.clone()));
    }
    if let Some(a) = filter.author_id {
        q = q.filter(merge_requests::author_id.eq(a));
    }
    Ok(q.select(merge_requests::project_id).distinct().load(conn)?)
}

/// An edit: new title or description, and a state event (close, reopen).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<String>,
    pub target_branch: Option<String>,
    /// Some(true): close; Some(false): reopen.
    pub close: Option<bool>,
}

/// Applies `changes`; a merged request cannot change state.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    actor_id: i64,
    changes: &Changes,
) -> Result<MergeRequestRow, StoreError> {
    let title = changes.title.as_deref().map(validate_title).transpose()?;
    write_transaction(conn, |conn| {
        let row = find_by_id(conn, id)?.ok_or(StoreError::NotFound)?;
        let now = crate::now();
        let mut state = row.state.clone();
        let mut closed_at = row.closed_at;
        let mut closed_by = row.closed_by_id;
        let mut system_note = None;
        match changes.close {
            Some(true) if row.state == OPENED => {
                state = CLOSED.into();
                closed_at = Some(now);
                closed_by = Some(actor_id);
                system_note = Some("closed");
            }
            Some(false) if row.state == CLOSED => {
                state = OPENED.into();
                closed_at = None;
                closed_by = None;
                system_note = Some("reopened");
            }
            _ => {}
        }
        diesel::update(merge_requests::table.find(id))
            .set((
                merge_requests::title.eq(title.unwrap_or(row.title.clone())),
                merge_requests::description.eq(changes
                    .description
                    .clone()
                    .unwrap_or(row.description.clone())),
                merge_requests::target_branch.eq(changes
                    .target_branch
                    .clone()
                    .unwrap_or(row.target_branch.clone())),
                merge_requests::state.eq(state),
                merge_requests::closed_at.eq(closed_at),
                merge_requests::closed_by_id.eq(closed_by),
                merge_requests::updated_at.eq(now),
            ))
            .execute(conn)?;
        if let Some(body) = system_note {
            notes::insert_system(conn, &row, actor_id, body, now)?;
        }
        find_by_id(conn, id)?.ok_or(StoreError::NotFound)
    })
}

/// Records a merge (and its system note), only if the request is still open (false: someone else
/// merged or closed it).
pub fn mark_merged(
    conn: &mut DbConnection,
    id: i64,
    actor_id: i64,
    merge_commit_sha: &str,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let Some(row) = find_by_id(conn, id)?.filter(|r| r.state == OPENED) else {
            return Ok(false);
        };
        let now = crate::now();
        let n = diesel::update(
            merge_requests::table
                .find(id)
                .filter(merge_requests::state.eq(OPENED)),
        )
        .set((
            merge_requests::state.eq(MERGED),
            merge_requests::merge_commit_sha.eq(merge_commit_sha),
            merge_requests::merged_by_id.eq(actor_id),
            merge_requests::merged_at.eq(now),
            merge_requests::updated_at.eq(now),
        ))
        .execute(conn)?;
        if n == 1 {
            notes::insert_system(conn, &row, actor_id, "merged", now)?;
        }
        Ok(n == 1)
    })
}

/// Bumps `updated_at` (a new comment).
pub(crate) fn touch(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(merge_requests::table.find(id))
        .set(merge_requests::updated_at.eq(at))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(merge_requests::table.find(id)).execute(conn)? > 0)
}

/// Approves as `user_id`; approving twice is a conflict (GitLab answers 401 there; we say 409).
pub fn approve(conn: &mut DbConnection, id: i64, user_id: i64) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let already: i64 = merge_request_approvals::table
            .filter(merge_request_approvals::merge_request_id.eq(id))
            .filter(merge_request_approvals::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if already > 0 {
            return Ok(false);
        }
        diesel::insert_into(merge_request_approvals::table)
            .values((
                merge_request_approvals::merge_request_id.eq(id),
                merge_request_approvals::user_id.eq(user_id),
                merge_request_approvals::created_at.eq(crate::now()),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Who approved, oldest first.
pub fn approvers(conn: &mut DbConnection, id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(merge_request_approvals::table
        .filter(merge_request_approvals::merge_request_id.eq(id))
        .order(merge_request_approvals::created_at.asc())
        .select(merge_request_approvals::user_id)
        .load(conn)?)
}

/// The open merge requests whose source is `branch` of the project (their pipelines run on a
/// push to it).
pub fn open_from_branch(
    conn: &mut DbConnection,
    project_id: i64,
    branch: &str,
) -> Result<Vec<MergeRequestRow>, StoreError> {
    Ok(merge_requests::table
        .filter(merge_requests::project_id.eq(project_id))
        .filter(merge_requests::source_branch.eq(branch))
        .filter(merge_requests::state.eq(OPENED))
        .select(MergeRequestRow::as_select())
        .load(conn)?)
}

/// Sets (with the user who asks) or clears "merge when pipeline succeeds".
pub fn set_merge_when_pipeline_succeeds(
    conn: &mut DbConnection,
    id: i64,
    user_id: Option<i64>,
) -> Result<(), StoreError> {
    diesel::update(merge_requests::table.find(id))
        .set((
            merge_requests::merge_when_pipeline_succeeds.eq(user_id.is_some()),
            merge_requests::merge_user_id.eq(user_id),
            merge_requests::updated_at.eq(crate::now()),
        ))
        .execute(conn)?;
    Ok(())
}
