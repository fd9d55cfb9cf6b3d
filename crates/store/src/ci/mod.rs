//! CI's storage: pipelines and their variables, jobs (the state machine's state, the job token
//! as a digest), job logs in chunks, artifacts (bytes in the blob store), runners, CI variables,
//! triggers, commit statuses and the job token allowlist. What these rows mean — which job may
//! start, what a pipeline's status is — is decided by the pipeline engine (`tinforge-ci`).

pub mod artifacts;
pub mod job_token_scope;
pub mod jobs;
pub mod pipelines;
pub mod runners;
pub mod statuses;
pub mod traces;
pub mod triggers;
pub mod variables;

pub use jobs::JobRow;
pub use pipelines::PipelineRow;
