//! Token resolution: format and checksum first (garbage costs no database access), then the
//! HMAC-SHA-256 digest looked up by its unique index, then expiry, revocation, rotation reuse and
//! the owner's state. The result is a `Principal`.

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{Grant, Principal, TokenKind};
use tinforge_store::tokens::{self, TokenRow};
use tinforge_store::users::User;
use tinforge_store::{DbConnection, StoreError};

/// Why a presented token is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown token")]
    Unknown,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
    #[error("owner blocked")]
    Blocked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Computes token digests under the instance secret and resolves tokens to principals.
#[derive(Clone)]
pub struct TokenResolver {
    key: Vec<u8>,
}

impl TokenResolver {
    pub fn new(secret: &[u8]) -> Self {
        TokenResolver {
            key: secret.to_vec(),
        }
    }

    /// Hex HMAC-SHA-256 of the token: what is stored instead of the token.
    pub fn digest(&self, token: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Resolves a personal access token; `ip` is recorded in `last_used_ips`.
    pub fn resolve(
        &self,
        conn: &mut DbConnection,
        token: &str,
        ip: &str,
    ) -> Result<Principal, ResolveError> {
        if token_format::check(token) != Some(TokenPrefix::PersonalAccess) {
            return Err(ResolveError::Malformed);
        }
        let (row, user) =
            tokens::find_by_digest(conn, &self.digest(token))?.ok_or(ResolveError::Unknown)?;
        if row.revoked_at.is_some() {
            if row.rotated_to_id.is_some() {
                // A rotated-away token used again is treated as a leak.
                let n = tokens::revoke_family(conn, row.family())?;
                tracing::warn!(
                    token.id = row.id,
                    token.family = row.family(),
                    revoked = n,
                    "rotated-away token reused: whole rotation family revoked"
                );
            }
            return Err(ResolveError::Revoked);
        }
        let now = tinforge_store::now();
        if row.is_expired(Utc::now().date_naive()) {
            return Err(ResolveError::Expired);
        }
        if user.is_blocked() {
            return Err(ResolveError::Blocked);
        }
        let grants = match row.token_kind() {
            TokenKind::FineGrained => tokens::load_grants(conn, &[row.id])?
                .remove(&row.id)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if row
            .last_used_at
            .is_none_or(|t| now - t >= chrono::Duration::seconds(60))
        {
            tokens::touch_last_used(conn, row.id, now, ip)?;
        }
        Ok(principal_for(&row, user, grants))
    }
}

/// The principal behind token `id`, with the same checks as [`TokenResolver::resolve`]
/// (revoked, expired, owner blocked) but without the secret: the registry re-checks the token
/// behind a registry JWT this way on every write, so a revocation stops pushes at once.
pub fn principal_by_id(conn: &mut DbConnection, id: i64) -> Result<Principal, ResolveError> {
    let record = tokens::get(conn, id)?.ok_or(ResolveError::Unknown)?;
    if record.row.revoked_at.is_some() {
        return Err(ResolveError::Revoked);
    }
    if record.row.is_expired(Utc::now().date_naive()) {
        return Err(ResolveError::Expired);
    }
    let user =
        tinforge_store::users::find(conn, record.row.user_id)?.ok_or(ResolveError::Unknown)?;
    if user.is_blocked() {
        return Err(ResolveError::Blocked);
    }
    Ok(principal_for(&record.row, user, record.grants))
}

/// The principal a token row stands for (also used to explain decisions for a token by id).
pub fn principal_for(row: &TokenRow, user: User, grants: Vec<Grant>) -> Principal {
    Principal {
        user_id: user.id,
        username: user.username,
        is_admin: user.is_admin,
        kind: row.token_kind(),
        token_id: Some(row.id),
        scopes: row.legacy_scopes(),
        grants,
    }
}
