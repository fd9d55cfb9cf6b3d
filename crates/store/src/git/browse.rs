//! What the repository API reads and writes beyond single objects: branches and tags (listed,
//! found, created, deleted), a file at a ref, a blob by id, and the base of a comparison.
//! Blocking, like [`objects`](super::objects): call through the surface's blocking helper.

use super::objects::{self, ObjError, Person, Result};
use git2::{BranchType, Commit, Oid, Repository};
use std::path::Path;

/// The local branches with their tips, by name.
pub fn branches(repo: &Repository) -> Result<Vec<(String, Oid)>> {
    let mut names = Vec::new();
    for b in repo.branches(Some(BranchType::Local))? {
        let (b, _) = b?;
        if let (Some(name), Some(tip)) = (b.name()?.map(str::to_string), b.get().target()) {
            names.push((name, tip));
        }
    }
    names.sort();
    Ok(names)
}

/// Whether branch `name` at `tip` is merged into the default branch (never for the default
/// branch itself).
pub fn merged_into_default(
    repo: &Repository,
    default_branch: &str,
    name: &str,
    tip: Oid,
) -> Result<bool> {
    Ok(match objects::branch_tip(repo, default_branch) {
        Some(d) if name != default_branch => d == tip || repo.graph_descendant_of(d, tip)?,
        _ => false,
    })
}

/// The tag names, newest name first (reverse lexical order, as GitLab sorts by default).
pub fn tag_names(repo: &Repository) -> Result<Vec<String>> {
    let mut names: Vec<String> = repo
        .tag_names(None)?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    names.sort();
    names.reverse();
    Ok(names)
}

/// A tag: what it points at and, when annotated, its message and tagger.
pub struct TagInfo<'r> {
    pub name: String,
    /// The tag object (annotated) or the commit (lightweight).
    pub target: Oid,
    pub message: Option<String>,
    pub tagged_at: Option<git2::Time>,
    pub commit: Commit<'r>,
}

/// Tag `name`, None when there is none (or it does not lead to a commit).
pub fn find_tag<'r>(repo: &'r Repository, name: &str) -> Result<Option<TagInfo<'r>>> {
    let Ok(r) = repo.find_reference(&format!("refs/tags/{name}")) else {
        return Ok(None);
    };
    let Some(target) = r.target() else {
        return Ok(None);
    };
    let tag = repo.find_tag(target).ok();
    let Ok(commit) = r.peel_to_commit() else {
        return Ok(None);
    };
    Ok(Some(TagInfo {
        name: name.to_string(),
        target,
        message: tag.as_ref().and_then(|t| t.message().map(str::to_string)),
        tagged_at: tag.as_ref().and_then(|t| t.tagger()).map(|s| s.when()),
        commit,
    }))
}

/// Creates tag `name` at the commit `reference` names: annotated by `tagger` when there is a
/// message, lightweight otherwise; the commit's id. GitLab's 400s: `Tag <name> already exists`,
/// `Target <ref> is invalid`.
pub fn create_tag(
    repo: &Repository,
    name: &str,
    reference: &str,
    message: Option<&str>,
    tagger: &Person,
) -> Result<Oid> {
    let exists = || ObjError::BadRequest(format!("Tag {name} already exists"));
    if repo.find_reference(&format!("refs/tags/{name}")).is_ok() {
        return Err(exists());
    }
    let commit = objects::resolve(repo, reference)
        .ok_or_else(|| ObjError::BadRequest(format!("Target {reference} is invalid")))?;
    match message {
        Some(m) => {
            let sig = git2::Signature::now(&tagger.name, &tagger.email)?;
            repo.tag(name, commit.as_object(), &sig, m, false)
        }
        None => repo.tag_lightweight(name, commit.as_object(), false),
    }
    .map_err(|e| match e.code() {
        git2::ErrorCode::Exists => exists(),
        _ => ObjError::Git(e),
    })?;
    Ok(commit.id())
}

/// Deletes tag `name` (404 `Tag` when there is none).
pub fn delete_tag(repo: &Repository, name: &str) -> Result<()> {
    let mut r = repo
        .find_reference(&format!("refs/tags/{name}"))
        .map_err(|_| ObjError::NotFound("404 Tag Not Found"))?;
    r.delete()?;
    Ok(())
}

/// A file at a commit, with what GitLab reports about it.
pub struct FileAt {
    pub content: Vec<u8>,
    pub blob_id: Oid,
    /// The last commit (from `commit` back) that touched the file.
    pub last_commit_id: Oid,
    pub executable: bool,
}

/// The file at `path` in `commit`: 404 `File` when there is no such file, 413 above
/// [`objects::MAX_FILE_BYTES`].
pub fn file_at(repo: &Repository, commit: &Commit<'_>, path: &str) -> Result<FileAt> {
    let not_found = ObjError::NotFound("404 File Not Found");
    let Ok(entry) = commit.tree()?.get_path(Path::new(path)) else {
        return Err(not_found);
    };
    if entry.kind() != Some(git2::ObjectType::Blob) {
        return Err(not_found);
    }
    let blob = repo.find_blob(entry.id())?;
    if blob.size() > objects::MAX_FILE_BYTES {
        return Err(ObjError::TooLarge);
    }
    let last = objects::last_commit_for(repo, commit.id(), path)?.unwrap_or(commit.id());
    Ok(FileAt {
        content: blob.content().to_vec(),
        blob_id: blob.id(),
        last_commit_id: last,
        executable: entry.filemode() == 0o100755,
    })
}

/// The content of the blob `sha` names (4 to 40 hex digits): 404 `Blob` when none does, 413
/// above [`objects::MAX_FILE_BYTES`].
pub fn blob(repo: &Repository, sha: &str) -> Result<Vec<u8>> {
    let not_found = || ObjError::NotFound("404 Blob Not Found");
    if !(4..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let blob = repo
        .revparse_single(sha)
        .ok()
        .and_then(|o| o.into_blob().ok())
        .ok_or_else(not_found)?;
    if blob.size() > objects::MAX_FILE_BYTES {
        return Err(ObjError::TooLarge);
    }
    Ok(blob.content().to_vec())
}

/// Where the diff of `from`…`to` starts: the merge base (as `git diff from...to`), or `from`
/// itself when `straight`.
pub fn compare_base(repo: &Repository, from: Oid, to: Oid, straight: bool) -> Oid {
    if straight {
        from
    } else {
        repo.merge_base(from, to).unwrap_or(from)
    }
}
