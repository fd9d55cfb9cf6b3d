//! Reads exactly one credential from a request: `PRIVATE-TOKEN`, `JOB-TOKEN`, `Authorization:
//! Bearer`, HTTP Basic (any username — `gitlab-ci-token` for job tokens — the token as
//! password), or the `private_token` / `access_token` / `job_token` query parameters. Two different credentials at once are refused. Nothing here ever logs a token.

use crate::error::GateError;
use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use base64::Engine;

/// A presented secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub(crate) fn new(secret: String) -> Self {
        Credential(secret)
    }

    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

const QUERY_PARAMS: [&str; 3] = ["private_token", "access_token", "job_token"];

/// True when the request presents anything that looks like a credential.
pub fn is_present(req: &HttpRequest) -> bool {
    let h = req.headers();
    h.contains_key("private-token")
        || h.contains_key(AUTHORIZATION)
        || h.contains_key("job-token")
        || query_credentials(req.query_string()).next().is_some()
}

/// The one credential of the request, None when there is none.
pub fn extract(req: &HttpRequest) -> Result<Option<Credential>, GateError> {
    let mut found: Vec<String> = Vec::new();
    from_headers(req.headers(), &mut found)?;
    found.extend(query_credentials(req.query_string()));
    found.sort();
    found.dedup();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop().map(Credential)),
        _ => Err(GateError::Unauthorized),
    }
}

fn from_headers(headers: &HeaderMap, found: &mut Vec<String>) -> Result<(), GateError> {
    for value in headers
        .get_all("private-token")
        .chain(headers.get_all("job-token"))
    {
        found.push(
            value
                .to_str()
                .map_err(|_| GateError::Unauthorized)?
                .trim()
                .to_string(),
        );
    }
    for value in headers.get_all(AUTHORIZATION) {
        let text = value.to_str().map_err(|_| GateError::Unauthorized)?.trim();
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        let token = match scheme.to_ascii_lowercase().as_str() {
            "bearer" => rest.trim().to_string(),
            "basic" => basic_password(rest.trim()).ok_or(GateError::Unauthorized)?,
            _ => return Err(GateError::Unauthorized),
        };
        found.push(token);
    }
    found.retain(|t| !t.is_empty());
    Ok(())
}

fn basic_password(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (_user, password) = text.split_once(':')?;
    Some(password.to_string())
}

fn query_credentials(query: &str) -> impl Iterator<Item = String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| QUERY_PARAMS.contains(&k.as_str()) && !v.is_empty())
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn secret(req: &HttpRequest) -> Option<String> {
        extract(req).unwrap().map(|c| c.secret().to_string())
    }

    #[test]
    fn every_source_is_read() {
        let r = TestRequest::default()
            .insert_header(("PRIVATE-TOKEN", "a"))
            .to_http_request();
        assert_eq!(secret(&r).as_deref(), Some("a"));
        let r = TestRequest::default()
            .insert_header(("Authorization", "Bearer b"))
            .to_http_request();
        assert_eq!(secret(&r).as_deref(), Some("b"));
        let basic = base64::engine::general_purpose::STANDARD.encode("oauth2:c");
        let r = TestRequest::default()
            .insert_header(("Authorization", format!("Basic {basic}")))
            .to_http_request();
        assert_eq!(secret(&r).as_deref(), Some("c"));
        let r = TestRequest::with_uri("/x?private_token=d&page=2").to_http_request();
        assert_eq!(secret(&r).as_deref(), Some("d"));
        assert_eq!(secret(&TestRequest::default().to_http_request()), None);
    }

    #[test]
    fn two_different_credentials_are_refused_the_same_one_twice_is_not() {
        let r = TestRequest::with_uri("/x?private_token=b")
            .insert_header(("PRIVATE-TOKEN", "a"))
            .to_http_request();
        assert!(extract(&r).is_err());
        let r = TestRequest::default()
            .insert_header(("PRIVATE-TOKEN", "a"))
            .insert_header(("Authorization", "Bearer a"))
            .to_http_request();
        assert_eq!(secret(&r).as_deref(), Some("a"));
        let r = TestRequest::default()
            .insert_header(("Authorization", "Token a"))
            .to_http_request();
        assert!(extract(&r).is_err());
        assert_eq!(
            format!("{:?}", Credential("tfpat-x".into())),
            "Credential(<redacted>)"
        );
    }
}
