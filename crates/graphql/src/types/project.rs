//! `Project`, loaded with its authorization target for the caller.

use super::scalars::{Time, gid};
use crate::guard::Parent;
use async_graphql::{ID, SimpleObject};
use tinforge_authz::Target;
use tinforge_store::projects::{self, ProjectRow};
use tinforge_store::{DbConnection, StoreError, users};

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
    /// Loads what the type shows beyond the row (target, namespace names) for `user_id`.
    pub fn load(
        conn: &mut DbConnection,
        row: ProjectRow,
        user_id: Option<i64>,
        external_url: &str,
    ) -> Result<Project, StoreError> {
        let target = projects::project_target(conn, &row, user_id)?;
        let mut names = match (row.group_id, row.owner_id) {
            (Some(g), _) => super::group::full_name_parts(conn, g)?,
            (None, Some(u)) => users::find(conn, u)?
                .map(|u| vec![u.name])
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        };
        names.push(row.name.clone());
        let web_url = format!("{external_url}/{}", row.full_path);
        Ok(Project {
            id: gid("Project", row.id),
            name: row.name.clone(),
            path: row.path.clone(),
            full_path: row.full_path.clone(),
            name_with_namespace: names.join(" / "),
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
        })
    }
}
