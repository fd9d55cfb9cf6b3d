//! Commit statuses (and pipeline triggers) over REST on both backends: GitLab's commit status
//! JSON, a repeated POST moving the same status instead of adding one, GitLab's refused
//! transitions, the ref a status defaults to, listing with filters and pagination headers, and
//! who may set and read statuses.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const REPORTER: i64 = 20;
const DEVELOPER: i64 = 30;

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

fn project(s: &Server, token: &str, path: &str, visibility: &str) -> i64 {
    let r = post(
        s,
        "/api/v4/projects",
        token,
        json!({"name": path, "path": path, "visibility": visibility, "default_branch": "main"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// A commit on `branch` (created from `start` when given); returns its sha.
fn commit(
    s: &Server,
    token: &str,
    p: i64,
    branch: &str,
    start: Option<&str>,
    file: &str,
) -> String {
    let mut body = json!({"branch": branch, "commit_message": format!("add {file}"), "actions": [
        {"action": "create", "file_path": file, "content": "x\n"},
    ]});
    if let Some(start) = start {
        body["start_branch"] = json!(start);
    }
    let r = post(
        s,
        &format!("/api/v4/projects/{p}/repository/commits"),
        token,
        body,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn add_member(s: &Server, token: &str, p: i64, user: i64, level: i64) {
    let r = post(
        s,
        &format!("/api/v4/projects/{p}/members"),
        token,
        json!({"user_id": user, "access_level": level}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn ids(r: &Reply) -> Vec<i64> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_status_moves_through_its_states_in_place() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", "private");
        let sha = commit(s, &t, p, "main", None, "a.txt");
        let set = format!("/api/v4/projects/{p}/statuses/{sha}");

        let r = post(
            s,
            &set,
            &t,
            json!({"state": "pending", "target_url": "https://ci.example/1", "description": "queued"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json["id"].as_i64().unwrap();
        assert_eq!(r.json["sha"], sha.as_str());
        assert_eq!(r.json["ref"], "main");
        assert_eq!(r.json["status"], "pending");
        assert_eq!(r.json["name"], "default");
        assert_eq!(r.json["target_url"], "https://ci.example/1");
        assert_eq!(r.json["description"], "queued");
        assert_eq!(r.json["allow_failure"], false);
        assert_eq!(r.json["coverage"], Value::Null);
        assert_eq!(r.json["started_at"], Value::Null);
        assert_eq!(r.json["finished_at"], Value::Null);
        assert_eq!(r.json["author"]["username"], "alice");
        assert!(r.json["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(r.header("x-accepted-permissions"), Some("pipeline:create"));

        let running = post(s, &set, &t, json!({"state": "running"}));
        assert_eq!(running.status, 201, "{}", running.text);
        assert_eq!(running.json["id"], id);
        assert_eq!(running.json["status"], "running");
        assert!(running.json["started_at"].is_string());
        // Kept from the first POST.
        assert_eq!(running.json["target_url"], "https://ci.example/1");

        // GitLab refuses `run` on a running status.
        let twice = post(s, &set, &t, json!({"state": "running"}));
        assert_eq!(twice.status, 400, "{}", twice.text);
        assert!(
            twice.json["message"]
                .as_str()
                .unwrap()
                .starts_with("Cannot transition status via :run from :running"),
            "{}",
            twice.text
        );

        let done = post(
            s,
            &set,
            &t,
            json!({"state": "success", "coverage": 81.5, "description": "all green"}),
        );
        assert_eq!(done.status, 201, "{}", done.text);
        assert_eq!(done.json["id"], id);
        assert_eq!(done.json["status"], "success");
        assert_eq!(done.json["coverage"], 81.5);
        assert!(done.json["finished_at"].is_string());
        assert_eq!(done.json["started_at"], running.json["started_at"]);

        let list = s.get(
            &format!("/api/v4/projects/{p}/repository/commits/{sha}/statuses"),
            &t,
        );
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(ids(&list), [id], "one status, not three");
        assert_eq!(list.json[0]["status"], "success");

        // A finished status is not moved again: the next POST starts a new one, and the list
        // shows the newest unless `all` is asked for.
        let rerun = post(s, &set, &t, json!({"state": "running"}));
        assert_eq!(rerun.status, 201, "{}", rerun.text);
        let second = rerun.json["id"].as_i64().unwrap();
        assert_ne!(second, id);
        let statuses = format!("/api/v4/projects/{p}/repository/commits/{sha}/statuses");
        assert_eq!(ids(&s.get(&statuses, &t)), [second]);
        assert_eq!(
            ids(&s.get(&format!("{statuses}?all=true"), &t)),
            [id, second]
        );
        let failed = post(s, &set, &t, json!({"state": "failed"}));
        assert_eq!(failed.json["id"], second);
        assert_eq!(failed.json["status"], "failed");

        // pending twice is refused too; canceled and skipped exist.
        let q = post(s, &set, &t, json!({"state": "pending", "name": "lint"}));
        assert_eq!(q.status, 201);
        let again = post(s, &set, &t, json!({"state": "pending", "name": "lint"}));
        assert_eq!(again.status, 400);
        assert_eq!(
            again.json,
            json!({"message": "Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")"})
        );
        let skip = post(s, &set, &t, json!({"state": "skipped", "name": "lint"}));
        assert_eq!(skip.json["status"], "skipped");
        assert_eq!(skip.json["id"], q.json["id"]);
        let c = post(
            s,
            &set,
            &t,
            json!({"state": "canceled", "context": "deploy"}),
        );
        assert_eq!(c.status, 201);
        assert_eq!(c.json["name"], "deploy");
        assert_eq!(c.json["status"], "canceled");
    });
}

#[test]
fn statuses_name_their_ref_and_commit() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", "private");
        let main = commit(s, &t, p, "main", None, "a.txt");
        let feature = commit(s, &t, p, "feature/x", Some("main"), "b.txt");

        // A commit only on a branch: that branch. A commit on main: main (the default branch
        // wins over other branches that contain it).
        let r = post(
            s,
            &format!("/api/v4/projects/{p}/statuses/{feature}"),
            &t,
            json!({"state": "success"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["ref"], "feature/x");
        let r = post(
            s,
            &format!("/api/v4/projects/{p}/statuses/{main}"),
            &t,
            json!({"state": "success"}),
        );
        assert_eq!(r.json["ref"], "main");
        // An explicit ref, and an abbreviated sha, stored in full.
        let short = &main[..10];
        let r = post(
            s,
            &format!("/api/v4/projects/{p}/statuses/{short}"),
            &t,
            json!({"state": "running", "ref": "release"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["ref"], "release");
        assert_eq!(r.json["sha"], main.as_str());
        // The same name on another ref is another status.
        let statuses = format!("/api/v4/projects/{p}/repository/commits/{main}/statuses");
        assert_eq!(ids(&s.get(&statuses, &t)).len(), 2);
        let on_release = s.get(&format!("{statuses}?ref=release"), &t);
        assert_eq!(on_release.json.as_array().unwrap().len(), 1);
        assert_eq!(on_release.json[0]["status"], "running");

        let unknown = "0123456789abcdef0123456789abcdef01234567";
        for path in [
            format!("/api/v4/projects/{p}/statuses/{unknown}"),
            format!("/api/v4/projects/{p}/statuses/nosuchbranch"),
        ] {
            let r = post(s, &path, &t, json!({"state": "success"}));
            assert_eq!(r.status, 404, "{}", r.text);
            assert_eq!(r.json, json!({"message": "404 Commit Not Found"}));
        }
        let r = s.get(
            &format!("/api/v4/projects/{p}/repository/commits/{unknown}/statuses"),
            &t,
        );
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"message": "404 Commit Not Found"}));

        let set = format!("/api/v4/projects/{p}/statuses/{main}");
        let r = post(s, &set, &t, json!({}));
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"error": "state is missing"}));
        let r = post(s, &set, &t, json!({"state": "exploded"}));
        assert_eq!(
            r.json,
            json!({"error": "state does not have a valid value"})
        );
        let r = post(
            s,
            &set,
            &t,
            json!({"state": "success", "target_url": "ftp://ci.example/1"}),
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json,
            json!({"message": {"target_url": ["is blocked: Only allowed schemes are http, https"]}})
        );
        let r = post(s, &set, &t, json!({"state": "success", "coverage": "lots"}));
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"error": "coverage is invalid"}));
        let r = post(
            s,
            &set,
            &t,
            json!({"state": "success", "pipeline_id": 4242}),
        );
        assert_eq!(r.status, 404);
        assert_eq!(
            r.json,
            json!({"message": "404 Pipeline for pipeline_id, sha and ref Not Found"})
        );
        // Nothing of the refused requests was stored.
        assert_eq!(ids(&s.get(&statuses, &t)).len(), 2);
    });
}

#[test]
fn status_lists_filter_and_paginate() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", "private");
        let sha = commit(s, &t, p, "main", None, "a.txt");
        let set = format!("/api/v4/projects/{p}/statuses/{sha}");
        for name in ["build", "test", "lint", "docs", "deploy"] {
            assert_eq!(
                post(s, &set, &t, json!({"state": "success", "name": name})).status,
                201
            );
        }
        let statuses = format!("/api/v4/projects/{p}/repository/commits/{sha}/statuses");
        let page = s.get(&format!("{statuses}?per_page=2&page=2"), &t);
        assert_eq!(page.status, 200, "{}", page.text);
        let names: Vec<&str> = page
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["lint", "docs"]);
        assert_eq!(page.header("x-total"), Some("5"));
        assert_eq!(page.header("x-total-pages"), Some("3"));
        assert_eq!(page.header("x-page"), Some("2"));
        assert_eq!(page.header("x-per-page"), Some("2"));
        assert_eq!(page.header("x-next-page"), Some("3"));
        assert_eq!(page.header("x-prev-page"), Some("1"));
        let link = page.header("link").unwrap();
        assert!(link.contains("rel=\"next\""), "{link}");
        assert!(link.contains("page=3"), "{link}");
        assert_eq!(page.header("x-accepted-permissions"), Some("pipeline:read"));

        let one = s.get(&format!("{statuses}?name=test"), &t);
        assert_eq!(one.json.as_array().unwrap().len(), 1);
        assert_eq!(one.json[0]["name"], "test");
        let desc = s.get(&format!("{statuses}?sort=desc"), &t);
        assert_eq!(desc.json[0]["name"], "deploy");
        assert_eq!(
            s.get(&format!("{statuses}?stage=external"), &t)
                .json
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            s.get(&format!("{statuses}?stage=build"), &t).json,
            json!([])
        );
        assert_eq!(s.get(&format!("{statuses}?ref=other"), &t).json, json!([]));
        assert_eq!(
            s.get(&format!("{statuses}?sort=sideways"), &t).json,
            json!({"error": "sort does not have a valid value"})
        );
    });
}

#[test]
fn developers_set_statuses_and_reporters_read_them() {
    each_backend(|s: &Server| {
        s.user("alice");
        let reporter = s.user("reporter");
        let dev = s.user("dev");
        s.user("stranger");
        let owner = s.legacy_token("alice", "api");
        let p = project(s, &owner, "anvil", "private");
        add_member(s, &owner, p, reporter, REPORTER);
        add_member(s, &owner, p, dev, DEVELOPER);
        let sha = commit(s, &owner, p, "main", None, "a.txt");
        let set = format!("/api/v4/projects/{p}/statuses/{sha}");
        let statuses = format!("/api/v4/projects/{p}/repository/commits/{sha}/statuses");

        let d = s.legacy_token("dev", "api");
        let mine = post(s, &set, &d, json!({"state": "running", "name": "ci"}));
        assert_eq!(mine.status, 201, "{}", mine.text);
        assert_eq!(mine.json["author"]["username"], "dev");
        // Another user's POST of the same name is that user's own status.
        let o = post(s, &set, &owner, json!({"state": "running", "name": "ci"}));
        assert_ne!(o.json["id"], mine.json["id"]);

        let rep = s.legacy_token("reporter", "api");
        assert_eq!(s.get(&statuses, &rep).status, 200);
        let w = post(s, &set, &rep, json!({"state": "success"}));
        assert_eq!(w.status, 403, "{}", w.text);
        assert_eq!(w.json, json!({"message": "403 Forbidden"}));

        let stranger = s.legacy_token("stranger", "api");
        let r = s.get(&statuses, &stranger);
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"message": "404 Project Not Found"}));
        assert_eq!(s.call("GET", &statuses, None, None).status, 404);
        assert_eq!(
            post(s, &set, &stranger, json!({"state": "success"})).status,
            404
        );

        let read_only = s.fine_token("dev", "pipeline:read", "all_memberships", &[]);
        assert_eq!(s.get(&statuses, &read_only).status, 200);
        let w = post(s, &set, &read_only, json!({"state": "success"}));
        assert_eq!(w.status, 403);
        assert_eq!(w.json["missing"], json!(["pipeline:create"]));
        let creator = s.fine_token("dev", "pipeline:create", "all_memberships", &[]);
        let ok = post(s, &set, &creator, json!({"state": "success", "name": "ci"}));
        assert_eq!(ok.status, 201, "{}", ok.text);
        assert_eq!(ok.json["id"], mine.json["id"]);
    });
}

#[test]
fn public_projects_show_statuses_to_everyone() {
    each_backend(|s: &Server| {
        s.user("alice");
        let owner = s.legacy_token("alice", "api");
        let p = project(s, &owner, "open", "public");
        let sha = commit(s, &owner, p, "main", None, "a.txt");
        let r = post(
            s,
            &format!("/api/v4/projects/{p}/statuses/{sha}"),
            &owner,
            json!({"state": "success"}),
        );
        assert_eq!(r.status, 201);
        let statuses = format!("/api/v4/projects/{p}/repository/commits/{sha}/statuses");
        let anon = s.call("GET", &statuses, None, None);
        assert_eq!(anon.status, 200, "{}", anon.text);
        assert_eq!(anon.json.as_array().unwrap().len(), 1);
        let anon_post = s.call(
            "POST",
            &format!("/api/v4/projects/{p}/statuses/{sha}"),
            None,
            Some(json!({"state": "failed"})),
        );
        assert_eq!(anon_post.status, 401);
    });
}

// ---------------------------------------------------------------------------------------------
// Pipeline triggers

const CI_FILE: &str = "test:\n  script:\n    - echo hello\n";

/// A file commit on `branch`.
fn put_file(s: &Server, token: &str, p: i64, branch: &str, path: &str, content: &str) {
    let r = post(
        s,
        &format!("/api/v4/projects/{p}/repository/commits"),
        token,
        json!({"branch": branch, "commit_message": format!("add {path}"), "actions": [
            {"action": "create", "file_path": path, "content": content},
        ]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn trigger(s: &Server, p: i64, form: &[(&str, &str)]) -> Reply {
    Reply::from(
        s.request("POST", &format!("/api/v4/projects/{p}/trigger/pipeline"))
            .send_form(form),
    )
}

#[test]
fn trigger_tokens_run_pipelines_as_their_owner() {
    each_backend(|s: &Server| {
        s.user("alice");
        let dev = s.user("dev");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", "private");
        let other = project(s, &t, "bellows", "private");
        put_file(s, &t, p, "main", ".gitlab-ci.yml", CI_FILE);
        add_member(s, &t, p, dev, DEVELOPER);
        let all = format!("/api/v4/projects/{p}/triggers");

        let created = post(s, &all, &t, json!({"description": "deploy hook"}));
        assert_eq!(created.status, 201, "{}", created.text);
        let token = created.json["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("tfptt-") && token.len() == 38, "{token}");
        assert_eq!(created.json["description"], "deploy hook");
        assert_eq!(created.json["owner"]["username"], "alice");
        assert_eq!(created.json["last_used"], Value::Null);
        let id = created.json["id"].as_i64().unwrap();
        assert_eq!(
            post(s, &all, &t, json!({})).json,
            json!({"error": "description is missing"})
        );

        // The token is never shown again.
        let list = s.get(&all, &t);
        assert_eq!(list.status, 200, "{}", list.text);
        assert!(!list.text.contains(&token));
        let shown = list.json[0]["token"].as_str().unwrap();
        assert_eq!(shown, format!("{}…", &token[..10]));
        let one = s.get(&format!("{all}/{id}"), &t);
        assert!(!one.text.contains(&token));
        assert_eq!(one.json["id"], id);
        assert!(!s.log().contains(&token), "the token reached the log");

        // Developers cannot see or manage triggers.
        let d = s.legacy_token("dev", "api");
        assert_eq!(s.get(&all, &d).status, 403);
        assert_eq!(
            post(s, &all, &d, json!({"description": "mine"})).status,
            403
        );

        let r = trigger(
            s,
            p,
            &[
                ("token", &token),
                ("ref", "main"),
                ("variables[DEPLOY_TO]", "staging"),
            ],
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["source"], "trigger");
        assert_eq!(r.json["ref"], "main");
        assert_eq!(r.json["project_id"], p);
        assert_eq!(r.json["user"]["username"], "alice");
        let pipeline = r.json["id"].as_i64().unwrap();
        let vars = s.get(
            &format!("/api/v4/projects/{p}/pipelines/{pipeline}/variables"),
            &t,
        );
        assert_eq!(vars.status, 200, "{}", vars.text);
        assert_eq!(
            vars.json,
            json!([{"variable_type": "env_var", "key": "DEPLOY_TO", "value": "staging"}])
        );
        assert!(s.get(&format!("{all}/{id}"), &t).json["last_used"].is_string());
        // JSON with a variables map, and the project by path.
        let r = s.call(
            "POST",
            "/api/v4/projects/alice%2Fanvil/trigger/pipeline",
            None,
            Some(json!({"token": token, "ref": "main", "variables": {"A": "1"}})),
        );
        assert_eq!(r.status, 201, "{}", r.text);

        // Wrong, unknown and other projects' tokens are all a plain 404.
        for (project_id, tok) in [
            (p, "tfptt-00000000000000000000000000000000"),
            (p, "garbage"),
            (other, token.as_str()),
            (99_999, token.as_str()),
        ] {
            let r = trigger(s, project_id, &[("token", tok), ("ref", "main")]);
            assert_eq!(r.status, 404, "{tok}: {}", r.text);
            assert_eq!(r.json, json!({"message": "404 Not Found"}));
        }
        let r = trigger(s, p, &[("ref", "main")]);
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"error": "token is missing"}));
        let r = trigger(s, p, &[("token", &token)]);
        assert_eq!(r.json, json!({"error": "ref is missing"}));
        let r = trigger(s, p, &[("token", &token), ("ref", "nope")]);
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            r.json,
            json!({"message": {"base": ["Reference not found"]}})
        );
        let r = trigger(
            s,
            p,
            &[
                ("token", &token),
                ("ref", "main"),
                ("variables[bad-key]", "x"),
            ],
        );
        assert_eq!(r.status, 400, "{}", r.text);

        let put = s.call(
            "PUT",
            &format!("{all}/{id}"),
            Some(&t),
            Some(json!({"description": "renamed"})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        assert_eq!(put.json["description"], "renamed");
        assert!(!put.text.contains(&token));
        assert_eq!(s.get(&format!("{all}/4242"), &t).status, 404);
        assert_eq!(
            s.get(&format!("{all}/4242"), &t).json,
            json!({"message": "404 Trigger Not Found"})
        );

        let del = s.call("DELETE", &format!("{all}/{id}"), Some(&t), None);
        assert_eq!(del.status, 204);
        let r = trigger(s, p, &[("token", &token), ("ref", "main")]);
        assert_eq!(r.status, 404, "{}", r.text);
    });
}

#[test]
fn a_trigger_stops_when_its_owner_may_no_longer_run_pipelines() {
    each_backend(|s: &Server| {
        s.user("alice");
        let maint = s.user("maint");
        let owner = s.legacy_token("alice", "api");
        let p = project(s, &owner, "anvil", "private");
        put_file(
            s,
            &owner,
            p,
            "main",
            ".gitlab-ci.yml",
            "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\ntest:\n  script: [echo]\n",
        );
        add_member(s, &owner, p, maint, 40);
        let m = s.legacy_token("maint", "api");
        let created = post(
            s,
            &format!("/api/v4/projects/{p}/triggers"),
            &m,
            json!({"description": "maint's"}),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let token = created.json["token"].as_str().unwrap().to_string();

        // The rules keep trigger pipelines from running: GitLab's 400.
        let r = trigger(s, p, &[("token", &token), ("ref", "main")]);
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            r.json,
            json!({"message": {"base": ["Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline."]}})
        );

        // Demoted to Reporter: the token no longer runs anything.
        let demote = s.call(
            "PUT",
            &format!("/api/v4/projects/{p}/members/{maint}"),
            Some(&owner),
            Some(json!({"access_level": REPORTER})),
        );
        assert_eq!(demote.status, 200, "{}", demote.text);
        let r = trigger(s, p, &[("token", &token), ("ref", "main")]);
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json, json!({"message": "403 Forbidden"}));
    });
}
