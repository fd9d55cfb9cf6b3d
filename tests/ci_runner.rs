//! Pipelines end to end with the real `tinforge runner` binary on SQLite and PostgreSQL: a
//! two-stage pipeline started by a commit, by the API and by `git push`; a failing job failing
//! the pipeline and skipping the next stage; cancel of a running job; and a job whose CI file
//! grants `container_registry: [create, read]` pushing an image with skopeo to its own project
//! as `CI_REGISTRY_USER:CI_JOB_TOKEN`, refused on another project and on the project's issues,
//! its token dead once the job ended (REST, git and the registry).

mod common;

use common::ci::{
    Runner, commit_files, jobs_by_name, latest_pipeline, project_runner, trace, wait_job,
    wait_pipeline,
};
use common::git::{clone_url, git, try_git};
use common::oci::{self, LayerSpec};
use common::{Server, each_backend};
use serde_json::{Value, json};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// A private project `path` in alice's namespace with default branch `main`; its id.
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

const TWO_STAGES: &str = r#"
stages: [build, test]
variables:
  GREETING: hello
build:
  stage: build
  script:
    - echo "building $CI_COMMIT_REF_NAME"
    - echo "$GREETING from build" > out.txt
  artifacts:
    paths: [out.txt]
test:
  stage: test
  script:
    - cat out.txt
    - echo "source=$CI_PIPELINE_SOURCE sha=$CI_COMMIT_SHA"
"#;

fn job_id(jobs: &[(String, Value)], name: &str) -> i64 {
    jobs.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, j)| j["id"].as_i64())
        .unwrap_or_else(|| panic!("no job {name} in {jobs:?}"))
}

#[test]
fn a_two_stage_pipeline_runs_on_a_commit_on_the_api_and_on_git_push() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        let _runner = Runner::start(s, &runner);

        // A commit through the repository API starts a push pipeline.
        commit_files(s, &t, id, "main", &[(".gitlab-ci.yml", TWO_STAGES)]);
        let p = latest_pipeline(s, &t, id, "main", LIMIT);
        assert_eq!(p["source"], "push");
        let done = wait_pipeline(s, &t, id, p["id"].as_i64().unwrap(), LIMIT);
        assert_eq!(done["status"], "success", "{done}");
        let jobs = jobs_by_name(s, &t, id, p["id"].as_i64().unwrap());
        assert_eq!(jobs.len(), 2);
        for (name, j) in &jobs {
            assert_eq!(j["status"], "success", "{name}: {j}");
        }
        let build = trace(s, &t, id, job_id(&jobs, "build"));
        assert!(
            build.starts_with("\u{1b}[36;1mCI_JOB_TOKEN permissions"),
            "{build}"
        );
        assert!(build.contains("repository: read"), "{build}");
        assert!(build.contains("building main"), "{build}");
        // The second stage got the first one's artifacts.
        let test = trace(s, &t, id, job_id(&jobs, "test"));
        assert!(test.contains("hello from build"), "{test}");
        assert!(test.contains("source=push"), "{test}");

        // The API starts one too.
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/pipeline"),
            Some(&t),
            Some(json!({"ref": "main"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["source"], "api");
        let api = r.json["id"].as_i64().unwrap();
        assert_eq!(wait_pipeline(s, &t, id, api, LIMIT)["status"], "success");
        let jobs = jobs_by_name(s, &t, id, api);
        assert!(trace(s, &t, id, job_id(&jobs, "test")).contains("source=api"));

        // And so does a real git push, for the pushed commit.
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        git(dir, &["clone", "-q", &clone_url(s, &t, "alice/app"), "c"]);
        let c = dir.join("c");
        std::fs::write(c.join("README.md"), "pushed\n").unwrap();
        git(&c, &["add", "README.md"]);
        git(
            &c,
            &[
                "-c",
                "user.name=A",
                "-c",
                "user.email=a@x",
                "commit",
                "-qm",
                "readme",
            ],
        );
        git(&c, &["push", "-q", "origin", "main"]);
        let sha = git(&c, &["rev-parse", "HEAD"]).trim().to_string();
        let started = std::time::Instant::now();
        let pushed = loop {
            let p = latest_pipeline(s, &t, id, "main", LIMIT);
            if p["sha"] == sha.as_str() {
                break p;
            }
            assert!(started.elapsed() < LIMIT, "no pipeline for {sha}");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(pushed["source"], "push");
        let done = wait_pipeline(s, &t, id, pushed["id"].as_i64().unwrap(), LIMIT);
        assert_eq!(done["status"], "success", "{done}");
        let jobs = jobs_by_name(s, &t, id, pushed["id"].as_i64().unwrap());
        assert!(trace(s, &t, id, job_id(&jobs, "test")).contains(&format!("sha={sha}")));
    });
}

#[test]
fn a_failing_job_fails_the_pipeline_and_skips_the_later_stages() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        let _runner = Runner::start(s, &runner);
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(
                ".gitlab-ci.yml",
                "build:\n  stage: build\n  script:\n    - echo about to fail\n    - exit 3\n  \
                 after_script:\n    - echo cleaning up\n\
                 test:\n  stage: test\n  script: [echo never]\n\
                 notify:\n  stage: test\n  when: on_failure\n  script: [echo build failed]\n",
            )],
        );
        let p = latest_pipeline(s, &t, id, "main", LIMIT);
        let done = wait_pipeline(s, &t, id, p["id"].as_i64().unwrap(), LIMIT);
        assert_eq!(done["status"], "failed", "{done}");
        let jobs = jobs_by_name(s, &t, id, p["id"].as_i64().unwrap());
        let get = |n: &str| jobs.iter().find(|(name, _)| name == n).unwrap().1.clone();
        assert_eq!(get("build")["status"], "failed");
        assert_eq!(get("build")["failure_reason"], "script_failure");
        assert_eq!(get("test")["status"], "skipped");
        assert_eq!(get("notify")["status"], "success");
        let log = trace(s, &t, id, job_id(&jobs, "build"));
        assert!(log.contains("about to fail"), "{log}");
        assert!(
            log.contains("cleaning up"),
            "after_script runs after a failure: {log}"
        );
    });
}

#[test]
fn a_running_job_is_canceled_within_seconds() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        let _runner = Runner::start(s, &runner);
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(
                ".gitlab-ci.yml",
                "slow:\n  script:\n    - echo started\n    - sleep 120\n    - echo finished\n",
            )],
        );
        let p = latest_pipeline(s, &t, id, "main", LIMIT);
        let pid = p["id"].as_i64().unwrap();
        let job = job_id(&jobs_by_name(s, &t, id, pid), "slow");
        wait_job(s, &t, id, job, LIMIT, |j| j["status"] == "running");
        let started = std::time::Instant::now();
        while !trace(s, &t, id, job).contains("started") {
            assert!(started.elapsed() < LIMIT, "no output from the job");
            std::thread::sleep(Duration::from_millis(200));
        }
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/jobs/{job}/cancel"),
            Some(&t),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let asked = std::time::Instant::now();
        let j = wait_job(s, &t, id, job, Duration::from_secs(30), |j| {
            j["status"] == "canceled"
        });
        assert!(
            asked.elapsed() < Duration::from_secs(15),
            "cancel took {:?}",
            asked.elapsed()
        );
        assert!(!trace(s, &t, id, job).contains("finished"));
        assert_eq!(j["status"], "canceled");
        assert_eq!(wait_pipeline(s, &t, id, pid, LIMIT)["status"], "canceled");
    });
}

#[test]
fn a_job_token_pushes_an_image_to_its_own_project_only_and_dies_with_the_job() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        project(s, &t, "other");
        let runner = project_runner(s, &t, id, &[]);
        let _runner = Runner::start(s, &runner);
        let work = tempfile::tempdir().unwrap();
        let image = oci::build_image(
            &work.path().join("layout"),
            "v1",
            &[LayerSpec::tar(64 * 1024, 7)],
        );
        let token_out = work.path().join("job-token");
        let ci = "permissions:\n  container_registry: [create, read]\npublish:\n  script:\n    - bash publish.sh\n";
        let script = r#"set -e
export HOME=$(mktemp -d)
printf 'unqualified-search-registries = []\n' > "$HOME/registries.conf"
echo '{"auths":{}}' > "$HOME/auth.json"
push() {
  skopeo --insecure-policy --registries-conf "$HOME/registries.conf" copy \
    --authfile "$HOME/auth.json" --dest-tls-verify=false \
    --dest-creds "$CI_REGISTRY_USER:$CI_JOB_TOKEN" "oci:$LAYOUT:v1" "docker://$1"
}
push "$CI_REGISTRY_IMAGE:ci"
echo pushed-own
if push "$CI_REGISTRY/alice/other:ci"; then echo OTHER-PUSHED; exit 1; else echo other-refused; fi
echo "issues=$(curl -s -o /dev/null -w '%{http_code}' -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/issues")"
echo "self=$(curl -s -o /dev/null -w '%{http_code}' -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/job")"
printf '%s' "$CI_JOB_TOKEN" > "$TOKEN_OUT"
echo "token=$CI_JOB_TOKEN"
"#;
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(".gitlab-ci.yml", ci), ("publish.sh", script)],
        );
        // The commit's own push pipeline has no LAYOUT: it fails; the API pipeline carries it.
        let first = latest_pipeline(s, &t, id, "main", LIMIT);
        wait_pipeline(s, &t, id, first["id"].as_i64().unwrap(), LIMIT);
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/pipeline"),
            Some(&t),
            Some(json!({"ref": "main", "variables": [
                {"key": "LAYOUT", "value": image.dir.to_str().unwrap()},
                {"key": "TOKEN_OUT", "value": token_out.to_str().unwrap()},
            ]})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let pid = r.json["id"].as_i64().unwrap();
        let done = wait_pipeline(s, &t, id, pid, LIMIT);
        let jobs = jobs_by_name(s, &t, id, pid);
        let log = trace(s, &t, id, job_id(&jobs, "publish"));
        assert_eq!(done["status"], "success", "{log}");
        assert!(log.contains("container_registry: create, read"), "{log}");
        assert!(log.contains("pushed-own"), "{log}");
        assert!(log.contains("other-refused"), "{log}");
        assert!(log.contains("issues=403"), "{log}");
        assert!(log.contains("self=200"), "{log}");
        // Masked in the log.
        assert!(log.contains("token=[MASKED]"), "{log}");
        let token = std::fs::read_to_string(&token_out).expect("the job wrote its token");
        assert!(token.starts_with("tfjob-"));
        assert!(!log.contains(&token));

        // The image is in the project's registry, and nothing in the other project's.
        let repos = s.get(
            &format!("/api/v4/projects/{id}/registry/repositories?tags=true"),
            &t,
        );
        assert_eq!(repos.status, 200, "{}", repos.text);
        assert_eq!(repos.json[0]["tags"][0]["name"], "ci", "{}", repos.text);
        let other = s.get("/api/v4/projects/alice%2Fother/registry/repositories", &t);
        assert_eq!(other.json, json!([]));

        // After the job its token is dead everywhere.
        let rest = s
            .request("GET", &format!("/api/v4/projects/{id}"))
            .set("JOB-TOKEN", &token)
            .call();
        assert_eq!(common::Reply::from(rest).status, 401);
        let url = s
            .url
            .replacen("http://", &format!("http://gitlab-ci-token:{token}@"), 1);
        let ls = try_git(work.path(), &["ls-remote", &format!("{url}/alice/app.git")]);
        assert!(ls.is_err(), "git accepted a dead job token: {ls:?}");
        let jwt = s
            .request(
                "GET",
                "/jwt/auth?service=container_registry&scope=repository:alice/app:pull",
            )
            .set(
                "Authorization",
                &format!(
                    "Basic {}",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        format!("gitlab-ci-token:{token}")
                    )
                ),
            )
            .call();
        assert_eq!(common::Reply::from(jwt).status, 401);
    });
}

#[test]
fn a_merge_request_set_to_merge_when_the_pipeline_succeeds_is_merged_by_it() {
    each_backend(|s| {
        s.user("alice");
        let t = s.legacy_token("alice", "api");
        let id = project(s, &t, "app");
        let runner = project_runner(s, &t, id, &[]);
        let _runner = Runner::start(s, &runner);
        commit_files(
            s,
            &t,
            id,
            "main",
            &[(
                ".gitlab-ci.yml",
                "check:\n  script: [sleep 3, echo checked]\n",
            )],
        );
        let r = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(&t),
            Some(
                json!({"branch": "feature", "start_branch": "main", "commit_message": "f",
                        "actions": [{"action": "create", "file_path": "f.txt", "content": "f\n"}]}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let mr = s.call(
            "POST",
            &format!("/api/v4/projects/{id}/merge_requests"),
            Some(&t),
            Some(json!({"source_branch": "feature", "target_branch": "main", "title": "f"})),
        );
        assert_eq!(mr.status, 201, "{}", mr.text);
        let iid = mr.json["iid"].as_i64().unwrap();
        let branch = latest_pipeline(s, &t, id, "feature", LIMIT);
        let asked = s.call(
            "PUT",
            &format!("/api/v4/projects/{id}/merge_requests/{iid}/merge"),
            Some(&t),
            Some(json!({"merge_when_pipeline_succeeds": true})),
        );
        assert_eq!(asked.status, 200, "{}", asked.text);
        assert_eq!(asked.json["state"], "opened");
        assert_eq!(asked.json["merge_when_pipeline_succeeds"], true);
        // Cancel and set again: the flag follows.
        let canceled = s.call(
            "POST",
            &format!(
                "/api/v4/projects/{id}/merge_requests/{iid}/cancel_merge_when_pipeline_succeeds"
            ),
            Some(&t),
            None,
        );
        assert_eq!(canceled.status, 201, "{}", canceled.text);
        assert_eq!(canceled.json["merge_when_pipeline_succeeds"], false);
        let again = s.call(
            "PUT",
            &format!("/api/v4/projects/{id}/merge_requests/{iid}/merge"),
            Some(&t),
            Some(json!({"merge_when_pipeline_succeeds": true})),
        );
        assert_eq!(
            again.json["merge_when_pipeline_succeeds"], true,
            "{}",
            again.text
        );
        let done = wait_pipeline(s, &t, id, branch["id"].as_i64().unwrap(), LIMIT);
        assert_eq!(done["status"], "success", "{done}");
        let started = std::time::Instant::now();
        loop {
            let m = s.get(&format!("/api/v4/projects/{id}/merge_requests/{iid}"), &t);
            if m.json["state"] == "merged" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "not merged after the pipeline: {}",
                m.text
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}
