//! GitLab's merge request REST API: the record in the store, the branches, diffs, mergeability
//! and the merge itself in the repository (libgit2, see [`tinforge_store::git::objects`]).
//!
//! Reading needs `merge_request:read` (Reporter), opening `merge_request:create` (Developer),
//! editing and approving `merge_request:update` (Developer), deleting `merge_request:delete`
//! (Owner). Merging is a conjunction, `merge_request:update` AND `repository:update`, plus the
//! merge level of a protected target branch. Mergeability is computed for real on every read with
//! an in-memory three-way merge (`merge_commits`), never cached; merging follows the project's
//! merge method. Both live in [`tinforge_store::git::merging`], shared with GraphQL.

use crate::repository::{
    Ctx, R, RepoError, blocking, caller, check_branch_write, commit_view, context, diff_view, flag,
    params, required, string,
};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use tinforge_authz::{Role, require};
use tinforge_gate::authorized::decode;
use tinforge_gate::branches;
use tinforge_gate::listing::{self, Listing};
use tinforge_gate::{Authorized, GateError, RestRoutes};
use tinforge_store::git::merging::{self, Accept, GitState, MergeMethod, NewMergeRequestError};
use tinforge_store::git::objects::{self, Person};
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
        .raised(&[tinforge_authz::requirement::raises::PROTECTED_BRANCH]);
    r.route("GET", "/api/v4/merge_requests", read)
        .list()
        .summary("Merge requests across visible projects (scope, state)")
        .to(list_all);
    let base = "/api/v4/projects/{id}/merge_requests";
    r.route("GET", base, read)
        .project("id")
        .summary("A project's merge requests (state, source_branch, target_branch)")
        .to(list_project);
    r.route("POST", base, create)
        .project("id")
        .summary("Open a merge request between two branches")
        .to(open);
    let one = "/api/v4/projects/{id}/merge_requests/{merge_request_iid}";
    let at = |s: &str| format!("{one}{s}");
    r.route("GET", one, read)
        .project("id")
        .summary("A merge request, with its merge status")
        .to(show);
    r.route("PUT", one, update)
        .project("id")
        .summary("Edit, close or reopen a merge request")
        .to(edit);
    r.route("DELETE", one, delete)
        .project("id")
        .summary("Delete a merge request")
        .to(remove);
    r.route("GET", &at("/changes"), read)
        .project("id")
        .summary("A merge request with its changes")
        .to(changes);
    r.route("GET", &at("/diffs"), read)
        .project("id")
        .summary("The diffs of a merge request")
        .to(diffs);
    r.route("GET", &at("/commits"), read)
        .project("id")
        .summary("The commits of a merge request")
        .to(commits);
    r.route("POST", &at("/approve"), update)
        .project("id")
        .summary("Approve a merge request")
        .to(approve);
    r.route("PUT", &at("/merge"), merge)
        .project("id")
        .summary(
            "Merge a merge request (sha guard, should_remove_source_branch, \
             merge_when_pipeline_succeeds)",
        )
        .to(merge_it);
    r.route("POST", &at("/cancel_merge_when_pipeline_succeeds"), update)
        .project("id")
        .summary("Cancel the automatic merge when the pipeline succeeds")
        .to(cancel_auto_merge);
}

fn time(t: Option<chrono::NaiveDateTime>) -> Value {
    match t {
        Some(t) => json!(
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        None => Value::Null,
    }
}

fn user_view(u: Option<&users::User>, host: &str) -> Value {
    match u {
        Some(u) => json!({
            "id": u.id,
            "username": u.username,
            "name": u.name,
            "state": u.state,
            "avatar_url": null,
            "web_url": format!("{host}/{}", u.username),
        }),
        None => Value::Null,
    }
}

/// What an MR's JSON needs from the database beyond its row, loaded once: the people it names,
/// its labels and how many notes people wrote on it.
struct People {
    author: Option<users::User>,
    merged_by: Option<users::User>,
    closed_by: Option<users::User>,
    labels: Vec<String>,
    user_notes_count: i64,
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

/// A list parameter: a JSON array or GitLab's comma-separated string.
fn names(p: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect()
    };
    match p.get(key)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .flat_map(split)
                .collect(),
        ),
        Value::String(s) => Some(split(s)),
        _ => None,
    }
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

/// GitLab's merge request JSON.
fn view(
    mr: &MergeRequestRow,
    who: &People,
    git: &GitState,
    method: MergeMethod,
    host: &str,
    project_path: &str,
) -> Value {
    let status = merging::merge_status(mr, git, method);
    let (detailed, merge_status, conflicts) =
        (status.detailed, status.merge_status, status.has_conflicts);
    let (source_tip, target_tip) = (
        git.source_tip.map(|o| o.to_string()),
        git.target_tip.map(|o| o.to_string()),
    );
    json!({
        "id": mr.id,
        "iid": mr.iid,
        "project_id": mr.project_id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": time(Some(mr.created_at)),
        "updated_at": time(Some(mr.updated_at)),
        "merged_at": time(mr.merged_at),
        "closed_at": time(mr.closed_at),
        "merged_by": user_view(who.merged_by.as_ref(), host),
        "merge_user": user_view(who.merged_by.as_ref(), host),
        "closed_by": user_view(who.closed_by.as_ref(), host),
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "source_project_id": mr.project_id,
        "target_project_id": mr.project_id,
        "author": user_view(who.author.as_ref(), host),
        "assignees": [],
        "reviewers": [],
        "labels": who.labels,
        "draft": mr.draft(),
        "work_in_progress": mr.draft(),
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "merge_status": merge_status,
        "detailed_merge_status": detailed,
        "has_conflicts": conflicts,
        "sha": source_tip,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": null,
        "squash": false,
        "diff_refs": {
            "base_sha": null,
            "head_sha": source_tip,
            "start_sha": target_tip,
        },
        "user_notes_count": who.user_notes_count,
        "should_remove_source_branch": null,
        "force_remove_source_branch": false,
        "references": {
            "short": format!("!{}", mr.iid),
            "relative": format!("!{}", mr.iid),
            "full": format!("{project_path}!{}", mr.iid),
        },
        "web_url": format!("{host}/{project_path}/-/merge_requests/{}", mr.iid),
    })
}

/// The configured external URL (links never follow the request's `Host` header).
fn host(req: &HttpRequest) -> String {
    req.app_data::<web::Data<crate::GitConfig>>()
        .map(|g| g.external_url.clone())
        .unwrap_or_default()
}

fn project_path(auth: &Authorized) -> String {
    auth.target
        .as_ref()
        .map(|t| t.full_path.clone())
        .unwrap_or_default()
}

fn iid(req: &HttpRequest) -> R<i64> {
    decode(
        req.match_info()
            .get("merge_request_iid")
            .unwrap_or_default(),
    )
    .parse()
    .map_err(|_| RepoError::NotFound("404 Not found"))
}

async fn load(auth: &Authorized, ctx: &Ctx, iid: i64) -> R<(MergeRequestRow, People)> {
    let project_id = ctx.project_id;
    auth.run(move |c| -> R<_> {
        let mr = store::find(c, project_id, iid)?.ok_or(RepoError::NotFound("404 Not found"))?;
        let who = people(c, &mr)?;
        Ok((mr, who))
    })
    .await
}

/// The MR's JSON with fresh git state.
async fn render(
    auth: &Authorized,
    req: &HttpRequest,
    ctx: &Ctx,
    mr: MergeRequestRow,
    who: People,
) -> R<Value> {
    let path = ctx.repo_path.clone();
    let (mr, git) = blocking(move || {
        let repo = objects::open(&path)?;
        let git = merging::git_state(&repo, &mr)?;
        Ok((mr, git))
    })
    .await?;
    Ok(view(
        &mr,
        &who,
        &git,
        ctx.merge_method,
        &host(req),
        &project_path(auth),
    ))
}

fn store_err(e: StoreError) -> RepoError {
    match e {
        StoreError::Invalid(m) => RepoError::Missing(m),
        StoreError::Conflict(m) => RepoError::Conflict(m),
        StoreError::NotFound => RepoError::NotFound("404 Not found"),
        other => RepoError::Gate(GateError::Store(other)),
    }
}

fn page_of(p: &Map<String, Value>) -> (i64, i64) {
    let num = |k: &str, d: i64| {
        string(p, k)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(d)
    };
    (num("page", 1), num("per_page", 20).min(100))
}

fn paged(items: Vec<Value>, total: i64, page: i64, per_page: i64) -> HttpResponse {
    let pages = ((total + per_page - 1) / per_page).max(1);
    HttpResponse::Ok()
        .insert_header(("X-Total", total.to_string()))
        .insert_header(("X-Total-Pages", pages.to_string()))
        .insert_header(("X-Page", page.to_string()))
        .insert_header(("X-Per-Page", per_page.to_string()))
        .insert_header((
            "X-Next-Page",
            if page < pages {
                (page + 1).to_string()
            } else {
                String::new()
            },
        ))
        .insert_header((
            "X-Prev-Page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ))
        .json(items)
}

fn filter_of(p: &Map<String, Value>) -> R<Filter> {
    let state = match string(p, "state").as_deref() {
        None | Some("all") => None,
        Some(s @ ("opened" | "closed" | "merged")) => Some(s.to_string()),
        Some(_) => {
            return Err(RepoError::Missing(
                "state does not have a valid value".into(),
            ));
        }
    };
    Ok(Filter {
        project_ids: None,
        state,
        source_branch: string(p, "source_branch"),
        target_branch: string(p, "target_branch"),
        author_id: None,
        labels: LabelFilter::from_param(names(p, "labels")),
    })
}

async fn list_project(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let mut filter = filter_of(&p)?;
    filter.project_ids = Some(vec![ctx.project_id]);
    let (page, per_page) = page_of(&p);
    let (rows, total) = auth
        .run(move |c| -> R<_> {
            let (rows, total) =
                store::list(c, &filter, (page - 1) * per_page, per_page).map_err(store_err)?;
            let with_people = rows
                .into_iter()
                .map(|r| Ok((people(c, &r)?, r)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((with_people, total))
        })
        .await?;
    let mut items = Vec::new();
    for (who, mr) in rows {
        items.push(render(&auth, &req, &ctx, mr, who).await?);
    }
    Ok(paged(items, total, page, per_page))
}

/// `GET /merge_requests`: across the projects whose merge requests the caller may read, judged
/// per project by the gate's listing rule; `scope` created_by_me (default when signed in) or all.
async fn list_all(list: Listing, req: HttpRequest) -> R<HttpResponse> {
    let p = params(&req, &[])?;
    let mut filter = filter_of(&p)?;
    let principal = list.principal.clone();
    filter.author_id = match (string(&p, "scope").as_deref(), &principal) {
        (None | Some("created_by_me"), Some(who)) => Some(who.user_id),
        (None | Some("all"), _) => None,
        (Some("created_by_me"), None) => {
            return Err(RepoError::Gate(GateError::Unauthorized));
        }
        _ => {
            return Err(RepoError::Missing(
                "scope does not have a valid value".into(),
            ));
        }
    };
    let (page, per_page) = page_of(&p);
    let requirement = list.endpoint.requirement;
    let git = req
        .app_data::<web::Data<crate::GitConfig>>()
        .ok_or_else(|| RepoError::Internal("git is not configured".into()))?
        .clone();
    let found = list
        .run(move |c| -> R<_> {
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
            let (rows, total) =
                store::list(c, &filter, (page - 1) * per_page, per_page).map_err(store_err)?;
            let with_people = rows
                .into_iter()
                .map(|r| Ok((people(c, &r)?, r)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((with_people, total, projects))
        })
        .await?;
    let (rows, total, projects) = found;
    let host = host(&req);
    let items = blocking(move || {
        let mut items = Vec::new();
        for (who, mr) in rows {
            let Some((_, path, branch, method)) = projects.iter().find(|p| p.0 == mr.project_id)
            else {
                continue;
            };
            let repo_path = git
                .repos
                .ensure(mr.project_id, branch)
                .map_err(|e| RepoError::Internal(e.to_string()))?;
            let repo = objects::open(&repo_path)?;
            let state = merging::git_state(&repo, &mr)?;
            items.push(view(&mr, &who, &state, *method, &host, path));
        }
        Ok(items)
    })
    .await?;
    Ok(paged(items, total, page, per_page))
}

async fn open(auth: Authorized, req: HttpRequest, body: web::Bytes) -> R<HttpResponse> {
    let p = params(&req, &body)?;
    let source = required(&p, "source_branch")?;
    let target = required(&p, "target_branch")?;
    let title = required(&p, "title")?;
    let description = string(&p, "description").unwrap_or_default();
    let ctx = context(&auth, &req).await?;
    let path = ctx.repo_path.clone();
    let (s, t) = (source.clone(), target.clone());
    blocking(move || {
        merging::check_new(&objects::open(&path)?, &s, &t).map_err(|e| match e {
            NewMergeRequestError::SameBranch => RepoError::BadRequest(e.to_string()),
            NewMergeRequestError::SourceMissing => {
                RepoError::NotFound("404 Source branch Not Found")
            }
            NewMergeRequestError::TargetMissing => {
                RepoError::NotFound("404 Target branch Not Found")
            }
        })
    })
    .await?;
    let author_id = auth.principal()?.user_id;
    let project_id = ctx.project_id;
    let labels = names(&p, "labels").unwrap_or_default();
    let (mr, who) = auth
        .run(move |c| -> R<_> {
            write_transaction(c, |c| -> Result<_, StoreError> {
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
            })
            .map_err(store_err)
        })
        .await?;
    if let (Some(trigger), Ok(repo)) = (ctx.trigger.clone(), objects::open(&ctx.repo_path))
        && let Some(tip) = objects::branch_tip(&repo, &mr.source_branch)
    {
        trigger.spawn_merge_request(mr.id, mr.source_branch.clone(), tip.to_string());
    }
    let v = render(&auth, &req, &ctx, mr, who).await?;
    Ok(HttpResponse::Created().json(v))
}

async fn show(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, who) = load(&auth, &ctx, iid(&req)?).await?;
    Ok(HttpResponse::Ok().json(render(&auth, &req, &ctx, mr, who).await?))
}

async fn edit(auth: Authorized, req: HttpRequest, body: web::Bytes) -> R<HttpResponse> {
    let p = params(&req, &body)?;
    let close = match string(&p, "state_event").as_deref() {
        None => None,
        Some("close") => Some(true),
        Some("reopen") => Some(false),
        Some(_) => {
            return Err(RepoError::Missing(
                "state_event does not have a valid value".into(),
            ));
        }
    };
    let changes = Changes {
        title: string(&p, "title"),
        description: string(&p, "description"),
        target_branch: string(&p, "target_branch"),
        close,
    };
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if let Some(t) = &changes.target_branch {
        let path = ctx.repo_path.clone();
        let t = t.clone();
        blocking(move || {
            let repo = objects::open(&path)?;
            objects::branch_tip(&repo, &t)
                .map(|_| ())
                .ok_or(RepoError::NotFound("404 Target branch Not Found"))
        })
        .await?;
    }
    let actor = auth.principal()?.user_id;
    let (mr, who) = auth
        .run(move |c| -> R<_> {
            write_transaction(c, |c| -> Result<_, StoreError> {
                let current = merge_request_labels::names_of(c, &[mr.id])?
                    .remove(&mr.id)
                    .unwrap_or_default();
                let mr = store::update(c, mr.id, actor, &changes)?;
                if let Some(labels) = relabel(&p, &current) {
                    merge_request_labels::set(c, mr.project_id, mr.id, &labels)?;
                }
                let who = people(c, &mr)?;
                Ok((mr, who))
            })
            .map_err(store_err)
        })
        .await?;
    Ok(HttpResponse::Ok().json(render(&auth, &req, &ctx, mr, who).await?))
}

async fn remove(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    auth.run(move |c| store::delete(c, mr.id).map_err(store_err))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The diffs of an MR: from the merge base of target and source to the source tip.
fn mr_diffs(repo: &git2::Repository, mr: &MergeRequestRow) -> R<Vec<Value>> {
    let Some(source) = objects::branch_tip(repo, &mr.source_branch) else {
        return Ok(Vec::new());
    };
    let base = match objects::branch_tip(repo, &mr.target_branch) {
        Some(t) => repo.merge_base(t, source).ok(),
        None => None,
    };
    let new_tree = repo.find_commit(source)?.tree()?;
    let old_tree = base.map(|b| repo.find_commit(b)?.tree()).transpose()?;
    Ok(
        objects::diff_trees(repo, old_tree.as_ref(), Some(&new_tree))?
            .iter()
            .map(diff_view)
            .collect(),
    )
}

async fn changes(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, who) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let row = mr.clone();
    let list = blocking(move || mr_diffs(&objects::open(&path)?, &row)).await?;
    let mut v = render(&auth, &req, &ctx, mr, who).await?;
    v["changes"] = Value::Array(list);
    v["overflow"] = json!(false);
    Ok(HttpResponse::Ok().json(v))
}

async fn diffs(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let p = params(&req, &[])?;
    let (page, per_page) = page_of(&p);
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let list = blocking(move || mr_diffs(&objects::open(&path)?, &mr)).await?;
    let total = list.len() as i64;
    let start = ((page - 1) * per_page).min(total) as usize;
    let end = (start + per_page as usize).min(list.len());
    Ok(paged(list[start..end].to_vec(), total, page, per_page))
}

async fn commits(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    let path = ctx.repo_path.clone();
    let web_base = ctx.web_base.clone();
    let list = blocking(move || {
        let repo = objects::open(&path)?;
        let Some(source) = objects::branch_tip(&repo, &mr.source_branch) else {
            return Ok(Vec::new());
        };
        // After a merge the target contains the source: list what the merge brought in.
        let hide = match (
            &mr.merge_commit_sha,
            objects::branch_tip(&repo, &mr.target_branch),
        ) {
            (Some(sha), _) => git2::Oid::from_str(sha)
                .ok()
                .and_then(|m| repo.find_commit(m).ok())
                .and_then(|m| m.parent_id(0).ok()),
            (None, t) => t,
        };
        let mut oids = match hide {
            Some(h) => objects::range(&repo, h, source, 1000)?,
            None => vec![source],
        };
        oids.reverse();
        oids.into_iter()
            .map(|o| Ok(commit_view(&repo.find_commit(o)?, &web_base)))
            .collect::<R<Vec<_>>>()
    })
    .await?;
    let total = list.len() as i64;
    Ok(paged(list, total, 1, total.max(20)))
}

async fn approve(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if mr.state != store::OPENED {
        return Err(RepoError::NotAllowed("405 Method Not Allowed".into()));
    }
    let user_id = auth.principal()?.user_id;
    let host = host(&req);
    let v = auth
        .run(move |c| -> R<_> {
            if !store::approve(c, mr.id, user_id)? {
                return Err(RepoError::Conflict(
                    "You have already approved this merge request".into(),
                ));
            }
            let mut approved_by = Vec::new();
            for id in store::approvers(c, mr.id)? {
                let u = users::find(c, id)?;
                approved_by.push(json!({ "user": user_view(u.as_ref(), &host) }));
            }
            Ok(json!({
                "id": mr.id,
                "iid": mr.iid,
                "project_id": mr.project_id,
                "title": mr.title,
                "description": mr.description,
                "state": mr.state,
                "approved": true,
                "approvals_required": 0,
                "approvals_left": 0,
                "approved_by": approved_by,
            }))
        })
        .await?;
    Ok(HttpResponse::Created().json(v))
}

async fn merge_it(auth: Authorized, req: HttpRequest, body: web::Bytes) -> R<HttpResponse> {
    let p = params(&req, &body)?;
    let expected_sha = string(&p, "sha").filter(|s| !s.is_empty());
    let remove_source = flag(&p, "should_remove_source_branch");
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if !merging::can_be_accepted(&mr) {
        return Err(RepoError::NotAllowed("405 Method Not Allowed".into()));
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
    if flag(&p, "merge_when_pipeline_succeeds") || flag(&p, "auto_merge") {
        let (id, project_id) = (mr.id, ctx.project_id);
        let source_tip = {
            let repo = objects::open(&ctx.repo_path)?;
            objects::branch_tip(&repo, &mr.source_branch).map(|o| o.to_string())
        };
        let head = match source_tip {
            Some(sha) => {
                auth.run(move |c| -> R<_> {
                    Ok(tinforge_store::ci::pipelines::latest_for_sha(
                        c, project_id, &sha,
                    )?)
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
            return Err(RepoError::NotAllowed("405 Method Not Allowed".into()));
        }
        if waits {
            let actor = auth.principal()?.user_id;
            let (mr, who) = auth
                .run(move |c| -> R<_> {
                    store::set_merge_when_pipeline_succeeds(c, id, Some(actor))?;
                    let mr =
                        store::find_by_id(c, id)?.ok_or(RepoError::NotFound("404 Not found"))?;
                    let who = people(c, &mr)?;
                    Ok((mr, who))
                })
                .await?;
            return Ok(HttpResponse::Ok().json(render(&auth, &req, &ctx, mr, who).await?));
        }
    }
    let me: Person = caller(&auth).await?;
    let message = string(&p, "merge_commit_message")
        .unwrap_or_else(|| merging::default_message(&mr, &project_path(&auth)));
    let how = Accept {
        expected_sha,
        message,
        who: me,
        method: ctx.merge_method,
        remove_source,
    };
    let (path, row) = (ctx.repo_path.clone(), mr.clone());
    let merged = blocking(move || Ok(merging::accept(&path, &row, &how)?.to_string())).await?;
    let actor = auth.principal()?.user_id;
    let id = mr.id;
    let (mr, who) = auth
        .run(move |c| -> R<_> {
            if !store::mark_merged(c, id, actor, &merged)? {
                return Err(RepoError::NotAllowed("405 Method Not Allowed".into()));
            }
            let mr = store::find_by_id(c, id)?.ok_or(RepoError::NotFound("404 Not found"))?;
            let who = people(c, &mr)?;
            Ok((mr, who))
        })
        .await?;
    Ok(HttpResponse::Ok().json(render(&auth, &req, &ctx, mr, who).await?))
}

/// `POST …/cancel_merge_when_pipeline_succeeds`: the merge request stays open, unmerged.
async fn cancel_auto_merge(auth: Authorized, req: HttpRequest) -> R<HttpResponse> {
    let ctx = context(&auth, &req).await?;
    let (mr, _) = load(&auth, &ctx, iid(&req)?).await?;
    if mr.state != store::OPENED {
        return Err(RepoError::NotAllowed("405 Method Not Allowed".into()));
    }
    let id = mr.id;
    let (mr, who) = auth
        .run(move |c| -> R<_> {
            store::set_merge_when_pipeline_succeeds(c, id, None)?;
            let mr = store::find_by_id(c, id)?.ok_or(RepoError::NotFound("404 Not found"))?;
            let who = people(c, &mr)?;
            Ok((mr, who))
        })
        .await?;
    Ok(HttpResponse::Created().json(render(&auth, &req, &ctx, mr, who).await?))
}
