//! A project and its bare repository come and go together. Every surface that creates or deletes
//! a project, or deletes a group with its projects (REST, GraphQL), goes through here, so none of
//! them can forget the repository.
//!
//! Creation makes the repository *inside* the transaction that inserts the project, after the
//! insert and before the commit: if git fails, the transaction rolls back and no project exists
//! without its repository, not even for a moment (removing the row again afterwards would let
//! other requests see a project whose repository is missing). If the commit itself fails after
//! the repository was made, the repository is removed again; were even that to fail, the
//! leftover is harmless, as project ids are never reused. The price is that `git init` (a few
//! milliseconds) runs while the write transaction is open.
//!
//! Both functions block (database and filesystem): call them off the async executor.

use super::Repositories;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::groups;
use crate::namespaces::WriteError;
use crate::projects::{self, NewProject, ProjectRow};
use crate::protected_branches::{self, NewProtectedBranch};

/// Creates a project with its bare repository (HEAD on the project's default branch) and the
/// instance's protection of that branch ([`super::DefaultBranchProtection`]), or none of them.
pub fn create_project(
    conn: &mut DbConnection,
    repos: &Repositories,
    new: &NewProject<'_>,
) -> Result<ProjectRow, WriteError> {
    let mut made = None;
    let created = projects::create_then(conn, new, |conn, row| {
        made = Some(row.id);
        repos
            .create(row.id, &row.default_branch)
            .map_err(|e| StoreError::Unavailable(format!("repository storage: {e}")))?;
        if let Some((push, merge)) = repos.default_branch_protection().levels() {
            protected_branches::create(
                conn,
                &NewProtectedBranch {
                    project_id: row.id,
                    name: &row.default_branch,
                    push_access_level: push,
                    merge_access_level: merge,
                    allow_force_push: false,
                },
            )?;
        }
        Ok(())
    });
    if let (Err(_), Some(id)) = (&created, made)
        && let Err(e) = repos.remove(id)
    {
        tracing::warn!(project.id = id, error = %e, "could not remove the repository of a project that was not created");
    }
    created
}

/// Deletes a project, then its repository. The row goes first, in its own transaction, so the
/// repository stops being reachable at once; a repository that cannot be removed afterwards is
/// logged and left behind (no project can ever reach it again: ids are never reused).
pub fn delete_project(
    conn: &mut DbConnection,
    repos: &Repositories,
    id: i64,
) -> Result<(), StoreError> {
    projects::delete(conn, id)?;
    remove_repositories(repos, &[id]);
    Ok(())
}

/// Deletes a group with its subgroups and projects, then the projects' repositories (as
/// [`delete_project`] does).
pub fn delete_group(
    conn: &mut DbConnection,
    repos: &Repositories,
    id: i64,
) -> Result<(), StoreError> {
    let project_ids = groups::delete(conn, id)?;
    remove_repositories(repos, &project_ids);
    Ok(())
}

fn remove_repositories(repos: &Repositories, project_ids: &[i64]) {
    for &id in project_ids {
        if let Err(e) = repos.remove(id) {
            tracing::warn!(project.id = id, error = %e, "could not remove the repository of a deleted project");
        }
    }
}

#[cfg(test)]
mod tests {
    //! On SQLite: a repository that cannot be made leaves no project behind.

    use super::*;
    use crate::Store;
    use crate::connection::DatabaseUrl;
    use crate::projects::Namespace;
    use crate::users::{self, NewUser};
    use tinforge_authz::Visibility;

    #[test]
    fn the_project_and_its_repository_exist_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseUrl::Sqlite(dir.path().join("db.sqlite3")), 1).unwrap();
        let mut conn = store.conn().unwrap();
        let conn = &mut *conn;
        let alice = users::create(
            conn,
            &NewUser {
                username: "alice",
                email: "alice@example.com",
                name: "alice",
                password: "password123",
                is_admin: false,
            },
        )
        .unwrap();
        let new = |path| NewProject {
            namespace: Namespace::User {
                id: alice.id,
                username: "alice",
            },
            name: path,
            path,
            description: "",
            visibility: Visibility::Private,
            default_branch: None,
            merge_method: None,
            creator_id: alice.id,
        };
        // Repositories below a regular file cannot be created, not even by root.
        std::fs::write(dir.path().join("file"), "").unwrap();
        let broken = Repositories::new(dir.path().join("file/repositories"));
        let failed = create_project(conn, &broken, &new("p"));
        assert!(matches!(
            failed,
            Err(WriteError::Store(StoreError::Unavailable(_)))
        ));
        assert!(projects::find_by_ref(conn, "alice/p").unwrap().is_none());

        let repos = Repositories::new(dir.path().join("repositories"));
        let p = create_project(conn, &repos, &new("p")).unwrap();
        assert!(repos.path(p.id).join("HEAD").is_file());
        delete_project(conn, &repos, p.id).unwrap();
        assert!(!repos.path(p.id).exists());
        assert!(projects::find(conn, p.id).unwrap().is_none());
    }
}
