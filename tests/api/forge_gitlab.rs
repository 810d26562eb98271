//! GitLab: the repository picker and browser under `/api/v1/forges/{host}`, tasks from its
//! issues, merge requests and commits, a task's merge request from open to merged, its notes
//! and pipeline jobs, and GitLab's failures as problems. Everything runs against the fake
//! GitLab on 127.0.0.1, which checks the token and the request bodies.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::db::schema::{task_messages, tasks};
use drydock_api::forges::ForgeKind;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fake_gitlab::{FakeGitlab, Inject, USERNAME};
use crate::support::{json, spec, TestApp};

/// `settings` plus a GitHub whose API is plain http (an unused port on 127.0.0.1): task
/// creation accepts `http://` repository URLs only then, and the fakes serve plain http.
pub(crate) fn with_http_repos(settings: &str) -> String {
    format!("{settings}[github]\napi_url = \"http://127.0.0.1:9/api\"\nweb_url = \"http://127.0.0.1:9\"\n")
}

/// An app that may call the fake GitLab (its port in `tasks.egress_allow`), and the fake.
pub(crate) async fn setup() -> (TestApp, FakeGitlab) {
    let gl = FakeGitlab::start().await;
    gl.with(|s| s.groups = vec!["team".into(), "team/sub".into()]);
    let app = TestApp::spawn_with(&with_http_repos(&format!(
        "[tasks]\negress_allow = [\"{}\"]\n",
        gl.host()
    )))
    .await;
    (app, gl)
}

/// A user with a Drydock token and a GitLab token for the fake; returns (user id, Drydock
/// token, GitLab token).
pub(crate) async fn gitlab_user(
    app: &TestApp,
    gl: &FakeGitlab,
    name: &str,
) -> (Uuid, String, String) {
    let (id, token) = app.user_with_token(name).await;
    let gl_token = gl.token();
    app.grant_forge(id, ForgeKind::Gitlab, &gl.api_url(), &gl_token).await;
    (id, token, gl_token)
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
async fn owners_projects_search_and_pagination_with_nested_groups() {
    let (app, gl) = setup().await;
    // 120 more groups force `/groups` onto a second page.
    gl.with(|s| s.groups.extend((0..120).map(|i| format!("g-{i:03}"))));
    gl.add_project(&format!("{USERNAME}/dotted.name"), false);
    gl.add_project("team/app", true);
    gl.add_project("team/sub/deep.app", true);
    gl.add_project("strangers/hidden", true);
    let (_, token, gl_token) = gitlab_user(&app, &gl, "gina").await;
    let base = format!("/api/v1/forges/{}", gl.host());

    let owners = json(get(&app, &token, &format!("{base}/owners")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/owners", 200, &owners);
    let items = owners["items"].as_array().unwrap();
    assert_eq!(items.len(), 123, "the user plus every group, across pages: {owners}");
    assert_eq!(items[0]["login"], USERNAME);
    assert_eq!(items[0]["kind"], "user");
    assert_eq!(items[2]["login"], "team/sub");
    assert_eq!(items[2]["kind"], "organization");
    assert!(gl
        .seen()
        .iter()
        .any(|(_, p)| p.starts_with("/api/v4/groups?") && p.contains("page=2")));
    assert!(!owners.to_string().contains(&gl_token), "the token never leaves the server");

    // Every project the user is a member of, two per page.
    let first = json(get(&app, &token, &format!("{base}/repos?limit=2")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repos", 200, &first);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second =
        json(get(&app, &token, &format!("{base}/repos?limit=2&cursor={cursor}")).await, 200).await;
    assert!(second.get("next_cursor").is_none(), "{second}");
    let mut names: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|r| r["full_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["gl.user/dotted.name", "team/app", "team/sub/deep.app"]);
    let bad =
        json(get(&app, &token, &format!("{base}/repos?cursor=https://evil.example/")).await, 422)
            .await;
    assert!(bad["errors"]["cursor"].is_array());

    // A group's projects (with its subgroups), and a search in them.
    let group = json(get(&app, &token, &format!("{base}/repos?owner=team")).await, 200).await;
    assert_eq!(group["items"].as_array().unwrap().len(), 2);
    let found =
        json(get(&app, &token, &format!("{base}/repos?owner=team&q=deep")).await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["owner"], "team/sub");
    assert_eq!(found["items"][0]["name"], "deep.app");
    let sent =
        gl.seen().into_iter().rev().find(|(_, p)| p.contains("/groups/team/projects")).unwrap();
    assert!(
        sent.1.contains("search=deep") && sent.1.contains("include_subgroups=true"),
        "{sent:?}"
    );
    json(get(&app, &token, &format!("{base}/repos?owner=a/../b")).await, 422).await;

    // One project by its full path: the default branch and the URL tasks use.
    let repo =
        json(get(&app, &token, &format!("{base}/repo?path=team/sub/deep.app")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo", 200, &repo);
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["private"], true);
    assert_eq!(repo["repo_url"], format!("{}/team/sub/deep.app.git", gl.base));
    let sent = gl.seen().last().cloned().unwrap();
    assert_eq!(sent.1, "/api/v4/projects/team%2Fsub%2Fdeep.app", "one encoded segment");
    let missing = json(get(&app, &token, &format!("{base}/repo?path=team/nope")).await, 404).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo", 404, &missing);
    let invalid = json(get(&app, &token, &format!("{base}/repo?path=team/../x")).await, 422).await;
    assert!(invalid["errors"]["path"].is_array(), "{invalid}");
}

#[actix_web::test]
async fn gitlab_failures_become_clear_problems_without_the_token() {
    let (app, gl) = setup().await;
    gl.add_project("team/app", false);
    let (_, token, gl_token) = gitlab_user(&app, &gl, "erin").await;
    let path = format!("/api/v1/forges/{}/repo?path=team/app", gl.host());
    json(get(&app, &token, &path).await, 200).await;

    // A user without a token for the host.
    let (_, plain) = app.user_with_token("notoken").await;
    let res = json(get(&app, &plain, &path).await, 422).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo", 422, &res);
    assert!(detail(&res).contains("no token for"), "{res}");
    // A host name that cannot be one.
    json(get(&app, &token, "/api/v1/forges/a@b/owners").await, 404).await;

    // 401: the token was revoked.
    gl.with(|s| s.inject = Some(Inject::Unauthorized));
    let res = json(get(&app, &token, &path).await, 422).await;
    assert!(detail(&res).contains("GitLab rejected your token"), "{res}");
    // 403: it lacks the `api` scope.
    gl.with(|s| s.inject = Some(Inject::Forbidden));
    let res = json(get(&app, &token, &path).await, 403).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo", 403, &res);
    assert!(detail(&res).contains("lacks a scope"), "{res}");
    assert!(detail(&res).contains("insufficient_scope"), "GitLab's short reason: {res}");
    // 404.
    gl.with(|s| s.inject = Some(Inject::NotFound));
    json(get(&app, &token, &path).await, 404).await;
    gl.with(|s| s.inject = None);
    for body in gl.with(|s| s.requests.clone()) {
        assert!(!body.2.to_string().contains(&gl_token), "the token is a header only");
    }

    // A token sent to a host whose API is a private address (not allowed by the operator).
    let (id, other) = app.user_with_token("private").await;
    app.grant_forge(id, ForgeKind::Gitlab, "http://127.0.0.1:10/api/v4", "glpat-x").await;
    let res = json(get(&app, &other, "/api/v1/forges/127.0.0.1:10/owners").await, 422).await;
    assert!(detail(&res).contains("cannot be used"), "{res}");
}

#[actix_web::test]
async fn commits_issues_merge_requests_and_tasks_created_from_them() {
    let (app, gl) = setup().await;
    gl.add_project("team/sub/app", false);
    let issue = gl.add_issue("team/sub/app", "Crash on start", "Stack trace here");
    let mr = gl.add_mr("team/sub/app", "Add login", "feature/login", false);
    let fork = gl.add_mr("team/sub/app", "From a fork", "patch-1", true);
    gl.add_commit(
        "team/sub/app",
        "0123456789abcdef0123456789abcdef01234567",
        "Break things\n\nDetails",
    );
    let (_, token, _) = gitlab_user(&app, &gl, "tess").await;
    let base = format!("/api/v1/forges/{}/repo", gl.host());
    let at = "path=team/sub/app";

    let commits = json(get(&app, &token, &format!("{base}/commits?{at}&limit=5")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo/commits", 200, &commits);
    assert_eq!(commits["items"][0]["author_name"], "Ann");
    let issues = json(get(&app, &token, &format!("{base}/issues?{at}")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo/issues", 200, &issues);
    assert_eq!(issues["items"][0]["state"], "open", "GitLab's `opened` is `open`");
    assert_eq!(issues["items"][0]["labels"], json!(["bug"]));
    let pulls = json(get(&app, &token, &format!("{base}/pulls?{at}")).await, 200).await;
    spec::assert_valid("get", "/api/v1/forges/{host}/repo/pulls", 200, &pulls);
    assert_eq!(pulls["items"].as_array().unwrap().len(), 2);
    assert_eq!(pulls["items"][1]["head_ref"], "feature/login");

    // From an issue.
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/issues/{issue}/task?{at}"),
            json!({"agent": "claude", "prompt_extra": "Add a test."}),
        )
        .await,
        201,
    )
    .await;
    spec::assert_valid("post", "/api/v1/forges/{host}/repo/issues/{number}/task", 201, &task);
    assert_eq!(
        task["prompt"],
        format!("Fix issue #{issue}: Crash on start\n\nStack trace here\n\nAdd a test.")
    );
    assert_eq!(task["repo_url"], format!("{}/team/sub/app.git", gl.base));
    json(
        post(&app, &token, &format!("{base}/issues/99/task?{at}"), json!({"agent": "claude"}))
            .await,
        404,
    )
    .await;
    let invalid = json(
        post(&app, &token, &format!("{base}/issues/{issue}/task?{at}"), json!({"agent": "nope"}))
            .await,
        422,
    )
    .await;
    assert!(invalid["errors"]["agent"].is_array());

    // From a merge request: on its source branch, linked to it.
    let task = json(
        post(&app, &token, &format!("{base}/pulls/{mr}/task?{at}"), json!({"agent": "claude"}))
            .await,
        201,
    )
    .await;
    assert_eq!(task["prompt"], format!("Work on MR !{mr}: Add login\n\nMR body"));
    assert_eq!(task["branch_name"], "feature/login");
    assert_eq!(task["pr_number"], mr);
    let id = task["id"].as_str().unwrap();
    let pr = json(get(&app, &token, &format!("/api/v1/tasks/{id}/pull-request")).await, 200).await;
    assert_eq!(pr["head"], "feature/login");
    let res = json(
        post(&app, &token, &format!("{base}/pulls/{fork}/task?{at}"), json!({"agent": "claude"}))
            .await,
        422,
    )
    .await;
    assert!(detail(&res).contains("fork"), "{res}");

    // Reverting a commit.
    let task = json(
        post(
            &app,
            &token,
            &format!("{base}/commits/0123456789abcdef0123456789abcdef01234567/revert-task?{at}"),
            json!({"agent": "claude"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(task["title"], "Revert commit 0123456: Break things");
    json(
        post(
            &app,
            &token,
            &format!("{base}/commits/zzz/revert-task?{at}"),
            json!({"agent": "claude"}),
        )
        .await,
        404,
    )
    .await;
}

/// A finished task on the fake's `team/sub/app`, pushed to `branch`.
pub(crate) async fn finished_task(
    app: &TestApp,
    repo_url: &str,
    token: &str,
    branch: &str,
) -> String {
    let task = app
        .create_task(
            token,
            json!({"repo_url": repo_url, "agent": "claude", "prompt": "Add a feature"}),
        )
        .await;
    let id: Uuid = task["id"].as_str().unwrap().parse().unwrap();
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
async fn a_task_merge_request_from_open_to_merged() {
    let (app, gl) = setup().await;
    gl.add_project("team/sub/app", false);
    let branch = "drydock/add-a-feature-x1";
    gl.add_branch("team/sub/app", branch, &"d".repeat(40));
    let (_, token, _) = gitlab_user(&app, &gl, "pat").await;
    let repo_url = format!("{}/team/sub/app.git", gl.base);
    let id = finished_task(&app, &repo_url, &token, branch).await;
    let pr_path = format!("/api/v1/tasks/{id}/pull-request");

    let forge = json(get(&app, &token, &format!("/api/v1/tasks/{id}/forge")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/forge", 200, &forge);
    assert_eq!(forge["kind"], "gitlab");
    assert_eq!(forge["request_noun"], "merge request");
    assert_eq!(forge["number_prefix"], "!");
    assert_eq!(forge["repo"], "team/sub/app");
    assert_eq!(forge["merge_methods"], json!(["squash", "merge"]));

    json(get(&app, &token, &pr_path).await, 404).await;
    // Pipeline jobs of the branch head, in the check-run vocabulary.
    gl.project("team/sub/app", |p| {
        p.statuses.insert("d".repeat(40), vec![
            json!({"id": 11, "name": "test", "status": "success", "target_url": "http://ci/11", "started_at": "2026-01-02T00:00:00Z", "finished_at": "2026-01-02T00:05:00Z"}),
            json!({"id": 12, "name": "lint", "status": "running"}),
            json!({"id": 13, "name": "deploy", "status": "failed"}),
        ]);
    });
    let checks = json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/checks", 200, &checks);
    assert_eq!(checks["head_sha"], "d".repeat(40));
    let seen: Vec<(&str, &str)> = checks["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["status"].as_str().unwrap(), c["conclusion"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(seen, [("completed", "success"), ("in_progress", "-"), ("completed", "failure")]);
    assert!(
        gl.seen()
            .iter()
            .any(|(_, p)| p.ends_with("/repository/branches/drydock%2Fadd-a-feature-x1")),
        "the branch is one encoded segment: {:?}",
        gl.seen()
    );

    // Open it with the defaults.
    let pr = json(post(&app, &token, &pr_path, json!({})).await, 201).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 201, &pr);
    assert_eq!(pr["status"], "open");
    assert_eq!(pr["head"], branch);
    assert_eq!(pr["base"], "main");
    assert_eq!(pr["mergeable"], true);
    assert_eq!(
        gl.last_body("POST", "/merge_requests").unwrap(),
        json!({"source_branch": branch, "target_branch": "main", "title": "Add a feature", "description": "I added the feature."})
    );
    let n = pr["number"].as_i64().unwrap();
    let task = json(get(&app, &token, &format!("/api/v1/tasks/{id}")).await, 200).await;
    assert_eq!(task["pr_number"], n);
    assert_eq!(task["pr_url"], format!("{}/team/sub/app/-/merge_requests/{n}", gl.base));
    let again = json(post(&app, &token, &pr_path, json!({"title": "ignored"})).await, 200).await;
    assert_eq!(again["number"], n);

    // Another task on the same branch: GitLab's 409 "already exists".
    let other = finished_task(&app, &repo_url, &token, branch).await;
    let dup = json(
        post(&app, &token, &format!("/api/v1/tasks/{other}/pull-request"), json!({})).await,
        409,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 409, &dup);
    assert!(detail(&dup).contains("already exists"), "{dup}");

    // Notes: system notes left out, diff notes are review comments, oldest first.
    gl.project("team/sub/app", |p| {
        p.notes.insert(n, vec![
            json!({"id": 3, "body": "Looks good", "author": {"username": "rev", "avatar_url": "https://a/r.png"}, "system": false, "created_at": "2026-01-03T00:00:00Z"}),
            json!({"id": 2, "body": "Nit", "author": {"username": "rev"}, "system": false, "type": "DiffNote", "position": {"new_path": "src/lib.rs"}, "created_at": "2026-01-02T00:00:00Z"}),
            json!({"id": 1, "body": "added 1 commit", "author": {"username": USERNAME}, "system": true, "created_at": "2026-01-01T00:00:00Z"}),
        ]);
    });
    let comments = json(get(&app, &token, &format!("{pr_path}/comments")).await, 200).await;
    spec::assert_valid("get", "/api/v1/tasks/{id}/pull-request/comments", 200, &comments);
    let items = comments["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{comments}");
    assert_eq!(items[0]["kind"], "review");
    assert_eq!(items[0]["path"], "src/lib.rs");
    assert_eq!(
        items[1]["html_url"],
        format!("{}/team/sub/app/-/merge_requests/{n}#note_3", gl.base)
    );

    // Close and reopen.
    let closed = json(post(&app, &token, &format!("{pr_path}/close"), json!({})).await, 200).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        gl.last_body("PUT", &format!("/merge_requests/{n}")).unwrap(),
        json!({"state_event": "close"})
    );
    let reopened =
        json(post(&app, &token, &format!("{pr_path}/reopen"), json!({})).await, 200).await;
    assert_eq!(reopened["status"], "open");

    // Conflicts: GitLab's 406 is a 409 problem; rebase is not GitLab's to choose per merge.
    gl.with(|s| s.merge_conflict = true);
    let res = json(post(&app, &token, &format!("{pr_path}/merge"), json!({})).await, 409).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request/merge", 409, &res);
    assert!(detail(&res).contains("conflicts"), "{res}");
    assert!(detail(&res).contains("merge request"), "{res}");
    gl.with(|s| s.merge_conflict = false);
    let res = json(
        post(&app, &token, &format!("{pr_path}/merge"), json!({"method": "rebase"})).await,
        422,
    )
    .await;
    assert!(res["errors"]["method"].is_array(), "{res}");

    // Merge: squash by default, the sandbox released, the merge commit recorded.
    let mut conn = app.pool.get().await.unwrap();
    let task_id: Uuid = id.parse().unwrap();
    diesel::update(tasks::table.find(task_id))
        .set(tasks::sandbox_id.eq("t-gone"))
        .execute(&mut conn)
        .await
        .unwrap();
    let merged = json(
        post(&app, &token, &format!("{pr_path}/merge"), json!({"title": "Feature"})).await,
        200,
    )
    .await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request/merge", 200, &merged);
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merge_sha"].as_str().unwrap().len(), 40);
    assert_eq!(
        gl.last_body("PUT", "/merge").unwrap(),
        json!({"squash": true, "squash_commit_message": "Feature"})
    );
    let sandbox: Option<String> =
        tasks::table.find(task_id).select(tasks::sandbox_id).first(&mut conn).await.unwrap();
    assert_eq!(sandbox, None, "merging releases the kept-alive sandbox");
    let synced = json(get(&app, &token, &pr_path).await, 200).await;
    assert_eq!(synced["status"], "merged");
    // Merging again: GitLab's 405 for a merged request is a 409.
    json(post(&app, &token, &format!("{pr_path}/merge"), json!({})).await, 409).await;
}

#[actix_web::test]
async fn task_routes_turn_gitlab_failures_into_problems() {
    let (app, gl) = setup().await;
    gl.add_project("team/app", false);
    gl.add_branch("team/app", "b1", &"e".repeat(40));
    let (_, token, _) = gitlab_user(&app, &gl, "ted").await;
    let id = finished_task(&app, &format!("{}/team/app.git", gl.base), &token, "b1").await;
    let pr_path = format!("/api/v1/tasks/{id}/pull-request");
    gl.with(|s| s.inject = Some(Inject::NotFound));
    // The task exists, so GitLab's 404 is a 422 naming the project.
    let res = json(post(&app, &token, &pr_path, json!({})).await, 422).await;
    assert!(detail(&res).contains("GitLab has no team/app"), "{res}");
    gl.with(|s| s.inject = Some(Inject::Unauthorized));
    let res = json(get(&app, &token, &format!("/api/v1/tasks/{id}/checks")).await, 422).await;
    assert!(detail(&res).contains("rejected your token"), "{res}");
    gl.with(|s| s.inject = Some(Inject::Forbidden));
    let res = json(post(&app, &token, &pr_path, json!({})).await, 403).await;
    spec::assert_valid("post", "/api/v1/tasks/{id}/pull-request", 403, &res);
}

#[actix_web::test]
async fn a_token_goes_only_to_its_own_host() {
    let first = FakeGitlab::start().await;
    let second = FakeGitlab::start().await;
    first.add_project("team/app", false);
    second.add_project("team/app", false);
    let app = TestApp::spawn_with(&with_http_repos(&format!(
        "[tasks]\negress_allow = [\"{}\", \"{}\"]\n",
        first.host(),
        second.host()
    )))
    .await;
    let (_, token, gl_token) = gitlab_user(&app, &first, "hana").await;

    // A task on the other host is on no forge this user has a token for.
    let id = finished_task(&app, &format!("{}/team/app.git", second.base), &token, "b1").await;
    let forge = json(get(&app, &token, &format!("/api/v1/tasks/{id}/forge")).await, 200).await;
    assert_eq!(forge["kind"], Value::Null, "{forge}");
    assert_eq!(forge["host"], second.host());
    let res =
        json(post(&app, &token, &format!("/api/v1/tasks/{id}/pull-request"), json!({})).await, 422)
            .await;
    assert!(detail(&res).contains("This host has no pull requests"), "{res}");
    json(get(&app, &token, &format!("/api/v1/forges/{}/owners", second.host())).await, 422).await;
    // The repository picker on the first host works, and the second host heard nothing.
    json(get(&app, &token, &format!("/api/v1/forges/{}/owners", first.host())).await, 200).await;
    assert!(second.seen().is_empty(), "{:?}", second.seen());
    assert!(!first.seen().is_empty());
    let leaked = first.with(|s| {
        s.requests
            .iter()
            .any(|(_, p, b)| p.contains(&gl_token) || b.to_string().contains(&gl_token))
    });
    assert!(!leaked, "the token is a header, never in a path or body");
}

#[actix_web::test]
async fn git_smart_http_takes_the_token_as_the_oauth2_password() {
    let gl = FakeGitlab::start().await;
    gl.git_project("team/web.app");
    let token = gl.token();
    let host = gl.host();
    let ls = |user: &str, password: &str| {
        ls_remote(format!("http://{user}:{password}@{host}/team/web.app.git"))
    };
    let ok = ls("oauth2", &token).await;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("refs/heads/trunk"));
    for (user, password) in [("oauth2", "glpat-wrong"), ("someone", token.as_str())] {
        let refused = ls(user, password).await;
        assert!(!refused.status.success(), "{user}:{password} was let in");
    }
}

/// `git ls-remote URL`, never prompting.
pub(crate) async fn ls_remote(url: String) -> std::process::Output {
    let mut git = tokio::process::Command::new("git");
    git.args(["ls-remote", &url]).env("GIT_TERMINAL_PROMPT", "0");
    git.output().await.unwrap()
}
