//! A job's artifacts archive: one row per job and file type, the bytes in the blob store under
//! their digest (`sha256:<hex>`). Deleting a row does not delete the bytes: the same archive may
//! be stored for another job; callers delete the blob when no row names its digest any more.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::ci_job_artifacts;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ci_job_artifacts)]
pub struct ArtifactRow {
    pub id: i64,
    pub job_id: i64,
    /// `archive` (the only type the runner protocol uploads here).
    pub file_type: String,
    /// `zip`.
    pub file_format: String,
    /// `artifacts.zip`.
    pub filename: String,
    pub size: i64,
    /// The blob's digest, `sha256:<hex>`.
    pub digest: String,
    pub expire_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// An archive to record.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub job_id: i64,
    pub file_type: String,
    pub file_format: String,
    pub filename: String,
    pub size: i64,
    pub digest: String,
    pub expire_at: Option<NaiveDateTime>,
}

/// Records an archive, replacing the job's archive of the same type. Returns the new row and
/// the digest of the one it replaced (if any).
pub fn replace(
    conn: &mut DbConnection,
    new: &NewArtifact,
) -> Result<(ArtifactRow, Option<String>), StoreError> {
    write_transaction(conn, |conn| {
        let old: Option<String> = ci_job_artifacts::table
            .filter(ci_job_artifacts::job_id.eq(new.job_id))
            .filter(ci_job_artifacts::file_type.eq(&new.file_type))
            .select(ci_job_artifacts::digest)
            .first(conn)
            .optional()?;
        diesel::delete(
            ci_job_artifacts::table
                .filter(ci_job_artifacts::job_id.eq(new.job_id))
                .filter(ci_job_artifacts::file_type.eq(&new.file_type)),
        )
        .execute(conn)?;
        let id: i64 = diesel::insert_into(ci_job_artifacts::table)
            .values((
                ci_job_artifacts::job_id.eq(new.job_id),
                ci_job_artifacts::file_type.eq(&new.file_type),
                ci_job_artifacts::file_format.eq(&new.file_format),
                ci_job_artifacts::filename.eq(&new.filename),
                ci_job_artifacts::size.eq(new.size),
                ci_job_artifacts::digest.eq(&new.digest),
                ci_job_artifacts::expire_at.eq(new.expire_at),
                ci_job_artifacts::created_at.eq(crate::now()),
            ))
            .returning(ci_job_artifacts::id)
            .get_result(conn)?;
        let row = ci_job_artifacts::table
            .find(id)
            .select(ArtifactRow::as_select())
            .first(conn)?;
        Ok((row, old))
    })
}

/// The job's archive (`file_type` `archive`).
pub fn find_for_job(
    conn: &mut DbConnection,
    job_id: i64,
) -> Result<Option<ArtifactRow>, StoreError> {
    Ok(ci_job_artifacts::table
        .filter(ci_job_artifacts::job_id.eq(job_id))
        .filter(ci_job_artifacts::file_type.eq("archive"))
        .select(ArtifactRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every artifact row of these jobs, by job then id.
pub fn for_jobs(conn: &mut DbConnection, job_ids: &[i64]) -> Result<Vec<ArtifactRow>, StoreError> {
    Ok(ci_job_artifacts::table
        .filter(ci_job_artifacts::job_id.eq_any(job_ids))
        .order((ci_job_artifacts::job_id.asc(), ci_job_artifacts::id.asc()))
        .select(ArtifactRow::as_select())
        .load(conn)?)
}

/// Deletes the job's archive row and returns it (the caller removes the blob when
/// [`digest_in_use`] says no other row names it).
pub fn delete_for_job(
    conn: &mut DbConnection,
    job_id: i64,
) -> Result<Option<ArtifactRow>, StoreError> {
    write_transaction(conn, |conn| {
        let row = find_for_job(conn, job_id)?;
        if let Some(r) = &row {
            diesel::delete(ci_job_artifacts::table.find(r.id)).execute(conn)?;
        }
        Ok(row)
    })
}

/// Whether any artifact row still names this blob.
pub fn digest_in_use(conn: &mut DbConnection, digest: &str) -> Result<bool, StoreError> {
    let n: i64 = ci_job_artifacts::table
        .filter(ci_job_artifacts::digest.eq(digest))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
