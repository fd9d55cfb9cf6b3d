//! GitLab's container registry REST API and GraphQL over images pushed through `/v2/`: project and
//! group repository lists, one repository by id, tags and their details with pagination, deleting
//! a tag, tags in bulk and a whole repository (and `/v2/` seeing it), the same requirements as
//! the registry (container_registry:read Reporter+, container_registry:delete Maintainer+) for
//! legacy and fine-grained tokens, and `containerRepositories` with the destroy mutations.

mod common;

use common::registry::{self as oci, Pushed, push_image};
use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const REPORTER: i64 = 20;

fn created(r: Reply) -> Value {
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn ok(r: Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

/// Query-string escaping of the few characters the regexes here use.
fn q(s: &str) -> String {
    s.replace('%', "%25")
        .replace('|', "%7C")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('*', "%2A")
        .replace('+', "%2B")
}

fn host(s: &Server) -> String {
    s.url.trim_start_matches("http://").to_string()
}

/// Tags of an image as `/v2/…/tags/list` lists them (404 → None).
fn v2_tags(s: &Server, token: &str, image: &str) -> Option<Vec<String>> {
    let r = oci::call(
        s,
        "GET",
        &format!("/v2/{image}/tags/list"),
        Some(token),
        None,
        None,
    );
    if r.status == 404 {
        assert_eq!(r.json["errors"][0]["code"], "NAME_UNKNOWN", "{}", r.text);
        return None;
    }
    assert_eq!(r.status, 200, "{}", r.text);
    Some(
        r.json["tags"]
            .as_array()
            .map(|t| t.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default(),
    )
}

/// The world of these tests: a public group `acme` with private projects `acme/app`,
/// `acme/secret` and, in the subgroup `acme/sub`, `acme/sub/tool`; bob is Reporter on `acme/app`
/// and `acme/sub/tool` only.
struct World {
    alice: String,
    bob: String,
    app: i64,
    tool: i64,
    secret: i64,
}

fn world(s: &Server) -> World {
    s.user("alice");
    let bob_id = s.user("bob");
    let alice = s.legacy_token("alice", "api");
    let bob = s.legacy_token("bob", "api");
    let acme = created(s.call(
        "POST",
        "/api/v4/groups",
        Some(&alice),
        Some(json!({"name": "acme", "path": "acme", "visibility": "public"})),
    ));
    let sub = created(s.call(
        "POST",
        "/api/v4/groups",
        Some(&alice),
        Some(
            json!({"name": "sub", "path": "sub", "parent_id": acme["id"], "visibility": "public"}),
        ),
    ));
    let project = |name: &str, ns: &Value| -> i64 {
        created(s.call(
            "POST",
            "/api/v4/projects",
            Some(&alice),
            Some(json!({"name": name, "path": name, "namespace_id": ns["id"], "visibility": "private"})),
        ))["id"]
            .as_i64()
            .unwrap()
    };
    let app = project("app", &acme);
    let secret = project("secret", &acme);
    let tool = project("tool", &sub);
    for p in [app, tool] {
        created(s.call(
            "POST",
            &format!("/api/v4/projects/{p}/members"),
            Some(&alice),
            Some(json!({"user_id": bob_id, "access_level": REPORTER})),
        ));
    }
    World {
        alice,
        bob,
        app,
        tool,
        secret,
    }
}

/// The id of the repository `name` of project `project` (as the project list shows it).
fn repository_id(s: &Server, token: &str, project: i64, name: &str) -> i64 {
    let list = ok(s.get(
        &format!("/api/v4/projects/{project}/registry/repositories"),
        token,
    ));
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no repository {name:?} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn repositories_of_projects_and_groups_and_by_id() {
    each_backend(|s: &Server| {
        let w = world(s);
        let v1 = push_image(s, &w.alice, "acme/app", "v1", 1);
        let v2 = push_image(s, &w.alice, "acme/app", "v2", 2);
        push_image(s, &w.alice, "acme/app/tools", "latest", 3);
        push_image(s, &w.alice, "acme/sub/tool", "v1", 4);
        push_image(s, &w.alice, "acme/secret", "v1", 5);
        let host = host(s);

        // A project's repositories, by name, with GitLab's fields; tags only when asked for.
        let base = format!("/api/v4/projects/{}/registry/repositories", w.app);
        let plain = s.get(&base, &w.alice);
        assert_eq!(plain.header("x-total"), Some("2"));
        let plain = ok(plain);
        assert_eq!(names(&plain, "name"), ["", "tools"]);
        let root = &plain[0];
        assert_eq!(root["path"], "acme/app");
        assert_eq!(root["project_id"], w.app);
        assert_eq!(root["location"], format!("{host}/acme/app"));
        assert!(
            root["created_at"].as_str().unwrap().ends_with('Z'),
            "{root}"
        );
        assert_eq!(root["cleanup_policy_started_at"], Value::Null);
        assert_eq!(root["status"], Value::Null);
        for key in ["id", "cleanup_policy_started_at", "status"] {
            assert!(root.get(key).is_some(), "{key} missing: {root}");
        }
        for key in ["tags", "tags_count", "size"] {
            assert!(root.get(key).is_none(), "{key} unasked: {root}");
        }
        assert_eq!(plain[1]["path"], "acme/app/tools");
        assert_eq!(plain[1]["location"], format!("{host}/acme/app/tools"));
        let full = ok(s.get(
            "/api/v4/projects/acme%2Fapp/registry/repositories?tags=true&tags_count=true",
            &w.alice,
        ));
        assert_eq!(full[0]["tags_count"], 2);
        assert_eq!(
            full[0]["tags"],
            json!([
                {"name": "v1", "path": "acme/app:v1", "location": format!("{host}/acme/app:v1")},
                {"name": "v2", "path": "acme/app:v2", "location": format!("{host}/acme/app:v2")},
            ])
        );
        assert_eq!(full[1]["tags_count"], 1);
        // A Reporter reads it too; the project of someone else's is not there.
        assert_eq!(ok(s.get(&base, &w.bob)).as_array().unwrap().len(), 2);
        let hidden = s.get(
            &format!("/api/v4/projects/{}/registry/repositories", w.secret),
            &w.bob,
        );
        assert_eq!(hidden.status, 404, "{}", hidden.text);

        // The group's: subgroup projects included, projects bob may not read left out.
        let group = s.get("/api/v4/groups/acme/registry/repositories", &w.alice);
        assert_eq!(group.header("x-total"), Some("4"));
        let mut all = names(&ok(group), "path");
        all.sort();
        assert_eq!(
            all,
            ["acme/app", "acme/app/tools", "acme/secret", "acme/sub/tool"]
        );
        let mut for_bob = names(
            &ok(s.get("/api/v4/groups/acme/registry/repositories", &w.bob)),
            "path",
        );
        for_bob.sort();
        assert_eq!(for_bob, ["acme/app", "acme/app/tools", "acme/sub/tool"]);
        let sub = ok(s.get("/api/v4/groups/acme%2Fsub/registry/repositories", &w.bob));
        assert_eq!(names(&sub, "path"), ["acme/sub/tool"]);
        assert_eq!(sub[0]["project_id"], w.tool);
        let paged = s.get(
            "/api/v4/groups/acme/registry/repositories?per_page=3&page=2",
            &w.alice,
        );
        assert_eq!(paged.header("x-total-pages"), Some("2"));
        assert_eq!(ok(paged).as_array().unwrap().len(), 1);

        // One repository by id, with size (config and layers of its manifests).
        let id = repository_id(s, &w.alice, w.app, "");
        let one = ok(s.get(
            &format!("/api/v4/registry/repositories/{id}?tags=true&tags_count=true&size=true"),
            &w.alice,
        ));
        assert_eq!(one["id"], id);
        assert_eq!(one["path"], "acme/app");
        assert_eq!(one["tags_count"], 2);
        assert_eq!(names(&one["tags"], "name"), ["v1", "v2"]);
        assert_eq!(one["size"], (v1.total_size + v2.total_size) as i64);
        let bare = ok(s.get(&format!("/api/v4/registry/repositories/{id}"), &w.bob));
        assert!(
            bare.get("size").is_none() && bare.get("tags").is_none(),
            "{bare}"
        );
        // An unknown id and one the caller may not see answer alike.
        let secret_id = repository_id(s, &w.alice, w.secret, "");
        let unknown = s.get("/api/v4/registry/repositories/999999", &w.bob);
        let invisible = s.get(
            &format!("/api/v4/registry/repositories/{secret_id}"),
            &w.bob,
        );
        let garbage = s.get("/api/v4/registry/repositories/abc", &w.bob);
        for r in [&unknown, &invisible, &garbage] {
            assert_eq!(r.status, 404, "{}", r.text);
        }
        assert_eq!(unknown.json, invisible.json);
        assert_eq!(unknown.json, garbage.json);
        // A repository of another project is not one of this project's.
        let tool_id = repository_id(s, &w.alice, w.tool, "");
        let elsewhere = s.get(
            &format!(
                "/api/v4/projects/{}/registry/repositories/{tool_id}/tags",
                w.app
            ),
            &w.alice,
        );
        assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);
        assert_eq!(elsewhere.json, json!({"message": "404 Not found"}));
        let elsewhere = s.call(
            "DELETE",
            &format!("/api/v4/projects/{}/registry/repositories/{tool_id}", w.app),
            Some(&w.alice),
            None,
        );
        assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);
        assert!(v2_tags(s, &w.alice, "acme/sub/tool").is_some());
    });
}

#[test]
fn tags_details_and_deleting_them() {
    each_backend(|s: &Server| {
        let w = world(s);
        let pushed: Vec<Pushed> = ["v1", "v2", "v3"]
            .iter()
            .enumerate()
            .map(|(i, t)| push_image(s, &w.alice, "acme/app", t, i as u32 + 10))
            .collect();
        let id = repository_id(s, &w.alice, w.app, "");
        let tags = format!("/api/v4/projects/{}/registry/repositories/{id}/tags", w.app);
        let host = host(s);

        // Paginated as GitLab: headers and links.
        let first = s.get(&format!("{tags}?per_page=2"), &w.bob);
        assert_eq!(first.header("x-total"), Some("3"));
        assert_eq!(first.header("x-total-pages"), Some("2"));
        assert_eq!(first.header("x-next-page"), Some("2"));
        assert_eq!(first.header("x-per-page"), Some("2"));
        assert!(
            first.header("link").unwrap().contains("rel=\"next\""),
            "{:?}",
            first.header("link")
        );
        assert_eq!(names(&ok(first), "name"), ["v1", "v2"]);
        let second = ok(s.get(&format!("{tags}?per_page=2&page=2"), &w.bob));
        assert_eq!(
            second,
            json!([{"name": "v3", "path": "acme/app:v3",
                                    "location": format!("{host}/acme/app:v3")}])
        );

        // A tag's details.
        let d = ok(s.get(&format!("{tags}/v2"), &w.bob));
        let p = &pushed[1];
        let revision = p.config_digest.trim_start_matches("sha256:");
        assert_eq!(d["name"], "v2");
        assert_eq!(d["path"], "acme/app:v2");
        assert_eq!(d["location"], format!("{host}/acme/app:v2"));
        assert_eq!(d["revision"], revision);
        assert_eq!(d["revision"].as_str().unwrap().len(), 64);
        assert_eq!(d["short_revision"], &revision[..9]);
        assert_eq!(d["digest"], p.manifest_digest);
        assert_eq!(d["total_size"], p.total_size as i64);
        assert!(d["created_at"].as_str().unwrap().ends_with('Z'), "{d}");
        let missing = s.get(&format!("{tags}/nope"), &w.bob);
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json, json!({"message": "404 Tag Not Found"}));

        // Deleting a tag: Maintainer+; the registry no longer has it.
        let denied = s.call("DELETE", &format!("{tags}/v1"), Some(&w.bob), None);
        assert_eq!(denied.status, 403, "{}", denied.text);
        let gone = s.call("DELETE", &format!("{tags}/v1"), Some(&w.alice), None);
        assert_eq!(gone.status, 200, "{}", gone.text);
        assert_eq!(s.get(&format!("{tags}/v1"), &w.alice).status, 404);
        assert_eq!(
            v2_tags(s, &w.alice, "acme/app").unwrap(),
            ["v2".to_string(), "v3".to_string()]
        );
        let again = s.call("DELETE", &format!("{tags}/v1"), Some(&w.alice), None);
        assert_eq!(again.status, 404);
        assert_eq!(again.json, json!({"message": "404 Tag Not Found"}));
        // The manifest stays, addressable by digest.
        let by_digest = oci::call(
            s,
            "HEAD",
            &format!("/v2/acme/app/manifests/{}", pushed[0].manifest_digest),
            Some(&w.alice),
            None,
            None,
        );
        assert_eq!(by_digest.status, 200);
    });
}

#[test]
fn bulk_deletion_by_regex_keep_n_and_age_never_latest() {
    each_backend(|s: &Server| {
        let w = world(s);
        for (i, t) in ["latest", "v1", "v2", "v3", "v4", "v5", "stable"]
            .iter()
            .enumerate()
        {
            push_image(s, &w.alice, "acme/app/bulk", t, i as u32 + 20);
        }
        let id = repository_id(s, &w.alice, w.app, "bulk");
        let tags = format!("/api/v4/projects/{}/registry/repositories/{id}/tags", w.app);
        let bulk = |query: &str, token: &str| {
            s.call("DELETE", &format!("{tags}?{query}"), Some(token), None)
        };
        let left = || {
            let mut t = v2_tags(s, &w.alice, "acme/app/bulk").unwrap();
            t.sort();
            t
        };

        // Refusals: no delete regex, a bad regex, a bad keep_n or age; a Reporter.
        let r = bulk("keep_n=1", &w.alice);
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .contains("name_regex_delete"),
            "{}",
            r.text
        );
        let r = bulk(&format!("name_regex_delete={}", q("(")), &w.alice);
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.json["error"].as_str().unwrap().contains("invalid regexp"),
            "{}",
            r.text
        );
        let r = bulk(
            &format!("name_regex_delete={}&name_regex_keep={}", q(".*"), q("[")),
            &w.alice,
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            bulk(
                &format!("name_regex_delete={}&keep_n=-1", q(".*")),
                &w.alice
            )
            .status,
            400
        );
        assert_eq!(
            bulk(
                &format!("name_regex_delete={}&older_than=soon", q(".*")),
                &w.alice
            )
            .status,
            400
        );
        assert_eq!(
            bulk(&format!("name_regex_delete={}", q(".*")), &w.bob).status,
            403
        );
        assert_eq!(left().len(), 7);

        // Nothing is older than an hour yet.
        let r = bulk(
            &format!("name_regex_delete={}&older_than=1h", q(".*")),
            &w.alice,
        );
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(left().len(), 7);
        // Anchored regexes: `v` alone matches no tag.
        assert_eq!(bulk("name_regex_delete=v", &w.alice).status, 202);
        assert_eq!(left().len(), 7);
        // v1 kept by regex, v5 and v4 as the two newest of the rest: v2 and v3 go.
        let r = bulk(
            &format!("name_regex_delete={}&name_regex_keep=v1&keep_n=2", q("v.+")),
            &w.alice,
        );
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(left(), ["latest", "stable", "v1", "v4", "v5"]);
        // Alternatives, through the deprecated name_regex.
        let r = bulk(&format!("name_regex={}", q("v1|stable")), &w.alice);
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(left(), ["latest", "v4", "v5"]);
        // Everything but latest.
        let r = bulk(&format!("name_regex_delete={}", q(".*")), &w.alice);
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(left(), ["latest"]);
        let listed = ok(s.get(&tags, &w.alice));
        assert_eq!(names(&listed, "name"), ["latest"]);
    });
}

#[test]
fn deleting_a_repository_and_token_rules() {
    each_backend(|s: &Server| {
        let w = world(s);
        push_image(s, &w.alice, "acme/app", "v1", 30);
        push_image(s, &w.alice, "acme/app/old", "v1", 31);
        let app_id = repository_id(s, &w.alice, w.app, "");
        let old_id = repository_id(s, &w.alice, w.app, "old");
        let repos = format!("/api/v4/projects/{}/registry/repositories", w.app);

        // A token holding container_registry:read only lists, and cannot delete.
        let reader = s.fine_token("alice", "container_registry:read", "all_memberships", &[]);
        assert_eq!(ok(s.get(&repos, &reader)).as_array().unwrap().len(), 2);
        assert_eq!(
            s.get(&format!("{repos}/{app_id}/tags/v1"), &reader).status,
            200
        );
        assert_eq!(
            s.get(&format!("/api/v4/registry/repositories/{app_id}"), &reader)
                .status,
            200
        );
        let r = s.call("DELETE", &format!("{repos}/{old_id}"), Some(&reader), None);
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.json["error"], "insufficient_scope");
        assert_eq!(r.json["missing"], json!(["container_registry:delete"]));
        let r = s.call(
            "DELETE",
            &format!("{repos}/{app_id}/tags/v1"),
            Some(&reader),
            None,
        );
        assert_eq!(r.status, 403, "{}", r.text);
        let r = s.call(
            "DELETE",
            &format!("{repos}/{app_id}/tags?name_regex_delete=v1"),
            Some(&reader),
            None,
        );
        assert_eq!(r.status, 403, "{}", r.text);
        // The X-Accepted-Permissions header names the registry permission.
        let listed = s.get(&repos, &reader);
        assert_eq!(
            listed.header("x-accepted-permissions"),
            Some("container_registry:read")
        );
        // Outside the token's boundary the project and its repositories are not there.
        let outside = s.fine_token(
            "alice",
            "container_registry:read,container_registry:delete",
            "selected",
            &["--project", "acme/sub/tool"],
        );
        for path in [
            repos.clone(),
            format!("/api/v4/registry/repositories/{app_id}"),
            format!("{repos}/{app_id}/tags"),
        ] {
            let r = s.get(&path, &outside);
            assert_eq!(r.status, 404, "{path}: {}", r.text);
        }
        let r = s.call("DELETE", &format!("{repos}/{old_id}"), Some(&outside), None);
        assert_eq!(r.status, 404, "{}", r.text);
        // Legacy read_registry reads; a Reporter cannot delete.
        let read_registry = s.legacy_token("alice", "read_registry");
        assert_eq!(s.get(&repos, &read_registry).status, 200);
        assert_eq!(
            s.call("DELETE", &format!("{repos}/{old_id}"), Some(&w.bob), None)
                .status,
            403
        );

        // A Maintainer+ token with container_registry:delete deletes the repository at once.
        let deleter = s.fine_token(
            "alice",
            "container_registry:read,container_registry:delete",
            "selected",
            &["--project", "acme/app"],
        );
        let r = s.call("DELETE", &format!("{repos}/{old_id}"), Some(&deleter), None);
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(
            s.get(&format!("/api/v4/registry/repositories/{old_id}"), &w.alice)
                .status,
            404
        );
        assert_eq!(
            s.get(&format!("{repos}/{old_id}/tags"), &w.alice).status,
            404
        );
        assert_eq!(v2_tags(s, &w.alice, "acme/app/old"), None);
        assert_eq!(names(&ok(s.get(&repos, &w.alice)), "name"), [""]);
        assert_eq!(
            s.call("DELETE", &format!("{repos}/{old_id}"), Some(&w.alice), None)
                .status,
            404
        );
        // Pushing again starts a new repository.
        push_image(s, &w.alice, "acme/app/old", "v2", 32);
        let again = repository_id(s, &w.alice, w.app, "old");
        assert_ne!(again, old_id);
        assert_eq!(v2_tags(s, &w.alice, "acme/app/old").unwrap(), ["v2"]);
    });
}

const REPOSITORIES: &str = r#"query($path: ID!, $name: String) {
  project(fullPath: $path) {
    containerRepositories(name: $name) {
      count
      nodes {
        id name path location createdAt tagsCount
        tags { count nodes { name path location digest revision shortRevision totalSize createdAt } }
      }
    }
  }
}"#;

#[test]
fn graphql_container_repositories_and_destroy_mutations() {
    each_backend(|s: &Server| {
        let w = world(s);
        let v1 = push_image(s, &w.alice, "acme/app", "v1", 40);
        push_image(s, &w.alice, "acme/app", "v2", 41);
        push_image(s, &w.alice, "acme/app/tools", "v1", 42);
        let host = host(s);

        let r = s.graphql(Some(&w.bob), REPOSITORIES, json!({"path": "acme/app"}));
        assert!(r.json["errors"].is_null(), "{}", r.text);
        let list = &r.json["data"]["project"]["containerRepositories"];
        assert_eq!(list["count"], 2);
        let root = &list["nodes"][0];
        let id = repository_id(s, &w.alice, w.app, "");
        assert_eq!(root["id"], format!("gid://gitlab/ContainerRepository/{id}"));
        assert_eq!(root["name"], "");
        assert_eq!(root["path"], "acme/app");
        assert_eq!(root["location"], format!("{host}/acme/app"));
        assert!(root["createdAt"].is_string());
        assert_eq!(root["tagsCount"], 2);
        assert_eq!(root["tags"]["count"], 2);
        let tag = &root["tags"]["nodes"][0];
        let revision = v1.config_digest.trim_start_matches("sha256:");
        assert_eq!(tag["name"], "v1");
        assert_eq!(tag["path"], "acme/app:v1");
        assert_eq!(tag["location"], format!("{host}/acme/app:v1"));
        assert_eq!(tag["digest"], v1.manifest_digest);
        assert_eq!(tag["revision"], revision);
        assert_eq!(tag["shortRevision"], &revision[..9]);
        assert_eq!(tag["totalSize"], v1.total_size.to_string());
        assert!(tag["createdAt"].is_string());
        let r = s.graphql(
            Some(&w.bob),
            REPOSITORIES,
            json!({"path": "acme/app", "name": "TOO"}),
        );
        let nodes = &r.json["data"]["project"]["containerRepositories"]["nodes"];
        assert_eq!(nodes.as_array().unwrap().len(), 1);
        assert_eq!(nodes[0]["path"], "acme/app/tools");

        // By id, with GitLab's ContainerRepositoryID type.
        let by_id = r#"query($id: ContainerRepositoryID!) { containerRepository(id: $id) { path tagsCount } }"#;
        let gid = format!("gid://gitlab/ContainerRepository/{id}");
        let r = s.graphql(Some(&w.bob), by_id, json!({"id": gid}));
        assert_eq!(
            r.json["data"]["containerRepository"],
            json!({"path": "acme/app", "tagsCount": 2}),
            "{}",
            r.text
        );
        let secret = {
            push_image(s, &w.alice, "acme/secret", "v1", 43);
            repository_id(s, &w.alice, w.secret, "")
        };
        for other in [
            format!("gid://gitlab/ContainerRepository/{secret}"),
            "gid://gitlab/ContainerRepository/999999".into(),
        ] {
            let r = s.graphql(Some(&w.bob), by_id, json!({"id": other}));
            assert_eq!(
                r.json["data"]["containerRepository"],
                Value::Null,
                "{}",
                r.text
            );
            assert!(r.json["errors"].is_null(), "{}", r.text);
        }

        // Destroying tags: at most 20, Maintainer+, container_registry:delete.
        let destroy_tags = r#"mutation($id: ContainerRepositoryID!, $names: [String!]!) {
          destroyContainerRepositoryTags(input: {id: $id, tagNames: $names}) { deletedTagNames errors }
        }"#;
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        let r = s.graphql(
            Some(&w.alice),
            destroy_tags,
            json!({"id": gid, "names": many}),
        );
        assert_eq!(
            r.json["errors"][0]["message"], "Number of tags is greater than 20",
            "{}",
            r.text
        );
        let r = s.graphql(
            Some(&w.bob),
            destroy_tags,
            json!({"id": gid, "names": ["v2"]}),
        );
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "role_too_low",
            "{}",
            r.text
        );
        let reader = s.fine_token("alice", "container_registry:read", "all_memberships", &[]);
        let r = s.graphql(
            Some(&reader),
            destroy_tags,
            json!({"id": gid, "names": ["v2"]}),
        );
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "insufficient_scope",
            "{}",
            r.text
        );
        let r = s.graphql(
            Some(&w.alice),
            destroy_tags,
            json!({"id": gid, "names": ["v2", "nope"]}),
        );
        assert_eq!(
            r.json["data"]["destroyContainerRepositoryTags"],
            json!({"deletedTagNames": ["v2"], "errors": []}),
            "{}",
            r.text
        );
        assert_eq!(v2_tags(s, &w.alice, "acme/app").unwrap(), ["v1"]);

        // Destroying the repository.
        let destroy = r#"mutation($id: ContainerRepositoryID!) {
          destroyContainerRepository(input: {id: $id}) { errors containerRepository { id path } }
        }"#;
        let r = s.graphql(Some(&w.bob), destroy, json!({"id": gid}));
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "role_too_low",
            "{}",
            r.text
        );
        let r = s.graphql(Some(&w.alice), destroy, json!({"id": gid}));
        assert_eq!(
            r.json["data"]["destroyContainerRepository"],
            json!({"errors": [], "containerRepository": {"id": gid, "path": "acme/app"}}),
            "{}",
            r.text
        );
        assert_eq!(
            s.get(&format!("/api/v4/registry/repositories/{id}"), &w.alice)
                .status,
            404
        );
        assert_eq!(v2_tags(s, &w.alice, "acme/app"), None);
        let r = s.graphql(Some(&w.alice), destroy, json!({"id": gid}));
        assert_eq!(
            r.json["errors"][0]["extensions"]["code"], "not_visible",
            "{}",
            r.text
        );
        let r = s.graphql(Some(&w.bob), REPOSITORIES, json!({"path": "acme/app"}));
        assert_eq!(
            r.json["data"]["project"]["containerRepositories"]["count"],
            1
        );
    });
}
