//! The real `git` client, run with a clean environment (no user or system configuration, no
//! prompts), against the server under test.

use super::Server;
use std::path::Path;
use std::process::Command;

/// `git args` in `cwd` (also its HOME): its output, or what `git` said when it failed.
pub fn try_git(cwd: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// `git args` in `cwd`, which must succeed.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    try_git(cwd, args).unwrap_or_else(|text| panic!("git {args:?} failed:\n{text}"))
}

/// The clone URL of project `full_path` with `token` as the password.
pub fn clone_url(s: &Server, token: &str, full_path: &str) -> String {
    s.url.replacen("http://", &format!("http://x:{token}@"), 1) + "/" + full_path + ".git"
}
