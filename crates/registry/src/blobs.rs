//! Pulling and deleting blobs: `HEAD`/`GET /v2/<name>/blobs/<digest>` (with `Range`) and
//! `DELETE`. A blob is served only by the repositories it was pushed or mounted into.

use crate::access::authorize_image;
use crate::declare;
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::v2::Ctx;
use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use tinforge_gate::authorized::run_blocking;
use tinforge_store::blobstore::BlobError;
use tinforge_store::registry::{blobs, repositories};

/// A parsed digest, or the spec's 400.
pub fn parse_digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(|e| RegistryError::digest_invalid(e.to_string()))
}

/// A byte range of a blob of `size` bytes, from a `Range: bytes=…` header; None serves it all.
pub fn requested_range(
    header: Option<&str>,
    size: u64,
) -> Result<Option<std::ops::Range<u64>>, RegistryError> {
    let Some(value) = header else {
        return Ok(None);
    };
    let unsatisfiable = RegistryError::RangeNotSatisfiable { size };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Err(unsatisfiable);
    };
    if spec.contains(',') {
        // Several ranges: served whole, as RFC 9110 allows.
        return Ok(None);
    }
    let (start, end) = spec
        .split_once('-')
        .ok_or(RegistryError::RangeNotSatisfiable { size })?;
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n = number(suffix).ok_or(RegistryError::RangeNotSatisfiable { size })?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            size.saturating_sub(n)..size
        }
        (first, "") => {
            let first = number(first).ok_or(RegistryError::RangeNotSatisfiable { size })?;
            first..size
        }
        (first, last) => {
            let (first, last) = match (number(first), number(last)) {
                (Some(f), Some(l)) => (f, l),
                _ => return Err(unsatisfiable),
            };
            if last < first {
                return Err(unsatisfiable);
            }
            first..(last + 1).min(size)
        }
    };
    if range.start >= size {
        return Err(unsatisfiable);
    }
    Ok(Some(range))
}

/// `HEAD`/`GET …/blobs/<digest>`.
pub async fn get(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    digest: &str,
    head: bool,
) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::BLOB_GET, name).await?;
    let digest = parse_digest(digest)?.to_string();
    let (project_id, repo_name, d) = (
        access.project.id,
        access.repository_name.clone(),
        digest.clone(),
    );
    let size = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        Ok(match repositories::find(conn, project_id, &repo_name)? {
            Some(r) => blobs::linked_size(conn, r.id, &d)?,
            None => None,
        })
    })
    .await?
    .ok_or_else(|| RegistryError::blob_unknown(&digest))? as u64;
    let range_header = req
        .headers()
        .get(actix_web::http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    let range = requested_range(range_header, size)?;
    let mut res = HttpResponse::build(if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    });
    res.insert_header(("Docker-Content-Digest", digest.as_str()))
        .insert_header(("Content-Type", "application/octet-stream"))
        .insert_header(("Accept-Ranges", "bytes"))
        .insert_header(("ETag", format!("\"{digest}\"")))
        .insert_header(("Cache-Control", "max-age=31536000"));
    if let Some(r) = &range {
        res.insert_header((
            "Content-Range",
            format!("bytes {}-{}/{size}", r.start, r.end - 1),
        ));
    }
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    if head {
        let empty = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
        return Ok(res.body(SizedStream::new(length, empty.boxed())));
    }
    let stream = match ctx.config.blobs.read(&digest, range).await {
        Ok(s) => s,
        Err(BlobError::NotFound) => return Err(RegistryError::blob_unknown(&digest)),
        Err(e) => return Err(e.into()),
    };
    Ok(res.body(SizedStream::new(length, stream)))
}

/// `DELETE …/blobs/<digest>`: the repository stops serving the blob (202).
pub async fn delete(
    req: &HttpRequest,
    ctx: &Ctx,
    name: &str,
    digest: &str,
) -> Result<HttpResponse, RegistryError> {
    let access = authorize_image(req, &ctx.config, &ctx.state, declare::BLOB_DELETE, name).await?;
    let digest = parse_digest(digest)?.to_string();
    let (project_id, repo_name, d) = (
        access.project.id,
        access.repository_name.clone(),
        digest.clone(),
    );
    let removed = run_blocking(&ctx.state.store, move |conn| -> Result<_, RegistryError> {
        Ok(match repositories::find(conn, project_id, &repo_name)? {
            Some(r) => blobs::unlink(conn, r.id, &d)?,
            None => false,
        })
    })
    .await?;
    if !removed {
        return Err(RegistryError::blob_unknown(&digest));
    }
    Ok(HttpResponse::Accepted()
        .insert_header(("Docker-Content-Digest", digest.as_str()))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::requested_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |h: &str| requested_range(Some(h), 2048).ok().flatten();
        assert_eq!(r("bytes=500-1499"), Some(500..1500));
        assert_eq!(r("bytes=500-"), Some(500..2048));
        assert_eq!(r("bytes=-500"), Some(1548..2048));
        assert_eq!(r("bytes=2000-5000"), Some(2000..2048));
        for bad in [
            "bytes=500-0",
            "bytes=5000-10000",
            "bytes=x-1",
            "items=0-1",
            "bytes=-0",
        ] {
            assert!(requested_range(Some(bad), 2048).is_err(), "{bad}");
        }
        assert_eq!(requested_range(None, 10).unwrap(), None);
    }
}
