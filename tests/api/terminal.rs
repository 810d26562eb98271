//! The web terminal over a real WebSocket (tokio-tungstenite) into a real kept-alive sandbox:
//! who may open it, the frames both ways, resize, several sessions and reattaching.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use uuid::Uuid;

use crate::support::git::BareRepo;
use crate::support::{finished, json, spec, TestApp, TEST_MASTER_KEY};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A hang guard for one exchange, not a measure.
const PATIENCE: Duration = Duration::from_secs(30);

async fn kept_alive_task(app: &TestApp, token: &str, repo: &BareRepo) -> String {
    let task = app
        .create_task(
            token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "x [[write:a.txt=1]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    id
}

fn ws_url(app: &TestApp, task: &str, query: &str) -> String {
    app.url(&format!("/api/v1/tasks/{task}/terminal{query}")).replacen("http://", "ws://", 1)
}

async fn connect(url: &str, bearer: Option<&str>) -> Result<Ws, WsError> {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        request.headers_mut().insert("authorization", value);
    }
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

/// The HTTP status a refused upgrade answered with.
async fn refused(url: &str, bearer: Option<&str>) -> (u16, Value) {
    match connect(url, bearer).await {
        Ok(_) => panic!("{url} upgraded"),
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            (response.status().as_u16(), serde_json::from_slice(body).unwrap_or(Value::Null))
        }
        Err(other) => panic!("{url}: {other}"),
    }
}

async fn mint(app: &TestApp, token: &str, task: &str) -> String {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{task}/terminal/token")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body = json(res, 201).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/terminal/token", 201, &body);
    body["token"].as_str().unwrap().to_owned()
}

/// The first frame: the session's id, and whether this was a reattach.
async fn hello(ws: &mut Ws) -> (Uuid, bool) {
    let frame = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap().unwrap().unwrap();
    let Message::Text(text) = frame else { panic!("first frame {frame:?}") };
    let hello: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(hello["type"], "session", "{hello}");
    (hello["id"].as_str().unwrap().parse().unwrap(), hello["reattached"].as_bool().unwrap())
}

/// The output as lines, without carriage returns and bash's bracketed-paste switches.
fn lines(output: &str) -> Vec<String> {
    output
        .replace("\u{1b}[?2004l", "")
        .replace("\u{1b}[?2004h", "")
        .replace('\r', "")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Reads binary output until a line of it is exactly `line`; returns all of it.
async fn read_line(ws: &mut Ws, line: &str) -> String {
    read_while(ws, line, |out| lines(out).iter().any(|l| l == line)).await
}

/// Reads binary output until it holds `needle`; returns all of it.
async fn read_until(ws: &mut Ws, needle: &str) -> String {
    read_while(ws, needle, |out| out.contains(needle)).await
}

async fn read_while(ws: &mut Ws, needle: &str, done: impl Fn(&str) -> bool) -> String {
    let mut out = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = ws.next().await {
            match frame.unwrap() {
                Message::Binary(bytes) => out.extend_from_slice(&bytes),
                Message::Text(text) => panic!("unexpected control frame {text}"),
                Message::Close(close) => panic!("closed: {close:?}"),
                _ => {}
            }
            if done(&String::from_utf8_lossy(&out)) {
                return;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(found.is_ok(), "no {needle:?} in the output: {text:?}");
    text
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::Text(message.to_string().into())).await.unwrap();
}

async fn type_line(ws: &mut Ws, line: &str) {
    send(ws, json!({"type": "input", "data": format!("{line}\r")})).await;
}

/// The close frame the server ends with.
async fn close_frame(ws: &mut Ws) -> (CloseCode, String) {
    let closed = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = ws.next().await {
            if let Ok(Message::Close(Some(frame))) = frame {
                return Some((frame.code, frame.reason.to_string()));
            }
        }
        None
    })
    .await;
    closed.unwrap().expect("a close frame with a reason")
}

#[actix_web::test]
async fn only_the_owner_opens_a_terminal_and_only_with_a_live_sandbox() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("owner").await;
    let (_, other) = app.user_with_token("stranger").await;
    let repo = BareRepo::new();
    let id = kept_alive_task(&app, &token, &repo).await;
    let path = format!("/api/v1/tasks/{id}/terminal");

    // No credentials: 401, before any upgrade.
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    let body = json(res, 401).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/terminal", 401, &body);
    let (status, _) = refused(&ws_url(&app, &id, ""), None).await;
    assert_eq!(status, 401);
    // Another user: 404 for the terminal and for its token.
    let (status, body) = refused(&ws_url(&app, &id, ""), Some(&other)).await;
    assert_eq!(status, 404, "{body}");
    spec::assert_valid("get", "/api/v1/tasks/{id}/terminal", 404, &body);
    let res = app
        .client
        .post(app.url(&format!("{path}/token")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    json(res, 404).await;
    let res = app.client.post(app.url(&format!("{path}/token"))).send().await.unwrap();
    json(res, 401).await;

    // A token for another task of the same user is refused, and so are an expired one, a
    // used one and garbage.
    let other_task = kept_alive_task(&app, &token, &repo).await;
    let foreign = mint(&app, &token, &other_task).await;
    let (status, _) = refused(&ws_url(&app, &id, &format!("?token={foreign}")), None).await;
    assert_eq!(status, 401, "a token of another task");
    let owner_id: Uuid = {
        let me = app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
        json(me, 200).await["id"].as_str().unwrap().parse().unwrap()
    };
    let secrets = drydock_api::crypto::SecretBox::new(
        drydock_api::crypto::decode_key(TEST_MASTER_KEY).unwrap(),
        &[],
    );
    let expired = drydock_api::terminal::token::seal(
        &secrets,
        owner_id,
        id.parse().unwrap(),
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .unwrap();
    let (status, _) = refused(&ws_url(&app, &id, &format!("?token={expired}")), None).await;
    assert_eq!(status, 401, "an expired token");
    let (status, _) = refused(&ws_url(&app, &id, "?token=not-a-token"), None).await;
    assert_eq!(status, 401);
    let good = mint(&app, &token, &id).await;
    let mut ws = connect(&ws_url(&app, &id, &format!("?token={good}")), None).await.unwrap();
    hello(&mut ws).await;
    ws.close(None).await.unwrap();
    let (status, _) = refused(&ws_url(&app, &id, &format!("?token={good}")), None).await;
    assert_eq!(status, 401, "a token works once");
    // A read-only API token may not open a shell.
    let read_only = {
        let mut conn = app.pool.get().await.unwrap();
        let scopes = [shared::tokens::TokenScope::Read];
        drydock_api::tokens::model::create_with(&mut conn, owner_id, "ro", &scopes, None)
            .await
            .unwrap()
            .1
    };
    let (status, _) = refused(&ws_url(&app, &id, ""), Some(&read_only)).await;
    assert_eq!(status, 403, "a read-only token");
    // The owner's session cookie opens it from Drydock's own origin (here it gets as far as
    // the upgrade), never from another (a page of the same site, say).
    let cookies = crate::support::client(true);
    let login = cookies
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "owner", "password": "password123"}))
        .send()
        .await
        .unwrap();
    json(login, 200).await;
    let res = cookies.get(app.url(&path)).header("origin", app.base.clone()).send().await.unwrap();
    let body = json(res, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("WebSocket upgrade"), "{body}");
    let res =
        cookies.get(app.url(&path)).header("origin", "http://evil.example").send().await.unwrap();
    let foreign = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert!(
        foreign == 403 && text.contains("own origin"),
        "a foreign origin got {foreign}: {text}"
    );
    // Bad sizes and an unknown session.
    let (status, body) = refused(&ws_url(&app, &id, "?cols=0"), Some(&token)).await;
    assert_eq!(status, 422, "{body}");
    let unknown = Uuid::new_v4();
    let (status, _) =
        refused(&ws_url(&app, &id, &format!("?session={unknown}")), Some(&token)).await;
    assert_eq!(status, 404);

    // A task whose sandbox is gone (not kept alive): 409 with a clear message.
    let gone = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "x [[write:b.txt=1]]"}),
        )
        .await;
    let gone = gone["id"].as_str().unwrap().to_owned();
    app.wait_for(&token, &gone, "the run", finished).await;
    let (status, body) = refused(&ws_url(&app, &gone, ""), Some(&token)).await;
    assert_eq!(status, 409, "{body}");
    spec::assert_valid("get", "/api/v1/tasks/{id}/terminal", 409, &body);
    assert!(body["detail"].as_str().unwrap().contains("no live sandbox"), "{body}");
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{gone}/terminal/token")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = json(res, 409).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/terminal/token", 409, &body);
}

#[actix_web::test]
async fn echo_resize_several_sessions_bad_frames_and_reattach() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("typist").await;
    let repo = BareRepo::new();
    let id = kept_alive_task(&app, &token, &repo).await;

    let mut ws = connect(&ws_url(&app, &id, "?cols=80&rows=24"), Some(&token)).await.unwrap();
    let (session, reattached) = hello(&mut ws).await;
    assert!(!reattached);
    // `hi` alone on a line: the shell's answer, not the echo of what was typed.
    type_line(&mut ws, "echo hi").await;
    read_line(&mut ws, "hi").await;
    type_line(&mut ws, "pwd; id -u").await;
    let out = read_line(&mut ws, "1000").await;
    assert!(out.contains("/workspace/repo"), "the shell starts in the clone: {out:?}");

    send(&mut ws, json!({"type": "resize", "cols": 120, "rows": 40})).await;
    type_line(&mut ws, "stty size").await;
    read_line(&mut ws, "40 120").await;

    // A second terminal on the same task is a session of its own.
    let mut second = connect(&ws_url(&app, &id, ""), Some(&token)).await.unwrap();
    let (other, _) = hello(&mut second).await;
    assert_ne!(other, session);
    type_line(&mut second, "echo two$((1+1))").await;
    read_until(&mut second, "two2").await;
    second.close(None).await.unwrap();

    // Leave, then come back with a browser token: the recent output is replayed and the same
    // shell answers.
    ws.close(None).await.unwrap();
    let browser = mint(&app, &token, &id).await;
    let mut again =
        connect(&ws_url(&app, &id, &format!("?token={browser}&session={session}")), None)
            .await
            .unwrap();
    let (same, reattached) = hello(&mut again).await;
    assert_eq!(same, session);
    assert!(reattached);
    read_line(&mut again, "40 120").await;
    type_line(&mut again, "echo back$((2+2))").await;
    read_until(&mut again, "back4").await;

    // A connection that attaches displaces the one before.
    let mut third =
        connect(&ws_url(&app, &id, &format!("?session={session}")), Some(&token)).await.unwrap();
    hello(&mut third).await;
    let (code, reason) = close_frame(&mut again).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("another connection"), "{reason}");

    // Bad frames close the connection with a reason, never the shell.
    third.send(Message::Text("not json".into())).await.unwrap();
    let (code, reason) = close_frame(&mut third).await;
    assert_eq!(code, CloseCode::Invalid);
    assert!(reason.contains("not a terminal message"), "{reason}");
    let mut fourth =
        connect(&ws_url(&app, &id, &format!("?session={session}")), Some(&token)).await.unwrap();
    hello(&mut fourth).await;
    send(&mut fourth, json!({"type": "resize", "cols": 0, "rows": 5})).await;
    let (code, reason) = close_frame(&mut fourth).await;
    assert_eq!(code, CloseCode::Invalid);
    assert!(reason.contains("resize"), "{reason}");
    let mut fifth =
        connect(&ws_url(&app, &id, &format!("?session={session}")), Some(&token)).await.unwrap();
    hello(&mut fifth).await;
    fifth.send(Message::Binary(b"ls\r".to_vec().into())).await.unwrap();
    let (code, _) = close_frame(&mut fifth).await;
    assert_eq!(code, CloseCode::Unsupported);

    // `exit` ends the session: an exit frame, a normal close, and no reattaching.
    let mut last =
        connect(&ws_url(&app, &id, &format!("?session={session}")), Some(&token)).await.unwrap();
    hello(&mut last).await;
    type_line(&mut last, "exit").await;
    let exit = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = last.next().await {
            if let Ok(Message::Text(text)) = frame {
                return serde_json::from_str::<Value>(&text).unwrap();
            }
        }
        Value::Null
    })
    .await
    .unwrap();
    assert_eq!(exit["type"], "exit", "{exit}");
    let (code, _) = close_frame(&mut last).await;
    assert_eq!(code, CloseCode::Normal);
    let (status, _) =
        refused(&ws_url(&app, &id, &format!("?session={session}")), Some(&token)).await;
    assert_eq!(status, 404, "an ended session cannot be reattached");
}
