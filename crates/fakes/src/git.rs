//! Local bare repositories as git remotes, for tests and benchmarks: real git, no network.

// A test fixture: it panics on broken setup rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` with a fixed identity and `trunk` as the default branch, panicking with
/// its stderr on failure; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "init.defaultBranch=trunk"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository whose default branch is `trunk`, with one commit (a README), in a
/// temporary directory that lives as long as the value.
pub struct BareRepo {
    _dir: tempfile::TempDir,
    /// Path of the bare repository (its name contains dots).
    pub path: PathBuf,
}

impl Default for BareRepo {
    fn default() -> Self {
        Self::new()
    }
}

impl BareRepo {
    /// Creates `team.project.git` with a one-line README.
    pub fn new() -> Self {
        Self::named("team.project.git", "# Project\n")
    }

    /// Creates a repository called `name` whose README says `readme`.
    pub fn named(name: &str, readme: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        git(&path, &["init", "--bare", "--initial-branch=trunk"]);
        let work = dir.path().join("seed");
        std::fs::create_dir(&work).unwrap();
        git(&work, &["init", "--initial-branch=trunk"]);
        std::fs::write(work.join("README.md"), readme).unwrap();
        git(&work, &["add", "."]);
        git(&work, &["commit", "-m", "initial"]);
        git(&work, &["push", path.to_str().unwrap(), "trunk"]);
        Self { _dir: dir, path }
    }

    /// The URL tasks use.
    pub fn url(&self) -> String {
        self.path.display().to_string()
    }

    /// Commits `files` (path, content) on `trunk` and pushes them.
    pub fn commit_files(&self, files: &[(&str, &str)], message: &str) {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        git(dir.path(), &["clone", "--quiet", self.path.to_str().unwrap(), "work"]);
        for (path, content) in files {
            let file = work.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, content).unwrap();
        }
        git(&work, &["add", "."]);
        git(&work, &["commit", "-m", message]);
        git(&work, &["push", "--quiet", "origin", "trunk"]);
    }

    /// Makes the remote refuse every push, as a protected repository would.
    pub fn reject_pushes(&self) {
        use std::os::unix::fs::PermissionsExt;
        let hook = self.path.join("hooks/pre-receive");
        std::fs::write(&hook, "#!/bin/sh\necho 'pushes are frozen for the release' >&2\nexit 1\n")
            .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Branches of the remote.
    pub fn branches(&self) -> Vec<String> {
        git(&self.path, &["for-each-ref", "--format=%(refname:short)", "refs/heads"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A file's content on a branch.
    pub fn show(&self, branch: &str, file: &str) -> String {
        git(&self.path, &["show", &format!("{branch}:{file}")])
    }
}

/// The `drydock-fake-agent` executable next to the running test or benchmark binary
/// (`target/<profile>/`), built first when it is missing.
pub fn fake_agent() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let target = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let bin = target.join("drydock-fake-agent");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "drydock-fake-agent"]);
        if target.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo build");
        assert!(status.success(), "building drydock-fake-agent failed");
    }
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}
