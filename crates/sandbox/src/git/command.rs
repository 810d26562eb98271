//! Running one git process with the pipeline's hardening, credentials and reporting.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncWriteExt;

use super::remote::{credential_env, Credentials, Location, CREDENTIAL_HELPER};
use super::{CommandRecord, Git, GitError};

/// One git invocation.
pub(crate) struct GitCommand<'a> {
    /// Arguments after `git` and the hardening options; these are what gets reported.
    pub args: Vec<OsString>,
    /// A working tree to run in (`GIT_DIR` is pinned to its `.git` so git never searches
    /// parent directories); `None` runs in `cwd`.
    pub repo: Option<&'a Path>,
    /// Directory to run in when there is no repository yet.
    pub cwd: Option<&'a Path>,
    /// Credentials and the location they are for.
    pub credentials: Option<(&'a Location, &'a Credentials)>,
    /// Extra environment.
    pub env: Vec<(&'static str, String)>,
    /// Data for stdin.
    pub stdin: Option<Vec<u8>>,
}

impl<'a> GitCommand<'a> {
    pub(crate) fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            repo: None,
            cwd: None,
            credentials: None,
            env: Vec::new(),
            stdin: None,
        }
    }

    pub(crate) fn in_repo(mut self, repo: &'a Path) -> Self {
        self.repo = Some(repo);
        self
    }
}

/// What a git process produced.
#[derive(Debug)]
pub(crate) struct GitOutput {
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    /// Redacted.
    pub stderr: String,
}

impl GitOutput {
    pub(crate) fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl Git {
    /// Runs git; a non-zero exit is returned, not an error.
    pub(crate) async fn run(&self, command: GitCommand<'_>) -> Result<GitOutput, GitError> {
        let secrets: Vec<String> =
            command.credentials.map(|(_, c)| vec![c.token.clone()]).unwrap_or_default();
        let redact = |text: &str| redact(text, &secrets);
        let mut display = vec!["git".to_string()];
        display.extend(command.args.iter().map(|a| redact(&a.to_string_lossy())));

        let mut process = tokio::process::Command::new(&self.program);
        process.args(self.hardening(command.credentials.is_some()));
        process.args(&command.args);
        process
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("LC_ALL", "C")
            .env("HOME", "/nonexistent")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(if command.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(repo) = command.repo {
            process.current_dir(repo).env("GIT_DIR", repo.join(".git")).env("GIT_WORK_TREE", repo);
        } else if let Some(cwd) = command.cwd {
            process.current_dir(cwd);
        }
        if let Some((location, credentials)) = command.credentials {
            process.envs(credential_env(location, credentials));
        }
        process.envs(command.env);

        let started = Instant::now();
        let io_error = |e: std::io::Error| GitError::Io {
            context: format!("running {}", display.join(" ")),
            source: e,
        };
        let mut child = process.spawn().map_err(io_error)?;
        if let (Some(data), Some(mut stdin)) = (command.stdin, child.stdin.take()) {
            stdin.write_all(&data).await.map_err(io_error)?;
        }
        let result = tokio::time::timeout(self.timeout, child.wait_with_output()).await;
        let (exit_code, output) = match result {
            Ok(Ok(output)) => (output.status.code(), Some(output)),
            Ok(Err(e)) => return Err(io_error(e)),
            Err(_) => (None, None),
        };
        if let Some(recorder) = &self.recorder {
            recorder(CommandRecord {
                argv: display.clone(),
                exit_code,
                duration: started.elapsed(),
            });
        }
        let Some(output) = output else {
            return Err(GitError::Timeout { command: display.join(" "), after: self.timeout });
        };
        Ok(GitOutput {
            exit_code,
            stdout: output.stdout,
            stderr: redact(String::from_utf8_lossy(&output.stderr).trim()),
        })
    }

    /// Runs git and turns a non-zero exit into [`GitError::Failed`].
    pub(crate) async fn run_ok(&self, command: GitCommand<'_>) -> Result<GitOutput, GitError> {
        let name = command
            .args
            .iter()
            .take(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let output = self.run(command).await?;
        if output.success() {
            Ok(output)
        } else if is_auth_failure(&output.stderr) {
            Err(GitError::AuthenticationFailed { message: output.stderr })
        } else {
            Err(GitError::Failed {
                command: format!("git {name}"),
                exit_code: output.exit_code,
                stderr: output.stderr,
            })
        }
    }

    /// Options that make git ignore anything the workspace or host config could inject.
    fn hardening(&self, with_credentials: bool) -> Vec<String> {
        let allow = |on: bool| if on { "always" } else { "never" };
        let mut options = vec![
            "core.hooksPath=/dev/null".to_string(),
            "core.fsmonitor=false".to_string(),
            // An empty value clears every helper configured so far; none may see or store the
            // token.
            "credential.helper=".to_string(),
            "protocol.allow=never".to_string(),
            "protocol.https.allow=always".to_string(),
            format!("protocol.http.allow={}", allow(self.allow_http)),
            format!("protocol.file.allow={}", allow(self.allow_local)),
            "gc.auto=0".to_string(),
            "maintenance.auto=false".to_string(),
        ];
        if with_credentials {
            options.push(format!("credential.helper={CREDENTIAL_HELPER}"));
        }
        options.into_iter().flat_map(|o| ["-c".to_string(), o]).collect()
    }
}

/// Whether git's stderr says the remote wanted credentials we could not give.
pub(crate) fn is_auth_failure(stderr: &str) -> bool {
    [
        "Authentication failed",
        "could not read Username",
        "could not read Password",
        "The requested URL returned error: 401",
        "The requested URL returned error: 403",
    ]
    .iter()
    .any(|needle| stderr.contains(needle))
}

/// Replaces every secret value in `text`.
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), "[REDACTED]"))
}
