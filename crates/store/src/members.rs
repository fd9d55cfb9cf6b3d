//! Memberships of projects and groups (GitLab access levels 10–50), a user's access as loaded
//! once for a whole list, and who is looking at a list ([`Viewer`]).
//!
//! A membership of a group is inherited by its subgroups and their projects; the highest role
//! wins. A membership with `expires_at` on or before today grants nothing and is not listed.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::groups;
use crate::namespaces::WriteError;
use crate::projects::{self, ProjectRow};
use crate::schema::{members, users};
use crate::users::User;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};
use tinforge_authz::{Role, Target, TargetKind};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: i64,
    pub user_id: i64,
    pub project_id: Option<i64>,
    pub group_id: Option<i64>,
    pub access_level: i32,
    pub created_at: chrono::NaiveDateTime,
    pub expires_at: Option<NaiveDate>,
}

/// What a membership is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Project(i64),
    Group(i64),
}

impl Source {
    /// The source of an authorization target.
    pub fn of(target: &Target) -> Source {
        match target.kind {
            TargetKind::Project => Source::Project(target.id),
            TargetKind::Group => Source::Group(target.id),
        }
    }
}

/// A membership with its user, as lists show it.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub created_at: chrono::NaiveDateTime,
    pub expires_at: Option<NaiveDate>,
    /// Where the membership is held (for inherited ones: the ancestor group).
    pub source: Source,
}

/// Who looks at a list: the store narrows candidates to what this user could see; the gate then
/// judges every item with the token's eyes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    User(i64),
    /// An admin in admin mode: everything.
    Admin(i64),
}

impl Viewer {
    pub fn user_id(self) -> Option<i64> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User(u) | Viewer::Admin(u) => Some(u),
        }
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn is_active(expires_at: Option<NaiveDate>, today: NaiveDate) -> bool {
    expires_at.is_none_or(|d| d > today)
}

fn role_of(level: i32) -> Role {
    Role::from_access_level(level).unwrap_or(Role::None)
}

/// A user's direct, active memberships, loaded with one query.
#[derive(Debug, Clone, Default)]
pub struct UserAccess {
    pub user_id: i64,
    pub projects: HashMap<i64, Role>,
    pub groups: HashMap<i64, Role>,
}

pub fn access_of(conn: &mut DbConnection, user_id: i64) -> Result<UserAccess, StoreError> {
    let rows: Vec<MemberRow> = members::table
        .filter(members::user_id.eq(user_id))
        .select(MemberRow::as_select())
        .load(conn)?;
    let today = today();
    let mut access = UserAccess {
        user_id,
        ..UserAccess::default()
    };
    for m in rows.into_iter().filter(|m| is_active(m.expires_at, today)) {
        match (m.project_id, m.group_id) {
            (Some(p), _) => {
                access.projects.insert(p, role_of(m.access_level));
            }
            (None, Some(g)) => {
                access.groups.insert(g, role_of(m.access_level));
            }
            _ => {}
        }
    }
    Ok(access)
}

impl UserAccess {
    /// The highest role over a group chain (a group and its ancestors).
    pub fn group_role(&self, chain: &[i64]) -> Role {
        Role::highest(chain.iter().filter_map(|g| self.groups.get(g).copied()))
    }

    /// The effective role on a project whose namespace group chain is `chain`.
    pub fn project_role(&self, p: &ProjectRow, chain: &[i64]) -> Role {
        if p.owner_id == Some(self.user_id) {
            return Role::Owner;
        }
        let direct = self.projects.get(&p.id).copied().unwrap_or(Role::None);
        direct.max(self.group_role(chain))
    }

    /// Groups where the user holds at least `min` directly.
    pub fn groups_at_least(&self, min: Role) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .groups
            .iter()
            .filter(|(_, r)| **r >= min)
            .map(|(g, _)| *g)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Projects where the user holds at least `min` directly.
    pub fn projects_at_least(&self, min: Role) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .projects
            .iter()
            .filter(|(_, r)| **r >= min)
            .map(|(p, _)| *p)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Where a user holds at least some role, closed over subgroups: the projects and groups a list
/// filter by membership may keep.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub user_id: i64,
    pub project_ids: Vec<i64>,
    /// Member groups and all their descendants.
    pub group_ids: Vec<i64>,
}

/// What `access` reaches at `min` or above (a few queries: one per level of subgroups).
pub fn reach(conn: &mut DbConnection, access: &UserAccess, min: Role) -> Result<Reach, StoreError> {
    Ok(Reach {
        user_id: access.user_id,
        project_ids: access.projects_at_least(min),
        group_ids: groups::self_and_descendants(conn, &access.groups_at_least(min))?,
    })
}

fn load_direct(
    conn: &mut DbConnection,
    source: Source,
) -> Result<Vec<(MemberRow, User)>, StoreError> {
    let query = members::table
        .inner_join(users::table)
        .select((MemberRow::as_select(), User::as_select()))
        .order(members::id.asc())
        .into_boxed();
    let query = match source {
        Source::Project(id) => query.filter(members::project_id.eq(id)),
        Source::Group(id) => query.filter(members::group_id.eq(id)),
    };
    let today = today();
    Ok(query
        .load::<(MemberRow, User)>(conn)?
        .into_iter()
        .filter(|(m, _)| is_active(m.expires_at, today))
        .collect())
}

fn member(row: MemberRow, user: User, source: Source) -> Member {
    Member {
        user,
        role: role_of(row.access_level),
        created_at: row.created_at,
        expires_at: row.expires_at,
        source,
    }
}

/// Direct, active members, in the order they were added.
pub fn list_direct(conn: &mut DbConnection, source: Source) -> Result<Vec<Member>, StoreError> {
    Ok(load_direct(conn, source)?
        .into_iter()
        .map(|(m, u)| member(m, u, source))
        .collect())
}

/// The groups a source inherits memberships from, nearest first.
fn inherited_from(conn: &mut DbConnection, source: Source) -> Result<Vec<i64>, StoreError> {
    Ok(match source {
        Source::Project(id) => match projects::find(conn, id)?.and_then(|p| p.group_id) {
            Some(g) => groups::self_and_ancestors(conn, g)?,
            None => Vec::new(),
        },
        Source::Group(id) => groups::self_and_ancestors(conn, id)?
            .into_iter()
            .skip(1)
            .collect(),
    })
}

/// Direct and inherited members (from every group above), one per user, the highest role winning;
/// ordered by user id.
pub fn list_all(conn: &mut DbConnection, source: Source) -> Result<Vec<Member>, StoreError> {
    let mut sources = vec![source];
    sources.extend(inherited_from(conn, source)?.into_iter().map(Source::Group));
    let mut best: BTreeMap<i64, Member> = BTreeMap::new();
    for s in sources {
        for (m, u) in load_direct(conn, s)? {
            let candidate = member(m, u, s);
            match best.get(&candidate.user.id) {
                Some(existing) if existing.role >= candidate.role => {}
                _ => {
                    best.insert(candidate.user.id, candidate);
                }
            }
        }
    }
    Ok(best.into_values().collect())
}

/// One direct, active membership.
pub fn find_direct(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
) -> Result<Option<Member>, StoreError> {
    Ok(list_direct(conn, source)?
        .into_iter()
        .find(|m| m.user.id == user_id))
}

/// One member, direct or inherited (the highest role).
pub fn find_effective(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
) -> Result<Option<Member>, StoreError> {
    Ok(list_all(conn, source)?
        .into_iter()
        .find(|m| m.user.id == user_id))
}

fn row_of(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
) -> Result<Option<MemberRow>, StoreError> {
    let query = members::table
        .filter(members::user_id.eq(user_id))
        .select(MemberRow::as_select())
        .into_boxed();
    let query = match source {
        Source::Project(id) => query.filter(members::project_id.eq(id)),
        Source::Group(id) => query.filter(members::group_id.eq(id)),
    };
    Ok(query.first(conn).optional()?)
}

/// The highest active role `user_id` inherits on `source` from the groups above it, and where.
fn inherited_role(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
) -> Result<Option<(Role, i64)>, StoreError> {
    let chain = inherited_from(conn, source)?;
    if chain.is_empty() {
        return Ok(None);
    }
    let today = today();
    let rows: Vec<MemberRow> = members::table
        .filter(members::user_id.eq(user_id))
        .filter(members::group_id.eq_any(&chain))
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|m| is_active(m.expires_at, today))
        .filter_map(|m| m.group_id.map(|g| (role_of(m.access_level), g)))
        .max_by_key(|(r, _)| *r))
}

fn check_not_below_inherited(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
    role: Role,
) -> Result<(), WriteError> {
    if let Some((inherited, group_id)) = inherited_role(conn, source, user_id)?
        && role < inherited
    {
        let path = groups::find(conn, group_id)?
            .map(|g| g.full_path)
            .unwrap_or_default();
        return Err(WriteError::field(
            "access_level",
            format!(
                "should be greater than or equal to {} inherited membership from group {path}",
                capitalized(inherited)
            ),
        ));
    }
    Ok(())
}

fn capitalized(role: Role) -> String {
    let name = role.as_str();
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A group must keep an owner (direct or inherited from above), and a personal project its
/// owner: refuses taking `user_id`'s Owner role away when nobody else would hold it.
fn check_keeps_owner(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
) -> Result<(), WriteError> {
    match source {
        Source::Project(id) => {
            if projects::find(conn, id)?.is_some_and(|p| p.owner_id == Some(user_id)) {
                return Err(WriteError::Conflict(
                    "The owner of a personal project cannot be removed or demoted".into(),
                ));
            }
            Ok(())
        }
        Source::Group(id) => {
            let chain = groups::self_and_ancestors(conn, id)?;
            let today = today();
            // Any other Owner membership along the chain, the user's own ones above included.
            let others = members::table
                .filter(members::group_id.eq_any(&chain))
                .filter(members::access_level.eq(Role::Owner.access_level()))
                .select(MemberRow::as_select())
                .load::<MemberRow>(conn)?
                .into_iter()
                .any(|m| {
                    is_active(m.expires_at, today)
                        && !(m.group_id == Some(id) && m.user_id == user_id)
                });
            if others {
                Ok(())
            } else {
                let path = groups::find(conn, id)?
                    .map(|g| g.full_path)
                    .unwrap_or_default();
                Err(WriteError::Conflict(format!(
                    "The last owner of group {path} cannot be removed or demoted; add another owner first"
                )))
            }
        }
    }
}

/// Inserts or replaces a membership row (inside the caller's transaction).
pub(crate) fn put(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
    role: Role,
    expires_at: Option<NaiveDate>,
) -> Result<(), StoreError> {
    match row_of(conn, source, user_id)? {
        Some(row) => {
            diesel::update(members::table.find(row.id))
                .set((
                    members::access_level.eq(role.access_level()),
                    members::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
        }
        None => {
            let (project_id, group_id) = match source {
                Source::Project(id) => (Some(id), None),
                Source::Group(id) => (None, Some(id)),
            };
            diesel::insert_into(members::table)
                .values((
                    members::user_id.eq(user_id),
                    members::project_id.eq(project_id),
                    members::group_id.eq(group_id),
                    members::access_level.eq(role.access_level()),
                    members::created_at.eq(crate::now()),
                    members::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn reload(conn: &mut DbConnection, source: Source, user_id: i64) -> Result<Member, WriteError> {
    let row = row_of(conn, source, user_id)?.ok_or(StoreError::NotFound)?;
    let user = crate::users::find(conn, user_id)?.ok_or(StoreError::NotFound)?;
    Ok(member(row, user, source))
}

/// Adds a member. An active membership already there is a conflict ("Member already exists"); a
/// role below what the user inherits from a parent group is refused.
pub fn add(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
    role: Role,
    expires_at: Option<NaiveDate>,
) -> Result<Member, WriteError> {
    if role == Role::None {
        return Err(WriteError::field("access_level", "is invalid"));
    }
    write_transaction(conn, |conn| {
        if crate::users::find(conn, user_id)?.is_none() {
            return Err(WriteError::Store(StoreError::NotFound));
        }
        if row_of(conn, source, user_id)?.is_some_and(|r| is_active(r.expires_at, today())) {
            return Err(WriteError::Conflict("Member already exists".into()));
        }
        check_not_below_inherited(conn, source, user_id, role)?;
        put(conn, source, user_id, role, expires_at)?;
        reload(conn, source, user_id)
    })
}

/// Changes a member's role (and, when `expires_at` is given, its expiry). Not a member: NotFound.
pub fn update(
    conn: &mut DbConnection,
    source: Source,
    user_id: i64,
    role: Role,
    expires_at: Option<Option<NaiveDate>>,
) -> Result<Member, WriteError> {
    if role == Role::None {
        return Err(WriteError::field("access_level", "is invalid"));
    }
    write_transaction(conn, |conn| {
        let row = row_of(conn, source, user_id)?
            .filter(|r| is_active(r.expires_at, today()))
            .ok_or(StoreError::NotFound)?;
        if role_of(row.access_level) == Role::Owner && role < Role::Owner {
            check_keeps_owner(conn, source, user_id)?;
        }
        check_not_below_inherited(conn, source, user_id, role)?;
        put(
            conn,
            source,
            user_id,
            role,
            expires_at.unwrap_or(row.expires_at),
        )?;
        reload(conn, source, user_id)
    })
}

/// Removes a direct member. Not a member: NotFound; the last owner: a conflict.
pub fn remove(conn: &mut DbConnection, source: Source, user_id: i64) -> Result<(), WriteError> {
    write_transaction(conn, |conn| {
        let row = row_of(conn, source, user_id)?
            .filter(|r| is_active(r.expires_at, today()))
            .ok_or(StoreError::NotFound)?;
        if role_of(row.access_level) == Role::Owner {
            check_keeps_owner(conn, source, user_id)?;
        }
        diesel::delete(members::table.find(row.id)).execute(conn)?;
        Ok(())
    })
}

/// The caller's own direct role on a project and the highest direct role over its groups: the
/// `permissions` of GitLab's project JSON.
pub fn project_and_group_access(
    access: &UserAccess,
    project_id: i64,
    chain: &[i64],
) -> (Option<Role>, Option<Role>) {
    let project = access.projects.get(&project_id).copied();
    let group = Some(access.group_role(chain)).filter(|r| *r > Role::None);
    (project, group)
}
