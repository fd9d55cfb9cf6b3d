//! The diesel schema, written by hand with portable types only, for both backends.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        state -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> BigInt,
        name -> Text,
        path -> Text,
        full_path -> Text,
        parent_id -> Nullable<BigInt>,
        visibility -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        name -> Text,
        path -> Text,
        full_path -> Text,
        group_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        visibility -> Text,
        description -> Text,
        default_branch -> Text,
        creator_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_activity_at -> Timestamp,
        merge_method -> Text,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        user_id -> BigInt,
        project_id -> Nullable<BigInt>,
        group_id -> Nullable<BigInt>,
        access_level -> Integer,
        created_at -> Timestamp,
        expires_at -> Nullable<Date>,
    }
}

diesel::table! {
    namespaces (id) {
        id -> BigInt,
        kind -> Text,
        path -> Text,
        full_path -> Text,
        user_id -> Nullable<BigInt>,
        group_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    personal_access_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        description -> Text,
        digest -> Text,
        kind -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Date,
        last_used_at -> Nullable<Timestamp>,
        last_used_ips -> Text,
        revoked_at -> Nullable<Timestamp>,
        family_id -> Nullable<BigInt>,
        rotated_to_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    token_grants (id) {
        id -> BigInt,
        token_id -> BigInt,
        boundary -> Text,
        permissions -> Text,
    }
}

diesel::table! {
    token_grant_targets (id) {
        id -> BigInt,
        grant_id -> BigInt,
        project_id -> Nullable<BigInt>,
        group_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    protected_branches (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        push_access_level -> Integer,
        merge_access_level -> Integer,
        allow_force_push -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    instance_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    issue_iid_counters (project_id) {
        project_id -> BigInt,
        last_iid -> BigInt,
    }
}

diesel::table! {
    issues (id) {
        id -> BigInt,
        project_id -> BigInt,
        iid -> BigInt,
        title -> Text,
        description -> Nullable<Text>,
        state -> Text,
        confidential -> Bool,
        author_id -> BigInt,
        closed_by_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    issue_assignees (issue_id, user_id) {
        issue_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    labels (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        color -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    issue_labels (issue_id, label_id) {
        issue_id -> BigInt,
        label_id -> BigInt,
    }
}

diesel::table! {
    notes (id) {
        id -> BigInt,
        project_id -> BigInt,
        noteable_type -> Text,
        issue_id -> Nullable<BigInt>,
        author_id -> BigInt,
        body -> Text,
        system -> Bool,
        internal -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        merge_request_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    merge_requests (id) {
        id -> BigInt,
        project_id -> BigInt,
        iid -> BigInt,
        title -> Text,
        description -> Text,
        state -> Text,
        source_branch -> Text,
        target_branch -> Text,
        author_id -> BigInt,
        merge_commit_sha -> Nullable<Text>,
        merged_by_id -> Nullable<BigInt>,
        closed_by_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        merged_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        merge_when_pipeline_succeeds -> Bool,
        merge_user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    merge_request_iid_counters (project_id) {
        project_id -> BigInt,
        last_iid -> BigInt,
    }
}

diesel::table! {
    merge_request_approvals (merge_request_id, user_id) {
        merge_request_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        ip -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    token_usage (id) {
        id -> BigInt,
        token_id -> BigInt,
        permission -> Text,
        project_id -> BigInt,
        group_id -> BigInt,
        day -> Date,
        requests -> BigInt,
        last_used_at -> Timestamp,
    }
}

diesel::table! {
    token_events (id) {
        id -> BigInt,
        token_id -> BigInt,
        user_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        event -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(personal_access_tokens -> users (user_id));
diesel::joinable!(token_grants -> personal_access_tokens (token_id));
diesel::joinable!(token_grant_targets -> token_grants (grant_id));
diesel::joinable!(members -> users (user_id));
diesel::joinable!(issues -> projects (project_id));
diesel::joinable!(issue_assignees -> issues (issue_id));
diesel::joinable!(issue_assignees -> users (user_id));
diesel::joinable!(issue_labels -> issues (issue_id));
diesel::joinable!(issue_labels -> labels (label_id));
diesel::joinable!(notes -> issues (issue_id));
diesel::joinable!(namespaces -> users (user_id));

diesel::table! {
    merge_request_labels (merge_request_id, label_id) {
        merge_request_id -> BigInt,
        label_id -> BigInt,
    }
}

diesel::joinable!(merge_request_labels -> merge_requests (merge_request_id));
diesel::joinable!(merge_request_labels -> labels (label_id));

diesel::table! {
    container_repositories (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_blobs (digest) {
        digest -> Text,
        size -> BigInt,
        created_at -> Timestamp,
        touched_at -> Timestamp,
    }
}

diesel::table! {
    registry_repository_blobs (repository_id, digest) {
        repository_id -> BigInt,
        digest -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_manifests (id) {
        id -> BigInt,
        repository_id -> BigInt,
        digest -> Text,
        media_type -> Text,
        artifact_type -> Nullable<Text>,
        subject_digest -> Nullable<Text>,
        config_digest -> Nullable<Text>,
        annotations -> Nullable<Text>,
        size -> BigInt,
        total_size -> BigInt,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_manifest_references (manifest_id, digest, kind) {
        manifest_id -> BigInt,
        digest -> Text,
        kind -> Text,
    }
}

diesel::table! {
    registry_tags (id) {
        id -> BigInt,
        repository_id -> BigInt,
        name -> Text,
        manifest_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    registry_uploads (id) {
        id -> Text,
        repository_id -> BigInt,
        size -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(container_repositories -> projects (project_id));
diesel::joinable!(registry_repository_blobs -> container_repositories (repository_id));
diesel::joinable!(registry_repository_blobs -> registry_blobs (digest));
diesel::joinable!(registry_manifests -> container_repositories (repository_id));
diesel::joinable!(registry_manifest_references -> registry_manifests (manifest_id));
diesel::joinable!(registry_tags -> registry_manifests (manifest_id));
diesel::joinable!(registry_tags -> container_repositories (repository_id));
diesel::joinable!(registry_uploads -> container_repositories (repository_id));

diesel::table! {
    ci_pipeline_iid_counters (project_id) {
        project_id -> BigInt,
        last_iid -> BigInt,
    }
}

diesel::table! {
    ci_pipelines (id) {
        id -> BigInt,
        project_id -> BigInt,
        iid -> BigInt,
        sha -> Text,
        before_sha -> Text,
        ref_name -> Text,
        tag -> Bool,
        source -> Text,
        status -> Text,
        user_id -> Nullable<BigInt>,
        merge_request_id -> Nullable<BigInt>,
        yaml_errors -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ci_pipeline_variables (pipeline_id, key) {
        pipeline_id -> BigInt,
        key -> Text,
        value -> Text,
        variable_type -> Text,
    }
}

diesel::table! {
    ci_jobs (id) {
        id -> BigInt,
        pipeline_id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        stage -> Text,
        stage_idx -> Integer,
        status -> Text,
        when_condition -> Text,
        allow_failure -> Bool,
        spec -> Text,
        permissions -> Text,
        tag_list -> Text,
        user_id -> Nullable<BigInt>,
        runner_id -> Nullable<BigInt>,
        token_digest -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        exit_code -> Nullable<Integer>,
        retried -> Bool,
        trace_size -> BigInt,
        trace_preamble -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        queued_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ci_job_trace_chunks (job_id, chunk_offset) {
        job_id -> BigInt,
        chunk_offset -> BigInt,
        data -> Binary,
    }
}

diesel::table! {
    ci_job_artifacts (id) {
        id -> BigInt,
        job_id -> BigInt,
        file_type -> Text,
        file_format -> Text,
        filename -> Text,
        size -> BigInt,
        digest -> Text,
        expire_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ci_runners (id) {
        id -> BigInt,
        token_digest -> Text,
        runner_type -> Text,
        group_id -> Nullable<BigInt>,
        description -> Text,
        maintenance_note -> Text,
        paused -> Bool,
        locked -> Bool,
        run_untagged -> Bool,
        tag_list -> Text,
        access_level -> Text,
        maximum_timeout -> Nullable<BigInt>,
        registered_with_token -> Bool,
        creator_id -> Nullable<BigInt>,
        version -> Nullable<Text>,
        platform -> Nullable<Text>,
        architecture -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        created_at -> Timestamp,
        contacted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ci_runner_projects (runner_id, project_id) {
        runner_id -> BigInt,
        project_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ci_variables (id) {
        id -> BigInt,
        owner_kind -> Text,
        owner_id -> BigInt,
        key -> Text,
        value -> Text,
        variable_type -> Text,
        protected -> Bool,
        masked -> Bool,
        hidden -> Bool,
        raw -> Bool,
        environment_scope -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ci_triggers (id) {
        id -> BigInt,
        project_id -> BigInt,
        owner_id -> BigInt,
        description -> Text,
        token_digest -> Text,
        token_hint -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_used -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ci_commit_statuses (id) {
        id -> BigInt,
        project_id -> BigInt,
        sha -> Text,
        ref_name -> Nullable<Text>,
        name -> Text,
        status -> Text,
        target_url -> Nullable<Text>,
        description -> Nullable<Text>,
        coverage -> Nullable<Double>,
        pipeline_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ci_job_token_allowlist (project_id, source_kind, source_id) {
        project_id -> BigInt,
        source_kind -> Text,
        source_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ci_project_settings (project_id) {
        project_id -> BigInt,
        job_token_scope_enabled -> Bool,
        default_git_depth -> Integer,
        runner_token_generation -> BigInt,
    }
}

diesel::joinable!(ci_jobs -> ci_pipelines (pipeline_id));
diesel::joinable!(ci_pipelines -> projects (project_id));
diesel::joinable!(ci_job_artifacts -> ci_jobs (job_id));
diesel::joinable!(ci_runner_projects -> ci_runners (runner_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(token_usage -> personal_access_tokens (token_id));
diesel::joinable!(token_events -> personal_access_tokens (token_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    groups,
    projects,
    members,
    namespaces,
    personal_access_tokens,
    token_grants,
    token_grant_targets,
    instance_secrets,
    issue_iid_counters,
    issues,
    issue_assignees,
    labels,
    issue_labels,
    notes,
    protected_branches,
    merge_requests,
    merge_request_iid_counters,
    merge_request_approvals,
    merge_request_labels,
    container_repositories,
    registry_blobs,
    registry_repository_blobs,
    registry_manifests,
    registry_manifest_references,
    registry_tags,
    registry_uploads,
    ci_pipeline_iid_counters,
    ci_pipelines,
    ci_pipeline_variables,
    ci_jobs,
    ci_job_trace_chunks,
    ci_job_artifacts,
    ci_runners,
    ci_runner_projects,
    ci_variables,
    ci_triggers,
    ci_commit_statuses,
    ci_job_token_allowlist,
    ci_project_settings,
    web_sessions,
    token_usage,
    token_events,
);
