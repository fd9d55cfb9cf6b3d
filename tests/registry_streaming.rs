//! Layers stream through the registry both ways: a 256 MiB blob pushed in one chunked PATCH
//! (no Content-Length, as skopeo sends it) and pulled back never makes the server's resident
//! memory grow by anything near the blob's size, and what comes back is the same bytes.

mod common;

use common::Server;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;

const SIZE: u64 = 256 * 1024 * 1024;

/// Pseudo-random bytes, generated as they are read (the test holds no copy of the blob).
struct Noise {
    left: u64,
    state: u64,
    hash: Sha256,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state as u8;
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

fn peak_rss_kib(s: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_large_layer_streams_both_ways() {
    let s = Server::start(&common::Backend::Sqlite, &[]);
    s.user("alice");
    let token = s.legacy_token("alice", "api");
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(&token),
        Some(serde_json::json!({"name": "big", "path": "big"})),
    );
    assert_eq!(r.status, 201);
    let before = peak_rss_kib(&s);

    let start = s.call("POST", "/v2/alice/big/blobs/uploads/", Some(&token), None);
    assert_eq!(start.status, 202, "{}", start.text);
    let location = start.header("location").unwrap().to_string();
    let mut noise = Noise {
        left: SIZE,
        state: 0x9E37_79B9_7F4A_7C15,
        hash: Sha256::new(),
    };
    let patch = ureq::request("PATCH", &format!("{}{location}", s.url))
        .timeout(Duration::from_secs(600))
        .set("PRIVATE-TOKEN", &token)
        .set("Content-Type", "application/octet-stream")
        .send(&mut noise)
        .expect("PATCH");
    assert_eq!(patch.status(), 202);
    assert_eq!(
        patch.header("range"),
        Some(format!("0-{}", SIZE - 1).as_str())
    );
    let digest = format!("sha256:{}", hex::encode(noise.hash.finalize()));
    let put = s.call(
        "PUT",
        &format!("{location}?digest={digest}"),
        Some(&token),
        None,
    );
    assert_eq!(put.status, 201, "{}", put.text);

    let res = ureq::get(&format!("{}/v2/alice/big/blobs/{digest}", s.url))
        .timeout(Duration::from_secs(600))
        .set("PRIVATE-TOKEN", &token)
        .call()
        .expect("GET");
    assert_eq!(
        res.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    let mut reader = res.into_reader();
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, SIZE);
    assert_eq!(format!("sha256:{}", hex::encode(hash.finalize())), digest);

    let grown_mib = (peak_rss_kib(&s) - before) / 1024;
    eprintln!(
        "server peak RSS grew by {grown_mib} MiB for a {} MiB blob",
        SIZE >> 20
    );
    assert!(
        grown_mib < 64,
        "the server's peak memory grew by {grown_mib} MiB while streaming a 256 MiB blob"
    );
}
