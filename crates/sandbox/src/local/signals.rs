//! Finding every process of a running command and stopping them.
//!
//! Each command runs in its own PID namespace under a bubblewrap "init". Sending a signal to the
//! outer `bwrap` would kill the init and, with it, the whole namespace at once, which leaves the
//! command no chance to shut down cleanly. So SIGINT and SIGTERM go to every process inside the
//! namespace instead (the command's process group and anything that left it). The final SIGKILL
//! goes to the outer `bwrap` too: its init then dies (`--die-with-parent`), and the kernel kills
//! everything left in the namespace, whatever it ignores.

use std::sync::Mutex;
use std::time::Duration;

use rustix::process::{kill_process, Pid, Signal};
use tokio::sync::watch;

use crate::spec::{KillPolicy, StopReason};

/// A command in flight, shared between its `exec` and any `kill`.
#[derive(Debug)]
pub(crate) struct Running {
    /// Host pid of the outer `bwrap`.
    outer: Pid,
    /// The first reason Drydock decided to stop the command; later ones do not override it.
    stop: Mutex<Option<StopReason>>,
    /// Flips to true once the outer `bwrap` has been reaped.
    done: watch::Receiver<bool>,
}

impl Running {
    pub(crate) fn new(outer: Pid, done: watch::Receiver<bool>) -> Self {
        Self { outer, stop: Mutex::new(None), done }
    }

    /// Why Drydock stopped the command, if it did.
    pub(crate) fn stop_reason(&self) -> Option<StopReason> {
        self.stop.lock().map(|s| *s).unwrap_or(None)
    }

    fn mark(&self, reason: StopReason) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.get_or_insert(reason);
        }
    }

    /// Waits until the command is reaped or `limit` passes; true when it is gone.
    async fn wait_done(&self, limit: Duration) -> bool {
        let mut done = self.done.clone();
        let gone = tokio::time::timeout(limit, done.wait_for(|d| *d)).await;
        gone.is_ok()
    }

    /// SIGINT, SIGTERM, then SIGKILL, each followed by its grace period unless everything has
    /// exited already.
    pub(crate) async fn stop(&self, reason: StopReason, policy: KillPolicy) {
        self.mark(reason);
        for (signal, grace) in
            [(Signal::INT, policy.interrupt_grace), (Signal::TERM, policy.terminate_grace)]
        {
            signal_namespace(self.outer, signal);
            if self.wait_done(grace).await {
                return;
            }
        }
        signal_namespace(self.outer, Signal::KILL);
        // The outer bwrap is our own child and not yet reaped (we hold `done`), so its pid
        // cannot have been reused.
        let _ = kill_process(self.outer, Signal::KILL);
        if !self.wait_done(Duration::from_secs(2)).await {
            tracing::warn!(
                pid = self.outer.as_raw_nonzero().get(),
                "sandbox command survived SIGKILL"
            );
        }
    }
}

/// Sends `signal` to every process in the PID namespace below the outer `bwrap`, except the
/// namespace's init (which only forwards exits and must stay to keep the namespace alive).
fn signal_namespace(outer: Pid, signal: Signal) {
    let Some(init) = children(outer).into_iter().next() else {
        return;
    };
    let Some(ns) = pid_namespace(init) else {
        return;
    };
    for pid in all_pids() {
        if pid != init && pid_namespace(pid).as_deref() == Some(ns.as_str()) {
            let _ = kill_process(pid, signal);
        }
    }
}

fn all_pids() -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(Pid::from_raw)
        .collect()
}

/// The direct children of `parent`, from `/proc/<pid>/stat` (works without
/// `CONFIG_PROC_CHILDREN`).
fn children(parent: Pid) -> Vec<Pid> {
    all_pids().into_iter().filter(|pid| parent_of(*pid) == Some(parent)).collect()
}

fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero())).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
    Pid::from_raw(ppid)
}

fn pid_namespace(pid: Pid) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/{}/ns/pid", pid.as_raw_nonzero())).ok()?;
    link.into_os_string().into_string().ok()
}
