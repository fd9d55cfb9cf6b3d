//! OCI image layouts built on the spot, so no test ever pulls an image from a network, and the
//! real `skopeo` run with a clean environment (no user or system registries, policy or
//! credentials).
//!
//! [`build_image`] writes a valid OCI image layout (`oci-layout`, `index.json` with the
//! `org.opencontainers.image.ref.name` annotation, `blobs/sha256/<hex>`): one image config
//! (amd64/linux, `rootfs.diff_ids` = the digests of the uncompressed tars) and layers that are real
//! tar archives of pseudo-random files (xorshift, seeded per layer: reproducible, distinct across
//! seeds, incompressible). Several images can share one layout (one tag each).
//!
//! Self-contained (std, `tar`, `flate2`, `sha2`, `hex`, `serde_json`, `tempfile`) so the benches
//! can include it with `#[path]`.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const LAYOUT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One layer: a tar of `files` files of pseudo-random content, `size` bytes in all.
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec {
    /// Content bytes in the tar (the tar itself is a little larger: headers and padding).
    pub size: u64,
    /// Seeds the content; equal seeds give byte-identical layers.
    pub seed: u64,
    /// How many files share `size` (at least one).
    pub files: usize,
    /// `application/vnd.oci.image.layer.v1.tar+gzip` instead of the uncompressed tar.
    pub gzip: bool,
}

impl LayerSpec {
    /// An uncompressed tar with one file of `size` bytes.
    pub fn tar(size: u64, seed: u64) -> LayerSpec {
        LayerSpec {
            size,
            seed,
            files: 1,
            gzip: false,
        }
    }

    /// A gzip-compressed tar with one file of `size` bytes.
    pub fn gzip(size: u64, seed: u64) -> LayerSpec {
        LayerSpec {
            gzip: true,
            ..LayerSpec::tar(size, seed)
        }
    }

    /// The same layer split into `files` files.
    pub fn with_files(self, files: usize) -> LayerSpec {
        LayerSpec {
            files: files.max(1),
            ..self
        }
    }
}

/// An image written into an OCI layout.
#[derive(Debug, Clone)]
pub struct OciImage {
    /// The layout directory (`oci:<dir>:<tag>`).
    pub dir: PathBuf,
    pub tag: String,
    /// `sha256:<hex>` of the manifest.
    pub manifest_digest: String,
    pub config_digest: String,
    /// The layers' blob digests (of the compressed bytes for gzip layers), in manifest order.
    pub layer_digests: Vec<String>,
    /// The digests of the uncompressed tars (the config's `rootfs.diff_ids`).
    pub diff_ids: Vec<String>,
    /// Manifest + config + layer blobs, in bytes.
    pub total_size: u64,
}

impl OciImage {
    /// `oci:<dir>:<tag>`, the skopeo source of this image.
    pub fn reference(&self) -> String {
        format!("oci:{}:{}", self.dir.display(), self.tag)
    }

    /// The path of a blob of this layout by its `sha256:<hex>` digest.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        blob_path(&self.dir, digest)
    }

    /// The manifest's bytes as written.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        std::fs::read(self.blob_path(&self.manifest_digest)).expect("read manifest")
    }

    /// Every blob digest of the image: config, layers, manifest.
    pub fn all_digests(&self) -> Vec<String> {
        let mut all = vec![self.config_digest.clone()];
        all.extend(self.layer_digests.iter().cloned());
        all.push(self.manifest_digest.clone());
        all
    }
}

/// `<dir>/blobs/sha256/<hex>` for `sha256:<hex>`.
pub fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    dir.join("blobs").join("sha256").join(hex)
}

/// Writes an image with these layers into the OCI layout at `dir` (created, or extended when it
/// already holds a layout) under `tag` (which then names this image only).
pub fn build_image(dir: &Path, tag: &str, layers: &[LayerSpec]) -> OciImage {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).expect("create the layout");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("write oci-layout");

    let mut layer_descriptors = Vec::new();
    let mut layer_digests = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    let mut total_size = 0;
    for (i, spec) in layers.iter().enumerate() {
        let (digest, size, diff_id) = write_layer(&blobs, i, spec);
        layer_descriptors.push(serde_json::json!({
            "mediaType": if spec.gzip { LAYER_TAR_GZIP } else { LAYER_TAR },
            "digest": digest,
            "size": size,
        }));
        history.push(serde_json::json!({
            "created": "2024-01-01T00:00:00Z",
            "created_by": format!("tinforge test layer {i}: {} bytes, seed {}", spec.size, spec.seed),
        }));
        total_size += size;
        layer_digests.push(digest);
        diff_ids.push(diff_id);
    }
    let config = serde_json::json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": {"org.tinforge.test.tag": tag},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config_bytes = serde_json::to_vec(&config).expect("config JSON");
    let config_digest = write_blob(&blobs, &config_bytes);
    total_size += config_bytes.len() as u64;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": config_digest, "size": config_bytes.len()},
        "layers": layer_descriptors,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest JSON");
    let manifest_digest = write_blob(&blobs, &manifest_bytes);
    total_size += manifest_bytes.len() as u64;
    set_ref(
        dir,
        tag,
        serde_json::json!({
            "mediaType": MANIFEST,
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "platform": {"architecture": "amd64", "os": "linux"},
        }),
    );
    OciImage {
        dir: dir.to_path_buf(),
        tag: tag.to_string(),
        manifest_digest,
        config_digest,
        layer_digests,
        diff_ids,
        total_size,
    }
}

/// Another tag for an image already in its layout; the returned image is `image` under `tag`.
pub fn add_tag(image: &OciImage, tag: &str) -> OciImage {
    let size = image.manifest_bytes().len();
    set_ref(
        &image.dir,
        tag,
        serde_json::json!({
            "mediaType": MANIFEST,
            "digest": image.manifest_digest,
            "size": size,
            "platform": {"architecture": "amd64", "os": "linux"},
        }),
    );
    OciImage {
        tag: tag.to_string(),
        ..image.clone()
    }
}

/// Puts `descriptor` into `index.json` under the ref name `tag`, replacing what had that tag.
fn set_ref(dir: &Path, tag: &str, mut descriptor: serde_json::Value) {
    let path = dir.join("index.json");
    let mut manifests: Vec<serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["manifests"].as_array().cloned())
        .unwrap_or_default();
    manifests.retain(|m| m["annotations"][REF_NAME] != tag);
    descriptor["annotations"] = serde_json::json!({ REF_NAME: tag });
    manifests.push(descriptor);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": LAYOUT_INDEX,
        "manifests": manifests,
    });
    std::fs::write(&path, serde_json::to_vec(&index).expect("index JSON"))
        .expect("write index.json");
}

/// Writes `bytes` as a blob; returns its digest.
fn write_blob(blobs: &Path, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    std::fs::write(blobs.join(&digest[7..]), bytes).expect("write blob");
    digest
}

/// Streams one layer into `blobs`: (blob digest, blob size, diff id).
fn write_layer(blobs: &Path, index: usize, spec: &LayerSpec) -> (String, u64, String) {
    let tmp = blobs.join(format!(".layer-{index}-{}.tmp", std::process::id()));
    let file = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).expect("tmp"));
    let blob = Hashing::new(file);
    let (blob, diff_id) = if spec.gzip {
        let gz = flate2::write::GzEncoder::new(blob, flate2::Compression::fast());
        let tar = write_tar(Hashing::new(gz), spec);
        let (gz, diff_id) = tar.finish();
        (gz.finish().expect("finish gzip"), diff_id)
    } else {
        let tar = write_tar(blob, spec);
        let diff_id = tar.digest();
        (tar, diff_id)
    };
    let size = blob.count;
    let (mut file, digest) = blob.finish();
    file.flush().expect("flush layer");
    drop(file);
    std::fs::rename(&tmp, blobs.join(&digest[7..])).expect("rename layer");
    (digest, size, diff_id)
}

/// The tar itself, written into `out` (which hashes it).
fn write_tar<W: Write>(out: Hashing<W>, spec: &LayerSpec) -> Hashing<W> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    let files = spec.files.max(1) as u64;
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_mtime(1_704_067_200);
    dir.set_size(0);
    builder
        .append_data(&mut dir, format!("data-{}/", spec.seed), io::empty())
        .expect("tar directory");
    for i in 0..files {
        let size = spec.size / files + u64::from(i < spec.size % files);
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(1_704_067_200);
        header.set_size(size);
        let content = Xorshift::new(spec.seed.wrapping_mul(1_000_003).wrapping_add(i)).take(size);
        builder
            .append_data(
                &mut header,
                format!("data-{}/file-{i}.bin", spec.seed),
                content,
            )
            .expect("tar entry");
    }
    builder.into_inner().expect("finish tar")
}

/// A tiny deterministic PRNG (xorshift64*), as a `Read` of endless bytes.
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (and 0 is no fixpoint).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Xorshift((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Read for Xorshift {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let n = rest.len();
            rest.copy_from_slice(&self.next_u64().to_le_bytes()[..n]);
        }
        Ok(buf.len())
    }
}

/// A writer that hashes (SHA-256) and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            count: 0,
        }
    }

    fn digest(&self) -> String {
        hex_digest(self.hash.clone())
    }

    fn finish(self) -> (W, String) {
        (self.inner, hex_digest(self.hash))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex_digest(h: Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    hex_digest(Sha256::new_with_prefix(bytes))
}

/// `sha256:<hex>` of a file's content.
pub fn file_digest(path: &Path) -> String {
    let mut file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex_digest(h)
}

/// `skopeo --insecure-policy args…` with nothing of the machine's or the user's configuration:
/// an empty `registries.conf` and `registries.d`, an empty auth file, HOME, TMPDIR and the blob
/// info cache in a fresh temporary directory (so no cross-repository mount is tried from what an
/// earlier call pushed; see [`skopeo_in`] to keep one).
pub fn skopeo(args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().expect("temp dir");
    skopeo_in(tmp.path(), args)
}

/// [`skopeo`] with its HOME (and so its blob info cache) in `home`, kept across calls: skopeo
/// then remembers where it pushed or pulled each blob and tries cross-repository mounts
/// (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`) the way a user's skopeo does.
pub fn skopeo_in(home: &Path, args: &[&str]) -> Output {
    let registries = home.join("registries.conf");
    let registries_d = home.join("registries.d");
    let auth = home.join("auth.json");
    let tmpdir = home.join("tmp");
    std::fs::create_dir_all(&registries_d).expect("registries.d");
    std::fs::create_dir_all(&tmpdir).expect("tmp");
    std::fs::write(&registries, "unqualified-search-registries = []\n").expect("registries.conf");
    std::fs::write(&auth, "{\"auths\":{}}\n").expect("auth.json");
    Command::new("skopeo")
        .arg("--insecure-policy")
        .arg("--registries-conf")
        .arg(&registries)
        .arg("--registries.d")
        .arg(&registries_d)
        .arg("--tmpdir")
        .arg(&tmpdir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", &tmpdir)
        .env("XDG_RUNTIME_DIR", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        // containers/image keeps root's blob info cache in /var/lib/containers/cache, shared by
        // every run; any other uid keeps it under XDG_DATA_HOME, which is ours.
        .env("_CONTAINERS_ROOTLESS_UID", "1000")
        .env("REGISTRY_AUTH_FILE", &auth)
        .env("CONTAINERS_REGISTRIES_CONF", &registries)
        .env("CONTAINERS_CONF", home.join("containers.conf"))
        .output()
        .expect("run skopeo (is it installed?)")
}

/// [`skopeo`], which must succeed; its stdout.
pub fn skopeo_ok(args: &[&str]) -> String {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`skopeo`]: Ok(stdout) or Err(stderr).
pub fn try_skopeo(args: &[&str]) -> Result<String, String> {
    let out = skopeo(args);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Checks a `dir:` copy of `image` (what `skopeo copy … dir:<out>` writes): the manifest and
/// every blob are byte-identical to the layout's and hash to their names. Panics otherwise.
pub fn assert_dir_copy(image: &OciImage, out: &Path) {
    let manifest = std::fs::read(out.join("manifest.json")).expect("dir: manifest.json");
    assert_eq!(
        sha256_digest(&manifest),
        image.manifest_digest,
        "the pulled manifest differs from the pushed one"
    );
    let mut blobs = image.layer_digests.clone();
    blobs.push(image.config_digest.clone());
    for digest in &blobs {
        let hex = &digest[7..];
        let pulled = out.join(hex);
        assert!(
            pulled.is_file(),
            "dir: copy lacks blob {digest}; it has {:?}",
            std::fs::read_dir(out)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                .unwrap_or_default()
        );
        assert_eq!(
            &file_digest(&pulled),
            digest,
            "pulled blob {digest} is corrupt"
        );
        let a = std::fs::metadata(&pulled).expect("stat").len();
        let b = std::fs::metadata(image.blob_path(digest))
            .expect("stat")
            .len();
        assert_eq!(a, b, "blob {digest} size");
    }
}

/// Checks a `dir:` copy for itself (when the pushed manifest was rewritten, say, by skopeo
/// compressing layers on the fly): every blob the manifest names is there and hashes to its
/// digest, with the size the manifest gives. Returns the manifest.
pub fn assert_dir_consistent(out: &Path) -> serde_json::Value {
    let bytes = std::fs::read(out.join("manifest.json")).expect("dir: manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest JSON");
    let mut descriptors = vec![manifest["config"].clone()];
    descriptors.extend(manifest["layers"].as_array().cloned().unwrap_or_default());
    for d in descriptors {
        let digest = d["digest"].as_str().expect("descriptor digest");
        let path = out.join(digest.strip_prefix("sha256:").expect("sha256"));
        assert_eq!(file_digest(&path), digest, "pulled blob {digest}");
        assert_eq!(
            Some(std::fs::metadata(&path).expect("stat").len()),
            d["size"].as_u64(),
            "pulled blob {digest} size"
        );
    }
    manifest
}
