//! Browser tests of a local user on GitLab, on Gitea and on a GitHub host (no OAuth app), with
//! nothing but a personal access token: Settings → Git hosts stores it, the task form's picker lists the forge's
//! repositories, the task runs (fake agent) and pushes over smart HTTP, and the task page opens
//! the merge (pull) request in the forge's own words, shows its pipeline (checks), and merges
//! it. The fakes on 127.0.0.1 are the API tests' (REST plus git behind the token), and the
//! assertions read the fake's state, not only the page.

// This crate is tests only: panicking on the unexpected is how its helpers fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other browser tests; this binary uses only part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use fakes::gitea::FakeGitea;
use fakes::github::FakeGithub;
use fakes::gitlab::FakeGitlab;
use serde_json::{json, Value};
use support::{Browser, Server};

const PASSWORD: &str = "correct-horse-battery";

/// A fake forge running on its own thread and actix system, seen through what the test needs.
struct Forge {
    /// `gitlab` or `gitea`, the credential's kind.
    kind: &'static str,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// The API base URL.
    api_url: String,
    /// A live token.
    token: String,
    /// The owner (group, organisation) to pick, and the repository under it.
    owner: &'static str,
    name: &'static str,
    /// The words the task page must use.
    tab: &'static str,
    prefix: &'static str,
    checks_title: &'static str,
    /// Records a successful CI job for a commit.
    add_success: Box<dyn Fn(&str) + Send>,
    /// The request's state on the forge: (merged, source branch).
    request: Box<dyn Fn(i64) -> (bool, String) + Send>,
    /// The user name git must send with the token.
    git_user: &'static str,
    /// The git Basic user names the forge received.
    git_users: Box<dyn Fn() -> Vec<String> + Send>,
}

impl Forge {
    fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// Runs `start` on a thread of its own inside an actix system, for the life of the test.
fn spawn_fake<T: Send + 'static, Fut: std::future::Future<Output = T>>(
    start: impl FnOnce() -> Fut + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            tx.send(start().await).expect("report the fake");
            std::future::pending::<()>().await;
        });
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("the fake starts")
}

fn gitlab() -> Forge {
    let gl = spawn_fake(|| async {
        let gl = FakeGitlab::start().await;
        (gl.base.clone(), gl.state.clone())
    });
    let gl = FakeGitlab { base: gl.0, state: gl.1 };
    gl.with(|s| s.groups = vec!["team".into()]);
    gl.git_project("team/app");
    gl.add_project("team/other", false);
    let token = gl.token();
    let (a, b, c) = (gl.clone(), gl.clone(), gl.clone());
    Forge {
        kind: "gitlab",
        base: gl.base.clone(),
        api_url: gl.api_url(),
        token,
        owner: "team",
        name: "app",
        tab: "Merge request",
        prefix: "!",
        checks_title: "Pipeline",
        git_user: "oauth2",
        add_success: Box::new(move |sha| {
            a.project("team/app", |p| {
                p.statuses.insert(sha.to_owned(), vec![json!({"id": 31, "name": "test", "status": "success", "target_url": "http://ci.invalid/31", "started_at": "2026-12-01T10:00:00Z", "finished_at": "2026-12-01T10:04:00Z"})]);
            });
        }),
        request: Box::new(move |n| {
            let mr = b.project("team/app", |p| p.mrs[&n].clone());
            (mr["state"] == "merged", mr["source_branch"].as_str().unwrap_or_default().to_owned())
        }),
        git_users: Box::new(move || c.with(|s| s.git_users.clone())),
    }
}

fn gitea() -> Forge {
    let gt = spawn_fake(|| async {
        let gt = FakeGitea::start().await;
        (gt.base.clone(), gt.state.clone())
    });
    let gt = FakeGitea { base: gt.0, state: gt.1 };
    gt.with(|s| s.orgs = vec!["crew".into()]);
    gt.git_repo("crew", "app");
    let token = gt.token();
    let (a, b, c) = (gt.clone(), gt.clone(), gt.clone());
    Forge {
        kind: "gitea",
        base: gt.base.clone(),
        api_url: gt.api_url(),
        token,
        owner: "crew",
        name: "app",
        tab: "Pull request",
        prefix: "#",
        checks_title: "Checks",
        git_user: "drydock",
        add_success: Box::new(move |sha| {
            a.repo("crew", "app", |r| {
                r.statuses.insert(sha.to_owned(), vec![json!({"id": 31, "context": "test", "status": "success", "target_url": "http://ci.invalid/31", "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:04:00Z"})]);
            });
        }),
        request: Box::new(move |n| {
            let pr = b.repo("crew", "app", |r| r.items[&n].clone());
            (pr["merged"] == true, pr["head"]["ref"].as_str().unwrap_or_default().to_owned())
        }),
        git_users: Box::new(move || c.with(|s| s.git_users.clone())),
    }
}

/// GitHub with a token only (no OAuth app): the credential names a GitHub host other than
/// the configured one, as a GitHub Enterprise server would be, so it is a forge of its own.
fn github() -> Forge {
    let gh = spawn_fake(|| async {
        let gh = FakeGithub::start().await;
        (gh.base.clone(), gh.state.clone())
    });
    let gh = FakeGithub { base: gh.0, state: gh.1 };
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "app");
    let token = "ghp_e2eForgesToken0123456789abcdef0123".to_owned();
    gh.add_token(&token);
    let (a, b, c) = (gh.clone(), gh.clone(), gh.clone());
    Forge {
        kind: "github",
        base: gh.base.clone(),
        api_url: format!("{}/api", gh.base),
        token,
        owner: "octo-org",
        name: "app",
        tab: "Pull request",
        prefix: "#",
        checks_title: "Checks",
        git_user: "x-access-token",
        add_success: Box::new(move |sha| {
            a.repo("octo-org", "app", |r| {
                r.check_runs.insert(sha.to_owned(), vec![json!({"id": 31, "name": "test", "status": "completed", "conclusion": "success", "html_url": "http://ci.invalid/31", "started_at": "2026-12-01T10:00:00Z", "completed_at": "2026-12-01T10:04:00Z"})]);
            });
        }),
        request: Box::new(move |n| {
            let pr = b.repo("octo-org", "app", |r| r.items[&n].clone());
            (pr["merged"] == true, pr["head"]["ref"].as_str().unwrap_or_default().to_owned())
        }),
        git_users: Box::new(move || c.git_users()),
    }
}

/// The server, told it may call the fake (`tasks.egress_allow`) and, through a plain-http
/// GitHub on an unused port, that tests' `http://` repositories are fine.
async fn server_for(forge: &Forge) -> Server {
    Server::start_with(vec![
        ("DRYDOCK_TASKS__EGRESS_ALLOW".into(), format!("[\"{}\"]", forge.host())),
        ("DRYDOCK_GITHUB__API_URL".into(), "http://127.0.0.1:9/api".into()),
        ("DRYDOCK_GITHUB__WEB_URL".into(), "http://127.0.0.1:9".into()),
    ])
    .await
}

async fn pr_state(b: &Browser) -> String {
    b.attr("[data-testid=pr-state]", "data-state").await.unwrap_or_default()
}

/// The whole flow on one forge; `shot` names the screenshots.
async fn token_to_merged(forge: Forge, shot: &str) {
    let server = server_for(&forge).await;
    server.create_user("lee", PASSWORD);
    let api_token = server.create_token("lee");
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("lee", PASSWORD).await;
    b.store_key("anthropic", "sk-ant-e2e-forges-0123456789").await;

    // Settings → Git hosts: the forge's host, kind, API URL and token.
    b.goto("/settings/git-hosts").await;
    b.fill("[data-testid=git-host-host]", &forge.host()).await;
    b.click(&format!("[data-testid=git-host-kind] option[value={}]", forge.kind)).await;
    b.fill("[data-testid=git-host-api-url]", &forge.api_url).await;
    b.fill("[data-testid=git-host-token]", &forge.token).await;
    b.click("[data-testid=git-host-save]").await;
    let row = format!("[data-testid=git-host-row][data-host='{}']", forge.host());
    b.wait(&row).await;
    let html = b.client.source().await.expect("page source");
    assert!(!html.contains(&forge.token), "the token is never shown again");

    // The task form's picker: the host, then the group or organisation, then a search.
    b.goto("/").await;
    b.click(&format!("[data-testid=repo-host] option[value='{}']", forge.host())).await;
    b.wait_until("the picker to show the host", Duration::from_secs(20), || async {
        b.attr("[data-testid=repo-picker]", "data-host").await == Some(forge.host())
    })
    .await;
    b.click(&format!("[data-testid=repo-owner] option[value='{}']", forge.owner)).await;
    b.fill("[data-testid=repo-search]", forge.name).await;
    let option = format!("[data-testid=repo-option][data-repo='{}']", forge.full_name());
    b.wait(&option).await;
    assert_eq!(b.attr(&option, "data-default-branch").await.as_deref(), Some("trunk"));
    b.click(&option).await;
    let url = b.wait("[data-testid=repo-url]").await.prop("value").await.unwrap();
    // GitLab and Gitea name the clone URL with `.git`, GitHub without; both clone.
    let repo_url = format!("{}/{}", forge.base, forge.full_name());
    let picked = url.as_deref().map(|u| u.trim_end_matches(".git"));
    assert_eq!(picked, Some(repo_url.as_str()), "{}", b.describe().await);
    b.screenshot(&format!("{shot}-picker")).await;

    // The task runs and pushes its branch with the token.
    b.fill("[data-testid=prompt]", "Add a greeting [[write:hello.txt=hi]]").await;
    b.click("[data-testid=agent] option[value=claude]").await;
    b.click("[data-testid=submit-task]").await;
    b.wait_until("the task page", Duration::from_secs(30), || async {
        b.path().await.starts_with("/tasks/")
    })
    .await;
    let id = b.path().await.trim_start_matches("/tasks/").to_owned();
    b.wait_until("the task to complete", Duration::from_secs(90), || async {
        b.attr("[data-testid=task-status]", "data-status").await.as_deref() == Some("completed")
    })
    .await;
    let branch = b.wait("[data-testid=task-branch]").await.text().await.unwrap();
    let users = (forge.git_users)();
    assert!(!users.is_empty() && users.iter().all(|u| u == forge.git_user), "{users:?}");

    // The task page speaks the forge's language, and opens the request.
    b.wait_until("the tab to use the forge's word", Duration::from_secs(20), || async {
        let tab = b.wait("[data-testid=tab-pr]").await.text().await.unwrap_or_default();
        tab == forge.tab
    })
    .await;
    b.click("[data-testid=tab-pr]").await;
    let create = b.wait("[data-testid=create-pr]").await.text().await.unwrap();
    assert_eq!(create, format!("Open {}", forge.tab.to_lowercase()));
    b.click("[data-testid=create-pr]").await;
    b.wait_until("the request to show as open", Duration::from_secs(20), || async {
        pr_state(&b).await == "open"
    })
    .await;
    let link = b.wait("[data-testid=pr-link]").await.text().await.unwrap();
    assert!(link.starts_with(forge.prefix), "{link}");
    let number: i64 = link[forge.prefix.len()..].split(' ').next().unwrap().parse().unwrap();
    let (merged, source) = (forge.request)(number);
    assert!(!merged);
    assert_eq!(source, branch.trim());

    // The pipeline (checks) of the branch head.
    let (code, checks): (u16, Value) =
        server.get(&api_token, &format!("/api/v1/tasks/{id}/checks")).await;
    assert_eq!(code, 200, "{checks}");
    let head = checks["head_sha"].as_str().expect("the branch is on the forge").to_owned();
    (forge.add_success)(&head);
    b.goto(&format!("/tasks/{id}")).await;
    b.click("[data-testid=tab-pr]").await;
    let check = b.wait("[data-testid=check][data-conclusion=success]").await;
    assert!(check.text().await.unwrap().contains("test"));
    let title = b.wait("[data-testid=checks-title]").await.text().await.unwrap();
    assert_eq!(title, forge.checks_title);
    assert!(!b.exists(".pr-panel .error-box").await, "{}", b.describe().await);
    b.screenshot(&format!("{shot}-request")).await;

    // Merge, and the forge has it merged.
    b.click("[data-testid=merge-pr]").await;
    b.wait_until("the request to show as merged", Duration::from_secs(20), || async {
        pr_state(&b).await == "merged"
    })
    .await;
    let (merged, _) = (forge.request)(number);
    assert!(merged, "merged on the forge");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_token_pick_run_merge_request_pipeline_and_merge() {
    token_to_merged(gitlab(), "gitlab").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_token_pick_run_pull_request_checks_and_merge() {
    token_to_merged(gitea(), "gitea").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_token_without_an_oauth_app_pick_run_pull_request_checks_and_merge() {
    token_to_merged(github(), "github-token").await;
}
