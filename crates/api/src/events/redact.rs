//! Removes known secret values from text before it is stored: the user's keys and tokens by
//! exact value, plus common key shapes that slipped through (provider key prefixes, bearer
//! headers, credentials in URLs).

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// Secrets to remove by exact value. Values shorter than 6 characters are ignored: masking
/// them would shred ordinary text and they are not real secrets.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

const PREFIXES: [&str; 9] =
    ["sk-ant-", "sk-proj-", "sk-", "ghp_", "gho_", "ghs_", "github_pat_", "AIza", "dd_"];

impl Redactor {
    /// A redactor for these values.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|v| v.len() >= 6).collect();
        // Longest first, so a secret containing another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self { values }
    }

    /// Adds a value.
    pub fn add(&mut self, value: &str) {
        if value.len() >= 6 && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_owned());
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Masks secrets in place; text that holds none (nearly every line) is left untouched
    /// without being copied.
    pub fn redact_in_place(&self, text: &mut String) {
        if self.might_hold_secret(text) {
            *text = self.redact(text);
        }
    }

    /// A cheap over-approximation: false only when `redact` would return the text unchanged.
    fn might_hold_secret(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
            || PREFIXES.iter().any(|p| text.contains(p))
            || text.contains("://")
    }

    /// The text with every known secret and key-shaped token masked.
    pub fn redact(&self, text: &str) -> String {
        if !self.might_hold_secret(text) {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        mask_patterns(&out)
    }

    /// Redacts every string inside a JSON value.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.redact_in_place(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Masks key-shaped tokens (known prefixes followed by at least 16 token characters) and the
/// password part of `scheme://user:password@host`.
fn mask_patterns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for prefix in PREFIXES {
            if let Some(after) = rest.strip_prefix(prefix) {
                let boundary = out.chars().last().is_none_or(|c| !is_token_char(c));
                let len = after
                    .chars()
                    .take_while(|c| is_token_char(*c))
                    .map(char::len_utf8)
                    .sum::<usize>();
                if boundary && len >= 16 {
                    out.push_str(MASK);
                    rest = &after[len..];
                    continue 'outer;
                }
            }
        }
        if let Some(after) = rest.strip_prefix("://") {
            if let Some(at) = after.find('@') {
                let creds = &after[..at];
                if let Some((user, _)) = creds.split_once(':') {
                    if !creds.contains(['/', ' ']) {
                        out.push_str("://");
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                        rest = &after[at..];
                        continue;
                    }
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_and_patterns_are_masked() {
        let r = Redactor::new(["my-very-secret".to_owned(), "abc".to_owned()]);
        assert_eq!(r.redact("key=my-very-secret!"), "key=[REDACTED]!");
        assert_eq!(r.redact("abc stays"), "abc stays");
        assert_eq!(
            r.redact("token ghp_abcdefghijklmnopqrstuvwxyz0123 end"),
            "token [REDACTED] end"
        );
        assert_eq!(
            r.redact("https://x:hunter2hunter2@github.com/a/b"),
            "https://x:[REDACTED]@github.com/a/b"
        );
        assert_eq!(r.redact("task-sk-short"), "task-sk-short");
    }

    #[test]
    fn in_place_masks_the_same_and_leaves_clean_text_alone() {
        let r = Redactor::new(["my-very-secret".to_owned()]);
        for text in [
            "plain line of output",
            "key=my-very-secret!",
            "token ghp_abcdefghijklmnopqrstuvwxyz0123 end",
            "https://x:hunter2hunter2@github.com/a/b",
        ] {
            let mut s = text.to_owned();
            r.redact_in_place(&mut s);
            assert_eq!(s, r.redact(text));
        }
        let mut clean = "plain line of output".to_owned();
        r.redact_in_place(&mut clean);
        assert_eq!(clean, "plain line of output");
    }

    #[test]
    fn json_strings_are_masked_deeply() {
        let r = Redactor::new(["s3cr3t-value".to_owned()]);
        let mut v = serde_json::json!({"a": ["x s3cr3t-value"], "b": {"c": "s3cr3t-value"}});
        r.redact_json(&mut v);
        assert!(!v.to_string().contains("s3cr3t-value"));
    }
}
