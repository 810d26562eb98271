//! Generated titles, branch names and commit messages: a small model call through the task
//! owner's own key (its base URL pointing at a fake model server), and the deterministic
//! fallback when there is no key or the call fails.

use std::time::Duration;

use drydock_api::crypto::SecretBox;
use drydock_api::titles::{Generated, Namer};
use fakes::FakeModel;
use serde_json::{json, Value};
use shared::agents::KeyProvider;

use crate::support::git::{git, BareRepo};
use crate::support::{finished, TestApp};

async fn put_key(app: &TestApp, token: &str, provider: &str, value: &str, base_url: &str) {
    let res = app
        .client
        .put(app.url(&format!("/api/v1/me/keys/{provider}")))
        .bearer_auth(token)
        .json(&json!({"value": value, "base_url": base_url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// The subject and body of the branch's head commit.
fn head_message(repo: &BareRepo, branch: &str) -> String {
    git(&repo.path, &["log", "-1", "--format=%B", branch])
}

async fn run_task(app: &TestApp, token: &str, repo: &BareRepo, prompt: &str) -> Value {
    let task = app
        .create_task(token, json!({"repo_url": repo.url(), "agent": "claude", "prompt": prompt}))
        .await;
    let done = app.wait_for(token, task["id"].as_str().unwrap(), "completion", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    done
}

#[actix_web::test]
async fn title_branch_and_commit_message_come_from_the_owners_key() {
    let fake = FakeModel::start_default().unwrap();
    let other_fake = FakeModel::start_default().unwrap();
    let app = TestApp::with_workers(
        1,
        &format!(
            "[tasks]\ngenerate_names = true\negress_allow = [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n",
            fake.port(),
            other_fake.port()
        ),
    )
    .await;
    let (token, key) = app.agent_user("namer").await;
    put_key(&app, &token, "anthropic", &key, &fake.base_url()).await;
    // Another user with their own fake: never used for this user's task.
    let (other_token, other_key) = app.agent_user("bystander").await;
    put_key(&app, &other_token, "anthropic", &other_key, &other_fake.base_url()).await;

    let repo = BareRepo::new();
    let prompt = "Add a greeting [[write:hello.txt=hi there]]";
    let done = run_task(&app, &token, &repo, prompt).await;
    // The fake answers auxiliary (tool-less) requests with the text "ok".
    assert_eq!(done["title"], "Ok", "{done}");
    let branch = done["branch_name"].as_str().unwrap();
    assert!(branch.starts_with("drydock/ok-"), "{branch}");
    assert_eq!(repo.show(branch, "hello.txt"), "hi there");
    let message = head_message(&repo, branch);
    assert!(message.starts_with("Ok\n\n"), "{message:?}");
    assert!(message.contains(prompt), "the body is the prompt: {message:?}");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "one title and one commit call: {requests:#?}");
    for r in &requests {
        assert_eq!(r.api, "anthropic");
        assert!(r.path.starts_with("/v1/messages"), "{}", r.path);
        assert_eq!(r.model, "claude-haiku-4-5");
        assert!(r.tools.is_empty());
        assert_eq!(r.auth.as_deref(), Some(key.as_str()), "the owner's own key");
        assert!(r.prompt.contains("Add a greeting"), "{}", r.prompt);
    }
    assert!(
        requests[1].prompt.contains("Changed files:\nhello.txt"),
        "the commit call names the changed files: {}",
        requests[1].prompt
    );
    assert!(other_fake.requests().is_empty(), "another user's key was used");

    let events = app.events(&token, done["id"].as_str().unwrap()).await;
    let text = serde_json::to_string(&events).unwrap();
    assert!(text.contains("Title generated with your anthropic key"), "{text}");
    assert!(!text.contains(&key));
}

#[actix_web::test]
async fn a_run_that_changes_nothing_spends_no_commit_call() {
    let fake = FakeModel::start_default().unwrap();
    let app = TestApp::with_workers(
        1,
        &format!(
            "[tasks]\ngenerate_names = true\negress_allow = [\"127.0.0.1:{}\"]\n",
            fake.port()
        ),
    )
    .await;
    let (token, key) = app.agent_user("idle").await;
    put_key(&app, &token, "anthropic", &key, &fake.base_url()).await;
    let repo = BareRepo::new();
    let done = run_task(&app, &token, &repo, "Just read the code and change nothing").await;
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "the title only: {requests:#?}");
    assert!(!requests[0].prompt.contains("Changed files"), "{}", requests[0].prompt);
    let events =
        serde_json::to_string(&app.events(&token, done["id"].as_str().unwrap()).await).unwrap();
    assert!(events.contains("nothing to commit"), "{events}");
}

#[actix_web::test]
async fn a_failing_or_unreachable_model_falls_back_to_the_prompt() {
    let fake = FakeModel::start_default().unwrap();
    let app = TestApp::with_workers(
        1,
        &format!(
            "[tasks]\ngeneration_timeout_ms = 3000\ngenerate_names = true\negress_allow = [\"127.0.0.1:{}\"]\n",
            fake.port()
        ),
    )
    .await;
    let (token, key) = app.agent_user("fallback").await;
    put_key(&app, &token, "anthropic", &key, &fake.base_url()).await;
    let repo = BareRepo::new();

    // The model answers 500.
    let prompt = "Add a greeting [[error:500]] [[write:hello.txt=hi]]";
    let done = run_task(&app, &token, &repo, prompt).await;
    assert_eq!(done["title"], prompt, "{done}");
    let branch = done["branch_name"].as_str().unwrap();
    assert!(branch.starts_with("drydock/add-a-greeting-error-500"), "{branch}");
    assert!(
        head_message(&repo, branch).starts_with(&format!("{prompt}\n")),
        "{}",
        head_message(&repo, branch)
    );
    assert!(fake.requests().iter().all(|r| r.decision == "error:500"), "{:#?}", fake.requests());
    let text =
        serde_json::to_string(&app.events(&token, done["id"].as_str().unwrap()).await).unwrap();
    assert!(
        text.contains("Titled from the prompt (the anthropic API answered HTTP 500)"),
        "{text}"
    );

    // A base URL on the server's own loopback that the operator did not allow: the server
    // refuses to call it (no request forgery through a key's base URL), whatever listens there.
    let before = fake.requests().len();
    let ssrf = FakeModel::start_default().unwrap();
    put_key(&app, &token, "anthropic", &key, &ssrf.base_url()).await;
    let started = std::time::Instant::now();
    let done = run_task(&app, &token, &repo, "Fix the README [[write:README.md=fixed]]").await;
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(done["title"], "Fix the README [[write:README.md=fixed]]");
    assert!(done["branch_name"].as_str().unwrap().starts_with("drydock/fix-the-readme"), "{done}");
    let text =
        serde_json::to_string(&app.events(&token, done["id"].as_str().unwrap()).await).unwrap();
    assert!(text.contains("is not one Drydock calls"), "{text}");
    assert!(
        ssrf.requests().is_empty(),
        "the server called a loopback address: {:#?}",
        ssrf.requests()
    );
    assert_eq!(fake.requests().len(), before);
}

#[actix_web::test]
async fn a_stalled_model_call_times_out_quickly() {
    let fake = FakeModel::start_default().unwrap();
    let app = TestApp::with_workers(
        1,
        &format!(
            "[tasks]\ngeneration_timeout_ms = 1000\ngenerate_names = true\negress_allow = [\"127.0.0.1:{}\"]\n",
            fake.port()
        ),
    )
    .await;
    let (token, key) = app.agent_user("slowpoke").await;
    put_key(&app, &token, "anthropic", &key, &fake.base_url()).await;
    let repo = BareRepo::new();
    // The fake stalls every answer for 30 s (tool-less ones included).
    let started = std::time::Instant::now();
    let prompt = "Slow naming [[delay:30]] [[write:a.txt=a]]";
    let done = run_task(&app, &token, &repo, prompt).await;
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(done["title"], prompt);
}

#[actix_web::test]
async fn generation_can_be_turned_off() {
    let app = TestApp::with_workers(1, "[tasks]\ngenerate_names = false\n").await;
    let (token, key) = app.agent_user("off").await;
    let fake = FakeModel::start_default().unwrap();
    put_key(&app, &token, "anthropic", &key, &fake.base_url()).await;
    let repo = BareRepo::new();
    let done = run_task(&app, &token, &repo, "Add a file [[write:f.txt=f]]").await;
    assert_eq!(done["title"], "Add a file [[write:f.txt=f]]");
    assert!(fake.requests().is_empty(), "{:#?}", fake.requests());
}

/// The three wire APIs against the fake, straight through the namer: OpenAI Chat Completions,
/// Gemini and Anthropic, each with the owner's key; no usable key → fallback.
#[actix_web::test]
async fn every_provider_speaks_its_own_api() {
    let app = TestApp::spawn().await;
    let fake = FakeModel::start_default().unwrap();
    let secrets = SecretBox::from_config(app.settings.master_key.as_ref().unwrap(), &[]).unwrap();
    let allow = format!("127.0.0.1:{}", fake.port());
    let namer_for = |user| {
        let (pool, secrets, allow) = (app.pool.clone(), secrets.clone(), allow.clone());
        async move {
            let mut conn = pool.get().await.unwrap();
            let keys = drydock_api::keys::opened::load(&mut conn, &secrets, user).await.unwrap();
            Namer::new(keys, std::slice::from_ref(&allow), Duration::from_secs(5), true)
        }
    };
    let base = fake.base_url();
    for (provider, url, api, model) in [
        (KeyProvider::Openai, format!("{base}/v1"), "chat", "gpt-5-nano"),
        (KeyProvider::Gemini, base.clone(), "gemini", "gemini-2.5-flash-lite"),
        (KeyProvider::Anthropic, base.clone(), "anthropic", "claude-haiku-4-5"),
    ] {
        let (user, token) = app.user_with_token(&format!("p-{}", provider.as_str())).await;
        let key = format!("key-{}-0123456789", provider.as_str());
        put_key(&app, &token, provider.as_str(), &key, &url).await;
        let before = fake.requests().len();
        let namer = namer_for(user).await;
        let got = namer.title(provider, "Refactor the parser").await;
        assert_eq!(got, Generated::Text { text: "Ok".into(), provider }, "{provider:?}");
        let got = namer
            .commit_subject(KeyProvider::GithubCopilot, "T", "Refactor", Some("done"), &[])
            .await;
        assert_eq!(
            got,
            Generated::Text { text: "Ok".into(), provider },
            "any of the owner's keys serves"
        );
        let reqs = &fake.requests()[before..];
        assert_eq!(reqs.len(), 2);
        for r in reqs {
            assert_eq!(r.api, api, "{r:#?}");
            assert_eq!(r.model, model);
            assert!(r.auth.as_deref().unwrap_or_default().contains(&key), "{r:#?}");
        }
    }
    let (nobody, _) = app.user_with_token("nokeys").await;
    match namer_for(nobody).await.title(KeyProvider::Anthropic, "x").await {
        Generated::Fallback(reason) => {
            assert!(reason.contains("no Anthropic, OpenAI or Gemini key"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
