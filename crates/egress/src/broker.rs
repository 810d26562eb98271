//! Broker requests, `/<route>/...`: the placeholder is swapped for the real credential and the
//! request goes to the route's upstream (TLS for https), with the answer streamed back as it
//! arrives (model APIs answer in server-sent events).

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_LENGTH, HOST};
use hyper::{Request, Response, StatusCode};

use crate::connect::Denied;
use crate::flow::{BoxError, Flow, Metered, ProxyBody};
use crate::proxy::{text, State};
use crate::scrub::{scrub_text, Scrubber};
use crate::tunnel::{denied_response, strip_hop_by_hop};

pub(crate) async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<ProxyBody> {
    let path = req.uri().path().to_string();
    let Some((rc, rest)) = state.route_for(&path) else {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        let flow = Flow::new(&state.reporter, "broker", 0, Some(first));
        flow.refuse(format!("no broker route for {path}"));
        return text(StatusCode::NOT_FOUND, format!("drydock egress: no broker route for {path}"));
    };
    let upstream = rc.route.upstream();
    let host = upstream.host_str().unwrap_or_default().to_string();
    let port = upstream.port_or_known_default().unwrap_or(443);
    let mut flow = Flow::new(&state.reporter, &host, port, Some(rc.route.name()));

    let (mut parts, body) = req.into_parts();
    let query = match rc.route.swap_credentials(&mut parts.headers, parts.uri.query()) {
        Ok(query) => query,
        Err(why) => {
            flow.refuse(why);
            return text(StatusCode::UNAUTHORIZED, format!("drydock egress: {why}"));
        }
    };
    let url = match rc.route.target(rest, query.as_deref()) {
        Ok(url) => url,
        Err(why) => {
            flow.refuse(why.clone());
            return text(StatusCode::BAD_REQUEST, format!("drydock egress: {why}"));
        }
    };
    // Address literals never reach the resolver, which does this check for names.
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        if let Err(why) = state.policy.check_address(&host, (ip, port).into()) {
            return denied_response(flow, Denied::Refused(why));
        }
    }

    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(HOST);
    // Plain bodies, so echoed secrets can be scrubbed from them.
    parts.headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let up = flow.up();
    let upload = BodyStream::new(body).filter_map(move |frame| {
        let data = match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(e) => Some(Err(e)),
        };
        if let Some(Ok(bytes)) = &data {
            up.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        std::future::ready(data)
    });
    let request = rc
        .client
        .request(parts.method, url)
        .headers(parts.headers)
        .body(reqwest::Body::wrap_stream(upload));
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let denied = refusal_in(&e).unwrap_or_else(|| Denied::Failed(chain(&e)));
            return denied_response(flow, denied);
        }
    };
    if let Some(addr) = response.remote_addr() {
        flow.connected(addr);
    }
    let status = response.status();
    let mut headers = response.headers().clone();
    strip_hop_by_hop(&mut headers);
    // Scrubbing may change the length; the body goes chunked.
    headers.remove(CONTENT_LENGTH);
    for value in headers.values_mut() {
        let scrubbed = scrub_text(&rc.secrets, value.as_bytes());
        if scrubbed != value.as_bytes() {
            if let Ok(clean) = HeaderValue::from_bytes(&scrubbed) {
                *value = clean;
            }
        }
    }
    let stream =
        response.bytes_stream().map(|chunk| chunk.map(Frame::data).map_err(BoxError::from));
    let down = flow.down();
    let body = Metered::new(BodyExt::boxed(StreamBody::new(stream)), down)
        .scrubbing(Scrubber::new(rc.secrets.clone()))
        .owning(flow)
        .boxed();
    let mut answer = Response::new(body);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    answer
}

/// The policy refusal behind a failed upstream request, if that is what it was.
fn refusal_in(error: &reqwest::Error) -> Option<Denied> {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(denied) = err.downcast_ref::<Denied>() {
            return Some(denied.clone());
        }
        source = err.source();
    }
    None
}

/// The error and its causes on one line.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}
