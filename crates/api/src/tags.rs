//! GitLab's tags API (`/api/v4/projects/:id/repository/tags…`): list, one tag, create
//! (annotated when given a message, which makes the caller the tagger), delete (Maintainer).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, required, text};
use crate::repo_context::{blocking, caller, context, path_param};
use crate::repository::BASE;
use crate::repository_views::{Commit, Tag, git_time};
use actix_web::{HttpRequest, HttpResponse, web};
use tinforge_authz::{Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::git::browse::{self, TagInfo};
use tinforge_store::git::objects;

pub fn declare(r: &mut RestRoutes) {
    let read = require!(repository:read).min_role(Role::Reporter);
    let create = require!(repository:create).min_role(Role::Developer);
    let delete = require!(repository:delete).min_role(Role::Maintainer);
    let all = format!("{BASE}/tags");
    let one = format!("{BASE}/tags/{{tag_name}}");
    r.route("GET", &all, read)
        .project("id")
        .summary("List tags")
        .returns_list::<Tag>()
        .to(list);
    r.route("POST", &all, create)
        .project("id")
        .summary("Create a tag (annotated with a message)")
        .returns::<Tag>()
        .to(create_tag);
    r.route("GET", &one, read)
        .project("id")
        .summary("A single tag")
        .returns::<Tag>()
        .to(show);
    r.route("DELETE", &one, delete)
        .project("id")
        .summary("Delete a tag")
        .to(remove);
}

fn view(t: &TagInfo<'_>, web_base: &str) -> Tag {
    Tag {
        name: t.name.clone(),
        message: t.message.clone().unwrap_or_default(),
        target: t.target.to_string(),
        commit: Commit::of(&t.commit, web_base),
        release: None,
        protected: false,
        created_at: t.tagged_at.map(git_time),
    }
}

/// Tag `name` in the repository at `path`, 404 `Tag` when there is none.
fn find(repo: &git2::Repository, name: &str, web_base: &str) -> Result<Tag, ApiError> {
    browse::find_tag(repo, name)?
        .map(|t| view(&t, web_base))
        .ok_or(ApiError::NotFound("Tag"))
}

async fn list(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let page = Page::from_params(&params)?;
    let items = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let mut out = Vec::new();
        for name in browse::tag_names(&repo)? {
            if let Some(t) = browse::find_tag(&repo, &name)? {
                out.push(view(&t, &ctx.web_base));
            }
        }
        Ok(out)
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

async fn show(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let name = path_param(&req, "tag_name");
    let tag = blocking(move || find(&objects::open(&ctx.repo_path)?, &name, &ctx.web_base)).await?;
    Ok(HttpResponse::Ok().json(tag))
}

async fn create_tag(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?;
    let name = required(p, "tag_name")?;
    let reference = required(p, "ref")?;
    let message = text(p, "message").filter(|m| !m.is_empty());
    if !objects::valid_ref_name(&name) {
        return Err(ApiError::invalid("Tag name invalid"));
    }
    let ctx = context(&auth, &cfg).await?;
    let me = caller(&auth).await?;
    let tag = blocking(move || {
        let repo = objects::open(&ctx.repo_path)?;
        let commit = browse::create_tag(&repo, &name, &reference, message.as_deref(), &me)?;
        ctx.pushed(format!("refs/tags/{name}"), None, commit);
        find(&repo, &name, &ctx.web_base)
    })
    .await?;
    Ok(HttpResponse::Created().json(tag))
}

async fn remove(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let name = path_param(&req, "tag_name");
    blocking(move || Ok(browse::delete_tag(&objects::open(&ctx.repo_path)?, &name)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
