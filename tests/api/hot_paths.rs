//! The hot paths: the auth cache and the task read cache and their invalidation across
//! processes, compression (and the event stream it must not hold back), and validators on task
//! reads and event pages.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header;
use serde_json::{json, Value};

use crate::support::{client, json, TestApp};

/// Cached entries outlive every test here: only a notification can end them early.
const LONG_CACHE: &str =
    "[auth]\ncache_secs = 3600\n[tasks]\ngenerate_names = false\nread_cache_secs = 3600\n";

/// A second server process on the same database: its own pool, hub, cache and port.
struct Sibling {
    base: String,
    _server: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl Sibling {
    fn start(app: &TestApp) -> Self {
        let mut settings = app.settings.clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        let pool = drydock_api::db::build_pool(&app.db.url, &settings.database).unwrap();
        let key = settings.master_key.as_ref().expect("master key");
        let secrets = drydock_api::crypto::SecretBox::from_config(key, &[]).unwrap();
        let hub = drydock_api::events::hub::Hub::start(app.db.url.clone());
        let sandbox = drydock_api::sandboxes::build(&settings).unwrap();
        let server =
            drydock_api::startup::Application::build(settings, pool, secrets, hub, sandbox)
                .unwrap();
        let base = format!("http://127.0.0.1:{}", server.port());
        Self { base, _server: actix_web::rt::spawn(server.run()) }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Polls `status_of` until it answers `want`; fails after 10 s (the cache lives an hour).
async fn eventually<F, Fut>(what: &str, want: u16, mut status_of: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = status_of().await;
        if got == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: still {got}, wanted {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn revoking_a_token_in_one_process_shuts_it_out_of_another() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let other = Sibling::start(&app);
    let (_, token) = app.user_with_token("rita").await;
    let me = |url: String| {
        let token = token.clone();
        async move { client(false).get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    // Both processes have now cached the token.
    assert_eq!(me(app.url("/api/v1/me")).await, 200);
    assert_eq!(me(other.url("/api/v1/me")).await, 200);
    assert_eq!(me(other.url("/api/v1/me")).await, 200);
    let tokens = json(
        app.client.get(app.url("/api/v1/me/tokens")).bearer_auth(&token).send().await.unwrap(),
        200,
    )
    .await;
    let id = tokens["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // The revoking process acts on it before it answers.
    assert_eq!(me(app.url("/api/v1/me")).await, 401);
    eventually("the other process", 401, || me(other.url("/api/v1/me"))).await;
}

#[actix_web::test]
async fn disabling_or_demoting_a_user_reaches_every_process() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let other = Sibling::start(&app);
    let (admin_id, admin) = app.user_with_token("root").await;
    let (dana_id, dana) = app.user_with_token("dana").await;
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use drydock_api::db::schema::users;
        let mut conn = app.pool.get().await.unwrap();
        diesel::update(users::table.filter(users::id.eq_any([admin_id, dana_id])))
            .set(users::is_admin.eq(true))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // Dana signs in to the other process with a browser too.
    let browser = client(true);
    let res = browser
        .post(other.url("/api/v1/auth/login"))
        .json(&json!({"username": "dana", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let status = |c: reqwest::Client, url: String, token: Option<String>| async move {
        let req = c.get(url);
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.send().await.unwrap().status().as_u16()
    };
    let users_page = other.url("/api/v1/admin/users");
    assert_eq!(status(client(false), users_page.clone(), Some(dana.clone())).await, 200);
    assert_eq!(status(browser.clone(), users_page.clone(), None).await, 200);

    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/admin/users/{dana_id}")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    json(patch(json!({"is_admin": false})).await.unwrap(), 200).await;
    eventually("a demoted token elsewhere", 403, || {
        status(client(false), users_page.clone(), Some(dana.clone()))
    })
    .await;
    eventually("a demoted session elsewhere", 403, || {
        status(browser.clone(), users_page.clone(), None)
    })
    .await;

    json(patch(json!({"disabled": true})).await.unwrap(), 200).await;
    let me = other.url("/api/v1/me");
    eventually("a disabled user's token elsewhere", 401, || {
        status(client(false), me.clone(), Some(dana.clone()))
    })
    .await;
    eventually("a disabled user's session elsewhere", 401, || {
        status(browser.clone(), me.clone(), None)
    })
    .await;
}

#[actix_web::test]
async fn signing_out_in_one_process_ends_the_session_in_another() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let other = Sibling::start(&app);
    app.create_user("sam", "password123", false).await;
    let res = client(false)
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "sam", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie =
        res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = res.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let me = |url: String| {
        let cookie = cookie.clone();
        async move {
            let res = client(false).get(url).header(header::COOKIE, cookie).send().await.unwrap();
            res.status().as_u16()
        }
    };
    // Both processes have the session cached now.
    assert_eq!(me(app.url("/api/v1/me")).await, 200);
    assert_eq!(me(other.url("/api/v1/me")).await, 200);
    let res = client(false)
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(me(app.url("/api/v1/me")).await, 401);
    eventually("the signed-out session elsewhere", 401, || me(other.url("/api/v1/me"))).await;
}

async fn task_with_events(app: &TestApp, token: &str, events: usize) -> String {
    let task = app
        .create_task(
            token,
            json!({"repo_url": "https://git.example.test/acme/widgets.git", "agent": "claude", "prompt": "x"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    append(app, &id, events).await;
    id
}

/// Appends `events` log lines; returns the last seq.
async fn append(app: &TestApp, id: &str, events: usize) -> i64 {
    use shared::events::{EventBody, LogLevel};
    let bodies: Vec<EventBody> = (0..events)
        .map(|i| EventBody::Log {
            level: LogLevel::Info,
            message: format!("line {i}: installing dependencies, compiling, testing"),
        })
        .collect();
    let mut conn = app.pool.get().await.unwrap();
    drydock_api::events::store::append(&mut conn, id.parse().unwrap(), &bodies).await.unwrap()
}

#[actix_web::test]
async fn large_json_is_compressed_as_asked_and_small_json_is_not() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let (_, token) = app.user_with_token("zip").await;
    let id = task_with_events(&app, &token, 300).await;
    let path = app.url(&format!("/api/v1/tasks/{id}/events?limit=1000"));
    let get = |encoding: Option<&'static str>| {
        let req = app.client.get(path.clone()).bearer_auth(&token);
        let req = match encoding {
            Some(e) => req.header(header::ACCEPT_ENCODING, e),
            None => req,
        };
        req.send()
    };
    let plain = get(None).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain: Value = plain.json().await.unwrap();
    assert!(plain["items"].as_array().unwrap().len() > 300, "what creation wrote, 300 lines");

    for (encoding, decode) in [
        ("gzip", decode_gzip as fn(&[u8]) -> Vec<u8>),
        ("br", decode_brotli as fn(&[u8]) -> Vec<u8>),
        ("gzip;q=0.5, br", decode_brotli as fn(&[u8]) -> Vec<u8>),
    ] {
        let res = get(Some(encoding)).await.unwrap();
        assert_eq!(res.status(), 200);
        let name = if encoding == "gzip" { "gzip" } else { "br" };
        assert_eq!(res.headers()[header::CONTENT_ENCODING], name, "{encoding}");
        let vary: Vec<_> = res.headers().get_all(header::VARY).iter().collect();
        assert!(vary.iter().any(|v| v.to_str().unwrap().contains("accept-encoding")), "{vary:?}");
        let wire = res.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&decode(&wire)).unwrap();
        assert_eq!(body, plain, "{encoding} decodes to the same page");
        let raw = serde_json::to_vec(&plain).unwrap().len();
        assert!(wire.len() * 5 < raw, "{encoding}: {} of {raw} bytes", wire.len());
    }

    // A small body goes as it is, whatever is accepted.
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
}

fn decode_gzip(wire: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(wire).read_to_end(&mut out).unwrap();
    out
}

fn decode_brotli(wire: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    brotli::Decompressor::new(wire, 4096).read_to_end(&mut out).unwrap();
    out
}

#[actix_web::test]
async fn the_web_app_files_are_compressed() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<html><head></head><body></body></html>")
        .unwrap();
    let script = "export function run() { return 'drydock'; }\n".repeat(500);
    std::fs::write(web.path().join("app.js"), &script).unwrap();
    let app = TestApp::spawn_with(&format!("web_dir = \"{}\"\n", web.path().display())).await;
    let res = client(false)
        .get(app.url("/app.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    if let Some(tag) = res.headers().get(header::ETAG) {
        assert!(tag.to_str().unwrap().starts_with("W/"), "a compressed copy has a weak tag");
    }
    let wire = res.bytes().await.unwrap();
    assert_eq!(decode_gzip(&wire), script.as_bytes());
    // A range of the file is sent as it is.
    let res = client(false)
        .get(app.url("/app.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::RANGE, "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    // (actix-files marks a range `identity` itself when the request accepts encodings.)
    let encoding = res.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap());
    assert!(matches!(encoding, None | Some("identity")), "{encoding:?}");
    assert_eq!(res.bytes().await.unwrap(), script.as_bytes()[..100]);
}

#[actix_web::test]
async fn an_event_stream_client_asking_for_gzip_still_gets_each_event_at_once() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let (_, token) = app.user_with_token("sse").await;
    let id = task_with_events(&app, &token, 0).await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/tasks/{id}/events/stream")))
        .bearer_auth(&token)
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none(), "the stream is not encoded");
    let mut body = Box::pin(res.bytes_stream());
    let mut seen = String::new();
    // What creation wrote is there already; then one event at a time, each read before the
    // next is written: an encoder that buffered would hold the first one back for good.
    read_until(&mut body, &mut seen, 1).await;
    for _ in 0..3 {
        let seq = append(&app, &id, 1).await;
        read_until(&mut body, &mut seen, seq).await;
    }
}

/// Reads the stream until the frame of `seq` has arrived; fails after 10 s.
async fn read_until(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<actix_web::web::Bytes>> + Unpin),
    seen: &mut String,
    seq: i64,
) {
    let frame = format!("id: {seq}\n");
    let arrived = tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains(&frame) {
            let chunk = body.next().await.expect("stream ended").unwrap();
            seen.push_str(std::str::from_utf8(&chunk).expect("plain text"));
        }
    })
    .await;
    assert!(arrived.is_ok(), "event {seq} did not arrive on its own; got {seen:?}");
}

#[actix_web::test]
async fn task_reads_and_full_event_pages_answer_304_to_their_etag() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let (_, token) = app.user_with_token("etag").await;
    let id = task_with_events(&app, &token, 9).await;
    let get = |path: String, tag: Option<String>| {
        let req = app.client.get(app.url(&path)).bearer_auth(&token);
        let req = match tag {
            Some(t) => req.header(header::IF_NONE_MATCH, t),
            None => req,
        };
        req.send()
    };
    let task_path = format!("/api/v1/tasks/{id}");
    let res = get(task_path.clone(), None).await.unwrap();
    assert_eq!(res.status(), 200);
    let tag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
    let not_modified = get(task_path.clone(), Some(tag.clone())).await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()[header::ETAG], tag.as_str());
    assert!(not_modified.bytes().await.unwrap().is_empty());
    // Another's tag, or a changed task, gets the body.
    assert_eq!(get(task_path.clone(), Some("W/\"other\"".into())).await.unwrap().status(), 200);
    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/stop")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let changed = get(task_path, Some(tag.clone())).await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()[header::ETAG], tag.as_str());

    // 10 events now (status, 9 lines) plus what stopping wrote: a page of 5 is full.
    let full = format!("/api/v1/tasks/{id}/events?after=2&limit=5");
    let res = get(full.clone(), None).await.unwrap();
    assert_eq!(res.status(), 200);
    let tag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["next_cursor"], "7");
    assert_eq!(get(full.clone(), Some(tag.clone())).await.unwrap().status(), 304);
    // The open end of the log carries no tag: it may still grow.
    let open = get(format!("/api/v1/tasks/{id}/events?after=2&limit=1000"), None).await.unwrap();
    assert_eq!(open.status(), 200);
    assert!(open.headers().get(header::ETAG).is_none());
    // Someone else's task is still 404, tag or not.
    let (_, stranger) = app.user_with_token("stranger").await;
    let res = app
        .client
        .get(app.url(&full))
        .bearer_auth(&stranger)
        .header(header::IF_NONE_MATCH, tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// Polls `check` until it holds; fails after 10 s (the caches live an hour).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: still not so after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sql(app: &TestApp, statement: &str) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.pool.get().await.unwrap();
    diesel::sql_query(statement).execute(&mut conn).await.unwrap();
}

#[actix_web::test]
async fn a_task_changed_anywhere_is_read_fresh_in_every_process() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let other = Sibling::start(&app);
    let (_, token) = app.user_with_token("tess").await;
    let id = task_with_events(&app, &token, 9).await;
    let get = |url: String| {
        let token = token.clone();
        async move {
            let res = client(false).get(url).bearer_auth(token).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let task = format!("/api/v1/tasks/{id}");
    let list = "/api/v1/tasks?limit=50".to_owned();
    let events = format!("/api/v1/tasks/{id}/events?after=0&limit=5");
    // The other process has everything cached now.
    for _ in 0..2 {
        assert_eq!(get(other.url(&task)).await.1["title"], "x");
        assert_eq!(get(other.url(&list)).await.1["items"].as_array().unwrap().len(), 1);
        assert_eq!(get(other.url(&events)).await.0, 200);
    }

    // An operator's SQL, which no server sees happen.
    sql(&app, &format!("UPDATE tasks SET title = 'Renamed by hand' WHERE id = '{id}'")).await;
    until("the other process reads the new title", || async {
        get(other.url(&task)).await.1["title"] == "Renamed by hand"
    })
    .await;
    until("the other process lists the new title", || async {
        get(other.url(&list)).await.1["items"][0]["title"] == "Renamed by hand"
    })
    .await;

    // A new task, made through the first process, is listed by the other.
    app.create_task(
        &token,
        json!({"repo_url": "https://git.example.test/acme/widgets.git", "agent": "claude", "prompt": "y"}),
    )
    .await;
    until("the other process lists the new task", || async {
        get(other.url(&list)).await.1["items"].as_array().map(Vec::len) == Some(2)
    })
    .await;

    // Stopped and deleted through the first process: gone from the other's task read, list
    // and event pages.
    let stop = app.client.post(app.url(&format!("{task}/stop"))).bearer_auth(&token);
    assert!(stop.send().await.unwrap().status().is_success());
    until("the other process reads it stopped", || async {
        get(other.url(&task)).await.1["status"] == "stopped"
    })
    .await;
    let res = app.client.delete(app.url(&task)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    until("the other process no longer has the task", || async {
        get(other.url(&task)).await.0 == 404
    })
    .await;
    until("the other process no longer serves its events", || async {
        get(other.url(&events)).await.0 == 404
    })
    .await;
    until("the other process no longer lists it", || async {
        get(other.url(&list)).await.1["items"].as_array().map(Vec::len) == Some(1)
    })
    .await;
}

#[actix_web::test]
async fn a_client_reads_its_own_writes_at_once_and_never_anothers_task() {
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let (_, token) = app.user_with_token("wren").await;
    let (_, stranger) = app.user_with_token("stranger").await;
    let id = task_with_events(&app, &token, 3).await;
    let get = |path: String, token: String| {
        let req = app.client.get(app.url(&path)).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let task = format!("/api/v1/tasks/{id}");
    let list = "/api/v1/tasks".to_owned();
    for _ in 0..2 {
        assert_eq!(get(task.clone(), token.clone()).await.status(), 200);
        assert_eq!(get(list.clone(), token.clone()).await.status(), 200);
        // Cached or not, someone else's task does not exist for them.
        assert_eq!(get(task.clone(), stranger.clone()).await.status(), 404);
        let theirs: Value = get(list.clone(), stranger.clone()).await.json().await.unwrap();
        assert_eq!(theirs["items"], json!([]));
        let events = format!("{task}/events?limit=2");
        assert_eq!(get(events, stranger.clone()).await.status(), 404);
    }
    let stop = app.client.post(app.url(&format!("{task}/stop"))).bearer_auth(&token);
    assert!(stop.send().await.unwrap().status().is_success());
    // No waiting: the process that made the change has forgotten it before it answered.
    let read: Value = get(task.clone(), token.clone()).await.json().await.unwrap();
    assert_eq!(read["status"], "stopped");
    let page: Value = get(list.clone(), token.clone()).await.json().await.unwrap();
    assert_eq!(page["items"][0]["status"], "stopped");
    let res = app.client.delete(app.url(&task)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(get(task.clone(), token.clone()).await.status(), 404);
    assert_eq!(get(format!("{task}/events?limit=2"), token.clone()).await.status(), 404);
    let page: Value = get(list, token).await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}

#[actix_web::test]
async fn every_column_of_a_task_but_its_last_seq_is_announced_when_it_changes() {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let app = TestApp::spawn_with(LONG_CACHE).await;
    let mut conn = app.pool.get().await.unwrap();
    // A column added to `tasks` must be added to the trigger, or its changes go unannounced.
    let unwatched: Vec<Column> = diesel::sql_query(
        "SELECT a.attname::text AS name FROM pg_attribute a
         WHERE a.attrelid = 'tasks'::regclass AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname <> 'last_seq'
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                           WHERE t.tgrelid = 'tasks'::regclass AND t.tgname = 'tasks_cache_updated'
                             AND a.attnum = ANY (t.tgattr::int2[]))",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let names: Vec<String> = unwatched.into_iter().map(|c| c.name).collect();
    assert!(names.is_empty(), "changes to these columns of tasks are not announced: {names:?}");
    drop(conn);

    // Appending events (which moves only `last_seq`) announces events, not a task change; a
    // change to the task does.
    let (user, token) = app.user_with_token("cole").await;
    let id = task_with_events(&app, &token, 1).await;
    let hub = drydock_api::events::hub::Hub::start(app.db.url.clone());
    let mut signals = hub.subscribe();
    use drydock_api::events::hub::Signal;
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        while signals.recv().await.unwrap() != Signal::Resync {}
    });
    ready.await.expect("the hub listens");
    let last = append(&app, &id, 3).await;
    sql(&app, &format!("UPDATE tasks SET title = 'Now' WHERE id = '{id}'")).await;
    let task_id: uuid::Uuid = id.parse().unwrap();
    let mut seen = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let signal = signals.recv().await.unwrap();
            seen.push(signal);
            if let Signal::Task { .. } = signal {
                return signal;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no task change announced; saw {seen:?}"));
    assert_eq!(got, Signal::Task { user_id: user, task_id });
    assert!(
        seen.contains(&Signal::Events { task_id, last_seq: last }),
        "the append was announced as events before the change: {seen:?}"
    );
}
