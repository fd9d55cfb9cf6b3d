//! GitLab's v4 shapes of repository entities — commit, commit detail, diff, tree entry, file,
//! branch, tag, compare, protected branch — one struct each, shared by every route that returns
//! it, built from libgit2 objects and store rows.

use git2::Commit as GitCommit;
use serde::Serialize;
use std::collections::BTreeMap;
use tinforge_store::git::objects::{FileDiff, TreeItem};
use tinforge_store::protected_branches::ProtectedBranch as ProtectionRow;
use utoipa::ToSchema;

/// A git time in GitLab's form: `2026-11-25T18:06:12.000+01:00` (the author's own offset).
pub fn git_time(t: git2::Time) -> String {
    let offset = chrono::FixedOffset::east_opt(t.offset_minutes() * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    chrono::DateTime::from_timestamp(t.seconds(), 0)
        .map(|d| {
            d.with_timezone(&offset)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        })
        .unwrap_or_default()
}

/// A commit as lists and embeddings show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Commit {
    pub id: String,
    pub short_id: String,
    pub created_at: String,
    pub parent_ids: Vec<String>,
    pub title: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub authored_date: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committed_date: String,
    /// Always empty: tinforge does not parse trailers.
    pub trailers: BTreeMap<String, String>,
    pub extended_trailers: BTreeMap<String, Vec<String>>,
    pub web_url: String,
}

impl Commit {
    /// `web_base` is the project's URL (`<external_url>/<full_path>`).
    pub fn of(c: &GitCommit<'_>, web_base: &str) -> Commit {
        let id = c.id().to_string();
        let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
        let (author, committer) = (c.author(), c.committer());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Commit {
            short_id: id[..8].to_string(),
            created_at: git_time(committer.when()),
            parent_ids: c.parent_ids().map(|p| p.to_string()).collect(),
            title: message.lines().next().unwrap_or_default().to_string(),
            author_name: text(author.name_bytes()),
            author_email: text(author.email_bytes()),
            authored_date: git_time(author.when()),
            committer_name: text(committer.name_bytes()),
            committer_email: text(committer.email_bytes()),
            committed_date: git_time(committer.when()),
            trailers: BTreeMap::new(),
            extended_trailers: BTreeMap::new(),
            web_url: format!("{web_base}/-/commit/{id}"),
            message,
            id,
        }
    }
}

/// Lines added and removed by a commit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitStats {
    pub additions: usize,
    pub deletions: usize,
    pub total: usize,
}

/// A single commit (`GET …/commits/:sha`, a created commit): the commit with its stats.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitDetail {
    #[serde(flatten)]
    pub commit: Commit,
    pub stats: CommitStats,
    /// Always null: commit statuses are not summarized here.
    pub status: Option<String>,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub last_pipeline: Option<serde_json::Value>,
}

impl CommitDetail {
    pub fn of(c: &GitCommit<'_>, diffs: &[FileDiff], web_base: &str) -> CommitDetail {
        let additions = diffs.iter().map(|d| d.additions).sum();
        let deletions = diffs.iter().map(|d| d.deletions).sum();
        CommitDetail {
            commit: Commit::of(c, web_base),
            stats: CommitStats {
                additions,
                deletions,
                total: additions + deletions,
            },
            status: None,
            last_pipeline: None,
        }
    }
}

/// One file's diff.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diff {
    pub old_path: String,
    pub new_path: String,
    pub a_mode: String,
    pub b_mode: String,
    pub new_file: bool,
    pub renamed_file: bool,
    pub deleted_file: bool,
    pub generated_file: bool,
    pub diff: String,
}

impl From<&FileDiff> for Diff {
    fn from(d: &FileDiff) -> Diff {
        Diff {
            old_path: d.old_path.clone(),
            new_path: d.new_path.clone(),
            a_mode: d.a_mode.clone(),
            b_mode: d.b_mode.clone(),
            new_file: d.new_file,
            renamed_file: d.renamed_file,
            deleted_file: d.deleted_file,
            generated_file: false,
            diff: d.diff.clone(),
        }
    }
}

/// The diffs of a list of file changes.
pub fn diffs(list: &[FileDiff]) -> Vec<Diff> {
    list.iter().map(Diff::from).collect()
}

/// An entry of a repository tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TreeEntry {
    pub id: String,
    pub name: String,
    /// `tree`, `blob` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    pub mode: String,
}

impl From<TreeItem> for TreeEntry {
    fn from(i: TreeItem) -> TreeEntry {
        TreeEntry {
            id: i.id,
            name: i.name,
            kind: i.kind.to_string(),
            path: i.path,
            mode: i.mode,
        }
    }
}

/// A file at a ref, its content base64-encoded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct File {
    pub file_name: String,
    pub file_path: String,
    pub size: usize,
    pub encoding: String,
    pub content: String,
    pub content_sha256: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub blob_id: String,
    pub commit_id: String,
    pub last_commit_id: String,
    pub execute_filemode: bool,
}

/// What a file write answers (create, update).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileWritten {
    pub file_path: String,
    pub branch: String,
}

/// A branch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Branch {
    pub name: String,
    pub merged: bool,
    pub protected: bool,
    pub default: bool,
    pub developers_can_push: bool,
    pub developers_can_merge: bool,
    pub can_push: bool,
    pub web_url: String,
    pub commit: Commit,
}

/// A tag (lightweight or annotated).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tag {
    pub name: String,
    /// The annotation's message, empty for a lightweight tag.
    pub message: String,
    /// The tag object (annotated) or the commit (lightweight).
    pub target: String,
    pub commit: Commit,
    /// Always null: releases are not supported.
    #[schema(value_type = Option<Object>)]
    pub release: Option<serde_json::Value>,
    pub protected: bool,
    /// The tagger's date; null for a lightweight tag.
    pub created_at: Option<String>,
}

/// The comparison of two refs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compare {
    /// The newest commit of the range, null when the range is empty.
    pub commit: Option<Commit>,
    pub commits: Vec<Commit>,
    pub diffs: Vec<Diff>,
    pub compare_timeout: bool,
    pub compare_same_ref: bool,
    pub web_url: String,
}

/// One access level of a protected branch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessLevel {
    pub id: i64,
    pub access_level: i32,
    pub access_level_description: String,
    pub deploy_key_id: Option<i64>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
}

impl AccessLevel {
    fn of(id: i64, level: i32) -> AccessLevel {
        let description = match level {
            0 => "No one",
            30 => "Developers + Maintainers",
            40 => "Maintainers",
            60 => "Admins",
            _ => "Custom",
        };
        AccessLevel {
            id,
            access_level: level,
            access_level_description: description.to_string(),
            deploy_key_id: None,
            user_id: None,
            group_id: None,
        }
    }
}

/// A protected branch or wildcard pattern.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProtectedBranch {
    pub id: i64,
    pub name: String,
    pub push_access_levels: Vec<AccessLevel>,
    pub merge_access_levels: Vec<AccessLevel>,
    /// Always empty.
    pub unprotect_access_levels: Vec<AccessLevel>,
    pub allow_force_push: bool,
    pub code_owner_approval_required: bool,
}

impl From<&ProtectionRow> for ProtectedBranch {
    fn from(p: &ProtectionRow) -> ProtectedBranch {
        ProtectedBranch {
            id: p.id,
            name: p.name.clone(),
            push_access_levels: vec![AccessLevel::of(p.id, p.push_access_level)],
            merge_access_levels: vec![AccessLevel::of(p.id, p.merge_access_level)],
            unprotect_access_levels: Vec::new(),
            allow_force_push: p.allow_force_push,
            code_owner_approval_required: false,
        }
    }
}
