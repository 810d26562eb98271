//! The authenticated reverse proxy in front of dev servers, HTTP and WebSocket alike.
//!
//! Two forms (see docs/preview.md):
//! - with `preview.domain`: every request whose `Host` is `<task-id>.<preview.domain>` is the
//!   preview's, whatever its path: the preview is an origin of its own;
//! - without: `/preview/<task-id>/...` on the main origin. Its responses carry
//!   `Content-Security-Policy: sandbox` (no `allow-same-origin`), so the preview's scripts run
//!   in an opaque origin and cannot act as the user on Drydock's API; its `Set-Cookie` headers
//!   are dropped, since they would be cookies of Drydock's own origin.
//!
//! Every request needs the preview cookie of this task ([`super::grants`]), except the one that
//! opens a link and sets it. The dev server never sees Drydock's cookies, `Authorization` or
//! CSRF header. Upstream is the task's ingress socket (`sandbox::ingress`): the relay inside the
//! sandbox carries each connection to the dev server's port, never through the host network.
//! Responses may be framed only by the web app (`frame-ancestors`).

use actix_web::body::{BoxBody, MessageBody, SizedStream};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use shared::Problem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{devserver, grants, model};
use crate::error::ApiError;
use crate::security_headers::Framable;
use crate::state::AppState;

/// The sandbox flags of path-form responses: scripts, forms and popups work, but the document
/// gets an opaque origin instead of Drydock's.
const PATH_FORM_SANDBOX: &str =
    "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads allow-pointer-lock";

/// Which preview a request is for.
#[derive(Debug, Clone)]
struct Target {
    task_id: Uuid,
    /// The path on the dev server (from `/`), with the query.
    upstream: String,
    /// Served under `/preview/<id>/` on the main origin.
    path_form: bool,
}

/// Middleware: serves preview requests, passes everything else on.
pub async fn route(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let target = match target_of(&state, &req) {
        Some(Ok(target)) => target,
        Some(Err(response)) => return Ok(req.into_response(response)),
        None => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    };
    let (http_req, payload) = req.into_parts();
    let mut response = serve(&state, &http_req, payload, &target).await;
    let sandboxed = target.path_form && response.extensions().get::<GatewayPage>().is_none();
    frame_only_from_the_app(&state, sandboxed, response.headers_mut());
    response.extensions_mut().insert(Framable);
    Ok(ServiceResponse::new(http_req, response))
}

/// `Some` when the request is a preview's: its target, or the answer for a malformed one.
fn target_of(state: &AppState, req: &ServiceRequest) -> Option<Result<Target, HttpResponse>> {
    let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if let Some(domain) = &state.settings.preview.domain {
        let host = req.headers().get(header::HOST)?.to_str().ok()?.to_ascii_lowercase();
        let domain = domain.trim_matches('.').to_ascii_lowercase();
        let label = host.strip_suffix(&domain)?.strip_suffix('.')?;
        let task_id = Uuid::parse_str(label).ok().filter(|_| !label.contains('.'))?;
        return Some(Ok(Target { task_id, upstream: path_and_query, path_form: false }));
    }
    let rest = req.path().strip_prefix("/preview/")?;
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(task_id) = Uuid::parse_str(id) else {
        return Some(Err(ApiError::NotFound.error_response()));
    };
    if !rest.contains('/') {
        // Relative URLs of the app resolve against the directory.
        let location = format!("/preview/{task_id}/");
        return Some(Err(HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, location))
            .finish()));
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(Ok(Target { task_id, upstream: format!("/{tail}{query}"), path_form: true }))
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    target: &Target,
) -> HttpResponse {
    let path = target.upstream.split('?').next().unwrap_or("/");
    if path == format!("/{}", grants::LOGIN_PATH) {
        return match open_link(state, req, target).await {
            Ok(response) | Err(response) => response,
        };
    }
    match authorised(state, req, target.task_id).await {
        Ok(true) => {}
        Ok(false) => return no_preview_cookie(),
        Err(e) => return e.error_response(),
    }
    // The dev server's answers, and the gateway's word on reaching it, go out as they are.
    let (Ok(mut response) | Err(mut response)) = forward(state, req, payload, target).await;
    response.extensions_mut().insert(crate::request_id::OwnBody);
    response
}

/// Opens a one-time link: sets the preview cookie and redirects to the preview's root.
async fn open_link(
    state: &AppState,
    req: &HttpRequest,
    target: &Target,
) -> Result<HttpResponse, HttpResponse> {
    let token =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("token").cloned())
            .unwrap_or_default();
    let settings = &state.settings;
    let cookie = grants::random_secret();
    let minutes = i64::from(settings.preview.cookie_minutes);
    let expires_at = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    let mut conn = state.conn().await.map_err(|e| e.error_response())?;
    let redeemed = !token.is_empty()
        && model::redeem(
            &mut conn,
            target.task_id,
            &grants::hash(&token),
            &grants::hash(&cookie),
            expires_at,
        )
        .await
        .map_err(|e| ApiError::from(e).error_response())?;
    if !redeemed {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "This preview link cannot be used: it was opened already, it expired, or it is not \
             yours. Open the preview from Drydock again.",
        ));
    }
    let prefix = grants::path_prefix(settings, target.task_id);
    let secure = settings.secure_cookies()
        || crate::proxy::forwarded_https(req.headers(), settings.trust_proxy);
    let cookie = actix_web::cookie::Cookie::build(grants::COOKIE, cookie)
        .path(prefix.clone())
        .http_only(true)
        .secure(secure)
        .same_site(if secure {
            // The path form's documents are opaque origins, and a preview domain of its own is
            // another site than the web app framing it: either way the preview's requests are
            // cross-site, and only a SameSite=None cookie (which must be Secure) goes with them.
            actix_web::cookie::SameSite::None
        } else {
            actix_web::cookie::SameSite::Lax
        })
        .max_age(actix_web::cookie::time::Duration::minutes(minutes))
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, prefix))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

async fn authorised(state: &AppState, req: &HttpRequest, task_id: Uuid) -> Result<bool, ApiError> {
    // Several cookies of the name may arrive (path-scoped ones of other previews on the same
    // origin never match this path, but a preview may set its own): any valid one will do.
    let hashes: Vec<Vec<u8>> = req
        .cookies()
        .map(|all| {
            all.iter()
                .filter(|c| c.name() == grants::COOKIE)
                .map(|c| grants::hash(c.value()))
                .collect()
        })
        .unwrap_or_default();
    if hashes.is_empty() {
        return Ok(false);
    }
    let mut conn = state.conn().await?;
    for hash in hashes {
        if model::cookie_grants(&mut conn, task_id, &hash).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn no_preview_cookie() -> HttpResponse {
    problem(
        StatusCode::UNAUTHORIZED,
        "This preview needs its own sign-in: open it from the task's Preview tab in Drydock.",
    )
}

fn problem(status: StatusCode, detail: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut body = Problem::new(status.as_u16(), title, Some(detail.to_owned()));
    body.kind = format!("https://drydock.dev/problems/{}", status.as_u16());
    HttpResponse::build(status)
        .content_type(shared::error::PROBLEM_CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The dev server cannot be reached. While it runs (it may still be starting), a browser
/// opening a page gets a small page that reloads itself (`Refresh`), so the app appears once it
/// listens; other clients get the problem with `Retry-After`.
fn dev_server_down(req: &HttpRequest, running: bool) -> HttpResponse {
    if !running {
        return problem(
            StatusCode::BAD_GATEWAY,
            "The dev server is not running: start it from the task's Preview tab.",
        );
    }
    let retry = HeaderValue::from_static("2");
    if opens_a_page(req) {
        let mut page = HttpResponse::build(StatusCode::BAD_GATEWAY)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::RETRY_AFTER, retry.clone()))
            .insert_header((HeaderName::from_static("refresh"), retry))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .body(STARTING_PAGE);
        page.extensions_mut().insert(GatewayPage);
        return page;
    }
    let mut response = problem(
        StatusCode::BAD_GATEWAY,
        "The dev server is not answering on its port (yet): it may still be starting.",
    );
    response.headers_mut().insert(header::RETRY_AFTER, retry);
    response
}

/// Marks a page the gateway wrote itself (no script, nothing of the dev server's): it needs no
/// `sandbox` in the path form, and must not have it, since the reload it asks for would then
/// come from an opaque origin, cross-site, without the preview's `SameSite=Lax` cookie.
struct GatewayPage;

const STARTING_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Starting…</title>\
<body style=\"font-family:system-ui,sans-serif;margin:2rem\"><h1 id=drydock-starting>The dev \
server is starting…</h1><p>It is not answering on its port yet. This page reloads by itself.";

/// A browser navigating to a page (not a script's fetch, an asset or a WebSocket).
fn opens_a_page(req: &HttpRequest) -> bool {
    req.method() == actix_web::http::Method::GET
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// Headers that belong to one connection, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Drydock's own credentials, which the dev server must never see.
const DRYDOCK_HEADERS: [&str; 2] = ["authorization", crate::auth::current_user::CSRF_HEADER];

fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    connection_upgrade && headers.contains_key(header::UPGRADE)
}

/// Names listed in `Connection`, which are hop-by-hop too.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The request for the dev server: the client's, minus hop-by-hop headers, Drydock's cookies
/// and credentials, with `Host: localhost` (dev servers that check it accept that).
fn upstream_request(
    req: &HttpRequest,
    target: &Target,
    upgrade: bool,
    body: Bytes,
) -> Result<hyper::Request<Full<Bytes>>, ApiError> {
    let mut builder = hyper::Request::builder().method(req.method().as_str()).uri(&target.upstream);
    let listed = connection_listed(req.headers());
    for (name, value) in req.headers() {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower)
            || DRYDOCK_HEADERS.contains(&lower)
            || listed.iter().any(|l| l == lower)
            || matches!(lower, "host" | "cookie" | "content-length" | "forwarded")
            || lower.starts_with("x-forwarded-")
        {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let kept: Vec<String> = req
        .cookies()
        .map(|all| {
            all.iter()
                .filter(|c| !c.name().starts_with("drydock_"))
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect()
        })
        .unwrap_or_default();
    if !kept.is_empty() {
        builder = builder.header("cookie", kept.join("; "));
    }
    if upgrade {
        let protocol =
            req.headers().get(header::UPGRADE).map_or(&b"websocket"[..], |v| v.as_bytes());
        builder = builder.header("connection", "upgrade").header("upgrade", protocol);
    }
    builder = builder.header("host", "localhost");
    if let Some(host) = req.headers().get(header::HOST) {
        builder = builder.header("x-forwarded-host", host.as_bytes());
    }
    builder = builder.header("x-forwarded-proto", req.connection_info().scheme().to_owned());
    if target.path_form {
        builder = builder.header("x-forwarded-prefix", format!("/preview/{}", target.task_id));
    }
    builder.body(Full::new(body)).map_err(|_| ApiError::BadRequest("Invalid request.".into()))
}

async fn forward(
    state: &AppState,
    req: &HttpRequest,
    payload: actix_web::dev::Payload,
    target: &Target,
) -> Result<HttpResponse, HttpResponse> {
    let upgrade = is_upgrade(req.headers());
    let mut payload = payload;
    let body = if upgrade {
        Bytes::new()
    } else {
        read_body(&mut payload, state.settings.max_body_bytes).await?
    };
    let request = upstream_request(req, target, upgrade, body).map_err(|e| e.error_response())?;
    let socket = devserver::socket_path(&state.settings, target.task_id);
    let running = devserver::is_running_here(target.task_id);
    let stream = tokio::task::spawn_blocking(move || sandbox::ingress::connect(&socket))
        .await
        .map_err(|_| dev_server_down(req, running))?
        .and_then(|s| {
            s.set_nonblocking(true)?;
            tokio::net::UnixStream::from_std(s)
        })
        .map_err(|_| dev_server_down(req, running))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|_| dev_server_down(req, running))?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    let mut response =
        sender.send_request(request).await.map_err(|_| dev_server_down(req, true))?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    copy_response_headers(response.headers(), target, status, &mut out);
    if status == StatusCode::SWITCHING_PROTOCOLS && upgrade {
        let upgraded =
            hyper::upgrade::on(&mut response).await.map_err(|_| dev_server_down(req, true))?;
        out.insert_header((header::CONNECTION, "upgrade"));
        if let Some(protocol) = response.headers().get("upgrade") {
            out.insert_header((header::UPGRADE, protocol.as_bytes()));
        }
        return Ok(out.streaming(tunnel(TokioIo::new(upgraded), payload)));
    }
    let length = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = response
        .into_body()
        .into_data_stream()
        .map(|chunk| chunk.map_err(|e| actix_web::error::ErrorBadGateway(e.to_string())));
    let no_body = req.method() == actix_web::http::Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    Ok(match length {
        _ if no_body => out.finish(),
        Some(length) => out.body(SizedStream::new(length, body)),
        None => out.streaming(body),
    })
}

async fn read_body(
    payload: &mut actix_web::dev::Payload,
    limit: usize,
) -> Result<Bytes, HttpResponse> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::BadRequest("Unreadable body.".into()).error_response())?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge.error_response());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn copy_response_headers(
    upstream: &hyper::HeaderMap,
    target: &Target,
    status: StatusCode,
    out: &mut actix_web::HttpResponseBuilder,
) {
    let listed: Vec<String> = upstream
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in upstream {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower)
            || listed.iter().any(|l| l == lower)
            || lower == "content-length"
            || (lower == "set-cookie" && !keeps_cookie(target, value.as_bytes()))
        {
            continue;
        }
        if status == StatusCode::SWITCHING_PROTOCOLS && lower == "upgrade" {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((name, value));
        }
    }
}

/// Which of the dev server's cookies the browser may get: none in the path form (they would be
/// Drydock's origin's), and none named like Drydock's own in either.
fn keeps_cookie(target: &Target, set_cookie: &[u8]) -> bool {
    let name = String::from_utf8_lossy(set_cookie);
    let name = name.split('=').next().unwrap_or_default().trim();
    !target.path_form && !name.starts_with("drydock_")
}

/// `frame-ancestors`: only the web app may frame a preview; `sandbox` too when the page is the
/// dev server's and served on the main origin (the path form).
fn frame_only_from_the_app(state: &AppState, sandboxed: bool, headers: &mut HeaderMap) {
    let settings = &state.settings;
    let mut ancestors: Vec<String> = Vec::new();
    for url in [settings.web_base(), settings.public_base()] {
        if let Some(origin) = crate::security_headers::origin_of(&url) {
            if !ancestors.contains(&origin) {
                ancestors.push(origin);
            }
        }
    }
    let mut policy = format!("frame-ancestors {}", ancestors.join(" "));
    if sandboxed {
        policy.push_str("; ");
        policy.push_str(PATH_FORM_SANDBOX);
    }
    if let Ok(value) = HeaderValue::from_str(&policy) {
        // Appended: the dev server's own policy, if any, still applies as well.
        headers.append(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Bytes both ways between the client's upgraded connection (its payload in, the response body
/// out) and the dev server's, until either side closes.
fn tunnel(
    upstream: TokioIo<hyper::upgrade::Upgraded>,
    mut payload: actix_web::dev::Payload,
) -> impl futures_util::Stream<Item = Result<Bytes, Error>> {
    let (reader, mut writer) = tokio::io::split(upstream);
    // The payload is tied to this worker's thread.
    actix_web::rt::spawn(async move {
        while let Some(Ok(chunk)) = payload.next().await {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    futures_util::stream::unfold(
        (reader, vec![0u8; 16 * 1024]),
        |(mut reader, mut buf)| async move {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => Some((Ok(Bytes::copy_from_slice(&buf[..n])), (reader, buf))),
            }
        },
    )
}
