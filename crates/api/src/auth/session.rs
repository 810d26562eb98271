//! Typed access to the browser session.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};
use uuid::Uuid;

use crate::error::ApiError;

/// State key of the signed-in user's id (also copied into `sessions.user_id`).
pub(crate) const USER_ID: &str = "user_id";
/// State key of the signed-in session's own id (also copied into `sessions.id`).
pub(crate) const SESSION_ID: &str = "sid";
const CSRF: &str = "csrf";
const OAUTH: &str = "oauth";

/// An OAuth sign-in that was started and awaits its callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingOAuth {
    /// Provider id.
    pub provider: String,
    /// The `state` parameter sent to the provider.
    pub state: String,
    /// PKCE verifier matching the challenge sent.
    pub pkce_verifier: String,
    /// Same-origin path to return to after sign-in.
    pub redirect: String,
    /// An invitation the sign-in may use to create the account.
    #[serde(default)]
    pub invite: Option<String>,
    /// Connect the identity to this signed-in user instead of signing in with it.
    #[serde(default)]
    pub link_user: Option<Uuid>,
}

/// The session, with typed keys.
pub struct TypedSession(Session);

impl TypedSession {
    fn err(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(anyhow::anyhow!("session: {e}"))
    }

    /// Starts a signed-in session: a new session key (so a planted one is useless), a new
    /// session id, the user, and a fresh CSRF token, which is returned.
    pub fn sign_in(&self, user_id: Uuid) -> Result<String, ApiError> {
        self.0.renew();
        self.0.remove(OAUTH);
        let csrf = crate::crypto::random_token(24);
        self.0.insert(SESSION_ID, Uuid::new_v4()).map_err(Self::err)?;
        self.0.insert(USER_ID, user_id).map_err(Self::err)?;
        self.0.insert(CSRF, &csrf).map_err(Self::err)?;
        Ok(csrf)
    }

    /// The signed-in session's id.
    pub fn session_id(&self) -> Result<Option<Uuid>, ApiError> {
        self.0.get(SESSION_ID).map_err(Self::err)
    }

    /// Ends the session: its row is deleted and the cookie cleared.
    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Result<Option<Uuid>, ApiError> {
        self.0.get(USER_ID).map_err(Self::err)
    }

    /// The session's CSRF token.
    pub fn csrf(&self) -> Result<Option<String>, ApiError> {
        self.0.get(CSRF).map_err(Self::err)
    }

    /// Records a started OAuth sign-in.
    pub fn set_pending_oauth(&self, pending: &PendingOAuth) -> Result<(), ApiError> {
        self.0.insert(OAUTH, pending).map_err(Self::err)
    }

    /// Takes the started OAuth sign-in, so a callback can be used once only.
    pub fn take_pending_oauth(&self) -> Option<PendingOAuth> {
        self.0.remove_as::<PendingOAuth>(OAUTH).and_then(Result::ok)
    }
}

impl FromRequest for TypedSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.get_session())))
    }
}
