//! How credentials are read and refused: every accepted source, two at once, garbage, bad input,
//! and that no token ever reaches the log.

mod common;

use base64::Engine;
use common::{Server, each_backend};
use serde_json::json;

#[test]
fn every_credential_source_works() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "read_user");
        let via = |req: ureq::Request| common::Reply::from(req.call());
        let r = via(s.request("GET", "/api/v4/user").set("PRIVATE-TOKEN", &t));
        assert_eq!(r.json["username"], "alice");
        let r = via(s
            .request("GET", "/api/v4/user")
            .set("Authorization", &format!("Bearer {t}")));
        assert_eq!(r.json["username"], "alice");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("anyone:{t}"));
        let r = via(s
            .request("GET", "/api/v4/user")
            .set("Authorization", &format!("Basic {basic}")));
        assert_eq!(r.json["username"], "alice");
        let r = via(s.request("GET", &format!("/api/v4/user?private_token={t}")));
        assert_eq!(r.json["username"], "alice");
        assert_eq!(r.header("x-accepted-permissions"), Some("user:read"));
        // The token in the query never reaches the log.
        assert!(!s.log().contains(&t));
    });
}

#[test]
fn unusable_credentials_are_401() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let other = s.legacy_token("alice", "api");
        let none = s.call("GET", "/api/v4/user", None, None);
        assert_eq!(none.status, 401);
        assert_eq!(none.json, json!({"message": "401 Unauthorized"}));
        assert!(none.header("www-authenticate").is_some());
        // A typo fails the checksum; a well-formed unknown token is unknown.
        let mut typo: Vec<char> = t.chars().collect();
        typo[12] = if typo[12] == 'x' { 'y' } else { 'x' };
        let typo: String = typo.into_iter().collect();
        for bad in [
            typo.as_str(),
            "garbage",
            "tfpat-",
            "glpat-abcdefabcdefabcdefabcd",
        ] {
            let r = s.get("/api/v4/user", bad);
            assert_eq!(r.status, 401, "{bad}");
            assert_eq!(r.json["message"], "401 Unauthorized");
        }
        // Two different credentials at once.
        let two = common::Reply::from(
            s.request("GET", "/api/v4/user")
                .set("PRIVATE-TOKEN", &t)
                .set("Authorization", &format!("Bearer {other}"))
                .call(),
        );
        assert_eq!(two.status, 401);
        let two = common::Reply::from(
            s.request("GET", &format!("/api/v4/user?private_token={other}"))
                .set("PRIVATE-TOKEN", &t)
                .call(),
        );
        assert_eq!(two.status, 401);
        // A bad token is never downgraded to anonymous.
        let unknown = s.call("GET", "/api/v4/nothing-here", Some("garbage"), None);
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.json, json!({"error": "404 Not Found"}));
    });
}

#[test]
fn bad_input_gets_a_clear_4xx_and_writes_nothing() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let count = || {
            s.get("/api/v4/personal_access_tokens", &t)
                .header("x-total")
                .map(str::to_string)
        };
        let before = count();
        let post = |body: &str, content_type: &str| {
            common::Reply::from(
                s.request("POST", "/api/v4/user/personal_access_tokens")
                    .set("PRIVATE-TOKEN", &t)
                    .set("Content-Type", content_type)
                    .send_string(body),
            )
        };
        let malformed = post("{\"name\": ", "application/json");
        assert_eq!(malformed.status, 400);
        assert!(malformed.json["error"].as_str().unwrap().contains("JSON"));
        let not_object = post("[1,2]", "application/json");
        assert_eq!(not_object.status, 400);
        let wrong_type = post(
            r#"{"name": "x", "scopes": ["api"], "expires_at": 12}"#,
            "application/json",
        );
        assert_eq!(wrong_type.status, 400);
        assert_eq!(wrong_type.json["error"], "expires_at is invalid");
        let missing_name = post(r#"{"scopes": ["api"]}"#, "application/json");
        assert_eq!(missing_name.status, 400);
        let unknown_scope = post(r#"{"name": "x", "scopes": ["root"]}"#, "application/json");
        assert_eq!(unknown_scope.status, 400);
        let no_scopes = post(r#"{"name": "x"}"#, "application/json");
        assert_eq!(no_scopes.json["error"], "scopes is missing");
        let both = post(
            r#"{"name": "x", "scopes": ["api"], "boundary": "all_memberships", "permissions": ["issue:read"]}"#,
            "application/json",
        );
        assert_eq!(both.status, 400);
        let past = post(
            r#"{"name": "x", "scopes": ["api"], "expires_at": "2020-01-01"}"#,
            "application/json",
        );
        assert_eq!(past.status, 400);
        let far = post(
            r#"{"name": "x", "scopes": ["api"], "expires_at": "2999-01-01"}"#,
            "application/json",
        );
        assert_eq!(far.status, 400);
        assert!(
            far.json["error"]
                .as_str()
                .unwrap()
                .contains("maximum lifetime")
        );
        let huge = format!(
            r#"{{"name": "{}", "scopes": ["api"]}}"#,
            "x".repeat(2 * 1024 * 1024)
        );
        let too_large = post(&huge, "application/json");
        assert_eq!(too_large.status, 413);
        // Form bodies work as GitLab clients send them.
        let form = post(
            "name=form&scopes[]=read_api",
            "application/x-www-form-urlencoded",
        );
        assert_eq!(form.status, 201, "{}", form.text);
        assert_eq!(form.json["scopes"], json!(["read_api"]));
        let after: i64 = count().unwrap().parse().unwrap();
        let before: i64 = before.unwrap().parse().unwrap();
        assert_eq!(after, before + 1);
        // Unknown ids and paging parameters.
        assert_eq!(s.get("/api/v4/personal_access_tokens/abc", &t).status, 404);
        assert_eq!(s.get("/api/v4/users/abc", &t).status, 404);
        let bad_page = s.get("/api/v4/users?per_page=0", &t);
        assert_eq!(bad_page.status, 400);
        assert_eq!(
            bad_page.json["error"],
            "per_page does not have a valid value"
        );
        // A malformed body on a request without a credential is still a 401 first.
        let anon = common::Reply::from(
            s.request("POST", "/api/v4/user/personal_access_tokens")
                .set("Content-Type", "application/json")
                .send_string("{"),
        );
        assert_eq!(anon.status, 401);
        assert!(!s.log().contains("panicked"));
    });
}

#[test]
fn head_answers_wherever_get_does_with_the_same_headers() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let head = common::Reply::from(
            s.request("HEAD", "/api/v4/personal_access_tokens")
                .set("PRIVATE-TOKEN", &t)
                .call(),
        );
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-total"), Some("1"));
        assert!(head.text.is_empty());
        assert!(
            head.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
    });
}
