//! `tinforge registry gc` against a server's real storage: blobs are stored once however many
//! projects push them, a deleted image's blobs go only when nothing else references them, and a
//! blob uploaded for a push still in flight (no manifest yet) survives within the grace period.

mod common;

use common::registry::{call, push_blob, push_image};
use common::{Server, each_backend};
use serde_json::json;

fn blob_file(s: &Server, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    s.data_dir()
        .join("registry/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

fn project(s: &Server, token: &str, path: &str) {
    let r = s.call(
        "POST",
        "/api/v4/projects",
        Some(token),
        Some(json!({"name": path, "path": path})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn gc_frees_only_what_nothing_references() {
    each_backend(|s| {
        s.user("alice");
        let token = s.legacy_token("alice", "api");
        project(s, &token, "one");
        project(s, &token, "two");
        // The same image in two projects: its blobs are stored once.
        let a = push_image(s, &token, "alice/one", "v1", 7);
        let b = push_image(s, &token, "alice/two", "v1", 7);
        assert_eq!(a.layer_digest, b.layer_digest);
        assert!(blob_file(s, &a.layer_digest).exists());
        // A blob uploaded without a manifest (a push in flight).
        let pending = push_blob(s, &token, "alice/one", b"pending layer bytes");

        // Deleting the image in one project frees nothing: the other still references it.
        let del = call(
            s,
            "DELETE",
            &format!("/v2/alice/one/manifests/{}", a.manifest_digest),
            Some(&token),
            None,
            None,
        );
        assert_eq!(del.status, 202, "{}", del.text);
        let out = s.cli_ok(&["registry", "gc", "--grace-minutes", "0"]);
        assert!(out.contains("removed 1 blobs"), "{out}");
        assert!(
            !blob_file(s, &pending).exists(),
            "grace 0 takes the unreferenced blob"
        );
        assert!(blob_file(s, &a.layer_digest).exists());
        let pull = call(
            s,
            "GET",
            &format!("/v2/alice/two/blobs/{}", b.layer_digest),
            Some(&token),
            None,
            None,
        );
        assert_eq!(pull.status, 200);
        // alice/one no longer serves it, even though the bytes exist for alice/two.
        let gone = call(
            s,
            "HEAD",
            &format!("/v2/alice/one/blobs/{}", a.layer_digest),
            Some(&token),
            None,
            None,
        );
        assert_eq!(gone.status, 404);

        // A fresh unreferenced blob survives the default grace period; a dry run removes nothing.
        let fresh = push_blob(s, &token, "alice/one", b"another layer");
        let out = s.cli_ok(&["registry", "gc"]);
        assert!(out.contains("removed 0 blobs"), "{out}");
        assert!(blob_file(s, &fresh).exists());

        // Once the last image goes, its blobs go too.
        let del = call(
            s,
            "DELETE",
            &format!("/v2/alice/two/manifests/{}", b.manifest_digest),
            Some(&token),
            None,
            None,
        );
        assert_eq!(del.status, 202);
        let dry = s.cli_ok(&["registry", "gc", "--grace-minutes", "0", "--dry-run"]);
        assert!(dry.contains("would remove 3 blobs"), "{dry}");
        assert!(blob_file(s, &b.layer_digest).exists());
        let out = s.cli_ok(&["registry", "gc", "--grace-minutes", "0"]);
        assert!(out.contains("removed 3 blobs"), "{out}");
        assert!(!blob_file(s, &b.layer_digest).exists());
        assert!(!blob_file(s, &b.config_digest).exists());
    });
}
