//! Getting the sources: the git commands of a fetch, and repository URLs fit for logs.

use std::path::Path;
use std::process::Command;

use crate::payload::GitInfo;

/// The URL without `user:password@` (for the trace and logs).
pub fn clean_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) if !scheme.is_empty() => format!("{scheme}{}{tail}", &authority[at + 1..]),
        _ => url.to_string(),
    }
}

/// The refspecs to fetch: the server's, or the commit itself when it sent none.
pub fn refspecs(info: &GitInfo) -> Vec<String> {
    let given: Vec<String> = info
        .refspecs
        .iter()
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .collect();
    if !given.is_empty() {
        return given;
    }
    if !info.sha.is_empty() {
        return vec![format!("+{}:refs/tinforge/job", info.sha)];
    }
    ref_refspec(info).into_iter().collect()
}

/// A refspec for the branch or tag, the fallback when fetching the commit by id fails.
pub fn ref_refspec(info: &GitInfo) -> Option<String> {
    if info.r#ref.is_empty() {
        return None;
    }
    let r = info.r#ref.as_str();
    Some(if r.starts_with("refs/") {
        format!("+{r}:{r}")
    } else if info.ref_type == "tag" {
        format!("+refs/tags/{r}:refs/tags/{r}")
    } else {
        format!("+refs/heads/{r}:refs/remotes/origin/{r}")
    })
}

/// The `git fetch` arguments.
pub fn fetch_args(info: &GitInfo, specs: &[String]) -> Vec<String> {
    let mut args = vec![
        "-c".to_string(),
        "credential.helper=".to_string(),
        "fetch".to_string(),
        "--no-recurse-submodules".to_string(),
    ];
    if info.depth > 0 {
        args.push("--depth".to_string());
        args.push(info.depth.to_string());
    }
    args.push(info.repo_url.clone());
    args.extend(specs.iter().cloned());
    args
}

/// A git command in `dir` that never prompts and ignores the user's and system's config.
pub fn command(dir: &Path, args: &[String], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_ASKPASS", "true")
        .env("GCM_INTERACTIVE", "never");
    cmd
}

/// The first 8 characters of a commit id.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials() {
        assert_eq!(
            clean_url("http://gitlab-ci-token:abc@host:8080/g/p.git"),
            "http://host:8080/g/p.git"
        );
        assert_eq!(
            clean_url("https://user:p@ss@host/p.git?x=a@b"),
            "https://host/p.git?x=a@b"
        );
        assert_eq!(clean_url("https://host/a@b.git"), "https://host/a@b.git");
        assert_eq!(clean_url("https://host"), "https://host");
        assert_eq!(clean_url("/local/path"), "/local/path");
    }

    #[test]
    fn refspecs_default_to_the_commit_then_the_ref() {
        let mut info = GitInfo {
            sha: "abc".into(),
            r#ref: "main".into(),
            ref_type: "branch".into(),
            depth: 5,
            repo_url: "http://x/y.git".into(),
            ..GitInfo::default()
        };
        assert_eq!(refspecs(&info), vec!["+abc:refs/tinforge/job"]);
        assert_eq!(
            ref_refspec(&info).unwrap(),
            "+refs/heads/main:refs/remotes/origin/main"
        );
        info.ref_type = "tag".into();
        assert_eq!(
            ref_refspec(&info).unwrap(),
            "+refs/tags/main:refs/tags/main"
        );
        info.refspecs = vec!["+refs/pipelines/1".into()];
        assert_eq!(refspecs(&info), vec!["+refs/pipelines/1"]);
        let args = fetch_args(&info, &refspecs(&info));
        assert!(args.windows(2).any(|w| w == ["--depth", "5"]));
        assert_eq!(args.last().unwrap(), "+refs/pipelines/1");
    }
}
