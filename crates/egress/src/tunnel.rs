//! `CONNECT host:port` tunnels (HTTPS_PROXY) and absolute-form plain-HTTP forwarding
//! (HTTP_PROXY), both through [`connect_checked`].

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;

use crate::connect::{connect_checked, Denied};
use crate::flow::{Flow, Metered, ProxyBody};
use crate::io::Counting;
use crate::proxy::{stopped, text, State};

/// Answers a CONNECT: connects first (so a refusal is a real answer), then relays the upgraded
/// connection until either side closes or the proxy stops.
pub(crate) async fn connect(state: &Arc<State>, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let target = req.uri().authority().and_then(|a| Some((a.host().to_string(), a.port_u16()?)));
    let Some((host, port)) = target else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
    };
    let mut flow = Flow::new(&state.reporter, &host, port, None);
    let (tcp, addr) = match connect_checked(&state.policy, &host, port, state.connect_timeout).await
    {
        Ok(connected) => connected,
        Err(denied) => return denied_response(flow, denied),
    };
    flow.connected(addr);
    let upgrade = hyper::upgrade::on(&mut req);
    let stop = state.stop.clone();
    tokio::spawn(async move {
        let mut upstream = Counting { inner: tcp, read: flow.down(), written: flow.up() };
        let relay = async {
            match upgrade.await {
                Ok(upgraded) => {
                    let mut client = TokioIo::new(upgraded);
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                    {
                        flow.fail(format!("tunnel ended: {e}"));
                    }
                }
                Err(e) => flow.fail(format!("the client did not complete the tunnel: {e}")),
            }
        };
        tokio::select! {
            () = relay => {}
            () = stopped(stop) => {}
        }
    });
    Response::new(Empty::new().map_err(|never| match never {}).boxed())
}

/// Answers a CONNECT to the proxy's own address inside the sandbox: the tunnel carries plain
/// HTTP to the broker, served like any connection from the relay.
pub(crate) fn connect_self(state: &Arc<State>, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let upgrade = hyper::upgrade::on(&mut req);
    let state = state.clone();
    tokio::spawn(async move {
        if let Ok(upgraded) = upgrade.await {
            Box::pin(crate::proxy::serve_http(upgraded, state)).await;
        }
    });
    Response::new(Empty::new().map_err(|never| match never {}).boxed())
}

/// Forwards an absolute-form `http://` request to its origin and streams the answer back.
pub(crate) async fn forward(state: &Arc<State>, req: Request<Incoming>) -> Response<ProxyBody> {
    let uri = req.uri().clone();
    if uri.scheme_str() != Some("http") {
        return text(
            StatusCode::BAD_REQUEST,
            "only http:// URLs are forwarded; use CONNECT for https",
        );
    }
    let Some(authority) = uri.authority().cloned() else {
        return text(StatusCode::BAD_REQUEST, "the URL has no host");
    };
    let (host, port) = (authority.host().to_string(), authority.port_u16().unwrap_or(80));
    let mut flow = Flow::new(&state.reporter, &host, port, None);
    let (tcp, addr) = match connect_checked(&state.policy, &host, port, state.connect_timeout).await
    {
        Ok(connected) => connected,
        Err(denied) => return denied_response(flow, denied),
    };
    flow.connected(addr);
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
            Ok(pair) => pair,
            Err(e) => return denied_response(flow, Denied::Failed(format!("HTTP to {host}: {e}"))),
        };
    let stop = state.stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = connection => {}
            () = stopped(stop) => {}
        }
    });

    let (mut parts, body) = req.into_parts();
    parts.uri = uri.path_and_query().map_or_else(
        || Uri::from_static("/"),
        |pq| Uri::try_from(pq.as_str()).unwrap_or_else(|_| Uri::from_static("/")),
    );
    strip_hop_by_hop(&mut parts.headers);
    if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
        parts.headers.insert(HOST, value);
    }
    let body = Metered::new(body.map_err(Into::into).boxed(), flow.up()).boxed();
    match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let down = flow.down();
            let body = Metered::new(body.map_err(Into::into).boxed(), down).owning(flow).boxed();
            Response::from_parts(parts, body)
        }
        Err(e) => denied_response(flow, Denied::Failed(format!("HTTP to {host}: {e}"))),
    }
}

/// 403 for a refusal, 502 for a failure; the flow is reported either way.
pub(crate) fn denied_response(mut flow: Flow, denied: Denied) -> Response<ProxyBody> {
    match denied {
        Denied::Refused(why) => {
            flow.refuse(why.clone());
            text(StatusCode::FORBIDDEN, format!("drydock egress refused: {why}"))
        }
        Denied::Failed(why) => {
            flow.fail(why.clone());
            drop(flow);
            text(StatusCode::BAD_GATEWAY, format!("drydock egress: {why}"))
        }
    }
}

/// Removes the headers that belong to one connection, not to the request (RFC 9110 §7.6.1),
/// including those named in `Connection`.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .filter(|t| !t.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        // Answered by this proxy's own server; the upstream gets the body right away.
        "expect",
    ] {
        headers.remove(name);
    }
}
