//! The run's egress proxy, for a sandbox in `brokered` network mode (see `docs/egress.md`): it
//! is served on the sandbox's socket for the whole run, before any command runs, and the agent
//! gets per-run placeholders and broker URLs instead of the owner's model key and remote MCP
//! connectors' headers. Every connection becomes a `network` event of the task.

use sandbox::agents::{McpServer, McpTransport, Secret};
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
        let credentials = AgentCredentials { key: (key, base_url), mcp_servers };
        return Ok((credentials, None));
    };
    let failed = RunError::internally("starting the egress proxy");
    let policy = turn.ctx.settings.egress_policy().map_err(failed)?;
    let provider = turn.inputs.strategy.spec().provider;
    let brokered = egress::broker_model_key(
        provider,
        base_url.as_deref(),
        egress::Secret::new(key.expose()),
        sandbox::EGRESS_PORT,
    )
    .map_err(|e| {
        RunError::user(format!(
            "{} cannot run with brokered network: {e}. Ask the operator to set \
             tasks.sandbox_network = \"host\" for it.",
            turn.inputs.strategy.spec().display_name
        ))
    })?;
    let mut routes = vec![brokered.route];
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
    let credentials = AgentCredentials {
        key: (Secret::new(brokered.placeholder), Some(brokered.base_url)),
        mcp_servers: servers,
    };
    Ok((credentials, Some(Egress { proxy, drain })))
}
