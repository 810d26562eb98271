//! The authentication extractors.

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
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
    Token,
    /// The session cookie; carries the session's CSRF token.
    Session {
        /// The CSRF token to echo on unsafe requests.
        csrf: String,
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

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn authenticate(req: HttpRequest) -> Result<CurrentUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let mut conn = state.conn().await?;
        let user_id =
            tokens::authenticate(&mut conn, token).await?.ok_or(ApiError::Unauthorized)?;
        let user = users::find(&mut conn, user_id).await?.ok_or(ApiError::Unauthorized)?;
        return Ok(CurrentUser { id: user.id, user, via: AuthVia::Token });
    }
    let session = TypedSession::extract(&req).await?;
    let user_id = session.user_id()?.ok_or(ApiError::Unauthorized)?;
    let csrf = session.csrf()?.ok_or(ApiError::Unauthorized)?;
    if is_unsafe(req.method()) {
        let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !bool::from(sent.ct_eq(csrf.as_bytes())) {
            return Err(ApiError::Forbidden(format!(
                "Missing or wrong {CSRF_HEADER} header: cookie-authenticated changes must echo the csrf_token from GET /api/v1/me."
            )));
        }
    }
    let mut conn = state.conn().await?;
    let Some(user) = users::find(&mut conn, user_id).await? else {
        session.sign_out();
        return Err(ApiError::Unauthorized);
    };
    Ok(CurrentUser { id: user.id, user, via: AuthVia::Session { csrf } })
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
