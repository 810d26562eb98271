//! Live sandboxes: status, start from the pushed branch, stop, extend, the list; who may do
//! what; that the host never reads a live workspace while code runs in it; and the warnings
//! before a run's limit and a kept sandbox's expiry.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json as expect_json, spec, TestApp};

async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let url = app.url(path);
    let req = match method {
        "GET" => app.client.get(url),
        _ => app.client.post(url),
    };
    let req = req.bearer_auth(token);
    let req = match body {
        Some(body) => req.json(&body),
        None if method == "POST" => req.json(&json!({})),
        None => req,
    };
    req.send().await.unwrap()
}

async fn sandbox(app: &TestApp, token: &str, id: &str) -> Value {
    let view = expect_json(
        call(app, token, "GET", &format!("/api/v1/tasks/{id}/sandbox"), None).await,
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/sandbox", 200, &view);
    view
}

async fn wait_state(app: &TestApp, token: &str, id: &str, state: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let view = sandbox(app, token, id).await;
        if view["state"] == state {
            return view;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "timed out waiting for {state}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sandbox_events(events: &[Value], action: &str) -> usize {
    events.iter().filter(|e| e["kind"] == "sandbox" && e["payload"]["action"] == action).count()
}

/// A finished, kept-alive task whose agent left a file in HOME; returns its id.
async fn kept_task(app: &TestApp, token: &str, repo: &BareRepo) -> String {
    let task = app
        .create_task(
            token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true,
            "prompt": "first [[write:a.txt=1]] [[sh:echo remembered > $HOME/session-note]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(token, &id, "the first run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    id
}

#[actix_web::test]
async fn stop_then_start_rebuilds_from_the_branch_and_the_follow_up_resumes() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("lifecycle").await;
    let repo = BareRepo::new();
    let id = kept_task(&app, &token, &repo).await;

    let running = sandbox(&app, &token, &id).await;
    assert_eq!(running["state"], "running", "{running}");
    assert_eq!(running["busy"], false, "{running}");
    assert!(running["expires_at"].is_string() && running["started_at"].is_string(), "{running}");
    assert!(running["usage"]["disk_bytes"].as_u64().unwrap() > 0, "{running}");
    // The repository serves nothing: the status says so rather than leaving it unknown.
    assert_eq!(running["dev_server"], "not_found", "{running}");

    let list = expect_json(call(&app, &token, "GET", "/api/v1/sandboxes", None).await, 200).await;
    spec::assert_valid("get", "/api/v1/sandboxes", 200, &list);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["task_id"], id.as_str());
    assert_eq!(items[0]["state"], "running");

    // Starting a running sandbox keeps it.
    let again =
        call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/start"), None).await;
    assert_eq!(expect_json(again, 200).await["state"], "running");

    let stopped = expect_json(
        call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/stop"), None).await,
        200,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/sandbox/stop", 200, &stopped);
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    let list = expect_json(call(&app, &token, "GET", "/api/v1/sandboxes", None).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let twice = call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/stop"), None).await;
    let problem = expect_json(twice, 409).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/sandbox/stop", 409, &problem);
    let extend =
        call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/extend"), None).await;
    expect_json(extend, 409).await;

    let start =
        call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/start"), None).await;
    let starting = expect_json(start, 202).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/sandbox/start", 202, &starting);
    assert!(matches!(starting["state"].as_str(), Some("starting" | "running")), "{starting}");
    wait_state(&app, &token, &id, "running").await;

    // The new sandbox has the branch's clone and the agent's HOME back.
    let task_id: uuid::Uuid = id.parse().unwrap();
    let sandbox_id: String = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use drydock_api::db::schema::tasks;
        let mut conn = app.pool.get().await.unwrap();
        let id: Option<String> = tasks::table
            .find(task_id)
            .select(tasks::sandbox_id)
            .get_result(&mut conn)
            .await
            .unwrap();
        id.expect("the started sandbox is the task's")
    };
    assert!(sandbox_id.contains("-s"), "a new sandbox, not the run's: {sandbox_id}");
    let handle = app.sandbox.open(&sandbox_id).await.unwrap();
    let note =
        app.sandbox.read_file(&handle, sandbox::FileRoot::Home, "session-note").await.unwrap();
    assert_eq!(String::from_utf8_lossy(&note).trim(), "remembered");
    let file =
        app.sandbox.read_file(&handle, sandbox::FileRoot::Workspace, "repo/a.txt").await.unwrap();
    assert_eq!(String::from_utf8_lossy(&file), "1");

    let events = app.events(&token, &id).await;
    for action in ["starting", "started", "stopped"] {
        assert!(sandbox_events(&events, action) >= 1, "no {action} event: {events:?}");
    }

    // The follow-up runs in the started sandbox and resumes the agent's session.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(&token)
        .json(&json!({"content": "again [[write:b.txt=2]]"}))
        .send()
        .await
        .unwrap();
    expect_json(res, 202).await;
    let done = app
        .wait_for(&token, &id, "the follow-up", |t| finished(t) && t["status"] != "pending")
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let messages = expect_json(
        call(&app, &token, "GET", &format!("/api/v1/tasks/{id}/messages"), None).await,
        200,
    )
    .await;
    let last = messages["items"].as_array().unwrap().last().unwrap().clone();
    assert!(last["content"].as_str().unwrap().starts_with("Resumed:"), "{messages}");

    // Stopped again, the follow-up still works: a fresh sandbox with the parked HOME.
    expect_json(
        call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/stop"), None).await,
        200,
    )
    .await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(&token)
        .json(&json!({"content": "third [[write:c.txt=3]]"}))
        .send()
        .await
        .unwrap();
    expect_json(res, 202).await;
    let done = app
        .wait_for(&token, &id, "the third run", |t| finished(t) && t["status"] != "pending")
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let messages = expect_json(
        call(&app, &token, "GET", &format!("/api/v1/tasks/{id}/messages"), None).await,
        200,
    )
    .await;
    let last = messages["items"].as_array().unwrap().last().unwrap().clone();
    assert!(last["content"].as_str().unwrap().starts_with("Resumed:"), "{messages}");
}

#[actix_web::test]
async fn extend_stays_within_the_keep_alive_limit() {
    let app = TestApp::with_workers(1, "[tasks]\nkeep_alive_minutes = 30\n").await;
    let (token, _) = app.agent_user("extender").await;
    let repo = BareRepo::new();
    let id = kept_task(&app, &token, &repo).await;
    let path = format!("/api/v1/tasks/{id}/sandbox/extend");
    for bad in [json!({"minutes": 0}), json!({"minutes": 31})] {
        let problem = expect_json(call(&app, &token, "POST", &path, Some(bad)).await, 422).await;
        spec::assert_valid("post", "/api/v1/tasks/{id}/sandbox/extend", 422, &problem);
        assert!(problem["errors"]["minutes"].is_array(), "{problem}");
    }
    let problem =
        expect_json(call(&app, &token, "POST", &path, Some(json!({"minutes": "x"}))).await, 422)
            .await;
    assert!(problem["errors"]["body"].is_array(), "{problem}");
    let unknown = call(&app, &token, "POST", &path, Some(json!({"until": 5}))).await;
    let problem = expect_json(unknown, 422).await;
    assert!(problem["errors"]["until"].is_array(), "unknown fields are refused: {problem}");
    let before = chrono::Utc::now();
    let view =
        expect_json(call(&app, &token, "POST", &path, Some(json!({"minutes": 5}))).await, 200)
            .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/sandbox/extend", 200, &view);
    let until: chrono::DateTime<chrono::Utc> =
        view["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(until >= before + chrono::Duration::minutes(5), "{view}");
    assert!(until <= chrono::Utc::now() + chrono::Duration::minutes(5), "{view}");
    let view = expect_json(call(&app, &token, "POST", &path, None).await, 200).await;
    let until: chrono::DateTime<chrono::Utc> =
        view["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(until >= before + chrono::Duration::minutes(29), "the default is the limit: {view}");
    let events = app.events(&token, &id).await;
    assert_eq!(sandbox_events(&events, "extended"), 2, "{events:?}");
}

#[actix_web::test]
async fn sandbox_routes_answer_only_their_owner() {
    let app = TestApp::with_workers(1, "").await;
    let (owner, _) = app.agent_user("owner").await;
    let (_, stranger) = app.user_with_token("stranger").await;
    let repo = BareRepo::new();
    let id = kept_task(&app, &owner, &repo).await;
    let routes = [
        ("GET", format!("/api/v1/tasks/{id}/sandbox")),
        ("POST", format!("/api/v1/tasks/{id}/sandbox/start")),
        ("POST", format!("/api/v1/tasks/{id}/sandbox/stop")),
        ("POST", format!("/api/v1/tasks/{id}/sandbox/extend")),
    ];
    for (method, path) in &routes {
        let problem = expect_json(call(&app, &stranger, method, path, None).await, 404).await;
        assert_eq!(problem["status"], 404, "{method} {path}");
        let anonymous = match *method {
            "GET" => app.client.get(app.url(path)),
            _ => app.client.post(app.url(path)).json(&json!({})),
        };
        expect_json(anonymous.send().await.unwrap(), 401).await;
        let missing = path.replace(&id, &uuid::Uuid::new_v4().to_string());
        expect_json(call(&app, &owner, method, &missing, None).await, 404).await;
    }
    // Still the owner's, untouched.
    assert_eq!(sandbox(&app, &owner, &id).await["state"], "running");
    let theirs =
        expect_json(call(&app, &stranger, "GET", "/api/v1/sandboxes", None).await, 200).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "{theirs}");
    let problem =
        expect_json(call(&app, &stranger, "GET", "/api/v1/sandboxes?all=true", None).await, 403)
            .await;
    spec::assert_valid("get", "/api/v1/sandboxes", 403, &problem);
    expect_json(call(&app, &stranger, "GET", "/api/v1/sandboxes?bogus=1", None).await, 400).await;
    expect_json(app.client.get(app.url("/api/v1/sandboxes")).send().await.unwrap(), 401).await;

    let admin_id = app.create_user("root", "password123", true).await;
    let mut conn = app.pool.get().await.unwrap();
    let (_, admin) = drydock_api::tokens::model::create(&mut conn, admin_id, "t").await.unwrap();
    drop(conn);
    let own = expect_json(call(&app, &admin, "GET", "/api/v1/sandboxes", None).await, 200).await;
    assert_eq!(own["items"].as_array().unwrap().len(), 0, "{own}");
    let all =
        expect_json(call(&app, &admin, "GET", "/api/v1/sandboxes?all=true", None).await, 200).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{all}");
    assert_eq!(items[0]["task_id"], id.as_str());
}

#[actix_web::test]
async fn start_and_stop_refuse_while_a_run_is_active_or_before_a_branch() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("busy").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "slow [[sleep:30]]"}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    app.wait_for(&token, &id, "the run", |t| t["status"] == "processing").await;
    for action in ["start", "stop"] {
        let res =
            call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/{action}"), None).await;
        let problem = expect_json(res, 409).await;
        spec::assert_valid(
            "post",
            &format!("/api/v1/tasks/{{id}}/sandbox/{action}"),
            409,
            &problem,
        );
    }
    expect_json(call(&app, &token, "POST", &format!("/api/v1/tasks/{id}/stop"), None).await, 202)
        .await;
    app.wait_for(&token, &id, "the stop", finished).await;

    // A task stopped before it ever cloned has no branch to build from.
    let idle = TestApp::with_workers(0, "").await;
    let (token, _) = idle.agent_user("early").await;
    let task = idle
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "prompt": "never runs"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    expect_json(
        call(&idle, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/start"), None).await,
        409,
    )
    .await;
    expect_json(call(&idle, &token, "POST", &format!("/api/v1/tasks/{id}/stop"), None).await, 202)
        .await;
    idle.wait_for(&token, &id, "the stop", finished).await;
    let problem = expect_json(
        call(&idle, &token, "POST", &format!("/api/v1/tasks/{id}/sandbox/start"), None).await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("branch"), "{problem}");
    assert_eq!(sandbox(&idle, &token, &id).await["state"], "stopped");
}

#[actix_web::test]
async fn changes_do_not_read_the_live_workspace_while_code_runs_there() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("reader").await;
    let repo = BareRepo::new();
    let id = kept_task(&app, &token, &repo).await;
    let changes = |app: &TestApp| {
        let req =
            app.client.get(app.url(&format!("/api/v1/tasks/{id}/changes"))).bearer_auth(&token);
        async move { expect_json(req.send().await.unwrap(), 200).await }
    };
    assert_eq!(changes(&app).await["source"], "sandbox");

    // Another process sharing the data directory (a terminal, a dev server) runs code there.
    let other = drydock_api::sandboxes::build(&app.settings).unwrap();
    let task_id: uuid::Uuid = id.parse().unwrap();
    let sandbox_id: String = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use drydock_api::db::schema::tasks;
        let mut conn = app.pool.get().await.unwrap();
        let id: Option<String> = tasks::table
            .find(task_id)
            .select(tasks::sandbox_id)
            .get_result(&mut conn)
            .await
            .unwrap();
        id.unwrap()
    };
    let handle = other.open(&sandbox_id).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let running = {
        let (other, handle) = (other.clone(), handle.clone());
        tokio::spawn(async move {
            other
                .exec(&handle, sandbox::ExecRequest::new(["sh", "-c", "echo up; sleep 120"]), tx)
                .await
        })
    };
    assert_eq!(rx.recv().await.unwrap().line, "up");
    let busy = sandbox(&app, &token, &id).await;
    assert_eq!(busy["busy"], true, "{busy}");
    assert_eq!(busy["usage"]["commands"], 1, "{busy}");
    let read = changes(&app).await;
    assert_eq!(read["source"], "branch", "the host read the live workspace while code ran: {read}");

    other.kill(&handle).await.unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(sandbox(&app, &token, &id).await["busy"], false);
    assert_eq!(changes(&app).await["source"], "sandbox");
}

#[actix_web::test]
async fn warnings_come_once_before_the_run_limit_and_before_the_expiry() {
    // A one-minute run limit and keep-alive with a 57-second lead: both warnings are due a few
    // seconds after their clocks start.
    let app =
        TestApp::with_workers(1, "[tasks]\nkeep_alive_minutes = 1\ndeadline_warning_secs = 57\n")
            .await;
    let (token, _) = app.agent_user("warned").await;
    let repo = BareRepo::new();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true,
            "max_duration_minutes": 1, "prompt": "slowly [[sleep:6]] [[write:a.txt=1]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let warning = |kind: &'static str| {
        move |e: &Value| e["kind"] == "warning" && e["payload"]["warning"] == kind
    };
    let run =
        app.wait_for_event(&token, &id, "the run-limit warning", warning("run_time_limit")).await;
    assert!(run["payload"]["deadline"].is_string(), "{run}");
    assert!(run["payload"]["message"].as_str().unwrap().contains("maximum duration"), "{run}");
    let done = app.wait_for(&token, &id, "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let expiry =
        app.wait_for_event(&token, &id, "the expiry warning", warning("sandbox_expiry")).await;
    let view = sandbox(&app, &token, &id).await;
    let deadline: chrono::DateTime<chrono::Utc> =
        expiry["payload"]["deadline"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        view["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((deadline - expires).num_milliseconds().abs() < 1, "{expiry} vs {view}");
    // Several reaper rounds later, still one of each.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = app.events(&token, &id).await;
    let count = |kind: &str| events.iter().filter(|e| warning_kind(e) == Some(kind)).count();
    assert_eq!(count("run_time_limit"), 1, "{events:?}");
    assert_eq!(count("sandbox_expiry"), 1, "{events:?}");
}

fn warning_kind(event: &Value) -> Option<&str> {
    (event["kind"] == "warning").then(|| event["payload"]["warning"].as_str()).flatten()
}
