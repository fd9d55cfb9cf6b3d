//! REST projects, GitLab v4 shapes: list (offset and keyset pagination), get, create, update,
//! delete, and a user's personal projects.
//!
//! Creating a project is judged on the namespace it goes to: in a group, `project:create` with at
//! least **Developer** there (GitLab's default `project_creation_level`, "Developers + Maintainers");
//! in a personal namespace, only its owner (or an admin in admin mode). For a fine-grained token the
//! personal namespace stands as the project about to exist there, so a `personal_projects` or
//! `all_memberships` boundary reaches it and a `selected` one does not. Changing visibility or the
//! path takes **Owner**, other settings Maintainer. Namespace ids: see `tinforge_store::namespaces`.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tinforge_authz::{
    DenyReason, Principal, RaiseTo, Requirement, Role, RoleRaise, Target, TargetKind, Visibility,
    require,
};
use tinforge_gate::listing::{self, Listing};
use tinforge_gate::{Authorized, GateError, RestRoutes};
use tinforge_store::DbConnection;
use tinforge_store::git::Repositories;
use tinforge_store::git::lifecycle;
use tinforge_store::git::merging::MergeMethod;
use tinforge_store::groups::{self, GroupTree};
use tinforge_store::members;
use tinforge_store::namespaces::{self, WriteError};
use tinforge_store::projects::{
    self, Namespace, NewProject, ProjectChanges, ProjectFilter, ProjectOrder, ProjectRow,
};
use tinforge_store::users;

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/projects", require!(project:read))
        .list()
        .summary("List the projects visible to the caller")
        .returns_list::<views::ProjectView>()
        .to(list_projects);
    r.route(
        "POST",
        "/api/v4/projects",
        require!(project:create).min_role(Role::Developer),
    )
    .resolved_target("namespace_id")
    .summary("Create a project (Developer+ in a group namespace; owner in a personal one)")
    .returns::<views::ProjectDetail>()
    .to(create_project);
    r.route("GET", "/api/v4/projects/{id}", require!(project:read))
        .project("id")
        .summary("A single project")
        .returns::<views::ProjectDetail>()
        .to(get_project);
    r.route(
        "PUT",
        "/api/v4/projects/{id}",
        require!(project:update)
            .min_role(Role::Maintainer)
            .raised(&[OWNER_FOR_VISIBILITY_OR_PATH]),
    )
    .project("id")
    .summary("Edit a project (visibility and path need Owner)")
    .returns::<views::ProjectDetail>()
    .to(update_project);
    r.route(
        "DELETE",
        "/api/v4/projects/{id}",
        require!(project:delete).min_role(Role::Owner),
    )
    .project("id")
    .summary("Delete a project")
    .returns::<views::Message>()
    .to(delete_project);
    r.route(
        "GET",
        "/api/v4/users/{user_id}/projects",
        require!(project:read),
    )
    .list()
    .summary("A user's personal projects visible to the caller")
    .returns_list::<views::ProjectView>()
    .to(user_projects);
}

/// A store write refusal in REST form: field problems 400, conflicts 409.
pub(crate) fn write_error(e: WriteError) -> ApiError {
    match e {
        WriteError::Invalid(problems) => ApiError::Validation(
            problems
                .into_iter()
                .map(|(f, m)| (f.to_string(), m))
                .collect(),
        ),
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Store(s) => s.into(),
    }
}

/// `visibility`: absent, or one of the three names.
pub(crate) fn parse_visibility(v: Option<&str>) -> Result<Option<Visibility>, ApiError> {
    v.map(|s| {
        Visibility::parse(s)
            .ok_or_else(|| ApiError::BadRequest("visibility does not have a valid value".into()))
    })
    .transpose()
}

/// `merge_method`: absent, or merge, rebase_merge or ff.
fn parse_merge_method(v: Option<&str>) -> Result<Option<MergeMethod>, ApiError> {
    v.map(|s| {
        MergeMethod::parse(s)
            .ok_or_else(|| ApiError::Validation(vec![("merge_method".into(), "is invalid".into())]))
    })
    .transpose()
}

/// `sort`: `asc` or `desc`, with a default.
pub(crate) fn parse_sort(v: Option<&str>, default_desc: bool) -> Result<bool, ApiError> {
    match v {
        None => Ok(default_desc),
        Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(
            "sort does not have a valid value".into(),
        )),
    }
}

/// `min_access_level`: one of GitLab's member levels.
pub(crate) fn parse_level(v: Option<i64>, field: &str) -> Result<Option<Role>, ApiError> {
    v.map(|n| {
        i32::try_from(n)
            .ok()
            .and_then(Role::from_access_level)
            .filter(|r| *r > Role::None)
            .ok_or_else(|| ApiError::BadRequest(format!("{field} does not have a valid value")))
    })
    .transpose()
}

/// A reference given as a number or a string (ids and full paths).
pub(crate) fn opt_ref<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(_) => Err(D::Error::custom("not an id or path")),
    }
}

/// Changing a project's visibility or path takes its Owner, as at GitLab.
const OWNER_FOR_VISIBILITY_OR_PATH: RoleRaise =
    RoleRaise::new("visibility or path changes", RaiseTo::Role(Role::Owner));

/// A denial because the namespace is invisible reads exactly like a missing namespace.
fn namespace_denied(e: GateError) -> ApiError {
    match e {
        GateError::Denied {
            reason: DenyReason::NotVisible,
            ..
        } => ApiError::NotFound("Namespace"),
        other => ApiError::Gate(other),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    membership: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    owned: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    simple: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    search_namespaces: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub(crate) include_subgroups: Option<bool>,
    search: Option<String>,
    visibility: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
    pagination: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    min_access_level: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    id_after: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    id_before: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Offset(Page),
    Keyset { per_page: i64 },
}

/// How a project list is ordered, shaped and paginated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListOptions {
    order: ProjectOrder,
    descending: bool,
    simple: bool,
    mode: Mode,
}

const KEYSET_UNAVAILABLE: &str = "Keyset pagination is not yet available for this type of request";

impl ListQuery {
    /// Reads the query; `keyset` says whether this list supports keyset pagination.
    pub(crate) fn options(&self, params: &Params, keyset: bool) -> Result<ListOptions, ApiError> {
        let order = match self.order_by.as_deref() {
            None => None,
            Some(o) => Some(ProjectOrder::parse(o).ok_or_else(|| {
                ApiError::BadRequest("order_by does not have a valid value".into())
            })?),
        };
        let descending = parse_sort(self.sort.as_deref(), true)?;
        let page = Page::from_params(params)?;
        let mode = match self.pagination.as_deref() {
            None | Some("offset") => Mode::Offset(page),
            Some("keyset") => {
                if !keyset || order.is_some_and(|o| o != ProjectOrder::Id) {
                    return Err(ApiError::MethodNotAllowed(KEYSET_UNAVAILABLE.into()));
                }
                Mode::Keyset {
                    per_page: page.per_page,
                }
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "pagination does not have a valid value".into(),
                ));
            }
        };
        let order = match mode {
            Mode::Keyset { .. } => ProjectOrder::Id,
            Mode::Offset(_) => order.unwrap_or_default(),
        };
        Ok(ListOptions {
            order,
            descending,
            simple: self.simple == Some(true),
            mode,
        })
    }

    /// The filter of this query for `principal` (the caller of the list).
    pub(crate) fn filter(&self, principal: Option<&Principal>) -> Result<ProjectFilter, ApiError> {
        let mut min = parse_level(self.min_access_level, "min_access_level")?;
        if self.membership == Some(true) {
            min = Some(min.unwrap_or(Role::Guest));
        }
        if self.owned == Some(true) {
            min = Some(Role::Owner);
        }
        Ok(ProjectFilter {
            viewer: listing::viewer(principal),
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
            search_namespaces: self.search_namespaces == Some(true),
            visibility: parse_visibility(self.visibility.as_deref())?,
            min_access_level: min,
            id_after: self.id_after,
            id_before: self.id_before,
            ..ProjectFilter::default()
        })
    }
}

/// One page of a project list, shaped.
pub(crate) enum ListPage {
    Offset {
        page: Page,
        total: i64,
        items: Vec<views::ProjectView>,
    },
    Keyset {
        items: Vec<views::ProjectView>,
        /// The id to continue after (asc) or before (desc), when there is more.
        next: Option<i64>,
        descending: bool,
    },
}

/// Lists, filters with the caller's eyes, paginates and shapes projects (a fixed number of
/// queries whatever the list's size).
pub(crate) fn project_page(
    c: &mut DbConnection,
    principal: Option<&Principal>,
    requirement: &Requirement,
    filter: &ProjectFilter,
    opts: ListOptions,
    cfg: &ApiConfig,
) -> Result<ListPage, ApiError> {
    let rows = projects::list(c, filter, opts.order, opts.descending)?;
    let visible = listing::projects(c, principal, requirement, rows)?;
    let total = visible.items.len() as i64;
    let (chosen, next): (Vec<ProjectRow>, Option<i64>) = match opts.mode {
        Mode::Offset(page) => (
            visible
                .items
                .into_iter()
                .skip(page.offset() as usize)
                .take(page.limit() as usize)
                .map(|(p, _)| p)
                .collect(),
            None,
        ),
        Mode::Keyset { per_page } => {
            let more = total > per_page;
            let chosen: Vec<ProjectRow> = visible
                .items
                .into_iter()
                .take(per_page as usize)
                .map(|(p, _)| p)
                .collect();
            let next = if more {
                chosen.last().map(|p| p.id)
            } else {
                None
            };
            (chosen, next)
        }
    };
    let ns = namespaces::for_projects(c, &chosen, &visible.tree)?;
    let items = chosen
        .iter()
        .map(|p| views::project(p, ns.get(&p.id), cfg, opts.simple))
        .collect();
    Ok(match opts.mode {
        Mode::Offset(page) => ListPage::Offset { page, total, items },
        Mode::Keyset { .. } => ListPage::Keyset {
            items,
            next,
            descending: opts.descending,
        },
    })
}

/// The HTTP answer for a list page: GitLab's offset headers, or only a keyset `Link`.
pub(crate) fn respond(req: &HttpRequest, cfg: &ApiConfig, page: ListPage) -> HttpResponse {
    match page {
        ListPage::Offset { page, total, items } => {
            pagination::respond(req, &cfg.external_url, page, total, &items)
        }
        ListPage::Keyset {
            items,
            next,
            descending,
        } => {
            let mut res = HttpResponse::Ok();
            if let Some(id) = next {
                let key = if descending { "id_before" } else { "id_after" };
                let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str::<
                    Vec<(String, String)>,
                >(req.query_string())
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "id_after" | "id_before" | "page" | "private_token" | "access_token"
                    )
                })
                .collect();
                pairs.push((key.to_string(), id.to_string()));
                let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
                res.insert_header((
                    "Link",
                    format!("<{}{}?{query}>; rel=\"next\"", cfg.external_url, req.path()),
                ));
            }
            res.json(items)
        }
    }
}

async fn list_projects(
    list: Listing,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = params.parse()?;
    let opts = q.options(&params, true)?;
    let filter = q.filter(list.principal.as_ref())?;
    let principal = list.principal.clone();
    let requirement = list.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let page = list
        .run(move |c| project_page(c, principal.as_ref(), &requirement, &filter, opts, &config))
        .await?;
    Ok(respond(&req, &cfg, page))
}

async fn user_projects(
    list: Listing,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = params.parse()?;
    let opts = q.options(&params, false)?;
    let mut filter = q.filter(list.principal.as_ref())?;
    let principal = list.principal.clone();
    let requirement = list.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let who = path.into_inner();
    let page = list
        .run(move |c| -> Result<_, ApiError> {
            let user = users::find_by_ref(c, &who)?.ok_or(ApiError::NotFound("User"))?;
            filter.owner_id = Some(user.id);
            project_page(c, principal.as_ref(), &requirement, &filter, opts, &config)
        })
        .await?;
    Ok(respond(&req, &cfg, page))
}

/// The project (by id) as GitLab's single project, with the caller's `permissions`.
pub(crate) fn single_project(
    c: &mut DbConnection,
    id: i64,
    principal: Option<&Principal>,
    cfg: &ApiConfig,
) -> Result<views::ProjectDetail, ApiError> {
    let p = projects::find(c, id)?.ok_or(ApiError::NotFound("Project"))?;
    let tree = GroupTree::load(c, p.group_id)?;
    let ns = namespaces::for_projects(c, std::slice::from_ref(&p), &tree)?;
    let project = views::project(&p, ns.get(&p.id), cfg, false);
    let (project_access, group_access) = match principal {
        Some(who) => {
            let access = members::access_of(c, who.user_id)?;
            let chain = p.group_id.map(|g| tree.chain(g)).unwrap_or_default();
            members::project_and_group_access(&access, p.id, &chain)
        }
        None => (None, None),
    };
    Ok(views::ProjectDetail {
        project,
        permissions: views::project_permissions(project_access, group_access),
        runners_token: None,
    })
}

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target.clone().ok_or(ApiError::NotFound("Project"))
}

async fn get_project(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    gate: web::Data<tinforge_gate::GateState>,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let id = target.id;
    let principal = auth.principal.clone();
    // GitLab shows the project's runner registration token to its Maintainers.
    let maintainer = principal
        .as_ref()
        .is_some_and(|p| p.in_admin_mode() || target.role >= Role::Maintainer);
    let config = cfg.get_ref().clone();
    let resolver = gate.resolver.clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            let mut v = single_project(c, id, principal.as_ref(), &config)?;
            if maintainer {
                v.runners_token = Some(crate::runners::project_registration_token(
                    c, &resolver, id,
                )?);
            }
            Ok(v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_ref")]
    namespace_id: Option<String>,
    #[serde(default, deserialize_with = "opt_ref")]
    namespace_path: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    default_branch: Option<String>,
    merge_method: Option<String>,
    /// Accepted for compatibility; the repository is created empty.
    #[serde(default, deserialize_with = "flex::opt_bool")]
    #[allow(dead_code)]
    initialize_with_readme: Option<bool>,
}

/// `name` and/or `path`: the one missing is made from the other.
pub(crate) fn name_and_path(
    name: Option<String>,
    path: Option<String>,
) -> Result<(String, String), ApiError> {
    let name = name.filter(|s| !s.trim().is_empty());
    let path = path.filter(|s| !s.trim().is_empty());
    match (name, path) {
        (Some(n), Some(p)) => Ok((n, p.trim().to_string())),
        (Some(n), None) => {
            let p = namespaces::slugify(&n);
            Ok((n, p))
        }
        (None, Some(p)) => Ok((p.trim().to_string(), p.trim().to_string())),
        (None, None) => Err(ApiError::BadRequest(
            "name, path are missing, at least one parameter must be provided".into(),
        )),
    }
}

async fn create_project(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    repos: web::Data<Repositories>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let repos = repos.get_ref().clone();
    let body: CreateBody = params.parse()?;
    let (name, path) = name_and_path(body.name, body.path)?;
    let visibility = parse_visibility(body.visibility.as_deref())?.unwrap_or(Visibility::Private);
    let merge_method = parse_merge_method(body.merge_method.as_deref())?;
    let p = auth.principal()?.clone();
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let ns_ref = body.namespace_id.or(body.namespace_path);
    let description = body.description.unwrap_or_default();
    let default_branch = body.default_branch;
    let created = auth
        .run(move |c| -> Result<_, ApiError> {
            let ns = match &ns_ref {
                None => namespaces::of_user(c, p.user_id)?,
                Some(r) => namespaces::find_by_ref(c, r)?,
            }
            .ok_or(ApiError::NotFound("Namespace"))?;
            let new_project = |namespace| NewProject {
                namespace,
                name: &name,
                path: &path,
                description: &description,
                visibility,
                default_branch: default_branch.as_deref(),
                merge_method,
                creator_id: p.user_id,
            };
            let row = match (ns.user_id, ns.group_id) {
                (Some(owner_id), _) => {
                    let owner = users::find(c, owner_id)?.ok_or(ApiError::NotFound("Namespace"))?;
                    // The project about to exist in the personal namespace stands as the target.
                    let target = Target {
                        kind: TargetKind::Project,
                        id: 0,
                        full_path: format!("{}/{}", ns.full_path, path),
                        visibility: Visibility::Private,
                        ancestor_group_ids: Vec::new(),
                        personal_owner_id: Some(owner_id),
                        role: if owner_id == p.user_id {
                            Role::Owner
                        } else {
                            Role::None
                        },
                    };
                    judge.authorize_on(&target).map_err(namespace_denied)?;
                    lifecycle::create_project(
                        c,
                        &repos,
                        &new_project(Namespace::User {
                            id: owner.id,
                            username: &owner.username,
                        }),
                    )
                }
                (None, Some(group_id)) => {
                    let g = groups::find(c, group_id)?.ok_or(ApiError::NotFound("Namespace"))?;
                    let target = projects::group_target(c, &g, Some(p.user_id))?;
                    judge.authorize_on(&target).map_err(namespace_denied)?;
                    lifecycle::create_project(c, &repos, &new_project(Namespace::Group(&g)))
                }
                _ => return Err(ApiError::NotFound("Namespace")),
            }
            .map_err(write_error)?;
            tracing::info!(project.id = row.id, project.path = %row.full_path, "project created");
            single_project(c, row.id, Some(&p), &config)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
struct UpdateBody {
    name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    default_branch: Option<String>,
    visibility: Option<String>,
    merge_method: Option<String>,
}

async fn update_project(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: UpdateBody = params.parse()?;
    let changes = ProjectChanges {
        name: body.name,
        path: body.path.map(|p| p.trim().to_string()),
        description: body.description,
        default_branch: body.default_branch,
        visibility: parse_visibility(body.visibility.as_deref())?,
        merge_method: parse_merge_method(body.merge_method.as_deref())?,
    };
    if changes.is_empty() {
        return Err(ApiError::BadRequest(
            "name, path, description, default_branch, visibility, merge_method are missing, at least one parameter must be provided".into(),
        ));
    }
    let target = target_of(&auth)?;
    let principal = auth.principal.clone();
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            let current = projects::find(c, target.id)?.ok_or(ApiError::NotFound("Project"))?;
            let sensitive = changes
                .visibility
                .is_some_and(|v| v != current.visibility())
                || changes.path.as_ref().is_some_and(|p| *p != current.path);
            if sensitive {
                judge.raise_on(&OWNER_FOR_VISIBILITY_OR_PATH, &target)?;
            }
            projects::update(c, target.id, &changes).map_err(write_error)?;
            single_project(c, target.id, principal.as_ref(), &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn delete_project(
    auth: Authorized,
    repos: web::Data<Repositories>,
) -> Result<HttpResponse, ApiError> {
    let id = target_of(&auth)?.id;
    let repos = repos.get_ref().clone();
    auth.run(move |c| -> Result<_, ApiError> {
        lifecycle::delete_project(c, &repos, id).map_err(ApiError::missing_as("Project"))
    })
    .await?;
    tracing::info!(project.id = id, "project deleted");
    Ok(HttpResponse::Accepted().json(views::Message::new("202 Accepted")))
}
