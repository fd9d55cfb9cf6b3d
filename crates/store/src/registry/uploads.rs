//! Upload sessions: the id a client's `Location` carries, the repository it pushes to, and the
//! bytes received so far (the bytes themselves are staged outside the blob store).

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::registry_uploads;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = registry_uploads)]
pub struct Upload {
    pub id: String,
    pub repository_id: i64,
    pub size: i64,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

pub fn create(conn: &mut DbConnection, id: &str, repository_id: i64) -> Result<(), StoreError> {
    let now = crate::now();
    diesel::insert_into(registry_uploads::table)
        .values((
            registry_uploads::id.eq(id),
            registry_uploads::repository_id.eq(repository_id),
            registry_uploads::size.eq(0i64),
            registry_uploads::created_at.eq(now),
            registry_uploads::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The upload `id` of repository `repository_id` (an id of another repository is not found).
pub fn find(
    conn: &mut DbConnection,
    repository_id: i64,
    id: &str,
) -> Result<Option<Upload>, StoreError> {
    Ok(registry_uploads::table
        .find(id)
        .filter(registry_uploads::repository_id.eq(repository_id))
        .select(Upload::as_select())
        .first(conn)
        .optional()?)
}

/// Records how many bytes the upload holds now.
pub fn set_size(conn: &mut DbConnection, id: &str, size: i64) -> Result<(), StoreError> {
    diesel::update(registry_uploads::table.find(id))
        .set((
            registry_uploads::size.eq(size),
            registry_uploads::updated_at.eq(crate::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(registry_uploads::table.find(id)).execute(conn)? > 0)
}

/// Uploads untouched since `before` (abandoned pushes), for garbage collection.
pub fn stale(
    conn: &mut DbConnection,
    before: chrono::NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    Ok(registry_uploads::table
        .filter(registry_uploads::updated_at.lt(before))
        .select(registry_uploads::id)
        .load(conn)?)
}

/// Every upload id (garbage collection removes staged files that no session names).
pub fn all_ids(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(registry_uploads::table
        .select(registry_uploads::id)
        .load(conn)?)
}
