//! Protected branches: the rules (exact names or `*` wildcards), how they judge a push, and the
//! GitLab REST API to manage them (`/api/v4/projects/:id/protected_branches`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Map, Value, json};
use tinforge_authz::{Role, require};
use tinforge_gate::authorized::decode;
use tinforge_gate::{Authorized, GateError, RestRoutes};
use tinforge_store::StoreError;
use tinforge_store::protected_branches::{self, NewProtectedBranch, ProtectedBranch, matches};

/// Access levels a protection accepts: no one, developers and up, maintainers and up.
pub const LEVELS: [i32; 3] = [0, 30, 40];

/// What the protections matching one branch say together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// The matching rule names, for messages.
    pub names: Vec<String>,
    /// The lowest role that may push (the most permissive matching rule), None: no one.
    pub push_role: Option<Role>,
    /// Force-pushes only when every matching rule allows them.
    pub allow_force_push: bool,
}

/// The protection of `branch` (a name without `refs/heads/`), None when unprotected.
pub fn protection<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    branch: &str,
) -> Option<Protection> {
    let hits: Vec<&Rule> = rules
        .into_iter()
        .filter(|r| matches(&r.name, branch))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let push_role = hits
        .iter()
        .filter(|r| r.push_access_level > 0)
        .filter_map(|r| Role::from_access_level(r.push_access_level))
        .min();
    Some(Protection {
        names: hits.iter().map(|r| r.name.clone()).collect(),
        push_role,
        allow_force_push: hits.iter().all(|r| r.allow_force_push),
    })
}

/// The part of a protection the push path needs, also what the hook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub push_access_level: i32,
    pub allow_force_push: bool,
}

impl From<&ProtectedBranch> for Rule {
    fn from(p: &ProtectedBranch) -> Self {
        Rule {
            name: p.name.clone(),
            push_access_level: p.push_access_level,
            allow_force_push: p.allow_force_push,
        }
    }
}

/// Rules as one environment value for the pre-receive hook: `<0|1 force>\t<name>` per line.
pub fn encode_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}",
                u8::from(r.allow_force_push),
                r.push_access_level,
                r.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn decode_rules(text: &str) -> Vec<Rule> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let force = parts.next()? == "1";
            let level = parts.next()?.parse().ok()?;
            let name = parts.next()?.to_string();
            Some(Rule {
                name,
                push_access_level: level,
                allow_force_push: force,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// REST

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/projects/{id}/protected_branches";
    let read = require!(repository:read).min_role(Role::Reporter);
    let manage = require!(repository:update).min_role(Role::Maintainer);
    r.route("GET", base, read)
        .project("id")
        .summary("List a project's protected branches")
        .to(list);
    r.route("POST", base, manage)
        .project("id")
        .summary("Protect a branch or wildcard pattern (push/merge access levels, force-push)")
        .to(create);
    let one = "/api/v4/projects/{id}/protected_branches/{name}";
    r.route("GET", one, read)
        .project("id")
        .summary("A single protected branch or wildcard")
        .to(show);
    r.route("PATCH", one, manage)
        .project("id")
        .summary("Change a protection: allow_force_push, allowed_to_push/merge access levels")
        .to(update);
    r.route("DELETE", one, manage)
        .project("id")
        .summary("Unprotect a branch or wildcard")
        .to(unprotect);
}

/// REST errors in GitLab's bodies.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("{0}")]
    BadRequest(String),
    #[error("404 Not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Gate(#[from] GateError),
}

impl From<StoreError> for RestError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => RestError::Conflict(m),
            StoreError::Invalid(m) => RestError::BadRequest(m),
            other => RestError::Gate(GateError::Store(other)),
        }
    }
}

impl ResponseError for RestError {
    fn status_code(&self) -> StatusCode {
        match self {
            RestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RestError::NotFound => StatusCode::NOT_FOUND,
            RestError::Conflict(_) => StatusCode::CONFLICT,
            RestError::Gate(g) => g.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            RestError::BadRequest(m) => json!({ "error": m }),
            RestError::NotFound => json!({ "message": "404 Not found" }),
            RestError::Conflict(m) => json!({ "message": m }),
            RestError::Gate(g) => return g.error_response(),
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}

fn level_description(level: i32) -> &'static str {
    match level {
        0 => "No one",
        30 => "Developers + Maintainers",
        40 => "Maintainers",
        60 => "Admins",
        _ => "Custom",
    }
}

fn level_view(id: i64, level: i32) -> Value {
    json!({
        "id": id,
        "access_level": level,
        "access_level_description": level_description(level),
        "deploy_key_id": null,
        "user_id": null,
        "group_id": null,
    })
}

/// GitLab's protected branch JSON.
pub fn view(p: &ProtectedBranch) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "push_access_levels": [level_view(p.id, p.push_access_level)],
        "merge_access_levels": [level_view(p.id, p.merge_access_level)],
        "unprotect_access_levels": [],
        "allow_force_push": p.allow_force_push,
        "code_owner_approval_required": false,
    })
}

fn project_id(auth: &Authorized) -> Result<i64, RestError> {
    auth.target
        .as_ref()
        .map(|t| t.id)
        .ok_or(RestError::Gate(GateError::Store(StoreError::NotFound)))
}

async fn list(auth: Authorized) -> Result<HttpResponse, RestError> {
    let id = project_id(&auth)?;
    let rows = auth
        .run(move |c| protected_branches::list(c, id).map_err(RestError::from))
        .await?;
    let items: Vec<Value> = rows.iter().map(view).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total", items.len().to_string()))
        .insert_header(("X-Page", "1"))
        .insert_header(("X-Per-Page", items.len().max(20).to_string()))
        .insert_header(("X-Total-Pages", "1"))
        .json(items))
}

fn name_param(req: &HttpRequest) -> String {
    decode(req.match_info().get("name").unwrap_or_default())
}

async fn show(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, RestError> {
    let id = project_id(&auth)?;
    let name = name_param(&req);
    let row = auth
        .run(move |c| protected_branches::find(c, id, &name).map_err(RestError::from))
        .await?
        .ok_or(RestError::NotFound)?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

async fn unprotect(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, RestError> {
    let id = project_id(&auth)?;
    let name = name_param(&req);
    let gone = auth
        .run(move |c| protected_branches::delete(c, id, &name).map_err(RestError::from))
        .await?;
    if gone {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(RestError::NotFound)
    }
}

async fn create(
    auth: Authorized,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, RestError> {
    let id = project_id(&auth)?;
    let params = params(&req, &body)?;
    let name = match params.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(RestError::BadRequest("name is missing".into()));
        }
        Some(_) => return Err(RestError::BadRequest("name is invalid".into())),
    };
    if !valid_pattern(&name) {
        return Err(RestError::BadRequest("name is invalid".into()));
    }
    let push = level(&params, "push_access_level")?;
    let merge = level(&params, "merge_access_level")?;
    let force = flag(&params, "allow_force_push")?;
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
            .map_err(RestError::from)
        })
        .await?;
    Ok(HttpResponse::Created().json(view(&row)))
}

async fn update(
    auth: Authorized,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, RestError> {
    let id = project_id(&auth)?;
    let name = name_param(&req);
    let params = params(&req, &body)?;
    let push = changed_level(&params, "allowed_to_push", "push_access_level")?;
    let merge = changed_level(&params, "allowed_to_merge", "merge_access_level")?;
    let force = match params.get("allow_force_push") {
        None | Some(Value::Null) => None,
        Some(_) => Some(flag(&params, "allow_force_push")?),
    };
    let row = auth
        .run(move |c| {
            protected_branches::update(c, id, &name, push, merge, force).map_err(RestError::from)
        })
        .await?
        .ok_or(RestError::NotFound)?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

/// A new access level from GitLab's `allowed_to_push: [{"access_level": 30}]` (the first entry
/// with one) or the `push_access_level` shorthand; None when neither is given.
fn changed_level(
    params: &Map<String, Value>,
    list_key: &str,
    key: &str,
) -> Result<Option<i32>, RestError> {
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

fn level(params: &Map<String, Value>, key: &str) -> Result<i32, RestError> {
    let invalid = || RestError::BadRequest(format!("{key} does not have a valid value"));
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

fn flag(params: &Map<String, Value>, key: &str) -> Result<bool, RestError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(RestError::BadRequest(format!("{key} is invalid"))),
        },
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(_) => Err(RestError::BadRequest(format!("{key} is invalid"))),
    }
}

/// Query string, then a JSON or form body, merged as GitLab does; credentials are no parameters.
pub(crate) fn params(req: &HttpRequest, body: &[u8]) -> Result<Map<String, Value>, RestError> {
    let mut map = Map::new();
    let mut pairs = |encoded: &str| -> Result<(), RestError> {
        let list: Vec<(String, String)> = serde_urlencoded::from_str(encoded)
            .map_err(|_| RestError::BadRequest("malformed parameters".into()))?;
        for (k, v) in list {
            map.insert(k, Value::String(v));
        }
        Ok(())
    };
    pairs(req.query_string())?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if body.iter().any(|b| !b.is_ascii_whitespace()) {
        if content_type.contains("x-www-form-urlencoded") {
            pairs(&String::from_utf8_lossy(body))?;
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => map.extend(m),
                Ok(_) => {
                    return Err(RestError::BadRequest(
                        "the request body must be a JSON object".into(),
                    ));
                }
                Err(e) => return Err(RestError::BadRequest(format!("malformed JSON body: {e}"))),
            }
        }
    }
    map.remove("private_token");
    map.remove("access_token");
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, level: i32, force: bool) -> Rule {
        Rule {
            name: name.into(),
            push_access_level: level,
            allow_force_push: force,
        }
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        assert!(matches("main", "main"));
        assert!(!matches("main", "main2"));
        assert!(matches("release/*", "release/1.0"));
        assert!(matches("release/*", "release/a/b"));
        assert!(!matches("release/*", "releases/1"));
        assert!(matches("*-stable", "13-stable"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn the_most_permissive_push_level_and_the_strictest_force_rule_win() {
        let rules = [
            rule("main", 40, true),
            rule("*", 30, false),
            rule("rel*", 0, true),
        ];
        let p = protection(&rules, "main").unwrap();
        assert_eq!(p.push_role, Some(Role::Developer));
        assert!(!p.allow_force_push);
        assert_eq!(protection(&rules[..1], "dev"), None);
        let p = protection(&rules[2..], "release").unwrap();
        assert_eq!(p.push_role, None);
        assert!(p.allow_force_push);
        assert_eq!(decode_rules(&encode_rules(&rules)), rules.to_vec());
    }

    #[test]
    fn patterns_are_checked() {
        assert!(valid_pattern("release/*"));
        assert!(valid_pattern("main"));
        assert!(!valid_pattern("a..b"));
        assert!(!valid_pattern("-x"));
        assert!(!valid_pattern("a b"));
    }
}
