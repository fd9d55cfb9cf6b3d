//! `Group`, loaded with its authorization target for the caller.

use super::scalars::{Time, gid};
use crate::guard::Parent;
use async_graphql::{ID, SimpleObject};
use tinforge_authz::Target;
use tinforge_store::groups::{self, GroupRow};
use tinforge_store::{DbConnection, StoreError, projects};

/// A group: a namespace of projects and subgroups.
#[derive(SimpleObject, Debug, Clone)]
pub struct Group {
    /// Global ID of the group (`gid://gitlab/Group/1`).
    pub id: ID,
    /// Name of the group.
    pub name: String,
    /// Path of the group within its parent.
    pub path: String,
    /// Full path of the group (`group/subgroup`).
    pub full_path: String,
    /// Full name of the group with its parents (`Group / Subgroup`).
    pub full_name: String,
    /// Description of the group.
    pub description: Option<String>,
    /// Visibility of the group: `private`, `internal` or `public`.
    pub visibility: String,
    /// Web URL of the group.
    pub web_url: String,
    /// When the group was created.
    pub created_at: Time,
    #[graphql(skip)]
    pub row: GroupRow,
    /// The group as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Group {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl Group {
    /// Loads what the type shows beyond the row (target, parents' names) for `user_id`.
    pub fn load(
        conn: &mut DbConnection,
        row: GroupRow,
        user_id: Option<i64>,
        external_url: &str,
    ) -> Result<Group, StoreError> {
        let target = projects::group_target(conn, &row, user_id)?;
        let full_name = full_name_parts(conn, row.id)?.join(" / ");
        Ok(Group {
            id: gid("Group", row.id),
            name: row.name.clone(),
            path: row.path.clone(),
            full_path: row.full_path.clone(),
            full_name,
            description: Some(row.description.clone()).filter(|d| !d.is_empty()),
            visibility: row.visibility.clone(),
            web_url: format!("{external_url}/groups/{}", row.full_path),
            created_at: Time(row.created_at),
            row,
            target,
        })
    }
}

/// The names of a group and its parents, top-level first.
pub(super) fn full_name_parts(
    conn: &mut DbConnection,
    group_id: i64,
) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for id in groups::self_and_ancestors(conn, group_id)?
        .into_iter()
        .rev()
    {
        if let Some(g) = groups::find(conn, id)? {
            names.push(g.name);
        }
    }
    Ok(names)
}
