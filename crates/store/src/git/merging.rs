//! Merge requests meet the repository: what git says about a merge request now (tips,
//! mergeability, GitLab's `detailed_merge_status`) and merging it by the project's merge method.
//! Both the REST API and GraphQL call these, so a merge request merges (or refuses) the same way
//! on every surface. Blocking: call through the surface's blocking helper.

use super::objects::{self, Mergeability, ObjError, Person};
use crate::merge_requests::{MergeRequestRow, OPENED};
use git2::{Oid, Repository};
use std::path::Path;

/// A project's merge method (GitLab's `merge_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeMethod {
    /// Always a merge commit.
    Merge,
    /// A merge commit, but only when the source is up to date with the target (semi-linear).
    RebaseMerge,
    /// No merge commit: the target moves to the source; only when that is a fast-forward.
    FastForward,
}

impl MergeMethod {
    pub const NAMES: [&'static str; 3] = ["merge", "rebase_merge", "ff"];

    pub fn parse(name: &str) -> Option<MergeMethod> {
        match name {
            "merge" => Some(MergeMethod::Merge),
            "rebase_merge" => Some(MergeMethod::RebaseMerge),
            "ff" => Some(MergeMethod::FastForward),
            _ => None,
        }
    }

    /// As stored; an unknown stored value reads as the default, `merge`.
    pub fn of_stored(name: &str) -> MergeMethod {
        MergeMethod::parse(name).unwrap_or(MergeMethod::Merge)
    }

    pub fn name(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::RebaseMerge => "rebase_merge",
            MergeMethod::FastForward => "ff",
        }
    }

    /// Does this method need the source to contain the target?
    fn needs_linear_history(self) -> bool {
        self != MergeMethod::Merge
    }
}

/// What git says about a merge request now.
#[derive(Debug, Clone)]
pub struct GitState {
    pub source_tip: Option<Oid>,
    pub target_tip: Option<Oid>,
    /// None when the merge request is not open or a branch is missing.
    pub mergeability: Option<Mergeability>,
}

pub fn git_state(repo: &Repository, mr: &MergeRequestRow) -> objects::Result<GitState> {
    let source_tip = objects::branch_tip(repo, &mr.source_branch);
    let target_tip = objects::branch_tip(repo, &mr.target_branch);
    let mergeability = match (source_tip, target_tip) {
        (Some(s), Some(t)) if mr.state == OPENED => Some(objects::mergeability(repo, t, s)?),
        _ => None,
    };
    Ok(GitState {
        source_tip,
        target_tip,
        mergeability,
    })
}

/// GitLab's merge status of a merge request, both spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeStatus {
    /// `detailed_merge_status`: mergeable, conflict, need_rebase, draft_status, not_open,
    /// broken_status.
    pub detailed: &'static str,
    /// `merge_status`: can_be_merged or cannot_be_merged.
    pub merge_status: &'static str,
    pub has_conflicts: bool,
}

pub fn merge_status(mr: &MergeRequestRow, git: &GitState, method: MergeMethod) -> MergeStatus {
    let status = |detailed, can: bool, has_conflicts| MergeStatus {
        detailed,
        merge_status: if can {
            "can_be_merged"
        } else {
            "cannot_be_merged"
        },
        has_conflicts,
    };
    if mr.state != OPENED {
        return status("not_open", true, false);
    }
    match git.mergeability {
        None => status("broken_status", false, false),
        Some(Mergeability::Conflict) => status("conflict", false, true),
        Some(Mergeability::Clean) if method.needs_linear_history() => {
            status("need_rebase", false, false)
        }
        Some(_) if mr.draft() => status("draft_status", true, false),
        Some(_) => status("mergeable", true, false),
    }
}

/// Why a merge request cannot be opened between two branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewMergeRequestError {
    #[error("You can't use same project/branch for source and target")]
    SameBranch,
    #[error("Source branch does not exist")]
    SourceMissing,
    #[error("Target branch does not exist")]
    TargetMissing,
}

/// May a merge request be opened from `source` into `target` (two different, existing branches)?
pub fn check_new(
    repo: &Repository,
    source: &str,
    target: &str,
) -> Result<(), NewMergeRequestError> {
    if source == target {
        return Err(NewMergeRequestError::SameBranch);
    }
    if objects::branch_tip(repo, source).is_none() {
        return Err(NewMergeRequestError::SourceMissing);
    }
    if objects::branch_tip(repo, target).is_none() {
        return Err(NewMergeRequestError::TargetMissing);
    }
    Ok(())
}

/// Only an open merge request that is not a draft can be merged (GitLab: 405 otherwise).
pub fn can_be_accepted(mr: &MergeRequestRow) -> bool {
    mr.state == OPENED && !mr.draft()
}

/// GitLab's default merge commit message.
pub fn default_message(mr: &MergeRequestRow, project_path: &str) -> String {
    format!(
        "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
        mr.source_branch, mr.target_branch, mr.title, project_path, mr.iid
    )
}

/// How to merge one merge request.
#[derive(Debug, Clone)]
pub struct MergeOrder<'a> {
    pub source_branch: &'a str,
    pub target_branch: &'a str,
    /// The source tip the caller saw (`sha`); the merge is refused when the source moved.
    pub expected_sha: Option<&'a str>,
    pub message: &'a str,
    pub who: &'a Person,
    pub method: MergeMethod,
    /// Delete the source branch afterwards (best effort: a branch that moved is kept).
    pub remove_source: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A branch is gone (GitLab: 405 Method Not Allowed).
    #[error("405 Method Not Allowed")]
    BranchMissing,
    /// The source moved since the caller looked (409).
    #[error("SHA does not match HEAD of source branch: {0}")]
    ShaMismatch(String),
    /// Conflicts, or the merge method needs a rebase first (406).
    #[error("Branch cannot be merged")]
    CannotMerge,
    #[error(transparent)]
    Git(#[from] ObjError),
}

impl From<git2::Error> for MergeError {
    fn from(e: git2::Error) -> Self {
        MergeError::Git(ObjError::Git(e))
    }
}

/// What a caller asks of the merge of a merge request.
#[derive(Debug, Clone)]
pub struct Accept {
    /// The source tip the caller saw (`sha`).
    pub expected_sha: Option<String>,
    pub message: String,
    pub who: Person,
    pub method: MergeMethod,
    /// Delete the source branch afterwards (the caller has checked it may go).
    pub remove_source: bool,
}

/// Merges merge request `mr` in the repository at `path` as `how` asks; returns the target
/// branch's new tip. The merge requests APIs of both surfaces merge through here.
pub fn accept(path: &Path, mr: &MergeRequestRow, how: &Accept) -> Result<Oid, MergeError> {
    let repo = objects::open(path)?;
    merge_branches(
        &repo,
        &MergeOrder {
            source_branch: &mr.source_branch,
            target_branch: &mr.target_branch,
            expected_sha: how.expected_sha.as_deref(),
            message: &how.message,
            who: &how.who,
            method: how.method,
            remove_source: how.remove_source,
        },
    )
}

/// Merges as ordered; returns the target branch's new tip. The target moves with
/// compare-and-swap, so a concurrent push makes this fail rather than lose commits.
pub fn merge_branches(repo: &Repository, order: &MergeOrder<'_>) -> Result<Oid, MergeError> {
    let source = objects::branch_tip(repo, order.source_branch).ok_or(MergeError::BranchMissing)?;
    let target = objects::branch_tip(repo, order.target_branch).ok_or(MergeError::BranchMissing)?;
    if let Some(sha) = order.expected_sha
        && sha != source.to_string()
    {
        return Err(MergeError::ShaMismatch(source.to_string()));
    }
    match objects::mergeability(repo, target, source)? {
        Mergeability::Conflict => return Err(MergeError::CannotMerge),
        Mergeability::Clean if order.method.needs_linear_history() => {
            return Err(MergeError::CannotMerge);
        }
        _ => {}
    }
    let tip = objects::merge(
        repo,
        order.target_branch,
        target,
        source,
        order.message,
        order.who,
        order.method == MergeMethod::FastForward,
    )
    .map_err(|e| match e {
        ObjError::BadRequest(_) => MergeError::CannotMerge,
        e => MergeError::Git(e),
    })?;
    if order.remove_source {
        let _ = objects::delete_ref(repo, &format!("refs/heads/{}", order.source_branch), source);
    }
    Ok(tip)
}

/// The changes of a merge request: from the merge base of target and source to the source tip
/// (none when the source branch is gone).
pub fn changes(repo: &Repository, mr: &MergeRequestRow) -> objects::Result<Vec<objects::FileDiff>> {
    let Some(source) = objects::branch_tip(repo, &mr.source_branch) else {
        return Ok(Vec::new());
    };
    let base = match objects::branch_tip(repo, &mr.target_branch) {
        Some(t) => repo.merge_base(t, source).ok(),
        None => None,
    };
    let new_tree = repo.find_commit(source)?.tree()?;
    let old_tree = base.map(|b| repo.find_commit(b)?.tree()).transpose()?;
    objects::diff_trees(repo, old_tree.as_ref(), Some(&new_tree))
}

/// The commits of a merge request, oldest first (at most 1000). After a merge the target
/// contains the source: these are then the commits the merge brought in.
pub fn commits(repo: &Repository, mr: &MergeRequestRow) -> objects::Result<Vec<Oid>> {
    let Some(source) = objects::branch_tip(repo, &mr.source_branch) else {
        return Ok(Vec::new());
    };
    let hide = match (
        &mr.merge_commit_sha,
        objects::branch_tip(repo, &mr.target_branch),
    ) {
        (Some(sha), _) => Oid::from_str(sha)
            .ok()
            .and_then(|m| repo.find_commit(m).ok())
            .and_then(|m| m.parent_id(0).ok()),
        (None, t) => t,
    };
    let mut oids = match hide {
        Some(h) => objects::range(repo, h, source, 1000)?,
        None => vec![source],
    };
    oids.reverse();
    Ok(oids)
}
