//! The [`Sandbox`] trait and its contract.
//!
//! # Contract
//!
//! Every backend behaves the same way on these points, and [`crate::conformance`] checks them:
//!
//! - **Isolation.** A command sees the workspace read-write at [`crate::WORKSPACE_DIR`], a
//!   private `HOME` at [`crate::HOME_DIR`] that lives as long as the sandbox, a private `/tmp`,
//!   and the tools directory read-only at [`crate::TOOLS_DIR`]. Nothing else is writable. It does
//!   not see host processes, other sandboxes or the host's data directory.
//! - **Environment.** A command's environment is built from nothing: a minimal `PATH`, `HOME`
//!   and `LANG`, then [`crate::SandboxSpec::env`], then [`crate::ExecRequest::env`]. The server's
//!   own environment never leaks in.
//! - **Output.** `exec` sends every stdout and stderr line to the sink as it is written, in order
//!   per stream, and waits when the sink is full rather than dropping lines. A closed sink does
//!   not stop the command; its output is then discarded.
//! - **Stopping.** The wall-clock timeout, the no-output watchdog and [`Sandbox::kill`] all use
//!   the same escalation on every process of the sandbox: SIGINT, then SIGTERM, then SIGKILL
//!   (see [`crate::KillPolicy`]); everything is gone within two seconds even when signals are
//!   ignored. `kill` may be called from another task while `exec` runs; that `exec` then returns
//!   normally with [`crate::StopReason::Killed`]. `kill` on an idle sandbox is a no-op.
//! - **Files.** `read_file` and `write_file` take paths relative to the workspace or home and
//!   reject absolute paths, `..` and symlinks leading outside with
//!   [`crate::SandboxError::InvalidPath`].
//! - **Lifetime.** `create` fails with `AlreadyExists` for a live id. `destroy` kills and then
//!   removes everything; afterwards every operation on the id is `NotFound`. State needed to find
//!   a sandbox again lives with the backend (disk, engine), never only in one process's memory,
//!   so any process can [`Sandbox::open`] or [`Sandbox::gc`] it. A HOME named by
//!   [`crate::SandboxSpec::home`] outlives `destroy` (parked) until [`Sandbox::drop_home`].
//! - **Activity.** Whether code runs in a sandbox is known to every process sharing the backend
//!   ([`Sandbox::status`]), and [`Sandbox::hold_idle`] keeps new commands out while the host
//!   reads the workspace.
//! - **Errors.** What the backend cannot do is [`crate::SandboxError::Unsupported`], never a
//!   silent no-op or a weaker fallback.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::error::Result;
use crate::spec::{
    Capabilities, ExecOutcome, ExecRequest, FileRoot, IdleHold, OutputLine, Reclaimed,
    SandboxHandle, SandboxSpec, SandboxStatus,
};
use crate::terminal::{TerminalRequest, TerminalSession};

/// An isolated place to run an agent's commands against a workspace.
///
/// Object safe: the server holds an `Arc<dyn Sandbox>` chosen from configuration.
#[async_trait]
pub trait Sandbox: Send + Sync + Debug {
    /// A short name for messages (`"bubblewrap"`).
    fn name(&self) -> &'static str;

    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Proves that sandboxes work on this host, naming what is missing when they do not.
    /// Processes that run sandboxes call it once at start-up; there is never a fallback to
    /// running without isolation.
    async fn check(&self) -> Result<()> {
        Ok(())
    }

    /// Creates an empty sandbox.
    async fn create(&self, spec: SandboxSpec) -> Result<SandboxHandle>;

    /// Finds an existing sandbox by id, for example one kept alive by another process.
    async fn open(&self, id: &str) -> Result<SandboxHandle>;

    /// Runs one command, streaming its output lines to `sink`, and returns how it ended.
    ///
    /// A non-zero exit, a timeout or a kill is an `Ok` outcome; `Err` means the command could not
    /// be run or watched at all.
    async fn exec(
        &self,
        handle: &SandboxHandle,
        request: ExecRequest,
        sink: mpsc::Sender<OutputLine>,
    ) -> Result<ExecOutcome>;

    /// Reads a file from the workspace or home.
    async fn read_file(
        &self,
        handle: &SandboxHandle,
        root: FileRoot,
        path: &str,
    ) -> Result<Vec<u8>>;

    /// Writes a file in the workspace or home, creating parent directories.
    async fn write_file(
        &self,
        handle: &SandboxHandle,
        root: FileRoot,
        path: &str,
        contents: &[u8],
    ) -> Result<()>;

    /// Stops every process in the sandbox (SIGINT, SIGTERM, SIGKILL) and waits until they are
    /// gone. Safe to call while `exec` runs in another task, and when nothing runs.
    async fn kill(&self, handle: &SandboxHandle) -> Result<()>;

    /// Kills everything and removes the sandbox and its files.
    async fn destroy(&self, handle: &SandboxHandle) -> Result<()>;

    /// Moves the sandbox's expiry, for example when a follow-up keeps it alive longer.
    async fn set_expiry(&self, handle: &SandboxHandle, until: DateTime<Utc>) -> Result<()>;

    /// Destroys every sandbox whose expiry is at or before `now` and says which.
    async fn gc(&self, now: DateTime<Utc>) -> Result<Vec<Reclaimed>>;

    /// What the sandbox is doing and using now: expiry, running commands (from any process),
    /// processes, memory and disk.
    async fn status(&self, handle: &SandboxHandle) -> Result<SandboxStatus>;

    /// `Some` when no code of the sandbox runs: until the hold is dropped no command starts
    /// there (one being started waits), so the host can read the workspace without the agent
    /// swapping it underneath. `None` while something runs.
    async fn hold_idle(&self, handle: &SandboxHandle) -> Result<Option<IdleHold>>;

    /// Removes the HOME parked under `name` (see [`crate::SandboxSpec::home`]); no error when
    /// there is none.
    async fn drop_home(&self, name: &str) -> Result<()>;

    /// Starts a login shell on a pseudo-terminal in the sandbox, isolated exactly like `exec`'s
    /// commands (see [`crate::terminal`]).
    async fn open_terminal(
        &self,
        handle: &SandboxHandle,
        request: TerminalRequest,
    ) -> Result<Box<dyn TerminalSession>> {
        let _ = (handle, request);
        Err(crate::SandboxError::Unsupported { operation: "terminals", backend: self.name() })
    }
}
