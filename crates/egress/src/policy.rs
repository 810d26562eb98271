//! What a brokered sandbox may connect to.
//!
//! Two checks, both on every connection:
//! 1. the name asked for must be allowed (a route upstream, a remote MCP connector, a package
//!    registry, or an operator's `tasks.egress_allow` entry); nothing else is even resolved, so
//!    DNS cannot be used as a side channel;
//! 2. every address it resolves to is classified ([`crate::classify()`]) and only public ones are
//!    connected to. An exact `host:port` entry of the operator's list lifts this check for that
//!    endpoint (an on-premises gateway, a test server on 127.0.0.1).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::classify::classify;
use crate::error::EgressError;

/// Package registries and code hosts allowed by default (`tasks.egress_registries`).
pub const DEFAULT_REGISTRIES: &[&str] = &[
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "pypi.org",
    "files.pythonhosted.org",
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "proxy.golang.org",
    "sum.golang.org",
    "rubygems.org",
    "index.rubygems.org",
    "repo.maven.apache.org",
    "repo1.maven.org",
    "github.com",
    "codeload.github.com",
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
];

/// Which host names an entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// One name, lower case, no trailing dot.
    Name(String),
    /// An address literal.
    Ip(IpAddr),
    /// `*.example.com`: any name ending in `.example.com` (not `example.com` itself).
    Subdomains(String),
}

/// One allow-list entry: `host`, `host:port`, `*.domain`, `[v6]:port` or an address literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    host: HostPattern,
    port: Option<u16>,
}

impl AllowEntry {
    /// Whether the entry names this endpoint exactly (one host, one port): only such entries
    /// lift the address check.
    fn is_exactly(&self, host: &str, port: u16) -> bool {
        self.port == Some(port)
            && match &self.host {
                HostPattern::Name(name) => *name == host,
                HostPattern::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
                HostPattern::Subdomains(_) => false,
            }
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match &self.host {
            HostPattern::Name(name) => *name == host,
            HostPattern::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
            HostPattern::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
        }
    }
}

impl FromStr for AllowEntry {
    type Err = EgressError;

    fn from_str(text: &str) -> Result<Self, EgressError> {
        let bad =
            |why: &str| EgressError::InvalidEntry { entry: text.to_string(), reason: why.into() };
        let trimmed = text.trim();
        if trimmed.contains("://") || trimmed.contains('/') {
            return Err(bad("write `host` or `host:port`, not a URL"));
        }
        let (host, port) = split_host_port(trimmed)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
        let host = normalize_host(host);
        let pattern = if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(domain) = host.strip_prefix("*.") {
            check_name(domain).map_err(bad)?;
            HostPattern::Subdomains(domain.to_string())
        } else {
            check_name(&host).map_err(bad)?;
            HostPattern::Name(host)
        };
        Ok(Self { host: pattern, port })
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.port) {
            (HostPattern::Ip(IpAddr::V6(ip)), Some(port)) => write!(f, "[{ip}]:{port}"),
            (host, port) => {
                match host {
                    HostPattern::Name(n) => f.write_str(n)?,
                    HostPattern::Ip(ip) => write!(f, "{ip}")?,
                    HostPattern::Subdomains(d) => write!(f, "*.{d}")?,
                }
                port.map_or(Ok(()), |p| write!(f, ":{p}"))
            }
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 literal; `None` for a bad port.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(port(p)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        // More than one colon and no brackets: an IPv6 literal without a port.
        Some((host, _)) if host.contains(':') => Some((text, None)),
        Some((host, p)) => Some((host, Some(port(p)?))),
        None => Some((text, None)),
    }
}

/// Lower case, without brackets or a trailing dot: the form names are compared in.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err("not a host name (letters, digits, '-', '_' and dots; `*.` only as a prefix)")
    }
}

/// The allow list of one run.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Names that may be connected to (after the address check).
    allowed: Vec<AllowEntry>,
    /// The operator's exact `host:port` entries, which lift the address check.
    exact: Vec<AllowEntry>,
}

impl Policy {
    /// Nothing allowed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The operator's configuration: `tasks.egress_registries` and `tasks.egress_allow`.
    /// Registries are allowed by name; of `egress_allow`, exact `host:port` entries also lift
    /// the address check.
    pub fn from_config<S: AsRef<str>>(registries: &[S], allow: &[S]) -> Result<Self, EgressError> {
        let mut policy = Self::new();
        for entry in registries {
            policy.allow(entry.as_ref().parse()?);
        }
        for entry in allow {
            policy.allow_operator(entry.as_ref().parse()?);
        }
        Ok(policy)
    }

    /// Allows a name (for example a route upstream or a remote MCP connector's host). Its
    /// addresses are still checked: a user-supplied URL never reaches a private address.
    pub fn allow(&mut self, entry: AllowEntry) {
        if !self.allowed.contains(&entry) {
            self.allowed.push(entry);
        }
    }

    /// Allows an operator's entry: like [`Policy::allow`], and an exact `host:port` entry also
    /// lets that endpoint through the address check.
    pub fn allow_operator(&mut self, entry: AllowEntry) {
        if matches!(entry.host, HostPattern::Name(_) | HostPattern::Ip(_)) && entry.port.is_some() {
            self.exact.push(entry.clone());
        }
        self.allow(entry);
    }

    /// Allows `host` on `port` by name, as [`Policy::allow`] does.
    pub(crate) fn allow_endpoint(&mut self, host: &str, port: u16) {
        let host = normalize_host(host);
        let pattern = match host.parse::<IpAddr>() {
            Ok(ip) => HostPattern::Ip(ip),
            Err(_) => HostPattern::Name(host),
        };
        self.allow(AllowEntry { host: pattern, port: Some(port) });
    }

    /// Whether `host:port` may be asked for at all (names are compared normalised).
    pub fn permits(&self, host: &str, port: u16) -> bool {
        let host = normalize_host(host);
        self.allowed.iter().any(|e| e.matches(&host, port))
    }

    /// Whether connecting to `addr` for `host` is allowed: a public address, or an endpoint the
    /// operator listed exactly (by name or by address). `Err` says why not.
    pub fn check_address(&self, host: &str, addr: SocketAddr) -> Result<(), String> {
        let Some(refusal) = classify(addr.ip()) else {
            return Ok(());
        };
        let host = normalize_host(host);
        let port = addr.port();
        let listed = self
            .exact
            .iter()
            .any(|e| e.is_exactly(&host, port) || e.is_exactly(&addr.ip().to_string(), port));
        if listed {
            Ok(())
        } else {
            Err(format!(
                "{} is {refusal}; only an exact host:port entry in tasks.egress_allow lets it through",
                addr.ip()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> AllowEntry {
        text.parse().unwrap()
    }

    #[test]
    fn entries_parse_and_print_back() {
        for text in [
            "example.com",
            "example.com:8443",
            "*.example.com",
            "127.0.0.1:8089",
            "[::1]:80",
            "fe80::1",
        ] {
            assert_eq!(entry(text).to_string(), text);
        }
        assert_eq!(entry("Example.COM.").to_string(), "example.com");
        assert_eq!(entry("[::1]").to_string(), "::1");
    }

    #[test]
    fn bad_entries_say_why() {
        for text in [
            "",
            "https://example.com",
            "example.com/path",
            "host:0",
            "host:99999",
            "host:x",
            "a..b",
            "*",
            "exa mple.com",
            "*.*.x",
        ] {
            let err = text.parse::<AllowEntry>().unwrap_err().to_string();
            assert!(err.contains(&format!("{text:?}")) || text.is_empty(), "{text}: {err}");
        }
    }

    #[test]
    fn names_match_by_host_port_and_subdomain() {
        let policy =
            Policy::from_config(&["registry.npmjs.org"], &["*.corp.example", "api.example:8443"])
                .unwrap();
        assert!(policy.permits("registry.npmjs.org", 443));
        assert!(policy.permits("REGISTRY.npmjs.org.", 80));
        assert!(!policy.permits("evil-registry.npmjs.org", 443));
        assert!(policy.permits("git.corp.example", 22));
        assert!(!policy.permits("corp.example", 443));
        assert!(!policy.permits("xcorp.example", 443));
        assert!(policy.permits("api.example", 8443));
        assert!(!policy.permits("api.example", 443));
        assert!(!policy.permits("example.org", 443));
    }

    #[test]
    fn private_addresses_need_an_exact_operator_entry() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mut policy = Policy::from_config(
            &["registry.npmjs.org", "localhost"],
            &["127.0.0.1:8089", "gw.internal:443", "*.lan"],
        )
        .unwrap();
        policy.allow(entry("models.example:9000"));
        // A registry name that resolves to loopback (DNS rebinding) gets nothing.
        assert!(policy.check_address("registry.npmjs.org", addr("127.0.0.1:443")).is_err());
        assert!(policy.check_address("localhost", addr("127.0.0.1:8080")).is_err());
        // Exact by address or by name.
        assert!(policy.check_address("127.0.0.1", addr("127.0.0.1:8089")).is_ok());
        assert!(policy.check_address("localhost", addr("127.0.0.1:8089")).is_ok());
        assert!(policy.check_address("gw.internal", addr("10.0.0.5:443")).is_ok());
        assert!(policy.check_address("gw.internal", addr("10.0.0.5:444")).is_err());
        // Wildcards and names allowed by the run (not the operator) never lift the check.
        assert!(policy.check_address("nas.lan", addr("192.168.1.2:443")).is_err());
        assert!(policy.check_address("models.example", addr("169.254.169.254:9000")).is_err());
        let why = policy.check_address("x", addr("[::ffff:169.254.169.254]:80")).unwrap_err();
        assert!(why.contains("cloud metadata"), "{why}");
        assert!(policy.check_address("registry.npmjs.org", addr("104.16.0.35:443")).is_ok());
    }

    #[test]
    fn the_default_registries_are_valid_entries() {
        assert!(Policy::from_config(DEFAULT_REGISTRIES, &[]).is_ok());
    }
}
