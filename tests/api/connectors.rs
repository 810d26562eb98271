//! MCP connectors: CRUD, write-only secrets, ownership, validation, presets, and the
//! `connector_ids` of a task.

use serde_json::{json, Value};

use crate::support::{json, spec, TestApp};

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/connectors"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn local(name: &str) -> Value {
    json!({"name": name, "type": "local", "command": "npx", "args": ["-y", "@browserbasehq/mcp"],
           "env": {"BROWSERBASE_API_KEY": "bb-secret-value-123", "BROWSERBASE_PROJECT_ID": "proj-secret-456"}})
}

fn remote(name: &str) -> Value {
    json!({"name": name, "type": "remote", "url": "https://mcp.linear.app/sse",
           "headers": {"Authorization": "Bearer lin-secret-789"}})
}

const SECRETS: [&str; 4] =
    ["bb-secret-value-123", "proj-secret-456", "lin-secret-789", "new-secret-000"];

fn assert_no_secrets(body: &Value) {
    let text = body.to_string();
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} returned: {text}");
    }
}

#[actix_web::test]
async fn connectors_crud_with_write_only_secrets() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("cora").await;

    let a = json(create(&app, &token, local("browserbase")).await, 201).await;
    spec::assert_valid("post", "/api/v1/connectors", 201, &a);
    assert_no_secrets(&a);
    assert_eq!(a["type"], "local");
    assert_eq!(a["command"], "npx");
    assert_eq!(a["args"], json!(["-y", "@browserbasehq/mcp"]));
    assert_eq!(a["env_keys"], json!(["BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID"]));
    assert_eq!(a["header_keys"], json!([]));
    assert_eq!(a["enabled"], true);
    let b = json(create(&app, &token, remote("linear")).await, 201).await;
    assert_no_secrets(&b);
    assert_eq!(b["header_keys"], json!(["Authorization"]));
    assert_eq!(b["url"], "https://mcp.linear.app/sse");

    // Stored sealed: the database never holds the plain values either.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.pool.get().await.unwrap();
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        let rows: Vec<Row> =
            diesel::sql_query("SELECT row_to_json(c)::text AS t FROM connectors c")
                .load(&mut conn)
                .await
                .unwrap();
        assert_eq!(rows.len(), 2);
        for r in rows {
            assert_no_secrets(&Value::String(r.t));
        }
    }

    let list = json(
        app.client.get(app.url("/api/v1/connectors")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/connectors", 200, &list);
    assert_no_secrets(&list);
    let names: Vec<&str> =
        list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["browserbase", "linear"]);

    let id = a["id"].as_str().unwrap();
    let got = json(
        app.client
            .get(app.url(&format!("/api/v1/connectors/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/connectors/{id}", 200, &got);
    assert_eq!(got["name"], "browserbase");

    // PATCH: absent fields stay, a present `env` replaces the map, `enabled` toggles.
    let patched = json(
        app.client
            .patch(app.url(&format!("/api/v1/connectors/{id}")))
            .bearer_auth(&token)
            .json(&json!({"enabled": false, "env": {"ONLY_KEY": "new-secret-000"}}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("patch", "/api/v1/connectors/{id}", 200, &patched);
    assert_no_secrets(&patched);
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["env_keys"], json!(["ONLY_KEY"]));
    assert_eq!(patched["command"], "npx");
    // Switching type clears the other type's fields.
    let switched = json(
        app.client
            .patch(app.url(&format!("/api/v1/connectors/{id}")))
            .bearer_auth(&token)
            .json(&json!({"type": "remote", "url": "https://mcp.example.com/mcp"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(switched["type"], "remote");
    assert_eq!(switched["command"], Value::Null);
    assert_eq!(switched["args"], json!([]));
    assert_eq!(switched["env_keys"], json!([]));

    // Names are unique per user.
    let dup = app
        .client
        .patch(app.url(&format!("/api/v1/connectors/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "linear"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    assert_eq!(create(&app, &token, local("linear")).await.status(), 409);

    let del = app
        .client
        .delete(app.url(&format!("/api/v1/connectors/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let gone = app
        .client
        .get(app.url(&format!("/api/v1/connectors/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/connectors/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[actix_web::test]
async fn another_users_connector_is_not_found() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.user_with_token("owner").await;
    let (_, other) = app.user_with_token("other").await;
    let c = json(create(&app, &owner, remote("notion")).await, 201).await;
    let id = c["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/connectors/{id}"));
    assert_eq!(app.client.get(&url).bearer_auth(&other).send().await.unwrap().status(), 404);
    assert_eq!(
        app.client
            .patch(&url)
            .bearer_auth(&other)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(app.client.delete(&url).bearer_auth(&other).send().await.unwrap().status(), 404);
    let theirs = json(
        app.client.get(app.url("/api/v1/connectors")).bearer_auth(&other).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(theirs, json!([]));
    // The same name is fine for another user.
    json(create(&app, &other, remote("notion")).await, 201).await;
    // Unauthenticated.
    assert_eq!(app.client.get(app.url("/api/v1/connectors")).send().await.unwrap().status(), 401);
    // Still the owner's, unchanged.
    let got = json(app.client.get(&url).bearer_auth(&owner).send().await.unwrap(), 200).await;
    assert_eq!(got["enabled"], true);
}

#[actix_web::test]
async fn invalid_connectors_are_rejected_field_by_field() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("val").await;
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"name": "has space", "type": "local", "command": "x"}), &["name"]),
        (json!({"name": "", "type": "remote", "url": "https://x.test/mcp"}), &["name"]),
        (json!({"name": "a", "type": "local"}), &["command"]),
        (json!({"name": "a", "type": "remote"}), &["url"]),
        (json!({"name": "a", "type": "remote", "url": "ftp://x.test"}), &["url"]),
        (
            json!({"name": "a", "type": "remote", "url": "https://x.test", "command": "x", "env": {"K": "v"}}),
            &["command", "env"],
        ),
        (
            json!({"name": "a", "type": "local", "command": "x", "url": "https://x.test", "headers": {"A": "b"}}),
            &["headers", "url"],
        ),
        (json!({"name": "a", "type": "local", "command": "x", "env": {"1BAD": "v"}}), &["env"]),
        (
            json!({"name": "a", "type": "remote", "url": "https://x.test", "headers": {"Bad Header": "v"}}),
            &["headers"],
        ),
        (
            json!({"name": "a", "type": "remote", "url": "https://x.test", "headers": {"X": "a\r\nb"}}),
            &["headers"],
        ),
    ];
    for (body, fields) in cases {
        let res = create(&app, &token, body.clone()).await;
        let problem = json(res, 422).await;
        spec::assert_valid("post", "/api/v1/connectors", 422, &problem);
        let errors = problem["errors"].as_object().unwrap_or_else(|| panic!("{problem}"));
        let mut got: Vec<&str> = errors.keys().map(String::as_str).collect();
        got.sort_unstable();
        assert_eq!(got, fields, "{body} -> {problem}");
    }
    // Unknown type or unknown field: a field-level 422, like every data error.
    let res =
        create(&app, &token, json!({"name": "a", "type": "ws", "url": "https://x.test"})).await;
    assert_eq!(res.status(), 422);
    let res = create(
        &app,
        &token,
        json!({"name": "a", "type": "remote", "url": "https://x.test", "secret": 1}),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        json(
            app.client.get(app.url("/api/v1/connectors")).bearer_auth(&token).send().await.unwrap(),
            200
        )
        .await,
        json!([])
    );
}

#[actix_web::test]
async fn presets_cover_the_reference_set() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("pre").await;
    let presets = json(
        app.client
            .get(app.url("/api/v1/connectors/presets"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/connectors/presets", 200, &presets);
    let titles: Vec<&str> =
        presets.as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap()).collect();
    for t in [
        "Context7",
        "Playwright",
        "Linear",
        "Notion",
        "Supabase",
        "Figma",
        "Hugging Face",
        "Browserbase",
        "Convex",
    ] {
        assert!(titles.contains(&t), "{t} missing from {titles:?}");
    }
    let bb = presets.as_array().unwrap().iter().find(|p| p["id"] == "browserbase").unwrap();
    assert_eq!(bb["type"], "local");
    assert_eq!(bb["env_keys"], json!(["BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID"]));
    // A preset, completed with the user's secrets, is a valid connector.
    for p in presets.as_array().unwrap() {
        let mut body = json!({"name": p["name"], "type": p["type"]});
        if p["type"] == "local" {
            body["command"] = p["command"].clone();
            body["args"] = p["args"].clone();
            body["env"] = p["env_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| (k.as_str().unwrap().to_owned(), json!("v")))
                .collect::<serde_json::Map<_, _>>()
                .into();
        } else {
            body["url"] = p["url"].clone();
            body["headers"] = p["header_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| (k.as_str().unwrap().to_owned(), json!("v")))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        json(create(&app, &token, body).await, 201).await;
    }
    assert_eq!(
        app.client.get(app.url("/api/v1/connectors/presets")).send().await.unwrap().status(),
        401
    );
}

#[actix_web::test]
async fn tasks_take_only_the_callers_enabled_connectors() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("tc").await;
    let (_, other) = app.user_with_token("tc2").await;
    let mine = json(create(&app, &token, remote("mine")).await, 201).await;
    let off = json(
        create(
            &app,
            &token,
            json!({"name": "off", "type": "remote", "url": "https://x.test/mcp", "enabled": false}),
        )
        .await,
        201,
    )
    .await;
    let theirs = json(create(&app, &other, remote("theirs")).await, 201).await;
    let task = |ids: Vec<&Value>| json!({"repo_url": "https://git.example/a/b.git", "prompt": "x", "agent": "claude", "connector_ids": ids});
    let post = |body: Value| {
        app.client.post(app.url("/api/v1/tasks")).bearer_auth(&token).json(&body).send()
    };

    let created = json(post(task(vec![&mine["id"]])).await.unwrap(), 201).await;
    assert_eq!(created["connector_ids"], json!([mine["id"]]), "the task says which it uses");
    for (ids, needle) in [
        (vec![&theirs["id"]], "not one of your connectors"),
        (vec![&off["id"]], "disabled"),
        (vec![&mine["id"], &mine["id"]], "twice"),
    ] {
        let problem = json(post(task(ids)).await.unwrap(), 422).await;
        let reasons = problem["errors"]["connector_ids"].to_string();
        assert!(reasons.contains(needle), "{problem}");
    }
    let random = json!(uuid::Uuid::new_v4());
    let problem = json(post(task(vec![&random])).await.unwrap(), 422).await;
    assert!(problem["errors"]["connector_ids"].is_array(), "{problem}");
}
