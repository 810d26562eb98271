//! The agent's output, line by line: every line is a raw event, then whatever the CLI's parser
//! makes of it. The session id is recorded as soon as it is seen, a stop request kills the
//! sandbox's processes at once, and a CLI that lingers after its final result is stopped after
//! a short grace, and one that reaches its time limit (which its owner may move) is stopped.
//!
//! Output is bounded twice. Every few MiB the loop waits until the queued events are committed,
//! so a flood is read only as fast as the database takes it (and the sandbox's pipe, then the
//! agent, wait meanwhile) instead of piling up in memory; and past `tasks.max_output_mb` the run
//! is stopped with an error that says so.

use std::time::Duration;

use sandbox::agents::AgentParser;
use sandbox::{ExecOutcome, ExecRequest, OutputLine, SandboxHandle};
use shared::events::{EventBody, LogLevel};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::deadline::Deadline;
use super::Turn;
use crate::worker::error::RunError;

/// How the agent's process ended and what its parser saw.
pub(crate) struct Streamed {
    pub exec: ExecOutcome,
    pub parser: Box<dyn AgentParser>,
    /// Drydock killed it (stop request, or lingering after its result).
    pub killed: bool,
    /// It printed more than its output budget and was stopped for it.
    pub over_budget: bool,
    /// It ran past its time limit and was stopped for it.
    pub timed_out: bool,
}

/// How often a kill is repeated while the command has not ended.
const KILL_REPEAT: Duration = Duration::from_millis(700);

/// Queued output after which the loop waits for the event writer to catch up.
const BACKLOG_BYTES: u64 = 4 << 20;

pub(crate) async fn run(
    turn: &Turn<'_>,
    handle: &SandboxHandle,
    request: ExecRequest,
    mut parser: Box<dyn AgentParser>,
    deadline: &Deadline,
) -> Result<Streamed, RunError> {
    let backend = &turn.ctx.sandbox;
    let run = turn.run;
    let (tx, mut rx) = mpsc::channel::<OutputLine>(1024);
    let exec = backend.exec(handle, request, tx);
    tokio::pin!(exec);
    let grace = Duration::from_secs(turn.ctx.settings.tasks.agent_exit_grace_secs);
    let mut result_deadline: Option<Instant> = None;
    let mut killed = false;
    // A kill can land before the sandbox has registered the command it is starting (a stop
    // right as the agent starts), and would then find nothing to stop: until the command is
    // gone, it is repeated.
    let mut rekill = tokio::time::interval(KILL_REPEAT);
    rekill.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut over_budget = false;
    let mut timed_out = false;
    let budget = turn.ctx.settings.tasks.max_output_mb.saturating_mul(1 << 20);
    let (mut printed, mut backlog) = (0u64, 0u64);
    let mut session_recorded = false;
    let feed = |line: OutputLine, parser: &mut Box<dyn AgentParser>| {
        run.event(EventBody::Raw { stream: line.stream, line: line.line.clone() });
        for event in parser.feed(line.stream, &line.line) {
            run.event(event);
        }
    };
    let exec = loop {
        tokio::select! {
            res = &mut exec => break res.map_err(RunError::internally("running the agent"))?,
            Some(line) = rx.recv() => {
                if over_budget {
                    // Drained and dropped: the sandbox must not block on a full sink while
                    // its processes are being killed.
                    continue;
                }
                let size = line.line.len() as u64 + 1;
                printed += size;
                backlog += size;
                if printed > budget {
                    over_budget = true;
                    killed = true;
                    rekill.reset();
                    run.event(EventBody::Log {
                        level: LogLevel::Error,
                        message: format!("The agent printed more than {} MiB; stopping it.", budget >> 20),
                    });
                    kill(backend, handle);
                    continue;
                }
                feed(line, &mut parser);
                if backlog > BACKLOG_BYTES {
                    run.flush().await;
                    backlog = 0;
                }
                if !session_recorded {
                    if let Some(id) = parser.session_id() {
                        run.set_session(id).await;
                        session_recorded = true;
                    }
                }
                if parser.saw_result() && result_deadline.is_none() {
                    result_deadline = Some(Instant::now() + grace);
                }
            }
            _ = rekill.tick(), if killed => kill(backend, handle),
            _ = run.cancelled(), if !killed => {
                run.log("Stopping the agent");
                killed = true;
                rekill.reset();
                kill(backend, handle);
            }
            () = deadline.passed(), if !killed => {
                run.event(EventBody::Log {
                    level: LogLevel::Warn,
                    message: "The run reached its time limit; stopping the agent.".into(),
                });
                timed_out = true;
                killed = true;
                rekill.reset();
                kill(backend, handle);
            }
            _ = sleep_until(result_deadline), if !killed => {
                run.event(EventBody::Log {
                    level: LogLevel::Warn,
                    message: format!("The agent kept running {}s after its result; stopping it.", grace.as_secs()),
                });
                killed = true;
                rekill.reset();
                kill(backend, handle);
            }
        }
    };
    while let Ok(line) = rx.try_recv() {
        if !over_budget {
            feed(line, &mut parser);
        }
    }
    for event in parser.finish() {
        run.event(event);
    }
    if !session_recorded {
        if let Some(id) = parser.session_id() {
            run.set_session(id).await;
        }
    }
    Ok(Streamed { exec, parser, killed, over_budget, timed_out })
}

/// Stops the sandbox's processes from another task: `exec` must keep being polled meanwhile,
/// since it is what reaps the processes and so ends each grace period as soon as they exit.
/// (Awaiting the kill here instead held every stop for the whole escalation, 2.5 s.)
fn kill(backend: &crate::sandboxes::Backend, handle: &SandboxHandle) {
    let (backend, handle) = (backend.clone(), handle.clone());
    tokio::spawn(async move {
        if let Err(e) = backend.kill(&handle).await {
            tracing::warn!(sandbox = %handle.id, error = %e, "stopping the agent failed");
        }
    });
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
