//! Connections and pools. The backend is chosen by URL scheme in our own r2d2 manager: diesel's
//! derived `establish()` would silently fall back to creating a SQLite file for a bad PostgreSQL URL.

use crate::error::StoreError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Where the database lives.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// `postgres://…` / `postgresql://…` select PostgreSQL; anything else is a SQLite file path
    /// (`sqlite://` prefix allowed).
    pub fn parse(url: &str) -> DatabaseUrl {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres(url.to_string())
        } else {
            DatabaseUrl::Sqlite(PathBuf::from(url.trim_start_matches("sqlite://")))
        }
    }

    pub fn sqlite_in(dir: &Path) -> DatabaseUrl {
        DatabaseUrl::Sqlite(dir.join("tinforge.sqlite3"))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// r2d2 manager that connects by scheme and prepares SQLite connections.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = diesel::SqliteConnection::establish(&path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// Checked when a connection comes back to the pool (cheap, no query): a connection left
    /// inside a transaction, or dropped while a thread panicked, is not reused.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking()
            || match conn {
                DbConnection::Postgresql(c) => c.is_broken(),
                DbConnection::Sqlite(c) => c.is_broken(),
            }
    }
}

pub type DbPool = Pool<Manager>;

/// The pool plus what callers need to know about it.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
}

impl Store {
    /// Opens a pool and applies pending migrations.
    pub fn open(url: &DatabaseUrl, max_size: u32) -> Result<Store, StoreError> {
        // No `SELECT 1` on every checkout (two extra round trips per request on PostgreSQL):
        // a connection that broke shows at its first query, and `has_broken` keeps broken ones
        // out of the pool.
        let pool = Pool::builder()
            .max_size(max_size)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { url: url.clone() })?;
        let store = Store {
            pool,
            backend: url.backend(),
        };
        crate::migrate::run_pending(&mut *store.conn()?)?;
        Ok(store)
    }

    pub fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.get()?)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// Runs `f` in one transaction. On SQLite it begins `IMMEDIATE`, taking the write lock first, so a
/// concurrent writer waits on the busy timeout instead of failing when a read turns into a write.
/// Inside a transaction already (store functions composed into one larger write), `f` runs in a
/// savepoint of it.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    if Manager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(f);
    }
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Manager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}
