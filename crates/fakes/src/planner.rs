//! The provider-neutral brain of the fake model: each wire format is parsed into a
//! [`Conversation`], [`plan`] decides what to answer, and the wire module renders the [`Plan`].
//!
//! The script lives in the prompt, so a test needs no server-side setup:
//! - `create <file> containing <text>` names the file the tool call writes;
//! - `[[delay:N]]` stalls N seconds before the first answer (to test cancellation);
//! - `[[error:401]]`, `[[error:429]]`, `[[error:500]]` answer with that API error;
//! - `[[shell:<cmd>]]` runs `<cmd>` with the shell tool instead of writing a file;
//! - `[[browse:<url>]]` drives a browser MCP server (Playwright's tools, whatever the server's
//!   name): after the `[[shell:...]]` step if there is one, it navigates to `<url>`, takes a
//!   snapshot, and answers `The page title is: <title>` with the title the tool result gave,
//!   or `The page did not load: <result>` when the navigation failed. It needs
//!   [`Conversation::last_tool`], which the Anthropic wire fills in.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// A tool offered by the client.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: String,
    /// A freeform (`custom`) tool whose input is plain text, not JSON.
    pub freeform: bool,
    /// The JSON schema of the arguments (empty object for freeform tools).
    pub schema: Value,
}

/// One request, reduced to what the planner needs.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// Model name sent by the client.
    pub model: String,
    /// Tools offered.
    pub tools: Vec<ToolSpec>,
    /// Text of the latest user prompt (not a tool result).
    pub prompt: String,
    /// Texts of earlier user prompts: non-empty when the client resent history.
    pub earlier_prompts: Vec<String>,
    /// Every text in the request (system prompt included), searched for the working directory.
    pub all_text: String,
    /// Whether the last input item is a tool result.
    pub last_is_tool_result: bool,
    /// Text of that tool result.
    pub tool_result: Option<String>,
    /// The tool the assistant called last, when the wire says (Anthropic).
    pub last_tool: Option<String>,
    /// JSON schema the client wants the answer shaped to, when it asks for JSON.
    pub json_schema: Option<Value>,
    /// Number of messages or input items.
    pub items: usize,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// An API error with this HTTP status.
    Error(u16),
    /// A final assistant text.
    Text(String),
    /// A JSON document (as text) shaped to the requested schema.
    Json(Value),
    /// One tool call.
    Call {
        /// Tool name.
        tool: String,
        /// The call's arguments: a JSON object, or a string for freeform tools.
        input: Value,
        /// Whether the tool is freeform (`input` is a string).
        freeform: bool,
    },
}

impl Plan {
    /// A short label for the request log.
    pub fn label(&self) -> String {
        match self {
            Self::Error(code) => format!("error:{code}"),
            Self::Text(_) => "text".into(),
            Self::Json(_) => "json".into(),
            Self::Call { tool, .. } => format!("call:{tool}"),
        }
    }
}

/// The planner's answer plus how long to stall before sending it.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Stall before answering.
    pub delay: Option<Duration>,
    /// The answer.
    pub plan: Plan,
}

/// Defaults used when the prompt does not say which file to write.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// File written when the prompt has no `create <file> containing <text>`.
    pub file: String,
    /// Its content.
    pub content: String,
    /// Working directory for absolute paths, overriding the search in the prompt.
    pub workdir: Option<String>,
    /// Final text after a tool result.
    pub final_text: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            file: "hello.txt".into(),
            content: "hi".into(),
            workdir: None,
            final_text: "done".into(),
        }
    }
}

/// Decides the answer to one request.
pub fn plan(conv: &Conversation, defaults: &Defaults) -> Decision {
    if let Some(code) = directive(&conv.prompt, "error").and_then(|c| c.trim().parse().ok()) {
        return Decision { delay: None, plan: Plan::Error(code) };
    }
    if let Some(plan) = directive(&conv.prompt, "browse").and_then(|url| browse_step(conv, &url)) {
        return Decision { delay: None, plan };
    }
    if conv.last_is_tool_result {
        return Decision { delay: None, plan: Plan::Text(defaults.final_text.clone()) };
    }
    if let Some(schema) = &conv.json_schema {
        return Decision { delay: None, plan: Plan::Json(sample_json(schema, "")) };
    }
    let delay = directive(&conv.prompt, "delay")
        .and_then(|d| d.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let plan = if let Some(cmd) = directive(&conv.prompt, "shell") {
        shell_call(conv, &cmd)
    } else {
        write_call(conv, defaults)
    }
    .unwrap_or_else(|| Plan::Text("ok".into()));
    Decision { delay, plan }
}

/// The value of `[[name:value]]` in `text`, if present.
pub fn directive(text: &str, name: &str) -> Option<String> {
    let open = format!("[[{name}:");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find("]]")? + start;
    Some(text[start..end].to_string())
}

/// `(file, content)` from `create <file> containing <text>`; the text stops at a line end or
/// a directive.
pub fn file_request(prompt: &str) -> Option<(String, String)> {
    let start = prompt.rfind("create ")? + "create ".len();
    let rest = &prompt[start..];
    let file: String = rest.split_whitespace().next()?.to_string();
    let after = rest[file.len()..].trim_start();
    let text = after.strip_prefix("containing ")?;
    let text = text.lines().next().unwrap_or("");
    let text = text.split("[[").next().unwrap_or("").trim_end();
    Some((file, text.to_string()))
}

const WRITE_TOOLS: &[&str] =
    &["Write", "write", "write_file", "create", "create_file", "str_replace_based_edit_tool"];
const SHELL_TOOLS: &[&str] =
    &["shell", "exec_command", "shell_command", "bash", "Bash", "run_shell_command"];
const PATH_ARGS: &[&str] = &["file_path", "filePath", "path", "absolute_path", "filename", "file"];
const CONTENT_ARGS: &[&str] = &["content", "file_text", "contents", "text"];

fn find_tool<'a>(conv: &'a Conversation, names: &[&str]) -> Option<&'a ToolSpec> {
    names.iter().find_map(|n| conv.tools.iter().find(|t| t.name == *n))
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default()
}

fn write_call(conv: &Conversation, defaults: &Defaults) -> Option<Plan> {
    let (file, content) =
        file_request(&conv.prompt).unwrap_or((defaults.file.clone(), defaults.content.clone()));
    if let Some(tool) = find_tool(conv, WRITE_TOOLS) {
        let props = properties(&tool.schema);
        let path_arg =
            PATH_ARGS.iter().find(|a| props.contains_key(**a)).copied().unwrap_or("path");
        let content_arg =
            CONTENT_ARGS.iter().find(|a| props.contains_key(**a)).copied().unwrap_or("content");
        let path = match workdir(conv, defaults) {
            Some(dir) if !Path::new(&file).is_absolute() => format!("{dir}/{file}"),
            _ => file.clone(),
        };
        let mut args = Map::new();
        args.insert(path_arg.into(), json!(path));
        args.insert(content_arg.into(), json!(format!("{content}\n")));
        if tool.name == "str_replace_based_edit_tool" {
            args.insert("command".into(), json!("create"));
        }
        fill_required(&tool.schema, &mut args);
        return Some(Plan::Call {
            tool: tool.name.clone(),
            input: Value::Object(args),
            freeform: false,
        });
    }
    if let Some(tool) = conv.tools.iter().find(|t| t.name == "apply_patch") {
        let patch = format!("*** Begin Patch\n*** Add File: {file}\n+{content}\n*** End Patch\n");
        let input = if tool.freeform {
            json!(patch)
        } else {
            let props = properties(&tool.schema);
            let arg = props.keys().next().cloned().unwrap_or_else(|| "input".into());
            json!({ arg: patch })
        };
        return Some(Plan::Call { tool: tool.name.clone(), input, freeform: tool.freeform });
    }
    let cmd = format!("printf %s '{}' > '{}'", content.replace('\'', "'\\''"), file);
    shell_call(conv, &cmd)
}

fn shell_call(conv: &Conversation, cmd: &str) -> Option<Plan> {
    let tool = find_tool(conv, SHELL_TOOLS)?;
    let props = properties(&tool.schema);
    let mut args = Map::new();
    if props.contains_key("cmd") {
        args.insert("cmd".into(), json!(cmd));
    } else if props.get("command").and_then(|c| c.get("type")).and_then(Value::as_str)
        == Some("array")
    {
        args.insert("command".into(), json!(["bash", "-lc", cmd]));
    } else {
        args.insert("command".into(), json!(cmd));
    }
    fill_required(&tool.schema, &mut args);
    Some(Plan::Call { tool: tool.name.clone(), input: Value::Object(args), freeform: false })
}

/// Claude Code's tool that waits for MCP servers still connecting.
const WAIT_FOR_MCP: &str = "WaitForMcpServers";

/// The next step of a `[[browse:<url>]]` script; `None` for requests without tools (auxiliary
/// calls such as title generation), which get the usual answers.
fn browse_step(conv: &Conversation, url: &str) -> Option<Plan> {
    if conv.tools.is_empty() {
        return None;
    }
    let tool = |suffix: &str| conv.tools.iter().find(|t| t.name.ends_with(suffix));
    let call = |tool: &ToolSpec, input: Value| Plan::Call {
        tool: tool.name.clone(),
        input,
        freeform: false,
    };
    let last = conv.last_tool.as_deref().unwrap_or_default();
    if !conv.last_is_tool_result {
        if let Some(plan) = directive(&conv.prompt, "shell").and_then(|cmd| shell_call(conv, &cmd))
        {
            return Some(plan);
        }
    }
    let Some(navigate) = tool("browser_navigate") else {
        // Claude Code connects MCP servers while its first request is under way and offers a
        // tool to wait for them: wait once, then give up.
        return Some(match tool(WAIT_FOR_MCP) {
            Some(wait) if last != WAIT_FOR_MCP => {
                let mut args = Map::new();
                fill_required(&wait.schema, &mut args);
                call(wait, Value::Object(args))
            }
            _ => Plan::Text("No browser tool was offered.".into()),
        });
    };
    let go = || call(navigate, json!({ "url": url }));
    if !conv.last_is_tool_result {
        return Some(go());
    }
    let result = conv.tool_result.clone().unwrap_or_default();
    let title = result.lines().find_map(|l| l.trim().strip_prefix("- Page Title:")).map(str::trim);
    Some(if last.ends_with("browser_navigate") {
        match (title, tool("browser_snapshot")) {
            (Some(_), Some(snapshot)) => call(snapshot, json!({})),
            (Some(title), None) => Plan::Text(format!("The page title is: {title}")),
            (None, _) => Plan::Text(format!("The page did not load: {}", clip(&result))),
        }
    } else if last.ends_with("browser_snapshot") {
        Plan::Text(format!("The page title is: {}", title.unwrap_or("(none)")))
    } else {
        go()
    })
}

fn clip(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(400).collect()
}

/// Adds placeholder values for required arguments the plan did not set.
fn fill_required(schema: &Value, args: &mut Map<String, Value>) {
    let props = properties(schema);
    let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        if !args.contains_key(name) {
            let prop = props.get(name).cloned().unwrap_or(Value::Null);
            args.insert(name.into(), sample_json(&prop, name));
        }
    }
}

/// A value that satisfies `schema`, with a few names the CLIs' classifiers care about.
pub fn sample_json(schema: &Value, name: &str) -> Value {
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        Some(Value::Array(ts)) => {
            ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string").into()
        }
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    };
    match ty.as_str() {
        "object" => {
            let obj: Map<String, Value> =
                properties(schema).iter().map(|(k, v)| (k.clone(), sample_json(v, k))).collect();
            Value::Object(obj)
        }
        "array" => json!([]),
        "boolean" => json!(false),
        "integer" | "number" => schema.get("minimum").cloned().filter(|m| m.is_number()).map_or(
            json!(if name.contains("score") { 50 } else { 1 }),
            |m| if m.as_f64().unwrap_or(0.0) < 1.0 { json!(1) } else { m },
        ),
        _ if name == "next_speaker" => json!("user"),
        _ => json!(format!("fake {name}").trim().to_string()),
    }
}

/// The working directory the CLI announced in its prompt, when it exists on disk.
fn workdir(conv: &Conversation, defaults: &Defaults) -> Option<String> {
    if let Some(dir) = &defaults.workdir {
        return Some(dir.clone());
    }
    const MARKERS: &[&str] = &[
        "Primary working directory:",
        "<cwd>",
        "I'm currently working in the directory:",
        "Current working directory:",
        "Working directory:",
        "working directory:",
    ];
    for marker in MARKERS {
        for (idx, _) in conv.all_text.match_indices(marker) {
            let rest = &conv.all_text[idx + marker.len()..];
            let line = rest.lines().next().unwrap_or("");
            let candidate = line.split("</cwd>").next().unwrap_or("").trim();
            let candidate = candidate.trim_matches(|c| c == '`' || c == '"' || c == '\'');
            let candidate = candidate.trim_end_matches(['.', ',']);
            if candidate.starts_with('/') && Path::new(candidate).is_dir() {
                return Some(candidate.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(prompt: &str, tools: Vec<ToolSpec>) -> Conversation {
        Conversation { prompt: prompt.into(), tools, ..Conversation::default() }
    }

    fn tool(name: &str, schema: Value) -> ToolSpec {
        ToolSpec { name: name.into(), freeform: false, schema }
    }

    #[test]
    fn parses_file_request_and_directives() {
        assert_eq!(
            file_request("please create a.txt containing hello world [[delay:3]]"),
            Some(("a.txt".into(), "hello world".into()))
        );
        assert_eq!(directive("x [[delay:3]] y", "delay").as_deref(), Some("3"));
        assert_eq!(directive("x [[shell:ls -la]]", "shell").as_deref(), Some("ls -la"));
        assert_eq!(directive("nothing", "delay"), None);
    }

    #[test]
    fn prefers_write_tool_and_schema_argument_names() {
        let tools = vec![
            tool("bash", json!({"properties": {"command": {"type": "string"}}})),
            tool("write", json!({"properties": {"filePath": {}, "content": {}}})),
        ];
        let d = plan(&conv("create b.txt containing yo", tools), &Defaults::default());
        assert_eq!(
            d.plan,
            Plan::Call {
                tool: "write".into(),
                input: json!({"filePath": "b.txt", "content": "yo\n"}),
                freeform: false
            }
        );
    }

    #[test]
    fn freeform_apply_patch_then_shell() {
        let patch = ToolSpec { name: "apply_patch".into(), freeform: true, schema: json!({}) };
        let d = plan(&conv("create c.txt containing z", vec![patch]), &Defaults::default());
        assert!(matches!(d.plan, Plan::Call { freeform: true, .. }));
        let sh = tool("exec_command", json!({"properties": {"cmd": {}}, "required": ["cmd"]}));
        let d = plan(&conv("x [[shell:echo hi]]", vec![sh]), &Defaults::default());
        assert_eq!(
            d.plan,
            Plan::Call {
                tool: "exec_command".into(),
                input: json!({"cmd": "echo hi"}),
                freeform: false
            }
        );
    }

    #[test]
    fn browse_navigates_snapshots_and_reports_the_title() {
        let tools = vec![
            tool("Bash", json!({"properties": {"command": {"type": "string"}}})),
            tool("mcp__browser__browser_navigate", json!({"properties": {"url": {}}})),
            tool("mcp__browser__browser_snapshot", json!({})),
        ];
        let mut c = conv("look [[shell:serve]] [[browse:http://127.0.0.1:9/]]", tools);
        let step = |c: &Conversation| plan(c, &Defaults::default()).plan;
        assert!(matches!(step(&c), Plan::Call { ref tool, .. } if tool == "Bash"));
        c.last_is_tool_result = true;
        c.last_tool = Some("Bash".into());
        let Plan::Call { tool, input, .. } = step(&c) else { panic!("no navigation") };
        assert_eq!(
            (tool.as_str(), &input),
            ("mcp__browser__browser_navigate", &json!({"url": "http://127.0.0.1:9/"}))
        );
        c.last_tool = Some(tool);
        c.tool_result =
            Some("### Page\n- Page URL: http://127.0.0.1:9/\n- Page Title: Hi there".into());
        assert!(
            matches!(step(&c), Plan::Call { ref tool, .. } if tool.ends_with("browser_snapshot"))
        );
        c.last_tool = Some("mcp__browser__browser_snapshot".into());
        assert_eq!(step(&c), Plan::Text("The page title is: Hi there".into()));
        c.last_tool = Some("mcp__browser__browser_navigate".into());
        c.tool_result = Some("### Error\nnet::ERR_CONNECTION_REFUSED".into());
        assert_eq!(
            step(&c),
            Plan::Text("The page did not load: ### Error net::ERR_CONNECTION_REFUSED".into())
        );
    }

    #[test]
    fn tool_result_errors_delay_and_json() {
        let mut c = conv("create a containing b [[delay:2]]", vec![]);
        assert_eq!(plan(&c, &Defaults::default()).delay, Some(Duration::from_secs(2)));
        c.last_is_tool_result = true;
        assert_eq!(plan(&c, &Defaults::default()).plan, Plan::Text("done".into()));
        c.prompt = "[[error:429]]".into();
        assert_eq!(plan(&c, &Defaults::default()).plan, Plan::Error(429));
        let mut j = conv("route", vec![]);
        j.json_schema = Some(json!({"type": "object", "properties": {
            "complexity_score": {"type": "integer", "minimum": 1}, "next_speaker": {"type": "string"}}}));
        let Plan::Json(v) = plan(&j, &Defaults::default()).plan else { panic!("not json") };
        assert_eq!(v["next_speaker"], "user");
        assert!(v["complexity_score"].as_i64().unwrap() >= 1);
    }
}
