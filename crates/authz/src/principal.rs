//! Who is calling: the resolved token (or session) with its kind, legacy scopes or grants.

use crate::catalog::Permission;
use crate::scope::LegacyScope;
use crate::target::{Target, TargetKind};
use std::collections::BTreeSet;

/// The kind of credential a principal presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Legacy,
    FineGrained,
    Job,
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Legacy => "legacy",
            TokenKind::FineGrained => "fine_grained",
            TokenKind::Job => "job",
            TokenKind::Session => "session",
        }
    }
}

/// Where a fine-grained grant reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boundary {
    /// Projects in the owner's personal namespace only.
    PersonalProjects,
    /// Every project and group the owner is a member of, now or later.
    AllMemberships,
    /// Listed projects and groups; a group includes its subgroups and their projects.
    Selected {
        projects: Vec<i64>,
        groups: Vec<i64>,
    },
}

impl Boundary {
    pub fn name(&self) -> &'static str {
        match self {
            Boundary::PersonalProjects => "personal_projects",
            Boundary::AllMemberships => "all_memberships",
            Boundary::Selected { .. } => "selected",
        }
    }

    /// Does this boundary, held by `owner_id`, contain `target`?
    pub fn contains(&self, owner_id: i64, target: &Target) -> bool {
        match self {
            Boundary::PersonalProjects => {
                target.kind == TargetKind::Project && target.personal_owner_id == Some(owner_id)
            }
            Boundary::AllMemberships => target.is_member(),
            Boundary::Selected { projects, groups } => {
                let direct = match target.kind {
                    TargetKind::Project => projects.contains(&target.id),
                    TargetKind::Group => groups.contains(&target.id),
                };
                direct || target.ancestor_group_ids.iter().any(|g| groups.contains(g))
            }
        }
    }

    /// Is every target this boundary reaches also reached by `outer` (for the same owner)?
    /// Used to refuse token escalation. Conservative: a selected list may name public projects the
    /// owner is no member of, which `all_memberships` does not reach, so it is never within it.
    pub fn within(&self, outer: &Boundary) -> bool {
        match (self, outer) {
            (Boundary::AllMemberships | Boundary::PersonalProjects, Boundary::AllMemberships) => {
                true
            }
            (Boundary::PersonalProjects, Boundary::PersonalProjects) => true,
            (
                Boundary::Selected { projects, groups },
                Boundary::Selected {
                    projects: op,
                    groups: og,
                },
            ) => projects.iter().all(|p| op.contains(p)) && groups.iter().all(|g| og.contains(g)),
            _ => false,
        }
    }
}

/// A boundary and the permissions held inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub boundary: Boundary,
    pub permissions: BTreeSet<Permission>,
}

impl Grant {
    pub fn holds_all(&self, needed: &[Permission]) -> bool {
        needed.iter().all(|p| self.permissions.contains(p))
    }

    /// Does the grant reach `target` (resources outside projects and groups ignore boundaries)?
    pub fn reaches(&self, owner_id: i64, needed: &[Permission], target: Option<&Target>) -> bool {
        match target {
            Some(t) if !needed.iter().all(|p| p.resource.ignores_boundary()) => {
                self.boundary.contains(owner_id, t)
            }
            _ => true,
        }
    }
}

/// An authenticated caller, as resolved from one credential.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub is_admin: bool,
    pub kind: TokenKind,
    /// The token row's id, when the credential is a token.
    pub token_id: Option<i64>,
    /// The job whose token this is (job tokens only).
    pub job_id: Option<i64>,
    /// Legacy scopes (legacy tokens only).
    pub scopes: Vec<LegacyScope>,
    /// Fine-grained grants (fine-grained and job tokens only).
    pub grants: Vec<Grant>,
}

impl Principal {
    pub fn has_scope(&self, scope: LegacyScope) -> bool {
        self.kind == TokenKind::Legacy && self.scopes.contains(&scope)
    }

    /// An admin acting with admin mode: a session, or a legacy token with `admin_mode`.
    pub fn in_admin_mode(&self) -> bool {
        self.is_admin && (self.kind == TokenKind::Session || self.has_scope(LegacyScope::AdminMode))
    }
}
