//! The one blob-store interface: content-addressed bytes (registry layers and configs, later CI
//! artifacts) on the local filesystem under the data directory by default, or in an
//! S3-compatible object store so several instances share them. Uploads are staged on local disk
//! outside the store and only moved in once their digest is verified, so nothing unverified is
//! ever visible and a crash leaves at most a staged file that garbage collection removes.

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// A stream of a blob's bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

/// Size of the chunks read from disk and sent to S3.
const READ_CHUNK: usize = 256 * 1024;
const S3_PART: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    #[error("blob not found")]
    NotFound,
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
    #[error("object store: {0}")]
    Object(String),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Object(other.to_string()),
        }
    }
}

/// Settings of an S3-compatible bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// `http://127.0.0.1:9000` for MinIO and the like; None for AWS itself.
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Key prefix inside the bucket (`tinforge/`), may be empty.
    pub prefix: String,
}

enum Backend {
    Filesystem {
        root: PathBuf,
    },
    S3 {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        describe: String,
    },
}

/// The blob store, cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    backend: Arc<Backend>,
    staging: PathBuf,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `sha256:<hex>` → `sha256/ab/<hex>`; anything that is not `<algorithm>:<hex>` is refused, so
/// no digest can name a path outside the store.
fn key_of(digest: &str) -> Result<String, BlobError> {
    let bad = || BlobError::InvalidDigest(digest.chars().take(200).collect());
    let (alg, hex) = digest.split_once(':').ok_or_else(bad)?;
    let alg_ok = !alg.is_empty()
        && alg.len() <= 32
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let hex_ok = hex.len() >= 32
        && hex.len() <= 128
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !alg_ok || !hex_ok {
        return Err(bad());
    }
    Ok(format!("{alg}/{}/{hex}", &hex[..2]))
}

impl BlobStore {
    /// Blobs under `root`, uploads staged under `staging` (both created when missing).
    pub fn filesystem(root: PathBuf, staging: PathBuf) -> io::Result<BlobStore> {
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&staging)?;
        Ok(BlobStore {
            backend: Arc::new(Backend::Filesystem { root }),
            staging,
        })
    }

    /// Blobs in an S3-compatible bucket, uploads staged locally under `staging`.
    pub fn s3(settings: &S3Settings, staging: PathBuf) -> Result<BlobStore, BlobError> {
        std::fs::create_dir_all(&staging)?;
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(if settings.region.is_empty() {
                "us-east-1"
            } else {
                &settings.region
            })
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build()?;
        let describe = format!(
            "s3://{}/{} ({})",
            settings.bucket,
            settings.prefix,
            settings.endpoint.as_deref().unwrap_or("aws")
        );
        Ok(BlobStore {
            backend: Arc::new(Backend::S3 {
                store: Arc::new(store),
                prefix: settings.prefix.trim_matches('/').to_string(),
                describe,
            }),
            staging,
        })
    }

    pub fn describe(&self) -> String {
        match &*self.backend {
            Backend::Filesystem { root } => format!("filesystem {}", root.display()),
            Backend::S3 { describe, .. } => describe.clone(),
        }
    }

    /// Where uploads are staged.
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// The staging file of upload `id` (ids are generated by the server: hex and dashes).
    pub fn staging_path(&self, id: &str) -> Result<PathBuf, BlobError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        {
            return Err(BlobError::InvalidDigest(id.chars().take(64).collect()));
        }
        Ok(self.staging.join(id))
    }

    fn object_path(prefix: &str, key: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{prefix}/{key}"))
        }
    }

    /// The blob's size, None when the store does not have it.
    pub async fn size(&self, digest: &str) -> Result<Option<u64>, BlobError> {
        let key = key_of(digest)?;
        match &*self.backend {
            Backend::Filesystem { root } => match tokio::fs::metadata(root.join(&key)).await {
                Ok(m) => Ok(Some(m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Backend::S3 { store, prefix, .. } => {
                match store.head(&Self::object_path(prefix, &key)).await {
                    Ok(meta) => Ok(Some(meta.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The blob's bytes `start..end` (end exclusive), or all of them.
    pub async fn read(
        &self,
        digest: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<ByteStream, BlobError> {
        let key = key_of(digest)?;
        match &*self.backend {
            Backend::Filesystem { root } => {
                let mut file = match tokio::fs::File::open(root.join(&key)).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(BlobError::NotFound);
                    }
                    Err(e) => return Err(e.into()),
                };
                let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match range {
                    Some(r) => {
                        file.seek(io::SeekFrom::Start(r.start)).await?;
                        Box::new(file.take(r.end.saturating_sub(r.start)))
                    }
                    None => Box::new(file),
                };
                Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK).boxed())
            }
            Backend::S3 { store, prefix, .. } => {
                let options = object_store::GetOptions {
                    range: range.map(object_store::GetRange::Bounded),
                    ..Default::default()
                };
                let result = store
                    .get_opts(&Self::object_path(prefix, &key), options)
                    .await?;
                Ok(result
                    .into_stream()
                    .map_err(|e| io::Error::other(e.to_string()))
                    .boxed())
            }
        }
    }

    /// Moves a staged, verified file into the store as `digest`. The same digest stored twice
    /// is the same bytes, so a blob that is already there is simply kept.
    pub async fn commit(&self, digest: &str, staged: &Path) -> Result<(), BlobError> {
        let key = key_of(digest)?;
        match &*self.backend {
            Backend::Filesystem { root } => {
                let target = root.join(&key);
                let staged = staged.to_path_buf();
                tokio::task::spawn_blocking(move || -> io::Result<()> {
                    std::fs::File::open(&staged)?.sync_all()?;
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::rename(&staged, &target)
                })
                .await
                .map_err(|e| io::Error::other(e.to_string()))??;
                Ok(())
            }
            Backend::S3 { store, prefix, .. } => {
                let path = Self::object_path(prefix, &key);
                let mut file = tokio::fs::File::open(staged).await?;
                let len = file.metadata().await?.len();
                if len <= S3_PART as u64 {
                    let mut body = Vec::with_capacity(len as usize);
                    file.read_to_end(&mut body).await?;
                    store.put(&path, body.into()).await?;
                } else {
                    let upload = store.put_multipart(&path).await?;
                    let mut writer =
                        object_store::WriteMultipart::new_with_chunk_size(upload, S3_PART);
                    let mut buf = vec![0u8; READ_CHUNK];
                    loop {
                        let n = file.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        writer.write(&buf[..n]);
                    }
                    writer.finish().await?;
                }
                tokio::fs::remove_file(staged).await?;
                Ok(())
            }
        }
    }

    /// Removes a blob's bytes; a blob that is not there is not an error.
    pub async fn delete(&self, digest: &str) -> Result<(), BlobError> {
        let key = key_of(digest)?;
        match &*self.backend {
            Backend::Filesystem { root } => match tokio::fs::remove_file(root.join(&key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Backend::S3 { store, prefix, .. } => {
                match store.delete(&Self::object_path(prefix, &key)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Every digest the store holds.
    pub async fn list(&self) -> Result<Vec<String>, BlobError> {
        match &*self.backend {
            Backend::Filesystem { root } => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || list_dir(&root))
                    .await
                    .map_err(|e| io::Error::other(e.to_string()))?
            }
            Backend::S3 { store, prefix, .. } => {
                let base = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
                let metas: Vec<object_store::ObjectMeta> =
                    store.list(base.as_ref()).try_collect().await?;
                Ok(metas
                    .into_iter()
                    .filter_map(|m| {
                        digest_of_key(m.location.as_ref().trim_start_matches(prefix.as_str()))
                    })
                    .collect())
            }
        }
    }
}

/// `…/sha256/ab/<hex>` → `sha256:<hex>`.
fn digest_of_key(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [alg, _, hex] => {
            let digest = format!("{alg}:{hex}");
            key_of(&digest).ok().map(|_| digest)
        }
        _ => None,
    }
}

fn list_dir(root: &Path) -> Result<Vec<String>, BlobError> {
    let mut out = Vec::new();
    for alg in std::fs::read_dir(root)? {
        let alg = alg?;
        if !alg.file_type()?.is_dir() {
            continue;
        }
        for fan in std::fs::read_dir(alg.path())? {
            let fan = fan?;
            if !fan.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(fan.path())? {
                let blob = blob?;
                let key = format!(
                    "{}/{}/{}",
                    alg.file_name().to_string_lossy(),
                    fan.file_name().to_string_lossy(),
                    blob.file_name().to_string_lossy()
                );
                if let Some(d) = digest_of_key(&key) {
                    out.push(d);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_map_to_keys_inside_the_store() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            key_of(&d).unwrap(),
            format!("sha256/ab/{}", "ab".repeat(32))
        );
        assert_eq!(digest_of_key(&key_of(&d).unwrap()).unwrap(), d);
        for bad in [
            "sha256:../../etc",
            "sha256:",
            ":abc",
            "SHA256:ab",
            "sha256:XYZ",
            "x",
        ] {
            assert!(key_of(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_committed_blob_reads_back_whole_and_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            BlobStore::filesystem(dir.path().join("blobs"), dir.path().join("staging")).unwrap();
        let digest = format!("sha256:{}", "cd".repeat(32));
        let staged = store.staging_path("0123-abcd").unwrap();
        std::fs::write(&staged, b"hello world").unwrap();
        assert_eq!(store.size(&digest).await.unwrap(), None);
        store.commit(&digest, &staged).await.unwrap();
        assert!(!staged.exists());
        assert_eq!(store.size(&digest).await.unwrap(), Some(11));
        let read = |r| {
            let store = store.clone();
            let digest = digest.clone();
            async move {
                let chunks: Vec<Bytes> = store
                    .read(&digest, r)
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                chunks.concat()
            }
        };
        assert_eq!(read(None).await, b"hello world");
        assert_eq!(read(Some(6..11)).await, b"world");
        assert_eq!(store.list().await.unwrap(), vec![digest.clone()]);
        store.delete(&digest).await.unwrap();
        store.delete(&digest).await.unwrap();
        assert!(matches!(
            store.read(&digest, None).await,
            Err(BlobError::NotFound)
        ));
    }
}
