//! Secrets at rest are bound to the row they are stored in: copied elsewhere, they do not
//! open; and values sealed before that binding are bound once, by the start-up data migration.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use drydock_api::accounts::model::{identity, IdentityToken};
use drydock_api::crypto::SecretBox;
use drydock_api::db::schema::{connectors, identities, user_keys};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::support::{TestApp, TEST_MASTER_KEY};

fn secrets() -> SecretBox {
    SecretBox::from_config(&TEST_MASTER_KEY.to_owned().into(), &[]).unwrap()
}

/// A value as versions before row binding sealed it: `v1.<kid>.<nonce || AES-GCM, no AAD>`.
fn legacy_v1(key_b64: &str, plaintext: &str) -> String {
    let key = STANDARD.decode(key_b64).unwrap();
    let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&key)[..6]);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let nonce: [u8; 12] = rand::random();
    let mut blob = nonce.to_vec();
    blob.extend(cipher.encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes()).unwrap());
    format!("v1.{kid}.{}", URL_SAFE_NO_PAD.encode(blob))
}

#[actix_web::test]
async fn a_secret_copied_into_another_users_row_does_not_open() {
    let app = TestApp::spawn().await;
    let (alice, alices_token) = app.user_with_token("alice").await;
    let (mallory, _) = app.user_with_token("mallory").await;
    let res = app
        .client
        .put(app.url("/api/v1/me/keys/anthropic"))
        .bearer_auth(&alices_token)
        .json(&json!({"value": "sk-ant-alice-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut conn = app.pool.get().await.unwrap();
    let sealed: String = user_keys::table
        .filter(user_keys::user_id.eq(alice))
        .select(user_keys::value_enc)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(sealed.starts_with("v2."));
    // Mallory (or whoever can write rows) plants Alice's sealed key as Mallory's own, and as
    // Alice's key for another provider.
    diesel::insert_into(user_keys::table)
        .values((
            user_keys::user_id.eq(mallory),
            user_keys::provider.eq("anthropic"),
            user_keys::value_enc.eq(&sealed),
            user_keys::last4.eq("cret"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::insert_into(user_keys::table)
        .values((
            user_keys::user_id.eq(alice),
            user_keys::provider.eq("openai"),
            user_keys::value_enc.eq(&sealed),
            user_keys::last4.eq("cret"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let err = drydock_api::keys::opened::load(&mut conn, &secrets(), mallory).await.unwrap_err();
    assert!(err.to_string().contains("not sealed for this row"), "{err}");
    assert!(drydock_api::keys::opened::load(&mut conn, &secrets(), alice).await.is_err());
    diesel::delete(user_keys::table.filter(user_keys::provider.eq("openai")))
        .execute(&mut conn)
        .await
        .unwrap();
    let alices = drydock_api::keys::opened::load(&mut conn, &secrets(), alice).await.unwrap();
    assert_eq!(alices[0].value.expose(), "sk-ant-alice-secret", "in its own row it opens");

    // A GitHub token moved to another identity is as good as none.
    let token = drydock_api::accounts::model::seal_identity_token(
        &secrets(),
        alice,
        "github",
        "1",
        IdentityToken::Access,
        "gho_alice",
    )
    .unwrap();
    for (user, external) in [(alice, "1"), (mallory, "2")] {
        diesel::insert_into(identities::table)
            .values((
                identities::id.eq(Uuid::new_v4()),
                identities::user_id.eq(user),
                identities::provider.eq("github"),
                identities::external_id.eq(external),
                identities::login.eq(format!("u{external}")),
                identities::access_token_enc.eq(&token),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let theirs = drydock_api::github::model::token(&mut conn, &secrets(), mallory).await;
    assert!(theirs.is_err(), "mallory may not use alice's GitHub token");
    let hers = drydock_api::github::model::token(&mut conn, &secrets(), alice).await.unwrap();
    assert_eq!(hers.expose_secret(), "gho_alice");
}

#[actix_web::test]
async fn values_sealed_before_binding_are_bound_once_at_start() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user_with_token("olga").await;
    let mut conn = app.pool.get().await.unwrap();
    diesel::insert_into(user_keys::table)
        .values((
            user_keys::user_id.eq(user),
            user_keys::provider.eq("anthropic"),
            user_keys::value_enc.eq(legacy_v1(TEST_MASTER_KEY, "sk-ant-old")),
            user_keys::last4.eq("-old"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::insert_into(identities::table)
        .values((
            identities::id.eq(Uuid::new_v4()),
            identities::user_id.eq(user),
            identities::provider.eq("github"),
            identities::external_id.eq("77"),
            identities::login.eq("olga"),
            identities::access_token_enc.eq(legacy_v1(TEST_MASTER_KEY, "gho_old")),
            identities::refresh_token_enc.eq(legacy_v1(TEST_MASTER_KEY, "ghr_old")),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let connector = Uuid::new_v4();
    // One value under a key this server does not have: unreadable before, left alone.
    let lost = legacy_v1(&STANDARD.encode([9u8; 32]), "{\"X\":\"y\"}");
    diesel::insert_into(connectors::table)
        .values((
            connectors::id.eq(connector),
            connectors::user_id.eq(user),
            connectors::name.eq("tools"),
            connectors::kind.eq("local"),
            connectors::command.eq("tool"),
            connectors::args.eq(Vec::<String>::new()),
            connectors::env_enc.eq(legacy_v1(TEST_MASTER_KEY, "{\"TOKEN\":\"abc\"}")),
            connectors::headers_enc.eq(&lost),
        ))
        .execute(&mut conn)
        .await
        .unwrap();

    // Unbound values no longer open where they are.
    assert!(drydock_api::keys::opened::load(&mut conn, &secrets(), user).await.is_err());

    let report = drydock_api::reseal::run(&mut conn, &secrets()).await.unwrap();
    assert_eq!((report.resealed, report.unreadable), (4, 1));
    let again = drydock_api::reseal::run(&mut conn, &secrets()).await.unwrap();
    assert_eq!((again.resealed, again.unreadable), (0, 1), "a second run changes nothing");

    let keys = drydock_api::keys::opened::load(&mut conn, &secrets(), user).await.unwrap();
    assert_eq!(keys[0].value.expose(), "sk-ant-old");
    let gh = identity(&mut conn, user, "github").await.unwrap().unwrap();
    assert!(gh.access_token_enc.as_deref().unwrap().starts_with("v2."));
    let opened = |which| gh.open_token(&secrets(), which).unwrap().unwrap();
    assert_eq!(opened(IdentityToken::Access).expose_secret(), "gho_old");
    assert_eq!(opened(IdentityToken::Refresh).expose_secret(), "ghr_old");
    let row =
        drydock_api::connectors::model::get(&mut conn, user, connector).await.unwrap().unwrap();
    let env = drydock_api::connectors::open_map(
        &secrets(),
        &row,
        drydock_api::connectors::SecretColumn::Env,
    )
    .unwrap();
    assert_eq!(env["TOKEN"], "abc");
    assert_eq!(row.headers_enc.as_deref(), Some(lost.as_str()), "the unreadable one is untouched");
}
