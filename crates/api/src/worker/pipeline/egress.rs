//! The run's egress proxy, for a sandbox in `brokered` network mode (see `docs/egress.md`): it
//! is served on the sandbox's socket for the whole run, before any command runs, and the agent
//! gets per-run placeholders and broker URLs instead of the owner's model key (or the GitHub
//! token Copilot signs in with) and remote MCP connectors' headers. Every connection becomes a `network` event of the task.

use sandbox::agents::{GithubEndpoints, McpServer, McpTransport, Secret};
use shared::agents::KeyProvider;
use shared::events::{EventBody, LogLevel};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::provision::Provisioned;
use super::Turn;
use crate::worker::error::RunError;

/// Network events the proxy may queue before it counts and drops them.
const EVENT_QUEUE: usize = 1024;

/// What the agent runs with, brokered or not.
pub(crate) struct AgentCredentials {
    /// The model key (a placeholder when brokered) and base URL.
    pub key: (Secret, Option<String>),
    /// Where a GitHub-token CLI reaches GitHub and the Copilot API: the broker's routes, or
    /// `None` for the public endpoints.
    pub github: Option<GithubEndpoints>,
    /// The MCP servers (remote ones rewritten to broker routes when brokered).
    pub mcp_servers: Vec<McpServer>,
}

/// A running proxy; [`Egress::stop`] it when the run's commands are done.
pub(crate) struct Egress {
    proxy: egress::ProxyHandle,
    drain: JoinHandle<()>,
}

impl Egress {
    /// Stops the proxy, then waits until its last events are queued on the run.
    pub(crate) async fn stop(self, turn: &Turn<'_>) {
        let dropped = self.proxy.dropped_events();
        self.proxy.shutdown().await;
        // Connections still closing report as they end; a straggler is not waited for.
        let mut drain = self.drain;
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut drain).await.is_err() {
            drain.abort();
        }
        if dropped > 0 {
            turn.run.event(EventBody::Log {
                level: LogLevel::Warn,
                message: format!("{dropped} network events were not recorded (too many at once)."),
            });
        }
    }
}

/// Starts the proxy when the sandbox is brokered; returns what the agent must be given.
pub(crate) async fn start(
    turn: &Turn<'_>,
    sandbox: &Provisioned,
    (key, base_url): (Secret, Option<String>),
) -> Result<(AgentCredentials, Option<Egress>), RunError> {
    let mcp_servers = turn.inputs.mcp_servers.clone();
    let Some(socket) = sandbox.handle.egress_socket.clone() else {
        let credentials = AgentCredentials { key: (key, base_url), github: None, mcp_servers };
        return Ok((credentials, None));
    };
    let failed = RunError::internally("starting the egress proxy");
    let policy = turn.ctx.settings.egress_policy().map_err(failed)?;
    let (mut routes, agent_key) = broker_agent_key(turn, (key, base_url))?;
    let mut servers = Vec::with_capacity(mcp_servers.len());
    for server in mcp_servers {
        let transport = match server.transport {
            McpTransport::Remote { url, headers } => {
                let mcp = egress::broker_mcp(&server.name, &url, &headers, sandbox::EGRESS_PORT)
                    .map_err(|e| {
                        RunError::user(format!(
                            "The connector `{}` cannot be brokered: {e}",
                            server.name
                        ))
                    })?;
                routes.push(mcp.route);
                McpTransport::Remote { url: mcp.url, headers: mcp.headers }
            }
            // A stdio server runs inside the sandbox: its environment enters it (documented).
            local @ McpTransport::Local { .. } => local,
        };
        servers.push(McpServer { name: server.name, transport });
    }
    let (tx, mut rx) = mpsc::channel(EVENT_QUEUE);
    let mut config = egress::ProxyConfig::new(socket, policy, tx);
    config.routes = routes;
    config.sandbox_port = Some(sandbox::EGRESS_PORT);
    let proxy = egress::Proxy::start(config)
        .await
        .map_err(RunError::internally("starting the egress proxy"))?;
    let run = turn.run.clone();
    let drain = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            run.event(event);
        }
    });
    turn.run.log("Network: brokered (the agent's key stays on the host)");
    let credentials = AgentCredentials { mcp_servers: servers, ..agent_key };
    Ok((credentials, Some(Egress { proxy, drain })))
}

/// The routes that hold the agent's key, and what the agent gets instead: a model key becomes
/// a placeholder and a broker base URL; Copilot's GitHub token (no base URL) a placeholder
/// token and the broker's GitHub and Copilot API endpoints.
fn broker_agent_key(
    turn: &Turn<'_>,
    (key, base_url): (Secret, Option<String>),
) -> Result<(Vec<egress::Route>, AgentCredentials), RunError> {
    let spec = turn.inputs.strategy.spec();
    let refused = |e: egress::EgressError| {
        RunError::user(format!(
            "{} cannot run with brokered network: {e}. Ask the operator to set \
             tasks.sandbox_network = \"host\" for it.",
            spec.display_name
        ))
    };
    let secret = egress::Secret::new(key.expose());
    if spec.provider == KeyProvider::GithubCopilot && base_url.is_none() {
        let github = &turn.ctx.settings.github;
        let brokered = egress::broker_copilot_token(
            &github.api_url,
            &github.copilot_api_url,
            secret,
            sandbox::EGRESS_PORT,
        )
        .map_err(refused)?;
        let credentials = AgentCredentials {
            key: (Secret::new(brokered.placeholder), None),
            github: Some(GithubEndpoints {
                api_url: brokered.github_api_url,
                copilot_api_url: brokered.copilot_api_url,
            }),
            mcp_servers: Vec::new(),
        };
        return Ok((brokered.routes, credentials));
    }
    let brokered =
        egress::broker_model_key(spec.provider, base_url.as_deref(), secret, sandbox::EGRESS_PORT)
            .map_err(refused)?;
    let credentials = AgentCredentials {
        key: (Secret::new(brokered.placeholder), Some(brokered.base_url)),
        github: None,
        mcp_servers: Vec::new(),
    };
    Ok((vec![brokered.route], credentials))
}
