//! Terminals of the bubblewrap backend: a login shell whose standard streams are the far end of
//! a pseudo-terminal the server holds.
//!
//! The shell is started by the same `sandboxed_command` as every `exec`, so it has the same
//! uid, namespaces, seccomp filter, limits, cgroup and network; the only differences are its
//! streams and its session. The child makes a new session whose controlling terminal is the
//! pseudo-terminal (`pre_exec`) and bwrap keeps it (no `--new-session`), so the shell has job
//! control and Ctrl-C; `TIOCSTI` stays refused by the seccomp filter. The server's end (the
//! master) is close-on-exec and never reaches the sandbox.
//!
//! The session is registered with the sandbox's commands in flight, so `kill`, `destroy` and
//! the disk quota reach it, and its processes sit in the sandbox's cgroups like any command's.

use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

use super::exec::{watch_disk, DiskQuota};
use super::signals::Running;
use super::{forget_running, LocalSandbox, Session};
use crate::error::{Result, SandboxError};
use crate::spec::{KillPolicy, SandboxHandle, StopReason};
use crate::terminal::{TerminalRequest, TerminalSession, TerminalSize};

/// Starts bash as a login shell where the sandbox has it, else sh. Decided inside the
/// sandbox, whose view of the system is what counts.
const LOGIN_SHELL: &str = "command -v bash >/dev/null 2>&1 && exec bash -l; exec sh -l";

impl LocalSandbox {
    /// Starts a login shell on a new pseudo-terminal in the sandbox of `handle`.
    pub(super) async fn open_pty(
        &self,
        handle: &SandboxHandle,
        request: TerminalRequest,
    ) -> Result<PtySession> {
        let meta = self.load(&handle.id)?;
        let size = TerminalSize::new(request.size.cols, request.size.rows)?;
        let (master, terminal) = open_pair(size)?;
        let argv = ["/bin/sh", "-c", LOGIN_SHELL].map(String::from);
        let mut env = vec![("TERM".to_string(), "xterm-256color".to_string())];
        env.extend(request.env);
        let mut command = self
            .sandboxed_command(&meta, &request.cwd, &argv, &env, Session::Terminal, None)
            .await?;
        let stream = |fd: &OwnedFd| {
            fd.try_clone().map(Stdio::from).map_err(|e| SandboxError::io("opening the terminal", e))
        };
        command.stdin(stream(&terminal)?).stdout(stream(&terminal)?).stderr(Stdio::from(terminal));
        command.kill_on_drop(true);
        // Like `exec`: the shell holds the sandbox's activity lease while it lives, so the host
        // never reads the live workspace while someone types in it (and waits for a host read
        // in progress to end before it starts).
        let lease_dir = self.dir(&meta.id);
        let lease = tokio::task::spawn_blocking(move || super::activity::begin(&lease_dir))
            .await
            .map_err(|e| SandboxError::io("taking the command lease", std::io::Error::other(e)))?
            .map_err(|e| SandboxError::io("taking the command lease", e))?;
        let spawned = command.spawn();
        // The host's copies of the terminal end close here, so that reading the master ends
        // once the sandbox's processes have let go of it.
        drop(command);
        let mut child = spawned.map_err(|e| SandboxError::io("starting bwrap", e))?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| SandboxError::io("starting bwrap", std::io::Error::other("no pid")))?;
        let (done_tx, done) = watch::channel(false);
        let running = Arc::new(Running::new(pid, done.clone()));
        if let Ok(mut map) = self.running.lock() {
            map.entry(meta.id.clone()).or_default().push(running.clone());
        }
        let policy = self.config.kill;
        let dir = self.dir(&meta.id);
        let disk = meta.limits.disk_bytes.map(|limit_bytes| {
            let quota = DiskQuota {
                dirs: vec![dir.join("work"), dir.join("home")],
                limit_bytes,
                interval: self.config.disk_check_interval,
            };
            tokio::spawn(watch_disk(quota, running.clone(), policy))
        });
        let (map, id, registered) = (self.running.clone(), meta.id.clone(), running.clone());
        tokio::spawn(async move {
            if let Err(err) = child.wait().await {
                tracing::warn!(%err, "waiting for a terminal's bwrap");
            }
            if let Some(task) = disk {
                task.abort();
            }
            done_tx.send_replace(true);
            forget_running(&map, &id, &registered);
            drop(lease);
        });
        Ok(PtySession { master: watch_master(master)?, running, policy, done })
    }
}

/// A new pseudo-terminal of `size`: the master, non-blocking, and the terminal end, both
/// close-on-exec (the command gets the terminal end as its standard streams only).
fn open_pair(size: TerminalSize) -> Result<(OwnedFd, OwnedFd)> {
    let io = |e: rustix::io::Errno| SandboxError::io("opening a pseudo-terminal", e.into());
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(io)?;
    rustix::pty::grantpt(&master).map_err(io)?;
    rustix::pty::unlockpt(&master).map_err(io)?;
    // Opened through the master rather than by its /dev/pts path, which could be raced.
    let terminal = rustix::pty::ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .map_err(io)?;
    set_size(&master, size)?;
    rustix::io::ioctl_fionbio(&master, true).map_err(io)?;
    Ok((master, terminal))
}

/// Registers the master with the runtime's reactor.
#[allow(unsafe_code)]
fn watch_master(master: OwnedFd) -> Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `OwnedFd` is moved into the `AsyncFd` and owned by it: the descriptor stays
    // open, and is the same one, until the `AsyncFd` is dropped.
    unsafe { AsyncFd::register(master) }
        .map_err(|e| SandboxError::io("watching the terminal", e.into_parts().1))
}

fn set_size(master: &OwnedFd, size: TerminalSize) -> Result<()> {
    let winsize = Winsize { ws_row: size.rows, ws_col: size.cols, ws_xpixel: 0, ws_ypixel: 0 };
    rustix::termios::tcsetwinsize(master, winsize)
        .map_err(|e| SandboxError::io("resizing the terminal", e.into()))
}

/// A terminal of the bubblewrap backend (see the module documentation).
#[derive(Debug)]
pub(crate) struct PtySession {
    master: AsyncFd<OwnedFd>,
    running: Arc<Running>,
    policy: KillPolicy,
    /// Flips to true once the outer bwrap has been reaped.
    done: watch::Receiver<bool>,
}

#[async_trait]
impl TerminalSession for PtySession {
    async fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let mut ready = self
                .master
                .readable()
                .await
                .map_err(|e| SandboxError::io("reading the terminal", e))?;
            let read = ready.try_io(|fd| {
                rustix::io::read(fd.get_ref(), &mut *buf).map_err(std::io::Error::from)
            });
            match read {
                Ok(Ok(n)) => return Ok(n),
                // Linux answers EIO once no process holds the terminal end any more.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(Err(e)) => return Err(SandboxError::io("reading the terminal", e)),
                Err(_would_block) => {}
            }
        }
    }

    async fn write(&self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let mut ready = self
                .master
                .writable()
                .await
                .map_err(|e| SandboxError::io("writing to the terminal", e))?;
            let written = ready
                .try_io(|fd| rustix::io::write(fd.get_ref(), data).map_err(std::io::Error::from));
            match written {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(SandboxError::io("writing to the terminal", e)),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    fn resize(&self, size: TerminalSize) -> Result<()> {
        // On the master, the kernel also sends SIGWINCH to the terminal's foreground job.
        set_size(self.master.get_ref(), TerminalSize::new(size.cols, size.rows)?)
    }

    async fn kill(&self) {
        self.running.stop(StopReason::Killed, self.policy).await;
    }

    fn is_alive(&self) -> bool {
        !*self.done.borrow()
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if !self.is_alive() {
            return;
        }
        // Nobody can type into it any more: its processes go too.
        let (running, policy) = (self.running.clone(), self.policy);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { running.stop(StopReason::Killed, policy).await });
        }
    }
}
