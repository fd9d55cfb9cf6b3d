//! The job token's rights: the `permissions:` block of a CI file (top level is the default, a job's block
//! replaces it), in tinforge's `resource: [actions]` vocabulary, and the default when neither is given.

use crate::config::{CiConfig, JobSpec};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_yaml::Value;
use std::collections::BTreeSet;
use tinforge_authz::catalog::{Action, Permission, Resource};

/// A set of `resource:action` grants. Serializes as a sorted list of `"resource:action"` strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PermissionSet(pub BTreeSet<Permission>);

impl PermissionSet {
    /// True when the set grants `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    /// The grants as sorted `"resource:action"` strings.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.iter().map(|p| p.to_string()).collect();
        names.sort();
        names
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        let mut set = BTreeSet::new();
        for name in names {
            let permission =
                Permission::parse_grantable(&name).map_err(serde::de::Error::custom)?;
            set.insert(permission);
        }
        Ok(PermissionSet(set))
    }
}

/// What a job token may do when the CI file says nothing: read the repository and the container registry.
pub fn default_job_permissions() -> PermissionSet {
    PermissionSet(BTreeSet::from([
        Permission::new(Resource::Repository, Action::Read),
        Permission::new(Resource::ContainerRegistry, Action::Read),
    ]))
}

/// The grants a job's token gets: the job's own block, else the file's top-level block, else the default.
pub fn effective(config: &CiConfig, job: &JobSpec) -> PermissionSet {
    job.permissions
        .clone()
        .or_else(|| config.permissions.clone())
        .unwrap_or_else(default_job_permissions)
}

/// One line per resource, sorted by resource name, e.g. `container_registry: create, read`;
/// `none` for an empty set. This is the job log's header.
pub fn describe(set: &PermissionSet) -> String {
    let mut resources: Vec<Resource> = set.0.iter().map(|p| p.resource).collect();
    resources.dedup();
    resources.sort_by_key(|r| r.as_str());
    if resources.is_empty() {
        return "none".to_string();
    }
    resources
        .iter()
        .map(|resource| {
            let actions: Vec<&str> = Action::ALL
                .iter()
                .filter(|action| set.allows(Permission::new(*resource, **action)))
                .map(|action| action.as_str())
                .collect();
            format!("{}: {}", resource.as_str(), actions.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses a `permissions:` block at `location` (`root` or `jobs:<name>`).
pub(crate) fn parse_block(value: &Value, location: &str) -> Result<PermissionSet, String> {
    let here = format!("{location}:permissions");
    let mapping = match value {
        Value::Null => return Ok(PermissionSet::default()),
        Value::Mapping(mapping) => mapping,
        _ => {
            return Err(format!(
                "{here} config should be a hash of resources to lists of actions"
            ));
        }
    };
    let mut set = BTreeSet::new();
    for (key, actions) in mapping {
        let Some(resource_name) = key.as_str() else {
            return Err(format!(
                "{here} config should be a hash of resources to lists of actions"
            ));
        };
        let action_names: Vec<&str> = match actions {
            Value::String(single) => vec![single.as_str()],
            Value::Sequence(items) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(name) => names.push(name),
                        None => {
                            return Err(format!(
                                "{here}:{resource_name} config should be an action or a list of actions"
                            ));
                        }
                    }
                }
                names
            }
            Value::Null => Vec::new(),
            _ => {
                return Err(format!(
                    "{here}:{resource_name} config should be an action or a list of actions"
                ));
            }
        };
        let resource: Resource = match resource_name.parse() {
            Ok(resource) => resource,
            Err(_) => {
                let shown = match action_names.first() {
                    Some(action) => format!("{resource_name}:{action}"),
                    None => resource_name.to_string(),
                };
                return Err(format!(
                    "{here} unknown permission '{shown}' (valid resources: {})",
                    Resource::ALL.map(|r| r.as_str()).join(", ")
                ));
            }
        };
        for action_name in action_names {
            let valid = resource
                .grantable_actions()
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let Ok(action) = action_name.parse::<Action>() else {
                return Err(format!(
                    "{here} unknown permission '{resource_name}:{action_name}' (valid: {})",
                    valid_for(resource)
                ));
            };
            let permission = Permission::new(resource, action);
            if !permission.is_grantable() {
                return Err(format!(
                    "{here} permission '{permission}' cannot be granted (valid for {resource_name}: {valid})"
                ));
            }
            set.insert(permission);
        }
    }
    Ok(PermissionSet(set))
}

fn valid_for(resource: Resource) -> String {
    resource
        .grantable_actions()
        .iter()
        .map(|action| format!("{}:{}", resource.as_str(), action.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(yaml: &str) -> Result<PermissionSet, String> {
        let value: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        parse_block(&value, "jobs:build")
    }

    #[test]
    fn parses_lists_and_single_actions() {
        let set = block("{repository: [read], container_registry: [create, read], issue: update}")
            .unwrap();
        assert_eq!(
            set.names(),
            vec![
                "container_registry:create",
                "container_registry:read",
                "issue:update",
                "repository:read"
            ]
        );
        assert_eq!(
            describe(&set),
            "container_registry: create, read\nissue: update\nrepository: read"
        );
        assert_eq!(block("{}").unwrap(), PermissionSet::default());
        assert_eq!(describe(&PermissionSet::default()), "none");
    }

    #[test]
    fn unknown_and_ungrantable_permissions_are_errors() {
        let err = block("{container_registry: [push]}").unwrap_err();
        assert!(
            err.starts_with("jobs:build:permissions unknown permission 'container_registry:push' (valid: container_registry:create"),
            "{err}"
        );
        let err = block("{wiki: [read]}").unwrap_err();
        assert!(err.contains("unknown permission 'wiki:read'"), "{err}");
        let err = block("{user: [create]}").unwrap_err();
        assert!(err.contains("'user:create' cannot be granted"), "{err}");
        assert!(block("[repository]").is_err());
        assert!(block("{repository: {read: true}}").is_err());
    }

    #[test]
    fn serializes_as_sorted_strings() {
        let set = default_job_permissions();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["container_registry:read","repository:read"]"#);
        let back: PermissionSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<PermissionSet>(r#"["user:create"]"#).is_err());
    }
}
