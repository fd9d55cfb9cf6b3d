//! Merge requests over GraphQL, black-box on both databases: `project { mergeRequest
//! mergeRequests }` over merge requests opened through REST between branches written through the
//! repository API, with state filter, pages, and the field denied to a token without
//! `merge_request:read`.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn gql(s: &Server, token: Option<&str>, query: &str, variables: Value) -> Reply {
    let r = s.call(
        "POST",
        "/api/graphql",
        token,
        Some(json!({"query": query, "variables": variables})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn no_errors(r: &Reply) {
    assert!(r.json.get("errors").is_none(), "{}", r.text);
}

/// One commit on `branch` (from `main`) creating `file`.
fn write(s: &Server, token: &str, project: i64, branch: &str, file: &str) {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/repository/commits"),
        Some(token),
        Some(
            json!({"branch": branch, "start_branch": "main", "commit_message": file,
                    "actions": [{"action": "create", "file_path": file, "content": "x\n"}]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn open(s: &Server, token: &str, project: i64, source: &str, title: &str) -> Value {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/merge_requests"),
        Some(token),
        Some(
            json!({"source_branch": source, "target_branch": "main", "title": title,
                    "description": "desc"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

/// alice's private project `alice/p` with three merge requests (the second one closed).
fn world(s: &Server) -> (String, i64) {
    s.user("alice");
    let alice = s.legacy_token("alice", "api");
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(&alice),
        Some(json!({"name": "p", "path": "p", "visibility": "private", "default_branch": "main"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let project = r.json["id"].as_i64().unwrap();
    write(s, &alice, project, "main", "README.md");
    for n in 1..=3 {
        let branch = format!("f{n}");
        write(s, &alice, project, &branch, &format!("f{n}.txt"));
        open(s, &alice, project, &branch, &format!("Change {n}"));
    }
    let r = s.call(
        "PUT",
        &format!("/api/v4/projects/{project}/merge_requests/2"),
        Some(&alice),
        Some(json!({"state_event": "close"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    (alice, project)
}

const ONE: &str =
    "query($iid: String!) { project(fullPath: \"alice/p\") { mergeRequest(iid: $iid) {
    id iid title description state draft sourceBranch targetBranch webUrl createdAt mergedAt
    author { username } } } }";

const LIST: &str = "query($after: String, $state: MergeRequestState) {
    project(fullPath: \"alice/p\") { mergeRequests(first: 2, after: $after, state: $state) {
      count nodes { iid title state } pageInfo { hasNextPage endCursor } } } }";

fn iids(r: &Reply) -> Vec<String> {
    r.json["data"]["project"]["mergeRequests"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|n| n["iid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn merge_requests_get_list_filter_and_page() {
    each_backend(|s| {
        let (alice, _) = world(s);

        let r = gql(s, Some(&alice), ONE, json!({"iid": "1"}));
        no_errors(&r);
        let mr = &r.json["data"]["project"]["mergeRequest"];
        assert!(
            mr["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://gitlab/MergeRequest/"),
            "{mr}"
        );
        assert_eq!(mr["iid"], "1");
        assert_eq!(mr["title"], "Change 1");
        assert_eq!(mr["description"], "desc");
        assert_eq!(mr["state"], "opened");
        assert_eq!(mr["draft"], false);
        assert_eq!(mr["sourceBranch"], "f1");
        assert_eq!(mr["targetBranch"], "main");
        assert!(
            mr["webUrl"]
                .as_str()
                .unwrap()
                .ends_with("/alice/p/-/merge_requests/1"),
            "{mr}"
        );
        assert!(mr["createdAt"].is_string(), "{mr}");
        assert!(mr["mergedAt"].is_null(), "{mr}");
        assert_eq!(mr["author"]["username"], "alice");

        let r = gql(s, Some(&alice), ONE, json!({"iid": "2"}));
        assert_eq!(r.json["data"]["project"]["mergeRequest"]["state"], "closed");
        for missing in ["9", "x"] {
            let r = gql(s, Some(&alice), ONE, json!({"iid": missing}));
            no_errors(&r);
            assert!(
                r.json["data"]["project"]["mergeRequest"].is_null(),
                "{}",
                r.text
            );
        }

        let r = gql(s, Some(&alice), LIST, json!({}));
        no_errors(&r);
        assert_eq!(iids(&r), ["1", "2"]);
        let list = &r.json["data"]["project"]["mergeRequests"];
        assert_eq!(list["count"], 3);
        assert_eq!(list["pageInfo"]["hasNextPage"], true);
        let after = list["pageInfo"]["endCursor"].clone();
        let r = gql(s, Some(&alice), LIST, json!({"after": after}));
        no_errors(&r);
        assert_eq!(iids(&r), ["3"]);
        assert_eq!(
            r.json["data"]["project"]["mergeRequests"]["pageInfo"]["hasNextPage"],
            false
        );

        let r = gql(s, Some(&alice), LIST, json!({"state": "opened"}));
        assert_eq!(iids(&r), ["1", "3"]);
        let r = gql(s, Some(&alice), LIST, json!({"state": "closed"}));
        assert_eq!(iids(&r), ["2"]);
        let r = gql(s, Some(&alice), LIST, json!({"state": "merged"}));
        assert!(iids(&r).is_empty());
    });
}

#[test]
fn merge_requests_need_merge_request_read_and_a_visible_project() {
    each_backend(|s| {
        world(s);
        let q = "{ project(fullPath: \"alice/p\") { id mergeRequests { nodes { iid } } } }";

        let fg = s.fine_token("alice", "project:read", "personal_projects", &[]);
        let r = gql(s, Some(&fg), q, json!({}));
        assert!(r.json["data"]["project"]["id"].is_string(), "{}", r.text);
        assert!(
            r.json["data"]["project"]["mergeRequests"].is_null(),
            "{}",
            r.text
        );
        let code = r.json["errors"][0]["extensions"]["code"].as_str();
        assert_eq!(code, Some("insufficient_scope"), "{}", r.text);

        let reader = s.fine_token(
            "alice",
            "project:read,merge_request:read",
            "personal_projects",
            &[],
        );
        let r = gql(s, Some(&reader), q, json!({}));
        no_errors(&r);
        assert_eq!(
            r.json["data"]["project"]["mergeRequests"]["nodes"]
                .as_array()
                .unwrap()
                .len(),
            3
        );

        s.user("dave");
        let dave = s.legacy_token("dave", "api");
        for token in [Some(dave.as_str()), None] {
            let r = gql(s, token, q, json!({}));
            assert!(r.json["data"]["project"].is_null(), "{}", r.text);
        }
    });
}

const UPDATE: &str = "mutation($i: MergeRequestUpdateInput!) { mergeRequestUpdate(input: $i) {
    errors mergeRequest { iid title description state } } }";

#[test]
fn merge_requests_are_edited_closed_and_reopened() {
    each_backend(|s| {
        let (alice, _) = world(s);
        let update = |input: Value| {
            let r = gql(s, Some(&alice), UPDATE, json!({ "i": input }));
            no_errors(&r);
            r.json["data"]["mergeRequestUpdate"].clone()
        };
        let p = update(
            json!({"projectPath": "alice/p", "iid": "1", "title": "Renamed",
                              "description": "new", "state": "CLOSED"}),
        );
        assert_eq!(p["errors"], json!([]), "{p}");
        assert_eq!(p["mergeRequest"]["title"], "Renamed");
        assert_eq!(p["mergeRequest"]["description"], "new");
        assert_eq!(p["mergeRequest"]["state"], "closed");
        let p = update(json!({"projectPath": "alice/p", "iid": "1", "state": "OPENED"}));
        assert_eq!(p["mergeRequest"]["state"], "opened");
        assert_eq!(p["mergeRequest"]["title"], "Renamed");

        // REST sees the change.
        let r = s.call(
            "GET",
            "/api/v4/projects/alice%2Fp/merge_requests/1",
            Some(&alice),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["title"], "Renamed");
        assert_eq!(r.json["state"], "opened");

        let p = update(json!({"projectPath": "alice/p", "iid": "1", "title": " "}));
        assert_eq!(p["errors"], json!(["Title is missing"]), "{p}");
        assert!(p["mergeRequest"].is_null(), "{p}");

        let r = gql(
            s,
            Some(&alice),
            UPDATE,
            json!({"i": {"projectPath": "alice/p", "iid": "9", "title": "x"}}),
        );
        assert!(r.json["data"]["mergeRequestUpdate"].is_null(), "{}", r.text);
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "not_visible",
            "{}",
            r.text
        );

        let reader = s.fine_token(
            "alice",
            "project:read,merge_request:read",
            "personal_projects",
            &[],
        );
        let r = gql(
            s,
            Some(&reader),
            UPDATE,
            json!({"i": {"projectPath": "alice/p", "iid": "1", "title": "x"}}),
        );
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "insufficient_scope",
            "{}",
            r.text
        );
    });
}

#[test]
fn merge_request_notes_and_the_labels_filter() {
    each_backend(|s| {
        let (alice, project) = world(s);
        let mr = |iid: i64| format!("/api/v4/projects/{project}/merge_requests/{iid}");
        for body in ["First look", "Second look"] {
            let r = s.call(
                "POST",
                &format!("{}/notes", mr(1)),
                Some(&alice),
                Some(json!({ "body": body })),
            );
            assert_eq!(r.status, 201, "{}", r.text);
        }
        let r = s.call("PUT", &mr(3), Some(&alice), Some(json!({"labels": "bug"})));
        assert_eq!(r.status, 200, "{}", r.text);

        let notes = "{ project(fullPath: \"alice/p\") { mergeRequest(iid: \"1\") {
            notes { nodes { body system author { username } } } } } }";
        let r = gql(s, Some(&alice), notes, json!({}));
        no_errors(&r);
        let bodies: Vec<&str> = r.json["data"]["project"]["mergeRequest"]["notes"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|n| n["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, vec!["First look", "Second look"]);

        // Notes need merge_request:read, like REST's notes of a merge request.
        let fg = s.fine_token("alice", "project:read,issue:read", "personal_projects", &[]);
        let r = gql(s, Some(&fg), notes, json!({}));
        assert!(
            r.json["data"]["project"]["mergeRequest"].is_null(),
            "{}",
            r.text
        );
        let code = r.json["errors"][0]["extensions"]["code"].as_str();
        assert_eq!(code, Some("insufficient_scope"), "{}", r.text);

        let labelled = |labels: &str| {
            let q = format!(
                "{{ project(fullPath: \"alice/p\") {{ mergeRequests(labels: {labels}) {{ nodes {{ iid }} }} }} }}"
            );
            let r = gql(s, Some(&alice), &q, json!({}));
            no_errors(&r);
            iids(&r)
        };
        assert_eq!(labelled("[\"bug\"]"), vec!["3"]);
        assert_eq!(labelled("[\"None\"]"), vec!["1", "2"]);
    });
}
