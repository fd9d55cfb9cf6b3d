//! Protected branches of a project: a branch name or wildcard pattern (`release/*`), the lowest
//! access level that may push (0: no one) and merge, and whether force-pushes are allowed.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::protected_branches;
use diesel::prelude::*;
use tinforge_authz::Role;

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

/// Does branch `name` match the protection `pattern` (`*` matches any run of characters)?
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The lowest role that may write to `branch` under the matching protections (`merge`: their
/// merge level, else their push level). Outer None: the branch is unprotected; inner None: a
/// matching protection lets no one.
pub fn write_role(
    conn: &mut DbConnection,
    project_id: i64,
    branch: &str,
    merge: bool,
) -> Result<Option<Option<Role>>, StoreError> {
    let hits: Vec<ProtectedBranch> = list(conn, project_id)?
        .into_iter()
        .filter(|r| matches(&r.name, branch))
        .collect();
    if hits.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        hits.iter()
            .map(|r| {
                if merge {
                    r.merge_access_level
                } else {
                    r.push_access_level
                }
            })
            .filter(|l| *l > 0)
            .filter_map(Role::from_access_level)
            .min(),
    ))
}
