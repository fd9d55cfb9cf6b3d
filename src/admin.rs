//! `tinforge user …` and `tinforge token …`: seeding users and tokens from scripts and tests, on the
//! same database as the server, while it runs or not. Each prints only its result on stdout.

use crate::config::{self, CliError, StorageArgs};
use chrono::{Duration, Utc};
use clap::Subcommand;
use tinforge_authz::LegacyScope;
use tinforge_gate::issue::{self, GrantRequest, TokenPolicy, TokenRequest};
use tinforge_store::tokens::TokenRights;
use tinforge_store::users::{self, NewUser, STATE_ACTIVE, STATE_BLOCKED};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; prints its id.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        admin: bool,
    },
    /// Block a user: their tokens stop working at once.
    Block {
        #[arg(long)]
        username: String,
    },
    /// Unblock a user.
    Unblock {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a personal access token; prints only the token.
    Create(TokenCreateArgs),
}

#[derive(clap::Args)]
pub struct TokenCreateArgs {
    /// Owner, by username or id.
    #[arg(long)]
    user: String,
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Days until expiry (default: the maximum lifetime).
    #[arg(long)]
    expires_in_days: Option<i64>,
    /// Legacy scopes, comma-separated (`api,read_repository`).
    #[arg(long, conflicts_with_all = ["grants", "boundary"])]
    scopes: Option<String>,
    /// Fine-grained permissions, comma-separated (`issue:read,issue:create`).
    #[arg(long, requires = "boundary")]
    grants: Option<String>,
    /// `personal_projects`, `all_memberships` or `selected`.
    #[arg(long, requires = "grants")]
    boundary: Option<String>,
    /// A project of a selected boundary (id or full path); repeatable.
    #[arg(long = "project")]
    projects: Vec<String>,
    /// A group of a selected boundary (id or full path); repeatable.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Maximum token lifetime in days, as the server's setting.
    #[arg(long, env = "TINFORGE_TOKEN_MAX_LIFETIME_DAYS", default_value_t = 365)]
    max_lifetime_days: i64,
}

pub fn user(storage: &StorageArgs, cmd: UserCommand) -> Result<(), CliError> {
    let store = storage.open(1)?;
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    match cmd {
        UserCommand::Create {
            username,
            password,
            email,
            name,
            admin,
        } => {
            let email = email.unwrap_or_else(|| format!("{username}@example.com"));
            let user = users::create(
                conn,
                &NewUser {
                    username: &username,
                    email: &email,
                    name: name.as_deref().unwrap_or(&username),
                    password: &password,
                    is_admin: admin,
                },
            )?;
            println!("{}", user.id);
        }
        UserCommand::Block { username } => set_state(conn, &username, STATE_BLOCKED)?,
        UserCommand::Unblock { username } => set_state(conn, &username, STATE_ACTIVE)?,
    }
    Ok(())
}

fn set_state(
    conn: &mut tinforge_store::DbConnection,
    username: &str,
    state: &'static str,
) -> Result<(), CliError> {
    let user = users::find_by_ref(conn, username)?
        .ok_or_else(|| CliError::Usage(format!("user {username} not found")))?;
    Ok(users::set_state(conn, user.id, state)?)
}

pub fn token(storage: &StorageArgs, cmd: TokenCommand) -> Result<(), CliError> {
    let TokenCommand::Create(args) = cmd;
    let store = storage.open(1)?;
    let resolver = config::resolver(&store)?;
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    let owner = users::find_by_ref(conn, &args.user)?
        .ok_or_else(|| CliError::Usage(format!("user {} not found", args.user)))?;
    let rights = match (&args.scopes, &args.grants) {
        (Some(scopes), None) => {
            TokenRights::Legacy(LegacyScope::parse_list(scopes).map_err(CliError::Usage)?)
        }
        (None, Some(grants)) => TokenRights::FineGrained(issue::resolve_grants(
            conn,
            &owner,
            &[GrantRequest {
                boundary: args.boundary.clone().unwrap_or_default(),
                projects: args.projects.clone(),
                groups: args.groups.clone(),
                permissions: grants.split(',').map(str::to_string).collect(),
            }],
        )?),
        _ => {
            return Err(CliError::Usage(
                "give either --scopes or --grants with --boundary".into(),
            ));
        }
    };
    let policy = TokenPolicy {
        max_lifetime_days: args.max_lifetime_days,
    };
    let expires_at = match args.expires_in_days {
        Some(days) => Utc::now().date_naive() + Duration::days(days),
        None => policy.default_expiry(),
    };
    let (_, secret) = issue::issue(
        conn,
        &resolver,
        &policy,
        None,
        &TokenRequest {
            user_id: owner.id,
            name: &args.name,
            description: &args.description,
            rights,
            expires_at,
        },
    )?;
    println!("{secret}");
    Ok(())
}
