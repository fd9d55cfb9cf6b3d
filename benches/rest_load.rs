//! The REST load benchmark: tinforge's release binary under `wrk` (64 connections, on the same
//! two cores), on SQLite and, with `TINFORGE_TEST_DATABASE_URL`, on PostgreSQL, beside a
//! same-stack baseline served by this program itself (actix-web 4, diesel r2d2, `web::block`,
//! 9 indexed 20-row queries and typed serialization of the same issues, no authorization), so
//! every figure is a ratio measured side by side in one run.
//!
//! Run: `cargo bench --bench rest_load` (needs `wrk`; `LOAD_SECONDS=10` by default).

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tinforge_store::connection::DatabaseUrl;
use tinforge_store::issues::{self, SeedIssue};
use tinforge_store::schema::{issue_assignees, issue_labels, labels, notes, projects, users};
use tinforge_store::{DbConnection, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tinforge");
const ISSUES: usize = 1_000;

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("rest_load needs wrk (apt-get install wrk)");
        return;
    }
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut backends = vec![("sqlite", None)];
    if let Ok(base) = std::env::var("TINFORGE_TEST_DATABASE_URL")
        && !base.is_empty()
    {
        backends.push(("postgres", Some(base)));
    }
    for (name, pg) in backends {
        run_backend(name, pg.as_deref(), seconds);
    }
}

/// A database for one run: SQLite in the data directory, or a fresh PostgreSQL database.
fn database(pg_base: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(base) = pg_base else {
        return (None, None);
    };
    let name = format!("tf_load_{}", std::process::id());
    let mut admin = diesel::PgConnection::establish(base).expect("connect to PostgreSQL");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .ok();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("create database");
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{base}/{name}"),
    };
    (Some(url), Some(name))
}

fn cli(data: &Path, db: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("TINFORGE_DATA_DIR", data);
    match db {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let out = cmd.output().expect("run tinforge");
    assert!(
        out.status.success(),
        "tinforge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn start(data: &Path, db: Option<&str>) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("TINFORGE_DATA_DIR", data)
        .env("TINFORGE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match db {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("start tinforge");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("tinforge listening on ")
        .expect("listening line")
        .to_string();
    (child, url)
}

fn run_backend(name: &str, pg_base: Option<&str>, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (db_url, db_name) = database(pg_base);
    let db = db_url.as_deref();
    cli(
        data,
        db,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--password",
            "password123",
        ],
    );
    let api = cli(
        data,
        db,
        &[
            "token", "create", "--user", "alice", "--name", "api", "--scopes", "api",
        ],
    );
    let fine = cli(
        data,
        db,
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--name",
            "fine",
            "--grants",
            "issue:read,issue:create,project:read,user:read",
            "--boundary",
            "all_memberships",
        ],
    );
    let (mut server, url) = start(data, db);
    let created = ureq::post(&format!("{url}/api/v4/projects"))
        .set("PRIVATE-TOKEN", &api)
        .send_json(serde_json::json!({"name": "anvil", "visibility": "public"}))
        .expect("create project");
    assert_eq!(created.status(), 201);
    let store = Store::open(
        &match db {
            Some(u) => DatabaseUrl::parse(u),
            None => DatabaseUrl::sqlite_in(data),
        },
        8,
    )
    .unwrap();
    seed(&store);
    let baseline = start_baseline(store);
    let graphql = lua(
        "POST",
        r#"{"query":"{ project(fullPath: \"alice/anvil\") { issues(first: 20) { nodes { iid title state labels { nodes { title } } author { username } } } } }"}"#,
    );
    let create = lua("POST", r#"{"title":"load"}"#);
    let issues = format!("{url}/api/v4/projects/1/issues");
    let cases: Vec<(&str, String, Option<&str>, Option<&Path>)> = vec![
        (
            "baseline: 9 queries + typed JSON",
            format!("{baseline}/baseline/issues"),
            None,
            None,
        ),
        ("issue list, anonymous", issues.clone(), None, None),
        (
            "issue list, fine-grained token",
            issues.clone(),
            Some(&fine),
            None,
        ),
        (
            "single issue, token",
            format!("{issues}/500"),
            Some(&fine),
            None,
        ),
        (
            "project, token",
            format!("{url}/api/v4/projects/1"),
            Some(&fine),
            None,
        ),
        (
            "/user, token",
            format!("{url}/api/v4/user"),
            Some(&fine),
            None,
        ),
        (
            "GraphQL 20 issues, token",
            format!("{url}/api/graphql"),
            Some(&fine),
            Some(graphql.path()),
        ),
        (
            "create issue, token",
            issues.clone(),
            Some(&fine),
            Some(create.path()),
        ),
    ];
    println!("\n== {name}: {ISSUES} issues, wrk -t2 -c64 -d{seconds}s ==");
    println!(
        "{:<36} {:>10} {:>10} {:>9}",
        "request", "req/s", "p99 ms", "× base"
    );
    let mut base_rps = None;
    for (label, target, token, script) in cases {
        let (rps, p99) = wrk(&target, token, script, seconds);
        let base = *base_rps.get_or_insert(rps);
        println!("{label:<36} {rps:>10.0} {p99:>10.2} {:>9.2}", rps / base);
    }
    let _ = server.kill();
    let _ = server.wait();
    if let (Some(base), Some(name)) = (pg_base, db_name)
        && let Ok(mut admin) = diesel::PgConnection::establish(base)
    {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin);
    }
}

/// 1,000 issues in project 1 by alice, two labels each out of five.
fn seed(store: &Store) {
    let mut conn = store.conn().unwrap();
    let now = tinforge_store::now();
    let names = ["bug", "feature", "ui", "backend", "docs"];
    let seed: Vec<SeedIssue> = (0..ISSUES)
        .map(|i| SeedIssue {
            title: format!("Issue number {i} about the anvil's handle"),
            description: Some(format!("Steps to reproduce {i}:\n1. lift\n2. drop")),
            state: if i % 4 == 0 { "closed" } else { "opened" },
            confidential: false,
            created_at: now - chrono::Duration::minutes((ISSUES - i) as i64),
            labels: vec![names[i % 5].to_string(), names[(i + 2) % 5].to_string()],
        })
        .collect();
    issues::seed_bulk(&mut conn, 1, 1, &seed).unwrap();
}

/// A wrk script for a request with a JSON body.
fn lua(method: &str, body: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let body = body.replace('\\', "\\\\").replace('\'', "\\'");
    writeln!(
        f,
        "wrk.method = \"{method}\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\""
    )
    .unwrap();
    f
}

/// Requests per second and the 99th percentile latency in ms.
fn wrk(url: &str, token: Option<&str>, script: Option<&Path>, seconds: u64) -> (f64, f64) {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("PRIVATE-TOKEN: {t}")]);
    }
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| latency_ms(v.trim()))
        .unwrap_or(f64::NAN);
    if text.contains("Non-2xx") {
        eprintln!("warning: non-2xx answers for {url}:\n{text}");
    }
    (rps, p99)
}

fn latency_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        _ => n,
    }
}

// ---- the same-stack baseline ----

#[derive(Serialize)]
struct BaseUser {
    id: i64,
    username: String,
    name: String,
    state: String,
    locked: bool,
    avatar_url: Option<String>,
    web_url: String,
}

#[derive(Serialize)]
struct BaseReferences {
    short: String,
    relative: String,
    full: String,
}

#[derive(Serialize)]
struct BaseTimeStats {
    time_estimate: i64,
    total_time_spent: i64,
    human_time_estimate: Option<String>,
    human_total_time_spent: Option<String>,
}

#[derive(Serialize)]
struct BaseIssue {
    id: i64,
    iid: i64,
    project_id: i64,
    title: String,
    description: Option<String>,
    state: String,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    closed_by: Option<BaseUser>,
    labels: Vec<String>,
    milestone: Option<String>,
    assignees: Vec<BaseUser>,
    author: BaseUser,
    assignee: Option<BaseUser>,
    user_notes_count: i64,
    merge_requests_count: i64,
    upvotes: i64,
    downvotes: i64,
    due_date: Option<String>,
    confidential: bool,
    discussion_locked: Option<bool>,
    issue_type: &'static str,
    web_url: String,
    time_stats: BaseTimeStats,
    references: BaseReferences,
    has_tasks: bool,
    severity: &'static str,
}

type IssueRow = (
    i64,
    i64,
    i64,
    String,
    Option<String>,
    String,
    bool,
    i64,
    Option<i64>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The same 20 issues as tinforge's first page, from 9 indexed queries, typed.
fn baseline_issues(conn: &mut DbConnection) -> QueryResult<Vec<BaseIssue>> {
    use tinforge_store::schema::issues as i;
    let (project_path, owner): (String, Option<i64>) = projects::table
        .find(1i64)
        .select((projects::full_path, projects::owner_id))
        .first(conn)?;
    // The namespace (here the owning user), as a project's issue list needs it.
    let _namespace: Option<String> = users::table
        .filter(users::id.eq(owner.unwrap_or_default()))
        .select(users::username)
        .first(conn)
        .optional()?;
    let rows: Vec<IssueRow> = i::table
        .filter(i::project_id.eq(1i64))
        .order((i::created_at.desc(), i::id.desc()))
        .limit(20)
        .select((
            i::id,
            i::iid,
            i::project_id,
            i::title,
            i::description,
            i::state,
            i::confidential,
            i::author_id,
            i::closed_by_id,
            i::created_at,
            i::updated_at,
            i::closed_at,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    // The total, for X-Total.
    let _total: i64 = i::table
        .filter(i::project_id.eq(1i64))
        .count()
        .get_result(conn)?;
    let authors: Vec<i64> = rows.iter().map(|r| r.7).collect();
    let closers: Vec<i64> = rows.iter().filter_map(|r| r.8).collect();
    let assigned: Vec<(i64, i64)> = issue_assignees::table
        .filter(issue_assignees::issue_id.eq_any(&ids))
        .select((issue_assignees::issue_id, issue_assignees::user_id))
        .load(conn)?;
    let mut people: Vec<i64> = authors.iter().chain(&closers).copied().collect();
    people.extend(assigned.iter().map(|a| a.1));
    let users: HashMap<i64, (String, String, String)> = users::table
        .filter(users::id.eq_any(&people))
        .select((users::id, users::username, users::name, users::state))
        .load::<(i64, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, u, n, s)| (id, (u, n, s)))
        .collect();
    let label_links: Vec<(i64, i64)> = issue_labels::table
        .filter(issue_labels::issue_id.eq_any(&ids))
        .select((issue_labels::issue_id, issue_labels::label_id))
        .load(conn)?;
    let label_ids: Vec<i64> = label_links.iter().map(|l| l.1).collect();
    let label_names: HashMap<i64, String> = labels::table
        .filter(labels::id.eq_any(&label_ids))
        .select((labels::id, labels::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let note_counts: HashMap<i64, i64> = notes::table
        .filter(notes::issue_id.eq_any(ids.iter().map(|i| Some(*i)).collect::<Vec<_>>()))
        .group_by(notes::issue_id)
        .select((notes::issue_id, diesel::dsl::count_star()))
        .load::<(Option<i64>, i64)>(conn)?
        .into_iter()
        .filter_map(|(id, n)| Some((id?, n)))
        .collect();
    let user = |id: i64| {
        let (username, name, state) = users.get(&id).cloned().unwrap_or_default();
        BaseUser {
            id,
            web_url: format!("http://127.0.0.1/{username}"),
            username,
            name,
            state,
            locked: false,
            avatar_url: None,
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let assignees: Vec<BaseUser> = assigned
                .iter()
                .filter(|a| a.0 == r.0)
                .map(|a| user(a.1))
                .collect();
            BaseIssue {
                id: r.0,
                iid: r.1,
                project_id: r.2,
                title: r.3,
                description: r.4,
                state: r.5,
                created_at: time(r.9),
                updated_at: time(r.10),
                closed_at: r.11.map(time),
                closed_by: r.8.map(user),
                labels: label_links
                    .iter()
                    .filter(|l| l.0 == r.0)
                    .filter_map(|l| label_names.get(&l.1).cloned())
                    .collect(),
                milestone: None,
                assignee: assignees.first().map(|a| user(a.id)),
                assignees,
                author: user(r.7),
                user_notes_count: note_counts.get(&r.0).copied().unwrap_or(0),
                merge_requests_count: 0,
                upvotes: 0,
                downvotes: 0,
                due_date: None,
                confidential: r.6,
                discussion_locked: None,
                issue_type: "issue",
                web_url: format!("http://127.0.0.1/{project_path}/-/issues/{}", r.1),
                time_stats: BaseTimeStats {
                    time_estimate: 0,
                    total_time_spent: 0,
                    human_time_estimate: None,
                    human_total_time_spent: None,
                },
                references: BaseReferences {
                    short: format!("#{}", r.1),
                    relative: format!("#{}", r.1),
                    full: format!("{project_path}#{}", r.1),
                },
                has_tasks: false,
                severity: "UNKNOWN",
            }
        })
        .collect())
}

async fn baseline_handler(store: web::Data<Store>) -> HttpResponse {
    let store = store.get_ref().clone();
    let issues = web::block(move || {
        let mut conn = store.conn().map_err(|e| e.to_string())?;
        baseline_issues(&mut conn).map_err(|e| e.to_string())
    })
    .await;
    match issues {
        Ok(Ok(list)) => HttpResponse::Ok().json(list),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

/// Starts the baseline on a free port in a thread of this process; its URL.
fn start_baseline(store: Store) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let store = web::Data::new(store);
            HttpServer::new(move || {
                App::new()
                    .app_data(store.clone())
                    .route("/baseline/issues", web::get().to(baseline_handler))
            })
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    format!("http://{addr}")
}
