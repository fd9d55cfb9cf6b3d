//! What an endpoint needs: the declaration every route, field, git service and registry action
//! carries. The same value is enforced by [`crate::decide`] and reported by the coverage report.

use crate::catalog::{Action, Permission, Resource};
use crate::role::Role;
use crate::scope::LegacyScope;

/// Whether fine-grained tokens are accepted at an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Covered,
    NotCovered,
}

/// Which credential an endpoint authenticates. Most take a user's principal (any token kind or
/// a session, judged by `decide()`); the runner protocol takes a runner token, a job's own calls
/// take that job's token, and the trigger API a trigger token. Those credentials are checked by
/// their endpoint against the job, runner or trigger they name, never by `decide()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticates {
    Principal,
    RunnerToken,
    JobToken,
    TriggerToken,
    /// A username and password (the web sign-in form), checked by the endpoint itself.
    Password,
}

impl Authenticates {
    pub fn as_str(self) -> &'static str {
        match self {
            Authenticates::Principal => "principal",
            Authenticates::RunnerToken => "runner_token",
            Authenticates::JobToken => "job_token",
            Authenticates::TriggerToken => "trigger_token",
            Authenticates::Password => "password",
        }
    }
}

/// The declared need of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// All of these are needed (a conjunction: merge = merge_request:update + repository:update).
    pub permissions: &'static [Permission],
    /// Legacy scopes that satisfy the requirement beyond those the scope table gives.
    pub extra_scopes: &'static [LegacyScope],
    /// The lowest role on the target that may do this (reads of public targets need none).
    pub min_role: Role,
    /// Only admins in admin mode.
    pub admin: bool,
    pub coverage: Coverage,
    /// The credential the endpoint takes; the permissions then describe what it does.
    pub authenticates: Authenticates,
}

impl Requirement {
    /// A requirement of one permission, open to any role that can see the target.
    pub const fn new(permissions: &'static [Permission]) -> Self {
        Requirement {
            permissions,
            extra_scopes: &[],
            min_role: Role::None,
            admin: false,
            coverage: Coverage::Covered,
            authenticates: Authenticates::Principal,
        }
    }

    /// An endpoint that authenticates `credential` itself instead of a principal (the runner
    /// protocol, a job's own calls, the trigger API); personal tokens are not accepted there.
    pub const fn authenticated_by(mut self, credential: Authenticates) -> Self {
        self.authenticates = credential;
        self
    }

    /// Whether `decide()` judges this endpoint (a principal's endpoint).
    pub const fn takes_principal(&self) -> bool {
        matches!(self.authenticates, Authenticates::Principal)
    }

    pub const fn min_role(mut self, role: Role) -> Self {
        self.min_role = role;
        self
    }

    pub const fn also_scopes(mut self, scopes: &'static [LegacyScope]) -> Self {
        self.extra_scopes = scopes;
        self
    }

    /// Admin-only endpoints; fine-grained tokens cannot carry admin mode, so they are not covered.
    pub const fn admin_only(mut self) -> Self {
        self.admin = true;
        self.coverage = Coverage::NotCovered;
        self
    }

    pub const fn not_covered(mut self) -> Self {
        self.coverage = Coverage::NotCovered;
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.permissions.iter().all(|p| p.action == Action::Read)
    }

    /// The primary resource (the first permission's), for reports.
    pub fn resource(&self) -> Resource {
        self.permissions[0].resource
    }

    /// Legacy scopes that satisfy the whole requirement, for reports and error bodies.
    pub fn satisfying_scopes(&self) -> Vec<LegacyScope> {
        let mut scopes: Vec<LegacyScope> = LegacyScope::ALL
            .into_iter()
            .filter(|s| self.permissions.iter().all(|p| s.allows(*p)))
            .chain(self.extra_scopes.iter().copied())
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// `issue:read` or `merge_request:update,repository:update`: the X-Accepted-Permissions value.
    pub fn permission_list(&self) -> String {
        self.permissions
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Declares a `Requirement` constant-style: `require!(issue:read)`,
/// `require!(merge_request:update, repository:update)`.
#[macro_export]
macro_rules! require {
    ($($res:ident : $act:ident),+ $(,)?) => {{
        const REQUIREMENT: $crate::Requirement = $crate::Requirement::new(&[$($crate::Permission::new(
            $crate::__resource!($res), $crate::__action!($act))),+]);
        REQUIREMENT
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __resource {
    (project) => {
        $crate::Resource::Project
    };
    (group) => {
        $crate::Resource::Group
    };
    (member) => {
        $crate::Resource::Member
    };
    (issue) => {
        $crate::Resource::Issue
    };
    (merge_request) => {
        $crate::Resource::MergeRequest
    };
    (pipeline) => {
        $crate::Resource::Pipeline
    };
    (repository) => {
        $crate::Resource::Repository
    };
    (container_registry) => {
        $crate::Resource::ContainerRegistry
    };
    (user) => {
        $crate::Resource::User
    };
    (personal_access_token) => {
        $crate::Resource::PersonalAccessToken
    };
    (runner) => {
        $crate::Resource::Runner
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __action {
    (create) => {
        $crate::Action::Create
    };
    (read) => {
        $crate::Action::Read
    };
    (update) => {
        $crate::Action::Update
    };
    (delete) => {
        $crate::Action::Delete
    };
}

/// Reads that every surface serving them declares alike (REST, git's REST routes, the web
/// pages): merge requests, pipelines and container images of a private project take Reporter.
pub mod reads {
    use super::Requirement;
    use crate::role::Role;

    pub const MERGE_REQUEST: Requirement = require!(merge_request:read).min_role(Role::Reporter);
    pub const PIPELINE: Requirement = require!(pipeline:read).min_role(Role::Reporter);
    pub const CONTAINER_REGISTRY: Requirement =
        require!(container_registry:read).min_role(Role::Reporter);
}
