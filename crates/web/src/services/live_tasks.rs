//! The bookkeeping behind a live task list: the list as loaded once, kept current by the
//! caller's event stream (`/me/events/stream`) instead of by polling.
//!
//! Order of operations (see the endpoint's documentation): the stream is opened first and the
//! list read after, so nothing that happens after the read can be missed. Every change carries
//! the task's whole listed state (status, stage, title), so applying one late (after a list read
//! that already saw it) is harmless: the changes that follow it arrive too, in order.

use std::collections::HashMap;

use shared::tasks::Task;
use shared::user_events::{TaskChange, TaskChangeKind, UserEvent, UserEventBody};
use uuid::Uuid;

/// A list of the newest tasks, at most `limit`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveTasks {
    limit: usize,
    items: Option<Vec<Task>>,
    /// Changes received before the list was read, applied once it is.
    early: Vec<TaskChange>,
    /// New tasks being fetched, with the latest change heard of each meanwhile.
    fetching: HashMap<Uuid, Option<TaskChange>>,
    last_seq: Option<i64>,
    /// Tasks created or deleted since the stream opened, listed or not.
    comings_and_goings: u64,
}

impl LiveTasks {
    /// An empty list, not loaded yet, of at most `limit` tasks.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            items: None,
            early: Vec::new(),
            fetching: HashMap::new(),
            last_seq: None,
            comings_and_goings: 0,
        }
    }

    /// How many tasks were created or deleted since the stream opened, whether the list shows
    /// them or not: what per-repository task counts follow.
    pub fn comings_and_goings(&self) -> u64 {
        self.comings_and_goings
    }

    /// The tasks, once loaded.
    pub fn items(&self) -> Option<&[Task]> {
        self.items.as_deref()
    }

    /// The seq of the newest event applied: where a reopened stream resumes.
    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq
    }

    /// Takes the list as read. Returns the new tasks to fetch that changes received meanwhile
    /// named.
    pub fn load(&mut self, items: Vec<Task>) -> Vec<Uuid> {
        self.items = Some(items);
        std::mem::take(&mut self.early).iter().filter_map(|c| self.apply_change(c)).collect()
    }

    /// Applies one event of the stream; returns a task to fetch when it names a new one.
    pub fn apply(&mut self, event: &UserEvent) -> Option<Uuid> {
        if self.last_seq.is_some_and(|last| event.seq <= last) {
            return None;
        }
        self.last_seq = Some(event.seq);
        let UserEventBody::Task(change) = &event.body;
        if matches!(change.change, TaskChangeKind::Created | TaskChangeKind::Deleted) {
            self.comings_and_goings += 1;
        }
        if self.items.is_none() {
            self.early.push(change.clone());
            return None;
        }
        self.apply_change(change)
    }

    fn apply_change(&mut self, change: &TaskChange) -> Option<Uuid> {
        if let Some(pending) = self.fetching.get_mut(&change.task_id) {
            *pending = Some(change.clone());
            return None;
        }
        let items = self.items.as_mut()?;
        let found = items.iter_mut().position(|t| t.id == change.task_id);
        match (change.change, found) {
            (TaskChangeKind::Deleted, Some(i)) => {
                items.remove(i);
                None
            }
            (TaskChangeKind::Deleted, None) => None,
            (_, Some(i)) => {
                set(&mut items[i], change);
                None
            }
            // A task created now belongs at the top; an older one beyond the list stays out.
            (TaskChangeKind::Created, None) => {
                self.fetching.insert(change.task_id, None);
                Some(change.task_id)
            }
            (TaskChangeKind::Updated, None) => None,
        }
    }

    /// Adds a fetched new task, with the latest change heard of it while it was fetched.
    pub fn insert(&mut self, mut task: Task) {
        let latest = self.fetching.remove(&task.id).flatten();
        let Some(items) = self.items.as_mut() else { return };
        if let Some(change) = &latest {
            if change.change == TaskChangeKind::Deleted {
                return;
            }
            set(&mut task, change);
        }
        items.retain(|t| t.id != task.id);
        let at = items
            .iter()
            .position(|t| (t.created_at, t.id) < (task.created_at, task.id))
            .unwrap_or(items.len());
        items.insert(at, task);
        items.truncate(self.limit);
    }

    /// Forgets a new task that could not be fetched (deleted meanwhile, or an error).
    pub fn forget(&mut self, id: Uuid) {
        self.fetching.remove(&id);
    }
}

fn set(task: &mut Task, change: &TaskChange) {
    task.status = change.status;
    task.stage = change.stage;
    task.title.clone_from(&change.title);
}

#[cfg(test)]
mod tests {
    use shared::tasks::{TaskStage, TaskStatus};

    use super::*;

    fn task(n: u128, minute: u32) -> Task {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(n), "title": "", "prompt": "p", "repo_url": "r", "agent": "claude",
            "model": null, "agent_version": null, "status": "pending", "stage": "queued", "progress": 0,
            "base_branch": null, "branch_name": null, "error": null, "install_dependencies": false,
            "max_duration_minutes": 5, "keep_alive": false, "create_pr": false, "pr_url": null,
            "pr_number": null, "created_at": format!("2026-12-03T00:{minute:02}:00Z"),
            "updated_at": "2026-12-03T00:00:00Z", "started_at": null, "completed_at": null
        }))
        .unwrap()
    }

    fn event(seq: i64, n: u128, change: TaskChangeKind, status: TaskStatus) -> UserEvent {
        UserEvent {
            seq,
            at: chrono::Utc::now(),
            body: UserEventBody::Task(TaskChange {
                task_id: Uuid::from_u128(n),
                change,
                status,
                stage: TaskStage::Queued,
                title: format!("t{seq}"),
            }),
        }
    }

    fn ids(list: &LiveTasks) -> Vec<u128> {
        list.items().unwrap().iter().map(|t| t.id.as_u128()).collect()
    }

    #[test]
    fn changes_update_rows_in_place_and_deletions_drop_them() {
        let mut list = LiveTasks::new(10);
        assert!(list.load(vec![task(2, 2), task(1, 1)]).is_empty());
        assert_eq!(list.apply(&event(5, 1, TaskChangeKind::Updated, TaskStatus::Completed)), None);
        assert_eq!(list.items().unwrap()[1].status, TaskStatus::Completed);
        assert_eq!(list.items().unwrap()[1].title, "t5");
        // A replay after a reconnect changes nothing.
        assert_eq!(list.apply(&event(5, 1, TaskChangeKind::Deleted, TaskStatus::Completed)), None);
        assert_eq!(ids(&list), vec![2, 1]);
        list.apply(&event(6, 2, TaskChangeKind::Deleted, TaskStatus::Completed));
        assert_eq!(ids(&list), vec![1]);
        // Changes to tasks beyond the list are not the list's business.
        assert_eq!(list.apply(&event(7, 9, TaskChangeKind::Updated, TaskStatus::Error)), None);
        assert_eq!(ids(&list), vec![1]);
        assert_eq!(list.last_seq(), Some(7));
    }

    #[test]
    fn a_new_task_is_fetched_once_and_placed_by_age_with_what_happened_meanwhile() {
        let mut list = LiveTasks::new(2);
        list.load(vec![task(2, 2), task(1, 1)]);
        assert_eq!(
            list.apply(&event(1, 3, TaskChangeKind::Created, TaskStatus::Pending)),
            Some(Uuid::from_u128(3))
        );
        list.apply(&event(2, 3, TaskChangeKind::Updated, TaskStatus::Processing));
        list.insert(task(3, 3));
        assert_eq!(ids(&list), vec![3, 2], "newest first, cut to the limit");
        assert_eq!(list.items().unwrap()[0].status, TaskStatus::Processing);
    }

    #[test]
    fn changes_before_the_list_is_read_are_applied_after() {
        let mut list = LiveTasks::new(5);
        list.apply(&event(1, 1, TaskChangeKind::Updated, TaskStatus::Stopped));
        list.apply(&event(2, 4, TaskChangeKind::Created, TaskStatus::Pending));
        assert!(list.items().is_none());
        assert_eq!(list.load(vec![task(1, 1)]), vec![Uuid::from_u128(4)]);
        assert_eq!(list.items().unwrap()[0].status, TaskStatus::Stopped);
    }
}
