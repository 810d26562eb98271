//! Stage 4: the agent CLI, headless, with the owner's key; its output is streamed by
//! [`super::stream`], and its verdict turned into the run's result here.

use std::path::Path;
use std::time::Duration;

use sandbox::agents::{self, AgentParser, AgentRun, AgentStrategy, Outcome};
use sandbox::{ExecRequest, FileRoot, StopReason};
use shared::events::EventBody;

use super::deadline::Deadline;
use super::egress::AgentCredentials;
use super::provision::Provisioned;
use super::stream::{self, Streamed};
use super::{Turn, OVERRIDES};
use crate::worker::error::RunError;

/// Runs one agent turn; returns its final message.
pub(crate) async fn run(
    turn: &Turn<'_>,
    sandbox: &Provisioned,
    credentials: AgentCredentials,
) -> Result<Option<String>, RunError> {
    let AgentCredentials { key: (key, base_url), github, mcp_servers } = credentials;
    let task = &turn.job.task;
    let strategy = turn.inputs.strategy;
    let version = ensure_installed(turn, strategy).await?;
    turn.run.set_agent_version(&version).await;

    // The session's files are in HOME: a kept sandbox's, or one parked by the task's last.
    let resume =
        if sandbox.reused || sandbox.handle.restored_home { task.session_id.clone() } else { None };
    let prompt = if turn.job.number > 1 && resume.is_none() {
        with_history(turn)
    } else {
        turn.job.prompt.clone()
    };
    let mut run = AgentRun::new(prompt, key);
    run.model = task.model.clone();
    run.base_url = base_url;
    run.github_endpoints = github;
    run.resume_session = resume;
    run.mcp_servers = mcp_servers;
    if task.enable_browser {
        let tools = crate::browser::detect(&turn.ctx.settings.browser)
            .map_err(|reason| RunError::user(crate::browser::unavailable(reason)))?;
        let brokered = sandbox.handle.egress_socket.is_some();
        // The built-in server takes its name over from any connector of the same name.
        run.mcp_servers.retain(|s| s.name != crate::browser::MCP_NAME);
        run.mcp_servers.push(tools.mcp_server(brokered));
    }
    if !run.mcp_servers.is_empty() {
        let names: Vec<&str> = run.mcp_servers.iter().map(|s| s.name.as_str()).collect();
        turn.run.log(format!("MCP servers: {}", names.join(", ")));
    }
    let invocation = strategy.prepare(&run).map_err(|e| RunError::user(e.to_string()))?;
    for file in &invocation.files {
        let (root, rel) = sandbox_path(&file.resolve(&run.paths.home), &run.paths.home)?;
        turn.ctx
            .sandbox
            .write_file(&sandbox.handle, root, &rel, file.contents.as_bytes())
            .await
            .map_err(RunError::internally("writing the agent's configuration"))?;
    }
    let mut argv = invocation.argv.clone();
    let kind = strategy.spec().kind.as_str();
    if turn.ctx.settings.agent_binaries.contains_key(kind) {
        if let Some(first) = argv.first_mut() {
            *first = format!("{}/{OVERRIDES}/{kind}", sandbox::TOOLS_DIR);
        }
    }
    let shown = redact_prompt(&argv, &run.prompt);
    turn.run.event(EventBody::Command { argv: shown.clone(), exit_code: None, duration_ms: 0 });

    let settings = &turn.ctx.settings.tasks;
    let mut request = ExecRequest::new(argv);
    request.env = invocation.env.into_iter().collect();
    request.cwd = invocation
        .cwd
        .strip_prefix(sandbox::WORKSPACE_DIR)
        .map(|p| p.to_string_lossy().trim_start_matches('/').to_owned())
        .unwrap_or_else(|_| super::checkout::REPO_DIR.into());
    request.idle_timeout = Some(Duration::from_secs(settings.agent_idle_timeout_secs));

    let parser = strategy.parser(&agents::AgentPaths::sandbox());
    let deadline = Deadline::start(turn).await?;
    request.timeout = Some(deadline.hard_limit);
    let streamed = stream::run(turn, &sandbox.handle, request, parser, &deadline).await?;
    turn.run.event(EventBody::Command {
        argv: shown,
        exit_code: streamed.exec.exit_code,
        duration_ms: streamed.exec.duration.as_millis() as u64,
    });
    verdict(turn, streamed, &deadline)
}

/// What the run's result is, from how the process ended and what the CLI said.
fn verdict(
    turn: &Turn<'_>,
    streamed: Streamed,
    deadline: &Deadline,
) -> Result<Option<String>, RunError> {
    if turn.run.is_cancelled() {
        return Err(RunError::user("stopped"));
    }
    let Streamed { exec, parser, killed, over_budget, timed_out } = streamed;
    if over_budget {
        return Err(RunError::user(format!(
            "The agent printed more than the {} MiB of output a run may have, and was stopped.",
            turn.ctx.settings.tasks.max_output_mb
        )));
    }
    if timed_out || exec.stopped == Some(StopReason::Timeout) {
        return Err(RunError::user(format!(
            "The run exceeded its limit of {} minutes.",
            deadline.minutes()
        )));
    }
    match exec.stopped {
        Some(StopReason::DiskQuota) => {
            return Err(RunError::user(format!(
                "The sandbox used more than {} MiB of disk (workspace and HOME) and was stopped.",
                turn.ctx.settings.tasks.sandbox_disk_mb
            )))
        }
        Some(StopReason::Idle) => {
            return Err(RunError::user(format!(
                "The agent wrote nothing for {} seconds and was stopped.",
                turn.ctx.settings.tasks.agent_idle_timeout_secs
            )))
        }
        _ => {}
    }
    let message = |parser: &dyn AgentParser| parser.final_message().map(str::to_owned);
    match parser.outcome() {
        Outcome::Succeeded => Ok(message(&*parser)),
        Outcome::Failed(reason) => Err(RunError::user(format!("The agent failed: {reason}"))),
        Outcome::Cancelled => Err(RunError::user("The agent was interrupted.")),
        Outcome::Unknown if exec.exit_code == Some(0) && !killed => Ok(message(&*parser)),
        Outcome::Unknown => Err(RunError::user(match exec.exit_code {
            Some(code) => format!("The agent exited with code {code} without a result."),
            None => "The agent was killed before it finished.".into(),
        })),
    }
}

/// The CLI's version, installing it into the tool cache first when it is missing.
async fn ensure_installed(
    turn: &Turn<'_>,
    strategy: &'static dyn AgentStrategy,
) -> Result<String, RunError> {
    let spec = strategy.spec();
    let settings = &turn.ctx.settings;
    if settings.agent_binaries.contains_key(spec.kind.as_str()) {
        return Ok(format!("{} (custom binary)", spec.version));
    }
    let tools = settings.tools_dir();
    if strategy.binary_path(&tools).exists() {
        return Ok(spec.version.to_owned());
    }
    turn.run.log(format!("Installing {} {} into the tool cache", spec.kind.as_str(), spec.version));
    turn.run.flush().await;
    let installed = tokio::task::spawn_blocking(move || {
        strategy.install(&tools, &mut |line| tracing::info!(agent = spec.kind.as_str(), "{line}"))
    })
    .await
    .map_err(RunError::internally("installing the agent"))?
    .map_err(|e| RunError::user(e.to_string()))?;
    Ok(installed.version)
}

/// The prompt of a follow-up that cannot resume the agent's session: the most recent messages
/// as context, then the new request.
fn with_history(turn: &Turn<'_>) -> String {
    let history = &turn.inputs.history;
    let n = turn.ctx.settings.tasks.context_messages;
    let recent = &history[history.len().saturating_sub(n)..];
    let mut out = String::from("Earlier in this task (most recent messages):\n\n");
    for m in recent {
        let who = match m.role {
            shared::tasks::MessageRole::User => "User",
            shared::tasks::MessageRole::Agent => "Agent",
        };
        out.push_str(&format!("{who}: {}\n\n", m.content));
    }
    out.push_str(&format!("Now: {}", turn.job.prompt));
    out
}

/// Where a config file of the agent goes: its home or the workspace, nowhere else.
fn sandbox_path(path: &Path, home: &Path) -> Result<(FileRoot, String), RunError> {
    let (root, rel) = match path.strip_prefix(home) {
        Ok(rel) => (FileRoot::Home, rel),
        Err(_) => match path.strip_prefix(sandbox::WORKSPACE_DIR) {
            Ok(rel) => (FileRoot::Workspace, rel),
            Err(_) => {
                return Err(RunError::internal(
                    "writing the agent's configuration",
                    anyhow::anyhow!("agent config {} is outside the sandbox", path.display()),
                ))
            }
        },
    };
    Ok((root, rel.to_string_lossy().into_owned()))
}

/// Keeps the prompt out of command events (it is in the conversation already) and keeps them
/// short.
fn redact_prompt(argv: &[String], prompt: &str) -> Vec<String> {
    argv.iter()
        .map(|a| if a == prompt && a.len() > 40 { "<prompt>".to_owned() } else { a.clone() })
        .collect()
}
