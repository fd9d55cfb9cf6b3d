//! Protected branches of a project: a branch name or wildcard pattern (`release/*`), the lowest
//! access level that may push (0: no one) and merge, and whether force-pushes are allowed.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::protected_branches;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = protected_branches)]
pub struct ProtectedBranch {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub push_access_level: i32,
    pub merge_access_level: i32,
    pub allow_force_push: bool,
    pub created_at: chrono::NaiveDateTime,
}

/// What a new protection says.
#[derive(Debug, Clone)]
pub struct NewProtectedBranch<'a> {
    pub project_id: i64,
    pub name: &'a str,
    pub push_access_level: i32,
    pub merge_access_level: i32,
    pub allow_force_push: bool,
}

/// Every protection of a project, oldest first.
pub fn list(conn: &mut DbConnection, project_id: i64) -> Result<Vec<ProtectedBranch>, StoreError> {
    Ok(protected_branches::table
        .filter(protected_branches::project_id.eq(project_id))
        .order(protected_branches::id.asc())
        .select(ProtectedBranch::as_select())
        .load(conn)?)
}

/// The protection named exactly `name` (a pattern is found by its own text).
pub fn find(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
) -> Result<Option<ProtectedBranch>, StoreError> {
    Ok(protected_branches::table
        .filter(protected_branches::project_id.eq(project_id))
        .filter(protected_branches::name.eq(name))
        .select(ProtectedBranch::as_select())
        .first(conn)
        .optional()?)
}

/// Protects a branch; a second protection of the same name is a conflict.
pub fn create(
    conn: &mut DbConnection,
    new: &NewProtectedBranch<'_>,
) -> Result<ProtectedBranch, StoreError> {
    crate::connection::write_transaction(conn, |conn| {
        if find(conn, new.project_id, new.name)?.is_some() {
            return Err(StoreError::Conflict(format!(
                "Protected branch '{}' already exists",
                new.name
            )));
        }
        let id: i64 = diesel::insert_into(protected_branches::table)
            .values((
                protected_branches::project_id.eq(new.project_id),
                protected_branches::name.eq(new.name),
                protected_branches::push_access_level.eq(new.push_access_level),
                protected_branches::merge_access_level.eq(new.merge_access_level),
                protected_branches::allow_force_push.eq(new.allow_force_push),
                protected_branches::created_at.eq(crate::now()),
            ))
            .returning(protected_branches::id)
            .get_result(conn)?;
        protected_branches::table
            .find(id)
            .select(ProtectedBranch::as_select())
            .first(conn)
            .map_err(StoreError::from)
    })
}

/// Changes a protection's levels and force-push setting (None: unchanged); None when the
/// protection does not exist.
pub fn update(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
    push_access_level: Option<i32>,
    merge_access_level: Option<i32>,
    allow_force_push: Option<bool>,
) -> Result<Option<ProtectedBranch>, StoreError> {
    crate::connection::write_transaction(conn, |conn| {
        let Some(current) = find(conn, project_id, name)? else {
            return Ok(None);
        };
        diesel::update(protected_branches::table.find(current.id))
            .set((
                protected_branches::push_access_level
                    .eq(push_access_level.unwrap_or(current.push_access_level)),
                protected_branches::merge_access_level
                    .eq(merge_access_level.unwrap_or(current.merge_access_level)),
                protected_branches::allow_force_push
                    .eq(allow_force_push.unwrap_or(current.allow_force_push)),
            ))
            .execute(conn)?;
        find(conn, project_id, name)
    })
}

/// Unprotects a branch; false when it was not protected.
pub fn delete(conn: &mut DbConnection, project_id: i64, name: &str) -> Result<bool, StoreError> {
    let n = diesel::delete(
        protected_branches::table
            .filter(protected_branches::project_id.eq(project_id))
            .filter(protected_branches::name.eq(name)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
