//! `extends:`: a job (or hidden template) inherits the deep-merged bodies of the entries it names,
//! GitLab-style: hashes merge key by key, everything else is replaced by the child's value.

use crate::yaml::{MAX_DEPTH, mapping_weight};
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;

/// GitLab's limit on `extends` chains.
pub(crate) const MAX_EXTENDS_DEPTH: usize = 11;
/// At most this many nodes may be copied out of templates while resolving every job, so templates
/// cannot multiply memory.
const RESOLVED_BUDGET: usize = 300_000;

/// Resolves `extends:` for every entry in `targets`, looking bases up in `entries` (jobs and hidden keys).
/// Returns one result per target, in order.
pub(crate) fn resolve_all(
    targets: &[(String, Mapping)],
    entries: &HashMap<String, Mapping>,
) -> Vec<Result<Mapping, String>> {
    let mut resolver = Resolver {
        entries,
        cache: HashMap::new(),
        budget: RESOLVED_BUDGET,
    };
    targets
        .iter()
        .map(|(name, body)| {
            if resolver.budget == 0 {
                return Err(too_large());
            }
            let mut chain = vec![name.clone()];
            resolver
                .resolve_body(name, body, &mut chain)
                .map(|(mapping, _height)| mapping)
        })
        .collect()
}

struct Resolver<'a> {
    entries: &'a HashMap<String, Mapping>,
    /// Resolved bases: the body, its height (entries in its longest `extends` chain, itself included)
    /// and its weight.
    cache: HashMap<String, (Mapping, usize, usize)>,
    budget: usize,
}

impl Resolver<'_> {
    fn resolve_body(
        &mut self,
        job: &str,
        body: &Mapping,
        chain: &mut Vec<String>,
    ) -> Result<(Mapping, usize), String> {
        let key = Value::String("extends".to_string());
        let Some(extends) = body.get(&key) else {
            return Ok((body.clone(), 1));
        };
        let bases = base_names(extends).ok_or_else(|| {
            format!("jobs:{job}:extends config should be a string or an array of strings")
        })?;
        let mut merged: Option<Mapping> = None;
        let mut height = 1;
        for base in bases {
            let (resolved, base_height) = self.resolve_named(job, &base, chain)?;
            height = height.max(base_height + 1);
            match merged.as_mut() {
                Some(merged) => deep_merge(merged, resolved, 0),
                None => merged = Some(resolved),
            }
        }
        let mut merged = merged.unwrap_or_default();
        let mut own = body.clone();
        own.remove(&key);
        deep_merge(&mut merged, own, 0);
        Ok((merged, height))
    }

    fn resolve_named(
        &mut self,
        job: &str,
        base: &str,
        chain: &mut Vec<String>,
    ) -> Result<(Mapping, usize), String> {
        if chain.iter().any(|seen| seen == base) {
            return Err(format!(
                "jobs:{job} circular dependency detected in `extends`"
            ));
        }
        if chain.len() >= MAX_EXTENDS_DEPTH {
            return Err(format!("jobs:{job} nesting too deep in `extends`"));
        }
        if let Some((done, height, cost)) = self.cache.get(base) {
            if chain.len() + height > MAX_EXTENDS_DEPTH {
                return Err(format!("jobs:{job} nesting too deep in `extends`"));
            }
            // Charged before copying, so a huge template used many times stops early.
            return match self.budget.checked_sub(*cost) {
                Some(left) => {
                    self.budget = left;
                    Ok((done.clone(), *height))
                }
                None => {
                    self.budget = 0;
                    Err(too_large())
                }
            };
        }
        let body = self
            .entries
            .get(base)
            .ok_or_else(|| format!("jobs:{job} unknown key in `extends` ({base})"))?;
        chain.push(base.to_string());
        let resolved = self.resolve_body(job, body, chain);
        chain.pop();
        let (resolved, height) = resolved?;
        let cost = mapping_weight(&resolved, self.budget.saturating_add(1));
        let Some(left) = self.budget.checked_sub(cost) else {
            self.budget = 0;
            return Err(too_large());
        };
        self.budget = left;
        self.cache
            .insert(base.to_string(), (resolved.clone(), height, cost));
        Ok((resolved, height))
    }
}

fn too_large() -> String {
    "the configuration is too large once `extends` is resolved".to_string()
}

fn base_names(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(name) => Some(vec![name.clone()]),
        Value::Sequence(items) if items.len() <= 50 => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// Merges `overlay` into `base`: nested hashes merge, other values replace.
pub(crate) fn deep_merge(base: &mut Mapping, overlay: Mapping, depth: usize) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(existing)), Value::Mapping(incoming)) if depth < MAX_DEPTH => {
                deep_merge(existing, incoming, depth + 1);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(yaml: &str) -> (Vec<(String, Mapping)>, HashMap<String, Mapping>) {
        let value: Mapping = serde_yaml::from_str(yaml).unwrap();
        let mut all = HashMap::new();
        let mut jobs = Vec::new();
        for (k, v) in value {
            let name = k.as_str().unwrap().to_string();
            let body = v.as_mapping().cloned().unwrap();
            if !name.starts_with('.') {
                jobs.push((name.clone(), body.clone()));
            }
            all.insert(name, body);
        }
        (jobs, all)
    }

    #[test]
    fn deep_merges_hashes_and_replaces_lists() {
        let (jobs, all) = entries(
            ".base: {variables: {A: '1', B: '1'}, script: [a], tags: [x]}\n\
             .mid: {extends: .base, variables: {B: '2'}}\n\
             job: {extends: [.mid], script: [b], variables: {C: '3'}}\n",
        );
        let resolved = resolve_all(&jobs, &all).remove(0).unwrap();
        let vars = resolved.get("variables").unwrap();
        assert_eq!(vars["A"], Value::from("1"));
        assert_eq!(vars["B"], Value::from("2"));
        assert_eq!(vars["C"], Value::from("3"));
        assert_eq!(resolved.get("script").unwrap()[0], Value::from("b"));
        assert_eq!(resolved.get("tags").unwrap()[0], Value::from("x"));
        assert!(resolved.get("extends").is_none());
    }

    #[test]
    fn cycles_unknown_bases_and_depth() {
        let (jobs, all) = entries(".a: {extends: .b}\n.b: {extends: .a}\njob: {extends: .a}\n");
        let err = resolve_all(&jobs, &all).remove(0).unwrap_err();
        assert!(err.contains("circular dependency"), "{err}");

        let (jobs, all) = entries("job: {extends: .nope}\n");
        let err = resolve_all(&jobs, &all).remove(0).unwrap_err();
        assert_eq!(err, "jobs:job unknown key in `extends` (.nope)");

        let mut text = String::from(".t0: {script: [x]}\n");
        for i in 1..=12 {
            text.push_str(&format!(".t{i}: {{extends: .t{}}}\n", i - 1));
        }
        text.push_str("ok: {extends: .t9}\njob: {extends: .t12}\n");
        let (mut jobs, all) = entries(&text);
        jobs.sort_by(|a, b| b.0.cmp(&a.0));
        assert_eq!(jobs[0].0, "ok");
        let results = resolve_all(&jobs, &all);
        assert!(results[0].is_ok());
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .contains("nesting too deep")
        );
    }
}
