use serde_json::{json, Value};

use crate::support::{client, json, spec, TestApp};

fn set_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_web::test]
async fn first_run_setup_creates_an_admin_once() {
    let app = TestApp::spawn().await;
    let methods =
        json(app.client.get(app.url("/api/v1/auth/methods")).send().await.unwrap(), 200).await;
    spec::assert_valid("get", "/api/v1/auth/methods", 200, &methods);
    assert_eq!(methods["setup_required"], true);
    let token = {
        let mut conn = app.pool.get().await.unwrap();
        drydock_api::auth::setup::issue_if_needed(&mut conn).await.unwrap().unwrap()
    };
    let browser = client(true);
    let wrong = browser
        .post(app.url("/api/v1/auth/setup"))
        .json(&json!({"setup_token": "nope", "username": "root", "password": "longpassword"}))
        .send()
        .await
        .unwrap();
    json(wrong, 403).await;
    let weak = browser
        .post(app.url("/api/v1/auth/setup"))
        .json(&json!({"setup_token": token, "username": "root", "password": "short"}))
        .send()
        .await
        .unwrap();
    let body = json(weak, 422).await;
    assert!(body["errors"]["password"].is_array());
    let res = browser
        .post(app.url("/api/v1/auth/setup"))
        .json(&json!({"setup_token": token, "username": "root", "password": "longpassword"}))
        .send()
        .await
        .unwrap();
    let me = json(res, 201).await;
    spec::assert_valid("post", "/api/v1/auth/setup", 201, &me);
    assert_eq!(me["is_admin"], true);
    let again = browser
        .post(app.url("/api/v1/auth/setup"))
        .json(&json!({"setup_token": token, "username": "root2", "password": "longpassword"}))
        .send()
        .await
        .unwrap();
    json(again, 403).await;
    let methods =
        json(app.client.get(app.url("/api/v1/auth/methods")).send().await.unwrap(), 200).await;
    assert_eq!(methods["setup_required"], false);
}

#[actix_web::test]
async fn login_sets_a_hardened_cookie_and_logout_destroys_the_session() {
    let app = TestApp::spawn().await;
    app.create_user("lena", "password123", false).await;
    let res = client(false)
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "lena", "password": "password123"}))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&res);
    assert!(cookie.contains("drydock_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not set Secure: {cookie}");
    let me: Value = json(res, 200).await;
    spec::assert_valid("post", "/api/v1/auth/login", 200, &me);
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let pair = cookie.split(';').next().unwrap().to_owned();

    // The raw cookie works until logout, and never again after it.
    let get_me = || client(false).get(app.url("/api/v1/me")).header("cookie", &pair).send();
    assert_eq!(get_me().await.unwrap().status(), 200);
    let out = client(false)
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(get_me().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with("public_url = \"https://drydock.example\"\n").await;
    app.create_user("sam", "password123", false).await;
    let res = client(false)
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://drydock.example")
        .json(&json!({"username": "sam", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res).contains("Secure"));
}

#[actix_web::test]
async fn wrong_credentials_do_not_say_which_part_was_wrong() {
    let app = TestApp::spawn().await;
    app.create_user("walt", "password123", false).await;
    let attempt = |username: &'static str, password: &'static str| {
        client(false)
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
    };
    let wrong_password = json(attempt("walt", "nope-nope").await.unwrap(), 401).await;
    let no_user = json(attempt("nobody", "password123").await.unwrap(), 401).await;
    assert_eq!(wrong_password, no_user);
    spec::assert_valid("post", "/api/v1/auth/login", 401, &no_user);
}

#[actix_web::test]
async fn cookie_authenticated_changes_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let (browser, csrf) = app.browser_session("cara").await;
    let create = |csrf: Option<&str>| {
        let mut req =
            browser.post(app.url("/api/v1/me/tokens")).json(&json!({"name": "from browser"}));
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.send()
    };
    let body = json(create(None).await.unwrap(), 403).await;
    assert!(body["detail"].as_str().unwrap().contains("x-csrf-token"));
    json(create(Some("forged")).await.unwrap(), 403).await;
    json(create(Some(&csrf)).await.unwrap(), 201).await;
    // Safe methods need no token.
    json(browser.get(app.url("/api/v1/me/tokens")).send().await.unwrap(), 200).await;
}

#[actix_web::test]
async fn cors_allows_only_configured_origins_with_credentials() {
    let app = TestApp::spawn_with("cors_origins = [\"https://app.example\"]\n").await;
    let preflight = |origin: &'static str| {
        client(false)
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me/tokens"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-csrf-token")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert!(ok.status().is_success());
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let bad = preflight("https://evil.example").await.unwrap();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
    let simple = client(false)
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(simple.headers().get("access-control-allow-origin").is_none());
}
