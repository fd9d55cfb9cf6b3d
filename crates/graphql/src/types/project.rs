//! `Project`, loaded with its authorization target for the caller and its namespace.

use super::namespace::Namespace;
use super::scalars::{Time, gid};
use crate::guard::Parent;
use async_graphql::{ID, SimpleObject};
use tinforge_authz::{Principal, Requirement, Target};
use tinforge_gate::listing;
use tinforge_store::groups::GroupTree;
use tinforge_store::namespaces::{self, NamespaceInfo};
use tinforge_store::projects::{self, ProjectRow};
use tinforge_store::{DbConnection, StoreError};

/// A project: a repository with its issues, merge requests and pipelines.
#[derive(SimpleObject, Debug, Clone)]
pub struct Project {
    /// Global ID of the project (`gid://gitlab/Project/1`).
    pub id: ID,
    /// Name of the project.
    pub name: String,
    /// Path of the project within its namespace.
    pub path: String,
    /// Full path of the project (`group/subgroup/project`).
    pub full_path: String,
    /// Name of the project with its namespace (`Group / Subgroup / Project`).
    pub name_with_namespace: String,
    /// Namespace of the project: a group, or a user's personal namespace.
    pub namespace: Option<Namespace>,
    /// Short description of the project.
    pub description: Option<String>,
    /// Visibility of the project: `private`, `internal` or `public`.
    pub visibility: String,
    /// Web URL of the project.
    pub web_url: String,
    /// URL to clone the repository over HTTP.
    pub http_url_to_repo: String,
    /// Default branch of the repository.
    pub default_branch: String,
    /// Whether the project is archived.
    pub archived: bool,
    /// When the project was created.
    pub created_at: Time,
    /// When the project last had activity.
    pub last_activity_at: Time,
    #[graphql(skip)]
    pub row: ProjectRow,
    /// The project as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Project {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl Project {
    pub fn new(row: ProjectRow, target: Target, ns: Option<&NamespaceInfo>, base: &str) -> Self {
        let web_url = format!("{base}/{}", row.full_path);
        let name_with_namespace = match ns {
            Some(ns) => format!("{} / {}", ns.full_name, row.name),
            None => row.name.clone(),
        };
        Project {
            id: gid("Project", row.id),
            name: row.name.clone(),
            path: row.path.clone(),
            full_path: row.full_path.clone(),
            name_with_namespace,
            namespace: ns.map(|ns| Namespace::new(ns, base)),
            description: Some(row.description.clone()).filter(|d| !d.is_empty()),
            visibility: row.visibility.clone(),
            http_url_to_repo: format!("{web_url}.git"),
            web_url,
            default_branch: row.default_branch.clone(),
            archived: false,
            created_at: Time(row.created_at),
            last_activity_at: Time(row.last_activity_at),
            row,
            target,
        }
    }

    /// One project with its target for `user_id` (the gate's single-target resolution).
    pub fn load(
        conn: &mut DbConnection,
        row: ProjectRow,
        user_id: Option<i64>,
        base: &str,
    ) -> Result<Project, StoreError> {
        let target = projects::project_target(conn, &row, user_id)?;
        let tree = GroupTree::load(conn, row.group_id)?;
        let ns = namespaces::for_projects(conn, std::slice::from_ref(&row), &tree)?;
        let info = ns.get(&row.id).cloned();
        Ok(Project::new(row, target, info.as_ref(), base))
    }

    /// The projects among `rows` the caller may see for `requirement`, judged one by one with
    /// the token's eyes by the gate's listing (a fixed number of queries for the whole list).
    pub fn visible(
        conn: &mut DbConnection,
        principal: Option<&Principal>,
        requirement: &Requirement,
        rows: Vec<ProjectRow>,
        base: &str,
    ) -> Result<Vec<Project>, StoreError> {
        let visible = listing::projects(conn, principal, requirement, rows)?;
        let rows: Vec<ProjectRow> = visible.items.iter().map(|(p, _)| p.clone()).collect();
        let ns = namespaces::for_projects(conn, &rows, &visible.tree)?;
        Ok(visible
            .items
            .into_iter()
            .map(|(p, t)| {
                let info = ns.get(&p.id);
                Project::new(p, t, info, base)
            })
            .collect())
    }
}
