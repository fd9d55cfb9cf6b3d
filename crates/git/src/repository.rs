//! GitLab's repository API (`/api/v4/projects/:id/repository/…`): tree, files, blobs, commits
//! (with multi-file actions), branches, tags and compare, on top of [`tinforge_store::git::objects`] (libgit2).
//!
//! Reads need `repository:read` (Reporter); writes `repository:create|update|delete` (Developer,
//! Maintainer to delete tags), and writes to a protected branch also its push level, as pushes do.
//! Handlers are thin: parameters → blocking git work → GitLab JSON.

use crate::GitConfig;
use crate::protected::{self, RestError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use base64::Engine;
use git2::{Commit, Oid, Repository};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use tinforge_authz::{Role, require};
use tinforge_gate::authorized::decode;
use tinforge_gate::branches::{self, BranchWriteError};
use tinforge_gate::{Authorized, GateError, RestRoutes};
use tinforge_store::git::merging::{MergeError, MergeMethod};
use tinforge_store::git::objects::{self, Action, ActionError, NewCommit, ObjError, Person};
use tinforge_store::{StoreError, projects, protected_branches, users};

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/projects/{id}/repository";
    let read = require!(repository:read).min_role(Role::Reporter);
    let protected = &[tinforge_authz::requirement::raises::PROTECTED_BRANCH];
    let create = require!(repository:create)
        .min_role(Role::Developer)
        .raised(protected);
    let update = require!(repository:update)
        .min_role(Role::Developer)
        .raised(protected);
    let delete = require!(repository:delete)
        .min_role(Role::Developer)
        .raised(protected);
    let p = |s: &str| format!("{base}{s}");
    macro_rules! route {
        ($m:literal, $path:literal, $req:expr, $summary:literal, $h:expr) => {
            r.route($m, &p($path), $req)
                .project("id")
                .summary($summary)
                .to($h)
        };
    }
    route!(
        "GET",
        "/tree",
        read,
        "List a repository tree (path, ref, recursive)",
        tree
    );
    route!(
        "GET",
        "/files/{file_path}/raw",
        read,
        "Raw file content at a ref",
        file_raw
    );
    route!(
        "GET",
        "/files/{file_path}",
        read,
        "A file at a ref, base64 content and metadata (HEAD: X-Gitlab-* headers only)",
        file_get
    );
    route!(
        "POST",
        "/files/{file_path}",
        create,
        "Create a file in a new commit",
        file_create
    );
    route!(
        "PUT",
        "/files/{file_path}",
        update,
        "Update a file in a new commit",
        file_update
    );
    route!(
        "DELETE",
        "/files/{file_path}",
        delete,
        "Delete a file in a new commit",
        file_delete
    );
    route!(
        "GET",
        "/blobs/{sha}/raw",
        read,
        "Raw blob content by id",
        blob_raw
    );
    route!(
        "GET",
        "/commits",
        read,
        "List commits (ref_name, path)",
        commits_list
    );
    route!(
        "POST",
        "/commits",
        update,
        "Create a commit with create/update/delete/move actions",
        commit_create
    );
    route!(
        "GET",
        "/commits/{sha}/diff",
        read,
        "The diff of a commit",
        commit_diff
    );
    route!(
        "GET",
        "/commits/{sha}",
        read,
        "A single commit",
        commit_show
    );
    route!("GET", "/branches", read, "List branches", branches_list);
    route!(
        "POST",
        "/branches",
        create,
        "Create a branch from a ref",
        branch_create
    );
    route!(
        "GET",
        "/branches/{branch}",
        read,
        "A single branch",
        branch_show
    );
    route!(
        "DELETE",
        "/branches/{branch}",
        delete,
        "Delete a branch (not a protected one)",
        branch_delete
    );
    route!("GET", "/tags", read, "List tags", tags_list);
    route!(
        "POST",
        "/tags",
        create,
        "Create a tag (annotated with a message)",
        tag_create
    );
    route!("GET", "/tags/{tag_name}", read, "A single tag", tag_show);
    route!(
        "DELETE",
        "/tags/{tag_name}",
        delete.min_role(Role::Maintainer),
        "Delete a tag",
        tag_delete
    );
    route!(
        "GET",
        "/compare",
        read,
        "Compare two refs (commits and diffs)",
        compare
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("file is too large")]
    TooLarge,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Gate(#[from] GateError),
}

impl From<StoreError> for RepoError {
    fn from(e: StoreError) -> Self {
        RepoError::Gate(GateError::Store(e))
    }
}

impl From<RestError> for RepoError {
    fn from(e: RestError) -> Self {
        match e {
            RestError::BadRequest(m) => RepoError::BadRequest(m),
            RestError::NotFound => RepoError::NotFound("404 Not found"),
            RestError::Conflict(m) => RepoError::Conflict(m),
            RestError::Gate(g) => RepoError::Gate(g),
        }
    }
}

impl From<ObjError> for RepoError {
    fn from(e: ObjError) -> Self {
        match e {
            ObjError::NotFound(m) => RepoError::NotFound(m),
            ObjError::BadRequest(m) => RepoError::BadRequest(m),
            ObjError::Conflict(m) => RepoError::Conflict(m),
            ObjError::TooLarge => RepoError::TooLarge,
            ObjError::Git(e) => RepoError::Internal(e.to_string()),
        }
    }
}

impl From<MergeError> for RepoError {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::BranchMissing => RepoError::NotAllowed(e.to_string()),
            MergeError::ShaMismatch(_) => RepoError::Conflict(e.to_string()),
            MergeError::CannotMerge => RepoError::NotAcceptable(e.to_string()),
            MergeError::Git(e) => RepoError::from(e),
        }
    }
}

impl From<git2::Error> for RepoError {
    fn from(e: git2::Error) -> Self {
        RepoError::from(ObjError::Git(e))
    }
}

impl ResponseError for RepoError {
    fn status_code(&self) -> StatusCode {
        match self {
            RepoError::Missing(_) | RepoError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RepoError::NotFound(_) => StatusCode::NOT_FOUND,
            RepoError::Forbidden(_) => StatusCode::FORBIDDEN,
            RepoError::Conflict(_) => StatusCode::CONFLICT,
            RepoError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RepoError::NotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            RepoError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            RepoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RepoError::Gate(g) => g.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            RepoError::Missing(m) => json!({ "error": m }),
            RepoError::Internal(m) => {
                tracing::error!(error = %m, "repository API failure");
                json!({ "message": "500 Internal Server Error" })
            }
            RepoError::TooLarge => {
                json!({ "message": format!("413 File is larger than {} bytes", objects::MAX_FILE_BYTES) })
            }
            RepoError::Gate(g) => return g.error_response(),
            other => json!({ "message": other.to_string() }),
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}

pub type R<T> = Result<T, RepoError>;

// ---------------------------------------------------------------------------------------------
// Context

/// What every handler needs: the project, its repository, and the caller.
pub struct Ctx {
    pub project_id: i64,
    pub default_branch: String,
    pub merge_method: MergeMethod,
    pub repo_path: PathBuf,
    pub web_base: String,
    /// Starts the pipelines of what a write moved (None: the caller's pushes start none).
    pub trigger: Option<crate::pipelines::PipelineTrigger>,
}

impl Ctx {
    /// Starts pipelines for a ref this request moved from `old` (None: created) to `new`.
    pub fn pushed(&self, name: String, old: Option<Oid>, new: Oid) {
        if let Some(t) = self.trigger.clone() {
            t.spawn(vec![crate::pipelines::PushedRef {
                old: old.map_or_else(|| "0".repeat(40), |o| o.to_string()),
                new: new.to_string(),
                name,
            }]);
        }
    }
}

pub async fn context(auth: &Authorized, req: &HttpRequest) -> R<Ctx> {
    let project_id = auth
        .target
        .as_ref()
        .map(|t| t.id)
        .ok_or(RepoError::Gate(GateError::Store(StoreError::NotFound)))?;
    let project = auth
        .run(move |c| projects::find(c, project_id).map_err(RepoError::from))
        .await?
        .ok_or(RepoError::Gate(GateError::Store(StoreError::NotFound)))?;
    let git = req
        .app_data::<web::Data<GitConfig>>()
        .ok_or_else(|| RepoError::Internal("git is not configured".into()))?
        .clone();
    let trigger =
        crate::pipelines::PipelineTrigger::of(req, &git.repos, auth.principal.as_ref(), project_id);
    let default_branch = project.default_branch.clone();
    let merge_method = MergeMethod::of_stored(&project.merge_method);
    let branch = default_branch.clone();
    let web_base = format!("{}/{}", git.external_url, project.full_path);
    let repo_path = blocking(move || {
        git.repos
            .ensure(project_id, &branch)
            .map_err(|e| RepoError::Internal(e.to_string()))
    })
    .await?;
    Ok(Ctx {
        project_id,
        default_branch,
        merge_method,
        repo_path,
        web_base,
        trigger,
    })
}

pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> R<T> + Send + 'static) -> R<T> {
    web::block(f)
        .await
        .map_err(|e| RepoError::Internal(e.to_string()))?
}

/// The caller as commit author and committer.
pub async fn caller(auth: &Authorized) -> R<Person> {
    let user_id = auth.principal()?.user_id;
    let user = auth
        .run(move |c| users::find(c, user_id).map_err(RepoError::from))
        .await?
        .ok_or(RepoError::Gate(GateError::Unauthorized))?;
    Ok(Person::of_user(&user))
}

/// The lowest role a matching protection lets push (`merge`: merge) to `branch`.
/// Outer None: unprotected; inner None: no one.
pub async fn protection(
    auth: &Authorized,
    project_id: i64,
    branch: &str,
    merge: bool,
) -> R<Option<Option<Role>>> {
    let name = branch.to_string();
    auth.run(move |c| {
        protected_branches::write_role(c, project_id, &name, merge).map_err(RepoError::from)
    })
    .await
}

/// Writes to a protected branch need its push (or merge) level, on top of the declaration.
pub async fn check_branch_write(auth: &Authorized, branch: &str, merge: bool) -> R<()> {
    let target = auth
        .target
        .as_ref()
        .ok_or(RepoError::Gate(GateError::Store(StoreError::NotFound)))?;
    branches::check_branch_write(
        auth.store(),
        auth.principal.as_ref(),
        &auth.endpoint,
        target,
        branch,
        merge,
    )
    .await
    .map_err(|e| match e {
        BranchWriteError::Forbidden(m) => RepoError::Forbidden(m),
        BranchWriteError::Store(e) => RepoError::from(e),
        BranchWriteError::Gate(e) => RepoError::Gate(e),
    })
}

// ---------------------------------------------------------------------------------------------
// Parameters

pub fn params(req: &HttpRequest, body: &[u8]) -> R<Map<String, Value>> {
    Ok(protected::params(req, body)?)
}

pub fn string(p: &Map<String, Value>, key: &str) -> Option<String> {
    match p.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

pub fn required(p: &Map<String, Value>, key: &str) -> R<String> {
    string(p, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| RepoError::Missing(format!("{key} is missing")))
}

pub fn flag(p: &Map<String, Value>, key: &str) -> bool {
    matches!(string(p, key).as_deref(), Some("true" | "1"))
}

fn path_param(req: &HttpRequest, name: &str) -> String {
    decode(req.match_info().get(name).unwrap_or_default())
}

fn file_path(req: &HttpRequest) -> R<String> {
    objects::clean_path(&path_param(req, "file_path"))
        .ok_or(RepoError::NotFound("404 File Not Found"))
}

/// Page and per-page as GitLab reads them (per_page at most 100).
fn page(p: &Map<String, Value>) -> (usize, usize) {
    let num = |k: &str, d: usize| {
        string(p, k)
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(d)
    };
    (num("page", 1), num("per_page", 20).min(100))
}

fn paged(items: Vec<Value>, page: usize, per_page: usize, more: Option<bool>) -> HttpResponse {
    let total = items.len();
    let (slice, has_next, total_known) = match more {
        // Already one page, `more` says whether another follows (totals unknown).
        Some(more) => (items, more, false),
        None => {
            let start = (page - 1).saturating_mul(per_page).min(total);
            let end = (start + per_page).min(total);
            (items[start..end].to_vec(), end < total, true)
        }
    };
    let mut res = HttpResponse::Ok();
    res.insert_header(("X-Page", page.to_string()))
        .insert_header(("X-Per-Page", per_page.to_string()))
        .insert_header((
            "X-Next-Page",
            if has_next {
                (page + 1).to_string()
            } else {
                String::new()
            },
        ))
        .insert_header((
            "X-Prev-Page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ));
    if total_known {
        res.insert_header(("X-Total", total.to_string()))
            .insert_header(("X-Total-Pages", total.div_ceil(per_page).max(1).to_string()));
    }
    res.json(slice)
}

// ---------------------------------------------------------------------------------------------
// Views

fn time(t: git2::Time) -> String {
    let offset = chrono::FixedOffset::east_opt(t.offset_minutes() * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    chrono::DateTime::from_timestamp(t.seconds(), 0)
        .map(|d| {
            d.with_timezone(&offset)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        })
        .unwrap_or_default()
}

/// GitLab's commit JSON.
pub fn commit_view(c: &Commit<'_>, web_base: &str) -> Value {
    let id = c.id().to_string();
    let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
    let author = c.author();
    let committer = c.committer();
    json!({
        "id": id,
        "short_id": &id[..8],
        "created_at": time(committer.when()),
        "parent_ids": c.parent_ids().map(|p| p.to_string()).collect::<Vec<_>>(),
        "title": message.lines().next().unwrap_or_default(),
        "message": message,
        "author_name": String::from_utf8_lossy(author.name_bytes()),
        "author_email": String::from_utf8_lossy(author.email_bytes()),
        "authored_date": time(author.when()),
        "committer_name": String::from_utf8_lossy(committer.name_bytes()),
        "committer_email": String::from_utf8_lossy(committer.email_bytes()),
        "committed_date": time(committer.when()),
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{web_base}/-/commit/{id}"),
    })
}

fn commit_detail(repo: &Repository, c: &Commit<'_>, web_base: &str) -> R<Value> {
    let diffs = objects::commit_diff(repo, c)?;
    let additions: usize = diffs.iter().map(|d| d.additions).sum();
    let deletions: usize = diffs.iter().map(|d| d.deletions).sum();
    let mut v = commit_view(c, web_base);
    v["stats"] =
        json!({ "additions": additions, "deletions": deletions, "total": additions + deletions });
    v["status"] = Value::Null;
    v["last_pipeline"] = Value::Null;
    Ok(v)
}

pub fn diff_view(d: &objects::FileDiff) -> Value {
    json!({
        "old_path": d.old_path,
        "new_path": d.new_path,
        "a_mode": d.a_mode,
        "b_mode": d.b_mode,
        "new_file": d.new_file,
        "renamed_file": d.renamed_file,
        "deleted_file": d.deleted_file,
        "generated_file": false,
        "diff": d.diff,
    })
}

// ---------------------------------------------------------------------------------------------
// Tree, files, blobs

/// The commit `ref` (or the default branch) names; 404 with `what` when there is none.
fn at_ref<'r>(repo: &'r Repository, reference: &str, what: &'static str) -> R<Commit<'r>> {
    objects::resolve(repo, reference).ok_or(RepoError::NotFound(what))
}

async fn tree(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let reference = string(&p, "ref").unwrap_or(ctx.default_branch.clone());
    let path = match string(&p, "path").filter(|s| !s.is_empty() && s != "/") {
        Some(s) => objects::clean_path(&s).ok_or(RepoError::NotFound("404 Tree Not Found"))?,
        None => String::new(),
    };
    let recursive = flag(&p, "recursive");
    let (page, per_page) = page(&p);
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let Some(commit) = objects::resolve(&repo, &reference) else {
            return Err(RepoError::NotFound("404 Tree Not Found"));
        };
        let root = commit.tree()?;
        let tree = objects::tree_at(&repo, &root, &path)?;
        Ok(objects::list_tree(&repo, &tree, &path, recursive)
            .into_iter()
            .map(|i| json!({"id": i.id, "name": i.name, "type": i.kind, "path": i.path, "mode": i.mode}))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(paged(items, page, per_page, None))
}

/// A file at a ref, with what GitLab reports about it.
struct FileAt {
    path: String,
    reference: String,
    content: Vec<u8>,
    blob_id: String,
    commit_id: String,
    last_commit_id: String,
    executable: bool,
}

async fn load_file(auth: &Authorized, req: &HttpRequest) -> R<FileAt> {
    let ctx = context(auth, req).await?;
    let path = file_path(req)?;
    let p = params(req, &[])?;
    let reference = string(&p, "ref").unwrap_or(ctx.default_branch.clone());
    blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let commit = at_ref(&repo, &reference, "404 File Not Found")?;
        let entry = commit
            .tree()?
            .get_path(std::path::Path::new(&path))
            .map_err(|_| RepoError::NotFound("404 File Not Found"))?;
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return Err(RepoError::NotFound("404 File Not Found"));
        }
        let blob = repo.find_blob(entry.id())?;
        if blob.size() > objects::MAX_FILE_BYTES {
            return Err(RepoError::TooLarge);
        }
        let last = objects::last_commit_for(&repo, commit.id(), &path)?.unwrap_or(commit.id());
        Ok(FileAt {
            content: blob.content().to_vec(),
            blob_id: blob.id().to_string(),
            commit_id: commit.id().to_string(),
            last_commit_id: last.to_string(),
            executable: entry.filemode() == 0o100755,
            path,
            reference,
        })
    })
    .await
}

fn file_headers(res: &mut actix_web::HttpResponseBuilder, f: &FileAt) {
    use sha2::Digest;
    let name = f.path.rsplit('/').next().unwrap_or_default();
    res.insert_header(("X-Gitlab-Blob-Id", f.blob_id.clone()))
        .insert_header(("X-Gitlab-Commit-Id", f.commit_id.clone()))
        .insert_header((
            "X-Gitlab-Content-Sha256",
            hex::encode(sha2::Sha256::digest(&f.content)),
        ))
        .insert_header(("X-Gitlab-Encoding", "base64"))
        .insert_header(("X-Gitlab-File-Name", name.to_string()))
        .insert_header(("X-Gitlab-File-Path", f.path.clone()))
        .insert_header(("X-Gitlab-Last-Commit-Id", f.last_commit_id.clone()))
        .insert_header(("X-Gitlab-Ref", f.reference.clone()))
        .insert_header(("X-Gitlab-Size", f.content.len().to_string()))
        .insert_header(("X-Gitlab-Execute-Filemode", f.executable.to_string()));
}

async fn file_get(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    use sha2::Digest;
    let f = load_file(&auth, &req).await?;
    let mut res = HttpResponse::Ok();
    file_headers(&mut res, &f);
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(res.finish());
    }
    Ok(res.json(json!({
        "file_name": f.path.rsplit('/').next().unwrap_or_default(),
        "file_path": f.path,
        "size": f.content.len(),
        "encoding": "base64",
        "content": base64::engine::general_purpose::STANDARD.encode(&f.content),
        "content_sha256": hex::encode(sha2::Sha256::digest(&f.content)),
        "ref": f.reference,
        "blob_id": f.blob_id,
        "commit_id": f.commit_id,
        "last_commit_id": f.last_commit_id,
        "execute_filemode": f.executable,
    })))
}

async fn file_raw(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let f = load_file(&auth, &req).await?;
    let mut res = HttpResponse::Ok();
    file_headers(&mut res, &f);
    Ok(res
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(f.content))
}

async fn blob_raw(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let sha = path_param(&req, "sha");
    let content = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let not_found = RepoError::NotFound("404 Blob Not Found");
        if !(4..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found);
        }
        let blob = repo
            .revparse_single(&sha)
            .ok()
            .and_then(|o| o.into_blob().ok())
            .ok_or(not_found)?;
        if blob.size() > objects::MAX_FILE_BYTES {
            return Err(RepoError::TooLarge);
        }
        Ok(blob.content().to_vec())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(content))
}

/// Decodes `content` by `encoding` (text, base64).
fn content(p: &Map<String, Value>, key: &str) -> R<Option<Vec<u8>>> {
    let Some(text) = string(p, key) else {
        return Ok(None);
    };
    let base64 = match string(p, "encoding").as_deref() {
        None | Some("text") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(RepoError::Missing(
                "encoding does not have a valid value".into(),
            ));
        }
    };
    objects::decode_content(&text, base64)
        .map(Some)
        .ok_or_else(|| RepoError::BadRequest("content is not valid base64".into()))
}

/// Writes one commit of `actions` on `branch` (from `start_branch` when new), after the checks.
async fn write_commit(
    auth: &Authorized,
    ctx: Ctx,
    p: &Map<String, Value>,
    actions: Vec<Action>,
) -> R<Oid> {
    let branch = required(p, "branch")?;
    let message = required(p, "commit_message")?;
    if !objects::valid_ref_name(&branch) {
        return Err(RepoError::BadRequest("branch is invalid".into()));
    }
    let start_branch = string(p, "start_branch").filter(|s| !s.is_empty());
    let me = caller(auth).await?;
    let author = Person {
        name: string(p, "author_name").unwrap_or(me.name.clone()),
        email: string(p, "author_email").unwrap_or(me.email.clone()),
    };
    check_branch_write(auth, &branch, false).await?;
    let path = ctx.repo_path.clone();
    let name = format!("refs/heads/{branch}");
    let (old, new) = blocking(move || {
        let repo = objects::open(&path)?;
        let old = objects::branch_tip(&repo, &branch);
        let start = objects::commit_start(&repo, &branch, start_branch.as_deref())?;
        let new = objects::commit_actions(
            &repo,
            &NewCommit {
                branch: &branch,
                start,
                message: &message,
                author,
                committer: me,
                actions,
            },
        )?;
        Ok((old, new))
    })
    .await?;
    ctx.pushed(name, old, new);
    Ok(new)
}

/// Writes carry whole files (base64 in JSON grows them by a third): the body may be this large,
/// each file in it at most [`objects::MAX_FILE_BYTES`].
pub const MAX_WRITE_BODY: usize = 4 * objects::MAX_FILE_BYTES + 1024 * 1024;

/// Reads a request body up to `limit` bytes (413 beyond), instead of actix's 256 KiB default.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> R<web::Bytes> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| RepoError::BadRequest(format!("request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(RepoError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn file_write(
    auth: Authorized,
    req: HttpRequest,
    payload: web::Payload,
    kind: &str,
) -> R<HttpResponse> {
    let body = read_body(payload, MAX_WRITE_BODY).await?;
    let path = file_path(&req)?;
    let p = params(&req, &body)?;
    let action = match kind {
        "create" | "update" => {
            let data = content(&p, "content")?
                .ok_or_else(|| RepoError::Missing("content is missing".into()))?;
            if kind == "create" {
                Action::Create {
                    path: path.clone(),
                    content: data,
                }
            } else {
                Action::Update {
                    path: path.clone(),
                    content: data,
                }
            }
        }
        _ => Action::Delete { path: path.clone() },
    };
    let branch = required(&p, "branch")?;
    required(&p, "commit_message")?;
    let ctx = context(&auth, &req).await?;
    write_commit(&auth, ctx, &p, vec![action]).await?;
    match kind {
        "create" => Ok(HttpResponse::Created().json(json!({"file_path": path, "branch": branch}))),
        "update" => Ok(HttpResponse::Ok().json(json!({"file_path": path, "branch": branch}))),
        _ => Ok(HttpResponse::NoContent().finish()),
    }
}

async fn file_create(auth: Authorized, req: HttpRequest, body: web::Payload) -> R<HttpResponse> {
    file_write(auth, req, body, "create").await
}

async fn file_update(auth: Authorized, req: HttpRequest, body: web::Payload) -> R<HttpResponse> {
    file_write(auth, req, body, "update").await
}

async fn file_delete(auth: Authorized, req: HttpRequest, body: web::Payload) -> R<HttpResponse> {
    file_write(auth, req, body, "delete").await
}

// ---------------------------------------------------------------------------------------------
// Commits

async fn commits_list(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let reference = string(&p, "ref_name").unwrap_or(ctx.default_branch.clone());
    let path = match string(&p, "path").filter(|s| !s.is_empty()) {
        Some(s) => Some(objects::clean_path(&s).ok_or(RepoError::NotFound("404 File Not Found"))?),
        None => None,
    };
    let (page, per_page) = page(&p);
    let (items, more) = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let Some(start) = objects::resolve(&repo, &reference) else {
            // An empty repository (or unknown ref) has no commits, as GitLab answers.
            return Ok((Vec::new(), false));
        };
        let (oids, more) = objects::history(
            &repo,
            start.id(),
            path.as_deref(),
            (page - 1) * per_page,
            per_page,
        )?;
        let items = oids
            .into_iter()
            .map(|o| Ok(commit_view(&repo.find_commit(o)?, &ctx.web_base)))
            .collect::<R<Vec<_>>>()?;
        Ok((items, more))
    })
    .await?;
    Ok(paged(items, page, per_page, Some(more)))
}

fn parse_actions(p: &Map<String, Value>) -> R<Vec<Action>> {
    let Some(Value::Array(list)) = p.get("actions") else {
        return Err(RepoError::Missing("actions is missing".into()));
    };
    if list.is_empty() {
        return Err(RepoError::Missing("actions is empty".into()));
    }
    let mut out = Vec::new();
    for a in list {
        let Value::Object(a) = a else {
            return Err(RepoError::Missing("actions is invalid".into()));
        };
        let data = content(a, "content")?;
        let kind = string(a, "action").unwrap_or_default();
        let action = Action::parse(
            &kind,
            string(a, "file_path").as_deref(),
            string(a, "previous_path").as_deref(),
            data,
            a.contains_key("execute_filemode")
                .then(|| flag(a, "execute_filemode")),
        )
        .map_err(|e| match e {
            ActionError::Missing(m) => RepoError::Missing(m),
            ActionError::Invalid(m) => RepoError::BadRequest(m),
        })?;
        out.push(action);
    }
    Ok(out)
}

async fn commit_create(
    auth: Authorized,
    req: HttpRequest,
    payload: web::Payload,
) -> R<HttpResponse> {
    let body = read_body(payload, MAX_WRITE_BODY).await?;
    let p = params(&req, &body)?;
    required(&p, "branch")?;
    required(&p, "commit_message")?;
    let actions = parse_actions(&p)?;
    let ctx = context(&auth, &req).await?;
    let (repo_path, web_base) = (ctx.repo_path.clone(), ctx.web_base.clone());
    let oid = write_commit(&auth, ctx, &p, actions).await?;
    let view = blocking(move || {
        let repo = objects::open(&repo_path)?;
        commit_detail(&repo, &repo.find_commit(oid)?, &web_base)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

async fn commit_show(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let sha = path_param(&req, "sha");
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let c = at_ref(&repo, &sha, "404 Commit Not Found")?;
        commit_detail(&repo, &c, &ctx.web_base)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn commit_diff(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let (page, per_page) = page(&p);
    let sha = path_param(&req, "sha");
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let c = at_ref(&repo, &sha, "404 Commit Not Found")?;
        Ok(objects::commit_diff(&repo, &c)?
            .iter()
            .map(diff_view)
            .collect())
    })
    .await?;
    Ok(paged(items, page, per_page, None))
}

// ---------------------------------------------------------------------------------------------
// Branches and tags

async fn branch_view(
    auth: &Authorized,
    ctx: &Ctx,
    repo: &Repository,
    name: &str,
    tip: Oid,
) -> R<Value> {
    let protection = protection(auth, ctx.project_id, name, false).await?;
    let c = repo.find_commit(tip)?;
    let default = objects::branch_tip(repo, &ctx.default_branch);
    let merged = match default {
        Some(d) if name != ctx.default_branch => d == tip || repo.graph_descendant_of(d, tip)?,
        _ => false,
    };
    let role = auth.target.as_ref().map(|t| t.role).unwrap_or(Role::None);
    let can_push = match protection {
        None => role >= Role::Developer,
        Some(Some(min)) => role >= min,
        Some(None) => false,
    };
    Ok(json!({
        "name": name,
        "merged": merged,
        "protected": protection.is_some(),
        "default": name == ctx.default_branch,
        "developers_can_push": matches!(protection, None | Some(Some(Role::Developer))),
        "developers_can_merge": matches!(protection, None | Some(Some(Role::Developer))),
        "can_push": can_push,
        "web_url": format!("{}/-/tree/{name}", ctx.web_base),
        "commit": commit_view(&c, &ctx.web_base),
    }))
}

async fn branches_list(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let (page, per_page) = page(&p);
    let search = string(&p, "search");
    let path = ctx.repo_path.clone();
    let names = blocking(move || {
        let repo = objects::open(&path)?;
        let mut names = Vec::new();
        for b in repo.branches(Some(git2::BranchType::Local))? {
            let (b, _) = b?;
            if let (Some(name), Some(tip)) = (b.name()?.map(str::to_string), b.get().target()) {
                names.push((name, tip));
            }
        }
        names.sort();
        Ok(names)
    })
    .await?;
    let names: Vec<_> = names
        .into_iter()
        .filter(|(n, _)| search.as_ref().is_none_or(|s| n.contains(s.as_str())))
        .collect();
    let total = names.len();
    let start = ((page - 1) * per_page).min(total);
    let end = (start + per_page).min(total);
    let repo = objects::open(&ctx.repo_path)?;
    let mut items = Vec::new();
    for (name, tip) in &names[start..end] {
        items.push(branch_view(&auth, &ctx, &repo, name, *tip).await?);
    }
    drop(repo);
    let mut res = HttpResponse::Ok();
    res.insert_header(("X-Total", total.to_string()))
        .insert_header(("X-Total-Pages", total.div_ceil(per_page).max(1).to_string()))
        .insert_header(("X-Page", page.to_string()))
        .insert_header(("X-Per-Page", per_page.to_string()))
        .insert_header((
            "X-Next-Page",
            if end < total {
                (page + 1).to_string()
            } else {
                String::new()
            },
        ))
        .insert_header((
            "X-Prev-Page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ));
    Ok(res.json(items))
}

async fn branch_show(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let name = path_param(&req, "branch");
    let repo = objects::open(&ctx.repo_path)?;
    let tip =
        objects::branch_tip(&repo, &name).ok_or(RepoError::NotFound("404 Branch Not Found"))?;
    let view = branch_view(&auth, &ctx, &repo, &name, tip).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn branch_create(auth: Authorized, req: HttpRequest, body: web::Bytes) -> R<HttpResponse> {
    let p = params(&req, &body)?;
    let name = required(&p, "branch")?;
    let reference = required(&p, "ref")?;
    if !objects::valid_ref_name(&name) {
        return Err(RepoError::BadRequest("Branch name is invalid".into()));
    }
    let ctx = context(&auth, &req).await?;
    check_branch_write(&auth, &name, false).await?;
    let path = ctx.repo_path.clone();
    let branch = name.clone();
    let tip = blocking(move || {
        let repo = objects::open(&path)?;
        if objects::branch_tip(&repo, &branch).is_some() {
            return Err(RepoError::BadRequest("Branch already exists".to_string()));
        }
        let c = objects::resolve(&repo, &reference)
            .ok_or(RepoError::BadRequest("Invalid reference name".into()))?;
        objects::move_ref(
            &repo,
            &format!("refs/heads/{branch}"),
            None,
            c.id(),
            "branch via API",
        )?;
        Ok(c.id())
    })
    .await?;
    ctx.pushed(format!("refs/heads/{name}"), None, tip);
    let repo = objects::open(&ctx.repo_path)?;
    let view = branch_view(&auth, &ctx, &repo, &name, tip).await?;
    Ok(HttpResponse::Created().json(view))
}

async fn branch_delete(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let name = path_param(&req, "branch");
    let tip = {
        let repo = objects::open(&ctx.repo_path)?;
        objects::branch_tip(&repo, &name).ok_or(RepoError::NotFound("404 Branch Not Found"))?
    };
    if name == ctx.default_branch {
        return Err(RepoError::BadRequest(
            "The default branch of a project cannot be deleted".into(),
        ));
    }
    if protection(&auth, ctx.project_id, &name, false)
        .await?
        .is_some()
    {
        return Err(RepoError::Forbidden(
            "Protected branch cannot be deleted".into(),
        ));
    }
    let path = ctx.repo_path.clone();
    blocking(move || {
        let repo = objects::open(&path)?;
        Ok(objects::delete_ref(
            &repo,
            &format!("refs/heads/{name}"),
            tip,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn tag_view(repo: &Repository, name: &str, web_base: &str) -> R<Option<Value>> {
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
    Ok(Some(json!({
        "name": name,
        "message": tag.as_ref().and_then(|t| t.message().map(str::to_string)).unwrap_or_default(),
        "target": target.to_string(),
        "commit": commit_view(&commit, web_base),
        "release": null,
        "protected": false,
        "created_at": tag.as_ref().and_then(|t| t.tagger()).map(|s| time(s.when())),
    })))
}

async fn tags_list(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let (page, per_page) = page(&p);
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let mut names: Vec<String> = repo
            .tag_names(None)?
            .iter()
            .flatten()
            .map(str::to_string)
            .collect();
        names.sort();
        names.reverse();
        let mut out = Vec::new();
        for n in names {
            if let Some(v) = tag_view(&repo, &n, &ctx.web_base)? {
                out.push(v);
            }
        }
        Ok(out)
    })
    .await?;
    Ok(paged(items, page, per_page, None))
}

async fn tag_show(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let name = path_param(&req, "tag_name");
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        tag_view(&repo, &name, &ctx.web_base)?.ok_or(RepoError::NotFound("404 Tag Not Found"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn tag_create(auth: Authorized, req: HttpRequest, body: web::Bytes) -> R<HttpResponse> {
    let p = params(&req, &body)?;
    let name = required(&p, "tag_name")?;
    let reference = required(&p, "ref")?;
    let message = string(&p, "message").filter(|m| !m.is_empty());
    if !objects::valid_ref_name(&name) {
        return Err(RepoError::BadRequest("Tag name invalid".into()));
    }
    let ctx = context(&auth, &req).await?;
    let me = caller(&auth).await?;
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        if repo.find_reference(&format!("refs/tags/{name}")).is_ok() {
            return Err(RepoError::BadRequest(format!("Tag {name} already exists")));
        }
        let c = objects::resolve(&repo, &reference).ok_or(RepoError::BadRequest(
            "Target {ref} is invalid".replace("{ref}", &reference),
        ))?;
        match message {
            Some(m) => {
                let sig = git2::Signature::now(&me.name, &me.email)?;
                repo.tag(&name, c.as_object(), &sig, &m, false)
            }
            None => repo.tag_lightweight(&name, c.as_object(), false),
        }
        .map_err(|e| match e.code() {
            git2::ErrorCode::Exists => RepoError::BadRequest(format!("Tag {name} already exists")),
            _ => RepoError::from(e),
        })?;
        ctx.pushed(format!("refs/tags/{name}"), None, c.id());
        tag_view(&repo, &name, &ctx.web_base)?.ok_or(RepoError::Internal("tag vanished".into()))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

async fn tag_delete(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let name = path_param(&req, "tag_name");
    blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let mut r = repo
            .find_reference(&format!("refs/tags/{name}"))
            .map_err(|_| RepoError::NotFound("404 Tag Not Found"))?;
        r.delete()?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Compare

async fn compare(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let from = required(&p, "from")?;
    let to = required(&p, "to")?;
    let straight = flag(&p, "straight");
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let a = at_ref(&repo, &from, "404 Ref Not Found")?;
        let b = at_ref(&repo, &to, "404 Ref Not Found")?;
        // As `git diff from...to`: from the merge base unless `straight`.
        let base = if straight {
            a.id()
        } else {
            repo.merge_base(a.id(), b.id()).unwrap_or(a.id())
        };
        let base_tree = repo.find_commit(base)?.tree()?;
        let diffs = objects::diff_trees(&repo, Some(&base_tree), Some(&b.tree()?))?;
        let commits = objects::range(&repo, a.id(), b.id(), 1000)?
            .into_iter()
            .map(|o| Ok(commit_view(&repo.find_commit(o)?, &ctx.web_base)))
            .collect::<R<Vec<_>>>()?;
        Ok(json!({
            "commit": commits.last().cloned(),
            "commits": commits,
            "diffs": diffs.iter().map(diff_view).collect::<Vec<_>>(),
            "compare_timeout": false,
            "compare_same_ref": a.id() == b.id(),
            "web_url": format!("{}/-/compare/{}...{}", ctx.web_base, a.id(), b.id()),
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
