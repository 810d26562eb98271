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
    let stages: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "stage")
        .map(|e| e["payload"]["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["queued", "provisioning", "cloning", "running_agent", "committing", "pushing", "done"]
    );
    let tool = events.iter().find(|e| e["kind"] == "tool_call").expect("a tool call");
    assert!(tool["payload"]["summary"].as_str().unwrap().contains("hello.txt"), "{tool}");
    assert!(kinds(&events).contains(&"agent_message".to_owned()));
    assert!(kinds(&events).contains(&"command".to_owned()));
    assert!(kinds(&events).contains(&"raw".to_owned()));
    assert_eq!(events.last().unwrap()["payload"]["status"], "completed");
    assert!(
        !serde_json::to_string(&events).unwrap().contains(&key),
        "the key never appears in events"
    );

    let messages = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
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
    assert!(
        text.contains("ANTHROPIC_API_KEY=[REDACTED]"),
        "the agent got its key, and events hide it: {text}"
    );
    assert!(!text.contains(&key));
    assert!(
        text.contains("DATABASE_URL=<unset>"),
        "the server's environment does not leak into the sandbox"
    );
}

#[actix_web::test]
async fn a_missing_key_fails_fast_naming_the_provider() {
    let app = TestApp::with_workers(1, "").await;
    let (_, token) = app.user_with_token("nokey").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "x"}))
        .await;
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
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "raw"
                && e["payload"]["line"].as_str().unwrap().contains("not JSON"))
    );
    assert!(events.iter().any(|e| e["kind"] == "error"));
}

#[actix_web::test]
async fn stop_kills_an_agent_that_ignores_sigterm() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("stubborn").await;
    let repo = BareRepo::new();
    // A marker unique to this test finds its own agent process, and only that one.
    let marker = format!("stubborn-{}", uuid::Uuid::new_v4().simple());
    let prompt = format!("{marker} [[ignore-term]] [[lines:1]] [[sleep:120]]");
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": prompt}))
        .await;
    let id = task["id"].as_str().unwrap();
    // The agent has set up its signal handling once it has printed its line.
    app.wait_for_event(&token, id, "the agent's first line", |e| e["kind"] == "agent_message")
        .await;
    assert!(!processes_with(&marker).is_empty(), "the agent should be running");
    let asked = Instant::now();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/stop")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let done = app.wait_for(&token, id, "stopped", finished).await;
    let took = asked.elapsed();
    assert_eq!(done["status"], "stopped", "{done}");
    // Generous bound for a loaded CI machine; the measured figure is in docs/benchmarks.md.
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    assert_eq!(processes_with(&marker), Vec::<u32>::new(), "the agent's processes are gone");
    // A terminal status is never overwritten: once the only worker has finished another task,
    // nothing of the stopped run can still be writing.
    let next = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[lines:1]]"}),
        )
        .await;
    app.wait_for(&token, next["id"].as_str().unwrap(), "the next task", finished).await;
    let again = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(again["status"], "stopped");
}

/// Pids of the processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            pids.push(pid);
        }
    }
    pids
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
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(&token)
        .json(&json!({"content": "second [[write:b.txt=2]]"}))
        .send()
        .await
        .unwrap();
    let queued = json(res, 202).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/messages", 202, &queued);
    let second = app
        .wait_for(&token, id, "second run", |t| {
            finished(t) && t["stage"] == "done" && t["completed_at"] != first["completed_at"]
        })
        .await;
    assert_eq!(second["status"], "completed", "{second}");
    assert_eq!(second["branch_name"], first["branch_name"], "same branch");
    let branch = second["branch_name"].as_str().unwrap();
    assert_eq!(repo.show(branch, "a.txt"), "1");
    assert_eq!(repo.show(branch, "b.txt"), "2");
    let messages = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let last = messages["items"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(last, "Resumed: second", "the agent resumed its session");

    // Every message and event names its run: 1 for the prompt, 2 for the follow-up.
    let runs: Vec<i64> =
        messages["items"].as_array().unwrap().iter().map(|m| m["run"].as_i64().unwrap()).collect();
    assert_eq!(runs, vec![1, 1, 2, 2], "{messages}");
    let events = app.events(&token, id).await;
    let follow = events
        .iter()
        .position(|e| e["kind"] == "log" && e["payload"]["message"] == "Follow-up #1")
        .expect("the follow-up's first event");
    assert!(events[..follow].iter().all(|e| e["run"] == 1), "run 1 until the follow-up");
    assert!(events[follow..].iter().all(|e| e["run"] == 2), "run 2 from the follow-up on");
    // The live stream carries the same reference (it closes after the terminal status).
    let text = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream?after={follow}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let streamed: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(streamed.first().map(|e| e["seq"].clone()), Some(events[follow]["seq"].clone()));
    assert!(streamed.iter().all(|e| e["run"] == 2), "{text}");
}

async fn wait_runs(app: &TestApp, token: &str, id: &str, runs: usize) {
    let started = Instant::now();
    loop {
        let events = app.events(token, id).await;
        let ended = events
            .iter()
            .filter(|e| {
                e["kind"] == "status"
                    && ["completed", "error", "stopped"]
                        .contains(&e["payload"]["status"].as_str().unwrap())
            })
            .count();
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
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "one [[write:a.txt=1]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    wait_runs(&app, &token, id, 1).await;
    for (n, prompt) in ["two [[write:b.txt=2]]", "three"].iter().enumerate() {
        let res = app
            .client
            .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&token)
            .json(&json!({"content": prompt}))
            .send()
            .await
            .unwrap();
        json(res, 202).await;
        wait_runs(&app, &token, id, n + 2).await;
    }
    let done = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    let branch = done["branch_name"].as_str().unwrap();
    assert_eq!(repo.show(branch, "a.txt"), "1");
    assert_eq!(repo.show(branch, "b.txt"), "2", "the follow-up continued the pushed branch");
    let messages = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let last = messages["items"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    // The context is the most recent earlier messages (the reference system took the first).
    assert!(last.contains("(most recent messages):\n\nUser: two"), "{last}");
    assert!(last.ends_with("Now: three"), "{last}");
}

#[actix_web::test]
async fn changes_diffs_and_files_come_from_the_sandbox_then_the_branch() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("reviewer").await;
    let repo = BareRepo::new();
    let get = |path: String| {
        let req = app.client.get(app.url(&path)).bearer_auth(&token);
        async move { req.send().await.unwrap() }
    };
    for keep_alive in [true, false] {
        let task = app
            .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": keep_alive, "prompt": "edit [[write:hello.txt=hi\nthere\n]] [[write:README.md=# Changed\n]] [[symlink:escape=/etc/passwd]]"}))
            .await;
        let id = task["id"].as_str().unwrap();
        let done = app.wait_for(&token, id, "completion", finished).await;
        assert_eq!(done["status"], "completed", "{done}");
        let source = if keep_alive { "sandbox" } else { "branch" };
        let changes = json(get(format!("/api/v1/tasks/{id}/changes")).await, 200).await;
        spec::assert_valid("get", "/api/v1/tasks/{id}/changes", 200, &changes);
        assert_eq!(changes["source"], source);
        let files = changes["files"].as_array().unwrap();
        let hello = files.iter().find(|f| f["path"] == "hello.txt").expect("hello.txt changed");
        assert_eq!(
            (hello["status"].as_str(), hello["additions"].as_u64()),
            (Some("added"), Some(2))
        );
        let readme = files.iter().find(|f| f["path"] == "README.md").unwrap();
        assert_eq!(
            (readme["status"].as_str(), readme["additions"].as_u64(), readme["deletions"].as_u64()),
            (Some("modified"), Some(1), Some(1))
        );

        let diff = json(get(format!("/api/v1/tasks/{id}/diff?path=README.md")).await, 200).await;
        spec::assert_valid("get", "/api/v1/tasks/{id}/diff", 200, &diff);
        assert_eq!(diff["old_content"], "# Project\n");
        assert_eq!(diff["new_content"], "# Changed\n");
        assert!(diff["patch"].as_str().unwrap().contains("-# Project\n+# Changed"), "{diff}");
        assert_eq!(diff["binary"], false);

        let tree = json(get(format!("/api/v1/tasks/{id}/files")).await, 200).await;
        spec::assert_valid("get", "/api/v1/tasks/{id}/files", 200, &tree);
        let paths: Vec<&str> =
            tree["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert!(paths.contains(&"hello.txt") && paths.contains(&"README.md"), "{paths:?}");
        let file = json(get(format!("/api/v1/tasks/{id}/file?path=hello.txt")).await, 200).await;
        spec::assert_valid("get", "/api/v1/tasks/{id}/file", 200, &file);
        assert_eq!(file["content"], "hi\nthere\n");

        for evil in ["../../../etc/passwd", "/etc/passwd", "escape"] {
            let res = get(format!(
                "/api/v1/tasks/{id}/file?path={}",
                url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
            ))
            .await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            // In the pushed branch a symlink is only its stored target text; in the sandbox it
            // must not be followed out of the repository.
            let escaping_allowed_as_text = evil == "escape" && !keep_alive;
            assert!(
                status == 422 || status == 404 || escaping_allowed_as_text,
                "{evil}: {status} {body}"
            );
            assert!(!body.contains("root:"), "{evil} leaked a host file");
        }
        json(get(format!("/api/v1/tasks/{id}/diff?path=..%2Fx")).await, 422).await;
    }
}

#[actix_web::test]
async fn kept_alive_sandboxes_are_collected_when_expired_or_when_their_task_is_deleted() {
    use sandbox::Sandbox;
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("keeper").await;
    let repo = BareRepo::new();
    let backend =
        sandbox::LocalSandbox::new(sandbox::LocalSandboxConfig::new(app.settings.sandboxes_dir()))
            .unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "x [[write:a=1]]"})).await;
        let id = task["id"].as_str().unwrap().to_owned();
        app.wait_for(&token, &id, "completion", finished).await;
        ids.push(id);
    }
    let sandbox_of = |id: &str| {
        let id: uuid::Uuid = id.parse().unwrap();
        let pool = app.pool.clone();
        async move {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use drydock_api::db::schema::tasks;
            let mut conn = pool.get().await.unwrap();
            tasks::table
                .find(id)
                .select(tasks::sandbox_id)
                .first::<Option<String>>(&mut conn)
                .await
                .unwrap()
        }
    };
    // Expiry: the collector removes the sandbox and says so on the task.
    let first = sandbox_of(&ids[0]).await.expect("kept alive");
    let handle = backend.open(&first).await.unwrap();
    backend.set_expiry(&handle, chrono::Utc::now() - chrono::Duration::seconds(1)).await.unwrap();
    let removed = drydock_api::sandboxes::collect_expired(&*app.sandbox, &app.pool).await.unwrap();
    assert_eq!(removed, 1);
    assert!(backend.open(&first).await.is_err());
    assert!(sandbox_of(&ids[0]).await.is_none());
    let events = app.events(&token, &ids[0]).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "log"
                && e["payload"]["message"].as_str().unwrap().contains("expired")),
        "a GC event says so"
    );
    // Deletion of the task removes its sandbox too.
    let second = sandbox_of(&ids[1]).await.expect("kept alive");
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/tasks/{}", ids[1])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(backend.open(&second).await.is_err(), "deleted with its task");
}

#[actix_web::test]
async fn a_push_the_remote_rejects_ends_the_run_in_error_with_a_clear_event() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("frozen").await;
    let repo = BareRepo::new();
    repo.reject_pushes();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "edit [[write:a.txt=1]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "failure", finished).await;
    assert_eq!(done["status"], "error", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.contains("pushes are frozen for the release"),
        "the remote's own message: {error}"
    );
    let events = app.events(&token, id).await;
    assert!(events.iter().any(|e| e["kind"] == "stage" && e["payload"]["stage"] == "pushing"));
    assert!(events
        .iter()
        .any(|e| e["kind"] == "error"
            && e["payload"]["message"].as_str().unwrap().contains("frozen")));
    assert_eq!(repo.branches(), ["trunk"], "nothing was pushed");
}

#[actix_web::test]
async fn concurrency_caps_keep_extra_runs_queued() {
    let app =
        TestApp::with_workers(3, "[tasks]\nper_user_concurrency = 1\nglobal_concurrency = 2\n")
            .await;
    let (alice, _) = app.agent_user("capped-a").await;
    let (bob, _) = app.agent_user("capped-b").await;
    let (carol, _) = app.agent_user("capped-c").await;
    let repo = BareRepo::new();
    let slow =
        json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[lines:1]] [[sleep:4]]"});
    let a1 = app.create_task(&alice, slow.clone()).await["id"].as_str().unwrap().to_owned();
    app.wait_for(&alice, &a1, "a1 to start", |t| t["status"] == "processing").await;
    let a2 = app.create_task(&alice, slow.clone()).await["id"].as_str().unwrap().to_owned();
    let b1 = app.create_task(&bob, slow.clone()).await["id"].as_str().unwrap().to_owned();
    app.wait_for(&bob, &b1, "b1 to start", |t| t["status"] == "processing").await;
    let c1 = app.create_task(&carol, slow.clone()).await["id"].as_str().unwrap().to_owned();
    // For as long as both caps are full (a1 and b1 run for 4 s, through many claim attempts
    // of the idle third worker), the other runs wait, every time we look.
    let mut looks = 0;
    loop {
        let a1_now = app.wait_for(&alice, &a1, "a1", |_| true).await;
        let b1_now = app.wait_for(&bob, &b1, "b1", |_| true).await;
        if finished(&a1_now) || finished(&b1_now) {
            break;
        }
        for (token, id, who) in
            [(&alice, &a2, "the user's second run"), (&carol, &c1, "a run over the global cap")]
        {
            let t = app.wait_for(token, id, who, |_| true).await;
            assert_eq!(
                (t["status"].as_str(), t["stage"].as_str()),
                (Some("pending"), Some("queued")),
                "{who} waits: {t}"
            );
        }
        looks += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(looks > 3, "the capped runs were looked at only {looks} times");
    for (token, id) in [(&alice, &a1), (&alice, &a2), (&bob, &b1), (&carol, &c1)] {
        let done = app.wait_for(token, id, "completion", finished).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
}

#[actix_web::test]
async fn work_the_agent_committed_itself_is_still_pushed() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("selfcommit").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "own commit [[write:own.txt=mine]] [[commit:agent did it]]"})).await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let branch = done["branch_name"].as_str().unwrap();
    assert_eq!(repo.show(branch, "own.txt"), "mine");
    let log = crate::support::git::git(&repo.path, &["log", "--format=%s", branch]);
    assert_eq!(
        log.lines().next(),
        Some("agent did it"),
        "the agent's own commit was pushed: {log}"
    );
}

#[actix_web::test]
async fn sandbox_limits_come_from_the_settings() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::tasks;

    let extra = "[tasks]\nsandbox_max_processes = 37\nsandbox_memory_mb = 300\n";
    let app = TestApp::with_workers(1, extra).await;
    let (token, _) = app.agent_user("limited").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "hold on [[write:a.txt=1]]"})).await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let task_id: uuid::Uuid = id.parse().unwrap();
    let mut conn = app.pool.get().await.unwrap();
    let sandbox: Option<String> =
        tasks::table.find(task_id).select(tasks::sandbox_id).get_result(&mut conn).await.unwrap();
    let sandbox = sandbox.expect("the kept-alive sandbox");
    let record = app.settings.sandboxes_dir().join(&sandbox).join("sandbox.json");
    let meta: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(meta["limits"]["max_processes"], 37, "{meta}");
    assert_eq!(meta["limits"]["memory_bytes"], 300u64 << 20, "{meta}");
    // This machine has a pids hierarchy: the limit is enforced there, not just recorded.
    let pids = meta["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|dir| std::path::Path::new(dir).join("pids.max").exists())
        .unwrap_or_else(|| panic!("no pids cgroup for the sandbox: {meta}"));
    let max = std::fs::read_to_string(std::path::Path::new(pids).join("pids.max")).unwrap();
    assert_eq!(max.trim(), "37");
}
