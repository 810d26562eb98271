//! End-to-end browser tests: the built SPA (`dist/`) in headless Chromium against the real
//! `drydock serve`, a real PostgreSQL database and the fake agent driven as `claude`.
//!
//! Needs `dist/` (run `scripts/build-web.sh`), chromium + chromium-driver, PostgreSQL at
//! `TEST_DATABASE_URL`, git and bubblewrap. Screenshots are written to `docs/screenshots/`.

// This crate is tests only: panicking on the unexpected is how its helpers fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the GitHub browser tests; this binary uses only part of it.
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{BareRepo, Browser, Server};

const PASSWORD: &str = "correct-horse-battery";
const TASK_TIMEOUT: Duration = Duration::from_secs(90);

/// Fills the home form and submits it; returns the new task's id once its page shows.
async fn create_task(b: &Browser, repo: &BareRepo, prompt: &str) -> String {
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.fill("[data-testid=repo-url]", &repo.url()).await;
    b.fill("[data-testid=prompt]", prompt).await;
    b.click("[data-testid=agent] option[value=claude]").await;
    let id = b.submit_task_form().await;
    b.wait("[data-testid=task-page]").await;
    id
}

async fn status(b: &Browser) -> String {
    b.attr("[data-testid=task-status]", "data-status").await.unwrap_or_default()
}

async fn wait_status(b: &Browser, want: &str, timeout: Duration) {
    b.wait_until(&format!("status `{want}`"), timeout, || async { status(b).await == want }).await;
}

fn terminal(status: &str) -> bool {
    matches!(status, "completed" | "error" | "stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_then_set_a_key_and_create_a_token() {
    let server = Server::start().await;
    server.create_user("alice", PASSWORD);
    let b = Browser::start(&server.base, 1280, 900).await;

    // A signed-out visit lands on the sign-in page.
    b.goto("/").await;
    b.wait("#login-form").await;
    assert!(b.path().await.starts_with("/sign-in"), "{}", b.describe().await);
    b.screenshot("sign-in").await;

    // A wrong password is a form error, not a navigation.
    b.fill("#login-username", "alice").await;
    b.fill("#login-password", "wrong-password").await;
    b.click("#login-submit").await;
    b.wait("#login-form [data-testid=error]").await;

    b.sign_in("alice", PASSWORD).await;
    b.wait("[data-testid=task-form]").await;
    assert_eq!(b.path().await, "/");
    // Without a key the form warns about the agent's provider.
    b.wait("[data-testid=key-warning]").await;
    b.click("[data-testid=user-menu-button]").await;
    b.wait("[data-testid=user-menu]").await;
    let quota = b.wait("[data-testid=quota] [data-remaining]").await;
    let remaining = quota.attr("data-remaining").await.ok().flatten().unwrap_or_default();
    assert!(remaining.parse::<u32>().is_ok_and(|n| n > 0), "quota left: {remaining:?}");
    b.screenshot("user-menu").await;
    b.click("[data-testid=user-menu-button]").await;

    // Settings → API keys: store an Anthropic key; the row says "configured", never the key.
    b.goto("/settings/tokens").await;
    b.click("[data-testid=settings-tab-keys]").await;
    b.wait_until("the keys page", Duration::from_secs(10), || async {
        b.path().await == "/settings/keys"
    })
    .await;
    let row = "[data-testid=key-row][data-provider=anthropic]";
    b.wait(row).await;
    assert_eq!(b.attr(row, "data-configured").await.as_deref(), Some("false"));
    let key = "sk-ant-e2e-abcdefghijklmnop-WXYZ";
    b.store_key("anthropic", key).await;
    let html = b.client.source().await.expect("page source");
    assert!(!html.contains(key), "the stored key is never shown again");
    b.screenshot("settings-keys").await;

    // With the key stored, the home form no longer warns.
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.fill("[data-testid=repo-url]", "https://github.com/acme/widgets.git").await;
    b.fill("[data-testid=prompt]", "Add a dark mode toggle to the settings page").await;
    b.wait_until("the key warning to go", Duration::from_secs(10), || async {
        !b.exists("[data-testid=key-warning]").await
    })
    .await;
    b.screenshot("home").await;

    // Settings → API tokens: the secret is shown once and works against the API.
    b.goto("/settings/tokens").await;
    b.fill("[data-testid=token-name]", "ci").await;
    b.click("[data-testid=token-create]").await;
    let secret = b.wait("[data-testid=token-secret]").await.text().await.expect("secret text");
    assert!(!secret.trim().is_empty());
    b.wait("[data-testid=token-row]").await;
    b.screenshot("settings-tokens").await;
    let (code, me) = server.get(secret.trim(), "/api/v1/me").await;
    assert_eq!(code, 200, "the new token authenticates: {me}");
    assert_eq!(me["username"], "alice", "{me}");
    b.goto("/settings/tokens").await;
    b.wait("[data-testid=token-row]").await;
    assert!(!b.exists("[data-testid=token-secret]").await, "the secret is shown only once");

    // Signing out returns to the sign-in page.
    b.click("[data-testid=user-menu-button]").await;
    b.click("[data-testid=sign-out]").await;
    b.wait("#login-form").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_streams_live_takes_a_follow_up_and_shows_its_changes() {
    let server = Server::start().await;
    server.create_user("bob", PASSWORD);
    let token = server.create_token("bob");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("bob", PASSWORD).await;

    let id =
        create_task(&b, &repo, "Greet the world [[lines:3]] [[sleep:2]] [[write:hello.txt=hi]]")
            .await;

    // Events arrive while the task runs, without reloading.
    let mut counts_while_running = BTreeSet::new();
    let mut shot = false;
    let started = Instant::now();
    let final_status = loop {
        let s = status(&b).await;
        let n = b.all("[data-testid=events] [data-testid=event]").await.len();
        if terminal(&s) {
            break s;
        }
        if n > 0 {
            counts_while_running.insert(n);
        }
        if !shot && n >= 3 && s == "processing" {
            b.screenshot("task-page").await;
            shot = true;
        }
        assert!(
            started.elapsed() < TASK_TIMEOUT,
            "task did not finish: {}\n{}",
            b.describe().await,
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(final_status, "completed", "{}", b.describe().await);
    assert!(
        counts_while_running.len() >= 2,
        "the timeline grew while the task ran (counts seen: {counts_while_running:?})"
    );
    let mut kinds = BTreeSet::new();
    let mut seqs = Vec::new();
    for row in b.all("[data-testid=events] [data-testid=event]").await {
        kinds.insert(row.attr("data-kind").await.ok().flatten().unwrap_or_default());
        seqs.push(row.attr("data-seq").await.ok().flatten().unwrap_or_default());
    }
    println!("timeline kinds: {kinds:?}; {} rows", seqs.len());
    assert!(kinds.contains("agent_message"), "{kinds:?}");
    assert!(kinds.contains("status"), "{kinds:?}");
    if !shot {
        b.screenshot("task-page").await;
    }
    let stream = b.attr("[data-testid=stream-state]", "data-state").await;
    println!("stream-state after completion: {stream:?}");

    measure_first_render(&b, &id).await;

    // A follow-up in the chat resumes the agent, whose reply appears.
    b.click("[data-testid=tab-chat]").await;
    b.wait("[data-testid=chat-form]").await;
    b.wait("[data-testid=message][data-role=agent]").await;
    let agents_before = b.all("[data-testid=message][data-role=agent]").await.len();
    b.fill("[data-testid=chat-input]", "Say more [[write:more.txt=more]]").await;
    b.click("[data-testid=chat-send]").await;
    // The follow-up's run streams its messages under run 2 as they come (other messages may
    // come before the reply), ending with the reply.
    let run2 = "[data-testid=chat-run][data-run='2'] [data-testid=message][data-role=agent]";
    b.wait_until("the agent's reply to the follow-up", TASK_TIMEOUT, || async {
        let replies = b.all(run2).await;
        match replies.last() {
            Some(e) => e.text().await.unwrap_or_default().contains("Say more"),
            None => false,
        }
    })
    .await;
    assert!(b.all("[data-testid=message][data-role=agent]").await.len() > agents_before);
    wait_status(&b, "completed", TASK_TIMEOUT).await;
    assert!(b.exists("[data-testid=message][data-role=user]").await);
    b.screenshot("task-chat").await;

    // Changes: the tab works whether or not the API has the endpoints yet.
    let (changes_code, changes) = server.get(&token, &format!("/api/v1/tasks/{id}/changes")).await;
    println!("GET /api/v1/tasks/{{id}}/changes -> {changes_code}: {changes}");
    b.click("[data-testid=tab-changes]").await;
    if changes_code == 200 {
        b.wait("[data-testid=changes] [data-testid=file-tree]").await;
        b.wait("[data-testid=changed-file][data-path='hello.txt']").await;
        // The follow-up's file is part of the same branch.
        b.wait("[data-testid=changed-file][data-path='more.txt']").await;
        b.click("[data-testid=changed-file][data-path='hello.txt']").await;
        let diff = b.wait("[data-testid=diff-view]").await.text().await.unwrap_or_default();
        assert!(diff.contains("hi"), "the diff shows the new content: {diff}");
        b.screenshot("task-changes").await;
    } else {
        // Not implemented by the API yet: the tab says so instead of breaking the page.
        let error = b.wait("[data-testid=changes] [data-testid=error]").await;
        let text = error.text().await.unwrap_or_default();
        let code = error.attr("data-status").await.ok().flatten();
        println!("changes tab without the endpoint shows ({code:?}): {text}");
        assert_eq!(code.as_deref(), Some(changes_code.to_string().as_str()), "{text}");
        assert!(b.exists("[data-testid=tab-timeline]").await, "the task page is still there");
    }

    // The tasks list.
    b.goto("/tasks").await;
    let row = format!("[data-testid=task-row][data-task-id='{id}']");
    b.wait(&row).await;
    assert_eq!(b.attr(&row, "data-status").await.as_deref(), Some("completed"));
    b.screenshot("tasks").await;

    // Phone width: the task page still shows its status and timeline.
    b.resize(390, 844).await;
    b.goto(&format!("/tasks/{id}")).await;
    b.wait("[data-testid=events] [data-testid=event]").await;
    wait_status(&b, "completed", Duration::from_secs(15)).await;
    b.screenshot("phone-task").await;
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.screenshot("phone-home").await;
    b.close().await;
}

/// Navigation start → task page with its status badge and first timeline row, on localhost.
/// Printed and recorded in docs/benchmarks.md, never asserted.
async fn measure_first_render(b: &Browser, id: &str) {
    const SCRIPT: &str = r#"
        const done = arguments[arguments.length - 1];
        const ready = () => document.querySelector('[data-testid=task-status]')
            && document.querySelector('[data-testid=events] [data-testid=event]');
        const finish = (already) => {
            const nav = performance.getEntriesByType('navigation')[0] || {};
            done({ rendered: performance.now(), already: already,
                   response_end: nav.responseEnd || 0, dom_content_loaded: nav.domContentLoadedEventEnd || 0,
                   load: nav.loadEventEnd || 0 });
        };
        if (ready()) { finish(true); return; }
        const obs = new MutationObserver(() => { if (ready()) { obs.disconnect(); finish(false); } });
        obs.observe(document.documentElement, { childList: true, subtree: true });
    "#;
    let mut figures = Vec::new();
    for _ in 0..5 {
        b.goto(&format!("/tasks/{id}")).await;
        let v: Value = b.client.execute_async(SCRIPT, vec![]).await.expect("timing script");
        println!("first render of /tasks/{{id}}: {v}");
        if let Some(ms) = v["rendered"].as_f64() {
            figures.push(ms);
        }
    }
    figures.sort_by(f64::total_cmp);
    if let Some(median) = figures.get(figures.len() / 2) {
        println!(
            "FIRST RENDER task page (navigation start → status + timeline): median {median:.0} ms of {:?}",
            figures.iter().map(|f| f.round()).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_task_can_be_stopped() {
    let server = Server::start().await;
    server.create_user("carol", PASSWORD);
    let token = server.create_token("carol");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("carol", PASSWORD).await;

    let id = create_task(&b, &repo, "Take a long nap [[lines:1]] [[sleep:60]]").await;
    support::eventually("the agent to start", TASK_TIMEOUT, || async {
        let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
        (task["stage"] == "running_agent").then_some(())
    })
    .await;
    wait_status(&b, "processing", Duration::from_secs(15)).await;
    b.click("[data-testid=stop-task]").await;
    wait_status(&b, "stopped", Duration::from_secs(30)).await;
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "stopped", "{task}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_are_added_in_settings_and_chosen_per_task() {
    let server = Server::start().await;
    server.create_user("dora", PASSWORD);
    let token = server.create_token("dora");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("dora", PASSWORD).await;

    // Two remote connectors; the second is switched off.
    let header = "Authorization=Bearer mcp-secret-0123456789";
    b.goto("/settings/connectors").await;
    for (name, url) in
        [("docs", "https://mcp.example.com/docs"), ("old", "https://old.example.com/mcp")]
    {
        b.fill("#connector-name", name).await;
        b.click("#connector-kind option[value=remote]").await;
        b.fill("#connector-target", url).await;
        b.fill("#connector-env", header).await;
        b.click("[data-testid=connector-save]").await;
        b.wait_until(
            &format!("the {name} connector to be listed"),
            Duration::from_secs(15),
            || async { b.client.source().await.unwrap_or_default().contains(&format!(">{name}<")) },
        )
        .await;
    }
    let (_, list) = server.get(&token, "/api/v1/connectors").await;
    let items = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| list.as_array().cloned().unwrap_or_default());
    let id_of = |name: &str| {
        items.iter().find(|c| c["name"] == name).and_then(|c| c["id"].as_str()).unwrap().to_owned()
    };
    let (docs, old) = (id_of("docs"), id_of("old"));
    b.click(&format!(
        "[data-testid=connector-row][data-connector-id='{old}'] [data-testid=connector-enabled]"
    ))
    .await;
    support::eventually("the old connector to be disabled", Duration::from_secs(15), || async {
        let (_, c) = server.get(&token, &format!("/api/v1/connectors/{old}")).await;
        (c["enabled"] == false).then_some(())
    })
    .await;
    let html = b.client.source().await.expect("page source");
    assert!(!html.contains("mcp-secret-0123456789"), "stored headers are never shown again");

    // The task form offers only the enabled one; ticking it sends its id with the task.
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.fill("[data-testid=repo-url]", &repo.url()).await;
    b.fill("[data-testid=prompt]", "Use the docs [[lines:1]]").await;
    b.click("[data-testid=agent] option[value=claude]").await;
    b.click("[data-testid=task-options] summary").await;
    let offered = format!("[data-testid=task-connector][data-connector-id='{docs}']");
    b.click(&offered).await;
    assert!(!b.exists(&format!("[data-testid=task-connector][data-connector-id='{old}']")).await);
    let id = b.submit_task_form().await;
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["connector_ids"], serde_json::json!([docs]), "{task}");
    b.close().await;
}

/// The run-limit banner while the agent runs, and its button that gives the agent more time:
/// a one-minute run whose agent sleeps 64 s finishes once extended. The 57-second lead makes the
/// warning come a few seconds into the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_limit_banner_gives_a_running_agent_more_time() {
    let server =
        Server::start_with(vec![("DRYDOCK_TASKS__DEADLINE_WARNING_SECS".into(), "57".into())])
            .await;
    server.create_user("rhea", PASSWORD);
    let token = server.create_token("rhea");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let body = serde_json::json!({"repo_url": repo.url(), "agent": "claude",
        "max_duration_minutes": 1, "prompt": "Slowly [[sleep:64]] [[write:a.txt=1]]"});
    let (code, task) = server.post(&token, "/api/v1/tasks", &body).await;
    assert_eq!(code, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("rhea", PASSWORD).await;
    b.goto(&format!("/tasks/{id}")).await;
    b.wait_until("the run-limit banner", TASK_TIMEOUT, || async {
        b.attr("[data-testid=deadline-banner]", "data-warning").await.as_deref()
            == Some("run_time_limit")
    })
    .await;
    b.screenshot("run-limit-banner").await;
    b.click("[data-testid=banner-extend-run]").await;
    b.wait_until("the banner answered", TASK_TIMEOUT, || async {
        !b.exists("[data-testid=deadline-banner]").await
    })
    .await;
    // A toast confirms it (and goes by itself).
    let toast = b.wait("[data-testid=toasts] [data-testid=toast]").await.text().await.unwrap();
    assert!(toast.contains("15 more minutes"), "{toast}");
    wait_status(&b, "completed", Duration::from_secs(120)).await;
    let (_, page) = server.get(&token, &format!("/api/v1/tasks/{id}/events?limit=1000")).await;
    let extended = page["items"].as_array().unwrap().iter().any(|e| e["kind"] == "run_extended");
    assert!(extended, "{page}");
    b.close().await;
}

/// The sandbox line on the task page, the expiry banner with "Extend", the Sandboxes dialog,
/// and stop and start from the SPA. A one-minute keep-alive with a 57-second warning lead makes
/// the warning come a few seconds after the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_sandbox_warns_before_expiry_and_is_stopped_and_started_from_the_spa() {
    let server = Server::start_with(vec![
        ("DRYDOCK_TASKS__KEEP_ALIVE_MINUTES".into(), "1".into()),
        ("DRYDOCK_TASKS__DEADLINE_WARNING_SECS".into(), "57".into()),
        ("DRYDOCK_TASKS__LEASE_SECS".into(), "3".into()),
    ])
    .await;
    server.create_user("sandra", PASSWORD);
    let token = server.create_token("sandra");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let body = serde_json::json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true,
        "prompt": "Build it [[write:index.html=<h1>hi</h1>]]"});
    let (code, task) = server.post(&token, "/api/v1/tasks", &body).await;
    assert_eq!(code, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("sandra", PASSWORD).await;
    b.goto(&format!("/tasks/{id}")).await;
    wait_status(&b, "completed", TASK_TIMEOUT).await;
    let state = |want: &'static str| {
        let b = &b;
        async move {
            b.wait_until(&format!("sandbox `{want}`"), TASK_TIMEOUT, || async {
                b.attr("[data-testid=sandbox-state]", "data-state").await.as_deref() == Some(want)
            })
            .await;
        }
    };
    state("running").await;

    // The warning arrives on the event stream and raises the banner; "Extend" answers it.
    b.wait_until("the expiry banner", TASK_TIMEOUT, || async {
        b.attr("[data-testid=deadline-banner]", "data-warning").await.as_deref()
            == Some("sandbox_expiry")
    })
    .await;
    b.screenshot("sandbox-expiry-banner").await;
    b.click("[data-testid=banner-extend]").await;
    support::eventually("the extended event", TASK_TIMEOUT, || async {
        let (_, page) = server.get(&token, &format!("/api/v1/tasks/{id}/events?limit=1000")).await;
        page["items"].as_array()?.iter().any(|e| e["payload"]["action"] == "extended").then_some(())
    })
    .await;

    // The dialog lists it with its time left.
    b.click("[data-testid=open-sandboxes]").await;
    b.wait(&format!("[data-testid=sandbox-row][data-task-id='{id}']")).await;
    let left = b.wait("[data-testid=sandbox-row-left]").await.text().await.unwrap();
    assert!(left.ends_with("left"), "{left}");
    b.screenshot("sandboxes-dialog").await;
    b.click("[data-testid=close-sandboxes]").await;

    b.click("[data-testid=sandbox-stop]").await;
    state("stopped").await;
    b.wait_until("a toast saying the sandbox stopped", Duration::from_secs(10), || async {
        for t in b.all("[data-testid=toast]").await {
            if t.text().await.unwrap_or_default().contains("Sandbox stopped") {
                return true;
            }
        }
        false
    })
    .await;
    let (_, list) = server.get(&token, "/api/v1/sandboxes").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    b.click("[data-testid=sandbox-start]").await;
    state("running").await;
    b.screenshot("sandbox-running").await;
    let (_, view) = server.get(&token, &format!("/api/v1/tasks/{id}/sandbox")).await;
    assert_eq!(view["state"], "running", "{view}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_tab_shows_the_dev_server_of_a_kept_alive_task() {
    let server = Server::start().await;
    server.create_user("dora", PASSWORD);
    let token = server.create_token("dora");
    server.put_anthropic_key(&token).await;
    // A repository with a tiny node dev server (no dependencies): `npm run dev` on $PORT.
    let repo = fakes::dev_app::repo();
    let body = serde_json::json!({
        "repo_url": repo.url(), "agent": "claude", "prompt": "Have a look [[write:notes.txt=seen]]", "keep_alive": true
    });
    let (status, task) = server.post(&token, "/api/v1/tasks", &body).await;
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    support::eventually("the dev server to run after the agent", TASK_TIMEOUT, || async {
        let (_, dev) = server.get(&token, &format!("/api/v1/tasks/{id}/dev-server")).await;
        (dev["state"] == "running").then_some(())
    })
    .await;

    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("dora", PASSWORD).await;
    b.goto(&format!("/tasks/{id}")).await;
    b.wait("[data-testid=task-page]").await;
    b.click("[data-testid=tab-preview]").await;
    b.wait("[data-testid=dev-server-state]").await;
    b.wait("[data-testid=preview-frame]").await;
    // The frame opened a one-time link, got the preview's cookie and shows the app.
    b.wait_until("the app in the preview frame", Duration::from_secs(60), || async {
        b.text_in_frame("[data-testid=preview-frame]", "#hello").await.as_deref()
            == Some("Hello from the dev server")
    })
    .await;
    let url = b.client.find(fantoccini::Locator::Css("[data-testid=preview-url]")).await.unwrap();
    assert_eq!(url.text().await.unwrap(), format!("{}/preview/{id}/", server.base));
    b.screenshot("preview").await;

    // Restart: the server goes down and comes back, and the frame shows it again.
    b.click("[data-testid=dev-server-restart]").await;
    b.wait_until("the app back after a restart", Duration::from_secs(60), || async {
        b.text_in_frame("[data-testid=preview-frame]", "#hello").await.as_deref()
            == Some("Hello from the dev server")
    })
    .await;
    // The logs pane shows the server's own lines under "server".
    b.click("[data-testid=tab-timeline]").await;
    b.click("[data-testid=timeline-filter] option[value=server]").await;
    b.wait_until("the server's lines in the timeline", Duration::from_secs(30), || async {
        !b.all("[data-kind=server_output]").await.is_empty()
    })
    .await;

    // Stop the sandbox and start it again from the pushed branch (the agent's note made one):
    // the dev server comes back with it, and so does the preview.
    let sandbox = |action: &'static str| {
        let path = format!("/api/v1/tasks/{id}/sandbox/{action}");
        let (server, token) = (&server, &token);
        async move { server.post(token, &path, &Value::Null).await }
    };
    let (code, stopped) = sandbox("stop").await;
    assert_eq!(code, 200, "{stopped}");
    let (code, started) = sandbox("start").await;
    assert!(code == 200 || code == 202, "{code} {started}");
    let deadline = std::time::Instant::now() + TASK_TIMEOUT;
    loop {
        let (_, dev) = server.get(&token, &format!("/api/v1/tasks/{id}/dev-server")).await;
        if dev["state"] == "running" {
            break;
        }
        let (_, status) = server.get(&token, &format!("/api/v1/tasks/{id}/sandbox")).await;
        assert!(
            std::time::Instant::now() < deadline,
            "the dev server did not come back with the sandbox: {dev}\n{status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    b.click("[data-testid=tab-preview]").await;
    b.wait("[data-testid=preview-frame]").await;
    b.click("[data-testid=preview-refresh]").await;
    // The frame may first get the "starting" page, which reloads itself until the app answers.
    b.wait_until("the app back after a stop and a start", Duration::from_secs(60), || async {
        b.text_in_frame("[data-testid=preview-frame]", "#hello").await.as_deref()
            == Some("Hello from the dev server")
    })
    .await;
    b.close().await;
}

/// With a preview domain, each task's preview is an origin of its own: Chromium resolves
/// `*.localhost` to loopback by itself, so `<task-id>.preview.localhost` reaches this server
/// without DNS. Opening the one-time link sets the preview's cookie on that origin, and the
/// page's WebSocket (as an HMR client opens one) echoes through the proxy and the relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_echoes_through_a_preview_of_its_own_origin() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let domain = format!("preview.localhost:{port}");
    let server =
        Server::start_on(port, vec![("DRYDOCK_PREVIEW__DOMAIN".into(), domain.clone())]).await;
    server.create_user("erin", PASSWORD);
    let token = server.create_token("erin");
    server.put_anthropic_key(&token).await;
    let repo = fakes::dev_app::repo();
    let body = serde_json::json!({
        "repo_url": repo.url(), "agent": "claude", "prompt": "Have a look", "keep_alive": true
    });
    let (_, task) = server.post(&token, "/api/v1/tasks", &body).await;
    let id = task["id"].as_str().unwrap().to_owned();
    support::eventually("the dev server to run after the agent", TASK_TIMEOUT, || async {
        let (_, dev) = server.get(&token, &format!("/api/v1/tasks/{id}/dev-server")).await;
        (dev["state"] == "running").then_some(())
    })
    .await;
    let (status, link) =
        server.post(&token, &format!("/api/v1/tasks/{id}/preview"), &Value::Null).await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("http://{id}.{domain}/")), "{url}");

    let b = Browser::start(&server.base, 1280, 900).await;
    b.client.goto(url).await.unwrap();
    b.wait_until("the WebSocket echo", Duration::from_secs(60), || async {
        match b.client.find(fantoccini::Locator::Css("#echo")).await {
            Ok(e) => e.text().await.unwrap_or_default() == "echo:hi",
            Err(_) => false,
        }
    })
    .await;
    let here = b.client.current_url().await.unwrap();
    assert_eq!(here.as_str(), format!("http://{id}.{domain}/"), "the link led to the preview");
    b.close().await;
}

/// Settings → Git hosts: add a token for a host, see it listed with its last 4 characters and
/// never the token, and remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_host_tokens_are_added_listed_without_the_token_and_removed() {
    let server = Server::start().await;
    server.create_user("gita", PASSWORD);
    let token = server.create_token("gita");
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("gita", PASSWORD).await;
    b.goto("/settings/tokens").await;
    b.click("[data-testid=settings-tab-git-hosts]").await;
    b.wait_until("the git hosts page", Duration::from_secs(10), || async {
        b.path().await == "/settings/git-hosts"
    })
    .await;
    b.wait("[data-testid=git-host-form]").await;

    let secret = "glpat-e2e-secret-token-9876";
    b.fill("[data-testid=git-host-host]", "GitLab.Example.com").await;
    b.click("[data-testid=git-host-kind] option[value=gitlab]").await;
    b.fill("[data-testid=git-host-token]", secret).await;
    b.click("[data-testid=git-host-save]").await;
    let row = "[data-testid=git-host-row][data-host='gitlab.example.com']";
    b.wait(row).await;
    let last4 = b.wait(&format!("{row} [data-testid=git-host-last4]")).await.text().await.unwrap();
    assert!(last4.ends_with("9876"), "{last4}");
    let html = b.client.source().await.expect("page source");
    assert!(html.contains("https://gitlab.example.com/api/v4"), "the defaulted API URL is listed");
    assert!(!html.contains(secret), "the token is never shown again");
    b.screenshot("settings-git-hosts").await;
    let (code, list) = server.get(&token, "/api/v1/me/git-credentials").await;
    assert_eq!(code, 200);
    assert_eq!(list[0]["host"], "gitlab.example.com", "{list}");

    // A bad host is a form error with its reason, and nothing is stored.
    b.fill("[data-testid=git-host-host]", "10.0.0.8").await;
    b.click("[data-testid=git-host-kind] option[value=git]").await;
    b.fill("[data-testid=git-host-token]", "plain-token-1234").await;
    b.click("[data-testid=git-host-save]").await;
    b.wait("[data-testid=git-hosts] [data-testid=error]").await;
    assert_eq!(b.all("[data-testid=git-host-row]").await.len(), 1);

    b.click(&format!("{row} [data-testid=git-host-remove]")).await;
    b.client.accept_alert().await.expect("the confirmation dialog");
    b.wait_until("the row to go", Duration::from_secs(10), || async { !b.exists(row).await }).await;
    let (_, list) = server.get(&token, "/api/v1/me/git-credentials").await;
    assert_eq!(list, serde_json::json!([]), "removed on the server too");
    b.close().await;
}

/// Browser automation from the form: the switch under Options starts a task whose agent (the
/// real Claude Code CLI, scripted by the fake Anthropic server) gets the browser MCP server,
/// opens a page served only inside its sandbox and reports the page's title, which the chat
/// shows. The boundary itself is tested in `tests/api/browser.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_cli_browser_automation_from_the_task_form() {
    let fake = fakes::FakeModel::start(fakes::FakeConfig::default()).expect("fake model");
    let server = Server::start_with_real_claude(vec![
        ("DRYDOCK_TASKS__SANDBOX_NETWORK".into(), "brokered".into()),
        ("DRYDOCK_TASKS__EGRESS_ALLOW".into(), format!("[\"127.0.0.1:{}\"]", fake.port())),
        ("DRYDOCK_TASKS__AGENT_IDLE_TIMEOUT_SECS".into(), "120".into()),
    ])
    .await;
    server.create_user("bea", PASSWORD);
    let token = server.create_token("bea");
    server.put_anthropic_key_at(&token, Some(&fake.base_url())).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("bea", PASSWORD).await;

    let repo = BareRepo::new();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let title = format!("Drydock probe {:08x}", nanos.subsec_nanos());
    let serve = format!(
        "mkdir -p /tmp/site && printf '<html><head><title>{title}</title></head><body>probe</body></html>' > /tmp/site/index.html \
         && (setsid python3 -m http.server 8765 --bind 127.0.0.1 -d /tmp/site >/dev/null 2>&1 &) \
         && curl -sf --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:8765/ && echo serving"
    );
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.fill("[data-testid=repo-url]", &repo.url()).await;
    b.fill(
        "[data-testid=prompt]",
        &format!("Open the page and tell me its title. [[shell:{serve}]] [[browse:http://127.0.0.1:8765/]]"),
    )
    .await;
    b.click("[data-testid=agent] option[value=claude]").await;
    b.click("[data-testid=task-options] summary").await;
    // Offered (not disabled) because this server has Chromium and the MCP package
    // (`scripts/install-deps.sh`).
    b.click("#opt-enable-browser:not([disabled])").await;
    let id = b.submit_task_form().await;
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["enable_browser"], true, "the switch reached the task: {task}");

    b.wait("[data-testid=task-page]").await;
    b.wait_until("the run to end", Duration::from_secs(240), || async {
        terminal(&status(&b).await)
    })
    .await;
    assert_eq!(status(&b).await, "completed", "{}", server.log_text());
    b.click("[data-testid=tab-chat]").await;
    let expected = format!("The page title is: {title}");
    let agent = "[data-testid=chat] [data-testid=message][data-role=agent]";
    b.wait_until(
        "the agent's report of the title in the chat",
        Duration::from_secs(15),
        || async {
            for message in b.all(agent).await {
                if message.text().await.unwrap_or_default().contains(&expected) {
                    return true;
                }
            }
            false
        },
    )
    .await;
}

/// What sticks out past the right edge of the viewport: the page's overflow in pixels, and the
/// widest offenders (tag, class, test id, right edge), for the failure message.
const OVERFLOW_JS: &str = r#"
const width = window.innerWidth;
const over = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  // Content inside a box that scrolls on its own (code, tables, tab strips) does not widen the page.
  let clipped = false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') { clipped = true; break; }
  }
  if (!clipped && r.right > width + 1) {
    over.push(`${el.tagName.toLowerCase()}.${el.className || ''}[${el.dataset.testid || ''}] right=${Math.round(r.right)}`);
  }
}
return [document.documentElement.scrollWidth - width, over.slice(0, 6)];
"#;

/// The page's background as a 0–1 relative luminance.
const BACKGROUND_JS: &str = r#"
const c = getComputedStyle(document.body).backgroundColor.match(/[0-9.]+/g).map(Number);
const lin = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
return [document.documentElement.dataset.theme || '', 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])];
"#;

/// Both themes, the stored choice (`localStorage`, as the user menu stores it).
const THEMES: [&str; 2] = ["dark", "light"];

async fn choose_theme(b: &Browser, theme: &str) {
    b.client
        .execute(&format!("localStorage.setItem('drydock-theme', '{theme}');"), vec![])
        .await
        .expect("choose the theme");
}

async fn fits_the_phone(b: &Browser, page: &str, theme: &str) {
    let page = format!("{page} ({theme})");
    let got = b.client.execute(OVERFLOW_JS, vec![]).await.expect("measure overflow");
    let overflow = got[0].as_f64().unwrap_or(f64::MAX);
    assert!(overflow <= 1.0, "{page} is {overflow}px wider than the phone: {}", got[1]);
    let bg = b.client.execute(BACKGROUND_JS, vec![]).await.expect("measure background");
    assert_eq!(bg[0], theme, "{page}: the theme is not applied");
    let luminance = bg[1].as_f64().unwrap_or(f64::NAN);
    let fits = if theme == "dark" { luminance < 0.1 } else { luminance > 0.6 };
    assert!(fits, "{page}: the background does not suit the theme (luminance {luminance:.2})");
}

/// Every page at phone width (390 × 844 CSS pixels) in the dark and the light theme: nothing is
/// wider than the screen (only boxes that scroll on their own may be), and the background is
/// the theme's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_in_both_themes() {
    let server = Server::start().await;
    server.cli(
        &["user", "create", "--username", "root", "--admin", "--password-stdin"],
        Some(PASSWORD),
    );
    let token = server.create_token("root");
    server.put_anthropic_key(&token).await;
    let b = Browser::start(&server.base, 390, 844).await;

    // Signed out.
    b.goto("/sign-in").await;
    for theme in THEMES {
        choose_theme(&b, theme).await;
        for (path, ready) in [
            ("/sign-in", "#login-form"),
            ("/sign-in?error=access_denied", "#login-form"),
            ("/invite?token=nope", "[data-testid=invite]"),
        ] {
            b.goto(path).await;
            b.wait(ready).await;
            fits_the_phone(&b, path, theme).await;
            if theme == "dark" && path == "/sign-in" {
                b.screenshot("phone-dark-sign-in").await;
            }
        }
    }

    b.sign_in("root", PASSWORD).await;
    let repo = BareRepo::new();
    let (status, task) = server
        .post(
            &token,
            "/api/v1/tasks",
            &serde_json::json!({"repo_url": repo.url(), "agent": "claude",
                "prompt": "Add a note with a rather long line so that the timeline has something wide to show [[write:notes/a-file-with-a-long-name.txt=hello]]"}),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, t) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
        if terminal(t["status"].as_str().unwrap_or_default()) {
            break;
        }
        assert!(started.elapsed() < TASK_TIMEOUT, "the task did not finish: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let task_page = format!("/tasks/{id}");
    let mut pages: Vec<(String, &str)> = vec![
        ("/".into(), "[data-testid=task-form]"),
        ("/tasks".into(), "[data-testid=task-list]"),
        (task_page.clone(), "[data-testid=task-page]"),
        ("/admin".into(), "[data-testid=admin]"),
    ];
    for section in ["tokens", "keys", "git-hosts", "connectors", "accounts"] {
        pages.push((format!("/settings/{section}"), "[data-testid=settings]"));
    }
    // The task page's icons come from the sprite the server serves, each one there.
    b.goto(&task_page).await;
    b.wait("[data-testid=task-page]").await;
    let sprite = reqwest::get(server.url("/icons.svg")).await.expect("GET /icons.svg");
    assert_eq!(sprite.status(), 200);
    let sprite = sprite.text().await.unwrap();
    let shown = b
        .client
        .execute(
            "return [...document.querySelectorAll('[data-icon]')].map(e => e.dataset.icon);",
            vec![],
        )
        .await
        .unwrap();
    let shown: Vec<&str> = shown.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(shown.contains(&"list-tree") && shown.contains(&"menu"), "icons shown: {shown:?}");
    for icon in shown {
        assert!(sprite.contains(&format!("<symbol id=\"{icon}\"")), "{icon} is not in the sprite");
    }

    for theme in THEMES {
        choose_theme(&b, theme).await;
        for (path, ready) in &pages {
            b.goto(path).await;
            b.wait(ready).await;
            // Let the page's reads land before measuring.
            tokio::time::sleep(Duration::from_millis(500)).await;
            fits_the_phone(&b, path, theme).await;
            if theme == "dark" && path == "/" {
                b.screenshot("phone-dark-home").await;
            }
        }
        // Each tab of the task page.
        b.goto(&task_page).await;
        b.wait("[data-testid=task-page]").await;
        for tab in ["timeline", "chat", "changes", "pr", "terminal", "preview", "editor"] {
            let button = format!("[data-testid=tab-{tab}]");
            if !b.exists(&button).await {
                continue;
            }
            b.click(&button).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            fits_the_phone(&b, &format!("{task_page}, tab {tab}"), theme).await;
            if theme == "dark" && tab == "timeline" {
                b.screenshot("phone-dark-task").await;
            }
        }
        // The sidebar, opened from the menu button on a phone, fits too.
        b.click("[data-testid=sidebar-toggle]").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        fits_the_phone(&b, "the open sidebar", theme).await;
        b.click("[data-testid=sidebar-toggle]").await;
    }
}
