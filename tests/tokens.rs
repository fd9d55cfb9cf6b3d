//! Personal access tokens over REST and the CLI: creation in every accepted shape, listing,
//! rotation with reuse detection, revocation, expiry, blocked owners, no escalation.

mod common;

use common::{Server, each_backend};
use serde_json::json;

fn future(days: i64) -> String {
    (chrono_today() + days).to_string()
}

/// Days since the epoch → `YYYY-MM-DD`, without pulling a date crate into the tests.
struct Day(i64);
impl std::ops::Add<i64> for Day {
    type Output = Day;
    fn add(self, d: i64) -> Day {
        Day(self.0 + d)
    }
}
impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}
fn chrono_today() -> Day {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Day(secs.div_euclid(86_400))
}

#[test]
fn create_list_show_and_revoke_over_rest() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let me = s.get("/api/v4/user", &api);
        assert_eq!(me.status, 200);
        assert_eq!(me.json["username"], "alice");
        assert_eq!(me.header("x-accepted-permissions"), Some("user:read"));

        let created = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&api),
            Some(json!({"name": "ci", "scopes": ["read_api"], "expires_at": future(30)})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        let secret = created.json["token"].as_str().unwrap().to_string();
        assert!(secret.starts_with("tfpat-"));
        assert_eq!(created.json["scopes"], json!(["read_api"]));
        assert_eq!(created.json["expires_at"], future(30));
        assert_eq!(created.json["active"], true);
        assert_eq!(created.json["revoked"], false);
        assert!(!created.text.contains("digest"));

        let list = s.get("/api/v4/personal_access_tokens", &api);
        assert_eq!(list.status, 200);
        assert_eq!(list.header("x-total"), Some("2"));
        let items = list.json.as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|t| t.get("token").is_none()));
        assert!(!list.text.contains(&secret));

        let own = s.get("/api/v4/personal_access_tokens/self", &secret);
        assert_eq!(own.status, 200);
        assert_eq!(own.json["id"], created.json["id"]);
        assert_eq!(own.json["name"], "ci");
        assert!(own.json.get("token").is_none());
        // The first use was recorded.
        let again = s.get("/api/v4/personal_access_tokens/self", &secret);
        assert!(again.json["last_used_at"].is_string(), "{}", again.text);

        // read_api cannot create tokens, and says what it lacks.
        let refused = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&secret),
            Some(json!({"name": "x", "scopes": ["read_api"]})),
        );
        assert_eq!(refused.status, 403);
        assert_eq!(refused.json["error"], "insufficient_scope");
        assert_eq!(
            refused.json["missing"],
            json!(["personal_access_token:create"])
        );

        let id = created.json["id"].as_i64().unwrap();
        let del = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{id}"),
            Some(&api),
            None,
        );
        assert_eq!(del.status, 204);
        let gone = s.get("/api/v4/user", &secret);
        assert_eq!(gone.status, 401);
        assert_eq!(gone.json["error"], "invalid_token");
        let shown = s.get(&format!("/api/v4/personal_access_tokens/{id}"), &api);
        assert_eq!(shown.json["revoked"], true);
        assert_eq!(shown.json["active"], false);
        let filtered = s.get("/api/v4/personal_access_tokens?state=active", &api);
        assert_eq!(filtered.header("x-total"), Some("1"));
    });
}

#[test]
fn other_users_tokens_do_not_exist_for_you() {
    each_backend(|s: &Server| {
        s.user("alice");
        s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let bob_id = s.get("/api/v4/personal_access_tokens/self", &bob).json["id"].clone();
        let peek = s.get(&format!("/api/v4/personal_access_tokens/{bob_id}"), &alice);
        assert_eq!(peek.status, 404);
        assert_eq!(peek.json["message"], "404 Personal Access Token Not Found");
        let missing = s.get("/api/v4/personal_access_tokens/99999", &alice);
        assert_eq!(missing.text, peek.text);
        let kill = s.call(
            "DELETE",
            &format!("/api/v4/personal_access_tokens/{bob_id}"),
            Some(&alice),
            None,
        );
        assert_eq!(kill.status, 404);
        assert_eq!(s.get("/api/v4/user", &bob).status, 200);
        let bob_user = s.get("/api/v4/user", &bob).json["id"].clone();
        let spy = s.get(
            &format!("/api/v4/personal_access_tokens?user_id={bob_user}"),
            &alice,
        );
        assert_eq!(spy.status, 401);
    });
}

#[test]
fn rotation_returns_a_successor_and_reuse_revokes_the_family() {
    each_backend(|s: &Server| {
        s.user("alice");
        let first = s.legacy_token("alice", "api");
        let rotated = s.call(
            "POST",
            "/api/v4/personal_access_tokens/self/rotate",
            Some(&first),
            None,
        );
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        let second = rotated.json["token"].as_str().unwrap().to_string();
        assert_ne!(second, first);
        assert_eq!(rotated.json["scopes"], json!(["api"]));
        assert_eq!(s.get("/api/v4/user", &second).status, 200);
        // The rotated-away token is dead, and using it again is treated as a leak...
        let reuse = s.get("/api/v4/user", &first);
        assert_eq!(reuse.status, 401);
        // ...which revokes the whole rotation family, successor included.
        let after = s.get("/api/v4/user", &second);
        assert_eq!(after.status, 401);
        assert_eq!(after.json["error"], "invalid_token");
        assert!(s.log().contains("whole rotation family revoked"));
    });
}

#[test]
fn rotate_by_id_with_expiry_and_self_rotate_scope() {
    each_backend(|s: &Server| {
        s.user("alice");
        let api = s.legacy_token("alice", "api");
        let narrow = s.legacy_token("alice", "read_api,self_rotate");
        let id = s.get("/api/v4/personal_access_tokens/self", &narrow).json["id"].clone();
        let r = s.call(
            "POST",
            &format!("/api/v4/personal_access_tokens/{id}/rotate"),
            Some(&api),
            Some(json!({"expires_at": future(10)})),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["expires_at"], future(10));
        assert_eq!(r.json["scopes"], json!(["read_api", "self_rotate"]));
        let successor = r.json["token"].as_str().unwrap().to_string();
        // self_rotate lets a token rotate itself without `api`.
        let own = s.call(
            "POST",
            "/api/v4/personal_access_tokens/self/rotate",
            Some(&successor),
            None,
        );
        assert_eq!(own.status, 200, "{}", own.text);
        // ...but not another token.
        let third = own.json["token"].as_str().unwrap().to_string();
        let api_id = s.get("/api/v4/personal_access_tokens/self", &api).json["id"].clone();
        let other = s.call(
            "POST",
            &format!("/api/v4/personal_access_tokens/{api_id}/rotate"),
            Some(&third),
            None,
        );
        assert_eq!(other.status, 403);
        let too_long = s.call(
            "POST",
            "/api/v4/personal_access_tokens/self/rotate",
            Some(&third),
            Some(json!({"expires_at": future(400)})),
        );
        assert_eq!(too_long.status, 400);
        // A refused rotation changes nothing.
        assert_eq!(
            s.get("/api/v4/personal_access_tokens/self", &third).status,
            200
        );
    });
}

#[test]
fn expired_tokens_and_blocked_owners_stop_at_once() {
    each_backend(|s: &Server| {
        s.user("alice");
        let a = s.legacy_token("alice", "api");
        let b = s.legacy_token("alice", "read_user");
        assert_eq!(s.get("/api/v4/user", &a).status, 200);
        let id = s.get("/api/v4/personal_access_tokens/self", &a).json["id"].clone();
        assert_eq!(
            s.sql(&format!(
                "UPDATE personal_access_tokens SET expires_at = '2020-01-01' WHERE id = {id}"
            )),
            1
        );
        let expired = s.get("/api/v4/user", &a);
        assert_eq!(expired.status, 401);
        assert_eq!(expired.json["error"], "invalid_token");
        assert!(
            expired.json["error_description"]
                .as_str()
                .unwrap()
                .contains("expired")
        );

        assert_eq!(s.get("/api/v4/user", &b).status, 200);
        s.cli_ok(&["user", "block", "--username", "alice"]);
        assert_eq!(s.get("/api/v4/user", &b).status, 401);
        s.cli_ok(&["user", "unblock", "--username", "alice"]);
        assert_eq!(s.get("/api/v4/user", &b).status, 200);
    });
}

#[test]
fn fine_grained_tokens_in_both_shapes_and_no_escalation() {
    each_backend(|s: &Server| {
        s.user("alice");
        let fg = s.fine_token(
            "alice",
            "personal_access_token:create,personal_access_token:read,issue:read",
            "all_memberships",
            &[],
        );
        let shown = s.get("/api/v4/personal_access_tokens/self", &fg);
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert_eq!(shown.json["boundary"], "all_memberships");
        assert_eq!(
            shown.json["permissions"],
            json!({"issue": ["read"], "personal_access_token": ["create", "read"]})
        );
        assert_eq!(shown.json["granular"], true);

        // A narrower token, in tinforge's shorthand.
        let narrower = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&fg),
            Some(json!({"name": "n", "boundary": "personal_projects",
                        "permissions": {"issue": ["read"]}})),
        );
        assert_eq!(narrower.status, 201, "{}", narrower.text);
        assert_eq!(narrower.json["boundary"], "personal_projects");
        // GitLab's granular_scopes shape.
        let gitlab = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&fg),
            Some(json!({"name": "g", "granular_scopes": [
                {"access": "personal_projects", "permissions": ["read_issue"]}]})),
        );
        assert_eq!(gitlab.status, 201, "{}", gitlab.text);
        assert_eq!(
            gitlab.json["granular_scopes"][0]["permissions"],
            json!(["read_issue"])
        );
        assert_eq!(gitlab.json["permissions"], json!({"issue": ["read"]}));
        // Broader than the creating token: refused, and nothing is stored.
        let before = s
            .get("/api/v4/personal_access_tokens", &fg)
            .header("x-total")
            .map(str::to_string);
        for body in [
            json!({"name": "b", "boundary": "all_memberships", "permissions": ["issue:delete"]}),
            json!({"name": "b", "scopes": ["api"]}),
        ] {
            let r = s.call(
                "POST",
                "/api/v4/user/personal_access_tokens",
                Some(&fg),
                Some(body),
            );
            assert_eq!(r.status, 403, "{}", r.text);
        }
        // Unknown names are refused with the list of valid ones.
        let unknown = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&fg),
            Some(
                json!({"name": "u", "boundary": "all_memberships", "permissions": ["issue:write"]}),
            ),
        );
        assert_eq!(unknown.status, 400);
        assert!(
            unknown.json["error"]
                .as_str()
                .unwrap()
                .contains("issue:read"),
            "{}",
            unknown.text
        );
        let selected_missing = s.call(
            "POST",
            "/api/v4/user/personal_access_tokens",
            Some(&fg),
            Some(
                json!({"name": "u", "boundary": "selected", "projects": ["nobody/nothing"],
                        "permissions": ["issue:read"]}),
            ),
        );
        assert_eq!(selected_missing.status, 400, "{}", selected_missing.text);
        let after = s
            .get("/api/v4/personal_access_tokens", &fg)
            .header("x-total")
            .map(str::to_string);
        assert_eq!(before, after);
        // The fine-grained token cannot reach what it was not granted.
        let denied = s.get("/api/v4/user", &fg);
        assert_eq!(denied.status, 403);
        assert_eq!(denied.json["missing"], json!(["user:read"]));
    });
}

#[test]
fn admins_create_users_and_tokens_only_in_admin_mode() {
    each_backend(|s: &Server| {
        s.admin("boss");
        s.user("alice");
        let plain = s.legacy_token("boss", "api");
        let admin = s.legacy_token("boss", "api,admin_mode");
        let user_body = json!({"username": "carol", "email": "carol@example.com",
                               "name": "Carol", "password": "longenough1"});
        let refused = s.call(
            "POST",
            "/api/v4/users",
            Some(&plain),
            Some(user_body.clone()),
        );
        assert_eq!(refused.status, 403, "{}", refused.text);
        let created = s.call(
            "POST",
            "/api/v4/users",
            Some(&admin),
            Some(user_body.clone()),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json["username"], "carol");
        let dup = s.call("POST", "/api/v4/users", Some(&admin), Some(user_body));
        assert_eq!(dup.status, 409);
        assert_eq!(dup.json["message"], "Username has already been taken");
        let weak = s.call(
            "POST",
            "/api/v4/users",
            Some(&admin),
            Some(json!({"username": "dave", "email": "d@example.com", "password": "short"})),
        );
        assert_eq!(weak.status, 400);
        assert!(weak.json["message"]["password"].is_array(), "{}", weak.text);

        let carol = created.json["id"].as_i64().unwrap();
        let t = s.call(
            "POST",
            &format!("/api/v4/users/{carol}/personal_access_tokens"),
            Some(&admin),
            Some(json!({"name": "for-carol", "scopes": ["read_user"]})),
        );
        assert_eq!(t.status, 201, "{}", t.text);
        let carol_token = t.json["token"].as_str().unwrap();
        assert_eq!(s.get("/api/v4/user", carol_token).json["username"], "carol");
        // Admins in admin mode see everyone's tokens.
        let all = s.get(
            &format!("/api/v4/personal_access_tokens?user_id={carol}"),
            &admin,
        );
        assert_eq!(all.header("x-total"), Some("1"));

        let alice = s.legacy_token("alice", "api");
        let not_admin = s.call(
            "POST",
            &format!("/api/v4/users/{carol}/personal_access_tokens"),
            Some(&alice),
            Some(json!({"name": "x", "scopes": ["api"]})),
        );
        assert_eq!(not_admin.status, 403);
        // Non-admins see the basic profile of others.
        let seen = s.get(&format!("/api/v4/users/{carol}"), &alice);
        assert_eq!(seen.status, 200);
        assert!(seen.json.get("email").is_none());
        assert_eq!(
            s.get("/api/v4/users/424242", &alice).json["message"],
            "404 User Not Found"
        );
        let listed = s.get("/api/v4/users?search=car", &alice);
        assert_eq!(listed.header("x-total"), Some("1"));
    });
}

#[test]
fn root_is_created_from_the_environment_on_first_start() {
    for backend in common::backends() {
        let s = Server::start(&backend, &[("TINFORGE_ROOT_PASSWORD", "rootpassword1")]);
        let token = s.legacy_token("root", "read_user");
        let me = s.get("/api/v4/user", &token);
        assert_eq!(me.json["username"], "root");
        assert_eq!(me.json["is_admin"], true);
    }
}

#[test]
fn the_cli_reports_errors_on_stderr_only() {
    each_backend(|s: &Server| {
        let out = s.cli(&[
            "token", "create", "--user", "ghost", "--name", "x", "--scopes", "api",
        ]);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("ghost"));
        s.user("alice");
        let bad_scope = s.cli(&[
            "token",
            "create",
            "--user",
            "alice",
            "--name",
            "x",
            "--scopes",
            "everything",
        ]);
        assert!(!bad_scope.status.success());
        let bad_perm = s.cli(&[
            "token",
            "create",
            "--user",
            "alice",
            "--name",
            "x",
            "--grants",
            "issue:fly",
            "--boundary",
            "all_memberships",
        ]);
        assert!(!bad_perm.status.success());
        assert!(String::from_utf8_lossy(&bad_perm.stderr).contains("valid permissions"));
        let dup = s.cli(&[
            "user",
            "create",
            "--username",
            "alice",
            "--password",
            "password123",
        ]);
        assert!(!dup.status.success());
    });
}
