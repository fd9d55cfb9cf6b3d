//! `Group`, loaded with its authorization target for the caller, and its declared connections.

use super::connection::{List, PageArgs, page};
use super::project::Project;
use super::scalars::{Time, gid};
use crate::declare::{FieldTarget, declared_fields};
use crate::guard::Parent;
use crate::scope::RequestScope;
use async_graphql::{ComplexObject, Context, ID, Result, SimpleObject};
use tinforge_authz::{Principal, Requirement, Target};
use tinforge_gate::listing;
use tinforge_store::groups::{self, GroupFilter, GroupOrder, GroupRow, GroupTree};
use tinforge_store::projects::{self, ProjectFilter, ProjectOrder};
use tinforge_store::{DbConnection, StoreError};

/// A group: a namespace of projects and subgroups.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Group {
    /// Global ID of the group (`gid://gitlab/Group/1`).
    pub id: ID,
    /// Name of the group.
    pub name: String,
    /// Path of the group within its parent.
    pub path: String,
    /// Full path of the group (`group/subgroup`).
    pub full_path: String,
    /// Full name of the group with its parents (`Group / Subgroup`).
    pub full_name: String,
    /// Description of the group.
    pub description: Option<String>,
    /// Visibility of the group: `private`, `internal` or `public`.
    pub visibility: String,
    /// Web URL of the group.
    pub web_url: String,
    /// When the group was created.
    pub created_at: Time,
    #[graphql(skip)]
    pub row: GroupRow,
    /// The group as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Group {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl Group {
    pub fn new(row: GroupRow, target: Target, full_name: Option<String>, base: &str) -> Self {
        Group {
            id: gid("Group", row.id),
            name: row.name.clone(),
            path: row.path.clone(),
            full_path: row.full_path.clone(),
            full_name: full_name.unwrap_or_else(|| row.name.clone()),
            description: Some(row.description.clone()).filter(|d| !d.is_empty()),
            visibility: row.visibility.clone(),
            web_url: format!("{base}/groups/{}", row.full_path),
            created_at: Time(row.created_at),
            row,
            target,
        }
    }

    /// One group with its target for `user_id` (the gate's single-target resolution).
    pub fn load(
        conn: &mut DbConnection,
        row: GroupRow,
        user_id: Option<i64>,
        base: &str,
    ) -> Result<Group, StoreError> {
        let target = projects::group_target(conn, &row, user_id)?;
        let full_name = GroupTree::load(conn, [row.id])?.full_name(row.id);
        Ok(Group::new(row, target, full_name, base))
    }

    /// The groups among `rows` the caller may see for `requirement`, judged one by one with the
    /// token's eyes by the gate's listing.
    pub fn visible(
        conn: &mut DbConnection,
        principal: Option<&Principal>,
        requirement: &Requirement,
        rows: Vec<GroupRow>,
        base: &str,
    ) -> Result<Vec<Group>, StoreError> {
        let visible = listing::groups(conn, principal, requirement, rows)?;
        let tree = visible.tree;
        Ok(visible
            .items
            .into_iter()
            .map(|(g, t)| {
                let full_name = tree.full_name(g.id);
                Group::new(g, t, full_name, base)
            })
            .collect())
    }
}

declared_fields! {
    #[ComplexObject]
    impl Group {
        /// Projects of the group (and of its subgroups with `includeSubgroups`) that the caller
        /// may see.
        #[declare("Group.projects", need(project:read), FieldTarget::Parent)]
        async fn projects(
            &self,
            ctx: &Context<'_>,
            #[graphql(default = false, desc = "Include projects of subgroups.")]
            include_subgroups: bool,
            #[graphql(desc = "Name or path contains this text.")] search: Option<String>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Project>>> {
            let scope = RequestScope::of(ctx)?;
            let requirement = scope.requirement(FIELD)?;
            let (id, principal, base) = (self.row.id, scope.principal.clone(), scope.external_url.clone());
            let items = scope
                .run(move |c| {
                    let group_ids = if include_subgroups {
                        groups::self_and_descendants(c, &[id])?
                    } else {
                        vec![id]
                    };
                    let filter = ProjectFilter {
                        viewer: listing::viewer(principal.as_ref()),
                        search,
                        group_ids: Some(group_ids),
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

        /// Subgroups below the group (all levels, or only direct children when
        /// `includeParentDescendants` is false) that the caller may see.
        #[declare("Group.descendantGroups", need(group:read), FieldTarget::Parent)]
        async fn descendant_groups(
            &self,
            ctx: &Context<'_>,
            #[graphql(default = true, desc = "Include subgroups of subgroups.")]
            include_parent_descendants: bool,
            #[graphql(desc = "Name or path contains this text.")] search: Option<String>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Group>>> {
            let scope = RequestScope::of(ctx)?;
            let requirement = scope.requirement(FIELD)?;
            let (id, principal, base) = (self.row.id, scope.principal.clone(), scope.external_url.clone());
            let items = scope
                .run(move |c| {
                    let mut filter = GroupFilter {
                        viewer: listing::viewer(principal.as_ref()),
                        search,
                        ..GroupFilter::default()
                    };
                    if include_parent_descendants {
                        let below = groups::self_and_descendants(c, &[id])?;
                        filter.ids = Some(below.into_iter().filter(|g| *g != id).collect());
                    } else {
                        filter.parent_id = Some(id);
                    }
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
    }
}
