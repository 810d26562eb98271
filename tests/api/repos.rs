//! The caller's repositories from their tasks (`GET /me/repos`: task counts, paginated), the
//! forge items of a repository that already have a task (`GET /me/task-links`), closing a pull
//! request from the repository list (GitHub's route and the forge route, through the forge
//! trait), and the pruning of old `user_events`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::db::schema::{task_pull_requests, user_events};
use serde_json::{json, Value};

use crate::github::{github_user, setup};
use crate::support::{json, spec, TestApp};

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn repositories_count_the_callers_tasks_and_link_items_to_their_tasks() {
    let (app, gh) = setup("").await;
    gh.add_repo("octo-org", "my.app", false);
    gh.add_repo("octo-org", "other", false);
    let issue = gh.add_issue("octo-org", "my.app", "Crash on start", "Trace");
    let pull = gh.add_pull("octo-org", "my.app", "Add login", "feature/login", false);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    gh.add_commit("octo-org", "my.app", sha, "Break things");
    let (token, _) = github_user(&app, &gh, "tess").await;
    let (stranger, _) = github_user(&app, &gh, "sam").await;
    let base = "/api/v1/github/repos/octo-org/my.app";
    let (my_app, other) =
        (format!("{}/octo-org/my.app", gh.base), format!("{}/octo-org/other", gh.base));

    let agent = json!({"agent": "claude"});
    let from_issue =
        json(post(&app, &token, &format!("{base}/issues/{issue}/task"), agent.clone()).await, 201)
            .await;
    let from_pull =
        json(post(&app, &token, &format!("{base}/pulls/{pull}/task"), agent.clone()).await, 201)
            .await;
    let revert = json(
        post(&app, &token, &format!("{base}/commits/{sha}/revert-task"), agent.clone()).await,
        201,
    )
    .await;
    app.create_task(&token, json!({"repo_url": other, "agent": "claude", "prompt": "Docs"})).await;
    // Another user's task counts for them only.
    app.create_task(&stranger, json!({"repo_url": my_app, "agent": "claude", "prompt": "Mine"}))
        .await;

    let repos = json(get(&app, &token, "/api/v1/me/repos").await, 200).await;
    spec::assert_valid("get", "/api/v1/me/repos", 200, &repos);
    let counts: Vec<(String, i64)> = repos["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["repo_url"].as_str().unwrap().to_owned(), r["task_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, vec![(my_app.clone(), 3), (other.clone(), 1)], "{repos}");
    assert!(repos.get("next_cursor").is_none(), "{repos}");

    // One repository a page.
    let first = json(get(&app, &token, "/api/v1/me/repos?limit=1").await, 200).await;
    assert_eq!(first["items"][0]["repo_url"], my_app);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second =
        json(get(&app, &token, &format!("/api/v1/me/repos?limit=1&cursor={cursor}")).await, 200)
            .await;
    assert_eq!(second["items"][0]["repo_url"], other, "{second}");
    assert!(second.get("next_cursor").is_none(), "{second}");
    let bad = json(get(&app, &token, "/api/v1/me/repos?cursor=%21%21").await, 422).await;
    assert!(bad["errors"]["cursor"].is_array(), "{bad}");
    let bad = json(get(&app, &token, "/api/v1/me/repos?limit=0").await, 422).await;
    assert!(bad["errors"]["limit"].is_array(), "{bad}");
    json(app.client.get(app.url("/api/v1/me/repos")).send().await.unwrap(), 401).await;

    // Which listed items already have a task, and which.
    let path = format!("/api/v1/me/task-links?repo_url={}", enc(&my_app));
    let links = json(get(&app, &token, &path).await, 200).await;
    spec::assert_valid("get", "/api/v1/me/task-links", 200, &links);
    let linked = |url: &str| {
        links["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["url"] == url)
            .map(|l| l["task_id"].clone())
    };
    let issues = json(get(&app, &token, &format!("{base}/issues")).await, 200).await;
    let pulls = json(get(&app, &token, &format!("{base}/pulls")).await, 200).await;
    let commits = json(get(&app, &token, &format!("{base}/commits")).await, 200).await;
    let url_of = |list: &Value| list["items"][0]["html_url"].as_str().unwrap().to_owned();
    assert_eq!(linked(&url_of(&issues)), Some(from_issue["id"].clone()), "{links}");
    assert_eq!(linked(&url_of(&pulls)), Some(from_pull["id"].clone()), "{links}");
    assert_eq!(linked(&url_of(&commits)), Some(revert["id"].clone()), "{links}");
    assert_eq!(links["items"].as_array().unwrap().len(), 3, "{links}");
    assert_eq!(links["items"][0]["status"], "pending");
    // Paged by task, newest first.
    let one = json(get(&app, &token, &format!("{path}&limit=1")).await, 200).await;
    assert_eq!(one["items"][0]["task_id"], revert["id"], "{one}");
    let cursor = one["next_cursor"].as_str().unwrap();
    let rest = json(get(&app, &token, &format!("{path}&limit=2&cursor={cursor}")).await, 200).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{rest}");
    // Another user's tasks are not theirs to see.
    let theirs = json(get(&app, &stranger, &path).await, 200).await;
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    let bad = json(get(&app, &token, "/api/v1/me/task-links").await, 400).await;
    assert!(bad["detail"].as_str().unwrap().contains("repo_url"), "{bad}");
    let bad = json(get(&app, &token, "/api/v1/me/task-links?repo_url=%20").await, 422).await;
    assert!(bad["errors"]["repo_url"].is_array(), "{bad}");
}

#[actix_web::test]
async fn a_pull_request_is_closed_from_the_repository_list() {
    let (app, gh) = setup("").await;
    gh.add_repo("octo-org", "my.app", false);
    let linked = gh.add_pull("octo-org", "my.app", "Add login", "feature/login", false);
    let loose = gh.add_pull("octo-org", "my.app", "Typo", "fix/typo", false);
    let merged = gh.add_pull("octo-org", "my.app", "Shipped", "feature/done", false);
    gh.repo("octo-org", "my.app", |r| {
        let pr = r.items.get_mut(&merged).unwrap();
        pr["merged"] = true.into();
        pr["merged_at"] = "2026-01-02T00:00:00Z".into();
        pr["state"] = "closed".into();
    });
    let (token, _) = github_user(&app, &gh, "tess").await;
    let base = "/api/v1/github/repos/octo-org/my.app";
    let task = json(
        post(&app, &token, &format!("{base}/pulls/{linked}/task"), json!({"agent": "claude"}))
            .await,
        201,
    )
    .await;
    let task_id: uuid::Uuid = task["id"].as_str().unwrap().parse().unwrap();

    // GitHub's route.
    let closed =
        json(post(&app, &token, &format!("{base}/pulls/{loose}/close"), json!({})).await, 200)
            .await;
    spec::assert_valid(
        "post",
        "/api/v1/github/repos/{owner}/{repo}/pulls/{number}/close",
        200,
        &closed,
    );
    assert_eq!(closed["status"], "closed");
    let open = json(get(&app, &token, &format!("{base}/pulls")).await, 200).await;
    let numbers: Vec<i64> =
        open["items"].as_array().unwrap().iter().map(|p| p["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![linked], "only the linked one is still open: {open}");
    // Closing it again answers it as it is.
    let again =
        json(post(&app, &token, &format!("{base}/pulls/{loose}/close"), json!({})).await, 200)
            .await;
    assert_eq!(again["status"], "closed");

    // The forge route, on GitHub's host; the linked task sees the new state.
    let host = gh.base.trim_start_matches("http://");
    let forge = format!("/api/v1/forges/{host}/repo/pulls/{linked}/close?path=octo-org/my.app");
    let closed = json(post(&app, &token, &forge, json!({})).await, 200).await;
    spec::assert_valid("post", "/api/v1/forges/{host}/repo/pulls/{number}/close", 200, &closed);
    assert_eq!(closed["number"], linked);
    let mut conn = app.pool.get().await.unwrap();
    let stored: String = task_pull_requests::table
        .find(task_id)
        .select(task_pull_requests::status)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, "closed");

    // Merged: a conflict; missing: 404; no permission: 403.
    let body =
        json(post(&app, &token, &format!("{base}/pulls/{merged}/close"), json!({})).await, 409)
            .await;
    spec::assert_valid(
        "post",
        "/api/v1/github/repos/{owner}/{repo}/pulls/{number}/close",
        409,
        &body,
    );
    assert!(body["detail"].as_str().unwrap().contains("merged"), "{body}");
    json(post(&app, &token, &format!("{base}/pulls/999/close"), json!({})).await, 404).await;
    json(
        post(&app, &token, "/api/v1/github/repos/octo-org/gone/pulls/1/close", json!({})).await,
        404,
    )
    .await;
    json(
        post(&app, &token, "/api/v1/github/repos/octo-org/a%20b/pulls/1/close", json!({})).await,
        404,
    )
    .await;
    let bad = format!("/api/v1/forges/{host}/repo/pulls/{loose}/close?path=nope");
    let body = json(post(&app, &token, &bad, json!({})).await, 422).await;
    assert!(body["errors"]["path"].is_array(), "{body}");
    gh.with(|s| s.inject = Some(crate::support::fake_github::Inject::Forbidden));
    json(post(&app, &token, &format!("{base}/pulls/{linked}/close"), json!({})).await, 403).await;
    gh.with(|s| s.inject = None);
}

#[actix_web::test]
async fn old_user_events_are_pruned_and_seqs_go_on() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("pia").await;
    let body = json!({"repo_url": crate::tasks_api::REPO, "agent": "claude", "prompt": "x"});
    app.create_task(&token, body.clone()).await;
    app.create_task(&token, body.clone()).await;
    let mut conn = app.pool.get().await.unwrap();
    let before = event_seqs(&mut conn).await;
    assert_eq!(before.len(), 2, "one event per created task: {before:?}");
    // The first is older than the retention, the second just inside it.
    let kept = drydock_api::events::user_store::KEPT_FOR;
    diesel::update(user_events::table.filter(user_events::seq.eq(before[0])))
        .set(user_events::at.eq(chrono::Utc::now() - kept - chrono::Duration::minutes(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::update(user_events::table.filter(user_events::seq.eq(before[1])))
        .set(user_events::at.eq(chrono::Utc::now() - kept + chrono::Duration::minutes(5)))
        .execute(&mut conn)
        .await
        .unwrap();
    let pruned = drydock_api::startup::prune_user_events(&app.pool).await.unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(event_seqs(&mut conn).await, vec![before[1]]);
    // A new change continues the user's seq instead of starting again.
    app.create_task(&token, body).await;
    assert_eq!(event_seqs(&mut conn).await, vec![before[1], before[1] + 1]);
}

async fn event_seqs(conn: &mut diesel_async::AsyncPgConnection) -> Vec<i64> {
    user_events::table
        .select(user_events::seq)
        .order(user_events::seq.asc())
        .load::<i64>(conn)
        .await
        .unwrap()
}
