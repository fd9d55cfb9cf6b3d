//! Issue list latency as a project grows: 1,000 against 100,000 issues in one project, through
//! the store function the REST handlers call (`tinforge_store::issues::list`: the page, the capped
//! total and the hydration of authors, labels and comment counts; no HTTP, no JSON).
//!
//! Queries: the first page (GitLab's default order, newest first, with `X-Total`), the same page
//! for a non-member of a public project (the confidential filter applies), a deep keyset page
//! (`pagination=keyset&order_by=id`, 90% of the way in), and a label filter (one label in ten
//! issues) as an offset page with its total and as a keyset page.
//!
//! Seeding goes straight through the store in batched multi-row inserts. SQLite always;
//! PostgreSQL too when `TINFORGE_TEST_DATABASE_URL` is set (a database per size, dropped after).
//! Run: `cargo bench -p tinforge-api --bench issue_list`. A summary table with the 100k/1k ratio
//! is printed at the end.

use chrono::{Duration, NaiveDate};
use criterion::{BenchmarkId, Criterion, black_box};
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::time::Instant;
use tinforge_store::connection::DatabaseUrl;
use tinforge_store::issues::{
    self, Cursor, IssueFilter, LabelFilter, Order, OrderBy, Paging, ProjectScope, SeedIssue, Viewer,
};
use tinforge_store::users::{self, NewUser};
use tinforge_store::{Store, StoreError};

const SIZES: [usize; 2] = [1_000, 100_000];
const PER_PAGE: i64 = 20;
const LABELS: usize = 10;

struct Fixture {
    store: Store,
    project_id: i64,
    member: Viewer,
    outsider: Viewer,
    /// The id 90% of the way through the project's issues.
    deep_cursor: Cursor,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((base, name)) = self.drop_pg.take()
            && let Ok(mut c) = PgConnection::establish(&base)
        {
            // FORCE ends the pool's own connections.
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
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

fn user(conn: &mut tinforge_store::DbConnection, name: &str) -> i64 {
    users::create(
        conn,
        &NewUser {
            username: name,
            email: &format!("{name}@example.com"),
            name,
            password: "benchmark-password",
            is_admin: false,
        },
    )
    .unwrap()
    .id
}

fn seed(backend: &str, size: usize) -> Fixture {
    let (store, dir, drop_pg) = match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&DatabaseUrl::sqlite_in(dir.path()), 2).unwrap();
            (store, Some(dir), None)
        }
        _ => {
            let base = std::env::var("TINFORGE_TEST_DATABASE_URL").unwrap();
            let name = format!("tf_bench_{}_{size}", std::process::id());
            let mut admin = PgConnection::establish(&base).unwrap();
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut admin)
                .unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            let store = Store::open(&DatabaseUrl::parse(&with_database(&base, &name)), 2).unwrap();
            (store, None, Some((base, name)))
        }
    };
    let mut conn = store.conn().unwrap();
    let author = user(&mut conn, "author");
    let reporter = user(&mut conn, "reporter");
    let outsider = user(&mut conn, "outsider");
    diesel::sql_query(format!(
        "INSERT INTO projects (name, path, full_path, owner_id, visibility, created_at, \
         last_activity_at) VALUES ('big', 'big', 'author/big', {author}, 'public', \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ))
    .execute(&mut *conn)
    .unwrap();
    let project_id: i64 = 1;
    diesel::sql_query(format!(
        "INSERT INTO members (user_id, project_id, access_level, created_at) \
         VALUES ({reporter}, {project_id}, 20, '2026-01-01 00:00:00')"
    ))
    .execute(&mut *conn)
    .unwrap();
    let start = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let t0 = Instant::now();
    let rows: Vec<SeedIssue> = (0..size)
        .map(|n| SeedIssue {
            title: format!("Issue number {n}"),
            description: Some(format!("Steps to reproduce problem {n}")),
            state: if n % 5 == 0 {
                issues::CLOSED
            } else {
                issues::OPENED
            },
            confidential: n % 50 == 0,
            created_at: start + Duration::seconds(n as i64 * 7),
            labels: vec![format!("label-{}", n % LABELS)],
        })
        .collect();
    for chunk in rows.chunks(20_000) {
        issues::seed_bulk(&mut conn, project_id, author, chunk).unwrap();
    }
    if backend == "postgres" {
        // What autovacuum would do shortly after a bulk load.
        diesel::sql_query("ANALYZE").execute(&mut *conn).unwrap();
    }
    eprintln!("seeded {size} issues on {backend} in {:.2?}", t0.elapsed());
    let deep_id: i64 = {
        use diesel::prelude::*;
        use tinforge_store::schema::issues as t;
        t::table
            .filter(t::project_id.eq(project_id))
            .order(t::id.asc())
            .offset((size * 9 / 10) as i64)
            .select(t::id)
            .first(&mut *conn)
            .unwrap()
    };
    drop(conn);
    Fixture {
        store,
        project_id,
        member: Viewer {
            user_id: Some(reporter),
            admin: false,
            reporter_projects: vec![project_id],
        },
        outsider: Viewer {
            user_id: Some(outsider),
            admin: false,
            reporter_projects: vec![],
        },
        deep_cursor: Cursor {
            id: deep_id,
            at: None,
        },
        _dir: dir,
        drop_pg,
    }
}

#[derive(Clone, Copy)]
enum Query {
    FirstPage,
    FirstPageOutsider,
    DeepKeyset,
    LabelFilter,
    LabelKeyset,
}

impl Query {
    const ALL: [Query; 5] = [
        Query::FirstPage,
        Query::FirstPageOutsider,
        Query::DeepKeyset,
        Query::LabelFilter,
        Query::LabelKeyset,
    ];

    fn name(self) -> &'static str {
        match self {
            Query::FirstPage => "first_page",
            Query::FirstPageOutsider => "first_page_non_member",
            Query::DeepKeyset => "deep_keyset_page",
            Query::LabelFilter => "label_filter",
            Query::LabelKeyset => "label_filter_keyset",
        }
    }

    /// Runs the query as the REST handler would; returns the number of issues on the page.
    fn run(self, f: &Fixture) -> Result<usize, StoreError> {
        let mut conn = f.store.conn()?;
        let mut filter = IssueFilter::new(ProjectScope::One(f.project_id));
        let first = Paging::Offset {
            offset: 0,
            limit: PER_PAGE,
        };
        let (viewer, order, paging) = match self {
            Query::FirstPage => (&f.member, Order::default(), first),
            Query::FirstPageOutsider => (&f.outsider, Order::default(), first),
            Query::DeepKeyset => (
                &f.member,
                Order {
                    by: OrderBy::Id,
                    desc: false,
                },
                Paging::Keyset {
                    after: Some(f.deep_cursor),
                    limit: PER_PAGE,
                },
            ),
            Query::LabelFilter | Query::LabelKeyset => {
                filter.labels = LabelFilter::All(vec!["label-3".into()]);
                let paging = match self {
                    Query::LabelFilter => first,
                    _ => Paging::Keyset {
                        after: None,
                        limit: PER_PAGE,
                    },
                };
                (&f.member, Order::default(), paging)
            }
        };
        let page = issues::list(&mut conn, &filter, viewer, order, paging)?;
        assert_eq!(page.issues.len() as i64, PER_PAGE);
        Ok(page.issues.len())
    }
}

/// Median of `n` runs, in microseconds.
fn median_us(q: Query, f: &Fixture, n: usize) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            black_box(q.run(f).unwrap());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[n / 2]
}

fn main() {
    let mut backends = vec!["sqlite"];
    if std::env::var("TINFORGE_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        backends.push("postgres");
    }
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .configure_from_args();
    let mut summary = Vec::new();
    for backend in backends {
        let fixtures: Vec<(usize, Fixture)> =
            SIZES.iter().map(|s| (*s, seed(backend, *s))).collect();
        let mut group = criterion.benchmark_group(format!("issue_list/{backend}"));
        for q in Query::ALL {
            for (size, f) in &fixtures {
                group.bench_with_input(BenchmarkId::new(q.name(), size), f, |b, f| {
                    b.iter(|| q.run(f).unwrap())
                });
            }
        }
        group.finish();
        for q in Query::ALL {
            let small = median_us(q, &fixtures[0].1, 200);
            let large = median_us(q, &fixtures[1].1, 200);
            summary.push((backend, q.name(), small, large));
        }
    }
    println!("\nissue list latency, median of 200 (store function, page of {PER_PAGE}):");
    println!(
        "{:<9} {:<24} {:>12} {:>12} {:>8}",
        "backend", "query", "1k issues", "100k issues", "ratio"
    );
    for (backend, name, small, large) in summary {
        println!(
            "{backend:<9} {name:<24} {:>9.0} µs {:>9.0} µs {:>7.2}x",
            small,
            large,
            large / small
        );
    }
    criterion.final_summary();
}
