//! The host side of the boundary, written as the attacks: what an agent leaves in its workspace
//! (a planted fsmonitor, a FIFO, a huge sparse file) must not make the API act for it, and the
//! user's GitHub token must not go to a host that is not GitHub's.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json as expect_json, TestApp};

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

/// The kept-alive sandbox's repository on the host.
pub(crate) fn host_repo(app: &TestApp, task: &Value) -> PathBuf {
    let sandbox = task["id"].as_str().unwrap().replace('-', "");
    let root = app.settings.data_dir.join("sandboxes");
    let dir = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains(&sandbox))
        .unwrap_or_else(|| panic!("no sandbox of {sandbox} under {}", root.display()));
    dir.path().join("work/repo")
}

pub(crate) async fn follow_up(app: &TestApp, token: &str, id: &str, content: &str) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(token)
        .json(&json!({ "content": content }))
        .send()
        .await
        .unwrap();
    expect_json(res, 202).await;
}

#[actix_web::test]
async fn a_planted_fsmonitor_does_not_run_while_the_api_reads_a_running_follow_up() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("fsmonitor").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "first [[write:a.txt=a]]", "keep_alive": true}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id, "the first run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let dir = host_repo(&app, &task);

    // The follow-up plants a monitor that host-side git would run in the workspace, then keeps
    // running while the API is asked for files, changes and a file's content.
    follow_up(
        &app,
        &token,
        &id,
        "plant [[sh:printf '#!/bin/sh\\ntouch pwned\\n' > evil.sh && chmod +x evil.sh && git config core.fsmonitor ./evil.sh]] [[lines:1]] [[sleep:6]]",
    )
    .await;
    app.wait_for_event(&token, &id, "the monitor to be planted", |e| {
        e["kind"] == "tool_result" && e["payload"].to_string().contains("exit 0")
    })
    .await;
    let config = std::fs::read_to_string(dir.join(".git/config")).unwrap();
    assert!(config.contains("fsmonitor"), "the attack is in place: {config}");
    for path in [
        format!("/api/v1/tasks/{id}/files"),
        format!("/api/v1/tasks/{id}/changes"),
        format!("/api/v1/tasks/{id}/file?path=a.txt"),
    ] {
        let body = expect_json(get(&app, &token, &path).await, 200).await;
        if let Some(source) = body.get("source") {
            assert_eq!(source, "branch", "{path} read the live workspace during a run: {body}");
        }
    }
    assert!(!dir.join("pwned").exists(), "host-side git ran the agent's fsmonitor");
    let done = app.wait_for(&token, &id, "the follow-up", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    // Between runs the live workspace is read again, still without running the monitor.
    let files =
        expect_json(get(&app, &token, &format!("/api/v1/tasks/{id}/files")).await, 200).await;
    assert_eq!(files["source"], "sandbox", "{files}");
    assert!(!dir.join("pwned").exists(), "host-side git ran the agent's fsmonitor");
}

#[actix_web::test]
async fn fifos_are_refused_and_huge_files_are_read_only_up_to_the_cap() {
    let app = TestApp::with_workers(1, "[tasks]\nmax_file_bytes = 1000\n").await;
    let (token, _) = app.agent_user("fifo").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true,
                   "prompt": "traps [[sh:printf 'huge.bin\\npipe\\n' > .gitignore && mkfifo pipe && truncate -s 4G huge.bin]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let dir = host_repo(&app, &task);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(dir.join("pipe")).unwrap().file_type().is_fifo());

    // A plain open of the FIFO would block this request forever; it is refused at once.
    let res = get(&app, &token, &format!("/api/v1/tasks/{id}/file?path=pipe")).await;
    let problem = expect_json(res, 422).await;
    assert!(
        problem["errors"]["path"][0].as_str().unwrap().contains("not a regular file"),
        "{problem}"
    );
    let res = get(&app, &token, &format!("/api/v1/tasks/{id}/file?path=huge.bin")).await;
    let file = expect_json(res, 200).await;
    assert_eq!(file["size"], 4u64 << 30, "{}", file["size"]);
    assert_eq!(file["truncated"], true);
    // Zeros: binary, so the first 1000 bytes come base64-encoded.
    use base64::Engine;
    let head = base64::engine::general_purpose::STANDARD
        .decode(file["content_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(head.len(), 1000, "{file}");
}

/// A git host on 127.0.0.1 that asks for credentials and records every request's headers.
fn credential_trap() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/octo/app.git", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n")
                && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false)
            {
                head.push(byte[0]);
            }
            record.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"trap\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, seen)
}

#[actix_web::test]
async fn the_github_token_is_never_offered_to_another_host() {
    let (app, gh) = crate::github::setup("[tasks]\nworkers = 1\ndaily_quota = 100\n").await;
    let (token, github_token) = crate::github::github_user(&app, &gh, "token-keeper").await;
    let key = json!({"value": "sk-ant-token-keeper-0000"});
    let res = app
        .client
        .put(app.url("/api/v1/me/keys/anthropic"))
        .bearer_auth(&token)
        .json(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (url, seen) = credential_trap();
    let task =
        app.create_task(&token, json!({"repo_url": url, "agent": "claude", "prompt": "x"})).await;
    let done =
        app.wait_for(&token, task["id"].as_str().unwrap(), "the clone to fail", finished).await;
    assert_eq!(done["status"], "error", "{done}");
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "git never asked the other host");
    use base64::Engine;
    for head in &seen {
        assert!(!head.contains(&github_token), "the token was sent in clear: {head}");
        for line in head.lines().filter(|l| l.to_ascii_lowercase().starts_with("authorization:")) {
            let encoded = line.rsplit(' ').next().unwrap_or_default();
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&decoded).contains(&github_token),
                "the GitHub token was offered to {url}"
            );
        }
    }
}

/// The peak resident memory of this test process (the server runs in it), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[actix_web::test]
async fn a_gigabyte_of_output_ends_the_run_with_memory_and_storage_bounded() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;

    let app = TestApp::with_workers(1, "[tasks]\nmax_output_mb = 32\n").await;
    let (token, _) = app.agent_user("flood").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[flood:1073741824]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id, "the flood to be stopped", finished).await;
    assert_eq!(done["status"], "error", "{done}");
    assert!(done["error"].as_str().unwrap().contains("32 MiB of output"), "{done}");
    let rss = peak_rss();
    assert!(rss < 512 << 20, "peak RSS {} MiB", rss >> 20);

    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = BigInt)]
        bytes: i64,
    }
    let mut conn = app.pool.get().await.unwrap();
    let stored: Stored = diesel::sql_query(format!(
        "SELECT COALESCE(SUM(pg_column_size(payload)), 0)::bigint AS bytes FROM task_events WHERE task_id = '{id}'"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(stored.bytes < 40 << 20, "the event log holds {} MiB", stored.bytes >> 20);
    assert!(
        stored.bytes > 16 << 20,
        "the budget's worth of output is kept: {} MiB",
        stored.bytes >> 20
    );
}

#[actix_web::test]
async fn an_event_stream_closes_when_its_token_is_revoked_and_streams_per_user_are_capped() {
    use futures_util::StreamExt;

    let app = TestApp::spawn_with("[tasks]\nmax_streams_per_user = 2\n").await;
    let (user_id, token) = app.user_with_token("streamer").await;
    let task = app
        .create_task(
            &token,
            json!({"repo_url": "https://git.example/a/b.git", "agent": "claude", "prompt": "x"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let path = format!("/api/v1/tasks/{id}/events/stream");
    let first = get(&app, &token, &path).await;
    assert_eq!(first.status(), 200);
    let second = get(&app, &token, &path).await;
    assert_eq!(second.status(), 200);
    let third = get(&app, &token, &path).await;
    assert_eq!(third.status(), 429, "a third stream is over the cap");
    // Revoke the token: the open stream ends (it re-checks every 15 s).
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::api_tokens;
    let mut conn = app.pool.get().await.unwrap();
    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(user_id)))
        .execute(&mut conn)
        .await
        .unwrap();
    for (n, stream) in [first, second].into_iter().enumerate() {
        let mut body = stream.bytes_stream();
        let ended = tokio::time::timeout(std::time::Duration::from_secs(45), async {
            while let Some(chunk) = body.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "stream {n} of a revoked token stayed open");
    }
    // The ended streams gave their slots back: a new token of the same user gets a stream.
    let (_, fresh) = drydock_api::tokens::model::create(&mut conn, user_id, "again").await.unwrap();
    let res = get(&app, &fresh, &path).await;
    assert_eq!(res.status(), 200, "the slots of the ended streams were not given back");
}
