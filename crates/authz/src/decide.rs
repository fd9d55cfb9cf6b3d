//! `decide()`: the one authorization decision every surface calls. Effective rights are the
//! intersection of what the token grants, what the owner's role allows and the token's boundary.

use crate::catalog::Permission;
use crate::principal::{Principal, TokenKind};
use crate::requirement::{Coverage, Requirement};
use crate::role::Role;
use crate::scope::LegacyScope;
use crate::target::{Target, Visibility};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// No usable credential where one is needed (401).
    Unauthenticated,
    /// The target does not exist for this caller (404, identical to a missing one).
    NotVisible,
    /// The token lacks permissions (403).
    InsufficientScope { missing: Vec<String> },
    /// A grant holds the permissions, but no such grant's boundary reaches the target (403).
    OutsideBoundary,
    /// The owner's role on a visible target is too low (403).
    RoleTooLow { needed: Role, has: Role },
    /// The endpoint does not accept fine-grained tokens (403).
    NotCovered,
    /// Only admins in admin mode may do this (403).
    AdminRequired,
}

impl DenyReason {
    /// The machine name, used as GraphQL `extensions.code` and in audit lines.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::Unauthenticated => "unauthenticated",
            DenyReason::NotVisible => "not_visible",
            DenyReason::InsufficientScope { .. } => "insufficient_scope",
            DenyReason::OutsideBoundary => "outside_boundary",
            DenyReason::RoleTooLow { .. } => "role_too_low",
            DenyReason::NotCovered => "not_covered",
            DenyReason::AdminRequired => "admin_required",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

impl Decision {
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decides whether `principal` (None: anonymous) may do what `req` declares on `target`
/// (None: an endpoint that acts on no project or group).
pub fn decide(
    principal: Option<&Principal>,
    req: &Requirement,
    target: Option<&Target>,
) -> Decision {
    match check(principal, req, target) {
        Ok(()) => Decision::Allow,
        Err(reason) => Decision::Deny(reason),
    }
}

fn check(
    principal: Option<&Principal>,
    req: &Requirement,
    target: Option<&Target>,
) -> Result<(), DenyReason> {
    let Some(p) = principal else {
        return anonymous(req, target);
    };
    let admin_mode = p.in_admin_mode();
    if req.admin && !p.is_admin {
        return Err(DenyReason::AdminRequired);
    }
    if target.is_some_and(|t| !visible_to(p, admin_mode, t)) {
        return Err(DenyReason::NotVisible);
    }
    if req.coverage == Coverage::NotCovered
        && p.kind != TokenKind::Legacy
        && p.kind != TokenKind::Session
    {
        return Err(DenyReason::NotCovered);
    }
    token_allows(p, req, target)?;
    if req.admin && !admin_mode {
        return Err(DenyReason::InsufficientScope {
            missing: vec![LegacyScope::AdminMode.to_string()],
        });
    }
    if let Some(t) = target {
        let has = if admin_mode { Role::Owner } else { t.role };
        let needed = needed_role(req, t);
        if has < needed {
            return Err(DenyReason::RoleTooLow { needed, has });
        }
    }
    Ok(())
}

/// Anonymous callers may read public targets where no role is needed; elsewhere they are asked to
/// authenticate, except that a target they cannot see is simply not there.
fn anonymous(req: &Requirement, target: Option<&Target>) -> Result<(), DenyReason> {
    match target {
        Some(t) if t.visibility != Visibility::Public => Err(DenyReason::NotVisible),
        Some(t) if req.is_read_only() && !req.admin && needed_role(req, t) == Role::None => Ok(()),
        _ => Err(DenyReason::Unauthenticated),
    }
}

/// Reads of public and internal targets are open to everyone signed in; otherwise the declared
/// minimum applies, and reaching a private target at all takes at least Guest.
pub fn needed_role(req: &Requirement, t: &Target) -> Role {
    if req.members_only {
        req.min_role.max(Role::Guest)
    } else if req.is_read_only() && t.visibility != Visibility::Private {
        Role::None
    } else if t.visibility == Visibility::Private {
        req.min_role.max(Role::Guest)
    } else {
        req.min_role
    }
}

/// Visibility is judged with the token's eyes: a fine-grained token sees private and internal
/// targets only inside one of its boundaries, so a leaked token reveals nothing beyond them.
pub fn visible_to(p: &Principal, admin_mode: bool, t: &Target) -> bool {
    let owner_sees = admin_mode || t.visibility != Visibility::Private || t.is_member();
    match p.kind {
        TokenKind::FineGrained | TokenKind::Job => {
            t.visibility == Visibility::Public
                || (owner_sees && p.grants.iter().any(|g| g.boundary.contains(p.user_id, t)))
        }
        TokenKind::Legacy | TokenKind::Session => owner_sees,
    }
}

fn token_allows(
    p: &Principal,
    req: &Requirement,
    target: Option<&Target>,
) -> Result<(), DenyReason> {
    match p.kind {
        TokenKind::Session => Ok(()),
        TokenKind::Legacy => {
            if req.extra_scopes.iter().any(|s| p.scopes.contains(s)) {
                return Ok(());
            }
            let missing = missing_from(req.permissions, |perm| {
                p.scopes.iter().any(|s| s.allows(perm))
            });
            if missing.is_empty() {
                Ok(())
            } else {
                Err(DenyReason::InsufficientScope { missing })
            }
        }
        TokenKind::FineGrained | TokenKind::Job => {
            let holding: Vec<_> = p
                .grants
                .iter()
                .filter(|g| g.holds_all(req.permissions))
                .collect();
            if holding
                .iter()
                .any(|g| g.reaches(p.user_id, req.permissions, target))
            {
                return Ok(());
            }
            // The floor: a fine-grained token can always do what an anonymous caller could.
            if anonymous(req, target).is_ok() {
                return Ok(());
            }
            if !holding.is_empty() {
                return Err(DenyReason::OutsideBoundary);
            }
            let missing = missing_from(req.permissions, |perm| {
                p.grants
                    .iter()
                    .any(|g| g.permissions.contains(&perm) && g.reaches(p.user_id, &[perm], target))
            });
            // Every permission is held somewhere, but never all in one grant that reaches.
            let missing = if missing.is_empty() {
                req.permissions.iter().map(|p| p.to_string()).collect()
            } else {
                missing
            };
            Err(DenyReason::InsufficientScope { missing })
        }
    }
}

fn missing_from(needed: &[Permission], held: impl Fn(Permission) -> bool) -> Vec<String> {
    needed
        .iter()
        .filter(|p| !held(**p))
        .map(|p| p.to_string())
        .collect()
}
