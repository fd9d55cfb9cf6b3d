//! The `Mutation` root. Every field is declared (see [`crate::declare`]); validation problems are
//! returned in the payload's `errors`, as GitLab does, with the object `null`.
//!
//! GitLab's own schema has neither `groupCreate` nor `projectCreate` (it creates both over REST
//! and offers `groupUpdate`); tinforge adds them in GitLab's naming style.

use crate::declare::{FieldTarget, declared_fields};
use crate::guard::{NamespaceRef, Parent, namespace_of};
use crate::scope::RequestScope;
use crate::types::{Group, Project, VisibilityLevel};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use tinforge_authz::{Role, Target, Visibility};
use tinforge_store::groups::{self, NewGroup};
use tinforge_store::namespaces::{self, WriteError};
use tinforge_store::projects::{self, Namespace, NewProject};
use tinforge_store::{StoreError, users};

/// The root of every mutation.
pub struct MutationRoot;

impl Parent for MutationRoot {
    fn parent_target(&self) -> Option<&Target> {
        None
    }
}

/// Input of `groupCreate`.
#[derive(InputObject)]
pub struct GroupCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Name of the group.
    pub name: String,
    /// Path of the group within its parent (default: derived from the name).
    pub path: Option<String>,
    /// Full path of the parent group; absent for a top-level group.
    pub parent_path: Option<ID>,
    /// Visibility of the group (default: private).
    pub visibility: Option<VisibilityLevel>,
    /// Description of the group.
    pub description: Option<String>,
}

/// Payload of `groupCreate`.
#[derive(SimpleObject)]
pub struct GroupCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new group; null when there are errors.
    pub group: Option<Group>,
}

/// Input of `projectCreate`.
#[derive(InputObject)]
pub struct ProjectCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Name of the project.
    pub name: String,
    /// Path of the project within its namespace (default: derived from the name).
    pub path: Option<String>,
    /// Full path of the group to create the project in, or your username (the default) for
    /// your personal namespace.
    pub namespace_path: Option<ID>,
    /// Visibility of the project (default: private).
    pub visibility: Option<VisibilityLevel>,
    /// Description of the project.
    pub description: Option<String>,
}

/// Payload of `projectCreate`.
#[derive(SimpleObject)]
pub struct ProjectCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new project; null when there are errors.
    pub project: Option<Project>,
}

declared_fields! {
    #[Object(name = "Mutation")]
    impl MutationRoot {
        /// Creates a group, or a subgroup of `parentPath` (Maintainer there). You become its Owner.
        #[declare(
            "Mutation.groupCreate",
            need(group:create).min_role(Role::Maintainer),
            FieldTarget::Group("input.parentPath"),
        )]
        async fn group_create(
            &self,
            ctx: &Context<'_>,
            input: GroupCreateInput,
        ) -> Result<Option<GroupCreatePayload>> {
            let scope = RequestScope::of(ctx)?;
            let user_id = scope.user_id().ok_or_else(unauthenticated)?;
            let parent = match &input.parent_path {
                Some(p) => Some(scope.group(p).await?.ok_or_else(not_available)?.row),
                None => None,
            };
            let base = scope.external_url.clone();
            let created = scope
                .run(move |c| {
                    let path = input.path.unwrap_or_else(|| namespaces::slugify(&input.name));
                    let new = NewGroup {
                        name: &input.name,
                        path: &path,
                        description: input.description.as_deref().unwrap_or_default(),
                        visibility: visibility(input.visibility),
                        parent: parent.as_ref(),
                        owner_id: Some(user_id),
                    };
                    match groups::create(c, &new) {
                        Ok(row) => {
                            tracing::info!(group.id = row.id, group.path = %row.full_path, "group created");
                            Group::load(c, row, Some(user_id), &base).map(Ok)
                        }
                        Err(e) => payload_errors(e).map(Err),
                    }
                })
                .await?;
            let (group, errors) = split(created);
            Ok(Some(GroupCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                group,
            }))
        }

        /// Creates a project in a group (Developer there) or in your personal namespace.
        #[declare(
            "Mutation.projectCreate",
            need(project:create).min_role(Role::Developer),
            FieldTarget::Namespace("input.namespacePath"),
        )]
        async fn project_create(
            &self,
            ctx: &Context<'_>,
            input: ProjectCreateInput,
        ) -> Result<Option<ProjectCreatePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let base = scope.external_url.clone();
            let created = scope
                .run(move |c| {
                    let path = input.path.unwrap_or_else(|| namespaces::slugify(&input.name));
                    let namespace_path = input.namespace_path.as_ref().map(|p| p.as_str());
                    let owner;
                    let group;
                    let namespace = match namespace_of(c, namespace_path, &caller)? {
                        Some(NamespaceRef::Group(full_path)) => {
                            group = groups::find_by_full_path(c, &full_path)?.ok_or(StoreError::NotFound)?;
                            Namespace::Group(&group)
                        }
                        Some(NamespaceRef::User { owner_id, .. }) => {
                            owner = users::find(c, owner_id)?.ok_or(StoreError::NotFound)?;
                            Namespace::User {
                                id: owner.id,
                                username: &owner.username,
                            }
                        }
                        None => return Err(StoreError::NotFound),
                    };
                    let new = NewProject {
                        namespace,
                        name: &input.name,
                        path: &path,
                        description: input.description.as_deref().unwrap_or_default(),
                        visibility: visibility(input.visibility),
                        default_branch: None,
                        creator_id: caller.user_id,
                    };
                    match projects::create(c, &new) {
                        Ok(row) => {
                            tracing::info!(project.id = row.id, project.path = %row.full_path, "project created");
                            Project::load(c, row, Some(caller.user_id), &base).map(Ok)
                        }
                        Err(e) => payload_errors(e).map(Err),
                    }
                })
                .await?;
            let (project, errors) = split(created);
            Ok(Some(ProjectCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                project,
            }))
        }
    }
}

fn unauthenticated() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "unauthenticated")
}

fn not_available() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "not_visible")
}

fn visibility(v: Option<VisibilityLevel>) -> Visibility {
    v.map(Visibility::from).unwrap_or(Visibility::Private)
}

/// The created object, or the payload's `errors`.
fn split<T>(result: Result<T, Vec<String>>) -> (Option<T>, Vec<String>) {
    match result {
        Ok(object) => (Some(object), Vec::new()),
        Err(errors) => (None, errors),
    }
}

/// A store refusal the caller can act on becomes the payload's `errors` (GitLab's full messages:
/// "Path has already been taken"); a storage failure stays an error.
fn payload_errors(e: WriteError) -> Result<Vec<String>, StoreError> {
    match e {
        WriteError::Invalid(problems) => Ok(problems
            .into_iter()
            .map(|(field, message)| full_message(field, &message))
            .collect()),
        WriteError::Conflict(message) => Ok(vec![message]),
        WriteError::Store(e) => Err(e),
    }
}

/// `("visibility_level", "is …")` → `Visibility level is …`.
fn full_message(field: &str, message: &str) -> String {
    let mut human: String = field.replace('_', " ");
    if let Some(first) = human.get(..1) {
        human = first.to_uppercase() + &human[1..];
    }
    format!("{human} {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_gitlabs() {
        assert_eq!(
            full_message("path", "has already been taken"),
            "Path has already been taken"
        );
        assert_eq!(
            full_message("visibility_level", "public is not allowed"),
            "Visibility level public is not allowed"
        );
    }
}
