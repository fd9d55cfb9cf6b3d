//! Pipelines for pushes: after git has applied a push (or the repository API has written a
//! commit, branch or tag), each pushed branch and tag gets a `push` pipeline from the CI file at
//! its new commit, and each open merge request from a pushed branch a `merge_request_event` one
//! (kept only when the CI file has jobs for merge request pipelines). Pushes made with a job
//! token never start pipelines, so a job cannot loop on itself. Runs off the request, after it.
//! Both surfaces that move refs (git smart HTTP and the REST repository API) start them here.

use std::sync::Arc;

use tinforge_authz::{Principal, TokenKind};
use tinforge_store::git::Repositories;
use tinforge_store::{DbConnection, Store, merge_requests};

use super::{CiError, Created, PipelineRequest, create_pipeline};
use crate::PipelineSource;
use crate::queue::JobQueue;

/// One ref a push moved.
#[derive(Debug, Clone)]
pub struct PushedRef {
    pub old: String,
    pub new: String,
    /// The full ref name (`refs/heads/main`).
    pub name: String,
}

/// The all-zero object id git uses for "no commit" (a created or deleted ref).
pub fn is_zero(oid: &str) -> bool {
    oid.bytes().all(|b| b == b'0')
}

/// What starting pipelines needs: the store, the repositories, the queue runners wait on, and
/// who pushed to which project.
#[derive(Clone)]
pub struct PipelineTrigger {
    store: Store,
    repos: Repositories,
    queue: Option<Arc<JobQueue>>,
    user_id: i64,
    project_id: i64,
}

impl PipelineTrigger {
    /// None when the caller may not start pipelines by pushing (anonymous, a job token).
    pub fn for_pusher(
        store: Store,
        repos: Repositories,
        queue: Option<Arc<JobQueue>>,
        principal: Option<&Principal>,
        project_id: i64,
    ) -> Option<PipelineTrigger> {
        let principal = principal.filter(|p| p.kind != TokenKind::Job)?;
        Some(PipelineTrigger {
            store,
            repos,
            queue,
            user_id: principal.user_id,
            project_id,
        })
    }

    /// Starts the pipelines of `pushed` on a thread of their own (the push has been answered).
    pub fn spawn(self, pushed: Vec<PushedRef>) {
        if pushed.is_empty() {
            return;
        }
        std::thread::spawn(move || self.start(&pushed));
    }

    /// Starts the `merge_request_event` pipeline of a new merge request from `branch` at `sha`.
    pub fn spawn_merge_request(self, merge_request_id: i64, branch: String, sha: String) {
        std::thread::spawn(move || {
            let mut request = PipelineRequest::new(
                self.project_id,
                &branch,
                PipelineSource::MergeRequestEvent,
                self.user_id,
            );
            request.sha = Some(sha);
            request.merge_request_id = Some(merge_request_id);
            let created = self
                .store
                .conn()
                .map_err(CiError::from)
                .and_then(|mut conn| self.create(&mut conn, &request));
            match created {
                Ok(true) => self.bump(),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "merge request pipeline"),
            }
        });
    }

    /// Starts the pipelines of `pushed` now, ringing the job queue when jobs became pending.
    pub fn start(&self, pushed: &[PushedRef]) {
        match self.run(pushed) {
            Ok(true) => self.bump(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "pipelines for a push"),
        }
    }

    fn bump(&self) {
        if let Some(q) = &self.queue {
            q.bump();
        }
    }

    fn run(&self, pushed: &[PushedRef]) -> Result<bool, CiError> {
        let mut conn = self.store.conn()?;
        let conn: &mut DbConnection = &mut conn;
        let mut released = false;
        for r in pushed {
            if is_zero(&r.new) {
                continue;
            }
            let (ref_name, branch) = if let Some(b) = r.name.strip_prefix("refs/heads/") {
                (b, true)
            } else if let Some(t) = r.name.strip_prefix("refs/tags/") {
                (t, false)
            } else {
                continue;
            };
            let mut request = PipelineRequest::new(
                self.project_id,
                ref_name,
                PipelineSource::Push,
                self.user_id,
            );
            request.sha = Some(r.new.clone());
            request.before_sha = (!is_zero(&r.old)).then(|| r.old.clone());
            released |= self.create(conn, &request)?;
            if branch {
                for mr in merge_requests::open_from_branch(conn, self.project_id, ref_name)? {
                    let mut request = request.clone();
                    request.source = PipelineSource::MergeRequestEvent;
                    request.merge_request_id = Some(mr.id);
                    released |= self.create(conn, &request)?;
                }
            }
        }
        Ok(released)
    }

    /// Creates one pipeline; a commit without a CI file or with no jobs for it has none.
    fn create(&self, conn: &mut DbConnection, request: &PipelineRequest) -> Result<bool, CiError> {
        match create_pipeline(conn, &self.repos, request) {
            Ok(Created::Pipeline(p)) => {
                tracing::info!(
                    pipeline.id = p.id,
                    project.id = p.project_id,
                    source = %p.source,
                    status = %p.status,
                    "pipeline created"
                );
                Ok(p.status == "pending" || p.status == "running")
            }
            Ok(Created::Filtered) | Err(CiError::NoConfig) | Err(CiError::UnknownRef) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
