-- Namespaces: one id space shared by users' personal namespaces and groups, as GitLab's
-- `namespace_id` expects. A group's namespace id is the group's id; a user's personal namespace
-- gets its own id from the same sequence.
CREATE TABLE namespaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    path TEXT NOT NULL,
    full_path TEXT NOT NULL UNIQUE,
    user_id BIGINT UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT UNIQUE REFERENCES "groups" (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    CHECK (user_id IS NULL OR group_id IS NULL)
);
INSERT INTO namespaces (id, kind, path, full_path, group_id, created_at)
    SELECT id, 'group', path, full_path, id, created_at FROM "groups";
INSERT INTO namespaces (kind, path, full_path, user_id, created_at)
    SELECT 'user', username, username, id, created_at FROM users;

-- Memberships may expire (GitLab's `expires_at`); an expired membership grants nothing.
ALTER TABLE members ADD COLUMN expires_at DATE;

-- What lists filter on, and what cascading deletes look up.
CREATE INDEX projects_visibility ON projects (visibility);
CREATE INDEX projects_creator_id ON projects (creator_id);
CREATE INDEX groups_visibility ON "groups" (visibility);
CREATE INDEX token_grant_targets_project_id ON token_grant_targets (project_id);
CREATE INDEX token_grant_targets_group_id ON token_grant_targets (group_id);
