//! OpenAI Responses (`POST /v1/responses`) and Chat Completions (`POST /v1/chat/completions`).

use serde_json::{json, Value};

use crate::planner::{Conversation, Plan, ToolSpec};
use crate::wire::{self, Reply};

/// Wrapper messages codex sends as user items; they are context, not the prompt.
const CONTEXT_PREFIXES: &[&str] =
    &["<environment_context>", "<user_instructions>", "<permissions", "# AGENTS.md"];

fn is_context(text: &str) -> bool {
    let t = text.trim_start();
    CONTEXT_PREFIXES.iter().any(|p| t.starts_with(p))
}

/// Reduces a Responses request to a [`Conversation`].
pub fn parse_responses(body: &Value) -> Conversation {
    let mut conv = Conversation {
        model: wire::str_at(body, "model"),
        tools: tools(body, |t| {
            let name = t.get("name")?.as_str()?.to_string();
            let freeform = t["type"] == "custom";
            Some(ToolSpec {
                name,
                freeform,
                schema: t.get("parameters").cloned().unwrap_or(json!({})),
            })
        }),
        json_schema: body
            .pointer("/text/format")
            .filter(|f| f["type"] == "json_schema")
            .map(|f| f.get("schema").cloned().unwrap_or(json!({}))),
        ..Conversation::default()
    };
    conv.all_text.push_str(&wire::str_at(body, "instructions"));
    let items = match body.get("input") {
        Some(Value::String(s)) => vec![json!({"type": "message", "role": "user", "content": s})],
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    conv.items = items.len();
    let mut prompts = Vec::new();
    for item in &items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "function_call_output" | "custom_tool_call_output" | "tool_search_output" => {
                conv.last_is_tool_result = true;
                conv.tool_result = Some(wire::texts(item.get("output")));
            }
            "message" => {
                let text = wire::texts(item.get("content"));
                conv.all_text.push('\n');
                conv.all_text.push_str(&text);
                if item["role"] == "user" && !text.trim().is_empty() && !is_context(&text) {
                    prompts.push(text);
                }
                conv.last_is_tool_result = false;
            }
            _ => conv.last_is_tool_result = false,
        }
    }
    wire::split_prompts(&mut conv, prompts);
    conv
}

/// Renders a plan as a Responses stream (or a single response object).
pub fn render_responses(plan: &Plan, model: &str, stream: bool) -> Reply {
    let item = match plan {
        Plan::Error(code) => return error(*code),
        Plan::Text(text) => message_item(text),
        Plan::Json(v) => message_item(&v.to_string()),
        Plan::Call { tool, input, freeform: true } => json!({"type": "custom_tool_call",
            "id": wire::id("ctc"), "call_id": wire::id("call"), "name": tool,
            "input": input.as_str().unwrap_or_default(), "status": "completed"}),
        Plan::Call { tool, input, .. } => json!({"type": "function_call", "id": wire::id("fc"),
            "call_id": wire::id("call"), "name": tool, "arguments": input.to_string(),
            "status": "completed"}),
    };
    let id = wire::id("resp");
    let usage = json!({"input_tokens": wire::INPUT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": wire::OUTPUT_TOKENS, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": wire::INPUT_TOKENS + wire::OUTPUT_TOKENS});
    let response = |status: &str, output: Value| {
        json!({"id": id, "object": "response", "created_at": wire::now(), "status": status,
            "model": model, "output": output, "usage": usage})
    };
    if !stream {
        return Reply::json(200, response("completed", json!([item])));
    }
    let mut events = vec![
        json!({"type": "response.created", "response": response("in_progress", json!([]))}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": item}),
    ];
    if let Some(text) = item.pointer("/content/0/text") {
        events.push(json!({"type": "response.output_text.delta", "item_id": item["id"],
            "output_index": 0, "content_index": 0, "delta": text}));
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": item}));
    events.push(
        json!({"type": "response.completed", "response": response("completed", json!([item]))}),
    );
    Reply::sse(
        events
            .iter()
            .enumerate()
            .map(|(n, e)| {
                let mut e = e.clone();
                e["sequence_number"] = json!(n);
                wire::sse_event(e["type"].as_str(), &e)
            })
            .collect(),
    )
}

fn message_item(text: &str) -> Value {
    json!({"type": "message", "id": wire::id("msg"), "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// Reduces a Chat Completions request to a [`Conversation`].
pub fn parse_chat(body: &Value) -> Conversation {
    let mut conv = Conversation {
        model: wire::str_at(body, "model"),
        tools: tools(body, |t| {
            if t["type"] == "custom" {
                let name = t.pointer("/custom/name")?.as_str()?.to_string();
                return Some(ToolSpec { name, freeform: true, schema: json!({}) });
            }
            let f = t.get("function")?;
            let name = f.get("name")?.as_str()?.to_string();
            Some(ToolSpec {
                name,
                freeform: false,
                schema: f.get("parameters").cloned().unwrap_or(json!({})),
            })
        }),
        json_schema: body.get("response_format").and_then(|f| match f["type"].as_str() {
            Some("json_schema") => {
                Some(f.pointer("/json_schema/schema").cloned().unwrap_or(json!({})))
            }
            Some("json_object") => Some(json!({"type": "object"})),
            _ => None,
        }),
        ..Conversation::default()
    };
    let messages = body.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    conv.items = messages.len();
    let mut prompts = Vec::new();
    for msg in &messages {
        let text = wire::texts(msg.get("content"));
        conv.all_text.push('\n');
        conv.all_text.push_str(&text);
        conv.last_is_tool_result = msg["role"] == "tool";
        if conv.last_is_tool_result {
            conv.tool_result = Some(text);
        } else if msg["role"] == "user" && !text.trim().is_empty() {
            prompts.push(text);
        }
    }
    wire::split_prompts(&mut conv, prompts);
    conv
}

/// Renders a plan as a Chat Completions stream (or a single completion).
pub fn render_chat(plan: &Plan, model: &str, stream: bool) -> Reply {
    let (content, calls, finish) = match plan {
        Plan::Error(code) => return error(*code),
        Plan::Text(text) => (json!(text), None, "stop"),
        Plan::Json(v) => (json!(v.to_string()), None, "stop"),
        Plan::Call { tool, input, freeform: true } => (
            Value::Null,
            Some(json!([{"index": 0, "id": wire::id("call"), "type": "custom",
                "custom": {"name": tool, "input": input.as_str().unwrap_or_default()}}])),
            "tool_calls",
        ),
        Plan::Call { tool, input, .. } => (
            Value::Null,
            Some(json!([{"index": 0, "id": wire::id("call"), "type": "function",
                "function": {"name": tool, "arguments": input.to_string()}}])),
            "tool_calls",
        ),
    };
    let id = wire::id("chatcmpl");
    let usage = json!({"prompt_tokens": wire::INPUT_TOKENS, "completion_tokens": wire::OUTPUT_TOKENS,
        "total_tokens": wire::INPUT_TOKENS + wire::OUTPUT_TOKENS});
    let chunk = |choices: Value, usage: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": wire::now(), "model": model,
            "choices": choices, "usage": usage})
    };
    if !stream {
        let mut message = json!({"role": "assistant", "content": content});
        if let Some(calls) = calls {
            message["tool_calls"] = calls;
        }
        return Reply::json(
            200,
            json!({"id": id, "object": "chat.completion", "created": wire::now(), "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}),
        );
    }
    let mut delta = json!({"role": "assistant", "content": content});
    if let Some(calls) = calls {
        delta["tool_calls"] = calls;
    }
    let chunks = [
        chunk(json!([{"index": 0, "delta": delta, "finish_reason": null}]), Value::Null),
        chunk(json!([{"index": 0, "delta": {}, "finish_reason": finish}]), Value::Null),
        chunk(json!([]), usage),
    ];
    let mut events: Vec<String> = chunks.iter().map(|c| wire::sse_event(None, c)).collect();
    events.push("data: [DONE]\n\n".into());
    Reply::sse(events)
}

/// An OpenAI-shaped API error.
pub fn error(code: u16) -> Reply {
    let (kind, err_code) = match code {
        401 => ("invalid_request_error", "invalid_api_key"),
        429 => ("rate_limit_exceeded", "rate_limit_exceeded"),
        400..=499 => ("invalid_request_error", "invalid_request"),
        _ => ("server_error", "server_error"),
    };
    Reply::json(
        code,
        json!({"error": {"message": wire::error_message(code), "type": kind, "param": null, "code": err_code}}),
    )
}

fn tools(body: &Value, f: impl Fn(&Value) -> Option<ToolSpec>) -> Vec<ToolSpec> {
    body.get("tools")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(f).collect())
        .unwrap_or_default()
}
