//! Browser sessions stored in PostgreSQL, so any API process can serve any request, logout
//! really ends a session, and restarts keep users signed in.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::sessions;
use crate::db::DbPool;

/// The store; cheap to clone.
#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
}

impl PgSessionStore {
    /// A store over the pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_expired(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await?;
        Ok(diesel::delete(sessions::table.filter(sessions::expires_at.lt(diesel::dsl::now)))
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

impl SessionStore for PgSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut conn = self.pool.get().await.map_err(|e| LoadError::Other(e.into()))?;
        let state: Option<serde_json::Value> = sessions::table
            .filter(sessions::session_key.eq(key.as_ref()))
            .filter(sessions::expires_at.gt(diesel::dsl::now))
            .select(sessions::state)
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| LoadError::Other(e.into()))?;
        state
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = new_key().map_err(SaveError::Other)?;
        let json = serde_json::to_value(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let mut conn = self.pool.get().await.map_err(|e| SaveError::Other(e.into()))?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::session_key.eq(key.as_ref()),
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
        let json =
            serde_json::to_value(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let mut conn = self.pool.get().await.map_err(|e| UpdateError::Other(e.into()))?;
        let n = diesel::update(sessions::table.filter(sessions::session_key.eq(key.as_ref())))
            .set((sessions::state.eq(json), sessions::expires_at.eq(expiry(ttl))))
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
        let mut conn = self.pool.get().await?;
        diesel::update(sessions::table.filter(sessions::session_key.eq(key.as_ref())))
            .set(sessions::expires_at.eq(expiry(ttl)))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.pool.get().await?;
        diesel::delete(sessions::table.filter(sessions::session_key.eq(key.as_ref())))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}
