//! `Project`, loaded with its authorization target for the caller and its namespace.

use super::connection::{List, PageArgs, page};
use super::container_repository::{ContainerRepository, registry_host};
use super::issue::{IssuableState, Issue, issue_cursor, issue_page};
use super::merge_request::{MergeRequest, MergeRequestState, with_authors};
use super::namespace::Namespace;
use super::pipeline::{
    CiPipelineId, Pipeline, PipelineArgs, PipelineScopeEnum, PipelineStatusEnum, project_pipeline,
    project_pipelines,
};
use super::repository::{Repository, RepositoryRef};
use super::scalars::{Time, gid};
use crate::declare::{FieldTarget, declared_fields};
use crate::guard::Parent;
use crate::scope::RequestScope;
use async_graphql::{ComplexObject, Context, ID, Result, SimpleObject};
use tinforge_authz::{Principal, Requirement, Role, Target};
use tinforge_gate::listing;
use tinforge_store::groups::GroupTree;
use tinforge_store::issues::{
    self, IssueFilter, LabelFilter, Order, OrderBy, Paging, ProjectScope,
};
use tinforge_store::merge_requests;
use tinforge_store::namespaces::{self, NamespaceInfo};
use tinforge_store::projects::{self, ProjectRow};
use tinforge_store::{DbConnection, StoreError};

/// A project: a repository with its issues, merge requests and pipelines.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Project {
    /// Global ID of the project (`gid://gitlab/Project/1`).
    pub id: ID,
    /// Name of the project.
    pub name: String,
    /// Path of the project within its namespace.
    pub path: String,
    /// Full path of the project (`group/subgroup/project`).
    pub full_path: String,
    /// Name of the project with its namespace (`Group / Subgroup / Project`).
    pub name_with_namespace: String,
    /// Namespace of the project: a group, or a user's personal namespace.
    pub namespace: Option<Namespace>,
    /// Short description of the project.
    pub description: Option<String>,
    /// Visibility of the project: `private`, `internal` or `public`.
    pub visibility: String,
    /// Web URL of the project.
    pub web_url: String,
    /// URL to clone the repository over HTTP.
    pub http_url_to_repo: String,
    /// Default branch of the repository.
    pub default_branch: String,
    /// Whether the project is archived.
    pub archived: bool,
    /// When the project was created.
    pub created_at: Time,
    /// When the project last had activity.
    pub last_activity_at: Time,
    #[graphql(skip)]
    pub row: ProjectRow,
    /// The project as an authorization target for the caller of this request.
    #[graphql(skip)]
    pub target: Target,
}

impl Parent for Project {
    fn parent_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

impl Project {
    pub fn new(row: ProjectRow, target: Target, ns: Option<&NamespaceInfo>, base: &str) -> Self {
        let web_url = format!("{base}/{}", row.full_path);
        let name_with_namespace = match ns {
            Some(ns) => format!("{} / {}", ns.full_name, row.name),
            None => row.name.clone(),
        };
        Project {
            id: gid("Project", row.id),
            name: row.name.clone(),
            path: row.path.clone(),
            full_path: row.full_path.clone(),
            name_with_namespace,
            namespace: ns.map(|ns| Namespace::new(ns, base)),
            description: Some(row.description.clone()).filter(|d| !d.is_empty()),
            visibility: row.visibility.clone(),
            http_url_to_repo: format!("{web_url}.git"),
            web_url,
            default_branch: row.default_branch.clone(),
            archived: false,
            created_at: Time(row.created_at),
            last_activity_at: Time(row.last_activity_at),
            row,
            target,
        }
    }

    /// Where the project's repository is, as the repository fields read it.
    pub fn repository_ref(&self, scope: &RequestScope) -> RepositoryRef {
        RepositoryRef {
            repo_path: scope.repositories.path(self.row.id),
            full_path: self.row.full_path.clone(),
            base: scope.external_url.clone(),
            default_branch: self.row.default_branch.clone(),
        }
    }

    /// One project with its target for `user_id` (the gate's single-target resolution).
    pub fn load(
        conn: &mut DbConnection,
        row: ProjectRow,
        user_id: Option<i64>,
        base: &str,
    ) -> Result<Project, StoreError> {
        let target = projects::project_target(conn, &row, user_id)?;
        let tree = GroupTree::load(conn, row.group_id)?;
        let ns = namespaces::for_projects(conn, std::slice::from_ref(&row), &tree)?;
        let info = ns.get(&row.id).cloned();
        Ok(Project::new(row, target, info.as_ref(), base))
    }

    /// The projects among `rows` the caller may see for `requirement`, judged one by one with
    /// the token's eyes by the gate's listing (a fixed number of queries for the whole list).
    pub fn visible(
        conn: &mut DbConnection,
        principal: Option<&Principal>,
        requirement: &Requirement,
        rows: Vec<ProjectRow>,
        base: &str,
    ) -> Result<Vec<Project>, StoreError> {
        let visible = listing::projects(conn, principal, requirement, rows)?;
        let rows: Vec<ProjectRow> = visible.items.iter().map(|(p, _)| p.clone()).collect();
        let ns = namespaces::for_projects(conn, &rows, &visible.tree)?;
        Ok(visible
            .items
            .into_iter()
            .map(|(p, t)| {
                let info = ns.get(&p.id);
                Project::new(p, t, info, base)
            })
            .collect())
    }
}

declared_fields! {
    #[ComplexObject]
    impl Project {
        /// The project's repository (what REST's `GET /repository/tree` needs: Reporter+, or
        /// anyone on a public project).
        #[declare(
            "Project.repository",
            need(repository:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn repository(&self, ctx: &Context<'_>) -> Result<Option<Repository>> {
            let scope = RequestScope::of(ctx)?;
            let at = self.repository_ref(scope);
            let target = self.target.clone();
            scope.git(move |_| Some(Repository::inspect(at, target))).await
        }

        /// Container image repositories of the project, by name (what pulling over `/v2/`
        /// needs: container_registry:read, Reporter+, or anyone on a public project).
        #[declare(
            "Project.containerRepositories",
            need(container_registry:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn container_repositories(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Filter the container repositories by their name (contains).")]
            name: Option<String>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<ContainerRepository>>> {
            let scope = RequestScope::of(ctx)?;
            let host = registry_host(&scope.external_url);
            let (id, path) = (self.row.id, self.row.full_path.clone());
            let found = scope
                .run(move |c| ContainerRepository::of_project(c, id, &path, name.as_deref(), &host))
                .await?;
            let items = found.into_iter().map(|r| (r.row.id, r)).collect();
            Ok(Some(page(items, &PageArgs::new(after, before, first, last))?))
        }

        /// Pipelines of the project, newest first (what REST's `GET /pipelines` needs:
        /// pipeline:read, Reporter+, or anyone on a public project).
        #[declare(
            "Project.pipelines",
            need(pipeline:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn pipelines(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Filter pipelines by their status.")] status: Option<PipelineStatusEnum>,
            #[graphql(desc = "Filter pipelines by scope.")] scope: Option<PipelineScopeEnum>,
            #[graphql(name = "ref", desc = "Filter pipelines by the ref they are run for.")]
            ref_name: Option<String>,
            #[graphql(desc = "Filter pipelines by the SHA of the commit they are run for.")]
            sha: Option<String>,
            #[graphql(desc = "Filter pipelines by their source (`push`, `web`, `api`, …).")]
            source: Option<String>,
            #[graphql(desc = "Filter pipelines by the user that triggered the pipeline.")]
            username: Option<String>,
            #[graphql(desc = "Pipelines updated after this date.")] updated_after: Option<Time>,
            #[graphql(desc = "Pipelines updated before this date.")] updated_before: Option<Time>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<Pipeline>>> {
            let args = PipelineArgs {
                status, scope, ref_name, sha, source, username, updated_after, updated_before,
            };
            let paging = PageArgs::new(after, before, first, last);
            let scope = RequestScope::of(ctx)?;
            project_pipelines(scope, self.row.id, &self.row.full_path, args, paging).await.map(Some)
        }

        /// One pipeline of the project by iid, id, or commit SHA (the newest for it); null when
        /// there is none (pipeline:read, Reporter+).
        #[declare(
            "Project.pipeline",
            need(pipeline:read).min_role(Role::Reporter),
            FieldTarget::Parent,
        )]
        async fn pipeline(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "IID of the pipeline (`\"1\"`).")] iid: Option<ID>,
            #[graphql(desc = "Global ID of the pipeline.")] id: Option<CiPipelineId>,
            #[graphql(desc = "SHA of the pipeline's commit.")] sha: Option<String>,
        ) -> Result<Option<Pipeline>> {
            let scope = RequestScope::of(ctx)?;
            project_pipeline(scope, self.row.id, &self.row.full_path, iid, id, sha).await
        }

        /// One issue of the project by its iid; null when there is none the caller may see
        /// (confidential issues: Reporter+, their author and assignees only).
        #[declare("Project.issue", need(issue:read), FieldTarget::Parent)]
        async fn issue(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "IID of the issue (`\"1\"`).")] iid: String,
        ) -> Result<Option<Issue>> {
            let scope = RequestScope::of(ctx)?;
            let Ok(iid) = iid.trim().parse::<i64>() else {
                return Ok(None);
            };
            let viewer = Issue::viewer(scope.principal.as_ref(), &self.target);
            let project_id = self.row.id;
            let found = scope
                .run(move |c| issues::get(c, project_id, iid, &viewer))
                .await?;
            Ok(found.map(|i| Issue::new(i, self.target.clone(), &scope.external_url)))
        }

        /// Issues of the project the caller may see, by ascending id; `count` counts only those
        /// (capped like REST's total).
        #[declare("Project.issues", need(issue:read), FieldTarget::Parent)]
        async fn issues(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "State of the issues (default: all).")] state: Option<IssuableState>,
            #[graphql(desc = "Issues carrying every one of these labels.")]
            label_name: Option<Vec<String>>,
            #[graphql(desc = "Title or description contains this text.")] search: Option<String>,
            after: Option<String>,
            first: Option<i32>,
        ) -> Result<Option<List<Issue>>> {
            let scope = RequestScope::of(ctx)?;
            let limit = match first {
                Some(n) if n < 0 => {
                    return Err(crate::error::with_code(
                        "`first` must not be negative",
                        "invalid_argument",
                    ));
                }
                Some(n) => (n as i64).min(super::MAX_PAGE_SIZE as i64),
                None => super::MAX_PAGE_SIZE as i64,
            };
            let cursor = issue_cursor(after.as_deref())?;
            let mut filter = IssueFilter::new(ProjectScope::One(self.row.id));
            filter.state = state.and_then(IssuableState::filter);
            filter.labels = match label_name {
                Some(l) if !l.is_empty() => LabelFilter::All(l),
                _ => LabelFilter::Ignore,
            };
            filter.search = search.filter(|s| !s.trim().is_empty());
            let viewer = Issue::viewer(scope.principal.as_ref(), &self.target);
            let order = Order { by: OrderBy::Id, desc: false };
            let (found, count) = scope
                .run(move |c| {
                    let found = issues::list(c, &filter, &viewer, order, Paging::Keyset { after: cursor, limit })?;
                    let count = issues::count_capped(c, &filter, &viewer)?;
                    Ok((found, count))
                })
                .await?;
            Ok(Some(issue_page(found, count, cursor.is_some(), &self.target, &scope.external_url)))
        }

        /// One merge request of the project by its iid; null when there is none.
        #[declare("Project.mergeRequest", need(merge_request:read), FieldTarget::Parent)]
        async fn merge_request(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "IID of the merge request (`\"1\"`).")] iid: String,
        ) -> Result<Option<MergeRequest>> {
            let scope = RequestScope::of(ctx)?;
            let Ok(iid) = iid.trim().parse::<i64>() else {
                return Ok(None);
            };
            let project_id = self.row.id;
            let found = scope
                .run(move |c| {
                    let rows = merge_requests::find(c, project_id, iid)?.into_iter().collect();
                    with_authors(c, rows)
                })
                .await?;
            Ok(found.first().map(|(r, a)| {
                MergeRequest::new(r, a.as_ref(), &self.target, &scope.external_url)
            }))
        }

        /// Merge requests of the project, by ascending id; `count` counts every page.
        #[declare("Project.mergeRequests", need(merge_request:read), FieldTarget::Parent)]
        async fn merge_requests(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "State of the merge requests (default: all).")]
            state: Option<MergeRequestState>,
            #[graphql(desc = "Source branch of the merge requests.")]
            source_branches: Option<Vec<String>>,
            #[graphql(desc = "Target branch of the merge requests.")]
            target_branches: Option<Vec<String>>,
            #[graphql(desc = "Labels every merge request carries (`None`: no label, `Any`: some label).")]
            labels: Option<Vec<String>>,
            after: Option<String>,
            before: Option<String>,
            first: Option<i32>,
            last: Option<i32>,
        ) -> Result<Option<List<MergeRequest>>> {
            let scope = RequestScope::of(ctx)?;
            let filter = merge_requests::Filter {
                project_ids: Some(vec![self.row.id]),
                state: state.and_then(MergeRequestState::filter),
                labels: LabelFilter::from_param(labels),
                ..Default::default()
            };
            let found = scope
                .run(move |c| {
                    let (rows, _) = merge_requests::list(c, &filter, 0, i64::MAX)?;
                    with_authors(c, rows)
                })
                .await?;
            let wanted = |b: &String, l: &Option<Vec<String>>| {
                l.as_ref().is_none_or(|l| l.is_empty() || l.contains(b))
            };
            let items = found
                .iter()
                .filter(|(r, _)| {
                    wanted(&r.source_branch, &source_branches)
                        && wanted(&r.target_branch, &target_branches)
                })
                .map(|(r, a)| {
                    let mr =
                        MergeRequest::new(r, a.as_ref(), &self.target, &scope.external_url);
                    (r.id, mr)
                })
                .collect();
            Ok(Some(page(items, &PageArgs::new(after, before, first, last))?))
        }
    }
}
