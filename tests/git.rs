//! Git over smart HTTP with the real `git` client, on SQLite and PostgreSQL: clone, fetch and push
//! with legacy and fine-grained tokens, per-ref rights, protected branches, anonymous and outsider
//! callers, and bad input. After every refused push the server repository is intact.

mod common;

use common::{Server, each_backend};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git client with its own empty HOME, no system config and no prompts.
struct Git {
    home: tempfile::TempDir,
}

impl Git {
    fn new() -> Git {
        Git {
            home: tempfile::tempdir().expect("temp home"),
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn run(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "Tester")
            .env("GIT_AUTHOR_EMAIL", "tester@example.com")
            .env("GIT_COMMITTER_NAME", "Tester")
            .env("GIT_COMMITTER_EMAIL", "tester@example.com")
            .output()
            .expect("run git")
    }

    fn ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.run(cwd, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "git {args:?} failed:\n{text}");
        text
    }

    fn fails(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.run(cwd, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "git {args:?} should fail:\n{text}");
        text
    }

    /// A fresh work tree with one commit on `main`, remote `origin` at `url`.
    fn work_tree(&self, name: &str, url: &str) -> PathBuf {
        let dir = self.dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        self.ok(&dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join("README.md"), format!("# {name}\n")).unwrap();
        self.ok(&dir, &["add", "README.md"]);
        self.ok(&dir, &["commit", "-q", "-m", "first"]);
        self.ok(&dir, &["remote", "add", "origin", url]);
        dir
    }

    fn commit(&self, dir: &Path, message: &str) {
        self.ok(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn head(&self, dir: &Path) -> String {
        self.ok(dir, &["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// The clone URL of `path`, with the token as Basic password (any username).
fn url(s: &Server, token: Option<&str>, path: &str) -> String {
    match token {
        Some(t) => {
            s.url
                .replacen("http://", &format!("http://someone:{t}@"), 1)
                .to_string()
                + &format!("/{path}.git")
        }
        None => format!("{}/{path}.git", s.url),
    }
}

/// A group with one project `group/name`, created over REST by `owner_token`'s user (Owner of
/// both); returns the project id.
fn project(s: &Server, owner_token: &str, group: &str, name: &str, visibility: &str) -> i64 {
    let g = s.call(
        "POST",
        "/api/v4/groups",
        Some(owner_token),
        Some(json!({"name": group, "path": group, "visibility": visibility})),
    );
    assert_eq!(g.status, 201, "{}", g.text);
    let p = s.call(
        "POST",
        "/api/v4/projects",
        Some(owner_token),
        Some(
            json!({"name": name, "path": name, "namespace_id": g.json["id"],
                    "visibility": visibility, "default_branch": "main"}),
        ),
    );
    assert_eq!(p.status, 201, "{}", p.text);
    p.json["id"].as_i64().unwrap()
}

/// Adds `user_id` to the project with an access level, over REST.
fn member(s: &Server, owner_token: &str, project_id: i64, user_id: i64, level: i32) {
    let r = s.call(
        "POST",
        &format!("/api/v4/projects/{project_id}/members"),
        Some(owner_token),
        Some(json!({"user_id": user_id, "access_level": level})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn server_repo(s: &Server, project_id: i64) -> PathBuf {
    s.data_dir()
        .join("repositories")
        .join(format!("{project_id}.git"))
}

/// The server repository's refs, and a check that it is consistent.
fn server_refs(s: &Server, git: &Git, project_id: i64) -> String {
    let repo = server_repo(s, project_id);
    let repo = repo.to_str().unwrap();
    git.ok(
        Path::new("/"),
        &["--git-dir", repo, "fsck", "--no-progress"],
    );
    git.ok(
        Path::new("/"),
        &[
            "--git-dir",
            repo,
            "for-each-ref",
            "--format=%(objectname) %(refname)",
        ],
    )
}

#[test]
fn legacy_tokens_read_repository_clones_write_repository_pushes() {
    each_backend(|s: &Server| {
        s.user("alice");
        let owner = s.legacy_token("alice", "api");
        let pid = project(s, &owner, "acme", "anvil", "private");
        let write = s.legacy_token("alice", "write_repository");
        let read = s.legacy_token("alice", "read_repository");
        let git = Git::new();

        let work = git.work_tree("work", &url(s, Some(&write), "acme/anvil"));
        git.ok(&work, &["push", "-q", "origin", "main"]);
        let head = git.head(&work);
        assert!(server_refs(s, &git, pid).contains(&format!("{head} refs/heads/main")));
        // HEAD of the new repository is the project's default branch.
        let cloned = git.dir("clone");
        git.ok(
            &git.dir(""),
            &["clone", "-q", &url(s, Some(&read), "acme/anvil"), "clone"],
        );
        assert_eq!(git.head(&cloned), head);
        assert!(cloned.join("README.md").exists());

        // read_repository cannot push: refused with a readable reason, nothing applied.
        let before = server_refs(s, &git, pid);
        git.ok(
            &cloned,
            &[
                "remote",
                "set-url",
                "origin",
                &url(s, Some(&read), "acme/anvil"),
            ],
        );
        git.commit(&cloned, "second");
        let refused = git.fails(&cloned, &["push", "origin", "main"]);
        assert!(
            refused.contains("insufficient_scope") && refused.contains("repository:update"),
            "{refused}"
        );
        assert!(refused.contains("[remote rejected]"), "{refused}");
        let refused = git.fails(&cloned, &["push", "origin", "main:refs/heads/new"]);
        assert!(refused.contains("repository:create"), "{refused}");
        assert_eq!(server_refs(s, &git, pid), before);

        // write_repository pushes, creates and deletes branches; fetch sees it.
        git.ok(
            &cloned,
            &[
                "remote",
                "set-url",
                "origin",
                &url(s, Some(&write), "acme/anvil"),
            ],
        );
        git.ok(
            &cloned,
            &["push", "-q", "origin", "main", "main:refs/heads/feature"],
        );
        git.ok(&cloned, &["push", "-q", "origin", "--delete", "feature"]);
        git.ok(&work, &["pull", "-q", "--ff-only", "origin", "main"]);
        assert_eq!(git.head(&work), git.head(&cloned));
        let refs = server_refs(s, &git, pid);
        assert!(!refs.contains("feature"), "{refs}");

        // HEAD follows the project's default branch when it changes.
        git.ok(&cloned, &["push", "-q", "origin", "main:refs/heads/stable"]);
        let put = s.call(
            "PUT",
            &format!("/api/v4/projects/{pid}"),
            Some(&owner),
            Some(json!({"default_branch": "stable"})),
        );
        assert_eq!(put.status, 200, "{}", put.text);
        let symref = git.ok(
            &git.dir(""),
            &[
                "ls-remote",
                "--symref",
                &url(s, Some(&read), "acme/anvil"),
                "HEAD",
            ],
        );
        assert!(symref.contains("ref: refs/heads/stable\tHEAD"), "{symref}");

        // An api token reads and writes too; a read_api token reads.
        let api = s.legacy_token("alice", "api");
        git.ok(
            &git.dir(""),
            &[
                "clone",
                "-q",
                &url(s, Some(&api), "acme/anvil"),
                "clone-api",
            ],
        );
        let read_api = s.legacy_token("alice", "read_api");
        git.ok(
            &git.dir(""),
            &["ls-remote", &url(s, Some(&read_api), "acme/anvil")],
        );
    });
}

#[test]
fn fine_grained_tokens_are_judged_per_ref() {
    each_backend(|s: &Server| {
        s.user("lead");
        let bob = s.user("bob");
        let lead = s.legacy_token("lead", "api");
        let pid = project(s, &lead, "forge", "hammer", "private");
        member(s, &lead, pid, bob, 30);
        let write = s.legacy_token("bob", "write_repository");
        let git = Git::new();
        let work = git.work_tree("work", &url(s, Some(&write), "forge/hammer"));
        git.ok(&work, &["push", "-q", "origin", "main"]);

        // repository:read only: clone yes, push no.
        let read_only = s.fine_token("bob", "repository:read", "all_memberships", &[]);
        git.ok(
            &git.dir(""),
            &[
                "clone",
                "-q",
                &url(s, Some(&read_only), "forge/hammer"),
                "ro",
            ],
        );
        let ro = git.dir("ro");
        git.commit(&ro, "ro change");
        let before = server_refs(s, &git, pid);
        let refused = git.fails(&ro, &["push", "origin", "main"]);
        assert!(refused.contains("repository:update"), "{refused}");
        assert_eq!(server_refs(s, &git, pid), before);

        // read + update, no create: an existing branch moves, a new one is refused, and a push
        // of both applies neither.
        let update = s.fine_token(
            "bob",
            "repository:read,repository:update",
            "selected",
            &["--project", "forge/hammer"],
        );
        git.ok(
            &ro,
            &[
                "remote",
                "set-url",
                "origin",
                &url(s, Some(&update), "forge/hammer"),
            ],
        );
        git.ok(&ro, &["push", "-q", "origin", "main"]);
        let moved = server_refs(s, &git, pid);
        assert!(moved.contains(&format!("{} refs/heads/main", git.head(&ro))));
        git.commit(&ro, "third");
        let refused = git.fails(&ro, &["push", "origin", "main", "main:refs/heads/topic"]);
        assert!(
            refused.contains("repository:create") && refused.contains("not applied"),
            "{refused}"
        );
        assert_eq!(server_refs(s, &git, pid), moved);
        let refused = git.fails(&ro, &["push", "origin", "--delete", "main"]);
        assert!(refused.contains("repository:delete"), "{refused}");
        assert_eq!(server_refs(s, &git, pid), moved);

        // A token whose boundary does not reach the project sees nothing there.
        let elsewhere = s.fine_token("bob", "repository:read", "personal_projects", &[]);
        let hidden = git.fails(
            &git.dir(""),
            &["ls-remote", &url(s, Some(&elsewhere), "forge/hammer")],
        );
        assert!(hidden.contains("not found"), "{hidden}");
    });
}

#[test]
fn operators_can_mark_per_ref_push_checks_not_covered() {
    for backend in common::backends() {
        let s = Server::start(
            &backend,
            &[(
                "TINFORGE_NOT_COVERED",
                "PUSH /{project_path}.git refs create",
            )],
        );
        s.user("carol");
        let owner = s.legacy_token("carol", "api");
        project(&s, &owner, "mill", "stone", "private");
        let fine = s.fine_token(
            "carol",
            "repository:read,repository:create,repository:update",
            "all_memberships",
            &[],
        );
        let legacy = s.legacy_token("carol", "write_repository");
        let git = Git::new();
        let work = git.work_tree("work", &url(&s, Some(&fine), "mill/stone"));
        let refused = git.fails(&work, &["push", "origin", "main"]);
        assert!(refused.contains("not_covered"), "{refused}");
        git.ok(
            &work,
            &[
                "remote",
                "set-url",
                "origin",
                &url(&s, Some(&legacy), "mill/stone"),
            ],
        );
        git.ok(&work, &["push", "-q", "origin", "main"]);
        git.commit(&work, "more");
        git.ok(
            &work,
            &[
                "remote",
                "set-url",
                "origin",
                &url(&s, Some(&fine), "mill/stone"),
            ],
        );
        git.ok(&work, &["push", "-q", "origin", "main"]);
        let reader = s.legacy_token("carol", "read_api");
        let report = s.get("/api/v4/token_coverage", &reader);
        let rows = report.json["endpoints"].as_array().unwrap();
        let create = rows
            .iter()
            .find(|r| r["surface"] == "git" && r["path"] == "/{project_path}.git refs create")
            .expect("declared");
        assert_eq!(create["covered"], false);
        assert_eq!(create["permissions"], json!(["repository:create"]));
    }
}

#[test]
fn protected_branches_refuse_force_push_deletion_and_low_roles() {
    each_backend(|s: &Server| {
        s.user("owner");
        let maint = s.user("maint");
        let dev = s.user("dev");
        let owner = s.legacy_token("owner", "api");
        let pid = project(s, &owner, "works", "gear", "private");
        member(s, &owner, pid, maint, 40);
        member(s, &owner, pid, dev, 30);
        let m_token = s.legacy_token("maint", "api");
        let d_token = s.legacy_token("dev", "api");
        let git = Git::new();
        let work = git.work_tree("work", &url(s, Some(&m_token), "works/gear"));
        git.commit(&work, "second");
        git.ok(
            &work,
            &["push", "-q", "origin", "main", "main:refs/heads/release/1"],
        );

        // REST: protect main (developers may push, no force) and release/* (maintainers).
        let base = "/api/v4/projects/works%2Fgear/protected_branches";
        let created = s.call(
            "POST",
            base,
            Some(&m_token),
            Some(json!({"name": "main", "push_access_level": 30, "allow_force_push": false})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json["name"], "main");
        assert_eq!(created.json["push_access_levels"][0]["access_level"], 30);
        assert_eq!(
            created.json["push_access_levels"][0]["access_level_description"],
            "Developers + Maintainers"
        );
        assert_eq!(created.json["merge_access_levels"][0]["access_level"], 40);
        assert_eq!(created.json["allow_force_push"], false);
        let wildcard = s.call(
            "POST",
            &format!(
                "/api/v4/projects/{pid}/protected_branches?name=release/*&push_access_level=40"
            ),
            Some(&m_token),
            None,
        );
        assert_eq!(wildcard.status, 201, "{}", wildcard.text);
        let again = s.call("POST", base, Some(&m_token), Some(json!({"name": "main"})));
        assert_eq!(again.status, 409);
        let bad = s.call(
            "POST",
            base,
            Some(&m_token),
            Some(json!({"name": "x", "push_access_level": 35})),
        );
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.json["error"],
            "push_access_level does not have a valid value"
        );
        let missing = s.call("POST", base, Some(&m_token), Some(json!({})));
        assert_eq!(missing.status, 400);
        let by_dev = s.call("POST", base, Some(&d_token), Some(json!({"name": "dev/*"})));
        assert_eq!(by_dev.status, 403, "{}", by_dev.text);
        let list = s.get(base, &d_token);
        assert_eq!(list.status, 200);
        assert_eq!(list.json.as_array().unwrap().len(), 2);
        let one = s.get(&format!("{base}/release%2F*"), &d_token);
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(one.json["push_access_levels"][0]["access_level"], 40);

        // Force-push to main is refused by the pre-receive hook; the repository is unchanged.
        let before = server_refs(s, &git, pid);
        git.ok(&work, &["reset", "-q", "--hard", "HEAD~1"]);
        git.commit(&work, "rewritten");
        let refused = git.fails(&work, &["push", "--force", "origin", "main"]);
        assert!(
            refused.contains("force-push to protected branch 'main'"),
            "{refused}"
        );
        assert!(refused.contains("pre-receive hook declined"), "{refused}");
        assert_eq!(server_refs(s, &git, pid), before);

        // Deleting a protected branch is refused before git runs.
        let refused = git.fails(&work, &["push", "origin", "--delete", "main"]);
        assert!(refused.contains("cannot be deleted"), "{refused}");
        assert_eq!(server_refs(s, &git, pid), before);

        // A developer may push (fast-forward) to main but not to release/*.
        git.ok(&work, &["fetch", "-q", "origin"]);
        git.ok(&work, &["reset", "-q", "--hard", "origin/main"]);
        git.ok(
            &work,
            &[
                "remote",
                "set-url",
                "origin",
                &url(s, Some(&d_token), "works/gear"),
            ],
        );
        git.commit(&work, "dev work");
        git.ok(&work, &["push", "-q", "origin", "main"]);
        let refused = git.fails(&work, &["push", "origin", "main:refs/heads/release/1"]);
        assert!(
            refused.contains("protected branch 'release/1'") && refused.contains("maintainer"),
            "{refused}"
        );
        let after = server_refs(s, &git, pid);
        assert!(after.contains(&format!("{} refs/heads/main", git.head(&work))));

        // Force-push allowed on an unprotected branch; with allow_force_push on main too.
        git.ok(&work, &["push", "-q", "origin", "main:refs/heads/scratch"]);
        git.ok(&work, &["reset", "-q", "--hard", "HEAD~1"]);
        git.ok(
            &work,
            &["push", "-q", "--force", "origin", "HEAD:refs/heads/scratch"],
        );
        let unprotect = s.call("DELETE", &format!("{base}/main"), Some(&m_token), None);
        assert_eq!(unprotect.status, 204);
        let gone = s.call("DELETE", &format!("{base}/main"), Some(&m_token), None);
        assert_eq!(gone.status, 404);
        let allowed = s.call(
            "POST",
            base,
            Some(&m_token),
            Some(json!({"name": "main", "push_access_level": "30", "allow_force_push": true})),
        );
        assert_eq!(allowed.status, 201);
        git.ok(&work, &["push", "-q", "--force", "origin", "main"]);
        // PATCH turns force-pushes off again (GitLab's allowed_to_push shape changes the level).
        let patched = s.call(
            "PATCH",
            &format!("{base}/main"),
            Some(&m_token),
            Some(json!({"allow_force_push": false, "allowed_to_push": [{"access_level": 40}]})),
        );
        assert_eq!(patched.status, 200, "{}", patched.text);
        assert_eq!(patched.json["allow_force_push"], false);
        assert_eq!(patched.json["push_access_levels"][0]["access_level"], 40);
        git.ok(&work, &["reset", "-q", "--hard", "HEAD~1"]);
        git.commit(&work, "rewritten again");
        let refused = git.fails(&work, &["push", "--force", "origin", "main"]);
        assert!(refused.contains("maintainer"), "{refused}");
        let missing = s.call(
            "PATCH",
            &format!("{base}/nope"),
            Some(&m_token),
            Some(json!({})),
        );
        assert_eq!(missing.status, 404);
        // No one may push to a branch protected with level 0.
        s.call(
            "POST",
            base,
            Some(&m_token),
            Some(json!({"name": "frozen", "push_access_level": 0})),
        );
        let refused = git.fails(&work, &["push", "origin", "main:refs/heads/frozen"]);
        assert!(refused.contains("no one is allowed"), "{refused}");
        git.ok(
            Path::new("/"),
            &["--git-dir", server_repo(s, pid).to_str().unwrap(), "fsck"],
        );
    });
}

#[test]
fn anonymous_public_clone_private_needs_credentials_outsiders_see_nothing() {
    each_backend(|s: &Server| {
        s.user("owner");
        s.user("outsider");
        let api = s.legacy_token("owner", "api");
        project(s, &api, "open", "source", "public");
        project(s, &api, "closed", "secret", "private");
        let token = s.legacy_token("owner", "write_repository");
        let outsider = s.legacy_token("outsider", "api");
        let git = Git::new();
        for path in ["open/source", "closed/secret"] {
            let work = git.work_tree(
                &format!("w-{}", path.replace('/', "-")),
                &url(s, Some(&token), path),
            );
            git.ok(&work, &["push", "-q", "origin", "main"]);
        }

        // Public: anonymous clone (protocol v2 and v0) works, anonymous push asks for credentials.
        git.ok(
            &git.dir(""),
            &["clone", "-q", &url(s, None, "open/source"), "anon"],
        );
        git.ok(
            &git.dir(""),
            &[
                "-c",
                "protocol.version=0",
                "clone",
                "-q",
                &url(s, None, "open/source"),
                "anon0",
            ],
        );
        let anon = git.dir("anon");
        git.commit(&anon, "drive-by");
        let refused = git.fails(&anon, &["push", "origin", "main"]);
        assert!(
            refused.contains("Authentication failed")
                || refused.contains("could not read Username"),
            "{refused}"
        );
        // An outsider's token can clone a public project but not push to it.
        git.ok(
            &git.dir(""),
            &[
                "clone",
                "-q",
                &url(s, Some(&outsider), "open/source"),
                "outside",
            ],
        );
        git.commit(&git.dir("outside"), "outsider");
        let refused = git.fails(&git.dir("outside"), &["push", "origin", "main"]);
        assert!(refused.contains("role_too_low"), "{refused}");

        // Private without a credential: 401, git asks for one.
        let refused = git.fails(
            &git.dir(""),
            &["clone", &url(s, None, "closed/secret"), "x"],
        );
        assert!(
            refused.contains("could not read Username")
                || refused.contains("Authentication failed"),
            "{refused}"
        );
        let r = s.call(
            "GET",
            "/closed/secret.git/info/refs?service=git-upload-pack",
            None,
            None,
        );
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"tinforge\"")
        );
        // A missing project looks the same to an anonymous caller.
        let m = s.call(
            "GET",
            "/closed/nothing.git/info/refs?service=git-upload-pack",
            None,
            None,
        );
        assert_eq!(m.status, 401);

        // Private with an outsider's token: not found, identical to a missing project.
        let refused = git.fails(
            &git.dir(""),
            &["clone", &url(s, Some(&outsider), "closed/secret"), "y"],
        );
        assert!(
            refused.contains("not found") || refused.contains("404"),
            "{refused}"
        );
        let hidden = s.call(
            "GET",
            "/closed/secret.git/info/refs?service=git-upload-pack",
            Some(&outsider),
            None,
        );
        let missing = s.call(
            "GET",
            "/closed/nothing.git/info/refs?service=git-upload-pack",
            Some(&outsider),
            None,
        );
        assert_eq!(hidden.status, 404);
        assert_eq!(
            (hidden.status, hidden.text.clone()),
            (missing.status, missing.text.clone())
        );
        assert!(
            hidden
                .header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
        let push_hidden = s.call(
            "GET",
            "/closed/secret.git/info/refs?service=git-receive-pack",
            Some(&outsider),
            None,
        );
        assert_eq!(push_hidden.status, 404);

        // A bad token is a 401 too (git asks again); the owner's token works.
        let bad = s.call(
            "GET",
            "/closed/secret.git/info/refs?service=git-upload-pack",
            Some("tfpat-garbage"),
            None,
        );
        assert_eq!(bad.status, 401);
        let good = s.call(
            "GET",
            "/closed/secret.git/info/refs?service=git-upload-pack",
            Some(&token),
            None,
        );
        assert_eq!(good.status, 200);
        assert_eq!(
            good.header("content-type"),
            Some("application/x-git-upload-pack-advertisement")
        );
        assert!(good.header("cache-control").unwrap().contains("no-cache"));
        assert!(
            good.text.starts_with("001e# service=git-upload-pack\n0000"),
            "{}",
            good.text
        );
        assert_eq!(
            good.header("x-accepted-permissions"),
            Some("repository:read")
        );
    });
}

/// A raw HTTP/1.1 exchange (paths are sent exactly as given); returns status and body.
fn raw(s: &Server, request: &[u8]) -> (u16, Vec<u8>) {
    let addr = s.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => out[i + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, body)
}

fn post(path: &str, token: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("u:{token}"));
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

fn pkt(line: &str) -> Vec<u8> {
    let mut out = format!("{:04x}", line.len() + 4).into_bytes();
    out.extend_from_slice(line.as_bytes());
    out
}

#[test]
fn bad_input_gets_clear_errors_and_leaves_the_repository_intact() {
    each_backend(|s: &Server| {
        s.user("dana");
        let owner = s.legacy_token("dana", "api");
        let pid = project(s, &owner, "lab", "bench", "private");
        let token = s.legacy_token("dana", "write_repository");
        let git = Git::new();
        let work = git.work_tree("work", &url(s, Some(&token), "lab/bench"));
        git.ok(&work, &["push", "-q", "origin", "main"]);
        let head = git.head(&work);
        let before = server_refs(s, &git, pid);

        // Unknown service, dumb HTTP, `..` segments.
        let r = s.get("/lab/bench.git/info/refs?service=git-frobnicate", &token);
        assert_eq!(r.status, 403);
        assert!(r.text.contains("Unsupported service"), "{}", r.text);
        let r = s.get("/lab/bench.git/info/refs", &token);
        assert_eq!(r.status, 403);
        for path in [
            "/lab/%2e%2e/lab/bench.git/info/refs",
            "/lab/../lab/bench.git/info/refs",
            "/lab//bench.git/info/refs",
        ] {
            let (status, body) = raw(
                s,
                format!("GET {path}?service=git-upload-pack HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            );
            assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
        }

        let rp = "/lab/bench.git/git-receive-pack";
        let rp_type = "application/x-git-receive-pack-request";
        // Malformed pkt-lines and commands: 400 before git runs.
        for body in [&b"zzzzgarbage"[..], b"00", b"0010short"] {
            let (status, text) = raw(s, &post(rp, &token, rp_type, "", body));
            assert_eq!(status, 400, "{}", String::from_utf8_lossy(&text));
        }
        let (status, text) = raw(
            s,
            &post(
                rp,
                &token,
                rp_type,
                "",
                &[pkt("not a command\n"), b"0000".to_vec()].concat(),
            ),
        );
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&text).contains("malformed receive-pack command"));
        // Wrong content type, unknown encoding.
        let (status, _) = raw(s, &post(rp, &token, "text/plain", "", b"0000"));
        assert_eq!(status, 415);
        let (status, _) = raw(
            s,
            &post(rp, &token, rp_type, "Content-Encoding: br\r\n", b"0000"),
        );
        assert_eq!(status, 415);

        // A truncated pack: git's own error through the protocol, nothing applied.
        let zero = "0".repeat(40);
        let fake = "1".repeat(40);
        let cmd = pkt(&format!("{head} {fake} refs/heads/main\0report-status\n"));
        let mut body = [
            cmd,
            b"0000".to_vec(),
            b"PACK\0\0\0\x02\0\0\0\x05truncated".to_vec(),
        ]
        .concat();
        let (status, text) = raw(s, &post(rp, &token, rp_type, "", &body));
        assert_eq!(status, 200);
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("unpack ") && !text.contains("unpack ok"),
            "{text}"
        );
        assert!(text.contains("ng refs/heads/main"), "{text}");
        assert_eq!(server_refs(s, &git, pid), before);
        // A create with garbage instead of a pack.
        let cmd = pkt(&format!("{zero} {fake} refs/heads/evil\0report-status\n"));
        body = [cmd, b"0000".to_vec(), b"garbage".to_vec()].concat();
        let (_, text) = raw(s, &post(rp, &token, rp_type, "", &body));
        assert!(!String::from_utf8_lossy(&text).contains("ok refs/heads/evil"));
        assert_eq!(server_refs(s, &git, pid), before);

        // Gzip request bodies are decompressed (protocol v2 ls-refs).
        let request = [
            pkt("command=ls-refs\n"),
            b"0001".to_vec(),
            pkt("peel\n"),
            b"0000".to_vec(),
        ]
        .concat();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&request).unwrap();
        let gz = gz.finish().unwrap();
        let (status, text) = raw(
            s,
            &post(
                "/lab/bench.git/git-upload-pack",
                &token,
                "application/x-git-upload-pack-request",
                "Content-Encoding: gzip\r\nGit-Protocol: version=2\r\n",
                &gz,
            ),
        );
        let text = String::from_utf8_lossy(&text);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains(&format!("{head} refs/heads/main")), "{text}");
        // A broken gzip body is a 400.
        let (status, _) = raw(
            s,
            &post(
                "/lab/bench.git/git-upload-pack",
                &token,
                "application/x-git-upload-pack-request",
                "Content-Encoding: gzip\r\n",
                b"\x1f\x8bnot gzip at all",
            ),
        );
        assert_eq!(status, 400);

        // Still a healthy repository that clones.
        assert_eq!(server_refs(s, &git, pid), before);
        git.ok(
            &git.dir(""),
            &["clone", "-q", &url(s, Some(&token), "lab/bench"), "again"],
        );
    });
}

/// Peak resident memory of a process, in KiB.
#[cfg(target_os = "linux")]
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[cfg(target_os = "linux")]
#[test]
fn large_pushes_and_clones_stream_through_bounded_memory() {
    // Memory use does not depend on the database: SQLite only.
    let s = Server::start(&common::Backend::Sqlite, &[]);
    s.user("big");
    let owner = s.legacy_token("big", "api");
    let pid = project(&s, &owner, "data", "lake", "private");
    let git = Git::new();
    let work = git.work_tree("work", &url(&s, Some(&owner), "data/lake"));
    git.ok(&work, &["push", "-q", "origin", "main"]);
    let before = peak_rss_kib(s.pid());
    // 64 MiB that does not compress, so the pack is as large, pushed and cloned back.
    let mut blob = vec![0u8; 64 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in blob.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(work.join("blob.bin"), &blob).unwrap();
    drop(blob);
    git.ok(&work, &["add", "blob.bin"]);
    git.commit(&work, "big");
    git.ok(
        &work,
        &[
            "-c",
            "core.compression=0",
            "push",
            "-q",
            "origin",
            "main",
            "main:refs/heads/copy",
        ],
    );
    let big = git.dir("big");
    git.ok(
        &git.dir(""),
        &[
            "clone",
            "-q",
            "--bare",
            &url(&s, Some(&owner), "data/lake"),
            big.to_str().unwrap(),
        ],
    );
    assert!(big.join("packed-refs").exists() || big.join("refs/heads/copy").exists());
    let after = peak_rss_kib(s.pid());
    assert!(
        after.saturating_sub(before) < 32 * 1024,
        "the server's peak memory grew by {} KiB while 64 MiB went through",
        after.saturating_sub(before)
    );
    assert!(server_refs(&s, &git, pid).contains("refs/heads/copy"));
}
