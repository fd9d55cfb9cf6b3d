//! The GraphQL surface under `/api/graphql`, GitLab-shaped (async-graphql 7). Every field that
//! reaches data is declared once (see [`declare`]): the same declaration is the field's guard, its
//! `@requiresPermission` directive in the SDL, and its entry in the gate's endpoint registry,
//! where the guard looks it up at run time so the operator's not-covered setting applies.

pub mod code;
pub mod declare;
pub mod error;
pub mod guard;
pub mod http;
pub mod mutation;
pub mod query;
pub mod scope;
pub mod types;

use actix_web::web;
use async_graphql::{EmptySubscription, SDLExportOptions, Schema};
use tinforge_gate::EndpointRegistry;

pub use declare::{FieldDecl, FieldTarget};
pub use mutation::MutationRoot;
pub use query::QueryRoot;

/// The executable schema.
pub type TinforgeSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Settings of the surface, shared as actix app data.
#[derive(Debug, Clone)]
pub struct GraphqlConfig {
    /// The instance's external URL, without a trailing slash (`webUrl`).
    pub external_url: String,
    /// The projects' repositories on disk (`Project.repository`, merges, commits).
    pub repositories: tinforge_store::git::Repositories,
}

/// Builds the schema (GitLab's limits: nesting depth, page sizes are enforced by the fields).
pub fn schema() -> TinforgeSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .extension(error::NullOnError)
        .limit_depth(20)
        .finish()
}

/// The schema in SDL, with a `@requiresPermission` directive on every declared field; checked in
/// as `openapi/schema.graphql`.
pub fn sdl() -> String {
    schema().sdl_with_options(SDLExportOptions::new())
}

/// Every declared field of every type.
pub fn declarations() -> Vec<FieldDecl> {
    [
        QueryRoot::DECLARATIONS,
        MutationRoot::DECLARATIONS,
        types::Group::DECLARATIONS,
        types::Project::DECLARATIONS,
        types::Issue::DECLARATIONS,
        types::Repository::DECLARATIONS,
        types::MergeRequest::DECLARATIONS,
    ]
    .concat()
}

/// Adds every GraphQL declaration to the registry (`Surface::Graphql`, `query`/`mutation`).
pub fn declare_endpoints(registry: &mut EndpointRegistry) -> Result<(), String> {
    declare::add_all(registry, &declarations())
}

/// The mounted surface: the schema, built once, and its settings.
#[derive(Clone)]
pub struct GraphqlService {
    schema: web::Data<TinforgeSchema>,
    config: web::Data<GraphqlConfig>,
}

impl GraphqlService {
    pub fn new(config: GraphqlConfig) -> Self {
        GraphqlService {
            schema: web::Data::new(schema()),
            config: web::Data::new(config),
        }
    }

    /// Mounts `GET` and `POST /api/graphql`.
    /// What [`GraphqlService::configure`] mounts: one endpoint whose fields are each declared.
    pub const MOUNT: tinforge_gate::mounts::Mount = tinforge_gate::mounts::Mount {
        pattern: "/api/graphql",
        serves: tinforge_gate::mounts::Serves::Surface(tinforge_gate::Surface::Graphql),
    };

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::resource(Self::MOUNT.pattern)
                .app_data(self.schema.clone())
                .app_data(self.config.clone())
                .route(web::get().to(http::graphql))
                .route(web::post().to(http::graphql)),
        );
    }
}

#[cfg(test)]
mod tests;
