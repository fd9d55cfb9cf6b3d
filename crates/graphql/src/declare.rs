//! The one declaration mechanism of the GraphQL surface. Every field that reaches data is written
//! inside [`declared_fields!`] with `#[declare("Type.field", need(resource:action, …), target)]`;
//! from that single declaration the macro emits
//! - the guard ([`crate::guard::FieldGuard`]), which looks the requirement up in the endpoint
//!   registry at run time (so the operator's not-covered setting applies) and calls the gate's
//!   `enforce` with the field's target,
//! - one `@requiresPermission(resource:, action:)` directive per permission, in the SDL,
//! - an entry of the type's `DECLARATIONS` list, which [`crate::declare_endpoints`] adds to the
//!   registry (coverage report, `TINFORGE_NOT_COVERED`).
//!
//! A test compares the SDL with the declarations: a Query or Mutation field without a directive,
//! or a directive that disagrees with its declaration, fails it.

use async_graphql::TypeDirective;
use tinforge_authz::Requirement;
use tinforge_gate::{Endpoint, EndpointRegistry, Surface, TargetSpec};

/// What a declared field's decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTarget {
    /// No project or group (`currentUser`, creating a top-level group).
    None,
    /// A list whose items are judged one by one with the caller's eyes: a token needs the
    /// permission, an anonymous caller gets the public view.
    Each,
    /// The object the field belongs to (`Group.projects`: that group).
    Parent,
    /// The project whose full path is this argument (`fullPath`, or `input.projectPath`).
    Project(&'static str),
    /// The group named by this argument; when the argument is absent, no target.
    Group(&'static str),
    /// A namespace named by this argument: a group, or the caller's own user namespace (absent
    /// or the caller's username: no target).
    Namespace(&'static str),
    /// The project of the issue whose global id (`gid://gitlab/Issue/N`) is this argument.
    IssueProject(&'static str),
    /// The project of the note whose global id (`gid://gitlab/Note/N`) is this argument.
    NoteProject(&'static str),
    /// The project of the container repository whose global id
    /// (`gid://gitlab/ContainerRepository/N`) is this argument.
    ContainerRepositoryProject(&'static str),
    /// The project of the pipeline whose global id (`gid://gitlab/Ci::Pipeline/N`) is this
    /// argument.
    PipelineProject(&'static str),
}

/// One declared GraphQL field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDecl {
    /// `Type.field`, the registry path (`Query.project`, `Group.projects`, `Mutation.groupCreate`).
    pub path: &'static str,
    pub requirement: Requirement,
    pub target: FieldTarget,
    /// The field's doc comment (the SDL description); its first line is the registry summary.
    pub doc: &'static str,
}

impl FieldDecl {
    /// `mutation` for `Mutation.*`, `query` for every other field.
    pub fn operation(&self) -> &'static str {
        if self.path.starts_with("Mutation.") {
            "mutation"
        } else {
            "query"
        }
    }

    pub fn is_mutation(&self) -> bool {
        self.operation() == "mutation"
    }

    /// The registry's view of the target: the argument naming it, or `self` for the parent.
    pub fn target_spec(&self) -> TargetSpec {
        let parent_is_group = self.path.starts_with("Group.");
        match self.target {
            FieldTarget::None => TargetSpec::None,
            FieldTarget::Each => TargetSpec::List,
            FieldTarget::Parent if parent_is_group => TargetSpec::Group("self"),
            FieldTarget::Parent => TargetSpec::Project("self"),
            FieldTarget::Project(arg)
            | FieldTarget::IssueProject(arg)
            | FieldTarget::NoteProject(arg)
            | FieldTarget::PipelineProject(arg) => TargetSpec::Project(arg),
            FieldTarget::ContainerRepositoryProject(arg) => TargetSpec::ContainerRepository(arg),
            FieldTarget::Group(arg) | FieldTarget::Namespace(arg) => TargetSpec::Group(arg),
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            surface: Surface::Graphql,
            method: self.operation(),
            path: self.path.to_string(),
            requirement: self.requirement,
            target: self.target_spec(),
            summary: self.doc.trim().lines().next().unwrap_or("").trim(),
            response: None,
        }
    }
}

/// The permission a field needs (`resource:action`, as in fine-grained token grants and the
/// coverage report); a field that needs several carries one directive per permission.
#[TypeDirective(name = "requiresPermission", location = "FieldDefinition", repeatable)]
pub fn requires_permission(resource: String, action: String) {}

/// Adds declarations to a registry; a path declared twice is refused.
pub fn add_all(registry: &mut EndpointRegistry, decls: &[FieldDecl]) -> Result<(), String> {
    for decl in decls {
        registry.add(decl.endpoint())?;
    }
    Ok(())
}

/// Writes an `impl` of GraphQL fields that each carry a declaration:
///
/// ```ignore
/// declared_fields! {
///     #[Object(name = "Query")]
///     impl QueryRoot {
///         /// A project by its full path.
///         #[declare("Query.project", need(project:read), FieldTarget::Project("fullPath"))]
///         async fn project(&self, ctx: &Context<'_>, full_path: ID) -> Result<Option<Project>> {…}
///     }
/// }
/// ```
///
/// Inside the body, `FIELD` is the field's registry path. `need(…)` takes `resource:action` pairs and optional `Requirement` modifiers
/// (`need(project:create).min_role(Role::Developer)`); `graphql(…)` passes further options to
/// async-graphql's field attribute. The type must implement [`crate::guard::Parent`].
macro_rules! declared_fields {
    (
        $(#[$attr:meta])*
        impl $ty:ident {
            $(
                $(#[doc = $doc:literal])*
                #[declare(
                    $path:literal,
                    need($($res:ident : $act:ident),+ $(,)?) $(. $modifier:ident ( $($marg:expr),* ))*,
                    $target:expr
                    $(, graphql($($opt:tt)*))?
                    $(,)?
                )]
                async fn $name:ident ( $($params:tt)* ) -> $ret:ty $body:block
            )*
        }
    ) => {
        $(#[$attr])*
        impl $ty {
            $(
                $(#[doc = $doc])*
                #[graphql(
                    guard = $crate::guard::FieldGuard::new(
                        $path,
                        $target,
                        $crate::guard::Parent::parent_target(self),
                    ),
                    $(directive = $crate::declare::requires_permission::apply(
                        ::std::string::String::from(stringify!($res)),
                        ::std::string::String::from(stringify!($act)),
                    ),)+
                    $($($opt)*)?
                )]
                // GraphQL arguments (filters, `first`/`after`/`last`/`before`) are parameters.
                #[allow(clippy::too_many_arguments)]
                async fn $name($($params)*) -> $ret {
                    // This field's registry path (its requirement: `RequestScope::requirement`).
                    #[allow(dead_code)]
                    const FIELD: &str = $path;
                    $body
                }
            )*
        }

        impl $ty {
            /// The declared data-reaching fields of this type.
            pub const DECLARATIONS: &'static [$crate::declare::FieldDecl] = &[
                $($crate::declare::FieldDecl {
                    path: $path,
                    requirement: ::tinforge_authz::require!($($res : $act),+)
                        $(. $modifier($($marg),*))*,
                    target: $target,
                    doc: concat!($($doc, "\n"),*),
                },)*
            ];
        }
    };
}

pub(crate) use declared_fields;
