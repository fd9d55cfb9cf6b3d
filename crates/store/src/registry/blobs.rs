//! Blob metadata: the content-addressed blobs the blob store holds (once, whichever projects
//! pushed them) and the links that let a repository serve one.

use super::insert_once;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{registry_blobs, registry_repository_blobs};
use diesel::prelude::*;

/// Records that `digest` (of `size` bytes) is being placed in the blob store, refreshing
/// `touched_at` so garbage collection leaves it alone. Call it before moving the bytes in.
pub fn touch(conn: &mut DbConnection, digest: &str, size: i64) -> Result<(), StoreError> {
    let now = crate::now();
    crate::connection::write_transaction(conn, |conn| {
        let n = diesel::update(registry_blobs::table.find(digest))
            .set(registry_blobs::touched_at.eq(now))
            .execute(conn)?;
        if n == 0 {
            insert_once(conn, |conn| {
                diesel::insert_into(registry_blobs::table)
                    .values((
                        registry_blobs::digest.eq(digest),
                        registry_blobs::size.eq(size),
                        registry_blobs::created_at.eq(now),
                        registry_blobs::touched_at.eq(now),
                    ))
                    .execute(conn)
            })?;
        }
        Ok(())
    })
}

/// Lets repository `repository_id` serve `digest` (the blob must be recorded).
pub fn link(conn: &mut DbConnection, repository_id: i64, digest: &str) -> Result<(), StoreError> {
    if linked_size(conn, repository_id, digest)?.is_some() {
        return Ok(());
    }
    insert_once(conn, |conn| {
        diesel::insert_into(registry_repository_blobs::table)
            .values((
                registry_repository_blobs::repository_id.eq(repository_id),
                registry_repository_blobs::digest.eq(digest),
                registry_repository_blobs::created_at.eq(crate::now()),
            ))
            .execute(conn)
    })
}

/// The size of `digest` when repository `repository_id` may serve it.
pub fn linked_size(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(registry_repository_blobs::table
        .inner_join(registry_blobs::table)
        .filter(registry_repository_blobs::repository_id.eq(repository_id))
        .filter(registry_repository_blobs::digest.eq(digest))
        .select(registry_blobs::size)
        .first(conn)
        .optional()?)
}

/// Which of `digests` repository `repository_id` may serve.
pub fn linked_among(
    conn: &mut DbConnection,
    repository_id: i64,
    digests: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(registry_repository_blobs::table
        .filter(registry_repository_blobs::repository_id.eq(repository_id))
        .filter(registry_repository_blobs::digest.eq_any(digests))
        .select(registry_repository_blobs::digest)
        .load(conn)?)
}

/// Sizes of the recorded blobs among `digests`.
pub fn sizes(
    conn: &mut DbConnection,
    digests: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(registry_blobs::table
        .filter(registry_blobs::digest.eq_any(digests))
        .select((registry_blobs::digest, registry_blobs::size))
        .load(conn)?)
}

/// Removes a repository's link to a blob; true when there was one. The bytes stay until garbage
/// collection finds nothing else needs them.
pub fn unlink(
    conn: &mut DbConnection,
    repository_id: i64,
    digest: &str,
) -> Result<bool, StoreError> {
    let n = diesel::delete(
        registry_repository_blobs::table
            .filter(registry_repository_blobs::repository_id.eq(repository_id))
            .filter(registry_repository_blobs::digest.eq(digest)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
