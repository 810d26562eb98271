//! Web terminal keystroke-to-echo: from sending `{"type":"input","data":"x"}` on the terminal's
//! WebSocket to receiving the binary frame that echoes it, through actix-ws, the session's
//! writer and reader, the pseudo-terminal and bash's readline inside a real bubblewrap sandbox
//! (a kept-alive task run by the fake agent, on a real PostgreSQL).
//!
//! Run: `cargo bench -p drydock-api --bench terminal` (figures in docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::events::hub::Hub;
use fakes::git::BareRepo;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEYSTROKES: usize = 300;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn exec(url: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads frames until a binary one contains `byte`.
async fn until_echo(ws: &mut Ws, byte: u8) {
    loop {
        match ws.next().await.expect("the socket stays open").expect("a frame") {
            Message::Binary(bytes) if bytes.contains(&byte) => return,
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => {}
        }
    }
}

#[actix_web::main]
async fn main() {
    let name = format!("drydock_bench_{}", Uuid::new_v4().simple());
    exec(&admin_url(), &format!("CREATE DATABASE {name}")).await;
    let admin = admin_url();
    let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    drydock_api::db::migrate(&url).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\nmaster_key = \"{KEY}\"\ndata_dir = \"{}\"\n[tasks]\nworkers = 1\nallow_local_repos = true\ngenerate_names = false\ndaily_quota = 1000\nsandbox_relay = \"{}\"\n[agent_binaries]\nclaude = \"{}\"\n",
        data.path().display(),
        env!("CARGO_BIN_EXE_drydock"),
        fakes::git::fake_agent().display()
    );
    let settings = Settings::from_toml(&toml).unwrap();
    let pool = drydock_api::db::build_pool(&url, &settings.database).unwrap();
    let secrets = SecretBox::from_config(settings.master_key.as_ref().unwrap(), &[]).unwrap();
    let hub = Hub::start(url.clone());
    let sandbox = drydock_api::sandboxes::build(&settings).unwrap();
    let app = drydock_api::startup::Application::build(
        settings.clone(),
        pool.clone(),
        secrets.clone(),
        hub.clone(),
        sandbox.clone(),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.into_server());
    let ctx = drydock_api::worker::WorkerContext::new(
        std::sync::Arc::new(settings),
        pool.clone(),
        hub,
        secrets,
        sandbox,
    )
    .await
    .unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    drydock_api::worker::spawn(ctx, 1, shutdown);
    let user = Uuid::new_v4();
    exec(&url, &format!("INSERT INTO users (id, username) VALUES ('{user}', 'bench')")).await;
    let (_, token) = {
        let mut conn = pool.get().await.unwrap();
        drydock_api::tokens::model::create(&mut conn, user, "bench").await.unwrap()
    };
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{base}/api/v1/me/keys/anthropic"))
        .bearer_auth(&token)
        .json(&json!({"value": "sk-ant-bench-0000"}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let repo = BareRepo::new();
    let task: Value = client
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "x [[write:a.txt=1]]"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    let waiting = Instant::now();
    loop {
        let t: Value = client
            .get(format!("{base}/api/v1/tasks/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if t["status"] == "completed" {
            break;
        }
        assert!(t["status"] == "pending" || t["status"] == "processing", "{t}");
        assert!(waiting.elapsed() < Duration::from_secs(120), "the run never finished: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let ws_url = format!("{base}/api/v1/tasks/{id}/terminal").replacen("http://", "ws://", 1);
    let mut request = ws_url.into_client_request().unwrap();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    request.headers_mut().insert("authorization", bearer);
    let opening = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    // The shell is up once it answers a command.
    let ready = json!({"type": "input", "data": "echo READY$((1+1))\r"}).to_string();
    ws.send(Message::Text(ready.into())).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("READY2") {
        if let Message::Binary(bytes) = ws.next().await.unwrap().unwrap() {
            seen.extend_from_slice(&bytes);
        }
    }
    let opened = opening.elapsed();

    let key = json!({"type": "input", "data": "x"}).to_string();
    let erase = json!({"type": "input", "data": "\u{7f}"}).to_string();
    let mut times = Vec::with_capacity(KEYSTROKES);
    for _ in 0..KEYSTROKES {
        let sent = Instant::now();
        ws.send(Message::Text(key.clone().into())).await.unwrap();
        until_echo(&mut ws, b'x').await;
        times.push(sent.elapsed());
        // Rub it out so the line stays short; its echo is a backspace.
        ws.send(Message::Text(erase.clone().into())).await.unwrap();
        until_echo(&mut ws, 0x08).await;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "terminal keystroke → echo over {KEYSTROKES} keys: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, min {:.2} ms (connect to first answer {:.0} ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(times[times.len() - 1]),
        ms(times[0]),
        ms(opened)
    );
    let _ = ws.close(None).await;
    let _ = stop.send(true);
}
