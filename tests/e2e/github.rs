//! Browser tests of the GitHub workflow against a fake GitHub on 127.0.0.1 (the API tests'
//! fixture: OAuth, REST and git smart HTTP): signing in with GitHub, picking a repository in the
//! picker, and a task's pull request from opening to merge, with a review comment sent back to
//! the agent as a follow-up.

// This crate is tests only: panicking on the unexpected is how its helpers fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the other browser tests; this binary uses only part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use fakes::github::{FakeGithub, CLIENT_ID, CLIENT_SECRET};
use serde_json::json;
use support::{eventually, Browser, Server};

/// The fake is an actix-web app: it gets a thread and an actix system of its own.
fn start_fake_github() -> FakeGithub {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let fake = FakeGithub::start().await;
            tx.send((fake.base.clone(), fake.state.clone())).expect("report the fake");
            std::future::pending::<()>().await;
        });
    });
    let (base, state) = rx.recv_timeout(Duration::from_secs(30)).expect("the fake GitHub starts");
    FakeGithub { base, state }
}

fn github_env(gh: &FakeGithub) -> Vec<(String, String)> {
    let b = &gh.base;
    [
        ("DRYDOCK_GITHUB__CLIENT_ID", CLIENT_ID.to_owned()),
        ("DRYDOCK_GITHUB__CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("DRYDOCK_GITHUB__AUTHORIZE_URL", format!("{b}/login/oauth/authorize")),
        ("DRYDOCK_GITHUB__TOKEN_URL", format!("{b}/login/oauth/access_token")),
        ("DRYDOCK_GITHUB__API_URL", format!("{b}/api")),
        ("DRYDOCK_GITHUB__WEB_URL", b.clone()),
        // The fake's user is a stranger to a fresh server, which by default (closed
        // registration) turns strangers away.
        ("DRYDOCK_AUTH__REGISTRATION", "open".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn pr_state(b: &Browser) -> String {
    b.attr("[data-testid=pr-state]", "data-state").await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_github_pick_a_repo_and_merge_the_pull_request() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "web.app");
    gh.add_repo("octo-org", "other", false);
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;

    // Sign in with GitHub: the real OAuth round trip through the fake's consent page.
    let token = signed_in(&server, &b).await;
    let scopes = gh.with(|s| s.requested_scopes.clone());
    assert!(scopes.iter().any(|s| s == "repo"), "scopes asked for: {scopes:?}");

    // The picker lists the organisation's repositories; picking one fills the URL.
    b.goto("/").await;
    b.wait("[data-testid=repo-owner]").await;
    b.click("[data-testid=repo-owner] option[value=octo-org]").await;
    let option = "[data-testid=repo-option][data-repo='octo-org/web.app']";
    b.wait(option).await;
    b.wait("[data-testid=repo-option][data-repo='octo-org/other']").await;
    b.click(option).await;
    let picked = b.attr(option, "aria-pressed").await;
    assert_eq!(picked.as_deref(), Some("true"), "{}", b.describe().await);
    let url = b.wait("[data-testid=repo-url]").await.prop("value").await.unwrap();
    assert_eq!(url.as_deref(), Some(format!("{}/octo-org/web.app", gh.base).as_str()));
    b.screenshot("repo-picker").await;

    // The task runs on the fake's repository and pushes its branch over smart HTTP.
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

    // Open the pull request from the PR tab.
    b.click("[data-testid=tab-pr]").await;
    b.click("[data-testid=create-pr]").await;
    b.wait_until("the pull request to show as open", Duration::from_secs(20), || async {
        pr_state(&b).await == "open"
    })
    .await;
    let link = b.attr("[data-testid=pr-link]", "href").await.unwrap_or_default();
    let number: i64 = link.rsplit('/').next().unwrap().parse().expect("a PR number in the link");
    let pr = gh.repo("octo-org", "web.app", |r| r.items[&number].clone());
    assert_eq!(pr["head"]["ref"], branch.trim(), "{pr}");
    assert_eq!(pr["base"]["ref"], "trunk", "{pr}");

    // CI results and a review comment show on the tab; the comment goes back to the agent.
    let (_, checks) = server.get(&token, &format!("/api/v1/tasks/{id}/checks")).await;
    let head = checks["head_sha"].as_str().expect("the branch head is on GitHub").to_owned();
    gh.repo("octo-org", "web.app", |r| {
        r.check_runs.insert(head, vec![json!({"id": 9, "name": "ci / test", "status": "completed", "conclusion": "success", "html_url": format!("{}/ci/9", gh.base), "started_at": "2026-11-24T10:00:00Z", "completed_at": "2026-11-24T10:05:00Z"})]);
        r.review_comments.insert(number, vec![json!({"id": 41, "user": {"login": "rev"}, "body": "Please also greet the **world**", "path": "hello.txt", "html_url": format!("{}/c/41", gh.base), "created_at": "2026-11-24T10:00:00Z"})]);
    });
    b.goto(&format!("/tasks/{id}")).await;
    b.click("[data-testid=tab-pr]").await;
    b.wait("[data-testid=pr-comment][data-comment-id='41']").await;
    let check = b.wait("[data-testid=check][data-conclusion=success]").await;
    assert!(check.text().await.unwrap().contains("ci / test"));
    assert!(!b.exists(".pr-panel .error-box").await, "{}", b.describe().await);
    b.screenshot("pull-request").await;
    b.click("[data-testid=pr-comment][data-comment-id='41'] [data-testid=comment-follow-up]").await;
    b.wait("[data-testid=follow-up-sent][data-source=comment-41]").await;
    let path = format!("/api/v1/tasks/{id}/messages");
    let messages = eventually("the follow-up run to answer", Duration::from_secs(90), || async {
        let (_, messages) = server.get(&token, &path).await;
        let items = messages["items"].as_array().cloned().unwrap_or_default();
        (items.iter().filter(|m| m["role"] == "agent").count() >= 2).then_some(items)
    })
    .await;
    let sent = messages.iter().any(|m| {
        m["role"] == "user"
            && m["content"]
                .as_str()
                .unwrap_or_default()
                .contains("> Please also greet the **world**")
    });
    assert!(sent, "the comment became a follow-up: {messages:?}");
    b.wait_until("the follow-up run to complete", Duration::from_secs(60), || async {
        b.attr("[data-testid=task-status]", "data-status").await.as_deref() == Some("completed")
    })
    .await;

    // A conflicting merge offers a follow-up that asks the agent to merge the base in.
    gh.with(|s| s.merge_conflict = Some(409));
    b.click("[data-testid=tab-pr]").await;
    b.click("[data-testid=merge-pr]").await;
    b.wait("[data-testid=merge-conflict]").await;
    assert_eq!(pr_state(&b).await, "open");
    b.click("[data-testid=resolve-conflicts]").await;
    b.wait("[data-testid=follow-up-sent][data-source=conflicts]").await;
    let messages = eventually("the conflict run to answer", Duration::from_secs(90), || async {
        let (_, messages) = server.get(&token, &path).await;
        let items = messages["items"].as_array().cloned().unwrap_or_default();
        (items.iter().filter(|m| m["role"] == "agent").count() >= 3).then_some(items)
    })
    .await;
    let asked = messages.iter().any(|m| {
        m["role"] == "user" && m["content"].as_str().unwrap_or_default().contains("`trunk`")
    });
    assert!(asked, "the follow-up names the base branch: {messages:?}");
    b.wait_until("the conflict run to complete", Duration::from_secs(60), || async {
        b.attr("[data-testid=task-status]", "data-status").await.as_deref() == Some("completed")
    })
    .await;
    gh.with(|s| s.merge_conflict = None);

    // Merge: squash by default; the badge turns to merged.
    b.goto(&format!("/tasks/{id}")).await;
    b.click("[data-testid=tab-pr]").await;
    b.click("[data-testid=merge-pr]").await;
    b.wait_until("the pull request to show as merged", Duration::from_secs(20), || async {
        pr_state(&b).await == "merged"
    })
    .await;
    let merged = gh.with(|s| {
        s.requests.iter().any(|(method, path, body)| {
            method == "PUT"
                && path.ends_with(&format!("/pulls/{number}/merge"))
                && body["merge_method"] == "squash"
        })
    });
    assert!(merged, "the fake received a squash merge");
    b.close().await;
}

/// Signs in with GitHub on a fresh server and stores an Anthropic key; returns the API token.
async fn signed_in(server: &Server, b: &Browser) -> String {
    b.goto("/").await;
    b.click("[data-testid=provider-github]").await;
    b.wait("[data-testid=user-menu-button]").await;
    assert_eq!(b.path().await, "/", "{}", b.describe().await);
    b.store_key("anthropic", "sk-ant-e2e-github-0123456789").await;
    server.create_token(&username(b).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repositorys_issues_and_commits_start_tasks() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "web.app");
    let issue = gh.add_issue("octo-org", "web.app", "Crash on empty input", "Steps: submit ''.");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    gh.add_commit("octo-org", "web.app", sha, "Break the greeting\n\nOops.");
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    let token = signed_in(&server, &b).await;

    // From the picker to the repository's page.
    b.goto("/").await;
    b.click("[data-testid=repo-owner] option[value=octo-org]").await;
    b.click("[data-testid=repo-browse][data-repo='octo-org/web.app'] a").await;
    b.wait_until("the repository page", Duration::from_secs(15), || async {
        b.path().await == "/repos/octo-org/web.app"
    })
    .await;
    let item = format!("[data-testid=repo-item][data-key='{issue}']");
    assert!(b.wait(&item).await.text().await.unwrap().contains("Crash on empty input"));
    b.screenshot("repo-page").await;

    // An issue becomes a task whose prompt is the issue.
    b.click(&format!("{item} [data-testid=repo-item-start]")).await;
    b.wait_until("the task page", Duration::from_secs(30), || async {
        b.path().await.starts_with("/tasks/")
    })
    .await;
    let id = b.path().await.trim_start_matches("/tasks/").to_owned();
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    let prompt = task["prompt"].as_str().unwrap_or_default();
    assert!(prompt.starts_with(&format!("Fix issue #{issue}: Crash on empty input")), "{task}");
    assert_eq!(task["repo_url"], format!("{}/octo-org/web.app", gh.base), "{task}");

    // A commit becomes a task that reverts it.
    b.goto("/repos/octo-org/web.app").await;
    b.click("[data-testid=repo-tab-commits]").await;
    let commit = format!("[data-testid=repo-item][data-key='{sha}']");
    assert!(b.wait(&commit).await.text().await.unwrap().contains("Break the greeting"));
    b.click(&format!("{commit} [data-testid=repo-item-start]")).await;
    b.wait_until("the revert task's page", Duration::from_secs(30), || async {
        let path = b.path().await;
        path.starts_with("/tasks/") && !path.ends_with(&id)
    })
    .await;
    let revert = b.path().await.trim_start_matches("/tasks/").to_owned();
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{revert}")).await;
    assert!(task["prompt"].as_str().unwrap_or_default().contains(sha), "{task}");
    b.close().await;
}

/// The Drydock username the GitHub sign-in created, as the user menu shows it.
async fn username(b: &Browser) -> String {
    b.click("[data-testid=user-menu-button]").await;
    let shown = b.wait("[data-testid=user-menu] small").await.text().await.unwrap_or_default();
    b.click("[data-testid=user-menu-button]").await;
    let name = shown.trim().trim_start_matches('@').to_owned();
    assert!(!name.is_empty(), "the user menu names the user: {}", b.describe().await);
    name
}

/// A local user connects GitHub from Settings → Accounts (the OAuth round trip through the
/// fake's consent page, back to the same page, still signed in as themselves), then sees the
/// GitHub repositories in the picker, and disconnects it, revoking the token at GitHub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_user_connects_and_disconnects_github() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.add_repo("octo-org", "web.app", false);
    let server = Server::start_with(github_env(&gh)).await;
    server.create_user("lena", "correct horse battery");
    let b = Browser::start(&server.base, 1280, 900).await;
    b.sign_in("lena", "correct horse battery").await;
    b.goto("/settings/accounts").await;
    b.wait("[data-testid=github-account][data-connected=false]").await;
    b.click("[data-testid=connect-github]").await;
    b.wait("[data-testid=github-account][data-connected=true]").await;
    assert_eq!(b.path().await, "/settings/accounts", "{}", b.describe().await);
    assert_eq!(username(&b).await, "lena", "still the local account");
    b.screenshot("settings-accounts").await;

    b.goto("/").await;
    b.click("[data-testid=repo-owner] option[value=octo-org]").await;
    b.wait("[data-testid=repo-option][data-repo='octo-org/web.app']").await;

    b.goto("/settings/accounts").await;
    let issued = gh.with(|s| s.tokens.last().cloned().unwrap());
    b.wait("[data-testid=revoke-github]").await;
    b.click("[data-testid=disconnect-github]").await;
    b.client.accept_alert().await.expect("the confirmation dialog");
    b.wait("[data-testid=github-account][data-connected=false]").await;
    assert_eq!(gh.with(|s| s.revoked.clone()), [issued]);
    b.close().await;
}

/// "New repository" under the picker: a repository generated from a template in an
/// organisation, picked into the form at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_is_created_from_a_template_in_the_picker() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.add_repo("octo-org", "starter", false);
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    signed_in(&server, &b).await;
    b.goto("/").await;
    b.click("[data-testid=repo-owner] option[value=octo-org]").await;
    b.click("[data-testid=new-repo]").await;
    b.click("[data-testid=new-repo-owner] option[value=octo-org]").await;
    b.fill("[data-testid=new-repo-name]", "fresh-app").await;
    b.fill("[data-testid=new-repo-template]", "octo-org/starter").await;
    b.click("[data-testid=new-repo-create]").await;
    b.wait_until("the new repository in the form", Duration::from_secs(15), || async {
        let url = b.wait("[data-testid=repo-url]").await.prop("value").await.ok().flatten();
        url.as_deref() == Some(format!("{}/octo-org/fresh-app", gh.base).as_str())
    })
    .await;
    let made = gh.repo("octo-org", "fresh-app", |r| r.template.clone());
    assert_eq!(made.as_deref(), Some("octo-org/starter"));
    assert!(!b.exists("[data-testid=new-repo-form]").await, "the form closes");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_github_sign_in_lands_on_a_page_that_says_what_went_wrong() {
    let gh = start_fake_github();
    gh.with(|s| s.deny_consent = true);
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;

    // Consent denied at GitHub: back on the sign-in page, which says so and offers GitHub again.
    b.goto("/").await;
    b.click("[data-testid=provider-github]").await;
    let error = b.wait("[data-testid=sign-in-error]").await;
    assert_eq!(error.attr("data-error").await.unwrap().as_deref(), Some("access_denied"));
    let text = error.text().await.unwrap();
    assert!(text.contains("cancelled at the provider"), "{text}");
    assert!(!b.exists("[data-testid=not-found]").await, "{}", b.describe().await);
    assert!(b.exists("[data-testid=provider-github]").await, "the way to try again");
    b.screenshot("sign-in-error").await;

    // A callback this browser never started (a stale or forged one) is explained too.
    gh.with(|s| s.deny_consent = false);
    b.goto("/api/v1/auth/github/callback?code=stale&state=not-ours").await;
    let error = b.wait("[data-testid=sign-in-error]").await;
    assert_eq!(error.attr("data-error").await.unwrap().as_deref(), Some("state_mismatch"));
    assert!(error.text().await.unwrap().contains("could not be matched"));

    // The page also answers under /login, and an unknown reason still reads as a failure.
    b.goto("/login?error=something_new").await;
    let text = b.wait("[data-testid=sign-in-error]").await.text().await.unwrap();
    assert!(text.contains("failed"), "{text}");

    // The second attempt, allowed, signs in.
    b.goto("/sign-in").await;
    b.click("[data-testid=provider-github]").await;
    b.wait("[data-testid=user-menu-button]").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_and_repo_path_opens_the_task_form_on_that_repository() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "web.app");
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    signed_in(&server, &b).await;

    b.goto("/octo-org/web.app?prompt=Fix%20the%20footer&agent=claude").await;
    let want = format!("{}/octo-org/web.app", gh.base);
    b.wait_until("the repository from the path in the form", Duration::from_secs(20), || async {
        b.wait("[data-testid=repo-url]").await.prop("value").await.unwrap().as_deref()
            == Some(want.as_str())
    })
    .await;
    let prompt = b.wait("[data-testid=prompt]").await.prop("value").await.unwrap();
    assert_eq!(prompt.as_deref(), Some("Fix the footer"));

    // A repository GitHub does not know is said so, above a form that still works.
    b.goto("/octo-org/no-such-repo").await;
    let error = b.wait("[data-testid=deep-link-error]").await.text().await.unwrap();
    assert!(error.contains("octo-org/no-such-repo"), "{error}");
    assert!(b.exists("[data-testid=task-form]").await);
    b.close().await;
}

/// The items shown in the sidebar's Repos tab, read in one script (the list re-renders while it
/// loads, which would make element handles stale).
async fn sidebar_repos(b: &Browser) -> Vec<String> {
    let script = "return [...document.querySelectorAll('[data-testid=sidebar-repo]')].map(e => e.dataset.repo);";
    let names = b.client.execute(script, vec![]).await.unwrap();
    serde_json::from_value(names).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repos_tab_opens_a_browser_that_links_closes_and_picks_a_model_per_item() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    // More than one page (30) of repositories.
    for i in 0..34 {
        gh.add_repo(fakes::github::LOGIN, &format!("lib-{i:02}"), false);
    }
    gh.git_repo("octo-org", "web.app");
    let issue = gh.add_issue("octo-org", "web.app", "Crash on empty input", "Steps: submit ''.");
    let keep = gh.add_pull("octo-org", "web.app", "Add login", "feature/login", false);
    let stale = gh.add_pull("octo-org", "web.app", "Old idea", "feature/old", false);
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    let token = signed_in(&server, &b).await;
    let repo_url = format!("{}/octo-org/web.app", gh.base);
    let (status, _) = server
        .post(
            &token,
            "/api/v1/tasks",
            &json!({"repo_url": repo_url, "agent": "claude", "prompt": "Tidy up"}),
        )
        .await;
    assert_eq!(status, 201);

    // The tab: a first page, then the rest as the list scrolls to its end.
    b.goto("/").await;
    b.click("[data-testid=sidebar-tab-repos]").await;
    b.wait("[data-testid=sidebar-repo]").await;
    b.wait_until("the first page", Duration::from_secs(15), || async {
        sidebar_repos(&b).await.len() == 30
    })
    .await;
    b.client
        .execute(
            "const l = document.querySelector('[data-testid=sidebar-repo-list]'); l.scrollTop = l.scrollHeight;",
            vec![],
        )
        .await
        .unwrap();
    b.wait_until("the second page after scrolling", Duration::from_secs(15), || async {
        sidebar_repos(&b).await.len() == 35
    })
    .await;
    let web_app = "[data-testid=sidebar-repo][data-repo='octo-org/web.app']";
    let count = b.wait(&format!("{web_app} [data-testid=sidebar-repo-count]")).await;
    assert_eq!(count.text().await.unwrap(), "1", "the user's one task on it");
    // A task made elsewhere (here through the API) shows in the count without a reload.
    let (status, _) = server
        .post(
            &token,
            "/api/v1/tasks",
            &json!({"repo_url": repo_url, "agent": "claude", "prompt": "And the docs"}),
        )
        .await;
    assert_eq!(status, 201);
    let count = format!("{web_app} [data-testid=sidebar-repo-count]");
    b.wait_until("the count to follow the new task", Duration::from_secs(15), || async {
        b.wait(&count).await.text().await.unwrap() == "2"
    })
    .await;
    let other =
        "[data-testid=sidebar-repo][data-repo='octo.cat/lib-00'] [data-testid=sidebar-repo-count]";
    assert_eq!(b.wait(other).await.text().await.unwrap(), "0");
    b.screenshot("sidebar-repos").await;

    // Search by name.
    b.fill("[data-testid=sidebar-repos-search]", "lib-07").await;
    b.wait_until("only the match", Duration::from_secs(15), || async {
        sidebar_repos(&b).await == vec!["octo.cat/lib-07".to_owned()]
    })
    .await;
    b.goto("/").await;
    b.click("[data-testid=sidebar-tab-repos]").await;
    b.wait_until("the list again", Duration::from_secs(15), || async {
        sidebar_repos(&b).await.len() == 30
    })
    .await;

    // A click opens the repository browser; the issue starts a task with the model chosen on
    // that item.
    b.click(&format!("{web_app} a")).await;
    b.wait_until("the repository page", Duration::from_secs(15), || async {
        b.path().await == "/repos/octo-org/web.app"
    })
    .await;
    let item = format!("[data-testid=repo-item][data-key='{issue}']");
    b.wait(&item).await;
    assert!(!b.exists(&format!("{item} [data-testid=repo-item-task]")).await, "no task yet");
    b.click(&format!("{item} [data-testid=repo-item-choice]")).await;
    b.click(&format!("{item} [data-testid='repo-item-{issue}-model'] option[value=haiku]")).await;
    b.wait_until("the item's choice", Duration::from_secs(10), || async {
        b.wait(&format!("{item} [data-testid=repo-item-choice]")).await.text().await.unwrap()
            == "claude · haiku"
    })
    .await;
    b.click(&format!("{item} [data-testid=repo-item-start]")).await;
    b.wait_until("the task page", Duration::from_secs(30), || async {
        b.path().await.starts_with("/tasks/")
    })
    .await;
    let id = b.path().await.trim_start_matches("/tasks/").to_owned();
    let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["model"], "haiku", "{task}");

    // Back on the list, the issue links to its task.
    b.goto("/repos/octo-org/web.app").await;
    let link = b.wait(&format!("{item} [data-testid=repo-item-task]")).await;
    assert_eq!(link.attr("data-task-id").await.unwrap().as_deref(), Some(id.as_str()));
    b.screenshot("repo-page-linked").await;

    // A pull request is closed from the list.
    b.click("[data-testid=repo-tab-pulls]").await;
    let stale_item = format!("[data-testid=repo-item][data-key='{stale}']");
    b.click(&format!("{stale_item} [data-testid=repo-item-close]")).await;
    b.wait_until("the closed one gone", Duration::from_secs(15), || async {
        !b.exists(&stale_item).await
            && b.exists(&format!("[data-testid=repo-item][data-key='{keep}']")).await
    })
    .await;
    let state = gh.repo("octo-org", "web.app", |r| r.items[&stale]["state"].clone());
    assert_eq!(state, "closed");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_prompt_starts_a_task_on_each_of_several_repositories() {
    let gh = start_fake_github();
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    gh.git_repo("octo-org", "web.app");
    gh.git_repo("octo-org", "api");
    let server = Server::start_with(github_env(&gh)).await;
    let b = Browser::start(&server.base, 1280, 900).await;
    let token = signed_in(&server, &b).await;
    let (web, api) = (format!("{}/octo-org/web.app", gh.base), format!("{}/octo-org/api", gh.base));

    b.goto("/").await;
    b.fill("[data-testid=repo-url]", &web).await;
    b.click("[data-testid=multi-repo]").await;
    // The single repository starts the list; the picker adds to it.
    b.wait_until("the list holds the first", Duration::from_secs(10), || async {
        b.wait("[data-testid=multi-repos]").await.prop("value").await.unwrap().as_deref()
            == Some(web.as_str())
    })
    .await;
    b.click("[data-testid=repo-owner] option[value=octo-org]").await;
    b.click("[data-testid=repo-option][data-repo='octo-org/api']").await;
    b.wait_until("the picked one added", Duration::from_secs(10), || async {
        b.wait("[data-testid=multi-repos]").await.prop("value").await.unwrap()
            == Some(format!("{web}\n{api}"))
    })
    .await;
    b.fill("[data-testid=prompt]", "Update the licence year").await;
    b.click("[data-testid=submit-task]").await;

    let groups = b.wait("[data-testid=created-tasks]").await;
    assert!(groups.text().await.unwrap().contains("Started 2 tasks"));
    let mut ids = Vec::new();
    for e in b.all("[data-testid=created-task]").await {
        ids.push(e.attr("data-task-id").await.unwrap().unwrap());
    }
    assert_eq!(ids.len(), 2);
    let mut repos = Vec::new();
    for id in &ids {
        let (_, task) = server.get(&token, &format!("/api/v1/tasks/{id}")).await;
        assert_eq!(task["prompt"], "Update the licence year", "{task}");
        repos.push(task["repo_url"].as_str().unwrap().to_owned());
    }
    assert_eq!(repos, vec![web.clone(), api.clone()], "one task each, in order");
    for repo in [&web, &api] {
        let group =
            format!("[data-testid=created-group][data-repo='{repo}'] [data-testid=created-task]");
        assert_eq!(b.all(&group).await.len(), 1, "{repo}");
    }
    b.screenshot("multi-repo-created").await;
    // Each links to its task.
    b.click(&format!("[data-testid=created-task][data-task-id='{}'] a", ids[1])).await;
    b.wait_until("the second task's page", Duration::from_secs(15), || async {
        b.path().await == format!("/tasks/{}", ids[1])
    })
    .await;
    b.close().await;
}
