//! JSON shapes of users, groups, projects, namespaces, members and timestamps as GitLab's v4 API
//! writes them.

use crate::ApiConfig;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use tinforge_authz::{Principal, Role};
use tinforge_store::groups::{GroupRow, GroupTree};
use tinforge_store::members::Member;
use tinforge_store::namespaces::{self, NamespaceInfo};
use tinforge_store::projects::ProjectRow;
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

/// `{ext}/{username}` for personal namespaces, `{ext}/groups/{full_path}` for groups.
pub fn namespace_web_url(ns: &NamespaceInfo, cfg: &ApiConfig) -> String {
    if ns.kind == namespaces::KIND_USER {
        format!("{}/{}", cfg.external_url, ns.full_path)
    } else {
        format!("{}/groups/{}", cfg.external_url, ns.full_path)
    }
}

/// A namespace as `GET /namespaces` and a project's `namespace` show it.
pub fn namespace(ns: &NamespaceInfo, cfg: &ApiConfig) -> Value {
    json!({
        "id": ns.id,
        "name": ns.name,
        "path": ns.path,
        "kind": ns.kind,
        "full_path": ns.full_path,
        "parent_id": ns.parent_id,
        "avatar_url": null,
        "web_url": namespace_web_url(ns, cfg),
    })
}

/// A group in GitLab's shape; `tree` holds its ancestors (for `full_name`).
pub fn group(g: &GroupRow, tree: &GroupTree, cfg: &ApiConfig) -> Value {
    json!({
        "id": g.id,
        "web_url": format!("{}/groups/{}", cfg.external_url, g.full_path),
        "name": g.name,
        "path": g.path,
        "description": g.description,
        "visibility": g.visibility,
        "full_name": tree.full_name(g.id).unwrap_or_else(|| g.name.clone()),
        "full_path": g.full_path,
        "parent_id": g.parent_id,
        "avatar_url": null,
        "created_at": time(g.created_at),
        "share_with_group_lock": false,
        "require_two_factor_authentication": false,
        "project_creation_level": "developer",
        "subgroup_creation_level": "maintainer",
        "lfs_enabled": false,
        "request_access_enabled": false,
        "emails_disabled": false,
        "mentions_disabled": false,
        "default_branch": null,
        "marked_for_deletion_on": null,
    })
}

/// A project in GitLab's shape (`simple`: the short form of `?simple=true`).
pub fn project(p: &ProjectRow, ns: Option<&NamespaceInfo>, cfg: &ApiConfig, simple: bool) -> Value {
    let web_url = format!("{}/{}", cfg.external_url, p.full_path);
    let ns_full_name = ns.map(|n| n.full_name.clone()).unwrap_or_default();
    let mut v = json!({
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": format!("{ns_full_name} / {}", p.name),
        "path": p.path,
        "path_with_namespace": p.full_path,
        "created_at": time(p.created_at),
        "default_branch": p.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": null,
        "http_url_to_repo": format!("{web_url}.git"),
        "web_url": web_url,
        "readme_url": null,
        "forks_count": 0,
        "avatar_url": null,
        "star_count": 0,
        "last_activity_at": time(p.last_activity_at),
        "namespace": ns.map(|n| namespace(n, cfg)),
    });
    if simple {
        return v;
    }
    let api = format!("{}/api/v4/projects/{}", cfg.external_url, p.id);
    let extra = json!({
        "visibility": p.visibility,
        "empty_repo": cfg.repositories.is_empty(p.id),
        "owner": ns.and_then(|n| n.owner.as_ref()).map(|u| user(u, cfg, UserDetail::Basic)),
        "creator_id": p.creator_id,
        "archived": false,
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "jobs_enabled": true,
        "wiki_enabled": false,
        "snippets_enabled": false,
        "container_registry_enabled": true,
        "issues_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "merge_method": p.merge_method,
        "builds_access_level": "enabled",
        "container_registry_access_level": "enabled",
        "open_issues_count": 0,
        "shared_with_groups": [],
        "marked_for_deletion_on": null,
        "_links": {
            "self": api,
            "issues": format!("{api}/issues"),
            "merge_requests": format!("{api}/merge_requests"),
            "repo_branches": format!("{api}/repository/branches"),
            "labels": format!("{api}/labels"),
            "events": format!("{api}/events"),
            "members": format!("{api}/members"),
        },
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut v, extra) {
        base.extend(more);
    }
    v
}

/// GitLab's `permissions` of a single project: the caller's direct project and group access.
pub fn project_permissions(project: Option<Role>, group: Option<Role>) -> Value {
    let access = |r: Option<Role>| {
        r.map(|r| json!({ "access_level": r.access_level(), "notification_level": 3 }))
    };
    json!({ "project_access": access(project), "group_access": access(group) })
}

/// A member: the user's basic profile plus the membership.
pub fn member(m: &Member, cfg: &ApiConfig) -> Value {
    let mut v = user(&m.user, cfg, UserDetail::Basic);
    if let Value::Object(obj) = &mut v {
        obj.insert("access_level".into(), json!(m.role.access_level()));
        obj.insert("created_at".into(), json!(time(m.created_at)));
        obj.insert(
            "expires_at".into(),
            json!(m.expires_at.map(|d| d.format("%Y-%m-%d").to_string())),
        );
        obj.insert("membership_state".into(), json!("active"));
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

/// A note on an issue or merge request in GitLab's shape.
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
        "noteable_id": r.noteable_id(),
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
