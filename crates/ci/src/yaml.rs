//! Loads CI YAML into a `serde_yaml::Value` with a size budget (so alias bombs stop early),
//! then applies `<<` merge keys.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_yaml::{Mapping, Value};
use std::cell::Cell;
use std::fmt;

/// The expanded document may weigh at most this many units (bytes of text plus 8 per node).
const EXPANDED_BUDGET: usize = 8 << 20;
/// Deepest nesting of mappings and sequences accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a document could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoadError {
    /// Aliases expand to more than the budget.
    TooLarge,
    /// Nesting deeper than `MAX_DEPTH`.
    TooDeep,
    /// A YAML tag such as `!reference`.
    Tagged,
    /// Not valid YAML.
    Syntax(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::TooLarge => {
                f.write_str("the configuration is too large once YAML aliases are expanded")
            }
            LoadError::TooDeep => write!(
                f,
                "the configuration is nested deeper than {MAX_DEPTH} levels"
            ),
            LoadError::Tagged => f.write_str("YAML tags such as !reference are not supported"),
            LoadError::Syntax(message) => write!(f, "Invalid configuration format: {message}"),
        }
    }
}

/// Nesting the pre-scan lets through to the YAML parser, whose cost grows with the square of the depth.
const SCAN_DEPTH_LIMIT: usize = 256;

/// Parses `text` into a value, bounded in size and depth, with merge keys applied.
pub(crate) fn load(text: &str) -> Result<Value, LoadError> {
    if nesting_exceeds(text, SCAN_DEPTH_LIMIT) {
        return Err(LoadError::TooDeep);
    }
    let state = LoadState {
        budget: Cell::new(EXPANDED_BUDGET),
        failure: Cell::new(None),
    };
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let result = BoundedValue {
        state: &state,
        depth: 0,
    }
    .deserialize(deserializer);
    let mut value = match result {
        Ok(value) => value,
        Err(error) => {
            return Err(state
                .failure
                .take()
                .unwrap_or_else(|| LoadError::Syntax(first_line(&error.to_string()))));
        }
    };
    apply_merge_keys(&mut value, 0)?;
    Ok(value)
}

/// A cheap upper estimate of the document's nesting, looked at before the YAML parser (which is slow on
/// deep input): the depth of `[`/`{` outside quotes and comments, and the run of `- `/`? ` indicators that
/// open a line. Quotes end at the line's end here, so text cannot hide brackets from the scan.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let mut flow_depth = 0usize;
    for line in text.lines() {
        let content = line.trim_start_matches([' ', '\t']);
        let mut indicators = 0usize;
        let mut rest = content;
        while let Some(after) = rest
            .strip_prefix("- ")
            .or_else(|| rest.strip_prefix("? "))
            .or_else(|| rest.strip_prefix("-\t"))
        {
            indicators += 1;
            rest = after.trim_start_matches([' ', '\t']);
        }
        if indicators > limit {
            return true;
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                    previous = 'x';
                    continue;
                }
                Some(open) if c == open => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous == ' ' || previous == '\t' => break,
                    '\'' | '"' if matches!(previous, ' ' | '\t' | '[' | '{' | ',' | ':') => {
                        quote = Some(c)
                    }
                    '[' | '{' => {
                        flow_depth += 1;
                        if flow_depth > limit {
                            return true;
                        }
                    }
                    ']' | '}' => flow_depth = flow_depth.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
    }
    false
}

fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

struct LoadState {
    budget: Cell<usize>,
    failure: Cell<Option<LoadError>>,
}

impl LoadState {
    fn spend<E: de::Error>(&self, units: usize) -> Result<(), E> {
        match self.budget.get().checked_sub(units) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => self.fail(LoadError::TooLarge),
        }
    }

    fn fail<T, E: de::Error>(&self, error: LoadError) -> Result<T, E> {
        let message = error.to_string();
        self.failure.set(Some(error));
        Err(E::custom(message))
    }
}

/// A seed that builds a `Value` while charging every node and byte against the budget.
#[derive(Clone, Copy)]
struct BoundedValue<'a> {
    state: &'a LoadState,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl BoundedValue<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_DEPTH {
            return self.state.fail(LoadError::TooDeep);
        }
        self.state.spend(8)?;
        Ok(BoundedValue {
            state: self.state,
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.state.spend(8)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.state.spend(8)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.state.spend(8)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.state.spend(8)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.state.spend(8 + v.len())?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.state.spend(8 + v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.state.spend(8)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.nested()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.nested()?;
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(child)? {
            let value = map.next_value_seed(child)?;
            mapping.insert(key, value);
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
        self.state.fail(LoadError::Tagged)
    }
}

/// Applies YAML merge keys (`<<: *anchor` or `<<: [*a, *b]`): the mapping's own keys win, then earlier
/// merge sources over later ones. Merge sources are merged themselves first, so chains work.
fn apply_merge_keys(value: &mut Value, depth: usize) -> Result<(), LoadError> {
    if depth > MAX_DEPTH {
        return Err(LoadError::TooDeep);
    }
    match value {
        Value::Mapping(mapping) => {
            let merge_key = Value::String("<<".to_string());
            let sources = mapping.remove(&merge_key);
            for (_, child) in mapping.iter_mut() {
                apply_merge_keys(child, depth + 1)?;
            }
            let sources = match sources {
                None => Vec::new(),
                Some(Value::Sequence(items)) => items,
                Some(single) => vec![single],
            };
            for mut source in sources {
                apply_merge_keys(&mut source, depth + 1)?;
                let Value::Mapping(source) = source else {
                    return Err(LoadError::Syntax(
                        "the value of a << merge key must be a mapping or a list of mappings"
                            .to_string(),
                    ));
                };
                for (key, item) in source {
                    if !mapping.contains_key(&key) {
                        mapping.insert(key, item);
                    }
                }
            }
            Ok(())
        }
        Value::Sequence(items) => items
            .iter_mut()
            .try_for_each(|item| apply_merge_keys(item, depth + 1)),
        _ => Ok(()),
    }
}

/// A scalar key or value as text: strings as they are, numbers and booleans spelled out.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The weight of a mapping (nodes, plus a unit per 16 bytes of text), counted up to just past `limit`.
pub(crate) fn mapping_weight(mapping: &Mapping, limit: usize) -> usize {
    let mut stack: Vec<&Value> = Vec::with_capacity(mapping.len() * 2);
    for (key, item) in mapping {
        stack.push(key);
        stack.push(item);
    }
    weigh(stack, limit)
}

fn weigh(mut stack: Vec<&Value>, limit: usize) -> usize {
    let mut total = 0usize;
    while let Some(node) = stack.pop() {
        total += 1;
        if total > limit {
            break;
        }
        match node {
            Value::Mapping(mapping) => {
                for (key, item) in mapping {
                    stack.push(key);
                    stack.push(item);
                }
            }
            Value::Sequence(items) => stack.extend(items.iter()),
            Value::String(text) => total += text.len() / 16,
            _ => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn merge_keys_and_chains() {
        let value = load(
            "a: &a {x: 1, y: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\nd: {<<: [*b, {w: 4}], x: 0}\n",
        )
        .unwrap();
        assert_eq!(value["c"]["x"], Value::from(1));
        assert_eq!(value["c"]["y"], Value::from(2));
        assert_eq!(value["c"]["z"], Value::from(3));
        assert_eq!(value["d"]["x"], Value::from(0));
        assert_eq!(value["d"]["w"], Value::from(4));
        assert!(value["c"].get("<<").is_none());
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut text = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in 1..=10 {
            let prev = level - 1;
            let refs = vec![format!("*a{prev}"); 9].join(",");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        let started = Instant::now();
        let result = load(&text);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn one_big_anchor_repeated_is_refused() {
        let big = "x".repeat(200_000);
        let mut text = format!("a: &a \"{big}\"\nb: [");
        text.push_str(&vec!["*a"; 2000].join(","));
        text.push_str("]\n");
        assert_eq!(load(&text), Err(LoadError::TooLarge));
    }

    #[test]
    fn deep_input_is_refused_before_parsing() {
        let started = Instant::now();
        let flow = format!("a: {}1{}", "[".repeat(500_000), "]".repeat(500_000));
        assert_eq!(load(&flow), Err(LoadError::TooDeep));
        let compact = format!("a:\n{}x\n", "- ".repeat(500_000));
        assert_eq!(load(&compact), Err(LoadError::TooDeep));
        // A block scalar cannot hide brackets from the scan with an opening quote.
        let hidden = format!(
            "a: |\n  '\nb: {}1{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(load(&hidden), Err(LoadError::TooDeep));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn deep_nesting_and_tags_are_refused() {
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        assert!(load(&deep).is_err());
        let deep_map = (0..100).fold(String::from("x"), |acc, _| format!("{{a: {acc}}}"));
        assert!(load(&deep_map).is_err());
        assert_eq!(load("a: !reference [.x, script]"), Err(LoadError::Tagged));
    }

    #[test]
    fn plain_documents_load() {
        assert_eq!(load("").unwrap(), Value::Null);
        let value = load("a: [1, true, ~, 'x']").unwrap();
        assert_eq!(value["a"][0], Value::from(1));
        assert!(load("a: [unclosed").is_err());
        assert!(load("a: {b: [1, 2]}\nc: '[[[['\nd: \"{{{{\"\ne: x # [[[[\n").is_ok());
    }
}
