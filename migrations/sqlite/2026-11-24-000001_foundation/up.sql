-- Foundation: users, groups, projects, memberships, personal access tokens and their grants.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'active',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE "groups" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    full_path TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES "groups" (id) ON DELETE CASCADE,
    visibility TEXT NOT NULL DEFAULT 'private',
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX groups_parent_id ON "groups" (parent_id);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    full_path TEXT NOT NULL UNIQUE,
    group_id BIGINT REFERENCES "groups" (id) ON DELETE CASCADE,
    owner_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    visibility TEXT NOT NULL DEFAULT 'private',
    description TEXT NOT NULL DEFAULT '',
    default_branch TEXT NOT NULL DEFAULT 'main',
    creator_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    CHECK ((group_id IS NULL) <> (owner_id IS NULL))
);
CREATE INDEX projects_group_id ON projects (group_id);
CREATE INDEX projects_owner_id ON projects (owner_id);

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES "groups" (id) ON DELETE CASCADE,
    access_level INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK ((project_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX members_project_user ON members (project_id, user_id);
CREATE UNIQUE INDEX members_group_user ON members (group_id, user_id);
CREATE INDEX members_user_id ON members (user_id);

CREATE TABLE personal_access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    expires_at DATE NOT NULL,
    last_used_at TIMESTAMP,
    last_used_ips TEXT NOT NULL DEFAULT '',
    revoked_at TIMESTAMP,
    family_id BIGINT,
    rotated_to_id BIGINT
);
CREATE INDEX personal_access_tokens_user_id ON personal_access_tokens (user_id);
CREATE INDEX personal_access_tokens_family_id ON personal_access_tokens (family_id);

CREATE TABLE token_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id BIGINT NOT NULL REFERENCES personal_access_tokens (id) ON DELETE CASCADE,
    boundary TEXT NOT NULL,
    permissions TEXT NOT NULL
);
CREATE INDEX token_grants_token_id ON token_grants (token_id);

CREATE TABLE token_grant_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id BIGINT NOT NULL REFERENCES token_grants (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES "groups" (id) ON DELETE CASCADE,
    CHECK ((project_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX token_grant_targets_grant_id ON token_grant_targets (grant_id);

CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
