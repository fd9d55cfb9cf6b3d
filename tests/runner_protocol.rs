//! The runner protocol driven by hand over HTTP, exactly as gitlab-runner speaks it, on SQLite
//! and PostgreSQL: verify, `jobs/request` with GitLab's payload (the job token in the clone URL,
//! the predefined variables, steps, artifacts, refspecs), the long poll's 204 with
//! `X-GitLab-Last-Update`, a real `git clone` of the payload's URL, trace patches (202, 416 on a
//! wrong start, 400 without `Content-Range`), artifacts up and down between stages, `PUT` success
//! releasing the next stage, the job token dead after the job; paused runners, tags, two runners
//! racing for one job; legacy registration with a project's registration token, unregister and
//! token reset.

mod common;

use common::ci::{commit_files, jobs_by_name, latest_pipeline, project_runner, wait_job};
use common::git::{clone_url, git, try_git};
use common::{Reply, Server, backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// Every backend with a short long poll (1 s), so "no job" answers come quickly.
fn each_server(test: impl Fn(&Server)) {
    for backend in backends() {
        let s = Server::start(&backend, &[("TINFORGE_RUNNER_LONG_POLL_SECONDS", "1")]);
        eprintln!("-- on {:?}", s.backend_name());
        test(&s);
    }
}

fn project(s: &Server, token: &str, path: &str) -> i64 {
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(token),
        Some(json!({"name": path, "path": path, "visibility": "private",
                    "default_branch": "main"})),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    p.json["id"].as_i64().unwrap()
}

fn post(s: &Server, path: &str, body: Value) -> Reply {
    Reply::from(
        s.request("POST", path)
            .set("Accept", "application/json")
            .send_json(body),
    )
}

fn info() -> Value {
    json!({"name": "gitlab-runner", "version": "19.4.0", "revision": "d79f3e7b",
           "platform": "linux", "architecture": "amd64", "executor": "shell",
           "features": {"variables": true, "artifacts": true, "refspecs": true, "masking": true,
                        "trace_checksum": true, "trace_size": true, "cancelable": true}})
}

fn request_job(s: &Server, runner: &str, last_update: &str) -> Reply {
    Reply::from(
        s.request("POST", "/api/v4/jobs/request")
            .set("Accept", "application/json")
            .set("RUNNER-TOKEN", runner)
            .send_json(json!({"token": runner, "system_id": "s_0123456789ab",
                              "last_update": last_update, "info": info()})),
    )
}

/// Polls until a job comes (the engine releases jobs right after the triggering request).
fn wait_for_job(s: &Server, runner: &str) -> Value {
    let started = Instant::now();
    loop {
        let r = request_job(s, runner, "");
        if r.status == 201 {
            assert_eq!(
                r.header("content-type"),
                Some("application/json"),
                "{:?}",
                r.headers
            );
            return r.json;
        }
        assert_eq!(r.status, 204, "{}", r.text);
        assert!(started.elapsed() < LIMIT, "no job for the runner");
    }
}

fn put_job(s: &Server, id: i64, job_token: &str, body: Value) -> Reply {
    let mut body = body;
    body["token"] = json!(job_token);
    Reply::from(
        s.request("PUT", &format!("/api/v4/jobs/{id}"))
            .set("JOB-TOKEN", job_token)
            .set("Accept", "application/json")
            .send_json(body),
    )
}

fn patch_trace(s: &Server, id: i64, job_token: &str, range: Option<&str>, data: &[u8]) -> Reply {
    let mut r = s
        .request("PATCH", &format!("/api/v4/jobs/{id}/trace"))
        .set("JOB-TOKEN", job_token)
        .set("Content-Type", "text/plain");
    if let Some(range) = range {
        r = r.set("Content-Range", range);
    }
    Reply::from(r.send_bytes(data))
}

fn upload(s: &Server, id: i64, job_token: &str, data: &[u8]) -> Reply {
    let boundary = "----tfboundary42";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"artifacts.zip\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Reply::from(
        s.request(
            "POST",
            &format!("/api/v4/jobs/{id}/artifacts?artifact_format=zip&artifact_type=archive&expire_in=1%20day"),
        )
        .set("JOB-TOKEN", job_token)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(&body),
    )
}

fn download(s: &Server, id: i64, job_token: &str) -> (u16, Vec<u8>, Option<String>) {
    let res = s
        .request("GET", &format!("/api/v4/jobs/{id}/artifacts"))
        .set("JOB-TOKEN", job_token)
        .call();
    let res = match res {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = res.status();
    let content_type = res.header("content-type").map(str::to_string);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut bytes).unwrap();
    (status, bytes, content_type)
}

fn variable<'a>(payload: &'a Value, key: &str) -> &'a Value {
    payload["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .find(|v| v["key"] == key)
        .unwrap_or_else(|| panic!("no variable {key}"))
}

const PIPELINE: &str = r#"
stages: [build, test]
build:
  stage: build
  before_script:
    - echo before
  script:
    - echo "building"
  after_script:
    - echo after
  artifacts:
    paths: [out.txt]
    expire_in: 2 days
test:
  stage: test
  script:
    - echo testing
"#;

#[test]
fn a_job_by_hand_from_request_to_success() {
    each_server(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);

        // verify, as `gitlab-runner register --token` does.
        let v = post(
            s,
            "/api/v4/runners/verify",
            json!({"token": runner, "system_id": "s_0123456789ab"}),
        );
        assert_eq!(v.status, 200, "{}", v.text);
        assert_eq!(v.json["token"], runner.as_str());
        assert!(v.json["id"].as_i64().is_some());
        assert!(v.json.get("token_expires_at").is_some());
        let bad = post(
            s,
            "/api/v4/runners/verify",
            json!({"token": "tfrun-nonsense"}),
        );
        assert_eq!(bad.status, 403, "{}", bad.text);
        // A personal token is no runner token.
        assert_eq!(request_job(s, &t, "").status, 403);

        // Nothing to do yet: 204 with the queue marker, after the (short) long poll.
        let started = Instant::now();
        let none = request_job(s, &runner, "");
        assert_eq!(none.status, 204, "{}", none.text);
        assert!(none.header("x-gitlab-last-update").is_some());
        assert!(started.elapsed() >= Duration::from_millis(900));

        commit_files(s, &t, id, "main", &[(".gitlab-ci.yml", PIPELINE)]);
        let pipeline = latest_pipeline(s, &t, id, "main", LIMIT);
        let pid = pipeline["id"].as_i64().unwrap();
        let job = wait_for_job(s, &runner);
        let jid = job["id"].as_i64().unwrap();
        let jt = job["token"].as_str().unwrap().to_string();
        assert!(jt.starts_with("tfjob-"), "{jt}");
        assert_eq!(job["allow_git_fetch"], true);
        assert_eq!(job["job_info"]["name"], "build");
        assert_eq!(job["job_info"]["stage"], "build");
        assert_eq!(job["job_info"]["project_id"], id);
        assert_eq!(job["job_info"]["project_full_path"], "alice/app");
        assert_eq!(job["job_info"]["pipeline_id"], pid);
        assert!(job["job_info"]["time_in_queue_seconds"].is_number());
        let git_info = &job["git_info"];
        let repo_url = git_info["repo_url"].as_str().unwrap().to_string();
        assert!(
            repo_url.contains(&format!("gitlab-ci-token:{jt}@")),
            "{repo_url}"
        );
        assert!(repo_url.ends_with("/alice/app.git"), "{repo_url}");
        assert_eq!(git_info["ref"], "main");
        assert_eq!(git_info["ref_type"], "branch");
        assert_eq!(git_info["repo_object_format"], "sha1");
        assert_eq!(git_info["depth"], 20);
        let sha = git_info["sha"].as_str().unwrap().to_string();
        assert_eq!(
            git_info["refspecs"],
            json!([
                format!("+{sha}:refs/pipelines/{pid}"),
                "+refs/heads/main:refs/remotes/origin/main"
            ])
        );
        assert_eq!(job["runner_info"]["timeout"], 3600);
        let token_var = variable(&job, "CI_JOB_TOKEN");
        assert_eq!(token_var["value"], jt.as_str());
        assert_eq!(token_var["masked"], true);
        assert_eq!(token_var["public"], false);
        for v in job["variables"].as_array().unwrap() {
            for field in ["key", "value", "public", "masked", "file", "raw"] {
                assert!(v.get(field).is_some(), "{field} missing in {v}");
            }
        }
        assert_eq!(variable(&job, "CI_PIPELINE_SOURCE")["value"], "push");
        assert_eq!(variable(&job, "CI_COMMIT_SHA")["value"], sha.as_str());
        let steps = job["steps"].as_array().unwrap();
        assert_eq!(steps[0]["name"], "script");
        assert_eq!(
            steps[0]["script"],
            json!(["echo before", "echo \"building\""])
        );
        assert_eq!(steps[0]["when"], "on_success");
        assert_eq!(steps[0]["allow_failure"], false);
        assert_eq!(steps[0]["timeout"], 3600);
        assert_eq!(steps[1]["name"], "after_script");
        assert_eq!(steps[1]["when"], "always");
        assert_eq!(steps[1]["allow_failure"], true);
        assert_eq!(job["artifacts"][0]["paths"], json!(["out.txt"]));
        assert_eq!(job["artifacts"][0]["artifact_type"], "archive");
        assert_eq!(job["artifacts"][0]["artifact_format"], "zip");
        assert_eq!(job["artifacts"][0]["expire_in"], "172800 seconds");
        assert_eq!(job["credentials"][0]["username"], "gitlab-ci-token");
        assert_eq!(job["credentials"][0]["password"], jt.as_str());
        assert_eq!(job["dependencies"], json!([]));
        assert_eq!(job["image"], Value::Null);
        assert!(
            job["features"]["failure_reasons"]
                .as_array()
                .unwrap()
                .contains(&json!("script_failure"))
        );

        // The only job is taken: the next poll finds nothing.
        let none = request_job(s, &runner, "");
        assert_eq!(none.status, 204);
        let marker = none.header("x-gitlab-last-update").unwrap().to_string();
        assert!(!marker.is_empty());

        // The job's clone URL works with the real git while the job runs, persistent ref included.
        let work = tempfile::tempdir().unwrap();
        git(work.path(), &["clone", "-q", &repo_url, "clone"]);
        assert!(work.path().join("clone/.gitlab-ci.yml").exists());
        let fetch = work.path().join("fetch");
        std::fs::create_dir(&fetch).unwrap();
        git(&fetch, &["init", "-q"]);
        let refspecs: Vec<String> = git_info["refspecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        let mut args = vec!["fetch", "-q", "--depth", "20", repo_url.as_str()];
        args.extend(refspecs.iter().map(String::as_str));
        git(&fetch, &args);
        assert_eq!(
            git(&fetch, &["rev-parse", &format!("refs/pipelines/{pid}")]).trim(),
            sha
        );

        // State and trace.
        let r = put_job(s, jid, &jt, json!({"state": "running"}));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("job-status"), Some("running"));
        assert_eq!(r.header("x-gitlab-trace-update-interval"), Some("3"));
        let r = patch_trace(s, jid, &jt, Some("0-5"), b"hello\n");
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(r.header("range"), Some("0-6"));
        assert_eq!(r.header("job-status"), Some("running"));
        // A resend of what is there is taken as such; a start past the end is refused with
        // the size to resume from.
        let r = patch_trace(s, jid, &jt, Some("0-5"), b"hello\nmore\n");
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(r.header("range"), Some("0-11"));
        let r = patch_trace(s, jid, &jt, Some("100-104"), b"later");
        assert_eq!(r.status, 416, "{}", r.text);
        assert_eq!(r.header("range"), Some("0-11"));
        let r = patch_trace(s, jid, &jt, None, b"x");
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json["message"], "400 Missing header Content-Range");
        let r = put_job(s, jid, &jt, json!({"state": "bogus"}));
        assert_eq!(r.status, 400, "{}", r.text);

        // A job this token does not belong to: 403 with that job's status.
        let jobs = jobs_by_name(s, &t, id, pid);
        let test_id = jobs.iter().find(|(n, _)| n == "test").unwrap().1["id"]
            .as_i64()
            .unwrap();
        let r = put_job(s, test_id, &jt, json!({"state": "success"}));
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.header("job-status"), Some("created"));
        assert_eq!(patch_trace(s, test_id, &jt, Some("0-0"), b"x").status, 403);
        assert_eq!(
            put_job(s, jid, "tfjob-bogus", json!({"state": "running"})).status,
            403
        );
        // The runner token is no personal token.
        assert_eq!(
            s.get(&format!("/api/v4/projects/{id}"), &runner).status,
            401
        );

        // Artifacts while the job runs.
        let archive: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let r = upload(s, jid, &jt, &archive);
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["artifacts_file"]["size"], archive.len());
        // Uploaded again: the archive is replaced.
        let r = upload(s, jid, &jt, &archive);
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(upload(s, test_id, &jt, b"x").status, 403);

        // Success: the next stage's job is released.
        let r = put_job(
            s,
            jid,
            &jt,
            json!({"state": "success", "exit_code": 0,
                   "output": {"checksum": "crc32:00000000", "bytesize": 11}}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("job-status"), Some("success"));
        wait_job(s, &t, id, test_id, LIMIT, |j| j["status"] == "pending");
        let log = s.get(&format!("/api/v4/projects/{id}/jobs/{jid}/trace"), &t);
        assert!(log.text.contains("hello\nmore\n"), "{}", log.text);

        // After the job its token is dead: REST, git, and the protocol itself.
        let rest = s
            .request("GET", &format!("/api/v4/projects/{id}"))
            .set("JOB-TOKEN", &jt)
            .call();
        assert_eq!(Reply::from(rest).status, 401);
        let ls = try_git(work.path(), &["ls-remote", &repo_url]);
        assert!(ls.is_err(), "git accepted a dead job token: {ls:?}");
        let r = put_job(s, jid, &jt, json!({"state": "success"}));
        assert_eq!(r.status, 403);
        assert_eq!(r.header("job-status"), Some("success"));
        let r = patch_trace(s, jid, &jt, Some("11-11"), b"x");
        assert_eq!(r.status, 403);
        assert_eq!(r.header("job-status"), Some("success"));

        // The next job gets the build's artifacts as a dependency, with its own token.
        let next = wait_for_job(s, &runner);
        assert_eq!(next["id"], test_id);
        let nt = next["token"].as_str().unwrap().to_string();
        assert_eq!(
            next["dependencies"],
            json!([{"id": jid, "name": "build", "token": nt,
                    "artifacts_file": {"filename": "artifacts.zip", "size": archive.len()}}])
        );
        let (status, bytes, content_type) = download(s, jid, &nt);
        assert_eq!(status, 200);
        assert_eq!(content_type.as_deref(), Some("application/zip"));
        assert_eq!(bytes, archive);
        let (status, _, _) = download(s, test_id, &nt);
        assert_eq!(status, 404);
        let (status, _, _) = download(s, jid, &jt);
        assert_eq!(status, 401, "a finished job's token reads nothing");

        // Canceling: the runner is told on its next update, and its final word ends it canceled.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/jobs/{test_id}/cancel"),
            Some(&t),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = put_job(s, test_id, &nt, json!({"state": "running"}));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("job-status"), Some("canceling"));
        let r = patch_trace(s, test_id, &nt, Some("0-2"), b"ok\n");
        assert_eq!(r.status, 202);
        assert_eq!(r.header("job-status"), Some("canceling"));
        let r = put_job(
            s,
            test_id,
            &nt,
            json!({"state": "failed", "failure_reason": "script_failure", "exit_code": 1}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("job-status"), Some("canceled"));
        wait_job(s, &t, id, test_id, LIMIT, |j| j["status"] == "canceled");
        // The pipeline is over: its persistent ref is gone.
        let refs = git(work.path(), &["ls-remote", &clone_url(s, &t, "alice/app")]);
        assert!(refs.contains("refs/heads/main"), "{refs}");
        assert!(!refs.contains("refs/pipelines/"), "{refs}");
    });
}

/// Pipelines only through the API (the commit's push pipeline is filtered out), so the jobs
/// are pending once `POST /pipeline` answers.
const WORKFLOW_API: &str = "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"api\"\n";
const API_ONLY_SOLO: &str =
    "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"api\"\nsolo:\n  script: [echo x]\n";

/// `POST /projects/:id/pipeline {ref: main}`; its id.
fn api_pipeline(s: &Server, token: &str, id: i64) -> i64 {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{id}/pipeline"),
        Some(token),
        Some(json!({"ref": "main"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["source"], "api");
    r.json["id"].as_i64().unwrap()
}

#[test]
fn paused_runners_tags_and_two_runners_racing_for_one_job() {
    each_server(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let untagged = project_runner(s, &t, id, &[]);
        let tagged = project_runner(s, &t, id, &["docker", "linux"]);
        let paused = project_runner(s, &t, id, &[]);
        let paused_id = post(s, "/api/v4/runners/verify", json!({"token": paused})).json["id"]
            .as_i64()
            .unwrap();
        let r = s.call(
            "PUT",
            &format!("/api/v4/runners/{paused_id}"),
            Some(&t),
            Some(json!({"paused": true})),
        );
        assert_eq!(r.status, 200, "{}", r.text);

        commit_files(
            s,
            &t,
            id,
            "main",
            &[(
                ".gitlab-ci.yml",
                "tagged:\n  tags: [docker]\n  script: [echo x]\n",
            )],
        );
        latest_pipeline(s, &t, id, "main", LIMIT);
        // A paused runner gets nothing, at once.
        let started = Instant::now();
        let r = request_job(s, &paused, "");
        assert_eq!(r.status, 204);
        assert!(r.header("x-gitlab-last-update").is_some());
        assert!(started.elapsed() < Duration::from_millis(900));
        // The docker job is not for the untagged runner.
        assert_eq!(request_job(s, &untagged, "").status, 204);
        let job = wait_for_job(s, &tagged);
        assert_eq!(job["job_info"]["name"], "tagged");
        let jt = job["token"].as_str().unwrap().to_string();
        let r = put_job(
            s,
            job["id"].as_i64().unwrap(),
            &jt,
            json!({"state": "failed", "failure_reason": "script_failure", "exit_code": 2}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("job-status"), Some("failed"));
        let j = s.get(&format!("/api/v4/projects/{id}/jobs/{}", job["id"]), &t);
        assert_eq!(j.json["failure_reason"], "script_failure", "{}", j.text);

        // Two runners poll at once for one untagged job: exactly one gets it.
        let second = project_runner(s, &t, id, &[]);
        commit_files(s, &t, id, "main", &[(".gitlab-ci.yml", API_ONLY_SOLO)]);
        api_pipeline(s, &t, id);
        let url = s.url.clone();
        let poll = |token: String| {
            let url = url.clone();
            std::thread::spawn(move || {
                let r = ureq::post(&format!("{url}/api/v4/jobs/request"))
                    .timeout(Duration::from_secs(30))
                    .send_json(json!({"token": token, "last_update": "", "info": {}}));
                match r {
                    Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                    Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
                    Err(e) => panic!("{e}"),
                }
            })
        };
        let a = poll(untagged.clone());
        let b = poll(second.clone());
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 204], "{a:?} {b:?}");
        let winner = if a.0 == 201 { &a.1 } else { &b.1 };
        let v: Value = serde_json::from_str(winner).unwrap();
        assert_eq!(v["job_info"]["name"], "solo");
        assert_eq!(request_job(s, &untagged, "").status, 204);
        assert_eq!(request_job(s, &second, "").status, 204);
    });
}

#[test]
fn racing_pollers_never_share_a_job() {
    each_server(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runners: Vec<String> = (0..4).map(|_| project_runner(s, &t, id, &[])).collect();
        let jobs: String = (0..6)
            .map(|i| format!("j{i}:\n  script: [echo {i}]\n"))
            .collect();
        let file = format!("{WORKFLOW_API}{jobs}");
        commit_files(s, &t, id, "main", &[(".gitlab-ci.yml", &file)]);
        api_pipeline(s, &t, id);
        let url = s.url.clone();
        let handles: Vec<_> = runners
            .into_iter()
            .map(|token| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let r = ureq::post(&format!("{url}/api/v4/jobs/request"))
                            .timeout(Duration::from_secs(30))
                            .send_json(json!({"token": token, "info": {}}));
                        match r {
                            Ok(r) if r.status() == 201 => {
                                let v: Value = r.into_json().unwrap();
                                got.push(v["id"].as_i64().unwrap());
                            }
                            Ok(_) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len(), "a job was handed out twice: {all:?}");
        assert_eq!(all.len(), 6, "{all:?}");
    });
}

#[test]
fn registration_with_a_registration_token_unregister_and_token_reset() {
    each_server(|s| {
        s.user("alice");
        s.user("bob");
        let t = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let id = project(s, &t, "app");
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/runners/reset_registration_token"),
            Some(&t),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let registration = r.json["token"].as_str().unwrap().to_string();
        assert!(registration.starts_with("GR1348941"), "{registration}");
        // Not for a non-member.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/runners/reset_registration_token"),
            Some(&bob),
            None,
        );
        assert_eq!(r.status, 404, "{}", r.text);

        let wrong = post(
            s,
            "/api/v4/runners",
            json!({"token": "GR1348941p1_wrongwrongwrongwrongwron"}),
        );
        assert_eq!(wrong.status, 403, "{}", wrong.text);
        assert_eq!(wrong.json["message"], "403 Forbidden");
        assert_eq!(
            post(s, "/api/v4/runners", json!({"token": "nonsense"})).status,
            403
        );

        let r = post(
            s,
            "/api/v4/runners",
            json!({"token": registration, "description": "legacy", "tag_list": "a, b",
                   "run_untagged": false, "locked": true, "maximum_timeout": 7200,
                   "info": info()}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let rid = r.json["id"].as_i64().unwrap();
        let rt = r.json["token"].as_str().unwrap().to_string();
        assert!(rt.starts_with("tfrun-"));
        assert_eq!(r.json["token_expires_at"], Value::Null);
        let d = s.get(&format!("/api/v4/runners/{rid}"), &t);
        assert_eq!(d.status, 200, "{}", d.text);
        assert_eq!(d.json["runner_type"], "project_type");
        assert_eq!(d.json["description"], "legacy");
        assert_eq!(d.json["tag_list"], json!(["a", "b"]));
        assert_eq!(d.json["run_untagged"], false);
        assert_eq!(d.json["locked"], true);
        assert_eq!(d.json["maximum_timeout"], 7200);
        assert_eq!(d.json["version"], "19.4.0");
        assert_eq!(d.json["platform"], "linux");
        assert_eq!(d.json["architecture"], "amd64");
        assert_eq!(d.json["projects"][0]["id"], id);
        assert_eq!(d.json["online"], true);

        // gitlab-runner registers with a non-`glrt-` runner token through `POST /runners`:
        // answered like verify, the runner's settings untouched.
        let created = project_runner(s, &t, id, &["x"]);
        let r = post(
            s,
            "/api/v4/runners",
            json!({"token": created, "locked": true, "run_untagged": true, "info": info()}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["token"], created.as_str());
        let cid = r.json["id"].as_i64().unwrap();
        let d = s.get(&format!("/api/v4/runners/{cid}"), &t);
        assert_eq!(d.json["locked"], false, "{}", d.text);
        assert_eq!(d.json["run_untagged"], false);
        assert_eq!(d.json["version"], "19.4.0");
        let m = Reply::from(
            s.request("DELETE", "/api/v4/runners/managers")
                .send_json(json!({"token": created, "system_id": "s_0123456789ab"})),
        );
        assert_eq!(m.status, 204, "{}", m.text);
        assert_eq!(
            post(s, "/api/v4/runners/verify", json!({"token": created})).status,
            200
        );
        let m = Reply::from(
            s.request("DELETE", "/api/v4/runners/managers")
                .send_json(json!({"token": "tfrun-nope"})),
        );
        assert_eq!(m.status, 403);

        // Resetting the registration token retires the old one.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/runners/reset_registration_token"),
            Some(&t),
            None,
        );
        let fresh = r.json["token"].as_str().unwrap().to_string();
        assert_ne!(fresh, registration);
        assert_eq!(
            post(s, "/api/v4/runners", json!({"token": registration})).status,
            403
        );

        // Resetting the runner's own token: the old one dies.
        let r = post(
            s,
            "/api/v4/runners/reset_authentication_token",
            json!({"token": rt}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let rt2 = r.json["token"].as_str().unwrap().to_string();
        assert_ne!(rt2, rt);
        assert_eq!(
            post(s, "/api/v4/runners/verify", json!({"token": rt})).status,
            403
        );
        assert_eq!(request_job(s, &rt, "").status, 403);
        assert_eq!(
            post(s, "/api/v4/runners/verify", json!({"token": rt2})).status,
            200
        );

        // Unregister (python-gitlab sends the token in the query): the token is dead.
        let r = Reply::from(
            s.request("DELETE", &format!("/api/v4/runners?token={rt2}"))
                .call(),
        );
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(
            post(s, "/api/v4/runners/verify", json!({"token": rt2})).status,
            403
        );
        assert_eq!(request_job(s, &rt2, "").status, 403);
        let r = Reply::from(
            s.request("DELETE", "/api/v4/runners")
                .send_json(json!({"token": rt2})),
        );
        assert_eq!(r.status, 403);
        assert_eq!(s.get(&format!("/api/v4/runners/{rid}"), &t).status, 404);
    });
}

#[test]
fn oversized_logs_fail_the_job_and_oversized_archives_are_refused() {
    for backend in backends() {
        let s = Server::start(
            &backend,
            &[
                ("TINFORGE_RUNNER_LONG_POLL_SECONDS", "1"),
                ("TINFORGE_TRACE_MAX_BYTES", "100"),
                ("TINFORGE_ARTIFACTS_MAX_BYTES", "1000"),
                ("TINFORGE_TRACE_UPDATE_INTERVAL", "1"),
            ],
        );
        let s = &s;
        eprintln!("-- on {:?}", s.backend_name());
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(
                ".gitlab-ci.yml",
                "one:\n  script: [echo 1]\ntwo:\n  script: [echo 2]\n",
            )],
        );
        let job = wait_for_job(s, &runner);
        let (jid, jt) = (
            job["id"].as_i64().unwrap(),
            job["token"].as_str().unwrap().to_string(),
        );
        let r = put_job(s, jid, &jt, json!({"state": "running"}));
        assert_eq!(r.header("x-gitlab-trace-update-interval"), Some("1"));
        // An archive over the limit: 413, nothing stored; within it: 201.
        let r = upload(s, jid, &jt, &[7u8; 5000]);
        assert_eq!(r.status, 413, "{}", r.text);
        let r = upload(s, jid, &jt, &[7u8; 500]);
        assert_eq!(r.status, 201, "{}", r.text);
        // A log within the limit, then one that would pass it: 403, and the job has failed.
        assert_eq!(
            patch_trace(s, jid, &jt, Some("0-49"), &[b'a'; 50]).status,
            202
        );
        let r = patch_trace(s, jid, &jt, Some("50-109"), &[b'b'; 60]);
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.header("job-status"), Some("failed"));
        let j = wait_job(s, &t, id, jid, LIMIT, |j| j["status"] == "failed");
        assert!(j["failure_reason"].is_string(), "{j}");
        // The other job still runs normally.
        let other = wait_for_job(s, &runner);
        assert_ne!(other["id"], jid);
    }
}

#[test]
fn a_job_whose_runner_went_silent_is_failed_by_a_later_poll() {
    for backend in backends() {
        let s = Server::start(
            &backend,
            &[
                ("TINFORGE_RUNNER_LONG_POLL_SECONDS", "1"),
                ("TINFORGE_STALE_JOB_SECONDS", "1"),
                ("TINFORGE_STALE_SWEEP_SECONDS", "1"),
            ],
        );
        let s = &s;
        eprintln!("-- on {:?}", s.backend_name());
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(".gitlab-ci.yml", "one:\n  script: [echo 1]\n")],
        );
        let job = wait_for_job(s, &runner);
        let (jid, jt) = (
            job["id"].as_i64().unwrap(),
            job["token"].as_str().unwrap().to_string(),
        );
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(request_job(s, &runner, "").status, 204);
        let j = wait_job(s, &t, id, jid, LIMIT, |j| j["status"] == "failed");
        assert_eq!(j["failure_reason"], "stuck_or_timeout_failure", "{j}");
        let r = put_job(s, jid, &jt, json!({"state": "success"}));
        assert_eq!(r.status, 403);
        assert_eq!(r.header("job-status"), Some("failed"));
    }
}
