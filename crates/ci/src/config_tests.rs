//! Tests of `config::parse`: keywords, defaults, templates, cross-job checks and hostile input.

use super::*;
use std::time::{Duration, Instant};

fn ok(yaml: &str) -> CiConfig {
    parse(yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn err(yaml: &str) -> String {
    match parse(yaml) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_small_file() {
    let config = ok(r#"
stages: [build, test]
variables:
  GLOBAL: "1"
  NUM: 3
  DESCRIBED: {value: "x", description: "a var"}
default:
  before_script: [echo before]
  tags: [docker]
  timeout: 1h 30m
build:
  stage: build
  script: make
  artifacts:
    paths: [out/]
    expire_in: 1 week
test:
  script:
    - echo one
    - [echo two, echo three]
  after_script: [echo after]
  variables: {LOCAL: "y"}
  needs: [build]
  tags: [linux]
"#);
    assert_eq!(config.stages, vec![".pre", "build", "test", ".post"]);
    assert_eq!(
        config.variables,
        vec![
            ("GLOBAL".to_string(), "1".to_string()),
            ("NUM".to_string(), "3".to_string()),
            ("DESCRIBED".to_string(), "x".to_string())
        ]
    );
    let build = config.job("build").unwrap();
    assert_eq!(build.stage, "build");
    assert_eq!(build.script, vec!["make"]);
    assert_eq!(build.before_script, vec!["echo before"]);
    assert_eq!(build.tags, vec!["docker"]);
    assert_eq!(build.timeout_seconds, Some(5400));
    let artifacts = build.artifacts.as_ref().unwrap();
    assert_eq!(artifacts.paths, vec!["out/"]);
    assert_eq!(artifacts.expire_in_seconds, Some(7 * 24 * 3600));
    assert_eq!(artifacts.when, When::OnSuccess);
    let test = config.job("test").unwrap();
    assert_eq!(test.stage, "test");
    assert_eq!(test.script, vec!["echo one", "echo two", "echo three"]);
    assert_eq!(test.after_script, vec!["echo after"]);
    assert_eq!(test.tags, vec!["linux"]);
    assert_eq!(test.needs.as_ref().unwrap()[0].job, "build");
    assert_eq!(
        config
            .jobs
            .iter()
            .map(|j| j.name.as_str())
            .collect::<Vec<_>>(),
        ["build", "test"]
    );
}

#[test]
fn default_stages_and_legacy_keywords() {
    let config = ok("before_script: [setup]\nimage: alpine\njob: {script: x}\n");
    assert_eq!(config.stages, DEFAULT_STAGES.map(str::to_string).to_vec());
    let job = config.job("job").unwrap();
    assert_eq!(job.stage, "test");
    assert_eq!(job.before_script, vec!["setup"]);
    assert_eq!(job.image.as_ref().unwrap().name, "alpine");
    // A job's own keyword replaces the default.
    let config = ok("default: {before_script: [a]}\njob: {script: x, before_script: [b]}\n");
    assert_eq!(config.job("job").unwrap().before_script, vec!["b"]);
    // `.pre` and `.post` stay at the ends even when listed.
    let config = ok("stages: [.post, deploy, .pre]\njob: {stage: deploy, script: x}\n");
    assert_eq!(config.stages, vec![".pre", "deploy", ".post"]);
}

#[test]
fn anchors_merge_keys_and_extends() {
    let config = ok(r#"
.defaults: &defaults
  tags: [shared]
  variables: {A: "1"}
.tests:
  stage: build
  script: [run tests]
  variables: {B: "2"}
job1:
  <<: *defaults
  script: echo 1
job2:
  extends: .tests
  variables: {C: "3"}
job3:
  extends: [job2]
  script: override
"#);
    assert_eq!(config.job("job1").unwrap().tags, vec!["shared"]);
    let job2 = config.job("job2").unwrap();
    assert_eq!(job2.stage, "build");
    assert_eq!(job2.script, vec!["run tests"]);
    assert_eq!(job2.variables.len(), 2);
    let job3 = config.job("job3").unwrap();
    assert_eq!(job3.script, vec!["override"]);
    assert_eq!(job3.stage, "build");
    assert_eq!(config.jobs.len(), 3);
}

#[test]
fn rules_and_only_except() {
    let config = ok(r#"
job:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
      when: manual
      allow_failure: true
      variables: {DEPLOY: "yes"}
    - when: never
legacy:
  script: x
  only: [main, /^release/]
  except: {refs: [tags]}
"#);
    let rules = config.job("job").unwrap().rules.as_ref().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].when, Some(When::Manual));
    assert_eq!(rules[0].allow_failure, Some(true));
    assert_eq!(
        rules[0].variables,
        vec![("DEPLOY".to_string(), "yes".to_string())]
    );
    assert!(rules[1].if_expr.is_none());
    assert!(config.job("legacy").unwrap().only.is_some());
}

#[test]
fn other_keywords_are_accepted() {
    let config = ok(r#"
job:
  script: x
  image: {name: "alpine:3", entrypoint: [""]}
  services: [postgres]
  cache: {paths: [vendor]}
  environment: {name: production, url: "https://example.com"}
  coverage: '/\d+%/'
  resource_group: prod
  interruptible: true
  retry: {max: 2, when: [script_failure]}
  allow_failure: {exit_codes: [137, 255]}
  timeout: 3600
  dependencies: []
  needs: [{job: other, artifacts: false, optional: true}]
  permissions: {container_registry: [create, read]}
  inherit: {default: false, variables: [A]}
other:
  stage: build
  script: y
"#);
    let job = config.job("job").unwrap();
    assert_eq!(
        job.image.as_ref().unwrap().entrypoint,
        Some(vec![String::new()])
    );
    assert_eq!(job.environment.as_deref(), Some("production"));
    assert!(job.interruptible);
    assert_eq!(job.retry_max, 2);
    assert_eq!(job.allow_failure, Some(false));
    assert_eq!(job.allow_failure_exit_codes, vec![137, 255]);
    assert_eq!(job.timeout_seconds, Some(3600));
    assert_eq!(job.dependencies, Some(vec![]));
    let need = &job.needs.as_ref().unwrap()[0];
    assert!(!need.artifacts && need.optional);
    assert_eq!(
        job.permissions.as_ref().unwrap().names(),
        vec!["container_registry:create", "container_registry:read"]
    );
    assert_eq!(
        job.inherit_variables,
        InheritVariables::Only(vec!["A".into()])
    );
    let empty_needs = ok("a: {script: x, needs: []}");
    assert_eq!(empty_needs.jobs[0].needs, Some(vec![]));
}

#[test]
fn gitlab_style_errors() {
    assert_eq!(
        err("build: {script: x, foo: 1, bar: 2}"),
        "jobs:build config contains unknown keys: foo, bar"
    );
    assert_eq!(
        err("build: {script: {a: b}}"),
        "jobs:build:script config should be a string or a nested array of strings up to 10 levels deep"
    );
    assert_eq!(
        err("deploy: {script: x, needs: [x]}"),
        "jobs:deploy:needs job 'x' is not defined"
    );
    assert_eq!(
        err("stages: build\njob: {script: x}"),
        "stages config should be an array of strings"
    );
    assert_eq!(
        err("stages: [build]\njob: {script: x}"),
        "jobs:job chosen stage test does not exist; available stages are .pre, build, .post"
    );
    assert_eq!(
        err("include: other.yml\njob: {script: x}"),
        "include is not supported"
    );
    assert_eq!(
        err("job: {stage: test}"),
        "jobs:job config should implement the script: keyword"
    );
    assert_eq!(
        err("job: {script: []}"),
        "jobs:job:script config can't be blank"
    );
    assert_eq!(
        err("foo: bar\njob: {script: x}"),
        "root config contains unknown keys: foo"
    );
    assert!(
        err("job: {script: x, rules: [{changes: [a]}]}").contains("rules:changes is not supported")
    );
    assert!(
        err("job: {script: x, rules: [{exists: [a]}]}").contains("rules:exists is not supported")
    );
    assert!(
        err("job: {script: x, rules: [{if: '$A =='}]}")
            .contains("jobs:job:rules:rule if invalid expression syntax")
    );
    assert!(
        err("job: {script: x, rules: [{when: always}], only: [main]}")
            .contains("may not use rules with only/except")
    );
    assert!(err("job: {script: x, when: delayed}").contains("delayed is not supported"));
    assert!(
        err("job: {script: x, when: sometimes}").contains("jobs:job:when config should be one of")
    );
    assert!(
        err("job: {script: x, timeout: forever}")
            .contains("jobs:job:timeout config should be a duration")
    );
    assert!(
        err("job: {script: x, trigger: other/project}")
            .contains("jobs:job:trigger is not supported")
    );
    assert!(
        err("workflow: {rules: [{when: manual}]}\njob: {script: x}")
            .contains("workflow:rules:rule when")
    );
    assert!(
        err("job: {script: x, permissions: {container_registry: [push]}}").starts_with(
            "jobs:job:permissions unknown permission 'container_registry:push' (valid: "
        )
    );
}

#[test]
fn several_errors_are_collected() {
    let error = parse("a: {script: x, foo: 1}\nb: {stage: test}\n").unwrap_err();
    assert_eq!(error.errors.len(), 2, "{error}");
    assert_eq!(
        error.to_string(),
        "jobs:a config contains unknown keys: foo, jobs:b config should implement the script: keyword"
    );
}

#[test]
fn needs_must_point_backwards_without_cycles() {
    assert_eq!(
        err(
            "build: {stage: build, script: x, needs: [deploy]}\ndeploy: {stage: deploy, script: y}\n"
        ),
        "jobs:build:needs job 'deploy' is not defined in current or prior stages"
    );
    let cycle =
        err("a: {script: x, needs: [b]}\nb: {script: x, needs: [c]}\nc: {script: x, needs: [a]}\n");
    assert_eq!(
        cycle,
        "jobs:a:needs circular dependency detected: a -> b -> c -> a"
    );
    assert!(err("a: {script: x, needs: [a]}").contains("circular dependency detected: a -> a"));
    // Same-stage needs are fine.
    ok("a: {script: x}\nb: {script: x, needs: [a]}\n");
    assert!(err("a: {stage: build, script: x}\nb: {script: x, needs: [a], dependencies: [c]}\nc: {stage: build, script: y}")
        .contains("jobs:b:dependencies the c should be part of needs"));
    assert!(
        err("a: {stage: deploy, script: x}\nb: {stage: build, script: x, dependencies: [a]}")
            .contains("jobs:b:dependencies job 'a' is not defined in prior stages")
    );
}

#[test]
fn empty_and_malformed_roots() {
    assert_eq!(err(""), NO_JOBS_MESSAGE);
    assert_eq!(err("# only a comment\n"), NO_JOBS_MESSAGE);
    assert_eq!(err(".hidden: {script: x}"), NO_JOBS_MESSAGE);
    assert_eq!(err("variables: {A: b}"), NO_JOBS_MESSAGE);
    assert!(err("- a\n- b").starts_with("Invalid configuration format"));
    assert!(err("just a string").starts_with("Invalid configuration format"));
    assert!(err("a: [unclosed").starts_with("Invalid configuration format"));
    assert!(err("\u{0}\u{1}\u{7f}\u{fffd}: {{{").starts_with("Invalid configuration format"));
    assert!(err("a: !reference [.x, script]").contains("tags such as !reference"));
}

/// Every hostile input must come back as an error, fast (allowing for unoptimized builds and parallel tests).
fn refused_quickly(yaml: &str) -> String {
    let limit = if cfg!(debug_assertions) {
        Duration::from_secs(6)
    } else {
        Duration::from_secs(1)
    };
    let started = Instant::now();
    let result = parse(yaml);
    let elapsed = started.elapsed();
    assert!(elapsed < limit, "took {elapsed:?}");
    match result {
        Ok(_) => panic!("hostile input accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn hostile_alias_bomb() {
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(",");
        text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    text.push_str("job: {script: *a10}\n");
    let message = refused_quickly(&text);
    assert!(
        message.contains("too large") || message.contains("repetition limit"),
        "{message}"
    );
}

#[test]
fn hostile_sizes() {
    let message = refused_quickly(&"#".repeat(2 << 20));
    assert!(
        message.starts_with("The configuration is too large"),
        "{message}"
    );

    let many: String = (0..10_000)
        .map(|i| format!("j{i}: {{script: x}}\n"))
        .collect();
    assert_eq!(
        refused_quickly(&many),
        "The pipeline has too many jobs (10000; the maximum is 500)"
    );
    let just_enough: String = (0..500).map(|i| format!("j{i}: {{script: x}}\n")).collect();
    assert_eq!(ok(&just_enough).jobs.len(), 500);

    let deep = format!(
        "job: {{script: x, variables: {}1{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    refused_quickly(&deep);
    let deep_script = format!("job: {{script: {}x{}}}", "[".repeat(20), "]".repeat(20));
    assert!(refused_quickly(&deep_script).contains("up to 10 levels deep"));
}

#[test]
fn hostile_extends() {
    let mut text = String::from(".t0: {script: [x]}\n");
    for i in 1..=20 {
        text.push_str(&format!(".t{i}: {{extends: .t{}}}\n", i - 1));
    }
    text.push_str("job: {extends: .t20}\n");
    assert!(refused_quickly(&text).contains("nesting too deep in `extends`"));
    assert!(
        refused_quickly(".a: {extends: .b}\n.b: {extends: .a}\njob: {extends: .a}\n")
            .contains("circular dependency detected in `extends`")
    );

    // 500 jobs that each inherit a large template may not multiply memory without bound.
    let big: String = (0..20_000).map(|i| format!("    V{i}: x\n")).collect();
    let mut text = format!(".big:\n  script: x\n  variables:\n{big}");
    for i in 0..500 {
        text.push_str(&format!("j{i}: {{extends: .big}}\n"));
    }
    assert!(text.len() <= MAX_CONFIG_BYTES);
    let message = refused_quickly(&text);
    assert!(message.contains("too large"), "{message}");
}

#[test]
fn hostile_needs_graph() {
    // A long needs chain (no cycle) and a long cycle are handled without deep recursion.
    let chain: String = (0..500)
        .map(|i| {
            if i == 0 {
                "j0: {script: x}\n".to_string()
            } else {
                format!("j{i}: {{script: x, needs: [j{}]}}\n", i - 1)
            }
        })
        .collect();
    ok(&chain);
    let cycle: String = (0..500)
        .map(|i| format!("j{i}: {{script: x, needs: [j{}]}}\n", (i + 1) % 500))
        .collect();
    assert!(refused_quickly(&cycle).contains("circular dependency detected"));
}
