//! The runner behind `tinforge runner`: GitLab's runner protocol over HTTP and a shell
//! executor (bash). It depends on no other tinforge crate.
//!
//! [`run`] verifies the runner token, then `concurrency` workers poll `POST /jobs/request`
//! and run each job in `<work_dir>/builds/<job id>`, sending its trace and final state.

mod api;
mod artifacts;
mod client;
mod control;
mod env;
mod error;
mod git;
mod job;
mod log;
mod mask;
mod payload;
mod process;
mod script;
mod supervisor;
mod system_id;
mod trace;
mod transfer;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use error::Error;

/// The runner's version, as reported to the server and in `CI_RUNNER_VERSION`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The options of `tinforge runner`.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The forge's root URL (`/api/v4` is added).
    pub url: String,
    /// The runner authentication token (`glrt-…`).
    pub token: String,
    /// Where builds and `.runner_system_id` live.
    pub work_dir: PathBuf,
    /// How many jobs run at once (one polling worker each).
    pub concurrency: usize,
    /// The pause after a poll that brought no job.
    pub poll_interval: Duration,
    /// Exit after one job has been processed (for tests).
    pub once: bool,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            url: String::new(),
            token: String::new(),
            work_dir: PathBuf::from("."),
            concurrency: 1,
            poll_interval: Duration::from_secs(1),
            once: false,
        }
    }
}

/// Run the runner until a signal (exit 0), an invalid token (exit 1), or — with `once` — the
/// end of the first job (exit 0).
pub fn run(options: RunnerOptions) -> std::process::ExitCode {
    supervisor::run(options)
}

/// The architecture as Go names it (`amd64`, `arm64`, …), which is what GitLab shows.
pub(crate) fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
