//! The calls of GitLab's runner protocol, one function each, statuses left to the caller.

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::client::{Body, Client, Response};
use crate::error::{Error, Result};
use crate::payload::Job;

/// How `POST /runners/verify` went.
#[derive(Debug, PartialEq, Eq)]
pub enum Verify {
    Valid,
    Invalid,
    Other(u16),
}

/// `POST /runners/verify {token, system_id}`.
pub fn verify(client: &Client, token: &str, system_id: &str) -> Result<Verify> {
    let body = json!({"token": token, "system_id": system_id, "info": info()});
    let resp = client.call(
        "POST",
        "/runners/verify",
        &[("Accept", "application/json"), ("RUNNER-TOKEN", token)],
        Body::Json(&body),
    )?;
    Ok(match resp.status {
        200 | 201 => Verify::Valid,
        403 => Verify::Invalid,
        s => Verify::Other(s),
    })
}

/// What one poll brought.
#[derive(Debug)]
pub enum Poll {
    Job(Box<Job>),
    NoJob,
    Forbidden,
    /// Something to retry after a back-off, with the reason.
    Retry(String),
}

/// The `info` object describing this runner.
pub fn info() -> Value {
    json!({
        "name": "tinforge-runner",
        "version": crate::VERSION,
        "revision": "",
        "executor": "shell",
        "shell": "bash",
        "platform": std::env::consts::OS,
        "architecture": crate::arch(),
        "features": {
            "variables": true,
            "artifacts": true,
            "upload_multiple_artifacts": true,
            "refspecs": true,
            "masking": true,
            "cancelable": true,
            "return_exit_code": true,
            "trace_reset": true,
            "trace_checksum": true,
            "trace_size": true,
            "raw_variables": true,
            "multi_build_steps": true,
            "artifacts_exclude": true,
        },
    })
}

/// `POST /jobs/request`; `last_update` is sent and then replaced by the answer's header.
pub fn request_job(
    client: &Client,
    token: &str,
    system_id: &str,
    last_update: &mut String,
) -> Poll {
    let body = json!({
        "token": token,
        "system_id": system_id,
        "last_update": last_update.as_str(),
        "info": info(),
    });
    let resp = match client.call(
        "POST",
        "/jobs/request",
        &[("Accept", "application/json"), ("RUNNER-TOKEN", token)],
        Body::Json(&body),
    ) {
        Ok(r) => r,
        Err(e) => return Poll::Retry(e.to_string()),
    };
    if let Some(v) = resp.header("x-gitlab-last-update") {
        *last_update = v.to_string();
    }
    match resp.status {
        201 => {
            if !resp.is_json() {
                return Poll::Retry(Error::NotJson.to_string());
            }
            match Job::parse(&resp.body) {
                Ok(job) => Poll::Job(Box::new(job)),
                Err(e) => Poll::Retry(format!("bad job payload: {e}")),
            }
        }
        204 => Poll::NoJob,
        403 => Poll::Forbidden,
        s if (200..300).contains(&s) => Poll::NoJob,
        s => Poll::Retry(format!("status {s}")),
    }
}

/// `PUT /jobs/:id` with the job token in the body and the header.
pub fn update_job(client: &Client, id: u64, token: &str, mut body: Value) -> Result<Response> {
    body["token"] = Value::String(token.to_string());
    client.call(
        "PUT",
        &format!("/jobs/{id}"),
        &[("JOB-TOKEN", token), ("Accept", "application/json")],
        Body::Json(&body),
    )
}

/// `Content-Range` of a trace patch.
pub fn content_range(start: usize, len: usize) -> String {
    format!("{}-{}", start, start + len.max(1) - 1)
}

/// The number after `-` in a `Range: 0-<n>` header.
pub fn parse_range_end(value: &str) -> Option<usize> {
    let v = value.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v).trim();
    let (_, end) = v.split_once('-')?;
    end.trim().parse().ok()
}

/// `PATCH /jobs/:id/trace` with bytes starting at `start`.
pub fn patch_trace(
    client: &Client,
    id: u64,
    token: &str,
    start: usize,
    data: &[u8],
) -> Result<Response> {
    client.call(
        "PATCH",
        &format!("/jobs/{id}/trace"),
        &[
            ("JOB-TOKEN", token),
            ("Content-Range", &content_range(start, data.len())),
        ],
        Body::Bytes {
            content_type: "text/plain",
            data,
        },
    )
}

/// `POST /jobs/:id/artifacts?...` with `file` as the multipart field `file` named `filename`.
pub fn upload_artifacts(
    client: &Client,
    id: u64,
    token: &str,
    file: &Path,
    filename: &str,
    query: &str,
) -> Result<Response> {
    let mut url = client.url(&format!("/jobs/{id}/artifacts?{query}"));
    for _ in 0..3 {
        let resp = upload_once(client, &url, token, file, filename)?;
        if matches!(resp.status, 307 | 308)
            && let Some(loc) = resp.header("location")
        {
            url = absolute(client, loc);
            continue;
        }
        return Ok(resp);
    }
    Err(Error::Invalid(
        "too many redirects uploading artifacts".into(),
    ))
}

fn upload_once(
    client: &Client,
    url: &str,
    token: &str,
    file: &Path,
    filename: &str,
) -> Result<Response> {
    let boundary = format!("tinforge-{}", uuid::Uuid::new_v4().simple());
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let f = std::fs::File::open(file).map_err(|e| Error::io_path("opening", file, e))?;
    let size = f
        .metadata()
        .map_err(|e| Error::io_path("inspecting", file, e))?
        .len();
    let length = head.len() as u64 + size + tail.len() as u64;
    let reader = std::io::Cursor::new(head.into_bytes())
        .chain(f)
        .chain(std::io::Cursor::new(tail.into_bytes()));
    let content_type = format!("multipart/form-data; boundary={boundary}");
    client.call(
        "POST",
        url,
        &[("JOB-TOKEN", token)],
        Body::Stream {
            content_type: &content_type,
            length,
            reader: Box::new(reader),
        },
    )
}

fn absolute(client: &Client, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let root = client.url("");
    let root = root.trim_end_matches("/api/v4");
    format!("{root}{location}")
}

/// `GET /jobs/:id/artifacts` into `dest`; returns the final status (200 = written).
pub fn download_artifacts(client: &Client, dep_id: u64, token: &str, dest: &Path) -> Result<u16> {
    let mut url = client.url(&format!("/jobs/{dep_id}/artifacts"));
    let origin = client.url("");
    for _ in 0..5 {
        let same_origin = url.starts_with(origin.trim_end_matches("/api/v4"));
        let headers: Vec<(&str, &str)> = if same_origin {
            vec![("JOB-TOKEN", token)]
        } else {
            vec![]
        };
        let resp = client.send("GET", &url, &headers, Body::Empty)?;
        let status = resp.status();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            match resp.header("location") {
                Some(loc) => {
                    url = absolute(client, loc);
                    continue;
                }
                None => return Ok(status),
            }
        }
        if status != 200 {
            return Ok(status);
        }
        let mut f = std::fs::File::create(dest).map_err(|e| Error::io_path("creating", dest, e))?;
        std::io::copy(&mut resp.into_reader(), &mut f)
            .map_err(|e| Error::Transport(format!("downloading artifacts: {e}")))?;
        return Ok(200);
    }
    Err(Error::Invalid(
        "too many redirects downloading artifacts".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(content_range(0, 10), "0-9");
        assert_eq!(content_range(10, 1), "10-10");
        assert_eq!(parse_range_end("0-42"), Some(42));
        assert_eq!(parse_range_end(" 0-7 "), Some(7));
        assert_eq!(parse_range_end("bytes=0-3"), Some(3));
        assert_eq!(parse_range_end("0-"), None);
        assert_eq!(parse_range_end("junk"), None);
        assert_eq!(parse_range_end("0--1"), None);
    }

    #[test]
    fn info_lists_the_features() {
        let i = info();
        assert_eq!(i["executor"], "shell");
        assert_eq!(i["features"]["trace_checksum"], true);
        assert_eq!(i["version"], crate::VERSION);
    }
}
