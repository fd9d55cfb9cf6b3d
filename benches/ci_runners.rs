//! CI throughput: how fast jobs are handed out and how fast logs stream in.
//!
//! 1. **Pick-up rate**: a pipeline of `TINFORGE_BENCH_JOBS` (200) trivial jobs (`script: [true]`)
//!    in one stage, with 4 `tinforge runner` processes (concurrency 1 each) polling; reports jobs
//!    per second from the pipeline's creation to its success, against a reference run of the same
//!    number of `bash -c true` processes started one after another on this machine (what the
//!    shell executor costs by itself, with no server).
//! 2. **Trace throughput**: one job printing `TINFORGE_BENCH_TRACE_MB` (32) MB of text; reports
//!    MB/s into the server, against the same command piped into `wc -c` (bash alone).
//!
//! Run: `cargo bench --bench ci_runners` (release). SQLite in a temporary directory; nothing is
//! downloaded. Not a test: nothing is asserted about time.

use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/server.rs"]
mod server;

use server::{BIN, cli, start_server};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let jobs = env_num("TINFORGE_BENCH_JOBS", 200).max(1);
    let trace_mb = env_num("TINFORGE_BENCH_TRACE_MB", 32).max(1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    cli(
        &data,
        &[
            "user",
            "create",
            "--username",
            "bench",
            "--password",
            "password123",
        ],
    );
    let token = cli(
        &data,
        &[
            "token", "create", "--user", "bench", "--name", "a", "--scopes", "api",
        ],
    );
    let (mut server, url) = start_server(&data);
    let api = Api {
        url: url.clone(),
        token,
    };
    let project = api.call(
        "POST",
        "/projects",
        json!({"name": "bench", "path": "bench"}),
    );
    let id = project["id"].as_i64().expect("project id");
    let runner = api.call(
        "POST",
        "/user/runners",
        json!({"runner_type": "project_type", "project_id": id}),
    )["token"]
        .as_str()
        .expect("runner token")
        .to_string();

    // 1. Pick-up rate with 4 runners.
    let mut ci = String::from("stages: [only]\n");
    for i in 0..jobs {
        ci.push_str(&format!("job{i}:\n  stage: only\n  script: [\"true\"]\n"));
    }
    commit(&api, id, &[(".gitlab-ci.yml", &ci)]);
    // The commit's own push pipeline runs first, with no runner yet: cancel it.
    std::thread::sleep(Duration::from_millis(500));
    for p in api
        .call("GET", &format!("/projects/{id}/pipelines"), Value::Null)
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        api.call(
            "POST",
            &format!("/projects/{id}/pipelines/{}/cancel", p["id"]),
            Value::Null,
        );
    }
    let runners: Vec<Child> = (0..4)
        .map(|i| start_runner(&url, &runner, &tmp.path().join(format!("runner{i}"))))
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    let p = api.call(
        "POST",
        &format!("/projects/{id}/pipeline"),
        json!({"ref": "main"}),
    );
    let status = wait(&api, id, p["id"].as_i64().unwrap());
    let took = started.elapsed().as_secs_f64();
    let reference = Instant::now();
    for _ in 0..jobs {
        Command::new("bash")
            .args(["-c", "true"])
            .status()
            .expect("bash");
    }
    let bash = reference.elapsed().as_secs_f64();
    println!(
        "pick-up: {jobs} jobs, 4 runners: {took:.2}s ({:.1} jobs/s, pipeline {status}); \
         reference {jobs} × `bash -c true` in sequence: {bash:.2}s ({:.1}/s)",
        jobs as f64 / took,
        jobs as f64 / bash
    );

    // 2. Trace throughput with one job.
    let lines = trace_mb * 1024 * 1024 / 64;
    // In a file the job runs: `yes | head` ends with SIGPIPE, which the job's pipefail reports.
    let script = format!(
        "yes 'tinforge trace throughput benchmark line of sixty-four chars.' | head -n {lines} || true\n"
    );
    commit(
        &api,
        id,
        &[
            (".gitlab-ci.yml", "big:\n  script: [bash big.sh]\n"),
            ("big.sh", &script),
        ],
    );
    let pushed = latest(&api, id);
    let started = Instant::now();
    let status = wait(&api, id, pushed);
    let took = started.elapsed().as_secs_f64();
    let reference = Instant::now();
    Command::new("bash")
        .args(["-c", &format!("({script}) | wc -c > /dev/null")])
        .status()
        .expect("bash");
    let bash = reference.elapsed().as_secs_f64();
    let jobs = api.call(
        "GET",
        &format!("/projects/{id}/pipelines/{pushed}/jobs"),
        Value::Null,
    );
    let size = trace_size(&api, id, jobs[0]["id"].as_i64().unwrap());
    // The job's own duration (started → finished on the server): the log streams in meanwhile.
    let took = jobs[0]["duration"].as_f64().unwrap_or(took);
    if std::env::var("TINFORGE_BENCH_DEBUG").is_ok() {
        eprintln!("pipeline {pushed}: {size} bytes of log");
    }
    println!(
        "trace: {:.1} MB stored in {took:.2}s ({:.1} MB/s, job {status}); reference bash | wc -c: \
         {bash:.2}s ({:.1} MB/s)",
        size as f64 / 1e6,
        size as f64 / 1e6 / took,
        size as f64 / 1e6 / bash
    );
    for mut r in runners {
        let _ = r.kill();
        let _ = r.wait();
    }
    let _ = server.kill();
    let _ = server.wait();
}

struct Api {
    url: String,
    token: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let req = ureq::request(method, &format!("{}/api/v4{path}", self.url))
            .set("PRIVATE-TOKEN", &self.token)
            .timeout(Duration::from_secs(120));
        let res = if body.is_null() {
            req.call()
        } else {
            req.send_json(body)
        };
        match res {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_json().unwrap_or(Value::Null),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }
}

fn commit(api: &Api, id: i64, files: &[(&str, &str)]) {
    let tree = api.call(
        "GET",
        &format!("/projects/{id}/repository/tree?ref=main"),
        Value::Null,
    );
    let exists = |p: &str| {
        tree.as_array()
            .is_some_and(|a| a.iter().any(|e| e["path"] == p))
    };
    let actions: Vec<Value> = files
        .iter()
        .map(|(p, c)| {
            json!({"action": if exists(p) { "update" } else { "create" }, "file_path": p, "content": c})
        })
        .collect();
    let r = api.call(
        "POST",
        &format!("/projects/{id}/repository/commits"),
        json!({"branch": "main", "commit_message": "bench", "actions": actions}),
    );
    assert!(r["id"].is_string(), "commit: {r}");
}

fn latest(api: &Api, id: i64) -> i64 {
    let newest =
        || api.call("GET", &format!("/projects/{id}/pipelines"), Value::Null)[0]["id"].as_i64();
    let before = newest();
    let started = Instant::now();
    loop {
        match newest() {
            Some(n) if Some(n) != before || started.elapsed() > Duration::from_secs(2) => return n,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn wait(api: &Api, id: i64, pipeline: i64) -> String {
    loop {
        let p = api.call(
            "GET",
            &format!("/projects/{id}/pipelines/{pipeline}"),
            Value::Null,
        );
        let s = p["status"].as_str().unwrap_or_default().to_string();
        if ["success", "failed", "canceled", "skipped"].contains(&s.as_str()) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn trace_size(api: &Api, id: i64, job: i64) -> usize {
    // Read to the end: `into_string` stops at 10 MB.
    let mut body = Vec::new();
    ureq::get(&format!(
        "{}/api/v4/projects/{id}/jobs/{job}/trace",
        api.url
    ))
    .set("PRIVATE-TOKEN", &api.token)
    .call()
    .expect("trace")
    .into_reader()
    .read_to_end(&mut body)
    .expect("trace body");
    body.len()
}

fn start_runner(url: &str, token: &str, dir: &Path) -> Child {
    std::fs::create_dir_all(dir).expect("runner dir");
    Command::new(BIN)
        .args([
            "runner",
            "--url",
            url,
            "--token",
            token,
            "--poll-interval",
            "0.2",
            "--work-dir",
        ])
        .arg(dir)
        .env("TINFORGE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start runner")
}
