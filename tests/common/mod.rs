//! Black-box test harness: starts the real `tinforge` binary on an ephemeral port, on SQLite (a
//! temporary data directory) or on PostgreSQL (a fresh database per server, when
//! `TINFORGE_TEST_DATABASE_URL` is set), seeds users and tokens through the real CLI, and talks
//! HTTP to it.

#![allow(dead_code)]

pub mod catalog;
pub mod ci;
pub mod distribution;
pub mod git;
pub mod merge_requests;
pub mod oci;
pub mod registry;
pub mod web;

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_tinforge");

/// A database backend to run a test on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of a PostgreSQL instance (a database in it is created per server).
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `TINFORGE_TEST_DATABASE_URL` is set. With
/// `TINFORGE_REQUIRE_POSTGRES=1` (CI sets it) a missing URL fails the test instead of quietly
/// running half of it.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("TINFORGE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(Backend::Postgres(url)),
        _ => assert!(
            std::env::var("TINFORGE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TINFORGE_REQUIRE_POSTGRES=1 but TINFORGE_TEST_DATABASE_URL is not set: \
             the PostgreSQL half of the tests cannot run"
        ),
    }
    all
}

/// Runs `test` against a fresh server on every backend.
pub fn each_backend(test: impl Fn(&Server)) {
    for backend in backends() {
        let server = Server::start(&backend, &[]);
        eprintln!("-- on {:?}", server.backend_name());
        test(&server);
    }
}

/// A running tinforge with its own storage; killed and cleaned up on drop.
pub struct Server {
    child: Child,
    pub url: String,
    data_dir: tempfile::TempDir,
    database_url: Option<String>,
    postgres: Option<(String, String)>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Server {
    /// Starts a server with extra environment variables.
    pub fn start(backend: &Backend, env: &[(&str, &str)]) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, postgres) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres(base) => {
                let name = format!(
                    "tf_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand_suffix()
                );
                let mut admin = PgConnection::establish(base).expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                (Some(with_database(base, &name)), Some((base.clone(), name)))
            }
        };
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TINFORGE_DATA_DIR", data_dir.path())
            .env("TINFORGE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(data_dir.path().join("server.log")).expect("log file"),
            ));
        if let Some(url) = &database_url {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start tinforge");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("tinforge listening on ")
            .unwrap_or_else(|| panic!("server did not start: {line:?}"))
            .to_string();
        Server {
            child,
            url,
            data_dir,
            database_url,
            postgres,
        }
    }

    /// The server's process id (tests of its memory use read `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's data directory (SQLite file, repositories).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// What the server wrote to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs one SQL statement on the server's database (to age a token, say); returns rows changed.
    pub fn sql(&self, statement: &str) -> usize {
        match &self.database_url {
            Some(url) => {
                let mut c = PgConnection::establish(url).expect("connect");
                diesel::sql_query(statement).execute(&mut c).expect("sql")
            }
            None => {
                let path = self.data_dir.path().join("tinforge.sqlite3");
                let mut c = SqliteConnection::establish(&path.to_string_lossy()).expect("connect");
                // The server writes in the background too (the token usage record): wait for
                // its lock as the server's own connections do.
                diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "PRAGMA busy_timeout = 10000",
                )
                .expect("busy timeout");
                diesel::sql_query(statement).execute(&mut c).expect("sql")
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Runs the CLI on this server's storage.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TINFORGE_DATA_DIR", self.data_dir.path());
        if let Some(url) = &self.database_url {
            cmd.env("DATABASE_URL", url);
        }
        cmd.output().expect("run the CLI")
    }

    /// Runs the CLI and returns its stdout, failing the test when it fails.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "tinforge {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    /// Creates a user through the CLI; returns its id.
    pub fn user(&self, username: &str) -> i64 {
        self.cli_ok(&[
            "user",
            "create",
            "--username",
            username,
            "--password",
            "password123",
        ])
        .parse()
        .expect("user id")
    }

    pub fn admin(&self, username: &str) -> i64 {
        self.cli_ok(&[
            "user",
            "create",
            "--username",
            username,
            "--password",
            "password123",
            "--admin",
        ])
        .parse()
        .expect("user id")
    }

    /// A legacy token with these scopes (comma-separated).
    pub fn legacy_token(&self, user: &str, scopes: &str) -> String {
        self.cli_ok(&[
            "token", "create", "--user", user, "--name", "t", "--scopes", scopes,
        ])
    }

    /// A fine-grained token; `extra` adds `--project`/`--group` arguments.
    pub fn fine_token(&self, user: &str, grants: &str, boundary: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "token",
            "create",
            "--user",
            user,
            "--name",
            "fg",
            "--grants",
            grants,
            "--boundary",
            boundary,
        ];
        args.extend_from_slice(extra);
        self.cli_ok(&args)
    }

    pub fn request(&self, method: &str, path: &str) -> ureq::Request {
        ureq::request(method, &format!("{}{}", self.url, path)).timeout(Duration::from_secs(30))
    }

    /// `method path` with a PRIVATE-TOKEN (when given) and an optional JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.request(method, path);
        if let Some(t) = token {
            req = req.set("PRIVATE-TOKEN", t);
        }
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        Reply::from(res)
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None)
    }

    /// A GraphQL request (`POST /api/graphql`), which must answer 200.
    pub fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let r = self.call(
            "POST",
            "/api/graphql",
            token,
            Some(serde_json::json!({"query": query, "variables": variables})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- server log ({}) ----\n{}",
                self.backend_name(),
                self.log()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((base, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(base)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// A response: status, headers we look at, and the body as JSON (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl From<Result<ureq::Response, ureq::Error>> for Reply {
    fn from(res: Result<ureq::Response, ureq::Error>) -> Reply {
        let res = match res {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let status = res.status();
        let headers = res
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = res.header(&n).unwrap_or_default().to_string();
                (n, v)
            })
            .collect();
        let text = res.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos % 1_000_000
}

/// `postgres://u@h:p/db?x` with the database replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = base
        .split_once('?')
        .map_or((base, None), |(h, q)| (h, Some(q)));
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = head[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}
