//! Issues, notes and labels as GitLab's v4 API writes them.

use super::time;
use super::users::{UserBasic, user_basic};
use crate::ApiConfig;
use serde::Serialize;
use serde_json::Value;
use tinforge_store::issues::Issue;
use tinforge_store::labels::LabelRow;
use tinforge_store::notes::Note;
use utoipa::ToSchema;

/// A label; the issue counts only when asked for (`with_counts`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelView {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub text_color: &'static str,
    pub description: Option<String>,
    pub description_html: String,
    pub subscribed: bool,
    pub priority: Option<i64>,
    pub is_project_label: bool,
    pub archived: bool,
    #[serde(flatten)]
    pub counts: Option<LabelCounts>,
}

/// The counts of `GET …/labels?with_counts=true`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelCounts {
    pub open_issues_count: i64,
    pub closed_issues_count: i64,
    pub open_merge_requests_count: i64,
}

/// An issue's label: its name, or the label itself with `with_labels_details`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum IssueLabel {
    Name(String),
    Detail(LabelView),
}

/// An issue in GitLab's shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueView {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<UserBasic>,
    pub labels: Vec<IssueLabel>,
    /// Milestones are not supported: always null.
    #[schema(value_type = Option<Object>)]
    pub milestone: Option<Value>,
    pub assignees: Vec<UserBasic>,
    /// The first of `assignees`, or null.
    pub assignee: Option<UserBasic>,
    pub author: Option<UserBasic>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub issue_type: &'static str,
    pub user_notes_count: i64,
    pub merge_requests_count: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub due_date: Option<String>,
    pub confidential: bool,
    pub discussion_locked: Option<bool>,
    pub web_url: String,
    pub time_stats: TimeStats,
    pub task_completion_status: TaskCompletionStatus,
    pub has_tasks: bool,
    pub blocking_issues_count: i64,
    pub moved_to_id: Option<i64>,
    pub service_desk_reply_to: Option<String>,
    pub severity: &'static str,
    pub references: References,
    #[serde(rename = "_links")]
    pub links: IssueLinks,
}

/// An issue's `time_stats` (time tracking is not supported: all zero).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeStats {
    pub time_estimate: i64,
    pub total_time_spent: i64,
    pub human_time_estimate: Option<String>,
    pub human_total_time_spent: Option<String>,
}

/// An issue's `task_completion_status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskCompletionStatus {
    pub count: i64,
    pub completed_count: i64,
}

/// The `references` of an issue or a merge request (`#1` / `!1`, `group/project#1`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct References {
    pub short: String,
    pub relative: String,
    pub full: String,
}

/// An issue's `_links`: its API URLs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueLinks {
    #[serde(rename = "self")]
    pub self_url: String,
    pub notes: String,
    pub award_emoji: String,
    pub project: String,
    pub closed_as_duplicate_of: Option<String>,
}

/// A note on an issue or merge request in GitLab's shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteView {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub body: String,
    pub attachment: Option<String>,
    pub author: Option<UserBasic>,
    pub created_at: String,
    pub updated_at: String,
    pub system: bool,
    pub noteable_id: Option<i64>,
    pub noteable_type: String,
    pub noteable_iid: i64,
    pub project_id: i64,
    pub resolvable: bool,
    pub confidential: bool,
    pub internal: bool,
    pub imported: bool,
    pub imported_from: &'static str,
    /// Quick actions are not supported: always `{}`.
    pub commands_changes: CommandsChanges,
}

/// A note's `commands_changes`: always empty.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandsChanges {}

pub fn label(l: &LabelRow, counts: Option<(i64, i64)>) -> LabelView {
    LabelView {
        id: l.id,
        name: l.name.clone(),
        color: l.color.clone(),
        text_color: l.text_color(),
        description: l.description.clone(),
        description_html: l
            .description
            .as_deref()
            .map(html_escape)
            .unwrap_or_default(),
        subscribed: false,
        priority: None,
        is_project_label: true,
        archived: false,
        counts: counts.map(|(open, closed)| LabelCounts {
            open_issues_count: open,
            closed_issues_count: closed,
            open_merge_requests_count: 0,
        }),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An issue (`labels` as names, or label objects with `with_labels_details`).
pub fn issue(i: &Issue, cfg: &ApiConfig, label_details: bool) -> IssueView {
    let r = &i.row;
    let web_url = format!("{}/{}/-/issues/{}", cfg.external_url, i.project_path, r.iid);
    let api = format!("{}/api/v4/projects/{}", cfg.external_url, r.project_id);
    let labels = i
        .labels
        .iter()
        .map(|l| {
            if label_details {
                IssueLabel::Detail(label(l, None))
            } else {
                IssueLabel::Name(l.name.clone())
            }
        })
        .collect();
    let assignees: Vec<UserBasic> = i.assignees.iter().map(|u| user_basic(u, cfg)).collect();
    IssueView {
        id: r.id,
        iid: r.iid,
        project_id: r.project_id,
        title: r.title.clone(),
        description: r.description.clone(),
        state: r.state.clone(),
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
        closed_at: r.closed_at.map(time),
        closed_by: i.closed_by.as_ref().map(|u| user_basic(u, cfg)),
        labels,
        milestone: None,
        assignee: assignees.first().cloned(),
        assignees,
        author: i.author.as_ref().map(|u| user_basic(u, cfg)),
        kind: "ISSUE",
        issue_type: "issue",
        user_notes_count: i.user_notes_count,
        merge_requests_count: 0,
        upvotes: 0,
        downvotes: 0,
        due_date: None,
        confidential: r.confidential,
        discussion_locked: None,
        web_url,
        time_stats: TimeStats {
            time_estimate: 0,
            total_time_spent: 0,
            human_time_estimate: None,
            human_total_time_spent: None,
        },
        task_completion_status: TaskCompletionStatus {
            count: 0,
            completed_count: 0,
        },
        has_tasks: false,
        blocking_issues_count: 0,
        moved_to_id: None,
        service_desk_reply_to: None,
        severity: "UNKNOWN",
        references: References {
            short: format!("#{}", r.iid),
            relative: format!("#{}", r.iid),
            full: format!("{}#{}", i.project_path, r.iid),
        },
        links: IssueLinks {
            self_url: format!("{api}/issues/{}", r.iid),
            notes: format!("{api}/issues/{}/notes", r.iid),
            award_emoji: format!("{api}/issues/{}/award_emoji", r.iid),
            project: api,
            closed_as_duplicate_of: None,
        },
    }
}

pub fn note(n: &Note, cfg: &ApiConfig) -> NoteView {
    let r = &n.row;
    NoteView {
        id: r.id,
        kind: None,
        body: r.body.clone(),
        attachment: None,
        author: n.author.as_ref().map(|u| user_basic(u, cfg)),
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
        system: r.system,
        noteable_id: r.noteable_id(),
        noteable_type: r.noteable_type.clone(),
        noteable_iid: n.noteable_iid,
        project_id: r.project_id,
        resolvable: false,
        confidential: r.internal,
        internal: r.internal,
        imported: false,
        imported_from: "none",
        commands_changes: CommandsChanges {},
    }
}
