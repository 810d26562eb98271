use crate::support::{json, spec, TestApp};

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let body = json(app.client.get(app.url("/healthz")).send().await.unwrap(), 200).await;
    spec::assert_valid("get", "/healthz", 200, &body);
    let body = json(app.client.get(app.url("/readyz")).send().await.unwrap(), 200).await;
    assert_eq!(body["status"], "ok");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("metrics").await;
    app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("drydock_http_requests_total{")
            && l.contains("route=\"/api/v1/me\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(text.contains("drydock_http_request_duration_seconds_bucket"), "{text}");
}

#[actix_web::test]
async fn an_exhausted_pool_answers_503_with_only_a_request_id() {
    let app = TestApp::spawn_with("[database]\npool_size = 1\npool_timeout_ms = 200\nconnect_timeout_ms = 2000\nstatement_timeout_ms = 5000\n").await;
    let (_, token) = app.user_with_token("busy").await;
    let held = app.pool.get().await.unwrap();
    let res = app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    let request_id = res.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let body = json(res, 503).await;
    assert_eq!(body["request_id"], request_id);
    assert_eq!(body["status"], 503);
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("pool") && !text.contains("diesel") && !text.contains("timeout"),
        "{body}"
    );
    drop(held);
    json(app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap(), 200)
        .await;
}

#[actix_web::test]
async fn a_database_that_is_down_makes_readyz_503_without_hanging() {
    let url = "postgres://postgres@127.0.0.1:1/none";
    let data = tempfile::tempdir().unwrap();
    let settings = drydock_api::config::Settings::from_toml(&format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\nmaster_key = \"{}\"\ndata_dir = \"{}\"\n[database]\npool_size = 2\npool_timeout_ms = 500\nconnect_timeout_ms = 500\nstatement_timeout_ms = 1000\n",
        crate::support::TEST_MASTER_KEY,
        data.path().display()
    ))
    .unwrap();
    let pool = drydock_api::db::build_pool(url, &settings.database).unwrap();
    let secrets =
        drydock_api::crypto::SecretBox::from_config(settings.master_key.as_ref().unwrap(), &[])
            .unwrap();
    let hub = drydock_api::events::hub::Hub::start(url.to_owned());
    let sandbox = drydock_api::sandboxes::build(&settings).unwrap();
    let app =
        drydock_api::startup::Application::build(settings, pool, secrets, hub, sandbox).unwrap();
    let readyz = format!("http://127.0.0.1:{}/readyz", app.port());
    actix_web::rt::spawn(app.into_server());
    let started = std::time::Instant::now();
    let body = json(crate::support::client(false).get(readyz).send().await.unwrap(), 503).await;
    assert!(body["request_id"].is_string(), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "it must not hang");
}
