//! Projects, namespaces and groups as GitLab's v4 API writes them: the project (simple and full,
//! and the single-project form with `permissions`), the namespace, the group (and the
//! single-group form with its projects).

use super::users::{UserBasic, user_basic};
use crate::ApiConfig;
use serde::Serialize;
use serde_json::Value;
use tinforge_authz::Role;
use tinforge_store::groups::{GroupRow, GroupTree};
use tinforge_store::namespaces::{self, NamespaceInfo};
use tinforge_store::projects::ProjectRow;
use utoipa::ToSchema;

/// A namespace as `GET /namespaces` and a project's `namespace` show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamespaceView {
    pub id: i64,
    pub name: String,
    pub path: String,
    /// `user` or `group`.
    pub kind: &'static str,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub avatar_url: Option<String>,
    pub web_url: String,
}

/// A group in GitLab's shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub web_url: String,
    pub name: String,
    pub path: String,
    pub description: String,
    pub visibility: String,
    pub full_name: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub avatar_url: Option<String>,
    pub created_at: String,
    pub share_with_group_lock: bool,
    pub require_two_factor_authentication: bool,
    pub project_creation_level: &'static str,
    pub subgroup_creation_level: &'static str,
    pub lfs_enabled: bool,
    pub request_access_enabled: bool,
    pub emails_disabled: bool,
    pub mentions_disabled: bool,
    pub default_branch: Option<String>,
    pub marked_for_deletion_on: Option<String>,
}

/// A single group (`GET /groups/:id`): the group, and with `with_projects` the projects the
/// caller may see (absent otherwise).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupView,
    #[serde(flatten)]
    pub projects: Option<GroupProjects>,
}

/// The projects of a single group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupProjects {
    pub projects: Vec<ProjectView>,
    /// Sharing projects with groups is not supported: always empty.
    pub shared_projects: Vec<ProjectView>,
}

/// The fields of `?simple=true`, which every project form carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectSimple {
    pub id: i64,
    pub description: String,
    pub name: String,
    pub name_with_namespace: String,
    pub path: String,
    pub path_with_namespace: String,
    pub created_at: String,
    pub default_branch: String,
    pub tag_list: Vec<String>,
    pub topics: Vec<String>,
    pub ssh_url_to_repo: Option<String>,
    pub http_url_to_repo: String,
    pub web_url: String,
    pub readme_url: Option<String>,
    pub forks_count: i64,
    pub avatar_url: Option<String>,
    pub star_count: i64,
    pub last_activity_at: String,
    pub namespace: Option<NamespaceView>,
}

/// The fields the full project form adds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectFull {
    pub visibility: String,
    pub empty_repo: bool,
    /// The user of a personal namespace; null for group projects.
    pub owner: Option<UserBasic>,
    pub creator_id: Option<i64>,
    pub archived: bool,
    pub issues_enabled: bool,
    pub merge_requests_enabled: bool,
    pub jobs_enabled: bool,
    pub wiki_enabled: bool,
    pub snippets_enabled: bool,
    pub container_registry_enabled: bool,
    pub issues_access_level: &'static str,
    pub repository_access_level: &'static str,
    pub merge_requests_access_level: &'static str,
    pub merge_method: String,
    pub builds_access_level: &'static str,
    pub container_registry_access_level: &'static str,
    pub open_issues_count: i64,
    /// Sharing projects with groups is not supported: always empty.
    #[schema(value_type = Vec<Object>)]
    pub shared_with_groups: Vec<Value>,
    pub marked_for_deletion_on: Option<String>,
    #[serde(rename = "_links")]
    pub links: ProjectLinks,
}

/// A project's `_links`: its API URLs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectLinks {
    #[serde(rename = "self")]
    pub self_url: String,
    pub issues: String,
    pub merge_requests: String,
    pub repo_branches: String,
    pub labels: String,
    pub events: String,
    pub members: String,
}

/// A project in GitLab's shape: the simple fields, and the full ones unless `simple` was asked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub simple: ProjectSimple,
    #[serde(flatten)]
    pub full: Option<ProjectFull>,
}

/// A single project (`GET /projects/:id`, and what create and edit answer): the full project,
/// the caller's `permissions`, and `runners_token` only for Maintainers (absent otherwise).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: ProjectView,
    pub permissions: Permissions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runners_token: Option<String>,
}

/// GitLab's `permissions` of a single project: the caller's direct project and group access.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Permissions {
    pub project_access: Option<Access>,
    pub group_access: Option<Access>,
}

/// One access entry of [`Permissions`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Access {
    pub access_level: i32,
    pub notification_level: i32,
}

/// `{ext}/{username}` for personal namespaces, `{ext}/groups/{full_path}` for groups.
pub fn namespace_web_url(ns: &NamespaceInfo, cfg: &ApiConfig) -> String {
    if ns.kind == namespaces::KIND_USER {
        format!("{}/{}", cfg.external_url, ns.full_path)
    } else {
        format!("{}/groups/{}", cfg.external_url, ns.full_path)
    }
}

pub fn namespace(ns: &NamespaceInfo, cfg: &ApiConfig) -> NamespaceView {
    NamespaceView {
        id: ns.id,
        name: ns.name.clone(),
        path: ns.path.clone(),
        kind: ns.kind,
        full_path: ns.full_path.clone(),
        parent_id: ns.parent_id,
        avatar_url: None,
        web_url: namespace_web_url(ns, cfg),
    }
}

/// A group; `tree` holds its ancestors (for `full_name`).
pub fn group(g: &GroupRow, tree: &GroupTree, cfg: &ApiConfig) -> GroupView {
    GroupView {
        id: g.id,
        web_url: format!("{}/groups/{}", cfg.external_url, g.full_path),
        name: g.name.clone(),
        path: g.path.clone(),
        description: g.description.clone(),
        visibility: g.visibility.clone(),
        full_name: tree.full_name(g.id).unwrap_or_else(|| g.name.clone()),
        full_path: g.full_path.clone(),
        parent_id: g.parent_id,
        avatar_url: None,
        created_at: super::time(g.created_at),
        share_with_group_lock: false,
        require_two_factor_authentication: false,
        project_creation_level: "developer",
        subgroup_creation_level: "maintainer",
        lfs_enabled: false,
        request_access_enabled: false,
        emails_disabled: false,
        mentions_disabled: false,
        default_branch: None,
        marked_for_deletion_on: None,
    }
}

/// A project (`simple`: the short form of `?simple=true`).
pub fn project(
    p: &ProjectRow,
    ns: Option<&NamespaceInfo>,
    cfg: &ApiConfig,
    simple: bool,
) -> ProjectView {
    let web_url = format!("{}/{}", cfg.external_url, p.full_path);
    let ns_full_name = ns.map(|n| n.full_name.clone()).unwrap_or_default();
    let short = ProjectSimple {
        id: p.id,
        description: p.description.clone(),
        name: p.name.clone(),
        name_with_namespace: format!("{ns_full_name} / {}", p.name),
        path: p.path.clone(),
        path_with_namespace: p.full_path.clone(),
        created_at: super::time(p.created_at),
        default_branch: p.default_branch.clone(),
        tag_list: Vec::new(),
        topics: Vec::new(),
        ssh_url_to_repo: None,
        http_url_to_repo: format!("{web_url}.git"),
        web_url,
        readme_url: None,
        forks_count: 0,
        avatar_url: None,
        star_count: 0,
        last_activity_at: super::time(p.last_activity_at),
        namespace: ns.map(|n| namespace(n, cfg)),
    };
    let full = (!simple).then(|| {
        let api = format!("{}/api/v4/projects/{}", cfg.external_url, p.id);
        ProjectFull {
            visibility: p.visibility.clone(),
            empty_repo: cfg.repositories.is_empty(p.id),
            owner: ns
                .and_then(|n| n.owner.as_ref())
                .map(|u| user_basic(u, cfg)),
            creator_id: p.creator_id,
            archived: false,
            issues_enabled: true,
            merge_requests_enabled: true,
            jobs_enabled: true,
            wiki_enabled: false,
            snippets_enabled: false,
            container_registry_enabled: true,
            issues_access_level: "enabled",
            repository_access_level: "enabled",
            merge_requests_access_level: "enabled",
            merge_method: p.merge_method.clone(),
            builds_access_level: "enabled",
            container_registry_access_level: "enabled",
            open_issues_count: 0,
            shared_with_groups: Vec::new(),
            marked_for_deletion_on: None,
            links: ProjectLinks {
                issues: format!("{api}/issues"),
                merge_requests: format!("{api}/merge_requests"),
                repo_branches: format!("{api}/repository/branches"),
                labels: format!("{api}/labels"),
                events: format!("{api}/events"),
                members: format!("{api}/members"),
                self_url: api,
            },
        }
    });
    ProjectView {
        simple: short,
        full,
    }
}

/// The caller's direct project and group access.
pub fn project_permissions(project: Option<Role>, group: Option<Role>) -> Permissions {
    let access = |r: Option<Role>| {
        r.map(|r| Access {
            access_level: r.access_level(),
            notification_level: 3,
        })
    };
    Permissions {
        project_access: access(project),
        group_access: access(group),
    }
}
