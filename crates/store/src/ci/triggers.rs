//! Pipeline trigger tokens of a project. A trigger token is `tfptt-` + 32 random base62
//! characters; only its digest is stored (the caller computes it, as for every other token),
//! with the first characters as a hint for lists. The token itself is shown once, at creation.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::ci_triggers;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use rand::rngs::OsRng;

/// The prefix of trigger tokens.
pub const PREFIX: &str = "tfptt-";
const RANDOM_LEN: usize = 32;
/// How many characters of a token lists show (the prefix and 4 more).
pub const HINT_LEN: usize = 10;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ci_triggers)]
pub struct TriggerRow {
    pub id: i64,
    pub project_id: i64,
    /// Who the triggered pipelines run as.
    pub owner_id: i64,
    pub description: String,
    pub token_digest: String,
    /// The token's first [`HINT_LEN`] characters.
    pub token_hint: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_used: Option<NaiveDateTime>,
}

/// A fresh trigger token from the operating system's CSPRNG.
pub fn generate_token() -> String {
    let mut rng = OsRng;
    let mut token = String::with_capacity(PREFIX.len() + RANDOM_LEN);
    token.push_str(PREFIX);
    for _ in 0..RANDOM_LEN {
        token.push(BASE62[rng.gen_range(0..62)] as char);
    }
    token
}

/// Is this shaped like a trigger token (checked before any database access)?
pub fn well_formed(token: &str) -> bool {
    token.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The hint lists show for a token.
pub fn hint_of(token: &str) -> String {
    token.chars().take(HINT_LEN).collect()
}

/// A project's triggers, oldest first.
pub fn list(conn: &mut DbConnection, project_id: i64) -> Result<Vec<TriggerRow>, StoreError> {
    Ok(ci_triggers::table
        .filter(ci_triggers::project_id.eq(project_id))
        .order(ci_triggers::id.asc())
        .select(TriggerRow::as_select())
        .load(conn)?)
}

/// Trigger `id` of a project (None when it belongs to another one).
pub fn find(
    conn: &mut DbConnection,
    project_id: i64,
    id: i64,
) -> Result<Option<TriggerRow>, StoreError> {
    Ok(ci_triggers::table
        .filter(ci_triggers::project_id.eq(project_id))
        .filter(ci_triggers::id.eq(id))
        .select(TriggerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The trigger whose token has this digest.
pub fn find_by_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<TriggerRow>, StoreError> {
    Ok(ci_triggers::table
        .filter(ci_triggers::token_digest.eq(digest))
        .select(TriggerRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a trigger of `project_id` owned by `owner_id` for a token with `digest` and `hint`.
pub fn create(
    conn: &mut DbConnection,
    project_id: i64,
    owner_id: i64,
    description: &str,
    digest: &str,
    hint: &str,
) -> Result<TriggerRow, StoreError> {
    write_transaction(conn, |conn| {
        let now = crate::now();
        let id: i64 = diesel::insert_into(ci_triggers::table)
            .values((
                ci_triggers::project_id.eq(project_id),
                ci_triggers::owner_id.eq(owner_id),
                ci_triggers::description.eq(description),
                ci_triggers::token_digest.eq(digest),
                ci_triggers::token_hint.eq(hint),
                ci_triggers::created_at.eq(now),
                ci_triggers::updated_at.eq(now),
            ))
            .returning(ci_triggers::id)
            .get_result(conn)?;
        find(conn, project_id, id)?.ok_or(StoreError::NotFound)
    })
}

/// Changes a trigger's description.
pub fn set_description(
    conn: &mut DbConnection,
    id: i64,
    description: &str,
) -> Result<TriggerRow, StoreError> {
    write_transaction(conn, |conn| {
        let changed = diesel::update(ci_triggers::table.find(id))
            .set((
                ci_triggers::description.eq(description),
                ci_triggers::updated_at.eq(crate::now()),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(ci_triggers::table
            .find(id)
            .select(TriggerRow::as_select())
            .first(conn)?)
    })
}

/// Deletes a trigger; false when it was not there.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(ci_triggers::table.find(id)).execute(conn)? > 0)
}

/// Records that the trigger was used now.
pub fn touch_last_used(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(ci_triggers::table.find(id))
        .set(ci_triggers::last_used.eq(Some(crate::now())))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_base62() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert_eq!(a.len(), PREFIX.len() + 32);
        assert_eq!(hint_of(&a).len(), HINT_LEN);
        assert!(!well_formed("tfptt-short"));
        assert!(!well_formed("tfpat-0123456789abcdef0123456789abcdef"));
    }
}
