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

/// One agent of the catalogue, as `GET /api/v1/agents` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentInfo {
    /// The agent.
    pub id: AgentKind,
    /// Display name.
    pub name: String,
    /// Models offered for it; the first is the default.
    pub models: Vec<String>,
    /// Whose key it needs.
    pub key_provider: KeyProvider,
    /// Whether the caller has that key configured (or a fallback, such as a GitHub token for
    /// Copilot).
    pub has_key: bool,
    /// The pinned CLI version.
    pub version: String,
    /// Whether this server can run it (Cursor's CLI is not on npm).
    pub available: bool,
}

/// Admin view and update of one user's limits (`GET`/`PUT /api/v1/admin/users/{id}/limits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserLimits {
    /// Tasks and follow-ups per UTC day; `null` uses the server default.
    #[serde(default)]
    pub daily_quota: Option<u32>,
    /// Longest run in minutes; `null` uses the server default.
    #[serde(default)]
    pub max_duration_minutes: Option<u32>,
}

/// Body of `PUT /api/v1/me/keys/{provider}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutKey {
    /// The key itself; stored encrypted, never returned.
    pub value: String,
    /// Optional base URL for a gateway or proxy (LiteLLM, an AI gateway).
    #[serde(default)]
    pub base_url: Option<String>,
}

/// What the API shows of a key: never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyStatus {
    /// The provider.
    pub provider: KeyProvider,
    /// Whether a key is stored.
    pub configured: bool,
    /// The key's last 4 characters.
    pub last4: Option<String>,
    /// The base URL, if one was set.
    pub base_url: Option<String>,
    /// When the key was last set.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}
