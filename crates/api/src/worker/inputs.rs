//! Everything a run needs from the database, loaded once when the run is claimed: the owner's
//! opened keys, the token for the repository's host, the task's connectors, the conversation
//! so far, and the list of secret values its events must never contain.
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
    /// The owner's GitHub token, when they have one that opens: the OAuth token, else a GitHub
    /// credential for the configured GitHub host.
    pub github_token: Option<Secret>,
    /// The token for git over https to the task's repository, for exactly its host: the
    /// credential stored for that host (the OAuth token first on the configured GitHub host).
    /// Host git alone gets it, for the clone and the push, as the password of `git_username`.
    pub git_token: Option<Secret>,
    /// The user name git sends with `git_token`, the one the host's kind documents.
    pub git_username: &'static str,
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
        let (settings, secrets, user_id) = (&ctx.settings, &ctx.secrets, task.user_id);
        // A token sealed under a key this server no longer has (or not for this row) cannot be
        // used, so it cannot leak either: the user is asked to connect GitHub again.
        let github_token =
            match crate::git_credentials::github_token(&mut conn, settings, secrets, user_id).await
            {
                Ok(token) => Some(Secret::new(token.expose_secret())),
                Err(crate::error::ApiError::Unprocessable(_)) => None,
                Err(e) => return Err(RunError::internally(LOADING)(e)),
            };
        let git_login = crate::git_credentials::git_token(
            &mut conn,
            settings,
            secrets,
            user_id,
            &task.repo_url,
        )
        .await
        .map_err(git_token_problem)?;
        let git_username = git_login.as_ref().map_or("x-access-token", |l| l.username);
        let git_token = git_login.map(|l| Secret::new(l.token.expose_secret()));
        // Every git host token of the owner is redacted, whichever host this run uses.
        let host_tokens = crate::git_credentials::secret_values(&mut conn, secrets, user_id)
            .await
            .map_err(git_token_problem)?;
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
        secret_values.extend(host_tokens);
        secret_values.extend(connector_secrets);
        Ok(Self {
            strategy: agents::strategy_for(kind),
            keys,
            github_token,
            git_token,
            git_username,
            mcp_servers,
            history,
            secret_values,
        })
    }

    /// What host git clones and pushes with: the token as `git_username`'s password.
    pub fn git_credentials(&self) -> Option<sandbox::git::Credentials> {
        self.git_token.as_ref().map(|t| sandbox::git::Credentials {
            username: self.git_username.to_owned(),
            token: t.expose().to_owned(),
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

/// A stored token that cannot be opened fails the run with the reason the user can act on.
fn git_token_problem(e: crate::error::ApiError) -> RunError {
    match e {
        crate::error::ApiError::Unprocessable(message) => RunError::user(message),
        other => RunError::internally(LOADING)(other),
    }
}
