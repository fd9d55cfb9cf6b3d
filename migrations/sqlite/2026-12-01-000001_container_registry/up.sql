-- The container registry's metadata. Blob contents live in the blob store (content-addressed,
-- shared across projects); these tables say which repository may serve which blob, which
-- manifests and tags each repository holds, and which uploads are in flight.

-- An image repository of a project: `name` is the path below the project ('' for the image
-- named like the project itself, `tools/builder` for acme/app/tools/builder).
CREATE TABLE container_repositories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX container_repositories_project_name ON container_repositories (project_id, name);

-- A blob in the blob store, once: `touched_at` is refreshed by every upload that commits it, so
-- garbage collection never takes a blob that a push is about to reference.
CREATE TABLE registry_blobs (
    digest TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    touched_at TIMESTAMP NOT NULL
);

-- Which repository may serve which blob (uploaded there or mounted into it). Access is judged per
-- repository through these links, never by a blob's existence elsewhere.
CREATE TABLE registry_repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES container_repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL REFERENCES registry_blobs (digest),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX registry_repository_blobs_digest ON registry_repository_blobs (digest);

-- A manifest, byte for byte as pushed, with what the referrers API and GitLab's API read off it.
CREATE TABLE registry_manifests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository_id BIGINT NOT NULL REFERENCES container_repositories (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    artifact_type TEXT,
    subject_digest TEXT,
    config_digest TEXT,
    annotations TEXT,
    size BIGINT NOT NULL,
    total_size BIGINT NOT NULL,
    content BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX registry_manifests_repository_digest ON registry_manifests (repository_id, digest);
CREATE INDEX registry_manifests_subject ON registry_manifests (repository_id, subject_digest);

-- What a manifest names: blobs (config, layers) and, for an index, child manifests.
CREATE TABLE registry_manifest_references (
    manifest_id BIGINT NOT NULL REFERENCES registry_manifests (id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (manifest_id, digest, kind)
);
CREATE INDEX registry_manifest_references_digest ON registry_manifest_references (digest);

CREATE TABLE registry_tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository_id BIGINT NOT NULL REFERENCES container_repositories (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    manifest_id BIGINT NOT NULL REFERENCES registry_manifests (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX registry_tags_repository_name ON registry_tags (repository_id, name);
CREATE INDEX registry_tags_manifest ON registry_tags (manifest_id);

-- An upload session: its bytes are staged outside the blob store until the digest is verified.
CREATE TABLE registry_uploads (
    id TEXT PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES container_repositories (id) ON DELETE CASCADE,
    size BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
