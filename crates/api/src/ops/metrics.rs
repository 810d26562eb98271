//! Prometheus metrics: request counts and latencies per route pattern (never per raw path, so
//! ids do not explode the label space).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, Error, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The registry and its instruments.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    /// Creates and registers the instruments.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("drydock_http_requests_total", "HTTP requests by method, route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "drydock_http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { registry, requests, latency })
    }

    fn render(&self) -> anyhow::Result<String> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8(buf)?)
    }
}

/// Middleware recording every request.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let instruments =
        req.app_data::<web::Data<crate::state::AppState>>().map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.call(req).await?;
    if let Some(instruments) = instruments {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
        let status = res.status().as_u16().to_string();
        instruments.requests.with_label_values(&[&method, &route, &status]).inc();
        instruments
            .latency
            .with_label_values(&[&method, &route])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// Prometheus text exposition.
#[utoipa::path(
    tag = "ops", operation_id = "get_metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<crate::state::AppState>,
) -> crate::error::ApiResult<HttpResponse> {
    let text = state.metrics.render()?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}
