//! Labels on merge requests: the project's labels (see [`crate::labels`]), set by name as GitLab's
//! `labels=` parameter does (unknown names are created), read back per merge request, and the
//! `labels=` list filter (every named label present).

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::labels::{self, LabelRow};
use crate::schema::{labels as labels_t, merge_request_labels};
use diesel::prelude::*;
use std::collections::HashMap;

/// Replaces the labels of a merge request with `names` (created when missing), atomically.
pub fn set(
    conn: &mut DbConnection,
    project_id: i64,
    merge_request_id: i64,
    names: &[String],
) -> Result<Vec<LabelRow>, StoreError> {
    write_transaction(conn, |conn| {
        let found = labels::find_or_create(conn, project_id, names, true)?;
        diesel::delete(
            merge_request_labels::table
                .filter(merge_request_labels::merge_request_id.eq(merge_request_id)),
        )
        .execute(conn)?;
        for label in &found {
            diesel::insert_into(merge_request_labels::table)
                .values((
                    merge_request_labels::merge_request_id.eq(merge_request_id),
                    merge_request_labels::label_id.eq(label.id),
                ))
                .execute(conn)?;
        }
        Ok(found)
    })
}

/// The label names of each merge request, sorted by name.
pub fn names_of(
    conn: &mut DbConnection,
    merge_request_ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let rows: Vec<(i64, String)> = merge_request_labels::table
        .inner_join(labels_t::table)
        .filter(merge_request_labels::merge_request_id.eq_any(merge_request_ids))
        .order(labels_t::name.asc())
        .select((merge_request_labels::merge_request_id, labels_t::name))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, name) in rows {
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}
