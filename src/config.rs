//! Where data lives and the instance settings, from flags and environment variables.

use clap::Args;
use std::path::PathBuf;
use tinforge_store::Store;
use tinforge_store::blobstore::{BlobStore, S3Settings};
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

/// Where registry blobs live: the data directory by default, or an S3-compatible bucket.
#[derive(Args, Debug, Clone)]
pub struct BlobStoreArgs {
    /// S3 bucket for registry blobs (unset: `<data dir>/registry/blobs`).
    #[arg(long, env = "TINFORGE_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint for S3-compatible stores (MinIO, Garage, Ceph…); unset for AWS.
    #[arg(long, env = "TINFORGE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "TINFORGE_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(
        long,
        env = "TINFORGE_S3_ACCESS_KEY_ID",
        hide_env_values = true,
        default_value = ""
    )]
    pub s3_access_key_id: String,
    #[arg(
        long,
        env = "TINFORGE_S3_SECRET_ACCESS_KEY",
        hide_env_values = true,
        default_value = ""
    )]
    pub s3_secret_access_key: String,
    /// Key prefix inside the bucket.
    #[arg(long, env = "TINFORGE_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,
}

impl BlobStoreArgs {
    /// The configured blob store; uploads are staged under `<data dir>/registry/uploads`.
    pub fn open(&self, data_dir: &std::path::Path) -> Result<BlobStore, CliError> {
        let staging = data_dir.join("registry").join("uploads");
        match &self.s3_bucket {
            Some(bucket) if !bucket.is_empty() => BlobStore::s3(
                &S3Settings {
                    bucket: bucket.clone(),
                    region: self.s3_region.clone(),
                    endpoint: self.s3_endpoint.clone().filter(|e| !e.is_empty()),
                    access_key_id: self.s3_access_key_id.clone(),
                    secret_access_key: self.s3_secret_access_key.clone(),
                    prefix: self.s3_prefix.clone(),
                },
                staging,
            )
            .map_err(|e| CliError::Usage(format!("S3 blob store: {e}"))),
            _ => Ok(BlobStore::filesystem(
                data_dir.join("registry").join("blobs"),
                staging,
            )?),
        }
    }
}
