//! Stop requests: the runner's shutdown (signals) and one job's cancellation (from the server).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::process::Interrupt;

/// How long a running job may go on after the runner was asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The runner-wide stop state.
#[derive(Debug, Default)]
pub struct Shutdown {
    since: Mutex<Option<Instant>>,
    wake: Condvar,
    stopping: AtomicBool,
    forced: AtomicBool,
    jobs: AtomicUsize,
}

impl Shutdown {
    /// Stop polling; jobs get [`STOP_GRACE`].
    pub fn stop(&self) {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        since.get_or_insert_with(Instant::now);
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// Kill everything now.
    pub fn force(&self) {
        self.forced.store(true, Ordering::SeqCst);
        self.stop();
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn forced(&self) -> bool {
        self.forced.load(Ordering::SeqCst)
    }

    /// Whether the jobs' grace after a stop is over.
    pub fn grace_over(&self) -> bool {
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        since.is_some_and(|t| t.elapsed() >= STOP_GRACE)
    }

    /// Sleep up to `d`, waking early on a stop; returns whether the runner is stopping.
    pub fn sleep(&self, d: Duration) -> bool {
        let now = Instant::now();
        let until = now
            .checked_add(d)
            .unwrap_or(now + Duration::from_secs(86_400));
        let mut guard = self.since.lock().unwrap_or_else(|e| e.into_inner());
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = match self.wake.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        self.stopping()
    }

    /// Count a job as running until the guard drops.
    pub fn job_started(&self) -> JobGuard<'_> {
        self.jobs.fetch_add(1, Ordering::SeqCst);
        JobGuard(self)
    }

    /// How many jobs are running.
    pub fn jobs(&self) -> usize {
        self.jobs.load(Ordering::SeqCst)
    }
}

/// Marks one job as running; see [`Shutdown::job_started`].
pub struct JobGuard<'a>(&'a Shutdown);

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        self.0.jobs.fetch_sub(1, Ordering::SeqCst);
    }
}

const RUNNING: u8 = 0;
const CANCELING: u8 = 1;
const ABORTED: u8 = 2;

/// What the server said about one job.
#[derive(Debug, Default)]
pub struct JobControl {
    state: AtomicU8,
}

impl JobControl {
    /// `Job-Status: canceling`: stop the script, still run after_script.
    pub fn cancel(&self) {
        let _ = self
            .state
            .compare_exchange(RUNNING, CANCELING, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// `canceled`, 403 or 404: stop everything.
    pub fn abort(&self) {
        self.state.store(ABORTED, Ordering::SeqCst);
    }

    pub fn canceling(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CANCELING
    }

    pub fn aborted(&self) -> bool {
        self.state.load(Ordering::SeqCst) == ABORTED
    }

    /// Canceled in either way.
    pub fn stopped(&self) -> bool {
        self.state.load(Ordering::SeqCst) != RUNNING
    }

    /// Apply a `Job-Status` value of a PUT or PATCH answer.
    pub fn apply_status(&self, status: Option<&str>) {
        match status {
            Some("canceling") => self.cancel(),
            Some("canceled") | Some("failed") | Some("success") => self.abort(),
            _ => {}
        }
    }
}

/// Why a job's script has to stop now, if it has to.
pub fn interrupt(
    shutdown: &Shutdown,
    control: &JobControl,
    in_after_script: bool,
) -> Option<Interrupt> {
    if shutdown.forced() || control.aborted() {
        Some(Interrupt::Kill)
    } else if control.canceling() && !in_after_script {
        Some(Interrupt::Cancel)
    } else if shutdown.grace_over() {
        Some(Interrupt::Stop)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_then_abort() {
        let c = JobControl::default();
        let s = Shutdown::default();
        assert_eq!(interrupt(&s, &c, false), None);
        c.apply_status(Some("running"));
        assert!(!c.stopped());
        c.apply_status(Some("canceling"));
        assert_eq!(interrupt(&s, &c, false), Some(Interrupt::Cancel));
        assert_eq!(interrupt(&s, &c, true), None);
        c.apply_status(Some("canceled"));
        assert_eq!(interrupt(&s, &c, true), Some(Interrupt::Kill));
        c.cancel();
        assert!(c.aborted());
    }

    #[test]
    fn shutdown_wakes_sleepers() {
        let s = std::sync::Arc::new(Shutdown::default());
        let s2 = s.clone();
        let start = Instant::now();
        let t = std::thread::spawn(move || s2.sleep(Duration::from_secs(20)));
        std::thread::sleep(Duration::from_millis(50));
        s.stop();
        assert!(t.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!s.grace_over());
        {
            let _g = s.job_started();
            assert_eq!(s.jobs(), 1);
        }
        assert_eq!(s.jobs(), 0);
    }
}
