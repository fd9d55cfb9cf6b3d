//! The git surface: bare repositories on disk (one per project), git smart HTTP for clone, fetch
//! and push with per-ref rights, and the protected-branch rules pushes are checked against (push
//! checks and a pre-receive hook for force-pushes). The REST API over repositories, merge
//! requests and protected branches lives in `tinforge-api`.
//!
//! Every git service is declared in the gate's endpoint registry ([`declare_git`]), including one
//! declaration per kind of ref update (`PUSH … refs create|update|delete`), and every decision goes
//! through the gate's `enforce()`, so the coverage report and the operator's not-covered setting
//! apply to git exactly as to REST.

pub mod error;
pub mod hook;
pub mod pkt;
pub mod protected;
pub mod push;
pub mod smart;

pub use error::GitError;
pub use smart::configure;
pub use tinforge_store::git::Repositories;

use std::path::{Path, PathBuf};
use tinforge_authz::requirement::raises;
use tinforge_authz::{Role, require};
use tinforge_gate::{Endpoint, EndpointRegistry, Surface, TargetSpec};

/// Settings of the git surface, shared as actix app data.
#[derive(Debug, Clone)]
pub struct GitConfig {
    pub repos: Repositories,
    /// The tinforge binary, which the pre-receive hook calls back (`tinforge git-hook …`).
    pub hook_bin: PathBuf,
}

impl GitConfig {
    /// Repositories under `<data_dir>/repositories`, the hook calling this very binary.
    pub fn new(data_dir: &Path) -> std::io::Result<GitConfig> {
        Ok(GitConfig {
            repos: Repositories::new(data_dir.join("repositories")),
            hook_bin: std::env::current_exe()?,
        })
    }
}

/// The declared git endpoints, as (method, path) registry keys.
pub mod endpoints {
    pub const UPLOAD_REFS: (&str, &str) = (
        "GET",
        "/{project_path}.git/info/refs?service=git-upload-pack",
    );
    pub const UPLOAD_RPC: (&str, &str) = ("POST", "/{project_path}.git/git-upload-pack");
    pub const RECEIVE_REFS: (&str, &str) = (
        "GET",
        "/{project_path}.git/info/refs?service=git-receive-pack",
    );
    pub const RECEIVE_RPC: (&str, &str) = ("POST", "/{project_path}.git/git-receive-pack");
    /// Per-ref checks of a push: not HTTP routes, but declared and enforced like them.
    pub const PUSH_CREATE: (&str, &str) = ("PUSH", "/{project_path}.git refs create");
    pub const PUSH_UPDATE: (&str, &str) = ("PUSH", "/{project_path}.git refs update");
    pub const PUSH_DELETE: (&str, &str) = ("PUSH", "/{project_path}.git refs delete");
}

/// Adds the git services to the endpoint registry (surface `git`).
pub fn declare_git(registry: &mut EndpointRegistry) -> Result<(), String> {
    // Reading code takes Reporter on private projects (anyone on public ones).
    let read = require!(repository:read).min_role(Role::Reporter);
    let declarations = [
        (
            endpoints::UPLOAD_REFS,
            read,
            "Clone/fetch: ref advertisement",
        ),
        (
            endpoints::UPLOAD_RPC,
            read,
            "Clone/fetch: negotiation and pack",
        ),
        (
            endpoints::RECEIVE_REFS,
            read,
            "Push: ref advertisement (each ref update is checked on its own)",
        ),
        (
            endpoints::RECEIVE_RPC,
            read,
            "Push: commands and pack (each ref update is checked on its own)",
        ),
        (
            endpoints::PUSH_CREATE,
            require!(repository:create)
                .min_role(Role::Developer)
                .raised(&[raises::PROTECTED_BRANCH]),
            "Push: create a branch or tag",
        ),
        (
            endpoints::PUSH_UPDATE,
            require!(repository:update)
                .min_role(Role::Developer)
                .raised(&[raises::PROTECTED_BRANCH]),
            "Push: move an existing branch or tag",
        ),
        (
            endpoints::PUSH_DELETE,
            require!(repository:delete).min_role(Role::Developer),
            "Push: delete a branch or tag",
        ),
    ];
    for ((method, path), requirement, summary) in declarations {
        registry.add(Endpoint {
            surface: Surface::Git,
            method,
            path: path.to_string(),
            requirement,
            target: TargetSpec::Project("project_path"),
            summary,
            response: None,
        })?;
    }
    Ok(())
}
