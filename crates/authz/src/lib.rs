//! Pure authorization policy for tinforge: the resource × action catalog, legacy scopes, roles,
//! boundaries, token kinds and [`decide`]. No I/O: every input arrives as plain data, so the same
//! function serves REST, GraphQL, git and the registry, and can be tested exhaustively.

pub mod catalog;
pub mod decide;
pub mod escalation;
pub mod principal;
pub mod requirement;
pub mod role;
pub mod scope;
pub mod target;
pub mod token_format;

pub use catalog::{Action, Permission, Resource};
pub use decide::{Decision, DenyReason, decide};
pub use principal::{Boundary, Grant, Principal, TokenKind};
pub use requirement::{Authenticates, Coverage, RaiseTo, Requirement, RoleRaise};
pub use role::Role;
pub use scope::LegacyScope;
pub use target::{Target, TargetKind, Visibility};
