//! The `tinforge` binary: the command line (serve, user and token management for scripts and
//! tests), wired onto the same database the server uses.

mod admin;
mod config;
mod registry_gc;
mod report;
mod runner;
mod serve;
mod wiring;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tinforge",
    version,
    about = "A self-hostable mini forge with GitLab's v4 API and fine-grained tokens"
)]
struct Cli {
    #[command(flatten)]
    storage: config::StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manage personal access tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// The container registry's maintenance.
    #[command(subcommand)]
    Registry(registry_gc::RegistryCommand),
    /// Fine-grained token coverage of every endpoint of every surface.
    Coverage(report::CoverageCmd),
    /// Whether a token may reach an endpoint, and why (without performing the request).
    Explain(report::ExplainCmd),
    /// Write the OpenAPI document (default `openapi/openapi.json`).
    Openapi(report::OpenapiCmd),
    /// Run CI jobs for an instance: GitLab's runner protocol with a shell executor.
    Runner(runner::RunnerArgs),
    /// Internal: called by the git hooks tinforge installs in its repositories.
    #[command(hide = true)]
    GitHook { name: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TINFORGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_level(&cli))),
        )
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.storage, args),
        Command::User(cmd) => admin::user(&cli.storage, cmd),
        Command::Token(cmd) => admin::token(&cli.storage, cmd),
        Command::Registry(cmd) => registry_gc::run(&cli.storage, cmd),
        Command::Coverage(cmd) => report::coverage(cmd),
        Command::Explain(cmd) => report::explain(&cli.storage, cmd),
        Command::Openapi(cmd) => report::openapi(cmd),
        Command::GitHook { name } => return tinforge_git::hook::run(&name),
        Command::Runner(args) => return runner::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server logs requests; one-shot commands stay quiet unless something goes wrong.
fn default_log_level(cli: &Cli) -> &'static str {
    match cli.command {
        Command::Serve(_) | Command::Runner(_) => "info",
        _ => "warn",
    }
}
