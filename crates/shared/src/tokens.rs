//! Personal API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest accepted token name.
pub const TOKEN_NAME_MAX: usize = 100;

/// Request to create a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A label to recognise the token by (1 to 100 characters).
    pub name: String,
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
