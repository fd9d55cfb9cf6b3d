//! One job from start to final state: directories, sources, dependencies, steps,
//! after_script, artifacts, and what goes into the trace on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api;
use crate::artifacts;
use crate::client::Client;
use crate::control::{self, JobControl, Shutdown};
use crate::env::{self, Dirs};
use crate::git;
use crate::log;
use crate::mask::Masker;
use crate::payload::{Job, Step};
use crate::process::{self, Interrupt, Outcome};
use crate::script;
use crate::trace::{Sender, Trace};
use crate::transfer::{Transfer, Transfers};

/// The job timeout when the server gives none.
const DEFAULT_TIMEOUT: u64 = 3600;
/// The longest job timeout taken from the server (30 days).
const MAX_TIMEOUT: u64 = 30 * 24 * 3600;
/// The cap of the after_script step.
const AFTER_SCRIPT_TIMEOUT: u64 = 300;

/// What a worker needs to run jobs.
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub shutdown: &'a Shutdown,
    pub work_dir: &'a Path,
}

/// How a job ended, for the runner's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Success,
    Failed(&'static str),
    /// The server refused the job before it started.
    Dropped,
}

/// Why the job failed.
#[derive(Debug, Clone)]
struct Failure {
    reason: &'static str,
    exit_code: Option<i32>,
    message: String,
}

impl Failure {
    fn system(message: impl Into<String>) -> Failure {
        Failure {
            reason: "runner_system_failure",
            exit_code: None,
            message: message.into(),
        }
    }

    fn script(message: impl Into<String>) -> Failure {
        Failure {
            reason: "script_failure",
            exit_code: None,
            message: message.into(),
        }
    }
}

fn section(text: &str) -> String {
    format!("\x1b[0K\x1b[36;1m{text}\x1b[0;m")
}

fn warning(text: &str) -> String {
    format!("\x1b[0;33mWARNING: {text}\x1b[0;m")
}

/// Run one job and report its final state.
pub fn run(ctx: &Ctx<'_>, job: Job) -> Report {
    let masked = job
        .variables
        .iter()
        .filter(|v| v.masked)
        .map(|v| v.value.clone())
        .chain(std::iter::once(job.token.clone()));
    let trace = Trace::new(Masker::new(masked));
    let control = Arc::new(JobControl::default());

    match api::update_job(ctx.client, job.id, &job.token, json!({"state": "running"})) {
        Ok(resp) if matches!(resp.status, 403 | 404) => {
            log::warn(format!(
                "job {}: the server refused it ({})",
                job.id, resp.status
            ));
            return Report::Dropped;
        }
        Ok(resp) => control.apply_status(resp.job_status().as_deref()),
        Err(e) => log::warn(format!("job {}: marking it running: {e}", job.id)),
    }

    let sender = Sender::new(
        ctx.client.clone(),
        job.id,
        job.token.clone(),
        trace.clone(),
        control.clone(),
    );
    let background = sender.start();
    let failure = Execution::new(ctx, &job, trace.clone(), control.clone()).execute();
    match &failure {
        None => trace.line("\x1b[32;1mJob succeeded\x1b[0;m"),
        Some(f) => trace.line(&format!(
            "\x1b[31;1mERROR: Job failed: {}\x1b[0;m",
            f.message
        )),
    }
    background.stop();
    let body = match &failure {
        None => json!({"state": "success"}),
        Some(f) => {
            let mut b = json!({"state": "failed", "failure_reason": f.reason});
            if let Some(code) = f.exit_code {
                b["exit_code"] = json!(code);
            }
            b
        }
    };
    if !sender.finish(body) {
        log::warn(format!("job {}: the final state was not accepted", job.id));
    }
    match failure {
        None => Report::Success,
        Some(f) => Report::Failed(f.reason),
    }
}

/// The state of one job while it runs.
struct Execution<'a> {
    ctx: &'a Ctx<'a>,
    job: &'a Job,
    trace: Arc<Trace>,
    control: Arc<JobControl>,
    timeout: u64,
    deadline: Instant,
    builds: PathBuf,
    project: PathBuf,
    tmp: PathBuf,
    env: Vec<(String, String)>,
}

impl<'a> Execution<'a> {
    fn new(ctx: &'a Ctx<'a>, job: &'a Job, trace: Arc<Trace>, control: Arc<JobControl>) -> Self {
        let timeout = match job.runner_info.timeout {
            0 => DEFAULT_TIMEOUT,
            t => t.min(MAX_TIMEOUT),
        };
        let builds = ctx.work_dir.join("builds");
        Execution {
            ctx,
            job,
            trace,
            control,
            timeout,
            deadline: Instant::now() + Duration::from_secs(timeout),
            project: builds.join(job.id.to_string()),
            tmp: builds.join(format!("{}.tmp", job.id)),
            builds,
            env: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        self.trace.line(text);
    }

    fn execute(mut self) -> Option<Failure> {
        self.line(&format!("Running with tinforge-runner {}", crate::VERSION));
        self.line(&section("Preparing the \"shell\" executor"));
        self.line("Using Shell (bash) executor...");
        if let Some(image) = self.job.image.as_ref().filter(|i| !i.name.is_empty()) {
            self.line(&warning(&format!(
                "the shell executor ignores the image \"{}\"",
                image.name
            )));
        }
        let mut failure = self.prepare().err();
        if failure.is_none() {
            self.line(&section("Getting source from Git repository"));
            failure = self.get_sources().err();
        }
        if failure.is_none() {
            failure = self.download_dependencies().err();
        }
        let scripts_started = failure.is_none();
        if scripts_started {
            failure = self.run_steps();
            self.after_script();
        }
        if self.control.stopped() && failure.is_none() {
            failure = Some(Failure::script("canceled"));
        }
        if scripts_started
            && !self.control.stopped()
            && !self.ctx.shutdown.forced()
            && let Some(f) = self.upload_artifacts(failure.is_none())
        {
            failure.get_or_insert(f);
        }
        self.cleanup();
        failure
    }

    fn prepare(&mut self) -> Result<(), Failure> {
        for dir in [&self.project, &self.tmp] {
            if dir.symlink_metadata().is_ok() {
                std::fs::remove_dir_all(dir)
                    .map_err(|e| Failure::system(format!("removing {}: {e}", dir.display())))?;
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::system(format!("creating {}: {e}", dir.display())))?;
        }
        self.line(&section("Preparing environment"));
        let dirs = Dirs {
            builds: &self.builds,
            project: &self.project,
            tmp: &self.tmp,
        };
        self.env = env::build(self.job, &dirs).map_err(|e| Failure::system(e.to_string()))?;
        Ok(())
    }

    fn cleanup(&self) {
        if std::env::var_os("TINFORGE_RUNNER_KEEP_BUILDS").is_some() {
            return;
        }
        self.line(&section(
            "Cleaning up project directory and file based variables",
        ));
        for dir in [&self.project, &self.tmp] {
            if let Err(e) = std::fs::remove_dir_all(dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                log::warn(format!(
                    "job {}: removing {}: {e}",
                    self.job.id,
                    dir.display()
                ));
            }
        }
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Run a process with the trace as its output; a failure to start is a system failure.
    fn spawn(
        &self,
        cmd: std::process::Command,
        limit: Duration,
        after_script: bool,
    ) -> Result<Outcome, Failure> {
        let trace = self.trace.clone();
        let (shutdown, control) = (self.ctx.shutdown, &*self.control);
        process::run(
            cmd,
            limit,
            &|| control::interrupt(shutdown, control, after_script),
            &mut |chunk: &[u8]| trace.write(chunk),
        )
        .map_err(|e| Failure::system(e.to_string()))
    }

    /// The failure an outcome means (None for success).
    fn judge(&self, outcome: Outcome, timeout_secs: u64) -> Option<Failure> {
        match outcome {
            Outcome::Exited(0) => None,
            Outcome::Exited(code) => Some(Failure {
                reason: "script_failure",
                exit_code: Some(code),
                message: format!("exit code {code}"),
            }),
            Outcome::Signaled(sig) => Some(Failure::script(format!("terminated by signal {sig}"))),
            Outcome::TimedOut => Some(Failure {
                reason: "job_execution_timeout",
                exit_code: None,
                message: format!("execution took longer than {timeout_secs} seconds"),
            }),
            Outcome::Interrupted(why) => {
                let stopped = self.ctx.shutdown.forced()
                    || (why == Interrupt::Stop)
                    || (why == Interrupt::Kill && !self.control.stopped());
                Some(if stopped {
                    Failure::system("the runner was stopped")
                } else {
                    Failure::script("canceled")
                })
            }
        }
    }

    fn git(&self, args: &[String]) -> Result<(), Failure> {
        let cmd = git::command(&self.project, args, &self.env);
        let outcome = self.spawn(cmd, self.remaining(), false)?;
        match self.judge(outcome, self.timeout) {
            None => Ok(()),
            Some(f) => Err(f),
        }
    }

    fn get_sources(&self) -> Result<(), Failure> {
        let info = &self.job.git_info;
        if info.repo_url.is_empty() {
            return Err(Failure::system("the job has no repository URL"));
        }
        let strategy = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "GIT_STRATEGY")
            .map(|(_, v)| v.as_str());
        if matches!(strategy, Some("none") | Some("empty")) {
            self.line("Skipping Git repository setup (GIT_STRATEGY)");
            return Ok(());
        }
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        self.git(&s(&["-c", "init.defaultBranch=main", "init", "-q"]))?;
        self.line(&format!(
            "Created fresh repository in {}",
            self.project.display()
        ));
        self.git(&s(&["remote", "add", "origin", &info.repo_url]))?;
        if info.depth > 0 {
            self.line(&format!(
                "Fetching changes with git depth set to {}...",
                info.depth
            ));
        } else {
            self.line("Fetching changes...");
        }
        self.line(&format!("Fetching from {}", git::clean_url(&info.repo_url)));
        let specs = git::refspecs(info);
        let first = self.git(&git::fetch_args(info, &specs));
        if let Err(f) = first {
            let fallback =
                git::ref_refspec(info).filter(|r| info.refspecs.is_empty() && !specs.contains(r));
            match fallback {
                Some(r) if f.reason == "script_failure" => {
                    self.line(&warning("fetching the commit failed, fetching the ref"));
                    self.git(&git::fetch_args(info, &[r]))?;
                }
                _ => return Err(f),
            }
        }
        let target = if info.sha.is_empty() {
            "FETCH_HEAD".to_string()
        } else {
            info.sha.clone()
        };
        self.line(&format!(
            "Checking out {} as {}...",
            git::short_sha(&target),
            if info.r#ref.is_empty() {
                "detached HEAD"
            } else {
                &info.r#ref
            }
        ));
        self.git(&s(&[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "-f",
            "-q",
            &target,
        ]))
    }

    fn transfers(&self) -> Transfers<'_> {
        Transfers {
            client: self.ctx.client,
            job_id: self.job.id,
            token: &self.job.token,
            project: &self.project,
            tmp: &self.tmp,
            trace: &self.trace,
        }
    }

    fn download_dependencies(&self) -> Result<(), Failure> {
        for dep in &self.job.dependencies {
            if dep.artifacts_file.is_none() {
                continue;
            }
            if let Transfer::Failed(msg) = self.transfers().download(dep) {
                return Err(Failure::system(msg));
            }
        }
        Ok(())
    }

    fn write_script(&self, name: &str, commands: &[String]) -> Result<PathBuf, Failure> {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = self.tmp.join(format!("step_{safe}.sh"));
        std::fs::write(&path, script::generate(commands))
            .map_err(|e| Failure::system(format!("writing the script: {e}")))?;
        Ok(path)
    }

    fn run_steps(&self) -> Option<Failure> {
        let mut failure: Option<Failure> = None;
        for step in self.job.steps.iter().filter(|s| s.name != "after_script") {
            if self.control.stopped() || self.ctx.shutdown.grace_over() {
                break;
            }
            if failure.is_some() && step.when != "always" {
                continue;
            }
            if step.script.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let stage = if step.name.is_empty() || step.name == "script" {
                "step_script".to_string()
            } else {
                format!("step_{}", step.name)
            };
            self.line(&section(&format!(
                "Executing \"{stage}\" stage of the job script"
            )));
            let (limit, shown) = self.step_limit(step);
            let result = self
                .write_script(&step.name, &step.script)
                .and_then(|path| {
                    self.spawn(
                        script::command(&path, &self.project, &self.env),
                        limit,
                        false,
                    )
                });
            let outcome = match result {
                Ok(o) => self.judge(o, shown),
                Err(f) => Some(f),
            };
            if let Some(f) = outcome {
                if step.allow_failure && f.reason == "script_failure" && !self.control.stopped() {
                    self.line(&warning(&format!(
                        "step {} failed ({}), but it is allowed to fail",
                        step.name, f.message
                    )));
                } else {
                    failure.get_or_insert(f);
                }
            }
        }
        failure
    }

    /// The time a step may take and the number of seconds named when it runs out.
    fn step_limit(&self, step: &Step) -> (Duration, u64) {
        let left = self.remaining();
        if step.timeout > 0 && step.timeout < self.timeout {
            let own = Duration::from_secs(step.timeout);
            if own < left {
                return (own, step.timeout);
            }
        }
        (left, self.timeout)
    }

    fn after_script(&self) {
        let steps: Vec<&Step> = self
            .job
            .steps
            .iter()
            .filter(|s| s.name == "after_script" && s.script.iter().any(|c| !c.trim().is_empty()))
            .collect();
        for step in steps {
            if self.control.aborted()
                || self.ctx.shutdown.grace_over()
                || self.ctx.shutdown.forced()
            {
                return;
            }
            self.line(&section("Running after_script"));
            let cap = match step.timeout {
                0 => AFTER_SCRIPT_TIMEOUT,
                t => t.min(AFTER_SCRIPT_TIMEOUT),
            };
            let result = self
                .write_script("after_script", &step.script)
                .and_then(|path| {
                    self.spawn(
                        script::command(&path, &self.project, &self.env),
                        Duration::from_secs(cap),
                        true,
                    )
                });
            let problem = match result {
                Ok(o) => self.judge(o, cap),
                Err(f) => Some(f),
            };
            if let Some(f) = problem {
                let msg = if f.reason == "job_execution_timeout" {
                    format!("after_script timed out after {cap} seconds")
                } else {
                    format!(
                        "after_script failed, but job will continue unaffected: {}",
                        f.message
                    )
                };
                self.line(&warning(&msg));
            }
        }
    }

    fn upload_artifacts(&self, success: bool) -> Option<Failure> {
        for spec in &self.job.artifacts {
            if !artifacts::when_matches(&spec.when, success) {
                continue;
            }
            if let Transfer::Failed(msg) = self.transfers().upload(spec) {
                if msg == "artifacts too large" {
                    self.line(&format!("\x1b[31;1m{msg}\x1b[0;m"));
                }
                return Some(Failure::script(msg));
            }
        }
        None
    }
}
