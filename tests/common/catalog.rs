//! The permission vocabulary the authorization matrices try (REST/GraphQL and registry): every
//! legacy scope and every grantable fine-grained permission, written out here rather than read
//! from the server, so the matrices check the server against permissions.md.

/// Every legacy scope, each tried alone.
pub const SCOPES: [&str; 12] = [
    "api",
    "read_api",
    "read_user",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "create_runner",
    "manage_runner",
    "self_rotate",
    "sudo",
    "admin_mode",
];

/// Every grantable fine-grained permission.
pub fn all_permissions() -> Vec<String> {
    let resources = [
        "project",
        "group",
        "member",
        "issue",
        "merge_request",
        "pipeline",
        "repository",
        "container_registry",
        "personal_access_token",
        "runner",
    ];
    let mut all: Vec<String> = resources
        .iter()
        .flat_map(|r| ["create", "read", "update", "delete"].map(|a| format!("{r}:{a}")))
        .collect();
    all.push("user:read".into());
    all.push("user:update".into());
    all
}
