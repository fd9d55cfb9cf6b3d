//! Pipelines in tests: committing a CI file through the repository API, registering a runner,
//! running the real `tinforge runner` binary beside the server, and waiting for pipelines.

#![allow(dead_code)]

use super::{BIN, Server};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Commits `files` (path → content) on `branch` of project `id` (creating or updating each).
pub fn commit_files(s: &Server, token: &str, id: i64, branch: &str, files: &[(&str, &str)]) {
    let tree = s.get(
        &format!("/api/v4/projects/{id}/repository/tree?ref={branch}&per_page=100"),
        token,
    );
    let existing: Vec<String> = tree
        .json
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["path"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let actions: Vec<Value> = files
        .iter()
        .map(|(path, content)| {
            let action = if existing.iter().any(|e| e == path) {
                "update"
            } else {
                "create"
            };
            json!({"action": action, "file_path": path, "content": content})
        })
        .collect();
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{id}/repository/commits"),
        Some(token),
        Some(json!({"branch": branch, "commit_message": "ci", "actions": actions})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

/// A project runner for project `id`, created by `token`'s user (a Maintainer); its token.
pub fn project_runner(s: &Server, token: &str, id: i64, tags: &[&str]) -> String {
    let r = s.call(
        "POST",
        "/api/v4/user/runners",
        Some(token),
        Some(json!({"runner_type": "project_type", "project_id": id,
                    "description": "test runner", "tag_list": tags.join(","),
                    "run_untagged": tags.is_empty()})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.json["token"].as_str().expect("runner token").to_string();
    assert!(t.starts_with("tfrun-"), "{t}");
    t
}

/// The real runner binary, polling `s` until dropped.
pub struct Runner {
    child: Child,
    pub work_dir: tempfile::TempDir,
}

impl Runner {
    pub fn start(s: &Server, token: &str) -> Runner {
        Runner::start_with(s, token, &[])
    }

    pub fn start_with(s: &Server, token: &str, extra: &[&str]) -> Runner {
        let work_dir = tempfile::tempdir().expect("work dir");
        let child = Command::new(BIN)
            .args(["runner", "--url", &s.url, "--token", token, "--work-dir"])
            .arg(work_dir.path())
            .args(["--poll-interval", "0.2"])
            .args(extra)
            .env("TINFORGE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work_dir.path().join("runner.log")).expect("runner log"))
            .spawn()
            .expect("start the runner");
        Runner { child, work_dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.work_dir.path().join("runner.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the runner to exit (after a signal), at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- runner log ----\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FINISHED: [&str; 4] = ["success", "failed", "canceled", "skipped"];

/// Polls pipeline `pipeline` of project `id` until its status is finished (or `limit` passes);
/// returns its JSON.
pub fn wait_pipeline(s: &Server, token: &str, id: i64, pipeline: i64, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let p = s.get(
            &format!("/api/v4/projects/{id}/pipelines/{pipeline}"),
            token,
        );
        assert_eq!(p.status, 200, "{}", p.text);
        let status = p.json["status"].as_str().unwrap_or_default().to_string();
        if FINISHED.contains(&status.as_str()) {
            return p.json;
        }
        assert!(
            started.elapsed() < limit,
            "pipeline {pipeline} still {status} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls job `job` until `pred` holds for its JSON.
pub fn wait_job(
    s: &Server,
    token: &str,
    id: i64,
    job: i64,
    limit: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let j = s.get(&format!("/api/v4/projects/{id}/jobs/{job}"), token);
        assert_eq!(j.status, 200, "{}", j.text);
        if pred(&j.json) {
            return j.json;
        }
        assert!(
            started.elapsed() < limit,
            "job {job} is {} after {limit:?}",
            j.json["status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The jobs of a pipeline, by name → JSON.
pub fn jobs_by_name(s: &Server, token: &str, id: i64, pipeline: i64) -> Vec<(String, Value)> {
    let r = s.get(
        &format!("/api/v4/projects/{id}/pipelines/{pipeline}/jobs?per_page=100"),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["name"].as_str().unwrap_or_default().to_string(),
                j.clone(),
            )
        })
        .collect()
}

/// A job's log.
pub fn trace(s: &Server, token: &str, id: i64, job: i64) -> String {
    let r = s.get(&format!("/api/v4/projects/{id}/jobs/{job}/trace"), token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

/// The newest pipeline of `ref_name`, waiting until one exists (push pipelines are created
/// just after the push is answered).
pub fn latest_pipeline(s: &Server, token: &str, id: i64, ref_name: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let r = s.get(
            &format!("/api/v4/projects/{id}/pipelines?ref={ref_name}"),
            token,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        if let Some(p) = r.json.as_array().and_then(|a| a.first()) {
            return p.clone();
        }
        assert!(started.elapsed() < limit, "no pipeline for {ref_name}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
