//! The container registry's metadata: image repositories of projects, the blobs each may serve,
//! manifests byte for byte with their references, tags, upload sessions, and garbage
//! collection. Blob contents are in the blob store ([`crate::blobstore`]).

pub mod blobs;
pub mod gc;
pub mod manifests;
pub mod names;
pub mod repositories;
pub mod uploads;

pub use manifests::{Manifest, NewManifest, PutError, PutOutcome, TagDetail};
pub use repositories::ContainerRepository;

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;

/// Runs an insert in a savepoint and treats a unique violation as "already there", so two
/// concurrent pushes of the same thing both succeed (on PostgreSQL a failed statement would
/// otherwise abort the whole transaction).
fn insert_once(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> Result<usize, diesel::result::Error>,
) -> Result<(), StoreError> {
    let result = write_transaction(conn, |conn| insert(conn).map_err(StoreError::from));
    match result {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
