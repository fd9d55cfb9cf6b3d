//! The object a request acts on, as the store resolved it for this caller.

/// Whether the target is a project or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Project,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Visibility {
    Private,
    Internal,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "private" => Some(Visibility::Private),
            "internal" => Some(Visibility::Internal),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// A project or group, with the caller's effective role on it (direct or inherited, highest wins).
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub id: i64,
    pub full_path: String,
    pub visibility: Visibility,
    /// Groups above the target, nearest first (a project's namespace group and its parents).
    pub ancestor_group_ids: Vec<i64>,
    /// For projects in a user's personal namespace: that user.
    pub personal_owner_id: Option<i64>,
    /// The caller's effective role.
    pub role: crate::role::Role,
}

impl Target {
    pub fn is_member(&self) -> bool {
        self.role > crate::role::Role::None
    }
}
