//! The endpoint registry: every endpoint of every surface with its declared `Requirement`. It is
//! data, built once at start-up, and the single source of enforcement and of every report.

use std::collections::HashMap;
use tinforge_authz::{Coverage, Requirement};

/// The API surface an endpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Surface {
    Rest,
    Graphql,
    Git,
    Registry,
    /// Server-rendered pages, authenticated by the session cookie only.
    Web,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Rest => "rest",
            Surface::Graphql => "graphql",
            Surface::Git => "git",
            Surface::Registry => "registry",
            Surface::Web => "web",
        }
    }
}

/// What an endpoint acts on: nothing in particular, the project or group a path parameter names,
/// or a list of items that each get judged on their own (anonymous callers see public items).
/// A container image name (`acme/app/tools/builder`) or a container repository id stands for the
/// project that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSpec {
    None,
    List,
    Project(&'static str),
    Group(&'static str),
    Image(&'static str),
    ContainerRepository(&'static str),
}

impl TargetSpec {
    /// The path parameter that names the target.
    pub fn param(self) -> Option<&'static str> {
        match self {
            TargetSpec::Project(p)
            | TargetSpec::Group(p)
            | TargetSpec::Image(p)
            | TargetSpec::ContainerRepository(p) => Some(p),
            TargetSpec::None | TargetSpec::List => None,
        }
    }

    /// The kind of target it resolves to.
    pub fn kind(self) -> Option<tinforge_authz::TargetKind> {
        match self {
            TargetSpec::Group(_) => Some(tinforge_authz::TargetKind::Group),
            TargetSpec::None | TargetSpec::List => None,
            _ => Some(tinforge_authz::TargetKind::Project),
        }
    }
}

/// One declared endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub surface: Surface,
    /// HTTP method for REST/git/registry, `query`/`mutation` for GraphQL.
    pub method: &'static str,
    /// Route pattern (`/api/v4/personal_access_tokens/{id}`) or GraphQL field (`Project.issues`).
    pub path: String,
    pub requirement: Requirement,
    pub target: TargetSpec,
    pub summary: &'static str,
    /// The typed body a success answers with, for the OpenAPI document (REST only).
    pub response: Option<ResponseSchema>,
}

/// The schema of an endpoint's success body: one `T` or a list of them, `T` a
/// `utoipa::ToSchema` view.
#[derive(Clone, Copy)]
pub struct ResponseSchema {
    /// `T`'s component name.
    pub name: fn() -> std::borrow::Cow<'static, str>,
    /// `T`'s own schema.
    pub schema: fn() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    /// The schemas `T` refers to, by name.
    pub referenced: fn(&mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>),
    /// A JSON array of `T`.
    pub list: bool,
}

impl ResponseSchema {
    pub fn of<T: utoipa::ToSchema>(list: bool) -> Self {
        ResponseSchema {
            name: T::name,
            schema: <T as utoipa::PartialSchema>::schema,
            referenced: T::schemas,
            list,
        }
    }
}

impl std::fmt::Debug for ResponseSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", (self.name)(), if self.list { "[]" } else { "" })
    }
}

impl Endpoint {
    pub fn is_covered(&self) -> bool {
        self.requirement.coverage == Coverage::Covered
    }
}

/// All endpoints, in registration (= routing) order, with a lookup by method and pattern.
#[derive(Debug, Default, Clone)]
pub struct EndpointRegistry {
    endpoints: Vec<Endpoint>,
    index: HashMap<(String, String), usize>,
}

impl EndpointRegistry {
    /// Adds an endpoint; a second declaration of the same method and path is refused.
    pub fn add(&mut self, endpoint: Endpoint) -> Result<(), String> {
        let key = (endpoint.method.to_string(), endpoint.path.clone());
        if self.index.contains_key(&key) {
            return Err(format!("endpoint declared twice: {} {}", key.0, key.1));
        }
        if endpoint.requirement.permissions.is_empty() {
            return Err(format!("endpoint without permissions: {} {}", key.0, key.1));
        }
        self.index.insert(key, self.endpoints.len());
        self.endpoints.push(endpoint);
        Ok(())
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint for a matched route; HEAD is answered by the GET declaration.
    pub fn lookup(&self, method: &str, path: &str) -> Option<&Endpoint> {
        let method = if method == "HEAD" { "GET" } else { method };
        self.index
            .get(&(method.to_string(), path.to_string()))
            .map(|i| &self.endpoints[*i])
    }

    /// The REST, git or registry endpoint that a concrete request path reaches, with the path
    /// parameters it binds, in routing order (the same order the router uses).
    pub fn match_path(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&Endpoint, Vec<(String, String)>)> {
        let method = if method.eq_ignore_ascii_case("HEAD") {
            "GET".to_string()
        } else {
            method.to_ascii_uppercase()
        };
        self.endpoints
            .iter()
            // Web pages take the session cookie only: no token request reaches them.
            .filter(|e| !matches!(e.surface, Surface::Graphql | Surface::Web) && e.method == method)
            .find_map(|e| bind_path(&e.path, path).map(|params| (e, params)))
    }

    /// The declaration of a GraphQL field (`Project.issues`, `Mutation.createIssue`).
    pub fn graphql_field(&self, field: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.surface == Surface::Graphql && e.path == field)
    }

    /// Operator setting: marks endpoints as not accepting fine-grained tokens. Each entry is
    /// `METHOD /path` (REST, git, registry) or a GraphQL field (`Project.issues`). Unknown entries
    /// are returned so the caller can refuse to start.
    pub fn mark_not_covered(&mut self, entries: &[String]) -> Vec<String> {
        let mut unknown = Vec::new();
        for entry in entries {
            let hit = self.endpoints.iter_mut().filter(|e| {
                let rest = format!("{} {}", e.method, e.path);
                *entry == rest || *entry == e.path
            });
            let mut found = false;
            for e in hit {
                e.requirement.coverage = Coverage::NotCovered;
                found = true;
            }
            if !found {
                unknown.push(entry.clone());
            }
        }
        unknown
    }
}

/// Binds a concrete path (with an optional query) to a declared one. A declared query
/// (`…/info/refs?service=git-upload-pack`) must be present in the concrete query; git's
/// `{project_path}` spans slashes (`group/sub/project`), as the git router's does.
fn bind_path(declared: &str, concrete: &str) -> Option<Vec<(String, String)>> {
    let (declared_path, declared_query) = split_query(declared);
    let (concrete_path, concrete_query) = split_query(concrete);
    if let Some(wanted) = declared_query {
        let given: Vec<&str> = concrete_query.unwrap_or_default().split('&').collect();
        if !wanted.split('&').all(|pair| given.contains(&pair)) {
            return None;
        }
    }
    // Git's project paths and container image names span slashes.
    let pattern = declared_path
        .replace("{project_path}", "{project_path:.+}")
        .replace("{image_name}", "{image_name:.+}");
    let def = actix_web::dev::ResourceDef::new(pattern);
    let mut target = actix_web::dev::Path::new(concrete_path.to_string());
    def.capture_match_info(&mut target).then(|| {
        target
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn split_query(path: &str) -> (&str, Option<&str>) {
    match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    }
}

#[cfg(test)]
mod bind_tests {
    use super::bind_path;

    #[test]
    fn git_paths_bind_nested_projects_and_their_service() {
        let refs = "/{project_path}.git/info/refs?service=git-upload-pack";
        let bound = bind_path(refs, "/a/b/c.git/info/refs?service=git-upload-pack").unwrap();
        assert_eq!(
            bound,
            vec![("project_path".to_string(), "a/b/c".to_string())]
        );
        assert!(bind_path(refs, "/a/c.git/info/refs?service=git-receive-pack").is_none());
        assert!(bind_path(refs, "/a/c.git/info/refs").is_none());
        let push = "/{project_path}.git refs create";
        assert!(bind_path(push, "/a/c.git refs create").is_some());
        let rest = "/api/v4/projects/{id}/issues";
        let bound = bind_path(rest, "/api/v4/projects/7/issues?state=opened").unwrap();
        assert_eq!(bound, vec![("id".to_string(), "7".to_string())]);
        assert!(bind_path(rest, "/api/v4/projects/a/b/issues").is_none());
    }
}
