//! Failed sign-ins, limited per client address and per account over a sliding window: past the
//! limit, sign-in answers 429 with `Retry-After` until the oldest failure leaves the window, even
//! for the right password. In memory, per instance; bounded in size.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most (older keys are dropped first when full).
const MAX_KEYS: usize = 100_000;

/// The limits and the failures seen.
pub struct SignInLimiter {
    window: Duration,
    per_ip: usize,
    per_account: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for SignInLimiter {
    /// 10 failures per account and 30 per address in 10 minutes.
    fn default() -> Self {
        SignInLimiter::new(Duration::from_secs(600), 30, 10)
    }
}

impl SignInLimiter {
    pub fn new(window: Duration, per_ip: usize, per_account: usize) -> Self {
        SignInLimiter {
            window,
            per_ip,
            per_account,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(ip: &str, account: &str) -> [(String, usize); 2] {
        [
            (format!("ip:{ip}"), 0),
            (format!("account:{}", account.trim().to_lowercase()), 1),
        ]
    }

    /// None when a sign-in may be tried now; otherwise how long to wait.
    pub fn retry_after(&self, ip: &str, account: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.lock();
        let mut wait: Option<Duration> = None;
        for (key, which) in Self::keys(ip, account) {
            let limit = if which == 0 {
                self.per_ip
            } else {
                self.per_account
            };
            if let Some(times) = failures.get_mut(&key) {
                Self::expire(times, now, self.window);
                if times.len() >= limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    let left = self.window.saturating_sub(now - oldest);
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        wait.map(|w| w.max(Duration::from_secs(1)))
    }

    /// Counts a failed sign-in against the address and the account.
    pub fn failed(&self, ip: &str, account: &str) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() >= MAX_KEYS {
            let window = self.window;
            failures.retain(|_, times| {
                Self::expire(times, now, window);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for (key, _) in Self::keys(ip, account) {
            let times = failures.entry(key).or_default();
            Self::expire(times, now, self.window);
            times.push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        let key = format!("account:{}", account.trim().to_lowercase());
        self.lock().remove(&key);
    }

    fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while times.front().is_some_and(|t| now - *t >= window) {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_after_its_failures_and_freed_by_the_window() {
        let limiter = SignInLimiter::new(Duration::from_millis(200), 100, 3);
        for _ in 0..3 {
            assert!(limiter.retry_after("1.2.3.4", "alice").is_none());
            limiter.failed("1.2.3.4", "Alice");
        }
        let wait = limiter.retry_after("5.6.7.8", "ALICE").expect("limited");
        assert!(wait >= Duration::from_secs(1));
        assert!(limiter.retry_after("1.2.3.4", "bob").is_none());
        std::thread::sleep(Duration::from_millis(250));
        assert!(limiter.retry_after("1.2.3.4", "alice").is_none());
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let limiter = SignInLimiter::new(Duration::from_secs(60), 2, 100);
        limiter.failed("9.9.9.9", "a");
        limiter.failed("9.9.9.9", "b");
        assert!(limiter.retry_after("9.9.9.9", "c").is_some());
        assert!(limiter.retry_after("8.8.8.8", "c").is_none());
        limiter.succeeded("c");
        assert!(limiter.retry_after("9.9.9.9", "c").is_some());
    }
}
