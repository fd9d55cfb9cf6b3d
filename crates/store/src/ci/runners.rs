//! Runners: instance-wide, group or project runners, their token (kept as a digest only), the
//! projects a project runner serves, and what a runner reported about itself when it last called.
//! Also the persistent ref a job's fetch names (`refs/pipelines/<id>`), made when a job is handed out.

use crate::connection::{DbConnection, write_transaction};
use crate::error::StoreError;
use crate::schema::{ci_runner_projects, ci_runners};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ci_runners)]
pub struct RunnerRow {
    pub id: i64,
    pub token_digest: String,
    /// `instance_type`, `group_type` or `project_type`.
    pub runner_type: String,
    pub group_id: Option<i64>,
    pub description: String,
    pub maintenance_note: String,
    pub paused: bool,
    pub locked: bool,
    pub run_untagged: bool,
    /// Tags separated by commas.
    pub tag_list: String,
    /// `not_protected` or `ref_protected`.
    pub access_level: String,
    pub maximum_timeout: Option<i64>,
    pub registered_with_token: bool,
    pub creator_id: Option<i64>,
    pub version: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: NaiveDateTime,
    pub contacted_at: Option<NaiveDateTime>,
}

impl RunnerRow {
    pub fn tags(&self) -> Vec<String> {
        split_tags(&self.tag_list)
    }

    pub fn is_instance(&self) -> bool {
        self.runner_type == "instance_type"
    }
}

/// `"a, b,,c"` → `["a", "b", "c"]`.
pub fn split_tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// Tags as stored: trimmed, without empties or repeats, joined by commas.
pub fn join_tags(tags: &[String]) -> String {
    split_tags(&tags.join(",")).join(",")
}

/// A runner to insert.
#[derive(Debug, Clone)]
pub struct NewRunner {
    pub token_digest: String,
    pub runner_type: String,
    pub group_id: Option<i64>,
    /// The projects a project runner serves (its first is where it was registered).
    pub project_ids: Vec<i64>,
    pub description: String,
    pub maintenance_note: String,
    pub paused: bool,
    pub locked: bool,
    pub run_untagged: bool,
    pub tags: Vec<String>,
    pub access_level: String,
    pub maximum_timeout: Option<i64>,
    pub registered_with_token: bool,
    pub creator_id: Option<i64>,
}

pub fn create(conn: &mut DbConnection, new: &NewRunner) -> Result<RunnerRow, StoreError> {
    write_transaction(conn, |conn| {
        let now = crate::now();
        let id: i64 = diesel::insert_into(ci_runners::table)
            .values((
                ci_runners::token_digest.eq(&new.token_digest),
                ci_runners::runner_type.eq(&new.runner_type),
                ci_runners::group_id.eq(new.group_id),
                ci_runners::description.eq(&new.description),
                ci_runners::maintenance_note.eq(&new.maintenance_note),
                ci_runners::paused.eq(new.paused),
                ci_runners::locked.eq(new.locked),
                ci_runners::run_untagged.eq(new.run_untagged),
                ci_runners::tag_list.eq(join_tags(&new.tags)),
                ci_runners::access_level.eq(&new.access_level),
                ci_runners::maximum_timeout.eq(new.maximum_timeout),
                ci_runners::registered_with_token.eq(new.registered_with_token),
                ci_runners::creator_id.eq(new.creator_id),
                ci_runners::created_at.eq(now),
            ))
            .returning(ci_runners::id)
            .get_result(conn)?;
        for project_id in &new.project_ids {
            add_project(conn, id, *project_id)?;
        }
        find(conn, id)?.ok_or(StoreError::NotFound)
    })
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<RunnerRow>, StoreError> {
    Ok(ci_runners::table
        .find(id)
        .select(RunnerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The runner whose token has this digest.
pub fn find_by_token_digest(
    conn: &mut DbConnection,
    digest: &str,
) -> Result<Option<RunnerRow>, StoreError> {
    Ok(ci_runners::table
        .filter(ci_runners::token_digest.eq(digest))
        .select(RunnerRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every runner, oldest first (instances have a handful; lists filter them in memory).
pub fn all(conn: &mut DbConnection) -> Result<Vec<RunnerRow>, StoreError> {
    Ok(ci_runners::table
        .order(ci_runners::id.asc())
        .select(RunnerRow::as_select())
        .load(conn)?)
}

/// The projects a runner serves, in the order they were added.
pub fn project_ids(conn: &mut DbConnection, runner_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(ci_runner_projects::table
        .filter(ci_runner_projects::runner_id.eq(runner_id))
        .order((
            ci_runner_projects::created_at.asc(),
            ci_runner_projects::project_id.asc(),
        ))
        .select(ci_runner_projects::project_id)
        .load(conn)?)
}

/// The projects of several runners (runner id → project ids, in the order they were added).
pub fn project_ids_of(
    conn: &mut DbConnection,
    runner_ids: &[i64],
) -> Result<BTreeMap<i64, Vec<i64>>, StoreError> {
    let rows: Vec<(i64, i64)> = ci_runner_projects::table
        .filter(ci_runner_projects::runner_id.eq_any(runner_ids))
        .order((
            ci_runner_projects::runner_id.asc(),
            ci_runner_projects::created_at.asc(),
            ci_runner_projects::project_id.asc(),
        ))
        .select((
            ci_runner_projects::runner_id,
            ci_runner_projects::project_id,
        ))
        .load(conn)?;
    let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (runner, project) in rows {
        out.entry(runner).or_default().push(project);
    }
    Ok(out)
}

/// The project runners enabled on a project.
pub fn ids_for_project(conn: &mut DbConnection, project_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(ci_runner_projects::table
        .filter(ci_runner_projects::project_id.eq(project_id))
        .select(ci_runner_projects::runner_id)
        .load(conn)?)
}

/// The projects a group runner serves: those of the group and of every group below it.
pub fn group_project_ids(conn: &mut DbConnection, group_id: i64) -> Result<Vec<i64>, StoreError> {
    use crate::schema::projects;
    let groups = crate::groups::self_and_descendants(conn, &[group_id])?;
    Ok(projects::table
        .filter(projects::group_id.eq_any(groups))
        .select(projects::id)
        .load(conn)?)
}

/// Enables a project runner on a project; false when it already was.
pub fn add_project(
    conn: &mut DbConnection,
    runner_id: i64,
    project_id: i64,
) -> Result<bool, StoreError> {
    let exists: i64 = ci_runner_projects::table
        .filter(ci_runner_projects::runner_id.eq(runner_id))
        .filter(ci_runner_projects::project_id.eq(project_id))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(ci_runner_projects::table)
        .values((
            ci_runner_projects::runner_id.eq(runner_id),
            ci_runner_projects::project_id.eq(project_id),
            ci_runner_projects::created_at.eq(crate::now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Disables a project runner on a project; false when it was not enabled there.
pub fn remove_project(
    conn: &mut DbConnection,
    runner_id: i64,
    project_id: i64,
) -> Result<bool, StoreError> {
    let n = diesel::delete(
        ci_runner_projects::table
            .filter(ci_runner_projects::runner_id.eq(runner_id))
            .filter(ci_runner_projects::project_id.eq(project_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunnerChanges {
    pub description: Option<String>,
    pub maintenance_note: Option<String>,
    pub paused: Option<bool>,
    pub locked: Option<bool>,
    pub run_untagged: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub access_level: Option<String>,
    /// `Some(None)` clears it.
    pub maximum_timeout: Option<Option<i64>>,
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &RunnerChanges,
) -> Result<RunnerRow, StoreError> {
    write_transaction(conn, |conn| {
        let current = find(conn, id)?.ok_or(StoreError::NotFound)?;
        let c = changes.clone();
        diesel::update(ci_runners::table.find(id))
            .set((
                ci_runners::description.eq(c.description.unwrap_or(current.description)),
                ci_runners::maintenance_note
                    .eq(c.maintenance_note.unwrap_or(current.maintenance_note)),
                ci_runners::paused.eq(c.paused.unwrap_or(current.paused)),
                ci_runners::locked.eq(c.locked.unwrap_or(current.locked)),
                ci_runners::run_untagged.eq(c.run_untagged.unwrap_or(current.run_untagged)),
                ci_runners::tag_list.eq(c.tags.map(|t| join_tags(&t)).unwrap_or(current.tag_list)),
                ci_runners::access_level.eq(c.access_level.unwrap_or(current.access_level)),
                ci_runners::maximum_timeout
                    .eq(c.maximum_timeout.unwrap_or(current.maximum_timeout)),
            ))
            .execute(conn)?;
        find(conn, id)?.ok_or(StoreError::NotFound)
    })
}

/// Removes a runner (its project links go with it). Jobs it ran keep its id.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(ci_runner_projects::table.filter(ci_runner_projects::runner_id.eq(id)))
            .execute(conn)?;
        Ok(diesel::delete(ci_runners::table.find(id)).execute(conn)? > 0)
    })
}

/// Replaces the runner's token (the old one stops working at once).
pub fn set_token_digest(conn: &mut DbConnection, id: i64, digest: &str) -> Result<(), StoreError> {
    diesel::update(ci_runners::table.find(id))
        .set(ci_runners::token_digest.eq(digest))
        .execute(conn)?;
    Ok(())
}

/// What a runner says about itself when it calls (`info` of its requests).
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub version: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub ip_address: Option<String>,
}

/// Stamps `contacted_at` and what the runner reported (a field it did not send is kept).
pub fn record_contact(
    conn: &mut DbConnection,
    id: i64,
    contact: &Contact,
) -> Result<(), StoreError> {
    let now = crate::now();
    let current = find(conn, id)?.ok_or(StoreError::NotFound)?;
    diesel::update(ci_runners::table.find(id))
        .set((
            ci_runners::contacted_at.eq(Some(now)),
            ci_runners::version.eq(contact.version.clone().or(current.version)),
            ci_runners::platform.eq(contact.platform.clone().or(current.platform)),
            ci_runners::architecture.eq(contact.architecture.clone().or(current.architecture)),
            ci_runners::ip_address.eq(contact.ip_address.clone().or(current.ip_address)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The generation of a project's registration token (`ci_project_settings`, 0 when unset).
pub fn project_token_generation(
    conn: &mut DbConnection,
    project_id: i64,
) -> Result<i64, StoreError> {
    use crate::schema::ci_project_settings;
    Ok(ci_project_settings::table
        .find(project_id)
        .select(ci_project_settings::runner_token_generation)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Starts a new generation of the project's registration token (the old token stops
/// working); returns the new generation.
pub fn bump_project_token_generation(
    conn: &mut DbConnection,
    project_id: i64,
) -> Result<i64, StoreError> {
    use crate::schema::ci_project_settings;
    write_transaction(conn, |conn| {
        let current = project_token_generation(conn, project_id)?;
        let next = current + 1;
        let n = diesel::update(ci_project_settings::table.find(project_id))
            .set(ci_project_settings::runner_token_generation.eq(next))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(ci_project_settings::table)
                .values((
                    ci_project_settings::project_id.eq(project_id),
                    ci_project_settings::runner_token_generation.eq(next),
                ))
                .execute(conn)?;
        }
        Ok(next)
    })
}

/// The project's `default_git_depth` (GitLab's default for new projects: 20).
pub fn project_git_depth(conn: &mut DbConnection, project_id: i64) -> Result<i32, StoreError> {
    use crate::schema::ci_project_settings;
    Ok(ci_project_settings::table
        .find(project_id)
        .select(ci_project_settings::default_git_depth)
        .first(conn)
        .optional()?
        .unwrap_or(20))
}

/// Points `refs/pipelines/<pipeline_id>` of the bare repository at `repo` to `sha`, so the
/// job's fetch of the persistent ref finds it (and the commit stays reachable). Jobs of one
/// pipeline handed out at once race for the ref's lock: a ref already at `sha` is fine, and a
/// lost race is retried.
pub fn ensure_pipeline_ref(repo: &Path, pipeline_id: i64, sha: &str) -> Result<(), StoreError> {
    let fail = |e: git2::Error| StoreError::Invalid(format!("pipeline ref: {}", e.message()));
    let repository = git2::Repository::open_bare(repo).map_err(fail)?;
    let oid = git2::Oid::from_str(sha).map_err(fail)?;
    let name = format!("refs/pipelines/{pipeline_id}");
    let mut attempt = 0;
    loop {
        if repository
            .find_reference(&name)
            .ok()
            .and_then(|r| r.target())
            == Some(oid)
        {
            return Ok(());
        }
        match repository.reference(&name, oid, true, "pipeline") {
            Ok(_) => return Ok(()),
            Err(_) if attempt < 20 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(10 * attempt));
            }
            Err(e) => return Err(fail(e)),
        }
    }
}

/// Removes `refs/pipelines/<pipeline_id>` once the pipeline finished (a retry makes it again).
pub fn remove_pipeline_ref(repo: &Path, pipeline_id: i64) -> Result<(), StoreError> {
    let fail = |e: git2::Error| StoreError::Invalid(format!("pipeline ref: {}", e.message()));
    let repository = git2::Repository::open_bare(repo).map_err(fail)?;
    match repository.find_reference(&format!("refs/pipelines/{pipeline_id}")) {
        Ok(mut r) => r.delete().map_err(fail),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_unique() {
        assert_eq!(split_tags(" a, b,,a ,c"), vec!["a", "b", "c"]);
        assert_eq!(join_tags(&["x ".into(), "".into(), "y".into()]), "x,y");
        assert!(split_tags("").is_empty());
    }
}
