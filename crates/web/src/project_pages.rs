//! Read-only project pages: `/` lists the signed-in user's projects; a project's page at its
//! full path, and its issues, merge requests, pipelines and container images under GitLab's
//! paths (`/acme/anvil/-/issues/3`, `/acme/anvil/container_registry`). Each page is declared
//! with the permission its content needs, so a Guest of a private project sees its issues but
//! gets a 403 page for its pipelines, exactly as the API answers.

use crate::WebConfig;
use crate::error::WebError;
use crate::pages::{
    HomePage, ImageRepositoryItem, ImageTagItem, IssueItem, IssuePage, IssuesPage, JobItem,
    MergeRequestItem, MergeRequestPage, MergeRequestsPage, NoteItem, PipelineItem, PipelinePage,
    PipelinesPage, ProjectHeader, ProjectItem, ProjectPage, RegistryPage, StageView, Tab,
};
use crate::session::{nav, render};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use std::collections::HashMap;
use tinforge_authz::{Principal, Requirement, Role, Target, decide, require};
use tinforge_gate::{Authorized, GateState, RestRoutes, listing};
use tinforge_store::ci::{jobs, pipelines};
use tinforge_store::issues::{self, IssueFilter, Order, Paging, ProjectScope, Viewer};
use tinforge_store::members;
use tinforge_store::merge_requests;
use tinforge_store::notes::{self, NoteOrder};
use tinforge_store::projects::{self, ProjectRow};
use tinforge_store::registry::{manifests, repositories};
use tinforge_store::{DbConnection, users};

/// Paths the project catch-all leaves alone (the API, the registry, the other pages).
const NOT_PROJECTS: &[&str] = &["/api/", "/v2/", "/jwt/", "/-/", "/users/", "/oauth/"];

/// The API's own rules for these reads (the same constants the REST routes declare).
use tinforge_authz::requirement::reads::{
    CONTAINER_REGISTRY as REGISTRY_READ, MERGE_REQUEST as MERGE_REQUEST_READ,
    PIPELINE as PIPELINE_READ,
};

/// Items a list page shows.
const PAGE_ITEMS: i64 = 100;

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/", require!(project:read))
        .summary("Your projects")
        .to(home);
    r.route("GET", "/{project_path:.+}/-/issues", require!(issue:read))
        .project("project_path")
        .summary("A project's issues")
        .to(issues_page);
    r.route(
        "GET",
        "/{project_path:.+}/-/issues/{iid}",
        require!(issue:read),
    )
    .project("project_path")
    .summary("An issue and its comments")
    .to(issue_page);
    r.route(
        "GET",
        "/{project_path:.+}/-/merge_requests",
        MERGE_REQUEST_READ,
    )
    .project("project_path")
    .summary("A project's merge requests")
    .to(merge_requests_page);
    r.route(
        "GET",
        "/{project_path:.+}/-/merge_requests/{iid}",
        MERGE_REQUEST_READ,
    )
    .project("project_path")
    .summary("A merge request and its comments")
    .to(merge_request_page);
    r.route("GET", "/{project_path:.+}/-/pipelines", PIPELINE_READ)
        .project("project_path")
        .summary("A project's pipelines")
        .to(pipelines_page);
    r.route(
        "GET",
        "/{project_path:.+}/-/pipelines/{pipeline_id}",
        PIPELINE_READ,
    )
    .project("project_path")
    .summary("A pipeline's stages and jobs")
    .to(pipeline_page);
    r.route(
        "GET",
        "/{project_path:.+}/container_registry",
        REGISTRY_READ,
    )
    .project("project_path")
    .summary("A project's container images and their tags")
    .to(registry_page);
    r.route("GET", "/{project_path:.+}", require!(project:read))
        .project("project_path")
        .except_under(NOT_PROJECTS)
        .summary("A project's overview")
        .to(project_page);
}

fn when(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

async fn home(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
) -> Result<HttpResponse, WebError> {
    let p = auth.principal()?.clone();
    let nav = nav(&req, &gate, Some(&p));
    let projects = auth
        .run(move |c| -> Result<Vec<ProjectItem>, WebError> {
            let rows = projects::list(
                c,
                &projects::ProjectFilter {
                    viewer: members::Viewer::User(p.user_id),
                    min_access_level: Some(Role::Guest),
                    ..Default::default()
                },
                projects::ProjectOrder::default(),
                false,
            )?;
            let visible = listing::projects(c, Some(&p), &require!(project:read), rows)?;
            Ok(visible
                .items
                .into_iter()
                .map(|(row, target)| ProjectItem {
                    url: format!("/{}", row.full_path),
                    name: row.name,
                    full_path: row.full_path,
                    visibility: row.visibility,
                    role: target.role.as_str().to_string(),
                    description: row.description,
                })
                .collect())
        })
        .await?;
    render(&HomePage { nav, projects })
}

/// The project the gate authorized, with its header and the caller as the pages see them.
struct ProjectContext {
    row: ProjectRow,
    target: Target,
    principal: Option<Principal>,
}

fn context(
    c: &mut DbConnection,
    auth_target: Target,
    principal: Option<Principal>,
) -> Result<ProjectContext, WebError> {
    let row = projects::find(c, auth_target.id)?
        .ok_or(WebError::NotFound("The project could not be found."))?;
    Ok(ProjectContext {
        row,
        target: auth_target,
        principal,
    })
}

impl ProjectContext {
    fn header(&self, active: &str) -> ProjectHeader {
        let base = format!("/{}", self.row.full_path);
        let tab = |label: &str, url: String| Tab {
            active: label == active,
            label: label.into(),
            url,
        };
        ProjectHeader {
            name: self.row.name.clone(),
            full_path: self.row.full_path.clone(),
            url: base.clone(),
            visibility: self.row.visibility.clone(),
            description: self.row.description.clone(),
            tabs: vec![
                tab("Overview", base.clone()),
                tab("Issues", format!("{base}/-/issues")),
                tab("Merge requests", format!("{base}/-/merge_requests")),
                tab("Pipelines", format!("{base}/-/pipelines")),
                tab("Container registry", format!("{base}/container_registry")),
            ],
        }
    }

    fn viewer(&self) -> Viewer {
        Viewer::on_target(self.principal.as_ref(), &self.target)
    }

    fn url(&self, rest: &str) -> String {
        format!("/{}/{rest}", self.row.full_path)
    }
}

/// Usernames of `ids`, in one query per distinct id at most.
fn usernames(
    c: &mut DbConnection,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, String>, WebError> {
    let mut out = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(id)
            && let Some(u) = users::find(c, id)?
        {
            e.insert(u.username);
        }
    }
    Ok(out)
}

/// The project the gate authorized, the caller, and the navigation bar for them.
fn page_parts(
    auth: &Authorized,
    req: &HttpRequest,
    gate: &GateState,
) -> Result<(Target, Option<Principal>, crate::pages::Nav), WebError> {
    let target = auth
        .target
        .clone()
        .ok_or(WebError::NotFound("The project could not be found."))?;
    let principal = auth.principal.clone();
    let nav = nav(req, gate, principal.as_ref());
    Ok((target, principal, nav))
}

async fn project_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
) -> Result<HttpResponse, WebError> {
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let external = cfg.external_url.clone();
    let page = auth
        .run(move |c| -> Result<ProjectPage, WebError> {
            let ctx = context(c, target, principal)?;
            let clone_url = format!("{external}/{}.git", ctx.row.full_path);
            let counts = summary_counts(c, &ctx)?;
            Ok(ProjectPage {
                nav,
                project: ctx.header("Overview"),
                readme_hint: format!("git clone {clone_url}"),
                counts,
            })
        })
        .await?;
    render(&page)
}

/// The overview's counts, each only where the caller may read that section (by the same
/// declarations the section pages are judged by).
fn summary_counts(
    c: &mut DbConnection,
    ctx: &ProjectContext,
) -> Result<Vec<(String, usize)>, WebError> {
    let may = |req: &Requirement| decide(ctx.principal.as_ref(), req, Some(&ctx.target)).is_allow();
    let mut counts = Vec::new();
    if may(&require!(issue:read)) {
        let mut filter = IssueFilter::new(ProjectScope::One(ctx.row.id));
        filter.state = Some("opened");
        let total = issues::count_capped(c, &filter, &ctx.viewer())?;
        counts.push(("Open issues".to_string(), total.unwrap_or(0) as usize));
    }
    if may(&MERGE_REQUEST_READ) {
        let filter = merge_requests::Filter {
            project_ids: Some(vec![ctx.row.id]),
            state: Some("opened".into()),
            ..Default::default()
        };
        let (_, total) = merge_requests::list(c, &filter, 0, 0)?;
        counts.push(("Open merge requests".to_string(), total as usize));
    }
    if may(&PIPELINE_READ) {
        let (_, total) =
            pipelines::list(c, ctx.row.id, &pipelines::PipelineFilter::default(), 0, 0)?;
        counts.push(("Pipelines".to_string(), total as usize));
    }
    if may(&REGISTRY_READ) {
        let images = repositories::list_for_projects(c, &[ctx.row.id])?.len();
        counts.push(("Container images".to_string(), images));
    }
    Ok(counts)
}

#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

async fn issues_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    query: web::Query<StateQuery>,
) -> Result<HttpResponse, WebError> {
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let state = match query.state.as_deref() {
        Some("closed") => "closed",
        Some("all") => "all",
        _ => "opened",
    };
    let page = auth
        .run(move |c| -> Result<IssuesPage, WebError> {
            let ctx = context(c, target, principal)?;
            let mut filter = IssueFilter::new(ProjectScope::One(ctx.row.id));
            filter.state = match state {
                "all" => None,
                s => Some(s),
            };
            let found = issues::list(
                c,
                &filter,
                &ctx.viewer(),
                Order::default(),
                Paging::Offset {
                    offset: 0,
                    limit: PAGE_ITEMS,
                },
            )?;
            Ok(IssuesPage {
                nav,
                project: ctx.header("Issues"),
                issues: found.issues.iter().map(|i| issue_item(&ctx, i)).collect(),
                state: state.into(),
            })
        })
        .await?;
    render(&page)
}

fn issue_item(ctx: &ProjectContext, i: &issues::Issue) -> IssueItem {
    IssueItem {
        iid: i.row.iid,
        title: i.row.title.clone(),
        url: ctx.url(&format!("-/issues/{}", i.row.iid)),
        state: i.row.state.clone(),
        author: i
            .author
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_default(),
        labels: i.labels.iter().map(|l| l.name.clone()).collect(),
        created_at: when(i.row.created_at),
    }
}

fn note_items(found: Vec<notes::Note>) -> Vec<NoteItem> {
    found
        .into_iter()
        .map(|n| NoteItem {
            author: n.author.map(|u| u.username).unwrap_or_default(),
            created_at: when(n.row.created_at),
            body: n.row.body,
        })
        .collect()
}

fn iid_of(text: &str, what: &'static str) -> Result<i64, WebError> {
    text.parse().map_err(|_| WebError::NotFound(what))
}

async fn issue_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    const MISSING: &str = "The issue could not be found.";
    let iid = iid_of(&path.1, MISSING)?;
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let page = auth
        .run(move |c| -> Result<IssuePage, WebError> {
            let ctx = context(c, target, principal)?;
            let viewer = ctx.viewer();
            let issue =
                issues::get(c, ctx.row.id, iid, &viewer)?.ok_or(WebError::NotFound(MISSING))?;
            let (found, _) = notes::list(
                c,
                &issue.row,
                &viewer,
                NoteOrder::CreatedAt,
                false,
                0,
                PAGE_ITEMS,
            )?;
            Ok(IssuePage {
                nav,
                project: ctx.header("Issues"),
                issue: issue_item(&ctx, &issue),
                description: issue.row.description.clone().unwrap_or_default(),
                notes: note_items(found),
            })
        })
        .await?;
    render(&page)
}

fn merge_request_item(
    ctx: &ProjectContext,
    m: &merge_requests::MergeRequestRow,
    authors: &HashMap<i64, String>,
) -> MergeRequestItem {
    MergeRequestItem {
        iid: m.iid,
        title: m.title.clone(),
        url: ctx.url(&format!("-/merge_requests/{}", m.iid)),
        state: m.state.clone(),
        author: authors.get(&m.author_id).cloned().unwrap_or_default(),
        source_branch: m.source_branch.clone(),
        target_branch: m.target_branch.clone(),
        created_at: when(m.created_at),
    }
}

async fn merge_requests_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    query: web::Query<StateQuery>,
) -> Result<HttpResponse, WebError> {
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let state = match query.state.as_deref() {
        Some(s @ ("merged" | "closed" | "all")) => s.to_string(),
        _ => "opened".to_string(),
    };
    let page = auth
        .run(move |c| -> Result<MergeRequestsPage, WebError> {
            let ctx = context(c, target, principal)?;
            let filter = merge_requests::Filter {
                project_ids: Some(vec![ctx.row.id]),
                state: (state != "all").then(|| state.clone()),
                ..Default::default()
            };
            let (rows, _) = merge_requests::list(c, &filter, 0, PAGE_ITEMS)?;
            let authors = usernames(c, rows.iter().map(|m| m.author_id))?;
            Ok(MergeRequestsPage {
                nav,
                project: ctx.header("Merge requests"),
                merge_requests: rows
                    .iter()
                    .map(|m| merge_request_item(&ctx, m, &authors))
                    .collect(),
                state,
            })
        })
        .await?;
    render(&page)
}

async fn merge_request_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    const MISSING: &str = "The merge request could not be found.";
    let iid = iid_of(&path.1, MISSING)?;
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let page = auth
        .run(move |c| -> Result<MergeRequestPage, WebError> {
            let ctx = context(c, target, principal)?;
            let m = merge_requests::find(c, ctx.row.id, iid)?.ok_or(WebError::NotFound(MISSING))?;
            let (found, _) = notes::list(
                c,
                &m,
                &ctx.viewer(),
                NoteOrder::CreatedAt,
                false,
                0,
                PAGE_ITEMS,
            )?;
            let authors = usernames(c, std::iter::once(m.author_id))?;
            Ok(MergeRequestPage {
                nav,
                project: ctx.header("Merge requests"),
                merge_request: merge_request_item(&ctx, &m, &authors),
                description: m.description.clone(),
                notes: note_items(found),
            })
        })
        .await?;
    render(&page)
}

fn pipeline_item(ctx: &ProjectContext, p: &pipelines::PipelineRow) -> PipelineItem {
    PipelineItem {
        id: p.id,
        iid: p.iid,
        url: ctx.url(&format!("-/pipelines/{}", p.id)),
        status: p.status.clone(),
        git_ref: p.ref_name.clone(),
        sha_short: p.sha.chars().take(8).collect(),
        source: p.source.clone(),
        created_at: when(p.created_at),
    }
}

async fn pipelines_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
) -> Result<HttpResponse, WebError> {
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let page = auth
        .run(move |c| -> Result<PipelinesPage, WebError> {
            let ctx = context(c, target, principal)?;
            let (rows, _) = pipelines::list(
                c,
                ctx.row.id,
                &pipelines::PipelineFilter::default(),
                0,
                PAGE_ITEMS,
            )?;
            Ok(PipelinesPage {
                nav,
                project: ctx.header("Pipelines"),
                pipelines: rows.iter().map(|p| pipeline_item(&ctx, p)).collect(),
            })
        })
        .await?;
    render(&page)
}

async fn pipeline_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    const MISSING: &str = "The pipeline could not be found.";
    let id = iid_of(&path.1, MISSING)?;
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let page = auth
        .run(move |c| -> Result<PipelinePage, WebError> {
            let ctx = context(c, target, principal)?;
            let pipeline = pipelines::find_in_project(c, ctx.row.id, id)?
                .ok_or(WebError::NotFound(MISSING))?;
            let mut job_rows = jobs::for_pipeline(c, pipeline.id, false)?;
            job_rows.sort_by_key(|j| (j.stage_idx, j.id));
            let mut stages: Vec<StageView> = Vec::new();
            for j in job_rows {
                let job = JobItem {
                    id: j.id,
                    name: j.name.clone(),
                    status: j.status.clone(),
                    duration: match (j.started_at, j.finished_at) {
                        (Some(s), Some(f)) => format!("{}s", (f - s).num_seconds()),
                        _ => String::new(),
                    },
                };
                match stages.last_mut() {
                    Some(s) if s.name == j.stage => s.jobs.push(job),
                    _ => stages.push(StageView {
                        name: j.stage,
                        jobs: vec![job],
                    }),
                }
            }
            Ok(PipelinePage {
                nav,
                project: ctx.header("Pipelines"),
                pipeline: pipeline_item(&ctx, &pipeline),
                stages,
            })
        })
        .await?;
    render(&page)
}

fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut size = bytes.max(0) as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

async fn registry_page(
    auth: Authorized,
    req: HttpRequest,
    gate: web::Data<GateState>,
    cfg: web::Data<WebConfig>,
) -> Result<HttpResponse, WebError> {
    let (target, principal, nav) = page_parts(&auth, &req, &gate)?;
    let host = cfg.registry_host.clone();
    let page = auth
        .run(move |c| -> Result<RegistryPage, WebError> {
            let ctx = context(c, target, principal)?;
            let mut out = Vec::new();
            for repo in repositories::list_for_projects(c, &[ctx.row.id])? {
                let image = repo.image_name(&ctx.row.full_path);
                let tags = manifests::tag_details(c, repo.id)?
                    .into_iter()
                    .map(|t| ImageTagItem {
                        name: t.name,
                        digest_short: t.digest.chars().take(19).collect(),
                        size: human_size(t.total_size),
                        created_at: when(t.created_at),
                    })
                    .collect();
                out.push(ImageRepositoryItem {
                    location: format!("{host}/{image}"),
                    path: image,
                    tags,
                });
            }
            Ok(RegistryPage {
                nav,
                project: ctx.header("Container registry"),
                repositories: out,
            })
        })
        .await?;
    render(&page)
}
