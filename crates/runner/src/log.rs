//! The runner's own log on stderr (never the job trace, never a token).

use std::fmt::Display;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn emit(level: &str, msg: impl Display) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let _ = writeln!(
        std::io::stderr().lock(),
        "{h:02}:{m:02}:{s:02} tinforge-runner {level}: {msg}"
    );
}

/// An ordinary event.
pub fn info(msg: impl Display) {
    emit("INFO", msg);
}

/// Something went wrong but the runner goes on.
pub fn warn(msg: impl Display) {
    emit("WARN", msg);
}

/// Something that ends the runner.
pub fn error(msg: impl Display) {
    emit("ERROR", msg);
}
