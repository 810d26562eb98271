//! The caller's own event stream (`GET /me/events/stream`): their task changes only, live,
//! resumable by `Last-Event-ID`, from whichever writer made the change.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, TestApp};

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// An open SSE response, read frame by frame.
struct Sse {
    body: Body,
    buf: String,
}

/// One frame: its `id:` and its `data:` (either may be missing).
#[derive(Debug)]
struct Frame {
    id: Option<i64>,
    data: Option<Value>,
}

impl Sse {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = app
            .client
            .get(app.url("/api/v1/me/events/stream"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(150));
        if let Some(last) = last_event_id {
            req = req.header("Last-Event-ID", last);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self { body: Box::pin(res.bytes_stream()), buf: String::new() }
    }

    /// The next frame that is not only a comment; fails after 60 s.
    async fn frame(&mut self) -> Frame {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let text: String = self.buf.drain(..end + 2).collect();
                let id =
                    text.lines().find_map(|l| l.strip_prefix("id: ")).map(|v| v.parse().unwrap());
                let data = text
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .map(|d| serde_json::from_str(d).unwrap());
                if id.is_some() || data.is_some() {
                    return Frame { id, data };
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.body.next())
                .await
                .expect("no frame within 60 s")
                .expect("the stream ended")
                .unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events until one satisfies `last`, inclusive.
    async fn until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let frame = self.frame().await;
            let Some(data) = frame.data else { continue };
            assert_eq!(frame.id, data["seq"].as_i64(), "id: is the event's seq: {data}");
            let done = last(&data);
            out.push(data);
            if done {
                return out;
            }
        }
    }
}

fn of_task<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["payload"]["task_id"] == id).collect()
}

fn completed(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| e["payload"]["task_id"] == id && e["payload"]["status"] == "completed"
}

#[actix_web::test]
async fn the_user_stream_carries_only_the_callers_task_changes_and_resumes_without_a_gap() {
    let app = TestApp::with_workers(1, "").await;
    let (alice, _) = app.agent_user("alice").await;
    let (bob, _) = app.agent_user("bob").await;
    let repo = BareRepo::new();

    // Without Last-Event-ID the stream starts now, and says where: seq 0 before any change.
    let mut stream = Sse::open(&app, &alice, None).await;
    let hello = stream.frame().await;
    assert_eq!((hello.id, hello.data.is_none()), (Some(0), true), "{hello:?}");

    let body = |prompt: &str| json!({"repo_url": repo.url(), "agent": "claude", "prompt": prompt});
    let bobs = app.create_task(&bob, body("Bob's [[write:b.txt=b]]")).await;
    let task = app.create_task(&alice, body("Alice's [[write:a.txt=a]]")).await;
    let id = task["id"].as_str().unwrap();
    let seen = stream.until(completed(id)).await;

    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "consecutive from 1: {seen:?}");
    assert_eq!(of_task(&seen, id).len(), seen.len(), "only Alice's task: {seen:?}");
    assert!(seen.iter().all(|e| e["kind"] == "task"));
    assert_eq!(seen[0]["payload"]["change"], "created");
    assert_eq!(seen[0]["payload"]["status"], "pending");
    let statuses: Vec<&str> =
        seen.iter().map(|e| e["payload"]["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"processing"), "{statuses:?}");
    let stages: Vec<&str> = seen.iter().map(|e| e["payload"]["stage"].as_str().unwrap()).collect();
    assert!(stages.contains(&"running_agent"), "{stages:?}");
    let done = app.wait_for(&alice, id, "Alice's task", finished).await;
    assert_eq!(seen.last().unwrap()["payload"]["title"], done["title"]);

    // Resuming after seq 2 replays exactly what followed, identical.
    let mut resumed = Sse::open(&app, &alice, Some("2")).await;
    let first = resumed.frame().await;
    assert_eq!(first.id, Some(2), "a resumed stream names its start too");
    let again = resumed.until(completed(id)).await;
    assert_eq!(again.as_slice(), &seen[2..], "no gap, no duplicate");

    // Bob's own stream from the start has Bob's task only.
    let bobs_id = bobs["id"].as_str().unwrap();
    app.wait_for(&bob, bobs_id, "Bob's task", finished).await;
    let mut theirs = Sse::open(&app, &bob, Some("0")).await;
    let bob_seen = theirs.until(completed(bobs_id)).await;
    assert_eq!(of_task(&bob_seen, bobs_id).len(), bob_seen.len(), "{bob_seen:?}");
    assert!(of_task(&bob_seen, id).is_empty());
    drop(theirs);

    // A deletion is news; so is a change made behind the API's back (an operator's SQL).
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/tasks/{id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let deleted = stream.until(|e| e["payload"]["change"] == "deleted").await;
    assert_eq!(deleted.last().unwrap()["payload"]["task_id"], id);
    let other = app.create_task(&alice, body("Third [[sleep:60]]")).await;
    let other_id = other["id"].as_str().unwrap();
    stream.until(|e| e["payload"]["task_id"] == other_id).await;
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.pool.get().await.unwrap();
        diesel::sql_query(format!(
            "UPDATE tasks SET title = 'Renamed by hand' WHERE id = '{other_id}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let renamed = stream.until(|e| e["payload"]["title"] == "Renamed by hand").await;
    assert_eq!(renamed.last().unwrap()["payload"]["task_id"], other_id);
    assert!(renamed.iter().all(|e| e["payload"]["task_id"] != bobs_id));
}

#[actix_web::test]
async fn the_user_stream_needs_a_caller_and_a_numeric_last_event_id() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("carol").await;
    let res = app.client.get(app.url("/api/v1/me/events/stream")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(app.url("/api/v1/me/events/stream"))
        .bearer_auth(&token)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["errors"]["Last-Event-ID"].is_array(), "{problem}");
}
