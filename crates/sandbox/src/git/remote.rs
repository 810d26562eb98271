//! Where a repository comes from, and how the token reaches git without being stored.
//!
//! The token is put in the environment of the git processes Drydock runs on the host, and an
//! inline credential helper (given with `-c`, so nothing is written to disk or to `.git/config`)
//! hands it to git. The helper only answers for the protocol and host the repository was
//! cloned from, so a URL rewritten by repository configuration cannot extract it.

use std::fmt;
use std::path::PathBuf;

use super::GitError;

/// Credentials for an https remote.
#[derive(Clone)]
pub struct Credentials {
    /// The user name git sends; GitHub accepts any non-empty name with a token.
    pub username: String,
    /// The token, used as the password.
    pub token: String,
}

impl Credentials {
    /// A token for GitHub-style hosts (`x-access-token` as user name).
    pub fn token(token: impl Into<String>) -> Self {
        Self { username: "x-access-token".into(), token: token.into() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// A repository location after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `http(s)://host[:port]/path`.
    Http {
        /// `http` or `https`.
        protocol: String,
        /// `host[:port]` as git reports it to credential helpers.
        host: String,
    },
    /// A directory on this machine.
    Local(PathBuf),
}

/// Checks a clone URL against what the operator allows.
pub(crate) fn classify(
    url: &str,
    allow_local: bool,
    allow_http: bool,
) -> Result<Location, GitError> {
    let invalid =
        |reason: &str| GitError::InvalidUrl { url: url.to_string(), reason: reason.to_string() };
    if let Some((scheme, rest)) = url.split_once("://") {
        match scheme {
            "https" | "http" => {
                if scheme == "http" && !allow_http {
                    return Err(invalid("plain http is not allowed; use https"));
                }
                let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                if authority.contains('@') {
                    return Err(invalid(
                        "credentials in the URL are not allowed; Drydock supplies the token",
                    ));
                }
                if authority.is_empty() {
                    return Err(invalid("the URL has no host"));
                }
                Ok(Location::Http { protocol: scheme.to_string(), host: authority.to_string() })
            }
            "file" => local(PathBuf::from(rest), url, allow_local),
            _ => Err(invalid("only https URLs (or local paths, when allowed) are supported")),
        }
    } else if url.starts_with('/') {
        local(PathBuf::from(url), url, allow_local)
    } else {
        Err(invalid("only https URLs (or absolute local paths, when allowed) are supported"))
    }
}

fn local(path: PathBuf, url: &str, allow_local: bool) -> Result<Location, GitError> {
    if !allow_local {
        return Err(GitError::LocalNotAllowed { url: url.to_string() });
    }
    if !path.is_absolute() || !path.exists() {
        return Err(GitError::InvalidUrl {
            url: url.to_string(),
            reason: "the local repository does not exist".into(),
        });
    }
    Ok(Location::Local(path))
}

/// The inline credential helper. It reads git's request from stdin and answers only `get` for
/// the expected protocol and host; the values come from the environment of this one git process.
pub(crate) const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
    while IFS= read -r line; do case \"$line\" in \
    protocol=*) p=\"${line#protocol=}\";; host=*) h=\"${line#host=}\";; esac; done; \
    if [ \"$p\" = \"$DRYDOCK_GIT_PROTOCOL\" ] && [ \"$h\" = \"$DRYDOCK_GIT_HOST\" ]; then \
    printf 'username=%s\\npassword=%s\\n' \"$DRYDOCK_GIT_USERNAME\" \"$DRYDOCK_GIT_TOKEN\"; fi; }; f";

/// The environment that lets [`CREDENTIAL_HELPER`] answer for `location`.
pub(crate) fn credential_env(
    location: &Location,
    credentials: &Credentials,
) -> Vec<(&'static str, String)> {
    match location {
        Location::Http { protocol, host } => vec![
            ("DRYDOCK_GIT_PROTOCOL", protocol.clone()),
            ("DRYDOCK_GIT_HOST", host.clone()),
            ("DRYDOCK_GIT_USERNAME", credentials.username.clone()),
            ("DRYDOCK_GIT_TOKEN", credentials.token.clone()),
        ],
        Location::Local(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_are_accepted_with_their_host() {
        assert_eq!(
            classify("https://github.com/o/my.repo.git", false, false).unwrap(),
            Location::Http { protocol: "https".into(), host: "github.com".into() }
        );
        assert_eq!(
            classify("http://127.0.0.1:8080/r.git", false, true).unwrap(),
            Location::Http { protocol: "http".into(), host: "127.0.0.1:8080".into() }
        );
    }

    #[test]
    fn rejects_credentials_plain_http_and_other_schemes() {
        for (url, http) in [
            ("https://user:tok@github.com/o/r", false),
            ("http://github.com/o/r", false),
            ("ssh://git@github.com/o/r", false),
            ("git@github.com:o/r.git", false),
            ("relative/path", false),
        ] {
            assert!(matches!(classify(url, true, http), Err(GitError::InvalidUrl { .. })), "{url}");
        }
    }

    #[test]
    fn local_paths_need_permission() {
        assert!(matches!(classify("/tmp", false, false), Err(GitError::LocalNotAllowed { .. })));
        assert!(matches!(
            classify("file:///tmp", false, false),
            Err(GitError::LocalNotAllowed { .. })
        ));
        assert_eq!(classify("file:///tmp", true, false).unwrap(), Location::Local("/tmp".into()));
        assert!(matches!(
            classify("/does/not/exist", true, false),
            Err(GitError::InvalidUrl { .. })
        ));
    }
}
