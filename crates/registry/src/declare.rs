//! Every registry action, declared in the gate's endpoint registry (surface `registry`): the
//! coverage report, explain, the matrix and the enforcement below all read these.

use tinforge_authz::{Requirement, Role, require};
use tinforge_gate::{Endpoint, EndpointRegistry, Surface, TargetSpec};

/// A declared registry action: (method, path) as keyed in the registry.
pub type Key = (&'static str, &'static str);

pub const BASE: Key = ("GET", "/v2/");
pub const CATALOG: Key = ("GET", "/v2/_catalog");
pub const TAGS: Key = ("GET", "/v2/{image_name}/tags/list");
pub const MANIFEST_GET: Key = ("GET", "/v2/{image_name}/manifests/{reference}");
pub const BLOB_GET: Key = ("GET", "/v2/{image_name}/blobs/{digest}");
pub const REFERRERS: Key = ("GET", "/v2/{image_name}/referrers/{digest}");
pub const UPLOAD_START: Key = ("POST", "/v2/{image_name}/blobs/uploads/");
pub const UPLOAD_CHUNK: Key = ("PATCH", "/v2/{image_name}/blobs/uploads/{session}");
pub const UPLOAD_FINISH: Key = ("PUT", "/v2/{image_name}/blobs/uploads/{session}");
pub const UPLOAD_STATUS: Key = ("GET", "/v2/{image_name}/blobs/uploads/{session}");
pub const UPLOAD_CANCEL: Key = ("DELETE", "/v2/{image_name}/blobs/uploads/{session}");
pub const MANIFEST_PUT: Key = ("PUT", "/v2/{image_name}/manifests/{reference}");
/// Not a route of its own: a manifest PUT whose tag already names another manifest.
pub const TAG_MOVE: Key = (
    "PUT",
    "/v2/{image_name}/manifests/{reference} (existing tag)",
);
pub const MANIFEST_DELETE: Key = ("DELETE", "/v2/{image_name}/manifests/{reference}");
pub const BLOB_DELETE: Key = ("DELETE", "/v2/{image_name}/blobs/{digest}");

/// The image name path parameter.
pub const IMAGE: TargetSpec = TargetSpec::Image("image_name");

/// Pulling takes Reporter on private projects (anyone on public ones).
pub const READ: Requirement = require!(container_registry:read).min_role(Role::Reporter);
pub const CREATE: Requirement = require!(container_registry:create).min_role(Role::Developer);
pub const UPDATE: Requirement = require!(container_registry:update).min_role(Role::Developer);
pub const DELETE: Requirement = require!(container_registry:delete).min_role(Role::Maintainer);

/// Adds the registry actions to the endpoint registry.
pub fn declare_registry(registry: &mut EndpointRegistry) -> Result<(), String> {
    let declarations: [(Key, Requirement, TargetSpec, &'static str); 15] = [
        (
            BASE,
            require!(container_registry:read),
            TargetSpec::None,
            "Base check and login (any registry token; a personal access token needs container_registry:read)",
        ),
        (
            CATALOG,
            require!(container_registry:read),
            TargetSpec::List,
            "Catalog: the repositories the caller may pull from",
        ),
        (TAGS, READ, IMAGE, "List an image's tags"),
        (
            MANIFEST_GET,
            READ,
            IMAGE,
            "Pull a manifest by tag or digest",
        ),
        (BLOB_GET, READ, IMAGE, "Pull a blob (with ranges)"),
        (REFERRERS, READ, IMAGE, "Referrers of a manifest"),
        (
            UPLOAD_START,
            CREATE,
            IMAGE,
            "Push a blob: start an upload, single POST, or mount",
        ),
        (UPLOAD_CHUNK, CREATE, IMAGE, "Push a blob: send a chunk"),
        (
            UPLOAD_FINISH,
            CREATE,
            IMAGE,
            "Push a blob: finish the upload",
        ),
        (UPLOAD_STATUS, CREATE, IMAGE, "Push a blob: upload status"),
        (
            UPLOAD_CANCEL,
            CREATE,
            IMAGE,
            "Push a blob: cancel the upload",
        ),
        (
            MANIFEST_PUT,
            CREATE,
            IMAGE,
            "Push a manifest by digest or to a new tag",
        ),
        (
            TAG_MOVE,
            UPDATE,
            IMAGE,
            "Move an existing tag to another manifest",
        ),
        (
            MANIFEST_DELETE,
            DELETE,
            IMAGE,
            "Delete a manifest (by digest) or a tag",
        ),
        (
            BLOB_DELETE,
            DELETE,
            IMAGE,
            "Delete a blob from an image repository",
        ),
    ];
    for ((method, path), requirement, target, summary) in declarations {
        registry.add(Endpoint {
            surface: Surface::Registry,
            method,
            path: path.to_string(),
            requirement,
            target,
            summary,
            response: None,
        })?;
    }
    Ok(())
}
