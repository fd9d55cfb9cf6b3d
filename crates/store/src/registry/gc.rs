//! Garbage collection of registry blobs, safe while the registry serves:
//!
//! 1. a repository's link to a blob goes when no manifest of that repository names the blob and
//!    the link is older than the grace period (a push uploads blobs before its manifest);
//! 2. a blob goes when no repository links it and no upload touched it within the grace period.
//!    Its row is deleted and its bytes removed inside one write transaction, and an upload
//!    records (touches) a blob in its own transaction before moving the bytes in, so a blob being
//!    pushed again is never removed under the push.
//!
//! Abandoned upload sessions (untouched for a day by default) go with their staged bytes.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{
    registry_blobs, registry_manifest_references, registry_manifests, registry_repository_blobs,
};
use diesel::prelude::*;

/// What a collection removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub links_removed: usize,
    pub blobs_removed: Vec<(String, i64)>,
    pub uploads_removed: Vec<String>,
}

impl GcReport {
    pub fn bytes_freed(&self) -> i64 {
        self.blobs_removed.iter().map(|(_, s)| s).sum()
    }
}

/// Links no manifest of their repository names, created before `cutoff`.
fn stale_links(
    conn: &mut DbConnection,
    cutoff: chrono::NaiveDateTime,
) -> Result<Vec<(i64, String)>, StoreError> {
    let links: Vec<(i64, String)> = registry_repository_blobs::table
        .filter(registry_repository_blobs::created_at.lt(cutoff))
        .select((
            registry_repository_blobs::repository_id,
            registry_repository_blobs::digest,
        ))
        .load(conn)?;
    let referenced: Vec<(i64, String)> = registry_manifest_references::table
        .inner_join(registry_manifests::table)
        .filter(registry_manifest_references::kind.eq("blob"))
        .select((
            registry_manifests::repository_id,
            registry_manifest_references::digest,
        ))
        .load(conn)?;
    let referenced: std::collections::HashSet<(i64, String)> = referenced.into_iter().collect();
    Ok(links
        .into_iter()
        .filter(|l| !referenced.contains(l))
        .collect())
}

/// Blobs no repository links, untouched since `cutoff`.
fn unlinked_blobs(
    conn: &mut DbConnection,
    cutoff: chrono::NaiveDateTime,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(registry_blobs::table
        .left_join(registry_repository_blobs::table)
        .filter(registry_repository_blobs::digest.is_null())
        .filter(registry_blobs::touched_at.lt(cutoff))
        .select((registry_blobs::digest, registry_blobs::size))
        .load(conn)?)
}

/// Runs the collection with blobs older than `cutoff` eligible. `remove_bytes` deletes a blob's
/// bytes from the blob store; it runs inside the transaction that deletes the blob's row, so a
/// failure keeps the row. `dry_run` only reports.
pub fn collect(
    conn: &mut DbConnection,
    cutoff: chrono::NaiveDateTime,
    dry_run: bool,
    remove_bytes: &mut dyn FnMut(&str) -> Result<(), String>,
) -> Result<GcReport, StoreError> {
    let mut report = GcReport::default();
    let links = stale_links(conn, cutoff)?;
    if dry_run {
        report.links_removed = links.len();
        let linked_elsewhere: std::collections::HashSet<String> = {
            let all: Vec<(i64, String)> = registry_repository_blobs::table
                .select((
                    registry_repository_blobs::repository_id,
                    registry_repository_blobs::digest,
                ))
                .load(conn)?;
            all.into_iter()
                .filter(|l| !links.contains(l))
                .map(|(_, d)| d)
                .collect()
        };
        let blobs: Vec<(String, i64)> = registry_blobs::table
            .filter(registry_blobs::touched_at.lt(cutoff))
            .select((registry_blobs::digest, registry_blobs::size))
            .load(conn)?;
        report.blobs_removed = blobs
            .into_iter()
            .filter(|(d, _)| !linked_elsewhere.contains(d))
            .collect();
        return Ok(report);
    }
    for (repository_id, digest) in links {
        report.links_removed += write_transaction(conn, |conn| {
            // Re-checked inside the transaction: a manifest pushed meanwhile keeps the link.
            let named = registry_manifest_references::table
                .inner_join(registry_manifests::table)
                .filter(registry_manifests::repository_id.eq(repository_id))
                .filter(registry_manifest_references::digest.eq(&digest))
                .count()
                .get_result::<i64>(conn)?;
            if named > 0 {
                return Ok::<usize, StoreError>(0);
            }
            Ok(diesel::delete(
                registry_repository_blobs::table
                    .filter(registry_repository_blobs::repository_id.eq(repository_id))
                    .filter(registry_repository_blobs::digest.eq(&digest))
                    .filter(registry_repository_blobs::created_at.lt(cutoff)),
            )
            .execute(conn)?)
        })?;
    }
    for (digest, size) in unlinked_blobs(conn, cutoff)? {
        let removed = write_transaction(conn, |conn| {
            let links = registry_repository_blobs::table
                .filter(registry_repository_blobs::digest.eq(&digest))
                .count()
                .get_result::<i64>(conn)?;
            if links > 0 {
                return Ok::<bool, StoreError>(false);
            }
            let n = diesel::delete(
                registry_blobs::table
                    .filter(registry_blobs::digest.eq(&digest))
                    .filter(registry_blobs::touched_at.lt(cutoff)),
            )
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
            remove_bytes(&digest).map_err(StoreError::Unavailable)?;
            Ok(true)
        })?;
        if removed {
            report.blobs_removed.push((digest, size));
        }
    }
    Ok(report)
}

/// Digests the database records, for finding bytes in the blob store that nothing records.
pub fn recorded_digests(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(registry_blobs::table
        .select(registry_blobs::digest)
        .load(conn)?)
}
