//! From prompt to merged on each forge, over the API, for a local user whose only way in is a
//! personal access token stored under Settings → Git hosts (no OAuth sign-in): the worker
//! clones and pushes with the user name the forge documents for tokens, the automatic pull
//! or merge request is opened after the run, and merging it merges it on the forge. The fakes
//! run on 127.0.0.1 with git smart HTTP behind token checks.

use serde_json::{json, Value};

use crate::support::fake_gitea::FakeGitea;
use crate::support::fake_gitlab::FakeGitlab;
use crate::support::{finished, json, FakeGithub, TestApp};

/// One forge's side of the run: where the repository is and what credential reaches it.
struct Host<'a> {
    /// `host:port`, the credential's key.
    host: String,
    /// The credential body (`kind`, `api_url`, `token`).
    credential: Value,
    /// The repository's clone URL.
    repo_url: String,
    /// What the automatic request is called in the run's log ("merge request !").
    opened: &'a str,
}

/// Stores the credential, runs a task with `create_pr` to completion, checks that its request
/// was opened automatically, then merges it through the API. Returns the task and the merged
/// request as the API shows them.
async fn prompt_to_merged(app: &TestApp, token: &str, host: Host<'_>) -> (Value, Value) {
    let put = app
        .client
        .put(app.url(&format!("/api/v1/me/git-credentials/{}", host.host)))
        .bearer_auth(token)
        .json(&host.credential)
        .send()
        .await
        .unwrap();
    json(put, 201).await;
    let task = app
        .create_task(
            token,
            json!({"repo_url": host.repo_url, "agent": "claude", "create_pr": true, "prompt": "Add a greeting [[write:hello.txt=hi]]"}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["pr_number"].is_i64(), "opened automatically after the run: {done}");
    let events = serde_json::to_string(&app.events(token, &id).await).unwrap();
    let n = done["pr_number"].as_i64().unwrap();
    assert!(events.contains(&format!("Opened {}{n}", host.opened)), "{events}");

    let res = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{id}/pull-request/merge")))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let merged = json(res, 200).await;
    assert_eq!(merged["status"], "merged", "{merged}");
    assert_eq!(merged["head"], done["branch_name"], "{merged}");
    (done, merged)
}

/// `[tasks] egress_allow` for the fakes' hosts, and a configured GitHub on plain http (task
/// creation accepts `http://` repository URLs only then).
fn settings(hosts: &[String]) -> String {
    let allow: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "[tasks]\negress_allow = [{}]\n[github]\napi_url = \"http://127.0.0.1:9/api\"\nweb_url = \"http://127.0.0.1:9\"\n",
        allow.join(", ")
    )
}

#[actix_web::test]
async fn gitlab_a_task_pushed_as_oauth2_gets_its_merge_request_merged() {
    let gl = FakeGitlab::start().await;
    gl.git_project("team/app");
    let app = TestApp::with_workers(1, &settings(&[gl.host()])).await;
    let (token, _) = app.agent_user("gl-runner").await;
    let pat = gl.token();
    let host = Host {
        host: gl.host(),
        credential: json!({"kind": "gitlab", "api_url": gl.api_url(), "token": pat}),
        repo_url: format!("{}/team/app.git", gl.base),
        opened: "merge request !",
    };
    let (done, merged) = prompt_to_merged(&app, &token, host).await;

    // The fake lets git in only as `oauth2` with a live token: the push proves the name.
    let users = gl.with(|s| s.git_users.clone());
    assert!(!users.is_empty() && users.iter().all(|u| u == "oauth2"), "{users:?}");
    let n = merged["number"].as_i64().unwrap();
    let mr = gl.project("team/app", |p| p.mrs[&n].clone());
    assert_eq!(mr["state"], "merged", "merged on GitLab: {mr}");
    assert_eq!(mr["source_branch"], done["branch_name"]);
    assert_eq!(mr["target_branch"], "trunk", "the project's default branch");
    assert!(gl.last_body("POST", "/merge_requests").is_some());
}

#[actix_web::test]
async fn gitea_a_task_pushed_with_the_token_gets_its_pull_request_merged() {
    let gt = FakeGitea::start().await;
    gt.git_repo("crew", "app");
    let app = TestApp::with_workers(1, &settings(&[gt.host()])).await;
    let (token, _) = app.agent_user("gt-runner").await;
    let pat = gt.token();
    let host = Host {
        host: gt.host(),
        credential: json!({"kind": "gitea", "api_url": gt.api_url(), "token": pat}),
        repo_url: format!("{}/crew/app.git", gt.base),
        opened: "pull request #",
    };
    let (done, merged) = prompt_to_merged(&app, &token, host).await;

    let users = gt.with(|s| s.git_users.clone());
    assert!(!users.is_empty() && users.iter().all(|u| u == "drydock"), "{users:?}");
    let n = merged["number"].as_i64().unwrap();
    let pr = gt.repo("crew", "app", |r| r.items[&n].clone());
    assert_eq!(pr["merged"], true, "merged on Gitea: {pr}");
    assert_eq!(pr["head"]["ref"], done["branch_name"]);
}

#[actix_web::test]
async fn github_a_local_user_with_only_a_token_gets_the_pull_request_merged() {
    let gh = FakeGithub::start().await;
    gh.git_repo("octo-org", "app");
    let app = TestApp::with_workers(1, &gh.settings_toml()).await;
    let (token, _) = app.agent_user("gh-runner").await;
    let pat = "ghp_local_user_only_token_01";
    gh.add_token(pat);
    let host = Host {
        host: gh.base.trim_start_matches("http://").to_owned(),
        credential: json!({"kind": "github", "token": pat}),
        repo_url: format!("{}/octo-org/app", gh.base),
        opened: "pull request #",
    };
    let (_, merged) = prompt_to_merged(&app, &token, host).await;

    // Git went in as `x-access-token` with the stored token.
    let basic_users: Vec<String> = gh.with(|s| {
        s.authorizations
            .iter()
            .filter_map(|h| h.strip_prefix("Basic "))
            .filter_map(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()
            })
            .map(|b| String::from_utf8_lossy(&b).split(':').next().unwrap_or_default().to_owned())
            .collect()
    });
    assert!(
        !basic_users.is_empty() && basic_users.iter().all(|u| u == "x-access-token"),
        "{basic_users:?}"
    );
    let n = merged["number"].as_i64().unwrap();
    let pr = gh.repo("octo-org", "app", |r| r.items[&n].clone());
    assert_eq!(pr["merged"], true, "merged on GitHub: {pr}");
}
