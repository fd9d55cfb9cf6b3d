//! The pipeline engine, no HTTP: `.gitlab-ci.yml` parsing (`config`), `rules:if` expressions (`expr`),
//! pipeline planning from a file and a context (`plan`), the job state machine (`state`) and the job
//! token's grants (`permissions`) are pure: no I/O, no database. `service` runs them against the
//! store (creating pipelines, settling them after every job change, handing jobs to runners) and
//! `queue` wakes runners' long polls.

pub mod config;
pub mod duration;
pub mod expr;
mod extends;
mod job;
pub mod permissions;
pub mod plan;
pub mod queue;
pub mod refs;
pub mod service;
pub mod state;
pub mod status;
mod variables;
mod yaml;

pub use config::{
    ArtifactsSpec, CiConfig, ConfigError, ImageSpec, InheritVariables, JobSpec, NeedSpec, Rule,
    parse,
};
pub use expr::Expr;
pub use permissions::{PermissionSet, default_job_permissions, describe, effective};
pub use plan::{Need, PipelineContext, Plan, PlanResult, PlannedJob, Step, plan};
pub use state::{JobNode, advance, pipeline_status, settle};
pub use status::{FailureReason, JobStatus, PipelineSource, PipelineStatus, When};
