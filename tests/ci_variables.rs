//! CI/CD variables of projects, groups and the instance over REST on both backends: GitLab's
//! shapes and status codes, hidden values that never come back, masked-value rules, scopes and
//! `filter[environment_scope]`, who may read and write them (Maintainer for projects, Owner for
//! groups, admins in admin mode for the instance, and only with the token's permission, also
//! on public projects).

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const DEVELOPER: i64 = 30;
const MAINTAINER: i64 = 40;

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
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

fn subgroup(s: &Server, token: &str, parent: i64, path: &str) -> i64 {
    let r = post(
        s,
        "/api/v4/groups",
        token,
        json!({"name": path, "path": path, "parent_id": parent, "visibility": "private"}),
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

fn keys(r: &Reply) -> Vec<String> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn project_variables_round_trip_in_gitlab_shapes() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", None, "private");
        let all = format!("/api/v4/projects/{p}/variables");

        let r = post(
            s,
            &all,
            &t,
            json!({"key": "DEPLOY_HOST", "value": "forge.example"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            r.json,
            json!({
                "variable_type": "env_var", "key": "DEPLOY_HOST", "value": "forge.example",
                "hidden": false, "protected": false, "masked": false, "raw": false,
                "environment_scope": "*", "description": null,
            })
        );
        assert_eq!(r.header("x-accepted-permissions"), Some("project:update"));

        // A form body with every field, as curl sends it.
        let r = s
            .request("POST", &all)
            .set("PRIVATE-TOKEN", &t)
            .send_form(&[
                ("key", "KUBECONFIG"),
                ("value", "apiVersion: v1"),
                ("variable_type", "file"),
                ("protected", "true"),
                ("raw", "true"),
                ("environment_scope", "production"),
                ("description", "cluster access"),
            ]);
        let r = Reply::from(r);
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["variable_type"], "file");
        assert_eq!(r.json["protected"], true);
        assert_eq!(r.json["raw"], true);
        assert_eq!(r.json["environment_scope"], "production");
        assert_eq!(r.json["description"], "cluster access");

        let list = s.get(&all, &t);
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(keys(&list), ["DEPLOY_HOST", "KUBECONFIG"]);
        assert_eq!(list.header("x-total"), Some("2"));
        assert_eq!(list.header("x-accepted-permissions"), Some("project:read"));

        let one = s.get(&format!("{all}/DEPLOY_HOST"), &t);
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(one.json["value"], "forge.example");

        let put = s.call(
            "PUT",
            &format!("{all}/DEPLOY_HOST"),
            Some(&t),
            Some(json!({"value": "other.example", "protected": true, "description": "where"})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        assert_eq!(put.json["value"], "other.example");
        assert_eq!(put.json["protected"], true);
        assert_eq!(put.json["description"], "where");
        assert_eq!(put.json["key"], "DEPLOY_HOST");

        let del = s.call("DELETE", &format!("{all}/DEPLOY_HOST"), Some(&t), None);
        assert_eq!(del.status, 204, "{}", del.text);
        let gone = s.get(&format!("{all}/DEPLOY_HOST"), &t);
        assert_eq!(gone.status, 404);
        assert_eq!(gone.json, json!({"message": "404 Variable Not Found"}));
        let again = s.call("DELETE", &format!("{all}/DEPLOY_HOST"), Some(&t), None);
        assert_eq!(again.status, 404);
        // By full path too.
        let by_path = s.get("/api/v4/projects/alice%2Fanvil/variables", &t);
        assert_eq!(keys(&by_path), ["KUBECONFIG"]);
    });
}

#[test]
fn bad_input_gets_gitlabs_400s() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", None, "private");
        let all = format!("/api/v4/projects/{p}/variables");

        let r = post(s, &all, &t, json!({"value": "x"}));
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"error": "key is missing"}));
        let r = post(s, &all, &t, json!({"key": "A"}));
        assert_eq!(r.json, json!({"error": "value is missing"}));
        let r = post(s, &all, &t, json!({"key": "bad-key", "value": "x"}));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json,
            json!({"message": {"key": ["can contain only letters, digits and '_'."]}})
        );
        let long = "K".repeat(256);
        let r = post(s, &all, &t, json!({"key": long, "value": "x"}));
        assert_eq!(
            r.json,
            json!({"message": {"key": ["is too long (maximum is 255 characters)"]}})
        );
        let r = post(
            s,
            &all,
            &t,
            json!({"key": "A", "value": "x", "variable_type": "secret"}),
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json,
            json!({"error": "variable_type does not have a valid value"})
        );
        let r = post(
            s,
            &all,
            &t,
            json!({"key": "A", "value": "x", "protected": "maybe"}),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"error": "protected is invalid"}));

        // Masked values: at least 8 characters of one line from the allowed alphabet.
        for bad in ["short", "has spaces in it", "two\nlines!!", "dollar$sign1"] {
            let r = post(
                s,
                &all,
                &t,
                json!({"key": "TOKEN", "value": bad, "masked": true}),
            );
            assert_eq!(r.status, 400, "{bad}: {}", r.text);
            assert_eq!(
                r.json,
                json!({"message": {"value": ["is invalid"]}}),
                "{bad}"
            );
        }
        let ok = post(
            s,
            &all,
            &t,
            json!({"key": "TOKEN", "value": "c2VjcmV0:x@y.z~_-+=/", "masked": true}),
        );
        assert_eq!(ok.status, 201, "{}", ok.text);
        assert_eq!(ok.json["masked"], true);
        // Unmasking is fine; masking a value that cannot be masked is not.
        let r = s.call(
            "PUT",
            &format!("{all}/TOKEN"),
            Some(&t),
            Some(json!({"value": "tiny", "masked": true})),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"message": {"value": ["is invalid"]}}));

        // A taken key in the same scope; the same key in another scope is fine.
        let dup = post(s, &all, &t, json!({"key": "TOKEN", "value": "x"}));
        assert_eq!(dup.status, 400, "{}", dup.text);
        assert_eq!(
            dup.json,
            json!({"message": {"key": ["(TOKEN) has already been taken"]}})
        );
        let scoped = post(
            s,
            &all,
            &t,
            json!({"key": "TOKEN", "value": "x", "environment_scope": "staging"}),
        );
        assert_eq!(scoped.status, 201, "{}", scoped.text);

        // Two scopes of one key: the request must say which.
        let ambiguous = s.get(&format!("{all}/TOKEN"), &t);
        assert_eq!(ambiguous.status, 409, "{}", ambiguous.text);
        assert_eq!(
            ambiguous.json,
            json!({"message": "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'"})
        );
        let staging = s.get(
            &format!("{all}/TOKEN?filter%5Benvironment_scope%5D=staging"),
            &t,
        );
        assert_eq!(staging.status, 200, "{}", staging.text);
        assert_eq!(staging.json["value"], "x");
        assert_eq!(staging.json["environment_scope"], "staging");
        let put = s.call(
            "PUT",
            &format!("{all}/TOKEN?filter%5Benvironment_scope%5D=staging"),
            Some(&t),
            Some(json!({"value": "y"})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        // Moving it onto the scope that already has the key is refused.
        let clash = s.call(
            "PUT",
            &format!("{all}/TOKEN"),
            Some(&t),
            Some(json!({"filter": {"environment_scope": "staging"}, "environment_scope": "*"})),
        );
        assert_eq!(clash.status, 400, "{}", clash.text);
        assert_eq!(
            clash.json,
            json!({"message": {"key": ["(TOKEN) has already been taken"]}})
        );
        let del = s.call(
            "DELETE",
            &format!("{all}/TOKEN?filter%5Benvironment_scope%5D=staging"),
            Some(&t),
            None,
        );
        assert_eq!(del.status, 204, "{}", del.text);
        assert_eq!(s.get(&format!("{all}/TOKEN"), &t).status, 200);
        let malformed = s
            .request("POST", &all)
            .set("PRIVATE-TOKEN", &t)
            .set("Content-Type", "application/json")
            .send_string("{not json");
        assert_eq!(Reply::from(malformed).status, 400);
    });
}

#[test]
fn hidden_values_never_come_back() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let p = project(s, &t, "anvil", None, "private");
        let all = format!("/api/v4/projects/{p}/variables");
        let secret = "s3cr3tValue0123456789";

        let r = post(
            s,
            &all,
            &t,
            json!({"key": "HIDDEN", "value": secret, "masked_and_hidden": true}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["value"], Value::Null);
        assert_eq!(r.json["hidden"], true);
        assert_eq!(r.json["masked"], true);
        assert!(!r.text.contains(secret));

        for reply in [
            s.get(&all, &t),
            s.get(&format!("{all}/HIDDEN"), &t),
            s.call(
                "PUT",
                &format!("{all}/HIDDEN"),
                Some(&t),
                Some(json!({"description": "still hidden"})),
            ),
        ] {
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert!(!reply.text.contains(secret), "{}", reply.text);
        }
        let one = s.get(&format!("{all}/HIDDEN"), &t);
        assert_eq!(one.json["value"], Value::Null);
        assert_eq!(one.json["description"], "still hidden");
        // A new value is taken and not shown either; a hidden variable stays masked.
        let put = s.call(
            "PUT",
            &format!("{all}/HIDDEN"),
            Some(&t),
            Some(json!({"value": "an0therSecretValue"})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        assert_eq!(put.json["value"], Value::Null);
        assert!(!put.text.contains("an0therSecretValue"));
        let unmask = s.call(
            "PUT",
            &format!("{all}/HIDDEN"),
            Some(&t),
            Some(json!({"masked": false})),
        );
        assert_eq!(unmask.status, 400, "{}", unmask.text);
        assert_eq!(s.get(&format!("{all}/HIDDEN"), &t).json["masked"], true);
        // A hidden value must be maskable too.
        let r = post(
            s,
            &all,
            &t,
            json!({"key": "H2", "value": "short", "masked_and_hidden": true}),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.json, json!({"message": {"value": ["is invalid"]}}));
        assert!(!s.log().contains(secret), "the value reached the log");
    });
}

#[test]
fn only_maintainers_with_the_permission_manage_project_variables() {
    each_backend(|s: &Server| {
        s.user("alice");
        let dev = s.user("dev");
        let maint = s.user("maint");
        s.user("stranger");
        let owner = s.legacy_token("alice", "api");
        // A public project: anyone may read the project, nobody but maintainers its variables.
        let p = project(s, &owner, "open", None, "public");
        add_member(s, &owner, "projects", p, dev, DEVELOPER);
        add_member(s, &owner, "projects", p, maint, MAINTAINER);
        let all = format!("/api/v4/projects/{p}/variables");
        assert_eq!(
            post(
                s,
                &all,
                &owner,
                json!({"key": "SECRET", "value": "topsecret1"})
            )
            .status,
            201
        );

        let anonymous = s.call("GET", &all, None, None);
        assert_eq!(anonymous.status, 401, "{}", anonymous.text);
        assert!(!anonymous.text.contains("topsecret1"));
        for who in ["dev", "stranger"] {
            let t = s.legacy_token(who, "api");
            let list = s.get(&all, &t);
            assert_eq!(list.status, 403, "{who}: {}", list.text);
            assert_eq!(list.json, json!({"message": "403 Forbidden"}));
            assert_eq!(s.get(&format!("{all}/SECRET"), &t).status, 403);
            let w = post(s, &all, &t, json!({"key": "MINE", "value": "x"}));
            assert_eq!(w.status, 403, "{who}: {}", w.text);
            let d = s.call("DELETE", &format!("{all}/SECRET"), Some(&t), None);
            assert_eq!(d.status, 403);
        }
        let m = s.legacy_token("maint", "api");
        assert_eq!(keys(&s.get(&all, &m)), ["SECRET"]);
        assert_eq!(
            post(s, &all, &m, json!({"key": "MAINT", "value": "x"})).status,
            201
        );

        // Legacy read_api reads but cannot write.
        let read_api = s.legacy_token("maint", "read_api");
        assert_eq!(s.get(&all, &read_api).status, 200);
        let w = post(s, &all, &read_api, json!({"key": "NOPE", "value": "x"}));
        assert_eq!(w.status, 403, "{}", w.text);
        assert_eq!(w.json["error"], "insufficient_scope");

        // Fine-grained: project:read reads, cannot write; a token without project:read cannot
        // read a public project's variables through the anonymous floor.
        let reader = s.fine_token("maint", "project:read", "all_memberships", &[]);
        assert_eq!(s.get(&all, &reader).status, 200);
        let w = post(s, &all, &reader, json!({"key": "NOPE", "value": "x"}));
        assert_eq!(w.status, 403, "{}", w.text);
        assert_eq!(w.json["error"], "insufficient_scope");
        assert_eq!(w.json["missing"], json!(["project:update"]));
        let put = s.call(
            "PUT",
            &format!("{all}/SECRET"),
            Some(&reader),
            Some(json!({"value": "changed123"})),
        );
        assert_eq!(put.status, 403);
        let issues_only = s.fine_token("maint", "issue:read", "all_memberships", &[]);
        let r = s.get(&all, &issues_only);
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(!r.text.contains("topsecret1"));
        // A token whose boundary does not reach the project.
        let elsewhere = s.fine_token("maint", "project:read", "personal_projects", &[]);
        let r = s.get(&all, &elsewhere);
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(!r.text.contains("topsecret1"));
        let writer = s.fine_token(
            "maint",
            "project:read,project:update",
            "all_memberships",
            &[],
        );
        assert_eq!(
            post(s, &all, &writer, json!({"key": "FG", "value": "x"})).status,
            201
        );
        // Unchanged by the refused writes.
        assert_eq!(keys(&s.get(&all, &m)), ["SECRET", "MAINT", "FG"]);
        assert_eq!(
            s.get(&format!("{all}/SECRET"), &m).json["value"],
            "topsecret1"
        );

        // A private project: non-members are told nothing.
        let hidden = project(s, &owner, "closed", None, "private");
        let st = s.legacy_token("stranger", "api");
        let r = s.get(&format!("/api/v4/projects/{hidden}/variables"), &st);
        assert_eq!(r.status, 404);
        assert_eq!(r.json, json!({"message": "404 Project Not Found"}));
    });
}

#[test]
fn group_variables_need_the_owner_role() {
    each_backend(|s: &Server| {
        s.user("alice");
        let maint = s.user("maint");
        let owner = s.legacy_token("alice", "api");
        let g = group(s, &owner, "acme", "public");
        add_member(s, &owner, "groups", g, maint, MAINTAINER);
        let all = format!("/api/v4/groups/{g}/variables");

        let r = post(
            s,
            &all,
            &owner,
            json!({"key": "REGISTRY_PASSWORD", "value": "hunter2hunter2", "masked": true}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["environment_scope"], "*");
        assert_eq!(r.header("x-accepted-permissions"), Some("group:update"));
        assert_eq!(keys(&s.get(&all, &owner)), ["REGISTRY_PASSWORD"]);
        assert_eq!(
            s.get("/api/v4/groups/acme/variables/REGISTRY_PASSWORD", &owner)
                .json["value"],
            "hunter2hunter2"
        );

        let m = s.legacy_token("maint", "api");
        assert_eq!(s.get(&all, &m).status, 403);
        assert_eq!(
            post(s, &all, &m, json!({"key": "X", "value": "y"})).status,
            403
        );
        let put = s.call(
            "PUT",
            &format!("{all}/REGISTRY_PASSWORD"),
            Some(&owner),
            Some(json!({"masked": false})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        assert_eq!(put.json["masked"], false);
        let del = s.call(
            "DELETE",
            &format!("{all}/REGISTRY_PASSWORD"),
            Some(&owner),
            None,
        );
        assert_eq!(del.status, 204);
        assert_eq!(keys(&s.get(&all, &owner)), Vec::<String>::new());
        assert_eq!(s.get("/api/v4/groups/9999/variables", &owner).status, 404);
    });
}

#[test]
fn instance_variables_are_for_admins_in_admin_mode() {
    each_backend(|s: &Server| {
        s.admin("root");
        s.user("alice");
        let admin = s.legacy_token("root", "api,admin_mode");
        let admin_without_mode = s.legacy_token("root", "api");
        let alice = s.legacy_token("alice", "api");
        let all = "/api/v4/admin/ci/variables";

        let r = post(
            s,
            all,
            &admin,
            json!({"key": "GLOBAL", "value": "everywhere", "environment_scope": "production"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        // Instance variables have no environment scope.
        assert_eq!(
            r.json,
            json!({"variable_type": "env_var", "key": "GLOBAL", "value": "everywhere",
                   "hidden": false, "protected": false, "masked": false, "raw": false,
                   "description": null})
        );
        assert_eq!(keys(&s.get(all, &admin)), ["GLOBAL"]);
        let put = s.call(
            "PUT",
            &format!("{all}/GLOBAL"),
            Some(&admin),
            Some(json!({"value": "changed"})),
        );
        assert_eq!(put.json["value"], "changed");

        assert_eq!(s.get(all, &alice).status, 403);
        assert_eq!(
            post(s, all, &alice, json!({"key": "A", "value": "b"})).status,
            403
        );
        let r = s.get(all, &admin_without_mode);
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(s.call("GET", all, None, None).status, 401);
        let fine = s.fine_token("root", "project:read", "all_memberships", &[]);
        let r = s.get(all, &fine);
        assert_eq!(r.status, 403);
        assert_eq!(r.json["error"], "not_covered");

        let del = s.call("DELETE", &format!("{all}/GLOBAL"), Some(&admin), None);
        assert_eq!(del.status, 204);
        assert_eq!(s.get(&format!("{all}/GLOBAL"), &admin).status, 404);
    });
}

#[test]
fn pagination_headers_on_variable_lists() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let g = group(s, &t, "acme", "private");
        let sub = subgroup(s, &t, g, "tools");
        let p = project(s, &t, "anvil", Some(sub), "private");
        let all = format!("/api/v4/projects/{p}/variables");
        for n in 0..5 {
            assert_eq!(
                post(s, &all, &t, json!({"key": format!("V{n}"), "value": "x"})).status,
                201
            );
        }
        let page = s.get(&format!("{all}?per_page=2&page=2"), &t);
        assert_eq!(page.status, 200);
        assert_eq!(keys(&page), ["V2", "V3"]);
        assert_eq!(page.header("x-total"), Some("5"));
        assert_eq!(page.header("x-total-pages"), Some("3"));
        assert_eq!(page.header("x-next-page"), Some("3"));
        assert_eq!(page.header("x-prev-page"), Some("1"));
        assert_eq!(
            s.get(&format!("{all}?per_page=0"), &t).json,
            json!({"error": "per_page does not have a valid value"})
        );
    });
}
