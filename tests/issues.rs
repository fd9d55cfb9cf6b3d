//! Issues, notes and labels over REST on both backends: per-project iids, GitLab's fields,
//! filters, offset and keyset pagination, confidential issues, legacy and fine-grained tokens,
//! edit and note permissions, system notes, labels, bad input.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// GitLab access levels.
const GUEST: i64 = 10;
const REPORTER: i64 = 20;
const DEVELOPER: i64 = 30;
const MAINTAINER: i64 = 40;

/// A project in the token owner's personal namespace; returns its id.
fn project(s: &Server, owner_token: &str, path: &str, visibility: &str) -> i64 {
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(owner_token),
        Some(json!({"name": path, "path": path, "visibility": visibility})),
    );
    assert_eq!(r.status, 201, "create project: {}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// Adds `user_id` to a project with an access level.
fn member(s: &Server, owner_token: &str, project: i64, user_id: i64, level: i64) {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/members"),
        Some(owner_token),
        Some(json!({"user_id": user_id, "access_level": level})),
    );
    assert_eq!(r.status, 201, "add member: {}", r.text);
}

fn issues_path(project: i64) -> String {
    format!("/api/v4/projects/{project}/issues")
}

fn open(s: &Server, token: &str, project: i64, body: Value) -> Reply {
    s.call("POST", &issues_path(project), Some(token), Some(body))
}

fn open_ok(s: &Server, token: &str, project: i64, title: &str) -> Value {
    let r = open(s, token, project, json!({ "title": title }));
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn iids(r: &Reply) -> Vec<i64> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|i| i["iid"].as_i64().unwrap())
        .collect()
}

fn titles(r: &Reply) -> Vec<String> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

/// The URL of a `Link` relation, without the server part.
fn link(r: &Reply, rel: &str) -> Option<String> {
    let header = r.header("link")?;
    header.split(", ").find_map(|part| {
        let (url, rest) = part.split_once(">; ")?;
        (rest == format!("rel=\"{rel}\"")).then(|| {
            let url = url.trim_start_matches('<');
            let path_start = url.find("/api/").unwrap();
            url[path_start..].to_string()
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Numbering and shape

#[test]
fn iids_count_per_project_and_are_never_reused() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let a = project(s, &api, "anvil", "private");
        let b = project(s, &api, "bellows", "private");
        let a1 = open_ok(s, &api, a, "a one");
        let a2 = open_ok(s, &api, a, "a two");
        let b1 = open_ok(s, &api, b, "b one");
        let a3 = open_ok(s, &api, a, "a three");
        assert_eq!(
            [&a1, &a2, &a3, &b1].map(|i| i["iid"].as_i64().unwrap()),
            [1, 2, 3, 1]
        );
        let ids: std::collections::HashSet<i64> = [&a1, &a2, &a3, &b1]
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 4, "global ids are unique");
        assert_eq!(b1["project_id"], b);

        // Deleting the newest issue does not free its iid.
        let del = s.call("DELETE", &format!("{}/3", issues_path(a)), Some(&api), None);
        assert_eq!(del.status, 204, "{}", del.text);
        assert_eq!(s.get(&format!("{}/3", issues_path(a)), &api).status, 404);
        assert_eq!(open_ok(s, &api, a, "a four")["iid"], 4);

        // By iid within the project, by full path too; another project's iid is not found.
        let got = s.get(&format!("{}/2", issues_path(a)), &api);
        assert_eq!(got.status, 200);
        assert_eq!(got.json["title"], "a two");
        let by_path = s.get("/api/v4/projects/alice%2Fanvil/issues/1", &api);
        assert_eq!(by_path.json["title"], "a one");
        let missing = s.get(&format!("{}/2", issues_path(b)), &api);
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json, json!({"message": "404 Not found"}));
        assert_eq!(s.get(&format!("{}/abc", issues_path(a)), &api).status, 404);
        assert_eq!(
            s.get(&format!("{}/1", issues_path(a)), &api)
                .header("x-accepted-permissions"),
            Some("issue:read")
        );
    });
}

#[test]
fn concurrent_creates_get_distinct_iids() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "busy", "private");
        let mut got: Vec<i64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|t| {
                    let api = &api;
                    scope.spawn(move || {
                        (0..5)
                            .map(|n| {
                                let r = open(
                                    s,
                                    api,
                                    p,
                                    json!({"title": format!("t{t}-{n}"), "labels": ["hot", format!("l{n}")]}),
                                );
                                assert_eq!(r.status, 201, "{}", r.text);
                                r.json["iid"].as_i64().unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        got.sort_unstable();
        assert_eq!(got, (1..=30).collect::<Vec<_>>());
        // Labels named by concurrent requests were created once each.
        let labels = s.get(&format!("/api/v4/projects/{p}/labels"), &api);
        assert_eq!(labels.header("x-total"), Some("6"));
        // Concurrent edits of one issue all succeed, one after the other.
        let codes: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|t| {
                    let api = &api;
                    scope.spawn(move || {
                        s.call(
                            "PUT",
                            &format!("{}/1", issues_path(p)),
                            Some(api),
                            Some(json!({"labels": ["hot", format!("edit{t}")], "add_labels": "shared"})),
                        )
                        .status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(codes, vec![200; 6]);
        let one = s.get(&format!("{}/1", issues_path(p)), &api);
        assert_eq!(
            one.json["labels"].as_array().unwrap().len(),
            3,
            "{}",
            one.text
        );
        // Edits of different issues naming the same new label at once.
        for round in 0..4 {
            let codes: Vec<u16> = std::thread::scope(|scope| {
                let handles: Vec<_> = (2..8)
                    .map(|iid| {
                        let api = &api;
                        scope.spawn(move || {
                            s.call(
                                "PUT",
                                &format!("{}/{iid}", issues_path(p)),
                                Some(api),
                                Some(json!({"add_labels": format!("fresh{round}")})),
                            )
                            .status
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(codes, vec![200; 6], "round {round}");
        }
    });
}

#[test]
fn issue_json_has_gitlab_fields() {
    each_backend(|s: &Server| {
        let alice = s.user("alice");
        let bob = s.user("bob");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "anvil", "private");
        member(s, &api, p, bob, DEVELOPER);
        let r = open(
            s,
            &api,
            p,
            json!({"title": "Crash on start", "description": "It crashes",
                   "labels": "bug,p1", "assignee_ids": [bob], "confidential": false}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let i = &r.json;
        for key in [
            "id",
            "iid",
            "project_id",
            "title",
            "description",
            "state",
            "labels",
            "author",
            "assignees",
            "assignee",
            "created_at",
            "updated_at",
            "closed_at",
            "closed_by",
            "web_url",
            "references",
            "user_notes_count",
            "confidential",
            "type",
            "issue_type",
            "milestone",
        ] {
            assert!(i.get(key).is_some(), "missing {key}: {i}");
        }
        assert_eq!(i["state"], "opened");
        assert_eq!(i["type"], "ISSUE");
        assert_eq!(i["issue_type"], "issue");
        assert_eq!(i["labels"], json!(["bug", "p1"]));
        assert_eq!(i["author"]["id"], alice);
        assert_eq!(i["author"]["username"], "alice");
        for key in ["id", "username", "name", "state", "avatar_url", "web_url"] {
            assert!(i["author"].get(key).is_some(), "author.{key}");
        }
        assert!(i["author"].get("email").is_none(), "authors are UserBasic");
        assert_eq!(i["assignees"][0]["username"], "bob");
        assert_eq!(i["assignee"]["username"], "bob");
        assert_eq!(i["closed_at"], Value::Null);
        assert_eq!(i["closed_by"], Value::Null);
        assert_eq!(i["user_notes_count"], 0);
        assert_eq!(i["confidential"], false);
        assert!(
            i["web_url"]
                .as_str()
                .unwrap()
                .ends_with("/alice/anvil/-/issues/1")
        );
        assert_eq!(
            i["references"],
            json!({"short": "#1", "relative": "#1", "full": "alice/anvil#1"})
        );
        assert!(i["created_at"].as_str().unwrap().ends_with('Z'));
        // The labels named on the fly now exist with GitLab's default colour.
        let labels = s.get(&format!("/api/v4/projects/{p}/labels"), &api);
        assert_eq!(labels.json[0]["name"], "bug");
        assert_eq!(labels.json[0]["color"], "#6699cc");
        // with_labels_details returns label objects.
        let detailed = s.get(
            &format!("{}/1?with_labels_details=true", issues_path(p)),
            &api,
        );
        assert_eq!(detailed.json["labels"][0]["name"], "bug");
        assert_eq!(detailed.json["labels"][0]["color"], "#6699cc");
    });
}

// ---------------------------------------------------------------------------------------------
// Lists

#[test]
fn filters_and_ordering() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob = s.user("bob");
        let api = s.legacy_token("alice", "api");
        let bob_api = s.legacy_token("bob", "api");
        let p = project(s, &api, "anvil", "private");
        member(s, &api, p, bob, REPORTER);
        open(
            s,
            &api,
            p,
            json!({"title": "Login fails", "labels": ["bug", "auth"]}),
        );
        open(
            s,
            &api,
            p,
            json!({"title": "Dark mode", "description": "please add THEMES", "labels": ["feature"]}),
        );
        open(
            s,
            &bob_api,
            p,
            json!({"title": "Crash in parser", "labels": ["bug"], "assignee_ids": [bob]}),
        );
        open(s, &api, p, json!({"title": "Docs typo"}));
        let close = s.call(
            "PUT",
            &format!("{}/4", issues_path(p)),
            Some(&api),
            Some(json!({"state_event": "close"})),
        );
        assert_eq!(close.status, 200, "{}", close.text);

        let list = |q: &str| {
            let r = s.get(&format!("{}?{q}", issues_path(p)), &api);
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            r
        };
        // Newest first by default, every state.
        assert_eq!(iids(&list("")), vec![4, 3, 2, 1]);
        assert_eq!(iids(&list("sort=asc")), vec![1, 2, 3, 4]);
        assert_eq!(iids(&list("state=opened")), vec![3, 2, 1]);
        assert_eq!(iids(&list("state=closed")), vec![4]);
        assert_eq!(
            iids(&list("state=all&order_by=id&sort=asc")),
            vec![1, 2, 3, 4]
        );
        assert_eq!(iids(&list("labels=bug")), vec![3, 1]);
        assert_eq!(
            iids(&list("labels=bug,auth")),
            vec![1],
            "all labels must match"
        );
        assert_eq!(iids(&list("labels[]=bug&labels[]=auth")), vec![1]);
        assert_eq!(iids(&list("labels=nosuch")), Vec::<i64>::new());
        assert_eq!(iids(&list("labels=None")), vec![4]);
        assert_eq!(iids(&list("labels=Any")), vec![3, 2, 1]);
        assert_eq!(iids(&list("search=crash")), vec![3]);
        assert_eq!(
            iids(&list("search=themes")),
            vec![2],
            "search covers descriptions"
        );
        assert_eq!(iids(&list(&format!("author_id={bob}"))), vec![3]);
        assert_eq!(iids(&list("author_username=alice")), vec![4, 2, 1]);
        assert_eq!(iids(&list(&format!("assignee_id={bob}"))), vec![3]);
        assert_eq!(iids(&list("assignee_id=None")), vec![4, 2, 1]);
        assert_eq!(iids(&list("assignee_id=Any")), vec![3]);
        assert_eq!(iids(&list("iids[]=1&iids[]=3")), vec![3, 1]);
        assert_eq!(iids(&list("scope=created_by_me")), vec![4, 2, 1]);
        // Closing bumped updated_at of #4; commenting bumps #1.
        let note = s.call(
            "POST",
            &format!("{}/1/notes", issues_path(p)),
            Some(&api),
            Some(json!({"body": "bump"})),
        );
        assert_eq!(note.status, 201);
        assert_eq!(iids(&list("order_by=updated_at"))[0], 1);
        assert_eq!(
            titles(&list("labels=bug&state=opened&sort=asc")),
            vec!["Login fails", "Crash in parser"]
        );
        for bad in [
            "state=bogus",
            "order_by=title_x",
            "sort=sideways",
            "scope=mine",
            "assignee_id=x",
            "created_after=yesterday",
            "per_page=0",
        ] {
            let r = s.get(&format!("{}?{bad}", issues_path(p)), &api);
            assert_eq!(r.status, 400, "{bad}: {}", r.text);
            assert!(r.json["error"].is_string(), "{bad}: {}", r.text);
        }
    });
}

#[test]
fn offset_pagination_headers() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "anvil", "private");
        for n in 1..=5 {
            open_ok(s, &api, p, &format!("issue {n}"));
        }
        let first = s.get(&format!("{}?per_page=2&sort=asc", issues_path(p)), &api);
        assert_eq!(iids(&first), vec![1, 2]);
        assert_eq!(first.header("x-total"), Some("5"));
        assert_eq!(first.header("x-total-pages"), Some("3"));
        assert_eq!(first.header("x-page"), Some("1"));
        assert_eq!(first.header("x-per-page"), Some("2"));
        assert_eq!(first.header("x-next-page"), Some("2"));
        assert_eq!(first.header("x-prev-page"), Some(""));
        let next = link(&first, "next").unwrap();
        assert!(
            next.contains("page=2") && next.contains("sort=asc"),
            "{next}"
        );
        assert!(link(&first, "last").unwrap().contains("page=3"));
        let second = s.get(&next, &api);
        assert_eq!(iids(&second), vec![3, 4]);
        let last = s.get(
            &format!("{}?per_page=2&sort=asc&page=3", issues_path(p)),
            &api,
        );
        assert_eq!(iids(&last), vec![5]);
        assert_eq!(last.header("x-next-page"), Some(""));
        assert_eq!(last.header("x-prev-page"), Some("2"));
        assert!(link(&last, "next").is_none());
        // HEAD answers with the same headers.
        let head = s.call(
            "HEAD",
            &format!("{}?per_page=2", issues_path(p)),
            Some(&api),
            None,
        );
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-total"), Some("5"));
        // Empty lists still have one page.
        let none = s.get(&format!("{}?labels=nothing", issues_path(p)), &api);
        assert_eq!(none.header("x-total"), Some("0"));
        assert_eq!(none.header("x-total-pages"), Some("1"));
    });
}

#[test]
fn keyset_pagination_follows_the_cursor() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "anvil", "private");
        let mut ids = Vec::new();
        for n in 1..=5 {
            ids.push(
                open_ok(s, &api, p, &format!("issue {n}"))["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        for (order, sort, expected) in [
            ("id", "asc", vec![1, 2, 3, 4, 5]),
            ("id", "desc", vec![5, 4, 3, 2, 1]),
            ("created_at", "desc", vec![5, 4, 3, 2, 1]),
            ("updated_at", "asc", vec![1, 2, 3, 4, 5]),
        ] {
            let mut url = format!(
                "{}?pagination=keyset&per_page=2&order_by={order}&sort={sort}",
                issues_path(p)
            );
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let r = s.get(&url, &api);
                assert_eq!(r.status, 200, "{url}: {}", r.text);
                assert!(
                    r.header("x-total").is_none(),
                    "keyset pages have no X-Total"
                );
                seen.extend(iids(&r));
                pages += 1;
                match link(&r, "next") {
                    Some(next) => {
                        assert!(next.contains("cursor="), "{next}");
                        url = next;
                    }
                    None => break,
                }
                assert!(pages < 10);
            }
            assert_eq!(seen, expected, "{order} {sort}");
        }
        // id_after filters by global id.
        let after = s.get(
            &format!(
                "{}?pagination=keyset&order_by=id&sort=asc&id_after={}",
                issues_path(p),
                ids[2]
            ),
            &api,
        );
        assert_eq!(iids(&after), vec![4, 5]);
        let bad = s.get(
            &format!(
                "{}?pagination=keyset&order_by=id&cursor=nonsense",
                issues_path(p)
            ),
            &api,
        );
        assert_eq!(bad.status, 400);
    });
}

#[test]
fn above_ten_thousand_issues_lists_drop_the_total() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "big", "private");
        open_ok(s, &api, p, "through the API");
        // 10,001 more, straight into the database (same SQL on both backends).
        let author = s.get("/api/v4/user", &api).json["id"].as_i64().unwrap();
        s.sql(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 10002) \
             INSERT INTO issues (project_id, iid, title, state, confidential, author_id, \
             created_at, updated_at) SELECT {p}, i, 'bulk', 'opened', 1 = 0, {author}, \
             '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM n"
        ));
        s.sql(&format!(
            "UPDATE issue_iid_counters SET last_iid = 10002 WHERE project_id = {p}"
        ));
        let r = s.get(&format!("{}?per_page=50", issues_path(p)), &api);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json.as_array().unwrap().len(), 50);
        assert!(r.header("x-total").is_none(), "no X-Total above 10,000");
        assert!(r.header("x-total-pages").is_none());
        assert_eq!(r.header("x-next-page"), Some("2"));
        assert!(link(&r, "last").is_none());
        assert!(link(&r, "first").is_some());
        let filtered = s.get(&format!("{}?search=through", issues_path(p)), &api);
        assert_eq!(filtered.header("x-total"), Some("1"));
        // Offsets past 50,000 are refused, as GitLab does for keyset-capable lists.
        let deep = s.get(&format!("{}?per_page=100&page=502", issues_path(p)), &api);
        assert_eq!(deep.status, 405, "{}", deep.text);
        assert!(
            deep.json["error"]
                .as_str()
                .unwrap()
                .starts_with("Offset pagination")
        );
        let next = open_ok(s, &api, p, "after the bulk");
        assert_eq!(next["iid"], 10003);
    });
}

// ---------------------------------------------------------------------------------------------
// Confidential issues

#[test]
fn confidential_issues_exist_only_for_author_assignees_and_reporters() {
    each_backend(|s: &Server| {
        s.user("owner");
        let gina = s.user("gina"); // guest, the author
        let ann = s.user("ann"); // guest, assigned
        let gus = s.user("gus"); // guest, unrelated
        let rita = s.user("rita"); // reporter
        s.user("nora"); // not a member
        let owner = s.legacy_token("owner", "api");
        let p = project(s, &owner, "public-proj", "public");
        for (u, level) in [(gina, GUEST), (ann, GUEST), (gus, GUEST), (rita, REPORTER)] {
            member(s, &owner, p, u, level);
        }
        let token = |u: &str| s.legacy_token(u, "api");
        let (gina_t, ann_t, gus_t, rita_t, nora_t) = (
            token("gina"),
            token("ann"),
            token("gus"),
            token("rita"),
            token("nora"),
        );
        open_ok(s, &owner, p, "public one");
        let secret = open(
            s,
            &gina_t,
            p,
            json!({"title": "secret", "confidential": true}),
        );
        assert_eq!(secret.status, 201, "{}", secret.text);
        assert_eq!(secret.json["confidential"], true);
        // Only Reporter+ set assignees: the reporter assigns ann.
        let assign = s.call(
            "PUT",
            &format!("{}/2", issues_path(p)),
            Some(&rita_t),
            Some(json!({"assignee_ids": [ann]})),
        );
        assert_eq!(assign.status, 200, "{}", assign.text);
        assert_eq!(assign.json["assignees"][0]["username"], "ann");
        let note = s.call(
            "POST",
            &format!("{}/2/notes", issues_path(p)),
            Some(&gina_t),
            Some(json!({"body": "psst"})),
        );
        assert_eq!(note.status, 201);
        let note_id = note.json["id"].as_i64().unwrap();

        for (who, t, sees) in [
            ("author", &gina_t, true),
            ("assignee", &ann_t, true),
            ("reporter", &rita_t, true),
            ("owner", &owner, true),
            ("other guest", &gus_t, false),
            ("non-member", &nora_t, false),
        ] {
            let one = s.get(&format!("{}/2", issues_path(p)), t);
            let list = s.get(&issues_path(p), t);
            let notes = s.get(&format!("{}/2/notes", issues_path(p)), t);
            let single_note = s.get(&format!("{}/2/notes/{note_id}", issues_path(p)), t);
            let comment = s.call(
                "POST",
                &format!("{}/2/notes", issues_path(p)),
                Some(t),
                Some(json!({"body": "hello"})),
            );
            let search = s.get(&format!("{}?search=secret", issues_path(p)), t);
            if sees {
                assert_eq!(one.status, 200, "{who}");
                assert_eq!(iids(&list), vec![2, 1], "{who}");
                assert_eq!(list.header("x-total"), Some("2"), "{who}");
                assert_eq!(notes.status, 200, "{who}");
                assert_eq!(single_note.status, 200, "{who}");
                assert_eq!(comment.status, 201, "{who}");
                assert_eq!(iids(&search), vec![2], "{who}");
            } else {
                assert_eq!(one.status, 404, "{who}");
                assert_eq!(one.json, json!({"message": "404 Not found"}), "{who}");
                assert_eq!(iids(&list), vec![1], "{who}");
                assert_eq!(list.header("x-total"), Some("1"), "{who}: not counted");
                assert_eq!(notes.status, 404, "{who}");
                assert_eq!(single_note.status, 404, "{who}");
                assert_eq!(comment.status, 404, "{who}");
                assert_eq!(iids(&search), Vec::<i64>::new(), "{who}");
                let edit = s.call(
                    "PUT",
                    &format!("{}/2", issues_path(p)),
                    Some(t),
                    Some(json!({"title": "mine now"})),
                );
                assert_eq!(edit.status, 404, "{who}");
            }
        }
        // Anonymous callers see the public project's open issue only.
        let anon = s.call("GET", &issues_path(p), None, None);
        assert_eq!(anon.status, 200);
        assert_eq!(iids(&anon), vec![1]);
        assert_eq!(
            s.call("GET", &format!("{}/2", issues_path(p)), None, None)
                .status,
            404
        );
        // The cross-project list hides it from the unrelated guest too.
        let all = s.get("/api/v4/issues?scope=all", &gus_t);
        assert_eq!(iids(&all), vec![1]);
        let all = s.get("/api/v4/issues?scope=all", &ann_t);
        assert_eq!(iids(&all), vec![2, 1]);
        assert_eq!(
            iids(&s.get("/api/v4/issues?scope=assigned_to_me", &ann_t)),
            vec![2]
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Tokens and roles

#[test]
fn legacy_read_api_reads_and_api_writes() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let read = s.legacy_token("alice", "read_api");
        let p = project(s, &api, "anvil", "private");
        open_ok(s, &api, p, "first");
        let list = s.get(&issues_path(p), &read);
        assert_eq!(list.status, 200);
        assert_eq!(iids(&list), vec![1]);
        assert_eq!(
            s.get(&format!("{}/1/notes", issues_path(p)), &read).status,
            200
        );
        assert_eq!(
            s.get(&format!("/api/v4/projects/{p}/labels"), &read).status,
            200
        );
        for (method, path, body) in [
            ("POST", issues_path(p), json!({"title": "nope"})),
            (
                "PUT",
                format!("{}/1", issues_path(p)),
                json!({"title": "nope"}),
            ),
            ("DELETE", format!("{}/1", issues_path(p)), json!({})),
            (
                "POST",
                format!("{}/1/notes", issues_path(p)),
                json!({"body": "x"}),
            ),
            (
                "POST",
                format!("/api/v4/projects/{p}/labels"),
                json!({"name": "x", "color": "red"}),
            ),
        ] {
            let r = s.call(method, &path, Some(&read), Some(body));
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
            assert_eq!(r.json["error"], "insufficient_scope");
        }
        // Nothing was written.
        assert_eq!(iids(&s.get(&issues_path(p), &api)), vec![1]);
        // No token at all: a private project does not exist.
        assert_eq!(s.call("GET", &issues_path(p), None, None).status, 404);
        assert_eq!(s.call("GET", "/api/v4/issues", None, None).status, 401);
    });
}

#[test]
fn fine_grained_issue_read_can_list_but_not_create() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "anvil", "private");
        let other = project(s, &api, "other", "private");
        open_ok(s, &api, p, "first");
        open_ok(s, &api, other, "elsewhere");
        let reader = s.fine_token("alice", "issue:read", "all_memberships", &[]);
        let list = s.get(&issues_path(p), &reader);
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(list.header("x-accepted-permissions"), Some("issue:read"));
        let denied = open(s, &reader, p, json!({"title": "x"}));
        assert_eq!(denied.status, 403, "{}", denied.text);
        assert_eq!(denied.json["error"], "insufficient_scope");
        assert_eq!(denied.json["missing"], json!(["issue:create"]));
        assert_eq!(
            denied.header("x-accepted-permissions"),
            Some("issue:create")
        );
        let note = s.call(
            "POST",
            &format!("{}/1/notes", issues_path(p)),
            Some(&reader),
            Some(json!({"body": "x"})),
        );
        assert_eq!(note.status, 403);

        let writer = s.fine_token("alice", "issue:read,issue:create", "all_memberships", &[]);
        assert_eq!(open(s, &writer, p, json!({"title": "ok"})).status, 201);
        let close = s.call(
            "PUT",
            &format!("{}/1", issues_path(p)),
            Some(&writer),
            Some(json!({"state_event": "close"})),
        );
        assert_eq!(close.status, 403, "closing needs issue:update");

        // A selected boundary sees its project only: the other private project is not there.
        let narrow = s.fine_token(
            "alice",
            "issue:read",
            "selected",
            &["--project", "alice/anvil"],
        );
        assert_eq!(s.get(&issues_path(p), &narrow).status, 200);
        assert_eq!(s.get(&issues_path(other), &narrow).status, 404);
        let all = s.get("/api/v4/issues?scope=all", &narrow);
        assert_eq!(titles(&all), vec!["ok", "first"]);
    });
}

#[test]
fn editing_needs_reporter_unless_own_and_deleting_needs_owner() {
    each_backend(|s: &Server| {
        s.user("owner");
        let gina = s.user("gina");
        let gus = s.user("gus");
        let rita = s.user("rita");
        let max = s.user("max");
        s.user("nora");
        let owner = s.legacy_token("owner", "api");
        let p = project(s, &owner, "anvil", "private");
        member(s, &owner, p, gina, GUEST);
        member(s, &owner, p, gus, GUEST);
        member(s, &owner, p, rita, REPORTER);
        member(s, &owner, p, max, MAINTAINER);
        let t = |u: &str| s.legacy_token(u, "api");
        let (gina_t, gus_t, rita_t, max_t, nora_t) =
            (t("gina"), t("gus"), t("rita"), t("max"), t("nora"));
        // Guests may open issues on a private project; non-members cannot see it.
        let mine = open(
            s,
            &gina_t,
            p,
            json!({"title": "guest issue", "labels": ["ignored"]}),
        );
        assert_eq!(mine.status, 201, "{}", mine.text);
        assert_eq!(mine.json["labels"], json!([]), "guests do not set labels");
        assert_eq!(open(s, &nora_t, p, json!({"title": "x"})).status, 404);
        let edit = |tok: &str, body: Value| {
            s.call(
                "PUT",
                &format!("{}/1", issues_path(p)),
                Some(tok),
                Some(body),
            )
        };
        let own = edit(&gina_t, json!({"title": "guest issue, edited"}));
        assert_eq!(own.status, 200, "{}", own.text);
        assert_eq!(own.json["title"], "guest issue, edited");
        let other = edit(&gus_t, json!({"title": "hijacked"}));
        assert_eq!(other.status, 403);
        assert_eq!(other.json, json!({"message": "403 Forbidden"}));
        let by_reporter = edit(&rita_t, json!({"labels": "triaged", "description": "seen"}));
        assert_eq!(by_reporter.status, 200);
        assert_eq!(by_reporter.json["labels"], json!(["triaged"]));
        assert_eq!(by_reporter.json["description"], "seen");
        let add = edit(
            &rita_t,
            json!({"add_labels": "p2", "remove_labels": "triaged"}),
        );
        assert_eq!(add.json["labels"], json!(["p2"]));
        // The author can close their own issue.
        let closed = edit(&gina_t, json!({"state_event": "close"}));
        assert_eq!(closed.json["state"], "closed");
        assert_eq!(closed.json["closed_by"]["username"], "gina");
        assert!(closed.json["closed_at"].is_string());
        let reopened = edit(&gina_t, json!({"state_event": "reopen"}));
        assert_eq!(reopened.json["state"], "opened");
        assert_eq!(reopened.json["closed_at"], Value::Null);
        // Delete: Owner only.
        for tok in [&gina_t, &rita_t, &max_t] {
            let r = s.call("DELETE", &format!("{}/1", issues_path(p)), Some(tok), None);
            assert_eq!(r.status, 403, "{}", r.text);
        }
        let r = s.call(
            "DELETE",
            &format!("{}/1", issues_path(p)),
            Some(&owner),
            None,
        );
        assert_eq!(r.status, 204);
        assert_eq!(s.get(&format!("{}/1", issues_path(p)), &owner).status, 404);
    });
}

// ---------------------------------------------------------------------------------------------
// Notes

#[test]
fn notes_permissions_and_system_notes() {
    each_backend(|s: &Server| {
        s.user("owner");
        let gina = s.user("gina");
        let gus = s.user("gus");
        let max = s.user("max");
        let owner = s.legacy_token("owner", "api");
        let p = project(s, &owner, "anvil", "private");
        member(s, &owner, p, gina, GUEST);
        member(s, &owner, p, gus, GUEST);
        member(s, &owner, p, max, MAINTAINER);
        let t = |u: &str| s.legacy_token(u, "api");
        let (gina_t, gus_t, max_t) = (t("gina"), t("gus"), t("max"));
        open_ok(s, &owner, p, "discuss");
        let notes = format!("{}/1/notes", issues_path(p));
        let posted = s.call(
            "POST",
            &notes,
            Some(&gina_t),
            Some(json!({"body": "first!"})),
        );
        assert_eq!(posted.status, 201, "{}", posted.text);
        let n = &posted.json;
        assert_eq!(n["body"], "first!");
        assert_eq!(n["author"]["username"], "gina");
        assert_eq!(n["system"], false);
        assert_eq!(n["noteable_type"], "Issue");
        assert_eq!(n["noteable_iid"], 1);
        assert_eq!(n["project_id"], p);
        assert_eq!(n["confidential"], false);
        assert_eq!(n["internal"], false);
        let issue_id = s.get(&format!("{}/1", issues_path(p)), &owner).json["id"].clone();
        assert_eq!(n["noteable_id"], issue_id);
        let id = n["id"].as_i64().unwrap();
        let one = format!("{notes}/{id}");

        assert_eq!(
            s.call("POST", &notes, Some(&gina_t), Some(json!({"body": "  "})))
                .json,
            json!({"error": "body is missing"})
        );
        // Another guest can neither edit nor delete it; the author can edit; a maintainer deletes.
        let r = s.call("PUT", &one, Some(&gus_t), Some(json!({"body": "vandal"})));
        assert_eq!(r.status, 403);
        assert_eq!(s.call("DELETE", &one, Some(&gus_t), None).status, 403);
        let r = s.call(
            "PUT",
            &one,
            Some(&gina_t),
            Some(json!({"body": "first, edited"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["body"], "first, edited");
        assert_eq!(s.get(&one, &gus_t).json["body"], "first, edited");
        let second = s.call(
            "POST",
            &notes,
            Some(&gus_t),
            Some(json!({"body": "second"})),
        );
        assert_eq!(
            s.get(&format!("{}/1", issues_path(p)), &owner).json["user_notes_count"],
            2
        );
        assert_eq!(s.call("DELETE", &one, Some(&max_t), None).status, 204);
        assert_eq!(s.get(&one, &owner).status, 404);
        let second_id = second.json["id"].as_i64().unwrap();
        assert_eq!(
            s.call(
                "DELETE",
                &format!("{notes}/{second_id}"),
                Some(&gus_t),
                None
            )
            .status,
            204,
            "authors delete their own notes"
        );

        // Closing and reopening leave system notes; they are not comments.
        let put = |body: Value| {
            s.call(
                "PUT",
                &format!("{}/1", issues_path(p)),
                Some(&owner),
                Some(body),
            )
        };
        assert_eq!(put(json!({"state_event": "close"})).status, 200);
        assert_eq!(put(json!({"state_event": "close"})).status, 200, "no-op");
        assert_eq!(put(json!({"state_event": "reopen"})).status, 200);
        let list = s.get(&format!("{notes}?sort=asc"), &gina_t);
        assert_eq!(list.status, 200);
        assert_eq!(list.header("x-total"), Some("2"));
        let system: Vec<(&str, bool)> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["body"].as_str().unwrap(), n["system"].as_bool().unwrap()))
            .collect();
        assert_eq!(system, vec![("closed", true), ("reopened", true)]);
        assert_eq!(list.json[0]["author"]["username"], "owner");
        let sys_id = list.json[0]["id"].as_i64().unwrap();
        let r = s.call(
            "PUT",
            &format!("{notes}/{sys_id}"),
            Some(&owner),
            Some(json!({"body": "rewrite history"})),
        );
        assert_eq!(r.status, 403, "system notes are read-only");
        assert_eq!(
            s.get(&format!("{}/1", issues_path(p)), &owner).json["user_notes_count"],
            0
        );
        // A note id of another issue is not found through this one.
        open_ok(s, &owner, p, "other");
        assert_eq!(
            s.get(&format!("{}/2/notes/{sys_id}", issues_path(p)), &owner)
                .status,
            404
        );
        // Internal notes: Reporter+ only, hidden from guests.
        let r = s.call(
            "POST",
            &notes,
            Some(&gina_t),
            Some(json!({"body": "x", "internal": true})),
        );
        assert_eq!(r.status, 403);
        let r = s.call(
            "POST",
            &notes,
            Some(&max_t),
            Some(json!({"body": "staff only", "internal": true})),
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.json["internal"], true);
        assert_eq!(s.get(&notes, &gina_t).header("x-total"), Some("2"));
        assert_eq!(s.get(&notes, &owner).header("x-total"), Some("3"));
    });
}

// ---------------------------------------------------------------------------------------------
// Labels

#[test]
fn labels_crud() {
    each_backend(|s: &Server| {
        s.user("owner");
        let gina = s.user("gina");
        let rita = s.user("rita");
        let owner = s.legacy_token("owner", "api");
        let p = project(s, &owner, "anvil", "private");
        member(s, &owner, p, gina, GUEST);
        member(s, &owner, p, rita, REPORTER);
        let (gina_t, rita_t) = (s.legacy_token("gina", "api"), s.legacy_token("rita", "api"));
        let labels = format!("/api/v4/projects/{p}/labels");
        let create = |t: &str, body: Value| s.call("POST", &labels, Some(t), Some(body));

        let bug = create(
            &rita_t,
            json!({"name": "bug", "color": "#FF0000", "description": "Broken"}),
        );
        assert_eq!(bug.status, 201, "{}", bug.text);
        assert_eq!(bug.json["name"], "bug");
        assert_eq!(bug.json["color"], "#ff0000");
        assert_eq!(bug.json["text_color"], "#FFFFFF");
        assert_eq!(bug.json["description"], "Broken");
        let named = create(&owner, json!({"name": "docs", "color": "LightGreen"}));
        assert_eq!(named.status, 201);
        assert_eq!(named.json["color"], "#90ee90");
        let dup = create(&owner, json!({"name": "bug", "color": "#00ff00"}));
        assert_eq!(dup.status, 409);
        assert_eq!(dup.json, json!({"message": "Label already exists"}));
        let bad = create(&owner, json!({"name": "x", "color": "reddish"}));
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.json,
            json!({"message": {"color": ["must be a valid color code"]}})
        );
        assert_eq!(
            create(&owner, json!({"name": "x", "color": "#12"})).status,
            400
        );
        assert_eq!(
            create(&owner, json!({"color": "red"})).json,
            json!({"error": "name is missing"})
        );
        assert_eq!(
            create(&owner, json!({"name": "a,b", "color": "red"})).status,
            400
        );
        let guest = create(&gina_t, json!({"name": "mine", "color": "red"}));
        assert_eq!(guest.status, 403, "managing labels needs Reporter");

        let list = s.get(&labels, &gina_t);
        assert_eq!(list.status, 200);
        assert_eq!(list.header("x-total"), Some("2"));
        let names: Vec<&str> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["bug", "docs"]);
        let bug_id = bug.json["id"].as_i64().unwrap();
        assert_eq!(
            s.get(&format!("{labels}/{bug_id}"), &gina_t).json["name"],
            "bug"
        );
        assert_eq!(
            s.get(&format!("{labels}/docs"), &gina_t).json["color"],
            "#90ee90"
        );
        assert_eq!(s.get(&format!("{labels}/nosuch"), &gina_t).status, 404);

        // Issues use them; counts follow.
        open(s, &owner, p, json!({"title": "t", "labels": "bug"}));
        let counted = s.get(&format!("{labels}?with_counts=true"), &owner);
        assert_eq!(counted.json[0]["open_issues_count"], 1);
        assert_eq!(counted.json[0]["closed_issues_count"], 0);

        // PUT by name parameter, by id parameter, and by path.
        let r = s.call(
            "PUT",
            &labels,
            Some(&rita_t),
            Some(json!({"name": "bug", "new_name": "defect", "color": "navy"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["name"], "defect");
        assert_eq!(r.json["color"], "#000080");
        let r = s.call(
            "PUT",
            &labels,
            Some(&rita_t),
            Some(json!({"label_id": bug_id, "description": "Something is wrong"})),
        );
        assert_eq!(r.json["description"], "Something is wrong");
        let r = s.call(
            "PUT",
            &format!("{labels}/{bug_id}"),
            Some(&rita_t),
            Some(json!({"color": "#abc"})),
        );
        assert_eq!(r.json["color"], "#abc");
        assert_eq!(
            s.call(
                "PUT",
                &labels,
                Some(&rita_t),
                Some(json!({"name": "defect"}))
            )
            .status,
            400,
            "nothing to change"
        );
        assert_eq!(
            s.call(
                "PUT",
                &labels,
                Some(&rita_t),
                Some(json!({"name": "defect", "new_name": "docs"}))
            )
            .status,
            409
        );
        assert_eq!(
            s.call(
                "PUT",
                &labels,
                Some(&rita_t),
                Some(json!({"name": "defect", "color": "?"}))
            )
            .status,
            400
        );
        assert_eq!(
            s.get(&format!("{}/1", issues_path(p)), &owner).json["labels"],
            json!(["defect"])
        );

        // DELETE by name parameter and by path; the label leaves its issues.
        let r = s.call(
            "DELETE",
            &format!("{labels}?name=defect"),
            Some(&rita_t),
            None,
        );
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(
            s.get(&format!("{}/1", issues_path(p)), &owner).json["labels"],
            json!([])
        );
        assert_eq!(
            s.call("DELETE", &format!("{labels}/docs"), Some(&gina_t), None)
                .status,
            403
        );
        assert_eq!(
            s.call("DELETE", &format!("{labels}/docs"), Some(&owner), None)
                .status,
            204
        );
        assert_eq!(
            s.call("DELETE", &format!("{labels}/docs"), Some(&owner), None)
                .status,
            404
        );
        assert_eq!(s.get(&labels, &owner).header("x-total"), Some("0"));
    });
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_input_is_a_400_and_writes_nothing() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let p = project(s, &api, "anvil", "private");
        let missing = open(s, &api, p, json!({"description": "no title"}));
        assert_eq!(missing.status, 400);
        assert_eq!(missing.json, json!({"error": "title is missing"}));
        let empty = open(s, &api, p, json!({"title": "   "}));
        assert_eq!(empty.status, 400);
        assert_eq!(empty.json, json!({"error": "title is missing"}));
        for body in [
            json!({"title": 42}),
            json!({"title": "t", "confidential": "maybe"}),
            json!({"title": "t", "assignee_ids": "x"}),
            json!({"title": "t", "labels": {"a": 1}}),
            json!({"title": "t", "labels": ["fine", "not,fine"]}),
            json!({"title": "x".repeat(300)}),
        ] {
            let r = open(s, &api, p, body.clone());
            assert_eq!(r.status, 400, "{body}: {}", r.text);
        }
        let raw = s
            .request("POST", &issues_path(p))
            .set("PRIVATE-TOKEN", &api)
            .set("Content-Type", "application/json")
            .send_string("{not json");
        assert_eq!(Reply::from(raw).status, 400);
        // Nothing was written: no issue, no label, and the next issue is #1.
        let list = s.get(&issues_path(p), &api);
        assert_eq!(list.header("x-total"), Some("0"));
        assert_eq!(
            s.get(&format!("/api/v4/projects/{p}/labels"), &api)
                .header("x-total"),
            Some("0")
        );
        assert_eq!(open_ok(s, &api, p, "real")["iid"], 1);
        // Form bodies work like JSON.
        let form = s
            .request("POST", &issues_path(p))
            .set("PRIVATE-TOKEN", &api)
            .send_form(&[
                ("title", "from a form"),
                ("labels", "a,b"),
                ("confidential", "False"),
            ]);
        let form = Reply::from(form);
        assert_eq!(form.status, 201, "{}", form.text);
        assert_eq!(form.json["labels"], json!(["a", "b"]));

        let put = |body: Value| {
            s.call(
                "PUT",
                &format!("{}/1", issues_path(p)),
                Some(&api),
                Some(body),
            )
        };
        let none = put(json!({}));
        assert_eq!(none.status, 400);
        assert!(
            none.json["error"]
                .as_str()
                .unwrap()
                .ends_with("at least one parameter must be provided")
        );
        assert_eq!(put(json!({"state_event": "explode"})).status, 400);
        assert_eq!(put(json!({"title": ""})).status, 400);
        assert_eq!(put(json!({"title": null})).status, 400);
        assert_eq!(
            s.get(&format!("{}/1", issues_path(p)), &api).json["title"],
            "real"
        );
        // An unknown project is a 404 before any body is read.
        assert_eq!(open(s, &api, 999_999, json!({})).status, 404);
    });
}

// ---------------------------------------------------------------------------------------------
// Group and instance lists

#[test]
fn group_and_instance_lists_cover_what_the_caller_can_see() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob = s.user("bob");
        let api = s.legacy_token("alice", "api");
        let bob_t = s.legacy_token("bob", "api");
        let g = s.call(
            "POST",
            "/api/v4/groups",
            Some(&api),
            Some(json!({"name": "acme", "path": "acme", "visibility": "private"})),
        );
        assert_eq!(g.status, 201, "{}", g.text);
        let gid = g.json["id"].as_i64().unwrap();
        let sub = s.call(
            "POST",
            "/api/v4/groups",
            Some(&api),
            Some(json!({"name": "tools", "path": "tools", "parent_id": gid, "visibility": "private"})),
        );
        assert_eq!(sub.status, 201, "{}", sub.text);
        let sub_id = sub.json["id"].as_i64().unwrap();
        let in_group = |ns: i64, path: &str| {
            let r = s.call(
                "POST",
                "/api/v4/projects",
                Some(&api),
                Some(json!({"name": path, "path": path, "namespace_id": ns, "visibility": "private"})),
            );
            assert_eq!(r.status, 201, "{}", r.text);
            r.json["id"].as_i64().unwrap()
        };
        let top = in_group(gid, "anvil");
        let nested = in_group(sub_id, "hammer");
        let personal = project(s, &api, "diary", "private");
        open_ok(s, &api, top, "top issue");
        open_ok(s, &api, nested, "nested issue");
        open_ok(s, &api, personal, "personal issue");

        let group = s.get(&format!("/api/v4/groups/{gid}/issues?sort=asc"), &api);
        assert_eq!(group.status, 200, "{}", group.text);
        assert_eq!(titles(&group), vec!["top issue", "nested issue"]);
        assert_eq!(group.header("x-total"), Some("2"));
        let by_path = s.get("/api/v4/groups/acme%2Ftools/issues", &api);
        assert_eq!(titles(&by_path), vec!["nested issue"]);

        // Bob is a member of the nested project only.
        member(s, &api, nested, bob, REPORTER);
        assert_eq!(
            s.get(&format!("/api/v4/groups/{gid}/issues"), &bob_t)
                .status,
            404,
            "the private group is not visible to bob"
        );
        let mine = s.get("/api/v4/issues", &bob_t);
        assert_eq!(mine.status, 200);
        assert_eq!(
            titles(&mine),
            Vec::<String>::new(),
            "created_by_me by default"
        );
        let all = s.get("/api/v4/issues?scope=all", &bob_t);
        assert_eq!(titles(&all), vec!["nested issue"]);
        open_ok(s, &bob_t, nested, "bob's issue");
        assert_eq!(
            titles(&s.get("/api/v4/issues", &bob_t)),
            vec!["bob's issue"]
        );
        let alice_all = s.get("/api/v4/issues?scope=all&sort=asc", &api);
        assert_eq!(
            titles(&alice_all),
            vec!["top issue", "nested issue", "personal issue", "bob's issue"]
        );
        assert_eq!(alice_all.json[0]["references"]["full"], "acme/anvil#1");
    });
}
