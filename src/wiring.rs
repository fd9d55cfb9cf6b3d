//! What every command shares about the running system: the full endpoint registry of all surfaces,
//! with the operator's "not covered" setting applied.

use tinforge_gate::EndpointRegistry;

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
