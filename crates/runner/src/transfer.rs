//! Artifacts between the project directory and the server: a job's uploads and its
//! dependencies' downloads, with their lines in the trace.

use std::path::Path;
use std::time::Duration;

use crate::api;
use crate::artifacts::{self, Collected, Kind};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::payload::{ArtifactSpec, Dependency};
use crate::trace::Trace;

/// How an upload or download went.
#[derive(Debug, PartialEq, Eq)]
pub enum Transfer {
    Done,
    Skipped,
    /// The job fails with this message.
    Failed(String),
}

/// Percent-encode a query value.
pub fn query_escape(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One job's transfers.
pub struct Transfers<'a> {
    pub client: &'a Client,
    pub job_id: u64,
    pub token: &'a str,
    pub project: &'a Path,
    pub tmp: &'a Path,
    pub trace: &'a Trace,
}

impl Transfers<'_> {
    fn warn(&self, text: &str) {
        self.trace
            .line(&format!("\x1b[0;33mWARNING: {text}\x1b[0;m"));
    }

    fn error(&self, text: &str) {
        self.trace.line(&format!("\x1b[31;1mERROR: {text}\x1b[0;m"));
    }

    /// Collect, pack and upload one `artifacts` entry.
    pub fn upload(&self, spec: &ArtifactSpec) -> Transfer {
        let kind = if spec.artifact_type.is_empty() {
            "archive"
        } else {
            spec.artifact_type.as_str()
        };
        self.trace.line("\x1b[32;1mUploading artifacts...\x1b[0;m");
        let untracked = if spec.untracked {
            match artifacts::untracked_files(self.project) {
                Ok(list) => list,
                Err(e) => {
                    self.warn(&format!("untracked files: {e}"));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let collected = match artifacts::collect(self.project, spec, &untracked) {
            Ok(c) => c,
            Err(e) => return Transfer::Failed(format!("collecting artifacts: {e}")),
        };
        for w in &collected.warnings {
            self.warn(w);
        }
        if !collected.has_files() {
            self.warn("no matching files");
            return Transfer::Skipped;
        }
        let count = collected
            .entries
            .values()
            .filter(|k| !matches!(k, Kind::Dir))
            .count();
        self.trace.line(&format!("{count} files found"));
        let name = match spec.name.trim() {
            "" => "artifacts".to_string(),
            n => n.replace(['/', '\\', '"'], "_"),
        };
        let format = match spec.artifact_format.as_str() {
            "" => "zip",
            f => f,
        };
        let file = self
            .tmp
            .join(format!("upload-{}", uuid::Uuid::new_v4().simple()));
        let packed = match format {
            "gzip" => pack_gzip(self.project, &collected, &file).map(|_| format!("{name}.gz")),
            "raw" => pack_raw(self.project, &collected, &file),
            "zip" => {
                artifacts::write_zip(self.project, &collected, &file).map(|_| format!("{name}.zip"))
            }
            other => {
                self.warn(&format!(
                    "artifact format {other} is not supported, using zip"
                ));
                artifacts::write_zip(self.project, &collected, &file).map(|_| format!("{name}.zip"))
            }
        };
        let filename = match packed {
            Ok(f) => f,
            Err(e) => return Transfer::Failed(format!("packing artifacts: {e}")),
        };
        let format = if matches!(format, "gzip" | "raw") {
            format
        } else {
            "zip"
        };
        let mut query = format!(
            "artifact_format={}&artifact_type={}",
            query_escape(format),
            query_escape(kind)
        );
        if !spec.expire_in.trim().is_empty() {
            query.push_str(&format!(
                "&expire_in={}",
                query_escape(spec.expire_in.trim())
            ));
        }
        let what = format!("Uploading artifacts as \"{kind}\" to coordinator...");
        let result = self.send_with_retries(&file, &filename, &query, &what);
        let _ = std::fs::remove_file(&file);
        result
    }

    fn send_with_retries(&self, file: &Path, filename: &str, query: &str, what: &str) -> Transfer {
        let mut last = String::new();
        for attempt in 0..3u64 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(attempt));
            }
            match api::upload_artifacts(self.client, self.job_id, self.token, file, filename, query)
            {
                Ok(resp) => match resp.status {
                    200 | 201 => {
                        self.trace.line(&format!("{what} {} Created", resp.status));
                        return Transfer::Done;
                    }
                    413 => {
                        self.error(&format!("{what} too large archive"));
                        return Transfer::Failed("artifacts too large".into());
                    }
                    s if s >= 500 || s == 429 => last = format!("status {s}"),
                    s => {
                        self.error(&format!("{what} {s}"));
                        return Transfer::Failed(format!("uploading artifacts failed ({s})"));
                    }
                },
                Err(e) => last = e.to_string(),
            }
            self.warn(&format!("{what} {last}, retrying"));
        }
        self.error(&format!("{what} {last}"));
        Transfer::Failed(format!("uploading artifacts failed ({last})"))
    }

    /// Download and unpack one dependency's artifacts; 404 is skipped with a note.
    pub fn download(&self, dep: &Dependency) -> Transfer {
        let label = if dep.name.is_empty() {
            format!("job {}", dep.id)
        } else {
            format!("{} ({})", dep.name, dep.id)
        };
        self.trace.line(&format!(
            "\x1b[32;1mDownloading artifacts for {label}...\x1b[0;m"
        ));
        let file = self.tmp.join(format!("dependency-{}.zip", dep.id));
        let mut last = String::new();
        for attempt in 0..3u64 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(attempt));
            }
            match api::download_artifacts(self.client, dep.id, self.token, &file) {
                Ok(200) => {
                    let res = artifacts::extract_zip(&file, self.project);
                    let _ = std::fs::remove_file(&file);
                    return match res {
                        Ok(warnings) => {
                            for w in warnings {
                                self.warn(&w);
                            }
                            self.trace.line(&format!(
                                "Downloading artifacts from coordinator... ok  id={}",
                                dep.id
                            ));
                            Transfer::Done
                        }
                        Err(e) => Transfer::Failed(format!("unpacking artifacts of {label}: {e}")),
                    };
                }
                Ok(404) => {
                    self.warn(&format!("no artifacts for {label}, skipped"));
                    return Transfer::Skipped;
                }
                Ok(s) if s >= 500 || s == 429 => last = format!("status {s}"),
                Ok(s) => {
                    self.error(&format!("Downloading artifacts for {label}... {s}"));
                    return Transfer::Failed(format!(
                        "downloading artifacts of {label} failed ({s})"
                    ));
                }
                Err(e) => last = e.to_string(),
            }
        }
        let _ = std::fs::remove_file(&file);
        self.error(&format!("Downloading artifacts for {label}... {last}"));
        Transfer::Failed(format!("downloading artifacts of {label} failed ({last})"))
    }
}

/// Every collected file as one gzip member each.
fn pack_gzip(project: &Path, collected: &Collected, dest: &Path) -> Result<()> {
    let out = std::fs::File::create(dest).map_err(|e| Error::io_path("creating", dest, e))?;
    let mut out = std::io::BufWriter::new(out);
    for (rel, kind) in &collected.entries {
        if *kind != Kind::File {
            continue;
        }
        let path = project.join(rel);
        let mut src =
            std::fs::File::open(&path).map_err(|e| Error::io_path("opening", &path, e))?;
        let mut gz = flate2::GzBuilder::new()
            .filename(rel.as_bytes())
            .write(&mut out, flate2::Compression::default());
        std::io::copy(&mut src, &mut gz).map_err(|e| Error::io_path("packing", &path, e))?;
        gz.finish()
            .map_err(|e| Error::io_path("packing", &path, e))?;
    }
    std::io::Write::flush(&mut out).map_err(|e| Error::io_path("writing", dest, e))
}

/// The one collected file as it is; returns its name.
fn pack_raw(project: &Path, collected: &Collected, dest: &Path) -> Result<String> {
    let files: Vec<&String> = collected
        .entries
        .iter()
        .filter(|(_, k)| **k == Kind::File)
        .map(|(p, _)| p)
        .collect();
    let [one] = files.as_slice() else {
        return Err(Error::Invalid(format!(
            "the raw format takes exactly one file, {} matched",
            files.len()
        )));
    };
    std::fs::copy(project.join(one), dest).map_err(|e| Error::io_path("copying", dest, e))?;
    Ok(one.rsplit('/').next().unwrap_or(one).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_query_values() {
        assert_eq!(query_escape("1 week"), "1%20week");
        assert_eq!(query_escape("a&b=c"), "a%26b%3Dc");
        assert_eq!(query_escape("archive"), "archive");
    }

    #[test]
    fn gzip_members_decode() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("junit.xml"), "<x/>").unwrap();
        let spec = ArtifactSpec {
            paths: vec!["junit.xml".into()],
            ..ArtifactSpec::default()
        };
        let c = artifacts::collect(dir.path(), &spec, &[]).unwrap();
        let dest = dir.path().join("out.gz");
        pack_gzip(dir.path(), &c, &dest).unwrap();
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&dest).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "<x/>");
        assert_eq!(
            pack_raw(dir.path(), &c, &dir.path().join("raw")).unwrap(),
            "junit.xml"
        );
    }
}
