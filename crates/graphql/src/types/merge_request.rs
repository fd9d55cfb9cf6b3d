//! `MergeRequest`, as GitLab's GraphQL shows it: the store's record, and what the repository says
//! about it now (`mergeStatusEnum`, `detailedMergeStatus`, `conflicts`, `mergeable`,
//! `diffHeadSha`), computed by `tinforge_store::git::merging` as REST computes it, at most once
//! per merge request and request, and only when asked for; and its notes.

use super::connection::{List, PageArgs};
use super::issue::{Note, note_page};
use super::scalars::{Time, gid};
use super::user::User;
use crate::declare::{FieldTarget, declared_fields};
use crate::error::git_error;
use crate::guard::Parent;
use crate::scope::RequestScope;
use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use std::sync::{Arc, OnceLock};
use tinforge_authz::Target;
use tinforge_store::git::merging::{self, GitState, MergeMethod, MergeStatus};
use tinforge_store::git::objects;
use tinforge_store::merge_requests::{self, MergeRequestRow};
use tinforge_store::{projects, users};

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

/// Whether a merge request can be merged (GitLab's `MergeStatus`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MergeStatus")]
pub enum MergeStatusEnum {
    /// There are no conflicts between the source and target branches.
    CanBeMerged,
    /// There are conflicts between the source and target branches, or a branch is missing.
    CannotBeMerged,
}

/// Detailed merge status of a merge request (GitLab's `DetailedMergeStatus`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailedMergeStatus {
    /// Branch can be merged.
    Mergeable,
    /// There are conflicts between the source and target branches.
    Conflict,
    /// Merge request needs to be rebased (the project's merge method needs linear history).
    NeedRebase,
    /// Merge request must not be draft before merging.
    DraftStatus,
    /// Merge request must be open.
    NotOpen,
    /// Can not merge the source into the target branch, potential conflict (a branch is missing).
    BrokenStatus,
}

impl DetailedMergeStatus {
    fn of(detailed: &str) -> DetailedMergeStatus {
        match detailed {
            "mergeable" => DetailedMergeStatus::Mergeable,
            "conflict" => DetailedMergeStatus::Conflict,
            "need_rebase" => DetailedMergeStatus::NeedRebase,
            "draft_status" => DetailedMergeStatus::DraftStatus,
            "not_open" => DetailedMergeStatus::NotOpen,
            _ => DetailedMergeStatus::BrokenStatus,
        }
    }
}

/// What git says about a merge request, computed once.
#[derive(Debug, Clone)]
struct MergeFacts {
    status: MergeStatus,
    source_tip: Option<String>,
}

/// A merge request of a project.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
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
    #[graphql(skip)]
    pub row: MergeRequestRow,
    /// The merge request's project as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
    #[graphql(skip)]
    facts: Arc<OnceLock<MergeFacts>>,
}

impl Parent for MergeRequest {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl MergeRequest {
    /// `target` is the merge request's project as the gate judged it for this caller.
    pub fn new(
        r: &MergeRequestRow,
        author: Option<&users::User>,
        target: &Target,
        base: &str,
    ) -> MergeRequest {
        let project_path = &target.full_path;
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
            row: r.clone(),
            target: target.clone(),
            facts: Arc::default(),
        }
    }

    /// What git says about this merge request now (the repository and the project's merge
    /// method), loaded on first use.
    async fn facts(&self, ctx: &Context<'_>) -> Result<&MergeFacts> {
        if let Some(f) = self.facts.get() {
            return Ok(f);
        }
        let scope = RequestScope::of(ctx)?;
        let project_id = self.row.project_id;
        let method = scope
            .run(move |c| Ok(projects::find(c, project_id)?.map(|p| p.merge_method)))
            .await?
            .map(|m| MergeMethod::of_stored(&m))
            .unwrap_or(MergeMethod::Merge);
        let row = self.row.clone();
        let facts = scope
            .git(move |repos| -> Result<MergeFacts, objects::ObjError> {
                let path = repos.path(row.project_id);
                let git = if path.join("HEAD").is_file() {
                    merging::git_state(&objects::open(&path)?, &row)?
                } else {
                    GitState {
                        source_tip: None,
                        target_tip: None,
                        mergeability: None,
                    }
                };
                Ok(MergeFacts {
                    status: merging::merge_status(&row, &git, method),
                    source_tip: git.source_tip.map(|o| o.to_string()),
                })
            })
            .await?
            .map_err(git_error)?;
        Ok(self.facts.get_or_init(|| facts))
    }
}

declared_fields! {
    #[ComplexObject]
    impl MergeRequest {
        /// Merge status of the merge request.
        #[declare("MergeRequest.mergeStatusEnum", need(merge_request:read), FieldTarget::Parent)]
        async fn merge_status_enum(&self, ctx: &Context<'_>) -> Result<Option<MergeStatusEnum>> {
            let facts = self.facts(ctx).await?;
            Ok(Some(if facts.status.merge_status == "can_be_merged" {
                MergeStatusEnum::CanBeMerged
            } else {
                MergeStatusEnum::CannotBeMerged
            }))
        }

        /// Detailed merge status of the merge request.
        #[declare("MergeRequest.detailedMergeStatus", need(merge_request:read), FieldTarget::Parent)]
        async fn detailed_merge_status(
            &self,
            ctx: &Context<'_>,
        ) -> Result<Option<DetailedMergeStatus>> {
            let facts = self.facts(ctx).await?;
            Ok(Some(DetailedMergeStatus::of(facts.status.detailed)))
        }

        /// Indicates if the merge request has conflicts.
        #[declare("MergeRequest.conflicts", need(merge_request:read), FieldTarget::Parent)]
        async fn conflicts(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
            Ok(Some(self.facts(ctx).await?.status.has_conflicts))
        }

        /// Indicates if the merge request is mergeable.
        #[declare("MergeRequest.mergeable", need(merge_request:read), FieldTarget::Parent)]
        async fn mergeable(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
            Ok(Some(self.facts(ctx).await?.status.detailed == "mergeable"))
        }

        /// Diff head SHA of the merge request (the source branch's tip).
        #[declare("MergeRequest.diffHeadSha", need(merge_request:read), FieldTarget::Parent)]
        async fn diff_head_sha(&self, ctx: &Context<'_>) -> Result<Option<String>> {
            Ok(self.facts(ctx).await?.source_tip.clone())
        }

        /// Notes on the merge request the caller may see (internal ones for Reporter+ and their
        /// authors), oldest first.
        #[declare("MergeRequest.notes", need(merge_request:read), FieldTarget::Parent)]
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
