DROP TABLE instance_secrets;
DROP TABLE token_grant_targets;
DROP TABLE token_grants;
DROP TABLE personal_access_tokens;
DROP TABLE members;
DROP TABLE projects;
DROP TABLE "groups";
DROP TABLE users;
