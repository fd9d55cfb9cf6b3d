//! GitLab's pipelines and jobs REST API without a runner, on SQLite and PostgreSQL: pipelines
//! run through `POST /pipeline` (JSON and form variables) with their jobs in stage order, the
//! list's filters, order and pagination headers, `latest`, CI files with errors (400 and a failed
//! pipeline left behind), rules that filter everything, a missing CI file; cancel, retry (retried
//! jobs hidden unless asked for), delete; the project's jobs by scope, one job, its log before
//! and after a runner takes it, play of a manual job, erase, artifacts 404s, `GET /job` with the
//! job token; merge request pipelines; and who may do what (Reporter reads, Developer runs,
//! Owner deletes, anonymous on private and public projects, a read-only fine-grained token).

mod common;

use common::ci::{commit_files, project_runner};
use common::merge_requests::{Fx, setup};
use common::{Reply, Server, each_backend};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const REPORTER: i64 = 20;
const DEVELOPER: i64 = 30;

/// Three stages, one job each; pipelines only for the API and merge requests (so the commits
/// of these tests start none by themselves).
const CI: &str = r#"
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "api" || $CI_PIPELINE_SOURCE == "merge_request_event"
stages: [build, test, deploy]
build-job:
  stage: build
  script: echo build
test-job:
  stage: test
  script: echo test
deploy-job:
  stage: deploy
  script: echo deploy
"#;

/// A manual job beside an automatic one, in the first stage.
const CI_MANUAL: &str = r#"
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "api"
stages: [build, test]
auto-job:
  stage: build
  script: echo auto
manual-job:
  stage: build
  script: echo manual
  when: manual
later-job:
  stage: test
  script: echo later
"#;

/// A job for merge request pipelines only (jobs without rules stay out of them, as in GitLab).
const CI_MR: &str = r#"
mr-job:
  script: echo mr
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
"#;

const FILTERED: &str = "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.";

fn status(r: &Reply, expected: u16) -> Value {
    assert_eq!(r.status, expected, "{}", r.text);
    r.json.clone()
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x[key].as_str().unwrap_or_default().to_string())
        .collect()
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

/// Adds `username` (a new user) to the project with `level`; an `api` token of theirs.
fn member(fx: &Fx, username: &str, level: i64) -> String {
    let uid = fx.s.user(username);
    status(
        &fx.call(
            "POST",
            "/members",
            Some(json!({"user_id": uid, "access_level": level})),
        ),
        201,
    );
    fx.s.legacy_token(username, "api")
}

/// Makes the project (and its group) public.
fn make_public(fx: &Fx) {
    let r = fx.s.call(
        "PUT",
        "/api/v4/groups/acme",
        Some(&fx.owner),
        Some(json!({"visibility": "public"})),
    );
    status(&r, 200);
    status(
        &fx.call("PUT", "", Some(json!({"visibility": "public"}))),
        200,
    );
}

fn run(fx: &Fx, token: &str, body: Value) -> Reply {
    fx.call_as(token, "POST", "/pipeline", Some(body))
}

fn run_ok(fx: &Fx) -> Value {
    status(&run(fx, &fx.owner, json!({"ref": "main"})), 201)
}

fn jobs_of(fx: &Fx, pipeline: i64, query: &str) -> Value {
    status(
        &fx.call("GET", &format!("/pipelines/{pipeline}/jobs{query}"), None),
        200,
    )
}

#[test]
fn pipelines_run_with_their_jobs_and_lists_filter_sort_and_page() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI)]);
        let p = status(
            &run(
                &fx,
                &fx.owner,
                json!({"ref": "main", "variables": [
                    {"key": "GREETING", "value": "hello"},
                    {"key": "CONFIG", "value": "a=b", "variable_type": "file"}
                ]}),
            ),
            201,
        );
        let id = p["id"].as_i64().unwrap();
        assert_eq!(p["iid"], 1, "{p}");
        assert_eq!(p["project_id"], fx.id);
        assert_eq!(p["ref"], "main");
        assert_eq!(p["status"], "pending");
        assert_eq!(p["source"], "api");
        assert_eq!(p["tag"], false);
        assert_eq!(p["yaml_errors"], Value::Null);
        assert_eq!(p["coverage"], Value::Null);
        assert_eq!(p["name"], Value::Null);
        assert_eq!(p["before_sha"], "0".repeat(40));
        assert_eq!(p["user"]["username"], "alice");
        assert_eq!(p["web_url"], format!("{}/acme/p/-/pipelines/{id}", s.url));
        assert_eq!(p["detailed_status"]["group"], "pending");
        assert_eq!(p["detailed_status"]["icon"], "status_pending");
        assert_eq!(
            p["detailed_status"]["details_path"],
            format!("/acme/p/-/pipelines/{id}")
        );
        let sha = p["sha"].as_str().unwrap().to_string();
        assert_eq!(sha.len(), 40);
        assert!(p["committed_at"].is_string(), "{p}");

        // Jobs in stage order: the first stage waits for a runner, the others for it.
        let jobs = jobs_of(&fx, id, "");
        assert_eq!(
            names(&jobs, "name"),
            ["build-job", "test-job", "deploy-job"]
        );
        assert_eq!(names(&jobs, "status"), ["pending", "created", "created"]);
        assert_eq!(names(&jobs, "stage"), ["build", "test", "deploy"]);
        let j = &jobs[0];
        assert_eq!(j["pipeline"]["id"], id);
        assert_eq!(j["pipeline"]["project_id"], fx.id);
        assert_eq!(j["ref"], "main");
        assert_eq!(j["commit"]["id"], sha.as_str());
        assert_eq!(j["commit"]["short_id"], &sha[..8]);
        assert_eq!(j["commit"]["title"], "ci");
        assert_eq!(j["user"]["username"], "alice");
        assert_eq!(j["runner"], Value::Null);
        assert_eq!(j["artifacts"], json!([]));
        assert_eq!(j["archived"], false);
        assert!(
            j["project"]["ci_job_token_scope_enabled"].is_boolean(),
            "{j}"
        );
        assert!(j.get("failure_reason").is_none(), "{j}");
        assert_eq!(
            j["web_url"],
            format!("{}/acme/p/-/jobs/{}", s.url, j["id"].as_i64().unwrap())
        );
        assert_eq!(
            names(&jobs_of(&fx, id, "?scope[]=created"), "name"),
            ["test-job", "deploy-job"]
        );

        let vars = status(
            &fx.call("GET", &format!("/pipelines/{id}/variables"), None),
            200,
        );
        assert_eq!(
            vars,
            json!([
                {"variable_type": "file", "key": "CONFIG", "value": "a=b"},
                {"variable_type": "env_var", "key": "GREETING", "value": "hello"}
            ])
        );

        // Form bodies, as curl sends them.
        let form = Reply::from(
            s.request("POST", &format!("/api/v4/projects/{}/pipeline", fx.id))
                .set("PRIVATE-TOKEN", &fx.owner)
                .send_form(&[
                    ("ref", "main"),
                    ("variables[0][key]", "FROM_FORM"),
                    ("variables[0][value]", "yes"),
                ]),
        );
        let second = status(&form, 201)["id"].as_i64().unwrap();
        let vars = status(
            &fx.call("GET", &format!("/pipelines/{second}/variables"), None),
            200,
        );
        assert_eq!(names(&vars, "key"), ["FROM_FORM"]);
        let third = run_ok(&fx)["id"].as_i64().unwrap();
        assert_eq!(run_ok(&fx)["iid"], 4);

        let r = run(&fx, &fx.owner, json!({}));
        assert_eq!(status(&r, 400), json!({"error": "ref is missing"}));
        let r = run(&fx, &fx.owner, json!({"ref": "nope"}));
        assert_eq!(
            status(&r, 400),
            json!({"message": {"base": ["Reference not found"]}})
        );
        let r = run(
            &fx,
            &fx.owner,
            json!({"ref": "main", "variables": [{"key": "A", "variable_type": "weird"}]}),
        );
        assert_eq!(r.status, 400, "{}", r.text);

        // Newest first, paged with GitLab's headers.
        let r = fx.call("GET", "/pipelines?per_page=3", None);
        let page1 = status(&r, 200);
        assert_eq!(ids(&page1).len(), 3);
        assert_eq!(ids(&page1)[1], third);
        assert_eq!(r.header("X-Total"), Some("4"));
        assert_eq!(r.header("X-Total-Pages"), Some("2"));
        assert_eq!(r.header("X-Page"), Some("1"));
        assert_eq!(r.header("X-Per-Page"), Some("3"));
        assert_eq!(r.header("X-Next-Page"), Some("2"));
        let link = r.header("Link").unwrap_or_default();
        assert!(
            link.contains("rel=\"next\"") && link.contains("page=2"),
            "{link}"
        );
        assert!(
            link.starts_with(&format!("<{}/api/v4/projects/", s.url)),
            "{link}"
        );
        let r = fx.call("GET", "/pipelines?per_page=3&page=2", None);
        assert_eq!(ids(&status(&r, 200)), [id]);
        assert_eq!(r.header("X-Next-Page"), Some(""));
        let basic = &page1[0];
        for key in [
            "id",
            "iid",
            "project_id",
            "sha",
            "ref",
            "status",
            "source",
            "created_at",
            "updated_at",
            "web_url",
            "name",
        ] {
            assert!(basic.get(key).is_some(), "{key} missing in {basic}");
        }
        assert!(basic.get("detailed_status").is_none(), "{basic}");
        let asc = status(
            &fx.call("GET", "/pipelines?sort=asc&order_by=id", None),
            200,
        );
        assert_eq!(ids(&asc)[0], id);

        // Filters.
        let count = |q: &str| {
            ids(&status(
                &fx.call("GET", &format!("/pipelines?{q}"), None),
                200,
            ))
            .len()
        };
        assert_eq!(count("ref=main"), 4);
        assert_eq!(count("ref=nope"), 0);
        assert_eq!(count(&format!("sha={sha}")), 4);
        assert_eq!(count("status=pending"), 4);
        assert_eq!(count("scope=pending"), 4);
        assert_eq!(count("scope=finished"), 0);
        assert_eq!(count("scope=running&status=pending"), 0);
        assert_eq!(count("scope=branches"), 4);
        assert_eq!(count("scope=tags"), 0);
        assert_eq!(count("source=api"), 4);
        assert_eq!(count("source=push"), 0);
        assert_eq!(count("username=alice"), 4);
        assert_eq!(count("username=nobody"), 0);
        assert_eq!(count("yaml_errors=true"), 0);
        assert_eq!(count("updated_after=2000-01-01"), 4);
        assert_eq!(count("updated_before=2000-01-01T00:00:00Z"), 0);
        for (q, param) in [
            ("order_by=name", "order_by"),
            ("sort=up", "sort"),
            ("scope=everything", "scope"),
            ("status=Running", "status"),
            ("source=cron", "source"),
            ("updated_after=yesterday", "updated_after"),
        ] {
            let r = fx.call("GET", &format!("/pipelines?{q}"), None);
            assert_eq!(
                status(&r, 400),
                json!({"error": format!("{param} does not have a valid value")})
            );
        }

        // Latest of a ref (the default branch by default), one pipeline.
        let newest = ids(&page1)[0];
        assert_eq!(
            status(&fx.call("GET", "/pipelines/latest", None), 200)["id"],
            newest
        );
        assert_eq!(
            status(&fx.call("GET", "/pipelines/latest?ref=main", None), 200)["id"],
            newest
        );
        assert_eq!(
            fx.call("GET", "/pipelines/latest?ref=nope", None).status,
            404
        );
        let one = status(&fx.call("GET", &format!("/pipelines/{id}"), None), 200);
        assert_eq!(one["id"], id);
        assert_eq!(one["detailed_status"]["text"], "Pending");
        let r = fx.call("GET", "/pipelines/999999", None);
        assert_eq!(status(&r, 404), json!({"message": "404 Not found"}));
        assert_eq!(fx.call("GET", "/pipelines/abc", None).status, 404);
        assert_eq!(fx.call("GET", "/pipelines/999999/jobs", None).status, 404);
    });
}

#[test]
fn ci_files_with_errors_rules_that_filter_everything_and_no_ci_file() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        // No CI file yet.
        let r = run(&fx, &fx.owner, json!({"ref": "main"}));
        assert_eq!(
            status(&r, 400),
            json!({"message": {"base": ["Missing CI config file"]}})
        );

        // A CI file with errors: 400 with them, and the failed pipeline stays (its push
        // pipeline fails the same way).
        commit_files(
            s,
            &fx.owner,
            fx.id,
            "main",
            &[(".gitlab-ci.yml", "build:\n  stage: build\n")],
        );
        let r = run(&fx, &fx.owner, json!({"ref": "main"}));
        let body = status(&r, 400);
        let errors = body["message"]["base"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!errors.is_empty(), "{body}");
        let failed = status(
            &fx.call("GET", "/pipelines?source=api&yaml_errors=true", None),
            200,
        );
        assert_eq!(names(&failed, "status"), ["failed"]);
        let failed_id = ids(&failed)[0];
        let one = status(
            &fx.call("GET", &format!("/pipelines/{failed_id}"), None),
            200,
        );
        assert_eq!(one["yaml_errors"], errors.as_str());
        assert_eq!(one["detailed_status"]["group"], "failed");
        assert_eq!(jobs_of(&fx, failed_id, ""), json!([]));
        assert_eq!(
            ids(&status(
                &fx.call("GET", "/pipelines?source=api&yaml_errors=false", None),
                200
            )),
            Vec::<i64>::new()
        );

        // Rules that leave no job for the API: 400 and no pipeline.
        let only_push =
            "job:\n  script: echo\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"push\"\n";
        commit_files(
            s,
            &fx.owner,
            fx.id,
            "main",
            &[(".gitlab-ci.yml", only_push)],
        );
        let r = run(&fx, &fx.owner, json!({"ref": "main"}));
        assert_eq!(status(&r, 400), json!({"message": {"base": [FILTERED]}}));
        assert_eq!(
            ids(&status(&fx.call("GET", "/pipelines?source=api", None), 200)),
            [failed_id]
        );
    });
}

#[test]
fn cancel_retry_and_delete_pipelines_and_jobs() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI)]);
        let dev = member(&fx, "carol", DEVELOPER);
        let id = run_ok(&fx)["id"].as_i64().unwrap();

        let r = fx.call_as(&dev, "POST", &format!("/pipelines/{id}/cancel"), None);
        let canceled = status(&r, 200);
        assert_eq!(canceled["status"], "canceled");
        assert!(canceled["finished_at"].is_string(), "{canceled}");
        assert_eq!(
            names(&jobs_of(&fx, id, ""), "status"),
            ["canceled", "canceled", "canceled"]
        );
        // Canceling again is still a 200.
        assert_eq!(
            status(
                &fx.call_as(&dev, "POST", &format!("/pipelines/{id}/cancel"), None),
                200
            )["status"],
            "canceled"
        );

        let r = fx.call_as(&dev, "POST", &format!("/pipelines/{id}/retry"), None);
        let retried = status(&r, 201);
        assert_eq!(retried["status"], "pending");
        let jobs = jobs_of(&fx, id, "");
        assert_eq!(names(&jobs, "status"), ["pending", "created", "created"]);
        let all = jobs_of(&fx, id, "?include_retried=true");
        assert_eq!(ids(&all).len(), 6);
        assert_eq!(
            ids(&jobs_of(&fx, id, "?include_retried=true&scope[]=canceled")).len(),
            3
        );
        assert_eq!(
            ids(&jobs_of(&fx, id, "?scope[]=canceled")),
            Vec::<i64>::new()
        );
        let r = fx.call_as(&dev, "POST", &format!("/pipelines/{id}/retry"), None);
        assert_eq!(
            status(&r, 403),
            json!({"message": "403 Forbidden - Pipeline is not retryable"})
        );

        // One job: cancel, then retry it as a new job.
        let build = jobs[0]["id"].as_i64().unwrap();
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{build}/retry"), None);
        assert_eq!(
            status(&r, 403),
            json!({"message": "403 Forbidden - Job is not retryable"})
        );
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{build}/cancel"), None);
        assert_eq!(status(&r, 201)["status"], "canceled");
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{build}/retry"), None);
        let fresh = status(&r, 201);
        assert_ne!(fresh["id"], build);
        assert_eq!(fresh["name"], "build-job");
        assert_eq!(fresh["status"], "pending");
        assert_eq!(fresh["pipeline"]["id"], id);
        assert_eq!(fresh["user"]["username"], "carol");
        assert_eq!(jobs_of(&fx, id, "")[0]["id"], fresh["id"]);

        // A job that never ran has nothing to erase.
        let r = fx.call("POST", &format!("/jobs/{build}/erase"), None);
        assert_eq!(
            status(&r, 403),
            json!({"message": "403 Forbidden - Job is not erasable!"})
        );

        // Only the Owner deletes.
        let r = fx.call_as(&dev, "DELETE", &format!("/pipelines/{id}"), None);
        assert_eq!(r.status, 403, "{}", r.text);
        let r = fx.call("DELETE", &format!("/pipelines/{id}"), None);
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(
            fx.call("GET", &format!("/pipelines/{id}"), None).status,
            404
        );
        assert_eq!(fx.call("GET", &format!("/jobs/{build}"), None).status, 404);
        assert_eq!(
            fx.call("DELETE", &format!("/pipelines/{id}"), None).status,
            404
        );
    });
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

/// Uploads `archive` as the job's artifacts, as the runner does.
fn upload(s: &Server, id: i64, job_token: &str, archive: &[u8]) -> Reply {
    let boundary = "----pipelinesapi";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"artifacts.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Reply::from(
        s.request(
            "POST",
            &format!("/api/v4/jobs/{id}/artifacts?artifact_format=zip&artifact_type=archive&expire_in=1%20week"),
        )
        .set("JOB-TOKEN", job_token)
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send_bytes(&body),
    )
}

/// A GET's status, raw body and content type.
fn raw(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>, Option<String>) {
    let res = match s.request("GET", path).set("PRIVATE-TOKEN", token).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = res.status();
    let kind = res.header("content-type").map(str::to_string);
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut body).expect("body");
    (status, body, kind)
}

/// IEEE CRC-32, as zip archives carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive of `files`, stored uncompressed.
fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let u16le = |v: &mut Vec<u8>, n: u16| v.extend_from_slice(&n.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, n: u32| v.extend_from_slice(&n.to_le_bytes());
    for (name, data) in files {
        let (offset, crc, size) = (out.len() as u32, crc32(data), data.len() as u32);
        u32le(&mut out, 0x0403_4b50);
        for n in [20, 0, 0, 0, 0x21] {
            u16le(&mut out, n);
        }
        for n in [crc, size, size] {
            u32le(&mut out, n);
        }
        u16le(&mut out, name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        u32le(&mut central, 0x0201_4b50);
        for n in [20, 20, 0, 0, 0, 0x21] {
            u16le(&mut central, n);
        }
        for n in [crc, size, size] {
            u32le(&mut central, n);
        }
        for n in [name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut central, n);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    for n in [0, 0, files.len() as u16, files.len() as u16] {
        u16le(&mut out, n);
    }
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

fn request_job(s: &Server, runner: &str) -> Reply {
    Reply::from(
        s.request("POST", "/api/v4/jobs/request")
            .set("Accept", "application/json")
            .send_json(json!({"token": runner, "info": {"name": "gitlab-runner",
                "version": "19.4.0", "executor": "shell", "features": {"variables": true}}})),
    )
}

#[test]
fn jobs_by_scope_logs_play_erase_artifacts_and_the_job_token_s_own_job() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(
            s,
            &fx.owner,
            fx.id,
            "main",
            &[(".gitlab-ci.yml", CI_MANUAL)],
        );
        let dev = member(&fx, "carol", DEVELOPER);
        let maintainer = member(&fx, "mia", 40);
        let reporter = member(&fx, "bob", REPORTER);
        let p = run_ok(&fx);
        let pid = p["id"].as_i64().unwrap();
        assert_eq!(p["status"], "pending");
        let jobs = jobs_of(&fx, pid, "");
        assert_eq!(
            names(&jobs, "name"),
            ["auto-job", "manual-job", "later-job"]
        );
        assert_eq!(names(&jobs, "status"), ["pending", "manual", "created"]);
        let (auto, manual) = (
            jobs[0]["id"].as_i64().unwrap(),
            jobs[1]["id"].as_i64().unwrap(),
        );

        // The project's jobs, newest first, by scope.
        let r = fx.call("GET", "/jobs", None);
        assert_eq!(ids(&status(&r, 200)).len(), 3);
        assert_eq!(r.header("X-Total"), Some("3"));
        let list = |q: &str| status(&fx.call("GET", &format!("/jobs?{q}"), None), 200);
        assert_eq!(names(&list("scope[]=manual"), "name"), ["manual-job"]);
        assert_eq!(names(&list("scope=pending"), "name"), ["auto-job"]);
        assert_eq!(
            names(&list("scope[]=pending&scope[]=manual"), "name"),
            ["manual-job", "auto-job"]
        );
        let r = fx.call("GET", "/jobs?scope[]=bogus", None);
        assert_eq!(
            status(&r, 400),
            json!({"error": "scope does not have a valid value"})
        );
        let one = status(&fx.call("GET", &format!("/jobs/{manual}"), None), 200);
        assert_eq!(one["name"], "manual-job");
        assert_eq!(one["stage"], "build");
        assert_eq!(one["allow_failure"], true);
        assert_eq!(one["pipeline"]["iid"], p["iid"]);
        assert_eq!(fx.call("GET", "/jobs/999999", None).status, 404);

        // No log before a runner takes the job.
        let r = fx.call("GET", &format!("/jobs/{auto}/trace"), None);
        assert_eq!(r.status, 200);
        assert_eq!(r.text, "");
        assert!(
            r.header("Content-Type")
                .unwrap_or_default()
                .starts_with("text/plain"),
            "{:?}",
            r.headers
        );
        assert_eq!(
            r.header("Content-Disposition"),
            Some(format!("infile; filename=\"{auto}.log\"").as_str())
        );

        // Play: only a manual job, once.
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{auto}/play"), None);
        assert_eq!(
            status(&r, 400),
            json!({"message": "400 Bad request - Unplayable Job"})
        );
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{manual}/play"), None);
        let played = status(&r, 200);
        assert_eq!(played["status"], "pending");
        assert_eq!(played["user"]["username"], "carol");
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{manual}/play"), None);
        assert_eq!(r.status, 400, "{}", r.text);

        // No artifacts yet.
        for path in [
            format!("/jobs/{auto}/artifacts"),
            format!("/jobs/{auto}/artifacts/some/file.txt"),
            "/jobs/artifacts/main/download?job=auto-job".to_string(),
            "/jobs/artifacts/main/raw/file.txt?job=auto-job".to_string(),
        ] {
            let r = fx.call("GET", &path, None);
            assert_eq!(
                status(&r, 404),
                json!({"message": "404 Not Found"}),
                "{path}"
            );
        }
        let r = fx.call("GET", "/jobs/artifacts/main/download", None);
        assert_eq!(status(&r, 400), json!({"error": "job is missing"}));

        // A runner takes the oldest pending job: its log starts with the server's preamble and
        // its token finds it at `GET /job`.
        let runner = project_runner(s, &fx.owner, fx.id, &[]);
        let taken = status(&request_job(s, &runner), 201);
        assert_eq!(taken["id"], auto);
        let job_token = taken["token"].as_str().unwrap().to_string();
        let r = Reply::from(
            s.request("GET", "/api/v4/job")
                .set("JOB-TOKEN", &job_token)
                .call(),
        );
        let own = status(&r, 200);
        assert_eq!(own["id"], auto);
        assert_eq!(own["status"], "running");
        assert_eq!(own["pipeline"]["id"], pid);
        assert_eq!(own["runner"]["description"], "test runner");
        assert_eq!(own["permissions"]["repository"], json!(["read"]), "{own}");
        assert_eq!(own["permissions"]["container_registry"], json!(["read"]));
        assert!(own["permissions"].get("pipeline").is_none(), "{own}");
        let r = s.call("GET", "/api/v4/job", Some(&fx.owner), None);
        assert_eq!(status(&r, 404), json!({"message": "404 Job Not Found"}));
        let r = s.call("GET", "/api/v4/job", None, None);
        assert_eq!(r.status, 401, "{}", r.text);
        let log = s.get(
            &format!("/api/v4/projects/{}/jobs/{auto}/trace", fx.id),
            &fx.owner,
        );
        assert_eq!(log.status, 200);
        assert!(!log.text.is_empty(), "no preamble");

        // The runner uploads an archive and succeeds: the archive is downloadable whole, file
        // by file, and by ref and job name.
        let archive = stored_zip(&[("out/hello.txt", b"hello\n"), ("notes.md", b"# notes\n")]);
        let r = upload(s, auto, &job_token, &archive);
        assert_eq!(r.status, 201, "{}", r.text);
        let j = status(&fx.call("GET", &format!("/jobs/{auto}"), None), 200);
        assert_eq!(
            j["artifacts_file"],
            json!({"filename": "artifacts.zip", "size": archive.len()})
        );
        assert_eq!(
            j["artifacts"][0],
            json!({"file_type": "archive", "size": archive.len(), "filename": "artifacts.zip",
                   "file_format": "zip"})
        );
        assert!(j["artifacts_expire_at"].is_string(), "{j}");
        let r = fx.call_as(&maintainer, "POST", &format!("/jobs/{auto}/erase"), None);
        assert_eq!(
            status(&r, 403),
            json!({"message": "403 Forbidden - Job is not erasable!"}),
            "a running job is not erasable"
        );
        let r = put_job(s, auto, &job_token, json!({"state": "success"}));
        assert_eq!(r.status, 200, "{}", r.text);
        let r = Reply::from(
            s.request("GET", "/api/v4/job")
                .set("JOB-TOKEN", &job_token)
                .call(),
        );
        assert_eq!(r.status, 401, "a finished job's token is dead: {}", r.text);
        let project = format!("/api/v4/projects/{}", fx.id);
        let (code, body, kind) = raw(s, &format!("{project}/jobs/{auto}/artifacts"), &reporter);
        assert_eq!((code, kind.as_deref()), (200, Some("application/zip")));
        assert_eq!(body, archive);
        let (code, body, _) = raw(
            s,
            &format!("{project}/jobs/{auto}/artifacts/out/hello.txt"),
            &fx.owner,
        );
        assert_eq!((code, body.as_slice()), (200, b"hello\n".as_slice()));
        let (code, _, _) = raw(
            s,
            &format!("{project}/jobs/{auto}/artifacts/out/nope.txt"),
            &fx.owner,
        );
        assert_eq!(code, 404);
        let (code, body, _) = raw(
            s,
            &format!("{project}/jobs/artifacts/main/download?job=auto-job"),
            &fx.owner,
        );
        assert_eq!((code, body == archive), (200, true));
        let (code, body, _) = raw(
            s,
            &format!("{project}/jobs/artifacts/main/raw/notes.md?job=auto-job"),
            &fx.owner,
        );
        assert_eq!((code, body.as_slice()), (200, b"# notes\n".as_slice()));
        let (code, _, _) = raw(
            s,
            &format!("{project}/jobs/artifacts/other/download?job=auto-job"),
            &fx.owner,
        );
        assert_eq!(code, 404);

        // Erase: finished jobs only, Maintainer+; the log and the archive go.
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{auto}/erase"), None);
        assert_eq!(r.status, 403, "{}", r.text);
        let r = fx.call_as(&maintainer, "POST", &format!("/jobs/{auto}/erase"), None);
        let erased = status(&r, 201);
        assert!(erased["erased_at"].is_string(), "{erased}");
        assert_eq!(erased["artifacts"], json!([]));
        assert!(erased.get("artifacts_file").is_none(), "{erased}");
        let log = fx.call("GET", &format!("/jobs/{auto}/trace"), None);
        assert_eq!((log.status, log.text.as_str()), (200, ""));
        let r = fx.call("GET", &format!("/jobs/{auto}/artifacts"), None);
        assert_eq!(status(&r, 404), json!({"message": "404 Not Found"}));
        let r = fx.call("GET", "/jobs/artifacts/main/download?job=auto-job", None);
        assert_eq!(r.status, 404);
        let r = fx.call_as(&maintainer, "POST", &format!("/jobs/{auto}/erase"), None);
        assert_eq!(r.status, 403, "{}", r.text);

        // The played manual job is next: canceling it while it runs ends it canceled.
        let taken = status(&request_job(s, &runner), 201);
        assert_eq!(taken["id"], manual);
        let manual_token = taken["token"].as_str().unwrap().to_string();
        let r = fx.call_as(&dev, "POST", &format!("/jobs/{manual}/cancel"), None);
        assert_eq!(status(&r, 201)["status"], "canceling");
        let r = put_job(
            s,
            manual,
            &manual_token,
            json!({"state": "failed", "failure_reason": "script_failure"}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let done = status(&fx.call("GET", &format!("/jobs/{manual}"), None), 200);
        assert_eq!(done["status"], "canceled");
        assert!(done.get("failure_reason").is_none(), "{done}");
    });
}

#[test]
fn merge_request_pipelines_run_for_the_source_branch() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI_MR)]);
        fx.write("feature", "main", "f.txt", "feature\n");
        let mr = fx.open("feature", "main", "Feature");
        let iid = mr["iid"].as_i64().unwrap();
        // Opening the merge request starts its first pipeline, just after the answer.
        let started = Instant::now();
        let first = loop {
            let r = fx.call("GET", &format!("/merge_requests/{iid}/pipelines"), None);
            if let Some(p) = status(&r, 200).as_array().and_then(|a| a.first()) {
                break p.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no MR pipeline"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(first["source"], "merge_request_event");
        let r = fx.call("POST", &format!("/merge_requests/{iid}/pipelines"), None);
        let p = status(&r, 201);
        assert_eq!(p["source"], "merge_request_event");
        assert_eq!(p["ref"], "feature");
        let jobs = jobs_of(&fx, p["id"].as_i64().unwrap(), "");
        assert_eq!(names(&jobs, "name"), ["mr-job"]);
        // A pipeline for the API has no job here.
        let r = run(&fx, &fx.owner, json!({"ref": "feature"}));
        assert_eq!(status(&r, 400), json!({"message": {"base": [FILTERED]}}));
        let r = fx.call("GET", &format!("/merge_requests/{iid}/pipelines"), None);
        let listed = status(&r, 200);
        // Newest first: ours and the one(s) opening the merge request started (a push of the
        // branch racing the opening may have started one more).
        let listed_ids = ids(&listed);
        assert!(listed_ids.windows(2).all(|w| w[0] > w[1]), "{listed}");
        assert!(listed_ids.contains(&p["id"].as_i64().unwrap()), "{listed}");
        assert!(
            listed_ids.contains(&first["id"].as_i64().unwrap()),
            "{listed}"
        );
        assert_eq!(
            r.header("X-Total"),
            Some(listed_ids.len().to_string().as_str())
        );
        for other in listed.as_array().unwrap() {
            assert_eq!(other["source"], "merge_request_event", "{listed}");
            assert_eq!(other["sha"], p["sha"], "{listed}");
        }
        let r = fx.call("GET", "/merge_requests/99/pipelines", None);
        assert_eq!(
            status(&r, 404),
            json!({"message": "404 Merge Request Not Found"})
        );
        let r = fx.call("POST", "/merge_requests/99/pipelines", None);
        assert_eq!(r.status, 404, "{}", r.text);
    });
}

#[test]
fn reporters_read_developers_run_owners_delete_and_anonymous_reads_public_projects() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI)]);
        let reporter = member(&fx, "bob", REPORTER);
        let dev = member(&fx, "carol", DEVELOPER);
        let id = run_ok(&fx)["id"].as_i64().unwrap();
        let job = jobs_of(&fx, id, "")[0]["id"].as_i64().unwrap();

        // A Reporter reads pipelines, jobs and logs, but runs and changes nothing.
        for path in [
            "/pipelines".to_string(),
            format!("/pipelines/{id}"),
            format!("/pipelines/{id}/jobs"),
            "/pipelines/latest".to_string(),
            "/jobs".to_string(),
            format!("/jobs/{job}"),
            format!("/jobs/{job}/trace"),
        ] {
            let r = fx.call_as(&reporter, "GET", &path, None);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            assert_eq!(
                r.header("X-Accepted-Permissions"),
                Some("pipeline:read"),
                "{path}"
            );
        }
        let r = fx.call_as(
            &reporter,
            "GET",
            &format!("/pipelines/{id}/variables"),
            None,
        );
        assert_eq!(status(&r, 403), json!({"message": "403 Forbidden"}));
        for (method, path) in [
            ("POST", "/pipeline".to_string()),
            ("POST", format!("/pipelines/{id}/cancel")),
            ("POST", format!("/pipelines/{id}/retry")),
            ("POST", format!("/jobs/{job}/cancel")),
            ("POST", format!("/jobs/{job}/play")),
            ("DELETE", format!("/pipelines/{id}")),
        ] {
            let r = fx.call_as(&reporter, method, &path, Some(json!({"ref": "main"})));
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        }
        // A Developer runs pipelines but neither deletes them nor erases jobs.
        assert_eq!(run(&fx, &dev, json!({"ref": "main"})).status, 201);
        let r = fx.call_as(&dev, "GET", &format!("/pipelines/{id}/variables"), None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            fx.call_as(&dev, "DELETE", &format!("/pipelines/{id}"), None)
                .status,
            403
        );
        assert_eq!(
            fx.call_as(&dev, "POST", &format!("/jobs/{job}/erase"), None)
                .status,
            403
        );

        // A fine-grained token that reads pipelines only.
        let reader = s.fine_token("alice", "pipeline:read", "all_memberships", &[]);
        assert_eq!(fx.call_as(&reader, "GET", "/pipelines", None).status, 200);
        let r = run(&fx, &reader, json!({"ref": "main"}));
        let body = status(&r, 403);
        assert_eq!(body["error"], "insufficient_scope", "{body}");
        assert_eq!(body["missing"], json!(["pipeline:create"]));
        let r = fx.call_as(&reader, "POST", &format!("/pipelines/{id}/cancel"), None);
        assert_eq!(status(&r, 403)["missing"], json!(["pipeline:update"]));
        let writer = s.fine_token("alice", "pipeline:create", "all_memberships", &[]);
        assert_eq!(run(&fx, &writer, json!({"ref": "main"})).status, 201);
        let outside = s.fine_token("alice", "pipeline:read", "personal_projects", &[]);
        let r = fx.call_as(&outside, "GET", "/pipelines", None);
        assert_eq!(status(&r, 404), json!({"message": "404 Project Not Found"}));

        // Anonymous: a private project is not there; a public one lists and shows pipelines.
        let anon = |path: &str| {
            s.call(
                "GET",
                &format!("/api/v4/projects/{}{path}", fx.id),
                None,
                None,
            )
        };
        let r = anon("/pipelines");
        assert_eq!(status(&r, 404), json!({"message": "404 Project Not Found"}));
        assert_eq!(anon(&format!("/jobs/{job}")).status, 404);
        make_public(&fx);
        assert_eq!(ids(&status(&anon("/pipelines"), 200)).len(), 3);
        assert_eq!(status(&anon(&format!("/pipelines/{id}")), 200)["id"], id);
        assert_eq!(anon(&format!("/jobs/{job}")).status, 200);
        assert_eq!(anon(&format!("/jobs/{job}/trace")).status, 200);
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{}/pipeline", fx.id),
            None,
            Some(json!({"ref": "main"})),
        );
        assert_eq!(r.status, 401, "{}", r.text);
        let stranger = {
            s.user("eve");
            s.legacy_token("eve", "api")
        };
        assert_eq!(
            fx.call_as(&stranger, "POST", "/pipeline", Some(json!({"ref": "main"})))
                .status,
            403
        );
        assert_eq!(fx.call_as(&stranger, "GET", "/pipelines", None).status, 200);
    });
}
