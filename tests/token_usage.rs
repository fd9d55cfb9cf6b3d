//! The usage record, over-privilege flags, "trim to used" and the token audit log over REST, on
//! both databases: what a token used is counted per permission, project and day (one row, not
//! one per request); trim rotates it into a token holding only that; every token event is
//! readable by the owner and by admins, never by anyone else.

mod common;

use common::*;
use serde_json::{Value, json};

/// alice with a private project `alice/anvil` holding one issue; returns her `api` token.
fn seed(s: &Server) -> String {
    s.user("alice");
    let api = s.legacy_token("alice", "api");
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(&api),
        Some(json!({"name": "anvil", "visibility": "private"})),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    let i = s.call(
        "POST",
        "/api/v4/projects/alice%2Fanvil/issues",
        Some(&api),
        Some(json!({"title": "first"})),
    );
    assert_eq!(i.status, 201, "{}", i.text);
    api
}

/// A fine-grained token of alice's made over REST; returns (id, value).
fn fine(s: &Server, api: &str, boundary: &str, permissions: &[&str]) -> (i64, String) {
    let r = s.call(
        "POST",
        "/api/v4/user/personal_access_tokens",
        Some(api),
        Some(json!({"name": "wide", "boundary": boundary, "permissions": permissions})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.json["id"].as_i64().unwrap(),
        r.json["token"].as_str().unwrap().to_string(),
    )
}

fn permission<'a>(usage: &'a Value, name: &str) -> Option<&'a Value> {
    usage["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["permission"] == name)
}

fn events(s: &Server, token: &str, id: i64) -> Vec<String> {
    let r = s.get(
        &format!("/api/v4/personal_access_tokens/{id}/events"),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn usage_is_counted_per_permission_and_project_in_one_row_a_day() {
    each_backend(|s| {
        let api = seed(s);
        let (id, wide) = fine(
            s,
            &api,
            "all_memberships",
            &["project:read", "issue:read", "issue:delete"],
        );
        for _ in 0..25 {
            assert_eq!(
                s.get("/api/v4/projects/alice%2Fanvil/issues", &wide).status,
                200
            );
        }
        assert_eq!(s.get("/api/v4/projects", &wide).status, 200);
        let usage = s.get(&format!("/api/v4/personal_access_tokens/{id}/usage"), &api);
        assert_eq!(usage.status, 200, "{}", usage.text);
        let issue_read = permission(&usage.json, "issue:read").expect("issue:read used");
        assert_eq!(issue_read["requests"], 25);
        assert_eq!(issue_read["requests_last_30_days"], 25);
        assert_eq!(issue_read["projects"][0]["full_path"], "alice/anvil");
        let project_read = permission(&usage.json, "project:read").expect("project:read used");
        assert_eq!(
            project_read["untargeted"], true,
            "the list acted on no project"
        );
        assert!(permission(&usage.json, "issue:delete").is_none());
        assert_eq!(usage.json["unused"], json!(["issue:delete"]));
        let flags = usage.json["flags"].to_string();
        assert!(flags.contains("never used: issue:delete"), "{flags}");
        assert!(
            flags.contains("boundary all_memberships is wider"),
            "{flags}"
        );
        // 25 requests on one day are one row.
        let rows: Vec<&Value> = usage.json["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["permission"] == "issue:read")
            .collect();
        assert_eq!(rows.len(), 1, "{}", usage.text);
        assert_eq!(rows[0]["requests"], 25);
        assert!(rows[0]["project_id"].is_i64());
        assert!(rows[0]["group_id"].is_null());
        // Nobody else sees it; a token without personal_access_token:read is refused.
        s.user("bob");
        let bob = s.legacy_token("bob", "api");
        assert_eq!(
            s.get(&format!("/api/v4/personal_access_tokens/{id}/usage"), &bob)
                .status,
            404
        );
        assert_eq!(
            s.get(&format!("/api/v4/personal_access_tokens/{id}/usage"), &wide)
                .status,
            403
        );
    });
}

#[test]
fn trim_keeps_only_what_was_used_where_it_was_used() {
    each_backend(|s| {
        let api = seed(s);
        let other = s.call(
            "POST",
            "/api/v4/projects",
            Some(&api),
            Some(json!({"name": "other", "visibility": "private"})),
        );
        assert_eq!(other.status, 201);
        let (id, wide) = fine(
            s,
            &api,
            "all_memberships",
            &["project:read", "issue:read", "issue:create", "issue:delete"],
        );
        assert_eq!(
            s.get("/api/v4/projects/alice%2Fanvil/issues", &wide).status,
            200
        );
        assert_eq!(s.get("/api/v4/projects/alice%2Fother", &wide).status, 200);
        let trimmed = s.call(
            "POST",
            &format!("/api/v4/personal_access_tokens/{id}/trim"),
            Some(&api),
            None,
        );
        assert_eq!(trimmed.status, 200, "{}", trimmed.text);
        let new = trimmed.json["token"].as_str().unwrap().to_string();
        let kept = trimmed.json["trim"]["kept"].to_string();
        assert!(kept.contains("issue:read on alice/anvil"), "{kept}");
        assert!(kept.contains("project:read on alice/other"), "{kept}");
        let removed = trimmed.json["trim"]["removed"].to_string();
        assert!(
            removed.contains("issue:create") && removed.contains("issue:delete"),
            "{removed}"
        );
        // The successor reaches what was used, where it was used, and nothing else.
        assert_eq!(
            s.get("/api/v4/projects/alice%2Fanvil/issues", &new).status,
            200
        );
        assert_eq!(s.get("/api/v4/projects/alice%2Fother", &new).status, 200);
        assert_eq!(
            s.get("/api/v4/projects/alice%2Fother/issues", &new).status,
            403,
            "issue:read was used on anvil only"
        );
        let create = s.call(
            "POST",
            "/api/v4/projects/alice%2Fanvil/issues",
            Some(&new),
            Some(json!({"title": "no"})),
        );
        assert_eq!(create.status, 403, "{}", create.text);
        assert_eq!(create.json["error"], "insufficient_scope");
        // The old value is dead; the trim and the creation are in the family's log.
        assert_eq!(s.get("/api/v4/projects", &wide).status, 401);
        let new_id = trimmed.json["id"].as_i64().unwrap();
        let log = events(s, &api, new_id);
        assert!(log.contains(&"trimmed".to_string()), "{log:?}");
        assert!(log.contains(&"created".to_string()), "{log:?}");
        assert!(log.contains(&"denied".to_string()), "{log:?}");
        // Usage follows the family: the successor's flags see the predecessor's use.
        let usage = s.get(
            &format!("/api/v4/personal_access_tokens/{new_id}/usage"),
            &api,
        );
        assert_eq!(usage.json["unused"], json!([]), "{}", usage.text);
    });
}

#[test]
fn a_token_that_used_nothing_cannot_be_trimmed() {
    each_backend(|s| {
        let api = seed(s);
        let (id, _) = fine(s, &api, "personal_projects", &["issue:read"]);
        let r = s.call(
            "POST",
            &format!("/api/v4/personal_access_tokens/{id}/trim"),
            Some(&api),
            None,
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains("revoke it instead"), "{}", r.text);
        let listed = s.get(&format!("/api/v4/personal_access_tokens/{id}"), &api);
        assert_eq!(
            listed.json["active"], true,
            "a refused trim changes nothing"
        );
    });
}

#[test]
fn token_events_record_denials_rotation_reuse_and_revocation() {
    each_backend(|s| {
        let api = seed(s);
        let (id, narrow) = fine(s, &api, "personal_projects", &["issue:read"]);
        let denied = s.call(
            "POST",
            "/api/v4/projects/alice%2Fanvil/issues",
            Some(&narrow),
            Some(json!({"title": "no"})),
        );
        assert_eq!(denied.status, 403);
        let rotated = s.call(
            "POST",
            &format!("/api/v4/personal_access_tokens/{id}/rotate"),
            Some(&api),
            None,
        );
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        let new = rotated.json["token"].as_str().unwrap().to_string();
        let new_id = rotated.json["id"].as_i64().unwrap();
        // The rotated-away value used again: the whole family is revoked.
        assert_eq!(s.get("/api/v4/projects", &narrow).status, 401);
        assert_eq!(s.get("/api/v4/projects", &new).status, 401);
        let log = events(s, &api, new_id);
        for kind in [
            "created",
            "denied",
            "rotated",
            "reuse_detected",
            "family_revoked",
        ] {
            assert!(log.contains(&kind.to_string()), "{kind} in {log:?}");
        }
        let all = s.get(&format!("/api/v4/personal_access_tokens/{id}/events"), &api);
        let denial = all
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "denied")
            .unwrap();
        assert!(
            denial["detail"]
                .as_str()
                .unwrap()
                .contains("insufficient_scope (missing issue:create)"),
            "{}",
            all.text
        );
        // A plain revocation is logged too.
        let (other, _) = fine(s, &api, "personal_projects", &["issue:read"]);
        let r = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{other}"),
            Some(&api),
            None,
        );
        assert_eq!(r.status, 204);
        assert_eq!(events(s, &api, other), vec!["revoked", "created"]);
        // Admins read everyone's events; others see only their own.
        s.admin("root2");
        let admin = s.legacy_token("root2", "api,admin_mode");
        let everyone = s.get("/api/v4/personal_access_tokens/events", &admin);
        assert_eq!(everyone.status, 200);
        assert!(
            everyone.json.as_array().unwrap().len() >= 7,
            "{}",
            everyone.text
        );
        assert!(everyone.header("x-total").is_some());
        s.user("bob");
        let bob = s.legacy_token("bob", "api");
        let own = s.get("/api/v4/personal_access_tokens/events", &bob);
        assert!(
            own.json
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["user_id"] == own.json[0]["user_id"]),
        );
        assert_eq!(
            s.get(&format!("/api/v4/personal_access_tokens/{id}/events"), &bob)
                .status,
            404
        );
        assert_eq!(
            s.get("/api/v4/personal_access_tokens/events?user_id=1", &bob)
                .status,
            403
        );
    });
}
