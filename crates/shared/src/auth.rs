//! Sign-in methods, the current user and local accounts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which ways of signing in this server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthMethods {
    /// Whether the username/password form is enabled.
    pub local: bool,
    /// Whether no user exists yet and the one-time setup link is waiting to be used.
    pub setup_required: bool,
    /// OAuth providers, in display order.
    pub providers: Vec<AuthProvider>,
}

/// An OAuth2/OIDC provider a user can sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthProvider {
    /// Stable identifier used in URLs (`github`, `vercel`, ...).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Path that starts the sign-in redirect.
    pub login_url: String,
}

/// Username and password for a local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocalLogin {
    /// The account name.
    pub username: String,
    /// The account password.
    pub password: String,
}

/// Creates the first administrator with the one-time setup token printed by `drydock serve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The token from the setup link.
    pub setup_token: String,
    /// The administrator's name.
    pub username: String,
    /// The administrator's password (at least 8 characters).
    pub password: String,
}

/// Creates an account with a one-time invitation and signs it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    /// The token from the invitation link.
    pub invite_token: String,
    /// The new account's name.
    pub username: String,
    /// Its password (at least 8 characters).
    pub password: String,
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// User id.
    pub id: Uuid,
    /// Unique username.
    pub username: String,
    /// Display name, where the provider gave one.
    #[serde(default)]
    pub name: Option<String>,
    /// Email, where known.
    #[serde(default)]
    pub email: Option<String>,
    /// Avatar image URL, where known.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Whether the user may use the admin endpoints.
    pub is_admin: bool,
    /// How the user signs in: `local`, `github` or a configured provider id.
    pub auth_provider: String,
    /// Whether a GitHub token is on file for repository access.
    pub github_connected: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// Token to send as `X-CSRF-Token` on unsafe requests authenticated by the session cookie.
    /// Absent when the request was authenticated with a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// Why a provider sign-in failed: the `error` of the web app's `/sign-in?error=<reason>`, where
/// the API's OAuth callback sends the browser after every failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// The person declined consent at the provider.
    AccessDenied,
    /// The provider answered with another error (a misconfigured or suspended application).
    ProviderError,
    /// The callback's state matched no sign-in started in this browser (expired, another tab,
    /// or a forged callback).
    StateMismatch,
    /// Trading the provider's code for a token failed.
    TokenExchangeFailed,
    /// Reading the person's profile from the provider failed.
    ProfileFailed,
    /// The account exists and is disabled.
    AccountDisabled,
    /// The server takes no new accounts and nothing admitted this one.
    RegistrationClosed,
    /// The invitation brought along is invalid, expired or used.
    InviteInvalid,
    /// Connecting an identity: it is another account's here.
    IdentityInUse,
    /// Connecting an identity: the account has another one of that provider connected.
    OtherIdentityLinked,
}

impl SignInFailure {
    /// Every reason.
    pub const ALL: [Self; 10] = [
        Self::AccessDenied,
        Self::ProviderError,
        Self::StateMismatch,
        Self::TokenExchangeFailed,
        Self::ProfileFailed,
        Self::AccountDisabled,
        Self::RegistrationClosed,
        Self::InviteInvalid,
        Self::IdentityInUse,
        Self::OtherIdentityLinked,
    ];

    /// The reason as it appears in the URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::ProviderError => "provider_error",
            Self::StateMismatch => "state_mismatch",
            Self::TokenExchangeFailed => "token_exchange_failed",
            Self::ProfileFailed => "profile_failed",
            Self::AccountDisabled => "account_disabled",
            Self::RegistrationClosed => "registration_closed",
            Self::InviteInvalid => "invite_invalid",
            Self::IdentityInUse => "identity_in_use",
            Self::OtherIdentityLinked => "other_identity_linked",
        }
    }

    /// Parses the reason from the URL.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}
