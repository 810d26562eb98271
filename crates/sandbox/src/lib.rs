//! Sandboxes, the git pipeline and agent strategies ([`agents`]).
//!
//! - [`Sandbox`]: the backend trait and its written contract ([`backend`]), with one error type
//!   ([`SandboxError`]) and a conformance suite ([`conformance`]) every backend passes.
//! - [`LocalSandbox`]: the default backend, on bubblewrap.
//! - [`git`]: clone, branch, commit, push and diff on the host, with the token kept away from
//!   the agent; [`install_plan`]: dependency installation commands by lockfile.

pub mod agents;
pub mod backend;
pub mod conformance;
mod error;
pub mod files;
pub mod git;
pub mod install_plan;
mod local;
mod spec;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::Sandbox;
pub use error::{Result, SandboxError};
pub use local::{CgroupMode, LocalSandbox, LocalSandboxConfig};
pub use spec::{
    validate_id, Capabilities, ExecOutcome, ExecRequest, FileRoot, KillPolicy, Limits, OutputLine,
    Reclaimed, SandboxHandle, SandboxSpec, StopReason, HOME_DIR, TOOLS_DIR, WORKSPACE_DIR,
};
