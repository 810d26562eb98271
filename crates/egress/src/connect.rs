//! Resolving once, checking every address, and connecting only to a checked one, so a name
//! that resolves differently the second time (DNS rebinding) gets nothing it was not allowed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::policy::{normalize_host, Policy};

/// How long a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denied {
    /// The policy refuses it (answered 403).
    Refused(String),
    /// Allowed, but it could not be made (answered 502).
    Failed(String),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(why) | Self::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Denied {}

/// The addresses of `host:port` that the policy lets us connect to, in resolver order.
pub(crate) async fn resolve_checked(
    policy: &Policy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, Denied> {
    let host = normalize_host(host);
    if !policy.permits(&host, port) {
        return Err(Denied::Refused(format!("{host}:{port} is not in the egress allow list")));
    }
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| Denied::Failed(format!("resolving {host} timed out")))?
                .map_err(|e| Denied::Failed(format!("resolving {host}: {e}")))?
                .collect()
        }
    };
    let mut allowed = Vec::new();
    let mut first_refusal = None;
    for addr in addrs {
        match policy.check_address(&host, addr) {
            Ok(()) => allowed.push(addr),
            Err(why) => {
                first_refusal.get_or_insert(why);
            }
        }
    }
    match (allowed.is_empty(), first_refusal) {
        (false, _) => Ok(allowed),
        (true, Some(why)) => Err(Denied::Refused(why)),
        (true, None) => Err(Denied::Failed(format!("{host} has no addresses"))),
    }
}

/// Connects to the first checked address of `host:port` that answers.
pub(crate) async fn connect_checked(
    policy: &Policy,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), Denied> {
    let mut last = None;
    for addr in resolve_checked(policy, host, port).await? {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Ok(Err(e)) => last = Some(format!("connecting to {addr}: {e}")),
            Err(_) => last = Some(format!("connecting to {addr} timed out")),
        }
    }
    Err(Denied::Failed(last.unwrap_or_else(|| format!("{host}:{port}: nothing to connect to"))))
}

/// The resolver of a broker route's HTTP client: the same checks, for the route's port.
#[derive(Debug)]
pub(crate) struct CheckedResolver {
    pub policy: Arc<Policy>,
    pub port: u16,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (policy, port, host) = (self.policy.clone(), self.port, name.as_str().to_string());
        Box::pin(async move {
            let addrs = resolve_checked(&policy, &host, port).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
