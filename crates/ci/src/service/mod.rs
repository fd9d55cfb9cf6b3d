//! The engine against the store: creating pipelines from the CI file at a commit, moving jobs
//! through the state machine (settling a pipeline after every change), cancel, retry and play,
//! handing jobs to runners, and the variables a job runs with. Surfaces (REST, GraphQL, git)
//! call these; none of them decides a job's or a pipeline's status on its own.

pub mod assign;
pub mod auto_merge;
pub mod create;
pub mod job_variables;
pub mod progress;
pub mod push_pipelines;

pub use create::{Created, PipelineRequest, create_pipeline};

use tinforge_store::StoreError;

/// Why an engine operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error("not found")]
    NotFound,
    /// The ref names no branch or tag (GitLab: `Reference not found`).
    #[error("Reference not found")]
    UnknownRef,
    /// The commit has no `.gitlab-ci.yml`.
    #[error("Missing CI config file")]
    NoConfig,
    /// The operation does not apply to the job or pipeline in its current state.
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<tinforge_store::DieselError> for CiError {
    fn from(e: tinforge_store::DieselError) -> Self {
        CiError::Store(StoreError::from(e))
    }
}
