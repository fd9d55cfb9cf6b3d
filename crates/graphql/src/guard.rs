//! The guard every declared field carries (written by `declared_fields!`, never by hand). It looks
//! the field's requirement up in the run-time registry, resolves the field's target (an argument's
//! project, group or namespace, or the parent object) and calls the gate's `enforce`; lists open
//! through the gate's `listing::open_list`, exactly as REST lists do.

use crate::declare::FieldTarget;
use crate::error::{self, hidden};
use crate::scope::RequestScope;
use crate::types::parse_gid;
use async_graphql::{Context, Guard, Value};
use tinforge_authz::{DenyReason, Principal, Role, Target, TargetKind, Visibility};
use tinforge_gate::authorized::enforce;
use tinforge_gate::{GateError, listing};
use tinforge_store::{
    DbConnection, StoreError, groups, issues, namespaces, notes, projects, registry, users,
};

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

    /// The GraphQL form of a gate refusal.
    fn denial(&self, e: GateError, target: Option<&Target>) -> async_graphql::Error {
        match e {
            GateError::Denied {
                reason,
                requirement,
                ..
            } => match reason {
                DenyReason::NotVisible => self.absent(),
                // Anonymous readers see `null` where a caller would see their own data.
                DenyReason::Unauthenticated if self.is_query() => hidden(),
                reason => {
                    error::denied(&reason, &requirement, target.map(|t| t.full_path.as_str()))
                }
            },
            other => error::with_code(other.to_string(), "internal"),
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
            FieldTarget::IssueProject(arg) | FieldTarget::NoteProject(arg) => {
                let gid = argument(ctx, arg)?.ok_or_else(|| self.absent())?;
                let issue = matches!(self.target, FieldTarget::IssueProject(_));
                let id = parse_gid(if issue { "Issue" } else { "Note" }, &gid)
                    .ok_or_else(|| self.absent())?;
                let located = scope
                    .run(move |c| {
                        if issue {
                            issues::locate(c, id)
                        } else {
                            notes::locate(c, id)
                        }
                    })
                    .await?;
                let (path, _) = located.ok_or_else(|| self.absent())?;
                let project = scope.project(&path).await?.ok_or_else(|| self.absent())?;
                Some(project.target)
            }
            FieldTarget::ContainerRepositoryProject(arg) => {
                let gid = argument(ctx, arg)?.ok_or_else(|| self.absent())?;
                let id = parse_gid("ContainerRepository", &gid).ok_or_else(|| self.absent())?;
                let located = scope
                    .run(move |c| {
                        let Some(repo) = registry::repositories::get(c, id)? else {
                            return Ok(None);
                        };
                        Ok(projects::find(c, repo.project_id)?.map(|p| p.full_path))
                    })
                    .await?;
                let path = located.ok_or_else(|| self.absent())?;
                let project = scope.project(&path).await?.ok_or_else(|| self.absent())?;
                Some(project.target)
            }
            FieldTarget::PipelineProject(arg) => {
                let gid = argument(ctx, arg)?.ok_or_else(|| self.absent())?;
                let id = parse_gid("Ci::Pipeline", &gid).ok_or_else(|| self.absent())?;
                let located = scope
                    .run(move |c| {
                        let Some(p) = tinforge_store::ci::pipelines::find(c, id)? else {
                            return Ok(None);
                        };
                        Ok(projects::find(c, p.project_id)?.map(|p| p.full_path))
                    })
                    .await?;
                let path = located.ok_or_else(|| self.absent())?;
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
            FieldTarget::Namespace(arg) => {
                let path = argument(ctx, arg)?;
                let Some(caller) = scope.principal.clone() else {
                    // Anonymous callers have no namespace of their own; a group named by path is
                    // judged like any target (a private one is simply not there).
                    return match path {
                        Some(p) => Ok(Some(
                            scope.group(&p).await?.ok_or_else(|| self.absent())?.target,
                        )),
                        None => Ok(None),
                    };
                };
                let found = scope
                    .run(move |c| namespace_of(c, path.as_deref(), &caller))
                    .await?;
                match found {
                    Some(NamespaceRef::Group(path)) => Some(
                        scope
                            .group(&path)
                            .await?
                            .ok_or_else(|| self.absent())?
                            .target,
                    ),
                    Some(NamespaceRef::User { target, .. }) => Some(target),
                    None => return Err(self.absent()),
                }
            }
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
        if self.target == FieldTarget::Each {
            if !endpoint.requirement.is_read_only() {
                return Err(misdeclared(self.path, "lists items but is not a read"));
            }
            // The same rule as REST lists; every item is then judged on its own.
            return listing::open_list(principal, endpoint).map_err(|e| self.denial(e, None));
        }
        let target = self.resolve_target(ctx, scope).await?;
        enforce(principal, endpoint, target.as_ref()).map_err(|e| self.denial(e, target.as_ref()))
    }
}

fn misdeclared(path: &str, problem: &str) -> async_graphql::Error {
    tracing::error!(field = path, problem, "misdeclared GraphQL field");
    error::with_code(format!("field {path} {problem}"), "internal")
}

/// A namespace named by a full path.
pub enum NamespaceRef {
    /// A group, by full path.
    Group(String),
    /// A user's personal namespace. The project about to exist there stands as the target, as
    /// REST `POST /projects` judges it: a `personal_projects` or `all_memberships` boundary
    /// reaches it, a `selected` one does not, and only the namespace's owner holds a role there.
    User { owner_id: i64, target: Target },
}

/// The namespace at `path` (None: the caller's own); None when there is no such namespace.
pub fn namespace_of(
    c: &mut DbConnection,
    path: Option<&str>,
    caller: &Principal,
) -> Result<Option<NamespaceRef>, StoreError> {
    let owner = match path {
        None => Some(caller.user_id),
        Some(p) if p == caller.username => Some(caller.user_id),
        Some(p) => {
            if groups::find_by_full_path(c, p)?.is_some() {
                return Ok(Some(NamespaceRef::Group(p.to_string())));
            }
            users::find_by_username(c, p)?.map(|u| u.id)
        }
    };
    let Some(owner_id) = owner else {
        return Ok(None);
    };
    let Some(ns) = namespaces::of_user(c, owner_id)? else {
        return Ok(None);
    };
    let target = Target {
        kind: TargetKind::Project,
        id: 0,
        full_path: ns.full_path,
        visibility: Visibility::Private,
        ancestor_group_ids: Vec::new(),
        personal_owner_id: Some(owner_id),
        role: if owner_id == caller.user_id {
            Role::Owner
        } else {
            Role::None
        },
    };
    Ok(Some(NamespaceRef::User { owner_id, target }))
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
