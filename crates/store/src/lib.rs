//! tinforge's storage: one diesel code path over SQLite and PostgreSQL (`MultiConnection`),
//! r2d2 pools, embedded migrations per backend, and the models and queries of every resource;
//! the projects' bare git repositories on disk ([`git`]), and the blob store ([`blobstore`]) with
//! the container registry's metadata ([`registry`]).

pub mod blobstore;
pub mod ci;
pub mod connection;
pub mod error;
pub mod git;
pub mod groups;
pub mod issues;
pub mod labels;
pub mod members;
pub mod merge_request_labels;
pub mod merge_requests;
pub mod migrate;
pub mod namespaces;
pub mod notes;
pub mod password;
pub mod projects;
pub mod protected_branches;
pub mod registry;
pub mod schema;
pub mod secrets;
pub mod sessions;
pub mod sql;
pub mod token_events;
pub mod token_usage;
pub mod tokens;
pub mod users;

pub use connection::{Backend, DbConnection, DbPool, Store, write_transaction};
pub use diesel::result::Error as DieselError;
pub use error::StoreError;

/// Current UTC time as stored (naive UTC, microsecond precision on both backends).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}
