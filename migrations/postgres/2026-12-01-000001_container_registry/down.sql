DROP TABLE registry_uploads;
DROP TABLE registry_tags;
DROP TABLE registry_manifest_references;
DROP TABLE registry_manifests;
DROP TABLE registry_repository_blobs;
DROP TABLE registry_blobs;
DROP TABLE container_repositories;
