//! What every command shares about the running system: the full endpoint registry of all surfaces.

use tinforge_gate::EndpointRegistry;

/// Every declared endpoint of every surface: REST routes (checked against the router), then the
/// GraphQL fields.
pub fn registry() -> Result<EndpointRegistry, String> {
    let mut registry = tinforge_api::rest_routes().registry()?;
    tinforge_graphql::declare_endpoints(&mut registry)?;
    Ok(registry)
}
