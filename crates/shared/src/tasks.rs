//! Task status and stage: the public lifecycle of a task.

use serde::{Deserialize, Serialize};

/// Public status, as in the reference system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// A worker is running it.
    Processing,
    /// The last run succeeded.
    Completed,
    /// The last run failed.
    Error,
    /// A user stopped it.
    Stopped,
}

impl TaskStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Processing,
        Self::Completed,
        Self::Error,
        Self::Stopped,
    ];

    /// Whether no late writer may change this status.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Error | Self::Stopped)
    }

    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Error => "error",
            Self::Stopped => "stopped",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Finer-grained progress within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStage {
    /// Waiting in the queue.
    Queued,
    /// Creating the sandbox.
    Provisioning,
    /// Cloning the repository.
    Cloning,
    /// Installing dependencies.
    Installing,
    /// The agent is working.
    RunningAgent,
    /// Committing the agent's changes.
    Committing,
    /// Pushing the branch.
    Pushing,
    /// Finished.
    Done,
}

impl TaskStage {
    /// All stages, in order.
    pub const ALL: [Self; 8] = [
        Self::Queued,
        Self::Provisioning,
        Self::Cloning,
        Self::Installing,
        Self::RunningAgent,
        Self::Committing,
        Self::Pushing,
        Self::Done,
    ];

    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Provisioning => "provisioning",
            Self::Cloning => "cloning",
            Self::Installing => "installing",
            Self::RunningAgent => "running_agent",
            Self::Committing => "committing",
            Self::Pushing => "pushing",
            Self::Done => "done",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Rough progress in percent for this stage, for progress bars.
    pub fn progress(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Provisioning => 5,
            Self::Cloning => 15,
            Self::Installing => 30,
            Self::RunningAgent => 50,
            Self::Committing => 85,
            Self::Pushing => 92,
            Self::Done => 100,
        }
    }
}
