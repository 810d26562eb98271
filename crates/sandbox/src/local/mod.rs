//! The local backend: one bubblewrap (`bwrap`) sandbox per task on this machine.
//!
//! Layout of the data directory, one folder per sandbox:
//!
//! ```text
//! <root>/<id>/sandbox.json   metadata (see `metadata`), the only state
//! <root>/<id>/work/          /workspace, read-write
//! <root>/<id>/home/          /home/agent (HOME), lives as long as the sandbox
//! <root>/<id>/etc/           synthetic passwd and group
//! <root>/<id>/activity.lock  held shared by every running command (see `activity`)
//! <root>/<id>/execs/         one locked lease file per running command
//! <root>/.uids/<uid>         uid leases, when the server is root (see `identity`)
//! <root>/.homes/<name>/      HOMEs parked by destroyed sandboxes for the next one of that name
//! <root>/<id>/egress/        brokered sandboxes: where the host serves the egress socket
//! ```
//!
//! Each `exec` starts a fresh `bwrap` with new user, PID, IPC and UTS namespaces (and network,
//! unless [`NetworkMode::Host`]; a brokered command runs under the relay, see
//! [`crate::relay`]), no nested user namespaces, a seccomp filter (see `seccomp`), `/proc/sys`
//! read-only and no `/sys`, the host's system directories read-only, a private `/tmp`, and an
//! environment built from nothing. When the server is root, each sandbox runs as a host uid of
//! its own and owns its workspace and HOME; before each command, files the host wrote there as
//! root (a clone, a commit, configuration files) are handed to that uid (see `tree`). Limits: a
//! per-sandbox cgroup where one can be made (processes, memory, CPU weight), plus
//! `RLIMIT_NPROC`, `RLIMIT_FSIZE` and optionally `RLIMIT_AS` on the process tree, and a measured
//! disk quota on the workspace and HOME.

mod activity;
mod cgroup;
mod exec;
mod identity;
mod metadata;
pub(crate) mod plan;
mod pre_exec;
mod pty;
mod seccomp;
mod signals;
mod tree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use cgroup::CgroupMode;

use self::cgroup::CgroupRoots;
use self::exec::{DiskQuota, Watch};
use self::identity::{HostId, Identities};
use self::metadata::Metadata;
use self::plan::{NetworkPlan, PlanInput, SystemMount};
use self::pre_exec::{ChildSetup, Stage};
use self::signals::Running;
use crate::backend::Sandbox;
use crate::error::{Result, SandboxError};
use crate::files::{read_beneath, validate_relative, write_beneath};
use crate::spec::{
    validate_id, Capabilities, ExecOutcome, ExecRequest, FileRoot, IdleHold, KillPolicy, Limits,
    NetworkMode, OutputLine, Reclaimed, SandboxHandle, SandboxSpec, SandboxStatus, StopReason,
    EGRESS_SOCKET,
};
use crate::terminal::{TerminalRequest, TerminalSession};

/// The relay that brokered sandboxes run their commands under: invoked as
/// `<program> <args...> --listen ADDR --socket PATH -- <command...>` (see [`crate::relay`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayProgram {
    /// The executable on the host, bound read-only into the sandbox. It must run with only the
    /// sandbox's view of the file system (the host's `/usr` and `/lib`).
    pub program: PathBuf,
    /// Arguments before the relay's own (`["sandbox-relay"]` for the `drydock` binary).
    pub args: Vec<String>,
}

/// Settings of the local backend.
#[derive(Debug, Clone)]
pub struct LocalSandboxConfig {
    /// Data directory holding one folder per sandbox. Never visible inside a sandbox.
    pub root: PathBuf,
    /// The `bwrap` program; a bare name is looked up in `PATH`.
    pub bwrap: PathBuf,
    /// Grace periods of `kill`.
    pub kill: KillPolicy,
    /// Lifetime of a sandbox created without `keep_alive_until`, after which `gc` reclaims it
    /// (a safety net for workers that died before destroying theirs).
    pub default_lifetime: Duration,
    /// Limits used where the spec leaves one unset.
    pub default_limits: Limits,
    /// Where per-sandbox cgroups go.
    pub cgroups: CgroupMode,
    /// Output lines longer than this are split.
    pub max_line_bytes: usize,
    /// First host uid (and gid) handed to sandboxes when the server runs as root.
    pub uid_base: u32,
    /// How many uids from `uid_base` on: at least the sandboxes alive at once (running plus
    /// kept alive) across every process sharing the data directory.
    pub uid_count: u32,
    /// Time between two measurements of a sandbox's disk use while a command runs.
    pub disk_check_interval: Duration,
    /// The relay for [`NetworkMode::Brokered`] sandboxes; without one they cannot be created.
    pub relay: Option<RelayProgram>,
}

impl LocalSandboxConfig {
    /// Defaults for a data directory: 512 processes, 4 GiB files, a fair CPU share, 10 GiB of
    /// disk, uids 200000-200999 as root, a 24 h safety lifetime.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            bwrap: PathBuf::from("bwrap"),
            kill: KillPolicy::default(),
            default_lifetime: Duration::from_secs(24 * 3600),
            default_limits: Limits {
                max_processes: Some(512),
                max_file_size_bytes: Some(4 << 30),
                memory_bytes: None,
                address_space_bytes: None,
                cpu_weight: Some(100),
                disk_bytes: Some(10 << 30),
            },
            cgroups: CgroupMode::Auto,
            max_line_bytes: 1 << 20,
            uid_base: 200_000,
            uid_count: 1000,
            disk_check_interval: Duration::from_secs(5),
            relay: None,
        }
    }
}

/// How a command's session is set up (see `plan::PlanInput::terminal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// bwrap's `--new-session`: no controlling terminal.
    New,
    /// Standard input is a pseudo-terminal, made the controlling terminal of a new session.
    Terminal,
}

/// The bubblewrap backend. See the module documentation for the layout and the isolation.
#[derive(Debug)]
pub struct LocalSandbox {
    config: LocalSandboxConfig,
    bwrap: PathBuf,
    system: Vec<SystemMount>,
    cgroups: CgroupRoots,
    identities: Identities,
    seccomp: seccomp::Programs,
    /// Commands this process is running, by sandbox id, so `kill` can reach them. Only live
    /// processes are here; everything durable is on disk.
    running: Arc<RunningMap>,
    /// When this process last handed a sandbox's files to its uid (ns since the epoch), so
    /// the next hand-over looks only at what changed since. Missing means look at everything.
    handed_over: Mutex<HashMap<String, i128>>,
}

/// Commands in flight by sandbox id (`exec`s and terminals alike).
type RunningMap = Mutex<HashMap<String, Vec<Arc<Running>>>>;

const BACKEND: &str = "bubblewrap";
/// Sub-directory of a brokered sandbox holding the egress socket.
const EGRESS_DIR_NAME: &str = "egress";
/// Directory of the data root where destroyed sandboxes park their named HOMEs.
const HOMES_DIR: &str = ".homes";
const INSTALL_HINT: &str =
    "install bubblewrap (Debian/Ubuntu package `bubblewrap`: apt-get install bubblewrap)";

/// Whether a process is left in one of the sandbox's cgroups (code running, lease or not).
fn cgroup_holds_processes(meta: &Metadata) -> bool {
    meta.cgroups.iter().any(|d| {
        std::fs::read_to_string(d.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty())
    })
}

impl LocalSandbox {
    /// Hands what the host wrote in the workspace and HOME to the sandbox's uid (see
    /// `tree::hand_over`). A failure is logged: the command then meets files it cannot change,
    /// which it reports itself.
    async fn hand_over(&self, id: &str, identity: HostId) {
        let dir = self.dir(id);
        let dirs = [dir.join("work"), dir.join("home")];
        let host_uid = rustix::process::getuid().as_raw();
        // Only what changed since this process last looked (see `tree::walk`).
        let since = self.handed_over.lock().ok().and_then(|map| map.get(id).copied());
        let walked = tokio::task::spawn_blocking(move || {
            dirs.iter()
                .map(|d| tree::hand_over(d, host_uid, identity, since))
                .sum::<std::io::Result<usize>>()
        })
        .await;
        match walked {
            Ok(Ok(changed)) => {
                if changed > 0 {
                    tracing::debug!(changed, uid = identity.uid, "handed files to the sandbox");
                }
                // From the end of the walk: its own chowns changed the ctime of the directories
                // it handed over, which must not make them look changed next time. (The host does
                // not write into a sandbox while a command is being started in it.) The margin
                // covers the coarse clock behind ctime, a tick or two behind.
                if let Ok(mut map) = self.handed_over.lock() {
                    map.insert(id.to_string(), unix_nanos() - 50_000_000);
                }
            }
            Ok(Err(err)) => tracing::warn!(%err, "handing files to the sandbox"),
            Err(err) => tracing::warn!(%err, "handing files to the sandbox"),
        }
    }

    /// Prepares the backend: creates the data directory and looks at the host once. Does not
    /// run anything; call [`LocalSandbox::check`] at startup.
    pub fn new(config: LocalSandboxConfig) -> Result<Self> {
        std::fs::create_dir_all(&config.root).map_err(|e| {
            SandboxError::io(format!("creating sandbox root {}", config.root.display()), e)
        })?;
        set_mode(&config.root, 0o700)?;
        let bwrap = find_program(&config.bwrap).ok_or_else(|| SandboxError::Unavailable {
            reason: format!("`{}` was not found in PATH; {INSTALL_HINT}", config.bwrap.display()),
        })?;
        let seccomp = seccomp::programs().map_err(|e| SandboxError::Unavailable {
            reason: format!("building the seccomp filter: {e}"),
        })?;
        if let Some(relay) = &config.relay {
            if !relay.program.is_absolute() || !relay.program.is_file() {
                return Err(SandboxError::Unavailable {
                    reason: format!(
                        "the sandbox relay {} is not an absolute path to a program",
                        relay.program.display()
                    ),
                });
            }
        }
        Ok(Self {
            bwrap,
            system: plan::detect_system_mounts(),
            cgroups: CgroupRoots::detect(&config.cgroups, &config.root),
            identities: Identities::new(&config.root, config.uid_base, config.uid_count)?,
            seccomp,
            running: Arc::default(),
            handed_over: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// Proves that sandboxes work here by running `true` in a minimal one. The error names what
    /// is missing; there is no fallback to running without isolation.
    pub async fn check(&self) -> Result<()> {
        let mut command = tokio::process::Command::new(&self.bwrap);
        command
            .args(["--unshare-user", "--unshare-pid", "--die-with-parent"])
            .args(["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(10), command.output())
            .await
            .map_err(|_| SandboxError::Unavailable {
                reason: "`bwrap ... true` did not finish within 10 s".into(),
            })?
            .map_err(|e| SandboxError::Unavailable {
                reason: format!("cannot run {}: {e}; {INSTALL_HINT}", self.bwrap.display()),
            })?;
        if !output.status.success() {
            return Err(SandboxError::Unavailable {
                reason: format!(
                    "`bwrap ... true` failed ({}): {}; bubblewrap needs unprivileged user \
                     namespaces (sysctl kernel.unprivileged_userns_clone=1, \
                     user.max_user_namespaces > 0) or {INSTALL_HINT}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        self.round_trip().await
    }

    /// A real sandbox, with its own uid, the seccomp filter and the limits, running `true`.
    async fn round_trip(&self) -> Result<()> {
        let spec = SandboxSpec::new(format!("check-{}", uuid::Uuid::new_v4().simple()));
        let handle = self.create(spec).await?;
        let (tx, mut rx) = mpsc::channel(64);
        let mut request = ExecRequest::new(["true"]);
        request.timeout = Some(Duration::from_secs(10));
        let outcome = self.exec(&handle, request, tx).await;
        let mut said = Vec::new();
        while let Some(line) = rx.recv().await {
            said.push(line.line);
        }
        let destroyed = self.destroy(&handle).await;
        // As root, bwrap runs as the sandbox's uid: unprivileged user namespaces must be allowed
        // for that uid too, which the probe above (run as root) did not show.
        let hint = if self.identities.own() {
            "; as root, bubblewrap runs as each sandbox's own uid and needs unprivileged user \
             namespaces (user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 where \
             it exists, and on Ubuntu 23.10+ an AppArmor profile allowing bwrap or \
             kernel.apparmor_restrict_unprivileged_userns=0)"
        } else {
            ""
        };
        match outcome {
            Ok(outcome) if outcome.success() => destroyed,
            Ok(outcome) => Err(SandboxError::Unavailable {
                reason: format!(
                    "a sandbox could not run `true` ({outcome:?}): {}{hint}",
                    said.join(" / ")
                ),
            }),
            Err(err) => Err(SandboxError::Unavailable {
                reason: format!("a sandbox could not run `true`: {err}{hint}"),
            }),
        }
    }

    /// What isolation and which limits really apply here, for the log at start: one line per
    /// aspect, naming what enforces it (or that nothing does).
    pub fn isolation_report(&self) -> Vec<(&'static str, String)> {
        let limits = &self.config.default_limits;
        let mib = |bytes: u64| bytes >> 20;
        let cgroup = self.cgroups.version();
        let mut report = Vec::new();
        report.push((
            "identity",
            match &self.identities {
                Identities::Own { base, count, .. } => format!(
                    "a host uid of its own per sandbox, from {base} to {} (the server runs as \
                     root)",
                    u64::from(*base) + u64::from(*count) - 1
                ),
                Identities::Server(me) => format!(
                    "the server's uid {} (not root): sandboxes are not separated from each \
                     other or from the server's own files by uid",
                    me.uid
                ),
            },
        ));
        report.push((
            "kernel",
            format!(
                "seccomp filter ({} system calls refused, namespace flags of clone/unshare, \
                 TIOCSTI), no nested user namespaces, /proc/sys read-only, no /sys",
                seccomp::DENIED.len()
            ),
        ));
        report.push((
            "processes",
            match limits.max_processes {
                None => "not limited".into(),
                Some(n) if self.cgroups.limits_processes() => {
                    format!("{n} per sandbox (pids cgroup {cgroup}, and RLIMIT_NPROC)")
                }
                Some(n) if self.identities.own() => {
                    format!("{n} per sandbox (RLIMIT_NPROC of its uid; no pids cgroup)")
                }
                Some(n) => format!(
                    "{n} (RLIMIT_NPROC, counted over every process of the server's uid; no \
                     pids cgroup)"
                ),
            },
        ));
        report.push((
            "memory",
            match limits.memory_bytes {
                None => "not limited (tasks.sandbox_memory_mb = 0)".into(),
                Some(bytes) if self.cgroups.limits_memory() => {
                    format!("{} MiB per sandbox (memory cgroup {cgroup})", mib(bytes))
                }
                Some(bytes) => format!(
                    "NOT ENFORCED: {} MiB asked, but no memory cgroup is usable",
                    mib(bytes)
                ),
            },
        ));
        report.push((
            "cpu",
            match limits.cpu_weight {
                None => "no weight".into(),
                Some(weight) if self.cgroups.limits_cpu() => {
                    format!("weight {weight} per sandbox (cpu cgroup {cgroup})")
                }
                Some(weight) => {
                    format!("NOT ENFORCED: weight {weight} asked, but no cpu cgroup is usable")
                }
            },
        ));
        report.push((
            "disk",
            match limits.disk_bytes {
                None => "not limited".into(),
                Some(bytes) => format!(
                    "{} MiB of workspace and HOME per sandbox, measured every {} s while a \
                     command runs; /tmp is a tmpfs of that size",
                    mib(bytes),
                    self.config.disk_check_interval.as_secs_f64()
                ),
            },
        ));
        if let Some(bytes) = limits.max_file_size_bytes {
            report.push(("file size", format!("{} MiB per file (RLIMIT_FSIZE)", mib(bytes))));
        }
        report
    }

    /// The `bwrap` command running `argv` in the sandbox of `meta`, with every part of the
    /// isolation: the files handed to the sandbox's uid, the staged directories and the uid
    /// drop, limits and cgroup membership, the seccomp filter and the network plan. Standard
    /// streams are the caller's to set. `exec` and terminals both start their commands here,
    /// so the two cannot drift apart.
    async fn sandboxed_command(
        &self,
        meta: &Metadata,
        cwd: &str,
        argv: &[String],
        env: &[(String, String)],
        session: Session,
        expose: Option<&crate::spec::Expose>,
    ) -> Result<tokio::process::Command> {
        let cwd = if cwd.is_empty() {
            String::new()
        } else {
            validate_relative(cwd)?.to_string_lossy().into_owned()
        };
        let identity = self.identity_of(meta)?;
        let dir = self.dir(&meta.id);
        let mut setup = ChildSetup::new(&meta.limits, &meta.cgroups);
        if session == Session::Terminal {
            setup = setup.with_controlling_terminal();
        }
        // An exposed port is reached through the relay in the command's own network namespace;
        // with the host's network there is no namespace of its own to reach into.
        if expose.is_some() && meta.network == NetworkMode::Host {
            return Err(SandboxError::InvalidRequest(
                "exposing a port needs a sandbox with its own network (brokered or none), not \
                 the host's"
                    .into(),
            ));
        }
        let relay = match (meta.network, expose) {
            (NetworkMode::Brokered, _) | (NetworkMode::None, Some(_)) => {
                Some(self.relay()?.clone())
            }
            (NetworkMode::Host | NetworkMode::None, _) => None,
        };
        let expose = match expose {
            Some(expose) => {
                let listener = crate::ingress::bind(&expose.socket).map_err(|e| {
                    SandboxError::io(format!("binding {}", expose.socket.display()), e)
                })?;
                Some((setup.inherit(listener.into()), expose.port))
            }
            None => None,
        };
        let egress_dir = dir.join(EGRESS_DIR_NAME);
        let mut read_only: Vec<(PathBuf, PathBuf)> =
            meta.read_only.iter().map(|b| (b.source.clone(), b.target.clone())).collect();
        let (sandbox_dir, tools_dir, egress_dir, relay) = if self.identities.own() {
            self.hand_over(&meta.id, identity).await;
            let mut stage = Stage::default();
            for sub in ["work", "home", "etc"] {
                stage.add(&dir.join(sub), sub)?;
            }
            let tools = meta.tools_dir.as_deref().map(|t| stage.add(t, "tools")).transpose()?;
            for (i, (source, _)) in read_only.iter_mut().enumerate() {
                *source = stage.add(source, &format!("ro{i}"))?;
            }
            // The socket's directory and the relay are staged too: the sandbox's uid may not be
            // able to reach them where they are on the host.
            let (egress_dir, relay) = match relay {
                Some(relay) => {
                    let egress = if meta.network == NetworkMode::Brokered {
                        stage.add(&egress_dir, EGRESS_DIR_NAME)?
                    } else {
                        egress_dir
                    };
                    let program = stage.add(&relay.program, "relay")?;
                    (egress, Some(RelayProgram { program, ..relay }))
                }
                None => (egress_dir, None),
            };
            setup = setup.run_as_sandbox_user(stage, identity);
            (PathBuf::from(pre_exec::STAGE_DIR), tools, egress_dir, relay)
        } else {
            (dir.clone(), meta.tools_dir.clone(), egress_dir, relay)
        };
        let network = match (&relay, meta.network) {
            (Some(relay), NetworkMode::Brokered) => {
                NetworkPlan::Brokered { socket_dir: &egress_dir, relay }
            }
            (_, NetworkMode::Host) => NetworkPlan::Host,
            _ => NetworkPlan::None,
        };
        let exposed = match (expose, &relay) {
            (Some((fd, port)), Some(relay)) => Some(plan::Exposed { fd, port, relay }),
            _ => None,
        };
        let seccomp_fds = [
            setup.inherit(memfd("drydock-seccomp", &self.seccomp.deny)?),
            setup.inherit(memfd("drydock-seccomp-nosys", &self.seccomp.no_such_call)?),
        ];
        let args = plan::bwrap_args(&PlanInput {
            sandbox_dir: &sandbox_dir,
            system: &self.system,
            network,
            tools_dir: tools_dir.as_deref(),
            read_only: &read_only,
            cwd: &cwd,
            argv,
            seccomp_fds: &seccomp_fds,
            tmp_size: meta.limits.disk_bytes,
            terminal: session == Session::Terminal,
            exposed,
        });
        let mut command = tokio::process::Command::new(&self.bwrap);
        command
            .args(args)
            // Nothing of the server's environment reaches the sandbox; variables are passed to
            // bwrap's environment rather than its argv so they do not show in `ps` on the host.
            .env_clear()
            .envs(plan::command_env(&plan::network_env(&network), &meta.env, env));
        setup.install(&mut command);
        Ok(command)
    }

    /// The system calls the seccomp filter refuses outright (with `EPERM`), by name and number
    /// on this architecture. Argument filters come on top (see `docs/security.md`).
    pub fn denied_system_calls() -> &'static [(&'static str, i64)] {
        seccomp::DENIED
    }

    /// The host uid the sandbox's commands run as (the server's own when it is not root).
    pub fn host_uid(&self, handle: &SandboxHandle) -> Result<u32> {
        let meta = self.load(&handle.id)?;
        Ok(self.identity_of(&meta)?.uid)
    }

    /// The identity of a sandbox's commands. A sandbox recorded without one predates uids of
    /// their own: as root it would run as root, so it is refused.
    fn identity_of(&self, meta: &Metadata) -> Result<HostId> {
        match (meta.identity, &self.identities) {
            (Some(identity), _) => Ok(identity),
            (None, Identities::Server(me)) => Ok(*me),
            (None, Identities::Own { .. }) => Err(SandboxError::Unavailable {
                reason: format!(
                    "sandbox {} was created by an older Drydock without a uid of its own; start \
                     a fresh one",
                    meta.id
                ),
            }),
        }
    }

    /// The configuration this backend was built with.
    pub fn config(&self) -> &LocalSandboxConfig {
        &self.config
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.config.root.join(id)
    }

    fn load(&self, id: &str) -> Result<Metadata> {
        validate_id(id)?;
        let dir = self.dir(id);
        if !dir.join(metadata::FILE).exists() {
            return Err(SandboxError::NotFound { id: id.into() });
        }
        Metadata::load(&dir)
    }

    fn handle(&self, id: &str, network: NetworkMode) -> SandboxHandle {
        SandboxHandle {
            id: id.to_string(),
            host_workspace: Some(self.dir(id).join("work")),
            egress_socket: (network == NetworkMode::Brokered)
                .then(|| self.dir(id).join(EGRESS_DIR_NAME).join(EGRESS_SOCKET)),
            restored_home: false,
        }
    }

    fn parked_home(&self, name: &str) -> PathBuf {
        self.config.root.join(HOMES_DIR).join(name)
    }

    /// Moves the HOME parked under `name` to `home`; says whether there was one. The files keep
    /// their owner (the uid of the sandbox that wrote them), which `create` then changes.
    fn restore_home(&self, name: &str, home: &Path) -> Result<Option<u32>> {
        use std::os::unix::fs::MetadataExt;
        let parked = self.parked_home(name);
        let owner = match std::fs::symlink_metadata(&parked) {
            Ok(meta) if meta.is_dir() => meta.uid(),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SandboxError::io(format!("reading {}", parked.display()), e)),
        };
        match std::fs::rename(&parked, home) {
            Ok(()) => Ok(Some(owner)),
            // Another sandbox of the same name took it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SandboxError::io(format!("restoring HOME {name}"), e)),
        }
    }

    /// Parks `meta`'s HOME under its name, replacing an older one, before the sandbox goes.
    fn park_home(&self, meta: &Metadata) {
        let Some(name) = meta.home.as_deref() else {
            return;
        };
        let homes = self.config.root.join(HOMES_DIR);
        if let Err(e) = std::fs::create_dir(&homes) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                tracing::warn!(%e, "creating {}", homes.display());
                return;
            }
        }
        let _ = set_mode(&homes, 0o700);
        let parked = self.parked_home(name);
        match std::fs::remove_dir_all(&parked) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(%e, home = name, "removing an older parked HOME");
            }
            _ => {}
        }
        if let Err(e) = std::fs::rename(self.dir(&meta.id).join("home"), &parked) {
            tracing::warn!(%e, sandbox = %meta.id, "parking the sandbox's HOME");
        }
    }

    /// Processes (and threads) of the sandbox and its memory, from its cgroups; processes are
    /// counted by uid when it has a uid of its own and no pids cgroup.
    fn usage(&self, meta: &Metadata) -> (Option<u32>, Option<u64>, bool) {
        let read = |dir: &PathBuf, file: &str| {
            std::fs::read_to_string(dir.join(file)).ok().and_then(|t| t.trim().parse::<u64>().ok())
        };
        let mut processes = meta.cgroups.iter().find_map(|d| read(d, "pids.current"));
        let memory = meta
            .cgroups
            .iter()
            .find_map(|d| read(d, "memory.current").or_else(|| read(d, "memory.usage_in_bytes")));
        let in_cgroup = cgroup_holds_processes(meta);
        if processes.is_none() && self.identities.own() {
            if let Some(identity) = meta.identity {
                processes = Some(processes_of_uid(identity.uid));
            }
        }
        (processes.map(|n| u32::try_from(n).unwrap_or(u32::MAX)), memory, in_cgroup)
    }

    /// Waits (briefly) until the processes of a command that just ended have left the
    /// sandbox's cgroup: the outer bwrap is reaped before the kernel has finished tearing down
    /// the PID namespace below it, and until then `hold_idle` would refuse. Returns at once when
    /// another command holds a lease, since its processes share the cgroup.
    async fn wait_for_exits(&self, meta: &Metadata, dir: &Path) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            if !cgroup_holds_processes(meta)
                || activity::commands(dir) > 1
                || tokio::time::Instant::now() > deadline
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How `meta`'s commands reach the network.
    fn relay(&self) -> Result<&RelayProgram> {
        self.config.relay.as_ref().ok_or_else(|| SandboxError::Unavailable {
            reason: "brokered network needs a relay program (LocalSandboxConfig::relay)".into(),
        })
    }

    fn take_running(&self, id: &str) -> Vec<Arc<Running>> {
        self.running.lock().map(|r| r.get(id).cloned().unwrap_or_default()).unwrap_or_default()
    }

    fn forget_running(&self, id: &str, which: &Arc<Running>) {
        forget_running(&self.running, id, which);
    }

    async fn remove(&self, meta: &Metadata) -> Result<()> {
        self.kill(&self.handle(&meta.id, meta.network)).await?;
        if let Ok(mut map) = self.handed_over.lock() {
            map.remove(&meta.id);
        }
        cgroup::remove(&meta.cgroups).await;
        let dir = self.dir(&meta.id);
        self.park_home(meta);
        // Drop the metadata first: a half-removed directory is then no longer a sandbox.
        let _ = std::fs::remove_file(dir.join(metadata::FILE));
        let (identities, id, identity) = (self.identities.clone(), meta.id.clone(), meta.identity);
        tokio::task::spawn_blocking(move || {
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            // Last, once nothing of the sandbox is left for the uid's next holder.
            if let Some(identity) = identity {
                identities.release(&id, identity);
            }
            Ok(())
        })
        .await
        .map_err(|e| SandboxError::io("removing sandbox", std::io::Error::other(e)))?
        .map_err(|e| SandboxError::io(format!("removing sandbox {}", meta.id), e))
    }

    fn file_root(&self, handle: &SandboxHandle, root: FileRoot) -> Result<PathBuf> {
        self.load(&handle.id)?;
        Ok(self.dir(&handle.id).join(match root {
            FileRoot::Workspace => "work",
            FileRoot::Home => "home",
        }))
    }
}

#[async_trait]
impl Sandbox for LocalSandbox {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn check(&self) -> Result<()> {
        LocalSandbox::check(self).await
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            network_isolation: true,
            keep_alive: true,
            memory_limit: self.cgroups.limits_memory(),
            // Without a cgroup RLIMIT_NPROC is left, which binds every uid but root's; as root,
            // each sandbox has a uid of its own.
            process_limit: self.cgroups.limits_processes()
                || self.identities.own()
                || !rustix::process::getuid().is_root(),
            pid_namespace: true,
            host_workspace: true,
            own_uid: self.identities.own(),
            syscall_filter: true,
            cpu_weight: self.cgroups.limits_cpu(),
            disk_quota: true,
        }
    }

    async fn create(&self, spec: SandboxSpec) -> Result<SandboxHandle> {
        validate_id(&spec.id)?;
        if let Some(name) = &spec.home {
            validate_id(name)?;
        }
        if let (Some(tools), true) = (&spec.tools_dir, self.identities.own()) {
            check_readable_by_others(tools)?;
        }
        for bind in &spec.read_only {
            bind.validate()?;
            if self.identities.own() {
                check_readable_by_others(&bind.source)?;
            }
        }
        if spec.network == NetworkMode::Brokered {
            self.relay()?;
        }
        let dir = self.dir(&spec.id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(SandboxError::AlreadyExists { id: spec.id });
            }
            Err(e) => return Err(SandboxError::io(format!("creating {}", dir.display()), e)),
        }
        // After the directory, so that `gc` never frees a lease whose sandbox is being made.
        let identity = match self.identities.lease(&spec.id) {
            Ok(identity) => identity,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(err);
            }
        };
        let mut restored = None;
        let result = async {
            set_mode(&dir, 0o700)?;
            restored = match &spec.home {
                Some(name) => self.restore_home(name, &dir.join("home"))?,
                None => None,
            };
            for sub in ["work", "home", "etc"] {
                if sub == "home" && restored.is_some() {
                    continue;
                }
                std::fs::create_dir(dir.join(sub))
                    .map_err(|e| SandboxError::io(format!("creating {sub} of {}", spec.id), e))?;
            }
            if self.identities.own() {
                for sub in ["work", "home"] {
                    give(&dir.join(sub), identity)?;
                }
                // The parked files belong to the uid of the sandbox that wrote them; that uid may
                // be another sandbox's by now, so they become this one's. Walked like a hand-over:
                // no symlink followed, files with several links left alone.
                if let Some(old) = restored.filter(|old| *old != identity.uid) {
                    let home = dir.join("home");
                    let walked = tokio::task::spawn_blocking(move || {
                        tree::hand_over(&home, old, identity, None)
                    })
                    .await;
                    if !matches!(walked, Ok(Ok(_))) {
                        tracing::warn!(sandbox = %spec.id, "handing a restored HOME over failed");
                    }
                }
            }
            if spec.network == NetworkMode::Brokered {
                // Searchable by the sandbox's user, which connects to the socket inside.
                let egress = dir.join(EGRESS_DIR_NAME);
                std::fs::create_dir(&egress)
                    .map_err(|e| SandboxError::io(format!("creating egress of {}", spec.id), e))?;
                set_mode(&egress, 0o755)?;
            }
            std::fs::write(dir.join("etc/passwd"), plan::passwd_file())
                .and_then(|()| std::fs::write(dir.join("etc/group"), plan::group_file()))
                .map_err(|e| SandboxError::io("writing passwd", e))?;
            let limits = merge_limits(&spec.limits, &self.config.default_limits);
            let now = Utc::now();
            let lifetime = chrono::Duration::from_std(self.config.default_lifetime)
                .unwrap_or(chrono::Duration::days(1));
            let meta = Metadata {
                cgroups: self.cgroups.create(&spec.id, &limits),
                id: spec.id.clone(),
                created_at: now,
                expires_at: spec.keep_alive_until.unwrap_or(now + lifetime),
                network: spec.network,
                env: spec.env,
                limits,
                tools_dir: spec.tools_dir,
                identity: Some(identity),
                home: spec.home.clone(),
                read_only: spec.read_only,
            };
            meta.store(&dir)
        }
        .await;
        if let Err(err) = result {
            let _ = std::fs::remove_dir_all(&dir);
            let (identities, id) = (self.identities.clone(), spec.id.clone());
            let _ = tokio::task::spawn_blocking(move || identities.release(&id, identity)).await;
            return Err(err);
        }
        Ok(SandboxHandle {
            restored_home: restored.is_some(),
            ..self.handle(&spec.id, spec.network)
        })
    }

    async fn open(&self, id: &str) -> Result<SandboxHandle> {
        let meta = self.load(id)?;
        self.identity_of(&meta)?;
        Ok(self.handle(id, meta.network))
    }

    async fn exec(
        &self,
        handle: &SandboxHandle,
        request: ExecRequest,
        sink: mpsc::Sender<OutputLine>,
    ) -> Result<ExecOutcome> {
        let meta = self.load(&handle.id)?;
        if request.argv.is_empty() {
            return Err(SandboxError::InvalidRequest("argv is empty".into()));
        }
        let dir = self.dir(&meta.id);
        let mut command = self
            .sandboxed_command(
                &meta,
                &request.cwd,
                &request.argv,
                &request.env,
                Session::New,
                request.expose.as_ref(),
            )
            .await?;
        // Which socket this command bound, so that it removes only its own at the end: a
        // restart may already have bound a new one at the same path.
        let bound = request.expose.as_ref().and_then(|e| socket_identity(&e.socket));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let watch_cfg = Watch {
            timeout: request.timeout,
            idle_timeout: request.idle_timeout,
            policy: self.config.kill,
            max_line_bytes: self.config.max_line_bytes,
            disk: meta.limits.disk_bytes.map(|limit_bytes| DiskQuota {
                dirs: vec![dir.join("work"), dir.join("home")],
                limit_bytes,
                interval: self.config.disk_check_interval,
            }),
            stop: request.stop.clone(),
        };
        // Held until the command and everything it started are gone: other processes (the
        // change readers) learn from it that code runs here, and wait-free.
        let lease_dir = dir.clone();
        let lease = tokio::task::spawn_blocking(move || activity::begin(&lease_dir))
            .await
            .map_err(|e| SandboxError::io("taking the command lease", std::io::Error::other(e)))?
            .map_err(|e| SandboxError::io("taking the command lease", e))?;
        let mut registered = None;
        let outcome = exec::run(command, watch_cfg, sink, |running| {
            if let Ok(mut map) = self.running.lock() {
                map.entry(meta.id.clone()).or_default().push(running.clone());
            }
            registered = Some(running);
        })
        .await;
        if let Some(running) = registered {
            self.forget_running(&meta.id, &running);
        }
        self.wait_for_exits(&meta, &dir).await;
        drop(lease);
        if let Some(expose) = &request.expose {
            // Nobody accepts there any more; a later command binds it afresh.
            if bound.is_some() && socket_identity(&expose.socket) == bound {
                let _ = std::fs::remove_file(&expose.socket);
            }
        }
        outcome
    }

    async fn read_file(
        &self,
        handle: &SandboxHandle,
        root: FileRoot,
        path: &str,
    ) -> Result<Vec<u8>> {
        let base = self.file_root(handle, root)?;
        let path = path.to_string();
        tokio::task::spawn_blocking(move || read_beneath(&base, &path))
            .await
            .map_err(|e| SandboxError::io("reading file", std::io::Error::other(e)))?
    }

    async fn write_file(
        &self,
        handle: &SandboxHandle,
        root: FileRoot,
        path: &str,
        contents: &[u8],
    ) -> Result<()> {
        let base = self.file_root(handle, root)?;
        let (path, contents) = (path.to_string(), contents.to_vec());
        tokio::task::spawn_blocking(move || write_beneath(&base, &path, &contents))
            .await
            .map_err(|e| SandboxError::io("writing file", std::io::Error::other(e)))?
    }

    async fn kill(&self, handle: &SandboxHandle) -> Result<()> {
        let running = self.take_running(&handle.id);
        let policy = self.config.kill;
        let stops = running.iter().map(|r| r.stop(StopReason::Killed, policy)).collect::<Vec<_>>();
        for stop in stops {
            stop.await;
        }
        Ok(())
    }

    async fn destroy(&self, handle: &SandboxHandle) -> Result<()> {
        let meta = self.load(&handle.id)?;
        self.remove(&meta).await
    }

    async fn set_expiry(&self, handle: &SandboxHandle, until: DateTime<Utc>) -> Result<()> {
        let mut meta = self.load(&handle.id)?;
        meta.expires_at = until;
        meta.store(&self.dir(&handle.id))
    }

    async fn open_terminal(
        &self,
        handle: &SandboxHandle,
        request: TerminalRequest,
    ) -> Result<Box<dyn TerminalSession>> {
        Ok(Box::new(self.open_pty(handle, request).await?))
    }

    /// Besides expired sandboxes, removes empty cgroups this data directory made for sandboxes
    /// that no longer exist (see `CgroupRoots::collect_stale`). They are not reported: they have
    /// no expiry and no task to tell.
    async fn gc(&self, now: DateTime<Utc>) -> Result<Vec<Reclaimed>> {
        // Present means present: an entry we cannot inspect may still be a sandbox.
        let has_sandbox = |id: &str| match std::fs::symlink_metadata(self.dir(id)) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        };
        self.cgroups.collect_stale(&has_sandbox).await;
        self.identities.collect_stale(&has_sandbox).await;
        let entries = std::fs::read_dir(&self.config.root)
            .map_err(|e| SandboxError::io("listing sandboxes", e))?;
        let mut reclaimed = Vec::new();
        for entry in entries.flatten() {
            let Ok(meta) = Metadata::load(&entry.path()) else {
                continue;
            };
            if meta.expires_at <= now {
                self.remove(&meta).await?;
                reclaimed.push(Reclaimed { id: meta.id, expired_at: meta.expires_at });
            }
        }
        Ok(reclaimed)
    }

    async fn status(&self, handle: &SandboxHandle) -> Result<SandboxStatus> {
        let meta = self.load(&handle.id)?;
        let dir = self.dir(&handle.id);
        let (commands, (processes, memory_bytes, in_cgroup), disk) = {
            let measure = dir.clone();
            let disk = tokio::task::spawn_blocking(move || {
                let work = tree::disk_usage(&measure.join("work")).ok()?;
                let home = tree::disk_usage(&measure.join("home")).ok()?;
                Some(work + home)
            })
            .await
            .ok()
            .flatten();
            (activity::commands(&dir), self.usage(&meta), disk)
        };
        Ok(SandboxStatus {
            created_at: meta.created_at,
            expires_at: meta.expires_at,
            commands,
            busy: commands > 0 || in_cgroup,
            processes,
            memory_bytes,
            disk_bytes: disk,
        })
    }

    async fn hold_idle(&self, handle: &SandboxHandle) -> Result<Option<IdleHold>> {
        let meta = self.load(&handle.id)?;
        let dir = self.dir(&handle.id);
        let held = tokio::task::spawn_blocking(move || activity::hold_idle(&dir))
            .await
            .map_err(|e| SandboxError::io("holding the sandbox", std::io::Error::other(e)))?
            .map_err(|e| SandboxError::io("holding the sandbox", e))?;
        // A process left in the sandbox's cgroup is code running too, lease or not.
        let (_, _, in_cgroup) = self.usage(&meta);
        Ok(held.filter(|_| !in_cgroup).map(IdleHold::new))
    }

    async fn drop_home(&self, name: &str) -> Result<()> {
        validate_id(name)?;
        let parked = self.parked_home(name);
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&parked) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
        .map_err(|e| SandboxError::io("removing a parked HOME", std::io::Error::other(e)))?
        .map_err(|e| SandboxError::io("removing a parked HOME", e))
    }
}

/// Processes on the host whose owner is `uid` (a sandbox's own uid, when the server is root).
fn processes_of_uid(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().iter().all(u8::is_ascii_digit))
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .count() as u64
}

/// Drops `which` from the commands in flight of sandbox `id`.
fn forget_running(map: &RunningMap, id: &str, which: &Arc<Running>) {
    if let Ok(mut running) = map.lock() {
        if let Some(list) = running.get_mut(id) {
            list.retain(|r| !Arc::ptr_eq(r, which));
            if list.is_empty() {
                running.remove(id);
            }
        }
    }
}

/// The spec's limits, with the backend's defaults where the spec has none.
fn merge_limits(spec: &Limits, defaults: &Limits) -> Limits {
    Limits {
        max_processes: spec.max_processes.or(defaults.max_processes),
        max_file_size_bytes: spec.max_file_size_bytes.or(defaults.max_file_size_bytes),
        memory_bytes: spec.memory_bytes.or(defaults.memory_bytes),
        address_space_bytes: spec.address_space_bytes.or(defaults.address_space_bytes),
        cpu_weight: spec.cpu_weight.or(defaults.cpu_weight),
        disk_bytes: spec.disk_bytes.or(defaults.disk_bytes),
    }
}

fn unix_nanos() -> i128 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Makes `dir` the sandbox identity's, private to it.
fn give(dir: &Path, identity: HostId) -> Result<()> {
    let owner = Some(rustix::fs::Uid::from_raw(identity.uid));
    let group = Some(rustix::fs::Gid::from_raw(identity.gid));
    rustix::fs::chown(dir, owner, group).map_err(|e| {
        SandboxError::io(format!("giving {} to the sandbox", dir.display()), e.into())
    })?;
    set_mode(dir, 0o700)
}

/// The tools directory is mounted as it is: the sandbox's uid must be able to read it.
fn check_readable_by_others(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir)
        .map_err(|e| SandboxError::io(format!("reading {}", dir.display()), e))?;
    if meta.permissions().mode() & 0o005 == 0o005 {
        Ok(())
    } else {
        Err(SandboxError::InvalidRequest(format!(
            "the tools directory {} must be readable by other users (chmod o+rx): sandboxes \
             run as uids of their own",
            dir.display()
        )))
    }
}

/// A sealed-off in-memory file holding `contents`, positioned at its start, for bwrap to read.
fn memfd(name: &str, contents: &[u8]) -> Result<rustix::fd::OwnedFd> {
    use std::io::{Seek, Write};
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| SandboxError::io("creating a memfd", e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(contents)
        .and_then(|()| file.rewind())
        .map_err(|e| SandboxError::io("writing the seccomp filter", e))?;
    Ok(file.into())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| SandboxError::io(format!("securing {}", path.display()), e))
}

/// Device and inode of the socket file at `path` (not followed), to tell one bind from the next.
fn socket_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Resolves a program name against `PATH` once, so later spawns do not depend on the
/// environment (which we clear for the child).
pub(crate) fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}
