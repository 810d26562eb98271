//! Validation of task input with `validator`, mapped to field → reasons.

use std::borrow::Cow;
use std::collections::BTreeMap;

use shared::agents::AgentKind;
use shared::tasks::PROMPT_MAX_CHARS;
use validator::{Validate, ValidationError, ValidationErrors};

const PROMPT_MAX: u64 = PROMPT_MAX_CHARS as u64;

/// What `POST /tasks` checks, borrowed from the request.
#[derive(Debug, Validate)]
pub struct TaskInput<'a> {
    #[validate(
        custom(function = "non_blank"),
        length(max = "PROMPT_MAX", message = "is too long (at most 100000 characters)")
    )]
    pub prompt: &'a str,
    #[validate(custom(function = "git_url"))]
    pub repo_url: &'a str,
    #[validate(custom(function = "known_agent"))]
    pub agent: &'a str,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub model: Option<&'a str>,
    #[validate(custom(function = "branch_name"))]
    pub base_branch: Option<&'a str>,
    #[validate(range(min = 1, message = "must be at least 1"))]
    pub max_duration_minutes: Option<u32>,
}

fn error(message: &'static str) -> ValidationError {
    let mut e = ValidationError::new("invalid");
    e.message = Some(Cow::Borrowed(message));
    e
}

fn non_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(error("must not be empty"))
    } else {
        Ok(())
    }
}

/// Accepts `https://` and `http://` URLs and local paths (`/abs/path`, `file://`); whether
/// plain http and local paths are allowed is checked separately. SSH URLs (`ssh://`,
/// `git@host:path`) and `git://` are refused here, before any quota is spent: Drydock clones
/// over https with the user's token and holds no SSH keys, so the clone could never work.
pub fn git_url(value: &str) -> Result<(), ValidationError> {
    let v = value.trim();
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(error("must be a git URL without spaces"));
    }
    if v.starts_with('-') {
        return Err(error("must not start with '-'"));
    }
    if is_local(v) {
        return Ok(());
    }
    if let Some(rest) = ["https://", "http://"].iter().find_map(|p| v.strip_prefix(p)) {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !host.is_empty() && !path.trim_matches('/').is_empty() {
            return Ok(());
        }
        return Err(error("must name a host and a repository path"));
    }
    let scp_like = v.split_once(':').is_some_and(|(user_host, path)| {
        user_host.contains('@') && !user_host.contains('/') && !path.is_empty()
    });
    if scp_like || v.starts_with("ssh://") || v.starts_with("git://") {
        return Err(error(
            "must be an https URL (https://host/owner/repo): Drydock clones over https with your token and cannot use SSH or git:// remotes",
        ));
    }
    Err(error("must be a git URL (https://host/owner/repo) or a local path"))
}

/// Whether a repository URL names the local filesystem.
pub fn is_local(url: &str) -> bool {
    url.starts_with('/') || url.starts_with("file://")
}

fn known_agent(value: &str) -> Result<(), ValidationError> {
    match AgentKind::parse(value) {
        Some(_) => Ok(()),
        None => Err(error("is not an agent Drydock knows (see GET /api/v1/agents)")),
    }
}

fn branch_name(value: &str) -> Result<(), ValidationError> {
    let bad = value.is_empty()
        || value.len() > 200
        || value.starts_with('-')
        || value.contains("..")
        || value.ends_with('/')
        || value.ends_with(".lock")
        || value.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if bad {
        Err(error("is not a valid branch name"))
    } else {
        Ok(())
    }
}

/// Flattens validator's errors into field → messages.
pub fn to_map(errors: &ValidationErrors) -> BTreeMap<String, Vec<String>> {
    errors
        .field_errors()
        .into_iter()
        .map(|(field, errs)| {
            let messages = errs
                .iter()
                .map(|e| {
                    e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| e.code.to_string())
                })
                .collect();
            (field.to_string(), messages)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls() {
        for ok in [
            "https://github.com/a/b.git",
            "https://git.example/team/my.repo",
            "/srv/git/repo.git",
            "file:///srv/r",
        ] {
            assert!(git_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "github.com",
            "https://github.com",
            "ftp://x/y",
            "--upload-pack=x",
            "https://a/b c",
            "a:b",
        ] {
            assert!(git_url(bad).is_err(), "{bad}");
        }
        for ssh in ["git@github.com:a/b.git", "ssh://git@host/x/y", "git://host/x/y"] {
            let message = git_url(ssh).unwrap_err().message.unwrap_or_default();
            assert!(message.contains("https"), "{ssh}: {message}");
        }
    }

    #[test]
    fn branch_names() {
        assert!(branch_name("release/1.2").is_ok());
        for bad in ["-x", "a..b", "a b", "x.lock", "a/", "a:b"] {
            assert!(branch_name(bad).is_err(), "{bad}");
        }
    }
}
