//! The job payload of `POST /jobs/request` (201), decoded leniently: missing fields default.

use serde::{Deserialize, Deserializer};

use crate::error::Error;

/// A job as handed out by the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Job {
    pub id: u64,
    pub token: String,
    pub job_info: JobInfo,
    pub git_info: GitInfo,
    pub runner_info: RunnerInfo,
    #[serde(deserialize_with = "null_default")]
    pub variables: Vec<Variable>,
    #[serde(deserialize_with = "null_default")]
    pub steps: Vec<Step>,
    #[serde(deserialize_with = "null_default")]
    pub artifacts: Vec<ArtifactSpec>,
    #[serde(deserialize_with = "null_default")]
    pub dependencies: Vec<Dependency>,
    pub image: Option<Image>,
    pub features: Features,
}

/// `job_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobInfo {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub stage: String,
    pub project_id: u64,
    #[serde(deserialize_with = "null_default")]
    pub project_full_path: String,
    pub pipeline_id: u64,
}

/// `git_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GitInfo {
    #[serde(deserialize_with = "null_default")]
    pub repo_url: String,
    #[serde(deserialize_with = "null_default")]
    pub r#ref: String,
    #[serde(deserialize_with = "null_default")]
    pub sha: String,
    #[serde(deserialize_with = "null_default")]
    pub before_sha: String,
    #[serde(deserialize_with = "null_default")]
    pub ref_type: String,
    #[serde(deserialize_with = "null_default")]
    pub refspecs: Vec<String>,
    pub depth: i64,
}

/// `runner_info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunnerInfo {
    /// The job timeout in seconds; 0 means the runner's default.
    pub timeout: u64,
}

/// One CI/CD variable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Variable {
    #[serde(deserialize_with = "null_default")]
    pub key: String,
    #[serde(deserialize_with = "null_default")]
    pub value: String,
    pub public: bool,
    pub file: bool,
    pub masked: bool,
    pub raw: bool,
}

/// One step of the job script.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub script: Vec<String>,
    pub timeout: u64,
    #[serde(deserialize_with = "null_default")]
    pub when: String,
    pub allow_failure: bool,
}

/// One `artifacts` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactSpec {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    pub untracked: bool,
    #[serde(deserialize_with = "null_default")]
    pub paths: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub exclude: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub when: String,
    #[serde(deserialize_with = "null_default")]
    pub artifact_type: String,
    #[serde(deserialize_with = "null_default")]
    pub artifact_format: String,
    #[serde(deserialize_with = "null_default")]
    pub expire_in: String,
}

/// A job whose artifacts this job downloads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    pub id: u64,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub token: String,
    pub artifacts_file: Option<ArtifactsFile>,
}

/// `dependencies[].artifacts_file`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactsFile {
    #[serde(deserialize_with = "null_default")]
    pub filename: String,
    pub size: u64,
}

/// `image` (the shell executor only reports it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Image {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
}

/// `features`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Features {
    #[serde(deserialize_with = "null_default")]
    pub failure_reasons: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub token_mask_prefixes: Vec<String>,
}

/// Treat an explicit `null` like a missing field.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Job {
    /// Decode a job payload.
    pub fn parse(body: &[u8]) -> crate::error::Result<Job> {
        let value: serde_json::Value = serde_json::from_slice(body)?;
        if !value.is_object() {
            return Err(Error::Invalid("the job payload is not an object".into()));
        }
        let job: Job = serde_json::from_value(value)?;
        if job.id == 0 || job.token.is_empty() {
            return Err(Error::Invalid("the job payload has no id or token".into()));
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_decoding() {
        let job = Job::parse(
            br#"{"id": 7, "token": "t", "variables": null, "git_info": {"depth": 20, "refspecs": null},
                "steps": [{"name": "script", "script": ["echo hi"], "timeout": 60, "when": "on_success"}],
                "image": null, "unknown": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(job.id, 7);
        assert_eq!(job.git_info.depth, 20);
        assert!(job.variables.is_empty() && job.git_info.refspecs.is_empty());
        assert_eq!(job.steps[0].script, vec!["echo hi"]);
        assert!(job.image.is_none());
        assert!(Job::parse(b"[1]").is_err());
        assert!(Job::parse(br#"{"id": 1}"#).is_err());
    }
}
