//! The embedded default: a private PostgreSQL cluster under the data directory.
//!
//! It uses the system's `initdb` and `pg_ctl` and listens only on a unix socket (no TCP port, so
//! it never collides with another PostgreSQL). Nothing on the machine but Drydock can use it:
//!
//! - the cluster directory and its socket directory are 0700, owned by the cluster's user;
//! - every connection authenticates with `scram-sha-256` and a generated password kept in
//!   `data_dir/postgres-password` (mode 0600, Drydock's own user); `pg_hba.conf` has one
//!   `local` line and is rewritten at every start;
//! - no directory outside the cluster's own has its mode changed.
//!
//! PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` system
//! user that the Debian package creates. That user cannot reach a cluster under a private home
//! (`/root` is 0700): then every `initdb`/`pg_ctl` runs in a private mount namespace where the
//! cluster directory is bind-mounted at [`MOUNTPOINT`], a path it can reach. The postmaster
//! stays in that namespace; Drydock connects through the socket's real path, which root can
//! traverse. A cluster made by an earlier version (which trusted local connections) gets its
//! password and the new `pg_hba.conf` at its next start.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use tokio::process::Command;

/// The Debian/Ubuntu package that provides `initdb` and `pg_ctl`.
pub const PACKAGE_HINT: &str =
    "install PostgreSQL's server binaries (Debian/Ubuntu: `sudo apt-get install postgresql`), or set DATABASE_URL to use an existing server";

/// Where the cluster directory appears to its `postgres` user when the data directory is out
/// of that user's reach. It exists only as an empty, root-owned directory outside the private
/// mount namespaces.
pub const MOUNTPOINT: &str = "/run/drydock-postgres";

/// File in the data directory holding the cluster's password.
pub const PASSWORD_FILE: &str = "postgres-password";

/// The only client authentication rule: local socket connections with the password.
const PG_HBA: &str = "# Written by Drydock at every start: local socket connections with the password only.\nlocal all all scram-sha-256\n";

/// A running embedded cluster. Call [`EmbeddedPostgres::stop`] on shutdown.
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    /// The cluster directory on this side (`data_dir/postgres`).
    root: PathBuf,
    /// The same directory as the cluster's user sees it: `root`, or [`MOUNTPOINT`].
    view: PathBuf,
    run_as: Option<String>,
    /// Whether the cluster's user reaches `root` only through the bind mount.
    namespaced: bool,
    /// Whether this process started the cluster (and so stops it). An operator command run
    /// beside `drydock serve` uses the running cluster and leaves it alone.
    owned: bool,
    password: SecretString,
    /// Connection string for the cluster's `drydock` database (carries the password).
    pub url: SecretString,
}

impl std::fmt::Debug for EmbeddedPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedPostgres")
            .field("root", &self.root)
            .field("run_as", &self.run_as)
            .field("namespaced", &self.namespaced)
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
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
        let run_as =
            if nix::unistd::geteuid().is_root() { Some("postgres".to_owned()) } else { None };
        for dir in [&root, &root.join("run")] {
            private_dir(dir, run_as.as_deref())?;
        }
        let mut this = Self {
            bin_dir,
            view: root.clone(),
            root,
            run_as,
            namespaced: false,
            owned: false,
            password: SecretString::from(String::new()),
            url: SecretString::from(String::new()),
        };
        if let Some(user) = this.run_as.clone() {
            if !this.reachable_by(&user).await {
                prepare_mountpoint()?;
                this.namespaced = true;
                this.view = PathBuf::from(MOUNTPOINT);
                tracing::info!(dir = %this.root.display(), user, mountpoint = MOUNTPOINT, "the cluster's user cannot reach the data directory; running the cluster in a private mount namespace");
            }
        }
        let password_path = data_dir.join(PASSWORD_FILE);
        this.password = match read_password(&password_path)? {
            Some(existing) => existing,
            None => {
                let fresh = SecretString::from(crate::crypto::random_token(24));
                write_password(&password_path, fresh.expose_secret())?;
                fresh
            }
        };
        if !this.root.join("data/PG_VERSION").exists() {
            this.initdb().await?;
        }
        let hba = this.root.join("data/pg_hba.conf");
        let current = std::fs::read_to_string(&hba).unwrap_or_default();
        let running = this.pg_ctl(&["status"]).await.is_ok();
        if current != PG_HBA && trusts_someone(&current) {
            // A cluster from an earlier version: it trusts local connections and its role has
            // no password yet. Give it the password while trust still lets us in, then close it.
            if !running {
                this.start_server().await?;
            }
            this.set_password().await?;
            this.write_hba(&hba)?;
            this.pg_ctl(&["reload"]).await?;
            tracing::info!("the embedded PostgreSQL now requires its password");
        } else {
            if current != PG_HBA {
                this.write_hba(&hba)?;
                if running {
                    this.pg_ctl(&["reload"]).await?;
                }
            }
            if !running {
                this.start_server().await?;
            }
        }
        this.url = SecretString::from(this.conninfo(DB_NAME));
        this.ensure_database().await?;
        tracing::info!(socket = %this.root.join("run").display(), "embedded PostgreSQL is running");
        Ok(this)
    }

    /// Stops the cluster if this process started it, waiting for it to shut down.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if !self.owned {
            return Ok(());
        }
        self.pg_ctl(&["-m", "fast", "-w", "stop"]).await?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    /// The socket directory, on this side.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    fn conninfo(&self, dbname: &str) -> String {
        // `random_token` is URL-safe base64: no quoting needed in a libpq key=value string.
        format!(
            "host={} port={PORT} user={DB_USER} password={} dbname={dbname}",
            self.socket_dir().display(),
            self.password.expose_secret()
        )
    }

    async fn reachable_by(&self, user: &str) -> bool {
        // `test -x` as that user walks every ancestor with that user's permissions (ACLs too).
        let out = Command::new("runuser")
            .args(["-u", user, "--", "test", "-x"])
            .arg(&self.root)
            .stdin(Stdio::null())
            .output()
            .await;
        out.is_ok_and(|o| o.status.success())
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.root.join("data").display(), "initialising the embedded PostgreSQL cluster");
        // initdb reads the password from a file; it lives inside the private cluster directory
        // for the few milliseconds initdb needs it.
        let pwfile = self.root.join("initdb-password");
        let _ = std::fs::remove_file(&pwfile);
        {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&pwfile)
                .with_context(|| format!("creating {}", pwfile.display()))?;
            file.write_all(self.password.expose_secret().as_bytes())?;
        }
        if let Some(user) = &self.run_as {
            chown_to(user, &pwfile)?;
        }
        let data = self.view.join("data").display().to_string();
        let pw = format!("--pwfile={}", self.view.join("initdb-password").display());
        let result = self
            .run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    DB_USER,
                    "--auth=scram-sha-256",
                    &pw,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
            .await;
        let _ = std::fs::remove_file(&pwfile);
        result
    }

    async fn start_server(&mut self) -> anyhow::Result<()> {
        let socket = self.view.join("run").display().to_string();
        let opts =
            format!("-c listen_addresses='' -c unix_socket_permissions=0700 -k {socket} -p {PORT}");
        let log = self.view.join("postgres.log").display().to_string();
        self.pg_ctl(&["-o", &opts, "-l", &log, "-w", "-t", "60", "start"]).await.with_context(
            || {
                format!(
                    "starting the embedded PostgreSQL (its log: {})",
                    self.root.join("postgres.log").display()
                )
            },
        )?;
        self.owned = true;
        Ok(())
    }

    async fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let data = self.view.join("data").display().to_string();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all).await
    }

    fn write_hba(&self, path: &Path) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(PG_HBA.as_bytes())?;
        if let Some(user) = &self.run_as {
            chown_to(user, path)?;
        }
        Ok(())
    }

    /// Connects without a password (only an old, trusting cluster lets that happen) and gives
    /// the role its password.
    async fn set_password(&self) -> anyhow::Result<()> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let url = format!(
            "host={} port={PORT} user={DB_USER} dbname=postgres",
            self.socket_dir().display()
        );
        let mut conn = AsyncPgConnection::establish(&url)
            .await
            .context("connecting to the embedded cluster to set its password")?;
        diesel::sql_query("SET password_encryption = 'scram-sha-256'").execute(&mut conn).await?;
        diesel::sql_query(format!(
            "ALTER ROLE {DB_USER} PASSWORD '{}'",
            self.password.expose_secret()
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    async fn ensure_database(&self) -> anyhow::Result<()> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(&self.conninfo("postgres"))
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
        let mut cmd = match (&self.run_as, self.namespaced) {
            (Some(user), true) => {
                // A new mount namespace of its own: the bind mount is seen by this command and
                // the postmaster it may start, nowhere else.
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
                    .arg(r#"mount --bind -- "$1" "$2" && shift 2 && exec "$@""#)
                    .arg("sh")
                    .arg(&self.root)
                    .arg(MOUNTPOINT)
                    .args(["runuser", "-u", user, "--"])
                    .arg(&program);
                c
            }
            (Some(user), false) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(&program);
                c
            }
            (None, _) => Command::new(&program),
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

/// Whether a `pg_hba.conf` has a `trust` rule (the kind earlier versions wrote).
fn trusts_someone(hba: &str) -> bool {
    hba.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .any(|l| l.split_whitespace().any(|w| w == "trust"))
}

/// Creates `dir` (or takes the existing one) as 0700, owned by the cluster's user.
fn private_dir(dir: &Path, owner: Option<&str>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        bail!("{} must be a directory, not a link or a file", dir.display());
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("closing {}", dir.display()))?;
    if let Some(user) = owner {
        chown_to(user, dir)?;
    }
    Ok(())
}

/// Makes sure [`MOUNTPOINT`] is an empty directory only root controls: the bind mount lands on
/// it, so another user must not be able to swap it for a link.
fn prepare_mountpoint() -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let path = Path::new(MOUNTPOINT);
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(path).with_context(|| format!("creating {MOUNTPOINT}"))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
        }
        Err(e) => return Err(e).with_context(|| format!("reading {MOUNTPOINT}")),
        Ok(meta) => {
            if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
                bail!("{MOUNTPOINT} must be a directory owned by root and writable only by root");
            }
        }
    }
    Ok(())
}

fn read_password(path: &Path) -> anyhow::Result<Option<SecretString>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(SecretString::from(text.trim().to_owned()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_password(path: &Path, password: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(password.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn chown_to(user: &str, path: &Path) -> anyhow::Result<()> {
    let Some(account) = nix::unistd::User::from_name(user)? else {
        bail!("running as root needs the `{user}` system user to own the embedded cluster: {PACKAGE_HINT}");
    };
    nix::unistd::chown(path, Some(account.uid), Some(account.gid))
        .with_context(|| format!("giving {} to {user}", path.display()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_rules_are_recognised_and_ours_is_not_one() {
        assert!(trusts_someone("local all all trust\nhost all all 127.0.0.1/32 trust\n"));
        assert!(!trusts_someone(PG_HBA));
        assert!(!trusts_someone("# trust nobody\nlocal all all peer\n"));
    }
}
