//! Git host credentials: the routes (write-only, owner-only, validated), and their use: a run
//! clones and pushes with the token of exactly its repository's host, a token is never sent
//! to another host, and a GitHub token stands in for the OAuth sign-in.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::db::schema::git_credentials;
use serde_json::{json, Value};

use crate::support::{finished, json, spec, FakeGithub, TestApp};

const PATH: &str = "/api/v1/me/git-credentials";

async fn put(app: &TestApp, token: &str, host: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("{PATH}/{host}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn delete(app: &TestApp, token: &str, host: &str) -> reqwest::Response {
    app.client.delete(app.url(&format!("{PATH}/{host}"))).bearer_auth(token).send().await.unwrap()
}

/// The body text, asserting the status and that `secret` is nowhere in it.
async fn text_without(res: reqwest::Response, status: u16, secret: &str) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert!(!text.contains(secret), "the token came back: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[actix_web::test]
async fn credentials_are_stored_listed_replaced_and_deleted_but_never_shown() {
    let app = TestApp::spawn().await;
    let (user_id, token) = app.user_with_token("gale").await;
    let secret = "glpat-secret-value-0001";
    let created = text_without(
        put(&app, &token, "GitLab.Example.com", json!({"kind": "gitlab", "token": secret})).await,
        201,
        secret,
    )
    .await;
    spec::assert_valid("put", "/api/v1/me/git-credentials/{host}", 201, &created);
    assert_eq!(created["host"], "gitlab.example.com", "the host is normalised");
    assert_eq!(created["kind"], "gitlab");
    assert_eq!(created["api_url"], "https://gitlab.example.com/api/v4", "defaulted for the forge");
    assert_eq!(created["token_last4"], "0001");
    assert!(created["last_used_at"].is_null());

    let plain = "plain-git-token-0002";
    let body = json!({"kind": "git", "token": plain});
    let git_host =
        text_without(put(&app, &token, "git.example:8443", body).await, 201, plain).await;
    assert_eq!(git_host["api_url"], Value::Null, "a plain git host has no API");

    let replacement = "glpat-secret-value-0003";
    let body = json!({"kind": "gitlab", "token": replacement, "api_url": "https://gitlab.example.com/gitlab/api/v4/"});
    let replaced =
        text_without(put(&app, &token, "gitlab.example.com", body).await, 200, replacement).await;
    spec::assert_valid("put", "/api/v1/me/git-credentials/{host}", 200, &replaced);
    assert_eq!(replaced["token_last4"], "0003");
    assert_eq!(replaced["api_url"], "https://gitlab.example.com/gitlab/api/v4");
    assert_eq!(replaced["created_at"], created["created_at"], "replacing keeps the creation time");

    let list = text_without(get(&app, &token, PATH).await, 200, replacement).await;
    spec::assert_valid("get", "/api/v1/me/git-credentials", 200, &list);
    let hosts: Vec<&str> =
        list.as_array().unwrap().iter().map(|c| c["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["git.example:8443", "gitlab.example.com"]);
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(plain) && !text.contains(secret), "{text}");

    let one = text_without(
        get(&app, &token, &format!("{PATH}/GITLAB.example.com")).await,
        200,
        replacement,
    )
    .await;
    spec::assert_valid("get", "/api/v1/me/git-credentials/{host}", 200, &one);
    assert_eq!(one["kind"], "gitlab");

    // At rest: sealed for its row, never the token.
    let mut conn = app.pool.get().await.unwrap();
    let sealed: Vec<String> = git_credentials::table
        .filter(git_credentials::user_id.eq(user_id))
        .select(git_credentials::token_enc)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 2);
    for s in &sealed {
        assert!(s.starts_with("v2.") && !s.contains(replacement) && !s.contains(plain), "{s}");
    }

    assert_eq!(delete(&app, &token, "gitlab.example.com").await.status(), 204);
    let missing = json(get(&app, &token, &format!("{PATH}/gitlab.example.com")).await, 404).await;
    spec::assert_valid("get", "/api/v1/me/git-credentials/{host}", 404, &missing);
    let again = json(delete(&app, &token, "gitlab.example.com").await, 404).await;
    spec::assert_valid("delete", "/api/v1/me/git-credentials/{host}", 404, &again);
    json(delete(&app, &token, "not a host").await, 404).await;
    let left = json(get(&app, &token, PATH).await, 200).await;
    assert_eq!(left.as_array().unwrap().len(), 1);

    assert_eq!(app.client.get(app.url(PATH)).send().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn bad_credentials_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("vic").await;
    let cases = [
        ("git.example", json!({"kind": "git", "token": "short"}), "token"),
        ("git.example", json!({"kind": "git", "token": "has spaces in it"}), "token"),
        (
            "git.example",
            json!({"kind": "git", "token": "plain-token-1", "api_url": "https://git.example/api"}),
            "api_url",
        ),
        (
            "gitlab.example",
            json!({"kind": "gitlab", "token": "glpat-123456", "api_url": "http://gitlab.example/api/v4"}),
            "api_url",
        ),
        (
            "gitlab.example",
            json!({"kind": "gitlab", "token": "glpat-123456", "api_url": "https://evil.example/api/v4"}),
            "api_url",
        ),
        (
            "gitlab.example",
            json!({"kind": "gitlab", "token": "glpat-123456", "api_url": "https://me:pw@gitlab.example/api/v4"}),
            "api_url",
        ),
        (
            "gitlab.example",
            json!({"kind": "gitlab", "token": "glpat-123456", "api_url": "nope"}),
            "api_url",
        ),
        ("git.example:0", json!({"kind": "git", "token": "plain-token-1"}), "host"),
        ("-bad-.example", json!({"kind": "git", "token": "plain-token-1"}), "host"),
        // Literal loopback, private and metadata addresses are not git hosts here.
        ("127.0.0.1:9", json!({"kind": "git", "token": "plain-token-1"}), "host"),
        ("10.0.0.8", json!({"kind": "git", "token": "plain-token-1"}), "host"),
        ("169.254.169.254", json!({"kind": "git", "token": "plain-token-1"}), "host"),
        ("git.example", json!({"kind": "svn", "token": "plain-token-1"}), "kind"),
    ];
    for (host, body, field) in cases {
        let problem = json(put(&app, &token, host, body.clone()).await, 422).await;
        spec::assert_valid("put", "/api/v1/me/git-credentials/{host}", 422, &problem);
        assert!(
            problem["errors"][field].as_array().is_some_and(|r| !r.is_empty()),
            "{host} {body}: expected a reason for `{field}`: {problem}"
        );
    }
    let unknown = json(
        put(
            &app,
            &token,
            "git.example",
            json!({"kind": "git", "token": "plain-token-1", "user_id": "x"}),
        )
        .await,
        422,
    )
    .await;
    assert!(unknown["errors"]["user_id"].is_array(), "{unknown}");
    let malformed = app
        .client
        .put(app.url(&format!("{PATH}/git.example")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let malformed = json(malformed, 400).await;
    spec::assert_valid("put", "/api/v1/me/git-credentials/{host}", 400, &malformed);
    assert_eq!(json(get(&app, &token, PATH).await, 200).await, json!([]), "nothing was stored");
}

#[actix_web::test]
async fn another_users_credentials_are_not_found() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.user_with_token("alice").await;
    let (_, bob) = app.user_with_token("bob").await;
    let body = json!({"kind": "gitea", "token": "gitea-alice-0001"});
    json(put(&app, &alice, "code.example", body).await, 201).await;
    json(get(&app, &bob, &format!("{PATH}/code.example")).await, 404).await;
    json(delete(&app, &bob, "code.example").await, 404).await;
    assert_eq!(json(get(&app, &bob, PATH).await, 200).await, json!([]));
    // Bob storing his own for the same host leaves Alice's alone.
    let body = json!({"kind": "gitea", "token": "gitea-bob-0002"});
    json(put(&app, &bob, "code.example", body).await, 201).await;
    let alices = json(get(&app, &alice, &format!("{PATH}/code.example")).await, 200).await;
    assert_eq!(alices["token_last4"], "0001");
}

#[actix_web::test]
async fn a_github_token_stands_in_for_the_oauth_sign_in() {
    let gh = FakeGithub::start().await;
    gh.add_repo("octo-org", "my.app", true);
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    let (_, token) = app.user_with_token("pat-user").await;
    // No OAuth identity: the GitHub features ask for one of the two ways in.
    let res = json(get(&app, &token, "/api/v1/github/repos").await, 422).await;
    assert!(res["detail"].as_str().unwrap().contains("Git hosts"), "{res}");

    let pat = "ghp_localuser_0000000001";
    gh.add_token(pat);
    let host = gh.base.trim_start_matches("http://").to_owned();
    let stored =
        json(put(&app, &token, &host, json!({"kind": "github", "token": pat})).await, 201).await;
    assert_eq!(stored["api_url"], format!("{}/api", gh.base), "the configured GitHub API");
    let repos = json(get(&app, &token, "/api/v1/github/repos").await, 200).await;
    assert!(serde_json::to_string(&repos).unwrap().contains("my.app"), "{repos}");
    assert!(gh.received_secret(pat), "the fake GitHub saw the personal access token");
    let used = json(get(&app, &token, &format!("{PATH}/{host}")).await, 200).await;
    assert!(used["last_used_at"].is_string(), "its use is recorded: {used}");

    // A token of another kind for the GitHub host is for git only, not the GitHub API.
    let body = json!({"kind": "git", "token": "not-a-github-token"});
    json(put(&app, &token, &host, body).await, 200).await;
    json(get(&app, &token, "/api/v1/github/repos").await, 422).await;
}

/// A task on each of two hosts, each with its own stored token: each run clones and pushes
/// with its own host's token, and neither host ever receives the other's.
#[actix_web::test]
async fn a_token_is_never_sent_to_another_host() {
    // Host A is the configured GitHub; host B a plain git host on another loopback port.
    let a = FakeGithub::start().await;
    let b = FakeGithub::start().await;
    a.git_repo("octo-org", "app");
    b.git_repo("team", "tool");
    let app = TestApp::with_workers(1, &a.settings_toml()).await;
    let (token, _) = app.agent_user("two-hosts").await;
    let (token_a, token_b) = ("ghp_host_a_token_0000001", "plain_host_b_token_00002");
    a.add_token(token_a);
    b.add_token(token_b);
    let host_a = a.base.trim_start_matches("http://").to_owned();
    let host_b = b.base.trim_start_matches("http://").to_owned();
    json(put(&app, &token, &host_a, json!({"kind": "github", "token": token_a})).await, 201).await;
    json(put(&app, &token, &host_b, json!({"kind": "git", "token": token_b})).await, 201).await;

    // On B: cloned and pushed with B's token.
    let url_b = format!("{}/team/tool", b.base);
    let task = app
        .create_task(&token, json!({"repo_url": url_b, "agent": "claude", "create_pr": true, "prompt": "On B [[write:b.txt=b]] [[sh:env > seen-env.txt; cat .git/config > seen-config.txt]]"}))
        .await;
    let id_b = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id_b, "the run on B", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    let branch_b = done["branch_name"].as_str().unwrap().to_owned();
    let bare_b = b.with(|s| s.git_root.clone().unwrap()).join("team/tool.git");
    let pushed =
        fakes::git::git(&bare_b, &["for-each-ref", "--format=%(refname:short)", "refs/heads"]);
    assert!(pushed.lines().any(|l| l == branch_b), "B has the branch: {pushed}");
    // What the agent could see, committed by the agent itself: no token in its environment or
    // in the repository's config.
    for file in ["seen-env.txt", "seen-config.txt"] {
        let seen = fakes::git::git(&bare_b, &["show", &format!("{branch_b}:{file}")]);
        assert!(!seen.is_empty(), "{file} is empty");
        assert!(
            !seen.contains(token_a) && !seen.contains(token_b),
            "a token in the sandbox: {seen}"
        );
    }
    assert!(b.received_secret(token_b), "B got its own token");
    assert!(!a.with(|s| s.authorizations.iter().any(|h| h.contains("Basic"))), "A was not asked");
    // B has no pull requests: the automatic one says so, and so do the endpoints.
    let events = serde_json::to_string(&app.events(&token, &id_b).await).unwrap();
    assert!(events.contains("This host has no pull requests"), "{events}");
    let pr =
        json(get(&app, &token, &format!("/api/v1/tasks/{id_b}/pull-request")).await, 422).await;
    assert!(pr["detail"].as_str().unwrap().starts_with("This host has no pull requests"), "{pr}");

    // On A: cloned, pushed and its pull request opened with A's token (no OAuth sign-in).
    let url_a = format!("{}/octo-org/app", a.base);
    let task = app
        .create_task(&token, json!({"repo_url": url_a, "agent": "claude", "create_pr": true, "prompt": "On A [[write:a.txt=a]]"}))
        .await;
    let id_a = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id_a, "the run on A", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["pr_number"].is_i64(), "the pull request was opened with the PAT: {done}");
    assert!(a.received_secret(token_a), "A got its own token");

    assert!(!a.received_secret(token_b), "B's token was sent to A");
    assert!(!b.received_secret(token_a), "A's token was sent to B");
    for id in [&id_a, &id_b] {
        let events = serde_json::to_string(&app.events(&token, id).await).unwrap();
        assert!(!events.contains(token_a) && !events.contains(token_b), "a token in the events");
    }
}

#[actix_web::test]
async fn repository_urls_on_private_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("ssrf").await;
    for url in [
        "https://10.0.0.8/a/b.git",
        "https://169.254.169.254/a/b",
        "https://127.0.0.1/a/b",
        "https://[::1]/a/b",
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"repo_url": url, "agent": "claude", "prompt": "x"}))
            .send()
            .await
            .unwrap();
        let problem = json(res, 422).await;
        assert!(problem["errors"]["repo_url"].is_array(), "{url}: {problem}");
    }
}

fn drydock(app: &TestApp) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_drydock"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("DRYDOCK_MASTER_KEY", crate::support::TEST_MASTER_KEY)
        .env("RUST_LOG", "warn");
    cmd
}

#[actix_web::test]
async fn operators_add_list_and_remove_credentials_with_the_cli() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("ops-user").await;
    let secret = "glpat-from-stdin-000042";
    let mut child = drydock(&app)
        .args([
            "git-credentials",
            "add",
            "--user",
            "ops-user",
            "--host",
            "GitLab.example",
            "--kind",
            "gitlab",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = json(get(&app, &token, PATH).await, 200).await;
    assert_eq!(listed[0]["host"], "gitlab.example");
    assert_eq!(listed[0]["api_url"], "https://gitlab.example/api/v4");
    assert_eq!(listed[0]["token_last4"], "0042");

    let out = drydock(&app)
        .args([
            "git-credentials",
            "add",
            "--user",
            "ops-user",
            "--host",
            "git.example",
            "--kind",
            "git",
            "--token-env",
            "GIT_TOKEN",
        ])
        .env("GIT_TOKEN", "plain-from-env-0043")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out =
        drydock(&app).args(["git-credentials", "list", "--user", "ops-user"]).output().unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("gitlab.example") && listing.contains("git.example"), "{listing}");
    assert!(!listing.contains(secret) && !listing.contains("plain-from-env-0043"), "{listing}");

    let out = drydock(&app)
        .args([
            "git-credentials",
            "add",
            "--user",
            "ops-user",
            "--host",
            "10.0.0.1",
            "--kind",
            "git",
            "--token-env",
            "GIT_TOKEN",
        ])
        .env("GIT_TOKEN", "plain-from-env-0043")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("host"), "the reason names the field");

    let out = drydock(&app)
        .args(["git-credentials", "remove", "--user", "ops-user", "--host", "gitlab.example"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = json(get(&app, &token, PATH).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let out = drydock(&app)
        .args(["git-credentials", "remove", "--user", "ops-user", "--host", "gitlab.example"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "removing what is not there fails");
}
