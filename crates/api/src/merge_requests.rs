//! GitLab's merge request REST API: the record in the store, its branches, diffs, mergeability
//! and the merge itself in the repository ([`tinforge_store::git::merging`], shared with
//! GraphQL). Mergeability is computed for real on every read, never cached; merging follows the
//! project's merge method.
//!
//! Reading needs `merge_request:read` (Reporter), opening `merge_request:create` (Developer),
//! editing and approving `merge_request:update` (Developer), deleting `merge_request:delete`
//! (Owner). Merging is a conjunction, `merge_request:update` AND `repository:update`, plus the
//! merge level of a protected target branch.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::merge_request_views::{
    Approvals, Approver, MergeRequest, MergeRequestChanges, People, basic_user,
};
use crate::pagination::{self, Page};
use crate::params::{Params, flag, names, required, text};
use crate::repo_context::{Ctx, blocking, caller, check_branch_write, context, path_param};
use crate::repository_views::{Commit, Diff, diffs};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};
use tinforge_authz::requirement::raises;
use tinforge_authz::{Role, require};
use tinforge_gate::listing::{self, Listing};
use tinforge_gate::{Authorized, GateError, RestRoutes, branches};
use tinforge_store::git::merging::{self, Accept, MergeMethod, NewMergeRequestError};
use tinforge_store::git::objects;
use tinforge_store::issues::LabelFilter;
use tinforge_store::merge_requests::{self as store, Changes, Filter, MergeRequestRow};
use tinforge_store::{
    DbConnection, StoreError, merge_request_labels, notes, projects, users, write_transaction,
};

pub fn declare(r: &mut RestRoutes) {
    let read = tinforge_authz::requirement::reads::MERGE_REQUEST;
    let create = require!(merge_request:create).min_role(Role::Developer);
    let update = require!(merge_request:update).min_role(Role::Developer);
    let delete = require!(merge_request:delete).min_role(Role::Owner);
    let merge = require!(merge_request:update, repository:update)
        .min_role(Role::Developer)
        .raised(&[raises::PROTECTED_BRANCH]);
    r.route("GET", "/api/v4/merge_requests", read)
        .list()
        .summary("Merge requests across visible projects (scope, state)")
        .returns_list::<MergeRequest>()
        .to(list_all);
    let base = "/api/v4/projects/{id}/merge_requests";
    r.route("GET", base, read)
        .project("id")
        .summary("A project's merge requests (state, source_branch, target_branch)")
        .returns_list::<MergeRequest>()
        .to(list_project);
    r.route("POST", base, create)
        .project("id")
        .summary("Open a merge request between two branches")
        .returns::<MergeRequest>()
        .to(open);
    let one = "/api/v4/projects/{id}/merge_requests/{merge_request_iid}";
    let at = |s: &str| format!("{one}{s}");
    r.route("GET", one, read)
        .project("id")
        .summary("A merge request, with its merge status")
        .returns::<MergeRequest>()
        .to(show);
    r.route("PUT", one, update)
        .project("id")
        .summary("Edit, close or reopen a merge request")
        .returns::<MergeRequest>()
        .to(edit);
    r.route("DELETE", one, delete)
        .project("id")
        .summary("Delete a merge request")
        .to(remove);
    r.route("GET", &at("/changes"), read)
        .project("id")
        .summary("A merge request with its changes")
        .returns::<MergeRequestChanges>()
        .to(changes);
    r.route("GET", &at("/diffs"), read)
        .project("id")
        .summary("The diffs of a merge request")
        .returns_list::<Diff>()
        .to(diffs_of);
    r.route("GET", &at("/commits"), read)
        .project("id")
        .summary("The commits of a merge request")
        .returns_list::<Commit>()
        .to(commits);
    r.route("POST", &at("/approve"), update)
        .project("id")
        .summary("Approve a merge request")
        .returns::<Approvals>()
        .to(approve);
    r.route("PUT", &at("/merge"), merge)
        .project("id")
        .summary(
            "Merge a merge request (sha guard, should_remove_source_branch, \
             merge_when_pipeline_succeeds)",
        )
        .returns::<MergeRequest>()
        .to(merge_it);
    r.route("POST", &at("/cancel_merge_when_pipeline_succeeds"), update)
        .project("id")
        .summary("Cancel the automatic merge when the pipeline succeeds")
        .returns::<MergeRequest>()
        .to(cancel_auto_merge);
}

/// GitLab's `404 Not found` for a merge request that does not exist.
fn not_found() -> ApiError {
    ApiError::Store(StoreError::NotFound)
}

/// GitLab's 405 for an action the merge request's state does not allow.
fn not_allowed() -> ApiError {
    ApiError::message(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed")
}

fn people(c: &mut DbConnection, mr: &MergeRequestRow) -> Result<People, StoreError> {
    let user_notes_count = notes::user_notes_count(c, mr)?;
    let mut find = |id: Option<i64>| {
        id.map(|i| users::find(c, i))
            .transpose()
            .map(Option::flatten)
    };
    Ok(People {
        author: find(Some(mr.author_id))?,
        merged_by: find(mr.merged_by_id)?,
        closed_by: find(mr.closed_by_id)?,
        labels: merge_request_labels::names_of(c, &[mr.id])?
            .remove(&mr.id)
            .unwrap_or_default(),
        user_notes_count,
    })
}

/// The merge request `id` as it is now, with its people.
fn reload(c: &mut DbConnection, id: i64) -> Result<(MergeRequestRow, People), ApiError> {
    let mr = store::find_by_id(c, id)?.ok_or_else(not_found)?;
    let who = people(c, &mr)?;
    Ok((mr, who))
}

/// The labels after an edit: `labels` replaces them, `add_labels` and `remove_labels` adjust.
fn relabel(p: &Map<String, Value>, current: &[String]) -> Option<Vec<String>> {
    let (replace, add, remove) = (
        names(p, "labels"),
        names(p, "add_labels"),
        names(p, "remove_labels"),
    );
    if replace.is_none() && add.is_none() && remove.is_none() {
        return None;
    }
    let mut out = replace.unwrap_or_else(|| current.to_vec());
    for n in add.unwrap_or_default() {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    let remove = remove.unwrap_or_default();
    out.retain(|n| !remove.contains(n));
    Some(out)
}

fn project_path(auth: &Authorized) -> String {
    auth.target
        .as_ref()
        .map(|t| t.full_path.clone())
        .unwrap_or_default()
}

fn iid(req: &HttpRequest) -> Result<i64, ApiError> {
    path_param(req, "merge_request_iid")
        .parse()
        .map_err(|_| not_found())
}

async fn load(
    auth: &Authorized,
    ctx: &Ctx,
    iid: i64,
) -> Result<(MergeRequestRow, People), ApiError> {
    let project_id = ctx.project_id;
    auth.run(move |c| -> Result<_, ApiError> {
        let mr = store::find(c, project_id, iid)?.ok_or_else(not_found)?;
        let who = people(c, &mr)?;
        Ok((mr, who))
    })
    .await
}

/// The merge request with fresh git state.
async fn render(
    auth: &Authorized,
    cfg: &ApiConfig,
    ctx: &Ctx,
    mr: MergeRequestRow,
    who: People,
) -> Result<MergeRequest, ApiError> {
    let path = ctx.repo_path.clone();
    let (mr, git) = blocking(move || {
        let git = merging::git_state(&objects::open(&path)?, &mr)?;
        Ok((mr, git))
    })
    .await?;
    Ok(MergeRequest::of(
        &mr,
        &who,
        &git,
        ctx.merge_method,
        cfg,
        &project_path(auth),
    ))
}

fn filter_of(p: &Map<String, Value>) -> Result<Filter, ApiError> {
    let state = match text(p, "state").as_deref() {
        None | Some("all") => None,
        Some(s @ ("opened" | "closed" | "merged")) => Some(s.to_string()),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "state does not have a valid value".into(),
            ));
        }
    };
    Ok(Filter {
        project_ids: None,
        state,
        source_branch: text(p, "source_branch"),
        target_branch: text(p, "target_branch"),
        author_id: None,
        labels: LabelFilter::from_param(names(p, "labels")),
    })
}

async fn list_project(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let mut filter = filter_of(params.map()?)?;
    filter.project_ids = Some(vec![ctx.project_id]);
    let page = Page::from_params(&params)?;
    let (rows, total) = auth
        .run(move |c| -> Result<_, ApiError> {
            let (rows, total) = store::list(c, &filter, page.offset(), page.limit())?;
            let with_people = rows
                .into_iter()
                .map(|r| Ok((people(c, &r)?, r)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((with_people, total))
        })
        .await?;
    let mut items = Vec::new();
    for (who, mr) in rows {
        items.push(render(&auth, &cfg, &ctx, mr, who).await?);
    }
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

/// `GET /merge_requests`: across the projects whose merge requests the caller may read, judged
/// per project by the gate's listing rule; `scope` created_by_me (default when signed in) or all.
async fn list_all(
    list: Listing,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?;
    let mut filter = filter_of(p)?;
    let principal = list.principal.clone();
    filter.author_id = match (text(p, "scope").as_deref(), &principal) {
        (None | Some("created_by_me"), Some(who)) => Some(who.user_id),
        (None | Some("all"), _) => None,
        (Some("created_by_me"), None) => {
            return Err(ApiError::Gate(GateError::Unauthorized));
        }
        _ => {
            return Err(ApiError::BadRequest(
                "scope does not have a valid value".into(),
            ));
        }
    };
    let page = Page::from_params(&params)?;
    let requirement = list.endpoint.requirement;
    let (rows, total, projects) = list
        .run(move |c| -> Result<_, ApiError> {
            let mut rows = Vec::new();
            for id in store::project_ids(c, &filter)? {
                if let Some(p) = projects::find(c, id)? {
                    rows.push(p);
                }
            }
            let visible = listing::projects(c, principal.as_ref(), &requirement, rows)?;
            let projects: Vec<(i64, String, String, MergeMethod)> = visible
                .items
                .iter()
                .map(|(p, _)| {
                    (
                        p.id,
                        p.full_path.clone(),
                        p.default_branch.clone(),
                        MergeMethod::of_stored(&p.merge_method),
                    )
                })
                .collect();
            filter.project_ids = Some(projects.iter().map(|p| p.0).collect());
            let (rows, total) = store::list(c, &filter, page.offset(), page.limit())?;
            let with_people = rows
                .into_iter()
                .map(|r| Ok((people(c, &r)?, r)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((with_people, total, projects))
        })
        .await?;
    let config = cfg.clone();
    let items = blocking(move || {
        let mut items = Vec::new();
        for (who, mr) in rows {
            let Some((_, path, branch, method)) = projects.iter().find(|p| p.0 == mr.project_id)
            else {
                continue;
            };
            let repo_path = config
                .repositories
                .ensure(mr.project_id, branch)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let state = merging::git_state(&objects::open(&repo_path)?, &mr)?;
            items.push(MergeRequest::of(&mr, &who, &state, *method, &config, path));
        }
        Ok(items)
    })
    .await?;
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn open(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?;
    let source = required(p, "source_branch")?;
    let target = required(p, "target_branch")?;
    let title = required(p, "title")?;
    let description = text(p, "description").unwrap_or_default();
    let ctx = context(&auth, &cfg).await?;
    let path = ctx.repo_path.clone();
    let (s, t) = (source.clone(), target.clone());
    blocking(move || {
        merging::check_new(&objects::open(&path)?, &s, &t).map_err(|e| match e {
            NewMergeRequestError::SameBranch => ApiError::invalid(e.to_string()),
            NewMergeRequestError::SourceMissing => ApiError::NotFound("Source branch"),
            NewMergeRequestError::TargetMissing => ApiError::NotFound("Target branch"),
        })
    })
    .await?;
    let author_id = auth.principal()?.user_id;
    let project_id = ctx.project_id;
    let labels = names(p, "labels").unwrap_or_default();
    let (mr, who) = auth
        .run(move |c| -> Result<_, ApiError> {
            Ok(write_transaction(c, |c| -> Result<_, StoreError> {
                let mr = store::create(
                    c,
                    &store::NewMergeRequest {
                        project_id,
                        title: &title,
                        description: &description,
                        source_branch: &source,
                        target_branch: &target,
                        author_id,
                    },
                )?;
                merge_request_labels::set(c, project_id, mr.id, &labels)?;
                let who = people(c, &mr)?;
                Ok((mr, who))
            })?)
        })
        .await?;
    if let (Some(trigger), Ok(repo)) = (ctx.trigger.clone(), objects::open(&ctx.repo_path))
        && let Some(tip) = objects::branch_tip(&repo, &mr.source_branch)
    {
        trigger.spawn_merge_request(mr.id, mr.source_branch.clone(), tip.to_string());
    }
    let view = render(&auth, &cfg, &ctx, mr, who).await?;
    Ok(HttpResponse::Created().json(view))
}

async fn show(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let (mr, who) = load(&auth, &ctx, iid(&req)?).await?;
    Ok(HttpResponse::Ok().json(render(&auth, &cfg, &ctx, mr, who).await?))
}

async fn edit(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?.clone();
    let close = match text(&p, "state_event").as_deref() {
        None => None,
        Some("close") => Some(true),
        Some("reopen") => Some(false),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "state_event does not have a valid value".into(),
            ));
        }
    };
    let changes = Changes {
        title: text(&p, "title"),
        description: text(&p, "description"),
        target_branch: text(&p, "target_branch"),
        close,
    };
    let ctx = context(&auth, &cfg).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if let Some(t) = &changes.target_branch {
        let path = ctx.repo_path.clone();
        let t = t.clone();
        blocking(move || {
            objects::branch_tip(&objects::open(&path)?, &t)
                .map(|_| ())
                .ok_or(ApiError::NotFound("Target branch"))
        })
        .await?;
    }
    let actor = auth.principal()?.user_id;
    let (mr, who) = auth
        .run(move |c| -> Result<_, ApiError> {
            Ok(write_transaction(c, |c| -> Result<_, StoreError> {
                let current = merge_request_labels::names_of(c, &[mr.id])?
                    .remove(&mr.id)
                    .unwrap_or_default();
                let mr = store::update(c, mr.id, actor, &changes)?;
                if let Some(labels) = relabel(&p, &current) {
                    merge_request_labels::set(c, mr.project_id, mr.id, &labels)?;
                }
                let who = people(c, &mr)?;
                Ok((mr, who))
            })?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(render(&auth, &cfg, &ctx, mr, who).await?))
}

async fn remove(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    auth.run(move |c| store::delete(c, mr.id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn changes(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let (mr, who) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let row = mr.clone();
    let list =
        blocking(move || Ok(diffs(&merging::changes(&objects::open(&path)?, &row)?))).await?;
    Ok(HttpResponse::Ok().json(MergeRequestChanges {
        merge_request: render(&auth, &cfg, &ctx, mr, who).await?,
        changes: list,
        overflow: false,
    }))
}

async fn diffs_of(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let page = Page::from_params(&params)?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let list = blocking(move || Ok(diffs(&merging::changes(&objects::open(&path)?, &mr)?))).await?;
    let (total, items) = page.cut(list);
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn commits(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let page = Page::from_params(&params)?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let web_base = ctx.web_base.clone();
    let list = blocking(move || {
        let repo = objects::open(&path)?;
        merging::commits(&repo, &mr)?
            .into_iter()
            .map(|o| Ok(Commit::of(&repo.find_commit(o)?, &web_base)))
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    let (total, items) = page.cut(list);
    Ok(pagination::respond(
        &req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn approve(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if mr.state != store::OPENED {
        return Err(not_allowed());
    }
    let user_id = auth.principal()?.user_id;
    let config = cfg.clone();
    let approvals = auth
        .run(move |c| -> Result<_, ApiError> {
            if !store::approve(c, mr.id, user_id)? {
                return Err(ApiError::Conflict(
                    "You have already approved this merge request".into(),
                ));
            }
            let mut approved_by = Vec::new();
            for id in store::approvers(c, mr.id)? {
                let u = users::find(c, id)?;
                approved_by.push(Approver {
                    user: basic_user(u.as_ref(), &config),
                });
            }
            Ok(Approvals {
                id: mr.id,
                iid: mr.iid,
                project_id: mr.project_id,
                title: mr.title,
                description: mr.description,
                state: mr.state,
                approved: true,
                approvals_required: 0,
                approvals_left: 0,
                approved_by,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(approvals))
}

async fn merge_it(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = params.map()?;
    let expected_sha = text(p, "sha").filter(|s| !s.is_empty());
    let remove_source = flag(p, "should_remove_source_branch");
    let ctx = context(&auth, &cfg).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if !merging::can_be_accepted(&mr) {
        return Err(not_allowed());
    }
    check_branch_write(&auth, &mr.target_branch, true).await?;
    let remove_source = remove_source
        && branches::removable_after_merge(
            auth.store(),
            ctx.project_id,
            &ctx.default_branch,
            &mr.source_branch,
        )
        .await?;
    if flag(p, "merge_when_pipeline_succeeds") || flag(p, "auto_merge") {
        let (id, project_id) = (mr.id, ctx.project_id);
        let source_tip = {
            let repo = objects::open(&ctx.repo_path)?;
            objects::branch_tip(&repo, &mr.source_branch).map(|o| o.to_string())
        };
        let head = match source_tip {
            Some(sha) => {
                auth.run(move |c| {
                    tinforge_store::ci::pipelines::latest_for_sha(c, project_id, &sha)
                })
                .await?
            }
            None => None,
        };
        // Merged now when the head pipeline already passed or there is none to wait for.
        let waits = head.as_ref().is_some_and(|p| {
            !matches!(
                p.status.as_str(),
                "success" | "failed" | "canceled" | "skipped"
            )
        });
        if head.as_ref().is_some_and(|p| p.status == "failed") {
            return Err(not_allowed());
        }
        if waits {
            let actor = auth.principal()?.user_id;
            let (mr, who) = auth
                .run(move |c| -> Result<_, ApiError> {
                    store::set_merge_when_pipeline_succeeds(c, id, Some(actor))?;
                    reload(c, id)
                })
                .await?;
            return Ok(HttpResponse::Ok().json(render(&auth, &cfg, &ctx, mr, who).await?));
        }
    }
    let message = text(p, "merge_commit_message")
        .unwrap_or_else(|| merging::default_message(&mr, &project_path(&auth)));
    let how = Accept {
        expected_sha,
        message,
        who: caller(&auth).await?,
        method: ctx.merge_method,
        remove_source,
    };
    let (path, row) = (ctx.repo_path.clone(), mr.clone());
    let merged = blocking(move || Ok(merging::accept(&path, &row, &how)?.to_string())).await?;
    let actor = auth.principal()?.user_id;
    let id = mr.id;
    let (mr, who) = auth
        .run(move |c| -> Result<_, ApiError> {
            if !store::mark_merged(c, id, actor, &merged)? {
                return Err(not_allowed());
            }
            reload(c, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(render(&auth, &cfg, &ctx, mr, who).await?))
}

/// `POST …/cancel_merge_when_pipeline_succeeds`: the merge request stays open, unmerged.
async fn cancel_auto_merge(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&auth, &cfg).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if mr.state != store::OPENED {
        return Err(not_allowed());
    }
    let id = mr.id;
    let (mr, who) = auth
        .run(move |c| -> Result<_, ApiError> {
            store::set_merge_when_pipeline_succeeds(c, id, None)?;
            reload(c, id)
        })
        .await?;
    Ok(HttpResponse::Created().json(render(&auth, &cfg, &ctx, mr, who).await?))
}
