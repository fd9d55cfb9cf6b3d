//! The `Query` root. Every field is declared (see [`crate::declare`]).

use crate::declare::{FieldTarget, declared_fields};
use crate::guard::Parent;
use crate::scope::RequestScope;
use crate::types::{
    ContainerRepository, ContainerRepositoryId, Group, List, PageArgs, Project, User, page,
    parse_gid, registry_host,
};
use async_graphql::{Context, ID, Object, Result};
use tinforge_authz::{Role, Target};
use tinforge_gate::listing;
use tinforge_store::groups::{self, GroupFilter, GroupOrder};
use tinforge_store::projects::{self, ProjectFilter, ProjectOrder};
use tinforge_store::users;

/// The root of every query.
pub struct QueryRoot;

impl Parent for QueryRoot {
    fn parent_target(&self) -> Option<&Target> {
        None
    }
}

declared_fields! {
    #[Object(name = "Query")]
    impl QueryRoot {
        /// The user the request is made as; null for anonymous requests.
        #[declare("Query.currentUser", need(user:read), FieldTarget::None)]
        async fn current_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            let scope = RequestScope::of(ctx)?;
            let Some(id) = scope.user_id() else {
                return Ok(None);
            };
            let base = scope.external_url.clone();
            scope
                .run(move |c| Ok(users::find(c, id)?.map(|u| User::from_row(&u, &base))))
                .await
        }

        /// A user by username or global id (`gid://gitlab/User/1`); profiles are public.
        #[declare("Query.user", need(user:read), FieldTarget::Each)]
        async fn user(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Global ID of the user.")] id: Option<ID>,
            #[graphql(desc = "Username of the user.")] username: Option<String>,
        ) -> Result<Option<User>> {
            let scope = RequestScope::of(ctx)?;
            let reference = match (id, username) {
                (Some(id), None) => match parse_gid("User", &id) {
                    Some(n) => n.to_string(),
                    None => return Ok(None),
                },
                (None, Some(username)) => username,
                _ => {
                    return Err(crate::error::with_code(
                        "Provide either a single username or id",
                        "invalid_argument",
                    ));
                }
            };
            let by_id = reference.parse::<i64>().is_ok();
            let base = scope.external_url.clone();
            scope
                .run(move |c| {
                    let found = if by_id {
                        users::find_by_ref(c, &reference)?
                    } else {
                        users::find_by_username(c, &reference)?
                    };
                    Ok(found.map(|u| User::from_row(&u, &base)))
                })
                .await
        }

        /// A project by its full path; null when it does not exist or the caller cannot see it.
        #[declare("Query.project", need(project:read), FieldTarget::Project("fullPath"))]
        async fn project(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Full path of the project (`group/project`).")] full_path: ID,
        ) -> Result<Option<Project>> {
            RequestScope::of(ctx)?.project(&full_path).await
        }

        /// Projects the caller may see (with a token: with the token's eyes), by ascending id.
        #[declare("Query.projects", need(project:read), FieldTarget::Each)]
        async fn projects(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Name or path contains this text.")] search: Option<String>,
            #[graphql(desc = "With `search`: match the full path with namespace too.")]
            search_namespaces: Option<bool>,
            #[graphql(desc = "Only projects the current user is a member of.")]
            membership: Option<bool>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Project>>> {
            let scope = RequestScope::of(ctx)?;
            let requirement = scope.requirement(FIELD)?;
            let (principal, base) = (scope.principal.clone(), scope.external_url.clone());
            let items = scope
                .run(move |c| {
                    let filter = ProjectFilter {
                        viewer: listing::viewer(principal.as_ref()),
                        search,
                        search_namespaces: search_namespaces == Some(true),
                        min_access_level: (membership == Some(true)).then_some(Role::Guest),
                        ..ProjectFilter::default()
                    };
                    let rows = projects::list(c, &filter, ProjectOrder::Id, false)?;
                    Project::visible(c, principal.as_ref(), &requirement, rows, &base)
                })
                .await?;
            page(
                items.into_iter().map(|p| (p.row.id, p)).collect(),
                &PageArgs::new(after, before, first, last),
            )
            .map(Some)
        }

        /// Groups the caller may see (with a token: with the token's eyes), by ascending id.
        #[declare("Query.groups", need(group:read), FieldTarget::Each)]
        async fn groups(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Name or path contains this text.")] search: Option<String>,
            #[graphql(desc = "Only groups the current user is a member of.")]
            membership: Option<bool>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Group>>> {
            let scope = RequestScope::of(ctx)?;
            let requirement = scope.requirement(FIELD)?;
            let (principal, base) = (scope.principal.clone(), scope.external_url.clone());
            let items = scope
                .run(move |c| {
                    let filter = GroupFilter {
                        viewer: listing::viewer(principal.as_ref()),
                        search,
                        min_access_level: (membership == Some(true)).then_some(Role::Guest),
                        ..GroupFilter::default()
                    };
                    let rows = groups::list(c, &filter, GroupOrder::Id, false)?;
                    Group::visible(c, principal.as_ref(), &requirement, rows, &base)
                })
                .await?;
            page(
                items.into_iter().map(|g| (g.row.id, g)).collect(),
                &PageArgs::new(after, before, first, last),
            )
            .map(Some)
        }

        /// A container image repository by its global id; null when it does not exist or the
        /// caller may not read its project's registry (container_registry:read, Reporter+, as
        /// pulling over `/v2/`).
        #[declare(
            "Query.containerRepository",
            need(container_registry:read).min_role(Role::Reporter),
            FieldTarget::ContainerRepositoryProject("id"),
        )]
        async fn container_repository(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Global ID of the container repository.")] id: ContainerRepositoryId,
        ) -> Result<Option<ContainerRepository>> {
            let scope = RequestScope::of(ctx)?;
            let host = registry_host(&scope.external_url);
            scope.run(move |c| ContainerRepository::find(c, id.0, &host)).await
        }

        /// A group by its full path; null when it does not exist or the caller cannot see it.
        #[declare("Query.group", need(group:read), FieldTarget::Group("fullPath"))]
        async fn group(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Full path of the group (`group/subgroup`).")] full_path: ID,
        ) -> Result<Option<Group>> {
            RequestScope::of(ctx)?.group(&full_path).await
        }
    }
}
