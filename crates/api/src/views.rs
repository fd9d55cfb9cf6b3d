//! JSON shapes of users and timestamps as GitLab's v4 API writes them.

use crate::ApiConfig;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use tinforge_authz::Principal;
use tinforge_store::users::User;

/// `2026-11-25T18:06:12.123Z`, GitLab's timestamp format.
pub fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn opt_time(t: Option<NaiveDateTime>) -> Value {
    t.map(|t| Value::String(time(t))).unwrap_or(Value::Null)
}

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

pub fn user(u: &User, cfg: &ApiConfig, detail: UserDetail) -> Value {
    let mut v = json!({
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "state": u.state,
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{}/{}", cfg.external_url, u.username),
    });
    if detail == UserDetail::Full {
        let extra = json!({
            "created_at": time(u.created_at),
            "bio": "",
            "public_email": null,
            "bot": false,
            "email": u.email,
            "commit_email": u.email,
            "is_admin": u.is_admin,
            "can_create_group": true,
            "can_create_project": true,
            "two_factor_enabled": false,
            "external": false,
            "private_profile": false,
            "projects_limit": 100000,
            "last_sign_in_at": null,
            "confirmed_at": time(u.created_at),
        });
        if let (Value::Object(base), Value::Object(more)) = (&mut v, extra) {
            base.extend(more);
        }
    }
    v
}
