//! The registry's reports: the coverage report (REST and CLI agree), the operator's not-covered
//! setting, explain, the OpenAPI document (served and checked in), instance metadata and sudo.

mod common;

use common::{BIN, Server, each_backend};
use serde_json::{Value, json};
use std::process::Command;

fn cli_stdout(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn report_lists_every_endpoint_and_matches_the_cli() {
    each_backend(|s: &Server| {
        s.user("alice");
        let t = s.legacy_token("alice", "read_api");
        let r = s.get("/api/v4/token_coverage", &t);
        assert_eq!(r.status, 200, "{}", r.text);
        let endpoints = r.json["endpoints"].as_array().unwrap();
        let rotate = endpoints
            .iter()
            .find(|e| e["path"] == "/api/v4/personal_access_tokens/self/rotate")
            .unwrap();
        assert_eq!(rotate["surface"], "rest");
        assert_eq!(rotate["method"], "POST");
        assert_eq!(rotate["resource"], "personal_access_token");
        assert_eq!(rotate["action"], "update");
        assert_eq!(rotate["legacy_scopes"], json!(["api", "self_rotate"]));
        assert_eq!(rotate["covered"], true);
        // The tallies count what users' tokens reach; the runner protocol, a job's own calls
        // and the trigger API (their own tokens) are listed with their credential, outside them.
        let total = &r.json["total"];
        let principal = endpoints
            .iter()
            .filter(|e| e["credential"] == "principal")
            .count();
        assert_eq!(total["total"].as_u64().unwrap() as usize, principal);
        let request = endpoints
            .iter()
            .find(|e| e["path"] == "/api/v4/jobs/request")
            .expect("the runner protocol is declared");
        assert_eq!(request["credential"], "runner_token");
        let trace = endpoints
            .iter()
            .find(|e| e["path"] == "/api/v4/jobs/{job_id}/trace")
            .expect("job calls are declared");
        assert_eq!(trace["credential"], "job_token");
        assert!(principal < endpoints.len());
        let cli: Value =
            serde_json::from_str(&cli_stdout(&["coverage", "--format", "json"], &[])).unwrap();
        assert_eq!(
            cli, r.json,
            "the CLI and the server report the same registry"
        );
    });
}

#[test]
fn not_covered_endpoints_refuse_fine_grained_tokens_only() {
    for backend in common::backends() {
        let s = Server::start(&backend, &[("TINFORGE_NOT_COVERED", "GET /api/v4/user")]);
        s.user("alice");
        let fg = s.fine_token(
            "alice",
            "user:read,personal_access_token:read",
            "all_memberships",
            &[],
        );
        let legacy = s.legacy_token("alice", "read_user,read_api");
        let refused = s.get("/api/v4/user", &fg);
        assert_eq!(refused.status, 403);
        assert_eq!(
            refused.json,
            json!({"error": "not_covered",
                   "error_description": "This endpoint does not accept fine-grained tokens yet"})
        );
        assert_eq!(s.get("/api/v4/user", &legacy).status, 200);
        assert_eq!(s.get("/api/v4/users", &fg).status, 200);
        let report = s.get("/api/v4/token_coverage", &legacy);
        let row = report.json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == "/api/v4/user")
            .cloned()
            .unwrap();
        assert_eq!(row["covered"], false);
        let table = cli_stdout(
            &["coverage"],
            &[("TINFORGE_NOT_COVERED", "GET /api/v4/user")],
        );
        assert!(
            table
                .lines()
                .any(|l| l.contains("/api/v4/user ") && l.trim_end().ends_with("no")),
            "{table}"
        );
        let md = cli_stdout(&["coverage", "--format", "markdown"], &[]);
        assert!(md.starts_with("# Fine-grained token coverage"));
    }
    // A typo in the setting refuses to start instead of silently covering nothing.
    let out = Command::new(BIN)
        .args(["coverage"])
        .env("TINFORGE_NOT_COVERED", "GET /api/v4/nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn explain_gives_the_reason_chain_without_acting() {
    each_backend(|s: &Server| {
        s.user("alice");
        let fg = s.fine_token(
            "alice",
            "personal_access_token:read",
            "all_memberships",
            &[],
        );
        let q = |query: &str, token: &str| {
            s.get(&format!("/api/v4/token_coverage/explain?{query}"), token)
        };
        let yes = q("method=GET&path=/api/v4/personal_access_tokens/self", &fg);
        assert_eq!(yes.status, 200, "{}", yes.text);
        assert_eq!(yes.json["allowed"], true);
        assert_eq!(
            yes.json["endpoint"],
            "rest GET /api/v4/personal_access_tokens/self"
        );
        let no = q(
            "method=DELETE&path=/api/v4/personal_access_tokens/self",
            &fg,
        );
        assert_eq!(no.json["allowed"], false);
        assert_eq!(no.json["decision"], "insufficient_scope");
        assert_eq!(no.json["status"], 403);
        let grant = no.json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["check"] == "grant")
            .cloned()
            .unwrap();
        assert_eq!(grant["ok"], false);
        // Explaining did not revoke anything.
        assert_eq!(
            s.get("/api/v4/personal_access_tokens/self", &fg).status,
            200
        );
        let missing = q("method=GET&path=/api/v4/nothing", &fg);
        assert_eq!(missing.json["decision"], "not_found");
        assert_eq!(q("graphql_field=Nope.nothing", &fg).json["status"], 404);
        assert_eq!(q("method=GET", &fg).status, 400);
        // Another user's token cannot be named; the CLI explains any token by id.
        s.user("bob");
        let bob = s.legacy_token("bob", "api");
        let bob_id = s.get("/api/v4/personal_access_tokens/self", &bob).json["id"].to_string();
        assert_eq!(
            q(
                &format!("method=GET&path=/api/v4/user&token_id={bob_id}"),
                &fg
            )
            .status,
            404
        );
        let out = s.cli_ok(&[
            "explain",
            "--token-id",
            &bob_id,
            "--method",
            "GET",
            "--path",
            "/api/v4/user",
        ]);
        let cli: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(cli["allowed"], true);
        assert_eq!(cli["decision"], "allow");
    });
}

#[test]
fn openapi_is_served_and_the_checked_in_file_is_current() {
    let generated = cli_stdout(&["openapi", "--out", "-"], &[]);
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert!(
        generated == checked_in,
        "openapi/openapi.json is stale: run `cargo run -- openapi` and commit the result"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    let op = &doc["paths"]["/api/v4/personal_access_tokens/{token_id}"]["delete"];
    assert_eq!(
        op["x-required-permission"]["permissions"],
        json!(["personal_access_token:delete"])
    );
    // Every operation declares its permission.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op.get("x-required-permission").is_some(), "{method} {path}");
        }
    }
    let s = Server::start(&common::Backend::Sqlite, &[]);
    let served = s.call("GET", "/api/v4/openapi.json", None, None);
    assert_eq!(served.status, 200);
    assert_eq!(served.json, doc);
    assert_eq!(s.call("GET", "/-/health", None, None).status, 200);
}

#[test]
fn version_metadata_and_sudo() {
    each_backend(|s: &Server| {
        s.admin("boss");
        s.user("alice");
        let alice = s.legacy_token("alice", "read_user");
        let v = s.get("/api/v4/version", &alice);
        assert_eq!(v.status, 200);
        let version = v.json["version"].as_str().unwrap();
        assert_eq!(version.split('.').count(), 3, "{version}");
        assert_eq!(s.get("/api/v4/metadata", &alice).json["version"], version);
        assert_eq!(s.call("GET", "/api/v4/version", None, None).status, 401);

        let sudo = s.legacy_token("boss", "api,sudo");
        let as_alice = s.get("/api/v4/user?sudo=alice", &sudo);
        assert_eq!(as_alice.json["username"], "alice");
        let header = common::Reply::from(
            s.request("GET", "/api/v4/user")
                .set("PRIVATE-TOKEN", &sudo)
                .set("Sudo", "alice")
                .call(),
        );
        assert_eq!(header.json["username"], "alice");
        let no_sudo_scope = s.legacy_token("boss", "api");
        let r = s.get("/api/v4/user?sudo=alice", &no_sudo_scope);
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json["message"],
            "403 Forbidden - Must be admin to use sudo"
        );
        let not_admin = s.legacy_token("alice", "api,sudo");
        assert_eq!(s.get("/api/v4/user?sudo=boss", &not_admin).status, 403);
        let ghost = s.get("/api/v4/user?sudo=ghost", &sudo);
        assert_eq!(ghost.status, 404);
        assert_eq!(
            ghost.json["message"],
            "404 User with ID or username 'ghost' Not Found"
        );
    });
}

#[test]
fn explain_reaches_git_services_and_per_ref_push_checks() {
    each_backend(|s: &Server| {
        s.user("gina");
        let owner = s.legacy_token("gina", "api");
        let g = s.call(
            "POST",
            "/api/v4/groups",
            Some(&owner),
            Some(json!({"name": "team", "path": "team", "visibility": "private"})),
        );
        assert_eq!(g.status, 201, "{}", g.text);
        let p = s.call(
            "POST",
            "/api/v4/projects",
            Some(&owner),
            Some(json!({"name": "app", "path": "app", "namespace_id": g.json["id"]})),
        );
        assert_eq!(p.status, 201, "{}", p.text);
        let reader = s.fine_token(
            "gina",
            "repository:read,personal_access_token:read",
            "all_memberships",
            &[],
        );
        let explain = |method: &str, path: &str| {
            let path = path.replace('?', "%3F").replace('=', "%3D");
            s.get(
                &format!("/api/v4/token_coverage/explain?method={method}&path={path}"),
                &reader,
            )
        };
        let clone = explain("GET", "/team/app.git/info/refs?service=git-upload-pack");
        assert_eq!(clone.status, 200, "{}", clone.text);
        assert_eq!(clone.json["allowed"], true, "{}", clone.text);
        assert_eq!(
            clone.json["endpoint"],
            "git GET /{project_path}.git/info/refs?service=git-upload-pack"
        );
        let push = explain("PUSH", "/team/app.git refs create");
        assert_eq!(push.json["allowed"], false, "{}", push.text);
        assert_eq!(push.json["decision"], "insufficient_scope");
        assert_eq!(push.json["required"], json!(["repository:create"]));
        // A project that does not exist is explained as such, never as a denial.
        let missing = explain("GET", "/team/nope.git/info/refs?service=git-upload-pack");
        assert_eq!(missing.json["decision"], "not_visible", "{}", missing.text);
        assert_eq!(missing.json["status"], 404);
    });
}
