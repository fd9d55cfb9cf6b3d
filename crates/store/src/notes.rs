//! Notes (comments) on issues and merge requests (a [`Noteable`]), and the system notes that
//! record state changes. Internal notes are visible to Reporter+ on the project, admins and their
//! author only; the issue or merge request itself must be visible to the viewer first (callers
//! fetch an issue through [`crate::issues::get`], a merge request behind the gate's
//! `merge_request:read`).

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::issues::{self, IssueRow, Viewer};
use crate::merge_requests::{self, MergeRequestRow};
use crate::schema::{notes, users};
use crate::users::User;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use tinforge_authz::Role;

pub const NOTEABLE_ISSUE: &str = "Issue";
pub const NOTEABLE_MERGE_REQUEST: &str = "MergeRequest";

/// What a note is on: an issue or a merge request of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteableKind {
    Issue,
    MergeRequest,
}

/// The thing notes hang off, as much of it as notes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noteable {
    pub kind: NoteableKind,
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
}

impl Noteable {
    /// GitLab's `noteable_type`.
    pub fn type_name(self) -> &'static str {
        match self.kind {
            NoteableKind::Issue => NOTEABLE_ISSUE,
            NoteableKind::MergeRequest => NOTEABLE_MERGE_REQUEST,
        }
    }

    /// The `(issue_id, merge_request_id)` columns of its notes.
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self.kind {
            NoteableKind::Issue => (Some(self.id), None),
            NoteableKind::MergeRequest => (None, Some(self.id)),
        }
    }

    /// Bumps its `updated_at`, as a new comment does.
    fn touch(self, conn: &mut DbConnection, at: NaiveDateTime) -> Result<(), StoreError> {
        match self.kind {
            NoteableKind::Issue => issues::touch(conn, self.id, at),
            NoteableKind::MergeRequest => merge_requests::touch(conn, self.id, at),
        }
    }
}

impl From<&IssueRow> for Noteable {
    fn from(i: &IssueRow) -> Noteable {
        Noteable {
            kind: NoteableKind::Issue,
            id: i.id,
            project_id: i.project_id,
            iid: i.iid,
        }
    }
}

impl From<&MergeRequestRow> for Noteable {
    fn from(m: &MergeRequestRow) -> Noteable {
        Noteable {
            kind: NoteableKind::MergeRequest,
            id: m.id,
            project_id: m.project_id,
            iid: m.iid,
        }
    }
}

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

/// A note with its author and the iid of the issue or merge request it is on.
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

impl NoteRow {
    /// The id of the issue or merge request it is on (GitLab's `noteable_id`).
    pub fn noteable_id(&self) -> Option<i64> {
        self.issue_id.or(self.merge_request_id)
    }
}

/// All notes of `on`.
fn of(on: Noteable) -> NoteQuery {
    let q = notes::table.into_boxed();
    match on.kind {
        NoteableKind::Issue => q.filter(notes::issue_id.eq(on.id)),
        NoteableKind::MergeRequest => q.filter(notes::merge_request_id.eq(on.id)),
    }
}

/// The notes of `on` that `viewer` may see.
fn visible(on: Noteable, viewer: &Viewer) -> NoteQuery {
    let q = of(on);
    if viewer.sees_everything_in(on.project_id) {
        return q;
    }
    match viewer.user_id {
        Some(u) => q.filter(notes::internal.eq(false).or(notes::author_id.eq(u))),
        None => q.filter(notes::internal.eq(false)),
    }
}

fn with_authors(
    conn: &mut DbConnection,
    on: Noteable,
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
            noteable_iid: on.iid,
            row,
        })
        .collect())
}

/// One page of the notes of an issue or merge request the viewer may see, and how many there are.
pub fn list(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
    viewer: &Viewer,
    order: NoteOrder,
    desc: bool,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Note>, i64), StoreError> {
    let on = on.into();
    let total = visible(on, viewer).count().get_result(conn)?;
    let q = visible(on, viewer);
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
    Ok((with_authors(conn, on, rows)?, total))
}

/// A note of the issue or merge request, if the viewer may see it.
pub fn get(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
    note_id: i64,
    viewer: &Viewer,
) -> Result<Option<Note>, StoreError> {
    let on = on.into();
    let row = visible(on, viewer)
        .filter(notes::id.eq(note_id))
        .select(NoteRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(r) => with_authors(conn, on, vec![r])?.pop(),
        None => None,
    })
}

fn insert(
    conn: &mut DbConnection,
    on: Noteable,
    author_id: i64,
    body: &str,
    system: bool,
    internal: bool,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(notes::table)
        .values((
            notes::project_id.eq(on.project_id),
            notes::noteable_type.eq(on.type_name()),
            notes::issue_id.eq(on.columns().0),
            notes::merge_request_id.eq(on.columns().1),
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

/// Records a state change ("closed", "reopened", "merged") on an issue or merge request. Call
/// inside the transaction that makes the change.
pub(crate) fn insert_system(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
    actor_id: i64,
    body: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    insert(conn, on.into(), actor_id, body, true, false, at)?;
    Ok(())
}

/// How many notes people wrote on it, internal ones included (system notes not counted):
/// GitLab's `user_notes_count`.
pub fn user_notes_count(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
) -> Result<i64, StoreError> {
    Ok(of(on.into())
        .filter(notes::system.eq(false))
        .count()
        .get_result(conn)?)
}

fn fetch(conn: &mut DbConnection, on: Noteable, id: i64) -> Result<Note, StoreError> {
    let row = notes::table
        .find(id)
        .select(NoteRow::as_select())
        .first(conn)?;
    with_authors(conn, on, vec![row])?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Comments on an issue or merge request (and bumps its `updated_at`), in one transaction.
pub fn create(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
    author_id: i64,
    body: &str,
    internal: bool,
) -> Result<Note, StoreError> {
    validate_body(body)?;
    let on = on.into();
    write_transaction(conn, |conn| {
        let now = crate::now();
        let id = insert(conn, on, author_id, body, false, internal, now)?;
        on.touch(conn, now)?;
        fetch(conn, on, id)
    })
}

/// Changes a note's body.
pub fn update_body(
    conn: &mut DbConnection,
    on: impl Into<Noteable>,
    note: &NoteRow,
    body: &str,
) -> Result<Note, StoreError> {
    validate_body(body)?;
    let on = on.into();
    write_transaction(conn, |conn| {
        diesel::update(notes::table.find(note.id))
            .set((notes::body.eq(body), notes::updated_at.eq(crate::now())))
            .execute(conn)?;
        fetch(conn, on, note.id)
    })
}

pub fn delete(conn: &mut DbConnection, note_id: i64) -> Result<(), StoreError> {
    match diesel::delete(notes::table.find(note_id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Where note `note_id` lives: its project's full path and the iid of its issue (whoever asks;
/// visibility is decided afterwards with [`crate::issues::get`] and [`get`]). Notes on merge
/// requests are not located here: the GraphQL note mutations that use this take issue notes.
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
