//! The authorization matrix of the registry surface, generated from the coverage report (rows with
//! `surface == "registry"`, so a new registry action is in the matrix the moment it is declared):
//! every row is performed on the real server by every kind of caller, presenting the personal
//! access token directly to `/v2/` (`PRIVATE-TOKEN`), and the answer is compared with what the
//! declaration says (permissions, legacy scopes, minimum role, covered), by the rules of
//! permissions.md and of tests/matrix.rs, not by calling `decide()`. Two registry rules differ
//! from REST: callers without a usable credential get 401 with the Bearer challenge everywhere
//! (never 404: clients only authenticate after a challenge), and denials are 403 `DENIED` or
//! 404 `NAME_UNKNOWN` in the OCI error shape. Writes are checked for their effect too: a denied
//! request leaves the fixture as it was, an allowed one changes it.
//!
//! A second, smaller pass goes through the token service: for the legacy registry scopes and a
//! few fine-grained grant sets, the JWT's `access` claim must hold exactly the actions the
//! token's permissions give, and `/v2/` with that JWT must then allow or deny each row
//! accordingly.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use common::catalog::{SCOPES, all_permissions};
use common::registry::{OCI_MANIFEST, image_bytes, push_image, sha256};
use common::{Backend, Reply, Server};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug, Clone)]
struct Row {
    method: String,
    path: String,
    permissions: Vec<String>,
    legacy_scopes: Vec<String>,
    min_role: i64,
    admin_only: bool,
    covered: bool,
    target: String,
}

impl Row {
    fn from(v: &Value) -> Row {
        let strings = |k: &str| {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        Row {
            method: v["method"].as_str().unwrap().into(),
            path: v["path"].as_str().unwrap().into(),
            permissions: strings("permissions"),
            legacy_scopes: strings("legacy_scopes"),
            min_role: v["min_role"].as_i64().unwrap(),
            admin_only: v["admin_only"].as_bool().unwrap(),
            covered: v["covered"].as_bool().unwrap(),
            target: v["target"].as_str().unwrap().into(),
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn has_target(&self) -> bool {
        matches!(self.target.as_str(), "project" | "group")
    }

    fn is_list(&self) -> bool {
        self.target == "list"
    }

    /// The docker action a JWT needs for the row: `pull` for reads, `delete` for deletes,
    /// `push` for creating and updating.
    fn docker_action(&self) -> &'static str {
        let actions: BTreeSet<&str> = self
            .permissions
            .iter()
            .map(|p| p.rsplit(':').next().unwrap())
            .collect();
        if actions.contains("delete") {
            "delete"
        } else if actions.contains("create") || actions.contains("update") {
            "push"
        } else {
            "pull"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allowed,
    Status(u16),
}

/// What a caller got, in the matrix's terms.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The row's success status.
    Allowed,
    /// A refusal in the registry's shape: 401 UNAUTHORIZED with a Bearer challenge, 403 DENIED,
    /// 404 NAME_UNKNOWN.
    Status(u16),
    Other(String),
}

impl Outcome {
    fn of(r: &Reply, success: u16) -> Outcome {
        let code = r.json["errors"][0]["code"].as_str();
        let challenge = r.header("www-authenticate").is_some_and(|h| {
            h.starts_with("Bearer realm=\"") && h.contains("service=\"container_registry\"")
        });
        match (r.status, code) {
            (s, _) if s == success => Outcome::Allowed,
            (401, Some("UNAUTHORIZED")) if challenge => Outcome::Status(401),
            (403, Some("DENIED")) => Outcome::Status(403),
            (404, Some("NAME_UNKNOWN")) => Outcome::Status(404),
            (s, _) => Outcome::Other(format!(
                "{s} {}",
                r.text.chars().take(300).collect::<String>()
            )),
        }
    }
}

/// The credential of a request.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Anonymous,
    Token(&'a str),
    Bearer(&'a str),
}

fn send(
    s: &Server,
    method: &str,
    path: &str,
    auth: Auth,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Reply {
    let mut req =
        ureq::request(method, &format!("{}{}", s.url, path)).timeout(Duration::from_secs(60));
    req = match auth {
        Auth::Anonymous => req,
        Auth::Token(t) => req.set("PRIVATE-TOKEN", t),
        Auth::Bearer(t) => req.set("Authorization", &format!("Bearer {t}")),
    };
    if let Some(ct) = content_type {
        req = req.set("Content-Type", ct);
    }
    Reply::from(match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    })
}

/// A private group with a private project, both alice's, bob a Guest on both; an image pushed
/// to the project's own name at `v1`; and an open upload session when the row needs one.
struct Fixture {
    n: u32,
    image: String,
    manifest_digest: String,
    config_digest: String,
    layer_digest: String,
    /// Another manifest of the same blobs (the config alone), for moving `v1`.
    other_manifest: Vec<u8>,
    upload: Option<String>,
}

/// The request a row stands for, on a fixture.
struct Call {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    success: u16,
}

const CHUNK: &[u8] = b"chunk";

struct World<'a> {
    s: &'a Server,
    admin: String,
    alice: i64,
    alice_api: String,
    bob: i64,
    mallory: i64,
    seq: Cell<u32>,
    /// Tokens by a key describing them (they do not depend on the fixture).
    tokens: RefCell<BTreeMap<String, String>>,
    /// A private project of alice's that fixtures are not in.
    elsewhere: (i64, String),
}

impl<'a> World<'a> {
    fn new(s: &'a Server) -> World<'a> {
        s.admin("root");
        let alice = s.user("alice");
        let bob = s.user("bob");
        let mallory = s.user("mallory");
        let alice_api = s.legacy_token("alice", "api");
        let r = s.call(
            "POST",
            "/api/v4/projects",
            Some(&alice_api),
            Some(json!({"name": "elsewhere", "path": "elsewhere", "visibility": "private"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let elsewhere = (
            r.json["id"].as_i64().unwrap(),
            r.json["path_with_namespace"].as_str().unwrap().to_string(),
        );
        push_image(s, &alice_api, &elsewhere.1, "v1", 0);
        World {
            s,
            admin: s.legacy_token("root", "api,admin_mode"),
            alice,
            alice_api,
            bob,
            mallory,
            seq: Cell::new(0),
            tokens: RefCell::new(BTreeMap::new()),
            elsewhere,
        }
    }

    fn next(&self) -> u32 {
        self.seq.set(self.seq.get() + 1);
        self.seq.get()
    }

    fn ok(&self, r: Reply, what: &str) -> Value {
        assert!(
            r.status < 300,
            "fixture {what} failed: {} {}",
            r.status,
            r.text
        );
        r.json
    }

    fn fixture(&self, with_upload: bool) -> Fixture {
        let n = self.next();
        let t = Some(self.alice_api.as_str());
        let group = self.ok(
            self.s.call(
                "POST",
                "/api/v4/groups",
                t,
                Some(json!({"name": format!("g{n}"), "path": format!("g{n}"), "visibility": "private"})),
            ),
            "group",
        );
        let group_id = group["id"].as_i64().unwrap();
        let project = self.ok(
            self.s.call(
                "POST",
                "/api/v4/projects",
                t,
                Some(json!({"name": format!("p{n}"), "path": format!("p{n}"),
                            "namespace_id": group_id, "visibility": "private"})),
            ),
            "project",
        );
        let project_id = project["id"].as_i64().unwrap();
        for (kind, id) in [("groups", group_id), ("projects", project_id)] {
            self.ok(
                self.s.call(
                    "POST",
                    &format!("/api/v4/{kind}/{id}/members"),
                    t,
                    Some(json!({"user_id": self.bob, "access_level": 10})),
                ),
                "member",
            );
        }
        let image = project["path_with_namespace"].as_str().unwrap().to_string();
        let pushed = push_image(self.s, &self.alice_api, &image, "v1", n);
        let (config, _, _) = image_bytes(n);
        let other_manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(&config), "size": config.len()},
            "layers": [],
        }))
        .unwrap();
        let upload = with_upload.then(|| {
            let r = send(
                self.s,
                "POST",
                &format!("/v2/{image}/blobs/uploads/"),
                Auth::Token(&self.alice_api),
                None,
                Some(b""),
            );
            assert_eq!(r.status, 202, "fixture upload: {}", r.text);
            r.header("location").unwrap().to_string()
        });
        Fixture {
            n,
            image,
            manifest_digest: pushed.manifest_digest,
            config_digest: pushed.config_digest,
            layer_digest: pushed.layer_digest,
            other_manifest,
            upload,
        }
    }

    /// A token of `user` made over REST by the admin (CLI for scopes only the CLI may grant).
    fn make_token(&self, user: &str, user_id: i64, body: Value) -> (String, i64) {
        let r = self.s.call(
            "POST",
            &format!("/api/v4/users/{user_id}/personal_access_tokens"),
            Some(&self.admin),
            Some(body.clone()),
        );
        if r.status == 201 {
            return (
                r.json["token"].as_str().unwrap().to_string(),
                r.json["id"].as_i64().unwrap(),
            );
        }
        let scopes = body["scopes"]
            .as_array()
            .unwrap_or_else(|| panic!("token {body} refused: {} {}", r.status, r.text));
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str().unwrap()).collect();
        (self.s.legacy_token(user, &scopes.join(",")), 0)
    }

    /// A token made once and kept under `key`.
    fn cached(&self, key: &str, make: impl FnOnce() -> String) -> String {
        if let Some(t) = self.tokens.borrow().get(key) {
            return t.clone();
        }
        let t = make();
        self.tokens.borrow_mut().insert(key.to_string(), t.clone());
        t
    }

    fn legacy(&self, scopes: &[&str]) -> String {
        self.cached(&format!("legacy {scopes:?}"), || {
            self.make_token("alice", self.alice, json!({"name": "m", "scopes": scopes}))
                .0
        })
    }

    fn fine(&self, permissions: &[String], boundary: Value) -> String {
        self.cached(&format!("fine {permissions:?} {boundary}"), || {
            let mut body = json!({"name": "m", "permissions": permissions});
            for (k, v) in boundary.as_object().unwrap() {
                body[k] = v.clone();
            }
            self.make_token("alice", self.alice, body).0
        })
    }

    fn expired(&self) -> String {
        self.cached("expired", || {
            let (t, id) =
                self.make_token("alice", self.alice, json!({"name": "m", "scopes": ["api"]}));
            self.s.sql(&format!(
                "UPDATE personal_access_tokens SET expires_at = '2020-01-01' WHERE id = {id}"
            ));
            t
        })
    }

    fn revoked(&self) -> String {
        self.cached("revoked", || {
            let (t, id) =
                self.make_token("alice", self.alice, json!({"name": "m", "scopes": ["api"]}));
            let r = self.s.call(
                "DELETE",
                &format!("/api/v4/personal_access_tokens/{id}"),
                Some(&self.admin),
                None,
            );
            assert_eq!(r.status, 204, "{}", r.text);
            t
        })
    }

    fn rotated_away(&self) -> String {
        self.cached("rotated", || {
            let (t, _) =
                self.make_token("alice", self.alice, json!({"name": "m", "scopes": ["api"]}));
            let r = self.s.call(
                "POST",
                "/api/v4/personal_access_tokens/self/rotate",
                Some(&t),
                None,
            );
            assert_eq!(r.status, 200, "{}", r.text);
            t
        })
    }

    fn guest(&self) -> String {
        self.cached("bob", || {
            self.make_token("bob", self.bob, json!({"name": "m", "scopes": ["api"]}))
                .0
        })
    }

    fn non_member(&self) -> String {
        self.cached("mallory", || {
            self.make_token(
                "mallory",
                self.mallory,
                json!({"name": "m", "scopes": ["api"]}),
            )
            .0
        })
    }

    fn admin_mode(&self) -> String {
        self.cached("admin", || self.s.legacy_token("root", "api,admin_mode"))
    }

    /// Whether the row needs an open upload session in its fixture.
    fn needs_upload(row: &Row) -> bool {
        row.path.contains("/blobs/uploads/{")
    }

    /// The concrete request of `row` on `f`; panics when the matrix does not know the row.
    fn request(&self, row: &Row, f: &Fixture) -> Call {
        let img = &f.image;
        let upload = || f.upload.clone().expect("an upload session");
        let call = |method, path: String, success| Call {
            method,
            path,
            content_type: None,
            body: None,
            success,
        };
        match (row.method.as_str(), row.path.as_str()) {
            ("GET", "/v2/") => call("GET", "/v2/".into(), 200),
            ("GET", "/v2/_catalog") => call("GET", "/v2/_catalog".into(), 200),
            ("GET", "/v2/{image_name}/tags/list") => {
                call("GET", format!("/v2/{img}/tags/list"), 200)
            }
            ("GET", "/v2/{image_name}/manifests/{reference}") => {
                call("GET", format!("/v2/{img}/manifests/v1"), 200)
            }
            ("GET", "/v2/{image_name}/blobs/{digest}") => {
                call("GET", format!("/v2/{img}/blobs/{}", f.config_digest), 200)
            }
            ("GET", "/v2/{image_name}/referrers/{digest}") => call(
                "GET",
                format!("/v2/{img}/referrers/{}", f.manifest_digest),
                200,
            ),
            ("POST", "/v2/{image_name}/blobs/uploads/") => Call {
                body: Some(Vec::new()),
                ..call("POST", format!("/v2/{img}/blobs/uploads/"), 202)
            },
            ("PATCH", "/v2/{image_name}/blobs/uploads/{session}") => Call {
                body: Some(CHUNK.to_vec()),
                content_type: Some("application/octet-stream"),
                ..call("PATCH", upload(), 202)
            },
            ("PUT", "/v2/{image_name}/blobs/uploads/{session}") => Call {
                body: Some(CHUNK.to_vec()),
                content_type: Some("application/octet-stream"),
                ..call("PUT", format!("{}?digest={}", upload(), sha256(CHUNK)), 201)
            },
            ("GET", "/v2/{image_name}/blobs/uploads/{session}") => call("GET", upload(), 204),
            ("DELETE", "/v2/{image_name}/blobs/uploads/{session}") => call("DELETE", upload(), 204),
            ("PUT", "/v2/{image_name}/manifests/{reference}") => Call {
                body: Some(image_bytes(f.n).2),
                content_type: Some(OCI_MANIFEST),
                ..call("PUT", format!("/v2/{img}/manifests/new-{}", f.n), 201)
            },
            ("PUT", "/v2/{image_name}/manifests/{reference} (existing tag)") => Call {
                body: Some(f.other_manifest.clone()),
                content_type: Some(OCI_MANIFEST),
                ..call("PUT", format!("/v2/{img}/manifests/v1"), 201)
            },
            ("DELETE", "/v2/{image_name}/manifests/{reference}") => call(
                "DELETE",
                format!("/v2/{img}/manifests/{}", f.manifest_digest),
                202,
            ),
            ("DELETE", "/v2/{image_name}/blobs/{digest}") => {
                call("DELETE", format!("/v2/{img}/blobs/{}", f.layer_digest), 202)
            }
            _ => panic!(
                "the registry matrix has no request for {}: add one in tests/registry_matrix.rs",
                row.label()
            ),
        }
    }

    /// Whether the row's write took effect on `f` (None for rows without a lasting effect).
    fn effect(&self, row: &Row, f: &Fixture) -> Option<bool> {
        let alice = Auth::Token(&self.alice_api);
        let get = |path: &str| send(self.s, "GET", path, alice, None, None);
        let img = &f.image;
        Some(match (row.method.as_str(), row.path.as_str()) {
            ("PATCH", "/v2/{image_name}/blobs/uploads/{session}") => {
                let r = get(f.upload.as_deref().unwrap());
                assert_eq!(r.status, 204, "upload status: {}", r.text);
                r.header("range") == Some("0-4")
            }
            ("PUT", "/v2/{image_name}/blobs/uploads/{session}") => {
                get(&format!("/v2/{img}/blobs/{}", sha256(CHUNK))).status == 200
            }
            ("DELETE", "/v2/{image_name}/blobs/uploads/{session}") => {
                get(f.upload.as_deref().unwrap()).status == 404
            }
            ("PUT", "/v2/{image_name}/manifests/{reference}") => {
                get(&format!("/v2/{img}/manifests/new-{}", f.n)).status == 200
            }
            ("PUT", "/v2/{image_name}/manifests/{reference} (existing tag)") => {
                let r = get(&format!("/v2/{img}/manifests/v1"));
                assert_eq!(r.status, 200, "{}", r.text);
                r.header("docker-content-digest") == Some(sha256(&f.other_manifest).as_str())
            }
            ("DELETE", "/v2/{image_name}/manifests/{reference}") => {
                get(&format!("/v2/{img}/manifests/{}", f.manifest_digest)).status == 404
            }
            ("DELETE", "/v2/{image_name}/blobs/{digest}") => {
                get(&format!("/v2/{img}/blobs/{}", f.layer_digest)).status == 404
            }
            _ => return None,
        })
    }
}

/// Collects failures of one matrix run.
#[derive(Default)]
struct Failures {
    list: Vec<String>,
    /// Rows whose `X-Accepted-Permissions` differed from their declaration, with what was sent.
    headers: BTreeMap<String, BTreeSet<String>>,
}

impl Failures {
    fn push(&mut self, row: &Row, case: &str, what: String) {
        self.list.push(format!("{} [{case}]: {what}", row.label()));
    }
}

/// Performs `row` with `auth` on a fresh fixture and checks status, body shape, header and
/// effect against `expect`.
fn case(w: &World, failures: &mut Failures, row: &Row, name: &str, auth: Auth, expect: Expect) {
    let f = w.fixture(World::needs_upload(row));
    let call = w.request(row, &f);
    let r = send(
        w.s,
        call.method,
        &call.path,
        auth,
        call.content_type,
        call.body.as_deref(),
    );
    let got = Outcome::of(&r, call.success);
    let ok = match expect {
        Expect::Allowed => got == Outcome::Allowed,
        Expect::Status(s) => got == Outcome::Status(s),
    };
    if !ok {
        failures.push(row, name, format!("expected {expect:?}, got {got:?}"));
    }
    if !matches!(auth, Auth::Anonymous) {
        let declared = row.permissions.join(",");
        let sent = r.header("x-accepted-permissions").unwrap_or("(none)");
        // A manifest PUT learns that it moves a tag only from the body; a caller holding neither
        // create nor update is refused before the body is read, as the plain push it appears.
        let refused_before_body = row.path.ends_with("(existing tag)")
            && got != Outcome::Allowed
            && sent == "container_registry:create";
        if sent != declared && !refused_before_body {
            failures
                .headers
                .entry(format!("{} (declared {declared})", row.label()))
                .or_default()
                .insert(sent.to_string());
        }
    }
    if let Some(changed) = w.effect(row, &f)
        && matches!(got, Outcome::Allowed | Outcome::Status(_))
        && changed != (got == Outcome::Allowed)
    {
        failures.push(
            row,
            name,
            format!(
                "{got:?}, yet the fixture {}",
                if changed { "changed" } else { "did not change" }
            ),
        );
    }
}

fn registry_rows(s: &Server, admin: &str) -> Vec<Row> {
    let report = s.get("/api/v4/token_coverage", admin);
    assert_eq!(report.status, 200, "{}", report.text);
    let rows: Vec<Row> = report.json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["surface"] == "registry")
        .map(Row::from)
        .collect();
    assert!(
        rows.len() >= 15,
        "the registry actions are declared: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.path == "/v2/{image_name}/manifests/{reference} (existing tag)"),
        "the tag move is a row of its own"
    );
    rows
}

fn run_matrix(backend: Backend) {
    let s = Server::start(&backend, &[]);
    let w = World::new(&s);
    let rows = registry_rows(&s, &w.admin);
    let mut failures = Failures::default();
    let garbage = "tfpat-thisisnotarealtokenatallnotatall00";
    for row in &rows {
        // Without a usable credential: the challenge, everywhere.
        case(
            &w,
            &mut failures,
            row,
            "anonymous",
            Auth::Anonymous,
            Expect::Status(401),
        );
        for (name, token) in [
            ("garbage", garbage.to_string()),
            ("expired", w.expired()),
            ("revoked", w.revoked()),
            ("rotated-away", w.rotated_away()),
        ] {
            case(
                &w,
                &mut failures,
                row,
                name,
                Auth::Token(&token),
                Expect::Status(401),
            );
        }
        // Each legacy scope alone: allowed exactly where the declaration says.
        for scope in SCOPES {
            let expect = if row.legacy_scopes.iter().any(|s| s == scope) && !row.admin_only {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            let t = w.legacy(&[scope]);
            case(
                &w,
                &mut failures,
                row,
                &format!("scope {scope}"),
                Auth::Token(&t),
                expect,
            );
        }
        let admin = w.admin_mode();
        case(
            &w,
            &mut failures,
            row,
            "admin in admin mode",
            Auth::Token(&admin),
            Expect::Allowed,
        );
        // Fine-grained: exactly the declared grant; the same grant elsewhere; everything else.
        let exact = w.fine(&row.permissions, json!({"boundary": "all_memberships"}));
        let expect = if row.covered && !row.admin_only {
            Expect::Allowed
        } else {
            Expect::Status(403)
        };
        case(
            &w,
            &mut failures,
            row,
            "fine-grained exact grant",
            Auth::Token(&exact),
            expect,
        );
        let outside = w.fine(
            &row.permissions,
            json!({"boundary": "selected", "projects": [w.elsewhere.0]}),
        );
        let expect = if row.has_target() {
            Expect::Status(404)
        } else if row.covered && !row.admin_only {
            Expect::Allowed
        } else {
            Expect::Status(403)
        };
        case(
            &w,
            &mut failures,
            row,
            "fine-grained outside boundary",
            Auth::Token(&outside),
            expect,
        );
        let others: Vec<String> = all_permissions()
            .into_iter()
            .filter(|p| !row.permissions.contains(p))
            .collect();
        let without = w.fine(&others, json!({"boundary": "all_memberships"}));
        // On a list, a fine-grained token without the permission sees what an anonymous caller
        // could see (the floor of permissions.md).
        let expect = if row.is_list() {
            Expect::Allowed
        } else {
            Expect::Status(403)
        };
        case(
            &w,
            &mut failures,
            row,
            "fine-grained without the grant",
            Auth::Token(&without),
            expect,
        );
        if row.has_target() {
            let expect = if row.min_role <= 10 && !row.admin_only {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            let bob = w.guest();
            case(
                &w,
                &mut failures,
                row,
                "guest member",
                Auth::Token(&bob),
                expect,
            );
            let mallory = w.non_member();
            case(
                &w,
                &mut failures,
                row,
                "non-member",
                Auth::Token(&mallory),
                Expect::Status(404),
            );
        }
    }
    let mut report: Vec<String> = failures.list;
    for (row, sent) in &failures.headers {
        report.push(format!(
            "{row}: X-Accepted-Permissions was {}",
            sent.iter().cloned().collect::<Vec<_>>().join(" | ")
        ));
    }
    assert!(
        report.is_empty(),
        "{} registry authorization matrix failures on {}:\n{}",
        report.len(),
        s.backend_name(),
        report.join("\n")
    );
}

/// The actions of `permissions` in docker terms, in the order a client asks for them.
fn granted_actions(permissions: &[&str]) -> Vec<&'static str> {
    let has = |p: &str| permissions.contains(&p);
    let mut actions = Vec::new();
    if has("container_registry:read") {
        actions.push("pull");
    }
    if has("container_registry:create") {
        actions.push("push");
    }
    if has("container_registry:delete") {
        actions.push("delete");
    }
    actions
}

/// The JWT's payload (the signature is the server's business).
fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn run_token_service_pass(backend: Backend) {
    let s = Server::start(&backend, &[]);
    let w = World::new(&s);
    let rows: Vec<Row> = registry_rows(&s, &w.admin)
        .into_iter()
        .filter(Row::has_target)
        .collect();
    // (name, legacy scopes or fine-grained permissions, the permissions they amount to)
    let callers: [(&str, bool, &[&str]); 7] = [
        ("legacy read_registry", false, &["read_registry"]),
        ("legacy write_registry", false, &["write_registry"]),
        (
            "legacy read_registry,write_registry",
            false,
            &["read_registry", "write_registry"],
        ),
        ("fine-grained read", true, &["container_registry:read"]),
        (
            "fine-grained create+read",
            true,
            &["container_registry:create", "container_registry:read"],
        ),
        (
            "fine-grained create+read+update",
            true,
            &[
                "container_registry:create",
                "container_registry:read",
                "container_registry:update",
            ],
        ),
        (
            "fine-grained delete+read",
            true,
            &["container_registry:delete", "container_registry:read"],
        ),
    ];
    let mut failures = Failures::default();
    for (caller, fine, grants) in callers {
        let permissions: Vec<&str> = if fine {
            grants.to_vec()
        } else {
            let mut p = Vec::new();
            if grants.contains(&"read_registry") {
                p.push("container_registry:read");
            }
            if grants.contains(&"write_registry") {
                p.extend(["container_registry:create", "container_registry:update"]);
            }
            p
        };
        let expected_actions = granted_actions(&permissions);
        for row in &rows {
            let f = w.fixture(World::needs_upload(row));
            // Fine-grained tokens reach the fixture only; legacy tokens everything alice can.
            let token = if fine {
                let project = f.image.clone();
                let perms: Vec<String> = grants.iter().map(|p| p.to_string()).collect();
                w.make_token(
                    "alice",
                    w.alice,
                    json!({"name": "jwt", "permissions": perms, "boundary": "selected",
                           "projects": [project]}),
                )
                .0
            } else {
                w.legacy(grants)
            };
            let scope = |name: &str| format!("repository:{name}:pull,push,delete");
            let r = s.request(
                "GET",
                &format!(
                    "/jwt/auth?service=container_registry&scope={}&scope={}",
                    scope(&f.image),
                    scope(&w.elsewhere.1)
                ),
            );
            let r = Reply::from(
                r.set(
                    "Authorization",
                    &format!("Basic {}", B64.encode(format!("anyuser:{token}"))),
                )
                .call(),
            );
            assert_eq!(r.status, 200, "{caller}: token service: {}", r.text);
            let jwt = r.json["token"].as_str().unwrap().to_string();
            let access = jwt_payload(&jwt)["access"].clone();
            let elsewhere_actions: Vec<&str> = if fine {
                Vec::new()
            } else {
                expected_actions.clone()
            };
            let want = json!([
                {"type": "repository", "name": f.image, "actions": expected_actions},
                {"type": "repository", "name": w.elsewhere.1, "actions": elsewhere_actions},
            ]);
            if access != want {
                failures.push(
                    row,
                    caller,
                    format!("token service granted {access}, expected {want}"),
                );
            }
            let needed = row
                .permissions
                .iter()
                .all(|p| permissions.contains(&p.as_str()));
            let expect = if expected_actions.contains(&row.docker_action()) && needed {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            let call = w.request(row, &f);
            let r = send(
                &s,
                call.method,
                &call.path,
                Auth::Bearer(&jwt),
                call.content_type,
                call.body.as_deref(),
            );
            let got = Outcome::of(&r, call.success);
            let ok = match expect {
                Expect::Allowed => got == Outcome::Allowed,
                Expect::Status(st) => got == Outcome::Status(st),
            };
            if !ok {
                failures.push(
                    row,
                    &format!("JWT of {caller}"),
                    format!("expected {expect:?}, got {got:?}"),
                );
            }
            if let Some(changed) = w.effect(row, &f)
                && matches!(got, Outcome::Allowed | Outcome::Status(_))
                && changed != (got == Outcome::Allowed)
            {
                failures.push(
                    row,
                    &format!("JWT of {caller}"),
                    format!("{got:?}, yet the fixture changed: {changed}"),
                );
            }
        }
    }
    assert!(
        failures.list.is_empty(),
        "{} token service failures on {}:\n{}",
        failures.list.len(),
        s.backend_name(),
        failures.list.join("\n")
    );
}

/// Pushing a manifest to the tag that already names it moves nothing: `create` suffices. Moving
/// the tag to another manifest takes `update`, by tag and by `?tag=` alike.
fn run_tag_moves(backend: Backend) {
    let s = Server::start(&backend, &[]);
    let w = World::new(&s);
    let f = w.fixture(false);
    let create = w.fine(
        &[
            "container_registry:create".into(),
            "container_registry:read".into(),
        ],
        json!({"boundary": "all_memberships"}),
    );
    let update = w.fine(
        &[
            "container_registry:create".into(),
            "container_registry:read".into(),
            "container_registry:update".into(),
        ],
        json!({"boundary": "all_memberships"}),
    );
    let put = |token: &str, reference: &str, bytes: &[u8]| {
        send(
            &s,
            "PUT",
            &format!("/v2/{}/manifests/{reference}", f.image),
            Auth::Token(token),
            Some(OCI_MANIFEST),
            Some(bytes),
        )
    };
    let current = |tag: &str| {
        send(
            &s,
            "GET",
            &format!("/v2/{}/manifests/{tag}", f.image),
            Auth::Token(&w.alice_api),
            None,
            None,
        )
        .header("docker-content-digest")
        .map(str::to_string)
    };
    let original = image_bytes(f.n).2;
    let r = put(&create, "v1", &original);
    assert_eq!(
        r.status, 201,
        "the same manifest again is no move: {}",
        r.text
    );
    let r = put(&create, "v1", &f.other_manifest);
    assert_eq!(r.status, 403, "a move needs update: {}", r.text);
    assert_eq!(r.json["errors"][0]["code"], json!("DENIED"));
    assert_eq!(
        r.json["errors"][0]["detail"]["missing"],
        json!(["container_registry:update"]),
        "{}",
        r.text
    );
    assert_eq!(current("v1"), Some(f.manifest_digest.clone()));
    let other = sha256(&f.other_manifest);
    let r = put(&create, &format!("{other}?tag=v1"), &f.other_manifest);
    assert_eq!(r.status, 403, "?tag= moving v1: {}", r.text);
    assert_eq!(current("v1"), Some(f.manifest_digest.clone()));
    let r = put(&create, &format!("{other}?tag=fresh"), &f.other_manifest);
    assert_eq!(r.status, 201, "?tag= with a new tag: {}", r.text);
    let r = put(&update, "v1", &f.other_manifest);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(current("v1"), Some(other));
}

fn postgres() -> Option<Backend> {
    let pg = common::backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)));
    if pg.is_none() {
        eprintln!("TINFORGE_TEST_DATABASE_URL is not set: PostgreSQL run skipped");
    }
    pg
}

#[test]
fn registry_matrix_on_sqlite() {
    run_matrix(Backend::Sqlite);
}

#[test]
fn registry_matrix_on_postgres() {
    if let Some(pg) = postgres() {
        run_matrix(pg);
    }
}

#[test]
fn registry_token_service_on_sqlite() {
    run_token_service_pass(Backend::Sqlite);
}

#[test]
fn registry_token_service_on_postgres() {
    if let Some(pg) = postgres() {
        run_token_service_pass(pg);
    }
}

#[test]
fn registry_tag_moves_on_sqlite() {
    run_tag_moves(Backend::Sqlite);
}

#[test]
fn registry_tag_moves_on_postgres() {
    if let Some(pg) = postgres() {
        run_tag_moves(pg);
    }
}
