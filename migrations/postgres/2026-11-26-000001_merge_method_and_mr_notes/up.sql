-- A project's merge method (merge, rebase_merge, ff), and notes on merge requests.
ALTER TABLE projects ADD COLUMN merge_method TEXT NOT NULL DEFAULT 'merge';

ALTER TABLE notes ADD COLUMN merge_request_id BIGINT REFERENCES merge_requests (id) ON DELETE CASCADE;
CREATE INDEX notes_merge_request ON notes (merge_request_id, id);
