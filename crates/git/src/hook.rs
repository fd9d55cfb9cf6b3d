//! The `pre-receive` hook logic, run as `tinforge git-hook pre-receive` by the hook script tinforge
//! installs in each repository. It runs inside git's quarantine (the pushed objects are visible,
//! not yet part of the repository) with the project's protected-branch rules in
//! `TINFORGE_PROTECTED_BRANCHES`, and refuses deletions and, unless allowed, force-pushes of
//! protected branches. git then refuses the whole push (`pre-receive hook declined`) and shows our
//! message as `remote: …`.

use crate::protected::{self, Rule};
use crate::push::is_zero;
use std::io::{BufRead, Write};
use std::process::{Command, ExitCode, Stdio};

/// The environment variable that carries the rules (see [`protected::encode_rules`]).
pub const RULES_ENV: &str = "TINFORGE_PROTECTED_BRANCHES";
/// The tinforge binary the hook script calls back.
pub const BIN_ENV: &str = "TINFORGE_HOOK_BIN";

/// Runs the named hook; unknown hooks refuse, so a typo cannot open a door.
pub fn run(name: &str) -> ExitCode {
    match name {
        "pre-receive" => {
            let rules = protected::decode_rules(&std::env::var(RULES_ENV).unwrap_or_default());
            let stdin = std::io::stdin();
            let lines: Vec<String> = stdin.lock().lines().map_while(Result::ok).collect();
            let refusals = pre_receive(&rules, &lines, &is_ancestor);
            if refusals.is_empty() {
                ExitCode::SUCCESS
            } else {
                let mut err = std::io::stderr().lock();
                for r in refusals {
                    let _ = writeln!(err, "tinforge: {r}");
                }
                ExitCode::FAILURE
            }
        }
        other => {
            eprintln!("tinforge: unknown hook {other:?}");
            ExitCode::FAILURE
        }
    }
}

/// The refusals for pre-receive input lines (`<old> <new> <ref>`); empty: accept.
pub fn pre_receive(
    rules: &[Rule],
    lines: &[String],
    is_ancestor: &dyn Fn(&str, &str) -> Option<bool>,
) -> Vec<String> {
    let mut refusals = Vec::new();
    for line in lines {
        let mut parts = line.split_whitespace();
        let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            refusals.push(format!("unreadable ref update {line:?}"));
            continue;
        };
        let Some(branch) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        let Some(p) = protected::protection(rules, branch) else {
            continue;
        };
        if is_zero(new) {
            refusals.push(format!(
                "protected branch '{branch}' cannot be deleted (unprotect it first)"
            ));
        } else if !is_zero(old) && !p.allow_force_push {
            match is_ancestor(old, new) {
                Some(true) => {}
                Some(false) => refusals.push(format!(
                    "force-push to protected branch '{branch}' is not allowed \
                     (the push would drop commits; pull and merge or rebase first)"
                )),
                None => refusals.push(format!(
                    "could not verify that the push to protected branch '{branch}' is a fast-forward"
                )),
            }
        }
    }
    refusals
}

/// `git merge-base --is-ancestor old new` in the hook's environment (the quarantine included).
fn is_ancestor(old: &str, new: &str) -> Option<bool> {
    let status = Command::new("git")
        .args(["merge-base", "--is-ancestor", old, new])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn refuses_deletion_and_non_fast_forward_of_protected_branches_only() {
        let rules = vec![
            Rule {
                name: "main".into(),
                push_access_level: 40,
                allow_force_push: false,
            },
            Rule {
                name: "wip/*".into(),
                push_access_level: 30,
                allow_force_push: true,
            },
        ];
        let never = |_: &str, _: &str| Some(false);
        let always = |_: &str, _: &str| Some(true);
        let line = |o: &str, n: &str, r: &str| vec![format!("{o} {n} {r}")];
        assert!(pre_receive(&rules, &line(A, B, "refs/heads/main"), &always).is_empty());
        let r = pre_receive(&rules, &line(A, B, "refs/heads/main"), &never);
        assert!(r[0].contains("force-push"), "{r:?}");
        assert!(
            pre_receive(&rules, &line(A, Z, "refs/heads/main"), &always)[0].contains("deleted")
        );
        assert!(pre_receive(&rules, &line(A, B, "refs/heads/wip/x"), &never).is_empty());
        assert!(pre_receive(&rules, &line(A, B, "refs/heads/other"), &never).is_empty());
        assert!(pre_receive(&rules, &line(Z, B, "refs/heads/main"), &never).is_empty());
        assert!(pre_receive(&rules, &line(A, B, "refs/tags/main"), &never).is_empty());
        let unsure = |_: &str, _: &str| None;
        assert!(!pre_receive(&rules, &line(A, B, "refs/heads/main"), &unsure).is_empty());
    }
}
