//! The GraphQL object types, with GitLab's names (camelCase fields, `gid://gitlab/<Class>/<id>` ids).

mod connection;
mod container_repository;
mod group;
mod issue;
mod merge_request;
mod namespace;
mod pipeline;
mod project;
mod repository;
mod scalars;
mod user;

pub use connection::{IdCursor, List, ListCount, MAX_PAGE_SIZE, PageArgs, page};
pub use container_repository::{
    BigInt, ContainerRepository, ContainerRepositoryId, ContainerRepositoryTag,
    DestroyContainerRepositoryInput, DestroyContainerRepositoryPayload,
    DestroyContainerRepositoryTagsInput, DestroyContainerRepositoryTagsPayload, destroy_repository,
    destroy_tags, registry_host,
};
pub use group::Group;
pub use issue::{IssuableState, Issue, IssueState, Label, Note};
pub use merge_request::{MergeRequest, MergeRequestState, with_authors};
pub use namespace::Namespace;
pub use pipeline::{
    CiJob, CiJobStatus, CiPipelineId, Pipeline, PipelineCancelInput, PipelineCancelPayload,
    PipelineCreateInput, PipelineCreatePayload, PipelineDestroyInput, PipelineDestroyPayload,
    PipelineRetryInput, PipelineRetryPayload, PipelineStatusEnum, cancel as pipeline_cancel,
    create as pipeline_create, destroy as pipeline_destroy, retry as pipeline_retry,
};
pub use project::Project;
pub use repository::{Commit, Repository, RepositoryRef};
pub use scalars::{Time, VisibilityLevel, gid, parse_gid};
pub use user::{User, UserState};
