//! Scalars and enums shared by the types: GitLab's `Time`, global ids, visibility levels.

use async_graphql::{Enum, ID, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDateTime};
use tinforge_authz::Visibility;

/// A point in time, shown as GitLab's `Time` scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub NaiveDateTime);

/// Time represented in ISO 8601, for example "2026-11-25T18:06:12Z".
#[Scalar(name = "Time")]
impl ScalarType for Time {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| Time(t.naive_utc()))
                .map_err(|_| InputValueError::custom(format!("`{s}` is not an ISO 8601 time"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    }
}

/// `gid://gitlab/Project/1`: GitLab's global id of a record.
pub fn gid(class: &str, id: i64) -> ID {
    ID(format!("gid://gitlab/{class}/{id}"))
}

/// The database id in a global id of `class`, or None when it is not one.
pub fn parse_gid(class: &str, gid: &str) -> Option<i64> {
    gid.strip_prefix("gid://gitlab/")?
        .strip_prefix(class)?
        .strip_prefix('/')?
        .parse()
        .ok()
}

/// Who can see a project or group (GitLab's `VisibilityLevelsEnum`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "VisibilityLevelsEnum", rename_items = "lowercase")]
pub enum VisibilityLevel {
    /// Only members.
    Private,
    /// Every signed-in user.
    Internal,
    /// Everyone, signed in or not.
    Public,
}

impl VisibilityLevel {
    pub fn as_str(self) -> &'static str {
        Visibility::from(self).as_str()
    }
}

impl From<VisibilityLevel> for Visibility {
    fn from(v: VisibilityLevel) -> Visibility {
        match v {
            VisibilityLevel::Private => Visibility::Private,
            VisibilityLevel::Internal => Visibility::Internal,
            VisibilityLevel::Public => Visibility::Public,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip() {
        assert_eq!(gid("Project", 7).0, "gid://gitlab/Project/7");
        assert_eq!(parse_gid("Project", "gid://gitlab/Project/7"), Some(7));
        assert_eq!(parse_gid("Group", "gid://gitlab/Project/7"), None);
        assert_eq!(parse_gid("Project", "gid://gitlab/ProjectX/7"), None);
        assert_eq!(parse_gid("Project", "7"), None);
    }
}
