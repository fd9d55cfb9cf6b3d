//! Issues and notes over GraphQL, black-box on both databases: `project { issue issues }` with
//! filters and pagination, confidential issues exactly as over REST (author, guest, reporter),
//! denied fields with `extensions.code`, and the mutations (`createIssue`, `updateIssue` with
//! `stateEvent`, `createNote`, `destroyNote`) with payload `errors`.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const GUEST: i64 = 10;
const REPORTER: i64 = 20;

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

/// The `extensions.code` of the first error whose path starts with `field`.
fn code_at(r: &Reply, field: &str) -> Option<String> {
    r.json["errors"]
        .as_array()?
        .iter()
        .find(|e| e["path"][0] == field)
        .map(|e| {
            e["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
}

/// alice's private project `alice/p` with bob as Guest and carol as Reporter; returns its id.
fn world(s: &Server) -> (String, String, String, i64) {
    s.user("alice");
    let bob = s.user("bob");
    let carol = s.user("carol");
    let alice = s.legacy_token("alice", "api");
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(&alice),
        Some(json!({"name": "p", "path": "p", "visibility": "private"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let project = r.json["id"].as_i64().unwrap();
    for (user, level) in [(bob, GUEST), (carol, REPORTER)] {
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{project}/members"),
            Some(&alice),
            Some(json!({"user_id": user, "access_level": level})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    (
        alice,
        s.legacy_token("bob", "api"),
        s.legacy_token("carol", "api"),
        project,
    )
}

const CREATE: &str = "mutation($i: CreateIssueInput!) { createIssue(input: $i) {
    errors issue { id iid title state confidential webUrl author { username }
                   labels { nodes { title color } } assignees { nodes { username } } } } }";

fn create(s: &Server, token: &str, input: Value) -> Value {
    let r = gql(s, Some(token), CREATE, json!({ "i": input }));
    no_errors(&r);
    r.json["data"]["createIssue"].clone()
}

fn create_ok(s: &Server, token: &str, input: Value) -> Value {
    let p = create(s, token, input);
    assert_eq!(p["errors"], json!([]), "{p}");
    p["issue"].clone()
}

const LIST: &str =
    "query($after: String, $state: IssuableState, $labels: [String!], $search: String) {
    project(fullPath: \"alice/p\") { issues(first: 2, after: $after, state: $state,
        labelName: $labels, search: $search) {
      count nodes { iid title } edges { cursor node { iid } }
      pageInfo { hasNextPage hasPreviousPage endCursor } } } }";

fn iids(r: &Reply) -> Vec<String> {
    r.json["data"]["project"]["issues"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|n| n["iid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn issues_list_get_filter_and_page() {
    each_backend(|s| {
        let (alice, _, _, _) = world(s);
        let first = create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "Crash on start", "labels": ["bug"],
                   "description": "it crashes"}),
        );
        assert_eq!(first["iid"], "1");
        assert_eq!(first["state"], "opened");
        assert!(
            first["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://gitlab/Issue/")
        );
        assert!(
            first["webUrl"]
                .as_str()
                .unwrap()
                .ends_with("/alice/p/-/issues/1")
        );
        assert_eq!(first["author"]["username"], "alice");
        assert_eq!(first["labels"]["nodes"][0]["title"], "bug");
        create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "Docs typo"}),
        );
        create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "Slow crash", "labels": ["bug"]}),
        );

        // One issue by iid, with every field.
        let r = gql(
            s,
            Some(&alice),
            r#"{ project(fullPath: "alice/p") { issue(iid: "1") { id iid title description state
                 confidential createdAt updatedAt closedAt webUrl userNotesCount
                 author { username } labels { nodes { title color } } } } }"#,
            json!({}),
        );
        no_errors(&r);
        let i = &r.json["data"]["project"]["issue"];
        assert_eq!(i["title"], "Crash on start");
        assert_eq!(i["description"], "it crashes");
        assert_eq!(i["closedAt"], Value::Null);
        assert_eq!(i["userNotesCount"], 0);
        // Not there: null, no error.
        let r = gql(
            s,
            Some(&alice),
            r#"{ project(fullPath: "alice/p") { issue(iid: "99") { id } } }"#,
            json!({}),
        );
        no_errors(&r);
        assert_eq!(r.json["data"]["project"]["issue"], Value::Null);

        // Pages of two by ascending id, with cursors.
        let r = gql(s, Some(&alice), LIST, json!({}));
        no_errors(&r);
        assert_eq!(iids(&r), ["1", "2"]);
        let issues = &r.json["data"]["project"]["issues"];
        assert_eq!(issues["count"], 3);
        assert_eq!(issues["pageInfo"]["hasNextPage"], true);
        assert_eq!(issues["pageInfo"]["hasPreviousPage"], false);
        let after = issues["pageInfo"]["endCursor"].clone();
        assert_eq!(issues["edges"][1]["cursor"], after);
        let r = gql(s, Some(&alice), LIST, json!({ "after": after }));
        assert_eq!(iids(&r), ["3"]);
        assert_eq!(
            r.json["data"]["project"]["issues"]["pageInfo"]["hasNextPage"],
            false
        );

        // Filters: labels, search, state.
        let r = gql(s, Some(&alice), LIST, json!({ "labels": ["bug"] }));
        assert_eq!(iids(&r), ["1", "3"]);
        assert_eq!(r.json["data"]["project"]["issues"]["count"], 2);
        let r = gql(s, Some(&alice), LIST, json!({ "search": "crash" }));
        assert_eq!(iids(&r), ["1", "3"]);
        let r = gql(s, Some(&alice), LIST, json!({ "state": "closed" }));
        assert_eq!(iids(&r), Vec::<String>::new());
        assert_eq!(r.json["data"]["project"]["issues"]["count"], 0);

        // A bad cursor is an argument error.
        let r = gql(s, Some(&alice), LIST, json!({ "after": "nope" }));
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "invalid_argument",
            "{}",
            r.text
        );
    });
}

#[test]
fn confidential_issues_as_over_rest() {
    each_backend(|s| {
        let (alice, bob, carol, project) = world(s);
        create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "public"}),
        );
        create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "secret", "confidential": true}),
        );
        let own = create_ok(
            s,
            &bob,
            json!({"projectPath": "alice/p", "title": "bob's secret", "confidential": true}),
        );
        assert_eq!(own["confidential"], true);
        let seen = |token: &str| {
            let r = gql(
                s,
                Some(token),
                LIST.replace("first: 2", "first: 10").as_str(),
                json!({}),
            );
            no_errors(&r);
            (
                iids(&r),
                r.json["data"]["project"]["issues"]["count"].clone(),
            )
        };
        // The author and Reporter+ see everything; a guest sees public issues and their own.
        assert_eq!(
            seen(&alice),
            (vec!["1".into(), "2".into(), "3".into()], json!(3))
        );
        assert_eq!(
            seen(&carol),
            (vec!["1".into(), "2".into(), "3".into()], json!(3))
        );
        assert_eq!(seen(&bob), (vec!["1".into(), "3".into()], json!(2)));
        let one = |token: &str, iid: &str| {
            let r = gql(
                s,
                Some(token),
                &format!(
                    r#"{{ project(fullPath: "alice/p") {{ issue(iid: "{iid}") {{ title }} }} }}"#
                ),
                json!({}),
            );
            no_errors(&r);
            r.json["data"]["project"]["issue"]["title"].clone()
        };
        assert_eq!(one(&bob, "2"), Value::Null);
        assert_eq!(one(&bob, "3"), "bob's secret");
        assert_eq!(one(&carol, "2"), "secret");
        // REST agrees.
        let r = s.get(&format!("/api/v4/projects/{project}/issues/2"), &bob);
        assert_eq!(r.status, 404);
        // A guest cannot reach the hidden issue through a mutation either.
        let r = gql(
            s,
            Some(&bob),
            r#"mutation { updateIssue(input: {projectPath: "alice/p", iid: "2", title: "x"}) { errors } }"#,
            json!({}),
        );
        assert_eq!(r.json["data"]["updateIssue"], Value::Null);
        assert_eq!(code_at(&r, "updateIssue").as_deref(), Some("not_visible"));
    });
}

#[test]
fn tokens_without_issue_permissions_are_refused() {
    each_backend(|s| {
        let (alice, _, _, _) = world(s);
        create_ok(s, &alice, json!({"projectPath": "alice/p", "title": "one"}));
        // Project readable, issues not: the field is null with the deny reason.
        let fg = s.fine_token("alice", "project:read", "personal_projects", &[]);
        let r = gql(
            s,
            Some(&fg),
            r#"{ project(fullPath: "alice/p") { id issues { count } issue(iid: "1") { id } } }"#,
            json!({}),
        );
        assert!(r.json["data"]["project"]["id"].is_string(), "{}", r.text);
        assert_eq!(r.json["data"]["project"]["issues"], Value::Null);
        let errors = r.json["errors"].as_array().unwrap();
        let codes: Vec<&str> = errors
            .iter()
            .map(|e| e["extensions"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["insufficient_scope", "insufficient_scope"],
            "{}",
            r.text
        );
        // issue:read alone cannot open issues.
        let reader = s.fine_token("alice", "project:read,issue:read", "personal_projects", &[]);
        let r = gql(
            s,
            Some(&reader),
            r#"{ project(fullPath: "alice/p") { issues { count } } }"#,
            json!({}),
        );
        no_errors(&r);
        assert_eq!(r.json["data"]["project"]["issues"]["count"], 1);
        let r = gql(
            s,
            Some(&reader),
            CREATE,
            json!({"i": {"projectPath": "alice/p", "title": "nope"}}),
        );
        assert_eq!(r.json["data"]["createIssue"], Value::Null);
        assert_eq!(
            code_at(&r, "createIssue").as_deref(),
            Some("insufficient_scope")
        );
        // A read_api token cannot either.
        let ro = s.legacy_token("alice", "read_api");
        let r = gql(
            s,
            Some(&ro),
            CREATE,
            json!({"i": {"projectPath": "alice/p", "title": "no"}}),
        );
        assert_eq!(r.json["data"]["createIssue"], Value::Null);
        assert!(code_at(&r, "createIssue").is_some(), "{}", r.text);
    });
}

const UPDATE: &str = "mutation($i: UpdateIssueInput!) { updateIssue(input: $i) {
    errors issue { iid title state closedAt labels { nodes { title } } } } }";

const NOTE: &str = "mutation($i: CreateNoteInput!) { createNote(input: $i) {
    errors note { id body system author { username } createdAt } } }";

const DESTROY: &str =
    "mutation($i: DestroyNoteInput!) { destroyNote(input: $i) { errors note { id } } }";

const NOTES: &str = r#"{ project(fullPath: "alice/p") { issue(iid: "1") { userNotesCount
    notes(first: 10) { nodes { id body system author { username } } } } } }"#;

#[test]
fn mutations_edit_close_reopen_and_comment() {
    each_backend(|s| {
        let (alice, bob, carol, _) = world(s);
        // An empty title is a payload error.
        let p = create(s, &alice, json!({"projectPath": "alice/p", "title": "  "}));
        assert_eq!(p["issue"], Value::Null);
        assert_eq!(p["errors"], json!(["Title is missing"]));
        let issue = create_ok(
            s,
            &alice,
            json!({"projectPath": "alice/p", "title": "first"}),
        );
        let gid = issue["id"].as_str().unwrap().to_string();

        let update = |token: &str, input: Value| gql(s, Some(token), UPDATE, json!({ "i": input }));
        let r = update(
            &alice,
            json!({"projectPath": "alice/p", "iid": "1", "title": "renamed",
                                      "labels": ["bug", "ui"]}),
        );
        no_errors(&r);
        let u = &r.json["data"]["updateIssue"];
        assert_eq!(u["errors"], json!([]));
        assert_eq!(u["issue"]["title"], "renamed");
        assert_eq!(u["issue"]["labels"]["nodes"].as_array().unwrap().len(), 2);
        let r = update(
            &alice,
            json!({"projectPath": "alice/p", "iid": "1", "title": ""}),
        );
        assert_eq!(
            r.json["data"]["updateIssue"]["errors"],
            json!(["Title is missing"])
        );
        assert_eq!(r.json["data"]["updateIssue"]["issue"], Value::Null);
        // Close and reopen (GitLab's stateEvent).
        let r = update(
            &alice,
            json!({"projectPath": "alice/p", "iid": "1", "stateEvent": "CLOSE"}),
        );
        no_errors(&r);
        assert_eq!(r.json["data"]["updateIssue"]["issue"]["state"], "closed");
        assert!(r.json["data"]["updateIssue"]["issue"]["closedAt"].is_string());
        let r = update(
            &alice,
            json!({"projectPath": "alice/p", "iid": "1", "stateEvent": "REOPEN"}),
        );
        assert_eq!(r.json["data"]["updateIssue"]["issue"]["state"], "opened");
        // A guest cannot edit someone else's issue; a reporter can.
        let r = update(
            &bob,
            json!({"projectPath": "alice/p", "iid": "1", "title": "bob"}),
        );
        assert_eq!(r.json["data"]["updateIssue"], Value::Null);
        assert_eq!(code_at(&r, "updateIssue").as_deref(), Some("forbidden"));
        let r = update(
            &carol,
            json!({"projectPath": "alice/p", "iid": "1", "title": "carol"}),
        );
        assert_eq!(
            r.json["data"]["updateIssue"]["issue"]["title"], "carol",
            "{}",
            r.text
        );

        // Notes: create (empty body is an error), list with system notes, destroy.
        let r = gql(
            s,
            Some(&bob),
            NOTE,
            json!({"i": {"noteableId": gid, "body": " "}}),
        );
        assert_eq!(
            r.json["data"]["createNote"]["errors"],
            json!(["Body is missing"])
        );
        let r = gql(
            s,
            Some(&bob),
            NOTE,
            json!({"i": {"noteableId": gid, "body": "me too"}}),
        );
        no_errors(&r);
        let note = r.json["data"]["createNote"]["note"].clone();
        assert_eq!(note["body"], "me too");
        assert_eq!(note["author"]["username"], "bob");
        assert_eq!(note["system"], false);
        let note_gid = note["id"].as_str().unwrap().to_string();
        assert!(note_gid.starts_with("gid://gitlab/Note/"));
        let r = gql(s, Some(&alice), NOTES, json!({}));
        no_errors(&r);
        let i = &r.json["data"]["project"]["issue"];
        assert_eq!(i["userNotesCount"], 1);
        let bodies: Vec<&str> = i["notes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, ["closed", "reopened", "me too"]);
        // A note on an issue that does not exist.
        let r = gql(
            s,
            Some(&alice),
            NOTE,
            json!({"i": {"noteableId": "gid://gitlab/Issue/999999", "body": "x"}}),
        );
        assert_eq!(r.json["data"]["createNote"], Value::Null);
        assert_eq!(code_at(&r, "createNote").as_deref(), Some("not_visible"));
        // Only its author or a Maintainer+ deletes a note: carol (Reporter) cannot.
        let r = gql(s, Some(&carol), DESTROY, json!({"i": {"id": note_gid}}));
        assert_eq!(
            code_at(&r, "destroyNote").as_deref(),
            Some("forbidden"),
            "{}",
            r.text
        );
        let r = gql(s, Some(&bob), DESTROY, json!({"i": {"id": note_gid}}));
        no_errors(&r);
        assert_eq!(r.json["data"]["destroyNote"]["errors"], json!([]));
        let r = gql(s, Some(&alice), NOTES, json!({}));
        assert_eq!(r.json["data"]["project"]["issue"]["userNotesCount"], 0);
        // Gone: deleting again finds nothing.
        let r = gql(s, Some(&bob), DESTROY, json!({"i": {"id": note_gid}}));
        assert_eq!(code_at(&r, "destroyNote").as_deref(), Some("not_visible"));
    });
}
