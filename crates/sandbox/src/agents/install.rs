//! Installing a pinned npm package into the shared tool cache.
//!
//! Layout: `<tools>/<agent>-<version>/node_modules/...`, plus a `.drydock-installed` marker
//! written last. The install runs in `<tools>/.tmp-<agent>-<version>-<unique>` and is renamed into
//! place, so a crash or a concurrent install never leaves a half-installed directory at the
//! final path.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use shared::agents::AgentKind;

use super::{AgentError, AgentSpec};

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

/// Runs `npm install --prefix <tmp> --no-audit --no-fund <pkg>@<version>` unless present.
pub(super) fn npm_install(
    spec: &AgentSpec,
    tools_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<InstalledAgent, AgentError> {
    let Some(package) = spec.package else {
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
    std::fs::create_dir_all(tools_dir)?;
    let unique = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = tools_dir.join(format!(
        ".tmp-{}-{}-{}-{unique}",
        spec.kind.as_str(),
        spec.version,
        std::process::id()
    ));
    let spec_arg = format!("{package}@{}", spec.version);
    progress(&format!("npm install {spec_arg} into {}", dir.display()));
    let result = run_npm(&tmp, &spec_arg, progress).and_then(|()| {
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
    });
    let version = match result {
        Ok(version) => version,
        Err(message) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(fail(message));
        }
    };
    if let Err(err) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another installer won the race: its complete install is as good as ours.
        if !dir.join(MARKER).is_file() {
            return Err(fail(format!("moving the install into place: {err}")));
        }
    }
    progress(&format!("installed {spec_arg}"));
    Ok(InstalledAgent { kind: spec.kind, version, dir, binary, fresh: true })
}

fn run_npm(prefix: &Path, spec_arg: &str, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    let mut child = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(prefix)
        .args(["--no-audit", "--no-fund", "--no-update-notifier", spec_arg])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run npm ({e}); install Node.js 20+ with npm"))?;
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
