//! Gives every response an `X-Request-Id` and makes every 5xx body an opaque problem that
//! carries that id, whoever produced the error (our handlers, actix or a middleware). The id is
//! the one tracing-actix-web puts on the request's log span, so a user's report leads to the log.
//!
//! A response marked [`OwnBody`] keeps its body: a preview's answers are the dev server's own
//! pages (its 500 with a stack trace is what the user wants to see) or the gateway's problems,
//! which carry a detail meant for the user and nothing internal.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use shared::error::PROBLEM_CONTENT_TYPE;
use shared::Problem;
use tracing_actix_web::RequestId;

/// Marks a response (in its extensions) whose 5xx body goes to the client as it is.
#[derive(Debug, Clone, Copy)]
pub struct OwnBody;

/// The middleware function; install with `middleware::from_fn(request_id::stamp)` inside
/// `TracingLogger` so the id exists.
pub async fn stamp(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    let status = res.status();
    if let Some(id) = &id {
        if let Ok(value) = HeaderValue::from_str(id) {
            res.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
        }
    }
    if !status.is_server_error() || res.response().extensions().get::<OwnBody>().is_some() {
        return Ok(res.map_body(|_, body| EitherBody::left(body.boxed())));
    }
    let mut problem =
        Problem::new(status.as_u16(), status.canonical_reason().unwrap_or("Server Error"), None);
    problem.kind = format!("https://drydock.dev/problems/{}", status.as_u16());
    if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
        problem.detail = Some("A dependency is unavailable; try again shortly.".into());
    }
    problem.request_id = id;
    let (req, old) = res.into_parts();
    let mut fresh = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.append_header((name.clone(), value.clone()));
        }
    }
    fresh.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
    let fresh = fresh.json(problem);
    Ok(ServiceResponse::new(req, fresh).map_into_right_body())
}
