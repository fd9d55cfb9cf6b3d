-- Protected branches: per project, a branch name or wildcard pattern with who may push and merge,
-- and whether force-pushes are allowed.
CREATE TABLE protected_branches (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    push_access_level INTEGER NOT NULL,
    merge_access_level INTEGER NOT NULL,
    allow_force_push BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX protected_branches_project_name ON protected_branches (project_id, name);
