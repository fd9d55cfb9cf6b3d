//! Members of projects and groups over REST: CRUD, GitLab's errors, inherited memberships, who
//! may grant what, the last owner of a group, expiry, and tokens.

mod common;

use common::{Reply, Server, each_backend};
use serde_json::{Value, json};

fn post(s: &Server, path: &str, token: &str, body: Value) -> Reply {
    s.call("POST", path, Some(token), Some(body))
}

fn created(r: Reply) -> Value {
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn levels(r: &Reply) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = r
        .json
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_string(),
                m["access_level"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(u, l)| (u.to_string(), *l)).collect()
}

#[test]
fn members_crud_with_gitlab_errors_on_projects_and_groups() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let g = created(post(s, "/api/v4/groups", &alice, json!({"name": "acme"})));
        let p = created(post(s, "/api/v4/projects", &alice, json!({"name": "p"})));
        for base in [
            format!("/api/v4/projects/{}", p["id"]),
            format!("/api/v4/groups/{}", g["id"]),
            "/api/v4/projects/alice%2Fp".to_string(),
        ] {
            let m = created(post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"user_id": bob_id, "access_level": 30, "expires_at": "2999-01-31"}),
            ));
            assert_eq!(m["id"], bob_id);
            assert_eq!(m["username"], "bob");
            assert_eq!(m["name"], "bob");
            assert_eq!(m["state"], "active");
            assert_eq!(m["access_level"], 30);
            assert_eq!(m["expires_at"], "2999-01-31");
            assert!(m["created_at"].is_string());
            assert!(m["web_url"].as_str().unwrap().ends_with("/bob"));
            assert!(m.get("email").is_none());

            let dup = post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"username": "bob", "access_level": 10}),
            );
            assert_eq!(dup.status, 409);
            assert_eq!(dup.json, json!({"message": "Member already exists"}));
            for level in [json!(35), json!(0), json!(60), json!("owner"), json!(true)] {
                let bad = post(
                    s,
                    &format!("{base}/members"),
                    &alice,
                    json!({"user_id": bob_id, "access_level": level}),
                );
                assert_eq!(bad.status, 400, "{level}");
                assert_eq!(
                    bad.json,
                    json!({"error": "access_level does not have a valid value"})
                );
            }
            let missing = post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"user_id": bob_id}),
            );
            assert_eq!(missing.status, 400);
            assert_eq!(missing.json, json!({"error": "access_level is missing"}));
            let nobody = post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"user_id": 987654, "access_level": 30}),
            );
            assert_eq!(nobody.status, 404);
            assert_eq!(nobody.json, json!({"message": "404 User Not Found"}));
            let past = post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"username": "ghost", "access_level": 30}),
            );
            assert_eq!(past.status, 404);
            let no_user = post(
                s,
                &format!("{base}/members"),
                &alice,
                json!({"access_level": 30}),
            );
            assert_eq!(no_user.status, 400);

            let one = s.get(&format!("{base}/members/{bob_id}"), &alice);
            assert_eq!(one.status, 200);
            assert_eq!(one.json["access_level"], 30);
            let list = s.get(&format!("{base}/members"), &alice);
            assert_eq!(levels(&list), pairs(&[("alice", 50), ("bob", 30)]));
            assert_eq!(list.header("x-total"), Some("2"));
            let page = s.get(&format!("{base}/members?per_page=1&page=2"), &alice);
            assert_eq!(page.json.as_array().unwrap().len(), 1);
            assert_eq!(page.header("x-prev-page"), Some("1"));
            assert_eq!(
                s.get(&format!("{base}/members?query=bo"), &alice)
                    .json
                    .as_array()
                    .unwrap()
                    .len(),
                1
            );
            assert_eq!(
                s.get(&format!("{base}/members?user_ids[]={bob_id}"), &alice)
                    .json[0]["id"],
                bob_id
            );

            let put = s.call(
                "PUT",
                &format!("{base}/members/{bob_id}"),
                Some(&alice),
                Some(json!({"access_level": 40})),
            );
            assert_eq!(put.status, 200, "{}", put.text);
            assert_eq!(put.json["access_level"], 40);
            assert_eq!(put.json["expires_at"], "2999-01-31");
            let bad = s.call(
                "PUT",
                &format!("{base}/members/{bob_id}"),
                Some(&alice),
                Some(json!({"access_level": 41})),
            );
            assert_eq!(bad.status, 400);
            let del = s.call(
                "DELETE",
                &format!("{base}/members/{bob_id}"),
                Some(&alice),
                None,
            );
            assert_eq!(del.status, 204);
            assert!(del.text.is_empty());
            let gone = s.get(&format!("{base}/members/{bob_id}"), &alice);
            assert_eq!(gone.status, 404);
            assert_eq!(gone.json, json!({"message": "404 Member Not Found"}));
            assert_eq!(
                s.call(
                    "DELETE",
                    &format!("{base}/members/{bob_id}"),
                    Some(&alice),
                    None
                )
                .status,
                404
            );
            assert_eq!(
                s.call(
                    "PUT",
                    &format!("{base}/members/{bob_id}"),
                    Some(&alice),
                    Some(json!({"access_level": 30}))
                )
                .status,
                404
            );
        }
        let past = post(
            s,
            &format!("/api/v4/groups/{}/members", g["id"]),
            &alice,
            json!({"user_id": bob_id, "access_level": 30, "expires_at": "2001-01-01"}),
        );
        assert_eq!(past.status, 400);
        assert!(past.json["message"]["expires_at"].is_array());
    });
}

#[test]
fn owners_manage_owners_and_a_group_keeps_its_last_owner() {
    each_backend(|s: &Server| {
        let alice_id = s.user("alice");
        let bob_id = s.user("bob");
        let carol_id = s.user("carol");
        let dave_id = s.user("dave");
        let alice = s.legacy_token("alice", "api");
        let bob = s.legacy_token("bob", "api");
        let carol = s.legacy_token("carol", "api");
        let g = created(post(s, "/api/v4/groups", &alice, json!({"name": "acme"})))["id"]
            .as_i64()
            .unwrap();
        let base = format!("/api/v4/groups/{g}/members");
        // The last owner can be neither removed nor demoted.
        let del = s.call("DELETE", &format!("{base}/{alice_id}"), Some(&alice), None);
        assert_eq!(del.status, 409, "{}", del.text);
        assert!(
            del.json["message"].as_str().unwrap().contains("last owner"),
            "{}",
            del.text
        );
        let demote = s.call(
            "PUT",
            &format!("{base}/{alice_id}"),
            Some(&alice),
            Some(json!({"access_level": 40})),
        );
        assert_eq!(demote.status, 409);
        assert_eq!(levels(&s.get(&base, &alice)), pairs(&[("alice", 50)]));

        created(post(
            s,
            &base,
            &alice,
            json!({"user_id": bob_id, "access_level": 40}),
        ));
        // A Maintainer manages members up to Maintainer, never Owners.
        created(post(
            s,
            &base,
            &bob,
            json!({"user_id": carol_id, "access_level": 40}),
        ));
        let grant_owner = post(
            s,
            &base,
            &bob,
            json!({"user_id": dave_id, "access_level": 50}),
        );
        assert_eq!(grant_owner.status, 403);
        let raise = s.call(
            "PUT",
            &format!("{base}/{carol_id}"),
            Some(&bob),
            Some(json!({"access_level": 50})),
        );
        assert_eq!(raise.status, 403);
        let touch_owner = s.call(
            "PUT",
            &format!("{base}/{alice_id}"),
            Some(&bob),
            Some(json!({"access_level": 30})),
        );
        assert_eq!(touch_owner.status, 403);
        assert_eq!(
            s.call("DELETE", &format!("{base}/{alice_id}"), Some(&bob), None)
                .status,
            403
        );
        // A Developer manages nobody; a non-member of this private group does not see it.
        s.call(
            "PUT",
            &format!("{base}/{carol_id}"),
            Some(&bob),
            Some(json!({"access_level": 30})),
        );
        let dev = post(
            s,
            &base,
            &carol,
            json!({"user_id": dave_id, "access_level": 10}),
        );
        assert_eq!(dev.status, 403);
        assert_eq!(s.get(&base, &carol).status, 200);
        let dave = s.legacy_token("dave", "api");
        let outsider = s.get(&base, &dave);
        assert_eq!(outsider.status, 404);
        assert_eq!(outsider.json, json!({"message": "404 Group Not Found"}));

        // With a second owner, the first may go.
        let up = s.call(
            "PUT",
            &format!("{base}/{bob_id}"),
            Some(&alice),
            Some(json!({"access_level": 50})),
        );
        assert_eq!(up.status, 200);
        assert_eq!(
            s.call("DELETE", &format!("{base}/{alice_id}"), Some(&alice), None)
                .status,
            204
        );
        let last = s.call("DELETE", &format!("{base}/{bob_id}"), Some(&bob), None);
        assert_eq!(last.status, 409);

        // A subgroup's only direct owner may leave while the parent's owners remain.
        let sub = created(post(
            s,
            "/api/v4/groups",
            &bob,
            json!({"name": "sub", "parent_id": g}),
        ))["id"]
            .as_i64()
            .unwrap();
        let sub_base = format!("/api/v4/groups/{sub}/members");
        created(post(
            s,
            &sub_base,
            &bob,
            json!({"user_id": carol_id, "access_level": 50}),
        ));
        assert_eq!(
            s.call(
                "DELETE",
                &format!("{sub_base}/{carol_id}"),
                Some(&bob),
                None
            )
            .status,
            204
        );
        assert_eq!(
            s.call("DELETE", &format!("{sub_base}/{bob_id}"), Some(&bob), None)
                .status,
            204
        );
        assert_eq!(s.get(&sub_base, &bob).json, json!([]));
        // bob still owns it through the parent.
        assert_eq!(
            levels(&s.get(&format!("{sub_base}/all"), &bob)),
            pairs(&[("bob", 50), ("carol", 30)])
        );

        // A personal project's owner stays.
        let p = created(post(s, "/api/v4/projects", &alice, json!({"name": "mine"})))["id"]
            .as_i64()
            .unwrap();
        let r = s.call(
            "DELETE",
            &format!("/api/v4/projects/{p}/members/{alice_id}"),
            Some(&alice),
            None,
        );
        assert_eq!(r.status, 409);
    });
}

#[test]
fn inherited_memberships_show_in_all_with_the_highest_role() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let carol_id = s.user("carol");
        let alice = s.legacy_token("alice", "api");
        let top = created(post(s, "/api/v4/groups", &alice, json!({"name": "top"})))["id"]
            .as_i64()
            .unwrap();
        let mid = created(post(
            s,
            "/api/v4/groups",
            &alice,
            json!({"name": "mid", "parent_id": top}),
        ))["id"]
            .as_i64()
            .unwrap();
        let p = created(post(
            s,
            "/api/v4/projects",
            &alice,
            json!({"name": "p", "namespace_id": mid}),
        ))["id"]
            .as_i64()
            .unwrap();
        created(post(
            s,
            &format!("/api/v4/groups/{top}/members"),
            &alice,
            json!({"user_id": bob_id, "access_level": 20}),
        ));
        created(post(
            s,
            &format!("/api/v4/groups/{mid}/members"),
            &alice,
            json!({"user_id": bob_id, "access_level": 30}),
        ));
        created(post(
            s,
            &format!("/api/v4/projects/{p}/members"),
            &alice,
            json!({"user_id": carol_id, "access_level": 10}),
        ));

        let direct = s.get(&format!("/api/v4/projects/{p}/members"), &alice);
        assert_eq!(levels(&direct), pairs(&[("carol", 10)]));
        let all = s.get(&format!("/api/v4/projects/{p}/members/all"), &alice);
        assert_eq!(
            levels(&all),
            pairs(&[("alice", 50), ("bob", 30), ("carol", 10)])
        );
        let bob_all = s.get(
            &format!("/api/v4/projects/{p}/members/all/{bob_id}"),
            &alice,
        );
        assert_eq!(bob_all.json["access_level"], 30);
        assert_eq!(
            s.get(&format!("/api/v4/projects/{p}/members/{bob_id}"), &alice)
                .status,
            404
        );
        let group_all = s.get(&format!("/api/v4/groups/{mid}/members/all"), &alice);
        assert_eq!(levels(&group_all), pairs(&[("alice", 50), ("bob", 30)]));
        // A project role below the inherited one is refused, GitLab-style.
        let low = post(
            s,
            &format!("/api/v4/projects/{p}/members"),
            &alice,
            json!({"user_id": bob_id, "access_level": 20}),
        );
        assert_eq!(low.status, 400, "{}", low.text);
        assert!(
            low.json["message"]["access_level"][0]
                .as_str()
                .unwrap()
                .contains("Developer inherited membership from group top/mid"),
            "{}",
            low.text
        );
        created(post(
            s,
            &format!("/api/v4/projects/{p}/members"),
            &alice,
            json!({"user_id": bob_id, "access_level": 40}),
        ));
        // Removing bob from mid leaves what top gives him.
        s.call(
            "DELETE",
            &format!("/api/v4/groups/{mid}/members/{bob_id}"),
            Some(&alice),
            None,
        );
        let bob_mid = s.get(
            &format!("/api/v4/groups/{mid}/members/all/{bob_id}"),
            &alice,
        );
        assert_eq!(bob_mid.json["access_level"], 20);
    });
}

#[test]
fn tokens_reach_members_only_as_far_as_their_grants() {
    each_backend(|s: &Server| {
        s.user("alice");
        let bob_id = s.user("bob");
        let alice = s.legacy_token("alice", "api");
        let read = s.legacy_token("alice", "read_api");
        let acme = created(post(s, "/api/v4/groups", &alice, json!({"name": "acme"})))["id"]
            .as_i64()
            .unwrap();
        let other = created(post(s, "/api/v4/groups", &alice, json!({"name": "other"})))["id"]
            .as_i64()
            .unwrap();
        let list = s.get(&format!("/api/v4/groups/{acme}/members"), &read);
        assert_eq!(list.status, 200);
        assert_eq!(list.header("x-accepted-permissions"), Some("member:read"));
        let add = post(
            s,
            &format!("/api/v4/groups/{acme}/members"),
            &read,
            json!({"user_id": bob_id, "access_level": 10}),
        );
        assert_eq!(add.status, 403);
        assert_eq!(add.json["error"], "insufficient_scope");

        let fg = s.fine_token(
            "alice",
            "member:read,member:create",
            "selected",
            &["--group", "acme"],
        );
        assert_eq!(
            s.get(&format!("/api/v4/groups/{acme}/members"), &fg).status,
            200
        );
        created(post(
            s,
            &format!("/api/v4/groups/{acme}/members"),
            &fg,
            json!({"user_id": bob_id, "access_level": 10}),
        ));
        let outside = s.get(&format!("/api/v4/groups/{other}/members"), &fg);
        assert_eq!(outside.status, 404);
        assert_eq!(outside.json, json!({"message": "404 Group Not Found"}));
        let no_update = s.call(
            "PUT",
            &format!("/api/v4/groups/{acme}/members/{bob_id}"),
            Some(&fg),
            Some(json!({"access_level": 20})),
        );
        assert_eq!(no_update.status, 403);
        assert_eq!(no_update.json["missing"], json!(["member:update"]));
        // The token never exceeds its owner: bob's token cannot add members as a Guest.
        let bob_fg = s.fine_token("bob", "member:create,member:read", "all_memberships", &[]);
        assert_eq!(
            s.get(&format!("/api/v4/groups/{acme}/members"), &bob_fg)
                .status,
            200
        );
        let r = post(
            s,
            &format!("/api/v4/groups/{acme}/members"),
            &bob_fg,
            json!({"username": "alice", "access_level": 10}),
        );
        assert_eq!(r.status, 403);
        assert_eq!(r.json, json!({"message": "403 Forbidden"}));
        let anon = s.call("GET", &format!("/api/v4/groups/{acme}/members"), None, None);
        assert_eq!(anon.status, 404);
    });
}
