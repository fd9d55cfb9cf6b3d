//! The start-up self-check of the whole router against the endpoint registry. Declared REST and
//! web routes are mounted from the registry's own list ([`crate::RestRoutes`]); the other surfaces
//! mount dispatchers (git's smart HTTP, the registry's `/v2/`, GraphQL) and a few documents that
//! carry no data. Each of those is described by a [`Mount`] that its `configure` uses, and
//! [`self_check`] refuses to start when a declared endpoint has no route that reaches it, a
//! dispatcher serves a surface with nothing declared, or something under `/api/v4/` is served
//! outside the registry.

use crate::registry::{EndpointRegistry, Surface};
use crate::routes::sample_path;
use actix_web::dev::ResourceDef;

/// A route mounted outside the declared route list.
#[derive(Debug, Clone, Copy)]
pub struct Mount {
    /// The actix pattern the surface's `configure` mounts.
    pub pattern: &'static str,
    pub serves: Serves,
}

/// What a [`Mount`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// A dispatcher for the declared endpoints of this surface (each request is judged by its
    /// declaration there).
    Surface(Surface),
    /// A document that carries no data and needs no credential (OpenAPI, health, stylesheets).
    Document,
}

/// The REST prefix: nothing under it is served except declared endpoints and listed documents.
const API_PREFIX: &str = "/api/v4/";

/// Documents allowed under the API prefix.
const API_DOCUMENTS: &[&str] = &["/api/v4/openapi.json"];

/// Checks the router, mounted in this order: the declared REST routes, `mounts`, then the declared
/// web pages.
pub fn self_check(registry: &EndpointRegistry, mounts: &[Mount]) -> Result<(), String> {
    let defs: Vec<(Mount, ResourceDef)> = mounts
        .iter()
        .map(|m| (*m, ResourceDef::new(m.pattern)))
        .collect();
    let mut problems = Vec::new();
    for (m, _) in &defs {
        if m.pattern.starts_with(API_PREFIX) && !API_DOCUMENTS.contains(&m.pattern) {
            problems.push(format!(
                "{} is served outside the endpoint registry",
                m.pattern
            ));
        }
        if let Serves::Surface(surface) = m.serves
            && !registry.endpoints().iter().any(|e| e.surface == surface)
        {
            problems.push(format!(
                "{} dispatches {} endpoints, and none is declared",
                m.pattern,
                surface.as_str()
            ));
        }
    }
    for e in registry.endpoints() {
        let sample = sample_path(e.path.split(['?', ' ']).next().unwrap_or_default());
        let first = defs.iter().find(|(_, d)| d.is_match(&sample));
        let reached = match e.surface {
            // Mounted before the dispatchers: nothing can shadow them.
            Surface::Rest => true,
            // Mounted after them: a dispatcher or document matching the page would take it.
            Surface::Web => first.is_none(),
            Surface::Graphql => defs
                .iter()
                .any(|(m, _)| m.serves == Serves::Surface(Surface::Graphql)),
            // Per-ref checks of a push are judged inside receive-pack, not routed.
            Surface::Git if e.method == "PUSH" => true,
            surface => first.is_some_and(|(m, _)| m.serves == Serves::Surface(surface)),
        };
        if !reached {
            problems.push(format!(
                "declared {} {} {} has no route that reaches it",
                e.surface.as_str(),
                e.method,
                e.path
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("router self-check failed: {}", problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Endpoint, TargetSpec};
    use tinforge_authz::require;

    fn endpoint(surface: Surface, method: &'static str, path: &str) -> Endpoint {
        Endpoint {
            surface,
            method,
            path: path.into(),
            requirement: require!(repository:read),
            target: TargetSpec::None,
            summary: "",
            response: None,
        }
    }

    fn registry(endpoints: &[Endpoint]) -> EndpointRegistry {
        let mut r = EndpointRegistry::default();
        for e in endpoints {
            r.add(e.clone()).unwrap();
        }
        r
    }

    const GIT: Mount = Mount {
        pattern: "/{project_path:.+}.git/info/refs",
        serves: Serves::Surface(Surface::Git),
    };

    #[test]
    fn every_declaration_needs_a_route_and_every_api_route_a_declaration() {
        let git = endpoint(
            Surface::Git,
            "GET",
            "/{project_path}.git/info/refs?service=x",
        );
        assert!(self_check(&registry(std::slice::from_ref(&git)), &[GIT]).is_ok());
        // A declared git service without the dispatcher that serves it.
        let err = self_check(&registry(std::slice::from_ref(&git)), &[]).unwrap_err();
        assert!(err.contains("has no route that reaches it"), "{err}");
        // A dispatcher with nothing declared.
        let err = self_check(&registry(&[]), &[GIT]).unwrap_err();
        assert!(err.contains("none is declared"), "{err}");
        // Something under /api/v4 served around the registry.
        let stray = Mount {
            pattern: "/api/v4/secret",
            serves: Serves::Document,
        };
        let err = self_check(&registry(std::slice::from_ref(&git)), &[GIT, stray]).unwrap_err();
        assert!(err.contains("/api/v4/secret is served outside"), "{err}");
        // A web page that a mount in front of it would swallow.
        let page = endpoint(Surface::Web, "GET", "/{project_path}.git/info/refs");
        let err = self_check(&registry(&[git, page]), &[GIT]).unwrap_err();
        assert!(err.contains("declared web GET"), "{err}");
    }
}
