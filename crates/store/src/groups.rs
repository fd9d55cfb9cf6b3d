//! Groups: a tree of namespaces (subgroups through `parent_id`).

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::groups;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub parent_id: Option<i64>,
    pub visibility: String,
    pub description: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<GroupRow>, StoreError> {
    Ok(groups::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_full_path(
    conn: &mut DbConnection,
    full_path: &str,
) -> Result<Option<GroupRow>, StoreError> {
    Ok(groups::table
        .filter(groups::full_path.eq(full_path))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?)
}

/// A numeric id or a full path.
pub fn find_by_ref(
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Option<GroupRow>, StoreError> {
    match reference.parse::<i64>() {
        Ok(id) => find(conn, id),
        Err(_) => find_by_full_path(conn, reference),
    }
}

/// The group and every group above it, nearest first.
pub fn self_and_ancestors(conn: &mut DbConnection, group_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut chain = vec![group_id];
    let mut current = group_id;
    while let Some(parent) = groups::table
        .find(current)
        .select(groups::parent_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten()
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
        current = parent;
    }
    Ok(chain)
}

/// Creates a group (a subgroup when `parent` is given) at `parent/path`.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    path: &str,
    parent: Option<&GroupRow>,
    visibility: &str,
) -> Result<GroupRow, StoreError> {
    let full_path = match parent {
        Some(p) => format!("{}/{}", p.full_path, path),
        None => path.to_string(),
    };
    if find_by_full_path(conn, &full_path)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "Path {full_path} has already been taken"
        )));
    }
    let id: i64 = diesel::insert_into(groups::table)
        .values((
            groups::name.eq(name),
            groups::path.eq(path),
            groups::full_path.eq(&full_path),
            groups::parent_id.eq(parent.map(|p| p.id)),
            groups::visibility.eq(visibility),
            groups::created_at.eq(crate::now()),
        ))
        .returning(groups::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or(StoreError::NotFound)
}
