//! A user's provider keys, opened for one run. Loading is all or nothing: a key that cannot be
//! opened is an error, never a silently missing key (the run would then fail later with a
//! misleading "add a key", or, worse, leave the value out of the redaction list).

use diesel_async::AsyncPgConnection;
use sandbox::agents::Secret;
use secrecy::ExposeSecret;
use shared::agents::KeyProvider;
use uuid::Uuid;

use crate::crypto::SecretBox;

/// One opened key.
#[derive(Debug, Clone)]
pub struct OpenedKey {
    /// Whose API it is for.
    pub provider: KeyProvider,
    /// The key itself.
    pub value: Secret,
    /// The user's gateway or proxy, if set.
    pub base_url: Option<String>,
}

/// Every key of the user, opened.
pub async fn load(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
) -> anyhow::Result<Vec<OpenedKey>> {
    let rows = super::model::list(conn, user_id).await?;
    rows.into_iter()
        // A provider this build does not know (a newer server wrote it) is not ours to use.
        .filter_map(|row| KeyProvider::parse(&row.provider).map(|p| (p, row)))
        .map(|(provider, row)| {
            let value =
                secrets.open(&super::model::sealed_at(user_id, &row.provider), &row.value_enc)?;
            Ok(OpenedKey {
                provider,
                value: Secret::new(value.expose_secret()),
                base_url: row.base_url,
            })
        })
        .collect()
}
