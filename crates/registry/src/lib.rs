//! The registry surface: the OCI distribution protocol under `/v2/` and the token service at
//! `/jwt/auth`. Every registry action is declared in the gate's endpoint registry
//! ([`declare::declare_registry`]), and every decision goes through the gate's `enforce()`
//! ([`access`]). Blobs stream both ways through the store's blob store; metadata lives in the
//! database (`tinforge_store::registry`).

pub mod access;
pub mod auth;
pub mod blobs;
pub mod declare;
pub mod digest;
pub mod error;
pub mod listing;
pub mod manifest_json;
pub mod manifests;
pub mod route;
pub mod scope;
pub mod sessions;
pub mod token;
pub mod uploads;
pub mod v2;

pub use declare::declare_registry;
pub use error::RegistryError;

use std::sync::Arc;
use tinforge_store::blobstore::BlobStore;

/// GitLab's name for the registry service in tokens and challenges.
pub const SERVICE: &str = "container_registry";
/// Manifests above this many bytes are refused with 413 unless configured otherwise.
pub const DEFAULT_MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Settings and shared state of the registry surface, as actix app data.
#[derive(Clone)]
pub struct RegistryConfig {
    pub blobs: BlobStore,
    pub issuer: Arc<token::TokenIssuer>,
    /// The token service URL the challenge names (`<external url>/jwt/auth`).
    pub realm: String,
    pub max_manifest_bytes: usize,
    pub sessions: Arc<sessions::UploadSessions>,
}

/// Mounts `/v2/` and `/jwt/auth`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    let [jwt, base, tail] = MOUNTS;
    cfg.service(
        web::resource(jwt.pattern)
            .route(web::get().to(auth::token))
            .route(web::post().to(auth::token_form)),
    )
    .service(web::resource(base.pattern).to(v2::dispatch))
    .service(web::resource(tail.pattern).to(v2::dispatch));
}

/// What [`configure`] mounts, for the router's start-up self-check: the token service and the
/// `/v2/` dispatcher, which judges every request by its declared registry action.
pub const MOUNTS: [tinforge_gate::mounts::Mount; 3] = {
    use tinforge_gate::Surface;
    use tinforge_gate::mounts::{Mount, Serves};
    let registry = Serves::Surface(Surface::Registry);
    [
        Mount {
            pattern: "/jwt/auth",
            serves: registry,
        },
        Mount {
            pattern: "/v2",
            serves: registry,
        },
        Mount {
            pattern: "/v2/{tail:.*}",
            serves: registry,
        },
    ]
};
