//! The authorization matrix, generated from the registry: for every declared endpoint (read from
//! the coverage report, so a new endpoint is in the matrix the moment it is declared), every kind
//! of caller is tried against the real server and the answer is compared with what the
//! declaration says. An endpoint whose path parameters the matrix cannot fill fails the test.
//!
//! Expectations are derived from the declaration (permissions, legacy scopes, minimum role,
//! admin-only, covered) by the rules of permissions.md, not by calling `decide()`.

mod common;

use common::catalog::{SCOPES, all_permissions};
use common::{Backend, Reply, Server};
use serde_json::{Value, json};
use std::cell::Cell;

#[derive(Debug, Clone)]
struct Row {
    surface: String,
    method: String,
    path: String,
    permissions: Vec<String>,
    legacy_scopes: Vec<String>,
    min_role: i64,
    admin_only: bool,
    covered: bool,
    target: String,
    target_param: Option<String>,
    /// `principal`, or the runner, job or trigger token the endpoint checks itself.
    credential: String,
}

impl Row {
    fn from(v: &Value) -> Row {
        let strings = |k: &str| {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        Row {
            surface: v["surface"].as_str().unwrap().into(),
            method: v["method"].as_str().unwrap().into(),
            path: v["path"].as_str().unwrap().into(),
            permissions: strings("permissions"),
            legacy_scopes: strings("legacy_scopes"),
            min_role: v["min_role"].as_i64().unwrap(),
            admin_only: v["admin_only"].as_bool().unwrap(),
            covered: v["covered"].as_bool().unwrap(),
            target: v["target"].as_str().unwrap().into(),
            target_param: v["target_param"].as_str().map(str::to_string),
            credential: v["credential"].as_str().unwrap().into(),
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn has_target(&self) -> bool {
        matches!(self.target.as_str(), "project" | "group")
    }

    /// Lists judge every item on its own: anonymous callers get the public ones.
    fn is_list(&self) -> bool {
        self.target == "list"
    }

    /// Resources outside projects and groups ignore a grant's boundary.
    /// (Runners ignore it only at instance level: a project's or group's runners are in it.)
    fn ignores_boundary(&self) -> bool {
        self.permissions.iter().all(|p| {
            ["user:", "personal_access_token:"]
                .iter()
                .any(|r| p.starts_with(r))
                || (p.starts_with("runner:") && !self.has_target())
        })
    }

    /// The permissions a caller needs to reach the endpoint: its own, plus those of the parent
    /// field a nested GraphQL field is selected through.
    fn reach(&self) -> Vec<String> {
        let mut all = self.permissions.clone();
        if self.surface == "graphql" && self.path.starts_with("Group.") {
            all.push("group:read".into());
        }
        if self.surface == "graphql" && self.path.starts_with("Project.") {
            all.push("project:read".into());
        }
        // `Issue.*` is reached through `project { issue }`.
        if self.surface == "graphql" && self.path.starts_with("Issue.") {
            all.push("project:read".into());
            all.push("issue:read".into());
        }
        // `MergeRequest.*` is reached through `project { mergeRequest }`.
        if self.surface == "graphql" && self.path.starts_with("MergeRequest.") {
            all.push("project:read".into());
            all.push("merge_request:read".into());
        }
        // `Repository.*` is reached through `project { repository }`.
        if self.surface == "graphql" && self.path.starts_with("Repository.") {
            all.push("project:read".into());
            all.push("repository:read".into());
        }
        all.sort();
        all.dedup();
        all
    }

    /// The declared fields a nested GraphQL field is selected through.
    fn parents(&self) -> &'static [&'static str] {
        if self.surface != "graphql" {
            return &[];
        }
        match self.path.split('.').next() {
            Some("Group") => &["Query.group"],
            Some("Project") => &["Query.project"],
            Some("Issue") => &["Query.project", "Project.issue"],
            Some("Repository") => &["Query.project", "Project.repository"],
            Some("MergeRequest") => &["Query.project", "Project.mergeRequest"],
            _ => &[],
        }
    }

    /// A legacy scope reaches a nested field only when it also reaches every field it is
    /// selected through (`read_repository` alone cannot select `project`).
    fn through_parents(&self, rows: &[Row]) -> Row {
        let mut row = self.clone();
        for parent in self.parents() {
            let p = rows
                .iter()
                .find(|r| r.surface == "graphql" && r.path == *parent)
                .unwrap_or_else(|| {
                    panic!(
                        "{} is selected through {parent}, which is not declared",
                        self.path
                    )
                });
            row.legacy_scopes.retain(|s| p.legacy_scopes.contains(s));
        }
        row
    }

    fn grantable(&self) -> bool {
        let all = all_permissions();
        self.permissions.iter().all(|p| all.contains(p))
    }
}

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allowed,
    Status(u16),
}

/// The fixtures of one case: a private group with a private project, both owned by alice, with bob
/// as Guest; the objects path parameters name.
struct Fixture {
    project_id: i64,
    group_id: i64,
    project_path: String,
    group_path: String,
}

struct World<'a> {
    s: &'a Server,
    admin: String,
    alice: i64,
    alice_api: String,
    bob: i64,
    seq: Cell<u32>,
}

impl<'a> World<'a> {
    fn new(s: &'a Server) -> World<'a> {
        s.admin("root");
        let alice = s.user("alice");
        let bob = s.user("bob");
        s.user("mallory");
        World {
            s,
            admin: s.legacy_token("root", "api,admin_mode"),
            alice,
            alice_api: s.legacy_token("alice", "api"),
            bob,
            seq: Cell::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.seq.set(self.seq.get() + 1);
        self.seq.get()
    }

    fn ok(&self, r: Reply, what: &str) -> Value {
        assert!(
            r.status < 300,
            "fixture {what} failed: {} {}",
            r.status,
            r.text
        );
        r.json
    }

    fn fixture(&self) -> Fixture {
        let n = self.next();
        let t = Some(self.alice_api.as_str());
        let group = self.ok(
            self.s.call(
                "POST",
                "/api/v4/groups",
                t,
                Some(json!({"name": format!("g{n}"), "path": format!("g{n}"), "visibility": "private"})),
            ),
            "group",
        );
        let group_id = group["id"].as_i64().unwrap();
        let project = self.ok(
            self.s.call(
                "POST",
                "/api/v4/projects",
                t,
                Some(json!({"name": format!("p{n}"), "path": format!("p{n}"),
                            "namespace_id": group_id, "visibility": "private"})),
            ),
            "project",
        );
        let project_id = project["id"].as_i64().unwrap();
        for (kind, id) in [("groups", group_id), ("projects", project_id)] {
            self.ok(
                self.s.call(
                    "POST",
                    &format!("/api/v4/{kind}/{id}/members"),
                    t,
                    Some(json!({"user_id": self.bob, "access_level": 10})),
                ),
                "member",
            );
        }
        Fixture {
            project_id,
            group_id,
            project_path: project["path_with_namespace"].as_str().unwrap().to_string(),
            group_path: group["full_path"].as_str().unwrap().to_string(),
        }
    }

    /// A token of `user` made over REST by the admin (CLI for scopes only the CLI may grant).
    fn token(&self, user: &str, user_id: i64, body: Value) -> String {
        let r = self.s.call(
            "POST",
            &format!("/api/v4/users/{user_id}/personal_access_tokens"),
            Some(&self.admin),
            Some(body.clone()),
        );
        if r.status == 201 {
            return r.json["token"].as_str().unwrap().to_string();
        }
        let scopes = body["scopes"]
            .as_array()
            .unwrap_or_else(|| panic!("token {body} refused: {} {}", r.status, r.text));
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str().unwrap()).collect();
        self.s.legacy_token(user, &scopes.join(","))
    }

    fn legacy(&self, scopes: &[&str]) -> String {
        self.token("alice", self.alice, json!({"name": "m", "scopes": scopes}))
    }

    fn fine(&self, permissions: &[String], boundary: Value) -> String {
        let mut body = json!({"name": "m", "permissions": permissions});
        for (k, v) in boundary.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.token("alice", self.alice, body)
    }

    /// The concrete path of `row` on `fixture`; panics when a parameter has no fixture.
    fn path(&self, row: &Row, f: &Fixture) -> String {
        let mut out = String::new();
        let mut rest = row.path.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let name = rest[start + 1..end].split(':').next().unwrap();
            out.push_str(&self.param(row, name, f));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn param(&self, row: &Row, name: &str, f: &Fixture) -> String {
        // A container repository by id stands for its project: one of the fixture project's.
        if name == "id" && row.path.starts_with("/api/v4/registry/repositories/") {
            return self.container_repository(f).to_string();
        }
        if row.target_param.as_deref() == Some(name) {
            return match row.target.as_str() {
                "project" => f.project_id.to_string(),
                _ => f.group_id.to_string(),
            };
        }
        match name {
            // Members endpoints act on bob's membership; user endpoints on a throwaway user.
            "user_id" if row.path.contains("/members/") => self.bob.to_string(),
            "user_id" if row.path.ends_with("/personal_access_tokens") => self.alice.to_string(),
            "user_id" => {
                let n = self.next();
                self.s.user(&format!("throwaway{n}")).to_string()
            }
            // A protected branch (or wildcard) by name; the handler may say it is not protected.
            "name" if row.path.contains("/protected_branches/") => "main".to_string(),
            // Repository objects by name; the handler may say they do not exist (empty repository).
            "file_path" => "src%2FREADME.md".to_string(),
            "sha" | "branch" => "main".to_string(),
            // A container repository of the fixture project, with the image tag `v1.0` (also a
            // git tag name the repository endpoints may say does not exist).
            "repository_id" if row.path.contains("/registry/repositories/") => {
                self.container_repository(f).to_string()
            }
            "tag_name" => "v1.0".to_string(),
            "merge_request_iid" => "1".to_string(),
            // A namespace is named by its id; a group's is the group's.
            "id" if row.path.starts_with("/api/v4/namespaces/") => f.group_id.to_string(),
            // A token of alice's other than the one making the request, no broader than any
            // caller holding the endpoint's permission (no escalation on rotation).
            "token_id" => {
                let t = self.fine(&row.permissions, json!({"boundary": "all_memberships"}));
                self.s.get("/api/v4/personal_access_tokens/self", &t).json["id"].to_string()
            }
            // Issues, notes and labels that do not exist: what the gate answers is what counts
            // here; the handlers' own rules (author or Reporter+, note authors) are tested in
            // tests/issues.rs.
            "issue_iid" | "note_id" => "999999".to_string(),
            // Pipelines, jobs, runners and triggers that do not exist, likewise (their handlers'
            // rules and the jobs that really run are tested in tests/pipelines_api.rs,
            // tests/runners_api.rs and tests/ci_runner.rs).
            "pipeline_id" | "job_id" | "runner_id" | "trigger_id" | "target_project_id"
            | "target_group_id" => "999999".to_string(),
            "id" if row.path.starts_with("/api/v4/runners/") => "999999".to_string(),
            "key" => "NO_SUCH_VARIABLE".to_string(),
            "ref_name" => "main".to_string(),
            "artifact_path" => "no/such/file.txt".to_string(),
            "label_id" => "no-such-label".to_string(),
            other => panic!(
                "the authorization matrix has no fixture for path parameter `{other}` of {}: \
                 add one in tests/matrix.rs",
                row.label()
            ),
        }
    }

    /// Performs the endpoint on fresh fixtures and says whether the gate let it through.
    fn call(&self, row: &Row, token: Option<&str>) -> Outcome {
        let f = self.fixture();
        if row.surface == "graphql" {
            return self.graphql(row, &f, token);
        }
        let path = self.path(row, &f);
        Outcome::of_rest(self.s.call(&row.method, &path, token, None))
    }

    /// A container repository of the fixture project (its own image) holding the tag `v1.0`,
    /// pushed by alice over `/v2/`: its id. Fresh fixtures per call, so a deletion consumes
    /// only its own.
    fn container_repository(&self, f: &Fixture) -> i64 {
        common::registry::push_image(
            self.s,
            &self.alice_api,
            &f.project_path,
            "v1.0",
            self.next(),
        );
        let list = self.ok(
            self.s.call(
                "GET",
                &format!("/api/v4/projects/{}/registry/repositories", f.project_id),
                Some(&self.alice_api),
                None,
            ),
            "container repository",
        );
        list[0]["id"].as_i64().unwrap()
    }

    /// An issue of alice's in the fixture project (the first is iid 1): its id and iid.
    fn issue(&self, f: &Fixture) -> (i64, i64) {
        let issue = self.ok(
            self.s.call(
                "POST",
                &format!("/api/v4/projects/{}/issues", f.project_id),
                Some(&self.alice_api),
                Some(json!({"title": "matrix"})),
            ),
            "issue",
        );
        (
            issue["id"].as_i64().unwrap(),
            issue["iid"].as_i64().unwrap(),
        )
    }

    /// A commit of alice's creating `file` on `branch` (from `main` when new).
    fn commit(&self, f: &Fixture, branch: &str, file: &str) {
        self.ok(
            self.s.call(
                "POST",
                &format!("/api/v4/projects/{}/repository/commits", f.project_id),
                Some(&self.alice_api),
                Some(json!({"branch": branch, "start_branch": "main", "commit_message": "matrix",
                            "actions": [{"action": "create", "file_path": file, "content": "x\n"}]})),
            ),
            "commit",
        );
    }

    /// A pipeline of the fixture's project (one job, left pending: no runner); (id, iid).
    fn pipeline(&self, f: &Fixture) -> (i64, i64) {
        self.ok(
            self.s.call(
                "POST",
                &format!("/api/v4/projects/{}/repository/commits", f.project_id),
                Some(&self.alice_api),
                Some(json!({"branch": "main", "commit_message": "ci",
                            "actions": [{"action": "create", "file_path": ".gitlab-ci.yml",
                                         "content": "job:\n  script: [\"true\"]\n"}]})),
            ),
            "CI file",
        );
        let p = self.ok(
            self.s.call(
                "POST",
                &format!("/api/v4/projects/{}/pipeline", f.project_id),
                Some(&self.alice_api),
                Some(json!({"ref": "main"})),
            ),
            "pipeline",
        );
        (p["id"].as_i64().unwrap(), p["iid"].as_i64().unwrap())
    }

    /// A merge request of the fixture's project from a fresh branch into `main`; returns its iid.
    fn merge_request(&self, f: &Fixture) -> i64 {
        let n = self.next();
        self.commit(f, "main", &format!("m{n}.txt"));
        self.commit(f, &format!("mr{n}"), &format!("b{n}.txt"));
        let mr = self.ok(
            self.s.call(
                "POST",
                &format!("/api/v4/projects/{}/merge_requests", f.project_id),
                Some(&self.alice_api),
                Some(json!({"source_branch": format!("mr{n}"), "target_branch": "main", "title": "matrix"})),
            ),
            "merge request",
        );
        mr["iid"].as_i64().unwrap()
    }

    /// A GraphQL field reached with the smallest document that selects it.
    fn graphql(&self, row: &Row, f: &Fixture, token: Option<&str>) -> Outcome {
        let n = self.next();
        let (group, project) = (&f.group_path, &f.project_path);
        let (document, path): (String, &[&str]) = match row.path.as_str() {
            "Query.currentUser" => ("{ currentUser { id } }".into(), &["currentUser"]),
            "Query.user" => (r#"{ user(username: "alice") { id } }"#.into(), &["user"]),
            "Query.project" => (
                format!(r#"{{ project(fullPath: "{project}") {{ id }} }}"#),
                &["project"],
            ),
            "Query.projects" => ("{ projects { nodes { id } } }".into(), &["projects"]),
            "Query.group" => (
                format!(r#"{{ group(fullPath: "{group}") {{ id }} }}"#),
                &["group"],
            ),
            "Query.groups" => ("{ groups { nodes { id } } }".into(), &["groups"]),
            "Group.projects" => (
                format!(r#"{{ group(fullPath: "{group}") {{ projects {{ nodes {{ id }} }} }} }}"#),
                &["group", "projects"],
            ),
            "Group.descendantGroups" => (
                format!(
                    r#"{{ group(fullPath: "{group}") {{ descendantGroups {{ nodes {{ id }} }} }} }}"#
                ),
                &["group", "descendantGroups"],
            ),
            "Mutation.groupCreate" => (
                format!(
                    r#"mutation {{ groupCreate(input: {{name: "s{n}", path: "s{n}", parentPath: "{group}"}}) {{ errors group {{ id }} }} }}"#
                ),
                &["groupCreate"],
            ),
            "Mutation.projectCreate" => (
                format!(
                    r#"mutation {{ projectCreate(input: {{name: "q{n}", path: "q{n}", namespacePath: "{group}"}}) {{ errors project {{ id }} }} }}"#
                ),
                &["projectCreate"],
            ),
            "Project.issue" => {
                self.issue(f);
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ issue(iid: "1") {{ id }} }} }}"#
                    ),
                    &["project", "issue"],
                )
            }
            "Project.issues" => (
                format!(
                    r#"{{ project(fullPath: "{project}") {{ issues {{ nodes {{ id }} }} }} }}"#
                ),
                &["project", "issues"],
            ),
            "Project.mergeRequest" => {
                let iid = self.merge_request(f);
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ mergeRequest(iid: "{iid}") {{ id }} }} }}"#
                    ),
                    &["project", "mergeRequest"],
                )
            }
            "Project.mergeRequests" => (
                format!(
                    r#"{{ project(fullPath: "{project}") {{ mergeRequests {{ nodes {{ id }} }} }} }}"#
                ),
                &["project", "mergeRequests"],
            ),
            field @ ("MergeRequest.mergeStatusEnum"
            | "MergeRequest.detailedMergeStatus"
            | "MergeRequest.conflicts"
            | "MergeRequest.mergeable"
            | "MergeRequest.diffHeadSha"
            | "MergeRequest.notes") => {
                let iid = self.merge_request(f);
                let name = field.trim_start_matches("MergeRequest.");
                let selection = if name == "notes" {
                    "notes { nodes { id } }"
                } else {
                    name
                };
                let path: &[&str] = match name {
                    "mergeStatusEnum" => &["project", "mergeRequest", "mergeStatusEnum"],
                    "detailedMergeStatus" => &["project", "mergeRequest", "detailedMergeStatus"],
                    "conflicts" => &["project", "mergeRequest", "conflicts"],
                    "mergeable" => &["project", "mergeRequest", "mergeable"],
                    "diffHeadSha" => &["project", "mergeRequest", "diffHeadSha"],
                    _ => &["project", "mergeRequest", "notes"],
                };
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ mergeRequest(iid: "{iid}") {{ {selection} }} }} }}"#
                    ),
                    path,
                )
            }
            "Project.containerRepositories" => {
                self.container_repository(f);
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ containerRepositories {{ nodes {{ id tags {{ nodes {{ name }} }} }} }} }} }}"#
                    ),
                    &["project", "containerRepositories"],
                )
            }
            "Query.containerRepository" => {
                let id = self.container_repository(f);
                (
                    format!(
                        r#"{{ containerRepository(id: "gid://gitlab/ContainerRepository/{id}") {{ id tagsCount }} }}"#
                    ),
                    &["containerRepository"],
                )
            }
            "Mutation.destroyContainerRepository" => {
                let id = self.container_repository(f);
                (
                    format!(
                        r#"mutation {{ destroyContainerRepository(input: {{id: "gid://gitlab/ContainerRepository/{id}"}}) {{ errors containerRepository {{ id }} }} }}"#
                    ),
                    &["destroyContainerRepository"],
                )
            }
            "Mutation.destroyContainerRepositoryTags" => {
                let id = self.container_repository(f);
                (
                    format!(
                        r#"mutation {{ destroyContainerRepositoryTags(input: {{id: "gid://gitlab/ContainerRepository/{id}", tagNames: ["v1.0"]}}) {{ errors deletedTagNames }} }}"#
                    ),
                    &["destroyContainerRepositoryTags"],
                )
            }
            "Project.pipelines" => (
                format!(
                    r#"{{ project(fullPath: "{project}") {{ pipelines {{ nodes {{ id }} }} }} }}"#
                ),
                &["project", "pipelines"],
            ),
            "Project.pipeline" => {
                let (_, iid) = self.pipeline(f);
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ pipeline(iid: "{iid}") {{ id status }} }} }}"#
                    ),
                    &["project", "pipeline"],
                )
            }
            "Mutation.pipelineCreate" => (
                format!(
                    r#"mutation {{ pipelineCreate(input: {{projectPath: "{project}", ref: "main"}}) {{ errors pipeline {{ id }} }} }}"#
                ),
                &["pipelineCreate"],
            ),
            field @ ("Mutation.pipelineCancel"
            | "Mutation.pipelineRetry"
            | "Mutation.pipelineDestroy") => {
                let (id, _) = self.pipeline(f);
                let name = field.trim_start_matches("Mutation.");
                let path: &[&str] = match name {
                    "pipelineCancel" => &["pipelineCancel"],
                    "pipelineRetry" => &["pipelineRetry"],
                    _ => &["pipelineDestroy"],
                };
                (
                    format!(
                        r#"mutation {{ {name}(input: {{id: "gid://gitlab/Ci::Pipeline/{id}"}}) {{ errors }} }}"#
                    ),
                    path,
                )
            }
            "Project.repository" => (
                format!(
                    r#"{{ project(fullPath: "{project}") {{ repository {{ rootRef empty }} }} }}"#
                ),
                &["project", "repository"],
            ),
            "Repository.tree" => {
                self.commit(f, "main", "README.md");
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ repository {{ tree {{ blobs {{ nodes {{ path }} }} }} }} }} }}"#
                    ),
                    &["project", "repository", "tree"],
                )
            }
            "Repository.blobs" => (
                format!(
                    r#"{{ project(fullPath: "{project}") {{ repository {{ blobs(paths: ["README.md"]) {{ nodes {{ oid }} }} }} }} }}"#
                ),
                &["project", "repository", "blobs"],
            ),
            "Mutation.commitCreate" => (
                format!(
                    r#"mutation {{ commitCreate(input: {{projectPath: "{project}", branch: "main", message: "c{n}", actions: [{{action: CREATE, filePath: "c{n}.txt", content: "x"}}]}}) {{ errors commit {{ sha }} }} }}"#
                ),
                &["commitCreate"],
            ),
            "Mutation.mergeRequestCreate" => {
                self.commit(f, "main", &format!("m{n}.txt"));
                self.commit(f, &format!("new{n}"), &format!("n{n}.txt"));
                (
                    format!(
                        r#"mutation {{ mergeRequestCreate(input: {{projectPath: "{project}", title: "m{n}", sourceBranch: "new{n}", targetBranch: "main"}}) {{ errors mergeRequest {{ id }} }} }}"#
                    ),
                    &["mergeRequestCreate"],
                )
            }
            "Mutation.mergeRequestAccept" => {
                let iid = self.merge_request(f);
                // A stale sha: the merge is refused in the payload once the gate let it through.
                let sha = "0".repeat(40);
                (
                    format!(
                        r#"mutation {{ mergeRequestAccept(input: {{projectPath: "{project}", iid: "{iid}", sha: "{sha}"}}) {{ errors mergeRequest {{ id }} }} }}"#
                    ),
                    &["mergeRequestAccept"],
                )
            }
            "Issue.notes" => {
                self.issue(f);
                (
                    format!(
                        r#"{{ project(fullPath: "{project}") {{ issue(iid: "1") {{ notes {{ nodes {{ id }} }} }} }} }}"#
                    ),
                    &["project", "issue", "notes"],
                )
            }
            "Mutation.createIssue" => (
                format!(
                    r#"mutation {{ createIssue(input: {{projectPath: "{project}", title: "t{n}"}}) {{ errors issue {{ id }} }} }}"#
                ),
                &["createIssue"],
            ),
            "Mutation.mergeRequestUpdate" => {
                let iid = self.merge_request(f);
                (
                    format!(
                        r#"mutation {{ mergeRequestUpdate(input: {{projectPath: "{project}", iid: "{iid}", title: "u{n}"}}) {{ errors mergeRequest {{ id }} }} }}"#
                    ),
                    &["mergeRequestUpdate"],
                )
            }
            "Mutation.updateIssue" => {
                self.issue(f);
                (
                    format!(
                        r#"mutation {{ updateIssue(input: {{projectPath: "{project}", iid: "1", title: "u{n}"}}) {{ errors issue {{ id }} }} }}"#
                    ),
                    &["updateIssue"],
                )
            }
            "Mutation.createNote" => {
                let (id, _) = self.issue(f);
                (
                    format!(
                        r#"mutation {{ createNote(input: {{noteableId: "gid://gitlab/Issue/{id}", body: "b{n}"}}) {{ errors note {{ id }} }} }}"#
                    ),
                    &["createNote"],
                )
            }
            "Mutation.destroyNote" => {
                let (_, iid) = self.issue(f);
                let note = self.ok(
                    self.s.call(
                        "POST",
                        &format!("/api/v4/projects/{}/issues/{iid}/notes", f.project_id),
                        Some(&self.alice_api),
                        Some(json!({"body": "to delete"})),
                    ),
                    "note",
                );
                let id = note["id"].as_i64().unwrap();
                (
                    format!(
                        r#"mutation {{ destroyNote(input: {{id: "gid://gitlab/Note/{id}"}}) {{ errors }} }}"#
                    ),
                    &["destroyNote"],
                )
            }
            other => panic!(
                "the authorization matrix has no document for GraphQL field `{other}`: \
                 add one in tests/matrix.rs"
            ),
        };
        let r = self.s.call(
            "POST",
            "/api/graphql",
            token,
            Some(json!({ "query": document })),
        );
        Outcome::of_graphql(&r, row, path)
    }
}

/// What a caller got, in the matrix's terms.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The gate let the request through (the handler may still refuse bad input).
    Allowed,
    /// The gate refused, with the HTTP status (for GraphQL: the status its error code stands for).
    Status(u16),
    /// Anything else, described.
    Other(String),
}

impl Outcome {
    fn of_rest(r: Reply) -> Outcome {
        let gate_not_found = r.status == 404
            && matches!(
                r.json["message"].as_str(),
                Some("404 Project Not Found" | "404 Group Not Found")
            );
        if matches!(r.status, 401 | 403) || gate_not_found {
            Outcome::Status(r.status)
        } else {
            Outcome::Allowed
        }
    }

    /// A field is allowed when it resolved without an error; a denial is an error at its path
    /// whose code names the reason; an invisible target is `null` without an error.
    fn of_graphql(r: &Reply, row: &Row, path: &[&str]) -> Outcome {
        if r.status == 401 {
            return Outcome::Status(401);
        }
        if r.status != 200 {
            return Outcome::Other(format!("{} {}", r.status, r.text));
        }
        let error = r.json["errors"].as_array().and_then(|errors| {
            errors.iter().find(|e| {
                let at: Vec<&str> = e["path"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                !at.is_empty() && path.starts_with(&at)
            })
        });
        let mut value = &r.json["data"];
        for key in path {
            value = &value[*key];
        }
        match error.map(|e| e["extensions"]["code"].as_str().unwrap_or_default()) {
            Some("unauthenticated") => Outcome::Status(401),
            Some("not_visible") => Outcome::Status(404),
            Some(
                "insufficient_scope" | "outside_boundary" | "role_too_low" | "not_covered"
                | "admin_required",
            ) => Outcome::Status(403),
            // The resolver's own per-object rule (someone else's issue or note needs a higher
            // role), after the gate let the caller through; tested in tests/graphql_issues.rs.
            Some("forbidden") => Outcome::Allowed,
            Some(other) => Outcome::Other(format!("error code {other}: {}", r.text)),
            // Not there for the caller: a target it cannot see, or (GitLab's `currentUser` for
            // anonymous callers) nobody to answer for.
            None if value.is_null() && (row.has_target() || path.len() > 1) => Outcome::Status(404),
            None if value.is_null() && !row.is_list() => Outcome::Status(401),
            None => Outcome::Allowed,
        }
    }
}

fn check(failures: &mut Vec<String>, row: &Row, case: &str, expect: Expect, got: &Outcome) {
    let ok = match expect {
        Expect::Allowed => *got == Outcome::Allowed,
        Expect::Status(s) => *got == Outcome::Status(s),
    };
    if !ok {
        failures.push(format!(
            "{} [{case}]: expected {expect:?}, got {}",
            row.label(),
            format!("{got:?}").chars().take(300).collect::<String>()
        ));
    }
}

fn run_matrix(backend: Backend) {
    let s = Server::start(&backend, &[]);
    let w = World::new(&s);
    let report = s.get("/api/v4/token_coverage", &w.admin);
    let rows: Vec<Row> = report.json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(Row::from)
        .filter(|r| r.surface == "rest" || r.surface == "graphql")
        // The runner protocol, a job's own calls and the trigger API take their own tokens,
        // checked against the runner, job or trigger they name (tests/runner_protocol.rs,
        // tests/ci_runner.rs, tests/ci_triggers_statuses.rs); no user's token reaches them.
        .filter(|r| r.credential == "principal")
        .collect();
    assert!(rows.len() > 10, "the registry lists the REST endpoints");
    let rows: Vec<Row> = rows.iter().map(|r| r.through_parents(&rows)).collect();
    let mut failures = Vec::new();
    let garbage = "tfpat-thisisnotarealtokenatallnotatall00";
    for row in &rows {
        // Without a credential: a private target does not exist, elsewhere sign in.
        let anon = if row.is_list() {
            Expect::Allowed
        } else if row.has_target() {
            Expect::Status(404)
        } else {
            Expect::Status(401)
        };
        check(&mut failures, row, "anonymous", anon, &w.call(row, None));
        check(
            &mut failures,
            row,
            "garbage",
            Expect::Status(401),
            &w.call(row, Some(garbage)),
        );
        // Expired, revoked and rotated-away tokens.
        let expired = w.legacy(&["api"]);
        let id = s.get("/api/v4/personal_access_tokens/self", &expired).json["id"].clone();
        s.sql(&format!(
            "UPDATE personal_access_tokens SET expires_at = '2020-01-01' WHERE id = {id}"
        ));
        check(
            &mut failures,
            row,
            "expired",
            Expect::Status(401),
            &w.call(row, Some(&expired)),
        );
        let revoked = w.legacy(&["api"]);
        let id = s.get("/api/v4/personal_access_tokens/self", &revoked).json["id"].clone();
        s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{id}"),
            Some(&w.admin),
            None,
        );
        check(
            &mut failures,
            row,
            "revoked",
            Expect::Status(401),
            &w.call(row, Some(&revoked)),
        );
        let rotated = w.legacy(&["api"]);
        let successor = s.call(
            "POST",
            "/api/v4/personal_access_tokens/self/rotate",
            Some(&rotated),
            None,
        );
        assert_eq!(successor.status, 200);
        check(
            &mut failures,
            row,
            "rotated-away",
            Expect::Status(401),
            &w.call(row, Some(&rotated)),
        );

        // Each legacy scope alone: allowed exactly where the scope table says.
        for scope in SCOPES {
            let expect = if row.legacy_scopes.iter().any(|s| s == scope) && !row.admin_only {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            let t = w.legacy(&[scope]);
            check(
                &mut failures,
                row,
                &format!("scope {scope}"),
                expect,
                &w.call(row, Some(&t)),
            );
        }
        // Admins in admin mode reach everything (a fresh token: `/self` endpoints revoke theirs).
        let admin = s.legacy_token("root", "api,admin_mode");
        check(
            &mut failures,
            row,
            "admin in admin mode",
            Expect::Allowed,
            &w.call(row, Some(&admin)),
        );

        if row.grantable() {
            // Exactly the required grant.
            let exact = w.fine(&row.reach(), json!({"boundary": "all_memberships"}));
            let expect = if row.covered && !row.admin_only {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            check(
                &mut failures,
                row,
                "fine-grained exact grant",
                expect,
                &w.call(row, Some(&exact)),
            );
            // Outside the boundary: another project selected.
            let elsewhere = w.fixture();
            let outside = w.fine(
                &row.reach(),
                json!({"boundary": "selected", "projects": [elsewhere.project_id]}),
            );
            let expect = if !row.covered || row.admin_only {
                if row.has_target() && !row.ignores_boundary() {
                    Expect::Status(404)
                } else {
                    Expect::Status(403)
                }
            } else if row.has_target() && !row.ignores_boundary() {
                Expect::Status(404)
            } else {
                Expect::Allowed
            };
            check(
                &mut failures,
                row,
                "fine-grained outside boundary",
                expect,
                &w.call(row, Some(&outside)),
            );
        }
        // Every other grant but the required ones.
        let others: Vec<String> = all_permissions()
            .into_iter()
            .filter(|p| !row.permissions.contains(p))
            .collect();
        let without = w.fine(&others, json!({"boundary": "all_memberships"}));
        // On a list, a token without the permission sees what an anonymous caller would.
        let expect = if row.is_list() {
            Expect::Allowed
        } else {
            Expect::Status(403)
        };
        check(
            &mut failures,
            row,
            "fine-grained without the grant",
            expect,
            &w.call(row, Some(&without)),
        );

        if row.has_target() {
            // bob is a Guest on the private fixtures; mallory is no member.
            let bob = w.token("bob", w.bob, json!({"name": "m", "scopes": ["api"]}));
            let expect = if row.min_role <= 10 && !row.admin_only {
                Expect::Allowed
            } else {
                Expect::Status(403)
            };
            check(
                &mut failures,
                row,
                "guest member",
                expect,
                &w.call(row, Some(&bob)),
            );
            let mallory_id = s.get("/api/v4/users?username=mallory", &w.admin).json[0]["id"]
                .as_i64()
                .unwrap();
            let mallory = w.token(
                "mallory",
                mallory_id,
                json!({"name": "m", "scopes": ["api"]}),
            );
            check(
                &mut failures,
                row,
                "non-member",
                Expect::Status(404),
                &w.call(row, Some(&mallory)),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} authorization matrix failures on {}:\n{}",
        failures.len(),
        s.backend_name(),
        failures.join("\n")
    );
}

#[test]
fn matrix_on_sqlite() {
    run_matrix(Backend::Sqlite);
}

#[test]
fn matrix_on_postgres() {
    match common::backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    {
        Some(pg) => run_matrix(pg),
        None => eprintln!("TINFORGE_TEST_DATABASE_URL is not set: PostgreSQL matrix skipped"),
    }
}
