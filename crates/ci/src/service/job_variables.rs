//! The variables a job runs with, as the runner payload carries them: GitLab's predefined
//! `CI_*` variables (the job token among them, masked), the CI file's variables, then the
//! instance's, groups' and project's CI/CD variables, then the pipeline's own — later ones win,
//! as in GitLab's precedence.

use super::CiError;
use crate::plan::PlannedJob;
use tinforge_store::ci::jobs::JobRow;
use tinforge_store::ci::pipelines::{self, PipelineRow};
use tinforge_store::ci::variables;
use tinforge_store::{DbConnection, projects, protected_branches, users};

/// Where the server is, as jobs reach it.
#[derive(Debug, Clone)]
pub struct ServerUrls {
    /// `http://host:port`, no trailing slash.
    pub external_url: String,
    /// `host:port` as image names carry it.
    pub registry_host: String,
}

/// One variable of the payload (`{key, value, public, masked, file, raw}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobVariable {
    pub key: String,
    pub value: String,
    pub public: bool,
    pub masked: bool,
    pub file: bool,
    pub raw: bool,
}

impl JobVariable {
    fn public(key: &str, value: impl Into<String>) -> JobVariable {
        JobVariable {
            key: key.to_string(),
            value: value.into(),
            public: true,
            masked: false,
            file: false,
            raw: false,
        }
    }

    fn secret(key: &str, value: &str) -> JobVariable {
        JobVariable {
            public: false,
            masked: true,
            ..JobVariable::public(key, value)
        }
    }
}

/// `main` → `main`, `feature/Foo_bar` → `feature-foo-bar` (GitLab's `*_SLUG`: lowercase,
/// non-alphanumerics to `-`, at most 63 characters, no `-` at either end).
pub fn slug(text: &str) -> String {
    let lowered: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let cut: String = lowered.chars().take(63).collect();
    cut.trim_matches('-').to_string()
}

/// Every variable of `job`, running with `token`, in precedence order with duplicates removed
/// (the last definition of a key wins).
pub fn job_variables(
    conn: &mut DbConnection,
    job: &JobRow,
    pipeline: &PipelineRow,
    token: &str,
    urls: &ServerUrls,
) -> Result<Vec<JobVariable>, CiError> {
    let project = projects::find(conn, job.project_id)?.ok_or(CiError::NotFound)?;
    let spec: Option<PlannedJob> = serde_json::from_str(&job.spec).ok();
    let server = urls.external_url.trim_end_matches('/');
    let (protocol, host_port) = server.split_once("://").unwrap_or(("http", server));
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.to_string()),
        None => (
            host_port.to_string(),
            if protocol == "https" { "443" } else { "80" }.to_string(),
        ),
    };
    let project_url = format!("{server}/{}", project.full_path);
    let namespace = project
        .full_path
        .rsplit_once('/')
        .map(|(n, _)| n.to_string())
        .unwrap_or_default();
    let repo_url = format!(
        "{protocol}://gitlab-ci-token:{token}@{host_port}/{}.git",
        project.full_path
    );
    let mut out = vec![
        JobVariable::public("CI", "true"),
        JobVariable::public("GITLAB_CI", "true"),
        JobVariable::public("CI_SERVER", "yes"),
        JobVariable::public("CI_SERVER_URL", server),
        JobVariable::public("CI_SERVER_HOST", host.clone()),
        JobVariable::public("CI_SERVER_PORT", port),
        JobVariable::public("CI_SERVER_PROTOCOL", protocol),
        JobVariable::public("CI_SERVER_FQDN", host_port),
        JobVariable::public("CI_SERVER_NAME", "tinforge"),
        JobVariable::public("CI_SERVER_VERSION", env!("CARGO_PKG_VERSION")),
        JobVariable::public("CI_API_V4_URL", format!("{server}/api/v4")),
        JobVariable::public("CI_API_GRAPHQL_URL", format!("{server}/api/graphql")),
        JobVariable::public("CI_JOB_ID", job.id.to_string()),
        JobVariable::public("CI_JOB_NAME", job.name.clone()),
        JobVariable::public("CI_JOB_NAME_SLUG", slug(&job.name)),
        JobVariable::public("CI_JOB_STAGE", job.stage.clone()),
        JobVariable::public("CI_JOB_URL", format!("{project_url}/-/jobs/{}", job.id)),
        JobVariable::public(
            "CI_JOB_STARTED_AT",
            job.started_at
                .map(|t| {
                    t.and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                })
                .unwrap_or_default(),
        ),
        JobVariable::secret("CI_JOB_TOKEN", token),
        JobVariable::public("CI_NODE_TOTAL", "1"),
        JobVariable::public("CI_PIPELINE_ID", pipeline.id.to_string()),
        JobVariable::public("CI_PIPELINE_IID", pipeline.iid.to_string()),
        JobVariable::public("CI_PIPELINE_SOURCE", pipeline.source.clone()),
        JobVariable::public(
            "CI_PIPELINE_URL",
            format!("{project_url}/-/pipelines/{}", pipeline.id),
        ),
        JobVariable::public(
            "CI_PIPELINE_CREATED_AT",
            pipeline
                .created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        JobVariable::public("CI_COMMIT_SHA", pipeline.sha.clone()),
        JobVariable::public(
            "CI_COMMIT_SHORT_SHA",
            pipeline.sha.chars().take(8).collect::<String>(),
        ),
        JobVariable::public("CI_COMMIT_BEFORE_SHA", pipeline.before_sha.clone()),
        JobVariable::public("CI_COMMIT_REF_NAME", pipeline.ref_name.clone()),
        JobVariable::public("CI_COMMIT_REF_SLUG", slug(&pipeline.ref_name)),
        JobVariable::public("CI_DEFAULT_BRANCH", project.default_branch.clone()),
        JobVariable::public("CI_CONFIG_PATH", super::create::CI_FILE),
        JobVariable::public("CI_PROJECT_ID", project.id.to_string()),
        JobVariable::public("CI_PROJECT_NAME", project.path.clone()),
        JobVariable::public("CI_PROJECT_TITLE", project.name.clone()),
        JobVariable::public("CI_PROJECT_PATH", project.full_path.clone()),
        JobVariable::public("CI_PROJECT_PATH_SLUG", slug(&project.full_path)),
        JobVariable::public("CI_PROJECT_NAMESPACE", namespace),
        JobVariable::public("CI_PROJECT_URL", project_url.clone()),
        JobVariable::public("CI_PROJECT_VISIBILITY", project.visibility.clone()),
        JobVariable::public("CI_REGISTRY", urls.registry_host.clone()),
        JobVariable::public(
            "CI_REGISTRY_IMAGE",
            format!(
                "{}/{}",
                urls.registry_host,
                project.full_path.to_lowercase()
            ),
        ),
        JobVariable::public("CI_REGISTRY_USER", "gitlab-ci-token"),
        JobVariable::secret("CI_REGISTRY_PASSWORD", token),
        JobVariable {
            public: false,
            ..JobVariable::public("CI_REPOSITORY_URL", repo_url)
        },
    ];
    let protected_ref = !pipeline.tag
        && protected_branches::list(conn, project.id)?
            .iter()
            .any(|p| protected_branches::matches(&p.name, &pipeline.ref_name));
    out.push(JobVariable::public(
        "CI_COMMIT_REF_PROTECTED",
        protected_ref.to_string(),
    ));
    if pipeline.tag {
        out.push(JobVariable::public(
            "CI_COMMIT_TAG",
            pipeline.ref_name.clone(),
        ));
    } else if pipeline.source != "merge_request_event" {
        out.push(JobVariable::public(
            "CI_COMMIT_BRANCH",
            pipeline.ref_name.clone(),
        ));
    }
    if let Some(user) = match pipeline.user_id {
        Some(id) => users::find(conn, id)?,
        None => None,
    } {
        out.push(JobVariable::public("GITLAB_USER_ID", user.id.to_string()));
        out.push(JobVariable::public(
            "GITLAB_USER_LOGIN",
            user.username.clone(),
        ));
        out.push(JobVariable::public("GITLAB_USER_EMAIL", user.email.clone()));
        out.push(JobVariable::public("GITLAB_USER_NAME", user.name.clone()));
    }
    if let Some(spec) = &spec {
        for (k, v) in &spec.variables {
            out.push(JobVariable::public(k, v.clone()));
        }
    }
    for v in variables::for_pipeline(conn, project.id, protected_ref)? {
        out.push(JobVariable {
            key: v.key,
            value: v.value,
            public: false,
            masked: v.masked,
            file: v.variable_type == "file",
            raw: v.raw,
        });
    }
    for (k, v, kind) in pipelines::variables(conn, pipeline.id)? {
        out.push(JobVariable {
            file: kind == "file",
            public: false,
            ..JobVariable::public(&k, v)
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut deduped: Vec<JobVariable> = out
        .into_iter()
        .rev()
        .filter(|v| seen.insert(v.key.clone()))
        .collect();
    deduped.reverse();
    Ok(deduped)
}
