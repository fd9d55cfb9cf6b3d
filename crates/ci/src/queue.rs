//! The job queue's change marker: runners long-poll `jobs/request`, and whatever makes a job
//! pending (a new pipeline, a finished job releasing the next stage, a retry, a play) bumps the
//! generation, which wakes every waiting poll on this instance. Runners polling another instance
//! find the job on their next poll; the database is the truth, this is only a doorbell.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct JobQueue {
    generation: AtomicU64,
    notify: Notify,
}

impl JobQueue {
    pub fn new() -> JobQueue {
        JobQueue::default()
    }

    /// The current generation, sent to runners as `X-GitLab-Last-Update`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Something became pending: wake the waiting polls.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Waits until the generation differs from `seen` or `timeout` passes; returns the
    /// generation then.
    pub async fn wait_for_change(&self, seen: u64, timeout: Duration) -> u64 {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.generation() != seen {
            return self.generation();
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        self.generation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "current_thread")]
    async fn a_bump_wakes_a_waiting_poll_and_a_quiet_queue_times_out() {
        let q = Arc::new(JobQueue::new());
        let seen = q.generation();
        let started = std::time::Instant::now();
        assert_eq!(
            q.wait_for_change(seen, Duration::from_millis(50)).await,
            seen
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.wait_for_change(seen, Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.bump();
        assert_eq!(waiter.await.unwrap(), seen + 1);
    }
}
