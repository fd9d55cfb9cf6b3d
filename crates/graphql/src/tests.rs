//! Checks of the schema against its declarations. The SDL is checked in as
//! `openapi/schema.graphql`, and `checked_in_sdl_is_current` fails when it is stale. After an
//! intended schema change, regenerate it and commit the result:
//!
//! ```sh
//! UPDATE_SCHEMA=1 cargo test -p tinforge-graphql checked_in_sdl_is_current
//! ```

use super::*;
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/schema.graphql")
}

#[test]
fn checked_in_sdl_is_current() {
    let current = sdl();
    let path = checked_in_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, &current).expect("write openapi/schema.graphql");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "openapi/schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test -p tinforge-graphql \
         checked_in_sdl_is_current` and commit it"
    );
}

/// `Type.field` → its type and the `resource:action` of each `@requiresPermission` on it.
fn sdl_field_types() -> BTreeMap<String, (String, Vec<String>)> {
    let doc = parse_schema(sdl()).expect("the SDL parses");
    let mut fields = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let TypeKind::Object(object) = &ty.node.kind else {
            continue;
        };
        for field in &object.fields {
            let perms = field
                .node
                .directives
                .iter()
                .filter(|d| d.node.name.node == "requiresPermission")
                .map(|d| {
                    let arg = |name: &str| {
                        d.node
                            .get_argument(name)
                            .map(|v| v.node.to_string().trim_matches('"').to_string())
                            .unwrap_or_default()
                    };
                    format!("{}:{}", arg("resource"), arg("action"))
                })
                .collect();
            fields.insert(
                format!("{}.{}", ty.node.name.node, field.node.name.node),
                (field.node.ty.node.to_string(), perms),
            );
        }
    }
    fields
}

/// `Type.field` → the `resource:action` of each `@requiresPermission` on it, for every field.
fn sdl_fields() -> BTreeMap<String, Vec<String>> {
    sdl_field_types()
        .into_iter()
        .map(|(path, (_, perms))| (path, perms))
        .collect()
}

#[test]
fn declared_fields_can_be_null_when_denied() {
    for (path, (ty, perms)) in sdl_field_types() {
        if !perms.is_empty() {
            assert!(
                !ty.ends_with('!'),
                "{path}: {ty} is non-null, but a denied field must be able to be null"
            );
        }
    }
}

#[test]
fn every_query_and_mutation_field_is_declared() {
    let fields = sdl_fields();
    let roots: Vec<_> = fields
        .iter()
        .filter(|(path, _)| path.starts_with("Query.") || path.starts_with("Mutation."))
        .collect();
    assert!(roots.len() >= 6, "{roots:?}");
    for (path, perms) in roots {
        assert!(
            !perms.is_empty(),
            "{path} has no @requiresPermission: write it inside declared_fields! with #[declare]"
        );
    }
}

#[test]
fn directives_and_registry_come_from_the_same_declarations() {
    let fields = sdl_fields();
    let decls = declarations();
    for decl in &decls {
        let expected: Vec<String> = decl
            .requirement
            .permissions
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            fields.get(decl.path),
            Some(&expected),
            "{} is declared but its SDL directives differ (wrong path in #[declare]?)",
            decl.path
        );
    }
    for (path, perms) in &fields {
        if !perms.is_empty() {
            assert!(
                decls.iter().any(|d| d.path == path),
                "{path} carries @requiresPermission but its type's DECLARATIONS are not in \
                 declarations()"
            );
        }
    }
    let mut registry = EndpointRegistry::default();
    declare_endpoints(&mut registry).expect("no path declared twice");
    for decl in &decls {
        let e = registry.graphql_field(decl.path).expect("registered");
        assert_eq!(e.method, decl.operation());
        assert_eq!(e.requirement, decl.requirement);
        assert!(!e.summary.is_empty(), "{} has no doc comment", decl.path);
    }
}

#[test]
fn not_covered_setting_reaches_graphql_fields() {
    let mut registry = EndpointRegistry::default();
    declare_endpoints(&mut registry).unwrap();
    assert!(
        registry
            .mark_not_covered(&["Query.currentUser".to_string()])
            .is_empty()
    );
    assert!(
        !registry
            .graphql_field("Query.currentUser")
            .unwrap()
            .is_covered()
    );
    assert!(
        registry
            .graphql_field("Query.project")
            .unwrap()
            .is_covered()
    );
}
