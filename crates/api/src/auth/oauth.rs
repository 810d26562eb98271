//! OAuth2 sign-in: authorization code with state and PKCE, then the provider's profile.
//!
//! Every failure of the callback (denied consent, a state that does not match, a failed token
//! exchange, an unreadable profile, an account that may not be made or is disabled) ends at
//! the web app's `/sign-in?error=<reason>`, signed out.
//!
//! With `?link=true` a signed-in user connects the provider's identity to their account (a
//! local or OIDC user gets GitHub's repositories this way); the callback then stores the
//! identity for the session's user, unless it is someone else's here (`identity_in_use`) or the
//! user has another one of that provider (`other_identity_linked`).
//!
//! Who gets an account (`auth.registration`): a known identity signs in (unless disabled); an
//! unknown one gets an account when registration is `open`, when it brings an unused
//! invitation (`?invite=` on the login URL), or when an allow-list admits it (a verified email
//! in `auth.allowed_email_domains`, membership of one of `auth.allowed_github_orgs`). Nobody
//! becomes an administrator by signing in: that takes the setup link or an admin invitation.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::IntoParams;

use super::providers::{self, ProfileSource, Provider};
use super::session::{PendingOAuth, TypedSession};
use crate::accounts::model::{
    self as users, Admission, ExternalLink, ExternalProfile, ExternalSignIn, ProviderTokens,
};
use crate::config::Registration;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(oauth_login).service(oauth_callback);
}

/// Query of the login redirect.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LoginQuery {
    /// Same-origin path to return to after signing in; anything else is replaced by `/`.
    redirect: Option<String>,
    /// An invitation token: lets a person unknown here make an account once.
    invite: Option<String>,
    /// Connect the provider's identity to the signed-in user (their repositories, pull
    /// requests) instead of signing in with it. Needs a session.
    #[serde(default)]
    link: bool,
}

/// Query the provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Keeps only same-origin paths: `/x`, never `//host`, `/\host` or a full URL.
pub fn safe_redirect(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.contains(['\r', '\n']) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn find(state: &AppState, id: &str) -> ApiResult<Provider> {
    providers::enabled(&state.settings)
        .map_err(ApiError::Internal)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(ApiError::NotFound)
}

fn callback_url(state: &AppState, provider: &Provider) -> String {
    format!("{}/api/v1/auth/{}/callback", state.settings.public_base(), provider.id)
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, location)).finish()
}

/// Starts signing in with a provider: redirects to its consent page.
#[utoipa::path(
    tag = "auth", operation_id = "start_oauth_login",
    params(("provider" = String, Path, description = "Provider id, e.g. `github`"), LoginQuery),
    responses((status = 302, description = "Redirect to the provider"), (status = 404, body = shared::Problem))
)]
#[get("/auth/{provider}/login")]
async fn oauth_login(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LoginQuery>,
    session: TypedSession,
) -> ApiResult<HttpResponse> {
    let provider = find(&state, &path)?;
    let link_user = if query.link {
        // Only the session's own user; a signed-out browser has nobody to connect to.
        Some(session.user_id()?.ok_or(ApiError::Unauthorized)?)
    } else {
        None
    };
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(provider.authorize_url.clone())
                .map_err(|e| ApiError::Internal(e.into()))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(callback_url(&state, &provider))
                .map_err(|e| ApiError::Internal(e.into()))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    session.set_pending_oauth(&PendingOAuth {
        provider: provider.id.clone(),
        state: csrf.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        redirect: safe_redirect(query.redirect.as_deref()),
        invite: query.invite.clone().filter(|t| !t.is_empty() && t.len() <= 128),
        link_user,
    })?;
    Ok(found(url.as_str()))
}

/// Completes signing in: checks state, exchanges the code, reads the profile, signs in.
#[utoipa::path(
    tag = "auth", operation_id = "complete_oauth_login",
    params(("provider" = String, Path, description = "Provider id"), CallbackQuery),
    responses((status = 302, description = "Redirect into the web app, signed in or with `?error=`"), (status = 404, body = shared::Problem))
)]
#[get("/auth/{provider}/callback")]
async fn oauth_callback(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
    session: TypedSession,
) -> ApiResult<HttpResponse> {
    let provider = find(&state, &path)?;
    let web = state.settings.web_base();
    let fail = |reason: &str| {
        tracing::info!(provider = %provider.id, reason, "OAuth sign-in failed");
        Ok(found(&format!("{web}/sign-in?error={reason}")))
    };
    let pending = session.take_pending_oauth();
    if query.error.is_some() {
        return fail("access_denied");
    }
    let Some(pending) = pending.filter(|p| p.provider == provider.id) else {
        return fail("state_mismatch");
    };
    let sent_state = query.state.as_deref().unwrap_or_default();
    if !bool::from(sent_state.as_bytes().ct_eq(pending.state.as_bytes())) {
        return fail("state_mismatch");
    }
    let Some(code) = query.code.clone() else { return fail("access_denied") };
    let token = match exchange(&state, &provider, code, pending.pkce_verifier.clone()).await {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(provider = %provider.id, error = %e, "token exchange failed");
            return fail("token_exchange_failed");
        }
    };
    let profile = match fetch_profile(&state, &provider, token.access_token().secret()).await {
        Ok(profile) => profile,
        Err(e) => {
            tracing::warn!(provider = %provider.id, error = %e, "reading the profile failed");
            return fail("profile_failed");
        }
    };
    let tokens = ProviderTokens {
        access: token.access_token().secret().clone().into(),
        refresh: token.refresh_token().map(|t| t.secret().clone().into()),
        scope: token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" ")),
    };
    if let Some(user_id) = pending.link_user {
        // The session must still be that user's: a sign-out or another sign-in since then
        // ends the connection attempt.
        if session.user_id()? != Some(user_id) {
            return fail("state_mismatch");
        }
        let mut conn = state.conn().await?;
        let linked =
            users::link_external(&mut conn, &state.secrets, user_id, &profile, &tokens).await?;
        return match linked {
            ExternalLink::Linked => {
                state.auth.forget(crate::events::hub::AuthChange::User(user_id));
                tracing::info!(%user_id, provider = %provider.id, "identity connected");
                Ok(found(&format!("{web}{}", pending.redirect)))
            }
            ExternalLink::InUse => fail("identity_in_use"),
            ExternalLink::OtherLinked => fail("other_identity_linked"),
        };
    }
    let mut conn = state.conn().await?;
    let known = users::identity_owner(&mut conn, &profile.provider, &profile.external_id).await?;
    drop(conn);
    let admission = match &known {
        Some(_) => Admission::Admitted,
        None => {
            admission(&state, &provider, &profile, token.access_token().secret(), &pending).await
        }
    };
    let mut conn = state.conn().await?;
    let outcome =
        users::sign_in_external(&mut conn, &state.secrets, &profile, &tokens, admission).await?;
    let user = match outcome {
        ExternalSignIn::SignedIn(user) => user,
        ExternalSignIn::Disabled => return fail("account_disabled"),
        ExternalSignIn::Refused => return fail("registration_closed"),
        ExternalSignIn::InviteInvalid => return fail("invite_invalid"),
    };
    // The identity's tokens changed: other processes hear it from the trigger, this one now.
    state.auth.forget(crate::events::hub::AuthChange::User(user.id));
    session.sign_in(user.id)?;
    tracing::info!(user_id = %user.id, provider = %provider.id, "signed in");
    Ok(found(&format!("{web}{}", pending.redirect)))
}

/// Whether a person unknown here may make an account (see the module documentation).
async fn admission<'a>(
    state: &AppState,
    provider: &Provider,
    profile: &ExternalProfile,
    access_token: &str,
    pending: &'a PendingOAuth,
) -> Admission<'a> {
    let auth = &state.settings.auth;
    if auth.registration == Registration::Open {
        return Admission::Admitted;
    }
    let domain_ok = profile.verified_emails.iter().any(|email| {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        domain
            .is_some_and(|d| auth.allowed_email_domains.iter().any(|a| a.eq_ignore_ascii_case(&d)))
    });
    if domain_ok {
        return Admission::Admitted;
    }
    if let (false, ProfileSource::Github { api_url }) =
        (auth.allowed_github_orgs.is_empty(), &provider.profile)
    {
        match github_orgs(state, api_url, access_token).await {
            Ok(orgs) => {
                let member = orgs
                    .iter()
                    .any(|o| auth.allowed_github_orgs.iter().any(|a| a.eq_ignore_ascii_case(o)));
                if member {
                    return Admission::Admitted;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the GitHub organisations failed"),
        }
    }
    match &pending.invite {
        Some(token) => Admission::Invite(token),
        None => Admission::Refused,
    }
}

#[derive(Deserialize)]
struct GithubOrg {
    login: String,
}

/// The logins of the organisations the token's user belongs to (first 100).
async fn github_orgs(state: &AppState, api_url: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let orgs: Vec<GithubOrg> =
        get_json(state, &format!("{api_url}/user/orgs?per_page=100"), token).await?;
    Ok(orgs.into_iter().map(|o| o.login).collect())
}

async fn exchange(
    state: &AppState,
    provider: &Provider,
    code: String,
    verifier: String,
) -> anyhow::Result<oauth2::basic::BasicTokenResponse> {
    let mut client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_token_uri(TokenUrl::new(provider.token_url.clone())?)
        .set_redirect_uri(RedirectUrl::new(callback_url(state, provider))?);
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
    }
    Ok(client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&state.http)
        .await?)
}

#[derive(Deserialize)]
struct GithubUser {
    id: i64,
    login: String,
    name: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

async fn get_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    url: &str,
    token: &str,
) -> anyhow::Result<T> {
    let res = state
        .http
        .get(url)
        .bearer_auth(token)
        .header(header::ACCEPT.as_str(), "application/json")
        .header(header::USER_AGENT.as_str(), "drydock")
        .send()
        .await?
        .error_for_status()?;
    Ok(res.json().await?)
}

async fn fetch_profile(
    state: &AppState,
    provider: &Provider,
    token: &str,
) -> anyhow::Result<ExternalProfile> {
    match &provider.profile {
        ProfileSource::Github { api_url } => {
            let user: GithubUser = get_json(state, &format!("{api_url}/user"), token).await?;
            // The profile's `email` is what the user shows publicly; only `/user/emails` says
            // which addresses are verified, and only those count for an allow-list.
            let emails =
                get_json::<Vec<GithubEmail>>(state, &format!("{api_url}/user/emails"), token)
                    .await
                    .unwrap_or_default();
            let email = user.email.or_else(|| {
                emails.iter().find(|e| e.primary && e.verified).map(|e| e.email.clone())
            });
            Ok(ExternalProfile {
                provider: provider.id.clone(),
                external_id: user.id.to_string(),
                login: user.login,
                name: user.name,
                email,
                verified_emails: emails
                    .into_iter()
                    .filter(|e| e.verified)
                    .map(|e| e.email)
                    .collect(),
                avatar_url: user.avatar_url,
            })
        }
        ProfileSource::Userinfo { url } => {
            let info: serde_json::Value = get_json(state, url, token).await?;
            let text = |keys: &[&str]| {
                keys.iter().find_map(|k| match &info[*k] {
                    serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let external_id = text(&["sub", "id", "uid"])
                .ok_or_else(|| anyhow::anyhow!("userinfo has no subject"))?;
            let email = text(&["email"]);
            let login = text(&["preferred_username", "username", "login", "nickname"])
                .or_else(|| email.as_ref().and_then(|e| e.split('@').next().map(str::to_owned)))
                .unwrap_or_else(|| external_id.clone());
            // OIDC says whether the address is verified; without that claim it is not.
            let verified = info["email_verified"] == serde_json::Value::Bool(true);
            Ok(ExternalProfile {
                provider: provider.id.clone(),
                external_id,
                login,
                name: text(&["name"]),
                verified_emails: email.clone().filter(|_| verified).into_iter().collect(),
                email,
                avatar_url: text(&["picture", "avatar_url", "avatar"]),
            })
        }
    }
}

/// Revokes a GitHub OAuth token at GitHub (`DELETE /applications/{client_id}/token`).
pub async fn revoke_github_token(state: &AppState, token: &str) -> anyhow::Result<()> {
    let gh = &state.settings.github;
    let (Some(client_id), Some(secret)) = (&gh.client_id, &gh.client_secret) else {
        anyhow::bail!("GitHub OAuth is not configured");
    };
    let url = format!("{}/applications/{client_id}/token", gh.api_url.trim_end_matches('/'));
    state
        .http
        .delete(url)
        .basic_auth(client_id, Some(secret.expose_secret()))
        .header(header::ACCEPT.as_str(), "application/vnd.github+json")
        .header(header::USER_AGENT.as_str(), "drydock")
        .json(&serde_json::json!({ "access_token": token }))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_redirect;

    #[test]
    fn only_same_origin_paths_survive() {
        assert_eq!(safe_redirect(Some("/tasks/1?x=y")), "/tasks/1?x=y");
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_redirect(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_redirect(None), "/");
    }
}
