//! Stop latency: from `POST /tasks/{id}/stop` to `GET /tasks/{id}` answering `stopped`, through
//! the whole worker pipeline (bubblewrap sandbox, a local bare repository, a real PostgreSQL).
//!
//! Two agents are measured:
//! - the fake agent ignoring SIGINT and SIGTERM (the worst case of the kill escalation);
//! - the real Claude Code CLI stalled on a model call to the fake Anthropic server (needs the
//!   npm tool cache: `DRYDOCK_TOOLS_DIR`, else `<target>/drydock-tools`; installed on first use).
//!
//! Run: `cargo bench -p drydock-api --bench stop` (figures in docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::events::hub::Hub;
use fakes::git::BareRepo;
use fakes::FakeModel;
use serde_json::{json, Value};
use uuid::Uuid;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ROUNDS: usize = 8;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn exec(url: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
}

fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRYDOCK_TOOLS_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().join("drydock-tools")
}

struct Bench {
    base: String,
    token: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Bench {
    async fn start(extra: &str) -> Self {
        let name = format!("drydock_bench_{}", Uuid::new_v4().simple());
        exec(&admin_url(), &format!("CREATE DATABASE {name}")).await;
        let admin = admin_url();
        let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
        drydock_api::db::migrate(&url).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\nmaster_key = \"{KEY}\"\ndata_dir = \"{}\"\ntools_dir = \"{}\"\n[tasks]\nworkers = 1\nallow_local_repos = true\ngenerate_names = false\ndaily_quota = 1000\nsandbox_relay = \"{}\"\n{extra}",
            data.path().display(),
            tools_dir().display(),
            env!("CARGO_BIN_EXE_drydock")
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

    async fn task(&self, id: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/api/v1/tasks/{id}"), None).await
    }

    /// Starts a task, waits until `ready` says the agent is stalled, stops it, and returns how
    /// long the stop took to show.
    async fn stop_once(&self, repo: &BareRepo, prompt: &str, ready: impl Fn() -> bool) -> Duration {
        let task = self
            .call(
                reqwest::Method::POST,
                "/api/v1/tasks",
                Some(json!({"repo_url": repo.url(), "agent": "claude", "prompt": prompt})),
            )
            .await;
        let id = task["id"].as_str().unwrap().to_owned();
        let waiting = Instant::now();
        loop {
            let t = self.task(&id).await;
            if t["stage"] == "running_agent" && ready() {
                break;
            }
            assert!(t["status"] == "pending" || t["status"] == "processing", "{t}");
            assert!(waiting.elapsed() < Duration::from_secs(180), "the agent never started: {t}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let the agent settle into its stall.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let asked = Instant::now();
        self.call(reqwest::Method::POST, &format!("/api/v1/tasks/{id}/stop"), None).await;
        loop {
            let t = self.task(&id).await;
            if t["status"] == "stopped" {
                return asked.elapsed();
            }
            assert!(t["status"] == "processing" || t["status"] == "pending", "{t}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: stop → stopped over {} runs: p50 {:.0} ms, max {:.0} ms, min {:.0} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        ms(times[0])
    );
}

#[actix_web::main]
async fn main() {
    let repo = BareRepo::new();

    let agent = fakes::git::fake_agent();
    let fake = Bench::start(&format!("[agent_binaries]\nclaude = \"{}\"\n", agent.display())).await;
    fake.call(
        reqwest::Method::PUT,
        "/api/v1/me/keys/anthropic",
        Some(json!({"value": "sk-ant-bench-0000"})),
    )
    .await;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        times.push(fake.stop_once(&repo, "[[ignore-term]] [[sleep:120]]", || true).await);
    }
    report("fake agent ignoring SIGINT/SIGTERM", times);

    let model = FakeModel::start_default().unwrap();
    let real = Bench::start(&format!("egress_allow = [\"127.0.0.1:{}\"]\n", model.port())).await;
    real.call(
        reqwest::Method::PUT,
        "/api/v1/me/keys/anthropic",
        Some(json!({"value": "sk-ant-bench-0000", "base_url": model.base_url()})),
    )
    .await;
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let marker = format!("stall-{round}");
        let prompt = format!("{marker} [[delay:60]]");
        let stalled = || model.requests().iter().any(|r| r.prompt.contains(&marker));
        times.push(real.stop_once(&repo, &prompt, stalled).await);
    }
    report("Claude Code stalled on a model call", times);
}
