//! The REST route builder: the only way to add a route takes its `Requirement`, and the same list
//! builds the actix router and the registry, so the two cannot disagree.

use crate::authorized::DenialRenderer;
use crate::registry::{Endpoint, EndpointRegistry, ResponseSchema, Surface, TargetSpec};
use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};
use tinforge_authz::Requirement;

/// Builds the actix route of one declaration for a method (GET declarations also answer HEAD).
type RouteFactory = Box<dyn Fn(Method) -> Route>;

/// Declared routes of one HTTP surface (REST, or the web pages), in routing order.
pub struct RestRoutes {
    entries: Vec<(Endpoint, RouteFactory, Option<&'static [&'static str]>)>,
    surface: Surface,
    render_denial: Option<DenialRenderer>,
}

impl Default for RestRoutes {
    fn default() -> Self {
        RestRoutes {
            entries: Vec::new(),
            surface: Surface::Rest,
            render_denial: None,
        }
    }
}

/// One route being declared; finish it with [`RouteDecl::to`].
pub struct RouteDecl<'a> {
    routes: &'a mut RestRoutes,
    method: &'static str,
    path: String,
    requirement: Requirement,
    target: TargetSpec,
    summary: &'static str,
    except_under: Option<&'static [&'static str]>,
    response: Option<ResponseSchema>,
}

impl RestRoutes {
    /// Routes of another HTTP surface, whose denials `render_denial` answers.
    pub fn for_surface(surface: Surface, render_denial: DenialRenderer) -> Self {
        RestRoutes {
            entries: Vec::new(),
            surface,
            render_denial: Some(render_denial),
        }
    }

    /// Adds these routes' endpoints to a registry that already holds other surfaces' ones.
    pub fn declare_into(&self, registry: &mut EndpointRegistry) -> Result<(), String> {
        for (endpoint, _, _) in &self.entries {
            registry.add(endpoint.clone())?;
        }
        self_check(&self.entries.iter().map(|e| &e.0).collect::<Vec<_>>())
    }

    /// Starts declaring `method path` with the requirement it needs.
    pub fn route(
        &mut self,
        method: &'static str,
        path: &str,
        requirement: Requirement,
    ) -> RouteDecl<'_> {
        RouteDecl {
            routes: self,
            method,
            path: path.to_string(),
            requirement,
            target: TargetSpec::None,
            summary: "",
            except_under: None,
            response: None,
        }
    }

    /// Builds the registry and checks that the router (resource order, patterns) sends a sample
    /// request of every endpoint to that endpoint, so router and registry agree.
    pub fn registry(&self) -> Result<EndpointRegistry, String> {
        let mut registry = EndpointRegistry::default();
        self.declare_into(&mut registry)?;
        Ok(registry)
    }

    /// Registers every route into an actix service config, grouped by path in declaration order, each
    /// behind the gate.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let mut paths: Vec<&str> = Vec::new();
        for (e, _, _) in &self.entries {
            if !paths.contains(&e.path.as_str()) {
                paths.push(&e.path);
            }
        }
        for path in paths {
            let mut resource = web::resource(path);
            let mut except: Option<&'static [&'static str]> = None;
            for (e, make, except_under) in self.entries.iter().filter(|(e, _, _)| e.path == path) {
                let method = Method::from_bytes(e.method.as_bytes()).unwrap_or(Method::GET);
                if method == Method::GET {
                    resource = resource.route(make(Method::HEAD));
                }
                resource = resource.route(make(method));
                except = except.or(*except_under);
            }
            if let Some(prefixes) = except {
                resource = resource.guard(actix_web::guard::fn_guard(move |ctx| {
                    let path = ctx.head().uri.path();
                    !prefixes.iter().any(|p| path.starts_with(p))
                }));
            }
            // The gate runs before any handler of a declared route, whatever the handler extracts.
            let render = self.render_denial;
            cfg.service(resource.wrap(actix_web::middleware::from_fn(
                move |req, next: actix_web::middleware::Next<_>| {
                    crate::authorized::gate_rendering(req, next, render)
                },
            )));
        }
    }
}

impl RouteDecl<'_> {
    /// The project named by path parameter `param` is the target.
    pub fn project(mut self, param: &'static str) -> Self {
        self.target = TargetSpec::Project(param);
        self
    }

    /// The project that holds the container repository whose id is path parameter `param` is
    /// the target (an unknown id is not visible, exactly like an invisible one).
    pub fn container_repository(mut self, param: &'static str) -> Self {
        self.target = TargetSpec::ContainerRepository(param);
        self
    }

    /// The target is named by request parameter `param` and judged by the handler through
    /// [`crate::Judge::authorize_on`] once it has resolved it.
    pub fn resolved_target(mut self, param: &'static str) -> Self {
        self.target = TargetSpec::Resolved(param);
        self
    }

    /// A list without a target: every item is judged on its own, anonymous callers see public items.
    pub fn list(mut self) -> Self {
        self.target = TargetSpec::List;
        self
    }

    /// The group named by path parameter `param` is the target.
    pub fn group(mut self, param: &'static str) -> Self {
        self.target = TargetSpec::Group(param);
        self
    }

    /// A catch-all pattern (a project page at `/{project_path:.+}`) that leaves paths under
    /// these prefixes to the services after it (the API's own 404, for instance).
    pub fn except_under(mut self, prefixes: &'static [&'static str]) -> Self {
        self.except_under = Some(prefixes);
        self
    }

    pub fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    /// A success answers with one `T` (its schema goes into the OpenAPI document).
    pub fn returns<T: utoipa::ToSchema>(mut self) -> Self {
        self.response = Some(ResponseSchema::of::<T>(false));
        self
    }

    /// A success answers with a JSON array of `T`.
    pub fn returns_list<T: utoipa::ToSchema>(mut self) -> Self {
        self.response = Some(ResponseSchema::of::<T>(true));
        self
    }

    /// Finishes the declaration with its handler.
    pub fn to<F, Args>(self, handler: F)
    where
        F: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let factory: RouteFactory =
            Box::new(move |method| web::route().method(method).to(handler.clone()));
        let endpoint = Endpoint {
            surface: self.routes.surface,
            method: self.method,
            path: self.path,
            requirement: self.requirement,
            target: self.target,
            summary: self.summary,
            response: self.response,
        };
        self.routes
            .entries
            .push((endpoint, factory, self.except_under));
    }
}

/// For each endpoint, a sample path (parameters filled in) must be matched first by its own
/// pattern among the endpoints of the same method, in routing order.
fn self_check(endpoints: &[&Endpoint]) -> Result<(), String> {
    let defs: Vec<(usize, ResourceDef)> = endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (i, ResourceDef::new(e.path.as_str())))
        .collect();
    for (i, e) in endpoints.iter().enumerate() {
        let sample = sample_path(&e.path);
        let first = defs
            .iter()
            .filter(|(j, _)| endpoints[*j].method == e.method)
            .find(|(_, d)| d.is_match(&sample))
            .map(|(j, _)| *j);
        if first != Some(i) {
            let other = first
                .map(|j| endpoints[j].path.as_str())
                .unwrap_or("nothing");
            return Err(format!(
                "router and registry disagree: {} {} is routed to {other}",
                e.method, e.path
            ));
        }
    }
    Ok(())
}

/// `/users/{id}/x` → `/users/4242/x`.
pub(crate) fn sample_path(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in pattern.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push_str("4242");
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinforge_authz::require;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    fn a_shadowed_route_fails_the_self_check() {
        let mut routes = RestRoutes::default();
        routes
            .route("GET", "/t/self", require!(personal_access_token:read))
            .to(ok);
        routes
            .route("GET", "/t/{id}", require!(personal_access_token:read))
            .to(ok);
        assert!(routes.registry().is_ok());
        let mut routes = RestRoutes::default();
        routes
            .route("GET", "/t/{id}", require!(personal_access_token:read))
            .to(ok);
        routes
            .route("GET", "/t/self", require!(personal_access_token:read))
            .to(ok);
        assert!(
            routes
                .registry()
                .unwrap_err()
                .contains("/t/self is routed to /t/{id}")
        );
        let mut routes = RestRoutes::default();
        routes
            .route("GET", "/t/{id}", require!(personal_access_token:read))
            .to(ok);
        routes
            .route("GET", "/t/{id}", require!(personal_access_token:update))
            .to(ok);
        assert!(routes.registry().unwrap_err().contains("declared twice"));
        let mut routes = RestRoutes::default();
        routes
            .route("GET", "/t/{any:.*}", require!(personal_access_token:read))
            .to(ok);
        routes
            .route(
                "GET",
                "/t/{id}/rotate",
                require!(personal_access_token:read),
            )
            .to(ok);
        assert!(routes.registry().unwrap_err().contains("disagree"));
    }
}
