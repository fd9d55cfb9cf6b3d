//! The repository over GraphQL, black-box on both databases: `project { repository { rootRef
//! exists empty tree blobs } }` over commits written through REST, `commitCreate` read back over
//! the REST files API, protected branches, and `mergeRequestCreate` + `mergeRequestAccept`
//! producing merge commits REST sees; refusals the caller can fix are payload errors, missing
//! rights are top-level errors.

mod common;

use base64::Engine;
use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn gql(s: &Server, token: Option<&str>, query: &str, variables: Value) -> Reply {
    s.graphql(token, query, variables)
}

fn no_errors(r: &Reply) {
    assert!(r.json.get("errors").is_none(), "{}", r.text);
}

fn code(r: &Reply) -> &str {
    r.json["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", r.text))
}

/// A project of alice's (`alice/<path>`, default branch `main`); returns its id.
fn project(s: &Server, alice: &str, path: &str, visibility: &str) -> i64 {
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(alice),
        Some(json!({"name": path, "path": path, "visibility": visibility,
                    "default_branch": "main"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// One REST commit on `branch` (from `main` when new) with these actions; returns its sha.
fn commit(s: &Server, token: &str, project: i64, branch: &str, actions: Value) -> String {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/repository/commits"),
        Some(token),
        Some(
            json!({"branch": branch, "start_branch": "main", "commit_message": "seed",
                    "actions": actions}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn create(path: &str, content: &str) -> Value {
    json!({"action": "create", "file_path": path, "content": content})
}

fn tip(s: &Server, token: &str, project: i64, branch: &str) -> Reply {
    s.get(
        &format!("/api/v4/projects/{project}/repository/branches/{branch}"),
        token,
    )
}

/// The text of a file at a ref, over the REST files API.
fn file(s: &Server, token: &str, project: i64, path: &str, reference: &str) -> String {
    let encoded = path.replace('/', "%2F");
    let r = s.get(
        &format!("/api/v4/projects/{project}/repository/files/{encoded}?ref={reference}"),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r.json["content"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn add_member(s: &Server, owner: &str, project: i64, user: i64, level: i64) {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/members"),
        Some(owner),
        Some(json!({"user_id": user, "access_level": level})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

const REPO: &str =
    "query($p: ID!) { project(fullPath: $p) { repository { rootRef exists empty } } }";

const TREE: &str = "query($p: ID!, $path: String, $ref: String, $recursive: Boolean) {
    project(fullPath: $p) { repository { tree(path: $path, ref: $ref, recursive: $recursive) {
      lastCommit { sha title message authorName authoredDate webUrl }
      blobs { nodes { id sha name path flatPath type mode webPath } pageInfo { hasNextPage } }
      trees { nodes { id sha name path flatPath type webPath } }
    } } } }";

const BLOBS: &str = "query($p: ID!, $paths: [String!]!, $ref: String) {
    project(fullPath: $p) { repository { blobs(paths: $paths, ref: $ref) {
      nodes { id oid path name size rawSize rawTextBlob rawBlob webPath } } } } }";

/// `project.repository.<field>` of a reply.
fn repo<'a>(r: &'a Reply, field: &str) -> &'a Value {
    &r.json["data"]["project"]["repository"][field]
}

fn names(v: &Value) -> Vec<String> {
    v["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|n| n["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn repository_tree_blobs_and_root_ref() {
    each_backend(|s| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let id = project(s, &alice, "p", "private");
        let p = json!({"p": "alice/p"});

        // An empty repository: no root ref, no tree.
        let r = gql(s, Some(&alice), REPO, p.clone());
        no_errors(&r);
        let facts = &r.json["data"]["project"]["repository"];
        assert_eq!(facts["rootRef"], Value::Null, "{facts}");
        assert_eq!(facts["empty"], true, "{facts}");
        let r = gql(s, Some(&alice), TREE, p.clone());
        no_errors(&r);
        assert!(repo(&r, "tree").is_null(), "{}", r.text);

        let sha = commit(
            s,
            &alice,
            id,
            "main",
            json!([create("README.md", "# hello\n"), create("src/lib/a.rs", "fn a() {}\n"),
                   {"action": "create", "file_path": "bin.dat", "content": "AAEC/w==",
                    "encoding": "base64"}]),
        );
        let r = gql(s, Some(&alice), REPO, p.clone());
        let facts = &r.json["data"]["project"]["repository"];
        assert_eq!(facts["rootRef"], "main", "{facts}");
        assert_eq!(facts["exists"], true, "{facts}");
        assert_eq!(facts["empty"], false, "{facts}");

        let r = gql(s, Some(&alice), TREE, p.clone());
        no_errors(&r);
        let tree = repo(&r, "tree");
        assert_eq!(names(&tree["blobs"]), ["README.md", "bin.dat"], "{tree}");
        let readme = &tree["blobs"]["nodes"][0];
        assert_eq!(readme["name"], "README.md");
        assert_eq!(readme["flatPath"], "README.md");
        assert_eq!(readme["type"], "blob");
        assert_eq!(readme["mode"], "100644");
        assert_eq!(readme["webPath"], "/alice/p/-/blob/main/README.md");
        assert_eq!(readme["sha"].as_str().unwrap().len(), 40);
        assert_eq!(names(&tree["trees"]), ["src"]);
        let src = &tree["trees"]["nodes"][0];
        assert_eq!(src["type"], "tree");
        assert_eq!(
            src["flatPath"], "src/lib",
            "single-directory chains collapse"
        );
        assert_eq!(src["webPath"], "/alice/p/-/tree/main/src");
        let last = &tree["lastCommit"];
        assert_eq!(last["sha"], sha.as_str());
        assert_eq!(last["title"], "seed");
        assert!(last["authoredDate"].is_string(), "{last}");
        assert!(
            last["webUrl"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/alice/p/-/commit/{sha}")),
            "{last}"
        );

        // A subdirectory, recursively; at a ref; what does not exist is null.
        let r = gql(
            s,
            Some(&alice),
            TREE,
            json!({"p": "alice/p", "path": "src", "recursive": true, "ref": sha}),
        );
        no_errors(&r);
        let tree = repo(&r, "tree");
        assert_eq!(names(&tree["trees"]), ["src/lib"]);
        assert_eq!(names(&tree["blobs"]), ["src/lib/a.rs"]);
        for vars in [
            json!({"p": "alice/p", "ref": "nope"}),
            json!({"p": "alice/p", "path": "missing"}),
            json!({"p": "alice/p", "path": "README.md"}),
            json!({"p": "alice/p", "path": "../etc"}),
        ] {
            let r = gql(s, Some(&alice), TREE, vars);
            no_errors(&r);
            assert!(repo(&r, "tree").is_null(), "{}", r.text);
        }

        // Blobs with their contents; binary files have no text.
        let r = gql(
            s,
            Some(&alice),
            BLOBS,
            json!({"p": "alice/p", "paths": ["README.md", "bin.dat", "missing", "src", "src/lib/a.rs"]}),
        );
        no_errors(&r);
        let blobs = repo(&r, "blobs");
        assert_eq!(names(blobs), ["README.md", "bin.dat", "src/lib/a.rs"]);
        let readme = &blobs["nodes"][0];
        assert_eq!(readme["rawTextBlob"], "# hello\n");
        assert_eq!(readme["rawBlob"], "# hello\n");
        assert_eq!(readme["size"], 8);
        assert_eq!(readme["rawSize"], 8);
        assert_eq!(readme["name"], "README.md");
        assert_eq!(readme["webPath"], "/alice/p/-/blob/main/README.md");
        let oid = readme["oid"].as_str().unwrap();
        assert_eq!(readme["id"], format!("gid://gitlab/Blob/{oid}"));
        let bin = &blobs["nodes"][1];
        assert_eq!(bin["rawTextBlob"], Value::Null, "{bin}");
        assert_eq!(bin["size"], 4);
        let r = gql(
            s,
            Some(&alice),
            BLOBS,
            json!({"p": "alice/p", "paths": ["README.md"], "ref": "nope"}),
        );
        no_errors(&r);
        assert_eq!(repo(&r, "blobs")["nodes"], json!([]));

        // A private project is not there for outsiders, exactly like a missing one.
        s.user("dave");
        let dave = s.legacy_token("dave", "api");
        for token in [Some(dave.as_str()), None] {
            for project in ["alice/p", "alice/nothing"] {
                let r = gql(s, token, TREE, json!({"p": project}));
                no_errors(&r);
                assert!(r.json["data"]["project"].is_null(), "{}", r.text);
            }
        }
        // A Guest sees the project but not its code (Reporter+, as REST).
        let bob = s.user("bob");
        add_member(s, &alice, id, bob, 10);
        let bob_api = s.legacy_token("bob", "api");
        let r = gql(s, Some(&bob_api), REPO, p.clone());
        assert!(
            r.json["data"]["project"]["repository"].is_null(),
            "{}",
            r.text
        );
        assert_eq!(code(&r), "role_too_low");
        let r = s.get(&format!("/api/v4/projects/{id}/repository/tree"), &bob_api);
        assert_eq!(r.status, 403, "{}", r.text);

        // Fine-grained: repository:read is needed, as for REST's tree.
        let fg = s.fine_token("alice", "project:read", "personal_projects", &[]);
        let r = gql(s, Some(&fg), REPO, p.clone());
        assert!(
            r.json["data"]["project"]["repository"].is_null(),
            "{}",
            r.text
        );
        assert_eq!(code(&r), "insufficient_scope");
        let reader = s.fine_token(
            "alice",
            "project:read,repository:read",
            "personal_projects",
            &[],
        );
        let r = gql(s, Some(&reader), TREE, p.clone());
        no_errors(&r);
        assert_eq!(names(&repo(&r, "tree")["blobs"]), ["README.md", "bin.dat"]);

        // A public project's code is readable anonymously.
        let public = project(s, &alice, "pub", "public");
        commit(
            s,
            &alice,
            public,
            "main",
            json!([create("open.txt", "o\n")]),
        );
        let r = gql(s, None, TREE, json!({"p": "alice/pub"}));
        no_errors(&r);
        assert_eq!(names(&repo(&r, "tree")["blobs"]), ["open.txt"]);
    });
}

const COMMIT: &str = "mutation($i: CommitCreateInput!) { commitCreate(input: $i) {
    clientMutationId errors content commit { sha id title message webUrl } } }";

#[test]
fn commit_create_writes_files_and_respects_protected_branches() {
    each_backend(|s| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let id = project(s, &alice, "p", "private");
        let commit_as = |token: &str, input: Value| {
            let r = gql(s, Some(token), COMMIT, json!({ "i": input }));
            (r.json["data"]["commitCreate"].clone(), r)
        };

        // The first commit of an empty repository creates the branch.
        let (p, r) = commit_as(
            &alice,
            json!({"clientMutationId": "c1", "projectPath": "alice/p", "branch": "main",
                   "message": "Add docs\n\nWith a body.",
                   "actions": [{"action": "CREATE", "filePath": "docs/a.md", "content": "hello"},
                               {"action": "CREATE", "filePath": "b.bin", "content": "AAEC",
                                "encoding": "BASE64"}]}),
        );
        no_errors(&r);
        assert_eq!(p["errors"], json!([]), "{p}");
        assert_eq!(p["clientMutationId"], "c1");
        assert_eq!(p["content"], json!(["hello", "AAEC"]));
        let sha = p["commit"]["sha"].as_str().unwrap().to_string();
        assert_eq!(p["commit"]["title"], "Add docs");
        assert_eq!(p["commit"]["message"], "Add docs\n\nWith a body.");
        assert!(
            p["commit"]["webUrl"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/alice/p/-/commit/{sha}"))
        );
        assert_eq!(file(s, &alice, id, "docs/a.md", "main"), "hello");
        assert_eq!(
            tip(s, &alice, id, "main").json["commit"]["id"],
            sha.as_str()
        );

        // A new branch from `startBranch`; main is untouched.
        let (p, _) = commit_as(
            &alice,
            json!({"projectPath": "alice/p", "branch": "feature", "startBranch": "main",
                   "message": "Edit",
                   "actions": [{"action": "UPDATE", "filePath": "docs/a.md", "content": "changed"},
                               {"action": "MOVE", "previousPath": "b.bin", "filePath": "c.bin"}]}),
        );
        assert_eq!(p["errors"], json!([]), "{p}");
        assert_eq!(file(s, &alice, id, "docs/a.md", "feature"), "changed");
        assert_eq!(file(s, &alice, id, "docs/a.md", "main"), "hello");
        let (p, _) = commit_as(
            &alice,
            json!({"projectPath": "alice/p", "branch": "feature", "message": "Chmod",
                   "actions": [{"action": "CHMOD", "filePath": "docs/a.md",
                                "executeFilemode": true}]}),
        );
        assert_eq!(p["errors"], json!([]), "{p}");
        let r = s.get(
            &format!("/api/v4/projects/{id}/repository/files/docs%2Fa.md?ref=feature"),
            &alice,
        );
        assert_eq!(r.json["execute_filemode"], true, "{}", r.text);
        // REST's commits API takes the same action (it shares the parsing).
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(&alice),
            Some(json!({"branch": "feature", "commit_message": "Chmod back",
                        "actions": [{"action": "chmod", "file_path": "docs/a.md",
                                     "execute_filemode": false}]})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = s.get(
            &format!("/api/v4/projects/{id}/repository/files/docs%2Fa.md?ref=feature"),
            &alice,
        );
        assert_eq!(r.json["execute_filemode"], false, "{}", r.text);

        // What the caller can fix is a payload error, and nothing is written.
        let create_x = json!({"action": "CREATE", "filePath": "x", "content": "x"});
        for (branch, action, error) in [
            (
                "main",
                json!({"action": "UPDATE", "filePath": "nope.md", "content": "x"}),
                "A file with this name doesn't exist",
            ),
            (
                "main",
                json!({"action": "CREATE", "filePath": "docs/a.md", "content": "x"}),
                "A file with this name already exists",
            ),
            (
                "main",
                json!({"action": "CREATE", "filePath": "x", "content": "!!", "encoding": "BASE64"}),
                "content is not valid base64",
            ),
            (
                "other",
                create_x.clone(),
                "You can only create or edit files when you are on a branch",
            ),
            (
                "main",
                json!({"action": "CREATE", "filePath": "../x", "content": "x"}),
                "file_path is invalid",
            ),
            ("a..b", create_x.clone(), "branch is invalid"),
        ] {
            let input = json!({"projectPath": "alice/p", "branch": branch, "message": "m",
                               "actions": [action]});
            let (p, r) = commit_as(&alice, input);
            no_errors(&r);
            assert_eq!(p["errors"], json!([error]), "{p}");
            assert!(p["commit"].is_null(), "{p}");
        }
        assert_eq!(
            tip(s, &alice, id, "main").json["commit"]["id"],
            sha.as_str()
        );

        // A protected branch needs its push level: a Developer is refused there, not elsewhere.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/protected_branches"),
            Some(&alice),
            Some(json!({"name": "main", "push_access_level": 40, "merge_access_level": 40})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let bob = s.user("bob");
        add_member(s, &alice, id, bob, 30);
        let bob_api = s.legacy_token("bob", "api");
        let write = |branch: &str| {
            json!({"projectPath": "alice/p", "branch": branch, "startBranch": "main",
                   "message": "bob", "actions": [{"action": "CREATE", "filePath": "bob.txt",
                                                  "content": "b"}]})
        };
        let (p, r) = commit_as(&bob_api, write("main"));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "forbidden");
        assert_eq!(
            r.json["errors"][0]["message"],
            "You are not allowed to push into this branch"
        );
        assert_eq!(
            tip(s, &alice, id, "main").json["commit"]["id"],
            sha.as_str()
        );
        let (p, r) = commit_as(&bob_api, write("bob-branch"));
        no_errors(&r);
        assert_eq!(p["errors"], json!([]), "{p}");
        assert_eq!(file(s, &alice, id, "bob.txt", "bob-branch"), "b");

        // Fine-grained: repository:update, as REST's commits API; outsiders see nothing.
        let reader = s.fine_token(
            "alice",
            "project:read,repository:read",
            "personal_projects",
            &[],
        );
        let (p, r) = commit_as(&reader, write("r"));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "insufficient_scope");
        s.user("dave");
        let dave = s.legacy_token("dave", "api");
        let (p, r) = commit_as(&dave, write("d"));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "not_visible");
    });
}

const OPEN: &str = "mutation($i: MergeRequestCreateInput!) { mergeRequestCreate(input: $i) {
    errors mergeRequest { iid title description state sourceBranch targetBranch
      mergeStatusEnum detailedMergeStatus conflicts mergeable diffHeadSha } } }";

const ACCEPT: &str = "mutation($i: MergeRequestAcceptInput!) { mergeRequestAccept(input: $i) {
    clientMutationId errors mergeRequest { iid state mergeCommitSha mergedAt } } }";

#[test]
fn merge_requests_are_opened_and_accepted() {
    each_backend(|s| {
        s.user("alice");
        let alice = s.legacy_token("alice", "api");
        let id = project(s, &alice, "p", "private");
        commit(
            s,
            &alice,
            id,
            "main",
            json!([create("README.md", "# base\n")]),
        );
        let f1 = commit(s, &alice, id, "f1", json!([create("f1.txt", "one\n")]));
        let open = |token: &str, source: &str, title: &str| {
            let r = gql(
                s,
                Some(token),
                OPEN,
                json!({"i": {"projectPath": "alice/p", "title": title, "sourceBranch": source,
                              "targetBranch": "main", "description": "d"}}),
            );
            (r.json["data"]["mergeRequestCreate"].clone(), r)
        };
        let accept = |token: &str, iid: &str, sha: &str, extra: Value| {
            let mut input = json!({"projectPath": "alice/p", "iid": iid, "sha": sha});
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            let r = gql(s, Some(token), ACCEPT, json!({ "i": input }));
            (r.json["data"]["mergeRequestAccept"].clone(), r)
        };

        let (p, r) = open(&alice, "f1", "First");
        no_errors(&r);
        assert_eq!(p["errors"], json!([]), "{p}");
        let mr = &p["mergeRequest"];
        assert_eq!(mr["iid"], "1");
        assert_eq!(mr["state"], "opened");
        assert_eq!(mr["description"], "d");
        assert_eq!(mr["mergeStatusEnum"], "CAN_BE_MERGED");
        assert_eq!(mr["detailedMergeStatus"], "MERGEABLE");
        assert_eq!(mr["conflicts"], false);
        assert_eq!(mr["mergeable"], true);
        assert_eq!(mr["diffHeadSha"], f1.as_str());

        // Branches that do not exist, the same branch twice, a duplicate: payload errors.
        for (source, error) in [
            ("nope", "Source branch does not exist"),
            (
                "main",
                "You can't use same project/branch for source and target",
            ),
            (
                "f1",
                "Another open merge request already exists for this source branch: !1",
            ),
        ] {
            let (p, r) = open(&alice, source, "x");
            no_errors(&r);
            assert_eq!(p["errors"], json!([error]), "{p}");
            assert!(p["mergeRequest"].is_null(), "{p}");
        }

        // A stale sha is refused in the payload; nothing is merged.
        let (p, r) = accept(&alice, "1", &"0".repeat(40), json!({}));
        no_errors(&r);
        assert_eq!(
            p["errors"],
            json!([format!("SHA does not match HEAD of source branch: {f1}")]),
            "{p}"
        );
        assert_eq!(p["mergeRequest"]["state"], "opened");

        // Without repository:update a fine-grained token may not merge, whatever it holds on MRs.
        let mr_only = s.fine_token(
            "alice",
            "project:read,merge_request:read,merge_request:update",
            "personal_projects",
            &[],
        );
        let (p, r) = accept(&mr_only, "1", &f1, json!({}));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "insufficient_scope");
        assert_eq!(
            r.json["errors"][0]["extensions"]["missing"],
            json!(["repository:update"]),
            "{}",
            r.text
        );

        // The merge: a merge commit on main, visible over REST; the source branch is removed.
        let before = tip(s, &alice, id, "main").json["commit"]["id"].clone();
        let (p, r) = accept(
            &alice,
            "1",
            &f1,
            json!({"clientMutationId": "m1", "shouldRemoveSourceBranch": true,
                   "commitMessage": "Merge f1"}),
        );
        no_errors(&r);
        assert_eq!(p["errors"], json!([]), "{p}");
        assert_eq!(p["clientMutationId"], "m1");
        let merged = &p["mergeRequest"];
        assert_eq!(merged["state"], "merged");
        assert!(merged["mergedAt"].is_string(), "{merged}");
        let merge_sha = merged["mergeCommitSha"].as_str().unwrap().to_string();
        let head = tip(s, &alice, id, "main");
        assert_eq!(head.json["commit"]["id"], merge_sha.as_str());
        assert_eq!(head.json["commit"]["title"], "Merge f1");
        assert_eq!(head.json["commit"]["parent_ids"], json!([before, f1]));
        assert_eq!(file(s, &alice, id, "f1.txt", "main"), "one\n");
        assert_eq!(
            tip(s, &alice, id, "f1").status,
            404,
            "the source branch is removed"
        );
        let r = s.get(&format!("/api/v4/projects/{id}/merge_requests/1"), &alice);
        assert_eq!(r.json["state"], "merged", "{}", r.text);
        assert_eq!(r.json["merge_commit_sha"], merge_sha.as_str());

        // Merged already: not mergeable again.
        let (p, _) = accept(&alice, "1", &f1, json!({}));
        assert_eq!(
            p["errors"],
            json!(["Merge request is not mergeable"]),
            "{p}"
        );

        // Conflicts are a payload error too.
        let clash = commit(
            s,
            &alice,
            id,
            "clash",
            json!([
            {"action": "update", "file_path": "README.md", "content": "# theirs\n"}]),
        );
        commit(
            s,
            &alice,
            id,
            "main",
            json!([
            {"action": "update", "file_path": "README.md", "content": "# ours\n"}]),
        );
        let (p, _) = open(&alice, "clash", "Clash");
        let mr = &p["mergeRequest"];
        assert_eq!(mr["iid"], "2", "{p}");
        assert_eq!(mr["detailedMergeStatus"], "CONFLICT");
        assert_eq!(mr["mergeStatusEnum"], "CANNOT_BE_MERGED");
        assert_eq!(mr["conflicts"], true);
        assert_eq!(mr["mergeable"], false);
        let (p, r) = accept(&alice, "2", &clash, json!({}));
        no_errors(&r);
        assert_eq!(p["errors"], json!(["Branch cannot be merged"]), "{p}");
        assert_eq!(p["mergeRequest"]["state"], "opened");

        // A protected target needs its merge level; unknown merge requests are not there.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/protected_branches"),
            Some(&alice),
            Some(json!({"name": "main", "push_access_level": 40, "merge_access_level": 40})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let f3 = commit(s, &alice, id, "f3", json!([create("f3.txt", "3\n")]));
        let (p, _) = open(&alice, "f3", "Third");
        assert_eq!(p["mergeRequest"]["iid"], "3", "{p}");
        let bob = s.user("bob");
        add_member(s, &alice, id, bob, 30);
        let bob_api = s.legacy_token("bob", "api");
        let (p, r) = accept(&bob_api, "3", &f3, json!({}));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "forbidden");
        let (p, r) = accept(&alice, "9", &f3, json!({}));
        assert!(p.is_null(), "{}", r.text);
        assert_eq!(code(&r), "not_visible");
        let (p, r) = accept(&alice, "3", &f3, json!({}));
        no_errors(&r);
        assert_eq!(p["mergeRequest"]["state"], "merged", "{p}");
    });
}
