//! Image repositories of a project, created on the first push to their name.

use super::insert_once;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{container_repositories, registry_manifests, registry_tags};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = container_repositories)]
pub struct ContainerRepository {
    pub id: i64,
    pub project_id: i64,
    /// The image path below the project: `""` for the project's own image.
    pub name: String,
    pub created_at: chrono::NaiveDateTime,
}

impl ContainerRepository {
    /// The full image name: the project's path, then the repository's own segments.
    pub fn image_name(&self, project_path: &str) -> String {
        if self.name.is_empty() {
            project_path.to_string()
        } else {
            format!("{project_path}/{}", self.name)
        }
    }
}

pub fn find(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
) -> Result<Option<ContainerRepository>, StoreError> {
    Ok(container_repositories::table
        .filter(container_repositories::project_id.eq(project_id))
        .filter(container_repositories::name.eq(name))
        .select(ContainerRepository::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<ContainerRepository>, StoreError> {
    Ok(container_repositories::table
        .find(id)
        .select(ContainerRepository::as_select())
        .first(conn)
        .optional()?)
}

/// The repository `name` of a project, created when it does not exist yet.
pub fn find_or_create(
    conn: &mut DbConnection,
    project_id: i64,
    name: &str,
) -> Result<ContainerRepository, StoreError> {
    if let Some(r) = find(conn, project_id, name)? {
        return Ok(r);
    }
    insert_once(conn, |conn| {
        diesel::insert_into(container_repositories::table)
            .values((
                container_repositories::project_id.eq(project_id),
                container_repositories::name.eq(name),
                container_repositories::created_at.eq(crate::now()),
            ))
            .execute(conn)
    })?;
    find(conn, project_id, name)?.ok_or(StoreError::NotFound)
}

/// Repositories of these projects, by project then name.
pub fn list_for_projects(
    conn: &mut DbConnection,
    project_ids: &[i64],
) -> Result<Vec<ContainerRepository>, StoreError> {
    Ok(container_repositories::table
        .filter(container_repositories::project_id.eq_any(project_ids))
        .order((
            container_repositories::project_id.asc(),
            container_repositories::name.asc(),
        ))
        .select(ContainerRepository::as_select())
        .load(conn)?)
}

/// Every repository (the catalog; the caller filters by what the caller may see).
pub fn list_all(conn: &mut DbConnection) -> Result<Vec<ContainerRepository>, StoreError> {
    Ok(container_repositories::table
        .order(container_repositories::id.asc())
        .select(ContainerRepository::as_select())
        .load(conn)?)
}

/// Number of tags of each repository.
pub fn tag_counts(
    conn: &mut DbConnection,
    repository_ids: &[i64],
) -> Result<HashMap<i64, i64>, StoreError> {
    let rows: Vec<i64> = registry_tags::table
        .filter(registry_tags::repository_id.eq_any(repository_ids))
        .select(registry_tags::repository_id)
        .load(conn)?;
    let mut counts = HashMap::new();
    for id in rows {
        *counts.entry(id).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Bytes of the distinct manifests' contents (config and layers) of a repository.
pub fn size(conn: &mut DbConnection, repository_id: i64) -> Result<i64, StoreError> {
    let sizes: Vec<i64> = registry_manifests::table
        .filter(registry_manifests::repository_id.eq(repository_id))
        .select(registry_manifests::total_size)
        .load(conn)?;
    Ok(sizes.into_iter().sum())
}

/// Deletes a repository with its tags, manifests, links and uploads (by cascade); blobs are
/// left to garbage collection. True when there was one.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::delete(container_repositories::table.find(id)).execute(conn)?;
    Ok(n > 0)
}
