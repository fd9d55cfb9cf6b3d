//! `tinforge coverage`, `tinforge explain` and `tinforge openapi`: the registry's reports from the
//! command line, identical to what the server answers.

use crate::config::{CliError, StorageArgs};
use crate::wiring::{CoverageArgs, configured_registry, registry};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tinforge_gate::coverage::CoverageReport;
use tinforge_gate::explain::{self, Question};
use tinforge_gate::resolve::principal_for;
use tinforge_store::{tokens, users};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct CoverageCmd {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    coverage: CoverageArgs,
}

pub fn coverage(cmd: CoverageCmd) -> Result<(), CliError> {
    let registry = configured_registry(&cmd.coverage.not_covered).map_err(CliError::Usage)?;
    let report = CoverageReport::of(&registry);
    match cmd.format {
        Format::Table => print!("{}", report.to_table()),
        Format::Markdown => print!("{}", report.to_markdown()),
        Format::Json => println!("{}", to_json(&report)?),
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ExplainCmd {
    /// The token to explain, by id (see `GET /api/v4/personal_access_tokens`).
    #[arg(long)]
    token_id: i64,
    #[arg(long, default_value = "GET")]
    method: String,
    /// A concrete request path, e.g. `/api/v4/projects/7`.
    #[arg(
        long,
        conflicts_with = "graphql_field",
        required_unless_present = "graphql_field"
    )]
    path: Option<String>,
    /// A GraphQL field, e.g. `Project.issues`.
    #[arg(long)]
    graphql_field: Option<String>,
    /// The project a GraphQL field would act on (id or full path).
    #[arg(long)]
    project: Option<String>,
    /// The group a GraphQL field would act on (id or full path).
    #[arg(long)]
    group: Option<String>,
    #[command(flatten)]
    coverage: CoverageArgs,
}

pub fn explain(storage: &StorageArgs, cmd: ExplainCmd) -> Result<(), CliError> {
    let registry = configured_registry(&cmd.coverage.not_covered).map_err(CliError::Usage)?;
    let store = storage.open(1)?;
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    let record = tokens::get(conn, cmd.token_id)?
        .ok_or_else(|| CliError::Usage(format!("token {} not found", cmd.token_id)))?;
    let owner = users::find(conn, record.row.user_id)?
        .ok_or_else(|| CliError::Usage("the token's owner no longer exists".into()))?;
    let principal = principal_for(&record.row, owner, record.grants);
    let question = match cmd.path {
        Some(path) => Question::Request {
            method: cmd.method,
            path,
        },
        None => Question::Field {
            field: cmd.graphql_field.unwrap_or_default(),
            project: cmd.project,
            group: cmd.group,
        },
    };
    let answer = explain::explain(conn, &registry, Some(&principal), &question)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{}", to_json(&answer)?);
    Ok(())
}

#[derive(Args, Debug)]
pub struct OpenapiCmd {
    /// Where to write the document; `-` for stdout.
    #[arg(long, default_value = "openapi/openapi.json")]
    out: PathBuf,
}

pub fn openapi(cmd: OpenapiCmd) -> Result<(), CliError> {
    let registry = registry().map_err(CliError::Usage)?;
    let text = to_json(&tinforge_api::openapi::document(&registry))? + "\n";
    if cmd.out.as_os_str() == "-" {
        print!("{text}");
    } else {
        std::fs::write(&cmd.out, text)?;
    }
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))
}
