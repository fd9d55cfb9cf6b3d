//! Namespaces: where projects live, a user's personal namespace or a group.
//!
//! GitLab clients pass `namespace_id` taken from `GET /namespaces` or from a group's `id`, so
//! namespace ids must be unique across users and groups. tinforge keeps one `namespaces` table
//! whose id sequence is shared: **a group's namespace id is the group's id** (the group row is
//! inserted with the id its namespace row was given), and **a user's personal namespace has its
//! own id** from the same sequence, which is therefore never the id of a group. The table also
//! holds every full path in one unique index, so a username and a top-level group can never
//! claim the same path.
//!
//! Path and name rules (GitLab's) and the error type of writes that can be refused field by field
//! live here too, shared by groups and projects.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::groups::{GroupRow, GroupTree};
use crate::projects::ProjectRow;
use crate::schema::{namespaces, projects, users};
use crate::users::User;
use diesel::prelude::*;
use std::collections::HashMap;

pub const KIND_USER: &str = "user";
pub const KIND_GROUP: &str = "group";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = namespaces)]
pub struct NamespaceRow {
    pub id: i64,
    /// `user` or `group`.
    pub kind: String,
    pub path: String,
    pub full_path: String,
    /// For personal namespaces: the user.
    pub user_id: Option<i64>,
    /// For groups: the group (the same number as `id`).
    pub group_id: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
}

impl NamespaceRow {
    pub fn is_user(&self) -> bool {
        self.kind == KIND_USER
    }
}

/// A write refused by the store: field problems (400 with a field map), a conflict with the
/// current state (409), or a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}", describe(.0))]
    Invalid(Vec<(&'static str, String)>),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(problems: &[(&'static str, String)]) -> String {
    problems
        .iter()
        .map(|(f, m)| format!("{f} {m}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<diesel::result::Error> for WriteError {
    fn from(e: diesel::result::Error) -> Self {
        WriteError::Store(e.into())
    }
}

impl WriteError {
    pub fn field(field: &'static str, message: impl Into<String>) -> WriteError {
        WriteError::Invalid(vec![(field, message.into())])
    }
}

/// Describes a namespace as the API shows it (`namespace` of a project, `GET /namespaces`).
#[derive(Debug, Clone)]
pub struct NamespaceInfo {
    pub id: i64,
    /// `user` or `group`.
    pub kind: &'static str,
    /// The group's name, or the user's display name.
    pub name: String,
    pub path: String,
    pub full_path: String,
    /// `Parent / Child` for groups; the user's name for personal namespaces.
    pub full_name: String,
    pub parent_id: Option<i64>,
    /// The user of a personal namespace.
    pub owner: Option<User>,
}

impl NamespaceInfo {
    pub fn of_group(g: &GroupRow, tree: &GroupTree) -> NamespaceInfo {
        NamespaceInfo {
            id: g.id,
            kind: KIND_GROUP,
            name: g.name.clone(),
            path: g.path.clone(),
            full_path: g.full_path.clone(),
            full_name: tree.full_name(g.id).unwrap_or_else(|| g.name.clone()),
            parent_id: g.parent_id,
            owner: None,
        }
    }

    pub fn of_user(ns: &NamespaceRow, user: &User) -> NamespaceInfo {
        NamespaceInfo {
            id: ns.id,
            kind: KIND_USER,
            name: user.name.clone(),
            path: ns.path.clone(),
            full_path: ns.full_path.clone(),
            full_name: user.name.clone(),
            parent_id: None,
            owner: Some(user.clone()),
        }
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<NamespaceRow>, StoreError> {
    Ok(namespaces::table
        .find(id)
        .select(NamespaceRow::as_select())
        .first(conn)
        .optional()?)
}

/// A numeric id or a full path.
pub fn find_by_ref(
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Option<NamespaceRow>, StoreError> {
    match reference.parse::<i64>() {
        Ok(id) => find(conn, id),
        Err(_) => Ok(namespaces::table
            .filter(namespaces::full_path.eq(reference))
            .select(NamespaceRow::as_select())
            .first(conn)
            .optional()?),
    }
}

/// The personal namespace of a user.
pub fn of_user(conn: &mut DbConnection, user_id: i64) -> Result<Option<NamespaceRow>, StoreError> {
    Ok(namespaces::table
        .filter(namespaces::user_id.eq(user_id))
        .select(NamespaceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Personal namespaces with their users, by user id (one query).
pub fn of_users(
    conn: &mut DbConnection,
    user_ids: &[i64],
) -> Result<HashMap<i64, (NamespaceRow, User)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(NamespaceRow, User)> = namespaces::table
        .inner_join(users::table)
        .filter(namespaces::user_id.eq_any(user_ids))
        .select((NamespaceRow::as_select(), User::as_select()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(n, u)| (u.id, (n, u))).collect())
}

/// The namespace of every project, keyed by project id. `tree` must hold the projects' groups
/// (as `projects::targets` returns it); personal namespaces take one query.
pub fn for_projects(
    conn: &mut DbConnection,
    rows: &[ProjectRow],
    tree: &GroupTree,
) -> Result<HashMap<i64, NamespaceInfo>, StoreError> {
    let owners: Vec<i64> = rows.iter().filter_map(|p| p.owner_id).collect();
    let personal = of_users(conn, &owners)?;
    let mut out = HashMap::new();
    for p in rows {
        let info = match (p.group_id, p.owner_id) {
            (Some(g), _) => tree.get(g).map(|g| NamespaceInfo::of_group(g, tree)),
            (None, Some(u)) => personal.get(&u).map(|(n, u)| NamespaceInfo::of_user(n, u)),
            _ => None,
        };
        if let Some(info) = info {
            out.insert(p.id, info);
        }
    }
    Ok(out)
}

/// Is `full_path` used by a namespace (user or group) or a project?
pub fn full_path_taken(conn: &mut DbConnection, full_path: &str) -> Result<bool, StoreError> {
    let namespaces: i64 = namespaces::table
        .filter(namespaces::full_path.eq(full_path))
        .count()
        .get_result(conn)?;
    if namespaces > 0 {
        return Ok(true);
    }
    let projects: i64 = projects::table
        .filter(projects::full_path.eq(full_path))
        .count()
        .get_result(conn)?;
    Ok(projects > 0)
}

/// Creates the personal namespace of a new user (inside the caller's transaction).
pub fn create_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    username: &str,
) -> Result<NamespaceRow, StoreError> {
    if full_path_taken(conn, username)? {
        return Err(StoreError::Conflict(
            "Username has already been taken".into(),
        ));
    }
    let id: i64 = diesel::insert_into(namespaces::table)
        .values((
            namespaces::kind.eq(KIND_USER),
            namespaces::path.eq(username),
            namespaces::full_path.eq(username),
            namespaces::user_id.eq(Some(user_id)),
            namespaces::created_at.eq(crate::now()),
        ))
        .returning(namespaces::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}

/// Allocates a namespace id for a new group at `full_path` (the group is inserted with it).
pub(crate) fn allocate_for_group(
    conn: &mut DbConnection,
    path: &str,
    full_path: &str,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(namespaces::table)
        .values((
            namespaces::kind.eq(KIND_GROUP),
            namespaces::path.eq(path),
            namespaces::full_path.eq(full_path),
            namespaces::created_at.eq(crate::now()),
        ))
        .returning(namespaces::id)
        .get_result(conn)?)
}

/// Links an allocated group namespace to its group row.
pub(crate) fn attach_group(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(namespaces::table.find(id))
        .set(namespaces::group_id.eq(Some(id)))
        .execute(conn)?;
    Ok(())
}

/// Renames a group's namespace row (after a path change of the group or an ancestor).
pub(crate) fn rename_group(
    conn: &mut DbConnection,
    id: i64,
    path: &str,
    full_path: &str,
) -> Result<(), StoreError> {
    diesel::update(namespaces::table.filter(namespaces::group_id.eq(id)))
        .set((
            namespaces::path.eq(path),
            namespaces::full_path.eq(full_path),
        ))
        .execute(conn)?;
    Ok(())
}

/// Top-level paths that would collide with the instance's own routes.
pub const RESERVED_TOP_LEVEL: &[&str] = &[
    "-",
    ".well-known",
    "admin",
    "api",
    "assets",
    "dashboard",
    "explore",
    "groups",
    "health_check",
    "help",
    "jwt",
    "login",
    "logout",
    "oauth",
    "profile",
    "projects",
    "robots.txt",
    "search",
    "uploads",
    "users",
    "v2",
];

const PATH_RULE: &str = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";

/// GitLab's rule for a path segment (project, group): what is wrong with it, if anything.
pub fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("can't be blank".into());
    }
    if path.len() > 255 {
        return Some("is too long (maximum is 255 characters)".into());
    }
    let ok_chars = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    let lower = path.to_ascii_lowercase();
    if !ok_chars
        || path.starts_with('-')
        || path.ends_with('.')
        || lower.ends_with(".git")
        || lower.ends_with(".atom")
    {
        return Some(PATH_RULE.into());
    }
    None
}

/// GitLab's rule for a display name: letters, digits, emoji, `_`, `.`, `+`, dashes and spaces
/// (groups also parentheses), starting with a letter, digit, emoji or `_`.
pub fn name_problem(name: &str, group: bool) -> Option<String> {
    if name.trim().is_empty() {
        return Some("can't be blank".into());
    }
    if name.chars().count() > 255 {
        return Some("is too long (maximum is 255 characters)".into());
    }
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || (!c.is_ascii() && !c.is_control()));
    let rest_ok = name.chars().all(|c| {
        c.is_alphanumeric()
            || "_.+- ".contains(c)
            || (group && "()".contains(c))
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
    });
    if first_ok && rest_ok {
        None
    } else if group {
        Some("can contain only letters, digits, emoji, '_', '.', '(', ')', dash and space. It must start with a letter, digit, emoji or '_'.".into())
    } else {
        Some("can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'.".into())
    }
}

/// A path made from a name: lower case, runs of other characters as one dash.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_gitlab_rules() {
        for ok in ["a", "my-project", "my_project.v2", "_x", "A1"] {
            assert_eq!(path_problem(ok), None, "{ok}");
        }
        for bad in ["", "-x", "a b", "x.git", "x.atom", "a/b", "x.", "é"] {
            assert!(path_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn names_and_slugs() {
        assert_eq!(name_problem("My Project+1", false), None);
        assert_eq!(name_problem("Team (core)", true), None);
        assert!(name_problem("Team (core)", false).is_some());
        assert!(name_problem("  ", false).is_some());
        assert!(name_problem("-x", false).is_some());
        assert!(name_problem("a/b", true).is_some());
        assert_eq!(slugify("My Project!  2"), "my-project-2");
        assert_eq!(slugify("--Hello.World--"), "hello.world");
        assert_eq!(slugify("!!!"), "");
    }
}
