//! Full event pages, kept encoded in memory. A page `after`/`limit` that is full can never
//! change (events are only appended, with consecutive seqs), so the last pages asked for are
//! served from here: reading a long log again costs the ownership check and a copy, not a read
//! of a thousand rows. Bounded by bytes, oldest first out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::web::Bytes;
use uuid::Uuid;

/// Task, `after`, `limit`.
type Key = (Uuid, i64, i64);

/// The cache of full pages.
pub struct ClosedPages {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pages: HashMap<Key, Bytes>,
    order: VecDeque<Key>,
    bytes: usize,
}

impl ClosedPages {
    /// A cache holding at most `max_bytes` of page bodies.
    pub fn new(max_bytes: usize) -> Self {
        Self { max_bytes, inner: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The body of the full page, if kept.
    pub fn get(&self, task_id: Uuid, after: i64, limit: i64) -> Option<Bytes> {
        self.lock().pages.get(&(task_id, after, limit)).cloned()
    }

    /// Keeps the body of a full page.
    pub fn put(&self, task_id: Uuid, after: i64, limit: i64, body: Bytes) {
        if body.len() > self.max_bytes / 4 {
            return;
        }
        let mut inner = self.lock();
        let key = (task_id, after, limit);
        inner.bytes += body.len();
        if let Some(old) = inner.pages.insert(key, body) {
            inner.bytes -= old.len();
        } else {
            inner.order.push_back(key);
        }
        while inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some(gone) = inner.pages.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_pages_go_first_when_full() {
        let pages = ClosedPages::new(400);
        let task = Uuid::new_v4();
        for after in 0..5 {
            pages.put(task, after, 10, Bytes::from(vec![b'x'; 100]));
        }
        assert!(pages.get(task, 0, 10).is_none());
        assert!(pages.get(task, 1, 10).is_some());
        assert!(pages.get(task, 4, 10).is_some());
        pages.put(task, 9, 10, Bytes::from(vec![b'x'; 101]));
        assert!(pages.get(task, 9, 10).is_none(), "larger than a quarter: not kept");
    }
}
