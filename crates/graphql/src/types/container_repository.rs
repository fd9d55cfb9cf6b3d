//! `ContainerRepository` and `ContainerRepositoryTag`: a project's container image repositories
//! and their tags as GitLab's GraphQL shows them, with GitLab's `ContainerRepositoryID` and
//! `BigInt` scalars, and the work of the `destroyContainerRepository` and
//! `destroyContainerRepositoryTags` mutations (declared in [`crate::mutation`]).
//!
//! The fields reaching repositories are declared with the registry's own `/v2/` requirements:
//! reading is `container_registry:read` (Reporter on private projects), deleting
//! `container_registry:delete` (Maintainer). A repository's tags are part of reading it.

use super::connection::{List, PageArgs, page};
use super::scalars::{Time, gid, parse_gid};
use crate::scope::RequestScope;
use async_graphql::{
    ComplexObject, Context, ID, InputObject, InputValueError, InputValueResult, Result, Scalar,
    ScalarType, SimpleObject, Value,
};
use tinforge_store::registry::{TagDetail, manifests, repositories};
use tinforge_store::{DbConnection, StoreError, projects, write_transaction};

/// GitLab's largest number of tags one `destroyContainerRepositoryTags` deletes.
pub const MAX_TAGS_PER_DESTROY: usize = 20;

/// A `ContainerRepositoryID`: `gid://gitlab/ContainerRepository/1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRepositoryId(pub i64);

/// A `ContainerRepositoryID` is a global ID. It is encoded as a string, for example
/// "gid://gitlab/ContainerRepository/1".
#[Scalar(name = "ContainerRepositoryID")]
impl ScalarType for ContainerRepositoryId {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_gid("ContainerRepository", s)
                .map(ContainerRepositoryId)
                .ok_or_else(|| {
                    InputValueError::custom(format!(
                        "\"{s}\" does not represent an instance of ContainerRepository"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(gid("ContainerRepository", self.0).0)
    }
}

/// A whole number that may exceed 32 bits (GitLab's `BigInt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BigInt(pub i64);

/// Represents non-fractional signed whole numeric values. Since the value may exceed the size
/// of a 32-bit integer, it's encoded as a string.
#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .trim()
                .parse()
                .map(BigInt)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a whole number"))),
            Value::Number(n) => n
                .as_i64()
                .map(BigInt)
                .ok_or_else(|| InputValueError::custom("not a whole number")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// The registry's host as image names carry it: the external URL without its scheme.
pub fn registry_host(external_url: &str) -> String {
    let url = external_url.trim_end_matches('/');
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url)
        .to_string()
}

/// A container image repository of a project.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct ContainerRepository {
    /// ID of the container repository (`gid://gitlab/ContainerRepository/1`).
    pub id: ID,
    /// Name of the container repository: the image path below the project, empty for the
    /// project's own image.
    pub name: String,
    /// Path of the container repository: the full image name (`group/project/name`).
    pub path: String,
    /// URL of the container repository (`<registry host>/<path>`).
    pub location: String,
    /// Timestamp when the container repository was created.
    pub created_at: Time,
    /// Number of tags associated with this image.
    pub tags_count: i64,
    #[graphql(skip)]
    pub row: repositories::ContainerRepository,
}

impl ContainerRepository {
    /// `project_path`: the full path of the repository's project; `host`: the registry host.
    pub fn new(
        row: repositories::ContainerRepository,
        project_path: &str,
        host: &str,
        tags_count: i64,
    ) -> ContainerRepository {
        let path = row.image_name(project_path).to_lowercase();
        ContainerRepository {
            id: gid("ContainerRepository", row.id),
            name: row.name.clone(),
            location: format!("{host}/{path}"),
            path,
            created_at: Time(row.created_at),
            tags_count,
            row,
        }
    }

    /// The repositories of a project, by name; `name` keeps those whose name contains it
    /// (case-insensitive), as GitLab's filter does.
    pub fn of_project(
        c: &mut DbConnection,
        project_id: i64,
        project_path: &str,
        name: Option<&str>,
        host: &str,
    ) -> Result<Vec<ContainerRepository>, StoreError> {
        let mut rows = repositories::list_for_projects(c, &[project_id])?;
        if let Some(needle) = name.map(str::to_lowercase).filter(|n| !n.is_empty()) {
            rows.retain(|r| r.name.to_lowercase().contains(&needle));
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let counts = repositories::tag_counts(c, &ids)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let n = counts.get(&r.id).copied().unwrap_or(0);
                ContainerRepository::new(r, project_path, host, n)
            })
            .collect())
    }

    /// The repository with this id and its project's full path; None when there is none.
    pub fn find(
        c: &mut DbConnection,
        id: i64,
        host: &str,
    ) -> Result<Option<ContainerRepository>, StoreError> {
        let Some(row) = repositories::get(c, id)? else {
            return Ok(None);
        };
        let Some(project) = projects::find(c, row.project_id)? else {
            return Ok(None);
        };
        let counts = repositories::tag_counts(c, &[row.id])?;
        let n = counts.get(&row.id).copied().unwrap_or(0);
        Ok(Some(ContainerRepository::new(
            row,
            &project.full_path,
            host,
            n,
        )))
    }
}

#[ComplexObject]
impl ContainerRepository {
    /// Tags of the container repository, by name (part of reading the repository).
    async fn tags(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Option<List<ContainerRepositoryTag>>> {
        let scope = RequestScope::of(ctx)?;
        let id = self.row.id;
        let tags = scope.run(move |c| manifests::tag_details(c, id)).await?;
        // Tags have no ids of their own: the cursor is the position in name order.
        let items = tags
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    i as i64 + 1,
                    ContainerRepositoryTag::new(t, &self.path, &self.location),
                )
            })
            .collect();
        page(items, &PageArgs::new(after, before, first, last)).map(Some)
    }
}

/// A tag of a container image repository.
#[derive(SimpleObject, Debug, Clone)]
pub struct ContainerRepositoryTag {
    /// Name of the tag.
    pub name: String,
    /// Path of the tag (`<image path>:<tag>`).
    pub path: String,
    /// URL of the tag (`<registry host>/<image path>:<tag>`).
    pub location: String,
    /// Digest of the tag's manifest (`sha256:…`).
    pub digest: Option<String>,
    /// Revision of the tag: the digest of the image's config without `sha256:` (null for an
    /// index, which has no config).
    pub revision: Option<String>,
    /// Short revision of the tag: the first 9 characters of `revision`.
    pub short_revision: Option<String>,
    /// Size of the tag's config and layers, in bytes.
    pub total_size: Option<BigInt>,
    /// Timestamp when the tag was created.
    pub created_at: Option<Time>,
}

impl ContainerRepositoryTag {
    fn new(t: &TagDetail, image_path: &str, image_location: &str) -> ContainerRepositoryTag {
        let revision = t
            .config_digest
            .as_deref()
            .map(|d| d.split_once(':').map_or(d, |(_, hex)| hex).to_string());
        ContainerRepositoryTag {
            name: t.name.clone(),
            path: format!("{image_path}:{}", t.name),
            location: format!("{image_location}:{}", t.name),
            digest: Some(t.digest.clone()),
            short_revision: revision.as_ref().map(|r| r.chars().take(9).collect()),
            revision,
            total_size: Some(BigInt(t.total_size)),
            created_at: Some(Time(t.created_at)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// Input of `destroyContainerRepository`.
#[derive(InputObject)]
pub struct DestroyContainerRepositoryInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// ID of the container repository.
    pub id: ContainerRepositoryId,
}

/// Payload of `destroyContainerRepository`.
#[derive(SimpleObject)]
pub struct DestroyContainerRepositoryPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The container repository as it was before its deletion (deleted at once).
    pub container_repository: ContainerRepository,
}

/// Input of `destroyContainerRepositoryTags`.
#[derive(InputObject)]
pub struct DestroyContainerRepositoryTagsInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// ID of the container repository.
    pub id: ContainerRepositoryId,
    /// Container repository tag(s) to delete. Total number can't be greater than 20.
    pub tag_names: Vec<String>,
}

/// Payload of `destroyContainerRepositoryTags`.
#[derive(SimpleObject)]
pub struct DestroyContainerRepositoryTagsPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// Deleted container repository tags.
    pub deleted_tag_names: Vec<String>,
}

fn not_available() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "not_visible")
}

/// Deletes a repository with its tags and manifests (blobs are left to garbage collection).
/// The guard has judged the repository's project.
pub async fn destroy_repository(
    scope: &RequestScope,
    input: DestroyContainerRepositoryInput,
) -> Result<DestroyContainerRepositoryPayload> {
    let id = input.id.0;
    let host = registry_host(&scope.external_url);
    let deleted = scope
        .run(move |c| {
            let Some(repo) = ContainerRepository::find(c, id, &host)? else {
                return Ok(None);
            };
            Ok(repositories::delete(c, id)?.then_some(repo))
        })
        .await?
        .ok_or_else(not_available)?;
    tracing::info!(
        project.id = deleted.row.project_id,
        container_repository.id = deleted.row.id,
        "container repository deleted"
    );
    Ok(DestroyContainerRepositoryPayload {
        client_mutation_id: input.client_mutation_id,
        errors: Vec::new(),
        container_repository: deleted,
    })
}

/// Deletes up to [`MAX_TAGS_PER_DESTROY`] tags of a repository at once; names that are not tags
/// of it are skipped. The guard has judged the repository's project.
pub async fn destroy_tags(
    scope: &RequestScope,
    input: DestroyContainerRepositoryTagsInput,
) -> Result<DestroyContainerRepositoryTagsPayload> {
    if input.tag_names.len() > MAX_TAGS_PER_DESTROY {
        return Err(crate::error::with_code(
            "Number of tags is greater than 20",
            "invalid_argument",
        ));
    }
    let id = input.id.0;
    let names = input.tag_names;
    let deleted = scope
        .run(move |c| {
            if repositories::get(c, id)?.is_none() {
                return Ok(None);
            }
            write_transaction(c, |c| -> Result<_, StoreError> {
                let mut deleted = Vec::new();
                for name in &names {
                    if !deleted.contains(name) && manifests::delete_tag(c, id, name)? {
                        deleted.push(name.clone());
                    }
                }
                Ok(Some(deleted))
            })
        })
        .await?
        .ok_or_else(not_available)?;
    tracing::info!(
        container_repository.id = id,
        deleted = deleted.len(),
        "container image tags deleted"
    );
    Ok(DestroyContainerRepositoryTagsPayload {
        client_mutation_id: input.client_mutation_id,
        errors: Vec::new(),
        deleted_tag_names: deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_hosts() {
        assert_eq!(
            <ContainerRepositoryId as ScalarType>::parse(Value::String(
                "gid://gitlab/ContainerRepository/7".into()
            ))
            .unwrap(),
            ContainerRepositoryId(7)
        );
        assert!(
            <ContainerRepositoryId as ScalarType>::parse(Value::String(
                "gid://gitlab/Project/7".into()
            ))
            .is_err()
        );
        assert_eq!(BigInt(5).to_value(), Value::String("5".into()));
        assert_eq!(registry_host("http://127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
