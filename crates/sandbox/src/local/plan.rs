//! Pure planning of a bubblewrap command line: policy in, argv out, no processes spawned.
//!
//! Keeping this separate from spawning lets the isolation rules be read and unit-tested on their
//! own.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::RelayProgram;
use crate::spec::{EGRESS_DIR, EGRESS_PORT, EGRESS_SOCKET, HOME_DIR, TOOLS_DIR, WORKSPACE_DIR};

/// The uid and gid commands run as inside the sandbox. Not root, because some agent CLIs refuse
/// to run unattended as root, and because root inside a user namespace is still more than an
/// agent needs.
pub(crate) const SANDBOX_UID: u32 = 1000;

/// One host path made visible in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SystemMount {
    /// Bind `path` read-only at the same place.
    ReadOnly(PathBuf),
    /// Recreate a host symlink such as `/bin -> usr/bin` (merged-/usr systems).
    Symlink {
        /// Where the link lives.
        path: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
}

/// Host directories shared read-only. `/etc` is only partly shared: enough for DNS, TLS and
/// locale, but not the host's accounts or service configuration.
const SYSTEM_PATHS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/ssl",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/mime.types",
];

/// Looks at the host once and decides how each system path is shared. Missing paths are left
/// out; symlinks are recreated rather than followed so that `/lib -> usr/lib` stays consistent.
pub(crate) fn detect_system_mounts() -> Vec<SystemMount> {
    SYSTEM_PATHS
        .iter()
        .filter_map(|p| {
            let path = PathBuf::from(p);
            let meta = std::fs::symlink_metadata(&path).ok()?;
            if meta.file_type().is_symlink() && !p.starts_with("/etc/") {
                let target = std::fs::read_link(&path).ok()?;
                Some(SystemMount::Symlink { path, target })
            } else {
                Some(SystemMount::ReadOnly(path))
            }
        })
        .collect()
}

/// Where the relay program appears inside a brokered sandbox.
pub(crate) const RELAY_PATH: &str = "/opt/drydock/relay";

/// How one command reaches the network.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NetworkPlan<'a> {
    /// Share the host's network namespace.
    Host,
    /// A namespace of its own with only loopback.
    None,
    /// Loopback only, with the relay forwarding [`EGRESS_PORT`] to the socket in `socket_dir`.
    Brokered {
        /// Host directory holding the egress socket, bound read-only at [`EGRESS_DIR`].
        socket_dir: &'a Path,
        /// The relay.
        relay: &'a RelayProgram,
    },
}

/// A port exposed to the host: the relay accepts on the inherited listening socket `fd` and
/// connects to `port` inside (see [`crate::ingress`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exposed<'a> {
    /// The listening socket's descriptor, inherited by bwrap and the relay.
    pub fd: i32,
    /// The port inside.
    pub port: u16,
    /// The relay.
    pub relay: &'a RelayProgram,
}

/// Everything that decides the shape of one sandboxed command line.
#[derive(Debug, Clone)]
pub(crate) struct PlanInput<'a> {
    /// `<root>/<id>`: holds `work/`, `home/` and `etc/`.
    pub sandbox_dir: &'a Path,
    /// Host system paths to share.
    pub system: &'a [SystemMount],
    /// How the command reaches the network.
    pub network: NetworkPlan<'a>,
    /// Host tools directory, mounted read-only at [`TOOLS_DIR`].
    pub tools_dir: Option<&'a Path>,
    /// More host paths (source, target inside), mounted read-only.
    pub read_only: &'a [(PathBuf, PathBuf)],
    /// Working directory relative to the workspace, already validated.
    pub cwd: &'a str,
    /// The command.
    pub argv: &'a [String],
    /// Descriptors holding the seccomp programs, inherited by bwrap.
    pub seccomp_fds: &'a [i32],
    /// Size of the private `/tmp` (a tmpfs, so memory) in bytes; `None` for the kernel default.
    pub tmp_size: Option<u64>,
    /// The command's standard streams are a pseudo-terminal of its own, already made its
    /// controlling terminal in a new session before bwrap runs (see `pre_exec`). bwrap's
    /// `--new-session` would detach the shell from it, so it is left out: the session it would
    /// make is already there, and no terminal of the server is reachable from it.
    pub terminal: bool,
    /// A port to expose to the host, which puts the command under the relay too.
    pub exposed: Option<Exposed<'a>>,
}

/// The bwrap arguments (without the `bwrap` program itself) for one command.
pub(crate) fn bwrap_args(input: &PlanInput<'_>) -> Vec<OsString> {
    let mut args = Args::default();
    args.flags(&[
        "--unshare-user",
        // No nested user namespaces: they hand the agent capabilities over kernel code that is
        // otherwise out of its reach. The seccomp filter refuses them too.
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--hostname",
        "drydock",
    ]);
    if !input.terminal {
        // A new session keeps the command away from any terminal of the server (TIOCSTI).
        args.flags(&["--new-session"]);
    }
    if !matches!(input.network, NetworkPlan::Host) {
        // bwrap brings up loopback in the new namespace.
        args.flags(&["--unshare-net"]);
    }
    args.flags(&["--uid", &SANDBOX_UID.to_string()]);
    args.flags(&["--gid", &SANDBOX_UID.to_string()]);
    for mount in input.system {
        match mount {
            SystemMount::ReadOnly(path) => args.pair("--ro-bind", path, path),
            SystemMount::Symlink { path, target } => args.pair("--symlink", target, path),
        }
    }
    let etc = input.sandbox_dir.join("etc");
    args.pair("--ro-bind", &etc.join("passwd"), Path::new("/etc/passwd"));
    args.pair("--ro-bind", &etc.join("group"), Path::new("/etc/group"));
    args.flags(&["--proc", "/proc"]);
    // Kernel tunables stay read-only whatever the uid (some are writable by a namespace's own
    // root); /sys is not mounted at all.
    args.pair("--ro-bind", Path::new("/proc/sys"), Path::new("/proc/sys"));
    args.pair("--ro-bind-try", Path::new("/proc/sysrq-trigger"), Path::new("/proc/sysrq-trigger"));
    args.flags(&["--dev", "/dev"]);
    if let Some(size) = input.tmp_size {
        args.flags(&["--size", &size.to_string()]);
    }
    args.flags(&["--tmpfs", "/tmp"]);
    for fd in input.seccomp_fds {
        args.flags(&["--add-seccomp-fd", &fd.to_string()]);
    }
    args.pair("--bind", &input.sandbox_dir.join("work"), Path::new(WORKSPACE_DIR));
    args.pair("--bind", &input.sandbox_dir.join("home"), Path::new(HOME_DIR));
    if let Some(tools) = input.tools_dir {
        args.pair("--ro-bind", tools, Path::new(TOOLS_DIR));
    }
    for (source, target) in input.read_only {
        args.pair("--ro-bind", source, target);
    }
    if let NetworkPlan::Brokered { socket_dir, .. } = input.network {
        // Read-only: connecting to a socket is not a write to its file system, and the agent
        // cannot put anything next to it.
        args.pair("--ro-bind", socket_dir, Path::new(EGRESS_DIR));
    }
    let relay = match (input.network, input.exposed) {
        (NetworkPlan::Brokered { relay, .. }, _) => Some(relay),
        (_, Some(exposed)) => Some(exposed.relay),
        _ => None,
    };
    if let Some(relay) = relay {
        args.pair("--ro-bind", &relay.program, Path::new(RELAY_PATH));
    }
    // bwrap builds the root on a private tmpfs; make it read-only so that only the workspace,
    // HOME, /tmp and /dev/shm (which POSIX shared memory and browsers need) are writable.
    args.flags(&["--remount-ro", "/"]);
    let cwd = Path::new(WORKSPACE_DIR).join(input.cwd);
    args.flags(&["--chdir"]);
    args.0.push(cwd.into_os_string());
    args.flags(&["--"]);
    if let Some(relay) = relay {
        args.flags(&[RELAY_PATH]);
        args.0.extend(relay.args.iter().map(OsString::from));
        if matches!(input.network, NetworkPlan::Brokered { .. }) {
            let listen = format!("127.0.0.1:{EGRESS_PORT}");
            let socket = format!("{EGRESS_DIR}/{EGRESS_SOCKET}");
            args.flags(&["--listen", &listen, "--socket", &socket]);
        }
        if let Some(exposed) = input.exposed {
            let (fd, port) = (exposed.fd.to_string(), exposed.port.to_string());
            args.flags(&["--expose-fd", &fd, "--expose-port", &port]);
        }
        args.flags(&["--"]);
    }
    args.0.extend(input.argv.iter().map(OsString::from));
    args.0
}

/// Variables every command of a brokered sandbox gets (before the sandbox's and the request's
/// own), so package managers, git and curl send their traffic through the egress proxy, and
/// requests to the broker itself go straight to it.
pub(crate) fn network_env(network: &NetworkPlan<'_>) -> Vec<(String, String)> {
    if !matches!(network, NetworkPlan::Brokered { .. }) {
        return Vec::new();
    }
    let proxy = format!("http://127.0.0.1:{EGRESS_PORT}");
    let no_proxy = "localhost,127.0.0.1,::1".to_string();
    [
        ("HTTP_PROXY", proxy.clone()),
        ("HTTPS_PROXY", proxy.clone()),
        ("http_proxy", proxy.clone()),
        ("https_proxy", proxy),
        ("NO_PROXY", no_proxy.clone()),
        ("no_proxy", no_proxy),
        // Node's own fetch ignores the variables above unless asked (Node 24+).
        ("NODE_USE_ENV_PROXY", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The synthetic `/etc/passwd`: only root, the agent user and nobody exist inside.
pub(crate) fn passwd_file() -> String {
    format!(
        "root:x:0:0:root:/root:/bin/sh\n\
         agent:x:{SANDBOX_UID}:{SANDBOX_UID}:Drydock agent:{HOME_DIR}:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
}

/// The synthetic `/etc/group`.
pub(crate) fn group_file() -> String {
    format!("root:x:0:\nagent:x:{SANDBOX_UID}:\nnogroup:x:65534:\n")
}

/// The environment of a command, built from nothing: defaults, then `network` (see
/// [`network_env`]), then the sandbox's base variables, then the request's. Later entries
/// override earlier ones with the same name.
pub(crate) fn command_env(
    network: &[(String, String)],
    base: &[(String, String)],
    request: &[(String, String)],
) -> Vec<(String, String)> {
    let defaults = [
        (
            "PATH",
            format!("{TOOLS_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ),
        ("HOME", HOME_DIR.to_string()),
        ("USER", "agent".to_string()),
        ("LOGNAME", "agent".to_string()),
        ("LANG", "C.UTF-8".to_string()),
        ("TMPDIR", "/tmp".to_string()),
    ];
    let mut env: Vec<(String, String)> =
        defaults.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (key, value) in network.iter().chain(base).chain(request) {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn flags(&mut self, flags: &[&str]) {
        self.0.extend(flags.iter().map(OsString::from));
    }

    fn pair(&mut self, flag: &str, src: &Path, dest: &Path) {
        self.0.push(flag.into());
        self.0.push(src.as_os_str().to_owned());
        self.0.push(dest.as_os_str().to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> RelayProgram {
        RelayProgram { program: "/usr/bin/drydock".into(), args: vec!["sandbox-relay".into()] }
    }

    fn plan(network: bool) -> Vec<String> {
        plan_with(if network { NetworkPlan::Host } else { NetworkPlan::None })
    }

    fn plan_with(network: NetworkPlan<'_>) -> Vec<String> {
        plan_full(network, false)
    }

    fn plan_full(network: NetworkPlan<'_>, terminal: bool) -> Vec<String> {
        let argv = vec!["echo".to_string(), "hi there".to_string()];
        let system = vec![SystemMount::ReadOnly("/usr".into())];
        bwrap_args(&PlanInput {
            sandbox_dir: Path::new("/data/sb/abc"),
            system: &system,
            network,
            tools_dir: Some(Path::new("/data/tools")),
            read_only: &[("/srv/chromium".into(), "/opt/chromium".into())],
            cwd: "repo",
            argv: &argv,
            seccomp_fds: &[5, 6],
            tmp_size: Some(1 << 20),
            terminal,
            exposed: None,
        })
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
    }

    #[test]
    fn network_off_unshares_the_network() {
        assert!(plan(false).contains(&"--unshare-net".to_string()));
        assert!(!plan(true).contains(&"--unshare-net".to_string()));
    }

    #[test]
    fn brokered_has_loopback_only_and_wraps_the_command_in_the_relay() {
        let relay = relay();
        let args =
            plan_with(NetworkPlan::Brokered { socket_dir: Path::new("/data/eg"), relay: &relay });
        let joined = args.join(" ");
        assert!(args.contains(&"--unshare-net".to_string()));
        assert!(joined.contains("--ro-bind /data/eg /run/drydock"));
        assert!(joined.contains("--ro-bind /usr/bin/drydock /opt/drydock/relay"));
        let at = args.iter().rposition(|a| a == "/opt/drydock/relay").unwrap();
        assert_eq!(
            args[at - 1..],
            [
                "--",
                "/opt/drydock/relay",
                "sandbox-relay",
                "--listen",
                "127.0.0.1:3128",
                "--socket",
                "/run/drydock/egress.sock",
                "--",
                "echo",
                "hi there"
            ]
        );
    }

    #[test]
    fn an_exposed_port_runs_the_command_under_the_relay_in_any_own_network() {
        let relay = relay();
        let argv = vec!["npm".to_string()];
        let system = vec![];
        let args = |network| -> Vec<String> {
            bwrap_args(&PlanInput {
                sandbox_dir: Path::new("/data/sb/abc"),
                system: &system,
                network,
                tools_dir: None,
                read_only: &[],
                cwd: "",
                argv: &argv,
                seccomp_fds: &[],
                tmp_size: None,
                terminal: false,
                exposed: Some(Exposed { fd: 9, port: 5173, relay: &relay }),
            })
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
        };
        let none = args(NetworkPlan::None);
        let at = none.iter().rposition(|a| a == "/opt/drydock/relay").unwrap();
        assert_eq!(
            none[at..],
            [
                "/opt/drydock/relay",
                "sandbox-relay",
                "--expose-fd",
                "9",
                "--expose-port",
                "5173",
                "--",
                "npm"
            ]
        );
        assert!(!none.join(" ").contains("/run/drydock"), "no egress without brokering");
        let brokered =
            args(NetworkPlan::Brokered { socket_dir: Path::new("/data/eg"), relay: &relay })
                .join(" ");
        assert!(brokered
            .contains("--socket /run/drydock/egress.sock --expose-fd 9 --expose-port 5173 -- npm"));
    }

    #[test]
    fn only_brokered_commands_get_proxy_variables() {
        let relay = relay();
        let brokered = NetworkPlan::Brokered { socket_dir: Path::new("/x"), relay: &relay };
        let env = network_env(&brokered);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HTTPS_PROXY"), Some("http://127.0.0.1:3128"));
        assert_eq!(get("http_proxy"), Some("http://127.0.0.1:3128"));
        assert!(get("NO_PROXY").is_some_and(|v| v.contains("127.0.0.1")));
        assert!(network_env(&NetworkPlan::Host).is_empty());
        assert!(network_env(&NetworkPlan::None).is_empty());
    }

    #[test]
    fn only_terminals_keep_their_session() {
        assert!(plan(true).contains(&"--new-session".to_string()));
        let terminal = plan_full(NetworkPlan::None, true);
        assert!(!terminal.contains(&"--new-session".to_string()));
        let joined = terminal.join(" ");
        assert!(joined.contains("--unshare-user --disable-userns --unshare-pid"));
        assert!(joined.contains("--add-seccomp-fd 5 --add-seccomp-fd 6"));
    }

    #[test]
    fn command_comes_last_unchanged() {
        let args = plan(true);
        assert_eq!(args[args.len() - 3..], ["--", "echo", "hi there"]);
    }

    #[test]
    fn workspace_home_and_tools_are_mounted() {
        let joined = plan(true).join(" ");
        assert!(joined.contains("--bind /data/sb/abc/work /workspace"));
        assert!(joined.contains("--bind /data/sb/abc/home /home/agent"));
        assert!(joined.contains("--ro-bind /data/tools /opt/drydock/tools"));
        assert!(joined.contains("--ro-bind /srv/chromium /opt/chromium"));
        assert!(joined.contains("--chdir /workspace/repo"));
        assert!(joined.contains("--unshare-pid"));
    }

    #[test]
    fn kernel_surface_is_narrowed() {
        let joined = plan(true).join(" ");
        assert!(joined.contains("--unshare-user --disable-userns"));
        assert!(joined.contains("--ro-bind /proc/sys /proc/sys"));
        assert!(joined.contains("--add-seccomp-fd 5 --add-seccomp-fd 6"));
        assert!(joined.contains("--size 1048576 --tmpfs /tmp"));
        assert!(!joined.contains("/sys /sys"), "/sys stays out");
    }

    #[test]
    fn env_starts_empty_and_later_entries_win() {
        let env = command_env(
            &[("A".into(), "0".into())],
            &[("A".into(), "1".into()), ("HOME".into(), "/x".into())],
            &[("A".into(), "2".into())],
        );
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("A"), Some("2"));
        assert_eq!(get("HOME"), Some("/x"));
        assert!(get("PATH").is_some_and(|p| p.starts_with("/opt/drydock/tools/bin")));
        assert_eq!(env.iter().filter(|(k, _)| k == "A").count(), 1);
    }
}
