//! Calls the server itself makes to URLs a user supplied (a key's `base_url` for title and
//! commit-message generation): they must not reach loopback, private, link-local or metadata
//! addresses, or the server becomes the user's way into its own network.
//!
//! The check is made on the addresses a name resolves to, by the HTTP client's resolver, so a
//! name that resolves to `127.0.0.1` (or rebinds to it) gets nothing; a literal address is
//! checked before the request. The classifier is the egress proxy's ([`egress::classify`]). An
//! exact `host:port` in `tasks.egress_allow` lifts the check for that endpoint (an on-premises
//! gateway, the tests' fake servers), as it does for sandboxes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Builds the clients and decides which one a URL gets.
#[derive(Clone)]
pub struct Outbound {
    /// Resolves only to addresses the classifier accepts.
    guarded: reqwest::Client,
    /// For the operator's exact allow entries.
    open: reqwest::Client,
    allow: Arc<Vec<(String, u16)>>,
}

/// Why a URL is refused. Deliberately terse: the message never tells a port scan what answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the address of {host} is not one Drydock calls (a private, loopback or metadata address)")]
pub struct Refused {
    host: String,
}

impl Outbound {
    /// Clients with `timeout`, no redirects (a redirect could lead anywhere), and the allow list
    /// taken from `tasks.egress_allow` (only its exact `host:port` entries count here).
    pub fn new(egress_allow: &[String], timeout: Duration) -> Self {
        let builder = || {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
        };
        let guarded = builder().dns_resolver(Arc::new(PublicOnly)).build().unwrap_or_default();
        let open = builder().build().unwrap_or_default();
        let allow = egress_allow.iter().filter_map(|e| exact(e)).collect();
        Self { guarded, open, allow: Arc::new(allow) }
    }

    /// The client for `url`, or why it may not be called.
    pub fn client_for(&self, url: &str) -> Result<&reqwest::Client, Refused> {
        let parsed = url::Url::parse(url).map_err(|_| Refused { host: url.to_owned() })?;
        let host =
            parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase();
        let port = parsed.port_or_known_default().unwrap_or(0);
        if self.allow.iter().any(|(h, p)| *h == host && *p == port) {
            return Ok(&self.open);
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            if egress::classify(ip).is_some() {
                return Err(Refused { host });
            }
        }
        Ok(&self.guarded)
    }
}

/// `host:port` (or `[v6]:port`) as an exact endpoint; anything else is not one.
fn exact(entry: &str) -> Option<(String, u16)> {
    let (host, port) = entry.trim().rsplit_once(':')?;
    let port = port.parse().ok()?;
    Some((host.trim_matches(['[', ']']).to_ascii_lowercase(), port))
}

/// A resolver that drops every address the classifier refuses, and fails when none is left.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                found.into_iter().filter(|a| egress::classify(a.ip()).is_none()).collect();
            if public.is_empty() {
                return Err(Box::new(Refused { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Addresses as data only: nothing here is connected to.
    #[test]
    fn literal_private_and_metadata_addresses_are_refused_unless_listed_exactly() {
        let outbound =
            Outbound::new(&["127.0.0.1:8089".into(), "gw.lan".into()], Duration::from_secs(1));
        for url in [
            "http://127.0.0.1:9/v1",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.8/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://127.0.0.1:8090/",
        ] {
            assert!(outbound.client_for(url).is_err(), "{url}");
        }
        assert!(outbound.client_for("http://127.0.0.1:8089/v1").is_ok(), "an exact entry lifts it");
        assert!(
            outbound.client_for("https://api.anthropic.com").is_ok(),
            "names go to the guarded resolver"
        );
        let refused = outbound.client_for("http://127.0.0.1:9/").unwrap_err().to_string();
        assert!(!refused.contains(":9"), "no port in the message: {refused}");
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_gets_no_address() {
        let addrs = PublicOnly.resolve("localhost".parse().unwrap()).await;
        assert!(addrs.is_err(), "localhost resolved to something callable");
    }
}
