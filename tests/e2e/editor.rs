//! The Editor tab in headless Chromium, on a kept-alive task's sandbox: Monaco loads only when
//! the tab opens; a file opens in a tab with TypeScript highlighting, an edit is saved with
//! Ctrl+S into the live sandbox; new file, rename (F2) and delete (Del) from the file browser.
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
const CONTROL: &str = "\u{E009}";
const RELEASE: &str = "\u{E000}";
const F2: &str = "\u{E032}";
const DELETE: &str = "\u{E017}";

fn entry(path: &str) -> String {
    format!("[data-testid=editor-entry][data-path='{path}']")
}

/// The live sandbox's file, through the API.
async fn live_file(server: &Server, token: &str, id: &str, path: &str) -> (u16, Value) {
    server.get(token, &format!("/api/v1/tasks/{id}/workspace/file?path={path}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_opens_edits_saves_and_manages_files_in_the_live_sandbox() {
    let server = Server::start().await;
    server.create_user("edie", PASSWORD);
    let token = server.create_token("edie");
    server.put_anthropic_key(&token).await;
    let repo = BareRepo::new();
    let prompt = "x [[sh:mkdir src && printf 'export const answer = 42;\\n' > src/a.ts]]";
    let (status, task) = server
        .post(&token, "/api/v1/tasks", &json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": prompt}))
        .await;
    assert_eq!(status, 201, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    support::eventually("the run to finish", Duration::from_secs(90), || async {
        let (_, t) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
        (t["status"] == "completed").then_some(())
    })
    .await;

    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("edie", PASSWORD).await;
    b.goto(&format!("/tasks/{id}")).await;
    b.wait("[data-testid=task-page]").await;
    assert!(!b.exists("#drydock-monaco-loader").await, "Monaco is not loaded before the tab opens");
    b.click("[data-testid=tab-editor]").await;
    b.wait("[data-testid=editor-pane][data-source=sandbox]").await;
    b.wait("#drydock-editor-js[data-loaded]").await;
    // Monaco draws nothing until a file is open; it says when it is ready.
    b.wait("[data-testid=editor][data-ready=true]").await;

    // Open a file: a tab, Monaco's TypeScript mode, the sandbox's content.
    b.click(&entry("src")).await;
    b.click(&entry("src/a.ts")).await;
    b.wait("[data-testid=editor-tab][data-path='src/a.ts']").await;
    b.wait("[data-testid=editor][data-path='src/a.ts'][data-language=typescript]").await;
    b.wait_until("the file's text in the editor", Duration::from_secs(20), || async {
        let text = b.all("[data-testid=editor] .view-lines").await;
        match text.first() {
            Some(e) => e.text().await.unwrap_or_default().contains("answer"),
            None => false,
        }
    })
    .await;

    // Edit and save with Ctrl+S: the tab is dirty, then clean, and the sandbox has the text.
    let input = b.wait("[data-testid=editor] textarea").await;
    input.send_keys("// edited by hand\n").await.unwrap();
    b.wait("[data-testid=editor-tab][data-path='src/a.ts'][data-dirty=true]").await;
    input.send_keys(&format!("{CONTROL}s{RELEASE}")).await.unwrap();
    b.wait("[data-testid=editor-tab][data-path='src/a.ts'][data-dirty=false]").await;
    support::eventually("the save to reach the sandbox", Duration::from_secs(20), || async {
        let (status, file) = live_file(&server, &token, &id, "src/a.ts").await;
        (status == 200
            && file["content"].as_str().is_some_and(|c| c.starts_with("// edited by hand\n")))
        .then_some(())
    })
    .await;
    b.screenshot("editor").await;

    // New file at the root, then rename it with F2 and delete it with Del.
    b.click("[data-testid=editor-new-file]").await;
    b.fill("[data-testid=editor-name]", "notes.md").await;
    b.click("[data-testid=editor-confirm]").await;
    b.wait(&entry("notes.md")).await;
    assert_eq!(live_file(&server, &token, &id, "notes.md").await.0, 200);
    b.click(&entry("notes.md")).await;
    b.wait("[data-testid=editor-files]").await.send_keys(F2).await.unwrap();
    b.fill("[data-testid=editor-name]", "src/renamed.md").await;
    b.click("[data-testid=editor-confirm]").await;
    b.wait(&entry("src/renamed.md")).await;
    assert!(!b.exists(&entry("notes.md")).await);
    assert_eq!(live_file(&server, &token, &id, "notes.md").await.0, 404);
    assert_eq!(live_file(&server, &token, &id, "src/renamed.md").await.0, 200);
    b.click(&entry("src/renamed.md")).await;
    b.wait("[data-testid=editor-files]").await.send_keys(DELETE).await.unwrap();
    b.click("[data-testid=editor-confirm]").await;
    b.wait_until("the deleted file to leave the browser", Duration::from_secs(20), || async {
        !b.exists(&entry("src/renamed.md")).await
    })
    .await;
    assert_eq!(live_file(&server, &token, &id, "src/renamed.md").await.0, 404);

    // Changes → Sandbox shows the edit; Sync commits it with the typed message and pushes.
    b.click("[data-testid=tab-changes]").await;
    b.click("[data-testid=changes-sandbox]").await;
    b.wait("[data-testid=changes-tab][data-view=sandbox] [data-testid=changed-file][data-path='src/a.ts']").await;
    b.wait("[data-testid=diff-view]").await;
    b.screenshot("changes-sandbox").await;
    // Side by side is Monaco's diff editor, highlighted as TypeScript by the extension: the
    // left column is the committed file, the right the edit. The choice is remembered, so the
    // plain view is chosen again before going on.
    b.click("[data-testid=diff-mode][data-mode=side-by-side]").await;
    let diff_editor = "[data-testid=diff-editor][data-ready=true]";
    b.wait(diff_editor).await;
    assert_eq!(b.attr(diff_editor, "data-language").await.as_deref(), Some("typescript"));
    let column = |side: &'static str| {
        let b = &b;
        async move {
            let css = format!("{diff_editor} .editor.{side} .view-lines");
            match b.all(&css).await.first() {
                Some(e) => e.text().await.unwrap_or_default(),
                None => String::new(),
            }
        }
    };
    b.wait_until("both columns of the diff", Duration::from_secs(20), || async {
        let (left, right) = (column("original").await, column("modified").await);
        left.contains("answer")
            && !left.contains("edited by hand")
            && right.contains("edited by hand")
    })
    .await;
    b.screenshot("diff-side-by-side").await;
    b.click("[data-testid=diff-mode][data-mode=plain]").await;
    b.wait("[data-testid=diff-view]").await;
    b.fill("[data-testid=sync-message]", "Edited in the browser").await;
    b.click("[data-testid=sync]").await;
    b.wait_until("the sync to finish", Duration::from_secs(30), || async {
        b.exists("[data-testid=workspace-note]").await
    })
    .await;
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    let branch = task["branch_name"].as_str().unwrap().to_owned();
    let pushed = fakes::git::git(repo.path(), &["show", &format!("{branch}:src/a.ts")]);
    assert!(pushed.starts_with("// edited by hand\n"), "the edit is on the remote: {pushed}");
    let subject = fakes::git::git(repo.path(), &["log", "-1", "--format=%s", &branch]);
    assert_eq!(subject.trim(), "Edited in the browser");
    b.wait("[data-testid=changes-empty]").await;

    // Reset, after a confirmation, throws away an unpushed edit; Undo brings it back.
    let res = server
        .http
        .put(server.url(&format!("/api/v1/tasks/{id}/workspace/file?path=src/a.ts")))
        .bearer_auth(&token)
        .body("scratch\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    b.click("[data-testid=reset]").await;
    b.click("[data-testid=reset-confirm]").await;
    b.wait("[data-testid=reset-undo]").await;
    let (_, file) = live_file(&server, &token, &id, "src/a.ts").await;
    assert!(file["content"].as_str().unwrap().starts_with("// edited by hand"), "{file}");
    b.click("[data-testid=reset-undo]").await;
    b.wait_until("the undo to finish", Duration::from_secs(30), || async {
        !b.exists("[data-testid=reset-undo]").await
    })
    .await;
    let (_, file) = live_file(&server, &token, &id, "src/a.ts").await;
    assert_eq!(file["content"], "scratch\n", "{file}");
    b.close().await;
}
