//! Generated task titles (and the branch names derived from them) and commit messages.
//!
//! One short call to a small model, always through the **task owner's own key** (Anthropic
//! Messages, OpenAI Chat Completions or Gemini `generateContent`, honouring the key's
//! `base_url`), never a server-wide key or another user's. Every failure — no suitable key, a
//! timeout, an HTTP error, an empty or odd answer — yields `None`, and the caller uses the
//! deterministic fallback (the prompt, shortened).

use std::time::Duration;

use serde_json::{json, Value};
use shared::agents::KeyProvider;
use uuid::Uuid;

use crate::db::DbPool;
use crate::keys::opened::OpenedKey;

/// Longest generated title.
pub const TITLE_MAX_CHARS: usize = 60;
/// Longest commit subject.
pub const SUBJECT_MAX_CHARS: usize = 72;

/// Longest part of the prompt sent to the model.
const PROMPT_CHARS: usize = 2000;

const TITLE_SYSTEM: &str = "You write short titles for coding tasks. Answer with the title only: \
at most 60 characters, sentence case, no quotes, no trailing period.";

const COMMIT_SYSTEM: &str = "You write git commit subject lines. Answer with the subject only: \
at most 72 characters, imperative mood (\"Add\", \"Fix\"), sentence case, no quotes, no trailing period.";

/// The small model used per provider.
fn model_for(provider: KeyProvider) -> &'static str {
    match provider {
        KeyProvider::Anthropic => "claude-haiku-4-5",
        KeyProvider::Gemini => "gemini-2.5-flash-lite",
        _ => "gpt-5-nano",
    }
}

/// Makes generation calls for one task owner, with the keys loaded for their run.
#[derive(Clone)]
pub struct Namer {
    keys: Vec<OpenedKey>,
    outbound: crate::outbound::Outbound,
    timeout: Duration,
    enabled: bool,
}

/// What a generation call produced, for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// The model's answer, cleaned.
    Text {
        /// The text.
        text: String,
        /// The provider whose key was used.
        provider: KeyProvider,
    },
    /// Why the fallback is used.
    Fallback(String),
}

impl Namer {
    /// A namer over the owner's opened keys; `enabled = false` always falls back. Calls go
    /// only to public addresses, or to the exact `host:port` entries of `egress_allow` (a key's
    /// base URL is the user's to choose).
    pub fn new(
        keys: Vec<OpenedKey>,
        egress_allow: &[String],
        timeout: Duration,
        enabled: bool,
    ) -> Self {
        let outbound = crate::outbound::Outbound::new(egress_allow, timeout);
        Self { keys, outbound, timeout, enabled }
    }

    /// A title for a task from its prompt.
    pub async fn title(&self, preferred: KeyProvider, prompt: &str) -> Generated {
        let input = format!("Task:\n{}", clip(prompt, PROMPT_CHARS));
        match self.generate(preferred, TITLE_SYSTEM, &input).await {
            Ok((raw, provider)) => match clean_line(&raw, TITLE_MAX_CHARS) {
                Some(text) => Generated::Text { text, provider },
                None => Generated::Fallback("the model's answer was empty".into()),
            },
            Err(reason) => Generated::Fallback(reason),
        }
    }

    /// A commit subject for one run: its prompt, the task title and what the agent said.
    pub async fn commit_subject(
        &self,
        preferred: KeyProvider,
        title: &str,
        prompt: &str,
        agent_message: Option<&str>,
        files: &[String],
    ) -> Generated {
        let mut input =
            format!("Task title: {title}\n\nRequest:\n{}\n", clip(prompt, PROMPT_CHARS));
        if !files.is_empty() {
            input.push_str(&format!("\nChanged files:\n{}\n", clip(&files.join("\n"), 1000)));
        }
        if let Some(message) = agent_message.filter(|m| !m.trim().is_empty()) {
            input.push_str(&format!("\nThe agent's summary:\n{}\n", clip(message, 1000)));
        }
        match self.generate(preferred, COMMIT_SYSTEM, &input).await {
            Ok((raw, provider)) => match clean_line(&raw, SUBJECT_MAX_CHARS) {
                Some(text) => Generated::Text { text, provider },
                None => Generated::Fallback("the model's answer was empty".into()),
            },
            Err(reason) => Generated::Fallback(reason),
        }
    }

    async fn generate(
        &self,
        preferred: KeyProvider,
        system: &str,
        input: &str,
    ) -> Result<(String, KeyProvider), String> {
        if !self.enabled {
            return Err("generation is turned off (tasks.generate_names)".into());
        }
        let key = self.key(preferred)?;
        let call = self.call(key, system, input);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(text)) => Ok((text, key.provider)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!(
                "the {} API did not answer within {} ms",
                key.provider.as_str(),
                self.timeout.as_millis()
            )),
        }
    }

    /// The owner's key to use: the agent's own provider first, then any other they have.
    fn key(&self, preferred: KeyProvider) -> Result<&OpenedKey, String> {
        let order = [preferred, KeyProvider::Anthropic, KeyProvider::Openai, KeyProvider::Gemini];
        order
            .into_iter()
            .filter(|p| {
                matches!(p, KeyProvider::Anthropic | KeyProvider::Openai | KeyProvider::Gemini)
            })
            .find_map(|p| self.keys.iter().find(|k| k.provider == p))
            .ok_or_else(|| "no Anthropic, OpenAI or Gemini key".into())
    }

    async fn call(&self, key: &OpenedKey, system: &str, input: &str) -> Result<String, String> {
        let model = model_for(key.provider);
        let base = key.base_url.as_deref().map(|u| u.trim_end_matches('/').to_owned());
        let provider = key.provider.as_str();
        let url = match key.provider {
            KeyProvider::Anthropic => {
                format!("{}/v1/messages", base.as_deref().unwrap_or("https://api.anthropic.com"))
            }
            KeyProvider::Gemini => format!(
                "{}/v1beta/models/{model}:generateContent",
                base.as_deref().unwrap_or("https://generativelanguage.googleapis.com")
            ),
            _ => format!(
                "{}/chat/completions",
                base.as_deref().unwrap_or("https://api.openai.com/v1")
            ),
        };
        let http =
            self.outbound.client_for(&url).map_err(|e| format!("the {provider} API: {e}"))?;
        let request = match key.provider {
            KeyProvider::Anthropic => {
                http.post(&url)
                    .header("x-api-key", key.value.expose())
                    .header("anthropic-version", "2023-06-01")
                    .json(&json!({
                        "model": model, "max_tokens": 100, "system": system,
                        "messages": [{"role": "user", "content": input}],
                    }))
            }
            KeyProvider::Gemini => {
                http.post(&url)
                    .header("x-goog-api-key", key.value.expose())
                    .json(&json!({
                        "systemInstruction": {"parts": [{"text": system}]},
                        "contents": [{"role": "user", "parts": [{"text": input}]}],
                        "generationConfig": {"maxOutputTokens": 100},
                    }))
            }
            _ => {
                http.post(&url).bearer_auth(key.value.expose()).json(&json!({
                    "model": model,
                    "messages": [{"role": "system", "content": system}, {"role": "user", "content": input}],
                    "max_completion_tokens": 400,
                    "reasoning_effort": "minimal",
                }))
            }
        };
        // Error texts never include the response body or the request: either could echo the key.
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("the {provider} API timed out")
            } else {
                format!("the {provider} API is unreachable")
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the {provider} API answered HTTP {}", status.as_u16()));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|_| format!("the {provider} API answered something other than JSON"))?;
        let text = match key.provider {
            KeyProvider::Anthropic => body["content"].as_array().map(|blocks| {
                blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("")
            }),
            KeyProvider::Gemini => {
                body.pointer("/candidates/0/content/parts").and_then(Value::as_array).map(|parts| {
                    parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("")
                })
            }
            _ => body
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        text.filter(|t| !t.trim().is_empty())
            .ok_or_else(|| format!("the {provider} API answered no text"))
    }
}

/// The deterministic title, used when no title is generated: the prompt's first line,
/// shortened to 80 characters.
pub fn fallback_title(prompt: &str) -> String {
    let line = prompt.trim().lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
}

/// Records a generated title.
pub async fn set_title(pool: &DbPool, task_id: Uuid, title: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::db::schema::tasks;
    let Ok(mut conn) = pool.get().await else { return };
    let result = diesel::update(tasks::table.find(task_id))
        .set((tasks::title.eq(title), tasks::updated_at.eq(diesel::dsl::now)))
        .execute(&mut conn)
        .await;
    if let Err(e) = result {
        tracing::warn!(%task_id, error = %e, "recording the generated title failed");
    }
}

/// Cuts `text` to at most `max` characters.
fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// The first meaningful line of a model's answer, without quotes, markdown or a `Title:`
/// prefix, whitespace collapsed, at most `max` characters (cut on a word boundary).
pub fn clean_line(raw: &str, max: usize) -> Option<String> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("```"))?;
    let mut line = line.trim_start_matches(['#', '*', '-', '>', ' ']).trim();
    for prefix in ["title:", "subject:", "commit message:", "commit:"] {
        if line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix) {
            line = line[prefix.len()..].trim();
        }
    }
    let line = line.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | '*' | '“' | '”')).trim();
    let line = line.strip_suffix('.').unwrap_or(line);
    let words: Vec<&str> = line.split_whitespace().collect();
    let collapsed = words.join(" ");
    let collapsed: String = collapsed.chars().filter(|c| !c.is_control()).collect();
    if collapsed.is_empty() {
        return None;
    }
    if collapsed.chars().count() <= max {
        return Some(upper_first(&collapsed));
    }
    let mut out = String::new();
    for word in &words {
        let next = if out.is_empty() { (*word).to_owned() } else { format!("{out} {word}") };
        if next.chars().count() > max.saturating_sub(1) {
            break;
        }
        out = next;
    }
    if out.is_empty() {
        out = collapsed.chars().take(max.saturating_sub(1)).collect();
    }
    out.push('…');
    Some(upper_first(&out))
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::clean_line;

    #[test]
    fn cleans_model_answers() {
        assert_eq!(
            clean_line("\"Add a greeting file.\"\n", 60).as_deref(),
            Some("Add a greeting file")
        );
        assert_eq!(clean_line("Title: fix login bug", 60).as_deref(), Some("Fix login bug"));
        assert_eq!(
            clean_line("```\n## **Refactor   the parser**\n```", 60).as_deref(),
            Some("Refactor the parser")
        );
        assert_eq!(clean_line("  \n ", 60), None);
        let long = clean_line(&"word ".repeat(40), 20).unwrap();
        assert!(long.chars().count() <= 20, "{long}");
        assert!(long.ends_with('…'));
    }
}
