//! A minimal MCP server with one tool, `fake_echo`, over stdio (newline-delimited JSON-RPC)
//! or HTTP (one JSON-RPC message per POST). It logs every method so tests can assert that a
//! CLI spawned and initialised it.

use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::path::Path;

use serde_json::{json, Value};

/// The environment variable whose value the stdio server writes into each log line, so tests can
/// check that a configured environment reached the server.
pub const TAG_VAR: &str = "DRYDOCK_FAKE_MCP_TAG";

/// The answer to one JSON-RPC message; `None` for notifications.
pub fn answer(msg: &Value) -> Option<Value> {
    let id = msg.get("id")?.clone();
    let method = msg.get("method").and_then(Value::as_str).unwrap_or_default();
    let result = match method {
        "initialize" => {
            let version =
                msg.pointer("/params/protocolVersion").cloned().unwrap_or(json!("2025-06-18"));
            json!({"protocolVersion": version, "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": "drydock-fake-mcp", "version": "0.1.0"}})
        }
        "tools/list" => {
            json!({"tools": [{"name": "fake_echo", "description": "Echoes its text back.",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}},
                "required": ["text"]}}]})
        }
        "tools/call" => {
            let text = msg.pointer("/params/arguments/text").and_then(Value::as_str).unwrap_or("");
            json!({"content": [{"type": "text", "text": format!("echo: {text}")}], "isError": false})
        }
        "ping" => json!({}),
        "resources/list" => json!({"resources": []}),
        "resources/templates/list" => json!({"resourceTemplates": []}),
        "prompts/list" => json!({"prompts": []}),
        _ => {
            return Some(json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("method not found: {method}")}}))
        }
    };
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// Serves MCP on stdin/stdout until stdin closes, appending `{"method", "tag"}` lines to `log`.
pub fn serve_stdio(log: &Path) -> std::io::Result<()> {
    let tag = std::env::var(TAG_VAR).ok();
    let mut log = OpenOptions::new().create(true).append(true).open(log)?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<Value>(&line) else { continue };
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("(response)");
        writeln!(log, "{}", json!({"method": method, "tag": tag}))?;
        if let Some(reply) = answer(&msg) {
            writeln!(stdout, "{reply}")?;
            stdout.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_initialize_list_call_and_ignores_notifications() {
        let init = answer(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-03-26"}}))
        .unwrap();
        assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
        let list = answer(&json!({"id": 2, "method": "tools/list"})).unwrap();
        assert_eq!(list["result"]["tools"][0]["name"], "fake_echo");
        let call = answer(&json!({"id": 3, "method": "tools/call",
            "params": {"name": "fake_echo", "arguments": {"text": "x"}}}))
        .unwrap();
        assert_eq!(call["result"]["content"][0]["text"], "echo: x");
        assert!(answer(&json!({"method": "notifications/initialized"})).is_none());
        assert!(answer(&json!({"id": 4, "method": "nope"})).unwrap().get("error").is_some());
    }
}
