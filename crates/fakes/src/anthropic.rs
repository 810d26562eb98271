//! Anthropic Messages API (`POST /v1/messages`), streaming and not.

use serde_json::{json, Value};

use crate::planner::{Conversation, Plan, ToolSpec};
use crate::wire::{self, Reply};

/// Reduces a Messages request to a [`Conversation`].
pub fn parse(body: &Value) -> Conversation {
    let mut conv = Conversation {
        model: wire::str_at(body, "model"),
        tools: body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| {
                        Some(ToolSpec {
                            name: t.get("name")?.as_str()?.to_string(),
                            freeform: false,
                            schema: t.get("input_schema").cloned().unwrap_or(json!({})),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ..Conversation::default()
    };
    conv.all_text.push_str(&wire::texts(body.get("system")));
    let messages = body.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    conv.items = messages.len();
    let mut prompts = Vec::new();
    for msg in &messages {
        let content = msg.get("content");
        let text = wire::texts(content);
        conv.all_text.push('\n');
        conv.all_text.push_str(&text);
        let tool_result = content
            .and_then(Value::as_array)
            .and_then(|blocks| blocks.iter().find(|b| b["type"] == "tool_result"));
        if msg["role"] == "user" {
            if let Some(result) = tool_result {
                conv.last_is_tool_result = true;
                conv.tool_result = Some(wire::texts(result.get("content")));
                continue;
            }
            if !text.trim().is_empty() {
                prompts.push(text);
            }
        } else if let Some(call) = content
            .and_then(Value::as_array)
            .and_then(|blocks| blocks.iter().rev().find(|b| b["type"] == "tool_use"))
        {
            conv.last_tool = call.get("name").and_then(Value::as_str).map(str::to_owned);
        }
        conv.last_is_tool_result = false;
    }
    wire::split_prompts(&mut conv, prompts);
    conv
}

/// Renders a plan as a Messages response.
pub fn render(plan: &Plan, model: &str, stream: bool) -> Reply {
    let id = wire::id("msg");
    let (block, stop) = match plan {
        Plan::Error(code) => return error(*code),
        Plan::Text(text) => (json!({"type": "text", "text": text}), "end_turn"),
        Plan::Json(v) => (json!({"type": "text", "text": v.to_string()}), "end_turn"),
        Plan::Call { tool, input, .. } => (
            json!({"type": "tool_use", "id": wire::id("toolu"), "name": tool, "input": input}),
            "tool_use",
        ),
    };
    let usage = json!({"input_tokens": wire::INPUT_TOKENS, "output_tokens": wire::OUTPUT_TOKENS});
    if !stream {
        return Reply::json(
            200,
            json!({"id": id, "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": usage}),
        );
    }
    let (start_block, delta) = if block["type"] == "tool_use" {
        let mut start = block.clone();
        start["input"] = json!({});
        let partial = block["input"].to_string();
        (start, json!({"type": "input_json_delta", "partial_json": partial}))
    } else {
        let text = block["text"].clone();
        (json!({"type": "text", "text": ""}), json!({"type": "text_delta", "text": text}))
    };
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": wire::INPUT_TOKENS, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
        ),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": delta})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": wire::OUTPUT_TOKENS}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    Reply::sse(events.iter().map(|(name, data)| wire::sse_event(Some(name), data)).collect())
}

/// An Anthropic-shaped API error.
pub fn error(code: u16) -> Reply {
    let kind = match code {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    };
    Reply::json(
        code,
        json!({"type": "error", "error": {"type": kind, "message": wire::error_message(code)}}),
    )
}
