//! `tinforge runner`: the command line of the runner client in `tinforge-runner`.

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct RunnerArgs {
    /// The tinforge (or GitLab) instance, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "TINFORGE_RUNNER_URL")]
    pub url: String,
    /// The runner's authentication token (`tfrun-…`, from `POST /api/v4/user/runners`).
    #[arg(long, env = "TINFORGE_RUNNER_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Where jobs' working directories go.
    #[arg(long, default_value = "tinforge-runner")]
    pub work_dir: PathBuf,
    /// Jobs run at the same time.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Seconds between polls when no job is waiting.
    #[arg(long, default_value_t = 1.0)]
    pub poll_interval: f64,
    /// Exit after one job.
    #[arg(long)]
    pub once: bool,
}

pub fn run(args: RunnerArgs) -> std::process::ExitCode {
    tinforge_runner::run(tinforge_runner::RunnerOptions {
        url: args.url.trim_end_matches('/').to_string(),
        token: args.token,
        work_dir: args.work_dir,
        concurrency: args.concurrency.max(1),
        poll_interval: Duration::from_secs_f64(args.poll_interval.clamp(0.05, 60.0)),
        once: args.once,
    })
}
