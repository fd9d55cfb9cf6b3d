//! The personal access tokens page (`/-/user_settings/personal_access_tokens`): every token of
//! the signed-in user with its boundary, its exact C R U D grid coloured by use, legacy scopes,
//! dates and over-privilege flags; rotate, revoke (confirmed) and "trim to used" (previewed);
//! and the "Add new token" form. A token's value is shown once, on the page that creates it.

use crate::WebConfig;
use crate::error::WebError;
use crate::pages::{
    ActionOption, CellState, ConfirmPage, GridCell, GridRow, ResourceActions, ScopeOption,
    TokenForm, TokenValuePage, TokenView, TokensPage,
};
use crate::session::{Form, nav, render, render_status, see_other};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tinforge_authz::{Action, Boundary, LegacyScope, Permission, Principal, Resource, require};
use tinforge_gate::issue::{self, GrantRequest, IssueError, TokenRequest};
use tinforge_gate::least_privilege::{self, Assessment};
use tinforge_gate::{Authorized, GateState, RestRoutes, usage};
use tinforge_store::members::Viewer;
use tinforge_store::tokens::{self, TokenRecord, TokenRights};
use tinforge_store::{DbConnection, StoreError, groups, projects, users};

const BASE: &str = "/-/user_settings/personal_access_tokens";

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", BASE, require!(personal_access_token:read))
        .summary("Your tokens: boundary, permission grid, use and over-privilege flags")
        .to(tokens_page);
    r.route("POST", BASE, require!(personal_access_token:create))
        .summary("Create a token from the form; its value is shown once")
        .to(create_token);
    r.route("GET", &format!("{BASE}/targets"), require!(project:read))
        .summary("Projects and groups you can name in a selected boundary, by search")
        .to(search_targets);
    r.route(
        "POST",
        &format!("{BASE}/{{token_id}}/rotate"),
        require!(personal_access_token:update),
    )
    .summary("Rotate a token; the new value is shown once")
    .to(rotate_token);
    r.route(
        "GET",
        &format!("{BASE}/{{token_id}}/revoke"),
        require!(personal_access_token:read),
    )
    .summary("Confirm revoking a token")
    .to(confirm_revoke);
    r.route(
        "POST",
        &format!("{BASE}/{{token_id}}/revoke"),
        require!(personal_access_token:delete),
    )
    .summary("Revoke a token")
    .to(revoke_token);
    r.route(
        "GET",
        &format!("{BASE}/{{token_id}}/trim"),
        require!(personal_access_token:read),
    )
    .summary("Preview trimming a token to what it used")
    .to(preview_trim);
    r.route(
        "POST",
        &format!("{BASE}/{{token_id}}/trim"),
        require!(personal_access_token:update),
    )
    .summary("Trim a token to what it used in the last 30 days; the new value is shown once")
    .to(trim_token);
}

/// The signed-in user's own token `id` (other people's tokens do not exist here).
fn own_token(c: &mut DbConnection, p: &Principal, id: i64) -> Result<TokenRecord, WebError> {
    tokens::get(c, id)?
        .filter(|t| t.row.user_id == p.user_id)
        .ok_or(WebError::NotFound("This token does not exist."))
}

fn token_id(path: &str) -> Result<i64, WebError> {
    path.parse()
        .map_err(|_| WebError::NotFound("This token does not exist."))
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

async fn tokens_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let p = auth.principal()?.clone();
    let mut nav = nav(&req, &gate, Some(&p));
    nav.flash = match query.notice.as_deref() {
        Some("revoked") => Some("The token was revoked.".into()),
        _ => None,
    };
    let form = TokenForm {
        expires_at: default_expiry(&cfg).to_string(),
        max_expires_at: max_expiry(&cfg).to_string(),
        token_type: "fine_grained".into(),
        boundary: "personal_projects".into(),
        ..TokenForm::default()
    };
    let page = auth.run(move |c| tokens_page_for(c, &p, nav, form)).await?;
    render(&page)
}

fn default_expiry(cfg: &WebConfig) -> NaiveDate {
    // GitLab's form suggests a month; the instance's maximum caps it.
    let today = Utc::now().date_naive();
    (today + chrono::Duration::days(30)).min(max_expiry(cfg))
}

fn max_expiry(cfg: &WebConfig) -> NaiveDate {
    cfg.token_policy.default_expiry()
}

fn tokens_page_for(
    c: &mut DbConnection,
    p: &Principal,
    nav: crate::pages::Nav,
    form: TokenForm,
) -> Result<TokensPage, WebError> {
    usage::flush()?;
    let today = Utc::now().date_naive();
    let mut views = Vec::new();
    for t in tokens::list(c, Some(p.user_id))? {
        let assessment = least_privilege::assess(c, &t, today)?;
        views.push(token_view(c, &t, &assessment, today)?);
    }
    views.reverse();
    Ok(TokensPage {
        nav,
        tokens: views,
        form,
        resources: resource_options(),
        legacy_scopes: scope_options(),
    })
}

fn token_view(
    c: &mut DbConnection,
    t: &TokenRecord,
    assessment: &Assessment,
    today: NaiveDate,
) -> Result<TokenView, StoreError> {
    let row = &t.row;
    let fine_grained = row.kind == tokens::KIND_FINE_GRAINED;
    let (boundary, targets) = if fine_grained {
        describe_boundaries(c, &t.grants)?
    } else {
        ("everything you can reach".to_string(), Vec::new())
    };
    let status = if row.revoked_at.is_some() {
        "revoked"
    } else if row.is_expired(today) {
        "expired"
    } else {
        "active"
    };
    Ok(TokenView {
        id: row.id,
        name: row.name.clone(),
        kind: row.kind.clone(),
        kind_label: if fine_grained {
            "Fine-grained"
        } else {
            "Legacy"
        }
        .into(),
        boundary,
        targets,
        grid: if fine_grained {
            grid(assessment)
        } else {
            Vec::new()
        },
        scopes: row
            .legacy_scopes()
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        created_at: row.created_at.format("%Y-%m-%d").to_string(),
        expires_at: row.expires_at.to_string(),
        last_used_at: row
            .last_used_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        active: status == "active",
        status: status.into(),
        flags: if status == "active" {
            assessment.flags.clone()
        } else {
            Vec::new()
        },
        rotate_url: format!("{BASE}/{}/rotate", row.id),
        trim_url: format!("{BASE}/{}/trim", row.id),
        revoke_url: format!("{BASE}/{}/revoke", row.id),
    })
}

/// "personal projects", "selected" with its targets' full paths, or several grants' boundaries.
fn describe_boundaries(
    c: &mut DbConnection,
    grants: &[tinforge_authz::Grant],
) -> Result<(String, Vec<String>), StoreError> {
    let mut names = Vec::new();
    let mut targets = Vec::new();
    for g in grants {
        let name = match &g.boundary {
            Boundary::PersonalProjects => "personal projects",
            Boundary::AllMemberships => "all memberships",
            Boundary::Selected {
                projects: ps,
                groups: gs,
            } => {
                for id in ps {
                    if let Some(p) = projects::find(c, *id)? {
                        targets.push(p.full_path);
                    }
                }
                for id in gs {
                    if let Some(g) = groups::find(c, *id)? {
                        targets.push(format!("{} (group)", g.full_path));
                    }
                }
                "selected"
            }
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok((names.join(" + "), targets))
}

/// The C R U D grid of a fine-grained token, each cell coloured by its use.
fn grid(a: &Assessment) -> Vec<GridRow> {
    Resource::ALL
        .iter()
        .map(|r| GridRow {
            resource: r.as_str().into(),
            cells: Action::ALL
                .iter()
                .map(|act| {
                    let p = Permission::new(*r, *act);
                    let state = if !p.is_grantable() {
                        CellState::NotApplicable
                    } else if !a.held.contains(&p) {
                        CellState::NotGranted
                    } else if a.recently_used(p) {
                        CellState::Used
                    } else {
                        CellState::Unused
                    };
                    GridCell {
                        action: act.as_str().into(),
                        letter: act.as_str()[..1].to_uppercase(),
                        state,
                    }
                })
                .collect(),
        })
        .collect()
}

fn resource_options() -> Vec<ResourceActions> {
    Resource::ALL
        .iter()
        .map(|r| ResourceActions {
            resource: r.as_str().into(),
            label: r.as_str().replace('_', " "),
            actions: Action::ALL
                .iter()
                .map(|a| ActionOption {
                    action: a.as_str().into(),
                    value: Permission::new(*r, *a).to_string(),
                    available: Permission::new(*r, *a).is_grantable(),
                })
                .collect(),
        })
        .collect()
}

fn scope_options() -> Vec<ScopeOption> {
    LegacyScope::ALL
        .iter()
        .map(|s| ScopeOption {
            name: s.as_str().into(),
            description: scope_description(*s).into(),
        })
        .collect()
}

fn scope_description(s: LegacyScope) -> &'static str {
    match s {
        LegacyScope::Api => "Full read and write access to the API, git and the registry.",
        LegacyScope::ReadApi => "Read access to the API.",
        LegacyScope::ReadUser => "Read your profile.",
        LegacyScope::ReadRepository => "Clone and fetch over git.",
        LegacyScope::WriteRepository => "Clone, fetch and push over git.",
        LegacyScope::ReadRegistry => "Pull container images.",
        LegacyScope::WriteRegistry => "Push container images.",
        LegacyScope::CreateRunner => "Create runners.",
        LegacyScope::ManageRunner => "Manage runners.",
        LegacyScope::SelfRotate => "Rotate this token.",
        LegacyScope::Sudo => "Act as another user (admins).",
        LegacyScope::AdminMode => "Admin operations (admins).",
    }
}

/// Splits a comma-separated list of full paths or ids.
fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn create_token(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::posted(&req, &gate, &body)?;
    let p = auth.principal()?.clone();
    let posted = TokenForm {
        name: form.get("name").to_string(),
        expires_at: form.get("expires_at").to_string(),
        max_expires_at: max_expiry(&cfg).to_string(),
        token_type: form.get("token_type").to_string(),
        boundary: form.get("boundary").to_string(),
        projects: form.get("projects").to_string(),
        groups: form.get("groups").to_string(),
        checked: form.all("permissions"),
        scopes: form.all("scopes"),
        error: None,
    };
    let nav = nav(&req, &gate, Some(&p));
    let resolver = gate.resolver.clone();
    let policy = cfg.token_policy;
    let outcome = auth
        .run(
            move |c| -> Result<Result<TokenValuePage, TokensPage>, WebError> {
                match issue_from_form(c, &resolver, &policy, &p, &posted) {
                    Ok((_, secret, expires_at)) => Ok(Ok(TokenValuePage {
                        nav,
                        heading: "Your new personal access token".into(),
                        name: posted.name.trim().to_string(),
                        value: secret,
                        expires_at: expires_at.to_string(),
                    })),
                    Err(IssueError::Store(e)) => Err(e.into()),
                    Err(IssueError::Invalid(m) | IssueError::Escalation(m)) => {
                        let form = TokenForm {
                            error: Some(m),
                            ..posted
                        };
                        Ok(Err(tokens_page_for(c, &p, nav, form)?))
                    }
                }
            },
        )
        .await?;
    match outcome {
        Ok(created) => render_status(StatusCode::CREATED, &created),
        Err(with_error) => render_status(StatusCode::UNPROCESSABLE_ENTITY, &with_error),
    }
}

/// Validates the form the way the REST API validates a create request, and issues the token.
fn issue_from_form(
    c: &mut DbConnection,
    resolver: &tinforge_gate::TokenResolver,
    policy: &issue::TokenPolicy,
    p: &Principal,
    form: &TokenForm,
) -> Result<(i64, String, NaiveDate), IssueError> {
    let owner = users::find(c, p.user_id)?.ok_or(StoreError::NotFound)?;
    let expires_at = match form.expires_at.trim() {
        "" => policy.default_expiry(),
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            IssueError::Invalid("Expiration date must be a date (YYYY-MM-DD)".into())
        })?,
    };
    let rights = match form.token_type.as_str() {
        "legacy" => {
            if form.scopes.is_empty() {
                return Err(IssueError::Invalid("Choose at least one scope".into()));
            }
            TokenRights::Legacy(
                LegacyScope::parse_list(&form.scopes.join(","))
                    .map_err(|e| IssueError::Invalid(format!("Unknown scope: {e}")))?,
            )
        }
        _ => {
            if form.checked.is_empty() {
                return Err(IssueError::Invalid("Choose at least one permission".into()));
            }
            let boundary = match form.boundary.as_str() {
                "" => "personal_projects".to_string(),
                b => b.to_string(),
            };
            let selected = boundary == "selected";
            let request = GrantRequest {
                boundary,
                projects: if selected {
                    split_list(&form.projects)
                } else {
                    Vec::new()
                },
                groups: if selected {
                    split_list(&form.groups)
                } else {
                    Vec::new()
                },
                permissions: form.checked.clone(),
            };
            TokenRights::FineGrained(issue::resolve_grants(c, &owner, &[request])?)
        }
    };
    let (id, secret) = issue::issue(
        c,
        resolver,
        policy,
        Some(p),
        &TokenRequest {
            user_id: owner.id,
            name: &form.name,
            description: "",
            rights,
            expires_at,
        },
    )?;
    tracing::info!(
        token.id = id,
        user.id = owner.id,
        "token created from the web"
    );
    Ok((id, secret, expires_at))
}

async fn rotate_token(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    Form::posted(&req, &gate, &body)?;
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let nav = nav(&req, &gate, Some(&p));
    let resolver = gate.resolver.clone();
    let policy = cfg.token_policy;
    let page = auth
        .run(move |c| -> Result<TokenValuePage, WebError> {
            let old = own_token(c, &p, id)?;
            let (new_id, secret) = issue::rotate(c, &resolver, &policy, Some(&p), &old, None)?;
            let new = tokens::get(c, new_id)?.ok_or(StoreError::NotFound)?;
            Ok(TokenValuePage {
                nav,
                heading: "Your rotated personal access token".into(),
                name: new.row.name,
                value: secret,
                expires_at: new.row.expires_at.to_string(),
            })
        })
        .await?;
    render(&page)
}

async fn confirm_revoke(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let nav = nav(&req, &gate, Some(&p));
    let token = auth.run(move |c| own_token(c, &p, id)).await?;
    render(&ConfirmPage {
        nav,
        heading: format!("Revoke token “{}”?", token.row.name),
        message: "Anything using this token stops working at once, on every instance. This \
                  cannot be undone."
            .into(),
        details: Vec::new(),
        removed: Vec::new(),
        kept: Vec::new(),
        action_url: format!("{BASE}/{id}/revoke"),
        button_label: "Revoke token".into(),
        danger: true,
        cancel_url: BASE.into(),
    })
}

async fn revoke_token(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    Form::posted(&req, &gate, &body)?;
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    auth.run(move |c| -> Result<(), WebError> {
        own_token(c, &p, id)?;
        if !issue::revoke(c, Some(&p), id)? {
            return Err(WebError::Unprocessable(
                "This token was already revoked.".into(),
            ));
        }
        tracing::info!(token.id = id, "token revoked from the web");
        Ok(())
    })
    .await?;
    Ok(see_other(&format!("{BASE}?notice=revoked")))
}

async fn preview_trim(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let nav = nav(&req, &gate, Some(&p));
    let (name, plan) = auth
        .run(move |c| -> Result<_, WebError> {
            usage::flush()?;
            let token = own_token(c, &p, id)?;
            let plan = least_privilege::plan_trim(c, &token, Utc::now().date_naive())?;
            Ok((token.row.name, plan))
        })
        .await?;
    render(&ConfirmPage {
        nav,
        heading: format!("Trim token “{name}” to what it used?"),
        message: format!(
            "The token is rotated into a fine-grained token that holds only the permissions, \
             projects and groups it used in the last {} days. The current value stops working; \
             the new one is shown once.",
            least_privilege::WINDOW_DAYS
        ),
        details: Vec::new(),
        removed: plan.removed,
        kept: plan.kept,
        action_url: format!("{BASE}/{id}/trim"),
        button_label: "Trim token".into(),
        danger: false,
        cancel_url: BASE.into(),
    })
}

async fn trim_token(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    Form::posted(&req, &gate, &body)?;
    let id = token_id(&path)?;
    let p = auth.principal()?.clone();
    let nav = nav(&req, &gate, Some(&p));
    let resolver = gate.resolver.clone();
    let policy = cfg.token_policy;
    let page = auth
        .run(move |c| -> Result<TokenValuePage, WebError> {
            usage::flush()?;
            let old = own_token(c, &p, id)?;
            let (new_id, secret, _) = least_privilege::trim(
                c,
                &resolver,
                &policy,
                Some(&p),
                &old,
                Utc::now().date_naive(),
            )?;
            tracing::info!(
                token.id = id,
                token.successor = new_id,
                "token trimmed from the web"
            );
            Ok(TokenValuePage {
                nav,
                heading: "Your trimmed personal access token".into(),
                name: old.row.name,
                value: secret,
                expires_at: old.row.expires_at.to_string(),
            })
        })
        .await?;
    render(&page)
}

#[derive(Deserialize)]
struct TargetQuery {
    search: Option<String>,
}

/// One search hit of the target picker.
#[derive(Serialize)]
struct TargetHit {
    kind: &'static str,
    id: i64,
    full_path: String,
}

/// Projects and groups the user can see (and so may name in a selected boundary) whose path
/// contains the search, at most 10 of each.
async fn search_targets(
    auth: Authorized,
    query: web::Query<TargetQuery>,
) -> Result<HttpResponse, WebError> {
    let p = auth.principal()?.clone();
    let search = query.search.clone().unwrap_or_default().trim().to_string();
    if search.is_empty() || search.len() > 255 {
        return Ok(HttpResponse::Ok().json(Vec::<TargetHit>::new()));
    }
    let hits = auth
        .run(move |c| -> Result<Vec<TargetHit>, WebError> {
            let viewer = if p.in_admin_mode() {
                Viewer::Admin(p.user_id)
            } else {
                Viewer::User(p.user_id)
            };
            let mut hits: Vec<TargetHit> = projects::list(
                c,
                &projects::ProjectFilter {
                    viewer,
                    search: Some(search.clone()),
                    search_namespaces: true,
                    ..Default::default()
                },
                projects::ProjectOrder::default(),
                false,
            )?
            .into_iter()
            .take(10)
            .map(|p| TargetHit {
                kind: "project",
                id: p.id,
                full_path: p.full_path,
            })
            .collect();
            hits.extend(
                groups::list(
                    c,
                    &groups::GroupFilter {
                        viewer,
                        search: Some(search),
                        ..Default::default()
                    },
                    groups::GroupOrder::default(),
                    false,
                )?
                .into_iter()
                .take(10)
                .map(|g| TargetHit {
                    kind: "group",
                    id: g.id,
                    full_path: g.full_path,
                }),
            );
            Ok(hits)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(hits))
}
