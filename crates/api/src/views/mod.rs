//! JSON shapes of GitLab's v4 entities as typed views (`#[derive(Serialize, ToSchema)]`), one
//! struct per entity shared by every route that returns it, and GitLab's timestamp format.
//! Users and members live in [`users`], projects, namespaces and groups in [`projects`],
//! issues, notes and labels in [`issues`],
//! personal access tokens in [`tokens`].

pub mod issues;
pub mod projects;
pub mod tokens;
pub mod users;

use chrono::NaiveDateTime;

pub use issues::{IssueView, LabelView, NoteView, issue, label, note};
pub use projects::{
    GroupDetail, GroupProjects, GroupView, NamespaceView, Permissions, ProjectDetail, ProjectView,
    group, namespace, namespace_web_url, project, project_permissions,
};
pub use tokens::{PathRef, TokenView, token};
pub use users::{MemberView, UserBasic, UserDetail, UserView, member, user, user_basic};

/// `2026-11-25T18:06:12.123Z`, GitLab's timestamp format.
pub fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// [`time`] of an optional timestamp (null when absent).
pub fn opt_time(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(time)
}

/// `{"message": "<text>"}`: GitLab's plain acknowledgements (`202 Accepted`) and the
/// `render_api_error!` bodies.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: String,
}

impl Message {
    pub fn new(text: impl Into<String>) -> Message {
        Message {
            message: text.into(),
        }
    }
}
