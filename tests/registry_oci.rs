//! The OCI distribution-spec 1.1 conformance workflows, re-implemented case by case over raw HTTP
//! (the suite in `opencontainers/distribution-spec/conformance`: pull, push, content discovery,
//! content management, with the suite's own test data), plus the checks of the main-branch rewrite
//! (range reads, upload cancel, mounts, `?tag=`, `OCI-Subject`, the 4 MiB manifest limit), image
//! indexes and Docker media types, nested image names, bad input (each refused in the OCI error
//! shape, leaving nothing stored), visibility, the catalog and revocation. Every test runs on
//! SQLite and, with `TINFORGE_TEST_DATABASE_URL`, on PostgreSQL.
//!
//! The pull and push workflows authenticate as real clients do (`bloodorangeio/reggie`, the
//! suite's client): every request goes out without credentials, the 401's `WWW-Authenticate`
//! challenge is parsed, the realm is asked for a token with Basic `anyuser:<personal access
//! token>`, and the request is retried with `Bearer`. Elsewhere the personal access token goes
//! directly as `PRIVATE-TOKEN`, which `/v2/` accepts too.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use common::registry::{OCI_INDEX, OCI_MANIFEST, sha256};
use common::{Backend, Server, each_backend};
use serde_json::{Value, json};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Constants of the suite (registry.md 1.2)

/// sha256("hello world"): a digest no test pushes.
const DUMMY_DIGEST: &str =
    "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
/// The empty JSON blob `{}`.
const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const EMPTY_JSON_TYPE: &str = "application/vnd.oci.empty.v1+json";
const ARTIFACT_A: &str = "application/vnd.nhl.peanut.butter.bagel";
const ARTIFACT_B: &str = "application/vnd.nba.strawberry.jam.croissant";
const ARTIFACT_INDEX: &str = "application/vnd.food.stand";
const ANNOTATION: &str = "org.opencontainers.conformance.test";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// A tag that breaks the tag grammar (the suite's `nonexistentManifest`).
const INVALID_TAG: &str = ".INVALID_MANIFEST_NAME";
/// The error codes the suite accepts (v1.1.1 `setup.go`), plus distribution's RANGE_INVALID and
/// PAGINATION_NUMBER_INVALID.
const CODES: [&str; 17] = [
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "MANIFEST_UNVERIFIED",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "TAG_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "RANGE_INVALID",
    "PAGINATION_NUMBER_INVALID",
];

// ---------------------------------------------------------------------------------------------
// Raw HTTP

/// A response with its raw body (blobs are binary).
#[derive(Debug)]
struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    json: Value,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated header, in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(600)
            .collect()
    }

    fn code(&self) -> &str {
        self.json["errors"][0]["code"].as_str().unwrap_or("")
    }

    fn location(&self) -> String {
        let l = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location in {} {}", self.status, self.text()));
        assert!(!l.is_empty(), "empty Location");
        l.to_string()
    }
}

/// The credential of one request.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Anonymous,
    /// A personal access token as `PRIVATE-TOKEN`.
    Token(&'a str),
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

/// The path and query of a `Location` (reggie keeps only those and re-prefixes the root URL).
fn relative(location: &str) -> String {
    match location
        .strip_prefix("http://")
        .or(location.strip_prefix("https://"))
    {
        Some(rest) => rest
            .find('/')
            .map_or("/".to_string(), |i| rest[i..].to_string()),
        None => location.to_string(),
    }
}

fn request(
    s: &Server,
    method: &str,
    path: &str,
    auth: Auth,
    headers: &[(&str, &str)],
) -> ureq::Request {
    let url = format!("{}{}", s.url, relative(path));
    let mut req = ureq::request(method, &url).timeout(Duration::from_secs(120));
    req = match auth {
        Auth::Anonymous => req,
        Auth::Token(t) => req.set("PRIVATE-TOKEN", t),
        Auth::Bearer(t) => req.set("Authorization", &format!("Bearer {t}")),
        Auth::Basic(u, p) => req.set(
            "Authorization",
            &format!("Basic {}", B64.encode(format!("{u}:{p}"))),
        ),
    };
    for (k, v) in headers {
        req = req.set(k, v);
    }
    req
}

fn response(result: Result<ureq::Response, ureq::Error>, method: &str, path: &str) -> Res {
    let res = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: transport error: {e}"),
    };
    let status = res.status();
    let mut names = res.headers_names();
    names.sort();
    names.dedup();
    let mut hs = Vec::new();
    for n in names {
        for v in res.all(&n) {
            hs.push((n.clone(), v.to_string()));
        }
    }
    let mut bytes = Vec::new();
    res.into_reader()
        .take(64 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .expect("read the body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers: hs,
        body: bytes,
        json,
    }
}

fn send(
    s: &Server,
    method: &str,
    path: &str,
    auth: Auth,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Res {
    let req = request(s, method, path, auth, headers);
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    response(result, method, path)
}

/// A request whose body goes out with `Transfer-Encoding: chunked` (no Content-Length), as
/// containers/image streams a layer of unknown size.
fn send_streamed(s: &Server, method: &str, path: &str, auth: Auth, body: &[u8]) -> Res {
    let req = request(
        s,
        method,
        path,
        auth,
        &[("Content-Type", "application/octet-stream")],
    );
    response(req.send(std::io::Cursor::new(body.to_vec())), method, path)
}

/// `sha512:<hex>` of `bytes`.
fn sha512(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes)))
}

/// Query-string encoding of one value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The parameters of a `Bearer realm="…",service="…",scope="…"` challenge (values quoted, as
/// reggie's regex requires).
fn parse_challenge(header: &str) -> BTreeMap<String, String> {
    let rest = header
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {header}"));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().trim_start_matches(',').trim().to_string();
        if key.is_empty() {
            break;
        }
        assert_eq!(
            chars.next(),
            Some('"'),
            "unquoted value of {key} in {header}"
        );
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => break,
                c => value.push(c),
            }
        }
        params.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    params
}

/// The payload of a JWT (no signature check).
fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload"))
        .expect("JSON payload")
}

// ---------------------------------------------------------------------------------------------
// A registry client: a personal access token directly, or the token dance

enum Mode {
    Token(String),
    /// reggie: no credentials first, then the realm with Basic, then Bearer; no token cache.
    Dance {
        user: String,
        password: String,
    },
}

struct Client<'a> {
    s: &'a Server,
    mode: Mode,
    /// How many tokens the dance fetched.
    tokens: Cell<u32>,
}

impl<'a> Client<'a> {
    fn token(s: &'a Server, token: &str) -> Client<'a> {
        Client {
            s,
            mode: Mode::Token(token.to_string()),
            tokens: Cell::new(0),
        }
    }

    fn dance(s: &'a Server, user: &str, password: &str) -> Client<'a> {
        Client {
            s,
            mode: Mode::Dance {
                user: user.into(),
                password: password.into(),
            },
            tokens: Cell::new(0),
        }
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Res {
        match &self.mode {
            Mode::Token(t) => send(self.s, method, path, Auth::Token(t), headers, body),
            Mode::Dance { user, password } => {
                let first = send(self.s, method, path, Auth::Anonymous, headers, body);
                if first.status != 401 {
                    return first;
                }
                let challenge = first
                    .header("www-authenticate")
                    .unwrap_or_else(|| panic!("401 without a challenge on {method} {path}"));
                let params = parse_challenge(challenge);
                assert_eq!(
                    params.get("realm").map(String::as_str),
                    Some(format!("{}/jwt/auth", self.s.url).as_str()),
                    "{challenge}"
                );
                assert_eq!(
                    params.get("service").map(String::as_str),
                    Some("container_registry"),
                    "{challenge}"
                );
                let mut query = format!("service={}", enc(&params["service"]));
                if let Some(scope) = params.get("scope") {
                    query.push_str(&format!("&scope={}", enc(scope)));
                }
                // A mount also needs pull on its source, which containers/image asks for as a
                // second scope.
                if let Some(from) = path.split(['?', '&']).find_map(|p| p.strip_prefix("from=")) {
                    query.push_str(&format!(
                        "&scope={}",
                        enc(&format!("repository:{from}:pull"))
                    ));
                }
                let realm = relative(&params["realm"]);
                let token = send(
                    self.s,
                    "GET",
                    &format!("{realm}?{query}"),
                    Auth::Basic(user, password),
                    &[("Accept", "application/json")],
                    None,
                );
                assert_eq!(token.status, 200, "token service: {}", token.text());
                let jwt = token.json["token"]
                    .as_str()
                    .or(token.json["access_token"].as_str())
                    .expect("token in the answer")
                    .to_string();
                assert!(token.json["expires_in"].as_i64().unwrap_or(60) >= 60);
                self.tokens.set(self.tokens.get() + 1);
                send(self.s, method, path, Auth::Bearer(&jwt), headers, body)
            }
        }
    }

    fn get(&self, path: &str) -> Res {
        self.req("GET", path, &[], None)
    }

    fn head(&self, path: &str) -> Res {
        self.req("HEAD", path, &[], None)
    }

    fn delete(&self, path: &str) -> Res {
        self.req("DELETE", path, &[], None)
    }

    /// POST then PUT `?digest=`; returns the digest.
    fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let start = self.req(
            "POST",
            &format!("/v2/{name}/blobs/uploads/"),
            &[],
            Some(b""),
        );
        assert_eq!(start.status, 202, "POST upload: {}", start.text());
        let put = self.req(
            "PUT",
            &with_query(&start.location(), &format!("digest={digest}")),
            &[("Content-Type", "application/octet-stream")],
            Some(bytes),
        );
        assert_eq!(put.status, 201, "PUT upload: {}", put.text());
        assert_eq!(put.location(), format!("/v2/{name}/blobs/{digest}"));
        digest
    }

    fn put_manifest(&self, name: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Res {
        self.req(
            "PUT",
            &format!("/v2/{name}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            Some(bytes),
        )
    }
}

/// `location` with one more query parameter.
fn with_query(location: &str, param: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}{param}")
}

fn expect(r: &Res, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
}

/// A 4xx in the OCI error shape whose first code is `code`.
fn expect_error(r: &Res, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    let errors = r.json["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not the OCI error shape: {}", r.text()));
    assert!(!errors.is_empty(), "{what}: no errors");
    for e in errors {
        let c = e["code"].as_str().unwrap_or_default();
        assert!(CODES.contains(&c), "{what}: code {c:?} is not a spec code");
        assert!(e["message"].is_string(), "{what}: message missing: {e}");
    }
    assert_eq!(r.code(), code, "{what}: {}", r.text());
}

// ---------------------------------------------------------------------------------------------
// Test data (registry.md 1.2)

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }

    fn chars(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        (0..n)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// A small gzip-compressed tar (the suite's layer is a 168-byte tar.gz).
fn layer_tar_gz(content: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, "layer.txt", content)
        .expect("tar");
    tar.into_inner().expect("tar").finish().expect("gzip")
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

struct Data {
    configs: Vec<Vec<u8>>,
    layer: Vec<u8>,
    manifests: Vec<Vec<u8>>,
    /// Config `configs[1]`, no layers, no `mediaType` field.
    empty_layer: Vec<u8>,
    /// 42 random bytes.
    blob_a: Vec<u8>,
    /// 42 random bytes, pushed in chunks of 22 + 20.
    blob_b: Vec<u8>,
}

fn data(seed: u64) -> Data {
    let mut rng = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let configs: Vec<Vec<u8>> = (0..16)
        .map(|_| {
            format!(
                "{{\n\t\"architecture\": \"amd64\",\n\t\"os\": \"linux\",\n\t\"rootfs\": {{\n\t\t\"type\": \"layers\",\n\t\t\"diff_ids\": []\n\t}},\n\t\"author\": \"{}\"\n}}",
                rng.chars(16)
            )
            .into_bytes()
        })
        .collect();
    let layer = layer_tar_gz(format!("conformance layer {seed}\n").as_bytes());
    let manifests = configs
        .iter()
        .map(|config| {
            let mut c = descriptor(CONFIG_TYPE, config);
            c["data"] = json!(B64.encode(config));
            c["newUnspecifiedField"] = json!(B64.encode("hello world"));
            to_bytes(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": c,
                "layers": [descriptor(LAYER_GZIP, &layer)],
            }))
        })
        .collect();
    let empty_layer = to_bytes(&json!({
        "schemaVersion": 2,
        "config": descriptor(CONFIG_TYPE, &configs[1]),
        "layers": [],
    }));
    Data {
        empty_layer,
        blob_a: rng.bytes(42),
        blob_b: rng.bytes(42),
        configs,
        layer,
        manifests,
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// alice with a legacy `api` token and her private project `alice/app`.
struct World<'a> {
    s: &'a Server,
    alice: String,
}

fn create_project(s: &Server, token: &str, path: &str, visibility: &str) -> Value {
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(token),
        Some(json!({"name": path, "path": path, "visibility": visibility})),
    );
    assert_eq!(r.status, 201, "create project {path}: {}", r.text);
    r.json
}

fn world(s: &Server) -> World<'_> {
    s.user("alice");
    let alice = s.legacy_token("alice", "api");
    create_project(s, &alice, "app", "private");
    create_project(s, &alice, "mount", "private");
    World { s, alice }
}

impl<'a> World<'a> {
    fn client(&self) -> Client<'a> {
        Client::token(self.s, &self.alice)
    }

    /// A second user with an `api` token.
    fn user(&self, name: &str) -> String {
        self.s.user(name);
        self.s.legacy_token(name, "api")
    }
}

/// A tiny image (config + layer + manifest) distinct per seed; returns the manifest bytes.
fn small_image(c: &Client, name: &str, seed: u64) -> Vec<u8> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","author":"seed {seed}"}}"#);
    let layer = layer_tar_gz(format!("layer {seed}").as_bytes());
    c.push_blob(name, config.as_bytes());
    c.push_blob(name, &layer);
    to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(CONFIG_TYPE, config.as_bytes()),
        "layers": [descriptor(LAYER_GZIP, &layer)],
    }))
}

// ---------------------------------------------------------------------------------------------
// 1.3 Pull

fn pull_workflow(c: &Client, name: &str, d: &Data) {
    // Setup S1–S5.
    let c0 = c.push_blob(name, &d.configs[0]);
    let c1 = c.push_blob(name, &d.configs[1]);
    let layer = c.push_blob(name, &d.layer);
    let m0 = sha256(&d.manifests[0]);
    let m1 = sha256(&d.manifests[1]);
    let r = c.put_manifest(name, "tagtest0", OCI_MANIFEST, &d.manifests[0]);
    expect(&r, 201, "S4 PUT tagtest0");
    let r = c.put_manifest(name, &m1, OCI_MANIFEST, &d.manifests[1]);
    expect(&r, 201, "S5 PUT by digest");

    // 1–4: blobs.
    let r = c.head(&format!("/v2/{name}/blobs/{DUMMY_DIGEST}"));
    expect(&r, 404, "1 HEAD missing blob");
    let r = c.head(&format!("/v2/{name}/blobs/{c0}"));
    expect(&r, 200, "2 HEAD blob");
    assert_eq!(r.header("docker-content-digest"), Some(c0.as_str()));
    assert_eq!(
        r.header("content-length"),
        Some(d.configs[0].len().to_string().as_str())
    );
    assert!(r.body.is_empty(), "HEAD has no body");
    let r = c.get(&format!("/v2/{name}/blobs/{DUMMY_DIGEST}"));
    expect_error(&r, 404, "BLOB_UNKNOWN", "3 GET missing blob");
    let r = c.get(&format!("/v2/{name}/blobs/{c0}"));
    expect(&r, 200, "4 GET blob");
    assert_eq!(r.body, d.configs[0]);
    assert_eq!(r.header("docker-content-digest"), Some(c0.as_str()));

    // 5–12: manifests.
    let r = c.head(&format!("/v2/{name}/manifests/{INVALID_TAG}"));
    expect(&r, 404, "5 HEAD invalid tag");
    for (digest, what) in [(&m0, "6 HEAD m0"), (&m1, "7 HEAD m1")] {
        let r = c.req(
            "HEAD",
            &format!("/v2/{name}/manifests/{digest}"),
            &[("Accept", OCI_MANIFEST)],
            None,
        );
        expect(&r, 200, what);
        assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
    }
    let r = c.head(&format!("/v2/{name}/manifests/tagtest0"));
    expect(&r, 200, "8 HEAD tag");
    assert_eq!(r.header("docker-content-digest"), Some(m0.as_str()));
    assert_eq!(
        r.header("content-length"),
        Some(d.manifests[0].len().to_string().as_str())
    );
    let r = c.get(&format!("/v2/{name}/manifests/{INVALID_TAG}"));
    expect_error(&r, 404, "MANIFEST_UNKNOWN", "9 GET invalid tag");
    for (reference, bytes, what) in [
        (m0.as_str(), &d.manifests[0], "10 GET m0"),
        (m1.as_str(), &d.manifests[1], "11 GET m1"),
        ("tagtest0", &d.manifests[0], "12 GET tag"),
    ] {
        let r = c.req(
            "GET",
            &format!("/v2/{name}/manifests/{reference}"),
            &[("Accept", OCI_MANIFEST)],
            None,
        );
        expect(&r, 200, what);
        assert_eq!(&r.body, bytes, "{what}: bytes as pushed");
        assert_eq!(r.header("content-type"), Some(OCI_MANIFEST), "{what}");
        assert_eq!(
            r.header("docker-content-digest"),
            Some(sha256(bytes).as_str())
        );
    }
    // 13: a malformed digest (the suite sends a body with it).
    let r = c.req(
        "GET",
        &format!("/v2/{name}/manifests/sha256:totallywrong"),
        &[],
        Some(b"blablabla"),
    );
    expect_error(&r, 400, "DIGEST_INVALID", "13 GET malformed digest");

    // Teardown: manifests before blobs, each delete visible at once.
    for m in [&m0, &m1] {
        let r = c.delete(&format!("/v2/{name}/manifests/{m}"));
        expect(&r, 202, "T DELETE manifest");
        expect(
            &c.head(&format!("/v2/{name}/manifests/{m}")),
            404,
            "HEAD after delete",
        );
    }
    expect(
        &c.head(&format!("/v2/{name}/manifests/tagtest0")),
        404,
        "the tag went with its manifest",
    );
    for b in [&c0, &c1, &layer] {
        let r = c.delete(&format!("/v2/{name}/blobs/{b}"));
        expect(&r, 202, "T DELETE blob");
        expect(
            &c.head(&format!("/v2/{name}/blobs/{b}")),
            404,
            "HEAD blob after delete",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1.4 Push

fn push_workflow(c: &Client, name: &str, mount_ns: &str, d: &Data) {
    let uploads = format!("/v2/{name}/blobs/uploads/");
    let octet = ("Content-Type", "application/octet-stream");
    let a = sha256(&d.blob_a);
    let b = sha256(&d.blob_b);
    let c1 = sha256(&d.configs[1]);
    let layer = sha256(&d.layer);

    // 1–2: a streamed PATCH without Content-Range, then PUT without a body.
    let r = c.req("POST", &uploads, &[], Some(b""));
    expect(&r, 202, "1 POST");
    let location = r.location();
    assert!(location.starts_with(&uploads), "{location}");
    let r = c.req("PATCH", &location, &[octet], Some(&d.blob_a));
    expect(&r, 202, "1 PATCH stream");
    assert_eq!(r.header("range"), Some("0-41"));
    let r = c.req(
        "PUT",
        &with_query(&r.location(), &format!("digest={a}")),
        &[],
        Some(b""),
    );
    expect(&r, 201, "2 PUT");
    assert_eq!(r.location(), format!("/v2/{name}/blobs/{a}"));
    assert_eq!(r.header("docker-content-digest"), Some(a.as_str()));
    expect(
        &c.get(&format!("/v2/{name}/blobs/{DUMMY_DIGEST}")),
        404,
        "3 GET missing",
    );

    // 4–5: single POST.
    let r = c.req(
        "POST",
        &format!("{uploads}?digest={c1}"),
        &[octet],
        Some(&d.configs[1]),
    );
    assert!(
        r.status == 201 || r.status == 202,
        "4 single POST: {}",
        r.text()
    );
    r.location();
    let r5 = c.get(&format!("/v2/{name}/blobs/{c1}"));
    expect(&r5, if r.status == 201 { 200 } else { 404 }, "5 GET");
    if r.status == 201 {
        assert_eq!(r5.body, d.configs[1]);
    }

    // 6–10: POST then PUT with the body.
    let r = c.req("POST", &uploads, &[], Some(b""));
    expect(&r, 202, "6 POST");
    let r = c.req(
        "PUT",
        &with_query(&r.location(), &format!("digest={c1}")),
        &[octet],
        Some(&d.configs[1]),
    );
    expect(&r, 201, "7 PUT");
    r.location();
    expect(&c.get(&format!("/v2/{name}/blobs/{c1}")), 200, "8 GET");
    c.push_blob(name, &d.layer);
    let r = c.get(&format!("/v2/{name}/blobs/{layer}"));
    expect(&r, 200, "10 GET layer");
    assert_eq!(r.body, d.layer);

    // 11–16: chunks.
    let (chunk1, chunk2) = d.blob_b.split_at(22);
    let r = c.req("POST", &uploads, &[("Content-Length", "0")], Some(b""));
    expect(&r, 202, "11 POST");
    let r = c.req(
        "PATCH",
        &r.location(),
        &[octet, ("Content-Range", "22-41")],
        Some(chunk2),
    );
    expect_error(&r, 416, "BLOB_UPLOAD_INVALID", "11 PATCH out of order");
    let r = c.req("POST", &uploads, &[("Content-Length", "0")], Some(b""));
    expect(&r, 202, "12 POST");
    let first = r.location();
    let r = c.req(
        "PATCH",
        &first,
        &[octet, ("Content-Range", "0-21")],
        Some(chunk1),
    );
    expect(&r, 202, "12 PATCH chunk 1");
    assert_eq!(r.header("range"), Some("0-21"), "12 Range");
    let r = c.req(
        "PATCH",
        &first,
        &[octet, ("Content-Range", "0-21")],
        Some(chunk1),
    );
    expect_error(&r, 416, "BLOB_UPLOAD_INVALID", "13 PATCH chunk 1 again");
    let r = c.get(&first);
    expect(&r, 204, "14 GET upload status");
    assert_eq!(r.header("range"), Some("0-21"), "14 Range");
    let r = c.req(
        "PATCH",
        &r.location(),
        &[octet, ("Content-Range", "22-41")],
        Some(chunk2),
    );
    expect(&r, 202, "15 PATCH chunk 2");
    assert_eq!(r.header("range"), Some("0-41"));
    let r = c.req(
        "PUT",
        &with_query(&r.location(), &format!("digest={b}")),
        &[("Content-Length", "0")],
        Some(b""),
    );
    expect(&r, 201, "16 PUT");
    r.location();
    let r = c.get(&format!("/v2/{name}/blobs/{b}"));
    expect(&r, 200, "GET chunked blob");
    assert_eq!(r.body, d.blob_b);

    // 17–20: mounts.
    let mount_uploads = format!("/v2/{mount_ns}/blobs/uploads/");
    let r = c.req(
        "POST",
        &format!("{mount_uploads}?mount={DUMMY_DIGEST}"),
        &[],
        Some(b""),
    );
    expect(&r, 202, "17 mount without from");
    assert!(r.location().starts_with(&mount_uploads));
    let r = c.req(
        "POST",
        &format!("{mount_uploads}?mount={a}&from={name}"),
        &[],
        Some(b""),
    );
    expect(&r, 201, "18 mount from a readable repository");
    assert_eq!(r.location(), format!("/v2/{mount_ns}/blobs/{a}"), "19");
    let r = c.get(&format!("/v2/{mount_ns}/blobs/{a}"));
    expect(&r, 200, "19 GET mounted blob");
    assert_eq!(r.body, d.blob_a);

    // 23–26: manifests.
    expect(
        &c.get(&format!("/v2/{name}/manifests/{INVALID_TAG}")),
        404,
        "23",
    );
    for tag in ["test0", "test1", "test2", "test3"] {
        let r = c.put_manifest(name, tag, OCI_MANIFEST, &d.manifests[1]);
        expect(&r, 201, "24 PUT tag");
        assert_eq!(
            r.location(),
            format!("/v2/{name}/manifests/{}", sha256(&d.manifests[1]))
        );
        assert!(r.header("oci-subject").is_none());
    }
    let r = c.put_manifest(name, "emptylayer", OCI_MANIFEST, &d.empty_layer);
    expect(&r, 201, "25 PUT empty layer manifest");
    r.location();
    let m1 = sha256(&d.manifests[1]);
    let r = c.get(&format!("/v2/{name}/manifests/{m1}"));
    expect(&r, 200, "26 GET");
    assert_eq!(r.body, d.manifests[1]);
    let r = c.get(&format!("/v2/{name}/manifests/emptylayer"));
    assert_eq!(r.body, d.empty_layer);
    assert_eq!(r.header("content-type"), Some(OCI_MANIFEST));

    // Teardown.
    for m in [m1, sha256(&d.empty_layer)] {
        expect(
            &c.delete(&format!("/v2/{name}/manifests/{m}")),
            202,
            "T DELETE manifest",
        );
        expect(
            &c.head(&format!("/v2/{name}/manifests/{m}")),
            404,
            "HEAD after delete",
        );
    }
    let tags = c.get(&format!("/v2/{name}/tags/list"));
    expect(&tags, 200, "tags after deletes");
    assert_eq!(
        tags.json["tags"],
        json!([]),
        "deleting manifests drops their tags"
    );
    for blob in [&c1, &layer, &a, &b] {
        expect(
            &c.delete(&format!("/v2/{name}/blobs/{blob}")),
            202,
            "T DELETE blob",
        );
        expect(
            &c.head(&format!("/v2/{name}/blobs/{blob}")),
            404,
            "HEAD after delete",
        );
    }
    // The mounted copy is the other repository's own.
    expect(
        &c.head(&format!("/v2/{mount_ns}/blobs/{a}")),
        200,
        "the mount survives",
    );
}

// ---------------------------------------------------------------------------------------------
// 1.5 Content discovery

struct Referrer {
    bytes: Vec<u8>,
    media_type: &'static str,
    artifact_type: &'static str,
    annotation: &'static str,
}

fn artifact(
    config: Value,
    layers: Vec<Value>,
    artifact_type: Option<&str>,
    subject: &Value,
    annotation: &str,
) -> Vec<u8> {
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
        "subject": subject,
        "annotations": {ANNOTATION: annotation},
    });
    if let Some(t) = artifact_type {
        m["artifactType"] = json!(t);
    }
    to_bytes(&m)
}

/// The referrers `entries` are exactly `expected`, each descriptor as the spec builds it.
fn check_entries(entries: &[Value], expected: &[&Referrer]) {
    assert_eq!(entries.len(), expected.len(), "{entries:?}");
    for want in expected {
        let digest = sha256(&want.bytes);
        let got = entries
            .iter()
            .find(|e| e["digest"] == json!(digest))
            .unwrap_or_else(|| panic!("referrer {} missing from {entries:?}", want.annotation));
        assert_eq!(
            got,
            &json!({
                "mediaType": want.media_type,
                "digest": digest,
                "size": want.bytes.len(),
                "artifactType": want.artifact_type,
                "annotations": {ANNOTATION: want.annotation},
            }),
            "descriptor of {}",
            want.annotation
        );
    }
}

fn discovery_workflow(c: &Client, name: &str, d: &Data) {
    c.push_blob(name, &d.configs[2]);
    c.push_blob(name, &d.layer);
    for tag in ["test0", "test1", "test2", "test3"] {
        expect(
            &c.put_manifest(name, tag, OCI_MANIFEST, &d.manifests[2]),
            201,
            "setup tag",
        );
    }
    // Referrers, pushed before their subject exists.
    let blob_a = b"NHL Peanut Butter on my NHL bagel".to_vec();
    let blob_b = b"NBA Strawberry Jam on my NBA croissant".to_vec();
    assert_eq!(c.push_blob(name, b"{}"), EMPTY_JSON_DIGEST);
    c.push_blob(name, &blob_a);
    let m3 = sha256(&d.manifests[3]);
    let m4 = sha256(&d.manifests[4]);
    let subject4 = descriptor(OCI_MANIFEST, &d.manifests[4]);
    let subject3 = descriptor(OCI_MANIFEST, &d.manifests[3]);
    let empty = json!({"mediaType": EMPTY_JSON_TYPE, "digest": EMPTY_JSON_DIGEST, "size": 2});
    let empty_as = |t: &str| json!({"mediaType": t, "digest": EMPTY_JSON_DIGEST, "size": 2});
    let a_config = Referrer {
        bytes: artifact(
            empty_as(ARTIFACT_A),
            vec![empty.clone()],
            None,
            &subject4,
            "test config a",
        ),
        media_type: OCI_MANIFEST,
        artifact_type: ARTIFACT_A,
        annotation: "test config a",
    };
    let a_layer = Referrer {
        bytes: artifact(
            empty.clone(),
            vec![descriptor(ARTIFACT_A, &blob_a)],
            Some(ARTIFACT_A),
            &subject4,
            "test layer a",
        ),
        media_type: OCI_MANIFEST,
        artifact_type: ARTIFACT_A,
        annotation: "test layer a",
    };
    let index = Referrer {
        bytes: to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": ARTIFACT_INDEX,
            "manifests": [descriptor(OCI_MANIFEST, &a_config.bytes), descriptor(OCI_MANIFEST, &a_layer.bytes)],
            "subject": subject4,
            "annotations": {ANNOTATION: "test index"},
        })),
        media_type: OCI_INDEX,
        artifact_type: ARTIFACT_INDEX,
        annotation: "test index",
    };
    for r in [&a_config, &a_layer, &index] {
        let put = c.put_manifest(name, &sha256(&r.bytes), r.media_type, &r.bytes);
        expect(&put, 201, "PUT referrer before its subject");
        assert_eq!(put.header("oci-subject"), Some(m4.as_str()));
    }
    c.push_blob(name, &d.configs[4]);
    expect(
        &c.put_manifest(name, "tagtest0", OCI_MANIFEST, &d.manifests[4]),
        201,
        "PUT subject",
    );
    c.push_blob(name, &blob_b);
    let b_config = Referrer {
        bytes: artifact(
            empty_as(ARTIFACT_B),
            vec![empty.clone()],
            None,
            &subject4,
            "test config b",
        ),
        media_type: OCI_MANIFEST,
        artifact_type: ARTIFACT_B,
        annotation: "test config b",
    };
    let b_layer = Referrer {
        bytes: artifact(
            empty.clone(),
            vec![descriptor(ARTIFACT_B, &blob_b)],
            Some(ARTIFACT_B),
            &subject4,
            "test layer b",
        ),
        media_type: OCI_MANIFEST,
        artifact_type: ARTIFACT_B,
        annotation: "test layer b",
    };
    for r in [&b_config, &b_layer] {
        let put = c.put_manifest(name, &sha256(&r.bytes), r.media_type, &r.bytes);
        expect(&put, 201, "PUT referrer");
        assert_eq!(put.header("oci-subject"), Some(m4.as_str()));
    }
    // C's subject is never pushed.
    let c_layer = Referrer {
        bytes: artifact(
            empty.clone(),
            vec![descriptor(ARTIFACT_B, &blob_b)],
            Some(ARTIFACT_B),
            &subject3,
            "test layer c",
        ),
        media_type: OCI_MANIFEST,
        artifact_type: ARTIFACT_B,
        annotation: "test layer c",
    };
    let put = c.put_manifest(name, &sha256(&c_layer.bytes), OCI_MANIFEST, &c_layer.bytes);
    expect(&put, 201, "PUT referrer of a missing subject");
    assert_eq!(put.header("oci-subject"), Some(m3.as_str()));

    // 1–3: tags.
    let r = c.get(&format!("/v2/{name}/tags/list"));
    expect(&r, 200, "1 tags");
    assert_eq!(r.json["name"], json!(name));
    let all = r.json["tags"].as_array().expect("tags").clone();
    assert_eq!(
        all,
        vec![
            json!("tagtest0"),
            json!("test0"),
            json!("test1"),
            json!("test2"),
            json!("test3")
        ]
    );
    let half = all.len() / 2;
    let r = c.get(&format!("/v2/{name}/tags/list?n={half}"));
    expect(&r, 200, "2 tags n");
    assert_eq!(r.json["tags"].as_array().unwrap()[..], all[..half]);
    let last = all[half - 1].as_str().unwrap();
    let r = c.get(&format!("/v2/{name}/tags/list?n={half}&last={last}"));
    expect(&r, 200, "3 tags n last");
    assert_eq!(
        r.json["tags"].as_array().unwrap()[..],
        all[half..2 * half],
        "page 2 holds the next tags"
    );

    // 4–7: referrers.
    let index_type = |r: &Res| {
        assert_eq!(r.header("content-type"), Some(OCI_INDEX));
        assert_eq!(r.json["schemaVersion"], json!(2));
        assert_eq!(r.json["mediaType"], json!(OCI_INDEX));
        r.json["manifests"].as_array().expect("manifests").clone()
    };
    let r = c.get(&format!("/v2/{name}/referrers/{DUMMY_DIGEST}"));
    expect(&r, 200, "4 referrers of an unknown digest");
    assert!(index_type(&r).is_empty());
    assert!(r.header("oci-filters-applied").is_none());

    let r = c.get(&format!("/v2/{name}/referrers/{m4}"));
    expect(&r, 200, "5 referrers");
    check_entries(
        &index_type(&r),
        &[&a_config, &a_layer, &index, &b_config, &b_layer],
    );
    let r = c.get(&format!(
        "/v2/{name}/referrers/{m4}?artifactType={}",
        enc(ARTIFACT_A)
    ));
    expect(&r, 200, "6 referrers filtered");
    assert_eq!(r.header("oci-filters-applied"), Some("artifactType"));
    check_entries(&index_type(&r), &[&a_config, &a_layer]);
    let r = c.get(&format!(
        "/v2/{name}/referrers/{m4}?artifactType={}",
        enc("application/vnd.nobody.uses.this")
    ));
    assert_eq!(r.header("oci-filters-applied"), Some("artifactType"));
    assert!(index_type(&r).is_empty());
    let r = c.get(&format!("/v2/{name}/referrers/{m3}"));
    expect(&r, 200, "7 referrers of a missing subject");
    check_entries(&index_type(&r), &[&c_layer]);
    let r = c.get(&format!("/v2/{name}/referrers/sha256:nothex"));
    expect_error(&r, 400, "DIGEST_INVALID", "referrers of a malformed digest");

    // Teardown.
    for bytes in [
        &index.bytes,
        &d.manifests[2],
        &d.manifests[4],
        &a_config.bytes,
        &a_layer.bytes,
        &b_config.bytes,
        &b_layer.bytes,
        &c_layer.bytes,
    ] {
        let digest = sha256(bytes);
        expect(
            &c.delete(&format!("/v2/{name}/manifests/{digest}")),
            202,
            "T DELETE",
        );
        expect(
            &c.head(&format!("/v2/{name}/manifests/{digest}")),
            404,
            "HEAD after delete",
        );
    }
    let r = c.get(&format!("/v2/{name}/referrers/{m4}"));
    assert!(index_type(&r).is_empty(), "deleted referrers are gone");
}

// ---------------------------------------------------------------------------------------------
// 1.6 Content management

fn management_workflow(c: &Client, name: &str, d: &Data) {
    let c3 = c.push_blob(name, &d.configs[3]);
    let layer = c.push_blob(name, &d.layer);
    let m3 = sha256(&d.manifests[3]);
    expect(
        &c.put_manifest(name, "tagtest0", OCI_MANIFEST, &d.manifests[3]),
        201,
        "setup",
    );
    let r = c.get(&format!("/v2/{name}/tags/list"));
    let n = r.json["tags"].as_array().unwrap().len();
    assert_eq!(n, 1);

    expect(
        &c.delete(&format!("/v2/{name}/manifests/tagtest0")),
        202,
        "1 DELETE tag",
    );
    expect(
        &c.head(&format!("/v2/{name}/manifests/tagtest0")),
        404,
        "the tag is gone",
    );
    expect(
        &c.head(&format!("/v2/{name}/manifests/{m3}")),
        200,
        "deleting a tag keeps its manifest",
    );
    expect(
        &c.delete(&format!("/v2/{name}/manifests/{m3}")),
        202,
        "2 DELETE manifest",
    );
    let r = c.get(&format!("/v2/{name}/manifests/{m3}"));
    expect_error(&r, 404, "MANIFEST_UNKNOWN", "3 GET deleted");
    let r = c.delete(&format!("/v2/{name}/manifests/{m3}"));
    expect_error(&r, 404, "MANIFEST_UNKNOWN", "DELETE again");
    let r = c.get(&format!("/v2/{name}/tags/list"));
    expect(&r, 200, "4 tags");
    assert_eq!(r.json["tags"], json!([]), "N-1 tags");
    for b in [&c3, &layer] {
        expect(
            &c.delete(&format!("/v2/{name}/blobs/{b}")),
            202,
            "5 DELETE blob",
        );
    }
    let r = c.get(&format!("/v2/{name}/blobs/{c3}"));
    expect_error(&r, 404, "BLOB_UNKNOWN", "6 GET deleted blob");
    let r = c.delete(&format!("/v2/{name}/blobs/{c3}"));
    expect_error(&r, 404, "BLOB_UNKNOWN", "DELETE blob again");
}

// ---------------------------------------------------------------------------------------------
// The workflows

/// A fine-grained token for alice with every registry permission on `alice/app` and
/// `alice/mount`.
fn registry_token(s: &Server) -> String {
    s.fine_token(
        "alice",
        "container_registry:read,container_registry:create,container_registry:update,container_registry:delete",
        "selected",
        &["--project", "alice/app", "--project", "alice/mount"],
    )
}

#[test]
fn pull_workflow_with_the_token_dance() {
    each_backend(|s| {
        let w = world(s);
        let token = registry_token(s);
        let c = Client::dance(s, "anyuser", &token);
        pull_workflow(&c, "alice/app", &data(1));
        assert!(c.tokens.get() > 10, "every request went through the dance");
        // The same with a legacy token and the image below the project.
        let legacy = Client::dance(s, "whoever", &w.alice);
        pull_workflow(&legacy, "alice/app/conformance", &data(2));
    });
}

#[test]
fn push_workflow_with_the_token_dance() {
    each_backend(|s| {
        world(s);
        let token = registry_token(s);
        let c = Client::dance(s, "anyuser", &token);
        push_workflow(&c, "alice/app", "alice/mount", &data(3));
        assert!(c.tokens.get() > 10);
    });
}

#[test]
fn push_workflow_with_a_private_token() {
    each_backend(|s| {
        let w = world(s);
        push_workflow(&w.client(), "alice/app", "alice/mount", &data(4));
    });
}

#[test]
fn content_discovery_workflow() {
    each_backend(|s| {
        let w = world(s);
        discovery_workflow(&w.client(), "alice/app", &data(5));
        let token = registry_token(s);
        discovery_workflow(
            &Client::dance(s, "anyuser", &token),
            "alice/app/discovery",
            &data(6),
        );
    });
}

#[test]
fn content_management_workflow() {
    each_backend(|s| {
        let w = world(s);
        management_workflow(&w.client(), "alice/app", &data(7));
        let token = registry_token(s);
        management_workflow(
            &Client::dance(s, "anyuser", &token),
            "alice/app/management",
            &data(8),
        );
    });
}

/// The base check and the token service as `docker login` and skopeo use them.
#[test]
fn base_check_and_login() {
    each_backend(|s| {
        let w = world(s);
        let r = send(s, "GET", "/v2/", Auth::Anonymous, &[], None);
        expect_error(&r, 401, "UNAUTHORIZED", "anonymous base check");
        assert_eq!(
            r.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
        let challenge = parse_challenge(r.header("www-authenticate").unwrap());
        assert_eq!(challenge["realm"], format!("{}/jwt/auth", s.url));
        assert_eq!(challenge["service"], "container_registry");
        assert!(!challenge.contains_key("scope"), "{challenge:?}");

        let r = send(s, "GET", "/v2/", Auth::Token(&w.alice), &[], None);
        expect(&r, 200, "base check with a token");
        assert_eq!(
            r.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
        // Login: a token without scope, then the base check with it.
        let login = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&account=alice&client_id=docker&offline_token=true",
            Auth::Basic("alice", &w.alice),
            &[],
            None,
        );
        expect(&login, 200, "login");
        let jwt = login.json["token"].as_str().unwrap();
        assert_eq!(login.json["access_token"].as_str(), Some(jwt));
        assert!(login.json["issued_at"].is_string());
        let claims = jwt_payload(jwt);
        assert_eq!(claims["aud"], json!("container_registry"));
        assert_eq!(claims["access"], json!([]));
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!((60..=300).contains(&lifetime), "{lifetime}");
        expect(
            &send(s, "GET", "/v2/", Auth::Bearer(jwt), &[], None),
            200,
            "base check with the JWT",
        );
        // `*` asks for everything the caller may do.
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:alice/app:*",
            Auth::Basic("alice", &w.alice),
            &[],
            None,
        );
        assert_eq!(
            jwt_payload(r.json["token"].as_str().unwrap())["access"][0]["actions"],
            json!(["pull", "push", "delete"])
        );
        // A token that may not use the registry at all is refused at login, as GitLab does; with
        // a scope it simply gets nothing.
        let user_only = s.legacy_token("alice", "read_user");
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry",
            Auth::Basic("alice", &user_only),
            &[],
            None,
        );
        expect_error(&r, 403, "DENIED", "login with read_user");
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:alice/app:pull",
            Auth::Basic("alice", &user_only),
            &[],
            None,
        );
        expect(&r, 200, "scope with read_user");
        assert_eq!(
            jwt_payload(r.json["token"].as_str().unwrap())["access"][0]["actions"],
            json!([])
        );
        // The catalog scope.
        let reader = s.legacy_token("alice", "read_registry");
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=registry:catalog:*",
            Auth::Basic("alice", &reader),
            &[],
            None,
        );
        expect(&r, 200, "catalog scope");
        let jwt_catalog = r.json["token"].as_str().unwrap().to_string();
        assert_eq!(
            jwt_payload(&jwt_catalog)["access"],
            json!([{"type": "registry", "name": "catalog", "actions": ["*"]}])
        );
        expect(
            &send(
                s,
                "GET",
                "/v2/_catalog",
                Auth::Bearer(&jwt_catalog),
                &[],
                None,
            ),
            200,
            "catalog with the JWT",
        );
        // Bad scopes and services.
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:Alice/App:pull",
            Auth::Basic("alice", &w.alice),
            &[],
            None,
        );
        expect_error(&r, 400, "NAME_INVALID", "an invalid name in the scope");
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=somebody_else&scope=repository:alice/app:pull",
            Auth::Basic("alice", &w.alice),
            &[],
            None,
        );
        assert!(
            r.status == 400 || r.status == 404,
            "another service: {}",
            r.text()
        );
        // containerd and BuildKit POST an OAuth2 form first.
        let form = format!(
            "grant_type=password&username=alice&password={}&client_id=containerd-client&service=container_registry&scope={}",
            enc(&w.alice),
            enc("repository:alice/app:pull,push")
        );
        let r = send(
            s,
            "POST",
            "/jwt/auth",
            Auth::Anonymous,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        );
        expect(&r, 200, "OAuth2 password grant");
        let jwt = r.json["access_token"].as_str().expect("access_token");
        assert!(r.json["expires_in"].as_i64().unwrap() >= 60);
        assert_eq!(
            jwt_payload(jwt)["access"],
            json!([{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}])
        );
        let r = send(
            s,
            "POST",
            "/jwt/auth",
            Auth::Anonymous,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(b"grant_type=refresh_token&refresh_token=x&service=container_registry"),
        );
        assert!(
            [400, 401, 404].contains(&r.status),
            "containerd falls back to GET on this: {} {}",
            r.status,
            r.text()
        );
        // Wrong password: the token service answers 401 with a Basic challenge.
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:alice/app:pull",
            Auth::Basic("alice", "tfpat-nottherightone"),
            &[],
            None,
        );
        expect_error(&r, 401, "UNAUTHORIZED", "bad password");
        // One scope value with spaces and a repeated scope both count.
        let r = send(
            s,
            "GET",
            &format!(
                "/jwt/auth?service=container_registry&scope={}&scope={}",
                enc("repository:alice/app:pull repository:alice/app/sub:pull,push"),
                enc("repository:alice/other:pull")
            ),
            Auth::Basic("alice", &w.alice),
            &[],
            None,
        );
        expect(&r, 200, "several scopes");
        let access = jwt_payload(r.json["token"].as_str().unwrap())["access"].clone();
        assert_eq!(
            access,
            json!([
                {"type": "repository", "name": "alice/app", "actions": ["pull"]},
                {"type": "repository", "name": "alice/app/sub", "actions": ["pull", "push"]},
                {"type": "repository", "name": "alice/other", "actions": []},
            ])
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 1.8 and the main-branch rewrite

#[test]
fn range_requests_on_a_2048_byte_blob() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let blob = Xorshift(77).bytes(2048);
        let digest = c.push_blob("alice/app", &blob);
        let path = format!("/v2/alice/app/blobs/{digest}");
        let range = |r: &str| c.req("GET", &path, &[("Range", r)], None);
        for (header, from, to) in [
            ("bytes=500-1499", 500, 1500),
            ("bytes=500-", 500, 2048),
            ("bytes=-500", 1548, 2048),
            ("bytes=2000-5000", 2000, 2048),
            ("bytes=0-0", 0, 1),
            ("bytes=2047-2047", 2047, 2048),
        ] {
            let r = range(header);
            expect(&r, 206, header);
            assert_eq!(r.body, blob[from..to], "{header}");
            assert_eq!(
                r.header("content-length"),
                Some((to - from).to_string().as_str()),
                "{header}"
            );
            assert_eq!(
                r.header("content-range"),
                Some(format!("bytes {from}-{}/2048", to - 1).as_str()),
                "{header}"
            );
            assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
        }
        for header in ["bytes=500-0", "bytes=5000-10000", "bytes=2048-", "bytes=-0"] {
            let r = range(header);
            expect_error(&r, 416, "RANGE_INVALID", header);
            assert_eq!(r.header("content-range"), Some("bytes */2048"), "{header}");
        }
        let r = c.get(&path);
        expect(&r, 200, "whole blob");
        assert_eq!(r.body, blob);
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
    });
}

#[test]
fn upload_cancel() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let bytes = b"some bytes that will never be a blob";
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        expect(&r, 202, "POST");
        let r = c.req("PATCH", &r.location(), &[], Some(bytes));
        expect(&r, 202, "PATCH");
        let location = r.location();
        let r = c.delete(&location);
        expect(&r, 204, "DELETE upload");
        expect_error(
            &c.get(&location),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "GET after cancel",
        );
        expect_error(
            &c.req("PATCH", &location, &[], Some(bytes)),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "PATCH after cancel",
        );
        expect_error(
            &c.req(
                "PUT",
                &with_query(&location, &format!("digest={}", sha256(bytes))),
                &[],
                Some(b""),
            ),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "PUT after cancel",
        );
        expect_error(
            &c.delete(&location),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "DELETE again",
        );
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{}", sha256(bytes))),
            404,
            "nothing stored",
        );
    });
}

#[test]
fn chunked_and_streamed_uploads() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let uploads = "/v2/alice/app/blobs/uploads/";
        let octet = ("Content-Type", "application/octet-stream");
        // Three chunks, the last one carried by the PUT with its Content-Range.
        let blob = Xorshift(9).bytes(3 * 1000 - 5);
        let digest = sha256(&blob);
        let r = c.req("POST", uploads, &[("Content-Length", "0")], Some(b""));
        let mut location = r.location();
        for (from, to) in [(0usize, 1000usize), (1000, 2000)] {
            let range = format!("{from}-{}", to - 1);
            let r = c.req(
                "PATCH",
                &location,
                &[octet, ("Content-Range", &range)],
                Some(&blob[from..to]),
            );
            expect(&r, 202, &range);
            assert_eq!(r.header("range"), Some(format!("0-{}", to - 1).as_str()));
            location = r.location();
        }
        // A chunk that skips ahead is refused and changes nothing.
        let r = c.req(
            "PATCH",
            &location,
            &[octet, ("Content-Range", "2001-2994")],
            Some(&blob[2001..]),
        );
        expect_error(&r, 416, "BLOB_UPLOAD_INVALID", "a gap");
        let r = c.get(&location);
        expect(&r, 204, "status after the bad chunk");
        assert_eq!(r.header("range"), Some("0-1999"), "the last good byte");
        let r = c.req(
            "PUT",
            &with_query(&location, &format!("digest={digest}")),
            &[octet, ("Content-Range", "2000-2994")],
            Some(&blob[2000..]),
        );
        expect(&r, 201, "PUT with the last chunk");
        assert_eq!(r.location(), format!("/v2/alice/app/blobs/{digest}"));
        let got = c.get(&format!("/v2/alice/app/blobs/{digest}"));
        assert_eq!(got.body, blob);
        // The finished upload is gone.
        expect_error(
            &c.get(&location),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "status after PUT",
        );
        expect_error(
            &c.req("PATCH", &location, &[octet], Some(b"more")),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "PATCH after PUT",
        );

        // A streamed PATCH of 5 MiB without Content-Length, then PUT without a body.
        let big = Xorshift(10).bytes(5 * 1024 * 1024 + 7);
        let digest = sha256(&big);
        let r = c.req("POST", uploads, &[], Some(b""));
        let r = send_streamed(s, "PATCH", &r.location(), Auth::Token(&w.alice), &big);
        expect(&r, 202, "streamed PATCH");
        assert_eq!(
            r.header("range"),
            Some(format!("0-{}", big.len() - 1).as_str())
        );
        let r = c.req(
            "PUT",
            &with_query(&r.location(), &format!("digest={digest}")),
            &[],
            Some(b""),
        );
        expect(&r, 201, "PUT after the stream");
        let h = c.head(&format!("/v2/alice/app/blobs/{digest}"));
        assert_eq!(
            h.header("content-length"),
            Some(big.len().to_string().as_str())
        );
        let got = c.get(&format!("/v2/alice/app/blobs/{digest}"));
        assert!(got.body == big, "5 MiB back intact");
        // The same as a single streamed POST.
        let other = Xorshift(11).bytes(2 * 1024 * 1024);
        let d2 = sha256(&other);
        let r = send_streamed(
            s,
            "POST",
            &format!("{uploads}?digest={d2}"),
            Auth::Token(&w.alice),
            &other,
        );
        expect(&r, 201, "streamed single POST");
        assert!(c.get(&format!("/v2/alice/app/blobs/{d2}")).body == other);
        // sha512, end to end.
        let bytes = Xorshift(12).bytes(3000);
        let d512 = sha512(&bytes);
        let r = c.req(
            "POST",
            &format!("{uploads}?digest={d512}"),
            &[octet],
            Some(&bytes),
        );
        expect(&r, 201, "sha512 single POST");
        assert_eq!(r.location(), format!("/v2/alice/app/blobs/{d512}"));
        let got = c.get(&format!("/v2/alice/app/blobs/{d512}"));
        expect(&got, 200, "GET sha512 blob");
        assert_eq!(got.body, bytes);
        assert_eq!(got.header("docker-content-digest"), Some(d512.as_str()));
        let more = Xorshift(13).bytes(1000);
        let m512 = sha512(&more);
        let r = c.req("POST", uploads, &[], Some(b""));
        let r = c.req("PATCH", &r.location(), &[octet], Some(&more[..400]));
        let r = c.req(
            "PUT",
            &with_query(&r.location(), &format!("digest={m512}")),
            &[octet],
            Some(&more[400..]),
        );
        expect(&r, 201, "sha512 POST+PATCH+PUT");
        assert_eq!(c.get(&format!("/v2/alice/app/blobs/{m512}")).body, more);
        let r = c.req(
            "POST",
            &format!("{uploads}?digest={}", sha512(b"other")),
            &[octet],
            Some(&more),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "sha512 mismatch");
        let manifest = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CONFIG_TYPE, "digest": d512, "size": bytes.len()},
            "layers": [{"mediaType": LAYER_GZIP, "digest": m512, "size": more.len()}],
        }));
        let md = sha512(&manifest);
        let r = c.put_manifest("alice/app", &md, OCI_MANIFEST, &manifest);
        expect(&r, 201, "manifest by sha512 digest");
        assert_eq!(r.header("docker-content-digest"), Some(md.as_str()));
        let got = c.get(&format!("/v2/alice/app/manifests/{md}"));
        expect(&got, 200, "GET manifest by sha512");
        assert_eq!(got.body, manifest);

        // A streamed upload whose digest is wrong leaves nothing.
        let r = c.req("POST", uploads, &[], Some(b""));
        let r = send_streamed(
            s,
            "PATCH",
            &r.location(),
            Auth::Token(&w.alice),
            &other[..1000],
        );
        let r = c.req(
            "PUT",
            &with_query(&r.location(), &format!("digest={d2}")),
            &[],
            Some(b""),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "wrong digest after a stream");
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{}", sha256(&other[..1000]))),
            404,
            "nothing stored",
        );
    });
}

#[test]
fn mounts_with_and_without_from() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        create_project(s, &w.alice, "other", "private");
        let bytes = b"a blob to mount".to_vec();
        let digest = c.push_blob("alice/app", &bytes);

        // Without `from`: no automatic cross-mount, an upload session instead.
        let r = c.req(
            "POST",
            &format!("/v2/alice/other/blobs/uploads/?mount={digest}"),
            &[],
            Some(b""),
        );
        expect(&r, 202, "mount without from");
        assert!(r.location().starts_with("/v2/alice/other/blobs/uploads/"));
        expect(
            &c.head(&format!("/v2/alice/other/blobs/{digest}")),
            404,
            "not mounted",
        );
        // From a repository the caller can read: mounted.
        let r = c.req(
            "POST",
            &format!("/v2/alice/other/blobs/uploads/?mount={digest}&from=alice/app"),
            &[],
            Some(b""),
        );
        expect(&r, 201, "mount from alice/app");
        assert_eq!(r.location(), format!("/v2/alice/other/blobs/{digest}"));
        assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
        let got = c.get(&format!("/v2/alice/other/blobs/{digest}"));
        expect(&got, 200, "GET mounted");
        assert_eq!(got.body, bytes);
        // A blob the source does not hold: an upload.
        let r = c.req(
            "POST",
            &format!("/v2/alice/other/blobs/uploads/?mount={DUMMY_DIGEST}&from=alice/app"),
            &[],
            Some(b""),
        );
        expect(&r, 202, "mount of a missing blob");

        // From someone else's private project: an upload session, exactly as for a repository
        // that does not exist, and nothing mounted.
        let bob = w.user("bob");
        create_project(s, &bob, "secret", "private");
        let secret = b"bob's secret layer".to_vec();
        let secret_digest = Client::token(s, &bob).push_blob("bob/secret", &secret);
        let hidden = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?mount={secret_digest}&from=bob/secret"),
            &[],
            Some(b""),
        );
        expect(&hidden, 202, "mount from a hidden project");
        assert!(
            hidden
                .location()
                .starts_with("/v2/alice/app/blobs/uploads/")
        );
        let missing = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?mount={secret_digest}&from=nobody/nothing"),
            &[],
            Some(b""),
        );
        expect(&missing, 202, "mount from a missing project");
        assert_eq!(hidden.body, missing.body);
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{secret_digest}")),
            404,
            "nothing leaked",
        );
        // Knowing the digest of a blob that exists elsewhere gets nothing either: a mount from a
        // readable repository that lacks it, or a manifest that names it.
        let r = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?mount={secret_digest}&from=alice/other"),
            &[],
            Some(b""),
        );
        expect(&r, 202, "mount from a readable repository without the blob");
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{secret_digest}")),
            404,
            "still nothing",
        );
        let config = r#"{"architecture":"amd64","os":"linux","author":"mount"}"#.to_string();
        c.push_blob("alice/app", config.as_bytes());
        let greedy = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(CONFIG_TYPE, config.as_bytes()),
            "layers": [{"mediaType": LAYER_GZIP, "digest": secret_digest, "size": secret.len()}],
        }));
        let r = c.put_manifest("alice/app", "greedy", OCI_MANIFEST, &greedy);
        expect_error(
            &r,
            400,
            "MANIFEST_BLOB_UNKNOWN",
            "a manifest naming bob's blob",
        );
        // The same bytes pushed by two projects are each project's own.
        let shared = Client::token(s, &bob).push_blob("bob/secret", &bytes);
        assert_eq!(shared, digest);
        let r = Client::token(s, &bob).delete(&format!("/v2/bob/secret/blobs/{digest}"));
        expect(&r, 202, "bob deletes his copy");
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{digest}")),
            200,
            "alice keeps hers",
        );
        assert_eq!(c.get(&format!("/v2/alice/app/blobs/{digest}")).body, bytes);
        // bob's own pull still works, and a public project can be a source.
        expect(
            &Client::token(s, &bob).head(&format!("/v2/bob/secret/blobs/{secret_digest}")),
            200,
            "bob's blob",
        );
        create_project(s, &bob, "public", "public");
        let public = b"bob's public layer".to_vec();
        let public_digest = Client::token(s, &bob).push_blob("bob/public", &public);
        let r = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?mount={public_digest}&from=bob/public"),
            &[],
            Some(b""),
        );
        expect(&r, 201, "mount from a public project");
        assert_eq!(r.location(), format!("/v2/alice/app/blobs/{public_digest}"));
    });
}

#[test]
fn manifest_by_digest_with_tag_parameters() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let manifest = small_image(&c, "alice/app", 1);
        let digest = sha256(&manifest);
        let r = c.req(
            "PUT",
            &format!("/v2/alice/app/manifests/{digest}?tag=a&tag=b&tag=v1.0"),
            &[("Content-Type", OCI_MANIFEST)],
            Some(&manifest),
        );
        expect(&r, 201, "PUT by digest with tags");
        assert_eq!(r.all("oci-tag"), vec!["a", "b", "v1.0"]);
        assert_eq!(r.location(), format!("/v2/alice/app/manifests/{digest}"));
        assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
        for tag in ["a", "b", "v1.0"] {
            let got = c.get(&format!("/v2/alice/app/manifests/{tag}"));
            expect(&got, 200, tag);
            assert_eq!(got.body, manifest);
        }
        let tags = c.get("/v2/alice/app/tags/list");
        assert_eq!(tags.json["tags"], json!(["a", "b", "v1.0"]));
        // A push by tag with `?tag=` adds those tags too; without, no OCI-Tag.
        let r = c.put_manifest("alice/app", "c", OCI_MANIFEST, &manifest);
        expect(&r, 201, "PUT by tag");
        assert!(r.all("oci-tag").is_empty());
        // One bad tag refuses the whole push.
        let other = small_image(&c, "alice/app", 2);
        let r = c.req(
            "PUT",
            &format!("/v2/alice/app/manifests/{}?tag=ok&tag=-bad", sha256(&other)),
            &[("Content-Type", OCI_MANIFEST)],
            Some(&other),
        );
        expect_error(&r, 400, "TAG_INVALID", "a bad ?tag=");
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&other))),
            404,
            "not stored",
        );
        expect(&c.head("/v2/alice/app/manifests/ok"), 404, "no tag");
    });
}

#[test]
fn subject_is_answered_even_when_missing() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        c.push_blob("alice/app", b"{}");
        let missing = sha256(b"a manifest nobody pushed");
        let subject = json!({"mediaType": OCI_MANIFEST, "digest": missing, "size": 24});
        let m = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "config": {"mediaType": EMPTY_JSON_TYPE, "digest": EMPTY_JSON_DIGEST, "size": 2},
            "layers": [{"mediaType": EMPTY_JSON_TYPE, "digest": EMPTY_JSON_DIGEST, "size": 2}],
            "subject": subject,
        }));
        let r = c.put_manifest("alice/app", &sha256(&m), OCI_MANIFEST, &m);
        expect(&r, 201, "PUT with a missing subject");
        assert_eq!(r.header("oci-subject"), Some(missing.as_str()));
        let r = c.get(&format!("/v2/alice/app/referrers/{missing}"));
        expect(&r, 200, "referrers");
        assert_eq!(
            r.json["manifests"],
            json!([{
                "mediaType": OCI_MANIFEST,
                "digest": sha256(&m),
                "size": m.len(),
                "artifactType": "application/vnd.example.sbom",
            }])
        );
        // The same by tag.
        let r = c.put_manifest("alice/app", "sbom", OCI_MANIFEST, &m);
        assert_eq!(r.header("oci-subject"), Some(missing.as_str()));
        // Referrers belong to their repository.
        c.push_blob("alice/app/sub", b"{}");
        let r = c.get(&format!("/v2/alice/app/sub/referrers/{missing}"));
        expect(&r, 200, "referrers in another image");
        assert_eq!(r.json["manifests"], json!([]));
        // A manifest without subject has no OCI-Subject, and a config is no manifest.
        let plain = small_image(&c, "alice/app", 81);
        let r = c.put_manifest("alice/app", "plain", OCI_MANIFEST, &plain);
        assert!(r.header("oci-subject").is_none());
        let config = sha256(br#"{"architecture":"amd64","os":"linux","author":"seed 81"}"#);
        expect_error(
            &c.get(&format!("/v2/alice/app/manifests/{config}")),
            404,
            "MANIFEST_UNKNOWN",
            "a blob by the manifest route",
        );
    });
}

/// Tags in every character class of the grammar, in byte order.
const TAGS: [&str; 14] = [
    "0.1", "1", "A", "Z_last", "_under", "a", "a-1", "a.1", "a_1", "b", "latest", "v1.0", "v1.10",
    "v1.9",
];

fn check_tag_pages(c: &Client, name: &str) {
    let mut sorted: Vec<&str> = TAGS.to_vec();
    sorted.sort();
    assert_eq!(sorted, TAGS, "the fixture is in byte order");
    let r = c.get(&format!("/v2/{name}/tags/list"));
    expect(&r, 200, "all tags");
    assert_eq!(r.json, json!({"name": name, "tags": TAGS}));
    assert!(r.header("link").is_none());

    for n in [1usize, 3, 5, 13] {
        // Follow `Link` from the first page to the last.
        let mut path = format!("/v2/{name}/tags/list?n={n}");
        let mut seen: Vec<String> = Vec::new();
        let mut pages = 0;
        loop {
            let r = c.get(&path);
            expect(&r, 200, &path);
            let page: Vec<String> = r.json["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            let start = seen.len();
            assert_eq!(
                page,
                TAGS[start..(start + n).min(TAGS.len())],
                "page {pages} of n={n}"
            );
            seen.extend(page);
            pages += 1;
            match r.header("link") {
                Some(link) => {
                    assert!(
                        seen.len() < TAGS.len(),
                        "a Link after the last page: {link}"
                    );
                    let target = link
                        .strip_prefix('<')
                        .and_then(|l| l.split_once(">; rel=\"next\""))
                        .map(|(u, _)| u.to_string())
                        .unwrap_or_else(|| panic!("Link form: {link}"));
                    let prefix = format!("/v2/{name}/tags/list?n={n}&last=");
                    let last = target
                        .strip_prefix(&prefix)
                        .unwrap_or_else(|| panic!("Link target: {link}"));
                    assert_eq!(&percent_decode(last), seen.last().unwrap(), "{link}");
                    path = target;
                }
                None => break,
            }
        }
        assert_eq!(seen, TAGS, "n={n} pages cover every tag once");
        assert_eq!(pages, TAGS.len().div_ceil(n), "n={n}");
    }
    // `last` alone, exclusive, and a `last` that is no tag.
    let r = c.get(&format!("/v2/{name}/tags/list?last=a"));
    assert_eq!(r.json["tags"], json!(TAGS[6..]));
    let r = c.get(&format!("/v2/{name}/tags/list?last=a0"));
    assert_eq!(r.json["tags"], json!(TAGS[8..]), "a `last` that is no tag");
    let r = c.get(&format!("/v2/{name}/tags/list?n=2&last={}", enc("Z_last")));
    assert_eq!(r.json["tags"], json!(["_under", "a"]));
    let r = c.get(&format!("/v2/{name}/tags/list?last=zzz"));
    assert_eq!(r.json["tags"], json!([]));
    // n = 0: empty, no Link; n at the count: no Link; n above it: everything.
    let r = c.get(&format!("/v2/{name}/tags/list?n=0"));
    expect(&r, 200, "n=0");
    assert_eq!(r.json["tags"], json!([]));
    assert!(r.header("link").is_none());
    for n in [TAGS.len(), TAGS.len() + 5] {
        let r = c.get(&format!("/v2/{name}/tags/list?n={n}"));
        assert_eq!(r.json["tags"], json!(TAGS));
        assert!(r.header("link").is_none(), "n={n}");
    }
    let r = c.get(&format!("/v2/{name}/tags/list?n=-1"));
    assert_eq!(r.status, 400, "negative n: {}", r.text());
}

/// Percent-decoding of a query value.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn push_tags(c: &Client, name: &str) {
    let manifest = small_image(c, name, 9);
    for tag in TAGS.iter().rev() {
        expect(
            &c.put_manifest(name, tag, OCI_MANIFEST, &manifest),
            201,
            tag,
        );
    }
}

#[test]
fn tag_list_pagination() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        push_tags(&c, "alice/app");
        check_tag_pages(&c, "alice/app");
        // An image without tags (all deleted) lists none; a name that was never pushed to in an
        // existing project is no repository.
        let r = c.get("/v2/alice/app/never/tags/list");
        expect_error(&r, 404, "NAME_UNKNOWN", "never pushed");
    });
}

/// Production PostgreSQL databases usually have a linguistic default collation (en_US.UTF-8),
/// where `ORDER BY name` and `name > last` disagree with byte order; the test database is C. This
/// gives the tag column the ICU English collation to see that pages still follow byte order.
#[test]
fn tag_pages_follow_byte_order_under_a_linguistic_collation() {
    let Some(pg) = common::backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    else {
        eprintln!("TINFORGE_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let s = Server::start(&pg, &[]);
    s.sql(r#"ALTER TABLE registry_tags ALTER COLUMN name TYPE TEXT COLLATE "en-x-icu""#);
    let w = world(&s);
    let c = w.client();
    push_tags(&c, "alice/app");
    check_tag_pages(&c, "alice/app");
}

#[test]
fn image_indexes_and_docker_media_types() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let name = "alice/app";
        let amd = small_image(&c, name, 11);
        let arm = small_image(&c, name, 12);
        for m in [&amd, &arm] {
            expect(
                &c.put_manifest(name, &sha256(m), OCI_MANIFEST, m),
                201,
                "child",
            );
        }
        let platform = |arch: &str| json!({"architecture": arch, "os": "linux"});
        let mut amd_d = descriptor(OCI_MANIFEST, &amd);
        amd_d["platform"] = platform("amd64");
        let mut arm_d = descriptor(OCI_MANIFEST, &arm);
        arm_d["platform"] = platform("arm64");
        // Pretty-printed on purpose: the bytes come back as sent.
        let index = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [amd_d, arm_d],
            "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        }))
        .unwrap();
        let digest = sha256(&index);
        let r = c.put_manifest(name, "multi", OCI_INDEX, &index);
        expect(&r, 201, "PUT OCI index");
        assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
        for reference in ["multi", digest.as_str()] {
            let r = c.get(&format!("/v2/{name}/manifests/{reference}"));
            expect(&r, 200, "GET index");
            assert_eq!(r.body, index, "byte-identical");
            assert_eq!(r.header("content-type"), Some(OCI_INDEX));
            assert_eq!(r.header("docker-content-digest"), Some(digest.as_str()));
            let h = c.head(&format!("/v2/{name}/manifests/{reference}"));
            assert_eq!(
                h.header("content-length"),
                Some(index.len().to_string().as_str())
            );
            assert_eq!(h.header("content-type"), Some(OCI_INDEX));
        }
        // An index without a mediaType field, sent with the index Content-Type.
        let bare =
            to_bytes(&json!({"schemaVersion": 2, "manifests": [descriptor(OCI_MANIFEST, &amd)]}));
        expect(
            &c.put_manifest(name, "bare", OCI_INDEX, &bare),
            201,
            "bare index",
        );
        let r = c.get(&format!("/v2/{name}/manifests/bare"));
        assert_eq!(r.header("content-type"), Some(OCI_INDEX));
        assert_eq!(r.body, bare);
        // An empty index.
        let empty = to_bytes(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}));
        expect(
            &c.put_manifest(name, "empty-index", OCI_INDEX, &empty),
            201,
            "empty index",
        );
        // A nested index.
        let nested = to_bytes(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [descriptor(OCI_INDEX, &index)]}));
        expect(
            &c.put_manifest(name, "nested", OCI_INDEX, &nested),
            201,
            "nested index",
        );

        // Docker v2 image and manifest list.
        let config = br#"{"architecture":"amd64","os":"linux","config":{}}"#.to_vec();
        let layer = layer_tar_gz(b"docker layer");
        c.push_blob(name, &config);
        c.push_blob(name, &layer);
        let docker = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor(DOCKER_CONFIG, &config),
            "layers": [descriptor(DOCKER_LAYER, &layer)],
        }))
        .unwrap();
        let r = c.put_manifest(name, "docker", DOCKER_MANIFEST, &docker);
        expect(&r, 201, "PUT Docker v2 manifest");
        let r = c.get(&format!("/v2/{name}/manifests/docker"));
        assert_eq!(r.header("content-type"), Some(DOCKER_MANIFEST));
        assert_eq!(r.body, docker);
        let mut docker_d = descriptor(DOCKER_MANIFEST, &docker);
        docker_d["platform"] = platform("amd64");
        let list = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [docker_d],
        }))
        .unwrap();
        let r = c.put_manifest(name, "docker-list", DOCKER_LIST, &list);
        expect(&r, 201, "PUT Docker manifest list");
        let r = c.get(&format!("/v2/{name}/manifests/docker-list"));
        assert_eq!(r.header("content-type"), Some(DOCKER_LIST));
        assert_eq!(r.body, list);
        assert_eq!(
            r.header("docker-content-digest"),
            Some(sha256(&list).as_str())
        );
        // Without a Content-Type the body's mediaType counts; without either, an OCI manifest.
        let r = c.req(
            "PUT",
            &format!("/v2/{name}/manifests/untyped-docker"),
            &[],
            Some(&docker),
        );
        expect(&r, 201, "PUT without Content-Type");
        let r = c.get(&format!("/v2/{name}/manifests/untyped-docker"));
        assert_eq!(r.header("content-type"), Some(DOCKER_MANIFEST));
        let bare_image = to_bytes(&json!({"schemaVersion": 2,
            "config": descriptor(DOCKER_CONFIG, &config), "layers": []}));
        let r = c.req(
            "PUT",
            &format!("/v2/{name}/manifests/untyped"),
            &[],
            Some(&bare_image),
        );
        expect(&r, 201, "PUT without any media type");
        let r = c.get(&format!("/v2/{name}/manifests/untyped"));
        assert_eq!(r.header("content-type"), Some(OCI_MANIFEST));
        // The body's mediaType and the request's Content-Type must agree.
        let r = c.put_manifest(name, "confused", OCI_INDEX, &docker);
        expect_error(&r, 400, "MANIFEST_INVALID", "mediaType mismatch");
        expect(
            &c.head(&format!("/v2/{name}/manifests/confused")),
            404,
            "not stored",
        );
    });
}

#[test]
fn nested_image_names() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let deep = "alice/app/tools/builder";
        let manifest = small_image(&c, deep, 21);
        expect(
            &c.put_manifest(deep, "v1", OCI_MANIFEST, &manifest),
            201,
            "push nested",
        );
        let r = c.get(&format!("/v2/{deep}/manifests/v1"));
        expect(&r, 200, "pull nested");
        assert_eq!(r.body, manifest);
        let r = c.get(&format!("/v2/{deep}/tags/list"));
        assert_eq!(r.json, json!({"name": deep, "tags": ["v1"]}));
        // Each name is its own repository: the project's image does not serve the nested one's
        // manifest or blobs.
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&manifest))),
            404,
            "not in alice/app",
        );
        expect(
            &c.head(&format!(
                "/v2/alice/app/tools/manifests/{}",
                sha256(&manifest)
            )),
            404,
            "not in alice/app/tools",
        );
        // A name that contains a route word.
        let odd = "alice/app/manifests/blobs";
        let m2 = small_image(&c, odd, 22);
        expect(
            &c.put_manifest(odd, "x", OCI_MANIFEST, &m2),
            201,
            "odd name",
        );
        let r = c.get(&format!("/v2/{odd}/tags/list"));
        assert_eq!(r.json, json!({"name": odd, "tags": ["x"]}));
        // Groups: a project two groups down.
        let g = s.call(
            "POST",
            "/api/v4/groups",
            Some(&w.alice),
            Some(json!({"name": "team", "path": "team"})),
        );
        assert_eq!(g.status, 201, "{}", g.text);
        let sub = s.call(
            "POST",
            "/api/v4/groups",
            Some(&w.alice),
            Some(json!({"name": "sub", "path": "sub", "parent_id": g.json["id"]})),
        );
        assert_eq!(sub.status, 201, "{}", sub.text);
        let p = s.call(
            "POST",
            "/api/v4/projects",
            Some(&w.alice),
            Some(json!({"name": "svc", "path": "svc", "namespace_id": sub.json["id"]})),
        );
        assert_eq!(p.status, 201, "{}", p.text);
        let in_group = "team/sub/svc/api";
        let m3 = small_image(&c, in_group, 23);
        expect(
            &c.put_manifest(in_group, "v1", OCI_MANIFEST, &m3),
            201,
            "push in a subgroup",
        );
        let cat = c.get("/v2/_catalog");
        assert_eq!(
            cat.json["repositories"],
            json!([odd, deep, in_group]),
            "catalog: {}",
            cat.text()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Bad input: a 4xx in the OCI shape, and nothing stored

#[test]
fn bad_digests() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let bytes = b"the real content".to_vec();
        let real = sha256(&bytes);
        let claimed = sha256(b"something else");

        // A PUT whose digest does not match the bytes.
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        let r = c.req(
            "PUT",
            &with_query(&r.location(), &format!("digest={claimed}")),
            &[("Content-Type", "application/octet-stream")],
            Some(&bytes),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "digest mismatch on PUT");
        for d in [&real, &claimed] {
            expect(
                &c.head(&format!("/v2/alice/app/blobs/{d}")),
                404,
                "nothing stored",
            );
        }
        // The same in one POST.
        let r = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?digest={claimed}"),
            &[],
            Some(&bytes),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "digest mismatch on POST");
        for d in [&real, &claimed] {
            expect(
                &c.head(&format!("/v2/alice/app/blobs/{d}")),
                404,
                "nothing stored",
            );
        }
        // A manifest pushed under another digest.
        let manifest = small_image(&c, "alice/app", 31);
        let wrong = sha256(b"not the manifest");
        let r = c.put_manifest("alice/app", &wrong, OCI_MANIFEST, &manifest);
        expect_error(&r, 400, "DIGEST_INVALID", "manifest digest mismatch");
        for d in [&wrong, &sha256(&manifest)] {
            expect(
                &c.head(&format!("/v2/alice/app/manifests/{d}")),
                404,
                "no manifest",
            );
        }

        // Unknown algorithm.
        let md5 = "md5:5eb63bbbe01eeed093cb22bb8f5acdc3";
        let r = c.req(
            "POST",
            &format!("/v2/alice/app/blobs/uploads/?digest={md5}"),
            &[],
            Some(b"hello world"),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "md5 single POST");
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        let location = r.location();
        let r = c.req(
            "PUT",
            &with_query(&location, &format!("digest={md5}")),
            &[],
            Some(b"hello world"),
        );
        expect_error(&r, 400, "DIGEST_INVALID", "md5 PUT");
        expect_error(
            &c.req(
                "POST",
                &format!("/v2/alice/app/blobs/uploads/?mount={md5}&from=alice/app"),
                &[],
                Some(b""),
            ),
            400,
            "DIGEST_INVALID",
            "md5 mount",
        );
        expect_error(
            &c.get(&format!("/v2/alice/app/blobs/{md5}")),
            400,
            "DIGEST_INVALID",
            "md5 GET",
        );
        expect_error(
            &c.put_manifest("alice/app", md5, OCI_MANIFEST, &manifest),
            400,
            "DIGEST_INVALID",
            "md5 manifest",
        );
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{DUMMY_DIGEST}")),
            404,
            "hello world is not stored",
        );

        // Malformed digests.
        for bad in [
            "sha256:totallywrong",
            "sha256:baddigeststring",
            "sha256:",
            "sha256:B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9",
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde",
        ] {
            expect_error(
                &c.get(&format!("/v2/alice/app/blobs/{bad}")),
                400,
                "DIGEST_INVALID",
                bad,
            );
            expect_error(
                &c.get(&format!("/v2/alice/app/manifests/{bad}")),
                400,
                "DIGEST_INVALID",
                bad,
            );
            expect_error(
                &c.put_manifest("alice/app", bad, OCI_MANIFEST, &manifest),
                400,
                "DIGEST_INVALID",
                bad,
            );
            expect_error(
                &c.req(
                    "POST",
                    &format!("/v2/alice/app/blobs/uploads/?digest={}", enc(bad)),
                    &[],
                    Some(b"hello world"),
                ),
                400,
                "DIGEST_INVALID",
                bad,
            );
        }
        // A manifest PUT by digest with two trailing spaces (main-branch "bad digest").
        let spaced = format!("{}%20%20", sha256(&manifest));
        let r = c.put_manifest("alice/app", &spaced, OCI_MANIFEST, &manifest);
        expect_error(&r, 400, "DIGEST_INVALID", "trailing spaces");
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&manifest))),
            404,
            "no manifest after the bad pushes",
        );
        // PUT without a digest at all.
        let r = c.req("PUT", &location, &[], Some(b"x"));
        expect_error(&r, 400, "DIGEST_INVALID", "PUT without digest");
    });
}

#[test]
fn truncated_uploads() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let full = Xorshift(5).bytes(100);
        let digest = sha256(&full);
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        let location = r.location();
        // The chunk says 100 bytes and carries 50.
        let r = c.req(
            "PATCH",
            &location,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", "0-99"),
            ],
            Some(&full[..50]),
        );
        expect_error(&r, 400, "SIZE_INVALID", "truncated chunk");
        let status = c.get(&location);
        expect(&status, 204, "the upload survives");
        assert_eq!(status.header("range"), Some("0-0"), "nothing was kept");
        // The last chunk on the PUT, truncated the same way.
        let r = c.req(
            "PUT",
            &with_query(&location, &format!("digest={digest}")),
            &[("Content-Range", "0-99")],
            Some(&full[..50]),
        );
        expect_error(&r, 400, "SIZE_INVALID", "truncated PUT");
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{digest}")),
            404,
            "nothing stored",
        );
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{}", sha256(&full[..50]))),
            404,
            "not the half either",
        );
        // The upload still completes properly afterwards.
        let r = c.req(
            "PATCH",
            &location,
            &[("Content-Range", "0-99")],
            Some(&full),
        );
        expect(&r, 202, "the whole chunk");
        let r = c.req(
            "PUT",
            &with_query(&location, &format!("digest={digest}")),
            &[],
            Some(b""),
        );
        expect(&r, 201, "finish");
        assert_eq!(c.get(&format!("/v2/alice/app/blobs/{digest}")).body, full);
        // A Content-Range that is no range.
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        let r = c.req(
            "PATCH",
            &r.location(),
            &[("Content-Range", "bytes=nonsense")],
            Some(b"x"),
        );
        assert!(
            r.status == 400 || r.status == 416,
            "malformed Content-Range: {}",
            r.text()
        );
        assert!(CODES.contains(&r.code()), "{}", r.text());
    });
}

#[test]
fn manifest_size_limit() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        c.push_blob("alice/app", b"{}");
        let base = |annotations: &BTreeMap<String, String>| {
            to_bytes(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": EMPTY_JSON_TYPE, "digest": EMPTY_JSON_DIGEST, "size": 2},
                "layers": [],
                "annotations": annotations,
            }))
        };
        // ~3.9 MB: 390 annotations of 10 000 bytes.
        let annotations: BTreeMap<String, String> = (0..390)
            .map(|i| (format!("org.example.a{i:03}"), "x".repeat(10_000)))
            .collect();
        let big = base(&annotations);
        assert!(big.len() > 3_900_000 && big.len() < 4 * 1024 * 1024);
        let r = c.put_manifest("alice/app", "big", OCI_MANIFEST, &big);
        expect(&r, 201, "a manifest just under 4 MiB");
        let got = c.get("/v2/alice/app/manifests/big");
        expect(&got, 200, "GET the big manifest");
        assert_eq!(got.body.len(), big.len());
        assert!(got.body == big, "byte-identical");
        assert_eq!(
            got.header("content-length"),
            Some(big.len().to_string().as_str())
        );
        // Over 4 MiB: 413.
        let mut over = annotations.clone();
        over.insert(
            "org.example.zzz".into(),
            "y".repeat(4 * 1024 * 1024 - big.len() + 100),
        );
        let too_big = base(&over);
        assert!(too_big.len() > 4 * 1024 * 1024);
        let r = c.put_manifest("alice/app", "too-big", OCI_MANIFEST, &too_big);
        expect_error(&r, 413, "SIZE_INVALID", "a manifest over 4 MiB");
        expect(&c.head("/v2/alice/app/manifests/too-big"), 404, "no tag");
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&too_big))),
            404,
            "no manifest",
        );
    });
}

#[test]
fn bad_manifests() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        c.push_blob("alice/app", config);
        let missing_layer = b"a layer nobody pushed";
        let m = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(CONFIG_TYPE, config),
            "layers": [descriptor(LAYER_GZIP, missing_layer)],
        }));
        let r = c.put_manifest("alice/app", "missing-blob", OCI_MANIFEST, &m);
        expect_error(&r, 400, "MANIFEST_BLOB_UNKNOWN", "missing layer");
        expect(
            &c.head("/v2/alice/app/manifests/missing-blob"),
            404,
            "no tag",
        );
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&m))),
            404,
            "no manifest",
        );
        // A blob of another repository does not count.
        create_project(s, &w.alice, "other", "private");
        c.push_blob("alice/other", missing_layer);
        let r = c.put_manifest("alice/app", "missing-blob", OCI_MANIFEST, &m);
        expect_error(
            &r,
            400,
            "MANIFEST_BLOB_UNKNOWN",
            "layer of another repository",
        );
        // A missing config.
        let m2 = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(CONFIG_TYPE, b"no such config"),
            "layers": [],
        }));
        let r = c.put_manifest("alice/app", "missing-config", OCI_MANIFEST, &m2);
        expect_error(&r, 400, "MANIFEST_BLOB_UNKNOWN", "missing config");

        for (bad, what) in [
            (b"{not json".to_vec(), "malformed JSON"),
            (b"".to_vec(), "empty body"),
            (br#"{"schemaVersion":1}"#.to_vec(), "schema 1"),
            (
                to_bytes(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})),
                "no config",
            ),
            (
                to_bytes(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": CONFIG_TYPE, "digest": "sha256:nothex", "size": 1}, "layers": []})),
                "bad descriptor digest",
            ),
            (
                to_bytes(&json!({"schemaVersion": 2, "mediaType": "application/x-unknown"})),
                "unknown media type",
            ),
        ] {
            let r = c.put_manifest("alice/app", "broken", OCI_MANIFEST, &bad);
            expect_error(&r, 400, "MANIFEST_INVALID", what);
            let r = c.put_manifest("alice/app", &sha256(&bad), OCI_MANIFEST, &bad);
            expect_error(&r, 400, "MANIFEST_INVALID", what);
            expect(
                &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&bad))),
                404,
                what,
            );
        }
        expect(&c.head("/v2/alice/app/manifests/broken"), 404, "no tag");
        let tags = c.get("/v2/alice/app/tags/list");
        assert!(
            tags.status == 404 || tags.json["tags"] == json!([]),
            "no tags: {}",
            tags.text()
        );
    });
}

#[test]
fn bad_names_and_tags() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        for bad in [
            "Alice/App",
            "alice/app/Tools",
            "alice/app/-x",
            "alice/app/x-",
            "alice/app/a..b",
            "alice/app/_x",
            "alice/app/x___y",
        ] {
            for (method, path) in [
                ("GET", format!("/v2/{bad}/tags/list")),
                ("GET", format!("/v2/{bad}/manifests/latest")),
                ("HEAD", format!("/v2/{bad}/blobs/{DUMMY_DIGEST}")),
                ("POST", format!("/v2/{bad}/blobs/uploads/")),
                ("PUT", format!("/v2/{bad}/manifests/latest")),
            ] {
                let r = c.req(method, &path, &[], Some(b"{}"));
                if method == "HEAD" {
                    assert_eq!(r.status, 400, "{method} {path}");
                } else {
                    expect_error(&r, 400, "NAME_INVALID", &format!("{method} {path}"));
                }
            }
            // Anonymous callers get the same answer: the name is judged before anything else.
            let r = send(
                s,
                "GET",
                &format!("/v2/{bad}/tags/list"),
                Auth::Anonymous,
                &[],
                None,
            );
            expect_error(&r, 400, "NAME_INVALID", bad);
        }
        let long = format!("alice/app/{}", "a".repeat(250));
        expect_error(
            &c.get(&format!("/v2/{long}/tags/list")),
            400,
            "NAME_INVALID",
            "a name over 255 characters",
        );
        let r = c.get("/v2/_catalog");
        assert_eq!(r.json["repositories"], json!([]), "nothing was created");

        let manifest = small_image(&c, "alice/app", 41);
        let long_tag = "t".repeat(129);
        for bad in [
            ".hidden",
            "-dash",
            INVALID_TAG,
            long_tag.as_str(),
            "tag%21",
            "t%2Bt",
        ] {
            let r = c.put_manifest("alice/app", bad, OCI_MANIFEST, &manifest);
            expect_error(&r, 400, "TAG_INVALID", bad);
        }
        expect(
            &c.head(&format!("/v2/alice/app/manifests/{}", sha256(&manifest))),
            404,
            "the manifest was not stored under a bad tag",
        );
        let ok_tag = "t".repeat(128);
        expect(
            &c.put_manifest("alice/app", &ok_tag, OCI_MANIFEST, &manifest),
            201,
            "a 128-character tag",
        );
        let tags = c.get("/v2/alice/app/tags/list");
        assert_eq!(tags.json["tags"], json!([ok_tag]));
    });
}

#[test]
fn unknown_uploads_and_unsupported_methods() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let unknown = "/v2/alice/app/blobs/uploads/5f0c4b44-0000-4000-8000-000000000000";
        expect_error(
            &c.req("PATCH", unknown, &[], Some(b"x")),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "PATCH",
        );
        expect_error(
            &c.req(
                "PUT",
                &format!("{unknown}?digest={DUMMY_DIGEST}"),
                &[],
                Some(b"hello world"),
            ),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "PUT",
        );
        expect_error(&c.get(unknown), 404, "BLOB_UPLOAD_UNKNOWN", "GET");
        expect_error(&c.delete(unknown), 404, "BLOB_UPLOAD_UNKNOWN", "DELETE");
        for odd in ["../../../etc/passwd", "..", "%2e%2e"] {
            let r = c.req(
                "PATCH",
                &format!("/v2/alice/app/blobs/uploads/{odd}"),
                &[],
                Some(b"x"),
            );
            assert!(
                r.status == 404 || r.status == 400,
                "PATCH {odd}: {} {}",
                r.status,
                r.text()
            );
        }
        expect(
            &c.head(&format!("/v2/alice/app/blobs/{DUMMY_DIGEST}")),
            404,
            "nothing stored",
        );
        // An upload of one image is not reachable through another image's name.
        create_project(s, &w.alice, "other", "private");
        c.push_blob("alice/other", b"x");
        let r = c.req("POST", "/v2/alice/app/blobs/uploads/", &[], Some(b""));
        let id = r.location().rsplit('/').next().unwrap().to_string();
        expect_error(
            &c.req(
                "PATCH",
                &format!("/v2/alice/other/blobs/uploads/{id}"),
                &[],
                Some(b"x"),
            ),
            404,
            "BLOB_UPLOAD_UNKNOWN",
            "upload of another image",
        );
        // Methods a route does not take.
        let r = c.req("POST", "/v2/alice/app/tags/list", &[], Some(b""));
        expect_error(&r, 405, "UNSUPPORTED", "POST tags/list");
    });
}

// ---------------------------------------------------------------------------------------------
// Visibility, catalog, revocation

/// `r`'s body with `name` replaced, for comparing answers about two names.
fn body_without(r: &Res, name: &str) -> String {
    String::from_utf8_lossy(&r.body).replace(name, "<name>")
}

#[test]
fn hidden_projects_look_missing() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let manifest = small_image(&c, "alice/app", 51);
        expect(
            &c.put_manifest("alice/app", "latest", OCI_MANIFEST, &manifest),
            201,
            "push",
        );
        let bob = w.user("bob");
        let b = Client::token(s, &bob);
        let config = sha256(br#"{"architecture":"amd64","os":"linux","author":"seed 51"}"#);
        // A signed-in caller: a missing name and a private project are the same 404.
        for (method, tail) in [
            ("GET", "tags/list".to_string()),
            ("GET", "manifests/latest".to_string()),
            ("HEAD", "manifests/latest".to_string()),
            ("GET", format!("blobs/{config}")),
            ("GET", format!("referrers/{}", sha256(&manifest))),
            ("POST", "blobs/uploads/".to_string()),
            ("PUT", "manifests/latest".to_string()),
            ("DELETE", format!("manifests/{}", sha256(&manifest))),
            ("DELETE", format!("blobs/{config}")),
        ] {
            let body = (method == "PUT" || method == "POST").then_some(&manifest[..]);
            let headers = [("Content-Type", OCI_MANIFEST)];
            let hidden = b.req(method, &format!("/v2/alice/app/{tail}"), &headers, body);
            let missing = b.req(method, &format!("/v2/zzzzz/app/{tail}"), &headers, body);
            let what = format!("{method} {tail}");
            if method == "HEAD" {
                assert_eq!(hidden.status, 404, "{what}");
            } else {
                expect_error(&hidden, 404, "NAME_UNKNOWN", &what);
            }
            assert_eq!(hidden.status, missing.status, "{what}");
            assert_eq!(
                body_without(&hidden, "alice/app"),
                body_without(&missing, "zzzzz/app"),
                "{what}"
            );
            // An existing project without that image, and a name below a missing project.
            let below = b.req(
                method,
                &format!("/v2/zzzzz/app/deeper/{tail}"),
                &headers,
                body,
            );
            assert_eq!(below.status, 404, "{what}");
        }
        // Anonymous callers: the same challenge for a private project and a missing name.
        for (method, tail, action) in [
            ("GET", "manifests/latest", "pull"),
            ("GET", "tags/list", "pull"),
            ("POST", "blobs/uploads/", "pull,push"),
            ("DELETE", "manifests/latest", "pull,delete"),
        ] {
            let hidden = send(
                s,
                method,
                &format!("/v2/alice/app/{tail}"),
                Auth::Anonymous,
                &[],
                None,
            );
            let missing = send(
                s,
                method,
                &format!("/v2/zzzzz/app/{tail}"),
                Auth::Anonymous,
                &[],
                None,
            );
            expect_error(&hidden, 401, "UNAUTHORIZED", tail);
            expect_error(&missing, 401, "UNAUTHORIZED", tail);
            let challenge = hidden.header("www-authenticate").unwrap();
            assert_eq!(
                challenge,
                format!(
                    r#"Bearer realm="{}/jwt/auth",service="container_registry",scope="repository:alice/app:{action}""#,
                    s.url
                )
            );
            assert_eq!(
                challenge.replace("alice/app", "<name>"),
                missing
                    .header("www-authenticate")
                    .unwrap()
                    .replace("zzzzz/app", "<name>"),
                "{method} {tail}"
            );
            assert_eq!(
                body_without(&hidden, "alice/app"),
                body_without(&missing, "zzzzz/app")
            );
        }
        // The token service grants nothing on either, and says so the same way.
        let scope = |name: &str| {
            send(
                s,
                "GET",
                &format!("/jwt/auth?service=container_registry&scope=repository:{name}:pull,push"),
                Auth::Basic("bob", &bob),
                &[],
                None,
            )
        };
        let hidden = scope("alice/app");
        let missing = scope("zzzzz/app");
        expect(&hidden, 200, "token for a hidden project");
        assert_eq!(
            jwt_payload(hidden.json["token"].as_str().unwrap())["access"][0]["actions"],
            json!([])
        );
        assert_eq!(
            jwt_payload(missing.json["token"].as_str().unwrap())["access"][0]["actions"],
            json!([])
        );

        // The token service without credentials: pull on public images only, and a JWT for a
        // private project changes nothing.
        let anon_token = |name: &str| {
            let r = send(
                s,
                "GET",
                &format!("/jwt/auth?service=container_registry&scope=repository:{name}:pull"),
                Auth::Anonymous,
                &[],
                None,
            );
            expect(&r, 200, "anonymous token");
            r.json["token"].as_str().unwrap().to_string()
        };
        let jwt = anon_token("alice/app");
        assert_eq!(jwt_payload(&jwt)["access"][0]["actions"], json!([]));
        let r = send(
            s,
            "GET",
            "/v2/alice/app/manifests/latest",
            Auth::Bearer(&jwt),
            &[],
            None,
        );
        expect_error(
            &r,
            401,
            "UNAUTHORIZED",
            "anonymous JWT on a private project",
        );
        let r2 = send(
            s,
            "GET",
            "/v2/zzzzz/app/manifests/latest",
            Auth::Bearer(&jwt),
            &[],
            None,
        );
        assert_eq!(
            r2.status,
            r.status,
            "the same for a missing name: {}",
            r2.text()
        );

        // An internal project: anyone signed in pulls, anonymous callers are challenged.
        create_project(s, &w.alice, "inner", "internal");
        let m = small_image(&c, "alice/inner", 53);
        expect(
            &c.put_manifest("alice/inner", "v1", OCI_MANIFEST, &m),
            201,
            "push internal",
        );
        expect(
            &b.get("/v2/alice/inner/manifests/v1"),
            200,
            "bob pulls internal",
        );
        expect_error(
            &b.req("POST", "/v2/alice/inner/blobs/uploads/", &[], Some(b"")),
            403,
            "DENIED",
            "bob pushes to internal",
        );
        let r = send(
            s,
            "GET",
            "/v2/alice/inner/manifests/v1",
            Auth::Anonymous,
            &[],
            None,
        );
        expect_error(&r, 401, "UNAUTHORIZED", "anonymous pull of internal");

        // A public project: anonymous pulls, but never pushes.
        create_project(s, &w.alice, "pub", "public");
        let m = small_image(&c, "alice/pub", 52);
        expect(
            &c.put_manifest("alice/pub", "v1", OCI_MANIFEST, &m),
            201,
            "push public",
        );
        let r = send(
            s,
            "GET",
            "/v2/alice/pub/manifests/v1",
            Auth::Anonymous,
            &[],
            None,
        );
        expect(&r, 200, "anonymous pull of a public image");
        assert_eq!(r.body, m);
        let r = send(
            s,
            "POST",
            "/v2/alice/pub/blobs/uploads/",
            Auth::Anonymous,
            &[],
            Some(b""),
        );
        expect_error(&r, 401, "UNAUTHORIZED", "anonymous push");
        let r = b.req("POST", "/v2/alice/pub/blobs/uploads/", &[], Some(b""));
        expect_error(&r, 403, "DENIED", "bob pushes to alice's public project");
        let r = b.get("/v2/alice/pub/manifests/v1");
        expect(&r, 200, "bob pulls alice's public project");
    });
}

#[test]
fn catalog_lists_what_the_caller_may_pull() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        create_project(s, &w.alice, "empty", "private");
        for name in ["alice/app", "alice/app/tools/builder"] {
            let m = small_image(&c, name, 61);
            expect(&c.put_manifest(name, "v1", OCI_MANIFEST, &m), 201, name);
        }
        let bob = w.user("bob");
        let b = Client::token(s, &bob);
        create_project(s, &bob, "secret", "private");
        create_project(s, &bob, "pub", "public");
        for name in ["bob/secret", "bob/pub"] {
            let m = small_image(&b, name, 62);
            expect(&b.put_manifest(name, "v1", OCI_MANIFEST, &m), 201, name);
        }
        let r = c.get("/v2/_catalog");
        expect(&r, 200, "alice's catalog");
        assert_eq!(
            r.json,
            json!({"repositories": ["alice/app", "alice/app/tools/builder", "bob/pub"]})
        );
        let r = b.get("/v2/_catalog");
        assert_eq!(r.json, json!({"repositories": ["bob/pub", "bob/secret"]}));
        // Pages.
        let r = c.get("/v2/_catalog?n=2");
        assert_eq!(
            r.json["repositories"],
            json!(["alice/app", "alice/app/tools/builder"])
        );
        let link = r.header("link").expect("Link to page 2");
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .unwrap()
            .0
            .to_string();
        assert!(next.starts_with("/v2/_catalog?n=2&last="), "{link}");
        let r = c.get(&next);
        assert_eq!(r.json["repositories"], json!(["bob/pub"]));
        assert!(r.header("link").is_none());
        let r = c.get("/v2/_catalog?n=0");
        assert_eq!(r.json["repositories"], json!([]));
        // A fine-grained token sees its boundary (plus what anyone may pull).
        let fine = s.fine_token(
            "alice",
            "container_registry:read",
            "selected",
            &["--project", "alice/empty"],
        );
        let r = Client::token(s, &fine).get("/v2/_catalog");
        assert_eq!(r.json, json!({"repositories": ["bob/pub"]}));
        let fine = s.fine_token(
            "alice",
            "container_registry:read",
            "selected",
            &["--project", "alice/app"],
        );
        let r = Client::token(s, &fine).get("/v2/_catalog");
        assert_eq!(
            r.json,
            json!({"repositories": ["alice/app", "alice/app/tools/builder", "bob/pub"]})
        );
        // A Guest cannot pull from a private project, so it is not listed for them.
        s.user("carol");
        let carol = s.legacy_token("carol", "api");
        let carol_id = s.get("/api/v4/user", &carol).json["id"].clone();
        let project = s.get("/api/v4/projects/alice%2Fapp", &w.alice).json["id"].clone();
        let m = s.call(
            "POST",
            &format!("/api/v4/projects/{project}/members"),
            Some(&w.alice),
            Some(json!({"user_id": carol_id, "access_level": 10})),
        );
        assert_eq!(m.status, 201, "{}", m.text);
        let r = Client::token(s, &carol).get("/v2/_catalog");
        assert_eq!(r.json, json!({"repositories": ["bob/pub"]}));
        let m = s.call(
            "PUT",
            &format!("/api/v4/projects/{project}/members/{carol_id}"),
            Some(&w.alice),
            Some(json!({"access_level": 20})),
        );
        assert_eq!(m.status, 200, "{}", m.text);
        let r = Client::token(s, &carol).get("/v2/_catalog");
        assert_eq!(
            r.json,
            json!({"repositories": ["alice/app", "alice/app/tools/builder", "bob/pub"]})
        );
        // Anonymous callers are asked to sign in.
        let r = send(s, "GET", "/v2/_catalog", Auth::Anonymous, &[], None);
        expect_error(&r, 401, "UNAUTHORIZED", "anonymous catalog");
    });
}

#[test]
fn a_registry_token_outlives_revocation_for_pulls_only() {
    each_backend(|s| {
        let w = world(s);
        let c = w.client();
        let m = small_image(&c, "alice/app", 71);
        expect(
            &c.put_manifest("alice/app", "v1", OCI_MANIFEST, &m),
            201,
            "push",
        );
        let created = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&w.alice),
            Some(json!({"name": "ci", "scopes": ["read_registry", "write_registry"]})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let pat = created.json["token"].as_str().unwrap().to_string();
        let id = created.json["id"].as_i64().unwrap();
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:alice/app:pull,push",
            Auth::Basic("ci", &pat),
            &[],
            None,
        );
        expect(&r, 200, "token");
        let jwt = r.json["token"].as_str().unwrap().to_string();
        let claims = jwt_payload(&jwt);
        assert_eq!(
            claims["access"],
            json!([{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}])
        );
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);
        let bearer = Auth::Bearer(&jwt);
        expect(
            &send(s, "GET", "/v2/alice/app/manifests/v1", bearer, &[], None),
            200,
            "pull before revocation",
        );
        // A JWT is for the names it lists: elsewhere the client is sent back for a new one.
        let r = send(s, "GET", "/v2/alice/mount/tags/list", bearer, &[], None);
        expect_error(&r, 401, "UNAUTHORIZED", "another name");
        assert_eq!(
            r.header("www-authenticate").unwrap(),
            format!(
                r#"Bearer realm="{}/jwt/auth",service="container_registry",scope="repository:alice/mount:pull",error="insufficient_scope""#,
                s.url
            )
        );
        let r = send(
            s,
            "POST",
            "/v2/alice/app/blobs/uploads/",
            bearer,
            &[],
            Some(b""),
        );
        expect(&r, 202, "push before revocation");
        let upload = r.location();

        let r = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{id}"),
            Some(&w.alice),
            None,
        );
        assert_eq!(r.status, 204, "{}", r.text);

        // Pulls go on until the JWT expires (≤ 5 minutes): that is the design.
        let r = send(s, "GET", "/v2/alice/app/manifests/v1", bearer, &[], None);
        expect(&r, 200, "pull after revocation");
        assert_eq!(r.body, m);
        expect(
            &send(s, "GET", "/v2/alice/app/tags/list", bearer, &[], None),
            200,
            "tags after revocation",
        );
        // Every write stops at once.
        let r = send(
            s,
            "POST",
            "/v2/alice/app/blobs/uploads/",
            bearer,
            &[],
            Some(b""),
        );
        expect_error(&r, 401, "UNAUTHORIZED", "push after revocation");
        assert!(
            r.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\""),
            "{:?}",
            r.header("www-authenticate")
        );
        let r = send(s, "PATCH", &upload, bearer, &[], Some(b"late bytes"));
        expect_error(&r, 401, "UNAUTHORIZED", "PATCH after revocation");
        let r = send(
            s,
            "PUT",
            "/v2/alice/app/manifests/v2",
            bearer,
            &[("Content-Type", OCI_MANIFEST)],
            Some(&m),
        );
        expect_error(&r, 401, "UNAUTHORIZED", "manifest PUT after revocation");
        expect(&c.head("/v2/alice/app/manifests/v2"), 404, "no tag v2");
        // And the revoked token itself gets nothing anywhere.
        let r = send(
            s,
            "GET",
            "/jwt/auth?service=container_registry&scope=repository:alice/app:pull",
            Auth::Basic("ci", &pat),
            &[],
            None,
        );
        expect_error(
            &r,
            401,
            "UNAUTHORIZED",
            "token service with a revoked token",
        );
        let r = send(
            s,
            "GET",
            "/v2/alice/app/manifests/v1",
            Auth::Token(&pat),
            &[],
            None,
        );
        expect_error(&r, 401, "UNAUTHORIZED", "the revoked token directly");
        // A JWT that was tampered with is refused.
        let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
        let mut payload = jwt_payload(&jwt);
        payload["access"][0]["name"] = json!("alice/other");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        let forged = parts.join(".");
        let r = send(
            s,
            "GET",
            "/v2/alice/app/manifests/v1",
            Auth::Bearer(&forged),
            &[],
            None,
        );
        expect_error(&r, 401, "UNAUTHORIZED", "forged JWT");
    });
}
