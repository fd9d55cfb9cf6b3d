//! Notes (comments) on issues, and the system notes that record state changes. Internal notes are
//! visible to Reporter+ on the project, admins and their author only; the issue itself must be
//! visible to the viewer first (callers fetch it through [`crate::issues::get`]).

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::issues::{self, IssueRow, Viewer};
use crate::schema::{notes, users};
use crate::users::User;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use tinforge_authz::Role;

pub const NOTEABLE_ISSUE: &str = "Issue";

/// The longest note body accepted (GitLab's limit).
pub const MAX_BODY_CHARS: usize = 1_000_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notes)]
pub struct NoteRow {
    pub id: i64,
    pub project_id: i64,
    pub noteable_type: String,
    pub issue_id: Option<i64>,
    pub author_id: i64,
    pub body: String,
    pub system: bool,
    pub internal: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set on notes of a merge request (`noteable_type` MergeRequest).
    pub merge_request_id: Option<i64>,
}

/// A note with its author and the iid of the issue it is on.
#[derive(Debug, Clone)]
pub struct Note {
    pub row: NoteRow,
    pub author: Option<User>,
    pub noteable_iid: i64,
}

/// May `actor` (with `role` on the project) edit or delete the note: its author, Maintainer+, or
/// an admin in admin mode. System notes are never edited or deleted through the API.
pub fn may_modify(note: &NoteRow, actor_id: i64, role: Role, admin: bool) -> bool {
    !note.system && (admin || role >= Role::Maintainer || note.author_id == actor_id)
}

/// Internal notes need Reporter+ to write.
pub fn may_write_internal(role: Role, admin: bool) -> bool {
    admin || role >= Role::Reporter
}

/// A body is required, at most [`MAX_BODY_CHARS`].
pub fn validate_body(body: &str) -> Result<(), StoreError> {
    if body.trim().is_empty() {
        return Err(StoreError::Invalid("body is missing".into()));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(StoreError::Invalid(format!(
            "body is too long (maximum is {MAX_BODY_CHARS} characters)"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOrder {
    CreatedAt,
    UpdatedAt,
}

type NoteQuery = notes::BoxedQuery<'static, crate::connection::MultiBackend>;

/// The notes of `issue` that `viewer` may see.
fn visible(issue: &IssueRow, viewer: &Viewer) -> NoteQuery {
    let q = notes::table
        .filter(notes::issue_id.eq(issue.id))
        .into_boxed();
    if viewer.sees_everything_in(issue.project_id) {
        return q;
    }
    match viewer.user_id {
        Some(u) => q.filter(notes::internal.eq(false).or(notes::author_id.eq(u))),
        None => q.filter(notes::internal.eq(false)),
    }
}

fn with_authors(
    conn: &mut DbConnection,
    issue: &IssueRow,
    rows: Vec<NoteRow>,
) -> Result<Vec<Note>, StoreError> {
    let mut ids: Vec<i64> = rows.iter().map(|n| n.author_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let authors: Vec<User> = users::table
        .filter(users::id.eq_any(&ids))
        .select(User::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| Note {
            author: authors.iter().find(|u| u.id == row.author_id).cloned(),
            noteable_iid: issue.iid,
            row,
        })
        .collect())
}

/// One page of an issue's notes the viewer may see, and how many there are.
pub fn list(
    conn: &mut DbConnection,
    issue: &IssueRow,
    viewer: &Viewer,
    order: NoteOrder,
    desc: bool,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Note>, i64), StoreError> {
    let total = visible(issue, viewer).count().get_result(conn)?;
    let q = visible(issue, viewer);
    let q = match (order, desc) {
        (NoteOrder::CreatedAt, false) => q.order((notes::created_at.asc(), notes::id.asc())),
        (NoteOrder::CreatedAt, true) => q.order((notes::created_at.desc(), notes::id.desc())),
        (NoteOrder::UpdatedAt, false) => q.order((notes::updated_at.asc(), notes::id.asc())),
        (NoteOrder::UpdatedAt, true) => q.order((notes::updated_at.desc(), notes::id.desc())),
    };
    let rows = q
        .offset(offset)
        .limit(limit)
        .select(NoteRow::as_select())
        .load(conn)?;
    Ok((with_authors(conn, issue, rows)?, total))
}

/// A note of the issue, if the viewer may see it.
pub fn get(
    conn: &mut DbConnection,
    issue: &IssueRow,
    note_id: i64,
    viewer: &Viewer,
) -> Result<Option<Note>, StoreError> {
    let row = visible(issue, viewer)
        .filter(notes::id.eq(note_id))
        .select(NoteRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(r) => with_authors(conn, issue, vec![r])?.pop(),
        None => None,
    })
}

fn insert(
    conn: &mut DbConnection,
    issue: &IssueRow,
    author_id: i64,
    body: &str,
    system: bool,
    internal: bool,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(notes::table)
        .values((
            notes::project_id.eq(issue.project_id),
            notes::noteable_type.eq(NOTEABLE_ISSUE),
            notes::issue_id.eq(Some(issue.id)),
            notes::author_id.eq(author_id),
            notes::body.eq(body),
            notes::system.eq(system),
            notes::internal.eq(internal),
            notes::created_at.eq(at),
            notes::updated_at.eq(at),
        ))
        .returning(notes::id)
        .get_result(conn)?)
}

/// Records a state change ("closed", "reopened") on an issue. Call inside the transaction that
/// makes the change.
pub(crate) fn insert_system(
    conn: &mut DbConnection,
    issue: &IssueRow,
    actor_id: i64,
    body: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    insert(conn, issue, actor_id, body, true, false, at)?;
    Ok(())
}

fn fetch(conn: &mut DbConnection, issue: &IssueRow, id: i64) -> Result<Note, StoreError> {
    let row = notes::table
        .find(id)
        .select(NoteRow::as_select())
        .first(conn)?;
    with_authors(conn, issue, vec![row])?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Comments on an issue (and bumps the issue's `updated_at`), in one transaction.
pub fn create(
    conn: &mut DbConnection,
    issue: &IssueRow,
    author_id: i64,
    body: &str,
    internal: bool,
) -> Result<Note, StoreError> {
    validate_body(body)?;
    write_transaction(conn, |conn| {
        let now = crate::now();
        let id = insert(conn, issue, author_id, body, false, internal, now)?;
        issues::touch(conn, issue.id, now)?;
        fetch(conn, issue, id)
    })
}

/// Changes a note's body.
pub fn update_body(
    conn: &mut DbConnection,
    issue: &IssueRow,
    note: &NoteRow,
    body: &str,
) -> Result<Note, StoreError> {
    validate_body(body)?;
    write_transaction(conn, |conn| {
        diesel::update(notes::table.find(note.id))
            .set((notes::body.eq(body), notes::updated_at.eq(crate::now())))
            .execute(conn)?;
        fetch(conn, issue, note.id)
    })
}

pub fn delete(conn: &mut DbConnection, note_id: i64) -> Result<(), StoreError> {
    match diesel::delete(notes::table.find(note_id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Where note `note_id` lives: its project's full path and the iid of its issue (whoever asks;
/// visibility is decided afterwards with [`crate::issues::get`] and [`get`]).
pub fn locate(conn: &mut DbConnection, note_id: i64) -> Result<Option<(String, i64)>, StoreError> {
    use crate::schema::{issues as issues_t, projects};
    Ok(notes::table
        .inner_join(issues_t::table.on(notes::issue_id.eq(issues_t::id.nullable())))
        .inner_join(projects::table.on(projects::id.eq(notes::project_id)))
        .filter(notes::id.eq(note_id))
        .select((projects::full_path, issues_t::iid))
        .first(conn)
        .optional()?)
}
