//! From a checked `CiConfig` and what triggered the pipeline to the list of jobs to create:
//! `workflow:rules`, each job's `rules` or `only`/`except`, `needs` on removed jobs, empty stages dropped,
//! and the runner steps of each job.

use crate::config::{CiConfig, ConfigError, JobSpec, Rule};
use crate::permissions::{self, PermissionSet};
use crate::refs::{RefFilter, RefSubject};
use crate::status::{PipelineSource, When};
use crate::variables::VariableList;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

pub use crate::config::ArtifactsSpec;

/// What started the pipeline, and the variables it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineContext {
    pub source: PipelineSource,
    /// Branch or tag name (for merge request pipelines, the source branch).
    pub ref_name: String,
    pub is_tag: bool,
    pub sha: String,
    pub default_branch: Option<String>,
    /// Project, group, instance and pipeline variables; the predefined ones override these.
    pub variables: BTreeMap<String, String>,
}

/// The names `predefined` may set. A caller's variable with one of these names is ignored even when
/// `predefined` leaves it out (a tag pipeline has no `CI_COMMIT_BRANCH`, and none can be passed in).
pub const PREDEFINED_NAMES: &[&str] = &[
    "CI",
    "GITLAB_CI",
    "CI_PIPELINE_SOURCE",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_REF_SLUG",
    "CI_COMMIT_SHA",
    "CI_COMMIT_SHORT_SHA",
    "CI_DEFAULT_BRANCH",
    "CI_COMMIT_TAG",
    "CI_COMMIT_BRANCH",
];

impl PipelineContext {
    /// The predefined variables that rules depend on: `CI_COMMIT_BRANCH` (branch pipelines that are not
    /// merge request pipelines), `CI_COMMIT_TAG` (tags), `CI_COMMIT_REF_NAME`, `CI_COMMIT_REF_SLUG`,
    /// `CI_COMMIT_SHA`, `CI_COMMIT_SHORT_SHA`, `CI_PIPELINE_SOURCE`, `CI_DEFAULT_BRANCH`, `CI`, `GITLAB_CI`.
    pub fn predefined(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let mut set = |name: &str, value: &str| {
            vars.insert(name.to_string(), value.to_string());
        };
        set("CI", "true");
        set("GITLAB_CI", "true");
        set("CI_PIPELINE_SOURCE", self.source.as_str());
        set("CI_COMMIT_REF_NAME", &self.ref_name);
        set("CI_COMMIT_REF_SLUG", &ref_slug(&self.ref_name));
        set("CI_COMMIT_SHA", &self.sha);
        set(
            "CI_COMMIT_SHORT_SHA",
            &self.sha.chars().take(8).collect::<String>(),
        );
        if let Some(default_branch) = &self.default_branch {
            set("CI_DEFAULT_BRANCH", default_branch);
        }
        if self.is_tag {
            set("CI_COMMIT_TAG", &self.ref_name);
        } else if self.source != PipelineSource::MergeRequestEvent {
            set("CI_COMMIT_BRANCH", &self.ref_name);
        }
        vars
    }

    /// The caller's variables without the predefined names.
    fn caller_variables(&self) -> BTreeMap<String, String> {
        self.variables
            .iter()
            .filter(|(name, _)| !PREDEFINED_NAMES.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    fn subject(&self) -> RefSubject<'_> {
        RefSubject {
            source: self.source,
            ref_name: &self.ref_name,
            is_tag: self.is_tag,
        }
    }
}

/// GitLab's `CI_COMMIT_REF_SLUG`: lowercased, anything but `a-z0-9` replaced by `-`, at most 63 bytes,
/// no leading or trailing `-`.
pub fn ref_slug(ref_name: &str) -> String {
    let replaced: String = ref_name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    replaced.trim_matches('-').to_string()
}

/// The outcome of planning.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanResult {
    Planned(Plan),
    /// `workflow:rules` refused the pipeline, or no job (outside `.pre`/`.post`) was added: create nothing.
    Filtered,
    /// The jobs that were added do not fit together (a `needs` on a job that rules removed).
    Invalid(ConfigError),
}

/// The jobs to create, grouped by the stages that have jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub stages: Vec<String>,
    /// Sorted by stage, then file order.
    pub jobs: Vec<PlannedJob>,
}

/// One job to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedJob {
    pub name: String,
    pub stage: String,
    /// Index into `Plan::stages`.
    pub stage_idx: i32,
    /// `None`: stage order; `Some(empty)`: start at once.
    pub needs: Option<Vec<Need>>,
    pub dependencies: Option<Vec<String>>,
    pub when: When,
    pub allow_failure: bool,
    pub steps: Vec<Step>,
    /// File top-level, then `workflow:rules`, job-level and rule variables; later wins.
    pub variables: Vec<(String, String)>,
    pub timeout_seconds: Option<i64>,
    pub tags: Vec<String>,
    pub artifacts: Option<ArtifactsSpec>,
    pub image: Option<String>,
    pub permissions: PermissionSet,
}

/// A `needs:` entry that survived planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    pub job: String,
    pub artifacts: bool,
}

/// A runner step (payload `steps[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `"script"` or `"after_script"`.
    pub name: String,
    pub script: Vec<String>,
    /// on_success for `script`, always for `after_script`.
    pub when: When,
    pub allow_failure: bool,
    pub timeout_seconds: Option<i64>,
}

/// How a job enters the pipeline, once its rules or filters are decided.
struct Admission {
    when: When,
    allow_failure: bool,
    rule_variables: Vec<(String, String)>,
    /// Every variable of the job, filled in once it is admitted.
    variables: Vec<(String, String)>,
}

/// Plans a pipeline for `ctx` from `config`.
pub fn plan(config: &CiConfig, ctx: &PipelineContext) -> PlanResult {
    let predefined = ctx.predefined();
    let caller = ctx.caller_variables();
    let file_variables: BTreeMap<String, String> = config.variables.iter().cloned().collect();

    let mut workflow_variables = Vec::new();
    if let Some(rules) = &config.workflow_rules {
        let lookup = layered([&file_variables, &caller, &predefined]);
        match first_match(rules, &lookup) {
            Some(rule) if rule.when != Some(When::Never) => {
                workflow_variables = rule.variables.clone();
            }
            _ => return PlanResult::Filtered,
        }
    }

    let mut admitted: Vec<(&JobSpec, Admission)> = Vec::new();
    for job in &config.jobs {
        let mut variables = VariableList::new();
        variables.extend(
            config
                .variables
                .iter()
                .filter(|(name, _)| job.inherit_variables.includes(name)),
        );
        variables.extend(&workflow_variables);
        variables.extend(&job.variables);
        // Predefined variables win over the caller's, which win over the file's.
        let lookup = |name: &str| {
            predefined
                .get(name)
                .or_else(|| caller.get(name))
                .cloned()
                .or_else(|| variables.get(name).map(str::to_string))
        };
        if let Some(mut admission) = admit(job, ctx, &lookup) {
            variables.extend(&admission.rule_variables);
            admission.variables = variables.into_vec();
            admitted.push((job, admission));
        }
    }

    let present: HashSet<&str> = admitted.iter().map(|(job, _)| job.name.as_str()).collect();
    let mut errors = Vec::new();
    let stage_position: HashMap<&str, usize> = config
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let used_stages: Vec<String> = config
        .stages
        .iter()
        .filter(|stage| admitted.iter().any(|(job, _)| &job.stage == *stage))
        .cloned()
        .collect();
    if used_stages.iter().all(|s| s == ".pre" || s == ".post") {
        return PlanResult::Filtered;
    }

    let mut jobs = Vec::with_capacity(admitted.len());
    for (job, admission) in admitted {
        let needs = job.needs.as_ref().map(|needs| {
            needs
                .iter()
                .filter(|need| {
                    if present.contains(need.job.as_str()) {
                        return true;
                    }
                    if !need.optional {
                        errors.push(format!(
                            "'{}' job needs '{}' job, but '{}' is not in any previous stage",
                            job.name, need.job, need.job
                        ));
                    }
                    false
                })
                .map(|need| Need {
                    job: need.job.clone(),
                    artifacts: need.artifacts,
                })
                .collect::<Vec<_>>()
        });
        let dependencies = job.dependencies.as_ref().map(|deps| {
            deps.iter()
                .filter(|d| present.contains(d.as_str()))
                .cloned()
                .collect()
        });
        let stage_idx = used_stages
            .iter()
            .position(|s| *s == job.stage)
            .and_then(|i| i32::try_from(i).ok())
            .unwrap_or_default();
        jobs.push(PlannedJob {
            name: job.name.clone(),
            stage: job.stage.clone(),
            stage_idx,
            needs,
            dependencies,
            when: admission.when,
            allow_failure: admission.allow_failure,
            steps: steps_for(job),
            variables: admission.variables,
            timeout_seconds: job.timeout_seconds,
            tags: job.tags.clone(),
            artifacts: job.artifacts.clone(),
            image: job.image.as_ref().map(|image| image.name.clone()),
            permissions: permissions::effective(config, job),
        });
    }
    if !errors.is_empty() {
        return PlanResult::Invalid(ConfigError { errors });
    }
    jobs.sort_by_key(|job| {
        stage_position
            .get(job.stage.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    PlanResult::Planned(Plan {
        stages: used_stages,
        jobs,
    })
}

/// Decides whether `job` joins the pipeline, and with which `when` and `allow_failure`.
fn admit(
    job: &JobSpec,
    ctx: &PipelineContext,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<Admission> {
    if let Some(rules) = &job.rules {
        let rule = first_match(rules, lookup)?;
        let when = rule.when.or(job.when).unwrap_or(When::OnSuccess);
        if when == When::Never {
            return None;
        }
        // A job-level `when: manual` defaults to allow_failure true; one from a rule to false.
        let manual_from_job = when == When::Manual && rule.when.is_none();
        let allow_failure = rule
            .allow_failure
            .or(job.allow_failure)
            .unwrap_or(manual_from_job);
        return Some(Admission {
            when,
            allow_failure,
            rule_variables: rule.variables.clone(),
            variables: Vec::new(),
        });
    }
    let default_only = RefFilter::default_only();
    let only = job.only.as_ref().unwrap_or(&default_only);
    let subject = ctx.subject();
    if !only.matches_all(&subject, lookup) {
        return None;
    }
    if job
        .except
        .as_ref()
        .is_some_and(|except| except.matches_any(&subject, lookup))
    {
        return None;
    }
    let when = job.when.unwrap_or(When::OnSuccess);
    if when == When::Never {
        return None;
    }
    Some(Admission {
        when,
        allow_failure: job.allow_failure.unwrap_or(when == When::Manual),
        rule_variables: Vec::new(),
        variables: Vec::new(),
    })
}

fn first_match<'r>(rules: &'r [Rule], lookup: &dyn Fn(&str) -> Option<String>) -> Option<&'r Rule> {
    rules.iter().find(|rule| rule.matches(lookup))
}

/// A variable lookup over maps where later maps win.
fn layered<'a, const N: usize>(
    layers: [&'a BTreeMap<String, String>; N],
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        layers
            .iter()
            .rev()
            .find_map(|layer| layer.get(name).cloned())
    }
}

/// GitLab's runner steps: `script` is before_script + script; `after_script` only when it has lines.
fn steps_for(job: &JobSpec) -> Vec<Step> {
    let mut steps = vec![Step {
        name: "script".to_string(),
        script: job
            .before_script
            .iter()
            .chain(&job.script)
            .cloned()
            .collect(),
        when: When::OnSuccess,
        allow_failure: false,
        timeout_seconds: job.timeout_seconds,
    }];
    if !job.after_script.is_empty() {
        steps.push(Step {
            name: "after_script".to_string(),
            script: job.after_script.clone(),
            when: When::Always,
            allow_failure: true,
            timeout_seconds: job.timeout_seconds,
        });
    }
    steps
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
