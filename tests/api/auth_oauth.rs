use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Client;
use url::Url;

use crate::support::{client, json, spec, FakeGithub, TestApp};

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").expect("a redirect").to_str().unwrap().to_owned()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("drydock_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// Walks the redirects of a sign-in by hand, returning the final Location and the browser.
async fn sign_in(
    app: &TestApp,
    provider: &str,
    redirect: &str,
    tamper_state: bool,
) -> (String, Client) {
    let browser = client(true);
    let res = browser
        .get(app.url(&format!("/api/v1/auth/{provider}/login?redirect={}", urlencode(redirect))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let authorize = Url::parse(&location(&res)).unwrap();
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q["state"].is_empty() && !q["code_challenge"].is_empty());
    let res = browser.get(authorize.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let mut callback = Url::parse(&location(&res)).unwrap();
    if tamper_state {
        let pairs: Vec<(String, String)> = callback
            .query_pairs()
            .map(|(k, v)| {
                let forged = k == "state";
                (k.into_owned(), if forged { "forged".to_owned() } else { v.into_owned() })
            })
            .collect();
        callback.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let res = browser.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 302);
    (location(&res), browser)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Registration open to anyone who signs in (the default is closed).
const OPEN: &str = "[auth]\nregistration = \"open\"\n";

/// An app on the fake GitHub with `extra` settings.
async fn app_with(gh: &FakeGithub, extra: &str) -> TestApp {
    TestApp::spawn_with(&format!("{}{extra}", gh.settings_toml())).await
}

async fn count_users(app: &TestApp) -> i64 {
    use drydock_api::db::schema::{identities, users};
    let mut conn = app.pool.get().await.unwrap();
    let n: i64 = users::table.count().get_result(&mut conn).await.unwrap();
    let m: i64 = identities::table.count().get_result(&mut conn).await.unwrap();
    n + m
}

#[actix_web::test]
async fn github_sign_in_with_state_and_pkce() {
    let gh = FakeGithub::start().await;
    let app = app_with(&gh, OPEN).await;
    let methods =
        json(app.client.get(app.url("/api/v1/auth/methods")).send().await.unwrap(), 200).await;
    assert_eq!(methods["providers"][0]["id"], "github");

    let (landing, browser) = sign_in(&app, "github", "/tasks/abc", false).await;
    assert_eq!(landing, format!("{}/tasks/abc", app.base));
    assert_eq!(gh.with(|s| s.requested_scopes.clone()), ["repo", "read:user", "user:email"]);
    let me = json(browser.get(app.url("/api/v1/me")).send().await.unwrap(), 200).await;
    spec::assert_valid("get", "/api/v1/me", 200, &me);
    assert_eq!(me["username"], "octo.cat");
    assert_eq!(me["email"], "octo@example.com");
    assert_eq!(me["github_connected"], true);
    assert_eq!(me["auth_provider"], "github");
    assert_eq!(
        me["is_admin"], false,
        "signing in first makes no administrator: only the setup link does"
    );
    let methods =
        json(app.client.get(app.url("/api/v1/auth/methods")).send().await.unwrap(), 200).await;
    assert_eq!(methods["setup_required"], true, "the setup link still works");

    // The GitHub token is stored sealed, never in clear.
    use drydock_api::db::schema::identities;
    let mut conn = app.pool.get().await.unwrap();
    let sealed: Option<String> =
        identities::table.select(identities::access_token_enc).first(&mut conn).await.unwrap();
    let sealed = sealed.unwrap();
    let issued = gh.with(|s| s.tokens[0].clone());
    assert!(sealed.starts_with("v2.") && !sealed.contains(&issued), "sealed, bound to its row");

    // Sign-out can revoke the token at GitHub.
    let csrf = me["csrf_token"].as_str().unwrap();
    let res = browser
        .post(app.url("/api/v1/auth/logout?revoke_github=true"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(gh.with(|s| s.revoked.clone()), [issued]);
    let cleared: Option<String> =
        identities::table.select(identities::access_token_enc).first(&mut conn).await.unwrap();
    assert!(cleared.is_none());
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn the_session_id_changes_at_sign_in() {
    let gh = FakeGithub::start().await;
    let app = app_with(&gh, OPEN).await;
    let anon = client(false);
    let res = anon.get(app.url("/api/v1/auth/github/login")).send().await.unwrap();
    let before = session_cookie(&res).expect("a pre-login session holds the state");
    let authorize = location(&res);
    let res = anon.get(&authorize).send().await.unwrap();
    let callback = location(&res);
    let res = anon.get(&callback).header("cookie", &before).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let after = session_cookie(&res).expect("a new session cookie");
    assert_ne!(before, after);
    let me = anon.get(app.url("/api/v1/me")).header("cookie", &after).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let stale = anon.get(app.url("/api/v1/me")).header("cookie", &before).send().await.unwrap();
    assert_eq!(stale.status(), 401);
}

#[actix_web::test]
async fn a_forged_state_is_refused() {
    let gh = FakeGithub::start().await;
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    let (landing, browser) = sign_in(&app, "github", "/", true).await;
    assert_eq!(landing, format!("{}/sign-in?error=state_mismatch", app.base));
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn a_callback_without_a_started_sign_in_is_refused() {
    let gh = FakeGithub::start().await;
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    let res = client(true)
        .get(app.url("/api/v1/auth/github/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("{}/sign-in?error=state_mismatch", app.base));
}

#[actix_web::test]
async fn denied_consent_is_reported() {
    let gh = FakeGithub::start().await;
    gh.with(|s| s.deny_consent = true);
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    let (landing, browser) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=access_denied", app.base));
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn a_failed_token_exchange_is_reported() {
    let gh = FakeGithub::start().await;
    gh.with(|s| s.fail_token_exchange = true);
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    let (landing, browser) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=token_exchange_failed", app.base));
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}

#[actix_web::test]
async fn redirects_after_sign_in_stay_on_this_origin() {
    let gh = FakeGithub::start().await;
    let app = app_with(&gh, OPEN).await;
    for evil in ["//evil.example/x", "https://evil.example", "/\\evil.example"] {
        let (landing, _) = sign_in(&app, "github", evil, false).await;
        assert_eq!(landing, format!("{}/", app.base), "{evil}");
    }
}

#[actix_web::test]
async fn the_generic_provider_signs_in_through_userinfo() {
    let gh = FakeGithub::start().await;
    let app = TestApp::spawn_with(&format!("{}{OPEN}", gh.oidc_toml())).await;
    let methods =
        json(app.client.get(app.url("/api/v1/auth/methods")).send().await.unwrap(), 200).await;
    assert_eq!(methods["providers"][0]["id"], "vercel");
    assert_eq!(methods["providers"][0]["name"], "Vercel");
    let (landing, browser) = sign_in(&app, "vercel", "/", false).await;
    assert_eq!(landing, format!("{}/", app.base));
    let me = json(browser.get(app.url("/api/v1/me")).send().await.unwrap(), 200).await;
    assert_eq!(me["username"], "vera");
    assert_eq!(me["auth_provider"], "vercel");
    assert_eq!(me["github_connected"], false);
}

#[actix_web::test]
async fn unknown_providers_are_404() {
    let app = TestApp::spawn().await;
    let res = client(false).get(app.url("/api/v1/auth/github/login")).send().await.unwrap();
    json(res, 404).await;
}

#[actix_web::test]
async fn closed_registration_turns_an_unknown_user_away_and_makes_no_account() {
    let gh = FakeGithub::start().await;
    let app = app_with(&gh, "").await;
    let (landing, browser) = sign_in(&app, "github", "/tasks", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=registration_closed", app.base));
    assert_eq!(browser.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
    assert_eq!(count_users(&app).await, 0, "no user and no identity were stored");
}

#[actix_web::test]
async fn allow_lists_admit_verified_domains_and_organisation_members_only() {
    let gh = FakeGithub::start().await;
    // The fake's GitHub user has verified addresses at example.com; Vera's userinfo address is
    // not marked verified, so it does not count.
    let app = TestApp::spawn_with(&format!(
        "{}{}[auth]\nallowed_email_domains = [\"EXAMPLE.com\"]\n",
        gh.settings_toml(),
        gh.oidc_toml()
    ))
    .await;
    let (landing, _) = sign_in(&app, "vercel", "/", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=registration_closed", app.base));
    let (landing, browser) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/", app.base));
    let me = json(browser.get(app.url("/api/v1/me")).send().await.unwrap(), 200).await;
    assert_eq!(
        (me["username"].as_str(), me["is_admin"].as_bool()),
        (Some("octo.cat"), Some(false))
    );

    // Organisations: a member of an allowed one gets in, anyone else does not.
    let gh = FakeGithub::start().await;
    gh.with(|s| s.orgs = vec!["octo-org".into()]);
    let app = app_with(&gh, "[auth]\nallowed_github_orgs = [\"other-org\"]\n").await;
    let (landing, _) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=registration_closed", app.base));
    assert!(
        gh.with(|s| s.requested_scopes.contains(&"read:org".to_owned())),
        "private memberships need read:org"
    );
    assert_eq!(count_users(&app).await, 0);
    let app = app_with(&gh, "[auth]\nallowed_github_orgs = [\"Octo-Org\"]\n").await;
    let (landing, _) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/", app.base));
}

/// An administrator's token on `app`.
async fn admin_token(app: &TestApp) -> String {
    let (id, token) = app.user_with_token("admin").await;
    use drydock_api::db::schema::users;
    let mut conn = app.pool.get().await.unwrap();
    diesel::update(users::table.find(id))
        .set(users::is_admin.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    token
}

/// Walks a sign-in whose login URL carries an invitation token.
async fn sign_in_invited(app: &TestApp, provider: &str, invite: &str) -> String {
    let browser = client(true);
    let res = browser
        .get(app.url(&format!("/api/v1/auth/{provider}/login?invite={}", urlencode(invite))))
        .send()
        .await
        .unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    location(&res)
}

#[actix_web::test]
async fn an_invitation_lets_one_unknown_person_in_once() {
    let gh = FakeGithub::start().await;
    let app = TestApp::spawn_with(&format!("{}{}", gh.settings_toml(), gh.oidc_toml())).await;
    let admin = admin_token(&app).await;
    let invite = json(
        app.client
            .post(app.url("/api/v1/admin/invites"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    spec::assert_valid("post", "/api/v1/admin/invites", 201, &invite);
    let token = invite["token"].as_str().unwrap();
    assert_eq!(invite["url"], format!("{}/invite?token={token}", app.base));

    assert_eq!(
        sign_in_invited(&app, "github", "not-an-invitation").await,
        format!("{}/sign-in?error=invite_invalid", app.base)
    );
    assert_eq!(sign_in_invited(&app, "github", token).await, format!("{}/", app.base));
    // Spent: another unknown person (Vera, through the second provider) cannot use it.
    assert_eq!(
        sign_in_invited(&app, "vercel", token).await,
        format!("{}/sign-in?error=invite_invalid", app.base)
    );
    let listed = json(
        app.client.get(app.url("/api/v1/admin/invites")).bearer_auth(&admin).send().await.unwrap(),
        200,
    )
    .await;
    spec::assert_valid("get", "/api/v1/admin/invites", 200, &listed);
    assert!(listed["items"][0]["used_at"].is_string() && listed["items"][0]["used_by"].is_string());
    assert!(!listed.to_string().contains(token), "the token is shown once only");
}

#[actix_web::test]
async fn a_disabled_account_cannot_sign_in_with_its_provider() {
    let gh = FakeGithub::start().await;
    let app = app_with(&gh, OPEN).await;
    let (_, browser) = sign_in(&app, "github", "/", false).await;
    let me = json(browser.get(app.url("/api/v1/me")).send().await.unwrap(), 200).await;
    let admin = admin_token(&app).await;
    let id = me["id"].as_str().unwrap();
    json(
        app.client
            .patch(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"disabled": true}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        browser.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401,
        "the session ended at once"
    );
    let (landing, _) = sign_in(&app, "github", "/", false).await;
    assert_eq!(landing, format!("{}/sign-in?error=account_disabled", app.base));
}
