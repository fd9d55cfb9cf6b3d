//! `/user` and `/users`: the current user, profiles, and admin user management.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views::{self, UserDetail};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::require;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::users::{self, NewUser, STATE_ACTIVE, STATE_BLOCKED, UserFilter};

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/user", require!(user:read))
        .summary("The authenticated user")
        .returns::<views::UserView>()
        .to(current_user);
    r.route("GET", "/api/v4/users", require!(user:read))
        .summary("List users")
        .returns_list::<views::UserView>()
        .to(list_users);
    r.route("POST", "/api/v4/users", require!(user:create).admin_only())
        .summary("Create a user (admin)")
        .returns::<views::UserView>()
        .to(create_user);
    r.route("GET", "/api/v4/users/{user_id}", require!(user:read))
        .summary("A single user")
        .returns::<views::UserView>()
        .to(get_user);
    r.route(
        "POST",
        "/api/v4/users/{user_id}/block",
        require!(user:update).admin_only(),
    )
    .summary("Block a user (admin); their tokens stop at once")
    .returns::<bool>()
    .to(block_user);
    r.route(
        "POST",
        "/api/v4/users/{user_id}/unblock",
        require!(user:update).admin_only(),
    )
    .summary("Unblock a user (admin)")
    .returns::<bool>()
    .to(unblock_user);
}

async fn current_user(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.principal()?.user_id;
    let user = auth
        .run(move |c| users::find(c, id))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(views::user(&user, &cfg, UserDetail::Full)))
}

#[derive(Deserialize)]
struct ListQuery {
    username: Option<String>,
    search: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    blocked: Option<bool>,
}

async fn list_users(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let filter = UserFilter {
        username: q.username,
        search: q.search,
        state: match (q.active, q.blocked) {
            (_, Some(true)) => Some(STATE_BLOCKED),
            (Some(true), _) => Some(STATE_ACTIVE),
            _ => None,
        },
    };
    let (list, total) = auth
        .run(move |c| users::list(c, &filter, page.offset(), page.limit()))
        .await?;
    let viewer = auth.principal.as_ref();
    let items: Vec<_> = list
        .iter()
        .map(|u| views::user(u, &cfg, UserDetail::for_viewer(viewer, u)))
        .collect();
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

/// The user named by the path: numeric ids only, as GitLab.
fn user_id(path: &str) -> Result<i64, ApiError> {
    path.parse().map_err(|_| ApiError::NotFound("User"))
}

async fn get_user(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let user = auth
        .run(move |c| users::find(c, id))
        .await?
        .ok_or(ApiError::NotFound("User"))?;
    let detail = UserDetail::for_viewer(auth.principal.as_ref(), &user);
    Ok(HttpResponse::Ok().json(views::user(&user, &cfg, detail)))
}

#[derive(Deserialize)]
struct CreateUser {
    username: String,
    email: String,
    name: Option<String>,
    password: String,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    admin: Option<bool>,
}

async fn create_user(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: CreateUser = params.parse()?;
    let new_name = body.name.clone().unwrap_or_else(|| body.username.clone());
    let problems = users::validate(&NewUser {
        username: &body.username,
        email: &body.email,
        name: &new_name,
        password: &body.password,
        is_admin: false,
    });
    if !problems.is_empty() {
        return Err(ApiError::Validation(
            problems
                .into_iter()
                .map(|(f, m)| (f.to_string(), m))
                .collect(),
        ));
    }
    let user = auth
        .run(move |c| {
            users::create(
                c,
                &NewUser {
                    username: &body.username,
                    email: &body.email,
                    name: &new_name,
                    password: &body.password,
                    is_admin: body.admin.unwrap_or(false),
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(views::user(&user, &cfg, UserDetail::Full)))
}

async fn block_user(auth: Authorized, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    set_state(auth, &path, STATE_BLOCKED).await
}

async fn unblock_user(auth: Authorized, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    set_state(auth, &path, STATE_ACTIVE).await
}

async fn set_state(
    auth: Authorized,
    path: &str,
    state: &'static str,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(path)?;
    auth.run(move |c| -> Result<_, ApiError> {
        users::set_state(c, id, state).map_err(ApiError::missing_as("User"))
    })
    .await?;
    Ok(HttpResponse::Created().json(true))
}
