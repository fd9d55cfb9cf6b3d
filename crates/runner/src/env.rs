//! The environment of a job's scripts: a few host variables, the job's variables (expanded
//! unless raw, file variables as files) and the runner's own `CI_*` values.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::payload::Job;

/// Host variables a job keeps.
const KEPT: &[&str] = &["PATH", "HOME", "LANG"];

/// Directories of one job.
pub struct Dirs<'a> {
    pub builds: &'a Path,
    pub project: &'a Path,
    pub tmp: &'a Path,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Expand `$NAME`, `${NAME}` and `$$` against `lookup`; unknown names become empty.
pub fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if valid_key(&inner[..end]) => {
                    out.push_str(&lookup(&inner[..end]).unwrap_or_default());
                    rest = &inner[end + 1..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                out.push_str(&lookup(&after[..len]).unwrap_or_default());
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The job's variables (in payload order) and the runner's, as `(key, value)` pairs.
pub fn build(job: &Job, dirs: &Dirs<'_>) -> Result<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String, bool)> = Vec::new();
    for key in KEPT {
        if let Ok(v) = std::env::var(key) {
            pairs.push((key.to_string(), v, true));
        }
    }
    if !pairs.iter().any(|(k, _, _)| k == "PATH") {
        pairs.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into(), true));
    }
    let fallbacks = [
        ("CI", "true".to_string()),
        ("GITLAB_CI", "true".to_string()),
        ("CI_JOB_ID", job.id.to_string()),
        ("CI_JOB_TOKEN", job.token.clone()),
        ("CI_JOB_NAME", job.job_info.name.clone()),
        ("CI_JOB_STAGE", job.job_info.stage.clone()),
        ("CI_PROJECT_ID", job.job_info.project_id.to_string()),
        ("CI_PROJECT_PATH", job.job_info.project_full_path.clone()),
        ("CI_PIPELINE_ID", job.job_info.pipeline_id.to_string()),
        ("CI_COMMIT_SHA", job.git_info.sha.clone()),
        ("CI_COMMIT_BEFORE_SHA", job.git_info.before_sha.clone()),
        ("CI_COMMIT_REF_NAME", job.git_info.r#ref.clone()),
    ];
    for (key, value) in fallbacks {
        if !job.variables.iter().any(|v| v.key == key) {
            pairs.push((key.to_string(), value, true));
        }
    }
    for var in &job.variables {
        if !valid_key(&var.key) {
            continue;
        }
        let mut value = var.value.replace('\0', "");
        if var.file {
            let path = dirs.tmp.join(&var.key);
            write_private(&path, value.as_bytes())?;
            value = path.to_string_lossy().into_owned();
            pairs.push((var.key.clone(), value, true));
        } else {
            pairs.push((var.key.clone(), value, var.raw));
        }
    }
    let runner = [
        (
            "CI_PROJECT_DIR",
            dirs.project.to_string_lossy().into_owned(),
        ),
        ("CI_BUILDS_DIR", dirs.builds.to_string_lossy().into_owned()),
        ("CI_RUNNER_VERSION", crate::VERSION.to_string()),
        (
            "CI_RUNNER_EXECUTABLE_ARCH",
            format!("{}/{}", std::env::consts::OS, crate::arch()),
        ),
        ("CI_SERVER", "yes".to_string()),
    ];
    for (key, value) in runner {
        pairs.push((key.to_string(), value, true));
    }
    // Later values win, as they would in a shell.
    let raw: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect();
    let lookup = |name: &str| raw.get(name).cloned();
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value, is_raw) in pairs {
        let value = if is_raw {
            value
        } else {
            expand(&value, &lookup)
        };
        out.retain(|(k, _)| *k != key);
        out.push((key, value));
    }
    Ok(out)
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io_path("creating", path, e))?;
    f.write_all(data)
        .map_err(|e| Error::io_path("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Variable;

    #[test]
    fn expansion() {
        let lookup = |k: &str| match k {
            "A" => Some("1".to_string()),
            "LONG_NAME" => Some("x".to_string()),
            _ => None,
        };
        assert_eq!(
            expand("$A-${A}-$$A-$LONG_NAME/$NOPE.", &lookup),
            "1-1-$A-x/."
        );
        assert_eq!(
            expand("cost $ 5 ${bad-key} end$", &lookup),
            "cost $ 5 ${bad-key} end$"
        );
    }

    #[test]
    fn job_environment() {
        let dir = tempfile::tempdir().unwrap();
        let var = |key: &str, value: &str, file: bool, raw: bool| Variable {
            key: key.into(),
            value: value.into(),
            file,
            raw,
            ..Variable::default()
        };
        let job = Job {
            id: 9,
            variables: vec![
                var("GREETING", "hi", false, false),
                var("MSG", "$GREETING there", false, false),
                var("RAW", "$GREETING", false, true),
                var("CFG", "file body", true, false),
                var("bad=key", "x", false, false),
                var("CI_PROJECT_DIR", "/wrong", false, false),
            ],
            ..Job::default()
        };
        let dirs = Dirs {
            builds: dir.path(),
            project: &dir.path().join("9"),
            tmp: dir.path(),
        };
        let env: HashMap<_, _> = build(&job, &dirs).unwrap().into_iter().collect();
        assert_eq!(env["MSG"], "hi there");
        assert_eq!(env["RAW"], "$GREETING");
        assert_eq!(std::fs::read_to_string(&env["CFG"]).unwrap(), "file body");
        assert!(!env.contains_key("bad=key"));
        assert_eq!(
            env["CI_PROJECT_DIR"],
            dir.path().join("9").to_string_lossy()
        );
        assert_eq!(env["CI_SERVER"], "yes");
        assert_eq!(env["CI_JOB_ID"], "9");
        assert!(env.contains_key("PATH"));
    }
}
