//! The administration page in the browser: the user list (disable an account, and its token
//! stops working at once), invitations (a link that makes an account once), and the page being
//! closed to everyone else.
//!
//! Needs what `browser.rs` needs: `dist/`, chromium + chromium-driver, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

use std::time::Duration;

use support::{Browser, Server};

const PASSWORD: &str = "correct-horse-battery";

fn row(username: &str) -> String {
    format!("[data-testid=admin-user-row][data-username={username}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_disables_an_account_and_invites_a_new_user() {
    let server = Server::start().await;
    server.cli(
        &["user", "create", "--username", "root", "--admin", "--password-stdin"],
        Some(PASSWORD),
    );
    server.create_user("bob", PASSWORD);
    let bob_token = server.create_token("bob");
    assert_eq!(server.get(&bob_token, "/api/v1/me").await.0, 200);

    // Bob is no administrator: the page says so and lists nobody.
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("bob", PASSWORD).await;
    b.goto("/admin").await;
    b.wait("[data-testid=admin-forbidden]").await;
    assert!(!b.exists("[data-testid=admin-user-list]").await);
    b.click("[data-testid=user-menu-button]").await;
    b.click("[data-testid=sign-out]").await;
    b.wait("#login-form").await;

    // The administrator sees both accounts and disables Bob's, confirming the dialog.
    b.sign_in("root", PASSWORD).await;
    b.goto("/admin").await;
    b.wait(&row("root")).await;
    b.wait(&row("bob")).await;
    assert_eq!(
        b.attr(&format!("{} [data-testid=disable-toggle]", row("root")), "disabled")
            .await
            .as_deref(),
        Some("true"),
        "an administrator cannot disable their own account"
    );
    b.click(&format!("{} [data-testid=disable-toggle]", row("bob"))).await;
    b.client.accept_alert().await.expect("the confirmation dialog");
    b.wait_until("Bob's row to say Enable", Duration::from_secs(10), || async {
        b.wait(&format!("{} [data-testid=disable-toggle]", row("bob")))
            .await
            .text()
            .await
            .is_ok_and(|t| t.trim() == "Enable")
    })
    .await;
    let (code, body) = server.get(&bob_token, "/api/v1/me").await;
    assert_eq!(code, 401, "a disabled account's token stops working at once: {body}");
    b.screenshot("admin").await;

    // An invitation link makes one account, once.
    b.click("[data-testid=invite-create]").await;
    let link = b.wait("[data-testid=invite-link]").await.text().await.expect("link text");
    let path = link.trim().splitn(4, '/').nth(3).map(|p| format!("/{p}")).expect("a link path");
    assert!(path.starts_with("/invite?token="), "{link}");
    b.wait("[data-testid=invite-row]").await;
    b.click("[data-testid=user-menu-button]").await;
    b.click("[data-testid=sign-out]").await;
    b.wait("#login-form").await;

    b.goto(&path).await;
    b.wait("[data-testid=invite] [data-testid=invite-form]").await;
    b.fill("#invite-username", "carol").await;
    b.fill("#invite-password", PASSWORD).await;
    b.click("[data-testid=invite-submit]").await;
    b.wait("[data-testid=user-menu-button]").await;
    b.wait_until("the home page", Duration::from_secs(10), || async { b.path().await == "/" })
        .await;
    b.click("[data-testid=user-menu-button]").await;
    b.click("[data-testid=sign-out]").await;
    b.wait("#login-form").await;

    // The same link does not make a second account.
    b.goto(&path).await;
    b.wait("[data-testid=invite] [data-testid=invite-form]").await;
    b.fill("#invite-username", "mallory").await;
    b.fill("#invite-password", PASSWORD).await;
    b.click("[data-testid=invite-submit]").await;
    b.wait("[data-testid=invite] [data-testid=error]").await;
    let users = server.cli(&["user", "list"], None);
    assert!(users.contains("carol"), "{users}");
    assert!(!users.contains("mallory"), "a used invitation made a second account: {users}");
    b.close().await;
}
