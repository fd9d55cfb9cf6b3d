//! The usage record of personal access tokens: what each token actually used, as one row per
//! token × permission × target × day counted up in place. It feeds the over-privilege flags and
//! "trim to used". Writes come in batches from the gate's recorder, off the request path.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{personal_access_tokens as pat, token_usage as tu};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// `project_id` / `group_id` of a use that acted on no project or group (a list, a user-level
/// resource).
pub const NO_TARGET: i64 = 0;

/// How long usage rows are kept, in days.
pub const RETENTION_DAYS: i64 = 90;

/// What one aggregated batch entry counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    pub token_id: i64,
    pub permission: String,
    pub project_id: i64,
    pub group_id: i64,
    pub day: NaiveDate,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tu)]
pub struct UsageRow {
    pub id: i64,
    pub token_id: i64,
    pub permission: String,
    pub project_id: i64,
    pub group_id: i64,
    pub day: NaiveDate,
    pub requests: i64,
    pub last_used_at: NaiveDateTime,
}

/// Adds a batch of counts: each key's row is counted up in place, or created. A token deleted
/// meanwhile is skipped (its rows would go with it anyway).
pub fn add(
    conn: &mut DbConnection,
    batch: &[(UsageKey, i64, NaiveDateTime)],
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        for (key, requests, at) in batch {
            if !bump(conn, key, *requests, *at)? {
                let inserted = conn.transaction(|conn| {
                    diesel::insert_into(tu::table)
                        .values((
                            tu::token_id.eq(key.token_id),
                            tu::permission.eq(&key.permission),
                            tu::project_id.eq(key.project_id),
                            tu::group_id.eq(key.group_id),
                            tu::day.eq(key.day),
                            tu::requests.eq(requests),
                            tu::last_used_at.eq(at),
                        ))
                        .execute(conn)
                });
                match inserted.map_err(StoreError::from) {
                    Ok(_) => {}
                    // Another instance inserted the same row first: count on it.
                    Err(StoreError::Conflict(_)) => {
                        bump(conn, key, *requests, *at)?;
                    }
                    Err(StoreError::Database(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                        _,
                    ))) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    })
}

fn bump(
    conn: &mut DbConnection,
    key: &UsageKey,
    requests: i64,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        tu::table
            .filter(tu::token_id.eq(key.token_id))
            .filter(tu::permission.eq(&key.permission))
            .filter(tu::project_id.eq(key.project_id))
            .filter(tu::group_id.eq(key.group_id))
            .filter(tu::day.eq(key.day)),
    )
    .set((
        tu::requests.eq(tu::requests + requests),
        tu::last_used_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Usage of every token of a rotation family since `since` (inclusive), oldest day first:
/// a rotated token keeps the record of what its predecessors used.
pub fn of_family(
    conn: &mut DbConnection,
    family_id: i64,
    since: NaiveDate,
) -> Result<Vec<UsageRow>, StoreError> {
    Ok(tu::table
        .inner_join(pat::table)
        .filter(pat::family_id.eq(family_id))
        .filter(tu::day.ge(since))
        .order((tu::day.asc(), tu::id.asc()))
        .select(UsageRow::as_select())
        .load(conn)?)
}

/// Deletes rows older than the retention period; returns how many.
pub fn purge_older_than(conn: &mut DbConnection, day: NaiveDate) -> Result<usize, StoreError> {
    Ok(diesel::delete(tu::table.filter(tu::day.lt(day))).execute(conn)?)
}
