//! Registry blobs in an S3-compatible bucket: a real S3 implementation (moto's server, installed
//! by `.ci/run` from PyPI) on loopback, tinforge started with `TINFORGE_S3_*`. Small blobs go in
//! one PUT, large ones as multipart uploads; pulls (whole and ranged) read them back, and garbage
//! collection removes them from the bucket.

mod common;

use common::registry::{call, push_blob, push_image, sha256};
use common::{Server, backends};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto S3 server on a free loopback port, killed on drop.
struct S3Server {
    child: Child,
    url: String,
}

impl S3Server {
    fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with moto (pip install 'moto[server]'; .ci/run installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&url).call().is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        S3Server { child, url }
    }

    fn create_bucket(&self, bucket: &str) {
        ureq::put(&format!("{}/{bucket}", self.url))
            .call()
            .expect("create bucket");
    }

    /// The keys in `bucket` (ListObjectsV2).
    fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = ureq::get(&format!("{}/{bucket}?list-type=2", self.url))
            .call()
            .expect("list bucket")
            .into_string()
            .unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|k| k.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn blobs_live_in_an_s3_bucket() {
    let s3 = S3Server::start();
    for (i, backend) in backends().iter().enumerate() {
        let bucket = format!("tinforge-{i}");
        s3.create_bucket(&bucket);
        let env = [
            ("TINFORGE_S3_BUCKET", bucket.as_str()),
            ("TINFORGE_S3_ENDPOINT", s3.url.as_str()),
            ("TINFORGE_S3_ACCESS_KEY_ID", "test"),
            ("TINFORGE_S3_SECRET_ACCESS_KEY", "test"),
            ("TINFORGE_S3_PREFIX", "registry"),
        ];
        let s = Server::start(backend, &env);
        eprintln!("-- on {}", s.backend_name());
        check(&s, &s3, &bucket, &env);
    }
}

fn check(s: &Server, s3: &S3Server, bucket: &str, env: &[(&str, &str)]) {
    s.user("alice");
    let token = s.legacy_token("alice", "api");
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(&token),
        Some(serde_json::json!({"name": "app", "path": "app"})),
    );
    assert_eq!(r.status, 201);
    let image = push_image(s, &token, "alice/app", "v1", 3);
    // 12 MiB: more than one 8 MiB part, so the multipart path is taken.
    let big: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let big_digest = push_blob(s, &token, "alice/app", &big);
    assert_eq!(big_digest, sha256(&big));
    let keys = s3.keys(bucket);
    for digest in [&image.layer_digest, &image.config_digest, &big_digest] {
        let hex = digest.trim_start_matches("sha256:");
        let key = format!("registry/sha256/{}/{hex}", &hex[..2]);
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    assert!(
        !s.data_dir().join("registry/blobs").exists()
            || std::fs::read_dir(s.data_dir().join("registry/blobs"))
                .unwrap()
                .next()
                .is_none(),
        "nothing is stored on local disk"
    );
    let pulled = call(
        s,
        "GET",
        &format!("/v2/alice/app/blobs/{big_digest}"),
        Some(&token),
        None,
        None,
    );
    assert_eq!(pulled.status, 200);
    let ranged = ureq::get(&format!("{}/v2/alice/app/blobs/{big_digest}", s.url))
        .set("PRIVATE-TOKEN", &token)
        .set("Range", "bytes=9000000-9000009")
        .call()
        .unwrap();
    assert_eq!(ranged.status(), 206);
    let mut part = Vec::new();
    std::io::Read::read_to_end(&mut ranged.into_reader(), &mut part).unwrap();
    assert_eq!(part, &big[9_000_000..9_000_010]);
    let manifest = call(
        s,
        "GET",
        "/v2/alice/app/manifests/v1",
        Some(&token),
        None,
        None,
    );
    assert_eq!(manifest.text.as_bytes(), image.manifest.as_slice());

    // GC with the same settings removes the unreferenced big blob from the bucket.
    let mut args = vec!["registry", "gc", "--grace-minutes", "0"];
    let flags: Vec<String> = env
        .iter()
        .map(|(k, v)| {
            let flag = k
                .trim_start_matches("TINFORGE_")
                .to_lowercase()
                .replace('_', "-");
            format!("--{flag}={v}")
        })
        .collect();
    args.extend(flags.iter().map(String::as_str));
    let out = s.cli_ok(&args);
    assert!(out.contains("removed 1 blobs"), "{out}");
    let hex = big_digest.trim_start_matches("sha256:");
    assert!(
        !s3.keys(bucket)
            .contains(&format!("registry/sha256/{}/{hex}", &hex[..2]))
    );
    assert!(
        s3.keys(bucket).len() >= 2,
        "the image's blobs are still there"
    );
}
