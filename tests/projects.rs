//! Projects over REST: creation in personal and group namespaces, GitLab's JSON, visibility (404
//! versus 403) for every kind of caller, fine-grained boundaries, list filters and pagination
//! (offset and keyset), bad input; the repository created and removed with the project.

mod common;

use common::git::{clone_url, git, try_git};
use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn enc(path: &str) -> String {
    path.replace('/', "%2F")
}

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

/// Creates a group as `token`'s user; returns its id.
fn group(s: &Server, token: &str, body: Value) -> i64 {
    let r = post(s, "/api/v4/groups", token, body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// Creates a project; returns its JSON.
fn project(s: &Server, token: &str, body: Value) -> Value {
    let r = post(s, "/api/v4/projects", token, body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn add_member(s: &Server, token: &str, kind: &str, id: i64, user: i64, level: i64) {
    let r = post(
        s,
        &format!("/api/v4/{kind}/{id}/members"),
        token,
        json!({"user_id": user, "access_level": level}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn paths(r: &Reply) -> Vec<String> {
    let mut out: Vec<String> = r
        .json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn anon(s: &Server, path: &str) -> Reply {
    s.call("GET", path, None, None)
}

#[test]
fn personal_and_group_projects_in_gitlab_shape() {
    each_backend(|s: &Server| {
        let alice_id = s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let p = project(s, &alice, json!({"name": "My Project"}));
        assert_eq!(p["path"], "my-project");
        assert_eq!(p["path_with_namespace"], "alice/my-project");
        assert_eq!(p["name_with_namespace"], "alice / My Project");
        assert_eq!(p["visibility"], "private");
        assert_eq!(p["default_branch"], "main");
        assert_eq!(p["namespace"]["kind"], "user");
        assert_eq!(p["namespace"]["full_path"], "alice");
        assert_eq!(p["namespace"]["parent_id"], Value::Null);
        assert_eq!(p["owner"]["username"], "alice");
        assert_eq!(p["creator_id"], alice_id);
        assert_eq!(p["permissions"]["project_access"]["access_level"], 50);
        assert!(
            p["http_url_to_repo"]
                .as_str()
                .unwrap()
                .ends_with("/alice/my-project.git")
        );
        assert!(
            p["web_url"]
                .as_str()
                .unwrap()
                .ends_with("/alice/my-project")
        );
        // The personal namespace id is the one GET /namespaces reports, and differs from groups'.
        let namespaces = s.get("/api/v4/namespaces", &alice);
        assert_eq!(namespaces.status, 200, "{}", namespaces.text);
        assert_eq!(namespaces.json[0]["kind"], "user");
        assert_eq!(namespaces.json[0]["id"], p["namespace"]["id"]);

        // Only a path: the name is the path.
        let q = project(
            s,
            &alice,
            json!({"path": "tool_2", "visibility": "public",
                                           "description": "d", "default_branch": "trunk",
                                           "initialize_with_readme": true}),
        );
        assert_eq!(q["name"], "tool_2");
        assert_eq!(q["description"], "d");
        assert_eq!(q["default_branch"], "trunk");

        let acme = group(
            s,
            &alice,
            json!({"name": "Acme", "path": "acme", "visibility": "public"}),
        );
        assert_ne!(json!(acme), p["namespace"]["id"]);
        let sub = group(
            s,
            &alice,
            json!({"name": "Tools", "path": "tools", "parent_id": acme}),
        );
        let g = project(s, &alice, json!({"name": "Anvil", "namespace_id": sub}));
        assert_eq!(g["path_with_namespace"], "acme/tools/anvil");
        assert_eq!(g["name_with_namespace"], "Acme / Tools / Anvil");
        assert_eq!(g["namespace"]["kind"], "group");
        assert_eq!(g["namespace"]["id"], sub);
        assert_eq!(g["namespace"]["parent_id"], acme);
        assert_eq!(g["namespace"]["full_path"], "acme/tools");
        assert_eq!(g["owner"], Value::Null);
        assert_eq!(g["permissions"]["group_access"]["access_level"], 50);
        // namespace_id also takes a full path (python-gitlab passes ids; scripts pass paths).
        let by_path = project(
            s,
            &alice,
            json!({"name": "Vise", "namespace_id": "acme/tools"}),
        );
        assert_eq!(by_path["namespace"]["id"], sub);

        // Addressed by id or by URL-encoded full path.
        let id = g["id"].as_i64().unwrap();
        let by_id = s.get(&format!("/api/v4/projects/{id}"), &alice);
        let by_full = s.get(
            &format!("/api/v4/projects/{}", enc("acme/tools/anvil")),
            &alice,
        );
        assert_eq!(by_id.status, 200);
        assert_eq!(by_full.status, 200);
        assert_eq!(by_id.json["id"], by_full.json["id"]);
        assert_eq!(by_id.header("x-accepted-permissions"), Some("project:read"));
        assert_eq!(s.get("/api/v4/projects/anvil", &alice).status, 404);
    });
}

#[test]
fn bad_input_is_a_clear_4xx_and_writes_nothing() {
    each_backend(|s: &Server| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let private = group(s, &alice, json!({"name": "Secret", "path": "secret"}));
        project(s, &alice, json!({"name": "taken"}));
        let count = || {
            s.get("/api/v4/projects?owned=true", &alice)
                .header("x-total")
                .unwrap()
                .to_string()
        };
        let before = count();
        let cases = [
            (json!({}), 400, "error"),
            (json!({"name": "  "}), 400, "error"),
            (json!({"name": "x", "path": "-bad"}), 400, "path"),
            (json!({"name": "x", "path": "a b"}), 400, "path"),
            (json!({"name": "x", "path": "x.git"}), 400, "path"),
            (json!({"name": "-x"}), 400, "name"),
            (json!({"name": 123}), 400, "error"),
            (json!({"name": "taken"}), 400, "path"),
            (json!({"name": "x", "visibility": "secret"}), 400, "error"),
            (
                json!({"name": "x", "default_branch": "bad branch"}),
                400,
                "default_branch",
            ),
            (
                json!({"name": "x", "namespace_id": private, "visibility": "public"}),
                400,
                "visibility_level",
            ),
            (json!({"name": "x", "namespace_id": 987654}), 404, "message"),
            (
                json!({"name": "x", "namespace_id": "nowhere"}),
                404,
                "message",
            ),
            (json!({"name": "x", "namespace_id": [1]}), 400, "error"),
        ];
        for (body, status, field) in cases {
            let r = post(s, "/api/v4/projects", &alice, body.clone());
            assert_eq!(r.status, status, "{body}: {}", r.text);
            match field {
                "error" => assert!(r.json["error"].is_string(), "{body}: {}", r.text),
                "message" => assert_eq!(r.json["message"], "404 Namespace Not Found"),
                f => assert!(r.json["message"][f].is_array(), "{body}: {}", r.text),
            }
        }
        let taken = post(s, "/api/v4/projects", &alice, json!({"name": "taken"}));
        assert_eq!(
            taken.json,
            json!({"message": {"path": ["has already been taken"]}})
        );
        assert_eq!(count(), before);
        // A malformed body and a bad PUT.
        let broken = common::Reply::from(
            s.request("POST", "/api/v4/projects")
                .set("PRIVATE-TOKEN", &alice)
                .set("Content-Type", "application/json")
                .send_string("{"),
        );
        assert_eq!(broken.status, 400);
        let p = s.get(&format!("/api/v4/projects/{}", enc("alice/taken")), &alice);
        let id = p.json["id"].as_i64().unwrap();
        let empty = s.call(
            "PUT",
            &format!("/api/v4/projects/{id}"),
            Some(&alice),
            Some(json!({})),
        );
        assert_eq!(empty.status, 400);
        assert!(
            empty.json["error"]
                .as_str()
                .unwrap()
                .contains("at least one parameter")
        );
        let bad_vis = s.call(
            "PUT",
            &format!("/api/v4/projects/{id}"),
            Some(&alice),
            Some(json!({"visibility": "everyone"})),
        );
        assert_eq!(bad_vis.status, 400);
        assert!(!s.log().contains("panicked"));
        assert!(!s.log().contains("500 Internal"));
    });
}

#[test]
fn visibility_answers_404_to_those_who_cannot_read_and_403_to_those_who_cannot_act() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let carol_id = s.user("carol");
        s.user("dave");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let carol = s.legacy_token("carol", "api");
        let dave = s.legacy_token("dave", "api");
        let secret = project(s, &alice, json!({"name": "secret"}));
        let id = secret["id"].as_i64().unwrap();
        let url = format!("/api/v4/projects/{id}");
        add_member(s, &alice, "projects", id, bob_id, 10);
        add_member(s, &alice, "projects", id, carol_id, 40);

        let missing = anon(s, "/api/v4/projects/987654");
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json, json!({"message": "404 Project Not Found"}));
        for reply in [
            anon(s, &url),
            anon(s, &format!("/api/v4/projects/{}", enc("alice/secret"))),
            s.get(&url, &dave),
            s.call("PUT", &url, Some(&dave), Some(json!({"description": "x"}))),
            s.call("DELETE", &url, Some(&dave), None),
            s.call("PUT", &url, None, Some(json!({"description": "x"}))),
        ] {
            assert_eq!(reply.status, 404, "{}", reply.text);
            assert_eq!(reply.text, missing.text);
        }
        // A Guest reads, but may not edit.
        assert_eq!(s.get(&url, &bob).status, 200);
        let guest_edit = s.call("PUT", &url, Some(&bob), Some(json!({"description": "x"})));
        assert_eq!(guest_edit.status, 403);
        assert_eq!(guest_edit.json, json!({"message": "403 Forbidden"}));
        // A Maintainer edits settings, but not visibility or path, and does not delete.
        let edit = s.call(
            "PUT",
            &url,
            Some(&carol),
            Some(
                json!({"description": "by carol", "name": "Secret Sauce", "default_branch": "dev"}),
            ),
        );
        assert_eq!(edit.status, 200, "{}", edit.text);
        assert_eq!(edit.json["description"], "by carol");
        assert_eq!(edit.json["name"], "Secret Sauce");
        assert_eq!(edit.json["default_branch"], "dev");
        for body in [json!({"visibility": "public"}), json!({"path": "moved"})] {
            let r = s.call("PUT", &url, Some(&carol), Some(body));
            assert_eq!(r.status, 403, "{}", r.text);
        }
        // Repeating the current visibility is not a visibility change.
        let same = s.call(
            "PUT",
            &url,
            Some(&carol),
            Some(json!({"visibility": "private"})),
        );
        assert_eq!(same.status, 200, "{}", same.text);
        assert_eq!(s.call("DELETE", &url, Some(&carol), None).status, 403);
        // The owner changes visibility; now everyone reads, but only members act.
        let public = s.call(
            "PUT",
            &url,
            Some(&alice),
            Some(json!({"visibility": "public"})),
        );
        assert_eq!(public.status, 200, "{}", public.text);
        assert_eq!(public.json["visibility"], "public");
        assert_eq!(anon(s, &url).status, 200);
        assert_eq!(s.get(&url, &dave).status, 200);
        let anon_edit = s.call("PUT", &url, None, Some(json!({"description": "x"})));
        assert_eq!(anon_edit.status, 401);
        let dave_edit = s.call("PUT", &url, Some(&dave), Some(json!({"description": "x"})));
        assert_eq!(dave_edit.status, 403);
        assert_eq!(s.call("DELETE", &url, Some(&dave), None).status, 403);
        // Internal: every signed-in user, no anonymous.
        let internal = s.call(
            "PUT",
            &url,
            Some(&alice),
            Some(json!({"visibility": "internal"})),
        );
        assert_eq!(internal.status, 200);
        assert_eq!(anon(s, &url).status, 404);
        assert_eq!(s.get(&url, &dave).status, 200);
        // Rename by the owner; the old path is gone.
        let moved = s.call("PUT", &url, Some(&alice), Some(json!({"path": "moved"})));
        assert_eq!(moved.json["path_with_namespace"], "alice/moved");
        assert_eq!(
            s.get(&format!("/api/v4/projects/{}", enc("alice/moved")), &alice)
                .status,
            200
        );
        assert_eq!(
            s.get(&format!("/api/v4/projects/{}", enc("alice/secret")), &alice)
                .status,
            404
        );

        let deleted = s.call("DELETE", &url, Some(&alice), None);
        assert_eq!(deleted.status, 202);
        assert_eq!(deleted.json, json!({"message": "202 Accepted"}));
        assert_eq!(s.get(&url, &alice).status, 404);
        assert_eq!(s.get(&format!("{url}/members"), &alice).status, 404);
        // The path is free again.
        project(s, &alice, json!({"name": "moved"}));
    });
}

#[test]
fn legacy_scopes_read_api_reads_and_api_writes() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let read = s.legacy_token("alice", "read_api");
        let user_only = s.legacy_token("alice", "read_user");
        let p = project(s, &api, json!({"name": "p"}));
        let url = format!("/api/v4/projects/{}", p["id"]);
        assert_eq!(s.get(&url, &read).status, 200);
        assert_eq!(s.get("/api/v4/projects", &read).status, 200);
        for r in [
            s.call("PUT", &url, Some(&read), Some(json!({"description": "x"}))),
            post(s, "/api/v4/projects", &read, json!({"name": "q"})),
            s.call("DELETE", &url, Some(&read), None),
        ] {
            assert_eq!(r.status, 403, "{}", r.text);
            assert_eq!(r.json["error"], "insufficient_scope");
        }
        let listed = s.get("/api/v4/projects", &user_only);
        assert_eq!(listed.status, 403);
        assert_eq!(listed.json["missing"], json!(["project:read"]));
        assert_eq!(s.get(&url, &user_only).status, 403);
    });
}

/// alice: personal `alice/mine` (private); private group `acme` with subgroup `acme/tools` and
/// project `acme/tools/hammer`; private group `other` with `other/p`; public `pub/open`.
fn boundaries_fixture(s: &Server) -> String {
    s.user("alice");
    let alice = s.legacy_token("alice", "api");
    project(s, &alice, json!({"name": "mine"}));
    let acme = group(s, &alice, json!({"name": "acme"}));
    let tools = group(s, &alice, json!({"name": "tools", "parent_id": acme}));
    project(s, &alice, json!({"name": "hammer", "namespace_id": tools}));
    let other = group(s, &alice, json!({"name": "other"}));
    project(s, &alice, json!({"name": "p", "namespace_id": other}));
    let public = group(s, &alice, json!({"name": "pub", "visibility": "public"}));
    project(
        s,
        &alice,
        json!({"name": "open", "namespace_id": public, "visibility": "public"}),
    );
    alice
}

#[test]
fn fine_grained_tokens_see_only_inside_their_boundaries() {
    each_backend(|s: &Server| {
        let alice = boundaries_fixture(s);
        let all = paths(&s.get("/api/v4/projects", &alice));
        assert_eq!(
            all,
            ["acme/tools/hammer", "alice/mine", "other/p", "pub/open"]
        );
        let cases: [(&str, &[&str], &[&str]); 4] = [
            ("personal_projects", &[], &["alice/mine", "pub/open"]),
            (
                "all_memberships",
                &[],
                &["acme/tools/hammer", "alice/mine", "other/p", "pub/open"],
            ),
            (
                "selected",
                &["--group", "acme"],
                &["acme/tools/hammer", "pub/open"],
            ),
            (
                "selected",
                &["--project", "other/p"],
                &["other/p", "pub/open"],
            ),
        ];
        for (boundary, extra, expected) in cases {
            let t = s.fine_token("alice", "project:read", boundary, extra);
            let listed = s.get("/api/v4/projects", &t);
            assert_eq!(listed.status, 200, "{}", listed.text);
            assert_eq!(paths(&listed), expected, "{boundary} {extra:?}");
            assert_eq!(
                listed.header("x-total"),
                Some(expected.len().to_string().as_str())
            );
            for p in ["acme/tools/hammer", "alice/mine", "other/p", "pub/open"] {
                let r = s.get(&format!("/api/v4/projects/{}", enc(p)), &t);
                let want = if expected.contains(&p) { 200 } else { 404 };
                assert_eq!(r.status, want, "{boundary} {extra:?} {p}: {}", r.text);
                if want == 404 {
                    assert_eq!(r.json, json!({"message": "404 Project Not Found"}));
                }
            }
        }
        // Without project:read a fine-grained token lists what anonymous callers see.
        let no_read = s.fine_token("alice", "issue:read", "all_memberships", &[]);
        assert_eq!(paths(&s.get("/api/v4/projects", &no_read)), ["pub/open"]);
        assert_eq!(paths(&anon(s, "/api/v4/projects")), ["pub/open"]);
        let denied = s.get(&format!("/api/v4/projects/{}", enc("alice/mine")), &no_read);
        assert_eq!(denied.status, 403, "{}", denied.text);
        assert_eq!(denied.json["missing"], json!(["project:read"]));
        // Group project lists go through the same filter.
        let selected = s.fine_token(
            "alice",
            "project:read",
            "selected",
            &["--project", "other/p"],
        );
        let in_acme = s.get(
            "/api/v4/groups/acme/projects?include_subgroups=true",
            &selected,
        );
        assert_eq!(in_acme.status, 404, "{}", in_acme.text);
        let via_group = s.fine_token("alice", "project:read", "selected", &["--group", "acme"]);
        let in_acme = s.get(
            "/api/v4/groups/acme/projects?include_subgroups=true",
            &via_group,
        );
        assert_eq!(paths(&in_acme), ["acme/tools/hammer"]);
        let direct_only = s.get("/api/v4/groups/acme/projects", &via_group);
        assert_eq!(direct_only.json, json!([]));
    });
}

#[test]
fn project_creation_is_judged_on_the_namespace() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let acme = group(s, &alice, json!({"name": "acme", "visibility": "public"}));
        let hidden = group(s, &alice, json!({"name": "hidden"}));
        let into = |token: &str, ns: Value| {
            post(
                s,
                "/api/v4/projects",
                token,
                json!({"name": format!("p{}", rand()), "namespace_id": ns}),
            )
        };
        // Visible group, no role: 403; invisible group or another user's namespace: 404.
        assert_eq!(into(&bob, json!(acme)).status, 403);
        let r = into(&bob, json!(hidden));
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"message": "404 Namespace Not Found"}));
        assert_eq!(into(&bob, json!("alice")).status, 404);
        add_member(s, &alice, "groups", acme, bob_id, 20);
        assert_eq!(
            into(&bob, json!(acme)).status,
            403,
            "Reporter may not create"
        );
        let put = s.call(
            "PUT",
            &format!("/api/v4/groups/{acme}/members/{bob_id}"),
            Some(&alice),
            Some(json!({"access_level": 30})),
        );
        assert_eq!(put.status, 200);
        let created = into(&bob, json!(acme));
        assert_eq!(created.status, 201, "{}", created.text);
        // The Developer who created it maintains it.
        let pid = created.json["id"].as_i64().unwrap();
        let me = s.get(&format!("/api/v4/projects/{pid}/members/{bob_id}"), &bob);
        assert_eq!(me.json["access_level"], 40);
        assert_eq!(
            created.json["permissions"]["group_access"]["access_level"],
            30
        );

        // Fine-grained: project:create reaches a namespace inside the boundary only.
        let personal = s.fine_token(
            "alice",
            "project:create,project:read",
            "personal_projects",
            &[],
        );
        assert_eq!(
            post(s, "/api/v4/projects", &personal, json!({"name": "fg1"})).status,
            201
        );
        let r = into(&personal, json!(hidden));
        assert_eq!(r.status, 404, "{}", r.text);
        let selected = s.fine_token(
            "alice",
            "project:create",
            "selected",
            &["--group", "hidden"],
        );
        assert_eq!(into(&selected, json!(hidden)).status, 201);
        assert_eq!(
            post(s, "/api/v4/projects", &selected, json!({"name": "fg2"})).status,
            404
        );
        let no_create = s.fine_token("alice", "project:read", "all_memberships", &[]);
        let r = post(s, "/api/v4/projects", &no_create, json!({"name": "fg3"}));
        assert_eq!(r.status, 403);
        assert_eq!(r.json["missing"], json!(["project:create"]));
        let anon_create = s.call("POST", "/api/v4/projects", None, Some(json!({"name": "x"})));
        assert_eq!(anon_create.status, 401);
    });
}

fn rand() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn inherited_membership_reaches_subgroup_projects() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let acme = group(s, &alice, json!({"name": "acme"}));
        let tools = group(s, &alice, json!({"name": "tools", "parent_id": acme}));
        project(s, &alice, json!({"name": "hammer", "namespace_id": tools}));
        let url = format!("/api/v4/projects/{}", enc("acme/tools/hammer"));
        assert_eq!(s.get(&url, &bob).status, 404);
        add_member(s, &alice, "groups", acme, bob_id, 30);
        let seen = s.get(&url, &bob);
        assert_eq!(seen.status, 200);
        assert_eq!(seen.json["permissions"]["project_access"], Value::Null);
        assert_eq!(seen.json["permissions"]["group_access"]["access_level"], 30);
        assert_eq!(
            paths(&s.get("/api/v4/projects?membership=true", &bob)),
            ["acme/tools/hammer"]
        );
        assert_eq!(
            s.get("/api/v4/projects?min_access_level=40", &bob).json,
            json!([])
        );
        assert_eq!(s.get("/api/v4/projects?owned=true", &bob).json, json!([]));
        let edit = s.call("PUT", &url, Some(&bob), Some(json!({"description": "x"})));
        assert_eq!(edit.status, 403);
        let all = s.get(&format!("{url}/members/all"), &bob);
        let bob_row = all
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == bob_id)
            .cloned();
        assert_eq!(bob_row.unwrap()["access_level"], 30);
        // A fine-grained token of bob's with all_memberships reaches it through the group too.
        let fg = s.fine_token("bob", "project:read", "all_memberships", &[]);
        assert_eq!(s.get(&url, &fg).status, 200);
        // An expired membership grants nothing.
        s.sql(&format!(
            "UPDATE members SET expires_at = '2020-01-01' WHERE user_id = {bob_id}"
        ));
        assert_eq!(s.get(&url, &bob).status, 404);
    });
}

#[test]
fn lists_filter_sort_and_paginate_like_gitlab() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        for (name, vis) in [
            ("delta", "public"),
            ("alpha", "public"),
            ("charlie", "internal"),
            ("bravo", "private"),
            ("echo", "public"),
        ] {
            project(s, &alice, json!({"name": name, "visibility": vis}));
        }
        // Anonymous: public only; another user: public and internal; alice: all.
        assert_eq!(anon(s, "/api/v4/projects").header("x-total"), Some("3"));
        assert_eq!(s.get("/api/v4/projects", &bob).header("x-total"), Some("4"));
        assert_eq!(
            s.get("/api/v4/projects", &alice).header("x-total"),
            Some("5")
        );
        let names = |r: &Reply| -> Vec<String> {
            r.json
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        let by_name = s.get("/api/v4/projects?order_by=name&sort=asc", &alice);
        assert_eq!(
            names(&by_name),
            ["alpha", "bravo", "charlie", "delta", "echo"]
        );
        let desc = s.get("/api/v4/projects?order_by=name&sort=desc", &alice);
        assert_eq!(names(&desc), ["echo", "delta", "charlie", "bravo", "alpha"]);
        // Default: newest first.
        assert_eq!(names(&s.get("/api/v4/projects", &alice))[0], "echo");
        assert_eq!(
            names(&s.get("/api/v4/projects?search=RAV", &alice)),
            ["bravo"]
        );
        assert_eq!(
            s.get("/api/v4/projects?search=a%25", &alice).json,
            json!([])
        );
        let public = s.get(
            "/api/v4/projects?visibility=public&order_by=name&sort=asc",
            &alice,
        );
        assert_eq!(names(&public), ["alpha", "delta", "echo"]);
        let simple = s.get("/api/v4/projects?simple=true", &alice);
        assert!(simple.json[0].get("visibility").is_none());
        assert!(simple.json[0]["path_with_namespace"].is_string());

        // Offset pagination headers.
        let page = s.get(
            "/api/v4/projects?order_by=name&sort=asc&per_page=2&page=2",
            &alice,
        );
        assert_eq!(names(&page), ["charlie", "delta"]);
        assert_eq!(page.header("x-total"), Some("5"));
        assert_eq!(page.header("x-total-pages"), Some("3"));
        assert_eq!(page.header("x-page"), Some("2"));
        assert_eq!(page.header("x-next-page"), Some("3"));
        assert_eq!(page.header("x-prev-page"), Some("1"));
        let link = page.header("link").unwrap();
        assert!(
            link.contains("page=3") && link.contains("rel=\"next\""),
            "{link}"
        );
        assert!(link.contains("order_by=name"), "{link}");
        let capped = s.get("/api/v4/projects?per_page=500", &alice);
        assert_eq!(capped.header("x-per-page"), Some("100"));
        let head = common::Reply::from(
            s.request("HEAD", "/api/v4/projects")
                .set("PRIVATE-TOKEN", &alice)
                .call(),
        );
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-total"), Some("5"));
        for bad in [
            "order_by=stars",
            "sort=up",
            "visibility=secret",
            "per_page=0",
            "min_access_level=15",
            "pagination=cursor",
        ] {
            let r = s.get(&format!("/api/v4/projects?{bad}"), &alice);
            assert_eq!(r.status, 400, "{bad}: {}", r.text);
            assert!(
                r.json["error"].as_str().unwrap().contains("valid value"),
                "{bad}"
            );
        }

        // Keyset: only a Link header, followed to the end.
        for (sort, key) in [("asc", "id_after"), ("desc", "id_before")] {
            let mut url =
                format!("/api/v4/projects?pagination=keyset&order_by=id&sort={sort}&per_page=2");
            let mut seen: Vec<i64> = Vec::new();
            let mut pages = 0;
            loop {
                let r = s.get(&url, &alice);
                assert_eq!(r.status, 200, "{}", r.text);
                assert_eq!(r.header("x-total"), None);
                assert_eq!(r.header("x-total-pages"), None);
                seen.extend(
                    r.json
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["id"].as_i64().unwrap()),
                );
                pages += 1;
                let Some(link) = r.header("link") else { break };
                assert!(
                    link.contains(key) && link.ends_with("rel=\"next\""),
                    "{link}"
                );
                let next = link.trim_start_matches('<').split('>').next().unwrap();
                url = next
                    .strip_prefix(&s.url)
                    .expect("link on the server's URL")
                    .to_string();
                assert!(pages < 10);
            }
            assert_eq!(seen.len(), 5);
            assert_eq!(pages, 3);
            let mut sorted = seen.clone();
            sorted.sort();
            if sort == "desc" {
                sorted.reverse();
            }
            assert_eq!(seen, sorted);
        }
        let unsupported = s.get("/api/v4/projects?pagination=keyset&order_by=name", &alice);
        assert_eq!(unsupported.status, 405);
        assert_eq!(
            unsupported.json,
            json!({"error": "Keyset pagination is not yet available for this type of request"})
        );
        let groups = s.get("/api/v4/groups?pagination=keyset", &alice);
        assert_eq!(groups.status, 405);

        // A user's personal projects, as others see them.
        assert_eq!(
            anon(s, "/api/v4/users/alice/projects").header("x-total"),
            Some("3")
        );
        assert_eq!(
            s.get("/api/v4/users/alice/projects", &alice)
                .header("x-total"),
            Some("5")
        );
        assert_eq!(s.get("/api/v4/users/bob/projects", &alice).json, json!([]));
        let nobody = s.get("/api/v4/users/nobody/projects", &alice);
        assert_eq!(nobody.status, 404);
        assert_eq!(nobody.json, json!({"message": "404 User Not Found"}));
    });
}

#[test]
fn admins_see_everything_only_in_admin_mode() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.admin("root");
        let alice = s.legacy_token("alice", "api");
        let plain = s.legacy_token("root", "api");
        let admin = s.legacy_token("root", "api,admin_mode");
        project(s, &alice, json!({"name": "secret"}));
        let url = format!("/api/v4/projects/{}", enc("alice/secret"));
        assert_eq!(s.get(&url, &plain).status, 404);
        assert_eq!(s.get("/api/v4/projects", &plain).json, json!([]));
        assert_eq!(s.get(&url, &admin).status, 200);
        assert_eq!(paths(&s.get("/api/v4/projects", &admin)), ["alice/secret"]);
        // In admin mode, a project may go into another user's namespace; it is theirs.
        let made = post(
            s,
            "/api/v4/projects",
            &admin,
            json!({"name": "gift", "namespace_id": "alice"}),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        assert_eq!(made.json["owner"]["username"], "alice");
        assert_eq!(
            s.get(&format!("/api/v4/projects/{}", enc("alice/gift")), &alice)
                .status,
            200
        );
        let refused = post(
            s,
            "/api/v4/projects",
            &plain,
            json!({"name": "x", "namespace_id": "alice"}),
        );
        assert_eq!(refused.status, 404);
    });
}

#[test]
fn a_project_comes_and_goes_with_its_repository() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(
            s,
            &t,
            json!({"name": "Repo", "path": "repo", "default_branch": "trunk"}),
        );
        let id = p["id"].as_i64().unwrap();
        let repo = s.data_dir().join("repositories").join(format!("{id}.git"));
        assert!(repo.join("HEAD").is_file(), "created with the project");
        assert_eq!(
            std::fs::read_to_string(repo.join("HEAD")).unwrap().trim(),
            "ref: refs/heads/trunk"
        );

        // The empty repository clones at once.
        let dir = tempfile::tempdir().unwrap();
        let url = clone_url(s, &t, "alice/repo");
        let out = git(dir.path(), &["clone", &url, "c"]);
        assert!(out.contains("empty repository"), "{out}");
        assert!(dir.path().join("c/.git").is_dir());
        assert_eq!(p["empty_repo"], true, "{p}");

        // A first commit makes it non-empty (`empty_repo`, as clients check before seeding).
        let r = post(
            s,
            &format!("/api/v4/projects/{id}/repository/files/README.md"),
            &t,
            json!({"branch": "trunk", "content": "hi", "commit_message": "init"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let shown = s.get(&format!("/api/v4/projects/{id}"), &t);
        assert_eq!(shown.json["empty_repo"], false, "{}", shown.text);

        // GraphQL's projectCreate makes the repository too.
        let r = post(
            s,
            "/api/graphql",
            &t,
            json!({"query": r#"mutation { projectCreate(input: {name: "Gql", path: "gql"}) { errors project { id } } }"#}),
        );
        assert_eq!(
            r.json["data"]["projectCreate"]["errors"],
            json!([]),
            "{}",
            r.text
        );
        let gid = r.json["data"]["projectCreate"]["project"]["id"]
            .as_str()
            .unwrap();
        let gql_id = gid.rsplit('/').next().unwrap();
        assert!(
            s.data_dir()
                .join("repositories")
                .join(format!("{gql_id}.git/HEAD"))
                .is_file()
        );

        // Deleting the project removes its repository; the clone URL is gone.
        let r = s.call("DELETE", &format!("/api/v4/projects/{id}"), Some(&t), None);
        assert_eq!(r.status, 202, "{}", r.text);
        assert!(!repo.exists(), "removed with the project");
        let failed = try_git(dir.path(), &["clone", &url, "again"]).unwrap_err();
        assert!(
            failed.contains("404") || failed.contains("not found"),
            "{failed}"
        );

        // Deleting a group removes the repositories of the projects in it and its subgroups.
        let g = group(s, &t, json!({"name": "g", "path": "g"}));
        let sub = group(s, &t, json!({"name": "s", "path": "s", "parent_id": g}));
        let repos: Vec<_> = [g, sub]
            .into_iter()
            .map(|ns| {
                let id = project(s, &t, json!({"name": "p", "namespace_id": ns}))["id"].clone();
                s.data_dir().join("repositories").join(format!("{id}.git"))
            })
            .collect();
        assert!(repos.iter().all(|r| r.exists()));
        let r = s.call("DELETE", &format!("/api/v4/groups/{g}"), Some(&t), None);
        assert_eq!(r.status, 202, "{}", r.text);
        assert!(repos.iter().all(|r| !r.exists()), "removed with the group");
    });
}
