//! The escape suite through the whole worker pipeline, in the default `brokered` network mode:
//! one probe script tries each way out from inside a task's real sandbox, run once by the fake
//! agent's shell tool and once by Claude Code's own Bash tool (`real_cli_` test). Every attempt
//! must fail, the run must still complete, and the owner's real key must be nowhere the agent
//! could read. Traffic goes only to 127.0.0.1: a listener this test starts, the API itself,
//! and the fake model.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, TestApp};

/// A listener on the host's loopback that counts the connections it gets.
fn host_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, hits)
}

/// The attempts, one `name=blocked|OPEN` line each. Written without `]]`, which would end the
/// agent directive that carries it.
fn probe(listener: u16, api: u16, data_dir: &str, host_pid: u32) -> String {
    let attempts = [
        ("sysctl", "cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern".to_owned()),
        ("root_only_file", "cat /opt/drydock/tools/root-only.txt".to_owned()),
        ("host_listener", format!("curl -sf --noproxy '*' -m 3 http://127.0.0.1:{listener}/")),
        ("api", format!("curl -sf --noproxy '*' -m 3 http://127.0.0.1:{api}/healthz")),
        ("proxy_to_listener", format!("curl -sf -m 5 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:{listener}/")),
        ("proxy_to_api", format!("curl -sf -m 5 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:{api}/healthz")),
        (
            "placeholder_elsewhere",
            format!("curl -sf -m 5 --noproxy '' -x http://127.0.0.1:3128 -H \"x-api-key: $ANTHROPIC_API_KEY\" http://127.0.0.1:{listener}/v1/messages"),
        ),
        ("data_dir", format!("ls {data_dir}")),
        ("nested_userns", "unshare -U true".to_owned()),
        ("mount", "unshare -m true".to_owned()),
        ("host_process", format!("kill -0 {host_pid}")),
        ("host_environ", format!("cat /proc/{host_pid}/environ")),
        ("raw_socket", "python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'".to_owned()),
    ];
    let mut script = String::from(
        "r() { if sh -c \"$2\" >/dev/null 2>&1; then echo \"$1=OPEN\"; else echo \"$1=blocked\"; fi; }; ",
    );
    for (name, command) in attempts {
        script.push_str(&format!("r {name} {}; ", shell_quote(&command)));
    }
    // What every process of the sandbox holds in its environment, for the host to search.
    script.push_str("cat /proc/*/environ > /home/agent/environ.dump 2>/dev/null; echo probe=done");
    script
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The probe's verdicts, from the tool results in the task's events.
fn verdicts(events: &[Value]) -> Vec<(String, String)> {
    let text: String = events
        .iter()
        .filter(|e| e["kind"] == "tool_result")
        .map(|e| e["payload"].to_string())
        .collect();
    let text = text.replace("\\n", "\n");
    text.split(|c: char| c.is_whitespace() || c == '"')
        .filter_map(|w| w.split_once('='))
        .filter(|(_, v)| *v == "blocked" || *v == "OPEN")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn contains_bytes(dir: &std::path::Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|entry| match entry.file_type() {
        Ok(t) if t.is_dir() => contains_bytes(&entry.path(), needle),
        Ok(t) if t.is_file() => std::fs::read(entry.path())
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false),
        _ => false,
    })
}

/// Runs the probe as `prompt_for(script)` on a kept-alive task and checks every verdict.
async fn escape_suite(app: &TestApp, token: &str, key: &str, prompt_for: impl Fn(&str) -> String) {
    let tools = app.settings.tools_dir();
    std::fs::create_dir_all(&tools).unwrap();
    let secret = tools.join("root-only.txt");
    std::fs::write(&secret, "root only").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (listener, hits) = host_listener();
    let data_dir = app.settings.data_dir.display().to_string();
    let script = probe(listener, app.settings.listen.port(), &data_dir, std::process::id());
    let repo = BareRepo::new();
    let task = app
        .create_task(
            token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": prompt_for(&script)}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(token, id, "the probe's run", finished).await;
    let events = app.events(token, id).await;
    assert_eq!(
        done["status"], "completed",
        "the run completes through the allowed endpoint: {done}"
    );
    let verdicts = verdicts(&events);
    let names = [
        "sysctl",
        "root_only_file",
        "host_listener",
        "api",
        "proxy_to_listener",
        "proxy_to_api",
        "placeholder_elsewhere",
        "data_dir",
        "nested_userns",
        "mount",
        "host_process",
        "host_environ",
        "raw_socket",
    ];
    for name in names {
        let verdict = verdicts.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(verdict, Some("blocked"), "{name}: {verdicts:?}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the host listener was reached");
    // The proxy said no, and why, for the loopback attempts.
    let refused: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "network" && e["payload"]["allowed"] == false)
        .collect();
    assert!(
        refused.iter().any(|e| e["payload"]["port"] == listener),
        "no refusal recorded for the listener's port: {refused:?}\n{}",
        events
            .iter()
            .map(|e| format!("{} {}", e["kind"], e["payload"]))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The real key is in none of the sandbox's files, nor in any process's environment there.
    let sandboxes = app.settings.sandboxes_dir();
    let dump = std::fs::read_dir(&sandboxes)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("home/environ.dump"))
        .find(|p| p.exists())
        .expect("the probe dumped the sandbox's environments");
    let environ = std::fs::read(&dump).unwrap();
    assert!(!environ.is_empty());
    assert!(!contains_bytes(&sandboxes, key.as_bytes()), "the real key is in the sandbox");
    assert!(
        !serde_json::to_string(&events).unwrap().contains(key),
        "the real key is in the events"
    );
}

#[actix_web::test]
async fn the_fake_agents_shell_cannot_get_out() {
    let app = TestApp::with_workers(1, "").await;
    let (token, key) = app.agent_user("escapee").await;
    escape_suite(&app, &token, &key, |script| format!("probe [[sh:{script}]]")).await;
}

#[actix_web::test]
async fn real_cli_claude_bash_tool_cannot_get_out() {
    let fake = fakes::FakeModel::start(fakes::FakeConfig {
        defaults: fakes::Defaults { workdir: Some("/workspace/repo".into()), ..Default::default() },
        ..Default::default()
    })
    .unwrap();
    let app = TestApp::with_real_agents(
        1,
        &format!("[tasks]\negress_allow = [\"127.0.0.1:{}\"]\n", fake.port()),
    )
    .await;
    let (_, token) = app.user_with_token("claude-escapee").await;
    let key = format!("sk-ant-escape-{}", uuid::Uuid::new_v4().simple());
    let res = app
        .client
        .put(app.url("/api/v1/me/keys/anthropic"))
        .bearer_auth(&token)
        .json(&json!({"value": key, "base_url": fake.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    escape_suite(&app, &token, &key, |script| format!("[[shell:{script}]]")).await;
    assert!(
        fake.requests().iter().any(|r| r.auth.as_deref().is_some_and(|a| a.contains(&key))),
        "the fake model got the real key from the broker"
    );
}
