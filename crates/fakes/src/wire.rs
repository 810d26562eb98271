//! Helpers shared by the wire formats: replies, SSE framing, ids, text extraction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::planner::Conversation;

/// Input tokens reported for every call.
pub const INPUT_TOKENS: u64 = 100;
/// Output tokens reported for every call.
pub const OUTPUT_TOKENS: u64 = 10;

/// A rendered HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, content_type: "application/json", body: body.to_string() }
    }

    /// A Server-Sent Events answer made of already framed events.
    pub fn sse(events: Vec<String>) -> Self {
        Self { status: 200, content_type: "text/event-stream", body: events.concat() }
    }
}

/// One SSE event, optionally named.
pub fn sse_event(name: Option<&str>, data: &Value) -> String {
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// A unique id with a prefix, like the providers' own (`msg_…`, `call_…`).
pub fn id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{:08x}{nanos:08x}{n:04x}", std::process::id())
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A string field, or empty.
pub fn str_at(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// All text in a content value: a string, or an array of blocks with `text` fields.
pub fn texts(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => {
            let parts: Vec<String> = blocks
                .iter()
                .filter_map(|b| match b {
                    Value::String(s) => Some(s.clone()),
                    _ => b.get("text").and_then(Value::as_str).map(str::to_string),
                })
                .collect();
            parts.join("\n")
        }
        _ => String::new(),
    }
}

/// Sets the latest prompt and the earlier ones from the prompts in request order.
pub fn split_prompts(conv: &mut Conversation, mut prompts: Vec<String>) {
    conv.prompt = prompts.pop().unwrap_or_default();
    conv.earlier_prompts = prompts;
}

/// The message of a scripted API error.
pub fn error_message(code: u16) -> String {
    match code {
        401 => "fake: invalid x-api-key (scripted 401)".into(),
        429 => "fake: rate limit exceeded (scripted 429)".into(),
        500 => "fake: internal server error (scripted 500)".into(),
        _ => format!("fake: scripted error {code}"),
    }
}
