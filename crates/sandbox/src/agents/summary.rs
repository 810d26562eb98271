//! Human summaries of tool calls ("Editing src/main.rs", "Running: cargo test"), shared by the
//! parsers. Tool names differ per CLI, so they are matched case-insensitively by family.

use std::path::Path;

use serde_json::Value;

const PATH_KEYS: &[&str] = &[
    "file_path",
    "filePath",
    "path",
    "absolute_path",
    "target_file",
    "notebook_path",
    "file",
    "dir_path",
];

/// The summary of a call to `tool` with JSON arguments `input`.
pub fn summarize(tool: &str, input: &Value, repo: &Path) -> String {
    let name = tool.to_ascii_lowercase();
    let path = || first_str(input, PATH_KEYS).map(|p| relative(&p, repo)).unwrap_or_default();
    match name.as_str() {
        "write" | "write_file" | "create" | "create_file" | "writetoolcall" => {
            format!("Writing {}", path())
        }
        "edit"
        | "multiedit"
        | "replace"
        | "str_replace"
        | "str_replace_based_edit_tool"
        | "str_replace_editor"
        | "edittoolcall"
        | "notebookedit"
        | "patch" => {
            format!("Editing {}", path())
        }
        "read" | "read_file" | "view" | "readtoolcall" | "read_many_files" => {
            format!("Reading {}", path())
        }
        "bash" | "shell" | "exec_command" | "shell_command" | "run_shell_command"
        | "command_execution" | "shelltoolcall" | "write_stdin" => {
            let cmd = match input.get("command").or_else(|| input.get("cmd")) {
                Some(Value::Array(parts)) => command_from_argv(parts),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            format!("Running: {}", one_line(&cmd, 80))
        }
        "apply_patch" => {
            let patch = match input {
                Value::String(s) => s.clone(),
                _ => first_str(input, &["input", "patch"]).unwrap_or_default(),
            };
            patch_summary(&patch, repo)
        }
        "grep" | "grep_search" | "rg" | "search_file_content" | "greptoolcall" => {
            let pattern = first_str(input, &["pattern", "query", "regex"]).unwrap_or_default();
            format!("Searching for: {}", one_line(&pattern, 80))
        }
        "glob" | "globtoolcall" => {
            let pattern =
                first_str(input, &["pattern", "glob_pattern", "globPattern"]).unwrap_or_default();
            format!("Finding files: {}", one_line(&pattern, 80))
        }
        "ls" | "list_directory" | "lstoolcall" => {
            let p = path();
            format!("Listing {}", if p.is_empty() { "." } else { &p })
        }
        "webfetch" | "web_fetch" => {
            format!("Fetching {}", first_str(input, &["url", "prompt"]).unwrap_or_default())
        }
        "websearch" | "web_search" | "google_web_search" => {
            format!("Searching the web: {}", first_str(input, &["query"]).unwrap_or_default())
        }
        "todowrite" | "todo_write" | "update_todo" | "todotoolcall" => {
            "Updating the todo list".into()
        }
        "task" | "agent" | "invoke_agent" => {
            let what = first_str(input, &["description", "prompt"]).unwrap_or_default();
            format!("Delegating: {}", one_line(&what, 80))
        }
        _ => format!("Using {tool}"),
    }
    .trim_end()
    .to_string()
}

/// "Editing a.txt, b.txt" from the file headers of an `apply_patch` patch.
pub fn patch_summary(patch: &str, repo: &Path) -> String {
    let files: Vec<String> = patch
        .lines()
        .filter_map(|l| {
            ["*** Add File: ", "*** Update File: ", "*** Delete File: "]
                .iter()
                .find_map(|prefix| l.strip_prefix(prefix))
        })
        .map(|p| relative(p.trim(), repo))
        .collect();
    if files.is_empty() {
        "Applying a patch".into()
    } else {
        format!("Editing {}", files.join(", "))
    }
}

/// `path` relative to the repository when it lies inside it.
pub fn relative(path: &str, repo: &Path) -> String {
    Path::new(path)
        .strip_prefix(repo)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| path.to_string())
}

/// The first line of `text`, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || text.trim().lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Codex reports commands as `/bin/bash -lc '<cmd>'`; show just `<cmd>`.
pub fn strip_shell_wrapper(cmd: &str) -> String {
    for prefix in ["/bin/bash -lc ", "bash -lc ", "/bin/sh -c ", "sh -c ", "/bin/zsh -lc "] {
        if let Some(rest) = cmd.strip_prefix(prefix) {
            let rest = rest.trim();
            let unquoted = rest
                .strip_prefix('\'')
                .and_then(|r| r.strip_suffix('\''))
                .or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')));
            return unquoted.unwrap_or(rest).to_string();
        }
    }
    cmd.to_string()
}

fn command_from_argv(parts: &[Value]) -> String {
    let words: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
    match words.as_slice() {
        [shell, flag, cmd] if shell.ends_with("sh") && flag.starts_with('-') => (*cmd).to_string(),
        _ => words.join(" "),
    }
}

fn first_str(input: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| input.get(*k).and_then(Value::as_str)).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_by_family() {
        let repo = Path::new("/workspace/repo");
        let s = |tool: &str, input: Value| summarize(tool, &input, repo);
        assert_eq!(
            s("Write", json!({"file_path": "/workspace/repo/src/main.rs"})),
            "Writing src/main.rs"
        );
        assert_eq!(s("Edit", json!({"file_path": "/workspace/repo/a.rs"})), "Editing a.rs");
        assert_eq!(s("read_file", json!({"absolute_path": "/etc/hosts"})), "Reading /etc/hosts");
        assert_eq!(s("Bash", json!({"command": "cargo test"})), "Running: cargo test");
        assert_eq!(s("shell", json!({"command": ["bash", "-lc", "ls -la"]})), "Running: ls -la");
        assert_eq!(s("Grep", json!({"pattern": "fn main"})), "Searching for: fn main");
        assert_eq!(s("mcp__fake__fake_echo", json!({})), "Using mcp__fake__fake_echo");
        assert_eq!(
            s(
                "apply_patch",
                json!("*** Begin Patch\n*** Add File: /workspace/repo/x.txt\n+x\n*** End Patch")
            ),
            "Editing x.txt"
        );
    }

    #[test]
    fn long_commands_are_clipped_and_wrappers_stripped() {
        assert_eq!(one_line("a\nb", 10), "a…");
        assert_eq!(one_line(&"x".repeat(100), 5), "xxxxx…");
        assert_eq!(strip_shell_wrapper("/bin/bash -lc 'cargo test'"), "cargo test");
        assert_eq!(strip_shell_wrapper("ls"), "ls");
    }
}
