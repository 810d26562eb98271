//! Checks every [`Sandbox`] backend must pass; each backend's tests call them.
//!
//! Every check creates its own sandbox (id prefix `conf-`), destroys it at the end and panics
//! with a message on failure, like an assertion. They need a backend that really runs commands
//! with `/bin/sh` and coreutils available.

use std::fmt::Display;
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::events::Stream;
use tokio::sync::mpsc;

use crate::backend::Sandbox;
use crate::error::SandboxError;
use crate::spec::{
    ExecOutcome, ExecRequest, FileRoot, OutputLine, SandboxHandle, SandboxSpec, StopReason,
};
use crate::terminal::{TerminalRequest, TerminalSession, TerminalSize};

/// Unwraps or panics with what was being done.
fn ok<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what}: {err}"),
    }
}

/// A fresh, unique sandbox id for a check.
pub fn fresh_id() -> String {
    format!("conf-{}", uuid::Uuid::new_v4().simple())
}

/// Creates a sandbox with default settings.
pub async fn create(sandbox: &dyn Sandbox) -> SandboxHandle {
    ok(sandbox.create(SandboxSpec::new(fresh_id())).await, "create")
}

/// Runs `request` and collects all output lines.
pub async fn run(
    sandbox: &dyn Sandbox,
    handle: &SandboxHandle,
    request: ExecRequest,
) -> (ExecOutcome, Vec<OutputLine>) {
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            lines.push(line);
        }
        lines
    });
    let outcome = ok(sandbox.exec(handle, request, tx).await, "exec");
    let lines = ok(collector.await, "collecting output");
    (outcome, lines)
}

/// Runs `sh -c script` and returns the outcome and stdout lines.
pub async fn sh(
    sandbox: &dyn Sandbox,
    handle: &SandboxHandle,
    script: &str,
) -> (ExecOutcome, Vec<String>) {
    let (outcome, lines) = run(sandbox, handle, ExecRequest::new(["sh", "-c", script])).await;
    (outcome, stdout(&lines))
}

/// The stdout lines of `lines`.
pub fn stdout(lines: &[OutputLine]) -> Vec<String> {
    lines.iter().filter(|l| l.stream == Stream::Stdout).map(|l| l.line.clone()).collect()
}

/// Exit codes and both streams come back.
pub async fn runs_command(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let request = ExecRequest::new(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    let (outcome, lines) = run(sandbox, &handle, request).await;
    assert_eq!(outcome.exit_code, Some(3), "{outcome:?}");
    assert_eq!(outcome.stopped, None);
    assert!(lines.contains(&OutputLine { stream: Stream::Stdout, line: "out".into() }));
    assert!(lines.contains(&OutputLine { stream: Stream::Stderr, line: "err".into() }));
    let (outcome, _) = sh(sandbox, &handle, "true").await;
    assert!(outcome.success(), "{outcome:?}");
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// A slow sink gets every line, in order.
pub async fn slow_sink_loses_nothing(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let (tx, mut rx) = mpsc::channel::<OutputLine>(1);
    let reader = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            if lines.len() % 500 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lines.push(line.line);
        }
        lines
    });
    let request = ExecRequest::new([
        "sh",
        "-c",
        "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done",
    ]);
    let outcome = ok(sandbox.exec(&handle, request, tx).await, "exec");
    assert!(outcome.success(), "{outcome:?}");
    let lines = ok(reader.await, "reader");
    let expected: Vec<String> = (0..3000).map(|i| format!("line{i}")).collect();
    assert_eq!(lines, expected);
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// The command's environment is the defaults plus what was asked for, nothing from the host.
pub async fn environment_is_built_from_nothing(sandbox: &dyn Sandbox) {
    let mut spec = SandboxSpec::new(fresh_id());
    spec.env = vec![("BASE_VAR".into(), "base".into())];
    let handle = ok(sandbox.create(spec).await, "create");
    let mut request = ExecRequest::new(["env"]);
    request.env = vec![("REQ_VAR".into(), "req".into())];
    let (outcome, lines) = run(sandbox, &handle, request).await;
    assert!(outcome.success(), "{outcome:?}");
    let env = stdout(&lines);
    for expected in ["BASE_VAR=base", "REQ_VAR=req", "HOME=/home/agent"] {
        assert!(env.iter().any(|l| l == expected), "{expected} missing from {env:?}");
    }
    let allowed = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "TMPDIR", "BASE_VAR", "REQ_VAR", "PWD", "SHLVL",
        "_",
    ];
    for line in &env {
        let name = line.split('=').next().unwrap_or_default();
        assert!(allowed.contains(&name), "unexpected variable in the sandbox: {line}");
    }
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// Files written by the host are seen by commands and the other way round; bad paths fail.
pub async fn files_round_trip(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    ok(sandbox.write_file(&handle, FileRoot::Workspace, "dir/in.txt", b"from host").await, "write");
    ok(sandbox.write_file(&handle, FileRoot::Home, ".config/x.json", b"{}").await, "write home");
    let (outcome, out) = sh(sandbox, &handle, "cat /workspace/dir/in.txt; echo; cat ~/.config/x.json; echo inside > /workspace/out.txt; ln -s /etc/passwd /workspace/link; ln -s .. /workspace/up").await;
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(out, ["from host", "{}"]);
    let read = ok(sandbox.read_file(&handle, FileRoot::Workspace, "out.txt").await, "read");
    assert_eq!(read, b"inside\n");
    for bad in ["/etc/passwd", "../x", "dir/../../x", "link", "up/work/out.txt"] {
        let err = sandbox.read_file(&handle, FileRoot::Workspace, bad).await;
        assert!(matches!(err, Err(SandboxError::InvalidPath { .. })), "{bad}: {err:?}");
        let err = sandbox.write_file(&handle, FileRoot::Workspace, bad, b"x").await;
        assert!(matches!(err, Err(SandboxError::InvalidPath { .. })), "{bad}: {err:?}");
    }
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// `HOME` survives between commands of one sandbox.
pub async fn home_persists(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let (first, _) = sh(sandbox, &handle, "echo session-1 > ~/.session; echo tmp > /tmp/t").await;
    assert!(first.success(), "{first:?}");
    let (second, out) = sh(sandbox, &handle, "cat ~/.session; ls /tmp").await;
    assert!(second.success(), "{second:?}");
    // /tmp is private to each command, HOME is not.
    assert_eq!(out, ["session-1"]);
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// The wall-clock timeout stops a command.
pub async fn timeout_fires(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let mut request = ExecRequest::new(["sleep", "30"]);
    request.timeout = Some(Duration::from_millis(300));
    let (outcome, _) = run(sandbox, &handle, request).await;
    assert_eq!(outcome.stopped, Some(StopReason::Timeout), "{outcome:?}");
    assert!(outcome.duration < Duration::from_secs(3), "{outcome:?}");
    assert!(!outcome.success());
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// The no-output watchdog stops a silent command but not a chatty one.
pub async fn idle_watchdog_fires(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let mut request = ExecRequest::new(["sh", "-c", "echo started; sleep 30"]);
    request.idle_timeout = Some(Duration::from_millis(400));
    let (outcome, lines) = run(sandbox, &handle, request).await;
    assert_eq!(outcome.stopped, Some(StopReason::Idle), "{outcome:?}");
    assert!(outcome.duration < Duration::from_secs(3), "{outcome:?}");
    assert_eq!(stdout(&lines), ["started"]);

    let mut request =
        ExecRequest::new(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done"]);
    request.idle_timeout = Some(Duration::from_millis(500));
    let (outcome, lines) = run(sandbox, &handle, request).await;
    assert!(outcome.success(), "chatty command was stopped: {outcome:?}");
    assert_eq!(lines.len(), 8);
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// `kill` from another task stops a command that ignores SIGINT and SIGTERM within 2 s.
pub async fn kill_stops_stubborn_command(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let (tx, mut rx) = mpsc::channel(16);
    let request = ExecRequest::new([
        "sh",
        "-c",
        "trap '' INT TERM; (trap '' INT TERM; sleep 60) & echo ready; sleep 60; wait",
    ]);
    let exec = async { sandbox.exec(&handle, request, tx).await };
    let killer = async {
        while let Some(line) = rx.recv().await {
            if line.line == "ready" {
                break;
            }
        }
        let started = Instant::now();
        ok(sandbox.kill(&handle).await, "kill");
        let took = started.elapsed();
        while rx.recv().await.is_some() {}
        took
    };
    let (outcome, took) = tokio::join!(exec, killer);
    let outcome = ok(outcome, "exec");
    assert!(took < Duration::from_secs(2), "kill took {took:?}");
    assert_eq!(outcome.stopped, Some(StopReason::Killed), "{outcome:?}");
    assert_eq!(outcome.exit_code, None, "{outcome:?}");
    ok(sandbox.kill(&handle).await, "kill when idle");
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// Creating an existing id fails; destroyed sandboxes are gone; `open` finds live ones.
pub async fn lifecycle(sandbox: &dyn Sandbox) {
    let id = fresh_id();
    let handle = ok(sandbox.create(SandboxSpec::new(id.clone())).await, "create");
    let again = sandbox.create(SandboxSpec::new(id.clone())).await;
    assert!(matches!(again, Err(SandboxError::AlreadyExists { .. })), "{again:?}");
    assert_eq!(ok(sandbox.open(&id).await, "open"), handle);
    ok(sandbox.destroy(&handle).await, "destroy");
    let (tx, _rx) = mpsc::channel(1);
    let exec = sandbox.exec(&handle, ExecRequest::new(["true"]), tx).await;
    assert!(matches!(exec, Err(SandboxError::NotFound { .. })), "{exec:?}");
    assert!(matches!(sandbox.open(&id).await, Err(SandboxError::NotFound { .. })));
    assert!(matches!(sandbox.destroy(&handle).await, Err(SandboxError::NotFound { .. })));
    let bad = sandbox.create(SandboxSpec::new("../escape")).await;
    assert!(matches!(bad, Err(SandboxError::InvalidRequest(_))), "{bad:?}");
}

/// Kept-alive sandboxes survive `gc` until they expire, then `gc` removes and reports them.
pub async fn keep_alive_and_gc(sandbox: &dyn Sandbox) {
    if !sandbox.capabilities().keep_alive {
        return;
    }
    let now = Utc::now();
    let mut spec = SandboxSpec::new(fresh_id());
    spec.keep_alive_until = Some(now + chrono::Duration::hours(1));
    let handle = ok(sandbox.create(spec).await, "create");
    let reclaimed = ok(sandbox.gc(now).await, "gc");
    assert!(!reclaimed.iter().any(|r| r.id == handle.id), "gc removed a live sandbox");
    ok(sandbox.set_expiry(&handle, now + chrono::Duration::hours(3)).await, "set_expiry");
    let reclaimed = ok(sandbox.gc(now + chrono::Duration::hours(2)).await, "gc");
    assert!(!reclaimed.iter().any(|r| r.id == handle.id), "gc ignored set_expiry");
    let reclaimed = ok(sandbox.gc(now + chrono::Duration::hours(4)).await, "gc");
    assert!(reclaimed.iter().any(|r| r.id == handle.id), "gc kept an expired sandbox");
    assert!(matches!(sandbox.open(&handle.id).await, Err(SandboxError::NotFound { .. })));
}

/// A running command is seen by `status` and keeps `hold_idle` from succeeding; a hold keeps a
/// new command waiting until it is dropped; the figures are there.
pub async fn activity_is_seen(sandbox: &dyn Sandbox) {
    let handle = create(sandbox).await;
    let idle = ok(sandbox.status(&handle).await, "status");
    assert!(!idle.busy && idle.commands == 0, "{idle:?}");
    assert!(idle.disk_bytes.is_some(), "{idle:?}");
    let (tx, mut rx) = mpsc::channel(16);
    let request = ExecRequest::new(["sh", "-c", "echo ready; sleep 60"]);
    let exec = async { sandbox.exec(&handle, request, tx).await };
    let watcher = async {
        while let Some(line) = rx.recv().await {
            if line.line == "ready" {
                break;
            }
        }
        let busy = ok(sandbox.status(&handle).await, "status while running");
        let hold = ok(sandbox.hold_idle(&handle).await, "hold while running");
        ok(sandbox.kill(&handle).await, "kill");
        while rx.recv().await.is_some() {}
        (busy, hold.is_none())
    };
    let (outcome, (busy, refused)) = tokio::join!(exec, watcher);
    ok(outcome, "exec");
    assert!(busy.busy && busy.commands == 1, "{busy:?}");
    assert!(refused, "hold_idle succeeded while a command ran");
    let Some(hold) = ok(sandbox.hold_idle(&handle).await, "hold when idle") else {
        panic!("hold_idle refused an idle sandbox");
    };
    let (tx, _rx) = mpsc::channel(16);
    let mut waiting = Box::pin(sandbox.exec(&handle, ExecRequest::new(["true"]), tx));
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "a command started while the host held the sandbox idle");
    drop(hold);
    let outcome = ok(waiting.await, "exec after the hold");
    assert!(outcome.success(), "{outcome:?}");
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// A named HOME outlives `destroy` and comes back in the next sandbox of that name, until
/// `drop_home`.
pub async fn named_home_outlives_the_sandbox(sandbox: &dyn Sandbox) {
    let name = fresh_id();
    let mut spec = SandboxSpec::new(fresh_id());
    spec.home = Some(name.clone());
    let first = ok(sandbox.create(spec.clone()).await, "create");
    assert!(!first.restored_home);
    let (outcome, _) =
        sh(sandbox, &first, "mkdir -p ~/.agent && echo session-1 > ~/.agent/s").await;
    assert!(outcome.success(), "{outcome:?}");
    ok(sandbox.destroy(&first).await, "destroy");
    spec.id = fresh_id();
    let second = ok(sandbox.create(spec.clone()).await, "create again");
    assert!(second.restored_home, "the parked HOME came back");
    let (outcome, out) = sh(sandbox, &second, "cat ~/.agent/s && echo more >> ~/.agent/s").await;
    assert!(outcome.success(), "the restored HOME is writable: {outcome:?} {out:?}");
    assert_eq!(out, vec!["session-1".to_string()]);
    ok(sandbox.destroy(&second).await, "destroy");
    ok(sandbox.drop_home(&name).await, "drop_home");
    spec.id = fresh_id();
    let third = ok(sandbox.create(spec).await, "create after drop_home");
    assert!(!third.restored_home);
    ok(sandbox.destroy(&third).await, "destroy");
    ok(sandbox.drop_home(&name).await, "drop_home");
}

/// Reads a terminal until its output holds `needle` (panics after 30 s or at its end).
async fn read_terminal_until(session: &dyn TerminalSession, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while !String::from_utf8_lossy(&out).contains(needle) {
            let n = ok(session.read(&mut buf).await, "read the terminal");
            if n == 0 {
                return false;
            }
            out.extend_from_slice(&buf[..n]);
        }
        true
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(matches!(read, Ok(true)), "no {needle:?} in the terminal: {text:?}");
    text
}

/// A terminal runs a shell with the sandbox's environment, in the workspace, sees its size
/// and its resizes, counts as activity (`status`, `hold_idle`), and ends with [`Sandbox::kill`]. A backend without terminals says
/// `Unsupported`.
pub async fn terminal_works(sandbox: &dyn Sandbox) {
    let mut spec = SandboxSpec::new(fresh_id());
    spec.env = vec![("CONFORMANCE".into(), "terminal".into())];
    let handle = ok(sandbox.create(spec).await, "create");
    let request =
        TerminalRequest { size: TerminalSize { cols: 90, rows: 30 }, ..Default::default() };
    let session = match sandbox.open_terminal(&handle, request).await {
        Ok(session) => session,
        Err(SandboxError::Unsupported { .. }) => {
            ok(sandbox.destroy(&handle).await, "destroy");
            return;
        }
        Err(err) => panic!("open_terminal: {err}"),
    };
    // Typed text comes back as the echo: wait for what only running it prints.
    ok(session.write(b"echo \"$CONFORMANCE:$(pwd):$(stty size)\"\r").await, "write");
    read_terminal_until(&*session, "terminal:/workspace:30 90").await;
    ok(session.resize(ok(TerminalSize::new(100, 20), "size")), "resize");
    ok(session.write(b"echo \"size=$(stty size)\"\r").await, "write");
    read_terminal_until(&*session, "size=20 100").await;
    // Someone typing in the sandbox is code running there: the host may not read it as idle.
    let busy = ok(sandbox.status(&handle).await, "status with a terminal open");
    assert!(busy.busy, "an open terminal is activity: {busy:?}");
    assert!(
        ok(sandbox.hold_idle(&handle).await, "hold_idle with a terminal open").is_none(),
        "hold_idle succeeded while a terminal was open"
    );
    ok(sandbox.kill(&handle).await, "kill");
    assert!(!session.is_alive(), "kill left the terminal running");
    ok(sandbox.destroy(&handle).await, "destroy");
}

/// Runs every check above.
pub async fn all(sandbox: &dyn Sandbox) {
    runs_command(sandbox).await;
    slow_sink_loses_nothing(sandbox).await;
    environment_is_built_from_nothing(sandbox).await;
    files_round_trip(sandbox).await;
    home_persists(sandbox).await;
    timeout_fires(sandbox).await;
    idle_watchdog_fires(sandbox).await;
    kill_stops_stubborn_command(sandbox).await;
    lifecycle(sandbox).await;
    keep_alive_and_gc(sandbox).await;
    activity_is_seen(sandbox).await;
    named_home_outlives_the_sandbox(sandbox).await;
    terminal_works(sandbox).await;
}
