//! Sessions and forms: sign-in with username (or email) and password, the session cookie
//! (HttpOnly, SameSite=Lax, Secure behind https) mapped to a revocable, expiring server-side
//! row, sign-out, CSRF tokens on every form, and the response helpers every page uses.

use crate::WebConfig;
use crate::error::WebError;
use crate::pages::{Nav, NavUser, SignInPage};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use askama::Template;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{Authenticates, Principal, require};
use tinforge_gate::authorized::SESSION_COOKIE;
use tinforge_gate::{Authorized, GateState, RestRoutes};
use tinforge_store::sessions::{self, NewSession};
use tinforge_store::{password, users};

/// The cookie that seeds the sign-in form's CSRF token before there is a session.
pub const CSRF_COOKIE: &str = "_tinforge_csrf";
/// The form field every POST carries.
pub const CSRF_FIELD: &str = "authenticity_token";

pub fn declare(r: &mut RestRoutes) {
    r.route(
        "GET",
        "/users/sign_in",
        require!(user:read).authenticated_by(Authenticates::Password),
    )
    .summary("The sign-in form")
    .to(sign_in_form);
    r.route(
        "POST",
        "/users/sign_in",
        require!(user:read).authenticated_by(Authenticates::Password),
    )
    .summary("Sign in with username or email and password")
    .to(sign_in);
    r.route("POST", "/users/sign_out", require!(user:read))
        .summary("Sign out: end this session")
        .to(sign_out);
}

/// An HTML response with the pages' security headers (no caching: pages can show secrets once).
pub fn html(mut builder: HttpResponseBuilder, body: String) -> HttpResponse {
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Renders a page with 200.
pub fn render(page: &impl Template) -> Result<HttpResponse, WebError> {
    render_status(StatusCode::OK, page)
}

pub fn render_status(status: StatusCode, page: &impl Template) -> Result<HttpResponse, WebError> {
    Ok(html(HttpResponse::build(status), page.render()?))
}

/// 303 to `location` (after a form action).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
        ))
        .finish()
}

/// A posted form (`application/x-www-form-urlencoded`), with repeated fields kept.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Result<Form, WebError> {
        serde_urlencoded::from_bytes(body)
            .map(Form)
            .map_err(|_| WebError::BadRequest("The form could not be read.".into()))
    }

    /// A posted form whose authenticity token checks out (403 before anything else happens).
    pub fn posted(req: &HttpRequest, gate: &GateState, body: &[u8]) -> Result<Form, WebError> {
        let form = Form::parse(body)?;
        check_csrf(req, gate, &form)?;
        Ok(form)
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// What a CSRF token is derived from: the session's secret, or before sign-in the CSRF cookie.
fn csrf_seed(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .or_else(|| req.cookie(CSRF_COOKIE))
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// The CSRF token for a seed: a keyed digest, so it cannot be made without the server secret.
fn csrf_token(gate: &GateState, seed: &str) -> String {
    gate.resolver.digest(&format!("csrf:{seed}"))
}

/// Refuses a form whose authenticity token is missing or does not belong to this browser.
pub fn check_csrf(req: &HttpRequest, gate: &GateState, form: &Form) -> Result<(), WebError> {
    let Some(seed) = csrf_seed(req) else {
        return Err(WebError::Csrf);
    };
    let expected = csrf_token(gate, &seed);
    if constant_time_eq(expected.as_bytes(), form.get(CSRF_FIELD).as_bytes()) {
        Ok(())
    } else {
        tracing::info!(path = req.path(), "form refused: bad authenticity token");
        Err(WebError::Csrf)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The navigation bar's state for this request.
pub fn nav(req: &HttpRequest, gate: &GateState, principal: Option<&Principal>) -> Nav {
    Nav {
        user: principal.map(|p| NavUser {
            username: p.username.clone(),
            name: p.username.clone(),
            is_admin: p.is_admin,
        }),
        csrf: csrf_seed(req)
            .map(|s| csrf_token(gate, &s))
            .unwrap_or_default(),
        flash: None,
    }
}

fn cookie<'a>(
    name: &'a str,
    value: String,
    cfg: &WebConfig,
    max_age: time::Duration,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(cfg.secure_cookies())
        .max_age(max_age)
        .finish()
}

fn peer_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct SignInQuery {
    redirect_to: Option<String>,
}

/// Only same-site paths are followed after sign-in.
fn safe_redirect(to: Option<&str>) -> String {
    match to {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.into(),
        _ => "/".into(),
    }
}

async fn sign_in_form(
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
) -> Result<HttpResponse, WebError> {
    let mut seeded = None;
    let mut page = SignInPage {
        nav: nav(&req, &gate, None),
        username: String::new(),
        error: None,
    };
    if csrf_seed(&req).is_none() {
        let seed = token_format::generate(TokenPrefix::Session);
        page.nav.csrf = csrf_token(&gate, &seed);
        seeded = Some(cookie(CSRF_COOKIE, seed, &cfg, time::Duration::days(1)));
    }
    let mut response = render(&page)?;
    if let Some(c) = seeded {
        response
            .add_cookie(&c)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
    }
    Ok(response)
}

/// The one refusal for a wrong username and a wrong password.
const REFUSAL: &str = "Invalid login or password.";

async fn sign_in(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    query: web::Query<SignInQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::posted(&req, &gate, &body)?;
    let login = form.get("username").trim().to_string();
    let ip = peer_ip(&req);
    let refuse = |status: StatusCode, error: String| {
        render_status(
            status,
            &SignInPage {
                nav: nav(&req, &gate, None),
                username: login.clone(),
                error: Some(error),
            },
        )
    };
    if let Some(wait) = cfg.limiter.retry_after(&ip, &login) {
        let secs = wait.as_secs().max(1);
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-in attempts. Try again in {secs} seconds."),
        )?;
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&secs.to_string()).unwrap_or(HeaderValue::from_static("60")),
        );
        return Ok(response);
    }
    let password = form.get("password").to_string();
    let secret = token_format::generate(TokenPrefix::Session);
    let digest = gate.resolver.digest(&secret);
    let expires_at = tinforge_store::now() + cfg.session_lifetime;
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (who, ip_for_row) = (login.clone(), ip.clone());
    let signed_in = auth
        .run(move |c| -> Result<Option<i64>, WebError> {
            let user = match users::find_by_login(c, &who)? {
                Some(u) => u,
                None => {
                    password::verify_nobody(&password);
                    return Ok(None);
                }
            };
            if !password::verify(&password, &user.password_hash) || user.is_blocked() {
                return Ok(None);
            }
            sessions::create(
                c,
                &NewSession {
                    user_id: user.id,
                    digest: &digest,
                    expires_at,
                    ip: &ip_for_row,
                    user_agent: &user_agent,
                },
            )?;
            Ok(Some(user.id))
        })
        .await?;
    let Some(user_id) = signed_in else {
        cfg.limiter.failed(&ip, &login);
        tracing::info!(target: "audit", "sign-in refused");
        return refuse(StatusCode::UNAUTHORIZED, REFUSAL.into());
    };
    cfg.limiter.succeeded(&login);
    tracing::info!(target: "audit", user_id, "signed in");
    let lifetime = time::Duration::seconds(cfg.session_lifetime.num_seconds());
    let mut response = see_other(&safe_redirect(query.redirect_to.as_deref()));
    response
        .add_cookie(&cookie(SESSION_COOKIE, secret, &cfg, lifetime))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    Ok(response)
}

async fn sign_out(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    Form::posted(&req, &gate, &body)?;
    let secret = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let digest = gate.resolver.digest(&secret);
    auth.run(move |c| -> Result<(), WebError> {
        if let Some((session, _)) = sessions::find_by_digest(c, &digest)? {
            sessions::revoke(c, session.id)?;
        }
        Ok(())
    })
    .await?;
    let mut response = see_other("/users/sign_in");
    response
        .add_removal_cookie(&cookie(
            SESSION_COOKIE,
            String::new(),
            &cfg,
            time::Duration::ZERO,
        ))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    Ok(response)
}
