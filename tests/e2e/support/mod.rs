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

/// A bare repository whose default branch is `trunk`, with one commit: what tasks use as their
/// repository URL (typed into the task form).
pub struct BareRepo(fakes::git::BareRepo);

impl BareRepo {
    /// Creates `demo.git` with a README.
    pub fn new() -> Self {
        Self(fakes::git::BareRepo::named(
            "demo.git",
            "# Demo\n\nA project for Drydock's browser tests.\n",
        ))
    }

    /// The URL typed into the task form.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Path of the bare repository.
    pub fn path(&self) -> &Path {
        &self.0.path
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
