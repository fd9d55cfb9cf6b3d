//! Explain: whether a token may reach an endpoint and why, without performing the request. The
//! chain of checks is descriptive; the verdict is always `decide()`'s, so it cannot disagree with
//! what the gate would do.

use crate::authorized::{decode, resolve_target};
use crate::error::GateError;
use crate::registry::{Endpoint, EndpointRegistry, TargetSpec};
use actix_web::ResponseError;
use serde::Serialize;
use tinforge_authz::decide::{needed_role, visible_to};
use tinforge_authz::{Decision, Principal, Target, TokenKind, decide};
use tinforge_store::DbConnection;

/// What to explain.
#[derive(Debug, Clone)]
pub enum Question {
    /// A REST, git or registry request: method and concrete path (`/api/v4/projects/7`).
    Request { method: String, path: String },
    /// A GraphQL field (`Project.issues`), with the project or group it would act on.
    Field {
        field: String,
        project: Option<String>,
        group: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub allowed: bool,
    /// `allow`, or the deny reason's code.
    pub decision: &'static str,
    /// The HTTP status the request would get from the gate (200 stands for "reaches the handler").
    pub status: u16,
    pub endpoint: Option<String>,
    pub required: Vec<String>,
    /// The permissions the token lacks, when that is why it is denied.
    pub missing: Vec<String>,
    pub steps: Vec<Step>,
}

/// Explains `question` for `principal` (a token's principal; None: anonymous).
pub fn explain(
    conn: &mut DbConnection,
    registry: &EndpointRegistry,
    principal: Option<&Principal>,
    question: &Question,
) -> Result<Explanation, GateError> {
    let mut steps = Vec::new();
    let found = find(registry, question);
    let Some((endpoint, target_ref)) = found else {
        steps.push(Step {
            check: "endpoint",
            ok: false,
            detail: "no declared endpoint matches".into(),
        });
        return Ok(Explanation {
            allowed: false,
            decision: "not_found",
            status: 404,
            endpoint: None,
            required: Vec::new(),
            missing: Vec::new(),
            steps,
        });
    };
    let label = format!(
        "{} {} {}",
        endpoint.surface.as_str(),
        endpoint.method,
        endpoint.path
    );
    steps.push(Step {
        check: "endpoint",
        ok: true,
        detail: label.clone(),
    });
    let req = &endpoint.requirement;
    steps.push(Step {
        check: "requirement",
        ok: true,
        detail: format!(
            "needs {}; legacy scopes that satisfy it: {}; minimum role: {}{}{}",
            req.permission_list(),
            req.satisfying_scopes()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            req.min_role,
            if req.admin {
                "; admins in admin mode only"
            } else {
                ""
            },
            if endpoint.is_covered() {
                ""
            } else {
                "; not covered for fine-grained tokens"
            },
        ),
    });
    if req.members_only {
        steps.push(Step {
            check: "members_only",
            ok: true,
            detail: format!(
                "the role {} is needed on public and internal targets too",
                req.min_role
            ),
        });
    }
    for raise in req.raises {
        steps.push(Step {
            check: "raised_when",
            ok: true,
            detail: format!("needs {}", raise.describe()),
        });
    }
    if let TargetSpec::Resolved(param) = endpoint.target {
        steps.push(Step {
            check: "target",
            ok: true,
            detail: format!("named by the request's {param}, judged when the request names it"),
        });
    }
    if !req.takes_principal() {
        // The runner protocol, a job's own calls and the trigger API check their own token
        // against what they name; a user's token is never what they take.
        steps.push(Step {
            check: "credential",
            ok: false,
            detail: format!(
                "this endpoint takes a {} in the request, not a user's token",
                req.authenticates.as_str().replace('_', " ")
            ),
        });
        return Ok(verdict(label, req, steps, 403, "other_credential"));
    }
    let user_id = principal.map(|p| p.user_id);
    let target = match target_ref {
        Some((spec, reference)) => {
            let t = resolve_target(conn, spec, &reference, user_id)?;
            steps.push(Step {
                check: "target",
                ok: t.is_some(),
                detail: match &t {
                    Some(t) => format!("{} ({})", t.full_path, t.visibility.as_str()),
                    None => format!("{reference} does not exist"),
                },
            });
            if t.is_none() {
                return Ok(verdict(label, req, steps, 404, "not_visible"));
            }
            t
        }
        None => None,
    };
    token_steps(&mut steps, principal, &endpoint, target.as_ref());
    let mut missing = Vec::new();
    let (status, code) = match decide(principal, req, target.as_ref()) {
        Decision::Allow => (200, "allow"),
        Decision::Deny(reason) => {
            if let tinforge_authz::DenyReason::InsufficientScope { missing: m } = &reason {
                missing = m.clone();
            }
            let code = reason.code();
            let status = GateError::Denied {
                reason,
                requirement: *req,
                target: None,
            }
            .status_code()
            .as_u16();
            (status, code)
        }
    };
    let mut explanation = verdict(label, req, steps, status, code);
    explanation.missing = missing;
    Ok(explanation)
}

fn verdict(
    label: String,
    req: &tinforge_authz::Requirement,
    mut steps: Vec<Step>,
    status: u16,
    code: &'static str,
) -> Explanation {
    steps.push(Step {
        check: "decision",
        ok: code == "allow",
        detail: format!("{code} ({status})"),
    });
    Explanation {
        allowed: code == "allow",
        decision: code,
        status,
        endpoint: Some(label),
        required: req.permissions.iter().map(|p| p.to_string()).collect(),
        missing: Vec::new(),
        steps,
    }
}

/// The endpoint and, when it acts on one, the project or group reference.
fn find(
    registry: &EndpointRegistry,
    question: &Question,
) -> Option<(Endpoint, Option<(TargetSpec, String)>)> {
    match question {
        Question::Request { method, path } => {
            let (e, params) = registry.match_path(method, path)?;
            let target = e.target.param().and_then(|name| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| (e.target, decode(v)))
            });
            Some((e.clone(), target))
        }
        Question::Field {
            field,
            project,
            group,
        } => {
            let e = registry.graphql_field(field)?;
            let target = match (project, group) {
                (Some(p), _) => Some((TargetSpec::Project("project"), p.clone())),
                (None, Some(g)) => Some((TargetSpec::Group("group"), g.clone())),
                _ => None,
            };
            Some((e.clone(), target))
        }
    }
}

/// What the token holds against the requirement: scopes or grants, boundary, visibility, role.
fn token_steps(
    steps: &mut Vec<Step>,
    principal: Option<&Principal>,
    endpoint: &Endpoint,
    target: Option<&Target>,
) {
    let req = &endpoint.requirement;
    let Some(p) = principal else {
        steps.push(Step {
            check: "token",
            ok: false,
            detail: "anonymous: only reads of public targets".into(),
        });
        return;
    };
    match p.kind {
        TokenKind::Legacy | TokenKind::Session => {
            let held: Vec<&str> = p.scopes.iter().map(|s| s.as_str()).collect();
            let ok = p.kind == TokenKind::Session
                || req.extra_scopes.iter().any(|s| p.scopes.contains(s))
                || req
                    .permissions
                    .iter()
                    .all(|perm| p.scopes.iter().any(|s| s.allows(*perm)));
            steps.push(Step {
                check: "token",
                ok,
                detail: format!("{} token with scopes {}", p.kind.as_str(), held.join(", ")),
            });
        }
        TokenKind::FineGrained | TokenKind::Job => {
            steps.push(Step {
                check: "coverage",
                ok: endpoint.is_covered(),
                detail: if endpoint.is_covered() {
                    "the endpoint accepts fine-grained tokens".into()
                } else {
                    "the endpoint does not accept fine-grained tokens".into()
                },
            });
            let holding: Vec<usize> = p
                .grants
                .iter()
                .enumerate()
                .filter(|(_, g)| g.holds_all(req.permissions))
                .map(|(i, _)| i + 1)
                .collect();
            steps.push(Step {
                check: "grant",
                ok: !holding.is_empty(),
                detail: if holding.is_empty() {
                    format!("no grant holds all of {}", req.permission_list())
                } else {
                    format!("grant(s) {holding:?} hold {}", req.permission_list())
                },
            });
            if let Some(t) = target {
                let reaching: Vec<&str> = p
                    .grants
                    .iter()
                    .filter(|g| g.holds_all(req.permissions))
                    .filter(|g| g.reaches(p.user_id, req.permissions, Some(t)))
                    .map(|g| g.boundary.name())
                    .collect();
                steps.push(Step {
                    check: "boundary",
                    ok: !reaching.is_empty(),
                    detail: if reaching.is_empty() {
                        format!("no holding grant's boundary reaches {}", t.full_path)
                    } else {
                        format!("{} reaches {}", reaching.join(", "), t.full_path)
                    },
                });
            }
        }
    }
    if let Some(t) = target {
        let admin_mode = p.in_admin_mode();
        steps.push(Step {
            check: "visibility",
            ok: visible_to(p, admin_mode, t),
            detail: format!(
                "{} is {}; seen with the token's eyes: {}",
                t.full_path,
                t.visibility.as_str(),
                if visible_to(p, admin_mode, t) {
                    "visible"
                } else {
                    "invisible"
                }
            ),
        });
        let needed = needed_role(req, t);
        steps.push(Step {
            check: "role",
            ok: admin_mode || t.role >= needed,
            detail: format!("has {}, needs {}", t.role, needed),
        });
    }
}
