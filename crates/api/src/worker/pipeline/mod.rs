//! The run pipeline, one module per stage:
//!
//! 1. [`provision`]: open the task's kept-alive sandbox or create a fresh one;
//! 2. [`checkout`]: clone onto the task branch (first run, or a follow-up in a fresh sandbox);
//! 3. [`install`]: install dependencies by lockfile, when the task asks for it (a brokered
//!    sandbox's egress proxy, [`egress`], serves from here until the agent is done);
//! 4. [`agent`]: run the agent CLI, its output streamed as events by [`stream`];
//! 5. [`publish`]: commit, push, and open the pull request when the task asked for one.
//!
//! Each stage is an event, and so is each command (argv, exit code, duration; secrets redacted
//! by the event writer). A stage fails with a [`RunError`], which decides what the user reads.

mod agent;
mod checkout;
mod deadline;
mod egress;
mod install;
mod naming;
pub mod provision;
mod publish;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use sandbox::git::{CommandRecord, Git};
use sandbox::SandboxHandle;
use shared::events::EventBody;
use shared::tasks::TaskStage;

use super::claim::Job;
use super::context::RunContext;
use super::error::RunError;
use super::inputs::RunInputs;
use super::WorkerContext;

/// Where the fake or custom agent binaries are copied inside the tool cache.
pub const OVERRIDES: &str = "overrides";

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
    /// It was stopped.
    Stopped,
}

/// The end of the pipeline: the outcome, and the sandbox it leaves for the caller to keep or
/// destroy (after recording the outcome, so a stop is reported as soon as the agent is gone).
pub struct Finished {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The sandbox the run used, if it got one.
    pub sandbox: Option<SandboxHandle>,
}

/// One run going through the stages: what every stage reads.
pub(crate) struct Turn<'a> {
    pub ctx: &'a WorkerContext,
    pub job: &'a Job,
    pub run: &'a RunContext,
    pub inputs: &'a RunInputs,
}

impl Turn<'_> {
    /// A git runner whose every command becomes a `command` event.
    fn git(&self) -> Git {
        let run = self.run.clone();
        let recorder = Arc::new(move |record: CommandRecord| {
            run.event(EventBody::Command {
                argv: record.argv,
                exit_code: record.exit_code,
                duration_ms: record.duration.as_millis() as u64,
            });
        });
        let settings = &self.ctx.settings;
        Git::new()
            .allow_local(settings.tasks.allow_local_repos)
            .allow_http(settings.github.api_url.starts_with("http://"))
            .timeout(Duration::from_secs(600))
            .with_recorder(recorder)
    }
}

/// Runs the stages of `job` in order.
pub async fn run(ctx: &WorkerContext, job: &Job, run: &RunContext, inputs: &RunInputs) -> Finished {
    let turn = Turn { ctx, job, run, inputs };
    let mut sandbox = None;
    let result = stages(&turn, &mut sandbox).await;
    let outcome = match result {
        _ if run.is_cancelled() => RunOutcome::Stopped,
        Ok(agent_message) => RunOutcome::Completed { agent_message },
        Err(e) => RunOutcome::Failed(e.into_message(job.task.id, job.run_id)),
    };
    Finished { outcome, sandbox }
}

async fn stages(
    turn: &Turn<'_>,
    sandbox_slot: &mut Option<SandboxHandle>,
) -> Result<Option<String>, RunError> {
    let key = turn.inputs.agent_key()?;
    // The first run names the task (and so its branch) before anything else.
    let title = naming::title(turn).await;

    turn.run.stage(TaskStage::Provisioning).await;
    let sandbox = provision::provision(turn).await?;
    *sandbox_slot = Some(sandbox.handle.clone());
    let (credentials, proxy) = egress::start(turn, &sandbox, key).await?;
    let commands = async {
        let repo = checkout::checkout(turn, &sandbox, &title).await?;
        if !sandbox.reused && turn.job.task.install_dependencies {
            install::install(turn, &sandbox).await?;
        }
        let start_head = turn.git().head(&repo.dir).await?;
        turn.run.stage(TaskStage::RunningAgent).await;
        let message = agent::run(turn, &sandbox, credentials).await?;
        Ok::<_, RunError>((repo, start_head, message))
    }
    .await;
    if let Some(proxy) = proxy {
        proxy.stop(turn).await;
    }
    let (repo, start_head, message) = commands?;
    if turn.run.is_cancelled() {
        return Err(RunError::user("stopped"));
    }
    publish::publish(turn, &repo, &title, message.as_deref(), start_head).await?;
    turn.run.stage(TaskStage::Done).await;
    Ok(message)
}
