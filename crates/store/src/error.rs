//! The store's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the text names what is taken.
    #[error("{0}")]
    Conflict(String),
    /// Input the store refuses (unknown path, inconsistent data).
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(DieselError),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // The database's own text goes to the log, never to a caller.
                tracing::info!(
                    db.message = info.message(),
                    db.constraint = info.constraint_name(),
                    "unique violation"
                );
                StoreError::Conflict(taken_message(
                    info.message(),
                    info.constraint_name(),
                    info.table_name(),
                ))
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// GitLab's wording for a broken uniqueness rule, naming the column when the database says which
/// (`Username has already been taken`), without repeating anything else the database said.
fn taken_message(message: &str, constraint: Option<&str>, table: Option<&str>) -> String {
    // SQLite: "UNIQUE constraint failed: users.username"; PostgreSQL names the constraint
    // ("users_username_key", "projects_full_path_idx").
    let column = message
        .strip_prefix("UNIQUE constraint failed: ")
        .and_then(|cols| cols.split(',').next())
        .and_then(|col| col.trim().rsplit('.').next())
        .map(str::to_string)
        .or_else(|| {
            let c = constraint?;
            let c = c
                .strip_suffix("_key")
                .or_else(|| c.strip_suffix("_idx"))
                .or_else(|| c.strip_suffix("_unique"))?;
            match table.and_then(|t| c.strip_prefix(t)?.strip_prefix('_')) {
                Some(column) => Some(column.to_string()),
                None => c.split_once('_').map(|(_, column)| column.to_string()),
            }
        })
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'));
    match column {
        Some(c) => {
            let words = c.replace('_', " ");
            let mut chars = words.chars();
            let first = chars.next().map(|f| f.to_ascii_uppercase());
            format!(
                "{}{} has already been taken",
                first.unwrap_or_default(),
                chars.as_str()
            )
        }
        None => "has already been taken".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::taken_message;

    #[test]
    fn unique_violations_are_said_the_gitlab_way_without_database_text() {
        assert_eq!(
            taken_message("UNIQUE constraint failed: users.username", None, None),
            "Username has already been taken"
        );
        assert_eq!(
            taken_message(
                "duplicate key value violates unique constraint \"projects_full_path_key\"",
                Some("merge_requests_full_path_key"),
                Some("merge_requests")
            ),
            "Full path has already been taken"
        );
        assert_eq!(
            taken_message(
                "duplicate key value violates unique constraint \"x\"",
                Some("x"),
                None
            ),
            "has already been taken"
        );
        assert_eq!(
            taken_message("anything else", None, None),
            "has already been taken"
        );
    }
}
