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
