//! A fake GitHub on 127.0.0.1: OAuth authorize and token endpoints (checking client
//! credentials and the PKCE verifier), the user API, and token revocation. It records what it
//! received so tests can assert on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

/// How the fake behaves, and what it saw.
#[derive(Default)]
pub struct FakeState {
    /// Answer the consent page with `error=access_denied`.
    pub deny_consent: bool,
    /// Fail every token exchange.
    pub fail_token_exchange: bool,
    /// Issued codes → (PKCE challenge, redirect_uri).
    codes: HashMap<String, (String, String)>,
    /// Live access tokens.
    pub tokens: Vec<String>,
    /// Tokens revoked through the applications API.
    pub revoked: Vec<String>,
    /// Scopes requested at authorize.
    pub requested_scopes: Vec<String>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeGithub {
    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub base: String,
    /// Shared state.
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeGithub {
    /// Starts the fake on a random port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/login/oauth/authorize", web::get().to(authorize))
                .route("/login/oauth/access_token", web::post().to(access_token))
                .route("/api/user", web::get().to(user))
                .route("/api/user/emails", web::get().to(emails))
                .route("/oidc/userinfo", web::get().to(userinfo))
                .route("/api/applications/{client_id}/token", web::delete().to(revoke))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind fake github");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// Settings TOML pointing Drydock's GitHub config at this fake.
    pub fn settings_toml(&self) -> String {
        format!(
            "[github]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\nauthorize_url = \"{b}/login/oauth/authorize\"\ntoken_url = \"{b}/login/oauth/access_token\"\napi_url = \"{b}/api\"\n",
            b = self.base
        )
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(
    state: web::Data<Mutex<FakeState>>,
    q: web::Query<AuthorizeQuery>,
) -> HttpResponse {
    let mut s = state.lock().expect("state");
    s.requested_scopes =
        q.scope.clone().unwrap_or_default().split(' ').map(str::to_owned).collect();
    if q.client_id != CLIENT_ID || q.code_challenge_method.as_deref() != Some("S256") {
        return HttpResponse::BadRequest().body("bad client or no PKCE");
    }
    let location = if s.deny_consent {
        format!("{}?error=access_denied&state={}", q.redirect_uri, q.state)
    } else {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        s.codes.insert(
            code.clone(),
            (q.code_challenge.clone().unwrap_or_default(), q.redirect_uri.clone()),
        );
        format!("{}?code={code}&state={}", q.redirect_uri, q.state)
    };
    HttpResponse::Found().insert_header(("location", location)).finish()
}

#[derive(Deserialize)]
struct TokenForm {
    code: String,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn bad_code() -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}))
}

async fn access_token(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let mut s = state.lock().expect("state");
    let (id, secret) = basic_auth(&req)
        .or_else(|| Some((form.client_id.clone()?, form.client_secret.clone()?)))
        .unwrap_or_default();
    if id != CLIENT_ID || secret != CLIENT_SECRET || s.fail_token_exchange {
        return bad_code();
    }
    let Some((challenge, redirect_uri)) = s.codes.remove(&form.code) else { return bad_code() };
    let verifier = form.code_verifier.clone().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if computed != challenge || form.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
        return bad_code();
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    s.tokens.push(token.clone());
    HttpResponse::Ok().json(json!({"access_token": token, "token_type": "bearer", "scope": "repo,read:user,user:email"}))
}

fn bearer_ok(state: &Mutex<FakeState>, req: &HttpRequest) -> bool {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let s = state.lock().expect("state");
    token.is_some_and(|t| s.tokens.iter().any(|x| x == t) && !s.revoked.iter().any(|x| x == t))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"}))
}

async fn user(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!({"id": 4242, "login": "octo.cat", "name": "Octo Cat", "email": null, "avatar_url": "https://avatars.example/octo.png"}))
}

async fn emails(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": "octo@example.com", "primary": true, "verified": true}
    ]))
}

#[derive(Deserialize)]
struct RevokeBody {
    access_token: String,
}

async fn revoke(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<RevokeBody>,
) -> HttpResponse {
    let Some((id, secret)) = basic_auth(&req) else { return unauthorized() };
    if id != CLIENT_ID || secret != CLIENT_SECRET || path.as_str() != CLIENT_ID {
        return unauthorized();
    }
    state.lock().expect("state").revoked.push(body.access_token.clone());
    HttpResponse::NoContent().finish()
}

async fn userinfo(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!({"sub": "vc_123", "preferred_username": "vera", "email": "vera@example.com", "name": "Vera", "picture": "https://avatars.example/v.png"}))
}

impl FakeGithub {
    /// Settings TOML for a Vercel-preset OIDC provider whose endpoints are this fake.
    pub fn oidc_toml(&self) -> String {
        format!(
            "[oidc]\npreset = \"vercel\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\nauthorize_url = \"{b}/login/oauth/authorize\"\ntoken_url = \"{b}/login/oauth/access_token\"\nuserinfo_url = \"{b}/oidc/userinfo\"\n",
            b = self.base
        )
    }
}
