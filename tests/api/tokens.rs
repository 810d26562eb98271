use serde_json::json;

use crate::support::{json, spec, TestApp};

#[actix_web::test]
async fn create_list_use_and_revoke_a_token() {
    let app = TestApp::spawn().await;
    let (_, bootstrap) = app.user_with_token("tess").await;
    let created = json(
        app.client
            .post(app.url("/api/v1/me/tokens"))
            .bearer_auth(&bootstrap)
            .json(&json!({"name": "ci"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    spec::assert_valid("post", "/api/v1/me/tokens", 201, &created);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dd_") && secret.starts_with(created["prefix"].as_str().unwrap()));

    let me =
        json(app.client.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap(), 200)
            .await;
    spec::assert_valid("get", "/api/v1/me", 200, &me);
    assert_eq!(me["username"], "tess");
    assert!(me.get("csrf_token").is_none(), "token-authenticated requests need no CSRF token");

    let list = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&secret).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/me/tokens", 200, &list);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(!list.to_string().contains(&secret), "the secret is shown once only");
    let ci = items.iter().find(|t| t["name"] == "ci").unwrap();
    assert!(ci["last_used_at"].is_string(), "use is recorded");

    let id = created["id"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&bootstrap)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app.client.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    let body = json(res, 401).await;
    spec::assert_valid("get", "/api/v1/me", 401, &body);
}

#[actix_web::test]
async fn missing_and_forged_tokens_are_401() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("fred").await;
    assert_eq!(app.client.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
    let forged = format!("{}x", token);
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).bearer_auth(forged).send().await.unwrap().status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/me"))
            .header("authorization", "Basic abc")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[actix_web::test]
async fn another_users_token_is_404() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.user_with_token("alice").await;
    let (_, bob) = app.user_with_token("bob").await;
    let bobs = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&bob).send().await.unwrap(),
        200,
    )
    .await;
    let bob_token_id = bobs["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/tokens/{bob_token_id}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let body = json(res, 404).await;
    spec::assert_valid("delete", "/api/v1/me/tokens/{id}", 404, &body);
    let alices = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&alice).send().await.unwrap(),
        200,
    )
    .await;
    assert!(!alices.to_string().contains(&bob_token_id));
    // Bob's token still works.
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).bearer_auth(&bob).send().await.unwrap().status(),
        200
    );
}

async fn mint(app: &TestApp, with: &str, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/me/tokens"))
        .bearer_auth(with)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn scopes_bound_what_a_token_may_do_and_mint() {
    let app = TestApp::spawn().await;
    // An operator's token (`drydock token create`) has every scope.
    let (_, full) = app.user_with_token("sam").await;
    let made =
        json(mint(&app, &full, json!({"name": "reader", "scopes": ["read"]})).await, 201).await;
    assert_eq!(made["scopes"], json!(["read"]));
    let reader = made["secret"].as_str().unwrap().to_owned();
    let plain = json(mint(&app, &full, json!({"name": "default"})).await, 201).await;
    assert_eq!(plain["scopes"], json!(["read", "write"]), "minting is not granted by default");
    let default = plain["secret"].as_str().unwrap().to_owned();

    // Read-only: safe requests pass, changes do not.
    let me = app.client.get(app.url("/api/v1/me")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let put = app
        .client
        .put(app.url("/api/v1/me/keys/anthropic"))
        .bearer_auth(&reader)
        .json(&json!({"value": "sk-ant-x"}))
        .send()
        .await
        .unwrap();
    let body = json(put, 403).await;
    assert!(body["detail"].as_str().unwrap().contains("`write`"), "{body}");

    // Without `tokens`, no minting: a leaked CI token cannot make itself a successor.
    let body = json(mint(&app, &default, json!({"name": "child"})).await, 403).await;
    spec::assert_valid("post", "/api/v1/me/tokens", 403, &body);
    assert!(body["detail"].as_str().unwrap().contains("`tokens`"), "{body}");

    // With `tokens`, a token mints only within its own scopes and lifetime.
    let expires = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let minter = json(
        mint(
            &app,
            &full,
            json!({"name": "minter", "scopes": ["read", "tokens"], "expires_at": expires}),
        )
        .await,
        201,
    )
    .await;
    let minter = minter["secret"].as_str().unwrap().to_owned();
    let body =
        json(mint(&app, &minter, json!({"name": "escalate", "scopes": ["write"]})).await, 403)
            .await;
    assert!(body["detail"].as_str().unwrap().contains("`write`"), "{body}");
    let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    json(
        mint(&app, &minter, json!({"name": "outlive", "scopes": ["read"], "expires_at": later}))
            .await,
        422,
    )
    .await;
    let child =
        json(mint(&app, &minter, json!({"name": "child", "scopes": ["read"]})).await, 201).await;
    assert!(
        child["expires_at"].is_string(),
        "a minted token inherits its parent's expiry: {child}"
    );
}

#[actix_web::test]
async fn an_expired_token_is_401_and_unlisted() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::api_tokens;
    let app = TestApp::spawn().await;
    let (_, full) = app.user_with_token("eli").await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    json(mint(&app, &full, json!({"name": "old", "expires_at": past})).await, 422).await;
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let made =
        json(mint(&app, &full, json!({"name": "soon", "expires_at": soon})).await, 201).await;
    spec::assert_valid("post", "/api/v1/me/tokens", 201, &made);
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().status(),
        200
    );
    let mut conn = app.pool.get().await.unwrap();
    let id: uuid::Uuid = made["id"].as_str().unwrap().parse().unwrap();
    app.behind_the_back(
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(&mut conn),
    )
    .await
    .unwrap();
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().status(),
        401
    );
    let list = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&full).send().await.unwrap(),
        200,
    )
    .await;
    assert!(!list.to_string().contains(&id.to_string()), "expired tokens are not listed");
}

#[actix_web::test]
async fn token_creation_is_throttled() {
    let app = TestApp::spawn_with("[auth]\nattempts_burst = 3\nattempts_per_minute = 1\n").await;
    let (_, full) = app.user_with_token("tim").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(mint(&app, &full, json!({"name": format!("t{i}")})).await.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);
}
