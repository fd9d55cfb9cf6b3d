//! The job token scope of a project (GitLab's inbound "Authorized groups and projects"): whether
//! the project limits which job tokens may reach it (`ci_project_settings`, on unless turned
//! off), and its allowlist, the other projects and groups whose jobs' tokens may reach it.
//! A project's own jobs always reach it; the allowlist never names the project itself.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{ci_job_token_allowlist, ci_project_settings};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub const SOURCE_PROJECT: &str = "project";
pub const SOURCE_GROUP: &str = "group";

/// GitLab's cap on one project's allowlist (projects and groups together).
pub const MAX_ENTRIES: i64 = 200;

/// What an allowlist entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Project(i64),
    Group(i64),
}

impl Source {
    pub fn kind(self) -> &'static str {
        match self {
            Source::Project(_) => SOURCE_PROJECT,
            Source::Group(_) => SOURCE_GROUP,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Source::Project(id) | Source::Group(id) => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ci_job_token_allowlist)]
pub struct AllowlistEntry {
    /// The project being reached.
    pub project_id: i64,
    pub source_kind: String,
    pub source_id: i64,
    pub created_at: NaiveDateTime,
}

/// Does the project limit job tokens to its allowlist? True unless it was turned off.
pub fn scope_enabled(conn: &mut DbConnection, project_id: i64) -> Result<bool, StoreError> {
    Ok(ci_project_settings::table
        .find(project_id)
        .select(ci_project_settings::job_token_scope_enabled)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(true))
}

/// Turns the limit on or off (the settings row is made on first use).
pub fn set_scope_enabled(
    conn: &mut DbConnection,
    project_id: i64,
    enabled: bool,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let changed = diesel::update(ci_project_settings::table.find(project_id))
            .set(ci_project_settings::job_token_scope_enabled.eq(enabled))
            .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(ci_project_settings::table)
                .values((
                    ci_project_settings::project_id.eq(project_id),
                    ci_project_settings::job_token_scope_enabled.eq(enabled),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The entries of one kind (`SOURCE_PROJECT` or `SOURCE_GROUP`) in a project's allowlist, in
/// the order they were added.
pub fn allowlist(
    conn: &mut DbConnection,
    project_id: i64,
    kind: &str,
) -> Result<Vec<AllowlistEntry>, StoreError> {
    Ok(ci_job_token_allowlist::table
        .filter(ci_job_token_allowlist::project_id.eq(project_id))
        .filter(ci_job_token_allowlist::source_kind.eq(kind))
        .order((
            ci_job_token_allowlist::created_at.asc(),
            ci_job_token_allowlist::source_id.asc(),
        ))
        .select(AllowlistEntry::as_select())
        .load(conn)?)
}

/// Why an entry cannot be added (GitLab's messages).
pub fn already_listed_message(source: Source) -> &'static str {
    match source {
        Source::Project(_) => "Target project is already in the job token scope",
        Source::Group(_) => "Target group is already in the job token scope",
    }
}

/// Adds `source` to the allowlist of `project_id`. Already listed: `Conflict` with GitLab's
/// message; the project itself or a full list: `Invalid`.
pub fn add(
    conn: &mut DbConnection,
    project_id: i64,
    source: Source,
) -> Result<AllowlistEntry, StoreError> {
    if source == Source::Project(project_id) {
        return Err(StoreError::Invalid(
            "Validation failed: Target project can't be the same as the source project".into(),
        ));
    }
    write_transaction(conn, |conn| {
        let listed: i64 = ci_job_token_allowlist::table
            .filter(ci_job_token_allowlist::project_id.eq(project_id))
            .count()
            .get_result(conn)?;
        let present: i64 = ci_job_token_allowlist::table
            .find((project_id, source.kind(), source.id()))
            .count()
            .get_result(conn)?;
        if present > 0 {
            return Err(StoreError::Conflict(already_listed_message(source).into()));
        }
        if listed >= MAX_ENTRIES {
            return Err(StoreError::Invalid(format!(
                "Validation failed: The allowlist can hold at most {MAX_ENTRIES} groups and projects"
            )));
        }
        let entry = AllowlistEntry {
            project_id,
            source_kind: source.kind().to_string(),
            source_id: source.id(),
            created_at: crate::now(),
        };
        diesel::insert_into(ci_job_token_allowlist::table)
            .values((
                ci_job_token_allowlist::project_id.eq(entry.project_id),
                ci_job_token_allowlist::source_kind.eq(&entry.source_kind),
                ci_job_token_allowlist::source_id.eq(entry.source_id),
                ci_job_token_allowlist::created_at.eq(entry.created_at),
            ))
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(already_listed_message(source).into())
                }
                other => other,
            })?;
        Ok(entry)
    })
}

/// Removes `source` from the allowlist of `project_id`; false when it was not listed.
pub fn remove(
    conn: &mut DbConnection,
    project_id: i64,
    source: Source,
) -> Result<bool, StoreError> {
    Ok(
        diesel::delete(ci_job_token_allowlist::table.find((
            project_id,
            source.kind(),
            source.id(),
        )))
        .execute(conn)?
            > 0,
    )
}

/// The projects other than `source_project_id` that a job token of that project may reach:
/// every project whose allowlist names the source project or one of
/// `source_ancestor_group_ids` (the source project's groups), and every project that does not
/// limit job tokens at all. The role of the pipeline's user still applies on each of them.
/// Sorted, without duplicates.
pub fn projects_reachable_from(
    conn: &mut DbConnection,
    source_project_id: i64,
    source_ancestor_group_ids: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut out: Vec<i64> = ci_job_token_allowlist::table
        .filter(
            ci_job_token_allowlist::source_kind
                .eq(SOURCE_PROJECT)
                .and(ci_job_token_allowlist::source_id.eq(source_project_id))
                .or(ci_job_token_allowlist::source_kind
                    .eq(SOURCE_GROUP)
                    .and(ci_job_token_allowlist::source_id.eq_any(source_ancestor_group_ids))),
        )
        .select(ci_job_token_allowlist::project_id)
        .load(conn)?;
    let open: Vec<i64> = ci_project_settings::table
        .filter(ci_project_settings::job_token_scope_enabled.eq(false))
        .select(ci_project_settings::project_id)
        .load(conn)?;
    out.extend(open);
    out.retain(|id| *id != source_project_id);
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::variables::tests::{group, on_every_backend, project, user};
    use crate::projects::Namespace;

    #[test]
    fn job_tokens_reach_projects_that_list_them_or_do_not_limit() {
        on_every_backend(|conn| {
            let alice = user(conn, "alice");
            let acme = group(conn, "acme", None, &alice);
            let sub = group(conn, "tools", Some(&acme), &alice);
            let source = project(conn, "source", Namespace::Group(&sub), &alice);
            let by_project = project(conn, "by-project", Namespace::Group(&acme), &alice);
            let by_group = project(conn, "by-group", Namespace::Group(&acme), &alice);
            let closed = project(conn, "closed", Namespace::Group(&acme), &alice);
            let open = project(conn, "open", Namespace::Group(&acme), &alice);

            assert!(scope_enabled(conn, closed.id).unwrap());
            add(conn, by_project.id, Source::Project(source.id)).unwrap();
            add(conn, by_group.id, Source::Group(acme.id)).unwrap();
            // Listing another project or group does not let the source in.
            add(conn, closed.id, Source::Project(by_project.id)).unwrap();
            set_scope_enabled(conn, open.id, false).unwrap();
            assert!(!scope_enabled(conn, open.id).unwrap());
            // The source's own setting says nothing about where its tokens go.
            set_scope_enabled(conn, source.id, false).unwrap();

            let ancestors = [sub.id, acme.id];
            let mut expected = vec![by_project.id, by_group.id, open.id];
            expected.sort_unstable();
            assert_eq!(
                projects_reachable_from(conn, source.id, &ancestors).unwrap(),
                expected
            );
            // Without the groups, the group entry does not count.
            let mut without = vec![by_project.id, open.id];
            without.sort_unstable();
            assert_eq!(
                projects_reachable_from(conn, source.id, &[]).unwrap(),
                without
            );

            assert!(matches!(
                add(conn, by_project.id, Source::Project(source.id)),
                Err(StoreError::Conflict(_))
            ));
            assert!(matches!(
                add(conn, source.id, Source::Project(source.id)),
                Err(StoreError::Invalid(_))
            ));
            assert_eq!(allowlist(conn, by_group.id, SOURCE_GROUP).unwrap().len(), 1);
            assert!(remove(conn, by_project.id, Source::Project(source.id)).unwrap());
            assert!(!remove(conn, by_project.id, Source::Project(source.id)).unwrap());
            set_scope_enabled(conn, open.id, true).unwrap();
            assert_eq!(
                projects_reachable_from(conn, source.id, &ancestors).unwrap(),
                [by_group.id]
            );
        });
    }
}
