//! CI/CD variables of projects (`/projects/:id/variables`), groups (`/groups/:id/variables`) and
//! the instance (`/admin/ci/variables`), in GitLab's shapes. Variables are secrets: managing a
//! project's needs Maintainer (`project:read` / `project:update`), a group's Owner
//! (`group:read` / `group:update`, as GitLab's `admin_cicd_variables`), the instance's an admin
//! in admin mode. Reads are declared `members_only`: the role is needed on public projects and
//! groups too, so a public project's variables stay its maintainers'. A hidden
//! variable (`masked_and_hidden`) never shows its value again: `"value": null`.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tinforge_authz::{Requirement, Role, TargetKind, require};
use tinforge_gate::authorized::decode;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::StoreError;
use tinforge_store::ci::variables::{
    self, ALL_ENVIRONMENTS, Owner, VariableRow, VariableSpec, VariableType,
};
use utoipa::ToSchema;

const READ_PROJECT: Requirement = require!(project:read)
    .min_role(Role::Maintainer)
    .members_only();
const WRITE_PROJECT: Requirement = require!(project:update).min_role(Role::Maintainer);
const READ_GROUP: Requirement = require!(group:read).min_role(Role::Owner).members_only();
const WRITE_GROUP: Requirement = require!(group:update).min_role(Role::Owner);
const READ_INSTANCE: Requirement = require!(project:read).admin_only();
const WRITE_INSTANCE: Requirement = require!(project:update).admin_only();

pub fn declare(r: &mut RestRoutes) {
    let all = "/api/v4/projects/{id}/variables";
    let one = "/api/v4/projects/{id}/variables/{key}";
    r.route("GET", all, READ_PROJECT)
        .project("id")
        .summary("A project's CI/CD variables (project:read, Maintainer+)")
        .returns_list::<VariableView>()
        .to(list_variables);
    r.route("POST", all, WRITE_PROJECT)
        .project("id")
        .summary("Create a project CI/CD variable (project:update, Maintainer+)")
        .returns::<VariableView>()
        .to(create_variable);
    r.route("GET", one, READ_PROJECT)
        .project("id")
        .summary("One project CI/CD variable; filter[environment_scope] picks a scope (project:read, Maintainer+)")
        .returns::<VariableView>()
        .to(get_variable);
    r.route("PUT", one, WRITE_PROJECT)
        .project("id")
        .summary("Edit a project CI/CD variable (project:update, Maintainer+)")
        .returns::<VariableView>()
        .to(update_variable);
    r.route("DELETE", one, WRITE_PROJECT)
        .project("id")
        .summary("Delete a project CI/CD variable (project:update, Maintainer+)")
        .to(delete_variable);

    let all = "/api/v4/groups/{id}/variables";
    let one = "/api/v4/groups/{id}/variables/{key}";
    r.route("GET", all, READ_GROUP)
        .group("id")
        .summary("A group's CI/CD variables (group:read, Owner)")
        .returns_list::<VariableView>()
        .to(list_variables);
    r.route("POST", all, WRITE_GROUP)
        .group("id")
        .summary("Create a group CI/CD variable (group:update, Owner)")
        .returns::<VariableView>()
        .to(create_variable);
    r.route("GET", one, READ_GROUP)
        .group("id")
        .summary("One group CI/CD variable (group:read, Owner)")
        .returns::<VariableView>()
        .to(get_variable);
    r.route("PUT", one, WRITE_GROUP)
        .group("id")
        .summary("Edit a group CI/CD variable (group:update, Owner)")
        .returns::<VariableView>()
        .to(update_variable);
    r.route("DELETE", one, WRITE_GROUP)
        .group("id")
        .summary("Delete a group CI/CD variable (group:update, Owner)")
        .to(delete_variable);

    let all = "/api/v4/admin/ci/variables";
    let one = "/api/v4/admin/ci/variables/{key}";
    r.route("GET", all, READ_INSTANCE)
        .summary("The instance's CI/CD variables (admin mode)")
        .returns_list::<VariableView>()
        .to(list_variables);
    r.route("POST", all, WRITE_INSTANCE)
        .summary("Create an instance CI/CD variable (admin mode)")
        .returns::<VariableView>()
        .to(create_variable);
    r.route("GET", one, READ_INSTANCE)
        .summary("One instance CI/CD variable (admin mode)")
        .returns::<VariableView>()
        .to(get_variable);
    r.route("PUT", one, WRITE_INSTANCE)
        .summary("Edit an instance CI/CD variable (admin mode)")
        .returns::<VariableView>()
        .to(update_variable);
    r.route("DELETE", one, WRITE_INSTANCE)
        .summary("Delete an instance CI/CD variable (admin mode)")
        .to(delete_variable);
}

const VARIABLE_NOT_FOUND: ApiError = ApiError::NotFound("Variable");

/// Whose variables the route is about: its project, its group, or (no target) the instance.
fn owner_of(auth: &Authorized) -> Owner {
    match &auth.target {
        Some(t) if t.kind == TargetKind::Project => Owner::Project(t.id),
        Some(t) => Owner::Group(t.id),
        None => Owner::Instance,
    }
}

// ---------------------------------------------------------------------------------------------
// Views

/// A variable as GitLab's `Ci::Variable` entity writes it (instance variables have no
/// environment scope).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariableView {
    pub variable_type: String,
    pub key: String,
    /// Null for hidden variables, always.
    pub value: Option<String>,
    pub hidden: bool,
    pub protected: bool,
    pub masked: bool,
    pub raw: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_scope: Option<String>,
    pub description: Option<String>,
}

impl VariableView {
    pub fn of(v: &VariableRow) -> VariableView {
        VariableView {
            variable_type: v.variable_type.clone(),
            key: v.key.clone(),
            value: (!v.hidden).then(|| v.value.clone()),
            hidden: v.hidden,
            protected: v.protected,
            masked: v.masked,
            raw: v.raw,
            environment_scope: (v.owner_kind != variables::KIND_INSTANCE)
                .then(|| v.environment_scope.clone()),
            description: v.description.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A string parameter; numbers and booleans are taken as their text, as Grape coerces them.
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(serde::de::Error::custom("not a string")),
    }
}

#[derive(Deserialize)]
struct VariableBody {
    #[serde(default, deserialize_with = "opt_text")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    value: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    variable_type: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    protected: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    masked: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    masked_and_hidden: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    raw: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    environment_scope: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    description: Option<String>,
}

fn parse_type(text: Option<&str>) -> Result<Option<VariableType>, ApiError> {
    text.map(|t| {
        VariableType::parse(t)
            .ok_or_else(|| ApiError::BadRequest("variable_type does not have a valid value".into()))
    })
    .transpose()
}

/// `filter[environment_scope]` (query or form) or `{"filter": {"environment_scope": …}}` (JSON).
fn scope_filter(params: &Params) -> Result<Option<String>, ApiError> {
    let map = params.map()?;
    let given = map.get("filter[environment_scope]").or_else(|| {
        map.get("filter")
            .and_then(|f| f.as_object())
            .and_then(|f| f.get("environment_scope"))
    });
    match given {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::BadRequest(
            "filter[environment_scope] is invalid".into(),
        )),
    }
}

fn key_param(req: &HttpRequest) -> String {
    decode(req.match_info().get("key").unwrap_or_default())
}

/// Field problems as GitLab's 400 `{"message": {"field": ["problem"]}}`.
fn invalid(problems: Vec<(&'static str, String)>) -> ApiError {
    ApiError::Validation(
        problems
            .into_iter()
            .map(|(f, p)| (f.to_string(), p))
            .collect(),
    )
}

/// A taken key on create or update is a validation error of `key` in GitLab.
fn taken_as_validation(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::Validation(vec![("key".into(), m)]),
        other => other.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn list_variables(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_params(&params)?;
    let owner = owner_of(&auth);
    let all = auth.run(move |c| variables::list(c, owner)).await?;
    let (total, rows) = page.cut(all);
    let items: Vec<VariableView> = rows.iter().map(VariableView::of).collect();
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

/// The variable the path names, in the filtered scope (instance variables have none).
async fn find_variable(
    auth: &Authorized,
    params: &Params,
    req: &HttpRequest,
) -> Result<VariableRow, ApiError> {
    let owner = owner_of(auth);
    let key = key_param(req);
    let scope = match owner {
        Owner::Instance => None,
        _ => scope_filter(params)?,
    };
    auth.run(move |c| variables::find(c, owner, &key, scope.as_deref()))
        .await?
        .ok_or(VARIABLE_NOT_FOUND)
}

async fn get_variable(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let v = find_variable(&auth, &params, &req).await?;
    Ok(HttpResponse::Ok().json(VariableView::of(&v)))
}

async fn create_variable(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let b: VariableBody = params.parse()?;
    let owner = owner_of(&auth);
    let key = b
        .key
        .ok_or_else(|| ApiError::BadRequest("key is missing".into()))?;
    let value = b
        .value
        .ok_or_else(|| ApiError::BadRequest("value is missing".into()))?;
    let hidden = b.masked_and_hidden.unwrap_or(false);
    if hidden && owner == Owner::Instance {
        return Err(ApiError::BadRequest(
            "masked_and_hidden is not supported for instance variables".into(),
        ));
    }
    let mut spec = VariableSpec::new(&key, &value);
    spec.variable_type = parse_type(b.variable_type.as_deref())?.unwrap_or(VariableType::EnvVar);
    spec.protected = b.protected.unwrap_or(false);
    spec.masked = hidden || b.masked.unwrap_or(false);
    spec.hidden = hidden;
    spec.raw = b.raw.unwrap_or(false);
    if owner != Owner::Instance {
        spec.environment_scope = b
            .environment_scope
            .unwrap_or_else(|| ALL_ENVIRONMENTS.to_string());
    }
    spec.description = b.description;
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let created = auth
        .run(move |c| variables::create(c, owner, &spec).map_err(taken_as_validation))
        .await?;
    tracing::info!(
        variable.owner = created.owner_kind,
        variable.owner_id = created.owner_id,
        variable.key = %created.key,
        "CI/CD variable created"
    );
    Ok(HttpResponse::Created().json(VariableView::of(&created)))
}

async fn update_variable(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let b: VariableBody = params.parse()?;
    let current = find_variable(&auth, &params, &req).await?;
    let mut spec = VariableSpec::of(&current);
    if let Some(value) = b.value {
        spec.value = value;
    }
    if let Some(t) = parse_type(b.variable_type.as_deref())? {
        spec.variable_type = t;
    }
    if let Some(p) = b.protected {
        spec.protected = p;
    }
    if let Some(m) = b.masked {
        spec.masked = m;
    }
    if let Some(r) = b.raw {
        spec.raw = r;
    }
    if current.owner_kind != variables::KIND_INSTANCE
        && let Some(scope) = b.environment_scope
    {
        spec.environment_scope = scope;
    }
    if let Some(d) = b.description {
        spec.description = Some(d);
    }
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let id = current.id;
    let updated = auth
        .run(move |c| {
            variables::update(c, id, &spec).map_err(|e| match e {
                StoreError::NotFound => VARIABLE_NOT_FOUND,
                other => taken_as_validation(other),
            })
        })
        .await?;
    tracing::info!(
        variable.owner = updated.owner_kind,
        variable.owner_id = updated.owner_id,
        variable.key = %updated.key,
        "CI/CD variable updated"
    );
    Ok(HttpResponse::Ok().json(VariableView::of(&updated)))
}

async fn delete_variable(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let current = find_variable(&auth, &params, &req).await?;
    let id = current.id;
    if !auth.run(move |c| variables::delete(c, id)).await? {
        return Err(VARIABLE_NOT_FOUND);
    }
    tracing::info!(
        variable.owner = current.owner_kind,
        variable.owner_id = current.owner_id,
        variable.key = %current.key,
        "CI/CD variable deleted"
    );
    Ok(HttpResponse::NoContent().finish())
}
