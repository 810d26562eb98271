//! Typed configuration.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file (`--config FILE` or
//! `DRYDOCK_CONFIG`), then `DRYDOCK_*` environment variables, with `__` separating nested keys
//! (`DRYDOCK_GITHUB__CLIENT_ID`), plus `DATABASE_URL`. Every key and its default is listed in
//! README.md. Secrets are `SecretString`: they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// All settings of a Drydock process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Directory for the embedded database, the generated master key, sandboxes and tools.
    pub data_dir: PathBuf,
    /// External PostgreSQL; when absent, `serve` runs an embedded cluster under `data_dir`.
    pub database_url: Option<SecretString>,
    /// Connection pool.
    pub database: DatabaseSettings,
    /// Where `initdb` and `pg_ctl` live for the embedded cluster; searched when unset.
    pub pg_bin_dir: Option<PathBuf>,
    /// Base64 of 32 bytes; encrypts secrets at rest and signs session cookies.
    pub master_key: Option<SecretString>,
    /// Earlier master keys, still accepted for decryption during a rotation.
    pub previous_master_keys: Vec<SecretString>,
    /// The URL users reach Drydock at; used for OAuth redirects and to decide `Secure` cookies.
    pub public_url: Option<String>,
    /// Where the web app lives, when deployed apart from the API; sign-in redirects land there.
    /// Defaults to `public_url`.
    pub web_url: Option<String>,
    /// Origins allowed to call the API with credentials (the SPA on another host).
    pub cors_origins: Vec<String>,
    /// `text` or `json` logs.
    pub log_format: LogFormat,
    /// Directory of the built web app to serve at `/`; unset disables it.
    pub web_dir: Option<PathBuf>,
    /// Whether local username/password accounts can sign in.
    pub local_auth: bool,
    /// Browser session lifetime in hours, however active the session.
    pub session_ttl_hours: i64,
    /// A browser session unused for this many minutes ends.
    pub session_idle_minutes: i64,
    /// Drydock sits behind a reverse proxy it trusts: the client address is the last
    /// `X-Forwarded-For` entry and `X-Forwarded-Proto: https` makes cookies `Secure`. Off, both
    /// headers are ignored (anyone can send them).
    pub trust_proxy: bool,
    /// Who may sign in, and how hard one may try.
    pub auth: AuthSettings,
    /// Largest accepted JSON body in bytes.
    pub max_body_bytes: usize,
    /// Task queue, workers, quotas and limits.
    pub tasks: TaskSettings,
    /// The shared, read-only agent tool cache; `data_dir/tools` when unset.
    pub tools_dir: Option<PathBuf>,
    /// Run this executable instead of an agent's installed CLI, by agent id (a custom build,
    /// or the fake agent in tests). The rest of the invocation is unchanged.
    #[serde(default)]
    pub agent_binaries: std::collections::BTreeMap<String, PathBuf>,
    /// GitHub OAuth and API.
    pub github: GithubSettings,
    /// A second, generic OAuth2/OIDC sign-in provider.
    pub oidc: Option<OidcSettings>,
    /// Dev server previews (`[preview]`, see docs/preview.md).
    #[serde(default)]
    pub preview: PreviewSettings,
    /// Browser automation for agents (`[browser]`, see docs/security.md).
    #[serde(default)]
    pub browser: BrowserSettings,
}

/// Browser automation: the host's Chromium and the browser MCP server an agent gets when its
/// task sets `enable_browser`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserSettings {
    /// Offer browser automation at all (it is available only when both paths below exist).
    pub enabled: bool,
    /// The host's Chromium, bound read-only into the task's sandbox.
    pub chromium: PathBuf,
    /// The directory `scripts/install-deps.sh` installs the browser MCP server into
    /// (`tools/browser-mcp` of the source tree, with its `node_modules`), bound read-only.
    pub mcp_dir: PathBuf,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            chromium: PathBuf::from("/usr/bin/chromium"),
            mcp_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/browser-mcp")),
        }
    }
}

/// Dev server previews.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreviewSettings {
    /// `preview.example.com` (with a wildcard DNS record and certificate for
    /// `*.preview.example.com`): each task's preview is its own origin,
    /// `<scheme>://<task-id>.<domain>/`. May carry a port (`preview.localhost:8080`). Unset:
    /// previews are served under `/preview/<task-id>/` on the main origin, with the limits in
    /// docs/preview.md.
    pub domain: Option<String>,
    /// How long a preview link may be opened after it was made, in seconds.
    pub link_ttl_secs: u32,
    /// How long the preview cookie set by opening a link lasts, in minutes.
    pub cookie_minutes: u32,
    /// Start the dev server after each run of a kept-alive task when one is found.
    pub autostart: bool,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        Self { domain: None, link_ttl_secs: 60, cookie_minutes: 60, autostart: true }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Maximum open connections.
    pub pool_size: usize,
    /// How long a request waits for a free connection before a 503, in milliseconds.
    pub pool_timeout_ms: u64,
    /// How long opening a connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Server-side `statement_timeout`, in milliseconds.
    pub statement_timeout_ms: u64,
}

/// Who may sign in, and the throttling of the sign-in and token endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Whether people unknown to this server can make an account by signing in with an OAuth
    /// provider: `closed` (only administrators add people, by invitation) or `open`.
    pub registration: Registration,
    /// With `closed` registration, members of these GitHub organisations may still sign up
    /// with GitHub.
    pub allowed_github_orgs: Vec<String>,
    /// With `closed` registration, people whose provider-verified email is in one of these
    /// domains may still sign up.
    pub allowed_email_domains: Vec<String>,
    /// How long an invitation link works, in hours.
    pub invite_ttl_hours: i64,
    /// Sign-in, setup and token-creation attempts per minute, per client address and per
    /// account, once the burst is spent.
    pub attempts_per_minute: u32,
    /// Attempts allowed in a row before the per-minute rate applies.
    pub attempts_burst: u32,
    /// How long a process may answer who a token or session belongs to from memory, in
    /// seconds (0: ask the database every time). Revocation, disabling and sign-out reach every
    /// process at once through notifications; this bounds a lost one.
    pub cache_secs: u64,
}

/// Whether strangers may make accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Only administrators add people (invitations), plus the allow-lists.
    Closed,
    /// Anyone who signs in with a configured provider gets an account.
    Open,
}

/// Task queue, workers, quotas and limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSettings {
    /// Workers `serve` runs in-process (`drydock worker` runs its own).
    pub workers: usize,
    /// How long a claimed run stays a worker's without a heartbeat, in seconds. Another process
    /// recovers a run whose lease expired.
    pub lease_secs: u64,
    /// How often a worker renews its lease and checks for stop requests, in milliseconds.
    pub heartbeat_ms: u64,
    /// Tasks and follow-ups a user may start per UTC day, unless an admin sets their own.
    pub daily_quota: u32,
    /// Longest run a user may ask for, in minutes, unless an admin sets their own.
    pub max_duration_minutes: u32,
    /// Runs one user may have processing at once; more wait as `pending`/`queued`.
    pub per_user_concurrency: u32,
    /// Runs processing at once across all workers.
    pub global_concurrency: u32,
    /// Whether tasks may use local paths and `file://` URLs as repositories.
    pub allow_local_repos: bool,
    /// Kill an agent that writes nothing for this long, in seconds.
    pub agent_idle_timeout_secs: u64,
    /// How long an agent may keep running after its final result line, in seconds (headless
    /// CLIs are known to hang there).
    pub agent_exit_grace_secs: u64,
    /// How long a kept-alive sandbox survives after its last run, in minutes; also the longest
    /// a user may extend a live sandbox by (`POST /tasks/{id}/sandbox/extend`).
    pub keep_alive_minutes: u64,
    /// How long before a run's maximum duration, and before a kept-alive sandbox expires, a
    /// `warning` event is sent, in seconds.
    pub deadline_warning_secs: u64,
    /// A web terminal with no input (and no output while someone watches) for this long is
    /// closed and its processes killed, in minutes.
    pub terminal_idle_minutes: u64,
    /// How sandboxes reach the network: `brokered` (loopback only, everything through the
    /// egress proxy), `none`, or `host` (unfiltered; unsafe). `true`/`false` of earlier
    /// versions read as `host`/`none`. See docs/egress.md.
    pub sandbox_network: sandbox::NetworkMode,
    /// Endpoints brokered sandboxes may reach besides their routes and the registries: `host`,
    /// `host:port`, `*.domain`. An exact `host:port` also lets a private or loopback address
    /// through (an on-premises gateway).
    pub egress_allow: Vec<String>,
    /// Package registries and code hosts brokered sandboxes may reach.
    pub egress_registries: Vec<String>,
    /// The `drydock` binary brokered sandboxes run as their relay (`drydock sandbox-relay`);
    /// unset: this process's own executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_relay: Option<PathBuf>,
    /// Per-sandbox cgroups, the process and memory limits that bind even when Drydock runs as
    /// root: `auto` (cgroup v1 hierarchies, or v2 when the server is in the root cgroup), `off`,
    /// or the absolute path of a cgroup v2 directory delegated to Drydock (systemd
    /// `Delegate=yes`).
    pub sandbox_cgroups: String,
    /// Processes and threads one sandbox may have alive at once.
    pub sandbox_max_processes: u32,
    /// Memory of one sandbox as a whole, in MiB (needs a memory cgroup); 0 for no limit.
    pub sandbox_memory_mb: u64,
    /// CPU weight of each sandbox against the others (cgroup v2 units, 1-10000; 100 is a fair
    /// share; cgroup v1 `cpu.shares` = weight x 10.24); 0 for none.
    pub sandbox_cpu_weight: u32,
    /// Disk the workspace and HOME of one sandbox may use together, in MiB, measured every few
    /// seconds while a command runs; also the size of its `/tmp`. 0 for no limit.
    pub sandbox_disk_mb: u64,
    /// First host uid (and gid) handed to sandboxes when Drydock runs as root; the range must be
    /// used by no account or subordinate id range on the host.
    pub sandbox_uid_base: u32,
    /// How many uids from `sandbox_uid_base` on: at least the sandboxes alive at once (running
    /// plus kept alive) across every process sharing the data directory.
    pub sandbox_uid_count: u32,
    /// Most recent messages given as context to a follow-up that cannot resume a session.
    pub context_messages: usize,
    /// Author of the commits Drydock makes.
    pub git_author_name: String,
    /// Author email of the commits Drydock makes.
    pub git_author_email: String,
    /// Generate task titles, branch names and commit messages with a small model, through the
    /// task owner's own key (falling back to the prompt when they have none or the call fails).
    pub generate_names: bool,
    /// How long one such generation call may take, in milliseconds, before the fallback is used.
    pub generation_timeout_ms: u64,
    /// Largest part of a workspace file the API returns (`GET /tasks/{id}/file`); larger files
    /// come back truncated and say so.
    pub max_file_bytes: u64,
    /// Most output one run's agent may print, in MiB; past it the run is stopped and ends in
    /// error saying so (the event log and the server's memory stay bounded).
    pub max_output_mb: u64,
    /// Live event streams one user may hold open at once (see [`crate::throttle::StreamPermit`]).
    pub max_streams_per_user: u32,
    /// How long a process may answer a task read, a task list page or an event page's
    /// ownership check from memory, in seconds (0: ask the database every time). Every change
    /// reaches every process at once through notifications; this bounds a lost one.
    pub read_cache_secs: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// GitHub OAuth app and API endpoints; overridable for GitHub Enterprise and tests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSettings {
    /// OAuth app client id; sign-in with GitHub is enabled when set.
    pub client_id: Option<String>,
    /// OAuth app client secret.
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// REST API base URL.
    pub api_url: String,
    /// The web host repositories live on (`https://github.com`, or a GitHub Enterprise host):
    /// tasks whose `repo_url` is under it get pull requests, checks and comments.
    pub web_url: String,
    /// The Copilot API the Copilot CLI signed in with a GitHub token reaches through the
    /// credential broker (its `COPILOT_API_URL`).
    pub copilot_api_url: String,
}

/// A generic OAuth2/OIDC provider. `preset = "vercel"` fills in Vercel's endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// Fills in endpoints, scopes and name for a known provider.
    pub preset: Option<String>,
    /// Identifier in URLs; defaults to the preset name or `oidc`.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint.
    pub authorize_url: Option<String>,
    /// Token endpoint.
    pub token_url: Option<String>,
    /// Userinfo endpoint returning the profile as JSON.
    pub userinfo_url: Option<String>,
    /// Requested scopes.
    pub scopes: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Defaults {
    listen: String,
    data_dir: PathBuf,
    database: DatabaseSettings,
    previous_master_keys: Vec<String>,
    cors_origins: Vec<String>,
    log_format: LogFormat,
    local_auth: bool,
    session_ttl_hours: i64,
    session_idle_minutes: i64,
    trust_proxy: bool,
    auth: AuthSettings,
    max_body_bytes: usize,
    tasks: TaskSettings,
    github: GithubDefaults,
}

#[derive(Serialize)]
struct GithubDefaults {
    authorize_url: &'static str,
    token_url: &'static str,
    api_url: &'static str,
    web_url: &'static str,
    copilot_api_url: &'static str,
}

fn default_data_dir() -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("drydock"),
        _ => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".local/share/drydock"),
            None => PathBuf::from(".drydock"),
        },
    }
}

fn defaults() -> Defaults {
    Defaults {
        listen: "127.0.0.1:8080".into(),
        data_dir: default_data_dir(),
        database: DatabaseSettings {
            pool_size: 16,
            pool_timeout_ms: 5_000,
            connect_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
        },
        previous_master_keys: Vec::new(),
        cors_origins: Vec::new(),
        log_format: LogFormat::Text,
        local_auth: true,
        session_ttl_hours: 24 * 14,
        session_idle_minutes: 24 * 60,
        trust_proxy: false,
        auth: AuthSettings {
            registration: Registration::Closed,
            allowed_github_orgs: Vec::new(),
            allowed_email_domains: Vec::new(),
            invite_ttl_hours: 72,
            attempts_per_minute: 10,
            attempts_burst: 10,
            cache_secs: 30,
        },
        max_body_bytes: 1024 * 1024,
        tasks: TaskSettings {
            workers: 2,
            lease_secs: 15,
            heartbeat_ms: 1_000,
            daily_quota: 5,
            max_duration_minutes: 60,
            per_user_concurrency: 2,
            global_concurrency: 8,
            allow_local_repos: false,
            agent_idle_timeout_secs: 600,
            agent_exit_grace_secs: 10,
            keep_alive_minutes: 60,
            deadline_warning_secs: 60,
            terminal_idle_minutes: 15,
            // `brokered` becomes the default once the worker serves each run's egress proxy.
            sandbox_network: sandbox::NetworkMode::Brokered,
            egress_allow: Vec::new(),
            egress_registries: egress::DEFAULT_REGISTRIES.iter().map(|r| r.to_string()).collect(),
            sandbox_relay: None,
            sandbox_cgroups: "auto".into(),
            sandbox_max_processes: 512,
            sandbox_memory_mb: 0,
            sandbox_cpu_weight: 100,
            sandbox_disk_mb: 10 * 1024,
            sandbox_uid_base: 200_000,
            sandbox_uid_count: 1000,
            context_messages: 10,
            git_author_name: "Drydock".into(),
            git_author_email: "drydock@localhost".into(),
            generate_names: true,
            generation_timeout_ms: 8_000,
            max_file_bytes: 5 << 20,
            max_output_mb: 256,
            max_streams_per_user: 20,
            read_cache_secs: 10,
        },
        github: GithubDefaults {
            authorize_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            api_url: "https://api.github.com",
            web_url: "https://github.com",
            copilot_api_url: egress::DEFAULT_COPILOT_API,
        },
    }
}

impl Settings {
    /// Loads defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("DRYDOCK_").split("__").ignore(&["config"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(Box::new)
    }

    /// Settings for tests and tools: the defaults plus `overrides` as a TOML document, with no
    /// environment involved.
    pub fn from_toml(overrides: &str) -> Result<Self, Box<figment::Error>> {
        Self::from_toml_layers(&[overrides])
    }

    /// Like [`Settings::from_toml`] with several documents, later ones winning key by key.
    pub fn from_toml_layers(layers: &[&str]) -> Result<Self, Box<figment::Error>> {
        layers
            .iter()
            .fold(Figment::from(Serialized::defaults(defaults())), |f, layer| {
                f.merge(Toml::string(layer))
            })
            .extract()
            .map_err(Box::new)
    }

    /// The externally visible base URL, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The agent tool cache.
    pub fn tools_dir(&self) -> PathBuf {
        self.tools_dir.clone().unwrap_or_else(|| self.data_dir.join("tools"))
    }

    /// Where local sandboxes live.
    pub fn sandboxes_dir(&self) -> PathBuf {
        self.data_dir.join("sandboxes")
    }

    /// The operator's part of every run's egress policy (`tasks.egress_registries` and
    /// `tasks.egress_allow`); each run adds its broker routes and MCP connector hosts.
    pub fn egress_policy(&self) -> anyhow::Result<egress::Policy> {
        Ok(egress::Policy::from_config(&self.tasks.egress_registries, &self.tasks.egress_allow)?)
    }

    /// The local sandbox backend as configured. Build it once per process, through
    /// [`crate::sandboxes::build`].
    pub fn local_sandbox(&self) -> anyhow::Result<sandbox::LocalSandbox> {
        Ok(sandbox::LocalSandbox::new(self.sandbox_config()?)?)
    }

    /// The settings of the local sandbox backend.
    pub fn sandbox_config(&self) -> anyhow::Result<sandbox::LocalSandboxConfig> {
        // A bad allow entry is a startup error, not a surprise in the first run.
        self.egress_policy()?;
        let mut config = sandbox::LocalSandboxConfig::new(self.sandboxes_dir());
        let relay = self.tasks.sandbox_relay.clone().or_else(|| std::env::current_exe().ok());
        config.relay = relay.map(|program| sandbox::RelayProgram {
            program,
            args: vec![crate::cli::SANDBOX_RELAY.to_string()],
        });
        config.cgroups = cgroup_mode(&self.tasks.sandbox_cgroups)?;
        config.default_limits.max_processes = Some(self.tasks.sandbox_max_processes);
        config.default_limits.memory_bytes =
            (self.tasks.sandbox_memory_mb > 0).then_some(self.tasks.sandbox_memory_mb << 20);
        config.default_limits.cpu_weight =
            (self.tasks.sandbox_cpu_weight > 0).then_some(self.tasks.sandbox_cpu_weight);
        config.default_limits.disk_bytes =
            (self.tasks.sandbox_disk_mb > 0).then_some(self.tasks.sandbox_disk_mb << 20);
        config.uid_base = self.tasks.sandbox_uid_base;
        config.uid_count = self.tasks.sandbox_uid_count;
        // A stop must be answered within two seconds: a short grace for each signal, so even an
        // agent that ignores SIGINT and SIGTERM is gone about half a second after the request.
        config.kill = sandbox::KillPolicy {
            interrupt_grace: std::time::Duration::from_millis(250),
            terminate_grace: std::time::Duration::from_millis(250),
        };
        Ok(config)
    }

    /// The web app's base URL, without a trailing slash.
    pub fn web_base(&self) -> String {
        match &self.web_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.public_base(),
        }
    }

    /// Whether cookies must be `Secure`: Drydock is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_base().starts_with("https://")
    }
}

/// Parses `tasks.sandbox_cgroups`.
fn cgroup_mode(value: &str) -> anyhow::Result<sandbox::CgroupMode> {
    match value.trim() {
        "auto" => Ok(sandbox::CgroupMode::Auto),
        "off" => Ok(sandbox::CgroupMode::Off),
        path if Path::new(path).is_absolute() => Ok(sandbox::CgroupMode::V2(PathBuf::from(path))),
        other => anyhow::bail!(
            "tasks.sandbox_cgroups must be `auto`, `off` or the absolute path of a delegated cgroup \
             v2 directory, not {other:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_limits_and_uids_reach_the_backend() {
        let settings = Settings::from_toml(
            "[tasks]\nsandbox_disk_mb = 512\nsandbox_cpu_weight = 0\nsandbox_uid_base = 300000\n\
             sandbox_uid_count = 64\n",
        )
        .unwrap();
        let config = settings.sandbox_config().unwrap();
        assert_eq!(config.default_limits.disk_bytes, Some(512 << 20));
        assert_eq!(config.default_limits.cpu_weight, None, "0 turns the weight off");
        assert_eq!((config.uid_base, config.uid_count), (300_000, 64));
        let defaults = Settings::from_toml("").unwrap().sandbox_config().unwrap();
        assert_eq!(defaults.default_limits.disk_bytes, Some(10 << 30));
        assert_eq!(defaults.default_limits.cpu_weight, Some(100));
        assert_eq!((defaults.uid_base, defaults.uid_count), (200_000, 1000));
    }

    #[test]
    fn cgroup_modes_parse_and_nonsense_is_refused() {
        assert_eq!(cgroup_mode("auto").unwrap(), sandbox::CgroupMode::Auto);
        assert_eq!(cgroup_mode(" off ").unwrap(), sandbox::CgroupMode::Off);
        assert_eq!(
            cgroup_mode("/sys/fs/cgroup/drydock.service/sandboxes").unwrap(),
            sandbox::CgroupMode::V2("/sys/fs/cgroup/drydock.service/sandboxes".into())
        );
        let err = cgroup_mode("sometimes").unwrap_err().to_string();
        assert!(err.contains("tasks.sandbox_cgroups") && err.contains("sometimes"), "{err}");
    }

    #[test]
    fn network_modes_and_egress_lists_parse() {
        use sandbox::NetworkMode;
        let mode = |doc: &str| Settings::from_toml(doc).unwrap().tasks.sandbox_network;
        assert_eq!(mode("[tasks]\nsandbox_network = \"brokered\""), NetworkMode::Brokered);
        assert_eq!(mode("[tasks]\nsandbox_network = \"none\""), NetworkMode::None);
        assert_eq!(mode("[tasks]\nsandbox_network = true"), NetworkMode::Host);
        assert_eq!(mode("[tasks]\nsandbox_network = false"), NetworkMode::None);
        let err =
            Settings::from_toml("[tasks]\nsandbox_network = \"open\"").unwrap_err().to_string();
        assert!(err.contains("brokered, none, host"), "{err}");

        let settings =
            Settings::from_toml("[tasks]\negress_allow = [\"127.0.0.1:8089\", \"*.corp.example\"]")
                .unwrap();
        assert_eq!(settings.tasks.egress_allow, ["127.0.0.1:8089", "*.corp.example"]);
        assert!(settings.tasks.egress_registries.iter().any(|r| r == "registry.npmjs.org"));
        assert!(settings.egress_policy().unwrap().permits("git.corp.example", 443));
        let bad = Settings::from_toml("[tasks]\negress_allow = [\"https://x.example/\"]").unwrap();
        assert!(bad.egress_policy().unwrap_err().to_string().contains("not a URL"));
    }

    #[test]
    fn egress_allow_comes_from_the_environment_as_an_array() {
        // nextest runs each test in its own process, so this environment is the test's own.
        std::env::set_var("DRYDOCK_TASKS__EGRESS_ALLOW", r#"["127.0.0.1:8089", "gw.lan:443"]"#);
        std::env::set_var("DRYDOCK_TASKS__SANDBOX_NETWORK", "brokered");
        let settings = Settings::load(None).unwrap();
        assert_eq!(settings.tasks.egress_allow, ["127.0.0.1:8089", "gw.lan:443"]);
        assert_eq!(settings.tasks.sandbox_network, sandbox::NetworkMode::Brokered);
    }
}
