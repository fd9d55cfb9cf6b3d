//! The web UI: server-rendered pages from templates compiled into the binary (askama), with the
//! stylesheet and script from `web/static` embedded too, so the pages work with no network.
//! Every page and form action is a declared endpoint of surface `web`, behind the same gate as
//! every other surface; the credential there is the session cookie (and only there).

pub mod assets;
pub mod error;
pub mod limiter;
pub mod pages;
pub mod project_pages;
pub mod reports;
pub mod session;
pub mod tokens_page;

use std::sync::Arc;
use tinforge_gate::issue::TokenPolicy;
use tinforge_gate::{RestRoutes, Surface};

pub use limiter::SignInLimiter;

/// What the pages need beyond the gate, shared as actix app data.
#[derive(Clone)]
pub struct WebConfig {
    /// The URL browsers reach the instance at; `https://` makes cookies `Secure`.
    pub external_url: String,
    /// The host:port of the container registry, for image locations.
    pub registry_host: String,
    pub token_policy: TokenPolicy,
    /// How long a session lives after sign-in.
    pub session_lifetime: chrono::Duration,
    pub limiter: Arc<SignInLimiter>,
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.external_url.starts_with("https://")
    }
}

/// Every page and form action with its declared requirement, in routing order (the project pages'
/// catch-all last).
pub fn web_routes() -> RestRoutes {
    let mut routes = RestRoutes::for_surface(Surface::Web, error::render_denial);
    session::declare(&mut routes);
    tokens_page::declare(&mut routes);
    reports::declare(&mut routes);
    project_pages::declare(&mut routes);
    routes
}
