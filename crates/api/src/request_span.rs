//! The log span of every request, as tracing-actix-web's default but without what must not be
//! logged: the query string (an OAuth callback carries the authorization `code` and `state`,
//! an invitation or setup link its token) and a client address taken on trust from
//! `X-Forwarded-For` (see [`crate::proxy`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use crate::state::AppState;

/// The root span builder; install with `TracingLogger::<RedactedRootSpan>::new()`.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id =
            request.extensions().get::<RequestId>().map(|id| id.to_string()).unwrap_or_default();
        let trust =
            request.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.trust_proxy);
        let client_ip = crate::proxy::client_ip(request.request(), trust)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
