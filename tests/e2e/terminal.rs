//! The Terminal tab in headless Chromium: a kept-alive task (the fake agent as `claude`), the
//! tab loads xterm.js on demand, `echo hi` answers `hi`, ↑ and Tab reach the shell, and a
//! smaller window resizes the shell's terminal (`stty size`).
//!
//! Needs what `browser.rs` needs: `dist/` (scripts/build-web.sh), chromium + chromium-driver,
//! PostgreSQL, git and bubblewrap.

// This crate is tests only: panicking on the unexpected is how its helpers fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{BareRepo, Browser, Server};

const PASSWORD: &str = "correct-horse-battery";

/// The rows xterm.js shows, as text.
async fn screen(b: &Browser) -> Vec<String> {
    let rows = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=terminal] .xterm-rows > div'))\
               .map(function (r) { return r.textContent.replace(/\\u00a0/g, ' ').trimEnd(); });",
            vec![],
        )
        .await
        .unwrap_or(Value::Null);
    rows.as_array()
        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Types `text` into the terminal (xterm.js listens on its helper textarea).
async fn type_text(b: &Browser, text: &str) {
    let input = b.wait("[data-testid=terminal] textarea.xterm-helper-textarea").await;
    input.send_keys(text).await.expect("typing into the terminal");
}

async fn wait_for_row(b: &Browser, what: &str, want: impl Fn(&str) -> bool) {
    b.wait_until(what, Duration::from_secs(30), || async {
        screen(b).await.iter().any(|row| want(row))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_tab_runs_a_shell_in_the_kept_alive_sandbox() {
    let server = Server::start().await;
    server.create_user("tess", PASSWORD);
    let token = server.create_token("tess");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let res = server
        .http
        .post(server.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "x [[write:a.txt=1]]"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let task: Value = res.json().await.unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    support::eventually("the run to finish", Duration::from_secs(90), || async {
        let (_, t) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
        (t["status"] == "completed").then_some(())
    })
    .await;

    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("tess", PASSWORD).await;
    b.goto(&format!("/tasks/{id}")).await;
    b.wait("[data-testid=task-page]").await;
    assert!(!b.exists("#drydock-xterm-js").await, "xterm.js is not loaded before the tab opens");
    b.click("[data-testid=tab-terminal]").await;
    b.wait("[data-testid=terminal][data-state=open]").await;

    type_text(&b, "echo hi\n").await;
    wait_for_row(&b, "`hi` on a line of its own", |row| row == "hi").await;
    b.screenshot("terminal").await;

    // The terminal's keys go to the shell (reference §6.6): ↑ recalls the last command and
    // Enter runs it; Tab completes a command name.
    type_text(&b, "\u{E013}\n").await;
    b.wait_until("`hi` twice", Duration::from_secs(30), || async {
        screen(&b).await.iter().filter(|row| *row == "hi").count() == 2
    })
    .await;
    type_text(&b, "ech\t tab$((1+1))\n").await;
    wait_for_row(&b, "Tab to complete `echo`", |row| row == "tab2").await;

    // A smaller window: xterm.js refits, tells the shell, and `stty size` agrees.
    let before = b.attr("[data-testid=terminal]", "data-size").await.unwrap_or_default();
    b.resize(900, 700).await;
    b.wait_until("the terminal to refit", Duration::from_secs(10), || async {
        b.attr("[data-testid=terminal]", "data-size").await.is_some_and(|s| s != before)
    })
    .await;
    let size = b.attr("[data-testid=terminal]", "data-size").await.unwrap();
    type_text(&b, "stty size\n").await;
    wait_for_row(&b, &format!("`stty size` to say {size}"), |row| row == size).await;
    b.close().await;
}
