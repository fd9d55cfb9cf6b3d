//! GitLab's branches API (`/api/v4/projects/:id/repository/branches…`): list (with `search`),
//! one branch, create from a ref, delete. A branch shows its protection as the caller meets it
//! (`can_push`); creating one checks the protection of its name, deleting refuses the default
//! and protected branches.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, required, text};
use crate::repo_context::{Ctx, blocking, check_branch_write, context, path_param, protection};
use crate::repository::BASE;
use crate::repository_views::{Branch, Commit};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use git2::{Oid, Repository};
use tinforge_authz::requirement::raises;
use tinforge_authz::{Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::git::browse;
use tinforge_store::git::objects;

pub fn declare(r: &mut RestRoutes) {
    let read = require!(repository:read).min_role(Role::Reporter);
    let create = require!(repository:create)
        .min_role(Role::Developer)
        .raised(&[raises::PROTECTED_BRANCH]);
    let delete = require!(repository:delete).min_role(Role::Developer);
    let all = format!("{BASE}/branches");
    let one = format!("{BASE}/branches/{{branch}}");
    r.route("GET", &all, read)
        .project("id")
        .summary("List branches")
        .returns_list::<Branch>()
        .to(list);
    r.route("POST", &all, create)
        .project("id")
        .summary("Create a branch from a ref")
        .returns::<Branch>()
        .to(create_branch);
    r.route("GET", &one, read)
        .project("id")
        .summary("A single branch")
        .returns::<Branch>()
        .to(show);
    r.route("DELETE", &one, delete)
        .project("id")
        .summary("Delete a branch (not a protected one)")
        .to(remove);
}

/// Branch `name` at `tip`, with its protection as the caller meets it.
async fn view(
    auth: &Authorized,
    ctx: &Ctx,
    repo: &Repository,
    name: &str,
    tip: Oid,
) -> Result<Branch, ApiError> {
    let protection = protection(auth, ctx.project_id, name, false).await?;
    let role = auth.target.as_ref().map(|t| t.role).unwrap_or(Role::None);
    let can_push = match protection {
        None => role >= Role::Developer,
        Some(Some(min)) => role >= min,
        Some(None) => false,
    };
    let developers = matches!(protection, None | Some(Some(Role::Developer)));
    Ok(Branch {
        name: name.to_string(),
        merged: browse::merged_into_default(repo, &ctx.default_branch, name, tip)?,
        protected: protection.is_some(),
        default: name == ctx.default_branch,
        developers_can_push: developers,
        developers_can_merge: developers,
        can_push,
        web_url: format!("{}/-/tree/{name}", ctx.web_base),
        commit: Commit::of(&repo.find_commit(tip)?, &ctx.web_base),
    })
}

async fn list(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let search = text(params.map()?, "search");
    let page = Page::from_params(&params)?;
    let path = ctx.repo_path.clone();
    let names = blocking(move || Ok(browse::branches(&objects::open(&path)?)?)).await?;
    let (total, names) = page.cut(
        names
            .into_iter()
            .filter(|(n, _)| search.as_ref().is_none_or(|s| n.contains(s.as_str()))),
    );
    let repo = objects::open(&ctx.repo_path)?;
    let mut items = Vec::new();
    for (name, tip) in &names {
        items.push(view(&auth, &ctx, &repo, name, *tip).await?);
    }
    drop(repo);
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn show(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let name = path_param(&req, "branch");
    let repo = objects::open(&ctx.repo_path)?;
    let tip = objects::branch_tip(&repo, &name).ok_or(ApiError::NotFound("Branch"))?;
    let branch = view(&auth, &ctx, &repo, &name, tip).await?;
    Ok(HttpResponse::Ok().json(branch))
}

async fn create_branch(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?;
    let name = required(p, "branch")?;
    let reference = required(p, "ref")?;
    if !objects::valid_ref_name(&name) {
        return Err(ApiError::invalid("Branch name is invalid"));
    }
    let ctx = context(&auth, &cfg).await?;
    check_branch_write(&auth, &name, false).await?;
    let path = ctx.repo_path.clone();
    let branch = name.clone();
    let tip = blocking(move || {
        let repo = objects::open(&path)?;
        if objects::branch_tip(&repo, &branch).is_some() {
            return Err(ApiError::invalid("Branch already exists"));
        }
        let c = objects::resolve(&repo, &reference)
            .ok_or_else(|| ApiError::invalid("Invalid reference name"))?;
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
    let branch = view(&auth, &ctx, &repo, &name, tip).await?;
    Ok(HttpResponse::Created().json(branch))
}

async fn remove(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let name = path_param(&req, "branch");
    let tip = {
        let repo = objects::open(&ctx.repo_path)?;
        objects::branch_tip(&repo, &name).ok_or(ApiError::NotFound("Branch"))?
    };
    if name == ctx.default_branch {
        return Err(ApiError::invalid(
            "The default branch of a project cannot be deleted",
        ));
    }
    if protection(&auth, ctx.project_id, &name, false)
        .await?
        .is_some()
    {
        return Err(ApiError::message(
            StatusCode::FORBIDDEN,
            "Protected branch cannot be deleted",
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
