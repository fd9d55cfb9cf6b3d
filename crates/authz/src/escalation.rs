//! No escalation: a token may create or rotate only tokens whose rights are a subset of its own.

use crate::principal::{Grant, Principal, TokenKind};
use crate::scope::LegacyScope;

/// Checks that `creator` may issue a token with `scopes` (legacy) or `grants` (fine-grained).
/// `None` for the creator means the CLI or a web session: the owner's full rights.
pub fn may_issue(
    creator: Option<&Principal>,
    scopes: &[LegacyScope],
    grants: &[Grant],
) -> Result<(), String> {
    let Some(c) = creator else { return Ok(()) };
    match c.kind {
        TokenKind::Session => Ok(()),
        TokenKind::Legacy => {
            for s in scopes {
                let covered = c.scopes.contains(s)
                    || (c.scopes.contains(&LegacyScope::Api)
                        && !matches!(s, LegacyScope::Sudo | LegacyScope::AdminMode));
                if !covered {
                    return Err(format!("scope {s} is broader than the creating token"));
                }
            }
            for g in grants {
                if let Some(p) = g
                    .permissions
                    .iter()
                    .find(|p| !c.scopes.iter().any(|s| s.allows(**p)))
                {
                    return Err(format!("permission {p} is broader than the creating token"));
                }
            }
            Ok(())
        }
        TokenKind::FineGrained | TokenKind::Job => {
            if !scopes.is_empty() {
                return Err("a fine-grained token can only create fine-grained tokens".into());
            }
            for g in grants {
                // Resources outside projects and groups ignore boundaries, so for grants of only
                // those the boundaries cannot make one token broader than the other.
                let boundary_free = g.permissions.iter().all(|p| p.resource.ignores_boundary());
                let covered = c.grants.iter().any(|cg| {
                    g.permissions.is_subset(&cg.permissions)
                        && (boundary_free || g.boundary.within(&cg.boundary))
                });
                if !covered {
                    return Err(format!(
                        "grant {} with {} is broader than the creating token",
                        g.boundary.name(),
                        g.permissions
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Permission;
    use crate::principal::Boundary;

    fn principal(kind: TokenKind, scopes: Vec<LegacyScope>, grants: Vec<Grant>) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            is_admin: false,
            kind,
            token_id: Some(1),
            job_id: None,
            scopes,
            grants,
        }
    }

    fn grant(boundary: Boundary, perms: &[&str]) -> Grant {
        Grant {
            boundary,
            permissions: perms
                .iter()
                .map(|p| p.parse::<Permission>().unwrap())
                .collect(),
        }
    }

    #[test]
    fn legacy_api_may_issue_anything_but_sudo_and_admin_mode() {
        let api = principal(TokenKind::Legacy, vec![LegacyScope::Api], vec![]);
        assert!(
            may_issue(
                Some(&api),
                &[LegacyScope::ReadApi, LegacyScope::WriteRepository],
                &[]
            )
            .is_ok()
        );
        assert!(may_issue(Some(&api), &[LegacyScope::Sudo], &[]).is_err());
        assert!(
            may_issue(
                Some(&api),
                &[],
                &[grant(Boundary::AllMemberships, &["issue:delete"])]
            )
            .is_ok()
        );
        let read = principal(TokenKind::Legacy, vec![LegacyScope::ReadApi], vec![]);
        assert!(may_issue(Some(&read), &[LegacyScope::Api], &[]).is_err());
        assert!(
            may_issue(
                Some(&read),
                &[],
                &[grant(Boundary::AllMemberships, &["issue:read"])]
            )
            .is_ok()
        );
        assert!(
            may_issue(
                Some(&read),
                &[],
                &[grant(Boundary::AllMemberships, &["issue:update"])]
            )
            .is_err()
        );
    }

    #[test]
    fn fine_grained_may_issue_only_narrower_grants() {
        let fg = principal(
            TokenKind::FineGrained,
            vec![],
            vec![grant(
                Boundary::AllMemberships,
                &["issue:read", "issue:create"],
            )],
        );
        assert!(
            may_issue(
                Some(&fg),
                &[],
                &[grant(Boundary::PersonalProjects, &["issue:read"])]
            )
            .is_ok()
        );
        assert!(
            may_issue(
                Some(&fg),
                &[],
                &[grant(Boundary::AllMemberships, &["issue:delete"])]
            )
            .is_err()
        );
        assert!(may_issue(Some(&fg), &[LegacyScope::ReadApi], &[]).is_err());
        // Boundaries do not matter for resources outside projects and groups.
        let rotator = principal(
            TokenKind::FineGrained,
            vec![],
            vec![grant(
                Boundary::Selected {
                    projects: vec![1],
                    groups: vec![],
                },
                &["personal_access_token:update"],
            )],
        );
        let wide = grant(Boundary::AllMemberships, &["personal_access_token:update"]);
        assert!(may_issue(Some(&rotator), &[], &[wide]).is_ok());
        let wide_issue = grant(Boundary::AllMemberships, &["issue:read"]);
        assert!(may_issue(Some(&fg), &[], std::slice::from_ref(&wide_issue)).is_ok());
        assert!(may_issue(Some(&rotator), &[], &[wide_issue]).is_err());
        assert!(may_issue(None, &[LegacyScope::Sudo], &[]).is_ok());
    }
}
