//! The job state machine: which `created` jobs may be released (pending, manual or skipped) given their
//! prerequisites, and the pipeline's composite status, both following GitLab's rules.

use crate::status::{JobStatus, PipelineStatus, When};
use std::collections::HashMap;

/// What the state machine needs to know about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobNode {
    pub name: String,
    pub stage_idx: i32,
    /// `None`: wait for every job of earlier stages; `Some(list)`: wait for these jobs only.
    pub needs: Option<Vec<String>>,
    pub when: When,
    pub allow_failure: bool,
    pub status: JobStatus,
}

/// A job's status as composite status sees it: allowed failures and non-blocking manual jobs are set apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Plain(JobStatus),
    /// Failed or canceled, with allow_failure.
    SuccessWithWarnings,
    /// Manual with allow_failure: does not block.
    Ignored,
}

fn seen(job: &JobNode) -> Seen {
    match job.status {
        JobStatus::Failed | JobStatus::Canceled if job.allow_failure => Seen::SuccessWithWarnings,
        JobStatus::Manual if job.allow_failure => Seen::Ignored,
        status => Seen::Plain(status),
    }
}

/// GitLab's composite status of a group of jobs. `dag` is true for a `needs:` group, which is skipped
/// when a need did not run and is not complete until every need is.
fn composite<'a>(jobs: impl Iterator<Item = &'a JobNode>, dag: bool) -> Option<PipelineStatus> {
    use JobStatus as J;
    let statuses: Vec<Seen> = jobs.map(seen).collect();
    if statuses.is_empty() {
        return None;
    }
    let only_of = |allowed: &[J], warnings_and_ignored: bool| {
        statuses.iter().all(|s| match s {
            Seen::Plain(status) => allowed.contains(status),
            Seen::SuccessWithWarnings | Seen::Ignored => warnings_and_ignored,
        })
    };
    let any_of = |wanted: &[J]| {
        statuses
            .iter()
            .any(|s| matches!(s, Seen::Plain(status) if wanted.contains(status)))
    };
    let status = if dag && (any_of(&[J::Skipped]) || statuses.contains(&Seen::Ignored)) {
        PipelineStatus::Skipped
    } else if dag
        && !statuses.iter().all(|s| match s {
            Seen::Plain(status) => status.is_finished(),
            Seen::SuccessWithWarnings => true,
            Seen::Ignored => false,
        })
    {
        PipelineStatus::Pending
    } else if only_of(&[J::Skipped], true) && !statuses.contains(&Seen::SuccessWithWarnings) {
        PipelineStatus::Skipped
    } else if only_of(&[J::Success, J::Skipped], true) {
        PipelineStatus::Success
    } else if only_of(&[J::Created], true) {
        PipelineStatus::Created
    } else if only_of(&[J::Canceled, J::Success, J::Skipped], true) {
        PipelineStatus::Canceled
    } else if any_of(&[J::Canceling]) {
        PipelineStatus::Canceling
    } else if only_of(&[J::Pending, J::Created, J::Skipped], true) {
        PipelineStatus::Pending
    } else if any_of(&[J::Running, J::Pending]) {
        PipelineStatus::Running
    } else if any_of(&[J::Manual]) {
        PipelineStatus::Manual
    } else if any_of(&[J::Created]) {
        PipelineStatus::Running
    } else {
        PipelineStatus::Failed
    };
    Some(status)
}

/// The status transitions due now: every `created` job whose prerequisites are complete becomes
/// pending, manual or skipped. Apply them and call again (or use `settle`) until nothing is returned.
pub fn advance(jobs: &[JobNode]) -> Vec<(usize, JobStatus)> {
    let by_name: HashMap<&str, &JobNode> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    let mut transitions = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        if job.status != JobStatus::Created {
            continue;
        }
        let (prerequisites, dag): (Vec<&JobNode>, bool) = match &job.needs {
            Some(needs) => (
                needs
                    .iter()
                    .filter_map(|name| by_name.get(name.as_str()).copied())
                    .collect(),
                true,
            ),
            None => (
                jobs.iter()
                    .filter(|j| j.stage_idx < job.stage_idx)
                    .collect(),
                false,
            ),
        };
        let before = composite(prerequisites.into_iter(), dag).unwrap_or(PipelineStatus::Success);
        if !before.is_finished() {
            continue;
        }
        let runs = match job.when {
            When::OnSuccess | When::Manual => {
                before == PipelineStatus::Success || (!dag && before == PipelineStatus::Skipped)
            }
            When::OnFailure => before == PipelineStatus::Failed,
            When::Always => matches!(
                before,
                PipelineStatus::Success | PipelineStatus::Failed | PipelineStatus::Skipped
            ),
            When::Never => false,
        };
        let next = match (runs, job.when) {
            (true, When::Manual) => JobStatus::Manual,
            (true, _) => JobStatus::Pending,
            (false, _) => JobStatus::Skipped,
        };
        transitions.push((index, next));
    }
    transitions
}

/// Applies `advance` until nothing changes and returns every transition made, in order.
pub fn settle(jobs: &mut [JobNode]) -> Vec<(usize, JobStatus)> {
    let mut all = Vec::new();
    // Each round releases at least one created job, so this many rounds always suffice.
    for _ in 0..=jobs.len() {
        let round = advance(jobs);
        if round.is_empty() {
            break;
        }
        for (index, status) in &round {
            if let Some(job) = jobs.get_mut(*index) {
                job.status = *status;
            }
        }
        all.extend(round);
    }
    all
}

/// The pipeline's status from its jobs' (GitLab's composite status; no jobs counts as created).
pub fn pipeline_status(jobs: &[JobNode]) -> PipelineStatus {
    composite(jobs.iter(), false).unwrap_or(PipelineStatus::Created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    fn job(name: &str, stage_idx: i32) -> JobNode {
        JobNode {
            name: name.to_string(),
            stage_idx,
            needs: None,
            when: When::OnSuccess,
            allow_failure: false,
            status: Created,
        }
    }

    fn with(mut node: JobNode, f: impl FnOnce(&mut JobNode)) -> JobNode {
        f(&mut node);
        node
    }

    fn statuses(jobs: &[JobNode]) -> Vec<JobStatus> {
        jobs.iter().map(|j| j.status).collect()
    }

    /// Runs every pending job to `outcome(name)` and settles, until nothing is pending.
    fn run(jobs: &mut [JobNode], outcome: impl Fn(&str) -> JobStatus) {
        loop {
            settle(jobs);
            let mut ran = false;
            for job in jobs.iter_mut() {
                if job.status == Pending {
                    job.status = outcome(&job.name);
                    ran = true;
                }
            }
            if !ran {
                break;
            }
        }
    }

    #[test]
    fn first_stage_only_is_released() {
        let jobs = vec![job("a", 0), job("b", 0), job("c", 1)];
        assert_eq!(advance(&jobs), vec![(0, Pending), (1, Pending)]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Created);
    }

    #[test]
    fn failure_skips_later_stages_and_fails_the_pipeline() {
        let mut jobs = vec![job("build", 0), job("test", 1), job("deploy", 2)];
        run(
            &mut jobs,
            |name| if name == "build" { Failed } else { Success },
        );
        assert_eq!(statuses(&jobs), vec![Failed, Skipped, Skipped]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Failed);
    }

    #[test]
    fn allowed_failure_counts_as_success() {
        let mut jobs = vec![
            with(job("lint", 0), |j| j.allow_failure = true),
            job("test", 1),
        ];
        run(
            &mut jobs,
            |name| if name == "lint" { Failed } else { Success },
        );
        assert_eq!(statuses(&jobs), vec![Failed, Success]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Success);
    }

    #[test]
    fn on_failure_and_always() {
        let mut jobs = vec![
            job("build", 0),
            with(job("notify", 1), |j| j.when = When::OnFailure),
            with(job("cleanup", 1), |j| j.when = When::Always),
            job("deploy", 1),
        ];
        run(
            &mut jobs,
            |name| if name == "build" { Failed } else { Success },
        );
        assert_eq!(statuses(&jobs), vec![Failed, Success, Success, Skipped]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Failed);

        let mut jobs = vec![
            job("build", 0),
            with(job("notify", 1), |j| j.when = When::OnFailure),
            with(job("cleanup", 1), |j| j.when = When::Always),
        ];
        run(&mut jobs, |_| Success);
        assert_eq!(statuses(&jobs), vec![Success, Skipped, Success]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Success);
    }

    #[test]
    fn needs_start_early_and_empty_needs_start_at_once() {
        let jobs = vec![
            job("slow", 0),
            job("fast", 0),
            with(job("after_fast", 1), |j| {
                j.needs = Some(vec!["fast".into()])
            }),
            with(job("lint", 2), |j| j.needs = Some(vec![])),
            job("final", 2),
        ];
        let mut jobs = jobs;
        jobs[1].status = Success;
        let released = advance(&jobs);
        assert_eq!(released, vec![(0, Pending), (2, Pending), (3, Pending)]);
    }

    #[test]
    fn dag_skips_when_a_need_is_skipped() {
        let mut jobs = vec![
            job("a", 0),
            with(job("b", 1), |j| j.needs = Some(vec!["a".into()])),
            with(job("c", 2), |j| j.needs = Some(vec!["b".into()])),
        ];
        run(&mut jobs, |name| if name == "a" { Failed } else { Success });
        assert_eq!(statuses(&jobs), vec![Failed, Skipped, Skipped]);
    }

    #[test]
    fn blocking_manual_holds_later_stages() {
        let mut jobs = vec![
            with(job("approve", 0), |j| j.when = When::Manual),
            job("deploy", 1),
        ];
        settle(&mut jobs);
        assert_eq!(statuses(&jobs), vec![Manual, Created]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Manual);
        // Playing the manual job releases the next stage once it succeeds.
        jobs[0].status = Success;
        settle(&mut jobs);
        assert_eq!(statuses(&jobs), vec![Success, Pending]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Running);
    }

    #[test]
    fn non_blocking_manual_lets_later_stages_run() {
        let mut jobs = vec![
            job("build", 0),
            with(job("optional", 0), |j| {
                j.when = When::Manual;
                j.allow_failure = true;
            }),
            job("test", 1),
        ];
        run(&mut jobs, |_| Success);
        assert_eq!(statuses(&jobs), vec![Success, Manual, Success]);
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Success);
    }

    #[test]
    fn canceled_jobs_cancel_the_pipeline() {
        let mut jobs = vec![job("a", 0), job("b", 0), job("c", 1)];
        settle(&mut jobs);
        jobs[0].status = Success;
        jobs[1].status = Canceling;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Canceling);
        jobs[1].status = Canceled;
        jobs[2].status = Canceled;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Canceled);
        assert!(advance(&jobs).is_empty());
    }

    #[test]
    fn composite_statuses() {
        let mut jobs = vec![job("a", 0), job("b", 0)];
        jobs[0].status = Running;
        jobs[1].status = Pending;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Running);
        jobs[0].status = Pending;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Pending);
        jobs[0].status = Skipped;
        jobs[1].status = Skipped;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Skipped);
        jobs[0].status = Success;
        jobs[1].status = Created;
        assert_eq!(pipeline_status(&jobs), PipelineStatus::Running);
        assert_eq!(pipeline_status(&[]), PipelineStatus::Created);
    }

    #[test]
    fn settle_is_bounded_on_long_chains() {
        let mut jobs: Vec<JobNode> = (0..300).map(|i| job(&format!("j{i}"), i)).collect();
        jobs[0].status = Failed;
        let changes = settle(&mut jobs);
        assert_eq!(changes.len(), 299);
        assert!(jobs[1..].iter().all(|j| j.status == Skipped));
    }
}
