//! GitLab offset pagination: `page`, `per_page` (20 by default, at most 100) and the headers
//! `X-Total`, `X-Total-Pages`, `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`, `Link`.

use crate::error::ApiError;
use crate::params::Params;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    pub fn from_params(params: &Params) -> Result<Page, ApiError> {
        let number = |key: &str, default: i64| -> Result<i64, ApiError> {
            match params.map()?.get(key) {
                None | Some(serde_json::Value::Null) => Ok(default),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!("{key} does not have a valid value"))
                    }),
            }
        };
        Ok(Page {
            page: number("page", 1)?,
            per_page: number("per_page", 20)?.min(100),
        })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        self.per_page
    }

    /// This page of a list held in memory, with the list's length (the `X-Total`).
    pub fn cut<T>(&self, items: impl IntoIterator<Item = T>) -> (i64, Vec<T>) {
        let mut total = 0i64;
        let mut page = Vec::new();
        let (skip, take) = (self.offset() as usize, self.limit() as usize);
        for (i, item) in items.into_iter().enumerate() {
            total += 1;
            if i >= skip && page.len() < take {
                page.push(item);
            }
        }
        (total, page)
    }
}

/// A 200 JSON list with GitLab's pagination headers; links are built on `base_url`.
pub fn respond<T: Serialize>(
    req: &HttpRequest,
    base_url: &str,
    page: Page,
    total: i64,
    items: &[T],
) -> HttpResponse {
    let total_pages = ((total + page.per_page - 1) / page.per_page).max(1);
    let next = (page.page < total_pages).then_some(page.page + 1);
    let prev = (page.page > 1).then(|| (page.page - 1).min(total_pages));
    let mut res = HttpResponse::Ok();
    res.insert_header(("X-Total", total.to_string()))
        .insert_header(("X-Total-Pages", total_pages.to_string()));
    page_headers(&mut res, req, base_url, page, prev, next, Some(total_pages));
    res.json(items)
}

/// A 200 JSON list whose total is not counted (GitLab's commit history): no `X-Total` nor
/// `X-Total-Pages`, a `Link` without `last`; `more` says whether another page follows.
pub fn respond_uncounted<T: Serialize>(
    req: &HttpRequest,
    base_url: &str,
    page: Page,
    more: bool,
    items: &[T],
) -> HttpResponse {
    let next = more.then_some(page.page + 1);
    let prev = (page.page > 1).then_some(page.page - 1);
    let mut res = HttpResponse::Ok();
    page_headers(&mut res, req, base_url, page, prev, next, None);
    res.json(items)
}

/// `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page` and the `Link` header.
fn page_headers(
    res: &mut HttpResponseBuilder,
    req: &HttpRequest,
    base_url: &str,
    page: Page,
    prev: Option<i64>,
    next: Option<i64>,
    last: Option<i64>,
) {
    let link_to = |n: i64| {
        format!(
            "{base_url}{}?{}",
            req.path(),
            query_with_page(req.query_string(), n, page.per_page)
        )
    };
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("<{}>; rel=\"prev\"", link_to(p)));
    }
    if let Some(n) = next {
        links.push(format!("<{}>; rel=\"next\"", link_to(n)));
    }
    links.push(format!("<{}>; rel=\"first\"", link_to(1)));
    if let Some(l) = last {
        links.push(format!("<{}>; rel=\"last\"", link_to(l)));
    }
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    res.insert_header(("X-Page", page.page.to_string()))
        .insert_header(("X-Per-Page", page.per_page.to_string()))
        .insert_header(("X-Next-Page", opt(next)))
        .insert_header(("X-Prev-Page", opt(prev)))
        .insert_header(("Link", links.join(", ")));
}

/// The query string with `page`/`per_page` replaced and credentials dropped.
fn query_with_page(query: &str, page: i64, per_page: i64) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "page" | "per_page" | "private_token" | "access_token"
                )
            })
            .collect();
    pairs.push(("page".into(), page.to_string()));
    pairs.push(("per_page".into(), per_page.to_string()));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn header<'r>(res: &'r HttpResponse, name: &str) -> Option<&'r str> {
        res.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn counted_lists_link_every_page_on_the_external_url() {
        let req = TestRequest::get()
            .uri("/api/v4/x?search=a&page=2&per_page=2&private_token=secret")
            .to_http_request();
        let res = respond(
            &req,
            "https://forge",
            Page {
                page: 2,
                per_page: 2,
            },
            5,
            &[1, 2],
        );
        assert_eq!(header(&res, "X-Total"), Some("5"));
        assert_eq!(header(&res, "X-Total-Pages"), Some("3"));
        let link = header(&res, "Link").unwrap();
        assert!(link.contains("<https://forge/api/v4/x?search=a&page=1&per_page=2>; rel=\"prev\""));
        assert!(link.contains("page=3&per_page=2>; rel=\"next\""));
        assert!(link.contains("rel=\"first\""));
        assert!(link.contains("page=3&per_page=2>; rel=\"last\""));
        assert!(!link.contains("secret"));
    }

    #[test]
    fn uncounted_lists_have_no_total_and_no_last_link() {
        let req = TestRequest::get()
            .uri("/api/v4/x?per_page=2&page=2")
            .to_http_request();
        let page = Page {
            page: 2,
            per_page: 2,
        };
        let res = respond_uncounted(&req, "https://forge", page, true, &[1, 2]);
        assert_eq!(header(&res, "X-Total"), None);
        assert_eq!(header(&res, "X-Total-Pages"), None);
        assert_eq!(header(&res, "X-Next-Page"), Some("3"));
        assert_eq!(header(&res, "X-Prev-Page"), Some("1"));
        let link = header(&res, "Link").unwrap();
        assert!(link.contains("rel=\"next\"") && link.contains("rel=\"first\""));
        assert!(!link.contains("rel=\"last\""));
        let last = respond_uncounted(&req, "https://forge", page, false, &[1]);
        assert_eq!(header(&last, "X-Next-Page"), Some(""));
    }
}
