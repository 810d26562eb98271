//! A small in-process map whose entries live for a fixed time and whose total weight is
//! bounded: the storage behind the auth cache and the task read cache.
//!
//! Memory stays bounded whatever clients present: when an entry would take the map over its
//! weight, the expired entries go first, and everything if that is not enough (a cache refills;
//! an eviction order is not worth its bookkeeping here).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

struct Entry<V> {
    value: V,
    weight: usize,
    at: Instant,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    weight: usize,
}

/// Entries that expire `ttl` after they were put, at most `max_weight` in all.
pub struct TtlMap<K, V> {
    ttl: Duration,
    max_weight: usize,
    inner: Mutex<Inner<K, V>>,
}

impl<K: Hash + Eq, V: Clone> TtlMap<K, V> {
    /// An empty map.
    pub fn new(ttl: Duration, max_weight: usize) -> Self {
        Self { ttl, max_weight, inner: Mutex::new(Inner { entries: HashMap::new(), weight: 0 }) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value under `key`, unless it expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let inner = self.lock();
        inner.entries.get(key).filter(|e| e.at.elapsed() < self.ttl).map(|e| e.value.clone())
    }

    /// Stores `value` under `key`, counting `weight` against the bound.
    pub fn put(&self, key: K, value: V, weight: usize) {
        if weight > self.max_weight {
            return;
        }
        let mut inner = self.lock();
        if inner.weight + weight > self.max_weight {
            let ttl = self.ttl;
            inner.entries.retain(|_, e| e.at.elapsed() < ttl);
            inner.weight = inner.entries.values().map(|e| e.weight).sum();
            if inner.weight + weight > self.max_weight {
                inner.entries.clear();
                inner.weight = 0;
            }
        }
        inner.weight += weight;
        if let Some(old) = inner.entries.insert(key, Entry { value, weight, at: Instant::now() }) {
            inner.weight -= old.weight;
        }
    }

    /// Changes the value under `key` in place, if there is one (its age is kept).
    pub fn update<Q>(&self, key: &Q, change: impl FnOnce(&mut V))
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(e) = self.lock().entries.get_mut(key) {
            change(&mut e.value);
        }
    }

    /// Forgets the entry under `key`.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(key) {
            inner.weight -= old.weight;
        }
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut inner = self.lock();
        inner.entries.retain(|k, e| keep(k, &e.value));
        inner.weight = inner.entries.values().map(|e| e.weight).sum();
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.weight = 0;
    }

    /// How many entries are held, expired ones included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let map = TtlMap::new(Duration::from_millis(20), 10);
        map.put(1, "a", 1);
        assert_eq!(map.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(map.get(&1), None);
    }

    #[test]
    fn the_weight_stays_bounded() {
        let map = TtlMap::new(Duration::from_secs(60), 10);
        for i in 0..100 {
            map.put(i, i, 3);
            assert!(map.len() <= 3, "{} entries of weight 3 under a bound of 10", map.len());
        }
        assert_eq!(map.get(&99), Some(99), "the newest entry is kept");
        map.put(1000, 0, 11);
        assert_eq!(map.get(&1000), None, "an entry heavier than the bound is not stored");
    }

    #[test]
    fn replacing_and_removing_release_their_weight() {
        let map = TtlMap::new(Duration::from_secs(60), 4);
        map.put("a", 1, 2);
        map.put("a", 2, 2);
        map.put("b", 3, 2);
        assert_eq!((map.get("a"), map.get("b")), (Some(2), Some(3)), "both fit in 4");
        map.remove("a");
        map.put("c", 4, 2);
        assert_eq!((map.get("b"), map.get("c")), (Some(3), Some(4)));
        map.retain(|k, _| *k != "b");
        map.put("d", 5, 2);
        assert_eq!((map.get("c"), map.get("d")), (Some(4), Some(5)));
    }
}
