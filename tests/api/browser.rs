//! Browser automation (`enable_browser`): the real Claude Code CLI, in the real bubblewrap
//! sandbox with brokered network, gets the browser MCP server (`@playwright/mcp` from
//! `tools/browser-mcp`, driving the host's Chromium read-only) and is scripted by the fake
//! Anthropic server (`[[shell:...]]`, then `[[browse:URL]]`).
//!
//! - A page the task serves itself inside the sandbox (on the sandbox's own loopback) is read:
//!   the agent's final message carries its `<title>`, which only the page holds.
//! - The boundary still holds: a listener on the host's 127.0.0.1 receives nothing from the
//!   browser, Chromium and the MCP package are read-only inside, and the host's HOME (with any
//!   browser profile in it) is not there.
//! - Without Chromium the option is refused with a clear problem, and it is off by default.
//!
//! The first two are slow (a real CLI and a real browser) and named `real_cli_*` like the other
//! real-CLI tests; they need `scripts/install-deps.sh` to have installed Chromium and the MCP
//! package.

use std::time::{Duration, Instant};

use fakes::FakeModel;
use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json, TestApp};

struct Env {
    app: TestApp,
    _fake: FakeModel,
    token: String,
    repo: BareRepo,
}

impl Env {
    async fn new() -> Self {
        let fake = FakeModel::start(fakes::FakeConfig::default()).unwrap();
        let app = TestApp::with_real_agents(
            1,
            &format!(
                "[tasks]\ngeneration_timeout_ms = 2000\nagent_idle_timeout_secs = 120\nsandbox_network = \"brokered\"\negress_allow = [\"127.0.0.1:{}\"]\n",
                fake.port()
            ),
        )
        .await;
        let (_, token) = app.user_with_token("browsing").await;
        let res = app
            .client
            .put(app.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(&token)
            .json(&json!({"value": format!("sk-ant-{}", uuid::Uuid::new_v4().simple()), "base_url": fake.base_url()}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        Self { app, _fake: fake, token, repo: BareRepo::new() }
    }

    /// Runs a browser task with `prompt` to its end; returns the task and its events.
    async fn run(&self, prompt: &str) -> (Value, Vec<Value>) {
        let body = json!({"repo_url": self.repo.url(), "agent": "claude", "model": "claude-sonnet-4-5",
                          "prompt": prompt, "enable_browser": true});
        let task = self.app.create_task(&self.token, body).await;
        assert_eq!(task["enable_browser"], true, "{task}");
        let id = task["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        loop {
            let task = self.app.wait_for(&self.token, &id, "the task", |_| true).await;
            if finished(&task) {
                return (task, self.app.events(&self.token, &id).await);
            }
            assert!(started.elapsed() < Duration::from_secs(240), "timed out: {task}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The agent's final messages.
fn agent_messages(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["kind"] == "agent_message")
        .filter_map(|e| e["payload"]["text"].as_str().map(str::to_owned))
        .collect()
}

fn dump(events: &[Value]) -> String {
    let line = |e: &Value| {
        // The CLI's own init line says which MCP servers connected and which tools it has.
        let keep = if e["payload"].to_string().contains("mcp_servers") { 4000 } else { 400 };
        let payload: String = e["payload"].to_string().chars().take(keep).collect();
        format!("{} {} {payload}", e["seq"], e["kind"])
    };
    events.iter().map(line).collect::<Vec<_>>().join("\n")
}

#[actix_web::test]
async fn real_cli_browser_reads_a_page_served_inside_the_sandbox() {
    let env = Env::new().await;
    let caps = json(
        env.app
            .client
            .get(env.app.url("/api/v1/capabilities"))
            .bearer_auth(&env.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(caps["browser"]["available"], true, "install Chromium and the MCP: {caps}");
    let title = format!("Drydock probe {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // The page exists only inside the sandbox, served on its own loopback.
    let serve = format!(
        "mkdir -p /tmp/site && printf '<html><head><title>{title}</title></head><body>probe</body></html>' > /tmp/site/index.html \
         && (setsid python3 -m http.server 8765 --bind 127.0.0.1 -d /tmp/site >/dev/null 2>&1 &) \
         && curl -sf --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:8765/ && echo serving"
    );
    let (task, events) = env
        .run(&format!("Open the page and tell me its title. [[shell:{serve}]] [[browse:http://127.0.0.1:8765/]]"))
        .await;
    let dbg = dump(&events);
    assert_eq!(task["status"], "completed", "{task}\n{dbg}");
    assert!(dbg.contains("MCP servers: browser"), "the browser MCP server was not wired in\n{dbg}");
    assert!(
        events.iter().any(|e| e["kind"] == "tool_call"
            && e["payload"]["tool"].as_str().is_some_and(|t| t.ends_with("browser_navigate"))),
        "the agent never called the browser\n{dbg}"
    );
    let expected = format!("The page title is: {title}");
    assert!(
        agent_messages(&events).iter().any(|m| m.contains(&expected)),
        "the agent did not report the page's title\n{dbg}"
    );
}

#[actix_web::test]
async fn real_cli_browser_stays_inside_the_boundary() {
    let env = Env::new().await;
    // Something on the host's loopback that the browser must not reach.
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let mcp = "/opt/drydock/browser";
    let probe = format!(
        "for f in /usr/bin/chromium /usr/lib/chromium/chromium {mcp}/node_modules/@playwright/mcp/cli.js; do \
           test -e $f || echo \"probe-missing $f\"; test -w $f && echo \"probe-writable $f\"; done; \
         for d in /usr/lib/chromium {mcp}; do touch $d/.drydock-probe 2>/dev/null && echo \"probe-writable $d\"; done; \
         test -e {home} && echo probe-host-home; test -e {home}/.config/chromium && echo probe-host-profile; \
         echo probe-done"
    );
    let (task, events) = env
        .run(&format!("Try the host. [[shell:{probe}]] [[browse:http://127.0.0.1:{port}/]]"))
        .await;
    let dbg = dump(&events);
    assert_eq!(task["status"], "completed", "{task}\n{dbg}");
    let outputs: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "tool_result")
        .filter_map(|e| e["payload"]["output"].as_str())
        .collect();
    let probed = outputs
        .iter()
        .find(|o| o.contains("probe-done"))
        .unwrap_or_else(|| panic!("the probe did not run\n{dbg}"));
    assert!(!probed.contains("probe-missing"), "the browser is not in the sandbox: {probed}");
    assert!(!probed.contains("probe-writable"), "the browser is writable: {probed}");
    assert!(!probed.contains("probe-host-home"), "the host's HOME is visible: {probed}");
    assert!(!probed.contains("probe-host-profile"), "a host browser profile is visible: {probed}");
    assert!(!std::path::Path::new(mcp).join(".drydock-probe").exists());
    let messages = agent_messages(&events);
    assert!(
        messages.iter().any(|m| m.starts_with("The page did not load")),
        "the browser reached something at 127.0.0.1:{port}\n{dbg}"
    );
    // Nothing connected to the host's listener: the sandbox's 127.0.0.1 is its own.
    host.set_nonblocking(true).unwrap();
    match host.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the host listener was reached from the sandbox: {other:?}\n{dbg}"),
    }
}

#[actix_web::test]
async fn browser_is_refused_without_chromium_and_off_by_default() {
    let app = TestApp::with_workers(0, "[browser]\nchromium = \"/nonexistent/chromium\"\n").await;
    let (token, _) = app.agent_user("nobrowser").await;
    let caps = json(
        app.client.get(app.url("/api/v1/capabilities")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(caps["browser"]["available"], false);
    let reason = caps["browser"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Chromium is not installed"), "{caps}");

    let repo = BareRepo::new();
    let body = json!({"repo_url": repo.url(), "agent": "claude", "prompt": "look", "enable_browser": true});
    let res = app
        .client
        .post(app.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    let errors = problem["errors"]["enable_browser"][0].as_str().unwrap_or_default();
    assert!(errors.contains("not available") && errors.contains("Chromium"), "{problem}");
    assert!(!errors.contains("/usr/"), "no more of the host than the configured path: {problem}");

    let plain = json!({"repo_url": repo.url(), "agent": "claude", "prompt": "look"});
    let task = app.create_task(&token, plain).await;
    assert_eq!(task["enable_browser"], false, "off unless asked for: {task}");
}
