//! What a merge request's live status costs: `merging::git_state` (both tips plus an in-memory
//! three-way merge when the branches diverged) is computed on every read of a merge request, so a
//! page of 20 merge requests does it 20 times. Measured for a small repository (100 files) and a
//! large one (10,000 files in 100 directories, 1,000 commits of history), for a source that
//! fast-forwards, one that merges cleanly and one that conflicts; and, for comparison, the merge
//! itself (`merge_branches` writing a merge commit) on the large repository as the API left it
//! and fully repacked. Without the API's housekeeping (`repos::housekeep`), its 14,000 loose
//! objects made that merge ~55 ms instead of ~8 ms.
//!
//! Run: `cargo bench -p tinforge-store --bench merge_status`. A summary table with the
//! large/small ratio is printed at the end.

use criterion::{BenchmarkId, Criterion, black_box};
use git2::{Oid, Repository};
use std::time::Instant;
use tinforge_store::git::merging::{self, MergeMethod, MergeOrder};
use tinforge_store::git::objects::{self, Action, Mergeability, NewCommit, Person, commit_actions};
use tinforge_store::merge_requests::MergeRequestRow;

struct Fixture {
    repo: Repository,
    _dir: tempfile::TempDir,
}

fn me() -> Person {
    Person {
        name: "Bench".into(),
        email: "bench@example.com".into(),
    }
}

fn commit(repo: &Repository, branch: &str, start: Option<Oid>, actions: Vec<Action>) -> Oid {
    commit_actions(
        repo,
        &NewCommit {
            branch,
            start,
            message: "bench",
            author: me(),
            committer: me(),
            actions,
        },
    )
    .expect("commit")
}

fn update(path: &str, content: &str) -> Action {
    Action::Update {
        path: path.into(),
        content: content.as_bytes().to_vec(),
    }
}

/// `files` files in `files / 100` directories, then `history` small commits on main; then the
/// branches `ff` (main + 1 commit), `clean` (from main, touching another file than main's next
/// commit) and `conflict` (the same file as main's next commit, differently).
fn fixture(files: usize, history: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repository::init_bare(dir.path()).expect("init");
    let dirs = (files / 100).max(1);
    let path = |i: usize| format!("dir{}/file{i}.txt", i % dirs);
    let initial = (0..files)
        .map(|i| Action::Create {
            path: path(i),
            content: format!("line one of {i}\nline two\nline three\n").into_bytes(),
        })
        .collect();
    let mut tip = commit(&repo, "main", None, initial);
    for n in 0..history {
        tip = commit(&repo, "main", None, vec![update(&path(0), &n.to_string())]);
    }
    let base = tip;
    commit(&repo, "clean", Some(base), vec![update(&path(2), "b\n")]);
    commit(&repo, "conflict", Some(base), vec![update(&path(3), "x\n")]);
    // main moves on, so `clean` and `conflict` have diverged from it; `ff` starts from there.
    let main = commit(&repo, "main", None, vec![update(&path(3), "y\n")]);
    commit(&repo, "ff", Some(main), vec![update(&path(1), "ff\n")]);
    Fixture { repo, _dir: dir }
}

fn mr(source: &str) -> MergeRequestRow {
    let now = chrono::Utc::now().naive_utc();
    MergeRequestRow {
        id: 1,
        project_id: 1,
        iid: 1,
        title: "bench".into(),
        description: String::new(),
        state: "opened".into(),
        source_branch: source.into(),
        target_branch: "main".into(),
        author_id: 1,
        merged_by_id: None,
        merged_at: None,
        closed_by_id: None,
        closed_at: None,
        merge_commit_sha: None,
        created_at: now,
        updated_at: now,
        merge_when_pipeline_succeeds: false,
        merge_user_id: None,
    }
}

const SOURCES: [&str; 3] = ["ff", "clean", "conflict"];

/// The status as a read of the merge request gets it (remembered by commit ids after the first).
fn status(f: &Fixture, source: &str) -> &'static str {
    let row = mr(source);
    let git = merging::git_state(&f.repo, &row).expect("state");
    merging::merge_status(&row, &git, MergeMethod::Merge).detailed
}

/// The same answer computed from scratch, as the first read after a push gets it.
fn cold(f: &Fixture, source: &str) -> Mergeability {
    let tip = |b: &str| objects::branch_tip(&f.repo, b).expect("branch");
    objects::compute_mergeability(&f.repo, tip("main"), tip(source)).expect("mergeability")
}

fn median_us(mut run: impl FnMut(), n: usize) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let small = fixture(100, 10);
    let large = fixture(10_000, 1_000);
    assert_eq!(status(&large, "ff"), "mergeable");
    assert_eq!(cold(&large, "ff"), Mergeability::FastForward);
    assert_eq!(status(&large, "clean"), "mergeable");
    assert_eq!(status(&large, "conflict"), "conflict");
    let mut group = criterion.benchmark_group("merge_status");
    for source in SOURCES {
        for (name, f) in [("100 files", &small), ("10k files", &large)] {
            group.bench_with_input(BenchmarkId::new(source, name), f, |b, f| {
                b.iter(|| black_box(cold(f, source)))
            });
        }
    }
    group.finish();
    println!("\nmerge request status, median of 200 (cold: computed; warm: as reads get it):");
    println!(
        "{:<10} {:>14} {:>14} {:>8} {:>14}",
        "source", "100 files cold", "10k files cold", "ratio", "10k files warm"
    );
    for source in SOURCES {
        let a = median_us(
            || {
                black_box(cold(&small, source));
            },
            200,
        );
        let b = median_us(
            || {
                black_box(cold(&large, source));
            },
            200,
        );
        let warm = median_us(
            || {
                black_box(status(&large, source));
            },
            200,
        );
        println!(
            "{source:<10} {a:>11.0} µs {b:>11.0} µs {:>7.2}x {warm:>11.1} µs",
            b / a
        );
    }
    // The merge itself: a merge commit of `clean` into main on the large repository as the API
    // left it (its writes run `git gc --auto` when loose objects pile up: `repos::housekeep`),
    // then after a full `git repack -ad`.
    let loose = merge_median(&large.repo);
    let repack = std::process::Command::new("git")
        .arg("-C")
        .arg(large.repo.path())
        .args(["repack", "-adq"])
        .status()
        .expect("git repack");
    assert!(repack.success());
    let packed = merge_median(&Repository::open_bare(large.repo.path()).expect("reopen"));
    println!(
        "merge commit of `clean` into main, 10k files, median of 50: {loose:.0} µs \
         as the API left the repository, {packed:.0} µs fully repacked ({:.2}x)",
        loose / packed
    );
    criterion.final_summary();
}

/// Median time of merging `clean` into main; main is reset to its old tip after every merge.
fn merge_median(repo: &Repository) -> f64 {
    let main_tip = repo.refname_to_id("refs/heads/main").expect("main");
    let who = me();
    let merge_once = || {
        let order = MergeOrder {
            source_branch: "clean",
            target_branch: "main",
            expected_sha: None,
            message: "Merge",
            who: &who,
            method: MergeMethod::Merge,
            remove_source: false,
        };
        merging::merge_branches(repo, &order).expect("merge");
        repo.reference("refs/heads/main", main_tip, true, "bench reset")
            .expect("reset");
    };
    median_us(merge_once, 50)
}
