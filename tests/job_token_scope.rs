//! A project's CI/CD job token scope over REST on both backends, as python-gitlab's
//! `project.job_token_scope` uses it: the inbound setting, and the project and group
//! allowlists (add, list, remove, duplicates, the project itself, targets the caller cannot
//! see), with who may read and change them.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const DEVELOPER: i64 = 30;
const MAINTAINER: i64 = 40;

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

fn project(s: &Server, token: &str, path: &str, visibility: &str) -> i64 {
    let r = post(
        s,
        "/api/v4/projects",
        token,
        json!({"name": path, "path": path, "visibility": visibility}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn group(s: &Server, token: &str, path: &str, visibility: &str) -> i64 {
    let r = post(
        s,
        "/api/v4/groups",
        token,
        json!({"name": path, "path": path, "visibility": visibility}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn add_member(s: &Server, token: &str, project: i64, user: i64, level: i64) {
    let r = post(
        s,
        &format!("/api/v4/projects/{project}/members"),
        token,
        json!({"user_id": user, "access_level": level}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn names(r: &Reply) -> Vec<String> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_inbound_setting_defaults_to_on_and_can_be_turned_off() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", "private");
        let path = format!("/api/v4/projects/{p}/job_token_scope");

        let r = s.get(&path, &t);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json,
            json!({"inbound_enabled": true, "outbound_enabled": false})
        );
        let off = s.call("PATCH", &path, Some(&t), Some(json!({"enabled": false})));
        assert_eq!(off.status, 204, "{}", off.text);
        assert_eq!(off.text, "");
        assert_eq!(s.get(&path, &t).json["inbound_enabled"], false);
        let on = s.call("PATCH", &path, Some(&t), Some(json!({"enabled": "true"})));
        assert_eq!(on.status, 204);
        assert_eq!(s.get(&path, &t).json["inbound_enabled"], true);

        let missing = s.call("PATCH", &path, Some(&t), Some(json!({})));
        assert_eq!(missing.status, 400);
        assert_eq!(missing.json, json!({"error": "enabled is missing"}));
        let bad = s.call(
            "PATCH",
            &path,
            Some(&t),
            Some(json!({"enabled": "sometimes"})),
        );
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json, json!({"error": "enabled is invalid"}));
        assert_eq!(s.get(&path, &t).json["inbound_enabled"], true);
    });
}

#[test]
fn the_project_allowlist_adds_lists_and_removes() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let t = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let p = project(s, &t, "anvil", "private");
        let q = project(s, &t, "bellows", "private");
        let public = project(s, &bob, "open", "public");
        let secret = project(s, &bob, "secret", "private");
        let list = format!("/api/v4/projects/{p}/job_token_scope/allowlist");

        let empty = s.get(&list, &t);
        assert_eq!(empty.status, 200, "{}", empty.text);
        assert_eq!(empty.json, json!([]));
        assert_eq!(empty.header("x-total"), Some("0"));

        let added = post(s, &list, &t, json!({"target_project_id": q}));
        assert_eq!(added.status, 201, "{}", added.text);
        assert_eq!(
            added.json,
            json!({"source_project_id": p, "target_project_id": q})
        );
        // A public project of someone else's can be added too; as a form body.
        let form = Reply::from(
            s.request("POST", &list)
                .set("PRIVATE-TOKEN", &t)
                .send_form(&[("target_project_id", &public.to_string())]),
        );
        assert_eq!(form.status, 201, "{}", form.text);

        let r = s.get(&list, &t);
        assert_eq!(names(&r), ["bellows", "open"]);
        assert_eq!(r.json[0]["id"], q);
        assert_eq!(r.json[0]["path_with_namespace"], "alice/bellows");
        assert_eq!(r.header("x-total"), Some("2"));
        let page = s.get(&format!("{list}?per_page=1&page=2"), &t);
        assert_eq!(names(&page), ["open"]);
        assert_eq!(page.header("x-total-pages"), Some("2"));

        let dup = post(s, &list, &t, json!({"target_project_id": q}));
        assert_eq!(dup.status, 400, "{}", dup.text);
        assert_eq!(
            dup.json,
            json!({"message": "400 Bad request - Target project is already in the job token scope"})
        );
        let itself = post(s, &list, &t, json!({"target_project_id": p}));
        assert_eq!(itself.status, 400, "{}", itself.text);
        assert_eq!(
            itself.json,
            json!({"message": "400 Bad request - Validation failed: Target project can't be the same as the source project"})
        );
        // Unknown and invisible projects are answered alike.
        for id in [secret, 99_999] {
            let r = post(s, &list, &t, json!({"target_project_id": id}));
            assert_eq!(r.status, 404, "{}", r.text);
            assert_eq!(r.json, json!({"message": "404 Project Not Found"}));
        }
        let missing = post(s, &list, &t, json!({}));
        assert_eq!(missing.status, 400);
        assert_eq!(
            missing.json,
            json!({"error": "target_project_id is missing"})
        );
        let bad = post(s, &list, &t, json!({"target_project_id": "seven"}));
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json, json!({"error": "target_project_id is invalid"}));

        let del = s.call("DELETE", &format!("{list}/{q}"), Some(&t), None);
        assert_eq!(del.status, 204, "{}", del.text);
        assert_eq!(names(&s.get(&list, &t)), ["open"]);
        let again = s.call("DELETE", &format!("{list}/{q}"), Some(&t), None);
        assert_eq!(again.status, 400);
        assert_eq!(
            again.json,
            json!({"message": "400 Bad request - Target project is not in the job token scope"})
        );
        assert_eq!(
            s.call("DELETE", &format!("{list}/abc"), Some(&t), None)
                .status,
            400
        );
        // A deleted project leaves the list.
        let gone = s.call(
            "DELETE",
            &format!("/api/v4/projects/{public}"),
            Some(&bob),
            None,
        );
        assert!(gone.status == 202 || gone.status == 204, "{}", gone.text);
        assert_eq!(names(&s.get(&list, &t)), Vec::<String>::new());
    });
}

#[test]
fn the_group_allowlist_adds_lists_and_removes() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let t = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let p = project(s, &t, "anvil", "private");
        let g = group(s, &t, "acme", "private");
        let hidden = group(s, &bob, "bobs", "private");
        let list = format!("/api/v4/projects/{p}/job_token_scope/groups_allowlist");

        assert_eq!(s.get(&list, &t).json, json!([]));
        let added = post(s, &list, &t, json!({"target_group_id": g}));
        assert_eq!(added.status, 201, "{}", added.text);
        assert_eq!(
            added.json,
            json!({"source_project_id": p, "target_group_id": g})
        );
        let r = s.get(&list, &t);
        assert_eq!(names(&r), ["acme"]);
        assert_eq!(r.json[0]["full_path"], "acme");
        let dup = post(s, &list, &t, json!({"target_group_id": g}));
        assert_eq!(dup.status, 400);
        assert_eq!(
            dup.json,
            json!({"message": "400 Bad request - Target group is already in the job token scope"})
        );
        let r = post(s, &list, &t, json!({"target_group_id": hidden}));
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.json, json!({"message": "404 Group Not Found"}));
        // Projects and groups are separate lists.
        assert_eq!(
            s.get(
                &format!("/api/v4/projects/{p}/job_token_scope/allowlist"),
                &t
            )
            .json,
            json!([])
        );
        let del = s.call("DELETE", &format!("{list}/{g}"), Some(&t), None);
        assert_eq!(del.status, 204);
        assert_eq!(s.get(&list, &t).json, json!([]));
        let again = s.call("DELETE", &format!("{list}/{g}"), Some(&t), None);
        assert_eq!(again.status, 400);
        assert_eq!(
            again.json,
            json!({"message": "400 Bad request - Target group is not in the job token scope"})
        );
    });
}

#[test]
fn only_maintainers_with_the_permission_see_and_change_the_scope() {
    each_backend(|s: &Server| {
        s.user("alice");
        let dev = s.user("dev");
        let maint = s.user("maint");
        s.user("stranger");
        let owner = s.legacy_token("alice", "api");
        let p = project(s, &owner, "open", "public");
        let q = project(s, &owner, "other", "public");
        add_member(s, &owner, p, dev, DEVELOPER);
        add_member(s, &owner, p, maint, MAINTAINER);
        let settings = format!("/api/v4/projects/{p}/job_token_scope");
        let list = format!("{settings}/allowlist");

        assert_eq!(s.call("GET", &settings, None, None).status, 401);
        for who in ["dev", "stranger"] {
            let t = s.legacy_token(who, "api");
            let r = s.get(&settings, &t);
            assert_eq!(r.status, 403, "{who}: {}", r.text);
            assert_eq!(s.get(&list, &t).status, 403);
            assert_eq!(
                post(s, &list, &t, json!({"target_project_id": q})).status,
                403
            );
            assert_eq!(
                s.call(
                    "PATCH",
                    &settings,
                    Some(&t),
                    Some(json!({"enabled": false}))
                )
                .status,
                403
            );
        }
        let m = s.legacy_token("maint", "api");
        assert_eq!(s.get(&settings, &m).status, 200);
        assert_eq!(
            post(s, &list, &m, json!({"target_project_id": q})).status,
            201
        );
        let reader = s.fine_token("maint", "project:read", "all_memberships", &[]);
        let r = s.get(&list, &reader);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-accepted-permissions"), Some("project:read"));
        let w = s.call("DELETE", &format!("{list}/{q}"), Some(&reader), None);
        assert_eq!(w.status, 403, "{}", w.text);
        assert_eq!(w.json["missing"], json!(["project:update"]));
        let p2 = s.call(
            "PATCH",
            &settings,
            Some(&reader),
            Some(json!({"enabled": false})),
        );
        assert_eq!(p2.status, 403);
        assert_eq!(s.get(&settings, &m).json["inbound_enabled"], true);
        let issues_only = s.fine_token("maint", "issue:read", "all_memberships", &[]);
        assert_eq!(s.get(&list, &issues_only).status, 403);
        assert_eq!(names(&s.get(&list, &m)), ["other"]);
    });
}
