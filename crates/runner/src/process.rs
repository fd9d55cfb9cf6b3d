//! Running one child in its own process group: merged output, timeout, cancel, kill of the group.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// How long a group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How often the child, the clock and the interrupt source are checked.
const TICK: Duration = Duration::from_millis(50);

/// Why a running child has to stop before it ends on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// The job is being canceled: SIGTERM, then SIGKILL after the grace time.
    Cancel,
    /// The runner is stopping and the job's time is up: same as cancel.
    Stop,
    /// Kill at once (a second signal to the runner).
    Kill,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal that the runner did not send ended it.
    Signaled(i32),
    /// It ran past its time and was killed.
    TimedOut,
    /// It was killed for this reason.
    Interrupted(Interrupt),
}

/// Run `cmd` in a new process group with stdin closed, stdout and stderr merged and handed to
/// `output` chunk by chunk, until it exits, `timeout` passes or `interrupt` says stop.
pub fn run(
    mut cmd: Command,
    timeout: Duration,
    interrupt: &dyn Fn() -> Option<Interrupt>,
    output: &mut dyn FnMut(&[u8]),
) -> Result<Outcome> {
    let (reader, writer) = std::io::pipe().map_err(|e| Error::io("creating a pipe", e))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Error::io("duplicating a pipe", e))?;
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("starting a process", e))?;
    // The parent's copies of the write end went away with `cmd`.
    drop(cmd);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || pump(reader, tx));

    let pgid = Pid::from_raw(child.id() as i32);
    let now = Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or(now + Duration::from_secs(365 * 24 * 3600));
    let mut reason: Option<Outcome> = None;
    let status = loop {
        match rx.recv_timeout(TICK) {
            Ok(chunk) => output(&chunk),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::io("waiting for a process", e))?
        {
            break status;
        }
        if reason.is_none() {
            if let Some(why) = interrupt() {
                reason = Some(Outcome::Interrupted(why));
            } else if Instant::now() >= deadline {
                reason = Some(Outcome::TimedOut);
            }
            if let Some(r) = reason {
                let hard = r == Outcome::Interrupted(Interrupt::Kill);
                break kill_group(&mut child, pgid, hard, interrupt)?;
            }
        }
        // Drain quickly when there is a lot of output.
        while let Ok(chunk) = rx.try_recv() {
            output(&chunk);
        }
    };
    // Whatever the script left behind in its group goes too.
    let _ = killpg(pgid, Signal::SIGKILL);
    // Collect the rest of the output; give up after a moment if some process outside the
    // group still holds the pipe.
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(chunk) => output(&chunk),
            Err(_) => break,
        }
    }
    if let Some(r) = reason {
        return Ok(r);
    }
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Signaled(sig),
        (None, None) => Outcome::Exited(-1),
    })
}

/// SIGTERM the group, SIGKILL it after [`KILL_GRACE`] (or at once if `hard`), reap the leader.
fn kill_group(
    child: &mut Child,
    pgid: Pid,
    hard: bool,
    interrupt: &dyn Fn() -> Option<Interrupt>,
) -> Result<std::process::ExitStatus> {
    if !hard {
        let _ = killpg(pgid, Signal::SIGTERM);
        let until = Instant::now() + KILL_GRACE;
        while Instant::now() < until && interrupt() != Some(Interrupt::Kill) {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| Error::io("waiting for a process", e))?
            {
                return Ok(status);
            }
            std::thread::sleep(TICK);
        }
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    child
        .wait()
        .map_err(|e| Error::io("waiting for a process", e))
}

/// Copy the pipe into the channel until EOF.
fn pump(mut reader: std::io::PipeReader, tx: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c").arg(script);
        c
    }

    fn collect(cmd: Command, timeout: Duration) -> (Outcome, String) {
        let mut out = Vec::new();
        let outcome = run(cmd, timeout, &|| None, &mut |c: &[u8]| {
            out.extend_from_slice(c)
        })
        .unwrap();
        (outcome, String::from_utf8_lossy(&out).into_owned())
    }

    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => {
                let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z') && !state.starts_with('X')
            }
            Err(_) => false,
        }
    }

    #[test]
    fn merges_stdout_and_stderr_and_reports_exit_code() {
        let (outcome, out) = collect(
            sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
        );
        assert_eq!(outcome, Outcome::Exited(3));
        assert!(out.contains("out\n") && out.contains("err\n"), "{out}");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; sleep 30", pidfile.display());
        let start = Instant::now();
        let (outcome, _) = collect(sh(&script), Duration::from_secs(1));
        let took = start.elapsed();
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(took < Duration::from_secs(4), "took {took:?}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone_by = Instant::now() + Duration::from_secs(2);
        while alive(pid) && Instant::now() < gone_by {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "background child {pid} survived");
    }

    #[test]
    fn sigterm_ignoring_scripts_get_sigkill_and_interrupts_are_reported() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let outcome = run(
            sh("trap '' TERM; sleep 30"),
            Duration::from_secs(60),
            &|| {
                calls.set(calls.get() + 1);
                (calls.get() > 2).then_some(Interrupt::Kill)
            },
            &mut |_: &[u8]| {},
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Interrupted(Interrupt::Kill));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn cancel_terminates_within_a_second() {
        let start = Instant::now();
        let outcome = run(
            sh("sleep 30"),
            Duration::from_secs(60),
            &|| (start.elapsed() > Duration::from_millis(200)).then_some(Interrupt::Cancel),
            &mut |_: &[u8]| {},
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Interrupted(Interrupt::Cancel));
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
