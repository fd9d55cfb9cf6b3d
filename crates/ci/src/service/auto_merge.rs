//! Merge when pipeline succeeds: a merge request set to merge automatically is merged, as the
//! user who asked, once a pipeline for its source branch's current head succeeds. A failed
//! pipeline leaves it waiting (a retry or a new push may still pass); a new push that moves the
//! head means only a pipeline of the new head counts.

use super::CiError;
use tinforge_store::ci::pipelines;
use tinforge_store::git::Repositories;
use tinforge_store::git::merging::{self, Accept, MergeMethod};
use tinforge_store::git::objects::{self, Person};
use tinforge_store::{DbConnection, merge_requests, projects, users};

/// After pipeline `pipeline_id` finished: merges the merge requests waiting for it. Returns
/// the ids of those merged. A merge that git refuses (conflict, moved target) is logged and the
/// merge request stays open with the automatic merge still set.
pub fn after_pipeline(
    conn: &mut DbConnection,
    repos: &Repositories,
    pipeline_id: i64,
) -> Result<Vec<i64>, CiError> {
    let Some(pipeline) = pipelines::find(conn, pipeline_id)? else {
        return Ok(Vec::new());
    };
    if pipeline.status != "success" || pipeline.tag {
        return Ok(Vec::new());
    }
    let project = projects::find(conn, pipeline.project_id)?.ok_or(CiError::NotFound)?;
    let waiting: Vec<_> = merge_requests::open_from_branch(conn, project.id, &pipeline.ref_name)?
        .into_iter()
        .filter(|mr| mr.merge_when_pipeline_succeeds && merging::can_be_accepted(mr))
        .collect();
    let path = repos.path(project.id);
    let mut merged = Vec::new();
    for mr in waiting {
        let user = match mr.merge_user_id {
            Some(id) => users::find(conn, id)?,
            None => None,
        };
        let Some(user) = user else {
            continue;
        };
        let head = objects::open(&path)
            .ok()
            .and_then(|repo| objects::branch_tip(&repo, &mr.source_branch));
        if head.map(|h| h.to_string()) != Some(pipeline.sha.clone()) {
            continue;
        }
        let how = Accept {
            expected_sha: Some(pipeline.sha.clone()),
            message: merging::default_message(&mr, &project.full_path),
            who: Person::of_user(&user),
            method: MergeMethod::of_stored(&project.merge_method),
            remove_source: false,
        };
        match merging::accept(&path, &mr, &how) {
            Ok(sha) => {
                if merge_requests::mark_merged(conn, mr.id, user.id, &sha.to_string())? {
                    tracing::info!(
                        merge_request.id = mr.id,
                        pipeline.id = pipeline.id,
                        "merged when the pipeline succeeded"
                    );
                    merged.push(mr.id);
                }
            }
            Err(e) => tracing::warn!(
                merge_request.id = mr.id,
                error = %e,
                "automatic merge after the pipeline failed"
            ),
        }
    }
    Ok(merged)
}
