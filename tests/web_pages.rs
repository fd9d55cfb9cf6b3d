//! The web pages over real HTTP, on both databases: sign-in (one refusal for a wrong user and a
//! wrong password, then 429 with Retry-After), the session cookie and its end, CSRF on every
//! form, the tokens page and its form (errors said as the REST API says them, HTML escaped, a
//! value never shown twice), and project pages judged like the API (404 for a private project
//! the user cannot see, 403 for a section the role does not reach).

mod common;

use common::web::{Browser, shown_token};
use common::*;
use serde_json::json;

const TOKENS: &str = "/-/user_settings/personal_access_tokens";

fn start(backend: &Backend) -> Server {
    Server::start(backend, &[("TINFORGE_SIGN_IN_FAILURES_PER_ACCOUNT", "3")])
}

#[test]
fn sign_in_refuses_alike_then_limits_then_sessions_end_at_sign_out() {
    for backend in backends() {
        let s = start(&backend);
        s.user("alice");
        let mut b = Browser::new(&s);
        let home = b.get("/");
        assert_eq!(home.status, 303);
        assert_eq!(
            home.header("location"),
            Some("/users/sign_in?redirect_to=%2F")
        );
        let wrong_password = b.sign_in("alice", "nope-nope");
        let wrong_user = b.sign_in("nobody", "nope-nope");
        assert_eq!(wrong_password.status, 401);
        assert_eq!(wrong_user.status, 401);
        assert!(wrong_password.text.contains("Invalid login or password."));
        assert!(wrong_user.text.contains("Invalid login or password."));
        // Three failures for alice: the right password is refused too, with Retry-After.
        b.sign_in("ALICE", "still-wrong");
        b.sign_in("alice", "wrong-again");
        let limited = b.sign_in("alice", "password123");
        assert_eq!(limited.status, 429, "{}", limited.text);
        let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=600).contains(&wait), "{wait}");
        assert!(!b.cookies.contains_key("_tinforge_session"));

        // A fresh account signs in (by email, any case); the cookie is HttpOnly and Lax.
        s.user("bob");
        let mut b = Browser::new(&s);
        let signed_in = b.sign_in("BOB@example.com", "password123");
        assert_eq!(signed_in.status, 303, "{}", signed_in.text);
        assert_eq!(signed_in.header("location"), Some("/"));
        let cookie = b
            .set_cookies
            .iter()
            .find(|c| c.starts_with("_tinforge_session="))
            .unwrap()
            .clone();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain http: {cookie}");
        let home = b.get("/");
        assert_eq!(home.status, 200);
        assert!(home.text.contains("Your projects"));
        // The session cookie is for the pages only: the API does not take it.
        let api = s
            .request("GET", "/api/v4/user")
            .set(
                "Cookie",
                &format!("_tinforge_session={}", b.cookies["_tinforge_session"]),
            )
            .call();
        assert_eq!(Reply::from(api).status, 401);
        // Sign-out without the form's token changes nothing; with it, the session ends.
        let forged = b.post("/users/sign_out", &[("authenticity_token", "forged")]);
        assert_eq!(forged.status, 403);
        assert_eq!(b.get("/").status, 200);
        let session = b.cookies["_tinforge_session"].clone();
        let out = b.post("/users/sign_out", &[]);
        assert_eq!(out.status, 303);
        let mut replay = Browser::new(&s);
        replay.cookies.insert("_tinforge_session".into(), session);
        assert_eq!(
            replay.get(TOKENS).status,
            303,
            "an ended session is signed out"
        );
        assert_eq!(
            s.sql("UPDATE web_sessions SET ip = ip WHERE revoked_at IS NOT NULL"),
            1,
            "sign-out ended the session row"
        );
    }
}

#[test]
fn tokens_page_creates_escapes_refuses_and_never_shows_a_value_twice() {
    for backend in backends() {
        let s = start(&backend);
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let count = || {
            s.get("/api/v4/personal_access_tokens", &alice)
                .json
                .as_array()
                .unwrap()
                .len()
        };
        s.user("carol");
        let carol = s.legacy_token("carol", "api");
        let secret = s.call(
            "POST",
            "/api/v4/projects",
            Some(&carol),
            Some(json!({"name": "secret", "visibility": "private"})),
        );
        assert_eq!(secret.status, 201);
        let mut b = Browser::new(&s);
        assert_eq!(b.sign_in("alice", "password123").status, 303);
        let page = b.get(TOKENS);
        assert_eq!(page.status, 200);
        assert!(page.text.contains("Add new token"));
        // Without the authenticity token nothing is created.
        let forged = b.post(
            TOKENS,
            &[
                ("authenticity_token", ""),
                ("name", "x"),
                ("token_type", "legacy"),
                ("scopes", "api"),
            ],
        );
        assert_eq!(forged.status, 403);
        assert_eq!(count(), 1, "nothing was created");
        // A boundary naming a project alice cannot see: the form says so, as REST does.
        b.get(TOKENS);
        let hidden = b.post(
            TOKENS,
            &[
                ("name", "peek"),
                ("token_type", "fine_grained"),
                ("boundary", "selected"),
                ("projects", "carol/secret"),
                ("permissions", "issue:read"),
            ],
        );
        assert_eq!(hidden.status, 422);
        assert!(
            hidden.text.contains("project carol/secret not found"),
            "{}",
            hidden.text
        );
        assert!(
            hidden.text.contains("value=\"peek\""),
            "the form keeps what was posted"
        );
        let unknown = b.post(
            TOKENS,
            &[
                ("name", "odd"),
                ("token_type", "fine_grained"),
                ("boundary", "all_memberships"),
                ("permissions", "user:delete"),
            ],
        );
        assert_eq!(unknown.status, 422);
        assert!(
            unknown.text.contains("valid permissions"),
            "{}",
            unknown.text
        );
        // A good one: shown once, escaped everywhere, never again.
        let created = b.post(
            TOKENS,
            &[
                ("name", "<script>alert(1)</script>"),
                ("expires_at", ""),
                ("token_type", "fine_grained"),
                ("boundary", "personal_projects"),
                ("permissions", "issue:read"),
                ("permissions", "project:read"),
            ],
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let value = shown_token(&created.text).expect("the value is shown");
        assert!(!created.text.contains("<script>alert(1)</script>"));
        let listed = b.get(TOKENS);
        assert!(
            !listed.text.contains("<script>alert"),
            "escaped in the table"
        );
        assert!(listed.text.contains("&#60;script&#62;"), "{}", listed.text);
        assert!(!listed.text.contains(&value), "never shown again");
        assert_eq!(s.get("/api/v4/projects", &value).status, 200);
        assert_eq!(count(), 2);
        // Revoke goes through a confirmation page, then a form post.
        let listed = s.get("/api/v4/personal_access_tokens", &alice);
        let token_id = listed
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "<script>alert(1)</script>")
            .expect("listed by its own name")["id"]
            .as_i64()
            .unwrap();
        let confirm = b.get(&format!("{TOKENS}/{token_id}/revoke"));
        assert_eq!(confirm.status, 200);
        assert!(confirm.text.contains("Revoke token"));
        let revoked = b.post(&format!("{TOKENS}/{token_id}/revoke"), &[]);
        assert_eq!(revoked.status, 303);
        assert_eq!(s.get("/api/v4/projects", &value).status, 401);
        // Someone else's token does not exist here.
        let carol_id = s.get("/api/v4/personal_access_tokens/self", &carol).json["id"]
            .as_i64()
            .unwrap();
        assert_eq!(b.get(&format!("{TOKENS}/{carol_id}/revoke")).status, 404);
        b.get(TOKENS);
        assert_eq!(
            b.post(&format!("{TOKENS}/{carol_id}/revoke"), &[]).status,
            404
        );
        assert_eq!(s.get("/api/v4/projects", &carol).status, 200);
    }
}

#[test]
fn project_pages_are_judged_like_the_api() {
    for backend in backends() {
        let s = start(&backend);
        s.user("alice");
        s.user("guest");
        s.user("stranger");
        let api = s.legacy_token("alice", "api");
        let p = s.call(
            "POST",
            "/api/v4/projects",
            Some(&api),
            Some(json!({"name": "anvil", "visibility": "private"})),
        );
        assert_eq!(p.status, 201);
        let guest_id = s.get("/api/v4/users?username=guest", &api).json[0]["id"].clone();
        let m = s.call(
            "POST",
            "/api/v4/projects/alice%2Fanvil/members",
            Some(&api),
            Some(json!({"user_id": guest_id, "access_level": 10})),
        );
        assert_eq!(m.status, 201, "{}", m.text);
        let issue = s.call(
            "POST",
            "/api/v4/projects/alice%2Fanvil/issues",
            Some(&api),
            Some(json!({"title": "Rust <b>bold</b>"})),
        );
        assert_eq!(issue.status, 201);

        let mut owner = Browser::new(&s);
        owner.sign_in("alice", "password123");
        let home = owner.get("/");
        assert!(home.text.contains("alice/anvil"), "{}", home.text);
        assert_eq!(owner.get("/alice/anvil").status, 200);
        let issues = owner.get("/alice/anvil/-/issues");
        assert_eq!(issues.status, 200);
        assert!(issues.text.contains("/alice/anvil/-/issues/1"));
        assert!(!issues.text.contains("<b>bold</b>"));
        assert_eq!(owner.get("/alice/anvil/-/issues/1").status, 200);
        assert_eq!(owner.get("/alice/anvil/-/issues/99").status, 404);
        assert_eq!(owner.get("/alice/anvil/-/pipelines").status, 200);
        assert_eq!(owner.get("/alice/anvil/-/merge_requests").status, 200);
        assert_eq!(owner.get("/alice/anvil/container_registry").status, 200);

        let mut guest = Browser::new(&s);
        guest.sign_in("guest", "password123");
        assert_eq!(guest.get("/alice/anvil/-/issues").status, 200);
        assert_eq!(guest.get("/alice/anvil/-/pipelines").status, 403);

        let mut stranger = Browser::new(&s);
        stranger.sign_in("stranger", "password123");
        let hidden = stranger.get("/alice/anvil");
        let missing = stranger.get("/alice/nothing");
        assert_eq!(hidden.status, 404);
        assert_eq!(missing.status, 404);
        assert_eq!(
            hidden.text, missing.text,
            "a hidden project looks like a missing one"
        );

        // Signed out, a project page asks to sign in; the API keeps its own 404 body.
        let mut anonymous = Browser::new(&s);
        assert_eq!(anonymous.get("/alice/anvil").status, 404);
        let api_404 = s.call("GET", "/api/v4/no/such/route", None, None);
        assert_eq!(api_404.status, 404);
        assert!(api_404.json.is_object(), "{}", api_404.text);
        // The pages are declared endpoints: they appear in the coverage report as surface web.
        let report = s.get("/api/v4/token_coverage", &api);
        let web: Vec<_> = report.json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["surface"] == "web")
            .collect();
        assert!(
            web.iter()
                .any(|e| e["path"] == TOKENS && e["method"] == "POST")
        );
        assert!(
            web.iter()
                .any(|e| e["path"] == "/{project_path:.+}/-/pipelines"
                    && e["permissions"] == json!(["pipeline:read"]))
        );
        assert!(web.iter().any(|e| e["credential"] == "password"));
        assert!(report.json["by_surface"]["web"]["total"].as_u64().unwrap() >= 15);
    }
}

#[test]
fn every_web_page_and_action_is_closed_to_anonymous_callers() {
    let s = start(&Backend::Sqlite);
    s.user("alice");
    let api = s.legacy_token("alice", "api");
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(&api),
        Some(json!({"name": "anvil", "visibility": "private"})),
    );
    assert_eq!(p.status, 201);
    let report = s.get("/api/v4/token_coverage", &api);
    let pages: Vec<(String, String, String)> = report.json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["surface"] == "web")
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["credential"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(pages.len() >= 15, "{pages:?}");
    for (method, pattern, credential) in pages {
        let path = pattern
            .replace("{project_path:.+}", "alice/anvil")
            .replace("{iid}", "1")
            .replace("{pipeline_id}", "1")
            .replace("{token_id}", "1");
        let mut anonymous = Browser::new(&s);
        let r = match method.as_str() {
            "GET" => anonymous.get(&path),
            _ => anonymous.post(&path, &[("authenticity_token", "x")]),
        };
        if credential == "password" {
            // The sign-in form and its action: open, and a bad form is refused.
            assert!(
                matches!(r.status, 200 | 403),
                "{method} {path}: {}",
                r.status
            );
            continue;
        }
        let private_project = pattern.contains("{project_path");
        let expected = if private_project { 404 } else { 303 };
        assert_eq!(r.status, expected, "{method} {path}: {}", r.text);
        if expected == 303 {
            assert!(
                r.header("location").unwrap().starts_with("/users/sign_in"),
                "{method} {path}"
            );
        }
    }
}
