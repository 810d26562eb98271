//! The one-time data migration that binds sealed values to their rows.
//!
//! Values sealed before row binding (`v1.`) are opened without associated data and sealed
//! again for the place they sit in (see [`crate::crypto::SealedAt`]). It runs at every start
//! of `serve`, `worker` and `migrate`, after the schema migrations, and is idempotent: bound
//! values are left alone, and each row is rewritten only if it still holds the value that was
//! read (so two processes starting at once do no harm). A value that cannot be opened (its
//! key is gone) is left as it is and reported; it was unusable before too.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::accounts::model::{seal_identity_token, IdentityToken};
use crate::connectors::SecretColumn;
use crate::crypto::{SealedAt, SecretBox};
use crate::db::schema::{connectors, identities, user_keys};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Values sealed again, bound to their rows.
    pub resealed: usize,
    /// Unbound values that could not be opened and were left unchanged.
    pub unreadable: usize,
}

fn reseal(secrets: &SecretBox, at: &SealedAt<'_>, old: &str) -> Option<String> {
    let plain = secrets.open_unbound_v1(old).ok()?;
    secrets.seal(at, plain.expose_secret()).ok()
}

/// Binds every unbound sealed value; safe to run any number of times.
pub async fn run(conn: &mut AsyncPgConnection, secrets: &SecretBox) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut count = |updated: Option<usize>| match updated {
        Some(n) => report.resealed += n,
        None => report.unreadable += 1,
    };

    type IdentityRow = (Uuid, Uuid, String, String, Option<String>, Option<String>);
    let rows: Vec<IdentityRow> = identities::table
        .filter(
            identities::access_token_enc
                .like("v1.%")
                .or(identities::refresh_token_enc.like("v1.%")),
        )
        .select((
            identities::id,
            identities::user_id,
            identities::provider,
            identities::external_id,
            identities::access_token_enc,
            identities::refresh_token_enc,
        ))
        .load(conn)
        .await?;
    for (id, user_id, provider, external_id, access, refresh) in rows {
        for (which, old) in [(IdentityToken::Access, access), (IdentityToken::Refresh, refresh)] {
            let Some(old) = old.filter(|v| v.starts_with("v1.")) else { continue };
            let new = secrets.open_unbound_v1(&old).ok().and_then(|plain| {
                seal_identity_token(
                    secrets,
                    user_id,
                    &provider,
                    &external_id,
                    which,
                    plain.expose_secret(),
                )
                .ok()
            });
            let updated = match (new, which) {
                (None, _) => None,
                (Some(new), IdentityToken::Access) => Some(
                    diesel::update(
                        identities::table
                            .filter(identities::id.eq(id))
                            .filter(identities::access_token_enc.eq(&old)),
                    )
                    .set(identities::access_token_enc.eq(new))
                    .execute(conn)
                    .await?,
                ),
                (Some(new), IdentityToken::Refresh) => Some(
                    diesel::update(
                        identities::table
                            .filter(identities::id.eq(id))
                            .filter(identities::refresh_token_enc.eq(&old)),
                    )
                    .set(identities::refresh_token_enc.eq(new))
                    .execute(conn)
                    .await?,
                ),
            };
            count(updated);
        }
    }

    let keys: Vec<(Uuid, String, String)> = user_keys::table
        .filter(user_keys::value_enc.like("v1.%"))
        .select((user_keys::user_id, user_keys::provider, user_keys::value_enc))
        .load(conn)
        .await?;
    for (user_id, provider, old) in keys {
        let at = crate::keys::model::sealed_at(user_id, &provider);
        let updated = match reseal(secrets, &at, &old) {
            None => None,
            Some(new) => Some(
                diesel::update(
                    user_keys::table
                        .filter(user_keys::user_id.eq(user_id))
                        .filter(user_keys::provider.eq(&provider))
                        .filter(user_keys::value_enc.eq(&old)),
                )
                .set(user_keys::value_enc.eq(new))
                .execute(conn)
                .await?,
            ),
        };
        count(updated);
    }

    type ConnectorSecrets = (Uuid, Uuid, Option<String>, Option<String>);
    let rows: Vec<ConnectorSecrets> = connectors::table
        .filter(connectors::env_enc.like("v1.%").or(connectors::headers_enc.like("v1.%")))
        .select((connectors::id, connectors::user_id, connectors::env_enc, connectors::headers_enc))
        .load(conn)
        .await?;
    for (id, user_id, env, headers) in rows {
        let row = id.to_string();
        for (column, old) in [(SecretColumn::Env, env), (SecretColumn::Headers, headers)] {
            let Some(old) = old.filter(|v| v.starts_with("v1.")) else { continue };
            let at = crate::connectors::sealed_at(user_id, &row, column);
            let updated = match (reseal(secrets, &at, &old), column) {
                (None, _) => None,
                (Some(new), SecretColumn::Env) => Some(
                    diesel::update(
                        connectors::table
                            .filter(connectors::id.eq(id))
                            .filter(connectors::env_enc.eq(&old)),
                    )
                    .set(connectors::env_enc.eq(new))
                    .execute(conn)
                    .await?,
                ),
                (Some(new), SecretColumn::Headers) => Some(
                    diesel::update(
                        connectors::table
                            .filter(connectors::id.eq(id))
                            .filter(connectors::headers_enc.eq(&old)),
                    )
                    .set(connectors::headers_enc.eq(new))
                    .execute(conn)
                    .await?,
                ),
            };
            count(updated);
        }
    }
    Ok(report)
}
