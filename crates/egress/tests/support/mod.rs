//! Loopback upstreams and a client that speaks to the proxy's unix socket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use drydock_egress::{Policy, Proxy, ProxyConfig, ProxyHandle, Route};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use shared::events::EventBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::{mpsc, Notify};

/// Generous bound so a broken proxy fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// An HTTP server on 127.0.0.1 that records requests. `/stream` sends one SSE event, waits
/// for [`Upstream::release`], then sends the last; `/echo` answers with the `x-api-key` it got;
/// anything else answers `hello from upstream`.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    release: Arc<Notify>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        let (seen2, release2) = (seen.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (seen, release) = (seen2.clone(), release2.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (seen, release) = (seen.clone(), release.clone());
                        async move { Ok::<_, Infallible>(answer(req, &seen, &release).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen, release }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Lets `/stream` send its last event.
    pub fn release(&self) {
        self.release.notify_one();
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn answer(
    req: Request<Incoming>,
    seen: &Mutex<Vec<Seen>>,
    release: &Arc<Notify>,
) -> Response<Body> {
    let path = req.uri().to_string();
    let headers = req.headers().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    seen.lock().unwrap().push(Seen { path: path.clone(), headers: headers.clone(), body });
    if path.ends_with("/stream") {
        let release = release.clone();
        let events = futures_util::stream::unfold(0, move |n| {
            let release = release.clone();
            async move {
                match n {
                    0 => Some((Ok(Frame::data(Bytes::from("event: first\ndata: {}\n\n"))), 1)),
                    1 => {
                        release.notified().await;
                        Some((Ok(Frame::data(Bytes::from("event: last\ndata: {}\n\n"))), 2))
                    }
                    _ => None,
                }
            }
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(BodyExt::boxed(StreamBody::new(events)))
            .unwrap();
    }
    let text = if path.ends_with("/echo") {
        let key =
            headers.get("x-api-key").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        format!("you sent {key}")
    } else {
        "hello from upstream".to_string()
    };
    Response::builder()
        .header(
            "x-seen-key",
            headers
                .get("x-api-key")
                .cloned()
                .unwrap_or(hyper::header::HeaderValue::from_static("none")),
        )
        .body(Full::new(Bytes::from(text)).boxed())
        .unwrap()
}

/// A TCP server on 127.0.0.1 that answers each line with `echo: <line>` and closes.
pub async fn line_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&buf[..n]).trim().to_string();
                let _ = stream.write_all(format!("echo: {line}\n").as_bytes()).await;
            });
        }
    });
    addr
}

/// A proxy in a fresh directory; keep the returned `TempDir` alive.
pub struct TestProxy {
    pub handle: ProxyHandle,
    pub events: mpsc::Receiver<EventBody>,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestProxy {
    pub async fn start(allow: &[String], routes: Vec<Route>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("egress.sock");
        let (tx, events) = mpsc::channel(64);
        let policy = Policy::from_config::<String>(&[], allow).unwrap();
        let mut config = ProxyConfig::new(&socket, policy, tx);
        config.routes = routes;
        let handle = Proxy::start(config).await.unwrap();
        Self { handle, events, socket, _dir: dir }
    }

    /// The next `network` event.
    pub async fn event(&mut self) -> EventBody {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("no network event")
            .expect("channel closed")
    }
}

/// Sends one request over a new connection to the proxy's socket.
pub async fn send(socket: &Path, req: Request<Full<Bytes>>) -> Response<Incoming> {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    tokio::time::timeout(PATIENCE, sender.send_request(req)).await.unwrap().unwrap()
}

pub async fn body_text(res: Response<Incoming>) -> String {
    let bytes = tokio::time::timeout(PATIENCE, res.into_body().collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn request(method: &str, uri: &str) -> hyper::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

pub fn empty() -> Full<Bytes> {
    Full::new(Bytes::new())
}

/// The chunks of a streaming body, one at a time.
pub async fn next_chunk(body: &mut Incoming) -> Option<Bytes> {
    loop {
        let frame =
            tokio::time::timeout(PATIENCE, body.frame()).await.expect("no chunk in time")?;
        if let Ok(data) = frame.unwrap().into_data() {
            return Some(data);
        }
    }
}
