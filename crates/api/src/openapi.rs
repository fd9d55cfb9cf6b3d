//! The OpenAPI document, built from the endpoint registry: every REST operation carries
//! `x-required-permission` from the same `Requirement` the gate enforces.

use tinforge_gate::{Endpoint, EndpointRegistry, Surface};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, Paths, Ref,
    RefOr, Required, ResponseBuilder, SecurityRequirement,
};

/// The document for the REST endpoints of `registry`.
pub fn document(registry: &EndpointRegistry) -> OpenApi {
    let mut paths = Paths::new();
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    for e in registry
        .endpoints()
        .iter()
        .filter(|e| e.surface == Surface::Rest)
    {
        let Some(method) = http_method(e.method) else {
            continue;
        };
        if let Some(r) = &e.response {
            (r.referenced)(&mut schemas);
            schemas.push(((r.name)().into_owned(), (r.schema)()));
        }
        let path = openapi_path(&e.path);
        let item = PathItem::new(method, operation(e));
        match paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                paths.paths.insert(path, item);
            }
        }
    }
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "private_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("PRIVATE-TOKEN"))),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("tinforge REST API")
                .version(crate::instance::VERSION)
                .description(Some(
                    "GitLab v4 shapes. Each operation's x-required-permission is the permission \
                     the gate enforces for it.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

fn operation(e: &Endpoint) -> utoipa::openapi::path::Operation {
    let req = &e.requirement;
    let permission = serde_json::json!({
        "permissions": req.permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "legacy_scopes": req.satisfying_scopes().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "min_access_level": req.min_role.access_level(),
        "admin_only": req.admin,
        "fine_grained": if e.is_covered() { "covered" } else { "not_covered" },
    });
    let mut op = OperationBuilder::new()
        .operation_id(Some(operation_id(e)))
        .summary(Some(e.summary))
        .tag(tag(&e.path))
        .security(SecurityRequirement::new(
            "private_token",
            Vec::<String>::new(),
        ))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
        .response(success_status(e.method), success(e))
        .response(
            "401",
            ResponseBuilder::new().description("No usable credential"),
        )
        .response(
            "403",
            ResponseBuilder::new().description("The token or role does not allow it"),
        )
        .response(
            "404",
            ResponseBuilder::new().description("Not found, or not visible to the caller"),
        )
        .extensions(Some(
            ExtensionsBuilder::new()
                .add("x-required-permission", permission)
                .build(),
        ));
    for name in path_params(&e.path) {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::Type::String),
                )),
        );
    }
    op.build()
}

/// The success response, with the typed body's schema where the route declares one.
fn success(e: &Endpoint) -> ResponseBuilder {
    let response = ResponseBuilder::new().description("Success");
    let Some(r) = &e.response else {
        return response;
    };
    let one = Ref::from_schema_name((r.name)());
    let schema: RefOr<Schema> = if r.list {
        ArrayBuilder::new().items(one).into()
    } else {
        one.into()
    };
    response.content(
        "application/json",
        ContentBuilder::new().schema(Some(schema)).build(),
    )
}

fn http_method(method: &str) -> Option<HttpMethod> {
    Some(match method {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "DELETE" => HttpMethod::Delete,
        "PATCH" => HttpMethod::Patch,
        "HEAD" => HttpMethod::Head,
        _ => return None,
    })
}

fn success_status(method: &str) -> &'static str {
    match method {
        "POST" => "201",
        "DELETE" => "204",
        _ => "200",
    }
}

/// `GET /api/v4/projects/{id}/members` → `get_projects_id_members`.
fn operation_id(e: &Endpoint) -> String {
    let mut id = e.method.to_ascii_lowercase();
    for part in e.path.trim_start_matches("/api/v4/").split('/') {
        let part = part
            .trim_start_matches('{')
            .split([':', '}'])
            .next()
            .unwrap_or_default();
        if !part.is_empty() {
            id.push('_');
            id.push_str(&part.replace(['.', '-'], "_"));
        }
    }
    id
}

/// The first segment after `/api/v4/` names the group of operations.
fn tag(path: &str) -> String {
    path.trim_start_matches("/api/v4/")
        .split('/')
        .next()
        .unwrap_or("api")
        .to_string()
}

/// actix patterns may carry a regex (`{path:.*}`); OpenAPI wants `{path}`.
fn openapi_path(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    let mut skipping = false;
    for c in pattern.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push(c);
            }
            '}' if in_param => {
                in_param = false;
                skipping = false;
                out.push(c);
            }
            ':' if in_param => skipping = true,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

fn path_params(pattern: &str) -> Vec<String> {
    openapi_path(pattern)
        .split('{')
        .skip(1)
        .filter_map(|s| s.split('}').next())
        .map(str::to_string)
        .collect()
}
