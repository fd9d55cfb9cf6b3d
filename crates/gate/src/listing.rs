//! Lists: which items of a list the caller may see. The store narrows candidates to what the
//! *user* could see ([`Viewer`]); then every candidate is judged here by `decide()` with the list's
//! read requirement, so a list shows an item exactly when reading that item alone would succeed —
//! with the token's eyes: a fine-grained token sees private and internal items only inside its
//! boundaries, an anonymous caller public items only. Every list of projects and groups, on every
//! surface, goes through [`projects`] / [`groups`] (or [`allowed`] for other kinds of items).
//!
//! [`Listing`] is the extractor of lists that act on no target (`GET /projects`, `GET /groups`):
//! there an anonymous caller is not asked to sign in (the list simply holds public items), and a
//! fine-grained token without the read permission gets what an anonymous caller would (the floor
//! of permissions.md), while a legacy token without a fitting scope is refused as anywhere else.

use crate::authorized::{
    RequestCredentials, enforce, not_gated, record_caller, run_blocking, state_of,
};
use crate::error::GateError;
use crate::registry::{Endpoint, TargetSpec};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{Ready, ready};
use tinforge_authz::{Decision, DenyReason, Principal, Requirement, Target, TokenKind, decide};
use tinforge_store::groups::{self as store_groups, GroupRow, GroupTree};
use tinforge_store::members::{self, UserAccess, Viewer};
use tinforge_store::projects::{self as store_projects, ProjectRow};
use tinforge_store::{DbConnection, Store, StoreError};

/// Who looks at a list, as the store's candidate narrowing needs it.
pub fn viewer(principal: Option<&Principal>) -> Viewer {
    match principal {
        None => Viewer::Anonymous,
        Some(p) if p.in_admin_mode() => Viewer::Admin(p.user_id),
        Some(p) => Viewer::User(p.user_id),
    }
}

/// Keeps the items whose target `decide()` allows for `requirement`.
pub fn allowed<T>(
    principal: Option<&Principal>,
    requirement: &Requirement,
    items: Vec<(T, Target)>,
) -> Vec<(T, Target)> {
    items
        .into_iter()
        .filter(|(_, t)| decide(principal, requirement, Some(t)) == Decision::Allow)
        .collect()
}

/// Visible items with their targets (the caller's role on each), and the group tree loaded for
/// them (namespaces, full names) so shaping the answer needs no further query per item.
#[derive(Debug, Clone)]
pub struct Visible<T> {
    pub items: Vec<(T, Target)>,
    pub tree: GroupTree,
    /// The caller's direct memberships (None: anonymous).
    pub access: Option<UserAccess>,
}

fn access_for(
    conn: &mut DbConnection,
    principal: Option<&Principal>,
) -> Result<Option<UserAccess>, StoreError> {
    principal
        .map(|p| members::access_of(conn, p.user_id))
        .transpose()
}

/// The projects among `rows` the caller may see for `requirement` (a few queries for the whole
/// list: the caller's memberships and the groups above the projects).
pub fn projects(
    conn: &mut DbConnection,
    principal: Option<&Principal>,
    requirement: &Requirement,
    rows: Vec<ProjectRow>,
) -> Result<Visible<ProjectRow>, StoreError> {
    let access = access_for(conn, principal)?;
    let tree = GroupTree::load(conn, rows.iter().filter_map(|p| p.group_id))?;
    let items = rows
        .into_iter()
        .map(|p| {
            let t = store_projects::target_in(&p, &tree, access.as_ref());
            (p, t)
        })
        .collect();
    Ok(Visible {
        items: allowed(principal, requirement, items),
        tree,
        access,
    })
}

/// The groups among `rows` the caller may see for `requirement`.
pub fn groups(
    conn: &mut DbConnection,
    principal: Option<&Principal>,
    requirement: &Requirement,
    rows: Vec<GroupRow>,
) -> Result<Visible<GroupRow>, StoreError> {
    let access = access_for(conn, principal)?;
    let mut tree = GroupTree::default();
    for g in &rows {
        tree.insert(g.clone());
    }
    tree.extend(conn, rows.iter().filter_map(|g| g.parent_id))?;
    let items = rows
        .into_iter()
        .map(|g| {
            let t = store_groups::target_in(&g, &tree, access.as_ref());
            (g, t)
        })
        .collect();
    Ok(Visible {
        items: allowed(principal, requirement, items),
        tree,
        access,
    })
}

/// An authorized list request without a target: the principal (None: anonymous) and the
/// declaration. Its handler filters every item with [`projects`], [`groups`] or [`allowed`].
pub struct Listing {
    pub principal: Option<Principal>,
    pub endpoint: Endpoint,
    store: Store,
}

impl Listing {
    /// The viewer for the store's candidate narrowing.
    pub fn viewer(&self) -> Viewer {
        viewer(self.principal.as_ref())
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

impl FromRequest for Listing {
    type Error = GateError;
    type Future = Ready<Result<Self, GateError>>;

    /// The decision the gate middleware made for a route declared with `.list()`.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions_mut()
                .remove::<Listing>()
                .ok_or_else(not_gated),
        )
    }
}

/// May the caller open a list that acts on no target (REST `GET /projects`, GraphQL
/// `Query.projects`)? Anonymous callers may (the list holds public items); a fine-grained token
/// without the read permission lists like an anonymous caller (the floor); a legacy token without
/// a fitting scope is refused as anywhere else. Every item is then judged by [`projects`],
/// [`groups`] or [`allowed`].
pub fn open_list(principal: Option<&Principal>, endpoint: &Endpoint) -> Result<(), GateError> {
    if let Some(p) = principal {
        match decide(Some(p), &endpoint.requirement, None) {
            Decision::Allow => crate::usage::record_use(p, &endpoint.requirement, None),
            // The floor: a fine-grained token lacking the permission lists like an anonymous caller.
            Decision::Deny(DenyReason::InsufficientScope { .. })
                if matches!(p.kind, TokenKind::FineGrained | TokenKind::Job)
                    && !endpoint.requirement.admin => {}
            Decision::Deny(_) => enforce(Some(p), endpoint, None)?,
        }
    } else if endpoint.requirement.admin {
        enforce(None, endpoint, None)?;
    }
    Ok(())
}

pub(crate) async fn authorize_list(req: &HttpRequest) -> Result<Listing, GateError> {
    let state = state_of(req)?;
    let pattern = req.match_pattern().unwrap_or_default();
    let endpoint = state
        .registry
        .lookup(req.method().as_str(), &pattern)
        .cloned()
        .ok_or(GateError::Store(StoreError::NotFound))?;
    if endpoint.target != TargetSpec::List || !endpoint.requirement.is_read_only() {
        // Fail closed: a list with a target or a write goes through `Authorized`.
        return Err(GateError::Store(StoreError::Invalid(format!(
            "{} {} is not a target-less read and cannot be served as a list",
            endpoint.method, endpoint.path
        ))));
    }
    let request = RequestCredentials::of(req)?;
    let resolver = state.resolver.clone();
    let principal = run_blocking(&state.store, move |conn| -> Result<_, GateError> {
        request.resolve(conn, &resolver)
    })
    .await?;
    record_caller(req, principal.as_ref());
    open_list(principal.as_ref(), &endpoint)?;
    Ok(Listing {
        principal,
        endpoint,
        store: state.store.clone(),
    })
}
