//! Judgements a handler asks for after the gate's first one, always under the endpoint's own
//! declaration: a declared [`RoleRaise`] that the body or the stored state makes apply (an Owner
//! being added, a protected branch being written), and the declared requirement on a target the
//! handler resolved from the body (`TargetSpec::Resolved`: the namespace a project is created in).
//! A raise the endpoint did not declare is refused, so every rule a handler applies is one that
//! OpenAPI, explain and the matrix show.

use crate::authorized::{Authorized, enforce};
use crate::error::GateError;
use crate::registry::Endpoint;
use tinforge_authz::{Principal, Role, RoleRaise, Target};
use tinforge_store::StoreError;

/// The caller and the declaration, detached from the request so blocking store work can carry it.
#[derive(Debug, Clone)]
pub struct Judge {
    pub principal: Option<Principal>,
    pub endpoint: Endpoint,
}

impl Authorized {
    /// The caller and the declaration, to judge raises inside `run`.
    pub fn judge(&self) -> Judge {
        Judge {
            principal: self.principal.clone(),
            endpoint: self.endpoint.clone(),
        }
    }

    /// Judges a declared raise on the request's target.
    pub fn raise(&self, raise: &RoleRaise) -> Result<(), GateError> {
        let target = self.target.as_ref().ok_or_else(no_target)?;
        self.judge().raise_on(raise, target)
    }
}

impl Judge {
    /// The declared requirement on `target`, which the handler resolved from the request.
    pub fn authorize_on(&self, target: &Target) -> Result<(), GateError> {
        enforce(self.principal.as_ref(), &self.endpoint, Some(target))
    }

    /// The declared requirement raised by `raise`, on `target`.
    pub fn raise_on(&self, raise: &RoleRaise, target: &Target) -> Result<(), GateError> {
        self.raise_to(raise, None, Some(target))
    }

    /// The declared requirement raised by `raise` to the run-time `level` (a protected branch's
    /// push or merge level), on `target` (None: an instance-wide raise to admin mode).
    pub fn raise_to(
        &self,
        raise: &RoleRaise,
        level: Option<Role>,
        target: Option<&Target>,
    ) -> Result<(), GateError> {
        let requirement = self
            .endpoint
            .requirement
            .under(raise, level)
            .ok_or_else(|| undeclared(&self.endpoint, raise))?;
        let raised = Endpoint {
            requirement,
            ..self.endpoint.clone()
        };
        enforce(self.principal.as_ref(), &raised, target)
    }

    pub fn principal(&self) -> Result<&Principal, GateError> {
        self.principal.as_ref().ok_or(GateError::Unauthorized)
    }
}

fn no_target() -> GateError {
    GateError::Store(StoreError::Invalid("a raise needs a target".into()))
}

/// A handler applied a rule its endpoint does not declare: a bug, refused (fail closed).
fn undeclared(endpoint: &Endpoint, raise: &RoleRaise) -> GateError {
    tracing::error!(
        endpoint = %format!("{} {}", endpoint.method, endpoint.path),
        raise = raise.when,
        "undeclared role raise refused"
    );
    GateError::Store(StoreError::Invalid(format!(
        "undeclared role raise on {} {}",
        endpoint.method, endpoint.path
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Surface, TargetSpec};
    use tinforge_authz::{RaiseTo, TargetKind, TokenKind, Visibility, require};

    const OWNER: RoleRaise = RoleRaise::new("the member is an Owner", RaiseTo::Role(Role::Owner));
    const OTHER: RoleRaise = RoleRaise::new("something else", RaiseTo::Role(Role::Owner));

    fn judge(role_raises: &'static [RoleRaise]) -> Judge {
        Judge {
            principal: Some(Principal {
                user_id: 7,
                username: "m".into(),
                is_admin: false,
                kind: TokenKind::Legacy,
                token_id: Some(1),
                job_id: None,
                scopes: vec![tinforge_authz::LegacyScope::Api],
                grants: Vec::new(),
            }),
            endpoint: Endpoint {
                surface: Surface::Rest,
                method: "POST",
                path: "/api/v4/projects/{id}/members".into(),
                requirement: require!(member:create)
                    .min_role(Role::Maintainer)
                    .raised(role_raises),
                target: TargetSpec::Project("id"),
                summary: "",
                response: None,
            },
        }
    }

    fn project(role: Role) -> Target {
        Target {
            kind: TargetKind::Project,
            id: 1,
            full_path: "acme/anvil".into(),
            visibility: Visibility::Public,
            ancestor_group_ids: Vec::new(),
            personal_owner_id: None,
            role,
        }
    }

    #[test]
    fn a_declared_raise_needs_its_role_and_an_undeclared_one_is_refused() {
        let j = judge(&[OWNER]);
        assert!(j.authorize_on(&project(Role::Maintainer)).is_ok());
        assert!(matches!(
            j.raise_on(&OWNER, &project(Role::Maintainer)),
            Err(GateError::Denied { .. })
        ));
        assert!(j.raise_on(&OWNER, &project(Role::Owner)).is_ok());
        assert!(matches!(
            j.raise_on(&OTHER, &project(Role::Owner)),
            Err(GateError::Store(_))
        ));
    }
}
