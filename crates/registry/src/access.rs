//! Who is calling the registry and what they may do here. A `/v2/` request carries a registry
//! JWT from the token service (the usual case), a personal access token directly (Basic,
//! `PRIVATE-TOKEN`), or nothing. Every case is judged by the gate's `enforce()` against the
//! declared action:
//!
//! - a JWT's `access` claim lets reads through without further look-ups (it lives 5 minutes);
//!   on every write the token behind it is loaded again by id (revoked, expired or a blocked
//!   owner stop the push at once) and the declared action is enforced on it;
//! - a personal access token is enforced directly;
//! - anonymous callers may read public projects; anything else gets the Bearer challenge, never
//!   a 404, since clients authenticate only after one.

use crate::RegistryConfig;
use crate::declare::{self, Key};
use crate::error::RegistryError;
use crate::scope::{ResourceScope, ScopeKind, challenge};
use crate::token::Claims;
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use tinforge_authz::{DenyReason, Principal, Target};
use tinforge_gate::authorized::{RequestCredentials, enforce, record_caller, run_blocking};
use tinforge_gate::error::deny_text;
use tinforge_gate::resolve::{principal_by_id, principal_by_job_id};
use tinforge_gate::{Endpoint, GateError, GateState};
use tinforge_store::projects::{self, ProjectRow};
use tinforge_store::registry::names;

/// The credential a request presented.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    /// A personal access token presented directly.
    Token(Principal),
    /// A registry JWT from `/jwt/auth`.
    Registry(Claims),
}

impl Caller {
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Caller::Anonymous => None,
            Caller::Token(p) => Some(p.user_id),
            Caller::Registry(c) => c.user_id,
        }
    }
}

/// An authorized request on an image of a project.
pub struct ImageAccess {
    pub caller: Caller,
    /// The principal the decision was made for (loaded again for JWT writes).
    pub principal: Option<Principal>,
    pub project: ProjectRow,
    pub target: Target,
    /// The full image name (`acme/app/tools`).
    pub image: String,
    /// The image path below the project (`tools`; `""` for the project's own image).
    pub repository_name: String,
    pub endpoint: Endpoint,
}

/// The docker action a declared registry action needs in a JWT's `access` claim.
pub fn docker_action(key: Key) -> &'static str {
    match key.0 {
        "GET" | "HEAD" if key != declare::UPLOAD_STATUS => "pull",
        "DELETE" if key != declare::UPLOAD_CANCEL => "delete",
        _ => "push",
    }
}

pub fn endpoint(state: &GateState, key: Key) -> Result<Endpoint, RegistryError> {
    state
        .registry
        .lookup(key.0, key.1)
        .cloned()
        .ok_or_else(|| RegistryError::Internal(format!("undeclared registry action {key:?}")))
}

/// The Bearer challenge for `image` and `action` (no scope for the base check).
pub fn challenge_for(
    config: &RegistryConfig,
    scope: Option<(&str, &str)>,
    error: Option<&str>,
) -> String {
    let scopes: Vec<ResourceScope> = scope
        .map(|(name, action)| {
            let actions = match action {
                "pull" => vec!["pull".to_string()],
                other => vec!["pull".to_string(), other.to_string()],
            };
            ResourceScope {
                kind: ScopeKind::Repository,
                name: name.to_string(),
                actions,
            }
        })
        .into_iter()
        .collect();
    challenge(&config.realm, &config.issuer.service, &scopes, error)
}

pub fn unauthorized(
    config: &RegistryConfig,
    scope: Option<(&str, &str)>,
    error: Option<&str>,
    message: &str,
) -> RegistryError {
    RegistryError::Unauthorized {
        challenge: challenge_for(config, scope, error),
        message: message.to_string(),
    }
}

/// Reads the request's credential: a registry JWT, a personal access token, or none.
pub async fn caller(
    req: &HttpRequest,
    config: &RegistryConfig,
    state: &GateState,
) -> Result<Caller, RegistryError> {
    if let Some(jwt) = bearer_jwt(req) {
        return match config.issuer.verify(&jwt) {
            Ok(claims) => Ok(Caller::Registry(claims)),
            Err(e) => {
                tracing::info!(reason = %e, "registry token refused");
                Err(unauthorized(
                    config,
                    None,
                    Some("invalid_token"),
                    "authentication required: the registry token is invalid or expired",
                ))
            }
        };
    }
    let credentials = RequestCredentials::of(req).map_err(|_| {
        unauthorized(
            config,
            None,
            Some("invalid_token"),
            "authentication required",
        )
    })?;
    let resolver = state.resolver.clone();
    let principal = run_blocking(&state.store, move |conn| {
        credentials.resolve(conn, &resolver)
    })
    .await
    .map_err(|e| match e {
        GateError::Store(s) => RegistryError::from(s),
        _ => unauthorized(
            config,
            None,
            Some("invalid_token"),
            "authentication required: the token is invalid, expired or revoked",
        ),
    })?;
    record_caller(req, principal.as_ref());
    Ok(principal.map_or(Caller::Anonymous, Caller::Token))
}

/// A `Bearer` value that is a JWT (three base64url parts), not a personal access token.
fn bearer_jwt(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && token.split('.').count() == 3
        && token.starts_with("eyJ"))
    .then(|| token.to_string())
}

/// The refusal of a denial, for a caller with a credential.
pub fn denial(config: &RegistryConfig, image: &str, action: &str, e: GateError) -> RegistryError {
    match e {
        GateError::Denied {
            reason,
            requirement,
            target,
        } => match reason {
            DenyReason::NotVisible => RegistryError::name_unknown(image),
            DenyReason::Unauthenticated => unauthorized(
                config,
                Some((image, action)),
                None,
                "authentication required",
            ),
            other => {
                let what = format!("{action} {image}");
                let mut text = deny_text(&other, &what);
                if let (DenyReason::InsufficientScope { .. }, Some(t)) = (&other, &target) {
                    text = format!(
                        "{text} (this needs {} on {} {})",
                        requirement.permission_list(),
                        match t.kind {
                            tinforge_authz::TargetKind::Project => "project",
                            tinforge_authz::TargetKind::Group => "group",
                        },
                        t.full_path
                    );
                }
                let missing = match &other {
                    DenyReason::InsufficientScope { missing } => missing.clone(),
                    _ => Vec::new(),
                };
                RegistryError::denied(format!(
                    "requested access to the resource is denied: {text}"
                ))
                .with_detail(serde_json::json!({
                    "reason": other.code(),
                    "required": requirement.permission_list().split(',').collect::<Vec<_>>(),
                    "missing": missing,
                }))
            }
        },
        GateError::Store(s) => s.into(),
        _ => unauthorized(
            config,
            Some((image, action)),
            Some("invalid_token"),
            "authentication required",
        ),
    }
}

/// Authorizes `key` on `image` for the request's caller.
pub async fn authorize_image(
    req: &HttpRequest,
    config: &RegistryConfig,
    state: &GateState,
    key: Key,
    image: &str,
) -> Result<ImageAccess, RegistryError> {
    let access = resolve_image(req, config, state, key, image).await?;
    access.decide(config, state, key)?;
    Ok(access)
}

/// Reads the caller and resolves the project of `image` without deciding yet (a manifest PUT
/// learns from the body which action it is). The token behind a JWT is loaded again unless
/// `key` is a read its claim allows.
pub async fn resolve_image(
    req: &HttpRequest,
    config: &RegistryConfig,
    state: &GateState,
    key: Key,
    image: &str,
) -> Result<ImageAccess, RegistryError> {
    if !names::is_valid_name(image) {
        return Err(RegistryError::name_invalid(image));
    }
    let caller = caller(req, config, state).await?;
    resolve_caller(config, state, caller, key, image).await
}

/// Authorizes `key` on `image` for a caller already read from the request.
pub async fn authorize_caller(
    config: &RegistryConfig,
    state: &GateState,
    caller: Caller,
    key: Key,
    image: &str,
) -> Result<ImageAccess, RegistryError> {
    let access = resolve_caller(config, state, caller, key, image).await?;
    access.decide(config, state, key)?;
    Ok(access)
}

async fn resolve_caller(
    config: &RegistryConfig,
    state: &GateState,
    caller: Caller,
    key: Key,
    image: &str,
) -> Result<ImageAccess, RegistryError> {
    let endpoint = endpoint(state, key)?;
    let action = docker_action(key);
    let claims_allow = match &caller {
        Caller::Registry(c) => c.allows("repository", image, action),
        _ => false,
    };
    // A JWT read that its claim allows needs no principal; everything else is judged on one.
    let needs_principal = match &caller {
        Caller::Registry(_) => !(claims_allow && action == "pull"),
        _ => false,
    };
    let user_id = caller.user_id();
    let (token_id, job_id) = match &caller {
        Caller::Registry(c) => (c.token_id, c.job_id),
        _ => (None, None),
    };
    let name = image.to_string();
    let (reloaded, found) = run_blocking(&state.store, move |conn| -> Result<_, RegistryError> {
        let reloaded = match (needs_principal, token_id, job_id) {
            (true, Some(id), _) => Some(principal_by_id(conn, id).map_err(|_| ())),
            (true, None, Some(job)) => Some(principal_by_job_id(conn, job).map_err(|_| ())),
            _ => None,
        };
        let found = match names::find_project(conn, &name)? {
            Some((p, rest)) => {
                let t = projects::project_target(conn, &p, user_id)?;
                Some((p, rest, t))
            }
            None => None,
        };
        Ok((reloaded, found))
    })
    .await?;
    let principal = match (&caller, reloaded) {
        (Caller::Token(p), _) => Some(p.clone()),
        (_, Some(Ok(p))) => Some(p),
        (_, Some(Err(()))) => {
            return Err(unauthorized(
                config,
                Some((image, action)),
                Some("invalid_token"),
                "authentication required: the token behind this registry token is no longer valid",
            ));
        }
        _ => None,
    };
    let anonymous = principal.is_none() && !claims_allow;
    let Some((project, repository_name, target)) = found else {
        return Err(if anonymous {
            unauthorized(
                config,
                Some((image, action)),
                None,
                "authentication required",
            )
        } else {
            RegistryError::name_unknown(image)
        });
    };
    Ok(ImageAccess {
        caller,
        principal,
        project,
        target,
        image: image.to_string(),
        repository_name,
        endpoint,
    })
}

impl ImageAccess {
    /// Decides the declared action `key` on this image: a JWT's claim lets its reads through;
    /// everything else is `enforce()`d on the principal (a JWT write also needs its claim, or
    /// the client is asked to fetch a token that has it).
    pub fn decide(
        &self,
        config: &RegistryConfig,
        state: &GateState,
        key: Key,
    ) -> Result<(), RegistryError> {
        let endpoint = endpoint(state, key)?;
        let action = docker_action(key);
        let (jwt, claims_allow) = match &self.caller {
            Caller::Registry(c) => (true, c.allows("repository", &self.image, action)),
            _ => (false, false),
        };
        if jwt && claims_allow && action == "pull" {
            return Ok(());
        }
        let image = self.image.as_str();
        match enforce(self.principal.as_ref(), &endpoint, Some(&self.target)) {
            // Allowed, but the token service was not asked for this: let the client ask.
            Ok(()) if jwt && !claims_allow => Err(unauthorized(
                config,
                Some((image, action)),
                Some("insufficient_scope"),
                "authorization required for this action",
            )),
            Ok(()) => Ok(()),
            Err(_) if self.principal.is_none() => Err(unauthorized(
                config,
                Some((image, action)),
                None,
                "authentication required",
            )),
            Err(e) => Err(denial(config, image, action, e)),
        }
    }
}
