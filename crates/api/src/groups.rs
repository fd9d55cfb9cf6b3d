//! REST groups and namespaces, GitLab v4 shapes.
//!
//! Creating a top-level group needs `group:create`; a subgroup also needs **Maintainer** or more on
//! the parent (judged on the parent group as target, with the token's boundary). Editing a group
//! needs Owner, as GitLab's `admin_group`; deleting it removes its subgroups and projects at once.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::projects::{
    ListQuery, name_and_path, opt_ref, parse_level, parse_sort, parse_visibility, project_page,
    respond, write_error,
};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tinforge_authz::{
    DenyReason, Principal, RaiseTo, Role, RoleRaise, Target, Visibility, require,
};
use tinforge_gate::authorized::resolve_target;
use tinforge_gate::listing::{self, Listing};
use tinforge_gate::{Authorized, GateError, RestRoutes, TargetSpec};
use tinforge_store::DbConnection;
use tinforge_store::git::{Repositories, lifecycle};
use tinforge_store::groups::{self, GroupChanges, GroupFilter, GroupOrder, GroupRow, NewGroup};
use tinforge_store::namespaces::{self, NamespaceInfo};
use tinforge_store::projects::{self, ProjectFilter};
use tinforge_store::users;

/// A subgroup is created by a Maintainer (or Owner) of its parent.
const MAINTAINER_OF_PARENT: RoleRaise = RoleRaise::new(
    "parent_id names a parent group",
    RaiseTo::Role(Role::Maintainer),
);

pub fn declare(r: &mut RestRoutes) {
    r.route("GET", "/api/v4/groups", require!(group:read))
        .list()
        .summary("List the groups visible to the caller")
        .returns_list::<views::GroupView>()
        .to(list_groups);
    r.route(
        "POST",
        "/api/v4/groups",
        require!(group:create).raised(&[MAINTAINER_OF_PARENT]),
    )
    .summary("Create a group (a subgroup needs Maintainer+ on the parent)")
    .returns::<views::GroupDetail>()
    .to(create_group);
    r.route("GET", "/api/v4/groups/{id}", require!(group:read))
        .group("id")
        .summary("A single group")
        .returns::<views::GroupDetail>()
        .to(get_group);
    r.route(
        "PUT",
        "/api/v4/groups/{id}",
        require!(group:update).min_role(Role::Owner),
    )
    .group("id")
    .summary("Edit a group")
    .returns::<views::GroupDetail>()
    .to(update_group);
    r.route(
        "DELETE",
        "/api/v4/groups/{id}",
        require!(group:delete).min_role(Role::Owner),
    )
    .group("id")
    .summary("Delete a group with its subgroups and projects")
    .returns::<views::Message>()
    .to(delete_group);
    r.route("GET", "/api/v4/groups/{id}/subgroups", require!(group:read))
        .group("id")
        .summary("Direct subgroups visible to the caller")
        .returns_list::<views::GroupView>()
        .to(subgroups);
    r.route(
        "GET",
        "/api/v4/groups/{id}/descendant_groups",
        require!(group:read),
    )
    .group("id")
    .summary("All subgroups below the group visible to the caller")
    .returns_list::<views::GroupView>()
    .to(descendant_groups);
    r.route(
        "GET",
        "/api/v4/groups/{id}/projects",
        require!(project:read),
    )
    .group("id")
    .summary("The group's projects visible to the caller")
    .returns_list::<views::ProjectView>()
    .to(group_projects);
    r.route("GET", "/api/v4/namespaces", require!(group:read))
        .summary("Your personal namespace and the groups you belong to")
        .returns_list::<views::NamespaceView>()
        .to(list_namespaces);
    r.route("GET", "/api/v4/namespaces/{id}", require!(group:read))
        .resolved_target("id")
        .summary("A single namespace (id or full path)")
        .returns::<views::NamespaceView>()
        .to(get_namespace);
}

#[derive(Deserialize)]
struct GroupListQuery {
    search: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    owned: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    min_access_level: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    all_available: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    top_level_only: Option<bool>,
    visibility: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
    pagination: Option<String>,
}

impl GroupListQuery {
    /// The filter for `principal`; `members_only` applies GitLab's `all_available=false`.
    fn filter(
        &self,
        principal: Option<&Principal>,
        members_only_by_default: bool,
    ) -> Result<GroupFilter, ApiError> {
        let viewer = listing::viewer(principal);
        let mut min = parse_level(self.min_access_level, "min_access_level")?;
        if self.owned == Some(true) {
            min = Some(Role::Owner);
        }
        let is_admin = matches!(viewer, tinforge_store::members::Viewer::Admin(_));
        let all_available = self
            .all_available
            .unwrap_or(!members_only_by_default || is_admin);
        if principal.is_some() && !all_available && min.is_none() {
            min = Some(Role::Guest);
        }
        Ok(GroupFilter {
            viewer,
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
            min_access_level: min,
            top_level_only: self.top_level_only == Some(true),
            visibility: parse_visibility(self.visibility.as_deref())?,
            ..GroupFilter::default()
        })
    }

    fn order(&self) -> Result<(GroupOrder, bool), ApiError> {
        if self.pagination.as_deref() == Some("keyset") {
            return Err(ApiError::MethodNotAllowed(
                "Keyset pagination is not yet available for this type of request".into(),
            ));
        }
        let order = match self.order_by.as_deref() {
            None => GroupOrder::Name,
            Some(o) => GroupOrder::parse(o).ok_or_else(|| {
                ApiError::BadRequest("order_by does not have a valid value".into())
            })?,
        };
        Ok((order, parse_sort(self.sort.as_deref(), false)?))
    }
}

/// Lists, filters with the caller's eyes, paginates and shapes groups.
fn group_page(
    c: &mut DbConnection,
    principal: Option<&Principal>,
    requirement: &tinforge_authz::Requirement,
    filter: &GroupFilter,
    (order, descending): (GroupOrder, bool),
    page: Page,
    cfg: &ApiConfig,
) -> Result<(i64, Vec<views::GroupView>), ApiError> {
    let rows = groups::list(c, filter, order, descending)?;
    let visible = listing::groups(c, principal, requirement, rows)?;
    let total = visible.items.len() as i64;
    let items = visible
        .items
        .iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(|(g, _)| views::group(g, &visible.tree, cfg))
        .collect();
    Ok((total, items))
}

async fn list_groups(
    list: Listing,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: GroupListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let order = q.order()?;
    let filter = q.filter(list.principal.as_ref(), true)?;
    let principal = list.principal.clone();
    let requirement = list.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let (total, items) = list
        .run(move |c| {
            group_page(
                c,
                principal.as_ref(),
                &requirement,
                &filter,
                order,
                page,
                &config,
            )
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

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target.clone().ok_or(ApiError::NotFound("Group"))
}

/// The group as GitLab's single group, with the projects the caller may see.
fn single_group(
    c: &mut DbConnection,
    id: i64,
    principal: Option<&Principal>,
    with_projects: bool,
    cfg: &ApiConfig,
) -> Result<views::GroupDetail, ApiError> {
    let g = groups::find(c, id)?.ok_or(ApiError::NotFound("Group"))?;
    let tree = groups::GroupTree::load(c, [g.id])?;
    let mut detail = views::GroupDetail {
        group: views::group(&g, &tree, cfg),
        projects: None,
    };
    if with_projects {
        let rows = projects::list(
            c,
            &ProjectFilter {
                viewer: listing::viewer(principal),
                group_ids: Some(vec![g.id]),
                ..ProjectFilter::default()
            },
            projects::ProjectOrder::Id,
            false,
        )?;
        let visible = listing::projects(c, principal, &require!(project:read), rows)?;
        let chosen: Vec<_> = visible.items.into_iter().map(|(p, _)| p).collect();
        let ns = namespaces::for_projects(c, &chosen, &visible.tree)?;
        detail.projects = Some(views::GroupProjects {
            projects: chosen
                .iter()
                .map(|p| views::project(p, ns.get(&p.id), cfg, false))
                .collect(),
            shared_projects: Vec::new(),
        });
    }
    Ok(detail)
}

#[derive(Deserialize)]
struct GetQuery {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    with_projects: Option<bool>,
}

async fn get_group(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let q: GetQuery = params.parse()?;
    let id = target_of(&auth)?.id;
    let principal = auth.principal.clone();
    let config = cfg.get_ref().clone();
    let body = auth
        .run(move |c| {
            single_group(
                c,
                id,
                principal.as_ref(),
                q.with_projects.unwrap_or(true),
                &config,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct CreateBody {
    name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    #[serde(default, deserialize_with = "opt_ref")]
    parent_id: Option<String>,
}

async fn create_group(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = params.parse()?;
    let (name, path) = name_and_path(body.name, body.path)?;
    let visibility = parse_visibility(body.visibility.as_deref())?.unwrap_or(Visibility::Private);
    let description = body.description.unwrap_or_default();
    let p = auth.principal()?.clone();
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let parent_ref = body.parent_id;
    let created = auth
        .run(move |c| -> Result<_, ApiError> {
            let parent = match &parent_ref {
                Some(r) => {
                    let spec = TargetSpec::Group("parent_id");
                    let target = resolve_target(c, spec, r, Some(p.user_id))?
                        .ok_or(ApiError::NotFound("Group"))?;
                    judge.raise_on(&MAINTAINER_OF_PARENT, &target)?;
                    Some(groups::find(c, target.id)?.ok_or(ApiError::NotFound("Group"))?)
                }
                None => None,
            };
            let g = groups::create(
                c,
                &NewGroup {
                    name: &name,
                    path: &path,
                    description: &description,
                    visibility,
                    parent: parent.as_ref(),
                    owner_id: Some(p.user_id),
                },
            )
            .map_err(write_error)?;
            tracing::info!(group.id = g.id, group.path = %g.full_path, "group created");
            single_group(c, g.id, Some(&p), false, &config)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
struct UpdateBody {
    name: Option<String>,
    path: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
}

async fn update_group(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: UpdateBody = params.parse()?;
    let changes = GroupChanges {
        name: body.name,
        path: body.path.map(|p| p.trim().to_string()),
        description: body.description,
        visibility: parse_visibility(body.visibility.as_deref())?,
    };
    if changes.name.is_none()
        && changes.path.is_none()
        && changes.description.is_none()
        && changes.visibility.is_none()
    {
        return Err(ApiError::BadRequest(
            "name, path, description, visibility are missing, at least one parameter must be provided".into(),
        ));
    }
    let id = target_of(&auth)?.id;
    let principal = auth.principal.clone();
    let config = cfg.get_ref().clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            groups::update(c, id, &changes).map_err(write_error)?;
            single_group(c, id, principal.as_ref(), false, &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn delete_group(
    auth: Authorized,
    repos: web::Data<Repositories>,
) -> Result<HttpResponse, ApiError> {
    let id = target_of(&auth)?.id;
    let repos = repos.get_ref().clone();
    auth.run(move |c| -> Result<_, ApiError> {
        lifecycle::delete_group(c, &repos, id).map_err(ApiError::missing_as("Group"))
    })
    .await?;
    tracing::info!(group.id = id, "group deleted");
    Ok(HttpResponse::Accepted().json(views::Message::new("202 Accepted")))
}

async fn subgroups(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    below(auth, cfg, params, req, false).await
}

async fn descendant_groups(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    below(auth, cfg, params, req, true).await
}

/// Subgroups (direct, or all descendants) of the target group that the caller may see.
async fn below(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
    all_levels: bool,
) -> Result<HttpResponse, ApiError> {
    let q: GroupListQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let order = q.order()?;
    let mut filter = q.filter(auth.principal.as_ref(), false)?;
    let id = target_of(&auth)?.id;
    let principal = auth.principal.clone();
    let requirement = auth.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            if all_levels {
                let ids = groups::self_and_descendants(c, &[id])?;
                filter.ids = Some(ids.into_iter().filter(|g| *g != id).collect());
            } else {
                filter.parent_id = Some(id);
            }
            group_page(
                c,
                principal.as_ref(),
                &requirement,
                &filter,
                order,
                page,
                &config,
            )
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

async fn group_projects(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: ListQuery = params.parse()?;
    let opts = q.options(&params, false)?;
    let mut filter = q.filter(auth.principal.as_ref())?;
    let include_subgroups = q.include_subgroups == Some(true);
    let id = target_of(&auth)?.id;
    let principal = auth.principal.clone();
    let requirement = auth.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let page = auth
        .run(move |c| -> Result<_, ApiError> {
            filter.group_ids = Some(if include_subgroups {
                groups::self_and_descendants(c, &[id])?
            } else {
                vec![id]
            });
            project_page(c, principal.as_ref(), &requirement, &filter, opts, &config)
        })
        .await?;
    Ok(respond(&req, &cfg, page))
}

#[derive(Deserialize)]
struct NamespaceQuery {
    search: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    owned_only: Option<bool>,
}

async fn list_namespaces(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: NamespaceQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let p = auth.principal()?.clone();
    let requirement = auth.endpoint.requirement;
    let config = cfg.get_ref().clone();
    let search = q.search.filter(|s| !s.trim().is_empty());
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let mut out: Vec<views::NamespaceView> = Vec::new();
            let needle = search.as_ref().map(|s| s.to_lowercase());
            if let (Some(ns), Some(me)) = (
                namespaces::of_user(c, p.user_id)?,
                users::find(c, p.user_id)?,
            ) && needle
                .as_ref()
                .is_none_or(|s| ns.path.to_lowercase().contains(s))
            {
                out.push(views::namespace(&NamespaceInfo::of_user(&ns, &me), &config));
            }
            let viewer = listing::viewer(Some(&p));
            let filter = GroupFilter {
                viewer,
                search,
                min_access_level: match (q.owned_only, viewer) {
                    (Some(true), _) => Some(Role::Owner),
                    (_, tinforge_store::members::Viewer::Admin(_)) => None,
                    _ => Some(Role::Guest),
                },
                ..GroupFilter::default()
            };
            let rows = groups::list(c, &filter, GroupOrder::Path, false)?;
            let visible = listing::groups(c, Some(&p), &requirement, rows)?;
            out.extend(visible.items.iter().map(|(g, _)| {
                views::namespace(&NamespaceInfo::of_group(g, &visible.tree), &config)
            }));
            let total = out.len() as i64;
            let items: Vec<views::NamespaceView> = out
                .into_iter()
                .skip(page.offset() as usize)
                .take(page.limit() as usize)
                .collect();
            Ok((total, items))
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

async fn get_namespace(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = tinforge_gate::authorized::decode(&path);
    let p = auth.principal()?.clone();
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let body = auth
        .run(move |c| -> Result<_, ApiError> {
            let ns =
                namespaces::find_by_ref(c, &reference)?.ok_or(ApiError::NotFound("Namespace"))?;
            match (ns.user_id, ns.group_id) {
                (Some(owner), _) => {
                    if owner != p.user_id && !p.in_admin_mode() {
                        return Err(ApiError::NotFound("Namespace"));
                    }
                    let user = users::find(c, owner)?.ok_or(ApiError::NotFound("Namespace"))?;
                    Ok(views::namespace(
                        &NamespaceInfo::of_user(&ns, &user),
                        &config,
                    ))
                }
                (None, Some(gid)) => {
                    let g: GroupRow =
                        groups::find(c, gid)?.ok_or(ApiError::NotFound("Namespace"))?;
                    let target = projects::group_target(c, &g, Some(p.user_id))?;
                    judge.authorize_on(&target).map_err(|e| match e {
                        GateError::Denied {
                            reason: DenyReason::NotVisible,
                            ..
                        } => ApiError::NotFound("Namespace"),
                        other => ApiError::Gate(other),
                    })?;
                    let tree = groups::GroupTree::load(c, [g.id])?;
                    Ok(views::namespace(
                        &NamespaceInfo::of_group(&g, &tree),
                        &config,
                    ))
                }
                _ => Err(ApiError::NotFound("Namespace")),
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
