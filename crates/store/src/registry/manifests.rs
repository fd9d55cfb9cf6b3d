//! Manifests byte for byte as pushed, what they reference, the tags that name them, and the
//! queries of the tags list and the referrers API.

use super::{blobs, insert_once};
use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{registry_manifest_references, registry_manifests, registry_tags};
use diesel::prelude::*;

/// A stored manifest without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = registry_manifests)]
pub struct Manifest {
    pub id: i64,
    pub repository_id: i64,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub subject_digest: Option<String>,
    pub config_digest: Option<String>,
    /// The manifest's `annotations` object as JSON text.
    pub annotations: Option<String>,
    pub size: i64,
    /// Config and layers together (what GitLab calls a tag's `total_size`).
    pub total_size: i64,
    pub created_at: chrono::NaiveDateTime,
}

/// A manifest to store, as the registry parsed it.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    pub digest: &'a str,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub subject_digest: Option<&'a str>,
    pub config_digest: Option<&'a str>,
    pub annotations: Option<String>,
    pub content: &'a [u8],
    /// Blobs it names (config, layers): each must be served by the repository.
    pub blobs: Vec<String>,
    /// Manifests an index names (they may be pushed later, or never: sparse indexes).
    pub children: Vec<String>,
}

/// Why a manifest was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("blob unknown to this repository: {0}")]
    BlobUnknown(String),
    /// The tag names another manifest and moving it was not allowed.
    #[error("tag {0} already names another manifest")]
    TagExists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for PutError {
    fn from(e: diesel::result::Error) -> Self {
        PutError::Store(e.into())
    }
}

/// What storing a manifest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    pub manifest_id: i64,
    /// The digest the tag named before, when it named another manifest (the tag moved).
    pub moved_from: Option<String>,
}

/// A tag with what GitLab's API shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDetail {
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub config_digest: Option<String>,
    pub total_size: i64,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// Stores a manifest (once per repository and digest) and points `tag` at it, all in one
/// transaction: a manifest naming a blob the repository does not serve is refused and nothing is
/// written. `allow_move`: a tag that names another manifest may be moved.
pub fn put(
    conn: &mut DbConnection,
    repository_id: i64,
    new: &NewManifest<'_>,
    tag: Option<&str>,
    allow_move: bool,
) -> Result<PutOutcome, PutError> {
    write_transaction(conn, |conn| {
        let linked = blobs::linked_among(conn, repository_id, &new.blobs)?;
        if let Some(missing) = new.blobs.iter().find(|d| !linked.contains(d)) {
            return Err(PutError::BlobUnknown(missing.clone()));
        }
        let manifest_id = match find_id(conn, repository_id, new.digest)? {
            Some(id) => id,
            None => insert(conn, repository_id, new)?,
        };
        let moved_from = match tag {
            Some(tag) => point_tag(conn, repository_id, tag, manifest_id, allow_move)?,
            None => None,
        };
        Ok(PutOutcome {
            manifest_id,
            moved_from,
        })
    })
}

fn find_id(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(registry_manifests::table
        .filter(registry_manifests::repository_id.eq(repository_id))
        .filter(registry_manifests::digest.eq(digest))
        .select(registry_manifests::id)
        .first(conn)
        .optional()?)
}

fn insert(
    conn: &mut DbConnection,
    repository_id: i64,
    new: &NewManifest<'_>,
) -> Result<i64, PutError> {
    let sizes = blobs::sizes(conn, &new.blobs)?;
    let total_size: i64 = sizes.iter().map(|(_, s)| s).sum();
    let id: i64 = diesel::insert_into(registry_manifests::table)
        .values((
            registry_manifests::repository_id.eq(repository_id),
            registry_manifests::digest.eq(new.digest),
            registry_manifests::media_type.eq(new.media_type),
            registry_manifests::artifact_type.eq(new.artifact_type),
            registry_manifests::subject_digest.eq(new.subject_digest),
            registry_manifests::config_digest.eq(new.config_digest),
            registry_manifests::annotations.eq(new.annotations.as_deref()),
            registry_manifests::size.eq(new.content.len() as i64),
            registry_manifests::total_size.eq(total_size),
            registry_manifests::content.eq(new.content),
            registry_manifests::created_at.eq(crate::now()),
        ))
        .returning(registry_manifests::id)
        .get_result(conn)?;
    let references = new
        .blobs
        .iter()
        .map(|d| (d, "blob"))
        .chain(new.children.iter().map(|d| (d, "manifest")));
    for (digest, kind) in references {
        insert_once(conn, |conn| {
            diesel::insert_into(registry_manifest_references::table)
                .values((
                    registry_manifest_references::manifest_id.eq(id),
                    registry_manifest_references::digest.eq(digest),
                    registry_manifest_references::kind.eq(kind),
                ))
                .execute(conn)
        })?;
    }
    Ok(id)
}

/// Points `tag` at `manifest_id`; returns the digest it named before when that was another one.
fn point_tag(
    conn: &mut DbConnection,
    repository_id: i64,
    tag: &str,
    manifest_id: i64,
    allow_move: bool,
) -> Result<Option<String>, PutError> {
    let now = crate::now();
    let current: Option<(i64, i64)> = registry_tags::table
        .filter(registry_tags::repository_id.eq(repository_id))
        .filter(registry_tags::name.eq(tag))
        .select((registry_tags::id, registry_tags::manifest_id))
        .first(conn)
        .optional()?;
    match current {
        Some((_, m)) if m == manifest_id => Ok(None),
        Some(_) if !allow_move => Err(PutError::TagExists(tag.to_string())),
        Some((tag_id, old)) => {
            let old_digest: String = registry_manifests::table
                .find(old)
                .select(registry_manifests::digest)
                .first(conn)?;
            diesel::update(registry_tags::table.find(tag_id))
                .set((
                    registry_tags::manifest_id.eq(manifest_id),
                    registry_tags::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(old_digest))
        }
        None => {
            diesel::insert_into(registry_tags::table)
                .values((
                    registry_tags::repository_id.eq(repository_id),
                    registry_tags::name.eq(tag),
                    registry_tags::manifest_id.eq(manifest_id),
                    registry_tags::created_at.eq(now),
                    registry_tags::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(None)
        }
    }
}

/// The digest a tag names, if it exists.
pub fn tag_digest(
    conn: &mut DbConnection,
    repository_id: i64,
    tag: &str,
) -> Result<Option<String>, StoreError> {
    Ok(registry_tags::table
        .inner_join(registry_manifests::table)
        .filter(registry_tags::repository_id.eq(repository_id))
        .filter(registry_tags::name.eq(tag))
        .select(registry_manifests::digest)
        .first(conn)
        .optional()?)
}

/// A manifest by digest, without its bytes.
pub fn find(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<Option<Manifest>, StoreError> {
    Ok(registry_manifests::table
        .filter(registry_manifests::repository_id.eq(repository_id))
        .filter(registry_manifests::digest.eq(digest))
        .select(Manifest::as_select())
        .first(conn)
        .optional()?)
}

/// A manifest by tag or digest, with its bytes when `with_content`.
pub fn resolve(
    conn: &mut DbConnection,
    repository_id: i64,
    reference: &str,
    with_content: bool,
) -> Result<Option<(Manifest, Vec<u8>)>, StoreError> {
    let digest = if reference.contains(':') {
        Some(reference.to_string())
    } else {
        tag_digest(conn, repository_id, reference)?
    };
    let Some(digest) = digest else {
        return Ok(None);
    };
    let Some(m) = find(conn, repository_id, &digest)? else {
        return Ok(None);
    };
    let content = if with_content {
        registry_manifests::table
            .find(m.id)
            .select(registry_manifests::content)
            .first(conn)?
    } else {
        Vec::new()
    };
    Ok(Some((m, content)))
}

/// Deletes a manifest and every tag naming it; true when there was one.
pub fn delete(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let Some(id) = find_id(conn, repository_id, digest)? else {
            return Ok(false);
        };
        diesel::delete(registry_tags::table.filter(registry_tags::manifest_id.eq(id)))
            .execute(conn)?;
        diesel::delete(
            registry_manifest_references::table
                .filter(registry_manifest_references::manifest_id.eq(id)),
        )
        .execute(conn)?;
        diesel::delete(registry_manifests::table.find(id)).execute(conn)?;
        Ok(true)
    })
}

/// Deletes a tag (the manifest stays, addressable by digest); true when there was one.
pub fn delete_tag(
    conn: &mut DbConnection,
    repository_id: i64,
    tag: &str,
) -> Result<bool, StoreError> {
    let n = diesel::delete(
        registry_tags::table
            .filter(registry_tags::repository_id.eq(repository_id))
            .filter(registry_tags::name.eq(tag)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Tag names in lexical (byte) order after `last`, at most `limit` of them. Sorted and cut
/// here rather than in SQL: a database's collation (PostgreSQL's `en_US.utf8`, say) orders and
/// compares otherwise, and pages would skip or repeat tags.
pub fn tag_names(
    conn: &mut DbConnection,
    repository_id: i64,
    last: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = registry_tags::table
        .filter(registry_tags::repository_id.eq(repository_id))
        .select(registry_tags::name)
        .load(conn)?;
    names.sort();
    if let Some(last) = last {
        names.retain(|n| n.as_str() > last);
    }
    if let Some(n) = limit {
        names.truncate(n.max(0) as usize);
    }
    Ok(names)
}

/// Every tag of a repository with its manifest's details, by name.
pub fn tag_details(
    conn: &mut DbConnection,
    repository_id: i64,
) -> Result<Vec<TagDetail>, StoreError> {
    let rows: Vec<(
        String,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
        Manifest,
    )> = registry_tags::table
        .inner_join(registry_manifests::table)
        .filter(registry_tags::repository_id.eq(repository_id))
        .select((
            registry_tags::name,
            registry_tags::created_at,
            registry_tags::updated_at,
            Manifest::as_select(),
        ))
        .load(conn)?;
    let mut tags: Vec<TagDetail> = rows
        .into_iter()
        .map(|(name, created_at, updated_at, m)| TagDetail {
            name,
            digest: m.digest,
            media_type: m.media_type,
            config_digest: m.config_digest,
            total_size: m.total_size,
            created_at,
            updated_at,
        })
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tags)
}

/// Manifests of the repository whose `subject` is `digest`, optionally of one artifact type.
pub fn referrers(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<Manifest>, StoreError> {
    Ok(registry_manifests::table
        .filter(registry_manifests::repository_id.eq(repository_id))
        .filter(registry_manifests::subject_digest.eq(digest))
        .order(registry_manifests::id.asc())
        .select(Manifest::as_select())
        .load(conn)?)
}
