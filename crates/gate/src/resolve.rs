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
        match token_format::check(token) {
            Some(TokenPrefix::PersonalAccess) => {}
            Some(TokenPrefix::Job) => return self.resolve_job(conn, token),
            _ => return Err(ResolveError::Malformed),
        }
        let (row, user, grants) = tokens::find_with_grants_by_digest(conn, &self.digest(token))?
            .ok_or(ResolveError::Unknown)?;
        if row.revoked_at.is_some() {
            if row.rotated_to_id.is_some() {
                // A rotated-away token used again is treated as a leak.
                let n = tokens::revoke_family(conn, row.family())?;
                record_reuse(conn, &row, n, ip)?;
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
        // Grants count for fine-grained tokens only (a legacy token has none stored).
        let grants = match row.token_kind() {
            TokenKind::FineGrained => grants,
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

impl TokenResolver {
    /// Resolves a web session cookie's secret: a live session of a user who is not blocked. The
    /// principal is of kind `Session` (the user's full role rights, web pages only).
    pub fn resolve_session(
        &self,
        conn: &mut DbConnection,
        secret: &str,
    ) -> Result<Principal, ResolveError> {
        if token_format::check(secret) != Some(TokenPrefix::Session) {
            return Err(ResolveError::Malformed);
        }
        let (session, user) = tinforge_store::sessions::find_by_digest(conn, &self.digest(secret))?
            .ok_or(ResolveError::Unknown)?;
        let now = tinforge_store::now();
        if session.revoked_at.is_some() {
            return Err(ResolveError::Revoked);
        }
        if !session.is_live(now) {
            return Err(ResolveError::Expired);
        }
        if user.is_blocked() {
            return Err(ResolveError::Blocked);
        }
        tinforge_store::sessions::touch(conn, session.id, now)?;
        Ok(Principal {
            user_id: user.id,
            username: user.username,
            is_admin: user.is_admin,
            kind: TokenKind::Session,
            token_id: None,
            job_id: None,
            scopes: Vec::new(),
            grants: Vec::new(),
        })
    }

    /// A job token: alive only while its job runs (the digest is dropped when the job ends).
    fn resolve_job(&self, conn: &mut DbConnection, token: &str) -> Result<Principal, ResolveError> {
        let job = tinforge_store::ci::jobs::find_by_token_digest(conn, &self.digest(token))?
            .ok_or(ResolveError::Unknown)?;
        job_principal(conn, job)
    }
}

/// The principal of running job `id` (the registry re-checks the job behind a registry JWT
/// this way on every write, so a job that ended cannot push).
pub fn principal_by_job_id(conn: &mut DbConnection, id: i64) -> Result<Principal, ResolveError> {
    let job = tinforge_store::ci::jobs::find(conn, id)?.ok_or(ResolveError::Unknown)?;
    job_principal(conn, job)
}

/// A running job acts as the user it runs as, with the CI file's permissions, inside a boundary
/// of its own project and the projects whose job token allowlist names it.
fn job_principal(
    conn: &mut DbConnection,
    job: tinforge_store::ci::JobRow,
) -> Result<Principal, ResolveError> {
    if !matches!(job.status.as_str(), "running" | "canceling") {
        return Err(ResolveError::Revoked);
    }
    let user = match job.user_id {
        Some(id) => tinforge_store::users::find(conn, id)?,
        None => None,
    }
    .ok_or(ResolveError::Unknown)?;
    if user.is_blocked() {
        return Err(ResolveError::Blocked);
    }
    let project =
        tinforge_store::projects::find(conn, job.project_id)?.ok_or(ResolveError::Unknown)?;
    let ancestors =
        tinforge_store::projects::project_target(conn, &project, Some(user.id))?.ancestor_group_ids;
    let mut projects = vec![job.project_id];
    projects.extend(
        tinforge_store::ci::job_token_scope::projects_reachable_from(
            conn,
            job.project_id,
            &ancestors,
        )?,
    );
    let permissions = job
        .permission_names()
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    Ok(Principal {
        user_id: user.id,
        username: user.username,
        // A job never carries admin powers, whoever triggered it.
        is_admin: false,
        kind: TokenKind::Job,
        token_id: None,
        job_id: Some(job.id),
        scopes: Vec::new(),
        grants: vec![Grant {
            boundary: tinforge_authz::Boundary::Selected {
                projects,
                groups: Vec::new(),
            },
            permissions,
        }],
    })
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
        job_id: None,
        scopes: row.legacy_scopes(),
        grants,
    }
}

/// Audits the reuse of a rotated-away token and the revocation of its family.
fn record_reuse(
    conn: &mut DbConnection,
    row: &TokenRow,
    revoked: usize,
    ip: &str,
) -> Result<(), StoreError> {
    use tinforge_store::token_events::{self, NewEvent, kind};
    let at = tinforge_store::now();
    let mut events = vec![NewEvent {
        token_id: row.id,
        actor_id: None,
        event: kind::REUSE_DETECTED,
        detail: format!("rotated-away token presented again from {ip}"),
        at,
    }];
    if revoked > 0 {
        events.push(NewEvent {
            token_id: row.id,
            actor_id: None,
            event: kind::FAMILY_REVOKED,
            detail: format!("{revoked} active token(s) of the rotation family revoked"),
            at,
        });
    }
    token_events::record(conn, &events)
}
