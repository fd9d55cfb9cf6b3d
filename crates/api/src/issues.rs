//! Issues over REST, GitLab v4 shapes: lists per project, per group and across projects (offset
//! or keyset pages), one issue by its project-scoped `iid`, open, edit / close / reopen, delete.
//!
//! The gate has authorized the route's permission on the project (or group) before a handler
//! runs. What is left here is GitLab's per-issue rules: confidential issues exist only for those
//! the store's `Viewer` lets see them (404 otherwise), editing someone else's issue needs
//! Reporter+, and labels and assignees are set only by Reporter+.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::Value;
use tinforge_authz::{Principal, Role, Target, require};
use tinforge_gate::{Authorized, RestRoutes, listing};
use tinforge_store::StoreError;
use tinforge_store::groups as store_groups;
use tinforge_store::issues::{
    self, Cursor, Issue, IssueChanges, IssueFilter, IssuePage, LabelFilter, NewIssue, Order,
    OrderBy, Paging, PersonFilter, ProjectScope, StateEvent, Viewer,
};
use tinforge_store::projects::{self as store_projects, ProjectFilter, ProjectOrder};

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/issues", require!(issue:read))
        .summary("Issues across the projects you can see (scope created_by_me by default)")
        .returns_list::<views::IssueView>()
        .to(list_all);
    r.route("GET", "/api/v4/groups/{id}/issues", require!(issue:read))
        .group("id")
        .summary("Issues of a group's projects, subgroups included")
        .returns_list::<views::IssueView>()
        .to(list_group);
    r.route("GET", "/api/v4/projects/{id}/issues", require!(issue:read))
        .project("id")
        .summary("A project's issues (offset or keyset pagination)")
        .returns_list::<views::IssueView>()
        .to(list_project);
    r.route(
        "POST",
        "/api/v4/projects/{id}/issues",
        require!(issue:create),
    )
    .project("id")
    .summary("Open an issue")
    .returns::<views::IssueView>()
    .to(create_issue);
    let one = "/api/v4/projects/{id}/issues/{issue_iid}";
    r.route("GET", one, require!(issue:read))
        .project("id")
        .summary("One issue by its iid")
        .returns::<views::IssueView>()
        .to(get_issue);
    r.route("PUT", one, require!(issue:update))
        .project("id")
        .summary("Edit, label, close or reopen an issue (others' issues need Reporter+)")
        .returns::<views::IssueView>()
        .to(update_issue);
    r.route("DELETE", one, require!(issue:delete).min_role(Role::Owner))
        .project("id")
        .summary("Delete an issue (Owner)")
        .to(delete_issue);
}

// ---------------------------------------------------------------------------------------------
// Shared with notes and labels

/// The route's project target (routes declared with `.project("id")` always have one).
pub(crate) fn project_target(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// GitLab's answer for an issue that does not exist for the caller: `404 Not found`.
pub(crate) fn issue_not_found() -> ApiError {
    ApiError::Store(StoreError::NotFound)
}

/// The `issue_iid` path parameter; anything but a number names no issue.
pub(crate) fn iid_param(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("issue_iid")
        .and_then(|s| s.parse().ok())
        .ok_or_else(issue_not_found)
}

/// The caller's standing on the target: principal, role, admin mode.
pub(crate) struct Actor {
    pub principal: Principal,
    pub role: Role,
    pub admin: bool,
}

pub(crate) fn actor(auth: &Authorized, target: &Target) -> Result<Actor, ApiError> {
    let principal = auth.principal()?.clone();
    Ok(Actor {
        admin: principal.in_admin_mode(),
        role: target.role,
        principal,
    })
}

/// The issue `iid` of the target project as the caller sees it, or 404.
pub(crate) async fn visible_issue(
    auth: &Authorized,
    target: &Target,
    iid: i64,
) -> Result<(Issue, Viewer), ApiError> {
    let viewer = Viewer::on_target(auth.principal.as_ref(), target);
    let project_id = target.id;
    let v = viewer.clone();
    let issue = auth
        .run(move |c| issues::get(c, project_id, iid, &v))
        .await?
        .ok_or_else(issue_not_found)?;
    Ok((issue, viewer))
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Deserialize, Default)]
struct ListParams {
    state: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    labels: Option<Vec<String>>,
    search: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    author_id: Option<i64>,
    author_username: Option<String>,
    #[serde(default)]
    assignee_id: Option<Value>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    assignee_username: Option<Vec<String>>,
    scope: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    iids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    confidential: Option<bool>,
    created_after: Option<String>,
    created_before: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    pagination: Option<String>,
    cursor: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    id_after: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    id_before: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    with_labels_details: Option<bool>,
}

/// GitLab's offset limit on types that support keyset pagination.
const MAX_OFFSET: i64 = 50_000;

fn invalid(param: &str) -> ApiError {
    ApiError::BadRequest(format!("{param} does not have a valid value"))
}

/// `2026-11-25T10:00:00Z` (any RFC 3339 time) or a date (its midnight, UTC).
fn time_param(name: &str, value: &Option<String>) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.naive_utc()));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Some(t));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(Some)
        .ok_or_else(|| invalid(name))
}

/// How a list was asked for.
struct ListRequest {
    filter: IssueFilter,
    order: Order,
    paging: Paging,
    page: Page,
    keyset: bool,
    label_details: bool,
}

/// Reads list parameters. `default_scope` is `all` for project and group lists and
/// `created_by_me` for `/issues`.
fn list_request(
    params: &Params,
    projects: ProjectScope,
    me: Option<i64>,
    default_scope: &str,
) -> Result<ListRequest, ApiError> {
    let q: ListParams = params.parse()?;
    let page = Page::from_params(params)?;
    let mut filter = IssueFilter::new(projects);
    filter.state = match q.state.as_deref() {
        None | Some("all") | Some("") => None,
        Some("opened") => Some(issues::OPENED),
        Some("closed") => Some(issues::CLOSED),
        Some(_) => return Err(invalid("state")),
    };
    filter.labels = LabelFilter::from_param(q.labels);
    filter.search = q.search.filter(|s| !s.trim().is_empty());
    filter.confidential = q.confidential;
    filter.iids = q
        .iids
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse::<i64>().map_err(|_| invalid("iids")))
        .collect::<Result<_, _>>()?;
    filter.created_after = time_param("created_after", &q.created_after)?;
    filter.created_before = time_param("created_before", &q.created_before)?;
    filter.updated_after = time_param("updated_after", &q.updated_after)?;
    filter.updated_before = time_param("updated_before", &q.updated_before)?;
    filter.author = match (q.author_id, q.author_username) {
        (Some(id), _) => PersonFilter::Id(id),
        (None, Some(u)) => PersonFilter::Username(u),
        (None, None) => PersonFilter::Ignore,
    };
    filter.assignee = match q.assignee_id {
        None | Some(Value::Null) => match q.assignee_username.as_deref() {
            Some([u, ..]) => PersonFilter::Username(u.clone()),
            _ => PersonFilter::Ignore,
        },
        Some(Value::Number(n)) => {
            PersonFilter::Id(n.as_i64().ok_or_else(|| invalid("assignee_id"))?)
        }
        Some(Value::String(s)) => match s.trim() {
            s if s.eq_ignore_ascii_case("none") => PersonFilter::Nobody,
            s if s.eq_ignore_ascii_case("any") => PersonFilter::Anybody,
            s => PersonFilter::Id(s.parse().map_err(|_| invalid("assignee_id"))?),
        },
        Some(_) => return Err(invalid("assignee_id")),
    };
    match q.scope.as_deref().unwrap_or(default_scope) {
        "all" => {}
        "created_by_me" | "created-by-me" => {
            if let (Some(me), PersonFilter::Ignore) = (me, &filter.author) {
                filter.author = PersonFilter::Id(me);
            }
        }
        "assigned_to_me" | "assigned-to-me" => {
            if let (Some(me), PersonFilter::Ignore) = (me, &filter.assignee) {
                filter.assignee = PersonFilter::Id(me);
            }
        }
        _ => return Err(invalid("scope")),
    }
    let by = match q.order_by.as_deref() {
        None | Some("created_at") => OrderBy::CreatedAt,
        Some("updated_at") => OrderBy::UpdatedAt,
        Some("id") => OrderBy::Id,
        Some(_) => return Err(invalid("order_by")),
    };
    let desc = match q.sort.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(invalid("sort")),
    };
    let order = Order { by, desc };
    let keyset = match q.pagination.as_deref() {
        None | Some("offset") | Some("") => false,
        Some("keyset") => true,
        Some(_) => return Err(invalid("pagination")),
    };
    // id_after / id_before are filters (as for projects); with keyset pagination by id they
    // also serve as the starting point.
    let cursor = match (&q.cursor, keyset) {
        (Some(token), true) if !token.is_empty() => Some(
            Cursor::decode(token, by)
                .ok_or_else(|| ApiError::BadRequest("cursor is invalid".into()))?,
        ),
        _ => None,
    };
    if let Some(id) = q.id_after {
        filter.id_after = Some(id);
    }
    if let Some(id) = q.id_before {
        filter.id_before = Some(id);
    }
    let paging = if keyset {
        Paging::Keyset {
            after: cursor,
            limit: page.per_page,
        }
    } else {
        Paging::Offset {
            offset: page.offset(),
            limit: page.per_page,
        }
    };
    Ok(ListRequest {
        filter,
        order,
        paging,
        page,
        keyset,
        label_details: q.with_labels_details.unwrap_or(false),
    })
}

/// A list response: keyset pages carry only `Link: rel="next"` (with a `cursor`); offset pages
/// carry GitLab's headers, without `X-Total`, `X-Total-Pages` and `rel="last"` above the count
/// limit.
fn respond_list(
    req: &HttpRequest,
    base_url: &str,
    list: &ListRequest,
    result: &IssuePage,
    items: &[views::IssueView],
) -> HttpResponse {
    if list.keyset {
        let mut res = HttpResponse::Ok();
        if let Some(next) = result.next {
            let link = link_with(
                req,
                base_url,
                &[("cursor", next.encode())],
                &["cursor", "page"],
            );
            res.insert_header(("Link", format!("<{link}>; rel=\"next\"")));
        }
        return res.json(items);
    }
    if let Some(total) = result.total {
        return pagination::respond(req, base_url, list.page, total, items);
    }
    let page = list.page;
    let page_link = |n: i64| {
        link_with(
            req,
            base_url,
            &[
                ("page", n.to_string()),
                ("per_page", page.per_page.to_string()),
            ],
            &["page", "per_page"],
        )
    };
    let next = result.has_more.then_some(page.page + 1);
    let prev = (page.page > 1).then_some(page.page - 1);
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("<{}>; rel=\"prev\"", page_link(p)));
    }
    if let Some(n) = next {
        links.push(format!("<{}>; rel=\"next\"", page_link(n)));
    }
    links.push(format!("<{}>; rel=\"first\"", page_link(1)));
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    HttpResponse::Ok()
        .insert_header(("X-Page", page.page.to_string()))
        .insert_header(("X-Per-Page", page.per_page.to_string()))
        .insert_header(("X-Next-Page", opt(next)))
        .insert_header(("X-Prev-Page", opt(prev)))
        .insert_header(("Link", links.join(", ")))
        .json(items)
}

/// This request's URL on `base_url` with `set` parameters replacing `drop` ones (credentials are
/// always dropped).
fn link_with(req: &HttpRequest, base_url: &str, set: &[(&str, String)], drop: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| {
                !drop.contains(&k.as_str()) && k != "private_token" && k != "access_token"
            })
            .collect();
    pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    format!(
        "{base_url}{}?{}",
        req.path(),
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

async fn run_list(
    auth: &Authorized,
    cfg: &ApiConfig,
    req: &HttpRequest,
    list: ListRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    if !list.keyset && list.page.offset() > MAX_OFFSET {
        return Err(ApiError::MethodNotAllowed(format!(
            "Offset pagination has a maximum allowed offset of {MAX_OFFSET} for requests \
             that return objects of type Issue. Remaining records can be retrieved using \
             keyset pagination."
        )));
    }
    let (filter, order, paging) = (list.filter.clone(), list.order, list.paging);
    let result = auth
        .run(move |c| issues::list(c, &filter, &viewer, order, paging))
        .await?;
    let items: Vec<views::IssueView> = result
        .issues
        .iter()
        .map(|i| views::issue(i, cfg, list.label_details))
        .collect();
    Ok(respond_list(req, &cfg.external_url, &list, &result, &items))
}

async fn list_project(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let me = auth.principal.as_ref().map(|p| p.user_id);
    let list = list_request(&params, ProjectScope::One(target.id), me, "all")?;
    let viewer = Viewer::on_target(auth.principal.as_ref(), &target);
    run_list(&auth, &cfg, &req, list, viewer).await
}

async fn list_group(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let group_id = auth
        .target
        .as_ref()
        .map(|t| t.id)
        .ok_or(ApiError::NotFound("Group"))?;
    let me = auth.principal.as_ref().map(|p| p.user_id);
    let mut list = list_request(&params, ProjectScope::All, me, "all")?;
    let (projects, viewer) = readable(&auth, Some(group_id), None).await?;
    list.filter.projects = projects;
    run_list(&auth, &cfg, &req, list, viewer).await
}

/// The projects whose issues a cross-project list may show, with the viewer over them: the
/// candidates the user could see (within a group and its subgroups; with `only`, the projects
/// holding the caller's own issues, `Some(true)` assigned ones), each judged by the gate's list rule with the route's requirement (the token's eyes).
async fn readable(
    auth: &Authorized,
    within: Option<i64>,
    only: Option<bool>,
) -> Result<(ProjectScope, Viewer), ApiError> {
    let principal = auth.principal.clone();
    let requirement = auth.endpoint.requirement;
    auth.run(move |c| -> Result<_, ApiError> {
        if principal.as_ref().is_some_and(|p| p.in_admin_mode()) && within.is_none() {
            let (_, viewer) = Viewer::over(principal.as_ref(), []);
            return Ok((ProjectScope::All, viewer));
        }
        let mut filter = ProjectFilter {
            viewer: listing::viewer(principal.as_ref()),
            ..ProjectFilter::default()
        };
        if let Some(root) = within {
            filter.group_ids = Some(store_groups::self_and_descendants(c, &[root])?);
        }
        if let (Some(assigned), Some(p)) = (only, &principal) {
            filter.ids = Some(issues::projects_with_issues_of(c, p.user_id, assigned)?);
        }
        let rows = store_projects::list(c, &filter, ProjectOrder::Id, false)?;
        let visible = listing::projects(c, principal.as_ref(), &requirement, rows)?;
        Ok(Viewer::over(
            principal.as_ref(),
            visible.items.iter().map(|(_, t)| t),
        ))
    })
    .await
}

async fn list_all(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let me = auth.principal()?.user_id;
    let mut list = list_request(&params, ProjectScope::All, Some(me), "created_by_me")?;
    // Lists of one's own issues only look at the projects holding them.
    let only = match (&list.filter.author, &list.filter.assignee) {
        (PersonFilter::Id(a), _) if *a == me => Some(false),
        (_, PersonFilter::Id(a)) if *a == me => Some(true),
        _ => None,
    };
    let (projects, viewer) = readable(&auth, None, only).await?;
    list.filter.projects = projects;
    run_list(&auth, &cfg, &req, list, viewer).await
}

// ---------------------------------------------------------------------------------------------
// One issue

async fn get_issue(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let iid = iid_param(&req)?;
    let (issue, _) = visible_issue(&auth, &target, iid).await?;
    let details = params
        .get("with_labels_details")
        .is_some_and(|v| v == true || v == "true");
    Ok(HttpResponse::Ok().json(views::issue(&issue, &cfg, details)))
}

/// A list of user ids as GitLab takes it: array, `k[]=`, comma list; `0` or empty means nobody.
fn id_list(name: &str, value: Option<Vec<String>>) -> Result<Option<Vec<i64>>, ApiError> {
    value
        .map(|list| {
            list.iter()
                .map(|s| s.trim().parse::<i64>().map_err(|_| invalid(name)))
                .filter(|r| !matches!(r, Ok(0)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
}

#[derive(Deserialize)]
struct CreateBody {
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    assignee_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    assignee_id: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    confidential: Option<bool>,
}

async fn create_issue(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let actor = actor(&auth, &target)?;
    let body: CreateBody = params.parse()?;
    let title = body
        .title
        .ok_or_else(|| ApiError::BadRequest("title is missing".into()))?;
    let mut assignees = id_list("assignee_ids", body.assignee_ids)?.unwrap_or_default();
    if let Some(a) = body.assignee_id.filter(|a| *a != 0) {
        assignees.push(a);
    }
    let new = NewIssue {
        project_id: target.id,
        author_id: actor.principal.user_id,
        title,
        description: body.description,
        confidential: body.confidential.unwrap_or(false),
        labels: body.labels.unwrap_or_default(),
        assignee_ids: assignees,
        set_metadata: issues::may_set_metadata(actor.role, actor.admin),
    };
    let issue = auth.run(move |c| issues::create(c, &new)).await?;
    Ok(HttpResponse::Created().json(views::issue(&issue, &cfg, false)))
}

/// Parameters an update may carry; without any of them it is a 400.
const UPDATE_PARAMS: [&str; 9] = [
    "title",
    "description",
    "labels",
    "add_labels",
    "remove_labels",
    "assignee_ids",
    "assignee_id",
    "confidential",
    "state_event",
];

#[derive(Deserialize)]
struct UpdateBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    add_labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    remove_labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    assignee_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    assignee_id: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    confidential: Option<bool>,
    state_event: Option<String>,
}

/// Present-and-null (`Some(None)`) apart from absent (`None`).
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn update_issue(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let actor = actor(&auth, &target)?;
    let iid = iid_param(&req)?;
    let (issue, _) = visible_issue(&auth, &target, iid).await?;
    if !issues::may_edit(&issue, actor.principal.user_id, actor.role, actor.admin) {
        return Err(ApiError::Forbidden(None));
    }
    let map = params.map()?;
    if !UPDATE_PARAMS.iter().any(|k| map.contains_key(*k)) {
        return Err(ApiError::BadRequest(format!(
            "{} are missing, at least one parameter must be provided",
            UPDATE_PARAMS.join(", ")
        )));
    }
    let body: UpdateBody = params.parse()?;
    let state_event = match body.state_event.as_deref() {
        None => None,
        Some("close") => Some(StateEvent::Close),
        Some("reopen") => Some(StateEvent::Reopen),
        Some(_) => return Err(invalid("state_event")),
    };
    let mut assignee_ids = id_list("assignee_ids", body.assignee_ids)?;
    if assignee_ids.is_none()
        && let Some(a) = body.assignee_id
    {
        assignee_ids = Some(if a == 0 { vec![] } else { vec![a] });
    }
    let title = match body.title {
        Some(t) => Some(t),
        None if map.get("title").is_some_and(Value::is_null) => Some(String::new()),
        None => None,
    };
    let changes = IssueChanges {
        title,
        description: body.description,
        confidential: body.confidential,
        labels: body.labels,
        add_labels: body.add_labels.unwrap_or_default(),
        remove_labels: body.remove_labels.unwrap_or_default(),
        assignee_ids,
        state_event,
    };
    let set_metadata = issues::may_set_metadata(actor.role, actor.admin);
    let (issue_id, user_id) = (issue.row.id, actor.principal.user_id);
    let updated = auth
        .run(move |c| issues::update(c, issue_id, user_id, &changes, set_metadata))
        .await?;
    Ok(HttpResponse::Ok().json(views::issue(&updated, &cfg, false)))
}

async fn delete_issue(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let target = project_target(&auth)?;
    let iid = iid_param(&req)?;
    let (issue, _) = visible_issue(&auth, &target, iid).await?;
    let id = issue.row.id;
    auth.run(move |c| issues::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
