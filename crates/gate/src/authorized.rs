//! The authorizing extractor. It finds the matched route's declared requirement in the registry,
//! resolves the credential and the target, calls `decide()`, and hands the handler an already
//! authorized context, which is also the handler's only way to the database.

use crate::credential;
use crate::error::{DeniedTarget, GateError};
use crate::registry::{Endpoint, EndpointRegistry, TargetSpec};
use crate::resolve::TokenResolver;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;
use tinforge_authz::{Decision, Principal, Target, decide};
use tinforge_store::{DbConnection, Store, StoreError, groups, projects};

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
    type Future = LocalBoxFuture<'static, Result<Self, GateError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authorize(&req).await })
    }
}

async fn authorize(req: &HttpRequest) -> Result<Authorized, GateError> {
    let state = req
        .app_data::<web::Data<GateState>>()
        .ok_or_else(|| GateError::Store(StoreError::Unavailable("gate not configured".into())))?
        .clone();
    // Fail closed: a route the registry does not know is not served.
    let pattern = req.match_pattern().unwrap_or_default();
    let endpoint = state
        .registry
        .lookup(req.method().as_str(), &pattern)
        .cloned()
        .ok_or(GateError::Store(StoreError::NotFound))?;
    let credential = credential::extract(req)?;
    let target_ref = match endpoint.target {
        TargetSpec::None => None,
        TargetSpec::Project(p) | TargetSpec::Group(p) => {
            Some(decode(req.match_info().get(p).unwrap_or_default()))
        }
    };
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let (principal, target) = {
        let state = state.clone();
        let spec = endpoint.target;
        run_blocking(&state.store.clone(), move |conn| -> Result<_, GateError> {
            let principal = match &credential {
                Some(c) => Some(state.resolver.resolve(conn, c.secret(), &ip)?),
                None => None,
            };
            let user_id = principal.as_ref().map(|p| p.user_id);
            let target = match (spec, target_ref) {
                (TargetSpec::Project(_), Some(r)) => resolve_project(conn, &r, user_id)?,
                (TargetSpec::Group(_), Some(r)) => resolve_group(conn, &r, user_id)?,
                _ => None,
            };
            Ok((principal, target))
        })
        .await?
    };
    if let Some(p) = &principal {
        req.extensions_mut().insert(CallerIds {
            user_id: p.user_id,
            token_id: p.token_id,
        });
    }
    if endpoint.target != TargetSpec::None && target.is_none() {
        return Err(denied(
            tinforge_authz::DenyReason::NotVisible,
            &endpoint,
            None,
            spec_label(endpoint.target),
        ));
    }
    match decide(principal.as_ref(), &endpoint.requirement, target.as_ref()) {
        Decision::Allow => Ok(Authorized {
            principal,
            target,
            endpoint,
            store: state.store.clone(),
        }),
        Decision::Deny(reason) => {
            tracing::info!(
                target: "audit",
                user_id = principal.as_ref().map(|p| p.user_id),
                token_id = principal.as_ref().and_then(|p| p.token_id),
                endpoint = %format!("{} {}", endpoint.method, endpoint.path),
                reason = reason.code(),
                "request denied"
            );
            let t = target.as_ref().map(DeniedTarget::of);
            Err(GateError::Denied {
                reason,
                requirement: endpoint.requirement,
                target: t,
            })
        }
    }
}

fn spec_label(spec: TargetSpec) -> Option<DeniedTarget> {
    let kind = match spec {
        TargetSpec::Project(_) => tinforge_authz::TargetKind::Project,
        TargetSpec::Group(_) => tinforge_authz::TargetKind::Group,
        TargetSpec::None => return None,
    };
    Some(DeniedTarget {
        kind,
        full_path: String::new(),
    })
}

fn denied(
    reason: tinforge_authz::DenyReason,
    endpoint: &Endpoint,
    _principal: Option<&Principal>,
    target: Option<DeniedTarget>,
) -> GateError {
    GateError::Denied {
        reason,
        requirement: endpoint.requirement,
        target,
    }
}

fn resolve_project(
    conn: &mut DbConnection,
    r: &str,
    user: Option<i64>,
) -> Result<Option<Target>, GateError> {
    match projects::find_by_ref(conn, r)? {
        Some(p) => Ok(Some(projects::project_target(conn, &p, user)?)),
        None => Ok(None),
    }
}

fn resolve_group(
    conn: &mut DbConnection,
    r: &str,
    user: Option<i64>,
) -> Result<Option<Target>, GateError> {
    match groups::find_by_ref(conn, r)? {
        Some(g) => Ok(Some(projects::group_target(conn, &g, user)?)),
        None => Ok(None),
    }
}

/// Path parameters keep `%2F` encoded through routing; ids and full paths are decoded here.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}
