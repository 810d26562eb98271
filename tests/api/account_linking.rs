//! Connecting an OAuth identity to a signed-in account (`GET /auth/{provider}/login?link=true`)
//! and disconnecting it (`DELETE /me/identities/{provider}`), against the fake GitHub.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Client;
use serde_json::Value;

use crate::support::{client, json, FakeGithub, TestApp};

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").expect("a redirect").to_str().unwrap().to_owned()
}

/// Walks a login's redirects through the fake GitHub; returns where the callback sent `browser`.
async fn through_github(app: &TestApp, browser: &Client, query: &str) -> String {
    let res =
        browser.get(app.url(&format!("/api/v1/auth/github/login?{query}"))).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap_or_default());
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 302);
    location(&res)
}

async fn me(app: &TestApp, browser: &Client) -> Value {
    json(browser.get(app.url("/api/v1/me")).send().await.unwrap(), 200).await
}

async fn identity_owners(app: &TestApp) -> Vec<(uuid::Uuid, String)> {
    use drydock_api::db::schema::identities;
    let mut conn = app.pool.get().await.unwrap();
    identities::table
        .select((identities::user_id, identities::external_id))
        .load(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_local_user_connects_github_and_disconnects_it_revoking_the_token() {
    let gh = FakeGithub::start().await;
    let app = TestApp::spawn_with(&gh.settings_toml()).await;
    // Signed out, there is nobody to connect to.
    let stranger = client(true);
    let res = stranger.get(app.url("/api/v1/auth/github/login?link=true")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let (browser, csrf) = app.browser_session("lena").await;
    let before = me(&app, &browser).await;
    assert_eq!(before["github_connected"], false);
    let landing = through_github(&app, &browser, "link=true&redirect=%2Fsettings").await;
    assert_eq!(landing, format!("{}/settings", app.base));
    let after = me(&app, &browser).await;
    assert_eq!(after["github_connected"], true, "{after}");
    assert_eq!(after["username"], "lena", "still the same account, still signed in");
    assert_eq!(after["auth_provider"], "local");
    let user_id: uuid::Uuid = after["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(identity_owners(&app).await, [(user_id, "4242".to_owned())]);

    let issued = gh.with(|s| s.tokens.last().cloned().unwrap());
    let res = browser
        .delete(app.url("/api/v1/me/identities/github?revoke=true"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(gh.with(|s| s.revoked.clone()), [issued]);
    assert_eq!(me(&app, &browser).await["github_connected"], false);
    assert!(identity_owners(&app).await.is_empty());
    let again = browser
        .delete(app.url("/api/v1/me/identities/github"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    json(again, 404).await;
    // Without the CSRF header the session cannot disconnect anything.
    let forged = browser.delete(app.url("/api/v1/me/identities/github")).send().await.unwrap();
    assert_eq!(forged.status(), 403);

    // An account with another GitHub identity connected must disconnect it first.
    let (mira, _) = app.browser_session("mira").await;
    let mira_id: uuid::Uuid = me(&app, &mira).await["id"].as_str().unwrap().parse().unwrap();
    {
        use drydock_api::db::schema::identities;
        let mut conn = app.pool.get().await.unwrap();
        diesel::insert_into(identities::table)
            .values((
                identities::id.eq(uuid::Uuid::new_v4()),
                identities::user_id.eq(mira_id),
                identities::provider.eq("github"),
                identities::external_id.eq("777"),
                identities::login.eq("mira-gh"),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let landing = through_github(&app, &mira, "link=true").await;
    assert!(landing.contains("error=other_identity_linked"), "{landing}");
    let owners = identity_owners(&app).await;
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(owners.contains(&(mira_id, "777".to_owned())), "{owners:?}");
}

#[actix_web::test]
async fn an_identity_is_connected_to_one_account_only_and_a_github_only_account_keeps_it() {
    let gh = FakeGithub::start().await;
    let app =
        TestApp::spawn_with(&format!("{}[auth]\nregistration = \"open\"\n", gh.settings_toml()))
            .await;
    // The GitHub identity makes an account of its own by signing in.
    let octo = client(true);
    through_github(&app, &octo, "redirect=%2F").await;
    let octo_me = me(&app, &octo).await;
    assert_eq!(octo_me["auth_provider"], "github");
    // It is how that account signs in: it stays.
    let res = octo
        .delete(app.url("/api/v1/me/identities/github"))
        .header("x-csrf-token", octo_me["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let problem = json(res, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("signs in with github"), "{problem}");

    // Another account cannot take it.
    let (lena, _) = app.browser_session("lena").await;
    let landing = through_github(&app, &lena, "link=true&redirect=%2Fsettings").await;
    assert!(landing.contains("error=identity_in_use"), "{landing}");
    assert_eq!(me(&app, &lena).await["github_connected"], false);
    assert_eq!(me(&app, &lena).await["username"], "lena", "a refusal keeps the session");
    let octo_id: uuid::Uuid = octo_me["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(identity_owners(&app).await, [(octo_id, "4242".to_owned())]);
}
