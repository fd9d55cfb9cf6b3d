//! Runners over REST, GitLab v4 shapes: creating a runner as a user (`POST /user/runners`, the
//! `tfrun-` token shown once), listing and editing runners (the caller's, all for admins, a
//! project's and a group's), enabling a project runner on another project, and the runner
//! token's own calls: legacy registration with a project's or group's registration token,
//! verify, unregister and token reset.
//!
//! Who may do what (on top of the token's `runner:*` permission, which ignores boundaries):
//! a project runner is managed by Maintainers of the project it was registered for (read by
//! Maintainers of any project it serves), a group runner by the group's Owners (read by its
//! Maintainers), an instance runner by admins in admin mode.
//!
//! Registration tokens are not stored: a project's or group's token is an HMAC under the
//! instance secret of its kind, id and generation ([`registration_token`]), checked by
//! recomputing it.

use crate::ApiConfig;
use crate::error::ApiError;
use crate::pagination::{self, Page};
use crate::params::{Params, flex};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tinforge_authz::token_format::{self, TokenPrefix};
use tinforge_authz::{
    Authenticates, DenyReason, RaiseTo, Requirement, Role, RoleRaise, Target, require,
};
use tinforge_gate::authorized::{resolve_target, state_of};
use tinforge_gate::{Authorized, GateError, Judge, RestRoutes, TargetSpec, TokenResolver};
use tinforge_store::ci::runners::{self, Contact, NewRunner, RunnerChanges, RunnerRow};
use tinforge_store::{DbConnection, StoreError, groups, projects};
use utoipa::ToSchema;

pub const READ: Requirement = require!(runner:read);
pub const CREATE: Requirement = require!(runner:create);
pub const UPDATE: Requirement = require!(runner:update);
pub const DELETE: Requirement = require!(runner:delete);
/// Runner-token calls (the runner protocol): the endpoint checks the token in the body.
pub const RUNNER_READ: Requirement =
    require!(runner:read).authenticated_by(Authenticates::RunnerToken);
pub const RUNNER_CREATE: Requirement =
    require!(runner:create).authenticated_by(Authenticates::RunnerToken);
pub const RUNNER_UPDATE: Requirement =
    require!(runner:update).authenticated_by(Authenticates::RunnerToken);
pub const RUNNER_DELETE: Requirement =
    require!(runner:delete).authenticated_by(Authenticates::RunnerToken);

/// Who may see or manage a runner depends on what it belongs to; each route declares its cases.
const INSTANCE_RUNNER: RoleRaise = RoleRaise::new(
    "the runner is an instance runner (admins in admin mode act on any runner)",
    RaiseTo::Admin,
);
const GROUP_RUNNER_READ: RoleRaise = RoleRaise::new(
    "the runner is a group runner: Maintainer of its group",
    RaiseTo::Role(Role::Maintainer),
);
const GROUP_RUNNER_MANAGE: RoleRaise = RoleRaise::new(
    "the runner is a group runner: Owner of its group",
    RaiseTo::Role(Role::Owner),
);
const PROJECT_RUNNER: RoleRaise = RoleRaise::new(
    "the runner is a project runner: Maintainer of its project",
    RaiseTo::Role(Role::Maintainer),
);
const READ_RAISES: &[RoleRaise] = &[INSTANCE_RUNNER, GROUP_RUNNER_READ, PROJECT_RUNNER];
const MANAGE_RAISES: &[RoleRaise] = &[INSTANCE_RUNNER, GROUP_RUNNER_MANAGE, PROJECT_RUNNER];
const CREATE_RAISES: &[RoleRaise] = MANAGE_RAISES;

pub fn declare(r: &mut RestRoutes) {
    r.route("POST", "/api/v4/user/runners", CREATE.raised(CREATE_RAISES))
        .resolved_target("project_id/group_id")
        .summary("Create a runner (project_type: Maintainer of the project; group_type: Owner of the group; instance_type: admin) and get its token once")
        .returns::<TokenDetails>()
        .to(create_user_runner);
    r.route("POST", "/api/v4/runners", RUNNER_CREATE)
        .summary(
            "Register a runner with a project's or group's registration token (runner protocol)",
        )
        .returns::<TokenDetails>()
        .to(register);
    r.route("DELETE", "/api/v4/runners", RUNNER_DELETE)
        .summary("Unregister the runner of the given runner token (runner protocol)")
        .to(unregister);
    r.route("DELETE", "/api/v4/runners/managers", RUNNER_DELETE)
        .summary("Unregister one runner manager (system_id) of a runner token; the runner stays (runner protocol)")
        .to(unregister_manager);
    r.route("POST", "/api/v4/runners/verify", RUNNER_READ)
        .summary("Check a runner token (runner protocol)")
        .returns::<TokenDetails>()
        .to(verify);
    r.route(
        "POST",
        "/api/v4/runners/reset_authentication_token",
        RUNNER_UPDATE,
    )
    .summary("Replace the runner token with a new one (runner protocol)")
    .returns::<FreshToken>()
    .to(reset_own_token);
    r.route("GET", "/api/v4/runners", READ.raised(READ_RAISES))
        .summary("The caller's runners: those of projects and groups they maintain")
        .returns_list::<RunnerBasic>()
        .to(list_own);
    r.route("GET", "/api/v4/runners/all", READ.admin_only())
        .summary("Every runner (admins)")
        .returns_list::<RunnerBasic>()
        .to(list_all);
    r.route(
        "GET",
        "/api/v4/runners/{runner_id}",
        READ.raised(READ_RAISES),
    )
    .resolved_target("runner_id")
    .summary(
        "One runner's details (Maintainer of its project or group, admin for instance runners)",
    )
    .returns::<RunnerDetails>()
    .to(get_runner);
    r.route("PUT", "/api/v4/runners/{runner_id}", UPDATE.raised(MANAGE_RAISES))
        .resolved_target("runner_id")
        .summary("Edit or pause a runner (Maintainer of its project, Owner of its group, admin for instance runners)")
        .returns::<RunnerDetails>()
        .to(update_runner);
    r.route("DELETE", "/api/v4/runners/{runner_id}", DELETE.raised(MANAGE_RAISES))
        .resolved_target("runner_id")
        .summary("Remove a runner (Maintainer of its project, Owner of its group, admin for instance runners)")
        .to(delete_runner);
    r.route(
        "POST",
        "/api/v4/runners/{runner_id}/reset_authentication_token",
        UPDATE.raised(MANAGE_RAISES),
    )
    .resolved_target("runner_id")
    .summary("Replace a runner's token (who may edit the runner)")
    .returns::<FreshToken>()
    .to(reset_token_by_id);
    r.route(
        "GET",
        "/api/v4/projects/{id}/runners",
        READ.min_role(Role::Maintainer).members_only(),
    )
    .project("id")
    .summary("Runners available to a project: its own, its groups', the instance's (Maintainer+)")
    .returns_list::<RunnerBasic>()
    .to(list_project_runners);
    r.route(
        "POST",
        "/api/v4/projects/{id}/runners",
        UPDATE.min_role(Role::Maintainer).raised(READ_RAISES),
    )
    .project("id")
    .summary("Enable a project runner on this project (Maintainer of both projects)")
    .returns::<RunnerBasic>()
    .to(enable_project_runner);
    r.route(
        "POST",
        "/api/v4/projects/{id}/runners/reset_registration_token",
        UPDATE.min_role(Role::Maintainer),
    )
    .project("id")
    .summary("A new registration token for the project (the old one stops working; Maintainer+)")
    .returns::<FreshToken>()
    .to(reset_project_registration_token);
    r.route(
        "DELETE",
        "/api/v4/projects/{id}/runners/{runner_id}",
        UPDATE.min_role(Role::Maintainer),
    )
    .project("id")
    .summary("Disable a project runner on this project (Maintainer+)")
    .to(disable_project_runner);
    r.route(
        "GET",
        "/api/v4/groups/{id}/runners",
        READ.min_role(Role::Maintainer).members_only(),
    )
    .group("id")
    .summary("Runners available to a group: its own and its parents', the instance's (Maintainer+)")
    .returns_list::<RunnerBasic>()
    .to(list_group_runners);
}

// ---------------------------------------------------------------------------------------------
// Registration tokens

/// What a registration token registers runners for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationScope {
    Project(i64),
    Group(i64),
}

/// GitLab's registration tokens start so; ours carry the kind and id, then the MAC.
pub const REGISTRATION_PREFIX: &str = "GR1348941";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn mac_text(resolver: &TokenResolver, kind: &str, id: i64, generation: i64) -> String {
    let hex = resolver.digest(&format!("runner-registration:{kind}:{id}:{generation}"));
    (0..24)
        .map(|i| {
            let byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16)
                .unwrap_or_default();
            BASE62[(byte % 62) as usize] as char
        })
        .collect()
}

/// The registration token of a project (`kind` "project") or group ("group") at `generation`
/// (`ci_project_settings.runner_token_generation`, 0 for groups): `GR1348941p<id>_<24 base62>`,
/// an HMAC under the instance secret, so nothing is stored and a reset is a new generation.
/// Shown as `runners_token` to the project's (group's) Maintainers.
pub fn registration_token(
    resolver: &TokenResolver,
    kind: &str,
    id: i64,
    generation: i64,
) -> String {
    let letter = if kind == "group" { 'g' } else { 'p' };
    format!(
        "{REGISTRATION_PREFIX}{letter}{id}_{}",
        mac_text(resolver, kind, id, generation)
    )
}

/// The current registration token of a project (its generation read from the store).
pub fn project_registration_token(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    project_id: i64,
) -> Result<String, StoreError> {
    let generation = runners::project_token_generation(conn, project_id)?;
    Ok(registration_token(
        resolver, "project", project_id, generation,
    ))
}

/// The registration token of a group (groups have no generation yet: always 0).
pub fn group_registration_token(resolver: &TokenResolver, group_id: i64) -> String {
    registration_token(resolver, "group", group_id, 0)
}

/// Which project or group a registration token registers for, if it is a current one.
pub fn check_registration_token(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    token: &str,
) -> Result<Option<RegistrationScope>, StoreError> {
    let Some(rest) = token.strip_prefix(REGISTRATION_PREFIX) else {
        return Ok(None);
    };
    let mut chars = rest.chars();
    let kind = match chars.next() {
        Some('p') => "project",
        Some('g') => "group",
        _ => return Ok(None),
    };
    let Some((id, _)) = chars.as_str().split_once('_') else {
        return Ok(None);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let (expected, scope) = if kind == "project" {
        if projects::find(conn, id)?.is_none() {
            return Ok(None);
        }
        (
            project_registration_token(conn, resolver, id)?,
            RegistrationScope::Project(id),
        )
    } else {
        if groups::find(conn, id)?.is_none() {
            return Ok(None);
        }
        (
            group_registration_token(resolver, id),
            RegistrationScope::Group(id),
        )
    };
    Ok(same(expected.as_bytes(), token.as_bytes()).then_some(scope))
}

/// Constant-time comparison.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------------------------
// Runner tokens

/// The runner whose `tfrun-` token this is (format and checksum first, then the digest).
pub fn runner_by_token(
    conn: &mut DbConnection,
    resolver: &TokenResolver,
    token: &str,
) -> Result<Option<RunnerRow>, StoreError> {
    if token_format::check(token) != Some(TokenPrefix::Runner) {
        return Ok(None);
    }
    runners::find_by_token_digest(conn, &resolver.digest(token))
}

/// The runner token of a runner-protocol call: the `token` parameter, else `RUNNER-TOKEN`.
pub(crate) fn presented_runner_token(req: &HttpRequest, params: &Params) -> Option<String> {
    params
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            req.headers()
                .get("runner-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// What runner-protocol callers get for a token the server does not know.
pub(crate) fn forbidden() -> ApiError {
    ApiError::Forbidden(None)
}

/// The peer's address as runners' `ip_address`.
pub(crate) fn peer_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The `info` a runner sends with its calls.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunnerInfo {
    pub version: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
}

impl RunnerInfo {
    pub(crate) fn of(params: &Params) -> RunnerInfo {
        params
            .get("info")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    pub(crate) fn contact(self, ip: Option<String>) -> Contact {
        Contact {
            version: self.version.filter(|s| !s.is_empty()),
            platform: self.platform.filter(|s| !s.is_empty()),
            architecture: self.architecture.filter(|s| !s.is_empty()),
            ip_address: ip,
        }
    }
}

fn new_runner_token(resolver: &TokenResolver) -> (String, String) {
    let token = token_format::generate(TokenPrefix::Runner);
    let digest = resolver.digest(&token);
    (token, digest)
}

/// A runner's id and token, as creating, registering and verifying answer.
#[derive(Serialize, ToSchema)]
struct TokenDetails {
    id: i64,
    token: String,
    token_expires_at: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Attributes

/// The attributes a runner is created or edited with.
#[derive(Debug, Default, Deserialize)]
struct Attributes {
    description: Option<String>,
    maintenance_note: Option<String>,
    maintainer_note: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    paused: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    run_untagged: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    tag_list: Option<Vec<String>>,
    access_level: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    maximum_timeout: Option<i64>,
}

impl Attributes {
    fn parse(params: &Params) -> Result<Attributes, ApiError> {
        let a: Attributes = params.parse()?;
        if a.active.is_some() && a.paused.is_some() {
            return Err(ApiError::BadRequest(
                "active, paused are mutually exclusive".into(),
            ));
        }
        if a.maintenance_note.is_some() && a.maintainer_note.is_some() {
            return Err(ApiError::BadRequest(
                "maintainer_note, maintenance_note are mutually exclusive".into(),
            ));
        }
        if let Some(level) = &a.access_level
            && level != "not_protected"
            && level != "ref_protected"
        {
            return Err(ApiError::BadRequest(
                "access_level does not have a valid value".into(),
            ));
        }
        if a.maximum_timeout.is_some_and(|t| t < 600) {
            return Err(ApiError::Validation(vec![(
                "maximum_timeout".into(),
                "needs to be at least 10 minutes".into(),
            )]));
        }
        Ok(a)
    }

    fn paused(&self) -> Option<bool> {
        self.paused.or(self.active.map(|a| !a))
    }

    fn note(&self) -> Option<String> {
        self.maintenance_note
            .clone()
            .or_else(|| self.maintainer_note.clone())
    }

    fn new_runner(
        &self,
        runner_type: &str,
        group_id: Option<i64>,
        project_ids: Vec<i64>,
        token_digest: String,
        registered_with_token: bool,
        creator_id: Option<i64>,
    ) -> NewRunner {
        NewRunner {
            token_digest,
            runner_type: runner_type.to_string(),
            group_id,
            project_ids,
            description: self.description.clone().unwrap_or_default(),
            maintenance_note: self.note().unwrap_or_default(),
            paused: self.paused().unwrap_or(false),
            locked: self.locked.unwrap_or(false),
            run_untagged: self.run_untagged.unwrap_or(true),
            tags: self.tag_list.clone().unwrap_or_default(),
            access_level: self
                .access_level
                .clone()
                .unwrap_or_else(|| "not_protected".into()),
            maximum_timeout: self.maximum_timeout,
            registered_with_token,
            creator_id,
        }
    }

    fn changes(&self) -> RunnerChanges {
        RunnerChanges {
            description: self.description.clone(),
            maintenance_note: self.note(),
            paused: self.paused(),
            locked: self.locked,
            run_untagged: self.run_untagged,
            tags: self.tag_list.clone(),
            access_level: self.access_level.clone(),
            maximum_timeout: self.maximum_timeout.map(Some),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Who may do what

/// What a caller wants to do with a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Read,
    Manage,
}

fn project_target_of(
    conn: &mut DbConnection,
    project_id: i64,
    user_id: i64,
) -> Result<Option<Target>, ApiError> {
    Ok(resolve_target(
        conn,
        TargetSpec::Project("id"),
        &project_id.to_string(),
        Some(user_id),
    )?)
}

fn group_target_of(
    conn: &mut DbConnection,
    group_id: i64,
    user_id: i64,
) -> Result<Option<Target>, ApiError> {
    Ok(resolve_target(
        conn,
        TargetSpec::Group("id"),
        &group_id.to_string(),
        Some(user_id),
    )?)
}

/// May `p` read (or manage) `runner`? Errors are the answer to give (404 when the caller cannot
/// even see what owns it, 403 otherwise).
fn authorize_runner(
    conn: &mut DbConnection,
    judge: &Judge,
    runner: &RunnerRow,
    intent: Intent,
) -> Result<(), ApiError> {
    // A runner whose project or group the caller cannot see is not there for them.
    authorize_runner_inner(conn, judge, runner, intent).map_err(|e| match e {
        ApiError::Gate(GateError::Denied {
            reason: DenyReason::NotVisible,
            ..
        }) => RUNNER_NOT_FOUND,
        other => other,
    })
}

fn authorize_runner_inner(
    conn: &mut DbConnection,
    judge: &Judge,
    runner: &RunnerRow,
    intent: Intent,
) -> Result<(), ApiError> {
    let p = judge.principal()?;
    if p.in_admin_mode() {
        return Ok(judge.raise_to(&INSTANCE_RUNNER, None, None)?);
    }
    match runner.runner_type.as_str() {
        "group_type" => {
            let group_id = runner.group_id.ok_or(ApiError::Forbidden(None))?;
            let target = group_target_of(conn, group_id, p.user_id)?.ok_or(RUNNER_NOT_FOUND)?;
            let raise = match intent {
                Intent::Read => &GROUP_RUNNER_READ,
                Intent::Manage => &GROUP_RUNNER_MANAGE,
            };
            Ok(judge.raise_on(raise, &target)?)
        }
        "project_type" => {
            let ids = runners::project_ids(conn, runner.id)?;
            let candidates: Vec<i64> = match intent {
                Intent::Read => ids,
                // Managed from the project it was registered for.
                Intent::Manage => ids.into_iter().take(1).collect(),
            };
            let mut last = ApiError::Forbidden(None);
            for id in candidates {
                let Some(target) = project_target_of(conn, id, p.user_id)? else {
                    continue;
                };
                match judge.raise_on(&PROJECT_RUNNER, &target) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e.into(),
                }
            }
            Err(last)
        }
        _ => Err(ApiError::Forbidden(None)),
    }
}

const RUNNER_NOT_FOUND: ApiError = ApiError::NotFound("Runner");

fn runner_id_of(req: &HttpRequest) -> Result<i64, ApiError> {
    req.match_info()
        .get("runner_id")
        .and_then(|s| s.parse().ok())
        .ok_or(RUNNER_NOT_FOUND)
}

/// Whether `p` may read `runner`, without an answer (lists).
fn may_read(conn: &mut DbConnection, judge: &Judge, runner: &RunnerRow) -> bool {
    if runner.is_instance() {
        return false;
    }
    authorize_runner(conn, judge, runner, Intent::Read).is_ok()
}

// ---------------------------------------------------------------------------------------------
// JSON

/// `online` (contacted in the last 2 hours), `offline`, `stale` (contacted or created over 7 days
/// ago and quiet since) or `never_contacted`.
pub fn runner_status(r: &RunnerRow, now: NaiveDateTime) -> &'static str {
    let stale = chrono::Duration::days(7);
    match r.contacted_at {
        Some(t) if now - t <= chrono::Duration::hours(2) => "online",
        Some(t) if now - t > stale => "stale",
        Some(_) => "offline",
        None if now - r.created_at > stale => "stale",
        None => "never_contacted",
    }
}

/// A runner in GitLab's basic shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerBasic {
    pub id: i64,
    pub description: String,
    pub ip_address: Option<String>,
    pub active: bool,
    pub paused: bool,
    pub is_shared: bool,
    pub runner_type: String,
    pub name: &'static str,
    pub online: bool,
    /// `online`, `offline`, `stale` or `never_contacted`.
    pub status: &'static str,
    pub created_at: String,
}

/// A runner with its details: tags, settings, what it reported, where it serves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerDetails {
    #[serde(flatten)]
    pub basic: RunnerBasic,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub maximum_timeout: Option<i64>,
    pub access_level: String,
    pub maintenance_note: String,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub contacted_at: Option<String>,
    pub projects: Vec<RunnerProject>,
    pub groups: Vec<RunnerGroup>,
}

/// A project a runner serves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerProject {
    pub id: i64,
    pub name: String,
    pub name_with_namespace: String,
    pub path: String,
    pub path_with_namespace: String,
}

/// The group a group runner belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerGroup {
    pub id: i64,
    pub name: String,
    pub web_url: String,
}

/// A fresh token (a runner's or a registration token), shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FreshToken {
    pub token: String,
    /// Tokens do not expire here: always null.
    pub token_expires_at: Option<String>,
}

impl FreshToken {
    fn new(token: String) -> FreshToken {
        FreshToken {
            token,
            token_expires_at: None,
        }
    }
}

pub fn runner_basic(r: &RunnerRow) -> RunnerBasic {
    let status = runner_status(r, tinforge_store::now());
    RunnerBasic {
        id: r.id,
        description: r.description.clone(),
        ip_address: r.ip_address.clone(),
        active: !r.paused,
        paused: r.paused,
        is_shared: r.is_instance(),
        runner_type: r.runner_type.clone(),
        name: "gitlab-runner",
        online: status == "online",
        status,
        created_at: crate::views::time(r.created_at),
    }
}

fn runner_details(
    conn: &mut DbConnection,
    r: &RunnerRow,
    cfg: &ApiConfig,
) -> Result<RunnerDetails, ApiError> {
    let mut projects_out = Vec::new();
    for id in runners::project_ids(conn, r.id)? {
        if let Some(p) = projects::find(conn, id)? {
            let namespace = p
                .full_path
                .rsplit_once('/')
                .map(|(ns, _)| ns.to_string())
                .unwrap_or_default();
            projects_out.push(RunnerProject {
                id: p.id,
                name_with_namespace: format!("{namespace} / {}", p.name),
                name: p.name,
                path: p.path,
                path_with_namespace: p.full_path,
            });
        }
    }
    let mut groups_out = Vec::new();
    if let Some(g) = r.group_id.and_then(|id| groups::find(conn, id).transpose()) {
        let g = g?;
        groups_out.push(RunnerGroup {
            id: g.id,
            web_url: format!("{}/groups/{}", cfg.external_url, g.full_path),
            name: g.name,
        });
    }
    Ok(RunnerDetails {
        basic: runner_basic(r),
        tag_list: r.tags(),
        run_untagged: r.run_untagged,
        locked: r.locked,
        maximum_timeout: r.maximum_timeout,
        access_level: r.access_level.clone(),
        maintenance_note: r.maintenance_note.clone(),
        version: r.version.clone(),
        revision: None,
        platform: r.platform.clone(),
        architecture: r.architecture.clone(),
        contacted_at: crate::views::opt_time(r.contacted_at),
        projects: projects_out,
        groups: groups_out,
    })
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(rename = "type")]
    runner_type: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    paused: Option<bool>,
    status: Option<String>,
    scope: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_list")]
    tag_list: Option<Vec<String>>,
}

impl ListQuery {
    fn parse(params: &Params) -> Result<ListQuery, ApiError> {
        let q: ListQuery = params.parse()?;
        if let Some(t) = &q.runner_type
            && !["instance_type", "group_type", "project_type"].contains(&t.as_str())
        {
            return Err(ApiError::BadRequest(
                "type does not have a valid value".into(),
            ));
        }
        if let Some(s) = &q.status
            && ![
                "online",
                "offline",
                "stale",
                "never_contacted",
                "active",
                "paused",
            ]
            .contains(&s.as_str())
        {
            return Err(ApiError::BadRequest(
                "status does not have a valid value".into(),
            ));
        }
        if let Some(s) = &q.scope
            && ![
                "active",
                "paused",
                "online",
                "offline",
                "stale",
                "never_contacted",
                "specific",
                "shared",
                "instance_type",
                "group_type",
                "project_type",
            ]
            .contains(&s.as_str())
        {
            return Err(ApiError::BadRequest("Scope contains invalid value".into()));
        }
        Ok(q)
    }

    fn keeps(&self, r: &RunnerRow, now: NaiveDateTime) -> bool {
        let status = runner_status(r, now);
        let state = |s: &str| match s {
            "active" => !r.paused,
            "paused" => r.paused,
            "specific" => !r.is_instance(),
            "shared" => r.is_instance(),
            "instance_type" | "group_type" | "project_type" => r.runner_type == s,
            other => status == other,
        };
        self.runner_type
            .as_ref()
            .is_none_or(|t| &r.runner_type == t)
            && self.paused.is_none_or(|p| r.paused == p)
            && self.status.as_deref().is_none_or(state)
            && self.scope.as_deref().is_none_or(state)
            && self.tag_list.as_ref().is_none_or(|tags| {
                let have = r.tags();
                tags.iter()
                    .filter(|t| !t.trim().is_empty())
                    .all(|t| have.iter().any(|h| h == t.trim()))
            })
    }
}

async fn respond_list(
    req: &HttpRequest,
    cfg: &ApiConfig,
    params: &Params,
    rows: Vec<RunnerRow>,
) -> Result<HttpResponse, ApiError> {
    let q = ListQuery::parse(params)?;
    let page = Page::from_params(params)?;
    let now = tinforge_store::now();
    let kept: Vec<RunnerBasic> = rows
        .iter()
        .filter(|r| q.keeps(r, now))
        .map(runner_basic)
        .collect();
    let (total, items) = page.cut(kept);
    Ok(pagination::respond(
        req,
        &cfg.external_url,
        page,
        total,
        &items,
    ))
}

async fn list_own(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    ListQuery::parse(&params)?;
    auth.principal()?;
    let judge = auth.judge();
    let rows = auth
        .run(move |c| -> Result<_, ApiError> {
            let all = runners::all(c)?;
            Ok(all
                .into_iter()
                .filter(|r| may_read(c, &judge, r))
                .collect::<Vec<_>>())
        })
        .await?;
    respond_list(&req, &cfg, &params, rows).await
}

async fn list_all(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    ListQuery::parse(&params)?;
    let rows = auth
        .run(|c| -> Result<_, ApiError> { Ok(runners::all(c)?) })
        .await?;
    respond_list(&req, &cfg, &params, rows).await
}

fn target_of(auth: &Authorized, label: &'static str) -> Result<Target, ApiError> {
    auth.target.clone().ok_or(ApiError::NotFound(label))
}

async fn list_project_runners(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    ListQuery::parse(&params)?;
    auth.principal()?;
    let target = target_of(&auth, "Project")?;
    let rows = auth
        .run(move |c| -> Result<_, ApiError> {
            let own = runners::ids_for_project(c, target.id)?;
            let groups = &target.ancestor_group_ids;
            Ok(runners::all(c)?
                .into_iter()
                .filter(|r| match r.runner_type.as_str() {
                    "instance_type" => true,
                    "group_type" => r.group_id.is_some_and(|g| groups.contains(&g)),
                    _ => own.contains(&r.id),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    respond_list(&req, &cfg, &params, rows).await
}

async fn list_group_runners(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    ListQuery::parse(&params)?;
    auth.principal()?;
    let target = target_of(&auth, "Group")?;
    let rows = auth
        .run(move |c| -> Result<_, ApiError> {
            let mut chain = vec![target.id];
            chain.extend(&target.ancestor_group_ids);
            Ok(runners::all(c)?
                .into_iter()
                .filter(|r| match r.runner_type.as_str() {
                    "instance_type" => true,
                    "group_type" => r.group_id.is_some_and(|g| chain.contains(&g)),
                    _ => false,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    respond_list(&req, &cfg, &params, rows).await
}

// ---------------------------------------------------------------------------------------------
// One runner

async fn get_runner(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
) -> Result<HttpResponse, ApiError> {
    let id = runner_id_of(&req)?;
    auth.principal()?;
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let v = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runners::find(c, id)?.ok_or(RUNNER_NOT_FOUND)?;
            authorize_runner(c, &judge, &r, Intent::Read)?;
            runner_details(c, &r, &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn update_runner(
    auth: Authorized,
    req: HttpRequest,
    cfg: web::Data<ApiConfig>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let id = runner_id_of(&req)?;
    let attrs = Attributes::parse(&params)?;
    auth.principal()?;
    let judge = auth.judge();
    let config = cfg.get_ref().clone();
    let v = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runners::find(c, id)?.ok_or(RUNNER_NOT_FOUND)?;
            authorize_runner(c, &judge, &r, Intent::Manage)?;
            let r = runners::update(c, id, &attrs.changes())?;
            tracing::info!(runner.id = id, "runner updated");
            runner_details(c, &r, &config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn delete_runner(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let id = runner_id_of(&req)?;
    let p = auth.principal()?.clone();
    let judge = auth.judge();
    auth.run(move |c| -> Result<_, ApiError> {
        let r = runners::find(c, id)?.ok_or(RUNNER_NOT_FOUND)?;
        authorize_runner(c, &judge, &r, Intent::Manage)?;
        if r.runner_type == "project_type"
            && !p.in_admin_mode()
            && runners::project_ids(c, id)?.len() > 1
        {
            return Err(ApiError::Forbidden(Some(
                "Runner associated with more than one project".into(),
            )));
        }
        runners::delete(c, id)?;
        tracing::info!(runner.id = id, "runner deleted");
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn reset_token_by_id(auth: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let id = runner_id_of(&req)?;
    auth.principal()?;
    let judge = auth.judge();
    let resolver = state_of(&req)?.resolver.clone();
    let token = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runners::find(c, id)?.ok_or(RUNNER_NOT_FOUND)?;
            authorize_runner(c, &judge, &r, Intent::Manage)?;
            let (token, digest) = new_runner_token(&resolver);
            runners::set_token_digest(c, id, &digest)?;
            Ok(token)
        })
        .await?;
    Ok(HttpResponse::Created().json(FreshToken::new(token)))
}

#[derive(Deserialize)]
struct CreateBody {
    runner_type: String,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    group_id: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    project_id: Option<i64>,
}

async fn create_user_runner(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = params.parse()?;
    let attrs = Attributes::parse(&params)?;
    let p = auth.principal()?.clone();
    let judge = auth.judge();
    let resolver = state_of(&req)?.resolver.clone();
    let details = auth
        .run(move |c| -> Result<_, ApiError> {
            let (group_id, project_ids) = match body.runner_type.as_str() {
                "instance_type" => {
                    judge.raise_to(&INSTANCE_RUNNER, None, None)?;
                    (None, Vec::new())
                }
                "group_type" => {
                    let id = body
                        .group_id
                        .ok_or_else(|| ApiError::BadRequest("group_id is missing".into()))?;
                    let target =
                        group_target_of(c, id, p.user_id)?.ok_or(ApiError::NotFound("Group"))?;
                    judge.raise_on(&GROUP_RUNNER_MANAGE, &target)?;
                    (Some(id), Vec::new())
                }
                "project_type" => {
                    let id = body
                        .project_id
                        .ok_or_else(|| ApiError::BadRequest("project_id is missing".into()))?;
                    let target = project_target_of(c, id, p.user_id)?
                        .ok_or(ApiError::NotFound("Project"))?;
                    judge.raise_on(&PROJECT_RUNNER, &target)?;
                    (None, vec![id])
                }
                _ => {
                    return Err(ApiError::BadRequest(
                        "runner_type does not have a valid value".into(),
                    ));
                }
            };
            let (token, digest) = new_runner_token(&resolver);
            let row = runners::create(
                c,
                &attrs.new_runner(
                    &body.runner_type,
                    group_id,
                    project_ids,
                    digest,
                    false,
                    Some(p.user_id),
                ),
            )?;
            tracing::info!(runner.id = row.id, runner.kind = %row.runner_type, "runner created");
            Ok(TokenDetails {
                id: row.id,
                token,
                token_expires_at: None,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(details))
}

#[derive(Deserialize)]
struct EnableBody {
    #[serde(deserialize_with = "flex::opt_i64")]
    runner_id: Option<i64>,
}

async fn enable_project_runner(auth: Authorized, params: Params) -> Result<HttpResponse, ApiError> {
    let body: EnableBody = params.parse()?;
    let runner_id = body
        .runner_id
        .ok_or_else(|| ApiError::BadRequest("runner_id is missing".into()))?;
    let p = auth.principal()?.clone();
    let target = target_of(&auth, "Project")?;
    let judge = auth.judge();
    let v = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runners::find(c, runner_id)?.ok_or(RUNNER_NOT_FOUND)?;
            if r.runner_type != "project_type" {
                return Err(ApiError::Forbidden(Some(
                    "Runner is not a project runner".into(),
                )));
            }
            if !p.in_admin_mode() {
                authorize_runner(c, &judge, &r, Intent::Read)?;
                if r.locked {
                    return Err(ApiError::Forbidden(Some("Runner is locked".into())));
                }
            }
            if !runners::add_project(c, runner_id, target.id)? {
                return Err(ApiError::BadRequest(
                    "Runner was already enabled for this project".into(),
                ));
            }
            tracing::info!(
                runner.id = runner_id,
                project.id = target.id,
                "runner enabled"
            );
            Ok(runner_basic(&r))
        })
        .await?;
    Ok(HttpResponse::Created().json(v))
}

async fn disable_project_runner(
    auth: Authorized,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let runner_id = runner_id_of(&req)?;
    let target = target_of(&auth, "Project")?;
    auth.run(move |c| -> Result<_, ApiError> {
        let ids = runners::project_ids(c, runner_id)?;
        if !ids.contains(&target.id) {
            return Err(RUNNER_NOT_FOUND);
        }
        if ids.len() == 1 {
            return Err(ApiError::Forbidden(Some(
                "Only one project associated with the runner. Please remove the runner instead"
                    .into(),
            )));
        }
        runners::remove_project(c, runner_id, target.id)?;
        tracing::info!(
            runner.id = runner_id,
            project.id = target.id,
            "runner disabled"
        );
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn reset_project_registration_token(
    auth: Authorized,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = target_of(&auth, "Project")?;
    let resolver = state_of(&req)?.resolver.clone();
    let token = auth
        .run(move |c| -> Result<_, ApiError> {
            let generation = runners::bump_project_token_generation(c, target.id)?;
            tracing::info!(project.id = target.id, "runner registration token reset");
            Ok(registration_token(
                &resolver, "project", target.id, generation,
            ))
        })
        .await?;
    Ok(HttpResponse::Created().json(FreshToken::new(token)))
}

// ---------------------------------------------------------------------------------------------
// The runner token's own calls

async fn register(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = params
        .get("token")
        .and_then(Value::as_str)
        .map(|t| t.trim().to_string())
        .ok_or_else(|| ApiError::BadRequest("token is missing".into()))?;
    let attrs = Attributes::parse(&params)?;
    let contact = RunnerInfo::of(&params).contact(peer_ip(&req));
    let resolver = state_of(&req)?.resolver.clone();
    let details = auth
        .run(move |c| -> Result<_, ApiError> {
            // gitlab-runner registers with any token that is not `glrt-`: a runner token
            // created through `POST /user/runners` is answered like verify (the settings stay
            // the server's, as for GitLab's authentication tokens).
            if let Some(r) = runner_by_token(c, &resolver, &token)? {
                runners::record_contact(c, r.id, &contact)?;
                return Ok(TokenDetails {
                    id: r.id,
                    token,
                    token_expires_at: None,
                });
            }
            let scope = check_registration_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
            let (kind, group_id, project_ids) = match scope {
                RegistrationScope::Project(id) => ("project_type", None, vec![id]),
                RegistrationScope::Group(id) => ("group_type", Some(id), Vec::new()),
            };
            let (token, digest) = new_runner_token(&resolver);
            let row = runners::create(
                c,
                &attrs.new_runner(kind, group_id, project_ids, digest, true, None),
            )?;
            runners::record_contact(c, row.id, &contact)?;
            tracing::info!(runner.id = row.id, runner.kind = kind, "runner registered");
            Ok(TokenDetails {
                id: row.id,
                token,
                token_expires_at: None,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(details))
}

async fn unregister(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = presented_runner_token(&req, &params).ok_or_else(forbidden)?;
    let resolver = state_of(&req)?.resolver.clone();
    auth.run(move |c| -> Result<_, ApiError> {
        let r = runner_by_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
        runners::delete(c, r.id)?;
        tracing::info!(runner.id = r.id, "runner unregistered");
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runner managers are not kept apart: a known token's manager is gone at once (204).
async fn unregister_manager(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = presented_runner_token(&req, &params).ok_or_else(forbidden)?;
    let resolver = state_of(&req)?.resolver.clone();
    auth.run(move |c| -> Result<_, ApiError> {
        runner_by_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn verify(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = presented_runner_token(&req, &params).ok_or_else(forbidden)?;
    let contact = RunnerInfo::of(&params).contact(peer_ip(&req));
    let resolver = state_of(&req)?.resolver.clone();
    let id = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runner_by_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
            runners::record_contact(c, r.id, &contact)?;
            Ok(r.id)
        })
        .await?;
    let token = presented_runner_token(&req, &params).unwrap_or_default();
    Ok(HttpResponse::Ok().json(TokenDetails {
        id,
        token,
        token_expires_at: None,
    }))
}

async fn reset_own_token(
    auth: Authorized,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let token = presented_runner_token(&req, &params).ok_or_else(forbidden)?;
    let resolver = state_of(&req)?.resolver.clone();
    let fresh = auth
        .run(move |c| -> Result<_, ApiError> {
            let r = runner_by_token(c, &resolver, &token)?.ok_or_else(forbidden)?;
            let (fresh, digest) = new_runner_token(&resolver);
            runners::set_token_digest(c, r.id, &digest)?;
            tracing::info!(runner.id = r.id, "runner token reset");
            Ok(fresh)
        })
        .await?;
    Ok(HttpResponse::Created().json(FreshToken::new(fresh)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_tokens_name_their_scope_and_change_with_the_generation() {
        let r = TokenResolver::new(b"secret");
        let t = registration_token(&r, "project", 12, 0);
        assert!(t.starts_with("GR1348941p12_"));
        assert_eq!(t.len(), "GR1348941p12_".len() + 24);
        assert_ne!(t, registration_token(&r, "project", 12, 1));
        assert_ne!(t, registration_token(&r, "project", 13, 0));
        assert!(registration_token(&r, "group", 12, 0).starts_with("GR1348941g12_"));
        assert_ne!(
            t,
            registration_token(&TokenResolver::new(b"other"), "project", 12, 0)
        );
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }

    #[test]
    fn status_follows_contact() {
        let now = tinforge_store::now();
        let mut r = RunnerRow {
            id: 1,
            token_digest: String::new(),
            runner_type: "instance_type".into(),
            group_id: None,
            description: String::new(),
            maintenance_note: String::new(),
            paused: false,
            locked: false,
            run_untagged: true,
            tag_list: String::new(),
            access_level: "not_protected".into(),
            maximum_timeout: None,
            registered_with_token: false,
            creator_id: None,
            version: None,
            platform: None,
            architecture: None,
            ip_address: None,
            created_at: now,
            contacted_at: None,
        };
        assert_eq!(runner_status(&r, now), "never_contacted");
        r.contacted_at = Some(now - chrono::Duration::minutes(5));
        assert_eq!(runner_status(&r, now), "online");
        r.contacted_at = Some(now - chrono::Duration::hours(3));
        assert_eq!(runner_status(&r, now), "offline");
        r.contacted_at = Some(now - chrono::Duration::days(8));
        assert_eq!(runner_status(&r, now), "stale");
    }
}
