//! Gitea and Forgejo: the repository picker and browser under `/api/v1/forges/{host}`, tasks
//! from its issues, pull requests and commits, a task's pull request from open to merged
//! (every merge method), its comments and commit statuses, and Gitea's failures as problems,
//! against the fake Gitea on 127.0.0.1.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::db::schema::tasks;
use drydock_api::forges::ForgeKind;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::forge_gitlab::{finished_task, ls_remote, with_http_repos};
use crate::support::fake_gitea::{FakeGitea, Inject, LOGIN};
use crate::support::{json, spec, TestApp};

async fn setup() -> (TestApp, FakeGitea) {
    let gt = FakeGitea::start().await;
    gt.with(|s| s.orgs = vec!["crew".into()]);
    let app = TestApp::spawn_with(&with_http_repos(&format!(
        "[tasks]\negress_allow = [\"{}\"]\n",
        gt.host()
    )))
    .await;
    (app, gt)
}

async fn gitea_user(app: &TestApp, gt: &FakeGitea, name: &str) -> (Uuid, String, String) {
    let (id, token) = app.user_with_token(name).await;
    let gt_token = gt.token();
    app.grant_forge(id, ForgeKind::Gitea, &gt.api_url(), &gt_token).await;
    (id, token, gt_token)
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

fn detail(body: &Value) -> String {
    body["detail"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn owners_repositories_search_pagination_and_failures() {
    let (app, gt) = setup().await;
    gt.with(|s| s.orgs.extend((0..60).map(|i| format!("org-{i:02}"))));
    gt.add_repo(LOGIN, "dotted.name", false);
    gt.add_repo(LOGIN, "plain", true);
    gt.add_repo("crew", "my.app", true);
    gt.add_repo("strangers", "hidden", true);
    let (_, token, gt_token) = gitea_user(&app, &gt, "gwen").await;
    let base = format!("/api/v1/forges/{}", gt.host());

    let owners = json(get(&app, &token, &format!("{base}/owners")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/owners", 200, &owners);
    assert_eq!(owners["items"].as_array().unwrap().len(), 62, "across pages: {owners}");
    assert_eq!(owners["items"][1]["login"], "crew");
    assert!(!owners.to_string().contains(&gt_token));

    let first = json(get(&app, &token, &format!("{base}/repos?limit=2")).await, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second =
        json(get(&app, &token, &format!("{base}/repos?limit=2&cursor={cursor}")).await, 200).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());
    assert!(
        gt.seen().iter().any(|(_, p)| p == "/api/v1/user/repos?limit=2&page=2"),
        "{:?}",
        gt.seen()
    );

    let org = json(get(&app, &token, &format!("{base}/repos?owner=crew")).await, 200).await;
    assert_eq!(org["items"].as_array().unwrap().len(), 1);
    let found = json(get(&app, &token, &format!("{base}/repos?q=dot")).await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["full_name"], "gt.user/dotted.name");
    let none = json(get(&app, &token, &format!("{base}/repos?owner=crew&q=dot")).await, 200).await;
    assert_eq!(none["items"], json!([]));

    let repo = json(get(&app, &token, &format!("{base}/repo?path=crew/my.app")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo", 200, &repo);
    assert_eq!(repo["repo_url"], format!("{}/crew/my.app.git", gt.base));
    assert_eq!(repo["language"], Value::Null, "Gitea's empty language is none");
    json(get(&app, &token, &format!("{base}/repo?path=crew/nope")).await, 404).await;
    let invalid = json(get(&app, &token, &format!("{base}/repo?path=a/b/c")).await, 422).await;
    assert!(invalid["errors"]["path"].is_array(), "Gitea paths are owner/name: {invalid}");

    let path = format!("{base}/repo?path=crew/my.app");
    gt.with(|s| s.inject = Some(Inject::Unauthorized));
    let res = json(get(&app, &token, &path).await, 422).await;
    assert!(detail(&res).contains("Gitea rejected your token"), "{res}");
    gt.with(|s| s.inject = Some(Inject::Forbidden));
    let res = json(get(&app, &token, &path).await, 403).await;
    assert!(detail(&res).contains("write:repository"), "{res}");
    gt.with(|s| s.inject = Some(Inject::NotFound));
    json(get(&app, &token, &path).await, 404).await;
}

#[actix_web::test]
async fn browsing_and_tasks_from_issues_pulls_and_commits() {
    let (app, gt) = setup().await;
    gt.add_repo("crew", "app", false);
    let issue = gt.add_issue("crew", "app", "Crash on start", "Stack trace here");
    let pull = gt.add_pull("crew", "app", "Add login", "feature/login", false);
    let fork = gt.add_pull("crew", "app", "From a fork", "patch-1", true);
    gt.add_commit("crew", "app", "0123456789abcdef0123456789abcdef01234567", "Break things");
    let (_, token, _) = gitea_user(&app, &gt, "tia").await;
    let base = format!("/api/v1/forges/{}/repo", gt.host());
    let at = "path=crew/app";

    let commits = json(get(&app, &token, &format!("{base}/commits?{at}")).await, 200).await;
    assert_eq!(commits["items"][0]["author_login"], "ann");
    let issues = json(get(&app, &token, &format!("{base}/issues?{at}")).await, 200).await;
    assert_eq!(issues["items"].as_array().unwrap().len(), 1, "pull requests left out: {issues}");
    let pulls = json(get(&app, &token, &format!("{base}/pulls?{at}")).await, 200).await;
    assert_eq!(pulls["items"].as_array().unwrap().len(), 2);

    let task = json(
        post(&app, &token, &format!("{base}/issues/{issue}/task?{at}"), json!({"agent": "claude"}))
            .await,
        201,
    )
    .await;
    assert_eq!(task["prompt"], format!("Fix issue #{issue}: Crash on start\n\nStack trace here"));
    assert_eq!(task["repo_url"], format!("{}/crew/app.git", gt.base));
    // A pull request's number is not an issue's.
    json(
        post(&app, &token, &format!("{base}/issues/{pull}/task?{at}"), json!({"agent": "claude"}))
            .await,
        404,
    )
    .await;
    let task = json(
        post(&app, &token, &format!("{base}/pulls/{pull}/task?{at}"), json!({"agent": "claude"}))
            .await,
        201,
    )
    .await;
    assert_eq!(task["prompt"], format!("Work on PR #{pull}: Add login\n\nPR body"));
    assert_eq!(task["branch_name"], "feature/login");
    let res = json(
        post(&app, &token, &format!("{base}/pulls/{fork}/task?{at}"), json!({"agent": "claude"}))
            .await,
        422,
    )
    .await;
    assert!(detail(&res).contains("fork"), "{res}");
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/commits/0123456/revert-task?{at}"),
            json!({"agent": "claude"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(task["title"], "Revert commit 0123456: Break things");
}

#[actix_web::test]
async fn a_task_pull_request_from_open_to_merged() {
    let (app, gt) = setup().await;
    gt.add_repo("crew", "app", false);
    let branch = "drydock/feature-x2";
    gt.add_branch("crew", "app", branch, &"d".repeat(40));
    let (_, token, _) = gitea_user(&app, &gt, "pia").await;
    let repo_url = format!("{}/crew/app.git", gt.base);
    let id = finished_task(&app, &repo_url, &token, branch).await;
    let pr_path = format!("/api/v1/tasks/{id}/pull-request");

    let forge = json(get(&app, &token, &format!("/api/v1/tasks/{id}/forge")).await, 200).await;
    assert_eq!(forge["kind"], "gitea");
    assert_eq!(forge["request_noun"], "pull request");
    assert_eq!(forge["merge_methods"], json!(["squash", "merge", "rebase"]));

    gt.repo("crew", "app", |r| {
        r.statuses.insert("d".repeat(40), vec![
            json!({"id": 4, "context": "ci/test", "status": "success", "target_url": "http://ci/4", "created_at": "2026-01-02T00:00:00Z", "updated_at": "2026-01-02T00:05:00Z"}),
            json!({"id": 5, "context": "ci/lint", "status": "pending", "target_url": ""}),
        ]);
    });
    let checks = json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 200).await;
    assert_eq!(checks["head_sha"], "d".repeat(40));
    assert_eq!(checks["check_runs"][0]["conclusion"], "success");
    assert_eq!(checks["check_runs"][1]["status"], "in_progress");
    assert_eq!(checks["check_runs"][1]["html_url"], Value::Null);

    let pr = json(post(&app, &token, &pr_path, json!({"title": "My feature"})).await, 201).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 201, &pr);
    assert_eq!(
        gt.last_body("POST", "/pulls").unwrap(),
        json!({"title": "My feature", "body": "I added the feature.", "head": branch, "base": "main"})
    );
    let n = pr["number"].as_i64().unwrap();
    let other = finished_task(&app, &repo_url, &token, branch).await;
    let dup = json(
        post(&app, &token, &format!("/api/v1/tasks/{other}/pull-request"), json!({})).await,
        409,
    )
    .await;
    assert!(detail(&dup).contains("already exists"), "{dup}");

    gt.repo("crew", "app", |r| {
        r.comments.insert(n, vec![json!({"id": 8, "body": "Looks good", "user": {"login": "rev"}, "html_url": "http://x/8", "created_at": "2026-01-03T00:00:00Z"})]);
        r.review_comments.insert(n, vec![json!({"id": 7, "body": "Nit", "user": {"login": "rev"}, "path": "src/lib.rs", "html_url": "http://x/7", "created_at": "2026-01-02T00:00:00Z"})]);
    });
    let comments = json(get(&app, &token, &format!("{pr_path}/comments")).await, 200).await;
    let kinds: Vec<&str> =
        comments["items"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["review", "issue"]);

    let closed = json(post(&app, &token, &format!("{pr_path}/close"), json!({})).await, 200).await;
    assert_eq!(closed["status"], "closed");
    let reopened =
        json(post(&app, &token, &format!("{pr_path}/reopen"), json!({})).await, 200).await;
    assert_eq!(reopened["status"], "open");

    gt.with(|s| s.merge_conflict = true);
    let res = json(
        post(&app, &token, &format!("{pr_path}/merge"), json!({"method": "rebase"})).await,
        409,
    )
    .await;
    assert!(detail(&res).contains("conflicts"), "{res}");
    gt.with(|s| s.merge_conflict = false);

    let task_id: Uuid = id.parse().unwrap();
    let mut conn = app.pool.get().await.unwrap();
    diesel::update(tasks::table.find(task_id))
        .set(tasks::sandbox_id.eq("t-gone"))
        .execute(&mut conn)
        .await
        .unwrap();
    let merged = json(
        post(
            &app,
            &token,
            &format!("{pr_path}/merge"),
            json!({"method": "rebase", "message": "Body"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merge_sha"].as_str().unwrap().len(), 40);
    assert_eq!(
        gt.last_body("POST", "/merge").unwrap(),
        json!({"Do": "rebase", "MergeMessageField": "Body"})
    );
    let sandbox: Option<String> =
        tasks::table.find(task_id).select(tasks::sandbox_id).first(&mut conn).await.unwrap();
    assert_eq!(sandbox, None);
    // A merged pull request cannot be merged again: Gitea's 405 is a 409.
    json(post(&app, &token, &format!("{pr_path}/merge"), json!({})).await, 409).await;
}

#[actix_web::test]
async fn git_smart_http_takes_the_token_as_any_users_password() {
    let gt = FakeGitea::start().await;
    gt.git_repo("crew", "web.app");
    let token = gt.token();
    let host = gt.host();
    let ok = ls_remote(format!("http://anyone:{token}@{host}/crew/web.app.git")).await;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let refused = ls_remote(format!("http://anyone:wrong@{host}/crew/web.app.git")).await;
    assert!(!refused.status.success());
}
