//! GraphQL errors of the surface: a denied field is `null` with an error whose `extensions.code`
//! is the deny reason; an invisible object is `null` with no error at all (the HTTP layer drops
//! errors marked [`Hidden`] before answering), exactly as when it does not exist.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{Error, ErrorExtensions, ServerError, ServerResult, Value};
use std::sync::{Arc, Mutex};
use tinforge_authz::{DenyReason, Requirement};
use tinforge_store::StoreError;

/// GitLab's message for a mutation on a missing or forbidden object.
pub const RESOURCE_NOT_AVAILABLE: &str = "The resource that you are attempting to access does not \
     exist or you don't have permission to perform this action";

/// Marks an error that must not reach the client: the field is simply `null`.
#[derive(Debug, Clone, Copy)]
pub struct Hidden;

impl std::fmt::Display for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not visible")
    }
}

/// The field resolves to `null` without an error.
pub fn hidden() -> Error {
    Error::new_with_source(Hidden)
}

/// The error of a denied field, `extensions.code` being the deny reason's code.
pub fn denied(reason: &DenyReason, requirement: &Requirement, on: Option<&str>) -> Error {
    let on = on.map(|t| format!(" on {t}")).unwrap_or_default();
    let required: Vec<String> = requirement
        .permissions
        .iter()
        .map(|p| p.to_string())
        .collect();
    let message = match reason {
        DenyReason::InsufficientScope { missing } => {
            format!("This operation needs {}{on}", missing.join(" and "))
        }
        DenyReason::OutsideBoundary => format!("This token's boundary does not reach{on}"),
        DenyReason::NotCovered => "This field does not accept fine-grained tokens yet".to_string(),
        DenyReason::Unauthenticated
        | DenyReason::NotVisible
        | DenyReason::RoleTooLow { .. }
        | DenyReason::AdminRequired => RESOURCE_NOT_AVAILABLE.to_string(),
    };
    let code = reason.code();
    let missing = match reason {
        DenyReason::InsufficientScope { missing } => Some(missing.clone()),
        _ => None,
    };
    Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        if matches!(
            reason,
            DenyReason::InsufficientScope { .. } | DenyReason::OutsideBoundary
        ) {
            e.set("required", required.clone());
        }
        if let Some(m) = &missing {
            e.set("missing", m.clone());
        }
    })
}

/// An error with a code, for input problems outside a payload's `errors`.
pub fn with_code(message: impl Into<String>, code: &'static str) -> Error {
    Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

/// A store failure: logged here, never shown to the client beyond a generic message.
pub fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Unavailable(detail) => {
            tracing::error!(error = %detail, "database unavailable");
            with_code("Service unavailable", "unavailable")
        }
        other => {
            tracing::error!(error = %other, "store failure in GraphQL");
            with_code("Internal server error", "internal")
        }
    }
}

/// A repository failure that is not the caller's doing: logged, shown as a generic error.
pub fn git_error(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "repository failure in GraphQL");
    with_code("Internal server error", "internal")
}

/// Field errors caught by [`NullOnError`], shared between one request's scope and the HTTP
/// handler that answers it.
#[derive(Clone, Default)]
pub struct FieldErrors(Arc<Mutex<Vec<ServerError>>>);

impl FieldErrors {
    fn push(&self, e: ServerError) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    /// The caught errors, in the order they happened.
    pub fn take(&self) -> Vec<ServerError> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Makes a failed nullable field `null` in place, as GraphQL requires (async-graphql would leave
/// the key out), and records its error for the response.
pub struct NullOnError;

impl ExtensionFactory for NullOnError {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NullOnError)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for NullOnError {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let nullable = !info.return_type.ends_with('!');
        match next.run(ctx, info).await {
            Err(e) if nullable => match ctx.data_opt::<FieldErrors>() {
                Some(sink) => {
                    sink.push(e);
                    Ok(Some(Value::Null))
                }
                None => Err(e),
            },
            other => other,
        }
    }
}
