//! Protected branches as an authorization rule: a write to a protected branch (a commit through
//! the API, a merge) needs the protection's push or merge level on top of the endpoint's declared
//! requirement (the declared raise `raises::PROTECTED_BRANCH`). REST and GraphQL both call [`check_branch_write`], so a branch is exactly as
//! protected on either surface (pushes over git are judged by the git surface's push checks).

use crate::authorized::run_blocking;
use crate::error::GateError;
use crate::judge::Judge;
use crate::registry::Endpoint;
use tinforge_authz::requirement::raises;
use tinforge_authz::{Principal, Target};
use tinforge_store::{Store, StoreError, protected_branches};

/// Why a write to a branch was refused.
#[derive(Debug, thiserror::Error)]
pub enum BranchWriteError {
    /// GitLab's message, for a 403.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The endpoint does not declare the protected-branch raise (a bug; fails closed).
    #[error(transparent)]
    Gate(GateError),
}

/// May the caller write (`merge`: merge) to `branch` of the target project under the endpoint's
/// requirement, raised to the level of any protection matching the branch?
pub async fn check_branch_write(
    store: &Store,
    principal: Option<&Principal>,
    endpoint: &Endpoint,
    target: &Target,
    branch: &str,
    merge: bool,
) -> Result<(), BranchWriteError> {
    let denied = || {
        BranchWriteError::Forbidden(if merge {
            format!("You are not allowed to merge into protected branch '{branch}'")
        } else {
            "You are not allowed to push into this branch".to_string()
        })
    };
    let (project_id, name) = (target.id, branch.to_string());
    let protection = run_blocking(store, move |c| {
        protected_branches::write_role(c, project_id, &name, merge)
    })
    .await?;
    let Some(level) = protection else {
        return Ok(());
    };
    let role = level.ok_or_else(denied)?;
    let judge = Judge {
        principal: principal.cloned(),
        endpoint: endpoint.clone(),
    };
    judge
        .raise_to(&raises::PROTECTED_BRANCH, Some(role), Some(target))
        .map_err(|e| match e {
            GateError::Denied { .. } => denied(),
            other => BranchWriteError::Gate(other),
        })
}

/// May "remove the source branch after merging" remove `branch`? Never the default branch, never
/// a protected one.
pub async fn removable_after_merge(
    store: &Store,
    project_id: i64,
    default_branch: &str,
    branch: &str,
) -> Result<bool, StoreError> {
    Ok(branch != default_branch && !is_protected(store, project_id, branch).await?)
}

/// Is `branch` protected at all (for "remove the source branch after merging", which never
/// removes a protected one)?
async fn is_protected(store: &Store, project_id: i64, branch: &str) -> Result<bool, StoreError> {
    let name = branch.to_string();
    run_blocking(store, move |c| {
        protected_branches::write_role(c, project_id, &name, false).map(|p| p.is_some())
    })
    .await
}
