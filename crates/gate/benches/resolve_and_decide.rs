//! What authorization costs per request: rejecting garbage by checksum (no database), resolving a
//! token by its digest on SQLite (legacy and fine-grained, with grants), `decide()` itself, and
//! the usage record's cost on the request path.
//! Run with `cargo bench -p tinforge-gate`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use std::collections::BTreeSet;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{
    Boundary, Grant, Permission, Principal, Role, Target, TargetKind, TokenKind, Visibility,
    decide, require,
};
use tinforge_gate::TokenResolver;
use tinforge_store::Store;
use tinforge_store::connection::DatabaseUrl;
use tinforge_store::tokens::{self, NewToken, TokenRights};
use tinforge_store::users::{self, NewUser};

fn seed(store: &Store, resolver: &TokenResolver, rights: TokenRights) -> String {
    let mut conn = store.conn().unwrap();
    let user = match users::find_by_username(&mut conn, "bench").unwrap() {
        Some(u) => u,
        None => users::create(
            &mut conn,
            &NewUser {
                username: "bench",
                email: "bench@example.com",
                name: "Bench",
                password: "benchmark-password",
                is_admin: false,
            },
        )
        .unwrap(),
    };
    let secret = token_format::generate(TokenPrefix::PersonalAccess);
    tokens::insert(
        &mut conn,
        &NewToken {
            user_id: user.id,
            name: "bench",
            description: "",
            digest: &resolver.digest(&secret),
            rights: &rights,
            expires_at: chrono::Utc::now().date_naive() + chrono::Duration::days(30),
            family_id: None,
        },
    )
    .unwrap();
    secret
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DatabaseUrl::sqlite_in(dir.path()), 2).unwrap();
    let resolver = TokenResolver::new(b"benchmark-secret");
    let legacy = seed(
        &store,
        &resolver,
        TokenRights::Legacy(vec![tinforge_authz::LegacyScope::Api]),
    );
    let grants: Vec<Grant> = (0..3)
        .map(|i| Grant {
            boundary: Boundary::Selected {
                projects: vec![i, i + 10],
                groups: vec![],
            },
            permissions: ["issue:read", "issue:create", "repository:read"]
                .iter()
                .map(|p| p.parse::<Permission>().unwrap())
                .collect::<BTreeSet<_>>(),
        })
        .collect();
    // Stored grants reach all memberships (selected ones would need real projects).
    let stored: Vec<Grant> = grants
        .iter()
        .map(|g| Grant {
            boundary: Boundary::AllMemberships,
            permissions: g.permissions.clone(),
        })
        .collect();
    let fine = seed(&store, &resolver, TokenRights::FineGrained(stored));
    let mut typo = legacy.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();

    c.bench_function("checksum rejects a typo (no database)", |b| {
        b.iter(|| token_format::check(black_box(&typo)))
    });
    c.bench_function("resolve legacy token on SQLite", |b| {
        let mut conn = store.conn().unwrap();
        b.iter(|| {
            resolver
                .resolve(&mut conn, black_box(&legacy), "127.0.0.1")
                .unwrap()
        })
    });
    c.bench_function("resolve fine-grained token with 3 grants on SQLite", |b| {
        let mut conn = store.conn().unwrap();
        b.iter(|| {
            resolver
                .resolve(&mut conn, black_box(&fine), "127.0.0.1")
                .unwrap()
        })
    });
    let principal = Principal {
        user_id: 1,
        username: "bench".into(),
        is_admin: false,
        kind: TokenKind::FineGrained,
        token_id: Some(1),
        job_id: None,
        scopes: vec![],
        grants,
    };
    let target = Target {
        kind: TargetKind::Project,
        id: 12,
        full_path: "g/p".into(),
        visibility: Visibility::Private,
        ancestor_group_ids: vec![5, 4],
        personal_owner_id: None,
        role: Role::Developer,
    };
    let req = require!(issue:create);
    c.bench_function("decide fine-grained, 3 grants", |b| {
        b.iter(|| decide(Some(black_box(&principal)), &req, Some(black_box(&target))))
    });
    // The usage record's cost on the request path: one aggregate update behind a mutex (the
    // writer thread flushes to SQLite once a second meanwhile).
    tinforge_gate::usage::install(store.clone());
    c.bench_function("usage record, one permission", |b| {
        b.iter(|| {
            tinforge_gate::usage::record_use(black_box(&principal), &req, Some(black_box(&target)))
        })
    });
    let many: Vec<Target> = (0..1000)
        .map(|i| Target {
            id: i,
            ..target.clone()
        })
        .collect();
    let mut next = 0usize;
    c.bench_function("usage record, 1000 projects round robin", |b| {
        b.iter(|| {
            next = (next + 1) % many.len();
            tinforge_gate::usage::record_use(black_box(&principal), &req, Some(&many[next]))
        })
    });
}

criterion_group!(gate, benches);
criterion_main!(gate);
