//! `.gitlab-ci.yml` to `CiConfig`: the top-level keywords, hidden templates and `extends`, then the
//! checks that span jobs (stages exist, `needs` point backwards and form no cycle). Errors read like GitLab's.

use crate::expr::Expr;
use crate::extends;
use crate::job;
use crate::permissions::{self, PermissionSet};
use crate::refs::RefFilter;
use crate::status::When;
use crate::yaml::{self, scalar_text};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;
use std::fmt;

/// Largest CI file accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// Most visible jobs one file may define.
pub const MAX_JOBS: usize = 500;
/// The stages when a file lists none.
pub const DEFAULT_STAGES: [&str; 5] = [".pre", "build", "test", "deploy", ".post"];
/// Most variables all jobs together may carry (top-level ones count once per job), which bounds the plan.
pub const MAX_TOTAL_VARIABLES: usize = 100_000;
/// The message for a file without visible jobs.
pub const NO_JOBS_MESSAGE: &str = "jobs config should contain at least one visible job";

/// Why a CI file was refused. `Display` joins the messages with ", " (the pipeline's `yaml_errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<String>,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            errors: vec![message.into()],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join(", "))
    }
}

impl std::error::Error for ConfigError {}

/// A parsed and checked CI file.
#[derive(Debug, Clone, PartialEq)]
pub struct CiConfig {
    /// Always starts with `.pre` and ends with `.post`.
    pub stages: Vec<String>,
    /// Top-level `variables:`, in file order.
    pub variables: Vec<(String, String)>,
    pub workflow_rules: Option<Vec<Rule>>,
    /// Top-level `permissions:` (the default for jobs without their own).
    pub permissions: Option<PermissionSet>,
    /// Visible jobs, in file order.
    pub jobs: Vec<JobSpec>,
}

impl CiConfig {
    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|job| job.name == name)
    }
}

/// One `rules:` entry (of a job or of `workflow:`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub if_expr: Option<Expr>,
    pub when: Option<When>,
    pub allow_failure: Option<bool>,
    pub variables: Vec<(String, String)>,
}

impl Rule {
    /// True when the rule's `if:` holds (a rule without `if:` always matches).
    pub fn matches(&self, vars: &dyn Fn(&str) -> Option<String>) -> bool {
        self.if_expr.as_ref().is_none_or(|expr| expr.eval(vars))
    }
}

/// One `needs:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedSpec {
    pub job: String,
    /// Download the job's artifacts (default true).
    pub artifacts: bool,
    /// Drop the need when the job is not in the pipeline instead of failing.
    pub optional: bool,
}

/// `image:` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub name: String,
    pub entrypoint: Option<Vec<String>>,
}

/// `artifacts:` of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactsSpec {
    pub name: Option<String>,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    pub untracked: bool,
    /// on_success (default), on_failure or always.
    pub when: When,
    /// `None` means never expire; 30 days when `expire_in` is not given.
    pub expire_in_seconds: Option<i64>,
}

/// Which top-level variables a job inherits (`inherit:variables`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InheritVariables {
    All,
    Nothing,
    Only(Vec<String>),
}

impl InheritVariables {
    /// True when the top-level variable `name` reaches the job.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            InheritVariables::All => true,
            InheritVariables::Nothing => false,
            InheritVariables::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// A job with `extends` resolved and `default:` applied.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub stage: String,
    pub script: Vec<String>,
    pub before_script: Vec<String>,
    pub after_script: Vec<String>,
    /// Job-level `variables:`, in file order.
    pub variables: Vec<(String, String)>,
    pub inherit_variables: InheritVariables,
    pub rules: Option<Vec<Rule>>,
    pub only: Option<RefFilter>,
    pub except: Option<RefFilter>,
    /// Job-level `when:`, when given.
    pub when: Option<When>,
    /// Job-level `allow_failure:`, when given as a boolean (`{exit_codes}` gives `Some(false)`).
    pub allow_failure: Option<bool>,
    /// `allow_failure:exit_codes`.
    pub allow_failure_exit_codes: Vec<i64>,
    /// `None`: stage order; `Some(empty)`: start at once.
    pub needs: Option<Vec<NeedSpec>>,
    pub dependencies: Option<Vec<String>>,
    pub timeout_seconds: Option<i64>,
    pub tags: Vec<String>,
    pub artifacts: Option<ArtifactsSpec>,
    pub image: Option<ImageSpec>,
    pub interruptible: bool,
    /// `retry:` (or `retry:max`), 0 when not given.
    pub retry_max: u32,
    /// Job-level `permissions:`, replacing the top-level block entirely.
    pub permissions: Option<PermissionSet>,
    /// `environment:` name, kept for display.
    pub environment: Option<String>,
    pub coverage: Option<String>,
}

/// What `default:` (and the legacy top-level keywords) give every job.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub before_script: Option<Vec<String>>,
    pub after_script: Option<Vec<String>>,
    pub image: Option<ImageSpec>,
    pub timeout_seconds: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub interruptible: Option<bool>,
    pub retry_max: Option<u32>,
    pub artifacts: Option<ArtifactsSpec>,
}

/// Top-level keys that are keywords, not jobs.
const ROOT_KEYWORDS: &[&str] = &[
    "stages",
    "types",
    "variables",
    "default",
    "before_script",
    "after_script",
    "image",
    "services",
    "cache",
    "workflow",
    "include",
    "permissions",
];

/// Parses and checks a CI file.
pub fn parse(yaml: &str) -> Result<CiConfig, ConfigError> {
    if yaml.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(format!(
            "The configuration is too large ({} bytes; the maximum is {MAX_CONFIG_BYTES})",
            yaml.len()
        )));
    }
    let root = yaml::load(yaml).map_err(|e| ConfigError::new(e.to_string()))?;
    let root = match root {
        Value::Null => return Err(ConfigError::new(NO_JOBS_MESSAGE)),
        Value::Mapping(mapping) => mapping,
        _ => {
            return Err(ConfigError::new(
                "Invalid configuration format: root config should be a hash",
            ));
        }
    };
    let mut errors = Vec::new();
    let split = split_root(root, &mut errors);
    if split.jobs.len() > MAX_JOBS {
        return Err(ConfigError::new(format!(
            "The pipeline has too many jobs ({}; the maximum is {MAX_JOBS})",
            split.jobs.len()
        )));
    }
    if split.jobs.is_empty() {
        errors.push(NO_JOBS_MESSAGE.to_string());
        return Err(ConfigError { errors });
    }

    let stages = match split.keyword("stages").or_else(|| split.keyword("types")) {
        Some(value) => parse_stages(value).unwrap_or_else(|message| {
            errors.push(message);
            DEFAULT_STAGES.map(str::to_string).to_vec()
        }),
        None => DEFAULT_STAGES.map(str::to_string).to_vec(),
    };
    let variables = match split.keyword("variables") {
        Some(value) => job::parse_variables(value, "variables").unwrap_or_else(|message| {
            errors.push(message);
            Vec::new()
        }),
        None => Vec::new(),
    };
    let defaults = parse_defaults(&split, &mut errors);
    let workflow_rules = match split.keyword("workflow") {
        Some(value) => parse_workflow(value).unwrap_or_else(|message| {
            errors.push(message);
            None
        }),
        None => None,
    };
    let permissions = match split.keyword("permissions") {
        Some(value) => match permissions::parse_block(value, "root") {
            Ok(set) => Some(set),
            Err(message) => {
                errors.push(message);
                None
            }
        },
        None => None,
    };

    let mut jobs = Vec::new();
    let resolved = extends::resolve_all(&split.jobs, &split.entries);
    for ((name, _), body) in split.jobs.iter().zip(resolved) {
        match body {
            Ok(body) => match job::parse_job(name, &body, &defaults) {
                Ok(spec) => jobs.push(spec),
                Err(mut job_errors) => errors.append(&mut job_errors),
            },
            Err(message) => errors.push(message),
        }
    }
    if errors.is_empty() {
        check_jobs(&stages, &jobs, &mut errors);
        let total_variables: usize = jobs
            .iter()
            .map(|job| {
                let rule_variables = job.rules.iter().flatten().map(|r| r.variables.len()).max();
                variables.len() + job.variables.len() + rule_variables.unwrap_or(0)
            })
            .sum();
        if total_variables > MAX_TOTAL_VARIABLES {
            errors.push(format!(
                "The configuration has too many variables ({total_variables} over all jobs; the maximum is {MAX_TOTAL_VARIABLES})"
            ));
        }
    }
    if !errors.is_empty() {
        let mut seen = std::collections::HashSet::new();
        errors.retain(|message| seen.insert(message.clone()));
        return Err(ConfigError { errors });
    }
    Ok(CiConfig {
        stages,
        variables,
        workflow_rules,
        permissions,
        jobs,
    })
}

/// The root mapping sorted into keywords, visible jobs and every named entry (for `extends`).
struct SplitRoot {
    keywords: HashMap<&'static str, Value>,
    jobs: Vec<(String, Mapping)>,
    entries: HashMap<String, Mapping>,
}

impl SplitRoot {
    fn keyword(&self, name: &str) -> Option<&Value> {
        self.keywords.get(name)
    }
}

fn split_root(root: Mapping, errors: &mut Vec<String>) -> SplitRoot {
    let mut split = SplitRoot {
        keywords: HashMap::new(),
        jobs: Vec::new(),
        entries: HashMap::new(),
    };
    let mut unknown = Vec::new();
    for (key, value) in root {
        let Some(name) = scalar_text(&key) else {
            unknown.push("(a non-scalar key)".to_string());
            continue;
        };
        if let Some(keyword) = ROOT_KEYWORDS.iter().find(|k| **k == name) {
            if *keyword == "include" {
                errors.push("include is not supported".to_string());
            }
            split.keywords.insert(keyword, value);
            continue;
        }
        if name.starts_with('.') {
            if let Value::Mapping(body) = value {
                split.entries.insert(name, body);
            }
            continue;
        }
        match value {
            Value::Mapping(body) => {
                split.entries.insert(name.clone(), body.clone());
                split.jobs.push((name, body));
            }
            _ => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        unknown.truncate(20);
        errors.push(format!(
            "root config contains unknown keys: {}",
            unknown.join(", ")
        ));
    }
    split
}

fn parse_stages(value: &Value) -> Result<Vec<String>, String> {
    let error = || "stages config should be an array of strings".to_string();
    let Value::Sequence(items) = value else {
        return Err(error());
    };
    let mut stages = vec![".pre".to_string()];
    for item in items {
        let name = item.as_str().ok_or_else(error)?;
        if name.is_empty() {
            return Err(error());
        }
        if name != ".pre" && name != ".post" && !stages.iter().any(|s| s == name) {
            stages.push(name.to_string());
        }
    }
    stages.push(".post".to_string());
    Ok(stages)
}

fn parse_defaults(split: &SplitRoot, errors: &mut Vec<String>) -> Defaults {
    let mut defaults = Defaults::default();
    if let Some(value) = split.keyword("default") {
        match value {
            Value::Mapping(mapping) => {
                if let Err(mut default_errors) = job::parse_defaults(mapping, &mut defaults) {
                    errors.append(&mut default_errors);
                }
            }
            Value::Null => {}
            _ => errors.push("default config should be a hash".to_string()),
        }
    }
    let mut legacy = |key: &str, apply: &mut dyn FnMut(&Value) -> Result<(), String>| {
        if let Some(value) = split.keyword(key)
            && let Err(message) = apply(value)
        {
            errors.push(message);
        }
    };
    let mut before = None;
    legacy("before_script", &mut |v| {
        before = Some(job::parse_script_lines(v, "before_script")?);
        Ok(())
    });
    let mut after = None;
    legacy("after_script", &mut |v| {
        after = Some(job::parse_script_lines(v, "after_script")?);
        Ok(())
    });
    let mut image = None;
    legacy("image", &mut |v| {
        image = Some(job::parse_image(v, "image")?);
        Ok(())
    });
    defaults.before_script = defaults.before_script.or(before);
    defaults.after_script = defaults.after_script.or(after);
    defaults.image = defaults.image.or(image);
    defaults
}

fn parse_workflow(value: &Value) -> Result<Option<Vec<Rule>>, String> {
    let Value::Mapping(mapping) = value else {
        return Err("workflow config should be a hash".to_string());
    };
    let mut rules = None;
    for (key, item) in mapping {
        match key.as_str() {
            Some("rules") => rules = Some(job::parse_rules(item, "workflow", true)?),
            Some("name" | "auto_cancel") => {}
            _ => {
                return Err(format!(
                    "workflow config contains unknown keys: {}",
                    scalar_text(key).unwrap_or_default()
                ));
            }
        }
    }
    Ok(rules)
}

/// Checks that span jobs: stages exist, `needs` and `dependencies` name defined jobs in the same or earlier
/// stages, and `needs` has no cycle.
fn check_jobs(stages: &[String], jobs: &[JobSpec], errors: &mut Vec<String>) {
    let stage_index: HashMap<&str, usize> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let job_stage: HashMap<&str, Option<usize>> = jobs
        .iter()
        .map(|j| (j.name.as_str(), stage_index.get(j.stage.as_str()).copied()))
        .collect();
    for job in jobs {
        let Some(own) = stage_index.get(job.stage.as_str()).copied() else {
            errors.push(format!(
                "jobs:{} chosen stage {} does not exist; available stages are {}",
                job.name,
                job.stage,
                stages.join(", ")
            ));
            continue;
        };
        for need in job.needs.iter().flatten() {
            match job_stage.get(need.job.as_str()) {
                None => errors.push(format!(
                    "jobs:{}:needs job '{}' is not defined",
                    job.name, need.job
                )),
                Some(Some(theirs)) if *theirs > own => errors.push(format!(
                    "jobs:{}:needs job '{}' is not defined in current or prior stages",
                    job.name, need.job
                )),
                _ => {}
            }
        }
        for dependency in job.dependencies.iter().flatten() {
            match job_stage.get(dependency.as_str()) {
                None => errors.push(format!(
                    "jobs:{}:dependencies job '{}' is not defined",
                    job.name, dependency
                )),
                Some(Some(theirs)) if *theirs >= own && job.needs.is_none() => {
                    errors.push(format!(
                        "jobs:{}:dependencies job '{}' is not defined in prior stages",
                        job.name, dependency
                    ))
                }
                _ => {}
            }
            if let Some(needs) = &job.needs
                && !needs.iter().any(|n| &n.job == dependency)
            {
                errors.push(format!(
                    "jobs:{}:dependencies the {} should be part of needs",
                    job.name, dependency
                ));
            }
        }
    }
    if errors.is_empty()
        && let Some(cycle) = find_needs_cycle(jobs)
    {
        errors.push(format!(
            "jobs:{}:needs circular dependency detected: {}",
            cycle[0],
            cycle.join(" -> ")
        ));
    }
}

/// A cycle in `needs`, as job names with the first repeated at the end.
fn find_needs_cycle(jobs: &[JobSpec]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = jobs
        .iter()
        .map(|j| {
            j.needs
                .iter()
                .flatten()
                .filter_map(|n| index.get(n.job.as_str()).copied())
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done. Iterative, so long chains cannot overflow the stack.
    let mut state = vec![0u8; jobs.len()];
    for start in 0..jobs.len() {
        if state[start] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some((node, next_edge)) = path.last().copied() {
            if let Some(&target) = edges[node].get(next_edge) {
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                match state[target] {
                    0 => {
                        state[target] = 1;
                        path.push((target, 0));
                    }
                    1 => {
                        let from = path.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<String> = path[from..]
                            .iter()
                            .map(|(n, _)| jobs[*n].name.clone())
                            .collect();
                        cycle.push(jobs[target].name.clone());
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
