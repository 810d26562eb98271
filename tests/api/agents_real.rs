//! The real agent CLIs through the whole worker pipeline: a task is claimed, the sandbox
//! (bubblewrap) clones a local bare repository, the pinned npm CLI from the shared tool cache
//! runs headless against a fake model server on 127.0.0.1 (the URL is the user's key
//! `base_url`), and Drydock commits and pushes.
//!
//! Per CLI: the pushed branch holds the edit; the events hold the tool call and the final
//! message; a follow-up on a kept-alive task resumes the session (the fake sees the history);
//! a connector reaches the CLI as an MCP server inside the sandbox (with its secret env); the
//! key and connector secrets never appear in events; a 401 from the model ends the task in a
//! clear error; a stop during a stalled turn ends it `stopped` within seconds; the proxy is asked
//! for no host but the fake. Copilot also runs signed in with a GitHub token
//! (`real_cli_copilot_github_token`): the fake GitHub and Copilot APIs get the token, the sandbox
//! only a placeholder.
//!
//! Slow (the CLIs are real, about 1-3 s per turn) and needs the tool cache (`DRYDOCK_TOOLS_DIR`,
//! else `<target>/drydock-tools`; installed from npm on first use): every test is named
//! `real_cli_*`, so `-E 'not test(real_cli_)'` leaves them out.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fakes::FakeModel;
use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json, shared_tools_dir, TestApp};

/// Where the fake MCP server lives inside the sandbox (the tool cache is mounted read-only at
/// `/opt/drydock/tools`).
const MCP_IN_SANDBOX: &str = "/opt/drydock/tools/test-bin/drydock-fake-mcp";
/// Its log, in the sandbox workspace (outside the repository, so never committed).
const MCP_LOG_IN_SANDBOX: &str = "/workspace/mcp.log";

/// Builds `drydock-fake-mcp` and copies it into the tool cache (atomically: other test
/// processes may be running it).
fn install_fake_mcp() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.ancestors().nth(2).unwrap().to_path_buf();
        let target_dir = exe.ancestors().nth(3).unwrap().to_path_buf();
        let bin = profile_dir.join("drydock-fake-mcp");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "drydock-fakes", "--bin", "drydock-fake-mcp"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build drydock-fake-mcp");
        assert!(status.success(), "building drydock-fake-mcp failed");
        let dir = shared_tools_dir().join("test-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(format!(".drydock-fake-mcp-{}", std::process::id()));
        std::fs::copy(&bin, &tmp).unwrap();
        std::fs::rename(&tmp, dir.join("drydock-fake-mcp")).unwrap();
    });
}

struct Cli {
    agent: &'static str,
    provider: &'static str,
    model: &'static str,
    /// Whether the key's base URL takes the `/v1` suffix (OpenAI-style APIs).
    v1: bool,
}

const CLAUDE: Cli =
    Cli { agent: "claude", provider: "anthropic", model: "claude-sonnet-4-5", v1: false };
const CODEX: Cli = Cli { agent: "codex", provider: "openai", model: "gpt-5.5", v1: true };
const GEMINI: Cli = Cli { agent: "gemini", provider: "gemini", model: "gemini-2.5-pro", v1: false };
const OPENCODE: Cli = Cli { agent: "opencode", provider: "openai", model: "fake-model", v1: true };
const QWEN: Cli = Cli { agent: "qwen", provider: "openai", model: "fake-model", v1: true };
const COPILOT: Cli =
    Cli { agent: "copilot", provider: "github-copilot", model: "gpt-4o", v1: true };

struct Env {
    app: TestApp,
    fake: FakeModel,
    token: String,
    key: String,
    repo: BareRepo,
    cli: &'static Cli,
}

/// A fake model, and an app whose workers run the real CLIs against it with brokered network
/// (the default): the fake is reachable only through the run's egress proxy, which the operator
/// allows to this exact loopback endpoint. `extra` adds configuration naming the fake.
async fn brokered_app(extra: impl FnOnce(&FakeModel) -> String) -> (FakeModel, TestApp) {
    // Tools that want absolute paths get the sandbox's repository path (the fake cannot find it
    // on the host, where it looks for the directory the CLI announces).
    let defaults =
        fakes::Defaults { workdir: Some("/workspace/repo".into()), ..Default::default() };
    let fake = FakeModel::start(fakes::FakeConfig { defaults, ..Default::default() }).unwrap();
    let config = format!(
        "[tasks]\ngeneration_timeout_ms = 2000\nagent_idle_timeout_secs = 120\nsandbox_network = \"brokered\"\negress_allow = [\"127.0.0.1:{}\"]\n{}",
        fake.port(),
        extra(&fake)
    );
    let app = TestApp::with_real_agents(2, &config).await;
    (fake, app)
}

impl Env {
    async fn new(cli: &'static Cli) -> Self {
        install_fake_mcp();
        let (fake, app) = brokered_app(|_| String::new()).await;
        let (_, token) = app.user_with_token(cli.agent).await;
        let key = format!("sk-drydock-{}-{}-5ecret", cli.agent, uuid::Uuid::new_v4().simple());
        let base = if cli.v1 { format!("{}/v1", fake.base_url()) } else { fake.base_url() };
        let res = app
            .client
            .put(app.url(&format!("/api/v1/me/keys/{}", cli.provider)))
            .bearer_auth(&token)
            .json(&json!({"value": key, "base_url": base}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        Self { app, fake, token, key, repo: BareRepo::new(), cli }
    }

    async fn create(&self, prompt: &str, extra: Value) -> String {
        let mut body = json!({"repo_url": self.repo.url(), "agent": self.cli.agent, "model": self.cli.model, "prompt": prompt});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.app.create_task(&self.token, body).await["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, id: &str) -> Value {
        json(
            self.app
                .client
                .get(self.app.url(&format!("/api/v1/tasks/{id}")))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
    }

    async fn events(&self, id: &str) -> Vec<Value> {
        self.app.events(&self.token, id).await
    }

    /// Waits for `runs` runs of the task to end (a status event each), then returns the task.
    async fn wait_runs(&self, id: &str, runs: usize) -> Value {
        let started = Instant::now();
        loop {
            let events = self.events(id).await;
            let ended = events
                .iter()
                .filter(|e| {
                    e["kind"] == "status"
                        && ["completed", "error", "stopped"]
                            .contains(&e["payload"]["status"].as_str().unwrap_or(""))
                })
                .count();
            if ended >= runs {
                return self.get(id).await;
            }
            assert!(
                started.elapsed() < Duration::from_secs(240),
                "{}: timed out waiting for run {runs} of {id}: {}",
                self.cli.agent,
                dump(&events)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn sandbox_id(&self, id: &str) -> Option<String> {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use drydock_api::db::schema::tasks;
        let mut conn = self.app.pool.get().await.unwrap();
        let id: uuid::Uuid = id.parse().unwrap();
        tasks::table
            .find(id)
            .select(tasks::sandbox_id)
            .first::<Option<String>>(&mut conn)
            .await
            .unwrap()
    }

    /// Posts a follow-up message to the task `id`.
    async fn follow_up(&self, id: &str, content: &str) {
        let res = self
            .app
            .client
            .post(self.app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&self.token)
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }

    /// The model call of the follow-up that creates `second.txt`, checked to have resumed the
    /// session (the first turn came along as history, not as pasted context).
    fn resumed_request(&self) -> fakes::RequestRecord {
        let resumed = self
            .agent_requests()
            .into_iter()
            .find(|r| r.prompt.contains("second.txt") && !r.tool_result)
            .unwrap_or_else(|| panic!("no agent request for the follow-up"));
        assert!(
            resumed.earlier_prompts.iter().any(|p| p.contains("hello.txt")),
            "the follow-up did not carry the first turn: {resumed:#?}"
        );
        assert!(
            !resumed.prompt.contains("Earlier in this task"),
            "resumed by session, not by pasted context: {}",
            resumed.prompt
        );
        resumed
    }

    /// The fake's requests from the CLI itself (they offer tools; title and commit-message
    /// calls offer none).
    fn agent_requests(&self) -> Vec<fakes::RequestRecord> {
        self.fake.requests().into_iter().filter(|r| !r.tools.is_empty()).collect()
    }
}

/// Whether any file below `dir` contains `needle`.
fn contains_bytes(dir: &std::path::Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|entry| {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => contains_bytes(&path, needle),
            Ok(t) if t.is_file() => std::fs::read(&path)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false),
            _ => false,
        }
    })
}

/// The events, short, for failure messages.
fn dump(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| {
            let payload = e["payload"].to_string();
            format!("{} {} {}", e["seq"], e["kind"], payload.chars().take(300).collect::<String>())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn full_pipeline(cli: &'static Cli) {
    let started = Instant::now();
    let env = Env::new(cli).await;
    let app = &env.app;
    let tag = format!("mcp-secret-{}", uuid::Uuid::new_v4().simple());
    let connector = json(
        app.client
            .post(app.url("/api/v1/connectors"))
            .bearer_auth(&env.token)
            .json(&json!({"name": "fake", "type": "local", "command": MCP_IN_SANDBOX, "args": [MCP_LOG_IN_SANDBOX],
                          "env": {fakes::mcp::TAG_VAR: tag}}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;

    // A kept-alive task with the connector, and (concurrently) one whose model answers 401.
    let id = env
        .create(
            "create hello.txt containing hi",
            json!({"keep_alive": true, "connector_ids": [connector["id"]]}),
        )
        .await;
    let failing = env.create("create e.txt containing x [[error:401]]", json!({})).await;

    let done = env.wait_runs(&id, 1).await;
    let events = env.events(&id).await;
    let dbg = dump(&events);
    assert_eq!(done["status"], "completed", "{}: {done}\n{dbg}", cli.agent);
    let branch = done["branch_name"].as_str().unwrap().to_owned();
    assert!(
        env.repo.branches().contains(&branch),
        "{}: the branch was not pushed\n{dbg}",
        cli.agent
    );
    assert_eq!(env.repo.show(&branch, "hello.txt"), "hi\n", "the pushed branch holds the edit");
    assert!(events.iter().any(|e| e["kind"] == "tool_call"), "no tool call:\n{dbg}");
    assert!(
        events.iter().any(|e| e["kind"] == "agent_message" && e["payload"]["text"] == "done"),
        "no final message:\n{dbg}"
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&env.key), "the key leaked into events");
    assert!(!text.contains(&tag), "a connector secret leaked into events");
    assert!(text.contains("MCP servers: fake"), "{dbg}");
    assert!(
        env.fake.requests().iter().any(|r| r.auth.as_deref().is_some_and(|a| a.contains(&env.key))),
        "the key reached the model API"
    );
    // The MCP server was started inside the sandbox with its secret environment.
    let sandbox =
        env.sandbox_id(&id).await.unwrap_or_else(|| panic!("kept alive, so a sandbox id: {done}"));
    let log = app.settings.sandboxes_dir().join(&sandbox).join("work").join("mcp.log");
    let mcp_log =
        std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}\n{dbg}", log.display()));
    assert!(mcp_log.contains("\"method\":\"initialize\""), "MCP not initialised: {mcp_log}");
    assert!(mcp_log.contains(&tag), "the connector's env did not reach the MCP server: {mcp_log}");
    // Brokered: the fake got the real key from the broker, and nothing the agent could read
    // holds it: its HOME, its workspace (config files, session files), and the events.
    let (dir, key) = (app.settings.sandboxes_dir().join(&sandbox), env.key.clone());
    let key_on_disk = tokio::task::spawn_blocking(move || contains_bytes(&dir, key.as_bytes()));
    assert!(
        !key_on_disk.await.unwrap(),
        "{}: the real key is somewhere in the sandbox's files",
        cli.agent
    );
    assert!(
        events.iter().any(|e| e["kind"] == "network" && e["payload"]["allowed"] == true),
        "{}: no brokered model call was recorded\n{dbg}",
        cli.agent
    );
    // Nothing but the fake was asked for: no registry install, update check or telemetry (the
    // proxy would resolve and reach such a host for real).
    let elsewhere: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "network" && e["payload"]["host"] != "127.0.0.1")
        .collect();
    assert!(elsewhere.is_empty(), "{}: network beyond the fake: {elsewhere:?}", cli.agent);

    // The model's 401 is a clear task error.
    let failed = env.wait_runs(&failing, 1).await;
    assert_eq!(failed["status"], "error", "{failed}\n{}", dump(&env.events(&failing).await));
    let reason = failed["error"].as_str().unwrap_or_default().to_owned();
    let lower = reason.to_lowercase();
    assert!(
        ["401", "auth", "api key", "unauthori", "invalid", "credential"]
            .iter()
            .any(|w| lower.contains(w)),
        "{}: unclear error {reason:?}\n{}",
        cli.agent,
        dump(&env.events(&failing).await)
    );
    assert!(!reason.contains(&env.key));
    assert!(!serde_json::to_string(&env.events(&failing).await).unwrap().contains(&env.key));

    // A follow-up resumes the session in the kept-alive sandbox; meanwhile a stalled turn is
    // stopped.
    env.follow_up(&id, "create second.txt containing two").await;
    let slow = env.create("create slow.txt containing x [[delay:30]]", json!({})).await;

    let second = env.wait_runs(&id, 2).await;
    let events = env.events(&id).await;
    assert_eq!(second["status"], "completed", "{second}\n{}", dump(&events));
    assert_eq!(second["branch_name"], branch.as_str());
    assert_eq!(env.repo.show(&branch, "second.txt"), "two\n");
    assert!(
        events.iter().any(|e| e["kind"] == "log"
            && e["payload"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("Reusing the kept-alive sandbox")),
        "{}",
        dump(&events)
    );
    env.resumed_request();

    // Stop during the stalled model call.
    let wait_start = Instant::now();
    while !env.agent_requests().iter().any(|r| r.prompt.contains("[[delay:30]]")) {
        let t = env.get(&slow).await;
        assert!(
            !finished(&t),
            "the slow task ended early: {t}\n{}",
            dump(&env.events(&slow).await)
        );
        assert!(
            wait_start.elapsed() < Duration::from_secs(120),
            "the CLI never called the model: {}",
            dump(&env.events(&slow).await)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{slow}/stop")))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let stopped = env.wait_runs(&slow, 1).await;
    let took = asked.elapsed();
    assert_eq!(stopped["status"], "stopped", "{stopped}\n{}", dump(&env.events(&slow).await));
    assert!(took < Duration::from_secs(8), "{}: stop took {took:?}", cli.agent);
    eprintln!(
        "{}: whole pipeline suite in {:?} (stop took {took:?})",
        cli.agent,
        started.elapsed()
    );
}

#[actix_web::test]
async fn real_cli_claude() {
    full_pipeline(&CLAUDE).await;
}

#[actix_web::test]
async fn real_cli_codex() {
    full_pipeline(&CODEX).await;
}

#[actix_web::test]
async fn real_cli_gemini() {
    full_pipeline(&GEMINI).await;
}

#[actix_web::test]
async fn real_cli_opencode() {
    full_pipeline(&OPENCODE).await;
}

#[actix_web::test]
async fn real_cli_qwen() {
    full_pipeline(&QWEN).await;
}

#[actix_web::test]
async fn real_cli_copilot() {
    full_pipeline(&COPILOT).await;
}

/// The processes on this machine whose environment or command line holds `needle`, and the
/// values of `var` in every environment (all processes: the sandbox's are visible from here).
fn processes_holding(needle: &str, var: &str) -> (Vec<String>, Vec<String>) {
    let (mut holding, mut values) = (Vec::new(), Vec::new());
    let prefix = format!("{var}=");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        for file in ["environ", "cmdline"] {
            let Ok(bytes) = std::fs::read(entry.path().join(file)) else { continue };
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                holding.push(format!("{pid}/{file}"));
            }
            if file == "environ" {
                values.extend(bytes.split(|b| *b == 0).filter_map(|item| {
                    let item = String::from_utf8_lossy(item);
                    item.strip_prefix(&prefix).map(str::to_owned)
                }));
            }
        }
    }
    (holding, values)
}

/// Copilot signed in with the owner's GitHub token (no Copilot key), brokered: the sandbox
/// holds a placeholder token, the broker swaps it on the way to the fake GitHub API
/// (`copilot_internal/...`) and the fake Copilot API, and a follow-up resumes the session.
#[actix_web::test]
async fn real_cli_copilot_github_token() {
    let (fake, app) = brokered_app(|fake| {
        format!(
            "[github]\napi_url = \"{}\"\ncopilot_api_url = \"{}\"\n",
            fake.github_api_url(),
            fake.copilot_api_url()
        )
    })
    .await;
    let (_, token) = app.user_with_token("copilot-gh").await;
    let github_token = format!("gho_{}REAL", uuid::Uuid::new_v4().simple());
    let res = app
        .client
        .put(app.url("/api/v1/me/git-credentials/github.com"))
        .bearer_auth(&token)
        .json(&json!({"kind": "github", "token": github_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let env =
        Env { app, fake, token, key: github_token.clone(), repo: BareRepo::new(), cli: &COPILOT };
    let app = &env.app;

    let id = env.create("create hello.txt containing hi", json!({"keep_alive": true})).await;
    let done = env.wait_runs(&id, 1).await;
    let events = env.events(&id).await;
    let dbg = dump(&events);
    assert_eq!(done["status"], "completed", "{done}\n{dbg}");
    let branch = done["branch_name"].as_str().unwrap().to_owned();
    assert_eq!(env.repo.show(&branch, "hello.txt"), "hi\n", "the pushed branch holds the edit");

    // The fake GitHub and Copilot APIs saw the real token, and only it.
    let requests = env.fake.requests();
    let real = format!("Bearer {github_token}");
    let sent_real = |path: &str| {
        requests.iter().any(|r| r.path.starts_with(path) && r.auth.as_deref() == Some(&real))
    };
    assert!(sent_real("/github/copilot_internal/user"), "no sign-in at GitHub: {requests:#?}");
    assert!(sent_real("/copilot/models"), "no model list: {requests:#?}");
    assert!(sent_real("/copilot/chat/completions"), "no model turn: {requests:#?}");
    for r in &requests {
        let auth = r.auth.as_deref().unwrap_or_default();
        assert!(!auth.contains("gho_drydock"), "a placeholder reached an upstream: {r:#?}");
    }
    assert!(
        events.iter().any(|e| e["kind"] == "network"
            && e["payload"]["route"] == "copilot_internal"
            && e["payload"]["allowed"] == true),
        "the GitHub call was not brokered\n{dbg}"
    );
    // Nothing the agent could read holds the token: events (its argv among them), its files.
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&github_token), "the GitHub token leaked into events");
    let sandbox = env.sandbox_id(&id).await.expect("kept alive");
    let (dir, needle) = (app.settings.sandboxes_dir().join(&sandbox), github_token.clone());
    let on_disk = tokio::task::spawn_blocking(move || contains_bytes(&dir, needle.as_bytes()));
    assert!(!on_disk.await.unwrap(), "the GitHub token is somewhere in the sandbox's files");

    // A follow-up resumes the session; while its model call stalls, the live CLI's environment
    // holds the placeholder and no process on the machine holds the token.
    env.follow_up(&id, "create second.txt containing two [[delay:4]]").await;
    let waiting = Instant::now();
    while !env.agent_requests().iter().any(|r| r.prompt.contains("second.txt")) {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "the follow-up never called the model"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let needle = github_token.clone();
    let (holding, values) =
        tokio::task::spawn_blocking(move || processes_holding(&needle, "COPILOT_GITHUB_TOKEN"))
            .await
            .unwrap();
    assert!(holding.is_empty(), "processes holding the GitHub token: {holding:?}");
    assert!(
        values.iter().any(|v| v.starts_with("gho_drydock")),
        "the running CLI has no placeholder token: {values:?}"
    );
    let second = env.wait_runs(&id, 2).await;
    let events = env.events(&id).await;
    assert_eq!(second["status"], "completed", "{second}\n{}", dump(&events));
    assert_eq!(env.repo.show(&branch, "second.txt"), "two\n");
    let resumed = env.resumed_request();
    assert_eq!(resumed.auth.as_deref(), Some(real.as_str()));
}
