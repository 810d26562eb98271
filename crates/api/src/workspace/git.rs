//! git on the live working tree, run **inside the sandbox** (as the sandbox's own user, with
//! its own isolation), so it works while sandbox code runs and nothing the agent planted in
//! the repository (hooks, fsmonitor, filters) can act on the host. Only what needs the
//! forge token (push, fetch) runs on the host, through `sandbox::git`, and only while no
//! sandbox code runs (see `sync`).
//!
//! What git prints here is the agent's to shape: it is parsed as data, capped, and only ever
//! shown to the task's owner.

use std::time::Duration;

use sandbox::{ExecRequest, SandboxHandle};
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most output lines read back from one command.
const MAX_LINES: usize = 20_000;
/// How long one command may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What a command in the sandbox printed.
pub struct Output {
    /// Whether it exited with 0.
    pub ok: bool,
    /// Its exit code.
    pub code: Option<i32>,
    /// stdout, line by line.
    pub stdout: Vec<String>,
    /// stderr, line by line.
    pub stderr: Vec<String>,
}

/// Runs `sh -c script sh args...` in the sandbox's repository. Arguments are passed as
/// positional parameters, never pasted into the script.
pub async fn run(
    state: &AppState,
    handle: &SandboxHandle,
    script: &str,
    args: &[&str],
    env: Vec<(String, String)>,
) -> ApiResult<Output> {
    let mut argv = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned(), "sh".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let mut request = ExecRequest::new(argv);
    request.cwd = "repo".into();
    request.timeout = Some(TIMEOUT);
    // git reads no pager, no colour, no terminal prompts.
    request.env = env;
    request.env.extend([
        ("GIT_PAGER".to_owned(), "cat".to_owned()),
        ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
        ("LC_ALL".to_owned(), "C".to_owned()),
    ]);
    let (tx, mut rx) = mpsc::channel(256);
    let collect = tokio::spawn(async move {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(line) = rx.recv().await {
            let sandbox::OutputLine { stream, line } = line;
            let into = if matches!(stream, shared::events::Stream::Stdout) {
                &mut stdout
            } else {
                &mut stderr
            };
            if into.len() < MAX_LINES {
                into.push(line);
            }
        }
        (stdout, stderr)
    });
    let outcome =
        state.sandbox.exec(handle, request, tx).await.map_err(|e| ApiError::Internal(e.into()))?;
    let (stdout, stderr) = collect.await.map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Output { ok: outcome.success(), code: outcome.exit_code, stdout, stderr })
}

/// The identity of commits Drydock makes in the sandbox (checkpoints).
pub fn identity(state: &AppState) -> Vec<(String, String)> {
    let tasks = &state.settings.tasks;
    let (name, email) = (tasks.git_author_name.clone(), tasks.git_author_email.clone());
    vec![
        ("GIT_AUTHOR_NAME".into(), name.clone()),
        ("GIT_AUTHOR_EMAIL".into(), email.clone()),
        ("GIT_COMMITTER_NAME".into(), name),
        ("GIT_COMMITTER_EMAIL".into(), email),
    ]
}

/// A path as git prints it: C-quoted (`"a\tb"`, octal escapes) when it has odd characters.
pub fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b'a') => bytes.push(7),
            Some(b'b') => bytes.push(8),
            Some(b'f') => bytes.push(12),
            Some(b'v') => bytes.push(11),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&next @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + u32::from(next - b'0');
                        chars.next();
                    }
                }
                bytes.push(u8::try_from(value & 0xff).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn git_quoted_paths_are_unquoted() {
        assert_eq!(unquote("src/a.rs"), "src/a.rs");
        assert_eq!(unquote(r#""a\tb\"c\\d""#), "a\tb\"c\\d");
        assert_eq!(unquote(r#""caf\303\251""#), "café");
    }
}
