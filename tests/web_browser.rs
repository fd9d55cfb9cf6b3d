//! The web UI in a real browser: starts the server (SQLite; the Rust-level web tests cover both
//! databases), seeds a user, a private project with an issue and an admin token over REST, then
//! runs `tests/browser/web_ui.mjs` (Node + playwright-core driving Debian's Chromium) against it.
//!
//! Needs `node`, `npm ci` (for `node_modules/playwright-core`) and `/usr/bin/chromium` (or
//! `TINFORGE_CHROMIUM`); fails when they are missing unless `TINFORGE_SKIP_BROWSER_TESTS=1`.
//! Screenshots go to `target/screenshots/`; with `TINFORGE_UPDATE_SCREENSHOTS=1` they are also
//! copied into `web/screenshots/`.

mod common;

use common::{Backend, Server};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ISSUE_TITLE: &str = "Anvil is too heavy";
const SCRIPT: &str = "tests/browser/web_ui.mjs";
const TIMEOUT: Duration = Duration::from_secs(180);
/// One full-page screenshot per page, as checked in under `web/screenshots/`.
const SCREENSHOTS: [&str; 9] = [
    "sign_in",
    "projects",
    "tokens",
    "new_token",
    "trim",
    "coverage",
    "explain",
    "project",
    "issues",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_is_1(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

fn chromium() -> String {
    std::env::var("TINFORGE_CHROMIUM")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Fails with what to install when Node, playwright-core or Chromium is missing.
fn check_prerequisites(root: &Path) {
    let hint = "run `npm ci` in the repository root and install Chromium \
                (`apt-get install chromium nodejs npm`; .ci/run does both), \
                or set TINFORGE_SKIP_BROWSER_TESTS=1 to skip the browser test";
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        node.is_ok_and(|s| s.success()),
        "`node` is not installed: {hint}"
    );
    assert!(
        root.join("node_modules/playwright-core/package.json")
            .is_file(),
        "node_modules/playwright-core is missing: {hint}"
    );
    let browser = chromium();
    assert!(
        Path::new(&browser).is_file(),
        "Chromium is missing at {browser}: {hint}"
    );
}

/// Empties `dir` of PNG files (creating it), so that stale screenshots do not linger.
fn fresh_screenshot_dir(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the screenshot directory");
    for entry in std::fs::read_dir(dir).expect("read the screenshot directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::remove_file(&path).expect("remove an old screenshot");
        }
    }
}

fn copy_screenshots(from: &Path, to: &Path) -> usize {
    std::fs::create_dir_all(to).expect("create web/screenshots");
    let mut copied = 0;
    for entry in std::fs::read_dir(from).expect("read the screenshots") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).expect("copy a screenshot");
            copied += 1;
        }
    }
    copied
}

/// Seeds what the script needs; returns the admin token (api, admin_mode).
fn seed(server: &Server) -> String {
    server.user("alice");
    server.admin("admin");
    let alice = server.legacy_token("alice", "api");
    let admin = server.legacy_token("admin", "api,admin_mode");

    let r = server.call(
        "POST",
        "/api/v4/projects",
        Some(&alice),
        Some(json!({"name": "anvil", "visibility": "private", "description": "Heavy things"})),
    );
    assert_eq!(r.status, 201, "create alice/anvil: {}", r.text);
    assert_eq!(r.json["path_with_namespace"], "alice/anvil");
    let r = server.call(
        "POST",
        "/api/v4/projects/alice%2Fanvil/issues",
        Some(&alice),
        Some(json!({"title": ISSUE_TITLE, "description": "Lighter, please."})),
    );
    assert_eq!(r.status, 201, "create the issue: {}", r.text);
    admin
}

#[test]
fn web_ui_in_a_real_browser() {
    if env_is_1("TINFORGE_SKIP_BROWSER_TESTS") {
        eprintln!("skipped: TINFORGE_SKIP_BROWSER_TESTS=1 (the browser test of the web UI)");
        return;
    }
    let root = manifest_dir();
    check_prerequisites(&root);

    let server = Server::start(&Backend::Sqlite, &[]);
    let admin_token = seed(&server);

    let shots = root.join("target/screenshots");
    fresh_screenshot_dir(&shots);

    // Output goes to files: a pipe that nobody reads while we wait could fill up.
    let out_dir = tempfile::tempdir().expect("temp dir");
    let stdout_path = out_dir.path().join("stdout");
    let stderr_path = out_dir.path().join("stderr");
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(SCRIPT)
        .current_dir(&root)
        .env("TINFORGE_URL", &server.url)
        .env("TINFORGE_USER", "alice")
        .env("TINFORGE_PASSWORD", "password123")
        .env("TINFORGE_ADMIN_TOKEN", &admin_token)
        .env("TINFORGE_ISSUE_TITLE", ISSUE_TITLE)
        .env("TINFORGE_SCREENSHOTS", &shots)
        .env("TINFORGE_CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start node");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let report = format!(
        "---- {SCRIPT} stdout ----\n{stdout}\n---- {SCRIPT} stderr ----\n{stderr}\n\
         (screenshots so far in {})",
        shots.display()
    );
    match status {
        None => panic!("{SCRIPT} did not finish within {TIMEOUT:?}\n{report}"),
        Some(s) if !s.success() => panic!("{SCRIPT} failed ({s})\n{report}"),
        Some(_) => eprintln!(
            "{SCRIPT} passed in {:.1}s\n{report}",
            started.elapsed().as_secs_f64()
        ),
    }

    for name in SCREENSHOTS {
        assert!(
            shots.join(format!("{name}.png")).is_file(),
            "{SCRIPT} passed but wrote no {name}.png into {}",
            shots.display()
        );
    }
    if env_is_1("TINFORGE_UPDATE_SCREENSHOTS") {
        let n = copy_screenshots(&shots, &root.join("web/screenshots"));
        eprintln!("copied {n} screenshots into web/screenshots/");
    }
}
