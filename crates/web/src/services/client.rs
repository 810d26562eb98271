//! The HTTP client: every request goes through [`send`], which adds credentials, the CSRF header
//! on unsafe methods, and turns error responses into [`ApiError`].

use std::cell::RefCell;

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use web_sys::RequestCredentials;
use yew::Callback;

use super::config::api_url;
use super::error::{decode_error, ApiError};

thread_local! {
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static ON_UNAUTHORIZED: RefCell<Option<Callback<()>>> = const { RefCell::new(None) };
}

/// Remembers the CSRF token from `GET /me` (sent as `X-CSRF-Token` on unsafe methods).
pub fn set_csrf_token(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

/// Registers what to do when any call answers 401: the app forgets the session, and the auth
/// gate sends the person to the sign-in page.
pub fn set_unauthorized_handler(cb: Callback<()>) {
    ON_UNAUTHORIZED.with(|h| *h.borrow_mut() = Some(cb));
}

fn builder(method: Method, path: &str) -> RequestBuilder {
    let url = api_url(path);
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    // `include` so cookies flow to a separately deployed API (its CORS allow-list decides).
    let mut b = RequestBuilder::new(&url)
        .method(method)
        .credentials(RequestCredentials::Include)
        .header("Accept", "application/json, application/problem+json");
    if unsafe_method {
        if let Some(token) = CSRF_TOKEN.with(|t| t.borrow().clone()) {
            b = b.header("X-CSRF-Token", &token);
        }
    }
    b
}

/// Sends a request with an optional JSON body and returns the successful response.
pub async fn send<B: Serialize + ?Sized>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<Response, ApiError> {
    let b = builder(method, path);
    let request: Result<Request, _> = match body {
        Some(body) => b.json(body),
        None => b.build(),
    };
    let request = request.map_err(|e| ApiError::Network(e.to_string()))?;
    let resp = request.send().await.map_err(|e| ApiError::Network(e.to_string()))?;
    if resp.ok() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    let err = decode_error(resp.status(), &resp.status_text(), &text);
    // Sign-in endpoints answer 401 for a wrong password; that is a form error, not a logout.
    if err.is_unauthorized() && !path.starts_with("/auth/") {
        if let Some(cb) = ON_UNAUTHORIZED.with(|h| h.borrow().clone()) {
            cb.emit(());
        }
    }
    Err(err)
}

/// Decodes a successful response body.
pub async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    let text = resp.text().await.map_err(|e| ApiError::Network(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
}

/// `GET` a JSON resource.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(send::<()>(Method::GET, path, None).await?).await
}

/// Sends a JSON body and decodes the JSON answer.
pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    decode(send(method, path, body).await?).await
}

/// Sends a request whose answer has no body we need (204, or one we ignore).
pub async fn call_empty<B: Serialize + ?Sized>(
    method: Method,
    path: &str,
    body: Option<&B>,
) -> Result<(), ApiError> {
    send(method, path, body).await.map(|_| ())
}

/// The session's CSRF token, for code outside this module that sends its own requests (the
/// editor's script).
pub fn csrf_token() -> Option<String> {
    CSRF_TOKEN.with(|t| t.borrow().clone())
}

/// What a 401 means for the app (see [`set_unauthorized_handler`]), for that same code.
pub fn unauthorized() {
    if let Some(cb) = ON_UNAUTHORIZED.with(|h| h.borrow().clone()) {
        cb.emit(());
    }
}
