//! The mutations that write code: `commitCreate`, `mergeRequestCreate` and `mergeRequestAccept`,
//! GitLab-shaped inputs and payloads and the work behind the declared fields in
//! [`crate::mutation`]. The rules are the shared ones REST follows: actions, start points and
//! merges from `tinforge_store::git`, protected branches from `tinforge_gate::branches`. What the
//! caller can fix (a missing branch, a moved source, conflicts) is a payload error; a protected
//! branch the caller may not write is a top-level `forbidden` error, as other refusals.

use crate::error::{RESOURCE_NOT_AVAILABLE, git_error, store_error, with_code};
use crate::scope::RequestScope;
use crate::types::{Commit, MergeRequest, Project, with_authors};
use async_graphql::{Enum, ID, InputObject, Result, SimpleObject};
use tinforge_gate::branches::{self, BranchWriteError};
use tinforge_store::git::merging::{self, Accept, MergeError, MergeMethod};
use tinforge_store::git::objects::{self, Action, NewCommit, ObjError, Person};
use tinforge_store::merge_requests::{self, MergeRequestRow, NewMergeRequest};
use tinforge_store::users;

/// Mode of a commit action (GitLab's `CommitActionMode`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitActionMode {
    /// Create command.
    Create,
    /// Delete command.
    Delete,
    /// Move command.
    Move,
    /// Update command.
    Update,
    /// Chmod command (sets or clears the execute flag: `executeFilemode`).
    Chmod,
}

impl CommitActionMode {
    fn name(self) -> &'static str {
        match self {
            CommitActionMode::Create => "create",
            CommitActionMode::Delete => "delete",
            CommitActionMode::Move => "move",
            CommitActionMode::Update => "update",
            CommitActionMode::Chmod => "chmod",
        }
    }
}

/// Encoding of an action's content (GitLab's `CommitEncoding`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitEncoding {
    /// Text encoding.
    Text,
    /// Base64 encoding.
    #[graphql(name = "BASE64")]
    Base64,
}

/// One change of `commitCreate` (GitLab's `CommitAction`).
#[derive(InputObject, Debug, Clone)]
pub struct CommitAction {
    /// Action to perform: create, delete, move, update or chmod.
    pub action: CommitActionMode,
    /// Full path to the file.
    pub file_path: String,
    /// Original full path to the file being moved.
    pub previous_path: Option<String>,
    /// Content of the file.
    pub content: Option<String>,
    /// Encoding of the file (default: text).
    pub encoding: Option<CommitEncoding>,
    /// Enables (true) or disables (false) the execute flag on the file; chmod only.
    pub execute_filemode: Option<bool>,
}

/// Input of `commitCreate`.
#[derive(InputObject)]
pub struct CommitCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Project full path the branch is associated with.
    pub project_path: ID,
    /// Name of the branch to commit into; it can be a new branch.
    pub branch: String,
    /// If on a new branch, name of the original branch.
    pub start_branch: Option<String>,
    /// Raw commit message.
    pub message: String,
    /// Array of action hashes to commit as a batch.
    pub actions: Vec<CommitAction>,
}

/// Payload of `commitCreate`.
#[derive(SimpleObject)]
pub struct CommitCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// Commit after mutation; null when there are errors.
    pub commit: Option<Commit>,
    /// Contents of the commit (the content of each action that carries one).
    pub content: Option<Vec<String>>,
}

/// Input of `mergeRequestCreate`.
#[derive(InputObject)]
pub struct MergeRequestCreateInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Project full path the merge request is associated with.
    pub project_path: ID,
    /// Title of the merge request.
    pub title: String,
    /// Source branch of the merge request.
    pub source_branch: String,
    /// Target branch of the merge request.
    pub target_branch: String,
    /// Description of the merge request.
    pub description: Option<String>,
}

/// Payload of `mergeRequestCreate`.
#[derive(SimpleObject)]
pub struct MergeRequestCreatePayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// Merge request after mutation; null when there are errors.
    pub merge_request: Option<MergeRequest>,
}

/// Input of `mergeRequestAccept`.
#[derive(InputObject)]
pub struct MergeRequestAcceptInput {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Project the merge request to mutate is in.
    pub project_path: ID,
    /// IID of the merge request to mutate.
    pub iid: String,
    /// HEAD SHA at the time when the merge was requested; the merge is refused when the source
    /// branch moved since.
    pub sha: String,
    /// Custom merge commit message.
    pub commit_message: Option<String>,
    /// Should the source branch be removed (never the default or a protected branch).
    pub should_remove_source_branch: Option<bool>,
}

/// Payload of `mergeRequestAccept`.
#[derive(SimpleObject)]
pub struct MergeRequestAcceptPayload {
    /// A unique identifier for the client performing the mutation.
    pub client_mutation_id: Option<String>,
    /// Errors encountered during the mutation.
    pub errors: Vec<String>,
    /// Merge request after mutation.
    pub merge_request: Option<MergeRequest>,
}

/// GitLab's answer to a merge of a merge request that is closed, merged or a draft.
pub const NOT_MERGEABLE: &str = "Merge request is not mergeable";

fn not_available() -> async_graphql::Error {
    with_code(RESOURCE_NOT_AVAILABLE, "not_visible")
}

/// The caller as a commit author and committer.
async fn caller(scope: &RequestScope) -> Result<Person> {
    let id = scope
        .user_id()
        .ok_or_else(|| with_code(RESOURCE_NOT_AVAILABLE, "unauthenticated"))?;
    let user = scope.run(move |c| users::find(c, id)).await?;
    user.map(|u| Person::of_user(&u))
        .ok_or_else(|| with_code(RESOURCE_NOT_AVAILABLE, "unauthenticated"))
}

/// The project of the mutation (the guard has judged it already).
async fn project(scope: &RequestScope, path: &str) -> Result<Project> {
    scope.project(path).await?.ok_or_else(not_available)
}

/// The protected-branch rule on top of the field's declaration: a top-level `forbidden` error.
async fn check_branch_write(
    scope: &RequestScope,
    field: &str,
    project: &Project,
    branch: &str,
    merge: bool,
) -> Result<()> {
    let endpoint = scope
        .registry
        .graphql_field(field)
        .cloned()
        .ok_or_else(|| with_code(format!("field {field} is not declared"), "internal"))?;
    branches::check_branch_write(
        &scope.store,
        scope.principal.as_ref(),
        &endpoint,
        &project.target,
        branch,
        merge,
    )
    .await
    .map_err(|e| match e {
        BranchWriteError::Forbidden(m) => with_code(m, "forbidden"),
        BranchWriteError::Store(e) => store_error(e),
        BranchWriteError::Gate(e) => with_code(e.to_string(), "internal"),
    })
}

/// A repository refusal the caller can act on becomes a payload error; a failure stays one.
fn refusal(e: ObjError) -> Result<Vec<String>> {
    match e {
        ObjError::NotFound(m) => Ok(vec![m.to_string()]),
        ObjError::BadRequest(m) | ObjError::Conflict(m) => Ok(vec![m]),
        ObjError::TooLarge => Ok(vec![format!(
            "File is larger than {} bytes",
            objects::MAX_FILE_BYTES
        )]),
        ObjError::Git(e) => Err(git_error(e)),
    }
}

/// The project's repository, created on first use like REST's.
async fn ensure_repository(scope: &RequestScope, project: &Project) -> Result<std::path::PathBuf> {
    let (id, branch) = (project.row.id, project.row.default_branch.clone());
    scope
        .git(move |repos| repos.ensure(id, &branch))
        .await?
        .map_err(git_error)
}

/// The actions of `commitCreate` as the shared commit code takes them, or payload errors.
fn actions(input: &[CommitAction]) -> Result<Vec<Action>, Vec<String>> {
    if input.is_empty() {
        return Err(vec!["actions is empty".into()]);
    }
    input
        .iter()
        .map(|a| {
            let base64 = a.encoding == Some(CommitEncoding::Base64);
            let content = match &a.content {
                Some(text) => Some(
                    objects::decode_content(text, base64)
                        .ok_or_else(|| vec!["content is not valid base64".to_string()])?,
                ),
                None => None,
            };
            Action::parse(
                a.action.name(),
                Some(&a.file_path),
                a.previous_path.as_deref(),
                content,
                a.execute_filemode,
            )
            .map_err(|e| vec![e.to_string()])
        })
        .collect()
}

/// `commitCreate`: one commit of `actions` on `branch` (a new branch starts at `startBranch`).
pub async fn commit_create(
    scope: &RequestScope,
    field: &str,
    input: CommitCreateInput,
) -> Result<CommitCreatePayload> {
    let payload = |errors: Vec<String>, commit: Option<Commit>, content| CommitCreatePayload {
        client_mutation_id: input.client_mutation_id.clone(),
        errors,
        commit,
        content,
    };
    let me = caller(scope).await?;
    let project = project(scope, &input.project_path).await?;
    if !objects::valid_ref_name(&input.branch) {
        return Ok(payload(vec!["branch is invalid".into()], None, None));
    }
    if input.message.trim().is_empty() {
        return Ok(payload(vec!["Message can't be blank".into()], None, None));
    }
    let actions = match actions(&input.actions) {
        Ok(a) => a,
        Err(errors) => return Ok(payload(errors, None, None)),
    };
    check_branch_write(scope, field, &project, &input.branch, false).await?;
    let repo_path = ensure_repository(scope, &project).await?;
    let content: Vec<String> = input
        .actions
        .iter()
        .filter_map(|a| a.content.clone())
        .collect();
    let (branch, start_branch, message) = (
        input.branch.clone(),
        input.start_branch.clone().filter(|s| !s.is_empty()),
        input.message.clone(),
    );
    let (full_path, base) = (project.row.full_path.clone(), scope.external_url.clone());
    let written = scope
        .git(move |_| -> Result<Commit, ObjError> {
            let repo = objects::open(&repo_path)?;
            let start = objects::commit_start(&repo, &branch, start_branch.as_deref())?;
            let oid = objects::commit_actions(
                &repo,
                &NewCommit {
                    branch: &branch,
                    start,
                    message: &message,
                    author: me.clone(),
                    committer: me,
                    actions,
                },
            )?;
            Ok(Commit::of(&repo.find_commit(oid)?, &full_path, &base))
        })
        .await?;
    Ok(match written {
        Ok(commit) => {
            tracing::info!(project.id = project.row.id, commit = %commit.sha, "commit created over GraphQL");
            payload(Vec::new(), Some(commit), Some(content))
        }
        Err(e) => payload(refusal(e)?, None, None),
    })
}

/// The merge request with its author, as the payloads show it.
async fn shown(
    scope: &RequestScope,
    project: &Project,
    row: MergeRequestRow,
) -> Result<MergeRequest> {
    let (row, author) = scope
        .run(move |c| with_authors(c, vec![row]))
        .await?
        .remove(0);
    Ok(MergeRequest::new(
        &row,
        author.as_ref(),
        &project.target,
        &scope.external_url,
    ))
}

/// `mergeRequestCreate`: opens a merge request between two existing branches.
pub async fn merge_request_create(
    scope: &RequestScope,
    input: MergeRequestCreateInput,
) -> Result<MergeRequestCreatePayload> {
    let payload = |errors: Vec<String>, merge_request| MergeRequestCreatePayload {
        client_mutation_id: input.client_mutation_id.clone(),
        errors,
        merge_request,
    };
    let author_id = scope
        .user_id()
        .ok_or_else(|| with_code(RESOURCE_NOT_AVAILABLE, "unauthenticated"))?;
    let project = project(scope, &input.project_path).await?;
    let repo_path = ensure_repository(scope, &project).await?;
    let (source, target) = (input.source_branch.clone(), input.target_branch.clone());
    let checked = scope
        .git(move |_| -> Result<_, ObjError> {
            Ok(merging::check_new(
                &objects::open(&repo_path)?,
                &source,
                &target,
            ))
        })
        .await?
        .map_err(git_error)?;
    if let Err(e) = checked {
        return Ok(payload(vec![e.to_string()], None));
    }
    let new = (
        project.row.id,
        input.title.clone(),
        input.description.clone().unwrap_or_default(),
        input.source_branch.clone(),
        input.target_branch.clone(),
    );
    let created = scope
        .run(move |c| {
            let (project_id, title, description, source, target) = new;
            crate::mutation::invalid_as_errors(merge_requests::create(
                c,
                &NewMergeRequest {
                    project_id,
                    title: &title,
                    description: &description,
                    source_branch: &source,
                    target_branch: &target,
                    author_id,
                },
            ))
        })
        .await?;
    match created {
        Ok(row) => {
            tracing::info!(
                project.id = project.row.id,
                merge_request.iid = row.iid,
                "merge request opened over GraphQL"
            );
            let mr = shown(scope, &project, row).await?;
            Ok(payload(Vec::new(), Some(mr)))
        }
        Err(errors) => Ok(payload(errors, None)),
    }
}

/// The message of a merge refusal the caller can act on; a failure stays an error.
fn merge_refusal(e: MergeError) -> Result<Vec<String>> {
    match e {
        MergeError::BranchMissing => Ok(vec![
            "The source or target branch does not exist".to_string(),
        ]),
        MergeError::ShaMismatch(_) | MergeError::CannotMerge => Ok(vec![e.to_string()]),
        MergeError::Git(e) => refusal(e),
    }
}

/// `mergeRequestAccept`: merges an open merge request by the project's merge method, as REST's
/// `PUT …/merge` does.
pub async fn merge_request_accept(
    scope: &RequestScope,
    field: &str,
    input: MergeRequestAcceptInput,
) -> Result<MergeRequestAcceptPayload> {
    let payload = |errors: Vec<String>, merge_request| MergeRequestAcceptPayload {
        client_mutation_id: input.client_mutation_id.clone(),
        errors,
        merge_request,
    };
    let me = caller(scope).await?;
    let actor = scope.user_id().unwrap_or_default();
    let project = project(scope, &input.project_path).await?;
    let iid = input
        .iid
        .trim()
        .parse::<i64>()
        .map_err(|_| not_available())?;
    let project_id = project.row.id;
    let mr = scope
        .run(move |c| merge_requests::find(c, project_id, iid))
        .await?
        .ok_or_else(not_available)?;
    if !merging::can_be_accepted(&mr) {
        let shown = shown(scope, &project, mr).await?;
        return Ok(payload(vec![NOT_MERGEABLE.into()], Some(shown)));
    }
    check_branch_write(scope, field, &project, &mr.target_branch, true).await?;
    let remove_source = input.should_remove_source_branch == Some(true)
        && branches::removable_after_merge(
            &scope.store,
            project_id,
            &project.row.default_branch,
            &mr.source_branch,
        )
        .await
        .map_err(store_error)?;
    let message = input
        .commit_message
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| merging::default_message(&mr, &project.row.full_path));
    let repo_path = ensure_repository(scope, &project).await?;
    let how = Accept {
        expected_sha: Some(input.sha.clone()),
        message,
        who: me,
        method: MergeMethod::of_stored(&project.row.merge_method),
        remove_source,
    };
    let row = mr.clone();
    let merged = scope
        .git(move |_| merging::accept(&repo_path, &row, &how).map(|oid| oid.to_string()))
        .await?;
    let merged = match merged {
        Ok(sha) => sha,
        Err(e) => {
            let errors = merge_refusal(e)?;
            let shown = shown(scope, &project, mr).await?;
            return Ok(payload(errors, Some(shown)));
        }
    };
    let id = mr.id;
    let marked = scope
        .run(move |c| {
            let marked = merge_requests::mark_merged(c, id, actor, &merged)?;
            Ok((marked, merge_requests::find_by_id(c, id)?))
        })
        .await?;
    let (marked, row) = marked;
    let row = row.ok_or_else(not_available)?;
    tracing::info!(
        project.id = project_id,
        merge_request.iid = row.iid,
        "merge request merged over GraphQL"
    );
    let shown = shown(scope, &project, row).await?;
    if !marked {
        return Ok(payload(vec![NOT_MERGEABLE.into()], Some(shown)));
    }
    Ok(payload(Vec::new(), Some(shown)))
}
