//! The `drydock` command line.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use uuid::Uuid;

use crate::accounts::model::{self as users, NewUser};
use crate::accounts::password;
use crate::config::Settings;
use crate::events::hub::Hub;
use crate::runtime::Runtime;
use crate::startup::Application;
use crate::tokens::model as tokens;
use secrecy::ExposeSecret;
use tokio::sync::watch;

/// Drydock runs AI coding agents against your repositories in isolated sandboxes.
#[derive(Debug, Parser)]
#[command(name = "drydock", version, about, long_about = None)]
pub struct Cli {
    /// A TOML configuration file (keys as in README.md); environment variables override it.
    #[arg(long, global = true, env = "DRYDOCK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory [default: $XDG_DATA_HOME/drydock or ~/.local/share/drydock].
    #[arg(long, global = true, env = "DRYDOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
/// `drydock sandbox-relay --listen ADDR --socket PATH -- COMMAND...`: the relay brokered
/// sandboxes run their commands under (`sandbox::relay`). `main` dispatches it before anything
/// else starts (no runtime, no configuration), since it runs on every command in a sandbox.
pub const SANDBOX_RELAY: &str = "sandbox-relay";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server, the web app and the workers. Without DATABASE_URL it starts an
    /// embedded PostgreSQL under the data directory.
    Serve(ServeArgs),
    /// Run workers only (no HTTP server), for scaling out beside `serve`.
    Worker(WorkerArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users' personal access tokens per git host.
    #[command(subcommand)]
    GitCredentials(GitCredentialsCommand),
    /// Manage the agent CLIs in the tool cache.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Print the OpenAPI document (YAML) of this build.
    Openapi,
}

/// `drydock agents ...`
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Install the pinned agent CLIs into the tool cache (`<data_dir>/tools` or `tools_dir`),
    /// so the first task of each agent does not wait for npm. Needs `npm`.
    Install {
        /// Agents to install (claude, codex, copilot, gemini, opencode, qwen); all by default.
        names: Vec<String>,
    },
    /// List the agents and whether each is installed.
    List,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "DRYDOCK_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Directory of the built web app to serve at `/`.
    #[arg(long, env = "DRYDOCK_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
}

/// Options of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// How many workers to run [default: the `tasks.workers` setting].
    #[arg(long, env = "DRYDOCK_WORKERS")]
    pub workers: Option<usize>,
}

/// `drydock user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user.
    Create {
        /// The username.
        #[arg(long)]
        username: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read a password from standard input so the user can sign in with a password;
        /// without it the user signs in only through API tokens.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Print a one-time invitation link: whoever opens it makes an account (local, or by
    /// signing in with a provider), even while registration is closed.
    Invite {
        /// The account made with it is an administrator (the way to a first administrator
        /// when only OAuth sign-in is enabled).
        #[arg(long)]
        admin: bool,
    },
}

/// `drydock token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user and print only the token on stdout.
    Create {
        /// Whose token.
        #[arg(long)]
        username: String,
        /// A label for the token.
        #[arg(long)]
        name: String,
        /// What it may do (`read`, `write`, `tokens`; repeat or separate by commas); every
        /// scope when absent.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// It stops working after this many days; never when absent.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a user's tokens.
    List {
        /// Whose tokens.
        #[arg(long)]
        username: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token id.
        id: Uuid,
    },
}

/// `drydock git-credentials ...`
#[derive(Debug, Subcommand)]
pub enum GitCredentialsCommand {
    /// Store (or replace) a user's token for a git host. The token is read from standard input,
    /// or from the environment variable named by `--token-env`; never from the command line.
    Add {
        /// Whose credential (username).
        #[arg(long)]
        user: String,
        /// `host` or `host:port`, e.g. gitlab.example.com.
        #[arg(long)]
        host: String,
        /// github, gitlab, gitea or git (a plain git host without a forge API).
        #[arg(long)]
        kind: String,
        /// The forge's API base URL; defaulted from the host for forges.
        #[arg(long)]
        api_url: Option<String>,
        /// Read the token from this environment variable instead of standard input.
        #[arg(long)]
        token_env: Option<String>,
    },
    /// List a user's credentials (never the tokens).
    List {
        /// Whose credentials (username).
        #[arg(long)]
        user: String,
    },
    /// Remove a user's credential for a host.
    Remove {
        /// Whose credential (username).
        #[arg(long)]
        user: String,
        /// `host` or `host:port`.
        #[arg(long)]
        host: String,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log_format);
    if let Some(dir) = cli.data_dir {
        settings.data_dir = dir;
    }
    match cli.command {
        Command::Openapi => {
            print!("{}", crate::openapi::yaml()?);
            Ok(())
        }
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                settings.listen = listen;
            }
            if let Some(dir) = args.web_dir {
                settings.web_dir = Some(dir);
            }
            serve(settings).await
        }
        Command::Worker(args) => {
            if let Some(n) = args.workers {
                settings.tasks.workers = n;
            }
            worker(settings).await
        }
        Command::Migrate => {
            let rt = Runtime::start(settings).await?;
            println!("migrations are up to date");
            rt.shutdown().await
        }
        Command::User(cmd) => with_runtime(settings, |rt| Box::pin(user(rt, cmd))).await,
        Command::Token(cmd) => with_runtime(settings, |rt| Box::pin(token(rt, cmd))).await,
        Command::GitCredentials(cmd) => {
            with_runtime(settings, |rt| Box::pin(git_credentials(rt, cmd))).await
        }
        Command::Agents(cmd) => agents(&settings, cmd).await,
    }
}

/// `drydock agents install|list`: works on the tool cache only, no database.
async fn agents(settings: &Settings, cmd: AgentsCommand) -> anyhow::Result<()> {
    use sandbox::agents::strategy_for;
    use shared::agents::AgentKind;
    let tools = settings.tools_dir();
    let installable: Vec<AgentKind> =
        AgentKind::ALL.into_iter().filter(|k| strategy_for(*k).spec().package.is_some()).collect();
    match cmd {
        AgentsCommand::List => {
            println!("{:<10} {:<10} {:<32} STATUS", "AGENT", "VERSION", "PACKAGE");
            for kind in AgentKind::ALL {
                let strategy = strategy_for(kind);
                let spec = strategy.spec();
                let status = match spec.package {
                    None => "not installable (not on npm)",
                    Some(_) if strategy.binary_path(&tools).exists() => "installed",
                    Some(_) => "not installed",
                };
                println!(
                    "{:<10} {:<10} {:<32} {status}",
                    kind.as_str(),
                    spec.version,
                    spec.package.unwrap_or("-")
                );
            }
            println!("tool cache: {}", tools.display());
            Ok(())
        }
        AgentsCommand::Install { names } => {
            let kinds = if names.is_empty() {
                installable.clone()
            } else {
                let mut kinds = Vec::new();
                for name in &names {
                    let kind = AgentKind::parse(name.trim())
                        .filter(|k| installable.contains(k))
                        .ok_or_else(|| {
                            let known: Vec<&str> = installable.iter().map(|k| k.as_str()).collect();
                            anyhow::anyhow!(
                                "`{name}` is not an installable agent (one of: {})",
                                known.join(", ")
                            )
                        })?;
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                }
                kinds
            };
            println!("Installing into {}", tools.display());
            let total = kinds.len();
            let mut failed = Vec::new();
            for (i, kind) in kinds.into_iter().enumerate() {
                let spec = strategy_for(kind).spec();
                let label = format!("[{}/{total}] {} {}", i + 1, kind.as_str(), spec.version);
                println!("{label}: installing {}@{}", spec.package.unwrap_or("-"), spec.version);
                let started = std::time::Instant::now();
                let dir = tools.clone();
                let prefix = label.clone();
                let result = tokio::task::spawn_blocking(move || {
                    strategy_for(kind).install(&dir, &mut |line| {
                        let line = line.trim();
                        if !line.is_empty() {
                            println!("{prefix}   {line}");
                        }
                    })
                })
                .await?;
                match result {
                    Ok(installed) if installed.fresh => {
                        println!(
                            "{label}: installed in {:.1}s ({})",
                            started.elapsed().as_secs_f32(),
                            installed.binary.display()
                        )
                    }
                    Ok(_) => println!("{label}: already installed"),
                    Err(e) => {
                        println!("{label}: FAILED: {e}");
                        failed.push(kind.as_str());
                    }
                }
            }
            if failed.is_empty() {
                println!("Done: {total} agent(s) ready.");
                Ok(())
            } else {
                anyhow::bail!("installing {} failed", failed.join(", "))
            }
        }
    }
}

async fn with_runtime<F>(settings: Settings, f: F) -> anyhow::Result<()>
where
    F: for<'a> FnOnce(&'a Runtime) -> futures_util::future::LocalBoxFuture<'a, anyhow::Result<()>>,
{
    let rt = Runtime::start(settings).await?;
    let result = f(&rt).await;
    rt.shutdown().await?;
    result
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let rt = Runtime::start(settings).await?;
    let mut conn = rt.pool.get().await?;
    if rt.settings.local_auth {
        if let Some(token) = crate::auth::setup::issue_if_needed(&mut conn).await? {
            let link = format!("{}/setup?token={token}", rt.settings.web_base());
            println!("No administrator yet. Create the first one here (one-time link):\n  {link}");
        }
    } else if crate::auth::setup::pending(&mut conn).await? {
        println!(
            "No administrator yet. `drydock user invite --admin` prints a one-time link that makes one."
        );
    }
    drop(conn);
    let hub = Hub::start(rt.database_url.expose_secret().to_owned());
    let sandbox = crate::sandboxes::build(&rt.settings)?;
    let app = Application::build(
        rt.settings.clone(),
        rt.pool.clone(),
        rt.secrets.clone(),
        hub.clone(),
        sandbox.clone(),
    )?;
    let (stop_workers, shutdown) = watch::channel(false);
    let workers = if rt.settings.tasks.workers > 0 {
        let ctx = worker_context(&rt, hub, sandbox).await?;
        crate::worker::spawn(ctx, rt.settings.tasks.workers, shutdown)
    } else {
        Vec::new()
    };
    tracing::info!(address = %rt.settings.listen, port = app.port(), "Drydock is listening");
    println!("Drydock is listening on http://{}:{}", rt.settings.listen.ip(), app.port());
    let result = app.run().await;
    tracing::info!("shutting down");
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    rt.shutdown().await?;
    Ok(result?)
}

async fn worker_context(
    rt: &Runtime,
    hub: Hub,
    sandbox: crate::sandboxes::Backend,
) -> anyhow::Result<crate::worker::WorkerContext> {
    let settings = std::sync::Arc::new(rt.settings.clone());
    crate::worker::WorkerContext::new(settings, rt.pool.clone(), hub, rt.secrets.clone(), sandbox)
        .await
}

async fn worker(settings: Settings) -> anyhow::Result<()> {
    let rt = Runtime::start(settings).await?;
    let hub = Hub::start(rt.database_url.expose_secret().to_owned());
    let (stop_workers, shutdown) = watch::channel(false);
    let count = rt.settings.tasks.workers.max(1);
    let sandbox = crate::sandboxes::build(&rt.settings)?;
    let workers = crate::worker::spawn(worker_context(&rt, hub, sandbox).await?, count, shutdown);
    println!("Drydock worker running {count} workers");
    shutdown_signal().await;
    tracing::info!("stopping workers");
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    rt.shutdown().await
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn user(rt: &Runtime, cmd: UserCommand) -> anyhow::Result<()> {
    let mut conn = rt.pool.get().await?;
    match cmd {
        UserCommand::Create { username, admin, password_stdin } => {
            if let Some(reason) = password::username_problem(&username) {
                anyhow::bail!("username {reason}");
            }
            let hash = if password_stdin {
                let mut password = String::new();
                std::io::stdin().read_to_string(&mut password)?;
                let password = password.trim_end_matches(['\r', '\n']).to_owned();
                if let Some(reason) = password::weakness(&password) {
                    anyhow::bail!("password {reason}");
                }
                Some(password::hash(password).await?)
            } else {
                None
            };
            if users::find_by_username(&mut conn, &username).await?.is_some() {
                anyhow::bail!("a user named `{username}` already exists");
            }
            let user = users::insert(
                &mut conn,
                NewUser {
                    id: Uuid::new_v4(),
                    username: &username,
                    name: None,
                    email: None,
                    avatar_url: None,
                    password_hash: hash.as_deref(),
                    is_admin: admin,
                    auth_provider: "local",
                },
            )
            .await?;
            println!("{}", user.id);
            eprintln!("created user {} ({})", user.username, if admin { "admin" } else { "user" });
        }
        UserCommand::List => {
            println!(
                "{:<36}  {:<24}  {:<6}  {:<8}  {:<8}  created",
                "id", "username", "admin", "provider", "disabled"
            );
            for u in users::list(&mut conn).await? {
                println!(
                    "{:<36}  {:<24}  {:<6}  {:<8}  {:<8}  {}",
                    u.id,
                    u.username,
                    u.is_admin,
                    u.auth_provider,
                    !u.is_active(),
                    u.created_at.to_rfc3339()
                );
            }
        }
        UserCommand::Invite { admin } => {
            let ttl = chrono::Duration::hours(rt.settings.auth.invite_ttl_hours.max(1));
            let (row, token) =
                crate::accounts::invites::create(&mut conn, None, admin, chrono::Utc::now() + ttl)
                    .await?;
            println!("{}", crate::admin::invites::invite_url(&rt.settings.web_base(), &token));
            eprintln!(
                "invitation {} ({}), valid until {}",
                row.id,
                if admin { "admin" } else { "user" },
                row.expires_at.to_rfc3339()
            );
        }
    }
    Ok(())
}

async fn token(rt: &Runtime, cmd: TokenCommand) -> anyhow::Result<()> {
    let mut conn = rt.pool.get().await?;
    match cmd {
        TokenCommand::Create { username, name, scopes, expires_in_days } => {
            let user = users::find_by_username(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user named `{username}`"))?;
            let scopes = if scopes.is_empty() {
                shared::tokens::TokenScope::ALL.to_vec()
            } else {
                scopes
                    .iter()
                    .map(|s| {
                        shared::tokens::TokenScope::parse(s.trim()).ok_or_else(|| {
                            anyhow::anyhow!("unknown scope `{s}` (read, write, tokens)")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let expires_at = expires_in_days
                .map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d.max(1))));
            let (_, secret) =
                tokens::create_with(&mut conn, user.id, &name, &scopes, expires_at).await?;
            let secret = SecretString::from(secret);
            println!("{}", secret.expose_secret());
        }
        TokenCommand::List { username } => {
            let user = users::find_by_username(&mut conn, &username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user named `{username}`"))?;
            println!(
                "{:<36}  {:<10}  {:<24}  {:<25}  {:<17}  {:<25}  last used",
                "id", "prefix", "name", "created", "scopes", "expires"
            );
            for t in tokens::list(&mut conn, user.id).await? {
                println!(
                    "{:<36}  {:<10}  {:<24}  {:<25}  {:<17}  {:<25}  {}",
                    t.id,
                    t.prefix,
                    t.name,
                    t.created_at.to_rfc3339(),
                    t.scopes.join(","),
                    t.expires_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into()),
                    t.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !tokens::revoke_any(&mut conn, id).await? {
                anyhow::bail!("no live token with id {id}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

async fn git_credentials(rt: &Runtime, cmd: GitCredentialsCommand) -> anyhow::Result<()> {
    use crate::git_credentials::{model, validate};
    let mut conn = rt.pool.get().await?;
    let user_named = |user: &str| format!("no user named `{user}`");
    match cmd {
        GitCredentialsCommand::Add { user, host, kind, api_url, token_env } => {
            let owner = users::find_by_username(&mut conn, &user)
                .await?
                .ok_or_else(|| anyhow::anyhow!(user_named(&user)))?;
            let token = match token_env {
                Some(var) => std::env::var(&var)
                    .map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?,
                None => {
                    let mut token = String::new();
                    std::io::stdin().read_to_string(&mut token)?;
                    token
                }
            };
            let body = validate::Submitted { kind, api_url, token };
            let checked = match validate::check(&rt.settings, &host, body) {
                Ok(checked) => checked,
                Err(crate::error::ApiError::Validation(errors)) => {
                    let reasons: Vec<String> = errors
                        .iter()
                        .flat_map(|(f, rs)| rs.iter().map(move |r| format!("{f} {r}")))
                        .collect();
                    anyhow::bail!("{}", reasons.join("; "))
                }
                Err(other) => return Err(other.into()),
            };
            let row = crate::git_credentials::store(&mut conn, &rt.secrets, owner.id, &checked)
                .await
                .map_err(|e| anyhow::anyhow!("storing the credential: {e}"))?;
            eprintln!("stored the {} token of {user} for {}", row.kind, row.host);
        }
        GitCredentialsCommand::List { user } => {
            let owner = users::find_by_username(&mut conn, &user)
                .await?
                .ok_or_else(|| anyhow::anyhow!(user_named(&user)))?;
            println!(
                "{:<32}  {:<7}  {:<40}  {:<6}  {:<25}  last used",
                "host", "kind", "api_url", "token", "updated"
            );
            for row in model::list(&mut conn, owner.id).await? {
                println!(
                    "{:<32}  {:<7}  {:<40}  {:<6}  {:<25}  {}",
                    row.host,
                    row.kind,
                    row.api_url.as_deref().unwrap_or("-"),
                    format!("…{}", row.token_last4),
                    row.updated_at.to_rfc3339(),
                    row.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
                );
            }
        }
        GitCredentialsCommand::Remove { user, host } => {
            let owner = users::find_by_username(&mut conn, &user)
                .await?
                .ok_or_else(|| anyhow::anyhow!(user_named(&user)))?;
            let host = shared::git_hosts::normalise_host(&host)
                .map_err(|reason| anyhow::anyhow!("host {reason}"))?;
            if !model::delete(&mut conn, owner.id, &host).await? {
                anyhow::bail!("{user} has no credential for {host}");
            }
            eprintln!("removed the token of {user} for {host}");
        }
    }
    Ok(())
}
