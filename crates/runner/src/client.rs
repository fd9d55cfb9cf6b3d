//! The HTTP client: base URL, common headers, statuses as values, never a token in an error.

use std::io::Read;
use std::time::Duration;

use crate::error::{Error, Result};

/// The largest JSON or text body read into memory.
const MAX_BODY: u64 = 64 << 20;

/// One answer of the server, whatever its status.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the Content-Type says JSON.
    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
    }

    /// `Job-Status`, lowercased.
    pub fn job_status(&self) -> Option<String> {
        self.header("job-status")
            .map(|s| s.trim().to_ascii_lowercase())
    }
}

/// A request body.
pub enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
    Bytes {
        content_type: &'a str,
        data: &'a [u8],
    },
    Stream {
        content_type: &'a str,
        length: u64,
        reader: Box<dyn Read + 'a>,
    },
}

/// The runner's connection to one forge.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    user_agent: String,
}

impl Client {
    /// A client for `url` (the forge's root, `/api/v4` is added).
    pub fn new(url: &str) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(300))
            .redirects(0)
            .build();
        Client {
            agent,
            base: format!("{}/api/v4", url.trim_end_matches('/')),
            user_agent: format!("tinforge-runner {}", crate::VERSION),
        }
    }

    /// The full URL of an API path (`/jobs/1`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send a request to an API path; every status comes back as a [`Response`].
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Response> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            self.url(path)
        };
        let resp = self.send(method, &url, headers, body)?;
        let mut body = Vec::new();
        let (status, headers) = (resp.status(), header_list(&resp));
        resp.into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| Error::Transport(format!("reading the answer to {method} {path}: {e}")))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Send a request and hand back the raw response for streaming its body.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<ureq::Response> {
        let mut req = self
            .agent
            .request(method, url)
            .set("User-Agent", &self.user_agent)
            .set("X-Request-Id", &uuid::Uuid::new_v4().to_string());
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Body::Empty => req.call(),
            Body::Json(value) => {
                let data = serde_json::to_vec(value)?;
                req.set("Content-Type", "application/json")
                    .send_bytes(&data)
            }
            Body::Bytes { content_type, data } => {
                req.set("Content-Type", content_type).send_bytes(data)
            }
            Body::Stream {
                content_type,
                length,
                reader,
            } => req
                .set("Content-Type", content_type)
                .set("Content-Length", &length.to_string())
                .send(reader),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(_, resp)) => Ok(resp),
            Err(ureq::Error::Transport(t)) => Err(Error::Transport(describe(&t, method))),
        }
    }
}

/// A transport error without the URL (which may carry credentials in a query).
fn describe(t: &ureq::Transport, method: &str) -> String {
    let mut text = format!("{method}: {:?}", t.kind());
    if let Some(msg) = t.message() {
        text.push_str(": ");
        text.push_str(msg);
    }
    text
}

fn header_list(resp: &ureq::Response) -> Vec<(String, String)> {
    resp.headers_names()
        .into_iter()
        .filter_map(|name| {
            let value = resp.header(&name)?.to_string();
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(ct: &str) -> Response {
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), ct.into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn json_content_types() {
        assert!(resp("application/json").is_json());
        assert!(resp("application/json; charset=utf-8").is_json());
        assert!(!resp("text/plain").is_json());
        assert!(
            !Response {
                status: 200,
                headers: vec![],
                body: vec![]
            }
            .is_json()
        );
    }
}
