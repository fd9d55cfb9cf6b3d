//! The project's merge method over REST on SQLite and PostgreSQL: `merge_method` set on creation
//! and edit (and refused when unknown), `ff` moving the target to the source without a merge
//! commit (seen in a fresh clone), `ff` and `rebase_merge` refusing diverged branches with
//! `need_rebase`, and `rebase_merge` still writing a merge commit.

mod common;

use common::each_backend;
use common::git::{clone_url, git};
use common::merge_requests::setup;
use serde_json::json;

#[test]
fn merge_method_is_a_project_setting() {
    each_backend(|s| {
        let fx = setup(s, "settings");
        let p = fx.call("GET", "", None);
        assert_eq!(p.json["merge_method"], "merge");
        let r = fx.call("PUT", "", Some(json!({"merge_method": "squash"})));
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json, json!({"message": {"merge_method": ["is invalid"]}}));
        let r = fx.call("PUT", "", Some(json!({"merge_method": "ff"})));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["merge_method"], "ff");

        let create = |body: serde_json::Value| {
            s.call("POST", "/api/v4/projects", Some(&fx.owner), Some(body))
        };
        let r = create(json!({"name": "q", "merge_method": "octopus"}));
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json["message"]["merge_method"], json!(["is invalid"]));
        let r = create(json!({"name": "q", "merge_method": "rebase_merge"}));
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["merge_method"], "rebase_merge");
        // Maintainer+ only, like the other settings.
        let bob = s.user("bob");
        fx.call(
            "POST",
            "/members",
            Some(json!({"user_id": bob, "access_level": 30})),
        );
        let bob_api = s.legacy_token("bob", "api");
        let r = fx.call_as(&bob_api, "PUT", "", Some(json!({"merge_method": "merge"})));
        assert_eq!(r.status, 403, "{}", r.text);
    });
}

#[test]
fn fast_forward_merges_move_the_target_without_a_merge_commit() {
    each_backend(|s| {
        let fx = setup(s, "ff");
        fx.call("PUT", "", Some(json!({"merge_method": "ff"})));
        let tip = fx.write("ahead", "main", "a.txt", "a\n");
        let mr = fx.open("ahead", "main", "Ahead");
        assert_eq!(mr["detailed_merge_status"], "mergeable");
        let merged = fx.call("PUT", "/merge_requests/1/merge", None);
        assert_eq!(merged.status, 200, "{}", merged.text);
        assert_eq!(merged.json["merge_commit_sha"], tip);
        let main = fx.call("GET", "/repository/branches/main", None);
        assert_eq!(main.json["commit"]["id"], tip);

        let dir = tempfile::tempdir().unwrap();
        git(
            dir.path(),
            &["clone", "-q", &clone_url(s, &fx.owner, "ff/p"), "c"],
        );
        let work = dir.path().join("c");
        assert_eq!(git(&work, &["rev-parse", "HEAD"]).trim(), tip);
        let parents = git(&work, &["log", "-1", "--format=%P"]);
        assert_eq!(parents.split_whitespace().count(), 1, "no merge commit");

        // Diverged branches need a rebase first.
        fx.write("behind", "main", "b.txt", "b\n");
        fx.write("main", "main", "m.txt", "m\n");
        let mr = fx.open("behind", "main", "Behind");
        assert_eq!(mr["detailed_merge_status"], "need_rebase");
        assert_eq!(mr["merge_status"], "cannot_be_merged");
        let r = fx.call("PUT", "/merge_requests/2/merge", None);
        assert_eq!(r.status, 406, "{}", r.text);
        assert_eq!(r.json["message"], "Branch cannot be merged");
        assert_eq!(
            fx.call("GET", "/merge_requests/2", None).json["state"],
            "opened"
        );
    });
}

#[test]
fn rebase_merge_writes_a_merge_commit_only_on_an_up_to_date_source() {
    each_backend(|s| {
        let fx = setup(s, "semi");
        fx.call("PUT", "", Some(json!({"merge_method": "rebase_merge"})));
        let before = fx.call("GET", "/repository/branches/main", None).json["commit"]["id"].clone();
        let tip = fx.write("ahead", "main", "a.txt", "a\n");
        fx.open("ahead", "main", "Ahead");
        let merged = fx.call("PUT", "/merge_requests/1/merge", None);
        assert_eq!(merged.status, 200, "{}", merged.text);
        let sha = merged.json["merge_commit_sha"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(sha, tip);
        let commit = fx.call("GET", &format!("/repository/commits/{sha}"), None);
        assert_eq!(commit.status, 200, "{}", commit.text);
        assert_eq!(commit.json["parent_ids"], json!([before, tip]));

        fx.write("behind", "main", "b.txt", "b\n");
        fx.write("main", "main", "m.txt", "m\n");
        let mr = fx.open("behind", "main", "Behind");
        assert_eq!(mr["detailed_merge_status"], "need_rebase");
        assert_eq!(fx.call("PUT", "/merge_requests/2/merge", None).status, 406);
    });
}
