-- The web UI's sessions, the record of what each personal access token actually used (the
-- source of over-privilege flags and of "trim to used"), and the audit log of token events.

-- A signed-in browser: the cookie holds a secret whose HMAC digest is stored here, never the
-- secret. Sign-out, expiry or a blocked user end it.
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user_id ON web_sessions (user_id);

-- One row per token x permission x target x day, counted up in place (bounded, not one row per
-- request). The target is a project or a group; 0 in both stands for "no target": a list, or a
-- resource outside projects and groups.
CREATE TABLE token_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id BIGINT NOT NULL REFERENCES personal_access_tokens (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    project_id BIGINT NOT NULL DEFAULT 0,
    group_id BIGINT NOT NULL DEFAULT 0,
    day DATE NOT NULL,
    requests BIGINT NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    UNIQUE (token_id, permission, project_id, group_id, day)
);

-- Token events: created, rotated, revoked, reuse_detected, family_revoked, trimmed, denied.
-- user_id is the token's owner; actor_id who did it (none for the server's own doing).
CREATE TABLE token_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id BIGINT NOT NULL REFERENCES personal_access_tokens (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX token_events_token_id ON token_events (token_id, id);
CREATE INDEX token_events_user_id ON token_events (user_id, id);
