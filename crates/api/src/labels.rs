//! Project labels over REST. Reading needs `issue:read`; creating, editing and deleting labels
//! needs `issue:update` and the Reporter role (GitLab lets Reporter+ manage labels). `PUT` and
//! `DELETE` name the label by `name` or `label_id`, or in the path (`/labels/:label_id`, an id or
//! a name).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::issues::project_target;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::{Requirement, Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::issues::Viewer;
use tinforge_store::labels::{self, LabelChanges, LabelRef, LabelRow};

const MANAGE: Requirement = require!(issue:update).min_role(Role::Reporter);

pub fn declare(r: &mut RestRoutes) {
    let all = "/api/v4/projects/{id}/labels";
    let one = "/api/v4/projects/{id}/labels/{label_id}";
    r.route("GET", all, require!(issue:read))
        .project("id")
        .summary("A project's labels")
        .returns_list::<views::LabelView>()
        .to(list_labels);
    r.route("POST", all, MANAGE)
        .project("id")
        .summary("Create a label (Reporter+)")
        .returns::<views::LabelView>()
        .to(create_label);
    r.route("PUT", all, MANAGE)
        .project("id")
        .summary("Edit the label given by name or label_id (Reporter+)")
        .returns::<views::LabelView>()
        .to(update_label);
    r.route("DELETE", all, MANAGE)
        .project("id")
        .summary("Delete the label given by name or label_id (Reporter+)")
        .to(delete_label);
    r.route("GET", one, require!(issue:read))
        .project("id")
        .summary("One label, by id or name")
        .returns::<views::LabelView>()
        .to(get_label);
    r.route("PUT", one, MANAGE)
        .project("id")
        .summary("Edit a label (Reporter+)")
        .returns::<views::LabelView>()
        .to(update_label);
    r.route("DELETE", one, MANAGE)
        .project("id")
        .summary("Delete a label (Reporter+)")
        .to(delete_label);
}

const LABEL_NOT_FOUND: ApiError = ApiError::NotFound("Label");

fn color_error() -> ApiError {
    ApiError::Validation(vec![("color".into(), "must be a valid color code".into())])
}

async fn with_counts(
    auth: &Authorized,
    list: Vec<LabelRow>,
    counted: bool,
) -> Result<Vec<views::LabelView>, ApiError> {
    if !counted {
        return Ok(list.iter().map(|l| views::label(l, None)).collect());
    }
    let target = project_target(auth)?;
    let viewer = Viewer::on_target(auth.principal.as_ref(), &target);
    let ids: Vec<i64> = list.iter().map(|l| l.id).collect();
    let counts = auth
        .run(move |c| labels::issue_counts(c, target.id, &ids, &viewer))
        .await?;
    Ok(list
        .iter()
        .map(|l| views::label(l, Some(counts.get(&l.id).copied().unwrap_or((0, 0)))))
        .collect())
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    with_counts: Option<bool>,
    search: Option<String>,
}

async fn list_labels(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let project_id = target.id;
    let mut all = auth.run(move |c| labels::list(c, project_id)).await?;
    if let Some(s) = q.search.map(|s| s.to_lowercase()) {
        all.retain(|l| l.name.to_lowercase().contains(&s));
    }
    let (total, page_rows) = page.cut(all);
    let items = with_counts(&auth, page_rows, q.with_counts.unwrap_or(false)).await?;
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

/// The label the request names: the path's `label_id`, or the `label_id` / `name` parameter.
fn label_ref(req: &HttpRequest, params: &Params) -> Result<LabelRef, ApiError> {
    if let Some(p) = req.match_info().get("label_id") {
        let decoded = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
        return Ok(LabelRef::parse(&decoded));
    }
    let map = params.map()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let by_id = map.get("label_id").filter(|v| !v.is_null());
    let by_name = map.get("name").filter(|v| !v.is_null());
    match (by_id, by_name) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "label_id, name are mutually exclusive".into(),
        )),
        (Some(v), None) => text(v)
            .and_then(|s| s.trim().parse().ok())
            .map(LabelRef::Id)
            .ok_or_else(|| ApiError::BadRequest("label_id is invalid".into())),
        (None, Some(v)) => text(v)
            .map(LabelRef::Name)
            .ok_or_else(|| ApiError::BadRequest("name is invalid".into())),
        (None, None) => Err(ApiError::BadRequest(
            "label_id, name are missing, exactly one parameter must be provided".into(),
        )),
    }
}

async fn find_label(
    auth: &Authorized,
    project_id: i64,
    reference: LabelRef,
) -> Result<LabelRow, ApiError> {
    auth.run(move |c| labels::find(c, project_id, &reference))
        .await?
        .ok_or(LABEL_NOT_FOUND)
}

async fn get_label(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let label = find_label(&auth, target.id, label_ref(&req, &params)?).await?;
    let body = with_counts(&auth, vec![label], true).await?;
    Ok(HttpResponse::Ok().json(&body[0]))
}

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    color: Option<String>,
    description: Option<String>,
}

async fn create_label(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let b: CreateBody = params.parse()?;
    let name = b
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("name is missing".into()))?;
    let color = b
        .color
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("color is missing".into()))?;
    let color = labels::normalize_color(&color).map_err(|_| color_error())?;
    let project_id = target.id;
    let label = auth
        .run(move |c| labels::create(c, project_id, &name, &color, b.description.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(views::label(&label, Some((0, 0)))))
}

#[derive(Deserialize)]
struct UpdateBody {
    new_name: Option<String>,
    color: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn update_label(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let reference = label_ref(&req, &params)?;
    let b: UpdateBody = params.parse()?;
    let changes = LabelChanges {
        new_name: b.new_name,
        color: b
            .color
            .map(|c| labels::normalize_color(&c).map_err(|_| color_error()))
            .transpose()?,
        description: b.description,
    };
    if changes.is_empty() {
        return Err(ApiError::BadRequest(
            "new_name, color, description are missing, at least one parameter must be provided"
                .into(),
        ));
    }
    let label = find_label(&auth, target.id, reference).await?;
    let updated = auth
        .run(move |c| labels::update(c, &label, &changes))
        .await?;
    let body = with_counts(&auth, vec![updated], true).await?;
    Ok(HttpResponse::Ok().json(&body[0]))
}

async fn delete_label(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let label = find_label(&auth, target.id, label_ref(&req, &params)?).await?;
    let id = label.id;
    auth.run(move |c| labels::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
