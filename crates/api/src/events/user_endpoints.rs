//! `GET /me/events/stream`: the caller's own events as Server-Sent Events: changes to their
//! tasks (created, status, stage, title, deleted), for a task list to stay current without
//! polling. One follower per user per process serves all of that user's open streams.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::endpoints::{asked_resume_point, serve};
use super::feed::{Feeds, Log};
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(stream_my_events);
}

/// Query of the stream.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MyStreamQuery {
    /// Resume after this seq (the `Last-Event-ID` header wins when both are sent).
    after: Option<i64>,
}

/// The caller's events as Server-Sent Events: `id:` is the seq of the caller's own log, `data:`
/// a `UserEvent` as JSON (kind `task`: one of the caller's tasks was created, changed status,
/// stage or title, or was deleted; the payload is the task as it is afterwards). Only the
/// caller's own tasks ever appear. Resumes after `Last-Event-ID` (or `?after=`) with no gap and
/// no duplicate; without either it starts at the newest event, and its first frame is an `id:`
/// without data that names that point, so a reconnect resumes there too. It stays open (with
/// keep-alive comments) until the client leaves or its session or token ends. To mirror a task
/// list: open the stream, then read the list, then apply each event.
#[utoipa::path(
    tag = "tasks", operation_id = "stream_my_events",
    params(MyStreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "An event stream of `UserEvent`s", content_type = "text/event-stream", body = String),
        (status = 401, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem, description = "The caller has tasks.max_streams_per_user streams open")
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/events/stream")]
async fn stream_my_events(
    state: web::Data<AppState>,
    feeds: web::Data<Feeds>,
    user: CurrentUser,
    query: web::Query<MyStreamQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let log = Log::User(user.id);
    let asked = asked_resume_point(&req, query.after)?;
    let (feed, after) = {
        let mut conn = state.conn().await?;
        let feed = feeds.get(&mut conn, log).await?;
        let after = match asked {
            Some(after) => after,
            None => log.last_seq(&mut conn).await?,
        };
        (feed, after)
    };
    serve(state, feed, log, after, user)
}
