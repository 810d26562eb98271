//! Browser tests of what updates live and what links fill in: the sidebar following the user's
//! event stream (no polling), the agent's messages streaming into the chat, deep links
//! pre-filling the task form, and the keyboard-shortcut help.

// This crate is tests only: panicking on the unexpected is how its helpers fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other browser tests; this binary uses only part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{BareRepo, Browser, Server};

const PASSWORD: &str = "correct-horse-battery";
const TASK_TIMEOUT: Duration = Duration::from_secs(90);

/// How many times the page has fetched the task list (`GET /api/v1/tasks`, any query), from
/// the browser's own record of every request it made since the page loaded.
async fn task_list_reads(b: &Browser) -> u64 {
    let script = "return performance.getEntriesByType('resource')
        .filter(e => new URL(e.name).pathname === '/api/v1/tasks').length;";
    b.client.execute(script, vec![]).await.expect("resource timing").as_u64().unwrap_or(0)
}

async fn sidebar_status(b: &Browser, id: &str) -> Option<String> {
    let row = format!(
        "[data-testid=sidebar-task][data-task-id='{id}'] [data-testid=sidebar-task-status]"
    );
    b.attr(&row, "data-status").await
}

async fn signed_in_user(server: &Server, name: &str) -> (Browser, String) {
    server.create_user(name, PASSWORD);
    let token = server.create_token(name);
    server.put_anthropic_key(&token).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in(name, PASSWORD).await;
    (b, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidebar_follows_the_users_event_stream_without_polling() {
    let server = Server::start().await;
    let (b, token) = signed_in_user(&server, "erin").await;
    let repo = BareRepo::new();
    b.goto("/settings").await;
    b.wait("[data-testid=sidebar-tasks]").await;
    b.client
        .execute(
            "performance.setResourceTimingBufferSize(100000); window.__same_page = true;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(task_list_reads(&b).await, 1, "the list is read once on load");

    // A task made elsewhere (the REST API) appears, then changes status, with no reload.
    let (code, task) = server
        .post(&token, "/api/v1/tasks", &json!({"repo_url": repo.url(), "agent": "claude", "prompt": "Nap [[lines:1]] [[sleep:600]]"}))
        .await;
    assert_eq!(code, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    b.wait_until("the new task to be listed as running", TASK_TIMEOUT, || async {
        sidebar_status(&b, &id).await.as_deref() == Some("processing")
    })
    .await;
    let (code, _) = server.post(&token, &format!("/api/v1/tasks/{id}/stop"), &json!({})).await;
    assert!(code < 300, "stop: {code}");
    b.wait_until("the task to be listed as stopped", TASK_TIMEOUT, || async {
        sidebar_status(&b, &id).await.as_deref() == Some("stopped")
    })
    .await;

    // A polling sidebar would have had to read the list again to learn any of that.
    let same: Value =
        b.client.execute("return window.__same_page === true;", vec![]).await.unwrap();
    assert_eq!(same, Value::Bool(true), "the page was reloaded");
    assert_eq!(task_list_reads(&b).await, 1, "the list was read again: polling is back");

    // A deleted task leaves the list, still without a read of it.
    let res = server
        .http
        .delete(server.url(&format!("/api/v1/tasks/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    b.wait_until("the deleted task to leave the sidebar", TASK_TIMEOUT, || async {
        !b.exists(&format!("[data-testid=sidebar-task][data-task-id='{id}']")).await
    })
    .await;
    assert_eq!(task_list_reads(&b).await, 1);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_shows_the_agents_messages_while_the_run_streams() {
    let server = Server::start().await;
    let (b, token) = signed_in_user(&server, "frank").await;
    let repo = BareRepo::new();
    let (_, task) = server
        .post(&token, "/api/v1/tasks", &json!({"repo_url": repo.url(), "agent": "claude", "prompt": "Talk [[lines:2]] [[sleep:600]]"}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    b.goto(&format!("/tasks/{id}")).await;
    b.click("[data-testid=tab-chat]").await;
    let agent = "[data-testid=chat] [data-testid=message][data-role=agent]";
    b.wait_until("two streamed agent messages", TASK_TIMEOUT, || async {
        b.all(agent).await.len() >= 2
    })
    .await;
    // The run has not ended, so no final message is stored: these came from the stream.
    let (_, now) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(now["status"], "processing", "{now}");
    let (_, messages) = server.get(&token, &format!("/api/v1/tasks/{id}/messages")).await;
    assert!(
        messages["items"].as_array().unwrap().iter().all(|m| m["role"] == "user"),
        "{messages}"
    );
    let texts: Vec<String> = futures_texts(&b, agent).await;
    assert_eq!(texts, vec!["line 0".to_owned(), "line 1".to_owned()]);
    // Grouped under the run they belong to.
    assert!(
        b.exists("[data-testid=chat-run][data-run='1'] [data-role=agent]").await,
        "{}",
        b.describe().await
    );
    b.screenshot("task-chat-streaming").await;
    server.post(&token, &format!("/api/v1/tasks/{id}/stop"), &json!({})).await;
    b.close().await;
}

async fn futures_texts(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.all(css).await {
        out.push(e.text().await.unwrap_or_default().trim().to_owned());
    }
    out
}

async fn value(b: &Browser, css: &str) -> String {
    b.wait(css).await.prop("value").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_links_and_new_task_from_a_task_prefill_the_form() {
    let server = Server::start().await;
    let (b, token) = signed_in_user(&server, "gina").await;
    let repo = BareRepo::new();

    // `/?repo=&agent=&model=&prompt=&branch=` fills the form, and the task uses all of it.
    let url = repo.url();
    let enc =
        |s: &str| s.replace('%', "%25").replace(' ', "%20").replace(':', "%3A").replace('/', "%2F");
    b.goto(&format!(
        "/?repo={}&agent=claude&prompt={}&branch=trunk",
        enc(&url),
        enc("Say hello [[write:h.txt=hi]]")
    ))
    .await;
    b.wait("[data-testid=task-form]").await;
    b.wait_until("the link's repository in the form", Duration::from_secs(15), || async {
        value(&b, "[data-testid=repo-url]").await == url
    })
    .await;
    assert_eq!(value(&b, "[data-testid=prompt]").await, "Say hello [[write:h.txt=hi]]");
    assert_eq!(value(&b, "[data-testid=base-branch]").await, "trunk");
    assert_eq!(value(&b, "[data-testid=agent]").await, "claude");
    b.screenshot("deep-link-form").await;
    let id = b.submit_task_form().await;
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["base_branch"], "trunk", "{task}");
    assert_eq!(task["prompt"], "Say hello [[write:h.txt=hi]]");

    // "New task…" on a task opens the form on its repository, agent and branch, prompt empty.
    b.click("[data-testid=new-task-from]").await;
    b.wait("[data-testid=task-form]").await;
    assert_eq!(b.path().await, "/");
    assert_eq!(value(&b, "[data-testid=prompt]").await, "", "a new task gets a new prompt");
    b.wait_until("the task's repository in the form", Duration::from_secs(15), || async {
        value(&b, "[data-testid=repo-url]").await == url
    })
    .await;
    assert_eq!(value(&b, "[data-testid=base-branch]").await, "trunk");
    assert_eq!(value(&b, "[data-testid=agent]").await, "claude");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_mark_opens_the_shortcut_help_except_while_typing() {
    let server = Server::start().await;
    let (b, _) = signed_in_user(&server, "hank").await;
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;

    // Typing a question into the prompt is typing, not a command.
    b.fill("[data-testid=prompt]", "Why? ").await;
    assert!(!b.exists("[data-testid=shortcut-help]").await, "the help opened while typing");

    let body = b.wait("body").await;
    body.send_keys("?").await.expect("press ?");
    b.wait("[data-testid=shortcut-help]").await;
    let mut keys = Vec::new();
    for row in b.all("[data-testid=shortcut-help] [data-testid=shortcut]").await {
        keys.push(row.attr("data-keys").await.unwrap().unwrap_or_default());
    }
    for k in ["?", "Ctrl/Cmd+B", "Alt+1 … Alt+7", "Ctrl/Cmd+Enter", "Shift+Enter", "F2"] {
        assert!(keys.iter().any(|x| x == k), "{k} is not listed: {keys:?}");
    }
    b.screenshot("shortcut-help").await;
    b.wait("body").await.send_keys("\u{e00c}").await.expect("press Escape");
    b.wait_until("the help to close", Duration::from_secs(10), || async {
        !b.exists("[data-testid=shortcut-help]").await
    })
    .await;
    // The top bar's button opens it too.
    b.click("[data-testid=open-shortcut-help]").await;
    b.wait("[data-testid=shortcut-help]").await;
    b.click("[data-testid=close-shortcut-help]").await;
    assert!(!b.exists("[data-testid=shortcut-help]").await);
    b.close().await;
}
