//! Least privilege from usage: what a personal access token holds against what it actually used
//! (the usage record of its whole rotation family), the over-privilege flags built from that,
//! and "trim to used", which rotates a token into one holding only what it used in the last
//! 30 days, never more than it had.

use crate::issue::{self, IssueError, Successor, TokenPolicy};
use crate::resolve::TokenResolver;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::collections::{BTreeMap, BTreeSet};
use tinforge_authz::{Boundary, Grant, Permission, Principal};
use tinforge_store::token_events::kind;
use tinforge_store::token_usage::{self, NO_TARGET, UsageRow};
use tinforge_store::tokens::{TokenRecord, TokenRights};
use tinforge_store::{DbConnection, StoreError, groups, projects};

/// The window "recently used" looks at, in days.
pub const WINDOW_DAYS: i64 = 30;

/// Where a use acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UseTarget {
    None,
    Project(i64),
    Group(i64),
}

/// One permission's use, summed over the record.
#[derive(Debug, Clone, Default)]
pub struct PermissionUse {
    /// Requests in the last 30 days.
    pub recent_requests: i64,
    /// Requests in the whole record (90 days).
    pub requests: i64,
    pub last_used_at: Option<NaiveDateTime>,
    /// Targets it acted on in the last 30 days.
    pub recent_targets: BTreeSet<UseTarget>,
}

/// A token's rights against its use.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// What the token may do: its grants' permissions, or what its legacy scopes allow.
    pub held: BTreeSet<Permission>,
    pub uses: BTreeMap<Permission, PermissionUse>,
    /// Plain-language findings: grants never used, grants wider than their recent use.
    pub flags: Vec<String>,
}

impl Assessment {
    /// Used in the last 30 days.
    pub fn recently_used(&self, p: Permission) -> bool {
        self.uses.get(&p).is_some_and(|u| u.recent_requests > 0)
    }
}

/// Every permission a token can exercise.
pub fn held_permissions(record: &TokenRecord) -> BTreeSet<Permission> {
    match record.rights() {
        TokenRights::FineGrained(grants) => grants
            .iter()
            .flat_map(|g| g.permissions.iter().copied())
            .collect(),
        TokenRights::Legacy(scopes) => Permission::all_grantable()
            .filter(|p| scopes.iter().any(|s| s.allows(*p)))
            .collect(),
    }
}

/// Sums the usage rows of the token's family.
pub fn load_uses(
    conn: &mut DbConnection,
    record: &TokenRecord,
    today: NaiveDate,
) -> Result<Vec<UsageRow>, StoreError> {
    token_usage::of_family(
        conn,
        record.row.family(),
        today - Duration::days(token_usage::RETENTION_DAYS),
    )
}

/// Assesses a token against its usage record.
pub fn assess(
    conn: &mut DbConnection,
    record: &TokenRecord,
    today: NaiveDate,
) -> Result<Assessment, StoreError> {
    let rows = load_uses(conn, record, today)?;
    let held = held_permissions(record);
    let uses = summarize(&rows, today);
    let mut flags = Vec::new();
    let never: Vec<String> = held
        .iter()
        .filter(|p| !uses.contains_key(p))
        .map(|p| p.to_string())
        .collect();
    let stale: Vec<String> = held
        .iter()
        .filter(|p| uses.get(p).is_some_and(|u| u.recent_requests == 0))
        .map(|p| p.to_string())
        .collect();
    match record.rights() {
        TokenRights::Legacy(scopes) => {
            let recent: Vec<String> = held
                .iter()
                .filter(|p| uses.get(p).is_some_and(|u| u.recent_requests > 0))
                .map(|p| p.to_string())
                .collect();
            if recent.len() < held.len() {
                flags.push(format!(
                    "legacy scopes {} allow {} permissions on everything you can reach; used {} in \
                     the last {WINDOW_DAYS} days{}",
                    scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    held.len(),
                    recent.len(),
                    if recent.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", recent.join(", "))
                    }
                ));
            }
        }
        TokenRights::FineGrained(grants) => {
            if !never.is_empty() {
                flags.push(format!("never used: {}", never.join(", ")));
            }
            if !stale.is_empty() {
                flags.push(format!(
                    "not used in the last {WINDOW_DAYS} days: {}",
                    stale.join(", ")
                ));
            }
            if let Some(flag) = boundary_flag(conn, &grants, &uses)? {
                flags.push(flag);
            }
        }
    }
    Ok(Assessment { held, uses, flags })
}

fn summarize(rows: &[UsageRow], today: NaiveDate) -> BTreeMap<Permission, PermissionUse> {
    let recent_from = today - Duration::days(WINDOW_DAYS - 1);
    let mut uses: BTreeMap<Permission, PermissionUse> = BTreeMap::new();
    for row in rows {
        let Ok(p) = row.permission.parse::<Permission>() else {
            continue;
        };
        let u = uses.entry(p).or_default();
        u.requests += row.requests;
        u.last_used_at = u.last_used_at.max(Some(row.last_used_at));
        if row.day >= recent_from {
            u.recent_requests += row.requests;
            u.recent_targets.insert(use_target(row));
        }
    }
    uses
}

fn use_target(row: &UsageRow) -> UseTarget {
    if row.project_id != NO_TARGET {
        UseTarget::Project(row.project_id)
    } else if row.group_id != NO_TARGET {
        UseTarget::Group(row.group_id)
    } else {
        UseTarget::None
    }
}

/// A boundary that reaches more than the projects and groups the token acted on recently.
fn boundary_flag(
    conn: &mut DbConnection,
    grants: &[Grant],
    uses: &BTreeMap<Permission, PermissionUse>,
) -> Result<Option<String>, StoreError> {
    let used: BTreeSet<UseTarget> = uses
        .values()
        .flat_map(|u| u.recent_targets.iter().copied())
        .filter(|t| *t != UseTarget::None)
        .collect();
    if used.is_empty() {
        return Ok(None);
    }
    let reached = grants.iter().any(|g| match &g.boundary {
        Boundary::PersonalProjects | Boundary::AllMemberships => true,
        Boundary::Selected { projects, groups } => {
            !groups.is_empty()
                || projects
                    .iter()
                    .any(|p| !used.contains(&UseTarget::Project(*p)))
        }
    });
    if !reached {
        return Ok(None);
    }
    let names = target_names(conn, &used)?;
    let widest = grants
        .iter()
        .map(|g| g.boundary.name())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(format!(
        "boundary {widest} is wider than what it acted on in the last {WINDOW_DAYS} days: {}",
        names.join(", ")
    )))
}

fn target_names(
    conn: &mut DbConnection,
    targets: &BTreeSet<UseTarget>,
) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for t in targets {
        match t {
            UseTarget::Project(id) => {
                if let Some(p) = projects::find(conn, *id)? {
                    names.push(p.full_path);
                }
            }
            UseTarget::Group(id) => {
                if let Some(g) = groups::find(conn, *id)? {
                    names.push(format!("{} (group)", g.full_path));
                }
            }
            UseTarget::None => {}
        }
    }
    Ok(names)
}

/// What a trim would do: the successor's rights, and what it keeps and removes, in words.
#[derive(Debug, Clone)]
pub struct TrimPlan {
    pub rights: TokenRights,
    pub kept: Vec<String>,
    pub removed: Vec<String>,
}

/// Plans "trim to used": the permissions used in the last 30 days, each only on the projects and
/// groups it acted on. A permission used on no target (lists, user-level resources) keeps the
/// boundary of the grant that held it (legacy tokens: all memberships). A token that used
/// nothing cannot be trimmed: revoke it instead.
pub fn plan_trim(
    conn: &mut DbConnection,
    record: &TokenRecord,
    today: NaiveDate,
) -> Result<TrimPlan, IssueError> {
    let rows = load_uses(conn, record, today)?;
    let uses = summarize(&rows, today);
    let held = held_permissions(record);
    // Permissions per target, only those the token holds (it can never gain one).
    let mut by_target: BTreeMap<UseTarget, BTreeSet<Permission>> = BTreeMap::new();
    for (p, u) in &uses {
        if !held.contains(p) || u.recent_requests == 0 {
            continue;
        }
        for t in &u.recent_targets {
            by_target.entry(*t).or_default().insert(*p);
        }
    }
    if by_target.is_empty() {
        return Err(IssueError::Invalid(format!(
            "this token has not been used in the last {WINDOW_DAYS} days, so trimming would keep \
             nothing; revoke it instead"
        )));
    }
    let untargeted = by_target.remove(&UseTarget::None).unwrap_or_default();
    // Targets that used the same permission set share one selected grant.
    let mut selected: BTreeMap<BTreeSet<Permission>, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for (target, permissions) in &by_target {
        let (projects, groups) = selected.entry(permissions.clone()).or_default();
        match target {
            UseTarget::Project(id) if projects::find(conn, *id)?.is_some() => projects.push(*id),
            UseTarget::Group(id) if groups::find(conn, *id)?.is_some() => groups.push(*id),
            _ => {}
        }
    }
    let mut grants: Vec<Grant> = selected
        .into_iter()
        .filter(|(_, (p, g))| !p.is_empty() || !g.is_empty())
        .map(|(permissions, (projects, groups))| Grant {
            boundary: Boundary::Selected { projects, groups },
            permissions,
        })
        .collect();
    // Uses on no target: boundary-free resources ride along in any grant; a list of a resource
    // not otherwise kept keeps the boundary it was listed under.
    let original = match record.rights() {
        TokenRights::FineGrained(g) => g,
        TokenRights::Legacy(_) => Vec::new(),
    };
    for p in untargeted {
        if grants.iter().any(|g| g.permissions.contains(&p)) {
            continue;
        }
        let boundary = if p.resource.ignores_boundary() && !grants.is_empty() {
            grants[0].boundary.clone()
        } else {
            original
                .iter()
                .find(|g| g.permissions.contains(&p))
                .map(|g| g.boundary.clone())
                .unwrap_or(Boundary::AllMemberships)
        };
        match grants.iter_mut().find(|g| g.boundary == boundary) {
            Some(g) => {
                g.permissions.insert(p);
            }
            None => grants.push(Grant {
                boundary,
                permissions: BTreeSet::from([p]),
            }),
        }
    }
    let kept_permissions: BTreeSet<Permission> = grants
        .iter()
        .flat_map(|g| g.permissions.iter().copied())
        .collect();
    let mut kept = Vec::new();
    for g in &grants {
        let permissions: Vec<String> = g.permissions.iter().map(|p| p.to_string()).collect();
        let place = match &g.boundary {
            Boundary::Selected { projects, groups } => {
                let targets: BTreeSet<UseTarget> = projects
                    .iter()
                    .map(|p| UseTarget::Project(*p))
                    .chain(groups.iter().map(|g| UseTarget::Group(*g)))
                    .collect();
                target_names(conn, &targets)?.join(", ")
            }
            b => b.name().replace('_', " "),
        };
        kept.push(format!("{} on {place}", permissions.join(", ")));
    }
    let mut removed: Vec<String> = held
        .iter()
        .filter(|p| !kept_permissions.contains(p))
        .map(|p| p.to_string())
        .collect();
    match record.rights() {
        TokenRights::Legacy(scopes) => removed.insert(
            0,
            format!(
                "legacy scopes {} (the successor is a fine-grained token)",
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        TokenRights::FineGrained(old) => {
            for g in old
                .iter()
                .filter(|g| !grants.iter().any(|n| n.boundary == g.boundary))
            {
                removed.push(format!("boundary {}", g.boundary.name().replace('_', " ")));
            }
        }
    }
    Ok(TrimPlan {
        rights: TokenRights::FineGrained(grants),
        kept,
        removed,
    })
}

/// Trims `old` to what it used: rotates it into a successor with the planned rights, keeping
/// its expiry. Returns the successor's id and secret (shown once), and the plan.
pub fn trim(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    policy: &TokenPolicy,
    creator: Option<&Principal>,
    old: &TokenRecord,
    today: NaiveDate,
) -> Result<(i64, String, TrimPlan), IssueError> {
    let plan = plan_trim(conn, old, today)?;
    let detail = format!(
        "kept {}; removed {}",
        plan.kept.join("; "),
        if plan.removed.is_empty() {
            "nothing".to_string()
        } else {
            plan.removed.join(", ")
        }
    );
    let (id, secret) = issue::rotate_into(
        conn,
        resolver,
        policy,
        creator,
        old,
        Some(old.row.expires_at),
        Successor {
            rights: plan.rights.clone(),
            event: kind::TRIMMED,
            detail,
        },
    )?;
    Ok((id, secret, plan))
}
