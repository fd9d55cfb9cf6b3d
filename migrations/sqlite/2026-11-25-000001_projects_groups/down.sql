DROP INDEX token_grant_targets_group_id;
DROP INDEX token_grant_targets_project_id;
DROP INDEX groups_visibility;
DROP INDEX projects_creator_id;
DROP INDEX projects_visibility;
ALTER TABLE members DROP COLUMN expires_at;
DROP TABLE namespaces;
