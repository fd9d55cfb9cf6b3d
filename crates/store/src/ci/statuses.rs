//! Commit statuses that external systems set (`POST /projects/:id/statuses/:sha`), with GitLab's
//! state machine: a status is created `created` and moved by events (`enqueue`, `run`,
//! `success`, `drop`, `cancel`, `skip`); an event that does not apply to the current state is
//! refused with GitLab's message. A POST for the same sha, ref, name and user moves the pending
//! or running status it finds; once that status is finished, the next POST starts a new one.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::ci_commit_statuses;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ci_commit_statuses)]
pub struct StatusRow {
    pub id: i64,
    pub project_id: i64,
    pub sha: String,
    pub ref_name: Option<String>,
    pub name: String,
    pub status: String,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub coverage: Option<f64>,
    pub pipeline_id: Option<i64>,
    pub user_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
}

/// The states a POST may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedState {
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
}

impl RequestedState {
    pub const ALL: [RequestedState; 6] = [
        RequestedState::Pending,
        RequestedState::Running,
        RequestedState::Success,
        RequestedState::Failed,
        RequestedState::Canceled,
        RequestedState::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestedState::Pending => "pending",
            RequestedState::Running => "running",
            RequestedState::Success => "success",
            RequestedState::Failed => "failed",
            RequestedState::Canceled => "canceled",
            RequestedState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<RequestedState> {
        RequestedState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The events of GitLab's commit status state machine: from which states each leads where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Enqueue,
    Run,
    Success,
    Drop,
    Cancel,
    Skip,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Enqueue => "enqueue",
            Event::Run => "run",
            Event::Success => "success",
            Event::Drop => "drop",
            Event::Cancel => "cancel",
            Event::Skip => "skip",
        }
    }

    /// The state after this event from `from`, or None when the event does not apply.
    fn apply(self, from: &str) -> Option<&'static str> {
        let from_any = |states: &[&str]| states.contains(&from);
        match self {
            Event::Enqueue => {
                from_any(&["created", "skipped", "manual", "scheduled"]).then_some("pending")
            }
            Event::Run => (from == "pending").then_some("running"),
            Event::Success => from_any(&["created", "pending", "running"]).then_some("success"),
            Event::Drop => from_any(&["created", "pending", "running", "manual", "scheduled"])
                .then_some("failed"),
            Event::Cancel => from_any(&["created", "pending", "running", "manual", "scheduled"])
                .then_some("canceled"),
            Event::Skip => from_any(&["created", "pending"]).then_some("skipped"),
        }
    }
}

/// Moves a status from `from` as a POST of `state` does (`running` enqueues first when it can),
/// or GitLab's refusal message.
pub fn transition(from: &str, state: RequestedState) -> Result<&'static str, String> {
    let fire = |event: Event, from: &str| {
        event.apply(from).ok_or_else(|| {
            format!(
                "Cannot transition status via :{} from :{from} (Reason(s): Status cannot transition via \"{}\")",
                event.name(),
                event.name()
            )
        })
    };
    match state {
        RequestedState::Pending => fire(Event::Enqueue, from),
        RequestedState::Running => {
            // `enqueue` without a bang: a status that cannot be enqueued stays as it is.
            let queued = Event::Enqueue.apply(from).unwrap_or(from);
            fire(Event::Run, queued)
        }
        RequestedState::Success => fire(Event::Success, from),
        RequestedState::Failed => fire(Event::Drop, from),
        RequestedState::Canceled => fire(Event::Cancel, from),
        RequestedState::Skipped => fire(Event::Skip, from),
    }
}

fn is_finished(status: &str) -> bool {
    matches!(status, "success" | "failed" | "canceled" | "skipped")
}

/// A POST of a status.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    pub project_id: i64,
    pub sha: String,
    pub ref_name: String,
    pub name: String,
    pub state: RequestedState,
    pub user_id: i64,
    /// Kept when None (on an existing status).
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub coverage: Option<f64>,
    pub pipeline_id: Option<i64>,
}

/// What a POST did: the status it created or moved, or why it could not.
#[derive(Debug, Clone)]
pub enum Posted {
    Saved(Box<StatusRow>),
    Refused(String),
}

/// Applies a POST: finds the pending or running status of this sha, ref, name and user (or
/// starts a new one) and moves it to the requested state, in one transaction.
pub fn post(conn: &mut DbConnection, update: &StatusUpdate) -> Result<Posted, StoreError> {
    write_transaction(conn, |conn| {
        let open: Option<StatusRow> = ci_commit_statuses::table
            .filter(ci_commit_statuses::project_id.eq(update.project_id))
            .filter(ci_commit_statuses::sha.eq(&update.sha))
            .filter(ci_commit_statuses::ref_name.eq(&update.ref_name))
            .filter(ci_commit_statuses::name.eq(&update.name))
            .filter(ci_commit_statuses::user_id.eq(update.user_id))
            .filter(ci_commit_statuses::status.eq_any(["pending", "running"]))
            .order(ci_commit_statuses::id.desc())
            .select(StatusRow::as_select())
            .first(conn)
            .optional()?;
        let from = open.as_ref().map_or("created", |s| s.status.as_str());
        let next = match transition(from, update.state) {
            Ok(next) => next,
            Err(message) => return Ok(Posted::Refused(message)),
        };
        let now = crate::now();
        let started_at = match &open {
            Some(s) if s.started_at.is_some() => s.started_at,
            _ if next == "running" => Some(now),
            _ => None,
        };
        let finished_at = is_finished(next).then_some(now);
        let id = match open {
            Some(s) => {
                diesel::update(ci_commit_statuses::table.find(s.id))
                    .set((
                        ci_commit_statuses::status.eq(next),
                        ci_commit_statuses::target_url
                            .eq(update.target_url.clone().or(s.target_url)),
                        ci_commit_statuses::description
                            .eq(update.description.clone().or(s.description)),
                        ci_commit_statuses::coverage.eq(update.coverage.or(s.coverage)),
                        ci_commit_statuses::pipeline_id.eq(update.pipeline_id.or(s.pipeline_id)),
                        ci_commit_statuses::started_at.eq(started_at),
                        ci_commit_statuses::finished_at.eq(finished_at),
                    ))
                    .execute(conn)?;
                s.id
            }
            None => diesel::insert_into(ci_commit_statuses::table)
                .values((
                    ci_commit_statuses::project_id.eq(update.project_id),
                    ci_commit_statuses::sha.eq(&update.sha),
                    ci_commit_statuses::ref_name.eq(Some(&update.ref_name)),
                    ci_commit_statuses::name.eq(&update.name),
                    ci_commit_statuses::status.eq(next),
                    ci_commit_statuses::target_url.eq(&update.target_url),
                    ci_commit_statuses::description.eq(&update.description),
                    ci_commit_statuses::coverage.eq(update.coverage),
                    ci_commit_statuses::pipeline_id.eq(update.pipeline_id),
                    ci_commit_statuses::user_id.eq(Some(update.user_id)),
                    ci_commit_statuses::created_at.eq(now),
                    ci_commit_statuses::started_at.eq(started_at),
                    ci_commit_statuses::finished_at.eq(finished_at),
                ))
                .returning(ci_commit_statuses::id)
                .get_result(conn)?,
        };
        let row = ci_commit_statuses::table
            .find(id)
            .select(StatusRow::as_select())
            .first(conn)?;
        Ok(Posted::Saved(Box::new(row)))
    })
}

/// Filters of `GET …/commits/:sha/statuses`.
#[derive(Debug, Clone, Default)]
pub struct StatusFilter {
    pub ref_name: Option<String>,
    pub name: Option<String>,
    pub pipeline_id: Option<i64>,
    /// Every status, not only the newest of each name and ref.
    pub all: bool,
    /// By pipeline, then id (GitLab's `order_by=pipeline_id`); by id otherwise.
    pub by_pipeline: bool,
    /// GitLab's default order is ascending.
    pub descending: bool,
}

/// The statuses of a commit, by id. Without `all`, only the newest status of each name and
/// ref (older ones were superseded, like retried jobs).
pub fn list(
    conn: &mut DbConnection,
    project_id: i64,
    sha: &str,
    filter: &StatusFilter,
) -> Result<Vec<StatusRow>, StoreError> {
    let mut q = ci_commit_statuses::table
        .filter(ci_commit_statuses::project_id.eq(project_id))
        .filter(ci_commit_statuses::sha.eq(sha.to_string()))
        .select(StatusRow::as_select())
        .order(ci_commit_statuses::id.asc())
        .into_boxed();
    if let Some(r) = &filter.ref_name {
        q = q.filter(ci_commit_statuses::ref_name.eq(r.clone()));
    }
    if let Some(n) = &filter.name {
        q = q.filter(ci_commit_statuses::name.eq(n.clone()));
    }
    if let Some(p) = filter.pipeline_id {
        q = q.filter(ci_commit_statuses::pipeline_id.eq(p));
    }
    let mut rows: Vec<StatusRow> = q.load(conn)?;
    if !filter.all {
        let mut newest: std::collections::HashMap<(Option<String>, String), i64> =
            std::collections::HashMap::new();
        for r in &rows {
            let slot = newest
                .entry((r.ref_name.clone(), r.name.clone()))
                .or_insert(r.id);
            *slot = (*slot).max(r.id);
        }
        rows.retain(|r| newest.get(&(r.ref_name.clone(), r.name.clone())) == Some(&r.id));
    }
    if filter.by_pipeline {
        rows.sort_by_key(|r| (r.pipeline_id, r.id));
    }
    if filter.descending {
        rows.reverse();
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_gitlab() {
        use RequestedState::*;
        assert_eq!(transition("created", Pending), Ok("pending"));
        assert_eq!(transition("created", Running), Ok("running"));
        assert_eq!(transition("pending", Running), Ok("running"));
        assert_eq!(transition("running", Success), Ok("success"));
        assert_eq!(transition("created", Failed), Ok("failed"));
        assert_eq!(transition("pending", Skipped), Ok("skipped"));
        assert_eq!(
            transition("pending", Pending),
            Err("Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")".into())
        );
        assert!(
            transition("running", Running)
                .unwrap_err()
                .starts_with("Cannot transition status via :run from :running")
        );
        assert!(
            transition("success", Running)
                .unwrap_err()
                .starts_with("Cannot transition status via :run from :success")
        );
        assert!(transition("running", Skipped).is_err());
    }
}
