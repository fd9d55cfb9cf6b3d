//! Web sessions: one row per signed-in browser, keyed by the digest of the cookie's secret
//! (never the secret), expiring, revocable (sign-out), dead when the user is blocked.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{users, web_sessions as ws};
use crate::users::User;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ws)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub digest: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub ip: String,
    pub user_agent: String,
}

impl SessionRow {
    /// Not signed out and not past its expiry.
    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

pub struct NewSession<'a> {
    pub user_id: i64,
    pub digest: &'a str,
    pub expires_at: NaiveDateTime,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// Stores a new session; returns its id.
pub fn create(conn: &mut DbConnection, new: &NewSession<'_>) -> Result<i64, StoreError> {
    let now = crate::now();
    Ok(diesel::insert_into(ws::table)
        .values((
            ws::user_id.eq(new.user_id),
            ws::digest.eq(new.digest),
            ws::created_at.eq(now),
            ws::expires_at.eq(new.expires_at),
            ws::last_seen_at.eq(now),
            ws::ip.eq(truncate(new.ip, 64)),
            ws::user_agent.eq(truncate(new.user_agent, 255)),
        ))
        .returning(ws::id)
        .get_result(conn)?)
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The session with this digest and its user, in one query.
pub fn find_by_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<(SessionRow, User)>, StoreError> {
    Ok(ws::table
        .inner_join(users::table)
        .filter(ws::digest.eq(digest))
        .select((SessionRow::as_select(), User::as_select()))
        .first(conn)
        .optional()?)
}

/// Notes activity at most once a minute per session.
pub fn touch(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> Result<(), StoreError> {
    let stale = now - chrono::Duration::seconds(60);
    diesel::update(ws::table.find(id).filter(ws::last_seen_at.lt(stale)))
        .set(ws::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Ends a session (sign-out); false when it had already ended.
pub fn revoke(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::update(ws::table.find(id).filter(ws::revoked_at.is_null()))
        .set(ws::revoked_at.eq(crate::now()))
        .execute(conn)?;
    Ok(n > 0)
}

/// Deletes sessions that ended more than a day ago, so the table stays small.
pub fn purge_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, StoreError> {
    let cutoff = now - chrono::Duration::days(1);
    Ok(
        diesel::delete(ws::table.filter(ws::expires_at.lt(cutoff).or(ws::revoked_at.lt(cutoff))))
            .execute(conn)?,
    )
}
