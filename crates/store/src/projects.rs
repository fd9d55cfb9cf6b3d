//! Projects, their lists, and the authorization target of a project or group for a caller
//! (effective role: direct or inherited membership, highest wins; the owner of a personal project
//! is its Owner).

use crate::connection::{DbConnection, MultiBackend, write_transaction};
use crate::error::StoreError;
use crate::git::merging::MergeMethod;
use crate::groups::{self, GroupRow, GroupTree, like_pattern};
use crate::members::{self, Source, UserAccess, Viewer};
use crate::namespaces::{self, WriteError};
use crate::schema::{members as members_table, projects};
use crate::sql::lower;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
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
    /// GitLab's `merge_method`: merge, rebase_merge or ff (see [`crate::git::merging`]).
    pub merge_method: String,
}

impl ProjectRow {
    pub fn visibility(&self) -> Visibility {
        visibility(&self.visibility)
    }
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
#[derive(Debug, Clone, Copy)]
pub enum Namespace<'a> {
    /// A user's personal namespace (`id` is the user's id).
    User {
        id: i64,
        username: &'a str,
    },
    Group(&'a GroupRow),
}

impl Namespace<'_> {
    pub fn full_path(&self) -> &str {
        match self {
            Namespace::User { username, .. } => username,
            Namespace::Group(g) => &g.full_path,
        }
    }
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject<'a> {
    pub namespace: Namespace<'a>,
    pub name: &'a str,
    pub path: &'a str,
    pub description: &'a str,
    pub visibility: Visibility,
    /// `main` when not given.
    pub default_branch: Option<&'a str>,
    /// `merge` when not given.
    pub merge_method: Option<MergeMethod>,
    pub creator_id: i64,
}

/// Git's rules for a branch name, simplified: what is wrong with it, if anything.
pub fn branch_problem(name: &str) -> Option<String> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.starts_with(['-', '/', '.'])
        || name.ends_with(['/', '.'])
        || name.ends_with(".lock")
        || name.contains("..")
        || name.contains("//")
        || name.contains("@{")
        || name == "@"
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    bad.then(|| "is invalid".to_string())
}

fn visibility_above_group(v: Visibility, group: &GroupRow) -> Option<(&'static str, String)> {
    (v > group.visibility()).then(|| {
        (
            "visibility_level",
            format!(
                "{} is not allowed in a {} group.",
                v.as_str(),
                group.visibility
            ),
        )
    })
}

fn path_problems(
    conn: &mut DbConnection,
    namespace_full_path: &str,
    path: &str,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    if let Some(p) = namespaces::path_problem(path) {
        return Ok(vec![("path", p)]);
    }
    if namespaces::full_path_taken(conn, &format!("{namespace_full_path}/{path}"))? {
        return Ok(vec![("path", "has already been taken".into())]);
    }
    Ok(Vec::new())
}

/// Field problems of a new project (GitLab's messages), including a taken path.
pub fn validate(
    conn: &mut DbConnection,
    new: &NewProject<'_>,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut problems = Vec::new();
    if let Some(p) = namespaces::name_problem(new.name, false) {
        problems.push(("name", p));
    }
    problems.extend(path_problems(conn, new.namespace.full_path(), new.path)?);
    if let Some(b) = new.default_branch
        && let Some(p) = branch_problem(b)
    {
        problems.push(("default_branch", p));
    }
    if let Namespace::Group(g) = new.namespace {
        problems.extend(visibility_above_group(new.visibility, g));
    }
    Ok(problems)
}

/// Creates a project. In a personal namespace the owner becomes its Owner member; in a group a
/// creator below Maintainer there becomes Maintainer of the project (GitLab's rule). Without its
/// repository: surfaces create projects through [`crate::git::lifecycle::create_project`].
pub fn create(conn: &mut DbConnection, new: &NewProject<'_>) -> Result<ProjectRow, WriteError> {
    create_then(conn, new, |_, _| Ok(()))
}

/// [`create`], running `then` on the new row inside the transaction, before the commit: when it
/// fails, nothing is written.
pub(crate) fn create_then(
    conn: &mut DbConnection,
    new: &NewProject<'_>,
    then: impl FnOnce(&mut DbConnection, &ProjectRow) -> Result<(), StoreError>,
) -> Result<ProjectRow, WriteError> {
    write_transaction(conn, |conn| {
        let problems = validate(conn, new)?;
        if !problems.is_empty() {
            return Err(WriteError::Invalid(problems));
        }
        let (group_id, owner_id) = match new.namespace {
            Namespace::User { id, .. } => (None, Some(id)),
            Namespace::Group(g) => (Some(g.id), None),
        };
        let full_path = format!("{}/{}", new.namespace.full_path(), new.path);
        let now = crate::now();
        let id: i64 = diesel::insert_into(projects::table)
            .values((
                projects::name.eq(new.name.trim()),
                projects::path.eq(new.path),
                projects::full_path.eq(&full_path),
                projects::group_id.eq(group_id),
                projects::owner_id.eq(owner_id),
                projects::visibility.eq(new.visibility.as_str()),
                projects::description.eq(new.description),
                projects::default_branch.eq(new.default_branch.unwrap_or("main")),
                projects::merge_method.eq(new.merge_method.unwrap_or(MergeMethod::Merge).name()),
                projects::creator_id.eq(Some(new.creator_id)),
                projects::created_at.eq(now),
                projects::last_activity_at.eq(now),
            ))
            .returning(projects::id)
            .get_result(conn)?;
        match new.namespace {
            Namespace::User { id: owner, .. } => {
                members::put(conn, Source::Project(id), owner, Role::Owner, None)?;
            }
            Namespace::Group(g) => {
                let chain = groups::self_and_ancestors(conn, g.id)?;
                let access = members::access_of(conn, new.creator_id)?;
                if access.group_role(&chain) < Role::Maintainer {
                    members::put(
                        conn,
                        Source::Project(id),
                        new.creator_id,
                        Role::Maintainer,
                        None,
                    )?;
                }
            }
        }
        let row = find(conn, id)?.ok_or(StoreError::NotFound)?;
        then(conn, &row)?;
        Ok(row)
    })
}

/// Changes to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub path: Option<String>,
    pub description: Option<String>,
    pub default_branch: Option<String>,
    pub visibility: Option<Visibility>,
    pub merge_method: Option<MergeMethod>,
}

impl ProjectChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.path.is_none()
            && self.description.is_none()
            && self.default_branch.is_none()
            && self.visibility.is_none()
            && self.merge_method.is_none()
    }
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &ProjectChanges,
) -> Result<ProjectRow, WriteError> {
    write_transaction(conn, |conn| {
        let p = find(conn, id)?.ok_or(StoreError::NotFound)?;
        let group = match p.group_id {
            Some(g) => groups::find(conn, g)?,
            None => None,
        };
        let namespace_path = p
            .full_path
            .rsplit_once('/')
            .map(|(ns, _)| ns.to_string())
            .unwrap_or_default();
        let mut problems = Vec::new();
        if let Some(name) = &changes.name
            && let Some(m) = namespaces::name_problem(name, false)
        {
            problems.push(("name", m));
        }
        if let Some(path) = changes.path.as_deref().filter(|x| *x != p.path) {
            problems.extend(path_problems(conn, &namespace_path, path)?);
        }
        if let Some(b) = &changes.default_branch
            && let Some(m) = branch_problem(b)
        {
            problems.push(("default_branch", m));
        }
        if let (Some(v), Some(g)) = (changes.visibility, &group) {
            problems.extend(visibility_above_group(v, g));
        }
        if !problems.is_empty() {
            return Err(WriteError::Invalid(problems));
        }
        let path = changes.path.as_deref().unwrap_or(&p.path);
        diesel::update(projects::table.find(id))
            .set((
                projects::name.eq(changes.name.as_deref().map(str::trim).unwrap_or(&p.name)),
                projects::path.eq(path),
                projects::full_path.eq(format!("{namespace_path}/{path}")),
                projects::description.eq(changes.description.as_deref().unwrap_or(&p.description)),
                projects::default_branch.eq(changes
                    .default_branch
                    .as_deref()
                    .unwrap_or(&p.default_branch)),
                projects::visibility.eq(changes
                    .visibility
                    .map(Visibility::as_str)
                    .unwrap_or(&p.visibility)),
                projects::merge_method.eq(changes
                    .merge_method
                    .map(MergeMethod::name)
                    .unwrap_or(&p.merge_method)),
                projects::last_activity_at.eq(crate::now()),
            ))
            .execute(conn)?;
        Ok(find(conn, id)?.ok_or(StoreError::NotFound)?)
    })
}

/// Deletes a project with its memberships (and whatever else hangs off it), at once.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let n = diesel::delete(projects::table.find(id)).execute(conn)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    })
}

/// Filters of project lists. Membership filters concern the viewer's user.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Candidates are narrowed to what this viewer could see (the gate then applies the token).
    pub viewer: Viewer,
    /// Name or path contains (case-insensitive); with `search_namespaces`, the full path.
    pub search: Option<String>,
    pub search_namespaces: bool,
    pub visibility: Option<Visibility>,
    /// Only projects where the viewer's effective role is at least this (Guest: `membership`,
    /// Owner: `owned`).
    pub min_access_level: Option<Role>,
    /// Only projects directly in these groups.
    pub group_ids: Option<Vec<i64>>,
    /// Only personal projects of this user.
    pub owner_id: Option<i64>,
    pub ids: Option<Vec<i64>>,
    pub id_after: Option<i64>,
    pub id_before: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectOrder {
    Id,
    Name,
    Path,
    #[default]
    CreatedAt,
    LastActivityAt,
}

impl ProjectOrder {
    pub fn parse(s: &str) -> Option<ProjectOrder> {
        Some(match s {
            "id" => ProjectOrder::Id,
            "name" => ProjectOrder::Name,
            "path" => ProjectOrder::Path,
            "created_at" => ProjectOrder::CreatedAt,
            "last_activity_at" | "updated_at" => ProjectOrder::LastActivityAt,
            _ => return None,
        })
    }
}

type ProjectCond =
    Box<dyn BoxableExpression<projects::table, MultiBackend, SqlType = Nullable<Bool>>>;

/// Projects where the user of `reach` holds a role (directly, through a group, or as owner).
fn reached(reach: &members::Reach) -> ProjectCond {
    let mut cond: ProjectCond = Box::new(projects::owner_id.eq(reach.user_id));
    if !reach.project_ids.is_empty() {
        cond = Box::new(cond.or(projects::id.eq_any(reach.project_ids.clone()).nullable()));
    }
    if !reach.group_ids.is_empty() {
        cond = Box::new(cond.or(projects::group_id.eq_any(reach.group_ids.clone())));
    }
    cond
}

/// Projects matching `filter`, ordered, ties broken by id (a few queries, none per project).
pub fn list(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    order: ProjectOrder,
    descending: bool,
) -> Result<Vec<ProjectRow>, StoreError> {
    let access = match filter.viewer.user_id() {
        Some(u) => Some(members::access_of(conn, u)?),
        None => None,
    };
    let visible: Option<ProjectCond> = match (filter.viewer, &access) {
        (Viewer::Admin(_), _) => None,
        (Viewer::User(_), Some(a)) => {
            let reach = members::reach(conn, a, Role::Guest)?;
            Some(Box::new(
                projects::visibility
                    .eq_any([Visibility::Public.as_str(), Visibility::Internal.as_str()])
                    .nullable()
                    .or(reached(&reach)),
            ))
        }
        _ => Some(Box::new(
            projects::visibility
                .eq(Visibility::Public.as_str())
                .nullable(),
        )),
    };
    let membership: Option<ProjectCond> = match (filter.min_access_level, &access) {
        (None, _) => None,
        (Some(_), None) => Some(Box::new(sql::<Nullable<Bool>>("1=0"))),
        (Some(min), Some(a)) => Some(reached(&members::reach(conn, a, min.max(Role::Guest))?)),
    };
    let mut q = projects::table.select(ProjectRow::as_select()).into_boxed();
    if let Some(c) = visible {
        q = q.filter(c);
    }
    if let Some(c) = membership {
        q = q.filter(c);
    }
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = like_pattern(s);
        let mut cond: ProjectCond = Box::new(
            lower(projects::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(projects::path).like(pattern.clone()).escape('\\'))
                .nullable(),
        );
        if filter.search_namespaces {
            cond = Box::new(
                cond.or(lower(projects::full_path)
                    .like(pattern)
                    .escape('\\')
                    .nullable()),
            );
        }
        q = q.filter(cond);
    }
    if let Some(v) = filter.visibility {
        q = q.filter(projects::visibility.eq(v.as_str()));
    }
    if let Some(ids) = &filter.group_ids {
        q = q.filter(projects::group_id.eq_any(ids.clone()));
    }
    if let Some(owner) = filter.owner_id {
        q = q.filter(projects::owner_id.eq(owner));
    }
    if let Some(ids) = &filter.ids {
        q = q.filter(projects::id.eq_any(ids.clone()));
    }
    if let Some(after) = filter.id_after {
        q = q.filter(projects::id.gt(after));
    }
    if let Some(before) = filter.id_before {
        q = q.filter(projects::id.lt(before));
    }
    q = match (order, descending) {
        (ProjectOrder::Id, false) => q.order(projects::id.asc()),
        (ProjectOrder::Id, true) => q.order(projects::id.desc()),
        (ProjectOrder::Name, false) => q.order((projects::name.asc(), projects::id.asc())),
        (ProjectOrder::Name, true) => q.order((projects::name.desc(), projects::id.desc())),
        (ProjectOrder::Path, false) => q.order((projects::path.asc(), projects::id.asc())),
        (ProjectOrder::Path, true) => q.order((projects::path.desc(), projects::id.desc())),
        (ProjectOrder::CreatedAt, false) => {
            q.order((projects::created_at.asc(), projects::id.asc()))
        }
        (ProjectOrder::CreatedAt, true) => {
            q.order((projects::created_at.desc(), projects::id.desc()))
        }
        (ProjectOrder::LastActivityAt, false) => {
            q.order((projects::last_activity_at.asc(), projects::id.asc()))
        }
        (ProjectOrder::LastActivityAt, true) => {
            q.order((projects::last_activity_at.desc(), projects::id.desc()))
        }
    };
    Ok(q.load(conn)?)
}

/// Adds or changes a membership of a project or group (no checks: seeding and tests).
pub fn set_member(
    conn: &mut DbConnection,
    kind: TargetKind,
    source_id: i64,
    user_id: i64,
    role: Role,
) -> Result<(), StoreError> {
    let source = match kind {
        TargetKind::Project => Source::Project(source_id),
        TargetKind::Group => Source::Group(source_id),
    };
    write_transaction(conn, |conn| members::put(conn, source, user_id, role, None))
}

/// The highest role `user_id` holds directly (and unexpired) on the project or on any of the groups.
fn effective_role(
    conn: &mut DbConnection,
    user_id: i64,
    project_id: Option<i64>,
    group_ids: &[i64],
) -> Result<Role, StoreError> {
    let mut query = members_table::table
        .filter(members_table::user_id.eq(user_id))
        .select((members_table::access_level, members_table::expires_at))
        .into_boxed();
    query = match project_id {
        Some(pid) => query.filter(
            members_table::group_id
                .eq_any(group_ids.to_vec())
                .or(members_table::project_id.eq(pid)),
        ),
        None => query.filter(members_table::group_id.eq_any(group_ids.to_vec())),
    };
    let levels: Vec<Level> = query.load(conn)?;
    Ok(highest_unexpired(levels))
}

/// The highest role among memberships that have not expired.
fn highest_unexpired(levels: impl IntoIterator<Item = Level>) -> Role {
    let today = chrono::Utc::now().date_naive();
    Role::highest(
        levels
            .into_iter()
            .filter(|(_, exp)| exp.is_none_or(|d| d > today))
            .filter_map(|(l, _)| Role::from_access_level(l)),
    )
}

fn visibility(text: &str) -> Visibility {
    Visibility::parse(text).unwrap_or(Visibility::Private)
}

/// The project as an authorization target, from a loaded tree and the caller's access.
pub fn target_in(p: &ProjectRow, tree: &GroupTree, access: Option<&UserAccess>) -> Target {
    let ancestors = p.group_id.map(|g| tree.chain(g)).unwrap_or_default();
    Target {
        kind: TargetKind::Project,
        id: p.id,
        full_path: p.full_path.clone(),
        visibility: p.visibility(),
        role: access.map_or(Role::None, |a| a.project_role(p, &ancestors)),
        ancestor_group_ids: ancestors,
        personal_owner_id: p.owner_id,
    }
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

/// A membership's access level and expiry date.
type Level = (i32, Option<chrono::NaiveDate>);

/// The project named by `reference` (id or full path) as an authorization target for `user_id`,
/// in as few round trips as the data allows: the project with the caller's direct membership in
/// one query, and for a group's project the group chain (the groups whose paths prefix the
/// project's) with the caller's memberships there in a second. A chain that does not hold
/// together by parent ids falls back to walking it.
pub fn resolve_target(
    conn: &mut DbConnection,
    reference: &str,
    user_id: Option<i64>,
) -> Result<Option<Target>, StoreError> {
    use crate::schema::groups as groups_table;
    let uid = user_id.unwrap_or(-1);
    let membership = members_table::table.on(members_table::project_id
        .eq(projects::id.nullable())
        .and(members_table::user_id.eq(uid)));
    let level = (members_table::access_level, members_table::expires_at).nullable();
    let base = projects::table
        .left_join(membership)
        .select((ProjectRow::as_select(), level));
    let found: Option<(ProjectRow, Option<Level>)> = match reference.parse::<i64>() {
        Ok(id) => base.filter(projects::id.eq(id)).first(conn).optional()?,
        Err(_) => base
            .filter(projects::full_path.eq(reference))
            .first(conn)
            .optional()?,
    };
    let Some((p, direct)) = found else {
        return Ok(None);
    };
    let mut levels: Vec<Level> = direct.into_iter().collect();
    let mut ancestors = Vec::new();
    if let Some(group_id) = p.group_id {
        let prefixes: Vec<String> = p
            .full_path
            .match_indices('/')
            .map(|(i, _)| p.full_path[..i].to_string())
            .collect();
        let group_membership = members_table::table.on(members_table::group_id
            .eq(groups_table::id.nullable())
            .and(members_table::user_id.eq(uid)));
        let rows: Vec<(i64, Option<i64>, Option<Level>)> = groups_table::table
            .left_join(group_membership)
            .filter(groups_table::full_path.eq_any(&prefixes))
            .select((groups_table::id, groups_table::parent_id, level))
            .load(conn)?;
        let parent_of = |id: i64| rows.iter().find(|r| r.0 == id).map(|r| r.1);
        let mut current = Some(group_id);
        while let Some(id) = current {
            match parent_of(id) {
                Some(parent) if !ancestors.contains(&id) => {
                    ancestors.push(id);
                    current = parent;
                }
                // Paths and parent ids disagree: walk the chain the slow way.
                _ => return project_target(conn, &p, user_id).map(Some),
            }
        }
        levels.extend(
            rows.iter()
                .filter(|r| ancestors.contains(&r.0))
                .filter_map(|r| r.2),
        );
    }
    let role = match user_id {
        None => Role::None,
        Some(u) if p.owner_id == Some(u) => Role::Owner,
        Some(_) => highest_unexpired(levels),
    };
    Ok(Some(Target {
        kind: TargetKind::Project,
        id: p.id,
        full_path: p.full_path.clone(),
        visibility: visibility(&p.visibility),
        ancestor_group_ids: ancestors,
        personal_owner_id: p.owner_id,
        role,
    }))
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
