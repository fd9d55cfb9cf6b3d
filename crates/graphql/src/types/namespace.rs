//! `Namespace`: where a project lives, a group or a user's personal namespace.

use super::scalars::gid;
use async_graphql::{ID, SimpleObject};
use tinforge_store::namespaces::{KIND_GROUP, NamespaceInfo};

/// A namespace: a group, or a user's personal namespace.
#[derive(SimpleObject, Debug, Clone)]
pub struct Namespace {
    /// Global ID (`gid://gitlab/Group/2` or `gid://gitlab/Namespaces::UserNamespace/3`).
    pub id: ID,
    /// Name of the group, or the user's name.
    pub name: String,
    /// Path of the namespace.
    pub path: String,
    /// Full name (`Group / Subgroup`).
    pub full_name: String,
    /// Full path (`group/subgroup`, or the username).
    pub full_path: String,
    /// Web URL of the namespace.
    pub web_url: String,
}

impl Namespace {
    pub fn new(ns: &NamespaceInfo, base: &str) -> Self {
        let group = ns.kind == KIND_GROUP;
        Namespace {
            id: gid(
                if group {
                    "Group"
                } else {
                    "Namespaces::UserNamespace"
                },
                ns.id,
            ),
            name: ns.name.clone(),
            path: ns.path.clone(),
            full_name: ns.full_name.clone(),
            full_path: ns.full_path.clone(),
            web_url: if group {
                format!("{base}/groups/{}", ns.full_path)
            } else {
                format!("{base}/{}", ns.full_path)
            },
        }
    }
}
