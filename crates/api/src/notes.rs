//! Notes (comments) on issues over REST. The issue must be visible to the caller first: a note on a
//! confidential issue the caller cannot see is a 404 like the issue itself. Only a note's author
//! or a Maintainer+ edits or deletes it; system notes ("closed", "reopened") are read-only.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::issues::{actor, iid_param, project_target, visible_issue};
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::require;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::notes::{self, NoteOrder};

pub fn declare(r: &mut RestRoutes) {
    let list = "/api/v4/projects/{id}/issues/{issue_iid}/notes";
    let one = "/api/v4/projects/{id}/issues/{issue_iid}/notes/{note_id}";
    r.route("GET", list, require!(issue:read))
        .project("id")
        .summary("Notes on an issue")
        .to(list_notes);
    r.route("POST", list, require!(issue:create))
        .project("id")
        .summary("Comment on an issue")
        .to(create_note);
    r.route("GET", one, require!(issue:read))
        .project("id")
        .summary("One note on an issue")
        .to(get_note);
    r.route("PUT", one, require!(issue:update))
        .project("id")
        .summary("Edit a note (its author or Maintainer+)")
        .to(update_note);
    r.route("DELETE", one, require!(issue:update))
        .project("id")
        .summary("Delete a note (its author or Maintainer+)")
        .to(delete_note);
}

const NOTE_NOT_FOUND: ApiError = ApiError::NotFound("Note");

fn note_id(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("note_id")
        .and_then(|s| s.parse().ok())
        .ok_or(NOTE_NOT_FOUND)
}

#[derive(Deserialize)]
struct ListQuery {
    order_by: Option<String>,
    sort: Option<String>,
}

async fn list_notes(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let (issue, viewer) = visible_issue(&auth, &target, iid_param(&req)?).await?;
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let order = match q.order_by.as_deref() {
        None | Some("created_at") => NoteOrder::CreatedAt,
        Some("updated_at") => NoteOrder::UpdatedAt,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "order_by does not have a valid value".into(),
            ));
        }
    };
    let desc = match q.sort.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sort does not have a valid value".into(),
            ));
        }
    };
    let row = issue.row.clone();
    let (list, total) = auth
        .run(move |c| notes::list(c, &row, &viewer, order, desc, page.offset(), page.limit()))
        .await?;
    let items: Vec<_> = list.iter().map(|n| views::note(n, &cfg)).collect();
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn get_note(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let (issue, viewer) = visible_issue(&auth, &target, iid_param(&req)?).await?;
    let id = note_id(&req)?;
    let row = issue.row.clone();
    let note = auth
        .run(move |c| notes::get(c, &row, id, &viewer))
        .await?
        .ok_or(NOTE_NOT_FOUND)?;
    Ok(HttpResponse::Ok().json(views::note(&note, &cfg)))
}

#[derive(Deserialize)]
struct NoteBody {
    body: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    internal: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    confidential: Option<bool>,
}

fn required_body(body: Option<String>) -> Result<String, ApiError> {
    body.filter(|b| !b.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("body is missing".into()))
}

async fn create_note(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let actor = actor(&auth, &target)?;
    let (issue, _) = visible_issue(&auth, &target, iid_param(&req)?).await?;
    let b: NoteBody = params.parse()?;
    let body = required_body(b.body)?;
    let internal = b.internal.or(b.confidential).unwrap_or(false);
    if internal && !notes::may_write_internal(actor.role, actor.admin) {
        return Err(ApiError::Forbidden(Some(
            "Internal notes need the Reporter role".into(),
        )));
    }
    let (row, user_id) = (issue.row.clone(), actor.principal.user_id);
    let note = auth
        .run(move |c| notes::create(c, &row, user_id, &body, internal))
        .await?;
    Ok(HttpResponse::Created().json(views::note(&note, &cfg)))
}

/// The note named by the path, visible to the caller and modifiable by them (else 404 / 403).
async fn modifiable_note(
    auth: &Authorized,
    req: &HttpRequest,
) -> Result<(tinforge_store::issues::Issue, notes::Note), ApiError> {
    let target = project_target(auth)?;
    let actor = actor(auth, &target)?;
    let (issue, viewer) = visible_issue(auth, &target, iid_param(req)?).await?;
    let id = note_id(req)?;
    let row = issue.row.clone();
    let note = auth
        .run(move |c| notes::get(c, &row, id, &viewer))
        .await?
        .ok_or(NOTE_NOT_FOUND)?;
    if !notes::may_modify(&note.row, actor.principal.user_id, actor.role, actor.admin) {
        return Err(ApiError::Forbidden(None));
    }
    Ok((issue, note))
}

async fn update_note(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (issue, note) = modifiable_note(&auth, &req).await?;
    let b: NoteBody = params.parse()?;
    let body = required_body(b.body)?;
    let note = auth
        .run(move |c| notes::update_body(c, &issue.row, &note.row, &body))
        .await?;
    Ok(HttpResponse::Ok().json(views::note(&note, &cfg)))
}

async fn delete_note(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (_, note) = modifiable_note(&auth, &req).await?;
    let id = note.row.id;
    auth.run(move |c| notes::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
