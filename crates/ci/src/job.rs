//! One job's keywords (and `default:`'s) from YAML to `JobSpec`: scripts, variables, rules, needs,
//! artifacts, image, timeout and the rest, with GitLab's error wording under `jobs:<name>`.

use crate::config::{
    ArtifactsSpec, Defaults, ImageSpec, InheritVariables, JobSpec, NeedSpec, Rule,
};
use crate::duration;
use crate::expr;
use crate::permissions;
use crate::refs;
use crate::status::When;
use crate::variables::VariableList;
use crate::yaml::scalar_text;
use serde_yaml::{Mapping, Value};

/// Deepest nesting of script arrays (GitLab flattens up to 10 levels).
const MAX_SCRIPT_NESTING: usize = 10;
/// Most runner tags on one job, like GitLab.
const MAX_TAGS: usize = 50;
/// Default artifact lifetime: 30 days.
pub const DEFAULT_ARTIFACT_EXPIRY_SECONDS: i64 = 30 * 24 * 3600;

const JOB_KEYWORDS: &[&str] = &[
    "script",
    "before_script",
    "after_script",
    "stage",
    "variables",
    "rules",
    "only",
    "except",
    "when",
    "allow_failure",
    "needs",
    "dependencies",
    "timeout",
    "tags",
    "artifacts",
    "image",
    "services",
    "interruptible",
    "retry",
    "permissions",
    "environment",
    "coverage",
    "cache",
    "resource_group",
    "extends",
    "inherit",
];

/// GitLab keywords this forge knows but does not run.
const UNSUPPORTED_JOB_KEYWORDS: &[&str] = &[
    "trigger",
    "parallel",
    "release",
    "run",
    "secrets",
    "hooks",
    "id_tokens",
    "start_in",
    "pages",
    "identity",
    "dast_configuration",
    "manual_confirmation",
];

const DEFAULT_KEYWORDS: &[&str] = &[
    "before_script",
    "after_script",
    "image",
    "services",
    "cache",
    "timeout",
    "tags",
    "interruptible",
    "retry",
    "artifacts",
];

fn at(location: &str, key: &str) -> String {
    format!("{location}:{key}")
}

/// Parses one job body (with `extends` already resolved) and applies `defaults`.
pub(crate) fn parse_job(
    name: &str,
    body: &Mapping,
    defaults: &Defaults,
) -> Result<JobSpec, Vec<String>> {
    let location = format!("jobs:{name}");
    let mut errors = Vec::new();
    let mut unknown = Vec::new();
    for key in body.keys() {
        let key_text = scalar_text(key).unwrap_or_else(|| "(a non-scalar key)".to_string());
        if UNSUPPORTED_JOB_KEYWORDS.contains(&key_text.as_str()) {
            errors.push(format!("{location}:{key_text} is not supported"));
        } else if !JOB_KEYWORDS.contains(&key_text.as_str()) {
            unknown.push(key_text);
        }
    }
    if !unknown.is_empty() {
        unknown.truncate(20);
        errors.push(format!(
            "{location} config contains unknown keys: {}",
            unknown.join(", ")
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut spec = JobSpec {
        name: name.to_string(),
        stage: "test".to_string(),
        script: Vec::new(),
        before_script: Vec::new(),
        after_script: Vec::new(),
        variables: Vec::new(),
        inherit_variables: InheritVariables::All,
        rules: None,
        only: None,
        except: None,
        when: None,
        allow_failure: None,
        allow_failure_exit_codes: Vec::new(),
        needs: None,
        dependencies: None,
        timeout_seconds: None,
        tags: Vec::new(),
        artifacts: None,
        image: None,
        interruptible: false,
        retry_max: 0,
        permissions: None,
        environment: None,
        coverage: None,
    };
    let get = |key: &str| body.get(key);
    let mut record = |result: Result<(), String>| {
        if let Err(message) = result {
            errors.push(message);
        }
    };

    let inherit = match get("inherit") {
        Some(value) => match parse_inherit(value, &location) {
            Ok(inherit) => inherit,
            Err(message) => {
                record(Err(message));
                Inherit::default()
            }
        },
        None => Inherit::default(),
    };
    spec.inherit_variables = inherit.variables.clone();

    match get("script") {
        Some(value) => record(
            parse_script_lines(value, &at(&location, "script")).and_then(|lines| {
                if lines.is_empty() {
                    Err(format!("{location}:script config can't be blank"))
                } else {
                    spec.script = lines;
                    Ok(())
                }
            }),
        ),
        None => record(Err(format!(
            "{location} config should implement the script: keyword"
        ))),
    }
    if let Some(value) = get("stage") {
        match value.as_str() {
            Some(stage) if !stage.is_empty() => spec.stage = stage.to_string(),
            _ => record(Err(format!("{location}:stage config should be a string"))),
        }
    }
    if let Some(value) = get("before_script") {
        record(
            parse_script_lines(value, &at(&location, "before_script"))
                .map(|l| spec.before_script = l),
        );
    } else if inherit.default_includes("before_script") {
        spec.before_script = defaults.before_script.clone().unwrap_or_default();
    }
    if let Some(value) = get("after_script") {
        record(
            parse_script_lines(value, &at(&location, "after_script"))
                .map(|l| spec.after_script = l),
        );
    } else if inherit.default_includes("after_script") {
        spec.after_script = defaults.after_script.clone().unwrap_or_default();
    }
    if let Some(value) = get("variables") {
        record(parse_variables(value, &at(&location, "variables")).map(|v| spec.variables = v));
    }
    if let Some(value) = get("rules") {
        if get("only").is_some() || get("except").is_some() {
            record(Err(format!(
                "{location} may not use rules with only/except"
            )));
        }
        record(parse_rules(value, &location, false).map(|r| spec.rules = Some(r)));
    }
    if let Some(value) = get("only") {
        record(refs::parse(value, &at(&location, "only")).map(|f| spec.only = Some(f)));
    }
    if let Some(value) = get("except") {
        record(refs::parse(value, &at(&location, "except")).map(|f| spec.except = Some(f)));
    }
    if let Some(value) = get("when") {
        record(parse_when(value, &at(&location, "when"), When::ALL).map(|w| spec.when = Some(w)));
    }
    if let Some(value) = get("allow_failure") {
        record(
            parse_allow_failure(value, &location).map(|(allowed, codes)| {
                spec.allow_failure = Some(allowed);
                spec.allow_failure_exit_codes = codes;
            }),
        );
    }
    if let Some(value) = get("needs") {
        record(parse_needs(value, &at(&location, "needs")).map(|n| spec.needs = Some(n)));
    }
    if let Some(value) = get("dependencies") {
        record(
            parse_string_list(value, &at(&location, "dependencies"))
                .map(|d| spec.dependencies = Some(d)),
        );
    }
    if let Some(value) = get("timeout") {
        record(
            parse_timeout(value, &at(&location, "timeout")).map(|t| spec.timeout_seconds = Some(t)),
        );
    } else if inherit.default_includes("timeout") {
        spec.timeout_seconds = defaults.timeout_seconds;
    }
    if let Some(value) = get("tags") {
        record(parse_tags(value, &at(&location, "tags")).map(|t| spec.tags = t));
    } else if inherit.default_includes("tags") {
        spec.tags = defaults.tags.clone().unwrap_or_default();
    }
    if let Some(value) = get("artifacts") {
        record(
            parse_artifacts(value, &at(&location, "artifacts")).map(|a| spec.artifacts = Some(a)),
        );
    } else if inherit.default_includes("artifacts") {
        spec.artifacts = defaults.artifacts.clone();
    }
    if let Some(value) = get("image") {
        record(parse_image(value, &at(&location, "image")).map(|i| spec.image = Some(i)));
    } else if inherit.default_includes("image") {
        spec.image = defaults.image.clone();
    }
    if let Some(value) = get("interruptible") {
        record(parse_bool(value, &at(&location, "interruptible")).map(|b| spec.interruptible = b));
    } else if inherit.default_includes("interruptible") {
        spec.interruptible = defaults.interruptible.unwrap_or(false);
    }
    if let Some(value) = get("retry") {
        record(parse_retry(value, &at(&location, "retry")).map(|r| spec.retry_max = r));
    } else if inherit.default_includes("retry") {
        spec.retry_max = defaults.retry_max.unwrap_or(0);
    }
    if let Some(value) = get("permissions") {
        record(permissions::parse_block(value, &location).map(|p| spec.permissions = Some(p)));
    }
    if let Some(value) = get("environment") {
        record(
            parse_environment(value, &at(&location, "environment")).map(|e| spec.environment = e),
        );
    }
    if let Some(value) = get("coverage") {
        match value.as_str() {
            Some(text) => spec.coverage = Some(text.to_string()),
            None => record(Err(format!(
                "{location}:coverage config should be a string"
            ))),
        }
    }
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}

/// Parses `default:` into `defaults`.
pub(crate) fn parse_defaults(
    mapping: &Mapping,
    defaults: &mut Defaults,
) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for (key, value) in mapping {
        let key_text = scalar_text(key).unwrap_or_default();
        let location = at("default", &key_text);
        let result = match key_text.as_str() {
            "before_script" => {
                parse_script_lines(value, &location).map(|l| defaults.before_script = Some(l))
            }
            "after_script" => {
                parse_script_lines(value, &location).map(|l| defaults.after_script = Some(l))
            }
            "image" => parse_image(value, &location).map(|i| defaults.image = Some(i)),
            "timeout" => {
                parse_timeout(value, &location).map(|t| defaults.timeout_seconds = Some(t))
            }
            "tags" => parse_tags(value, &location).map(|t| defaults.tags = Some(t)),
            "interruptible" => {
                parse_bool(value, &location).map(|b| defaults.interruptible = Some(b))
            }
            "retry" => parse_retry(value, &location).map(|r| defaults.retry_max = Some(r)),
            "artifacts" => parse_artifacts(value, &location).map(|a| defaults.artifacts = Some(a)),
            "services" | "cache" => Ok(()),
            _ => Err(format!("default config contains unknown keys: {key_text}")),
        };
        if let Err(message) = result {
            errors.push(message);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `inherit:` of a job.
#[derive(Debug, Clone)]
struct Inherit {
    /// `None`: every default keyword; `Some(list)`: only these.
    default: Option<Vec<String>>,
    variables: InheritVariables,
}

impl Default for Inherit {
    fn default() -> Self {
        Inherit {
            default: None,
            variables: InheritVariables::All,
        }
    }
}

impl Inherit {
    fn default_includes(&self, keyword: &str) -> bool {
        self.default
            .as_ref()
            .is_none_or(|keywords| keywords.iter().any(|k| k == keyword))
    }
}

fn parse_inherit(value: &Value, location: &str) -> Result<Inherit, String> {
    let here = at(location, "inherit");
    let Value::Mapping(mapping) = value else {
        return Err(format!("{here} config should be a hash"));
    };
    let mut inherit = Inherit::default();
    for (key, item) in mapping {
        match key.as_str() {
            Some("default") => {
                inherit.default = match item {
                    Value::Bool(true) => None,
                    Value::Bool(false) => Some(Vec::new()),
                    _ => {
                        let names = parse_string_list(item, &at(&here, "default"))?;
                        if let Some(bad) = names
                            .iter()
                            .find(|n| !DEFAULT_KEYWORDS.contains(&n.as_str()))
                        {
                            return Err(format!(
                                "{here}:default config contains unknown values: {bad}"
                            ));
                        }
                        Some(names)
                    }
                }
            }
            Some("variables") => {
                inherit.variables = match item {
                    Value::Bool(true) => InheritVariables::All,
                    Value::Bool(false) => InheritVariables::Nothing,
                    _ => InheritVariables::Only(parse_string_list(item, &at(&here, "variables"))?),
                }
            }
            _ => {
                return Err(format!(
                    "{here} config contains unknown keys: {}",
                    scalar_text(key).unwrap_or_default()
                ));
            }
        }
    }
    Ok(inherit)
}

/// A script: a string or an array of strings, nested arrays flattened (up to 10 levels).
pub(crate) fn parse_script_lines(value: &Value, location: &str) -> Result<Vec<String>, String> {
    let error = || {
        format!(
            "{location} config should be a string or a nested array of strings up to 10 levels deep"
        )
    };
    fn flatten(value: &Value, depth: usize, out: &mut Vec<String>) -> bool {
        match value {
            Value::String(line) => {
                out.push(line.clone());
                true
            }
            Value::Sequence(items) if depth < MAX_SCRIPT_NESTING => {
                items.iter().all(|item| flatten(item, depth + 1, out))
            }
            _ => false,
        }
    }
    let mut lines = Vec::new();
    if flatten(value, 0, &mut lines) {
        Ok(lines)
    } else {
        Err(error())
    }
}

/// `variables:`: a hash of names to strings, numbers, booleans or `{value, description, expand, options}`.
pub(crate) fn parse_variables(
    value: &Value,
    location: &str,
) -> Result<Vec<(String, String)>, String> {
    let error =
        || format!("{location} config should be a hash of key value pairs, value can be a hash");
    let mapping = match value {
        Value::Mapping(mapping) => mapping,
        Value::Null => return Ok(Vec::new()),
        _ => return Err(error()),
    };
    let mut variables = VariableList::new();
    for (key, item) in mapping {
        let name = scalar_text(key)
            .filter(|n| !n.is_empty())
            .ok_or_else(error)?;
        let text = match item {
            Value::Mapping(detail) => {
                for detail_key in detail.keys() {
                    match detail_key.as_str() {
                        Some("value" | "description" | "expand" | "options") => {}
                        _ => {
                            return Err(format!(
                                "{location} config uses invalid data keys: {}",
                                scalar_text(detail_key).unwrap_or_default()
                            ));
                        }
                    }
                }
                match detail.get("value") {
                    Some(inner) => scalar_text(inner).ok_or_else(error)?,
                    None => String::new(),
                }
            }
            other => scalar_text(other).ok_or_else(error)?,
        };
        variables.set(&name, &text);
    }
    Ok(variables.into_vec())
}

/// `rules:` of a job (`workflow` false) or of `workflow:` (`workflow` true).
pub(crate) fn parse_rules(
    value: &Value,
    location: &str,
    workflow: bool,
) -> Result<Vec<Rule>, String> {
    let here = at(location, "rules");
    let Value::Sequence(items) = value else {
        return Err(format!("{here} config should be an array of hashes"));
    };
    let rule_location = at(&here, "rule");
    let mut rules = Vec::with_capacity(items.len());
    for item in items {
        let Value::Mapping(mapping) = item else {
            return Err(format!("{here} config should be an array of hashes"));
        };
        let mut rule = Rule {
            if_expr: None,
            when: None,
            allow_failure: None,
            variables: Vec::new(),
        };
        for (key, field) in mapping {
            let key_text = scalar_text(key).unwrap_or_default();
            match key_text.as_str() {
                "if" => {
                    let text = field
                        .as_str()
                        .ok_or_else(|| format!("{rule_location} if should be a string"))?;
                    let parsed = expr::parse(text).map_err(|detail| {
                        format!("{rule_location} if invalid expression syntax ({detail})")
                    })?;
                    rule.if_expr = Some(parsed);
                }
                "when" => {
                    let allowed: &[When] = if workflow {
                        &[When::Always, When::Never]
                    } else {
                        When::ALL
                    };
                    rule.when = Some(parse_when(
                        field,
                        &format!("{rule_location} when"),
                        allowed,
                    )?);
                }
                "allow_failure" if !workflow => {
                    rule.allow_failure = Some(parse_bool(
                        field,
                        &format!("{rule_location} allow_failure"),
                    )?);
                }
                "variables" => {
                    rule.variables = parse_variables(field, &at(&rule_location, "variables"))?;
                }
                "changes" | "exists" | "needs" | "start_in" | "interruptible" | "auto_cancel" => {
                    return Err(format!("{here}:{key_text} is not supported"));
                }
                _ => {
                    return Err(format!(
                        "{rule_location} config contains unknown keys: {key_text}"
                    ));
                }
            }
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_when(value: &Value, location: &str, allowed: &[When]) -> Result<When, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("{location} config should be a string"))?;
    if text == "delayed" {
        return Err(format!("{location}: delayed is not supported"));
    }
    match text.parse::<When>() {
        Ok(when) if allowed.contains(&when) => Ok(when),
        _ => Err(format!(
            "{location} config should be one of: {}",
            allowed
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn parse_bool(value: &Value, location: &str) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{location} config should be a boolean value"))
}

fn parse_allow_failure(value: &Value, location: &str) -> Result<(bool, Vec<i64>), String> {
    let here = at(location, "allow_failure");
    match value {
        Value::Bool(allowed) => Ok((*allowed, Vec::new())),
        Value::Mapping(mapping) => {
            let mut codes = Vec::new();
            for (key, item) in mapping {
                match key.as_str() {
                    Some("exit_codes") => {
                        codes = match item {
                            Value::Number(_) => {
                                vec![item.as_i64().ok_or_else(|| exit_code_error(&here))?]
                            }
                            Value::Sequence(list) if list.len() <= 50 => list
                                .iter()
                                .map(|c| c.as_i64().ok_or_else(|| exit_code_error(&here)))
                                .collect::<Result<_, _>>()?,
                            _ => return Err(exit_code_error(&here)),
                        }
                    }
                    _ => {
                        return Err(format!(
                            "{here} config contains unknown keys: {}",
                            scalar_text(key).unwrap_or_default()
                        ));
                    }
                }
            }
            Ok((false, codes))
        }
        _ => Err(format!("{here} config should be a boolean value or a hash")),
    }
}

fn exit_code_error(location: &str) -> String {
    format!(
        "{location}:exit_codes config should be an integer or an array of integers (at most 50)"
    )
}

fn parse_needs(value: &Value, location: &str) -> Result<Vec<NeedSpec>, String> {
    let error = || format!("{location} config should be an array of job names or hashes");
    let Value::Sequence(items) = value else {
        return Err(error());
    };
    let mut needs: Vec<NeedSpec> = Vec::with_capacity(items.len());
    for item in items {
        let need = match item {
            Value::String(job) => NeedSpec {
                job: job.clone(),
                artifacts: true,
                optional: false,
            },
            Value::Mapping(mapping) => {
                let mut need = NeedSpec {
                    job: String::new(),
                    artifacts: true,
                    optional: false,
                };
                for (key, field) in mapping {
                    match key.as_str() {
                        Some("job") => need.job = field.as_str().ok_or_else(error)?.to_string(),
                        Some("artifacts") => {
                            need.artifacts = parse_bool(field, &at(location, "artifacts"))?
                        }
                        Some("optional") => {
                            need.optional = parse_bool(field, &at(location, "optional"))?
                        }
                        Some(other @ ("project" | "pipeline" | "ref" | "parallel")) => {
                            return Err(format!("{location}:{other} is not supported"));
                        }
                        _ => {
                            return Err(format!(
                                "{location}:need config contains unknown keys: {}",
                                scalar_text(key).unwrap_or_default()
                            ));
                        }
                    }
                }
                if need.job.is_empty() {
                    return Err(format!("{location}:need job config can't be blank"));
                }
                need
            }
            _ => return Err(error()),
        };
        if needs.iter().any(|n| n.job == need.job) {
            return Err(format!("{location} contains duplicate job '{}'", need.job));
        }
        needs.push(need);
    }
    Ok(needs)
}

fn parse_string_list(value: &Value, location: &str) -> Result<Vec<String>, String> {
    let error = || format!("{location} config should be an array of strings");
    let Value::Sequence(items) = value else {
        return Err(error());
    };
    items
        .iter()
        .map(|item| item.as_str().map(str::to_string).ok_or_else(error))
        .collect()
}

fn parse_tags(value: &Value, location: &str) -> Result<Vec<String>, String> {
    let tags = parse_string_list(value, location)?;
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "{location} config must be less than the limit of {MAX_TAGS} tags"
        ));
    }
    Ok(tags)
}

fn parse_timeout(value: &Value, location: &str) -> Result<i64, String> {
    let error = || format!("{location} config should be a duration");
    let seconds = match value {
        Value::String(text) => duration::parse_seconds(text).map_err(|_| error())?,
        Value::Number(_) => value.as_i64().ok_or_else(error)?,
        _ => return Err(error()),
    };
    if seconds <= 0 {
        return Err(error());
    }
    Ok(seconds)
}

fn parse_retry(value: &Value, location: &str) -> Result<u32, String> {
    let max = match value {
        Value::Number(_) => value.as_i64(),
        Value::Mapping(mapping) => {
            for key in mapping.keys() {
                match key.as_str() {
                    Some("max" | "when" | "exit_codes") => {}
                    _ => {
                        return Err(format!(
                            "{location} config contains unknown keys: {}",
                            scalar_text(key).unwrap_or_default()
                        ));
                    }
                }
            }
            match mapping.get("max") {
                Some(inner) => inner.as_i64(),
                None => Some(0),
            }
        }
        _ => None,
    };
    match max {
        Some(n @ 0..=2) => Ok(n as u32),
        Some(_) => Err(format!("{location} config must be between 0 and 2")),
        None => Err(format!(
            "{location} config has to be either an integer or a hash"
        )),
    }
}

/// `image:`: a name, or `{name, entrypoint, ...}`.
pub(crate) fn parse_image(value: &Value, location: &str) -> Result<ImageSpec, String> {
    match value {
        Value::String(name) if !name.is_empty() => Ok(ImageSpec {
            name: name.clone(),
            entrypoint: None,
        }),
        Value::Mapping(mapping) => {
            let mut image = ImageSpec {
                name: String::new(),
                entrypoint: None,
            };
            for (key, field) in mapping {
                match key.as_str() {
                    Some("name") => {
                        image.name = field
                            .as_str()
                            .ok_or_else(|| format!("{location}:name config should be a string"))?
                            .to_string()
                    }
                    Some("entrypoint") => {
                        image.entrypoint =
                            Some(parse_string_list(field, &at(location, "entrypoint"))?)
                    }
                    Some("docker" | "pull_policy" | "kubernetes") => {}
                    _ => {
                        return Err(format!(
                            "{location} config contains unknown keys: {}",
                            scalar_text(key).unwrap_or_default()
                        ));
                    }
                }
            }
            if image.name.is_empty() {
                return Err(format!("{location}:name config can't be blank"));
            }
            Ok(image)
        }
        _ => Err(format!("{location} config should be a hash or a string")),
    }
}

fn parse_artifacts(value: &Value, location: &str) -> Result<ArtifactsSpec, String> {
    let Value::Mapping(mapping) = value else {
        return Err(format!("{location} config should be a hash"));
    };
    let mut artifacts = ArtifactsSpec {
        name: None,
        paths: Vec::new(),
        exclude: Vec::new(),
        untracked: false,
        when: When::OnSuccess,
        expire_in_seconds: Some(DEFAULT_ARTIFACT_EXPIRY_SECONDS),
    };
    for (key, field) in mapping {
        let key_text = scalar_text(key).unwrap_or_default();
        let here = at(location, &key_text);
        match key_text.as_str() {
            "paths" => artifacts.paths = parse_string_list(field, &here)?,
            "exclude" => artifacts.exclude = parse_string_list(field, &here)?,
            "untracked" => artifacts.untracked = parse_bool(field, &here)?,
            "name" => {
                artifacts.name = Some(
                    scalar_text(field)
                        .ok_or_else(|| format!("{here} config should be a string"))?,
                )
            }
            "when" => {
                artifacts.when = parse_when(
                    field,
                    &here,
                    &[When::OnSuccess, When::OnFailure, When::Always],
                )?
            }
            "expire_in" => {
                let error = || format!("{here} config should be a duration");
                artifacts.expire_in_seconds = match field {
                    Value::String(text) => duration::parse_expire_in(text).map_err(|_| error())?,
                    Value::Number(_) => Some(field.as_i64().ok_or_else(error)?),
                    _ => return Err(error()),
                };
            }
            "reports" | "expose_as" | "public" | "access" => {}
            _ => {
                return Err(format!(
                    "{location} config contains unknown keys: {key_text}"
                ));
            }
        }
    }
    Ok(artifacts)
}

fn parse_environment(value: &Value, location: &str) -> Result<Option<String>, String> {
    match value {
        Value::String(name) => Ok(Some(name.clone())),
        Value::Mapping(mapping) => Ok(mapping
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)),
        Value::Null => Ok(None),
        _ => Err(format!("{location} config should be a hash or a string")),
    }
}
