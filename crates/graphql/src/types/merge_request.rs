//! `MergeRequest`, as GitLab's GraphQL shows it: the store's record only (mergeability needs the
//! repository, which this surface does not read).

use super::scalars::{Time, gid};
use super::user::User;
use async_graphql::{Enum, ID, SimpleObject};
use tinforge_store::merge_requests::{self, MergeRequestRow};
use tinforge_store::users;

/// State of a merge request (GitLab's `MergeRequestState`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MergeRequestState", rename_items = "lowercase")]
pub enum MergeRequestState {
    /// Open.
    Opened,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
    /// Every merge request (only as a filter).
    All,
}

impl MergeRequestState {
    /// The store's state filter (`None`: every state).
    pub fn filter(self) -> Option<String> {
        match self {
            MergeRequestState::Opened => Some(merge_requests::OPENED.into()),
            MergeRequestState::Closed => Some(merge_requests::CLOSED.into()),
            MergeRequestState::Merged => Some(merge_requests::MERGED.into()),
            MergeRequestState::All => None,
        }
    }

    fn of(state: &str) -> MergeRequestState {
        match state {
            merge_requests::CLOSED => MergeRequestState::Closed,
            merge_requests::MERGED => MergeRequestState::Merged,
            _ => MergeRequestState::Opened,
        }
    }
}

/// A merge request of a project.
#[derive(SimpleObject, Debug, Clone)]
pub struct MergeRequest {
    /// Global ID of the merge request (`gid://gitlab/MergeRequest/1`).
    pub id: ID,
    /// Internal ID of the merge request within its project.
    pub iid: String,
    /// Title of the merge request.
    pub title: String,
    /// Description of the merge request.
    pub description: Option<String>,
    /// State of the merge request.
    pub state: MergeRequestState,
    /// Whether the merge request is a draft (its title starts with `Draft:`).
    pub draft: bool,
    /// Branch the changes come from.
    pub source_branch: String,
    /// Branch the changes are merged into.
    pub target_branch: String,
    /// Web URL of the merge request.
    pub web_url: String,
    /// When the merge request was created.
    pub created_at: Time,
    /// When the merge request was last changed.
    pub updated_at: Time,
    /// When the merge request was merged.
    pub merged_at: Option<Time>,
    /// SHA of the commit the merge produced.
    pub merge_commit_sha: Option<String>,
    /// User who opened the merge request.
    pub author: Option<User>,
}

impl MergeRequest {
    /// `project_path` is the full path of the merge request's project.
    pub fn new(
        r: &MergeRequestRow,
        author: Option<&users::User>,
        project_path: &str,
        base: &str,
    ) -> MergeRequest {
        MergeRequest {
            id: gid("MergeRequest", r.id),
            iid: r.iid.to_string(),
            title: r.title.clone(),
            description: Some(r.description.clone()),
            state: MergeRequestState::of(&r.state),
            draft: r.draft(),
            source_branch: r.source_branch.clone(),
            target_branch: r.target_branch.clone(),
            web_url: format!("{base}/{project_path}/-/merge_requests/{}", r.iid),
            created_at: Time(r.created_at),
            updated_at: Time(r.updated_at),
            merged_at: r.merged_at.map(Time),
            merge_commit_sha: r.merge_commit_sha.clone(),
            author: author.map(|u| User::from_row(u, base)),
        }
    }
}

/// The rows with their authors, loaded in `conn`.
pub fn with_authors(
    conn: &mut tinforge_store::DbConnection,
    rows: Vec<MergeRequestRow>,
) -> Result<Vec<(MergeRequestRow, Option<users::User>)>, tinforge_store::StoreError> {
    rows.into_iter()
        .map(|r| {
            let author = users::find(conn, r.author_id)?;
            Ok((r, author))
        })
        .collect()
}
