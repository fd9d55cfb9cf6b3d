//! Merge requests over REST on SQLite and PostgreSQL: opened between branches written through the
//! repository API, mergeability computed from the repository, merged (the merge visible in a
//! fresh `git clone`), conflicts, the sha guard, tokens that may not merge, and protected targets.

mod common;

use common::each_backend;
use common::git::{clone_url, git};
use common::merge_requests::setup;
use serde_json::json;

#[test]
fn a_merge_request_is_opened_merged_and_seen_in_a_clone() {
    each_backend(|s| {
        let fx = setup(s, "mr");
        let tip = fx.write("feature/x", "main", "feature.txt", "new\n");
        fx.write("main", "main", "other.txt", "main moved on\n");

        // Both branches must exist.
        let r = fx.call(
            "POST",
            "/merge_requests",
            Some(json!({"source_branch": "nope", "target_branch": "main", "title": "t"})),
        );
        assert_eq!(r.status, 404, "{}", r.text);
        let r = fx.call(
            "POST",
            "/merge_requests",
            Some(json!({"source_branch": "feature/x", "target_branch": "main"})),
        );
        assert_eq!(r.status, 400, "{}", r.text);

        let mr = fx.open("feature/x", "main", "Add a feature");
        assert_eq!(mr["iid"], 1);
        assert_eq!(mr["state"], "opened");
        assert_eq!(mr["sha"], tip);
        assert_eq!(mr["merge_status"], "can_be_merged");
        assert_eq!(mr["detailed_merge_status"], "mergeable");
        assert_eq!(mr["has_conflicts"], false);
        assert_eq!(mr["draft"], false);
        assert_eq!(mr["author"]["username"], "alice");
        assert_eq!(mr["references"]["full"], "mr/p!1");
        assert!(
            mr["web_url"]
                .as_str()
                .unwrap()
                .ends_with("/mr/p/-/merge_requests/1")
        );
        // A second open MR for the same branches is refused.
        let dup = fx.call(
            "POST",
            "/merge_requests",
            Some(json!({"source_branch": "feature/x", "target_branch": "main", "title": "again"})),
        );
        assert_eq!(dup.status, 409, "{}", dup.text);

        let changes = fx.call("GET", "/merge_requests/1/changes", None);
        assert_eq!(changes.status, 200, "{}", changes.text);
        let paths: Vec<&str> = changes.json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["new_path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["feature.txt"]);
        assert_eq!(
            fx.call("GET", "/merge_requests/1/diffs", None)
                .json
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let commits = fx.call("GET", "/merge_requests/1/commits", None);
        assert_eq!(commits.json.as_array().unwrap().len(), 1);
        assert_eq!(commits.json[0]["id"], tip);
        let list = fx.call(
            "GET",
            "/merge_requests?state=opened&target_branch=main",
            None,
        );
        assert_eq!(list.json.as_array().unwrap().len(), 1);
        assert_eq!(list.header("X-Total"), Some("1"));
        let link = list.header("Link").expect("a Link header");
        assert!(
            link.contains(&format!("/api/v4/projects/{}/merge_requests?", fx.id)),
            "{link}"
        );
        assert!(
            link.contains("page=1&per_page=20>; rel=\"first\""),
            "{link}"
        );
        assert!(link.contains("rel=\"last\""), "{link}");
        assert_eq!(
            fx.call("GET", "/merge_requests?state=merged", None).json,
            json!([])
        );
        assert_eq!(
            fx.call("GET", "/merge_requests?state=bogus", None).status,
            400
        );
        let mine = s.get("/api/v4/merge_requests?state=opened", &fx.owner);
        assert_eq!(mine.status, 200, "{}", mine.text);
        assert_eq!(mine.json.as_array().unwrap().len(), 1);

        // Approve (once), then merge with the sha guard.
        let a = fx.call("POST", "/merge_requests/1/approve", None);
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.json["approved_by"][0]["user"]["username"], "alice");
        assert_eq!(
            fx.call("POST", "/merge_requests/1/approve", None).status,
            409
        );
        let stale = fx.call(
            "PUT",
            "/merge_requests/1/merge",
            Some(json!({"sha": "0000000000000000000000000000000000000000"})),
        );
        assert_eq!(stale.status, 409, "{}", stale.text);
        assert_eq!(
            stale.json["message"],
            format!("SHA does not match HEAD of source branch: {tip}")
        );
        let merged = fx.call(
            "PUT",
            "/merge_requests/1/merge",
            Some(json!({"sha": tip, "should_remove_source_branch": true})),
        );
        assert_eq!(merged.status, 200, "{}", merged.text);
        assert_eq!(merged.json["state"], "merged");
        assert_eq!(merged.json["detailed_merge_status"], "not_open");
        assert!(merged.json["merged_at"].is_string());
        let merge_sha = merged.json["merge_commit_sha"]
            .as_str()
            .unwrap()
            .to_string();
        let again = fx.call("PUT", "/merge_requests/1/merge", None);
        assert_eq!(again.status, 405, "{}", again.text);
        assert_eq!(again.json["message"], "405 Method Not Allowed");
        assert_eq!(
            fx.call("GET", "/repository/branches/feature%2Fx", None)
                .status,
            404,
            "the source branch was removed"
        );

        // The merge commit is on main, with both parents, in a fresh clone.
        let dir = tempfile::tempdir().unwrap();
        let url = clone_url(s, &fx.owner, "mr/p");
        git(dir.path(), &["clone", "-q", &url, "c"]);
        let work = dir.path().join("c");
        assert_eq!(git(&work, &["rev-parse", "HEAD"]).trim(), merge_sha);
        let parents = git(&work, &["log", "-1", "--format=%P"]);
        assert_eq!(parents.split_whitespace().count(), 2);
        assert!(parents.contains(&tip));
        assert_eq!(
            std::fs::read_to_string(work.join("feature.txt")).unwrap(),
            "new\n"
        );
        assert!(work.join("other.txt").exists());
        let repo = s
            .data_dir()
            .join("repositories")
            .join(format!("{}.git", fx.id));
        git(
            dir.path(),
            &["--git-dir", repo.to_str().unwrap(), "fsck", "--no-progress"],
        );

        // Close, reopen, delete (the iid is not reused).
        fx.write("topic", "main", "t.txt", "t\n");
        let mr2 = fx.open("topic", "main", "Draft: topic");
        assert_eq!(mr2["iid"], 2);
        assert_eq!(mr2["draft"], true);
        assert_eq!(fx.call("PUT", "/merge_requests/2/merge", None).status, 405);
        let closed = fx.call(
            "PUT",
            "/merge_requests/2",
            Some(json!({"state_event": "close"})),
        );
        assert_eq!(closed.json["state"], "closed");
        assert!(closed.json["closed_at"].is_string());
        let reopened = fx.call(
            "PUT",
            "/merge_requests/2",
            Some(json!({"state_event": "reopen", "title": "Topic"})),
        );
        assert_eq!(
            (
                reopened.json["state"].as_str(),
                reopened.json["title"].as_str()
            ),
            (Some("opened"), Some("Topic"))
        );
        assert_eq!(fx.call("DELETE", "/merge_requests/2", None).status, 204);
        assert_eq!(fx.call("GET", "/merge_requests/2", None).status, 404);
        assert_eq!(fx.open("topic", "main", "again")["iid"], 3);
    });
}

#[test]
fn conflicts_tokens_and_protected_targets() {
    each_backend(|s| {
        let fx = setup(s, "cf");
        fx.write("clash", "main", "README.md", "# theirs\n");
        fx.write("main", "main", "README.md", "# ours\n");
        let mr = fx.open("clash", "main", "Conflicting");
        assert_eq!(mr["has_conflicts"], true);
        assert_eq!(mr["merge_status"], "cannot_be_merged");
        assert_eq!(mr["detailed_merge_status"], "conflict");
        let r = fx.call("PUT", "/merge_requests/1/merge", None);
        assert_eq!(r.status, 406, "{}", r.text);
        assert_eq!(r.json["message"], "Branch cannot be merged");

        fx.write("clean", "main", "clean.txt", "c\n");
        fx.open("clean", "main", "Clean");
        // A member developer whose tokens are read-only cannot merge.
        let bob = s.user("bob");
        let r = fx.call(
            "POST",
            "/members",
            Some(json!({"user_id": bob, "access_level": 30})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let read_only = s.legacy_token("bob", "read_api");
        assert_eq!(
            fx.call_as(&read_only, "GET", "/merge_requests/2", None)
                .status,
            200
        );
        assert_eq!(
            fx.call_as(&read_only, "PUT", "/merge_requests/2/merge", None)
                .status,
            403
        );
        let mr_only = s.fine_token(
            "bob",
            "merge_request:read,merge_request:update",
            "all_memberships",
            &[],
        );
        assert_eq!(
            fx.call_as(&mr_only, "PUT", "/merge_requests/2/merge", None)
                .status,
            403
        );
        // The target's merge level: Maintainers only.
        let r = fx.call(
            "POST",
            "/protected_branches",
            Some(json!({"name": "main", "push_access_level": 40, "merge_access_level": 40})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let bob_api = s.legacy_token("bob", "api");
        let r = fx.call_as(&bob_api, "PUT", "/merge_requests/2/merge", None);
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(
            fx.call("GET", "/merge_requests/2", None).json["state"],
            "opened"
        );
        // Deleting needs the Owner.
        assert_eq!(
            fx.call_as(&bob_api, "DELETE", "/merge_requests/2", None)
                .status,
            403
        );
        // The owner (Maintainer+) merges.
        let r = fx.call("PUT", "/merge_requests/2/merge", None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["state"], "merged");
    });
}

#[test]
fn notes_on_a_merge_request() {
    each_backend(|s| {
        let fx = setup(s, "mrn");
        fx.write("feature", "main", "f.txt", "f\n");
        let mr = fx.open("feature", "main", "Feature");
        let notes = "/merge_requests/1/notes";

        let r = fx.call("POST", notes, Some(json!({"body": "Looks good"})));
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["noteable_type"], "MergeRequest");
        assert_eq!(r.json["noteable_iid"], 1);
        assert_eq!(r.json["noteable_id"], mr["id"]);
        assert_eq!(r.json["system"], false);
        assert_eq!(r.json["author"]["username"], "alice");
        let first = r.json["id"].as_i64().unwrap();
        assert_eq!(
            fx.call("POST", notes, Some(json!({"body": " "}))).status,
            400
        );
        assert_eq!(
            fx.call(
                "POST",
                "/merge_requests/9/notes",
                Some(json!({"body": "x"}))
            )
            .status,
            404
        );

        // A Reporter reads and comments, edits only their own notes; a Guest sees none of it.
        let bob = s.user("bob");
        let carol = s.user("carol");
        for (user, level) in [(bob, 20), (carol, 10)] {
            let r = fx.call(
                "POST",
                "/members",
                Some(json!({"user_id": user, "access_level": level})),
            );
            assert_eq!(r.status, 201, "{}", r.text);
        }
        let bob_api = s.legacy_token("bob", "api");
        let r = fx.call_as(&bob_api, "POST", notes, Some(json!({"body": "Nit"})));
        assert_eq!(r.status, 201, "{}", r.text);
        let second = r.json["id"].as_i64().unwrap();
        let edit = |token: &str, id: i64| {
            fx.call_as(
                token,
                "PUT",
                &format!("{notes}/{id}"),
                Some(json!({"body": "edited"})),
            )
        };
        assert_eq!(edit(&bob_api, first).status, 403);
        let r = edit(&bob_api, second);
        assert_eq!((r.status, r.json["body"].as_str()), (200, Some("edited")));
        let carol_api = s.legacy_token("carol", "api");
        assert_eq!(fx.call_as(&carol_api, "GET", notes, None).status, 403);

        // Fine-grained: merge_request:read, not issue:read.
        let issue_reader = s.fine_token("bob", "issue:read", "all_memberships", &[]);
        assert_eq!(fx.call_as(&issue_reader, "GET", notes, None).status, 403);
        let mr_reader = s.fine_token("bob", "merge_request:read", "all_memberships", &[]);
        let r = fx.call_as(&mr_reader, "GET", notes, None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("X-Accepted-Permissions"),
            Some("merge_request:read")
        );

        // Lists: newest first by default, sort and order_by as issue notes, paginated.
        let list = fx.call("GET", notes, None);
        assert_eq!(list.header("X-Total"), Some("2"));
        assert_eq!(list.json[0]["id"], second);
        let asc = fx.call(
            "GET",
            &format!("{notes}?sort=asc&order_by=updated_at&per_page=1"),
            None,
        );
        assert_eq!(asc.json.as_array().unwrap().len(), 1);
        assert_eq!(asc.json[0]["id"], first);
        assert_eq!(asc.header("X-Next-Page"), Some("2"));
        assert_eq!(
            fx.call("GET", &format!("{notes}?sort=up"), None).status,
            400
        );
        let one = fx.call("GET", &format!("{notes}/{first}"), None);
        assert_eq!(one.json["body"], "Looks good");
        assert_eq!(fx.call("GET", &format!("{notes}/999999"), None).status, 404);

        // An issue's note is not a note of the merge request.
        let issue = fx.call("POST", "/issues", Some(json!({"title": "i"})));
        assert_eq!(issue.status, 201, "{}", issue.text);
        let on_issue = fx.call(
            "POST",
            "/issues/1/notes",
            Some(json!({"body": "on the issue"})),
        );
        assert_eq!(on_issue.json["noteable_type"], "Issue");
        let path = format!("{notes}/{}", on_issue.json["id"]);
        assert_eq!(fx.call("GET", &path, None).status, 404);

        // State changes leave system notes; user_notes_count counts people's notes only.
        fx.call(
            "PUT",
            "/merge_requests/1",
            Some(json!({"state_event": "close"})),
        );
        fx.call(
            "PUT",
            "/merge_requests/1",
            Some(json!({"state_event": "reopen"})),
        );
        let merged = fx.call("PUT", "/merge_requests/1/merge", None);
        assert_eq!(merged.status, 200, "{}", merged.text);
        assert_eq!(merged.json["user_notes_count"], 2);
        let list = fx.call("GET", &format!("{notes}?sort=asc"), None);
        let system: Vec<(&str, &str)> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["system"] == true)
            .map(|n| {
                (
                    n["body"].as_str().unwrap(),
                    n["author"]["username"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            system,
            [
                ("closed", "alice"),
                ("reopened", "alice"),
                ("merged", "alice")
            ]
        );
        let system_id = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["system"] == true)
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        assert_eq!(edit(&fx.owner, system_id).status, 403);

        // The owner deletes anyone's note.
        let path = format!("{notes}/{second}");
        assert_eq!(fx.call("DELETE", &path, None).status, 204);
        assert_eq!(fx.call("GET", &path, None).status, 404);
        assert_eq!(
            fx.call("GET", "/merge_requests/1", None).json["user_notes_count"],
            1
        );
    });
}
