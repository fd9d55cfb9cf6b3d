//! Reading and writing repository objects (trees, blobs, commits, refs) with libgit2 through the
//! `git2` crate, built from its vendored sources (feature `vendored-libgit2`, no network and no
//! dependency on the system library's version).
//!
//! Why git2: it reads objects, builds trees in memory (`TreeUpdateBuilder`), writes commits, moves
//! refs with compare-and-swap (`reference_matching`) and does three-way merges (`merge_commits`,
//! `merge_analysis`) in-process, all of which the repository and merge request APIs need. `gix`
//! reads well but its tree editing and merging were less complete when this was written; shelling
//! out to `git` for every read means a process per request and parsing porcelain output, and
//! merging with it needs a work tree or `merge-tree` plumbing of recent git versions. Clone, fetch
//! and push still run the real `git` (smart.rs): that is protocol work git does best.
//!
//! Everything here is blocking: call it through `web::block`.

use git2::{Commit, ObjectType, Oid, Repository, Signature, Tree};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Files larger than this are refused (read or written) with 413.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ObjError {
    /// A 404 with GitLab's message (`404 File Not Found`, `404 Branch Not Found`, …).
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// The branch moved while we wrote: the caller may retry.
    #[error("{0}")]
    Conflict(String),
    #[error("file is too large")]
    TooLarge,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

pub type Result<T> = std::result::Result<T, ObjError>;

pub fn open(path: &Path) -> Result<Repository> {
    Ok(Repository::open_bare(path)?)
}

/// Has nothing been pushed yet (no branch, no tag)? libgit2's own `is_empty` also wants HEAD on
/// the `init.defaultBranch` of the machine, which says nothing about a project's repository.
pub fn is_empty(repo: &Repository) -> bool {
    repo.references()
        .map(|mut refs| refs.next().is_none())
        .unwrap_or(true)
}

/// A repository-relative file path as the API accepts it: relative, no `.`/`..`/empty components,
/// no `.git` component, no NUL. Trailing slashes are dropped.
pub fn clean_path(path: &str) -> Option<String> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') || trimmed.contains('\0') {
        return None;
    }
    let ok = trimmed
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != ".." && !c.eq_ignore_ascii_case(".git"));
    ok.then(|| trimmed.to_string())
}

/// A name git accepts for a branch or tag (`refs/heads/<name>`).
pub fn valid_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('-')
        && name != "HEAD"
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

/// The commit a `ref` names: a branch, a tag, `HEAD` or a (possibly abbreviated) commit id.
pub fn resolve<'r>(repo: &'r Repository, reference: &str) -> Option<Commit<'r>> {
    if reference.is_empty() || reference.starts_with('-') {
        return None;
    }
    for full in [
        format!("refs/heads/{reference}"),
        format!("refs/tags/{reference}"),
    ] {
        if git2::Reference::is_valid_name(&full)
            && let Ok(r) = repo.find_reference(&full)
            && let Ok(c) = r.peel_to_commit()
        {
            return Some(c);
        }
    }
    if reference == "HEAD" {
        return repo.head().ok()?.peel_to_commit().ok();
    }
    if (4..=40).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        return repo.revparse_single(reference).ok()?.peel_to_commit().ok();
    }
    None
}

/// The tip of branch `name`, None when there is no such branch.
pub fn branch_tip(repo: &Repository, name: &str) -> Option<Oid> {
    if !valid_ref_name(name) {
        return None;
    }
    repo.find_reference(&format!("refs/heads/{name}"))
        .ok()?
        .target()
}

/// The entry at `path` in `tree` (None: the tree itself for an empty path).
pub fn tree_at<'r>(repo: &'r Repository, tree: &Tree<'r>, path: &str) -> Result<Tree<'r>> {
    if path.is_empty() {
        return Ok(tree.clone());
    }
    let entry = tree
        .get_path(Path::new(path))
        .map_err(|_| ObjError::NotFound("404 Tree Not Found"))?;
    if entry.kind() != Some(ObjectType::Tree) {
        return Err(ObjError::NotFound("404 Tree Not Found"));
    }
    Ok(repo.find_tree(entry.id())?)
}

/// One entry of a tree listing.
pub struct TreeItem {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub path: String,
    pub mode: String,
}

/// The entries under `tree` (`prefix` is its path), recursively or not, in git's order.
pub fn list_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    recursive: bool,
) -> Vec<TreeItem> {
    let mut out = Vec::new();
    for entry in tree.iter() {
        let name = entry.name().unwrap_or_default().to_string();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = match entry.kind() {
            Some(ObjectType::Tree) => "tree",
            Some(ObjectType::Commit) => "commit",
            _ => "blob",
        };
        out.push(TreeItem {
            id: entry.id().to_string(),
            name,
            kind,
            path: path.clone(),
            mode: format!("{:06o}", entry.filemode()),
        });
        if recursive
            && kind == "tree"
            && let Ok(sub) = repo.find_tree(entry.id())
        {
            out.extend(list_tree(repo, &sub, &path, true));
        }
    }
    out
}

/// The newest commit reachable from `start` that changed `path` (a file or directory).
pub fn last_commit_for(repo: &Repository, start: Oid, path: &str) -> Result<Option<Oid>> {
    let mut walk = repo.revwalk()?;
    walk.push(start)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    for oid in walk {
        let oid = oid?;
        if touches(repo, oid, path)? {
            return Ok(Some(oid));
        }
    }
    Ok(None)
}

/// Whether commit `oid` changed `path` against its first parent (or added it, for a root).
pub fn touches(repo: &Repository, oid: Oid, path: &str) -> Result<bool> {
    let commit = repo.find_commit(oid)?;
    let here = commit
        .tree()?
        .get_path(Path::new(path))
        .ok()
        .map(|e| e.id());
    let before = match commit.parent(0) {
        Ok(p) => p.tree()?.get_path(Path::new(path)).ok().map(|e| e.id()),
        Err(_) => None,
    };
    Ok(here != before)
}

/// Commits reachable from `start`, newest first, optionally only those touching `path`; `skip`
/// and `take` page through them. Returns the page and whether more follow.
pub fn history(
    repo: &Repository,
    start: Oid,
    path: Option<&str>,
    skip: usize,
    take: usize,
) -> Result<(Vec<Oid>, bool)> {
    let mut walk = repo.revwalk()?;
    walk.push(start)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    let mut seen = 0usize;
    let mut page = Vec::new();
    for oid in walk {
        let oid = oid?;
        if let Some(p) = path
            && !touches(repo, oid, p)?
        {
            continue;
        }
        if seen >= skip + take {
            return Ok((page, true));
        }
        if seen >= skip {
            page.push(oid);
        }
        seen += 1;
    }
    Ok((page, false))
}

/// Commits reachable from `to` and not from `from`, oldest first (as `git log from..to --reverse`).
pub fn range(repo: &Repository, from: Oid, to: Oid, limit: usize) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk()?;
    walk.push(to)?;
    walk.hide(from)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE)?;
    let mut out = Vec::new();
    for oid in walk.take(limit) {
        out.push(oid?);
    }
    Ok(out)
}

/// One file change of a diff, in GitLab's shape.
pub struct FileDiff {
    pub old_path: String,
    pub new_path: String,
    pub a_mode: String,
    pub b_mode: String,
    pub new_file: bool,
    pub renamed_file: bool,
    pub deleted_file: bool,
    pub diff: String,
    pub additions: usize,
    pub deletions: usize,
}

/// The diff between two trees (None: the empty tree), renames detected, one entry per file.
pub fn diff_trees(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
) -> Result<Vec<FileDiff>> {
    let mut diff = repo.diff_tree_to_tree(old, new, None)?;
    diff.find_similar(None)?;
    let mut out = Vec::new();
    for i in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(i) else {
            continue;
        };
        let path_of = |f: git2::DiffFile<'_>| {
            f.path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let old_path = path_of(delta.old_file());
        let new_path = path_of(delta.new_file());
        let mode = |f: git2::DiffFile<'_>| {
            let m: i32 = f.mode().into();
            if m == 0 {
                "0".to_string()
            } else {
                format!("{m:o}")
            }
        };
        let mut text = String::new();
        let (mut additions, mut deletions) = (0, 0);
        if let Ok(Some(mut patch)) = git2::Patch::from_diff(&diff, i) {
            let (_, a, d) = patch.line_stats()?;
            additions = a;
            deletions = d;
            let buf = patch.to_buf()?;
            let full = String::from_utf8_lossy(&buf).into_owned();
            // GitLab's `diff` is the hunks only, without the `diff --git`/`---`/`+++` header.
            text = match full.find("\n@@") {
                Some(at) => full[at + 1..].to_string(),
                None if full.starts_with("@@") => full,
                None => String::new(),
            };
            if delta.new_file().is_binary() || delta.old_file().is_binary() {
                text = format!("Binary files {old_path} and {new_path} differ\n");
            }
        }
        out.push(FileDiff {
            a_mode: mode(delta.old_file()),
            b_mode: mode(delta.new_file()),
            new_file: delta.status() == git2::Delta::Added,
            deleted_file: delta.status() == git2::Delta::Deleted,
            renamed_file: delta.status() == git2::Delta::Renamed,
            old_path,
            new_path,
            diff: text,
            additions,
            deletions,
        });
    }
    Ok(out)
}

/// The changes of a commit against its first parent.
pub fn commit_diff(repo: &Repository, commit: &Commit<'_>) -> Result<Vec<FileDiff>> {
    let tree = commit.tree()?;
    let parent = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
    diff_trees(repo, parent.as_ref(), Some(&tree))
}

/// One change of a multi-file commit.
#[derive(Debug, Clone)]
pub enum Action {
    Create {
        path: String,
        content: Vec<u8>,
    },
    Update {
        path: String,
        content: Vec<u8>,
    },
    Delete {
        path: String,
    },
    Move {
        from: String,
        to: String,
        content: Option<Vec<u8>>,
    },
    /// Sets or clears the execute flag of a file.
    Chmod {
        path: String,
        executable: bool,
    },
}

/// Why an action of a multi-file commit is not understood: a required part is missing (GitLab
/// answers `{"error": …}`), or a part is invalid (`{"message": …}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
}

impl Action {
    /// One action as GitLab's commit API spells it (`create`, `update`, `delete`, `move`,
    /// `chmod` with `execute_filemode`), with its paths checked by [`clean_path`]; `content` is
    /// already decoded. Both the REST commit API and GraphQL's `commitCreate` build their
    /// actions here.
    pub fn parse(
        kind: &str,
        file_path: Option<&str>,
        previous_path: Option<&str>,
        content: Option<Vec<u8>>,
        execute_filemode: Option<bool>,
    ) -> std::result::Result<Action, ActionError> {
        let path_of = |key: &str, raw: Option<&str>| match raw.filter(|s| !s.is_empty()) {
            None => Err(ActionError::Missing(format!("actions[{key}] is missing"))),
            Some(raw) => clean_path(raw).ok_or(ActionError::Invalid(format!("{key} is invalid"))),
        };
        Ok(match kind {
            "create" => Action::Create {
                path: path_of("file_path", file_path)?,
                content: content.unwrap_or_default(),
            },
            "update" => Action::Update {
                path: path_of("file_path", file_path)?,
                content: content
                    .ok_or_else(|| ActionError::Missing("actions[content] is missing".into()))?,
            },
            "delete" => Action::Delete {
                path: path_of("file_path", file_path)?,
            },
            "move" => Action::Move {
                from: path_of("previous_path", previous_path)?,
                to: path_of("file_path", file_path)?,
                content,
            },
            "chmod" => Action::Chmod {
                path: path_of("file_path", file_path)?,
                executable: execute_filemode.unwrap_or(false),
            },
            _ => {
                return Err(ActionError::Missing(
                    "actions[action] does not have a valid value".into(),
                ));
            }
        })
    }
}

/// File content as the APIs receive it: text, or base64 (whitespace ignored); None when the
/// base64 is not valid.
pub fn decode_content(text: &str, base64: bool) -> Option<Vec<u8>> {
    use base64::Engine;
    if !base64 {
        return Some(text.as_bytes().to_vec());
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Who a commit is by.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

impl Person {
    /// A user as author or committer: their name, or their username when the name is blank.
    pub fn of_user(user: &crate::users::User) -> Person {
        Person {
            name: if user.name.trim().is_empty() {
                user.username.clone()
            } else {
                user.name.clone()
            },
            email: user.email.clone(),
        }
    }
}

/// What a commit written through the API says.
pub struct NewCommit<'a> {
    pub branch: &'a str,
    /// Where a new branch starts; ignored when `branch` exists.
    pub start: Option<Oid>,
    pub message: &'a str,
    pub author: Person,
    pub committer: Person,
    pub actions: Vec<Action>,
}

/// Where a commit to `branch` starts, as GitLab's commit and file APIs decide it: an existing
/// branch continues from its own tip (None), so does the first commit of an empty repository;
/// a new branch starts from `start_branch` (a branch, tag or commit), which is then required.
pub fn commit_start(
    repo: &Repository,
    branch: &str,
    start_branch: Option<&str>,
) -> Result<Option<Oid>> {
    let exists = branch_tip(repo, branch).is_some();
    let empty = repo.references()?.next().is_none();
    match start_branch {
        _ if exists || empty => Ok(None),
        Some(s) => branch_tip(repo, s)
            .or_else(|| resolve(repo, s).map(|c| c.id()))
            .map(Some)
            .ok_or_else(|| {
                ObjError::BadRequest(format!(
                    "You can only create or edit files when you are on a branch ({s} not found)"
                ))
            }),
        None => Err(ObjError::BadRequest(
            "You can only create or edit files when you are on a branch".into(),
        )),
    }
}

/// Applies `actions` on the tip of `branch` (or `start` for a new branch), writes the commit and
/// moves the branch with compare-and-swap: the ref moves only if it still points where we read it
/// (else [`ObjError::Conflict`]). Returns the new commit.
pub fn commit_actions(repo: &Repository, new: &NewCommit<'_>) -> Result<Oid> {
    if !valid_ref_name(new.branch) {
        return Err(ObjError::BadRequest("branch is invalid".into()));
    }
    let refname = format!("refs/heads/{}", new.branch);
    let tip = branch_tip(repo, new.branch);
    let base = tip.or(new.start);
    let base_commit = base.map(|b| repo.find_commit(b)).transpose()?;
    let base_tree = match &base_commit {
        Some(c) => c.tree()?,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    // The final state of every touched path (None: removed), so each path gets one update.
    let mut edits: std::collections::BTreeMap<String, Option<(Oid, git2::FileMode)>> =
        std::collections::BTreeMap::new();
    let exists = |p: &str| base_tree.get_path(Path::new(p)).ok();
    let blob_mode = |p: &str| match exists(p) {
        Some(e) if e.filemode() == 0o100755 => git2::FileMode::BlobExecutable,
        _ => git2::FileMode::Blob,
    };
    // Paths changed so far in this commit, so later actions see earlier ones.
    let mut created: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let present = |p: &str, created: &[String], removed: &[String]| {
        (exists(p).is_some() && !removed.iter().any(|r| r == p)) || created.iter().any(|c| c == p)
    };
    for action in &new.actions {
        match action {
            Action::Create { path, content } => {
                if present(path, &created, &removed) {
                    return Err(ObjError::BadRequest(
                        "A file with this name already exists".into(),
                    ));
                }
                check_size(content)?;
                let blob = repo.blob(content)?;
                edits.insert(path.clone(), Some((blob, git2::FileMode::Blob)));
                created.push(path.clone());
                removed.retain(|r| r != path);
            }
            Action::Update { path, content } => {
                if !present(path, &created, &removed) || is_dir(&base_tree, path) {
                    return Err(ObjError::BadRequest(
                        "A file with this name doesn't exist".into(),
                    ));
                }
                check_size(content)?;
                let blob = repo.blob(content)?;
                edits.insert(path.clone(), Some((blob, blob_mode(path))));
            }
            Action::Delete { path } => {
                if !present(path, &created, &removed) || is_dir(&base_tree, path) {
                    return Err(ObjError::BadRequest(
                        "A file with this name doesn't exist".into(),
                    ));
                }
                edits.insert(path.clone(), None);
                removed.push(path.clone());
                created.retain(|c| c != path);
            }
            Action::Move { from, to, content } => {
                if !present(from, &created, &removed) || is_dir(&base_tree, from) {
                    return Err(ObjError::BadRequest(
                        "A file with this name doesn't exist".into(),
                    ));
                }
                if present(to, &created, &removed) {
                    return Err(ObjError::BadRequest(
                        "A file with this name already exists".into(),
                    ));
                }
                let blob = match content {
                    Some(c) => {
                        check_size(c)?;
                        repo.blob(c)?
                    }
                    None => match exists(from) {
                        Some(e) => e.id(),
                        None => {
                            return Err(ObjError::BadRequest(
                                "moving a file created in the same commit needs its content".into(),
                            ));
                        }
                    },
                };
                edits.insert(from.clone(), None);
                edits.insert(to.clone(), Some((blob, blob_mode(from))));
                removed.push(from.clone());
                created.push(to.clone());
            }
            Action::Chmod { path, executable } => {
                let missing = || ObjError::BadRequest("A file with this name doesn't exist".into());
                if !present(path, &created, &removed) || is_dir(&base_tree, path) {
                    return Err(missing());
                }
                // The content as this commit left it so far, else as the base has it.
                let blob = match edits.get(path) {
                    Some(Some((blob, _))) => *blob,
                    _ => exists(path).map(|e| e.id()).ok_or_else(missing)?,
                };
                let mode = if *executable {
                    git2::FileMode::BlobExecutable
                } else {
                    git2::FileMode::Blob
                };
                edits.insert(path.clone(), Some((blob, mode)));
            }
        }
    }
    let mut builder = git2::build::TreeUpdateBuilder::new();
    for (path, edit) in &edits {
        match edit {
            Some((blob, mode)) => {
                builder.upsert(path, *blob, *mode);
            }
            None if exists(path).is_some() => {
                builder.remove(path);
            }
            None => {}
        }
    }
    let tree_id = builder.create_updated(repo, &base_tree)?;
    let tree = repo.find_tree(tree_id)?;
    let author = Signature::now(&new.author.name, &new.author.email)?;
    let committer = Signature::now(&new.committer.name, &new.committer.email)?;
    let parents: Vec<&Commit<'_>> = base_commit.iter().collect();
    let oid = repo.commit(None, &author, &committer, new.message, &tree, &parents)?;
    move_ref(repo, &refname, tip, oid, "commit via API")?;
    Ok(oid)
}

fn is_dir(tree: &Tree<'_>, path: &str) -> bool {
    tree.get_path(Path::new(path))
        .is_ok_and(|e| e.kind() == Some(ObjectType::Tree))
}

fn check_size(content: &[u8]) -> Result<()> {
    if content.len() > MAX_FILE_BYTES {
        Err(ObjError::TooLarge)
    } else {
        Ok(())
    }
}

/// Moves `refname` from `old` (None: it must not exist) to `new`, atomically.
pub fn move_ref(
    repo: &Repository,
    refname: &str,
    old: Option<Oid>,
    new: Oid,
    why: &str,
) -> Result<()> {
    let moved = match old {
        Some(old) => repo.reference_matching(refname, new, true, old, why),
        None => repo.reference(refname, new, false, why),
    };
    if moved.is_ok() {
        super::repos::housekeep(repo.path());
    }
    moved.map(|_| ()).map_err(|e| match e.code() {
        git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked => {
            ObjError::Conflict(format!(
                "{} was changed by someone else, try again",
                refname.trim_start_matches("refs/heads/")
            ))
        }
        _ => ObjError::Git(e),
    })
}

/// Deletes `refname` if it still points at `old`.
pub fn delete_ref(repo: &Repository, refname: &str, old: Oid) -> Result<()> {
    let mut r = repo
        .find_reference(refname)
        .map_err(|_| ObjError::NotFound("404 Branch Not Found"))?;
    if r.target() != Some(old) {
        return Err(ObjError::Conflict(format!(
            "{refname} was changed by someone else, try again"
        )));
    }
    r.delete()?;
    Ok(())
}

/// How merging a source commit into a target would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mergeability {
    /// The target already contains the source.
    UpToDate,
    /// The target is an ancestor of the source.
    FastForward,
    /// A merge commit without conflicts.
    Clean,
    Conflict,
}

/// How many id pairs [`mergeability`] remembers before it starts over.
const MERGEABILITY_MEMO_LIMIT: usize = 10_000;

static MERGEABILITY_MEMO: std::sync::LazyLock<Mutex<HashMap<(Oid, Oid), Mergeability>>> =
    std::sync::LazyLock::new(Mutex::default);

/// [`compute_mergeability`], remembered process-wide by (target, source) commit ids. Exact, never
/// stale: commit ids name their whole history and content, so the answer for a pair can never
/// change (and is the same in any repository that has both). Listing merge requests asks this
/// for every item on every read; the in-memory merge behind it costs milliseconds on big trees.
pub fn mergeability(repo: &Repository, target: Oid, source: Oid) -> Result<Mergeability> {
    if let Some(known) = memo().get(&(target, source)).copied() {
        return Ok(known);
    }
    let computed = compute_mergeability(repo, target, source)?;
    let mut known = memo();
    if known.len() >= MERGEABILITY_MEMO_LIMIT {
        known.clear();
    }
    known.insert((target, source), computed);
    Ok(computed)
}

fn memo() -> std::sync::MutexGuard<'static, HashMap<(Oid, Oid), Mergeability>> {
    // A poisoned memo is still a valid memo: every entry was written whole.
    MERGEABILITY_MEMO.lock().unwrap_or_else(|e| e.into_inner())
}

/// How merging `source` into `target` would go, computed now (graph walks and, when the two
/// diverged, an in-memory three-way merge).
pub fn compute_mergeability(repo: &Repository, target: Oid, source: Oid) -> Result<Mergeability> {
    if target == source || repo.graph_descendant_of(target, source)? {
        return Ok(Mergeability::UpToDate);
    }
    if repo.graph_descendant_of(source, target)? {
        return Ok(Mergeability::FastForward);
    }
    let ours = repo.find_commit(target)?;
    let theirs = repo.find_commit(source)?;
    let index = repo.merge_commits(&ours, &theirs, None)?;
    Ok(if index.has_conflicts() {
        Mergeability::Conflict
    } else {
        Mergeability::Clean
    })
}

/// Merges `source` into branch `target_branch` (tip `target`): a merge commit (or a fast-forward
/// when `fast_forward` and possible), the branch moved with compare-and-swap. Returns the new tip.
pub fn merge(
    repo: &Repository,
    target_branch: &str,
    target: Oid,
    source: Oid,
    message: &str,
    who: &Person,
    fast_forward: bool,
) -> Result<Oid> {
    let refname = format!("refs/heads/{target_branch}");
    let new_tip = match mergeability(repo, target, source)? {
        Mergeability::UpToDate => return Ok(target),
        Mergeability::Conflict => {
            return Err(ObjError::BadRequest("Branch cannot be merged".into()));
        }
        Mergeability::FastForward if fast_forward => source,
        _ => {
            let ours = repo.find_commit(target)?;
            let theirs = repo.find_commit(source)?;
            let mut index = repo.merge_commits(&ours, &theirs, None)?;
            if index.has_conflicts() {
                return Err(ObjError::BadRequest("Branch cannot be merged".into()));
            }
            let tree = repo.find_tree(index.write_tree_to(repo)?)?;
            let sig = Signature::now(&who.name, &who.email)?;
            repo.commit(None, &sig, &sig, message, &tree, &[&ours, &theirs])?
        }
    };
    move_ref(repo, &refname, Some(target), new_tip, "merge via API")?;
    Ok(new_tip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_plain() {
        assert_eq!(clean_path("src/a.md").as_deref(), Some("src/a.md"));
        assert_eq!(clean_path("dir/").as_deref(), Some("dir"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            ".git/config",
            "a/.GIT",
        ] {
            assert_eq!(clean_path(bad), None, "{bad}");
        }
        assert!(valid_ref_name("feature/x"));
        assert!(!valid_ref_name("a..b"));
        assert!(!valid_ref_name("-x"));
        assert!(!valid_ref_name("HEAD"));
    }

    #[test]
    fn commits_with_actions_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let me = || Person {
            name: "T".into(),
            email: "t@example.com".into(),
        };
        let commit = |branch: &str, start: Option<Oid>, actions: Vec<Action>| {
            commit_actions(
                &repo,
                &NewCommit {
                    branch,
                    start,
                    message: "m",
                    author: me(),
                    committer: me(),
                    actions,
                },
            )
        };
        let first = commit(
            "main",
            None,
            vec![Action::Create {
                path: "a/b.txt".into(),
                content: b"one\n".to_vec(),
            }],
        )
        .unwrap();
        assert!(matches!(
            commit(
                "main",
                None,
                vec![Action::Create {
                    path: "a/b.txt".into(),
                    content: vec![]
                }]
            ),
            Err(ObjError::BadRequest(_))
        ));
        let side = commit(
            "side",
            Some(first),
            vec![Action::Update {
                path: "a/b.txt".into(),
                content: b"two\n".to_vec(),
            }],
        )
        .unwrap();
        assert_eq!(
            mergeability(&repo, first, side).unwrap(),
            Mergeability::FastForward
        );
        let main2 = commit(
            "main",
            None,
            vec![Action::Update {
                path: "a/b.txt".into(),
                content: b"three\n".to_vec(),
            }],
        )
        .unwrap();
        assert_eq!(
            mergeability(&repo, main2, side).unwrap(),
            Mergeability::Conflict
        );
        let other = commit(
            "other",
            Some(first),
            vec![Action::Move {
                from: "a/b.txt".into(),
                to: "c.txt".into(),
                content: None,
            }],
        )
        .unwrap();
        let _ = other;
        let again = commit(
            "other",
            None,
            vec![
                Action::Create {
                    path: "d.txt".into(),
                    content: b"d".to_vec(),
                },
                Action::Delete {
                    path: "d.txt".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(
            repo.find_commit(again).unwrap().tree_id(),
            repo.find_commit(other).unwrap().tree_id()
        );
        let third = commit(
            "third",
            Some(first),
            vec![Action::Create {
                path: "new.txt".into(),
                content: b"x".to_vec(),
            }],
        )
        .unwrap();
        assert_eq!(
            mergeability(&repo, main2, third).unwrap(),
            Mergeability::Clean
        );
        let executable = commit(
            "third",
            None,
            vec![Action::Chmod {
                path: "new.txt".into(),
                executable: true,
            }],
        )
        .unwrap();
        let mode = |oid: Oid| {
            let tree = repo.find_commit(oid).unwrap().tree().unwrap();
            tree.get_path(Path::new("new.txt")).unwrap().filemode()
        };
        assert_eq!(mode(third), 0o100644);
        assert_eq!(mode(executable), 0o100755);
        let third = executable;
        let merged = merge(&repo, "main", main2, third, "Merge", &me(), false).unwrap();
        assert_eq!(repo.find_commit(merged).unwrap().parent_count(), 2);
        assert_eq!(branch_tip(&repo, "main"), Some(merged));
        // A stale expected value is refused.
        assert!(matches!(
            move_ref(&repo, "refs/heads/main", Some(first), side, "x"),
            Err(ObjError::Conflict(_))
        ));
        assert_eq!(resolve(&repo, "main").unwrap().id(), merged);
        assert_eq!(resolve(&repo, &first.to_string()[..8]).unwrap().id(), first);
        assert!(resolve(&repo, "nope").is_none());
    }
}
