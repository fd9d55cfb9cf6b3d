//! Issues: project-scoped `iid`s from a per-project counter (never reused), labels, assignees,
//! state with system notes, and listing with filters, offset or keyset pages and a capped total.
//!
//! Who sees a confidential issue is decided here, once, by [`Viewer`] and [`visible_to`]: its
//! author, its assignees, Reporter+ on its project, and admins in admin mode. Every read of
//! issues (REST, GraphQL, counts) goes through that filter, so an invisible issue is absent from
//! lists and totals and reads as missing.

use crate::connection::{DbConnection, MultiBackend, write_transaction};
use crate::error::StoreError;
use crate::labels::{self, LabelRow};
use crate::notes;
use crate::schema::{
    issue_assignees, issue_iid_counters, issue_labels, issues, labels as labels_t,
    notes as notes_t, projects, users,
};
use crate::sql::lower;
use crate::users::User;
use chrono::{DateTime, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::Bool;
use std::collections::HashMap;
use tinforge_authz::{Principal, Role, Target, TargetKind, Visibility};

pub const OPENED: &str = "opened";
pub const CLOSED: &str = "closed";

/// Above this many matching issues a list reports no total (GitLab drops `X-Total` there too),
/// so counting costs at most this many index entries however large a project grows.
pub const COUNT_LIMIT: i64 = 10_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = issues)]
pub struct IssueRow {
    pub id: i64,
    pub project_id: i64,
    pub iid: i64,
    pub title: String,
    pub description: Option<String>,
    pub state: String,
    pub confidential: bool,
    pub author_id: i64,
    pub closed_by_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

/// An issue with what its JSON needs: project path, people, labels and the comment count.
#[derive(Debug, Clone)]
pub struct Issue {
    pub row: IssueRow,
    pub project_path: String,
    pub author: Option<User>,
    pub assignees: Vec<User>,
    pub closed_by: Option<User>,
    pub labels: Vec<LabelRow>,
    pub user_notes_count: i64,
}

/// Who is looking at issues, for confidential issues and internal notes.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user_id: Option<i64>,
    /// An admin in admin mode sees everything.
    pub admin: bool,
    /// Projects where the viewer is Reporter+ and so sees every confidential issue.
    pub reporter_projects: Vec<i64>,
}

impl Viewer {
    pub fn anonymous() -> Viewer {
        Viewer::default()
    }

    /// The caller on a project target the gate authorized (the target's role is the caller's).
    pub fn on_target(principal: Option<&Principal>, target: &Target) -> Viewer {
        let reporter = target.kind == TargetKind::Project && target.role >= Role::Reporter;
        Viewer {
            user_id: principal.map(|p| p.user_id),
            admin: principal.is_some_and(|p| p.in_admin_mode()),
            reporter_projects: if reporter { vec![target.id] } else { vec![] },
        }
    }

    /// Does the viewer see every confidential issue and internal note of the project?
    pub fn sees_everything_in(&self, project_id: i64) -> bool {
        self.admin || self.reporter_projects.contains(&project_id)
    }
}

type IssuePredicate = Box<dyn BoxableExpression<issues::table, MultiBackend, SqlType = Bool>>;

/// The one visibility rule for issues: not confidential, or the viewer is Reporter+ on the
/// project, an admin, the author or an assignee.
pub fn visible_to(viewer: &Viewer) -> IssuePredicate {
    if viewer.admin {
        return Box::new(diesel::dsl::sql::<Bool>("1 = 1"));
    }
    let mut visible: IssuePredicate = Box::new(issues::confidential.eq(false));
    if !viewer.reporter_projects.is_empty() {
        visible = Box::new(visible.or(issues::project_id.eq_any(viewer.reporter_projects.clone())));
    }
    if let Some(user_id) = viewer.user_id {
        visible = Box::new(
            visible
                .or(issues::author_id.eq(user_id))
                .or(issues::id.eq_any(
                    issue_assignees::table
                        .filter(issue_assignees::user_id.eq(user_id))
                        .select(issue_assignees::issue_id),
                )),
        );
    }
    visible
}

/// May `actor` (with `role` on the project) edit the issue: its author or an assignee, Reporter+,
/// or an admin in admin mode.
pub fn may_edit(issue: &Issue, actor_id: i64, role: Role, admin: bool) -> bool {
    admin
        || role >= Role::Reporter
        || issue.row.author_id == actor_id
        || issue.assignees.iter().any(|a| a.id == actor_id)
}

/// May `actor` set labels and assignees (and create labels on the fly): Reporter+ or admin.
/// Others' label and assignee parameters are ignored, as GitLab does.
pub fn may_set_metadata(role: Role, admin: bool) -> bool {
    admin || role >= Role::Reporter
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

// ---------------------------------------------------------------------------------------------
// Listing

/// Which projects a list covers.
#[derive(Debug, Clone)]
pub enum ProjectScope {
    One(i64),
    Many(Vec<i64>),
    /// Every project (admins).
    All,
}

/// `labels=`: `None`, `Any`, or names that must all be present.
#[derive(Debug, Clone, Default)]
pub enum LabelFilter {
    #[default]
    Ignore,
    NoLabels,
    AnyLabel,
    All(Vec<String>),
}

impl LabelFilter {
    /// GitLab's `labels=` parameter (already split at commas): `None`, `Any`, or names.
    pub fn from_param(names: Option<Vec<String>>) -> LabelFilter {
        match names {
            None => LabelFilter::Ignore,
            Some(l) if l.is_empty() => LabelFilter::Ignore,
            Some(l) if l.len() == 1 && l[0].eq_ignore_ascii_case("none") => LabelFilter::NoLabels,
            Some(l) if l.len() == 1 && l[0].eq_ignore_ascii_case("any") => LabelFilter::AnyLabel,
            Some(l) => LabelFilter::All(l),
        }
    }
}

/// A person filter (author, assignee): by id or username; `None`/`Any` for assignees.
#[derive(Debug, Clone, Default)]
pub enum PersonFilter {
    #[default]
    Ignore,
    Nobody,
    Anybody,
    Id(i64),
    Username(String),
}

#[derive(Debug, Clone)]
pub struct IssueFilter {
    pub projects: ProjectScope,
    /// `opened` or `closed`; None: all.
    pub state: Option<&'static str>,
    pub labels: LabelFilter,
    /// Case-insensitive substring of title or description.
    pub search: Option<String>,
    pub author: PersonFilter,
    pub assignee: PersonFilter,
    /// Only these iids (empty: all).
    pub iids: Vec<i64>,
    pub confidential: Option<bool>,
    /// Only issues with a global id above / below these.
    pub id_after: Option<i64>,
    pub id_before: Option<i64>,
    pub created_after: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
    pub updated_after: Option<NaiveDateTime>,
    pub updated_before: Option<NaiveDateTime>,
}

impl IssueFilter {
    pub fn new(projects: ProjectScope) -> IssueFilter {
        IssueFilter {
            projects,
            state: None,
            labels: LabelFilter::Ignore,
            search: None,
            author: PersonFilter::Ignore,
            assignee: PersonFilter::Ignore,
            iids: Vec::new(),
            confidential: None,
            id_after: None,
            id_before: None,
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    Id,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub by: OrderBy,
    pub desc: bool,
}

impl Default for Order {
    /// GitLab's default: newest first.
    fn default() -> Self {
        Order {
            by: OrderBy::CreatedAt,
            desc: true,
        }
    }
}

/// Where a keyset page starts: after this issue in the list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub id: i64,
    /// The order column's value (created_at / updated_at orders).
    pub at: Option<NaiveDateTime>,
}

impl Cursor {
    fn of(row: &IssueRow, by: OrderBy) -> Cursor {
        Cursor {
            id: row.id,
            at: match by {
                OrderBy::Id => None,
                OrderBy::CreatedAt => Some(row.created_at),
                OrderBy::UpdatedAt => Some(row.updated_at),
            },
        }
    }

    /// An opaque token for `cursor=`.
    pub fn encode(&self) -> String {
        let text = match self.at {
            None => format!("i:{}", self.id),
            Some(t) => format!("t:{}:{}", t.and_utc().timestamp_micros(), self.id),
        };
        hex::encode(text)
    }

    /// Reads a `cursor=` token made for `by`; anything else is None.
    pub fn decode(token: &str, by: OrderBy) -> Option<Cursor> {
        let text = String::from_utf8(hex::decode(token.trim()).ok()?).ok()?;
        let mut parts = text.split(':');
        match (parts.next()?, by) {
            ("i", OrderBy::Id) => {
                let id = parts.next()?.parse().ok()?;
                parts.next().is_none().then_some(Cursor { id, at: None })
            }
            ("t", OrderBy::CreatedAt | OrderBy::UpdatedAt) => {
                let micros: i64 = parts.next()?.parse().ok()?;
                let id = parts.next()?.parse().ok()?;
                let at = DateTime::from_timestamp_micros(micros)?.naive_utc();
                parts
                    .next()
                    .is_none()
                    .then_some(Cursor { id, at: Some(at) })
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    Offset { offset: i64, limit: i64 },
    Keyset { after: Option<Cursor>, limit: i64 },
}

#[derive(Debug, Clone)]
pub struct IssuePage {
    pub issues: Vec<Issue>,
    /// Matching issues the viewer sees; None above [`COUNT_LIMIT`] and for keyset pages.
    pub total: Option<i64>,
    /// Whether more issues follow this page.
    pub has_more: bool,
    /// For keyset pages with more to come: where the next one starts.
    pub next: Option<Cursor>,
}

type IssueQuery = issues::BoxedQuery<'static, MultiBackend>;

/// What a filtered query is for: the label test is written differently for each, as the two
/// backends' planners run them best. A page walks an order index and probes each row's labels
/// (`EXISTS`, no set built first); a count walks the label's issue ids (`IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Page,
    Count,
}

/// The issues `filter` selects that `viewer` may see, unordered.
fn filtered(filter: &IssueFilter, viewer: &Viewer, shape: Shape) -> IssueQuery {
    let mut q = issues::table.into_boxed();
    q = match &filter.projects {
        ProjectScope::One(id) => q.filter(issues::project_id.eq(*id)),
        ProjectScope::Many(ids) => q.filter(issues::project_id.eq_any(ids.clone())),
        ProjectScope::All => q,
    };
    if !sees_all(&filter.projects, viewer) {
        q = q.filter(visible_to(viewer));
    }
    if let Some(state) = filter.state {
        q = q.filter(issues::state.eq(state));
    }
    if let Some(c) = filter.confidential {
        q = q.filter(issues::confidential.eq(c));
    }
    if !filter.iids.is_empty() {
        q = q.filter(issues::iid.eq_any(filter.iids.clone()));
    }
    if let Some(s) = &filter.search {
        let pattern = format!("%{}%", escape_like(&s.to_lowercase()));
        q = q.filter(
            lower(issues::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(issues::description.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    q = match &filter.labels {
        LabelFilter::Ignore => q,
        LabelFilter::AnyLabel => q.filter(diesel::dsl::exists(
            issue_labels::table.filter(issue_labels::issue_id.eq(issues::id)),
        )),
        LabelFilter::NoLabels => q.filter(diesel::dsl::not(diesel::dsl::exists(
            issue_labels::table.filter(issue_labels::issue_id.eq(issues::id)),
        ))),
        LabelFilter::All(names) => {
            for name in names {
                let name = name.clone();
                let scope = match filter.projects {
                    ProjectScope::One(p) => Some(p),
                    _ => None,
                };
                q = match (shape, scope) {
                    (Shape::Page, Some(p)) => q.filter(diesel::dsl::exists(
                        issue_labels::table
                            .filter(issue_labels::issue_id.eq(issues::id))
                            .filter(
                                issue_labels::label_id.eq_any(
                                    labels_t::table
                                        .filter(labels_t::project_id.eq(p))
                                        .filter(labels_t::name.eq(name))
                                        .select(labels_t::id),
                                ),
                            ),
                    )),
                    (Shape::Page, None) => q.filter(diesel::dsl::exists(
                        issue_labels::table
                            .filter(issue_labels::issue_id.eq(issues::id))
                            .filter(
                                issue_labels::label_id.eq_any(
                                    labels_t::table
                                        .filter(labels_t::name.eq(name))
                                        .select(labels_t::id),
                                ),
                            ),
                    )),
                    (Shape::Count, Some(p)) => q.filter(
                        issues::id.eq_any(
                            issue_labels::table
                                .filter(
                                    issue_labels::label_id.eq_any(
                                        labels_t::table
                                            .filter(labels_t::project_id.eq(p))
                                            .filter(labels_t::name.eq(name))
                                            .select(labels_t::id),
                                    ),
                                )
                                .select(issue_labels::issue_id),
                        ),
                    ),
                    (Shape::Count, None) => q.filter(
                        issues::id.eq_any(
                            issue_labels::table
                                .filter(
                                    issue_labels::label_id.eq_any(
                                        labels_t::table
                                            .filter(labels_t::name.eq(name))
                                            .select(labels_t::id),
                                    ),
                                )
                                .select(issue_labels::issue_id),
                        ),
                    ),
                };
            }
            q
        }
    };
    q = match &filter.author {
        PersonFilter::Id(id) => q.filter(issues::author_id.eq(*id)),
        PersonFilter::Username(u) => q.filter(
            issues::author_id.eq_any(
                users::table
                    .filter(users::username.eq(u.clone()))
                    .select(users::id),
            ),
        ),
        PersonFilter::Ignore | PersonFilter::Anybody => q,
        PersonFilter::Nobody => q.filter(diesel::dsl::sql::<Bool>("1 = 0")),
    };
    let assigned = || issue_assignees::table.filter(issue_assignees::issue_id.eq(issues::id));
    q = match &filter.assignee {
        PersonFilter::Ignore => q,
        PersonFilter::Anybody => q.filter(diesel::dsl::exists(assigned())),
        PersonFilter::Nobody => q.filter(diesel::dsl::not(diesel::dsl::exists(assigned()))),
        PersonFilter::Id(id) => q.filter(
            issues::id.eq_any(
                issue_assignees::table
                    .filter(issue_assignees::user_id.eq(*id))
                    .select(issue_assignees::issue_id),
            ),
        ),
        PersonFilter::Username(u) => q.filter(
            issues::id.eq_any(
                issue_assignees::table
                    .inner_join(users::table)
                    .filter(users::username.eq(u.clone()))
                    .select(issue_assignees::issue_id),
            ),
        ),
    };
    if let Some(id) = filter.id_after {
        q = q.filter(issues::id.gt(id));
    }
    if let Some(id) = filter.id_before {
        q = q.filter(issues::id.lt(id));
    }
    if let Some(t) = filter.created_after {
        q = q.filter(issues::created_at.ge(t));
    }
    if let Some(t) = filter.created_before {
        q = q.filter(issues::created_at.le(t));
    }
    if let Some(t) = filter.updated_after {
        q = q.filter(issues::updated_at.ge(t));
    }
    if let Some(t) = filter.updated_before {
        q = q.filter(issues::updated_at.le(t));
    }
    q
}

/// Does the viewer see every issue of every project in scope (so no per-row visibility test is
/// needed, and counts can stay on covering indexes)?
fn sees_all(projects: &ProjectScope, viewer: &Viewer) -> bool {
    viewer.admin
        || match projects {
            ProjectScope::One(p) => viewer.sees_everything_in(*p),
            ProjectScope::Many(ids) => ids.iter().all(|p| viewer.sees_everything_in(*p)),
            ProjectScope::All => false,
        }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn ordered(q: IssueQuery, order: Order) -> IssueQuery {
    match (order.by, order.desc) {
        (OrderBy::Id, false) => q.order(issues::id.asc()),
        (OrderBy::Id, true) => q.order(issues::id.desc()),
        (OrderBy::CreatedAt, false) => q.order((issues::created_at.asc(), issues::id.asc())),
        (OrderBy::CreatedAt, true) => q.order((issues::created_at.desc(), issues::id.desc())),
        (OrderBy::UpdatedAt, false) => q.order((issues::updated_at.asc(), issues::id.asc())),
        (OrderBy::UpdatedAt, true) => q.order((issues::updated_at.desc(), issues::id.desc())),
    }
}

/// Rows strictly after `c` in `order`. Written as `col <= t AND (col < t OR id < i)` so the first
/// conjunct bounds an index range on both backends.
fn after(q: IssueQuery, order: Order, c: Cursor) -> IssueQuery {
    let id_after = |q: IssueQuery| {
        if order.desc {
            q.filter(issues::id.lt(c.id))
        } else {
            q.filter(issues::id.gt(c.id))
        }
    };
    let Some(t) = c.at else {
        return id_after(q);
    };
    macro_rules! by_column {
        ($col:expr) => {
            if order.desc {
                q.filter($col.le(t))
                    .filter($col.lt(t).or(issues::id.lt(c.id)))
            } else {
                q.filter($col.ge(t))
                    .filter($col.gt(t).or(issues::id.gt(c.id)))
            }
        };
    }
    match order.by {
        OrderBy::Id => id_after(q),
        OrderBy::CreatedAt => by_column!(issues::created_at),
        OrderBy::UpdatedAt => by_column!(issues::updated_at),
    }
}

/// How many issues match, or None when more than [`COUNT_LIMIT`] do. One pass that stops after
/// `COUNT_LIMIT + 1` rows: `SELECT COUNT(*) FROM (SELECT id … LIMIT n)`.
pub fn count_capped(
    conn: &mut DbConnection,
    filter: &IssueFilter,
    viewer: &Viewer,
) -> Result<Option<i64>, StoreError> {
    let inner = filtered(filter, viewer, Shape::Count)
        .select(issues::id)
        .limit(COUNT_LIMIT + 1);
    let n: i64 = CountRows { inner }.get_result(conn)?;
    Ok((n <= COUNT_LIMIT).then_some(n))
}

/// `SELECT COUNT(*) FROM (<inner>) AS counted`: diesel has no derived tables of its own.
#[derive(diesel::query_builder::QueryId)]
struct CountRows<Q> {
    inner: Q,
}

impl<Q> diesel::query_builder::Query for CountRows<Q> {
    type SqlType = diesel::sql_types::BigInt;
}

impl<Q> RunQueryDsl<DbConnection> for CountRows<Q> {}

impl<Q> diesel::query_builder::QueryFragment<MultiBackend> for CountRows<Q>
where
    Q: diesel::query_builder::QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

/// One page of the issues `filter` selects that `viewer` may see.
pub fn list(
    conn: &mut DbConnection,
    filter: &IssueFilter,
    viewer: &Viewer,
    order: Order,
    paging: Paging,
) -> Result<IssuePage, StoreError> {
    let (rows, total, limit) = match paging {
        Paging::Offset { offset, limit } => {
            let rows: Vec<IssueRow> = ordered(filtered(filter, viewer, Shape::Page), order)
                .offset(offset)
                .limit(limit + 1)
                .select(IssueRow::as_select())
                .load(conn)?;
            let total = count_capped(conn, filter, viewer)?;
            (rows, total, limit)
        }
        Paging::Keyset {
            after: cursor,
            limit,
        } => {
            let mut q = filtered(filter, viewer, Shape::Page);
            if let Some(c) = cursor {
                if c.at.is_some() != (order.by != OrderBy::Id) {
                    return Err(StoreError::Invalid("cursor does not match order_by".into()));
                }
                q = after(q, order, c);
            }
            let rows: Vec<IssueRow> = ordered(q, order)
                .limit(limit + 1)
                .select(IssueRow::as_select())
                .load(conn)?;
            (rows, None, limit)
        }
    };
    let has_more = rows.len() as i64 > limit;
    let mut rows = rows;
    rows.truncate(limit.max(0) as usize);
    let next = match paging {
        Paging::Keyset { .. } if has_more => rows.last().map(|r| Cursor::of(r, order.by)),
        _ => None,
    };
    Ok(IssuePage {
        issues: hydrate(conn, rows)?,
        total,
        has_more,
        next,
    })
}

/// The issue `iid` of a project, if `viewer` may see it.
pub fn get(
    conn: &mut DbConnection,
    project_id: i64,
    iid: i64,
    viewer: &Viewer,
) -> Result<Option<Issue>, StoreError> {
    let row = issues::table
        .filter(issues::project_id.eq(project_id))
        .filter(issues::iid.eq(iid))
        .filter(visible_to(viewer))
        .select(IssueRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(r) => hydrate(conn, vec![r])?.pop(),
        None => None,
    })
}

fn users_by_id(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, User>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<User> = users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)?;
    Ok(list.into_iter().map(|u| (u.id, u)).collect())
}

/// Adds people, labels, project paths and comment counts to rows, in a handful of queries.
pub fn hydrate(conn: &mut DbConnection, rows: Vec<IssueRow>) -> Result<Vec<Issue>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let assignments: Vec<(i64, i64)> = issue_assignees::table
        .filter(issue_assignees::issue_id.eq_any(&ids))
        .order((issue_assignees::issue_id, issue_assignees::user_id))
        .select((issue_assignees::issue_id, issue_assignees::user_id))
        .load(conn)?;
    let mut people: Vec<i64> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.author_id).chain(r.closed_by_id))
        .chain(assignments.iter().map(|a| a.1))
        .collect();
    people.sort_unstable();
    people.dedup();
    let users = users_by_id(conn, &people)?;
    let mut labels = labels::for_issues(conn, &ids)?;
    let counts: HashMap<i64, i64> = notes_t::table
        .filter(notes_t::issue_id.eq_any(&ids))
        .filter(notes_t::system.eq(false))
        .group_by(notes_t::issue_id)
        .select((notes_t::issue_id, count_star()))
        .load::<(Option<i64>, i64)>(conn)?
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect();
    let mut project_ids: Vec<i64> = rows.iter().map(|r| r.project_id).collect();
    project_ids.sort_unstable();
    project_ids.dedup();
    let paths: HashMap<i64, String> = projects::table
        .filter(projects::id.eq_any(&project_ids))
        .select((projects::id, projects::full_path))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Issue {
            project_path: paths.get(&row.project_id).cloned().unwrap_or_default(),
            author: users.get(&row.author_id).cloned(),
            assignees: assignments
                .iter()
                .filter(|a| a.0 == row.id)
                .filter_map(|a| users.get(&a.1).cloned())
                .collect(),
            closed_by: row.closed_by_id.and_then(|u| users.get(&u).cloned()),
            labels: labels.remove(&row.id).unwrap_or_default(),
            user_notes_count: counts.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Cross-project lists

impl Viewer {
    /// The caller over several projects it may read issues in (each target as the gate judged
    /// it, with the caller's role there): what `/issues` and `/groups/:id/issues` list.
    pub fn over<'a>(
        principal: Option<&Principal>,
        targets: impl IntoIterator<Item = &'a Target>,
    ) -> (ProjectScope, Viewer) {
        let admin = principal.is_some_and(|p| p.in_admin_mode());
        let mut ids = Vec::new();
        let mut reporter = Vec::new();
        for t in targets
            .into_iter()
            .filter(|t| t.kind == TargetKind::Project)
        {
            ids.push(t.id);
            if t.role >= Role::Reporter {
                reporter.push(t.id);
            }
        }
        (
            ProjectScope::Many(ids),
            Viewer {
                user_id: principal.map(|p| p.user_id),
                admin,
                reporter_projects: reporter,
            },
        )
    }
}

/// Projects holding issues authored by, or assigned to, `user_id`: the candidates of
/// `scope=created_by_me` / `assigned_to_me` lists.
pub fn projects_with_issues_of(
    conn: &mut DbConnection,
    user_id: i64,
    assigned: bool,
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = if assigned {
        issues::table
            .filter(
                issues::id.eq_any(
                    issue_assignees::table
                        .filter(issue_assignees::user_id.eq(user_id))
                        .select(issue_assignees::issue_id),
                ),
            )
            .select(issues::project_id)
            .distinct()
            .load(conn)?
    } else {
        issues::table
            .filter(issues::author_id.eq(user_id))
            .select(issues::project_id)
            .distinct()
            .load(conn)?
    };
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Reserves `n` consecutive iids in a project; returns the last. Call inside a transaction: the
/// counter row's update is the lock that keeps concurrent creates from colliding (SQLite writes
/// are serialized by `BEGIN IMMEDIATE`; on PostgreSQL the row lock queues them). The first issue of
/// a project inserts the row in a savepoint; losing that race to another writer only retries.
fn reserve_iids(conn: &mut DbConnection, project_id: i64, n: i64) -> Result<i64, StoreError> {
    for _ in 0..3 {
        let bumped: Option<i64> = diesel::update(issue_iid_counters::table.find(project_id))
            .set(issue_iid_counters::last_iid.eq(issue_iid_counters::last_iid + n))
            .returning(issue_iid_counters::last_iid)
            .get_result(conn)
            .optional()?;
        if let Some(last) = bumped {
            return Ok(last);
        }
        let highest: Option<i64> = issues::table
            .filter(issues::project_id.eq(project_id))
            .select(diesel::dsl::max(issues::iid))
            .first(conn)?;
        let last = highest.unwrap_or(0) + n;
        let inserted = conn.transaction(|c| {
            diesel::insert_into(issue_iid_counters::table)
                .values((
                    issue_iid_counters::project_id.eq(project_id),
                    issue_iid_counters::last_iid.eq(last),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => return Ok(last),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict(
        "could not reserve an issue number".into(),
    ))
}

/// Users among `ids` who may be assigned in the project: active, and able to see it (any signed-in
/// user for public and internal projects, members for private ones). Others are dropped.
fn assignable(
    conn: &mut DbConnection,
    project_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let Some(project) = crate::projects::find(conn, project_id)? else {
        return Err(StoreError::NotFound);
    };
    let mut out = Vec::new();
    for id in ids {
        if out.contains(id) {
            continue;
        }
        let Some(user) = crate::users::find(conn, *id)? else {
            continue;
        };
        if user.is_blocked() {
            continue;
        }
        let target = crate::projects::project_target(conn, &project, Some(user.id))?;
        if target.visibility != Visibility::Private || target.is_member() || user.is_admin {
            out.push(user.id);
        }
    }
    Ok(out)
}

fn set_labels(conn: &mut DbConnection, issue_id: i64, label_ids: &[i64]) -> Result<(), StoreError> {
    diesel::delete(issue_labels::table.filter(issue_labels::issue_id.eq(issue_id)))
        .execute(conn)?;
    for label_id in label_ids {
        diesel::insert_into(issue_labels::table)
            .values((
                issue_labels::issue_id.eq(issue_id),
                issue_labels::label_id.eq(*label_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn set_assignees(
    conn: &mut DbConnection,
    issue_id: i64,
    user_ids: &[i64],
) -> Result<(), StoreError> {
    diesel::delete(issue_assignees::table.filter(issue_assignees::issue_id.eq(issue_id)))
        .execute(conn)?;
    for user_id in user_ids {
        diesel::insert_into(issue_assignees::table)
            .values((
                issue_assignees::issue_id.eq(issue_id),
                issue_assignees::user_id.eq(*user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn row(conn: &mut DbConnection, id: i64) -> Result<IssueRow, StoreError> {
    Ok(issues::table
        .find(id)
        .select(IssueRow::as_select())
        .first(conn)?)
}

/// A new issue. `labels` and `assignee_ids` are only applied when `set_metadata` (see
/// [`may_set_metadata`]); unknown label names are then created.
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    pub project_id: i64,
    pub author_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub confidential: bool,
    pub labels: Vec<String>,
    pub assignee_ids: Vec<i64>,
    pub set_metadata: bool,
}

/// Opens an issue with the project's next iid, all in one transaction.
pub fn create(conn: &mut DbConnection, new: &NewIssue) -> Result<Issue, StoreError> {
    let title = validate_title(&new.title)?;
    for l in &new.labels {
        labels::validate_name(l)?;
    }
    write_transaction(conn, |conn| {
        let iid = reserve_iids(conn, new.project_id, 1)?;
        let now = crate::now();
        let id: i64 = diesel::insert_into(issues::table)
            .values((
                issues::project_id.eq(new.project_id),
                issues::iid.eq(iid),
                issues::title.eq(&title),
                issues::description.eq(&new.description),
                issues::state.eq(OPENED),
                issues::confidential.eq(new.confidential),
                issues::author_id.eq(new.author_id),
                issues::created_at.eq(now),
                issues::updated_at.eq(now),
            ))
            .returning(issues::id)
            .get_result(conn)?;
        if new.set_metadata {
            let found = labels::find_or_create(conn, new.project_id, &new.labels, true)?;
            set_labels(conn, id, &found.iter().map(|l| l.id).collect::<Vec<_>>())?;
            let assignees = assignable(conn, new.project_id, &new.assignee_ids)?;
            set_assignees(conn, id, &assignees)?;
        }
        let row = row(conn, id)?;
        hydrate(conn, vec![row])?.pop().ok_or(StoreError::NotFound)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateEvent {
    Close,
    Reopen,
}

/// What an update changes; `None` (or empty lists for add/remove) leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct IssueChanges {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub confidential: Option<bool>,
    /// Replaces the labels.
    pub labels: Option<Vec<String>>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    pub assignee_ids: Option<Vec<i64>>,
    pub state_event: Option<StateEvent>,
}

/// Applies `changes` to an issue as `actor_id` in one transaction. Label and assignee changes
/// apply only when `set_metadata`. Closing and reopening leave a system note ("closed",
/// "reopened"); closing a closed issue (or reopening an open one) changes nothing.
pub fn update(
    conn: &mut DbConnection,
    issue_id: i64,
    actor_id: i64,
    changes: &IssueChanges,
    set_metadata: bool,
) -> Result<Issue, StoreError> {
    let title = changes.title.as_deref().map(validate_title).transpose()?;
    for l in changes
        .labels
        .iter()
        .flatten()
        .chain(&changes.add_labels)
        .chain(&changes.remove_labels)
    {
        labels::validate_name(l)?;
    }
    write_transaction(conn, |conn| {
        let now = crate::now();
        // Lock the issue first, so that concurrent updates of it run one after the other (on
        // PostgreSQL; SQLite serializes writers anyway) and each reads what the previous wrote.
        let locked = diesel::update(issues::table.find(issue_id))
            .set(issues::updated_at.eq(now))
            .execute(conn)?;
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let current = row(conn, issue_id)?;
        let mut title_v = current.title.clone();
        if let Some(t) = &title {
            title_v = t.clone();
        }
        let description = match &changes.description {
            Some(d) => d.clone(),
            None => current.description.clone(),
        };
        let confidential = changes.confidential.unwrap_or(current.confidential);
        let (mut state, mut closed_at, mut closed_by) = (
            current.state.clone(),
            current.closed_at,
            current.closed_by_id,
        );
        let mut system_note = None;
        match changes.state_event {
            Some(StateEvent::Close) if current.state != CLOSED => {
                state = CLOSED.to_string();
                closed_at = Some(now);
                closed_by = Some(actor_id);
                system_note = Some("closed");
            }
            Some(StateEvent::Reopen) if current.state == CLOSED => {
                state = OPENED.to_string();
                closed_at = None;
                closed_by = None;
                system_note = Some("reopened");
            }
            _ => {}
        }
        diesel::update(issues::table.find(issue_id))
            .set((
                issues::title.eq(title_v),
                issues::description.eq(description),
                issues::confidential.eq(confidential),
                issues::state.eq(state),
                issues::closed_at.eq(closed_at),
                issues::closed_by_id.eq(closed_by),
                issues::updated_at.eq(now),
            ))
            .execute(conn)?;
        if set_metadata {
            let touches_labels = changes.labels.is_some()
                || !changes.add_labels.is_empty()
                || !changes.remove_labels.is_empty();
            if touches_labels {
                let mut names: Vec<String> = match &changes.labels {
                    Some(l) => l.clone(),
                    None => labels::for_issues(conn, &[issue_id])?
                        .remove(&issue_id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|l| l.name)
                        .collect(),
                };
                names.extend(changes.add_labels.iter().cloned());
                let removed: Vec<String> = changes
                    .remove_labels
                    .iter()
                    .map(|n| n.trim().to_string())
                    .collect();
                names.retain(|n| !removed.contains(&n.trim().to_string()));
                let found = labels::find_or_create(conn, current.project_id, &names, true)?;
                set_labels(
                    conn,
                    issue_id,
                    &found.iter().map(|l| l.id).collect::<Vec<_>>(),
                )?;
            }
            if let Some(ids) = &changes.assignee_ids {
                let assignees = assignable(conn, current.project_id, ids)?;
                set_assignees(conn, issue_id, &assignees)?;
            }
        }
        if let Some(body) = system_note {
            notes::insert_system(conn, &current, actor_id, body, now)?;
        }
        let row = row(conn, issue_id)?;
        hydrate(conn, vec![row])?.pop().ok_or(StoreError::NotFound)
    })
}

/// Deletes an issue with its notes, labels links and assignments. Its iid is not reused.
pub fn delete(conn: &mut DbConnection, issue_id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(notes_t::table.filter(notes_t::issue_id.eq(issue_id))).execute(conn)?;
        diesel::delete(issue_labels::table.filter(issue_labels::issue_id.eq(issue_id)))
            .execute(conn)?;
        diesel::delete(issue_assignees::table.filter(issue_assignees::issue_id.eq(issue_id)))
            .execute(conn)?;
        match diesel::delete(issues::table.find(issue_id)).execute(conn)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    })
}

/// Bumps an issue's `updated_at` (a comment was added).
pub(crate) fn touch(
    conn: &mut DbConnection,
    issue_id: i64,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(issues::table.find(issue_id))
        .set(issues::updated_at.eq(at))
        .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bulk seeding (fixtures and benchmarks)

/// One multi-row `INSERT`, issued on the concrete connection: diesel's multi-backend dialect has
/// no batch insert of its own.
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $values:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => {
                diesel::insert_into($table).values(&$values).execute(c)?;
            }
            DbConnection::Postgresql(c) => {
                diesel::insert_into($table).values(&$values).execute(c)?;
            }
        }
    };
}

/// One issue for [`seed_bulk`].
#[derive(Debug, Clone)]
pub struct SeedIssue {
    pub title: String,
    pub description: Option<String>,
    pub state: &'static str,
    pub confidential: bool,
    pub created_at: NaiveDateTime,
    pub labels: Vec<String>,
}

/// Inserts many issues into a project at once, by batched multi-row inserts in one transaction,
/// continuing the project's iid counter and creating missing labels. For fixtures and
/// benchmarks: no per-issue checks beyond the title. Returns the number inserted.
pub fn seed_bulk(
    conn: &mut DbConnection,
    project_id: i64,
    author_id: i64,
    seed: &[SeedIssue],
) -> Result<usize, StoreError> {
    const BATCH: usize = 500;
    if seed.is_empty() {
        return Ok(0);
    }
    write_transaction(conn, |conn| {
        let mut names: Vec<String> = seed.iter().flat_map(|s| s.labels.clone()).collect();
        names.sort();
        names.dedup();
        let label_ids: HashMap<String, i64> =
            labels::find_or_create(conn, project_id, &names, true)?
                .into_iter()
                .map(|l| (l.name, l.id))
                .collect();
        let last = reserve_iids(conn, project_id, seed.len() as i64)?;
        let first = last - seed.len() as i64 + 1;
        for (n, chunk) in seed.chunks(BATCH).enumerate() {
            let base = first + (n * BATCH) as i64;
            let values: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        issues::project_id.eq(project_id),
                        issues::iid.eq(base + i as i64),
                        issues::title.eq(s.title.as_str()),
                        issues::description.eq(s.description.as_deref()),
                        issues::state.eq(s.state),
                        issues::confidential.eq(s.confidential),
                        issues::author_id.eq(author_id),
                        issues::closed_at.eq((s.state == CLOSED).then_some(s.created_at)),
                        issues::created_at.eq(s.created_at),
                        issues::updated_at.eq(s.created_at),
                    )
                })
                .collect();
            batch_insert!(conn, issues::table, values);
            let ids: HashMap<i64, i64> = issues::table
                .filter(issues::project_id.eq(project_id))
                .filter(issues::iid.between(base, base + chunk.len() as i64 - 1))
                .select((issues::iid, issues::id))
                .load::<(i64, i64)>(conn)?
                .into_iter()
                .collect();
            let links: Vec<_> = chunk
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    let issue_id = ids[&(base + i as i64)];
                    s.labels.iter().map(move |l| (issue_id, l))
                })
                .map(|(issue_id, l)| {
                    (
                        issue_labels::issue_id.eq(issue_id),
                        issue_labels::label_id.eq(label_ids[l.trim()]),
                    )
                })
                .collect();
            if !links.is_empty() {
                batch_insert!(conn, issue_labels::table, links);
            }
        }
        Ok(seed.len())
    })
}

/// Where issue `issue_id` lives: its project's full path and its iid (whoever asks; visibility
/// is decided afterwards with [`get`]). GraphQL names issues by global id.
pub fn locate(conn: &mut DbConnection, issue_id: i64) -> Result<Option<(String, i64)>, StoreError> {
    Ok(issues::table
        .inner_join(projects::table.on(projects::id.eq(issues::project_id)))
        .filter(issues::id.eq(issue_id))
        .select((projects::full_path, issues::iid))
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456)
            .unwrap()
            .naive_utc();
        let c = Cursor {
            id: 42,
            at: Some(at),
        };
        assert_eq!(Cursor::decode(&c.encode(), OrderBy::CreatedAt), Some(c));
        assert_eq!(Cursor::decode(&c.encode(), OrderBy::Id), None);
        let i = Cursor { id: 7, at: None };
        assert_eq!(Cursor::decode(&i.encode(), OrderBy::Id), Some(i));
        assert_eq!(Cursor::decode("zz", OrderBy::Id), None);
        assert_eq!(Cursor::decode(&hex::encode("i:7:8"), OrderBy::Id), None);
    }

    #[test]
    fn titles_are_required() {
        assert!(validate_title("  ").is_err());
        assert_eq!(validate_title(" x ").unwrap(), "x");
        assert!(validate_title(&"t".repeat(256)).is_err());
    }
}
