//! The proxy server: one unix socket per run, HTTP/1 on it, three kinds of request.

use std::convert::Infallible;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use shared::events::EventBody;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::connect::CheckedResolver;
use crate::error::EgressError;
use crate::flow::{ProxyBody, Reporter};
use crate::policy::Policy;
use crate::route::Route;
use crate::{broker, tunnel};

/// Everything one run's proxy needs.
#[derive(Debug)]
pub struct ProxyConfig {
    /// Where to listen; for a local sandbox, its handle's `egress_socket`
    /// (`drydock_sandbox::SandboxHandle`). A stale socket there is replaced; any other file is
    /// an error.
    pub socket_path: PathBuf,
    /// What may be connected to. Route upstreams are added to it by [`Proxy::start`].
    pub policy: Policy,
    /// Broker routes; names must be unique.
    pub routes: Vec<Route>,
    /// Where `network` events go (dropped and counted when full, see
    /// [`ProxyHandle::dropped_events`]).
    pub events: mpsc::Sender<EventBody>,
    /// The port the proxy is reached on inside the sandbox (`sandbox::EGRESS_PORT`):
    /// absolute-form requests to `127.0.0.1` on it (a client that proxies even its broker
    /// requests) are served as broker requests.
    pub sandbox_port: Option<u16>,
    /// How long connecting to an upstream may take.
    pub connect_timeout: Duration,
    /// Client connections served at once; more wait.
    pub max_connections: usize,
}

impl ProxyConfig {
    /// A proxy at `socket_path` with `policy`, no routes, a 10 s connect timeout and 256
    /// connections.
    pub fn new(
        socket_path: impl Into<PathBuf>,
        policy: Policy,
        events: mpsc::Sender<EventBody>,
    ) -> Self {
        Self {
            socket_path: socket_path.into(),
            policy,
            routes: Vec::new(),
            events,
            sandbox_port: None,
            connect_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// A route with the HTTP client that serves it.
pub(crate) struct RouteClient {
    pub route: Route,
    pub client: reqwest::Client,
    /// (secret, placeholder) pairs scrubbed from responses.
    pub secrets: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Shared by every connection of one proxy.
pub(crate) struct State {
    pub policy: Arc<Policy>,
    /// Longest name first, so `mcp/a` is not taken for a route `mcp`.
    pub routes: Vec<RouteClient>,
    pub reporter: Reporter,
    pub connect_timeout: Duration,
    pub sandbox_port: Option<u16>,
    /// Changes (or closes) when the proxy stops; every task it spawned watches it.
    pub stop: watch::Receiver<bool>,
}

impl State {
    /// The route serving `path` and the rest of the path after its prefix.
    pub(crate) fn route_for<'a>(&self, path: &'a str) -> Option<(&RouteClient, &'a str)> {
        self.routes.iter().find_map(|rc| rc.route.strip(path).map(|rest| (rc, rest)))
    }

    /// Whether an absolute-form authority names the proxy itself, as seen from the sandbox.
    fn is_self(&self, authority: &hyper::http::uri::Authority) -> bool {
        let local = matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]");
        local && self.sandbox_port.is_some() && authority.port_u16() == self.sandbox_port
    }
}

/// Resolves when the proxy stops.
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    // An error means the handle is gone, which also means stop.
    let _ = stop.wait_for(|s| *s).await;
}

/// The egress proxy of one run.
#[derive(Debug)]
pub struct Proxy;

impl Proxy {
    /// Binds the socket (mode 0666, so the sandbox's user can connect; the directory it is in
    /// decides who can reach it) and starts serving. Needs a Tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<ProxyHandle, EgressError> {
        let mut policy = config.policy;
        let mut names = std::collections::HashSet::new();
        for route in &config.routes {
            if !names.insert(route.name().to_string()) {
                return Err(EgressError::InvalidRoute {
                    name: route.name().to_string(),
                    reason: "defined twice".into(),
                });
            }
            if let (Some(host), Some(port)) =
                (route.upstream().host_str(), route.upstream().port_or_known_default())
            {
                policy.allow_endpoint(host, port);
            }
        }
        let policy = Arc::new(policy);
        let mut routes = config
            .routes
            .into_iter()
            .map(|route| route_client(route, &policy, config.connect_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        routes.sort_by_key(|rc| std::cmp::Reverse(rc.route.name().len()));

        let (listener, inode) = bind(&config.socket_path)?;
        let reporter = Reporter::new(config.events);
        let dropped = reporter.dropped();
        let (stop_tx, stop) = watch::channel(false);
        let state = Arc::new(State {
            policy,
            routes,
            reporter,
            connect_timeout: config.connect_timeout,
            sandbox_port: config.sandbox_port,
            stop: stop.clone(),
        });
        let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let task = tokio::spawn(accept_loop(listener, state, limit));
        Ok(ProxyHandle {
            stop: stop_tx,
            task: Some(task),
            socket_path: config.socket_path,
            inode,
            dropped,
        })
    }
}

fn route_client(
    route: Route,
    policy: &Arc<Policy>,
    connect_timeout: Duration,
) -> Result<RouteClient, EgressError> {
    let port = route.upstream().port_or_known_default().unwrap_or(443);
    let client = reqwest::Client::builder()
        // Never the host's HTTP_PROXY, never a redirect the policy did not see.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .dns_resolver(Arc::new(CheckedResolver { policy: policy.clone(), port }))
        .build()
        .map_err(|e| EgressError::InvalidRoute {
            name: route.name().to_string(),
            reason: format!("HTTP client: {e}"),
        })?;
    let secrets = route.secrets();
    Ok(RouteClient { route, client, secrets })
}

/// Binds `path`; returns the listener and the socket's (device, inode).
fn bind(path: &Path) -> Result<(UnixListener, (u64, u64)), EgressError> {
    let io = |context: String| move |source| EgressError::Io { context, source };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path)
                .map_err(io(format!("removing the stale socket {}", path.display())))?;
        }
        Ok(_) => {
            return Err(EgressError::Io {
                context: format!("binding {}", path.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists and is not a socket",
                ),
            })
        }
        Err(_) => {}
    }
    let listener = bind_short(path).map_err(io(format!("binding {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(io(format!("securing {}", path.display())))?;
    let meta =
        std::fs::symlink_metadata(path).map_err(io(format!("inspecting {}", path.display())))?;
    Ok((listener, (meta.dev(), meta.ino())))
}

/// Binds a unix socket at `path` even when the path is longer than `sun_path` allows (108
/// bytes: a data directory a few levels deep is enough): the parent directory is opened and the
/// socket bound through `/proc/self/fd/N/NAME`, which the kernel resolves to the same place.
fn bind_short(path: &Path) -> std::io::Result<UnixListener> {
    const SUN_PATH: usize = 107;
    if path.as_os_str().len() <= SUN_PATH {
        return UnixListener::bind(path);
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return UnixListener::bind(path);
    };
    let dir = std::fs::File::open(parent)?;
    let short = Path::new("/proc/self/fd").join(dir.as_raw_fd().to_string()).join(name);
    let listener = UnixListener::bind(short);
    drop(dir);
    listener
}

async fn accept_loop(listener: UnixListener, state: Arc<State>, limit: Arc<Semaphore>) {
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else { return };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(state.stop.clone()) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    let stop = state.stop.clone();
                    tokio::select! {
                        () = serve(stream, state) => {}
                        () = stopped(stop) => {}
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "egress proxy accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve(stream: UnixStream, state: Arc<State>) {
    serve_http(TokioIo::new(stream), state).await;
}

/// Serves HTTP/1 requests on `io`: a connection from the relay, or a tunnel a client opened to
/// the proxy itself.
pub(crate) async fn serve_http<I>(io: I, state: Arc<State>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(dispatch(state, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

async fn dispatch(state: Arc<State>, req: Request<Incoming>) -> Response<ProxyBody> {
    if req.method() == Method::CONNECT {
        // Clients that send everything through HTTP(S)_PROXY, ignoring NO_PROXY (Qwen Code's
        // fetch), tunnel to the broker itself: serve the tunnel as one more connection.
        if req.uri().authority().is_some_and(|a| state.is_self(a)) {
            return tunnel::connect_self(&state, req);
        }
        return tunnel::connect(&state, req).await;
    }
    match req.uri().authority() {
        Some(authority) if !state.is_self(authority) => tunnel::forward(&state, req).await,
        _ => broker::handle(&state, req).await,
    }
}

/// A short plain-text answer (refusals say why).
pub(crate) fn text(status: StatusCode, message: impl Into<String>) -> Response<ProxyBody> {
    let body =
        Full::new(Bytes::from(message.into() + "\n")).map_err(|never| match never {}).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// A running proxy. Dropping it stops the proxy (connections included) and removes the socket.
#[derive(Debug)]
pub struct ProxyHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    socket_path: PathBuf,
    /// The socket file this proxy made, so a later proxy's socket at the same path is left alone.
    inode: (u64, u64),
    dropped: Arc<AtomicU64>,
}

impl ProxyHandle {
    /// The socket it listens on.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// Events dropped because the channel was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting, ends every connection, and waits until the accept loop is gone. Open
    /// connections report their events as they end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let ours = std::fs::symlink_metadata(&self.socket_path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.socket_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_path_longer_than_sun_path_still_binds() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("egress.sock");
        assert!(path.as_os_str().len() > 108);
        let _listener = bind_short(&path).unwrap();
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    }
}
