//! The usage recorder: every request a personal access token is allowed to make counts its
//! declared permissions on its target (token × permission × target × day), and every denied one
//! becomes an audit event. Recording is an in-memory aggregate behind one mutex; a background
//! thread writes it to the store once a second in one transaction, so the request path never
//! waits on the database for it. Memory is bounded: past the caps, entries are dropped and counted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use tinforge_authz::{
    DenyReason, Permission, Principal, Requirement, Target, TargetKind, TokenKind,
};
use tinforge_store::token_events::{self, NewEvent};
use tinforge_store::token_usage::{self, NO_TARGET, UsageKey};
use tinforge_store::{Store, StoreError};

/// Aggregated entries kept before new ones are dropped (a database outage must not grow memory).
const MAX_PENDING_USAGE: usize = 50_000;
const MAX_PENDING_EVENTS: usize = 10_000;
/// Past this many entries the writer is woken early.
const EAGER_FLUSH_AT: usize = 4_096;
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long token events are kept, in days.
pub const EVENT_RETENTION_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    token_id: i64,
    permission: Permission,
    project_id: i64,
    group_id: i64,
    day: NaiveDate,
}

#[derive(Default)]
struct Pending {
    usage: HashMap<Key, (i64, NaiveDateTime)>,
    events: Vec<NewEvent>,
    /// Denials already queued in this window (token, endpoint, reason): one event each.
    denials: HashSet<(i64, String, &'static str)>,
    dropped: u64,
}

/// The process's recorder, writing to one store.
pub struct UsageRecorder {
    store: Store,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Serializes writers (the background thread and explicit flushes).
    writing: Mutex<()>,
}

static RECORDER: OnceLock<Arc<UsageRecorder>> = OnceLock::new();

/// Installs the process-wide recorder for `store` and starts its writer thread. A second call
/// keeps the first recorder (one server per process).
pub fn install(store: Store) -> Arc<UsageRecorder> {
    RECORDER
        .get_or_init(|| {
            let recorder = Arc::new(UsageRecorder {
                store,
                pending: Mutex::new(Pending::default()),
                wake: Condvar::new(),
                writing: Mutex::new(()),
            });
            let background = recorder.clone();
            std::thread::Builder::new()
                .name("token-usage".into())
                .spawn(move || background.run())
                .expect("spawn the token usage writer");
            recorder
        })
        .clone()
}

/// Writes everything recorded so far (readers of the usage record call this first, so what they
/// read includes their own instance's latest requests). Without a recorder it does nothing.
pub fn flush() -> Result<(), StoreError> {
    match RECORDER.get() {
        Some(r) => r.flush(),
        None => Ok(()),
    }
}

/// Counts an allowed request of a personal access token (other principals are not recorded).
pub fn record_use(principal: &Principal, requirement: &Requirement, target: Option<&Target>) {
    let (Some(recorder), Some(token_id)) = (RECORDER.get(), personal_token(principal)) else {
        return;
    };
    let (project_id, group_id) = match target {
        Some(t) if t.kind == TargetKind::Project => (t.id, NO_TARGET),
        Some(t) => (NO_TARGET, t.id),
        None => (NO_TARGET, NO_TARGET),
    };
    let now = tinforge_store::now();
    let mut pending = lock(&recorder.pending);
    let pending = &mut *pending;
    for permission in requirement.permissions {
        let key = Key {
            token_id,
            permission: *permission,
            project_id,
            group_id,
            day: now.date(),
        };
        let room = pending.usage.len() < MAX_PENDING_USAGE;
        match pending.usage.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                let counted = entry.get_mut();
                counted.0 += 1;
                counted.1 = now;
            }
            std::collections::hash_map::Entry::Vacant(entry) if room => {
                entry.insert((1, now));
            }
            std::collections::hash_map::Entry::Vacant(_) => pending.dropped += 1,
        }
    }
    if pending.usage.len() >= EAGER_FLUSH_AT {
        recorder.wake.notify_one();
    }
}

/// Queues an audit event for a denied request of a personal access token: once per token,
/// endpoint and reason in each writing window.
pub fn record_denial(principal: &Principal, endpoint: &str, reason: &DenyReason) {
    let (Some(recorder), Some(token_id)) = (RECORDER.get(), personal_token(principal)) else {
        return;
    };
    let mut pending = lock(&recorder.pending);
    if pending.events.len() >= MAX_PENDING_EVENTS {
        pending.dropped += 1;
        return;
    }
    if !pending
        .denials
        .insert((token_id, endpoint.to_string(), reason.code()))
    {
        return;
    }
    let detail = match reason {
        DenyReason::InsufficientScope { missing } => {
            format!(
                "{endpoint}: {} (missing {})",
                reason.code(),
                missing.join(", ")
            )
        }
        _ => format!("{endpoint}: {}", reason.code()),
    };
    pending.events.push(NewEvent {
        token_id,
        actor_id: Some(principal.user_id),
        event: token_events::kind::DENIED,
        detail,
        at: tinforge_store::now(),
    });
}

fn personal_token(p: &Principal) -> Option<i64> {
    match p.kind {
        TokenKind::Legacy | TokenKind::FineGrained => p.token_id,
        TokenKind::Job | TokenKind::Session => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl UsageRecorder {
    fn run(&self) {
        let mut last_purge: Option<NaiveDate> = None;
        loop {
            {
                let pending = lock(&self.pending);
                let _ = self
                    .wake
                    .wait_timeout_while(pending, FLUSH_EVERY, |p| p.usage.len() < EAGER_FLUSH_AT);
            }
            if let Err(e) = self.flush() {
                tracing::warn!(error = %e, "token usage not written");
            }
            let today = tinforge_store::now().date();
            if last_purge != Some(today) {
                last_purge = Some(today);
                if let Err(e) = self.purge(today) {
                    tracing::warn!(error = %e, "old token usage not purged");
                }
            }
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        let _writer = lock(&self.writing);
        let taken = std::mem::take(&mut *lock(&self.pending));
        if taken.dropped > 0 {
            tracing::warn!(dropped = taken.dropped, "token usage entries dropped");
        }
        if taken.usage.is_empty() && taken.events.is_empty() {
            return Ok(());
        }
        let mut batch: Vec<(UsageKey, i64, NaiveDateTime)> = taken
            .usage
            .into_iter()
            .map(|(k, (n, at))| {
                (
                    UsageKey {
                        token_id: k.token_id,
                        permission: k.permission.to_string(),
                        project_id: k.project_id,
                        group_id: k.group_id,
                        day: k.day,
                    },
                    n,
                    at,
                )
            })
            .collect();
        // A stable order keeps concurrent writers (several instances) from deadlocking.
        batch.sort_by(|a, b| a.0.cmp(&b.0));
        let mut conn = self.store.conn()?;
        token_usage::add(&mut conn, &batch)?;
        token_events::record(&mut conn, &taken.events)?;
        Ok(())
    }

    fn purge(&self, today: NaiveDate) -> Result<(), StoreError> {
        let mut conn = self.store.conn()?;
        token_usage::purge_older_than(
            &mut conn,
            today - chrono::Duration::days(token_usage::RETENTION_DAYS),
        )?;
        tinforge_store::sessions::purge_ended(&mut conn, tinforge_store::now())?;
        // The audit log is kept a year.
        token_events::purge_older_than(
            &mut conn,
            tinforge_store::now() - chrono::Duration::days(EVENT_RETENTION_DAYS),
        )?;
        Ok(())
    }
}
