//! Pushing blobs: `POST …/blobs/uploads/` (start, single POST with `digest`, or cross-repository
//! `mount`), `PATCH` chunks (with or without `Content-Range`), `PUT ?digest=` to finish, `GET`
//! for the status and `DELETE` to cancel. Bytes stream into a staging file while they are
//! hashed; only a verified blob is moved into the blob store and linked to the repository.

use crate::access::{ImageAccess, authorize_caller, authorize_image, caller};
use crate::blobs::parse_digest;
use crate::declare;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::RegistryError;
use crate::scope::query_param;
use crate::sessions::{SessionState, hash_file};
use crate::v2::Ctx;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tinforge_gate::authorized::run_blocking;
use tinforge_store::registry::{blobs, repositories, uploads};
use tokio::io::AsyncWriteExt;

const WRITE_BUFFER: usize = 256 * 1024;

fn upload_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn blob_location(name: &str, digest: &str) -> String {
    format!("/v2/{name}/blobs/{digest}")
}

/// `0-<last byte>` as the conformance suite compares it (`0-0` when empty).
fn range_of(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn accepted(name: &str, id: &str, size: u64) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header(("Location", upload_location(name, id)))
        .insert_header(("Range", range_of(size)))
        .insert_header(("Docker-Upload-UUID", id))
        .finish()
}

fn created(name: &str, digest: &str) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(("Location", blob_location(name, digest)))
        .insert_header(("Docker-Content-Digest", digest))
        .finish()
}

/// `Content-Range: <start>-<end>` (inclusive; `bytes ` and `/<total>` tolerated).
fn content_range(req: &HttpRequest) -> Result<Option<(u64, u64)>, RegistryError> {
    let Some(value) = req.headers().get("content-range") else {
        return Ok(None);
    };
    let bad = || {
        RegistryError::upload_invalid(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "Content-Range must be <start>-<end>",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    let text = text.strip_prefix("bytes ").unwrap_or(text);
    let text = text.split('/').next().unwrap_or_default();
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if b < a {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

/// Streams the request body onto the end of the staged file, hashing it. On any failure the
/// file and the hash are put back as they were, so a broken chunk leaves nothing behind.
async fn append(
    path: &Path,
    payload: &mut web::Payload,
    state: &mut SessionState,
    expected: Option<u64>,
) -> Result<u64, RegistryError> {
    let before_size = state.size;
    let before_hash = state.hasher.clone();
    let result = write_body(path, payload, state).await;
    let received = state.size - before_size;
    let failure = match result {
        Err(e) => Some(e),
        Ok(()) => match expected {
            Some(n) if n != received => Some(RegistryError::size_invalid(
                StatusCode::BAD_REQUEST,
                format!("the chunk carried {received} bytes, its Content-Range says {n}"),
            )),
            _ => None,
        },
    };
    if let Some(e) = failure {
        state.size = before_size;
        state.hasher = before_hash;
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(before_size)?;
        return Err(e);
    }
    Ok(received)
}

async fn write_body(
    path: &Path,
    payload: &mut web::Payload,
    state: &mut SessionState,
) -> Result<(), RegistryError> {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let hasher = state
        .hasher
        .get_or_insert_with(|| Hasher::new(Algorithm::Sha256));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::upload_invalid(
                StatusCode::BAD_REQUEST,
                format!("the upload body was cut short: {e}"),
            )
        })?;
        hasher.update(&chunk);
        writer.write_all(&chunk).await?;
        state.size += chunk.len() as u64;
    }
    writer.flush().await?;
    Ok(())
}

/// Brings a session's running hash up to the staged file (after a restart, or when another
/// instance took earlier chunks).
async fn restore(path: &Path, state: &mut SessionState, size: u64) -> Result<(), RegistryError> {
    if state.hasher.is_some() && state.size == size {
        return Ok(());
    }
    let path = path.to_path_buf();
    let (hasher, on_disk) = web::block(move || hash_file(&path, Algorithm::Sha256))
        .await
        .map_err(|e| RegistryError::Unavailable(e.to_string()))??;
    state.hasher = Some(hasher);
    state.size = on_disk;
    Ok(())
}

/// Verifies the staged bytes against `wanted` and moves them into the blob store: the blob is
/// recorded (so garbage collection keeps it) before its bytes move in, and linked to the
/// repository only after, so no repository ever serves a missing or unverified blob.
async fn verify_and_commit(
    ctx: &Ctx,
    repository_id: i64,
    upload_id: Option<&str>,
    staged: &Path,
    state: SessionState,
    wanted: &Digest,
) -> Result<String, RegistryError> {
    let actual = match (wanted.algorithm, state.hasher) {
        (Algorithm::Sha256, Some(h)) if h.algorithm() == Algorithm::Sha256 => h.finish(),
        (algorithm, _) => {
            let path = staged.to_path_buf();
            web::block(move || hash_file(&path, algorithm))
                .await
                .map_err(|e| RegistryError::Unavailable(e.to_string()))??
                .0
                .finish()
        }
    };
    if &actual != wanted {
        discard(ctx, upload_id, staged).await?;
        return Err(RegistryError::digest_invalid(format!(
            "the uploaded content has digest {actual}, not {wanted}"
        ))
        .with_detail(serde_json::json!({ "digest": wanted.to_string() })));
    }
    let digest = actual.to_string();
    let size = state.size as i64;
    let d = digest.clone();
    run_blocking(&ctx.state.store, move |conn| blobs::touch(conn, &d, size))
        .await
        .map_err(RegistryError::from)?;
    ctx.config.blobs.commit(&digest, staged).await?;
    let (d, id) = (digest.clone(), upload_id.map(str::to_string));
    run_blocking(&ctx.state.store, move |conn| -> Result<(), RegistryError> {
        blobs::link(conn, repository_id, &d)?;
        if let Some(id) = id {
            uploads::delete(conn, &id)?;
        }
        Ok(())
    })
    .await?;
    if let Some(id) = upload_id {
        ctx.config.sessions.forget(id);
    }
    Ok(digest)
}

/// Removes an upload's staged bytes and session.
async fn discard(ctx: &Ctx, upload_id: Option<&str>, staged: &Path) -> Result<(), RegistryError> {
    let _ = tokio::fs::remove_file(staged).await;
    if let Some(id) = upload_id {
        let id2 = id.to_string();
        run_blocking(&ctx.state.store, move |conn| uploads::delete(conn, &id2))
            .await
            .map_err(RegistryError::from)?;
        ctx.config.sessions.forget(id);
    }
    Ok(())
}

/// The repository of the image, created on the first push.
async fn repository_for_push(ctx: &Ctx, access: &ImageAccess) -> Result<i64, RegistryError> {
    let (project_id, name) = (access.project.id, access.repository_name.clone());
    let repo = run_blocking(&ctx.state.store, move |conn| {
        repositories::find_or_create(conn, project_id, &name)
    })
    .await
    .map_err(RegistryError::from)?;
    Ok(repo.id)
}

/// Tries a cross-repository mount: the caller must be allowed to pull from `from`, and `from`
/// must serve the blob. None: no mount (the caller gets a normal upload session instead).
async fn mount(
    req: &HttpRequest,
    ctx: &Ctx,
    repository_id: i64,
    digest: &Digest,
    from: &str,
) -> Result<Option<String>, RegistryError> {
    let who = caller(req, &ctx.config, &ctx.state).await?;
    let Ok(source) = authorize_caller(&ctx.config, &ctx.state, who, declare::BLOB_GET, from).await
    else {
        return Ok(None);
    };
    let (project_id, name, d) = (
        source.project.id,
        source.repository_name.clone(),
        digest.to_string(),
    );
    run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let Some(from_repo) = repositories::find(conn, project_id, &name)? else {
            return Ok(None);
        };
        if blobs::linked_size(conn, from_repo.id, &d)?.is_none() {
            return Ok(None);
        }
        blobs::link(conn, repository_id, &d)?;
        Ok(Some(d))
    })
    .await
}

/// `POST …/blobs/uploads/`.
pub async fn start(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    mut payload: web::Payload,
) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::UPLOAD_START, name).await?;
    let repository_id = repository_for_push(ctx, &access).await?;
    let query = req.query_string();
    if let Some(mount_digest) = query_param(query, "mount") {
        let digest = parse_digest(&mount_digest)?;
        if let Some(from) = query_param(query, "from").filter(|f| !f.is_empty())
            && let Some(d) = mount(req, ctx, repository_id, &digest, &from).await?
        {
            return Ok(created(name, &d));
        }
    } else if let Some(wanted) = query_param(query, "digest") {
        // A monolithic upload in one POST.
        let wanted = parse_digest(&wanted)?;
        let id = uuid::Uuid::new_v4().to_string();
        let staged = ctx.config.blobs.staging_path(&id)?;
        let mut state = SessionState {
            hasher: None,
            size: 0,
        };
        if let Err(e) = append(&staged, &mut payload, &mut state, None).await {
            let _ = tokio::fs::remove_file(&staged).await;
            return Err(e);
        }
        let digest = verify_and_commit(ctx, repository_id, None, &staged, state, &wanted).await?;
        return Ok(created(name, &digest));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let staged = ctx.config.blobs.staging_path(&id)?;
    tokio::fs::File::create(&staged).await?;
    let id2 = id.clone();
    run_blocking(&ctx.state.store, move |conn| {
        uploads::create(conn, &id2, repository_id)
    })
    .await
    .map_err(RegistryError::from)?;
    Ok(accepted(name, &id, 0))
}

/// An upload session of the image, with its staged file.
struct Session {
    id: String,
    repository_id: i64,
    staged: PathBuf,
    recorded_size: u64,
}

async fn session(
    req: &HttpRequest,
    ctx: &Ctx,
    key: declare::Key,
    name: &str,
    id: &str,
) -> Result<Session, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, key, name).await?;
    let staged = ctx
        .config
        .blobs
        .staging_path(id)
        .map_err(|_| RegistryError::upload_unknown())?;
    let (project_id, repo_name, id2) = (
        access.project.id,
        access.repository_name.clone(),
        id.to_string(),
    );
    let found = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        let Some(repo) = repositories::find(conn, project_id, &repo_name)? else {
            return Ok(None);
        };
        Ok(uploads::find(conn, repo.id, &id2)?)
    })
    .await?
    .ok_or_else(RegistryError::upload_unknown)?;
    Ok(Session {
        id: found.id,
        repository_id: found.repository_id,
        staged,
        recorded_size: found.size as u64,
    })
}

/// Receives one chunk into a session: a `Content-Range` must start where the upload ends.
async fn receive(
    req: &HttpRequest,
    ctx: &Ctx,
    s: &Session,
    state: &mut SessionState,
    payload: &mut web::Payload,
) -> Result<(), RegistryError> {
    restore(&s.staged, state, s.recorded_size).await?;
    let range = content_range(req)?;
    if let Some((first, _)) = range
        && first != state.size
    {
        return Err(RegistryError::upload_invalid(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!(
                "the chunk starts at byte {first}, but the upload holds {} bytes",
                state.size
            ),
        ));
    }
    let expected = range.map(|(a, b)| b - a + 1);
    let received = append(&s.staged, payload, state, expected).await?;
    if received > 0 {
        let (id, size) = (s.id.clone(), state.size as i64);
        run_blocking(&ctx.state.store, move |conn| {
            uploads::set_size(conn, &id, size)
        })
        .await
        .map_err(RegistryError::from)?;
    }
    Ok(())
}

/// `PATCH …/blobs/uploads/<id>`.
pub async fn chunk(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    id: &str,
    mut payload: web::Payload,
) -> Result<HttpResponse, RegistryError> {
    let s = session(req, ctx, declare::UPLOAD_CHUNK, name, id).await?;
    let lock = ctx.config.sessions.get(&s.id);
    let mut state = lock.lock().await;
    receive(req, ctx, &s, &mut state, &mut payload).await?;
    Ok(accepted(name, &s.id, state.size))
}

/// `PUT …/blobs/uploads/<id>?digest=<digest>` (optionally with a last chunk).
pub async fn finish(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    id: &str,
    mut payload: web::Payload,
) -> Result<HttpResponse, RegistryError> {
    let s = session(req, ctx, declare::UPLOAD_FINISH, name, id).await?;
    let wanted = query_param(req.query_string(), "digest")
        .ok_or_else(|| RegistryError::digest_invalid("the digest query parameter is required"))?;
    let wanted = parse_digest(&wanted)?;
    let lock = ctx.config.sessions.get(&s.id);
    let mut guard = lock.lock().await;
    receive(req, ctx, &s, &mut guard, &mut payload).await?;
    let state = SessionState {
        hasher: guard.hasher.take(),
        size: guard.size,
    };
    let digest =
        verify_and_commit(ctx, s.repository_id, Some(&s.id), &s.staged, state, &wanted).await?;
    Ok(created(name, &digest))
}

/// `GET …/blobs/uploads/<id>`: how much was received (204).
pub async fn status(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    id: &str,
) -> Result<HttpResponse, RegistryError> {
    let s = session(req, ctx, declare::UPLOAD_STATUS, name, id).await?;
    Ok(HttpResponse::NoContent()
        .insert_header(("Location", upload_location(name, &s.id)))
        .insert_header(("Range", range_of(s.recorded_size)))
        .insert_header(("Docker-Upload-UUID", s.id.as_str()))
        .finish())
}

/// `DELETE …/blobs/uploads/<id>`: cancels the upload (204).
pub async fn cancel(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    id: &str,
) -> Result<HttpResponse, RegistryError> {
    let s = session(req, ctx, declare::UPLOAD_CANCEL, name, id).await?;
    let lock = ctx.config.sessions.get(&s.id);
    let _guard = lock.lock().await;
    discard(ctx, Some(&s.id), &s.staged).await?;
    Ok(HttpResponse::NoContent().finish())
}
