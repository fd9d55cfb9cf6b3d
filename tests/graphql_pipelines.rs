//! GraphQL pipelines on SQLite and PostgreSQL: `Project.pipelines` (newest first, filters,
//! cursors, `count`) with their jobs, `Project.pipeline` by iid, and `pipelineCreate`,
//! `pipelineCancel`, `pipelineRetry`, `pipelineDestroy` with the same requirements as REST
//! (Reporter reads, Developer runs/cancels/retries, Owner destroys; a read-only fine-grained
//! token is refused; a private project is not there for strangers).

mod common;

use common::ci::commit_files;
use common::merge_requests::setup;
use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

const CI: &str = r#"
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "api"
stages: [build, test]
build-job:
  stage: build
  script: echo build
test-job:
  stage: test
  script: echo test
"#;

const PIPELINES: &str = r#"query($path: ID!, $first: Int, $after: String, $status: PipelineStatusEnum, $ref: String) {
  project(fullPath: $path) {
    pipelines(first: $first, after: $after, status: $status, ref: $ref) {
      count
      pageInfo { hasNextPage endCursor }
      nodes {
        id iid sha ref status source yamlErrors path createdAt startedAt finishedAt
        user { username }
        jobs { nodes { id name status stage { name } allowFailure webPath retried } }
      }
    }
  }
}"#;

const CREATE: &str = r#"mutation($path: ID!, $ref: String!, $vars: [CiVariableInput!]) {
  pipelineCreate(input: {projectPath: $path, ref: $ref, variables: $vars}) {
    errors
    pipeline { id iid status source }
  }
}"#;

const CANCEL: &str = r#"mutation($id: CiPipelineID!) {
  pipelineCancel(input: {id: $id}) { errors pipeline { id status } }
}"#;

const RETRY: &str = r#"mutation($id: CiPipelineID!) {
  pipelineRetry(input: {id: $id}) { errors pipeline { id status jobs(retried: false) { count } } }
}"#;

const DESTROY: &str = r#"mutation($id: CiPipelineID!) {
  pipelineDestroy(input: {id: $id}) { errors }
}"#;

fn data(r: &Reply) -> &Value {
    assert!(r.json["errors"].is_null(), "{}", r.text);
    &r.json["data"]
}

fn code(r: &Reply) -> &str {
    r.json["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", r.text))
}

fn member(s: &Server, project: i64, owner: &str, username: &str, level: i64) -> String {
    let uid = s.user(username);
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project}/members"),
        Some(owner),
        Some(json!({"user_id": uid, "access_level": level})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    s.legacy_token(username, "api")
}

#[test]
fn pipelines_and_their_jobs_are_listed_created_canceled_retried_and_destroyed() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI)]);
        let path = json!("acme/p");
        let reporter = member(s, fx.id, &fx.owner, "bob", 20);
        let dev = member(s, fx.id, &fx.owner, "carol", 30);

        // Created through the mutation (with variables) and over REST.
        let r = s.graphql(
            Some(&dev),
            CREATE,
            json!({"path": path, "ref": "main", "vars": [{"key": "A", "value": "1"}]}),
        );
        let created = &data(&r)["pipelineCreate"];
        assert_eq!(created["errors"], json!([]), "{created}");
        assert_eq!(created["pipeline"]["status"], "PENDING");
        assert_eq!(created["pipeline"]["source"], "api");
        assert_eq!(created["pipeline"]["iid"], "1");
        let gid = created["pipeline"]["id"].as_str().unwrap().to_string();
        let id: i64 = gid
            .strip_prefix("gid://gitlab/Ci::Pipeline/")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{gid}"));
        let vars = s.get(
            &format!("/api/v4/projects/{}/pipelines/{id}/variables", fx.id),
            &fx.owner,
        );
        assert_eq!(
            vars.json,
            json!([{"variable_type": "env_var", "key": "A", "value": "1"}])
        );
        let rest = s.call(
            "POST",
            &format!("/api/v4/projects/{}/pipeline", fx.id),
            Some(&fx.owner),
            Some(json!({"ref": "main"})),
        );
        assert_eq!(rest.status, 201, "{}", rest.text);
        let second = rest.json["id"].as_i64().unwrap();

        let r = s.graphql(Some(&dev), CREATE, json!({"path": path, "ref": "nope"}));
        assert_eq!(
            data(&r)["pipelineCreate"],
            json!({"errors": ["Reference not found"], "pipeline": null})
        );

        // The list: newest first, one per page with cursors, jobs in stage order.
        let r = s.graphql(
            Some(&reporter),
            PIPELINES,
            json!({"path": path, "first": 1}),
        );
        let list = &data(&r)["project"]["pipelines"];
        assert_eq!(list["count"], 2);
        assert_eq!(list["pageInfo"]["hasNextPage"], true);
        let newest = &list["nodes"][0];
        assert_eq!(newest["id"], format!("gid://gitlab/Ci::Pipeline/{second}"));
        assert_eq!(newest["iid"], "2");
        assert_eq!(newest["ref"], "main");
        assert_eq!(newest["status"], "PENDING");
        assert_eq!(newest["yamlErrors"], false);
        assert_eq!(newest["user"]["username"], "alice");
        assert_eq!(newest["path"], format!("/acme/p/-/pipelines/{second}"));
        assert_eq!(newest["sha"].as_str().map(str::len), Some(40));
        let jobs = &newest["jobs"]["nodes"];
        assert_eq!(jobs[0]["name"], "build-job");
        assert_eq!(jobs[0]["status"], "PENDING");
        assert_eq!(jobs[0]["stage"]["name"], "build");
        assert_eq!(jobs[0]["allowFailure"], false);
        assert_eq!(jobs[0]["retried"], false);
        assert!(
            jobs[0]["id"]
                .as_str()
                .unwrap()
                .starts_with("gid://gitlab/Ci::Build/")
        );
        assert_eq!(jobs[1]["name"], "test-job");
        assert_eq!(jobs[1]["status"], "CREATED");
        let after = list["pageInfo"]["endCursor"].clone();
        let r = s.graphql(
            Some(&reporter),
            PIPELINES,
            json!({"path": path, "first": 1, "after": after}),
        );
        let page2 = &data(&r)["project"]["pipelines"];
        assert_eq!(page2["nodes"][0]["id"], gid.as_str());
        assert_eq!(page2["pageInfo"]["hasNextPage"], false);
        let r = s.graphql(
            Some(&reporter),
            PIPELINES,
            json!({"path": path, "ref": "nope"}),
        );
        assert_eq!(data(&r)["project"]["pipelines"]["count"], 0);

        // One by iid (and none for an unknown one).
        let one = r#"query($path: ID!, $iid: ID!) { project(fullPath: $path) { pipeline(iid: $iid) { id status } } }"#;
        let r = s.graphql(Some(&reporter), one, json!({"path": path, "iid": "1"}));
        assert_eq!(data(&r)["project"]["pipeline"]["id"], gid.as_str());
        let r = s.graphql(Some(&reporter), one, json!({"path": path, "iid": "99"}));
        assert_eq!(data(&r)["project"]["pipeline"], Value::Null);

        // Cancel, then retry: the retried jobs wait again, the old ones are kept as retried.
        let r = s.graphql(Some(&reporter), CANCEL, json!({"id": gid}));
        assert_eq!(code(&r), "role_too_low", "{}", r.text);
        let r = s.graphql(Some(&dev), CANCEL, json!({"id": gid}));
        assert_eq!(
            data(&r)["pipelineCancel"],
            json!({"errors": [], "pipeline": {"id": gid, "status": "CANCELED"}})
        );
        let r = s.graphql(
            Some(&reporter),
            PIPELINES,
            json!({"path": path, "status": "CANCELED"}),
        );
        let canceled = &data(&r)["project"]["pipelines"];
        assert_eq!(canceled["count"], 1);
        assert_eq!(
            canceled["nodes"][0]["jobs"]["nodes"][0]["status"],
            "CANCELED"
        );
        let r = s.graphql(Some(&dev), RETRY, json!({"id": gid}));
        let retried = &data(&r)["pipelineRetry"];
        assert_eq!(retried["errors"], json!([]), "{retried}");
        assert_eq!(retried["pipeline"]["status"], "PENDING");
        assert_eq!(retried["pipeline"]["jobs"]["count"], 2);
        let r = s.graphql(Some(&dev), RETRY, json!({"id": gid}));
        assert_eq!(
            data(&r)["pipelineRetry"]["errors"],
            json!(["Pipeline is not retryable"])
        );
        let all_jobs = r#"query($path: ID!, $iid: ID!) { project(fullPath: $path) { pipeline(iid: $iid) { jobs { count } retried: jobs(retried: true) { nodes { status } } } } }"#;
        let r = s.graphql(Some(&reporter), all_jobs, json!({"path": path, "iid": "1"}));
        let p = &data(&r)["project"]["pipeline"];
        assert_eq!(p["jobs"]["count"], 4);
        assert_eq!(
            p["retried"]["nodes"],
            json!([{"status": "CANCELED"}, {"status": "CANCELED"}])
        );

        // Destroy: the Owner only.
        let r = s.graphql(Some(&dev), DESTROY, json!({"id": gid}));
        assert_eq!(code(&r), "role_too_low", "{}", r.text);
        let r = s.graphql(Some(&fx.owner), DESTROY, json!({"id": gid}));
        assert_eq!(data(&r)["pipelineDestroy"], json!({"errors": []}));
        let gone = s.get(
            &format!("/api/v4/projects/{}/pipelines/{id}", fx.id),
            &fx.owner,
        );
        assert_eq!(gone.status, 404);
        let r = s.graphql(Some(&fx.owner), DESTROY, json!({"id": gid}));
        assert_eq!(code(&r), "not_visible", "{}", r.text);
        let r = s.graphql(
            Some(&fx.owner),
            CANCEL,
            json!({"id": "gid://gitlab/Ci::Pipeline/999999"}),
        );
        assert_eq!(code(&r), "not_visible", "{}", r.text);
    });
}

#[test]
fn graphql_pipelines_deny_like_rest() {
    each_backend(|s| {
        let fx = setup(s, "acme");
        commit_files(s, &fx.owner, fx.id, "main", &[(".gitlab-ci.yml", CI)]);
        let path = json!("acme/p");
        let reporter = member(s, fx.id, &fx.owner, "bob", 20);
        let r = s.graphql(
            Some(&fx.owner),
            CREATE,
            json!({"path": path, "ref": "main"}),
        );
        let gid = data(&r)["pipelineCreate"]["pipeline"]["id"].clone();

        // A Reporter reads but does not run.
        let r = s.graphql(
            Some(&reporter),
            CREATE,
            json!({"path": path, "ref": "main"}),
        );
        assert_eq!(code(&r), "role_too_low", "{}", r.text);
        assert_eq!(r.json["data"]["pipelineCreate"], Value::Null);

        // A fine-grained token that reads the project and its pipelines: lists, but neither
        // runs nor cancels.
        let reader = s.fine_token(
            "alice",
            "project:read,pipeline:read",
            "all_memberships",
            &[],
        );
        let r = s.graphql(Some(&reader), PIPELINES, json!({"path": path}));
        assert_eq!(data(&r)["project"]["pipelines"]["count"], 1);
        let r = s.graphql(Some(&reader), CREATE, json!({"path": path, "ref": "main"}));
        assert_eq!(code(&r), "insufficient_scope", "{}", r.text);
        let r = s.graphql(Some(&reader), CANCEL, json!({"id": gid}));
        assert_eq!(code(&r), "insufficient_scope", "{}", r.text);
        let runner = s.fine_token(
            "alice",
            "project:read,pipeline:create",
            "all_memberships",
            &[],
        );
        let r = s.graphql(Some(&runner), CREATE, json!({"path": path, "ref": "main"}));
        assert_eq!(data(&r)["pipelineCreate"]["errors"], json!([]));

        // A token without pipeline:read sees the project but no pipelines.
        let issues = s.fine_token("alice", "project:read,issue:read", "all_memberships", &[]);
        let r = s.graphql(Some(&issues), PIPELINES, json!({"path": path}));
        assert_eq!(code(&r), "insufficient_scope", "{}", r.text);

        // Strangers and anonymous callers: a private project is not there.
        s.user("eve");
        let eve = s.legacy_token("eve", "api");
        for who in [Some(eve.as_str()), None] {
            let r = s.graphql(who, PIPELINES, json!({"path": path}));
            assert_eq!(data(&r)["project"], Value::Null, "{}", r.text);
            let r = s.graphql(who, CREATE, json!({"path": path, "ref": "main"}));
            assert!(r.json["errors"][0].is_object(), "{}", r.text);
            assert_eq!(r.json["data"]["pipelineCreate"], Value::Null);
        }
        // Public: anonymous callers read pipelines, and still run nothing.
        let r = s.call(
            "PUT",
            "/api/v4/groups/acme",
            Some(&fx.owner),
            Some(json!({"visibility": "public"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let r = s.call(
            "PUT",
            &format!("/api/v4/projects/{}", fx.id),
            Some(&fx.owner),
            Some(json!({"visibility": "public"})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let r = s.graphql(None, PIPELINES, json!({"path": path}));
        assert_eq!(data(&r)["project"]["pipelines"]["count"], 2);
        let r = s.graphql(None, CANCEL, json!({"id": gid}));
        assert!(r.json["errors"][0].is_object(), "{}", r.text);
        let r = s.graphql(Some(&eve), CANCEL, json!({"id": gid}));
        assert_eq!(code(&r), "role_too_low", "{}", r.text);
    });
}
