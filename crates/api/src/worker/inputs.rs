//! Everything a run needs from the database, loaded once when the run is claimed: the owner's
//! opened keys, the forge token, the task's connectors, the conversation so far, and the list
//! of secret values its events must never contain.
//!
//! Loading fails closed: if any secret cannot be read, the run does not start, so it can never
//! run with a redaction list that misses a value it might print.

use sandbox::agents::{self, AgentStrategy, McpServer, Secret};
use secrecy::ExposeSecret;
use shared::agents::{AgentKind, KeyProvider};
use shared::tasks::TaskMessage;

use super::claim::Job;
use super::error::RunError;
use super::WorkerContext;
use crate::events::redact::Redactor;
use crate::keys::opened::OpenedKey;

const LOADING: &str = "loading the run's credentials";

/// A run's inputs.
pub struct RunInputs {
    /// The agent's strategy.
    pub strategy: &'static dyn AgentStrategy,
    /// Every key of the owner, opened (the agent's, and those title generation may use).
    pub keys: Vec<OpenedKey>,
    /// The owner's GitHub token, when they have one that opens.
    pub github_token: Option<Secret>,
    /// The token for git over https to the task's repository: the GitHub token, and only when
    /// the repository is on the configured GitHub host.
    pub git_token: Option<Secret>,
    /// The task's connectors that are still the owner's and enabled, secrets opened.
    pub mcp_servers: Vec<McpServer>,
    /// The conversation before this run's prompt (follow-ups only), oldest first.
    pub history: Vec<TaskMessage>,
    /// Every secret value of the owner: keys, tokens and all their connectors' secrets.
    secret_values: Vec<String>,
}

impl RunInputs {
    /// Loads the inputs of `job`.
    pub async fn load(ctx: &WorkerContext, job: &Job) -> Result<Self, RunError> {
        let task = &job.task;
        let kind = AgentKind::parse(&task.agent)
            .ok_or_else(|| RunError::user(format!("unknown agent `{}`", task.agent)))?;
        let mut conn = ctx.pool.get().await.map_err(RunError::internally(LOADING))?;
        let keys = crate::keys::opened::load(&mut conn, &ctx.secrets, task.user_id)
            .await
            .map_err(RunError::internally(LOADING))?;
        let identity = crate::accounts::model::identity(&mut conn, task.user_id, "github")
            .await
            .map_err(RunError::internally(LOADING))?;
        // A token sealed under a key this server no longer has (or not for this row) cannot be
        // used, so it cannot leak either: the user is asked to sign in with GitHub again.
        let github_token = identity
            .and_then(|i| {
                i.open_token(&ctx.secrets, crate::accounts::model::IdentityToken::Access).ok()
            })
            .flatten()
            .map(|t| Secret::new(t.expose_secret()));
        let git_token = github_token.clone().filter(|_| {
            crate::github::remote::on_github_host(&ctx.settings.github.web_url, &task.repo_url)
        });
        let mcp_servers =
            crate::connectors::for_run(&mut conn, &ctx.secrets, task.user_id, &task.connector_ids)
                .await
                .map_err(RunError::internally(LOADING))?;
        let connector_secrets =
            crate::connectors::secret_values(&mut conn, &ctx.secrets, task.user_id)
                .await
                .map_err(RunError::internally(LOADING))?;
        let history = if job.number > 1 {
            let mut messages = crate::tasks::model::messages(&mut conn, task.id)
                .await
                .map_err(RunError::internally("loading the conversation"))?;
            // The newest message is this run's own prompt.
            messages.pop();
            messages
        } else {
            Vec::new()
        };
        let mut secret_values: Vec<String> =
            keys.iter().map(|k| k.value.expose().to_owned()).collect();
        secret_values.extend(github_token.iter().map(|t| t.expose().to_owned()));
        secret_values.extend(connector_secrets);
        Ok(Self {
            strategy: agents::strategy_for(kind),
            keys,
            github_token,
            git_token,
            mcp_servers,
            history,
            secret_values,
        })
    }

    /// The redactor for the run's events.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.secret_values.clone())
    }

    /// The key and base URL the agent runs with; a message naming the provider when the owner
    /// has none. Copilot falls back to the GitHub token.
    pub fn agent_key(&self) -> Result<(Secret, Option<String>), RunError> {
        let spec = self.strategy.spec();
        if let Some(key) = self.keys.iter().find(|k| k.provider == spec.provider) {
            return Ok((key.value.clone(), key.base_url.clone()));
        }
        if spec.provider == KeyProvider::GithubCopilot {
            if let Some(token) = &self.github_token {
                return Ok((token.clone(), None));
            }
        }
        Err(RunError::user(format!(
            "{} needs an API key for the {} provider: add one under Settings → API keys (PUT /api/v1/me/keys/{}).",
            spec.display_name,
            spec.provider.as_str(),
            spec.provider.as_str()
        )))
    }
}
