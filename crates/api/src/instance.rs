//! Instance information: `/version` and `/metadata`, as GitLab (authenticated), and the health
//! probes' body.

use actix_web::HttpResponse;
use serde::Serialize;
use tinforge_authz::require;
use tinforge_gate::{Authorized, RestRoutes};
use utoipa::ToSchema;

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/version", require!(user:read))
        .summary("The instance version")
        .returns::<VersionView>()
        .to(version);
    r.route("GET", "/api/v4/metadata", require!(user:read))
        .summary("The instance version and features")
        .returns::<VersionView>()
        .to(version);
}

/// `MAJOR.MINOR.PATCH`, as clients split it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /version` and `/metadata`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub version: &'static str,
    pub revision: &'static str,
    pub kas: Kas,
    pub enterprise: bool,
}

/// GitLab's agent server for Kubernetes: not part of tinforge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kas {
    pub enabled: bool,
    #[serde(rename = "externalUrl")]
    pub external_url: Option<String>,
    #[serde(rename = "externalK8sProxyUrl")]
    pub external_k8s_proxy_url: Option<String>,
    pub version: Option<String>,
}

/// `{"status": "ok"}` of the health probes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

async fn version(_auth: Authorized) -> HttpResponse {
    HttpResponse::Ok().json(VersionView {
        version: VERSION,
        revision: "tinforge",
        kas: Kas {
            enabled: false,
            external_url: None,
            external_k8s_proxy_url: None,
            version: None,
        },
        enterprise: false,
    })
}
