//! Shared setup.

use std::path::Path;

use drydock_sandbox::{LocalSandbox, LocalSandboxConfig};

/// A local backend in a fresh data directory; fails loudly when bubblewrap does not work.
pub async fn local_sandbox(root: &Path) -> LocalSandbox {
    local_sandbox_with(LocalSandboxConfig::new(root)).await
}

/// Host uids of this test process's own, as root: uid leases are kept per data directory, and
/// releasing one kills every process of that uid, so two tests running at once (each its own
/// data directory) must never draw the same uid. nextest runs each test in a process of its
/// own, and no two live processes share a pid.
pub fn own_uids(mut config: LocalSandboxConfig) -> LocalSandboxConfig {
    config.uid_base = 1_000_000 + (std::process::id() % 100_000) * 64;
    config.uid_count = 64;
    config
}

/// [`local_sandbox`] with a configuration of the test's own.
pub async fn local_sandbox_with(config: LocalSandboxConfig) -> LocalSandbox {
    let config = if config.uid_base == LocalSandboxConfig::new("/").uid_base {
        own_uids(config)
    } else {
        config
    };
    let sandbox = match LocalSandbox::new(config) {
        Ok(sandbox) => sandbox,
        Err(err) => panic!("bubblewrap is required for these tests: {err}"),
    };
    if let Err(err) = sandbox.check().await {
        panic!("bubblewrap is required for these tests: {err}");
    }
    sandbox
}

/// Runs git synchronously for test setup, with no user or system config; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Seed")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "Seed")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bare repository `root/name` whose default branch is `branch`, seeded with `files` files
/// (none: an empty repository).
pub fn bare_repo(root: &Path, name: &str, branch: &str, files: usize) -> std::path::PathBuf {
    let bare = root.join(name);
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "-b", branch]);
    if files > 0 {
        let seed = tempfile::tempdir().unwrap();
        git(seed.path(), &["init", "--quiet", "-b", branch]);
        for i in 0..files {
            let dir = seed.path().join(format!("src/d{}", i % 20));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("f{i}.txt")), format!("line one\nfile {i}\n")).unwrap();
        }
        std::fs::write(seed.path().join("README.md"), "# seed\n").unwrap();
        git(seed.path(), &["add", "-A"]);
        git(seed.path(), &["commit", "--quiet", "-m", "seed"]);
        git(
            seed.path(),
            &["push", "--quiet", bare.to_str().unwrap(), &format!("HEAD:refs/heads/{branch}")],
        );
    }
    bare
}
