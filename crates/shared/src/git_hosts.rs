//! Git host credentials: a user's personal access token per host (`/api/v1/me/git-credentials`),
//! used for clone and push to that host only, and for that host's forge API.

use serde::{Deserialize, Serialize};

/// What kind of server a git host is, which decides the API Drydock talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GitHostKind {
    /// github.com or a GitHub Enterprise host (REST v3).
    Github,
    /// gitlab.com or a self-hosted GitLab (REST v4).
    Gitlab,
    /// A Gitea or Forgejo host (API v1).
    Gitea,
    /// A plain git host with no forge API: clone and push only, no pull requests.
    Git,
}

impl GitHostKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Github, Self::Gitlab, Self::Gitea, Self::Git];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Gitea => "gitea",
            Self::Git => "git",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A human name for the kind.
    pub fn label(self) -> &'static str {
        match self {
            Self::Github => "GitHub",
            Self::Gitlab => "GitLab",
            Self::Gitea => "Gitea / Forgejo",
            Self::Git => "Plain git (no API)",
        }
    }

    /// Whether the kind has a forge API (pull or merge requests, repository browsing).
    pub fn has_api(self) -> bool {
        self != Self::Git
    }
}

/// Body of `PUT /api/v1/me/git-credentials/{host}`: stores or replaces the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutGitCredential {
    /// What the host runs.
    pub kind: GitHostKind,
    /// The forge's API base URL (`https://gitlab.example/api/v4`); defaulted from the host for
    /// forges, absent for plain git hosts.
    #[serde(default)]
    pub api_url: Option<String>,
    /// The personal access token; stored encrypted, never returned.
    pub token: String,
}

/// What the API shows of a credential: never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GitCredential {
    /// `host` or `host:port`, lower case: the only host the token is sent to.
    pub host: String,
    /// What the host runs.
    pub kind: GitHostKind,
    /// The forge API the token is used with; `null` for plain git hosts.
    pub api_url: Option<String>,
    /// The token's last 4 characters.
    pub token_last4: String,
    /// When the credential was first stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the token was last replaced.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When Drydock last used it (a run's clone or push, a forge API call).
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Longest host accepted (a DNS name is at most 253 characters, plus `:65535`).
pub const HOST_MAX: usize = 260;

/// Normalises a host as typed (`GitLab.Example.com`, `git.example:8443`,
/// `https://git.example/`) to the key credentials are stored under: lower case `host` or
/// `host:port`, without the default https port. The reason when it is not a host.
pub fn normalise_host(input: &str) -> Result<String, &'static str> {
    let mut s = input.trim().to_ascii_lowercase();
    if let Some(rest) = s.strip_prefix("https://") {
        s = rest.to_owned();
    }
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.len() > HOST_MAX {
        return Err("is too long");
    }
    if s.contains(['/', '@', '?', '#', '[', ']']) || s.contains("://") {
        return Err("must be a host name with an optional port (git.example.com or git.example.com:8443), without scheme, user or path");
    }
    let (name, port) = match s.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (s, None),
    };
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !labels_ok {
        return Err("must be a host name (letters, digits, dots and dashes) with an optional port");
    }
    match port {
        None | Some("443") => Ok(name.to_owned()),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && !p.starts_with('0') => Ok(format!("{name}:{n}")),
            _ => Err("has a port that is not a number from 1 to 65535"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(normalise_host(" GitLab.Example.COM ").as_deref(), Ok("gitlab.example.com"));
        assert_eq!(normalise_host("git.example:8443").as_deref(), Ok("git.example:8443"));
        assert_eq!(normalise_host("git.example:443").as_deref(), Ok("git.example"));
        assert_eq!(normalise_host("https://git.example/").as_deref(), Ok("git.example"));
        assert_eq!(normalise_host("127.0.0.1:9000").as_deref(), Ok("127.0.0.1:9000"));
        for bad in [
            "",
            "git.example/team",
            "user@git.example",
            "http://git.example",
            "git..example",
            "-git.example",
            "git.example:0",
            "git.example:99999",
            "git.example:x",
            "[::1]:80",
            "git example",
        ] {
            assert!(normalise_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in GitHostKind::ALL {
            assert_eq!(GitHostKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!(!GitHostKind::Git.has_api());
    }
}
