//! Instance information: `/version` and `/metadata`, as GitLab (authenticated).

use actix_web::HttpResponse;
use serde_json::json;
use tinforge_authz::require;
use tinforge_gate::{Authorized, RestRoutes};

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/version", require!(user:read))
        .summary("The instance version")
        .to(version);
    r.route("GET", "/api/v4/metadata", require!(user:read))
        .summary("The instance version and features")
        .to(version);
}

/// `MAJOR.MINOR.PATCH`, as clients split it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn version(_auth: Authorized) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": VERSION,
        "revision": "tinforge",
        "kas": { "enabled": false, "externalUrl": null, "externalK8sProxyUrl": null, "version": null },
        "enterprise": false,
    }))
}
