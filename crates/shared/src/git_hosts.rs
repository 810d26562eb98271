//! Git hosts: the kinds of host (plain git, or a forge with an API) and what each is called,
//! and a user's personal access token per host (`/api/v1/me/git-credentials`), used for clone
//! and push to that host only, and for that host's forge API.

use serde::{Deserialize, Serialize};

use crate::github::MergeMethod;

// The one list of host kinds: `ForgeKind` is the same list without `git`, for the places that
// only ever hold a forge (a task's forge, a forge client), and `GitHostKind::forge` and
// `From<ForgeKind>` go between the two. Each kind's words, merge methods and git user name are
// defined here once. (Plain comments: the doc comments are the OpenAPI descriptions.)

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

/// The API a git host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    /// github.com or GitHub Enterprise (REST v3).
    Github,
    /// gitlab.com or a self-hosted GitLab (REST v4).
    Gitlab,
    /// Gitea or Forgejo (API v1).
    Gitea,
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

    /// The forge API the host speaks; `None` for a plain git host.
    pub fn forge(self) -> Option<ForgeKind> {
        match self {
            Self::Github => Some(ForgeKind::Github),
            Self::Gitlab => Some(ForgeKind::Gitlab),
            Self::Gitea => Some(ForgeKind::Gitea),
            Self::Git => None,
        }
    }

    /// A human name for the kind (the settings' choice of kind).
    pub fn label(self) -> &'static str {
        match self {
            Self::Gitea => "Gitea / Forgejo",
            Self::Git => "Plain git (no API)",
            forge => forge.forge().map(ForgeKind::label).unwrap_or_default(),
        }
    }

    /// Whether the kind has a forge API (pull or merge requests, repository browsing).
    pub fn has_api(self) -> bool {
        self.forge().is_some()
    }

    /// The user name git sends over HTTPS with a personal access token as the password.
    ///
    /// - GitHub: `x-access-token`, the name GitHub documents for token authentication (it
    ///   accepts any name with a personal access token; an App's installation token needs
    ///   this one).
    /// - GitLab: `oauth2`, the name GitLab documents for a token used as the password.
    /// - Gitea/Forgejo: any name works, because their Basic authentication looks the password
    ///   up as an access token before it looks at the name, and the token's own user is the one
    ///   authenticated; `drydock` says in the host's logs which client it was.
    /// - A plain git host: `x-access-token`, as on GitHub, since many token-only hosts follow
    ///   GitHub's convention and Drydock stores no user name for them.
    pub fn git_username(self) -> &'static str {
        match self {
            Self::Github | Self::Git => "x-access-token",
            Self::Gitlab => "oauth2",
            Self::Gitea => "drydock",
        }
    }
}

impl From<ForgeKind> for GitHostKind {
    fn from(kind: ForgeKind) -> Self {
        match kind {
            ForgeKind::Github => Self::Github,
            ForgeKind::Gitlab => Self::Gitlab,
            ForgeKind::Gitea => Self::Gitea,
        }
    }
}

impl ForgeKind {
    /// The product name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Github => "GitHub",
            Self::Gitlab => "GitLab",
            Self::Gitea => "Gitea",
        }
    }

    /// What the forge calls a request to merge a branch.
    pub fn request_noun(self) -> &'static str {
        match self {
            Self::Gitlab => "merge request",
            Self::Github | Self::Gitea => "pull request",
        }
    }

    /// How the forge numbers them in text: `#3` or GitLab's `!3`.
    pub fn number_prefix(self) -> &'static str {
        match self {
            Self::Gitlab => "!",
            Self::Github | Self::Gitea => "#",
        }
    }

    /// The merge methods a request to merge can choose. GitLab merges by the project's own
    /// method (merge commit, or fast-forward/rebase when the project says so), optionally
    /// squashed; it cannot be asked to rebase per merge.
    pub fn merge_methods(self) -> Vec<MergeMethod> {
        match self {
            Self::Gitlab => vec![MergeMethod::Squash, MergeMethod::Merge],
            Self::Github | Self::Gitea => {
                vec![MergeMethod::Squash, MergeMethod::Merge, MergeMethod::Rebase]
            }
        }
    }

    /// The user name git sends to the forge with a token ([`GitHostKind::git_username`]).
    pub fn git_username(self) -> &'static str {
        GitHostKind::from(self).git_username()
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
        for f in [ForgeKind::Github, ForgeKind::Gitlab, ForgeKind::Gitea] {
            let host = GitHostKind::from(f);
            assert_eq!(host.forge(), Some(f));
            assert_eq!(serde_json::to_value(f).unwrap(), host.as_str(), "one wire name per kind");
        }
        assert_eq!(GitHostKind::Git.forge(), None);
    }

    #[test]
    fn git_user_names_are_what_each_forge_documents() {
        assert_eq!(ForgeKind::Github.git_username(), "x-access-token");
        assert_eq!(ForgeKind::Gitlab.git_username(), "oauth2");
        assert!(!ForgeKind::Gitea.git_username().is_empty());
        assert_eq!(GitHostKind::Git.git_username(), "x-access-token");
    }
}
