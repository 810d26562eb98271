//! A running agent's time limit: it stops the agent when it passes, and the owner can move it
//! (`POST /tasks/{id}/run/extend`) up to their maximum duration, and no further.

use serde_json::{json, Value};

use crate::support::git::BareRepo;
use crate::support::{finished, json as expect_json, spec, TestApp};

async fn extend(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    let url = app.url(&format!("/api/v1/tasks/{id}/run/extend"));
    app.client.post(url).bearer_auth(token).json(&body).send().await.unwrap()
}

fn run_warning(e: &Value) -> bool {
    e["kind"] == "warning" && e["payload"]["warning"] == "run_time_limit"
}

#[actix_web::test]
async fn an_extend_lets_the_agent_finish_past_its_first_limit_and_no_further_than_the_maximum() {
    // One-minute runs, a two-minute maximum, the warning 57 s ahead (3 s into the run). Both
    // agents sleep 64 s: the one whose owner extends finishes, the other is stopped at 60 s.
    let app =
        TestApp::with_workers(2, "[tasks]\nmax_duration_minutes = 2\ndeadline_warning_secs = 57\n")
            .await;
    let (token, _) = app.agent_user("in-a-hurry").await;
    let (repo, other_repo) = (BareRepo::new(), BareRepo::new());
    let body = |repo: &BareRepo| {
        json!({"repo_url": repo.url(), "agent": "claude", "max_duration_minutes": 1,
               "prompt": "slowly [[sleep:64]] [[write:a.txt=1]]"})
    };
    let id = app.create_task(&token, body(&repo)).await["id"].as_str().unwrap().to_owned();
    let limited =
        app.create_task(&token, body(&other_repo)).await["id"].as_str().unwrap().to_owned();

    let warning = app.wait_for_event(&token, &id, "the run-limit warning", run_warning).await;
    let first: chrono::DateTime<chrono::Utc> =
        warning["payload"]["deadline"].as_str().unwrap().parse().unwrap();
    for (minutes, why) in [(0, "zero"), (3, "over the two-minute maximum")] {
        let res = extend(&app, &token, &id, json!({"minutes": minutes})).await;
        let problem = expect_json(res, 422).await;
        assert!(problem["errors"]["minutes"].is_array(), "{why}: {problem}");
    }
    // Two more minutes asked, clamped to the run's start plus the two-minute maximum.
    let moved = expect_json(extend(&app, &token, &id, json!({"minutes": 2})).await, 200).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/run/extend", 200, &moved);
    let deadline: chrono::DateTime<chrono::Utc> =
        moved["deadline"].as_str().unwrap().parse().unwrap();
    assert!(deadline > first, "{moved} vs {first}");
    assert_eq!(moved["deadline"], moved["latest"], "{moved}");
    let again = expect_json(extend(&app, &token, &id, json!({})).await, 409).await;
    assert!(again["detail"].as_str().unwrap().contains("maximum duration"), "{again}");

    let done = app.wait_for(&token, &id, "the extended run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let events = app.events(&token, &id).await;
    let extended: Vec<&Value> = events.iter().filter(|e| e["kind"] == "run_extended").collect();
    assert_eq!(extended.len(), 1, "{events:?}");
    assert_eq!(extended[0]["payload"]["deadline"], moved["deadline"]);

    let stopped = app.wait_for(&token, &limited, "the limited run", finished).await;
    assert_eq!(stopped["status"], "error", "{stopped}");
    assert!(
        stopped["error"].as_str().unwrap().contains("exceeded its limit of 1 minutes"),
        "{stopped}"
    );
    // The run is over: nothing left to extend.
    let over = expect_json(extend(&app, &token, &id, json!({})).await, 409).await;
    assert!(over["detail"].as_str().unwrap().contains("no running agent"), "{over}");
}

#[actix_web::test]
async fn only_the_owner_extends_and_only_a_running_agent() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.user_with_token("owner").await;
    let (_, stranger) = app.user_with_token("stranger").await;
    let task = app
        .create_task(
            &owner,
            json!({"repo_url": "https://github.com/acme/app", "agent": "claude", "prompt": "hi"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let res = extend(&app, &stranger, id, json!({})).await;
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    expect_json(res, 404).await;
    let queued = expect_json(extend(&app, &owner, id, json!({})).await, 409).await;
    assert!(queued["detail"].as_str().unwrap().contains("no running agent"), "{queued}");
    let unknown = extend(&app, &owner, id, json!({"minutes": 5, "hours": 1})).await;
    assert!(matches!(unknown.status().as_u16(), 400 | 422), "unknown fields are refused");
    let missing = extend(&app, &owner, &uuid::Uuid::new_v4().to_string(), json!({})).await;
    expect_json(missing, 404).await;
}
