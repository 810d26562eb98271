//! The seam between the queue and what a run does.

use super::claim::Job;
use super::context::RunContext;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// It did its work.
    Completed {
        /// The agent's final message, in markdown.
        agent_message: Option<String>,
    },
    /// It failed, for this reason (shown to the user).
    Failed(String),
    /// It was stopped on request.
    Stopped,
}

/// Executes a claimed run: sandbox, clone, agent, commit, push.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// Runs `job` to its end. Progress and events go through `ctx`; `ctx.cancelled()` turns
    /// true when the run must stop, and the executor must then kill what it started.
    async fn run_job(&self, job: &Job, ctx: &RunContext) -> RunOutcome;
}
