//! Protected branches over REST (`/api/v4/projects/:id/protected_branches`): list, protect a
//! branch or `*` wildcard pattern with push/merge access levels and force-push, change and
//! unprotect. Reading needs `repository:read` (Reporter); managing `repository:update`
//! (Maintainer). Pushes meet these rules in the git surface and in the gate's branch checks.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::issues::project_target;
use crate::pagination::{self, Page};
use crate::params::Params;
use crate::repo_context::path_param;
use crate::repository_views::ProtectedBranch;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};
use tinforge_authz::{Role, require};
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::StoreError;
use tinforge_store::protected_branches::{self, NewProtectedBranch};

/// Access levels a protection accepts: no one, developers and up, maintainers and up.
const LEVELS: [i32; 3] = [0, 30, 40];

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/projects/{id}/protected_branches";
    let read = require!(repository:read).min_role(Role::Reporter);
    let manage = require!(repository:update).min_role(Role::Maintainer);
    r.route("GET", base, read)
        .project("id")
        .summary("List a project's protected branches")
        .returns_list::<ProtectedBranch>()
        .to(list);
    r.route("POST", base, manage)
        .project("id")
        .summary("Protect a branch or wildcard pattern (push/merge access levels, force-push)")
        .returns::<ProtectedBranch>()
        .to(create);
    let one = "/api/v4/projects/{id}/protected_branches/{name}";
    r.route("GET", one, read)
        .project("id")
        .summary("A single protected branch or wildcard")
        .returns::<ProtectedBranch>()
        .to(show);
    r.route("PATCH", one, manage)
        .project("id")
        .summary("Change a protection: allow_force_push, allowed_to_push/merge access levels")
        .returns::<ProtectedBranch>()
        .to(update);
    r.route("DELETE", one, manage)
        .project("id")
        .summary("Unprotect a branch or wildcard")
        .to(unprotect);
}

/// GitLab's `404 Not found` for a name no protection has.
fn not_found() -> ApiError {
    ApiError::Store(StoreError::NotFound)
}

async fn list(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = project_target(&auth)?.id;
    let page = Page::from_params(&params)?;
    let rows = auth.run(move |c| protected_branches::list(c, id)).await?;
    let (total, rows) = page.cut(rows.iter().map(ProtectedBranch::from));
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &rows,
    ))
}

async fn show(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let id = project_target(&auth)?.id;
    let name = path_param(&req, "name");
    let row = auth
        .run(move |c| protected_branches::find(c, id, &name))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(ProtectedBranch::from(&row)))
}

async fn unprotect(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let id = project_target(&auth)?.id;
    let name = path_param(&req, "name");
    let gone = auth
        .run(move |c| protected_branches::delete(c, id, &name))
        .await?;
    if gone {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}

async fn create(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let id = project_target(&auth)?.id;
    let params = params.map()?;
    let name = match params.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ApiError::BadRequest("name is missing".into()));
        }
        Some(_) => return Err(ApiError::BadRequest("name is invalid".into())),
    };
    if !valid_pattern(&name) {
        return Err(ApiError::BadRequest("name is invalid".into()));
    }
    let push = level(params, "push_access_level")?;
    let merge = level(params, "merge_access_level")?;
    let force = strict_flag(params, "allow_force_push")?;
    let row = auth
        .run(move |c| {
            protected_branches::create(
                c,
                &NewProtectedBranch {
                    project_id: id,
                    name: &name,
                    push_access_level: push,
                    merge_access_level: merge,
                    allow_force_push: force,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(ProtectedBranch::from(&row)))
}

async fn update(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let id = project_target(&auth)?.id;
    let name = path_param(&req, "name");
    let params = params.map()?;
    let push = changed_level(params, "allowed_to_push", "push_access_level")?;
    let merge = changed_level(params, "allowed_to_merge", "merge_access_level")?;
    let force = match params.get("allow_force_push") {
        None | Some(Value::Null) => None,
        Some(_) => Some(strict_flag(params, "allow_force_push")?),
    };
    let row = auth
        .run(move |c| protected_branches::update(c, id, &name, push, merge, force))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(ProtectedBranch::from(&row)))
}

/// A new access level from GitLab's `allowed_to_push: [{"access_level": 30}]` (the first entry
/// with one) or the `push_access_level` shorthand; None when neither is given.
fn changed_level(
    params: &Map<String, Value>,
    list_key: &str,
    key: &str,
) -> Result<Option<i32>, ApiError> {
    if let Some(Value::Array(items)) = params.get(list_key) {
        let given = items.iter().find_map(|i| i.get("access_level")).cloned();
        if let Some(level_value) = given {
            let mut one = Map::new();
            one.insert(list_key.to_string(), level_value);
            return level(&one, list_key).map(Some);
        }
        return Ok(None);
    }
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => level(params, key).map(Some),
    }
}

/// A branch name or pattern: what git allows in a branch name, plus `*`.
fn valid_pattern(name: &str) -> bool {
    name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name
            .bytes()
            .all(|b| b > b' ' && b != 0x7f && !b"~^:?[\\".contains(&b))
}

/// An access level among [`LEVELS`] (Maintainers when absent).
fn level(params: &Map<String, Value>, key: &str) -> Result<i32, ApiError> {
    let invalid = || ApiError::BadRequest(format!("{key} does not have a valid value"));
    let value = match params.get(key) {
        None | Some(Value::Null) => return Ok(40),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid)?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| invalid())?,
        Some(_) => return Err(invalid()),
    };
    let value = i32::try_from(value).map_err(|_| invalid())?;
    if LEVELS.contains(&value) {
        Ok(value)
    } else {
        Err(invalid())
    }
}

/// A boolean that must be one (400 `<key> is invalid` otherwise); false when absent.
fn strict_flag(params: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    let invalid = || ApiError::BadRequest(format!("{key} is invalid"));
    match params.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(invalid()),
        },
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked() {
        assert!(valid_pattern("release/*"));
        assert!(valid_pattern("main"));
        assert!(!valid_pattern("a..b"));
        assert!(!valid_pattern("-x"));
        assert!(!valid_pattern("a b"));
    }
}
