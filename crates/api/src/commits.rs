//! GitLab's commits API (`/api/v4/projects/:id/repository/commits…`): the history of a ref
//! (optionally of one path), one commit with its stats, its diff, and creating a commit from
//! create/update/delete/move/chmod actions. Writing a commit on a branch (also what the files API
//! does) checks the branch's protection and starts the pipelines of the push.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flag, required, text};
use crate::repo_context::{Ctx, at_ref, blocking, caller, check_branch_write, context, path_param};
use crate::repository::{BASE, write_params};
use crate::repository_views::{Commit, CommitDetail, Diff, diffs};
use actix_web::{HttpRequest, HttpResponse, web};
use git2::Oid;
use serde_json::{Map, Value};
use tinforge_authz::requirement::raises;
use tinforge_authz::{Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::git::objects::{self, Action, ActionError, NewCommit, Person};

pub fn declare(r: &mut RestRoutes) {
    let read = require!(repository:read).min_role(Role::Reporter);
    let update = require!(repository:update)
        .min_role(Role::Developer)
        .raised(&[raises::PROTECTED_BRANCH]);
    let p = |s: &str| format!("{BASE}{s}");
    r.route("GET", &p("/commits"), read)
        .project("id")
        .summary("List commits (ref_name, path)")
        .returns_list::<Commit>()
        .to(list);
    r.route("POST", &p("/commits"), update)
        .project("id")
        .summary("Create a commit with create/update/delete/move actions")
        .returns::<CommitDetail>()
        .to(create);
    r.route("GET", &p("/commits/{sha}/diff"), read)
        .project("id")
        .summary("The diff of a commit")
        .returns_list::<Diff>()
        .to(diff);
    r.route("GET", &p("/commits/{sha}"), read)
        .project("id")
        .summary("A single commit")
        .returns::<CommitDetail>()
        .to(show);
}

async fn list(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let p = params.map()?;
    let reference = text(p, "ref_name").unwrap_or(ctx.default_branch.clone());
    let path = match text(p, "path").filter(|s| !s.is_empty()) {
        Some(s) => Some(objects::clean_path(&s).ok_or(ApiError::NotFound("File"))?),
        None => None,
    };
    let page = Page::from_params(&params)?;
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
            page.offset() as usize,
            page.limit() as usize,
        )?;
        let items = oids
            .into_iter()
            .map(|o| Ok(Commit::of(&repo.find_commit(o)?, &ctx.web_base)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((items, more))
    })
    .await?;
    Ok(pagination::respond_uncounted(
        &req,
        &cfg.external_url,
        page,
        more,
        &items,
    ))
}

async fn show(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let sha = path_param(&req, "sha");
    let view = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let c = at_ref(&repo, &sha, "Commit")?;
        let changes = objects::commit_diff(&repo, &c)?;
        Ok(CommitDetail::of(&c, &changes, &ctx.web_base))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn diff(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let page = Page::from_params(&params)?;
    let sha = path_param(&req, "sha");
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let c = at_ref(&repo, &sha, "Commit")?;
        Ok(diffs(&objects::commit_diff(&repo, &c)?))
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

async fn create(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let params = write_params(&req, payload).await?;
    let p = params.map()?;
    required(p, "branch")?;
    required(p, "commit_message")?;
    let actions = parse_actions(p)?;
    let ctx = context(&auth, &cfg).await?;
    let (repo_path, web_base) = (ctx.repo_path.clone(), ctx.web_base.clone());
    let oid = write_commit(&auth, ctx, p, actions).await?;
    let view = blocking(move || {
        let repo = objects::open(&repo_path)?;
        let c = repo.find_commit(oid)?;
        let changes = objects::commit_diff(&repo, &c)?;
        Ok(CommitDetail::of(&c, &changes, &web_base))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

fn parse_actions(p: &Map<String, Value>) -> Result<Vec<Action>, ApiError> {
    let Some(Value::Array(list)) = p.get("actions") else {
        return Err(ApiError::BadRequest("actions is missing".into()));
    };
    if list.is_empty() {
        return Err(ApiError::BadRequest("actions is empty".into()));
    }
    let mut out = Vec::new();
    for a in list {
        let Value::Object(a) = a else {
            return Err(ApiError::BadRequest("actions is invalid".into()));
        };
        let data = content(a, "content")?;
        let kind = text(a, "action").unwrap_or_default();
        let action = Action::parse(
            &kind,
            text(a, "file_path").as_deref(),
            text(a, "previous_path").as_deref(),
            data,
            a.contains_key("execute_filemode")
                .then(|| flag(a, "execute_filemode")),
        )
        .map_err(|e| match e {
            ActionError::Missing(m) => ApiError::BadRequest(m),
            ActionError::Invalid(m) => ApiError::invalid(m),
        })?;
        out.push(action);
    }
    Ok(out)
}

/// Decodes parameter `key` by the `encoding` beside it (`text`, the default, or `base64`).
pub(crate) fn content(p: &Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(data) = text(p, key) else {
        return Ok(None);
    };
    let base64 = match text(p, "encoding").as_deref() {
        None | Some("text") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "encoding does not have a valid value".into(),
            ));
        }
    };
    objects::decode_content(&data, base64)
        .map(Some)
        .ok_or_else(|| ApiError::invalid("content is not valid base64"))
}

/// Writes one commit of `actions` on `branch` (from `start_branch` when new), after the checks,
/// and starts the pipelines of the push.
pub(crate) async fn write_commit(
    auth: &Authorized,
    ctx: Ctx,
    p: &Map<String, Value>,
    actions: Vec<Action>,
) -> Result<Oid, ApiError> {
    let branch = required(p, "branch")?;
    let message = required(p, "commit_message")?;
    if !objects::valid_ref_name(&branch) {
        return Err(ApiError::invalid("branch is invalid"));
    }
    let start_branch = text(p, "start_branch").filter(|s| !s.is_empty());
    let me = caller(auth).await?;
    let author = Person {
        name: text(p, "author_name").unwrap_or(me.name.clone()),
        email: text(p, "author_email").unwrap_or(me.email.clone()),
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
