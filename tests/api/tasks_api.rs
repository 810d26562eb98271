//! The task endpoints without execution: validation, listing, ownership, quota, stop of a
//! queued task, deletion, limits, keys and the catalogue.

use serde_json::{json, Value};

use crate::support::{json, spec, TestApp};

pub(crate) const REPO: &str = "https://git.example/team/my.repo.git";

fn task(prompt: &str) -> Value {
    json!({"repo_url": REPO, "prompt": prompt, "agent": "claude"})
}

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/tasks")).bearer_auth(token).json(body).send().await.unwrap()
}

#[actix_web::test]
async fn create_and_read_a_task() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("tina").await;
    let created = json(
        create(&app, &token, &task("Fix the login bug\nIt fails on empty passwords")).await,
        201,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks", 201, &created);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["stage"], "queued");
    assert_eq!(created["title"], "Fix the login bug");
    assert_eq!(created["max_duration_minutes"], 60);
    let id = created["id"].as_str().unwrap();
    let got = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/tasks/{id}", 200, &got);
    assert_eq!(got["id"], created["id"]);
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
    spec::assert_valid("get", "/api/v1/tasks/{id}/messages", 200, &messages);
    assert_eq!(messages["items"][0]["role"], "user");
    let events = json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}/events")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/events", 200, &events);
    let kinds: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["status", "stage"]);
    assert_eq!(events["items"][0]["seq"], 1);
}

#[actix_web::test]
async fn invalid_tasks_name_each_field_and_create_nothing() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("vic").await;
    let bad = json!({"repo_url": "not a url", "prompt": "   ", "agent": "skynet", "max_duration_minutes": 100000, "base_branch": "a..b"});
    let body = json(create(&app, &token, &bad).await, 422).await;
    spec::assert_valid("post", "/api/v1/tasks", 422, &body);
    for field in ["repo_url", "prompt", "agent", "max_duration_minutes", "base_branch"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    let long = json!({"repo_url": REPO, "prompt": "x".repeat(100_001), "agent": "claude"});
    let body = json(create(&app, &token, &long).await, 422).await;
    assert!(body["errors"]["prompt"][0].as_str().unwrap().contains("too long"));
    let local = json!({"repo_url": "/srv/repo", "prompt": "x", "agent": "claude"});
    let body = json(create(&app, &token, &local).await, 422).await;
    assert!(body["errors"]["repo_url"][0].as_str().unwrap().contains("local repositories"));
    for owned in ["status", "branch_name", "id", "sandbox_id", "pr_url"] {
        let mut body = task("x");
        body[owned] = json!("forged");
        let res = json(create(&app, &token, &body).await, 422).await;
        assert!(res["errors"][owned].is_array(), "{owned} must be rejected: {res}");
    }
    let list = json(
        app.client.get(app.url("/api/v1/tasks")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let quota = json(
        app.client.get(app.url("/api/v1/me/quota")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(quota["used"], 0, "rejected requests cost nothing");
}

#[actix_web::test]
async fn pagination_walks_every_task_once_with_filters() {
    let app = TestApp::spawn_with("[tasks]\ndaily_quota = 100\n").await;
    let (_, token) = app.user_with_token("paula").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut body = task(&format!("task {i}"));
        if i % 2 == 0 {
            body["repo_url"] = json!("https://git.example/other/repo");
        }
        ids.push(
            json(create(&app, &token, &body).await, 201).await["id"].as_str().unwrap().to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/tasks?limit=3");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = json(app.client.get(url).bearer_auth(&token).send().await.unwrap(), 200).await;
        spec::assert_valid("get", "/api/v1/tasks", 200, &page);
        seen.extend(
            page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");
    let url = app.url("/api/v1/tasks?repo=https://git.example/other/repo&status=pending");
    let page = json(app.client.get(url).bearer_auth(&token).send().await.unwrap(), 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let page = json(
        app.client
            .get(app.url("/api/v1/tasks?status=completed"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let bad = json(
        app.client
            .get(app.url("/api/v1/tasks?status=bogus"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(bad["errors"]["status"].is_array());
    let bad = json(
        app.client
            .get(app.url("/api/v1/tasks?cursor=%%%"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(bad["errors"]["cursor"].is_array());
}

#[actix_web::test]
async fn every_task_endpoint_hides_other_users_tasks() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.user_with_token("owner").await;
    let (_, other) = app.user_with_token("other").await;
    let id = json(create(&app, &owner, &task("mine")).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = &app.client;
    let attempts = [
        c.get(app.url(&format!("/api/v1/tasks/{id}"))),
        c.delete(app.url(&format!("/api/v1/tasks/{id}"))),
        c.post(app.url(&format!("/api/v1/tasks/{id}/stop"))),
        c.get(app.url(&format!("/api/v1/tasks/{id}/messages"))),
        c.post(app.url(&format!("/api/v1/tasks/{id}/messages"))).json(&json!({"content": "hi"})),
        c.get(app.url(&format!("/api/v1/tasks/{id}/events"))),
        c.get(app.url(&format!("/api/v1/tasks/{id}/events/stream"))),
    ];
    for req in attempts {
        let res = req.bearer_auth(&other).send().await.unwrap();
        assert_eq!(res.status(), 404, "{:?}", res.url().path());
    }
    let list =
        json(c.get(app.url("/api/v1/tasks")).bearer_auth(&other).send().await.unwrap(), 200).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // Still intact for its owner.
    let got = json(
        c.get(app.url(&format!("/api/v1/tasks/{id}"))).bearer_auth(&owner).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(got["status"], "pending");
}

#[actix_web::test]
async fn the_quota_holds_under_concurrent_creates() {
    let app = TestApp::spawn_with("[tasks]\ndaily_quota = 3\n").await;
    let (_, token) = app.user_with_token("racer").await;
    let requests = (0..10).map(|i| {
        let body = task(&format!("race {i}"));
        let client = app.client.clone();
        let url = app.url("/api/v1/tasks");
        let token = token.clone();
        async move { client.post(url).bearer_auth(token).json(&body).send().await.unwrap() }
    });
    let responses = futures_util::future::join_all(requests).await;
    let created = responses.iter().filter(|r| r.status() == 201).count();
    let limited: Vec<_> = responses.into_iter().filter(|r| r.status() == 429).collect();
    assert_eq!(created, 3);
    assert_eq!(limited.len(), 7);
    let retry_after: i64 = limited[0].headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 86_400);
    let body = json(limited.into_iter().next().unwrap(), 429).await;
    spec::assert_valid("post", "/api/v1/tasks", 429, &body);
    assert!(body["reset_at"].is_string());
    let quota = json(
        app.client.get(app.url("/api/v1/me/quota")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/me/quota", 200, &quota);
    assert_eq!(
        (quota["used"].as_u64(), quota["remaining"].as_u64(), quota["total"].as_u64()),
        (Some(3), Some(0), Some(3))
    );
}

#[actix_web::test]
async fn stopping_a_queued_task_stops_it_for_good_and_deleting_gives_no_quota_back() {
    let app = TestApp::spawn_with("[tasks]\ndaily_quota = 2\n").await;
    let (_, token) = app.user_with_token("stan").await;
    let id = json(create(&app, &token, &task("stop me")).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Deleting a live task is refused.
    json(
        app.client
            .delete(app.url(&format!("/api/v1/tasks/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let stopped = json(
        app.client
            .post(app.url(&format!("/api/v1/tasks/{id}/stop")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/stop", 202, &stopped);
    assert_eq!(stopped["status"], "stopped");
    let again = json(
        app.client
            .post(app.url(&format!("/api/v1/tasks/{id}/stop")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    assert_eq!(again["status"], "stopped");
    // A follow-up revives it and costs one unit; the next one is over quota.
    let follow = json(
        app.client
            .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
            .bearer_auth(&token)
            .json(&json!({"content": "try again"}))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    assert_eq!(follow["status"], "pending");
    let busy = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(&token)
        .json(&json!({"content": "more"}))
        .send()
        .await
        .unwrap();
    json(busy, 409).await;
    json(
        app.client
            .post(app.url(&format!("/api/v1/tasks/{id}/stop")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    let over = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/messages")))
        .bearer_auth(&token)
        .json(&json!({"content": "more"}))
        .send()
        .await
        .unwrap();
    json(over, 429).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/tasks/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    json(
        app.client
            .get(app.url(&format!("/api/v1/tasks/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let quota = json(
        app.client.get(app.url("/api/v1/me/quota")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(quota["used"], 2, "deleting gives nothing back");
    let events = json(
        app.client.get(app.url("/api/v1/tasks")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert!(events["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn bulk_delete_removes_only_finished_tasks_of_the_caller() {
    let app = TestApp::spawn_with("[tasks]\ndaily_quota = 10\n").await;
    let (_, token) = app.user_with_token("bulk").await;
    let a =
        json(create(&app, &token, &task("a")).await, 201).await["id"].as_str().unwrap().to_owned();
    json(create(&app, &token, &task("b")).await, 201).await;
    json(
        app.client
            .post(app.url(&format!("/api/v1/tasks/{a}/stop")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    let res = json(
        app.client
            .delete(app.url("/api/v1/tasks?status=completed,error,stopped"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("delete", "/api/v1/tasks", 200, &res);
    assert_eq!(res["deleted"], 1);
    let left = json(
        app.client.get(app.url("/api/v1/tasks")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    json(
        app.client
            .delete(app.url("/api/v1/tasks?status=pending"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
}

#[actix_web::test]
async fn admins_set_limits_and_others_cannot() {
    let app = TestApp::spawn().await;
    let admin_id = app.create_user("root", "password123", true).await;
    let mut conn = app.pool.get().await.unwrap();
    let (_, admin) = drydock_api::tokens::model::create(&mut conn, admin_id, "t").await.unwrap();
    drop(conn);
    let (user_id, user) = app.user_with_token("limited").await;
    let url = app.url(&format!("/api/v1/admin/users/{user_id}/limits"));
    json(app.client.get(&url).bearer_auth(&user).send().await.unwrap(), 403).await;
    let set = json(
        app.client
            .put(&url)
            .bearer_auth(&admin)
            .json(&json!({"daily_quota": 1, "max_duration_minutes": 10}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("put", "/api/v1/admin/users/{id}/limits", 200, &set);
    let got = json(app.client.get(&url).bearer_auth(&admin).send().await.unwrap(), 200).await;
    assert_eq!(got, json!({"daily_quota": 1, "max_duration_minutes": 10}));
    let mut long = task("x");
    long["max_duration_minutes"] = json!(11);
    json(create(&app, &user, &long).await, 422).await;
    json(create(&app, &user, &task("x")).await, 201).await;
    json(create(&app, &user, &task("y")).await, 429).await;
    let missing = app.url(&format!("/api/v1/admin/users/{}/limits", uuid::Uuid::new_v4()));
    json(app.client.get(missing).bearer_auth(&admin).send().await.unwrap(), 404).await;
}

#[actix_web::test]
async fn keys_are_write_only_and_the_catalogue_knows_which_are_set() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("kim").await;
    let agents = json(
        app.client.get(app.url("/api/v1/agents")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/agents", 200, &agents);
    let claude = agents.as_array().unwrap().iter().find(|a| a["id"] == "claude").unwrap().clone();
    assert_eq!(claude["has_key"], false);
    assert_eq!(claude["key_provider"], "anthropic");
    let secret = "sk-ant-test-0123456789abcdef";
    let put = json(
        app.client
            .put(app.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(&token)
            .json(&json!({"value": secret, "base_url": "https://gateway.example/v1/"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("put", "/api/v1/me/keys/{provider}", 200, &put);
    assert_eq!(put["last4"], "cdef");
    assert_eq!(put["base_url"], "https://gateway.example/v1");
    let list = json(
        app.client.get(app.url("/api/v1/me/keys")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/me/keys", 200, &list);
    assert!(!list.to_string().contains(secret));
    assert_eq!(list.as_array().unwrap().iter().filter(|k| k["configured"] == true).count(), 1);
    let agents = json(
        app.client.get(app.url("/api/v1/agents")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(
        agents.as_array().unwrap().iter().find(|a| a["id"] == "claude").unwrap()["has_key"],
        true
    );
    let bad = json(
        app.client
            .put(app.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(&token)
            .json(&json!({"value": "x", "base_url": "ftp://x"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(bad["errors"]["value"].is_array() && bad["errors"]["base_url"].is_array());
    json(
        app.client
            .put(app.url("/api/v1/me/keys/nope"))
            .bearer_auth(&token)
            .json(&json!({"value": "abcdefghij"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let res = app
        .client
        .delete(app.url("/api/v1/me/keys/anthropic"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    json(
        app.client
            .delete(app.url("/api/v1/me/keys/anthropic"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}
