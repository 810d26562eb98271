//! Event log and API benchmarks against a real PostgreSQL (`TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Run: `cargo bench -p drydock-api --bench events`.
//! Prints the figures recorded in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::events::hub::Hub;
use drydock_api::events::redact::Redactor;
use drydock_api::events::store;
use drydock_api::events::writer::EventSender;
use futures_util::StreamExt;
use shared::events::{EventBody, LogLevel};
use uuid::Uuid;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn db_url(name: &str) -> String {
    let admin = admin_url();
    let i = admin.rfind('/').unwrap_or(admin.len());
    format!("{}/{name}", &admin[..i])
}

async fn exec(url: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn log(message: String) -> EventBody {
    EventBody::Log { level: LogLevel::Info, message }
}

#[actix_web::main]
async fn main() {
    let name = format!("drydock_bench_{}", Uuid::new_v4().simple());
    exec(&admin_url(), &format!("CREATE DATABASE {name}")).await;
    let url = db_url(&name);
    drydock_api::db::migrate(&url).await.expect("migrate");
    let data = tempfile::tempdir().unwrap();
    let settings = Settings::from_toml(&format!("listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\nmaster_key = \"{KEY}\"\ndata_dir = \"{}\"\n[database]\npool_size = 40\n", data.path().display())).unwrap();
    let pool = drydock_api::db::build_pool(&url, &settings.database).unwrap();

    let user = Uuid::new_v4();
    exec(&url, &format!("INSERT INTO users (id, username) VALUES ('{user}', 'bench')")).await;
    let new_task = |id: Uuid| {
        format!("INSERT INTO tasks (id, user_id, title, prompt, repo_url, agent, max_duration_minutes) VALUES ('{id}', '{user}', 't', 'p', 'https://x/y', 'claude', 60)")
    };

    // 1. Ingest: 100,000 events through the batched writer.
    let task = Uuid::new_v4();
    exec(&url, &new_task(task)).await;
    let sender =
        EventSender::spawn(pool.clone(), task, Redactor::new(["sk-bench-secret".to_owned()]));
    let started = Instant::now();
    for i in 0..100_000 {
        sender.send(log(format!("line {i} of the agent's output")));
    }
    sender.flush().await;
    let secs = started.elapsed().as_secs_f64();
    println!("ingest: 100000 events in {secs:.2} s = {:.0} events/s", 100_000.0 / secs);

    // 2. Append cost at 1,000 vs 1,000,000 stored events.
    for existing in [1_000i64, 1_000_000] {
        let task = Uuid::new_v4();
        exec(&url, &new_task(task)).await;
        exec(&url, &format!("INSERT INTO task_events (task_id, seq, kind, payload) SELECT '{task}', g, 'log', '{{\"level\":\"info\",\"message\":\"x\"}}' FROM generate_series(1, {existing}) g")).await;
        exec(&url, &format!("UPDATE tasks SET last_seq = {existing} WHERE id = '{task}'")).await;
        exec(&url, "ANALYZE task_events").await;
        let mut conn = pool.get().await.unwrap();
        let mut times = Vec::new();
        for i in 0..2_000 {
            let t = Instant::now();
            store::append(&mut conn, task, &[log(format!("append {i}"))]).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "append one event with {existing} stored: p50 {:.0} µs, p99 {:.0} µs",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }

    // 3. The API: SSE delivery latency to 100 subscribers, and GET /tasks/{id} throughput.
    let hub = Hub::start(url.clone());
    let secrets = SecretBox::from_config(settings.master_key.as_ref().unwrap(), &[]).unwrap();
    let sandbox = drydock_api::sandboxes::build(&settings).unwrap();
    let app = drydock_api::startup::Application::build(
        settings.clone(),
        pool.clone(),
        secrets,
        hub,
        sandbox,
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.into_server());
    let mut conn = pool.get().await.unwrap();
    let (_, token) = drydock_api::tokens::model::create(&mut conn, user, "bench").await.unwrap();
    drop(conn);
    let live = Uuid::new_v4();
    exec(&url, &new_task(live)).await;
    exec(&url, &format!("UPDATE tasks SET status = 'processing' WHERE id = '{live}'")).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().unwrap();
    let epoch = Arc::new(Instant::now());
    let events = 200usize;
    let mut readers = Vec::new();
    for _ in 0..100 {
        let res = client
            .get(format!("{base}/api/v1/tasks/{live}/events/stream"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let epoch = epoch.clone();
        readers.push(tokio::spawn(async move {
            let mut body = res.bytes_stream();
            let mut buf = String::new();
            let mut lat = Vec::new();
            while lat.len() < events {
                let Some(Ok(chunk)) = body.next().await else { break };
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if let Some(sent) = frame
                        .split("sent=")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .and_then(|s| s.parse::<u128>().ok())
                    {
                        lat.push((epoch.elapsed().as_micros() - sent) as f64 / 1000.0);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = pool.get().await.unwrap();
    for _ in 0..events {
        let sent = epoch.elapsed().as_micros();
        store::append(&mut conn, live, &[log(format!("sent={sent}"))]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(conn);
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await.unwrap());
    }
    all.sort_by(|a, b| a.total_cmp(b));
    println!(
        "SSE delivery to 100 subscribers ({} deliveries): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.9),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or_default()
    );

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut load = Vec::new();
    for _ in 0..64 {
        let (client, base, token, done, count) =
            (client.clone(), base.clone(), token.clone(), done.clone(), count.clone());
        load.push(tokio::spawn(async move {
            while !std::sync::atomic::AtomicBool::load(&done, std::sync::atomic::Ordering::Relaxed)
            {
                let res = client
                    .get(format!("{base}/api/v1/tasks/{live}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let _ = res.bytes().await;
                std::sync::atomic::AtomicU64::fetch_add(
                    &count,
                    1,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    std::sync::atomic::AtomicBool::store(&done, true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }
    let n = std::sync::atomic::AtomicU64::load(&count, std::sync::atomic::Ordering::Relaxed);
    println!("GET /api/v1/tasks/{{id}} at 64 connections with a Bearer token: {:.0} req/s (client in the same process)", n as f64 / started.elapsed().as_secs_f64());

    pool.close();
    exec(&admin_url(), &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}
