//! Embedded migrations, one set per backend, kept in step (same folder names in both trees).

use crate::connection::DbConnection;
use crate::error::StoreError;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration of the connection's backend.
pub fn run_pending(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|_| ()),
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES).map(|_| ()),
    };
    result.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
}

/// Reverts every applied migration (tests use it to check that each down undoes its up).
pub fn revert_all(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE).map(|_| ()),
        DbConnection::Postgresql(c) => c.revert_all_migrations(POSTGRES).map(|_| ()),
    };
    result.map_err(|e| StoreError::Unavailable(format!("revert failed: {e}")))
}
