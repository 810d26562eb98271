//! Small pure helpers (no browser APIs, so they are unit tested natively).

use chrono::{DateTime, Utc};
use shared::agents::KeyProvider;

/// A key provider's name for people.
pub fn provider_label(p: KeyProvider) -> &'static str {
    match p {
        KeyProvider::Anthropic => "Anthropic",
        KeyProvider::Openai => "OpenAI",
        KeyProvider::Gemini => "Google Gemini",
        KeyProvider::Cursor => "Cursor",
        KeyProvider::GithubCopilot => "GitHub Copilot",
    }
}

/// Percent-encodes a URL query value or path segment (RFC 3986 unreserved characters kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a post-login redirect target is a same-origin path (never `//host` or a URL).
pub fn is_safe_redirect(target: &str) -> bool {
    target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\")
}

/// "just now", "5m ago", "3h ago", "2d ago", relative to `now_ms` (milliseconds since epoch).
pub fn relative_time(at: DateTime<Utc>, now_ms: f64) -> String {
    // Float to int: the clock is far inside i64 range; sub-second precision is irrelevant.
    #[allow(clippy::cast_possible_truncation)]
    let secs = ((now_ms as i64) - at.timestamp_millis()) / 1000;
    match secs {
        s if s < 45 => "just now".to_owned(),
        s if s < 3600 => format!("{}m ago", (s + 30) / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// The current time in milliseconds since the epoch (the browser clock; `chrono::Utc::now`
/// panics on wasm32 without its `wasmbind` feature).
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or_default()
    }
}

/// Shortens text to `max` characters with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    let first_line = s.lines().next().unwrap_or_default();
    if first_line.chars().count() <= max && first_line.len() == s.trim_end().len() {
        return first_line.to_owned();
    }
    let cut: String = first_line.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

/// `owner/repo` from a git URL, for compact display.
pub fn repo_label(url: &str) -> String {
    let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
    let parts: Vec<&str> = trimmed.rsplit(['/', ':']).take(2).collect();
    match parts.as_slice() {
        [repo, owner] if !owner.is_empty() => format!("{owner}/{repo}"),
        _ => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(encode_component("src/a b.rs"), "src%2Fa%20b.rs");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn only_same_origin_paths_are_safe_redirects() {
        assert!(is_safe_redirect("/tasks/1"));
        assert!(!is_safe_redirect("//evil.example"));
        assert!(!is_safe_redirect("https://evil.example"));
        assert!(!is_safe_redirect("/\\evil.example"));
    }

    #[test]
    fn relative_times() {
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let base = 1_000_000_000.0;
        assert_eq!(relative_time(at, base + 10_000.0), "just now");
        assert_eq!(relative_time(at, base + 300_000.0), "5m ago");
        assert_eq!(relative_time(at, base + 7_200_000.0), "2h ago");
    }

    #[test]
    fn labels_and_truncation() {
        assert_eq!(repo_label("https://github.com/acme/app.git"), "acme/app");
        assert_eq!(repo_label("git@github.com:acme/app"), "acme/app");
        assert_eq!(truncate("hello world", 5), "hello…");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a\nb", 10), "a…");
    }
}
