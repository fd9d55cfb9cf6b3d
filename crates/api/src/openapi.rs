//! The OpenAPI document, built from the endpoint registry: every REST operation carries
//! `x-required-permission` from the same `Requirement` the gate enforces.

use std::collections::BTreeMap;
use tinforge_gate::{Endpoint, EndpointRegistry, Surface};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, Paths, Ref,
    RefOr, Required, ResponseBuilder, SecurityRequirement,
};

/// The document for the REST endpoints of `registry`.
pub fn document(registry: &EndpointRegistry) -> OpenApi {
    let mut paths = Paths::new();
    for e in rest_endpoints(registry) {
        let Some(method) = http_method(e.method) else {
            continue;
        };
        let path = openapi_path(&e.path);
        let item = PathItem::new(method, operation(e));
        match paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                paths.paths.insert(path, item);
            }
        }
    }
    let mut schemas = response_schemas(registry);
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);
    let schemas = optional_parts_unrequired(schemas);
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

fn rest_endpoints(registry: &EndpointRegistry) -> impl Iterator<Item = &Endpoint> {
    registry
        .endpoints()
        .iter()
        .filter(|e| e.surface == Surface::Rest)
}

/// The schemas of every declared response body and of what they refer to, by name (with
/// repeats: many routes share a view).
fn response_schemas(registry: &EndpointRegistry) -> Vec<(String, RefOr<Schema>)> {
    let mut schemas = Vec::new();
    for r in rest_endpoints(registry).filter_map(|e| e.response.as_ref()) {
        (r.referenced)(&mut schemas);
        schemas.push(((r.name)().into_owned(), (r.schema)()));
    }
    schemas
}

/// A view's `#[serde(flatten)] Option<Part>` (fields there for some viewers only) comes out of
/// utoipa as `allOf: [..., oneOf: [null, Part]]`, which an object without the part's fields
/// does not match. Each such item becomes the part's properties, none of them required.
fn optional_parts_unrequired(
    schemas: Vec<(String, RefOr<Schema>)>,
) -> Vec<(String, RefOr<Schema>)> {
    let by_name: BTreeMap<String, RefOr<Schema>> = schemas.iter().cloned().collect();
    let unrequired = |item: &RefOr<Schema>| -> Option<RefOr<Schema>> {
        let RefOr::T(Schema::OneOf(one)) = item else {
            return None;
        };
        let [RefOr::T(Schema::Object(null)), RefOr::Ref(part)] = one.items.as_slice() else {
            return None;
        };
        if null.schema_type != SchemaType::Type(Type::Null) {
            return None;
        }
        let name = part.ref_location.rsplit('/').next()?;
        let RefOr::T(Schema::Object(mut object)) = by_name.get(name)?.clone() else {
            return None;
        };
        object.required.clear();
        Some(RefOr::T(Schema::Object(object)))
    };
    schemas
        .into_iter()
        .map(|(name, mut schema)| {
            if let RefOr::T(Schema::AllOf(all)) = &mut schema {
                for item in &mut all.items {
                    if let Some(relaxed) = unrequired(item) {
                        *item = relaxed;
                    }
                }
            }
            (name, schema)
        })
        .collect()
}

fn operation(e: &Endpoint) -> utoipa::openapi::path::Operation {
    let req = &e.requirement;
    let permission = serde_json::json!({
        "permissions": req.permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "legacy_scopes": req.satisfying_scopes().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "min_access_level": req.min_role.access_level(),
        "admin_only": req.admin,
        "fine_grained": if e.is_covered() { "covered" } else { "not_covered" },
        "members_only": req.members_only,
        "raised_when": req.raises.iter().map(tinforge_gate::coverage::RaiseRow::of).collect::<Vec<_>>(),
        "target_from": match e.target {
            tinforge_gate::TargetSpec::Resolved(param) => Some(param),
            _ => None,
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        let registry = crate::rest_routes().registry().expect("the REST registry");
        serde_json::to_value(document(&registry)).expect("the document as JSON")
    }

    #[test]
    fn a_list_route_answers_with_an_array_of_its_view() {
        let doc = doc();
        let schema = &doc["paths"]["/api/v4/projects/{id}/issues"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert_eq!(schema["type"], "array", "{schema}");
        assert_eq!(schema["items"]["$ref"], "#/components/schemas/IssueView");
        let issue = &doc["components"]["schemas"]["IssueView"];
        assert_eq!(issue["type"], "object", "{issue}");
        for field in ["iid", "project_id", "title", "labels", "author", "_links"] {
            assert!(
                issue["properties"].get(field).is_some(),
                "IssueView.{field}"
            );
        }
        assert!(
            doc["components"]["schemas"].get("UserBasic").is_some(),
            "the schemas a view refers to are in the components too"
        );
    }

    /// The full user fields are absent for other viewers: the schema must not require them.
    #[test]
    fn parts_for_some_viewers_only_are_not_required() {
        let doc = doc();
        let user = &doc["components"]["schemas"]["UserView"];
        let parts = user["allOf"]
            .as_array()
            .expect("UserView is basic + private part");
        assert_eq!(parts[0]["$ref"], "#/components/schemas/UserBasic");
        assert!(parts[1]["properties"].get("email").is_some(), "{user}");
        assert!(parts[1].get("required").is_none(), "{user}");
        assert!(!user.to_string().contains("oneOf"), "{user}");
    }

    #[test]
    fn a_single_route_answers_with_its_view() {
        let doc = doc();
        let schema = &doc["paths"]["/api/v4/projects/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/ProjectDetail");
    }

    #[test]
    fn every_referenced_schema_is_in_the_components() {
        let doc = doc();
        let text = doc.to_string();
        let prefix = "\"#/components/schemas/";
        for at in text.match_indices(prefix).map(|(i, _)| i + prefix.len()) {
            let name = &text[at..at + text[at..].find('"').expect("a closing quote")];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is referenced but not defined"
            );
        }
    }

    /// Two views with the same type name would share one component, and one of them would
    /// be described wrongly.
    #[test]
    fn no_two_views_share_a_schema_name() {
        let registry = crate::rest_routes().registry().expect("the REST registry");
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        for (name, schema) in response_schemas(&registry) {
            let text = serde_json::to_string(&schema).expect("a schema as JSON");
            if let Some(before) = seen.insert(name.clone(), text.clone()) {
                assert_eq!(before, text, "two different schemas are named {name}");
            }
        }
    }
}
