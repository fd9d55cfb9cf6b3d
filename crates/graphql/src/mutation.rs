//! The `Mutation` root. Every field is declared (see [`crate::declare`]); validation problems are
//! returned in the payload's `errors`, as GitLab does, with the object `null`.
//!
//! GitLab's own schema has neither `groupCreate` nor `projectCreate` (it creates both over REST
//! and offers `groupUpdate`); tinforge adds them in GitLab's naming style.

use crate::code::{
    CommitCreateInput, CommitCreatePayload, MergeRequestAcceptInput, MergeRequestAcceptPayload,
    MergeRequestCreateInput, MergeRequestCreatePayload,
};
use crate::declare::{FieldTarget, declared_fields};
use crate::guard::{NamespaceRef, Parent, namespace_of};
use crate::scope::RequestScope;
use crate::types::{
    DestroyContainerRepositoryInput, DestroyContainerRepositoryPayload,
    DestroyContainerRepositoryTagsInput, DestroyContainerRepositoryTagsPayload, Group, Issue,
    MergeRequest, Note, PipelineCancelInput, PipelineCancelPayload, PipelineCreateInput,
    PipelineCreatePayload, PipelineDestroyInput, PipelineDestroyPayload, PipelineRetryInput,
    PipelineRetryPayload, Project, VisibilityLevel, parse_gid, with_authors,
};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use tinforge_authz::{Role, Target, Visibility};
use tinforge_store::git::lifecycle;
use tinforge_store::groups::{self, NewGroup};
use tinforge_store::issues::{self, IssueChanges, NewIssue, StateEvent};
use tinforge_store::merge_requests;
use tinforge_store::namespaces::{self, WriteError};
use tinforge_store::notes;
use tinforge_store::projects::{Namespace, NewProject};
use tinforge_store::{StoreError, users};

/// The root of every mutation.
pub struct MutationRoot;

impl Parent for MutationRoot {
    fn parent_target(&self) -> Option<&Target> {
        None
    }
}

/// Input of `groupCreate`.
#[derive(InputObject)]
pub struct GroupCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Name of the group.
    pub name: String,
    /// Path of the group within its parent (default: derived from the name).
    pub path: Option<String>,
    /// Full path of the parent group; absent for a top-level group.
    pub parent_path: Option<ID>,
    /// Visibility of the group (default: private).
    pub visibility: Option<VisibilityLevel>,
    /// Description of the group.
    pub description: Option<String>,
}

/// Payload of `groupCreate`.
#[derive(SimpleObject)]
pub struct GroupCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new group; null when there are errors.
    pub group: Option<Group>,
}

/// Input of `projectCreate`.
#[derive(InputObject)]
pub struct ProjectCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Name of the project.
    pub name: String,
    /// Path of the project within its namespace (default: derived from the name).
    pub path: Option<String>,
    /// Full path of the group to create the project in, or your username (the default) for
    /// your personal namespace.
    pub namespace_path: Option<ID>,
    /// Visibility of the project (default: private).
    pub visibility: Option<VisibilityLevel>,
    /// Description of the project.
    pub description: Option<String>,
}

/// Payload of `projectCreate`.
#[derive(SimpleObject)]
pub struct ProjectCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new project; null when there are errors.
    pub project: Option<Project>,
}

/// Input of `createIssue`.
#[derive(InputObject)]
pub struct CreateIssueInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Full path of the project the issue is opened in.
    pub project_path: ID,
    /// Title of the issue.
    pub title: String,
    /// Description of the issue.
    pub description: Option<String>,
    /// Names of labels to set (Reporter+; unknown names are created).
    pub labels: Option<Vec<String>>,
    /// Whether the issue is confidential.
    pub confidential: Option<bool>,
    /// Global ids of users to assign (Reporter+; `gid://gitlab/User/1`).
    pub assignee_ids: Option<Vec<ID>>,
}

/// Payload of `createIssue`.
#[derive(SimpleObject)]
pub struct CreateIssuePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new issue; null when there are errors.
    pub issue: Option<Issue>,
}

/// Closing or reopening an issue (GitLab's `IssueStateEvent`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "IssueStateEvent")]
pub enum IssueStateEvent {
    /// Closes the issue.
    Close,
    /// Reopens the issue.
    Reopen,
}

impl From<IssueStateEvent> for StateEvent {
    fn from(e: IssueStateEvent) -> StateEvent {
        match e {
            IssueStateEvent::Close => StateEvent::Close,
            IssueStateEvent::Reopen => StateEvent::Reopen,
        }
    }
}

/// Input of `updateIssue`.
#[derive(InputObject)]
pub struct UpdateIssueInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Full path of the issue's project.
    pub project_path: ID,
    /// IID of the issue.
    pub iid: String,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Whether the issue is confidential.
    pub confidential: Option<bool>,
    /// Names of labels replacing the current ones (Reporter+).
    pub labels: Option<Vec<String>>,
    /// Names of labels to add (Reporter+).
    pub add_labels: Option<Vec<String>>,
    /// Names of labels to remove (Reporter+).
    pub remove_labels: Option<Vec<String>>,
    /// Global ids of users replacing the assignees (Reporter+).
    pub assignee_ids: Option<Vec<ID>>,
    /// Close or reopen the issue.
    pub state_event: Option<IssueStateEvent>,
}

/// Payload of `updateIssue`.
#[derive(SimpleObject)]
pub struct UpdateIssuePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The issue after the mutation; null when there are errors.
    pub issue: Option<Issue>,
}

/// State a merge request is moved to (GitLab's `MergeRequestNewState`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRequestNewState {
    /// Reopen the merge request.
    Opened,
    /// Close the merge request.
    Closed,
}

/// Input of `mergeRequestUpdate`.
#[derive(InputObject)]
pub struct MergeRequestUpdateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Full path of the merge request's project.
    pub project_path: ID,
    /// IID of the merge request.
    pub iid: String,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Close or reopen the merge request (a merged one keeps its state).
    pub state: Option<MergeRequestNewState>,
}

/// Payload of `mergeRequestUpdate`.
#[derive(SimpleObject)]
pub struct MergeRequestUpdatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The merge request after the mutation; null when there are errors.
    pub merge_request: Option<MergeRequest>,
}

/// Input of `createNote`.
#[derive(InputObject)]
pub struct CreateNoteInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Global id of the issue to comment on (`gid://gitlab/Issue/1`).
    pub noteable_id: ID,
    /// Content of the note.
    pub body: String,
    /// Whether the note is internal (Reporter+).
    pub internal: Option<bool>,
}

/// Payload of `createNote`.
#[derive(SimpleObject)]
pub struct CreateNotePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// The new note; null when there are errors.
    pub note: Option<Note>,
}

/// Input of `destroyNote`.
#[derive(InputObject)]
pub struct DestroyNoteInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Global id of the note to delete (`gid://gitlab/Note/1`).
    pub id: ID,
}

/// Payload of `destroyNote`.
#[derive(SimpleObject)]
pub struct DestroyNotePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// Always null: the note is gone.
    pub note: Option<Note>,
}

declared_fields! {
    #[Object(name = "Mutation")]
    impl MutationRoot {
        /// Creates a group, or a subgroup of `parentPath` (Maintainer there). You become its Owner.
        #[declare(
            "Mutation.groupCreate",
            need(group:create).min_role(Role::Maintainer),
            FieldTarget::Group("input.parentPath"),
        )]
        async fn group_create(
            &self,
            ctx: &Context<'_>,
            input: GroupCreateInput,
        ) -> Result<Option<GroupCreatePayload>> {
            let scope = RequestScope::of(ctx)?;
            let user_id = scope.user_id().ok_or_else(unauthenticated)?;
            let parent = match &input.parent_path {
                Some(p) => Some(scope.group(p).await?.ok_or_else(not_available)?.row),
                None => None,
            };
            let base = scope.external_url.clone();
            let created = scope
                .run(move |c| {
                    let path = input.path.unwrap_or_else(|| namespaces::slugify(&input.name));
                    let new = NewGroup {
                        name: &input.name,
                        path: &path,
                        description: input.description.as_deref().unwrap_or_default(),
                        visibility: visibility(input.visibility),
                        parent: parent.as_ref(),
                        owner_id: Some(user_id),
                    };
                    match groups::create(c, &new) {
                        Ok(row) => {
                            tracing::info!(group.id = row.id, group.path = %row.full_path, "group created");
                            Group::load(c, row, Some(user_id), &base).map(Ok)
                        }
                        Err(e) => payload_errors(e).map(Err),
                    }
                })
                .await?;
            let (group, errors) = split(created);
            Ok(Some(GroupCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                group,
            }))
        }

        /// Creates a project in a group (Developer there) or in your personal namespace.
        #[declare(
            "Mutation.projectCreate",
            need(project:create).min_role(Role::Developer),
            FieldTarget::Namespace("input.namespacePath"),
        )]
        async fn project_create(
            &self,
            ctx: &Context<'_>,
            input: ProjectCreateInput,
        ) -> Result<Option<ProjectCreatePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let base = scope.external_url.clone();
            let repos = scope.repositories.clone();
            let created = scope
                .run(move |c| {
                    let path = input.path.unwrap_or_else(|| namespaces::slugify(&input.name));
                    let namespace_path = input.namespace_path.as_ref().map(|p| p.as_str());
                    let owner;
                    let group;
                    let namespace = match namespace_of(c, namespace_path, &caller)? {
                        Some(NamespaceRef::Group(full_path)) => {
                            group = groups::find_by_full_path(c, &full_path)?.ok_or(StoreError::NotFound)?;
                            Namespace::Group(&group)
                        }
                        Some(NamespaceRef::User { owner_id, .. }) => {
                            owner = users::find(c, owner_id)?.ok_or(StoreError::NotFound)?;
                            Namespace::User {
                                id: owner.id,
                                username: &owner.username,
                            }
                        }
                        None => return Err(StoreError::NotFound),
                    };
                    let new = NewProject {
                        namespace,
                        name: &input.name,
                        path: &path,
                        description: input.description.as_deref().unwrap_or_default(),
                        visibility: visibility(input.visibility),
                        default_branch: None,
                        merge_method: None,
                        creator_id: caller.user_id,
                    };
                    match lifecycle::create_project(c, &repos, &new) {
                        Ok(row) => {
                            tracing::info!(project.id = row.id, project.path = %row.full_path, "project created");
                            Project::load(c, row, Some(caller.user_id), &base).map(Ok)
                        }
                        Err(e) => payload_errors(e).map(Err),
                    }
                })
                .await?;
            let (project, errors) = split(created);
            Ok(Some(ProjectCreatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                project,
            }))
        }

        /// Opens an issue. Labels and assignees are set only by Reporter+ (ignored otherwise).
        #[declare(
            "Mutation.createIssue",
            need(issue:create),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn create_issue(
            &self,
            ctx: &Context<'_>,
            input: CreateIssueInput,
        ) -> Result<Option<CreateIssuePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let project = scope.project(&input.project_path).await?.ok_or_else(not_available)?;
            let target = project.target;
            let assignee_ids = match user_ids(input.assignee_ids) {
                Ok(ids) => ids.unwrap_or_default(),
                Err(errors) => {
                    return Ok(Some(CreateIssuePayload {
                        client_mutation_id: input.client_mutation_id,
                        errors,
                        issue: None,
                    }));
                }
            };
            let new = NewIssue {
                project_id: target.id,
                author_id: caller.user_id,
                title: input.title,
                description: input.description,
                confidential: input.confidential.unwrap_or(false),
                labels: input.labels.unwrap_or_default(),
                assignee_ids,
                set_metadata: issues::may_set_metadata(target.role, caller.in_admin_mode()),
            };
            let created = scope.run(move |c| invalid_as_errors(issues::create(c, &new))).await?;
            let (issue, errors) = split(created);
            Ok(Some(CreateIssuePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                issue: issue.map(|i| Issue::new(i, target, &scope.external_url)),
            }))
        }

        /// Edits, labels, closes (`stateEvent: CLOSE`) or reopens an issue; others' issues need
        /// Reporter+.
        #[declare(
            "Mutation.updateIssue",
            need(issue:update),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn update_issue(
            &self,
            ctx: &Context<'_>,
            input: UpdateIssueInput,
        ) -> Result<Option<UpdateIssuePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let project = scope.project(&input.project_path).await?.ok_or_else(not_available)?;
            let target = project.target;
            let iid = input.iid.trim().parse::<i64>().map_err(|_| not_available())?;
            let issue = visible_issue(scope, &target, iid).await?;
            let admin = caller.in_admin_mode();
            if !issues::may_edit(&issue, caller.user_id, target.role, admin) {
                return Err(forbidden());
            }
            let assignee_ids = match user_ids(input.assignee_ids) {
                Ok(ids) => ids,
                Err(errors) => {
                    return Ok(Some(UpdateIssuePayload {
                        client_mutation_id: input.client_mutation_id,
                        errors,
                        issue: None,
                    }));
                }
            };
            let changes = IssueChanges {
                title: input.title,
                description: input.description.map(Some),
                confidential: input.confidential,
                labels: input.labels,
                add_labels: input.add_labels.unwrap_or_default(),
                remove_labels: input.remove_labels.unwrap_or_default(),
                assignee_ids,
                state_event: input.state_event.map(StateEvent::from),
            };
            let set_metadata = issues::may_set_metadata(target.role, admin);
            let (issue_id, user_id) = (issue.row.id, caller.user_id);
            let updated = scope
                .run(move |c| {
                    invalid_as_errors(issues::update(c, issue_id, user_id, &changes, set_metadata))
                })
                .await?;
            let (issue, errors) = split(updated);
            Ok(Some(UpdateIssuePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                issue: issue.map(|i| Issue::new(i, target, &scope.external_url)),
            }))
        }

        /// Edits, closes (`state: CLOSED`) or reopens (`state: OPENED`) a merge request.
        #[declare(
            "Mutation.mergeRequestUpdate",
            need(merge_request:update),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn merge_request_update(
            &self,
            ctx: &Context<'_>,
            input: MergeRequestUpdateInput,
        ) -> Result<Option<MergeRequestUpdatePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let project = scope.project(&input.project_path).await?.ok_or_else(not_available)?;
            let iid = input.iid.trim().parse::<i64>().map_err(|_| not_available())?;
            let changes = merge_requests::Changes {
                title: input.title,
                description: input.description,
                target_branch: None,
                close: input.state.map(|s| s == MergeRequestNewState::Closed),
            };
            let (project_id, user_id) = (project.row.id, caller.user_id);
            let updated = scope
                .run(move |c| {
                    let Some(row) = merge_requests::find(c, project_id, iid)? else {
                        return Ok(None);
                    };
                    let updated = invalid_as_errors(merge_requests::update(c, row.id, user_id, &changes))?;
                    Ok(Some(match updated {
                        Ok(row) => Ok(with_authors(c, vec![row])?.remove(0)),
                        Err(errors) => Err(errors),
                    }))
                })
                .await?
                .ok_or_else(not_available)?;
            let (mr, errors) = split(updated);
            Ok(Some(MergeRequestUpdatePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                merge_request: mr.map(|(r, a)| {
                    MergeRequest::new(&r, a.as_ref(), &project.target, &scope.external_url)
                }),
            }))
        }

        /// Opens a merge request between two existing branches of the project.
        #[declare(
            "Mutation.mergeRequestCreate",
            need(merge_request:create).min_role(Role::Developer),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn merge_request_create(
            &self,
            ctx: &Context<'_>,
            input: MergeRequestCreateInput,
        ) -> Result<Option<MergeRequestCreatePayload>> {
            crate::code::merge_request_create(RequestScope::of(ctx)?, input).await.map(Some)
        }

        /// Merges a merge request by the project's merge method (`sha`: the source tip you saw);
        /// a protected target branch also needs its merge level.
        #[declare(
            "Mutation.mergeRequestAccept",
            need(merge_request:update, repository:update).min_role(Role::Developer)
                .raised(&[tinforge_authz::requirement::raises::PROTECTED_BRANCH]),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn merge_request_accept(
            &self,
            ctx: &Context<'_>,
            input: MergeRequestAcceptInput,
        ) -> Result<Option<MergeRequestAcceptPayload>> {
            crate::code::merge_request_accept(RequestScope::of(ctx)?, FIELD, input).await.map(Some)
        }

        /// Writes one commit of file actions to a branch (a new branch starts at `startBranch`);
        /// a protected branch also needs its push level.
        #[declare(
            "Mutation.commitCreate",
            need(repository:update).min_role(Role::Developer)
                .raised(&[tinforge_authz::requirement::raises::PROTECTED_BRANCH]),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn commit_create(
            &self,
            ctx: &Context<'_>,
            input: CommitCreateInput,
        ) -> Result<Option<CommitCreatePayload>> {
            crate::code::commit_create(RequestScope::of(ctx)?, FIELD, input).await.map(Some)
        }

        /// Comments on an issue (internal notes need Reporter+).
        #[declare(
            "Mutation.createNote",
            need(issue:create),
            FieldTarget::IssueProject("input.noteableId"),
        )]
        async fn create_note(
            &self,
            ctx: &Context<'_>,
            input: CreateNoteInput,
        ) -> Result<Option<CreateNotePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let id = parse_gid("Issue", &input.noteable_id).ok_or_else(not_available)?;
            let located = scope.run(move |c| issues::locate(c, id)).await?;
            let (path, iid) = located.ok_or_else(not_available)?;
            let target = scope.project(&path).await?.ok_or_else(not_available)?.target;
            let issue = visible_issue(scope, &target, iid).await?;
            let internal = input.internal.unwrap_or(false);
            if internal && !notes::may_write_internal(target.role, caller.in_admin_mode()) {
                return Err(forbidden());
            }
            let (row, user_id, body) = (issue.row, caller.user_id, input.body);
            let created = scope
                .run(move |c| invalid_as_errors(notes::create(c, &row, user_id, &body, internal)))
                .await?;
            let (note, errors) = split(created);
            Ok(Some(CreateNotePayload {
                client_mutation_id: input.client_mutation_id,
                errors,
                note: note.map(|n| Note::new(&n, &scope.external_url)),
            }))
        }

        /// Deletes a note (its author or Maintainer+; system notes never).
        #[declare(
            "Mutation.destroyNote",
            need(issue:update),
            FieldTarget::NoteProject("input.id"),
        )]
        async fn destroy_note(
            &self,
            ctx: &Context<'_>,
            input: DestroyNoteInput,
        ) -> Result<Option<DestroyNotePayload>> {
            let scope = RequestScope::of(ctx)?;
            let caller = scope.principal.clone().ok_or_else(unauthenticated)?;
            let id = parse_gid("Note", &input.id).ok_or_else(not_available)?;
            let located = scope.run(move |c| notes::locate(c, id)).await?;
            let (path, iid) = located.ok_or_else(not_available)?;
            let target = scope.project(&path).await?.ok_or_else(not_available)?.target;
            let issue = visible_issue(scope, &target, iid).await?;
            let viewer = Issue::viewer(Some(&caller), &target);
            let row = issue.row;
            let note = scope
                .run(move |c| notes::get(c, &row, id, &viewer))
                .await?
                .ok_or_else(not_available)?;
            if !notes::may_modify(&note.row, caller.user_id, target.role, caller.in_admin_mode()) {
                return Err(forbidden());
            }
            scope.run(move |c| notes::delete(c, id)).await?;
            Ok(Some(DestroyNotePayload {
                client_mutation_id: input.client_mutation_id,
                errors: Vec::new(),
                note: None,
            }))
        }

        /// Deletes a container image repository with its tags, at once (as deleting over
        /// `/v2/`: container_registry:delete, Maintainer+).
        #[declare(
            "Mutation.destroyContainerRepository",
            need(container_registry:delete).min_role(Role::Maintainer),
            FieldTarget::ContainerRepositoryProject("input.id"),
        )]
        async fn destroy_container_repository(
            &self,
            ctx: &Context<'_>,
            input: DestroyContainerRepositoryInput,
        ) -> Result<Option<DestroyContainerRepositoryPayload>> {
            crate::types::destroy_repository(RequestScope::of(ctx)?, input).await.map(Some)
        }

        /// Deletes up to 20 tags of a container image repository (as deleting over `/v2/`:
        /// container_registry:delete, Maintainer+).
        #[declare(
            "Mutation.destroyContainerRepositoryTags",
            need(container_registry:delete).min_role(Role::Maintainer),
            FieldTarget::ContainerRepositoryProject("input.id"),
        )]
        async fn destroy_container_repository_tags(
            &self,
            ctx: &Context<'_>,
            input: DestroyContainerRepositoryTagsInput,
        ) -> Result<Option<DestroyContainerRepositoryTagsPayload>> {
            crate::types::destroy_tags(RequestScope::of(ctx)?, input).await.map(Some)
        }

        /// Runs a pipeline for a branch or tag, with variables (as REST's `POST /pipeline`:
        /// pipeline:create, Developer+).
        #[declare(
            "Mutation.pipelineCreate",
            need(pipeline:create).min_role(Role::Developer),
            FieldTarget::Project("input.projectPath"),
        )]
        async fn pipeline_create(
            &self,
            ctx: &Context<'_>,
            input: PipelineCreateInput,
        ) -> Result<Option<PipelineCreatePayload>> {
            crate::types::pipeline_create(ctx, input).await.map(Some)
        }

        /// Cancels a pipeline's unfinished jobs (pipeline:update, Developer+).
        #[declare(
            "Mutation.pipelineCancel",
            need(pipeline:update).min_role(Role::Developer),
            FieldTarget::PipelineProject("input.id"),
        )]
        async fn pipeline_cancel(
            &self,
            ctx: &Context<'_>,
            input: PipelineCancelInput,
        ) -> Result<Option<PipelineCancelPayload>> {
            crate::types::pipeline_cancel(ctx, input).await.map(Some)
        }

        /// Retries a pipeline's failed and canceled jobs (pipeline:update, Developer+).
        #[declare(
            "Mutation.pipelineRetry",
            need(pipeline:update).min_role(Role::Developer),
            FieldTarget::PipelineProject("input.id"),
        )]
        async fn pipeline_retry(
            &self,
            ctx: &Context<'_>,
            input: PipelineRetryInput,
        ) -> Result<Option<PipelineRetryPayload>> {
            crate::types::pipeline_retry(ctx, input).await.map(Some)
        }

        /// Deletes a pipeline with its jobs, logs and artifacts (pipeline:delete, Owner).
        #[declare(
            "Mutation.pipelineDestroy",
            need(pipeline:delete).min_role(Role::Owner),
            FieldTarget::PipelineProject("input.id"),
        )]
        async fn pipeline_destroy(
            &self,
            ctx: &Context<'_>,
            input: PipelineDestroyInput,
        ) -> Result<Option<PipelineDestroyPayload>> {
            crate::types::pipeline_destroy(ctx, input).await.map(Some)
        }
    }
}

fn unauthenticated() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "unauthenticated")
}

fn not_available() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "not_visible")
}

/// GitLab's answer when the caller may see the object but not change it.
fn forbidden() -> async_graphql::Error {
    crate::error::with_code(crate::error::RESOURCE_NOT_AVAILABLE, "forbidden")
}

/// The issue `iid` of the project `target` as the caller sees it (the same store rule as REST),
/// or GitLab's "resource not available".
async fn visible_issue(scope: &RequestScope, target: &Target, iid: i64) -> Result<issues::Issue> {
    let viewer = Issue::viewer(scope.principal.as_ref(), target);
    let project_id = target.id;
    scope
        .run(move |c| issues::get(c, project_id, iid, &viewer))
        .await?
        .ok_or_else(not_available)
}

/// User global ids as database ids; a malformed one is a payload error.
fn user_ids(ids: Option<Vec<ID>>) -> Result<Option<Vec<i64>>, Vec<String>> {
    ids.map(|ids| {
        ids.iter()
            .map(|id| {
                parse_gid("User", id)
                    .ok_or_else(|| vec![format!("{} is not a valid user id", id.as_str())])
            })
            .collect()
    })
    .transpose()
}

/// Input the store refuses (an empty title or body) becomes the payload's `errors` ("Title is
/// missing"); a storage failure stays an error.
pub(crate) fn invalid_as_errors<T>(
    r: Result<T, StoreError>,
) -> Result<Result<T, Vec<String>>, StoreError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => Ok(Err(vec![sentence(&m)])),
        Err(e) => Err(e),
    }
}

fn visibility(v: Option<VisibilityLevel>) -> Visibility {
    v.map(Visibility::from).unwrap_or(Visibility::Private)
}

/// The created object, or the payload's `errors`.
fn split<T>(result: Result<T, Vec<String>>) -> (Option<T>, Vec<String>) {
    match result {
        Ok(object) => (Some(object), Vec::new()),
        Err(errors) => (None, errors),
    }
}

/// A store refusal the caller can act on becomes the payload's `errors` (GitLab's full messages:
/// "Path has already been taken"); a storage failure stays an error.
fn payload_errors(e: WriteError) -> Result<Vec<String>, StoreError> {
    match e {
        WriteError::Invalid(problems) => Ok(problems
            .into_iter()
            .map(|(field, message)| full_message(field, &message))
            .collect()),
        WriteError::Conflict(message) => Ok(vec![message]),
        WriteError::Store(e) => Err(e),
    }
}

/// `title is missing` → `Title is missing`.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `("visibility_level", "is …")` → `Visibility level is …`.
fn full_message(field: &str, message: &str) -> String {
    let mut human: String = field.replace('_', " ");
    if let Some(first) = human.get(..1) {
        human = first.to_uppercase() + &human[1..];
    }
    format!("{human} {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_gitlabs() {
        assert_eq!(
            full_message("path", "has already been taken"),
            "Path has already been taken"
        );
        assert_eq!(
            full_message("visibility_level", "public is not allowed"),
            "Visibility level public is not allowed"
        );
    }
}
