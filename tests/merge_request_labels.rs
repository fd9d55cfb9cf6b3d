//! Labels on merge requests over REST on SQLite and PostgreSQL: set when opening (unknown names
//! become project labels), replaced, added to and removed on edit, shown in the JSON, and the
//! `labels=` filter (all named labels present, `None`, `Any`) on the project's and the global list.

mod common;

use common::each_backend;
use common::merge_requests::setup;
use serde_json::{Value, json};

fn iids(list: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["iid"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn merge_requests_carry_labels_and_lists_filter_on_them() {
    each_backend(|s| {
        let fx = setup(s, "labelled");
        for b in ["a", "b", "c"] {
            fx.write(b, "main", &format!("{b}.txt"), b);
        }
        let open = |source: &str, labels: Value| {
            let r = fx.call(
                "POST",
                "/merge_requests",
                Some(json!({"source_branch": source, "target_branch": "main",
                            "title": format!("MR {source}"), "labels": labels})),
            );
            assert_eq!(r.status, 201, "{}", r.text);
            r.json
        };
        let a = open("a", json!("bug,ui"));
        assert_eq!(a["labels"], json!(["bug", "ui"]));
        let b = open("b", json!(["bug"]));
        assert_eq!(b["labels"], json!(["bug"]));
        let c = open("c", json!(""));
        assert_eq!(c["labels"], json!([]));
        // Unknown names became project labels.
        let labels = fx.call("GET", "/labels", None);
        let names: Vec<&str> = labels
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"bug") && names.contains(&"ui"), "{names:?}");

        let list = |query: &str| {
            let r = fx.call("GET", &format!("/merge_requests?{query}"), None);
            assert_eq!(r.status, 200, "{}", r.text);
            iids(&r.json)
        };
        assert_eq!(list("labels=bug"), vec![1, 2]);
        assert_eq!(list("labels=bug,ui"), vec![1]);
        assert_eq!(list("labels=None"), vec![3]);
        assert_eq!(list("labels=Any"), vec![1, 2]);
        assert_eq!(list("labels=nothing"), Vec::<i64>::new());
        let global = s.get("/api/v4/merge_requests?scope=all&labels=ui", &fx.owner);
        assert_eq!(iids(&global.json), vec![1]);

        let edit = |iid: i64, body: Value| {
            let r = fx.call("PUT", &format!("/merge_requests/{iid}"), Some(body));
            assert_eq!(r.status, 200, "{}", r.text);
            r.json["labels"].clone()
        };
        assert_eq!(
            edit(2, json!({"add_labels": "ui,backend"})),
            json!(["backend", "bug", "ui"])
        );
        assert_eq!(
            edit(2, json!({"remove_labels": "bug"})),
            json!(["backend", "ui"])
        );
        assert_eq!(edit(1, json!({"labels": "docs"})), json!(["docs"]));
        // An edit that names no labels keeps them.
        assert_eq!(edit(1, json!({"title": "Renamed"})), json!(["docs"]));
        assert_eq!(list("labels=ui"), vec![2]);
        let one = fx.call("GET", "/merge_requests/2", None);
        assert_eq!(one.json["labels"], json!(["backend", "ui"]));
        // A label name with nothing usable in it is refused, and nothing changes.
        let r = fx.call(
            "PUT",
            "/merge_requests/2",
            Some(json!({"title": "x", "labels": ["a".repeat(300)]})),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            fx.call("GET", "/merge_requests/2", None).json["title"],
            "MR b"
        );
    });
}
