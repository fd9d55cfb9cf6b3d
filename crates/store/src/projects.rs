//! Projects, memberships and the authorization target of a project or group for a caller
//! (effective role: direct or inherited membership, highest wins).

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::groups::{self, GroupRow};
use crate::schema::{members, projects};
use diesel::prelude::*;
use tinforge_authz::{Role, Target, TargetKind, Visibility};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub group_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub visibility: String,
    pub description: String,
    pub default_branch: String,
    pub creator_id: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
    pub last_activity_at: chrono::NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ProjectRow>, StoreError> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// A numeric id or a full path (`group/sub/project`).
pub fn find_by_ref(
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Option<ProjectRow>, StoreError> {
    match reference.parse::<i64>() {
        Ok(id) => find(conn, id),
        Err(_) => Ok(projects::table
            .filter(projects::full_path.eq(reference))
            .select(ProjectRow::as_select())
            .first(conn)
            .optional()?),
    }
}

/// Where a new project goes.
pub enum Namespace<'a> {
    User { id: i64, username: &'a str },
    Group(&'a GroupRow),
}

pub fn create(
    conn: &mut DbConnection,
    namespace: Namespace<'_>,
    name: &str,
    path: &str,
    visibility: &str,
    creator_id: i64,
) -> Result<ProjectRow, StoreError> {
    let (full_path, group_id, owner_id) = match namespace {
        Namespace::User { id, username } => (format!("{username}/{path}"), None, Some(id)),
        Namespace::Group(g) => (format!("{}/{}", g.full_path, path), Some(g.id), None),
    };
    if find_by_ref(conn, &full_path)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "Path {full_path} has already been taken"
        )));
    }
    let now = crate::now();
    let id: i64 = diesel::insert_into(projects::table)
        .values((
            projects::name.eq(name),
            projects::path.eq(path),
            projects::full_path.eq(&full_path),
            projects::group_id.eq(group_id),
            projects::owner_id.eq(owner_id),
            projects::visibility.eq(visibility),
            projects::creator_id.eq(Some(creator_id)),
            projects::created_at.eq(now),
            projects::last_activity_at.eq(now),
        ))
        .returning(projects::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

/// Adds or changes a membership of a project or group.
pub fn set_member(
    conn: &mut DbConnection,
    kind: TargetKind,
    source_id: i64,
    user_id: i64,
    role: Role,
) -> Result<(), StoreError> {
    let (project_id, group_id) = match kind {
        TargetKind::Project => (Some(source_id), None),
        TargetKind::Group => (None, Some(source_id)),
    };
    crate::connection::write_transaction(conn, |conn| {
        let mut query = members::table
            .filter(members::user_id.eq(user_id))
            .select(members::id)
            .into_boxed();
        query = match kind {
            TargetKind::Project => query.filter(members::project_id.eq(source_id)),
            TargetKind::Group => query.filter(members::group_id.eq(source_id)),
        };
        let existing = query.first::<i64>(conn).optional()?;
        match existing {
            Some(id) => diesel::update(members::table.find(id))
                .set(members::access_level.eq(role.access_level()))
                .execute(conn)?,
            None => diesel::insert_into(members::table)
                .values((
                    members::user_id.eq(user_id),
                    members::project_id.eq(project_id),
                    members::group_id.eq(group_id),
                    members::access_level.eq(role.access_level()),
                    members::created_at.eq(crate::now()),
                ))
                .execute(conn)?,
        };
        Ok(())
    })
}

/// The highest role `user_id` holds directly on the project or on any of the groups.
fn effective_role(
    conn: &mut DbConnection,
    user_id: i64,
    project_id: Option<i64>,
    group_ids: &[i64],
) -> Result<Role, StoreError> {
    let mut levels: Vec<i32> = members::table
        .filter(members::user_id.eq(user_id))
        .filter(members::group_id.eq_any(group_ids))
        .select(members::access_level)
        .load(conn)?;
    if let Some(pid) = project_id {
        levels.extend(
            members::table
                .filter(members::user_id.eq(user_id))
                .filter(members::project_id.eq(pid))
                .select(members::access_level)
                .load::<i32>(conn)?,
        );
    }
    Ok(Role::highest(
        levels.into_iter().filter_map(Role::from_access_level),
    ))
}

fn visibility(text: &str) -> Visibility {
    Visibility::parse(text).unwrap_or(Visibility::Private)
}

/// The project as an authorization target for `user_id` (None: anonymous).
pub fn project_target(
    conn: &mut DbConnection,
    p: &ProjectRow,
    user_id: Option<i64>,
) -> Result<Target, StoreError> {
    let ancestors = match p.group_id {
        Some(g) => groups::self_and_ancestors(conn, g)?,
        None => Vec::new(),
    };
    let role = match user_id {
        None => Role::None,
        Some(u) if p.owner_id == Some(u) => Role::Owner,
        Some(u) => effective_role(conn, u, Some(p.id), &ancestors)?,
    };
    Ok(Target {
        kind: TargetKind::Project,
        id: p.id,
        full_path: p.full_path.clone(),
        visibility: visibility(&p.visibility),
        ancestor_group_ids: ancestors,
        personal_owner_id: p.owner_id,
        role,
    })
}

/// The group as an authorization target for `user_id` (None: anonymous).
pub fn group_target(
    conn: &mut DbConnection,
    g: &GroupRow,
    user_id: Option<i64>,
) -> Result<Target, StoreError> {
    let chain = groups::self_and_ancestors(conn, g.id)?;
    let role = match user_id {
        None => Role::None,
        Some(u) => effective_role(conn, u, None, &chain)?,
    };
    Ok(Target {
        kind: TargetKind::Group,
        id: g.id,
        full_path: g.full_path.clone(),
        visibility: visibility(&g.visibility),
        ancestor_group_ids: chain[1..].to_vec(),
        personal_owner_id: None,
        role,
    })
}
