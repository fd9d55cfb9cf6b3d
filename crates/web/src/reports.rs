//! The coverage page (`/-/token_coverage`: per resource, each surface's covered / total with the
//! endpoints behind every number, from the same report as `/api/v4/token_coverage`) and the
//! explain page (`/-/explain`: one of your tokens and an endpoint, allowed or denied and why).

use crate::error::WebError;
use crate::pages::{
    CoverageCell, CoverageEndpointItem, CoveragePage, CoverageResourceRow, ExplainPage,
    ExplainStep, ExplainView, TokenChoice,
};
use crate::session::{nav, render};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use tinforge_authz::require;
use tinforge_gate::coverage::{CoverageReport, CoverageRow, Tally};
use tinforge_gate::explain::{self, Question};
use tinforge_gate::resolve::principal_for;
use tinforge_gate::{Authorized, GateState, RestRoutes};
use tinforge_store::{tokens, users};

/// The surfaces, in the order the page shows them.
const SURFACES: [&str; 5] = ["rest", "graphql", "git", "registry", "web"];

pub fn declare(r: &mut RestRoutes) {
    r.route(
        "GET",
        "/-/token_coverage",
        require!(personal_access_token:read),
    )
    .summary("Coverage per resource and surface, with the endpoints behind each number")
    .to(coverage_page);
    r.route("GET", "/-/explain", require!(personal_access_token:read))
        .summary("Explain whether one of your tokens may reach an endpoint, and why")
        .to(explain_page);
}

async fn coverage_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
) -> Result<HttpResponse, WebError> {
    let p = auth.principal()?.clone();
    let report = CoverageReport::of(&gate.registry);
    let counted: Vec<&CoverageRow> = report
        .endpoints
        .iter()
        .filter(|r| r.credential == "principal")
        .collect();
    let cell = |surface: &str, tally: Option<&Tally>, rows: Vec<&&CoverageRow>| CoverageCell {
        surface: surface.into(),
        covered: tally.map_or(0, |t| t.covered),
        total: tally.map_or(0, |t| t.total),
        percent: format!("{:.1}", tally.map_or(0.0, |t| t.percent)),
        endpoints: rows
            .into_iter()
            .map(|r| CoverageEndpointItem {
                method: r.method.into(),
                path: r.path.clone(),
                permissions: r.permissions.join(", "),
                covered: r.covered,
            })
            .collect(),
    };
    let resources = report
        .by_resource
        .iter()
        .map(|(resource, by_surface)| CoverageResourceRow {
            resource: resource.to_string(),
            cells: SURFACES
                .iter()
                .map(|s| {
                    let rows = counted
                        .iter()
                        .filter(|r| r.resource == *resource && r.surface == *s)
                        .collect();
                    cell(s, by_surface.get(s), rows)
                })
                .collect(),
        })
        .collect();
    let totals = SURFACES
        .iter()
        .map(|s| cell(s, report.by_surface.get(s), Vec::new()))
        .collect();
    render(&CoveragePage {
        nav: nav(&req, &gate, Some(&p)),
        surfaces: SURFACES.iter().map(|s| s.to_string()).collect(),
        totals,
        resources,
    })
}

#[derive(Deserialize, Default)]
struct ExplainQuery {
    token_id: Option<String>,
    method: Option<String>,
    path: Option<String>,
    project: Option<String>,
}

async fn explain_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    query: web::Query<ExplainQuery>,
) -> Result<HttpResponse, WebError> {
    let p = auth.principal()?.clone();
    let q = query.into_inner();
    let nav = nav(&req, &gate, Some(&p));
    let registry = gate.registry.clone();
    let method = q.method.clone().unwrap_or_else(|| "GET".into());
    let path = q.path.clone().unwrap_or_default().trim().to_string();
    let project = q.project.clone().unwrap_or_default().trim().to_string();
    let token_id = q.token_id.clone().unwrap_or_default();
    let page = auth
        .run(move |c| -> Result<ExplainPage, WebError> {
            let today = Utc::now().date_naive();
            let mine: Vec<_> = tokens::list(c, Some(p.user_id))?
                .into_iter()
                .filter(|t| t.row.is_active(today))
                .collect();
            let choices = mine
                .iter()
                .rev()
                .map(|t| TokenChoice {
                    id: t.row.id.to_string(),
                    label: format!(
                        "{} ({})",
                        t.row.name,
                        if t.row.kind == tokens::KIND_FINE_GRAINED {
                            "fine-grained"
                        } else {
                            "legacy"
                        }
                    ),
                })
                .collect();
            let chosen = mine.iter().find(|t| t.row.id.to_string() == token_id);
            let result = match chosen {
                Some(t) if !path.is_empty() => {
                    let owner = users::find(c, t.row.user_id)?
                        .ok_or(WebError::NotFound("The token's owner does not exist."))?;
                    let principal = principal_for(&t.row, owner, t.grants.clone());
                    let question = match method.as_str() {
                        "QUERY" | "MUTATION" => Question::Field {
                            field: field_name(&method, &path),
                            project: (!project.is_empty()).then(|| project.clone()),
                            group: None,
                        },
                        m => Question::Request {
                            method: m.to_string(),
                            path: path.clone(),
                        },
                    };
                    let e = explain::explain(c, &registry, Some(&principal), &question)?;
                    Some(ExplainView {
                        allowed: e.allowed,
                        decision: e.decision.into(),
                        status: e.status,
                        endpoint: e.endpoint.unwrap_or_default(),
                        required: e.required.join(", "),
                        missing: e.missing.join(", "),
                        steps: e
                            .steps
                            .into_iter()
                            .map(|s| ExplainStep {
                                check: s.check.into(),
                                ok: s.ok,
                                detail: s.detail,
                            })
                            .collect(),
                    })
                }
                _ => None,
            };
            Ok(ExplainPage {
                nav,
                tokens: choices,
                token_id,
                method,
                path,
                field: String::new(),
                project,
                result,
            })
        })
        .await?;
    render(&page)
}

/// `issues` with QUERY → `Query.issues`; a dotted name (`Project.issues`) is kept.
fn field_name(method: &str, path: &str) -> String {
    if path.contains('.') {
        path.to_string()
    } else if method == "MUTATION" {
        format!("Mutation.{path}")
    } else {
        format!("Query.{path}")
    }
}
