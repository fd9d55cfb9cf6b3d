//! GraphQL at `/api/graphql`, black-box on both databases: the current user with legacy and
//! fine-grained tokens, the anonymous view, invisible objects (`null`, no error), denied fields
//! with `extensions.code`, mutations with `errors`, lists and connections with pagination, global
//! ids, unusable tokens, GET rules, and the operator's not-covered setting.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn gql(s: &Server, token: Option<&str>, query: &str) -> Reply {
    gqlv(s, token, query, json!({}))
}

fn gqlv(s: &Server, token: Option<&str>, query: &str, variables: Value) -> Reply {
    let r = s.call(
        "POST",
        "/api/graphql",
        token,
        Some(json!({"query": query, "variables": variables})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// The `extensions.code` of the first error at `path` (a top-level field name).
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

fn no_errors(r: &Reply) {
    assert!(r.json.get("errors").is_none(), "{}", r.text);
}

/// Creates a group through GraphQL; returns its global id.
fn group(s: &Server, token: &str, name: &str, parent: Option<&str>, visibility: &str) -> String {
    let r = gqlv(
        s,
        Some(token),
        "mutation($i: GroupCreateInput!) { groupCreate(input: $i) { errors group { id } } }",
        json!({"i": {"name": name, "path": name, "parentPath": parent, "visibility": visibility}}),
    );
    assert_eq!(
        r.json["data"]["groupCreate"]["errors"],
        json!([]),
        "{}",
        r.text
    );
    r.json["data"]["groupCreate"]["group"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a project through GraphQL (namespace: a group path or None for personal); returns its
/// global id.
fn project(
    s: &Server,
    token: &str,
    name: &str,
    namespace: Option<&str>,
    visibility: &str,
) -> String {
    let r = gqlv(
        s,
        Some(token),
        "mutation($i: ProjectCreateInput!) { projectCreate(input: $i) { errors project { id } } }",
        json!({"i": {"name": name, "path": name, "namespacePath": namespace, "visibility": visibility}}),
    );
    assert_eq!(
        r.json["data"]["projectCreate"]["errors"],
        json!([]),
        "{}",
        r.text
    );
    r.json["data"]["projectCreate"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn current_user_with_legacy_and_fine_grained_tokens() {
    each_backend(|s: &Server| {
        let id = s.user("alice");
        let q = "{ currentUser { id username name active state webUrl createdAt } }";
        for token in [
            s.legacy_token("alice", "api"),
            s.legacy_token("alice", "read_user"),
            s.fine_token("alice", "user:read", "personal_projects", &[]),
        ] {
            let r = gql(s, Some(&token), q);
            no_errors(&r);
            let me = &r.json["data"]["currentUser"];
            assert_eq!(me["id"], format!("gid://gitlab/User/{id}"));
            assert_eq!(me["username"], "alice");
            assert_eq!(me["active"], true);
            assert_eq!(me["state"], "active");
            assert!(me["webUrl"].as_str().unwrap().ends_with("/alice"));
            assert!(me["createdAt"].as_str().unwrap().ends_with('Z'));
        }
        // Bearer works as for REST (python-gitlab's GraphQL client sends only that).
        let t = s.legacy_token("alice", "read_api");
        let r = Reply::from(
            s.request("POST", "/api/graphql")
                .set("Authorization", &format!("Bearer {t}"))
                .send_json(json!({"query": "{ currentUser { username } }"})),
        );
        assert_eq!(r.json["data"]["currentUser"]["username"], "alice");
        // A fine-grained token without user:read: null, with the reason in extensions.code.
        let fg = s.fine_token("alice", "project:read", "personal_projects", &[]);
        let r = gql(s, Some(&fg), "{ currentUser { username } }");
        assert_eq!(r.json["data"]["currentUser"], Value::Null);
        assert_eq!(
            code_at(&r, "currentUser").as_deref(),
            Some("insufficient_scope")
        );
        assert_eq!(
            r.json["errors"][0]["extensions"]["missing"],
            json!(["user:read"])
        );
    });
}

#[test]
fn anonymous_callers_see_the_public_view_only() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        group(s, &api, "open", None, "public");
        group(s, &api, "closed", None, "private");
        let door = project(s, &api, "door", Some("open"), "public");
        project(s, &api, "vault", Some("open"), "private");
        let r = gql(
            s,
            None,
            r#"{ currentUser { id }
                 door: project(fullPath: "open/door") { id fullPath visibility nameWithNamespace }
                 vault: project(fullPath: "open/vault") { id }
                 open: group(fullPath: "open") { id fullName }
                 closed: group(fullPath: "closed") { id }
                 missing: project(fullPath: "open/nothing") { id }
                 user(username: "alice") { username } }"#,
        );
        no_errors(&r);
        let d = &r.json["data"];
        assert_eq!(d["currentUser"], Value::Null);
        assert_eq!(d["door"]["id"], door);
        assert_eq!(d["door"]["nameWithNamespace"], "open / door");
        assert_eq!(d["vault"], Value::Null);
        assert_eq!(d["closed"], Value::Null);
        assert_eq!(d["missing"], Value::Null);
        assert_eq!(d["open"]["fullName"], "open");
        assert_eq!(d["user"]["username"], "alice");
        // Mutations need a caller.
        let r = gql(
            s,
            None,
            r#"mutation { groupCreate(input: {name: "x"}) { errors } }"#,
        );
        assert_eq!(r.json["data"]["groupCreate"], Value::Null);
        assert_eq!(
            code_at(&r, "groupCreate").as_deref(),
            Some("unauthenticated")
        );
    });
}

#[test]
fn private_objects_are_null_without_error_like_missing_ones() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        group(s, &alice, "acme", None, "private");
        let anvil = project(s, &alice, "anvil", Some("acme"), "private");
        project(s, &alice, "solo", None, "private");
        let q = r#"{ a: project(fullPath: "acme/anvil") { id } b: project(fullPath: "alice/solo") { id }
                     g: group(fullPath: "acme") { id } m: project(fullPath: "acme/missing") { id } }"#;
        let r = gql(s, Some(&bob), q);
        no_errors(&r);
        assert_eq!(
            r.json["data"],
            json!({"a": null, "b": null, "g": null, "m": null})
        );
        let r = gql(s, Some(&alice), q);
        no_errors(&r);
        assert_eq!(r.json["data"]["a"]["id"], anvil);
        assert!(
            r.json["data"]["g"]["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://gitlab/Group/")
        );
        // With the token's eyes: alice's fine-grained token reaches only her personal projects.
        let fg = s.fine_token("alice", "project:read,group:read", "personal_projects", &[]);
        let r = gql(s, Some(&fg), q);
        no_errors(&r);
        assert_eq!(r.json["data"]["a"], Value::Null);
        assert_eq!(r.json["data"]["g"], Value::Null);
        assert!(r.json["data"]["b"]["id"].is_string());
    });
}

#[test]
fn denied_fields_are_null_with_the_reason_code() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let open = group(s, &alice, "open", None, "public");
        project(s, &alice, "door", Some("open"), "public");
        // bob is a Guest of the public group: he sees it, but cannot create projects there.
        let group_id: i64 = open.rsplit('/').next().unwrap().parse().unwrap();
        s.sql(&format!(
            "INSERT INTO members (user_id, group_id, access_level, created_at) \
             VALUES ({bob_id}, {group_id}, 10, '2026-01-01 00:00:00')"
        ));
        let read_user = s.legacy_token("bob", "read_user");
        let r = gql(
            s,
            Some(&read_user),
            r#"{ currentUser { username } project(fullPath: "open/door") { id } }"#,
        );
        assert_eq!(r.json["data"]["currentUser"]["username"], "bob");
        assert_eq!(r.json["data"]["project"], Value::Null);
        assert_eq!(
            code_at(&r, "project").as_deref(),
            Some("insufficient_scope")
        );
        let create = r#"mutation { projectCreate(input: {name: "p", namespacePath: "open"}) {
                          errors project { id } } }"#;
        let read_api = s.legacy_token("bob", "read_api");
        let r = gql(s, Some(&read_api), create);
        assert_eq!(r.json["data"]["projectCreate"], Value::Null);
        assert_eq!(
            code_at(&r, "projectCreate").as_deref(),
            Some("insufficient_scope")
        );
        let bob = s.legacy_token("bob", "api");
        let r = gql(s, Some(&bob), create);
        assert_eq!(
            code_at(&r, "projectCreate").as_deref(),
            Some("role_too_low")
        );
        // A fine-grained token holding project:create, but only for alice's personal projects.
        let fg = s.fine_token(
            "alice",
            "project:create,project:read",
            "personal_projects",
            &[],
        );
        let r = gql(s, Some(&fg), create);
        assert_eq!(
            code_at(&r, "projectCreate").as_deref(),
            Some("outside_boundary")
        );
        // ...while her personal namespace is inside it.
        let r = gql(
            s,
            Some(&fg),
            r#"mutation { projectCreate(input: {name: "mine"}) { errors project { fullPath } } }"#,
        );
        no_errors(&r);
        assert_eq!(
            r.json["data"]["projectCreate"]["project"]["fullPath"],
            "alice/mine"
        );
        // A mutation on a namespace the caller cannot see: GitLab's "not available" error.
        let r = gql(
            s,
            Some(&bob),
            r#"mutation { projectCreate(input: {name: "p", namespacePath: "nowhere"}) { errors } }"#,
        );
        assert_eq!(code_at(&r, "projectCreate").as_deref(), Some("not_visible"));
        assert!(
            r.json["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("does not exist or you don't have permission")
        );
    });
}

#[test]
fn mutations_report_validation_problems_in_errors() {
    each_backend(|s: &Server| {
        let alice_id = s.user("alice");
        let api = s.legacy_token("alice", "api");
        let r = gql(
            s,
            Some(&api),
            r#"mutation { groupCreate(input: {name: "Acme Corp", clientMutationId: "c1"}) {
                 clientMutationId errors group { id name path fullPath webUrl visibility } } }"#,
        );
        no_errors(&r);
        let p = &r.json["data"]["groupCreate"];
        assert_eq!(p["clientMutationId"], "c1");
        assert_eq!(p["errors"], json!([]));
        assert_eq!(p["group"]["path"], "acme-corp");
        assert_eq!(p["group"]["visibility"], "private");
        assert!(
            p["group"]["webUrl"]
                .as_str()
                .unwrap()
                .ends_with("/groups/acme-corp")
        );
        let gid = p["group"]["id"].as_str().unwrap();
        assert!(gid.starts_with("gid://gitlab/Group/"), "{gid}");
        // The creator owns the new group: a subgroup and a project inside it work.
        group(s, &api, "sub", Some("acme-corp"), "private");
        let pid = project(s, &api, "anvil", Some("acme-corp/sub"), "private");
        assert!(pid.starts_with("gid://gitlab/Project/"), "{pid}");
        let r = gql(
            s,
            Some(&api),
            r#"{ project(fullPath: "acme-corp/sub/anvil") { nameWithNamespace httpUrlToRepo }
                 group(fullPath: "acme-corp/sub") { fullName } }"#,
        );
        no_errors(&r);
        assert_eq!(
            r.json["data"]["project"]["nameWithNamespace"],
            "Acme Corp / sub / anvil"
        );
        assert!(
            r.json["data"]["project"]["httpUrlToRepo"]
                .as_str()
                .unwrap()
                .ends_with("/acme-corp/sub/anvil.git")
        );
        assert_eq!(r.json["data"]["group"]["fullName"], "Acme Corp / sub");
        // Problems come back in `errors`, with the object null.
        for (input, message) in [
            (json!({"name": " "}), "Name can't be blank"),
            (
                json!({"name": "x", "path": "-bad"}),
                "Path can contain only",
            ),
            (json!({"name": "Acme Corp"}), "has already been taken"),
            (
                json!({"name": "y", "parentPath": "acme-corp", "visibility": "public"}),
                "Visibility level public is not allowed since the parent group has a private",
            ),
        ] {
            let r = gqlv(
                s,
                Some(&api),
                "mutation($i: GroupCreateInput!) { groupCreate(input: $i) { errors group { id } } }",
                json!({"i": input}),
            );
            no_errors(&r);
            let p = &r.json["data"]["groupCreate"];
            assert_eq!(p["group"], Value::Null, "{input}");
            assert!(
                p["errors"][0].as_str().unwrap().contains(message),
                "{input}: {}",
                r.text
            );
        }
        let r = gql(
            s,
            Some(&api),
            r#"mutation { projectCreate(input: {name: "anvil", namespacePath: "acme-corp/sub"}) {
                 errors project { id } } }"#,
        );
        assert_eq!(r.json["data"]["projectCreate"]["project"], Value::Null);
        assert!(
            r.json["data"]["projectCreate"]["errors"][0]
                .as_str()
                .unwrap()
                .contains("has already been taken")
        );
        // Global ids are GitLab's, and a user can be found by one.
        let r = gql(
            s,
            Some(&api),
            &format!(r#"{{ user(id: "gid://gitlab/User/{alice_id}") {{ id username }} }}"#),
        );
        assert_eq!(r.json["data"]["user"]["username"], "alice");
        assert_eq!(
            r.json["data"]["user"]["id"],
            format!("gid://gitlab/User/{alice_id}")
        );
    });
}

#[test]
fn unusable_tokens_are_401_and_get_is_for_queries() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        for bad in ["garbage", "tfpat-abcdefabcdefabcdefabcdefabcdefab000000"] {
            let r = s.call(
                "POST",
                "/api/graphql",
                Some(bad),
                Some(json!({"query": "{ currentUser { id } }"})),
            );
            assert_eq!(r.status, 401, "{bad}");
            assert_eq!(r.json["message"], "401 Unauthorized");
            assert_eq!(r.json["errors"][0]["message"], "Invalid token");
            assert!(r.header("www-authenticate").is_some());
        }
        // A revoked token is not silently anonymous.
        let id = s.get("/api/v4/personal_access_tokens/self", &t).json["id"].clone();
        let other = s.legacy_token("alice", "api");
        let del = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{id}"),
            Some(&other),
            None,
        );
        assert_eq!(del.status, 204);
        let r = s.call(
            "POST",
            "/api/graphql",
            Some(&t),
            Some(json!({"query": "{ currentUser { id } }"})),
        );
        assert_eq!(r.status, 401);
        // GET runs queries, never mutations.
        let q = "query=%7BcurrentUser%7Busername%7D%7D";
        let r = s.get(&format!("/api/graphql?{q}"), &other);
        assert_eq!(r.status, 200);
        assert_eq!(r.json["data"]["currentUser"]["username"], "alice");
        let m = "query=mutation%7BgroupCreate(input%3A%7Bname%3A%22x%22%7D)%7Berrors%7D%7D";
        let r = s.get(&format!("/api/graphql?{m}"), &other);
        assert_eq!(r.status, 422);
        assert_eq!(
            r.json["errors"][0]["message"],
            "Mutations are forbidden in GET requests"
        );
        // Batches answer in order; oversized queries and bad bodies are refused.
        let r = s.call(
            "POST",
            "/api/graphql",
            Some(&other),
            Some(json!([{"query": "{ currentUser { username } }"}, {"query": "{ __typename }"}])),
        );
        assert_eq!(r.json[0]["data"]["currentUser"]["username"], "alice");
        assert_eq!(r.json[1]["data"]["__typename"], "Query");
        let huge = format!("{{ currentUser {{ {} }} }}", "id ".repeat(4000));
        let r = s.call(
            "POST",
            "/api/graphql",
            Some(&other),
            Some(json!({"query": huge})),
        );
        assert_eq!(r.status, 422);
        assert_eq!(r.json["errors"][0]["message"], "Query too large");
        let r = s.call(
            "POST",
            "/api/graphql",
            Some(&other),
            Some(json!({"nope": 1})),
        );
        assert_eq!(r.status, 422);
        let r = Reply::from(
            s.request("POST", "/api/graphql")
                .set("Content-Type", "application/json")
                .send_string("{not json"),
        );
        assert_eq!(r.status, 400);
        assert!(r.json["errors"][0]["message"].is_string());
    });
}

#[test]
fn not_covered_fields_refuse_fine_grained_tokens_only() {
    for backend in common::backends() {
        let s = Server::start(&backend, &[("TINFORGE_NOT_COVERED", "Query.currentUser")]);
        s.user("alice");
        let fg = s.fine_token("alice", "user:read", "personal_projects", &[]);
        let r = gql(&s, Some(&fg), "{ currentUser { username } }");
        assert_eq!(r.json["data"]["currentUser"], Value::Null);
        assert_eq!(code_at(&r, "currentUser").as_deref(), Some("not_covered"));
        let legacy = s.legacy_token("alice", "read_user");
        let r = gql(&s, Some(&legacy), "{ currentUser { username } }");
        no_errors(&r);
        assert_eq!(r.json["data"]["currentUser"]["username"], "alice");
        // Other fields stay covered.
        let r = gql(&s, Some(&fg), r#"{ user(username: "alice") { username } }"#);
        no_errors(&r);
        // The coverage report shows the setting for the GraphQL field too.
        let legacy_api = s.legacy_token("alice", "read_api");
        let report = s.get("/api/v4/token_coverage", &legacy_api);
        let rows = report.json["endpoints"]
            .as_array()
            .expect("endpoints")
            .clone();
        let row = |path: &str| rows.iter().find(|e| e["path"] == path).cloned().unwrap();
        assert_eq!(row("Query.currentUser")["covered"], false);
        assert_eq!(row("Query.currentUser")["surface"], "graphql");
        assert_eq!(row("Query.project")["covered"], true);
    }
}

/// Every `fullPath` of a connection, following `endCursor` pages of `first` items.
fn all_pages(s: &Server, token: Option<&str>, field: &str, first: usize) -> (Vec<String>, i64) {
    let mut after: Option<String> = None;
    let mut paths = Vec::new();
    for _ in 0..50 {
        let r = gqlv(
            s,
            token,
            &format!(
                "query($after: String) {{ {field}(first: {first}, after: $after) {{ count
                   nodes {{ fullPath }} edges {{ cursor node {{ id }} }}
                   pageInfo {{ endCursor hasNextPage startCursor hasPreviousPage }} }} }}"
            ),
            json!({"after": after}),
        );
        no_errors(&r);
        let c = &r.json["data"][field];
        let count = c["count"].as_i64().unwrap();
        let nodes = c["nodes"].as_array().unwrap();
        assert!(nodes.len() <= first);
        assert_eq!(c["edges"].as_array().unwrap().len(), nodes.len());
        assert_eq!(c["pageInfo"]["hasPreviousPage"], after.is_some());
        if let Some(last) = c["edges"].as_array().unwrap().last() {
            assert_eq!(c["pageInfo"]["endCursor"], last["cursor"]);
        }
        paths.extend(
            nodes
                .iter()
                .map(|n| n["fullPath"].as_str().unwrap().to_string()),
        );
        if c["pageInfo"]["hasNextPage"] != true {
            return (paths, count);
        }
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    panic!("too many pages");
}

#[test]
fn lists_are_connections_filtered_with_the_callers_eyes() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let alice = s.legacy_token("alice", "api");
        group(s, &alice, "open", None, "public");
        group(s, &alice, "sub", Some("open"), "public");
        group(s, &alice, "hidden", Some("open"), "private");
        group(s, &alice, "closed", None, "private");
        for i in 1..=5 {
            project(s, &alice, &format!("p{i}"), Some("open"), "public");
        }
        project(s, &alice, "secret", Some("open"), "private");
        project(s, &alice, "inner", Some("open"), "internal");
        project(s, &alice, "deep", Some("open/sub"), "public");
        project(s, &alice, "vault", Some("closed"), "private");
        let public: Vec<String> = (1..=5)
            .map(|i| format!("open/p{i}"))
            .chain(["open/sub/deep".to_string()])
            .collect();

        // Anonymous: public projects only, two at a time.
        let (paths, count) = all_pages(s, None, "projects", 2);
        assert_eq!(paths, public);
        assert_eq!(count, 6);
        // Signed in without membership: internal ones too.
        let bob = s.legacy_token("bob", "read_api");
        let (paths, _) = all_pages(s, Some(&bob), "projects", 100);
        assert!(paths.contains(&"open/inner".to_string()));
        assert!(!paths.contains(&"open/secret".to_string()));
        // The owner sees everything, and `membership` narrows to her projects.
        let (paths, count) = all_pages(s, Some(&alice), "projects", 3);
        assert_eq!(count, 9);
        assert!(paths.contains(&"closed/vault".to_string()));
        let r = gql(s, Some(&bob), "{ projects(membership: true) { count } }");
        assert_eq!(r.json["data"]["projects"]["count"], 0);
        // A fine-grained token sees private projects only inside its boundary.
        let fg = s.fine_token(
            "alice",
            "project:read,group:read",
            "selected",
            &["--project", "open/secret"],
        );
        let (paths, _) = all_pages(s, Some(&fg), "projects", 100);
        assert!(paths.contains(&"open/secret".to_string()));
        assert!(!paths.contains(&"closed/vault".to_string()));
        assert!(
            !paths.contains(&"open/inner".to_string()),
            "internal is outside too"
        );
        // Without project:read it lists like an anonymous caller (the floor); a legacy token
        // without a fitting scope is refused.
        let floor = s.fine_token("alice", "user:read", "all_memberships", &[]);
        assert_eq!(all_pages(s, Some(&floor), "projects", 100).0, public);
        let read_user = s.legacy_token("alice", "read_user");
        let r = gql(s, Some(&read_user), "{ projects { count } }");
        assert_eq!(r.json["data"]["projects"], Value::Null);
        assert_eq!(
            code_at(&r, "projects").as_deref(),
            Some("insufficient_scope")
        );

        // A group's projects and descendant groups, with the caller's eyes.
        let q = r#"{ group(fullPath: "open") {
              direct: projects { count nodes { fullPath } }
              all: projects(includeSubgroups: true, search: "deep") { nodes { fullPath } }
              descendantGroups { count nodes { fullPath fullName id } }
              children: descendantGroups(includeParentDescendants: false, first: 1) {
                nodes { fullPath } pageInfo { hasNextPage } } } }"#;
        let r = gql(s, None, q);
        no_errors(&r);
        let g = &r.json["data"]["group"];
        assert_eq!(g["direct"]["count"], 5);
        assert_eq!(g["all"]["nodes"], json!([{"fullPath": "open/sub/deep"}]));
        assert_eq!(g["descendantGroups"]["count"], 1);
        assert_eq!(g["descendantGroups"]["nodes"][0]["fullName"], "open / sub");
        assert!(
            g["descendantGroups"]["nodes"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://gitlab/Group/")
        );
        let r = gql(s, Some(&alice), q);
        let g = &r.json["data"]["group"];
        assert_eq!(g["direct"]["count"], 7);
        assert_eq!(g["descendantGroups"]["count"], 2);
        assert_eq!(g["children"]["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(g["children"]["pageInfo"]["hasNextPage"], true);
        // A token that may read groups but not projects: the private group, its projects denied.
        let groups_only = s.fine_token("alice", "group:read", "all_memberships", &[]);
        let r = gql(
            s,
            Some(&groups_only),
            r#"{ group(fullPath: "closed") { fullPath projects { count } } }"#,
        );
        assert_eq!(r.json["data"]["group"]["fullPath"], "closed");
        assert_eq!(r.json["data"]["group"]["projects"], Value::Null);
        assert_eq!(r.json["errors"][0]["path"], json!(["group", "projects"]));
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"],
            "insufficient_scope"
        );
        let r = gql(
            s,
            Some(&fg),
            r#"{ group(fullPath: "closed") { id } open: group(fullPath: "open") { fullPath } }"#,
        );
        no_errors(&r);
        assert_eq!(r.json["data"]["group"], Value::Null);
        assert_eq!(r.json["data"]["open"]["fullPath"], "open");
        // Query.groups: the public view, then everything for the owner.
        let r = gql(s, None, "{ groups { count nodes { fullPath } } }");
        assert_eq!(r.json["data"]["groups"]["count"], 2);
        let r = gql(s, Some(&alice), r#"{ groups(search: "o") { count } }"#);
        assert_eq!(r.json["data"]["groups"]["count"], 2, "{}", r.text);
        // Page sizes are capped, cursors are checked.
        let r = gql(s, None, "{ projects(first: 1000) { nodes { id } } }");
        no_errors(&r);
        let r = gql(s, None, r#"{ projects(after: "nonsense") { count } }"#);
        assert_eq!(code_at(&r, "projects").as_deref(), Some("invalid_argument"));
    });
}
