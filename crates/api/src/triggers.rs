//! Pipeline triggers: a project's trigger tokens (`/projects/:id/triggers`, Maintainer) and the
//! trigger API itself (`POST /projects/:id/trigger/pipeline`), which authenticates the trigger
//! token it is given instead of a user's credential and runs a pipeline with source `trigger`
//! as the trigger's owner. A trigger token is shown once, in the response that creates it;
//! afterwards only its first characters are (`tfptt-ab12…`). Triggered pipelines never exceed
//! the owner's role: an owner who can no longer run pipelines on the project makes the token
//! useless.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::Params;
use crate::pipeline_views::{self, Site, message};
use crate::pipelines::{FILTERED, base_error};
use crate::views::{self, UserBasic};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use tinforge_authz::{Authenticates, Requirement, Role, Target, require};
use tinforge_ci::PipelineSource;
use tinforge_ci::service::{Created, PipelineRequest, create_pipeline};
use tinforge_gate::authorized::decode;
use tinforge_gate::{Authorized, RestRoutes, TokenResolver};
use tinforge_store::ci::triggers::{self, TriggerRow};
use tinforge_store::ci::variables::valid_key;
use tinforge_store::{DbConnection, StoreError, projects, users};
use utoipa::ToSchema;

const READ: Requirement = require!(pipeline:read)
    .min_role(Role::Maintainer)
    .members_only();
const CREATE: Requirement = require!(pipeline:create).min_role(Role::Maintainer);
const UPDATE: Requirement = require!(pipeline:update).min_role(Role::Maintainer);
const DELETE: Requirement = require!(pipeline:delete).min_role(Role::Maintainer);
/// The trigger API: the trigger token is the credential, checked by the handler.
const TRIGGER: Requirement =
    require!(pipeline:create).authenticated_by(Authenticates::TriggerToken);

/// The role a trigger's owner needs on the project for the trigger to run pipelines.
const OWNER_ROLE: Role = Role::Developer;

pub fn declare(r: &mut RestRoutes) {
    let all = "/api/v4/projects/{id}/triggers";
    let one = "/api/v4/projects/{id}/triggers/{trigger_id}";
    r.route("GET", all, READ)
        .project("id")
        .summary("A project's pipeline trigger tokens, shortened (pipeline:read, Maintainer+)")
        .returns_list::<TriggerView>()
        .to(list_triggers);
    r.route("POST", all, CREATE)
        .project("id")
        .summary("Create a pipeline trigger token; the only response that shows it (pipeline:create, Maintainer+)")
        .returns::<TriggerView>()
        .to(create_trigger);
    r.route("GET", one, READ)
        .project("id")
        .summary("One pipeline trigger token, shortened (pipeline:read, Maintainer+)")
        .returns::<TriggerView>()
        .to(get_trigger);
    r.route("PUT", one, UPDATE)
        .project("id")
        .summary("Edit a pipeline trigger's description (pipeline:update, Maintainer+)")
        .returns::<TriggerView>()
        .to(update_trigger);
    r.route("DELETE", one, DELETE)
        .project("id")
        .summary("Delete a pipeline trigger token (pipeline:delete, Maintainer+)")
        .to(delete_trigger);
    r.route("POST", "/api/v4/projects/{id}/trigger/pipeline", TRIGGER)
        .summary("Run a pipeline with a trigger token (the token is the credential; the pipeline runs as the trigger's owner)")
        .returns::<pipeline_views::PipelineView>()
        .to(trigger_pipeline);
}

const TRIGGER_NOT_FOUND: ApiError = ApiError::NotFound("Trigger");

// ---------------------------------------------------------------------------------------------
// Views

/// A trigger as GitLab's `Entities::Trigger` writes it; `token` is shortened except in the
/// response that creates it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerView {
    pub id: i64,
    pub token: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_used: Option<String>,
    /// Trigger tokens do not expire here.
    pub expires_at: Option<String>,
    pub owner: Option<UserBasic>,
}

fn trigger_views(
    c: &mut DbConnection,
    rows: &[TriggerRow],
    cfg: &ApiConfig,
) -> Result<Vec<TriggerView>, StoreError> {
    let mut owners: HashMap<i64, Option<UserBasic>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        if let Entry::Vacant(slot) = owners.entry(t.owner_id) {
            slot.insert(users::find(c, t.owner_id)?.map(|u| views::user_basic(&u, cfg)));
        }
        out.push(TriggerView {
            id: t.id,
            token: format!("{}…", t.token_hint),
            description: t.description.clone(),
            created_at: views::time(t.created_at),
            updated_at: views::time(t.updated_at),
            last_used: t.last_used.map(views::time),
            expires_at: None,
            owner: owners.get(&t.owner_id).cloned().flatten(),
        });
    }
    Ok(out)
}

fn one_view(
    c: &mut DbConnection,
    row: &TriggerRow,
    cfg: &ApiConfig,
) -> Result<TriggerView, ApiError> {
    trigger_views(c, std::slice::from_ref(row), cfg)?
        .pop()
        .ok_or(TRIGGER_NOT_FOUND)
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// The `trigger_id` path parameter; anything but a number names no trigger.
fn trigger_id(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("trigger_id")
        .and_then(|s| s.trim().parse().ok())
        .ok_or(TRIGGER_NOT_FOUND)
}

#[derive(Deserialize)]
struct DescriptionBody {
    description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Managing triggers

async fn list_triggers(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project_id = target_of(&auth)?.id;
    let page = Page::from_params(&params)?;
    let config = cfg.get_ref().clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let (total, rows) = page.cut(triggers::list(c, project_id)?);
            Ok((total, trigger_views(c, &rows, &config)?))
        })
        .await?;
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn get_trigger(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project_id = target_of(&auth)?.id;
    let id = trigger_id(&req)?;
    let config = cfg.get_ref().clone();
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = triggers::find(c, project_id, id)?.ok_or(TRIGGER_NOT_FOUND)?;
            one_view(c, &row, &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn create_trigger(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    resolver: web::Data<TokenResolver>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let project_id = target_of(&auth)?.id;
    let owner_id = auth.principal()?.user_id;
    let b: DescriptionBody = params.parse()?;
    let description = b
        .description
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("description is missing".into()))?;
    if description.chars().count() > 255 {
        return Err(ApiError::Validation(vec![(
            "description".into(),
            "is too long (maximum is 255 characters)".into(),
        )]));
    }
    let token = triggers::generate_token();
    let digest = resolver.digest(&token);
    let hint = triggers::hint_of(&token);
    let config = cfg.get_ref().clone();
    let mut view = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = triggers::create(c, project_id, owner_id, &description, &digest, &hint)?;
            one_view(c, &row, &config)
        })
        .await?;
    tracing::info!(
        project.id = project_id,
        trigger.id = view.id,
        user.id = owner_id,
        "pipeline trigger created"
    );
    view.token = token;
    Ok(HttpResponse::Created().json(view))
}

async fn update_trigger(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let project_id = target_of(&auth)?.id;
    let id = trigger_id(&req)?;
    let b: DescriptionBody = params.parse()?;
    let description = b.description.ok_or_else(|| {
        ApiError::BadRequest(
            "description is missing, at least one parameter must be provided".into(),
        )
    })?;
    if description.chars().count() > 255 {
        return Err(ApiError::Validation(vec![(
            "description".into(),
            "is too long (maximum is 255 characters)".into(),
        )]));
    }
    let config = cfg.get_ref().clone();
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let row = triggers::find(c, project_id, id)?.ok_or(TRIGGER_NOT_FOUND)?;
            let row = triggers::set_description(c, row.id, &description)
                .map_err(ApiError::missing_as("Trigger"))?;
            one_view(c, &row, &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_trigger(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let project_id = target_of(&auth)?.id;
    let id = trigger_id(&req)?;
    auth.run(move |c| -> Result<_, ApiError> {
        let row = triggers::find(c, project_id, id)?.ok_or(TRIGGER_NOT_FOUND)?;
        if !triggers::delete(c, row.id)? {
            return Err(TRIGGER_NOT_FOUND);
        }
        Ok(())
    })
    .await?;
    tracing::info!(
        project.id = project_id,
        trigger.id = id,
        "pipeline trigger deleted"
    );
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Running a pipeline with a trigger token

/// What the trigger API answers for a token that is not a trigger of this project (or a
/// project that does not exist): GitLab's bare `404 Not Found`.
fn not_found() -> HttpResponse {
    message(StatusCode::NOT_FOUND, "404 Not Found")
}

/// `variables[KEY]=value` pairs (forms, query), or `{"variables": {"KEY": "value"}}` (JSON).
fn trigger_variables(params: &Params) -> Result<Vec<(String, String, String)>, ApiError> {
    let map = params.map()?;
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    match map.get("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(vars)) => {
            for (k, v) in vars {
                let value =
                    text(v).ok_or_else(|| ApiError::BadRequest("variables is invalid".into()))?;
                given.insert(k.clone(), value);
            }
        }
        Some(_) => return Err(ApiError::BadRequest("variables is invalid".into())),
    }
    for (k, v) in map {
        if let Some(key) = k
            .strip_prefix("variables[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let value =
                text(v).ok_or_else(|| ApiError::BadRequest("variables is invalid".into()))?;
            given.insert(key.to_string(), value);
        }
    }
    given
        .into_iter()
        .map(|(k, v)| {
            if valid_key(&k) {
                Ok((k, v, "env_var".to_string()))
            } else {
                Err(ApiError::Validation(vec![(
                    "variables".into(),
                    format!("key `{k}` can contain only letters, digits and '_'."),
                )]))
            }
        })
        .collect()
}

/// The trigger and the project it runs on, when the token is a trigger of the project the
/// path names (None otherwise); a 403 when its owner may no longer run pipelines there.
fn authenticate(
    c: &mut DbConnection,
    reference: &str,
    digest: &str,
) -> Result<Option<(TriggerRow, projects::ProjectRow)>, ApiError> {
    let Some(project) = projects::find_by_ref(c, reference)? else {
        return Ok(None);
    };
    let Some(trigger) = triggers::find_by_digest(c, digest)?.filter(|t| t.project_id == project.id)
    else {
        return Ok(None);
    };
    let Some(owner) = users::find(c, trigger.owner_id)? else {
        return Ok(None);
    };
    let role = projects::project_target(c, &project, Some(owner.id))?.role;
    if owner.is_blocked() || role < OWNER_ROLE {
        return Err(ApiError::Forbidden(None));
    }
    Ok(Some((trigger, project)))
}

async fn trigger_pipeline(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    resolver: web::Data<TokenResolver>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let map = params.map()?;
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let token = text("token").ok_or_else(|| ApiError::BadRequest("token is missing".into()))?;
    let ref_name = text("ref").ok_or_else(|| ApiError::BadRequest("ref is missing".into()))?;
    let variables = trigger_variables(&params)?;
    // TODO: a running job's CI_JOB_TOKEN as `token` (multi-project pipelines).
    if !triggers::well_formed(&token) {
        return Ok(not_found());
    }
    let digest = resolver.digest(&token);
    let reference = decode(req.match_info().get("id").unwrap_or_default());
    let config = cfg.get_ref().clone();
    let outcome = auth
        .run(move |c| -> Result<_, ApiError> {
            let Some((trigger, project)) = authenticate(c, &reference, &digest)? else {
                return Ok(None);
            };
            let mut request = PipelineRequest::new(
                project.id,
                &ref_name,
                PipelineSource::Trigger,
                trigger.owner_id,
            );
            request.variables = variables;
            let site = Site::new(&config, project.id, &project.full_path);
            match create_pipeline(c, &config.repositories, &request)? {
                Created::Filtered => Ok(Some(Err(base_error(FILTERED.to_string())))),
                Created::Pipeline(row) => match row.yaml_errors.clone() {
                    Some(errors) => Ok(Some(Err(base_error(errors)))),
                    None => {
                        triggers::touch_last_used(c, trigger.id)?;
                        let view = pipeline_views::pipeline_view(c, &row, &site)?;
                        Ok(Some(Ok((trigger.id, view))))
                    }
                },
            }
        })
        .await?;
    let Some(outcome) = outcome else {
        return Ok(not_found());
    };
    let (trigger_id, view) = outcome?;
    tracing::info!(
        project.id = view.basic.project_id,
        pipeline.id = view.basic.id,
        trigger.id = trigger_id,
        "pipeline triggered"
    );
    if view.basic.status != tinforge_ci::PipelineStatus::Failed.as_str() {
        cfg.job_queue.bump();
    }
    Ok(HttpResponse::Created().json(view))
}
