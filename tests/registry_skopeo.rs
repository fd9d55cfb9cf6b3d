//! The container registry with the real `skopeo` (containers/image): push OCI layouts built on the
//! spot, inspect, pull into `dir:` and compare bytes, list tags, delete; legacy registry scopes,
//! the fine-grained `container_registry:create/read/update/delete` grants with their boundary,
//! anonymous pulls of public projects, revocation. Plain HTTP throughout (`--*-tls-verify=false`).
//! The first tests check the tooling itself against distribution, the reference registry, so a
//! failure further down is tinforge's.

mod common;

use common::distribution::Distribution;
use common::oci::{self, LayerSpec, OciImage};
use common::{Server, each_backend};
use serde_json::{Value, json};
use std::path::Path;

const DEVELOPER: i64 = 30;

/// `host:port` of a server, for `docker://` references.
fn host(s: &Server) -> String {
    s.url
        .strip_prefix("http://")
        .expect("plain HTTP")
        .to_string()
}

/// A small image (two layers: an uncompressed tar, a gzip tar of three files) under `tag` in the
/// layout at `dir`; `seed` makes it distinct.
fn small_image(dir: &Path, tag: &str, seed: u64) -> OciImage {
    oci::build_image(
        dir,
        tag,
        &[
            LayerSpec::tar(256 * 1024, seed * 10 + 1),
            LayerSpec::gzip(64 * 1024, seed * 10 + 2).with_files(3),
        ],
    )
}

/// Registry credentials: skopeo sends `user:token` as Basic to the token service.
#[derive(Clone, Copy)]
enum Creds<'a> {
    Token(&'a str),
    Anonymous,
}

fn cred_args(flag: &str, creds: Creds) -> Vec<String> {
    match creds {
        // Any username goes; the token is the password.
        Creds::Token(t) => vec![format!("--{flag}creds"), format!("anything:{t}")],
        Creds::Anonymous => vec![format!("--{flag}no-creds")],
    }
}

/// skopeo against one registry, with a fresh HOME per call, or one kept across calls (then
/// skopeo's blob info cache makes it try cross-repository mounts, as a user's skopeo does).
struct Skopeo<'a> {
    host: String,
    home: Option<&'a Path>,
}

impl<'a> Skopeo<'a> {
    fn new(host: &str) -> Skopeo<'a> {
        Skopeo {
            host: host.to_string(),
            home: None,
        }
    }

    fn keeping(host: &str, home: &'a Path) -> Skopeo<'a> {
        Skopeo {
            host: host.to_string(),
            home: Some(home),
        }
    }

    fn run(&self, args: Vec<String>) -> Result<String, String> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = match self.home {
            Some(home) => oci::skopeo_in(home, &refs),
            None => oci::skopeo(&refs),
        };
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `skopeo copy --preserve-digests oci:… docker://<host>/<dest>`: the layers go up as they
    /// are (without the flag skopeo gzips uncompressed layers on the way, see
    /// [`Skopeo::push_recompressing`]).
    fn push(&self, image: &OciImage, dest: &str, creds: Creds) -> Result<String, String> {
        self.copy_to(image, dest, creds, true)
    }

    /// `skopeo copy oci:… docker://…` as users type it: uncompressed layers are gzipped on the
    /// fly and uploaded with chunked transfer encoding, and the manifest is rewritten.
    fn push_recompressing(
        &self,
        image: &OciImage,
        dest: &str,
        creds: Creds,
    ) -> Result<String, String> {
        self.copy_to(image, dest, creds, false)
    }

    fn copy_to(
        &self,
        image: &OciImage,
        dest: &str,
        creds: Creds,
        preserve: bool,
    ) -> Result<String, String> {
        let mut args = vec!["copy".to_string(), "--dest-tls-verify=false".to_string()];
        if preserve {
            args.push("--preserve-digests".to_string());
        }
        args.extend(cred_args("dest-", creds));
        args.push(image.reference());
        args.push(format!("docker://{}/{dest}", self.host));
        self.run(args)
    }

    fn push_ok(&self, image: &OciImage, dest: &str, creds: Creds) {
        if let Err(e) = self.push(image, dest, creds) {
            panic!("push of {} to {dest} failed:\n{e}", image.tag);
        }
    }

    /// `skopeo copy docker://<host>/<src> dir:<out>` (into a fresh `out`).
    fn pull(&self, src: &str, creds: Creds, out: &Path) -> Result<String, String> {
        let _ = std::fs::remove_dir_all(out);
        let mut args = vec!["copy".to_string(), "--src-tls-verify=false".to_string()];
        args.extend(cred_args("src-", creds));
        args.push(format!("docker://{}/{src}", self.host));
        args.push(format!("dir:{}", out.display()));
        self.run(args)
    }

    /// Pulls `src` and checks it is `image`, byte for byte.
    fn pull_ok(&self, image: &OciImage, src: &str, creds: Creds, out: &Path) {
        if let Err(e) = self.pull(src, creds, out) {
            panic!("pull of {src} failed:\n{e}");
        }
        oci::assert_dir_copy(image, out);
    }

    /// `skopeo inspect [--raw] docker://<host>/<reference>`.
    fn inspect(&self, reference: &str, creds: Creds, raw: bool) -> Result<String, String> {
        let mut args = vec!["inspect".to_string(), "--tls-verify=false".to_string()];
        args.extend(cred_args("", creds));
        if raw {
            args.push("--raw".to_string());
        }
        args.push(format!("docker://{}/{reference}", self.host));
        self.run(args)
    }

    fn inspect_json(&self, reference: &str, creds: Creds) -> Value {
        let out = self
            .inspect(reference, creds, false)
            .unwrap_or_else(|e| panic!("inspect {reference} failed:\n{e}"));
        serde_json::from_str(&out).expect("inspect prints JSON")
    }

    /// `skopeo list-tags docker://<host>/<repository>`: the tags, sorted.
    fn list_tags(&self, repository: &str, creds: Creds) -> Result<Vec<String>, String> {
        let mut args = vec!["list-tags".to_string(), "--tls-verify=false".to_string()];
        args.extend(cred_args("", creds));
        args.push(format!("docker://{}/{repository}", self.host));
        let out = self.run(args)?;
        let v: Value = serde_json::from_str(&out).expect("list-tags prints JSON");
        let mut tags: Vec<String> = v["Tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        Ok(tags)
    }

    fn tags(&self, repository: &str, creds: Creds) -> Vec<String> {
        self.list_tags(repository, creds)
            .unwrap_or_else(|e| panic!("list-tags {repository} failed:\n{e}"))
    }

    /// `skopeo delete docker://<host>/<reference>`.
    fn delete(&self, reference: &str, creds: Creds) -> Result<String, String> {
        let mut args = vec!["delete".to_string(), "--tls-verify=false".to_string()];
        args.extend(cred_args("", creds));
        args.push(format!("docker://{}/{reference}", self.host));
        self.run(args)
    }
}

/// A refusal as skopeo reports it: the registry's `DENIED` / `UNAUTHORIZED` (skopeo prints
/// `denied: …` or `unauthorized: …`), or the token service's 401 (`unable to retrieve auth token:
/// invalid username/password: unauthorized: …`) or 403 (skopeo ignores that body and prints
/// `Requesting bearer token: invalid status code from registry 403 (Forbidden)`).
fn assert_refused(what: &str, result: Result<String, String>) {
    match result {
        Ok(out) => panic!("{what}: expected a refusal, skopeo succeeded:\n{out}"),
        Err(e) => {
            let l = e.to_lowercase();
            assert!(
                l.contains("denied") || l.contains("unauthorized") || l.contains("403 (forbidden)"),
                "{what}: skopeo failed, but not with denied/unauthorized/forbidden:\n{e}"
            );
            eprintln!("{what}: refused as expected: {}", e.trim());
        }
    }
}

/// What kind of refusal skopeo reported: `name unknown` (the registry's 404 `NAME_UNKNOWN`, for
/// a repository the caller cannot see or that does not exist), or `refused` (as in
/// [`assert_refused`]). Panics when skopeo succeeded or failed otherwise.
fn refusal(what: &str, result: &Result<String, String>) -> &'static str {
    match result {
        Ok(out) => panic!("{what}: expected a refusal, skopeo succeeded:\n{out}"),
        Err(e) if e.to_lowercase().contains("name unknown") => {
            eprintln!("{what}: refused as expected: {}", e.trim());
            "name unknown"
        }
        Err(e) => {
            assert_refused(what, Err(e.clone()));
            "refused"
        }
    }
}

/// Creates `path` in the token owner's namespace; returns its id.
fn project(s: &Server, api: &str, path: &str, visibility: &str) -> i64 {
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(api),
        Some(json!({"name": path, "path": path, "visibility": visibility})),
    );
    assert_eq!(r.status, 201, "create project {path}: {}", r.text);
    r.json["id"].as_i64().expect("project id")
}

fn sorted(tags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

// ---- the tooling, against the reference ---------------------------------------------------------

#[test]
fn the_layout_builder_writes_images_skopeo_reads() {
    // SHA-256 known answers (FIPS 180-2 and the OCI conformance suite's "hello world").
    assert_eq!(
        oci::sha256_digest(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        oci::sha256_digest(b"hello world"),
        "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    assert_eq!(
        oci::sha256_digest(&vec![b'a'; 1_000_000]),
        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );

    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let a = small_image(&layout, "a", 1);
    let b = small_image(&layout, "b", 2);
    let a_again = small_image(&tmp.path().join("again"), "a", 1);
    assert_eq!(a.manifest_digest, a_again.manifest_digest, "reproducible");
    assert_ne!(a.manifest_digest, b.manifest_digest, "distinct seeds");
    assert!(a.layer_digests.iter().all(|d| !b.layer_digests.contains(d)));
    let c = oci::add_tag(&a, "c");

    for image in [&a, &b, &c] {
        let v: Value = serde_json::from_str(&oci::skopeo_ok(&["inspect", &image.reference()]))
            .expect("inspect JSON");
        assert_eq!(v["Digest"], image.manifest_digest.as_str(), "{v}");
        assert_eq!(v["Layers"], json!(image.layer_digests), "{v}");
        assert_eq!(v["Architecture"], "amd64");
        assert_eq!(v["Os"], "linux");
        let config: Value = serde_json::from_str(&oci::skopeo_ok(&[
            "inspect",
            "--config",
            "--raw",
            &image.reference(),
        ]))
        .expect("config JSON");
        assert_eq!(config["rootfs"]["diff_ids"], json!(image.diff_ids));
        let out = tmp.path().join(format!("out-{}", image.tag));
        oci::skopeo_ok(&[
            "copy",
            &image.reference(),
            &format!("dir:{}", out.display()),
        ]);
        oci::assert_dir_copy(image, &out);
    }
    // The uncompressed layer's digest is its diff id; the gzip one's is not.
    assert_eq!(a.layer_digests[0], a.diff_ids[0]);
    assert_ne!(a.layer_digests[1], a.diff_ids[1]);
    // The tar holds what was asked for.
    let gz = std::fs::File::open(a.blob_path(&a.layer_digests[1])).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let sizes: Vec<u64> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().header().size().unwrap())
        .filter(|s| *s > 0)
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 64 * 1024);
    assert_eq!(sizes.len(), 3);
}

#[test]
fn the_same_flows_work_against_distribution() {
    let reference = Distribution::start();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let sk = Skopeo::keeping(&reference.host, &home);
    let none = Creds::Anonymous;
    let a = small_image(&tmp.path().join("layout"), "a", 1);
    let b = small_image(&tmp.path().join("layout"), "b", 2);
    let out = tmp.path().join("out");
    for name in ["alice/app", "alice/app/tools/builder"] {
        // The second push mounts the blobs from the first repository.
        sk.push_ok(&a, &format!("{name}:v1"), none);
        let v = sk.inspect_json(&format!("{name}:v1"), none);
        assert_eq!(v["Digest"], a.manifest_digest.as_str());
        assert_eq!(v["Layers"], json!(a.layer_digests));
        let raw = sk.inspect(&format!("{name}:v1"), none, true).unwrap();
        assert_eq!(raw.as_bytes(), a.manifest_bytes().as_slice());
        sk.pull_ok(&a, &format!("{name}:v1"), none, &out);
        assert_eq!(sk.tags(name, none), ["v1"]);
    }
    assert!(
        reference.log().contains(
            "POST /v2/alice/app/tools/builder/blobs/uploads/?from=alice%2Fapp&mount=sha256"
        ),
        "skopeo mounted across repositories"
    );
    // As users push: uncompressed layers gzipped on the way, a rewritten manifest (blobs the
    // registry has never seen, else skopeo finds the uncompressed ones and reuses them).
    let fresh = Skopeo::new(&reference.host);
    let c = small_image(&tmp.path().join("layout"), "fresh", 3);
    fresh.push_recompressing(&c, "alice/gz:v1", none).unwrap();
    let v = fresh.inspect_json("alice/gz:v1", none);
    assert_ne!(v["Digest"], c.manifest_digest.as_str());
    fresh.pull("alice/gz:v1", none, &out).unwrap();
    let manifest = oci::assert_dir_consistent(&out);
    assert_eq!(manifest["config"]["digest"], c.config_digest.as_str());
    assert_eq!(manifest["layers"][0]["mediaType"], oci::LAYER_TAR_GZIP);
    // Moving a tag, a second tag, deleting one.
    sk.push_ok(&b, "alice/app:v1", none);
    sk.push_ok(&a, "alice/app:v2", none);
    let v = sk.inspect_json("alice/app:v1", none);
    assert_eq!(v["Digest"], b.manifest_digest.as_str());
    sk.delete("alice/app:v1", none).unwrap();
    assert_eq!(sk.tags("alice/app", none), ["v2"]);
    assert!(sk.inspect("alice/app:v1", none, false).is_err());
    // A missing repository is an error, not an empty success.
    assert!(sk.inspect("nobody/here:v1", none, false).is_err());
}

// ---- tinforge ------------------------------------------------------------------------------------

#[test]
fn legacy_registry_and_api_tokens_push_inspect_pull_and_list_tags() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let sk = Skopeo::new(&host(s));
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        for (seed, (scopes, path)) in [("write_registry,read_registry", "app"), ("api", "web")]
            .into_iter()
            .enumerate()
        {
            project(s, &api, path, "private");
            let token = s.legacy_token("alice", scopes);
            let t = Creds::Token(&token);
            let image = small_image(&tmp.path().join(path), "v1", seed as u64 + 1);
            for name in [
                format!("alice/{path}"),
                format!("alice/{path}/tools/builder"),
            ] {
                let reference = format!("{name}:v1");
                sk.push_ok(&image, &reference, t);
                let v = sk.inspect_json(&reference, t);
                assert_eq!(v["Digest"], image.manifest_digest.as_str(), "{scopes}: {v}");
                assert_eq!(v["Layers"], json!(image.layer_digests), "{scopes}: {v}");
                let raw = sk.inspect(&reference, t, true).unwrap();
                assert_eq!(
                    raw.as_bytes(),
                    image.manifest_bytes().as_slice(),
                    "{scopes}: the manifest is stored verbatim"
                );
                sk.pull_ok(&image, &reference, t, &out);
                assert_eq!(sk.tags(&name, t), ["v1"], "{scopes} {name}");
            }
            // As users push: layers gzipped on the fly (chunked PATCH), the manifest rewritten
            // (blobs the server has never seen, else skopeo reuses the uncompressed ones).
            let image = small_image(&tmp.path().join(path), "fresh", seed as u64 + 100);
            let reference = format!("alice/{path}/gz:v1");
            if let Err(e) = sk.push_recompressing(&image, &reference, t) {
                panic!("{scopes}: push with compression on the fly failed:\n{e}");
            }
            sk.pull(&reference, t, &out).unwrap();
            let manifest = oci::assert_dir_consistent(&out);
            assert_eq!(manifest["config"]["digest"], image.config_digest.as_str());
            let v = sk.inspect_json(&reference, t);
            assert_eq!(
                v["Digest"],
                oci::file_digest(&out.join("manifest.json")).as_str()
            );
            assert_ne!(v["Digest"], image.manifest_digest.as_str());
        }
    });
}

#[test]
fn a_fine_grained_token_on_one_project_pushes_new_tags_there_and_nothing_else() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        project(s, &api, "app", "private");
        project(s, &api, "other", "private");
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        // One HOME throughout: skopeo remembers where blobs went and tries to mount them.
        let sk = Skopeo::keeping(&host(s), &home);
        let layout = tmp.path().join("layout");
        let a = small_image(&layout, "a", 1);
        let b = small_image(&layout, "b", 2);
        let out = tmp.path().join("out");
        let fg = s.fine_token(
            "alice",
            "container_registry:create,container_registry:read",
            "selected",
            &["--project", "alice/app"],
        );
        let t = Creds::Token(&fg);

        // The announcement example: push to the one project and pull it back.
        sk.push_ok(&a, "alice/app:v1", t);
        sk.pull_ok(&a, "alice/app:v1", t, &out);

        // Outside the boundary: no push (not by upload, not by mounting from alice/app), and
        // nothing landed there. The token cannot read alice/other, so it is told exactly what
        // it would be told of a project that does not exist.
        let outside = sk.push(&a, "alice/other:v1", t);
        let missing = sk.push(&a, "alice/missing:v1", t);
        assert_eq!(
            refusal("push to alice/other", &outside),
            refusal("push to alice/missing", &missing),
            "{outside:?}\n{missing:?}"
        );
        let api_t = Creds::Token(&api);
        assert!(sk.inspect("alice/other:v1", api_t, false).is_err());
        // … nor a pull of what is there.
        sk.push_ok(&b, "alice/other:v0", api_t);
        let outside = sk.pull("alice/other:v0", t, &out);
        let missing = sk.pull("alice/missing:v0", t, &out);
        assert_eq!(
            refusal("pull from alice/other", &outside),
            refusal("pull from alice/missing", &missing),
            "{outside:?}\n{missing:?}"
        );

        // Moving an existing tag needs container_registry:update.
        assert_refused("moving alice/app:v1", sk.push(&b, "alice/app:v1", t));
        let v1 = sk.inspect_json("alice/app:v1", t);
        assert_eq!(v1["Digest"], a.manifest_digest.as_str(), "v1 did not move");
        // A new tag is a create.
        sk.push_ok(&b, "alice/app:v2", t);
        sk.pull_ok(&b, "alice/app:v2", t, &out);
        assert_eq!(sk.tags("alice/app", t), sorted(&["v1", "v2"]));

        // The token reads images, not the project's issues.
        let issues = s.get("/api/v4/projects/alice%2Fapp/issues", &fg);
        assert_eq!(issues.status, 403, "{}", issues.text);
        assert_eq!(issues.json["error"], "insufficient_scope");
        assert_eq!(issues.json["missing"], json!(["issue:read"]));

        // With update as well, the tag moves.
        let mover = s.fine_token(
            "alice",
            "container_registry:create,container_registry:read,container_registry:update",
            "selected",
            &["--project", "alice/app"],
        );
        sk.push_ok(&b, "alice/app:v1", Creds::Token(&mover));
        let v1 = sk.inspect_json("alice/app:v1", Creds::Token(&mover));
        assert_eq!(v1["Digest"], b.manifest_digest.as_str(), "v1 moved");
        sk.pull_ok(&b, "alice/app:v1", t, &out);
    });
}

#[test]
fn anonymous_callers_pull_public_images_only_and_never_push() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        project(s, &api, "open", "public");
        project(s, &api, "secret", "private");
        let sk = Skopeo::new(&host(s));
        let tmp = tempfile::tempdir().unwrap();
        let layout = tmp.path().join("layout");
        let a = small_image(&layout, "a", 1);
        let b = small_image(&layout, "b", 2);
        let out = tmp.path().join("out");
        let api_t = Creds::Token(&api);
        let none = Creds::Anonymous;
        sk.push_ok(&a, "alice/open:v1", api_t);
        sk.push_ok(&a, "alice/secret:v1", api_t);

        let v = sk.inspect_json("alice/open:v1", none);
        assert_eq!(v["Digest"], a.manifest_digest.as_str());
        sk.pull_ok(&a, "alice/open:v1", none, &out);
        assert_eq!(sk.tags("alice/open", none), ["v1"]);

        assert_refused(
            "anonymous inspect of a private image",
            sk.inspect("alice/secret:v1", none, false),
        );
        assert_refused(
            "anonymous pull of a private image",
            sk.pull("alice/secret:v1", none, &out),
        );
        assert_refused(
            "anonymous push to a public project",
            sk.push(&b, "alice/open:v2", none),
        );
        assert_refused(
            "anonymous push over an existing public tag",
            sk.push(&b, "alice/open:v1", none),
        );
        assert_eq!(sk.tags("alice/open", api_t), ["v1"]);
        let v = sk.inspect_json("alice/open:v1", none);
        assert_eq!(v["Digest"], a.manifest_digest.as_str());
    });
}

#[test]
fn a_revoked_token_stops_pushing_and_pulling() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        project(s, &api, "app", "private");
        let sk = Skopeo::new(&host(s));
        let tmp = tempfile::tempdir().unwrap();
        let layout = tmp.path().join("layout");
        let a = small_image(&layout, "a", 1);
        let b = small_image(&layout, "b", 2);
        let created = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&api),
            Some(json!({"name": "registry", "scopes": ["write_registry", "read_registry"]})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["id"].as_i64().unwrap();
        let token = created.json["token"].as_str().unwrap().to_string();
        let t = Creds::Token(&token);
        sk.push_ok(&a, "alice/app:v1", t);

        // A registry bearer token obtained before the revocation (what a client holds mid-push).
        let basic = format!(
            "Basic {}",
            base64_encode(format!("alice:{token}").as_bytes())
        );
        let issued = common::Reply::from(
            s.request(
                "GET",
                "/jwt/auth?service=container_registry&scope=repository:alice/app:pull,push",
            )
            .set("Authorization", &basic)
            .call(),
        );
        assert_eq!(issued.status, 200, "{}", issued.text);
        let bearer = issued.json["token"]
            .as_str()
            .or(issued.json["access_token"].as_str())
            .expect("a token")
            .to_string();
        let start_upload = |b: &str| {
            common::Reply::from(
                s.request("POST", "/v2/alice/app/blobs/uploads/")
                    .set("Authorization", &format!("Bearer {b}"))
                    .send_bytes(b""),
            )
        };
        let started = start_upload(&bearer);
        assert_eq!(started.status, 202, "{}", started.text);

        let del = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{id}"),
            Some(&api),
            None,
        );
        assert_eq!(del.status, 204, "{}", del.text);
        assert_refused("push with a revoked token", sk.push(&b, "alice/app:v2", t));
        assert_refused(
            "pull with a revoked token",
            sk.pull("alice/app:v1", t, &tmp.path().join("out")),
        );
        // The registry token issued before the revocation writes no more either (reads with it
        // may go on for its few minutes of life).
        let refused = start_upload(&bearer);
        assert_eq!(refused.status, 401, "{}", refused.text);
        assert_eq!(refused.json["errors"][0]["code"], "UNAUTHORIZED");
        assert_eq!(sk.tags("alice/app", Creds::Token(&api)), ["v1"]);
    });
}

#[test]
fn deleting_an_image_needs_the_delete_grant_and_maintainer() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob = s.user("bob");
        let api = s.legacy_token("alice", "api");
        let id = project(s, &api, "app", "private");
        let member = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/members"),
            Some(&api),
            Some(json!({"user_id": bob, "access_level": DEVELOPER})),
        );
        assert_eq!(member.status, 201, "{}", member.text);
        let sk = Skopeo::new(&host(s));
        let tmp = tempfile::tempdir().unwrap();
        let layout = tmp.path().join("layout");
        let a = small_image(&layout, "a", 1);
        let b = small_image(&layout, "b", 2);
        let api_t = Creds::Token(&api);
        sk.push_ok(&a, "alice/app:v1", api_t);
        sk.push_ok(&b, "alice/app:keep", api_t);

        let create_read = s.fine_token(
            "alice",
            "container_registry:create,container_registry:read",
            "selected",
            &["--project", "alice/app"],
        );
        assert_refused(
            "delete with create+read",
            sk.delete("alice/app:v1", Creds::Token(&create_read)),
        );
        let write_registry = s.legacy_token("alice", "write_registry,read_registry");
        assert_refused(
            "delete with write_registry",
            sk.delete("alice/app:v1", Creds::Token(&write_registry)),
        );
        // A token never exceeds its owner: deleting images is Maintainer+, bob is a Developer.
        let developer = s.fine_token(
            "bob",
            "container_registry:read,container_registry:delete",
            "selected",
            &["--project", "alice/app"],
        );
        assert_eq!(
            sk.tags("alice/app", Creds::Token(&developer)),
            sorted(&["keep", "v1"])
        );
        assert_refused(
            "delete by a Developer",
            sk.delete("alice/app:v1", Creds::Token(&developer)),
        );
        let v = sk.inspect_json("alice/app:v1", Creds::Token(&create_read));
        assert_eq!(v["Digest"], a.manifest_digest.as_str(), "v1 is still there");

        let deleter = s.fine_token(
            "alice",
            "container_registry:read,container_registry:delete",
            "selected",
            &["--project", "alice/app"],
        );
        let d = Creds::Token(&deleter);
        sk.delete("alice/app:v1", d)
            .unwrap_or_else(|e| panic!("delete with container_registry:delete failed:\n{e}"));
        assert_eq!(sk.tags("alice/app", d), ["keep"]);
        assert!(sk.inspect("alice/app:v1", api_t, false).is_err());
        let v = sk.inspect_json("alice/app:keep", api_t);
        assert_eq!(v["Digest"], b.manifest_digest.as_str());
    });
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
