//! The task page's Network panel: a connection the sandbox is refused shows up folded per
//! destination, with the reason, without reading the raw timeline.
//!
//! Needs what `browser.rs` needs: `dist/`, chromium + chromium-driver, PostgreSQL, bubblewrap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

use std::time::Duration;

use support::{BareRepo, Browser, Server};

const PASSWORD: &str = "correct-horse-battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_shows_in_the_network_panel() {
    let server = Server::start().await;
    server.create_user("dana", PASSWORD);
    let token = server.create_token("dana");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("dana", PASSWORD).await;

    // The agent's shell asks the sandbox's proxy (`--noproxy ''` overrides NO_PROXY) for a
    // loopback port of the host: brokered sandboxes reach only what the operator allows, so the
    // proxy refuses it (no packet leaves).
    b.goto("/").await;
    b.wait("[data-testid=task-form]").await;
    b.fill("[data-testid=repo-url]", &repo.url()).await;
    b.fill(
        "[data-testid=prompt]",
        "Probe [[sh:curl -s -m 10 --noproxy '' -o /dev/null http://127.0.0.1:9/ ; true]] then stop",
    )
    .await;
    b.click("[data-testid=agent] option[value=claude]").await;
    b.click("[data-testid=submit-task]").await;
    b.wait("[data-testid=task-page]").await;

    let row = "[data-testid=network-destination][data-target='127.0.0.1:9']";
    b.wait_until(
        "the refused destination in the Network panel",
        Duration::from_secs(90),
        || async { b.exists(row).await },
    )
    .await;
    assert_eq!(b.attr("[data-testid=network-summary]", "data-refused").await.as_deref(), Some("1"));
    let text = b.wait(row).await.text().await.expect("row text");
    assert!(text.contains("127.0.0.1:9"), "{text}");
    b.screenshot("task-network").await;
    b.close().await;
}
