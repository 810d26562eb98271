//! Sign-in methods, local login, first-run setup, logout and `/me`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::auth::{AcceptInvite, AuthMethods, AuthProvider, LocalLogin, Me, SetupRequest};
use utoipa::IntoParams;
use uuid::Uuid;

use super::current_user::AuthVia;
use super::providers;
use super::session::TypedSession;
use super::setup;
use crate::accounts::model::{self as users, NewUser};
use crate::accounts::{password, User};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::throttle::Action;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(auth_methods)
        .service(local_login)
        .service(first_setup)
        .service(accept_invite)
        .service(logout)
        .service(get_me)
        .service(disconnect_identity);
}

async fn me(state: &AppState, user: &User, csrf: Option<String>) -> ApiResult<Me> {
    let github_connected = match state.auth.github_connected(user.id) {
        Some(connected) => connected,
        None => {
            // Linking or unlinking an identity is announced like a change of the user.
            let generation = state.auth.generation();
            let mut conn = state.conn().await?;
            let github = users::identity(&mut conn, user.id, "github").await?;
            let connected = github.is_some_and(|g| g.access_token_enc.is_some());
            state.auth.put_github_connected(generation, user.id, connected);
            connected
        }
    };
    Ok(Me {
        id: user.id,
        username: user.username.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        avatar_url: user.avatar_url.clone(),
        is_admin: user.is_admin,
        auth_provider: user.auth_provider.clone(),
        github_connected,
        created_at: user.created_at,
        csrf_token: csrf,
    })
}

/// How one can sign in here.
#[utoipa::path(tag = "auth", operation_id = "get_auth_methods", responses((status = 200, body = AuthMethods)))]
#[get("/auth/methods")]
async fn auth_methods(state: web::Data<AppState>) -> ApiResult<web::Json<AuthMethods>> {
    let providers = providers::enabled(&state.settings)
        .map_err(ApiError::Internal)?
        .into_iter()
        .map(|p| AuthProvider {
            login_url: format!("/api/v1/auth/{}/login", p.id),
            id: p.id,
            name: p.name,
        })
        .collect();
    let mut conn = state.conn().await?;
    Ok(web::Json(AuthMethods {
        local: state.settings.local_auth,
        setup_required: state.settings.local_auth && setup::pending(&mut conn).await?,
        providers,
    }))
}

/// The caller's address, as far as it can be trusted (see [`crate::proxy`]).
fn client_ip(state: &AppState, req: &HttpRequest) -> Option<std::net::IpAddr> {
    crate::proxy::client_ip(req, state.settings.trust_proxy)
}

/// Signs in with a local username and password. Attempts are throttled per client address
/// and per username (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth", operation_id = "login_local", request_body = LocalLogin,
    responses((status = 200, body = Me), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 429, body = shared::Problem))
)]
#[post("/auth/login")]
async fn local_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    body: web::Json<LocalLogin>,
) -> ApiResult<web::Json<Me>> {
    if !state.settings.local_auth {
        return Err(ApiError::NotFound);
    }
    let LocalLogin { username, password } = body.into_inner();
    state.throttle.check(Action::SignIn, client_ip(&state, &req), Some(&username))?;
    let mut conn = state.conn().await?;
    let user = users::find_by_username(&mut conn, &username).await?;
    drop(conn);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // Same answer, and about the same time, whether the user or the password was wrong, or
    // the account is disabled.
    let ok = password::verify(password, stored).await;
    let Some(user) = user.filter(|u| ok && u.is_active()) else {
        // No username in the log: a mistyped password is often someone's real one.
        tracing::info!("local sign-in refused");
        return Err(ApiError::Unauthorized);
    };
    let csrf = session.sign_in(user.id)?;
    tracing::info!(user_id = %user.id, "signed in locally");
    Ok(web::Json(me(&state, &user, Some(csrf)).await?))
}

/// Field errors of a new local account's username and password.
fn check_new_account(username: &str, password: &str) -> ApiResult<()> {
    let mut errors = std::collections::BTreeMap::new();
    if let Some(reason) = password::username_problem(username) {
        errors.insert("username".to_owned(), vec![reason]);
    }
    if let Some(reason) = password::weakness(password) {
        errors.insert("password".to_owned(), vec![reason]);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A taken username, as the field error it is.
fn username_taken(err: diesel::result::Error) -> ApiError {
    match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ApiError::invalid("username", "is taken"),
        other => other.into(),
    }
}

fn setup_refused() -> ApiError {
    ApiError::Forbidden("The setup link is invalid or was already used.".into())
}

fn invite_refused() -> ApiError {
    ApiError::Forbidden("The invitation is invalid, expired or was already used.".into())
}

/// Creates the first administrator with the one-time setup token and signs them in. Attempts
/// are throttled per client address.
#[utoipa::path(
    tag = "auth", operation_id = "complete_setup", request_body = SetupRequest,
    responses((status = 201, body = Me), (status = 400, body = shared::Problem), (status = 403, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem))
)]
#[post("/auth/setup")]
async fn first_setup(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    body: web::Json<SetupRequest>,
) -> ApiResult<HttpResponse> {
    let SetupRequest { setup_token, username, password } = body.into_inner();
    state.throttle.check(Action::SignIn, client_ip(&state, &req), None)?;
    check_new_account(&username, &password)?;
    let mut conn = state.conn().await?;
    if !setup::is_usable(&mut conn, &setup_token).await? {
        return Err(setup_refused());
    }
    drop(conn);
    let hash = password::hash(password).await?;
    let mut conn = state.conn().await?;
    let created = setup::consume(&mut conn, &setup_token, move |conn| {
        Box::pin(async move {
            users::insert(
                conn,
                NewUser {
                    id: Uuid::new_v4(),
                    username: &username,
                    name: None,
                    email: None,
                    avatar_url: None,
                    password_hash: Some(&hash),
                    is_admin: true,
                    auth_provider: "local",
                },
            )
            .await
        })
    })
    .await
    .map_err(username_taken)?;
    let Some(user) = created else { return Err(setup_refused()) };
    let csrf = session.sign_in(user.id)?;
    tracing::info!(user_id = %user.id, "first administrator created");
    Ok(HttpResponse::Created().json(me(&state, &user, Some(csrf)).await?))
}

/// Creates a local account with a one-time invitation and signs it in. The invitation is used
/// up only when the account is made. Attempts are throttled per client address.
#[utoipa::path(
    tag = "auth", operation_id = "accept_invite", request_body = AcceptInvite,
    responses((status = 201, body = Me), (status = 400, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem))
)]
#[post("/auth/invite")]
async fn accept_invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    body: web::Json<AcceptInvite>,
) -> ApiResult<HttpResponse> {
    if !state.settings.local_auth {
        return Err(ApiError::NotFound);
    }
    let AcceptInvite { invite_token, username, password } = body.into_inner();
    state.throttle.check(Action::SignIn, client_ip(&state, &req), None)?;
    check_new_account(&username, &password)?;
    let mut conn = state.conn().await?;
    if !crate::accounts::invites::is_usable(&mut conn, &invite_token).await? {
        return Err(invite_refused());
    }
    drop(conn);
    let hash = password::hash(password).await?;
    let mut conn = state.conn().await?;
    let created =
        crate::accounts::invites::create_local_account(&mut conn, &invite_token, &username, &hash)
            .await
            .map_err(username_taken)?;
    let Some(user) = created else { return Err(invite_refused()) };
    let csrf = session.sign_in(user.id)?;
    tracing::info!(user_id = %user.id, "account created by invitation");
    Ok(HttpResponse::Created().json(me(&state, &user, Some(csrf)).await?))
}

/// Query of logout.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogoutQuery {
    /// Also revoke the GitHub token at GitHub and forget it.
    #[serde(default)]
    revoke_github: bool,
}

/// Signs out: the session is destroyed. Optionally revokes the GitHub token too.
#[utoipa::path(
    tag = "auth", operation_id = "logout", params(LogoutQuery),
    responses((status = 204, description = "Signed out"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem)),
    security(("cookie" = []), ("bearer" = []))
)]
#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
    session: TypedSession,
    query: web::Query<LogoutQuery>,
) -> ApiResult<HttpResponse> {
    if query.revoke_github {
        let mut conn = state.conn().await?;
        if let Some(identity) = users::identity(&mut conn, user.id, "github").await? {
            if identity.access_token_enc.is_some() {
                revoke_at_github(&state, &identity).await;
                users::forget_tokens(&mut conn, identity.id).await?;
                state.auth.forget(crate::events::hub::AuthChange::User(user.id));
            }
        }
    }
    session.sign_out();
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user. Carries the CSRF token when authenticated by cookie.
#[utoipa::path(
    tag = "auth", operation_id = "get_me",
    responses((status = 200, body = Me), (status = 401, body = shared::Problem)),
    security(("cookie" = []), ("bearer" = []))
)]
#[get("/me")]
async fn get_me(state: web::Data<AppState>, user: CurrentUser) -> ApiResult<web::Json<Me>> {
    let csrf = match user.via {
        AuthVia::Session { csrf, .. } => Some(csrf),
        AuthVia::Token { .. } => None,
    };
    Ok(web::Json(me(&state, &user.user, csrf).await?))
}

/// Revokes a GitHub identity's token at GitHub, as far as it can: a token that does not open
/// (another key, or not this row's) or a refusal is logged, and forgetting it is all that is left.
async fn revoke_at_github(state: &AppState, identity: &users::Identity) {
    use secrecy::ExposeSecret;
    if let Ok(Some(token)) = identity.open_token(&state.secrets, users::IdentityToken::Access) {
        if let Err(e) = super::oauth::revoke_github_token(state, token.expose_secret()).await {
            tracing::warn!(user_id = %identity.user_id, error = %e, "revoking the GitHub token failed");
        }
    }
}

/// Query of disconnecting an identity.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DisconnectQuery {
    /// Also revoke the token at the provider (GitHub only).
    #[serde(default)]
    revoke: bool,
}

/// Disconnects the caller's identity with a provider (connect one with
/// `GET /auth/{provider}/login?link=true`): its tokens are forgotten, and revoked at GitHub with
/// `?revoke=true`. 404 when none is connected; 409 when it is how the account signs in and the
/// account has no password.
#[utoipa::path(
    tag = "auth", operation_id = "disconnect_identity",
    params(("provider" = String, Path, description = "Provider id, e.g. `github`"), DisconnectQuery),
    responses((status = 204, description = "Disconnected"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("cookie" = []), ("bearer" = []))
)]
#[delete("/me/identities/{provider}")]
async fn disconnect_identity(
    state: web::Data<AppState>,
    user: CurrentUser,
    provider: web::Path<String>,
    query: web::Query<DisconnectQuery>,
) -> ApiResult<HttpResponse> {
    let provider = provider.into_inner();
    if user.user.auth_provider == provider && user.user.password_hash.is_none() {
        return Err(ApiError::Conflict(format!(
            "The account signs in with {provider}: it cannot be disconnected."
        )));
    }
    let mut conn = state.conn().await?;
    let Some(identity) = users::unlink(&mut conn, user.id, &provider).await? else {
        return Err(ApiError::NotFound);
    };
    drop(conn);
    if query.revoke && provider == "github" && identity.access_token_enc.is_some() {
        revoke_at_github(&state, &identity).await;
    }
    state.auth.forget(crate::events::hub::AuthChange::User(user.id));
    Ok(HttpResponse::NoContent().finish())
}
