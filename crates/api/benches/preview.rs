//! Preview proxy overhead: a small page from the tiny node dev server (`fakes::dev_app`), asked
//! the three ways a request can reach it, one new connection per request each time (as the
//! proxy itself makes one per request to the sandbox):
//! 1. straight to the same server run on the host's loopback (the floor);
//! 2. through the sandbox's ingress socket and relay, no Drydock in between;
//! 3. through Drydock's preview proxy (`/preview/<id>/`, cookie check, header filtering), which
//!    adds the difference between 3 and 2.
//!
//! Run: `cargo bench -p drydock-api --bench preview` (TEST_DATABASE_URL selects the server;
//! figures in docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::events::hub::Hub;
use serde_json::{json, Value};
use uuid::Uuid;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ROUNDS: usize = 500;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn exec(url: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
}

/// One `GET` with `Connection: close` over `stream`; the whole answer.
fn get(mut stream: impl Read + Write, path: &str, cookie: &str) -> String {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

fn measure(what: &str, mut once: impl FnMut()) {
    for _ in 0..20 {
        once();
    }
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            once();
            started.elapsed()
        })
        .collect();
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{what}: {ROUNDS} requests, p50 {:.0} µs, p99 {:.0} µs",
        us(times[ROUNDS / 2]),
        us(times[ROUNDS * 99 / 100])
    );
}

#[actix_web::main]
async fn main() {
    let name = format!("drydock_bench_{}", Uuid::new_v4().simple());
    exec(&admin_url(), &format!("CREATE DATABASE {name}")).await;
    let admin = admin_url();
    let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    drydock_api::db::migrate(&url).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let agent = fakes::git::fake_agent();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\nmaster_key = \"{KEY}\"\ndata_dir = \"{}\"\n[tasks]\nworkers = 1\nallow_local_repos = true\ngenerate_names = false\ndaily_quota = 1000\nsandbox_relay = \"{}\"\n[agent_binaries]\nclaude = \"{}\"\n",
        data.path().display(),
        env!("CARGO_BIN_EXE_drydock"),
        agent.display()
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
    let addr = format!("127.0.0.1:{}", app.port());
    let base = format!("http://{addr}");
    actix_web::rt::spawn(app.into_server());
    let ctx = drydock_api::worker::WorkerContext::new(
        std::sync::Arc::new(settings.clone()),
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
    let mut conn = pool.get().await.unwrap();
    let (_, token) = drydock_api::tokens::model::create(&mut conn, user, "bench").await.unwrap();
    drop(conn);
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = client.request(method, format!("{base}{path}")).bearer_auth(&token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send()
    };
    let res = call(
        reqwest::Method::PUT,
        "/api/v1/me/keys/anthropic".into(),
        Some(json!({"value": "sk-ant-bench-0000"})),
    )
    .await
    .unwrap();
    assert!(res.status().is_success());

    let repo = fakes::dev_app::repo();
    let task: Value = call(
        reqwest::Method::POST,
        "/api/v1/tasks".into(),
        Some(json!({"repo_url": repo.url(), "agent": "claude", "prompt": "bench", "keep_alive": true})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let server: Value =
            call(reqwest::Method::GET, format!("/api/v1/tasks/{id}/dev-server"), None)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        if server["state"] == "running" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{server}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link: Value = call(reqwest::Method::POST, format!("/api/v1/tasks/{id}/preview"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let opened = client.get(link["url"].as_str().unwrap()).send().await.unwrap();
    let cookie =
        opened.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let socket = drydock_api::preview::devserver::socket_path(&settings, id.parse().unwrap());
    // The server may still be binding its port.
    let started = Instant::now();
    let answers = |socket: &std::path::Path| {
        sandbox::ingress::connect(socket).is_ok_and(|mut s| {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut b = [0u8; 12];
            s.read_exact(&mut b).is_ok()
        })
    };
    while !answers(&socket) {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(100));
    }

    // The same server on the host's loopback, for the floor.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.js"), fakes::dev_app::SERVER_JS).unwrap();
    let mut host_server = std::process::Command::new("node")
        .arg(dir.path().join("server.js"))
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("node");
    let host = format!("127.0.0.1:{port}");
    while std::net::TcpStream::connect(&host).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    let preview_path = format!("/preview/{id}/");
    // Blocking calls on a thread of their own: the server runs on this runtime's threads.
    let (cookie2, addr2) = (cookie.clone(), addr.clone());
    tokio::task::spawn_blocking(move || {
        measure("direct to the dev server on the host's loopback", || {
            get(std::net::TcpStream::connect(&host).unwrap(), "/", "");
        });
        measure("through the sandbox's ingress socket and relay", || {
            get(sandbox::ingress::connect(&socket).unwrap(), "/", "");
        });
        measure("through Drydock's preview proxy", || {
            get(std::net::TcpStream::connect(&addr2).unwrap(), &preview_path, &cookie2);
        });
    })
    .await
    .unwrap();
    let _ = host_server.kill();
    let _ = host_server.wait();
    drop(stop);
}
