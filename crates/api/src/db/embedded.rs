//! The embedded default: a private PostgreSQL cluster under the data directory.
//!
//! It uses the system's `initdb` and `pg_ctl`, listens only on a unix socket inside the data
//! directory (no TCP port, so it never collides with another PostgreSQL), trusts local
//! connections (the socket directory is private to its owner), and is stopped on shutdown.
//! PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` system
//! user that the Debian package creates.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};
use tokio::process::Command;

/// The Debian/Ubuntu package that provides `initdb` and `pg_ctl`.
pub const PACKAGE_HINT: &str =
    "install PostgreSQL's server binaries (Debian/Ubuntu: `sudo apt-get install postgresql`), or set DATABASE_URL to use an existing server";

/// A running embedded cluster. Call [`EmbeddedPostgres::stop`] on shutdown.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data: PathBuf,
    run_as: Option<String>,
    /// Whether this process started the cluster (and so stops it). An operator command run
    /// beside `drydock serve` uses the running cluster and leaves it alone.
    owned: bool,
    /// Connection string for the cluster's `drydock` database.
    pub url: String,
}

const DB_USER: &str = "drydock";
const DB_NAME: &str = "drydock";
const PORT: u16 = 5432;

impl EmbeddedPostgres {
    /// Initialises the cluster on first use, starts it and makes sure the database exists.
    pub async fn start(data_dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let found = match bin_dir {
            Some(dir) => Some(dir.to_path_buf())
                .filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file()),
            None => find_bin_dir(),
        };
        let bin_dir = found.with_context(|| {
            format!("`initdb` and `pg_ctl` were not found on PATH or under /usr/lib/postgresql: {PACKAGE_HINT}")
        })?;
        let root = data_dir.join("postgres");
        let data = root.join("data");
        let socket_dir = root.join("run");
        std::fs::create_dir_all(&socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        let run_as =
            if nix::unistd::geteuid().is_root() { Some("postgres".to_owned()) } else { None };
        if let Some(user) = &run_as {
            chown_to(user, &root)?;
            chown_to(user, &socket_dir)?;
        }
        let mut this = Self {
            url: format!(
                "host={} port={PORT} user={DB_USER} dbname={DB_NAME}",
                socket_dir.display()
            ),
            bin_dir,
            data,
            run_as,
            owned: false,
        };
        if !this.data.join("PG_VERSION").exists() {
            tracing::info!(dir = %this.data.display(), "initialising the embedded PostgreSQL cluster");
            let data = this.data.display().to_string();
            this.run(
                "initdb",
                &["-D", &data, "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            )
            .await?;
        }
        if this.run("pg_ctl", &["-D", &this.data.display().to_string(), "status"]).await.is_ok() {
            this.ensure_database(&socket_dir).await?;
            return Ok(this);
        }
        let opts = format!("-c listen_addresses='' -k {} -p {PORT}", socket_dir.display());
        let log = root.join("postgres.log").display().to_string();
        let data = this.data.display().to_string();
        this.run("pg_ctl", &["-D", &data, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"])
            .await
            .with_context(|| format!("starting the embedded PostgreSQL (its log: {log})"))?;
        this.owned = true;
        this.ensure_database(&socket_dir).await?;
        tracing::info!(socket = %socket_dir.display(), "embedded PostgreSQL is running");
        Ok(this)
    }

    /// Stops the cluster if this process started it, waiting for it to shut down.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if !self.owned {
            return Ok(());
        }
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]).await?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    async fn ensure_database(&self, socket_dir: &Path) -> anyhow::Result<()> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let admin =
            format!("host={} port={PORT} user={DB_USER} dbname=postgres", socket_dir.display());
        let mut conn = AsyncPgConnection::establish(&admin)
            .await
            .context("connecting to the embedded cluster")?;
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}') AS exists"
        ))
        .get_result(&mut conn)
        .await?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE {DB_NAME}")).execute(&mut conn).await?;
        }
        Ok(())
    }

    async fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin_dir.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.args(args).stdin(Stdio::null()).env("LC_ALL", "C.UTF-8");
        let out = cmd.output().await.with_context(|| format!("running {}", program.display()))?;
        if !out.status.success() {
            bail!(
                "{tool} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

fn chown_to(user: &str, path: &Path) -> anyhow::Result<()> {
    let Some(account) = nix::unistd::User::from_name(user)? else {
        bail!("running as root needs the `{user}` system user to own the embedded cluster: {PACKAGE_HINT}");
    };
    nix::unistd::chown(path, Some(account.uid), Some(account.gid))
        .with_context(|| format!("giving {} to {user}", path.display()))?;
    // The parent directories must let that user reach the cluster.
    let mut dir = path.parent();
    while let Some(d) = dir {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(d) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let mut perms = meta.permissions();
                perms.set_mode(mode | 0o001);
                std::fs::set_permissions(d, perms)
                    .with_context(|| format!("opening {} for {user}", d.display()))?;
            }
        }
        dir = d.parent();
    }
    Ok(())
}

/// Finds a directory holding both `initdb` and `pg_ctl`: PATH first, then the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian keeps them off PATH).
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}
