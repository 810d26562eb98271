//! Task reads kept in memory for a few seconds, so that the reads clients repeat most — a task,
//! a page of the task list, the ownership check of an event page — cost no database round trip.
//!
//! What is kept is what a read answered: the encoded body of `GET /tasks/{id}` with its tag,
//! the encoded body of a list page under its owner and query, and a task's owner with a lower
//! bound of its last event seq (seqs only grow, so a bound read once stays true). Nothing is
//! kept for a deleted task, and every entry is found under its owner, so a hit answers exactly
//! what the database would have.
//!
//! Triggers on `tasks` and `task_pull_requests` announce every change to what those reads show
//! on `drydock_tasks` (migration `2026-12-05-000600_task_cache_notify`), whoever makes it; the
//! [`Hub`] hands each to [`TaskCache::forget`] before it broadcasts anything later, so a client
//! told about a change by a stream never reads what the change replaced. A request that
//! changes something forgets its user's entries before it answers ([`forget_after_writes`]), so
//! a client reads its own writes. The TTL bounds the damage of a lost notification; a hub
//! reconnect forgets everything. As in the auth cache, every forget bumps a generation and a
//! read only stores its answer under the generation seen before it began.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::EntityTag;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use uuid::Uuid;

use crate::events::hub::{Hub, Signal};
use crate::ttl_map::TtlMap;

/// Bytes of encoded bodies each map may hold.
const MAX_BYTES: usize = 32 << 20;
/// What an ownership entry is counted as.
const OWNER_WEIGHT: usize = 64;

/// The encoded answer of `GET /tasks/{id}`.
#[derive(Clone)]
pub struct CachedTask {
    /// Whose task it is.
    pub owner: Uuid,
    /// The JSON body.
    pub body: Bytes,
    /// Its tag.
    pub tag: EntityTag,
}

/// A task's owner, and a seq its events are known to have reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    /// Whose task it is.
    pub owner: Uuid,
    /// Its last event seq when this was read (a lower bound ever after).
    pub last_seq: i64,
}

/// A page of the task list: its owner and the query that made it, normalised.
pub type ListKey = (Uuid, String);

struct Inner {
    enabled: bool,
    generation: AtomicU64,
    tasks: TtlMap<Uuid, CachedTask>,
    owners: TtlMap<Uuid, Owned>,
    lists: TtlMap<ListKey, Bytes>,
}

/// The process's task read cache; cheap to clone.
#[derive(Clone)]
pub struct TaskCache {
    inner: Arc<Inner>,
}

/// Set on a request that may change tasks, with its user: [`forget_after_writes`] forgets their
/// entries once it has been handled.
#[derive(Debug, Clone, Copy)]
pub struct Wrote(pub Uuid);

impl TaskCache {
    /// A cache whose entries live at most `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                enabled: !ttl.is_zero(),
                generation: AtomicU64::new(0),
                tasks: TtlMap::new(ttl, MAX_BYTES),
                owners: TtlMap::new(ttl, MAX_BYTES),
                lists: TtlMap::new(ttl, MAX_BYTES),
            }),
        }
    }

    /// Forgets what the hub announces, before anyone hears of what followed it.
    pub fn observe(&self, hub: &Hub) {
        let cache = self.clone();
        hub.observe(Arc::new(move |signal| match *signal {
            Signal::Task { user_id, task_id } => cache.forget(user_id, Some(task_id)),
            Signal::Resync => cache.clear(),
            _ => {}
        }));
    }

    /// The generation to pass to a `put_*` after reading the database.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    fn current(&self, generation: u64) -> bool {
        self.inner.enabled && self.generation() == generation
    }

    /// `GET /tasks/{id}`'s answer, if cached.
    pub fn task(&self, id: Uuid) -> Option<CachedTask> {
        self.inner.tasks.get(&id)
    }

    /// Caches a task's answer, read under `generation`.
    pub fn put_task(&self, generation: u64, id: Uuid, task: CachedTask) {
        if self.current(generation) {
            let weight = task.body.len();
            self.inner.tasks.put(id, task, weight);
        }
    }

    /// The task's owner and a lower bound of its last seq, if cached.
    pub fn owned(&self, id: Uuid) -> Option<Owned> {
        self.inner.owners.get(&id)
    }

    /// Caches a task's owner and last seq, read under `generation`.
    pub fn put_owned(&self, generation: u64, id: Uuid, owned: Owned) {
        if self.current(generation) {
            self.inner.owners.put(id, owned, OWNER_WEIGHT);
        }
    }

    /// A list page, if cached.
    pub fn list(&self, key: &ListKey) -> Option<Bytes> {
        self.inner.lists.get(key)
    }

    /// Caches a list page, read under `generation`.
    pub fn put_list(&self, generation: u64, key: ListKey, body: Bytes) {
        if self.current(generation) {
            let weight = body.len() + key.1.len();
            self.inner.lists.put(key, body, weight);
        }
    }

    /// Forgets `user`'s list pages and the task `task` (every task of theirs when `None`).
    pub fn forget(&self, user: Uuid, task: Option<Uuid>) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.lists.retain(|(owner, _), _| *owner != user);
        match task {
            Some(id) => {
                self.inner.tasks.remove(&id);
                self.inner.owners.remove(&id);
            }
            None => {
                self.inner.tasks.retain(|_, t| t.owner != user);
                self.inner.owners.retain(|_, o| o.owner != user);
            }
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.tasks.clear();
        self.inner.owners.clear();
        self.inner.lists.clear();
    }
}

/// Middleware: once a request that may have changed tasks is handled (its authentication set
/// [`Wrote`]), its user's entries are forgotten before the response leaves, so the next read
/// of that client sees the change even before its notification arrives.
pub async fn forget_after_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    // A read (nearly every request) pays one extensions lookup and nothing more.
    let wrote = res.request().extensions().get::<Wrote>().copied();
    if let Some(Wrote(user)) = wrote {
        let state = res.request().app_data::<actix_web::web::Data<crate::state::AppState>>();
        if let Some(state) = state {
            state.tasks.forget(user, None);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(owner: Uuid) -> CachedTask {
        CachedTask { owner, body: Bytes::from_static(b"{}"), tag: EntityTag::new_weak("t".into()) }
    }

    #[test]
    fn a_read_that_raced_a_forget_is_not_stored() {
        let cache = TaskCache::new(Duration::from_secs(60));
        let (user, id) = (Uuid::new_v4(), Uuid::new_v4());
        let before = cache.generation();
        cache.forget(Uuid::new_v4(), Some(Uuid::new_v4()));
        cache.put_task(before, id, task(user));
        assert!(cache.task(id).is_none());
        cache.put_task(cache.generation(), id, task(user));
        assert!(cache.task(id).is_some());
    }

    #[test]
    fn forgetting_a_task_forgets_its_owners_lists_only() {
        let cache = TaskCache::new(Duration::from_secs(60));
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (a1, a2, b1) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let g = cache.generation();
        cache.put_task(g, a1, task(alice));
        cache.put_task(g, a2, task(alice));
        cache.put_task(g, b1, task(bob));
        cache.put_owned(g, a1, Owned { owner: alice, last_seq: 3 });
        cache.put_list(g, (alice, "20".into()), Bytes::from_static(b"[]"));
        cache.put_list(g, (bob, "20".into()), Bytes::from_static(b"[]"));

        cache.forget(alice, Some(a1));
        assert!(cache.task(a1).is_none() && cache.owned(a1).is_none());
        assert!(cache.task(a2).is_some(), "another task of the owner's stays");
        assert!(cache.list(&(alice, "20".into())).is_none(), "the owner's lists go");
        assert!(cache.list(&(bob, "20".into())).is_some(), "someone else's stay");

        cache.forget(alice, None);
        assert!(cache.task(a2).is_none(), "a write forgets all of its user's tasks");
        assert!(cache.task(b1).is_some());
        cache.clear();
        assert!(cache.task(b1).is_none() && cache.list(&(bob, "20".into())).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = TaskCache::new(Duration::ZERO);
        cache.put_task(cache.generation(), Uuid::nil(), task(Uuid::nil()));
        assert!(cache.task(Uuid::nil()).is_none());
    }
}
