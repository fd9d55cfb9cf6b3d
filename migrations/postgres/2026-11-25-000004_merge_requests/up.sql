-- Merge requests: per project, numbered by `iid` from a per-project counter (never reused, even
-- after a deletion), with the source and target branch of the same project, the state
-- (opened, closed, merged), and what the merge produced.
CREATE TABLE merge_requests (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    iid BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    merge_commit_sha TEXT,
    merged_by_id BIGINT REFERENCES users (id),
    closed_by_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    merged_at TIMESTAMP,
    closed_at TIMESTAMP
);
CREATE UNIQUE INDEX merge_requests_project_iid ON merge_requests (project_id, iid);
CREATE INDEX merge_requests_project_state ON merge_requests (project_id, state);

CREATE TABLE merge_request_iid_counters (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    last_iid BIGINT NOT NULL
);

CREATE TABLE merge_request_approvals (
    merge_request_id BIGINT NOT NULL REFERENCES merge_requests (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (merge_request_id, user_id)
);
