//! Probes run inside the bubblewrap sandbox; each tries something forbidden and must fail.
//! (`/dev/shm` is a private, per-command tmpfs and stays writable on purpose.)

use std::time::Duration;

use drydock_sandbox::conformance::{run, sh};
use drydock_sandbox::{ExecRequest, FileRoot, Limits, NetworkMode, Sandbox, SandboxSpec};

use crate::common::local_sandbox;

#[tokio::test]
async fn server_secrets_do_not_leak_into_the_environment() {
    // Edition 2021: set_var is safe; these names are what the server really holds.
    std::env::set_var("DATABASE_URL", "postgres://leak-db-secret");
    std::env::set_var("DRYDOCK_MASTER_KEY", "leak-master-secret");
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("env-probe")).await.unwrap();
    let (outcome, out) =
        sh(&sandbox, &handle, "env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'").await;
    assert!(outcome.exit_code.is_some());
    let all = out.join("\n");
    assert!(all.contains("HOME=/home/agent"), "{all}");
    assert!(!all.contains("leak-"), "server environment leaked:\n{all}");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn other_sandboxes_and_the_data_directory_are_invisible() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let a = sandbox.create(SandboxSpec::new("probe-a")).await.unwrap();
    let b = sandbox.create(SandboxSpec::new("probe-b")).await.unwrap();
    sandbox.write_file(&b, FileRoot::Workspace, "secret-of-b.txt", b"b's data").await.unwrap();
    let b_file = b.host_workspace.clone().unwrap().join("secret-of-b.txt");
    let script = format!(
        "cat {} || echo no-host-path; ls {} || echo no-root; \
         find / -path /proc -prune -o -name secret-of-b.txt -print 2>/dev/null; echo done",
        b_file.display(),
        root.path().display()
    );
    let (_, out) = sh(&sandbox, &a, &script).await;
    assert_eq!(out, ["no-host-path", "no-root", "done"]);
    sandbox.destroy(&a).await.unwrap();
    sandbox.destroy(&b).await.unwrap();
}

#[tokio::test]
async fn only_workspace_home_and_tmp_are_writable() {
    let root = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    std::fs::write(tools.path().join("tool"), "t").unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let mut spec = SandboxSpec::new("write-probe");
    spec.tools_dir = Some(tools.path().to_path_buf());
    let handle = sandbox.create(spec).await.unwrap();
    let script = "for d in / /usr /usr/local/bin /etc /opt/drydock/tools /root /var /bin /proc/sys /sys /home; do \
        if touch $d/probe 2>/dev/null; then echo WROTE $d; fi; done; \
        cat /opt/drydock/tools/tool; echo; \
        for d in /workspace /home/agent /tmp /dev/shm; do touch $d/probe && echo ok $d; done; id -u";
    let (_, out) = sh(&sandbox, &handle, script).await;
    assert_eq!(out, ["t", "ok /workspace", "ok /home/agent", "ok /tmp", "ok /dev/shm", "1000"]);
    assert!(!tools.path().join("probe").exists());
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn host_processes_are_invisible() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("ps-probe")).await.unwrap();
    let (_, out) = sh(
        &sandbox,
        &handle,
        "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'",
    )
    .await;
    let all = out.join("\n");
    assert!(!all.contains("integration"), "the test binary is visible: {all}");
    let count: usize = out.last().unwrap().trim().parse().unwrap();
    assert!(count <= 5, "{count} processes visible: {all}");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn network_can_be_switched_off() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let off = sandbox.create(SandboxSpec::new("net-off")).await.unwrap();
    let mut spec = SandboxSpec::new("net-on");
    spec.network = NetworkMode::Host;
    let on = sandbox.create(spec).await.unwrap();
    let interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort";
    let (_, out) = sh(&sandbox, &off, interfaces).await;
    assert_eq!(out, ["lo"]);
    let (_, out) = sh(&sandbox, &on, interfaces).await;
    assert!(out.len() > 1, "host interfaces expected with network on: {out:?}");
    sandbox.destroy(&off).await.unwrap();
    sandbox.destroy(&on).await.unwrap();
}

fn host_process_count() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().parse::<u32>().is_ok())
        .count()
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    assert!(sandbox.capabilities().process_limit, "no process limit can be enforced on this host");
    let mut spec = SandboxSpec::new("fork-bomb");
    spec.limits = Limits { max_processes: Some(64), ..Limits::default() };
    let handle = sandbox.create(spec).await.unwrap();
    let before = host_process_count();
    let mut request = ExecRequest::new(["sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 30"]);
    request.timeout = Some(Duration::from_secs(3));
    let watcher = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            peak = peak.max(host_process_count());
        }
        peak
    });
    let (outcome, _) = run(&sandbox, &handle, request).await;
    let peak = watcher.await.unwrap();
    assert!(peak < before + 64 + 20, "the bomb grew to {peak} processes (from {before})");
    assert!(outcome.duration < Duration::from_secs(8), "{outcome:?}");
    // The host and the sandbox still work.
    let (outcome, out) = sh(&sandbox, &handle, "echo alive").await;
    assert!(outcome.success() && out == ["alive"], "{outcome:?}");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn kill_gives_cooperative_commands_a_chance() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("sigint")).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let script = "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done";
    let exec = sandbox.exec(&handle, ExecRequest::new(["sh", "-c", script]), tx);
    let kill = async {
        while let Some(line) = rx.recv().await {
            if line.line == "ready" {
                break;
            }
        }
        sandbox.kill(&handle).await.unwrap();
        let mut rest = Vec::new();
        while let Some(line) = rx.recv().await {
            rest.push(line.line);
        }
        rest
    };
    let (outcome, rest) = tokio::join!(exec, kill);
    let outcome = outcome.unwrap();
    assert_eq!(rest, ["got-int"]);
    assert_eq!(outcome.exit_code, Some(7), "{outcome:?}");
    sandbox.destroy(&handle).await.unwrap();
}
