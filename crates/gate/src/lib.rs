//! The shared gate every surface goes through: the endpoint registry (declared requirements), the
//! REST route builder that cannot register a route without one, credential extraction, token
//! resolution, the authorizing extractor, `X-Accepted-Permissions`, and deny → HTTP mapping.

pub mod authorized;
pub mod branches;
pub mod coverage;
pub mod credential;
pub mod error;
pub mod explain;
pub mod issue;
pub mod judge;
pub mod least_privilege;
pub mod listing;
pub mod middleware;
pub mod mounts;
pub mod registry;
pub mod resolve;
pub mod routes;
pub mod usage;

pub use authorized::{Authorized, GateState};
pub use credential::Credential;
pub use error::GateError;
pub use judge::Judge;
pub use registry::{Endpoint, EndpointRegistry, ResponseSchema, Surface, TargetSpec};
pub use resolve::{ResolveError, TokenResolver};
pub use routes::RestRoutes;
