//! Handing jobs to runners: a runner is offered the oldest pending job it may take (its
//! projects, its tags, `run_untagged`), and the hand-out is a conditional update, so with any
//! number of runners polling a job is assigned exactly once. The job token is minted here,
//! returned once, and kept only as its digest.

use super::CiError;
use crate::permissions::{PermissionSet, describe};
use std::collections::BTreeSet;
use tinforge_authz::Permission;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_store::ci::jobs::{self, JobRow};
use tinforge_store::ci::pipelines::{self, PipelineRow};
use tinforge_store::{DbConnection, projects, users};

/// What a runner may take.
#[derive(Debug, Clone)]
pub struct RunnerReach {
    pub runner_id: i64,
    pub tags: Vec<String>,
    pub run_untagged: bool,
    /// The projects it serves; None: every project (an instance runner).
    pub project_ids: Option<Vec<i64>>,
}

impl RunnerReach {
    /// Can this runner run `job`: one of its projects, and every tag the job asks for.
    pub fn can_run(&self, job: &JobRow) -> bool {
        let reaches = self
            .project_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&job.project_id));
        let tags = job.tags();
        let tagged = if tags.is_empty() {
            self.run_untagged
        } else {
            tags.iter().all(|t| self.tags.iter().any(|r| r == t))
        };
        reaches && tagged
    }
}

/// A job handed to a runner, with the job token (shown this once).
#[derive(Debug, Clone)]
pub struct Assigned {
    pub job: JobRow,
    pub pipeline: PipelineRow,
    pub token: String,
}

/// How many pending jobs one poll looks at.
const CANDIDATES: i64 = 200;

/// Assigns the oldest pending job this runner can take, or None. `digest` keys the job token
/// like every other token.
pub fn assign_next(
    conn: &mut DbConnection,
    reach: &RunnerReach,
    digest: &dyn Fn(&str) -> String,
) -> Result<Option<Assigned>, CiError> {
    for job in jobs::pending(conn, CANDIDATES)? {
        if !reach.can_run(&job) {
            continue;
        }
        let token = token_format::generate(TokenPrefix::Job);
        let preamble = preamble(conn, &job)?;
        if jobs::claim(conn, job.id, reach.runner_id, &digest(&token), &preamble)? {
            let job = jobs::find(conn, job.id)?.ok_or(CiError::NotFound)?;
            let pipeline = pipelines::find(conn, job.pipeline_id)?.ok_or(CiError::NotFound)?;
            super::progress::settle_pipeline(conn, job.pipeline_id)?;
            return Ok(Some(Assigned {
                job,
                pipeline,
                token,
            }));
        }
    }
    Ok(None)
}

/// The job token's permissions as a job's log shows them first.
pub fn permissions_of(job: &JobRow) -> PermissionSet {
    PermissionSet(
        job.permission_names()
            .iter()
            .filter_map(|p| p.parse::<Permission>().ok())
            .collect::<BTreeSet<_>>(),
    )
}

/// The lines the server writes in front of a job's log: what its token can reach.
fn preamble(conn: &mut DbConnection, job: &JobRow) -> Result<String, CiError> {
    let project = projects::find(conn, job.project_id)?.ok_or(CiError::NotFound)?;
    let user = match job.user_id {
        Some(id) => users::find(conn, id)?.map(|u| u.username),
        None => None,
    }
    .unwrap_or_else(|| "(nobody)".into());
    let set = permissions_of(job);
    let mut out = String::from(
        "\x1b[36;1mCI_JOB_TOKEN permissions\x1b[0;m (from the CI file's `permissions:`)\n",
    );
    if set.0.is_empty() {
        out.push_str("  (none)\n");
    }
    for line in describe(&set).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "  on project {} and on projects whose job token allowlist names it,\n  never beyond the role of {user}; valid until this job ends\n",
        project.full_path
    ));
    Ok(out)
}
