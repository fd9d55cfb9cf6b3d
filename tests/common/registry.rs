//! Pushing to tinforge's registry over plain HTTP in tests: blobs (POST + PUT) and small OCI
//! images (config, one layer, manifest), with a personal access token presented directly
//! (`PRIVATE-TOKEN`), which `/v2/` accepts beside the token service's JWTs.

use super::{Reply, Server};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A raw registry request with an optional PRIVATE-TOKEN and body.
pub fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Reply {
    let mut req =
        ureq::request(method, &format!("{}{}", s.url, path)).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        req = req.set("PRIVATE-TOKEN", t);
    }
    if let Some(ct) = content_type {
        req = req.set("Content-Type", ct);
    }
    Reply::from(match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    })
}

/// Pushes one blob (POST, then PUT with the digest); returns its digest.
pub fn push_blob(s: &Server, token: &str, name: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let start = call(
        s,
        "POST",
        &format!("/v2/{name}/blobs/uploads/"),
        Some(token),
        None,
        Some(b""),
    );
    assert_eq!(start.status, 202, "start upload to {name}: {}", start.text);
    let location = start.header("location").expect("Location").to_string();
    let sep = if location.contains('?') { '&' } else { '?' };
    let put = call(
        s,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        Some(token),
        Some("application/octet-stream"),
        Some(bytes),
    );
    assert_eq!(put.status, 201, "finish upload to {name}: {}", put.text);
    digest
}

/// What [`push_image`] pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub manifest: Vec<u8>,
    /// Config and layer bytes together.
    pub total_size: usize,
}

/// The bytes of a small OCI image distinct per `seed`: (config, layer, manifest).
pub fn image_bytes(seed: u32) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let layer: Vec<u8> = (0..4096u32)
        .map(|i| {
            (i.wrapping_mul(2654435761)
                .wrapping_add(seed.wrapping_mul(97))
                >> 13) as u8
        })
        .collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}},"author":"seed {seed}"}}"#,
        sha256(&layer)
    )
    .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        sha256(&config),
        config.len(),
        sha256(&layer),
        layer.len()
    )
    .into_bytes();
    (config, layer, manifest)
}

/// Pushes a small OCI image to `name:tag` (`tag` may also be a digest reference).
pub fn push_image(s: &Server, token: &str, name: &str, tag: &str, seed: u32) -> Pushed {
    let (config, layer, manifest) = image_bytes(seed);
    let config_digest = push_blob(s, token, name, &config);
    let layer_digest = push_blob(s, token, name, &layer);
    let put = call(
        s,
        "PUT",
        &format!("/v2/{name}/manifests/{tag}"),
        Some(token),
        Some(OCI_MANIFEST),
        Some(&manifest),
    );
    assert_eq!(put.status, 201, "push manifest {name}:{tag}: {}", put.text);
    Pushed {
        manifest_digest: sha256(&manifest),
        config_digest,
        layer_digest,
        total_size: config.len() + layer.len(),
        manifest,
    }
}
