//! Gemini API: `POST /v1beta/models/{m}:streamGenerateContent?alt=sse` and `:generateContent`.

use serde_json::{json, Value};

use crate::planner::{Conversation, Plan, ToolSpec};
use crate::wire::{self, Reply};

/// Reduces a generateContent request to a [`Conversation`]; the model comes from the path.
pub fn parse(body: &Value, model: &str) -> Conversation {
    let mut conv = Conversation { model: model.to_string(), ..Conversation::default() };
    for group in body.get("tools").and_then(Value::as_array).into_iter().flatten() {
        for decl in
            group.get("functionDeclarations").and_then(Value::as_array).into_iter().flatten()
        {
            if let Some(name) = decl.get("name").and_then(Value::as_str) {
                let schema = decl
                    .get("parametersJsonSchema")
                    .or_else(|| decl.get("parameters"))
                    .cloned()
                    .unwrap_or(json!({}));
                conv.tools.push(ToolSpec { name: name.into(), freeform: false, schema });
            }
        }
    }
    let config = body.get("generationConfig").cloned().unwrap_or(Value::Null);
    let schema = config.get("responseJsonSchema").or_else(|| config.get("responseSchema")).cloned();
    if schema.is_some() || config["responseMimeType"] == "application/json" {
        conv.json_schema = Some(schema.unwrap_or(json!({"type": "object"})));
    }
    conv.all_text.push_str(&parts_text(body.pointer("/systemInstruction/parts")));
    let contents = body.get("contents").and_then(Value::as_array).cloned().unwrap_or_default();
    conv.items = contents.len();
    let mut prompts = Vec::new();
    for content in &contents {
        let parts = content.get("parts").and_then(Value::as_array).cloned().unwrap_or_default();
        let response = parts.iter().find_map(|p| p.get("functionResponse"));
        let text = parts_text(content.get("parts"));
        conv.all_text.push('\n');
        conv.all_text.push_str(&text);
        conv.last_is_tool_result = response.is_some();
        if let Some(response) = response {
            conv.tool_result =
                Some(response.get("response").map(Value::to_string).unwrap_or_default());
        } else if content["role"] == "user" && !text.trim().is_empty() {
            prompts.push(text);
        }
    }
    wire::split_prompts(&mut conv, prompts);
    conv
}

fn parts_text(parts: Option<&Value>) -> String {
    let texts: Vec<&str> = parts
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    texts.join("\n")
}

/// Renders a plan as a Gemini response: one SSE chunk when streaming, else a JSON object.
pub fn render(plan: &Plan, model: &str, stream: bool) -> Reply {
    let part = match plan {
        Plan::Error(code) => return error(*code),
        Plan::Text(text) => json!({"text": text}),
        Plan::Json(v) => json!({"text": v.to_string()}),
        Plan::Call { tool, input, .. } => json!({"functionCall": {"name": tool, "args": input}}),
    };
    let body = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": wire::INPUT_TOKENS, "candidatesTokenCount": wire::OUTPUT_TOKENS,
            "totalTokenCount": wire::INPUT_TOKENS + wire::OUTPUT_TOKENS},
        "modelVersion": model,
        "responseId": wire::id("resp"),
    });
    if stream {
        Reply::sse(vec![wire::sse_event(None, &body)])
    } else {
        Reply::json(200, body)
    }
}

/// A Google-shaped API error.
pub fn error(code: u16) -> Reply {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    Reply::json(
        code,
        json!({"error": {"code": code, "message": wire::error_message(code), "status": status}}),
    )
}
