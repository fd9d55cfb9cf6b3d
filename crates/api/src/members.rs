//! Members of projects and groups, GitLab v4 shapes, the same routes under `/projects/{id}` and
//! `/groups/{id}`: list (direct, or `all` with inherited memberships, the highest role winning),
//! get, add, change and remove. Managing members needs Maintainer; granting Owner, or changing or
//! removing an Owner, needs Owner. A group never loses its last owner.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::projects::opt_ref;
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use tinforge_authz::{RaiseTo, Role, RoleRaise, Target, require};
use tinforge_gate::routes::RouteDecl;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::StoreError;
use tinforge_store::members::{self, Member, Source};
use tinforge_store::namespaces::WriteError;
use tinforge_store::users;

/// The route's target: the project or the group named by `{id}`.
fn on(d: RouteDecl<'_>, project: bool) -> RouteDecl<'_> {
    if project {
        d.project("id")
    } else {
        d.group("id")
    }
}

/// Only an Owner may make, change or remove an Owner, as at GitLab.
const OWNER_FOR_OWNERS: RoleRaise = RoleRaise::new(
    "access_level is Owner, or the member is an Owner",
    RaiseTo::Role(Role::Owner),
);

pub fn declare(r: &mut RestRoutes) {
    for (base, project) in [
        ("/api/v4/projects/{id}", true),
        ("/api/v4/groups/{id}", false),
    ] {
        on(
            r.route("GET", &format!("{base}/members"), require!(member:read)),
            project,
        )
        .summary("Direct members")
        .returns_list::<views::MemberView>()
        .to(list_direct);
        on(
            r.route("GET", &format!("{base}/members/all"), require!(member:read)),
            project,
        )
        .summary("Members, inherited ones included (the highest role wins)")
        .returns_list::<views::MemberView>()
        .to(list_all);
        on(
            r.route(
                "GET",
                &format!("{base}/members/all/{{user_id}}"),
                require!(member:read),
            ),
            project,
        )
        .summary("A member, inherited memberships included")
        .returns::<views::MemberView>()
        .to(get_effective);
        on(
            r.route(
                "GET",
                &format!("{base}/members/{{user_id}}"),
                require!(member:read),
            ),
            project,
        )
        .summary("A direct member")
        .returns::<views::MemberView>()
        .to(get_direct);
        on(
            r.route(
                "POST",
                &format!("{base}/members"),
                require!(member:create)
                    .min_role(Role::Maintainer)
                    .raised(&[OWNER_FOR_OWNERS]),
            ),
            project,
        )
        .summary("Add a member (granting Owner needs Owner)")
        .returns::<views::MemberView>()
        .to(add_member);
        on(
            r.route(
                "PUT",
                &format!("{base}/members/{{user_id}}"),
                require!(member:update)
                    .min_role(Role::Maintainer)
                    .raised(&[OWNER_FOR_OWNERS]),
            ),
            project,
        )
        .summary("Change a member's role (Owner roles need Owner)")
        .returns::<views::MemberView>()
        .to(update_member);
        on(
            r.route(
                "DELETE",
                &format!("{base}/members/{{user_id}}"),
                require!(member:delete)
                    .min_role(Role::Maintainer)
                    .raised(&[OWNER_FOR_OWNERS]),
            ),
            project,
        )
        .summary("Remove a member (an Owner needs Owner; never the last owner of a group)")
        .to(remove_member);
    }
}

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target.clone().ok_or(ApiError::NotFound("Project"))
}

const MEMBER_NOT_FOUND: ApiError = ApiError::NotFound("Member");

/// The `{user_id}` of the path: a numeric id.
fn user_id_of(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("user_id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::BadRequest("user_id is invalid".into()))
}

#[derive(Deserialize)]
struct ListQuery {
    query: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    user_ids: Option<Vec<String>>,
}

async fn list_direct(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(auth, cfg, params, req, false).await
}

async fn list_all(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(auth, cfg, params, req, true).await
}

async fn list(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
    inherited: bool,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let ids: Option<Vec<i64>> = q
        .user_ids
        .map(|list| {
            list.iter()
                .map(|s| s.parse::<i64>())
                .collect::<Result<_, _>>()
                .map_err(|_| ApiError::BadRequest("user_ids is invalid".into()))
        })
        .transpose()?;
    let needle = q.query.map(|s| s.to_lowercase()).filter(|s| !s.is_empty());
    let source = Source::of(&target_of(&auth)?);
    let all = auth
        .run(move |c| {
            if inherited {
                members::list_all(c, source)
            } else {
                members::list_direct(c, source)
            }
        })
        .await?;
    let matching: Vec<&Member> = all
        .iter()
        .filter(|m| ids.as_ref().is_none_or(|ids| ids.contains(&m.user.id)))
        .filter(|m| {
            needle.as_ref().is_none_or(|n| {
                m.user.username.to_lowercase().contains(n) || m.user.name.to_lowercase().contains(n)
            })
        })
        .collect();
    let items: Vec<views::MemberView> = matching
        .iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(|m| views::member(m, &cfg))
        .collect();
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        matching.len() as i64,
        &items,
    ))
}

async fn get_direct(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    get(auth, cfg, req, false).await
}

async fn get_effective(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    get(auth, cfg, req, true).await
}

async fn get(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
    inherited: bool,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_of(&req)?;
    let source = Source::of(&target_of(&auth)?);
    let m = auth
        .run(move |c| {
            if inherited {
                members::find_effective(c, source, user_id)
            } else {
                members::find_direct(c, source, user_id)
            }
        })
        .await?
        .ok_or(MEMBER_NOT_FOUND)?;
    Ok(HttpResponse::Ok().json(views::member(&m, &cfg)))
}

/// `access_level`: required, one of 10, 20, 30, 40, 50 (as a number or a string).
fn access_level(v: Option<&Value>) -> Result<Role, ApiError> {
    let invalid = || ApiError::BadRequest("access_level does not have a valid value".into());
    let n = match v {
        None | Some(Value::Null) => {
            return Err(ApiError::BadRequest("access_level is missing".into()));
        }
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid)?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| invalid())?,
        Some(_) => return Err(invalid()),
    };
    i32::try_from(n)
        .ok()
        .and_then(Role::from_access_level)
        .filter(|r| *r > Role::None)
        .ok_or_else(invalid)
}

/// `expires_at`: absent/null, or a date (`YYYY-MM-DD`) after today.
fn expires_at(v: Option<&Value>) -> Result<Option<Option<NaiveDate>>, ApiError> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => {
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::BadRequest("expires_at is invalid".into()))?;
            if d <= chrono::Utc::now().date_naive() {
                return Err(ApiError::Validation(vec![(
                    "expires_at".into(),
                    "cannot be a date in the past".into(),
                )]));
            }
            Ok(Some(Some(d)))
        }
        Some(_) => Err(ApiError::BadRequest("expires_at is invalid".into())),
    }
}

/// A store refusal of a membership change in REST form.
fn member_write_error(e: WriteError, missing: ApiError) -> ApiError {
    match e {
        WriteError::Store(StoreError::NotFound) => missing,
        other => crate::projects::write_error(other),
    }
}

#[derive(Deserialize)]
struct AddBody {
    #[serde(default, deserialize_with = "opt_ref")]
    user_id: Option<String>,
    username: Option<String>,
}

async fn add_member(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: AddBody = params.parse()?;
    let role = access_level(params.get("access_level"))?;
    let expiry = expires_at(params.get("expires_at"))?.flatten();
    let who = match (body.user_id, body.username) {
        (Some(id), _) => {
            id.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("user_id is invalid".into()))?;
            id
        }
        (None, Some(name)) if !name.trim().is_empty() => name.trim().to_string(),
        _ => {
            return Err(ApiError::BadRequest(
                "user_id, username are missing, exactly one parameter must be provided".into(),
            ));
        }
    };
    let target = target_of(&auth)?;
    if role == Role::Owner {
        auth.raise(&OWNER_FOR_OWNERS)?;
    }
    let source = Source::of(&target);
    let m = auth
        .run(move |c| -> Result<_, ApiError> {
            let user = users::find_by_ref(c, &who)?.ok_or(ApiError::NotFound("User"))?;
            members::add(c, source, user.id, role, expiry)
                .map_err(|e| member_write_error(e, ApiError::NotFound("User")))
        })
        .await?;
    tracing::info!(member.user_id = m.user.id, access_level = m.role.access_level(), target = %target.full_path, "member added");
    Ok(HttpResponse::Created().json(views::member(&m, &cfg)))
}

async fn update_member(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_of(&req)?;
    let role = access_level(params.map()?.get("access_level"))?;
    let expiry = expires_at(params.get("expires_at"))?;
    let target = target_of(&auth)?;
    let source = Source::of(&target);
    let judge = auth.judge();
    let m = auth
        .run(move |c| -> Result<_, ApiError> {
            let current = members::find_direct(c, source, user_id)?.ok_or(MEMBER_NOT_FOUND)?;
            if role == Role::Owner || current.role == Role::Owner {
                judge.raise_on(&OWNER_FOR_OWNERS, &target)?;
            }
            members::update(c, source, user_id, role, expiry)
                .map_err(|e| member_write_error(e, MEMBER_NOT_FOUND))
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::member(&m, &cfg)))
}

async fn remove_member(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_of(&req)?;
    let target = target_of(&auth)?;
    let source = Source::of(&target);
    let judge = auth.judge();
    let kind = target.kind;
    auth.run(move |c| -> Result<_, ApiError> {
        let current = members::find_direct(c, source, user_id)?.ok_or(MEMBER_NOT_FOUND)?;
        if current.role == Role::Owner {
            judge.raise_on(&OWNER_FOR_OWNERS, &target)?;
        }
        members::remove(c, source, user_id).map_err(|e| member_write_error(e, MEMBER_NOT_FOUND))
    })
    .await?;
    tracing::info!(member.user_id = user_id, kind = ?kind, "member removed");
    Ok(HttpResponse::NoContent().finish())
}
