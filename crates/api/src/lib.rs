//! The REST surface under `/api/v4`, in GitLab v4 shapes. [`rest_routes`] is the one route list:
//! it builds the actix router and the gate's endpoint registry, so the two cannot disagree, and
//! every route in it carries the `Requirement` the gate enforces.

pub mod error;
pub mod groups;
pub mod members;
pub mod pagination;
pub mod params;
pub mod projects;
pub mod tokens;
pub mod users;
pub mod views;

use actix_web::HttpResponse;
use serde_json::json;
use tinforge_gate::RestRoutes;
use tinforge_gate::issue::TokenPolicy;

/// Settings the REST handlers read, shared as actix app data.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The instance's external URL, without a trailing slash (`web_url`, pagination links).
    pub external_url: String,
    pub token_policy: TokenPolicy,
}

/// Every REST route with its declared requirement, in routing order.
pub fn rest_routes() -> RestRoutes {
    let mut routes = RestRoutes::default();
    users::declare(&mut routes);
    tokens::declare(&mut routes);
    groups::declare(&mut routes);
    projects::declare(&mut routes);
    members::declare(&mut routes);
    routes
}

/// Unknown routes answer as GitLab does: `404 {"error":"404 Not Found"}`.
pub async fn route_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "404 Not Found" }))
}
