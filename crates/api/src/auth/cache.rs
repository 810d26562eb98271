//! Who a token or a session belongs to, kept in memory for a few seconds, so that an
//! authenticated read costs no database round trip for its authentication.
//!
//! Entries are found by the SHA-256 of the secret (a token, a session key), as the tables find
//! their rows: the cache holds nothing a request could not already present. What an entry grants
//! is re-checked on every hit where time alone ends it (a token's expiry, a session's idle
//! deadline and absolute lifetime); everything else that ends or narrows it (revocation,
//! disabling a user, changing their administrator flag, signing out) is announced by triggers
//! on the tables through LISTEN/NOTIFY (`drydock_auth`), and every process forgets the entry as
//! soon as its [`Hub`] hears it. The TTL bounds the damage of a notification that was lost; a
//! reconnect of the hub forgets everything.
//!
//! A request that read the database while a change was being announced must not put its
//! (possibly older) answer back: every forget bumps a generation, and an entry is only stored
//! under the generation seen before its read began.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::accounts::User;
use crate::events::hub::{AuthChange, Hub, Signal};
use crate::tokens::model::Authenticated;
use crate::ttl_map::TtlMap;

/// Entries per map (each weighs 1): memory stays bounded whatever is presented.
const MAX_ENTRIES: usize = 50_000;

/// What a session row says, as [`super::session_store::PgSessionStore`] loaded it.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    /// The session state.
    pub state: HashMap<String, String>,
    /// The signed-in user, when there is one (so disabling them forgets the session).
    pub user_id: Option<Uuid>,
    /// The idle deadline, as the row had it (never later than the row's).
    pub expires_at: DateTime<Utc>,
    /// When the session started.
    pub created_at: DateTime<Utc>,
}

/// A token as it authenticated, and when its use was last recorded by this process.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    /// The token.
    pub token: Authenticated,
    /// When `last_used_at` was last written (or known to be recent).
    pub recorded_use: DateTime<Utc>,
}

struct Inner {
    ttl: Duration,
    generation: AtomicU64,
    tokens: TtlMap<Vec<u8>, TokenEntry>,
    users: TtlMap<Uuid, User>,
    github: TtlMap<Uuid, bool>,
    sessions: TtlMap<Vec<u8>, SessionEntry>,
    forgotten: watch::Sender<u64>,
}

/// The process's auth cache; cheap to clone.
#[derive(Clone)]
pub struct AuthCache {
    inner: Arc<Inner>,
}

impl AuthCache {
    /// A cache whose entries live at most `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                ttl,
                generation: AtomicU64::new(0),
                tokens: TtlMap::new(ttl, MAX_ENTRIES),
                users: TtlMap::new(ttl, MAX_ENTRIES),
                github: TtlMap::new(ttl, MAX_ENTRIES),
                sessions: TtlMap::new(ttl, MAX_ENTRIES),
                forgotten: watch::channel(0).0,
            }),
        }
    }

    /// Applies the hub's auth changes until the hub goes away. A hub that reconnected, or a
    /// listener that fell behind, may have missed some: everything is forgotten then.
    pub fn follow(&self, hub: &Hub) {
        let cache = self.clone();
        let mut signals = hub.subscribe();
        tokio::spawn(async move {
            loop {
                match signals.recv().await {
                    Ok(Signal::Auth(change)) => cache.forget(change),
                    Ok(Signal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        cache.clear()
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    fn enabled(&self) -> bool {
        !self.inner.ttl.is_zero()
    }

    /// The generation to pass to a `put_*` after reading the database.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    fn current(&self, generation: u64) -> bool {
        self.enabled() && self.generation() == generation
    }

    /// The live token behind this hash, if cached.
    pub fn token(&self, hash: &[u8]) -> Option<TokenEntry> {
        let entry = self.inner.tokens.get(hash)?;
        let expired = entry.token.expires_at.is_some_and(|t| t <= Utc::now());
        (!expired).then_some(entry)
    }

    /// Caches a token read from the database under `generation`.
    pub fn put_token(&self, generation: u64, hash: Vec<u8>, entry: TokenEntry) {
        if self.current(generation) {
            self.inner.tokens.put(hash, entry, 1);
        }
    }

    /// Notes that the token's use was recorded at `at`.
    pub fn recorded_use(&self, hash: &[u8], at: DateTime<Utc>) {
        self.inner.tokens.update(hash, |e| e.recorded_use = at);
    }

    /// The user, if cached.
    pub fn user(&self, id: Uuid) -> Option<User> {
        self.inner.users.get(&id)
    }

    /// Caches a user read from the database under `generation`.
    pub fn put_user(&self, generation: u64, user: User) {
        if self.current(generation) {
            self.inner.users.put(user.id, user, 1);
        }
    }

    /// Whether the user has a GitHub identity with a token, if cached (what `/me` says).
    pub fn github_connected(&self, id: Uuid) -> Option<bool> {
        self.inner.github.get(&id)
    }

    /// Caches whether the user has a GitHub identity with a token, read under `generation`.
    pub fn put_github_connected(&self, generation: u64, id: Uuid, connected: bool) {
        if self.current(generation) {
            self.inner.github.put(id, connected, 1);
        }
    }

    /// The session behind this key hash, if cached and neither idle past its deadline nor older
    /// than `lifetime`.
    pub fn session(&self, hash: &[u8], lifetime: chrono::Duration) -> Option<SessionEntry> {
        let entry = self.inner.sessions.get(hash)?;
        let now = Utc::now();
        (entry.expires_at > now && entry.created_at > now - lifetime).then_some(entry)
    }

    /// Caches a session read from the database under `generation`.
    pub fn put_session(&self, generation: u64, hash: Vec<u8>, entry: SessionEntry) {
        if self.current(generation) {
            self.inner.sessions.put(hash, entry, 1);
        }
    }

    /// Notes that the session's idle deadline was moved to `expires_at`.
    pub fn session_extended(&self, hash: &[u8], expires_at: DateTime<Utc>) {
        self.inner.sessions.update(hash, |e| e.expires_at = e.expires_at.max(expires_at));
    }

    /// Forgets whatever `change` may have ended or narrowed.
    pub fn forget(&self, change: AuthChange) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        match change {
            AuthChange::Token(id) => self.inner.tokens.retain(|_, e| e.token.token_id != id),
            AuthChange::User(id) => {
                self.inner.users.remove(&id);
                self.inner.github.remove(&id);
                self.inner.tokens.retain(|_, e| e.token.user_id != id);
                self.inner.sessions.retain(|_, e| e.user_id != Some(id));
            }
            AuthChange::Session(hash) => {
                self.inner.sessions.remove(hash.as_slice());
            }
        }
        self.inner.forgotten.send_modify(|n| *n += 1);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.tokens.clear();
        self.inner.users.clear();
        self.inner.github.clear();
        self.inner.sessions.clear();
        self.inner.forgotten.send_modify(|n| *n += 1);
    }

    /// Counts the forgets applied so far: tests that change the tables behind the server's back
    /// wait on it before they expect the change to show.
    pub fn forgotten(&self) -> watch::Receiver<u64> {
        self.inner.forgotten.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(user_id: Uuid, expires_at: Option<DateTime<Utc>>) -> TokenEntry {
        TokenEntry {
            token: Authenticated { token_id: Uuid::new_v4(), user_id, scopes: vec![], expires_at },
            recorded_use: Utc::now(),
        }
    }

    #[test]
    fn a_read_that_raced_a_forget_is_not_stored() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.forget(AuthChange::User(Uuid::new_v4()));
        cache.put_token(before, vec![1], token(Uuid::new_v4(), None));
        assert!(cache.token(&[1]).is_none());
        cache.put_token(cache.generation(), vec![1], token(Uuid::new_v4(), None));
        assert!(cache.token(&[1]).is_some());
    }

    #[test]
    fn forgetting_a_user_forgets_their_tokens_and_sessions() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let user = Uuid::new_v4();
        let g = cache.generation();
        cache.put_token(g, vec![1], token(user, None));
        cache.put_token(g, vec![2], token(Uuid::new_v4(), None));
        let session = SessionEntry {
            state: HashMap::new(),
            user_id: Some(user),
            expires_at: Utc::now() + chrono::Duration::hours(1),
            created_at: Utc::now(),
        };
        cache.put_session(g, vec![3], session);
        assert!(cache.session(&[3], chrono::Duration::hours(2)).is_some());
        cache.forget(AuthChange::User(user));
        assert!(cache.token(&[1]).is_none());
        assert!(cache.token(&[2]).is_some());
        assert!(cache.session(&[3], chrono::Duration::hours(2)).is_none());
    }

    #[test]
    fn time_still_ends_cached_tokens_and_sessions() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put_token(g, vec![1], token(Uuid::new_v4(), Some(Utc::now())));
        assert!(cache.token(&[1]).is_none(), "expired");
        let idle = SessionEntry {
            state: HashMap::new(),
            user_id: None,
            expires_at: Utc::now() - chrono::Duration::seconds(1),
            created_at: Utc::now(),
        };
        cache.put_session(g, vec![2], idle.clone());
        assert!(cache.session(&[2], chrono::Duration::hours(1)).is_none(), "idle");
        let old = SessionEntry {
            expires_at: Utc::now() + chrono::Duration::hours(1),
            created_at: Utc::now() - chrono::Duration::hours(2),
            ..idle
        };
        cache.put_session(g, vec![3], old);
        assert!(cache.session(&[3], chrono::Duration::hours(1)).is_none(), "too old");
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.put_token(cache.generation(), vec![1], token(Uuid::new_v4(), None));
        assert!(cache.token(&[1]).is_none());
    }
}
