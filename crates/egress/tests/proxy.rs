//! The proxy against real servers on 127.0.0.1 (nothing else is ever connected to).

// Setup helpers panic on purpose, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use drydock_egress::{Route, Secret};
use hyper::StatusCode;
use shared::events::EventBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{
    body_text, empty, line_echo, next_chunk, request, send, TestProxy, Upstream, PATIENCE,
};

const PLACEHOLDER: &str = "sk-ant-drydock-0123456789abcdef";
const REAL_KEY: &str = "sk-ant-api03-REAL-KEY-never-in-the-sandbox";

fn anthropic(upstream: &Upstream) -> Route {
    Route::new("anthropic", &upstream.url())
        .unwrap()
        .with_credential(PLACEHOLDER, Secret::new(REAL_KEY))
}

/// The fields of a `network` event, for assertions.
fn network(event: EventBody) -> (String, u16, bool, Option<String>, Option<String>, u64, u64) {
    match event {
        EventBody::Network { host, port, allowed, reason, route, bytes_up, bytes_down, .. } => {
            (host, port, allowed, reason, route, bytes_up, bytes_down)
        }
        other => panic!("not a network event: {other:?}"),
    }
}

#[tokio::test]
async fn the_broker_swaps_the_placeholder_and_the_client_never_sees_the_key() {
    let upstream = Upstream::start().await;
    let mut proxy =
        TestProxy::start(&[format!("127.0.0.1:{}", upstream.port())], vec![anthropic(&upstream)])
            .await;
    let req = request("POST", "/anthropic/v1/echo")
        .header("x-api-key", PLACEHOLDER)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{\"model\":\"m\"}")))
        .unwrap();
    let res = send(&proxy.socket, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The upstream echoes the key in a header and the body; the client gets the placeholder.
    assert_eq!(res.headers()["x-seen-key"], PLACEHOLDER);
    assert_eq!(body_text(res).await, format!("you sent {PLACEHOLDER}"));

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/echo");
    assert_eq!(seen[0].headers["x-api-key"], REAL_KEY);
    assert_eq!(seen[0].body.as_ref(), b"{\"model\":\"m\"}");

    let (host, port, allowed, reason, route, up, down) = network(proxy.event().await);
    assert_eq!((host.as_str(), port, allowed), ("127.0.0.1", upstream.port(), true));
    assert_eq!((reason, route.as_deref()), (None, Some("anthropic")));
    assert_eq!(up, 13);
    assert_eq!(down, format!("you sent {REAL_KEY}").len() as u64);
}

#[tokio::test]
async fn streamed_answers_pass_chunk_by_chunk() {
    let upstream = Upstream::start().await;
    let proxy =
        TestProxy::start(&[format!("127.0.0.1:{}", upstream.port())], vec![anthropic(&upstream)])
            .await;
    let req = request("POST", "/anthropic/v1/stream")
        .header("authorization", format!("Bearer {PLACEHOLDER}"))
        .body(empty())
        .unwrap();
    let res = send(&proxy.socket, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    // The upstream holds its last event back until the first one has reached the client, so a
    // proxy that buffered would never deliver anything (and time out).
    let first = next_chunk(&mut body).await.unwrap();
    assert_eq!(first.as_ref(), b"event: first\ndata: {}\n\n");
    upstream.release();
    let last = next_chunk(&mut body).await.unwrap();
    assert_eq!(last.as_ref(), b"event: last\ndata: {}\n\n");
    assert!(next_chunk(&mut body).await.is_none());
    assert_eq!(upstream.requests()[0].headers["authorization"], format!("Bearer {REAL_KEY}"));
}

#[tokio::test]
async fn a_credential_that_is_not_the_runs_placeholder_gets_401() {
    let upstream = Upstream::start().await;
    let mut proxy =
        TestProxy::start(&[format!("127.0.0.1:{}", upstream.port())], vec![anthropic(&upstream)])
            .await;
    for key in ["sk-ant-api03-someone-elses-key", "sk-ant-drydock-another-runs"] {
        let req = request("POST", "/anthropic/v1/messages")
            .header("x-api-key", key)
            .body(empty())
            .unwrap();
        let res = send(&proxy.socket, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let (_, _, allowed, reason, route, ..) = network(proxy.event().await);
        assert!(!allowed);
        assert!(reason.unwrap().contains("not this run's placeholder"));
        assert_eq!(route.as_deref(), Some("anthropic"));
    }
    let res =
        send(&proxy.socket, request("GET", "/anthropic/v1/models").body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = send(&proxy.socket, request("GET", "/nowhere/v1").body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(upstream.requests().is_empty(), "nothing reached the upstream");
}

#[tokio::test]
async fn a_broker_upstream_on_loopback_needs_an_exact_allow_entry() {
    let upstream = Upstream::start().await;
    let by_name = Route::new("named", &format!("http://localhost:{}", upstream.port()))
        .unwrap()
        .with_credential(PLACEHOLDER, Secret::new(REAL_KEY));
    let mut proxy = TestProxy::start(&[], vec![anthropic(&upstream), by_name]).await;
    for path in ["/anthropic/v1/echo", "/named/v1/echo"] {
        let req = request("POST", path).header("x-api-key", PLACEHOLDER).body(empty()).unwrap();
        let res = send(&proxy.socket, req).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(body_text(res).await.contains("loopback"), "{path}");
        let (_, _, allowed, reason, ..) = network(proxy.event().await);
        assert!(!allowed && reason.unwrap().contains("loopback"), "{path}");
    }
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn connect_to_a_loopback_port_is_refused_unless_listed_exactly() {
    let echo = line_echo().await;
    // Allowed by name only: the address check still refuses loopback.
    let mut proxy = TestProxy::start(&["127.0.0.1".to_string()], vec![]).await;
    let res =
        send(&proxy.socket, request("CONNECT", &echo.to_string()).body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (host, port, allowed, reason, ..) = network(proxy.event().await);
    assert_eq!((host.as_str(), port, allowed), ("127.0.0.1", echo.port(), false));
    assert!(reason.as_deref().unwrap().contains("loopback"), "{reason:?}");
    // Not in the list at all: refused before anything is resolved.
    let res = send(&proxy.socket, request("CONNECT", "127.0.0.2:9").body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (.., reason, _, _, _) = network(proxy.event().await);
    assert!(reason.unwrap().contains("not in the egress allow list"));
}

#[tokio::test]
async fn connect_with_an_exact_allow_entry_tunnels_and_counts_bytes() {
    let echo = line_echo().await;
    let mut proxy = TestProxy::start(&[echo.to_string()], vec![]).await;
    let res =
        send(&proxy.socket, request("CONNECT", &echo.to_string()).body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let upgraded = tokio::time::timeout(PATIENCE, hyper::upgrade::on(res)).await.unwrap().unwrap();
    let mut tunnel = hyper_util::rt::TokioIo::new(upgraded);
    tunnel.write_all(b"ping\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, tunnel.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert_eq!(answer, "echo: ping\n");
    drop(tunnel);
    let (host, port, allowed, reason, route, up, down) = network(proxy.event().await);
    assert_eq!(
        (host.as_str(), port, allowed, reason, route),
        ("127.0.0.1", echo.port(), true, None, None)
    );
    assert_eq!((up, down), (5, 11));
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_listed_with_its_port() {
    let echo = line_echo().await;
    let target = format!("localhost:{}", echo.port());
    let mut proxy = TestProxy::start(&["localhost".to_string()], vec![]).await;
    let res = send(&proxy.socket, request("CONNECT", &target).body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (host, _, allowed, reason, ..) = network(proxy.event().await);
    assert_eq!((host.as_str(), allowed), ("localhost", false));
    assert!(reason.unwrap().contains("loopback"));

    let mut proxy = TestProxy::start(std::slice::from_ref(&target), vec![]).await;
    let res = send(&proxy.socket, request("CONNECT", &target).body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut tunnel = hyper_util::rt::TokioIo::new(hyper::upgrade::on(res).await.unwrap());
    tunnel.write_all(b"hi\n").await.unwrap();
    let mut answer = String::new();
    tunnel.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "echo: hi\n");
    drop(tunnel);
    let (host, _, allowed, ..) = network(proxy.event().await);
    assert_eq!((host.as_str(), allowed), ("localhost", true));
}

#[tokio::test]
async fn plain_http_is_forwarded_under_the_same_policy() {
    let upstream = Upstream::start().await;
    let url = format!("{}/hello", upstream.url());
    let mut proxy = TestProxy::start(&[format!("127.0.0.1:{}", upstream.port())], vec![]).await;
    let res = send(
        &proxy.socket,
        request("GET", &url).header("proxy-authorization", "x").body(empty()).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "hello from upstream");
    let seen = upstream.requests();
    assert_eq!(seen[0].path, "/hello");
    assert!(seen[0].headers.get("proxy-authorization").is_none(), "hop-by-hop headers are dropped");
    let (_, _, allowed, _, _, _, down) = network(proxy.event().await);
    assert!(allowed && down == 19);

    let mut closed = TestProxy::start(&[], vec![]).await;
    let res = send(&closed.socket, request("GET", &url).body(empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!network(closed.event().await).2);
}

#[tokio::test]
async fn shutting_down_removes_the_socket() {
    let proxy = TestProxy::start(&[], vec![]).await;
    let socket = proxy.socket.clone();
    assert!(socket.exists());
    proxy.handle.shutdown().await;
    assert!(!socket.exists());
    assert!(tokio::net::UnixStream::connect(&socket).await.is_err());
}

/// Clients that send everything through `HTTP(S)_PROXY` and ignore `NO_PROXY` (Qwen Code)
/// tunnel to the proxy's own address inside the sandbox; the tunnel reaches the broker.
#[tokio::test]
async fn a_tunnel_to_the_proxy_itself_reaches_the_broker() {
    use hyper_util::rt::TokioIo;

    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("egress.sock");
    let (tx, _events) = tokio::sync::mpsc::channel(64);
    let allow = [format!("127.0.0.1:{}", upstream.port())];
    let policy = drydock_egress::Policy::from_config::<String>(&[], &allow).unwrap();
    let mut config = drydock_egress::ProxyConfig::new(&socket, policy, tx);
    config.routes = vec![anthropic(&upstream)];
    config.sandbox_port = Some(3128);
    let _proxy = drydock_egress::Proxy::start(config).await.unwrap();

    let connect = request("CONNECT", "127.0.0.1:3128").body(empty()).unwrap();
    let res = send(&socket, connect).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tunnel = hyper::upgrade::on(res).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(TokioIo::new(tunnel))).await.unwrap();
    tokio::spawn(conn);
    let req = request("POST", "/anthropic/v1/echo")
        .header("host", "127.0.0.1:3128")
        .header("x-api-key", PLACEHOLDER)
        .body(empty())
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, format!("you sent {PLACEHOLDER}"));
    assert_eq!(upstream.requests()[0].headers["x-api-key"], REAL_KEY);
}

#[tokio::test]
async fn a_brokered_github_token_reaches_only_copilot_and_is_worthless_elsewhere() {
    const REAL_TOKEN: &str = "gho_REALgithubTOKENneverINtheSANDBOX";
    let github = Upstream::start().await;
    let copilot = Upstream::start().await;
    let brokered = drydock_egress::broker_copilot_token(
        &format!("{}/api/v3", github.url()),
        &copilot.url(),
        Secret::new(REAL_TOKEN),
        3128,
    )
    .unwrap();
    let allow = [format!("127.0.0.1:{}", github.port()), format!("127.0.0.1:{}", copilot.port())];
    let proxy = TestProxy::start(&allow, brokered.routes).await;
    let bearer = format!("Bearer {}", brokered.placeholder);
    let get = |uri: &str, auth: &str| {
        request("GET", uri).header("authorization", auth).body(empty()).unwrap()
    };

    // What the CLI calls: GitHub's copilot_internal paths on the broker's origin, and the
    // Copilot API on its route; both upstreams get the real token.
    let res = send(&proxy.socket, get("/copilot_internal/user", &bearer)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = send(&proxy.socket, get("/github-copilot/models", &bearer)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = github.requests();
    assert_eq!(seen[0].path, "/api/v3/copilot_internal/user");
    assert_eq!(seen[0].headers["authorization"], format!("Bearer {REAL_TOKEN}"));
    assert_eq!(copilot.requests()[0].path, "/models");
    assert_eq!(copilot.requests()[0].headers["authorization"], format!("Bearer {REAL_TOKEN}"));

    // The rest of the GitHub API is no route at all, and another token is refused.
    for (path, auth, status) in [
        ("/user", bearer.as_str(), StatusCode::NOT_FOUND),
        ("/repos/o/r/contents/x", bearer.as_str(), StatusCode::NOT_FOUND),
        ("/copilot_internal/user", "Bearer gho_someone-elses", StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(send(&proxy.socket, get(path, auth)).await.status(), status, "{path}");
    }
    // Outside the broker routes the placeholder is only a string: sent to another host (here
    // plain HTTP through the proxy to an allowed endpoint) it arrives as it left.
    let elsewhere = format!("{}/user", github.url());
    let res = send(&proxy.socket, get(&elsewhere, &bearer)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = github.requests();
    assert_eq!(seen.len(), 2, "only the brokered call and the plain one: {:?}", seen.len());
    assert_eq!(seen[1].headers["authorization"], bearer);
}
