//! Job logs: appended in chunks at the offset the runner names (only the start of a
//! `Content-Range` is trusted), read back whole.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{ci_job_trace_chunks, ci_jobs};
use diesel::prelude::*;

/// Appends `data` written at `start`. Bytes before the current end are taken as a resend and
/// skipped; a start beyond the end is refused with the current size (the runner resends from
/// there). Returns the new size.
pub fn append(
    conn: &mut DbConnection,
    job_id: i64,
    start: i64,
    data: &[u8],
) -> Result<Result<i64, i64>, StoreError> {
    write_transaction(conn, |conn| {
        let size: i64 = ci_jobs::table
            .find(job_id)
            .select(ci_jobs::trace_size)
            .first(conn)?;
        if start > size || start < 0 {
            return Ok(Err(size));
        }
        let skip = (size - start) as usize;
        if skip >= data.len() {
            return Ok(Ok(size));
        }
        let fresh = &data[skip..];
        diesel::insert_into(ci_job_trace_chunks::table)
            .values((
                ci_job_trace_chunks::job_id.eq(job_id),
                ci_job_trace_chunks::chunk_offset.eq(size),
                ci_job_trace_chunks::data.eq(fresh),
            ))
            .execute(conn)?;
        let new_size = size + fresh.len() as i64;
        diesel::update(ci_jobs::table.find(job_id))
            .set((
                ci_jobs::trace_size.eq(new_size),
                ci_jobs::updated_at.eq(crate::now()),
            ))
            .execute(conn)?;
        Ok(Ok(new_size))
    })
}

/// The whole log as the runner sent it.
pub fn read(conn: &mut DbConnection, job_id: i64) -> Result<Vec<u8>, StoreError> {
    let chunks: Vec<Vec<u8>> = ci_job_trace_chunks::table
        .filter(ci_job_trace_chunks::job_id.eq(job_id))
        .order(ci_job_trace_chunks::chunk_offset.asc())
        .select(ci_job_trace_chunks::data)
        .load(conn)?;
    Ok(chunks.concat())
}
