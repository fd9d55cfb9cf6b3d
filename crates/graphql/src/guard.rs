//! The guard every declared field carries (written by `declared_fields!`, never by hand). It looks
//! the field's requirement up in the run-time registry, resolves the field's target (an argument's
//! project or group, or the parent object) and calls the gate's `enforce`.

use crate::declare::FieldTarget;
use crate::error::{self, hidden};
use crate::scope::RequestScope;
use async_graphql::{Context, Guard, Value};
use tinforge_authz::{DenyReason, Target};
use tinforge_gate::GateError;
use tinforge_gate::authorized::enforce;

/// Objects whose fields may be declared: they name the target of `FieldTarget::Parent` fields.
pub trait Parent {
    fn parent_target(&self) -> Option<&Target>;
}

/// The guard of one declared field.
pub struct FieldGuard<'a> {
    path: &'static str,
    target: FieldTarget,
    parent: Option<&'a Target>,
}

impl<'a> FieldGuard<'a> {
    pub fn new(path: &'static str, target: FieldTarget, parent: Option<&'a Target>) -> Self {
        FieldGuard {
            path,
            target,
            parent,
        }
    }

    /// Fields outside `Mutation` answer "not there" with `null` and no error.
    fn is_query(&self) -> bool {
        !self.path.starts_with("Mutation.")
    }

    /// A target that does not exist (or the caller cannot see): `null` for queries, GitLab's
    /// "resource not available" error for mutations.
    fn absent(&self) -> async_graphql::Error {
        if self.is_query() {
            hidden()
        } else {
            error::with_code(error::RESOURCE_NOT_AVAILABLE, DenyReason::NotVisible.code())
        }
    }

    async fn resolve_target(
        &self,
        ctx: &Context<'_>,
        scope: &RequestScope,
    ) -> async_graphql::Result<Option<Target>> {
        Ok(match self.target {
            FieldTarget::None | FieldTarget::Each => None,
            FieldTarget::Parent => Some(
                self.parent
                    .cloned()
                    .ok_or_else(|| misdeclared(self.path, "has no parent target"))?,
            ),
            FieldTarget::Project(arg) => {
                let path = argument(ctx, arg)?.ok_or_else(|| self.absent())?;
                let project = scope.project(&path).await?.ok_or_else(|| self.absent())?;
                Some(project.target)
            }
            FieldTarget::Group(arg) => match argument(ctx, arg)? {
                None => None,
                Some(path) => Some(
                    scope
                        .group(&path)
                        .await?
                        .ok_or_else(|| self.absent())?
                        .target,
                ),
            },
            FieldTarget::Namespace(arg) => match argument(ctx, arg)? {
                None => None,
                Some(path) if scope.principal.as_ref().is_some_and(|p| p.username == path) => None,
                Some(path) => Some(
                    scope
                        .group(&path)
                        .await?
                        .ok_or_else(|| self.absent())?
                        .target,
                ),
            },
        })
    }
}

impl Guard for FieldGuard<'_> {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let scope = RequestScope::of(ctx)?;
        if self.path.rsplit('.').next() != Some(ctx.field().name()) {
            return Err(misdeclared(self.path, "is declared on another field"));
        }
        // Fail closed: a field the registry does not know is not served.
        let endpoint = scope
            .registry
            .graphql_field(self.path)
            .ok_or_else(|| misdeclared(self.path, "is not in the endpoint registry"))?;
        let principal = scope.principal.as_ref();
        let requirement = &endpoint.requirement;
        if self.target == FieldTarget::Each
            && principal.is_none()
            && requirement.is_read_only()
            && !requirement.admin
        {
            // Anonymous callers get the public view; every item is judged on its own.
            return Ok(());
        }
        let target = self.resolve_target(ctx, scope).await?;
        match enforce(principal, endpoint, target.as_ref()) {
            Ok(()) => Ok(()),
            Err(GateError::Denied { reason, .. }) => Err(match reason {
                DenyReason::NotVisible => self.absent(),
                // Anonymous readers see `null` where a caller would see their own data.
                DenyReason::Unauthenticated if self.is_query() => hidden(),
                reason => error::denied(
                    &reason,
                    requirement,
                    target.as_ref().map(|t| t.full_path.as_str()),
                ),
            }),
            Err(other) => Err(error::with_code(other.to_string(), "internal")),
        }
    }
}

fn misdeclared(path: &str, problem: &str) -> async_graphql::Error {
    tracing::error!(field = path, problem, "misdeclared GraphQL field");
    error::with_code(format!("field {path} {problem}"), "internal")
}

/// The string value of an argument, `input.projectPath` reaching into an input object.
fn argument(ctx: &Context<'_>, path: &str) -> async_graphql::Result<Option<String>> {
    let args = ctx.field().arguments()?;
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut value = args
        .into_iter()
        .find(|(name, _)| name.as_str() == first)
        .map(|(_, v)| v);
    for part in parts {
        value = match value {
            Some(Value::Object(mut fields)) => fields.shift_remove(part),
            _ => None,
        };
    }
    Ok(match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    })
}
