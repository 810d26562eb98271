//! The authentication extractors.

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use shared::tokens::TokenScope;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::session::TypedSession;
use crate::accounts::{model as users, User};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens::model as tokens;

/// Header carrying the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVia {
    /// A personal API token.
    Token {
        /// The token's id.
        token_id: Uuid,
        /// What it may do.
        scopes: Vec<TokenScope>,
        /// When it stops working, if ever.
        expires_at: Option<DateTime<Utc>>,
    },
    /// The session cookie; carries the session's CSRF token.
    Session {
        /// The CSRF token to echo on unsafe requests.
        csrf: String,
        /// The signed-in session's id (see [`still_valid`]).
        session_id: Uuid,
    },
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// User id.
    pub id: Uuid,
    /// The user row.
    pub user: User,
    /// How they authenticated.
    pub via: AuthVia,
}

impl CurrentUser {
    /// Whether the caller may use `scope`: a session may do everything its user may, a token
    /// what its scopes say.
    pub fn may(&self, scope: TokenScope) -> bool {
        match &self.via {
            AuthVia::Session { .. } => true,
            AuthVia::Token { scopes, .. } => scopes.contains(&scope),
        }
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The scope a token needs for this request: `read` for safe methods, `write` for changes,
/// except minting a token, which is what `tokens` is for.
fn scope_needed(req: &HttpRequest) -> TokenScope {
    if req.method() == Method::POST && req.match_pattern().as_deref() == Some(MINT_ROUTE) {
        TokenScope::Tokens
    } else if is_unsafe(req.method()) {
        TokenScope::Write
    } else {
        TokenScope::Read
    }
}

/// The route of `POST` token creation (see [`crate::tokens::endpoints`]).
const MINT_ROUTE: &str = "/api/v1/me/tokens";

async fn authenticate(req: HttpRequest) -> Result<CurrentUser, ApiError> {
    let user = authenticate_request(&req).await?;
    if is_unsafe(req.method()) {
        // Whatever this request changes, its client's next read must see.
        req.extensions_mut().insert(crate::tasks::cache::Wrote(user.id));
    }
    Ok(user)
}

async fn authenticate_request(req: &HttpRequest) -> Result<CurrentUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
    // Taken only when the cache cannot answer, and then once for the token and the user.
    let mut conn = None;
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let found = bearer(state, &mut conn, token).await?.ok_or(ApiError::Unauthorized)?;
        let user =
            active_user(state, &mut conn, found.user_id).await?.ok_or(ApiError::Unauthorized)?;
        let needed = scope_needed(req);
        if !found.scopes.contains(&needed) {
            return Err(ApiError::Forbidden(format!(
                "This token lacks the `{}` scope this request needs.",
                needed.as_str()
            )));
        }
        let via = AuthVia::Token {
            token_id: found.token_id,
            scopes: found.scopes,
            expires_at: found.expires_at,
        };
        return Ok(CurrentUser { id: user.id, user, via });
    }
    let session = TypedSession::extract(req).await?;
    let user_id = session.user_id()?.ok_or(ApiError::Unauthorized)?;
    let csrf = session.csrf()?.ok_or(ApiError::Unauthorized)?;
    let session_id = session.session_id()?.ok_or(ApiError::Unauthorized)?;
    if is_unsafe(req.method()) {
        let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !bool::from(sent.ct_eq(csrf.as_bytes())) {
            return Err(ApiError::Forbidden(format!(
                "Missing or wrong {CSRF_HEADER} header: cookie-authenticated changes must echo the csrf_token from GET /api/v1/me."
            )));
        }
    }
    let Some(user) = active_user(state, &mut conn, user_id).await? else {
        session.sign_out();
        return Err(ApiError::Unauthorized);
    };
    Ok(CurrentUser { id: user.id, user, via: AuthVia::Session { csrf, session_id } })
}

async fn connection<'a>(
    state: &AppState,
    slot: &'a mut Option<crate::db::Conn>,
) -> Result<&'a mut crate::db::Conn, ApiError> {
    if slot.is_none() {
        *slot = Some(state.conn().await?);
    }
    slot.as_mut().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no connection")))
}

/// The live token behind `secret`, from the cache or the database. Its use is recorded at most
/// once a minute per process, after the response rather than before it.
async fn bearer(
    state: &AppState,
    conn: &mut Option<crate::db::Conn>,
    secret: &str,
) -> Result<Option<tokens::Authenticated>, ApiError> {
    let hash = crate::crypto::token_hash(secret);
    if let Some(entry) = state.auth.token(&hash) {
        let now = Utc::now();
        if now - entry.recorded_use > chrono::Duration::minutes(1) {
            state.auth.recorded_use(&hash, now);
            let pool = state.pool.clone();
            let id = entry.token.token_id;
            actix_web::rt::spawn(async move {
                if let Ok(mut conn) = pool.get().await {
                    if let Err(e) = tokens::record_use(&mut conn, id).await {
                        tracing::warn!(token_id = %id, error = %e, "recording a token's use failed");
                    }
                }
            });
        }
        return Ok(Some(entry.token));
    }
    let generation = state.auth.generation();
    let found = tokens::authenticate(connection(state, conn).await?, secret).await?;
    if let Some(token) = &found {
        let entry = super::cache::TokenEntry { token: token.clone(), recorded_use: Utc::now() };
        state.auth.put_token(generation, hash, entry);
    }
    Ok(found)
}

/// The user, from the cache or the database, unless disabled.
async fn active_user(
    state: &AppState,
    conn: &mut Option<crate::db::Conn>,
    id: Uuid,
) -> Result<Option<User>, ApiError> {
    let user = match state.auth.user(id) {
        Some(user) => Some(user),
        None => {
            let generation = state.auth.generation();
            let user = users::find(connection(state, conn).await?, id).await?;
            if let Some(user) = &user {
                state.auth.put_user(generation, user.clone());
            }
            user
        }
    };
    Ok(user.filter(User::is_active))
}

/// Whether what authenticated `user` still does: the session is not signed out, idle or too
/// old, the token is not revoked or expired, and the account is not disabled. A long-lived
/// response (the event stream) calls this every so often and ends when it turns false; a
/// database error counts as still valid, so a blip does not cut every stream.
pub async fn still_valid(state: &AppState, user: &CurrentUser) -> bool {
    let Ok(mut conn) = state.conn().await else { return true };
    let lifetime = chrono::Duration::hours(state.settings.session_ttl_hours);
    check_still_valid(&mut conn, lifetime, user).await.unwrap_or(true)
}

/// [`still_valid`] on a connection, with sessions living at most `session_lifetime`.
pub async fn check_still_valid(
    conn: &mut diesel_async::AsyncPgConnection,
    session_lifetime: chrono::Duration,
    user: &CurrentUser,
) -> diesel::QueryResult<bool> {
    let live = match &user.via {
        AuthVia::Token { expires_at: Some(t), .. } if *t <= Utc::now() => false,
        AuthVia::Token { token_id, .. } => tokens::is_live(conn, *token_id).await?,
        AuthVia::Session { session_id, .. } => {
            super::session_store::is_live(conn, *session_id, session_lifetime).await?
        }
    };
    Ok(live && users::find(conn, user.id).await?.is_some_and(|u| u.is_active()))
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// An authenticated administrator; others get 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = authenticate(req).await?;
            if !user.user.is_admin {
                return Err(ApiError::Forbidden("This needs an administrator.".into()));
            }
            Ok(Self(user))
        })
    }
}
