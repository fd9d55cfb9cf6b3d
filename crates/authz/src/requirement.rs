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

/// A case in which an endpoint needs more than its base rule. It is declared with the endpoint
/// (so OpenAPI, explain and the matrix show the whole rule), recognised by the handler (it depends
/// on the body or on stored state: the member being an Owner, the branch being protected) and
/// judged by the gate (`Authorized::raise`), which refuses a raise the endpoint did not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRaise {
    /// When it applies, as the documentation says it: `"access_level is Owner, or the member is one"`.
    pub when: &'static str,
    pub to: RaiseTo,
}

/// What a [`RoleRaise`] raises the requirement to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseTo {
    /// At least this role on the target, whatever its visibility (admins in admin mode pass).
    Role(Role),
    /// An administrator in admin mode (the instance's own objects).
    Admin,
    /// The push (or merge) level of the protected branch written to, known only at run time.
    ProtectedBranchLevel,
}

impl RoleRaise {
    pub const fn new(when: &'static str, to: RaiseTo) -> Self {
        RoleRaise { when, to }
    }

    /// GitLab's access level the raise needs (`None` for a run-time level), for reports.
    pub fn access_level(&self) -> Option<i32> {
        match self.to {
            RaiseTo::Role(r) => Some(r.access_level()),
            RaiseTo::Admin | RaiseTo::ProtectedBranchLevel => None,
        }
    }

    /// `"Owner when access_level is Owner"`, for explain and error details.
    pub fn describe(&self) -> String {
        let to = match self.to {
            RaiseTo::Role(r) => format!("{r:?}"),
            RaiseTo::Admin => "admin mode".to_string(),
            RaiseTo::ProtectedBranchLevel => "the protected branch's level".to_string(),
        };
        format!("{to} when {}", self.when)
    }
}

/// Raises more than one endpoint declares alike.
pub mod raises {
    use super::{RaiseTo, RoleRaise};

    /// A write to a protected branch (an API commit, a merge, a push) needs its push or merge level.
    pub const PROTECTED_BRANCH: RoleRaise =
        RoleRaise::new("the branch is protected", RaiseTo::ProtectedBranchLevel);
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
    /// The declared role is needed even on public and internal targets (the secrets of a
    /// project's maintainers: CI variables, triggers, job token settings), where reads are
    /// otherwise open to everyone signed in.
    pub members_only: bool,
    /// Cases that need more than `min_role`, each declared here and judged by the gate.
    pub raises: &'static [RoleRaise],
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
            members_only: false,
            raises: &[],
        }
    }

    /// The declared role is needed on public and internal targets too (see `members_only`).
    pub const fn members_only(mut self) -> Self {
        self.members_only = true;
        self
    }

    /// Declares the cases in which the endpoint needs more (see [`RoleRaise`]).
    pub const fn raised(mut self, raises: &'static [RoleRaise]) -> Self {
        self.raises = raises;
        self
    }

    /// This requirement under one of its declared raises; `level` is the run-time role of a
    /// [`RaiseTo::ProtectedBranchLevel`] raise. None: the raise is not declared here.
    pub fn under(&self, raise: &RoleRaise, level: Option<Role>) -> Option<Requirement> {
        if !self.raises.contains(raise) {
            return None;
        }
        let mut raised = *self;
        match raise.to {
            RaiseTo::Role(role) => {
                raised.min_role = raised.min_role.max(role);
                raised.members_only = true;
            }
            RaiseTo::Admin => raised = raised.admin_only(),
            RaiseTo::ProtectedBranchLevel => {
                raised.min_role = raised.min_role.max(level?);
            }
        }
        Some(raised)
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
