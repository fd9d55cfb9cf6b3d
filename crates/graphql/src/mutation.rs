//! The `Mutation` root. Every field is declared (see [`crate::declare`]); validation problems are
//! returned in the payload's `errors`, as GitLab does, with the object `null`.
//!
//! GitLab's own schema has neither `groupCreate` nor `projectCreate` (it creates both over REST
//! and offers `groupUpdate`); tinforge adds them in GitLab's naming style.

use crate::declare::{FieldTarget, declared_fields};
use crate::guard::Parent;
use crate::scope::RequestScope;
use crate::types::{Group, Project, VisibilityLevel};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use tinforge_authz::{Role, Target, TargetKind, Visibility};
use tinforge_store::projects::{self, Namespace};
use tinforge_store::{StoreError, groups, users, write_transaction};

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
        ) -> Result<GroupCreatePayload> {
            let scope = RequestScope::of(ctx)?;
            let user_id = scope.user_id().ok_or_else(unauthenticated)?;
            let parent = match &input.parent_path {
                Some(p) => scope.group(p).await?,
                None => None,
            };
            let visibility = input.visibility.unwrap_or(VisibilityLevel::Private);
            let path = input.path.clone().unwrap_or_else(|| path_from(&input.name));
            let mut errors = check_name_and_path(&input.name, &path);
            if let Some(p) = &parent {
                errors.extend(check_visibility(visibility, p.target.visibility));
            }
            let mut payload = GroupCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                group: None,
            };
            if !payload.errors.is_empty() {
                return Ok(payload);
            }
            let name = input.name;
            let base = scope.external_url.clone();
            let parent_row = parent.map(|p| p.row);
            let created = scope
                .run(move |c| {
                    // `set_member` opens its own write transaction, which SQLite cannot nest.
                    let result = groups::create(c, &name, &path, parent_row.as_ref(), visibility.as_str())
                        .and_then(|g| {
                            projects::set_member(c, TargetKind::Group, g.id, user_id, Role::Owner)?;
                            Ok(g)
                        });
                    match result {
                        Ok(row) => Group::load(c, row, Some(user_id), &base).map(Ok),
                        Err(e) => validation(e).map(Err),
                    }
                })
                .await?;
            match created {
                Ok(group) => payload.group = Some(group),
                Err(message) => payload.errors.push(message),
            }
            Ok(payload)
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
        ) -> Result<ProjectCreatePayload> {
            let scope = RequestScope::of(ctx)?;
            let principal = scope.principal.clone().ok_or_else(unauthenticated)?;
            let group = match input.namespace_path.as_ref().map(|p| p.as_str()) {
                Some(p) if p != principal.username => scope.group(p).await?,
                _ => None,
            };
            let visibility = input.visibility.unwrap_or(VisibilityLevel::Private);
            let path = input.path.clone().unwrap_or_else(|| path_from(&input.name));
            let mut errors = check_name_and_path(&input.name, &path);
            if let Some(g) = &group {
                errors.extend(check_visibility(visibility, g.target.visibility));
            }
            let mut payload = ProjectCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                project: None,
            };
            if !payload.errors.is_empty() {
                return Ok(payload);
            }
            let name = input.name;
            let base = scope.external_url.clone();
            let group_row = group.map(|g| g.row);
            let created = scope
                .run(move |c| {
                    let result = write_transaction(c, |c| {
                        let owner = users::find(c, principal.user_id)?.ok_or(StoreError::NotFound)?;
                        let namespace = match &group_row {
                            Some(g) => Namespace::Group(g),
                            None => Namespace::User {
                                id: owner.id,
                                username: &owner.username,
                            },
                        };
                        projects::create(c, namespace, &name, &path, visibility.as_str(), owner.id)
                    });
                    match result {
                        Ok(row) => Project::load(c, row, Some(principal.user_id), &base).map(Ok),
                        Err(e) => validation(e).map(Err),
                    }
                })
                .await?;
            match created {
                Ok(project) => payload.project = Some(project),
                Err(message) => payload.errors.push(message),
            }
            Ok(payload)
        }
    }
}

fn unauthenticated() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "unauthenticated")
}

/// A store refusal the caller can act on becomes a payload error; anything else stays an error.
fn validation(e: StoreError) -> Result<String, StoreError> {
    match e {
        StoreError::Conflict(m) | StoreError::Invalid(m) => Ok(m),
        other => Err(other),
    }
}

/// `My Project` → `my-project`, as GitLab derives a path from a name.
fn path_from(name: &str) -> String {
    let mut path = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || "_.".contains(c) {
            path.push(c.to_ascii_lowercase());
        } else if !path.ends_with('-') {
            path.push('-');
        }
    }
    path.trim_matches('-').to_string()
}

/// GitLab's rules for names and paths, with its messages.
fn check_name_and_path(name: &str, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.trim().is_empty() {
        errors.push("Name can't be blank".to_string());
    } else if name.chars().count() > 255 {
        errors.push("Name is too long (maximum is 255 characters)".to_string());
    }
    let valid = !path.is_empty()
        && path.len() <= 255
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !path.starts_with(['-', '.'])
        && !path.ends_with('.')
        && !path.ends_with(".git")
        && !path.ends_with(".atom");
    if path.is_empty() {
        errors.push("Path can't be blank".to_string());
    } else if !valid {
        errors.push(
            "Path can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', \
             '.', end in '.', '.git' or '.atom'"
                .to_string(),
        );
    }
    errors
}

/// Nothing inside a group may be more visible than the group.
fn check_visibility(wanted: VisibilityLevel, parent: Visibility) -> Option<String> {
    (Visibility::from(wanted) > parent).then(|| {
        format!(
            "Visibility level {} is not allowed in a {} group",
            wanted.as_str(),
            parent.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_gitlabs_rules() {
        assert_eq!(path_from("My Project!"), "my-project");
        assert_eq!(path_from("  a.b_c  "), "a.b_c");
        assert!(check_name_and_path("x", "ok-path").is_empty());
        assert_eq!(check_name_and_path("", "p"), vec!["Name can't be blank"]);
        assert_eq!(check_name_and_path("x", "").len(), 1);
        for bad in ["-a", ".a", "a.", "a.git", "a b", "a/b"] {
            assert_eq!(check_name_and_path("x", bad).len(), 1, "{bad}");
        }
        assert!(check_visibility(VisibilityLevel::Public, Visibility::Private).is_some());
        assert!(check_visibility(VisibilityLevel::Private, Visibility::Public).is_none());
    }
}
