//! One worker thread: poll for a job, run it, repeat, with back-off on errors.

use std::sync::mpsc;
use std::time::Duration;

use crate::api::{self, Poll};
use crate::client::Client;
use crate::control::Shutdown;
use crate::job::{self, Ctx, Report};
use crate::log;

/// The longest back-off between failed polls.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a worker tells the supervisor.
#[derive(Debug)]
pub enum Event {
    /// A job was fully processed.
    JobDone,
    /// The runner token was refused: the runner stops.
    Forbidden,
    /// A signal reached the runner.
    Signal,
}

/// Settings shared by the workers.
pub struct Setup {
    pub client: Client,
    pub token: String,
    pub system_id: String,
    pub work_dir: std::path::PathBuf,
    pub poll_interval: Duration,
    pub once: bool,
}

/// The loop of worker `n`.
pub fn work(n: usize, setup: &Setup, shutdown: &Shutdown, events: mpsc::Sender<Event>) {
    let mut last_update = String::new();
    let mut backoff = setup.poll_interval.max(Duration::from_millis(100));
    let ctx = Ctx {
        client: &setup.client,
        shutdown,
        work_dir: &setup.work_dir,
    };
    while !shutdown.stopping() {
        match api::request_job(
            &setup.client,
            &setup.token,
            &setup.system_id,
            &mut last_update,
        ) {
            Poll::Job(job) => {
                backoff = setup.poll_interval.max(Duration::from_millis(100));
                let _running = shutdown.job_started();
                let id = job.id;
                log::info(format!(
                    "worker {n}: picked job {id} ({} / {}, project {})",
                    job.job_info.stage, job.job_info.name, job.job_info.project_full_path
                ));
                let report = job::run(&ctx, *job);
                let status = match report {
                    Report::Success => "success".to_string(),
                    Report::Failed(reason) => format!("failed ({reason})"),
                    Report::Dropped => "dropped by the server".to_string(),
                };
                log::info(format!("worker {n}: job {id} finished: {status}"));
                let _ = events.send(Event::JobDone);
                if setup.once {
                    return;
                }
            }
            Poll::NoJob => {
                backoff = setup.poll_interval.max(Duration::from_millis(100));
                shutdown.sleep(setup.poll_interval);
            }
            Poll::Forbidden => {
                log::error("forbidden: the server refused the runner token");
                let _ = events.send(Event::Forbidden);
                return;
            }
            Poll::Retry(why) => {
                log::warn(format!(
                    "worker {n}: polling for jobs failed: {why}; retrying in {:?}",
                    backoff
                ));
                shutdown.sleep(backoff);
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
            }
        }
    }
}
