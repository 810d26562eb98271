//! Personal API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest accepted token name.
pub const TOKEN_NAME_MAX: usize = 100;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Safe requests: `GET`, `HEAD`.
    Read,
    /// Changes: `POST`, `PUT`, `PATCH`, `DELETE`.
    Write,
    /// Creating more tokens (never with scopes or a lifetime beyond its own).
    Tokens,
}

impl TokenScope {
    /// Every scope.
    pub const ALL: [Self; 3] = [Self::Read, Self::Write, Self::Tokens];

    /// The scopes a token gets when its request names none.
    pub const DEFAULT: [Self; 2] = [Self::Read, Self::Write];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Tokens => "tokens",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Request to create a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A label to recognise the token by (1 to 100 characters).
    pub name: String,
    /// What it may do; `read` and `write` when absent.
    #[serde(default)]
    pub scopes: Option<Vec<TokenScope>>,
    /// When it stops working; never, when absent (a token minted by a token expires no later
    /// than its parent).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// Token id, used to revoke it.
    pub id: Uuid,
    /// The label.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// What it may do.
    #[serde(default)]
    pub scopes: Vec<TokenScope>,
    /// When it stops working, if ever.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A freshly created token: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The token's listing.
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, to send as `Authorization: Bearer <token>`.
    pub secret: String,
}
