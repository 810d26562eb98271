//! Host identities of sandboxes (uid leases, ownership of what the host writes, a private data
//! directory) and the limits that bind as root and as non-root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use drydock_sandbox::conformance::{run, sh, stdout};
use drydock_sandbox::git::{branch_name, Author, CloneRequest, Git};
use drydock_sandbox::{
    CgroupMode, ExecRequest, FileRoot, LocalSandboxConfig, Sandbox, SandboxSpec, StopReason,
};

use crate::common::{bare_repo, local_sandbox, local_sandbox_with};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn a_private_data_directory_stays_private_and_works() {
    // Like /root/.local/share/drydock: the home is 0700 and owned by root.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("root-home");
    let data = home.join(".local/share/drydock");
    let tools = data.join("tools");
    std::fs::create_dir_all(tools.join("bin")).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(tools.join("bin/hello"), "#!/bin/sh\necho hello from tools\n").unwrap();
    std::fs::set_permissions(tools.join("bin/hello"), std::fs::Permissions::from_mode(0o755))
        .unwrap();
    let sandbox = local_sandbox(&data.join("sandboxes")).await;
    let mut spec = SandboxSpec::new("private-home");
    spec.tools_dir = Some(tools.clone());
    let handle = sandbox.create(spec).await.unwrap();
    let (outcome, out) =
        sh(&sandbox, &handle, "hello && echo data > /workspace/x && cat /workspace/x && ls -d ~")
            .await;
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert_eq!(out, ["hello from tools", "data", "/home/agent"]);
    let written = handle.host_workspace.clone().unwrap().join("x");
    assert_eq!(std::fs::metadata(&written).unwrap().uid(), sandbox.host_uid(&handle).unwrap());
    assert_eq!(mode(&home), 0o700, "the operator's home was not opened");
    assert_eq!(mode(&data.join("sandboxes")), 0o700);
    assert_eq!(mode(&data.join("sandboxes/private-home")), 0o700);
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn the_agent_can_change_what_the_host_wrote_and_the_host_can_commit_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "origin.git", "main", 3);
    let sandbox = local_sandbox(&tmp.path().join("sandboxes")).await;
    let handle = sandbox.create(SandboxSpec::new("handover")).await.unwrap();
    let uid = sandbox.host_uid(&handle).unwrap();
    let workspace = handle.host_workspace.clone().unwrap();
    // The host clones as root (a local clone hard-links the origin's objects) and writes a
    // configuration file into HOME.
    let git = Git::new().allow_local(true);
    let repo = git
        .clone_repo(&CloneRequest {
            url: bare.to_string_lossy().into_owned(),
            dest: workspace.join("repo"),
            credentials: None,
            base_branch: None,
            branch: branch_name("Hand over"),
        })
        .await
        .unwrap();
    sandbox.write_file(&handle, FileRoot::Home, ".config/agent.json", b"{}").await.unwrap();
    assert_eq!(std::fs::metadata(workspace.join("repo/README.md")).unwrap().uid(), 0);

    let agent_commit = "cd repo && echo agent >> README.md && git add -A && \
        git -c user.name=A -c user.email=a@example.com commit -qm by-agent && \
        echo '{\"k\":1}' > ~/.config/agent.json && echo changed";
    let (outcome, out) = sh(&sandbox, &handle, agent_commit).await;
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert_eq!(out, ["changed"]);
    let readme = std::fs::metadata(workspace.join("repo/README.md")).unwrap();
    assert_eq!(readme.uid(), uid, "handed over before the command");

    // Host git, as root on a tree another uid owns: no "dubious ownership".
    std::fs::write(workspace.join("repo/host.txt"), "from the host\n").unwrap();
    let author = Author { name: "Drydock".into(), email: "d@example.com".into() };
    let commit = git.commit_all(&repo, "by host", &author).await.unwrap();
    assert!(commit.is_some());
    // The host's new objects are the agent's at its next command.
    let (outcome, out) = sh(
        &sandbox,
        &handle,
        "cd repo && echo again >> host.txt && git add -A && \
         git -c user.name=A -c user.email=a@example.com commit -qm again && git log --format=%s",
    )
    .await;
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert_eq!(out[..3], ["again", "by host", "by-agent"]);
    // Objects hard-linked from the origin stay root's: giving them away would let the agent
    // write the origin's copy.
    let linked: Vec<_> = walk_files(&workspace.join("repo/.git/objects"))
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().nlink() > 1)
        .collect();
    assert!(!linked.is_empty(), "a local clone hard-links objects");
    for path in linked {
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0, "{}", path.display());
    }
    sandbox.destroy(&handle).await.unwrap();
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn uids_are_unique_across_processes_and_freed_on_destroy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sandboxes");
    // Two backends on one data directory stand for two processes sharing it.
    let first = Arc::new(local_sandbox(&root).await);
    let second = Arc::new(local_sandbox(&root).await);
    let mut creating = tokio::task::JoinSet::new();
    for i in 0..8 {
        let backend = if i % 2 == 0 { first.clone() } else { second.clone() };
        creating.spawn(async move { backend.create(SandboxSpec::new(format!("lease-{i}"))).await });
    }
    let handles: Vec<_> = creating.join_all().await.into_iter().map(Result::unwrap).collect();
    let mut uids: Vec<u32> = handles.iter().map(|h| first.host_uid(h).unwrap()).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), 8, "{uids:?}");
    let leases = root.join(".uids");
    assert_eq!(std::fs::read_dir(&leases).unwrap().count(), 8);
    for handle in &handles {
        second.destroy(handle).await.unwrap();
    }
    assert_eq!(std::fs::read_dir(&leases).unwrap().count(), 0, "every lease freed");
}

#[tokio::test]
async fn gc_frees_the_uid_of_a_vanished_sandbox_and_kills_what_still_runs_as_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sandboxes");
    let sandbox = local_sandbox(&root).await;
    let handle = sandbox.create(SandboxSpec::new("vanished")).await.unwrap();
    let uid = sandbox.host_uid(&handle).unwrap();
    // A process left behind as the sandbox's uid (as if it had escaped its namespace).
    let mut straggler =
        std::process::Command::new("sleep").arg("300").uid(uid).gid(uid).spawn().unwrap();
    std::fs::remove_dir_all(root.join("vanished")).unwrap();
    sandbox.gc(Utc::now()).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(status) = straggler.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the straggler was not killed");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    assert!(!root.join(".uids").join(uid.to_string()).exists(), "lease freed");
}

#[tokio::test]
async fn rlimit_nproc_binds_without_cgroups_even_as_root() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = LocalSandboxConfig::new(tmp.path().join("sandboxes"));
    config.cgroups = CgroupMode::Off;
    config.default_limits.max_processes = Some(40);
    let sandbox = local_sandbox_with(config).await;
    assert!(sandbox.capabilities().process_limit);
    let handle = sandbox.create(SandboxSpec::new("nproc")).await.unwrap();
    let script = "import os, time\n\
        pids = []\n\
        try:\n\
        \x20   for _ in range(200):\n\
        \x20       pid = os.fork()\n\
        \x20       if pid == 0:\n\
        \x20           time.sleep(20)\n\
        \x20           os._exit(0)\n\
        \x20       pids.append(pid)\n\
        \x20   print('unlimited', len(pids))\n\
        except OSError as e:\n\
        \x20   print('stopped', e.errno, len(pids) < 40)\n\
        for pid in pids:\n\
        \x20   os.kill(pid, 9)";
    let mut request = ExecRequest::new(["python3", "-c", script]);
    request.timeout = Some(Duration::from_secs(30));
    let (outcome, lines) = run(&sandbox, &handle, request).await;
    assert!(outcome.success(), "{outcome:?} {lines:?}");
    assert_eq!(stdout(&lines), ["stopped 11 True"], "EAGAIN before 40 processes");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn the_disk_quota_stops_a_command_and_bounds_tmp() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = LocalSandboxConfig::new(tmp.path().join("sandboxes"));
    config.default_limits.disk_bytes = Some(8 << 20);
    config.disk_check_interval = Duration::from_millis(100);
    let sandbox = local_sandbox_with(config).await;
    assert!(sandbox.capabilities().disk_quota);
    let handle = sandbox.create(SandboxSpec::new("disk")).await.unwrap();
    let (outcome, out) = sh(
        &sandbox,
        &handle,
        "dd if=/dev/zero of=small bs=1M count=2 2>/dev/null && echo small-ok; \
         dd if=/dev/zero of=/tmp/big bs=1M count=16 2>/dev/null || echo tmp-full",
    )
    .await;
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(out, ["small-ok", "tmp-full"], "2 MiB fits; /tmp is a tmpfs of the quota's size");
    let mut request =
        ExecRequest::new(["sh", "-c", "dd if=/dev/zero of=big bs=1M count=32; sleep 30"]);
    request.timeout = Some(Duration::from_secs(25));
    let (outcome, _) = run(&sandbox, &handle, request).await;
    assert_eq!(outcome.stopped, Some(StopReason::DiskQuota), "{outcome:?}");
    assert!(outcome.duration < Duration::from_secs(20), "stopped by the quota, not the timeout");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn each_sandbox_gets_its_cpu_weight() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = LocalSandboxConfig::new(tmp.path().join("sandboxes"));
    config.default_limits.cpu_weight = Some(50);
    let sandbox = local_sandbox_with(config).await;
    assert!(sandbox.capabilities().cpu_weight, "no cpu cgroup on this host");
    let handle = sandbox.create(SandboxSpec::new("cpu")).await.unwrap();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("sandboxes/cpu/sandbox.json")).unwrap(),
    )
    .unwrap();
    let dirs: Vec<std::path::PathBuf> = serde_json::from_value(meta["cgroups"].clone()).unwrap();
    let weight = dirs
        .iter()
        .find_map(|d| {
            std::fs::read_to_string(d.join("cpu.shares"))
                .or_else(|_| std::fs::read_to_string(d.join("cpu.weight")))
                .ok()
        })
        .expect("a cpu cgroup among the sandbox's");
    assert!(["512", "50"].contains(&weight.trim()), "{weight}");
    // Its commands run in it.
    let (_, out) = sh(&sandbox, &handle, "grep -E ':cpu[,:]' /proc/self/cgroup | wc -l").await;
    assert_eq!(out, ["1"]);
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn the_report_says_what_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(&tmp.path().join("sandboxes")).await;
    let report = sandbox.isolation_report();
    let get = |name: &str| {
        report.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    assert!(get("identity").contains("uid of its own"), "{report:?}");
    assert!(get("kernel").contains("seccomp"), "{report:?}");
    assert!(get("processes").contains("512 per sandbox"), "{report:?}");
    assert!(get("disk").contains("10240 MiB"), "{report:?}");
    assert!(get("cpu").contains("weight 100"), "{report:?}");
    assert!(get("memory").contains("not limited"), "{report:?}");
}

#[tokio::test]
async fn as_non_root_sandboxes_run_as_the_servers_uid() {
    // This test binary again, as uid 1000, running only the test below.
    let exe = std::env::current_exe().unwrap();
    let out = tokio::process::Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "--"])
        .arg(&exe)
        .args(["--exact", "identity::non_root_server", "--ignored", "--nocapture"])
        .env("HOME", "/tmp")
        .env_remove("TMPDIR")
        .output()
        .await
        .unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && all.contains("1 passed"), "{all}");
}

/// Run by [`as_non_root_sandboxes_run_as_the_servers_uid`] as uid 1000; it needs that uid.
#[tokio::test]
#[ignore = "entry point of as_non_root_sandboxes_run_as_the_servers_uid, which runs it as uid 1000"]
async fn non_root_server() {
    assert_eq!(rustix::process::getuid().as_raw(), 1000, "run me through the test above");
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(&tmp.path().join("sandboxes")).await;
    let caps = sandbox.capabilities();
    assert!(!caps.own_uid && caps.syscall_filter && caps.process_limit, "{caps:?}");
    assert!(sandbox.isolation_report()[0].1.contains("server's uid 1000"));
    let handle = sandbox.create(SandboxSpec::new("non-root")).await.unwrap();
    assert_eq!(sandbox.host_uid(&handle).unwrap(), 1000);
    let (outcome, out) = sh(
        &sandbox,
        &handle,
        "id -u; echo x > /workspace/f && echo wrote; unshare -U true 2>/dev/null || echo no-userns; \
         cat /proc/sys/kernel/core_pattern > /dev/null && \
         (echo x > /proc/sys/kernel/core_pattern) 2>/dev/null || echo sysctl-refused",
    )
    .await;
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(out, ["1000", "wrote", "no-userns", "sysctl-refused"]);
    let host_file = handle.host_workspace.clone().unwrap().join("f");
    assert_eq!(std::fs::metadata(host_file).unwrap().uid(), 1000);
    sandbox.destroy(&handle).await.unwrap();
}
