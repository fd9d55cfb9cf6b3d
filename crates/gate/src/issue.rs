//! Issuing and rotating tokens, shared by the REST API and the CLI: expiry policy, boundary
//! targets by id or path, the no-escalation rule, a fresh secret, and only its digest stored.

use crate::resolve::TokenResolver;
use chrono::{Duration, NaiveDate, Utc};
use std::collections::BTreeSet;
use tinforge_authz::escalation::may_issue;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{Boundary, Grant, Permission, Principal, Target, Visibility};
use tinforge_store::token_events::{self, NewEvent, kind};
use tinforge_store::tokens::{self, NewToken, TokenRecord, TokenRights};
use tinforge_store::users::User;
use tinforge_store::{DbConnection, StoreError, groups, projects, write_transaction};

/// Instance policy for tokens.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy {
    /// The longest a token may live, in days (365 by default).
    pub max_lifetime_days: i64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            max_lifetime_days: 365,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Bad input: the message is for the caller.
    #[error("{0}")]
    Invalid(String),
    /// The creating token is narrower than what it asked for.
    #[error("{0}")]
    Escalation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenPolicy {
    /// The expiry of a token created without one: the longest allowed, as GitLab does.
    pub fn default_expiry(&self) -> NaiveDate {
        Utc::now().date_naive() + Duration::days(self.max_lifetime_days)
    }

    /// Checks an expiry date: required, after today, within the maximum lifetime.
    pub fn check_expiry(&self, expires_at: NaiveDate) -> Result<(), IssueError> {
        let today = Utc::now().date_naive();
        if expires_at <= today {
            return Err(IssueError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        let max = today + Duration::days(self.max_lifetime_days);
        if expires_at > max {
            return Err(IssueError::Invalid(format!(
                "expires_at must be on or before {max} (maximum lifetime {} days)",
                self.max_lifetime_days
            )));
        }
        Ok(())
    }
}

/// Looks up `selected` boundary targets given by numeric id or full path. A private target the
/// owner cannot see is "not found", exactly like a missing one.
pub fn resolve_targets(
    conn: &mut DbConnection,
    owner: &User,
    project_refs: &[String],
    group_refs: &[String],
) -> Result<(Vec<i64>, Vec<i64>), IssueError> {
    let not_found = |kind: &str, r: &str| IssueError::Invalid(format!("{kind} {r} not found"));
    let mut project_ids = Vec::new();
    for r in project_refs {
        let p = projects::find_by_ref(conn, r)?.ok_or_else(|| not_found("project", r))?;
        if !owner_sees(&projects::project_target(conn, &p, Some(owner.id))?, owner) {
            return Err(not_found("project", r));
        }
        project_ids.push(p.id);
    }
    let mut group_ids = Vec::new();
    for r in group_refs {
        let g = groups::find_by_ref(conn, r)?.ok_or_else(|| not_found("group", r))?;
        if !owner_sees(&projects::group_target(conn, &g, Some(owner.id))?, owner) {
            return Err(not_found("group", r));
        }
        group_ids.push(g.id);
    }
    Ok((project_ids, group_ids))
}

fn owner_sees(target: &Target, owner: &User) -> bool {
    owner.is_admin || target.visibility != Visibility::Private || target.is_member()
}

/// A token to issue.
pub struct TokenRequest<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub rights: TokenRights,
    pub expires_at: NaiveDate,
}

/// Validates and stores a new token; returns its id and the secret, which is never stored.
pub fn issue(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    policy: &TokenPolicy,
    creator: Option<&Principal>,
    req: &TokenRequest<'_>,
) -> Result<(i64, String), IssueError> {
    if req.name.trim().is_empty() || req.name.len() > 255 {
        return Err(IssueError::Invalid("name is missing".into()));
    }
    policy.check_expiry(req.expires_at)?;
    let (scopes, grants): (&[_], &[Grant]) = match &req.rights {
        TokenRights::Legacy(s) if s.is_empty() => {
            return Err(IssueError::Invalid("scopes is missing".into()));
        }
        TokenRights::Legacy(s) => (s, &[]),
        TokenRights::FineGrained(g)
            if g.is_empty() || g.iter().any(|g| g.permissions.is_empty()) =>
        {
            return Err(IssueError::Invalid("permissions is missing".into()));
        }
        TokenRights::FineGrained(g) => (&[], g),
    };
    may_issue(creator, scopes, grants).map_err(IssueError::Escalation)?;
    let secret = token_format::generate(TokenPrefix::PersonalAccess);
    let id = write_transaction(conn, |conn| -> Result<i64, StoreError> {
        let id = tokens::insert(
            conn,
            &NewToken {
                user_id: req.user_id,
                name: req.name.trim(),
                description: req.description,
                digest: &resolver.digest(&secret),
                rights: &req.rights,
                expires_at: req.expires_at,
                family_id: None,
            },
        )?;
        audit(
            conn,
            id,
            creator,
            kind::CREATED,
            describe_rights(&req.rights),
        )?;
        Ok(id)
    })?;
    Ok((id, secret))
}

/// Writes one token event in the caller's transaction.
fn audit(
    conn: &mut DbConnection,
    token_id: i64,
    actor: Option<&Principal>,
    event: &'static str,
    detail: String,
) -> Result<(), StoreError> {
    token_events::record(
        conn,
        &[NewEvent {
            token_id,
            actor_id: actor.map(|p| p.user_id),
            event,
            detail,
            at: tinforge_store::now(),
        }],
    )
}

/// `scopes: api, read_repository` or `personal_projects: issue:read, …`, for the audit log.
pub fn describe_rights(rights: &TokenRights) -> String {
    match rights {
        TokenRights::Legacy(scopes) => format!(
            "scopes: {}",
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TokenRights::FineGrained(grants) => grants
            .iter()
            .map(|g| {
                let permissions: Vec<String> =
                    g.permissions.iter().map(|p| p.to_string()).collect();
                format!("{}: {}", g.boundary.name(), permissions.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Revokes a token on behalf of `actor` and audits it; false when it was already revoked.
pub fn revoke(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    token_id: i64,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        if !tokens::revoke(conn, token_id)? {
            return Ok(false);
        }
        audit(conn, token_id, actor, kind::REVOKED, String::new())?;
        Ok(true)
    })
}

/// Rotates `old`: same rights, new secret, old revoked. The default expiry keeps the old
/// token's lifetime, capped by the policy. Rotating a revoked token revokes its whole family.
pub fn rotate(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    policy: &TokenPolicy,
    creator: Option<&Principal>,
    old: &TokenRecord,
    expires_at: Option<NaiveDate>,
) -> Result<(i64, String), IssueError> {
    let successor = Successor {
        rights: old.rights(),
        event: kind::ROTATED,
        detail: String::new(),
    };
    rotate_into(conn, resolver, policy, creator, old, expires_at, successor)
}

/// What a rotation turns a token into: its rights (the same, or fewer for a trim) and the event
/// that records it.
pub struct Successor {
    pub rights: TokenRights,
    pub event: &'static str,
    pub detail: String,
}

/// Rotates `old` into a successor with `successor.rights`, audited as `successor.event`.
pub fn rotate_into(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    policy: &TokenPolicy,
    creator: Option<&Principal>,
    old: &TokenRecord,
    expires_at: Option<NaiveDate>,
    successor: Successor,
) -> Result<(i64, String), IssueError> {
    if old.row.revoked_at.is_some() {
        let revoked = tokens::revoke_family(conn, old.row.family())?;
        if revoked > 0 {
            audit(
                conn,
                old.row.id,
                creator,
                kind::FAMILY_REVOKED,
                format!(
                    "rotating a revoked token: {revoked} active token(s) of its family revoked"
                ),
            )?;
        }
        return Err(IssueError::Invalid("Token already revoked".into()));
    }
    let today = Utc::now().date_naive();
    if old.row.is_expired(today) {
        return Err(IssueError::Invalid("Token already expired".into()));
    }
    let lifetime = (old.row.expires_at - old.row.created_at.date())
        .num_days()
        .clamp(1, policy.max_lifetime_days);
    let expires_at = expires_at.unwrap_or(today + Duration::days(lifetime));
    policy.check_expiry(expires_at)?;
    let (scopes, grants) = match &successor.rights {
        TokenRights::Legacy(s) => (s.clone(), Vec::new()),
        TokenRights::FineGrained(g) => (Vec::new(), g.clone()),
    };
    may_issue(creator, &scopes, &grants).map_err(IssueError::Escalation)?;
    let secret = token_format::generate(TokenPrefix::PersonalAccess);
    let rotated = write_transaction(conn, |conn| -> Result<i64, StoreError> {
        let id = tokens::rotate(
            conn,
            old,
            &resolver.digest(&secret),
            expires_at,
            &successor.rights,
        )?;
        let detail = match successor.detail.as_str() {
            "" => format!("successor token {id}"),
            d => format!("successor token {id}; {d}"),
        };
        audit(conn, old.row.id, creator, successor.event, detail)?;
        Ok(id)
    });
    match rotated {
        Ok(id) => Ok((id, secret)),
        Err(StoreError::Conflict(_)) => Err(IssueError::Invalid("Token already revoked".into())),
        Err(e) => Err(e.into()),
    }
}

/// One fine-grained grant as a caller asks for it: names and references, not yet resolved.
#[derive(Debug, Clone, Default)]
pub struct GrantRequest {
    /// `personal_projects`, `all_memberships`, `selected` (GitLab: `selected_memberships`, `user`).
    pub boundary: String,
    /// Projects of a `selected` boundary, by numeric id or full path.
    pub projects: Vec<String>,
    /// Groups of a `selected` boundary, by numeric id or full path.
    pub groups: Vec<String>,
    /// `resource:action` or GitLab's `action_resource`.
    pub permissions: Vec<String>,
}

/// Validates grant requests against the catalog and resolves their targets for `owner`.
pub fn resolve_grants(
    conn: &mut DbConnection,
    owner: &User,
    requests: &[GrantRequest],
) -> Result<Vec<Grant>, IssueError> {
    if requests.is_empty() {
        return Err(IssueError::Invalid("permissions is missing".into()));
    }
    let mut grants = Vec::new();
    for req in requests {
        let permissions = parse_permissions(&req.permissions)?;
        let has_targets = !req.projects.is_empty() || !req.groups.is_empty();
        let boundary = match req.boundary.as_str() {
            "personal_projects" | "user" if !has_targets => Boundary::PersonalProjects,
            "all_memberships" if !has_targets => Boundary::AllMemberships,
            "selected" | "selected_memberships" if has_targets => {
                let (projects, groups) = resolve_targets(conn, owner, &req.projects, &req.groups)?;
                Boundary::Selected { projects, groups }
            }
            "selected" | "selected_memberships" => {
                return Err(IssueError::Invalid(
                    "a selected boundary needs at least one project or group".into(),
                ));
            }
            "personal_projects" | "user" | "all_memberships" => {
                return Err(IssueError::Invalid(format!(
                    "projects and groups are only allowed with a selected boundary, not {}",
                    req.boundary
                )));
            }
            "" => return Err(IssueError::Invalid("boundary is missing".into())),
            other => {
                return Err(IssueError::Invalid(format!(
                    "boundary `{other}` is unknown; valid boundaries: personal_projects, \
                     all_memberships, selected"
                )));
            }
        };
        grants.push(Grant {
            boundary,
            permissions,
        });
    }
    Ok(grants)
}

/// Parses permission names; an unknown one is refused with the list of valid names.
pub fn parse_permissions(names: &[String]) -> Result<BTreeSet<Permission>, IssueError> {
    if names.is_empty() {
        return Err(IssueError::Invalid("permissions is missing".into()));
    }
    names
        .iter()
        .map(|n| {
            Permission::parse_grantable(n.trim()).map_err(|e| {
                let valid: Vec<String> =
                    Permission::all_grantable().map(|p| p.to_string()).collect();
                IssueError::Invalid(format!("{e}; valid permissions: {}", valid.join(", ")))
            })
        })
        .collect()
}
