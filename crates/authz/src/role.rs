//! Membership roles, GitLab's access levels; the ceiling for every token.

use std::fmt;

/// An access level on a project or group. `None` (0) means no membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    None = 0,
    Guest = 10,
    Reporter = 20,
    Developer = 30,
    Maintainer = 40,
    Owner = 50,
}

impl Role {
    pub const MEMBER_ROLES: [Role; 5] = [
        Role::Guest,
        Role::Reporter,
        Role::Developer,
        Role::Maintainer,
        Role::Owner,
    ];

    /// GitLab's numeric access level.
    pub fn access_level(self) -> i32 {
        self as i32
    }

    pub fn from_access_level(level: i32) -> Option<Role> {
        match level {
            0 => Some(Role::None),
            10 => Some(Role::Guest),
            20 => Some(Role::Reporter),
            30 => Some(Role::Developer),
            40 => Some(Role::Maintainer),
            50 => Some(Role::Owner),
            _ => None,
        }
    }

    /// The highest of several memberships (direct and inherited) wins.
    pub fn highest(roles: impl IntoIterator<Item = Role>) -> Role {
        roles.into_iter().max().unwrap_or(Role::None)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Guest => "guest",
            Role::Reporter => "reporter",
            Role::Developer => "developer",
            Role::Maintainer => "maintainer",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_str(), self.access_level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_order() {
        for r in Role::MEMBER_ROLES {
            assert_eq!(Role::from_access_level(r.access_level()), Some(r));
        }
        assert_eq!(Role::from_access_level(15), None);
        assert!(Role::Guest < Role::Reporter && Role::Maintainer < Role::Owner);
        assert_eq!(
            Role::highest([Role::Guest, Role::Maintainer, Role::Reporter]),
            Role::Maintainer
        );
        assert_eq!(Role::highest([]), Role::None);
    }
}
