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

/// Five attempts, then one a minute. The tests send their attempts at once, so what gets
/// through depends on the count alone, never on how fast the machine hashes passwords.
const STRICT: &str = "[auth]\nattempts_burst = 5\nattempts_per_minute = 1\n";

/// Three attempts, then one a second: a lockout that ends within a test.
const BRIEF: &str = "[auth]\nattempts_burst = 3\nattempts_per_minute = 60\n";

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    login_from(app, None, username, password).await
}

async fn login_from(
    app: &TestApp,
    forwarded_for: Option<String>,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let mut req = client(false).post(app.url("/api/v1/auth/login"));
    if let Some(address) = forwarded_for {
        req = req.header("x-forwarded-for", address);
    }
    req.json(&json!({"username": username, "password": password})).send().await.unwrap()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

/// Statuses of `n` logins sent at once; `attempt(i)` gives (X-Forwarded-For, username).
async fn burst(
    app: &TestApp,
    n: usize,
    attempt: impl Fn(usize) -> (Option<String>, String),
) -> Vec<reqwest::Response> {
    let attempts: Vec<_> = (0..n).map(&attempt).collect();
    futures_util::future::join_all(
        attempts
            .iter()
            .map(|(address, user)| login_from(app, address.clone(), user, "guess-guess")),
    )
    .await
}

fn count(responses: &[reqwest::Response], status: u16) -> usize {
    responses.iter().filter(|r| r.status() == status).count()
}

#[actix_web::test]
async fn forty_wrong_passwords_get_five_checks_and_thirty_five_429s() {
    let app = TestApp::spawn_with(STRICT).await;
    app.create_user("walt", "password123", false).await;
    let responses = burst(&app, 40, |_| (None, "walt".to_owned())).await;
    assert_eq!((count(&responses, 401), count(&responses, 429)), (5, 35));
    for res in responses.into_iter().filter(|r| r.status() == 429) {
        let wait = retry_after(&res);
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let body = json(res, 429).await;
        spec::assert_valid("post", "/api/v1/auth/login", 429, &body);
        assert!(body["reset_at"].is_string(), "{body}");
    }
    // Throttled attempts never reach the password check, right password or not.
    assert_eq!(login(&app, "walt", "password123").await.status(), 429);
}

#[actix_web::test]
async fn the_right_password_works_once_the_lockout_window_has_passed() {
    let app = TestApp::spawn_with(BRIEF).await;
    app.create_user("walt", "password123", false).await;
    let responses = burst(&app, 10, |_| (None, "walt".to_owned())).await;
    let limited: Vec<_> = responses.iter().filter(|r| r.status() == 429).collect();
    assert!(!limited.is_empty(), "ten guesses at once are throttled");
    let mut wait = limited.iter().map(|r| retry_after(r)).max().unwrap_or(1);
    let mut status = 0;
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        let res = login(&app, "walt", "password123").await;
        status = res.status().as_u16();
        if status != 429 {
            break;
        }
        wait = retry_after(&res);
    }
    assert_eq!(status, 200, "after waiting Retry-After, the right password gets in");
}

#[actix_web::test]
async fn a_forged_forwarded_for_does_not_dodge_the_throttle() {
    // Without trust_proxy anyone can send X-Forwarded-For: it must not pick the throttle key.
    let app = TestApp::spawn_with(STRICT).await;
    let responses =
        burst(&app, 12, |i| (Some(format!("198.51.100.{i}")), format!("user{i}"))).await;
    assert_eq!(count(&responses, 429), 7, "rotating X-Forwarded-For dodged the per-address limit");

    // Behind a trusted proxy, one account is still limited however many addresses try it...
    let app = TestApp::spawn_with(&format!("trust_proxy = true\n{STRICT}")).await;
    let responses = burst(&app, 12, |i| (Some(format!("198.51.100.{i}")), "walt".to_owned())).await;
    assert_eq!(
        count(&responses, 429),
        7,
        "spreading guesses over addresses dodged the per-account limit"
    );
    // ...and the proxy's clients are told apart: another address may still try other accounts.
    let res = login_from(&app, Some("203.0.113.5".into()), "someone", "guess-guess").await;
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn setup_token_guessing_is_throttled() {
    let app = TestApp::spawn_with(STRICT).await;
    let guesses = (0..12).map(|_| {
        client(false)
            .post(app.url("/api/v1/auth/setup"))
            .json(&json!({"setup_token": "guess", "username": "root", "password": "longpassword"}))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 5, "{statuses:?}");
}

/// Makes `id` an administrator and returns a token of theirs.
async fn promote(app: &TestApp, username: &str) -> (uuid::Uuid, String) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::users;
    let (id, token) = app.user_with_token(username).await;
    let mut conn = app.pool.get().await.unwrap();
    diesel::update(users::table.find(id))
        .set(users::is_admin.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    (id, token)
}

#[actix_web::test]
async fn a_disabled_user_is_shut_out_at_once_and_let_back_in_when_enabled() {
    let app = TestApp::spawn().await;
    let (_, admin) = promote(&app, "ada").await;
    let (browser, _) = app.browser_session("dan").await;
    let mut conn = app.pool.get().await.unwrap();
    let dan =
        drydock_api::accounts::model::find_by_username(&mut conn, "dan").await.unwrap().unwrap().id;
    let (_, dans_token) =
        drydock_api::tokens::model::create(&mut conn, dan, "script").await.unwrap();
    drop(conn);
    let me =
        |token: &str| app.client.get(app.url("/api/v1/me")).bearer_auth(token.to_owned()).send();
    assert_eq!(me(&dans_token).await.unwrap().status(), 200);

    let users = json(
        app.client.get(app.url("/api/v1/admin/users")).bearer_auth(&admin).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/admin/users", 200, &users);
    assert_eq!(users["items"].as_array().unwrap().len(), 2);
    // Not an administrator: the admin API is closed to them.
    let res = app.client.get(app.url("/api/v1/admin/users")).bearer_auth(&dans_token).send().await;
    assert_eq!(res.unwrap().status(), 403);

    let patch = |body: serde_json::Value, who: uuid::Uuid| {
        app.client
            .patch(app.url(&format!("/api/v1/admin/users/{who}")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let changed = json(patch(json!({"disabled": true}), dan).await.unwrap(), 200).await;
    spec::assert_valid("patch", "/api/v1/admin/users/{id}", 200, &changed);
    assert_eq!(changed["disabled"], true);
    assert_eq!(me(&dans_token).await.unwrap().status(), 401, "the token stopped working");
    assert_eq!(
        browser.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401,
        "the session too"
    );
    assert_eq!(login(&app, "dan", "password123").await.status(), 401, "and signing in");

    json(patch(json!({"disabled": false}), dan).await.unwrap(), 200).await;
    assert_eq!(me(&dans_token).await.unwrap().status(), 200, "re-enabled, the token works again");
    assert_eq!(login(&app, "dan", "password123").await.status(), 200);

    // Making and removing administrators; the last one stays.
    let made = json(patch(json!({"is_admin": true}), dan).await.unwrap(), 200).await;
    assert_eq!(made["is_admin"], true);
    assert_eq!(me(&dans_token).await.unwrap().status(), 200);
    json(patch(json!({"is_admin": false}), dan).await.unwrap(), 200).await;
    let ada = users["items"][0]["id"].as_str().unwrap().parse().unwrap();
    let body = json(patch(json!({"is_admin": false}), ada).await.unwrap(), 409).await;
    assert!(body["detail"].as_str().unwrap().contains("last active administrator"), "{body}");
    json(patch(json!({"disabled": true}), ada).await.unwrap(), 409).await;
}

#[actix_web::test]
async fn an_invitation_makes_one_local_account() {
    let app = TestApp::spawn().await;
    let (_, admin) = promote(&app, "ada").await;
    let invite = json(
        app.client
            .post(app.url("/api/v1/admin/invites"))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let token = invite["token"].as_str().unwrap();
    let accept = |username: &'static str, token: String| {
        client(true)
            .post(app.url("/api/v1/auth/invite"))
            .json(&json!({"invite_token": token, "username": username, "password": "longpassword"}))
            .send()
    };
    // A taken username is a field error, and leaves the invitation usable.
    let body = json(accept("ada", token.to_owned()).await.unwrap(), 422).await;
    assert!(body["errors"]["username"].is_array(), "{body}");
    let me = json(accept("ivy", token.to_owned()).await.unwrap(), 201).await;
    spec::assert_valid("post", "/api/v1/auth/invite", 201, &me);
    assert_eq!((me["username"].as_str(), me["is_admin"].as_bool()), (Some("ivy"), Some(false)));
    let again = json(accept("ivy2", token.to_owned()).await.unwrap(), 403).await;
    spec::assert_valid("post", "/api/v1/auth/invite", 403, &again);
    json(accept("eve", "forged".into()).await.unwrap(), 403).await;
}

#[actix_web::test]
async fn the_setup_link_outlives_accounts_made_before_any_administrator() {
    // Open registration let someone in first: they are no administrator, and the setup
    // link still makes one.
    let app = TestApp::spawn().await;
    app.create_user("early", "password123", false).await;
    let token = {
        let mut conn = app.pool.get().await.unwrap();
        drydock_api::auth::setup::issue_if_needed(&mut conn).await.unwrap().unwrap()
    };
    let res = client(true)
        .post(app.url("/api/v1/auth/setup"))
        .json(&json!({"setup_token": token, "username": "root", "password": "longpassword"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 201).await["is_admin"], true);
}

/// The session key of a `drydock_session=...` cookie pair (signed: a 44-character MAC first).
fn session_key(pair: &str) -> String {
    let value = pair.split_once('=').unwrap().1;
    let value = urlencoding_decode(value);
    value[44..].to_owned()
}

fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().unwrap().1.into_owned()
}

#[actix_web::test]
async fn sessions_are_stored_hashed_and_end_when_idle_or_too_old() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::sessions;
    let app = TestApp::spawn().await;
    app.create_user("sid", "password123", false).await;
    let res = login(&app, "sid", "password123").await;
    let pair = set_cookie(&res).split(';').next().unwrap().to_owned();
    assert_eq!(res.status(), 200);
    let key = session_key(&pair);
    let mut conn = app.pool.get().await.unwrap();
    let rows: Vec<(Vec<u8>, serde_json::Value)> = sessions::table
        .select((sessions::key_hash, sessions::state))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    use sha2::Digest;
    assert_eq!(rows[0].0, sha2::Sha256::digest(key.as_bytes()).to_vec(), "found by the key's hash");
    assert!(!rows[0].1.to_string().contains(&key), "the key itself is nowhere in the row");

    let get_me = || client(false).get(app.url("/api/v1/me")).header("cookie", &pair).send();
    assert_eq!(get_me().await.unwrap().status(), 200);
    // Older than session_ttl_hours: over, however recently used.
    let aged = chrono::Utc::now() - chrono::Duration::hours(app.settings.session_ttl_hours + 1);
    app.behind_the_back(
        diesel::update(sessions::table).set(sessions::created_at.eq(aged)).execute(&mut conn),
    )
    .await
    .unwrap();
    assert_eq!(get_me().await.unwrap().status(), 401);

    // Idle past its deadline: over too.
    let res = login(&app, "sid", "password123").await;
    let pair = set_cookie(&res).split(';').next().unwrap().to_owned();
    let get_me = || client(false).get(app.url("/api/v1/me")).header("cookie", &pair).send();
    assert_eq!(get_me().await.unwrap().status(), 200);
    let idle = chrono::Utc::now() - chrono::Duration::seconds(1);
    app.behind_the_back(
        diesel::update(sessions::table).set(sessions::expires_at.eq(idle)).execute(&mut conn),
    )
    .await
    .unwrap();
    assert_eq!(get_me().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn the_idle_deadline_moves_with_use() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::db::schema::sessions;
    let app = TestApp::spawn_with("session_idle_minutes = 30\n").await;
    app.create_user("ida", "password123", false).await;
    let res = login(&app, "ida", "password123").await;
    let cookie = set_cookie(&res);
    assert!(cookie.contains("Max-Age=1800"), "the cookie lives for the idle window: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let mut conn = app.pool.get().await.unwrap();
    // Pretend the session was last used 20 minutes ago: 10 minutes left.
    let soon = chrono::Utc::now() + chrono::Duration::minutes(10);
    diesel::update(sessions::table)
        .set(sessions::expires_at.eq(soon))
        .execute(&mut conn)
        .await
        .unwrap();
    let res =
        client(false).get(app.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let deadline: chrono::DateTime<chrono::Utc> =
        sessions::table.select(sessions::expires_at).first(&mut conn).await.unwrap();
    assert!(deadline > soon + chrono::Duration::minutes(15), "using it renewed the deadline");
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let web = tempfile::tempdir().unwrap();
    let inline = "\n  boot();\n";
    std::fs::write(
        web.path().join("index.html"),
        format!("<html><head><script type=\"module\">{inline}</script><script src=\"/app.js\"></script></head></html>"),
    )
    .unwrap();
    let app = TestApp::spawn_with(&format!("web_dir = \"{}\"\n", web.path().display())).await;
    let res = client(false).get(app.url("/api/v1/auth/methods")).send().await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");

    let res = client(false).get(app.url("/tasks/123")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inline));
    assert!(
        csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains(" 'unsafe-eval'"), "{csp}");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}

#[actix_web::test]
async fn cookies_are_secure_behind_a_trusted_tls_proxy_only() {
    for (trust, secure) in [(false, false), (true, true)] {
        let app = TestApp::spawn_with(&format!("trust_proxy = {trust}\n")).await;
        app.create_user("pia", "password123", false).await;
        let res = client(false)
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-proto", "https")
            .json(&json!({"username": "pia", "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = set_cookie(&res);
        assert_eq!(cookie.contains("Secure"), secure, "trust_proxy = {trust}: {cookie}");
    }
}

#[actix_web::test]
async fn still_valid_notices_sign_out_revocation_and_disabling() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use drydock_api::auth::{check_still_valid, AuthVia, CurrentUser};
    use drydock_api::db::schema::{api_tokens, sessions};
    let app = TestApp::spawn().await;
    let (browser, csrf) = app.browser_session("val").await;
    let mut conn = app.pool.get().await.unwrap();
    let user =
        drydock_api::accounts::model::find_by_username(&mut conn, "val").await.unwrap().unwrap();
    let session_id: Option<uuid::Uuid> =
        sessions::table.select(sessions::id).first(&mut conn).await.unwrap();
    let lifetime = chrono::Duration::hours(app.settings.session_ttl_hours);
    let by_session = CurrentUser {
        id: user.id,
        user: user.clone(),
        via: AuthVia::Session { csrf: csrf.clone(), session_id: session_id.unwrap() },
    };
    let (row, _) = drydock_api::tokens::model::create(&mut conn, user.id, "stream").await.unwrap();
    let by_token = CurrentUser {
        id: user.id,
        user: user.clone(),
        via: AuthVia::Token { token_id: row.id, scopes: vec![], expires_at: None },
    };
    assert!(check_still_valid(&mut conn, lifetime, &by_session).await.unwrap());
    assert!(check_still_valid(&mut conn, lifetime, &by_token).await.unwrap());

    drydock_api::accounts::model::set_disabled(&mut conn, user.id, true).await.unwrap();
    assert!(!check_still_valid(&mut conn, lifetime, &by_token).await.unwrap(), "disabled");
    drydock_api::accounts::model::set_disabled(&mut conn, user.id, false).await.unwrap();
    assert!(
        !check_still_valid(&mut conn, lifetime, &by_session).await.unwrap(),
        "disabling ended the session"
    );
    assert!(check_still_valid(&mut conn, lifetime, &by_token).await.unwrap(), "enabled again");

    diesel::update(api_tokens::table.find(row.id))
        .set(api_tokens::revoked_at.eq(chrono::Utc::now()))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!check_still_valid(&mut conn, lifetime, &by_token).await.unwrap(), "revoked");

    // A session that signs out.
    let res = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "val", "password": "password123"}))
        .send()
        .await
        .unwrap();
    let me = json(res, 200).await;
    let session_id: uuid::Uuid = sessions::table
        .select(sessions::id)
        .first::<Option<uuid::Uuid>>(&mut conn)
        .await
        .unwrap()
        .unwrap();
    let by_session = CurrentUser {
        id: user.id,
        user,
        via: AuthVia::Session { csrf: String::new(), session_id },
    };
    assert!(check_still_valid(&mut conn, lifetime, &by_session).await.unwrap());
    let out = browser
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", me["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(!check_still_valid(&mut conn, lifetime, &by_session).await.unwrap(), "signed out");
}
