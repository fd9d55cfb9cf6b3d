-- Pipelines, jobs, runners and what goes with them. The pipeline engine (crates/ci) plans jobs
-- from the CI file; these tables keep the plan, the job state machine's state, logs, artifacts
-- (bytes in the blob store), runners, CI variables, triggers, commit statuses and the job token
-- allowlist.

CREATE TABLE ci_pipeline_iid_counters (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    last_iid BIGINT NOT NULL
);

-- A pipeline: one run of the CI file at `sha` of `ref_name`. `yaml_errors` holds why the CI
-- file could not be read (the pipeline is then `failed` with no jobs).
CREATE TABLE ci_pipelines (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    iid BIGINT NOT NULL,
    sha TEXT NOT NULL,
    before_sha TEXT NOT NULL,
    ref_name TEXT NOT NULL,
    tag BOOLEAN NOT NULL DEFAULT FALSE,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    merge_request_id BIGINT REFERENCES merge_requests (id) ON DELETE SET NULL,
    yaml_errors TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE UNIQUE INDEX ci_pipelines_project_iid ON ci_pipelines (project_id, iid);
CREATE INDEX ci_pipelines_project_ref ON ci_pipelines (project_id, ref_name, id);
CREATE INDEX ci_pipelines_project_sha ON ci_pipelines (project_id, sha);
CREATE INDEX ci_pipelines_merge_request ON ci_pipelines (merge_request_id);

-- Variables given when the pipeline was created (API, trigger, play).
CREATE TABLE ci_pipeline_variables (
    pipeline_id BIGINT NOT NULL REFERENCES ci_pipelines (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    variable_type TEXT NOT NULL DEFAULT 'env_var',
    PRIMARY KEY (pipeline_id, key)
);

-- A job of a pipeline. `spec` is the planned job (JSON of tinforge_ci::PlannedJob); `permissions`
-- the job token's grants as `resource:action` separated by commas. The job token exists only as
-- its digest, and only while the job is running. A retried job is kept with `retried` set.
CREATE TABLE ci_jobs (
    id BIGSERIAL PRIMARY KEY,
    pipeline_id BIGINT NOT NULL REFERENCES ci_pipelines (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    when_condition TEXT NOT NULL,
    allow_failure BOOLEAN NOT NULL DEFAULT FALSE,
    spec TEXT NOT NULL,
    permissions TEXT NOT NULL,
    tag_list TEXT NOT NULL DEFAULT '',
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    runner_id BIGINT,
    token_digest TEXT,
    failure_reason TEXT,
    exit_code INTEGER,
    retried BOOLEAN NOT NULL DEFAULT FALSE,
    trace_size BIGINT NOT NULL DEFAULT 0,
    trace_preamble TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    queued_at TIMESTAMP,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    erased_at TIMESTAMP
);
CREATE INDEX ci_jobs_pipeline ON ci_jobs (pipeline_id, stage_idx, id);
CREATE INDEX ci_jobs_project ON ci_jobs (project_id, id);
CREATE INDEX ci_jobs_status ON ci_jobs (status, id);
CREATE UNIQUE INDEX ci_jobs_token_digest ON ci_jobs (token_digest);

-- A job's log as the runner sent it, in appended chunks (`offset` is the chunk's first byte).
CREATE TABLE ci_job_trace_chunks (
    job_id BIGINT NOT NULL REFERENCES ci_jobs (id) ON DELETE CASCADE,
    chunk_offset BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (job_id, chunk_offset)
);

-- A job's artifacts archive; the bytes are in the blob store under `digest`.
CREATE TABLE ci_job_artifacts (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES ci_jobs (id) ON DELETE CASCADE,
    file_type TEXT NOT NULL,
    file_format TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    digest TEXT NOT NULL,
    expire_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ci_job_artifacts_job_type ON ci_job_artifacts (job_id, file_type);

-- A runner: instance-wide, for a group (and its projects), or for projects. Its token is kept as
-- a digest only.
CREATE TABLE ci_runners (
    id BIGSERIAL PRIMARY KEY,
    token_digest TEXT NOT NULL,
    runner_type TEXT NOT NULL,
    group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    maintenance_note TEXT NOT NULL DEFAULT '',
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    run_untagged BOOLEAN NOT NULL DEFAULT TRUE,
    tag_list TEXT NOT NULL DEFAULT '',
    access_level TEXT NOT NULL DEFAULT 'not_protected',
    maximum_timeout BIGINT,
    registered_with_token BOOLEAN NOT NULL DEFAULT FALSE,
    creator_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version TEXT,
    platform TEXT,
    architecture TEXT,
    ip_address TEXT,
    created_at TIMESTAMP NOT NULL,
    contacted_at TIMESTAMP
);
CREATE UNIQUE INDEX ci_runners_token_digest ON ci_runners (token_digest);

-- The projects a project runner serves.
CREATE TABLE ci_runner_projects (
    runner_id BIGINT NOT NULL REFERENCES ci_runners (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (runner_id, project_id)
);
CREATE INDEX ci_runner_projects_project ON ci_runner_projects (project_id);

-- CI/CD variables of a project, a group, or the instance (`owner_kind` 'project' | 'group' |
-- 'instance', `owner_id` 0 for the instance).
CREATE TABLE ci_variables (
    id BIGSERIAL PRIMARY KEY,
    owner_kind TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    variable_type TEXT NOT NULL DEFAULT 'env_var',
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    masked BOOLEAN NOT NULL DEFAULT FALSE,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    raw BOOLEAN NOT NULL DEFAULT FALSE,
    environment_scope TEXT NOT NULL DEFAULT '*',
    description TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ci_variables_owner_key ON ci_variables (owner_kind, owner_id, key, environment_scope);

-- Pipeline trigger tokens of a project (digest only; `token_hint` is the first characters, for
-- lists).
CREATE TABLE ci_triggers (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    token_digest TEXT NOT NULL,
    token_hint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_used TIMESTAMP
);
CREATE UNIQUE INDEX ci_triggers_token_digest ON ci_triggers (token_digest);

-- Statuses that external systems set on commits (`POST /projects/:id/statuses/:sha`).
CREATE TABLE ci_commit_statuses (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha TEXT NOT NULL,
    ref_name TEXT,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    target_url TEXT,
    description TEXT,
    coverage DOUBLE PRECISION,
    pipeline_id BIGINT REFERENCES ci_pipelines (id) ON DELETE SET NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX ci_commit_statuses_sha ON ci_commit_statuses (project_id, sha, id);

-- Which other projects and groups may use their job tokens on `project_id` (the inbound
-- allowlist), and whether the project limits job tokens to it at all.
CREATE TABLE ci_job_token_allowlist (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source_kind TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, source_kind, source_id)
);
CREATE INDEX ci_job_token_allowlist_source ON ci_job_token_allowlist (source_kind, source_id);

CREATE TABLE ci_project_settings (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    job_token_scope_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    default_git_depth INTEGER NOT NULL DEFAULT 20,
    runner_token_generation BIGINT NOT NULL DEFAULT 0
);

-- Merge when the head pipeline succeeds.
ALTER TABLE merge_requests ADD COLUMN merge_when_pipeline_succeeds BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE merge_requests ADD COLUMN merge_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
