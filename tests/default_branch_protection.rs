//! The instance's default-branch protection (`TINFORGE_DEFAULT_BRANCH_PROTECTION`, GitLab's
//! `default_branch_protection`) on SQLite and PostgreSQL: `full` protects a new project's default
//! branch for Maintainers (REST and GraphQL creation alike), `partial` lets Developers push but
//! keeps force-pushes out, `none` (the default) protects nothing; an unknown value stops the
//! server from starting.

mod common;

use common::{Server, backends};
use serde_json::{Value, json};

fn each_backend_with(setting: &str, test: impl Fn(&Server)) {
    for backend in backends() {
        let s = Server::start(&backend, &[("TINFORGE_DEFAULT_BRANCH_PROTECTION", setting)]);
        eprintln!("-- on {:?} with {setting}", s.backend_name());
        test(&s);
    }
}

/// alice's project `alice/p` with bob as a Developer; returns (alice's token, bob's, project id).
fn world(s: &Server) -> (String, String, i64) {
    s.user("alice");
    let bob_id = s.user("bob");
    let alice = s.legacy_token("alice", "api");
    let bob = s.legacy_token("bob", "api");
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(&alice),
        Some(json!({"name": "p", "path": "p"})),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    let id = p.json["id"].as_i64().unwrap();
    let m = s.call(
        "POST",
        &format!("/api/v4/projects/{id}/members"),
        Some(&alice),
        Some(json!({"user_id": bob_id, "access_level": 30})),
    );
    assert_eq!(m.status, 201, "{}", m.text);
    (alice, bob, id)
}

fn protections(s: &Server, token: &str, id: i64) -> Value {
    let r = s.get(&format!("/api/v4/projects/{id}/protected_branches"), token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

fn write(s: &Server, token: &str, id: i64, branch: &str, file: &str) -> u16 {
    s.call(
        "POST",
        &format!("/api/v4/projects/{id}/repository/files/{file}"),
        Some(token),
        Some(
            json!({"branch": branch, "start_branch": "main", "content": file,
                    "commit_message": file}),
        ),
    )
    .status
}

#[test]
fn full_protection_keeps_developers_off_the_default_branch() {
    each_backend_with("full", |s| {
        let (alice, bob, id) = world(s);
        let list = protections(s, &alice, id);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["name"], "main");
        assert_eq!(list[0]["push_access_levels"][0]["access_level"], 40);
        assert_eq!(list[0]["merge_access_levels"][0]["access_level"], 40);
        assert_eq!(list[0]["allow_force_push"], false);

        // The Owner seeds main; a Developer may not push to it, only beside it.
        assert_eq!(write(s, &alice, id, "main", "README.md"), 201);
        assert_eq!(write(s, &bob, id, "main", "bob.md"), 403);
        assert_eq!(write(s, &bob, id, "feature", "bob.md"), 201);
        // Protecting it again is the conflict GitLab answers after the first push.
        let again = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/protected_branches"),
            Some(&alice),
            Some(json!({"name": "main"})),
        );
        assert_eq!(again.status, 409, "{}", again.text);

        // A project made over GraphQL is protected the same way.
        let r = s.call(
            "POST",
            "/api/graphql",
            Some(&alice),
            Some(json!({"query": r#"mutation { projectCreate(input: {name: "g", path: "g"}) { errors project { id } } }"#})),
        );
        assert_eq!(
            r.json["data"]["projectCreate"]["errors"],
            json!([]),
            "{}",
            r.text
        );
        let g = s.get("/api/v4/projects/alice%2Fg", &alice);
        let list = protections(s, &alice, g.json["id"].as_i64().unwrap());
        assert_eq!(list[0]["name"], "main", "{list}");
    });
}

#[test]
fn partial_protection_lets_developers_push() {
    each_backend_with("partial", |s| {
        let (alice, bob, id) = world(s);
        let list = protections(s, &alice, id);
        assert_eq!(
            list[0]["push_access_levels"][0]["access_level"], 30,
            "{list}"
        );
        assert_eq!(write(s, &alice, id, "main", "README.md"), 201);
        assert_eq!(write(s, &bob, id, "main", "bob.md"), 201);
    });
}

#[test]
fn no_protection_by_default_and_unknown_settings_are_refused() {
    each_backend_with("none", |s| {
        let (alice, bob, id) = world(s);
        assert_eq!(protections(s, &alice, id), json!([]));
        assert_eq!(write(s, &alice, id, "main", "README.md"), 201);
        assert_eq!(write(s, &bob, id, "main", "bob.md"), 201);
        let out = s.cli(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--default-branch-protection",
            "total",
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("possible values: none, partial, full"),
            "{err}"
        );
    });
}
