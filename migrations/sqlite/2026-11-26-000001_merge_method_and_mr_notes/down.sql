-- SQLite cannot drop a column that is a foreign key: rebuild notes without it.
DROP INDEX notes_merge_request;
CREATE TABLE notes_without_mr (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    noteable_type TEXT NOT NULL,
    issue_id BIGINT REFERENCES issues (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    system BOOLEAN NOT NULL DEFAULT 0,
    internal BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO notes_without_mr
    SELECT id, project_id, noteable_type, issue_id, author_id, body, system, internal, created_at, updated_at
    FROM notes WHERE merge_request_id IS NULL;
DROP TABLE notes;
ALTER TABLE notes_without_mr RENAME TO notes;
CREATE INDEX notes_issue ON notes (issue_id, id);
CREATE INDEX notes_project ON notes (project_id);
ALTER TABLE projects DROP COLUMN merge_method;
