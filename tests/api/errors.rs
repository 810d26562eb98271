use crate::support::{json, spec, TestApp};

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("bad").await;
    let res = app
        .client
        .post(app.url("/api/v1/me/tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = json(res, 400).await;
    spec::assert_valid("post", "/api/v1/me/tokens", 400, &body);
    assert!(body["detail"].as_str().unwrap().contains("Malformed JSON"));
}

#[actix_web::test]
async fn unknown_and_missing_fields_name_the_field() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("fields").await;
    let post = |body: serde_json::Value| {
        app.client.post(app.url("/api/v1/me/tokens")).bearer_auth(&token).json(&body).send()
    };
    let body = json(
        post(serde_json::json!({"name": "x", "id": "00000000-0000-0000-0000-000000000000"}))
            .await
            .unwrap(),
        422,
    )
    .await;
    spec::assert_valid("post", "/api/v1/me/tokens", 422, &body);
    assert!(body["errors"]["id"][0].as_str().unwrap().contains("not a known field"), "{body}");
    let body = json(post(serde_json::json!({})).await.unwrap(), 422).await;
    assert_eq!(body["errors"]["name"][0], "is required");
    let body = json(post(serde_json::json!({"name": ""})).await.unwrap(), 422).await;
    assert!(body["errors"]["name"].is_array());
    // Nothing was created by the rejected requests.
    let list = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::spawn_with("max_body_bytes = 1024\n").await;
    let (_, token) = app.user_with_token("big").await;
    let name = "x".repeat(4096);
    let res = app
        .client
        .post(app.url("/api/v1/me/tokens"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": name}))
        .send()
        .await
        .unwrap();
    let body = json(res, 413).await;
    assert_eq!(body["status"], 413);
}

#[actix_web::test]
async fn unknown_routes_are_problem_404s() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = json(res, 404).await;
    assert_eq!(body["detail"], drydock_api::error::NO_SUCH_ROUTE);
}

#[actix_web::test]
async fn nul_characters_are_a_400_problem_not_a_server_error() {
    // PostgreSQL cannot store U+0000; the schemathesis run found it as a 500 on token names.
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("nul").await;
    let res = app
        .client
        .post(app.url("/api/v1/me/tokens"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "lap\u{0}top"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = json(res, 400).await;
    spec::assert_valid("post", "/api/v1/me/tokens", 400, &body);
    assert!(body["detail"].as_str().unwrap().contains("NUL"), "{body}");
    assert!(body.get("request_id").is_none(), "a client error, not an internal one: {body}");
    let list = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing was created");
}
