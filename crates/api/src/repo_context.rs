//! What every repository and merge request handler starts from: the target project and its
//! repository on disk ([`Ctx`]), the caller as a commit author, blocking git work off the async
//! threads, and the protected-branch checks of a write.

use crate::ApiConfig;
use crate::error::ApiError;
use actix_web::{HttpRequest, web};
use git2::{Commit, Oid, Repository};
use std::path::PathBuf;
use tinforge_authz::Role;
use tinforge_ci::service::push_pipelines::{PipelineTrigger, PushedRef};
use tinforge_gate::authorized::decode;
use tinforge_gate::{Authorized, GateError, branches};
use tinforge_store::git::merging::MergeMethod;
use tinforge_store::git::objects::{self, Person};
use tinforge_store::{StoreError, projects, protected_branches, users};

/// The project a request works on, its repository, and what its writes start.
pub struct Ctx {
    pub project_id: i64,
    pub default_branch: String,
    pub merge_method: MergeMethod,
    pub repo_path: PathBuf,
    /// `<external_url>/<full_path>`, the base of every `web_url`.
    pub web_base: String,
    /// Starts the pipelines of what a write moved (None: the caller's pushes start none).
    pub trigger: Option<PipelineTrigger>,
}

impl Ctx {
    /// Starts pipelines for a ref this request moved from `old` (None: created) to `new`.
    pub fn pushed(&self, name: String, old: Option<Oid>, new: Oid) {
        if let Some(t) = self.trigger.clone() {
            t.spawn(vec![PushedRef {
                old: old.map_or_else(|| "0".repeat(40), |o| o.to_string()),
                new: new.to_string(),
                name,
            }]);
        }
    }
}

fn not_found() -> ApiError {
    ApiError::Store(StoreError::NotFound)
}

/// The target project (the gate resolved it) with its repository, created when missing.
pub async fn context(auth: &Authorized, cfg: &ApiConfig) -> Result<Ctx, ApiError> {
    let project_id = auth.target.as_ref().map(|t| t.id).ok_or_else(not_found)?;
    let project = auth
        .run(move |c| projects::find(c, project_id))
        .await?
        .ok_or_else(not_found)?;
    let trigger = PipelineTrigger::for_pusher(
        auth.store().clone(),
        cfg.repositories.clone(),
        Some(cfg.job_queue.clone()),
        auth.principal.as_ref(),
        project_id,
    );
    let repos = cfg.repositories.clone();
    let branch = project.default_branch.clone();
    let repo_path = blocking(move || {
        repos
            .ensure(project_id, &branch)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(Ctx {
        project_id,
        merge_method: MergeMethod::of_stored(&project.merge_method),
        web_base: format!("{}/{}", cfg.external_url, project.full_path),
        default_branch: project.default_branch,
        repo_path,
        trigger,
    })
}

/// Runs git work on actix's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The caller as commit author and committer.
pub async fn caller(auth: &Authorized) -> Result<Person, ApiError> {
    let user_id = auth.principal()?.user_id;
    let user = auth
        .run(move |c| users::find(c, user_id))
        .await?
        .ok_or(ApiError::Gate(GateError::Unauthorized))?;
    Ok(Person::of_user(&user))
}

/// The lowest role a matching protection lets push (`merge`: merge) to `branch`.
/// Outer None: unprotected; inner None: no one.
pub async fn protection(
    auth: &Authorized,
    project_id: i64,
    branch: &str,
    merge: bool,
) -> Result<Option<Option<Role>>, ApiError> {
    let name = branch.to_string();
    Ok(auth
        .run(move |c| protected_branches::write_role(c, project_id, &name, merge))
        .await?)
}

/// Writes to a protected branch need its push (or merge) level, on top of the declaration.
pub async fn check_branch_write(
    auth: &Authorized,
    branch: &str,
    merge: bool,
) -> Result<(), ApiError> {
    let target = auth.target.as_ref().ok_or_else(not_found)?;
    Ok(branches::check_branch_write(
        auth.store(),
        auth.principal.as_ref(),
        &auth.endpoint,
        target,
        branch,
        merge,
    )
    .await?)
}

/// A path parameter, percent-decoded (file paths and branch names carry encoded slashes).
pub fn path_param(req: &HttpRequest, name: &str) -> String {
    decode(req.match_info().get(name).unwrap_or_default())
}

/// The commit `reference` names; `404 <label> Not Found` when there is none.
pub fn at_ref<'r>(
    repo: &'r Repository,
    reference: &str,
    label: &'static str,
) -> Result<Commit<'r>, ApiError> {
    objects::resolve(repo, reference).ok_or(ApiError::NotFound(label))
}
