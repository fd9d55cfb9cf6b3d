DROP INDEX notes_merge_request;
ALTER TABLE notes DROP COLUMN merge_request_id;
ALTER TABLE projects DROP COLUMN merge_method;
