//! Sandbox start from the pushed branch: from `POST /tasks/{id}/sandbox/start` (after a stop,
//! so the sandbox is built again: create, parked HOME back, clone of the branch) to
//! `GET /tasks/{id}/sandbox` answering `running`. A real PostgreSQL, bubblewrap and a local bare
//! repository; the fake agent makes the first run.
//!
//! Run: `cargo bench -p drydock-api --bench sandbox_start --profile dev` (figures in
//! docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::events::hub::Hub;
use fakes::git::BareRepo;
use serde_json::{json, Value};
use uuid::Uuid;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ROUNDS: usize = 10;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn exec(url: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
}

struct Bench {
    base: String,
    token: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Bench {
    async fn start() -> Self {
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
        std::mem::forget(stop);
        let user = Uuid::new_v4();
        exec(&url, &format!("INSERT INTO users (id, username) VALUES ('{user}', 'bench')")).await;
        let mut conn = pool.get().await.unwrap();
        let (_, token) =
            drydock_api::tokens::model::create(&mut conn, user, "bench").await.unwrap();
        Self { base, token, client: reqwest::Client::new(), _data: data }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }
}

#[actix_web::main]
async fn main() {
    let repo = BareRepo::new();
    let bench = Bench::start().await;
    bench
        .call(
            reqwest::Method::PUT,
            "/api/v1/me/keys/anthropic",
            Some(json!({"value": "sk-ant-bench-0000"})),
        )
        .await;
    let task = bench
        .call(
            reqwest::Method::POST,
            "/api/v1/tasks",
            Some(json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true,
                "prompt": "[[write:a.txt=1]] [[sh:echo s > $HOME/session]]"})),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    loop {
        let t = bench.call(reqwest::Method::GET, &format!("/api/v1/tasks/{id}"), None).await;
        if t["status"] == "completed" {
            break;
        }
        assert!(t["status"] == "pending" || t["status"] == "processing", "{t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        bench.call(reqwest::Method::POST, &format!("/api/v1/tasks/{id}/sandbox/stop"), None).await;
        let asked = Instant::now();
        bench.call(reqwest::Method::POST, &format!("/api/v1/tasks/{id}/sandbox/start"), None).await;
        loop {
            let view = bench
                .call(reqwest::Method::GET, &format!("/api/v1/tasks/{id}/sandbox"), None)
                .await;
            if view["state"] == "running" {
                break;
            }
            assert_eq!(view["state"], "starting", "{view}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(asked.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "sandbox start from the pushed branch over {} runs: p50 {:.0} ms, min {:.0} ms, max {:.0} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}
