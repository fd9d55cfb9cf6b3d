//! Lists: an image's tags (`GET …/tags/list`, lexical, `n`/`last` with a `Link` to the next
//! page), the referrers of a manifest (an image index, filtered by `artifactType`), and the
//! catalog of the repositories the caller may pull from.

use crate::access::{Caller, authorize_image, caller, endpoint};
use crate::blobs::parse_digest;
use crate::declare;
use crate::error::RegistryError;
use crate::manifest_json::OCI_INDEX;
use crate::scope::{ResourceScope, ScopeKind, challenge, query_param};
use crate::v2::Ctx;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;
use tinforge_authz::decide;
use tinforge_gate::authorized::run_blocking;
use tinforge_gate::listing::open_list;
use tinforge_gate::resolve::{principal_by_id, principal_by_job_id};
use tinforge_store::projects;
use tinforge_store::registry::{manifests, repositories};

/// The most names one page holds.
const MAX_PAGE: i64 = 10_000;

/// `n` and `last` of a paginated list.
fn page(req: &HttpRequest) -> Result<(Option<i64>, Option<String>), RegistryError> {
    let q = req.query_string();
    let n = match query_param(q, "n") {
        None => None,
        Some(v) if v.is_empty() => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    RegistryError::bad_request(
                        "PAGINATION_NUMBER_INVALID",
                        "n must be a non-negative number",
                    )
                })?
                .min(MAX_PAGE),
        ),
    };
    Ok((n, query_param(q, "last").filter(|l| !l.is_empty())))
}

/// Cuts `names` (sorted, after `last`) to `n`, with the `Link` to the next page if more follow.
fn paginate(mut names: Vec<String>, n: Option<i64>, path: &str) -> (Vec<String>, Option<String>) {
    let Some(n) = n else {
        return (names, None);
    };
    let more = names.len() as i64 > n;
    names.truncate(n as usize);
    let link = match (more, names.last()) {
        (true, Some(last)) if n > 0 => Some(format!(
            "<{path}?n={n}&last={}>; rel=\"next\"",
            percent_encoding::utf8_percent_encode(last, percent_encoding::NON_ALPHANUMERIC)
        )),
        _ => None,
    };
    (names, link)
}

#[derive(Serialize)]
struct TagList<'a> {
    name: &'a str,
    tags: Vec<String>,
}

/// `GET …/tags/list`.
pub async fn tags(req: &HttpRequest, ctx: &Ctx, name: &str) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::TAGS, name).await?;
    let (n, last) = page(req)?;
    let (project_id, repo_name) = (access.project.id, access.repository_name.clone());
    let names = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let Some(repo) = repositories::find(conn, project_id, &repo_name)? else {
            return Ok(None);
        };
        if n == Some(0) {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(manifests::tag_names(
            conn,
            repo.id,
            last.as_deref(),
            n.map(|n| n + 1),
        )?))
    })
    .await?
    .ok_or_else(|| RegistryError::name_unknown(name))?;
    let (tags, link) = paginate(names, n, &format!("/v2/{name}/tags/list"));
    let mut res = HttpResponse::Ok();
    if let Some(link) = link {
        res.insert_header(("Link", link));
    }
    Ok(res.json(TagList { name, tags }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageIndex {
    schema_version: u8,
    media_type: &'static str,
    manifests: Vec<Descriptor>,
}

/// `GET …/referrers/<digest>[?artifactType=…]`: never a 404 for a known image; an unknown
/// digest has no referrers.
pub async fn referrers(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    digest: &str,
) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::REFERRERS, name).await?;
    let digest = parse_digest(digest)?.to_string();
    let filter = query_param(req.query_string(), "artifactType").filter(|t| !t.is_empty());
    let (project_id, repo_name) = (access.project.id, access.repository_name.clone());
    let found = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        Ok(match repositories::find(conn, project_id, &repo_name)? {
            Some(repo) => manifests::referrers(conn, repo.id, &digest)?,
            None => Vec::new(),
        })
    })
    .await?;
    let manifests = found
        .into_iter()
        .filter(|m| filter.is_none() || m.artifact_type == filter)
        .map(|m| Descriptor {
            media_type: m.media_type,
            digest: m.digest,
            size: m.size,
            artifact_type: m.artifact_type,
            annotations: m
                .annotations
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok()),
        })
        .collect();
    let mut res = HttpResponse::Ok();
    res.content_type(OCI_INDEX);
    if filter.is_some() {
        res.insert_header(("OCI-Filters-Applied", "artifactType"));
    }
    let body = serde_json::to_vec(&ImageIndex {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests,
    })
    .map_err(|e| RegistryError::Internal(e.to_string()))?;
    Ok(res.body(body))
}

#[derive(Serialize)]
struct Catalog {
    repositories: Vec<String>,
}

/// `GET /v2/_catalog`: the image names the caller may pull, lexical, paginated.
pub async fn catalog(req: &HttpRequest, ctx: &Ctx) -> Result<HttpResponse, RegistryError> {
    let who = caller(req, &ctx.config, &ctx.state).await?;
    let declared = endpoint(&ctx.state, declare::CATALOG)?;
    let catalog_scope = |error| {
        let scope = ResourceScope {
            kind: ScopeKind::Registry,
            name: "catalog".into(),
            actions: vec!["*".into()],
        };
        challenge(
            &ctx.config.realm,
            &ctx.config.issuer.service,
            &[scope],
            error,
        )
    };
    match &who {
        Caller::Anonymous => {
            return Err(RegistryError::Unauthorized {
                challenge: catalog_scope(None),
                message: "authentication required".into(),
            });
        }
        // The token service grants `registry:catalog:*` only where the declaration allows it.
        Caller::Registry(c) if !c.allows("registry", "catalog", "*") => {
            return Err(RegistryError::Unauthorized {
                challenge: catalog_scope(Some("insufficient_scope")),
                message: "authorization required for the catalog".into(),
            });
        }
        Caller::Registry(_) => {}
        // The lists' rule: a legacy token without a fitting scope is refused, a fine-grained
        // token without the permission lists what an anonymous caller could.
        Caller::Token(p) => open_list(Some(p), &declared)
            .map_err(|e| crate::access::denial(&ctx.config, "", "pull", e))?,
    }
    let (n, last) = page(req)?;
    let pull = endpoint(&ctx.state, declare::TAGS)?;
    let names = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let principal = match &who {
            Caller::Token(p) => Some(p.clone()),
            Caller::Registry(c) => match (c.token_id, c.job_id) {
                (Some(id), _) => principal_by_id(conn, id).ok(),
                (None, Some(job)) => principal_by_job_id(conn, job).ok(),
                (None, None) => None,
            },
            Caller::Anonymous => None,
        };
        let user_id = principal.as_ref().map(|p| p.user_id);
        let mut names = Vec::new();
        let mut judged: BTreeMap<i64, Option<String>> = BTreeMap::new();
        for repo in repositories::list_all(conn)? {
            if let std::collections::btree_map::Entry::Vacant(slot) = judged.entry(repo.project_id)
            {
                let readable = match projects::find(conn, repo.project_id)? {
                    Some(p) => {
                        let target = projects::project_target(conn, &p, user_id)?;
                        decide(principal.as_ref(), &pull.requirement, Some(&target))
                            .is_allow()
                            .then(|| p.full_path.clone())
                    }
                    None => None,
                };
                slot.insert(readable);
            }
            if let Some(Some(path)) = judged.get(&repo.project_id) {
                names.push(repo.image_name(path));
            }
        }
        names.sort();
        if let Some(last) = &last {
            names.retain(|n| n.as_str() > last.as_str());
        }
        Ok(names)
    })
    .await?;
    let (repositories, link) = paginate(names, n, "/v2/_catalog");
    let mut res = HttpResponse::Ok();
    if let Some(link) = link {
        res.insert_header(("Link", link));
    }
    Ok(res.json(Catalog { repositories }))
}
