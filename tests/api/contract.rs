//! Snapshots of representative response bodies, and a task driven end to end through the typed
//! client. A change to what the API sends shows up here as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always` to rewrite them).

use serde_json::{json, Value};
use shared::tasks::TaskStatus;

use crate::support::git::BareRepo;
use crate::support::typed::new_task;
use crate::support::{json as expect_json, TestApp};

/// Replaces values that differ between runs (ids, times, the repository's temp path) so the
/// rest can be compared exactly.
fn stable(mut value: Value, repo: Option<&str>) -> Value {
    fn walk(v: &mut Value, repo: Option<&str>) {
        match v {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let volatile = key == "id"
                        || key == "request_id"
                        || key == "branch_name"
                        || key.ends_with("_at")
                        || key.ends_with("_id") && item.is_string();
                    if volatile && !item.is_null() {
                        *item = Value::String(format!("[{key}]"));
                    } else {
                        walk(item, repo);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, repo)),
            Value::String(s) => {
                if let Some(repo) = repo.filter(|r| s.contains(*r)) {
                    *s = s.replace(repo, "[repo]");
                }
            }
            _ => {}
        }
    }
    walk(&mut value, repo);
    value
}

#[actix_web::test]
async fn a_rejected_task_names_each_field() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("snap-invalid").await;
    let res = app
        .client
        .post(app.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({"repo_url": "git@github.com:o/r.git", "agent": "nobody", "prompt": " ", "max_duration_minutes": 0}))
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!(stable(expect_json(res, 422).await, None));
}

#[actix_web::test]
async fn the_agent_catalogue() {
    let app = TestApp::spawn().await;
    let (token, _) = app.agent_user("snap-agents").await;
    let agents = serde_json::to_value(app.list_agents(&token).await).unwrap();
    insta::assert_json_snapshot!(agents);
}

#[actix_web::test]
async fn a_completed_task_through_the_typed_client() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("snap-task").await;
    let repo = BareRepo::new();
    let created =
        app.post_task(&token, &new_task(&repo.url(), "Add a note [[write:note.txt=hi]]")).await;
    assert_eq!(created.status, TaskStatus::Pending);
    let done = app.wait_task(&token, created.id, "completion", |t| t.status.is_terminal()).await;
    assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
    let branch = done.branch_name.clone().expect("a branch");
    assert_eq!(repo.show(&branch, "note.txt"), "hi");
    let events = app.task_events(&token, created.id).await;
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq), "events are in order");
    let quota = app.get_quota(&token).await;
    assert_eq!(quota.used, 1);
    let body = serde_json::to_value(&done).unwrap();
    insta::assert_json_snapshot!(stable(body, Some(&repo.url())));
}
