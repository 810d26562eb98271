//! `gc` and the cgroups of sandboxes that are gone. These need a cgroup the backend can create
//! (root with cgroup v1 `pids`, or a delegated v2 directory) and fail, never skip, without one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use chrono::Utc;
use drydock_sandbox::conformance::sh;
use drydock_sandbox::{LocalSandbox, Sandbox, SandboxSpec};

use crate::common::local_sandbox;

/// Creates sandbox `id`, runs a command in it, and returns its cgroup directories as recorded
/// in its metadata; panics when the backend made none.
async fn sandbox_with_cgroups(sandbox: &LocalSandbox, root: &Path, id: &str) -> Vec<PathBuf> {
    let handle = sandbox.create(SandboxSpec::new(id)).await.unwrap();
    let (outcome, _) = sh(sandbox, &handle, "true").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(id).join("sandbox.json")).unwrap())
            .unwrap();
    let dirs: Vec<PathBuf> = serde_json::from_value(meta["cgroups"].clone()).unwrap();
    assert!(
        !dirs.is_empty(),
        "these tests need a per-sandbox cgroup, but the backend made none (capabilities: {:?}); \
         run as root on cgroup v1 with a pids hierarchy, or set CgroupMode::V2",
        sandbox.capabilities()
    );
    for dir in &dirs {
        assert!(dir.is_dir(), "{} missing", dir.display());
    }
    dirs
}

/// Cgroup directories removed when dropped, so a failing test leaves none behind: once its
/// temporary data directory is gone, no `gc` would ever recognise them again.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A host process moved into a cgroup, killed when dropped.
struct Inside(Child);

impl Inside {
    fn start(cgroup: &Path) -> Self {
        let child = Inside(Command::new("sleep").arg("300").spawn().unwrap());
        std::fs::write(cgroup.join("cgroup.procs"), child.0.id().to_string()).unwrap();
        child
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn gc_removes_cgroups_whose_sandbox_directory_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let cgroups = sandbox_with_cgroups(&sandbox, root.path(), "deleted-by-hand").await;
    let kept = sandbox_with_cgroups(&sandbox, root.path(), "still-here").await;
    // Cgroups of the same parent that are not ours by name: made by an older Drydock, or
    // something else entirely. `gc` must not touch them.
    let parent = cgroups[0].parent().unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let foreign = [parent.join(format!("legacy-{suffix}")), parent.join(format!("x.{suffix}"))];
    let _cleanup = Cleanup([&cgroups[..], &kept, &foreign].concat());
    for dir in &foreign {
        std::fs::create_dir(dir).unwrap();
    }

    std::fs::remove_dir_all(root.path().join("deleted-by-hand")).unwrap();
    let reclaimed = sandbox.gc(Utc::now()).await.unwrap();

    assert!(reclaimed.is_empty(), "stale cgroups are not expired sandboxes: {reclaimed:?}");
    for dir in &cgroups {
        assert!(!dir.exists(), "stale cgroup {} survived gc", dir.display());
    }
    for dir in kept.iter().chain(&foreign) {
        assert!(dir.is_dir(), "gc removed {}", dir.display());
    }
    sandbox.destroy(&sandbox.open("still-here").await.unwrap()).await.unwrap();
}

#[tokio::test]
async fn gc_keeps_a_stale_cgroup_that_holds_processes() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let cgroups = sandbox_with_cgroups(&sandbox, root.path(), "escaped").await;
    let _cleanup = Cleanup(cgroups.clone());
    let inside = Inside::start(&cgroups[0]);
    std::fs::remove_dir_all(root.path().join("escaped")).unwrap();

    sandbox.gc(Utc::now()).await.unwrap();
    assert!(cgroups[0].is_dir(), "gc removed a cgroup with a live process in it");

    drop(inside);
    sandbox.gc(Utc::now()).await.unwrap();
    for dir in &cgroups {
        assert!(!dir.exists(), "{} survived gc once empty", dir.display());
    }
}

#[tokio::test]
async fn gc_leaves_other_data_directories_cgroups_alone() {
    let (root_a, root_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (local_sandbox(root_a.path()).await, local_sandbox(root_b.path()).await);
    // The same id in both: each data directory still gets its own cgroup.
    let cgroups_a = sandbox_with_cgroups(&a, root_a.path(), "same-id").await;
    let cgroups_b = sandbox_with_cgroups(&b, root_b.path(), "same-id").await;
    let _cleanup = Cleanup([&cgroups_a[..], &cgroups_b].concat());
    assert!(cgroups_a.iter().all(|dir| !cgroups_b.contains(dir)), "{cgroups_a:?} {cgroups_b:?}");

    std::fs::remove_dir_all(root_a.path().join("same-id")).unwrap();
    a.gc(Utc::now()).await.unwrap();

    assert!(cgroups_a.iter().all(|dir| !dir.exists()), "{cgroups_a:?} survived gc");
    assert!(cgroups_b.iter().all(|dir| dir.is_dir()), "gc of one data directory took another's");
    let handle = b.open("same-id").await.unwrap();
    let (outcome, _) = sh(&b, &handle, "true").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    b.destroy(&handle).await.unwrap();
}
