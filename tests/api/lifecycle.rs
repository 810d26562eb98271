//! Tasks run end to end: a worker claims the run, the sandbox clones a local bare repository,
//! the fake agent (driven as `claude`, through the real pipeline) edits files, and Drydock
//! commits and pushes.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json, spec, TestApp};

fn kinds(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn a_task_runs_from_queue_to_pushed_branch() {
    let app = TestApp::with_workers(1, "").await;
    let (token, key) = app.agent_user("life").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "Add a greeting [[write:hello.txt=hi there]]"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["stage"], "done");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["base_branch"], "trunk", "the remote's default branch, not a hard-coded main");
    let branch = done["branch_name"].as_str().unwrap();
    assert!(branch.starts_with("drydock/add-a-greeting"), "{branch}");
    assert!(done["agent_version"].is_string());
    assert!(repo.branches().contains(&branch.to_owned()), "{:?}", repo.branches());
    assert_eq!(repo.show(branch, "hello.txt"), "hi there");

    let events = app.events(&token, id).await;
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gapless, strictly increasing");
    let stages: Vec<&str> = events.iter().filter(|e| e["kind"] == "stage").map(|e| e["payload"]["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["queued", "provisioning", "cloning", "running_agent", "committing", "pushing", "done"]);
    let tool = events.iter().find(|e| e["kind"] == "tool_call").expect("a tool call");
    assert!(tool["payload"]["summary"].as_str().unwrap().contains("hello.txt"), "{tool}");
    assert!(kinds(&events).contains(&"agent_message".to_owned()));
    assert!(kinds(&events).contains(&"command".to_owned()));
    assert!(kinds(&events).contains(&"raw".to_owned()));
    assert_eq!(events.last().unwrap()["payload"]["status"], "completed");
    assert!(!serde_json::to_string(&events).unwrap().contains(&key), "the key never appears in events");

    let messages = json(app.client.get(app.url(&format!("/api/v1/tasks/{id}/messages"))).bearer_auth(&token).send().await.unwrap(), 200).await;
    let last = messages["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "agent");
    assert_eq!(last["content"], "Done: Add a greeting");
}

#[actix_web::test]
async fn keys_are_redacted_from_everything_the_agent_prints() {
    let app = TestApp::with_workers(1, "").await;
    let (token, key) = app.agent_user("leaky").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[env:ANTHROPIC_API_KEY]] [[env:DATABASE_URL]]"})).await;
    let id = task["id"].as_str().unwrap();
    app.wait_for(&token, id, "completion", finished).await;
    let text = serde_json::to_string(&app.events(&token, id).await).unwrap();
    assert!(text.contains("ANTHROPIC_API_KEY=[REDACTED]"), "the agent got its key, and events hide it: {text}");
    assert!(!text.contains(&key));
    assert!(text.contains("DATABASE_URL=<unset>"), "the server's environment does not leak into the sandbox");
}

#[actix_web::test]
async fn a_missing_key_fails_fast_naming_the_provider() {
    let app = TestApp::with_workers(1, "").await;
    let (_, token) = app.user_with_token("nokey").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "x"})).await;
    let done = app.wait_for(&token, task["id"].as_str().unwrap(), "failure", finished).await;
    assert_eq!(done["status"], "error");
    assert!(done["error"].as_str().unwrap().contains("anthropic"), "{done}");
}

#[actix_web::test]
async fn an_agent_error_ends_the_task_in_error_and_garbage_lines_do_not() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("failing").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[garbage]] [[fail:model said no]]"})).await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "failure", finished).await;
    assert_eq!(done["status"], "error");
    assert!(done["error"].as_str().unwrap().contains("model said no"), "{done}");
    let events = app.events(&token, id).await;
    assert!(events.iter().any(|e| e["kind"] == "raw" && e["payload"]["line"].as_str().unwrap().contains("not JSON")));
    assert!(events.iter().any(|e| e["kind"] == "error"));
}

#[actix_web::test]
async fn stop_kills_an_agent_that_ignores_sigterm() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("stubborn").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[ignore-term]] [[lines:1]] [[sleep:120]]"})).await;
    let id = task["id"].as_str().unwrap();
    app.wait_for(&token, id, "the agent to start", |t| t["stage"] == "running_agent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    let res = app.client.post(app.url(&format!("/api/v1/tasks/{id}/stop"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let done = app.wait_for(&token, id, "stopped", finished).await;
    let took = asked.elapsed();
    assert_eq!(done["status"], "stopped", "{done}");
    // Generous bound for a loaded CI machine; the measured figure is in docs/benchmarks.md.
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    let ps = std::process::Command::new("pgrep").args(["-f", "ignore-term"]).output().unwrap();
    assert!(String::from_utf8_lossy(&ps.stdout).trim().is_empty(), "the agent's process group is gone");
    // A terminal status is never overwritten.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = json(app.client.get(app.url(&format!("/api/v1/tasks/{id}"))).bearer_auth(&token).send().await.unwrap(), 200).await;
    assert_eq!(again["status"], "stopped");
}

#[actix_web::test]
async fn a_follow_up_resumes_the_session_in_a_kept_alive_sandbox() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("chatty").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "first [[write:a.txt=1]]"})).await;
    let id = task["id"].as_str().unwrap();
    let first = app.wait_for(&token, id, "first run", finished).await;
    assert_eq!(first["status"], "completed", "{first}");
    let res = app.client.post(app.url(&format!("/api/v1/tasks/{id}/messages"))).bearer_auth(&token).json(&json!({"content": "second [[write:b.txt=2]]"})).send().await.unwrap();
    let queued = json(res, 202).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/messages", 202, &queued);
    let second = app.wait_for(&token, id, "second run", |t| finished(t) && t["stage"] == "done" && t["completed_at"] != first["completed_at"]).await;
    assert_eq!(second["status"], "completed", "{second}");
    assert_eq!(second["branch_name"], first["branch_name"], "same branch");
    let branch = second["branch_name"].as_str().unwrap();
    assert_eq!(repo.show(branch, "a.txt"), "1");
    assert_eq!(repo.show(branch, "b.txt"), "2");
    let messages = json(app.client.get(app.url(&format!("/api/v1/tasks/{id}/messages"))).bearer_auth(&token).send().await.unwrap(), 200).await;
    let last = messages["items"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert_eq!(last, "Resumed: second", "the agent resumed its session");
}

async fn wait_runs(app: &TestApp, token: &str, id: &str, runs: usize) {
    let started = Instant::now();
    loop {
        let events = app.events(token, id).await;
        let ended = events.iter().filter(|e| e["kind"] == "status" && ["completed", "error", "stopped"].contains(&e["payload"]["status"].as_str().unwrap())).count();
        if ended >= runs {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "timed out waiting for run {runs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_follow_up_without_a_sandbox_starts_fresh_on_the_same_branch_with_recent_context() {
    let app = TestApp::with_workers(1, "[tasks]\ncontext_messages = 2\n").await;
    let (token, _) = app.agent_user("fresh").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "one [[write:a.txt=1]]"})).await;
    let id = task["id"].as_str().unwrap();
    wait_runs(&app, &token, id, 1).await;
    for (n, prompt) in ["two [[write:b.txt=2]]", "three"].iter().enumerate() {
        let res = app.client.post(app.url(&format!("/api/v1/tasks/{id}/messages"))).bearer_auth(&token).json(&json!({"content": prompt})).send().await.unwrap();
        json(res, 202).await;
        wait_runs(&app, &token, id, n + 2).await;
    }
    let done = json(app.client.get(app.url(&format!("/api/v1/tasks/{id}"))).bearer_auth(&token).send().await.unwrap(), 200).await;
    assert_eq!(done["status"], "completed", "{done}");
    let branch = done["branch_name"].as_str().unwrap();
    assert_eq!(repo.show(branch, "a.txt"), "1");
    assert_eq!(repo.show(branch, "b.txt"), "2", "the follow-up continued the pushed branch");
    let messages = json(app.client.get(app.url(&format!("/api/v1/tasks/{id}/messages"))).bearer_auth(&token).send().await.unwrap(), 200).await;
    let last = messages["items"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    // The context is the most recent earlier messages (the reference system took the first).
    assert!(last.contains("(most recent messages):\n\nUser: two"), "{last}");
    assert!(last.ends_with("Now: three"), "{last}");
}
