//! A minimal browser for the web pages: a cookie jar, no automatic redirects (tests look at the
//! 303s), form posts with the page's authenticity token.

use super::{Reply, Server};
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Browser<'a> {
    server: &'a Server,
    agent: ureq::Agent,
    pub cookies: BTreeMap<String, String>,
    /// The authenticity token of the last page that had a form.
    pub csrf: String,
    /// Every `Set-Cookie` header seen, as sent.
    pub set_cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a Server) -> Browser<'a> {
        Browser {
            server,
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(30))
                .build(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, res: Result<ureq::Response, ureq::Error>) -> Reply {
        let res = match res {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        for header in res.all("set-cookie") {
            self.set_cookies.push(header.to_string());
            let pair = header.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let removed = header.to_ascii_lowercase().contains("max-age=0");
                if v.is_empty() || removed {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
        let reply = Reply::from(Ok::<_, ureq::Error>(res));
        if let Some(token) = authenticity_token(&reply.text) {
            self.csrf = token;
        }
        reply
    }

    pub fn get(&mut self, path: &str) -> Reply {
        let req = self
            .agent
            .get(&format!("{}{path}", self.server.url))
            .set("Cookie", &self.cookie_header());
        let res = req.call();
        self.absorb(res)
    }

    /// Posts a form with the current authenticity token (unless `fields` gives one).
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        if !fields.iter().any(|(k, _)| *k == "authenticity_token") {
            all.push(("authenticity_token", &csrf));
        }
        let req = self
            .agent
            .post(&format!("{}{path}", self.server.url))
            .set("Cookie", &self.cookie_header());
        let res = req.send_form(&all);
        self.absorb(res)
    }

    /// Opens the sign-in page and signs in; returns the sign-in answer.
    pub fn sign_in(&mut self, login: &str, password: &str) -> Reply {
        self.get("/users/sign_in");
        self.post(
            "/users/sign_in",
            &[("username", login), ("password", password)],
        )
    }
}

/// The first `authenticity_token` hidden input of a page.
pub fn authenticity_token(html: &str) -> Option<String> {
    let at = html.find("name=\"authenticity_token\" value=\"")?;
    let rest = &html[at + "name=\"authenticity_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The token value shown on a "your new token" page.
pub fn shown_token(html: &str) -> Option<String> {
    let at = html.find("tfpat-")?;
    let rest = &html[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}
