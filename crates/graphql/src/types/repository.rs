//! `Project.repository` as GitLab's GraphQL shows it: `rootRef`, `exists`, `empty`,
//! `tree(path, ref, recursive)` with its `blobs`, `trees` and `lastCommit`, and `blobs(paths, ref)`
//! with their contents. Read from the bare repository through `tinforge_store::git::objects`, as
//! REST's tree and files APIs read it; every data-reaching field is declared with what
//! `GET /projects/:id/repository/tree` needs.

use super::connection::{List, PageArgs, page};
use super::scalars::Time;
use crate::declare::{FieldTarget, declared_fields};
use crate::error::{git_error, with_code};
use crate::guard::Parent;
use crate::scope::RequestScope;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, Result, SimpleObject};
use git2::{ObjectType, Oid};
use std::path::PathBuf;
use tinforge_authz::{Role, Target};
use tinforge_store::git::objects;

/// At most this many paths in one `blobs(paths:)`, GitLab's page size.
pub const MAX_BLOB_PATHS: usize = super::MAX_PAGE_SIZE;

/// Where a repository's objects live and how its web paths are written.
#[derive(Debug, Clone)]
pub struct RepositoryRef {
    /// The bare repository on disk.
    pub repo_path: PathBuf,
    /// The project's full path (`group/project`), for `webPath`.
    pub full_path: String,
    /// The instance's external URL, for `webUrl`.
    pub base: String,
    pub default_branch: String,
}

impl RepositoryRef {
    fn web_path(&self, kind: &str, reference: &str, path: &str) -> String {
        format!("/{}/-/{kind}/{reference}/{path}", self.full_path)
    }

    fn open(&self) -> Option<git2::Repository> {
        if !self.repo_path.join("HEAD").is_file() {
            return None;
        }
        objects::open(&self.repo_path).ok()
    }
}

/// The repository of a project.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Repository {
    /// Default branch of the repository; null when the repository is empty.
    pub root_ref: Option<String>,
    /// Whether the repository exists.
    pub exists: bool,
    /// Whether the repository has no commits.
    pub empty: bool,
    #[graphql(skip)]
    pub at: RepositoryRef,
    /// The project as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Repository {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl Repository {
    /// What the repository is now. Blocking: call it through [`RequestScope::git`].
    pub fn inspect(at: RepositoryRef, target: Target) -> Repository {
        let repo = at.open();
        let empty = repo.as_ref().is_none_or(objects::is_empty);
        let root_ref = repo
            .as_ref()
            .and_then(|r| objects::branch_tip(r, &at.default_branch))
            .map(|_| at.default_branch.clone());
        Repository {
            root_ref,
            exists: repo.is_some(),
            empty,
            at,
            target,
        }
    }
}

/// Kind of a tree entry (GitLab's `EntryType`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "EntryType", rename_items = "lowercase")]
pub enum EntryType {
    /// A directory.
    Tree,
    /// A file.
    Blob,
    /// A submodule.
    Commit,
}

/// A file in a tree.
#[derive(SimpleObject, Debug, Clone)]
pub struct Blob {
    /// ID of the entry.
    pub id: ID,
    /// Last commit SHA for the entry (the blob's object id).
    pub sha: String,
    /// Name of the entry.
    pub name: String,
    /// Path of the entry.
    pub path: String,
    /// Flat path of the entry (for a file, its path).
    pub flat_path: String,
    /// Type of the entry.
    #[graphql(name = "type")]
    pub kind: EntryType,
    /// Git mode of the entry (`100644`, `100755`, `120000`).
    pub mode: Option<String>,
    /// Web path of the blob.
    pub web_path: Option<String>,
    /// Web URL of the blob.
    pub web_url: Option<String>,
}

/// A directory in a tree.
#[derive(SimpleObject, Debug, Clone)]
pub struct TreeEntry {
    /// ID of the entry.
    pub id: ID,
    /// Last commit SHA for the entry (the tree's object id).
    pub sha: String,
    /// Name of the entry.
    pub name: String,
    /// Path of the entry.
    pub path: String,
    /// Path of the entry with single-directory chains collapsed (`a/b/c` when `a` holds only
    /// `b`, which holds only `c`).
    pub flat_path: String,
    /// Type of the entry.
    #[graphql(name = "type")]
    pub kind: EntryType,
    /// Web path of the tree.
    pub web_path: Option<String>,
    /// Web URL of the tree.
    pub web_url: Option<String>,
}

/// A commit of the repository.
#[derive(SimpleObject, Debug, Clone)]
pub struct Commit {
    /// ID of the commit (`gid://gitlab/CommitPresenter/<sha>`).
    pub id: ID,
    /// SHA1 ID of the commit.
    pub sha: String,
    /// Short SHA1 ID of the commit.
    pub short_id: String,
    /// Title of the commit message (its first line).
    pub title: Option<String>,
    /// Raw commit message.
    pub message: Option<String>,
    /// Commit author's name.
    pub author_name: Option<String>,
    /// Commit author's email.
    pub author_email: Option<String>,
    /// Timestamp of when the commit was authored.
    pub authored_date: Option<Time>,
    /// Timestamp of when the commit was committed.
    pub committed_date: Option<Time>,
    /// Web path of the commit.
    pub web_path: String,
    /// Web URL of the commit.
    pub web_url: String,
}

impl Commit {
    /// The commit as GitLab shows it, in the project `full_path` of the instance at `base`.
    pub fn of(c: &git2::Commit<'_>, full_path: &str, base: &str) -> Commit {
        let sha = c.id().to_string();
        let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
        let author = c.author();
        let time = |t: git2::Time| {
            chrono::DateTime::from_timestamp(t.seconds(), 0).map(|d| Time(d.naive_utc()))
        };
        let web_path = format!("/{full_path}/-/commit/{sha}");
        Commit {
            id: ID(format!("gid://gitlab/CommitPresenter/{sha}")),
            short_id: sha[..8].to_string(),
            title: message.lines().next().map(str::to_string),
            message: Some(message),
            author_name: Some(String::from_utf8_lossy(author.name_bytes()).into_owned()),
            author_email: Some(String::from_utf8_lossy(author.email_bytes()).into_owned()),
            authored_date: time(author.when()),
            committed_date: time(c.committer().when()),
            web_url: format!("{base}{web_path}"),
            web_path,
            sha,
        }
    }
}

/// A tree of the repository at a ref.
pub struct Tree {
    blobs: Vec<Blob>,
    trees: Vec<TreeEntry>,
    at: RepositoryRef,
    commit: Oid,
    path: String,
}

#[Object]
impl Tree {
    /// Last commit that changed this tree (the ref's commit for the root).
    async fn last_commit(&self, ctx: &Context<'_>) -> Result<Option<Commit>> {
        let (at, commit, path) = (self.at.clone(), self.commit, self.path.clone());
        RequestScope::of(ctx)?
            .git(move |_| -> Result<Option<Commit>, objects::ObjError> {
                let Some(repo) = at.open() else {
                    return Ok(None);
                };
                let last = if path.is_empty() {
                    commit
                } else {
                    objects::last_commit_for(&repo, commit, &path)?.unwrap_or(commit)
                };
                let c = repo.find_commit(last)?;
                Ok(Some(Commit::of(&c, &at.full_path, &at.base)))
            })
            .await?
            .map_err(git_error)
    }

    /// Files of the tree, in git's order.
    async fn blobs(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<List<Blob>> {
        page(
            numbered(self.blobs.clone()),
            &PageArgs::new(after, before, first, last),
        )
    }

    /// Directories of the tree, in git's order.
    async fn trees(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<List<TreeEntry>> {
        page(
            numbered(self.trees.clone()),
            &PageArgs::new(after, before, first, last),
        )
    }
}

/// Items with their position as the id they are paged by.
fn numbered<T>(items: Vec<T>) -> Vec<(i64, T)> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, t)| (i as i64, t))
        .collect()
}

/// A file of the repository with its content (GitLab's `RepositoryBlob`).
#[derive(SimpleObject, Debug, Clone)]
pub struct RepositoryBlob {
    /// ID of the blob (`gid://gitlab/Blob/<oid>`).
    pub id: ID,
    /// OID of the blob.
    pub oid: String,
    /// Path of the blob.
    pub path: String,
    /// Blob name.
    pub name: Option<String>,
    /// Size (in bytes) of the blob.
    pub size: Option<i64>,
    /// Size (in bytes) of the blob's content.
    pub raw_size: Option<i64>,
    /// Raw content of the blob, if the blob is text data.
    pub raw_text_blob: Option<String>,
    /// Raw content of the blob (not valid UTF-8 is replaced).
    pub raw_blob: Option<String>,
    /// Web path of the blob.
    pub web_path: Option<String>,
    /// Web URL of the blob.
    pub web_url: Option<String>,
}

declared_fields! {
    #[ComplexObject]
    impl Repository {
        /// Tree of the repository at `ref` (default: the default branch) and `path`; null when
        /// the ref or the path does not exist.
        #[declare(
            "Repository.tree",
            need(repository:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn tree(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Path to get the tree for (default: the root).", default_with = "Some(String::new())")]
            path: Option<String>,
            #[graphql(name = "ref", desc = "Commit ref to get the tree for (default: the default branch).")]
            reference: Option<String>,
            #[graphql(desc = "Whether to list the entries of subdirectories too.", default_with = "Some(false)")]
            recursive: Option<bool>,
        ) -> Result<Option<Tree>> {
            let at = self.at.clone();
            let reference = reference.unwrap_or_else(|| at.default_branch.clone());
            let path = match path.as_deref().map(|p| p.trim_matches('/')) {
                None | Some("") => String::new(),
                Some(p) => match objects::clean_path(p) {
                    Some(p) => p,
                    None => return Ok(None),
                },
            };
            let recursive = recursive.unwrap_or(false);
            RequestScope::of(ctx)?
                .git(move |_| read_tree(at, &reference, path, recursive))
                .await?
                .map_err(git_error)
        }

        /// Files at `paths` with their contents, at `ref` (default: the default branch); paths
        /// that are no file there are left out.
        #[declare(
            "Repository.blobs",
            need(repository:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn blobs(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Paths of the files (at most 100).")] paths: Vec<String>,
            #[graphql(name = "ref", desc = "Commit ref to read the files at (default: the default branch).")]
            reference: Option<String>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<RepositoryBlob>>> {
            if paths.len() > MAX_BLOB_PATHS {
                return Err(with_code(
                    format!("`paths` takes at most {MAX_BLOB_PATHS} paths"),
                    "invalid_argument",
                ));
            }
            let at = self.at.clone();
            let reference = reference.unwrap_or_else(|| at.default_branch.clone());
            let found = RequestScope::of(ctx)?
                .git(move |_| read_blobs(&at, &reference, &paths))
                .await?
                .map_err(git_error)?;
            page(numbered(found), &PageArgs::new(after, before, first, last)).map(Some)
        }
    }
}

/// The tree at `reference` and `path`; None when either does not exist.
fn read_tree(
    at: RepositoryRef,
    reference: &str,
    path: String,
    recursive: bool,
) -> Result<Option<Tree>, objects::ObjError> {
    let Some(repo) = at.open() else {
        return Ok(None);
    };
    let Some(commit) = objects::resolve(&repo, reference) else {
        return Ok(None);
    };
    let root = commit.tree()?;
    let tree = match objects::tree_at(&repo, &root, &path) {
        Ok(t) => t,
        Err(objects::ObjError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let web = |kind: &str, p: &str| {
        let web_path = at.web_path(kind, reference, p);
        (Some(format!("{}{web_path}", at.base)), Some(web_path))
    };
    let (mut blobs, mut trees) = (Vec::new(), Vec::new());
    for item in objects::list_tree(&repo, &tree, &path, recursive) {
        let id = ID(format!("gid://gitlab/TreeEntry/{}/{}", item.id, item.path));
        match item.kind {
            "blob" => {
                let (web_url, web_path) = web("blob", &item.path);
                blobs.push(Blob {
                    id,
                    sha: item.id,
                    name: item.name,
                    flat_path: item.path.clone(),
                    path: item.path,
                    kind: EntryType::Blob,
                    mode: Some(item.mode),
                    web_path,
                    web_url,
                });
            }
            "tree" => {
                let (web_url, web_path) = web("tree", &item.path);
                let flat_path = flat_path(&repo, &item.id, &item.path);
                trees.push(TreeEntry {
                    id,
                    sha: item.id,
                    name: item.name,
                    flat_path,
                    path: item.path,
                    kind: EntryType::Tree,
                    web_path,
                    web_url,
                });
            }
            // Submodules are neither files nor directories here.
            _ => {}
        }
    }
    Ok(Some(Tree {
        blobs,
        trees,
        commit: commit.id(),
        path,
        at,
    }))
}

/// `path`, extended while the directory holds exactly one entry and that entry is a directory.
fn flat_path(repo: &git2::Repository, tree_id: &str, path: &str) -> String {
    let mut flat = path.to_string();
    let mut current = Oid::from_str(tree_id).ok();
    while let Some(tree) = current.and_then(|id| repo.find_tree(id).ok()) {
        current = None;
        if tree.len() == 1
            && let Some(only) = tree.get(0)
            && only.kind() == Some(ObjectType::Tree)
        {
            flat.push('/');
            flat.push_str(only.name().unwrap_or_default());
            current = Some(only.id());
        }
    }
    flat
}

/// The files among `paths` at `reference`, in the order asked.
fn read_blobs(
    at: &RepositoryRef,
    reference: &str,
    paths: &[String],
) -> Result<Vec<RepositoryBlob>, objects::ObjError> {
    let Some(repo) = at.open() else {
        return Ok(Vec::new());
    };
    let Some(commit) = objects::resolve(&repo, reference) else {
        return Ok(Vec::new());
    };
    let root = commit.tree()?;
    let mut out = Vec::new();
    for raw in paths {
        let Some(path) = objects::clean_path(raw) else {
            continue;
        };
        let Ok(entry) = root.get_path(std::path::Path::new(&path)) else {
            continue;
        };
        if entry.kind() != Some(ObjectType::Blob) {
            continue;
        }
        let blob = repo.find_blob(entry.id())?;
        let size = blob.size() as i64;
        let readable = blob.size() <= objects::MAX_FILE_BYTES;
        let raw_blob = readable.then(|| String::from_utf8_lossy(blob.content()).into_owned());
        let raw_text_blob = (readable && !blob.is_binary())
            .then(|| std::str::from_utf8(blob.content()).ok().map(str::to_string))
            .flatten();
        let web_path = at.web_path("blob", reference, &path);
        out.push(RepositoryBlob {
            id: ID(format!("gid://gitlab/Blob/{}", blob.id())),
            oid: blob.id().to_string(),
            name: path.rsplit('/').next().map(str::to_string),
            size: Some(size),
            raw_size: Some(size),
            raw_text_blob,
            raw_blob,
            web_url: Some(format!("{}{web_path}", at.base)),
            web_path: Some(web_path),
            path,
        });
    }
    Ok(out)
}
