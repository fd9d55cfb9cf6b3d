//! The repository API (files, commits with actions, branches, tags, tree, compare) over REST on
//! SQLite and PostgreSQL, checked against the real `git` client: what the API writes is what a
//! fresh clone sees, and the server repository stays `git fsck` clean.

mod common;

use base64::Engine;
use common::git::{clone_url, git};
use common::{Server, each_backend};
use serde_json::{Value, json};
use std::path::Path;

/// A private project `g/p` of alice's (Owner), default branch `main`; returns its id.
fn project(s: &Server, token: &str, group: &str) -> i64 {
    let g = s.call(
        "POST",
        "/api/v4/groups",
        Some(token),
        Some(json!({"name": group, "path": group, "visibility": "private"})),
    );
    assert_eq!(g.status, 201, "{}", g.text);
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(token),
        Some(
            json!({"name": "p", "path": "p", "namespace_id": g.json["id"],
                    "visibility": "private", "default_branch": "main"}),
        ),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    p.json["id"].as_i64().unwrap()
}

fn fsck(s: &Server, id: i64) {
    let repo = s.data_dir().join("repositories").join(format!("{id}.git"));
    git(
        Path::new("/"),
        &["--git-dir", repo.to_str().unwrap(), "fsck", "--no-progress"],
    );
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn files_round_trip_through_the_api_and_a_clone() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "files");
        let base = format!("/api/v4/projects/{id}/repository");
        let call =
            |m: &str, p: &str, b: Option<Value>| s.call(m, &format!("{base}{p}"), Some(&t), b);

        // Empty repository: no file, no commits, no branches.
        assert_eq!(call("GET", "/files/README.md?ref=main", None).status, 404);
        assert_eq!(call("GET", "/commits", None).json, json!([]));

        // The first file creates the branch.
        let r = call(
            "POST",
            "/files/src%2Fa.md",
            Some(json!({"branch": "main", "content": "hello\n", "commit_message": "add a"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json, json!({"file_path": "src/a.md", "branch": "main"}));
        let again = call(
            "POST",
            "/files/src%2Fa.md",
            Some(json!({"branch": "main", "content": "x", "commit_message": "again"})),
        );
        assert_eq!(again.status, 400, "{}", again.text);

        let f = call("GET", "/files/src%2Fa.md?ref=main", None);
        assert_eq!(f.status, 200, "{}", f.text);
        assert_eq!(f.json["file_name"], "a.md");
        assert_eq!(f.json["file_path"], "src/a.md");
        assert_eq!(f.json["encoding"], "base64");
        assert_eq!(f.json["content"], b64(b"hello\n"));
        assert_eq!(f.json["size"], 6);
        assert_eq!(f.json["ref"], "main");
        assert_eq!(f.json["commit_id"], f.json["last_commit_id"]);
        let head = s.call(
            "HEAD",
            &format!("{base}/files/src%2Fa.md?ref=main"),
            Some(&t),
            None,
        );
        assert_eq!(head.status, 200);
        assert_eq!(head.header("X-Gitlab-Blob-Id"), f.json["blob_id"].as_str());
        assert_eq!(head.header("X-Gitlab-File-Path"), Some("src/a.md"));
        assert_eq!(head.header("X-Gitlab-Size"), Some("6"));
        let raw = call("GET", "/files/src%2Fa.md/raw?ref=main", None);
        assert_eq!((raw.status, raw.text.as_str()), (200, "hello\n"));

        // Binary content round-trips through base64.
        let binary: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
        let r = call(
            "POST",
            "/files/bin%2Fdata.bin",
            Some(
                json!({"branch": "main", "content": b64(&binary), "encoding": "base64",
                        "commit_message": "binary", "author_name": "Ann", "author_email": "ann@example.com"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let f = call("GET", "/files/bin%2Fdata.bin?ref=main", None);
        assert_eq!(f.json["content"], b64(&binary));
        let blob = s
            .request(
                "GET",
                &format!("{base}/blobs/{}/raw", f.json["blob_id"].as_str().unwrap()),
            )
            .set("PRIVATE-TOKEN", &t)
            .call()
            .unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut blob.into_reader(), &mut bytes).unwrap();
        assert_eq!(bytes, binary);

        // Update, then delete.
        let r = call(
            "PUT",
            "/files/src%2Fa.md",
            Some(json!({"branch": "main", "content": "hello again\n", "commit_message": "edit a"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let missing = call(
            "PUT",
            "/files/nope.md",
            Some(json!({"branch": "main", "content": "x", "commit_message": "x"})),
        );
        assert_eq!(missing.status, 400, "{}", missing.text);
        let r = call(
            "DELETE",
            "/files/bin%2Fdata.bin",
            Some(json!({"branch": "main", "commit_message": "drop binary"})),
        );
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(
            call("GET", "/files/bin%2Fdata.bin?ref=main", None).status,
            404
        );

        // Bad paths and refs.
        for bad in [
            "..%2Fetc%2Fpasswd",
            "src%2F..%2F..%2Fx",
            "%2Fetc%2Fpasswd",
            ".git%2Fconfig",
        ] {
            let r = call("GET", &format!("/files/{bad}?ref=main"), None);
            assert_eq!(r.status, 404, "{bad}: {}", r.text);
            assert_eq!(r.json["message"], "404 File Not Found");
            let w = call(
                "POST",
                &format!("/files/{bad}"),
                Some(json!({"branch": "main", "content": "x", "commit_message": "x"})),
            );
            assert_eq!(w.status, 404, "{bad}: {}", w.text);
        }
        let r = call("GET", "/files/src%2Fa.md?ref=nope", None);
        assert_eq!(r.status, 404);
        assert_eq!(r.json["message"], "404 File Not Found");
        let r = call(
            "POST",
            "/files/x.md",
            Some(json!({"content": "x", "commit_message": "x"})),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json["error"], "branch is missing");

        // Too large.
        let big = "a".repeat(10 * 1024 * 1024 + 1);
        let r = call(
            "POST",
            "/files/big.txt",
            Some(json!({"branch": "main", "content": big, "commit_message": "big"})),
        );
        assert_eq!(r.status, 413, "{}", r.text);
        assert!(
            r.json["message"]
                .as_str()
                .unwrap()
                .starts_with("413 File is larger"),
            "{}",
            r.text
        );
        // Larger than actix's default body limit, well within ours.
        let large: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let r = call(
            "POST",
            "/files/large.bin",
            Some(
                json!({"branch": "main", "content": b64(&large), "encoding": "base64", "commit_message": "large"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let f = call("GET", "/files/large.bin?ref=main", None);
        assert_eq!(f.json["content"], b64(&large));
        let r = call(
            "DELETE",
            "/files/large.bin",
            Some(json!({"branch": "main", "commit_message": "drop large"})),
        );
        assert_eq!(r.status, 204, "{}", r.text);

        // The history and tree.
        let commits = call("GET", "/commits?ref_name=main", None);
        let titles: Vec<&str> = commits
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap())
            .collect();
        assert_eq!(
            titles,
            [
                "drop large",
                "large",
                "drop binary",
                "edit a",
                "binary",
                "add a"
            ]
        );
        let by_path = call(
            "GET",
            "/commits?ref_name=main&path=src%2Fa.md&per_page=1",
            None,
        );
        assert_eq!(by_path.json.as_array().unwrap().len(), 1);
        assert_eq!(by_path.json[0]["title"], "edit a");
        assert_eq!(by_path.header("X-Next-Page"), Some("2"));
        let binary_commit = commits.json[4].clone();
        assert_eq!(binary_commit["author_name"], "Ann");
        assert_eq!(binary_commit["committer_name"], "alice");
        let tree = call("GET", "/tree?recursive=true", None);
        assert_eq!(
            tree.json,
            json!([
                {"id": tree.json[0]["id"], "name": "src", "type": "tree", "path": "src", "mode": "040000"},
                {"id": tree.json[1]["id"], "name": "a.md", "type": "blob", "path": "src/a.md", "mode": "100644"},
            ])
        );
        let sub = call("GET", "/tree?path=src", None);
        assert_eq!(sub.json[0]["path"], "src/a.md");
        assert_eq!(call("GET", "/tree?path=nope", None).status, 404);

        // A fresh clone sees it all; the server repository is fsck clean.
        fsck(s, id);
        let dir = tempfile::tempdir().unwrap();
        let url = clone_url(s, &t, "files/p");
        git(dir.path(), &["clone", "-q", &url, "c"]);
        let work = dir.path().join("c");
        assert_eq!(
            std::fs::read_to_string(work.join("src/a.md")).unwrap(),
            "hello again\n"
        );
        assert!(!work.join("bin/data.bin").exists());
        let log = git(&work, &["log", "--format=%s"]);
        assert_eq!(log.lines().collect::<Vec<_>>(), titles);
    });
}

#[test]
fn commits_with_actions_branches_tags_and_compare() {
    each_backend(|s| {
        s.user("alice");
        let bob = s.user("bob");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "acts");
        let base = format!("/api/v4/projects/{id}/repository");
        let call =
            |m: &str, p: &str, b: Option<Value>| s.call(m, &format!("{base}{p}"), Some(&t), b);

        let r = call(
            "POST",
            "/commits",
            Some(
                json!({"branch": "main", "commit_message": "initial", "actions": [
                    {"action": "create", "file_path": "a.txt", "content": "a\n"},
                    {"action": "create", "file_path": "dir/b.txt", "content": b64(b"b\n"), "encoding": "base64"},
                ]}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["title"], "initial");
        assert_eq!(r.json["stats"]["additions"], 2);
        let first = r.json["id"].as_str().unwrap().to_string();

        // A new branch from main, with every kind of action.
        let r = call(
            "POST",
            "/commits",
            Some(
                json!({"branch": "feature/x", "start_branch": "main", "commit_message": "rework", "actions": [
                    {"action": "update", "file_path": "a.txt", "content": "a2\n"},
                    {"action": "move", "previous_path": "dir/b.txt", "file_path": "c.txt"},
                    {"action": "create", "file_path": "d.txt", "content": "d\n"},
                    {"action": "delete", "file_path": "d.txt"},
                ]}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["parent_ids"], json!([first]));
        let second = r.json["id"].as_str().unwrap().to_string();
        // A failing action changes nothing.
        let r = call(
            "POST",
            "/commits",
            Some(
                json!({"branch": "main", "commit_message": "bad", "actions": [
                    {"action": "create", "file_path": "z.txt", "content": "z"},
                    {"action": "delete", "file_path": "missing.txt"},
                ]}),
            ),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(call("GET", "/files/z.txt?ref=main", None).status, 404);

        let c = call("GET", &format!("/commits/{second}"), None);
        assert_eq!(c.status, 200);
        assert_eq!(c.json["short_id"], &second[..8]);
        assert_eq!(call("GET", "/commits/feature%2Fx", None).json["id"], second);
        let nope = call(
            "GET",
            "/commits/0123456789abcdef0123456789abcdef01234567",
            None,
        );
        assert_eq!(
            (nope.status, nope.json["message"].as_str()),
            (404, Some("404 Commit Not Found"))
        );
        let diff = call("GET", &format!("/commits/{second}/diff"), None);
        let paths: Vec<(&str, bool)> = diff
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["new_path"].as_str().unwrap(),
                    d["renamed_file"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(paths, [("a.txt", false), ("c.txt", true)]);
        assert!(diff.json[0]["diff"].as_str().unwrap().contains("-a\n+a2\n"));

        // Branches.
        let list = call("GET", "/branches", None);
        let names: Vec<&str> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["feature/x", "main"]);
        let b = call("GET", "/branches/feature%2Fx", None);
        assert_eq!(b.status, 200, "{}", b.text);
        assert_eq!(b.json["commit"]["id"], second);
        assert_eq!(b.json["default"], false);
        assert_eq!(
            call("GET", "/branches/nope", None).json["message"],
            "404 Branch Not Found"
        );
        let r = call(
            "POST",
            "/branches",
            Some(json!({"branch": "topic", "ref": first})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["merged"], true);
        assert_eq!(
            call(
                "POST",
                "/branches",
                Some(json!({"branch": "topic", "ref": "main"}))
            )
            .status,
            400
        );
        assert_eq!(
            call(
                "POST",
                "/branches",
                Some(json!({"branch": "t2", "ref": "nope"}))
            )
            .status,
            400
        );
        assert_eq!(
            call(
                "POST",
                "/branches",
                Some(json!({"branch": "a..b", "ref": "main"}))
            )
            .status,
            400
        );
        assert_eq!(call("DELETE", "/branches/topic", None).status, 204);
        assert_eq!(call("DELETE", "/branches/topic", None).status, 404);

        // Tags: lightweight and annotated.
        let r = call(
            "POST",
            "/tags",
            Some(json!({"tag_name": "v1", "ref": "main"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["commit"]["id"], first);
        let r = call(
            "POST",
            "/tags",
            Some(json!({"tag_name": "v2", "ref": "feature/x", "message": "second"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["message"], "second");
        assert_ne!(r.json["target"], second);
        assert_eq!(
            call(
                "POST",
                "/tags",
                Some(json!({"tag_name": "v1", "ref": "main"}))
            )
            .status,
            400
        );
        let tags = call("GET", "/tags", None);
        assert_eq!(tags.json.as_array().unwrap().len(), 2);
        assert_eq!(call("GET", "/tags/v2", None).json["commit"]["id"], second);
        assert_eq!(call("DELETE", "/tags/v1", None).status, 204);
        assert_eq!(call("GET", "/tags/v1", None).status, 404);

        // Compare.
        let cmp = call("GET", "/compare?from=main&to=feature%2Fx", None);
        assert_eq!(cmp.status, 200, "{}", cmp.text);
        assert_eq!(cmp.json["commits"].as_array().unwrap().len(), 1);
        assert_eq!(cmp.json["commit"]["id"], second);
        assert_eq!(cmp.json["diffs"].as_array().unwrap().len(), 2);
        assert_eq!(cmp.json["compare_same_ref"], false);
        assert_eq!(call("GET", "/compare?from=main&to=nope", None).status, 404);

        // Protected branches: no one may push to main; developers may not delete tags.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/protected_branches"),
            Some(&t),
            Some(json!({"name": "main", "push_access_level": 0})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = call(
            "PUT",
            "/files/a.txt",
            Some(json!({"branch": "main", "content": "no\n", "commit_message": "x"})),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(
            r.json["message"],
            "You are not allowed to push into this branch"
        );
        assert_eq!(call("DELETE", "/branches/main", None).status, 400);

        // A Developer writes to unprotected branches; a read-only token writes nothing.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/members"),
            Some(&t),
            Some(json!({"user_id": bob, "access_level": 30})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let bob_api = s.legacy_token("bob", "api");
        let bob_read = s.legacy_token("bob", "read_api");
        let write = json!({"branch": "feature/x", "content": "bob\n", "commit_message": "bob"});
        let r = s.call(
            "POST",
            &format!("{base}/files/bob.txt"),
            Some(&bob_read),
            Some(write.clone()),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(
            s.get(&format!("{base}/files/a.txt?ref=main"), &bob_read)
                .status,
            200
        );
        let r = s.call(
            "POST",
            &format!("{base}/files/bob.txt"),
            Some(&bob_api),
            Some(write),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            s.call("DELETE", &format!("{base}/tags/v2"), Some(&bob_api), None)
                .status,
            403
        );
        let r = s.call(
            "PUT",
            &format!("{base}/files/a.txt"),
            Some(&bob_api),
            Some(json!({"branch": "main", "content": "no\n", "commit_message": "x"})),
        );
        assert_eq!(r.status, 403, "{}", r.text);
        fsck(s, id);
    });
}

#[test]
fn web_urls_come_from_the_external_url_not_the_host_header() {
    for backend in common::backends() {
        let s = Server::start(
            &backend,
            &[("TINFORGE_EXTERNAL_URL", "https://forge.example.com/")],
        );
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(&s, &t, "links");
        let created = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/repository/files/README.md"),
            Some(&t),
            Some(json!({"branch": "main", "content": "hi", "commit_message": "first"})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let commits = s
            .request("GET", &format!("/api/v4/projects/{id}/repository/commits"))
            .set("PRIVATE-TOKEN", &t)
            .set("Host", "evil.example.net")
            .call();
        let commits = common::Reply::from(commits);
        assert_eq!(commits.status, 200, "{}", commits.text);
        let url = commits.json[0]["web_url"].as_str().unwrap();
        assert!(
            url.starts_with("https://forge.example.com/links/p/-/commit/"),
            "{url}"
        );
        // Branch lists carry GitLab's pagination headers, Link included, on the external URL.
        let path = format!("/api/v4/projects/{id}/repository/branches");
        let branches = s
            .request("GET", &format!("{path}?per_page=1"))
            .set("PRIVATE-TOKEN", &t)
            .set("Host", "evil.example.net")
            .call();
        let branches = common::Reply::from(branches);
        assert_eq!(branches.status, 200, "{}", branches.text);
        assert_eq!(branches.header("X-Total"), Some("1"));
        let link = branches.header("Link").expect("a Link header");
        assert!(
            link.contains(&format!(
                "<https://forge.example.com{path}?page=1&per_page=1>; rel=\"first\""
            )),
            "{link}"
        );
        assert!(link.contains("rel=\"last\""), "{link}");
        assert!(!link.contains("evil.example.net"), "{link}");
    }
}
