//! The end-to-end harness: a fresh PostgreSQL database, the real `drydock serve` as a child
//! process (serving `dist/`), a local bare git repository, and headless Chromium driven through
//! chromedriver with fantoccini.

pub mod browser;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use browser::Browser;
pub use server::Server;

/// The workspace root.
pub fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The built SPA; a missing build fails the test with what to run (never a silent skip).
pub fn dist_dir() -> PathBuf {
    let dist = workspace().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} has no index.html: build the web app first with `scripts/build-web.sh` \
         (the CI script does it before these tests)",
        dist.display()
    );
    dist
}

/// Where screenshots go (overwritten on every run).
pub fn screenshots_dir() -> PathBuf {
    let dir = workspace().join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("create docs/screenshots");
    dir
}

/// The directory holding the test's sibling binaries (`target/<profile>`).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

/// `drydock` and `drydock-fake-agent` from this target directory, built on demand.
pub fn binaries() -> (PathBuf, PathBuf) {
    let dir = bin_dir();
    let (server, agent) = (dir.join("drydock"), dir.join("drydock-fake-agent"));
    if !server.exists() || !agent.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "drydock-api", "-p", "drydock-fake-agent"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(workspace()).status().expect("run cargo build");
        assert!(status.success(), "building drydock and drydock-fake-agent failed");
    }
    assert!(server.exists(), "{} is missing", server.display());
    assert!(agent.exists(), "{} is missing", agent.display());
    (server, agent)
}

/// Runs git, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository whose default branch is `trunk`, with one commit.
pub struct BareRepo {
    _dir: tempfile::TempDir,
    /// Path of the bare repository: what tasks use as their repository URL.
    pub path: PathBuf,
}

impl BareRepo {
    /// Creates it with a README.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("demo.git");
        std::fs::create_dir(&path).expect("mkdir");
        git(&path, &["init", "--bare", "--initial-branch=trunk"]);
        let work = dir.path().join("seed");
        std::fs::create_dir(&work).expect("mkdir");
        git(&work, &["init", "--initial-branch=trunk"]);
        std::fs::write(
            work.join("README.md"),
            "# Demo\n\nA project for Drydock's browser tests.\n",
        )
        .expect("write");
        git(&work, &["add", "."]);
        git(&work, &["commit", "-m", "initial"]);
        git(&work, &["push", path.to_str().expect("utf-8 path"), "trunk"]);
        Self { _dir: dir, path }
    }

    /// The URL typed into the task form.
    pub fn url(&self) -> String {
        self.path.display().to_string()
    }
}

/// Polls `check` every 100 ms until it returns `Some`, panicking with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
