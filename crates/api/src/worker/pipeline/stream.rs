//! The agent's output, line by line: every line is a raw event, then whatever the CLI's parser
//! makes of it. The session id is recorded as soon as it is seen, a stop request kills the
//! sandbox's processes at once, and a CLI that lingers after its final result is stopped after
//! a short grace.

use std::time::Duration;

use sandbox::agents::AgentParser;
use sandbox::{ExecOutcome, ExecRequest, OutputLine, SandboxHandle};
use shared::events::{EventBody, LogLevel};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Turn;
use crate::worker::error::RunError;

/// How the agent's process ended and what its parser saw.
pub(crate) struct Streamed {
    pub exec: ExecOutcome,
    pub parser: Box<dyn AgentParser>,
    /// Drydock killed it (stop request, or lingering after its result).
    pub killed: bool,
}

pub(crate) async fn run(
    turn: &Turn<'_>,
    handle: &SandboxHandle,
    request: ExecRequest,
    mut parser: Box<dyn AgentParser>,
) -> Result<Streamed, RunError> {
    let backend = &turn.ctx.sandbox;
    let run = turn.run;
    let (tx, mut rx) = mpsc::channel::<OutputLine>(1024);
    let exec = backend.exec(handle, request, tx);
    tokio::pin!(exec);
    let grace = Duration::from_secs(turn.ctx.settings.tasks.agent_exit_grace_secs);
    let mut result_deadline: Option<Instant> = None;
    let mut killed = false;
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
                feed(line, &mut parser);
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
            _ = run.cancelled(), if !killed => {
                run.log("Stopping the agent");
                killed = true;
                let _ = backend.kill(handle).await;
            }
            _ = sleep_until(result_deadline), if !killed => {
                run.event(EventBody::Log {
                    level: LogLevel::Warn,
                    message: format!("The agent kept running {}s after its result; stopping it.", grace.as_secs()),
                });
                killed = true;
                let _ = backend.kill(handle).await;
            }
        }
    };
    while let Ok(line) = rx.try_recv() {
        feed(line, &mut parser);
    }
    for event in parser.finish() {
        run.event(event);
    }
    if !session_recorded {
        if let Some(id) = parser.session_id() {
            run.set_session(id).await;
        }
    }
    Ok(Streamed { exec, parser, killed })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
