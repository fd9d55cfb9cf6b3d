//! Protected branches as pushes meet them: the rules (exact names or `*` wildcards) and how they
//! judge a push. Managing them over REST is `tinforge-api`'s `protected_branches` module.

use tinforge_authz::Role;
use tinforge_store::protected_branches::{ProtectedBranch, matches};

/// What the protections matching one branch say together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// The matching rule names, for messages.
    pub names: Vec<String>,
    /// The lowest role that may push (the most permissive matching rule), None: no one.
    pub push_role: Option<Role>,
    /// Force-pushes only when every matching rule allows them.
    pub allow_force_push: bool,
}

/// The protection of `branch` (a name without `refs/heads/`), None when unprotected.
pub fn protection<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    branch: &str,
) -> Option<Protection> {
    let hits: Vec<&Rule> = rules
        .into_iter()
        .filter(|r| matches(&r.name, branch))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let push_role = hits
        .iter()
        .filter(|r| r.push_access_level > 0)
        .filter_map(|r| Role::from_access_level(r.push_access_level))
        .min();
    Some(Protection {
        names: hits.iter().map(|r| r.name.clone()).collect(),
        push_role,
        allow_force_push: hits.iter().all(|r| r.allow_force_push),
    })
}

/// The part of a protection the push path needs, also what the hook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub push_access_level: i32,
    pub allow_force_push: bool,
}

impl From<&ProtectedBranch> for Rule {
    fn from(p: &ProtectedBranch) -> Self {
        Rule {
            name: p.name.clone(),
            push_access_level: p.push_access_level,
            allow_force_push: p.allow_force_push,
        }
    }
}

/// Rules as one environment value for the pre-receive hook: `<0|1 force>\t<name>` per line.
pub fn encode_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}",
                u8::from(r.allow_force_push),
                r.push_access_level,
                r.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn decode_rules(text: &str) -> Vec<Rule> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let force = parts.next()? == "1";
            let level = parts.next()?.parse().ok()?;
            let name = parts.next()?.to_string();
            Some(Rule {
                name,
                push_access_level: level,
                allow_force_push: force,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, level: i32, force: bool) -> Rule {
        Rule {
            name: name.into(),
            push_access_level: level,
            allow_force_push: force,
        }
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        assert!(matches("main", "main"));
        assert!(!matches("main", "main2"));
        assert!(matches("release/*", "release/1.0"));
        assert!(matches("release/*", "release/a/b"));
        assert!(!matches("release/*", "releases/1"));
        assert!(matches("*-stable", "13-stable"));
        assert!(matches("*", "anything"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn the_most_permissive_push_level_and_the_strictest_force_rule_win() {
        let rules = [
            rule("main", 40, true),
            rule("*", 30, false),
            rule("rel*", 0, true),
        ];
        let p = protection(&rules, "main").unwrap();
        assert_eq!(p.push_role, Some(Role::Developer));
        assert!(!p.allow_force_push);
        assert_eq!(protection(&rules[..1], "dev"), None);
        let p = protection(&rules[2..], "release").unwrap();
        assert_eq!(p.push_role, None);
        assert!(p.allow_force_push);
        assert_eq!(decode_rules(&encode_rules(&rules)), rules.to_vec());
    }
}
