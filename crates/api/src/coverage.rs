//! The coverage report and explain endpoints: what the endpoint registry declares, and why the
//! caller's token may or may not reach a given endpoint.

use crate::error::ApiError;
use crate::params::Params;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::require;
use tinforge_gate::coverage::CoverageReport;
use tinforge_gate::explain::{self, Explanation, Question};
use tinforge_gate::resolve::principal_for;
use tinforge_gate::{Authorized, GateState, RestRoutes};
use tinforge_store::{tokens, users};

pub fn declare(r: &mut RestRoutes) {
    r.route(
        "GET",
        "/api/v4/token_coverage",
        require!(personal_access_token:read),
    )
    .summary("Every endpoint of every surface with its permission and fine-grained coverage")
    .returns::<CoverageReport>()
    .to(report);
    r.route(
        "GET",
        "/api/v4/token_coverage/explain",
        require!(personal_access_token:read),
    )
    .summary("Would this token be allowed? The reason chain, without performing the request")
    .returns::<Explanation>()
    .to(explain_request);
}

async fn report(gate: web::Data<GateState>) -> HttpResponse {
    HttpResponse::Ok().json(CoverageReport::of(&gate.registry))
}

#[derive(Deserialize)]
struct ExplainQuery {
    method: Option<String>,
    path: Option<String>,
    graphql_field: Option<String>,
    project: Option<String>,
    group: Option<String>,
    #[serde(default, deserialize_with = "crate::params::flex::opt_i64")]
    token_id: Option<i64>,
}

async fn explain_request(
    auth: Authorized,
    gate: web::Data<GateState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let q: ExplainQuery = params.parse()?;
    let question = match (q.path, q.graphql_field) {
        (Some(path), None) => Question::Request {
            method: q.method.unwrap_or_else(|| "GET".into()),
            path,
        },
        (None, Some(field)) => Question::Field {
            field,
            project: q.project,
            group: q.group,
        },
        _ => {
            return Err(ApiError::BadRequest(
                "give either path (with method) or graphql_field".into(),
            ));
        }
    };
    let caller = auth.principal()?.clone();
    let registry = gate.registry.clone();
    let answer = auth
        .run(move |c| -> Result<_, ApiError> {
            let principal = match q.token_id {
                None => caller,
                Some(id) => {
                    let record = tokens::get(c, id)?
                        .filter(|t| t.row.user_id == caller.user_id || caller.in_admin_mode())
                        .ok_or(ApiError::NotFound("Personal Access Token"))?;
                    let owner =
                        users::find(c, record.row.user_id)?.ok_or(ApiError::NotFound("User"))?;
                    principal_for(&record.row, owner, record.grants)
                }
            };
            Ok(explain::explain(c, &registry, Some(&principal), &question)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
