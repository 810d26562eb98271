//! A fresh database and the real `drydock serve` child process.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The master key of every test server (base64 of 32 bytes).
pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The PostgreSQL server the tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await.unwrap_or_else(|e| {
            panic!("PostgreSQL must be reachable at {} for the tests: {e}", admin_url())
        });
    tokio::spawn(conn);
    client
}

/// A database that exists for the life of this value (dropped WITH (FORCE) after).
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// Connection URL.
    pub url: String,
}

impl TestDb {
    /// Creates an empty database; `drydock` migrates it on first use.
    pub async fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("drydock_e2e_{}_{nanos}", std::process::id());
        admin().await.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create db");
        Self { url: with_db(&admin_url(), &name), name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = admin().await.batch_execute(&sql).await;
            });
        })
        .join();
    }
}

/// `drydock serve` on a random port, with one worker running the fake agent as `claude`.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    exe: PathBuf,
    env: Vec<(String, String)>,
    /// Server log (stdout after the listening line, and stderr).
    pub log: PathBuf,
    /// A client for REST calls made beside the browser.
    pub http: reqwest::Client,
    _data: tempfile::TempDir,
    // Dropped last: the server must be gone before its database.
    _db: TestDb,
}

impl Server {
    /// Creates a database and starts the server on it.
    pub async fn start() -> Self {
        Self::launch("127.0.0.1:0".into(), Vec::new(), true).await
    }

    /// Like `start`, with extra environment, on a port chosen up front and announced as
    /// `DRYDOCK_PUBLIC_URL`: OAuth callbacks are derived from it.
    pub async fn start_with(extra: Vec<(String, String)>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port, extra).await
    }

    /// Like `start_with`, on `port` (for settings that must name it, such as a preview domain).
    pub async fn start_on(port: u16, extra: Vec<(String, String)>) -> Self {
        let mut env = vec![("DRYDOCK_PUBLIC_URL".to_owned(), format!("http://127.0.0.1:{port}"))];
        env.extend(extra);
        Self::launch(format!("127.0.0.1:{port}"), env, true).await
    }

    /// Like `start`, with `claude` the **real** Claude Code CLI from the tool cache the API's
    /// real-CLI tests share (`<target>/drydock-tools`, installed from npm on first use).
    pub async fn start_with_real_claude(extra: Vec<(String, String)>) -> Self {
        let tools = std::env::var_os("DRYDOCK_TOOLS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                // <target>/debug/deps/<test>-<hash>
                let exe = std::env::current_exe().expect("test exe");
                exe.ancestors().nth(3).expect("target dir").join("drydock-tools")
            });
        std::fs::create_dir_all(&tools).expect("tool cache");
        let mut env = vec![("DRYDOCK_TOOLS_DIR".to_owned(), tools.display().to_string())];
        env.extend(extra);
        Self::launch("127.0.0.1:0".into(), env, false).await
    }

    async fn launch(listen: String, extra: Vec<(String, String)>, fake_claude: bool) -> Self {
        let dist = super::dist_dir();
        let (exe, agent) = super::binaries();
        let db = TestDb::new().await;
        let data = tempfile::tempdir().expect("tempdir");
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), db.url.clone()),
            ("DRYDOCK_MASTER_KEY".into(), MASTER_KEY.into()),
            ("DRYDOCK_DATA_DIR".into(), data.path().join("data").display().to_string()),
            ("DRYDOCK_TASKS__WORKERS".into(), "1".into()),
            ("DRYDOCK_TASKS__ALLOW_LOCAL_REPOS".into(), "true".into()),
            ("DRYDOCK_TASKS__GENERATE_NAMES".into(), "false".into()),
            ("DRYDOCK_TASKS__AGENT_EXIT_GRACE_SECS".into(), "3".into()),
        ];
        if fake_claude {
            env.push(("DRYDOCK_AGENT_BINARIES__CLAUDE".into(), agent.display().to_string()));
        }
        env.extend(extra);
        let log = data.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(&exe)
            .args(["serve", "--listen", &listen, "--web-dir"])
            .arg(&dist)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file.try_clone().expect("log file"))
            .spawn()
            .expect("start drydock serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log_file = log_file;
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if !sent {
                    if let Some(url) = line.split("Drydock is listening on ").nth(1) {
                        let _ = tx.send(url.trim().to_owned());
                        sent = true;
                    }
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("drydock serve did not say where it listens within 60 s; its log:\n{text}");
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self { base, child, exe, env, log, http, _data: data, _db: db }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs a `drydock` operator command against this server's database; returns its stdout.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(&self.exe)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run drydock");
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.unwrap_or_default().as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("drydock output");
        assert!(
            out.status.success(),
            "drydock {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a local user with `drydock user create --password-stdin`.
    pub fn create_user(&self, username: &str, password: &str) {
        self.cli(&["user", "create", "--username", username, "--password-stdin"], Some(password));
    }

    /// Creates an API token with `drydock token create`; returns the secret.
    pub fn create_token(&self, username: &str) -> String {
        let out = self.cli(&["token", "create", "--username", username, "--name", "e2e-cli"], None);
        out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned()
    }

    /// `GET` an API path with a bearer token; returns the status and the JSON body.
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).bearer_auth(token).send().await.expect("GET");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `POST` a JSON body to an API path with a bearer token; returns the status and the body.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Stores an Anthropic key for the token's user through the REST API.
    pub async fn put_anthropic_key(&self, token: &str) {
        self.put_anthropic_key_at(token, None).await;
    }

    /// Stores an Anthropic key for the token's user, used at `base_url` when given (a fake
    /// model server on loopback).
    pub async fn put_anthropic_key_at(&self, token: &str, base_url: Option<&str>) {
        let mut body = serde_json::json!({ "value": "sk-ant-e2e-0123456789abcdef" });
        if let Some(url) = base_url {
            body["base_url"] = url.into();
        }
        let res = self
            .http
            .put(self.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("PUT key");
        assert!(res.status().is_success(), "setting the key: {}", res.status());
    }

    /// The server's log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // TERM first so the workers stop their agents; KILL if it hangs.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
