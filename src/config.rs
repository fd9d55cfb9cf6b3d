//! Where data lives and the instance settings, from flags and environment variables.

use clap::Args;
use std::path::PathBuf;
use tinforge_store::Store;
use tinforge_store::connection::DatabaseUrl;

/// Storage location, shared by every command so the CLI works on the server's database.
#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Data directory (SQLite database, repositories, blobs); created when missing.
    #[arg(
        long,
        global = true,
        env = "TINFORGE_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,
    /// `postgres://…` selects PostgreSQL; unset means SQLite in the data directory.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Errors of the binary, printed once on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] tinforge_store::StoreError),
    #[error(transparent)]
    Issue(#[from] tinforge_gate::issue::IssueError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl StorageArgs {
    /// Opens the database (creating the data directory for SQLite) and applies migrations.
    pub fn open(&self, pool_size: u32) -> Result<Store, CliError> {
        let url = match &self.database_url {
            Some(url) if !url.is_empty() => DatabaseUrl::parse(url),
            _ => {
                std::fs::create_dir_all(&self.data_dir)?;
                DatabaseUrl::sqlite_in(&self.data_dir)
            }
        };
        Ok(Store::open(&url, pool_size)?)
    }
}

/// The secret under which token digests are keyed, shared by all instances through the database.
pub const TOKEN_SECRET: &str = "token_hmac_key";

/// A secret resolver for this database.
pub fn resolver(store: &Store) -> Result<tinforge_gate::TokenResolver, CliError> {
    let secret = tinforge_store::secrets::get_or_create(&mut *store.conn()?, TOKEN_SECRET)?;
    Ok(tinforge_gate::TokenResolver::new(secret.as_bytes()))
}
