//! Runners over REST on SQLite and PostgreSQL: creating runners as a user (project, group and
//! instance runners, each with its role: Maintainer, Owner, admin in admin mode), the caller's
//! and the admin's lists with their filters, details, edit, pause, delete, a project's and a
//! group's available runners, enabling a project runner on another project and disabling it,
//! and the token side: `runner:*` permissions, the legacy `create_runner`/`manage_runner` scopes,
//! fine-grained tokens (runner grants ignore boundaries), runner tokens refused as personal ones.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

fn put(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("PUT", path, Some(token), Some(body))
}

fn delete(s: &Server, path: &str, token: &str) -> Reply {
    s.call("DELETE", path, Some(token), None)
}

fn group(s: &Server, token: &str, path: &str) -> i64 {
    let r = post(
        s,
        "/api/v4/groups",
        token,
        json!({"name": path, "path": path, "visibility": "private"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn project(s: &Server, token: &str, path: &str, namespace: Option<i64>, visibility: &str) -> i64 {
    let mut body = json!({"name": path, "path": path, "visibility": visibility});
    if let Some(ns) = namespace {
        body["namespace_id"] = json!(ns);
    }
    let r = post(s, "/api/v4/projects", token, body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
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

fn create_runner(s: &Server, token: &str, body: Value) -> Reply {
    post(s, "/api/v4/user/runners", token, body)
}

fn created_id(r: &Reply) -> i64 {
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json["token"].as_str().unwrap().starts_with("tfrun-"));
    assert_eq!(r.json["token_expires_at"], Value::Null);
    r.json["id"].as_i64().unwrap()
}

fn ids(r: &Reply) -> Vec<i64> {
    assert_eq!(r.status, 200, "{}", r.text);
    let mut v: Vec<i64> = r
        .json
        .as_array()
        .expect("a list")
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn runners_are_created_listed_edited_and_removed_by_role() {
    each_backend(|s| {
        let alice_id = s.user("alice");
        let bob_id = s.user("bob");
        let dave_id = s.user("dave");
        s.admin("root");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let dave = s.legacy_token("dave", "api");
        let root = s.legacy_token("root", "api,admin_mode");
        let root_plain = s.legacy_token("root", "api");
        let _ = alice_id;

        let acme = group(s, &alice, "acme");
        let app = project(s, &alice, "app", Some(acme), "private");
        let web = project(s, &alice, "web", None, "public");
        add_member(s, &alice, "projects", app, bob_id, 30);

        // A project runner needs Maintainer: alice yes, bob (Developer) no.
        let body = json!({"runner_type": "project_type", "project_id": app,
                          "description": "app runner", "tag_list": ["docker", "linux"],
                          "run_untagged": false, "maximum_timeout": 3600});
        let pr = created_id(&create_runner(s, &alice, body.clone()));
        let denied = create_runner(s, &bob, body);
        assert_eq!(denied.status, 403, "{}", denied.text);
        assert_eq!(denied.json["message"], "403 Forbidden");
        let missing = create_runner(
            s,
            &alice,
            json!({"runner_type": "project_type", "project_id": 999999}),
        );
        assert_eq!(missing.status, 404, "{}", missing.text);
        let bad = create_runner(s, &alice, json!({"runner_type": "bogus"}));
        assert_eq!(bad.status, 400, "{}", bad.text);
        let bad = create_runner(s, &alice, json!({"runner_type": "project_type"}));
        assert_eq!(bad.status, 400, "{}", bad.text);
        let bad = create_runner(
            s,
            &alice,
            json!({"runner_type": "project_type", "project_id": app, "paused": true, "active": true}),
        );
        assert_eq!(bad.status, 400, "{}", bad.text);

        // A group runner needs Owner of the group (dave is a Maintainer there).
        add_member(s, &alice, "groups", acme, dave_id, 40);
        let gbody = json!({"runner_type": "group_type", "group_id": acme, "description": "acme"});
        assert_eq!(create_runner(s, &dave, gbody.clone()).status, 403);
        let gr = created_id(&create_runner(s, &alice, gbody));

        // An instance runner needs an admin in admin mode.
        let ibody = json!({"runner_type": "instance_type", "description": "shared"});
        assert_eq!(create_runner(s, &alice, ibody.clone()).status, 403);
        assert_eq!(create_runner(s, &root_plain, ibody.clone()).status, 403);
        let ir = created_id(&create_runner(s, &root, ibody));

        // Details.
        let d = s.get(&format!("/api/v4/runners/{pr}"), &alice);
        assert_eq!(d.status, 200, "{}", d.text);
        for (k, v) in [
            ("id", json!(pr)),
            ("description", json!("app runner")),
            ("active", json!(true)),
            ("paused", json!(false)),
            ("is_shared", json!(false)),
            ("runner_type", json!("project_type")),
            ("online", json!(false)),
            ("status", json!("never_contacted")),
            ("tag_list", json!(["docker", "linux"])),
            ("run_untagged", json!(false)),
            ("locked", json!(false)),
            ("maximum_timeout", json!(3600)),
            ("access_level", json!("not_protected")),
            ("ip_address", Value::Null),
            ("contacted_at", Value::Null),
        ] {
            assert_eq!(d.json[k], v, "{k}: {}", d.text);
        }
        assert_eq!(d.json["projects"][0]["id"], app);
        assert_eq!(d.json["projects"][0]["path_with_namespace"], "acme/app");
        let g = s.get(&format!("/api/v4/runners/{gr}"), &alice);
        assert_eq!(g.json["groups"][0]["id"], acme, "{}", g.text);
        assert_eq!(g.json["runner_type"], "group_type");
        // bob (Developer on app) may not read the project runner; a stranger does not see it.
        assert_eq!(s.get(&format!("/api/v4/runners/{pr}"), &bob).status, 403);
        s.user("carol");
        let carol = s.legacy_token("carol", "api");
        let hidden = s.get(&format!("/api/v4/runners/{pr}"), &carol);
        assert_eq!(hidden.status, 404, "{}", hidden.text);
        assert_eq!(hidden.json["message"], "404 Runner Not Found");
        assert_eq!(s.get(&format!("/api/v4/runners/{ir}"), &alice).status, 403);
        assert_eq!(s.get(&format!("/api/v4/runners/{ir}"), &root).status, 200);
        assert_eq!(s.get("/api/v4/runners/999999", &alice).status, 404);
        // dave maintains acme, so he reads the group runner but may not edit it (Owner).
        assert_eq!(s.get(&format!("/api/v4/runners/{gr}"), &dave).status, 200);
        assert_eq!(
            put(
                s,
                &format!("/api/v4/runners/{gr}"),
                &dave,
                json!({"description": "x"})
            )
            .status,
            403
        );

        // Lists: the caller's (not instance runners), the admin's (all), with filters.
        assert_eq!(ids(&s.get("/api/v4/runners", &alice)), vec![pr, gr]);
        assert_eq!(ids(&s.get("/api/v4/runners", &carol)), Vec::<i64>::new());
        assert_eq!(
            ids(&s.get("/api/v4/runners?type=group_type", &alice)),
            vec![gr]
        );
        assert_eq!(
            ids(&s.get("/api/v4/runners?tag_list=docker", &alice)),
            vec![pr]
        );
        assert_eq!(
            ids(&s.get("/api/v4/runners?status=never_contacted", &alice)),
            vec![pr, gr]
        );
        assert_eq!(
            ids(&s.get("/api/v4/runners?status=online", &alice)),
            Vec::<i64>::new()
        );
        assert_eq!(s.get("/api/v4/runners?type=bogus", &alice).status, 400);
        assert_eq!(s.get("/api/v4/runners/all", &alice).status, 403);
        assert_eq!(ids(&s.get("/api/v4/runners/all", &root)), vec![pr, gr, ir]);
        assert_eq!(
            ids(&s.get("/api/v4/runners/all?type=instance_type", &root)),
            vec![ir]
        );
        let list = s.get("/api/v4/runners", &alice);
        let first = &list.json[0];
        for k in [
            "id",
            "description",
            "ip_address",
            "active",
            "paused",
            "is_shared",
            "runner_type",
            "name",
            "online",
            "status",
        ] {
            assert!(first.get(k).is_some(), "{k} missing in {first}");
        }
        assert_eq!(list.header("x-total"), Some("2"));

        // A project's runners: its own, its group's, the instance's.
        let pl = s.get(&format!("/api/v4/projects/{app}/runners"), &alice);
        assert_eq!(ids(&pl), vec![pr, gr, ir]);
        assert_eq!(
            ids(&s.get(
                &format!("/api/v4/projects/{app}/runners?scope=shared"),
                &alice
            )),
            vec![ir]
        );
        assert_eq!(
            ids(&s.get(
                &format!("/api/v4/projects/{app}/runners?type=project_type"),
                &alice
            )),
            vec![pr]
        );
        assert_eq!(
            s.get(&format!("/api/v4/projects/{app}/runners"), &bob)
                .status,
            403
        );
        assert_eq!(
            ids(&s.get(&format!("/api/v4/groups/{acme}/runners"), &alice)),
            vec![gr, ir]
        );
        assert_eq!(
            s.get(&format!("/api/v4/groups/{acme}/runners"), &carol)
                .status,
            404
        );

        // Edit and pause.
        let e = put(
            s,
            &format!("/api/v4/runners/{pr}"),
            &alice,
            json!({"description": "renamed", "paused": true, "tag_list": "a, b",
                   "run_untagged": true, "locked": true, "access_level": "ref_protected",
                   "maximum_timeout": 7200}),
        );
        assert_eq!(e.status, 200, "{}", e.text);
        assert_eq!(e.json["description"], "renamed");
        assert_eq!(e.json["paused"], true);
        assert_eq!(e.json["active"], false);
        assert_eq!(e.json["tag_list"], json!(["a", "b"]));
        assert_eq!(e.json["locked"], true);
        assert_eq!(e.json["access_level"], "ref_protected");
        assert_eq!(e.json["maximum_timeout"], 7200);
        assert_eq!(ids(&s.get("/api/v4/runners?paused=true", &alice)), vec![pr]);
        let e = put(
            s,
            &format!("/api/v4/runners/{pr}"),
            &alice,
            json!({"active": true}),
        );
        assert_eq!(e.json["paused"], false, "{}", e.text);
        let bad = put(
            s,
            &format!("/api/v4/runners/{pr}"),
            &alice,
            json!({"access_level": "everyone"}),
        );
        assert_eq!(bad.status, 400, "{}", bad.text);
        let bad = put(
            s,
            &format!("/api/v4/runners/{pr}"),
            &alice,
            json!({"maximum_timeout": 5}),
        );
        assert_eq!(bad.status, 400, "{}", bad.text);
        assert_eq!(
            put(
                s,
                &format!("/api/v4/runners/{pr}"),
                &bob,
                json!({"paused": true})
            )
            .status,
            403
        );

        // Enable the project runner on another project alice maintains; locked runners are not.
        let r = post(
            s,
            &format!("/api/v4/projects/{web}/runners"),
            &alice,
            json!({"runner_id": pr}),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        put(
            s,
            &format!("/api/v4/runners/{pr}"),
            &alice,
            json!({"locked": false}),
        );
        let r = post(
            s,
            &format!("/api/v4/projects/{web}/runners"),
            &alice,
            json!({"runner_id": pr}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["id"], pr);
        let again = post(
            s,
            &format!("/api/v4/projects/{web}/runners"),
            &alice,
            json!({"runner_id": pr}),
        );
        assert_eq!(again.status, 400, "{}", again.text);
        let shared = post(
            s,
            &format!("/api/v4/projects/{web}/runners"),
            &alice,
            json!({"runner_id": ir}),
        );
        assert_eq!(shared.status, 403, "{}", shared.text);
        assert!(ids(&s.get(&format!("/api/v4/projects/{web}/runners"), &alice)).contains(&pr));
        let d = s.get(&format!("/api/v4/runners/{pr}"), &alice);
        assert_eq!(d.json["projects"].as_array().unwrap().len(), 2);
        // bob cannot enable it on his own project: he does not maintain the runner's projects.
        let bobs = project(s, &bob, "bobs", None, "private");
        let r = post(
            s,
            &format!("/api/v4/projects/{bobs}/runners"),
            &bob,
            json!({"runner_id": pr}),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        // Deleting a runner that serves two projects takes an admin; disable it first.
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{pr}"), &alice).status,
            403
        );
        assert_eq!(
            delete(s, &format!("/api/v4/projects/{web}/runners/{pr}"), &alice).status,
            204
        );
        assert_eq!(
            delete(s, &format!("/api/v4/projects/{web}/runners/{pr}"), &alice).status,
            404
        );
        let last = delete(s, &format!("/api/v4/projects/{app}/runners/{pr}"), &alice);
        assert_eq!(last.status, 403, "{}", last.text);

        // Delete.
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{pr}"), &bob).status,
            403
        );
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{pr}"), &alice).status,
            204
        );
        assert_eq!(s.get(&format!("/api/v4/runners/{pr}"), &alice).status, 404);
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{gr}"), &dave).status,
            403
        );
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{gr}"), &alice).status,
            204
        );
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{ir}"), &alice).status,
            403
        );
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{ir}"), &root).status,
            204
        );
        assert_eq!(ids(&s.get("/api/v4/runners/all", &root)), Vec::<i64>::new());
    });
}

#[test]
fn runner_permissions_scopes_and_tokens() {
    each_backend(|s| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let app = project(s, &alice, "app", None, "private");
        let body = json!({"runner_type": "project_type", "project_id": app});

        // Legacy scopes: create_runner creates, manage_runner reads/edits/deletes, read_api reads.
        let creator = s.legacy_token("alice", "create_runner");
        let manager = s.legacy_token("alice", "manage_runner");
        let reader = s.legacy_token("alice", "read_api");
        let id = created_id(&create_runner(s, &creator, body.clone()));
        let r = create_runner(s, &manager, body.clone());
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json["error"], "insufficient_scope", "{}", r.text);
        assert_eq!(r.header("x-accepted-permissions"), Some("runner:create"));
        assert_eq!(create_runner(s, &reader, body.clone()).status, 403);
        assert_eq!(
            s.get(&format!("/api/v4/runners/{id}"), &manager).status,
            200
        );
        assert_eq!(s.get(&format!("/api/v4/runners/{id}"), &reader).status, 200);
        assert_eq!(
            s.get(&format!("/api/v4/runners/{id}"), &creator).status,
            403
        );
        assert_eq!(
            put(
                s,
                &format!("/api/v4/runners/{id}"),
                &reader,
                json!({"paused": true})
            )
            .status,
            403
        );
        assert_eq!(
            put(
                s,
                &format!("/api/v4/runners/{id}"),
                &manager,
                json!({"paused": true})
            )
            .status,
            200
        );

        // Fine-grained: runner grants ignore the boundary, the role still counts.
        let fine = s.fine_token(
            "alice",
            "runner:create,runner:read,runner:delete",
            "personal_projects",
            &[],
        );
        let fid = created_id(&create_runner(s, &fine, body.clone()));
        assert_eq!(s.get(&format!("/api/v4/runners/{fid}"), &fine).status, 200);
        let r = put(
            s,
            &format!("/api/v4/runners/{fid}"),
            &fine,
            json!({"paused": true}),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json["error"], "insufficient_scope");
        assert_eq!(
            delete(s, &format!("/api/v4/runners/{fid}"), &fine).status,
            204
        );
        let no_runner = s.fine_token("alice", "project:read", "personal_projects", &[]);
        assert_eq!(create_runner(s, &no_runner, body.clone()).status, 403);

        // Anonymous callers are asked to sign in.
        let r = s.call("GET", "/api/v4/runners", None, None);
        assert_eq!(r.status, 401);
        let r = s.call("POST", "/api/v4/user/runners", None, Some(body.clone()));
        assert_eq!(r.status, 401);

        // A runner token is not a personal token, and a personal token is not a runner token.
        let rt = create_runner(s, &alice, body).json["token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(s.get("/api/v4/runners", &rt).status, 401);
        assert_eq!(s.get("/api/v4/user", &rt).status, 401);
        let v = s
            .request("POST", "/api/v4/runners/verify")
            .send_json(json!({"token": alice}));
        assert_eq!(Reply::from(v).status, 403);

        // Resetting a runner's token by id (who may edit it): the old token dies.
        let rid = Reply::from(
            s.request("POST", "/api/v4/runners/verify")
                .send_json(json!({"token": rt})),
        )
        .json["id"]
            .as_i64()
            .unwrap();
        let r = post(
            s,
            &format!("/api/v4/runners/{rid}/reset_authentication_token"),
            &alice,
            json!({}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let fresh = r.json["token"].as_str().unwrap().to_string();
        let old = Reply::from(
            s.request("POST", "/api/v4/runners/verify")
                .send_json(json!({"token": rt})),
        );
        assert_eq!(old.status, 403);
        let new = Reply::from(
            s.request("POST", "/api/v4/runners/verify")
                .send_json(json!({"token": fresh})),
        );
        assert_eq!(new.status, 200);
    });
}
