//! The permission catalog: resources, actions, and which `resource:action` pairs exist.

use std::fmt;
use std::str::FromStr;

/// A kind of thing a token can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Project,
    Group,
    Member,
    Issue,
    MergeRequest,
    Pipeline,
    Repository,
    ContainerRegistry,
    User,
    PersonalAccessToken,
    Runner,
}

/// What a token does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

/// One `resource:action` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub resource: Resource,
    pub action: Action,
}

impl Resource {
    pub const ALL: [Resource; 11] = [
        Resource::Project,
        Resource::Group,
        Resource::Member,
        Resource::Issue,
        Resource::MergeRequest,
        Resource::Pipeline,
        Resource::Repository,
        Resource::ContainerRegistry,
        Resource::User,
        Resource::PersonalAccessToken,
        Resource::Runner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Project => "project",
            Resource::Group => "group",
            Resource::Member => "member",
            Resource::Issue => "issue",
            Resource::MergeRequest => "merge_request",
            Resource::Pipeline => "pipeline",
            Resource::Repository => "repository",
            Resource::ContainerRegistry => "container_registry",
            Resource::User => "user",
            Resource::PersonalAccessToken => "personal_access_token",
            Resource::Runner => "runner",
        }
    }

    /// The actions a fine-grained grant may hold for this resource (the catalog table).
    pub fn grantable_actions(self) -> &'static [Action] {
        match self {
            Resource::User => &[Action::Read, Action::Update],
            _ => &Action::ALL,
        }
    }

    /// Resources that belong to no project or group: a grant's boundary does not apply to them.
    pub fn ignores_boundary(self) -> bool {
        matches!(
            self,
            Resource::User | Resource::PersonalAccessToken | Resource::Runner
        )
    }
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Create, Action::Read, Action::Update, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl Permission {
    pub const fn new(resource: Resource, action: Action) -> Self {
        Permission { resource, action }
    }

    /// True when a fine-grained grant may hold this permission.
    pub fn is_grantable(self) -> bool {
        self.resource.grantable_actions().contains(&self.action)
    }

    /// Every grantable permission, in catalog order.
    pub fn all_grantable() -> impl Iterator<Item = Permission> {
        Resource::ALL.into_iter().flat_map(|r| {
            r.grantable_actions()
                .iter()
                .map(move |a| Permission::new(r, *a))
        })
    }

    /// Parses `resource:action`, or GitLab's `action_resource` (`read_issue`), refusing anything
    /// outside the grantable catalog.
    pub fn parse_grantable(text: &str) -> Result<Permission, UnknownPermission> {
        let parsed = text
            .parse::<Permission>()
            .or_else(|_| parse_gitlab_style(text));
        match parsed {
            Ok(p) if p.is_grantable() => Ok(p),
            _ => Err(UnknownPermission(text.to_string())),
        }
    }

    /// GitLab's spelling, `read_issue`.
    pub fn gitlab_name(self) -> String {
        format!("{}_{}", self.action.as_str(), self.resource.as_str())
    }
}

fn parse_gitlab_style(text: &str) -> Result<Permission, UnknownPermission> {
    let (action, resource) = text
        .split_once('_')
        .ok_or_else(|| UnknownPermission(text.to_string()))?;
    Ok(Permission::new(resource.parse()?, action.parse()?))
}

/// A name outside the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPermission(pub String);

impl fmt::Display for UnknownPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown permission `{}`", self.0)
    }
}

impl std::error::Error for UnknownPermission {}

impl FromStr for Resource {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

impl FromStr for Action {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (r, a) = s
            .split_once(':')
            .ok_or_else(|| UnknownPermission(s.to_string()))?;
        Ok(Permission::new(r.parse()?, a.parse()?))
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_to_the_same_permission() {
        let ours = Permission::parse_grantable("merge_request:update").unwrap();
        let gitlab = Permission::parse_grantable("update_merge_request").unwrap();
        assert_eq!(ours, gitlab);
        assert_eq!(ours.gitlab_name(), "update_merge_request");
        assert_eq!(ours.to_string(), "merge_request:update");
    }

    #[test]
    fn names_outside_the_catalog_are_refused() {
        for bad in [
            "user:create",
            "user:delete",
            "issue:write",
            "wiki:read",
            "issue",
            "",
        ] {
            assert!(Permission::parse_grantable(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catalog_has_every_grantable_pair_once() {
        let all: Vec<_> = Permission::all_grantable().collect();
        assert_eq!(all.len(), 10 * 4 + 2);
        for p in &all {
            assert_eq!(Permission::parse_grantable(&p.to_string()).unwrap(), *p);
        }
    }
}
