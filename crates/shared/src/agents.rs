//! The catalogue of agents and the key providers they need.

use serde::{Deserialize, Serialize};

/// An agent CLI Drydock can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Claude Code (`@anthropic-ai/claude-code`).
    Claude,
    /// OpenAI Codex CLI (`@openai/codex`).
    Codex,
    /// GitHub Copilot CLI (`@github/copilot`).
    Copilot,
    /// Cursor CLI (`cursor-agent`, not on npm).
    Cursor,
    /// Gemini CLI (`@google/gemini-cli`).
    Gemini,
    /// opencode (`opencode-ai`).
    Opencode,
    /// Qwen Code (`@qwen-code/qwen-code`).
    Qwen,
}

impl AgentKind {
    /// All agents, in display order.
    pub const ALL: [Self; 7] = [
        Self::Claude,
        Self::Codex,
        Self::Copilot,
        Self::Cursor,
        Self::Gemini,
        Self::Opencode,
        Self::Qwen,
    ];

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claude => "claude",
            Self::Codex => "codex",
            Self::Copilot => "copilot",
            Self::Cursor => "cursor",
            Self::Gemini => "gemini",
            Self::Opencode => "opencode",
            Self::Qwen => "qwen",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Whose API key an agent needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum KeyProvider {
    /// Anthropic (Claude).
    Anthropic,
    /// OpenAI.
    Openai,
    /// Google Gemini.
    Gemini,
    /// Cursor.
    Cursor,
    /// GitHub Copilot (falls back to the user's GitHub token).
    GithubCopilot,
}

impl KeyProvider {
    /// All providers.
    pub const ALL: [Self; 5] =
        [Self::Anthropic, Self::Openai, Self::Gemini, Self::Cursor, Self::GithubCopilot];

    /// The kebab-case name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::Openai => "openai",
            Self::Gemini => "gemini",
            Self::Cursor => "cursor",
            Self::GithubCopilot => "github-copilot",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}
