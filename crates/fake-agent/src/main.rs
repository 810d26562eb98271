//! `drydock-fake-agent`: behaves like `claude -p --output-format stream-json -- PROMPT`, but does
//! what directives in the prompt say instead of asking a model. Drydock runs it through exactly
//! the same path as the real CLI (configured with `agent_binaries.claude`), so queue, stream,
//! stop and git tests are fast and deterministic.
//!
//! Directives, in prompt order:
//! - `[[write:PATH=CONTENT]]` edit a file (a `Write` tool call and its result);
//! - `[[sleep:SECS]]` sleep (fractions allowed), printing nothing;
//! - `[[lines:N]]` print N assistant messages;
//! - `[[ignore-term]]` ignore SIGINT and SIGTERM from here on;
//! - `[[env:NAME]]` print the value of an environment variable as a message;
//! - `[[fail:MESSAGE]]` end with an error result;
//! - `[[exit:CODE]]` exit with CODE right away, without a result line;
//! - `[[garbage]]` print a line that is not JSON;
//! - `[[symlink:LINK=TARGET]]` create a symlink (to probe path checks);
//! - `[[commit:MESSAGE]]` commit everything itself, as some agents do;
//! - `[[flood:BYTES]]` print BYTES of plain 1 KiB lines as fast as the pipe takes them (an
//!   agent drowning the server in output);
//! - `[[sh:COMMAND]]` run `sh -c COMMAND` as its shell tool (a `Bash` tool call whose result is
//!   the exit code and output), the way a hostile agent would try things.
//!
//! Anything else is echoed as the final message. `--resume ID` keeps the session id.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

fn emit(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn directives(prompt: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("[[") {
        let Some(end) = rest[start..].find("]]") else { break };
        let body = &rest[start + 2..start + end];
        let (name, arg) = body.split_once(':').unwrap_or((body, ""));
        out.push((name.to_owned(), arg.to_owned()));
        rest = &rest[start + end + 2..];
    }
    out
}

fn plain_text(prompt: &str) -> String {
    let mut text = String::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("[[") {
        text.push_str(&rest[..start]);
        match rest[start..].find("]]") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    text.push_str(rest);
    text.trim().to_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    // Claude Code takes `-p` as a switch with the prompt after `--`; `-p PROMPT` works too.
    let prompt = match args.iter().position(|a| a == "--") {
        Some(i) => args[i + 1..].join(" "),
        None => flag("-p").or_else(|| flag("--print")).unwrap_or_default(),
    };
    let resumed = flag("--resume");
    let session =
        resumed.clone().unwrap_or_else(|| format!("fake-{}-{}", std::process::id(), prompt.len()));
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();

    emit(
        json!({"type": "system", "subtype": "init", "session_id": session, "cwd": cwd, "model": flag("--model"), "tools": ["Write", "Bash"], "resumed": resumed.is_some()}),
    );
    let mut call = 0;
    for (name, arg) in directives(&prompt) {
        match name.as_str() {
            "write" => {
                let (path, content) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
                call += 1;
                let id = format!("toolu_{call}");
                emit(
                    json!({"type": "assistant", "session_id": session, "message": {"content": [{"type": "tool_use", "id": id, "name": "Write", "input": {"file_path": path, "content": content}}]}}),
                );
                let result = match std::fs::write(path, content) {
                    Ok(()) => {
                        json!({"tool_use_id": id, "type": "tool_result", "content": format!("File written: {path}")})
                    }
                    Err(e) => {
                        json!({"tool_use_id": id, "type": "tool_result", "content": e.to_string(), "is_error": true})
                    }
                };
                emit(
                    json!({"type": "user", "session_id": session, "message": {"role": "user", "content": [result]}}),
                );
            }
            "sleep" => std::thread::sleep(Duration::from_secs_f64(arg.parse().unwrap_or(1.0))),
            "lines" => {
                for i in 0..arg.parse::<u64>().unwrap_or(1) {
                    emit(
                        json!({"type": "assistant", "session_id": session, "message": {"content": [{"type": "text", "text": format!("line {i}")}]}}),
                    );
                }
            }
            "ignore-term" => {
                use nix::sys::signal::{signal, SigHandler, Signal};
                for sig in [Signal::SIGINT, Signal::SIGTERM] {
                    // Ignoring a signal installs no handler code, so nothing unsound can run.
                    #[allow(unsafe_code)]
                    let _ = unsafe { signal(sig, SigHandler::SigIgn) };
                }
            }
            "env" => {
                let value = std::env::var(&arg).unwrap_or_else(|_| "<unset>".into());
                emit(
                    json!({"type": "assistant", "session_id": session, "message": {"content": [{"type": "text", "text": format!("{arg}={value}")}]}}),
                );
            }
            "fail" => {
                emit(
                    json!({"type": "result", "subtype": "error_during_execution", "is_error": true, "result": arg, "session_id": session}),
                );
                std::process::exit(1);
            }
            "exit" => std::process::exit(arg.parse().unwrap_or(1)),
            "garbage" => println!("this line is not JSON {{"),
            "commit" => {
                // Like an agent that commits its own work.
                let _ = std::process::Command::new("git")
                    .args([
                        "-c",
                        "user.name=Agent",
                        "-c",
                        "user.email=agent@example.com",
                        "commit",
                        "-q",
                        "-a",
                        "-m",
                        &arg,
                    ])
                    .status();
                let _ = std::process::Command::new("git")
                    .args([
                        "-c",
                        "user.name=Agent",
                        "-c",
                        "user.email=agent@example.com",
                        "add",
                        "-A",
                    ])
                    .status();
                let _ = std::process::Command::new("git")
                    .args([
                        "-c",
                        "user.name=Agent",
                        "-c",
                        "user.email=agent@example.com",
                        "commit",
                        "-q",
                        "-m",
                        &arg,
                    ])
                    .status();
            }
            "flood" => {
                let line = format!("{}\n", "x".repeat(1023));
                let mut out = std::io::stdout().lock();
                let mut left = arg.parse::<u64>().unwrap_or(1 << 20);
                while left > 0 {
                    if out.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                    left = left.saturating_sub(line.len() as u64);
                }
                let _ = out.flush();
            }
            "sh" => {
                call += 1;
                let id = format!("toolu_{call}");
                emit(
                    json!({"type": "assistant", "session_id": session, "message": {"content": [{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": arg}}]}}),
                );
                let output = std::process::Command::new("sh").args(["-c", &arg]).output();
                let (code, text) = match output {
                    Ok(out) => (
                        out.status.code().unwrap_or(-1),
                        format!(
                            "{}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        ),
                    ),
                    Err(e) => (-1, e.to_string()),
                };
                emit(
                    json!({"type": "user", "session_id": session, "message": {"role": "user", "content": [{"tool_use_id": id, "type": "tool_result", "content": format!("exit {code}\n{text}"), "is_error": code != 0}]}}),
                );
            }
            "symlink" => {
                let (link, target) = arg.split_once('=').unwrap_or((arg.as_str(), "/"));
                let _ = std::os::unix::fs::symlink(target, link);
            }
            _ => {}
        }
    }
    let text = plain_text(&prompt);
    let reply =
        if resumed.is_some() { format!("Resumed: {text}") } else { format!("Done: {text}") };
    emit(
        json!({"type": "assistant", "session_id": session, "message": {"content": [{"type": "text", "text": reply}]}}),
    );
    emit(
        json!({"type": "result", "subtype": "success", "is_error": false, "result": reply, "session_id": session, "num_turns": call + 1, "total_cost_usd": 0.0012, "usage": {"input_tokens": 120, "output_tokens": 30}}),
    );
}
