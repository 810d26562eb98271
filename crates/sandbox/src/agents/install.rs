//! Installing a pinned npm package into the shared tool cache, from its committed lockfile, in
//! a sandbox with an empty environment.
//!
//! Layout: `<tools>/<agent>-<version>-<lock fingerprint>/node_modules/...`, plus a `.drydock-installed` marker
//! written last. The install runs in `<tools>/.tmp-<agent>-<version>-<unique>` and is renamed into
//! place, so a crash or a concurrent install never leaves a half-installed directory at the
//! final path.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use shared::agents::AgentKind;

use super::lockfile::{lockfile, Lockfile};
use super::{AgentError, AgentSpec};
use crate::local::plan::SystemMount;

const MARKER: &str = ".drydock-installed";

/// An agent CLI present in the tool cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledAgent {
    /// Which agent.
    pub kind: AgentKind,
    /// The installed version, read from the package's own `package.json`.
    pub version: String,
    /// The install directory.
    pub dir: PathBuf,
    /// The binary to run.
    pub binary: PathBuf,
    /// Whether this call installed it (false when it was already present).
    pub fresh: bool,
}

/// Installs the agent from its committed lockfile (see [`super::lockfile`]) unless present.
pub(super) fn npm_install(
    spec: &AgentSpec,
    tools_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<InstalledAgent, AgentError> {
    let (Some(package), Some(lock)) = (spec.package, lockfile(spec.kind)) else {
        return Err(AgentError::NotInstallable {
            agent: spec.kind.as_str(),
            reason: "not distributed on npm".into(),
        });
    };
    let fail = |message: String| AgentError::Install { package, version: spec.version, message };
    let dir = spec.install_dir(tools_dir);
    let binary = dir.join(spec.binary);
    if dir.join(MARKER).is_file() && binary.exists() {
        let version = installed_version(&dir, package).map_err(fail)?;
        return Ok(InstalledAgent { kind: spec.kind, version, dir, binary, fresh: false });
    }
    let npm = Npm::detect().map_err(fail)?;
    install_with(&npm, spec, package, &lock, tools_dir, progress).map_err(fail)
}

fn install_with(
    npm: &Npm,
    spec: &AgentSpec,
    package: &str,
    lock: &Lockfile,
    tools_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<InstalledAgent, String> {
    let dir = spec.install_dir(tools_dir);
    std::fs::create_dir_all(tools_dir).map_err(|e| e.to_string())?;
    let unique = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = tools_dir.join(format!(
        ".tmp-{}-{}-{}-{unique}",
        spec.kind.as_str(),
        spec.version,
        std::process::id()
    ));
    let spec_arg = format!("{package}@{}", spec.version);
    progress(&format!("npm ci {spec_arg} (locked, in a sandbox) into {}", dir.display()));
    let result = (|| {
        std::fs::create_dir(&tmp).map_err(|e| e.to_string())?;
        std::fs::write(tmp.join("package.json"), lock.manifest).map_err(|e| e.to_string())?;
        std::fs::write(tmp.join("package-lock.json"), lock.lock).map_err(|e| e.to_string())?;
        run(npm.command(&tmp, spec.install_scripts), progress)?;
        verify_locked(&tmp, lock)?;
        let tmp_binary = tmp.join(spec.binary);
        if !tmp_binary.exists() {
            return Err(format!("npm finished but {} is missing", tmp_binary.display()));
        }
        let version = installed_version(&tmp, package)?;
        if version != spec.version {
            return Err(format!("npm installed version {version}, expected {}", spec.version));
        }
        std::fs::write(tmp.join(MARKER), &version).map_err(|e| e.to_string())?;
        Ok(version)
    })();
    let version = match result {
        Ok(version) => version,
        Err(message) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(message);
        }
    };
    if let Err(err) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another installer won the race: its complete install is as good as ours.
        if !dir.join(MARKER).is_file() {
            return Err(format!("moving the install into place: {err}"));
        }
    }
    progress(&format!("installed {spec_arg}"));
    let binary = dir.join(spec.binary);
    Ok(InstalledAgent { kind: spec.kind, version, dir, binary, fresh: true })
}

/// Where the install directory appears inside the install sandbox.
const INSTALL_DIR: &str = "/install";

/// npm, run inside its own bubblewrap sandbox.
///
/// Only the install directory is writable; the host's system directories are read-only and
/// nothing else of the host (its home, Drydock's data directory, other tools) is there. The
/// environment is built from nothing, so no server secret or proxy setting reaches npm or a
/// package. It shares the host's network, because the registry is out there; lifecycle scripts
/// are off unless the agent's spec says its package needs them.
#[derive(Debug, Clone)]
pub(super) struct Npm {
    bwrap: PathBuf,
    npm: PathBuf,
    /// Directory holding `node`, first on `PATH`.
    node_bin: PathBuf,
    /// Node's installation prefix when it lives outside the system directories (nvm, /opt).
    node_prefix: Option<PathBuf>,
}

impl Npm {
    fn detect() -> Result<Self, String> {
        let find = |name: &str| {
            crate::local::find_program(Path::new(name)).ok_or_else(|| {
                format!("cannot find `{name}` on PATH; install Node.js 20+ with npm and bubblewrap")
            })
        };
        let bwrap = find("bwrap")?;
        let npm = find("npm")?;
        let node = std::fs::canonicalize(find("node")?).map_err(|e| e.to_string())?;
        let node_bin = node.parent().map(Path::to_path_buf).unwrap_or_default();
        let system = ["/usr", "/bin", "/lib", "/lib64", "/sbin"];
        let node_prefix = (!system.iter().any(|dir| node.starts_with(dir)))
            .then(|| node_bin.parent().map(Path::to_path_buf))
            .flatten();
        Ok(Self { bwrap, npm, node_bin, node_prefix })
    }

    fn command(&self, install_dir: &Path, scripts: bool) -> Command {
        let mut command = Command::new(&self.bwrap);
        command.env_clear();
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.node_bin.display());
        for (key, value) in [
            ("PATH", path.as_str()),
            ("HOME", "/tmp/home"),
            ("LANG", "C.UTF-8"),
            ("npm_config_cache", "/tmp/npm-cache"),
            ("npm_config_update_notifier", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_audit", "false"),
        ] {
            command.env(key, value);
        }
        command.args(sandbox_args(install_dir, self.node_prefix.as_deref()));
        // `npm install` beside the lockfile installs exactly the locked versions, checking each
        // tarball against its integrity hash. (`npm ci` would be stricter, but refuses lockfiles
        // that lack other platforms' optional packages, which npm itself leaves out of them.)
        // `verify_locked` then proves that nothing unlocked was installed.
        command.arg(&self.npm).args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
        ]);
        if !scripts {
            command.arg("--ignore-scripts");
        }
        command.current_dir("/");
        command
    }
}

/// The bubblewrap arguments for one install, up to and including `--`.
fn sandbox_args(install_dir: &Path, node_prefix: Option<&Path>) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "--unshare-user",
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--uid",
        "1000",
        "--gid",
        "1000",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let mut pair = |flag: &str, src: &Path, dest: &Path| {
        args.extend([flag.into(), src.as_os_str().to_owned(), dest.as_os_str().to_owned()]);
    };
    for mount in crate::local::plan::detect_system_mounts() {
        match mount {
            SystemMount::ReadOnly(path) => pair("--ro-bind", &path, &path),
            SystemMount::Symlink { path, target } => pair("--symlink", &target, &path),
        }
    }
    args.extend(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"].iter().map(Into::into));
    // After the private /tmp, so that a prefix or tool cache under /tmp is not hidden by it.
    let mut pair = |flag: &str, src: &Path, dest: &Path| {
        args.extend([flag.into(), src.as_os_str().to_owned(), dest.as_os_str().to_owned()]);
    };
    if let Some(prefix) = node_prefix {
        pair("--ro-bind", prefix, prefix);
    }
    pair("--bind", install_dir, Path::new(INSTALL_DIR));
    args.extend(["--remount-ro", "/", "--chdir", INSTALL_DIR, "--"].iter().map(Into::into));
    args
}

/// Checks npm's record of what it installed (`node_modules/.package-lock.json`) against the
/// committed lockfile: every installed package must be locked there with the same version and
/// integrity hash.
fn verify_locked(install_dir: &Path, lock: &Lockfile) -> Result<(), String> {
    let packages =
        |text: &str, what: &str| -> Result<serde_json::Map<String, serde_json::Value>, String> {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("{what} is not JSON: {e}"))?;
            json.get("packages")
                .and_then(serde_json::Value::as_object)
                .cloned()
                .ok_or_else(|| format!("{what} lists no packages"))
        };
    let record = install_dir.join("node_modules/.package-lock.json");
    let installed = std::fs::read_to_string(&record)
        .map_err(|e| format!("reading what npm installed ({}): {e}", record.display()))?;
    let installed = packages(&installed, "npm's install record")?;
    let locked = packages(lock.lock, "the committed lockfile")?;
    for (path, entry) in installed.iter().filter(|(path, _)| !path.is_empty()) {
        let field = |map: &serde_json::Value, key: &str| {
            map.get(key).and_then(|v| v.as_str()).map(str::to_string)
        };
        let pinned = locked.get(path);
        let same = pinned.is_some_and(|pinned| {
            field(pinned, "version") == field(entry, "version")
                && field(pinned, "integrity").is_some()
                && field(pinned, "integrity") == field(entry, "integrity")
        });
        if !same {
            return Err(format!(
                "npm installed {path} {} which the committed lockfile does not pin; refusing it",
                field(entry, "version").unwrap_or_default()
            ));
        }
    }
    Ok(())
}

fn run(mut command: Command, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run npm in its sandbox ({e})"))?;
    // Both pipes are drained on their own threads so neither can fill up and block npm.
    let (tx, rx) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || forward(out, &tx)));
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || forward(err, &tx)));
    }
    drop(tx);
    let mut tail: Vec<String> = Vec::new();
    for line in rx {
        progress(&line);
        tail.push(line);
        if tail.len() > 20 {
            tail.remove(0);
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm exited with {status}: {}", tail.join("\n")))
    }
}

fn forward(pipe: impl std::io::Read, tx: &mpsc::Sender<String>) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        if tx.send(line).is_err() {
            break;
        }
    }
}

fn installed_version(dir: &Path, package: &str) -> Result<String, String> {
    let manifest = dir.join("node_modules").join(package).join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    json.get("version")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{} has no version", manifest.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::agents::strategy_for;

    /// A stand-in for npm that records what it was given and what it can see, then lays out a
    /// package the way `npm ci` would.
    fn fake_npm(prefix: &Path, spec: &AgentSpec, probe: &Path) -> Npm {
        let bin = prefix.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let package = spec.package.unwrap();
        let script = format!(
            r#"#!/bin/sh
env > /install/env.txt
echo "$@" > /install/args.txt
test -e '{probe}' && echo host-file-visible >> /install/seen.txt
touch '{prefix}/planted' 2>/dev/null && echo prefix-writable >> /install/seen.txt
touch /usr/planted 2>/dev/null && echo usr-writable >> /install/seen.txt
test -r /install/package-lock.json && echo lock-present >> /install/seen.txt
mkdir -p 'node_modules/{package}' node_modules/.bin
echo '{{"version":"{version}"}}' > 'node_modules/{package}/package.json'
cp /install/package-lock.json node_modules/.package-lock.json
mkdir -p "$(dirname '{binary}')" && touch '{binary}'
"#,
            probe = probe.display(),
            prefix = prefix.display(),
            version = spec.version,
            binary = spec.binary,
        );
        let npm = bin.join("npm");
        std::fs::write(&npm, script).unwrap();
        std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
        Npm {
            bwrap: crate::local::find_program(Path::new("bwrap")).expect("bubblewrap is installed"),
            npm,
            node_bin: bin,
            node_prefix: Some(prefix.to_path_buf()),
        }
    }

    #[test]
    fn npm_runs_sandboxed_with_an_empty_environment_and_no_scripts() {
        let spec = strategy_for(AgentKind::Claude).spec();
        let host = tempfile::tempdir().unwrap();
        let probe = host.path().join("server-secret");
        std::fs::write(&probe, "secret").unwrap();
        let prefix = tempfile::tempdir().unwrap();
        let tools = tempfile::tempdir().unwrap();
        let npm = fake_npm(prefix.path(), spec, &probe);
        let lock = lockfile(spec.kind).unwrap();

        let installed =
            install_with(&npm, spec, spec.package.unwrap(), &lock, tools.path(), &mut |_| {})
                .expect("the fake install succeeds");

        assert_eq!(installed.dir, spec.install_dir(tools.path()));
        assert!(installed.fresh);
        let read =
            |name: &str| std::fs::read_to_string(installed.dir.join(name)).unwrap_or_default();
        let args = read("args.txt");
        assert!(args.starts_with("install --no-save "), "npm installs beside the lockfile: {args}");
        assert!(args.contains("--ignore-scripts"), "lifecycle scripts are off: {args}");
        // Only what the installer set, plus what the shell itself adds.
        let allowed = ["PATH", "HOME", "LANG", "PWD", "SHLVL", "_", "OLDPWD"];
        for line in read("env.txt").lines() {
            let key = line.split('=').next().unwrap_or_default();
            assert!(
                allowed.contains(&key) || key.starts_with("npm_config_"),
                "the server's environment leaked into the install: {key}"
            );
        }
        assert_eq!(read("seen.txt"), "lock-present\n", "npm saw more of the host than it may");
        assert!(!prefix.path().join("planted").exists());
    }

    #[test]
    fn a_package_the_lockfile_does_not_pin_is_refused() {
        let spec = strategy_for(AgentKind::Gemini).spec();
        let prefix = tempfile::tempdir().unwrap();
        let tools = tempfile::tempdir().unwrap();
        let mut npm = fake_npm(prefix.path(), spec, Path::new("/nonexistent"));
        // An npm that resolved something of its own: the record names a package the lock lacks.
        let script = std::fs::read_to_string(&npm.npm).unwrap().replace(
            "cp /install/package-lock.json node_modules/.package-lock.json",
            r#"echo '{"packages":{"":{},"node_modules/left-pad":{"version":"9.9.9","integrity":"sha512-x"}}}' > node_modules/.package-lock.json"#,
        );
        let rogue = prefix.path().join("bin/rogue-npm");
        std::fs::write(&rogue, script).unwrap();
        std::fs::set_permissions(&rogue, std::fs::Permissions::from_mode(0o755)).unwrap();
        npm.npm = rogue;
        let lock = lockfile(spec.kind).unwrap();

        let err = install_with(&npm, spec, spec.package.unwrap(), &lock, tools.path(), &mut |_| {})
            .unwrap_err();

        assert!(err.contains("node_modules/left-pad"), "{err}");
        assert!(
            !spec.install_dir(tools.path()).exists(),
            "nothing unlocked reaches the tool cache"
        );
    }

    #[test]
    fn a_failed_install_leaves_nothing_behind() {
        let spec = strategy_for(AgentKind::Codex).spec();
        let prefix = tempfile::tempdir().unwrap();
        let tools = tempfile::tempdir().unwrap();
        let mut npm = fake_npm(prefix.path(), spec, Path::new("/nonexistent"));
        let failing = prefix.path().join("bin/failing-npm");
        std::fs::write(&failing, "#!/bin/sh\necho 'npm error E404' >&2\nexit 1\n").unwrap();
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
        npm.npm = failing;
        let lock = lockfile(spec.kind).unwrap();

        let err = install_with(&npm, spec, spec.package.unwrap(), &lock, tools.path(), &mut |_| {})
            .unwrap_err();

        assert!(err.contains("E404"), "npm's own words reach the user: {err}");
        let left: Vec<_> = std::fs::read_dir(tools.path()).unwrap().collect();
        assert!(left.is_empty(), "no half-installed directory: {left:?}");
    }
}
