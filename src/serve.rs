//! `tinforge serve`: opens the database, seeds the root admin on first start, builds the endpoint
//! registry (refusing to start when router and registry disagree), and runs the HTTP server.

use crate::config::{self, CliError, StorageArgs};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use clap::Args;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use tinforge_api::ApiConfig;
use tinforge_gate::GateState;
use tinforge_gate::issue::TokenPolicy;
use tinforge_gate::middleware::{accepted_permissions, request_log};
use tinforge_store::git::DefaultBranchProtection;
use tinforge_store::users::{self, NewUser};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one is printed).
    #[arg(long, env = "TINFORGE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The URL clients reach this instance at (default: `http://<listen address>`).
    #[arg(long, env = "TINFORGE_EXTERNAL_URL")]
    external_url: Option<String>,
    /// Longest allowed token lifetime in days.
    #[arg(long, env = "TINFORGE_TOKEN_MAX_LIFETIME_DAYS", default_value_t = 365)]
    token_max_lifetime_days: i64,
    #[command(flatten)]
    coverage: crate::wiring::CoverageArgs,
    /// Password of the admin `root`, created on first start when there is no user yet.
    #[arg(long, env = "TINFORGE_ROOT_PASSWORD", hide_env_values = true)]
    root_password: Option<String>,
    /// How a new project's default branch is protected: none, partial (Developers push and
    /// merge, no force-push or deletion) or full (Maintainers only).
    #[arg(long, env = "TINFORGE_DEFAULT_BRANCH_PROTECTION", default_value = "none",
          value_parser = clap::builder::PossibleValuesParser::new(DefaultBranchProtection::NAMES))]
    default_branch_protection: String,
    /// A second address that serves the same instance, for operators who want a registry host
    /// (`registry.example.com` in front of it); `/v2/` is also served on the main address.
    #[arg(long, env = "TINFORGE_REGISTRY_LISTEN")]
    registry_listen: Option<String>,
    /// The largest manifest the registry accepts, in bytes (413 above).
    #[arg(long, env = "TINFORGE_REGISTRY_MAX_MANIFEST_BYTES", default_value_t = tinforge_registry::DEFAULT_MAX_MANIFEST_BYTES)]
    registry_max_manifest_bytes: usize,
    #[command(flatten)]
    blobs: crate::config::BlobStoreArgs,
    /// How long a web session lasts after sign-in, in hours.
    #[arg(long, env = "TINFORGE_SESSION_LIFETIME_HOURS", default_value_t = 168)]
    session_lifetime_hours: i64,
    /// Failed web sign-ins allowed per account in 10 minutes (then 429 until the oldest expires).
    #[arg(
        long,
        env = "TINFORGE_SIGN_IN_FAILURES_PER_ACCOUNT",
        default_value_t = 10
    )]
    sign_in_failures_per_account: usize,
    /// Failed web sign-ins allowed per client address in 10 minutes.
    #[arg(long, env = "TINFORGE_SIGN_IN_FAILURES_PER_IP", default_value_t = 30)]
    sign_in_failures_per_ip: usize,
    /// Database connections in the pool.
    #[arg(long, env = "TINFORGE_DB_POOL_SIZE", default_value_t = 16)]
    db_pool_size: u32,
}

pub fn run(storage: &StorageArgs, args: ServeArgs) -> Result<(), CliError> {
    let store = storage.open(args.db_pool_size)?;
    if let Some(password) = args.root_password.as_deref().filter(|p| !p.is_empty()) {
        seed_root(&store, password)?;
    }
    let resolver = config::resolver(&store)?;
    let registry =
        crate::wiring::configured_registry(&args.coverage.not_covered).map_err(CliError::Usage)?;
    // A route without a declaration, or a declaration no route reaches, stops the start.
    crate::wiring::self_check(&registry).map_err(CliError::Usage)?;
    let listener = TcpListener::bind(&args.listen)?;
    let addr = listener.local_addr()?;
    let mut git = tinforge_git::GitConfig::new(&storage.data_dir)?;
    git.repos = git.repos.with_default_branch_protection(
        DefaultBranchProtection::parse(&args.default_branch_protection).unwrap_or_default(),
    );
    let external_url = args
        .external_url
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{addr}"));
    let api = ApiConfig {
        repositories: git.repos.clone(),
        registry_host: tinforge_api::registry::host_of(&external_url),
        external_url,
        token_policy: TokenPolicy {
            max_lifetime_days: args.token_max_lifetime_days,
        },
        artifacts: tinforge_store::blobstore::BlobStore::filesystem(
            storage.data_dir.join("ci").join("artifacts"),
            storage.data_dir.join("ci").join("uploads"),
        )?,
        job_queue: Arc::new(tinforge_ci::queue::JobQueue::new()),
    };
    tinforge_gate::usage::install(store.clone());
    let gate = web::Data::new(GateState {
        store,
        resolver: resolver.clone(),
        registry: Arc::new(registry),
    });
    let registry = web::Data::new(registry_config(
        &storage.data_dir,
        &args.blobs,
        &api.external_url,
        args.registry_max_manifest_bytes,
    )?);
    let registry_listener = match &args.registry_listen {
        Some(a) if !a.is_empty() => Some(TcpListener::bind(a)?),
        _ => None,
    };
    let graphql = tinforge_graphql::GraphqlService::new(tinforge_graphql::GraphqlConfig {
        external_url: api.external_url.clone(),
        repositories: git.repos.clone(),
    });
    let web_pages = web::Data::new(tinforge_web::WebConfig {
        external_url: api.external_url.clone(),
        registry_host: api.registry_host.clone(),
        token_policy: api.token_policy,
        session_lifetime: chrono::Duration::hours(args.session_lifetime_hours),
        limiter: Arc::new(tinforge_web::SignInLimiter::new(
            std::time::Duration::from_secs(600),
            args.sign_in_failures_per_ip,
            args.sign_in_failures_per_account,
        )),
    });
    let repositories = web::Data::new(git.repos.clone());
    let resolver = web::Data::new(resolver);
    let job_queue = web::Data::from(api.job_queue.clone());
    let api = web::Data::new(api);
    let git = web::Data::new(git);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let routes = tinforge_api::rest_routes();
            let pages = tinforge_web::web_routes();
            App::new()
                .app_data(gate.clone())
                .app_data(resolver.clone())
                .app_data(api.clone())
                .app_data(git.clone())
                .app_data(repositories.clone())
                .app_data(registry.clone())
                .app_data(job_queue.clone())
                .app_data(web_pages.clone())
                .wrap(from_fn(accepted_permissions))
                .wrap(from_fn(request_log))
                .configure(|cfg| routes.configure(cfg))
                .configure(tinforge_api::configure_documents)
                .configure(tinforge_git::configure)
                .configure(tinforge_registry::configure)
                .configure(|cfg| graphql.configure(cfg))
                .configure(tinforge_web::assets::configure)
                .configure(|cfg| pages.configure(cfg))
                .default_service(web::to(tinforge_api::route_not_found))
        })
        // Streamed git responses end with small writes: without this, Nagle's algorithm and
        // delayed ACKs add ~40 ms to each request of a clone.
        .tcp_nodelay(true)
        .listen(listener)?;
        let server = match registry_listener {
            Some(l) => server.listen(l)?,
            None => server,
        }
        .run();
        // Tests and scripts read this line to learn the port.
        println!("tinforge listening on http://{addr}");
        std::io::stdout().flush()?;
        tracing::info!(%addr, "tinforge listening");
        let stopped = server.await;
        // What the last second recorded is written before the process ends.
        if let Err(e) = tinforge_gate::usage::flush() {
            tracing::warn!(error = %e, "token usage not written at shutdown");
        }
        stopped
    })?;
    Ok(())
}

/// The registry surface: the blob store, and the token service's signing key under
/// `<data dir>/registry/`, made in the background at first start so that starting stays fast.
fn registry_config(
    data_dir: &std::path::Path,
    blobs: &crate::config::BlobStoreArgs,
    external_url: &str,
    max_manifest_bytes: usize,
) -> Result<tinforge_registry::RegistryConfig, CliError> {
    use tinforge_registry::token::{KeyCell, TokenIssuer};
    let keys = KeyCell::new(data_dir.join("registry").join("jwt-signing-key.pem"));
    keys.start_background();
    Ok(tinforge_registry::RegistryConfig {
        blobs: blobs.open(data_dir)?,
        issuer: Arc::new(TokenIssuer::new(
            keys,
            "tinforge",
            tinforge_registry::SERVICE,
        )),
        realm: format!("{external_url}/jwt/auth"),
        max_manifest_bytes,
        sessions: Arc::default(),
    })
}

/// Creates the admin `root` when the instance has no user yet.
fn seed_root(store: &tinforge_store::Store, password: &str) -> Result<(), CliError> {
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    if users::count(conn)? > 0 {
        return Ok(());
    }
    users::create(
        conn,
        &NewUser {
            username: "root",
            email: "root@localhost",
            name: "Administrator",
            password,
            is_admin: true,
        },
    )?;
    tracing::info!("created the admin user root");
    Ok(())
}
