//! GitLab's container registry REST API over the registry's metadata: a project's and a group's
//! image repositories, one repository by id, its tags and their details, and deletions (a whole
//! repository, one tag, tags in bulk by regex). Everything happens at once (GitLab schedules
//! repository and bulk deletions on a worker and answers 202; so do we, after doing them).
//!
//! The requirements are the registry's own `/v2/` ones (`crates/registry/src/declare.rs`), so an
//! operation needs the same permission over REST as over the distribution protocol: reading is
//! `container_registry:read` (Reporter on private projects), deleting `container_registry:delete`
//! (Maintainer).

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use crate::views;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use regex::Regex;
use serde::{Deserialize, Serialize};
use tinforge_authz::{Requirement, Role, Target, require};
use tinforge_gate::listing;
use tinforge_gate::{Authorized, RestRoutes};
use tinforge_store::projects::{self, ProjectFilter, ProjectOrder};
use tinforge_store::registry::{ContainerRepository, TagDetail, manifests, repositories};
use tinforge_store::{DbConnection, StoreError, groups, write_transaction};
use utoipa::ToSchema;

/// Listing repositories and tags, a tag's details: as pulling (`GET /v2/…`).
pub const READ: Requirement = tinforge_authz::requirement::reads::CONTAINER_REGISTRY;
/// Deleting a repository or tags: as deleting a manifest or tag over `/v2/`.
pub const DELETE: Requirement = require!(container_registry:delete).min_role(Role::Maintainer);

/// The tag a bulk deletion never removes.
const LATEST: &str = "latest";

pub fn declare(r: &mut RestRoutes) {
    let repos = "/api/v4/projects/{id}/registry/repositories";
    let repo = "/api/v4/projects/{id}/registry/repositories/{repository_id}";
    let tags = "/api/v4/projects/{id}/registry/repositories/{repository_id}/tags";
    let tag = "/api/v4/projects/{id}/registry/repositories/{repository_id}/tags/{tag_name}";
    r.route("GET", repos, READ)
        .project("id")
        .summary("A project's container image repositories (container_registry:read, Reporter+, as pulling)")
        .returns_list::<RepositoryView>()
        .to(project_repositories);
    r.route("DELETE", repo, DELETE)
        .project("id")
        .summary("Delete a container image repository with its tags (container_registry:delete, Maintainer+, as deleting over /v2/)")
        .to(delete_repository);
    r.route("GET", tags, READ)
        .project("id")
        .summary(
            "Tags of a container image repository (container_registry:read, Reporter+, as pulling)",
        )
        .returns_list::<TagView>()
        .to(list_tags);
    r.route("DELETE", tags, DELETE)
        .project("id")
        .summary("Delete tags in bulk by name regex, keep_n and older_than; never latest (container_registry:delete, Maintainer+, as deleting over /v2/)")
        .to(delete_tags_in_bulk);
    r.route("GET", tag, READ)
        .project("id")
        .summary(
            "Details of a container image tag (container_registry:read, Reporter+, as pulling)",
        )
        .returns::<TagDetailsView>()
        .to(get_tag);
    r.route("DELETE", tag, DELETE)
        .project("id")
        .summary("Delete a container image tag (container_registry:delete, Maintainer+, as deleting over /v2/)")
        .to(delete_tag);
    r.route("GET", "/api/v4/groups/{id}/registry/repositories", READ)
        .group("id")
        .summary("Container image repositories of the group's and its subgroups' projects whose registry the caller may read (container_registry:read, Reporter+)")
        .returns_list::<RepositoryView>()
        .to(group_repositories);
    r.route("GET", "/api/v4/registry/repositories/{id}", READ)
        .container_repository("id")
        .summary("A container image repository by id (container_registry:read, Reporter+ on its project, as pulling)")
        .returns::<RepositoryView>()
        .to(get_repository);
}

/// The registry's host as image names carry it: the external URL without its scheme
/// (`http://127.0.0.1:8080` → `127.0.0.1:8080`).
pub fn host_of(external_url: &str) -> String {
    let url = external_url.trim_end_matches('/');
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url)
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Views

/// A repository as GitLab's `ContainerRegistry::Repository` entity writes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepositoryView {
    pub id: i64,
    /// The image path below the project (`""` for the project's own image).
    pub name: String,
    /// The full image name (`group/project/name`).
    pub path: String,
    pub project_id: i64,
    /// `<registry host>/<path>`.
    pub location: String,
    pub created_at: String,
    /// No cleanup policies here: always null.
    pub cleanup_policy_started_at: Option<String>,
    /// Deletions happen at once, so a repository is never `delete_scheduled`: always null.
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// A tag as GitLab's `ContainerRegistry::Tag` entity writes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagView {
    pub name: String,
    /// `<image path>:<tag>`.
    pub path: String,
    /// `<registry host>/<image path>:<tag>`.
    pub location: String,
}

/// A tag with its manifest, as GitLab's `ContainerRegistry::TagDetails` entity writes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagDetailsView {
    #[serde(flatten)]
    pub tag: TagView,
    /// The config blob's digest without `sha256:` (null for an index, which has no config).
    pub revision: Option<String>,
    /// The first 9 characters of `revision`.
    pub short_revision: Option<String>,
    pub digest: String,
    pub created_at: String,
    /// Config and layers together, in bytes.
    pub total_size: i64,
}

/// Where an image lives: its full name and the registry host.
struct Image<'a> {
    host: &'a str,
    path: String,
}

impl<'a> Image<'a> {
    /// GitLab's image path is lower case, as image names must be.
    fn of(repo: &ContainerRepository, project_path: &str, host: &'a str) -> Image<'a> {
        Image {
            host,
            path: repo.image_name(project_path).to_lowercase(),
        }
    }

    fn location(&self) -> String {
        format!("{}/{}", self.host, self.path)
    }

    fn tag(&self, name: &str) -> TagView {
        let path = format!("{}:{name}", self.path);
        TagView {
            name: name.to_string(),
            location: format!("{}/{path}", self.host),
            path,
        }
    }

    fn tag_details(&self, t: &TagDetail) -> TagDetailsView {
        let revision = t
            .config_digest
            .as_deref()
            .map(|d| d.split_once(':').map_or(d, |(_, hex)| hex).to_string());
        TagDetailsView {
            tag: self.tag(&t.name),
            short_revision: revision.as_ref().map(|r| r.chars().take(9).collect()),
            revision,
            digest: t.digest.clone(),
            created_at: views::time(t.created_at),
            total_size: t.total_size,
        }
    }

    fn repository(&self, repo: &ContainerRepository) -> RepositoryView {
        RepositoryView {
            id: repo.id,
            name: repo.name.clone(),
            path: self.path.clone(),
            project_id: repo.project_id,
            location: self.location(),
            created_at: views::time(repo.created_at),
            cleanup_policy_started_at: None,
            status: None,
            tags_count: None,
            tags: None,
            size: None,
        }
    }
}

/// What a repository's JSON includes besides the base fields.
#[derive(Debug, Clone, Copy, Default)]
struct Extras {
    tags: bool,
    tags_count: bool,
    size: bool,
}

/// Repositories (each with its project's full path) as views, with the extras asked for (a
/// query per repository only for `tags` and `size`).
fn repository_views(
    c: &mut DbConnection,
    repos: &[(ContainerRepository, String)],
    host: &str,
    extras: Extras,
) -> Result<Vec<RepositoryView>, StoreError> {
    let counts = if extras.tags_count {
        let ids: Vec<i64> = repos.iter().map(|(r, _)| r.id).collect();
        Some(repositories::tag_counts(c, &ids)?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(repos.len());
    for (repo, project_path) in repos {
        let image = Image::of(repo, project_path, host);
        let mut v = image.repository(repo);
        if let Some(counts) = &counts {
            v.tags_count = Some(counts.get(&repo.id).copied().unwrap_or(0));
        }
        if extras.tags {
            let tags = manifests::tag_details(c, repo.id)?;
            v.tags = Some(tags.iter().map(|t| image.tag(&t.name)).collect());
        }
        if extras.size {
            v.size = Some(repositories::size(c, repo.id)?);
        }
        out.push(v);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn target_of(auth: &Authorized) -> Result<Target, ApiError> {
    auth.target
        .clone()
        .ok_or(ApiError::Store(StoreError::NotFound))
}

/// GitLab's answer for a repository that is not there (or not in this project): `404 Not found`.
fn repository_not_found() -> ApiError {
    ApiError::Store(StoreError::NotFound)
}

const TAG_NOT_FOUND: ApiError = ApiError::NotFound("Tag");

/// A path parameter, percent-decoded.
fn path_param(req: &HttpRequest, name: &str) -> String {
    tinforge_gate::authorized::decode(req.match_info().get(name).unwrap_or_default())
}

/// The repository `repository_id` names, when it belongs to `project_id`.
fn repository_in(
    c: &mut DbConnection,
    project_id: i64,
    repository_id: &str,
) -> Result<ContainerRepository, ApiError> {
    let id: i64 = repository_id
        .trim()
        .parse()
        .map_err(|_| repository_not_found())?;
    match repositories::get(c, id)? {
        Some(r) if r.project_id == project_id => Ok(r),
        _ => Err(repository_not_found()),
    }
}

#[derive(Deserialize)]
struct RepositoryQuery {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    tags: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    tags_count: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    size: Option<bool>,
}

impl RepositoryQuery {
    fn extras(&self, with_size: bool) -> Extras {
        Extras {
            tags: self.tags == Some(true),
            tags_count: self.tags_count == Some(true),
            size: with_size && self.size == Some(true),
        }
    }
}

async fn project_repositories(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: RepositoryQuery = params.parse()?;
    let page = Page::from_params(&params)?;
    let extras = q.extras(false);
    let host = cfg.registry_host.clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let all = repositories::list_for_projects(c, &[target.id])?;
            let (total, chosen) = page.cut(all.into_iter().map(|r| (r, target.full_path.clone())));
            Ok((total, repository_views(c, &chosen, &host, extras)?))
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

/// Repositories of the projects of the group and its subgroups whose registry the caller may
/// read: every project is judged by `decide()` with this route's requirement, with the caller's
/// eyes (a fine-grained token's boundary, a Guest's role), as group project lists are.
async fn group_repositories(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    // GitLab 15.0 removed `tags` and `tags_count` here; they are ignored.
    let page = Page::from_params(&params)?;
    let principal = auth.principal.clone();
    let requirement = auth.endpoint.requirement;
    let host = cfg.registry_host.clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let filter = ProjectFilter {
                viewer: listing::viewer(principal.as_ref()),
                group_ids: Some(groups::self_and_descendants(c, &[target.id])?),
                ..ProjectFilter::default()
            };
            let rows = projects::list(c, &filter, ProjectOrder::Id, false)?;
            let visible = listing::projects(c, principal.as_ref(), &requirement, rows)?;
            let paths: std::collections::HashMap<i64, String> = visible
                .items
                .into_iter()
                .map(|(p, _)| (p.id, p.full_path))
                .collect();
            let ids: Vec<i64> = paths.keys().copied().collect();
            let all = repositories::list_for_projects(c, &ids)?;
            let (total, chosen) = page.cut(all.into_iter().map(|r| {
                let path = paths.get(&r.project_id).cloned().unwrap_or_default();
                (r, path)
            }));
            Ok((
                total,
                repository_views(c, &chosen, &host, Extras::default())?,
            ))
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

/// `GET /registry/repositories/:id`: the gate resolved the repository's project and judged it.
async fn get_repository(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let q: RepositoryQuery = params.parse()?;
    let extras = q.extras(true);
    let repository_id = path_param(&req, "id");
    let host = cfg.registry_host.clone();
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            let mut views =
                repository_views(c, &[(repo, target.full_path.clone())], &host, extras)?;
            views.pop().ok_or_else(repository_not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_repository(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let repository_id = path_param(&req, "repository_id");
    let deleted = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            if !repositories::delete(c, repo.id)? {
                return Err(repository_not_found());
            }
            Ok(repo)
        })
        .await?;
    tracing::info!(
        project.id = deleted.project_id,
        container_repository.id = deleted.id,
        "container repository deleted"
    );
    Ok(HttpResponse::Accepted().finish())
}

async fn list_tags(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let page = Page::from_params(&params)?;
    let repository_id = path_param(&req, "repository_id");
    let host = cfg.registry_host.clone();
    let (total, items) = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            let image = Image::of(&repo, &target.full_path, &host);
            let tags = manifests::tag_details(c, repo.id)?;
            Ok(page.cut(tags.iter().map(|t| image.tag(&t.name))))
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

async fn get_tag(
    auth: Authorized,
    cfg: web::Data<ApiConfig>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let repository_id = path_param(&req, "repository_id");
    let tag_name = path_param(&req, "tag_name");
    let host = cfg.registry_host.clone();
    let view = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            let image = Image::of(&repo, &target.full_path, &host);
            let tags = manifests::tag_details(c, repo.id)?;
            let tag = tags
                .iter()
                .find(|t| t.name == tag_name)
                .ok_or(TAG_NOT_FOUND)?;
            Ok(image.tag_details(tag))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn delete_tag(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let repository_id = path_param(&req, "repository_id");
    let tag_name = path_param(&req, "tag_name");
    let (repo, tag) = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            if !manifests::delete_tag(c, repo.id, &tag_name)? {
                return Err(TAG_NOT_FOUND);
            }
            Ok((repo, tag_name))
        })
        .await?;
    tracing::info!(
        project.id = repo.project_id,
        container_repository.id = repo.id,
        tag = %tag,
        "container image tag deleted"
    );
    Ok(HttpResponse::Ok().finish())
}

// ---------------------------------------------------------------------------------------------
// Bulk deletion

#[derive(Deserialize)]
struct BulkQuery {
    name_regex_delete: Option<String>,
    /// Deprecated name of `name_regex_delete`.
    name_regex: Option<String>,
    name_regex_keep: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    keep_n: Option<i64>,
    older_than: Option<String>,
}

/// Which tags a bulk deletion removes.
#[derive(Debug, Clone)]
pub struct BulkRule {
    /// Tags whose whole name matches are candidates.
    pub delete: Regex,
    /// Tags whose whole name matches are kept.
    pub keep: Option<Regex>,
    /// Of the candidates, the N most recently updated are kept.
    pub keep_n: Option<usize>,
    /// Only tags last updated before this are removed.
    pub older_than: Option<NaiveDateTime>,
}

impl BulkRule {
    /// The rule of GitLab's parameters, validated (400s with GitLab's messages).
    fn parse(q: BulkQuery, now: NaiveDateTime) -> Result<BulkRule, ApiError> {
        let (key, delete) = match (q.name_regex_delete, q.name_regex) {
            (Some(d), _) => ("name_regex_delete", d),
            (None, Some(d)) => ("name_regex", d),
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "name_regex, name_regex_delete are missing, at least one parameter must be provided"
                        .into(),
                ));
            }
        };
        let keep_n = match q.keep_n {
            None => None,
            Some(n) if n >= 0 => Some(n as usize),
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "keep_n does not have a valid value".into(),
                ));
            }
        };
        let older_than = match q.older_than.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let age = parse_age(text).ok_or_else(|| {
                    ApiError::BadRequest("older_than does not have a valid value".into())
                })?;
                Some(now.checked_sub_signed(age).unwrap_or(NaiveDateTime::MIN))
            }
        };
        Ok(BulkRule {
            delete: whole_match(key, &delete)?,
            keep: q
                .name_regex_keep
                .map(|k| whole_match("name_regex_keep", &k))
                .transpose()?,
            keep_n,
            older_than,
        })
    }

    /// The names of the tags to delete: candidates by `delete` and not `keep`, never `latest`,
    /// minus the `keep_n` most recently updated, of those the ones older than `older_than`.
    pub fn select(&self, tags: &[TagDetail]) -> Vec<String> {
        let mut candidates: Vec<&TagDetail> = tags
            .iter()
            .filter(|t| t.name != LATEST)
            .filter(|t| self.delete.is_match(&t.name))
            .filter(|t| !self.keep.as_ref().is_some_and(|k| k.is_match(&t.name)))
            .collect();
        // Newest first; ties by name so the choice is stable.
        candidates.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.name.cmp(&b.name)));
        candidates
            .into_iter()
            .skip(self.keep_n.unwrap_or(0))
            .filter(|t| self.older_than.is_none_or(|cutoff| t.updated_at < cutoff))
            .map(|t| t.name.clone())
            .collect()
    }
}

/// A regex that must match a whole tag name (GitLab anchors them as `\A(…)\z`).
fn whole_match(key: &str, pattern: &str) -> Result<Regex, ApiError> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            ApiError::BadRequest(format!("{key} is an invalid regexp: {last}"))
        })
}

/// `1h`, `2d`, `30 minutes`, `1month`, … as GitLab's `older_than` takes them (a month is 30
/// days, a year 365).
pub fn parse_age(text: &str) -> Option<chrono::TimeDelta> {
    let text = text.trim().to_ascii_lowercase();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let n: i64 = text[..digits].parse().ok()?;
    let seconds: i64 = match text[digits..].trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "mo" | "month" | "months" => 30 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return None,
    };
    chrono::TimeDelta::try_seconds(n.checked_mul(seconds)?)
}

async fn delete_tags_in_bulk(
    auth: Authorized,
    params: Params,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth)?;
    let rule = BulkRule::parse(params.parse()?, tinforge_store::now())?;
    let repository_id = path_param(&req, "repository_id");
    let (repo, deleted) = auth
        .run(move |c| -> Result<_, ApiError> {
            let repo = repository_in(c, target.id, &repository_id)?;
            let doomed = rule.select(&manifests::tag_details(c, repo.id)?);
            let repo_id = repo.id;
            write_transaction(c, |c| -> Result<_, StoreError> {
                for name in &doomed {
                    manifests::delete_tag(c, repo_id, name)?;
                }
                Ok(())
            })?;
            Ok((repo, doomed.len()))
        })
        .await?;
    tracing::info!(
        project.id = repo.project_id,
        container_repository.id = repo.id,
        deleted,
        "container image tags deleted in bulk"
    );
    Ok(HttpResponse::Accepted().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0)
            .unwrap()
            .naive_utc()
    }

    fn tag(name: &str, minutes: i64) -> TagDetail {
        TagDetail {
            name: name.into(),
            digest: "sha256:0".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            config_digest: None,
            total_size: 0,
            created_at: at(minutes),
            updated_at: at(minutes),
        }
    }

    fn rule(delete: &str, keep: Option<&str>, keep_n: Option<usize>) -> BulkRule {
        BulkRule {
            delete: whole_match("name_regex_delete", delete).unwrap(),
            keep: keep.map(|k| whole_match("name_regex_keep", k).unwrap()),
            keep_n,
            older_than: None,
        }
    }

    #[test]
    fn bulk_rules_follow_gitlab() {
        let tags = [
            tag("latest", 0),
            tag("v1", 1),
            tag("v2", 2),
            tag("v3", 3),
            tag("stable", 4),
            tag("xv1", 5),
        ];
        let mut all = rule(".*", None, None).select(&tags);
        all.sort();
        assert_eq!(all, ["stable", "v1", "v2", "v3", "xv1"]);
        // Anchored: `v.` does not match `xv1`.
        let mut v = rule("v.", None, None).select(&tags);
        v.sort();
        assert_eq!(v, ["v1", "v2", "v3"]);
        let mut kept = rule(".*", Some("v.|stable"), None).select(&tags);
        kept.sort();
        assert_eq!(kept, ["xv1"]);
        let mut newest_kept = rule("v.", None, Some(2)).select(&tags);
        newest_kept.sort();
        assert_eq!(newest_kept, ["v1"]);
        let mut old = rule(".*", None, None);
        old.older_than = Some(at(3));
        let mut old = old.select(&tags);
        old.sort();
        assert_eq!(old, ["v1", "v2"]);
        assert!(whole_match("name_regex_delete", "(").is_err());
    }

    #[test]
    fn ages_and_hosts() {
        assert_eq!(parse_age("1h"), chrono::TimeDelta::try_hours(1));
        assert_eq!(parse_age("2d"), chrono::TimeDelta::try_days(2));
        assert_eq!(parse_age("1month"), chrono::TimeDelta::try_days(30));
        assert_eq!(parse_age("30 minutes"), chrono::TimeDelta::try_minutes(30));
        assert_eq!(parse_age("h"), None);
        assert_eq!(parse_age("1 fortnight"), None);
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(host_of("https://forge.example.com/"), "forge.example.com");
    }
}
