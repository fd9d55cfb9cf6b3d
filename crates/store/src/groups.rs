//! Groups: a tree of namespaces (subgroups through `parent_id`). A group's id is its namespace id
//! (see [`crate::namespaces`]).

use crate::connection::{DbConnection, MultiBackend, write_transaction};
use crate::error::StoreError;
use crate::members::{self, Source, UserAccess, Viewer};
use crate::namespaces::{self, WriteError};
use crate::schema::{groups, members as members_table, namespaces as namespaces_table, projects};
use crate::sql::lower;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use std::collections::{HashMap, HashSet};
use tinforge_authz::{Role, Target, TargetKind, Visibility};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub visibility: String,
    pub description: String,
    pub created_at: chrono::NaiveDateTime,
}

impl GroupRow {
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<GroupRow>, StoreError> {
    Ok(groups::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_full_path(
    conn: &mut DbConnection,
    full_path: &str,
) -> Result<Option<GroupRow>, StoreError> {
    Ok(groups::table
        .filter(groups::full_path.eq(full_path))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?)
}

/// A numeric id or a full path.
pub fn find_by_ref(
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Option<GroupRow>, StoreError> {
    match reference.parse::<i64>() {
        Ok(id) => find(conn, id),
        Err(_) => find_by_full_path(conn, reference),
    }
}

/// The group and every group above it, nearest first.
pub fn self_and_ancestors(conn: &mut DbConnection, group_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut chain = vec![group_id];
    let mut current = group_id;
    while let Some(parent) = groups::table
        .find(current)
        .select(groups::parent_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten()
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
        current = parent;
    }
    Ok(chain)
}

/// The given groups and every group below them (one query per level of nesting).
pub fn self_and_descendants(
    conn: &mut DbConnection,
    roots: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut seen: HashSet<i64> = roots.iter().copied().collect();
    let mut all: Vec<i64> = seen.iter().copied().collect();
    let mut frontier = all.clone();
    while !frontier.is_empty() {
        let children: Vec<i64> = groups::table
            .filter(groups::parent_id.eq_any(&frontier))
            .select(groups::id)
            .load(conn)?;
        frontier = children.into_iter().filter(|c| seen.insert(*c)).collect();
        all.extend(&frontier);
    }
    all.sort_unstable();
    Ok(all)
}

/// Groups loaded with all their ancestors, for chains and full names without a query per item.
#[derive(Debug, Clone, Default)]
pub struct GroupTree {
    rows: HashMap<i64, GroupRow>,
}

impl GroupTree {
    /// Loads `ids` and their ancestors (one query per level of nesting).
    pub fn load(
        conn: &mut DbConnection,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<GroupTree, StoreError> {
        let mut tree = GroupTree::default();
        tree.extend(conn, ids)?;
        Ok(tree)
    }

    /// Adds more groups (and their ancestors) to the tree.
    pub fn extend(
        &mut self,
        conn: &mut DbConnection,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<(), StoreError> {
        let mut wanted: Vec<i64> = ids
            .into_iter()
            .filter(|id| !self.rows.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        while !wanted.is_empty() {
            let found: Vec<GroupRow> = groups::table
                .filter(groups::id.eq_any(&wanted))
                .select(GroupRow::as_select())
                .load(conn)?;
            let mut next = HashSet::new();
            for g in found {
                if let Some(p) = g.parent_id {
                    next.insert(p);
                }
                self.rows.insert(g.id, g);
            }
            wanted = next
                .into_iter()
                .filter(|id| !self.rows.contains_key(id))
                .collect();
        }
        Ok(())
    }

    /// Adds rows already loaded (their ancestors must be added with [`GroupTree::extend`]).
    pub fn insert(&mut self, row: GroupRow) {
        self.rows.insert(row.id, row);
    }

    pub fn get(&self, id: i64) -> Option<&GroupRow> {
        self.rows.get(&id)
    }

    /// The group and its ancestors, nearest first.
    pub fn chain(&self, id: i64) -> Vec<i64> {
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(c) = current {
            if chain.contains(&c) || !self.rows.contains_key(&c) {
                break;
            }
            chain.push(c);
            current = self.rows[&c].parent_id;
        }
        chain
    }

    /// `Top / Sub / Group`: the names along the chain, GitLab's `full_name`.
    pub fn full_name(&self, id: i64) -> Option<String> {
        let chain = self.chain(id);
        if chain.is_empty() {
            return None;
        }
        Some(
            chain
                .iter()
                .rev()
                .map(|g| self.rows[g].name.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
        )
    }
}

/// The group as an authorization target, from a loaded tree and the caller's access.
pub fn target_in(g: &GroupRow, tree: &GroupTree, access: Option<&UserAccess>) -> Target {
    let mut chain = tree.chain(g.id);
    if chain.is_empty() {
        chain.push(g.id);
    }
    Target {
        kind: TargetKind::Group,
        id: g.id,
        full_path: g.full_path.clone(),
        visibility: g.visibility(),
        ancestor_group_ids: chain[1..].to_vec(),
        personal_owner_id: None,
        role: access.map_or(Role::None, |a| a.group_role(&chain)),
    }
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct NewGroup<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub description: &'a str,
    pub visibility: Visibility,
    pub parent: Option<&'a GroupRow>,
    /// Becomes the group's first Owner member.
    pub owner_id: Option<i64>,
}

fn full_path_under(parent: Option<&GroupRow>, path: &str) -> String {
    match parent {
        Some(p) => format!("{}/{}", p.full_path, path),
        None => path.to_string(),
    }
}

fn visibility_above_parent(v: Visibility, parent: &GroupRow) -> Option<(&'static str, String)> {
    (v > parent.visibility()).then(|| {
        (
            "visibility_level",
            format!(
                "{} is not allowed since the parent group has a {} visibility.",
                v.as_str(),
                parent.visibility
            ),
        )
    })
}

fn path_problems(
    conn: &mut DbConnection,
    path: &str,
    parent: Option<&GroupRow>,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    if let Some(p) = namespaces::path_problem(path) {
        return Ok(vec![("path", p)]);
    }
    if parent.is_none()
        && namespaces::RESERVED_TOP_LEVEL.contains(&path.to_ascii_lowercase().as_str())
    {
        return Ok(vec![("path", format!("{path} is a reserved name"))]);
    }
    if namespaces::full_path_taken(conn, &full_path_under(parent, path))? {
        return Ok(vec![("path", "has already been taken".into())]);
    }
    Ok(Vec::new())
}

/// Field problems of a new group (GitLab's messages), including a taken path.
pub fn validate(
    conn: &mut DbConnection,
    new: &NewGroup<'_>,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut problems = Vec::new();
    if let Some(p) = namespaces::name_problem(new.name, true) {
        problems.push(("name", p));
    }
    problems.extend(path_problems(conn, new.path, new.parent)?);
    if let Some(parent) = new.parent {
        problems.extend(visibility_above_parent(new.visibility, parent));
    }
    Ok(problems)
}

/// Creates a group (a subgroup when `parent` is given) at `parent/path`; its creator becomes Owner.
pub fn create(conn: &mut DbConnection, new: &NewGroup<'_>) -> Result<GroupRow, WriteError> {
    write_transaction(conn, |conn| {
        let problems = validate(conn, new)?;
        if !problems.is_empty() {
            return Err(WriteError::Invalid(problems));
        }
        let full_path = full_path_under(new.parent, new.path);
        let id = namespaces::allocate_for_group(conn, new.path, &full_path)?;
        diesel::insert_into(groups::table)
            .values((
                groups::id.eq(id),
                groups::name.eq(new.name.trim()),
                groups::path.eq(new.path),
                groups::full_path.eq(&full_path),
                groups::parent_id.eq(new.parent.map(|p| p.id)),
                groups::visibility.eq(new.visibility.as_str()),
                groups::description.eq(new.description),
                groups::created_at.eq(crate::now()),
            ))
            .execute(conn)?;
        namespaces::attach_group(conn, id)?;
        if let Some(owner) = new.owner_id {
            members::put(conn, Source::Group(id), owner, Role::Owner, None)?;
        }
        Ok(find(conn, id)?.ok_or(StoreError::NotFound)?)
    })
}

/// Changes to a group; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub path: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
}

/// The most visible direct subgroup or project of a group (a group may not be less visible).
fn most_visible_child(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Visibility, &'static str)>, StoreError> {
    let subgroups: Vec<String> = groups::table
        .filter(groups::parent_id.eq(id))
        .select(groups::visibility)
        .load(conn)?;
    let projects: Vec<String> = projects::table
        .filter(projects::group_id.eq(id))
        .select(projects::visibility)
        .load(conn)?;
    let parse = |s: &String| Visibility::parse(s).unwrap_or(Visibility::Private);
    let g = subgroups.iter().map(parse).max().map(|v| (v, "sub-groups"));
    let p = projects.iter().map(parse).max().map(|v| (v, "projects"));
    Ok(g.into_iter().chain(p).max_by_key(|(v, _)| *v))
}

/// Applies changes; a new path renames the whole subtree (groups, their projects, namespaces).
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &GroupChanges,
) -> Result<GroupRow, WriteError> {
    write_transaction(conn, |conn| {
        let g = find(conn, id)?.ok_or(StoreError::NotFound)?;
        let parent = match g.parent_id {
            Some(p) => find(conn, p)?,
            None => None,
        };
        let mut problems = Vec::new();
        if let Some(name) = &changes.name
            && let Some(p) = namespaces::name_problem(name, true)
        {
            problems.push(("name", p));
        }
        if let Some(path) = changes.path.as_deref().filter(|p| *p != g.path) {
            problems.extend(path_problems(conn, path, parent.as_ref())?);
        }
        if let Some(v) = changes.visibility {
            if let Some(parent) = &parent {
                problems.extend(visibility_above_parent(v, parent));
            }
            if let Some((child, what)) = most_visible_child(conn, id)?
                && child > v
            {
                problems.push((
                    "visibility_level",
                    format!(
                        "{} is not allowed since there are {what} with higher visibility.",
                        v.as_str()
                    ),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(WriteError::Invalid(problems));
        }
        diesel::update(groups::table.find(id))
            .set((
                groups::name.eq(changes.name.as_deref().map(str::trim).unwrap_or(&g.name)),
                groups::description.eq(changes.description.as_deref().unwrap_or(&g.description)),
                groups::visibility.eq(changes
                    .visibility
                    .map(Visibility::as_str)
                    .unwrap_or(&g.visibility)),
            ))
            .execute(conn)?;
        if let Some(path) = changes.path.as_deref().filter(|p| *p != g.path) {
            let new_full = full_path_under(parent.as_ref(), path);
            rename_subtree(conn, &g, path, &new_full)?;
        }
        Ok(find(conn, id)?.ok_or(StoreError::NotFound)?)
    })
}

fn rename_subtree(
    conn: &mut DbConnection,
    g: &GroupRow,
    new_path: &str,
    new_full: &str,
) -> Result<(), StoreError> {
    let old_full = g.full_path.as_str();
    let moved = |full: &str| format!("{new_full}{}", &full[old_full.len().min(full.len())..]);
    let subtree = self_and_descendants(conn, &[g.id])?;
    let rows: Vec<GroupRow> = groups::table
        .filter(groups::id.eq_any(&subtree))
        .select(GroupRow::as_select())
        .load(conn)?;
    for row in rows {
        let full = moved(&row.full_path);
        let path = if row.id == g.id { new_path } else { &row.path };
        diesel::update(groups::table.find(row.id))
            .set((groups::path.eq(path), groups::full_path.eq(&full)))
            .execute(conn)?;
        namespaces::rename_group(conn, row.id, path, &full)?;
    }
    let inside: Vec<(i64, String)> = projects::table
        .filter(projects::group_id.eq_any(&subtree))
        .select((projects::id, projects::full_path))
        .load(conn)?;
    for (pid, full) in inside {
        diesel::update(projects::table.find(pid))
            .set(projects::full_path.eq(moved(&full)))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a group with its subgroups, their projects and memberships, in one transaction;
/// returns the ids of the projects deleted with it (their repositories are the caller's: see
/// [`crate::git::lifecycle::delete_group`]).
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<Vec<i64>, StoreError> {
    write_transaction(conn, |conn| {
        if find(conn, id)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let subtree = self_and_descendants(conn, &[id])?;
        let project_ids: Vec<i64> = projects::table
            .filter(projects::group_id.eq_any(&subtree))
            .select(projects::id)
            .load(conn)?;
        diesel::delete(projects::table.filter(projects::id.eq_any(&project_ids))).execute(conn)?;
        diesel::delete(members_table::table.filter(members_table::group_id.eq_any(&subtree)))
            .execute(conn)?;
        // Deepest first, so no row is left pointing at a deleted parent.
        let mut ordered: Vec<(i64, usize)> = Vec::new();
        let mut tree = GroupTree::default();
        tree.extend(conn, subtree.iter().copied())?;
        for g in &subtree {
            ordered.push((*g, tree.chain(*g).len()));
        }
        ordered.sort_by_key(|(_, depth)| std::cmp::Reverse(*depth));
        for (g, _) in ordered {
            diesel::delete(groups::table.find(g)).execute(conn)?;
        }
        diesel::delete(namespaces_table::table.filter(namespaces_table::id.eq_any(&subtree)))
            .execute(conn)?;
        Ok(project_ids)
    })
}

/// Filters of group lists. Membership filters concern the viewer's user.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Candidates are narrowed to what this viewer could see (the gate then applies the token).
    pub viewer: Viewer,
    /// Name or path contains (case-insensitive).
    pub search: Option<String>,
    /// Only groups where the viewer's effective role is at least this (Guest: any membership).
    pub min_access_level: Option<Role>,
    /// Only direct children of this group.
    pub parent_id: Option<i64>,
    /// Only these groups.
    pub ids: Option<Vec<i64>>,
    pub top_level_only: bool,
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupOrder {
    #[default]
    Name,
    Path,
    Id,
}

impl GroupOrder {
    pub fn parse(s: &str) -> Option<GroupOrder> {
        Some(match s {
            "name" => GroupOrder::Name,
            "path" => GroupOrder::Path,
            "id" => GroupOrder::Id,
            _ => return None,
        })
    }
}

type GroupCond = Box<dyn BoxableExpression<groups::table, MultiBackend, SqlType = Nullable<Bool>>>;

fn never() -> GroupCond {
    Box::new(sql::<Nullable<Bool>>("1=0"))
}

/// Groups matching `filter`, ordered, ties broken by id (a few queries).
pub fn list(
    conn: &mut DbConnection,
    filter: &GroupFilter,
    order: GroupOrder,
    descending: bool,
) -> Result<Vec<GroupRow>, StoreError> {
    let access = match filter.viewer.user_id() {
        Some(u) => Some(members::access_of(conn, u)?),
        None => None,
    };
    let visible: Option<GroupCond> = match (filter.viewer, &access) {
        (Viewer::Admin(_), _) => None,
        (Viewer::User(_), Some(a)) => {
            let member_of = members::reach(conn, a, Role::Guest)?.group_ids;
            let mut cond: GroupCond = Box::new(
                groups::visibility
                    .eq_any([Visibility::Public.as_str(), Visibility::Internal.as_str()])
                    .nullable(),
            );
            if !member_of.is_empty() {
                cond = Box::new(cond.or(groups::id.eq_any(member_of).nullable()));
            }
            Some(cond)
        }
        _ => Some(Box::new(
            groups::visibility
                .eq(Visibility::Public.as_str())
                .nullable(),
        )),
    };
    let membership: Option<GroupCond> = match (filter.min_access_level, &access) {
        (None, _) => None,
        (Some(_), None) => Some(never()),
        (Some(min), Some(a)) => {
            let ids = members::reach(conn, a, min.max(Role::Guest))?.group_ids;
            Some(if ids.is_empty() {
                never()
            } else {
                Box::new(groups::id.eq_any(ids).nullable())
            })
        }
    };
    let mut q = groups::table.select(GroupRow::as_select()).into_boxed();
    if let Some(c) = visible {
        q = q.filter(c);
    }
    if let Some(c) = membership {
        q = q.filter(c);
    }
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = like_pattern(s);
        q = q.filter(
            lower(groups::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(groups::path).like(pattern).escape('\\')),
        );
    }
    if let Some(p) = filter.parent_id {
        q = q.filter(groups::parent_id.eq(p));
    }
    if let Some(ids) = &filter.ids {
        q = q.filter(groups::id.eq_any(ids.clone()));
    }
    if filter.top_level_only {
        q = q.filter(groups::parent_id.is_null());
    }
    if let Some(v) = filter.visibility {
        q = q.filter(groups::visibility.eq(v.as_str()));
    }
    q = match (order, descending) {
        (GroupOrder::Name, false) => q.order((groups::name.asc(), groups::id.asc())),
        (GroupOrder::Name, true) => q.order((groups::name.desc(), groups::id.desc())),
        (GroupOrder::Path, false) => q.order((groups::path.asc(), groups::id.asc())),
        (GroupOrder::Path, true) => q.order((groups::path.desc(), groups::id.desc())),
        (GroupOrder::Id, false) => q.order(groups::id.asc()),
        (GroupOrder::Id, true) => q.order(groups::id.desc()),
    };
    Ok(q.load(conn)?)
}

/// `%text%` in lower case with LIKE wildcards escaped (`\` is the escape character).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    //! The store's group/project/namespace functions on a real database: SQLite always,
    //! PostgreSQL too when `TINFORGE_TEST_DATABASE_URL` is set; and the migrations revert cleanly.

    use super::*;
    use crate::connection::DatabaseUrl;
    use crate::projects::{Namespace, NewProject, ProjectFilter, ProjectOrder};
    use crate::users::NewUser;
    use crate::{Store, migrate, namespaces, projects, users};
    use diesel::RunQueryDsl;

    fn user(conn: &mut DbConnection, name: &str) -> crate::users::User {
        let email = format!("{name}@example.com");
        users::create(
            conn,
            &NewUser {
                username: name,
                email: &email,
                name,
                password: "password123",
                is_admin: false,
            },
        )
        .unwrap()
    }

    fn scenario(store: &Store) {
        let mut conn = store.conn().unwrap();
        let conn = &mut *conn;
        let alice = user(conn, "alice");
        let bob = user(conn, "bob");
        let personal = namespaces::of_user(conn, alice.id).unwrap().unwrap();
        assert_eq!(personal.full_path, "alice");
        let acme = create(
            conn,
            &NewGroup {
                name: "Acme",
                path: "acme",
                description: "",
                visibility: Visibility::Private,
                parent: None,
                owner_id: Some(alice.id),
            },
        )
        .unwrap();
        // A group's id is its namespace id, never a personal namespace's.
        let ns = namespaces::find(conn, acme.id).unwrap().unwrap();
        assert_eq!((ns.kind.as_str(), ns.group_id), ("group", Some(acme.id)));
        assert_ne!(acme.id, personal.id);
        let sub = create(
            conn,
            &NewGroup {
                name: "Sub",
                path: "sub",
                description: "",
                visibility: Visibility::Private,
                parent: Some(&acme),
                owner_id: Some(alice.id),
            },
        )
        .unwrap();
        let taken = create(
            conn,
            &NewGroup {
                name: "x",
                path: "alice",
                description: "",
                visibility: Visibility::Private,
                parent: None,
                owner_id: None,
            },
        );
        assert!(matches!(taken, Err(WriteError::Invalid(p)) if p[0].0 == "path"));
        let p = projects::create(
            conn,
            &NewProject {
                namespace: Namespace::Group(&sub),
                name: "P",
                path: "p",
                description: "",
                visibility: Visibility::Private,
                default_branch: None,
                merge_method: None,
                creator_id: alice.id,
            },
        )
        .unwrap();
        assert_eq!(p.full_path, "acme/sub/p");
        let tree = GroupTree::load(conn, [sub.id]).unwrap();
        assert_eq!(tree.chain(sub.id), [sub.id, acme.id]);
        assert_eq!(tree.full_name(sub.id).unwrap(), "Acme / Sub");
        let list = |conn: &mut DbConnection, viewer| {
            let filter = ProjectFilter {
                viewer,
                ..ProjectFilter::default()
            };
            projects::list(conn, &filter, ProjectOrder::Id, false)
                .unwrap()
                .len()
        };
        assert_eq!(list(conn, Viewer::Anonymous), 0);
        assert_eq!(list(conn, Viewer::User(bob.id)), 0);
        assert_eq!(list(conn, Viewer::User(alice.id)), 1);
        assert_eq!(list(conn, Viewer::Admin(bob.id)), 1);
        members::add(conn, Source::Group(acme.id), bob.id, Role::Reporter, None).unwrap();
        assert_eq!(list(conn, Viewer::User(bob.id)), 1);
        let access = members::access_of(conn, bob.id).unwrap();
        assert_eq!(
            projects::target_in(&p, &tree, Some(&access)).role,
            Role::Reporter
        );
        delete(conn, acme.id).unwrap();
        assert!(namespaces::find(conn, sub.id).unwrap().is_none());
        assert!(projects::find(conn, p.id).unwrap().is_none());
        assert_eq!(list(conn, Viewer::Admin(bob.id)), 0);
        migrate::revert_all(conn).unwrap();
        migrate::run_pending(conn).unwrap();
    }

    #[test]
    fn groups_projects_and_namespaces_on_every_backend() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let file = std::env::temp_dir().join(format!(
            "tinforge-store-{}-{stamp}.sqlite3",
            std::process::id()
        ));
        scenario(&Store::open(&DatabaseUrl::Sqlite(file.clone()), 1).unwrap());
        let _ = std::fs::remove_file(&file);
        if let Ok(base) = std::env::var("TINFORGE_TEST_DATABASE_URL")
            && !base.is_empty()
        {
            let name = format!("tf_store_{}_{}", std::process::id(), stamp % 1_000_000_000);
            let mut admin = diesel::PgConnection::establish(&base).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            let (head, _) = base.rsplit_once('/').unwrap();
            let url = format!("{head}/{name}");
            {
                let store = Store::open(&DatabaseUrl::Postgres(url), 1).unwrap();
                scenario(&store);
            }
            diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .unwrap();
        }
    }
}
