//! Jobs over REST, GitLab v4 shapes: a project's jobs, one job, its log, cancel / retry / play /
//! erase, its artifacts archive (whole, one file out of it, or the latest successful job's by ref),
//! and `GET /job`, the job of the presented job token with what that token may do.
//!
//! Requirements follow the pipelines': reading (jobs, logs, artifacts) is `pipeline:read`
//! (Reporter+), cancel/retry/play `pipeline:update` (Developer+), erase `pipeline:delete`
//! (Maintainer+; GitLab lets Developers erase their own jobs, here only Maintainers erase).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::pipeline_views::{self, JobView, OwnJobView, Site};
use crate::pipelines::{READ, UPDATE, id_param, job_statuses, ring, site_of, target_of};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use tinforge_authz::{Authenticates, Requirement, Role, TokenKind, require};
use tinforge_ci::JobStatus;
use tinforge_ci::service::progress;
use tinforge_gate::authorized::{run_blocking, state_of};
use tinforge_gate::{Authorized, RestRoutes, credential};
use tinforge_store::ci::artifacts::{self, ArtifactRow};
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::traces;
use tinforge_store::{DbConnection, StoreError, projects};

/// Erasing a job's log and artifacts: Maintainer+.
pub const ERASE: Requirement = require!(pipeline:delete).min_role(Role::Maintainer);
/// `GET /job`: the job token's own job (the endpoint resolves the job token itself).
pub const OWN_JOB: Requirement = require!(pipeline:read).authenticated_by(Authenticates::JobToken);

/// The largest archive one file is read out of (the archive is held in memory).
const MAX_ARCHIVE_READ: i64 = 256 * 1024 * 1024;

pub fn declare(r: &mut RestRoutes) {
    let base = "/api/v4/projects/{id}/jobs";
    let one = "/api/v4/projects/{id}/jobs/{job_id}";
    let at = |tail: &str| format!("{one}/{tail}");
    r.route("GET", base, READ)
        .project("id")
        .summary("A project's jobs, newest first, by status scope[] (pipeline:read, Reporter+)")
        .returns_list::<JobView>()
        .to(list_jobs);
    r.route(
        "GET",
        "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/download",
        READ,
    )
    .project("id")
    .summary("The artifacts archive of the latest successful job of that name on a ref (pipeline:read, Reporter+)")
    .to(artifacts_by_ref);
    r.route(
        "GET",
        "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/raw/{artifact_path:.*}",
        READ,
    )
    .project("id")
    .summary("One file of the artifacts of the latest successful job of that name on a ref (pipeline:read, Reporter+)")
    .to(artifact_file_by_ref);
    r.route("GET", one, READ)
        .project("id")
        .summary("One job (pipeline:read, Reporter+)")
        .returns::<JobView>()
        .to(get_job);
    r.route("GET", &at("trace"), READ)
        .project("id")
        .summary("A job's log as text (pipeline:read, Reporter+)")
        .to(trace);
    r.route("POST", &at("cancel"), UPDATE)
        .project("id")
        .summary("Cancel a job (pipeline:update, Developer+)")
        .returns::<JobView>()
        .to(cancel);
    r.route("POST", &at("retry"), UPDATE)
        .project("id")
        .summary("Retry a finished job as a new job (pipeline:update, Developer+)")
        .returns::<JobView>()
        .to(retry);
    r.route("POST", &at("play"), UPDATE)
        .project("id")
        .summary("Start a manual job (pipeline:update, Developer+)")
        .returns::<JobView>()
        .to(play);
    r.route("POST", &at("erase"), ERASE)
        .project("id")
        .summary("Erase a finished job's log and artifacts (pipeline:delete, Maintainer+)")
        .returns::<JobView>()
        .to(erase);
    r.route("GET", &at("artifacts"), READ)
        .project("id")
        .summary("A job's artifacts archive (pipeline:read, Reporter+)")
        .to(download_artifacts);
    r.route("GET", &at("artifacts/{artifact_path:.*}"), READ)
        .project("id")
        .summary("One file out of a job's artifacts archive (pipeline:read, Reporter+)")
        .to(artifact_file);
    r.route("GET", "/api/v4/job", OWN_JOB)
        .summary("The job of the presented job token, with the token's permissions")
        .returns::<OwnJobView>()
        .to(own_job);
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn job_in(c: &mut DbConnection, project_id: i64, id: i64) -> Result<JobRow, ApiError> {
    jobs::find_in_project(c, project_id, id)?.ok_or(ApiError::Store(StoreError::NotFound))
}

/// GitLab's 404 for a missing artifact: `{"message":"404 Not Found"}`.
fn no_artifacts() -> HttpResponse {
    pipeline_views::message(StatusCode::NOT_FOUND, "404 Not Found")
}

/// The job's archive, unless it has expired.
fn live_archive(c: &mut DbConnection, job_id: i64) -> Result<Option<ArtifactRow>, StoreError> {
    let now = tinforge_store::now();
    Ok(artifacts::find_for_job(c, job_id)?.filter(|a| a.expire_at.is_none_or(|t| t > now)))
}

/// Streams an archive from the blob store as a zip download.
async fn send_archive(cfg: &ApiConfig, archive: &ArtifactRow) -> Result<HttpResponse, ApiError> {
    let stream = match cfg.artifacts.read(&archive.digest, None).await {
        Ok(s) => s,
        Err(tinforge_store::blobstore::BlobError::NotFound) => return Ok(no_artifacts()),
        Err(e) => return Err(ApiError::Store(StoreError::Unavailable(e.to_string()))),
    };
    let filename = archive.filename.replace(['"', '\\', '\r', '\n'], "_");
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/zip"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .no_chunking(archive.size.max(0) as u64)
        .streaming(stream))
}

/// One file out of an archive (held in memory: archives above [`MAX_ARCHIVE_READ`] are refused).
async fn send_archive_file(
    cfg: &ApiConfig,
    archive: &ArtifactRow,
    path: String,
) -> Result<HttpResponse, ApiError> {
    if archive.size > MAX_ARCHIVE_READ {
        return Err(ApiError::TooLarge);
    }
    let mut stream = match cfg.artifacts.read(&archive.digest, None).await {
        Ok(s) => s,
        Err(tinforge_store::blobstore::BlobError::NotFound) => return Ok(no_artifacts()),
        Err(e) => return Err(ApiError::Store(StoreError::Unavailable(e.to_string()))),
    };
    let mut bytes = Vec::with_capacity(archive.size.max(0) as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::Store(StoreError::Unavailable(e.to_string())))?;
        bytes.extend_from_slice(&chunk);
    }
    let found = web::block(move || -> Option<Vec<u8>> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
        let mut entry = zip.by_name(path.trim_start_matches('/')).ok()?;
        if entry.is_dir() {
            return None;
        }
        let mut out = Vec::new();
        entry.read_to_end(&mut out).ok()?;
        Some(out)
    })
    .await
    .map_err(|e| ApiError::Store(StoreError::Unavailable(e.to_string())))?;
    Ok(match found {
        Some(content) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "application/octet-stream"))
            .body(content),
        None => no_artifacts(),
    })
}

fn artifact_path(req: &HttpRequest) -> String {
    tinforge_gate::authorized::decode(req.match_info().get("artifact_path").unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Lists and reads

#[derive(Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "flex::opt_list")]
    scope: Option<Vec<String>>,
}

async fn list_jobs(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: ListParams = params.parse()?;
    let statuses = job_statuses(q.scope)?;
    let page = Page::from_params(&params)?;
    let site = site_of(&cfg, &target);
    let (items, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            let (rows, total) =
                jobs::for_project(c, target.id, &statuses, page.offset(), page.limit())?;
            Ok((pipeline_views::job_views(c, &site, &rows)?, total))
        })
        .await?;
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn get_job(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let site = site_of(&cfg, &target);
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            Ok(pipeline_views::one_job_view(c, &site, &job)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The log: what the server wrote in front of it (the job token's permissions), then the
/// runner's bytes; empty before the job starts and after it is erased.
async fn trace(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            let mut body = job.trace_preamble.clone().into_bytes();
            body.extend(traces::read(c, job.id)?);
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("infile; filename=\"{id}.log\""),
        ))
        .body(body))
}

// ---------------------------------------------------------------------------------------------
// Changes

async fn cancel(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let site = site_of(&cfg, &target);
    let (settled, view) = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            let settled = progress::cancel_job(c, job.id)?;
            let job = job_in(c, target.id, id)?;
            Ok((settled, pipeline_views::one_job_view(c, &site, &job)?))
        })
        .await?;
    ring(&cfg, &settled);
    Ok(HttpResponse::Created().json(view))
}

async fn retry(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let user_id = auth.principal()?.user_id;
    let id = id_param(&req, "job_id")?;
    let site = site_of(&cfg, &target);
    let (settled, view) = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            let (fresh, settled) = progress::retry_job(c, job.id, user_id)?;
            Ok((settled, pipeline_views::one_job_view(c, &site, &fresh)?))
        })
        .await?;
    ring(&cfg, &settled);
    Ok(HttpResponse::Created().json(view))
}

async fn play(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let user_id = auth.principal()?.user_id;
    let id = id_param(&req, "job_id")?;
    let site = site_of(&cfg, &target);
    let played = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            match progress::play_job(c, job.id, user_id) {
                Ok((job, settled)) => Ok(Some((
                    settled,
                    pipeline_views::one_job_view(c, &site, &job)?,
                ))),
                Err(tinforge_ci::service::CiError::NotAllowed(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    let Some((settled, view)) = played else {
        return Ok(pipeline_views::message(
            StatusCode::BAD_REQUEST,
            "400 Bad request - Unplayable Job",
        ));
    };
    ring(&cfg, &settled);
    Ok(HttpResponse::Ok().json(view))
}

async fn erase(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let site = site_of(&cfg, &target);
    let (view, orphaned) = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            // GitLab's `erasable?`: finished, with a log or artifacts to erase.
            let finished = job
                .status
                .parse::<JobStatus>()
                .is_ok_and(|s| s.is_finished());
            let has_log = job.trace_size > 0 || !job.trace_preamble.is_empty();
            let has_artifacts = artifacts::find_for_job(c, job.id)?.is_some();
            if !finished || job.erased_at.is_some() || !(has_log || has_artifacts) {
                return Err(ApiError::Forbidden(Some("Job is not erasable!".into())));
            }
            let removed = tinforge_store::write_transaction(c, |c| -> Result<_, StoreError> {
                jobs::erase(c, job.id)?;
                artifacts::delete_for_job(c, job.id)
            })?;
            let orphaned = match removed {
                Some(a) if !artifacts::digest_in_use(c, &a.digest)? => Some(a.digest),
                _ => None,
            };
            let job = job_in(c, target.id, id)?;
            Ok((pipeline_views::one_job_view(c, &site, &job)?, orphaned))
        })
        .await?;
    if let Some(digest) = orphaned
        && let Err(e) = cfg.artifacts.delete(&digest).await
    {
        tracing::warn!(error = %e, %digest, "artifact blob of an erased job");
    }
    tracing::info!(project.id = target.id, job.id = id, "job erased");
    Ok(HttpResponse::Created().json(view))
}

// ---------------------------------------------------------------------------------------------
// Artifacts

async fn download_artifacts(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let archive = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            Ok(live_archive(c, job.id)?)
        })
        .await?;
    match archive {
        Some(a) => send_archive(&cfg, &a).await,
        None => Ok(no_artifacts()),
    }
}

async fn artifact_file(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = id_param(&req, "job_id")?;
    let path = artifact_path(&req);
    let archive = auth
        .run(move |c| -> Result<_, ApiError> {
            let job = job_in(c, target.id, id)?;
            Ok(live_archive(c, job.id)?)
        })
        .await?;
    match archive {
        Some(a) => send_archive_file(&cfg, &a, path).await,
        None => Ok(no_artifacts()),
    }
}

#[derive(Deserialize)]
struct ByRefParams {
    job: String,
}

/// The archive of the newest successful job named `job` on the path's `ref_name`.
async fn archive_by_ref(
    auth: &Authorized,
    params: &Params,
    req: &HttpRequest,
) -> Result<Option<ArtifactRow>, ApiError> {
    let target = target_of(auth)?;
    let q: ByRefParams = params.parse()?;
    let ref_name =
        tinforge_gate::authorized::decode(req.match_info().get("ref_name").unwrap_or_default());
    auth.run(move |c| -> Result<_, ApiError> {
        match jobs::latest_successful_by_name(c, target.id, &ref_name, &q.job)? {
            Some(job) => Ok(live_archive(c, job.id)?),
            None => Ok(None),
        }
    })
    .await
}

async fn artifacts_by_ref(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    match archive_by_ref(&auth, &params, &req).await? {
        Some(a) => send_archive(&cfg, &a).await,
        None => Ok(no_artifacts()),
    }
}

async fn artifact_file_by_ref(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = artifact_path(&req);
    match archive_by_ref(&auth, &params, &req).await? {
        Some(a) => send_archive_file(&cfg, &a, path).await,
        None => Ok(no_artifacts()),
    }
}

// ---------------------------------------------------------------------------------------------
// The job token's own job

/// `GET /job`: the job of the presented job token (401 without a usable one; any other
/// credential is GitLab's `404 Job Not Found`), with the token's permissions.
async fn own_job(req: HttpRequest, cfg: web::Data<ApiConfig>) -> Result<HttpResponse, ApiError> {
    let state = state_of(&req)?;
    let secret = credential::extract(&req)?
        .ok_or(ApiError::Unauthorized)?
        .secret()
        .to_string();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let resolver = state.resolver.clone();
    let cfg = cfg.get_ref().clone();
    let view = run_blocking(&state.store, move |c| -> Result<_, ApiError> {
        let principal = resolver
            .resolve(c, &secret, &ip)
            .map_err(tinforge_gate::GateError::from)?;
        let job_id = match (principal.kind, principal.job_id) {
            (TokenKind::Job, Some(id)) => id,
            _ => return Err(ApiError::NotFound("Job")),
        };
        let job = jobs::find(c, job_id)?.ok_or(ApiError::NotFound("Job"))?;
        let project = projects::find(c, job.project_id)?.ok_or(ApiError::NotFound("Job"))?;
        let site = Site::new(&cfg, project.id, &project.full_path);
        let mut permissions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for grant in &principal.grants {
            for p in &grant.permissions {
                let actions = permissions
                    .entry(p.resource.as_str().to_string())
                    .or_default();
                let action = p.action.as_str().to_string();
                if !actions.contains(&action) {
                    actions.push(action);
                }
            }
        }
        Ok(OwnJobView {
            job: pipeline_views::one_job_view(c, &site, &job)?,
            permissions,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
