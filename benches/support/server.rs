//! What the benches share: the tinforge CLI on a data directory, and a server started on it
//! (its URL read from the line it prints). Included by each bench with `#[path]`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tinforge");

/// `tinforge args…` on the SQLite database in `data`, which must succeed; its stdout, trimmed.
pub fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("TINFORGE_DATA_DIR", data)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run tinforge");
    assert!(
        out.status.success(),
        "tinforge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `tinforge serve` on `data` on a free port; the child and its URL.
pub fn start_server(data: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TINFORGE_DATA_DIR", data)
        .env("TINFORGE_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tinforge");
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
