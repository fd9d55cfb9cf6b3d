//! What one GraphQL request carries: the principal resolved once by the gate, the store, the
//! endpoint registry (looked up at run time, so the operator's settings apply), and a cache of the
//! projects and groups loaded by full path during this request (never beyond it).

use crate::error::store_error;
use crate::types::{Group, Project};
use async_graphql::Context;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tinforge_authz::{Principal, Requirement};
use tinforge_gate::EndpointRegistry;
use tinforge_gate::authorized::run_blocking;
use tinforge_store::git::Repositories;
use tinforge_store::{DbConnection, Store, StoreError, groups, projects};

/// The per-request data every resolver and guard reads from the context.
pub struct RequestScope {
    pub principal: Option<Principal>,
    pub store: Store,
    pub registry: Arc<EndpointRegistry>,
    /// The instance's external URL, without a trailing slash.
    pub external_url: String,
    /// The projects' repositories on disk.
    pub repositories: Repositories,
    projects: Mutex<HashMap<String, Option<Project>>>,
    groups: Mutex<HashMap<String, Option<Group>>>,
}

impl RequestScope {
    pub fn new(
        principal: Option<Principal>,
        store: Store,
        registry: Arc<EndpointRegistry>,
        external_url: String,
        repositories: Repositories,
    ) -> Self {
        RequestScope {
            principal,
            store,
            registry,
            external_url,
            repositories,
            projects: Mutex::default(),
            groups: Mutex::default(),
        }
    }

    pub fn of<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestScope> {
        ctx.data::<RequestScope>()
    }

    /// The caller's user id (None: anonymous).
    pub fn user_id(&self) -> Option<i64> {
        self.principal.as_ref().map(|p| p.user_id)
    }

    /// The run-time requirement of a declared field (lists judge each item with it); a field
    /// the registry does not know fails closed.
    pub fn requirement(&self, field: &str) -> async_graphql::Result<Requirement> {
        self.registry
            .graphql_field(field)
            .map(|e| e.requirement)
            .ok_or_else(|| {
                crate::error::with_code(format!("field {field} is not declared"), "internal")
            })
    }

    /// Runs blocking store work off the executor; store failures become a generic GraphQL error.
    pub async fn run<T, F>(&self, f: F) -> async_graphql::Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        run_blocking(&self.store, f).await.map_err(store_error)
    }

    /// Runs blocking repository work off the executor (the closure gets the repositories).
    pub async fn git<T, F>(&self, f: F) -> async_graphql::Result<T>
    where
        F: FnOnce(Repositories) -> T + Send + 'static,
        T: Send + 'static,
    {
        let repositories = self.repositories.clone();
        actix_web::web::block(move || f(repositories))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "blocking repository work failed");
                crate::error::with_code("Internal server error", "internal")
            })
    }

    /// The project at `full_path`, with its target for this caller; loaded once per request.
    /// Whether the caller may see it is the guard's decision, not this loader's.
    pub async fn project(&self, full_path: &str) -> async_graphql::Result<Option<Project>> {
        if let Some(hit) = lock(&self.projects).get(full_path) {
            return Ok(hit.clone());
        }
        let (path, user_id, base) = (
            full_path.to_string(),
            self.user_id(),
            self.external_url.clone(),
        );
        let loaded = self
            .run(move |c| match projects::find_by_ref(c, &path)? {
                Some(row) if row.full_path == path => {
                    Project::load(c, row, user_id, &base).map(Some)
                }
                _ => Ok(None),
            })
            .await?;
        lock(&self.projects).insert(full_path.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// The group at `full_path`, with its target for this caller; loaded once per request.
    pub async fn group(&self, full_path: &str) -> async_graphql::Result<Option<Group>> {
        if let Some(hit) = lock(&self.groups).get(full_path) {
            return Ok(hit.clone());
        }
        let (path, user_id, base) = (
            full_path.to_string(),
            self.user_id(),
            self.external_url.clone(),
        );
        let loaded = self
            .run(move |c| match groups::find_by_full_path(c, &path)? {
                Some(row) => Group::load(c, row, user_id, &base).map(Some),
                None => Ok(None),
            })
            .await?;
        lock(&self.groups).insert(full_path.to_string(), loaded.clone());
        Ok(loaded)
    }
}

/// A poisoned cache is still a valid cache: every entry was written whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
