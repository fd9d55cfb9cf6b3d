//! Groups and namespaces over REST: creation (subgroups need Maintainer+ on the parent),
//! visibility, lists with the token's eyes, rename, cascading delete, bad input.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn enc(path: &str) -> String {
    path.replace('/', "%2F")
}

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

fn group(s: &Server, token: &str, body: Value) -> Value {
    let r = post(s, "/api/v4/groups", token, body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn add_member(s: &Server, token: &str, group: i64, user: i64, level: i64) {
    let r = post(
        s,
        &format!("/api/v4/groups/{group}/members"),
        token,
        json!({"user_id": user, "access_level": level}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn full_paths(r: &Reply) -> Vec<String> {
    let mut out: Vec<String> = r
        .json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|g| g["full_path"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn anon(s: &Server, path: &str) -> Reply {
    s.call("GET", path, None, None)
}

#[test]
fn groups_and_subgroups_are_created_with_their_creator_as_owner() {
    each_backend(|s: &Server| {
        let alice_id = s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let acme = group(
            s,
            &alice,
            json!({"name": "Acme Corp", "path": "acme", "visibility": "public",
                   "description": "tools"}),
        );
        assert_eq!(acme["full_path"], "acme");
        assert_eq!(acme["full_name"], "Acme Corp");
        assert_eq!(acme["parent_id"], Value::Null);
        assert_eq!(acme["visibility"], "public");
        assert_eq!(acme["description"], "tools");
        assert!(acme["web_url"].as_str().unwrap().ends_with("/groups/acme"));
        assert!(acme["created_at"].is_string());
        let acme_id = acme["id"].as_i64().unwrap();
        let tools = group(
            s,
            &alice,
            json!({"name": "Tools", "path": "tools", "parent_id": acme_id}),
        );
        assert_eq!(tools["full_path"], "acme/tools");
        assert_eq!(tools["full_name"], "Acme Corp / Tools");
        assert_eq!(tools["parent_id"], acme_id);
        assert_eq!(tools["visibility"], "private");
        // parent_id may also be a full path.
        let deep = group(
            s,
            &alice,
            json!({"name": "deep", "parent_id": "acme/tools"}),
        );
        assert_eq!(deep["full_path"], "acme/tools/deep");
        let by_path = s.get(
            &format!("/api/v4/groups/{}", enc("acme/tools/deep")),
            &alice,
        );
        assert_eq!(by_path.status, 200);
        assert_eq!(by_path.json["id"], deep["id"]);
        assert_eq!(by_path.header("x-accepted-permissions"), Some("group:read"));
        assert_eq!(s.get("/api/v4/groups/acme", &alice).json["id"], acme_id);
        let owners = s.get(&format!("/api/v4/groups/{acme_id}/members"), &alice);
        assert_eq!(owners.json.as_array().unwrap().len(), 1);
        assert_eq!(owners.json[0]["id"], alice_id);
        assert_eq!(owners.json[0]["access_level"], 50);

        // Subgroups need Maintainer+ on the parent: 403 on a visible parent, 404 on a hidden one.
        let sub = |token: &str, parent: Value| {
            post(
                s,
                "/api/v4/groups",
                token,
                json!({"name": format!("s{}", next()), "parent_id": parent}),
            )
        };
        let r = sub(&bob, json!(acme_id));
        assert_eq!(r.status, 403, "{}", r.text);
        let r = sub(&bob, tools["id"].clone());
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"message": "404 Group Not Found"}));
        assert_eq!(
            sub(&bob, json!(987654)).json,
            json!({"message": "404 Group Not Found"})
        );
        add_member(s, &alice, acme_id, bob_id, 30);
        assert_eq!(sub(&bob, json!(acme_id)).status, 403, "Developer may not");
        s.call(
            "PUT",
            &format!("/api/v4/groups/{acme_id}/members/{bob_id}"),
            Some(&alice),
            Some(json!({"access_level": 40})),
        );
        let made = sub(&bob, json!(acme_id));
        assert_eq!(made.status, 201, "{}", made.text);
        // Inherited Maintainer reaches the subgroup's subgroups too.
        assert_eq!(sub(&bob, tools["id"].clone()).status, 201);
        // A fine-grained token creates a subgroup only inside its boundary.
        let fg = s.fine_token(
            "alice",
            "group:create",
            "selected",
            &["--group", "acme/tools"],
        );
        let outside = sub(&fg, json!(acme_id));
        assert_eq!(outside.status, 403, "{}", outside.text);
        assert_eq!(outside.json["error"], "outside_boundary");
        assert_eq!(sub(&fg, tools["id"].clone()).status, 201);
        assert_eq!(
            s.call("POST", "/api/v4/groups", None, Some(json!({"name": "x"})))
                .status,
            401
        );
    });
}

fn next() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn bad_group_input_is_refused_field_by_field() {
    each_backend(|s: &Server| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let private = group(s, &alice, json!({"name": "closed"}))["id"].clone();
        group(s, &alice, json!({"name": "taken"}));
        let cases = [
            (json!({}), "error"),
            (json!({"name": "x", "path": "a/b"}), "path"),
            (json!({"name": "x", "path": "-x"}), "path"),
            (json!({"name": "taken"}), "path"),
            (json!({"name": "alice"}), "path"),
            (json!({"name": "api"}), "path"),
            (json!({"name": "x", "visibility": "open"}), "error"),
            (
                json!({"name": "x", "parent_id": private, "visibility": "public"}),
                "visibility_level",
            ),
            (json!({"name": "x", "parent_id": {"id": 1}}), "error"),
            (json!({"name": "bad/name"}), "name"),
        ];
        for (body, field) in cases {
            let r = post(s, "/api/v4/groups", &alice, body.clone());
            assert_eq!(r.status, 400, "{body}: {}", r.text);
            if field == "error" {
                assert!(r.json["error"].is_string(), "{body}: {}", r.text);
            } else {
                assert!(r.json["message"][field].is_array(), "{body}: {}", r.text);
            }
        }
        let taken = post(s, "/api/v4/groups", &alice, json!({"name": "taken"}));
        assert_eq!(
            taken.json,
            json!({"message": {"path": ["has already been taken"]}})
        );
        // A username and a top-level group share one path space.
        let user_named = s.cli(&[
            "user",
            "create",
            "--username",
            "taken",
            "--password",
            "password123",
        ]);
        assert!(!user_named.status.success());
        assert_eq!(
            s.get("/api/v4/groups", &alice).header("x-total"),
            Some("2"),
            "nothing half-written"
        );
        let put = s.call(
            "PUT",
            &format!("/api/v4/groups/{private}"),
            Some(&alice),
            Some(json!({})),
        );
        assert_eq!(put.status, 400);
    });
}

#[test]
fn group_visibility_is_404_for_outsiders_and_403_for_members_without_the_role() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        s.user("carol");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let carol = s.legacy_token("carol", "api");
        let secret = group(s, &alice, json!({"name": "secret"}))["id"]
            .as_i64()
            .unwrap();
        let url = format!("/api/v4/groups/{secret}");
        let missing = anon(s, "/api/v4/groups/987654");
        assert_eq!(missing.json, json!({"message": "404 Group Not Found"}));
        for r in [
            anon(s, &url),
            anon(s, "/api/v4/groups/secret"),
            s.get(&url, &carol),
            s.call("PUT", &url, Some(&carol), Some(json!({"description": "x"}))),
            s.call("DELETE", &url, Some(&carol), None),
            s.get(&format!("{url}/subgroups"), &carol),
            s.get(&format!("{url}/projects"), &carol),
        ] {
            assert_eq!(r.status, 404, "{}", r.text);
            assert_eq!(r.text, missing.text);
        }
        add_member(s, &alice, secret, bob_id, 40);
        assert_eq!(s.get(&url, &bob).status, 200);
        // Editing and deleting a group take Owner.
        let edit = s.call("PUT", &url, Some(&bob), Some(json!({"description": "x"})));
        assert_eq!(edit.status, 403);
        assert_eq!(edit.json, json!({"message": "403 Forbidden"}));
        assert_eq!(s.call("DELETE", &url, Some(&bob), None).status, 403);
        let edit = s.call(
            "PUT",
            &url,
            Some(&alice),
            Some(json!({"description": "new", "name": "Secret Team", "visibility": "internal"})),
        );
        assert_eq!(edit.status, 200, "{}", edit.text);
        assert_eq!(edit.json["description"], "new");
        assert_eq!(edit.json["name"], "Secret Team");
        assert_eq!(edit.json["visibility"], "internal");
        // Internal: signed-in users read; anonymous callers do not.
        assert_eq!(s.get(&url, &carol).status, 200);
        assert_eq!(anon(s, &url).status, 404);
        assert_eq!(
            s.call("PUT", &url, Some(&carol), Some(json!({"description": "x"})))
                .status,
            403
        );
        s.call(
            "PUT",
            &url,
            Some(&alice),
            Some(json!({"visibility": "public"})),
        );
        assert_eq!(anon(s, &url).status, 200);
        assert_eq!(
            s.call("PUT", &url, None, Some(json!({"description": "x"})))
                .status,
            401
        );
        // read_api reads but does not write.
        let read = s.legacy_token("alice", "read_api");
        assert_eq!(s.get(&url, &read).status, 200);
        let r = s.call("PUT", &url, Some(&read), Some(json!({"description": "x"})));
        assert_eq!(r.status, 403);
        assert_eq!(r.json["error"], "insufficient_scope");
    });
}

#[test]
fn group_lists_show_only_what_the_caller_and_token_may_see() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let carol_id = s.user("carol");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let carol = s.legacy_token("carol", "api");
        let open = group(s, &alice, json!({"name": "open", "visibility": "public"}))["id"]
            .as_i64()
            .unwrap();
        group(
            s,
            &alice,
            json!({"name": "inside", "visibility": "internal"}),
        );
        let closed = group(s, &alice, json!({"name": "closed"}))["id"]
            .as_i64()
            .unwrap();
        group(s, &alice, json!({"name": "sub", "parent_id": closed}));
        group(s, &bob, json!({"name": "bobs"}));
        add_member(s, &alice, open, carol_id, 10);

        assert_eq!(full_paths(&anon(s, "/api/v4/groups")), ["open"]);
        // Signed-in users see their groups by default, every visible group with all_available.
        assert_eq!(full_paths(&s.get("/api/v4/groups", &bob)), ["bobs"]);
        assert_eq!(
            full_paths(&s.get("/api/v4/groups?all_available=true", &bob)),
            ["bobs", "inside", "open"]
        );
        assert_eq!(
            full_paths(&s.get("/api/v4/groups", &alice)),
            ["closed", "closed/sub", "inside", "open"]
        );
        assert_eq!(full_paths(&s.get("/api/v4/groups", &carol)), ["open"]);
        assert_eq!(s.get("/api/v4/groups?owned=true", &carol).json, json!([]));
        assert_eq!(
            s.get("/api/v4/groups?min_access_level=10", &carol)
                .json
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.get("/api/v4/groups?min_access_level=20", &carol).json,
            json!([])
        );
        assert_eq!(
            full_paths(&s.get("/api/v4/groups?search=LOS", &alice)),
            ["closed"]
        );
        assert_eq!(
            full_paths(&s.get("/api/v4/groups?top_level_only=true", &alice)),
            ["closed", "inside", "open"]
        );
        let names: Vec<_> = s
            .get("/api/v4/groups?order_by=name&sort=desc", &alice)
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["sub", "open", "inside", "closed"]);
        let page = s.get("/api/v4/groups?per_page=3", &alice);
        assert_eq!(page.header("x-total"), Some("4"));
        assert_eq!(page.header("x-total-pages"), Some("2"));
        assert_eq!(page.header("x-next-page"), Some("2"));
        assert_eq!(page.json.as_array().unwrap().len(), 3);

        // A fine-grained token lists private groups only inside its boundary.
        let selected = s.fine_token("alice", "group:read", "selected", &["--group", "closed"]);
        assert_eq!(
            full_paths(&s.get("/api/v4/groups", &selected)),
            ["closed", "closed/sub", "open"]
        );
        let personal = s.fine_token("alice", "group:read", "personal_projects", &[]);
        assert_eq!(full_paths(&s.get("/api/v4/groups", &personal)), ["open"]);
        let none = s.fine_token("alice", "project:read", "all_memberships", &[]);
        assert_eq!(full_paths(&s.get("/api/v4/groups", &none)), ["open"]);
        let legacy_user = s.legacy_token("alice", "read_user");
        assert_eq!(s.get("/api/v4/groups", &legacy_user).status, 403);

        // Subgroups and descendants of a group, filtered the same way.
        let subs = s.get(&format!("/api/v4/groups/{closed}/subgroups"), &alice);
        assert_eq!(full_paths(&subs), ["closed/sub"]);
        let desc = s.get(
            &format!("/api/v4/groups/{closed}/descendant_groups"),
            &selected,
        );
        assert_eq!(full_paths(&desc), ["closed/sub"]);
        // The single group shows its projects the caller may see.
        let p = post(
            s,
            "/api/v4/projects",
            &alice,
            json!({"name": "p", "namespace_id": closed}),
        );
        assert_eq!(p.status, 201);
        let one = s.get(&format!("/api/v4/groups/{closed}"), &alice);
        assert_eq!(one.json["projects"][0]["path_with_namespace"], "closed/p");
        let no_projects = s.fine_token("alice", "group:read", "all_memberships", &[]);
        let one = s.get(&format!("/api/v4/groups/{closed}"), &no_projects);
        assert_eq!(one.status, 200);
        assert_eq!(one.json["projects"], json!([]));
    });
}

#[test]
fn renaming_moves_the_subtree_and_deleting_removes_it() {
    each_backend(|s: &Server| {
        s.user("alice");
        let maint_id = s.user("maint");
        let alice = s.legacy_token("alice", "api");
        let maint = s.legacy_token("maint", "api");
        let top = group(s, &alice, json!({"name": "top", "visibility": "public"}))["id"]
            .as_i64()
            .unwrap();
        let mid = group(
            s,
            &alice,
            json!({"name": "mid", "parent_id": top, "visibility": "public"}),
        )["id"]
            .as_i64()
            .unwrap();
        let p = post(
            s,
            "/api/v4/projects",
            &alice,
            json!({"name": "leaf", "namespace_id": mid, "visibility": "public"}),
        );
        assert_eq!(p.status, 201);
        let pid = p.json["id"].as_i64().unwrap();
        // A group may not become less visible than what it holds.
        let r = s.call(
            "PUT",
            &format!("/api/v4/groups/{mid}"),
            Some(&alice),
            Some(json!({"visibility": "private"})),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.json["message"]["visibility_level"].is_array());
        let r = s.call(
            "PUT",
            &format!("/api/v4/groups/{top}"),
            Some(&alice),
            Some(json!({"path": "summit"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["full_path"], "summit");
        let moved = s.get(&format!("/api/v4/projects/{pid}"), &alice);
        assert_eq!(moved.json["path_with_namespace"], "summit/mid/leaf");
        assert_eq!(moved.json["namespace"]["full_path"], "summit/mid");
        assert_eq!(
            s.get(&format!("/api/v4/groups/{}", enc("summit/mid")), &alice)
                .status,
            200
        );
        assert_eq!(
            s.get(&format!("/api/v4/groups/{}", enc("top/mid")), &alice)
                .status,
            404
        );
        let ns = s.get(&format!("/api/v4/namespaces/{}", enc("summit/mid")), &alice);
        assert_eq!(ns.json["id"], mid);

        add_member(s, &alice, top, maint_id, 40);
        assert_eq!(
            s.call(
                "DELETE",
                &format!("/api/v4/groups/{top}"),
                Some(&maint),
                None
            )
            .status,
            403
        );
        let gone = s.call(
            "DELETE",
            &format!("/api/v4/groups/{top}"),
            Some(&alice),
            None,
        );
        assert_eq!(gone.status, 202);
        assert_eq!(gone.json, json!({"message": "202 Accepted"}));
        for url in [
            format!("/api/v4/groups/{top}"),
            format!("/api/v4/groups/{mid}"),
            format!("/api/v4/projects/{pid}"),
        ] {
            assert_eq!(s.get(&url, &alice).status, 404, "{url}");
        }
        assert_eq!(
            s.get("/api/v4/groups?all_available=true", &alice).json,
            json!([])
        );
        // Everything is gone, so the paths are free again.
        let again = group(s, &alice, json!({"name": "summit"}))["id"]
            .as_i64()
            .unwrap();
        group(s, &alice, json!({"name": "mid", "parent_id": again}));
    });
}

#[test]
fn namespaces_list_the_personal_namespace_and_groups() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let acme = group(s, &alice, json!({"name": "acme"}))["id"]
            .as_i64()
            .unwrap();
        group(s, &bob, json!({"name": "bobs"}));
        let list = s.get("/api/v4/namespaces", &alice);
        assert_eq!(list.status, 200);
        let items = list.json.as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["kind"], "user");
        assert_eq!(items[0]["full_path"], "alice");
        assert_eq!(items[1]["kind"], "group");
        assert_eq!(items[1]["id"], acme);
        assert_ne!(items[0]["id"], items[1]["id"]);
        let own = items[0]["id"].as_i64().unwrap();
        assert_eq!(
            s.get(&format!("/api/v4/namespaces/{own}"), &alice).json["path"],
            "alice"
        );
        let hidden = s.get(&format!("/api/v4/namespaces/{own}"), &bob);
        assert_eq!(hidden.status, 404);
        assert_eq!(hidden.json, json!({"message": "404 Namespace Not Found"}));
        assert_eq!(s.get("/api/v4/namespaces/bobs", &alice).status, 404);
        assert_eq!(
            s.get("/api/v4/namespaces?search=acm", &alice)
                .json
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(anon(s, "/api/v4/namespaces").status, 401);
        // A project created with the listed id lands in the personal namespace.
        let p = post(
            s,
            "/api/v4/projects",
            &alice,
            json!({"name": "p", "namespace_id": own}),
        );
        assert_eq!(p.json["path_with_namespace"], "alice/p");
    });
}
