//! Tests of `plan`: workflow rules, job rules, only/except, needs on removed jobs, steps and variables.

use super::*;
use crate::config::parse;

fn ctx(source: PipelineSource, ref_name: &str, is_tag: bool) -> PipelineContext {
    PipelineContext {
        source,
        ref_name: ref_name.to_string(),
        is_tag,
        sha: "0123456789abcdef".to_string(),
        default_branch: Some("main".to_string()),
        variables: BTreeMap::new(),
    }
}

fn push(ref_name: &str) -> PipelineContext {
    ctx(PipelineSource::Push, ref_name, false)
}

fn planned(yaml: &str, context: &PipelineContext) -> Plan {
    let config = parse(yaml).unwrap_or_else(|e| panic!("{e}"));
    match plan(&config, context) {
        PlanResult::Planned(plan) => plan,
        other => panic!("expected a plan, got {other:?}"),
    }
}

fn outcome(yaml: &str, context: &PipelineContext) -> PlanResult {
    plan(&parse(yaml).unwrap_or_else(|e| panic!("{e}")), context)
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.jobs.iter().map(|j| j.name.as_str()).collect()
}

#[test]
fn predefined_variables() {
    let branch = push("feature/x").predefined();
    assert_eq!(branch["CI_COMMIT_BRANCH"], "feature/x");
    assert_eq!(branch["CI_COMMIT_REF_NAME"], "feature/x");
    assert_eq!(branch["CI_COMMIT_REF_SLUG"], "feature-x");
    assert_eq!(branch["CI_PIPELINE_SOURCE"], "push");
    assert_eq!(branch["CI_DEFAULT_BRANCH"], "main");
    assert_eq!(branch["CI_COMMIT_SHORT_SHA"], "01234567");
    assert!(!branch.contains_key("CI_COMMIT_TAG"));
    let tag = ctx(PipelineSource::Push, "v1.0", true).predefined();
    assert_eq!(tag["CI_COMMIT_TAG"], "v1.0");
    assert!(!tag.contains_key("CI_COMMIT_BRANCH"));
    let mr = ctx(PipelineSource::MergeRequestEvent, "feature", false).predefined();
    assert!(!mr.contains_key("CI_COMMIT_BRANCH"));
    assert_eq!(mr["CI_PIPELINE_SOURCE"], "merge_request_event");
}

#[test]
fn stages_steps_and_defaults() {
    let plan = planned(
        r#"
stages: [build, test, deploy]
variables: {G: "1", SHARED: "global"}
default: {before_script: [setup], after_script: [cleanup], timeout: 30m, image: alpine}
build: {stage: build, script: [make], artifacts: {paths: [out]}}
test: {script: [make test], variables: {SHARED: "job"}, after_script: []}
"#,
        &push("main"),
    );
    assert_eq!(plan.stages, vec!["build", "test"]);
    assert_eq!(names(&plan), ["build", "test"]);
    let build = &plan.jobs[0];
    assert_eq!(build.stage_idx, 0);
    assert_eq!(build.when, When::OnSuccess);
    assert!(!build.allow_failure);
    assert_eq!(build.image.as_deref(), Some("alpine"));
    assert_eq!(build.timeout_seconds, Some(1800));
    assert_eq!(build.steps.len(), 2);
    assert_eq!(build.steps[0].name, "script");
    assert_eq!(build.steps[0].script, vec!["setup", "make"]);
    assert_eq!(build.steps[0].when, When::OnSuccess);
    assert!(!build.steps[0].allow_failure);
    assert_eq!(build.steps[1].name, "after_script");
    assert_eq!(build.steps[1].when, When::Always);
    assert!(build.steps[1].allow_failure);
    let artifacts = build.artifacts.as_ref().unwrap();
    assert_eq!(artifacts.expire_in_seconds, Some(30 * 24 * 3600));
    assert_eq!(build.permissions, permissions::default_job_permissions());
    let test = &plan.jobs[1];
    assert_eq!(test.stage_idx, 1);
    assert_eq!(test.steps.len(), 1, "an empty after_script adds no step");
    assert_eq!(
        test.variables,
        vec![
            ("G".to_string(), "1".to_string()),
            ("SHARED".to_string(), "job".to_string())
        ]
    );
}

#[test]
fn workflow_rules_decide_whether_a_pipeline_exists() {
    let yaml = r#"
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      variables: {KIND: mr}
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
    - when: never
job:
  script: x
  rules: [{when: always}]
"#;
    assert!(matches!(
        outcome(yaml, &push("feature")),
        PlanResult::Filtered
    ));
    assert!(matches!(
        outcome(yaml, &push("main")),
        PlanResult::Planned(_)
    ));
    let mr = planned(
        yaml,
        &ctx(PipelineSource::MergeRequestEvent, "feature", false),
    );
    assert!(
        mr.jobs[0]
            .variables
            .contains(&("KIND".to_string(), "mr".to_string()))
    );
    assert!(matches!(
        outcome(
            "workflow: {rules: [{if: '$NOPE'}]}\njob: {script: x}",
            &push("main")
        ),
        PlanResult::Filtered
    ));
}

#[test]
fn job_rules_first_match_wins() {
    let yaml = r#"
deploy:
  script: x
  rules:
    - if: $CI_COMMIT_TAG
      when: never
    - if: $CI_COMMIT_BRANCH == "main"
      when: manual
      variables: {TARGET: prod}
    - if: $CI_COMMIT_BRANCH =~ /^release/
test:
  script: y
"#;
    let main = planned(yaml, &push("main"));
    let deploy = &main.jobs[0];
    assert_eq!(deploy.when, When::Manual);
    assert!(
        !deploy.allow_failure,
        "a rule's when: manual defaults to allow_failure false"
    );
    assert!(
        deploy
            .variables
            .contains(&("TARGET".to_string(), "prod".to_string()))
    );
    let release = planned(yaml, &push("release-1"));
    assert_eq!(release.jobs[0].when, When::OnSuccess);
    assert_eq!(names(&release), ["deploy", "test"]);
    let feature = planned(yaml, &push("feature"));
    assert_eq!(names(&feature), ["test"]);
    let tag = planned(yaml, &ctx(PipelineSource::Push, "v1", true));
    assert_eq!(names(&tag), ["test"]);
}

#[test]
fn manual_allow_failure_defaults() {
    let plan = planned(
        "a: {script: x, when: manual}\nb: {script: x, when: manual, allow_failure: false}\n\
         c: {script: x, when: manual, rules: [{if: $CI_COMMIT_BRANCH}]}\n\
         d: {script: x, rules: [{when: manual, allow_failure: true}]}\n",
        &push("main"),
    );
    let allow: Vec<(When, bool)> = plan
        .jobs
        .iter()
        .map(|j| (j.when, j.allow_failure))
        .collect();
    assert_eq!(
        allow,
        vec![
            (When::Manual, true),
            (When::Manual, false),
            (When::Manual, true),
            (When::Manual, true)
        ]
    );
}

#[test]
fn variables_are_visible_to_rules() {
    let yaml = r#"
variables: {DEPLOY_ENABLED: "yes"}
deploy:
  script: x
  variables: {LOCAL: "1"}
  rules:
    - if: $DEPLOY_ENABLED == "yes" && $LOCAL && $FROM_CALLER == "1"
"#;
    let mut context = push("main");
    assert!(matches!(outcome(yaml, &context), PlanResult::Filtered));
    context.variables.insert("FROM_CALLER".into(), "1".into());
    assert!(matches!(outcome(yaml, &context), PlanResult::Planned(_)));
    // Callers cannot fake the predefined variables, even those a pipeline leaves undefined.
    let mut tag = ctx(PipelineSource::Push, "v1", true);
    tag.variables
        .insert("CI_COMMIT_BRANCH".into(), "main".into());
    tag.variables
        .insert("CI_PIPELINE_SOURCE".into(), "web".into());
    let spoof = "job: {script: x, rules: [{if: '$CI_COMMIT_BRANCH == \"main\" || $CI_PIPELINE_SOURCE == \"web\"'}]}";
    assert!(matches!(outcome(spoof, &tag), PlanResult::Filtered));
}

#[test]
fn only_except_and_the_default_filter() {
    let yaml = r#"
plain: {script: x}
main_only: {script: x, only: [main]}
no_tags: {script: x, except: [tags]}
mrs: {script: x, only: [merge_requests]}
scheduled: {script: x, only: [schedules]}
"#;
    assert_eq!(
        names(&planned(yaml, &push("main"))),
        ["plain", "main_only", "no_tags"]
    );
    assert_eq!(
        names(&planned(yaml, &ctx(PipelineSource::Push, "v1", true))),
        ["plain"]
    );
    assert_eq!(
        names(&planned(
            yaml,
            &ctx(PipelineSource::MergeRequestEvent, "feature", false)
        )),
        ["mrs"]
    );
    assert_eq!(
        names(&planned(
            yaml,
            &ctx(PipelineSource::Schedule, "main", false)
        )),
        ["plain", "main_only", "no_tags", "scheduled"]
    );
}

#[test]
fn needs_on_removed_jobs() {
    let yaml = r#"
build: {stage: build, script: x, rules: [{if: $CI_COMMIT_TAG}]}
lint: {stage: build, script: x}
test: {script: x, needs: [build]}
docs: {script: x, needs: [{job: build, optional: true}, {job: lint, artifacts: false}], dependencies: [build, lint]}
"#;
    match outcome(yaml, &push("main")) {
        PlanResult::Invalid(error) => assert_eq!(
            error.to_string(),
            "'test' job needs 'build' job, but 'build' is not in any previous stage"
        ),
        other => panic!("{other:?}"),
    }
    let tag = planned(yaml, &ctx(PipelineSource::Push, "v1", true));
    assert_eq!(tag.jobs.len(), 4);
    let without_test = yaml.replace("test: {script: x, needs: [build]}\n", "");
    let plan = planned(&without_test, &push("main"));
    let docs = plan.jobs.iter().find(|j| j.name == "docs").unwrap();
    assert_eq!(
        docs.needs,
        Some(vec![Need {
            job: "lint".into(),
            artifacts: false
        }])
    );
    assert_eq!(docs.dependencies, Some(vec!["lint".to_string()]));
}

#[test]
fn empty_stages_are_dropped_and_pre_post_alone_is_no_pipeline() {
    let plan = planned(
        "stages: [build, test, deploy]\nsetup: {stage: .pre, script: x}\nship: {stage: deploy, script: y}\n",
        &push("main"),
    );
    assert_eq!(plan.stages, vec![".pre", "deploy"]);
    assert_eq!(plan.jobs[1].stage_idx, 1);
    assert!(matches!(
        outcome(
            "setup: {stage: .pre, script: x}\nlater: {script: y, only: [tags]}",
            &push("main")
        ),
        PlanResult::Filtered
    ));
}

#[test]
fn permissions_follow_job_then_file_then_default() {
    let plan = planned(
        r#"
permissions: {repository: [read]}
a: {script: x}
b: {script: x, permissions: {container_registry: [create, read]}}
c: {script: x, permissions: {}}
"#,
        &push("main"),
    );
    assert_eq!(plan.jobs[0].permissions.names(), vec!["repository:read"]);
    assert_eq!(
        plan.jobs[1].permissions.names(),
        vec!["container_registry:create", "container_registry:read"]
    );
    assert!(plan.jobs[2].permissions.0.is_empty());
}

#[test]
fn planned_jobs_round_trip_through_json() {
    let plan = planned(
        "build: {script: x, artifacts: {paths: [a], expire_in: never}, needs: [], tags: [t]}",
        &push("main"),
    );
    let json = serde_json::to_string(&plan.jobs[0]).unwrap();
    assert!(json.contains(r#""when":"on_success""#), "{json}");
    assert!(json.contains(r#""permissions":["container_registry:read","repository:read"]"#));
    let back: PlannedJob = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan.jobs[0]);
    assert_eq!(back.artifacts.unwrap().expire_in_seconds, None);
    assert_eq!(back.needs, Some(vec![]));
}

#[test]
fn ref_slugs() {
    assert_eq!(ref_slug("Feature/ABC_1"), "feature-abc-1");
    assert_eq!(ref_slug("-x-"), "x");
    assert_eq!(ref_slug(&"a".repeat(100)).len(), 63);
}
