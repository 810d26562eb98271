//! Terminals: a real login shell on a real pseudo-terminal in a real sandbox. It sees its
//! window size, and it is held to exactly what the agent's commands are held to: its own uid,
//! the sandbox's cgroup, no host processes, no host network.
//!
//! What is typed comes back as the terminal's echo, so each check waits for text only the
//! shell's work can produce (`$((6*7))` typed, `42` read).

use std::path::{Path, PathBuf};
use std::time::Duration;

use drydock_sandbox::{
    LocalSandbox, LocalSandboxConfig, NetworkMode, RelayProgram, Sandbox, SandboxHandle,
    SandboxSpec, TerminalRequest, TerminalSession, TerminalSize,
};

use crate::common::{local_sandbox, local_sandbox_with};

/// How long a shell may take to answer before the test gives up (a hang guard, not a measure).
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads until the output holds `needle`; returns everything read.
async fn read_until(session: &dyn TerminalSession, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            let n = session.read(&mut buf).await.unwrap();
            if n == 0 {
                return false;
            }
            out.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&out).contains(needle) {
                return true;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(matches!(found, Ok(true)), "no {needle:?} in the terminal's output: {text:?}");
    text
}

/// Types `command` and returns the output up to the `END<n>` marker it must print last.
async fn run(session: &dyn TerminalSession, command: &str, n: u32) -> String {
    session.write(format!("{command}; echo END$(({n}+0))X\r").as_bytes()).await.unwrap();
    read_until(session, &format!("END{n}X")).await
}

async fn terminal(sandbox: &LocalSandbox, handle: &SandboxHandle) -> Box<dyn TerminalSession> {
    let request =
        TerminalRequest { size: TerminalSize { cols: 80, rows: 24 }, ..Default::default() };
    sandbox.open_terminal(handle, request).await.unwrap()
}

/// Host pids of the processes whose real uid is `uid`.
fn pids_of_uid(uid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let real = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok());
        if real == Some(uid) {
            pids.push(pid);
        }
    }
    pids
}

/// Waits until no process runs as `uid`: the kernel takes a moment to empty a PID namespace
/// whose init was killed, after the outer bwrap has been reaped.
async fn assert_all_gone(uid: u32) {
    let gone = tokio::time::timeout(PATIENCE, async {
        while !pids_of_uid(uid).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let left: Vec<String> =
        pids_of_uid(uid).into_iter().map(|p| format!("{p} {}", comm(p))).collect();
    assert!(gone.is_ok(), "processes of uid {uid} left: {left:?}");
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned()
}

/// The sandbox's cgroup directories, as its metadata records them.
fn cgroups_of(root: &Path, id: &str) -> Vec<PathBuf> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(id).join("sandbox.json")).unwrap())
            .unwrap();
    serde_json::from_value(meta["cgroups"].clone()).unwrap()
}

#[tokio::test]
async fn a_terminal_runs_a_login_shell_that_sees_its_size_change() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("term-size")).await.unwrap();
    let session = terminal(&sandbox, &handle).await;
    assert!(session.is_alive());

    let out =
        run(&*session, "echo hi$((6*7)); pwd; echo $TERM; tty >/dev/null && echo TTY", 1).await;
    assert!(out.contains("hi42"), "{out:?}");
    assert!(out.contains("/workspace"), "{out:?}");
    assert!(out.contains("xterm-256color"), "{out:?}");
    assert!(out.contains("TTY"), "stdin is a terminal: {out:?}");
    let out = run(&*session, "stty size", 2).await;
    assert!(out.contains("24 80"), "{out:?}");

    session.resize(TerminalSize::new(132, 43).unwrap()).unwrap();
    let out = run(&*session, "stty size", 3).await;
    assert!(out.contains("43 132"), "{out:?}");
    assert!(session.resize(TerminalSize { cols: 0, rows: 10 }).is_err(), "0 columns");

    // Job control: Ctrl-C interrupts the foreground job, and the shell carries on.
    session.write(b"sleep 600\r").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.write(b"\x03").await.unwrap();
    let out = run(&*session, "echo after$((1+1))", 4).await;
    assert!(out.contains("after2"), "{out:?}");

    // Exiting the shell ends the session.
    session.write(b"exit\r").await.unwrap();
    let mut buf = [0u8; 1024];
    let ended = tokio::time::timeout(PATIENCE, async {
        while session.read(&mut buf).await.unwrap() > 0 {}
    })
    .await;
    assert!(ended.is_ok(), "the terminal did not close after `exit`");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn killing_a_terminal_kills_its_processes_and_destroy_kills_terminals() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("term-kill")).await.unwrap();
    let uid = sandbox.host_uid(&handle).unwrap();
    let session = terminal(&sandbox, &handle).await;
    run(&*session, "sleep 600 & sleep 0.2", 1).await;
    let sleeping = || pids_of_uid(uid).into_iter().filter(|p| comm(*p) == "sleep").count();
    assert!(sleeping() >= 1, "the background job runs as the sandbox's uid {uid}");
    session.kill().await;
    assert!(!session.is_alive());
    assert_all_gone(uid).await;
    let mut buf = [0u8; 64];
    let end = tokio::time::timeout(PATIENCE, async {
        while session.read(&mut buf).await.unwrap() > 0 {}
    })
    .await;
    assert!(end.is_ok(), "a killed terminal reads its end");

    // Two terminals at once; destroying the sandbox ends both.
    let (one, two) = (terminal(&sandbox, &handle).await, terminal(&sandbox, &handle).await);
    run(&*one, "true", 2).await;
    run(&*two, "true", 3).await;
    sandbox.destroy(&handle).await.unwrap();
    assert!(!one.is_alive() && !two.is_alive());
    assert_all_gone(uid).await;
}

/// The same boundary as `escape.rs` and `egress.rs`, from the terminal: the shell is the
/// sandbox's uid (never host root) inside the sandbox's cgroup, sees none of the host's
/// processes, and cannot reach a TCP listener on the host's loopback.
#[tokio::test]
async fn a_terminal_reaches_nothing_the_agent_cannot() {
    let root = tempfile::tempdir().unwrap();
    let mut config = LocalSandboxConfig::new(root.path());
    config.relay = Some(RelayProgram {
        program: env!("CARGO_BIN_EXE_drydock-sandbox-relay").into(),
        args: Vec::new(),
    });
    let sandbox = local_sandbox_with(config).await;
    let mut spec = SandboxSpec::new("term-escape");
    spec.network = NetworkMode::Brokered;
    let handle = sandbox.create(spec).await.unwrap();
    let uid = sandbox.host_uid(&handle).unwrap();
    assert_ne!(uid, 0, "a sandbox never runs as root");
    assert_ne!(uid, rustix::process::getuid().as_raw(), "nor as the server's uid");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let session = terminal(&sandbox, &handle).await;

    let out = run(&*session, "echo uid=$(id -u)", 1).await;
    assert!(out.contains("uid=1000"), "{out:?}");
    // From the host: the shell is the sandbox's uid, and it is in the sandbox's cgroups.
    let shells: Vec<u32> = pids_of_uid(uid)
        .into_iter()
        .filter(|p| matches!(comm(*p).as_str(), "bash" | "sh"))
        .collect();
    assert!(!shells.is_empty(), "no shell runs as uid {uid}: {:?}", pids_of_uid(uid));
    let cgroups = cgroups_of(root.path(), "term-escape");
    assert!(
        !cgroups.is_empty(),
        "these tests need a per-sandbox cgroup, but the backend made none: run as root on \
         cgroup v1 with a pids hierarchy, or with a delegated cgroup v2 directory"
    );
    for dir in &cgroups {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        for shell in &shells {
            assert!(
                procs.lines().any(|l| l == shell.to_string()),
                "shell {shell} is not in {}",
                dir.display()
            );
        }
    }

    // Host processes: this test's own pid is not there, and only the sandbox's few are.
    let me = std::process::id();
    let out = run(
        &*session,
        &format!(
            "test -e /proc/{me} && echo SEEN-$((1)) || echo HIDDEN-$((1)); \
             echo \"PR\"\"OCS=$(ls /proc | grep -cE '^[0-9]+$')\""
        ),
        2,
    )
    .await;
    assert!(out.contains("HIDDEN-1") && !out.contains("SEEN-1"), "{out:?}");
    let count: usize = out
        .split("PROCS=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    assert!(count < 16, "the shell sees {count} processes: {out:?}");

    // The host's loopback listener: refused from inside, and nothing arrives.
    let probe = format!(
        "python3 -c 'import socket\ntry:\n socket.create_connection((\"127.0.0.1\", {port}), 3)\n print(\"PROBE-\" + \"CONNECTED\")\nexcept OSError as e:\n print(\"PROBE-\" + \"FAILED\", e.errno)'"
    );
    let out = run(&*session, &probe, 3).await;
    assert!(out.contains("PROBE-FAILED") && !out.contains("PROBE-CONNECTED"), "{out:?}");
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{accepted:?}"
    );

    // Typing into the terminal from inside (TIOCSTI) stays refused.
    let out = run(
        &*session,
        "python3 -c 'import fcntl, termios\ntry:\n fcntl.ioctl(0, termios.TIOCSTI, b\"x\")\n print(\"PROBE-\" + \"INJECTED\")\nexcept OSError as e:\n print(\"PROBE-\" + \"REFUSED\", e.errno)'",
        4,
    )
    .await;
    assert!(out.contains("PROBE-REFUSED") && !out.contains("PROBE-INJECTED"), "{out:?}");
    session.kill().await;
    sandbox.destroy(&handle).await.unwrap();
}
