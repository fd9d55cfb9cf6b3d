//! The legacy `only:`/`except:` filters: ref keywords (`branches`, `tags`, `merge_requests`, pipeline
//! sources), literal ref names, `/regex/` patterns and `variables:` expressions.

use crate::expr::{self, Expr, Pattern};
use crate::status::PipelineSource;
use crate::yaml::scalar_text;
use serde_yaml::Value;

/// One entry of `only:refs` / `except:refs`.
#[derive(Debug, Clone, PartialEq)]
pub enum RefPattern {
    Branches,
    Tags,
    MergeRequests,
    Api,
    Web,
    Triggers,
    Pipelines,
    Pushes,
    Schedules,
    External,
    Chat,
    /// A ref name, compared exactly.
    Name(String),
    /// A `/regex/` matched against the ref name.
    Regex(Pattern),
}

/// A parsed `only:` or `except:` block.
#[derive(Debug, Clone, PartialEq)]
pub struct RefFilter {
    /// `refs:` (or the plain list); `None` when the block gives only `variables:`.
    pub refs: Option<Vec<RefPattern>>,
    /// `variables:` expressions; empty when not given.
    pub variables: Vec<Expr>,
}

/// What a filter is matched against.
pub struct RefSubject<'a> {
    pub source: PipelineSource,
    pub ref_name: &'a str,
    pub is_tag: bool,
}

impl RefFilter {
    /// GitLab's default when a job has neither `rules`, `only` nor `except`: `only: [branches, tags]`.
    pub fn default_only() -> RefFilter {
        RefFilter {
            refs: Some(vec![RefPattern::Branches, RefPattern::Tags]),
            variables: Vec::new(),
        }
    }

    /// `only:` semantics: every given condition holds (any ref matches, and any expression is true).
    pub fn matches_all(&self, subject: &RefSubject, vars: &dyn Fn(&str) -> Option<String>) -> bool {
        let refs_ok = self
            .refs
            .as_ref()
            .is_none_or(|refs| refs.iter().any(|p| p.matches(subject)));
        let variables_ok = self.variables.is_empty() || self.variables.iter().any(|e| e.eval(vars));
        refs_ok && variables_ok
    }

    /// `except:` semantics: some given condition holds.
    pub fn matches_any(&self, subject: &RefSubject, vars: &dyn Fn(&str) -> Option<String>) -> bool {
        let refs_hit = self
            .refs
            .as_ref()
            .is_some_and(|refs| refs.iter().any(|p| p.matches(subject)));
        refs_hit || self.variables.iter().any(|e| e.eval(vars))
    }
}

impl RefPattern {
    fn matches(&self, subject: &RefSubject) -> bool {
        let is_merge_request = subject.source == PipelineSource::MergeRequestEvent;
        match self {
            RefPattern::Branches => !subject.is_tag && !is_merge_request,
            RefPattern::Tags => subject.is_tag,
            RefPattern::MergeRequests => is_merge_request,
            RefPattern::Api => subject.source == PipelineSource::Api,
            RefPattern::Web => subject.source == PipelineSource::Web,
            RefPattern::Triggers => subject.source == PipelineSource::Trigger,
            RefPattern::Pipelines => subject.source == PipelineSource::Pipeline,
            RefPattern::Pushes => subject.source == PipelineSource::Push,
            RefPattern::Schedules => subject.source == PipelineSource::Schedule,
            RefPattern::External | RefPattern::Chat => false,
            RefPattern::Name(name) => name == subject.ref_name,
            RefPattern::Regex(pattern) => pattern.is_match(subject.ref_name),
        }
    }

    fn parse(text: &str) -> Result<RefPattern, String> {
        Ok(match text {
            "branches" => RefPattern::Branches,
            "tags" => RefPattern::Tags,
            "merge_requests" => RefPattern::MergeRequests,
            "api" => RefPattern::Api,
            "web" => RefPattern::Web,
            "triggers" => RefPattern::Triggers,
            "pipelines" => RefPattern::Pipelines,
            "pushes" => RefPattern::Pushes,
            "schedules" => RefPattern::Schedules,
            "external" => RefPattern::External,
            "chat" => RefPattern::Chat,
            _ if text.starts_with('/') && text.len() > 1 => {
                RefPattern::Regex(Pattern::parse(text)?)
            }
            _ => RefPattern::Name(text.to_string()),
        })
    }
}

/// Parses `only:`/`except:` at `location` (e.g. `jobs:build:only`).
pub(crate) fn parse(value: &Value, location: &str) -> Result<RefFilter, String> {
    let list_error =
        || format!("{location} config should be an array of strings or regular expressions");
    match value {
        Value::String(_) | Value::Sequence(_) => Ok(RefFilter {
            refs: Some(parse_refs(value).map_err(|_| list_error())?),
            variables: Vec::new(),
        }),
        Value::Mapping(mapping) => {
            let mut filter = RefFilter {
                refs: None,
                variables: Vec::new(),
            };
            for (key, item) in mapping {
                match key.as_str() {
                    Some("refs") => {
                        filter.refs = Some(parse_refs(item).map_err(|_| {
                            format!("{location}:refs config should be an array of strings or regular expressions")
                        })?)
                    }
                    Some("variables") => filter.variables = parse_variables(item, location)?,
                    Some(other @ ("changes" | "kubernetes")) => {
                        return Err(format!("{location}:{other} is not supported"));
                    }
                    _ => {
                        let name = scalar_text(key).unwrap_or_default();
                        return Err(format!("{location} config contains unknown keys: {name}"));
                    }
                }
            }
            Ok(filter)
        }
        _ => Err(list_error()),
    }
}

fn parse_refs(value: &Value) -> Result<Vec<RefPattern>, String> {
    let items = match value {
        Value::String(single) => return Ok(vec![RefPattern::parse(single)?]),
        Value::Sequence(items) => items,
        _ => return Err(String::new()),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(text) => RefPattern::parse(text),
            _ => Err(String::new()),
        })
        .collect()
}

fn parse_variables(value: &Value, location: &str) -> Result<Vec<Expr>, String> {
    let error = || format!("{location}:variables config should be an array of expressions");
    let Value::Sequence(items) = value else {
        return Err(error());
    };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(error)?;
            expr::parse(text).map_err(|detail| {
                format!("{location}:variables invalid expression syntax ({detail})")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(yaml: &str) -> Result<RefFilter, String> {
        let value: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        parse(&value, "jobs:x:only")
    }

    fn subject(source: PipelineSource, ref_name: &str, is_tag: bool) -> RefSubject<'_> {
        RefSubject {
            source,
            ref_name,
            is_tag,
        }
    }

    #[test]
    fn keywords_names_and_patterns() {
        let none = |_: &str| None;
        let f = filter("[main, /^release-.*$/, tags, merge_requests]").unwrap();
        assert!(f.matches_all(&subject(PipelineSource::Push, "main", false), &none));
        assert!(f.matches_all(&subject(PipelineSource::Push, "release-1", false), &none));
        assert!(f.matches_all(&subject(PipelineSource::Push, "v1", true), &none));
        assert!(!f.matches_all(&subject(PipelineSource::Push, "feature", false), &none));
        assert!(f.matches_all(
            &subject(PipelineSource::MergeRequestEvent, "feature", false),
            &none
        ));
        let default = RefFilter::default_only();
        assert!(!default.matches_all(
            &subject(PipelineSource::MergeRequestEvent, "feature", false),
            &none
        ));
        assert!(default.matches_all(&subject(PipelineSource::Web, "feature", false), &none));
        let sources = filter("{refs: [schedules, web]}").unwrap();
        assert!(sources.matches_all(&subject(PipelineSource::Schedule, "main", false), &none));
        assert!(!sources.matches_all(&subject(PipelineSource::Push, "main", false), &none));
    }

    #[test]
    fn variables_expressions() {
        let f = filter("{refs: [branches], variables: ['$DEPLOY == \"yes\"']}").unwrap();
        let main = subject(PipelineSource::Push, "main", false);
        assert!(f.matches_all(&main, &|n| (n == "DEPLOY").then(|| "yes".to_string())));
        assert!(!f.matches_all(&main, &|_| None));
        assert!(f.matches_any(&main, &|_| None));
    }

    #[test]
    fn unsupported_and_malformed() {
        assert_eq!(
            filter("{changes: [a]}").unwrap_err(),
            "jobs:x:only:changes is not supported"
        );
        assert!(
            filter("{foo: [a]}")
                .unwrap_err()
                .contains("unknown keys: foo")
        );
        assert!(filter("[1]").is_err());
        assert!(filter("['/(/']").is_err());
        assert!(filter("{variables: ['$A ==']}").is_err());
    }
}
