//! `GET /tasks/{id}/events` (a page) and `GET /tasks/{id}/events/stream` (Server-Sent Events).

use std::time::Duration;

use actix_web::http::header::{self, EntityTag};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::events::TaskEvent;
use shared::page::Page;
use tokio::sync::mpsc;
use utoipa::IntoParams;
use uuid::Uuid;

use super::feed::{Feed, Feeds, Frame, Log, Next};
use super::store;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::cache::Owned;
use crate::tasks::model as tasks;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events).service(stream_events);
}

/// Query of the event page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events with a greater seq (default 0: from the start).
    after: Option<i64>,
    /// At most this many (default 200, at most 1000).
    limit: Option<i64>,
}

/// A page of a task's events, oldest first. `next_cursor` is the seq to pass as `after`. A full
/// page never changes (events are only appended, with consecutive seqs), so it carries an
/// `ETag`, and a request naming it in `If-None-Match` gets `304` without the events being read.
#[utoipa::path(
    tag = "tasks", operation_id = "list_task_events",
    params(("id" = Uuid, Path, description = "Task id"), EventsQuery),
    responses(
        (status = 200, body = Page<TaskEvent>), (status = 304, description = "Not modified: the full page named by If-None-Match"),
        (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/events")]
async fn list_events(
    state: web::Data<AppState>,
    pages: web::Data<super::pages::ClosedPages>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<EventsQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let after = query.after.unwrap_or(0).max(0);
    let end = after.saturating_add(limit);
    // Taken only when memory cannot answer.
    let mut conn = None;
    let last_seq = match state.tasks.owned(*id) {
        Some(known) if known.owner != user.id => return Err(ApiError::NotFound),
        // A seq once reached stays reached: a page known full needs no fresh count.
        Some(known) if known.last_seq >= end => known.last_seq,
        _ => {
            let generation = state.tasks.generation();
            let conn = conn.insert(state.conn().await?);
            let last_seq =
                store::owned_last_seq(conn, user.id, *id).await?.ok_or(ApiError::NotFound)?;
            state.tasks.put_owned(generation, *id, Owned { owner: user.id, last_seq });
            last_seq
        }
    };
    // Seqs run 1, 2, 3, … with no gaps, so the page is full exactly when this holds.
    let tag = (last_seq >= end).then(|| EntityTag::new_weak(format!("events-v2-{after}-{limit}")));
    if let Some(tag) = tag.as_ref().filter(|t| crate::etag::matches(&req, t)) {
        return Ok(crate::etag::not_modified(tag.clone()));
    }
    let mut res = HttpResponse::Ok();
    res.content_type(header::ContentType::json());
    if let Some(tag) = &tag {
        if let Some(body) = pages.get(*id, after, limit) {
            return Ok(res.insert_header(header::ETag(tag.clone())).body(body));
        }
    }
    let mut conn = match conn {
        Some(conn) => conn,
        None => state.conn().await?,
    };
    let page = store::page_json(&mut conn, *id, after, limit).await?;
    drop(conn);
    let body = web::Bytes::from(page.body);
    if let Some(tag) = tag.filter(|_| page.len == limit) {
        pages.put(*id, after, limit, body.clone());
        res.insert_header(header::ETag(tag));
    }
    Ok(res.body(body))
}

/// Query of the stream.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Resume after this seq (the `Last-Event-ID` header wins when both are sent).
    after: Option<i64>,
}

/// Live events as Server-Sent Events: `id:` is the seq, `data:` the event as JSON. Resumes after
/// `Last-Event-ID` (or `?after=`) with no gap and no duplicate, and closes after the terminal
/// status event when nothing follows it.
#[utoipa::path(
    tag = "tasks", operation_id = "stream_task_events",
    params(("id" = Uuid, Path, description = "Task id"), StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 401, body = shared::Problem), (status = 404, body = shared::Problem),
        (status = 429, body = shared::Problem, description = "The caller has tasks.max_streams_per_user streams open")
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/events/stream")]
async fn stream_events(
    state: web::Data<AppState>,
    feeds: web::Data<Feeds>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<StreamQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let task_id = *id;
    let after = resume_point(&req, query.after)?;
    let feed = {
        let mut conn = state.conn().await?;
        tasks::owned(&mut conn, user.id, task_id).await?;
        feeds.get(&mut conn, Log::Task(task_id)).await?
    };
    serve(state, feed, Log::Task(task_id), after, user)
}

/// Where a stream resumes: after `Last-Event-ID` when sent, else after `?after=`, else from the
/// start.
fn resume_point(req: &HttpRequest, query_after: Option<i64>) -> ApiResult<i64> {
    Ok(asked_resume_point(req, query_after)?.unwrap_or(0))
}

/// `Last-Event-ID` when sent, else `?after=`, when either is.
pub(super) fn asked_resume_point(
    req: &HttpRequest,
    query_after: Option<i64>,
) -> ApiResult<Option<i64>> {
    let header_after = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("Last-Event-ID", "must be an event seq"))
        })
        .transpose()?;
    Ok(header_after.or(query_after).map(|after| after.max(0)))
}

/// The SSE response following `feed` (of `log`) for `user` from `after` on.
pub(super) fn serve(
    state: web::Data<AppState>,
    feed: std::sync::Arc<Feed>,
    log: Log,
    after: i64,
    user: CurrentUser,
) -> ApiResult<HttpResponse> {
    // Held for as long as the stream is open: a user may hold only so many.
    let permit = crate::throttle::StreamPermit::acquire(&state.throttle, user.id)?;
    let (tx, mut rx) = mpsc::channel::<web::Bytes>(64);
    let client = Client { user, _permit: permit };
    actix_web::rt::spawn(pump(state.into_inner(), feed, log, after, tx, client));
    let body = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|b| b.map(Ok::<_, actix_web::Error>))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

const PAGE: i64 = 500;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an open stream checks that its session or token still holds.
const RECHECK: Duration = Duration::from_secs(15);

/// Who a stream serves, and its slot among the user's streams.
struct Client {
    user: CurrentUser,
    _permit: crate::throttle::StreamPermit,
}

/// Feeds one client: from the log's in-memory tail when it holds what comes next, from the
/// database otherwise. Each client has its own bounded channel, so a slow one only ever waits
/// on itself.
async fn pump(
    state: std::sync::Arc<AppState>,
    feed: std::sync::Arc<Feed>,
    log: Log,
    mut last: i64,
    tx: mpsc::Sender<web::Bytes>,
    client: Client,
) {
    // A user's stream names where it starts (an `id:` with no data sets the browser's
    // `lastEventId` without an event), so a reconnect before the first change still resumes.
    let hello = match log {
        Log::Task(_) => web::Bytes::from_static(b"retry: 1000\n\n"),
        Log::User(_) => web::Bytes::from(format!("retry: 1000\nid: {last}\n\n")),
    };
    if tx.send(hello).await.is_err() {
        return;
    }
    let mut changed = feed.watch();
    let mut checked = tokio::time::Instant::now();
    loop {
        // A revoked token, a signed-out or idle session, or a disabled account ends the stream.
        if checked.elapsed() >= RECHECK {
            if !crate::auth::still_valid(&state, &client.user).await {
                return;
            }
            checked = tokio::time::Instant::now();
        }
        changed.borrow_and_update();
        let frames = match feed.next(last) {
            Next::Frames(frames) => frames,
            Next::Behind => match read(&state, log, last).await {
                Some(frames) if !frames.is_empty() => frames,
                Some(_) => Vec::new(),
                None => return,
            },
            Next::Wait => Vec::new(),
        };
        if let Some(end) = frames.last() {
            let ends = end.terminal;
            for frame in frames {
                if tx.send(frame.bytes).await.is_err() {
                    return;
                }
                last = frame.seq;
            }
            // Close after a terminal event unless something already follows it.
            if ends && matches!(feed.next(last), Next::Wait) {
                return;
            }
            continue;
        }
        let waited = tokio::select! {
            waited = tokio::time::timeout(KEEP_ALIVE, changed.changed()) => waited,
            // The client went away: end now, giving its stream slot back.
            () = tx.closed() => return,
        };
        match waited {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                if tx.send(web::Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A page of older events from the database, for a client behind the tail.
async fn read(state: &AppState, log: Log, after: i64) -> Option<Vec<Frame>> {
    loop {
        match state.conn().await {
            Ok(mut conn) => return log.frames_after(&mut conn, after, PAGE).await.ok(),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
