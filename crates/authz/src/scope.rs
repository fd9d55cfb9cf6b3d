//! GitLab's legacy token scopes and what each one allows.

use crate::catalog::{Action, Permission, Resource};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegacyScope {
    Api,
    ReadApi,
    ReadUser,
    ReadRepository,
    WriteRepository,
    ReadRegistry,
    WriteRegistry,
    CreateRunner,
    ManageRunner,
    SelfRotate,
    Sudo,
    AdminMode,
}

impl LegacyScope {
    pub const ALL: [LegacyScope; 12] = [
        LegacyScope::Api,
        LegacyScope::ReadApi,
        LegacyScope::ReadUser,
        LegacyScope::ReadRepository,
        LegacyScope::WriteRepository,
        LegacyScope::ReadRegistry,
        LegacyScope::WriteRegistry,
        LegacyScope::CreateRunner,
        LegacyScope::ManageRunner,
        LegacyScope::SelfRotate,
        LegacyScope::Sudo,
        LegacyScope::AdminMode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegacyScope::Api => "api",
            LegacyScope::ReadApi => "read_api",
            LegacyScope::ReadUser => "read_user",
            LegacyScope::ReadRepository => "read_repository",
            LegacyScope::WriteRepository => "write_repository",
            LegacyScope::ReadRegistry => "read_registry",
            LegacyScope::WriteRegistry => "write_registry",
            LegacyScope::CreateRunner => "create_runner",
            LegacyScope::ManageRunner => "manage_runner",
            LegacyScope::SelfRotate => "self_rotate",
            LegacyScope::Sudo => "sudo",
            LegacyScope::AdminMode => "admin_mode",
        }
    }

    /// The permissions.md table: does this scope, on its own, allow `permission`?
    pub fn allows(self, permission: Permission) -> bool {
        use Action::*;
        use Resource::*;
        let Permission { resource, action } = permission;
        match self {
            LegacyScope::Api => true,
            LegacyScope::ReadApi => action == Read,
            LegacyScope::ReadUser => resource == User && action == Read,
            LegacyScope::ReadRepository => resource == Repository && action == Read,
            LegacyScope::WriteRepository => resource == Repository,
            LegacyScope::ReadRegistry => resource == ContainerRegistry && action == Read,
            LegacyScope::WriteRegistry => {
                resource == ContainerRegistry && matches!(action, Create | Update)
            }
            LegacyScope::CreateRunner => resource == Runner && action == Create,
            LegacyScope::ManageRunner => resource == Runner && action != Create,
            LegacyScope::SelfRotate | LegacyScope::Sudo | LegacyScope::AdminMode => false,
        }
    }

    /// Every scope that allows `permission` by the table (extra scopes a requirement names come on top).
    pub fn allowing(permission: Permission) -> impl Iterator<Item = LegacyScope> {
        LegacyScope::ALL
            .into_iter()
            .filter(move |s| s.allows(permission))
    }

    /// Parses a comma- or space-separated list, refusing unknown names.
    pub fn parse_list(text: &str) -> Result<Vec<LegacyScope>, String> {
        let mut scopes = Vec::new();
        for name in text.split([',', ' ']).filter(|s| !s.is_empty()) {
            let scope = name.parse::<LegacyScope>()?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        Ok(scopes)
    }
}

impl FromStr for LegacyScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LegacyScope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown scope `{s}`"))
    }
}

impl fmt::Display for LegacyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
