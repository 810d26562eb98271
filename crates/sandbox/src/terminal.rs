//! Interactive terminals in a sandbox: a login shell on a pseudo-terminal, for people.
//!
//! A terminal is one more command in the sandbox, started the way [`crate::Sandbox::exec`]
//! starts one (same identity, namespaces, seccomp filter, limits, cgroup and network), except
//! that its standard streams are a pseudo-terminal of its own instead of pipes, and nothing
//! watches its output for lines: the bytes go to whoever holds the [`TerminalSession`].
//!
//! # Contract
//!
//! - The shell is `bash -l` where the sandbox has bash, else `sh -l`, started in the workspace
//!   (or [`TerminalRequest::cwd`] below it) with the environment `exec` would give plus `TERM`.
//! - [`TerminalSession::read`] returns output as it comes and `Ok(0)` once the shell and
//!   everything that held the terminal have gone.
//! - [`TerminalSession::resize`] changes the window size the shell sees (`stty size`) and
//!   sends it `SIGWINCH`.
//! - [`TerminalSession::kill`] stops every process the session started, with the same
//!   escalation as [`crate::Sandbox::kill`]; [`crate::Sandbox::kill`] and
//!   [`crate::Sandbox::destroy`] stop the sandbox's terminals too. Dropping a session that
//!   still runs kills it.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::{Result, SandboxError};

/// Largest number of columns or rows a terminal may have.
pub const MAX_TERMINAL_SIDE: u16 = 1000;

/// A terminal's window size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    /// Columns, 1 to [`MAX_TERMINAL_SIDE`].
    pub cols: u16,
    /// Rows, 1 to [`MAX_TERMINAL_SIDE`].
    pub rows: u16,
}

impl TerminalSize {
    /// A size, or [`SandboxError::InvalidRequest`] when a side is 0 or above the maximum.
    pub fn new(cols: u16, rows: u16) -> Result<Self> {
        let ok = |n: u16| (1..=MAX_TERMINAL_SIDE).contains(&n);
        if ok(cols) && ok(rows) {
            Ok(Self { cols, rows })
        } else {
            Err(SandboxError::InvalidRequest(format!(
                "a terminal is 1 to {MAX_TERMINAL_SIDE} columns by 1 to {MAX_TERMINAL_SIDE} rows, \
                 not {cols}x{rows}"
            )))
        }
    }
}

impl Default for TerminalSize {
    fn default() -> Self {
        Self { cols: 80, rows: 24 }
    }
}

/// What a terminal starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalRequest {
    /// The initial window size.
    pub size: TerminalSize,
    /// Working directory relative to the workspace; empty for the workspace itself.
    pub cwd: String,
    /// Variables on top of the sandbox's own (`TERM` is set unless given here).
    pub env: Vec<(String, String)>,
}

/// A running terminal: the host's end of the pseudo-terminal and the processes behind it.
#[async_trait]
pub trait TerminalSession: Send + Sync + Debug {
    /// Reads output into `buf`; `Ok(0)` once the terminal has closed for good.
    async fn read(&self, buf: &mut [u8]) -> Result<usize>;

    /// Types `data` into the terminal, all of it.
    async fn write(&self, data: &[u8]) -> Result<()>;

    /// Sets the window size (`TIOCSWINSZ`), which the shell learns through `SIGWINCH`.
    fn resize(&self, size: TerminalSize) -> Result<()>;

    /// Stops every process of the session and waits until they are gone.
    async fn kill(&self);

    /// Whether the session's processes still run.
    fn is_alive(&self) -> bool;
}
