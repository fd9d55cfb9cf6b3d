//! GitLab's repository API for reading code and writing files (`/api/v4/projects/:id/
//! repository/…`): the tree, files (metadata with base64 content, raw, create/update/delete in a
//! new commit), raw blobs, and comparing two refs. Reads need `repository:read` (Reporter),
//! writes `repository:create|update|delete` (Developer) and, on a protected branch, its push
//! level. The git work is [`tinforge_store::git`]'s; handlers shape it.

use crate::ApiConfig;
use crate::commits::{content, write_commit};
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flag, required, text};
use crate::repo_context::{at_ref, blocking, context, path_param};
use crate::repository_views::{Commit, Compare, File, FileWritten, TreeEntry, diffs};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use sha2::Digest;
use tinforge_authz::requirement::raises;
use tinforge_authz::{Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::git::browse::{self, FileAt};
use tinforge_store::git::objects::{self, Action};

pub const BASE: &str = "/api/v4/projects/{id}/repository";

pub fn declare(r: &mut RestRoutes) {
    let read = require!(repository:read).min_role(Role::Reporter);
    // File writes are commits on a branch: a protected one needs its push level.
    let protected = &[raises::PROTECTED_BRANCH];
    let create = require!(repository:create)
        .min_role(Role::Developer)
        .raised(protected);
    let update = require!(repository:update)
        .min_role(Role::Developer)
        .raised(protected);
    let delete = require!(repository:delete)
        .min_role(Role::Developer)
        .raised(protected);
    let p = |s: &str| format!("{BASE}{s}");
    r.route("GET", &p("/tree"), read)
        .project("id")
        .summary("List a repository tree (path, ref, recursive)")
        .returns_list::<TreeEntry>()
        .to(tree);
    r.route("GET", &p("/files/{file_path}/raw"), read)
        .project("id")
        .summary("Raw file content at a ref")
        .to(file_raw);
    r.route("GET", &p("/files/{file_path}"), read)
        .project("id")
        .summary("A file at a ref, base64 content and metadata (HEAD: X-Gitlab-* headers only)")
        .returns::<File>()
        .to(file_get);
    r.route("POST", &p("/files/{file_path}"), create)
        .project("id")
        .summary("Create a file in a new commit")
        .returns::<FileWritten>()
        .to(file_create);
    r.route("PUT", &p("/files/{file_path}"), update)
        .project("id")
        .summary("Update a file in a new commit")
        .returns::<FileWritten>()
        .to(file_update);
    r.route("DELETE", &p("/files/{file_path}"), delete)
        .project("id")
        .summary("Delete a file in a new commit")
        .to(file_delete);
    r.route("GET", &p("/blobs/{sha}/raw"), read)
        .project("id")
        .summary("Raw blob content by id")
        .to(blob_raw);
    r.route("GET", &p("/compare"), read)
        .project("id")
        .summary("Compare two refs (commits and diffs)")
        .returns::<Compare>()
        .to(compare);
}

async fn tree(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let p = params.map()?;
    let reference = text(p, "ref").unwrap_or(ctx.default_branch.clone());
    let path = match text(p, "path").filter(|s| !s.is_empty() && s != "/") {
        Some(s) => objects::clean_path(&s).ok_or(ApiError::NotFound("Tree"))?,
        None => String::new(),
    };
    let recursive = flag(p, "recursive");
    let page = Page::from_params(&params)?;
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let commit = at_ref(&repo, &reference, "Tree")?;
        let tree = objects::tree_at(&repo, &commit.tree()?, &path)?;
        Ok(objects::list_tree(&repo, &tree, &path, recursive)
            .into_iter()
            .map(TreeEntry::from)
            .collect::<Vec<_>>())
    })
    .await?;
    let (total, items) = page.cut(items);
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

/// The `file_path` path parameter, a clean relative path (404 `File` otherwise).
fn file_path(req: &HttpRequest) -> Result<String, ApiError> {
    objects::clean_path(&path_param(req, "file_path")).ok_or(ApiError::NotFound("File"))
}

/// A file at a ref, with the names GitLab reports it under.
struct Located {
    path: String,
    reference: String,
    commit_id: String,
    file: FileAt,
}

async fn load_file(
    auth: &Authorized,
    cfg: &ApiConfig,
    req: &HttpRequest,
    params: &Params,
) -> Result<Located, ApiError> {
    let ctx = context(auth, cfg).await?;
    let path = file_path(req)?;
    let reference = text(params.map()?, "ref").unwrap_or(ctx.default_branch.clone());
    blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let commit = at_ref(&repo, &reference, "File")?;
        let file = browse::file_at(&repo, &commit, &path)?;
        Ok(Located {
            commit_id: commit.id().to_string(),
            path,
            reference,
            file,
        })
    })
    .await
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

fn sha256(content: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(content))
}

fn file_headers(res: &mut actix_web::HttpResponseBuilder, f: &Located) {
    res.insert_header(("X-Gitlab-Blob-Id", f.file.blob_id.to_string()))
        .insert_header(("X-Gitlab-Commit-Id", f.commit_id.clone()))
        .insert_header(("X-Gitlab-Content-Sha256", sha256(&f.file.content)))
        .insert_header(("X-Gitlab-Encoding", "base64"))
        .insert_header(("X-Gitlab-File-Name", file_name(&f.path).to_string()))
        .insert_header(("X-Gitlab-File-Path", f.path.clone()))
        .insert_header(("X-Gitlab-Last-Commit-Id", f.file.last_commit_id.to_string()))
        .insert_header(("X-Gitlab-Ref", f.reference.clone()))
        .insert_header(("X-Gitlab-Size", f.file.content.len().to_string()))
        .insert_header(("X-Gitlab-Execute-Filemode", f.file.executable.to_string()));
}

async fn file_get(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let f = load_file(&auth, &cfg, &req, &params).await?;
    let mut res = HttpResponse::Ok();
    file_headers(&mut res, &f);
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(res.finish());
    }
    Ok(res.json(File {
        file_name: file_name(&f.path).to_string(),
        size: f.file.content.len(),
        encoding: "base64".into(),
        content: base64::engine::general_purpose::STANDARD.encode(&f.file.content),
        content_sha256: sha256(&f.file.content),
        blob_id: f.file.blob_id.to_string(),
        last_commit_id: f.file.last_commit_id.to_string(),
        execute_filemode: f.file.executable,
        file_path: f.path,
        reference: f.reference,
        commit_id: f.commit_id,
    }))
}

async fn file_raw(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let f = load_file(&auth, &cfg, &req, &params).await?;
    let mut res = HttpResponse::Ok();
    file_headers(&mut res, &f);
    Ok(res
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(f.file.content))
}

async fn blob_raw(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let sha = path_param(&req, "sha");
    let content =
        blocking(move || Ok(browse::blob(&objects::open(&ctx.repo_path)?, &sha)?)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(content))
}

/// Writes carry whole files (base64 in JSON grows them by a third): the body may be this large,
/// each file in it at most [`objects::MAX_FILE_BYTES`].
pub const MAX_WRITE_BODY: usize = 4 * objects::MAX_FILE_BYTES + 1024 * 1024;

/// The parameters of a write whose body carries files, up to [`MAX_WRITE_BODY`] (413 `File is
/// larger` beyond).
pub async fn write_params(req: &HttpRequest, payload: web::Payload) -> Result<Params, ApiError> {
    Params::read(req, payload.into_inner(), MAX_WRITE_BODY)
        .await
        .map_err(|e| match e {
            ApiError::TooLarge => ApiError::file_too_large(),
            other => other,
        })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileWrite {
    Create,
    Update,
    Delete,
}

async fn file_write(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    payload: web::Payload,
    kind: FileWrite,
) -> Result<HttpResponse, ApiError> {
    let params = write_params(&req, payload).await?;
    let path = file_path(&req)?;
    let p = params.map()?;
    let action = match kind {
        FileWrite::Create | FileWrite::Update => {
            let data = content(p, "content")?
                .ok_or_else(|| ApiError::BadRequest("content is missing".into()))?;
            if kind == FileWrite::Create {
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
        FileWrite::Delete => Action::Delete { path: path.clone() },
    };
    let branch = required(p, "branch")?;
    required(p, "commit_message")?;
    let ctx = context(&auth, &cfg).await?;
    write_commit(&auth, ctx, p, vec![action]).await?;
    let written = FileWritten {
        file_path: path,
        branch,
    };
    Ok(match kind {
        FileWrite::Create => HttpResponse::Created().json(written),
        FileWrite::Update => HttpResponse::Ok().json(written),
        FileWrite::Delete => HttpResponse::NoContent().finish(),
    })
}

async fn file_create(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    file_write(auth, cfg, req, body, FileWrite::Create).await
}

async fn file_update(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    file_write(auth, cfg, req, body, FileWrite::Update).await
}

async fn file_delete(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    file_write(auth, cfg, req, body, FileWrite::Delete).await
}

async fn compare(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let p = params.map()?;
    let from = required(p, "from")?;
    let to = required(p, "to")?;
    let straight = flag(p, "straight");
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let a = at_ref(&repo, &from, "Ref")?;
        let b = at_ref(&repo, &to, "Ref")?;
        let base = browse::compare_base(&repo, a.id(), b.id(), straight);
        let base_tree = repo.find_commit(base)?.tree()?;
        let changes = objects::diff_trees(&repo, Some(&base_tree), Some(&b.tree()?))?;
        let commits = objects::range(&repo, a.id(), b.id(), 1000)?
            .into_iter()
            .map(|o| Ok(Commit::of(&repo.find_commit(o)?, &ctx.web_base)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Compare {
            commit: commits.last().cloned(),
            commits,
            diffs: diffs(&changes),
            compare_timeout: false,
            compare_same_ref: a.id() == b.id(),
            web_url: format!("{}/-/compare/{}...{}", ctx.web_base, a.id(), b.id()),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
