//! Dev servers and previews: the create body's `dev_command`/`dev_port`, the dev-server and
//! preview routes (authorisation and errors), the one-time link, the reverse proxy over the
//! sandbox's ingress socket (HTTP and WebSocket), path and host forms.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::CookieStore;
use serde_json::{json, Value};

use crate::support::{finished, json, spec, TestApp};

async fn post(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

/// A task of `token`'s user; no worker runs it.
async fn idle_task(app: &TestApp, token: &str, extra: Value) -> String {
    let mut body = json!({"repo_url": "https://github.com/acme/app", "agent": "claude", "prompt": "hi", "keep_alive": true});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create_task(token, body).await["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn dev_command_and_dev_port_are_validated_on_create() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("dev-settings").await;
    for (body, field) in [
        (json!({"dev_port": 80}), "dev_port"),
        (json!({"dev_port": 3128}), "dev_port"),
        (json!({"dev_port": 70000}), "dev_port"),
        (json!({"dev_command": "  "}), "dev_command"),
        (json!({"dev_command": "a\nb"}), "dev_command"),
        (json!({"dev_command": "x".repeat(1001)}), "dev_command"),
    ] {
        let mut full =
            json!({"repo_url": "https://github.com/acme/app", "agent": "claude", "prompt": "hi"});
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        let res = app
            .client
            .post(app.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&full)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{body}");
        let problem = json(res, 422).await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    for bad in [json!(-1), json!("3000"), json!(1.5)] {
        let res = app
            .client
            .post(app.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"repo_url": "https://github.com/acme/app", "agent": "claude", "prompt": "hi", "dev_port": bad}))
            .send()
            .await
            .unwrap();
        assert!([400, 422].contains(&res.status().as_u16()), "{bad}: {}", res.status());
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let id = idle_task(&app, &token, json!({"dev_command": "node app.js", "dev_port": 4000})).await;
    let server =
        json(get(&app, &token, &format!("/api/v1/tasks/{id}/dev-server")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/dev-server", 200, &server);
    assert_eq!(server["state"], "stopped", "{server}");
    assert_eq!(
        (server["command"].as_str(), server["port"].as_u64()),
        (Some("node app.js"), Some(4000))
    );
}

#[actix_web::test]
async fn preview_and_dev_server_routes_are_the_owners_only() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.user_with_token("preview-owner").await;
    let (_, stranger) = app.user_with_token("preview-stranger").await;
    let id = idle_task(&app, &owner, json!({})).await;
    let routes = [
        ("post", format!("/api/v1/tasks/{id}/preview")),
        ("get", format!("/api/v1/tasks/{id}/dev-server")),
        ("post", format!("/api/v1/tasks/{id}/dev-server/start")),
        ("post", format!("/api/v1/tasks/{id}/dev-server/restart")),
        ("post", format!("/api/v1/tasks/{id}/dev-server/stop")),
    ];
    let unknown = uuid::Uuid::new_v4();
    for (method, path) in &routes {
        let call = |token: Option<&str>, path: &str| {
            let mut req = match *method {
                "get" => app.client.get(app.url(path)),
                _ => app.client.post(app.url(path)),
            };
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            req.send()
        };
        let res = call(None, path).await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path} without credentials");
        let res = call(Some(&stranger), path).await.unwrap();
        assert_eq!(res.status(), 404, "{method} {path} as another user");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let res = call(Some(&owner), &path.replace(&id, &unknown.to_string())).await.unwrap();
        assert_eq!(res.status(), 404, "{method} {path} of an unknown task");
        let res = call(Some(&owner), &path.replace(&id, "not-a-uuid")).await.unwrap();
        assert_eq!(res.status(), 404, "{method} {path} with a bad id");
    }
    // The owner, on a task without a live sandbox: nothing to start, said clearly.
    for action in ["start", "restart"] {
        let res = post(&app, &owner, &format!("/api/v1/tasks/{id}/dev-server/{action}")).await;
        let problem = json(res, 409).await;
        assert!(problem["detail"].as_str().unwrap().contains("no live sandbox"), "{problem}");
    }
    let stopped =
        json(post(&app, &owner, &format!("/api/v1/tasks/{id}/dev-server/stop")).await, 200).await;
    assert_eq!(stopped["state"], "stopped");
    let status =
        json(get(&app, &owner, &format!("/api/v1/tasks/{id}/dev-server")).await, 200).await;
    assert_eq!(status["state"], "stopped", "{status}");

    // A link is made; it opens once; without its cookie the preview refuses.
    let link = json(post(&app, &owner, &format!("/api/v1/tasks/{id}/preview")).await, 201).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/preview", 201, &link);
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&app.url(&format!("/preview/{id}/__drydock/login?token="))), "{url}");
    let first = app.client.get(url).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("drydock_preview="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains(&format!("Path=/preview/{id}/")),
        "{cookie}"
    );
    assert_eq!(first.headers()["location"], format!("/preview/{id}/"));
    let again = app.client.get(url).send().await.unwrap();
    assert_eq!(again.status(), 404, "a link works once");
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    let forged = app
        .client
        .get(app.url(&format!("/preview/{id}/__drydock/login?token=forged")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    let other = uuid::Uuid::new_v4();
    let link2 = json(post(&app, &owner, &format!("/api/v1/tasks/{id}/preview")).await, 201).await;
    let token2 = link2["url"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned();
    let elsewhere = app
        .client
        .get(app.url(&format!("/preview/{other}/__drydock/login?token={token2}")))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404, "a link is bound to its task");
    let bare = app.client.get(app.url(&format!("/preview/{id}/"))).send().await.unwrap();
    assert_eq!(bare.status(), 401, "no preview cookie");
    assert_eq!(bare.headers()["content-type"], "application/problem+json");
    let session_only = app
        .client
        .get(app.url(&format!("/preview/{id}/")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(session_only.status(), 401, "Drydock's own credentials do not open a preview");
    let redirect = app.client.get(app.url(&format!("/preview/{id}"))).send().await.unwrap();
    assert_eq!(
        (redirect.status().as_u16(), redirect.headers()["location"].to_str().unwrap()),
        (308, format!("/preview/{id}/").as_str())
    );
    let malformed = app.client.get(app.url("/preview/not-a-task/")).send().await.unwrap();
    assert_eq!(malformed.status(), 404);
    // A stranger cannot open the owner's link either (it is bound to the owner, who made it;
    // here the stranger only ever has their own 404s).
    let res = post(&app, &stranger, &format!("/api/v1/tasks/{id}/preview")).await;
    assert_eq!(res.status(), 404);
}

/// A kept-alive task on the tiny app: its dev server starts after the run.
async fn running_preview(app: &TestApp, token: &str) -> (String, fakes::git::BareRepo) {
    let repo = fakes::dev_app::repo();
    let task = app
        .create_task(token, json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "look around"}))
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    wait_dev_state(app, token, &id, "running").await;
    (id, repo)
}

async fn wait_dev_state(app: &TestApp, token: &str, id: &str, state: &str) -> Value {
    let started = Instant::now();
    loop {
        let server =
            json(get(app, token, &format!("/api/v1/tasks/{id}/dev-server")).await, 200).await;
        if server["state"] == state {
            return server;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "dev server never {state}: {server}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens a fresh link with a cookie-keeping client that follows redirects; returns the client,
/// its jar and the page.
async fn open_preview(
    app: &TestApp,
    token: &str,
    id: &str,
) -> (reqwest::Client, Arc<reqwest::cookie::Jar>, reqwest::Response) {
    let link = json(post(app, token, &format!("/api/v1/tasks/{id}/preview")).await, 201).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // The dev server may still be binding its port right after it started.
    let started = Instant::now();
    let mut url = link["url"].as_str().unwrap().to_owned();
    loop {
        let page = browser.get(&url).send().await.unwrap();
        if page.status() != 502 {
            return (browser, jar, page);
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the dev server never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
        url = app.url(&format!("/preview/{id}/"));
    }
}

#[actix_web::test]
async fn a_kept_alive_task_is_previewed_through_its_sandbox() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("previewer").await;
    let (id, _repo) = running_preview(&app, &token).await;
    let server =
        json(get(&app, &token, &format!("/api/v1/tasks/{id}/dev-server")).await, 200).await;
    assert_eq!(
        (server["command"].as_str(), server["port"].as_u64()),
        (Some("npm run dev"), Some(3000)),
        "{server}"
    );
    assert_eq!(server["source"], "package.json");

    let (browser, jar, page) = open_preview(&app, &token, &id).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.url().path(), format!("/preview/{id}/"), "the link redirected to the preview");
    let headers = page.headers().clone();
    let csp: Vec<&str> =
        headers.get_all("content-security-policy").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(
        csp.iter().any(|p| p.contains(&format!("frame-ancestors {}", app.base))
            && p.contains("sandbox allow-scripts")
            && !p.contains("allow-same-origin")),
        "{csp:?}"
    );
    assert!(headers.get("x-frame-options").is_none(), "the web app may frame it");
    assert!(headers.get("set-cookie").is_none(), "the path form drops the app's cookies");
    let body = page.text().await.unwrap();
    assert!(body.contains("Hello from the dev server"), "{body}");

    // What reaches the dev server: none of Drydock's cookies or credentials.
    let preview = app.url(&format!("/preview/{id}/"));
    let cookie = jar.cookies(&preview.parse().unwrap()).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("drydock_preview="), "{cookie}");
    let echoed: Value = browser
        .get(format!("{preview}headers?x=1"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-csrf-token", "csrf")
        .header("cookie", format!("{cookie}; drydock_session=stolen; theirs=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = echoed.to_string();
    assert!(
        !text.contains("drydock_") && !text.contains(&token) && !text.contains("csrf"),
        "{echoed}"
    );
    assert!(echoed.get("authorization").is_none(), "{echoed}");
    assert_eq!(echoed["cookie"], "theirs=1", "the app's own cookies pass");
    assert_eq!(echoed["host"], "localhost", "{echoed}");
    assert_eq!(echoed["x-forwarded-prefix"], format!("/preview/{id}"));
    // The app's own errors reach the browser as the app wrote them.
    let boom = browser.get(format!("{preview}boom")).send().await.unwrap();
    assert_eq!(boom.status(), 500);
    assert_eq!(boom.text().await.unwrap(), "boom from the app");
    // Bodies go both ways.
    let posted = browser.post(format!("{preview}form")).body("a=1").send().await.unwrap();
    assert_eq!(posted.text().await.unwrap(), "posted:a=1");

    // A WebSocket through the preview: the upgrade and frames both ways.
    let echo = websocket_echo(
        &app,
        &format!("/preview/{id}/ws"),
        &cookie,
        None,
        "hello through the relay",
    )
    .await;
    assert_eq!(echo, "hello through the relay");

    // A preview cookie opens only its own task's preview.
    let (other, _repo2) = running_preview(&app, &token).await;
    let res = reqwest::Client::new()
        .get(app.url(&format!("/preview/{other}/")))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a cookie is bound to its task");

    // The server's lines are events of their own kind.
    app.wait_for_event(&token, &id, "the server's output", |e| {
        e["kind"] == "server_output"
            && e["payload"]["line"].as_str().is_some_and(|l| l.contains("tiny app listening"))
    })
    .await;

    // Stop: the preview says so; restart: it comes back.
    let stopped =
        json(post(&app, &token, &format!("/api/v1/tasks/{id}/dev-server/stop")).await, 200).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/dev-server/stop", 200, &stopped);
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    let down = browser.get(&preview).send().await.unwrap();
    assert_eq!(down.status(), 502);
    assert_eq!(down.headers()["content-type"], "application/problem+json");
    let problem: Value = down.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("not running"), "{problem}");
    let restarted =
        json(post(&app, &token, &format!("/api/v1/tasks/{id}/dev-server/restart")).await, 202)
            .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/dev-server/restart", 202, &restarted);
    assert_eq!(restarted["state"], "running");
    let again = post(&app, &token, &format!("/api/v1/tasks/{id}/dev-server/start")).await;
    assert_eq!(again.status(), 409, "it runs already");
    let started = Instant::now();
    loop {
        let res = browser.get(&preview).send().await.unwrap();
        if res.status() == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the preview never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A dev server that runs but does not listen (yet): a browser opening the page gets one that
/// reloads itself, a script gets the problem with `Retry-After`.
#[actix_web::test]
async fn a_dev_server_that_does_not_answer_yet_gets_a_page_that_reloads() {
    let app = TestApp::with_workers(1, "").await;
    let (token, _) = app.agent_user("patient").await;
    let repo = fakes::dev_app::repo();
    let body = json!({
        "repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": "look around",
        "dev_command": "sleep 600", "dev_port": 3000
    });
    let id = app.create_task(&token, body).await["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    wait_dev_state(&app, &token, &id, "running").await;
    let link = json(post(&app, &token, &format!("/api/v1/tasks/{id}/preview")).await, 201).await;
    let browser = reqwest::Client::builder()
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .build()
        .unwrap();
    let page = browser
        .get(link["url"].as_str().unwrap())
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 502);
    assert_eq!(page.url().path(), format!("/preview/{id}/"), "the cookie was set");
    assert_eq!(page.headers()["refresh"], "2");
    assert_eq!(page.headers()["retry-after"], "2");
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // Drydock's own page, without script: not sandboxed, so its reload carries the cookie.
    let csp: Vec<&str> = page
        .headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(csp.iter().any(|p| p.contains("default-src 'none'")), "{csp:?}");
    assert!(csp.iter().all(|p| !p.contains("sandbox")), "{csp:?}");
    assert!(page.text().await.unwrap().contains("id=drydock-starting"));

    let script = browser.get(app.url(&format!("/preview/{id}/app.js"))).send().await.unwrap();
    assert_eq!(script.status(), 502);
    assert!(script.headers().get("refresh").is_none(), "only pages reload");
    assert_eq!(script.headers()["retry-after"], "2");
    assert_eq!(script.headers()["content-type"], "application/problem+json");
    let problem: Value = script.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("may still be starting"), "{problem}");
}

#[actix_web::test]
async fn with_a_preview_domain_each_task_is_its_own_origin() {
    let app = TestApp::with_workers(1, "[preview]\ndomain = \"preview.test\"\n").await;
    let (token, _) = app.agent_user("host-previewer").await;
    let (id, _repo) = running_preview(&app, &token).await;
    let link = json(post(&app, &token, &format!("/api/v1/tasks/{id}/preview")).await, 201).await;
    let url = link["url"].as_str().unwrap();
    let host = format!("{id}.preview.test");
    assert!(url.starts_with(&format!("http://{host}/__drydock/login?token=")), "{url}");
    assert_eq!(link["preview_url"], format!("http://{host}/"));
    // The name is not resolved: the request goes to 127.0.0.1 with the preview's Host.
    let path = &url[url.find("/__drydock").unwrap()..];
    let opened = app.client.get(app.url(path)).header("host", &host).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Path=/;") || cookie.ends_with("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "host-only: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let started = Instant::now();
    let page = loop {
        let page = app
            .client
            .get(app.url("/"))
            .header("host", &host)
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        if page.status() != 502 {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(page.status(), 200);
    let csp: Vec<String> = page
        .headers()
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        csp.iter().any(|p| p.starts_with("frame-ancestors") && !p.contains("sandbox")),
        "{csp:?}"
    );
    let cookies: Vec<&str> =
        page.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(
        cookies,
        ["app_cookie=1; Path=/"],
        "the app's own cookies pass, none named like Drydock's"
    );
    assert!(page.text().await.unwrap().contains("Hello from the dev server"));
    // Every path of the preview host is the app's, the API's included.
    let api = app
        .client
        .get(app.url("/api/v1/me"))
        .header("host", &host)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    assert!(api.text().await.unwrap().contains("Hello from the dev server"));
    let no_cookie = app.client.get(app.url("/")).header("host", &host).send().await.unwrap();
    assert_eq!(no_cookie.status(), 401);
    // The path form is off with a preview domain: the main origin serves no preview content.
    let main = app
        .client
        .get(app.url(&format!("/preview/{id}/")))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_ne!(main.status(), 200);
    let echo = websocket_echo(&app, "/ws", &pair, Some(&host), "hmr update").await;
    assert_eq!(echo, "hmr update");
}

/// Opens a WebSocket at `path` on the app (HTTP/1.1 upgrade by hand), sends `message` in one
/// masked text frame and returns the text of the frame that comes back.
///
/// The socket is blocking, so it runs on a thread of its own: this test's runtime also drives
/// the app's workers and database connections, which must keep running meanwhile.
async fn websocket_echo(
    app: &TestApp,
    path: &str,
    cookie: &str,
    host: Option<&str>,
    message: &str,
) -> String {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let (path, cookie, message) = (path.to_owned(), cookie.to_owned(), message.to_owned());
    let host = host.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        echo_blocking(&addr, &path, &cookie, host.as_deref(), &message)
    })
    .await
    .unwrap()
}

fn echo_blocking(
    addr: &str,
    path: &str,
    cookie: &str,
    host: Option<&str>,
    message: &str,
) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let host = host.unwrap_or(addr);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let payload = message.as_bytes();
    let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).unwrap()];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).unwrap();
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x81, "a text frame back");
    let mut body = vec![0u8; usize::from(header[1] & 0x7f)];
    stream.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}
