//! Test harness: databases, the app, fake servers and spec validation.

pub mod db;
/// The fake Gitea, from `crates/fakes`.
pub use fakes::gitea as fake_gitea;
/// The fake GitHub, from `crates/fakes`.
pub use fakes::github as fake_github;
/// The fake GitLab, from `crates/fakes`.
pub use fakes::gitlab as fake_gitlab;
pub mod git;
pub mod spec;
pub mod typed;

use std::time::Duration;

use drydock_api::config::Settings;
use drydock_api::crypto::SecretBox;
use drydock_api::db::DbPool;
use drydock_api::startup::Application;
use reqwest::Client;
use serde_json::Value;

pub use db::TestDb;
pub use fake_github::FakeGithub;

/// A running app on its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The app's pool, for direct inspection.
    pub pool: DbPool,
    /// The settings it runs with.
    pub settings: Settings,
    /// A client without cookies (token auth).
    pub client: Client,
    /// The database; dropped after the test.
    pub db: TestDb,
    /// The process's notification hub.
    #[allow(dead_code)]
    pub hub: drydock_api::events::hub::Hub,
    /// The app's one sandbox backend, shared with its workers.
    #[allow(dead_code)]
    pub sandbox: drydock_api::sandboxes::Backend,
    /// The server's auth cache.
    pub auth: drydock_api::auth::cache::AuthCache,
    /// Seals and opens secrets as the server does.
    #[allow(dead_code)]
    pub secrets: SecretBox,
    _stop_workers: tokio::sync::watch::Sender<bool>,
}

/// The master key of every test app.
pub const TEST_MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

impl TestApp {
    /// Spawns the app with default test settings plus `extra` TOML.
    pub async fn spawn() -> Self {
        Self::spawn_with("").await
    }

    /// Spawns the app with `extra` TOML merged over the test defaults.
    pub async fn spawn_with(extra: &str) -> Self {
        Self::spawn_layers(&[extra]).await
    }

    /// Spawns the app with TOML documents merged over the test defaults, later ones winning.
    pub async fn spawn_layers(layers: &[&str]) -> Self {
        let db = TestDb::new().await;
        let base = format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\nmaster_key = \"{TEST_MASTER_KEY}\"\ndata_dir = \"{}\"\n[tasks]\nworkers = 0\nsandbox_relay = \"{}\"\nsandbox_uid_base = {}\nsandbox_uid_count = 64\n",
            db.url,
            std::env::temp_dir().join(format!("drydock-test-{}", db.name)).display(),
            // Brokered sandboxes run their commands under `drydock sandbox-relay`; the server
            // here is this test binary, so name the real one.
            env!("CARGO_BIN_EXE_drydock"),
            // Host uids of this test process's own: leases are kept per data directory and
            // releasing one kills every process of that uid, so tests running at once must never
            // draw the same one (nextest runs each test in a process of its own).
            1_000_000 + (std::process::id() % 100_000) * 64
        );
        let mut all = vec![base.as_str()];
        all.extend_from_slice(layers);
        let mut settings = Settings::from_toml_layers(&all).expect("test settings");
        if std::env::var_os("TEST_LOG").is_some() {
            drydock_api::telemetry::init(settings.log_format);
        }
        let pool = drydock_api::db::build_pool(&db.url, &settings.database).expect("pool");
        let secrets =
            SecretBox::from_config(settings.master_key.as_ref().expect("key"), &[]).expect("box");
        let hub = drydock_api::events::hub::Hub::start(db.url.clone());
        let sandbox = drydock_api::sandboxes::build(&settings).expect("sandbox backend");
        let app = Application::build(
            settings.clone(),
            pool.clone(),
            secrets.clone(),
            hub.clone(),
            sandbox.clone(),
        )
        .expect("build app");
        let port = app.port();
        let auth = app.auth_cache();
        settings.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        let server = app.into_server();
        actix_web::rt::spawn(server);
        let (stop_workers, shutdown) = tokio::sync::watch::channel(false);
        let workers = settings.tasks.workers;
        if workers > 0 {
            let shared_settings = std::sync::Arc::new(settings.clone());
            let ctx = drydock_api::worker::WorkerContext::new(
                shared_settings,
                pool.clone(),
                hub.clone(),
                secrets.clone(),
                sandbox.clone(),
            )
            .await
            .expect("worker context");
            drydock_api::worker::spawn(ctx, workers, shutdown);
        }
        Self {
            base: format!("http://127.0.0.1:{port}"),
            sandbox,
            pool,
            settings,
            client: client(false),
            db,
            hub,
            auth,
            secrets,
            _stop_workers: stop_workers,
        }
    }

    /// Runs `change`, a write to users, tokens or sessions made behind the server's back (SQL,
    /// another process), and waits until the server has heard of it: the tables' triggers
    /// notify every process, whose auth cache then forgets what the change touched.
    pub async fn behind_the_back<T>(&self, change: impl std::future::Future<Output = T>) -> T {
        let mut forgotten = self.auth.forgotten();
        forgotten.borrow_and_update();
        let out = change.await;
        tokio::time::timeout(Duration::from_secs(10), forgotten.changed())
            .await
            .expect("the server never heard of the change")
            .expect("auth cache gone");
        out
    }

    /// Stores `token` as `user_id`'s credential for the forge at `api_url` (what
    /// `PUT /me/git-credentials/{host}` stores; the fakes' loopback URLs skip its checks).
    #[allow(dead_code)]
    pub async fn grant_forge(
        &self,
        user_id: uuid::Uuid,
        kind: drydock_api::forges::ForgeKind,
        api_url: &str,
        token: &str,
    ) {
        let url: url::Url = api_url.parse().expect("api url");
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().expect("host")),
            None => url.host_str().expect("host").to_owned(),
        };
        let kind = shared::git_hosts::GitHostKind::from(kind);
        let checked = drydock_api::git_credentials::validate::Checked {
            host,
            kind,
            api_url: Some(api_url.trim_end_matches('/').to_owned()),
            token: token.to_owned(),
        };
        let mut conn = self.pool.get().await.expect("conn");
        drydock_api::git_credentials::store(&mut conn, &self.secrets, user_id, &checked)
            .await
            .expect("store the credential");
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a local user with a password; returns its id.
    pub async fn create_user(&self, username: &str, password: &str, admin: bool) -> uuid::Uuid {
        use drydock_api::accounts::model::{insert, NewUser};
        let hash = drydock_api::accounts::password::hash(password.into()).await.expect("hash");
        let mut conn = self.pool.get().await.expect("conn");
        insert(
            &mut conn,
            NewUser {
                id: uuid::Uuid::new_v4(),
                username,
                name: None,
                email: None,
                avatar_url: None,
                password_hash: Some(&hash),
                is_admin: admin,
                auth_provider: "local",
            },
        )
        .await
        .expect("insert user")
        .id
    }

    /// Creates a user and an API token for them; returns (user id, token).
    pub async fn user_with_token(&self, username: &str) -> (uuid::Uuid, String) {
        let id = self.create_user(username, "password123", false).await;
        let mut conn = self.pool.get().await.expect("conn");
        let (_, secret) =
            drydock_api::tokens::model::create(&mut conn, id, "test").await.expect("token");
        (id, secret)
    }

    /// A cookie-keeping client signed in as a new local user; returns it and the CSRF token.
    pub async fn browser_session(&self, username: &str) -> (Client, String) {
        self.create_user(username, "password123", false).await;
        let browser = client(true);
        let res = browser
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": "password123"}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 200, "login should succeed");
        let me: Value = res.json().await.expect("me");
        (browser, me["csrf_token"].as_str().expect("csrf").to_owned())
    }
}

/// A client that does not follow redirects, optionally keeping cookies.
pub fn client(cookies: bool) -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        // Below the server's 5 s keep-alive: a connection it is closing is never reused (a POST
        // on it would fail with IncompleteMessage rather than be retried).
        .pool_idle_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        // Below the server's keep-alive (5 s): a pooled connection idle longer may be one the
        // server is closing, and reusing it fails the request (`IncompleteMessage`). A test that
        // blocks its runtime for a while (scanning a sandbox's files) would otherwise hit that.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

/// The response body as JSON, asserting the status first.
pub async fn json(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl TestApp {
    /// An app with `workers` workers running the fake agent as `claude`, local repositories
    /// allowed, and short leases.
    pub async fn with_workers(workers: usize, extra: &str) -> Self {
        let agent = git::fake_agent();
        let base = format!(
            "[tasks]\nworkers = {workers}\nallow_local_repos = true\nlease_secs = 3\nheartbeat_ms = 300\ndaily_quota = 1000\nagent_exit_grace_secs = 3\ngenerate_names = false\n[agent_binaries]\nclaude = \"{}\"\n",
            agent.display()
        );
        Self::spawn_layers(&[&base, extra]).await
    }

    /// A user with a token and an Anthropic key; returns (token, key).
    pub async fn agent_user(&self, username: &str) -> (String, String) {
        let (_, token) = self.user_with_token(username).await;
        let key = format!("sk-ant-{username}-{}", uuid::Uuid::new_v4().simple());
        let res = self
            .client
            .put(self.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"value": key}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        (token, key)
    }

    /// Creates a task and returns its JSON.
    pub async fn create_task(&self, token: &str, body: Value) -> Value {
        json(
            self.client
                .post(self.url("/api/v1/tasks"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap(),
            201,
        )
        .await
    }

    /// Polls the task until `done(task)` or the timeout.
    pub async fn wait_for(
        &self,
        token: &str,
        id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = std::time::Instant::now();
        loop {
            let task = json(
                self.client
                    .get(self.url(&format!("/api/v1/tasks/{id}")))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await;
            if done(&task) {
                return task;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "timed out waiting for {what}: {task}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the task's events until one satisfies `found`; returns it.
    pub async fn wait_for_event(
        &self,
        token: &str,
        id: &str,
        what: &str,
        found: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = std::time::Instant::now();
        loop {
            if let Some(event) = self.events(token, id).await.into_iter().find(|e| found(e)) {
                return event;
            }
            assert!(started.elapsed() < Duration::from_secs(90), "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// All events of a task.
    pub async fn events(&self, token: &str, id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = json(
                self.client
                    .get(self.url(&format!("/api/v1/tasks/{id}/events?after={after}&limit=1000")))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await;
            all.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => after = cursor.parse().unwrap(),
                None => return all,
            }
        }
    }
}

/// Whether a task is in a terminal status.
pub fn finished(task: &Value) -> bool {
    matches!(task["status"].as_str(), Some("completed" | "error" | "stopped"))
}

/// The shared npm tool cache of the real agent CLIs: `$DRYDOCK_TOOLS_DIR`, else
/// `<target dir>/drydock-tools` (the cache `crates/sandbox/tests/agents_cli.rs` fills too).
pub fn shared_tools_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("DRYDOCK_TOOLS_DIR") {
        return dir.into();
    }
    // <target>/debug/deps/api-<hash>
    let exe = std::env::current_exe().expect("test exe");
    exe.ancestors().nth(3).expect("target dir").join("drydock-tools")
}

impl TestApp {
    /// An app whose workers run the **real** agent CLIs from the shared tool cache (no
    /// `agent_binaries` override), with local repositories allowed and short leases.
    pub async fn with_real_agents(workers: usize, extra: &str) -> Self {
        let tools = shared_tools_dir();
        std::fs::create_dir_all(&tools).expect("tool cache");
        let base = format!(
            "tools_dir = \"{}\"\n[tasks]\nworkers = {workers}\nallow_local_repos = true\nlease_secs = 5\nheartbeat_ms = 300\ndaily_quota = 1000\nagent_exit_grace_secs = 3\nper_user_concurrency = 4\n",
            tools.display()
        );
        Self::spawn_layers(&[&base, extra]).await
    }
}
