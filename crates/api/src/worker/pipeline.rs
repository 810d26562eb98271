//! The run pipeline: provisioning → cloning → installing → running_agent → committing →
//! pushing, each a stage event, each command an event.

use std::sync::Arc;

use super::claim::Job;
use super::context::RunContext;
use super::executor::{Executor, RunOutcome};
use crate::config::Settings;

/// The executor for these settings.
pub fn executor(_settings: &Settings) -> anyhow::Result<Arc<dyn Executor>> {
    Ok(Arc::new(Pipeline {}))
}

/// Runs tasks in sandboxes.
pub struct Pipeline {}

#[async_trait::async_trait]
impl Executor for Pipeline {
    async fn run_job(&self, _job: &Job, _ctx: &RunContext) -> RunOutcome {
        RunOutcome::Failed("the sandbox pipeline is not wired yet".into())
    }
}
