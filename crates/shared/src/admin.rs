//! Administration: the users of this server and invitations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user as an administrator sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagedUser {
    /// User id.
    pub id: Uuid,
    /// Unique username.
    pub username: String,
    /// Display name, where known.
    #[serde(default)]
    pub name: Option<String>,
    /// Email, where known.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the user may use the admin endpoints.
    pub is_admin: bool,
    /// How the user signs in: `local`, `github` or a configured provider id.
    pub auth_provider: String,
    /// Whether an administrator has disabled the account (no sign-in, no sessions, no tokens).
    pub disabled: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// Changes an administrator makes to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Grant or remove administration.
    #[serde(default)]
    pub is_admin: Option<bool>,
    /// Disable (ending every session and refusing every token at once) or re-enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Request for a one-time invitation link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Whether the account made with it is an administrator.
    #[serde(default)]
    pub is_admin: bool,
}

/// An invitation, as listed: never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// Invitation id.
    pub id: Uuid,
    /// Whether the account made with it is an administrator.
    pub is_admin: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used (it works once).
    #[serde(default)]
    pub used_at: Option<DateTime<Utc>>,
    /// Who used it.
    #[serde(default)]
    pub used_by: Option<Uuid>,
}

/// A fresh invitation: the only time its link is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvite {
    /// The invitation.
    #[serde(flatten)]
    pub invite: Invite,
    /// The one-time token.
    pub token: String,
    /// The link to hand to the invitee: the web app's `/invite?token=...` page.
    pub url: String,
}
