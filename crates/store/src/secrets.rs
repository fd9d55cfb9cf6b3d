//! Instance secrets kept in the database, so every instance and the CLI share them.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::instance_secrets;
use diesel::prelude::*;
use rand::RngCore;

/// The secret called `name`, created (32 random bytes, hex) on first use.
pub fn get_or_create(conn: &mut DbConnection, name: &str) -> Result<String, StoreError> {
    if let Some(v) = find(conn, name)? {
        return Ok(v);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let inserted = diesel::insert_into(instance_secrets::table)
        .values((
            instance_secrets::name.eq(name),
            instance_secrets::value.eq(hex::encode(bytes)),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        // Another instance won the race: use its value.
        Ok(_) | Err(StoreError::Conflict(_)) => find(conn, name)?.ok_or(StoreError::NotFound),
        Err(e) => Err(e),
    }
}

fn find(conn: &mut DbConnection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(instance_secrets::table
        .find(name)
        .select(instance_secrets::value)
        .first(conn)
        .optional()?)
}
