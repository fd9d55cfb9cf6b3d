//! Personal access tokens as REST writes them: GitLab's fields plus tinforge's fine-grained ones
//! (`grants`, and GitLab's `granular_scopes`), the secret only on create and rotate, and the
//! loader that names a selected boundary's projects and groups.

use super::time;
use crate::error::ApiError;
use chrono::Utc;
use serde::Serialize;
use std::collections::BTreeMap;
use tinforge_authz::Boundary;
use tinforge_store::tokens::{self, TokenRecord};
use tinforge_store::{DbConnection, groups, projects};
use utoipa::ToSchema;

/// A project or group named by id and path (a boundary's targets, a permission's uses).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PathRef {
    pub id: i64,
    pub full_path: String,
}

/// A personal access token. The fine-grained fields are there only for fine-grained tokens,
/// the single grant's fields at the top level only when it has exactly one, and `token` only
/// in the create and rotate answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub revoked: bool,
    pub active: bool,
    pub created_at: String,
    /// `YYYY-MM-DD`.
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub last_used_ips: Vec<String>,
    pub scopes: Vec<&'static str>,
    pub user_id: i64,
    pub granular: bool,
    #[serde(flatten)]
    pub single: Option<GrantView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granular_scopes: Option<Vec<GranularScopeView>>,
    /// The secret, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// One grant of a fine-grained token: a boundary and the permissions within it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    /// `personal_projects`, `all_memberships` or `selected`.
    pub boundary: &'static str,
    pub projects: Vec<PathRef>,
    pub groups: Vec<PathRef>,
    /// Actions by resource: `{"issue": ["read", "create"]}`.
    pub permissions: BTreeMap<String, Vec<String>>,
}

/// A grant in GitLab's `granular_scopes` form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GranularScopeView {
    /// `personal_projects`, `all_memberships` or `selected_memberships`.
    pub access: &'static str,
    pub permissions: Vec<String>,
    pub project_ids: Vec<i64>,
    pub group_ids: Vec<i64>,
}

/// A token in REST's shape; `secret` only on create and rotate.
pub fn token(
    conn: &mut DbConnection,
    t: &TokenRecord,
    secret: Option<&str>,
) -> Result<TokenView, ApiError> {
    let today = Utc::now().date_naive();
    let row = &t.row;
    let granular = !t.grants.is_empty() || row.kind == tokens::KIND_FINE_GRAINED;
    let mut view = TokenView {
        id: row.id,
        name: row.name.clone(),
        description: row.description.clone(),
        revoked: row.revoked_at.is_some(),
        active: row.is_active(today),
        created_at: time(row.created_at),
        expires_at: row.expires_at.format("%Y-%m-%d").to_string(),
        last_used_at: row.last_used_at.map(time),
        last_used_ips: row
            .last_used_ips
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        scopes: row.legacy_scopes().iter().map(|s| s.as_str()).collect(),
        user_id: row.user_id,
        granular,
        single: None,
        grants: None,
        granular_scopes: None,
        token: secret.map(str::to_string),
    };
    if granular {
        let mut grants = Vec::new();
        let mut granular_scopes = Vec::new();
        for g in &t.grants {
            let (projects, groups) = boundary_targets(conn, &g.boundary)?;
            let mut permissions: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for p in &g.permissions {
                permissions
                    .entry(p.resource.as_str().to_string())
                    .or_default()
                    .push(p.action.as_str().to_string());
            }
            grants.push(GrantView {
                boundary: g.boundary.name(),
                projects,
                groups,
                permissions,
            });
            let (project_ids, group_ids) = match &g.boundary {
                Boundary::Selected { projects, groups } => (projects.clone(), groups.clone()),
                _ => (Vec::new(), Vec::new()),
            };
            granular_scopes.push(GranularScopeView {
                access: match g.boundary {
                    Boundary::Selected { .. } => "selected_memberships",
                    ref b => b.name(),
                },
                permissions: g.permissions.iter().map(|p| p.gitlab_name()).collect(),
                project_ids,
                group_ids,
            });
        }
        if let [single] = grants.as_slice() {
            view.single = Some(single.clone());
        }
        view.grants = Some(grants);
        view.granular_scopes = Some(granular_scopes);
    }
    Ok(view)
}

/// The projects and groups of a selected boundary.
fn boundary_targets(
    conn: &mut DbConnection,
    b: &Boundary,
) -> Result<(Vec<PathRef>, Vec<PathRef>), ApiError> {
    let Boundary::Selected {
        projects: ps,
        groups: gs,
    } = b
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut projects_out = Vec::new();
    for id in ps {
        if let Some(p) = projects::find(conn, *id)? {
            projects_out.push(PathRef {
                id: p.id,
                full_path: p.full_path,
            });
        }
    }
    let mut groups_out = Vec::new();
    for id in gs {
        if let Some(g) = groups::find(conn, *id)? {
            groups_out.push(PathRef {
                id: g.id,
                full_path: g.full_path,
            });
        }
    }
    Ok((projects_out, groups_out))
}
