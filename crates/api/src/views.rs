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

// ---------------------------------------------------------------------------------------------
// Issues, notes and labels

use tinforge_store::issues::Issue;
use tinforge_store::labels::LabelRow;
use tinforge_store::notes::Note;

fn basic_user(u: Option<&User>, cfg: &ApiConfig) -> Value {
    u.map(|u| user(u, cfg, UserDetail::Basic))
        .unwrap_or(Value::Null)
}

/// A label as GitLab writes it; the issue counts only when asked for (`with_counts`).
pub fn label(l: &LabelRow, counts: Option<(i64, i64)>) -> Value {
    let mut v = json!({
        "id": l.id,
        "name": l.name,
        "color": l.color,
        "text_color": l.text_color(),
        "description": l.description,
        "description_html": l.description.as_deref().map(html_escape).unwrap_or_default(),
        "subscribed": false,
        "priority": null,
        "is_project_label": true,
        "archived": false,
    });
    if let (Some((open, closed)), Value::Object(map)) = (counts, &mut v) {
        map.insert("open_issues_count".into(), json!(open));
        map.insert("closed_issues_count".into(), json!(closed));
        map.insert("open_merge_requests_count".into(), json!(0));
    }
    v
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An issue in GitLab's shape (`labels` as names, or label objects with `with_labels_details`).
pub fn issue(i: &Issue, cfg: &ApiConfig, label_details: bool) -> Value {
    let r = &i.row;
    let web_url = format!("{}/{}/-/issues/{}", cfg.external_url, i.project_path, r.iid);
    let api = format!("{}/api/v4/projects/{}", cfg.external_url, r.project_id);
    let labels: Vec<Value> = if label_details {
        i.labels.iter().map(|l| label(l, None)).collect()
    } else {
        i.labels.iter().map(|l| json!(l.name)).collect()
    };
    let assignees: Vec<Value> = i
        .assignees
        .iter()
        .map(|u| user(u, cfg, UserDetail::Basic))
        .collect();
    json!({
        "id": r.id,
        "iid": r.iid,
        "project_id": r.project_id,
        "title": r.title,
        "description": r.description,
        "state": r.state,
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
        "closed_at": opt_time(r.closed_at),
        "closed_by": basic_user(i.closed_by.as_ref(), cfg),
        "labels": labels,
        "milestone": null,
        "assignees": assignees,
        "assignee": assignees.first().cloned().unwrap_or(Value::Null),
        "author": basic_user(i.author.as_ref(), cfg),
        "type": "ISSUE",
        "issue_type": "issue",
        "user_notes_count": i.user_notes_count,
        "merge_requests_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": null,
        "confidential": r.confidential,
        "discussion_locked": null,
        "web_url": web_url,
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": null,
            "human_total_time_spent": null,
        },
        "task_completion_status": { "count": 0, "completed_count": 0 },
        "has_tasks": false,
        "blocking_issues_count": 0,
        "moved_to_id": null,
        "service_desk_reply_to": null,
        "severity": "UNKNOWN",
        "references": {
            "short": format!("#{}", r.iid),
            "relative": format!("#{}", r.iid),
            "full": format!("{}#{}", i.project_path, r.iid),
        },
        "_links": {
            "self": format!("{api}/issues/{}", r.iid),
            "notes": format!("{api}/issues/{}/notes", r.iid),
            "award_emoji": format!("{api}/issues/{}/award_emoji", r.iid),
            "project": api,
            "closed_as_duplicate_of": null,
        },
    })
}

/// A note on an issue in GitLab's shape.
pub fn note(n: &Note, cfg: &ApiConfig) -> Value {
    let r = &n.row;
    json!({
        "id": r.id,
        "type": null,
        "body": r.body,
        "attachment": null,
        "author": basic_user(n.author.as_ref(), cfg),
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
        "system": r.system,
        "noteable_id": r.issue_id,
        "noteable_type": r.noteable_type,
        "noteable_iid": n.noteable_iid,
        "project_id": r.project_id,
        "resolvable": false,
        "confidential": r.internal,
        "internal": r.internal,
        "imported": false,
        "imported_from": "none",
        "commands_changes": {},
    })
}
