//! Manifests: `PUT /v2/<name>/manifests/<tag|digest>` (byte-identical storage, a new tag needs
//! `container_registry:create`, moving an existing tag `container_registry:update`, `subject`
//! answered with `OCI-Subject`, extra `?tag=` names answered with `OCI-Tag`), `GET`/`HEAD` by tag or
//! digest, and `DELETE` of a manifest (by digest) or a tag.

use crate::access::{authorize_image, resolve_image};
use crate::blobs::parse_digest;
use crate::declare;
use crate::digest::{Algorithm, Digest};
use crate::error::RegistryError;
use crate::manifest_json;
use crate::v2::Ctx;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use tinforge_gate::authorized::run_blocking;
use tinforge_store::registry::{NewManifest, PutError, manifests, names, repositories};

/// A reference: a digest, or a tag by the spec's grammar. None for neither.
enum Reference {
    Digest(Digest),
    Tag(String),
}

fn reference(text: &str) -> Result<Option<Reference>, RegistryError> {
    if text.contains(':') {
        return parse_digest(text).map(|d| Some(Reference::Digest(d)));
    }
    Ok(names::is_valid_tag(text).then(|| Reference::Tag(text.to_string())))
}

/// `GET`/`HEAD …/manifests/<reference>`: the bytes as pushed, with their media type.
pub async fn get(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    reference_text: &str,
    head: bool,
) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::MANIFEST_GET, name).await?;
    if reference(reference_text)?.is_none() {
        return Err(RegistryError::manifest_unknown(reference_text));
    }
    let (project_id, repo_name, r) = (
        access.project.id,
        access.repository_name.clone(),
        reference_text.to_string(),
    );
    let found = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let Some(repo) = repositories::find(conn, project_id, &repo_name)? else {
            return Ok(None);
        };
        Ok(manifests::resolve(conn, repo.id, &r, true)?)
    })
    .await?;
    let (manifest, content) =
        found.ok_or_else(|| RegistryError::manifest_unknown(reference_text))?;
    let mut res = HttpResponse::Ok();
    res.insert_header(("Content-Type", manifest.media_type.as_str()))
        .insert_header(("Docker-Content-Digest", manifest.digest.as_str()))
        .insert_header(("ETag", format!("\"{}\"", manifest.digest)));
    if head {
        let length = content.len() as u64;
        let empty = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
        return Ok(res.body(actix_web::body::SizedStream::new(length, empty.boxed())));
    }
    Ok(res.body(content))
}

/// Reads the manifest body, refusing more than the configured limit with 413.
async fn read_body(
    req: &HttpRequest,
    ctx: &Ctx,
    mut payload: web::Payload,
) -> Result<Vec<u8>, RegistryError> {
    let limit = ctx.config.max_manifest_bytes;
    let too_large = || {
        RegistryError::size_invalid(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("manifests are limited to {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(4096).min(limit as u64) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::manifest_invalid(format!("the manifest body was cut short: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The media type of the request, without parameters.
fn content_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("content-type")?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

/// Whether pointing a tag at `digest` moves it: a tag that names another manifest moves only
/// with `container_registry:update`; a new tag (or the same manifest again) is a create.
fn moves(existing: Option<&str>, digest: &str) -> bool {
    existing.is_some_and(|current| current != digest)
}

/// `PUT …/manifests/<reference>`.
pub async fn put(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    reference_text: &str,
    payload: web::Payload,
) -> Result<HttpResponse, RegistryError> {
    // Which action this is (a new tag or digest: create; moving a tag: update) is known only
    // from the body; the caller must hold one of the two before the body is even read.
    let access = resolve_image(req, &ctx.config, &ctx.state, declare::MANIFEST_PUT, name).await?;
    let may_create = match access.decide(&ctx.config, &ctx.state, declare::MANIFEST_PUT) {
        Ok(()) => true,
        Err(e) => {
            if access
                .decide(&ctx.config, &ctx.state, declare::TAG_MOVE)
                .is_err()
            {
                return Err(e);
            }
            false
        }
    };
    let by = match reference(reference_text)? {
        Some(r) => r,
        None => return Err(RegistryError::tag_invalid(reference_text)),
    };
    let mut tags: Vec<String> = match &by {
        Reference::Tag(t) => vec![t.clone()],
        Reference::Digest(_) => Vec::new(),
    };
    let extra_tags = query_tags(req);
    for extra in &extra_tags {
        if !names::is_valid_tag(extra) {
            return Err(RegistryError::tag_invalid(extra));
        }
        if !tags.contains(extra) {
            tags.push(extra.clone());
        }
    }
    let body = read_body(req, ctx, payload).await?;
    let algorithm = match &by {
        Reference::Digest(d) => d.algorithm,
        Reference::Tag(_) => Algorithm::Sha256,
    };
    let digest = Digest::of(algorithm, &body);
    if let Reference::Digest(wanted) = &by
        && wanted != &digest
    {
        return Err(RegistryError::digest_invalid(format!(
            "the manifest has digest {digest}, not {wanted}"
        )));
    }
    let digest = digest.to_string();
    let parsed = manifest_json::parse(content_type(req).as_deref(), &body)?;
    let (project_id, repo_name) = (access.project.id, access.repository_name.clone());
    let tag_names = tags.clone();
    let (repository_id, existing) = run_blocking(&ctx.state.store, move |conn| {
        let repo = repositories::find_or_create(conn, project_id, &repo_name)?;
        let mut existing = Vec::new();
        for t in &tag_names {
            existing.push(manifests::tag_digest(conn, repo.id, t)?);
        }
        Ok::<_, tinforge_store::StoreError>((repo.id, existing))
    })
    .await
    .map_err(RegistryError::from)?;
    let moves: Vec<bool> = existing
        .iter()
        .map(|current| moves(current.as_deref(), &digest))
        .collect();
    // A new tag, or a push by digest, is a create; every moved tag is an update.
    if !may_create && (tags.is_empty() || moves.iter().any(|m| !m)) {
        access.decide(&ctx.config, &ctx.state, declare::MANIFEST_PUT)?;
    }
    let moved = moves.iter().any(|m| *m);
    if moved && let Err(e) = access.decide(&ctx.config, &ctx.state, declare::TAG_MOVE) {
        // Refused as what it turned out to be: a tag move.
        let mut res = e.error_response();
        res.extensions_mut()
            .insert(crate::v2::Declared(declare::TAG_MOVE));
        return Ok(res);
    }
    let subject = parsed.subject.clone();
    let d = digest.clone();
    let stored = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let new = NewManifest {
            digest: &d,
            media_type: &parsed.media_type,
            artifact_type: parsed.artifact_type.as_deref(),
            subject_digest: parsed.subject.as_deref(),
            config_digest: parsed.config_digest.as_deref(),
            annotations: parsed.annotations.clone(),
            content: &body,
            blobs: parsed.blobs.clone(),
            children: parsed.children.clone(),
        };
        let result = tinforge_store::write_transaction(conn, |conn| -> Result<(), PutError> {
            if tags.is_empty() {
                manifests::put(conn, repository_id, &new, None, false)?;
            }
            for (tag, allow_move) in tags.iter().zip(&moves) {
                manifests::put(conn, repository_id, &new, Some(tag), *allow_move)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(Ok(())),
            Err(PutError::BlobUnknown(b)) => Err(RegistryError::manifest_blob_unknown(&b)),
            // A tag created by someone else in the meantime: judged again as a move.
            Err(PutError::TagExists(t)) => Ok(Err(t)),
            Err(PutError::Store(e)) => Err(e.into()),
        }
    })
    .await?;
    if let Err(tag) = stored {
        return Err(RegistryError::denied(format!(
            "tag {tag} was created by another push meanwhile; push again to move it"
        )));
    }
    let mut res = HttpResponse::Created();
    res.insert_header(("Location", format!("/v2/{name}/manifests/{digest}")))
        .insert_header(("Docker-Content-Digest", digest.as_str()));
    if let Some(subject) = subject {
        res.insert_header(("OCI-Subject", subject));
    }
    for t in &extra_tags {
        res.append_header(("OCI-Tag", t.as_str()));
    }
    let mut res = res.finish();
    if moved {
        res.extensions_mut()
            .insert(crate::v2::Declared(declare::TAG_MOVE));
    }
    Ok(res)
}

/// The `?tag=` names of a manifest PUT.
fn query_tags(req: &HttpRequest) -> Vec<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v)
        .collect()
}

/// `DELETE …/manifests/<digest>` deletes the manifest and its tags; `…/<tag>` the tag (202).
pub async fn delete(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    reference_text: &str,
) -> Result<HttpResponse, RegistryError> {
    let access =
        authorize_image(req, &ctx.config, &ctx.state, declare::MANIFEST_DELETE, name).await?;
    let by = reference(reference_text)?
        .ok_or_else(|| RegistryError::manifest_unknown(reference_text))?;
    let (project_id, repo_name) = (access.project.id, access.repository_name.clone());
    let removed = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let Some(repo) = repositories::find(conn, project_id, &repo_name)? else {
            return Ok(false);
        };
        Ok(match &by {
            Reference::Digest(d) => manifests::delete(conn, repo.id, &d.to_string())?,
            Reference::Tag(t) => manifests::delete_tag(conn, repo.id, t)?,
        })
    })
    .await?;
    if !removed {
        return Err(RegistryError::manifest_unknown(reference_text));
    }
    Ok(HttpResponse::Accepted().finish())
}
