//! A smart-HTTP git server for tests that requires a token, like a real git host.
//!
//! It serves every repository under a root directory through `git http-backend` (CGI) and
//! answers `401` with `WWW-Authenticate: Basic` unless the request carries HTTP Basic
//! credentials whose password is the token (any user name, as GitHub accepts for tokens).
//! Pushing is enabled for authenticated requests (`http-backend` allows `receive-pack` when
//! `REMOTE_USER` is set). Request bodies and responses are buffered: fine for test repositories.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request the server saw, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Whether it carried the right token.
    pub authorized: bool,
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct GitHttpServer {
    /// Where it listens (127.0.0.1, random port).
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<SeenRequest>>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    root: PathBuf,
    token: String,
    requests: Arc<Mutex<Vec<SeenRequest>>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` (bare repositories such as `root/my.repo.git`),
    /// accepting only `token`.
    pub async fn start(
        root: impl Into<PathBuf>,
        token: impl Into<String>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state =
            Arc::new(State { root: root.into(), token: token.into(), requests: requests.clone() });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Self { addr, requests, task })
    }

    /// The clone URL of `repo` (a path below the root, e.g. `my.repo.git`).
    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{}", self.addr, repo.trim_start_matches('/'))
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let authorized = password(&req).is_some_and(|p| p == state.token);
    if let Ok(mut seen) = state.requests.lock() {
        seen.push(SeenRequest {
            method: req.method().to_string(),
            uri: req.uri().to_string(),
            authorized,
        });
    }
    if !authorized {
        let mut response = text(StatusCode::UNAUTHORIZED, "authentication required");
        response.headers_mut().insert(
            "www-authenticate",
            hyper::header::HeaderValue::from_static("Basic realm=\"drydock-test\""),
        );
        return Ok(response);
    }
    Ok(match cgi(&state.root, req).await {
        Ok(response) => response,
        Err(err) => text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    })
}

/// The password of HTTP Basic credentials.
fn password(req: &Request<Incoming>) -> Option<String> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

/// Runs `git http-backend` for one request.
async fn cgi(root: &Path, req: Request<Incoming>) -> std::io::Result<Response<Full<Bytes>>> {
    let header = |name: &str| {
        req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", req.method().as_str())
        .env("PATH_INFO", req.uri().path())
        .env("QUERY_STRING", req.uri().query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "drydock-test")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let body = req.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    command.env("CONTENT_LENGTH", body.len().to_string());
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&body).await?;
    }
    let output = child.wait_with_output().await?;
    parse_cgi(&output.stdout)
}

/// Splits CGI output into headers (with `Status:`) and body.
fn parse_cgi(raw: &[u8]) -> std::io::Result<Response<Full<Bytes>>> {
    let (head, body) = match find(raw, b"\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => match find(raw, b"\n\n") {
            Some(i) => (&raw[..i], &raw[i + 2..]),
            None => (raw, &[][..]),
        },
    };
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(500);
            response = response.status(code);
        } else {
            response = response.header(name.trim(), value);
        }
    }
    response.body(Full::new(Bytes::copy_from_slice(body))).map_err(std::io::Error::other)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_string())));
    *response.status_mut() = status;
    response
}
