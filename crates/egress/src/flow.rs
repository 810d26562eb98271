//! One connection (or broker request) and the `network` event it produces when it ends.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};
use shared::events::EventBody;
use tokio::sync::mpsc;

use crate::scrub::Scrubber;

/// Any error of a body passing through the proxy.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every response the proxy sends.
pub(crate) type ProxyBody = BoxBody<Bytes, BoxError>;

/// Where events go. A full channel drops the event and counts it, so a slow consumer never
/// stalls traffic and a flood of connections cannot grow memory.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    tx: mpsc::Sender<EventBody>,
    dropped: Arc<AtomicU64>,
}

impl Reporter {
    pub(crate) fn new(tx: mpsc::Sender<EventBody>) -> Self {
        Self { tx, dropped: Arc::new(AtomicU64::new(0)) }
    }

    pub(crate) fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    fn send(&self, event: EventBody) {
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A connection in progress; its event is sent when the last holder drops it.
#[derive(Debug)]
pub(crate) struct Flow {
    reporter: Reporter,
    host: String,
    port: u16,
    route: Option<String>,
    address: Option<SocketAddr>,
    allowed: bool,
    reason: Option<String>,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

impl Flow {
    pub(crate) fn new(reporter: &Reporter, host: &str, port: u16, route: Option<&str>) -> Self {
        Self {
            reporter: reporter.clone(),
            host: host.to_string(),
            port,
            route: route.map(str::to_string),
            address: None,
            allowed: true,
            reason: None,
            up: Arc::default(),
            down: Arc::default(),
        }
    }

    /// Refused by policy: reported now.
    pub(crate) fn refuse(mut self, reason: impl Into<String>) {
        self.allowed = false;
        self.reason = Some(reason.into());
    }

    /// Allowed, but it failed (connection refused, upstream error).
    pub(crate) fn fail(&mut self, reason: impl Into<String>) {
        self.reason.get_or_insert(reason.into());
    }

    pub(crate) fn connected(&mut self, address: SocketAddr) {
        self.address = Some(address);
    }

    pub(crate) fn up(&self) -> Arc<AtomicU64> {
        self.up.clone()
    }

    pub(crate) fn down(&self) -> Arc<AtomicU64> {
        self.down.clone()
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.reporter.send(EventBody::Network {
            host: std::mem::take(&mut self.host),
            port: self.port,
            address: self.address.map(|a| a.ip().to_string()),
            allowed: self.allowed,
            reason: self.reason.take(),
            route: self.route.take(),
            bytes_up: self.up.load(Ordering::Relaxed),
            bytes_down: self.down.load(Ordering::Relaxed),
        });
    }
}

/// A body that counts its bytes, optionally scrubs secrets from them, and keeps the flow alive
/// until it is finished or dropped.
pub(crate) struct Metered {
    inner: ProxyBody,
    counter: Arc<AtomicU64>,
    scrubber: Option<Scrubber>,
    done: bool,
    _flow: Option<Flow>,
}

impl Metered {
    pub(crate) fn new(inner: ProxyBody, counter: Arc<AtomicU64>) -> Self {
        Self { inner, counter, scrubber: None, done: false, _flow: None }
    }

    /// Replaces secrets in the data (see [`Scrubber`]).
    pub(crate) fn scrubbing(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = (!scrubber.is_noop()).then_some(scrubber);
        self
    }

    /// Reports `flow` when this body ends.
    pub(crate) fn owning(mut self, flow: Flow) -> Self {
        self._flow = Some(flow);
        self
    }

    pub(crate) fn boxed(self) -> ProxyBody {
        BoxBody::new(self)
    }
}

impl Body for Metered {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                        let data = match &mut this.scrubber {
                            Some(s) => Bytes::from(s.push(&data)),
                            None => data,
                        };
                        if data.is_empty() {
                            continue;
                        }
                        Poll::Ready(Some(Ok(Frame::data(data))))
                    }
                    Err(frame) => Poll::Ready(Some(Ok(frame))),
                },
                Poll::Ready(None) => {
                    this.done = true;
                    match this.scrubber.as_mut().map(Scrubber::finish) {
                        Some(rest) if !rest.is_empty() => {
                            Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))))
                        }
                        _ => Poll::Ready(None),
                    }
                }
                other => other,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || (self.scrubber.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        match self.scrubber {
            // Scrubbing may change the length.
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}
