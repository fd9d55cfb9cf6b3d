//! The authorizing extractor. It finds the matched route's declared requirement in the registry,
//! resolves the credential and the target, calls `decide()`, and hands the handler an already
//! authorized context, which is also the handler's only way to the database.

use crate::credential;
use crate::error::{DeniedTarget, GateError};
use crate::registry::{Endpoint, EndpointRegistry, TargetSpec};
use crate::resolve::TokenResolver;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::{Ready, ready};
use std::sync::Arc;
use tinforge_authz::{Decision, DenyReason, LegacyScope, Principal, Target, TargetKind, decide};
use tinforge_store::{DbConnection, Store, StoreError, groups, projects, registry, users};

/// What the gate needs, shared as actix app data.
#[derive(Clone)]
pub struct GateState {
    pub store: Store,
    pub resolver: TokenResolver,
    pub registry: Arc<EndpointRegistry>,
}

/// Who is calling, recorded in request extensions for logs (never the token).
#[derive(Debug, Clone, Copy)]
pub struct CallerIds {
    pub user_id: i64,
    pub token_id: Option<i64>,
}

/// An authorized request: principal (None: anonymous), resolved target, and the declaration.
pub struct Authorized {
    pub principal: Option<Principal>,
    pub target: Option<Target>,
    pub endpoint: Endpoint,
    store: Store,
}

impl Authorized {
    /// The authenticated principal; endpoints that reach here without one were declared open to
    /// anonymous callers, so asking for it there is a 401.
    pub fn principal(&self) -> Result<&Principal, GateError> {
        self.principal.as_ref().ok_or(GateError::Unauthorized)
    }

    /// The store this request runs against.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs blocking database work off the async executor.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        run_blocking(&self.store, f).await
    }
}

/// Blocking store work on actix's blocking pool.
pub async fn run_blocking<T, E, F>(store: &Store, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let store = store.clone();
    web::block(move || {
        let mut conn = store.conn()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(StoreError::Unavailable(e.to_string())))?
}

impl FromRequest for Authorized {
    type Error = GateError;
    type Future = Ready<Result<Self, GateError>>;

    /// The decision the gate middleware already made; a handler outside the gate gets nothing.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions_mut()
                .remove::<Authorized>()
                .ok_or_else(not_gated),
        )
    }
}

/// A handler asked for the gate's decision on a route that was not declared through it.
pub fn not_gated() -> GateError {
    GateError::Store(StoreError::Invalid("route is not behind the gate".into()))
}

/// The gate as middleware on every declared REST resource: it authorizes the request by the
/// matched endpoint's declaration (a target, a list, or nothing) and leaves the result in the
/// request for the handler's extractor. A denial answers at once; the handler never runs.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    gate_rendering(req, next, None).await
}

/// How a surface other than REST answers a denial (the web pages answer with HTML, or send a
/// signed-out browser to the sign-in page).
pub type DenialRenderer = fn(&HttpRequest, &GateError) -> actix_web::HttpResponse;

/// The gate with a surface's own denial rendering (None: the REST error bodies).
pub async fn gate_rendering(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    render: Option<DenialRenderer>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = state_of(req.request()).ok();
    let declared = state.as_ref().and_then(|state| {
        let pattern = req.request().match_pattern()?;
        state
            .registry
            .lookup(req.method().as_str(), &pattern)
            .cloned()
    });
    let outcome =
        match declared
            .as_ref()
            .map(|e| (e.target, e.requirement.takes_principal()))
        {
            // A method the resource does not route: actix answers 405 itself.
            None => return Ok(next.call(req).await?.map_into_boxed_body()),
            // The endpoint checks its own credential (runner, job or trigger token) against what
            // it names; the handler gets the declaration and no principal.
            Some((_, false)) => {
                if let (Some(state), Some(endpoint)) = (state, declared) {
                    req.extensions_mut().insert(Authorized {
                        principal: None,
                        target: None,
                        endpoint,
                        store: state.store.clone(),
                    });
                }
                Ok(())
            }
            Some((TargetSpec::List, true)) => crate::listing::authorize_list(req.request())
                .await
                .map(|l| {
                    req.extensions_mut().insert(l);
                }),
            Some((_, true)) => authorize(req.request()).await.map(|a| {
                req.extensions_mut().insert(a);
            }),
        };
    match outcome {
        Ok(()) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(e) => {
            let response = match render {
                Some(render) => render(req.request(), &e),
                None => e.error_response(),
            };
            Ok(req.into_response(response))
        }
    }
}

async fn authorize(req: &HttpRequest) -> Result<Authorized, GateError> {
    let state = state_of(req)?;
    // Fail closed: a route the registry does not know is not served.
    let pattern = req.match_pattern().unwrap_or_default();
    let endpoint = state
        .registry
        .lookup(req.method().as_str(), &pattern)
        .cloned()
        .ok_or(GateError::Store(StoreError::NotFound))?;
    let target_ref = endpoint
        .target
        .param()
        .map(|p| decode(req.match_info().get(p).unwrap_or_default()));
    let request = match endpoint.surface {
        crate::Surface::Web => RequestCredentials::session(req),
        _ => RequestCredentials::of(req)?,
    };
    let (principal, target) = {
        let spec = endpoint.target;
        let resolver = state.resolver.clone();
        run_blocking(&state.store, move |conn| -> Result<_, GateError> {
            let principal = request.resolve(conn, &resolver)?;
            let user_id = principal.as_ref().map(|p| p.user_id);
            let target = match target_ref {
                Some(r) => resolve_target(conn, spec, &r, user_id)?,
                None => None,
            };
            Ok((principal, target))
        })
        .await?
    };
    record_caller(req, principal.as_ref());
    if endpoint.target.param().is_some() && target.is_none() {
        return Err(GateError::Denied {
            reason: DenyReason::NotVisible,
            requirement: endpoint.requirement,
            target: spec_label(endpoint.target),
        });
    }
    enforce(principal.as_ref(), &endpoint, target.as_ref())?;
    Ok(Authorized {
        principal,
        target,
        endpoint,
        store: state.store.clone(),
    })
}

/// The gate's shared state from the app data.
pub fn state_of(req: &HttpRequest) -> Result<web::Data<GateState>, GateError> {
    req.app_data::<web::Data<GateState>>()
        .cloned()
        .ok_or_else(|| GateError::Store(StoreError::Unavailable("gate not configured".into())))
}

/// Notes who is calling in the request extensions, for the request log (never the token).
pub fn record_caller(req: &HttpRequest, principal: Option<&Principal>) {
    if let Some(p) = principal {
        req.extensions_mut().insert(CallerIds {
            user_id: p.user_id,
            token_id: p.token_id,
        });
    }
}

/// What a request presents: its one credential, the `sudo` user it asks to act as, and the peer.
#[derive(Debug, Clone)]
pub struct RequestCredentials {
    credential: Option<credential::Credential>,
    /// The credential is the web session cookie (web pages), not a token.
    session: bool,
    sudo: Option<String>,
    ip: String,
}

/// The web session cookie's name.
pub const SESSION_COOKIE: &str = "_tinforge_session";

impl RequestCredentials {
    /// Reads the credential (two different ones are a 401) and a `sudo` query parameter or header.
    pub fn of(req: &HttpRequest) -> Result<RequestCredentials, GateError> {
        let sudo = req
            .headers()
            .get("sudo")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| k == "sudo")
                    .map(|(_, v)| v)
            })
            .filter(|s| !s.trim().is_empty());
        Ok(RequestCredentials {
            credential: credential::extract(req)?,
            session: false,
            sudo,
            ip: req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
        })
    }

    /// The web pages' credential: the session cookie only. Tokens in headers or the query are
    /// not read there, and the session cookie is never read anywhere else (so a page's cookie
    /// cannot drive the API from another site).
    pub fn session(req: &HttpRequest) -> RequestCredentials {
        RequestCredentials {
            credential: req
                .cookie(SESSION_COOKIE)
                .map(|c| c.value().to_string())
                .filter(|v| !v.is_empty())
                .map(credential::Credential::new),
            session: true,
            sudo: None,
            ip: String::new(),
        }
    }

    /// Resolves the credential to a principal (None: anonymous), applying `sudo`: an admin's token
    /// with the `sudo` scope acts as another user, keeping the token's own scopes.
    pub fn resolve(
        &self,
        conn: &mut DbConnection,
        resolver: &TokenResolver,
    ) -> Result<Option<Principal>, GateError> {
        let Some(c) = &self.credential else {
            return match self.sudo {
                Some(_) => Err(GateError::Unauthorized),
                None => Ok(None),
            };
        };
        if self.session {
            return match resolver.resolve_session(conn, c.secret()) {
                Ok(p) => Ok(Some(p)),
                // An ended or unknown session is simply signed out.
                Err(crate::ResolveError::Store(e)) => Err(GateError::Store(e)),
                Err(_) => Ok(None),
            };
        }
        let mut principal = resolver.resolve(conn, c.secret(), &self.ip)?;
        if let Some(who) = &self.sudo {
            if !principal.is_admin || !principal.scopes.contains(&LegacyScope::Sudo) {
                return Err(GateError::Forbidden("Must be admin to use sudo"));
            }
            let user = users::find_by_ref(conn, who.trim())?
                .filter(|u| !u.is_blocked())
                .ok_or_else(|| GateError::SudoTargetNotFound(who.clone()))?;
            tracing::info!(user.id = principal.user_id, sudo.user_id = user.id, "sudo");
            principal.user_id = user.id;
            principal.username = user.username;
            principal.is_admin = user.is_admin;
        }
        Ok(Some(principal))
    }
}

/// Resolves a project or group reference (id or full path) to a target for `user_id`.
pub fn resolve_target(
    conn: &mut DbConnection,
    spec: TargetSpec,
    reference: &str,
    user_id: Option<i64>,
) -> Result<Option<Target>, GateError> {
    Ok(match spec {
        TargetSpec::Project(_) => projects::resolve_target(conn, reference, user_id)?,
        TargetSpec::Group(_) => match groups::find_by_ref(conn, reference)? {
            Some(g) => Some(projects::group_target(conn, &g, user_id)?),
            None => None,
        },
        TargetSpec::Image(_) => match registry::names::find_project(conn, reference)? {
            Some((p, _)) => Some(projects::project_target(conn, &p, user_id)?),
            None => None,
        },
        TargetSpec::ContainerRepository(_) => {
            let repository = match reference.parse::<i64>() {
                Ok(id) => registry::repositories::get(conn, id)?,
                Err(_) => None,
            };
            match repository {
                Some(r) => match projects::find(conn, r.project_id)? {
                    Some(p) => Some(projects::project_target(conn, &p, user_id)?),
                    None => None,
                },
                None => None,
            }
        }
        TargetSpec::None | TargetSpec::List | TargetSpec::Resolved(_) => None,
    })
}

/// Calls `decide()` for a declared endpoint; a denial is audited and becomes the surface's error.
pub fn enforce(
    principal: Option<&Principal>,
    endpoint: &Endpoint,
    target: Option<&Target>,
) -> Result<(), GateError> {
    match decide(principal, &endpoint.requirement, target) {
        Decision::Allow => {
            if let Some(p) = principal {
                crate::usage::record_use(p, &endpoint.requirement, target);
            }
            Ok(())
        }
        Decision::Deny(reason) => {
            if let Some(p) = principal {
                crate::usage::record_denial(
                    p,
                    &format!("{} {}", endpoint.method, endpoint.path),
                    &reason,
                );
            }
            tracing::info!(
                target: "audit",
                user_id = principal.map(|p| p.user_id),
                token_id = principal.and_then(|p| p.token_id),
                surface = endpoint.surface.as_str(),
                endpoint = %format!("{} {}", endpoint.method, endpoint.path),
                reason = reason.code(),
                "request denied"
            );
            Err(GateError::Denied {
                reason,
                requirement: endpoint.requirement,
                target: target.map(DeniedTarget::of),
            })
        }
    }
}

fn spec_label(spec: TargetSpec) -> Option<DeniedTarget> {
    let kind: TargetKind = spec.kind()?;
    Some(DeniedTarget {
        kind,
        full_path: String::new(),
    })
}

/// Path parameters keep `%2F` encoded through routing; ids and full paths are decoded here.
pub fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}
