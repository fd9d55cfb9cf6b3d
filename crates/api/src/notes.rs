//! Notes (comments) on issues and merge requests over REST, one set of handlers for both: the
//! path names the noteable (`issue_iid` or `merge_request_iid`), which must be visible to the
//! caller first: a note on a confidential issue the caller cannot see is a 404 like the issue
//! itself. Only a note's author or a Maintainer+ edits or deletes it; system notes ("closed",
//! "reopened", "merged") are read-only.
//!
//! Issue notes need `issue:read` / `issue:create` / `issue:update` (edit and delete); merge
//! request notes the same actions of `merge_request`, from Reporter up like reading a merge
//! request (a Guest does not see a private project's merge requests).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::issues::{actor, iid_param, issue_not_found, project_target, visible_issue};
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::{Requirement, Role, Target, require};
use tinforge_gate::routes::RouteDecl;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::issues::Viewer;
use tinforge_store::merge_requests;
use tinforge_store::notes::{self, NoteOrder, Noteable};

/// The note routes of one kind of noteable: where it sits below the project, what each action
/// needs, and the summaries (list, create, show, edit, delete).
struct NoteRoutes {
    at: &'static str,
    read: Requirement,
    create: Requirement,
    update: Requirement,
    summaries: [&'static str; 5],
}

pub fn declare(r: &mut RestRoutes) {
    let reporter = Role::Reporter;
    for kind in [
        NoteRoutes {
            at: "issues/{issue_iid}",
            read: require!(issue:read),
            create: require!(issue:create),
            update: require!(issue:update),
            summaries: [
                "Notes on an issue",
                "Comment on an issue",
                "One note on an issue",
                "Edit a note (its author or Maintainer+)",
                "Delete a note (its author or Maintainer+)",
            ],
        },
        NoteRoutes {
            at: "merge_requests/{merge_request_iid}",
            read: require!(merge_request:read).min_role(reporter),
            create: require!(merge_request:create).min_role(reporter),
            update: require!(merge_request:update).min_role(reporter),
            summaries: [
                "Notes on a merge request",
                "Comment on a merge request",
                "One note on a merge request",
                "Edit a note on a merge request (its author or Maintainer+)",
                "Delete a note on a merge request (its author or Maintainer+)",
            ],
        },
    ] {
        let list = format!("/api/v4/projects/{{id}}/{}/notes", kind.at);
        let one = format!("{list}/{{note_id}}");
        let [s_list, s_create, s_get, s_update, s_delete] = kind.summaries;
        on_project(r, "GET", &list, kind.read, s_list)
            .returns_list::<views::NoteView>()
            .to(list_notes);
        on_project(r, "POST", &list, kind.create, s_create)
            .returns::<views::NoteView>()
            .to(create_note);
        on_project(r, "GET", &one, kind.read, s_get)
            .returns::<views::NoteView>()
            .to(get_note);
        on_project(r, "PUT", &one, kind.update, s_update)
            .returns::<views::NoteView>()
            .to(update_note);
        on_project(r, "DELETE", &one, kind.update, s_delete).to(delete_note);
    }
}

/// `method path` on the project of the `id` parameter.
fn on_project<'r>(
    r: &'r mut RestRoutes,
    method: &'static str,
    path: &str,
    need: Requirement,
    summary: &'static str,
) -> RouteDecl<'r> {
    r.route(method, path, need).project("id").summary(summary)
}

/// The issue or merge request the path names, as the caller sees it, or 404.
async fn noteable(
    auth: &Authorized,
    target: &Target,
    req: &HttpRequest,
) -> Result<(Noteable, Viewer), ApiError> {
    let Some(mr_iid) = req.match_info().get("merge_request_iid") else {
        let (issue, viewer) = visible_issue(auth, target, iid_param(req)?).await?;
        return Ok((Noteable::from(&issue.row), viewer));
    };
    let iid: i64 = mr_iid.parse().map_err(|_| issue_not_found())?;
    let project_id = target.id;
    let mr = auth
        .run(move |c| merge_requests::find(c, project_id, iid))
        .await?
        .ok_or_else(issue_not_found)?;
    let viewer = Viewer::on_target(auth.principal.as_ref(), target);
    Ok((Noteable::from(&mr), viewer))
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
    let (on, viewer) = noteable(&auth, &target, &req).await?;
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
    let (list, total) = auth
        .run(move |c| notes::list(c, on, &viewer, order, desc, page.offset(), page.limit()))
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
    let (on, viewer) = noteable(&auth, &target, &req).await?;
    let id = note_id(&req)?;
    let note = auth
        .run(move |c| notes::get(c, on, id, &viewer))
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
    let (on, _) = noteable(&auth, &target, &req).await?;
    let b: NoteBody = params.parse()?;
    let body = required_body(b.body)?;
    let internal = b.internal.or(b.confidential).unwrap_or(false);
    if internal && !notes::may_write_internal(actor.role, actor.admin) {
        return Err(ApiError::Forbidden(Some(
            "Internal notes need the Reporter role".into(),
        )));
    }
    let user_id = actor.principal.user_id;
    let note = auth
        .run(move |c| notes::create(c, on, user_id, &body, internal))
        .await?;
    Ok(HttpResponse::Created().json(views::note(&note, &cfg)))
}

/// The note named by the path, visible to the caller and modifiable by them (else 404 / 403).
async fn modifiable_note(
    auth: &Authorized,
    req: &HttpRequest,
) -> Result<(Noteable, notes::Note), ApiError> {
    let target = project_target(auth)?;
    let actor = actor(auth, &target)?;
    let (on, viewer) = noteable(auth, &target, req).await?;
    let id = note_id(req)?;
    let note = auth
        .run(move |c| notes::get(c, on, id, &viewer))
        .await?
        .ok_or(NOTE_NOT_FOUND)?;
    if !notes::may_modify(&note.row, actor.principal.user_id, actor.role, actor.admin) {
        return Err(ApiError::Forbidden(None));
    }
    Ok((on, note))
}

async fn update_note(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (on, note) = modifiable_note(&auth, &req).await?;
    let b: NoteBody = params.parse()?;
    let body = required_body(b.body)?;
    let note = auth
        .run(move |c| notes::update_body(c, on, &note.row, &body))
        .await?;
    Ok(HttpResponse::Ok().json(views::note(&note, &cfg)))
}

async fn delete_note(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (_, note) = modifiable_note(&auth, &req).await?;
    let id = note.row.id;
    auth.run(move |c| notes::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
