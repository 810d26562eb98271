//! Browser sessions stored in PostgreSQL, so any API process can serve any request, logout
//! really ends a session, and restarts keep users signed in.
//!
//! A row is found by the SHA-256 of the cookie's session key, never the key itself (as API
//! tokens are stored): whoever reads the table cannot sign in with what is there. A session
//! ends when unused for the idle timeout (the `ttl` actix-session passes, renewed as the
//! session is used) or at its absolute lifetime from creation, whichever comes first.
//!
//! Loaded sessions are kept in the process's [`AuthCache`] for a few seconds, with their
//! deadline and start, so that a request that only reads neither loads its session nor pushes
//! its idle deadline (which moves at most once a minute): ending a session early is announced
//! to every process by the table's triggers.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::cache::{AuthCache, SessionEntry};
use crate::crypto::token_hash;
use crate::db::schema::sessions;
use crate::db::DbPool;

/// The store; cheap to clone.
#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    lifetime: chrono::Duration,
    cache: AuthCache,
}

impl PgSessionStore {
    /// A store over the pool whose sessions live at most `lifetime` from their creation,
    /// remembered for a while in `cache`.
    pub fn new(pool: DbPool, lifetime: chrono::Duration, cache: AuthCache) -> Self {
        Self { pool, lifetime, cache }
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await?;
        let born_before = Utc::now() - self.lifetime;
        Ok(diesel::delete(sessions::table.filter(
            sessions::expires_at.lt(diesel::dsl::now).or(sessions::created_at.lt(born_before)),
        ))
        .execute(&mut conn)
        .await?)
    }
}

type State = HashMap<String, String>;

fn expiry(ttl: &Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(ttl.whole_seconds())
}

fn new_key() -> anyhow::Result<SessionKey> {
    SessionKey::try_from(crate::crypto::random_token(48))
        .map_err(|e| anyhow::anyhow!("session key: {e}"))
}

fn hash(key: &SessionKey) -> Vec<u8> {
    token_hash(key.as_ref())
}

fn key_array(key: &SessionKey) -> [u8; 32] {
    <[u8; 32]>::try_from(hash(key).as_slice()).unwrap_or_default()
}

/// The session id and user the state carries (see [`super::session`]), copied into columns.
fn columns(state: &State) -> (Option<Uuid>, Option<Uuid>) {
    let uuid = |k: &str| state.get(k).and_then(|v| serde_json::from_str::<Uuid>(v).ok());
    (uuid(super::session::SESSION_ID), uuid(super::session::USER_ID))
}

impl SessionStore for PgSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let hash = hash(key);
        if let Some(entry) = self.cache.session(&hash, self.lifetime) {
            return Ok(Some(entry.state));
        }
        let generation = self.cache.generation();
        let mut conn = self.pool.get().await.map_err(|e| LoadError::Other(e.into()))?;
        type Row = (serde_json::Value, chrono::DateTime<Utc>, chrono::DateTime<Utc>);
        let row: Option<Row> = sessions::table
            .filter(sessions::key_hash.eq(&hash))
            .filter(sessions::expires_at.gt(diesel::dsl::now))
            .filter(sessions::created_at.gt(Utc::now() - self.lifetime))
            .select((sessions::state, sessions::expires_at, sessions::created_at))
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some((json, expires_at, created_at)) = row else { return Ok(None) };
        let state: State =
            serde_json::from_value(json).map_err(|e| LoadError::Deserialization(e.into()))?;
        let user_id = columns(&state).1;
        let entry = SessionEntry { state: state.clone(), user_id, expires_at, created_at };
        self.cache.put_session(generation, hash, entry);
        Ok(Some(state))
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = new_key().map_err(SaveError::Other)?;
        let (id, user_id) = columns(&state);
        let json = serde_json::to_value(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let mut conn = self.pool.get().await.map_err(|e| SaveError::Other(e.into()))?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::key_hash.eq(hash(&key)),
                sessions::id.eq(id),
                sessions::user_id.eq(user_id),
                sessions::state.eq(json),
                sessions::expires_at.eq(expiry(ttl)),
            ))
            .execute(&mut conn)
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let (id, user_id) = columns(&state);
        let json =
            serde_json::to_value(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        self.cache.forget(crate::events::hub::AuthChange::Session(key_array(&key)));
        let mut conn = self.pool.get().await.map_err(|e| UpdateError::Other(e.into()))?;
        let n = diesel::update(
            sessions::table
                .filter(sessions::key_hash.eq(hash(&key)))
                .filter(sessions::created_at.gt(Utc::now() - self.lifetime)),
        )
        .set((
            sessions::state.eq(json),
            sessions::id.eq(id),
            sessions::user_id.eq(user_id),
            sessions::expires_at.eq(expiry(ttl)),
        ))
        .execute(&mut conn)
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        drop(conn);
        if n == 1 {
            Ok(key)
        } else {
            // The row expired or was deleted meanwhile: start a new session rather than fail.
            self.save(state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        // Called on every request: write only when the deadline moves by more than a minute,
        // so that reading pages does not turn into a write each. A cached deadline is never
        // later than the row's, so when it is recent enough the row's is too.
        let deadline = expiry(ttl);
        let slack = chrono::Duration::minutes(1);
        let hash = hash(key);
        if self
            .cache
            .session(&hash, self.lifetime)
            .is_some_and(|e| e.expires_at >= deadline - slack)
        {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let n = diesel::update(
            sessions::table
                .filter(sessions::key_hash.eq(&hash))
                .filter(sessions::expires_at.lt(deadline - slack)),
        )
        .set(sessions::expires_at.eq(deadline))
        .execute(&mut conn)
        .await?;
        // Either this moved it, or the row's is already within the slack of it.
        self.cache.session_extended(&hash, if n == 1 { deadline } else { deadline - slack });
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.cache.forget(crate::events::hub::AuthChange::Session(key_array(key)));
        let mut conn = self.pool.get().await?;
        diesel::delete(sessions::table.filter(sessions::key_hash.eq(hash(key))))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

/// Whether the signed-in session `id` is still alive (not signed out, idle or too old).
pub async fn is_live(
    conn: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
    lifetime: chrono::Duration,
) -> QueryResult<bool> {
    let n: i64 = sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .filter(sessions::created_at.gt(Utc::now() - lifetime))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}
