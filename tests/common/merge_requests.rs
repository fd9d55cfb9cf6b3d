//! A project with commits for merge request tests: alice's private project in a new group,
//! branches written through the repository API, merge requests opened over REST.

use super::{Reply, Server};
use serde_json::{Value, json};

pub struct Fx<'a> {
    pub s: &'a Server,
    /// An `api` token of alice, the project's Owner.
    pub owner: String,
    pub id: i64,
}

impl Fx<'_> {
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.owner, method, path, body)
    }

    pub fn call_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.s.call(
            method,
            &format!("/api/v4/projects/{}{path}", self.id),
            Some(token),
            body,
        )
    }

    /// One commit on `branch` (created from `start` when new) writing `file`.
    pub fn write(&self, branch: &str, start: &str, file: &str, content: &str) -> String {
        let r = self.call(
            "POST",
            "/repository/commits",
            Some(json!({"branch": branch, "start_branch": start, "commit_message": format!("{file} on {branch}"),
                        "actions": [{"action": if self.exists(branch, start, file) { "update" } else { "create" },
                                     "file_path": file, "content": content}]})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_string()
    }

    pub fn exists(&self, branch: &str, start: &str, file: &str) -> bool {
        let at = if self
            .call("GET", &format!("/repository/branches/{branch}"), None)
            .status
            == 200
        {
            branch
        } else {
            start
        };
        self.call("GET", &format!("/repository/files/{file}?ref={at}"), None)
            .status
            == 200
    }

    pub fn open(&self, source: &str, target: &str, title: &str) -> Value {
        let r = self.call(
            "POST",
            "/merge_requests",
            Some(
                json!({"source_branch": source, "target_branch": target, "title": title,
                        "description": "desc"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json
    }
}

/// Alice's private project `group/p` with `README.md` on `main`.
pub fn setup<'a>(s: &'a Server, group: &str) -> Fx<'a> {
    s.user("alice");
    let owner = s.legacy_token("alice", "api");
    let g = s.call(
        "POST",
        "/api/v4/groups",
        Some(&owner),
        Some(json!({"name": group, "path": group, "visibility": "private"})),
    );
    assert_eq!(g.status, 201, "{}", g.text);
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(&owner),
        Some(
            json!({"name": "p", "path": "p", "namespace_id": g.json["id"],
                    "visibility": "private", "default_branch": "main"}),
        ),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    let fx = Fx {
        s,
        owner,
        id: p.json["id"].as_i64().unwrap(),
    };
    fx.write("main", "main", "README.md", "# p\n");
    fx
}
