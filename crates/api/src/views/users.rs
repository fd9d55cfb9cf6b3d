//! Users and members as GitLab's v4 API writes them: `UserBasic` for everyone, the full `User`
//! fields for the user themself and admins, and `Member` (a basic user plus the membership).

use crate::ApiConfig;
use serde::Serialize;
use tinforge_authz::Principal;
use tinforge_store::members::Member;
use tinforge_store::users::User;
use utoipa::ToSchema;

/// How much of a user the viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDetail {
    /// `UserBasic`: id, username, name, state, avatar, web_url.
    Basic,
    /// Everything, for the user themself and for admins.
    Full,
}

impl UserDetail {
    pub fn for_viewer(viewer: Option<&Principal>, user: &User) -> UserDetail {
        match viewer {
            Some(p) if p.user_id == user.id || p.is_admin => UserDetail::Full,
            _ => UserDetail::Basic,
        }
    }
}

/// GitLab's `UserBasic`: what anyone who may see the user sees (authors, assignees, owners).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserBasic {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub state: String,
    pub locked: bool,
    pub avatar_url: Option<String>,
    pub web_url: String,
}

/// The fields GitLab adds for the user themself and for admins.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserPrivate {
    pub created_at: String,
    pub bio: String,
    pub public_email: Option<String>,
    pub bot: bool,
    pub email: String,
    pub commit_email: String,
    pub is_admin: bool,
    pub can_create_group: bool,
    pub can_create_project: bool,
    pub two_factor_enabled: bool,
    pub external: bool,
    pub private_profile: bool,
    pub projects_limit: i64,
    pub last_sign_in_at: Option<String>,
    pub confirmed_at: String,
}

/// A user as `/user` and `/users` show it: the basic fields, and the private ones only for the
/// user themself and admins (absent, not null, for anyone else).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub basic: UserBasic,
    #[serde(flatten)]
    pub private: Option<UserPrivate>,
}

/// A member: the user's basic profile plus the membership.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    #[serde(flatten)]
    pub user: UserBasic,
    pub access_level: i32,
    pub created_at: String,
    /// `YYYY-MM-DD`, or null for a membership without end.
    pub expires_at: Option<String>,
    pub membership_state: &'static str,
}

pub fn user_basic(u: &User, cfg: &ApiConfig) -> UserBasic {
    UserBasic {
        id: u.id,
        username: u.username.clone(),
        name: u.name.clone(),
        state: u.state.clone(),
        locked: false,
        avatar_url: None,
        web_url: format!("{}/{}", cfg.external_url, u.username),
    }
}

pub fn user(u: &User, cfg: &ApiConfig, detail: UserDetail) -> UserView {
    let private = (detail == UserDetail::Full).then(|| UserPrivate {
        created_at: super::time(u.created_at),
        bio: String::new(),
        public_email: None,
        bot: false,
        email: u.email.clone(),
        commit_email: u.email.clone(),
        is_admin: u.is_admin,
        can_create_group: true,
        can_create_project: true,
        two_factor_enabled: false,
        external: false,
        private_profile: false,
        projects_limit: 100000,
        last_sign_in_at: None,
        confirmed_at: super::time(u.created_at),
    });
    UserView {
        basic: user_basic(u, cfg),
        private,
    }
}

pub fn member(m: &Member, cfg: &ApiConfig) -> MemberView {
    MemberView {
        user: user_basic(&m.user, cfg),
        access_level: m.role.access_level(),
        created_at: super::time(m.created_at),
        expires_at: m.expires_at.map(|d| d.format("%Y-%m-%d").to_string()),
        membership_state: "active",
    }
}
