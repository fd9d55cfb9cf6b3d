//! `/api/graphql` over HTTP, GitLab-like: `POST` JSON (one request or a batch array), `GET` with
//! `query`/`variables`/`operationName` for queries only. The credential is resolved once per HTTP
//! request through the gate; none is anonymous, an unusable one is a 401 before anything runs.

use crate::error::{FieldErrors, Hidden};
use crate::scope::RequestScope;
use crate::{GraphqlConfig, TinforgeSchema};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, Name, PathSegment, Request, Value as ConstValue, Variables};
use serde_json::{Value, json};
use tinforge_gate::GateError;
use tinforge_gate::authorized::{RequestCredentials, record_caller, run_blocking, state_of};
use tinforge_store::StoreError;

/// GitLab's limit on the query text.
pub const MAX_QUERY_CHARS: usize = 10_000;

/// The handler of `GET` and `POST /api/graphql`.
pub async fn graphql(
    req: HttpRequest,
    body: web::Bytes,
    schema: web::Data<TinforgeSchema>,
    config: web::Data<GraphqlConfig>,
) -> HttpResponse {
    let gate = match state_of(&req) {
        Ok(g) => g,
        Err(e) => return gate_error(e),
    };
    let (requests, batch) = match parse(&req, &body) {
        Ok(r) => r,
        Err(refusal) => return refusal.response(),
    };
    let credentials = match RequestCredentials::of(&req) {
        Ok(c) => c,
        Err(e) => return gate_error(e),
    };
    let resolver = gate.resolver.clone();
    let principal =
        match run_blocking(&gate.store, move |c| credentials.resolve(c, &resolver)).await {
            Ok(p) => p,
            Err(e) => return gate_error(e),
        };
    record_caller(&req, principal.as_ref());
    let mut answers = Vec::new();
    for request in requests {
        let scope = RequestScope::new(
            principal.clone(),
            gate.store.clone(),
            gate.registry.clone(),
            config.external_url.clone(),
            config.repositories.clone(),
        );
        let caught = FieldErrors::default();
        let mut request = request.data(scope).data(caught.clone());
        // Mutations that make jobs pending ring the runners' doorbell.
        if let Some(queue) = req.app_data::<web::Data<tinforge_ci::queue::JobQueue>>() {
            request = request.data(queue.clone().into_inner());
        }
        let mut response = schema.execute(request).await;
        response.errors.extend(caught.take());
        // A failed non-null field is left out by async-graphql: show it as `null` too.
        for e in &response.errors {
            null_at(&mut response.data, &e.path);
        }
        // An invisible object is `null` with no error, exactly like a missing one.
        response.errors.retain(|e| e.source::<Hidden>().is_none());
        answers.push(response);
    }
    // Serialized directly: a serde_json::Value would sort the keys.
    let body = if batch {
        serde_json::to_vec(&answers)
    } else {
        serde_json::to_vec(&answers.first())
    };
    match body {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/json")
            .body(bytes),
        Err(e) => {
            tracing::error!(error = %e, "GraphQL response not serializable");
            Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").response()
        }
    }
}

/// Writes `null` at an error's path where the executor left the field out.
fn null_at(data: &mut ConstValue, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if parents.is_empty() && *data == ConstValue::Null {
        *data = ConstValue::Object(Default::default());
    }
    let mut here = data;
    for segment in parents {
        here = match (here, segment) {
            (ConstValue::Object(map), PathSegment::Field(name)) => match map.get_mut(name.as_str())
            {
                Some(v) => v,
                None => return,
            },
            (ConstValue::List(items), &PathSegment::Index(i)) => match items.get_mut(i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    if let (ConstValue::Object(map), PathSegment::Field(name)) = (here, last) {
        map.entry(Name::new(name)).or_insert(ConstValue::Null);
    }
}

/// An HTTP-level refusal, answered in GraphQL's error shape.
struct Refusal(StatusCode, String);

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal(status, message.into())
    }

    fn response(&self) -> HttpResponse {
        HttpResponse::build(self.0).json(json!({ "errors": [{ "message": self.1 }] }))
    }
}

/// Reads the request(s), a JSON body for POST or the query string for GET, and whether they
/// came as a batch (a JSON array).
fn parse(req: &HttpRequest, body: &[u8]) -> Result<(Vec<Request>, bool), Refusal> {
    let (requests, batch) = if req.method() == actix_web::http::Method::GET {
        let request = from_query_string(req.query_string())?;
        if is_mutation(&request) {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Mutations are forbidden in GET requests",
            ));
        }
        (vec![request], false)
    } else {
        match serde_json::from_slice::<BatchRequest>(body) {
            Ok(BatchRequest::Single(r)) => (vec![r], false),
            Ok(BatchRequest::Batch(rs)) => (rs, true),
            Err(e) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid request body: {e}"),
                ));
            }
        }
    };
    if requests
        .iter()
        .any(|r| r.query.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Query too large",
        ));
    }
    if requests.iter().any(|r| r.query.trim().is_empty()) {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "No query string was present",
        ));
    }
    Ok((requests, batch))
}

/// `?query=…&variables={…}&operationName=…` (GitLab's names; `operation_name` is accepted too).
fn from_query_string(query_string: &str) -> Result<Request, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
        .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Invalid query string"))?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut request = Request::new(get("query").unwrap_or_default());
    if let Some(name) = get("operationName").or_else(|| get("operation_name")) {
        request = request.operation_name(name);
    }
    if let Some(vars) = get("variables").filter(|v| !v.trim().is_empty()) {
        let value: Value = serde_json::from_str(&vars)
            .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Invalid variables: not JSON"))?;
        request = request.variables(Variables::from_json(value));
    }
    Ok(request)
}

/// Does the operation the request would run mutate? (A query that does not parse is left to the
/// executor, which reports it.)
fn is_mutation(request: &Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    doc.operations.iter().any(|(name, op)| {
        op.node.ty == OperationType::Mutation
            && request
                .operation_name
                .as_deref()
                .is_none_or(|wanted| name.map(|n| n.as_str()) == Some(wanted))
    })
}

/// A credential problem (or a store failure) before execution, in GraphQL's error shape.
fn gate_error(e: GateError) -> HttpResponse {
    let status = e.status_code();
    let mut response = HttpResponse::build(status);
    let (message, code) = match &e {
        GateError::Unauthorized | GateError::InvalidToken(_) => {
            response.insert_header((
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tinforge\", error=\"invalid_token\""),
            ));
            ("Invalid token".to_string(), "invalid_token")
        }
        GateError::Store(StoreError::Unavailable(detail)) => {
            tracing::error!(error = %detail, "database unavailable");
            ("Service unavailable".to_string(), "unavailable")
        }
        GateError::Store(other) => {
            tracing::error!(error = %other, "store failure before GraphQL execution");
            ("Internal server error".to_string(), "internal")
        }
        other => (other.to_string(), "forbidden"),
    };
    let mut body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    if status == StatusCode::UNAUTHORIZED {
        body["message"] = json!("401 Unauthorized");
    }
    response.json(body)
}
