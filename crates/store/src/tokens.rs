//! Personal access tokens: rows keyed by the token's digest (never the token), their fine-grained
//! grants, revocation, rotation families and `last_used_at` bookkeeping.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{
    personal_access_tokens as pat, token_grant_targets as tgt, token_grants as tg,
};
use crate::users::User;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tinforge_authz::{Boundary, Grant, LegacyScope, Permission, TokenKind};

pub const KIND_LEGACY: &str = "legacy";
pub const KIND_FINE_GRAINED: &str = "fine_grained";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pat)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub description: String,
    pub digest: String,
    pub kind: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDate,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ips: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub family_id: Option<i64>,
    pub rotated_to_id: Option<i64>,
}

impl TokenRow {
    pub fn token_kind(&self) -> TokenKind {
        if self.kind == KIND_FINE_GRAINED {
            TokenKind::FineGrained
        } else {
            TokenKind::Legacy
        }
    }

    /// Legacy scopes as stored; unknown names are dropped (fail closed).
    pub fn legacy_scopes(&self) -> Vec<LegacyScope> {
        self.scopes
            .split(' ')
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    pub fn is_expired(&self, today: NaiveDate) -> bool {
        today >= self.expires_at
    }

    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.revoked_at.is_none() && !self.is_expired(today)
    }

    pub fn family(&self) -> i64 {
        self.family_id.unwrap_or(self.id)
    }
}

/// What a token may do: legacy scopes or fine-grained grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRights {
    Legacy(Vec<LegacyScope>),
    FineGrained(Vec<Grant>),
}

/// A token row with its grants loaded.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub row: TokenRow,
    pub grants: Vec<Grant>,
}

impl TokenRecord {
    pub fn rights(&self) -> TokenRights {
        match self.row.token_kind() {
            TokenKind::FineGrained => TokenRights::FineGrained(self.grants.clone()),
            _ => TokenRights::Legacy(self.row.legacy_scopes()),
        }
    }
}

pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub digest: &'a str,
    pub rights: &'a TokenRights,
    pub expires_at: NaiveDate,
    pub family_id: Option<i64>,
}

/// Inserts a token and its grants in one transaction; returns the new id.
pub fn insert(conn: &mut DbConnection, new: &NewToken<'_>) -> Result<i64, StoreError> {
    write_transaction(conn, |conn| insert_in_tx(conn, new))
}

fn insert_in_tx(conn: &mut DbConnection, new: &NewToken<'_>) -> Result<i64, StoreError> {
    let (kind, scopes) = match new.rights {
        TokenRights::Legacy(scopes) => (
            KIND_LEGACY,
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        TokenRights::FineGrained(_) => (KIND_FINE_GRAINED, String::new()),
    };
    let id: i64 = diesel::insert_into(pat::table)
        .values((
            pat::user_id.eq(new.user_id),
            pat::name.eq(new.name),
            pat::description.eq(new.description),
            pat::digest.eq(new.digest),
            pat::kind.eq(kind),
            pat::scopes.eq(scopes),
            pat::created_at.eq(crate::now()),
            pat::expires_at.eq(new.expires_at),
            pat::family_id.eq(new.family_id),
        ))
        .returning(pat::id)
        .get_result(conn)?;
    if new.family_id.is_none() {
        diesel::update(pat::table.find(id))
            .set(pat::family_id.eq(id))
            .execute(conn)?;
    }
    if let TokenRights::FineGrained(grants) = new.rights {
        for grant in grants {
            insert_grant(conn, id, grant)?;
        }
    }
    Ok(id)
}

fn insert_grant(conn: &mut DbConnection, token_id: i64, grant: &Grant) -> Result<(), StoreError> {
    let permissions = grant
        .permissions
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let grant_id: i64 = diesel::insert_into(tg::table)
        .values((
            tg::token_id.eq(token_id),
            tg::boundary.eq(grant.boundary.name()),
            tg::permissions.eq(permissions),
        ))
        .returning(tg::id)
        .get_result(conn)?;
    if let Boundary::Selected { projects, groups } = &grant.boundary {
        for p in projects {
            diesel::insert_into(tgt::table)
                .values((tgt::grant_id.eq(grant_id), tgt::project_id.eq(Some(*p))))
                .execute(conn)?;
        }
        for g in groups {
            diesel::insert_into(tgt::table)
                .values((tgt::grant_id.eq(grant_id), tgt::group_id.eq(Some(*g))))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<TokenRecord>, StoreError> {
    let Some(row) = pat::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut grants = load_grants(conn, &[row.id])?;
    Ok(Some(TokenRecord {
        grants: grants.remove(&row.id).unwrap_or_default(),
        row,
    }))
}

/// Tokens of one user, or of everyone (`None`, admins), ordered by id.
pub fn list(conn: &mut DbConnection, user_id: Option<i64>) -> Result<Vec<TokenRecord>, StoreError> {
    let mut q = pat::table
        .select(TokenRow::as_select())
        .order(pat::id.asc())
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(pat::user_id.eq(u));
    }
    let rows = q.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut grants = load_grants(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| TokenRecord {
            grants: grants.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// One row of grants joined with their targets: (grant id, token id, boundary, permissions,
/// project, group); a grant without targets has one row with neither.
type GrantTargetRow = (i64, i64, String, String, Option<i64>, Option<i64>);

/// Grants of several tokens at once (one query), keyed by token id.
pub fn load_grants(
    conn: &mut DbConnection,
    token_ids: &[i64],
) -> Result<BTreeMap<i64, Vec<Grant>>, StoreError> {
    let rows: Vec<GrantTargetRow> = tg::table
        .left_join(tgt::table)
        .filter(tg::token_id.eq_any(token_ids))
        .order((tg::id.asc(), tgt::id.nullable().asc()))
        .select((
            tg::id,
            tg::token_id,
            tg::boundary,
            tg::permissions,
            tgt::project_id.nullable(),
            tgt::group_id.nullable(),
        ))
        .load(conn)?;
    Ok(assemble_grants(rows))
}

/// A grant being assembled: (grant id, token id, boundary, permissions, projects, groups).
type PartialGrant = (i64, i64, String, String, Vec<i64>, Vec<i64>);

/// Builds grants from grant × target rows ordered by grant id.
fn assemble_grants(rows: Vec<GrantTargetRow>) -> BTreeMap<i64, Vec<Grant>> {
    let mut out: BTreeMap<i64, Vec<Grant>> = BTreeMap::new();
    let mut current: Option<PartialGrant> = None;
    let mut finish = |g: PartialGrant| {
        let (_, token_id, boundary, permissions, projects, groups) = g;
        let permissions: BTreeSet<Permission> = permissions
            .split(' ')
            .filter_map(|p| p.parse().ok())
            .collect();
        let boundary = match boundary.as_str() {
            "personal_projects" => Boundary::PersonalProjects,
            "all_memberships" => Boundary::AllMemberships,
            _ => Boundary::Selected { projects, groups },
        };
        out.entry(token_id).or_default().push(Grant {
            boundary,
            permissions,
        });
    };
    for (grant_id, token_id, boundary, permissions, project, group) in rows {
        match &mut current {
            Some(g) if g.0 == grant_id => {
                g.4.extend(project);
                g.5.extend(group);
            }
            _ => {
                if let Some(done) = current.take() {
                    finish(done);
                }
                current = Some((
                    grant_id,
                    token_id,
                    boundary,
                    permissions,
                    project.into_iter().collect(),
                    group.into_iter().collect(),
                ));
            }
        }
    }
    if let Some(done) = current {
        finish(done);
    }
    out
}

/// The token with this digest, its owner and its grants, in one query (the request path's
/// token resolution: one round trip for legacy and fine-grained tokens alike).
pub fn find_with_grants_by_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<(TokenRow, User, Vec<Grant>)>, StoreError> {
    type Row = (
        TokenRow,
        User,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = pat::table
        .inner_join(crate::schema::users::table)
        .left_join(tg::table.left_join(tgt::table))
        .filter(pat::digest.eq(digest))
        .order((tg::id.nullable().asc(), tgt::id.nullable().asc()))
        .select((
            TokenRow::as_select(),
            User::as_select(),
            tg::id.nullable(),
            tg::boundary.nullable(),
            tg::permissions.nullable(),
            tgt::project_id.nullable(),
            tgt::group_id.nullable(),
        ))
        .load(conn)?;
    let mut rows = rows.into_iter().peekable();
    let Some((row, user, ..)) = rows.peek().cloned() else {
        return Ok(None);
    };
    let grant_rows: Vec<GrantTargetRow> = rows
        .filter_map(|(t, _, id, boundary, permissions, project, group)| {
            Some((id?, t.id, boundary?, permissions?, project, group))
        })
        .collect();
    let grants = assemble_grants(grant_rows)
        .remove(&row.id)
        .unwrap_or_default();
    Ok(Some((row, user, grants)))
}

/// Revokes one token; false when it was already revoked or does not exist.
pub fn revoke(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::update(pat::table.find(id).filter(pat::revoked_at.is_null()))
        .set(pat::revoked_at.eq(crate::now()))
        .execute(conn)?;
    Ok(n > 0)
}

/// Revokes every token of a rotation family (reuse detection); returns how many were active.
pub fn revoke_family(conn: &mut DbConnection, family_id: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        pat::table
            .filter(pat::family_id.eq(family_id))
            .filter(pat::revoked_at.is_null()),
    )
    .set(pat::revoked_at.eq(crate::now()))
    .execute(conn)?)
}

/// Rotation: revokes `old` (if it is still active) and inserts its successor with `rights` (the
/// same ones, or fewer for a trim) in the same family, atomically. Returns the new id, or
/// `Conflict` when `old` was already revoked by a concurrent request.
pub fn rotate(
    conn: &mut DbConnection,
    old: &TokenRecord,
    new_digest: &str,
    expires_at: NaiveDate,
    rights: &TokenRights,
) -> Result<i64, StoreError> {
    write_transaction(conn, |conn| {
        let n = diesel::update(
            pat::table
                .find(old.row.id)
                .filter(pat::revoked_at.is_null()),
        )
        .set(pat::revoked_at.eq(crate::now()))
        .execute(conn)?;
        if n == 0 {
            return Err(StoreError::Conflict("token already revoked".into()));
        }
        let id = insert_in_tx(
            conn,
            &NewToken {
                user_id: old.row.user_id,
                name: &old.row.name,
                description: &old.row.description,
                digest: new_digest,
                rights,
                expires_at,
                family_id: Some(old.row.family()),
            },
        )?;
        diesel::update(pat::table.find(old.row.id))
            .set(pat::rotated_to_id.eq(id))
            .execute(conn)?;
        Ok(id)
    })
}

/// Records a use: at most one write a minute per token, whatever the request rate.
pub fn touch_last_used(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    ip: &str,
) -> Result<(), StoreError> {
    let stale = now - chrono::Duration::seconds(60);
    diesel::update(
        pat::table
            .find(id)
            .filter(pat::last_used_at.is_null().or(pat::last_used_at.lt(stale))),
    )
    .set((pat::last_used_at.eq(now), pat::last_used_ips.eq(ip)))
    .execute(conn)?;
    Ok(())
}
