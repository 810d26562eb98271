//! The caller's own event stream (`GET /api/v1/me/events/stream`): one append-only log per user,
//! `seq` strictly increasing per user, so a client resumes with `Last-Event-ID` exactly as on a
//! task's stream. Today it carries the changes to the user's tasks that a task list shows.
//!
//! On the wire an event is `{"seq", "at", "kind", "payload"}`, the same shape as a task event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tasks::{TaskStage, TaskStatus};

/// One event of the caller's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserEvent {
    /// Position in the user's log, starting at 1, consecutive, never reused.
    pub seq: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub body: UserEventBody,
}

/// The kinds of user event and their payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum UserEventBody {
    /// One of the user's tasks was created, changed status, stage or title, or was deleted.
    Task(TaskChange),
}

/// What happened to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskChangeKind {
    /// It was created (a task, a retry, a compare-mode sibling, a task from an issue).
    Created,
    /// Its status, stage or title changed.
    Updated,
    /// It was deleted: lists drop it.
    Deleted,
}

/// A task as a list shows it, right after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskChange {
    /// The task.
    pub task_id: Uuid,
    /// What happened to it.
    pub change: TaskChangeKind,
    /// Its status afterwards.
    pub status: TaskStatus,
    /// Its stage afterwards.
    pub stage: TaskStage,
    /// Its title afterwards (empty until one is generated or derived).
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_seq_at_kind_and_payload() {
        let json = r#"{"seq":3,"at":"2026-12-03T00:00:00Z","kind":"task","payload":{"task_id":"6f1c1f8e-4a0b-4c8e-9d1a-2b3c4d5e6f70","change":"updated","status":"processing","stage":"cloning","title":"Greet"}}"#;
        let event: UserEvent = serde_json::from_str(json).unwrap();
        assert_eq!(event.seq, 3);
        let UserEventBody::Task(change) = &event.body;
        assert_eq!(change.change, TaskChangeKind::Updated);
        assert_eq!(change.stage, TaskStage::Cloning);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }
}
