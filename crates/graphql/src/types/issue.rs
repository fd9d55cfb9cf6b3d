//! `Issue`, `Note` and `Label`, as GitLab's GraphQL shows them. An issue is only ever built from
//! what the store's `issues::get` / `issues::list` returned for the caller's `Viewer`, so a
//! confidential issue the caller may not see never becomes one.

use super::connection::{IdCursor, List, ListCount, PageArgs, page};
use super::scalars::{Time, gid};
use super::user::User;
use crate::declare::{FieldTarget, declared_fields};
use crate::guard::Parent;
use crate::scope::RequestScope;
use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use tinforge_authz::{Principal, Target};
use tinforge_store::issues::{self, Viewer};
use tinforge_store::labels::LabelRow;
use tinforge_store::notes::{self, NoteOrder, Noteable};

/// State of an issue (GitLab's `IssueState`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "IssueState", rename_items = "lowercase")]
pub enum IssueState {
    /// Open.
    Opened,
    /// Closed.
    Closed,
}

/// Which issues a list shows by state (GitLab's `IssuableState`, `all` for both).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "IssuableState", rename_items = "lowercase")]
pub enum IssuableState {
    /// Open issues.
    Opened,
    /// Closed issues.
    Closed,
    /// Every issue.
    All,
}

impl IssuableState {
    pub fn filter(self) -> Option<&'static str> {
        match self {
            IssuableState::Opened => Some(issues::OPENED),
            IssuableState::Closed => Some(issues::CLOSED),
            IssuableState::All => None,
        }
    }
}

/// A label of a project.
#[derive(SimpleObject, Debug, Clone)]
pub struct Label {
    /// Global ID of the label (`gid://gitlab/ProjectLabel/1`).
    pub id: ID,
    /// Name of the label.
    pub title: String,
    /// Background color of the label (`#6699cc`).
    pub color: String,
    /// Text color of the label.
    pub text_color: String,
    /// Description of the label.
    pub description: Option<String>,
}

impl Label {
    fn new(l: &LabelRow) -> Label {
        Label {
            id: gid("ProjectLabel", l.id),
            title: l.name.clone(),
            color: l.color.clone(),
            text_color: l.text_color().to_string(),
            description: l.description.clone(),
        }
    }
}

/// A note (comment) on an issue, or a system note recording a change.
#[derive(SimpleObject, Debug, Clone)]
pub struct Note {
    /// Global ID of the note (`gid://gitlab/Note/1`).
    pub id: ID,
    /// Content of the note.
    pub body: String,
    /// Whether the note was written by the system (state changes).
    pub system: bool,
    /// Whether the note is internal (visible to Reporter+ and its author only).
    pub internal: bool,
    /// Author of the note.
    pub author: Option<User>,
    /// When the note was created.
    pub created_at: Time,
    /// When the note was last changed.
    pub updated_at: Time,
}

impl Note {
    pub fn new(n: &notes::Note, base: &str) -> Note {
        Note {
            id: gid("Note", n.row.id),
            body: n.row.body.clone(),
            system: n.row.system,
            internal: n.row.internal,
            author: n.author.as_ref().map(|u| User::from_row(u, base)),
            created_at: Time(n.row.created_at),
            updated_at: Time(n.row.updated_at),
        }
    }
}

/// An issue of a project.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Issue {
    /// Global ID of the issue (`gid://gitlab/Issue/1`).
    pub id: ID,
    /// Internal ID of the issue within its project.
    pub iid: String,
    /// Title of the issue.
    pub title: String,
    /// Description of the issue.
    pub description: Option<String>,
    /// State of the issue.
    pub state: IssueState,
    /// Whether the issue is confidential.
    pub confidential: bool,
    /// When the issue was created.
    pub created_at: Time,
    /// When the issue was last changed.
    pub updated_at: Time,
    /// When the issue was closed.
    pub closed_at: Option<Time>,
    /// Web URL of the issue.
    pub web_url: String,
    /// User who opened the issue.
    pub author: Option<User>,
    /// Users assigned to the issue.
    pub assignees: List<User>,
    /// Labels of the issue.
    pub labels: List<Label>,
    /// Number of user notes (comments) on the issue.
    pub user_notes_count: i64,
    #[graphql(skip)]
    pub row: issues::IssueRow,
    /// The issue's project as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Issue {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

/// A connection of everything in `items` (assignees, labels: a handful per issue).
fn whole<T: async_graphql::OutputType>(items: Vec<(i64, T)>) -> List<T> {
    let count = items.len() as i64;
    let mut c = Connection::with_additional_fields(false, false, ListCount { count });
    c.edges
        .extend(items.into_iter().map(|(id, n)| Edge::new(IdCursor(id), n)));
    c
}

impl Issue {
    /// `target` is the issue's project as the gate judged it for this caller.
    pub fn new(i: issues::Issue, target: Target, base: &str) -> Issue {
        let r = &i.row;
        Issue {
            id: gid("Issue", r.id),
            iid: r.iid.to_string(),
            title: r.title.clone(),
            description: r.description.clone(),
            state: if r.state == issues::CLOSED {
                IssueState::Closed
            } else {
                IssueState::Opened
            },
            confidential: r.confidential,
            created_at: Time(r.created_at),
            updated_at: Time(r.updated_at),
            closed_at: r.closed_at.map(Time),
            web_url: format!("{base}/{}/-/issues/{}", i.project_path, r.iid),
            author: i.author.as_ref().map(|u| User::from_row(u, base)),
            assignees: whole(
                i.assignees
                    .iter()
                    .map(|u| (u.id, User::from_row(u, base)))
                    .collect(),
            ),
            labels: whole(i.labels.iter().map(|l| (l.id, Label::new(l))).collect()),
            user_notes_count: i.user_notes_count,
            row: i.row,
            target,
        }
    }

    /// The caller's view of the issues of the project `target` (confidential ones as REST).
    pub fn viewer(principal: Option<&Principal>, target: &Target) -> Viewer {
        Viewer::on_target(principal, target)
    }
}

/// A page of issues as the store returned it, as a connection (`count` capped as REST's total).
pub fn issue_page(
    found: issues::IssuePage,
    count: Option<i64>,
    has_previous: bool,
    target: &Target,
    base: &str,
) -> List<Issue> {
    let count = count.unwrap_or(issues::COUNT_LIMIT);
    let mut c =
        Connection::with_additional_fields(has_previous, found.has_more, ListCount { count });
    c.edges.extend(found.issues.into_iter().map(|i| {
        let id = i.row.id;
        Edge::new(IdCursor(id), Issue::new(i, target.clone(), base))
    }));
    c
}

/// The `after` cursor of an issue list, as the store's keyset cursor.
pub fn issue_cursor(after: Option<&str>) -> Result<Option<issues::Cursor>> {
    after
        .map(|s| {
            IdCursor::decode_cursor(s)
                .map(|c| issues::Cursor { id: c.0, at: None })
                .map_err(|e| crate::error::with_code(e, "invalid_argument"))
        })
        .transpose()
}

declared_fields! {
    #[ComplexObject]
    impl Issue {
        /// Notes on the issue the caller may see (internal ones for Reporter+ and their
        /// authors), oldest first.
        #[declare("Issue.notes", need(issue:read), FieldTarget::Parent)]
        async fn notes(
            &self,
            ctx: &Context<'_>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Note>>> {
            let scope = RequestScope::of(ctx)?;
            note_page(scope, (&self.row).into(), &self.target, PageArgs::new(after, before, first, last))
                .await
                .map(Some)
        }
    }
}

/// The notes of an issue or merge request the caller may see (internal ones for Reporter+ and
/// their authors), oldest first, as a connection.
pub async fn note_page(
    scope: &RequestScope,
    on: Noteable,
    target: &Target,
    args: PageArgs,
) -> Result<List<Note>> {
    let viewer = Issue::viewer(scope.principal.as_ref(), target);
    let base = scope.external_url.clone();
    let (list, _) = scope
        .run(move |c| notes::list(c, on, &viewer, NoteOrder::CreatedAt, false, 0, i64::MAX))
        .await?;
    page(
        list.iter()
            .map(|n| (n.row.id, Note::new(n, &base)))
            .collect(),
        &args,
    )
}
