//! `POST /tasks/{id}/terminal/token` and `GET /tasks/{id}/terminal` (the WebSocket).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, post, web, FromRequest, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use sandbox::{TerminalRequest, TerminalSize};
use serde::Deserialize;
use shared::terminal::{ClientMessage, ServerMessage, TerminalToken};
use shared::tokens::TokenScope;
use utoipa::IntoParams;
use uuid::Uuid;

use super::sessions::{Attachment, Live, MAX_PER_TASK};
use super::Terminals;
use crate::auth::{AuthVia, CurrentUser};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model as tasks;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(issue_token).service(connect);
}

/// Largest frame a client may send: a paste of this size is plenty.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often the connection pings the client and checks that its credentials still hold.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// A token for opening this task's terminal from a browser (`?token=`): it works once, for
/// this task only, for 60 seconds.
#[utoipa::path(
    tag = "tasks", operation_id = "create_terminal_token",
    params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 201, body = TerminalToken), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "The task has no live sandbox")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/terminal/token")]
async fn issue_token(
    state: web::Data<AppState>,
    terminals: web::Data<Terminals>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let task = tasks::owned(&mut *state.conn().await?, user.id, *id).await?;
    // Said here too, where a browser can read it (a refused WebSocket shows no body).
    live_sandbox(&state, &task).await?;
    let (token, expires_at) = terminals.tokens.issue(&state.secrets, user.id, *id)?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TerminalToken { token, expires_at }))
}

/// Query of the terminal WebSocket.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConnectQuery {
    /// A token from `POST /tasks/{id}/terminal/token`, for browsers; otherwise the bearer
    /// token or the session cookie authenticates.
    token: Option<String>,
    /// Reattach to this running session (its id is the first frame of every connection).
    session: Option<Uuid>,
    /// Columns of a new terminal (default 80).
    cols: Option<u16>,
    /// Rows of a new terminal (default 24).
    rows: Option<u16>,
}

/// Who is connecting, and how they proved it.
enum Caller {
    /// A bearer token or the session cookie: re-checked while the connection lasts.
    Authenticated(Box<CurrentUser>),
    /// A terminal token: the account is re-checked while the connection lasts.
    Token(Uuid),
}

impl Caller {
    fn user_id(&self) -> Uuid {
        match self {
            Self::Authenticated(user) => user.id,
            Self::Token(id) => *id,
        }
    }

    async fn still_valid(&self, state: &AppState) -> bool {
        match self {
            Self::Authenticated(user) => crate::auth::still_valid(state, user).await,
            Self::Token(id) => match state.conn().await {
                Ok(mut conn) => crate::accounts::model::find(&mut conn, *id)
                    .await
                    .map(|u| u.is_some_and(|u| u.is_active()))
                    .unwrap_or(true),
                Err(_) => true,
            },
        }
    }
}

/// Origins a cookie-authenticated terminal may be opened from: the browser sends the cookie
/// with a WebSocket from any page of the same site (a preview on a sibling domain, say), so
/// the origin is checked as CORS would check it.
fn origin_allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser: browsers always send Origin on a WebSocket.
        return true;
    };
    let settings = &state.settings;
    let origin = origin.trim_end_matches('/');
    origin == settings.public_base().trim_end_matches('/')
        || origin == settings.web_base().trim_end_matches('/')
        || settings.cors_origins.iter().any(|o| o.trim_end_matches('/') == origin)
}

async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    terminals: &Terminals,
    task_id: Uuid,
    token: Option<&str>,
) -> ApiResult<Caller> {
    if let Some(token) = token {
        let user_id = terminals.tokens.redeem(&state.secrets, token, task_id).map_err(|why| {
            tracing::info!(task = %task_id, reason = why.message(), "terminal token refused");
            ApiError::Unauthorized
        })?;
        let mut conn = state.conn().await?;
        crate::accounts::model::find(&mut conn, user_id)
            .await?
            .filter(crate::accounts::User::is_active)
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Caller::Token(user_id));
    }
    let user = CurrentUser::extract(req).await?;
    if matches!(user.via, AuthVia::Session { .. }) && !origin_allowed(req, state) {
        return Err(ApiError::Forbidden(
            "A terminal opened with the session cookie must come from Drydock's own origin.".into(),
        ));
    }
    // A shell can change everything the task has: reading is not enough.
    if !user.may(TokenScope::Write) {
        return Err(ApiError::Forbidden(
            "This token lacks the `write` scope a terminal needs.".into(),
        ));
    }
    Ok(Caller::Authenticated(Box::new(user)))
}

/// The task's terminal: a WebSocket carrying a login shell on a pseudo-terminal in the task's
/// live sandbox (see docs/terminal.md). Client → server: text frames of JSON,
/// `{"type":"input","data":"…"}` and `{"type":"resize","cols":N,"rows":M}`. Server → client:
/// binary frames of raw terminal output, and text frames of JSON control messages, first
/// `{"type":"session","id":"…","reattached":false}`, last `{"type":"exit"}` when the shell
/// exits. Reattach with `?session=` while the shell runs: recent output is replayed.
#[utoipa::path(
    tag = "tasks", operation_id = "open_terminal",
    params(("id" = Uuid, Path, description = "Task id"), ConnectQuery),
    responses(
        (status = 101, description = "Switching Protocols: the terminal's WebSocket"),
        (status = 400, body = shared::Problem, description = "Not a WebSocket upgrade, or a bad query"),
        (status = 401, body = shared::Problem, description = "No credentials, or a terminal token that is invalid, expired, used or for another task"),
        (status = 403, body = shared::Problem, description = "A cookie from another origin, or a token without the `write` scope"),
        (status = 404, body = shared::Problem, description = "No such task (or not yours), or no such running session"),
        (status = 409, body = shared::Problem, description = "The task has no live sandbox, or too many terminals are open"),
        (status = 422, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []), ())
)]
#[get("/tasks/{id}/terminal")]
async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    terminals: web::Data<Terminals>,
    id: web::Path<Uuid>,
    query: web::Query<ConnectQuery>,
) -> ApiResult<HttpResponse> {
    let task_id = *id;
    let caller = authenticate(&req, &state, &terminals, task_id, query.token.as_deref()).await?;
    let task = tasks::owned(&mut *state.conn().await?, caller.user_id(), task_id).await?;
    let size = size(&query)?;
    // The handshake first: a request that is no upgrade must not leave a shell behind.
    let (response, session, messages) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::BadRequest(format!("Open the terminal with a WebSocket upgrade: {e}"))
    })?;
    let live = match query.session {
        Some(session) => {
            terminals.sessions.find(session, task_id, caller.user_id()).ok_or(ApiError::NotFound)?
        }
        None => open(&state, &terminals, &task, caller.user_id(), size).await?,
    };
    let reattached = query.session.is_some();
    let messages = messages.max_frame_size(MAX_FRAME_BYTES);
    let attachment = live.attach();
    actix_web::rt::spawn(serve(
        state.into_inner(),
        caller,
        live,
        attachment,
        reattached,
        session,
        messages,
    ));
    Ok(response)
}

fn size(query: &ConnectQuery) -> ApiResult<TerminalSize> {
    TerminalSize::new(query.cols.unwrap_or(80), query.rows.unwrap_or(24))
        .map_err(|_| ApiError::invalid("cols", "columns and rows must each be 1 to 1000"))
}

/// The task's live sandbox, or 409.
async fn live_sandbox(
    state: &AppState,
    task: &tasks::TaskRow,
) -> ApiResult<sandbox::SandboxHandle> {
    let no_sandbox = || {
        ApiError::Conflict(format!(
            "The task has no live sandbox to open a terminal in: start it first (POST \
             /api/v1/tasks/{}/sandbox/start), or create tasks with keep_alive.",
            task.id
        ))
    };
    let sandbox_id = task.sandbox_id.as_deref().ok_or_else(no_sandbox)?;
    match state.sandbox.open(sandbox_id).await {
        Ok(handle) => Ok(handle),
        Err(sandbox::SandboxError::NotFound { .. }) => Err(no_sandbox()),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

/// A new terminal in the task's live sandbox.
async fn open(
    state: &AppState,
    terminals: &Terminals,
    task: &tasks::TaskRow,
    user_id: Uuid,
    size: TerminalSize,
) -> ApiResult<std::sync::Arc<Live>> {
    let handle = live_sandbox(state, task).await?;
    if terminals.sessions.count_for(task.id) >= MAX_PER_TASK {
        return Err(ApiError::Conflict(format!(
            "The task has {MAX_PER_TASK} terminals open already; close one first."
        )));
    }
    // In the clone when there is one, where the agent worked.
    let cwd = handle
        .host_workspace
        .as_ref()
        .filter(|w| w.join("repo").is_dir())
        .map_or(String::new(), |_| "repo".to_string());
    let request = TerminalRequest { size, cwd, env: Vec::new() };
    let terminal = state.sandbox.open_terminal(&handle, request).await.map_err(|e| match e {
        sandbox::SandboxError::Unsupported { .. } => ApiError::Conflict(format!(
            "The {} sandbox backend has no terminals.",
            state.sandbox.name()
        )),
        other => ApiError::Internal(other.into()),
    })?;
    Ok(terminals.sessions.adopt(task.id, user_id, terminal))
}

fn close_reason(code: CloseCode, description: &str) -> Option<CloseReason> {
    Some(CloseReason { code, description: Some(description.to_owned()) })
}

/// Carries one connection until either side ends it.
async fn serve(
    state: std::sync::Arc<AppState>,
    caller: Caller,
    live: std::sync::Arc<Live>,
    attachment: Attachment,
    reattached: bool,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
) {
    let Attachment { replay, mut output, generation, mut latest, mut ended } = attachment;
    let hello = ServerMessage::Session { id: live.id, reattached };
    let mut greeted = session.text(serde_json::to_string(&hello).unwrap_or_default()).await.is_ok();
    if greeted && !replay.is_empty() {
        greeted = session.binary(replay).await.is_ok();
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let reason = loop {
        if !greeted {
            break None;
        }
        tokio::select! {
            message = messages.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Err(reason) = handle_frame(&live, &text).await {
                        break reason;
                    }
                }
                Some(Ok(Message::Binary(_))) => break close_reason(
                    CloseCode::Unsupported,
                    "send text frames of JSON: {\"type\":\"input\",...} or {\"type\":\"resize\",...}",
                ),
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Ok(Message::Continuation(_))) => break close_reason(
                    CloseCode::Unsupported,
                    "fragmented frames are not supported",
                ),
                Some(Ok(Message::Pong(_) | Message::Nop)) => {}
                Some(Err(err)) => break close_reason(CloseCode::Protocol, &short(&err.to_string())),
            },
            chunk = output.recv() => match chunk {
                Ok(bytes) => {
                    if session.binary(bytes).await.is_err() {
                        break None;
                    }
                }
                // A client too slow for the output misses some, as a real terminal would not;
                // it can reattach for the recent output.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break None,
            },
            _ = ended.wait_for(|e| *e) => {
                while let Ok(bytes) = output.try_recv() {
                    if session.binary(bytes).await.is_err() {
                        break;
                    }
                }
                let bye = serde_json::to_string(&ServerMessage::Exit).unwrap_or_default();
                let _ = session.text(bye).await;
                break close_reason(CloseCode::Normal, "the shell exited");
            }
            _ = latest.wait_for(|g| *g != generation) => {
                break close_reason(CloseCode::Policy, "another connection attached to this terminal");
            }
            _ = heartbeat.tick() => {
                if !caller.still_valid(&state).await {
                    break close_reason(CloseCode::Policy, "signed out");
                }
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
        }
    };
    live.detach(generation);
    let _ = session.close(reason).await;
}

/// Applies one client frame; a bad one ends the connection with the reason.
async fn handle_frame(live: &Live, text: &str) -> Result<(), Option<CloseReason>> {
    let message: ClientMessage = serde_json::from_str(text).map_err(|e| {
        close_reason(CloseCode::Invalid, &short(&format!("not a terminal message: {e}")))
    })?;
    let gone = || close_reason(CloseCode::Normal, "the shell exited");
    match message {
        ClientMessage::Input { data } => {
            if !live.type_keys(data.into_bytes()).await {
                return Err(gone());
            }
        }
        ClientMessage::Resize { cols, rows } => {
            let size = TerminalSize::new(cols, rows).map_err(|_| {
                close_reason(CloseCode::Invalid, "resize: cols and rows must each be 1 to 1000")
            })?;
            if !live.resize(size).await {
                return Err(gone());
            }
        }
    }
    Ok(())
}

/// A close reason fits in 123 bytes.
fn short(text: &str) -> String {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
