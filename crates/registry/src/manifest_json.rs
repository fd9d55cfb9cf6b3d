//! Reading a pushed manifest: its media type (OCI and Docker v2 images, OCI image indexes and
//! Docker manifest lists), the blobs and manifests it names, its `subject` and artifact type.
//! The bytes themselves are stored untouched; unknown fields are ignored.

use crate::digest::Digest;
use crate::error::RegistryError;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Layers that are never pushed to a registry (they carry `urls` instead).
const FOREIGN_LAYERS: [&str; 3] = [
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// What the registry keeps of a manifest besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    pub media_type: String,
    /// The manifest's `artifactType`, else (for images) the config's media type.
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    pub config_digest: Option<String>,
    pub blobs: Vec<String>,
    pub children: Vec<String>,
    pub annotations: Option<String>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::manifest_invalid(message)
}

fn checked(d: &Descriptor) -> Result<String, RegistryError> {
    Digest::parse(&d.digest)
        .map(|d| d.to_string())
        .map_err(|e| invalid(format!("descriptor digest: {e}")))?;
    if d.size < 0 {
        return Err(invalid("descriptor size is negative"));
    }
    Ok(d.digest.clone())
}

/// Parses a manifest sent with `content_type` (without parameters).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the manifest is not valid JSON: {e}")))?;
    if doc.schema_version != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let header = content_type.filter(|t| !t.is_empty() && *t != "application/octet-stream");
    let media_type = match (doc.media_type.as_deref(), header) {
        (Some(body_type), Some(h)) if body_type != h => {
            return Err(invalid(format!(
                "the manifest says mediaType {body_type}, the request says {h}"
            )));
        }
        (Some(t), _) | (None, Some(t)) => t.to_string(),
        (None, None) if doc.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    let subject = doc.subject.as_ref().map(checked).transpose()?;
    let annotations = doc
        .annotations
        .as_ref()
        .filter(|a| !a.is_empty())
        .map(|a| serde_json::to_string(a).unwrap_or_default());
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = doc
                .config
                .as_ref()
                .ok_or_else(|| invalid("an image manifest needs a config"))?;
            let config_digest = checked(config)?;
            let mut blobs = vec![config_digest.clone()];
            for layer in doc.layers.as_deref().unwrap_or_default() {
                let digest = checked(layer)?;
                let foreign = !layer.urls.is_empty()
                    || layer
                        .media_type
                        .as_deref()
                        .is_some_and(|t| FOREIGN_LAYERS.contains(&t));
                if !foreign && !blobs.contains(&digest) {
                    blobs.push(digest);
                }
            }
            Ok(ParsedManifest {
                artifact_type: doc.artifact_type.or(config.media_type.clone()),
                media_type,
                subject,
                config_digest: Some(config_digest),
                blobs,
                children: Vec::new(),
                annotations,
            })
        }
        OCI_INDEX | DOCKER_LIST => {
            let mut children = Vec::new();
            for m in doc
                .manifests
                .as_deref()
                .ok_or_else(|| invalid("an index needs manifests"))?
            {
                let digest = checked(m)?;
                if !children.contains(&digest) {
                    children.push(digest);
                }
            }
            Ok(ParsedManifest {
                media_type,
                artifact_type: doc.artifact_type,
                subject,
                config_digest: None,
                blobs: Vec::new(),
                children,
                annotations,
            })
        }
        other => Err(invalid(format!("unsupported manifest media type {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    const D2: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn images_indexes_and_their_references() {
        let image = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":11}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{D2}","size":2}},{{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"{D2}","size":2,"urls":["http://x"]}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":3}},"newField":1}}"#
        );
        let p = parse(Some(OCI_MANIFEST), image.as_bytes()).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(p.blobs, vec![D1.to_string(), D2.to_string()]);
        assert_eq!(p.subject.as_deref(), Some(D1));
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","artifactType":"x/y","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":1}}]}}"#
        );
        let p = parse(Some(OCI_INDEX), index.as_bytes()).unwrap();
        assert_eq!(p.children, vec![D1.to_string()]);
        assert_eq!(p.artifact_type.as_deref(), Some("x/y"));
        assert!(parse(Some(OCI_MANIFEST), index.as_bytes()).is_err());
    }

    #[test]
    fn bad_manifests_are_refused() {
        for bad in [
            "not json",
            r#"{"schemaVersion":1}"#,
            r#"{"schemaVersion":2,"mediaType":"application/x-unknown"}"#,
            r#"{"schemaVersion":2,"config":{"digest":"sha256:nothex","size":1}}"#,
            r#"{"schemaVersion":2,"layers":[]}"#,
        ] {
            assert!(parse(None, bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
