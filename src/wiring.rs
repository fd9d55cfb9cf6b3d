//! What every command shares about the running system: the full endpoint registry of all surfaces,
//! with the operator's "not covered" setting applied.

use tinforge_gate::EndpointRegistry;
use tinforge_gate::mounts::Mount;

/// Every declared endpoint of every surface: REST routes (`tinforge_api::rest_routes`, the one
/// REST route list, checked against the router), then the
/// git services, then the registry actions, then the GraphQL fields, then the web pages.
pub fn registry() -> Result<EndpointRegistry, String> {
    let mut registry = tinforge_api::rest_routes().registry()?;
    tinforge_git::declare_git(&mut registry)?;
    tinforge_registry::declare_registry(&mut registry)?;
    tinforge_graphql::declare_endpoints(&mut registry)?;
    tinforge_web::web_routes().declare_into(&mut registry)?;
    Ok(registry)
}

/// Everything `serve` mounts outside the declared route list, in its order (after the REST routes,
/// before the web pages), for the router's start-up self-check.
pub fn mounts() -> Vec<Mount> {
    let mut mounts = tinforge_api::DOCUMENTS.to_vec();
    mounts.extend(tinforge_git::smart::MOUNTS);
    mounts.extend(tinforge_registry::MOUNTS);
    mounts.push(tinforge_graphql::GraphqlService::MOUNT);
    mounts.extend(tinforge_web::assets::MOUNTS);
    mounts
}

/// The router against the registry: every declaration reachable, every dispatcher declared,
/// nothing under `/api/v4/` served around the registry. `serve` refuses to start otherwise.
pub fn self_check(registry: &EndpointRegistry) -> Result<(), String> {
    tinforge_gate::mounts::self_check(registry, &mounts())
}

/// The registry with `not_covered` entries (`METHOD /path` or a GraphQL field) refusing
/// fine-grained tokens; an entry naming no endpoint is an error, so typos do not pass silently.
pub fn configured_registry(not_covered: &[String]) -> Result<EndpointRegistry, String> {
    let mut registry = registry()?;
    let entries: Vec<String> = not_covered
        .iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let unknown = registry.mark_not_covered(&entries);
    if unknown.is_empty() {
        Ok(registry)
    } else {
        Err(format!(
            "TINFORGE_NOT_COVERED names unknown endpoints: {}",
            unknown.join(", ")
        ))
    }
}

/// The operator setting, shared by `serve`, `coverage` and `explain`.
#[derive(clap::Args, Debug, Clone)]
pub struct CoverageArgs {
    /// Endpoints that refuse fine-grained tokens (`METHOD /path` or a GraphQL field), comma-separated.
    #[arg(long, env = "TINFORGE_NOT_COVERED", value_delimiter = ',')]
    pub not_covered: Vec<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_router_and_the_registry_agree() {
        let registry = super::registry().expect("registry");
        super::self_check(&registry).expect("self-check");
    }
}
