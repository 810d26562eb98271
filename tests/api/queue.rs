//! Several processes against one database: workers racing, a worker killed mid-run, and the
//! live event stream.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::git::{fake_agent, BareRepo};
use crate::support::{finished, TestApp, TEST_MASTER_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_drydock");

/// A `drydock worker` process on the app's database.
struct WorkerProcess {
    child: Child,
    _data: tempfile::TempDir,
}

impl WorkerProcess {
    fn start(app: &TestApp, workers: usize) -> Self {
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(BIN)
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &app.db.url)
            .env("DRYDOCK_MASTER_KEY", TEST_MASTER_KEY)
            .env("DRYDOCK_DATA_DIR", data.path())
            .env("DRYDOCK_TASKS__WORKERS", workers.to_string())
            .env("DRYDOCK_TASKS__LEASE_SECS", "3")
            .env("DRYDOCK_TASKS__HEARTBEAT_MS", "300")
            .env("DRYDOCK_TASKS__ALLOW_LOCAL_REPOS", "true")
            .env("DRYDOCK_TASKS__GENERATE_NAMES", "false")
            .env("DRYDOCK_TASKS__GLOBAL_CONCURRENCY", "8")
            .env("DRYDOCK_TASKS__PER_USER_CONCURRENCY", "8")
            .env("DRYDOCK_AGENT_BINARIES__CLAUDE", fake_agent())
            .stdout(Stdio::null())
            .spawn()
            .expect("start drydock worker");
        Self { child, _data: data }
    }

    /// SIGTERM, then waits for the process to exit; returns how long that took.
    fn terminate(&mut self) -> Duration {
        let started = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let _ = self.child.wait();
        started.elapsed()
    }

    fn kill9(&mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

#[actix_web::test]
async fn two_worker_processes_run_each_of_100_tasks_exactly_once() {
    let app = TestApp::with_workers(0, "").await;
    let (token, _) = app.agent_user("racer").await;
    let repo = BareRepo::new();
    let _a = WorkerProcess::start(&app, 4);
    let _b = WorkerProcess::start(&app, 4);
    let mut ids = Vec::new();
    for i in 0..100 {
        let task = app
            .create_task(
                &token,
                json!({"repo_url": repo.url(), "agent": "claude", "prompt": format!("noop {i}")}),
            )
            .await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let done = app.wait_for(&token, id, "completion", finished).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    use drydock_api::db::schema::runs;
    let mut conn = app.pool.get().await.unwrap();
    let attempts: Vec<i32> = runs::table.select(runs::attempts).load(&mut conn).await.unwrap();
    assert_eq!(attempts.len(), 100);
    assert!(attempts.iter().all(|a| *a == 1), "a run was claimed twice: {attempts:?}");
    let workers: std::collections::HashSet<String> = runs::table
        .select(runs::worker_id)
        .load::<Option<String>>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .map(|w| w.rsplit_once('-').unwrap().0.to_owned())
        .collect();
    assert_eq!(workers.len(), 2, "both processes took part: {workers:?}");
    for id in &ids {
        let processing = app
            .events(&token, id)
            .await
            .iter()
            .filter(|e| e["kind"] == "status" && e["payload"]["status"] == "processing")
            .count();
        assert_eq!(processing, 1, "task {id} ran {processing} times");
    }
}

#[actix_web::test]
async fn a_killed_workers_run_is_recovered_by_another_process() {
    let app = TestApp::with_workers(0, "").await;
    let (token, _) = app.agent_user("victim").await;
    let repo = BareRepo::new();
    let mut doomed = WorkerProcess::start(&app, 1);
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[lines:1]] [[sleep:60]]"})).await;
    let id = task["id"].as_str().unwrap();
    app.wait_for(&token, id, "the agent to start", |t| t["stage"] == "running_agent").await;
    doomed.kill9();
    let killed_at = Instant::now();
    let _rescuer = WorkerProcess::start(&app, 1);
    let done = app.wait_for(&token, id, "recovery", finished).await;
    assert_eq!(done["status"], "error", "{done}");
    assert_eq!(done["error"], drydock_api::worker::reaper::LOST_WORKER);
    assert!(killed_at.elapsed() < Duration::from_secs(30), "recovered within the lease");
    let events = app.events(&token, id).await;
    assert!(events.iter().any(|e| e["kind"] == "error"
        && e["payload"]["message"] == drydock_api::worker::reaper::LOST_WORKER));
    assert_eq!(events.last().unwrap()["payload"]["status"], "error");
}

#[actix_web::test]
async fn stopping_a_worker_process_ends_its_running_run_at_once_saying_why() {
    let app = TestApp::with_workers(0, "").await;
    let (token, _) = app.agent_user("restarter").await;
    let repo = BareRepo::new();
    let mut worker = WorkerProcess::start(&app, 1);
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "Nap [[lines:1]] [[sleep:120]]"}))
        .await;
    let id = task["id"].as_str().unwrap();
    app.wait_for(&token, id, "the agent to start", |t| t["stage"] == "running_agent").await;
    let took = worker.terminate();
    // The agent would sleep two minutes: the worker must not wait for it.
    assert!(took < Duration::from_secs(60), "the worker took {took:?} to stop");
    let done = app.wait_for(&token, id, "the run to end", finished).await;
    assert_eq!(done["status"], "error", "{done}");
    assert!(done["error"].as_str().unwrap_or_default().contains("shut down"), "{done}");
}

/// Reads an SSE stream to its end, returning (seq, event) pairs.
async fn read_stream(
    app: &TestApp,
    token: &str,
    id: &str,
    last_event_id: Option<i64>,
) -> Vec<(i64, Value)> {
    read_stream_paced(app, token, id, last_event_id, Duration::ZERO).await
}

/// Like `read_stream`, pausing after every chunk like a slow client.
async fn read_stream_paced(
    app: &TestApp,
    token: &str,
    id: &str,
    last_event_id: Option<i64>,
    pause: Duration,
) -> Vec<(i64, Value)> {
    // Streams outlive the client's 30 s request timeout; the deadline below bounds them.
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream")))
        .bearer_auth(token)
        .timeout(Duration::from_secs(120));
    if let Some(last) = last_event_id {
        req = req.header("Last-Event-ID", last.to_string());
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(110);
    while let Ok(Some(chunk)) =
        tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), body.next()).await
    {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let id = frame
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(|v| v.parse::<i64>().unwrap());
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                out.push((id, serde_json::from_str(data).unwrap()));
            }
        }
    }
    assert!(Instant::now() < deadline, "the stream did not close after the terminal event");
    out
}

#[actix_web::test]
async fn the_event_stream_is_live_resumable_and_closes_at_the_end() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("watcher").await;
    let repo = BareRepo::new();
    let task = app.create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": "[[lines:30]] [[sleep:1]] [[lines:30]] [[write:x.txt=1]]"})).await;
    let id = task["id"].as_str().unwrap();
    let all = read_stream(&app, &token, id, None).await;
    let seqs: Vec<i64> = all.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gap, no duplicate");
    assert!(all.iter().all(|(s, e)| e["seq"] == *s));
    let (_, last) = all.last().unwrap();
    assert_eq!(last["kind"], "status");
    assert_eq!(last["payload"]["status"], "completed");
    let resumed = read_stream(&app, &token, id, Some(25)).await;
    let resumed_seqs: Vec<i64> = resumed.iter().map(|(s, _)| *s).collect();
    assert_eq!(resumed_seqs, (26..=seqs.len() as i64).collect::<Vec<_>>());
    assert!(resumed.iter().zip(&all[25..]).all(|(a, b)| a.1 == b.1));
    let via_query = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream?after={}", seqs.len() - 1)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let text = via_query.text().await.unwrap();
    assert_eq!(text.matches("\nid: ").count() + usize::from(text.starts_with("id: ")), 1, "{text}");
    let bad = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream")))
        .bearer_auth(&token)
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[actix_web::test]
async fn many_subscribers_slow_or_late_each_see_every_event_once_across_processes() {
    let app = TestApp::with_workers(0, "").await;
    let (token, _) = app.agent_user("crowd").await;
    let repo = BareRepo::new();
    // More events than a process keeps in memory, so late readers also go to the database.
    let prompt = "[[lines:1500]] [[sleep:1]] [[lines:1500]] [[write:x.txt=1]]";
    let task = app
        .create_task(&token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": prompt}))
        .await;
    let id = task["id"].as_str().unwrap();
    // A client that never reads: it must hold up neither the worker nor anyone else.
    let stalled = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stalled.status(), 200);
    let readers = futures_util::future::join_all((0..12).map(|i| {
        let pause = if i < 2 { Duration::from_millis(1) } else { Duration::ZERO };
        read_stream_paced(&app, &token, id, None, pause)
    }));
    // The events are written by another process: they reach this one through NOTIFY.
    let worker = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        WorkerProcess::start(&app, 1)
    };
    let (streams, _worker) = tokio::join!(readers, worker);
    let stored = app.events(&token, id).await;
    let total = stored.len() as i64;
    assert!(total > 3000, "only {total} events");
    assert_eq!(stored.last().unwrap()["payload"]["status"], "completed");
    for (i, stream) in streams.iter().enumerate() {
        let seqs: Vec<i64> = stream.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "subscriber {i}: a gap or a duplicate");
        assert!(stream.iter().zip(&stored).all(|((_, a), b)| a == b), "subscriber {i} differs");
    }
    drop(stalled);
    for from in [0, 1000, total - 10] {
        let late = read_stream(&app, &token, id, Some(from)).await;
        let seqs: Vec<i64> = late.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (from + 1..=total).collect::<Vec<_>>(), "late subscriber from {from}");
    }
}

#[actix_web::test]
async fn the_stream_misses_nothing_when_the_listen_connection_drops() {
    use drydock_api::events::store;
    use shared::events::{EventBody, LogLevel};
    use shared::tasks::TaskStatus;

    let app = TestApp::with_workers(0, "").await;
    let (token, _) = app.agent_user("listener").await;
    let task = app
        .create_task(
            &token,
            json!({"repo_url": "https://git.example/a/b.git", "agent": "claude", "prompt": "x"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let task_id: uuid::Uuid = id.parse().unwrap();
    let log = |message: String| EventBody::Log { level: LogLevel::Info, message };

    let writer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut conn = app.pool.get().await.unwrap();
        store::append(&mut conn, task_id, &[log("before".into())]).await.unwrap();
        // Cut every LISTEN connection of this database: the process must reconnect and re-read.
        let cut: Vec<i32> = diesel::sql_query(
            "SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .load::<Terminated>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.pid)
        .collect();
        assert!(!cut.is_empty(), "no LISTEN connection was found to cut");
        // Written while nobody listens, the end included: no later notification comes, so only
        // the re-read after reconnecting can deliver these and close the stream.
        for i in 0..5 {
            store::append(&mut conn, task_id, &[log(format!("during {i}"))]).await.unwrap();
        }
        let done = EventBody::Status { status: TaskStatus::Completed, reason: None };
        store::append(&mut conn, task_id, &[done]).await.unwrap();
    };
    let (events, ()) = tokio::join!(read_stream(&app, &token, &id, None), writer);
    let seqs: Vec<i64> = events.iter().map(|(s, _)| *s).collect();
    let total = app.events(&token, &id).await.len() as i64;
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "a gap or a duplicate");
    let messages: Vec<&str> =
        events.iter().filter_map(|(_, e)| e["payload"]["message"].as_str()).collect();
    for expected in ["before", "during 0", "during 4"] {
        assert!(messages.contains(&expected), "{expected} missing from {messages:?}");
    }
}

#[derive(diesel::QueryableByName)]
struct Terminated {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
    #[allow(dead_code)]
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ok: bool,
}
