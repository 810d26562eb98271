//! The web terminal: a login shell on a pseudo-terminal in a task's live sandbox, carried over
//! a WebSocket (protocol in `docs/terminal.md`).
//!
//! The shell itself is the sandbox backend's (`Sandbox::open_terminal`): same uid, limits,
//! cgroup, seccomp filter and network as the agent. This module only authorises, keeps the
//! sessions of this process so a client can reattach, and moves bytes.

pub mod endpoints;
pub mod sessions;
pub mod token;

use std::time::Duration;

pub use endpoints::configure;

use crate::config::Settings;

/// The terminals and terminal tokens of this process.
#[derive(Debug)]
pub struct Terminals {
    /// Open sessions.
    pub sessions: sessions::Sessions,
    /// Token issue and single use.
    pub tokens: token::Tokens,
}

impl Terminals {
    /// Empty, with the idle limit from `tasks.terminal_idle_minutes`.
    pub fn new(settings: &Settings) -> Self {
        let idle = Duration::from_secs(settings.tasks.terminal_idle_minutes.max(1) * 60);
        Self { sessions: sessions::Sessions::new(idle), tokens: token::Tokens::default() }
    }
}
