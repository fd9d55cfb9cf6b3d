//! The audit log of token events: created, rotated, revoked, reuse detected, family revoked,
//! trimmed, and denied requests with their reason. Readable by the token's owner and by admins.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{personal_access_tokens as pat, token_events as te};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The kinds of event, as stored and returned.
pub mod kind {
    pub const CREATED: &str = "created";
    pub const ROTATED: &str = "rotated";
    pub const REVOKED: &str = "revoked";
    pub const REUSE_DETECTED: &str = "reuse_detected";
    pub const FAMILY_REVOKED: &str = "family_revoked";
    pub const TRIMMED: &str = "trimmed";
    pub const DENIED: &str = "denied";
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = te)]
pub struct EventRow {
    pub id: i64,
    pub token_id: i64,
    pub user_id: i64,
    pub actor_id: Option<i64>,
    pub event: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

/// An event to write; `user_id` is looked up from the token.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub token_id: i64,
    pub actor_id: Option<i64>,
    pub event: &'static str,
    pub detail: String,
    pub at: NaiveDateTime,
}

/// Writes events; those of tokens that no longer exist are skipped.
pub fn record(conn: &mut DbConnection, events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        let owner: Option<i64> = pat::table
            .find(e.token_id)
            .select(pat::user_id)
            .first(conn)
            .optional()?;
        let Some(user_id) = owner else { continue };
        diesel::insert_into(te::table)
            .values((
                te::token_id.eq(e.token_id),
                te::user_id.eq(user_id),
                te::actor_id.eq(e.actor_id),
                te::event.eq(e.event),
                te::detail.eq(&e.detail),
                te::created_at.eq(e.at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Events of a token's whole rotation family, newest first, with the total count.
pub fn of_family(
    conn: &mut DbConnection,
    family_id: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<EventRow>, i64), StoreError> {
    let ids = pat::table
        .filter(pat::family_id.eq(family_id))
        .select(pat::id);
    let total: i64 = te::table
        .filter(te::token_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    let rows = te::table
        .filter(te::token_id.eq_any(ids))
        .order(te::id.desc())
        .offset(offset)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Events of every token (admins), or of one owner's tokens, newest first, with the total.
pub fn list(
    conn: &mut DbConnection,
    owner: Option<i64>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<EventRow>, i64), StoreError> {
    let mut count = te::table.into_boxed();
    let mut q = te::table.into_boxed();
    if let Some(u) = owner {
        count = count.filter(te::user_id.eq(u));
        q = q.filter(te::user_id.eq(u));
    }
    let total: i64 = count.count().get_result(conn)?;
    let rows = q
        .order(te::id.desc())
        .offset(offset)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Deletes events older than `before`; returns how many.
pub fn purge_older_than(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(te::table.filter(te::created_at.lt(before))).execute(conn)?)
}
