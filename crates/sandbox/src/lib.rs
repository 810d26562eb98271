//! Sandboxes, the git pipeline and agent strategies ([`agents`]).
//!
//! - [`Sandbox`]: the backend trait and its written contract ([`backend`]), with one error type
//!   ([`SandboxError`]) and a conformance suite ([`conformance`]) every backend passes.
//! - [`LocalSandbox`]: the default backend, on bubblewrap; [`relay`]: the small program brokered
//!   sandboxes run their commands under, which carries loopback traffic to the egress proxy;
//!   [`ingress`]: the way back in, for a dev server's preview.
//! - [`git`]: clone, branch, commit, push and diff on the host, with the token kept away from
//!   the agent; [`install_plan`]: dependency installation commands by lockfile.

pub mod agents;
pub mod backend;
pub mod conformance;
mod error;
pub mod files;
pub mod git;
pub mod ingress;
pub mod install_plan;
mod local;
pub mod relay;
mod spec;
pub mod terminal;
#[cfg(feature = "testing")]
pub mod testing;
pub mod workspace;

pub use backend::Sandbox;
pub use error::{Result, SandboxError};
pub use local::{CgroupMode, LocalSandbox, LocalSandboxConfig, RelayProgram};
pub use spec::{
    validate_id, Capabilities, ExecOutcome, ExecRequest, Expose, FileRoot, IdleHold, KillPolicy,
    Limits, NetworkMode, OutputLine, ReadOnlyBind, Reclaimed, SandboxHandle, SandboxSpec,
    SandboxStatus, StopReason, EGRESS_DIR, EGRESS_PORT, EGRESS_SOCKET, HOME_DIR, TOOLS_DIR,
    WORKSPACE_DIR,
};
pub use terminal::{TerminalRequest, TerminalSession, TerminalSize};
