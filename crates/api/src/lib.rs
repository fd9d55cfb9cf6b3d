//! The REST surface under `/api/v4`, in GitLab v4 shapes. [`rest_routes`] is the one route list:
//! it builds the actix router and the gate's endpoint registry, so the two cannot disagree, and
//! every route in it carries the `Requirement` the gate enforces.

pub mod branches;
pub mod ci_variables;
pub mod commit_statuses;
pub mod commits;
pub mod coverage;
pub mod error;
pub mod groups;
pub mod instance;
pub mod issues;
pub mod job_token_scope;
pub mod jobs;
pub mod labels;
pub mod members;
pub mod merge_request_views;
pub mod merge_requests;
pub mod notes;
pub mod openapi;
pub mod pagination;
pub mod params;
pub mod pipeline_views;
pub mod pipelines;
pub mod projects;
pub mod protected_branches;
pub mod registry;
pub mod repo_context;
pub mod repository;
pub mod repository_views;
pub mod runner_jobs;
pub mod runners;
pub mod tags;
pub mod token_usage;
pub mod tokens;
pub mod triggers;
pub mod users;
pub mod views;

use actix_web::HttpResponse;
use tinforge_gate::RestRoutes;
use tinforge_gate::issue::TokenPolicy;

/// Settings the REST handlers read, shared as actix app data.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The instance's external URL, without a trailing slash (`web_url`, pagination links).
    pub external_url: String,
    pub token_policy: TokenPolicy,
    /// The projects' repositories (`empty_repo` in project JSON).
    pub repositories: tinforge_store::git::Repositories,
    /// The container registry's host as image names carry it: the external URL without its
    /// scheme (`127.0.0.1:8080`), for `location` in the registry API ([`registry::host_of`]).
    pub registry_host: String,
    /// Job artifacts (zip archives), content-addressed, apart from the registry's blobs.
    pub artifacts: tinforge_store::blobstore::BlobStore,
    /// Wakes runners' long polls when jobs become pending.
    pub job_queue: std::sync::Arc<tinforge_ci::queue::JobQueue>,
}

/// Every REST route with its declared requirement, in routing order.
pub fn rest_routes() -> RestRoutes {
    let mut routes = RestRoutes::default();
    instance::declare(&mut routes);
    coverage::declare(&mut routes);
    users::declare(&mut routes);
    token_usage::declare(&mut routes);
    tokens::declare(&mut routes);
    groups::declare(&mut routes);
    projects::declare(&mut routes);
    members::declare(&mut routes);
    issues::declare(&mut routes);
    notes::declare(&mut routes);
    labels::declare(&mut routes);
    registry::declare(&mut routes);
    pipelines::declare(&mut routes);
    jobs::declare(&mut routes);
    runners::declare(&mut routes);
    runner_jobs::declare(&mut routes);
    ci_variables::declare(&mut routes);
    triggers::declare(&mut routes);
    commit_statuses::declare(&mut routes);
    job_token_scope::declare(&mut routes);
    protected_branches::declare(&mut routes);
    repository::declare(&mut routes);
    commits::declare(&mut routes);
    branches::declare(&mut routes);
    tags::declare(&mut routes);
    merge_requests::declare(&mut routes);
    routes
}

/// Documents that carry no data and need no credential: the OpenAPI description of this
/// instance (as its registry stands, operator settings included) and health probes. These are the
/// only routes outside the endpoint registry.
pub fn configure_documents(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    let [openapi, health, liveness, readiness] = DOCUMENTS;
    cfg.route(openapi.pattern, web::get().to(openapi_json))
        .route(health.pattern, web::get().to(healthy))
        .route(liveness.pattern, web::get().to(healthy))
        .route(readiness.pattern, web::get().to(healthy));
}

/// What [`configure_documents`] mounts, for the router's start-up self-check.
pub const DOCUMENTS: [tinforge_gate::mounts::Mount; 4] = [
    document("/api/v4/openapi.json"),
    document("/-/health"),
    document("/-/liveness"),
    document("/-/readiness"),
];

const fn document(pattern: &'static str) -> tinforge_gate::mounts::Mount {
    tinforge_gate::mounts::Mount {
        pattern,
        serves: tinforge_gate::mounts::Serves::Document,
    }
}

async fn openapi_json(gate: actix_web::web::Data<tinforge_gate::GateState>) -> HttpResponse {
    HttpResponse::Ok().json(openapi::document(&gate.registry))
}

async fn healthy() -> HttpResponse {
    HttpResponse::Ok().json(instance::Health { status: "ok" })
}

/// Unknown routes answer as GitLab does: `404 {"error":"404 Not Found"}`.
pub async fn route_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(error::ErrorBody {
        error: "404 Not Found".into(),
    })
}
