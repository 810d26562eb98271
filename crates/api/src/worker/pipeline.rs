//! The run pipeline: provisioning → cloning → installing → running_agent → committing →
//! pushing. Each stage is an event, and so is each command (argv, exit code, duration, secrets
//! redacted by the event writer).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sandbox::agents::{self, AgentPaths, AgentRun, AgentStrategy, Outcome, Secret};
use sandbox::{ExecRequest, FileRoot, OutputLine, Sandbox, SandboxHandle, SandboxSpec, StopReason};
use secrecy::ExposeSecret;
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, LogLevel};
use shared::tasks::TaskStage;
use tokio::sync::mpsc;

use super::claim::Job;
use super::context::RunContext;
use super::executor::{Executor, RunOutcome};
use super::repo;
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;

/// Where the fake or custom agent binaries are copied inside the tool cache.
const OVERRIDES: &str = "overrides";

/// Builds the executor: the local bubblewrap backend, checked now so a broken install fails at
/// startup with a clear message, never later or silently without isolation.
pub async fn executor(
    settings: &Arc<Settings>,
    pool: DbPool,
    secrets: SecretBox,
) -> anyhow::Result<Arc<dyn Executor>> {
    let backend = settings.sandbox_backend()?;
    backend.check().await?;
    announce_isolation(settings, &backend.capabilities())?;
    let tools = settings.tools_dir();
    std::fs::create_dir_all(tools.join(OVERRIDES))?;
    for (agent, path) in &settings.agent_binaries {
        let target = tools.join(OVERRIDES).join(agent);
        std::fs::copy(path, &target)
            .map_err(|e| anyhow::anyhow!("copying agent binary {}: {e}", path.display()))?;
    }
    Ok(Arc::new(Pipeline { sandbox: Arc::new(backend), settings: settings.clone(), pool, secrets }))
}

/// Says at start which limits the sandboxes really get, so an operator never learns it from a
/// fork bomb. A delegated cgroup directory that cannot be used is an error: it was asked for.
fn announce_isolation(settings: &Settings, caps: &sandbox::Capabilities) -> anyhow::Result<()> {
    let configured = settings.tasks.sandbox_cgroups.trim();
    if !matches!(configured, "auto" | "off") && !caps.memory_limit {
        anyhow::bail!(
            "tasks.sandbox_cgroups = {configured:?} is not usable: Drydock must be able to create \
             it (or use it) and enable +pids +memory in its cgroup.subtree_control, which needs \
             those controllers enabled in its parent and no processes in it"
        );
    }
    if caps.process_limit {
        tracing::info!(
            max_processes = settings.tasks.sandbox_max_processes,
            memory_limit = caps.memory_limit,
            "sandboxes get a process limit"
        );
    } else {
        tracing::warn!(
            "sandboxes have NO process limit: Drydock runs as root without a usable pids cgroup; \
             set tasks.sandbox_cgroups to a delegated cgroup v2 directory (see docs/deploy.md)"
        );
    }
    if settings.tasks.sandbox_memory_mb > 0 && !caps.memory_limit {
        tracing::warn!(
            "tasks.sandbox_memory_mb is set but no memory cgroup is usable: not enforced"
        );
    }
    Ok(())
}

/// Runs tasks in sandboxes.
pub struct Pipeline {
    sandbox: Arc<dyn Sandbox>,
    settings: Arc<Settings>,
    pool: DbPool,
    secrets: SecretBox,
}

/// A failure worth telling the user, and ending the run with.
struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail(e.to_string())
    }
}

#[async_trait::async_trait]
impl Executor for Pipeline {
    async fn run_job(&self, job: &Job, ctx: &RunContext) -> RunOutcome {
        let mut handle = None;
        let outcome = match self.run(job, ctx, &mut handle).await {
            Ok(message) if ctx.is_cancelled() => {
                let _ = message;
                RunOutcome::Stopped
            }
            Ok(message) => RunOutcome::Completed { agent_message: message },
            Err(_) if ctx.is_cancelled() => RunOutcome::Stopped,
            Err(Fail(reason)) => RunOutcome::Failed(reason),
        };
        if let Some(handle) = handle {
            self.release(job, ctx, &handle, &outcome).await;
        }
        outcome
    }
}

impl Pipeline {
    async fn run(
        &self,
        job: &Job,
        ctx: &RunContext,
        slot: &mut Option<SandboxHandle>,
    ) -> Result<Option<String>, Fail> {
        let task = &job.task;
        let kind = AgentKind::parse(&task.agent)
            .ok_or_else(|| Fail(format!("unknown agent `{}`", task.agent)))?;
        let strategy = agents::strategy_for(kind);
        let key = self.key_for(task.user_id, strategy).await?;
        // The first run names the task (and so its branch) before anything else.
        let title = if job.number == 1 && task.branch_name.is_none() && task.sandbox_id.is_none() {
            self.generate_title(ctx, job, strategy.spec().provider).await
        } else {
            task.title.clone()
        };

        ctx.stage(TaskStage::Provisioning).await;
        let (handle, reused) = self.provision(job, ctx).await?;
        *slot = Some(handle.clone());
        let workspace = handle
            .host_workspace
            .clone()
            .ok_or_else(|| Fail("the sandbox has no host workspace".into()))?;
        let repo_dir = workspace.join("repo");

        let cloned = if reused {
            repo::reopen(job, &repo_dir)
        } else {
            ctx.stage(TaskStage::Cloning).await;
            let token = self.git_token(task.user_id, &task.repo_url).await;
            let cloned =
                repo::prepare(&self.settings, ctx, job, &title, &repo_dir, token.as_deref())
                    .await?;
            if let Some(base) = &cloned.base_branch {
                ctx.set_base_branch(base).await;
            }
            ctx.set_branch(&cloned.branch).await;
            cloned
        };
        if !reused && task.install_dependencies {
            ctx.stage(TaskStage::Installing).await;
            for argv in repo::install_plan(&repo_dir) {
                let outcome =
                    self.exec_logged(ctx, &handle, argv, Duration::from_secs(900)).await?;
                if !outcome {
                    ctx.event(EventBody::Log {
                        level: LogLevel::Warn,
                        message: "Installing dependencies failed; the agent runs anyway.".into(),
                    });
                }
            }
        }

        let start_head = repo::head(&cloned.dir).await;
        ctx.stage(TaskStage::RunningAgent).await;
        let message = self.run_agent(job, ctx, &handle, strategy, key, reused).await?;

        ctx.stage(TaskStage::Committing).await;
        if ctx.is_cancelled() {
            return Err(Fail("stopped".into()));
        }
        // Describe the change only when there is one: the subject costs a model call on the
        // user's key.
        let changed = repo::stage(&self.settings, ctx, &cloned).await?;
        let committed = if changed.is_empty() {
            false
        } else {
            let provider = strategy.spec().provider;
            let subject =
                self.commit_subject(ctx, job, provider, &title, message.as_deref(), &changed).await;
            repo::commit(&self.settings, ctx, &cloned, &subject, &job.prompt).await?
        };
        // An agent that committed by itself leaves nothing to commit but work to push; the commit
        // step has sanitised the repository, so reading HEAD on the host is safe here.
        if committed || repo::head(&cloned.dir).await != start_head {
            ctx.stage(TaskStage::Pushing).await;
            let token = self.git_token(task.user_id, &task.repo_url).await;
            repo::push(&self.settings, ctx, &cloned, token.as_deref()).await?;
            crate::github::auto_pr::open_if_requested(
                crate::github::auto_pr::Deps {
                    settings: &self.settings,
                    pool: &self.pool,
                    secrets: &self.secrets,
                },
                ctx,
                task.id,
                message.as_deref(),
            )
            .await;
        } else {
            ctx.log("The agent changed no files; nothing to commit.");
        }
        ctx.stage(TaskStage::Done).await;
        Ok(message)
    }

    /// Opens the task's kept-alive sandbox, or creates a fresh one.
    async fn provision(&self, job: &Job, ctx: &RunContext) -> Result<(SandboxHandle, bool), Fail> {
        if let Some(id) = &job.task.sandbox_id {
            match self.sandbox.open(id).await {
                Ok(handle) => {
                    ctx.log(format!("Reusing the kept-alive sandbox {id}"));
                    return Ok((handle, true));
                }
                Err(e) => {
                    ctx.log(format!("The kept-alive sandbox is gone ({e}); starting a fresh one"))
                }
            }
        }
        let mut spec = SandboxSpec::new(format!("t{}-r{}", job.task.id.simple(), job.number));
        spec.network = self.settings.tasks.sandbox_network;
        spec.tools_dir = Some(self.settings.tools_dir());
        if job.task.keep_alive {
            spec.keep_alive_until = Some(
                Utc::now()
                    + chrono::Duration::minutes(self.settings.tasks.keep_alive_minutes as i64),
            );
        }
        let handle = self.sandbox.create(spec).await?;
        ctx.log(format!("Sandbox {} ready ({})", handle.id, self.sandbox.name()));
        Ok((handle, false))
    }

    /// Keeps the sandbox for follow-ups when asked and the run did not fail, else destroys it.
    async fn release(
        &self,
        job: &Job,
        ctx: &RunContext,
        handle: &SandboxHandle,
        outcome: &RunOutcome,
    ) {
        let keep = job.task.keep_alive && matches!(outcome, RunOutcome::Completed { .. });
        if keep {
            let until = Utc::now()
                + chrono::Duration::minutes(self.settings.tasks.keep_alive_minutes as i64);
            let _ = self.sandbox.set_expiry(handle, until).await;
            ctx.set_sandbox(Some(&handle.id)).await;
            ctx.log(format!("Sandbox kept alive until {}", until.to_rfc3339()));
        } else {
            if let Err(e) = self.sandbox.destroy(handle).await {
                tracing::warn!(sandbox = %handle.id, error = %e, "destroying a sandbox failed");
            }
            ctx.set_sandbox(None).await;
        }
        ctx.flush().await;
    }

    fn namer(&self) -> crate::titles::Namer {
        let tasks = &self.settings.tasks;
        crate::titles::Namer::new(
            self.pool.clone(),
            self.secrets.clone(),
            Duration::from_millis(tasks.generation_timeout_ms),
            tasks.generate_names,
        )
    }

    /// Generates the task's title with the owner's key and records it; the prompt-derived title
    /// when that is not possible.
    async fn generate_title(&self, ctx: &RunContext, job: &Job, provider: KeyProvider) -> String {
        match self.namer().title(job.task.user_id, provider, &job.prompt).await {
            crate::titles::Generated::Text { text, provider } => {
                crate::titles::set_title(&self.pool, job.task.id, &text).await;
                ctx.log(format!("Title generated with your {} key: {text}", provider.as_str()));
                text
            }
            crate::titles::Generated::Fallback(reason) => {
                ctx.log(format!("Titled from the prompt ({reason})."));
                job.task.title.clone()
            }
        }
    }

    /// The commit subject of this run: generated, else the title (first run) or the prompt
    /// (follow-ups).
    async fn commit_subject(
        &self,
        ctx: &RunContext,
        job: &Job,
        provider: KeyProvider,
        title: &str,
        agent_message: Option<&str>,
        files: &[String],
    ) -> String {
        match self
            .namer()
            .commit_subject(job.task.user_id, provider, title, &job.prompt, agent_message, files)
            .await
        {
            crate::titles::Generated::Text { text, .. } => text,
            crate::titles::Generated::Fallback(reason) => {
                ctx.log(format!("Commit message from the prompt ({reason})."));
                if job.number == 1 {
                    title.to_owned()
                } else {
                    crate::tasks::endpoints::fallback_title(&job.prompt)
                }
            }
        }
    }

    async fn key_for(
        &self,
        user_id: uuid::Uuid,
        strategy: &dyn AgentStrategy,
    ) -> Result<(Secret, Option<String>), Fail> {
        let spec = strategy.spec();
        let mut conn = self.pool.get().await?;
        if let Some(row) = crate::keys::model::get(&mut conn, user_id, spec.provider).await? {
            let value = self.secrets.open(&row.value_enc)?;
            return Ok((Secret::new(value.expose_secret()), row.base_url));
        }
        if spec.provider == KeyProvider::GithubCopilot {
            if let Some(token) = self.github_token(user_id).await {
                return Ok((Secret::new(token), None));
            }
        }
        Err(Fail(format!(
            "{} needs an API key for the {} provider: add one under Settings → API keys (PUT /api/v1/me/keys/{}).",
            crate::agents::entry(spec.kind).name,
            spec.provider.as_str(),
            spec.provider.as_str()
        )))
    }

    async fn github_token(&self, user_id: uuid::Uuid) -> Option<String> {
        let mut conn = self.pool.get().await.ok()?;
        let identity =
            crate::accounts::model::identity(&mut conn, user_id, "github").await.ok()??;
        let token = self.secrets.open(identity.access_token_enc.as_deref()?).ok()?;
        Some(token.expose_secret().to_owned())
    }

    /// The token for git over https: the user's GitHub token, for GitHub-hosted repositories.
    async fn git_token(&self, user_id: uuid::Uuid, repo_url: &str) -> Option<String> {
        if crate::tasks::validate::is_local(repo_url) {
            return None;
        }
        self.github_token(user_id).await
    }

    async fn exec_logged(
        &self,
        ctx: &RunContext,
        handle: &SandboxHandle,
        argv: Vec<String>,
        timeout: Duration,
    ) -> Result<bool, Fail> {
        let (tx, mut rx) = mpsc::channel::<OutputLine>(256);
        let mut request = ExecRequest::new(argv.clone());
        request.cwd = "repo".into();
        request.timeout = Some(timeout);
        let exec = self.sandbox.exec(handle, request, tx);
        tokio::pin!(exec);
        let outcome = loop {
            tokio::select! {
                res = &mut exec => break res?,
                Some(line) = rx.recv() => ctx.event(EventBody::Raw { stream: line.stream, line: line.line }),
            }
        };
        while let Ok(line) = rx.try_recv() {
            ctx.event(EventBody::Raw { stream: line.stream, line: line.line });
        }
        ctx.event(EventBody::Command {
            argv,
            exit_code: outcome.exit_code,
            duration_ms: outcome.duration.as_millis() as u64,
        });
        Ok(outcome.success())
    }

    async fn run_agent(
        &self,
        job: &Job,
        ctx: &RunContext,
        handle: &SandboxHandle,
        strategy: &dyn AgentStrategy,
        (key, base_url): (Secret, Option<String>),
        reused: bool,
    ) -> Result<Option<String>, Fail> {
        let task = &job.task;
        let spec = strategy.spec();
        let version = self.ensure_installed(ctx, strategy).await?;
        ctx.set_agent_version(&version).await;
        let resume = if reused { task.session_id.clone() } else { None };
        let prompt = if job.number > 1 && resume.is_none() {
            self.with_context(task.id, &job.prompt).await?
        } else {
            job.prompt.clone()
        };
        let mut run = AgentRun::new(prompt, key);
        run.model = task.model.clone();
        run.base_url = base_url;
        run.resume_session = resume;
        run.mcp_servers = self.mcp_servers(task.user_id, &task.connector_ids).await?;
        if !run.mcp_servers.is_empty() {
            let names: Vec<&str> = run.mcp_servers.iter().map(|s| s.name.as_str()).collect();
            ctx.log(format!("MCP servers: {}", names.join(", ")));
        }
        let invocation = strategy.prepare(&run).map_err(|e| Fail(e.to_string()))?;
        for file in &invocation.files {
            let path = file.resolve(&run.paths.home);
            let (root, rel) = match path.strip_prefix(&run.paths.home) {
                Ok(rel) => (FileRoot::Home, rel.to_path_buf()),
                Err(_) => match path.strip_prefix(sandbox::WORKSPACE_DIR) {
                    Ok(rel) => (FileRoot::Workspace, rel.to_path_buf()),
                    Err(_) => {
                        return Err(Fail(format!(
                            "agent config {} is outside the sandbox",
                            path.display()
                        )))
                    }
                },
            };
            self.sandbox
                .write_file(handle, root, &rel.to_string_lossy(), file.contents.as_bytes())
                .await?;
        }
        let mut argv = invocation.argv.clone();
        if self.settings.agent_binaries.contains_key(spec.kind.as_str()) {
            if let Some(first) = argv.first_mut() {
                *first = format!("{}/{OVERRIDES}/{}", sandbox::TOOLS_DIR, spec.kind.as_str());
            }
        }
        ctx.event(EventBody::Command {
            argv: redact_prompt(&argv, &run.prompt),
            exit_code: None,
            duration_ms: 0,
        });

        let mut request = ExecRequest::new(argv.clone());
        request.env = invocation.env.into_iter().collect();
        request.cwd = invocation
            .cwd
            .strip_prefix(sandbox::WORKSPACE_DIR)
            .map(|p| p.to_string_lossy().trim_start_matches('/').to_owned())
            .unwrap_or_else(|_| "repo".into());
        request.timeout =
            Some(Duration::from_secs(u64::from(task.max_duration_minutes.max(1) as u32) * 60));
        request.idle_timeout =
            Some(Duration::from_secs(self.settings.tasks.agent_idle_timeout_secs));

        let mut parser = strategy.parser(&AgentPaths::sandbox());
        let (tx, mut rx) = mpsc::channel::<OutputLine>(1024);
        let exec = self.sandbox.exec(handle, request, tx);
        tokio::pin!(exec);
        let grace = Duration::from_secs(self.settings.tasks.agent_exit_grace_secs);
        let mut result_deadline: Option<tokio::time::Instant> = None;
        let mut killed = false;
        let mut session_recorded = false;
        let feed = |line: OutputLine, parser: &mut Box<dyn agents::AgentParser>| {
            ctx.event(EventBody::Raw { stream: line.stream, line: line.line.clone() });
            for event in parser.feed(line.stream, &line.line) {
                ctx.event(event);
            }
        };
        let outcome = loop {
            tokio::select! {
                res = &mut exec => break res?,
                Some(line) = rx.recv() => {
                    feed(line, &mut parser);
                    if !session_recorded {
                        if let Some(id) = parser.session_id() {
                            ctx.set_session(id).await;
                            session_recorded = true;
                        }
                    }
                    if parser.saw_result() && result_deadline.is_none() {
                        result_deadline = Some(tokio::time::Instant::now() + grace);
                    }
                }
                _ = ctx.cancelled(), if !killed => {
                    ctx.log("Stopping the agent");
                    killed = true;
                    let _ = self.sandbox.kill(handle).await;
                }
                _ = sleep_until(result_deadline), if !killed => {
                    ctx.event(EventBody::Log { level: LogLevel::Warn, message: format!("The agent kept running {}s after its result; stopping it.", grace.as_secs()) });
                    killed = true;
                    let _ = self.sandbox.kill(handle).await;
                }
            }
        };
        while let Ok(line) = rx.try_recv() {
            feed(line, &mut parser);
        }
        for event in parser.finish() {
            ctx.event(event);
        }
        if let Some(id) = parser.session_id() {
            if !session_recorded {
                ctx.set_session(id).await;
            }
        }
        ctx.event(EventBody::Command {
            argv: redact_prompt(&argv, &run.prompt),
            exit_code: outcome.exit_code,
            duration_ms: outcome.duration.as_millis() as u64,
        });
        if ctx.is_cancelled() {
            return Err(Fail("stopped".into()));
        }
        match outcome.stopped {
            Some(StopReason::Timeout) => {
                return Err(Fail(format!(
                    "The run exceeded its limit of {} minutes.",
                    task.max_duration_minutes
                )))
            }
            Some(StopReason::Idle) => {
                return Err(Fail(format!(
                    "The agent wrote nothing for {} seconds and was stopped.",
                    self.settings.tasks.agent_idle_timeout_secs
                )))
            }
            _ => {}
        }
        match parser.outcome() {
            Outcome::Succeeded => Ok(parser.final_message().map(str::to_owned)),
            Outcome::Failed(reason) => Err(Fail(format!("The agent failed: {reason}"))),
            Outcome::Cancelled => Err(Fail("The agent was interrupted.".into())),
            Outcome::Unknown if outcome.exit_code == Some(0) && !killed => {
                Ok(parser.final_message().map(str::to_owned))
            }
            Outcome::Unknown => Err(Fail(match outcome.exit_code {
                Some(code) => format!("The agent exited with code {code} without a result."),
                None => "The agent was killed before it finished.".into(),
            })),
        }
    }

    async fn ensure_installed(
        &self,
        ctx: &RunContext,
        strategy: &dyn AgentStrategy,
    ) -> Result<String, Fail> {
        let spec = strategy.spec();
        if self.settings.agent_binaries.contains_key(spec.kind.as_str()) {
            return Ok(format!("{} (custom binary)", spec.version));
        }
        let tools = self.settings.tools_dir();
        if strategy.binary_path(&tools).exists() {
            return Ok(spec.version.to_owned());
        }
        ctx.log(format!("Installing {} {} into the tool cache", spec.kind.as_str(), spec.version));
        ctx.flush().await;
        let installed = tokio::task::spawn_blocking(move || {
            let strategy = agents::strategy_for(spec.kind);
            strategy
                .install(&tools, &mut |line| tracing::info!(agent = spec.kind.as_str(), "{line}"))
        })
        .await
        .map_err(|e| Fail(e.to_string()))?
        .map_err(|e| Fail(e.to_string()))?;
        Ok(installed.version)
    }

    /// The most recent messages as context, for a follow-up that cannot resume the session.
    async fn with_context(&self, task_id: uuid::Uuid, prompt: &str) -> Result<String, Fail> {
        let mut conn = self.pool.get().await?;
        let messages = crate::tasks::model::messages(&mut conn, task_id).await?;
        let n = self.settings.tasks.context_messages;
        // The newest message is this follow-up itself.
        let earlier = &messages[..messages.len().saturating_sub(1)];
        let recent = &earlier[earlier.len().saturating_sub(n)..];
        let mut out = String::from("Earlier in this task (most recent messages):\n\n");
        for m in recent {
            let who = match m.role {
                shared::tasks::MessageRole::User => "User",
                shared::tasks::MessageRole::Agent => "Agent",
            };
            out.push_str(&format!("{who}: {}\n\n", m.content));
        }
        out.push_str(&format!("Now: {prompt}"));
        Ok(out)
    }

    /// The task's connectors that are still the owner's and enabled, secrets opened.
    async fn mcp_servers(
        &self,
        user_id: uuid::Uuid,
        ids: &[uuid::Uuid],
    ) -> Result<Vec<agents::McpServer>, Fail> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        crate::connectors::for_run(&mut conn, &self.secrets, user_id, ids)
            .await
            .map_err(|e| Fail(format!("Loading the task's connectors failed: {e}")))
    }
}

/// Keeps the prompt out of command events (it is in the conversation already) and keeps them
/// short.
fn redact_prompt(argv: &[String], prompt: &str) -> Vec<String> {
    argv.iter()
        .map(|a| if a == prompt && a.len() > 40 { "<prompt>".to_owned() } else { a.clone() })
        .collect()
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Where a repository is cloned inside the sandbox workspace.
pub fn repo_dir(workspace: &std::path::Path) -> PathBuf {
    workspace.join("repo")
}
