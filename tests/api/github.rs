//! GitHub: repositories, owners, tasks from issues / pull requests / commits, a task's pull
//! request (open, sync, merge, close, reopen, comments, checks), the automatic pull request,
//! and GitHub's failures as problems. Everything runs against the fake GitHub on 127.0.0.1,
//! which checks the token and the request bodies.

// Helpers here panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::db::schema::{identities, task_messages, tasks};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fake_github::{Inject, LOGIN};
use crate::support::{finished, json, spec, FakeGithub, TestApp, TEST_MASTER_KEY};

/// An app wired to a fresh fake GitHub.
pub(crate) async fn setup(extra: &str) -> (TestApp, FakeGithub) {
    let gh = FakeGithub::start().await;
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    let app = TestApp::spawn_with(&format!("{}{extra}", gh.settings_toml())).await;
    (app, gh)
}

/// Gives the user a GitHub identity with a token the fake accepts; returns the token.
async fn connect(app: &TestApp, gh: &FakeGithub, user_id: Uuid) -> String {
    let token = format!("gho_{}", Uuid::new_v4().simple());
    gh.with(|s| s.tokens.push(token.clone()));
    let secrets =
        drydock_api::crypto::SecretBox::from_config(&TEST_MASTER_KEY.to_owned().into(), &[])
            .unwrap();
    let mut conn = app.pool.get().await.unwrap();
    let external_id = format!("gh-{user_id}");
    let sealed = drydock_api::accounts::model::seal_identity_token(
        &secrets,
        user_id,
        "github",
        &external_id,
        drydock_api::accounts::model::IdentityToken::Access,
        &token,
    )
    .unwrap();
    diesel::insert_into(identities::table)
        .values((
            identities::id.eq(Uuid::new_v4()),
            identities::user_id.eq(user_id),
            identities::provider.eq("github"),
            identities::external_id.eq(external_id),
            identities::login.eq(LOGIN),
            identities::access_token_enc.eq(sealed),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    token
}

/// A user with a Drydock token and a connected GitHub account; returns (Drydock token, GitHub token).
pub(crate) async fn github_user(app: &TestApp, gh: &FakeGithub, name: &str) -> (String, String) {
    let (id, token) = app.user_with_token(name).await;
    (token, connect(app, gh, id).await)
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

fn problem_detail(body: &Value) -> String {
    body["detail"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn owners_repos_search_and_pagination_with_dotted_names() {
    let (app, gh) = setup("").await;
    // 120 more organisations force `/user/orgs` onto a second page.
    gh.with(|s| s.orgs.extend((0..120).map(|i| format!("org-{i:03}"))));
    gh.add_repo(LOGIN, "dotted.name.js", false);
    gh.add_repo(LOGIN, "plain", true);
    gh.add_repo("octo-org", "my.app", true);
    gh.add_repo("octo-org", "other", false);
    let (token, gh_token) = github_user(&app, &gh, "rita").await;

    let owners = json(get(&app, &token, "/api/v1/github/owners").await, 200).await;
    spec::assert_valid("get", "/api/v1/github/owners", 200, &owners);
    let items = owners["items"].as_array().unwrap();
    assert_eq!(items.len(), 122, "the user plus every organisation, across pages");
    assert_eq!(items[0]["login"], LOGIN);
    assert_eq!(items[0]["kind"], "user");
    assert_eq!(items[1]["login"], "octo-org");
    assert_eq!(items[1]["kind"], "organization");
    let seen = gh.with(|s| s.requests.clone());
    assert!(
        seen.iter().any(|(_, path, _)| path.contains("/user/orgs?") && path.contains("page=2")),
        "followed rel=next: {seen:?}"
    );
    assert!(
        !serde_json::to_string(&owners).unwrap().contains(&gh_token),
        "the token never leaves the server"
    );

    // All repositories, two per page.
    let first = json(get(&app, &token, "/api/v1/github/repos?limit=2").await, 200).await;
    spec::assert_valid("get", "/api/v1/github/repos", 200, &first);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = json(
        get(&app, &token, &format!("/api/v1/github/repos?limit=2&cursor={cursor}")).await,
        200,
    )
    .await;
    let mut names: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|r| r["full_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["octo-org/my.app", "octo-org/other", "octo.cat/dotted.name.js", "octo.cat/plain"]
    );
    assert!(second.get("next_cursor").is_none());
    let bad =
        json(get(&app, &token, "/api/v1/github/repos?cursor=https://evil.example/").await, 422)
            .await;
    assert!(bad["errors"]["cursor"].is_array());

    // An organisation's repositories, and a search in them.
    let org = json(get(&app, &token, "/api/v1/github/repos?owner=octo-org").await, 200).await;
    assert_eq!(org["items"].as_array().unwrap().len(), 2);
    let found =
        json(get(&app, &token, "/api/v1/github/repos?owner=octo-org&q=my").await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["name"], "my.app");
    let search = gh.with(|s| {
        s.requests
            .iter()
            .rev()
            .find(|(_, p, _)| p.contains("/search/repositories"))
            .cloned()
            .unwrap()
    });
    assert!(search.1.contains("user%3Aocto-org"), "{search:?}");

    // One repository: names with dots, the default branch, the URL tasks use.
    let repo =
        json(get(&app, &token, "/api/v1/github/repos/octo.cat/dotted.name.js").await, 200).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}", 200, &repo);
    assert_eq!(repo["name"], "dotted.name.js");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["repo_url"], format!("{}/octo.cat/dotted.name.js", gh.base));
    let missing = json(get(&app, &token, "/api/v1/github/repos/octo-org/nope.js").await, 404).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}", 404, &missing);
}

#[actix_web::test]
async fn creating_repositories_for_the_user_an_org_and_from_a_template() {
    let (app, gh) = setup("").await;
    gh.add_repo("templates", "next.starter", false);
    let (token, _) = github_user(&app, &gh, "cora").await;

    let res = post(
        &app,
        &token,
        "/api/v1/github/repos",
        json!({"name": "fresh.repo", "description": "new"}),
    )
    .await;
    let created = json(res, 201).await;
    spec::assert_valid("post", "/api/v1/github/repos", 201, &created);
    assert_eq!(created["full_name"], "octo.cat/fresh.repo");
    assert_eq!(created["private"], true, "private by default");
    let body = gh.with(|s| {
        s.requests
            .iter()
            .rev()
            .find(|(m, p, _)| m == "POST" && p == "/api/user/repos")
            .cloned()
            .unwrap()
            .2
    });
    assert_eq!(
        body,
        json!({"name": "fresh.repo", "description": "new", "private": true, "auto_init": true})
    );

    let org = json(
        post(
            &app,
            &token,
            "/api/v1/github/repos",
            json!({"name": "team-app", "owner": "octo-org", "private": false}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(org["full_name"], "octo-org/team-app");
    assert_eq!(org["private"], false);

    let generated = json(
        post(
            &app,
            &token,
            "/api/v1/github/repos",
            json!({"name": "site", "template": "templates/next.starter"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(generated["full_name"], "octo.cat/site");
    assert_eq!(
        gh.repo(LOGIN, "site", |r| r.template.clone()).as_deref(),
        Some("templates/next.starter")
    );

    let dup =
        json(post(&app, &token, "/api/v1/github/repos", json!({"name": "fresh.repo"})).await, 409)
            .await;
    spec::assert_valid("post", "/api/v1/github/repos", 409, &dup);
    assert!(problem_detail(&dup).contains("already exists"), "{dup}");
    let invalid = json(
        post(&app, &token, "/api/v1/github/repos", json!({"name": "bad name/..", "template": "x"}))
            .await,
        422,
    )
    .await;
    assert!(
        invalid["errors"]["name"].is_array() && invalid["errors"]["template"].is_array(),
        "{invalid}"
    );
}

#[actix_web::test]
async fn github_failures_become_clear_problems() {
    let (app, gh) = setup("").await;
    gh.add_repo("octo-org", "my.app", false);
    let path = "/api/v1/github/repos/octo-org/my.app";

    // No GitHub account connected.
    let (_, plain) = app.user_with_token("nogithub").await;
    let res = json(get(&app, &plain, path).await, 422).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}", 422, &res);
    assert!(problem_detail(&res).contains("sign in with GitHub"), "{res}");

    let (token, gh_token) = github_user(&app, &gh, "errs").await;
    json(get(&app, &token, path).await, 200).await;
    let sent = gh.with(|s| s.requests.last().cloned().unwrap());
    assert_eq!(sent.1, "/api/repos/octo-org/my.app");

    // Rate limit: 403 with x-ratelimit-remaining 0 → 429 with GitHub's reset time.
    gh.with(|s| s.inject = Some(Inject::RateLimit));
    let res = get(&app, &token, path).await;
    assert!(res.headers().get("retry-after").is_some());
    let body = json(res, 429).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}", 429, &body);
    assert_eq!(body["reset_at"], "2100-01-01T00:00:00Z");
    assert!(problem_detail(&body).contains("rate limit"));

    // Secondary rate limit: 429 with Retry-After.
    gh.with(|s| s.inject = Some(Inject::TooManyRequests));
    let res = get(&app, &token, path).await;
    let secs: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((100..=120).contains(&secs), "{secs}");
    json(res, 429).await;

    // A permission problem.
    gh.with(|s| s.inject = Some(Inject::Forbidden));
    let body = json(get(&app, &token, path).await, 403).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}", 403, &body);
    assert!(problem_detail(&body).contains("Resource not accessible"), "{body}");
    gh.with(|s| s.inject = None);

    // A missing repository.
    json(get(&app, &token, "/api/v1/github/repos/octo-org/gone").await, 404).await;
    // Names GitHub cannot have never reach it.
    json(get(&app, &token, "/api/v1/github/repos/octo-org/..").await, 404).await;

    // A revoked token: sign in with GitHub again.
    gh.with(|s| s.revoked.push(gh_token.clone()));
    let body = json(get(&app, &token, path).await, 422).await;
    assert!(problem_detail(&body).contains("Sign in with GitHub again"), "{body}");
}

#[actix_web::test]
async fn commits_issues_pulls_and_tasks_created_from_them() {
    let (app, gh) = setup("").await;
    gh.add_repo("octo-org", "my.app", false);
    let issue = gh.add_issue("octo-org", "my.app", "Crash on start", "Stack trace here");
    let pull = gh.add_pull("octo-org", "my.app", "Add login", "feature/login", false);
    let fork = gh.add_pull("octo-org", "my.app", "From a fork", "patch-1", true);
    gh.add_commit(
        "octo-org",
        "my.app",
        "0123456789abcdef0123456789abcdef01234567",
        "Break things\n\nDetails",
    );
    let (token, _) = github_user(&app, &gh, "tess").await;
    let base = "/api/v1/github/repos/octo-org/my.app";

    let commits = json(get(&app, &token, &format!("{base}/commits?limit=5")).await, 200).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}/commits", 200, &commits);
    assert_eq!(commits["items"][0]["author_login"], "ann");
    let issues = json(get(&app, &token, &format!("{base}/issues")).await, 200).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}/issues", 200, &issues);
    assert_eq!(
        issues["items"].as_array().unwrap().len(),
        1,
        "pull requests are left out: {issues}"
    );
    assert_eq!(issues["items"][0]["labels"], json!(["bug"]));
    let pulls = json(get(&app, &token, &format!("{base}/pulls")).await, 200).await;
    spec::assert_valid("get", "/api/v1/github/repos/{owner}/{repo}/pulls", 200, &pulls);
    assert_eq!(pulls["items"].as_array().unwrap().len(), 2);

    // From an issue.
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/issues/{issue}/task"),
            json!({"agent": "claude", "prompt_extra": "Add a test."}),
        )
        .await,
        201,
    )
    .await;
    spec::assert_valid(
        "post",
        "/api/v1/github/repos/{owner}/{repo}/issues/{number}/task",
        201,
        &task,
    );
    assert_eq!(
        task["prompt"],
        format!("Fix issue #{issue}: Crash on start\n\nStack trace here\n\nAdd a test.")
    );
    assert_eq!(task["title"], format!("Fix issue #{issue}: Crash on start"));
    assert_eq!(task["repo_url"], format!("{}/octo-org/my.app", gh.base));
    assert_eq!(task["status"], "pending");
    let quota = json(get(&app, &token, "/api/v1/me/quota").await, 200).await;
    assert_eq!(quota["used"], 1, "counted like any task");
    json(
        post(&app, &token, &format!("{base}/issues/{pull}/task"), json!({"agent": "claude"})).await,
        422,
    )
    .await;
    let invalid = json(
        post(&app, &token, &format!("{base}/issues/{issue}/task"), json!({"agent": "nope"})).await,
        422,
    )
    .await;
    assert!(invalid["errors"]["agent"].is_array());

    // From a pull request: works on its head branch and is linked to it.
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/pulls/{pull}/task"),
            json!({"agent": "claude", "model": "sonnet"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(task["prompt"], format!("Work on PR #{pull}: Add login\n\nPR body"));
    assert_eq!(task["base_branch"], "feature/login");
    assert_eq!(task["branch_name"], "feature/login");
    assert_eq!(task["pr_number"], pull);
    assert_eq!(task["create_pr"], false);
    let id = task["id"].as_str().unwrap();
    let pr = json(get(&app, &token, &format!("/api/v1/tasks/{id}/pull-request")).await, 200).await;
    assert_eq!(pr["head"], "feature/login");
    let res = json(
        post(&app, &token, &format!("{base}/pulls/{fork}/task"), json!({"agent": "claude"})).await,
        422,
    )
    .await;
    assert!(problem_detail(&res).contains("fork"), "{res}");

    // Reverting a commit.
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/commits/0123456789abcdef0123456789abcdef01234567/revert-task"),
            json!({"agent": "claude", "create_pr": true}),
        )
        .await,
        201,
    )
    .await;
    spec::assert_valid(
        "post",
        "/api/v1/github/repos/{owner}/{repo}/commits/{sha}/revert-task",
        201,
        &task,
    );
    assert_eq!(task["title"], "Revert commit 0123456: Break things");
    assert!(task["prompt"]
        .as_str()
        .unwrap()
        .contains("git revert 0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(task["create_pr"], true);
    json(
        post(&app, &token, &format!("{base}/commits/zzz/revert-task"), json!({"agent": "claude"}))
            .await,
        404,
    )
    .await;
    json(
        post(
            &app,
            &token,
            "/api/v1/github/repos/octo-org/missing/issues/1/task",
            json!({"agent": "claude"}),
        )
        .await,
        404,
    )
    .await;
}

/// A finished task on the fake's `octo-org/my.app`, pushed to `branch`.
async fn finished_task(app: &TestApp, gh: &FakeGithub, token: &str, branch: &str) -> String {
    let repo_url = format!("{}/octo-org/my.app", gh.base);
    let task = app
        .create_task(
            token,
            json!({"repo_url": repo_url, "agent": "claude", "prompt": "Add a feature"}),
        )
        .await;
    let id: Uuid = task["id"].as_str().unwrap().parse().unwrap();
    gh.repo("octo-org", "my.app", |r| r.branches.insert(branch.to_owned(), "d".repeat(40)));
    let mut conn = app.pool.get().await.unwrap();
    diesel::update(tasks::table.find(id))
        .set((
            tasks::status.eq("completed"),
            tasks::stage.eq("done"),
            tasks::branch_name.eq(branch),
            tasks::base_branch.eq("main"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::insert_into(task_messages::table)
        .values((
            task_messages::id.eq(Uuid::new_v4()),
            task_messages::task_id.eq(id),
            task_messages::role.eq("agent"),
            task_messages::content.eq("I added the feature."),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    id.to_string()
}

#[actix_web::test]
async fn a_task_pull_request_from_open_to_merged() {
    let (app, gh) = setup("").await;
    gh.add_repo("octo-org", "my.app", false);
    let (token, _) = github_user(&app, &gh, "pat").await;
    let id = finished_task(&app, &gh, &token, "drydock/add-a-feature-x1").await;
    let pr_path = format!("/api/v1/tasks/{id}/pull-request");

    json(get(&app, &token, &pr_path).await, 404).await;
    let checks = json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/checks", 200, &checks);
    assert_eq!(checks["head_sha"], "d".repeat(40));
    assert_eq!(checks["check_runs"], json!([]));

    // Open it with the defaults: task title, the agent's final message, the base branch.
    let pr = json(post(&app, &token, &pr_path, json!({})).await, 201).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 201, &pr);
    assert_eq!(pr["status"], "open");
    assert_eq!(pr["head"], "drydock/add-a-feature-x1");
    assert_eq!(pr["base"], "main");
    let sent = gh.with(|s| {
        s.requests
            .iter()
            .rev()
            .find(|(m, p, _)| m == "POST" && p.ends_with("/pulls"))
            .cloned()
            .unwrap()
            .2
    });
    assert_eq!(
        sent,
        json!({"title": "Add a feature", "body": "I added the feature.", "head": "drydock/add-a-feature-x1", "base": "main"})
    );
    let n = pr["number"].as_i64().unwrap();
    let task = json(get(&app, &token, &format!("/api/v1/tasks/{id}")).await, 200).await;
    assert_eq!(task["pr_number"], n);
    assert_eq!(task["pr_url"], pr["url"]);
    // Asking again returns the same pull request.
    let again = json(post(&app, &token, &pr_path, json!({"title": "ignored"})).await, 200).await;
    assert_eq!(again["number"], n);

    // Another task on the same branch: GitHub's "already exists" is a 409.
    let other = finished_task(&app, &gh, &token, "drydock/add-a-feature-x1").await;
    let dup = json(
        post(&app, &token, &format!("/api/v1/tasks/{other}/pull-request"), json!({})).await,
        409,
    )
    .await;
    assert!(problem_detail(&dup).contains("already exists"), "{dup}");

    // Comments, both kinds, oldest first.
    gh.repo("octo-org", "my.app", |r| {
        r.issue_comments.insert(n, vec![json!({"id": 3, "user": {"login": "rev", "avatar_url": "https://a/r.png"}, "body": "Looks good", "html_url": "https://x/3", "created_at": "2026-01-03T00:00:00Z"})]);
        r.review_comments.insert(n, vec![json!({"id": 2, "user": {"login": "rev"}, "body": "Nit", "path": "src/lib.rs", "html_url": "https://x/2", "created_at": "2026-01-02T00:00:00Z"})]);
        r.check_runs.insert("d".repeat(40), vec![json!({"id": 9, "name": "ci / test", "status": "completed", "conclusion": "success", "html_url": "https://ci/9", "started_at": "2026-01-02T00:00:00Z", "completed_at": "2026-01-02T00:05:00Z"})]);
    });
    let comments = json(get(&app, &token, &format!("{pr_path}/comments")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/pull-request/comments", 200, &comments);
    let kinds: Vec<&str> =
        comments["items"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["review", "issue"]);
    assert_eq!(comments["items"][0]["path"], "src/lib.rs");
    let checks = json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 200).await;
    assert_eq!(checks["check_runs"][0]["conclusion"], "success");

    // Close and reopen.
    let closed = json(post(&app, &token, &format!("{pr_path}/close"), json!({})).await, 200).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request/close", 200, &closed);
    assert_eq!(closed["status"], "closed");
    let reopened =
        json(post(&app, &token, &format!("{pr_path}/reopen"), json!({})).await, 200).await;
    assert_eq!(reopened["status"], "open");

    // Conflicts: GitHub's 405 and 409 are both a 409 problem.
    for status in [405, 409] {
        gh.with(|s| s.merge_conflict = Some(status));
        let res = json(
            post(&app, &token, &format!("{pr_path}/merge"), json!({"method": "rebase"})).await,
            409,
        )
        .await;
        spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request/merge", 409, &res);
        assert!(problem_detail(&res).contains("conflicts"), "{res}");
    }
    gh.with(|s| s.merge_conflict = None);

    // Merge: squash by default, the sandbox is released, the merge commit recorded.
    let mut conn = app.pool.get().await.unwrap();
    diesel::update(tasks::table.find(id.parse::<Uuid>().unwrap()))
        .set(tasks::sandbox_id.eq("t-gone"))
        .execute(&mut conn)
        .await
        .unwrap();
    let merged = json(
        post(&app, &token, &format!("{pr_path}/merge"), json!({"title": "Feature (#1)"})).await,
        200,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request/merge", 200, &merged);
    assert_eq!(merged["status"], "merged");
    assert!(merged["merge_sha"].as_str().unwrap().len() == 40);
    let sent =
        gh.with(|s| s.requests.iter().rev().find(|(m, _, _)| m == "PUT").cloned().unwrap().2);
    assert_eq!(sent, json!({"merge_method": "squash", "commit_title": "Feature (#1)"}));
    let task_id = id.parse::<Uuid>().unwrap();
    let sandbox: Option<String> =
        tasks::table.find(task_id).select(tasks::sandbox_id).first(&mut conn).await.unwrap();
    use drydock_api::db::schema::task_pull_requests as prs;
    let (status, sha): (String, Option<String>) = prs::table
        .find(task_id)
        .select((prs::status, prs::merge_sha))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(sandbox, None, "merging releases the kept-alive sandbox");
    assert_eq!(status, "merged");
    assert_eq!(sha.as_deref(), merged["merge_sha"].as_str());
    let synced = json(get(&app, &token, &pr_path).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/pull-request", 200, &synced);
    assert_eq!(synced["status"], "merged");
}

#[actix_web::test]
async fn pull_requests_need_a_github_repository() {
    let (app, gh) = setup("[tasks]\nallow_local_repos = true\n").await;
    let (token, _) = github_user(&app, &gh, "lou").await;
    for repo_url in ["/srv/git/app.git", "https://gitlab.example/team/app.git"] {
        let task = app
            .create_task(&token, json!({"repo_url": repo_url, "agent": "claude", "prompt": "x"}))
            .await;
        let id = task["id"].as_str().unwrap();
        let res = json(
            post(&app, &token, &format!("/api/v1/tasks/{id}/pull-request"), json!({})).await,
            422,
        )
        .await;
        spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 422, &res);
        assert!(problem_detail(&res).contains("This host has no pull requests"), "{res}");
        json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 422).await;
    }
    // Someone else's task is not found.
    let (other, _) = github_user(&app, &gh, "mo").await;
    let task = app
        .create_task(
            &token,
            json!({"repo_url": format!("{}/o/r", gh.base), "agent": "claude", "prompt": "x"}),
        )
        .await;
    json(
        get(&app, &other, &format!("/api/v1/tasks/{}/pull-request", task["id"].as_str().unwrap()))
            .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn a_run_with_create_pr_opens_the_pull_request_itself() {
    let gh = FakeGithub::start().await;
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "web.app");
    let app = TestApp::with_workers(1, &gh.settings_toml()).await;
    let (token, _) = app.agent_user("auto").await;
    let user_id: Uuid = json(get(&app, &token, "/api/v1/me").await, 200).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    connect(&app, &gh, user_id).await;

    let repo_url = format!("{}/octo-org/web.app", gh.base);
    let task = app.create_task(&token, json!({"repo_url": repo_url, "agent": "claude", "create_pr": true, "prompt": "Add a greeting [[write:hello.txt=hi]]"})).await;
    let id = task["id"].as_str().unwrap();
    let done = app.wait_for(&token, id, "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["base_branch"], "trunk");
    let branch = done["branch_name"].as_str().unwrap();
    let n = done["pr_number"].as_i64().expect("the run opened a pull request");
    assert_eq!(done["pr_url"], format!("{}/octo-org/web.app/pull/{n}", gh.base));
    let pr = gh.repo("octo-org", "web.app", |r| r.items[&n].clone());
    assert_eq!(pr["head"]["ref"], branch);
    assert_eq!(pr["base"]["ref"], "trunk");
    assert_eq!(pr["body"], "Done: Add a greeting", "the agent's final message is the body");
    let events = serde_json::to_string(&app.events(&token, id).await).unwrap();
    assert!(events.contains("Opened pull request"), "{events}");
}
