//! GitLab's v4 shapes of merge requests: the merge request (with its merge status computed from
//! the repository), the merge request with its changes, and its approvals.

use crate::ApiConfig;
use crate::repository_views::Diff;
use crate::views::issues::References;
use crate::views::{self, UserBasic};
use serde::Serialize;
use tinforge_store::git::merging::{self, GitState, MergeMethod};
use tinforge_store::merge_requests::MergeRequestRow;
use tinforge_store::users::User;
use utoipa::ToSchema;

/// What a merge request's JSON needs from the database beyond its row: the people it names, its
/// labels and how many notes people wrote on it.
pub struct People {
    pub author: Option<User>,
    pub merged_by: Option<User>,
    pub closed_by: Option<User>,
    pub labels: Vec<String>,
    pub user_notes_count: i64,
}

/// The commits a merge request's diff is computed between.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiffRefs {
    /// Always null.
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
    pub start_sha: Option<String>,
}

/// A merge request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeRequest {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub merged_at: Option<String>,
    pub closed_at: Option<String>,
    pub merged_by: Option<UserBasic>,
    pub merge_user: Option<UserBasic>,
    pub closed_by: Option<UserBasic>,
    pub target_branch: String,
    pub source_branch: String,
    pub source_project_id: i64,
    pub target_project_id: i64,
    pub author: Option<UserBasic>,
    /// Always empty.
    pub assignees: Vec<UserBasic>,
    /// Always empty.
    pub reviewers: Vec<UserBasic>,
    pub labels: Vec<String>,
    pub draft: bool,
    pub work_in_progress: bool,
    pub merge_when_pipeline_succeeds: bool,
    pub merge_status: String,
    pub detailed_merge_status: String,
    pub has_conflicts: bool,
    pub sha: Option<String>,
    pub merge_commit_sha: Option<String>,
    pub squash_commit_sha: Option<String>,
    pub squash: bool,
    pub diff_refs: DiffRefs,
    pub user_notes_count: i64,
    pub should_remove_source_branch: Option<bool>,
    pub force_remove_source_branch: bool,
    pub references: References,
    pub web_url: String,
}

/// An embedded user in its basic form, null when there is none.
pub fn basic_user(u: Option<&User>, cfg: &ApiConfig) -> Option<UserBasic> {
    u.map(|u| views::user_basic(u, cfg))
}

impl MergeRequest {
    /// The merge request with its merge status from `git` (fresh repository state).
    pub fn of(
        mr: &MergeRequestRow,
        who: &People,
        git: &GitState,
        method: MergeMethod,
        cfg: &ApiConfig,
        project_path: &str,
    ) -> MergeRequest {
        let status = merging::merge_status(mr, git, method);
        let source_tip = git.source_tip.map(|o| o.to_string());
        let target_tip = git.target_tip.map(|o| o.to_string());
        let host = &cfg.external_url;
        MergeRequest {
            id: mr.id,
            iid: mr.iid,
            project_id: mr.project_id,
            title: mr.title.clone(),
            description: mr.description.clone(),
            state: mr.state.clone(),
            created_at: views::time(mr.created_at),
            updated_at: views::time(mr.updated_at),
            merged_at: mr.merged_at.map(views::time),
            closed_at: mr.closed_at.map(views::time),
            merged_by: basic_user(who.merged_by.as_ref(), cfg),
            merge_user: basic_user(who.merged_by.as_ref(), cfg),
            closed_by: basic_user(who.closed_by.as_ref(), cfg),
            target_branch: mr.target_branch.clone(),
            source_branch: mr.source_branch.clone(),
            source_project_id: mr.project_id,
            target_project_id: mr.project_id,
            author: basic_user(who.author.as_ref(), cfg),
            assignees: Vec::new(),
            reviewers: Vec::new(),
            labels: who.labels.clone(),
            draft: mr.draft(),
            work_in_progress: mr.draft(),
            merge_when_pipeline_succeeds: mr.merge_when_pipeline_succeeds,
            merge_status: status.merge_status.to_string(),
            detailed_merge_status: status.detailed.to_string(),
            has_conflicts: status.has_conflicts,
            sha: source_tip.clone(),
            merge_commit_sha: mr.merge_commit_sha.clone(),
            squash_commit_sha: None,
            squash: false,
            diff_refs: DiffRefs {
                base_sha: None,
                head_sha: source_tip,
                start_sha: target_tip,
            },
            user_notes_count: who.user_notes_count,
            should_remove_source_branch: None,
            force_remove_source_branch: false,
            references: References {
                short: format!("!{}", mr.iid),
                relative: format!("!{}", mr.iid),
                full: format!("{project_path}!{}", mr.iid),
            },
            web_url: format!("{host}/{project_path}/-/merge_requests/{}", mr.iid),
        }
    }
}

/// A merge request with its changes (`GET …/changes`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeRequestChanges {
    #[serde(flatten)]
    pub merge_request: MergeRequest,
    pub changes: Vec<Diff>,
    pub overflow: bool,
}

/// One approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approver {
    pub user: Option<UserBasic>,
}

/// A merge request's approvals (what approving answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approvals {
    pub id: i64,
    pub iid: i64,
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub approved: bool,
    pub approvals_required: i64,
    pub approvals_left: i64,
    pub approved_by: Vec<Approver>,
}
